//! Concurrent cancellations of overlapping subtrees from several handles,
//! while two executors host the runs.

use crate::common::{Backend, SharedDb, eventually, fast_options, status_counts};
use durable_execution::model::{ErrorKind, ExecutionStatus};
use durable_execution::storage::Storage;
use durable_execution::{
    ExecutionHandle, Executor, ParentOutput, ParentTask, Task, TaskContext, TaskError,
};
use std::sync::Arc;
use std::time::Duration;

const MIDS: u32 = 10;
const LEAVES: u32 = 8;
const ROOTS: u32 = 3;

struct Definitions {
    leaf: Task<u32, u32>,
    mid: ParentTask<u32, u32>,
    root: ParentTask<u32, u32>,
}

fn definitions() -> Definitions {
    let leaf = Task::new("leaf", |_ctx: TaskContext, i: u32| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<_, TaskError>(i)
    });
    let l = leaf.clone();
    let mid = ParentTask::new("mid", move |_ctx: TaskContext, n: u32| {
        let l = l.clone();
        async move { Ok::<_, TaskError>(ParentOutput::new(n).children((0..LEAVES).map(|i| l.child(i)))) }
    });
    let m = mid.clone();
    let root = ParentTask::new("root", move |_ctx: TaskContext, n: u32| {
        let m = m.clone();
        async move { Ok::<_, TaskError>(ParentOutput::new(n).children((0..MIDS).map(|i| m.child(i)))) }
    });
    Definitions { leaf, mid, root }
}

fn executor(storage: Arc<dyn Storage>, d: &Definitions, start: bool) -> Executor {
    let executor = Executor::builder(storage)
        .options(fast_options().build().unwrap())
        .register(&d.leaf)
        .register(&d.mid)
        .register(&d.root)
        .build()
        .unwrap();
    if start {
        executor.start().unwrap();
    }
    executor
}

/// Three trees (10 mids x 8 leaves each) run on two executors; once every
/// leaf runs, each root, mid and leaf is cancelled at the same time from
/// two client handles. Every cancel call succeeds (no deadlock between
/// the overlapping subtree updates), every execution ends cancelled (or,
/// for a parent, failed by a child's cancellation) and closed, no run is
/// left.
pub async fn concurrent_overlapping_cancels(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let d = definitions();
    let e1 = executor(db.handle().await, &d, true);
    let e2 = executor(db.handle().await, &d, true);
    let clients = [
        executor(db.handle().await, &d, false),
        executor(db.handle().await, &d, false),
    ];
    let storage = db.handle().await;
    let roots = e1.enqueue_many(&d.root, 0..ROOTS).await.unwrap();
    let total = u64::from(ROOTS * (1 + MIDS * (1 + LEAVES)));
    let all_running = eventually(Duration::from_secs(20), async || {
        status_counts(&storage)
            .await
            .get(&ExecutionStatus::Running)
            .copied()
            == Some(u64::from(ROOTS * MIDS * LEAVES))
    })
    .await;
    assert!(all_running, "{:?}", status_counts(&storage).await);

    // Every execution of every tree, as a handle of one of the clients.
    let mut targets: Vec<ExecutionHandle> = Vec::new();
    for (r, root) in roots.iter().enumerate() {
        let client = &clients[r % 2];
        targets.push(
            client
                .handle(&d.root, root.execution_id())
                .await
                .unwrap()
                .into(),
        );
        for mid in root.children().await.unwrap() {
            let mid = client.handle(&d.mid, &mid.execution_id).await.unwrap();
            for leaf in mid.children().await.unwrap() {
                targets.push(
                    clients[(r + 1) % 2]
                        .handle(&d.leaf, &leaf.execution_id)
                        .await
                        .unwrap()
                        .into(),
                );
            }
            targets.push(mid.into());
        }
    }
    assert_eq!(targets.len() as u64, total);
    // Leaves, mids and roots interleaved, all at once.
    let results = futures::future::join_all(targets.iter().map(|t| t.cancel())).await;
    let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "cancel calls failed: {failed:?}");

    // Every leaf is cancelled. A parent is cancelled too, unless the
    // cancellation of one of its children was closed first: that fails it
    // (`children_tasks_failed`, docs/design.md "Closing") and its own cancel finds it finished.
    let settled = eventually(Duration::from_secs(20), async || {
        let counts = status_counts(&storage).await;
        counts
            .get(&ExecutionStatus::Cancelled)
            .copied()
            .unwrap_or(0)
            + counts
                .get(&ExecutionStatus::ChildrenTasksFailed)
                .copied()
                .unwrap_or(0)
            == total
            && e1.running_execution_ids().is_empty()
            && e2.running_execution_ids().is_empty()
    })
    .await;
    assert!(settled, "{:?}", status_counts(&storage).await);
    let ids: Vec<String> = targets
        .iter()
        .map(|t| t.execution_id().to_owned())
        .collect();
    let closed = eventually(Duration::from_secs(20), async || {
        storage
            .get(&ids)
            .await
            .unwrap()
            .into_iter()
            .all(|row| row.unwrap().is_closed)
    })
    .await;
    assert!(closed);
    for row in storage.get(&ids).await.unwrap() {
        let row = row.unwrap();
        match row.status {
            ExecutionStatus::Cancelled => {
                assert_eq!(row.error.unwrap().kind, ErrorKind::Cancelled);
            }
            ExecutionStatus::ChildrenTasksFailed => {
                assert_ne!(row.task_id, "leaf");
                assert!(!row.children_errors.is_empty());
                // Each entry is a cancelled child, or a mid failed that way.
                for entry in &row.children_errors {
                    assert!(
                        entry.error.kind == ErrorKind::Cancelled
                            || (entry.task_id == "mid"
                                && entry.error.message.starts_with("Children task errors:")),
                        "{row:?}"
                    );
                }
            }
            _ => panic!("{row:?}"),
        }
        assert!(row.executor_id.is_none() || row.status == ExecutionStatus::Cancelled);
    }
    e1.shutdown(Duration::from_secs(5)).await.unwrap();
    e2.shutdown(Duration::from_secs(5)).await.unwrap();
}
