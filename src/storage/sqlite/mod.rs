//! The SQLite backend: one database file (or an in-memory database).
//!
//! - Connections use WAL, `synchronous = NORMAL` and a busy timeout, so
//!   several processes can share one file: every write transaction starts
//!   with `BEGIN IMMEDIATE` (it takes the file's write lock up front, so two
//!   writers never deadlock on a lock upgrade) and waits up to the busy
//!   timeout for another process's transaction, trying again every
//!   millisecond (SQLite's own busy handler sleeps up to 100 ms between
//!   tries, so a process whose writers hand the lock to each other back to
//!   back could lock another one out for the whole busy timeout).
//! - Inside one process, writes go through one writer connection; reads use
//!   a small pool of reader connections (WAL readers never block the writer).
//!   A process whose writers have held the file's write lock back to back
//!   for 100 ms leaves it free for 4 ms before its next write, so that a
//!   writer of another process waiting for it gets its turn.
//! - Every database call runs on tokio's blocking pool
//!   ([`tokio::task::spawn_blocking`]), never on the async runtime's threads.
//! - Wake-ups ([`StorageEvent`]) are shared by every [`SqliteStorage`]
//!   opened on the same file in one process. Other processes sharing the
//!   file are not notified: their executors find the work when they poll.
//!
//! ```no_run
//! # async fn demo() -> Result<(), durable_execution::storage::StorageError> {
//! use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
//! let storage = SqliteStorage::open("tasks.db", SqliteOptions::default()).await?;
//! assert_eq!(storage.backend_name(), "sqlite");
//! # Ok(())
//! # }
//! ```

mod convert;

use super::row::{self, RawRow};
use super::{
    AdvanceItem, CancelItem, CloseOutcome, ClosePlan, ExpireOutcome, FinishItem, RetryItem,
    Storage, StorageError, StorageEvent, StorageResult, StorageStats, StuckCounts, StuckOutcome,
    WaitItem,
};
use crate::generated::sqlite as q;
use crate::model::{CorruptRow, ExecutionStatus, Loaded, Millis, NewExecution, TaskExecution};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Options of [`SqliteStorage::open`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// How long a statement waits for another connection's (or process's)
    /// write lock before failing with `SQLITE_BUSY` (default 5 s).
    pub busy_timeout: Duration,
    /// Apply the embedded migrations when opening (default `true`). When
    /// `false`, opening fails with [`StorageError::MissingTable`] if the
    /// table does not exist.
    pub migrate: bool,
    /// Maximum number of idle reader connections kept open (default 4).
    pub max_idle_readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            migrate: true,
            max_idle_readers: 4,
        }
    }
}

impl SqliteOptions {
    /// Checks every option (SQLite takes the busy timeout in milliseconds
    /// as a 32-bit integer).
    fn validate(&self) -> StorageResult<()> {
        if self.busy_timeout.as_millis() > i32::MAX as u128 {
            return Err(StorageError::Config(format!(
                "SqliteOptions::busy_timeout must be at most {} ms, got {:?}",
                i32::MAX,
                self.busy_timeout
            )));
        }
        Ok(())
    }
}

impl SqliteOptions {
    /// Sets [`SqliteOptions::busy_timeout`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets [`SqliteOptions::migrate`].
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Sets [`SqliteOptions::max_idle_readers`].
    pub fn max_idle_readers(mut self, n: usize) -> Self {
        self.max_idle_readers = n;
        self
    }
}

/// How long a writer waits before trying `BEGIN IMMEDIATE` again while
/// another process holds the file's write lock.
const LOCK_RETRY: Duration = Duration::from_millis(1);
/// How long this process's writers may hold the file's write lock back to
/// back (each handing it to the next) before leaving it free for
/// [`WRITE_YIELD`].
const WRITE_STREAK: Duration = Duration::from_millis(100);
/// How long the write lock is left free after a [`WRITE_STREAK`]: several
/// [`LOCK_RETRY`] periods, so that a writer of another process that waits
/// for the lock tries it (and takes it) in the meantime.
const WRITE_YIELD: Duration = Duration::from_millis(4);

/// What every storage opened on one file in this process shares: the
/// wake-ups, and the queue of writers (so that in-process writers take turns
/// in order instead of polling the file's write lock while another handle
/// holds it).
#[derive(Debug)]
struct Hub {
    events: broadcast::Sender<StorageEvent>,
    write_gate: tokio::sync::Semaphore,
    streak: Mutex<Streak>,
}

