//! The executor: registry, enqueue, and the background loops (claimer,
//! result writer, closer, canceller, lease expirer, event dispatcher).

use super::backoff::{ErrorBackoff, jittered};
use super::error::ExecutorError;
use super::events::{EventCallback, EventHub, ExecutionEvent, ExecutionEventKind};
use super::handle::{ExecutionHandle, TaskHandle, Watcher};
use super::ids::{generate_execution_id, generate_executor_id};
use super::options::{EnqueueOptions, ExecutorOptions, effective_options};
use super::state::StateMap;
use super::task::{Definition, TaskSpec};
use crate::model::{
    ExecutionError, ExecutionStatus, Millis, NewExecution, TaskExecution, now_millis,
};
use crate::storage::{
    CancelItem, FinishItem, RetryItem, RunRef, Storage, StorageError, StorageResult, WaitItem,
};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod closer;
mod enqueue;
mod heartbeat;
mod maintenance;
mod runner;
mod sleeping;
mod transaction;
mod writer;

use closer::closer_loop;
use heartbeat::heartbeat_loop;
use maintenance::{canceller_loop, dispatcher_loop, expirer_loop};
use runner::claimer_loop;
use transaction::CommitWatch;
use writer::writer_loop;

/// Spread of the idle sleeps of the background loops.
const IDLE_JITTER: f64 = 0.25;
/// Attempts of one storage write before the writer gives up on it (the
/// lease then recovers the execution).
const WRITE_ATTEMPTS: u32 = 6;
/// Tries of one enqueue's insert when the storage fails transiently.
const ENQUEUE_ATTEMPTS: u32 = 4;
/// Executions handled per cancellation or lease-expiry call.
const MAINTENANCE_BATCH: u32 = 256;
/// Parents whose children are read concurrently when advancing them.
const PARENT_CONCURRENCY: usize = 16;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected maps stay consistent even if a holder panicked: every
    // critical section is a single insert/remove.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What [`Executor::builder`] accepts as its storage: any [`Storage`] by
/// value (`SqliteStorage`, `PostgresStorage`, `MemoryStorage`, your own),
/// an `Arc` of one, or an `Arc<dyn Storage>` shared with other executors.
pub trait IntoStorage {
    /// The storage as the executor holds it.
    fn into_storage(self) -> Arc<dyn Storage>;
}

impl<S: Storage> IntoStorage for S {
    fn into_storage(self) -> Arc<dyn Storage> {
        Arc::new(self)
    }
}

impl<S: Storage> IntoStorage for Arc<S> {
    fn into_storage(self) -> Arc<dyn Storage> {
        self
    }
}

impl IntoStorage for Arc<dyn Storage> {
    fn into_storage(self) -> Arc<dyn Storage> {
        self
    }
}

/// Builder of an [`Executor`]: storage, options, the registered tasks, the
/// shared application state and the event callbacks.
#[must_use = "an ExecutorBuilder does nothing until `build` is called"]
pub struct ExecutorBuilder {
    storage: Arc<dyn Storage>,
    options: ExecutorOptions,
    specs: Vec<Arc<TaskSpec>>,
    state: StateMap,
    callbacks: Vec<EventCallback>,
}

