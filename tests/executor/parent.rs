//! Parent tasks, children and finalize (docs/design.md, "Closing" and "Defects not copied").

use crate::common::{Counter, Factory, FaultyStorage, eventually, fast_options, start, start_with};
use durable_execution::model::{ErrorKind, ExecutionStatus};
use durable_execution::storage::Storage;
use durable_execution::{
    FinalizeInput, ParentOutput, ParentResult, ParentTask, Task, TaskContext, TaskError,
};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn child_task(id: &'static str, calls: &Counter) -> Task<(), String> {
    let c = calls.clone();
    Task::new(id, move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok::<_, TaskError>(format!("{id}_output"))
        }
    })
}

fn failing_child(id: &'static str, calls: &Counter) -> Task<(), String> {
    let c = calls.clone();
    Task::new(id, move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            Err::<String, _>(TaskError::new(format!("{id} error")))
        }
    })
}

fn join_finalize<I>(
    id: &'static str,
    calls: &Counter,
) -> Task<FinalizeInput<I, String, String>, String>
where
    I: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    let c = calls.clone();
    Task::new(
        id,
        move |_ctx: TaskContext, input: FinalizeInput<I, String, String>| {
            let c = c.clone();
            async move {
                c.hit();
                let mut parts = vec![input.output];
                parts.extend(input.children);
                if parts.len() == 1 {
                    parts.push(String::new());
                }
                Ok::<_, TaskError>(parts.join("_"))
            }
        },
    )
}

