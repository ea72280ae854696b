//! The background retention pruner (docs/design.md, "Retention"): it
//! deletes old finished trees in batches, keeps what its policy keeps, and
//! can be turned off.

use crate::common::{Factory, eventually, fast_options, start_with};
use durable_execution::model::{ExecutionStatus, now_millis};
use durable_execution::storage::{MethodName, Storage, StorageWrapper};
use durable_execution::{ParentOutput, ParentTask, RetentionPolicy, Task, TaskContext, TaskError};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A storage that counts its `prune` calls.
#[derive(Debug)]
struct CountingPrunes {
    inner: Arc<dyn Storage>,
    prunes: Arc<AtomicU32>,
}

impl StorageWrapper for CountingPrunes {
    const FORWARD_INSERT_AND_CLAIM: bool = true;

    fn inner(&self) -> &dyn Storage {
        &*self.inner
    }

    fn around<'a, T: Send + 'a>(
        &'a self,
        method: MethodName,
        call: BoxFuture<'a, T>,
    ) -> BoxFuture<'a, T> {
        if method == "prune" {
            self.prunes.fetch_add(1, Ordering::SeqCst);
        }
        call
    }
}

async fn total_rows(storage: &Arc<dyn Storage>) -> u64 {
    let stats = storage.stats(now_millis()).await.unwrap();
    stats.counts.iter().map(|(_, _, n)| n).sum()
}

/// Polls the row count until it is `expected` (or 20 s passed); returns
/// the last count.
async fn rows_until(storage: &Arc<dyn Storage>, expected: u64) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rows = total_rows(storage).await;
        if rows == expected || std::time::Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn tasks() -> (Task<u32, u32>, Task<(), ()>, ParentTask<(), String>) {
    let double = Task::new("retention_double", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n * 2)
    });
    let fail = Task::new("retention_fail", |_ctx: TaskContext, _: ()| async {
        Err::<(), _>(TaskError::non_retryable("boom"))
    });
    let child = double.clone();
    let parent = ParentTask::new("retention_parent", move |_ctx: TaskContext, _: ()| {
        let child = child.clone();
        async move {
            Ok::<_, TaskError>(
                ParentOutput::new("own".to_owned())
                    .child(child.child(1))
                    .child(child.child(2)),
            )
        }
    });
    (double, fail, parent)
}

/// With a short retention, the pruner deletes every finished tree (a
/// parent with its children, single tasks) once it is old enough, several
/// batches per round, and keeps the status its policy keeps forever.
pub async fn background_pruning_deletes_old_trees(factory: Factory) {
    let storage = factory("background_pruning_deletes_old_trees").await;
    let (double, fail, parent) = tasks();
    let policy = RetentionPolicy::keep_for(Duration::from_millis(300))
        .keep_forever(ExecutionStatus::Failed)
        .interval(Duration::from_millis(20))
        .batch(2);
    let executor = start_with(&storage, fast_options().retention(policy), |b| {
        b.register(&double).register(&fail).register(&parent)
    });
    let mut handles = Vec::new();
    for n in 0..3 {
        handles.push(
            executor
                .enqueue(&double, n)
                .await
                .unwrap()
                .untyped()
                .clone(),
        );
    }
    handles.push(
        executor
            .enqueue(&parent, ())
            .await
            .unwrap()
            .untyped()
            .clone(),
    );
    let failed = executor.enqueue(&fail, ()).await.unwrap();
    for handle in &handles {
        assert_eq!(
            handle.wait().await.unwrap().status,
            ExecutionStatus::Completed
        );
    }
    assert_eq!(failed.wait().await.unwrap().status, ExecutionStatus::Failed);
    // 3 single tasks, the parent and its 2 children: pruned; the failure kept.
    let left = rows_until(&storage, 1).await;
    assert_eq!(left, 1, "{left} executions left");
    let kept = storage
        .get(&[failed.execution_id().to_owned()])
        .await
        .unwrap();
    assert_eq!(kept.len(), 1, "the failure is kept forever");
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// `retention(None)`: the pruner never runs, so old finished executions
/// stay; the same storage with retention on is pruned.
pub async fn retention_can_be_turned_off(factory: Factory) {
    let inner = factory("retention_can_be_turned_off").await;
    let prunes = Arc::new(AtomicU32::new(0));
    let storage: Arc<dyn Storage> = Arc::new(CountingPrunes {
        inner: inner.clone(),
        prunes: prunes.clone(),
    });
    let (double, _, _) = tasks();
    let off = start_with(&storage, fast_options().retention(None), |b| {
        b.register(&double)
    });
    let handle = off.enqueue(&double, 1).await.unwrap();
    assert_eq!(handle.wait_output().await.unwrap(), 2);
    // Long enough for many rounds of a pruner with a 20 ms interval.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(prunes.load(Ordering::SeqCst), 0, "no prune call");
    assert_eq!(total_rows(&inner).await, 1);
    off.shutdown(Duration::from_secs(1)).await.unwrap();

    let on = start_with(
        &storage,
        fast_options().retention(
            RetentionPolicy::keep_for(Duration::ZERO).interval(Duration::from_millis(20)),
        ),
        |b| b.register(&double),
    );
    let counted = prunes.clone();
    assert!(
        eventually(Duration::from_secs(20), || counted.load(Ordering::SeqCst)
            > 0)
        .await,
        "the pruner runs"
    );
    assert_eq!(
        rows_until(&inner, 0).await,
        0,
        "the old execution is pruned"
    );
    on.shutdown(Duration::from_secs(1)).await.unwrap();
}