/// This process's current run of back-to-back writes (see [`WRITE_STREAK`]).
#[derive(Debug, Default)]
struct Streak {
    /// When the run started.
    since: Option<Instant>,
    /// When the last write of this process released the lock.
    released: Option<Instant>,
}

impl Hub {
    fn new() -> Self {
        Self {
            events: broadcast::channel(1024).0,
            write_gate: tokio::sync::Semaphore::new(1),
            streak: Mutex::new(Streak::default()),
        }
    }

    /// Called by a writer holding the gate, before it takes the file lock:
    /// whether this process has held the lock back to back for
    /// [`WRITE_STREAK`] and must leave it free for [`WRITE_YIELD`] first. A
    /// gap of at least [`WRITE_YIELD`] since the last write starts a new
    /// run, so does the yield itself.
    fn must_yield(&self) -> bool {
        let now = Instant::now();
        let mut streak = lock(&self.streak);
        let back_to_back = streak
            .released
            .is_some_and(|released| now.duration_since(released) < WRITE_YIELD);
        match streak.since {
            Some(since) if back_to_back => {
                if now.duration_since(since) >= WRITE_STREAK {
                    streak.since = Some(now + WRITE_YIELD);
                    true
                } else {
                    false
                }
            }
            _ => {
                streak.since = Some(now);
                false
            }
        }
    }

    /// Called when a write of this process released the file lock.
    fn released(&self) {
        lock(&self.streak).released = Some(Instant::now());
    }
}

fn hub_for(path: Option<&Path>) -> Arc<Hub> {
    static HUBS: OnceLock<Mutex<HashMap<PathBuf, Weak<Hub>>>> = OnceLock::new();
    let Some(path) = path else {
        return Arc::new(Hub::new());
    };
    let mut hubs = HUBS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    hubs.retain(|_, hub| hub.strong_count() > 0);
    if let Some(hub) = hubs.get(path).and_then(Weak::upgrade) {
        return hub;
    }
    let hub = Arc::new(Hub::new());
    hubs.insert(path.to_owned(), Arc::downgrade(&hub));
    hub
}

#[derive(Debug)]
struct Inner {
    /// `None` for an in-memory database (reads then use the writer).
    path: Option<PathBuf>,
    options: SqliteOptions,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Shared with the other storages on the same file. Writers queue on its
    /// gate (asynchronously) before taking a blocking thread, so concurrent
    /// writes neither pile up blocked threads nor busy-wait on the file lock.
    hub: Arc<Hub>,
}

/// A [`Storage`] in one SQLite database file (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct SqliteStorage {
    inner: Arc<Inner>,
}

fn sqlite_err(query: &'static str) -> impl Fn(rusqlite::Error) -> StorageError {
    move |source| {
        if let rusqlite::Error::SqliteFailure(_, Some(message)) = &source
            && let Some(table) = message.strip_prefix("no such table: ")
        {
            return StorageError::MissingTable {
                table: table.to_owned(),
            };
        }
        StorageError::Sqlite { query, source }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside a job drops its rusqlite transaction (rolled back), so
    // the connection is still usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn configure(conn: &Connection, options: &SqliteOptions, file: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(64);
    if file {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "journal_mode WAL refused (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    Ok(())
}

fn open_connection(path: &Path, options: &SqliteOptions) -> StorageResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(sqlite_err("open"))?;
    configure(&conn, options, true).map_err(sqlite_err("configure"))?;
    Ok(conn)
}

fn prepare_schema(conn: &mut Connection, options: &SqliteOptions) -> StorageResult<()> {
    if options.migrate {
        crate::migrate::migrate_sqlite(conn)?;
        return Ok(());
    }
    let exists = conn
        .prepare(q::statements::TABLE_EXISTS)
        .and_then(|mut stmt| stmt.exists([]))
        .map_err(sqlite_err("table_exists"))?;
    if exists {
        Ok(())
    } else {
        Err(StorageError::MissingTable {
            table: "task_executions".to_owned(),
        })
    }
}

/// `BEGIN IMMEDIATE`, tried every [`LOCK_RETRY`] while another process
/// holds the file's write lock (`SQLITE_BUSY`), for at most `timeout`; then
/// the `SQLITE_BUSY` error (transient). The writer connection has no busy
/// handler of its own.
fn begin_immediate(
    conn: &Connection,
    timeout: Duration,
) -> StorageResult<rusqlite::Transaction<'_>> {
    let start = Instant::now();
    loop {
        match rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Ok(tx) => return Ok(tx),
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && start.elapsed() < timeout =>
            {
                std::thread::sleep(LOCK_RETRY);
            }
            Err(e) => return Err(sqlite_err("begin immediate")(e)),
        }
    }
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> StorageResult<T> + Send + 'static,
) -> StorageResult<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| StorageError::Worker(format!("sqlite job: {e}")))?
}

