//! The storage layer: one [`Storage`] trait, one module per backend.
//!
//! Every method of [`Storage`] is one atomic step of the executor's state
//! machine: one statement or one transaction. Guarded transitions only apply
//! when the execution is still in the state the caller saw (for a running
//! execution: still `running` **and** still owned by the calling executor),
//! so a late result can never overwrite a cancellation or a re-queue.
//!
//! Backends:
//! - [`MemoryStorage`]: in-process, for tests and examples;
//! - [`SqliteStorage`] (feature `sqlite`): an embedded SQLite file;
//! - [`PostgresStorage`] (feature `postgres`): PostgreSQL through a connection pool.
//!
//! All of them pass the same conformance suite: the `conformance` module
//! (feature `conformance`), which a backend written outside this crate runs
//! with one macro call. [`StorageWrapper`] wraps a storage and overrides
//! only what the wrapper changes.

mod close;
mod error;
mod memory;
mod operator;
#[cfg(feature = "postgres")]
pub mod postgres;
mod retention;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row;
pub(crate) mod rules;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod wrap;

pub use close::ClosePlan;
pub use error::StorageError;
pub use memory::MemoryStorage;
pub use operator::{
    BadCursor, ListCursor, ListFilter, ListPage, RERUNNABLE, RerunOutcome, RerunRefusal,
};
#[cfg(feature = "postgres")]
pub use postgres::{PoolOptions, PostgresConfig, PostgresStorage, SslMode, TlsFailure};
pub use retention::{PruneCursor, PruneCutoff, PruneOutcome};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStorage};
pub use wrap::{MethodName, StorageWrapper};

use crate::model::{
    CorruptRow, ExecutionError, ExecutionStatus, Loaded, Millis, NewExecution, TaskExecution,
};
use async_trait::async_trait;

/// The error of a parent whose finalize execution does not exist.
pub(crate) fn missing_finalize_error() -> ExecutionError {
    ExecutionError::generic(
        "The finalize execution of this parent does not exist (its row is missing); \
         the parent was waiting for it and is ended by the maintenance check",
        false,
    )
    .internal()
}

/// Result type of every storage operation.
pub type StorageResult<T> = Result<T, StorageError>;

/// One run of an execution, as its owner knows it: the execution and the
/// attempt its claim gave it. Every write of a run's owner is fenced by both
/// the owner (`executor_id`) and this attempt, so that a run that outlived
/// its lease cannot touch a later attempt, even one this same executor
/// claimed again (docs/design.md, "Leases and fencing").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunRef {
    /// The execution.
    pub execution_id: String,
    /// The attempt of the run ([`TaskExecution::attempt`] of its claim).
    /// `None` only for a claimed row whose attempt could not be read: then
    /// the owner and the status alone guard the write.
    pub attempt: Option<u32>,
}

impl RunRef {
    /// The run of `execution_id` at `attempt`.
    pub fn new(execution_id: impl Into<String>, attempt: u32) -> Self {
        Self {
            execution_id: execution_id.into(),
            attempt: Some(attempt),
        }
    }
}

/// A running execution that ends (`completed`, `failed`, `timed_out` or
/// `cancelled`). Applied only if the execution is still `running`, owned
/// by the calling executor and at the item's attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishItem {
    /// The execution to finish.
    pub execution_id: String,
    /// The attempt of the run (see [`RunRef::attempt`]).
    pub attempt: Option<u32>,
    /// The finished status (must satisfy [`ExecutionStatus::is_finished`]).
    pub status: ExecutionStatus,
    /// The task's own serialized output, when the run succeeded.
    pub run_output: Option<String>,
    /// The final serialized output (only with `completed`).
    pub output: Option<String>,
    /// The error (with every status but `completed`).
    pub error: Option<ExecutionError>,
}

/// A running execution that failed with a retryable error and goes back to
/// `ready`: `attempt + 1`, `start_at` as given, lease and owner cleared.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryItem {
    /// The execution to re-queue.
    pub execution_id: String,
    /// The attempt of the run that failed (see [`RunRef::attempt`]).
    pub attempt: Option<u32>,
    /// The error of the attempt that just failed.
    pub error: ExecutionError,
    /// When the next attempt may start.
    pub start_at: Millis,
}

