//! Enqueueing inside the caller's own database transaction, in one call per
//! backend, with the wake-up sent when the transaction commits.
//!
//! PostgreSQL: the insert queues a `NOTIFY` in the caller's transaction,
//! which PostgreSQL delivers on commit and drops on rollback. SQLite has no
//! such mechanism reachable from a `rusqlite::Transaction` (a commit hook
//! needs `&mut Connection`), so the executor watches for the commit: it
//! reads the new execution ids back, quickly at first (1 ms, doubling up to
//! the poll interval), and wakes its claimer as soon as they are visible.
//! A rolled-back insert never becomes visible and wakes nothing; the
//! watcher forgets it after two poll intervals.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use super::Executor;
use super::{Inner, lock};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::executor::{Definition, EnqueueOptions, ExecutorError, TaskHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// First delay of the commit watcher's reads.
const FIRST_CHECK: Duration = Duration::from_millis(1);

/// Executions inserted in callers' SQLite transactions whose commit the
/// executor has not seen yet.
#[derive(Debug, Default)]
pub(crate) struct CommitWatch {
    pending: Mutex<Vec<(String, Instant)>>,
    added: Notify,
    started: AtomicBool,
}

impl CommitWatch {
    /// Watches for the commit of `execution_ids` (spawns the watcher on the
    /// current runtime the first time; without a runtime, the executor
    /// finds the executions at its next poll).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn watch(
        &self,
        inner: &Arc<Inner>,
        execution_ids: impl IntoIterator<Item = String>,
    ) {
        let now = Instant::now();
        lock(&self.pending).extend(execution_ids.into_iter().map(|id| (id, now)));
        self.added.notify_one();
        if inner.lifecycle.stop_loops.is_cancelled() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current()
            && !self.started.swap(true, Ordering::SeqCst)
        {
            runtime.spawn(commit_watch_loop(inner.clone()));
        }
    }
}

async fn commit_watch_loop(inner: Arc<Inner>) {
    let watch = &inner.tracking.commits;
    let stop = inner.lifecycle.stop_loops.clone();
    let poll = inner.options.poll_interval;
    let mut delay = FIRST_CHECK;
    loop {
        let waiting = lock(&watch.pending).is_empty();
        let added = watch.added.notified();
        if waiting {
            tokio::select! {
                () = added => delay = FIRST_CHECK,
                () = stop.cancelled() => break,
            }
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => delay = (delay * 2).min(poll),
            () = added => delay = FIRST_CHECK,
            () = stop.cancelled() => break,
        }
        let ids: Vec<String> = lock(&watch.pending)
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        let visible: Vec<String> = match inner.storage.get(&ids).await {
            Ok(rows) => rows
                .into_iter()
                .map(|row| match row {
                    Ok(row) => row.execution_id,
                    Err(corrupt) => corrupt.execution_id,
                })
                .collect(),
            Err(error) => {
                tracing::debug!(error = %error, "cannot check for committed executions; the claimer finds them at its next poll");
                Vec::new()
            }
        };
        if !visible.is_empty() {
            inner.wake.claimer.notify_one();
        }
        let forget_before = Instant::now().checked_sub(poll * 2);
        lock(&watch.pending).retain(|(id, added_at)| {
            !visible.contains(id) && forget_before.is_none_or(|before| *added_at >= before)
        });
    }
    watch.started.store(false, Ordering::SeqCst);
}

