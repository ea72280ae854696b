//! The task execution record and the values stored inside it.
//!
//! These types are shared by every storage backend and by the executor. They
//! are deliberately plain data: the storage layer converts database rows into
//! them (see [`TaskExecution`]) and the executor decides transitions on them.
//!
//! Timestamps are milliseconds since the Unix epoch (`i64`), in every backend.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The current wall-clock time in milliseconds since the Unix epoch.
pub fn now_millis() -> Millis {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The lifecycle status of one execution, stored as text exactly as
/// [`ExecutionStatus::as_str`] writes it. The default is
/// [`Ready`](Self::Ready), the column's default.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExecutionStatus {
    /// Waiting to be claimed once `start_at` has passed.
    #[default]
    Ready,
    /// An execution of a sleeping task: never claimed, it waits until the
    /// application wakes it by its key (completed or failed), or until its
    /// deadline (`expires_at`) passes (timed out). See docs/design.md
    /// "Sleeping tasks".
    Sleeping,
    /// Claimed by an executor, which holds a lease until `expires_at`.
    Running,
    /// Finished with a non-retried error.
    Failed,
    /// Finished because an attempt exceeded its timeout and no retry was left.
    TimedOut,
    /// The run succeeded and spawned children that have not all completed.
    WaitingForChildrenTasks,
    /// A child finished without completing.
    ChildrenTasksFailed,
    /// All children completed; the finalize execution has not finished yet.
    WaitingForFinalizeTask,
    /// The finalize execution finished without completing.
    FinalizeTaskFailed,
    /// Finished successfully; `output` holds the final output.
    Completed,
    /// Cancelled by a caller or because an ancestor failed.
    Cancelled,
}

impl ExecutionStatus {
    /// Every status, in declaration order.
    pub const ALL: [ExecutionStatus; 11] = [
        Self::Ready,
        Self::Sleeping,
        Self::Running,
        Self::Failed,
        Self::TimedOut,
        Self::WaitingForChildrenTasks,
        Self::ChildrenTasksFailed,
        Self::WaitingForFinalizeTask,
        Self::FinalizeTaskFailed,
        Self::Completed,
        Self::Cancelled,
    ];

    /// The text stored in the `status` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Sleeping => "sleeping",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::WaitingForChildrenTasks => "waiting_for_children_tasks",
            Self::ChildrenTasksFailed => "children_tasks_failed",
            Self::WaitingForFinalizeTask => "waiting_for_finalize_task",
            Self::FinalizeTaskFailed => "finalize_task_failed",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// `ready`, `sleeping`, `running` or one of the two waiting statuses:
    /// not finished, still cancellable.
    pub const fn is_active(self) -> bool {
        matches!(
            self,
            Self::Ready
                | Self::Sleeping
                | Self::Running
                | Self::WaitingForChildrenTasks
                | Self::WaitingForFinalizeTask
        )
    }

    /// A terminal status: the execution will not change status again.
    pub const fn is_finished(self) -> bool {
        !self.is_active()
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status string that is not one of the eleven known statuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown task execution status `{0}`")]
pub struct UnknownStatus(pub String);

impl FromStr for ExecutionStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// The retry policy of one execution.
///
/// `max_attempts` counts **retries**, not runs: `max_attempts: 3` allows up to
/// four runs. The delay before retry `n` (0-based) is
/// `base_delay_ms * delay_multiplier^n`, capped at `max_delay_ms`, then spread
/// by `jitter` (a fraction: `0.2` means ±20 %).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RetryOptions {
    /// How many times a retryable failure is **retried**, not the number of
    /// runs: `0` runs once, `3` allows up to four runs (the first and three
    /// retries). The name is the stored one (the `retry_options` JSON), kept
    /// so that existing rows read the same.
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_delay_ms: Option<u64>,
    /// Factor applied to the delay for each further retry (default 1, at least 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_multiplier: Option<f64>,
    /// Upper bound of the delay, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_ms: Option<u64>,
    /// Random spread applied to the delay, as a fraction in `0.0..=1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
}

/// The class of an [`ExecutionError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Any other error.
    Generic,
    /// A task, child, finalize or execution was not found.
    NotFound,
    /// An attempt exceeded its timeout.
    TimedOut,
    /// The execution was cancelled.
    Cancelled,
}

/// An error stored on an execution (JSON in the `error`, `finalize_error` and
/// `children_errors` columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionError {
    /// The class of the error.
    pub kind: ErrorKind,
    /// Human-readable message.
    pub message: String,
    /// Whether the executor may retry the execution after this error.
    pub is_retryable: bool,
    /// Whether the error comes from the library rather than the task's code.
    #[serde(default)]
    pub is_internal: bool,
}

impl ExecutionError {
    /// A generic error.
    pub fn generic(message: impl Into<String>, is_retryable: bool) -> Self {
        Self {
            kind: ErrorKind::Generic,
            message: message.into(),
            is_retryable,
            is_internal: false,
        }
    }