/// P1/X7: children outputs come back in spawn order next to the parent's output.
pub async fn children_outputs_in_order(factory: Factory) {
    let storage = factory("children_outputs_in_order").await;
    let calls = Counter::new();
    let child1 = child_task("child1", &calls);
    let child2 = child_task("child2", &calls);
    let (c, c1, c2) = (calls.clone(), child1.clone(), child2.clone());
    let parent = ParentTask::new("test", move |_ctx: TaskContext, _: ()| {
        let (c, c1, c2) = (c.clone(), c1.clone(), c2.clone());
        async move {
            c.hit();
            Ok::<_, TaskError>(
                ParentOutput::new("test_output".to_owned())
                    .child(c1.child(()))
                    .child(c2.child(())),
            )
        }
    });
    let executor = start(&storage, |b| {
        b.register(&parent).register(&child1).register(&child2)
    });
    let handle = executor.enqueue(&parent, ()).await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    let result: ParentResult<String, String> = done.output().unwrap();
    assert_eq!(result.output, "test_output");
    assert_eq!(result.children, vec!["child1_output", "child2_output"]);
    assert_eq!(calls.get(), 3);
    let children = handle.children().await.unwrap();
    assert_eq!(children.len(), 2);
    for (i, child) in children.iter().enumerate() {
        assert!(child.execution_id.starts_with("te_"));
        let parent_ref = child.parent.clone().unwrap();
        assert_eq!(parent_ref.index as usize, i);
        assert!(!parent_ref.is_finalize);
        assert_eq!(parent_ref.execution_id, handle.execution_id());
        assert_eq!(
            child.root.clone().unwrap().execution_id,
            handle.execution_id()
        );
    }
    assert_eq!(children[0].task_id, "child1");
    assert_eq!(children[1].task_id, "child2");
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// P2: no children, no finalize.
pub async fn no_children(factory: Factory) {
    let storage = factory("no_children").await;
    let parent = ParentTask::new("test", |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>(ParentOutput::new("test_output".to_owned()))
    });
    let executor = start(&storage, |b| b.register(&parent));
    let done = executor
        .enqueue(&parent, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(
        done.output::<serde_json::Value>().unwrap(),
        serde_json::json!({"output": "test_output", "children": []})
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// P3/P4/X8: the finalize receives the parent's input and output and the
/// children outputs; its output is the parent's output.
pub async fn finalize_combines_outputs(factory: Factory) {
    let storage = factory("finalize_combines_outputs").await;
    let calls = Counter::new();
    let child1 = child_task("child1", &calls);
    let child2 = child_task("child2", &calls);
    let finalize = join_finalize("finalize", &calls);
    let (c, c1, c2) = (calls.clone(), child1.clone(), child2.clone());
    let with_children = ParentTask::new("test", move |_ctx: TaskContext, _: ()| {
        let (c, c1, c2) = (c.clone(), c1.clone(), c2.clone());
        async move {
            c.hit();
            Ok::<_, TaskError>(
                ParentOutput::new("test_output".to_owned()).children([c1.child(()), c2.child(())]),
            )
        }
    })
    .finalize(&finalize);
    let c = calls.clone();
    let alone_finalize = join_finalize("alone_finalize", &calls);
    let alone = ParentTask::new("alone", move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            Ok::<_, TaskError>(ParentOutput::new("test_output".to_owned()))
        }
    })
    .finalize(&alone_finalize);
    let executor = start(&storage, |b| {
        b.register(&with_children)
            .register(&alone)
            .register(&child1)
            .register(&child2)
    });
    let done = executor
        .enqueue(&with_children, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(
        done.output::<String>().unwrap(),
        "test_output_child1_output_child2_output"
    );
    assert_eq!(calls.get(), 4);
    assert!(done.finalize_execution_id.is_some());
    let done = executor
        .enqueue(&alone, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.output::<String>().unwrap(), "test_output_");
    assert_eq!(calls.get(), 6);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// P7/P8/D5: failing children fail the parent; the finalize never runs.
pub async fn failing_children_fail_parent(factory: Factory) {
    // The closer can be held back (injected close failures) so that both
    // failures of the second parent are stored before either is closed.
    let faulty = Arc::new(FaultyStorage::new(
        factory("failing_children_fail_parent").await,
    ));
    let storage: Arc<dyn Storage> = faulty.clone();
    let calls = Counter::new();
    let child1 = failing_child("child1", &calls);
    let child2 = child_task("child2", &calls);
    let child3 = failing_child("child3", &calls);
    let finalize_calls = Counter::new();
    let finalize = join_finalize("finalize", &finalize_calls);
    let (c1, c2, c3) = (child1.clone(), child2.clone(), child3.clone());
    let parent = ParentTask::new("test", move |_ctx: TaskContext, both: bool| {
        let (c1, c2, c3) = (c1.clone(), c2.clone(), c3.clone());
        async move {
            let second = if both { c3.child(()) } else { c2.child(()) };
            Ok::<_, TaskError>(
                ParentOutput::new("test_output".to_owned()).children([c1.child(()), second]),
            )
        }
    })
    .finalize(&finalize);
    let executor = start(&storage, |b| {
        b.register(&parent)
            .register(&child1)
            .register(&child2)
            .register(&child3)
    });
    let handle = executor.enqueue(&parent, false).await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::ChildrenTasksFailed);
    // child2 may still be cancelled if the parent failed before it
    // completed; such an entry is a cancellation, recorded after child1's.
    assert!(!done.children_errors.is_empty());
    for other in &done.children_errors[1..] {
        assert_eq!(other.index, 1);
        assert_eq!(other.error.kind, ErrorKind::Cancelled);
    }
    let entry = &done.children_errors[0];
    assert_eq!(entry.index, 0);
    assert_eq!(entry.task_id, "child1");
    assert!(entry.execution_id.starts_with("te_"));
    assert_eq!(entry.error.message, "child1 error");
    assert_eq!(entry.error.kind, ErrorKind::Generic);
    assert!(entry.error.is_retryable);
    let err = done.output::<String>().unwrap_err();
    assert!(err.to_string().contains("child1 error"), "{err}");

    // Both children fail. The first failure to be closed fails the parent
    // and cancels a sibling that is still running, so on a real database
    // (where the two results may be written in separate batches) the second
    // child could be cancelled before its own failure is stored. Hold the
    // closer back until both failures are stored: this pins the timing, the
    // assertions below keep their meaning (both children's own errors).
    faulty.fail_close.store(u32::MAX, Ordering::SeqCst);
    let handle = executor.enqueue(&parent, true).await.unwrap();
    let both_failed = async {
        loop {
            let children = handle.children().await.unwrap();
            if children.len() == 2 && children.iter().all(|c| c.status == ExecutionStatus::Failed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), both_failed)
        .await
        .expect("both children fail");
    faulty.fail_close.store(0, Ordering::SeqCst);
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::ChildrenTasksFailed);
    // The second error may be recorded after the parent finished, when the
    // second child closes.
    let handle2 = executor.handle(&parent, &done.execution_id).await.unwrap();
    let mut errors = Vec::new();
    for _ in 0..500 {
        errors = handle2.get().await.unwrap().children_errors;
        if errors.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(errors.len(), 2, "{errors:#?}");
    errors.sort_by_key(|e| e.index);
    assert_eq!(errors[0].error.message, "child1 error");
    assert_eq!(errors[1].error.message, "child3 error");
    // The finalize never ran; both children of the second parent ran.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(finalize_calls.get(), 0);
    assert!(calls.get() >= 3);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// P9/D6: a failing finalize fails the parent with `finalize_task_failed`.
pub async fn failing_finalize_fails_parent(factory: Factory) {
    let storage = factory("failing_finalize_fails_parent").await;
    let calls = Counter::new();
    let child1 = child_task("child1", &calls);
    let c = calls.clone();
    let finalize = Task::new(
        "finalize",
        move |_ctx: TaskContext, _input: FinalizeInput<(), String>| {
            let c = c.clone();
            async move {
                c.hit();
                Err::<String, _>(TaskError::new("finalizeTask error"))
            }
        },
    );
    let c1 = child1.clone();
    let parent = ParentTask::new("test", move |_ctx: TaskContext, _: ()| {
        let c1 = c1.clone();
        async move {
            Ok::<_, TaskError>(ParentOutput::new("test_output".to_owned()).child(c1.child(())))
        }
    })
    .finalize(&finalize);
    let executor = start(&storage, |b| b.register(&parent).register(&child1));
    let done = executor
        .enqueue(&parent, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::FinalizeTaskFailed);
    let error = done.finalize_error.clone().unwrap();
    assert_eq!(error.message, "finalizeTask error");
    assert_eq!(error.kind, ErrorKind::Generic);
    assert!(error.is_retryable);
    assert_eq!(calls.get(), 2);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// P10: a finalize that is itself a parent with children and a finalize.
pub async fn finalize_can_be_a_parent(factory: Factory) {
    let storage = factory("finalize_can_be_a_parent").await;
    let calls = Counter::new();
    let child1 = child_task("child1", &calls);
    let child2 = child_task("child2", &calls);
    let fchild1 = child_task("finalizeTaskChild1", &calls);
    let fchild2 = child_task("finalizeTaskChild2", &calls);
    let c = calls.clone();
    let inner_finalize = Task::new(
        "inner_finalize",
        move |_ctx: TaskContext,
              input: FinalizeInput<FinalizeInput<(), String, String>, String, String>| {
            let c = c.clone();
            async move {
                c.hit();
                let mut parts = vec![input.output];
                parts.extend(input.children);
                Ok::<_, TaskError>(parts.join("_"))
            }
        },
    );
    let (c, f1, f2) = (calls.clone(), fchild1.clone(), fchild2.clone());
    let finalize = ParentTask::new(
        "finalize",
        move |_ctx: TaskContext, input: FinalizeInput<(), String, String>| {
            let (c, f1, f2) = (c.clone(), f1.clone(), f2.clone());
            async move {
                c.hit();
                let mut parts = vec![input.output];
                parts.extend(input.children);
                Ok::<_, TaskError>(
                    ParentOutput::new(parts.join("_")).children([f1.child(()), f2.child(())]),
                )
            }
        },
    )
    .finalize(&inner_finalize);
    let (c, c1, c2) = (calls.clone(), child1.clone(), child2.clone());
    let parent = ParentTask::new("test", move |_ctx: TaskContext, _: ()| {
        let (c, c1, c2) = (c.clone(), c1.clone(), c2.clone());
        async move {
            c.hit();
            Ok::<_, TaskError>(
                ParentOutput::new("test_output".to_owned()).children([c1.child(()), c2.child(())]),
            )
        }
    })
    .finalize(&finalize);
    let executor = start(&storage, |b| {
        b.register(&parent)
            .register(&child1)
            .register(&child2)
            .register(&fchild1)
            .register(&fchild2)
    });
    let done = executor
        .enqueue(&parent, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(
        done.output::<String>().unwrap(),
        "test_output_child1_output_child2_output_finalizeTaskChild1_output_finalizeTaskChild2_output"
    );
    assert_eq!(calls.get(), 7);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// D7: 250 children; outputs in index order whatever the completion order.
pub async fn many_children_in_order(factory: Factory) {
    let storage = factory("many_children_in_order").await;
    let child = Task::new("concurrent_child", |_ctx: TaskContext, i: u32| async move {
        tokio::time::sleep(Duration::from_millis(u64::from(i % 7))).await;
        Ok::<_, TaskError>(i)
    });
    let c = child.clone();
    let parent = ParentTask::new("concurrent_parent", move |_ctx: TaskContext, n: u32| {
        let c = c.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, TaskError>(ParentOutput::new(n).children((0..n).map(|i| c.child(i))))
        }
    });
    let executor = start(&storage, |b| b.register(&parent).register(&child));
    let done = executor
        .enqueue(&parent, 250)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    let result: ParentResult<u32, u32> = done.output().unwrap();
    assert_eq!(result.output, 250);
    assert_eq!(result.children, (0..250).collect::<Vec<_>>());
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Children of the large fan-out case: ten times the default
/// `max_children`, ten pages of the closer's children reads, ten insert
/// statements.
const MANY: u32 = 20_000;

/// One parent spawning 20,000 children: every child runs exactly once and
/// the parent's output lists every child's output in spawn order (the
/// children are inserted in chunks with the parent's transition and read
/// back page by page).
pub async fn twenty_thousand_children_run_once_in_order(factory: Factory) {
    let storage = factory("twenty_thousand_children_run_once_in_order").await;
    let runs: Arc<Vec<std::sync::atomic::AtomicU32>> =
        Arc::new((0..MANY).map(|_| Default::default()).collect());
    let child = {
        let runs = runs.clone();
        Task::new("fanout_child", move |_ctx: TaskContext, i: u32| {
            if let Some(count) = runs.get(i as usize) {
                count.fetch_add(1, Ordering::Relaxed);
            }
            async move { Ok::<_, TaskError>(i) }
        })
    };
    let c = child.clone();
    let parent = ParentTask::new("fanout_parent", move |_ctx: TaskContext, n: u32| {
        let children: Vec<_> = (0..n).map(|i| c.child(i)).collect();
        async move { Ok::<_, TaskError>(ParentOutput::new(n).children(children)) }
    });
    let options = fast_options()
        .max_children(MANY as usize)
        .max_concurrent_executions(2_000)
        .max_batch(1_024)
        .close_batch(4_096)
        .write_batch(4_096);
    let executor = start_with(&storage, options, |b| b.register(&parent).register(&child));
    let done = executor
        .enqueue(&parent, MANY)
        .await
        .unwrap()
        .wait_with(durable_execution::WaitOptions::new().timeout(Duration::from_secs(120)))
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed, "{:?}", done.error);
    assert_eq!((done.children_count, done.active_children_count), (MANY, 0));
    let result: ParentResult<u32, u32> = done.output().unwrap();
    assert_eq!(result.output, MANY);
    assert_eq!(result.children.len(), MANY as usize);
    assert!(result.children.iter().copied().eq(0..MANY));
    let ran_once = runs
        .iter()
        .filter(|c| c.load(Ordering::Relaxed) == 1)
        .count();
    assert_eq!(
        ran_once, MANY as usize,
        "children that did not run exactly once"
    );
    let stats = storage.stats(0).await.unwrap();
    let completed: u64 = stats
        .counts
        .iter()
        .filter(|(task, status, _)| task == "fanout_child" && *status == ExecutionStatus::Completed)
        .map(|(_, _, n)| *n)
        .sum();
    assert_eq!(completed, u64::from(MANY));
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A child of an unregistered task, an invalid child override and too many
/// children each fail the parent without retry, with a clear message.
pub async fn invalid_children_fail_parent(factory: Factory) {
    let storage = factory("invalid_children_fail_parent").await;
    let ghost = Task::new("ghost", |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>(())
    });
    let child = Task::new("child", |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>(())
    });
    let (g, c) = (ghost.clone(), child.clone());
    let parent = ParentTask::new("parent", move |_ctx: TaskContext, case: u32| {
        let (g, c) = (g.clone(), c.clone());
        async move {
            let out = ParentOutput::new(());
            Ok::<_, TaskError>(match case {
                0 => out.child(g.child(())),
                1 => out.child(c.child(()).timeout(Duration::ZERO)),
                _ => out.children((0..6).map(|_| c.child(()))),
            })
        }
    })
    .retry(durable_execution::model::RetryOptions {
        max_attempts: 3,
        ..Default::default()
    });
    let executor = start_with(&storage, fast_options().max_children(5), |b| {
        b.register(&parent).register(&child)
    });
    let expectations = [
        (0, "Child task ghost not found"),
        (1, "Invalid timeout value for task child"),
        (2, "spawned 6 children, over the limit of 5"),
    ];
    for (case, expected) in expectations {
        let done = executor
            .enqueue(&parent, case)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(done.status, ExecutionStatus::Failed, "case {case}");
        let error = done.error.unwrap();
        assert!(!error.is_retryable);
        assert!(
            error.message.contains(expected),
            "case {case}: {}",
            error.message
        );
        assert_eq!(done.attempt, 0);
        assert_eq!(done.children_count, 0);
    }
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Cancelling a running parent cancels its running children: their tokens
/// fire and they end `cancelled`.
pub async fn cancel_parent_cancels_running_children(factory: Factory) {
    let storage = factory("cancel_parent_cancels_running_children").await;
    let fired = Counter::new();
    let started = Counter::new();
    let (f, s) = (fired.clone(), started.clone());
    let child = Task::new("slow_child", move |ctx: TaskContext, _: u32| {
        let (f, s) = (f.clone(), s.clone());
        async move {
            s.hit();
            let token = ctx.cancellation().clone();
            let f2 = f.clone();
            tokio::spawn(async move {
                token.cancelled().await;
                f2.hit();
            });
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, TaskError>(())
        }
    })
    .timeout(Duration::from_secs(60));
    let c = child.clone();
    let parent = ParentTask::new("parent", move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children((0..3).map(|i| c.child(i)))) }
    });
    let executor = start(&storage, |b| b.register(&parent).register(&child));
    let handle = executor.enqueue(&parent, ()).await.unwrap();
    assert!(eventually(Duration::from_secs(5), || started.get() == 3).await);
    handle.cancel().await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled);
    assert!(eventually(Duration::from_secs(5), || fired.get() == 3).await);
    for child in handle.children().await.unwrap() {
        assert_eq!(child.status, ExecutionStatus::Cancelled);
    }
    assert!(
        eventually(Duration::from_secs(5), || executor
            .running_execution_ids()
            .is_empty())
        .await
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// When one child fails, running siblings are cancelled (their tokens fire)
/// with a message naming the failed parent.
pub async fn failed_child_cancels_siblings(factory: Factory) {
    let storage = factory("failed_child_cancels_siblings").await;
    let fired = Arc::new(Mutex::new(false));
    let f = fired.clone();
    let slow = Task::new("slow", move |ctx: TaskContext, _: ()| {
        let f = f.clone();
        async move {
            let token = ctx.cancellation().clone();
            tokio::spawn(async move {
                token.cancelled().await;
                *f.lock().unwrap() = true;
            });
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, TaskError>(())
        }
    })
    .timeout(Duration::from_secs(60));
    let fast = Task::new("fast", |_ctx: TaskContext, _: ()| async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Err::<(), _>(TaskError::new("fast error"))
    });
    let (s, q) = (slow.clone(), fast.clone());
    let parent = ParentTask::new("parent", move |_ctx: TaskContext, _: ()| {
        let (s, q) = (s.clone(), q.clone());
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children([s.child(()), q.child(())])) }
    });
    let executor = start(&storage, |b| {
        b.register(&parent).register(&slow).register(&fast)
    });
    let handle = executor.enqueue(&parent, ()).await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::ChildrenTasksFailed);
    assert!(eventually(Duration::from_secs(5), || *fired.lock().unwrap()).await);
    let children = handle.children().await.unwrap();
    let slow_child = &children[0];
    assert_eq!(slow_child.status, ExecutionStatus::Cancelled);
    let message = slow_child.error.clone().unwrap().message;
    assert!(
        message.starts_with(&format!(
            "Parent task parent with execution id {} failed:",
            handle.execution_id()
        )),
        "{message}"
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}
