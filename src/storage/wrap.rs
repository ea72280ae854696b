//! [`StorageWrapper`]: wrap a storage and override only what the wrapper
//! needs.

use super::{
    AdvanceItem, CancelItem, ChildOutput, CloseOutcome, ExpireOutcome, FinishItem, RetryItem,
    Storage, StorageEvent, StorageResult, StorageStats, StuckOutcome, WaitItem,
};
use crate::model::{CorruptRow, Loaded, Millis, NewExecution};
use async_trait::async_trait;
use futures::future::BoxFuture;

/// The name of a [`Storage`] method, as [`StorageWrapper::around`] receives
/// it: `"insert"`, `"claim_ready"`, `"close_finished"`, …
pub type MethodName = &'static str;

/// A storage that wraps another one: every [`Storage`] method has a default
/// that forwards to [`inner`](StorageWrapper::inner), so a wrapper
/// overrides only the methods it changes (injecting faults, recording
/// writes), and [`around`](StorageWrapper::around) sees every call (counting
/// calls, timing them). Every `StorageWrapper` is a [`Storage`] through a
/// blanket implementation.
///
/// The methods have the names and signatures of [`Storage`]'s. Through an
/// `Arc<dyn Storage>` (what an executor holds) or a generic `S: Storage`
/// there is nothing to choose; on the wrapper's own type, with both traits
/// in scope, say which one: `Storage::get(&wrapper, ids)`.
///
/// # Example: counting calls
///
/// ```
/// use durable_execution::storage::{MemoryStorage, MethodName, Storage, StorageWrapper};
/// use futures::future::BoxFuture;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Debug)]
/// struct Counting {
///     inner: Arc<dyn Storage>,
///     calls: AtomicU64,
/// }
///
/// impl StorageWrapper for Counting {
///     fn inner(&self) -> &dyn Storage {
///         &*self.inner
///     }
///     fn around<'a, T: Send + 'a>(
///         &'a self,
///         _method: MethodName,
///         call: BoxFuture<'a, T>,
///     ) -> BoxFuture<'a, T> {
///         self.calls.fetch_add(1, Ordering::Relaxed);
///         call
///     }
/// }
///
/// # async fn demo() -> Result<(), durable_execution::storage::StorageError> {
/// let counting = Arc::new(Counting {
///     inner: Arc::new(MemoryStorage::new()),
///     calls: AtomicU64::new(0),
/// });
/// let storage: Arc<dyn Storage> = counting.clone();
/// storage.get(&["nothing".to_owned()]).await?;
/// storage.stats(0).await?;
/// assert_eq!(counting.calls.load(Ordering::Relaxed), 2);
/// # Ok(())
/// # }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
///
/// Overriding one method (here: refusing every insert with a transient
/// error, which the executor retries):
///
/// ```
/// use async_trait::async_trait;
/// use durable_execution::model::NewExecution;
/// use durable_execution::storage::{Storage, StorageError, StorageResult, StorageWrapper};
///
/// #[derive(Debug)]
/// struct Unavailable(Box<dyn Storage>);
///
/// #[async_trait]
/// impl StorageWrapper for Unavailable {
///     fn inner(&self) -> &dyn Storage {
///         &*self.0
///     }
///     async fn insert(&self, _executions: &[NewExecution]) -> StorageResult<()> {
///         Err(StorageError::transient("unavailable", "the service is down"))
///     }
/// }
/// ```
#[async_trait]
pub trait StorageWrapper: Send + Sync + std::fmt::Debug + 'static {
    /// The wrapped storage, which every method not overridden forwards to.
    fn inner(&self) -> &dyn Storage;

    /// Runs every call of a [`Storage`] method but `backend_name` and
    /// `subscribe` (`call` is the wrapper's method, overridden or
    /// forwarding). The default runs `call` as it is; override it to count
    /// or time calls.
    fn around<'a, T: Send + 'a>(
        &'a self,
        method: MethodName,
        call: BoxFuture<'a, T>,
    ) -> BoxFuture<'a, T> {
        let _ = method;
        call
    }

    /// [`Storage::backend_name`]; forwards by default.
    fn backend_name(&self) -> &'static str {
        self.inner().backend_name()
    }

    /// [`Storage::insert`]; forwards by default.
    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        self.inner().insert(executions).await
    }

    /// [`Storage::get`]; forwards by default.
    async fn get(&self, execution_ids: &[String]) -> StorageResult<Vec<Loaded>> {
        self.inner().get(execution_ids).await
    }

    /// [`Storage::get_children`]; forwards by default.
    async fn get_children(&self, parent_execution_id: &str) -> StorageResult<Vec<Loaded>> {
        self.inner().get_children(parent_execution_id).await
    }

    /// [`Storage::children_outputs`]; forwards by default (to the inner
    /// storage's own implementation, not to the trait's default).
    async fn children_outputs(
        &self,
        parent_execution_id: &str,
        after: Option<u32>,
        limit: u32,
    ) -> StorageResult<Vec<Result<ChildOutput, CorruptRow>>> {
        self.inner()
            .children_outputs(parent_execution_id, after, limit)
            .await
    }

    /// [`Storage::claim_ready`]; forwards by default.
    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        self.inner()
            .claim_ready(executor_id, now, limit, lease_slack_ms)
            .await
    }

    /// [`Storage::finish`]; forwards by default.
    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        self.inner().finish(executor_id, now, items).await
    }

    /// [`Storage::retry`]; forwards by default.
    async fn retry(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Vec<String>> {
        self.inner().retry(executor_id, now, items).await
    }

    /// [`Storage::wait_for_children`]; forwards by default.
    async fn wait_for_children(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>> {
        self.inner()
            .wait_for_children(executor_id, now, items)
            .await
    }

    /// [`Storage::release`]; forwards by default.
    async fn release(
        &self,
        executor_id: &str,
        now: Millis,
        execution_ids: &[String],
    ) -> StorageResult<Vec<String>> {
        self.inner().release(executor_id, now, execution_ids).await
    }

    /// [`Storage::close_finished`]; forwards by default.
    async fn close_finished(&self, now: Millis, limit: u32) -> StorageResult<CloseOutcome> {
        self.inner().close_finished(now, limit).await
    }

    /// [`Storage::ready_parents`]; forwards by default.
    async fn ready_parents(&self, limit: u32) -> StorageResult<Vec<Loaded>> {
        self.inner().ready_parents(limit).await
    }

    /// [`Storage::advance_parents`]; forwards by default.
    async fn advance_parents(
        &self,
        now: Millis,
        items: &[AdvanceItem],
    ) -> StorageResult<Vec<String>> {
        self.inner().advance_parents(now, items).await
    }

    /// [`Storage::cancel`]; forwards by default.
    async fn cancel(&self, now: Millis, items: &[CancelItem]) -> StorageResult<Vec<String>> {
        self.inner().cancel(now, items).await
    }

    /// [`Storage::claim_cancellations`]; forwards by default.
    async fn claim_cancellations(
        &self,
        executor_id: &str,
        limit: u32,
    ) -> StorageResult<Vec<String>> {
        self.inner().claim_cancellations(executor_id, limit).await
    }

    /// [`Storage::expire_leases`]; forwards by default.
    async fn expire_leases(&self, now: Millis, limit: u32) -> StorageResult<ExpireOutcome> {
        self.inner().expire_leases(now, limit).await
    }

    /// [`Storage::repair_stuck`]; forwards by default.
    async fn repair_stuck(
        &self,
        now: Millis,
        lease_slack_ms: u64,
        limit: u32,
    ) -> StorageResult<StuckOutcome> {
        self.inner().repair_stuck(now, lease_slack_ms, limit).await
    }

    /// [`Storage::stats`]; forwards by default.
    async fn stats(&self, now: Millis) -> StorageResult<StorageStats> {
        self.inner().stats(now).await
    }

    /// [`Storage::delete_all`]; forwards by default.
    async fn delete_all(&self) -> StorageResult<u64> {
        self.inner().delete_all().await
    }

    /// [`Storage::subscribe`]; forwards by default.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StorageEvent> {
        self.inner().subscribe()
    }
}