fn to_loaded(rows: Vec<q::TaskExecutionRow>) -> Vec<Loaded> {
    rows.into_iter()
        .map(|row| convert::raw(row).into_loaded())
        .collect()
}

fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

/// Inserts `executions` with one statement; maps a unique violation to
/// [`StorageError::DuplicateExecutionId`] naming the offending id.
fn insert_on(conn: &Connection, executions: &[NewExecution]) -> StorageResult<()> {
    if executions.is_empty() {
        return Ok(());
    }
    if let Some(execution_id) = row::duplicate_within(executions) {
        return Err(StorageError::DuplicateExecutionId { execution_id });
    }
    let rows = json_text(&row::insert_rows_json(executions)?);
    match q::insert_executions(conn, &q::InsertExecutionsParams { rows: &rows }) {
        Ok(_) => Ok(()),
        Err(source)
            if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
        {
            let ids: Vec<String> = executions.iter().map(|e| e.execution_id.clone()).collect();
            let ids = json_text(&row::ids_json(&ids));
            let existing = q::get_executions(conn, &q::GetExecutionsParams { ids: &ids })
                .map_err(sqlite_err("get_executions"))?;
            Err(StorageError::DuplicateExecutionId {
                execution_id: existing
                    .first()
                    .map_or_else(|| "unknown".to_owned(), |r| r.execution_id.clone()),
            })
        }
        Err(source) => Err(sqlite_err("insert_executions")(source)),
    }
}

fn ids_of<R>(rows: Vec<R>, id: impl Fn(R) -> String) -> Vec<String> {
    rows.into_iter().map(id).collect()
}

