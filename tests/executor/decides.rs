//! A finalize that decides (`ParentTask::finalize_decides`): the finalize
//! receives every child's outcome in spawn order, failed, timed-out and
//! cancelled children included, and its output is the parent's.

use crate::common::{Factory, start};
use durable_execution::model::{ErrorKind, ExecutionStatus};
use durable_execution::{
    ChildOutcome, FinalizeInput, ParentOutput, ParentTask, Task, TaskContext, TaskError,
};
use std::time::{Duration, Instant};

/// The original's scenario: one child completes, one fails, one times out
/// and one is cancelled while it runs; the parent completes with what its
/// finalize made of the four outcomes, and the failure cancelled no
/// sibling.
pub async fn finalize_decides_with_failed_children(factory: Factory) {
    let storage = factory("finalize_decides_with_failed_children").await;
    let ok = Task::new("decides_ok", |_ctx: TaskContext, x: u32| async move {
        Ok::<_, TaskError>(x * 2)
    });
    let fail = Task::new("decides_fail", |_ctx: TaskContext, _: u32| async move {
        Err::<u32, _>(TaskError::non_retryable("boom"))
    });
    let slow = Task::new("decides_slow", |_ctx: TaskContext, _: u32| async move {
        tokio::time::sleep(Duration::from_secs(600)).await;
        Ok::<_, TaskError>(0)
    })
    .timeout(Duration::from_millis(20));
    // Runs until it is cancelled (its token fires, the run ends).
    let blocked = Task::new("decides_blocked", |ctx: TaskContext, _: u32| async move {
        ctx.cancellation().cancelled().await;
        Err::<u32, _>(TaskError::non_retryable("stopped"))
    });
    let decide = Task::new(
        "decides_finalize",
        |_ctx: TaskContext, done: FinalizeInput<u32, String, ChildOutcome<u32>>| async move {
            let summary: Vec<String> = done
                .children
                .iter()
                .map(|c| match c {
                    ChildOutcome::Completed { output } => format!("ok {output}"),
                    ChildOutcome::NotCompleted { status, error } => {
                        format!("{status}: {}", error.message)
                    }
                })
                .collect();
            let completed = done.children.iter().filter(|c| c.is_completed()).count();
            Ok::<_, TaskError>(format!(
                "{} {}/{}: {}",
                done.output,
                completed,
                done.children.len(),
                summary.join("; ")
            ))
        },
    );
    let (o, f, s, b) = (ok.clone(), fail.clone(), slow.clone(), blocked.clone());
    let parent = ParentTask::new("decides_parent", move |_ctx: TaskContext, x: u32| {
        let children = [o.child(x), f.child(x), s.child(x), b.child(x)];
        async move { Ok::<_, TaskError>(ParentOutput::new("parts".to_owned()).children(children)) }
    })
    .finalize_decides(&decide);
    let executor = start(&storage, |builder| {
        builder
            .register(&parent)
            .register(&ok)
            .register(&fail)
            .register(&slow)
            .register(&blocked)
    });
    let handle = executor.enqueue(&parent, 21).await.unwrap();
    // Cancel the blocked child once it runs (it never ends on its own).
    let deadline = Instant::now() + Duration::from_secs(60);
    let blocked_id = loop {
        let children = handle.children().await.unwrap();
        if let Some(child) = children
            .iter()
            .find(|c| c.task_id == "decides_blocked" && c.status == ExecutionStatus::Running)
        {
            break child.execution_id.clone();
        }
        assert!(Instant::now() < deadline, "the blocked child never ran");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    executor
        .handle(&blocked, &blocked_id)
        .await
        .unwrap()
        .cancel()
        .await
        .unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed, "{:?}", done.error);
    assert!(done.children_errors.is_empty());
    let output: String = done.output().unwrap();
    let (head, rest) = output.split_once(": ").unwrap();
    assert_eq!(head, "parts 1/4");
    let parts: Vec<&str> = rest.split("; ").collect();
    assert_eq!(parts[0], "ok 42");
    assert_eq!(parts[1], "failed: boom");
    assert_eq!(parts[2], "timed_out: Task timed out");
    assert!(parts[3].starts_with("cancelled: "), "{output}");
    // Every child finished in its own status: none was cancelled because
    // a sibling failed.
    let children = handle.children().await.unwrap();
    let statuses: Vec<ExecutionStatus> = children
        .iter()
        .filter(|c| c.task_id != "decides_finalize")
        .map(|c| c.status)
        .collect();
    assert_eq!(
        statuses,
        vec![
            ExecutionStatus::Completed,
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Cancelled
        ]
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// The default stays: with `finalize` a failing child fails the parent;
/// with `finalize_decides` the finalize's own failure fails it
/// (`finalize_task_failed`), and a parent whose children all fail still
/// runs its finalize.
pub async fn finalize_decides_failure_is_the_parents(factory: Factory) {
    let storage = factory("finalize_decides_failure_is_the_parents").await;
    let fail = Task::new("decides_fail2", |_ctx: TaskContext, i: u32| async move {
        Err::<u32, _>(TaskError::non_retryable(format!("child {i} failed")))
    });
    let strict = Task::new(
        "decides_strict",
        |_ctx: TaskContext, done: FinalizeInput<u32, (), ChildOutcome<u32>>| async move {
            let failed: Vec<String> = done
                .children
                .into_iter()
                .filter_map(|c| match c {
                    ChildOutcome::NotCompleted { error, .. } => Some(error.message),
                    ChildOutcome::Completed { .. } => None,
                })
                .collect();
            if failed.len() as u32 == done.input {
                return Err(TaskError::non_retryable(format!(
                    "all failed: {}",
                    failed.join(", ")
                )));
            }
            Ok::<_, TaskError>(failed.len() as u32)
        },
    );
    let f = fail.clone();
    let parent = ParentTask::new("decides_all_fail", move |_ctx: TaskContext, n: u32| {
        let children: Vec<_> = (0..n).map(|i| f.child(i)).collect();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children(children)) }
    })
    .finalize_decides(&strict);
    let executor = start(&storage, |b| b.register(&parent).register(&fail));
    let done = executor
        .enqueue(&parent, 3)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::FinalizeTaskFailed);
    let error = done.finalize_error.clone().or(done.error.clone()).unwrap();
    assert_eq!(
        error.message,
        "all failed: child 0 failed, child 1 failed, child 2 failed"
    );
    assert_ne!(error.kind, ErrorKind::Cancelled);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}
