//! Shared helpers: the storage factory, executor setup, waiting helpers and
//! storage wrappers that inject faults.

#![allow(dead_code)]

use async_trait::async_trait;
use durable_execution::model::{CorruptRow, Loaded, Millis, NewExecution};
use durable_execution::storage::{
    CloseOutcome, FinishItem, RetryItem, Storage, StorageError, StorageResult, StorageWrapper,
    WaitItem,
};
use durable_execution::{Executor, ExecutorBuilder, ExecutorOptions, ExecutorOptionsBuilder};
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Creates a fresh, empty storage for one test (the argument is the test
/// name, so that SQL backends can use one database or schema per test).
pub type Factory = Arc<dyn Fn(&str) -> BoxFuture<'static, Arc<dyn Storage>> + Send + Sync>;

/// Wraps a closure into a [`Factory`].
pub fn factory<F, Fut>(f: F) -> Factory
where
    F: Fn(&str) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Arc<dyn Storage>> + Send + 'static,
{
    Arc::new(move |name: &str| Box::pin(f(name)))
}

/// Options with short intervals, for tests.
pub fn fast_options() -> ExecutorOptionsBuilder {
    ExecutorOptions::builder()
        .poll_interval(Duration::from_millis(20))
        .wait_poll_interval(Duration::from_millis(50))
        .error_backoff(Duration::from_millis(5), Duration::from_millis(100))
}

/// Builds and starts an executor with [`fast_options`] on `storage`.
pub fn start(
    storage: &Arc<dyn Storage>,
    register: impl FnOnce(ExecutorBuilder) -> ExecutorBuilder,
) -> Executor {
    start_with(storage, fast_options(), register)
}

/// Builds and starts an executor with the given options.
pub fn start_with(
    storage: &Arc<dyn Storage>,
    options: ExecutorOptionsBuilder,
    register: impl FnOnce(ExecutorBuilder) -> ExecutorBuilder,
) -> Executor {
    let options = options.build().expect("valid test options");
    let executor = register(Executor::builder(storage.clone()).options(options))
        .build()
        .expect("executor builds");
    executor.start().expect("executor starts");
    executor
}

/// Polls `condition` every 5 ms until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A shared call counter.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU32>);

impl Counter {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn hit(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    pub fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A storage wrapper that injects faults: transient errors
/// ([`StorageError::transient`], as an out-of-tree backend reports them) on
/// the next `n` calls of chosen operations, and rows reported as corrupt by
/// `claim_ready`.
#[derive(Debug)]
pub struct FaultyStorage {
    pub inner: Arc<dyn Storage>,
    pub fail_insert: AtomicU32,
    /// Inserts that commit and then report a transient error (an answer
    /// lost on the way back).
    pub fail_insert_after_commit: AtomicU32,
    pub fail_finish: AtomicU32,
    pub fail_claim: AtomicU32,
    pub fail_close: AtomicU32,
    pub fail_retry: AtomicU32,
    pub fail_wait: AtomicU32,
    pub corrupt_ids: Mutex<Vec<String>>,
    /// A finish, retry or wait-for-children batch with an item whose
    /// output or error message contains this text is refused with a
    /// non-transient error (as a database refuses a value it cannot store).
    pub refuse_marker: Mutex<Option<String>>,
}

impl FaultyStorage {
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        Self {
            inner,
            fail_insert: AtomicU32::new(0),
            fail_insert_after_commit: AtomicU32::new(0),
            fail_finish: AtomicU32::new(0),
            fail_claim: AtomicU32::new(0),
            fail_close: AtomicU32::new(0),
            fail_retry: AtomicU32::new(0),
            fail_wait: AtomicU32::new(0),
            corrupt_ids: Mutex::new(Vec::new()),
            refuse_marker: Mutex::new(None),
        }
    }

    fn refuse<'a>(&self, texts: impl IntoIterator<Item = Option<&'a str>>) -> StorageResult<()> {
        let marker = self.refuse_marker.lock().expect("lock").clone();
        let Some(marker) = marker else {
            return Ok(());
        };
        if texts
            .into_iter()
            .flatten()
            .any(|text| text.contains(&marker))
        {
            return Err(StorageError::Encode {
                what: "item",
                message: "injected refusal of a value it cannot store".to_owned(),
            });
        }
        Ok(())
    }

    fn take(counter: &AtomicU32, operation: &str) -> StorageResult<()> {
        let mut current = counter.load(Ordering::SeqCst);
        while current > 0 {
            match counter.compare_exchange(current, current - 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    return Err(StorageError::transient(
                        "faulty",
                        format!("injected failure of {operation}"),
                    ));
                }
                Err(actual) => current = actual,
            }
        }
        Ok(())
    }
}

#[async_trait]
impl StorageWrapper for FaultyStorage {
    fn inner(&self) -> &dyn Storage {
        &*self.inner
    }
    fn backend_name(&self) -> &'static str {
        "faulty"
    }
    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        Self::take(&self.fail_insert, "insert")?;
        self.inner.insert(executions).await?;
        Self::take(&self.fail_insert_after_commit, "insert (after its commit)")
    }
    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
        lease_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        Self::take(&self.fail_claim, "claim_ready")?;
        let rows = self
            .inner
            .claim_ready(executor_id, now, limit, lease_slack_ms, lease_ms)
            .await?;
        let corrupt = self.corrupt_ids.lock().expect("lock").clone();
        Ok(rows
            .into_iter()
            .map(|row| match row {
                Ok(row) if corrupt.contains(&row.execution_id) => Err(CorruptRow {
                    execution_id: row.execution_id,
                    column: "retry_options",
                    message: "expected an object".into(),
                }),
                other => other,
            })
            .collect())
    }
    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        Self::take(&self.fail_finish, "finish")?;
        self.refuse(items.iter().flat_map(|item| {
            [
                item.output.as_deref(),
                item.error.as_ref().map(|e| e.message.as_str()),
            ]
        }))?;
        self.inner.finish(executor_id, now, items).await
    }
    async fn retry(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Vec<String>> {
        Self::take(&self.fail_retry, "retry")?;
        self.refuse(items.iter().map(|item| Some(item.error.message.as_str())))?;
        self.inner.retry(executor_id, now, items).await
    }
    async fn wait_for_children(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>> {
        Self::take(&self.fail_wait, "wait_for_children")?;
        self.refuse(items.iter().map(|item| Some(item.run_output.as_str())))?;
        self.inner.wait_for_children(executor_id, now, items).await
    }
    async fn close_finished(&self, now: Millis, limit: u32) -> StorageResult<CloseOutcome> {
        Self::take(&self.fail_close, "close_finished")?;
        self.inner.close_finished(now, limit).await
    }
}