/// A running parent whose run succeeded and that now waits: for its
/// `children` (status `waiting_for_children_tasks`) or, with no children,
/// for its `finalize` (status `waiting_for_finalize_task`). The children or
/// the finalize are inserted in the same transaction, and only if the guarded
/// update matched.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitItem {
    /// The parent execution.
    pub execution_id: String,
    /// The attempt of the parent's run (see [`RunRef::attempt`]).
    pub attempt: Option<u32>,
    /// The parent's own serialized output.
    pub run_output: String,
    /// Children to spawn, in order (their `parent.index` is their position).
    pub children: Vec<NewExecution>,
    /// The finalize execution, used only when `children` is empty.
    pub finalize: Option<NewExecution>,
}

impl WaitItem {
    /// What the item inserts: its children, or its finalize when it has no
    /// children.
    pub(crate) fn inserts(&self) -> &[NewExecution] {
        if self.children.is_empty() {
            self.finalize.as_slice()
        } else {
            &self.children
        }
    }
}

/// What happens to a parent whose children have all completed (status
/// `waiting_for_children_tasks` with `active_children_count = 0`).
#[derive(Debug, Clone, PartialEq)]
pub enum Advance {
    /// The parent completes with this serialized output.
    Complete {
        /// The final output.
        output: String,
    },
    /// The finalize execution is inserted; the parent moves to
    /// `waiting_for_finalize_task`.
    Finalize {
        /// The finalize execution.
        finalize: NewExecution,
    },
    /// A sequential parent spawns its next step; it stays
    /// `waiting_for_children_tasks` with one active child.
    SpawnNext {
        /// The next child.
        child: NewExecution,
    },
    /// The parent cannot proceed and finishes with this status and error.
    Fail {
        /// A finished status.
        status: ExecutionStatus,
        /// Why.
        error: ExecutionError,
    },
}

/// A guarded step for a parent whose children have all completed.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvanceItem {
    /// The parent execution.
    pub execution_id: String,
    /// What to do.
    pub action: Advance,
}

/// Cancel an execution and its whole subtree (every active descendant).
#[derive(Debug, Clone, PartialEq)]
pub struct CancelItem {
    /// Root of the subtree.
    pub execution_id: String,
    /// The error stored on the root; descendants get it too.
    pub error: ExecutionError,
    /// Whether the root itself is cancelled (false: only its descendants).
    pub include_self: bool,
}

/// What a parent's result needs from one of its regular children (see
/// [`Storage::children_outputs`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ChildOutput {
    /// The child execution.
    pub execution_id: String,
    /// Its position among the parent's children (spawn order).
    pub index: u32,
    /// Its status.
    pub status: ExecutionStatus,
    /// Its serialized final output, when completed.
    pub output: Option<String>,
    /// Its last error, when it finished without completing (what a
    /// finalize that decides receives).
    pub error: Option<ExecutionError>,
}

/// What one [`Storage::close_finished`] call did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloseOutcome {
    /// Finished executions that were closed.
    pub closed: Vec<String>,
    /// Parents whose last active child completed in this step: they are now
    /// `waiting_for_children_tasks` with `active_children_count = 0` and
    /// should be advanced ([`Storage::advance_parents`]).
    pub parents_ready: Vec<String>,
    /// Executions that reached a finished status in this step (parents that
    /// failed or completed through their finalize, cancelled descendants).
    pub newly_finished: Vec<String>,
    /// Finished rows that could not be read (they are in `closed` too):
    /// they were marked closed without effects on their parent or
    /// descendants, so that one bad row never blocks the closer.
    pub corrupt: Vec<CorruptRow>,
}

/// What one [`Storage::expire_leases`] call did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpireOutcome {
    /// Executions put back to `ready` (retry budget left).
    pub requeued: Vec<String>,
    /// Executions failed with `Task expired` (retry budget exhausted).
    pub failed: Vec<String>,
    /// Sleeping executions whose deadline passed before a wake: `timed_out`
    /// with the error `Sleeping task timed out` (docs/design.md "Sleeping
    /// tasks").
    pub timed_out: Vec<String>,
}

/// How [`Storage::wake`] finishes a sleeping execution.
#[derive(Debug, Clone, PartialEq)]
pub enum Wake {
    /// `completed` with this serialized (JSON) output (also its run output).
    Completed {
        /// The serialized output.
        output: String,
    },
    /// `failed` with this error.
    Failed {
        /// The stored error.
        error: ExecutionError,
    },
}

/// What [`Storage::wake`] found for a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Woken {
    /// The execution, finished: by this wake, or earlier (by a wake, its
    /// timeout or a cancellation), in which case it is returned unchanged.
    pub execution: TaskExecution,
    /// `true` when this call finished it.
    pub woken: bool,
}