    /// A non-retryable not-found error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            message: message.into(),
            is_retryable: false,
            is_internal: false,
        }
    }

    /// A timed-out error (`Task timed out` by default), retryable.
    pub fn timed_out(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::TimedOut,
            message: message.into(),
            is_retryable: true,
            is_internal: false,
        }
    }

    /// A non-retryable cancelled error.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Cancelled,
            message: message.into(),
            is_retryable: false,
            is_internal: false,
        }
    }

    /// Marks the error as raised by the library itself.
    pub fn internal(mut self) -> Self {
        self.is_internal = true;
        self
    }

    /// The status an execution ends in when this error is not retried.
    pub fn finished_status(&self) -> ExecutionStatus {
        match self.kind {
            ErrorKind::TimedOut => ExecutionStatus::TimedOut,
            ErrorKind::Cancelled => ExecutionStatus::Cancelled,
            ErrorKind::Generic | ErrorKind::NotFound => ExecutionStatus::Failed,
        }
    }
}

impl fmt::Display for ExecutionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExecutionError {}

/// One failed child, as recorded on its parent (`children_errors` column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildError {
    /// Position of the child among its parent's children (spawn order).
    pub index: u32,
    /// The child's task id.
    pub task_id: String,
    /// The child's execution id.
    pub execution_id: String,
    /// The error the child finished with (see [`TaskExecution::parent_facing_error`]).
    pub error: ExecutionError,
}

/// A reference to another execution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExecutionRef {
    /// Task id of the referenced execution.
    pub task_id: String,
    /// Execution id of the referenced execution.
    pub execution_id: String,
}

/// The direct parent of a child or finalize execution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParentRef {
    /// Task id of the parent.
    pub task_id: String,
    /// Execution id of the parent.
    pub execution_id: String,
    /// Position among the parent's children (0 for a finalize).
    pub index: u32,
    /// `true` when this execution is the parent's finalize execution.
    pub is_finalize: bool,
    /// `true` when the parent's finalize decides the parent's result
    /// ([`ParentTask::finalize_decides`](crate::ParentTask::finalize_decides)):
    /// this child finishing in any status counts the parent's active
    /// children down instead of failing the parent.
    #[serde(default)]
    pub parent_decides: bool,
}

/// A new execution to insert, in status `ready` (or `sleeping` when it has
/// a [`sleeping_key`](Self::sleeping_key)).
#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    /// Unique execution id (`te_` + 24 characters: a time prefix and a
    /// random part, see [`generate_execution_id`](crate::generate_execution_id)).
    pub execution_id: String,
    /// The registered task this execution runs.
    pub task_id: String,
    /// Top-most ancestor, absent for executions enqueued through the API.
    pub root: Option<ExecutionRef>,
    /// Direct parent, absent for executions enqueued through the API.
    pub parent: Option<ParentRef>,
    /// Effective retry policy.
    pub retry_options: RetryOptions,
    /// Effective delay before the first run, in milliseconds.
    pub sleep_ms_before_run: u64,
    /// Effective per-attempt timeout, in milliseconds.
    pub timeout_ms: u64,
    /// Serialized (JSON) input.
    pub input: String,
    /// Creation time; the execution becomes claimable at
    /// `created_at + sleep_ms_before_run`.
    pub created_at: Millis,
    /// The key of an execution of a sleeping task (1–255 characters): it is
    /// inserted `sleeping` with the deadline `created_at + timeout_ms`
    /// instead of `ready`, and is never claimed. `None` for every other task.
    pub sleeping_key: Option<String>,
}

impl NewExecution {
    /// Earliest claim time: `created_at + sleep_ms_before_run`.
    pub fn start_at(&self) -> Millis {
        self.created_at
            .saturating_add(i64::try_from(self.sleep_ms_before_run).unwrap_or(i64::MAX))
    }
}

