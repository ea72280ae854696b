//! Executor lifecycle and registry, stats, enqueue variants,
//! crash recovery (docs/design.md, "Leases and fencing"), storage faults.

use crate::common::{Counter, Factory, FaultyStorage, eventually, fast_options, start, start_with};
use durable_execution::model::{ErrorKind, ExecutionStatus, RetryOptions};
use durable_execution::storage::Storage;
use durable_execution::{EnqueueOptions, Executor, ExecutorError, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::time::Duration;

fn noop(id: &str) -> Task<(), ()> {
    Task::new(id, |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>(())
    })
}

/// E1: nothing can be enqueued or started after a shutdown.
pub async fn shutdown_rejects_work(factory: Factory) {
    let storage = factory("shutdown_rejects_work").await;
    let task = noop("test");
    let executor = start(&storage, |b| b.register(&task));
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
    assert!(executor.is_shutdown());
    let err = executor.enqueue(&task, ()).await.unwrap_err();
    assert_eq!(err.to_string(), "Executor shutdown");
    assert!(matches!(
        executor.start().unwrap_err(),
        ExecutorError::Shutdown
    ));
    assert!(matches!(
        executor.enqueue_many(&task, [()]).await.unwrap_err(),
        ExecutorError::Shutdown
    ));
    // A second shutdown is a no-op.
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// E3/E4: unregistered tasks and duplicate ids.
pub async fn registry_rules(factory: Factory) {
    let storage = factory("registry_rules").await;
    let task = noop("test");
    let executor = Executor::builder(storage.clone()).build().unwrap();
    let err = executor.enqueue(&task, ()).await.unwrap_err();
    assert!(err.to_string().starts_with("Task test not found"), "{err}");
    let other = noop("test");
    let err = Executor::builder(storage.clone())
        .register(&task)
        .register(&other)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Task test already exists. Use unique ids for tasks"
    );
    // The same definition twice is fine.
    let executor = Executor::builder(storage.clone())
        .register(&task)
        .register(&task)
        .build()
        .unwrap();
    assert_eq!(executor.stats().registered_tasks, 1);
}

/// B5: stats reflect options and registrations.
pub async fn stats_reflect_options(factory: Factory) {
    let storage = factory("stats_reflect_options").await;
    let task = noop("test");
    let executor = Executor::builder(storage.clone())
        .options(
            fast_options()
                .max_concurrent_executions(4)
                .max_batch(2)
                .build()
                .unwrap(),
        )
        .register(&task)
        .build()
        .unwrap();
    let stats = executor.stats();
    assert_eq!(stats.running, 0);
    assert_eq!(stats.max_concurrent_executions, 4);
    assert_eq!(stats.max_batch, 2);
    assert_eq!(stats.registered_tasks, 1);
    assert!(!stats.is_started);
    assert!(!stats.is_shutdown);
    assert!(stats.executor_id.starts_with("de_"));
    executor.start().unwrap();
    assert!(executor.stats().is_started);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
    assert!(executor.stats().is_shutdown);
}

