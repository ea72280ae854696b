//! The context given to every run of a task.

use super::error::TaskError;
use super::state::StateMap;
use crate::model::{ExecutionError, ExecutionRef, ParentRef};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What a running task knows about its execution.
///
/// Cheap to clone. [`TaskContext::cancellation`] fires when the execution is
/// cancelled, when the attempt times out and when the executor gives up on
/// running tasks at the end of a shutdown; [`TaskContext::shutdown`] fires
/// as soon as a shutdown starts, so that long tasks can wrap up early.
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub(crate) inner: Arc<ContextInner>,
}

#[derive(Debug)]
pub(crate) struct ContextInner {
    pub(crate) task_id: String,
    pub(crate) execution_id: String,
    pub(crate) attempt: u32,
    pub(crate) prev_error: Option<ExecutionError>,
    pub(crate) root: Option<ExecutionRef>,
    pub(crate) parent: Option<ParentRef>,
    pub(crate) cancel: CancellationToken,
    pub(crate) shutdown: CancellationToken,
    pub(crate) state: Arc<StateMap>,
}

impl TaskContext {
    /// The task id.
    pub fn task_id(&self) -> &str {
        &self.inner.task_id
    }

    /// The execution id (`te_…`).
    pub fn execution_id(&self) -> &str {
        &self.inner.execution_id
    }

    /// The attempt number: 0 for the first run, then 1, 2, … for retries.
    pub fn attempt(&self) -> u32 {
        self.inner.attempt
    }

    /// The error of the previous attempt (or `Task expired` after a crash
    /// recovery), `None` on the first run.
    pub fn prev_error(&self) -> Option<&ExecutionError> {
        self.inner.prev_error.as_ref()
    }

    /// The top-most ancestor, for children and finalize executions.
    pub fn root(&self) -> Option<&ExecutionRef> {
        self.inner.root.as_ref()
    }

    /// The direct parent, for children and finalize executions.
    pub fn parent(&self) -> Option<&ParentRef> {
        self.inner.parent.as_ref()
    }

    /// Fires on cancellation, timeout and the end of a shutdown's grace
    /// period. The run's future is dropped right after, so code that must
    /// clean up should watch this token.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.inner.cancel
    }

    /// Fires when the executor starts shutting down.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Whether [`TaskContext::cancellation`] fired.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Whether [`TaskContext::shutdown`] fired.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.is_cancelled()
    }

    /// The application state of type `T` registered with
    /// [`ExecutorBuilder::state`](super::ExecutorBuilder::state) (an HTTP
    /// client, a database pool): read it by type instead of cloning it into
    /// every task closure.
    ///
    /// Fails with a non-retryable [`TaskError`] (kind `not_found`) naming
    /// the type when no value of that type was registered, so that `?` ends
    /// the execution with a clear error.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<Arc<T>, TaskError> {
        self.try_state().ok_or_else(|| {
            TaskError::not_found(format!(
                "No state of type {} is registered on the executor: add it with ExecutorBuilder::state",
                std::any::type_name::<T>()
            ))
        })
    }

    /// The application state of type `T`, if registered (see
    /// [`TaskContext::state`]).
    pub fn try_state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.inner.state.get()
    }
}
