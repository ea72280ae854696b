//! Claiming at enqueue (`src/executor/runtime/enqueue.rs`, docs/design.md
//! "Claiming at enqueue"): a started executor with free slots claims in
//! its enqueue's own commit, unless older work is ready; without a free
//! slot, or with the option off, the execution is left to the claimers.
//!
//! The storage here refuses every `claim_ready` (the claimers' call), so
//! whatever runs was claimed at enqueue.

use crate::common::{Factory, fast_options, start_with};
use async_trait::async_trait;
use durable_execution::model::{ExecutionStatus, Loaded, Millis};
use durable_execution::storage::{Storage, StorageError, StorageResult, StorageWrapper};
use durable_execution::{Executor, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::time::Duration;

/// Forwards everything but `claim_ready`, which always fails (transient):
/// the claimer loop never claims.
#[derive(Debug)]
struct NoClaimer(Arc<dyn Storage>);

#[async_trait]
impl StorageWrapper for NoClaimer {
    const FORWARD_INSERT_AND_CLAIM: bool = true;

    fn inner(&self) -> &dyn Storage {
        &*self.0
    }
    async fn claim_ready(
        &self,
        _executor_id: &str,
        _now: Millis,
        _limit: u32,
        _lease_slack_ms: u64,
        _lease_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        Err(StorageError::transient("no_claimer", "claims are refused"))
    }
}

fn echo() -> Task<u32, u32> {
    Task::new("echo", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n)
    })
}

async fn no_claimer(factory: &Factory, name: &str) -> Arc<dyn Storage> {
    Arc::new(NoClaimer(factory(name).await))
}

fn executor(storage: &Arc<dyn Storage>, task: &Task<u32, u32>, claim_at_enqueue: bool) -> Executor {
    start_with(
        storage,
        fast_options().claim_at_enqueue(claim_at_enqueue),
        |b| b.register(task),
    )
}

/// An idle executor runs what it enqueues, one by one or many at once,
/// without its claimer; with the option off, nothing runs.
pub async fn an_idle_executor_runs_what_it_enqueues(factory: Factory) {
    let storage = no_claimer(&factory, "an_idle_executor_runs_what_it_enqueues").await;
    let task = echo();
    let claiming = executor(&storage, &task, true);
    let one = claiming.enqueue(&task, 7).await.unwrap();
    assert_eq!(one.wait_output().await.unwrap(), 7);
    let many = claiming.enqueue_many(&task, 0..5).await.unwrap();
    for (i, handle) in many.iter().enumerate() {
        assert_eq!(handle.wait_output().await.unwrap(), i as u32);
    }
    claiming.shutdown(Duration::from_secs(5)).await.unwrap();

    let leaving = executor(&storage, &task, false);
    let left = leaving.enqueue(&task, 8).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(left.get().await.unwrap().status, ExecutionStatus::Ready);
    leaving.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// An enqueue never runs its new execution ahead of an older ready one:
/// with an older execution waiting, it claims nothing and both are left
/// to the claimers.
pub async fn an_enqueue_claims_older_work_first(factory: Factory) {
    let storage = no_claimer(&factory, "an_enqueue_claims_older_work_first").await;
    let task = echo();
    let leaving = executor(&storage, &task, false);
    let old = leaving.enqueue(&task, 1).await.unwrap();
    leaving.shutdown(Duration::from_secs(5)).await.unwrap();
    // A later start_at than the old one's (millisecond timestamps).
    tokio::time::sleep(Duration::from_millis(5)).await;
    let claiming = start_with(
        &storage,
        // Two slots, and the claimer takes at most one for its (refused)
        // claims: the enqueue always finds a free one.
        fast_options()
            .claim_at_enqueue(true)
            .max_concurrent_executions(2)
            .max_batch(1),
        |b| b.register(&task),
    );
    let new = claiming.enqueue(&task, 2).await.unwrap();
    assert_eq!(new.get().await.unwrap().status, ExecutionStatus::Ready);
    // The enqueue claimed nothing: the older execution is the claimers'.
    claiming.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(old.get().await.unwrap().status, ExecutionStatus::Ready);
    assert_eq!(new.get().await.unwrap().status, ExecutionStatus::Ready);
}

/// Without a free slot an enqueue claims nothing: the new execution is
/// `ready` when the enqueue returns, and the claimer runs it once the slot
/// is free (here with a storage whose claimer works).
pub async fn an_enqueue_without_a_free_slot_leaves_it_ready(factory: Factory) {
    let storage = factory("an_enqueue_without_a_free_slot_leaves_it_ready").await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let g = gate.clone();
    let task = Task::new("gated", move |_ctx: TaskContext, n: u32| {
        let g = g.clone();
        async move {
            if n == 0 {
                let _permit = g.acquire().await;
            }
            Ok::<_, TaskError>(n)
        }
    });
    let executor = start_with(&storage, fast_options().max_concurrent_executions(1), |b| {
        b.register(&task)
    });
    let busy = executor.enqueue(&task, 0).await.unwrap();
    assert!(
        crate::common::eventually(Duration::from_secs(5), || executor
            .running_execution_ids()
            .contains(&busy.execution_id().to_owned()))
        .await
    );
    let waiting = executor.enqueue(&task, 1).await.unwrap();
    assert_eq!(waiting.get().await.unwrap().status, ExecutionStatus::Ready);
    gate.add_permits(1);
    assert_eq!(busy.wait_output().await.unwrap(), 0);
    assert_eq!(waiting.wait_output().await.unwrap(), 1);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
