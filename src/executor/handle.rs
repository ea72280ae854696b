//! Handles on executions: read, wait for the end, cancel. [`TaskHandle`]
//! knows its task's output type; [`ExecutionHandle`] is the untyped handle
//! for tools that only have an execution id.

use super::backoff::jittered;
use super::error::ExecutorError;
use super::runtime::{Inner, cancel_execution};
use crate::model::TaskExecution;
use crate::storage::StorageEvent;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

/// Ids read per storage call by the watcher.
const WATCH_CHUNK: usize = 10_000;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An untyped handle on one execution (for tools that handle executions of
/// any task; [`TaskHandle`] is the typed one). Cheap to clone; keeps working
/// after the executor shut down.
#[derive(Clone)]
pub struct ExecutionHandle {
    inner: Arc<Inner>,
    task_id: String,
    execution_id: String,
}

impl std::fmt::Debug for ExecutionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutionHandle")
            .field("task_id", &self.task_id)
            .field("execution_id", &self.execution_id)
            .finish()
    }
}

/// Options of [`ExecutionHandle::wait_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
#[must_use]
pub struct WaitOptions {
    /// Give up after this long ([`ExecutorError::WaitTimedOut`]).
    pub timeout: Option<Duration>,
    /// Give up when this token fires ([`ExecutorError::WaitCancelled`]).
    pub cancel: Option<CancellationToken>,
}

impl WaitOptions {
    /// Wait without limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives up after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Gives up when `token` fires.
    pub fn cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }
}

impl ExecutionHandle {
    pub(crate) fn new(inner: Arc<Inner>, task_id: String, execution_id: String) -> Self {
        Self {
            inner,
            task_id,
            execution_id,
        }
    }

    /// The task id.
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// The execution id.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// Reads the execution.
    pub async fn get(&self) -> Result<TaskExecution, ExecutorError> {
        let rows = self
            .inner
            .storage
            .get(std::slice::from_ref(&self.execution_id))
            .await
            .map_err(ExecutorError::storage("get"))?;
        match rows.into_iter().next() {
            Some(row) => Ok(row?),
            None => Err(ExecutorError::ExecutionNotFound {
                execution_id: self.execution_id.clone(),
            }),
        }
    }

    /// Reads the execution's children (in spawn order) and finalize (last).
    pub async fn children(&self) -> Result<Vec<TaskExecution>, ExecutorError> {
        let rows = self
            .inner
            .storage
            .get_children(&self.execution_id)
            .await
            .map_err(ExecutorError::storage("get_children"))?;
        rows.into_iter()
            .map(|row| row.map_err(ExecutorError::from))
            .collect()
    }

    /// Waits until the execution is finished and returns it.
    pub async fn wait(&self) -> Result<TaskExecution, ExecutorError> {
        self.wait_with(WaitOptions::default()).await
    }

    /// Waits until the execution is finished, at most `options.timeout`
    /// and until `options.cancel` fires. Woken by storage events, with
    /// polling as the fallback. Transient storage errors (see
    /// [`StorageError::is_transient`](crate::storage::StorageError::is_transient))
    /// are retried at the next poll; other errors end the wait.
    pub async fn wait_with(&self, options: WaitOptions) -> Result<TaskExecution, ExecutorError> {
        let cancel = options.cancel.unwrap_or_default();
        // A timeout too long to represent waits without a deadline.
        let deadline = options
            .timeout
            .and_then(|t| tokio::time::Instant::now().checked_add(t));
        let timeout_ms = options
            .timeout
            .map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        let cancelled = || ExecutorError::WaitCancelled {
            execution_id: self.execution_id.clone(),
        };
        if cancel.is_cancelled() {
            return Err(cancelled());
        }
        let mut notified = Some(
            self.inner
                .tracking
                .watcher
                .register(&self.inner, &self.execution_id),
        );
        let base = self.inner.options.wait_poll_interval;
        let mut poll = base;
        loop {
            match self.get().await {
                Ok(execution) if execution.is_finished() => return Ok(execution),
                Ok(_) => {}
                // A database blip (restart, failover, dropped connection)
                // must not fail every waiting caller: read again at the
                // next poll, until the deadline.
                Err(ExecutorError::Storage { operation, source }) if source.is_transient() => {
                    tracing::warn!(execution_id = %self.execution_id, operation, error = %source, "cannot read the execution; retrying at the next poll");
                }
                Err(error) => return Err(error),
            }
            let sleep_until = deadline
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
            tokio::select! {
                result = async { match notified.as_mut() { Some(rx) => rx.await, None => std::future::pending().await } } => {
                    match result {
                        Ok(execution) => return Ok(execution),
                        Err(_) => notified = None,
                    }
                }
                () = tokio::time::sleep(jittered(poll, 0.25)) => {
                    poll = (poll.mul_f64(1.5)).min(base.saturating_mul(4));
                }
                () = cancel.cancelled() => return Err(cancelled()),
                () = tokio::time::sleep_until(sleep_until) => {
                    return Err(ExecutorError::WaitTimedOut {
                        execution_id: self.execution_id.clone(),
                        timeout_ms,
                    });
                }
            }
        }
    }

    /// Cancels the execution and every active descendant. Idempotent; does
    /// nothing for a finished execution.
    pub async fn cancel(&self) -> Result<(), ExecutorError> {
        cancel_execution(&self.inner, &self.execution_id).await?;
        Ok(())
    }
}

/// A handle on one execution of a task whose final output is `O`: what
/// [`Executor::enqueue`](super::Executor::enqueue) returns and
/// [`Executor::handle`](super::Executor::handle) re-creates from an id.
///
/// [`TaskHandle::wait_output`] waits and decodes the output without
/// restating its type; [`TaskHandle::wait`] gives the whole finished
/// execution. Cheap to clone (`O` need not be `Clone`); keeps working after
/// the executor shut down. [`TaskHandle::untyped`] and `From` give the
/// [`ExecutionHandle`] underneath.
pub struct TaskHandle<O> {
    handle: ExecutionHandle,
    _output: PhantomData<fn() -> O>,
}

