//! The operations of [`Storage`](super::super::Storage) for the SQL
//! backends, each written once over [`Queries`] (see the [seam](super)).
//!
//! | operation | statements, in one transaction where [`Op::transaction`] |
//! |---|---|
//! | [`Insert`] | `insert_executions` per chunk of [`row::INSERT_CHUNK`] rows |
//! | [`Claim`] | `claim_ready`, rows ordered by `start_at` (unreadable last) |
//! | [`InsertClaim`] | `insert_claimed_executions` (one statement; more rows than it takes: the [`Insert`], claiming nothing) |
//! | [`Finish`], [`Retry`], [`Release`], [`Heartbeat`], [`Cancel`], [`ClaimCancellations`] | one guarded statement |
//! | [`Wait`] | `start_waiting`, then the inserts of the parents that matched |
//! | [`Close`] | `claim_unclosed`, then the [`ClosePlan`] ([`apply_close_plan`]) |
//! | [`AdvanceParents`] | `advance_parents`, then the finalize or next child of the parents that matched |
//! | [`Expire`] | `expire_leases`, split into re-queued and failed, then `expire_sleeping` |
//! | [`WakeSleeping`] | `wake_sleeping` (one guarded statement), else `get_by_sleeping_key` |
//! | [`Repair`] | `repair_missing_leases`, `fail_missing_finalize` |
//! | [`Stats`] | the counts, an example row per unreadable group |
//! | [`Get`], [`GetChildren`], [`ChildrenOutputs`], [`ReadyParents`], [`DeleteAll`] | one read (or delete) |
//! | [`List`] | `list_children_of` with a parent filter, else `list_executions` |
//! | [`Rerun`] | `rerun_root`, then `delete_descendants` (or a read that says why it was refused) |
//! | [`Prune`] | `prune_roots` per cutoff from the pass's keyset bound, then `delete_pruned_descendants` of the roots deleted |
//! | [`CountPrunable`] | `count_prunable` per cutoff (a dry run: reads only) |

use super::{Access, CountGroup, Dialect, Inserts, Json, ListParams, Op, Queries};
use crate::model::{CorruptRow, ExecutionStatus, Loaded, Millis, NewExecution, TaskExecution};
use crate::storage::operator;
use crate::storage::retention;
use crate::storage::row::{self, RawRow};
use crate::storage::rules::{self, Wakeups};
use crate::storage::{
    AdvanceItem, CancelItem, ChildOutput, CloseOutcome, ClosePlan, ExpireOutcome, FinishItem,
    ListCursor, ListFilter, ListPage, PruneCursor, PruneCutoff, PruneOutcome, RerunOutcome,
    RetryItem, RunRef, StorageError, StorageResult, StorageStats, StuckCounts, StuckOutcome,
    UnreadableCount, WaitItem, Wake, Woken,
};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The names of an operation's transaction in its errors.
macro_rules! named {
    ($name:literal) => {
        const BEGIN: &'static str = concat!("begin ", $name);
        const COMMIT: &'static str = concat!("commit ", $name);
    };
}

fn json<Q: Queries>(value: Value) -> Json<Q> {
    <Q::Dialect as Dialect>::json(value)
}

fn loaded(rows: super::Rows) -> Vec<Loaded> {
    rows.into_iter()
        .map(|r| r.and_then(RawRow::into_loaded))
        .collect()
}

fn limit_i64(limit: u32) -> i64 {
    i64::from(limit)
}

/// [`Storage::insert`](crate::storage::Storage::insert).
#[derive(Debug)]
pub(crate) struct Insert<'a, D: Dialect> {
    inserts: Inserts<'a, D::Chunk>,
    // Read by the PostgreSQL runner only.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    rows: usize,
}

impl<'a, D: Dialect> Insert<'a, D> {
    /// `prepare` prepares the executions for the dialect (after the check
    /// for duplicates among them).
    pub(crate) fn new<'e>(
        executions: &'e [NewExecution],
        prepare: impl FnOnce(&'e [NewExecution]) -> StorageResult<Inserts<'a, D::Chunk>>,
    ) -> StorageResult<Option<Self>> {
        if executions.is_empty() {
            return Ok(None);
        }
        if let Some(execution_id) = row::duplicate_within(executions) {
            return Err(StorageError::DuplicateExecutionId { execution_id });
        }
        Ok(Some(Self {
            inserts: prepare(executions)?,
            rows: executions.len(),
        }))
    }
}

impl<D: Dialect> Op<D> for Insert<'_, D> {
    type Output = ();
    const ACCESS: Access = Access::Write;
    named!("insert");

    /// Several statements: one transaction, so that all or none land.
    fn transaction(&self) -> bool {
        self.rows > row::INSERT_CHUNK
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<()> {
        queries.insert(vec![self.inserts]).await
    }

    fn wakeups(_: &()) -> Wakeups {
        Wakeups::ready_if(true)
    }
}

/// [`Storage::insert_and_claim`](crate::storage::Storage::insert_and_claim):
/// the [`Insert`], then the [`Claim`] (if any), in one transaction.
pub(crate) struct InsertClaim<'a, D: Dialect> {
    insert: Insert<'a, D>,
    claim: Option<Claim>,
    /// The ids inserted, to tell whether the claim left any of them ready.
    ids: Vec<String>,
}

