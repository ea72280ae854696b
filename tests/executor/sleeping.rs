//! Sleeping tasks woken from outside (docs/design.md "Sleeping tasks").

use crate::common::{Factory, start};
use durable_execution::TaskExecution;
use durable_execution::model::{ErrorKind, ExecutionStatus, now_millis};
use durable_execution::storage::StorageError;
use durable_execution::{
    ExecutorError, FinalizeInput, ParentOutput, ParentTask, SleepingTask, Task, TaskContext,
    TaskError, TaskHandle, WakeOutcome,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub order: u32,
    pub paid_cents: u64,
}

/// The execution as it stands, whether or not the closer closed it yet.
fn state(mut execution: TaskExecution) -> TaskExecution {
    execution.is_closed = false;
    execution.closed_at = None;
    execution
}

fn webhook() -> SleepingTask<Payment> {
    SleepingTask::new("payment_webhook", Duration::from_secs(600))
}

/// Waits until the parent's one child exists and sleeps; returns its execution id.
async fn sleeping_child<O>(parent: &TaskHandle<O>) -> String {
    for _ in 0..2_000 {
        let children = parent.children().await.unwrap();
        if let Some(child) = children.first() {
            assert_eq!(child.status, ExecutionStatus::Sleeping);
            return child.execution_id.clone();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the sleeping child was never spawned");
}

/// A parent calls an API that will send a webhook later: its child sleeps
/// under the order's key, the wake's output reaches the finalize, whose
/// output becomes the parent's. A second wake returns the finished child
/// unchanged; an unknown key fails clearly.
pub async fn sleeping_child_is_woken_into_the_parent_output(factory: Factory) {
    let storage = factory("sleeping_child_is_woken_into_the_parent_output").await;
    let hook = webhook();
    let receipt = Task::new(
        "receipt",
        |_ctx: TaskContext, done: FinalizeInput<u32, String, Payment>| async move {
            let payment = &done.children[0];
            Ok::<_, TaskError>(format!(
                "{}: order {} paid {} cents",
                done.output, payment.order, payment.paid_cents
            ))
        },
    );
    let child_hook = hook.clone();
    let checkout = ParentTask::new("checkout", move |_ctx: TaskContext, order: u32| {
        let wait = child_hook.child(format!("order-{order}"));
        async move { Ok::<_, TaskError>(ParentOutput::new("charged".to_owned()).child(wait)) }
    })
    .finalize(&receipt);
    let executor = start(&storage, |b| b.register(&checkout).register(&hook));
    let parent = executor.enqueue(&checkout, 7).await.unwrap();
    let child_id = sleeping_child(&parent).await;
    let paid = Payment {
        order: 7,
        paid_cents: 1_250,
    };
    let woken = executor
        .wake(&hook, "order-7", WakeOutcome::Completed(paid.clone()))
        .await
        .unwrap();
    assert_eq!(woken.execution_id, child_id);
    assert_eq!(woken.status, ExecutionStatus::Completed);
    assert_eq!(woken.output::<Payment>().unwrap(), paid);
    assert_eq!(
        parent.wait_output().await.unwrap(),
        "charged: order 7 paid 1250 cents"
    );
    let again = executor
        .wake(&hook, "order-7", WakeOutcome::Failed("late".to_owned()))
        .await
        .unwrap();
    assert_eq!(again.status, ExecutionStatus::Completed);
    assert_eq!(again.output::<Payment>().unwrap(), paid);
    let unknown = executor
        .wake(&hook, "order-8", WakeOutcome::Completed(paid))
        .await
        .unwrap_err();
    assert!(
        matches!(&unknown, ExecutorError::UnknownSleepingKey { key, .. } if key == "order-8"),
        "{unknown:?}"
    );
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A failed wake fails the sleeping child and so its parent.
pub async fn failed_wake_fails_the_parent(factory: Factory) {
    let storage = factory("failed_wake_fails_the_parent").await;
    let hook = webhook();
    let child_hook = hook.clone();
    let checkout = ParentTask::new("checkout", move |_ctx: TaskContext, order: u32| {
        let wait = child_hook.child(format!("order-{order}"));
        async move { Ok::<_, TaskError>(ParentOutput::new(order).child(wait)) }
    });
    let executor = start(&storage, |b| b.register(&checkout).register(&hook));
    let parent = executor.enqueue(&checkout, 9).await.unwrap();
    sleeping_child(&parent).await;
    let failed = executor
        .wake(
            &hook,
            "order-9",
            WakeOutcome::Failed("card declined".into()),
        )
        .await
        .unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    let done = parent.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::ChildrenTasksFailed);
    assert_eq!(done.children_errors[0].error.message, "card declined");
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Two sleeping executions never share a key; a key is checked (1–255
/// characters) and required; a finished key can be reused.
pub async fn sleeping_keys_are_checked_and_unique(factory: Factory) {
    let storage = factory("sleeping_keys_are_checked_and_unique").await;
    let hook = webhook();
    let executor = start(&storage, |b| b.register(&hook));
    let first = executor.enqueue_sleeping(&hook, "k").await.unwrap();
    assert_eq!(first.get().await.unwrap().status, ExecutionStatus::Sleeping);
    let duplicate = executor.enqueue_sleeping(&hook, "k").await.unwrap_err();
    assert!(
        matches!(
            &duplicate,
            ExecutorError::Storage {
                source: StorageError::DuplicateSleepingKey { .. },
                ..
            }
        ),
        "{duplicate:?}"
    );
    for bad in [String::new(), "x".repeat(256)] {
        let err = executor.enqueue_sleeping(&hook, bad).await.unwrap_err();
        assert!(
            matches!(
                err,
                ExecutorError::InvalidOptions {
                    what: "sleeping key",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let keyless = executor.enqueue(&hook, ()).await.unwrap_err();
    assert!(
        matches!(
            keyless,
            ExecutorError::InvalidOptions {
                what: "sleeping key",
                ..
            }
        ),
        "{keyless:?}"
    );
    executor
        .wake(
            &hook,
            "k",
            WakeOutcome::Completed(Payment {
                order: 1,
                paid_cents: 1,
            }),
        )
        .await
        .unwrap();
    assert_eq!(first.wait_output().await.unwrap().order, 1);
    let reused = executor.enqueue_sleeping(&hook, "k").await.unwrap();
    assert_eq!(
        reused.get().await.unwrap().status,
        ExecutionStatus::Sleeping
    );
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Not woken before its timeout: `timed_out` through the maintenance loop;
/// a wake afterwards returns it unchanged.
pub async fn sleeping_task_times_out(factory: Factory) {
    let storage = factory("sleeping_task_times_out").await;
    let hook = SleepingTask::<u32>::new("short_hook", Duration::from_millis(50));
    let executor = start(&storage, |b| b.register(&hook));
    let handle = executor.enqueue_sleeping(&hook, "soon").await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::TimedOut);
    assert_eq!(
        done.error.as_ref().map(|e| e.kind),
        Some(ErrorKind::TimedOut)
    );
    let late = executor
        .wake(&hook, "soon", WakeOutcome::Completed(1))
        .await
        .unwrap();
    assert_eq!(state(late), state(done));
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A wake racing a cancellation, and a wake racing the timeout, round
/// after round: exactly one wins, and the row's final state is the
/// winner's (the wake's returned execution says which).
pub async fn wake_races_cancel_and_timeout(factory: Factory) {
    let storage = factory("wake_races_cancel_and_timeout").await;
    let hook = SleepingTask::<u32>::new("race_hook", Duration::from_secs(600));
    let executor = start(&storage, |b| b.register(&hook));
    let (mut woke, mut other) = (0, 0);
    for round in 0..40u32 {
        let key = format!("cancel-{round}");
        let handle = executor.enqueue_sleeping(&hook, &key).await.unwrap();
        let (woken, cancelled) = tokio::join!(
            executor.wake(&hook, &key, WakeOutcome::Completed(round)),
            handle.cancel()
        );
        cancelled.unwrap();
        let woken = woken.unwrap();
        let row = handle.get().await.unwrap();
        assert_eq!(
            state(row.clone()),
            state(woken),
            "round {round}: the wake returned the final row"
        );
        match row.status {
            ExecutionStatus::Completed => {
                woke += 1;
                assert_eq!(row.output::<u32>().unwrap(), round);
            }
            ExecutionStatus::Cancelled => other += 1,
            status => panic!("round {round}: unexpected {status}"),
        }
    }
    for round in 0..40u32 {
        let key = format!("timeout-{round}");
        let handle = executor.enqueue_sleeping(&hook, &key).await.unwrap();
        // The timeout's step, as the maintenance loop runs it, at a time
        // past every deadline.
        let (woken, expired) = tokio::join!(
            executor.wake(&hook, &key, WakeOutcome::Completed(round)),
            storage.expire_leases(now_millis() + 3_600_000, 1_000)
        );
        let woken = woken.unwrap();
        let expired = expired.unwrap();
        let row = handle.get().await.unwrap();
        assert_eq!(
            state(row.clone()),
            state(woken),
            "round {round}: the wake returned the final row"
        );
        let timed_out = expired.timed_out.contains(&row.execution_id);
        match row.status {
            ExecutionStatus::Completed => {
                woke += 1;
                assert!(!timed_out, "round {round}: both won");
            }
            ExecutionStatus::TimedOut => {
                other += 1;
                assert!(timed_out, "round {round}: nobody won");
            }
            status => panic!("round {round}: unexpected {status}"),
        }
    }
    assert_eq!(woke + other, 80);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