/// One stored execution, as read back from a backend.
///
/// `Default` is an empty `ready` execution (empty ids, zero counters and
/// times, every optional field unset): the base of struct literals
/// (`TaskExecution { status, ..Default::default() }`), so that a new
/// optional field breaks none of them. Backends read every field from its
/// column (see `src/storage/row.rs`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskExecution {
    /// Unique execution id.
    pub execution_id: String,
    /// The registered task this execution runs.
    pub task_id: String,
    /// Top-most ancestor.
    pub root: Option<ExecutionRef>,
    /// Direct parent.
    pub parent: Option<ParentRef>,
    /// Effective retry policy.
    pub retry_options: RetryOptions,
    /// Effective delay before the first run, in milliseconds.
    pub sleep_ms_before_run: u64,
    /// Effective per-attempt timeout, in milliseconds.
    pub timeout_ms: u64,
    /// Serialized input.
    pub input: String,
    /// Serialized return value of the task's own run (for a parent: its own output part).
    pub run_output: Option<String>,
    /// Serialized final output, set when `completed`.
    pub output: Option<String>,
    /// How many children have been spawned.
    pub children_count: u32,
    /// How many spawned children have not completed yet.
    pub active_children_count: u32,
    /// The finalize execution, once created.
    pub finalize_execution_id: Option<String>,
    /// Errors of children that finished without completing, in closing order.
    pub children_errors: Vec<ChildError>,
    /// Error of a finalize execution that finished without completing.
    pub finalize_error: Option<ExecutionError>,
    /// Last error (finished with error, or the previous attempt's error when ready/running again).
    pub error: Option<ExecutionError>,
    /// Lifecycle status.
    pub status: ExecutionStatus,
    /// `true` once the effects of this finished execution on its parent and
    /// children have been applied.
    pub is_closed: bool,
    /// Set when a running execution was cancelled; the owning executor clears
    /// it after firing the run's cancellation token.
    pub needs_cancel: bool,
    /// The executor holding the lease while `running`.
    pub executor_id: Option<String>,
    /// Number of retries performed so far (0 for the first run).
    pub attempt: u32,
    /// Earliest time the execution may be claimed.
    pub start_at: Millis,
    /// Time of the most recent claim.
    pub started_at: Option<Millis>,
    /// Time the execution entered a finished status.
    pub finished_at: Option<Millis>,
    /// Timeout bound of the lease while running: claim time + timeout +
    /// lease slack (docs/design.md, "Leases and fencing").
    pub expires_at: Option<Millis>,
    /// Heartbeat deadline while running: claim time + lease, pushed forward
    /// by each heartbeat of the owner; the execution is recovered once
    /// either deadline passes. `None` when not running (or claimed by a
    /// version without heartbeats).
    pub heartbeat_expires_at: Option<Millis>,
    /// Creation time.
    pub created_at: Millis,
    /// Time of the last update.
    pub updated_at: Millis,
    /// Time the parent's own run ended and it started waiting for its
    /// children (`waiting_for_children_tasks`); `None` if it never did. A
    /// sequential parent keeps the time it started waiting for its first
    /// child.
    pub waiting_for_children_started_at: Option<Millis>,
    /// Time the parent started waiting for its finalize execution
    /// (`waiting_for_finalize_task`); `None` if it never did.
    pub waiting_for_finalize_started_at: Option<Millis>,
    /// Time this finished execution's effects on its parent and
    /// descendants were applied (when `is_closed` became `true`): the
    /// closer's pass, or its finish itself for a top-level execution
    /// without children or finalize, which has no such effects
    /// (docs/design.md, "Closing"); `None` while it is not closed.
    pub closed_at: Option<Millis>,
    /// The key of an execution of a sleeping task (kept once it finished).
    pub sleeping_key: Option<String>,
}

impl TaskExecution {
    /// The error a parent records for this finished execution: its own
    /// error, else its finalize's error, else a summary of its children's
    /// errors.
    pub fn parent_facing_error(&self) -> ExecutionError {
        if let Some(error) = &self.error {
            return error.clone();
        }
        if let Some(error) = &self.finalize_error {
            let finalize = self.finalize_execution_id.as_deref().unwrap_or("unknown");
            return ExecutionError::generic(
                format!(
                    "Finalize task with execution id {finalize} failed: {}",
                    error.message
                ),
                false,
            );
        }
        if !self.children_errors.is_empty() {
            let mut message = String::from("Children task errors:");
            for child in &self.children_errors {
                message.push_str(&format!(
                    "\n  Child task with id {} failed: {}",
                    child.task_id, child.error.message
                ));
            }
            return ExecutionError::generic(message, false);
        }
        ExecutionError::generic("Unknown durable execution error", false)
    }
}

/// A stored row that could not be converted into a [`TaskExecution`]: bad
/// JSON, an unknown status, a negative counter. The error names the row so
/// that the executor can fail that one execution instead of stopping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt task execution {execution_id}: column `{column}`: {message}")]
pub struct CorruptRow {
    /// Execution id of the row (always readable: it is a non-null text column).
    pub execution_id: String,
    /// The column that failed to convert.
    pub column: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// A row read from storage: either a valid execution or a [`CorruptRow`].
pub type Loaded = Result<TaskExecution, CorruptRow>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_text() {
        for status in ExecutionStatus::ALL {
            assert_eq!(status.as_str().parse::<ExecutionStatus>(), Ok(status));
        }
        assert_eq!(
            "bogus".parse::<ExecutionStatus>(),
            Err(UnknownStatus("bogus".into()))
        );
    }

    #[test]
    fn active_and_finished_partition_the_statuses() {
        let active: Vec<_> = ExecutionStatus::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .collect();
        assert_eq!(active.len(), 5);
        assert!(
            ExecutionStatus::ALL
                .into_iter()
                .all(|s| s.is_active() != s.is_finished())
        );
    }

    #[test]
    fn error_json_shape_is_stable() {
        let error = ExecutionError::timed_out("Task timed out");
        let json = serde_json::to_value(&error).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"kind": "timed_out", "message": "Task timed out", "is_retryable": true, "is_internal": false})
        );
        assert_eq!(error.finished_status(), ExecutionStatus::TimedOut);
    }
}
