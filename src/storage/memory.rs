//! An in-process storage with the same semantics as the SQL backends.
//!
//! One mutex guards the whole state, so every operation is atomic. Secondary
//! indexes (ready queue, unclosed finished rows, leases, cancellations,
//! children) keep every operation proportional to the rows it touches rather
//! than to the table size.

use super::rules::{self, Wakeups};
use super::{
    Advance, AdvanceItem, CancelItem, ChildOutput, CloseOutcome, ClosePlan, ExpireOutcome,
    FinishItem, ListCursor, ListFilter, ListPage, PruneCursor, PruneCutoff, PruneOutcome,
    RERUNNABLE, RerunOutcome, RetryItem, RunRef, Storage, StorageError, StorageEvent,
    StorageResult, StorageStats, StuckCounts, StuckOutcome, WaitItem, Wake, Woken, operator,
    retention,
};
use crate::model::{
    CorruptRow, ExecutionError, ExecutionStatus, Loaded, Millis, NewExecution, TaskExecution,
};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

/// Index key: the ordering column, then the insertion sequence (unique per
/// row); the value is the execution id, so that removing an entry needs no
/// allocation.
type Index = BTreeMap<(Millis, u64), String>;

#[derive(Debug, Default)]
struct State {
    next_seq: u64,
    rows: HashMap<String, (u64, TaskExecution)>,
    idx: Indexes,
    /// Per parent, its children and finalize in insertion order.
    children: HashMap<String, Vec<ChildEntry>>,
    /// Per sleeping key, the most recent execution that had it (sleeping
    /// or finished): the key index of the SQL backends.
    sleeping_keys: HashMap<String, String>,
}

/// One child of a parent in [`State::children`].
#[derive(Debug)]
struct ChildEntry {
    index: u32,
    is_finalize: bool,
    execution_id: String,
}

#[derive(Debug, Default)]
struct Indexes {
    ready: Index,
    leases: Index,
    /// Running executions by heartbeat deadline.
    heartbeats: Index,
    /// Sleeping executions by deadline.
    sleeping: Index,
    unclosed: Index,
    waiting_parents_done: Index,
    /// Closed top-level executions by status and finish time: the
    /// retention candidates (the prunable index of the SQL backends).
    closed_roots: BTreeMap<(&'static str, Millis, u64), String>,
    cancellations: BTreeMap<(String, u64), String>,
}

impl Indexes {
    fn unindex(&mut self, seq: u64, row: &TaskExecution) {
        self.ready.remove(&(row.start_at, seq));
        if let Some(expires_at) = row.expires_at {
            self.leases.remove(&(expires_at, seq));
            self.sleeping.remove(&(expires_at, seq));
        }
        if let Some(deadline) = row.heartbeat_expires_at {
            self.heartbeats.remove(&(deadline, seq));
        }
        self.unclosed.remove(&(row.finished_at.unwrap_or(0), seq));
        self.waiting_parents_done.remove(&(row.updated_at, seq));
        self.closed_roots
            .remove(&(row.status.as_str(), row.finished_at.unwrap_or(0), seq));
        if let (true, Some(owner)) = (row.needs_cancel, &row.executor_id) {
            self.cancellations.remove(&(owner.clone(), seq));
        }
    }

    fn index(&mut self, seq: u64, row: &TaskExecution) {
        let id = || row.execution_id.clone();
        match row.status {
            ExecutionStatus::Ready => {
                self.ready.insert((row.start_at, seq), id());
            }
            ExecutionStatus::Running => {
                if let Some(expires_at) = row.expires_at {
                    self.leases.insert((expires_at, seq), id());
                }
                if let Some(deadline) = row.heartbeat_expires_at {
                    self.heartbeats.insert((deadline, seq), id());
                }
            }
            ExecutionStatus::Sleeping => {
                if let Some(expires_at) = row.expires_at {
                    self.sleeping.insert((expires_at, seq), id());
                }
            }
            ExecutionStatus::WaitingForChildrenTasks if row.active_children_count == 0 => {
                self.waiting_parents_done
                    .insert((row.updated_at, seq), id());
            }
            _ => {}
        }
        if row.status.is_finished() && !row.is_closed {
            self.unclosed
                .insert((row.finished_at.unwrap_or(0), seq), id());
        }
        if row.status.is_finished() && row.is_closed && row.parent.is_none() {
            self.closed_roots.insert(
                (row.status.as_str(), row.finished_at.unwrap_or(0), seq),
                id(),
            );
        }
        if let (true, Some(owner)) = (row.needs_cancel, &row.executor_id) {
            self.cancellations.insert((owner.clone(), seq), id());
        }
    }
}

impl State {
    /// Applies `change` to a row and keeps the indexes in step.
    fn update(&mut self, id: &str, change: impl FnOnce(&mut TaskExecution)) {
        let Some((seq, row)) = self.rows.get_mut(id) else {
            return;
        };
        self.idx.unindex(*seq, row);
        change(row);
        self.idx.index(*seq, row);
    }

