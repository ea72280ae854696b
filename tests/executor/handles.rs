//! Handles: get, wait, cancel, re-attach, event-driven waits and cross-executor handles.

use crate::common::{Counter, Factory, eventually, fast_options, start, start_with};
use durable_execution::model::ExecutionStatus;
use durable_execution::{Executor, ExecutorError, Task, TaskContext, TaskError, WaitOptions};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn sleeper(ms: u64) -> Task<(), String> {
    Task::new("test", move |_ctx: TaskContext, _: ()| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, TaskError>("test".to_owned())
    })
    .timeout(Duration::from_secs(10))
}

/// TH1/TH3/TH4: unknown task, unknown execution, wrong task.
pub async fn handle_lookups_are_checked(factory: Factory) {
    let storage = factory("handle_lookups_are_checked").await;
    let task = sleeper(1);
    let other = Task::new("other", |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>(())
    });
    let unregistered = Task::new("invalid", |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>(())
    });
    let executor = start(&storage, |b| b.register(&task).register(&other));
    let err = executor.handle(&unregistered, "invalid").await.unwrap_err();
    assert!(
        err.to_string().starts_with("Task invalid not found"),
        "{err}"
    );
    let err = executor.handle(&task, "invalid").await.unwrap_err();
    assert_eq!(err.to_string(), "Execution invalid not found");
    let handle = executor.enqueue(&task, ()).await.unwrap();
    let err = executor
        .handle(&other, handle.execution_id())
        .await
        .unwrap_err();
    assert!(matches!(err, ExecutorError::TaskMismatch { .. }), "{err}");
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// TH2: a re-created handle sees the running execution.
pub async fn recreated_handle_sees_running(factory: Factory) {
    let storage = factory("recreated_handle_sees_running").await;
    let calls = Counter::new();
    let c = calls.clone();
    let task = Task::new("test", move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, TaskError>(())
        }
    })
    .timeout(Duration::from_secs(10));
    let executor = start(&storage, |b| b.register(&task));
    let id = executor
        .enqueue(&task, ())
        .await
        .unwrap()
        .execution_id()
        .to_owned();
    let handle = executor.handle(&task, &id).await.unwrap();
    assert_eq!(handle.task_id(), "test");
    assert_eq!(handle.execution_id(), id);
    assert!(eventually(Duration::from_secs(5), || calls.get() == 1).await);
    let running = handle.get().await.unwrap();
    assert_eq!(running.status, ExecutionStatus::Running);
    assert!(running.started_at.is_some());
    let expires_at = running.expires_at.unwrap();
    assert!(expires_at >= running.started_at.unwrap() + 10_000);
    assert_eq!(running.executor_id.as_deref(), Some(executor.executor_id()));
    executor.shutdown(Duration::from_secs(2)).await.unwrap();
}

/// TH5/TH7/TH8: wait with a cancelled token, a generous and a short timeout.
pub async fn wait_options(factory: Factory) {
    let storage = factory("wait_options").await;
    let task = sleeper(300);
    let executor = start(&storage, |b| b.register(&task));
    let handle = executor.enqueue(&task, ()).await.unwrap();
    let token = CancellationToken::new();
    token.cancel();
    let err = handle
        .wait_with(WaitOptions::new().cancel(token))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecutorError::WaitCancelled { .. }), "{err}");
    let err = handle
        .wait_with(WaitOptions::new().timeout(Duration::from_millis(50)))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecutorError::WaitTimedOut { .. }), "{err}");
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        t.cancel();
    });
    let err = handle
        .wait_with(WaitOptions::new().cancel(token))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecutorError::WaitCancelled { .. }), "{err}");
    let done = handle
        .wait_with(WaitOptions::new().timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Waits are woken by storage events, long before the fallback poll.
pub async fn wait_is_event_driven(factory: Factory) {
    let storage = factory("wait_is_event_driven").await;
    let task = sleeper(50);
    let executor = start_with(
        &storage,
        fast_options()
            .wait_poll_interval(Duration::from_secs(20))
            .poll_interval(Duration::from_secs(20)),
        |b| b.register(&task),
    );
    let started = Instant::now();
    let handles = executor.enqueue_many(&task, vec![(); 20]).await.unwrap();
    for handle in handles {
        let done = handle.wait().await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A client executor that is never started enqueues and waits; a worker
/// executor on the same storage runs the task.
pub async fn client_and_worker(factory: Factory) {
    let storage = factory("client_and_worker").await;
    let task = sleeper(10);
    let client = Executor::builder(storage.clone())
        .options(fast_options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();
    let handle = client.enqueue(&task, ()).await.unwrap();
    let worker = start(&storage, |b| b.register(&task));
    let done = handle.wait().await.unwrap();
    assert_eq!(done.output::<String>().unwrap(), "test");
    assert_eq!(done.executor_id, None);
    worker.shutdown(Duration::from_secs(1)).await.unwrap();
    // Handles keep working after the executors shut down.
    client.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        handle.get().await.unwrap().status,
        ExecutionStatus::Completed
    );
    assert!(matches!(
        client.enqueue(&task, ()).await.unwrap_err(),
        ExecutorError::Shutdown
    ));
}