/// Each method runs the wrapper's method of the same name inside
/// [`StorageWrapper::around`].
#[async_trait]
impl<W: StorageWrapper> Storage for W {
    fn backend_name(&self) -> &'static str {
        StorageWrapper::backend_name(self)
    }
    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        self.around("insert", StorageWrapper::insert(self, executions))
            .await
    }
    async fn get(&self, execution_ids: &[String]) -> StorageResult<Vec<Loaded>> {
        self.around("get", StorageWrapper::get(self, execution_ids))
            .await
    }
    async fn get_children(&self, parent_execution_id: &str) -> StorageResult<Vec<Loaded>> {
        let call = StorageWrapper::get_children(self, parent_execution_id);
        self.around("get_children", call).await
    }
    async fn children_outputs(
        &self,
        parent_execution_id: &str,
        after: Option<u32>,
        limit: u32,
    ) -> StorageResult<Vec<Result<ChildOutput, CorruptRow>>> {
        let call = StorageWrapper::children_outputs(self, parent_execution_id, after, limit);
        self.around("children_outputs", call).await
    }
    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        let call = StorageWrapper::claim_ready(self, executor_id, now, limit, lease_slack_ms);
        self.around("claim_ready", call).await
    }
    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        let call = StorageWrapper::finish(self, executor_id, now, items);
        self.around("finish", call).await
    }
    async fn retry(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Vec<String>> {
        let call = StorageWrapper::retry(self, executor_id, now, items);
        self.around("retry", call).await
    }
    async fn wait_for_children(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>> {
        let call = StorageWrapper::wait_for_children(self, executor_id, now, items);
        self.around("wait_for_children", call).await
    }
    async fn release(
        &self,
        executor_id: &str,
        now: Millis,
        execution_ids: &[String],
    ) -> StorageResult<Vec<String>> {
        let call = StorageWrapper::release(self, executor_id, now, execution_ids);
        self.around("release", call).await
    }
    async fn close_finished(&self, now: Millis, limit: u32) -> StorageResult<CloseOutcome> {
        let call = StorageWrapper::close_finished(self, now, limit);
        self.around("close_finished", call).await
    }
    async fn ready_parents(&self, limit: u32) -> StorageResult<Vec<Loaded>> {
        let call = StorageWrapper::ready_parents(self, limit);
        self.around("ready_parents", call).await
    }
    async fn advance_parents(
        &self,
        now: Millis,
        items: &[AdvanceItem],
    ) -> StorageResult<Vec<String>> {
        let call = StorageWrapper::advance_parents(self, now, items);
        self.around("advance_parents", call).await
    }
    async fn cancel(&self, now: Millis, items: &[CancelItem]) -> StorageResult<Vec<String>> {
        let call = StorageWrapper::cancel(self, now, items);
        self.around("cancel", call).await
    }
    async fn claim_cancellations(
        &self,
        executor_id: &str,
        limit: u32,
    ) -> StorageResult<Vec<String>> {
        let call = StorageWrapper::claim_cancellations(self, executor_id, limit);
        self.around("claim_cancellations", call).await
    }
    async fn expire_leases(&self, now: Millis, limit: u32) -> StorageResult<ExpireOutcome> {
        let call = StorageWrapper::expire_leases(self, now, limit);
        self.around("expire_leases", call).await
    }
    async fn repair_stuck(
        &self,
        now: Millis,
        lease_slack_ms: u64,
        limit: u32,
    ) -> StorageResult<StuckOutcome> {
        let call = StorageWrapper::repair_stuck(self, now, lease_slack_ms, limit);
        self.around("repair_stuck", call).await
    }
    async fn stats(&self, now: Millis) -> StorageResult<StorageStats> {
        let call = StorageWrapper::stats(self, now);
        self.around("stats", call).await
    }
    async fn delete_all(&self) -> StorageResult<u64> {
        let call = StorageWrapper::delete_all(self);
        self.around("delete_all", call).await
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StorageEvent> {
        StorageWrapper::subscribe(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;
    use std::sync::Mutex;

    /// Records the method names `around` sees; overrides `stats` only.
    #[derive(Debug)]
    struct Probe {
        inner: MemoryStorage,
        seen: Mutex<Vec<MethodName>>,
    }

    #[async_trait]
    impl StorageWrapper for Probe {
        fn inner(&self) -> &dyn Storage {
            &self.inner
        }
        fn around<'a, T: Send + 'a>(
            &'a self,
            method: MethodName,
            call: BoxFuture<'a, T>,
        ) -> BoxFuture<'a, T> {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(method);
            }
            call
        }
        fn backend_name(&self) -> &'static str {
            "probe"
        }
        async fn stats(&self, _now: Millis) -> StorageResult<StorageStats> {
            Err(crate::storage::StorageError::transient(
                "probe",
                "stats are down",
            ))
        }
    }

    #[tokio::test]
    async fn forwards_what_is_not_overridden_and_sees_every_call() {
        let probe = Probe {
            inner: MemoryStorage::new(),
            seen: Mutex::new(Vec::new()),
        };
        let storage: &dyn Storage = &probe;
        assert_eq!(storage.backend_name(), "probe");
        assert_eq!(storage.delete_all().await.ok(), Some(0));
        assert!(
            storage
                .get(&["x".to_owned()])
                .await
                .is_ok_and(|r| r.is_empty())
        );
        let err = storage.stats(0).await.err();
        assert!(err.is_some_and(|e| e.is_transient()));
        let seen = probe.seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, ["delete_all", "get", "stats"]);
    }
}