impl std::fmt::Debug for ExecutorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutorBuilder")
            .field("storage", &self.storage)
            .field("options", &self.options)
            .field("specs", &self.specs)
            .field("state", &self.state)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl ExecutorBuilder {
    /// Registers a shared application state value (an HTTP client, a
    /// database pool, a configuration) that every run reads by type with
    /// [`TaskContext::state`](super::TaskContext::state). One value per
    /// type: a second value of the same type replaces the first. Wrap
    /// values in a newtype to register two of one type.
    ///
    /// ```
    /// use durable_execution::storage::MemoryStorage;
    /// use durable_execution::{Executor, Task, TaskContext, TaskError};
    ///
    /// struct Greeting(String);
    ///
    /// let greet = Task::new("greet", |ctx: TaskContext, name: String| async move {
    ///     let greeting = ctx.state::<Greeting>()?;
    ///     Ok::<_, TaskError>(format!("{}, {name}", greeting.0))
    /// });
    /// let executor = Executor::builder(MemoryStorage::new())
    ///     .state(Greeting("Hello".to_owned()))
    ///     .register(&greet)
    ///     .build()?;
    /// # Ok::<(), durable_execution::ExecutorError>(())
    /// ```
    pub fn state<T: Send + Sync + 'static>(self, value: T) -> Self {
        self.state_arc(Arc::new(value))
    }

    /// [`ExecutorBuilder::state`] for a value the application already holds
    /// in an `Arc` (shared with the rest of the program).
    pub fn state_arc<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.state.insert(value);
        self
    }

    /// Calls `callback` for every [`ExecutionEvent`] of this executor (runs
    /// started, retried, completed, failed, cancelled, timed out), right
    /// after the storage accepted the change. It runs inside the executor's
    /// loops: keep it quick (log, count, send to a channel); a panic in it
    /// is logged and ignored. [`Executor::events`] is the asynchronous
    /// alternative.
    pub fn on_event<F>(mut self, callback: F) -> Self
    where
        F: Fn(&ExecutionEvent) + Send + Sync + 'static,
    {
        self.callbacks.push(Arc::new(callback));
        self
    }

    /// Sets the options (see [`ExecutorOptions::builder`]).
    pub fn options(mut self, options: ExecutorOptions) -> Self {
        self.options = options;
        self
    }

    /// Registers a task, parent task or sequence, with its finalize task
    /// and steps. Executors sharing a storage should all register every
    /// task: an executor that claims an execution of a task it does not
    /// know fails that execution (`Task <id> not found`). Registering the same definition twice is harmless; two
    /// different definitions with one id fail [`ExecutorBuilder::build`].
    pub fn register<D: Definition + ?Sized>(mut self, task: &D) -> Self {
        self.specs.push(task.spec().clone());
        self
    }

    /// Validates the options and every definition and builds the executor.
    /// The executor does nothing until [`Executor::start`] is called, but it
    /// can enqueue and read executions right away.
    pub fn build(self) -> Result<Executor, ExecutorError> {
        self.options.validate()?;
        let mut registry: HashMap<String, Arc<TaskSpec>> = HashMap::new();
        let mut pending = self.specs;
        while let Some(spec) = pending.pop() {
            spec.validate()?;
            if let Some(existing) = registry.get(&spec.id) {
                if Arc::ptr_eq(existing, &spec) {
                    continue;
                }
                return Err(ExecutorError::DuplicateTask {
                    task_id: spec.id.clone(),
                });
            }
            pending.extend(spec.dependencies());
            registry.insert(spec.id.clone(), spec);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let executor_id = generate_executor_id();
        let shutdown = CancellationToken::new();
        let inner = Arc::new(Inner {
            storage: crate::metrics::wrap_storage(self.storage),
            executor_id,
            registry,
            lifecycle: Lifecycle {
                run_shutdown: shutdown.child_token(),
                shutdown,
                hard_stop: CancellationToken::new(),
                stop_loops: CancellationToken::new(),
                started: AtomicBool::new(false),
                shut_down: AtomicBool::new(false),
                loops: Mutex::new(Vec::new()),
                claimer: Mutex::new(None),
            },
            wake: WakeUps {
                claimer: Notify::new(),
                claimer_waits_for_slots: AtomicBool::new(false),
                closer: Notify::new(),
                canceller: Notify::new(),
                run_finished: Notify::new(),
            },
            tracking: Tracking {
                running: Mutex::new(HashMap::new()),
                semaphore: Arc::new(Semaphore::new(self.options.max_concurrent_executions)),
                writes: tx,
                writes_rx: Mutex::new(Some(rx)),
                watcher: Watcher::default(),
                commits: CommitWatch::default(),
            },
            options: self.options,
            state: Arc::new(self.state),
            events: EventHub::new(self.callbacks),
            enqueues: enqueue::EnqueueBatcher::default(),
        });
        tracing::info!(executor_id = %inner.executor_id, tasks = inner.registry.len(), backend = inner.storage.backend_name(), "executor built");
        Ok(Executor {
            guard: Arc::new(DropGuard {
                inner: inner.clone(),
            }),
            inner,
        })
    }
}

/// Executes registered tasks from a [`Storage`], with any number of other
/// executors (threads or processes) sharing that storage.
///
/// Cheap to clone. Dropping the last clone without [`Executor::shutdown`]
/// stops the background loops abruptly: running executions are abandoned
/// and recovered by lease expiry.
#[derive(Debug, Clone)]
pub struct Executor {
    inner: Arc<Inner>,
    guard: Arc<DropGuard>,
}

#[derive(Debug)]
struct DropGuard {
    inner: Arc<Inner>,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.inner.lifecycle.shutdown.cancel();
        self.inner.lifecycle.hard_stop.cancel();
        self.inner.lifecycle.stop_loops.cancel();
    }
}

/// Counters of one executor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecutorStats {
    /// The executor's id (`de_…`), the owner stored on claimed executions.
    pub executor_id: String,
    /// Executions currently running in this executor.
    pub running: usize,
    /// [`ExecutorOptions::max_concurrent_executions`].
    pub max_concurrent_executions: usize,
    /// [`ExecutorOptions::max_batch`].
    pub max_batch: u32,
    /// Registered definitions, including finalize tasks and sequence steps.
    pub registered_tasks: usize,
    /// Whether [`Executor::start`] was called.
    pub is_started: bool,
    /// Whether a shutdown started.
    pub is_shutdown: bool,
}