/// What one [`Storage::repair_stuck`] call did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StuckOutcome {
    /// Running executions that had no lease deadline and were given one
    /// (`started_at + timeout + lease slack`); lease expiry recovers them
    /// once it passes, if their run is gone.
    pub leases_restored: Vec<String>,
    /// Parents that waited for a finalize execution that does not exist,
    /// now `finalize_task_failed` (closed like any finished execution).
    pub parents_failed: Vec<String>,
}

/// Rows that would hang without [`Storage::repair_stuck`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StuckCounts {
    /// `running` executions with no lease deadline: lease expiry never
    /// sees them.
    pub running_without_lease: u64,
    /// Parents in `waiting_for_finalize_task` whose finalize execution does
    /// not exist: nothing would ever finish them.
    pub missing_finalize: u64,
}

impl StuckCounts {
    /// The total number of stuck rows.
    pub fn total(&self) -> u64 {
        self.running_without_lease + self.missing_finalize
    }
}

/// Counts for operators.
///
/// Non-exhaustive: read its fields; new fields may be added.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct StorageStats {
    /// `(task_id, status, count)`, sorted by task id then status.
    pub counts: Vec<(String, ExecutionStatus, u64)>,
    /// The earliest `start_at` among `ready` executions.
    pub oldest_ready_start_at: Option<Millis>,
    /// Running executions whose lease has expired (timeout bound or
    /// heartbeat deadline passed).
    pub expired_leases: u64,
    /// Rows that would hang without the maintenance check (see
    /// [`Storage::repair_stuck`]).
    pub stuck: StuckCounts,
    /// Groups of rows that cannot be counted under a known status (a status
    /// that is not one of [`ExecutionStatus`]'s, or, in SQLite, a task id or
    /// status stored as another type than text), in the order the database
    /// grouped them. One bad row never makes the whole call fail: the other
    /// rows are still counted in `counts`. Always empty for
    /// [`MemoryStorage`], which cannot hold such rows.
    pub unreadable: Vec<UnreadableCount>,
}

/// A group of rows [`Storage::stats`] could not count under a known status
/// (see [`StorageStats::unreadable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnreadableCount {
    /// The task id as stored (a value that is not text is described, e.g.
    /// `(blob of 3 bytes)`).
    pub task_id: String,
    /// The status as stored (described like `task_id` when not text).
    pub status: String,
    /// How many rows have this task id and status.
    pub count: u64,
    /// One of those rows' execution id (the oldest), to look at with
    /// `durable show`; `None` when none could be found.
    pub example_execution_id: Option<String>,
}

/// A wake-up sent by a storage when something worth looking at happened.
///
/// Delivered in-process for every backend and across processes by
/// PostgreSQL (`LISTEN/NOTIFY`); SQLite processes that share a file fall back
/// to polling for each other's changes.
///
/// Which operation sends which kind is listed in docs/design.md, "Wake-ups".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageEvent {
    /// New `ready` executions were inserted or re-queued (claimers).
    ReadyWork,
    /// Some execution changed status (finished, cancelled, closed): what
    /// waiting handles look for.
    Changed,
    /// Executions finished outside their owner's run (cancelled, woken,
    /// timed out, recovered, failed by a repair) and wait for a closer to
    /// apply their effects. Always sent together with
    /// [`Changed`](Self::Changed). A run's own finish does not send it: the
    /// executor that wrote the finish wakes its own closer, so that the
    /// closers of every other process are not woken for it (they find such
    /// rows at their poll if that executor dies first).
    CloseWork,
}

/// Most executions an insert claims in [`Storage::insert_and_claim`] on
/// the built-in backends: one statement's worth; a larger insert claims
/// nothing.
pub(crate) const CLAIM_AT_INSERT_MAX: usize = row::INSERT_CHUNK;

/// The rows of a claim made after its insert had committed (the default
/// [`Storage::insert_and_claim`]): a failed claim claims nothing, and the
/// insert stands.
pub(crate) fn claimed_after_insert(claim: StorageResult<Vec<Loaded>>) -> Vec<Loaded> {
    claim.unwrap_or_else(|error| {
        tracing::debug!(error = %error, "the claim after an insert failed; the insert stands");
        Vec::new()
    })
}