/// Applies a close plan inside the caller's transaction.
fn apply_close_plan(
    tx: &rusqlite::Transaction<'_>,
    now: Millis,
    plan: &ClosePlan,
    outcome: &mut CloseOutcome,
) -> StorageResult<()> {
    let parents: BTreeSet<&String> = plan
        .decrements
        .keys()
        .chain(plan.child_failures.keys())
        .chain(plan.finalize_completions.keys())
        .chain(plan.finalize_failures.keys())
        .collect();
    let mut before: HashMap<String, String> = HashMap::new();
    if !parents.is_empty() {
        let ids: Vec<String> = parents.into_iter().cloned().collect();
        let ids = json_text(&row::ids_json(&ids));
        for r in q::lock_executions(tx, &q::LockExecutionsParams { ids: &ids })
            .map_err(sqlite_err("lock_executions"))?
        {
            before.insert(r.execution_id, r.status);
        }
    }
    if !plan.decrements.is_empty() {
        let items = json_text(&row::decrements_json(&plan.decrements));
        let rows = q::decrement_active_children(
            tx,
            &q::DecrementActiveChildrenParams { now, items: &items },
        )
        .map_err(sqlite_err("decrement_active_children"))?;
        let mut ready: Vec<String> = rows
            .into_iter()
            .filter(|r| r.active_children_count == 0)
            .map(|r| r.execution_id)
            .collect();
        ready.sort();
        outcome.parents_ready.extend(ready);
    }
    if !plan.child_failures.is_empty() {
        let items = json_text(&row::child_failures_json(&plan.child_failures)?);
        q::record_children_failures(tx, &q::RecordChildrenFailuresParams { now, items: &items })
            .map_err(sqlite_err("record_children_failures"))?;
        let waiting = ExecutionStatus::WaitingForChildrenTasks.as_str();
        outcome.newly_finished.extend(
            plan.child_failures
                .keys()
                .filter(|id| before.get(*id).map(String::as_str) == Some(waiting))
                .cloned(),
        );
    }
    if !plan.finalize_completions.is_empty() {
        let items = json_text(&row::finalize_completions_json(&plan.finalize_completions));
        let rows =
            q::complete_from_finalize(tx, &q::CompleteFromFinalizeParams { now, items: &items })
                .map_err(sqlite_err("complete_from_finalize"))?;
        outcome
            .newly_finished
            .extend(ids_of(rows, |r| r.execution_id));
    }
    if !plan.finalize_failures.is_empty() {
        let items = json_text(&row::finalize_failures_json(&plan.finalize_failures)?);
        let rows = q::fail_from_finalize(tx, &q::FailFromFinalizeParams { now, items: &items })
            .map_err(sqlite_err("fail_from_finalize"))?;
        outcome
            .newly_finished
            .extend(ids_of(rows, |r| r.execution_id));
    }
    if !plan.cancel_subtrees.is_empty() {
        let items = json_text(&row::cancel_json(&plan.cancel_subtrees)?);
        let rows = q::cancel_subtrees(tx, &q::CancelSubtreesParams { now, items: &items })
            .map_err(sqlite_err("cancel_subtrees"))?;
        outcome
            .newly_finished
            .extend(ids_of(rows, |r| r.execution_id));
    }
    Ok(())
}

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path`, applies the
    /// embedded migrations unless [`SqliteOptions::migrate`] is `false`, and
    /// switches it to WAL.
    pub async fn open(path: impl AsRef<Path>, options: SqliteOptions) -> StorageResult<Self> {
        options.validate()?;
        let path = path.as_ref().to_owned();
        blocking(move || {
            let mut writer = open_connection(&path, &options)?;
            prepare_schema(&mut writer, &options)?;
            // The writer only runs `BEGIN IMMEDIATE` transactions, whose
            // lock wait is `begin_immediate`'s (statements inside one never
            // wait for a lock).
            writer
                .busy_timeout(Duration::ZERO)
                .map_err(sqlite_err("configure"))?;
            let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            let hub = hub_for(Some(&canonical));
            Ok(Self {
                inner: Arc::new(Inner {
                    path: Some(path),
                    options,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(Vec::new()),
                    hub,
                }),
            })
        })
        .await
    }

    /// Opens a private in-memory database (migrated), for tests and
    /// examples. It disappears with the last clone of the storage.
    pub async fn open_in_memory() -> StorageResult<Self> {
        blocking(move || {
            let options = SqliteOptions::default();
            let mut writer = Connection::open_in_memory().map_err(sqlite_err("open"))?;
            configure(&writer, &options, false).map_err(sqlite_err("configure"))?;
            prepare_schema(&mut writer, &options)?;
            Ok(Self {
                inner: Arc::new(Inner {
                    path: None,
                    options,
                    writer: Mutex::new(writer),
                    readers: Mutex::new(Vec::new()),
                    hub: hub_for(None),
                }),
            })
        })
        .await
    }

    /// Inserts new `ready` executions inside the caller's transaction, so
    /// that they commit or roll back together with the caller's own writes
    /// ("save the order and enqueue its task").
    ///
    /// Open the caller's transaction with [`TransactionBehavior::Immediate`]
    /// (as every write of this backend does) so that it never fails with
    /// `SQLITE_BUSY` on a lock upgrade. The executors of this process learn
    /// about the new work after [`SqliteStorage::notify_ready_work`] (call it
    /// after the commit) or at their next poll.
    ///
    /// ```no_run
    /// # fn demo(conn: &mut rusqlite::Connection, storage: &durable_execution::storage::SqliteStorage,
    /// #         execution: durable_execution::model::NewExecution) -> Result<(), Box<dyn std::error::Error>> {
    /// use durable_execution::storage::SqliteStorage;
    /// let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    /// tx.execute("INSERT INTO orders (id) VALUES (?1)", [42])?;
    /// SqliteStorage::insert_in(&tx, &[execution])?;
    /// tx.commit()?;
    /// storage.notify_ready_work();
    /// # Ok(())
    /// # }
    /// ```
    pub fn insert_in(
        tx: &rusqlite::Transaction<'_>,
        executions: &[NewExecution],
    ) -> StorageResult<()> {
        insert_on(tx, executions)
    }

    /// Wakes the executors of this process that share the database file
    /// (after a commit that inserted work through [`SqliteStorage::insert_in`]).
    pub fn notify_ready_work(&self) {
        self.emit(StorageEvent::ReadyWork);
    }

    /// The query plan of the claim's candidate scan (`EXPLAIN QUERY PLAN`),
    /// one line per plan step: it must stay a search of the
    /// `(status, start_at)` index however many finished rows the table holds.
    pub async fn explain_claim(&self, now: Millis, limit: u32) -> StorageResult<String> {
        self.read(move |tx| {
            let mut stmt = tx
                .prepare(q::statements::EXPLAIN_CLAIM_READY)
                .map_err(sqlite_err("explain_claim_ready"))?;
            let lines = stmt
                .query_map(
                    rusqlite::named_params! {":now": now, ":limit": i64::from(limit)},
                    |row| row.get::<_, String>(3),
                )
                .and_then(Iterator::collect::<rusqlite::Result<Vec<String>>>)
                .map_err(sqlite_err("explain_claim_ready"))?;
            Ok(lines.join("\n"))
        })
        .await
    }

    /// The database file, `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    fn emit(&self, event: StorageEvent) {
        // No receiver is not an error: nobody is listening yet.
        let _ = self.inner.hub.events.send(event);
    }

    /// Runs `job` in one `BEGIN IMMEDIATE` transaction on the writer, after
    /// this process's earlier writes (the write gate) and, after a
    /// [`WRITE_STREAK`], a [`WRITE_YIELD`] that lets other processes write.
    async fn write<T: Send + 'static>(
        &self,
        job: impl FnOnce(&rusqlite::Transaction<'_>) -> StorageResult<T> + Send + 'static,
    ) -> StorageResult<T> {
        let hub = &self.inner.hub;
        let _turn = hub
            .write_gate
            .acquire()
            .await
            .map_err(|e| StorageError::Worker(format!("sqlite write gate: {e}")))?;
        if hub.must_yield() {
            tokio::time::sleep(WRITE_YIELD).await;
        }
        let inner = Arc::clone(&self.inner);
        let result = blocking(move || {
            let conn = lock(&inner.writer);
            let tx = begin_immediate(&conn, inner.options.busy_timeout)?;
            let value = job(&tx)?;
            tx.commit().map_err(sqlite_err("commit"))?;
            Ok(value)
        })
        .await;
        hub.released();
        result
    }

    /// Runs `job` in one read transaction on a reader connection (the
    /// writer for an in-memory database).
    async fn read<T: Send + 'static>(
        &self,
        job: impl FnOnce(&rusqlite::Transaction<'_>) -> StorageResult<T> + Send + 'static,
    ) -> StorageResult<T> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let Some(path) = &inner.path else {
                let mut conn = lock(&inner.writer);
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Deferred)
                    .map_err(sqlite_err("begin"))?;
                return job(&tx);
            };
            let pooled = lock(&inner.readers).pop();
            let mut conn = match pooled {
                Some(conn) => conn,
                None => open_connection(path, &inner.options)?,
            };
            let result = {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Deferred)
                    .map_err(sqlite_err("begin"))?;
                job(&tx)
            };
            let mut readers = lock(&inner.readers);
            if readers.len() < inner.options.max_idle_readers {
                readers.push(conn);
            }
            result
        })
        .await
    }
}