pub(crate) struct Inner {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) executor_id: String,
    pub(crate) options: ExecutorOptions,
    registry: HashMap<String, Arc<TaskSpec>>,
    /// Start, shutdown and the background loops.
    pub(crate) lifecycle: Lifecycle,
    /// Wake-ups of the background loops and of shutdown.
    wake: WakeUps,
    /// Runs in progress, their results on the way to the writer, and the
    /// handles waiting for executions to finish.
    pub(crate) tracking: Tracking,
    /// The application state given to every run.
    pub(crate) state: Arc<StateMap>,
    /// Lifecycle events of executions.
    pub(crate) events: EventHub,
    /// Group commit of single enqueues.
    enqueues: enqueue::EnqueueBatcher,
}

/// Start, shutdown and the background loops of an executor.
pub(crate) struct Lifecycle {
    /// Fires when a shutdown starts: stop claiming, tell runs.
    shutdown: CancellationToken,
    /// Given to runs as their shutdown token: a child of `shutdown`, so that
    /// task code cannot stop the executor by cancelling it.
    run_shutdown: CancellationToken,
    /// Fires at the end of the shutdown grace period: cancel every run.
    hard_stop: CancellationToken,
    /// Stops the background loops.
    pub(crate) stop_loops: CancellationToken,
    started: AtomicBool,
    shut_down: AtomicBool,
    loops: Mutex<Vec<JoinHandle<()>>>,
    claimer: Mutex<Option<JoinHandle<()>>>,
}

/// Wake-ups of the background loops, and of a shutdown waiting for runs.
struct WakeUps {
    claimer: Notify,
    /// The claimer went idle for want of a free slot: the writer wakes it
    /// when it frees slots (and only then: a finish does not make work
    /// ready, and an idle claimer with free slots found none).
    claimer_waits_for_slots: AtomicBool,
    closer: Notify,
    canceller: Notify,
    run_finished: Notify,
}

/// What an executor tracks of its runs and waiters.
pub(crate) struct Tracking {
    /// Runs in this executor whose result is not written yet.
    // The value is the run's own entry (shared, so that an entry is only
    // removed by the completion of the run that inserted it: an execution
    // can be claimed again while its previous run's result is still being
    // written, see `runner::start_run`).
    running: Mutex<HashMap<String, Arc<RunEntry>>>,
    /// One permit per run (`max_concurrent_executions`).
    semaphore: Arc<Semaphore>,
    /// Finished runs, to the result writer.
    writes: mpsc::UnboundedSender<WriterMessage>,
    writes_rx: Mutex<Option<mpsc::UnboundedReceiver<WriterMessage>>>,
    /// Handles waiting for executions to finish.
    pub(crate) watcher: Watcher,
    /// Executions inserted in callers' SQLite transactions, until their
    /// commit is seen.
    commits: CommitWatch,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("executor_id", &self.executor_id)
            .field("backend", &self.storage.backend_name())
            .field("tasks", &self.registry.len())
            .finish_non_exhaustive()
    }
}

/// One run in [`Tracking::running`], from its claim until its result is
/// written or dropped: what the heartbeat extends and the writer checks.
pub(crate) struct RunEntry {
    /// The run's cancellation token: fired when the run ends, is cancelled,
    /// or is lost.
    token: CancellationToken,
    /// The task (for the events and metrics of a lost run).
    task_id: String,
    /// The attempt of the claim (`None`: a row that could not be read).
    attempt: Option<u32>,
    /// The heartbeat deadline as last written (epoch ms): the claim's, then
    /// each successful heartbeat's `now + lease`. Past it, the execution
    /// may be recovered by any executor.
    deadline: AtomicI64,
    /// Set once the run is lost: its result is never written.
    lost: AtomicBool,
}

impl RunEntry {
    fn new(
        token: CancellationToken,
        task_id: String,
        attempt: Option<u32>,
        deadline: Millis,
    ) -> Arc<Self> {
        Arc::new(Self {
            token,
            task_id,
            attempt,
            deadline: AtomicI64::new(deadline),
            lost: AtomicBool::new(false),
        })
    }

    /// The run as the storage's owner writes know it.
    fn run_ref(&self, execution_id: &str) -> RunRef {
        RunRef {
            execution_id: execution_id.to_owned(),
            attempt: self.attempt,
        }
    }

    /// Marks the run lost and fires its token; `true` the first time.
    fn lose(&self) -> bool {
        let first = !self.lost.swap(true, Ordering::SeqCst);
        self.token.cancel();
        first
    }

    fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Whether this executor may still write the run's result at `now`: not
    /// lost, and its heartbeat deadline not passed (after it another
    /// executor may have recovered the execution; the storage's attempt
    /// guard would refuse a write then, and the result is dropped here
    /// before it is even tried).
    fn holds(&self, now: Millis) -> bool {
        !self.is_lost() && now < self.deadline.load(Ordering::SeqCst)
    }

    fn extend(&self, deadline: Millis) {
        self.deadline.fetch_max(deadline, Ordering::SeqCst);
    }
}

