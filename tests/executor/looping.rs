//! Looping tasks: one execution per iteration, a delay between iterations,
//! and a typed result saying whether an iteration was done.

use crate::common::{Counter, Factory, start};
use durable_execution::model::ExecutionStatus;
use durable_execution::{
    Executor, LoopDelay, LoopResult, LoopStep, LoopingTask, Task, TaskContext, TaskError,
};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The original's scenario: a value that appears after 1 s, polled by
/// iterations 100 ms apart (at most 20): the loop ends with success and the
/// value. Deterministic under load: the delays are lower bounds, so the 20th
/// iteration cannot run before 1.9 s, after the value appeared.
pub async fn value_appears_before_max_iterations(factory: Factory) {
    let storage = factory("value_appears_before_max_iterations").await;
    let started = Instant::now();
    let calls = Counter::new();
    let c = calls.clone();
    let poll = Task::new(
        "poll_value",
        move |_ctx: TaskContext, ready_after_ms: u64| {
            let c = c.clone();
            async move {
                c.hit();
                Ok::<_, TaskError>(
                    if started.elapsed() >= Duration::from_millis(ready_after_ms) {
                        LoopStep::Done { output: 10 }
                    } else {
                        LoopStep::Continue
                    },
                )
            }
        },
    );
    let wait_for_value: LoopingTask<u64, i32> =
        LoopingTask::new("wait_for_value", &poll, 20, Duration::from_millis(100));
    let executor = start(&storage, |b| b.register(&wait_for_value));
    let handle = executor.enqueue(&wait_for_value, 1_000).await.unwrap();
    let result = handle.wait_output().await.unwrap();
    assert_eq!(result, LoopResult::Success { output: 10 });
    assert!(started.elapsed() >= Duration::from_secs(1));
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(
        done.output.as_deref(),
        Some(r#"{"status":"success","output":10}"#)
    );
    // One execution per iteration, each run once.
    let children = handle.children().await.unwrap();
    assert!((1..=20).contains(&children.len()), "{}", children.len());
    assert_eq!(children.len() as u32, calls.get());
    assert!(
        children
            .iter()
            .all(|c| c.task_id == "poll_value" && c.status == ExecutionStatus::Completed)
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Every iteration continues: the loop ends after exactly `max_iterations`
/// iterations with `MaxIterationsReached`; the delay function is asked for
/// iterations 1 and 2 only.
pub async fn max_iterations_reached(factory: Factory) {
    let storage = factory("max_iterations_reached").await;
    let calls = Counter::new();
    let c = calls.clone();
    let never = Task::new("never_done", move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            Ok::<_, TaskError>(LoopStep::<String>::Continue)
        }
    });
    let asked = Arc::new(Mutex::new(BTreeSet::new()));
    let a = asked.clone();
    let delay = LoopDelay::from_fn(move |n| {
        a.lock().unwrap().insert(n);
        Duration::from_millis(u64::from(n) * 5)
    });
    let three = LoopingTask::new("three_times", &never, 3, delay);
    let executor = start(&storage, |b| b.register(&three));
    let handle = executor.enqueue(&three, ()).await.unwrap();
    assert_eq!(
        handle.wait_output().await.unwrap(),
        LoopResult::MaxIterationsReached { iterations: 3 }
    );
    assert_eq!(calls.get(), 3);
    assert_eq!(handle.children().await.unwrap().len(), 3);
    assert_eq!(handle.wait().await.unwrap().children_count, 3);
    assert_eq!(*asked.lock().unwrap(), BTreeSet::from([1, 2]));
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A failing iteration fails the loop like a failing sequence step; zero
/// iterations are refused at registration.
pub async fn failing_iteration_fails_loop(factory: Factory) {
    let storage = factory("failing_iteration_fails_loop").await;
    let fail = Task::new("fail_always", |_ctx: TaskContext, _: ()| async move {
        Err::<LoopStep<u32>, _>(TaskError::non_retryable("broken"))
    });
    let looping = LoopingTask::new("fails", &fail, 5, Duration::ZERO);
    let err = Executor::builder(storage.clone())
        .register(&LoopingTask::new("zero", &fail, 0, Duration::ZERO))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("max iterations"), "{err}");
    let executor = start(&storage, |b| b.register(&looping));
    let done = executor
        .enqueue(&looping, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::ChildrenTasksFailed);
    assert_eq!(done.children_errors.len(), 1);
    assert_eq!(done.children_errors[0].error.message, "broken");
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}