#[async_trait]
impl Storage for SqliteStorage {
    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        if executions.is_empty() {
            return Ok(());
        }
        let executions = executions.to_vec();
        self.write(move |tx| insert_on(tx, &executions)).await?;
        self.emit(StorageEvent::ReadyWork);
        Ok(())
    }

    async fn get(&self, execution_ids: &[String]) -> StorageResult<Vec<Loaded>> {
        if execution_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = execution_ids.to_vec();
        self.read(move |tx| {
            let json = json_text(&row::ids_json(&ids));
            let rows = q::get_executions(tx, &q::GetExecutionsParams { ids: &json })
                .map_err(sqlite_err("get_executions"))?;
            let raw: Vec<RawRow> = rows.into_iter().map(convert::raw).collect();
            Ok(row::order_like(&ids, raw)
                .into_iter()
                .map(RawRow::into_loaded)
                .collect())
        })
        .await
    }

    async fn get_children(&self, parent_execution_id: &str) -> StorageResult<Vec<Loaded>> {
        let parent = parent_execution_id.to_owned();
        self.read(move |tx| {
            let rows = q::get_children(
                tx,
                &q::GetChildrenParams {
                    parent_execution_id: &parent,
                },
            )
            .map_err(sqlite_err("get_children"))?;
            Ok(to_loaded(rows))
        })
        .await
    }

    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let executor_id = executor_id.to_owned();
        let lease_slack_ms = i64::try_from(lease_slack_ms).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let rows = q::claim_ready(
                tx,
                &q::ClaimReadyParams {
                    executor_id: &executor_id,
                    now,
                    lease_slack_ms,
                    limit: i64::from(limit),
                },
            )
            .map_err(sqlite_err("claim_ready"))?;
            let mut rows: Vec<RawRow> = rows.into_iter().map(convert::raw).collect();
            rows.sort_by_key(|r| r.start_at);
            Ok(rows.into_iter().map(RawRow::into_loaded).collect())
        })
        .await
    }

    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let json = json_text(&row::finish_json(items)?);
        let executor_id = executor_id.to_owned();
        let matched = self
            .write(move |tx| {
                let rows = q::finish_executions(
                    tx,
                    &q::FinishExecutionsParams {
                        executor_id: &executor_id,
                        now,
                        items: &json,
                    },
                )
                .map_err(sqlite_err("finish_executions"))?;
                Ok(ids_of(rows, |r| r.execution_id))
            })
            .await?;
        if !matched.is_empty() {
            self.emit(StorageEvent::Changed);
        }
        Ok(matched)
    }

    async fn retry(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Vec<String>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let json = json_text(&row::retry_json(items)?);
        let executor_id = executor_id.to_owned();
        let matched = self
            .write(move |tx| {
                let rows = q::retry_executions(
                    tx,
                    &q::RetryExecutionsParams {
                        executor_id: &executor_id,
                        now,
                        items: &json,
                    },
                )
                .map_err(sqlite_err("retry_executions"))?;
                Ok(ids_of(rows, |r| r.execution_id))
            })
            .await?;
        if !matched.is_empty() {
            self.emit(StorageEvent::ReadyWork);
        }
        Ok(matched)
    }

    async fn wait_for_children(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let json = json_text(&row::wait_json(items));
        let items = items.to_vec();
        let executor_id = executor_id.to_owned();
        let matched = self
            .write(move |tx| {
                let rows = q::start_waiting(
                    tx,
                    &q::StartWaitingParams {
                        executor_id: &executor_id,
                        now,
                        items: &json,
                    },
                )
                .map_err(sqlite_err("start_waiting"))?;
                let matched = ids_of(rows, |r| r.execution_id);
                insert_on(tx, &row::wait_inserts(&items, &matched))?;
                Ok(matched)
            })
            .await?;
        if !matched.is_empty() {
            self.emit(StorageEvent::ReadyWork);
        }
        Ok(matched)
    }

    async fn release(
        &self,
        executor_id: &str,
        now: Millis,
        execution_ids: &[String],
    ) -> StorageResult<Vec<String>> {
        if execution_ids.is_empty() {
            return Ok(Vec::new());
        }
        let json = json_text(&row::ids_json(execution_ids));
        let executor_id = executor_id.to_owned();
        let matched = self
            .write(move |tx| {
                let rows = q::release_executions(
                    tx,
                    &q::ReleaseExecutionsParams {
                        executor_id: &executor_id,
                        now,
                        ids: &json,
                    },
                )
                .map_err(sqlite_err("release_executions"))?;
                Ok(ids_of(rows, |r| r.execution_id))
            })
            .await?;
        if !matched.is_empty() {
            self.emit(StorageEvent::ReadyWork);
        }
        Ok(matched)
    }

    async fn close_finished(&self, now: Millis, limit: u32) -> StorageResult<CloseOutcome> {
        if limit == 0 {
            return Ok(CloseOutcome::default());
        }
        let outcome = self
            .write(move |tx| {
                let rows = q::claim_unclosed(
                    tx,
                    &q::ClaimUnclosedParams {
                        limit: i64::from(limit),
                    },
                )
                .map_err(sqlite_err("claim_unclosed"))?;
                let mut outcome = CloseOutcome::default();
                let mut finished: Vec<TaskExecution> = Vec::with_capacity(rows.len());
                let mut raw: Vec<RawRow> = rows.into_iter().map(convert::raw).collect();
                raw.sort_by_key(|r| r.finished_at);
                for r in raw {
                    outcome.closed.push(r.execution_id().to_owned());
                    match r.into_loaded() {
                        Ok(execution) => finished.push(execution),
                        Err(corrupt) => outcome.corrupt.push(corrupt),
                    }
                }
                let plan = ClosePlan::new(&finished);
                apply_close_plan(tx, now, &plan, &mut outcome)?;
                Ok(outcome)
            })
            .await?;
        if !outcome.parents_ready.is_empty() || !outcome.newly_finished.is_empty() {
            self.emit(StorageEvent::Changed);
        }
        Ok(outcome)
    }

    async fn ready_parents(&self, limit: u32) -> StorageResult<Vec<Loaded>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.read(move |tx| {
            let rows = q::ready_parents(
                tx,
                &q::ReadyParentsParams {
                    limit: i64::from(limit),
                },
            )
            .map_err(sqlite_err("ready_parents"))?;
            Ok(to_loaded(rows))
        })
        .await
    }

    async fn advance_parents(
        &self,
        now: Millis,
        items: &[AdvanceItem],
    ) -> StorageResult<Vec<String>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let json = json_text(&row::advance_json(items)?);
        let items = items.to_vec();
        let (matched, inserted) = self
            .write(move |tx| {
                let rows = q::advance_parents(tx, &q::AdvanceParentsParams { now, items: &json })
                    .map_err(sqlite_err("advance_parents"))?;
                let matched = ids_of(rows, |r| r.execution_id);
                let inserts = row::advance_inserts(&items, &matched);
                insert_on(tx, &inserts)?;
                Ok((matched, !inserts.is_empty()))
            })
            .await?;
        if inserted {
            self.emit(StorageEvent::ReadyWork);
        }
        if !matched.is_empty() {
            self.emit(StorageEvent::Changed);
        }
        Ok(matched)
    }

    async fn cancel(&self, now: Millis, items: &[CancelItem]) -> StorageResult<Vec<String>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let json = json_text(&row::cancel_json(items)?);
        let cancelled = self
            .write(move |tx| {
                let rows = q::cancel_subtrees(tx, &q::CancelSubtreesParams { now, items: &json })
                    .map_err(sqlite_err("cancel_subtrees"))?;
                Ok(ids_of(rows, |r| r.execution_id))
            })
            .await?;
        if !cancelled.is_empty() {
            self.emit(StorageEvent::Changed);
        }
        Ok(cancelled)
    }

    async fn claim_cancellations(
        &self,
        executor_id: &str,
        limit: u32,
    ) -> StorageResult<Vec<String>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let executor_id = executor_id.to_owned();
        self.write(move |tx| {
            let rows = q::claim_cancellations(
                tx,
                &q::ClaimCancellationsParams {
                    executor_id: &executor_id,
                    limit: i64::from(limit),
                },
            )
            .map_err(sqlite_err("claim_cancellations"))?;
            Ok(ids_of(rows, |r| r.execution_id))
        })
        .await
    }

    async fn expire_leases(&self, now: Millis, limit: u32) -> StorageResult<ExpireOutcome> {
        if limit == 0 {
            return Ok(ExpireOutcome::default());
        }
        let error =
            serde_json::to_string(&row::expired_error()).map_err(|e| StorageError::Encode {
                what: "error",
                message: e.to_string(),
            })?;
        let outcome = self
            .write(move |tx| {
                let rows = q::expire_leases(
                    tx,
                    &q::ExpireLeasesParams {
                        now,
                        error: &error,
                        limit: i64::from(limit),
                    },
                )
                .map_err(sqlite_err("expire_leases"))?;
                let mut outcome = ExpireOutcome::default();
                for r in rows {
                    if r.status == ExecutionStatus::Ready.as_str() {
                        outcome.requeued.push(r.execution_id);
                    } else {
                        outcome.failed.push(r.execution_id);
                    }
                }
                Ok(outcome)
            })
            .await?;
        if !outcome.requeued.is_empty() {
            self.emit(StorageEvent::ReadyWork);
        }
        if !outcome.failed.is_empty() {
            self.emit(StorageEvent::Changed);
        }
        Ok(outcome)
    }

    async fn repair_stuck(
        &self,
        now: Millis,
        lease_slack_ms: u64,
        limit: u32,
    ) -> StorageResult<StuckOutcome> {
        if limit == 0 {
            return Ok(StuckOutcome::default());
        }
        let error = serde_json::to_string(&super::missing_finalize_error()).map_err(|e| {
            StorageError::Encode {
                what: "error",
                message: e.to_string(),
            }
        })?;
        let lease_slack_ms = i64::try_from(lease_slack_ms).unwrap_or(i64::MAX);
        let outcome = self
            .write(move |tx| {
                let leases_restored = q::repair_missing_leases(
                    tx,
                    &q::RepairMissingLeasesParams {
                        now,
                        lease_slack_ms,
                        limit: i64::from(limit),
                    },
                )
                .map_err(sqlite_err("repair_missing_leases"))?
                .into_iter()
                .map(|r| r.execution_id)
                .collect();
                let parents_failed = q::fail_missing_finalize(
                    tx,
                    &q::FailMissingFinalizeParams {
                        now,
                        error: &error,
                        limit: i64::from(limit),
                    },
                )
                .map_err(sqlite_err("fail_missing_finalize"))?
                .into_iter()
                .map(|r| r.execution_id)
                .collect();
                Ok(StuckOutcome {
                    leases_restored,
                    parents_failed,
                })
            })
            .await?;
        if !outcome.parents_failed.is_empty() {
            self.emit(StorageEvent::Changed);
        }
        Ok(outcome)
    }

    async fn stats(&self, now: Millis) -> StorageResult<StorageStats> {
        self.read(move |tx| {
            let counts =
                q::count_by_task_and_status(tx).map_err(sqlite_err("count_by_task_and_status"))?;
            let mut stats = StorageStats::default();
            for c in counts {
                let status: ExecutionStatus =
                    c.status.parse().map_err(|e: crate::model::UnknownStatus| {
                        StorageError::Corrupt(CorruptRow {
                            execution_id: format!("(task {})", c.task_id),
                            column: "status",
                            message: e.to_string(),
                        })
                    })?;
                stats
                    .counts
                    .push((c.task_id, status, u64::try_from(c.count).unwrap_or(0)));
            }
            stats.counts.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            stats.oldest_ready_start_at = q::oldest_ready(tx)
                .map_err(sqlite_err("oldest_ready"))?
                .into_iter()
                .next()
                .and_then(|r| r.oldest_start_at);
            stats.expired_leases =
                q::count_expired_leases(tx, &q::CountExpiredLeasesParams { now })
                    .map_err(sqlite_err("count_expired_leases"))?
                    .into_iter()
                    .next()
                    .map_or(0, |r| u64::try_from(r.count).unwrap_or(0));
            if let Some(stuck) = q::count_stuck(tx)
                .map_err(sqlite_err("count_stuck"))?
                .into_iter()
                .next()
            {
                stats.stuck = StuckCounts {
                    running_without_lease: u64::try_from(stuck.running_without_lease).unwrap_or(0),
                    missing_finalize: u64::try_from(stuck.missing_finalize).unwrap_or(0),
                };
            }
            Ok(stats)
        })
        .await
    }

    async fn delete_all(&self) -> StorageResult<u64> {
        self.write(|tx| {
            let n = q::delete_all_executions(tx).map_err(sqlite_err("delete_all_executions"))?;
            Ok(n as u64)
        })
        .await
    }

    fn subscribe(&self) -> broadcast::Receiver<StorageEvent> {
        self.inner.hub.events.subscribe()
    }
}

#[cfg(test)]
mod option_tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_timeout_sqlite_cannot_take_is_refused() {
        let dir = std::env::temp_dir().join(format!("durable-busy-{}", std::process::id()));
        let path = dir.join("never-created.sqlite3");
        let result =
            SqliteStorage::open(&path, SqliteOptions::default().busy_timeout(Duration::MAX)).await;
        match result {
            Err(StorageError::Config(message)) => {
                assert!(message.contains("busy_timeout"), "{message}");
            }
            other => panic!("expected a configuration error, got {other:?}"),
        }
        assert!(!path.exists());
    }
}
