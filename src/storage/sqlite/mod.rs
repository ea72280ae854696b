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
//! - SQLite stores any value in any column: a value of another type than
//!   its column's fails its own row only (a [`CorruptRow`] naming the
//!   execution and the column), on every read path.
//! - The storage remembers which file it opened: once the path names
//!   another file (deleted or replaced), writes fail with
//!   [`StorageError::DatabaseFileReplaced`], and no connection ever
//!   recreates a missing file (only an open that migrates creates one).
//! - [`SqliteOptions::read_only`] opens the file for inspection only.
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
    AdvanceItem, CancelItem, ChildOutput, CloseOutcome, ClosePlan, ExpireOutcome, FinishItem,
    RetryItem, Storage, StorageError, StorageEvent, StorageResult, StorageStats, StuckCounts,
    StuckOutcome, UnreadableCount, WaitItem,
};
use crate::generated::sqlite as q;
use crate::model::{CorruptRow, ExecutionStatus, Loaded, Millis, NewExecution, TaskExecution};
use async_trait::async_trait;
use rusqlite::types::Value;
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
    /// When not migrating (or read-only), accept a database with pending
    /// migrations (default `false`: opening fails with
    /// [`crate::migrate::MigrationError::SchemaOutdated`]). A database
    /// migrated by a newer release is always refused.
    pub allow_outdated_schema: bool,
    /// Maximum number of idle reader connections kept open (default 4).
    pub max_idle_readers: usize,
    /// Open the file read-only (default `false`): connections use
    /// `SQLITE_OPEN_READ_ONLY`, nothing is migrated (the table must exist,
    /// as with `migrate(false)`), no pragma is written (the file keeps its
    /// journal mode) and every write fails with [`StorageError::ReadOnly`].
    /// For inspecting a database without write access to it (`durable
    /// status`, `durable show`), even while executors use it. A WAL file
    /// whose `-shm` file neither exists nor can be created (a read-only
    /// directory or mount, and no process has the file open) is read as
    /// `immutable`: each connection then sees the file as it was when it
    /// opened.
    pub read_only: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            migrate: true,
            allow_outdated_schema: false,
            max_idle_readers: 4,
            read_only: false,
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

    /// Sets [`SqliteOptions::allow_outdated_schema`].
    pub fn allow_outdated_schema(mut self, allow: bool) -> Self {
        self.allow_outdated_schema = allow;
        self
    }

    /// Sets [`SqliteOptions::max_idle_readers`].
    pub fn max_idle_readers(mut self, n: usize) -> Self {
        self.max_idle_readers = n;
        self
    }

    /// Sets [`SqliteOptions::read_only`].
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
}

/// Which file a path named when the storage was opened: device and inode
/// on unix (so that a file deleted, or replaced by another one, under a
/// running storage is noticed); elsewhere only that a file exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> std::io::Result<Self> {
        let metadata = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Ok(Self {
                dev: metadata.dev(),
                ino: metadata.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            Ok(Self {})
        }
    }
}