/// The storage write a finished run needs.
// Completions are moved once through a channel; boxing the large variant
// would cost an allocation per execution for no benefit.
#[allow(clippy::large_enum_variant)]
enum Write {
    Finish(FinishItem),
    Retry(RetryItem),
    Wait(WaitItem),
    /// Nothing to write (cancelled, or released at shutdown).
    Nothing,
}

/// What the events of a run need to know about it.
struct RunMeta {
    task_id: String,
    attempt: u32,
    /// When the run started in this executor.
    started: std::time::Instant,
    /// Whether the storage closes the row in the statement that finishes
    /// it (a top-level execution without children or finalize; see
    /// docs/design.md, "Closing"): then its finish leaves the closer
    /// nothing to do, and the writer does not wake it.
    closes_at_finish: bool,
}

impl RunMeta {
    fn event(&self, execution_id: &str, kind: ExecutionEventKind) -> ExecutionEvent {
        ExecutionEvent {
            kind,
            execution_id: execution_id.to_owned(),
            task_id: self.task_id.clone(),
            attempt: self.attempt,
            duration: None,
            error: None,
        }
    }
}

/// The event reporting that an execution finished with `status`, if any.
fn finished_event_kind(status: ExecutionStatus) -> Option<ExecutionEventKind> {
    match status {
        ExecutionStatus::Completed => Some(ExecutionEventKind::Completed),
        ExecutionStatus::Failed
        | ExecutionStatus::ChildrenTasksFailed
        | ExecutionStatus::FinalizeTaskFailed => Some(ExecutionEventKind::Failed),
        ExecutionStatus::Cancelled => Some(ExecutionEventKind::Cancelled),
        ExecutionStatus::TimedOut => Some(ExecutionEventKind::TimedOut),
        _ => None,
    }
}

struct Completion {
    execution_id: String,
    /// `None` for a corrupt row that never ran.
    meta: Option<RunMeta>,
    write: Write,
    /// The lease deadline of the run's claim: the writer retries transient
    /// storage errors at most until then (after it, the execution belongs
    /// to lease recovery).
    lease_expires_at: Option<Millis>,
    /// The run's entry in `Inner::running`.
    run: Arc<RunEntry>,
    _permit: OwnedSemaphorePermit,
}

impl Inner {
    /// Removes `execution_id` from the running map if its entry is still
    /// `run`'s (a newer run of the same execution may have replaced it).
    fn forget_run(
        running: &mut HashMap<String, Arc<RunEntry>>,
        execution_id: &str,
        run: &Arc<RunEntry>,
    ) {
        if running
            .get(execution_id)
            .is_some_and(|current| Arc::ptr_eq(current, run))
        {
            running.remove(execution_id);
        }
    }
}

#[allow(clippy::large_enum_variant)]
enum WriterMessage {
    Done(Completion),
    Barrier(oneshot::Sender<()>),
}

impl Executor {
    /// Starts building an executor on `storage`: a storage by value
    /// (`Executor::builder(SqliteStorage::open(..).await?)`), an `Arc` of
    /// one, or an `Arc<dyn Storage>` shared by several executors (see
    /// [`IntoStorage`]).
    pub fn builder(storage: impl IntoStorage) -> ExecutorBuilder {
        ExecutorBuilder {
            storage: storage.into_storage(),
            options: ExecutorOptions::default(),
            specs: Vec::new(),
            state: StateMap::default(),
            callbacks: Vec::new(),
        }
    }

    /// A receiver of this executor's [`ExecutionEvent`]s from now on (see
    /// [`ExecutorBuilder::on_event`] for what is emitted and when). Each
    /// receiver buffers up to 4,096 events; one that falls further behind
    /// loses the oldest and its next `recv` returns
    /// [`RecvError::Lagged`](tokio::sync::broadcast::error::RecvError::Lagged)
    /// with the number lost, then continues with the oldest kept event. The
    /// executor never waits for a receiver.
    pub fn events(&self) -> broadcast::Receiver<ExecutionEvent> {
        self.inner.events.subscribe()
    }

    /// The executor id (`de_…`).
    pub fn executor_id(&self) -> &str {
        &self.inner.executor_id
    }