impl<O> Clone for TaskHandle<O> {
    fn clone(&self) -> Self {
        Self {
            handle: self.handle.clone(),
            _output: PhantomData,
        }
    }
}

impl<O> std::fmt::Debug for TaskHandle<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskHandle")
            .field("task_id", &self.handle.task_id)
            .field("execution_id", &self.handle.execution_id)
            .finish()
    }
}

impl<O> From<TaskHandle<O>> for ExecutionHandle {
    fn from(handle: TaskHandle<O>) -> Self {
        handle.handle
    }
}

impl<O> TaskHandle<O> {
    pub(crate) fn new(handle: ExecutionHandle) -> Self {
        Self {
            handle,
            _output: PhantomData,
        }
    }

    /// The task id.
    pub fn task_id(&self) -> &str {
        self.handle.task_id()
    }

    /// The execution id (`te_…`): store it to re-create the handle later,
    /// in this process or another, with [`Executor::handle`](super::Executor::handle).
    pub fn execution_id(&self) -> &str {
        self.handle.execution_id()
    }

    /// The untyped handle underneath.
    pub fn untyped(&self) -> &ExecutionHandle {
        &self.handle
    }

    /// Reads the execution.
    pub async fn get(&self) -> Result<TaskExecution, ExecutorError> {
        self.handle.get().await
    }

    /// Reads the execution's children (in spawn order) and finalize (last).
    pub async fn children(&self) -> Result<Vec<TaskExecution>, ExecutorError> {
        self.handle.children().await
    }

    /// Waits until the execution is finished and returns it, whatever its
    /// status (see [`TaskHandle::wait_output`] for the output alone).
    pub async fn wait(&self) -> Result<TaskExecution, ExecutorError> {
        self.handle.wait().await
    }

    /// [`TaskHandle::wait`] with a timeout and a cancellation token.
    pub async fn wait_with(&self, options: WaitOptions) -> Result<TaskExecution, ExecutorError> {
        self.handle.wait_with(options).await
    }

    /// Cancels the execution and every active descendant. Idempotent; does
    /// nothing for a finished execution.
    pub async fn cancel(&self) -> Result<(), ExecutorError> {
        self.handle.cancel().await
    }
}

impl<O: DeserializeOwned> TaskHandle<O> {
    /// Waits until the execution is finished and returns its output.
    ///
    /// An execution that finished without completing (failed, timed out,
    /// cancelled) gives [`ExecutorError::NotCompleted`] with its status and
    /// error; an output that does not decode as `O` gives
    /// [`ExecutorError::Deserialize`].
    pub async fn wait_output(&self) -> Result<O, ExecutorError> {
        self.handle.wait().await?.output()
    }

    /// [`TaskHandle::wait_output`] with a timeout and a cancellation token.
    pub async fn wait_output_with(&self, options: WaitOptions) -> Result<O, ExecutorError> {
        self.handle.wait_with(options).await?.output()
    }
}

/// Resolves waiting handles: one storage read per wake-up for every watched
/// execution, instead of one per handle.
#[derive(Debug, Default)]
pub(crate) struct Watcher {
    waiters: Mutex<HashMap<String, Vec<oneshot::Sender<TaskExecution>>>>,
    started: AtomicBool,
}

impl Watcher {
    fn register(&self, inner: &Arc<Inner>, execution_id: &str) -> oneshot::Receiver<TaskExecution> {
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters)
            .entry(execution_id.to_owned())
            .or_default()
            .push(tx);
        if !self.started.swap(true, Ordering::SeqCst) && !inner.lifecycle.stop_loops.is_cancelled()
        {
            tokio::spawn(watch_loop(inner.clone()));
        }
        rx
    }
}

async fn watch_loop(inner: Arc<Inner>) {
    let mut events = inner.storage.subscribe();
    let stop = inner.lifecycle.stop_loops.clone();
    let mut events_open = true;
    let next_poll =
        || tokio::time::Instant::now() + jittered(inner.options.wait_poll_interval, 0.25);
    let mut poll_at = next_poll();
    loop {
        tokio::select! {
            event = events.recv(), if events_open => match event {
                // Only a change of status can finish a watched execution
                // (the poll stays due at its time meanwhile).
                Ok(StorageEvent::Changed) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Closed) => events_open = false,
            },
            () = tokio::time::sleep_until(poll_at) => {}
            () = stop.cancelled() => break,
        }
        poll_at = next_poll();
        // Coalesce a burst of events into one read.
        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = events.try_recv() {}
        let ids: Vec<String> = {
            let mut waiters = lock(&inner.tracking.watcher.waiters);
            waiters.retain(|_, senders| {
                senders.retain(|s| !s.is_closed());
                !senders.is_empty()
            });
            waiters.keys().cloned().collect()
        };
        for chunk in ids.chunks(WATCH_CHUNK) {
            match inner.storage.get(chunk).await {
                Ok(rows) => {
                    let mut waiters = lock(&inner.tracking.watcher.waiters);
                    for row in rows.into_iter().flatten() {
                        if !row.is_finished() {
                            continue;
                        }
                        if let Some(senders) = waiters.remove(&row.execution_id) {
                            for sender in senders {
                                let _ = sender.send(row.clone());
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "watcher cannot read executions; handles fall back to polling");
                }
            }
        }
    }
    inner
        .tracking
        .watcher
        .started
        .store(false, Ordering::SeqCst);
    lock(&inner.tracking.watcher.waiters).clear();
}
