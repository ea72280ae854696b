//! Error types: [`ExecutorError`] for callers of the executor and handles,
//! [`TaskError`] for task code.

use crate::model::{CorruptRow, ErrorKind, ExecutionError, ExecutionStatus};
use crate::storage::StorageError;
use std::fmt;

/// An error returned by the executor, its builder or an execution handle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutorError {
    /// The executor has been shut down; no task can be registered, enqueued
    /// or started any more.
    #[error("Executor shutdown")]
    Shutdown,
    /// The executor was built or started outside of a Tokio runtime.
    #[error("no Tokio runtime: {0}")]
    NoRuntime(String),
    /// The task is not registered in this executor.
    #[error(
        "Task {task_id} not found. Use ExecutorBuilder::register() to add it before enqueuing it."
    )]
    TaskNotFound {
        /// The unknown task id.
        task_id: String,
    },
    /// The execution does not exist.
    #[error("Execution {execution_id} not found")]
    ExecutionNotFound {
        /// The unknown execution id.
        execution_id: String,
    },
    /// A handle was requested for an execution of another task.
    #[error("Execution {execution_id} belongs to task {actual}, not to task {expected}")]
    TaskMismatch {
        /// The execution id.
        execution_id: String,
        /// The task the caller asked for.
        expected: String,
        /// The task the execution really runs.
        actual: String,
    },
    /// A task id breaks the id rules.
    #[error("{message}")]
    InvalidTaskId {
        /// The offending id.
        task_id: String,
        /// `Task id cannot be empty`, `Task id cannot be longer than 255
        /// characters` or `Task id can only contain alphanumeric characters
        /// and underscores`.
        message: &'static str,
    },
    /// Two different definitions were registered under one id.
    #[error("Task {task_id} already exists. Use unique ids for tasks")]
    DuplicateTask {
        /// The duplicate id.
        task_id: String,
    },
    /// A task definition, enqueue option or child option is invalid.
    #[error("Invalid {what} for task {task_id}: {message}")]
    InvalidOptions {
        /// The task id.
        task_id: String,
        /// `retry options`, `timeout value`, `sleep before run` or `max iterations`.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No execution of the sleeping task has this key.
    #[error("No execution of sleeping task {task_id} has the key {key:?}")]
    UnknownSleepingKey {
        /// The sleeping task's id.
        task_id: String,
        /// The key.
        key: String,
    },
    /// An executor option is out of range.
    #[error("Invalid executor option {option}: {message}")]
    InvalidExecutorOption {
        /// The option name.
        option: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An input could not be serialized.
    #[error("Invalid input to task {task_id}: {message}")]
    InvalidInput {
        /// The task id.
        task_id: String,
        /// The serializer's message.
        message: String,
    },
    /// The task's input validation (set with `validate_input`) rejected
    /// the input; nothing was stored.
    #[error("Input to task {task_id} rejected: {reason}")]
    InputRejected {
        /// The task id.
        task_id: String,
        /// The reason the validation returned.
        reason: String,
    },
    /// A serialized payload is larger than the configured limit.
    #[error("{what} of task {task_id} is {size} bytes, over the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The task id.
        task_id: String,
        /// `Input`, `Output`, …
        what: &'static str,
        /// Serialized size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A stored value could not be deserialized into the requested type.
    #[error("Cannot read {what} of execution {execution_id} as the requested type: {message}")]
    Deserialize {
        /// The execution id.
        execution_id: String,
        /// `input`, `output` or `run output`.
        what: &'static str,
        /// The deserializer's message.
        message: String,
    },
    /// The output was requested from an execution that did not complete.
    #[error("Execution {execution_id} is {status}, not completed{}", error.as_ref().map(|e| format!(": {}", e.message)).unwrap_or_default())]
    NotCompleted {
        /// The execution id.
        execution_id: String,
        /// Its current status.
        status: ExecutionStatus,
        /// The error it finished with, if any.
        error: Option<ExecutionError>,
    },
    /// Waiting for an execution was cancelled by the caller's token.
    #[error("Waiting for execution {execution_id} was cancelled")]
    WaitCancelled {
        /// The execution id.
        execution_id: String,
    },
    /// Waiting for an execution took longer than the caller's timeout.
    #[error("Execution {execution_id} did not finish within {timeout_ms} ms")]
    WaitTimedOut {
        /// The execution id.
        execution_id: String,
        /// The timeout.
        timeout_ms: u64,
    },
    /// A stored row is corrupt.
    #[error(transparent)]
    Corrupt(#[from] CorruptRow),
    /// A storage operation failed.
    #[error("storage operation `{operation}` failed: {source}")]
    Storage {
        /// Which operation.
        operation: &'static str,
        /// The storage error.
        #[source]
        source: StorageError,
    },
}

impl ExecutorError {
    pub(crate) fn storage(operation: &'static str) -> impl FnOnce(StorageError) -> Self {
        move |source| Self::Storage { operation, source }
    }
}

/// The error type returned by task code.
///
/// Like a thrown error in the original library, an error built with
/// [`TaskError::new`] or converted from any [`std::error::Error`] is
/// **retryable**: the execution is retried while its retry budget lasts.
/// Use [`TaskError::non_retryable`], [`TaskError::timed_out`] or
/// [`TaskError::cancelled`] to end the execution without retry (a
/// cancelled error ends it `cancelled`, a timed-out one `timed_out`).
///
/// `TaskError` deliberately does not implement [`std::error::Error`] so that
/// `?` converts any error into it (as `anyhow` does).
pub struct TaskError {
    kind: ErrorKind,
    message: String,
    retryable: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl TaskError {
    /// A retryable generic error.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Generic,
            message: message.into(),
            retryable: true,
            source: None,
        }
    }

    /// A generic error that is never retried.
    pub fn non_retryable(message: impl Into<String>) -> Self {
        Self::new(message).with_retryable(false)
    }

    /// A timed-out error (retryable unless changed with
    /// [`TaskError::with_retryable`]); ends the execution `timed_out`.
    pub fn timed_out(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::TimedOut,
            ..Self::new(message)
        }
    }

    /// A cancelled error (never retried); ends the execution `cancelled`.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Cancelled,
            retryable: false,
            ..Self::new(message)
        }
    }

    /// A not-found error (never retried).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            retryable: false,
            ..Self::new(message)
        }
    }

    /// Overrides whether the error is retryable (cancelled errors stay
    /// non-retryable).
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable && self.kind != ErrorKind::Cancelled;
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The class of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the executor may retry after this error.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// The underlying error, when converted from one.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    /// Converts a stored [`ExecutionError`] back into a task error (for
    /// example to re-raise a child's error), keeping its class and flags.
    pub fn from_execution_error(error: ExecutionError) -> Self {
        Self {
            kind: error.kind,
            message: error.message,
            retryable: error.is_retryable,
            source: None,
        }
    }

    /// The error as stored on the execution.
    pub fn to_execution_error(&self) -> ExecutionError {
        ExecutionError {
            kind: self.kind,
            message: self.message.clone(),
            is_retryable: self.retryable,
            is_internal: false,
        }
    }
}

impl<E> From<E> for TaskError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        Self {
            kind: ErrorKind::Generic,
            message: error.to_string(),
            retryable: true,
            source: Some(Box::new(error)),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("retryable", &self.retryable)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_errors_convert_into_retryable_generic_errors() {
        fn parse(s: &str) -> Result<i32, TaskError> {
            Ok(s.parse::<i32>()?)
        }
        let error = parse("x").err().map(|e| e.to_execution_error());
        let error = error.unwrap_or_else(|| ExecutionError::generic("", false));
        assert_eq!(error.kind, ErrorKind::Generic);
        assert!(error.is_retryable);
        assert_eq!(error.message, "invalid digit found in string");
    }

    #[test]
    fn constructors_set_kind_and_retryability() {
        assert!(!TaskError::non_retryable("x").is_retryable());
        let timed_out = TaskError::timed_out("t");
        assert_eq!(timed_out.kind(), ErrorKind::TimedOut);
        assert!(timed_out.is_retryable());
        let cancelled = TaskError::cancelled("c").with_retryable(true);
        assert!(!cancelled.is_retryable());
        assert_eq!(
            cancelled.to_execution_error().finished_status(),
            ExecutionStatus::Cancelled
        );
    }
}