    /// The storage (with the `metrics` feature, the given storage inside a
    /// wrapper that times every call, see [`crate::metrics`]).
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.inner.storage
    }

    /// The options.
    pub fn options(&self) -> &ExecutorOptions {
        &self.inner.options
    }

    /// Spawns the background loops on the current Tokio runtime. Calling it
    /// twice is a no-op; after a shutdown it fails with
    /// [`ExecutorError::Shutdown`].
    pub fn start(&self) -> Result<(), ExecutorError> {
        let inner = &self.inner;
        if inner.lifecycle.shutdown.is_cancelled() {
            return Err(ExecutorError::Shutdown);
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| ExecutorError::NoRuntime(e.to_string()))?;
        if inner.lifecycle.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let Some(rx) = lock(&inner.tracking.writes_rx).take() else {
            return Ok(());
        };
        let mut loops = lock(&inner.lifecycle.loops);
        loops.push(runtime.spawn(writer_loop(inner.clone(), rx)));
        loops.push(runtime.spawn(closer_loop(inner.clone())));
        loops.push(runtime.spawn(canceller_loop(inner.clone())));
        loops.push(runtime.spawn(expirer_loop(inner.clone())));
        loops.push(runtime.spawn(heartbeat_loop(inner.clone())));
        loops.push(runtime.spawn(dispatcher_loop(inner.clone())));
        if let Some(policy) = inner.options.retention.clone() {
            loops.push(runtime.spawn(maintenance::retention_loop(inner.clone(), policy)));
        }
        #[cfg(feature = "metrics")]
        if let Some(interval) = inner.options.metrics_interval {
            loops.push(runtime.spawn(maintenance::metrics_loop(inner.clone(), interval)));
        }
        *lock(&inner.lifecycle.claimer) = Some(runtime.spawn(claimer_loop(inner.clone())));
        tracing::info!(executor_id = %inner.executor_id, "executor started");
        Ok(())
    }

    /// Enqueues one execution of `task` with its default options.
    ///
    /// Returns once the execution is committed. Concurrent calls share
    /// inserts (group commit): a call that finds no insert of this executor
    /// in flight inserts at once; calls arriving while one is in flight are
    /// inserted together by the next one (at most 512 per insert), and each
    /// still gets its own result (a refused execution fails its own call
    /// only). See docs/benchmarks.md, "Group commit of single enqueues".
    ///
    /// Transient storage errors (a lost connection, a busy database) are
    /// retried a few times with the executor's error backoff; a retry never
    /// stores a second execution (an attempt that had in fact committed is
    /// recognised by its execution id).
    ///
    /// The handle knows the task's output type:
    /// [`TaskHandle::wait_output`] returns a `D::Output`.
    pub async fn enqueue<D: Definition + ?Sized>(
        &self,
        task: &D,
        input: D::Input,
    ) -> Result<TaskHandle<D::Output>, ExecutorError> {
        self.enqueue_with(task, input, EnqueueOptions::default())
            .await
    }

    /// Enqueues one execution of `task` with overridden options.
    pub async fn enqueue_with<D: Definition + ?Sized>(
        &self,
        task: &D,
        input: D::Input,
        options: EnqueueOptions,
    ) -> Result<TaskHandle<D::Output>, ExecutorError> {
        let execution = self.prepare_enqueue(task, input, options)?;
        enqueue::enqueue_one(&self.inner, &execution).await?;
        tracing::debug!(task_id = %execution.task_id, execution_id = %execution.execution_id, "enqueued");
        Ok(TaskHandle::new(self.handle_for(&execution)))
    }

    /// Enqueues many executions of `task` with one storage insert
    /// (all or none), retrying transient errors like [`Executor::enqueue`].
    pub async fn enqueue_many<D, It>(
        &self,
        task: &D,
        inputs: It,
    ) -> Result<Vec<TaskHandle<D::Output>>, ExecutorError>
    where
        D: Definition + ?Sized,
        It: IntoIterator<Item = D::Input>,
    {
        if self.inner.lifecycle.shutdown.is_cancelled() {
            return Err(ExecutorError::Shutdown);
        }
        let executions = inputs
            .into_iter()
            .map(|input| self.prepare(task, input, EnqueueOptions::default()))
            .collect::<Result<Vec<_>, _>>()?;
        enqueue::insert_claiming(&self.inner, &executions).await?;
        Ok(executions
            .iter()
            .map(|e| TaskHandle::new(self.handle_for(e)))
            .collect())
    }

    /// [`Executor::prepare`] for an enqueue of this executor, which a
    /// shutdown refuses.
    fn prepare_enqueue<D: Definition + ?Sized>(
        &self,
        task: &D,
        input: D::Input,
        options: EnqueueOptions,
    ) -> Result<NewExecution, ExecutorError> {
        if self.inner.lifecycle.shutdown.is_cancelled() {
            return Err(ExecutorError::Shutdown);
        }
        self.prepare(task, input, options)
    }

    /// Builds (and validates) a new execution without inserting it, for a
    /// storage of your own; then use [`Executor::handle_for`]. To enqueue
    /// inside your own SQLite or PostgreSQL transaction,
    /// `Executor::enqueue_in_sqlite` and `Executor::enqueue_in_postgres` do
    /// it in one call.
    pub fn prepare<D: Definition + ?Sized>(
        &self,
        task: &D,
        input: D::Input,
        options: EnqueueOptions,
    ) -> Result<NewExecution, ExecutorError> {
        let spec = self.inner.registered(task.id())?;
        let input = serde_json::to_string(&input).map_err(|e| ExecutorError::InvalidInput {
            task_id: spec.id.clone(),
            message: e.to_string(),
        })?;
        self.inner.check_size(&spec.id, "Input", &input)?;
        spec.check_input(&input)?;
        let effective = effective_options(
            &spec.id,
            spec.timeout,
            &spec.retry,
            spec.sleep_before_run,
            &options,
        )?;
        Ok(NewExecution {
            execution_id: generate_execution_id(),
            task_id: spec.id.clone(),
            root: None,
            parent: None,
            retry_options: effective.retry,
            sleep_ms_before_run: effective.sleep_ms,
            timeout_ms: effective.timeout_ms,
            input,
            created_at: now_millis(),
            sleeping_key: super::sleeping::sleeping_key_for(spec, &options)?,
        })
    }

    /// An untyped handle on an execution this process inserted itself (see
    /// [`Executor::prepare`]).
    #[must_use]
    pub fn handle_for(&self, execution: &NewExecution) -> ExecutionHandle {
        ExecutionHandle::new(
            self.inner.clone(),
            execution.task_id.clone(),
            execution.execution_id.clone(),
        )
    }

    /// Re-creates the typed handle of an existing execution of `task` (for
    /// example in another process, from a stored
    /// [`TaskHandle::execution_id`]). Fails if the task is not registered,
    /// the execution does not exist, or it belongs to another task.
    pub async fn handle<D: Definition + ?Sized>(
        &self,
        task: &D,
        execution_id: &str,
    ) -> Result<TaskHandle<D::Output>, ExecutorError> {
        let spec = self.inner.registered(task.id())?;
        let handle =
            ExecutionHandle::new(self.inner.clone(), spec.id.clone(), execution_id.to_owned());
        let execution = handle.get().await?;
        if execution.task_id != spec.id {
            return Err(ExecutorError::TaskMismatch {
                execution_id: execution_id.to_owned(),
                expected: spec.id.clone(),
                actual: execution.task_id,
            });
        }
        Ok(TaskHandle::new(handle))
    }

    /// An untyped handle on an existing execution of any task, for tools
    /// that only have its id. Fails if the execution does not exist.
    pub async fn execution_handle(
        &self,
        execution_id: &str,
    ) -> Result<ExecutionHandle, ExecutorError> {
        let handle =
            ExecutionHandle::new(self.inner.clone(), String::new(), execution_id.to_owned());
        let execution = handle.get().await?;
        Ok(ExecutionHandle::new(
            self.inner.clone(),
            execution.task_id,
            execution_id.to_owned(),
        ))
    }

    /// Runs the executor as a service: starts it, waits until `signal`
    /// resolves, then shuts down gracefully with `grace` (see
    /// [`Executor::shutdown`]) and returns what `signal` gave.
    ///
    /// ```no_run
    /// # async fn demo(executor: durable_execution::Executor) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// // Needs tokio's `signal` feature in your own Cargo.toml.
    /// executor
    ///     .run_until(tokio::signal::ctrl_c(), Duration::from_secs(30))
    ///     .await??;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_until<F: Future>(
        &self,
        signal: F,
        grace: Duration,
    ) -> Result<F::Output, ExecutorError> {
        self.start()?;
        let output = signal.await;
        self.shutdown(grace).await?;
        Ok(output)
    }

    /// Ids of the executions running in this executor right now.
    pub fn running_execution_ids(&self) -> Vec<String> {
        lock(&self.inner.tracking.running).keys().cloned().collect()
    }

    /// Counters.
    pub fn stats(&self) -> ExecutorStats {
        ExecutorStats {
            executor_id: self.inner.executor_id.clone(),
            running: lock(&self.inner.tracking.running).len(),
            max_concurrent_executions: self.inner.options.max_concurrent_executions,
            max_batch: self.inner.options.max_batch,
            registered_tasks: self.inner.registry.len(),
            is_started: self.inner.lifecycle.started.load(Ordering::SeqCst),
            is_shutdown: self.inner.lifecycle.shutdown.is_cancelled(),
        }
    }

    /// Whether a shutdown started.
    pub fn is_shutdown(&self) -> bool {
        self.inner.lifecycle.shutdown.is_cancelled()
    }

    /// Shuts down gracefully: stops claiming, fires every run's
    /// [`TaskContext::shutdown`](crate::TaskContext::shutdown) token, lets running executions finish for
    /// up to `grace`, writes their results, then gives the executions that
    /// are still running back to the storage (`ready`, same attempt) and
    /// cancels their runs. Idempotent; later enqueues fail with
    /// [`ExecutorError::Shutdown`], handles keep working.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), ExecutorError> {
        let inner = &self.inner;
        inner.lifecycle.shutdown.cancel();
        if inner.lifecycle.shut_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        tracing::info!(executor_id = %inner.executor_id, "executor shutting down");
        let claimer = lock(&inner.lifecycle.claimer).take();
        if let Some(Err(e)) = match claimer {
            Some(claimer) => Some(claimer.await),
            None => None,
        } {
            tracing::error!(error = %e, "claimer loop failed");
        }
        // A grace period too long to represent (`Duration::MAX`) waits for
        // as long as runs take.
        let now = tokio::time::Instant::now();
        let deadline = now
            .checked_add(grace)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 100));
        loop {
            let notified = inner.wake.run_finished.notified();
            if lock(&inner.tracking.running).is_empty() || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(deadline) => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
        // Write the results of the runs that finished, so that they are not
        // released below.
        if inner.lifecycle.started.load(Ordering::SeqCst) {
            flush_writes(inner).await;
        }
        let leftover: Vec<RunRef> = lock(&inner.tracking.running)
            .iter()
            .filter(|(_, run)| !run.is_lost())
            .map(|(id, run)| run.run_ref(id))
            .collect();
        let mut result = Ok(());
        if !leftover.is_empty() {
            tracing::info!(
                count = leftover.len(),
                "releasing executions that did not finish in time"
            );
            let released = retrying(inner, "release", || {
                inner
                    .storage
                    .release(&inner.executor_id, now_millis(), &leftover)
            })
            .await;
            if let Err(source) = released {
                result = Err(ExecutorError::Storage {
                    operation: "release",
                    source,
                });
            }
        }
        // Released runs are abandoned; their late results would not match
        // the ownership guard anyway.
        inner.lifecycle.hard_stop.cancel();
        if inner.lifecycle.started.load(Ordering::SeqCst) {
            flush_writes(inner).await;
        }
        inner.lifecycle.stop_loops.cancel();
        let loops: Vec<JoinHandle<()>> = lock(&inner.lifecycle.loops).drain(..).collect();
        for handle in loops {
            if let Err(e) = handle.await {
                tracing::error!(error = %e, "background loop failed");
            }
        }
        tracing::info!(executor_id = %inner.executor_id, "executor shut down");
        // Keep the guard alive until here.
        let _ = &self.guard;
        result
    }
}

