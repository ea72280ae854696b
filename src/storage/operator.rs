//! Operator calls: listing executions ([`Storage::list`]) and re-running a
//! finished top-level execution ([`Storage::rerun`]).
//!
//! The rules shared by every backend live here: which rows a
//! [`ListFilter`] keeps, the order and the cursor of a page, and which
//! statuses a rerun accepts (see `docs/design.md`, "Listing" and
//! "Operator retry").
//!
//! [`Storage::list`]: super::Storage::list
//! [`Storage::rerun`]: super::Storage::rerun

use crate::model::{ExecutionStatus, Loaded, Millis, TaskExecution};
use std::fmt;

/// Which executions [`Storage::list`](super::Storage::list) returns. Every
/// field left at its default matches every execution; set fields are
/// combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only executions of this task.
    pub task_id: Option<String>,
    /// Only executions in one of these statuses (empty: any status).
    pub statuses: Vec<ExecutionStatus>,
    /// Only top-level executions (no parent).
    pub root_only: bool,
    /// Only children (and the finalize) of this parent.
    pub parent_execution_id: Option<String>,
    /// Only executions created at or after this time.
    pub created_from: Option<Millis>,
    /// Only executions created before this time.
    pub created_to: Option<Millis>,
    /// Only finished executions that finished at or after this time.
    pub finished_from: Option<Millis>,
    /// Only finished executions that finished before this time.
    pub finished_to: Option<Millis>,
}

impl ListFilter {
    /// A filter that matches every execution.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only executions of `task_id`.
    pub fn task_id(mut self, task_id: impl Into<String>) -> Self {
        self.task_id = Some(task_id.into());
        self
    }

    /// Only executions in one of `statuses`.
    pub fn statuses(mut self, statuses: impl IntoIterator<Item = ExecutionStatus>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// Only top-level executions.
    pub fn root_only(mut self, root_only: bool) -> Self {
        self.root_only = root_only;
        self
    }

    /// Only the children (and finalize) of `parent_execution_id`.
    pub fn parent(mut self, parent_execution_id: impl Into<String>) -> Self {
        self.parent_execution_id = Some(parent_execution_id.into());
        self
    }

    /// Only executions created in `[from, to)` (`None`: unbounded).
    pub fn created(mut self, from: Option<Millis>, to: Option<Millis>) -> Self {
        self.created_from = from;
        self.created_to = to;
        self
    }

    /// Only executions finished in `[from, to)` (`None`: unbounded; any
    /// bound excludes executions that have not finished).
    pub fn finished(mut self, from: Option<Millis>, to: Option<Millis>) -> Self {
        self.finished_from = from;
        self.finished_to = to;
        self
    }

    /// Whether the finished time is unconstrained (no bound set): the
    /// `any_finished` parameter of the listing queries.
    pub(crate) fn any_finished(&self) -> bool {
        self.finished_from.is_none() && self.finished_to.is_none()
    }

    /// Whether `execution` passes the filter (the memory backend; the SQL
    /// backends write the same conditions in `list_executions`).
    pub(crate) fn matches(&self, execution: &TaskExecution) -> bool {
        let parent = execution.parent.as_ref().map(|p| p.execution_id.as_str());
        self.task_id
            .as_deref()
            .is_none_or(|t| execution.task_id == t)
            && (self.statuses.is_empty() || self.statuses.contains(&execution.status))
            && (!self.root_only || parent.is_none())
            && self
                .parent_execution_id
                .as_deref()
                .is_none_or(|p| parent == Some(p))
            && self.created_from.is_none_or(|t| execution.created_at >= t)
            && self.created_to.is_none_or(|t| execution.created_at < t)
            && (self.any_finished()
                || execution.finished_at.is_some_and(|f| {
                    self.finished_from.is_none_or(|t| f >= t)
                        && self.finished_to.is_none_or(|t| f < t)
                }))
    }
}

/// Where a page of [`Storage::list`](super::Storage::list) starts: after
/// the last execution of the previous page, in the listing order (newest
/// first: `created_at` descending, then `execution_id` descending).
///
/// Opaque for operators: [`ListCursor::encode`] gives the text the CLI
/// prints and [`ListCursor::decode`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub(crate) created_at: Millis,
    pub(crate) execution_id: String,
}

impl ListCursor {
    /// The cursor after `execution` (the last one of a page).
    pub(crate) fn after(created_at: Millis, execution_id: &str) -> Self {
        Self {
            created_at,
            execution_id: execution_id.to_owned(),
        }
    }

    /// `(before_created_at, before_execution_id)` of the keyset condition:
    /// for the first page, a key above every row.
    pub(crate) fn bounds(cursor: Option<&ListCursor>) -> (Millis, &str) {
        cursor.map_or((Millis::MAX, ""), |c| (c.created_at, &c.execution_id))
    }

    /// Whether a row with this key comes after the cursor (is listed on a
    /// later page than the cursor's row).
    pub(crate) fn admits(
        cursor: Option<&ListCursor>,
        created_at: Millis,
        execution_id: &str,
    ) -> bool {
        cursor.is_none_or(|c| (created_at, execution_id) < (c.created_at, c.execution_id.as_str()))
    }

    /// The cursor as text: `<created_at>.<execution_id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.execution_id)
    }

    /// Reads a cursor written by [`ListCursor::encode`].
    pub fn decode(text: &str) -> Result<Self, BadCursor> {
        let (created_at, execution_id) = text.split_once('.').ok_or(BadCursor)?;
        let created_at = created_at.parse().map_err(|_| BadCursor)?;
        if execution_id.is_empty() {
            return Err(BadCursor);
        }
        Ok(Self::after(created_at, execution_id))
    }
}