#[cfg(feature = "sqlite")]
impl Executor {
    /// Enqueues one execution of `task` inside the caller's SQLite
    /// transaction, so that it commits or rolls back with the caller's own
    /// writes ("save the order and enqueue its shipping"). Returns the
    /// typed handle; the execution exists once `tx` commits.
    ///
    /// The transaction must be on the executor's database file. This
    /// executor notices the commit within milliseconds and claims the work
    /// (see the module notes: it reads the new id back until visible);
    /// other executors and processes find it at their next poll. Nothing is
    /// woken on rollback. The insert runs on the calling thread, like the
    /// caller's own statements.
    ///
    /// ```
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use durable_execution::storage::{SqliteOptions, SqliteStorage};
    /// use durable_execution::{Executor, Task, TaskContext, TaskError};
    /// use std::time::Duration;
    ///
    /// let ship = Task::new("ship_order", |_ctx: TaskContext, order: i64| async move {
    ///     Ok::<_, TaskError>(format!("shipped order {order}"))
    /// });
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("shop.sqlite3");
    /// let storage = SqliteStorage::open(&path, SqliteOptions::default()).await?;
    /// let executor = Executor::builder(storage).register(&ship).build()?;
    /// executor.start()?;
    ///
    /// let mut conn = rusqlite::Connection::open(&path)?;
    /// conn.busy_timeout(Duration::from_secs(5))?;
    /// conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")?;
    /// let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    /// tx.execute("INSERT INTO orders (id) VALUES (?1)", [42])?;
    /// let shipping = executor.enqueue_in_sqlite(&tx, &ship, 42)?;
    /// tx.commit()?;
    ///
    /// assert_eq!(shipping.wait_output().await?, "shipped order 42");
    /// executor.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(())
    /// # }
    /// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn enqueue_in_sqlite<D: Definition + ?Sized>(
        &self,
        tx: &rusqlite::Transaction<'_>,
        task: &D,
        input: D::Input,
    ) -> Result<TaskHandle<D::Output>, ExecutorError> {
        self.enqueue_in_sqlite_with(tx, task, input, EnqueueOptions::default())
    }

    /// [`Executor::enqueue_in_sqlite`] with overridden options.
    pub fn enqueue_in_sqlite_with<D: Definition + ?Sized>(
        &self,
        tx: &rusqlite::Transaction<'_>,
        task: &D,
        input: D::Input,
        options: EnqueueOptions,
    ) -> Result<TaskHandle<D::Output>, ExecutorError> {
        let execution = self.prepare_enqueue(task, input, options)?;
        crate::storage::SqliteStorage::insert_in(tx, std::slice::from_ref(&execution))
            .map_err(ExecutorError::storage("insert"))?;
        self.inner
            .tracking
            .commits
            .watch(&self.inner, [execution.execution_id.clone()]);
        Ok(TaskHandle::new(self.handle_for(&execution)))
    }
}

#[cfg(feature = "postgres")]
impl Executor {
    /// Enqueues one execution of `task` inside the caller's PostgreSQL
    /// transaction, so that it commits or rolls back with the caller's own
    /// writes. Returns the typed handle; the execution exists once `tx`
    /// commits.
    ///
    /// Takes a `tokio_postgres::Transaction`; a `deadpool_postgres`
    /// transaction (from [`PostgresStorage::pool`](crate::storage::PostgresStorage::pool)
    /// or your own pool) converts by `&tx`. The connection must see the
    /// executor's table (same database and `search_path`). The wake-up is
    /// a `NOTIFY` queued in the same transaction: PostgreSQL delivers it to
    /// every executor on commit and drops it on rollback.
    ///
    /// ```no_run
    /// # async fn demo(
    /// #     executor: durable_execution::Executor,
    /// #     storage: durable_execution::storage::PostgresStorage,
    /// #     ship: durable_execution::Task<i64, String>,
    /// # ) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut client = storage.pool().get().await?;
    /// let tx = client.transaction().await?;
    /// tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&42_i64]).await?;
    /// let shipping = executor.enqueue_in_postgres(&tx, &ship, 42).await?;
    /// tx.commit().await?;
    /// let shipped: String = shipping.wait_output().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn enqueue_in_postgres<D: Definition + ?Sized>(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &D,
        input: D::Input,
    ) -> Result<TaskHandle<D::Output>, ExecutorError> {
        self.enqueue_in_postgres_with(tx, task, input, EnqueueOptions::default())
            .await
    }

    /// [`Executor::enqueue_in_postgres`] with overridden options.
    pub async fn enqueue_in_postgres_with<D: Definition + ?Sized>(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        task: &D,
        input: D::Input,
        options: EnqueueOptions,
    ) -> Result<TaskHandle<D::Output>, ExecutorError> {
        let execution = self.prepare_enqueue(task, input, options)?;
        crate::storage::PostgresStorage::insert_in(tx, std::slice::from_ref(&execution))
            .await
            .map_err(ExecutorError::storage("insert"))?;
        Ok(TaskHandle::new(self.handle_for(&execution)))
    }
}