impl Inner {
    /// [`ExecutorOptions::lease`] in milliseconds.
    fn lease_ms(&self) -> u64 {
        u64::try_from(self.options.lease.as_millis()).unwrap_or(u64::MAX)
    }

    /// The slack a claim adds to a run's timeout for its timeout bound.
    fn lease_slack_ms(&self) -> u64 {
        u64::try_from(self.options.lease_slack.as_millis()).unwrap_or(u64::MAX)
    }

    /// The heartbeat deadline of a lease taken or extended now.
    fn lease_deadline(&self) -> Millis {
        now_millis().saturating_add(i64::try_from(self.lease_ms()).unwrap_or(i64::MAX))
    }

    /// Emits the [`ExecutionEventKind::Lost`] event of a run given up here.
    fn report_lost(&self, execution_id: &str, run: &RunEntry) {
        if self.events.is_observed() && !run.task_id.is_empty() {
            self.events.emit(ExecutionEvent {
                kind: ExecutionEventKind::Lost,
                execution_id: execution_id.to_owned(),
                task_id: run.task_id.clone(),
                attempt: run.attempt.unwrap_or_default(),
                duration: None,
                error: None,
            });
        }
    }

    fn registered(&self, task_id: &str) -> Result<&Arc<TaskSpec>, ExecutorError> {
        self.registry
            .get(task_id)
            .ok_or_else(|| ExecutorError::TaskNotFound {
                task_id: task_id.to_owned(),
            })
    }

