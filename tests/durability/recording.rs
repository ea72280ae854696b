//! A storage wrapper that records the result writes of an executor.

use async_trait::async_trait;
use durable_execution::model::{ExecutionStatus, Loaded, Millis, NewExecution};
use durable_execution::storage::{
    AdvanceItem, CancelItem, CloseOutcome, ExpireOutcome, FinishItem, RetryItem, Storage,
    StorageEvent, StorageResult, StorageStats, StuckOutcome, WaitItem,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One `finish` item the executor tried to write, and whether the guarded
/// update matched.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishAttempt {
    pub execution_id: String,
    pub status: ExecutionStatus,
    pub output: Option<String>,
    pub matched: bool,
}

/// Forwards everything to `inner`; records every `finish` item; can delay
/// the acknowledgement of `retry` writes (network latency after the commit:
/// the change is already visible to everyone else).
#[derive(Debug)]
pub struct Recording {
    inner: Arc<dyn Storage>,
    finishes: Mutex<Vec<FinishAttempt>>,
    retry_ack_delay: Duration,
}

impl Recording {
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        Self {
            inner,
            finishes: Mutex::new(Vec::new()),
            retry_ack_delay: Duration::ZERO,
        }
    }

    /// Delays the return of every `retry` call by `delay`, after the write.
    pub fn with_retry_ack_delay(mut self, delay: Duration) -> Self {
        self.retry_ack_delay = delay;
        self
    }

    /// The finish attempts for `execution_id` so far.
    pub fn finishes_of(&self, execution_id: &str) -> Vec<FinishAttempt> {
        self.finishes
            .lock()
            .unwrap()
            .iter()
            .filter(|f| f.execution_id == execution_id)
            .cloned()
            .collect()
    }
}

#[async_trait]
impl Storage for Recording {
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        self.inner.insert(executions).await
    }
    async fn get(&self, execution_ids: &[String]) -> StorageResult<Vec<Loaded>> {
        self.inner.get(execution_ids).await
    }
    async fn get_children(&self, parent_execution_id: &str) -> StorageResult<Vec<Loaded>> {
        self.inner.get_children(parent_execution_id).await
    }
    async fn children_outputs(
        &self,
        parent_execution_id: &str,
        after: Option<u32>,
        limit: u32,
    ) -> StorageResult<
        Vec<Result<durable_execution::storage::ChildOutput, durable_execution::model::CorruptRow>>,
    > {
        self.inner
            .children_outputs(parent_execution_id, after, limit)
            .await
    }
    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        self.inner
            .claim_ready(executor_id, now, limit, lease_slack_ms)
            .await
    }
    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        let matched = self.inner.finish(executor_id, now, items).await?;
        self.finishes
            .lock()
            .unwrap()
            .extend(items.iter().map(|item| FinishAttempt {
                execution_id: item.execution_id.clone(),
                status: item.status,
                output: item.output.clone(),
                matched: matched.contains(&item.execution_id),
            }));
        Ok(matched)
    }
    async fn retry(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Vec<String>> {
        let matched = self.inner.retry(executor_id, now, items).await;
        if !self.retry_ack_delay.is_zero() {
            tokio::time::sleep(self.retry_ack_delay).await;
        }
        matched
    }
    async fn wait_for_children(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>> {
        self.inner.wait_for_children(executor_id, now, items).await
    }
    async fn release(
        &self,
        executor_id: &str,
        now: Millis,
        execution_ids: &[String],
    ) -> StorageResult<Vec<String>> {
        self.inner.release(executor_id, now, execution_ids).await
    }
    async fn close_finished(&self, now: Millis, limit: u32) -> StorageResult<CloseOutcome> {
        self.inner.close_finished(now, limit).await
    }
    async fn ready_parents(&self, limit: u32) -> StorageResult<Vec<Loaded>> {
        self.inner.ready_parents(limit).await
    }
    async fn advance_parents(
        &self,
        now: Millis,
        items: &[AdvanceItem],
    ) -> StorageResult<Vec<String>> {
        self.inner.advance_parents(now, items).await
    }
    async fn cancel(&self, now: Millis, items: &[CancelItem]) -> StorageResult<Vec<String>> {
        self.inner.cancel(now, items).await
    }
    async fn claim_cancellations(
        &self,
        executor_id: &str,
        limit: u32,
    ) -> StorageResult<Vec<String>> {
        self.inner.claim_cancellations(executor_id, limit).await
    }
    async fn expire_leases(&self, now: Millis, limit: u32) -> StorageResult<ExpireOutcome> {
        self.inner.expire_leases(now, limit).await
    }
    async fn repair_stuck(
        &self,
        now: Millis,
        lease_slack_ms: u64,
        limit: u32,
    ) -> StorageResult<StuckOutcome> {
        self.inner.repair_stuck(now, lease_slack_ms, limit).await
    }
    async fn stats(&self, now: Millis) -> StorageResult<StorageStats> {
        self.inner.stats(now).await
    }
    async fn delete_all(&self) -> StorageResult<u64> {
        self.inner.delete_all().await
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StorageEvent> {
        self.inner.subscribe()
    }
}
