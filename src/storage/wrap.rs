//! [`StorageWrapper`]: wrap a storage and override only what the wrapper
//! needs.

use super::{
    AdvanceItem, CancelItem, ChildOutput, CloseOutcome, ExpireOutcome, FinishItem, ListCursor,
    ListFilter, ListPage, PruneCursor, PruneCutoff, PruneOutcome, RerunOutcome, RetryItem, RunRef,
    Storage, StorageEvent, StorageResult, StorageStats, StuckOutcome, WaitItem, Wake, Woken,
};
use crate::model::{CorruptRow, Loaded, Millis, NewExecution};
use async_trait::async_trait;
use futures::future::BoxFuture;

/// The name of a [`Storage`] method, as [`StorageWrapper::around`] receives
/// it: `"insert"`, `"claim_ready"`, `"close_finished"`, …
pub type MethodName = &'static str;

/// Declares [`StorageWrapper`] with one forwarding default per listed
/// [`Storage`] method, and the blanket `impl Storage for W: StorageWrapper`
/// that runs each through [`StorageWrapper::around`]: one list, so the two
/// cannot drift apart.
macro_rules! storage_wrapper {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {
        /// A storage that wraps another one: every [`Storage`] method has a
        /// default that forwards to [`inner`](StorageWrapper::inner), so a
        /// wrapper overrides only the methods it changes (injecting faults,
        /// recording writes), and [`around`](StorageWrapper::around) sees
        /// every call (counting calls, timing them). Every `StorageWrapper`
        /// is a [`Storage`] through a blanket implementation.
        ///
        /// The methods have the names and signatures of [`Storage`]'s (see
        /// there what each does). Through an `Arc<dyn Storage>` (what an
        /// executor holds) or a generic `S: Storage` there is nothing to
        /// choose; on the wrapper's own type, with both traits in scope, say
        /// which one: `Storage::get(&wrapper, ids)`.
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
        /// Overriding one method (here: refusing every insert with a
        /// transient error, which the executor retries):
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
            /// The wrapped storage, which every method not overridden
            /// forwards to.
            fn inner(&self) -> &dyn Storage;

            /// Runs every call of a [`Storage`] method but `backend_name`
            /// and `subscribe` (`call` is the wrapper's method, overridden
            /// or forwarding). The default runs `call` as it is; override
            /// it to count or time calls.
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

            /// [`Storage::subscribe`]; forwards by default.
            fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StorageEvent> {
                self.inner().subscribe()
            }

            /// Whether [`insert_and_claim`](Self::insert_and_claim)
            /// forwards to the inner storage. `false` by default: see
            /// there. A wrapper that overrides neither
            /// [`insert`](Self::insert) nor [`claim_ready`](Self::claim_ready)
            /// (one that only counts or times calls in
            /// [`around`](Self::around)) sets it to `true` and keeps the
            /// inner storage's single commit.
            const FORWARD_INSERT_AND_CLAIM: bool = false;

            /// [`Storage::insert_and_claim`]. Unlike every other method it
            /// does not forward by default (unless
            /// [`FORWARD_INSERT_AND_CLAIM`](Self::FORWARD_INSERT_AND_CLAIM)):
            /// it runs this wrapper's own [`insert`](Self::insert), then its
            /// own [`claim_ready`](Self::claim_ready) (two calls, as
            /// [`Storage::insert_and_claim`]'s default does), so that a
            /// wrapper that overrides either sees the executions an
            /// executor claims at enqueue too.
            async fn insert_and_claim(
                &self,
                executions: &[NewExecution],
                executor_id: &str,
                now: Millis,
                limit: u32,
                lease_slack_ms: u64,
                lease_ms: u64,
            ) -> StorageResult<Vec<Loaded>> {
                if Self::FORWARD_INSERT_AND_CLAIM {
                    return self
                        .inner()
                        .insert_and_claim(executions, executor_id, now, limit, lease_slack_ms, lease_ms)
                        .await;
                }
                StorageWrapper::insert(self, executions).await?;
                if limit == 0 || executions.is_empty() {
                    return Ok(Vec::new());
                }
                Ok(super::claimed_after_insert(
                    StorageWrapper::claim_ready(self, executor_id, now, limit, lease_slack_ms, lease_ms).await,
                ))
            }

            $(
                #[doc = concat!("[`Storage::", stringify!($name), "`]; forwards by default (to the inner storage's own implementation).")]
                async fn $name(&self, $($arg: $ty),*) -> $ret {
                    self.inner().$name($($arg),*).await
                }
            )*
        }

        /// Each method runs the wrapper's method of the same name inside
        /// [`StorageWrapper::around`].
        #[async_trait]
        impl<W: StorageWrapper> Storage for W {
            fn backend_name(&self) -> &'static str {
                StorageWrapper::backend_name(self)
            }
            fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StorageEvent> {
                StorageWrapper::subscribe(self)
            }
            async fn insert_and_claim(
                &self,
                executions: &[NewExecution],
                executor_id: &str,
                now: Millis,
                limit: u32,
                lease_slack_ms: u64,
                lease_ms: u64,
            ) -> StorageResult<Vec<Loaded>> {
                let call = StorageWrapper::insert_and_claim(
                    self,
                    executions,
                    executor_id,
                    now,
                    limit,
                    lease_slack_ms,
                    lease_ms,
                );
                self.around("insert_and_claim", call).await
            }
            $(
                async fn $name(&self, $($arg: $ty),*) -> $ret {
                    let call = StorageWrapper::$name(self, $($arg),*);
                    self.around(stringify!($name), call).await
                }
            )*
        }
    };
}

