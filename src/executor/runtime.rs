//! The executor: registry, enqueue, and the background loops (claimer,
//! result writer, closer, canceller, lease expirer, event dispatcher).

use super::backoff::{ErrorBackoff, jittered, retry_delay_with_jitter_ms};
use super::context::{ContextInner, TaskContext};
use super::error::ExecutorError;
use super::handle::{ExecutionHandle, Watcher};
use super::ids::{generate_execution_id, generate_executor_id};
use super::options::{EnqueueOptions, ExecutorOptions, effective_options};
use super::task::{Definition, Kind, RunFailure, RunOutcome, TaskSpec};
use crate::model::{
    CorruptRow, ExecutionError, ExecutionRef, ExecutionStatus, Loaded, NewExecution, ParentRef,
    TaskExecution, now_millis,
};
use crate::storage::{
    Advance, AdvanceItem, CancelItem, FinishItem, RetryItem, Storage, StorageError, StorageEvent,
    StorageResult, WaitItem,
};
use futures::FutureExt;
use futures::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Spread of the idle sleeps of the background loops.
const IDLE_JITTER: f64 = 0.25;
/// Attempts of one storage write before the writer gives up on it (the
/// lease then recovers the execution).
const WRITE_ATTEMPTS: u32 = 6;
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

/// Builder of an [`Executor`]: storage, options and the registered tasks.
#[derive(Debug)]
pub struct ExecutorBuilder {
    storage: Arc<dyn Storage>,
    options: ExecutorOptions,
    specs: Vec<Arc<TaskSpec>>,
}

impl ExecutorBuilder {
    /// Sets the options (see [`ExecutorOptions::builder`]).
    pub fn options(mut self, options: ExecutorOptions) -> Self {
        self.options = options;
        self
    }

    /// Registers a task, parent task or sequence, with its finalize task
    /// and steps. Registering the same definition twice is harmless; two
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
            watcher: Watcher::default(),
            semaphore: Arc::new(Semaphore::new(self.options.max_concurrent_executions)),
            storage: self.storage,
            executor_id,
            options: self.options,
            registry,
            run_shutdown: shutdown.child_token(),
            shutdown,
            hard_stop: CancellationToken::new(),
            stop_loops: CancellationToken::new(),
            running: Mutex::new(HashMap::new()),
            wake_claimer: Notify::new(),
            wake_closer: Notify::new(),
            wake_canceller: Notify::new(),
            run_finished: Notify::new(),
            writes: tx,
            writes_rx: Mutex::new(Some(rx)),
            started: AtomicBool::new(false),
            shut_down: AtomicBool::new(false),
            loops: Mutex::new(Vec::new()),
            claimer: Mutex::new(None),
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
        self.inner.shutdown.cancel();
        self.inner.hard_stop.cancel();
        self.inner.stop_loops.cancel();
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
    /// Fires when a shutdown starts: stop claiming, tell runs.
    shutdown: CancellationToken,
    /// Given to runs as their shutdown token: a child of `shutdown`, so that
    /// task code cannot stop the executor by cancelling it.
    run_shutdown: CancellationToken,
    /// Fires at the end of the shutdown grace period: cancel every run.
    hard_stop: CancellationToken,
    /// Stops the background loops.
    pub(crate) stop_loops: CancellationToken,
    /// Runs in this executor whose result is not written yet.
    running: Mutex<HashMap<String, CancellationToken>>,
    semaphore: Arc<Semaphore>,
    wake_claimer: Notify,
    wake_closer: Notify,
    wake_canceller: Notify,
    run_finished: Notify,
    writes: mpsc::UnboundedSender<WriterMessage>,
    writes_rx: Mutex<Option<mpsc::UnboundedReceiver<WriterMessage>>>,
    started: AtomicBool,
    shut_down: AtomicBool,
    loops: Mutex<Vec<JoinHandle<()>>>,
    claimer: Mutex<Option<JoinHandle<()>>>,
    pub(crate) watcher: Watcher,
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

struct Completion {
    execution_id: String,
    write: Write,
    _permit: OwnedSemaphorePermit,
}

#[allow(clippy::large_enum_variant)]
enum WriterMessage {
    Done(Completion),
    Barrier(oneshot::Sender<()>),
}

impl Executor {
    /// Starts building an executor on `storage`.
    pub fn builder(storage: Arc<dyn Storage>) -> ExecutorBuilder {
        ExecutorBuilder {
            storage,
            options: ExecutorOptions::default(),
            specs: Vec::new(),
        }
    }

    /// The executor id (`de_…`).
    pub fn executor_id(&self) -> &str {
        &self.inner.executor_id
    }

    /// The storage.
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
        if inner.shutdown.is_cancelled() {
            return Err(ExecutorError::Shutdown);
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| ExecutorError::NoRuntime(e.to_string()))?;
        if inner.started.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let Some(rx) = lock(&inner.writes_rx).take() else {
            return Ok(());
        };
        let mut loops = lock(&inner.loops);
        loops.push(runtime.spawn(writer_loop(inner.clone(), rx)));
        loops.push(runtime.spawn(closer_loop(inner.clone())));
        loops.push(runtime.spawn(canceller_loop(inner.clone())));
        loops.push(runtime.spawn(expirer_loop(inner.clone())));
        loops.push(runtime.spawn(dispatcher_loop(inner.clone())));
        *lock(&inner.claimer) = Some(runtime.spawn(claimer_loop(inner.clone())));
        tracing::info!(executor_id = %inner.executor_id, "executor started");
        Ok(())
    }

