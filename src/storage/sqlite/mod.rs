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

use super::row;
use super::sql::{
    Access, ClaimParams, CountGroup, Dialect, Inserts, ListParams, Op, PrunedRoot, Queries, Rows,
    engine, sql_storage,
};
use super::{ChildOutput, StorageError, StorageEvent, StorageResult};
use crate::generated::sqlite as q;
use crate::model::{CorruptRow, Millis, NewExecution};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::collections::HashMap;
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

/// A [`Storage`](super::Storage) in one SQLite database file (see the [module docs](self)).
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

/// The page cache of each pooled reader connection, as SQLite's
/// `cache_size` (negative: KiB): 512 KiB instead of SQLite's default 2 MiB.
/// Readers do short indexed reads (handles, listings, counts); the pages
/// they miss come from the operating system's file cache, and with up to
/// [`SqliteOptions::max_idle_readers`] of them the default would let the
/// process grow by ~8 MiB of anonymous memory as the table grows (see
/// `docs/benchmarks.md`, "Idle-machine run"). The writer keeps the
/// default.
const READER_CACHE_SIZE: i64 = -512;

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
    q::insert_executions(conn, &q::InsertExecutionsParams { rows: &chunk.rows })
        .map(|_| ())
        .map_err(|source| insert_error(conn, chunk, "insert_executions", source))
}

/// The error of an insert of `chunk` (`query`): a duplicate sleeping key or
/// execution id named, anything else as it is.
fn insert_error(
    conn: &Connection,
    chunk: &row::InsertChunk,
    query: &'static str,
    source: rusqlite::Error,
) -> StorageError {
    match source {
        source
            if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
                && source.to_string().contains("sleeping_key") =>
        {
            StorageError::DuplicateSleepingKey {
                key: row::sleeping_key_of_chunk(&chunk.rows),
            }
        }
        source if source.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            match q::get_executions(conn, &q::GetExecutionsParams { ids: &chunk.ids }) {
                Ok(existing) => StorageError::DuplicateExecutionId {
                    execution_id: existing.into_iter().next().map_or_else(
                        || "unknown".to_owned(),
                        |r| match r {
                            Ok(r) => r.execution_id,
                            Err(bad) => convert::row_name(&bad),
                        },
                    ),
                },
                Err(read) => sqlite_err("get_executions")(read),
            }
        }
        source => sqlite_err(query)(source),
    }
}

/// Fails a just-claimed row whose execution id cannot be read, by its
/// surrogate key, with the error the executor stores for a corrupt claimed
/// row: the executor cannot finish it by id, so without this it would run
/// out its lease and be claimed again, attempt after attempt.
fn fail_unnamed(
    conn: &Connection,
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
    conn.prepare_cached(q::statements::FAIL_UNNAMED)
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::named_params! {":id": id, ":now": now, ":error": error})
        })
        .map_err(sqlite_err("fail_unnamed"))?;
    Ok(())
}

/// The SQLite [`Dialect`]: JSON parameters as text, values of grouped
/// columns as stored (any type), and new executions encoded as JSON text
/// chunks before the transaction (the blocking job gets their text, not a
/// copy of every execution).
#[derive(Debug)]
pub(crate) struct SqliteDialect;

impl Dialect for SqliteDialect {
    type Json = String;
    type Chunk = row::InsertChunk;
    const EARLY_WAIT_DUPLICATES: bool = true;
    type Stored = Value;

    fn json(value: serde_json::Value) -> String {
        value.to_string()
    }

    fn json_of<T: serde::Serialize>(what: &'static str, value: &T) -> StorageResult<String> {
        serde_json::to_string(value).map_err(|e| StorageError::Encode {
            what,
            message: e.to_string(),
        })
    }