    fn check_size(
        &self,
        task_id: &str,
        what: &'static str,
        value: &str,
    ) -> Result<(), ExecutorError> {
        let limit = self.options.max_payload_bytes;
        if value.len() > limit {
            return Err(ExecutorError::PayloadTooLarge {
                task_id: task_id.to_owned(),
                what,
                size: value.len(),
                limit,
            });
        }
        Ok(())
    }
}

/// Inserts new executions, retrying transient storage errors with backoff
/// (at most [`ENQUEUE_ATTEMPTS`] tries). A retry is safe: an insert is
/// atomic and the ids are new, so an attempt whose commit succeeded but
/// whose answer was lost makes the retry fail with a duplicate id; every id
/// is then read back, and when all of them exist the enqueue succeeded
/// (never a second execution). `maybe_committed`: an earlier insert of
/// these executions (a failed batch) may have committed, so a duplicate id
/// is read back from the first attempt on.
async fn insert_retrying(
    inner: &Inner,
    executions: &[NewExecution],
    maybe_committed: bool,
) -> Result<(), ExecutorError> {
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    let mut attempt = 1;
    loop {
        let error = match inner.storage.insert(executions).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if (attempt > 1 || maybe_committed)
            && matches!(error, StorageError::DuplicateExecutionId { .. })
        {
            let ids: Vec<String> = executions.iter().map(|e| e.execution_id.clone()).collect();
            let found = inner
                .storage
                .get(&ids)
                .await
                .map_err(ExecutorError::storage("insert"))?;
            if found.len() == ids.len() {
                tracing::info!(
                    count = ids.len(),
                    "an earlier enqueue attempt had committed"
                );
                return Ok(());
            }
        }
        if !error.is_transient() || attempt >= ENQUEUE_ATTEMPTS {
            return Err(ExecutorError::Storage {
                operation: "insert",
                source: error,
            });
        }
        let delay = backoff.next_delay();
        tracing::warn!(attempt, error = %error, ?delay, "transient storage error while enqueueing, retrying");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// Waits until the writer has written everything queued before this call.
async fn flush_writes(inner: &Inner) {
    let (ack, done) = oneshot::channel();
    if inner
        .tracking
        .writes
        .send(WriterMessage::Barrier(ack))
        .is_ok()
    {
        // Bounded: a storage that keeps failing must not block shutdown.
        let _ = tokio::time::timeout(Duration::from_secs(30), done).await;
    }
}

/// Runs a storage call, retrying transient errors with backoff.
async fn retrying<'a, T, F, Fut>(
    inner: &Inner,
    operation: &'static str,
    mut call: F,
) -> StorageResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StorageResult<T>> + 'a,
{
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if error.is_transient() && attempt < WRITE_ATTEMPTS => {
                let delay = backoff.next_delay();
                tracing::warn!(operation, attempt, error = %error, ?delay, "transient storage error, retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// Waits for a wake-up, the jittered poll interval or the stop token.
/// Returns `true` when stopped.
async fn idle(notify: &Notify, poll: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = notify.notified() => false,
        () = tokio::time::sleep(jittered(poll, IDLE_JITTER)) => false,
        () = stop.cancelled() => true,
    }
}

/// Sleeps after a loop error. Returns `true` when stopped.
async fn pause(delay: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = stop.cancelled() => true,
    }
}

fn log_loop_error(name: &'static str, error: &StorageError, backoff: &ErrorBackoff) {
    if error.is_transient() {
        tracing::warn!(loop_name = name, error = %error, consecutive = backoff.consecutive_errors(), "storage error in background loop");
    } else {
        tracing::error!(loop_name = name, error = %error, consecutive = backoff.consecutive_errors(), "storage error in background loop");
    }
}

/// Cancels the subtree of `execution_id` (itself included when `include_self`).
pub(crate) async fn cancel_execution(
    inner: &Inner,
    execution_id: &str,
) -> Result<Vec<String>, ExecutorError> {
    let items = [CancelItem {
        execution_id: execution_id.to_owned(),
        error: ExecutionError::cancelled("Task cancelled"),
        include_self: true,
    }];
    // Cancelling is idempotent, so a transient failure is retried: on
    // PostgreSQL a cancel racing a closer that already claimed rows of the
    // same subtree can be chosen as a deadlock victim.
    let cancelled = retrying(inner, "cancel", || {
        inner.storage.cancel(now_millis(), &items)
    })
    .await
    .map_err(ExecutorError::storage("cancel"))?;
    // Runs hosted here are cancelled right away rather than at the next
    // canceller pass.
    if !cancelled.is_empty() {
        inner.wake.canceller.notify_one();
        if inner.events.is_observed() {
            emit_read_back(inner, &cancelled, |row| {
                (row.status == ExecutionStatus::Cancelled).then_some(ExecutionEventKind::Cancelled)
            })
            .await;
        }
    }
    Ok(cancelled)
}

/// Emits the events of executions a storage call of this executor changed
/// without running them here (cancelled through a handle, finished by the
/// closer, recovered by lease expiry): they are read back for their task
/// ids, and `kind` picks each one's event. A failed read loses these events
/// only. The duration is the run's, from its start to its end, when both
/// are stored.
pub(crate) async fn emit_read_back(
    inner: &Inner,
    execution_ids: &[String],
    kind: impl Fn(&TaskExecution) -> Option<ExecutionEventKind>,
) {
    match inner.storage.get(execution_ids).await {
        Ok(rows) => {
            for row in rows.into_iter().flatten() {
                let Some(kind) = kind(&row) else { continue };
                let duration = match (row.started_at, row.finished_at) {
                    (Some(started), Some(finished)) if kind != ExecutionEventKind::Cancelled => {
                        u64::try_from(finished.saturating_sub(started))
                            .ok()
                            .map(Duration::from_millis)
                    }
                    _ => None,
                };
                // A parent failed by a child or its finalize has no error
                // of its own: report the one a parent of it would see.
                let error = if row.is_finished() && row.status != ExecutionStatus::Completed {
                    Some(row.parent_facing_error())
                } else {
                    row.error
                };
                inner.events.emit(ExecutionEvent {
                    kind,
                    execution_id: row.execution_id,
                    task_id: row.task_id,
                    attempt: row.attempt,
                    duration,
                    error,
                });
            }
        }
        Err(error) => {
            tracing::warn!(error = %error, "cannot read changed executions back; their events are lost");
        }
    }
}