    /// Enqueues one execution of `task` with its default options.
    pub async fn enqueue<D: Definition + ?Sized>(
        &self,
        task: &D,
        input: D::Input,
    ) -> Result<ExecutionHandle, ExecutorError> {
        self.enqueue_with(task, input, EnqueueOptions::default())
            .await
    }

    /// Enqueues one execution of `task` with overridden options.
    pub async fn enqueue_with<D: Definition + ?Sized>(
        &self,
        task: &D,
        input: D::Input,
        options: EnqueueOptions,
    ) -> Result<ExecutionHandle, ExecutorError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(ExecutorError::Shutdown);
        }
        let execution = self.prepare(task, input, options)?;
        self.inner
            .storage
            .insert(std::slice::from_ref(&execution))
            .await
            .map_err(ExecutorError::storage("insert"))?;
        tracing::debug!(task_id = %execution.task_id, execution_id = %execution.execution_id, "enqueued");
        Ok(self.handle_for(&execution))
    }

    /// Enqueues many executions of `task` with one storage insert.
    pub async fn enqueue_many<D, It>(
        &self,
        task: &D,
        inputs: It,
    ) -> Result<Vec<ExecutionHandle>, ExecutorError>
    where
        D: Definition + ?Sized,
        It: IntoIterator<Item = D::Input>,
    {
        if self.inner.shutdown.is_cancelled() {
            return Err(ExecutorError::Shutdown);
        }
        let executions = inputs
            .into_iter()
            .map(|input| self.prepare(task, input, EnqueueOptions::default()))
            .collect::<Result<Vec<_>, _>>()?;
        self.inner
            .storage
            .insert(&executions)
            .await
            .map_err(ExecutorError::storage("insert"))?;
        Ok(executions.iter().map(|e| self.handle_for(e)).collect())
    }

    /// Builds (and validates) a new execution without inserting it, so that
    /// an application can insert it in its own database transaction; then
    /// use [`Executor::handle_for`].
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
        })
    }

    /// A handle on an execution this process inserted itself (see
    /// [`Executor::prepare`]).
    pub fn handle_for(&self, execution: &NewExecution) -> ExecutionHandle {
        ExecutionHandle::new(
            self.inner.clone(),
            execution.task_id.clone(),
            execution.execution_id.clone(),
        )
    }

    /// Re-creates a handle on an existing execution of `task` (for example
    /// in another process). Fails if the task is not registered, the
    /// execution does not exist, or it belongs to another task.
    pub async fn handle<D: Definition + ?Sized>(
        &self,
        task: &D,
        execution_id: &str,
    ) -> Result<ExecutionHandle, ExecutorError> {
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
        Ok(handle)
    }

    /// Ids of the executions running in this executor right now.
    pub fn running_execution_ids(&self) -> Vec<String> {
        lock(&self.inner.running).keys().cloned().collect()
    }

    /// Counters.
    pub fn stats(&self) -> ExecutorStats {
        ExecutorStats {
            executor_id: self.inner.executor_id.clone(),
            running: lock(&self.inner.running).len(),
            max_concurrent_executions: self.inner.options.max_concurrent_executions,
            max_batch: self.inner.options.max_batch,
            registered_tasks: self.inner.registry.len(),
            is_started: self.inner.started.load(Ordering::SeqCst),
            is_shutdown: self.inner.shutdown.is_cancelled(),
        }
    }

    /// Whether a shutdown started.
    pub fn is_shutdown(&self) -> bool {
        self.inner.shutdown.is_cancelled()
    }

    /// Shuts down gracefully: stops claiming, fires every run's
    /// [`TaskContext::shutdown`] token, lets running executions finish for
    /// up to `grace`, writes their results, then gives the executions that
    /// are still running back to the storage (`ready`, same attempt) and
    /// cancels their runs. Idempotent; later enqueues fail with
    /// [`ExecutorError::Shutdown`], handles keep working.
    pub async fn shutdown(&self, grace: Duration) -> Result<(), ExecutorError> {
        let inner = &self.inner;
        inner.shutdown.cancel();
        if inner.shut_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        tracing::info!(executor_id = %inner.executor_id, "executor shutting down");
        let claimer = lock(&inner.claimer).take();
        if let Some(Err(e)) = match claimer {
            Some(claimer) => Some(claimer.await),
            None => None,
        } {
            tracing::error!(error = %e, "claimer loop failed");
        }
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let notified = inner.run_finished.notified();
            if lock(&inner.running).is_empty() || tokio::time::Instant::now() >= deadline {
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
        if inner.started.load(Ordering::SeqCst) {
            flush_writes(inner).await;
        }
        let leftover: Vec<String> = lock(&inner.running).keys().cloned().collect();
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
        inner.hard_stop.cancel();
        if inner.started.load(Ordering::SeqCst) {
            flush_writes(inner).await;
        }
        inner.stop_loops.cancel();
        let loops: Vec<JoinHandle<()>> = lock(&inner.loops).drain(..).collect();
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

/// Waits until the writer has written everything queued before this call.
async fn flush_writes(inner: &Inner) {
    let (ack, done) = oneshot::channel();
    if inner.writes.send(WriterMessage::Barrier(ack)).is_ok() {
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

// ---------------------------------------------------------------------------
// Claimer and runner.

async fn claimer_loop(inner: Arc<Inner>) {
    let stop = inner.shutdown.clone();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    while !stop.is_cancelled() {
        let free = inner.semaphore.available_permits();
        if free == 0 {
            if idle(&inner.wake_claimer, inner.options.poll_interval, &stop).await {
                break;
            }
            continue;
        }
        let limit = u32::try_from(free)
            .unwrap_or(u32::MAX)
            .min(inner.options.max_batch);
        match inner
            .storage
            .claim_ready(
                &inner.executor_id,
                now_millis(),
                limit,
                u64::try_from(inner.options.lease_slack.as_millis()).unwrap_or(u64::MAX),
            )
            .await
        {
            Ok(rows) => {
                backoff.reset();
                let claimed = rows.len();
                for row in rows {
                    start_run(&inner, row).await;
                }
                if claimed >= limit as usize {
                    tokio::task::yield_now().await;
                    continue;
                }
                if idle(&inner.wake_claimer, inner.options.poll_interval, &stop).await {
                    break;
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                log_loop_error("claimer", &error, &backoff);
                if pause(delay, &stop).await {
                    break;
                }
            }
        }
    }
}

async fn start_run(inner: &Arc<Inner>, row: Loaded) {
    let permit = match inner.semaphore.clone().try_acquire_owned() {
        Ok(permit) => permit,
        // Only the claimer takes permits, so this does not happen; wait
        // rather than exceed the limit if it ever does.
        Err(_) => match inner.semaphore.clone().acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => return,
        },
    };
    let row = match row {
        Ok(row) => row,
        Err(corrupt) => {
            tracing::error!(execution_id = %corrupt.execution_id, error = %corrupt, "claimed a corrupt execution; failing it");
            let write = Write::Finish(fail_item(
                &corrupt.execution_id,
                ExecutionError::generic(format!("Cannot run execution: {corrupt}"), false)
                    .internal(),
            ));
            lock(&inner.running).insert(corrupt.execution_id.clone(), CancellationToken::new());
            send_completion(inner, corrupt.execution_id, write, permit);
            return;
        }
    };
    let cancel = inner.hard_stop.child_token();
    lock(&inner.running).insert(row.execution_id.clone(), cancel.clone());
    let span = tracing::info_span!("execution", task_id = %row.task_id, execution_id = %row.execution_id, attempt = row.attempt);
    let inner = inner.clone();
    tokio::spawn(
        async move {
            tracing::debug!("running");
            let execution_id = row.execution_id.clone();
            let write = execute(&inner, row, cancel).await;
            send_completion(&inner, execution_id, write, permit);
        }
        .instrument(span),
    );
}

fn send_completion(
    inner: &Inner,
    execution_id: String,
    write: Write,
    permit: OwnedSemaphorePermit,
) {
    let completion = Completion {
        execution_id,
        write,
        _permit: permit,
    };
    if let Err(mpsc::error::SendError(WriterMessage::Done(completion))) =
        inner.writes.send(WriterMessage::Done(completion))
    {
        // The writer is gone (executor dropped): forget the run; its lease
        // recovers the execution.
        lock(&inner.running).remove(&completion.execution_id);
    }
}

fn fail_item(execution_id: &str, error: ExecutionError) -> FinishItem {
    FinishItem {
        execution_id: execution_id.to_owned(),
        status: error.finished_status(),
        run_output: None,
        output: None,
        error: Some(error),
    }
}

/// The write after a failed attempt: a retry while the budget lasts and the
/// error is retryable, else the finished status of the error.
fn fail_or_retry(row: &TaskExecution, error: ExecutionError) -> Write {
    if error.is_retryable && row.attempt < row.retry_options.max_attempts {
        let delay = retry_delay_with_jitter_ms(&row.retry_options, row.attempt);
        tracing::debug!(error = %error.message, delay_ms = delay, "attempt failed, retrying");
        Write::Retry(RetryItem {
            execution_id: row.execution_id.clone(),
            error,
            start_at: now_millis().saturating_add(i64::try_from(delay).unwrap_or(i64::MAX)),
        })
    } else {
        tracing::debug!(error = %error.message, status = %error.finished_status(), "execution failed");
        Write::Finish(fail_item(&row.execution_id, error))
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

async fn execute(inner: &Arc<Inner>, row: TaskExecution, cancel: CancellationToken) -> Write {
    let Some(spec) = inner.registry.get(&row.task_id).cloned() else {
        tracing::error!("task is not registered in this executor");
        return Write::Finish(fail_item(
            &row.execution_id,
            ExecutionError::not_found(format!(
                "Task {} not found: execution {} was claimed by executor {} where the task is not registered",
                row.task_id, row.execution_id, inner.executor_id
            )),
        ));
    };
    let ctx = TaskContext {
        inner: Arc::new(ContextInner {
            task_id: row.task_id.clone(),
            execution_id: row.execution_id.clone(),
            attempt: row.attempt,
            prev_error: row.error.clone(),
            root: row.root.clone(),
            parent: row.parent.clone(),
            cancel: cancel.clone(),
            shutdown: inner.run_shutdown.clone(),
        }),
    };
    let run = AssertUnwindSafe((spec.run)(ctx, row.input.clone())).catch_unwind();
    let timeout = Duration::from_millis(row.timeout_ms);
    let result = tokio::select! {
        biased;
        () = cancel.cancelled() => {
            tracing::debug!("run cancelled");
            return Write::Nothing;
        }
        result = tokio::time::timeout(timeout, run) => result,
    };
    // Tell anything the run left behind that the run is over.
    cancel.cancel();
    match result {
        Err(_elapsed) => fail_or_retry(&row, ExecutionError::timed_out("Task timed out")),
        Ok(Err(panic)) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(panic = %message, "task panicked");
            fail_or_retry(
                &row,
                ExecutionError::generic(format!("Task {} panicked: {message}", row.task_id), true),
            )
        }
        Ok(Ok(Err(RunFailure::User(error)))) => fail_or_retry(&row, error.to_execution_error()),
        Ok(Ok(Err(RunFailure::Input(message)))) => fail_or_retry(
            &row,
            ExecutionError::generic(
                format!(
                    "Cannot deserialize the input of task {} execution {}: {message}",
                    row.task_id, row.execution_id
                ),
                false,
            ),
        ),
        Ok(Ok(Err(RunFailure::Output(message)))) => fail_or_retry(
            &row,
            ExecutionError::generic(
                format!(
                    "Cannot serialize the output of task {} execution {}: {message}",
                    row.task_id, row.execution_id
                ),
                false,
            ),
        ),
        Ok(Ok(Ok(outcome))) => match succeed(inner, &spec, &row, outcome) {
            Ok(write) => write,
            Err(error) => fail_or_retry(&row, error),
        },
    }
}

fn non_retryable(message: String) -> ExecutionError {
    ExecutionError::generic(message, false)
}

fn size_error(
    inner: &Inner,
    row: &TaskExecution,
    what: &str,
    value: &str,
) -> Result<(), ExecutionError> {
    let limit = inner.options.max_payload_bytes;
    if value.len() > limit {
        return Err(non_retryable(format!(
            "{what} of task {} execution {} is {} bytes, over the limit of {limit} bytes",
            row.task_id,
            row.execution_id,
            value.len()
        )));
    }
    Ok(())
}

fn root_of(row: &TaskExecution) -> ExecutionRef {
    row.root.clone().unwrap_or_else(|| ExecutionRef {
        task_id: row.task_id.clone(),
        execution_id: row.execution_id.clone(),
    })
}

/// A new child or finalize execution of `parent`.
fn new_descendant(
    spec: &TaskSpec,
    parent: &TaskExecution,
    index: u32,
    is_finalize: bool,
    input: String,
    overrides: &EnqueueOptions,
) -> Result<NewExecution, ExecutorError> {
    let effective = effective_options(
        &spec.id,
        spec.timeout,
        &spec.retry,
        spec.sleep_before_run,
        overrides,
    )?;
    Ok(NewExecution {
        execution_id: generate_execution_id(),
        task_id: spec.id.clone(),
        root: Some(root_of(parent)),
        parent: Some(ParentRef {
            task_id: parent.task_id.clone(),
            execution_id: parent.execution_id.clone(),
            index,
            is_finalize,
        }),
        retry_options: effective.retry,
        sleep_ms_before_run: effective.sleep_ms,
        timeout_ms: effective.timeout_ms,
        input,
        created_at: now_millis(),
    })
}

/// `{"input":…,"output":…,"children":[…]}` built from stored JSON.
fn finalize_input(input: &str, output: &str, children: &[&str]) -> String {
    let mut json = String::with_capacity(
        input.len() + output.len() + children.iter().map(|c| c.len() + 1).sum::<usize>() + 40,
    );
    json.push_str("{\"input\":");
    json.push_str(input);
    json.push_str(",\"output\":");
    json.push_str(output);
    push_children(&mut json, children);
    json
}

/// `{"output":…,"children":[…]}` built from stored JSON.
fn parent_result(output: &str, children: &[&str]) -> String {
    let mut json = String::with_capacity(
        output.len() + children.iter().map(|c| c.len() + 1).sum::<usize>() + 30,
    );
    json.push_str("{\"output\":");
    json.push_str(output);
    push_children(&mut json, children);
    json
}

fn push_children(json: &mut String, children: &[&str]) {
    json.push_str(",\"children\":[");
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(child);
    }
    json.push_str("]}");
}

/// The write after a successful run.
fn succeed(
    inner: &Inner,
    spec: &TaskSpec,
    row: &TaskExecution,
    outcome: RunOutcome,
) -> Result<Write, ExecutionError> {
    let RunOutcome { output, children } = outcome;
    size_error(inner, row, "Output", &output)?;
    let finalize = match &spec.kind {
        Kind::Simple => {
            tracing::debug!("completed");
            return Ok(Write::Finish(FinishItem {
                execution_id: row.execution_id.clone(),
                status: ExecutionStatus::Completed,
                run_output: Some(output.clone()),
                output: Some(output),
                error: None,
            }));
        }
        Kind::Parent { finalize } => finalize.as_ref(),
        Kind::Sequence { .. } => None,
    };
    if children.len() > inner.options.max_children {
        return Err(non_retryable(format!(
            "Task {} execution {} spawned {} children, over the limit of {}",
            row.task_id,
            row.execution_id,
            children.len(),
            inner.options.max_children
        )));
    }
    let mut new_children = Vec::with_capacity(children.len());
    for (index, child) in children.iter().enumerate() {
        let Some(child_spec) = inner.registry.get(&child.task_id) else {
            return Err(ExecutionError::not_found(format!(
                "Child task {} not found (spawned by task {} execution {})",
                child.task_id, row.task_id, row.execution_id
            )));
        };
        let input = child.input.clone().map_err(|message| {
            non_retryable(format!(
                "Invalid input to child task {} of task {} execution {}: {message}",
                child.task_id, row.task_id, row.execution_id
            ))
        })?;
        size_error(
            inner,
            row,
            &format!("Input of child {index} ({})", child.task_id),
            &input,
        )?;
        let execution = new_descendant(
            child_spec,
            row,
            u32::try_from(index).unwrap_or(u32::MAX),
            false,
            input,
            &child.options,
        )
        .map_err(|e| {
            non_retryable(format!(
                "Invalid child {index} of task {} execution {}: {e}",
                row.task_id, row.execution_id
            ))
        })?;
        new_children.push(execution);
    }
    if !new_children.is_empty() {
        tracing::debug!(children = new_children.len(), "waiting for children");
        return Ok(Write::Wait(WaitItem {
            execution_id: row.execution_id.clone(),
            run_output: output,
            children: new_children,
            finalize: None,
        }));
    }
    match finalize {
        Some(finalize) => {
            let finalize_spec = inner.registry.get(&finalize.id).unwrap_or(finalize);
            let input = finalize_input(&row.input, &output, &[]);
            size_error(inner, row, "Finalize input", &input)?;
            let finalize = new_descendant(
                finalize_spec,
                row,
                0,
                true,
                input,
                &EnqueueOptions::default(),
            )
            .map_err(|e| non_retryable(e.to_string()))?;
            tracing::debug!("waiting for finalize");
            Ok(Write::Wait(WaitItem {
                execution_id: row.execution_id.clone(),
                run_output: output,
                children: Vec::new(),
                finalize: Some(finalize),
            }))
        }
        None => {
            let final_output = parent_result(&output, &[]);
            size_error(inner, row, "Output", &final_output)?;
            tracing::debug!("completed");
            Ok(Write::Finish(FinishItem {
                execution_id: row.execution_id.clone(),
                status: ExecutionStatus::Completed,
                run_output: Some(output),
                output: Some(final_output),
                error: None,
            }))
        }
    }
}

// ---------------------------------------------------------------------------
// Result writer.

async fn writer_loop(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<WriterMessage>) {
    let mut buffer = Vec::with_capacity(inner.options.write_batch);
    loop {
        let received = tokio::select! {
            n = rx.recv_many(&mut buffer, inner.options.write_batch) => n,
            () = inner.stop_loops.cancelled() => 0,
        };
        if received == 0 {
            break;
        }
        let mut completions = Vec::with_capacity(buffer.len());
        let mut barriers = Vec::new();
        for message in buffer.drain(..) {
            match message {
                WriterMessage::Done(completion) => completions.push(completion),
                WriterMessage::Barrier(ack) => barriers.push(ack),
            }
        }
        write_batch(&inner, &mut completions).await;
        {
            let mut running = lock(&inner.running);
            for completion in &completions {
                running.remove(&completion.execution_id);
            }
        }
        // Dropping the completions releases their permits.
        drop(completions);
        inner.wake_claimer.notify_one();
        inner.wake_closer.notify_one();
        inner.run_finished.notify_waiters();
        for ack in barriers {
            let _ = ack.send(());
        }
    }
}

async fn write_batch(inner: &Inner, completions: &mut [Completion]) {
    let mut finishes = Vec::new();
    let mut retries = Vec::new();
    let mut waits = Vec::new();
    for completion in completions.iter_mut() {
        match std::mem::replace(&mut completion.write, Write::Nothing) {
            Write::Finish(item) => finishes.push(item),
            Write::Retry(item) => retries.push(item),
            Write::Wait(item) => waits.push(item),
            Write::Nothing => {}
        }
    }
    let (finish_failed, retry_failed, wait_failed) = tokio::join!(
        write_finishes(inner, finishes),
        write_retries(inner, retries),
        write_waits(inner, waits),
    );
    // Parents whose children could not be stored fail with the reason.
    let mut fallback: Vec<FinishItem> = wait_failed
        .into_iter()
        .map(|(item, error)| {
            fail_item(
                &item.execution_id,
                non_retryable(format!(
                    "Cannot store the children of execution {}: {error}",
                    item.execution_id
                )),
            )
        })
        .collect();
    fallback.extend(finish_failed);
    if !fallback.is_empty() {
        let _ = write_finishes_individually(inner, fallback).await;
    }
    for item in retry_failed {
        tracing::error!(execution_id = %item.execution_id, "giving up on writing a retry; the lease will recover the execution");
    }
}

/// Writes finishes in one call; returns the items that could not be written
/// because of a non-transient error (after isolating them).
async fn write_finishes(inner: &Inner, items: Vec<FinishItem>) -> Vec<FinishItem> {
    if items.is_empty() {
        return Vec::new();
    }
    match retrying(inner, "finish", || {
        inner
            .storage
            .finish(&inner.executor_id, now_millis(), &items)
    })
    .await
    {
        Ok(_) => Vec::new(),
        Err(error) => {
            tracing::warn!(error = %error, count = items.len(), "batched finish failed; writing one by one");
            write_finishes_individually(inner, items).await
        }
    }
}

async fn write_finishes_individually(inner: &Inner, items: Vec<FinishItem>) -> Vec<FinishItem> {
    let mut failed = Vec::new();
    for item in items {
        let one = std::slice::from_ref(&item);
        if let Err(error) = retrying(inner, "finish", || {
            inner.storage.finish(&inner.executor_id, now_millis(), one)
        })
        .await
        {
            tracing::error!(execution_id = %item.execution_id, error = %error, "cannot write the result; the lease will recover the execution");
            failed.push(item);
        }
    }
    // Already logged; nothing else can be done with them here.
    let _ = &failed;
    Vec::new()
}

async fn write_retries(inner: &Inner, items: Vec<RetryItem>) -> Vec<RetryItem> {
    if items.is_empty() {
        return Vec::new();
    }
    match retrying(inner, "retry", || {
        inner
            .storage
            .retry(&inner.executor_id, now_millis(), &items)
    })
    .await
    {
        Ok(_) => Vec::new(),
        Err(error) => {
            tracing::warn!(error = %error, count = items.len(), "batched retry failed; writing one by one");
            let mut failed = Vec::new();
            for item in items {
                let one = std::slice::from_ref(&item);
                if let Err(error) = retrying(inner, "retry", || {
                    inner.storage.retry(&inner.executor_id, now_millis(), one)
                })
                .await
                {
                    tracing::error!(execution_id = %item.execution_id, error = %error, "cannot write a retry");
                    failed.push(item);
                }
            }
            failed
        }
    }
}

async fn write_waits(inner: &Inner, items: Vec<WaitItem>) -> Vec<(WaitItem, StorageError)> {
    if items.is_empty() {
        return Vec::new();
    }
    match retrying(inner, "wait_for_children", || {
        inner
            .storage
            .wait_for_children(&inner.executor_id, now_millis(), &items)
    })
    .await
    {
        Ok(_) => Vec::new(),
        Err(error) => {
            tracing::warn!(error = %error, count = items.len(), "batched wait_for_children failed; writing one by one");
            let mut failed = Vec::new();
            for item in items {
                let one = std::slice::from_ref(&item);
                if let Err(error) = retrying(inner, "wait_for_children", || {
                    inner
                        .storage
                        .wait_for_children(&inner.executor_id, now_millis(), one)
                })
                .await
                {
                    failed.push((item, error));
                }
            }
            failed
        }
    }
}

// ---------------------------------------------------------------------------
// Closer: close finished executions, advance parents.

async fn closer_loop(inner: Arc<Inner>) {
    let stop = inner.stop_loops.clone();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    while !stop.is_cancelled() {
        match close_step(&inner).await {
            Ok(true) => {
                backoff.reset();
                tokio::task::yield_now().await;
            }
            Ok(false) => {
                backoff.reset();
                if idle(&inner.wake_closer, inner.options.poll_interval, &stop).await {
                    break;
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                log_loop_error("closer", &error, &backoff);
                if pause(delay, &stop).await {
                    break;
                }
            }
        }
    }
}

/// One closing pass. Returns whether more work is likely pending.
async fn close_step(inner: &Inner) -> StorageResult<bool> {
    let limit = inner.options.close_batch;
    let outcome = inner.storage.close_finished(now_millis(), limit).await?;
    for corrupt in &outcome.corrupt {
        tracing::error!(execution_id = %corrupt.execution_id, error = %corrupt, "closed a corrupt finished execution without effects on its parent or descendants");
    }
    let full = outcome.closed.len() >= limit as usize;
    if !outcome.newly_finished.is_empty() {
        // Some may be cascaded cancellations of runs hosted here.
        inner.wake_canceller.notify_one();
    }
    if !outcome.parents_ready.is_empty() {
        let parents = inner.storage.get(&outcome.parents_ready).await?;
        advance(inner, parents).await?;
        return Ok(true);
    }
    if full || !outcome.newly_finished.is_empty() {
        return Ok(true);
    }
    // Idle: pick up parents that nobody advanced (another executor died
    // between closing and advancing, or could not advance them).
    let parents = inner.storage.ready_parents(limit).await?;
    if parents.is_empty() {
        return Ok(false);
    }
    let count = parents.len();
    advance(inner, parents).await?;
    Ok(count >= limit as usize)
}

async fn advance(inner: &Inner, parents: Vec<Loaded>) -> StorageResult<()> {
    let items: Vec<Option<AdvanceItem>> = futures::stream::iter(parents)
        .map(|parent| advance_item(inner, parent))
        .buffer_unordered(PARENT_CONCURRENCY)
        .collect::<Vec<StorageResult<Option<AdvanceItem>>>>()
        .await
        .into_iter()
        .collect::<StorageResult<_>>()?;
    let items: Vec<AdvanceItem> = items.into_iter().flatten().collect();
    if items.is_empty() {
        return Ok(());
    }
    let advanced = inner.storage.advance_parents(now_millis(), &items).await?;
    tracing::debug!(count = advanced.len(), "advanced parents");
    Ok(())
}

fn fail_advance(execution_id: &str, error: ExecutionError) -> AdvanceItem {
    AdvanceItem {
        execution_id: execution_id.to_owned(),
        action: Advance::Fail {
            status: ExecutionStatus::Failed,
            error,
        },
    }
}

async fn advance_item(inner: &Inner, parent: Loaded) -> StorageResult<Option<AdvanceItem>> {
    let parent = match parent {
        Ok(parent) => parent,
        Err(corrupt) => {
            return Ok(Some(fail_advance(
                &corrupt.execution_id,
                non_retryable(format!("Cannot advance parent execution: {corrupt}")),
            )));
        }
    };
    if parent.status != ExecutionStatus::WaitingForChildrenTasks
        || parent.active_children_count != 0
    {
        return Ok(None);
    }
    let children = inner.storage.get_children(&parent.execution_id).await?;
    Ok(Some(AdvanceItem {
        execution_id: parent.execution_id.clone(),
        action: match plan_advance(inner, &parent, children) {
            Ok(action) => action,
            Err(error) => Advance::Fail {
                status: ExecutionStatus::Failed,
                error,
            },
        },
    }))
}

fn plan_advance(
    inner: &Inner,
    parent: &TaskExecution,
    children: Vec<Loaded>,
) -> Result<Advance, ExecutionError> {
    let _span = tracing::debug_span!("advance", task_id = %parent.task_id, execution_id = %parent.execution_id).entered();
    let spec = inner.registry.get(&parent.task_id).ok_or_else(|| {
        ExecutionError::not_found(format!(
            "Task {} not found: parent execution {} cannot be advanced by executor {} where the task is not registered",
            parent.task_id, parent.execution_id, inner.executor_id
        ))
    })?;
    let mut regular: Vec<TaskExecution> = Vec::with_capacity(children.len());
    for child in children {
        let child = child.map_err(|corrupt: CorruptRow| {
            non_retryable(format!(
                "Cannot read a child of task {} execution {}: {corrupt}",
                parent.task_id, parent.execution_id
            ))
        })?;
        if !child.parent.as_ref().is_some_and(|p| p.is_finalize) {
            regular.push(child);
        }
    }
    regular.sort_by_key(|c| c.parent.as_ref().map_or(0, |p| p.index));
    let consistent = regular.len() == parent.children_count as usize
        && regular
            .iter()
            .all(|c| c.status == ExecutionStatus::Completed);
    if !consistent {
        return Err(non_retryable(format!(
            "Inconsistent children of task {} execution {}: expected {} completed children, found {} of which {} completed",
            parent.task_id,
            parent.execution_id,
            parent.children_count,
            regular.len(),
            regular
                .iter()
                .filter(|c| c.status == ExecutionStatus::Completed)
                .count()
        )));
    }
    let outputs: Vec<&str> = regular
        .iter()
        .map(|c| c.output.as_deref().unwrap_or("null"))
        .collect();
    let run_output = parent.run_output.as_deref().unwrap_or("null");
    match &spec.kind {
        Kind::Sequence { steps } => {
            let done = regular.len();
            let last = outputs.last().copied().unwrap_or("null");
            match steps.get(done) {
                Some(step) => {
                    let step_spec = inner.registry.get(&step.id).unwrap_or(step);
                    size_error(
                        inner,
                        parent,
                        &format!("Input of step {done} ({})", step.id),
                        last,
                    )?;
                    let child = new_descendant(
                        step_spec,
                        parent,
                        u32::try_from(done).unwrap_or(u32::MAX),
                        false,
                        last.to_owned(),
                        &EnqueueOptions::default(),
                    )
                    .map_err(|e| non_retryable(e.to_string()))?;
                    tracing::debug!(step = done, "spawning next step");
                    Ok(Advance::SpawnNext { child })
                }
                None => Ok(Advance::Complete {
                    output: last.to_owned(),
                }),
            }
        }
        Kind::Parent {
            finalize: Some(finalize),
        } => {
            let finalize_spec = inner.registry.get(&finalize.id).unwrap_or(finalize);
            let input = finalize_input(&parent.input, run_output, &outputs);
            size_error(inner, parent, "Finalize input", &input)?;
            let finalize = new_descendant(
                finalize_spec,
                parent,
                0,
                true,
                input,
                &EnqueueOptions::default(),
            )
            .map_err(|e| non_retryable(e.to_string()))?;
            Ok(Advance::Finalize { finalize })
        }
        Kind::Parent { finalize: None } | Kind::Simple => {
            let output = parent_result(run_output, &outputs);
            size_error(inner, parent, "Output", &output)?;
            Ok(Advance::Complete { output })
        }
    }
}

// ---------------------------------------------------------------------------
// Canceller, expirer, event dispatcher.

async fn canceller_loop(inner: Arc<Inner>) {
    let stop = inner.stop_loops.clone();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    while !stop.is_cancelled() {
        if lock(&inner.running).is_empty() {
            if idle(&inner.wake_canceller, inner.options.poll_interval, &stop).await {
                break;
            }
            continue;
        }
        match inner
            .storage
            .claim_cancellations(&inner.executor_id, MAINTENANCE_BATCH)
            .await
        {
            Ok(ids) => {
                backoff.reset();
                {
                    let running = lock(&inner.running);
                    for id in &ids {
                        if let Some(token) = running.get(id) {
                            tracing::debug!(execution_id = %id, "cancelling run");
                            token.cancel();
                        }
                    }
                }
                if ids.len() >= MAINTENANCE_BATCH as usize {
                    continue;
                }
                if idle(&inner.wake_canceller, inner.options.poll_interval, &stop).await {
                    break;
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                log_loop_error("canceller", &error, &backoff);
                if pause(delay, &stop).await {
                    break;
                }
            }
        }
    }
}

async fn expirer_loop(inner: Arc<Inner>) {
    let stop = inner.stop_loops.clone();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    let never = Notify::new();
    while !stop.is_cancelled() {
        match inner
            .storage
            .expire_leases(now_millis(), MAINTENANCE_BATCH)
            .await
        {
            Ok(outcome) => {
                backoff.reset();
                let count = outcome.requeued.len() + outcome.failed.len();
                if count > 0 {
                    tracing::warn!(requeued = ?outcome.requeued, failed = ?outcome.failed, "recovered executions with expired leases");
                    inner.wake_closer.notify_one();
                }
                if count >= MAINTENANCE_BATCH as usize {
                    continue;
                }
                if idle(&never, inner.options.poll_interval, &stop).await {
                    break;
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                log_loop_error("expirer", &error, &backoff);
                if pause(delay, &stop).await {
                    break;
                }
            }
        }
    }
}

async fn dispatcher_loop(inner: Arc<Inner>) {
    let mut events = inner.storage.subscribe();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = inner.stop_loops.cancelled() => break,
        };
        match event {
            Ok(StorageEvent::ReadyWork) => inner.wake_claimer.notify_one(),
            // Not the canceller: `Changed` follows every batch of results,
            // and a cancellation claim is a write (the single SQLite writer
            // would spend its time on them). Cancellations made in this
            // process and cascades found by this closer wake it directly;
            // others are found at the next poll.
            Ok(StorageEvent::Changed) => inner.wake_closer.notify_one(),
            Err(broadcast::error::RecvError::Lagged(_)) => {
                inner.wake_claimer.notify_one();
                inner.wake_closer.notify_one();
                inner.wake_canceller.notify_one();
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

/// Cancels the subtree of `execution_id` (itself included when `include_self`).
pub(crate) async fn cancel_execution(
    inner: &Inner,
    execution_id: &str,
) -> Result<Vec<String>, ExecutorError> {
    let cancelled = inner
        .storage
        .cancel(
            now_millis(),
            &[CancelItem {
                execution_id: execution_id.to_owned(),
                error: ExecutionError::cancelled("Task cancelled"),
                include_self: true,
            }],
        )
        .await
        .map_err(ExecutorError::storage("cancel"))?;
    // Runs hosted here are cancelled right away rather than at the next
    // canceller pass.
    if !cancelled.is_empty() {
        inner.wake_canceller.notify_one();
    }
    Ok(cancelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalize_input_is_valid_json_in_order() {
        let json = finalize_input("{\"a\":1}", "\"out\"", &["1", "\"two\"", "[3]"]);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"input": {"a": 1}, "output": "out", "children": [1, "two", [3]]})
        );
        let empty = parent_result("null", &[]);
        let value: serde_json::Value = serde_json::from_str(&empty).unwrap_or_default();
        assert_eq!(value, serde_json::json!({"output": null, "children": []}));
    }

    #[test]
    fn panic_messages_are_extracted() {
        let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(panic_message(payload.as_ref()), "boom");
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(payload.as_ref()), "bang");
        let payload: Box<dyn std::any::Any + Send> = Box::new(3_u8);
        assert_eq!(panic_message(payload.as_ref()), "unknown panic payload");
    }

    #[test]
    fn retries_follow_the_budget() {
        let mut row = crate::model::TaskExecution {
            execution_id: "te_x".into(),
            task_id: "t".into(),
            root: None,
            parent: None,
            retry_options: crate::model::RetryOptions {
                max_attempts: 1,
                ..Default::default()
            },
            sleep_ms_before_run: 0,
            timeout_ms: 10,
            input: "null".into(),
            run_output: None,
            output: None,
            children_count: 0,
            active_children_count: 0,
            finalize_execution_id: None,
            children_errors: vec![],
            finalize_error: None,
            error: None,
            status: ExecutionStatus::Running,
            is_closed: false,
            needs_cancel: false,
            executor_id: None,
            attempt: 0,
            start_at: 0,
            started_at: None,
            finished_at: None,
            expires_at: None,
            created_at: 0,
            updated_at: 0,
        };
        assert!(matches!(
            fail_or_retry(&row, ExecutionError::generic("x", true)),
            Write::Retry(_)
        ));
        assert!(matches!(
            fail_or_retry(&row, ExecutionError::generic("x", false)),
            Write::Finish(_)
        ));
        row.attempt = 1;
        match fail_or_retry(&row, ExecutionError::timed_out("Task timed out")) {
            Write::Finish(item) => assert_eq!(item.status, ExecutionStatus::TimedOut),
            _ => panic!("expected a finish"),
        }
    }
}