impl fmt::Display for ListCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// A cursor text that [`ListCursor::decode`] cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a listing cursor (expected the `next` value of a previous page)")]
pub struct BadCursor;

/// One page of [`Storage::list`](super::Storage::list).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListPage {
    /// The executions of the page, newest first; a row that cannot be read
    /// is a [`CorruptRow`](crate::model::CorruptRow) in its place.
    pub executions: Vec<Loaded>,
    /// Where the next page starts; `None` when this page is the last one
    /// (fewer rows than the limit).
    pub next: Option<ListCursor>,
}

/// What one [`Storage::rerun`](super::Storage::rerun) call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RerunOutcome {
    /// The execution put back to `ready`.
    pub execution_id: String,
    /// The descendants of its previous run that were deleted.
    pub deleted_descendants: u64,
}

/// Why [`Storage::rerun`](super::Storage::rerun) refused an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RerunRefusal {
    /// No execution has this id.
    NotFound,
    /// The execution has a parent: only top-level executions are re-run
    /// (re-run the root of its tree).
    NotTopLevel {
        /// The root execution of its tree, when known.
        root_execution_id: Option<String>,
    },
    /// The execution's status does not allow a re-run: it is still active,
    /// or it completed.
    Status(ExecutionStatus),
    /// The execution's row cannot be read.
    Unreadable,
}

impl fmt::Display for RerunRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such execution"),
            Self::NotTopLevel {
                root_execution_id: Some(root),
            } => write!(f, "it is not a top-level execution (retry its root {root})"),
            Self::NotTopLevel { .. } => f.write_str("it is not a top-level execution"),
            Self::Status(status) if status.is_active() => write!(
                f,
                "it is still {} (cancel it first, or wait for it to finish)",
                status.as_str()
            ),
            Self::Status(status) => write!(
                f,
                "its status is {}; only {} executions are retried",
                status.as_str(),
                RERUNNABLE.map(ExecutionStatus::as_str).join(", ")
            ),
            Self::Unreadable => f.write_str("its row cannot be read"),
        }
    }
}

/// The statuses [`Storage::rerun`](super::Storage::rerun) accepts: every
/// finished status but `completed` (the spec's `rerun_root` lists the
/// same).
pub const RERUNNABLE: [ExecutionStatus; 5] = [
    ExecutionStatus::Failed,
    ExecutionStatus::TimedOut,
    ExecutionStatus::ChildrenTasksFailed,
    ExecutionStatus::FinalizeTaskFailed,
    ExecutionStatus::Cancelled,
];

/// Why a rerun that matched nothing was refused, from the row as read
/// (`None`: no such row).
pub(crate) fn refusal(row: Option<&Loaded>) -> RerunRefusal {
    match row {
        None => RerunRefusal::NotFound,
        Some(Err(_)) => RerunRefusal::Unreadable,
        Some(Ok(execution)) if execution.parent.is_some() => RerunRefusal::NotTopLevel {
            root_execution_id: execution.root.as_ref().map(|r| r.execution_id.clone()),
        },
        Some(Ok(execution)) => RerunRefusal::Status(execution.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = ListCursor::after(1_700_000_000_123, "te_abc.def");
        assert_eq!(ListCursor::decode(&cursor.encode()), Ok(cursor));
        assert_eq!(ListCursor::decode("nope"), Err(BadCursor));
        assert_eq!(ListCursor::decode("12."), Err(BadCursor));
        assert_eq!(ListCursor::decode("x.te_a"), Err(BadCursor));
    }

    #[test]
    fn cursor_admits_only_later_rows() {
        let c = ListCursor::after(10, "te_b");
        assert!(ListCursor::admits(Some(&c), 9, "te_z"));
        assert!(ListCursor::admits(Some(&c), 10, "te_a"));
        assert!(!ListCursor::admits(Some(&c), 10, "te_b"));
        assert!(!ListCursor::admits(Some(&c), 11, "te_a"));
        assert!(ListCursor::admits(None, Millis::MAX - 1, ""));
    }

    #[test]
    fn filter_matches() {
        let e = TaskExecution {
            task_id: "t".into(),
            status: ExecutionStatus::Failed,
            created_at: 5,
            finished_at: Some(7),
            ..TaskExecution::default()
        };
        assert!(ListFilter::new().matches(&e));
        assert!(ListFilter::new().task_id("t").root_only(true).matches(&e));
        assert!(!ListFilter::new().task_id("u").matches(&e));
        assert!(!ListFilter::new().parent("te_p").matches(&e));
        assert!(
            ListFilter::new()
                .statuses([ExecutionStatus::Failed])
                .matches(&e)
        );
        assert!(
            !ListFilter::new()
                .statuses([ExecutionStatus::Ready])
                .matches(&e)
        );
        assert!(ListFilter::new().created(Some(5), Some(6)).matches(&e));
        assert!(!ListFilter::new().created(None, Some(5)).matches(&e));
        assert!(ListFilter::new().finished(Some(7), None).matches(&e));
        assert!(!ListFilter::new().finished(Some(8), None).matches(&e));
        let ready = TaskExecution {
            finished_at: None,
            ..e
        };
        assert!(!ListFilter::new().finished(None, Some(100)).matches(&ready));
    }
}