/// The storage behind an executor.
///
/// Every method is atomic. Methods that take a list apply one guarded
/// statement per list (batched), and return the ids for which the guard
/// matched.
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug + 'static {
    /// A short name for logs and benchmarks: `memory`, `sqlite` or `postgres`.
    fn backend_name(&self) -> &'static str;

    /// Inserts new `ready` executions. A duplicate execution id fails the
    /// whole call with [`StorageError::DuplicateExecutionId`] and inserts
    /// nothing. An empty list is a no-op.
    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()>;

    /// [`insert`](Self::insert) followed, in the same transaction, by
    /// [`claim_ready`](Self::claim_ready) of up to `limit` executions for
    /// `executor_id`: the claim at enqueue of an executor with free slots
    /// (see `docs/design.md`, "Claiming at enqueue"). It claims new rows
    /// only, due ones (a delayed execution not before its time), and none
    /// while an older row is ready and due: the new executions never go
    /// ahead of older ones (a claimer takes those). The built-in backends
    /// claim nothing in an insert of more than 500 executions (more than
    /// one statement's worth). Returns the claimed rows, oldest `start_at`
    /// first.
    ///
    /// All or nothing: on an error nothing is inserted or claimed. One
    /// commit for both is what makes it worth having: the run of a claimed
    /// execution starts after one durable commit instead of two, and no
    /// other executor is woken for rows it would only find claimed. The
    /// built-in backends do both in one statement and send
    /// [`StorageEvent::ReadyWork`] only
    /// when some of the new executions are left `ready`; `limit = 0` is a
    /// plain insert.
    ///
    /// The default implementation, for other implementors, inserts and then
    /// claims in a second call (any ready rows, oldest first): if that
    /// claim fails, the insert stands and no row is returned (the claimer
    /// finds the rows later).
    async fn insert_and_claim(
        &self,
        executions: &[NewExecution],
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
        lease_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        self.insert(executions).await?;
        if limit == 0 || executions.is_empty() {
            return Ok(Vec::new());
        }
        Ok(claimed_after_insert(
            self.claim_ready(executor_id, now, limit, lease_slack_ms, lease_ms)
                .await,
        ))
    }

    /// Reads executions by id, in the order of `execution_ids`; ids that do
    /// not exist are left out.
    async fn get(&self, execution_ids: &[String]) -> StorageResult<Vec<Loaded>>;

    /// Reads the children of a parent, ordered by index, its finalize (if
    /// any) last.
    async fn get_children(&self, parent_execution_id: &str) -> StorageResult<Vec<Loaded>>;

    /// Reads one page of a parent's regular children (never its finalize)
    /// in spawn order: those whose index is above `after` (every index when
    /// `None`), at most `limit` of them, with only their id, index, status
    /// and output. The executor builds a parent's result from these pages
    /// (keyset pagination: pass the last index of a page as the next
    /// `after`), so that a parent with 100,000 children never holds them all
    /// as full rows.
    ///
    /// The SQL and memory backends read each page through the parent index,
    /// in proportion to the page. This default implementation, for other
    /// implementors, reads every child with [`Storage::get_children`] and
    /// keeps one page; a row that cannot be read is returned in the first
    /// page only (its index is unknown).
    async fn children_outputs(
        &self,
        parent_execution_id: &str,
        after: Option<u32>,
        limit: u32,
    ) -> StorageResult<Vec<Result<ChildOutput, CorruptRow>>> {
        let children = self.get_children(parent_execution_id).await?;
        let mut page: Vec<Result<ChildOutput, CorruptRow>> = children
            .into_iter()
            .filter_map(|child| match child {
                Ok(child) => {
                    let parent = child.parent.as_ref()?;
                    if !rules::in_children_page(parent.is_finalize, parent.index, after) {
                        return None;
                    }
                    Some(Ok(ChildOutput {
                        index: parent.index,
                        execution_id: child.execution_id,
                        status: child.status,
                        output: child.output,
                        error: child.error,
                    }))
                }
                Err(corrupt) => after.is_none().then_some(Err(corrupt)),
            })
            .collect();
        page.sort_by_key(|child| child.as_ref().map_or(0, |c| c.index));
        page.truncate(limit as usize);
        Ok(page)
    }

    /// Claims up to `limit` `ready` executions whose `start_at <= now`,
    /// oldest `start_at` first: sets `running`, the owner, `started_at = now`,
    /// the timeout bound `expires_at = now + timeout_ms + lease_slack_ms`
    /// and the heartbeat deadline `heartbeat_expires_at = now + lease_ms`.
    /// Concurrent claimers never receive the same execution.
    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
        lease_ms: u64,
    ) -> StorageResult<Vec<Loaded>>;

    /// The owner's heartbeat: one batched step that pushes the heartbeat
    /// deadline of each of `runs` to `now + lease_ms`, for the rows still
    /// `running`, owned by `executor_id` and at the run's attempt. Returns
    /// the ids extended; a run whose id is missing is lost (its execution
    /// was recovered, re-claimed, cancelled or finished). It writes nothing
    /// else: on PostgreSQL, a HOT update (no index covers the column).
    async fn heartbeat(
        &self,
        executor_id: &str,
        now: Millis,
        lease_ms: u64,
        runs: &[RunRef],
    ) -> StorageResult<Vec<String>>;

    /// Finishes running executions owned by `executor_id` (at each item's
    /// attempt). A top-level execution without children or finalize is
    /// closed in the same step (`is_closed`, `closed_at = now`): its close
    /// has no effect on any other row, so the closer never visits it; every
    /// other finished execution is left unclosed for
    /// [`Storage::close_finished`] (docs/design.md, "Closing"). The same
    /// rule holds for every transition that finishes an execution
    /// ([`Storage::cancel`], [`Storage::expire_leases`], [`Storage::wake`]).
    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>>;

    /// Re-queues running executions owned by `executor_id` (at each item's
    /// attempt) for a retry.
    async fn retry(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Vec<String>>;

    /// Moves running parents owned by `executor_id` (at each item's attempt)
    /// to a waiting status and
    /// inserts their children or finalize, only for those that matched.
    async fn wait_for_children(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>>;

    /// Gives running executions owned by `executor_id`, at each run's
    /// attempt, back (`ready`, `start_at = now`, owner and lease cleared,
    /// attempt unchanged), used at shutdown for runs that did not finish in
    /// time.
    async fn release(
        &self,
        executor_id: &str,
        now: Millis,
        runs: &[RunRef],
    ) -> StorageResult<Vec<String>>;

    /// Closes up to `limit` finished, unclosed executions in one transaction
    /// (children, finalize executions and parents: a top-level execution
    /// without either was closed by the transition that finished it, see
    /// [`Storage::finish`]) and applies their effects (see [`ClosePlan`]): the atomic countdown of
    /// each parent's active children, failing parents of failed children,
    /// completing or failing parents of finalize executions, and cancelling
    /// the subtrees of executions that did not complete.
    async fn close_finished(&self, now: Millis, limit: u32) -> StorageResult<CloseOutcome>;

    /// Parents in `waiting_for_children_tasks` with no active child left,
    /// least recently updated first.
    async fn ready_parents(&self, limit: u32) -> StorageResult<Vec<Loaded>>;

    /// Applies [`Advance`] steps, each guarded by `waiting_for_children_tasks`
    /// and `active_children_count = 0`; inserts the finalize or next child
    /// only when the guard matched.
    async fn advance_parents(
        &self,
        now: Millis,
        items: &[AdvanceItem],
    ) -> StorageResult<Vec<String>>;

    /// Cancels each active execution of each subtree. Running executions get
    /// `needs_cancel` so that their owner fires the run's token. A cancelled
    /// top-level execution without children is closed at once (see
    /// [`Storage::finish`]). Returns the ids that were cancelled.
    async fn cancel(&self, now: Millis, items: &[CancelItem]) -> StorageResult<Vec<String>>;

    /// Clears `needs_cancel` on up to `limit` executions owned by
    /// `executor_id` and returns their ids.
    async fn claim_cancellations(
        &self,
        executor_id: &str,
        limit: u32,
    ) -> StorageResult<Vec<String>>;

    /// Recovers up to `limit` running executions whose lease expired before
    /// `now` (past their timeout bound `expires_at` or their heartbeat
    /// deadline `heartbeat_expires_at`): back to `ready` with `attempt + 1` and error `Task expired`
    /// while the retry budget allows, otherwise `failed` (closed at once
    /// when top-level without children, see [`Storage::finish`]); also
    /// times out sleeping executions past their deadline.
    async fn expire_leases(&self, now: Millis, limit: u32) -> StorageResult<ExpireOutcome>;

    /// Wakes the sleeping execution of `task_id` with this key: one guarded
    /// step (`status = 'sleeping'`), so that a wake racing a timeout or a
    /// cancellation has exactly one winner. When no sleeping execution has
    /// the key, the most recent execution of `task_id` with it is returned
    /// unchanged (`woken: false`); `None` when there is none (an unknown
    /// key). A wake announces [`StorageEvent::Changed`]. A woken top-level
    /// execution is closed in the same step (see [`Storage::finish`]).
    async fn wake(
        &self,
        task_id: &str,
        key: &str,
        now: Millis,
        wake: &Wake,
    ) -> StorageResult<Option<Woken>>;

    /// Repairs or ends up to `limit` rows of each kind that would otherwise
    /// hang forever (rows written by hand, by a faulty tool or by a bug):
    /// a `running` execution with no lease deadline gets the lease a claim
    /// would have given it (`started_at` (or `now`) + timeout +
    /// `lease_slack_ms`), so that lease expiry recovers it if its run is
    /// gone; a parent waiting for a finalize execution that does not exist
    /// ends `finalize_task_failed` with an error saying so. Each kind is one
    /// guarded statement, index-driven.
    async fn repair_stuck(
        &self,
        now: Millis,
        lease_slack_ms: u64,
        limit: u32,
    ) -> StorageResult<StuckOutcome>;

    /// Counts by task and status, oldest ready, expired leases, stuck rows.
    /// Rows that
    /// cannot be counted under a known status are reported in
    /// [`StorageStats::unreadable`], never as an error of the whole call.
    async fn stats(&self, now: Millis) -> StorageResult<StorageStats>;

    /// Lists executions for operators: those that pass `filter`, newest
    /// first (`created_at` descending, then `execution_id` descending), at
    /// most `limit`, starting after `cursor` (the [`ListPage::next`] of the
    /// previous page; `None` for the first page). Keyset pagination: a
    /// page costs its own size, and rows inserted meanwhile never shift a
    /// later page. A row that cannot be read comes back in its place as a
    /// [`CorruptRow`]. SQL backends walk the `(created_at, execution_id)`
    /// index, or the parent index with
    /// [`ListFilter::parent_execution_id`] (see `docs/design.md`,
    /// "Listing").
    async fn list(
        &self,
        filter: &ListFilter,
        cursor: Option<&ListCursor>,
        limit: u32,
    ) -> StorageResult<ListPage>;

    /// The operator's retry (`durable retry`): one guarded transaction that
    /// puts a top-level execution that finished without completing (one of
    /// [`RERUNNABLE`]) back to `ready` for a fresh run, as if just
    /// enqueued: `attempt` 0, `start_at = now`, its output, errors, lease,
    /// owner, children counters and finalize cleared, and deletes every
    /// descendant of its previous run (children, finalize, their
    /// subtrees), so the new run spawns its own. Anything else is refused
    /// with [`StorageError::RerunRefused`] and nothing changes (see
    /// `docs/design.md`, "Operator retry").
    async fn rerun(&self, now: Millis, execution_id: &str) -> StorageResult<RerunOutcome>;

    /// Retention: deletes up to `limit` finished trees, each in one piece
    /// (see `docs/design.md`, "Retention"). A tree is eligible when its
    /// top-level execution is in a status of `cutoffs`, closed, and
    /// finished before that status's [`PruneCutoff::finished_before`], and
    /// every descendant of it is finished and closed: a tree whose root or
    /// any descendant is still active (or not yet closed) is never touched,
    /// and a child is never deleted without its whole tree. Cutoffs are
    /// taken in the order given (a status listed twice keeps its first
    /// cutoff; active statuses are ignored), each status's candidates
    /// oldest finish first, `limit` roots in all. The deletion is one
    /// transaction per call, index-driven, and safe with concurrent
    /// pruners: each eligible tree is deleted by exactly one of them
    /// (PostgreSQL locks the candidate roots `FOR UPDATE SKIP LOCKED`;
    /// SQLite's writer and the memory backend's lock serialize them), and
    /// a root that changed after the scan (re-run by [`Storage::rerun`]) is
    /// checked again and kept.
    ///
    ///
    /// A pass deletes batch after batch: each call with `after` set to the
    /// previous call's [`PruneOutcome::next`] scans only after the roots
    /// that call deleted, so that a batch costs the same at the end of a
    /// long backlog as at its start; `after: None` starts a pass at the
    /// beginning of every cutoff (see [`PruneCursor`]).
    ///
    /// With `dry_run` nothing is deleted: the call counts the first `limit`
    /// eligible trees (after `after`) and their executions, reading without
    /// locks (a concurrent change can make the real run differ).
    async fn prune(
        &self,
        cutoffs: &[PruneCutoff],
        limit: u32,
        after: Option<PruneCursor>,
        dry_run: bool,
    ) -> StorageResult<PruneOutcome>;

    /// Deletes every execution (tests and benchmarks).
    async fn delete_all(&self) -> StorageResult<u64>;

    /// Subscribes to wake-ups.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StorageEvent>;
}