/// Fails with [`StorageError::DatabaseFileReplaced`] when `path` no longer
/// names the file that was opened (one `stat`). A path that cannot be
/// examined for another reason (permissions) passes: SQLite reports its own
/// error if the file is really unusable.
fn check_same_file(path: &Path, opened: FileIdentity) -> StorageResult<()> {
    match FileIdentity::of(path) {
        Ok(now) if now == opened => Ok(()),
        Ok(_) => Err(StorageError::DatabaseFileReplaced {
            path: path.to_owned(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(StorageError::DatabaseFileReplaced {
                path: path.to_owned(),
            })
        }
        Err(_) => Ok(()),
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
    /// The file opened at `path` (`None`: in memory, or a path that is not
    /// a plain file name, e.g. a `file:` URI). Checked before every commit
    /// and every new reader connection.
    identity: Option<FileIdentity>,
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

/// Sets the busy timeout and the statement cache; with `wal` (a file opened
/// for writing) also switches the file to WAL and `synchronous = NORMAL`.
fn configure(conn: &Connection, options: &SqliteOptions, wal: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(64);
    if wal {
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

/// Opens a connection on `path`. Only the first connection of a storage
/// that migrates may create the file (`create`); every later one (and every
/// connection of a storage that does not migrate) opens an existing file
/// only, so that a deleted database file is never silently recreated empty.
fn open_connection(
    path: &Path,
    options: &SqliteOptions,
    create: bool,
) -> StorageResult<Connection> {
    let access = if options.read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else if create {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    let conn = Connection::open_with_flags(
        path,
        access | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|source| {
        if !create
            && source.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen)
            && !path.exists()
        {
            StorageError::MissingDatabaseFile {
                path: path.to_owned(),
            }
        } else {
            sqlite_err("open")(source)
        }
    })?;
    configure(&conn, options, !options.read_only).map_err(sqlite_err("configure"))?;
    if options.read_only {
        return readable_read_only(conn, path, options);
    }
    Ok(conn)
}

/// A read-only connection on a WAL file needs the `-shm` file. When it does
/// not exist and cannot be created (a read-only directory or mount, with no
/// `-wal`/`-shm` present: no connection in WAL mode has the file open),
/// SQLite can only read the file as `immutable`: then a snapshot of the file
/// as it is is read, without locks; changes other processes make later are
/// not seen by this connection.
fn readable_read_only(
    conn: Connection,
    path: &Path,
    options: &SqliteOptions,
) -> StorageResult<Connection> {
    let probe = |conn: &Connection| conn.query_row("PRAGMA schema_version", [], |_| Ok(()));
    match probe(&conn) {
        Err(source) if source.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen) => {
            let Some(uri) = immutable_uri(path) else {
                return Err(sqlite_err("open read-only")(source));
            };
            drop(conn);
            tracing::debug!(path = %path.display(), "the -shm file cannot be created: reading the SQLite file as immutable");
            let conn = Connection::open_with_flags(
                uri,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(sqlite_err("open read-only"))?;
            configure(&conn, options, false).map_err(sqlite_err("configure"))?;
            probe(&conn).map_err(sqlite_err("open read-only"))?;
            Ok(conn)
        }
        Err(source) => Err(sqlite_err("open read-only")(source)),
        Ok(()) => Ok(conn),
    }
}

/// `file:<path>?immutable=1` (`None` for a path that is not UTF-8).
fn immutable_uri(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    let mut uri = String::from("file:");
    for c in text.chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3F"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    Some(uri)
}

fn prepare_schema(conn: &mut Connection, options: &SqliteOptions) -> StorageResult<()> {
    if options.migrate && !options.read_only {
        crate::migrate::migrate_sqlite(conn)?;
        return Ok(());
    }
    let exists = conn
        .prepare(q::statements::TABLE_EXISTS)
        .and_then(|mut stmt| stmt.exists([]))
        .map_err(sqlite_err("table_exists"))?;
    if exists {
        Ok(crate::migrate::check_sqlite_version(
            conn,
            options.allow_outdated_schema,
        )?)
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

fn load(row: q::RowResult<q::TaskExecutionRow>) -> Loaded {
    convert::raw(row).and_then(RawRow::into_loaded)
}

fn to_loaded(rows: Vec<q::RowResult<q::TaskExecutionRow>>) -> Vec<Loaded> {
    rows.into_iter().map(load).collect()
}

/// The typed rows of a query's result; rows holding a value of another type
/// than their column's are logged and left out (used where a row without a
/// readable execution id cannot be acted on anyway).
fn readable<R>(query: &'static str, rows: Vec<q::RowResult<R>>) -> Vec<R> {
    rows.into_iter()
        .filter_map(|row| match row {
            Ok(row) => Some(row),
            Err(bad) => {
                let corrupt = convert::corrupt(bad);
                tracing::error!(query, execution_id = %corrupt.execution_id, error = %corrupt, "left out an unreadable row");
                None
            }
        })
        .collect()
}

fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

/// Inserts `executions` ([`row::INSERT_CHUNK`] rows per statement, all or
/// none); maps a unique violation to [`StorageError::DuplicateExecutionId`]
/// naming the offending id.
fn insert_on(conn: &Connection, executions: &[NewExecution]) -> StorageResult<()> {
    if executions.is_empty() {
        return Ok(());
    }
    if let Some(execution_id) = row::duplicate_within(executions) {
        return Err(StorageError::DuplicateExecutionId { execution_id });
    }
    insert_chunks_on(conn, row::insert_chunks(executions)?)
}

/// Inserts pre-encoded chunks (already checked for duplicates among
/// themselves): one statement each, inside a savepoint when there are
/// several, so that a failing chunk leaves no row of the earlier ones even
/// in a caller's transaction that goes on after the error.
fn insert_chunks_on(conn: &Connection, chunks: Vec<row::InsertChunk>) -> StorageResult<()> {
    if chunks.len() <= 1 {
        return chunks
            .into_iter()
            .try_for_each(|chunk| insert_chunk(conn, &chunk));
    }
    conn.execute_batch(q::statements::SAVEPOINT_INSERT)
        .map_err(sqlite_err("savepoint_insert"))?;
    // Each chunk's text is freed as soon as it is inserted.
    let result = chunks
        .into_iter()
        .try_for_each(|chunk| insert_chunk(conn, &chunk));
    match result {
        Ok(()) => conn
            .execute_batch(q::statements::RELEASE_INSERT)
            .map_err(sqlite_err("release_insert")),
        Err(error) => {
            conn.execute_batch(q::statements::ROLLBACK_INSERT)
                .map_err(sqlite_err("rollback_insert"))?;
            conn.execute_batch(q::statements::RELEASE_INSERT)
                .map_err(sqlite_err("release_insert"))?;
            Err(error)
        }
    }
}

/// One `insert_executions` statement.
fn insert_chunk(conn: &Connection, chunk: &row::InsertChunk) -> StorageResult<()> {
    match q::insert_executions(conn, &q::InsertExecutionsParams { rows: &chunk.rows }) {
        Ok(_) => Ok(()),
        Err(source)
            if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
        {
            let existing = q::get_executions(conn, &q::GetExecutionsParams { ids: &chunk.ids })
                .map_err(sqlite_err("get_executions"))?;
            Err(StorageError::DuplicateExecutionId {
                execution_id: existing.into_iter().next().map_or_else(
                    || "unknown".to_owned(),
                    |r| match r {
                        Ok(r) => r.execution_id,
                        Err(bad) => convert::row_name(&bad),
                    },
                ),
            })
        }
        Err(source) => Err(sqlite_err("insert_executions")(source)),
    }
}

fn ids_of<R>(
    query: &'static str,
    rows: Vec<q::RowResult<R>>,
    id: impl Fn(R) -> String,
) -> Vec<String> {
    readable(query, rows).into_iter().map(id).collect()
}

/// Fails a just-claimed row whose execution id cannot be read, by its
/// surrogate key, with the error the executor stores for a corrupt claimed
/// row: the executor cannot finish it by id, so without this it would run
/// out its lease and be claimed again, attempt after attempt.
fn fail_unnamed(
    tx: &rusqlite::Transaction<'_>,
    now: Millis,
    id: i64,
    corrupt: &CorruptRow,
) -> StorageResult<()> {
    let error =
        crate::model::ExecutionError::generic(format!("Cannot run execution: {corrupt}"), false)
            .internal();
    let error = serde_json::to_string(&error).map_err(|e| StorageError::Encode {
        what: "error",
        message: e.to_string(),
    })?;
    tracing::error!(row_id = id, error = %corrupt, "claimed an execution whose id cannot be read; failing it by its row id");
    tx.prepare_cached(q::statements::FAIL_UNNAMED)
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::named_params! {":id": id, ":now": now, ":error": error})
        })
        .map_err(sqlite_err("fail_unnamed"))?;
    Ok(())
}

/// One execution id stored with this task id and status (values as
/// stored, whatever their type), for [`UnreadableCount::example_execution_id`].
fn example_execution(
    tx: &rusqlite::Transaction<'_>,
    task_id: &Value,
    status: &Value,
) -> StorageResult<Option<String>> {
    let mut stmt = tx
        .prepare_cached(q::statements::EXAMPLE_EXECUTION)
        .map_err(sqlite_err("example_execution"))?;
    let mut rows = stmt
        .query(rusqlite::named_params! {":task_id": task_id, ":status": status})
        .map_err(sqlite_err("example_execution"))?;
    let Some(row) = rows.next().map_err(sqlite_err("example_execution"))? else {
        return Ok(None);
    };
    Ok(Some(
        match row.get_ref(0).map_err(sqlite_err("example_execution"))? {
            rusqlite::types::ValueRef::Text(id) => String::from_utf8_lossy(id).into_owned(),
            other => format!("(an execution id stored as {})", other.data_type()),
        },
    ))
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
        let rows = q::lock_executions(tx, &q::LockExecutionsParams { ids: &ids })
            .map_err(sqlite_err("lock_executions"))?;
        for r in readable("lock_executions", rows) {
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
        let mut ready: Vec<String> = readable("decrement_active_children", rows)
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
            .extend(ids_of("close_plan", rows, |r| r.execution_id));
    }
    if !plan.finalize_failures.is_empty() {
        let items = json_text(&row::finalize_failures_json(&plan.finalize_failures)?);
        let rows = q::fail_from_finalize(tx, &q::FailFromFinalizeParams { now, items: &items })
            .map_err(sqlite_err("fail_from_finalize"))?;
        outcome
            .newly_finished
            .extend(ids_of("close_plan", rows, |r| r.execution_id));
    }
    if !plan.cancel_subtrees.is_empty() {
        let items = json_text(&row::cancel_json(&plan.cancel_subtrees)?);
        let rows = q::cancel_subtrees(tx, &q::CancelSubtreesParams { now, items: &items })
            .map_err(sqlite_err("cancel_subtrees"))?;
        outcome
            .newly_finished
            .extend(ids_of("close_plan", rows, |r| r.execution_id));
    }
    Ok(())
}

impl SqliteStorage {
    /// Opens the database file at `path`, applies the embedded migrations
    /// unless [`SqliteOptions::migrate`] is `false`, and switches it to WAL.
    ///
    /// Only an open that migrates creates a missing file; otherwise a
    /// missing file fails with [`StorageError::MissingDatabaseFile`] and
    /// nothing is created. The storage remembers which file it opened:
    /// once the path names another file (the file was deleted, or replaced
    /// by another one), every write fails with
    /// [`StorageError::DatabaseFileReplaced`] instead of going to the old,
    /// unlinked file, and no connection recreates an empty file at the path.
    /// With [`SqliteOptions::read_only`] nothing is written to the file at
    /// all.
    pub async fn open(path: impl AsRef<Path>, options: SqliteOptions) -> StorageResult<Self> {
        options.validate()?;
        let path = path.as_ref().to_owned();
        blocking(move || {
            let create = options.migrate && !options.read_only;
            let mut writer = open_connection(&path, &options, create)?;
            let identity = FileIdentity::of(&path).ok();
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
                    identity,
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
                    identity: None,
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
    /// Just before the commit, checks that the path still names the file
    /// that was opened (otherwise rolls back and fails with
    /// [`StorageError::DatabaseFileReplaced`]).
    async fn write<T: Send + 'static>(
        &self,
        job: impl FnOnce(&rusqlite::Transaction<'_>) -> StorageResult<T> + Send + 'static,
    ) -> StorageResult<T> {
        if self.inner.options.read_only {
            return Err(StorageError::ReadOnly {
                path: self.inner.path.clone().unwrap_or_default(),
            });
        }
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
            if let (Some(path), Some(opened)) = (&inner.path, inner.identity) {
                check_same_file(path, opened)?;
            }
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
                None => {
                    if let Some(opened) = inner.identity {
                        check_same_file(path, opened)?;
                    }
                    open_connection(path, &inner.options, false)?
                }
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
        if let Some(execution_id) = row::duplicate_within(executions) {
            return Err(StorageError::DuplicateExecutionId { execution_id });
        }
        // Encoded here, from the borrowed executions: the blocking job gets
        // the chunks' text, not a copy of every execution.
        let chunks = row::insert_chunks(executions)?;
        self.write(move |tx| insert_chunks_on(tx, chunks)).await?;
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
            let mut by_id: HashMap<String, Loaded> = HashMap::with_capacity(rows.len());
            for loaded in to_loaded(rows) {
                let id = match &loaded {
                    Ok(e) => e.execution_id.clone(),
                    Err(corrupt) => corrupt.execution_id.clone(),
                };
                by_id.insert(id, loaded);
            }
            Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
        })
        .await
    }

    async fn children_outputs(
        &self,
        parent_execution_id: &str,
        after: Option<u32>,
        limit: u32,
    ) -> StorageResult<Vec<Result<ChildOutput, CorruptRow>>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let parent = parent_execution_id.to_owned();
        self.read(move |tx| {
            let rows = q::get_children_outputs(
                tx,
                &q::GetChildrenOutputsParams {
                    parent_execution_id: &parent,
                    after_index: row::after_index(after),
                    limit: i64::from(limit),
                },
            )
            .map_err(sqlite_err("get_children_outputs"))?;
            // A wrongly typed row is a corrupt child of its own, like a bad
            // status or output.
            Ok(rows
                .into_iter()
                .map(|r| match r {
                    Ok(r) => row::child_output(
                        r.execution_id,
                        i64::from(r.index_in_parent),
                        &r.status,
                        r.output,
                    ),
                    Err(bad) => Err(convert::corrupt(bad)),
                })
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
            let mut raw: Vec<Result<RawRow, CorruptRow>> = Vec::with_capacity(rows.len());
            for row in rows {
                if let Err(bad) = &row
                    && convert::execution_id(bad).is_none()
                    && let Some(id) = convert::surrogate_id(bad)
                {
                    fail_unnamed(tx, now, id, &convert::corrupt(bad.clone()))?;
                }
                raw.push(convert::raw(row));
            }
            // Unreadable rows last (their start_at may be unreadable too).
            raw.sort_by_key(|r| r.as_ref().map_or(i64::MAX, |r| r.start_at));
            Ok(raw
                .into_iter()
                .map(|r| r.and_then(RawRow::into_loaded))
                .collect())
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
                Ok(ids_of("finish_executions", rows, |r| r.execution_id))
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
                Ok(ids_of("retry_executions", rows, |r| r.execution_id))
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
        if let Some(execution_id) = row::duplicate_in_waits(items) {
            return Err(StorageError::DuplicateExecutionId { execution_id });
        }
        let json = json_text(&row::wait_json(items));
        // Each parent's children are encoded here, from the borrowed items,
        // in chunks of `row::INSERT_CHUNK` rows: the blocking job gets their
        // text rather than a copy of every child, and inserts them in the
        // transaction that moves the parent to its waiting status (all or
        // nothing: never a waiting parent with missing children).
        let mut inserts: Vec<(String, Vec<row::InsertChunk>)> = Vec::with_capacity(items.len());
        for item in items {
            inserts.push((
                item.execution_id.clone(),
                row::insert_chunks(item.inserts())?,
            ));
        }
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
                let matched = ids_of("start_waiting", rows, |r| r.execution_id);
                let guarded: std::collections::HashSet<&str> =
                    matched.iter().map(String::as_str).collect();
                let chunks: Vec<row::InsertChunk> = inserts
                    .into_iter()
                    .filter(|(parent, _)| guarded.contains(parent.as_str()))
                    .flat_map(|(_, chunks)| chunks)
                    .collect();
                insert_chunks_on(tx, chunks)?;
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
                Ok(ids_of("release_executions", rows, |r| r.execution_id))
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
                let mut raw: Vec<Result<RawRow, CorruptRow>> =
                    rows.into_iter().map(convert::raw).collect();
                raw.sort_by_key(|r| r.as_ref().map_or(None, |r| r.finished_at));
                for r in raw {
                    let loaded = match r {
                        Ok(r) => {
                            outcome.closed.push(r.execution_id().to_owned());
                            r.into_loaded()
                        }
                        Err(corrupt) => {
                            outcome.closed.push(corrupt.execution_id.clone());
                            Err(corrupt)
                        }
                    };
                    match loaded {
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
                let matched = ids_of("advance_parents", rows, |r| r.execution_id);
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
                Ok(ids_of("cancel_subtrees", rows, |r| r.execution_id))
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
            Ok(ids_of("claim_cancellations", rows, |r| r.execution_id))
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
                for r in readable("expire_leases", rows) {
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
                let leases_restored = ids_of(
                    "repair_missing_leases",
                    q::repair_missing_leases(
                        tx,
                        &q::RepairMissingLeasesParams {
                            now,
                            lease_slack_ms,
                            limit: i64::from(limit),
                        },
                    )
                    .map_err(sqlite_err("repair_missing_leases"))?,
                    |r| r.execution_id,
                );
                let parents_failed = ids_of(
                    "fail_missing_finalize",
                    q::fail_missing_finalize(
                        tx,
                        &q::FailMissingFinalizeParams {
                            now,
                            error: &error,
                            limit: i64::from(limit),
                        },
                    )
                    .map_err(sqlite_err("fail_missing_finalize"))?,
                    |r| r.execution_id,
                );
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
                // A group is counted under its status when both the task id
                // and the status read as text and the status is known;
                // anything else is reported as unreadable, with the values
                // as stored (to find an example row with).
                let (task_id, status, count) = match c {
                    Ok(c) => match c.status.parse::<ExecutionStatus>() {
                        Ok(status) => {
                            stats.counts.push((
                                c.task_id,
                                status,
                                u64::try_from(c.count).unwrap_or(0),
                            ));
                            continue;
                        }
                        Err(_) => (Value::Text(c.task_id), Value::Text(c.status), c.count),
                    },
                    Err(bad) => {
                        let stored = |column: &str| {
                            if bad.column == column {
                                bad.value.clone()
                            } else {
                                bad.key_value(column).cloned().unwrap_or(Value::Null)
                            }
                        };
                        let count = match stored("count") {
                            Value::Integer(n) => n,
                            _ => 0,
                        };
                        (stored("task_id"), stored("status"), count)
                    }
                };
                let example = example_execution(tx, &task_id, &status)?;
                stats.unreadable.push(UnreadableCount {
                    task_id: convert::display(&task_id),
                    status: convert::display(&status),
                    count: u64::try_from(count).unwrap_or(0),
                    example_execution_id: example,
                });
            }
            stats.counts.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            stats.oldest_ready_start_at = readable(
                "oldest_ready",
                q::oldest_ready(tx).map_err(sqlite_err("oldest_ready"))?,
            )
            .into_iter()
            .next()
            .and_then(|r| r.oldest_start_at);
            stats.expired_leases = readable(
                "count_expired_leases",
                q::count_expired_leases(tx, &q::CountExpiredLeasesParams { now })
                    .map_err(sqlite_err("count_expired_leases"))?,
            )
            .into_iter()
            .next()
            .map_or(0, |r| u64::try_from(r.count).unwrap_or(0));
            if let Some(stuck) = readable(
                "count_stuck",
                q::count_stuck(tx).map_err(sqlite_err("count_stuck"))?,
            )
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