    fn stored_text(value: &Value) -> Option<&str> {
        match value {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    fn display(value: &Value) -> String {
        convert::display(value)
    }
}

/// Encodes new executions before the transaction (see [`SqliteDialect`]).
fn encode(executions: &[NewExecution]) -> StorageResult<Inserts<'static, row::InsertChunk>> {
    row::insert_chunks(executions).map(Inserts::Encoded)
}

/// A [`Queries`] method running one generated query and returning the ids
/// of its readable rows: `name(args) => Params { fields }`.
macro_rules! ids_query {
    ($query:ident($($arg:ident: $ty:ty),*) => $params:ident { $($init:tt)* }) => {
        async fn $query(&self, $($arg: $ty),*) -> StorageResult<Vec<String>> {
            let params = q::$params { $($init)* };
            let rows = q::$query(self, &params).map_err(sqlite_err(stringify!($query)))?;
            Ok(ids_of(stringify!($query), rows, |r| r.execution_id))
        }
    };
}

/// The generated parameters of a listing query from [`ListParams`]
/// (`$extra`: the query's own leading fields).
macro_rules! list_params {
    ($params:ident, $p:expr, { $($extra:tt)* }) => {{
        let p = $p;
        q::$params {
            $($extra)*
            before_created_at: p.before_created_at,
            before_execution_id: &p.before_execution_id,
            created_from: p.created_from,
            created_to: p.created_to,
            any_finished: p.any_finished,
            finished_from: p.finished_from,
            finished_to: p.finished_to,
            task_id: &p.task_id,
            root_only: p.root_only,
            any_status: p.any_status,
            statuses: &p.statuses,
            limit: p.limit,
        }
    }};
}

/// Each query runs synchronously (the returned futures are ready at once):
/// see the [seam's docs](super::sql). A row holding a value of another type
/// than its column's fails its own row only.
impl Queries for Connection {
    type Dialect = SqliteDialect;

    async fn insert(&self, batches: Vec<Inserts<'_, row::InsertChunk>>) -> StorageResult<()> {
        let mut chunks = Vec::new();
        for batch in batches {
            match batch {
                Inserts::Encoded(encoded) => chunks.extend(encoded),
                Inserts::Rows(rows) => chunks.extend(row::insert_chunks(rows)?),
            }
        }
        insert_chunks_on(self, chunks)
    }

    async fn insert_new(&self, executions: &[NewExecution]) -> StorageResult<()> {
        insert_on(self, executions)
    }

    async fn get_executions(&self, ids: String) -> StorageResult<Rows> {
        let rows = q::get_executions(self, &q::GetExecutionsParams { ids: &ids })
            .map_err(sqlite_err("get_executions"))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    async fn get_children(&self, parent_execution_id: &str) -> StorageResult<Rows> {
        let rows = q::get_children(
            self,
            &q::GetChildrenParams {
                parent_execution_id,
            },
        )
        .map_err(sqlite_err("get_children"))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    async fn get_children_outputs(
        &self,
        parent_execution_id: &str,
        after_index: i32,
        limit: i64,
    ) -> StorageResult<Vec<Result<ChildOutput, CorruptRow>>> {
        let rows = q::get_children_outputs(
            self,
            &q::GetChildrenOutputsParams {
                parent_execution_id,
                after_index,
                limit,
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
                    r.error.map(row::RawJson::Text),
                ),
                Err(bad) => Err(convert::corrupt(bad)),
            })
            .collect())
    }

    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        lease_slack_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StorageResult<Rows> {
        let rows = q::claim_ready(
            self,
            &q::ClaimReadyParams {
                executor_id,
                now,
                lease_slack_ms,
                lease_ms,
                limit,
            },
        )
        .map_err(sqlite_err("claim_ready"))?;
        let mut raw = Vec::with_capacity(rows.len());
        for row in rows {
            if let Err(bad) = &row
                && convert::execution_id(bad).is_none()
                && let Some(id) = convert::surrogate_id(bad)
            {
                fail_unnamed(self, now, id, &convert::corrupt(bad.clone()))?;
            }
            raw.push(convert::raw(row));
        }
        Ok(raw)
    }

