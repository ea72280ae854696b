//! Workflows: task trees, and several executors sharing one storage (docs/design.md).

use crate::common::{Factory, start};
use durable_execution::model::ExecutionStatus;
use durable_execution::{
    FinalizeInput, ParentOutput, ParentResult, ParentTask, Sequence, Task, TaskContext, TaskError,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn leaf(id: &'static str) -> Task<(), String> {
    Task::new(id, move |_ctx: TaskContext, _: ()| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok::<_, TaskError>(format!("{id}_output"))
    })
    .timeout(Duration::from_secs(1))
}

fn chained(id: &'static str) -> Task<Vec<String>, Vec<String>> {
    Task::new(
        id,
        move |_ctx: TaskContext, mut parts: Vec<String>| async move {
            parts.push(format!("{id}_output"));
            Ok::<_, TaskError>(parts)
        },
    )
    .timeout(Duration::from_secs(1))
}

/// X12/D1: root → [A (3 children + finalize), B = sequence(B1, B2, B3)] +
/// root finalize; 7 partial outputs.
pub async fn task_tree(factory: Factory) {
    let storage = factory("task_tree").await;
    let (a1, a2, a3) = (leaf("a1"), leaf("a2"), leaf("a3"));
    let a_finalize = Task::new(
        "a_finalize",
        |_ctx: TaskContext, input: FinalizeInput<(), String, String>| async move {
            let mut parts = vec![input.output];
            parts.extend(input.children);
            Ok::<_, TaskError>(parts)
        },
    );
    let (c1, c2, c3) = (a1.clone(), a2.clone(), a3.clone());
    let a = ParentTask::new("a", move |_ctx: TaskContext, _: ()| {
        let (c1, c2, c3) = (c1.clone(), c2.clone(), c3.clone());
        async move {
            Ok::<_, TaskError>(ParentOutput::new("a_output".to_owned()).children([
                c1.child(()),
                c2.child(()),
                c3.child(()),
            ]))
        }
    })
    .timeout(Duration::from_secs(1))
    .finalize(&a_finalize);
    let b = Sequence::new("b", &chained("b1"))
        .then(&chained("b2"))
        .then(&chained("b3"));
    let root_finalize = Task::new(
        "root_finalize",
        |_ctx: TaskContext, input: FinalizeInput<(), String, Vec<String>>| async move {
            let mut parts = vec![input.output];
            for child in input.children {
                parts.extend(child);
            }
            Ok::<_, TaskError>(parts)
        },
    );
    let (ca, cb) = (a.clone(), b.clone());
    let root = ParentTask::new("root", move |_ctx: TaskContext, _: ()| {
        let (ca, cb) = (ca.clone(), cb.clone());
        async move {
            Ok::<_, TaskError>(
                ParentOutput::new("root_output".to_owned())
                    .children([ca.child(()), cb.child(Vec::new())]),
            )
        }
    })
    .timeout(Duration::from_secs(1))
    .finalize(&root_finalize);
    let executor = start(&storage, |builder| {
        builder
            .register(&root)
            .register(&a)
            .register(&b)
            .register(&a1)
            .register(&a2)
            .register(&a3)
    });
    let done = executor
        .enqueue(&root, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert!(done.execution_id.starts_with("te_"));
    assert!(done.finished_at.unwrap() >= done.started_at.unwrap());
    let parts: Vec<String> = done.output().unwrap();
    assert_eq!(
        parts,
        vec![
            "root_output",
            "a_output",
            "a1_output",
            "a2_output",
            "a3_output",
            "b1_output",
            "b2_output",
            "b3_output"
        ]
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Count {
    count: u32,
}

/// X13: a recursive parent spawns itself until index 9; finalizes sum the counts.
pub async fn recursive_parent(factory: Factory) {
    let storage = factory("recursive_parent").await;
    type Recursive = ParentTask<u32, ()>;
    let me: Arc<OnceLock<Recursive>> = Arc::new(OnceLock::new());
    let m = me.clone();
    let recursive: Recursive =
        ParentTask::new("recursive", move |_ctx: TaskContext, index: u32| {
            let m = m.clone();
            async move {
                let out = ParentOutput::new(());
                Ok::<_, TaskError>(if index < 9 {
                    let this = m
                        .get()
                        .ok_or_else(|| TaskError::non_retryable("not initialised"))?;
                    out.child(this.child(index + 1))
                } else {
                    out
                })
            }
        });
    let _ = me.set(recursive.clone());
    let sum = Task::new(
        "recursive_finalize",
        |_ctx: TaskContext, input: FinalizeInput<u32, (), Count>| async move {
            Ok::<_, TaskError>(Count {
                count: 1 + input.children.iter().map(|c| c.count).sum::<u32>(),
            })
        },
    );
    let with_sum = recursive.finalize(&sum);
    let executor = start(&storage, |b| b.register(&with_sum));
    let done = executor
        .enqueue(&with_sum, 0)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(done.output::<Count>().unwrap().count, 10);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// D2: 100 distinct tasks enqueued at once, each sleeping 0–100 ms.
pub async fn hundred_distinct_tasks(factory: Factory) {
    let storage = factory("hundred_distinct_tasks").await;
    let tasks: Vec<Task<String, String>> = (0..100)
        .map(|i| {
            Task::new(
                format!("t{i}"),
                move |_ctx: TaskContext, name: String| async move {
                    let ms = rand::rng().random_range(0..100);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok::<_, TaskError>(format!("Hello from task T{i}, {name}!"))
                },
            )
        })
        .collect();
    let executor = start(&storage, |b| tasks.iter().fold(b, |b, t| b.register(t)));
    let handles = futures::future::try_join_all(
        tasks
            .iter()
            .map(|t| executor.enqueue(t, "world".to_owned())),
    )
    .await
    .unwrap();
    for (i, handle) in handles.iter().enumerate() {
        let done = handle.wait().await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed);
        assert_eq!(
            done.output::<String>().unwrap(),
            format!("Hello from task T{i}, world!")
        );
        assert_eq!(done.task_id, format!("t{i}"));
    }
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// D3–D6: retry then success, failure, failing child, failing finalize.
pub async fn storage_scenario_steps(factory: Factory) {
    let storage = factory("storage_scenario_steps").await;
    let retry = Task::new("retry", |ctx: TaskContext, _: ()| async move {
        if ctx.attempt() < 2 {
            return Err(TaskError::new("Failed"));
        }
        Ok("Success".to_owned())
    })
    .retry(durable_execution::model::RetryOptions {
        max_attempts: 3,
        ..Default::default()
    });
    let failing = Task::new("failing", |_ctx: TaskContext, _: ()| async move {
        Err::<String, _>(TaskError::new("Failed"))
    });
    let f = failing.clone();
    let parent_with_failing_child =
        ParentTask::new("parentWithFailingChild", move |_ctx: TaskContext, _: ()| {
            let f = f.clone();
            async move { Ok::<_, TaskError>(ParentOutput::new(()).child(f.child(()))) }
        });
    let a1 = leaf("a1");
    let throwing = Task::new(
        "throwing_finalize",
        |_ctx: TaskContext, _: FinalizeInput<(), ()>| async move {
            Err::<(), _>(TaskError::new("Failed"))
        },
    );
    let c = a1.clone();
    let parent_with_failing_finalize = ParentTask::new(
        "parentWithFailingFinalize",
        move |_ctx: TaskContext, _: ()| {
            let c = c.clone();
            async move { Ok::<_, TaskError>(ParentOutput::new(()).child(c.child(()))) }
        },
    )
    .finalize(&throwing);
    let executor = start(&storage, |b| {
        b.register(&retry)
            .register(&failing)
            .register(&parent_with_failing_child)
            .register(&parent_with_failing_finalize)
            .register(&a1)
    });
    let done = executor
        .enqueue(&retry, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(done.output::<String>().unwrap(), "Success");
    assert_eq!(done.attempt, 2);
    let done = executor
        .enqueue(&failing, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.unwrap().message, "Failed");
    let done = executor
        .enqueue(&parent_with_failing_child, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::ChildrenTasksFailed);
    assert_eq!(done.children_errors[0].error.message, "Failed");
    let done = executor
        .enqueue(&parent_with_failing_finalize, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::FinalizeTaskFailed);
    assert_eq!(done.finalize_error.unwrap().message, "Failed");
    let _ = ParentResult::<(), ()> {
        output: (),
        children: Vec::new(),
    };
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}
