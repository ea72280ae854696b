//! A backend as a crate outside this one would write it: a type of its own
//! (here [`MemoryStorage`] behind a [`StorageWrapper`] that counts calls)
//! runs the public suite with one macro call and with [`run_all`], and its
//! own errors made with [`StorageError::transient`] take part in the
//! executor's retries.

use durable_execution::conformance::{self, run_all};
use durable_execution::model::{ExecutionStatus, Loaded, Millis, NewExecution};
use durable_execution::storage::{
    FinishItem, MemoryStorage, MethodName, Storage, StorageError, StorageResult, StorageWrapper,
};
use durable_execution::{Executor, ExecutorOptions, Task, TaskContext, TaskError};
use futures::future::BoxFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// A storage type defined outside the crate: forwards everything to a
/// memory storage and counts the calls.
#[derive(Debug, Default)]
pub struct Counted {
    inner: MemoryStorage,
    calls: Arc<AtomicU64>,
}

impl StorageWrapper for Counted {
    fn inner(&self) -> &dyn Storage {
        &self.inner
    }
    fn around<'a, T: Send + 'a>(
        &'a self,
        _method: MethodName,
        call: BoxFuture<'a, T>,
    ) -> BoxFuture<'a, T> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        call
    }
    fn backend_name(&self) -> &'static str {
        "counted"
    }
}

durable_execution::conformance_tests!(counted, || async { Counted::default() });

/// [`run_all`] runs every case on the out-of-tree storage and reports each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_all_passes_every_case() {
    let calls = Arc::new(AtomicU64::new(0));
    let report = run_all(|| {
        let calls = Arc::clone(&calls);
        async move {
            Counted {
                inner: MemoryStorage::new(),
                calls,
            }
        }
    })
    .await;
    report.assert_passed();
    assert_eq!(report.outcomes.len(), conformance::CASES.len());
    // Every case makes several calls, all through the wrapper.
    let calls = calls.load(Ordering::Relaxed);
    assert!(calls > 3 * conformance::CASES.len() as u64, "{calls}");
}

/// A backend that loses rows' order: [`run_all`] reports the cases that
/// catch it, and only those, instead of stopping at the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_all_reports_failing_cases() {
    #[derive(Debug, Default)]
    struct Reversed(MemoryStorage);

    #[async_trait::async_trait]
    impl StorageWrapper for Reversed {
        fn inner(&self) -> &dyn Storage {
            &self.0
        }
        async fn get(&self, execution_ids: &[String]) -> StorageResult<Vec<Loaded>> {
            let mut rows = self.0.get(execution_ids).await?;
            rows.reverse();
            Ok(rows)
        }
    }

    let report = run_all(|| async { Reversed::default() }).await;
    let failed: Vec<_> = report.failures().map(|o| o.name).collect();
    assert!(
        failed.contains(&"get_follows_the_requested_order"),
        "{report}"
    );
    assert!(!report.passed());
    assert!(failed.len() < report.outcomes.len(), "{report}");
    assert!(
        report
            .to_string()
            .contains("FAILED  get_follows_the_requested_order")
    );
}

/// Fails the first inserts and finishes with the backend-neutral
/// [`StorageError::transient`].
#[derive(Debug, Default)]
struct Flaky {
    inner: MemoryStorage,
    insert_failures: AtomicU32,
    finish_failures: AtomicU32,
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait::async_trait]
impl StorageWrapper for Flaky {
    fn inner(&self) -> &dyn Storage {
        &self.inner
    }
    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        if take(&self.insert_failures) {
            return Err(StorageError::transient(
                "flaky",
                "connection reset before the insert",
            ));
        }
        self.inner.insert(executions).await
    }
    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        if take(&self.finish_failures) {
            return Err(StorageError::transient(
                "flaky",
                "connection reset before the finish",
            ));
        }
        self.inner.finish(executor_id, now, items).await
    }
}

/// An out-of-tree backend's transient errors are retried: the enqueue and
/// the result write succeed on a later try, the task runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transient_backend_errors_are_retried() {
    let flaky = Arc::new(Flaky::default());
    flaky.insert_failures.store(2, Ordering::SeqCst);
    flaky.finish_failures.store(3, Ordering::SeqCst);
    let storage: Arc<dyn Storage> = flaky.clone();
    let runs = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&runs);
    let task = Task::new("double", move |_ctx: TaskContext, n: u32| {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok::<_, TaskError>(n * 2)
        }
    });
    let options = ExecutorOptions::builder()
        .poll_interval(Duration::from_millis(20))
        .error_backoff(Duration::from_millis(5), Duration::from_millis(50))
        .lease_slack(Duration::from_secs(60))
        .build()
        .unwrap();
    let executor = Executor::builder(storage)
        .options(options)
        .register(&task)
        .build()
        .unwrap();
    executor.start().unwrap();
    let handle = executor.enqueue(&task, 21).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(30), handle.wait())
        .await
        .expect("the task finishes")
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed, "{:?}", done.error);
    assert_eq!(done.output::<u32>().unwrap(), 42);
    assert_eq!(flaky.insert_failures.load(Ordering::SeqCst), 0);
    assert_eq!(flaky.finish_failures.load(Ordering::SeqCst), 0);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "never re-run");
    assert!(StorageError::transient("flaky", "x").is_transient());
    assert!(!StorageError::permanent("flaky", "x").is_transient());
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
