//! Two executors on one storage and the no-double-run check (docs/design.md, "Leases and fencing").

use crate::common::{Factory, fast_options, start_with};
use durable_execution::model::ExecutionStatus;
use durable_execution::{ParentOutput, ParentResult, ParentTask, Task, TaskContext, TaskError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// CS1: children registered on both executors with different speeds; the
/// outputs come back in index order.
pub async fn children_across_executors(factory: Factory) {
    let storage = factory("children_across_executors").await;
    let make = |slow: bool| {
        let children: Vec<Task<(), String>> = [("child1", 50), ("child2", 60), ("child3", 55)]
            .into_iter()
            .map(|(id, ms)| {
                Task::new(id, move |_ctx: TaskContext, _: ()| async move {
                    if slow {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                    }
                    Ok::<_, TaskError>(format!("{id}_result"))
                })
            })
            .collect();
        let c = children.clone();
        let parent = ParentTask::new("concurrent_parent", move |_ctx: TaskContext, _: ()| {
            let c = c.clone();
            async move {
                Ok::<_, TaskError>(ParentOutput::new(()).children(c.iter().map(|t| t.child(()))))
            }
        })
        .timeout(Duration::from_secs(2));
        (parent, children)
    };
    let (p1, c1) = make(true);
    let (p2, c2) = make(false);
    let e1 = start_with(&storage, fast_options(), |b| {
        c1.iter().fold(b.register(&p1), |b, c| b.register(c))
    });
    let e2 = start_with(&storage, fast_options(), |b| {
        c2.iter().fold(b.register(&p2), |b, c| b.register(c))
    });
    let done = e1.enqueue(&p1, ()).await.unwrap().wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    let result: ParentResult<(), String> = done.output().unwrap();
    assert_eq!(
        result.children,
        vec!["child1_result", "child2_result", "child3_result"]
    );
    e1.shutdown(Duration::from_secs(1)).await.unwrap();
    e2.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// CS2 + the no-double-run check: 1,000 tasks split across two executors,
/// each runs exactly once, and 20 parents with 20 children each all
/// complete (no parent left hanging). The tasks are held until both
/// executors have started one (each holds at most its capacity, so the
/// other one finds work whatever the claim order): both take part.
pub async fn two_executors_run_each_task_once(factory: Factory) {
    let storage = factory("two_executors_run_each_task_once").await;
    let runs: Arc<Vec<AtomicU32>> = Arc::new((0..1000).map(|_| AtomicU32::new(0)).collect());
    let by_executor = Arc::new(Mutex::new(HashMap::<String, u32>::new()));
    let (release, released) = watch::channel(false);
    let make = |name: &'static str| {
        let runs = runs.clone();
        let by_executor = by_executor.clone();
        let released = released.clone();
        let task = Task::new("count", move |_ctx: TaskContext, i: usize| {
            let runs = runs.clone();
            let by_executor = by_executor.clone();
            let mut released = released.clone();
            async move {
                runs[i].fetch_add(1, Ordering::SeqCst);
                *by_executor
                    .lock()
                    .unwrap()
                    .entry(name.to_owned())
                    .or_default() += 1;
                released.wait_for(|released| *released).await.unwrap();
                if i.is_multiple_of(3) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Ok::<_, TaskError>(i)
            }
        });
        let child = Task::new("leaf", |_ctx: TaskContext, i: u32| async move {
            Ok::<_, TaskError>(i)
        });
        let c = child.clone();
        let parent = ParentTask::new("fan_out", move |_ctx: TaskContext, n: u32| {
            let c = c.clone();
            async move { Ok::<_, TaskError>(ParentOutput::new(n).children((0..n).map(|i| c.child(i)))) }
        });
        (task, child, parent)
    };
    let (t1, l1, p1) = make("one");
    let (t2, l2, p2) = make("two");
    let options = || fast_options().max_batch(50).close_batch(50);
    let e1 = start_with(&storage, options(), |b| {
        b.register(&t1).register(&l1).register(&p1)
    });
    let e2 = start_with(&storage, options(), |b| {
        b.register(&t2).register(&l2).register(&p2)
    });
    let mut handles = e1.enqueue_many(&t1, 0..500).await.unwrap();
    handles.extend(e2.enqueue_many(&t2, 500..1000).await.unwrap());
    let parents = e1.enqueue_many(&p1, vec![20; 20]).await.unwrap();
    assert!(
        crate::common::eventually(Duration::from_secs(30), || by_executor
            .lock()
            .unwrap()
            .len()
            == 2)
        .await,
        "an executor never started a task"
    );
    release.send(true).unwrap();
    for (i, handle) in handles.iter().enumerate() {
        let done = handle.wait().await.unwrap();
        assert_eq!(done.output::<usize>().unwrap(), i);
    }
    for handle in parents {
        let done = handle
            .wait_with(durable_execution::WaitOptions::new().timeout(Duration::from_secs(20)))
            .await
            .unwrap();
        let result: ParentResult<u32, u32> = done.output().unwrap();
        assert_eq!(result.children, (0..20).collect::<Vec<_>>());
    }
    for (i, count) in runs.iter().enumerate() {
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "task {i} ran a wrong number of times"
        );
    }
    let split = by_executor.lock().unwrap().clone();
    assert_eq!(split.values().sum::<u32>(), 1000);
    assert!(split.values().all(|n| *n > 0), "{split:?}");
    e1.shutdown(Duration::from_secs(1)).await.unwrap();
    e2.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// CS3: a parent with 1,000 children processed by two executors.
pub async fn thousand_children_two_executors(factory: Factory) {
    let storage = factory("thousand_children_two_executors").await;
    let make = || {
        let child = Task::new("fast_child", |_ctx: TaskContext, i: u32| async move {
            tokio::time::sleep(Duration::from_millis(u64::from(i % 3))).await;
            Ok::<_, TaskError>(i)
        });
        let c = child.clone();
        let parent = ParentTask::new("conflict_parent", move |_ctx: TaskContext, n: u32| {
            let c = c.clone();
            async move { Ok::<_, TaskError>(ParentOutput::new(()).children((0..n).map(|i| c.child(i)))) }
        });
        (child, parent)
    };
    let (c1, p1) = make();
    let (c2, p2) = make();
    let e1 = start_with(&storage, fast_options().close_batch(64), |b| {
        b.register(&p1).register(&c1)
    });
    let e2 = start_with(&storage, fast_options().close_batch(64), |b| {
        b.register(&p2).register(&c2)
    });
    let done = e1.enqueue(&p1, 1000).await.unwrap().wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    let result: ParentResult<(), u32> = done.output().unwrap();
    assert_eq!(result.children, (0..1000).collect::<Vec<_>>());
    e1.shutdown(Duration::from_secs(1)).await.unwrap();
    e2.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A cancellation made through another executor reaches the run hosted
/// here (at the next canceller poll): its token fires and the slot frees.
pub async fn cancel_from_another_executor(factory: Factory) {
    let storage = factory("cancel_from_another_executor").await;
    let fired = Arc::new(AtomicU32::new(0));
    let f = fired.clone();
    let slow = Task::new("slow", move |ctx: TaskContext, _: ()| {
        let f = f.clone();
        async move {
            let token = ctx.cancellation().clone();
            tokio::spawn(async move {
                token.cancelled().await;
                f.fetch_add(1, Ordering::SeqCst);
            });
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, TaskError>(())
        }
    })
    .timeout(Duration::from_secs(60));
    let worker = start_with(&storage, fast_options(), |b| b.register(&slow));
    let client = durable_execution::Executor::builder(storage.clone())
        .options(fast_options().build().unwrap())
        .register(&slow)
        .build()
        .unwrap();
    let handle = client.enqueue(&slow, ()).await.unwrap();
    let id = handle.execution_id().to_owned();
    assert!(
        crate::common::eventually(Duration::from_secs(5), || worker
            .running_execution_ids()
            .contains(&id))
        .await
    );
    handle.cancel().await.unwrap();
    assert!(
        crate::common::eventually(Duration::from_secs(5), || fired.load(Ordering::SeqCst) == 1)
            .await
    );
    assert!(
        crate::common::eventually(Duration::from_secs(5), || worker
            .running_execution_ids()
            .is_empty())
        .await
    );
    let done = handle.get().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled);
    assert!(!done.needs_cancel);
    worker.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// An executor that does not know a parent's task leaves the parent to one
/// that does, instead of failing it, even when it closes the last child.
pub async fn unknown_parent_left_to_knowing_executor(factory: Factory) {
    let storage = factory("unknown_parent_left_to_knowing_executor").await;
    let child = Task::new("leaf", |_ctx: TaskContext, i: u32| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok::<_, TaskError>(i)
    });
    let c = child.clone();
    let parent = ParentTask::new("fan_out", move |_ctx: TaskContext, n: u32| {
        let c = c.clone();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children((0..n).map(|i| c.child(i)))) }
    });
    let knowing = start_with(&storage, fast_options().max_concurrent_executions(2), |b| {
        b.register(&parent).register(&child)
    });
    let handle = knowing.enqueue(&parent, 20).await.unwrap();
    // The helper starts only once the parent waits: started earlier, it
    // could claim the parent itself (a task it does not know: failed).
    let waiting = async {
        while handle.get().await.unwrap().status != ExecutionStatus::WaitingForChildrenTasks {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the parent never waited for its children");
    // The second executor knows only the children and runs most of them.
    let helper = start_with(&storage, fast_options(), |b| b.register(&child));
    let done = handle
        .wait_with(durable_execution::WaitOptions::new().timeout(Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed, "{:?}", done.error);
    let result: ParentResult<(), u32> = done.output().unwrap();
    assert_eq!(result.children, (0..20).collect::<Vec<_>>());
    knowing.shutdown(Duration::from_secs(1)).await.unwrap();
    helper.shutdown(Duration::from_secs(1)).await.unwrap();
}