storage_wrapper! {
    insert(executions: &[NewExecution]) -> StorageResult<()>;
    get(execution_ids: &[String]) -> StorageResult<Vec<Loaded>>;
    get_children(parent_execution_id: &str) -> StorageResult<Vec<Loaded>>;
    children_outputs(parent_execution_id: &str, after: Option<u32>, limit: u32)
        -> StorageResult<Vec<Result<ChildOutput, CorruptRow>>>;
    claim_ready(executor_id: &str, now: Millis, limit: u32, lease_slack_ms: u64, lease_ms: u64)
        -> StorageResult<Vec<Loaded>>;
    heartbeat(executor_id: &str, now: Millis, lease_ms: u64, runs: &[RunRef])
        -> StorageResult<Vec<String>>;
    finish(executor_id: &str, now: Millis, items: &[FinishItem]) -> StorageResult<Vec<String>>;
    retry(executor_id: &str, now: Millis, items: &[RetryItem]) -> StorageResult<Vec<String>>;
    wait_for_children(executor_id: &str, now: Millis, items: &[WaitItem])
        -> StorageResult<Vec<String>>;
    release(executor_id: &str, now: Millis, runs: &[RunRef])
        -> StorageResult<Vec<String>>;
    close_finished(now: Millis, limit: u32) -> StorageResult<CloseOutcome>;
    ready_parents(limit: u32) -> StorageResult<Vec<Loaded>>;
    advance_parents(now: Millis, items: &[AdvanceItem]) -> StorageResult<Vec<String>>;
    cancel(now: Millis, items: &[CancelItem]) -> StorageResult<Vec<String>>;
    claim_cancellations(executor_id: &str, limit: u32) -> StorageResult<Vec<String>>;
    expire_leases(now: Millis, limit: u32) -> StorageResult<ExpireOutcome>;
    wake(task_id: &str, key: &str, now: Millis, wake: &Wake) -> StorageResult<Option<Woken>>;
    repair_stuck(now: Millis, lease_slack_ms: u64, limit: u32) -> StorageResult<StuckOutcome>;
    stats(now: Millis) -> StorageResult<StorageStats>;
    list(filter: &ListFilter, cursor: Option<&ListCursor>, limit: u32) -> StorageResult<ListPage>;
    rerun(now: Millis, execution_id: &str) -> StorageResult<RerunOutcome>;
    prune(cutoffs: &[PruneCutoff], limit: u32, after: Option<PruneCursor>, dry_run: bool) -> StorageResult<PruneOutcome>;
    delete_all() -> StorageResult<u64>;
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