/// What [`InsertClaim`] did.
#[derive(Debug, Default)]
pub(crate) struct InsertClaimed {
    /// The rows claimed (the new ones, or older ready ones first).
    pub(crate) claimed: Vec<Loaded>,
    /// Some of the new executions are still `ready`: other executors are
    /// to be woken for them.
    left_ready: bool,
}

impl<'a, D: Dialect> InsertClaim<'a, D> {
    /// `claim` is `None` for a plain insert (no free slot).
    pub(crate) fn new<'e>(
        executions: &'e [NewExecution],
        prepare: impl FnOnce(&'e [NewExecution]) -> StorageResult<Inserts<'a, D::Chunk>>,
        claim: Option<Claim>,
    ) -> StorageResult<Option<Self>> {
        let Some(insert) = Insert::new(executions, prepare)? else {
            return Ok(None);
        };
        // One statement or none: a larger insert claims nothing.
        let claim = claim.filter(|_| executions.len() <= crate::storage::CLAIM_AT_INSERT_MAX);
        Ok(Some(Self {
            insert,
            claim,
            ids: executions.iter().map(|e| e.execution_id.clone()).collect(),
        }))
    }
}

impl<D: Dialect> Op<D> for InsertClaim<'_, D> {
    type Output = InsertClaimed;
    const ACCESS: Access = Access::Write;
    named!("insert_and_claim");

    /// A claim commits with its insert in one statement
    /// (`insert_claimed_executions`); a plain insert is the [`Insert`].
    fn transaction(&self) -> bool {
        self.claim.is_none() && Op::<D>::transaction(&self.insert)
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<InsertClaimed> {
        let Some(claim) = self.claim else {
            queries.insert(vec![self.insert.inserts]).await?;
            return Ok(InsertClaimed {
                claimed: Vec::new(),
                left_ready: true,
            });
        };
        let rows = queries
            .insert_claimed(self.insert.inserts, claim.params())
            .await?;
        // The rows claimed: `running` (the statement returns the rows it
        // left ready too).
        let mut claimed: super::Rows = rows
            .into_iter()
            .filter(|r| r.as_ref().map_or(true, |r| r.status == "running"))
            .collect();
        claimed.sort_by_key(|r| r.as_ref().map_or(i64::MAX, |r| r.start_at));
        let claimed = loaded(claimed);
        let taken: HashSet<&str> = claimed
            .iter()
            .map(|row| match row {
                Ok(e) => e.execution_id.as_str(),
                Err(corrupt) => corrupt.execution_id.as_str(),
            })
            .collect();
        let left_ready = self.ids.iter().any(|id| !taken.contains(id.as_str()));
        Ok(InsertClaimed {
            claimed,
            left_ready,
        })
    }

    fn wakeups(output: &InsertClaimed) -> Wakeups {
        Wakeups::ready_if(output.left_ready)
    }
}

/// [`Storage::get`](crate::storage::Storage::get).
#[derive(Debug)]
pub(crate) struct Get<D: Dialect> {
    ids: Vec<String>,
    json: D::Json,
}

impl<D: Dialect> Get<D> {
    pub(crate) fn new(execution_ids: &[String]) -> Option<Self> {
        (!execution_ids.is_empty()).then(|| Self {
            json: D::json(row::ids_json(execution_ids)),
            ids: execution_ids.to_vec(),
        })
    }
}

impl<D: Dialect> Op<D> for Get<D> {
    type Output = Vec<Loaded>;
    const ACCESS: Access = Access::Read;
    named!("get_executions");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Vec<Loaded>> {
        let rows = queries.get_executions(self.json).await?;
        let mut by_id: HashMap<String, Loaded> = HashMap::with_capacity(rows.len());
        for loaded in loaded(rows) {
            let id = match &loaded {
                Ok(e) => e.execution_id.clone(),
                Err(corrupt) => corrupt.execution_id.clone(),
            };
            by_id.insert(id, loaded);
        }
        Ok(self.ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }
}

/// [`Storage::get_children`](crate::storage::Storage::get_children).
#[derive(Debug)]
pub(crate) struct GetChildren {
    parent: String,
}

impl GetChildren {
    pub(crate) fn new(parent_execution_id: &str) -> Option<Self> {
        Some(Self {
            parent: parent_execution_id.to_owned(),
        })
    }
}

impl<D: Dialect> Op<D> for GetChildren {
    type Output = Vec<Loaded>;
    const ACCESS: Access = Access::Read;
    named!("get_children");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Vec<Loaded>> {
        Ok(loaded(queries.get_children(&self.parent).await?))
    }
}

/// [`Storage::children_outputs`](crate::storage::Storage::children_outputs).
#[derive(Debug)]
pub(crate) struct ChildrenOutputs {
    parent: String,
    after_index: i32,
    limit: i64,
}

impl ChildrenOutputs {
    pub(crate) fn new(parent_execution_id: &str, after: Option<u32>, limit: u32) -> Option<Self> {
        (limit > 0).then(|| Self {
            parent: parent_execution_id.to_owned(),
            after_index: row::after_index(after),
            limit: limit_i64(limit),
        })
    }
}

impl<D: Dialect> Op<D> for ChildrenOutputs {
    type Output = Vec<Result<ChildOutput, CorruptRow>>;
    const ACCESS: Access = Access::Read;
    named!("get_children_outputs");

