//! A storage wrapper that records the result writes of an executor.

use async_trait::async_trait;
use durable_execution::model::{ExecutionStatus, Millis};
use durable_execution::storage::{FinishItem, RetryItem, Storage, StorageResult, StorageWrapper};
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
impl StorageWrapper for Recording {
    const FORWARD_INSERT_AND_CLAIM: bool = true;

    fn inner(&self) -> &dyn Storage {
        &*self.inner
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
}