/// `enqueue_many` inserts many at once; `prepare` + own insert + `handle_for`.
pub async fn enqueue_many_and_prepare(factory: Factory) {
    let storage = factory("enqueue_many_and_prepare").await;
    let double = Task::new("double", |_ctx: TaskContext, n: u64| async move {
        Ok::<_, TaskError>(n * 2)
    });
    let executor = start(&storage, |b| b.register(&double));
    let handles = executor.enqueue_many(&double, 0..100).await.unwrap();
    assert_eq!(handles.len(), 100);
    for (i, handle) in handles.iter().enumerate() {
        let done = handle.wait().await.unwrap();
        assert_eq!(done.output::<u64>().unwrap(), 2 * i as u64);
    }
    let prepared = executor
        .prepare(
            &double,
            21,
            EnqueueOptions::new().retry(RetryOptions {
                max_attempts: 2,
                ..Default::default()
            }),
        )
        .unwrap();
    assert!(prepared.execution_id.starts_with("te_"));
    assert_eq!(prepared.retry_options.max_attempts, 2);
    storage
        .insert(std::slice::from_ref(&prepared))
        .await
        .unwrap();
    let done = executor.handle_for(&prepared).wait().await.unwrap();
    assert_eq!(done.output::<u64>().unwrap(), 42);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// EC1 done for real: an executor dies mid-run; after the lease expires
/// another executor re-runs the execution, which sees `Task expired`.
/// Without retries left, expiry fails the execution (bounded: docs/design.md, "Defects not copied", 6).
pub async fn crash_recovery_by_lease_expiry(factory: Factory) {
    let storage = factory("crash_recovery_by_lease_expiry").await;
    let runs = Counter::new();
    let r = runs.clone();
    let hang = Task::new("test", move |ctx: TaskContext, _: ()| {
        let r = r.clone();
        async move {
            r.hit();
            if ctx.attempt() == 0 {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Ok::<_, TaskError>(ctx.prev_error().map(|e| e.message.clone()))
        }
    })
    .timeout(Duration::from_millis(300));
    let options = || fast_options().lease_slack(Duration::from_millis(100));
    let doomed = start_with(&storage, options(), |b| b.register(&hang));
    let retried = doomed
        .enqueue_with(
            &hang,
            (),
            EnqueueOptions::new().retry(RetryOptions {
                max_attempts: 1,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let exhausted = doomed.enqueue(&hang, ()).await.unwrap();
    assert!(eventually(Duration::from_secs(5), || runs.get() == 2).await);
    // The process "dies": no shutdown, the loops stop, the rows stay running.
    drop(doomed);
    let survivor = start_with(&storage, options(), |b| b.register(&hang));
    let done = retried
        .wait_with(durable_execution::WaitOptions::new().timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(
        done.output::<Option<String>>().unwrap().as_deref(),
        Some("Task expired")
    );
    assert_eq!(done.attempt, 1);
    let failed = exhausted.wait().await.unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    let error = failed.error.unwrap();
    assert_eq!(error.message, "Task expired");
    assert!(!error.is_retryable);
    assert_eq!(runs.get(), 3);
    survivor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Transient storage errors in the loops are retried; nothing is lost.
/// Corrupt rows fail that execution only.
pub async fn storage_faults_are_survived(factory: Factory) {
    let base = factory("storage_faults_are_survived").await;
    let faulty = Arc::new(FaultyStorage::new(base));
    let storage: Arc<dyn Storage> = faulty.clone();
    let double = Task::new("double", |_ctx: TaskContext, n: u64| async move {
        Ok::<_, TaskError>(n * 2)
    });
    let executor = start(&storage, |b| b.register(&double));
    faulty
        .fail_claim
        .store(3, std::sync::atomic::Ordering::SeqCst);
    faulty
        .fail_finish
        .store(3, std::sync::atomic::Ordering::SeqCst);
    faulty
        .fail_close
        .store(3, std::sync::atomic::Ordering::SeqCst);
    // E5: an insert that keeps failing rejects the enqueue with the
    // operation named, and stores nothing (a transient failure is retried a
    // few times first: see `faults::enqueue_retries_transient_failures`).
    faulty
        .fail_insert
        .store(100, std::sync::atomic::Ordering::SeqCst);
    let err = executor.enqueue(&double, 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            ExecutorError::Storage {
                operation: "insert",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("injected failure of insert"),
        "{err}"
    );
    assert!(storage.stats(0).await.unwrap().counts.is_empty());
    faulty
        .fail_insert
        .store(0, std::sync::atomic::Ordering::SeqCst);
    let handles = executor.enqueue_many(&double, 0..50).await.unwrap();
    for (i, handle) in handles.iter().enumerate() {
        let done = handle.wait().await.unwrap();
        assert_eq!(done.output::<u64>().unwrap(), 2 * i as u64);
    }
    let prepared = executor.prepare(&double, 7, EnqueueOptions::new()).unwrap();
    faulty
        .corrupt_ids
        .lock()
        .unwrap()
        .push(prepared.execution_id.clone());
    storage
        .insert(std::slice::from_ref(&prepared))
        .await
        .unwrap();
    let done = executor.handle_for(&prepared).wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    let error = done.error.unwrap();
    assert_eq!(error.kind, ErrorKind::Generic);
    assert!(
        error.message.contains("corrupt task execution"),
        "{}",
        error.message
    );
    assert!(error.message.contains("retry_options"), "{}", error.message);
    let ok = executor
        .enqueue(&double, 4)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(ok.output::<u64>().unwrap(), 8);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}