    /// A page read in the parent index's order.
    fn transaction(&self) -> bool {
        true
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Self::Output> {
        queries
            .get_children_outputs(&self.parent, self.after_index, self.limit)
            .await
    }
}

/// [`Storage::claim_ready`](crate::storage::Storage::claim_ready).
#[derive(Debug)]
pub(crate) struct Claim {
    executor_id: String,
    now: Millis,
    lease_slack_ms: i64,
    lease_ms: i64,
    limit: i64,
}

impl Claim {
    pub(crate) fn new(
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
        lease_ms: u64,
    ) -> Option<Self> {
        (limit > 0).then(|| Self {
            executor_id: executor_id.to_owned(),
            now,
            lease_slack_ms: i64::try_from(lease_slack_ms).unwrap_or(i64::MAX),
            lease_ms: i64::try_from(lease_ms).unwrap_or(i64::MAX),
            limit: limit_i64(limit),
        })
    }
}

impl Claim {
    fn params(&self) -> super::ClaimParams<'_> {
        super::ClaimParams {
            executor_id: &self.executor_id,
            now: self.now,
            lease_slack_ms: self.lease_slack_ms,
            lease_ms: self.lease_ms,
            limit: self.limit,
        }
    }
}

impl<D: Dialect> Op<D> for Claim {
    type Output = Vec<Loaded>;
    const ACCESS: Access = Access::Write;
    named!("claim_ready");