    async fn insert_claimed(
        &self,
        batch: Inserts<'_, row::InsertChunk>,
        claim: ClaimParams<'_>,
    ) -> StorageResult<Rows> {
        let mut chunks = match batch {
            Inserts::Encoded(encoded) => encoded,
            Inserts::Rows(rows) => row::insert_chunks(rows)?,
        };
        let Some(chunk) = chunks.pop() else {
            return Ok(Vec::new());
        };
        if !chunks.is_empty() {
            // More than one statement's worth (the engine never sends it):
            // a plain insert, claiming nothing.
            chunks.push(chunk);
            insert_chunks_on(self, chunks)?;
            return Ok(Vec::new());
        }
        let rows = q::insert_claimed_executions(
            self,
            &q::InsertClaimedExecutionsParams {
                rows: &chunk.rows,
                executor_id: claim.executor_id,
                now: claim.now,
                lease_slack_ms: claim.lease_slack_ms,
                lease_ms: claim.lease_ms,
                limit: claim.limit,
            },
        )
        .map_err(|source| insert_error(self, &chunk, "insert_claimed_executions", source))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    ids_query!(finish_executions(executor_id: &str, now: Millis, items: String) => FinishExecutionsParams { executor_id, now, items: &items });

    ids_query!(retry_executions(executor_id: &str, now: Millis, items: String) => RetryExecutionsParams { executor_id, now, items: &items });

    ids_query!(start_waiting(executor_id: &str, now: Millis, items: String) => StartWaitingParams { executor_id, now, items: &items });

    ids_query!(release_executions(executor_id: &str, now: Millis, items: String) => ReleaseExecutionsParams { executor_id, now, items: &items });

    ids_query!(heartbeat_executions(executor_id: &str, now: Millis, lease_ms: i64, items: String) => HeartbeatExecutionsParams { executor_id, now, lease_ms, items: &items });

    async fn claim_unclosed(&self, now: Millis, limit: i64) -> StorageResult<Rows> {
        let rows = q::claim_unclosed(self, &q::ClaimUnclosedParams { now, limit })
            .map_err(sqlite_err("claim_unclosed"))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    async fn lock_executions(&self, ids: String) -> StorageResult<Vec<(String, String)>> {
        let rows = q::lock_executions(self, &q::LockExecutionsParams { ids: &ids })
            .map_err(sqlite_err("lock_executions"))?;
        Ok(readable("lock_executions", rows)
            .into_iter()
            .map(|r| (r.execution_id, r.status))
            .collect())
    }

    async fn decrement_active_children(
        &self,
        now: Millis,
        items: String,
    ) -> StorageResult<Vec<(String, i64)>> {
        let params = q::DecrementActiveChildrenParams { now, items: &items };
        let rows = q::decrement_active_children(self, &params)
            .map_err(sqlite_err("decrement_active_children"))?;
        Ok(readable("decrement_active_children", rows)
            .into_iter()
            .map(|r| (r.execution_id, i64::from(r.active_children_count)))
            .collect())
    }

    async fn record_children_failures(&self, now: Millis, items: String) -> StorageResult<()> {
        let params = q::RecordChildrenFailuresParams { now, items: &items };
        q::record_children_failures(self, &params)
            .map_err(sqlite_err("record_children_failures"))?;
        Ok(())
    }

    ids_query!(complete_from_finalize(now: Millis, items: String) => CompleteFromFinalizeParams { now, items: &items });

    ids_query!(fail_from_finalize(now: Millis, items: String) => FailFromFinalizeParams { now, items: &items });

    ids_query!(cancel_subtrees(now: Millis, items: String) => CancelSubtreesParams { now, items: &items });

    async fn ready_parents(&self, limit: i64) -> StorageResult<Rows> {
        let rows = q::ready_parents(self, &q::ReadyParentsParams { limit })
            .map_err(sqlite_err("ready_parents"))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    ids_query!(advance_parents(now: Millis, items: String) => AdvanceParentsParams { now, items: &items });

    ids_query!(claim_cancellations(executor_id: &str, limit: i64) => ClaimCancellationsParams { executor_id, limit });

    async fn expire_leases(
        &self,
        now: Millis,
        error: String,
        limit: i64,
    ) -> StorageResult<Vec<(String, String)>> {
        let params = q::ExpireLeasesParams {
            now,
            error: &error,
            limit,
        };
        let rows = q::expire_leases(self, &params).map_err(sqlite_err("expire_leases"))?;
        Ok(readable("expire_leases", rows)
            .into_iter()
            .map(|r| (r.execution_id, r.status))
            .collect())
    }

    ids_query!(expire_sleeping(now: Millis, error: String, limit: i64) => ExpireSleepingParams { now, error: &error, limit });

    async fn wake_sleeping(
        &self,
        task_id: &str,
        sleeping_key: &str,
        now: Millis,
        outcome: String,
    ) -> StorageResult<Rows> {
        let params = q::WakeSleepingParams {
            task_id,
            sleeping_key,
            now,
            outcome: &outcome,
        };
        let rows = q::wake_sleeping(self, &params).map_err(sqlite_err("wake_sleeping"))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    async fn get_by_sleeping_key(&self, task_id: &str, sleeping_key: &str) -> StorageResult<Rows> {
        let params = q::GetBySleepingKeyParams {
            task_id,
            sleeping_key,
        };
        let rows =
            q::get_by_sleeping_key(self, &params).map_err(sqlite_err("get_by_sleeping_key"))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    ids_query!(repair_missing_leases(now: Millis, lease_slack_ms: i64, limit: i64) => RepairMissingLeasesParams { now, lease_slack_ms, limit });

    ids_query!(fail_missing_finalize(now: Millis, error: String, limit: i64) => FailMissingFinalizeParams { now, error: &error, limit });

    async fn count_by_task_and_status(&self) -> StorageResult<Vec<CountGroup<Value>>> {
        let counts =
            q::count_by_task_and_status(self).map_err(sqlite_err("count_by_task_and_status"))?;
        Ok(counts
            .into_iter()
            .map(|c| match c {
                Ok(c) => CountGroup {
                    task_id: Value::Text(c.task_id),
                    status: Value::Text(c.status),
                    count: c.count,
                    typed: true,
                },
                Err(bad) => {
                    // The values as stored, whatever their type.
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
                    CountGroup {
                        task_id: stored("task_id"),
                        status: stored("status"),
                        count,
                        typed: false,
                    }
                }
            })
            .collect())
    }

    async fn example_execution(
        &self,
        task_id: &Value,
        status: &Value,
    ) -> StorageResult<Option<String>> {
        let mut stmt = self
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

    async fn oldest_ready(&self) -> StorageResult<Option<Millis>> {
        let rows = q::oldest_ready(self).map_err(sqlite_err("oldest_ready"))?;
        Ok(readable("oldest_ready", rows)
            .into_iter()
            .next()
            .and_then(|r| r.oldest_start_at))
    }

    async fn count_expired_leases(&self, now: Millis) -> StorageResult<Option<i64>> {
        let rows = q::count_expired_leases(self, &q::CountExpiredLeasesParams { now })
            .map_err(sqlite_err("count_expired_leases"))?;
        Ok(readable("count_expired_leases", rows)
            .into_iter()
            .next()
            .map(|r| r.count))
    }

    async fn count_stuck(&self) -> StorageResult<Option<(i64, i64)>> {
        let rows = q::count_stuck(self).map_err(sqlite_err("count_stuck"))?;
        Ok(readable("count_stuck", rows)
            .into_iter()
            .next()
            .map(|r| (r.running_without_lease, r.missing_finalize)))
    }

    async fn list_executions(&self, p: &ListParams<String>) -> StorageResult<Rows> {
        let rows = q::list_executions(self, &list_params!(ListExecutionsParams, p, {}))
            .map_err(sqlite_err("list_executions"))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    async fn list_children_of(
        &self,
        parent_execution_id: &str,
        p: &ListParams<String>,
    ) -> StorageResult<Rows> {
        let params = list_params!(ListChildrenOfParams, p, { parent_execution_id, });
        let rows = q::list_children_of(self, &params).map_err(sqlite_err("list_children_of"))?;
        Ok(rows.into_iter().map(convert::raw).collect())
    }

    ids_query!(rerun_root(execution_id: &str, now: Millis) => RerunRootParams { execution_id, now });

    async fn delete_descendants(&self, execution_id: &str) -> StorageResult<u64> {
        let n = q::delete_descendants(self, &q::DeleteDescendantsParams { execution_id })
            .map_err(sqlite_err("delete_descendants"))?;
        Ok(n as u64)
    }

    async fn prune_roots(
        &self,
        status: &str,
        finished_before: Millis,
        after: (Millis, i64),
        limit: i64,
    ) -> StorageResult<Vec<PrunedRoot>> {
        let params = q::PruneRootsParams {
            status,
            finished_before,
            after_finished_at: after.0,
            after_id: after.1,
            limit,
        };
        let rows = q::prune_roots(self, &params).map_err(sqlite_err("prune_roots"))?;
        Ok(readable("prune_roots", rows)
            .into_iter()
            .map(|r| PrunedRoot::new(r.execution_id, r.finished_at, r.id))
            .collect())
    }

    async fn count_prunable(
        &self,
        status: &str,
        finished_before: Millis,
        after: (Millis, i64),
        limit: i64,
    ) -> StorageResult<(i64, i64)> {
        let params = q::CountPrunableParams {
            status,
            finished_before,
            after_finished_at: after.0,
            after_id: after.1,
            limit,
        };
        let rows = q::count_prunable(self, &params).map_err(sqlite_err("count_prunable"))?;
        Ok(readable("count_prunable", rows)
            .into_iter()
            .next()
            .map_or((0, 0), |r| (r.roots, r.executions)))
    }

    async fn delete_pruned_descendants(&self, ids: String) -> StorageResult<u64> {
        let n = q::delete_pruned_descendants(self, &q::DeletePrunedDescendantsParams { ids: &ids })
            .map_err(sqlite_err("delete_pruned_descendants"))?;
        Ok(n as u64)
    }

    async fn delete_all(&self) -> StorageResult<u64> {
        let n = q::delete_all_executions(self).map_err(sqlite_err("delete_all_executions"))?;
        Ok(n as u64)
    }
}

fn ids_of<R>(
    query: &'static str,
    rows: Vec<q::RowResult<R>>,
    id: impl Fn(R) -> String,
) -> Vec<String> {
    readable(query, rows).into_iter().map(id).collect()
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

    /// The wake-ups of every storage on this file in this process.
    fn events(&self) -> &broadcast::Sender<StorageEvent> {
        &self.inner.hub.events
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
                    let conn = open_connection(path, &inner.options, false)?;
                    conn.pragma_update(None, "cache_size", READER_CACHE_SIZE)
                        .map_err(sqlite_err("cache_size"))?;
                    conn
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

impl SqliteStorage {
    /// Runs an engine operation ([`engine`]) in one transaction: `BEGIN
    /// IMMEDIATE` on the writer ([`Access::Write`], see
    /// [`SqliteStorage::write`]) or a read transaction on a reader. Its
    /// future is driven to completion on the blocking thread: every query
    /// of [`Queries for Connection`](Queries) completes synchronously, so
    /// nothing in it waits for the runtime (see [the seam](super::sql)).
    /// Then sends the operation's wake-ups. `None` (nothing to do) returns
    /// the default output without touching the database.
    async fn run<O>(&self, op: Option<O>) -> StorageResult<O::Output>
    where
        O: Op<SqliteDialect> + Send + 'static,
        O::Output: Send + 'static,
    {
        let Some(op) = op else {
            return Ok(O::Output::default());
        };
        let job = move |tx: &rusqlite::Transaction<'_>| {
            futures::executor::block_on(op.run::<Connection>(tx))
        };
        let output = match O::ACCESS {
            Access::Write => self.write(job).await?,
            Access::Read => self.read(job).await?,
        };
        for event in O::wakeups(&output).events() {
            self.emit(event);
        }
        Ok(output)
    }
}

sql_storage!(SqliteStorage, "sqlite", encode);

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
