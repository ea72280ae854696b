//! Input validation at enqueue and at child spawning, and the bookkeeping
//! timestamps of the public execution view (docs/design.md, "Input
//! validation" and "Bookkeeping timestamps").

use crate::common::{Factory, fast_options, start, start_with};
use durable_execution::model::ExecutionStatus;
use durable_execution::{
    EnqueueOptions, ExecutorError, FinalizeInput, ParentOutput, ParentTask, Task, TaskContext,
    TaskError,
};
use std::time::Duration;

/// A task whose input must be at most 10.
fn bounded() -> Task<u32, u32> {
    Task::new("bounded", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n * 2)
    })
    .validate_input(|n: &u32| {
        if *n > 10 {
            Err(format!("{n} is over 10"))
        } else {
            Ok(())
        }
    })
}

fn assert_rejected(err: &ExecutorError, input: u32) {
    match err {
        ExecutorError::InputRejected { task_id, reason } => {
            assert_eq!(task_id, "bounded");
            assert_eq!(reason, &format!("{input} is over 10"));
        }
        other => panic!("expected InputRejected, got {other}"),
    }
    assert_eq!(
        err.to_string(),
        format!("Input to task bounded rejected: {input} is over 10")
    );
}

/// `enqueue`, `enqueue_many` and `prepare` refuse a rejected input with
/// the typed error naming the task and the reason, and store nothing; a
/// valid input runs.
pub async fn enqueue_rejects_invalid_input(factory: Factory) {
    let storage = factory("enqueue_rejects_invalid_input").await;
    let task = bounded();
    let executor = start(&storage, |b| b.register(&task));
    let err = executor.enqueue(&task, 11).await.unwrap_err();
    assert_rejected(&err, 11);
    // One rejected input refuses the whole batch.
    let err = executor.enqueue_many(&task, [1, 2, 30]).await.unwrap_err();
    assert_rejected(&err, 30);
    let err = executor
        .prepare(&task, 12, EnqueueOptions::new())
        .unwrap_err();
    assert_rejected(&err, 12);
    assert!(storage.stats(0).await.unwrap().counts.is_empty());
    let done = executor.enqueue(&task, 10).await.unwrap();
    assert_eq!(done.wait_output().await.unwrap(), 20);
    let total: u64 = storage
        .stats(0)
        .await
        .unwrap()
        .counts
        .iter()
        .map(|(_, _, n)| *n)
        .sum();
    assert_eq!(total, 1);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A parent spawning a child whose input the child's validation rejects
/// fails without retry, naming the child task and the reason, and no child
/// is stored.
pub async fn invalid_child_input_fails_parent(factory: Factory) {
    let storage = factory("invalid_child_input_fails_parent").await;
    let child = bounded();
    let c = child.clone();
    let parent = ParentTask::new("spawner", move |_ctx: TaskContext, inputs: Vec<u32>| {
        let spawned: Vec<_> = inputs.iter().map(|n| c.child(*n)).collect();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children(spawned)) }
    })
    .retry(durable_execution::model::RetryOptions {
        max_attempts: 3,
        ..Default::default()
    });
    let executor = start(&storage, |b| b.register(&parent).register(&child));
    let handle = executor.enqueue(&parent, vec![1, 99, 2]).await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.attempt, 0);
    let error = done.error.unwrap();
    assert!(!error.is_retryable);
    assert!(
        error
            .message
            .contains("Invalid child 1 of task spawner execution")
            && error
                .message
                .contains("Input to task bounded rejected: 99 is over 10"),
        "{}",
        error.message
    );
    assert_eq!(done.children_count, 0);
    assert!(handle.children().await.unwrap().is_empty());
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A parent with children and a finalize records when it started waiting
/// for its children and for its finalize, and every execution records when
/// it was closed, in that order; a simple task never waits.
pub async fn bookkeeping_timestamps(factory: Factory) {
    let storage = factory("bookkeeping_timestamps").await;
    let child = Task::new("leaf", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n)
    });
    let total = Task::new(
        "sum",
        |_ctx: TaskContext, done: FinalizeInput<u32, (), u32>| async move {
            Ok::<_, TaskError>(done.children.iter().sum::<u32>())
        },
    );
    let c = child.clone();
    let parent = ParentTask::new("fan_out", move |_ctx: TaskContext, n: u32| {
        let spawned: Vec<_> = (0..n).map(|i| c.child(i)).collect();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children(spawned)) }
    })
    .finalize(&total);
    let executor = start_with(&storage, fast_options(), |b| {
        b.register(&parent).register(&child)
    });
    let handle = executor.enqueue(&parent, 3).await.unwrap();
    assert_eq!(handle.wait_output().await.unwrap(), 3);
    // The closer closes the root after it finished: wait for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let root = loop {
        let root = handle.get().await.unwrap();
        if root.is_closed || tokio::time::Instant::now() > deadline {
            break root;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(root.is_closed, "the root is closed within 30 s");
    let children_at = root.waiting_for_children_started_at.unwrap();
    let finalize_at = root.waiting_for_finalize_started_at.unwrap();
    let closed_at = root.closed_at.unwrap();
    let started_at = root.started_at.unwrap();
    let finished_at = root.finished_at.unwrap();
    assert!(started_at <= children_at, "{root:?}");
    assert!(children_at <= finalize_at, "{root:?}");
    assert!(finalize_at <= finished_at, "{root:?}");
    assert!(finished_at <= closed_at, "{root:?}");
    let children = handle.children().await.unwrap();
    assert_eq!(children.len(), 4);
    for execution in &children {
        // Each child and the finalize closed before the parent moved on.
        assert!(execution.is_closed, "{execution:?}");
        let closed = execution.closed_at.unwrap();
        assert!(closed >= execution.finished_at.unwrap(), "{execution:?}");
        assert_eq!(execution.waiting_for_children_started_at, None);
        assert_eq!(execution.waiting_for_finalize_started_at, None);
        if execution.parent.as_ref().is_some_and(|p| p.is_finalize) {
            assert!(closed <= finished_at, "{execution:?}");
        } else {
            assert!(closed <= finalize_at, "{execution:?}");
        }
    }
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