    /// The claim reads the ready index in its order.
    fn transaction(&self) -> bool {
        true
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Vec<Loaded>> {
        let mut rows = queries
            .claim_ready(
                &self.executor_id,
                self.now,
                self.lease_slack_ms,
                self.lease_ms,
                self.limit,
            )
            .await?;
        // Oldest first; unreadable rows last (their start_at may be
        // unreadable too).
        rows.sort_by_key(|r| r.as_ref().map_or(i64::MAX, |r| r.start_at));
        Ok(loaded(rows))
    }
}

/// The arguments of a guarded statement on executions owned by one
/// executor ([`Finish`], [`Retry`], [`Release`]).
#[derive(Debug)]
struct Owned<J> {
    executor_id: String,
    now: Millis,
    json: J,
}

impl<J> Owned<J> {
    fn new(executor_id: &str, now: Millis, json: J) -> Self {
        Self {
            executor_id: executor_id.to_owned(),
            now,
            json,
        }
    }
}

/// A guarded statement on executions owned by one executor: the struct,
/// and its [`Op`] returning the ids that matched.
macro_rules! owned_op {
    ($(#[$doc:meta])* $op:ident, $name:literal, $query:ident, $wakeups:path) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $op<D: Dialect>(Owned<D::Json>);

        impl<D: Dialect> Op<D> for $op<D> {
            type Output = Vec<String>;
            const ACCESS: Access = Access::Write;
            named!($name);

            async fn run<Q: Queries<Dialect = D>>(
                self,
                queries: &Q,
            ) -> StorageResult<Vec<String>> {
                let Owned {
                    executor_id,
                    now,
                    json,
                } = self.0;
                queries.$query(&executor_id, now, json).await
            }

            fn wakeups(matched: &Vec<String>) -> Wakeups {
                $wakeups(!matched.is_empty())
            }
        }
    };
}

owned_op!(
    /// [`Storage::finish`](crate::storage::Storage::finish).
    Finish, "finish_executions", finish_executions, Wakeups::followed_up_if
);
owned_op!(
    /// [`Storage::retry`](crate::storage::Storage::retry).
    Retry, "retry_executions", retry_executions, Wakeups::ready_if
);
owned_op!(
    /// [`Storage::release`](crate::storage::Storage::release).
    Release, "release_executions", release_executions, Wakeups::ready_if
);

impl<D: Dialect> Finish<D> {
    pub(crate) fn new(
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Option<Self>> {
        if items.is_empty() {
            return Ok(None);
        }
        let json = D::json(row::finish_json(items)?);
        Ok(Some(Self(Owned::new(executor_id, now, json))))
    }
}

impl<D: Dialect> Retry<D> {
    pub(crate) fn new(
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Option<Self>> {
        if items.is_empty() {
            return Ok(None);
        }
        let json = D::json(row::retry_json(items)?);
        Ok(Some(Self(Owned::new(executor_id, now, json))))
    }
}

impl<D: Dialect> Release<D> {
    pub(crate) fn new(executor_id: &str, now: Millis, runs: &[RunRef]) -> Option<Self> {
        (!runs.is_empty())
            .then(|| Self(Owned::new(executor_id, now, D::json(row::runs_json(runs)))))
    }
}

/// [`Storage::heartbeat`](crate::storage::Storage::heartbeat): one guarded
/// statement that writes only the heartbeat deadline.
#[derive(Debug)]
pub(crate) struct Heartbeat<D: Dialect> {
    owned: Owned<D::Json>,
    lease_ms: i64,
}

impl<D: Dialect> Heartbeat<D> {
    pub(crate) fn new(
        executor_id: &str,
        now: Millis,
        lease_ms: u64,
        runs: &[RunRef],
    ) -> Option<Self> {
        (!runs.is_empty()).then(|| Self {
            owned: Owned::new(executor_id, now, D::json(row::runs_json(runs))),
            lease_ms: i64::try_from(lease_ms).unwrap_or(i64::MAX),
        })
    }
}

impl<D: Dialect> Op<D> for Heartbeat<D> {
    type Output = Vec<String>;
    const ACCESS: Access = Access::Write;
    named!("heartbeat_executions");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Vec<String>> {
        let Owned {
            executor_id,
            now,
            json,
        } = self.owned;
        queries
            .heartbeat_executions(&executor_id, now, self.lease_ms, json)
            .await
    }
}

/// [`Storage::wait_for_children`](crate::storage::Storage::wait_for_children):
/// the guarded move to a waiting status and the inserts of the children
/// (or finalize) of the parents that matched, all or nothing: never a
/// waiting parent with missing children.
#[derive(Debug)]
pub(crate) struct Wait<'a, D: Dialect> {
    start: Owned<D::Json>,
    /// Per parent, what it inserts.
    inserts: Vec<(String, Inserts<'a, D::Chunk>)>,
}

impl<'a, D: Dialect> Wait<'a, D> {
    /// `prepare` prepares each parent's inserts for the dialect.
    pub(crate) fn new<'e>(
        executor_id: &str,
        now: Millis,
        items: &'e [WaitItem],
        mut prepare: impl FnMut(&'e [NewExecution]) -> StorageResult<Inserts<'a, D::Chunk>>,
    ) -> StorageResult<Option<Self>> {
        if items.is_empty() {
            return Ok(None);
        }
        if D::EARLY_WAIT_DUPLICATES
            && let Some(execution_id) = row::duplicate_in_waits(items)
        {
            return Err(StorageError::DuplicateExecutionId { execution_id });
        }
        let json = D::json(row::wait_json(items));
        let mut inserts = Vec::with_capacity(items.len());
        for item in items {
            inserts.push((item.execution_id.clone(), prepare(item.inserts())?));
        }
        Ok(Some(Self {
            start: Owned::new(executor_id, now, json),
            inserts,
        }))
    }
}

impl<D: Dialect> Op<D> for Wait<'_, D> {
    type Output = Vec<String>;
    const ACCESS: Access = Access::Write;
    named!("wait_for_children");

    fn transaction(&self) -> bool {
        true
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Vec<String>> {
        let Owned {
            executor_id,
            now,
            json,
        } = self.start;
        let matched = queries.start_waiting(&executor_id, now, json).await?;
        let guarded: HashSet<&str> = matched.iter().map(String::as_str).collect();
        let inserts = self
            .inserts
            .into_iter()
            .filter(|(parent, _)| guarded.contains(parent.as_str()))
            .map(|(_, inserts)| inserts)
            .collect();
        queries.insert(inserts).await?;
        Ok(matched)
    }

    fn wakeups(matched: &Vec<String>) -> Wakeups {
        Wakeups::ready_if(!matched.is_empty())
    }
}

/// [`Storage::close_finished`](crate::storage::Storage::close_finished).
#[derive(Debug)]
pub(crate) struct Close {
    now: Millis,
    limit: i64,
}

impl Close {
    pub(crate) fn new(now: Millis, limit: u32) -> Option<Self> {
        (limit > 0).then(|| Self {
            now,
            limit: limit_i64(limit),
        })
    }
}

impl<D: Dialect> Op<D> for Close {
    type Output = CloseOutcome;
    const ACCESS: Access = Access::Write;
    named!("close_finished");

    fn transaction(&self) -> bool {
        true
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<CloseOutcome> {
        let mut rows = queries.claim_unclosed(self.now, self.limit).await?;
        rows.sort_by_key(|r| r.as_ref().map_or(None, |r| r.finished_at));
        let mut outcome = CloseOutcome::default();
        let mut finished: Vec<TaskExecution> = Vec::with_capacity(rows.len());
        for r in rows {
            // A row that cannot be read is closed too, without effects on
            // its parent or descendants: one bad row never blocks the closer.
            let loaded = match r {
                Ok(r) => {
                    outcome.closed.push(r.execution_id().to_owned());
                    r.into_loaded()
                }
                Err(corrupt) => {
                    outcome.closed.push(corrupt.execution_id.clone());
                    Err(corrupt)
                }
            };
            match loaded {
                Ok(execution) => finished.push(execution),
                Err(corrupt) => outcome.corrupt.push(corrupt),
            }
        }
        if outcome.closed.is_empty() {
            return Ok(outcome);
        }
        let plan = ClosePlan::new(&finished);
        let effects_at = crate::storage::rules::close_effects_at(self.now, &finished);
        apply_close_plan(queries, effects_at, &plan, &mut outcome).await?;
        Ok(outcome)
    }

    fn wakeups(outcome: &CloseOutcome) -> Wakeups {
        // The closer that closed goes on with what it found (see
        // `close_step` in the executor), so no other closer is woken.
        Wakeups::followed_up_if(
            !outcome.parents_ready.is_empty() || !outcome.newly_finished.is_empty(),
        )
    }
}

/// Applies a close plan inside the closer's transaction: every parent the
/// plan touches is locked first, in execution-id order (two closers never
/// deadlock on shared parents), then each kind of effect is one statement
/// (the countdown of active children an atomic update).
pub(crate) async fn apply_close_plan<Q: Queries>(
    queries: &Q,
    now: Millis,
    plan: &ClosePlan,
    outcome: &mut CloseOutcome,
) -> StorageResult<()> {
    let parents: BTreeSet<&String> = plan
        .decrements
        .keys()
        .chain(plan.child_failures.keys())
        .chain(plan.finalize_completions.keys())
        .chain(plan.finalize_failures.keys())
        .collect();
    let mut before: HashMap<String, String> = HashMap::new();
    if !parents.is_empty() {
        let ids: Vec<String> = parents.into_iter().cloned().collect();
        before.extend(
            queries
                .lock_executions(json::<Q>(row::ids_json(&ids)))
                .await?,
        );
    }
    if !plan.decrements.is_empty() {
        let rows = queries
            .decrement_active_children(now, json::<Q>(row::decrements_json(&plan.decrements)))
            .await?;
        let mut ready: Vec<String> = rows
            .into_iter()
            .filter(|(_, active)| *active == 0)
            .map(|(id, _)| id)
            .collect();
        ready.sort();
        outcome.parents_ready.extend(ready);
    }
    if !plan.child_failures.is_empty() {
        queries
            .record_children_failures(
                now,
                json::<Q>(row::child_failures_json(&plan.child_failures)?),
            )
            .await?;
        let waiting = ExecutionStatus::WaitingForChildrenTasks.as_str();
        outcome.newly_finished.extend(
            plan.child_failures
                .keys()
                .filter(|id| before.get(*id).map(String::as_str) == Some(waiting))
                .cloned(),
        );
    }
    if !plan.finalize_completions.is_empty() {
        let ids = queries
            .complete_from_finalize(
                now,
                json::<Q>(row::finalize_completions_json(&plan.finalize_completions)),
            )
            .await?;
        outcome.newly_finished.extend(ids);
    }
    if !plan.finalize_failures.is_empty() {
        let ids = queries
            .fail_from_finalize(
                now,
                json::<Q>(row::finalize_failures_json(&plan.finalize_failures)?),
            )
            .await?;
        outcome.newly_finished.extend(ids);
    }
    if !plan.cancel_subtrees.is_empty() {
        let ids = queries
            .cancel_subtrees(now, json::<Q>(row::cancel_json(&plan.cancel_subtrees)?))
            .await?;
        outcome.newly_finished.extend(ids);
    }
    Ok(())
}

/// [`Storage::ready_parents`](crate::storage::Storage::ready_parents).
#[derive(Debug)]
pub(crate) struct ReadyParents {
    limit: i64,
}

impl ReadyParents {
    pub(crate) fn new(limit: u32) -> Option<Self> {
        (limit > 0).then(|| Self {
            limit: limit_i64(limit),
        })
    }
}

impl<D: Dialect> Op<D> for ReadyParents {
    type Output = Vec<Loaded>;
    const ACCESS: Access = Access::Read;
    named!("ready_parents");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Vec<Loaded>> {
        Ok(loaded(queries.ready_parents(self.limit).await?))
    }
}

/// [`Storage::advance_parents`](crate::storage::Storage::advance_parents):
/// the guarded steps, then the finalize or next child of each parent that
/// matched. The output is the matched ids and whether anything was
/// inserted.
#[derive(Debug)]
pub(crate) struct AdvanceParents<D: Dialect> {
    now: Millis,
    json: D::Json,
    items: Vec<AdvanceItem>,
}

impl<D: Dialect> AdvanceParents<D> {
    pub(crate) fn new(now: Millis, items: &[AdvanceItem]) -> StorageResult<Option<Self>> {
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            now,
            json: D::json(row::advance_json(items)?),
            items: items.to_vec(),
        }))
    }
}

impl<D: Dialect> Op<D> for AdvanceParents<D> {
    type Output = (Vec<String>, bool);
    const ACCESS: Access = Access::Write;
    named!("advance_parents");

    fn transaction(&self) -> bool {
        true
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Self::Output> {
        let matched = queries.advance_parents(self.now, self.json).await?;
        let inserts = row::advance_inserts(&self.items, &matched);
        queries.insert_new(&inserts).await?;
        Ok((matched, !inserts.is_empty()))
    }

    fn wakeups((matched, inserted): &Self::Output) -> Wakeups {
        // The advancing closer closes the parents it finished at its next
        // pass, so no other closer is woken for them.
        Wakeups {
            ready: *inserted,
            ..Wakeups::followed_up_if(!matched.is_empty())
        }
    }
}

/// [`Storage::cancel`](crate::storage::Storage::cancel).
#[derive(Debug)]
pub(crate) struct Cancel<D: Dialect> {
    now: Millis,
    json: D::Json,
}

impl<D: Dialect> Cancel<D> {
    pub(crate) fn new(now: Millis, items: &[CancelItem]) -> StorageResult<Option<Self>> {
        if items.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            now,
            json: D::json(row::cancel_json(items)?),
        }))
    }
}

impl<D: Dialect> Op<D> for Cancel<D> {
    type Output = Vec<String>;
    const ACCESS: Access = Access::Write;
    named!("cancel_subtrees");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Vec<String>> {
        queries.cancel_subtrees(self.now, self.json).await
    }