    fn get(&self, id: &str) -> Option<&TaskExecution> {
        self.rows.get(id).map(|(_, row)| row)
    }

    /// [`Storage::claim_ready`] on this state.
    fn claim_ready(
        &mut self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
        lease_ms: u64,
    ) -> Vec<Loaded> {
        let ids: Vec<String> = self
            .idx
            .ready
            .iter()
            .take_while(|((start_at, _), _)| *start_at <= now)
            .take(limit as usize)
            .map(|(_, id)| id.clone())
            .collect();
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            self.update(&id, |row| {
                let lease = row.timeout_ms.saturating_add(lease_slack_ms);
                row.status = ExecutionStatus::Running;
                row.executor_id = Some(executor_id.to_owned());
                row.started_at = Some(now);
                row.expires_at = Some(now.saturating_add(i64::try_from(lease).unwrap_or(i64::MAX)));
                row.heartbeat_expires_at =
                    Some(now.saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX)));
                row.updated_at = now;
            });
            if let Some(row) = self.get(&id) {
                claimed.push(Ok(row.clone()));
            }
        }
        claimed
    }

    fn insert_all(&mut self, executions: &[NewExecution]) -> StorageResult<()> {
        let refs: Vec<&NewExecution> = executions.iter().collect();
        self.insert_refs(&refs)
    }

    fn insert_refs(&mut self, executions: &[&NewExecution]) -> StorageResult<()> {
        let mut seen = HashSet::new();
        for execution in executions {
            if self.rows.contains_key(&execution.execution_id)
                || !seen.insert(execution.execution_id.as_str())
            {
                return Err(StorageError::DuplicateExecutionId {
                    execution_id: execution.execution_id.clone(),
                });
            }
        }
        let mut keys = HashSet::new();
        for execution in executions {
            if let Some(key) = &execution.sleeping_key {
                let taken = self
                    .sleeping_keys
                    .get(key)
                    .and_then(|id| self.get(id))
                    .is_some_and(|row| row.status == ExecutionStatus::Sleeping);
                if taken || !keys.insert(key.as_str()) {
                    return Err(StorageError::DuplicateSleepingKey { key: key.clone() });
                }
            }
        }
        for &execution in executions {
            let row = new_row(execution);
            let seq = self.next_seq;
            self.next_seq += 1;
            if let Some(parent) = &execution.parent {
                self.children
                    .entry(parent.execution_id.clone())
                    .or_default()
                    .push(ChildEntry {
                        index: parent.index,
                        is_finalize: parent.is_finalize,
                        execution_id: execution.execution_id.clone(),
                    });
            }
            if let Some(key) = &execution.sleeping_key {
                self.sleeping_keys
                    .insert(key.clone(), execution.execution_id.clone());
            }
            self.idx.index(seq, &row);
            self.rows.insert(execution.execution_id.clone(), (seq, row));
        }
        Ok(())
    }

    /// Whether `id` is `running`, owned by `executor_id` and at `attempt`
    /// (any attempt when `None`): the guard of every write of an owner.
    fn is_running_owned(&self, id: &str, executor_id: &str, attempt: Option<u32>) -> bool {
        self.get(id).is_some_and(|row| {
            row.status == ExecutionStatus::Running
                && row.executor_id.as_deref() == Some(executor_id)
                && attempt.is_none_or(|attempt| row.attempt == attempt)
        })
    }

    /// Running executions past their timeout bound or heartbeat deadline,
    /// timeout-bound order first, at most `limit`.
    fn expired(&self, now: Millis, limit: usize) -> Vec<String> {
        let mut seen = HashSet::new();
        self.idx
            .leases
            .iter()
            .take_while(|((expires_at, _), _)| *expires_at < now)
            .chain(
                self.idx
                    .heartbeats
                    .iter()
                    .take_while(|((deadline, _), _)| *deadline < now),
            )
            .filter(|(_, id)| seen.insert(id.as_str()))
            .take(limit)
            .map(|(_, id)| id.clone())
            .collect()
    }

    /// Every descendant of `id`, depth first.
    fn descendants(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![id.to_owned()];
        while let Some(current) = stack.pop() {
            if let Some(children) = self.children.get(&current) {
                for child in children {
                    out.push(child.execution_id.clone());
                    stack.push(child.execution_id.clone());
                }
            }
        }
        out
    }

    /// Whether every descendant of `id` is finished and closed (a whole
    /// finished tree under a closed root).
    fn tree_settled(&self, id: &str) -> bool {
        self.descendants(id).iter().all(|d| {
            self.get(d)
                .is_none_or(|row| row.status.is_finished() && row.is_closed)
        })
    }

    /// Deletes a row and its index entries.
    fn remove_row(&mut self, id: &str) -> bool {
        let Some((seq, row)) = self.rows.remove(id) else {
            return false;
        };
        self.idx.unindex(seq, &row);
        self.children.remove(id);
        if let Some(key) = &row.sleeping_key
            && self
                .sleeping_keys
                .get(key)
                .is_some_and(|newest| newest == id)
        {
            self.sleeping_keys.remove(key);
        }
        true
    }

    fn cancel_one(&mut self, id: &str, error: &ExecutionError, now: Millis) -> bool {
        let active = self.get(id).is_some_and(|row| row.status.is_active());
        if active {
            self.update(id, |row| {
                row.needs_cancel = row.status == ExecutionStatus::Running;
                if row.status != ExecutionStatus::Running {
                    row.executor_id = None;
                }
                row.status = ExecutionStatus::Cancelled;
                row.error = Some(error.clone());
                row.expires_at = None;
                row.heartbeat_expires_at = None;
                row.finished_at = Some(now);
                rules::close_at_finish(row, now);
                row.updated_at = now;
            });
        }
        active
    }

    fn cancel(&mut self, now: Millis, items: &[CancelItem]) -> Vec<String> {
        let mut cancelled = Vec::new();
        for item in items {
            let mut targets = self.descendants(&item.execution_id);
            if item.include_self {
                targets.insert(0, item.execution_id.clone());
            }
            for id in targets {
                if self.cancel_one(&id, &item.error, now) {
                    cancelled.push(id);
                }
            }
        }
        cancelled
    }
}