    fn wakeups(cancelled: &Vec<String>) -> Wakeups {
        Wakeups::changed_if(!cancelled.is_empty())
    }
}

/// [`Storage::claim_cancellations`](crate::storage::Storage::claim_cancellations).
#[derive(Debug)]
pub(crate) struct ClaimCancellations {
    executor_id: String,
    limit: i64,
}

impl ClaimCancellations {
    pub(crate) fn new(executor_id: &str, limit: u32) -> Option<Self> {
        (limit > 0).then(|| Self {
            executor_id: executor_id.to_owned(),
            limit: limit_i64(limit),
        })
    }
}

impl<D: Dialect> Op<D> for ClaimCancellations {
    type Output = Vec<String>;
    const ACCESS: Access = Access::Write;
    named!("claim_cancellations");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Vec<String>> {
        queries
            .claim_cancellations(&self.executor_id, self.limit)
            .await
    }
}

/// [`Storage::expire_leases`](crate::storage::Storage::expire_leases).
#[derive(Debug)]
pub(crate) struct Expire<D: Dialect> {
    now: Millis,
    error: D::Json,
    sleeping_error: D::Json,
    limit: i64,
}

impl<D: Dialect> Expire<D> {
    pub(crate) fn new(now: Millis, limit: u32) -> StorageResult<Option<Self>> {
        if limit == 0 {
            return Ok(None);
        }
        Ok(Some(Self {
            now,
            error: D::json_of("error", &rules::expired_error())?,
            sleeping_error: D::json_of("error", &rules::sleeping_timeout_error())?,
            limit: limit_i64(limit),
        }))
    }
}

impl<D: Dialect> Op<D> for Expire<D> {
    type Output = ExpireOutcome;
    const ACCESS: Access = Access::Write;
    named!("expire_leases");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<ExpireOutcome> {
        let rows = queries
            .expire_leases(self.now, self.error, self.limit)
            .await?;
        let mut outcome = ExpireOutcome::default();
        for (execution_id, status) in rows {
            if status == ExecutionStatus::Ready.as_str() {
                outcome.requeued.push(execution_id);
            } else {
                outcome.failed.push(execution_id);
            }
        }
        // Each statement is guarded on its own; no transaction is needed.
        outcome.timed_out = queries
            .expire_sleeping(self.now, self.sleeping_error, self.limit)
            .await?;
        Ok(outcome)
    }

    fn wakeups(outcome: &ExpireOutcome) -> Wakeups {
        Wakeups::of_expire(outcome)
    }
}

/// [`Storage::wake`](crate::storage::Storage::wake): the guarded update,
/// then (when it matched nothing) the read by key, in one transaction so
/// that the read sees the state the update did not match.
#[derive(Debug)]
pub(crate) struct WakeSleeping<D: Dialect> {
    task_id: String,
    key: String,
    now: Millis,
    outcome: D::Json,
}

impl<D: Dialect> WakeSleeping<D> {
    pub(crate) fn new(
        task_id: &str,
        key: &str,
        now: Millis,
        wake: &Wake,
    ) -> StorageResult<Option<Self>> {
        Ok(Some(Self {
            task_id: task_id.to_owned(),
            key: key.to_owned(),
            now,
            outcome: D::json(row::wake_json(wake)?),
        }))
    }
}

impl<D: Dialect> Op<D> for WakeSleeping<D> {
    type Output = Option<Woken>;
    const ACCESS: Access = Access::Write;
    named!("wake_sleeping");

    fn transaction(&self) -> bool {
        true
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<Option<Woken>> {
        let woken = queries
            .wake_sleeping(&self.task_id, &self.key, self.now, self.outcome)
            .await?;
        if let Some(row) = loaded(woken).into_iter().next() {
            return Ok(Some(Woken {
                execution: row?,
                woken: true,
            }));
        }
        let found = queries
            .get_by_sleeping_key(&self.task_id, &self.key)
            .await?;
        match loaded(found).into_iter().next() {
            Some(row) => Ok(Some(Woken {
                execution: row?,
                woken: false,
            })),
            None => Ok(None),
        }
    }

    fn wakeups(outcome: &Option<Woken>) -> Wakeups {
        Wakeups::changed_if(outcome.as_ref().is_some_and(|w| w.woken))
    }
}

/// [`Storage::repair_stuck`](crate::storage::Storage::repair_stuck): each
/// kind one guarded statement (no transaction needed between them).
#[derive(Debug)]
pub(crate) struct Repair<D: Dialect> {
    now: Millis,
    error: D::Json,
    lease_slack_ms: i64,
    limit: i64,
}

impl<D: Dialect> Repair<D> {
    pub(crate) fn new(now: Millis, lease_slack_ms: u64, limit: u32) -> StorageResult<Option<Self>> {
        if limit == 0 {
            return Ok(None);
        }
        Ok(Some(Self {
            now,
            error: D::json_of("error", &crate::storage::missing_finalize_error())?,
            lease_slack_ms: i64::try_from(lease_slack_ms).unwrap_or(i64::MAX),
            limit: limit_i64(limit),
        }))
    }
}

impl<D: Dialect> Op<D> for Repair<D> {
    type Output = StuckOutcome;
    const ACCESS: Access = Access::Write;
    named!("repair_stuck");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<StuckOutcome> {
        let leases_restored = queries
            .repair_missing_leases(self.now, self.lease_slack_ms, self.limit)
            .await?;
        let parents_failed = queries
            .fail_missing_finalize(self.now, self.error, self.limit)
            .await?;
        Ok(StuckOutcome {
            leases_restored,
            parents_failed,
        })
    }