/// The row stored for a new execution: `ready`, no output, error or lease
/// yet (the defaults, as the columns' defaults in the SQL backends); or
/// `sleeping` with its deadline when it has a sleeping key.
fn new_row(execution: &NewExecution) -> TaskExecution {
    let sleeping = execution.sleeping_key.is_some();
    TaskExecution {
        status: if sleeping {
            ExecutionStatus::Sleeping
        } else {
            ExecutionStatus::Ready
        },
        expires_at: sleeping.then(|| {
            execution
                .created_at
                .saturating_add(i64::try_from(execution.timeout_ms).unwrap_or(i64::MAX))
        }),
        sleeping_key: execution.sleeping_key.clone(),
        execution_id: execution.execution_id.clone(),
        task_id: execution.task_id.clone(),
        root: execution.root.clone(),
        parent: execution.parent.clone(),
        retry_options: execution.retry_options.clone(),
        sleep_ms_before_run: execution.sleep_ms_before_run,
        timeout_ms: execution.timeout_ms,
        input: execution.input.clone(),
        start_at: execution.start_at(),
        created_at: execution.created_at,
        updated_at: execution.created_at,
        ..TaskExecution::default()
    }
}

/// In-process storage. Cheap to clone: clones share the same state.
///
/// ```
/// use durable_execution::storage::{MemoryStorage, Storage};
/// # tokio_test_block_on(async {
/// let storage = MemoryStorage::new();
/// assert_eq!(storage.backend_name(), "memory");
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MemoryStorage {
    state: Arc<Mutex<State>>,
    events: broadcast::Sender<StorageEvent>,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            state: Arc::new(Mutex::new(State::default())),
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change
        // visible: every operation validates before it mutates.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn emit(&self, event: StorageEvent) {
        // No receiver is not an error: nobody is waiting.
        let _ = self.events.send(event);
    }

    /// Sends the wake-ups of an operation that changed the state.
    fn wake(&self, wakeups: Wakeups) {
        wakeups.events().for_each(|event| self.emit(event));
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    fn backend_name(&self) -> &'static str {
        "memory"
    }

    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        if executions.is_empty() {
            return Ok(());
        }
        self.lock().insert_all(executions)?;
        self.emit(StorageEvent::ReadyWork);
        Ok(())
    }

    async fn insert_and_claim(
        &self,
        executions: &[NewExecution],
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
        lease_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        if executions.is_empty() {
            return Ok(Vec::new());
        }
        let claimed = {
            let mut state = self.lock();
            // New rows only, and only when nothing older is ready and due
            // (the SQL backends' one statement).
            let older_due = state
                .idx
                .ready
                .keys()
                .next()
                .is_some_and(|(start_at, _)| *start_at <= now);
            state.insert_all(executions)?;
            let limit = if older_due || executions.len() > super::CLAIM_AT_INSERT_MAX {
                0
            } else {
                limit
            };
            state.claim_ready(executor_id, now, limit, lease_slack_ms, lease_ms)
        };
        let taken: HashSet<&str> = claimed
            .iter()
            .filter_map(|row| row.as_ref().ok().map(|e| e.execution_id.as_str()))
            .collect();
        if executions
            .iter()
            .any(|e| !taken.contains(e.execution_id.as_str()))
        {
            self.emit(StorageEvent::ReadyWork);
        }
        Ok(claimed)
    }

    async fn get(&self, execution_ids: &[String]) -> StorageResult<Vec<Loaded>> {
        let state = self.lock();
        Ok(execution_ids
            .iter()
            .filter_map(|id| state.get(id).cloned().map(Ok))
            .collect())
    }

    async fn get_children(&self, parent_execution_id: &str) -> StorageResult<Vec<Loaded>> {
        let state = self.lock();
        let mut children: Vec<TaskExecution> = state
            .children
            .get(parent_execution_id)
            .into_iter()
            .flatten()
            .filter_map(|child| state.get(&child.execution_id).cloned())
            .collect();
        children.sort_by_key(|c| {
            let parent = c.parent.as_ref();
            (
                parent.is_some_and(|p| p.is_finalize),
                parent.map_or(0, |p| p.index),
            )
        });
        Ok(children.into_iter().map(Ok).collect())
    }

    async fn children_outputs(
        &self,
        parent_execution_id: &str,
        after: Option<u32>,
        limit: u32,
    ) -> StorageResult<Vec<Result<ChildOutput, CorruptRow>>> {
        let state = self.lock();
        let Some(children) = state.children.get(parent_execution_id) else {
            return Ok(Vec::new());
        };
        let wanted = |c: &&ChildEntry| rules::in_children_page(c.is_finalize, c.index, after);
        let regular: Vec<&ChildEntry> = children.iter().filter(|c| !c.is_finalize).collect();
        // Children inserted in spawn order (always, from the executor) are
        // found by binary search; any other order by a scan.
        let page: Vec<&ChildEntry> = if regular.is_sorted_by_key(|c| c.index) {
            let start = regular.partition_point(|c| !wanted(c));
            regular[start..]
                .iter()
                .take(limit as usize)
                .copied()
                .collect()
        } else {
            let mut page: Vec<&ChildEntry> = regular.into_iter().filter(wanted).collect();
            page.sort_by_key(|c| c.index);
            page.truncate(limit as usize);
            page
        };
        Ok(page
            .into_iter()
            .filter_map(|entry| {
                let child = state.get(&entry.execution_id)?;
                Some(Ok(ChildOutput {
                    execution_id: child.execution_id.clone(),
                    index: entry.index,
                    status: child.status,
                    output: child.output.clone(),
                    error: child.error.clone(),
                }))
            })
            .collect())
    }

    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
        lease_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        Ok(self
            .lock()
            .claim_ready(executor_id, now, limit, lease_slack_ms, lease_ms))
    }

    async fn heartbeat(
        &self,
        executor_id: &str,
        now: Millis,
        lease_ms: u64,
        runs: &[RunRef],
    ) -> StorageResult<Vec<String>> {
        let deadline = now.saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX));
        let mut state = self.lock();
        let mut extended = Vec::new();
        for run in runs {
            if !state.is_running_owned(&run.execution_id, executor_id, run.attempt) {
                continue;
            }
            state.update(&run.execution_id, |row| {
                row.heartbeat_expires_at = Some(deadline);
            });
            extended.push(run.execution_id.clone());
        }
        Ok(extended)
    }

    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        let mut matched = Vec::new();
        {
            let mut state = self.lock();
            for item in items {
                if !state.is_running_owned(&item.execution_id, executor_id, item.attempt) {
                    continue;
                }
                state.update(&item.execution_id, |row| {
                    row.status = item.status;
                    row.run_output.clone_from(&item.run_output);
                    row.output.clone_from(&item.output);
                    row.error.clone_from(&item.error);
                    row.expires_at = None;
                    row.heartbeat_expires_at = None;
                    row.finished_at = Some(now);
                    rules::close_at_finish(row, now);
                    if item.status != ExecutionStatus::Cancelled {
                        row.executor_id = None;
                    }
                    row.updated_at = now;
                });
                matched.push(item.execution_id.clone());
            }
        }
        self.wake(Wakeups::followed_up_if(!matched.is_empty()));
        Ok(matched)
    }

    async fn retry(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Vec<String>> {
        let mut matched = Vec::new();
        {
            let mut state = self.lock();
            for item in items {
                if !state.is_running_owned(&item.execution_id, executor_id, item.attempt) {
                    continue;
                }
                state.update(&item.execution_id, |row| {
                    row.status = ExecutionStatus::Ready;
                    row.error = Some(item.error.clone());
                    row.attempt += 1;
                    row.start_at = item.start_at;
                    row.executor_id = None;
                    row.expires_at = None;
                    row.heartbeat_expires_at = None;
                    row.updated_at = now;
                });
                matched.push(item.execution_id.clone());
            }
        }
        self.wake(Wakeups::ready_if(!matched.is_empty()));
        Ok(matched)
    }

    async fn wait_for_children(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>> {
        let mut matched = Vec::new();
        {
            let mut state = self.lock();
            // Validate every insert first so that a duplicate id changes nothing.
            let mut inserts: Vec<&NewExecution> = Vec::new();
            let mut applicable = Vec::new();
            for item in items {
                if state.is_running_owned(&item.execution_id, executor_id, item.attempt) {
                    applicable.push(item);
                    inserts.extend(item.inserts());
                }
            }
            let mut probe = HashSet::new();
            for execution in &inserts {
                if state.rows.contains_key(&execution.execution_id)
                    || !probe.insert(execution.execution_id.as_str())
                {
                    return Err(StorageError::DuplicateExecutionId {
                        execution_id: execution.execution_id.clone(),
                    });
                }
            }
            for item in applicable {
                let children = u32::try_from(item.children.len()).unwrap_or(u32::MAX);
                state.update(&item.execution_id, |row| {
                    row.run_output = Some(item.run_output.clone());
                    row.error = None;
                    row.executor_id = None;
                    row.expires_at = None;
                    row.heartbeat_expires_at = None;
                    row.updated_at = now;
                    if children > 0 {
                        row.status = ExecutionStatus::WaitingForChildrenTasks;
                        row.children_count = children;
                        row.active_children_count = children;
                        row.waiting_for_children_started_at = Some(now);
                    } else {
                        row.status = ExecutionStatus::WaitingForFinalizeTask;
                        row.waiting_for_finalize_started_at = Some(now);
                        row.finalize_execution_id =
                            item.finalize.as_ref().map(|f| f.execution_id.clone());
                    }
                });
                matched.push(item.execution_id.clone());
            }
            state.insert_refs(&inserts)?;
        }
        self.wake(Wakeups::ready_if(!matched.is_empty()));
        Ok(matched)
    }

    async fn release(
        &self,
        executor_id: &str,
        now: Millis,
        runs: &[RunRef],
    ) -> StorageResult<Vec<String>> {
        let mut matched = Vec::new();
        {
            let mut state = self.lock();
            for RunRef {
                execution_id: id,
                attempt,
            } in runs
            {
                if !state.is_running_owned(id, executor_id, *attempt) {
                    continue;
                }
                state.update(id, |row| {
                    row.status = ExecutionStatus::Ready;
                    row.start_at = now;
                    row.executor_id = None;
                    row.expires_at = None;
                    row.heartbeat_expires_at = None;
                    row.updated_at = now;
                });
                matched.push(id.clone());
            }
        }
        self.wake(Wakeups::ready_if(!matched.is_empty()));
        Ok(matched)
    }

    async fn close_finished(&self, now: Millis, limit: u32) -> StorageResult<CloseOutcome> {
        let mut outcome = CloseOutcome::default();
        {
            let mut state = self.lock();
            let ids: Vec<String> = state
                .idx
                .unclosed
                .values()
                .take(limit as usize)
                .cloned()
                .collect();
            let mut rows = Vec::with_capacity(ids.len());
            for id in &ids {
                state.update(id, |row| {
                    row.is_closed = true;
                    // Never before its finish (see the spec's claim_unclosed).
                    row.closed_at = Some(row.finished_at.map_or(now, |f| f.max(now)));
                });
                if let Some(row) = state.get(id) {
                    rows.push(row.clone());
                }
            }
            outcome.closed = ids;
            let plan = ClosePlan::new(&rows);
            let now = crate::storage::rules::close_effects_at(now, &rows);
            for (parent, n) in &plan.decrements {
                let waiting = state
                    .get(parent)
                    .is_some_and(|p| p.status == ExecutionStatus::WaitingForChildrenTasks);
                if waiting {
                    state.update(parent, |p| {
                        p.active_children_count = p.active_children_count.saturating_sub(*n);
                        p.updated_at = now;
                    });
                    if state
                        .get(parent)
                        .is_some_and(|p| p.active_children_count == 0)
                    {
                        outcome.parents_ready.push(parent.clone());
                    }
                }
            }
            for (parent, errors) in &plan.child_failures {
                let Some(current) = state.get(parent) else {
                    continue;
                };
                let fails = current.status == ExecutionStatus::WaitingForChildrenTasks;
                state.update(parent, |p| {
                    p.children_errors.extend(errors.iter().cloned());
                    if fails {
                        p.status = ExecutionStatus::ChildrenTasksFailed;
                        p.finished_at = Some(now);
                        p.is_closed = false;
                    }
                    p.updated_at = now;
                });
                if fails {
                    outcome.newly_finished.push(parent.clone());
                }
            }
            for (parent, output) in &plan.finalize_completions {
                let waiting = state
                    .get(parent)
                    .is_some_and(|p| p.status == ExecutionStatus::WaitingForFinalizeTask);
                if waiting {
                    state.update(parent, |p| {
                        p.status = ExecutionStatus::Completed;
                        p.output = Some(output.clone());
                        p.finished_at = Some(now);
                        p.is_closed = false;
                        p.updated_at = now;
                    });
                    outcome.newly_finished.push(parent.clone());
                }
            }
            for (parent, error) in &plan.finalize_failures {
                let waiting = state
                    .get(parent)
                    .is_some_and(|p| p.status == ExecutionStatus::WaitingForFinalizeTask);
                if waiting {
                    state.update(parent, |p| {
                        p.status = ExecutionStatus::FinalizeTaskFailed;
                        p.finalize_error = Some(error.clone());
                        p.finished_at = Some(now);
                        p.is_closed = false;
                        p.updated_at = now;
                    });
                    outcome.newly_finished.push(parent.clone());
                }
            }
            let cancelled = state.cancel(now, &plan.cancel_subtrees);
            outcome.newly_finished.extend(cancelled);
        }
        self.wake(Wakeups::followed_up_if(
            !outcome.parents_ready.is_empty() || !outcome.newly_finished.is_empty(),
        ));
        Ok(outcome)
    }

    async fn ready_parents(&self, limit: u32) -> StorageResult<Vec<Loaded>> {
        let state = self.lock();
        Ok(state
            .idx
            .waiting_parents_done
            .values()
            .take(limit as usize)
            .filter_map(|id| state.get(id).cloned().map(Ok))
            .collect())
    }

    async fn advance_parents(
        &self,
        now: Millis,
        items: &[AdvanceItem],
    ) -> StorageResult<Vec<String>> {
        let mut matched = Vec::new();
        let mut ready_work = false;
        {
            let mut state = self.lock();
            for item in items {
                let eligible = state.get(&item.execution_id).is_some_and(|p| {
                    p.status == ExecutionStatus::WaitingForChildrenTasks
                        && p.active_children_count == 0
                });
                if !eligible {
                    continue;
                }
                if let Some(execution) = item.action.inserts() {
                    state.insert_all(std::slice::from_ref(execution))?;
                    ready_work = true;
                }
                state.update(&item.execution_id, |p| {
                    p.updated_at = now;
                    match &item.action {
                        Advance::Complete { output } => {
                            p.status = ExecutionStatus::Completed;
                            p.output = Some(output.clone());
                            p.finished_at = Some(now);
                            p.is_closed = false;
                        }
                        Advance::Finalize { finalize } => {
                            p.status = ExecutionStatus::WaitingForFinalizeTask;
                            p.finalize_execution_id = Some(finalize.execution_id.clone());
                            p.waiting_for_finalize_started_at = Some(now);
                        }
                        Advance::SpawnNext { .. } => {
                            p.children_count += 1;
                            p.active_children_count = 1;
                        }
                        Advance::Fail { status, error } => {
                            p.status = *status;
                            p.error = Some(error.clone());
                            p.finished_at = Some(now);
                            p.is_closed = false;
                        }
                    }
                });
                matched.push(item.execution_id.clone());
            }
        }
        self.wake(Wakeups {
            ready: ready_work,
            ..Wakeups::followed_up_if(!matched.is_empty())
        });
        Ok(matched)
    }

    async fn cancel(&self, now: Millis, items: &[CancelItem]) -> StorageResult<Vec<String>> {
        let cancelled = self.lock().cancel(now, items);
        self.wake(Wakeups::changed_if(!cancelled.is_empty()));
        Ok(cancelled)
    }

    async fn claim_cancellations(
        &self,
        executor_id: &str,
        limit: u32,
    ) -> StorageResult<Vec<String>> {
        let mut state = self.lock();
        let ids: Vec<String> = state
            .idx
            .cancellations
            .range((executor_id.to_owned(), 0)..)
            .take_while(|((owner, _), _)| owner == executor_id)
            .take(limit as usize)
            .map(|(_, id)| id.clone())
            .collect();
        for id in &ids {
            state.update(id, |row| row.needs_cancel = false);
        }
        Ok(ids)
    }

    async fn expire_leases(&self, now: Millis, limit: u32) -> StorageResult<ExpireOutcome> {
        let mut outcome = ExpireOutcome::default();
        {
            let mut state = self.lock();
            let ids = state.expired(now, limit as usize);
            let error = rules::expired_error();
            for id in ids {
                let Some(row) = state.get(&id) else { continue };
                let requeue = row.attempt < row.retry_options.max_attempts;
                state.update(&id, |row| {
                    row.error = Some(error.clone());
                    row.executor_id = None;
                    row.expires_at = None;
                    row.heartbeat_expires_at = None;
                    row.updated_at = now;
                    if requeue {
                        row.status = ExecutionStatus::Ready;
                        row.attempt += 1;
                        row.start_at = now;
                    } else {
                        row.status = ExecutionStatus::Failed;
                        row.finished_at = Some(now);
                        rules::close_at_finish(row, now);
                    }
                });
                if requeue {
                    outcome.requeued.push(id);
                } else {
                    outcome.failed.push(id);
                }
            }
        }
        {
            let mut state = self.lock();
            let ids: Vec<String> = state
                .idx
                .sleeping
                .iter()
                .take_while(|((expires_at, _), _)| *expires_at < now)
                .take(limit as usize)
                .map(|(_, id)| id.clone())
                .collect();
            let error = rules::sleeping_timeout_error();
            for id in ids {
                state.update(&id, |row| {
                    row.status = ExecutionStatus::TimedOut;
                    row.error = Some(error.clone());
                    row.expires_at = None;
                    row.heartbeat_expires_at = None;
                    row.finished_at = Some(now);
                    rules::close_at_finish(row, now);
                    row.updated_at = now;
                });
                outcome.timed_out.push(id);
            }
        }
        self.wake(Wakeups::of_expire(&outcome));
        Ok(outcome)
    }

    async fn wake(
        &self,
        task_id: &str,
        key: &str,
        now: Millis,
        wake: &Wake,
    ) -> StorageResult<Option<Woken>> {
        let woken = {
            let mut state = self.lock();
            let Some(id) = state.sleeping_keys.get(key).cloned() else {
                return Ok(None);
            };
            let Some(row) = state.get(&id) else {
                return Ok(None);
            };
            if row.task_id != task_id {
                return Ok(None);
            }
            let woken = row.status == ExecutionStatus::Sleeping;
            if woken {
                let (status, output, error) = rules::wake_result(wake);
                state.update(&id, |row| {
                    row.status = status;
                    row.run_output = output.map(str::to_owned);
                    row.output = output.map(str::to_owned);
                    row.error = error.cloned();
                    row.expires_at = None;
                    row.heartbeat_expires_at = None;
                    row.finished_at = Some(now);
                    rules::close_at_finish(row, now);
                    row.updated_at = now;
                });
            }
            state
                .get(&id)
                .cloned()
                .map(|execution| Woken { execution, woken })
        };
        self.wake(Wakeups::changed_if(woken.as_ref().is_some_and(|w| w.woken)));
        Ok(woken)
    }

    async fn repair_stuck(
        &self,
        _now: Millis,
        _lease_slack_ms: u64,
        _limit: u32,
    ) -> StorageResult<StuckOutcome> {
        // Every running row here gets its lease from the claim and every
        // finalize is inserted with its parent's transition, and nothing
        // else writes rows: none can be stuck (the SQL backends, which
        // other tools can write to, do the work).
        Ok(StuckOutcome::default())
    }

    async fn stats(&self, now: Millis) -> StorageResult<StorageStats> {
        let state = self.lock();
        let mut counts: BTreeMap<(String, ExecutionStatus), u64> = BTreeMap::new();
        for (_, row) in state.rows.values() {
            *counts.entry((row.task_id.clone(), row.status)).or_default() += 1;
        }
        Ok(StorageStats {
            counts: counts
                .into_iter()
                .map(|((task, status), n)| (task, status, n))
                .collect(),
            oldest_ready_start_at: state.idx.ready.keys().next().map(|(start_at, _)| *start_at),
            expired_leases: state.expired(now, usize::MAX).len() as u64,
            // None can be stuck (see `repair_stuck`).
            stuck: StuckCounts::default(),
            // Rows hold an `ExecutionStatus`: none can be unreadable.
            unreadable: Vec::new(),
        })
    }

    /// Scans every row (or, with a parent filter, the parent's children)
    /// and sorts the matches: the memory backend holds test-sized data.
    async fn list(
        &self,
        filter: &ListFilter,
        cursor: Option<&ListCursor>,
        limit: u32,
    ) -> StorageResult<ListPage> {
        let state = self.lock();
        let candidates: Vec<&TaskExecution> = match &filter.parent_execution_id {
            Some(parent) => state
                .children
                .get(parent)
                .into_iter()
                .flatten()
                .filter_map(|child| state.get(&child.execution_id))
                .collect(),
            None => state.rows.values().map(|(_, row)| row).collect(),
        };
        let mut page: Vec<&TaskExecution> = candidates
            .into_iter()
            .filter(|row| {
                ListCursor::admits(cursor, row.created_at, &row.execution_id) && filter.matches(row)
            })
            .collect();
        page.sort_by(|a, b| (b.created_at, &b.execution_id).cmp(&(a.created_at, &a.execution_id)));
        page.truncate(limit as usize);
        let next = (limit > 0 && page.len() == limit as usize)
            .then(|| {
                page.last()
                    .map(|row| ListCursor::after(row.created_at, &row.execution_id))
            })
            .flatten();
        Ok(ListPage {
            executions: page.into_iter().map(|row| Ok(row.clone())).collect(),
            next,
        })
    }

    async fn rerun(&self, now: Millis, execution_id: &str) -> StorageResult<RerunOutcome> {
        let mut state = self.lock();
        let allowed = state
            .get(execution_id)
            .is_some_and(|row| row.parent.is_none() && RERUNNABLE.contains(&row.status));
        if !allowed {
            let row = state.get(execution_id).map(|row| Ok(row.clone()));
            return Err(StorageError::RerunRefused {
                execution_id: execution_id.to_owned(),
                reason: operator::refusal(row.as_ref()),
            });
        }
        let descendants = state.descendants(execution_id);
        for id in &descendants {
            if let Some((seq, row)) = state.rows.remove(id) {
                state.idx.unindex(seq, &row);
            }
            state.children.remove(id);
        }
        state.children.remove(execution_id);
        // The same columns as the spec's `rerun_root`.
        state.update(execution_id, |row| {
            row.status = ExecutionStatus::Ready;
            row.attempt = 0;
            row.start_at = now;
            row.started_at = None;
            row.finished_at = None;
            row.expires_at = None;
            row.heartbeat_expires_at = None;
            row.executor_id = None;
            row.needs_cancel = false;
            row.is_closed = false;
            row.run_output = None;
            row.output = None;
            row.error = None;
            row.children_count = 0;
            row.active_children_count = 0;
            row.finalize_execution_id = None;
            row.children_errors = Vec::new();
            row.finalize_error = None;
            row.waiting_for_children_started_at = None;
            row.waiting_for_finalize_started_at = None;
            row.closed_at = None;
            row.updated_at = now;
        });
        drop(state);
        self.wake(Wakeups::ready_if(true));
        Ok(RerunOutcome {
            execution_id: execution_id.to_owned(),
            deleted_descendants: descendants.len() as u64,
        })
    }

    async fn prune(
        &self,
        cutoffs: &[PruneCutoff],
        limit: u32,
        after: Option<PruneCursor>,
        dry_run: bool,
    ) -> StorageResult<PruneOutcome> {
        let mut state = self.lock();
        let mut roots: Vec<String> = Vec::new();
        let mut last: Option<PruneCursor> = None;
        let cutoffs = retention::effective(cutoffs);
        for (cutoff, (after_at, after_seq)) in PruneCursor::bounds(after.as_ref(), &cutoffs) {
            let status = cutoff.status.as_str();
            // The row sequence numbers are the memory backend's `id`.
            let from = (status, after_at, u64::try_from(after_seq).unwrap_or(0));
            let to = (status, cutoff.finished_before, 0);
            if from >= to {
                // BTreeMap::range panics on an empty (or reversed) range.
                continue;
            }
            let range = (Bound::Excluded(from), Bound::Excluded(to));
            for (&(_, finished_at, seq), id) in state.idx.closed_roots.range(range) {
                if roots.len() >= limit as usize {
                    break;
                }
                if state.tree_settled(id) {
                    roots.push(id.clone());
                    last = Some(PruneCursor {
                        status: cutoff.status,
                        finished_at,
                        id: i64::try_from(seq).unwrap_or(i64::MAX),
                    });
                }
            }
        }
        let full = roots.len() >= limit as usize;
        let mut outcome = PruneOutcome::default();
        for root in &roots {
            let tree = state.descendants(root);
            outcome.roots += 1;
            outcome.executions += 1 + tree.len() as u64;
            if !dry_run {
                for id in &tree {
                    state.remove_row(id);
                }
                state.remove_row(root);
            }
        }
        if full && !dry_run {
            outcome.next = last;
        }
        Ok(outcome)
    }

    async fn delete_all(&self) -> StorageResult<u64> {
        let mut state = self.lock();
        let n = state.rows.len() as u64;
        *state = State::default();
        Ok(n)
    }

    fn subscribe(&self) -> broadcast::Receiver<StorageEvent> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RetryOptions;

    const T0: Millis = 1_000_000;

    fn new(id: &str) -> NewExecution {
        NewExecution {
            execution_id: id.to_owned(),
            task_id: "t".to_owned(),
            root: None,
            parent: None,
            retry_options: RetryOptions::default(),
            sleep_ms_before_run: 0,
            timeout_ms: 1_000,
            input: "null".to_owned(),
            created_at: T0,
            sleeping_key: None,
        }
    }

    /// Whatever `rx` received so far.
    fn received(rx: &mut tokio::sync::broadcast::Receiver<StorageEvent>) -> Vec<StorageEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    /// A claim at insert that claims every new row wakes nobody; one that
    /// leaves a new row ready does (the memory backend sends its events
    /// synchronously).
    #[tokio::test]
    async fn claims_at_insert_wake_only_for_rows_left_ready() {
        let storage = MemoryStorage::new();
        let mut events = storage.subscribe();
        let claimed = storage
            .insert_and_claim(&[new("a")], "ex", T0, 1, 0, 30_000)
            .await
            .unwrap_or_default();
        assert_eq!(claimed.len(), 1);
        assert!(received(&mut events).is_empty());
        let claimed = storage
            .insert_and_claim(&[new("b"), new("c")], "ex", T0, 1, 0, 30_000)
            .await
            .unwrap_or_default();
        assert_eq!(claimed.len(), 1);
        assert_eq!(received(&mut events), [StorageEvent::ReadyWork]);
    }
}