    fn wakeups(outcome: &StuckOutcome) -> Wakeups {
        Wakeups::of_repair(outcome)
    }
}

/// [`Storage::stats`](crate::storage::Storage::stats).
#[derive(Debug)]
pub(crate) struct Stats {
    now: Millis,
}

impl Stats {
    pub(crate) fn new(now: Millis) -> Option<Self> {
        Some(Self { now })
    }
}

/// The task id and status of a group, when it counts under a known status:
/// every column read as its type, both text, and the status one of
/// [`ExecutionStatus`]'s.
fn known<D: Dialect>(group: &CountGroup<D::Stored>) -> Option<(String, ExecutionStatus)> {
    if !group.typed {
        return None;
    }
    let task_id = D::stored_text(&group.task_id)?;
    let status = D::stored_text(&group.status)?.parse().ok()?;
    Some((task_id.to_owned(), status))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl<D: Dialect> Op<D> for Stats {
    type Output = StorageStats;
    const ACCESS: Access = Access::Read;
    named!("stats");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<StorageStats> {
        let mut stats = StorageStats::default();
        for group in queries.count_by_task_and_status().await? {
            if let Some((task_id, status)) = known::<D>(&group) {
                stats.counts.push((task_id, status, count(group.count)));
                continue;
            }
            // Anything else is reported as unreadable, with the values as
            // stored (to find an example row with).
            let example = queries
                .example_execution(&group.task_id, &group.status)
                .await?;
            stats.unreadable.push(UnreadableCount {
                task_id: D::display(&group.task_id),
                status: D::display(&group.status),
                count: count(group.count),
                example_execution_id: example,
            });
        }
        stats.counts.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        stats.oldest_ready_start_at = queries.oldest_ready().await?;
        stats.expired_leases = queries
            .count_expired_leases(self.now)
            .await?
            .map_or(0, count);
        if let Some((running_without_lease, missing_finalize)) = queries.count_stuck().await? {
            stats.stuck = StuckCounts {
                running_without_lease: count(running_without_lease),
                missing_finalize: count(missing_finalize),
            };
        }
        Ok(stats)
    }
}

/// [`Storage::delete_all`](crate::storage::Storage::delete_all).
#[derive(Debug)]
pub(crate) struct DeleteAll;

impl DeleteAll {
    pub(crate) fn new() -> Option<Self> {
        Some(Self)
    }
}

impl<D: Dialect> Op<D> for DeleteAll {
    type Output = u64;
    const ACCESS: Access = Access::Write;
    named!("delete_all_executions");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<u64> {
        queries.delete_all().await
    }
}

/// [`Storage::list`](crate::storage::Storage::list): `list_children_of`
/// with a parent filter (the parent index), otherwise `list_executions`
/// (the `(created_at, execution_id)` index).
#[derive(Debug)]
pub(crate) struct List<D: Dialect> {
    parent: Option<String>,
    params: ListParams<D::Json>,
}

impl<D: Dialect> List<D> {
    pub(crate) fn new(
        filter: &ListFilter,
        cursor: Option<&ListCursor>,
        limit: u32,
    ) -> StorageResult<Option<Self>> {
        if limit == 0 {
            return Ok(None);
        }
        let (before_created_at, before_execution_id) = ListCursor::bounds(cursor);
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        Ok(Some(Self {
            parent: filter.parent_execution_id.clone(),
            params: ListParams {
                before_created_at,
                before_execution_id: before_execution_id.to_owned(),
                created_from: filter.created_from.unwrap_or(Millis::MIN),
                created_to: filter.created_to.unwrap_or(Millis::MAX),
                any_finished: filter.any_finished(),
                finished_from: filter.finished_from.unwrap_or(Millis::MIN),
                finished_to: filter.finished_to.unwrap_or(Millis::MAX),
                task_id: filter.task_id.clone().unwrap_or_default(),
                root_only: filter.root_only,
                any_status: filter.statuses.is_empty(),
                statuses: D::json_of("list statuses", &statuses)?,
                limit: limit_i64(limit),
            },
        }))
    }
}

impl<D: Dialect> Op<D> for List<D> {
    type Output = ListPage;
    const ACCESS: Access = Access::Read;
    named!("list_executions");

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<ListPage> {
        let rows = match &self.parent {
            Some(parent) => queries.list_children_of(parent, &self.params).await?,
            None => queries.list_executions(&self.params).await?,
        };
        let full = i64::try_from(rows.len()).is_ok_and(|n| n >= self.params.limit);
        // The last row whose key could be read: a row unreadable even as
        // its columns' types (SQLite) has no key, and may come again on
        // the next page.
        let next = rows
            .iter()
            .rev()
            .find_map(|row| row.as_ref().ok())
            .filter(|_| full)
            .map(|row| ListCursor::after(row.created_at, row.execution_id()));
        Ok(ListPage {
            executions: loaded(rows),
            next,
        })
    }
}

/// [`Storage::rerun`](crate::storage::Storage::rerun): `rerun_root`, then
/// `delete_descendants` when it matched, in one transaction; when it did
/// not, the row is read to say why.
#[derive(Debug)]
pub(crate) struct Rerun {
    execution_id: String,
    now: Millis,
}

impl Rerun {
    pub(crate) fn new(now: Millis, execution_id: &str) -> Option<Self> {
        Some(Self {
            execution_id: execution_id.to_owned(),
            now,
        })
    }
}

impl<D: Dialect> Op<D> for Rerun {
    type Output = RerunOutcome;
    const ACCESS: Access = Access::Write;
    named!("rerun");

    fn transaction(&self) -> bool {
        true
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<RerunOutcome> {
        let matched = queries.rerun_root(&self.execution_id, self.now).await?;
        if matched.is_empty() {
            let ids = json::<Q>(row::ids_json(std::slice::from_ref(&self.execution_id)));
            let row = loaded(queries.get_executions(ids).await?)
                .into_iter()
                .next();
            return Err(StorageError::RerunRefused {
                reason: operator::refusal(row.as_ref()),
                execution_id: self.execution_id,
            });
        }
        let deleted_descendants = queries.delete_descendants(&self.execution_id).await?;
        Ok(RerunOutcome {
            execution_id: self.execution_id,
            deleted_descendants,
        })
    }

    fn wakeups(outcome: &RerunOutcome) -> Wakeups {
        Wakeups::ready_if(!outcome.execution_id.is_empty())
    }
}

/// [`Storage::prune`](crate::storage::Storage::prune): per cutoff, from the
/// pass's keyset bound, the roots deleted by `prune_roots` (locked, then
/// deleted under their guard again, in one statement on PostgreSQL), then
/// the descendants of the roots that were deleted, in one transaction.
#[derive(Debug)]
pub(crate) struct Prune(pub(crate) PruneBatch);

/// What a prune batch (or its dry run) covers: the effective cutoffs
/// ([`retention::effective`]), the limit and the pass's position.
#[derive(Debug)]
pub(crate) struct PruneBatch {
    cutoffs: Vec<PruneCutoff>,
    limit: u32,
    after: Option<PruneCursor>,
}

impl PruneBatch {
    /// `None` when there is nothing to do (no finished status, limit 0).
    pub(crate) fn new(
        cutoffs: &[PruneCutoff],
        limit: u32,
        after: Option<PruneCursor>,
    ) -> Option<Self> {
        let cutoffs = retention::effective(cutoffs);
        (limit > 0 && !cutoffs.is_empty()).then_some(Self {
            cutoffs,
            limit,
            after,
        })
    }

    /// Each cutoff to scan with its keyset lower bound.
    fn bounds(&self) -> Vec<(PruneCutoff, (Millis, i64))> {
        PruneCursor::bounds(self.after.as_ref(), &self.cutoffs)
    }
}

impl<D: Dialect> Op<D> for Prune {
    type Output = PruneOutcome;
    const ACCESS: Access = Access::Write;
    named!("prune");

    fn transaction(&self) -> bool {
        true
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<PruneOutcome> {
        let mut roots: Vec<String> = Vec::new();
        let mut last: Option<PruneCursor> = None;
        for (cutoff, after) in self.0.bounds() {
            let left = i64::from(self.0.limit) - roots.len() as i64;
            if left <= 0 {
                break;
            }
            let deleted = queries
                .prune_roots(cutoff.status.as_str(), cutoff.finished_before, after, left)
                .await?;
            // RETURNING has no order: the position is the greatest deleted.
            if let Some(end) = deleted.iter().map(|r| (r.finished_at, r.id)).max() {
                last = Some(PruneCursor {
                    status: cutoff.status,
                    finished_at: end.0,
                    id: end.1,
                });
            }
            roots.extend(deleted.into_iter().map(|r| r.execution_id));
        }
        let full = roots.len() >= self.0.limit as usize;
        if roots.is_empty() {
            return Ok(PruneOutcome::default());
        }
        let descendants = queries
            .delete_pruned_descendants(json::<Q>(row::ids_json(&roots)))
            .await?;
        let roots = roots.len() as u64;
        Ok(PruneOutcome {
            roots,
            executions: roots + descendants,
            next: if full { last } else { None },
        })
    }
}

/// [`Storage::prune`](crate::storage::Storage::prune) with `dry_run`:
/// `count_prunable` per cutoff, reads only.
#[derive(Debug)]
pub(crate) struct CountPrunable(pub(crate) PruneBatch);

impl<D: Dialect> Op<D> for CountPrunable {
    type Output = PruneOutcome;
    const ACCESS: Access = Access::Read;
    named!("count_prunable");

    /// Several statements that should see one state.
    fn transaction(&self) -> bool {
        self.0.cutoffs.len() > 1
    }

    async fn run<Q: Queries<Dialect = D>>(self, queries: &Q) -> StorageResult<PruneOutcome> {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let mut outcome = PruneOutcome::default();
        for (cutoff, after) in self.0.bounds() {
            let left = i64::from(self.0.limit) - outcome.roots as i64;
            if left <= 0 {
                break;
            }
            let (roots, executions) = queries
                .count_prunable(cutoff.status.as_str(), cutoff.finished_before, after, left)
                .await?;
            outcome.add(PruneOutcome {
                roots: count(roots),
                executions: count(executions),
                next: None,
            });
        }
        Ok(outcome)
    }
}
