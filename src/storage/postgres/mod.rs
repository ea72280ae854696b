//! The PostgreSQL backend: tokio-postgres through a deadpool pool, running
//! the cornucopia-generated queries of `spec/task_executions.yaml`.
//!
//! - Prepared statements are cached per pooled connection (deadpool's
//!   statement cache), so each query is parsed once per connection.
//! - Single-statement operations run in autocommit; multi-statement
//!   operations (`wait_for_children`, `close_finished`, `advance_parents`,
//!   an `insert` of more than 500 rows) run in one transaction each, and
//!   so do the scans that must read a partial index in its order
//!   (`claim_ready`, `close_finished`, `children_outputs`), with bitmap
//!   scans off for their transaction, so that their plan never depends on
//!   the table's statistics (docs/design.md, "Large fan-outs"). The closer locks every parent its plan
//!   touches, in execution-id order, before changing any of them, so two
//!   closers never deadlock on shared parents, and the countdown of a
//!   parent's active children is an atomic `UPDATE`, so concurrent closers
//!   never lose a decrement.
//! - Claims use `FOR UPDATE SKIP LOCKED`: concurrent claimers (threads,
//!   processes, machines) never receive the same execution.
//! - Wake-ups: after every insert, re-queue, finish, cancellation and close
//!   that changed something, a `NOTIFY` on the schema's event channel (see
//!   *Schema placement*) is sent by a background task that coalesces them (one round per 50 ms at
//!   most, the first of a quiet period at once, every kind requested since the last round in one
//!   statement; after the change committed; docs/design.md, "Wake-ups"); a background connection
//!   `LISTEN`s and forwards the notifications to [`Storage::subscribe`](super::Storage::subscribe),
//!   reconnecting after failures, so an idle executor learns about new work
//!   from any process without waiting for its poll interval.
//!
//! # NUL characters
//!
//! PostgreSQL's `text` and `jsonb` cannot hold U+0000. Serialized inputs
//! and outputs are JSON text, where a NUL is always escaped (`\u0000`) and
//! is stored and returned faithfully. A raw NUL in any other stored string
//! (an error message, a cancellation reason, a task id) is replaced with
//! U+FFFD (`�`) on the way in, so that such an error is stored instead of
//! failing the write. SQLite and the in-memory backend store it unchanged.
//!
//! # Schema placement
//!
//! The table lives in whatever schema the connections' `search_path` names
//! first. [`PostgresConfig::schema`] sets `search_path` on every pooled (and
//! the listener) connection with the startup option `-c search_path=<schema>`;
//! the schema must exist (create it, and grant usage, as a DBA). This works
//! the same for URLs, `key=value` strings and
//! [`PostgresConfig::from_tokio_config`]; with
//! [`PostgresStorage::from_pool`] the application's pool must carry the
//! schema itself (see there). Each schema has its own notification
//! channel (`task_executions_events` in `public`, as in earlier releases;
//! `task_executions_events_<schema>` elsewhere), so storages in different
//! schemas of one database never wake each other.
//!
//! # Connection strings and TLS
//!
//! See [`PostgresConfig`]: both libpq connection string forms, libpq's
//! `sslmode` values over rustls, `sslrootcert`, and the typed
//! [`StorageError::Tls`] for TLS failures. Passwords never appear in
//! errors ([`redact_connection_string`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), durable_execution::storage::StorageError> {
//! use durable_execution::storage::{PostgresConfig, PostgresStorage};
//! let config = PostgresConfig::new("postgres://app@db/app").schema("jobs").migrate(true);
//! let storage = PostgresStorage::connect(config).await?;
//! # Ok(())
//! # }
//! ```

mod conninfo;
mod convert;
mod tls;

pub use conninfo::{SslMode, UnknownSslMode, is_connection_string, redact_connection_string};
use tls::TlsContext;
pub use tls::{RootCertificates, TlsFailure};

use super::row;
use super::sql::{
    ClaimParams, CountGroup, Dialect, Inserts, ListParams, Op, PrunedRoot, Queries, Rows, engine,
    sql_storage,
};
use super::{ChildOutput, StorageError, StorageEvent, StorageResult};
use crate::model::{CorruptRow, Millis, NewExecution};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use durable_execution_pg_queries::client::GenericClient;
use durable_execution_pg_queries::client::Params as _;
use durable_execution_pg_queries::queries::task_executions as pgq;
use serde_json::Value;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_postgres::error::SqlState;
use tokio_util::sync::CancellationToken;

/// The notification payload for new or re-queued ready work.
const PAYLOAD_READY: &str = "ready";
/// The notification payload for other changes.
const PAYLOAD_CHANGED: &str = "changed";
/// The notification payload for finished executions that wait for a
/// closer nobody woke ([`StorageEvent::CloseWork`]). Releases before it
/// took any payload but `ready` for a change, so they treat it as one.
const PAYLOAD_CLOSE: &str = "close";

/// The events a notification's payload stands for. An unknown payload (a
/// newer release's kind) could mean anything but new ready work: it is
/// taken as a change to close, so that no waiter or closer misses it.
fn payload_events(payload: &str) -> &'static [StorageEvent] {
    match payload {
        PAYLOAD_READY => &[StorageEvent::ReadyWork],
        PAYLOAD_CHANGED => &[StorageEvent::Changed],
        _ => &[StorageEvent::Changed, StorageEvent::CloseWork],
    }
}

/// The `application_name` of the background `LISTEN` connection (visible
/// in `pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "durable-execution-listener";

/// Configuration of [`PostgresStorage::connect`].
///
/// # Connection strings
///
/// [`PostgresConfig::url`] takes both libpq forms: a URL
/// (`postgres://app:secret@db.internal:5432/app?sslmode=verify-full`) or a
/// `key=value` string (`host=db.internal user=app password=secret
/// dbname=app sslmode=verify-full`). An existing `tokio_postgres::Config`
/// is taken by [`PostgresConfig::from_tokio_config`], and an application's
/// own pool by [`PostgresStorage::from_pool`]. Passwords never appear in
/// errors or in `Debug` output (see [`redact_connection_string`]).
///
/// # TLS
///
/// TLS runs over rustls. The mode is [`PostgresConfig::ssl_mode`], else the
/// connection string's `sslmode`, else `prefer`, with libpq's meanings:
///
/// | `sslmode` | encrypted | server verified |
/// |---|---|---|
/// | `disable` | never | no |
/// | `prefer` (default) | when the server offers TLS, else plain | no |
/// | `require` | always | no; with a root certificate file, as `verify-ca` (libpq's rule) |
/// | `verify-ca` | always | certificate chain against the roots, host name not checked |
/// | `verify-full` | always | chain and host name |
///
/// The roots are the PEM file of [`PostgresConfig::root_certificate_file`],
/// else the connection string's `sslrootcert=<file>`, else the operating
/// system's certificate store (unlike libpq, which reads
/// `~/.postgresql/root.crt`). The pooled connections, the `LISTEN`
/// connection and [`PostgresConfig::connect_client`] all use these
/// settings. A connection that fails at the TLS layer is one
/// [`StorageError::Tls`] naming the mode, the host and a [`TlsFailure`]
/// (unknown CA, host name mismatch, server requires TLS, …).
///
/// ```no_run
/// # async fn demo() -> Result<(), durable_execution::storage::StorageError> {
/// use durable_execution::storage::{PostgresConfig, PostgresStorage, SslMode};
/// let config = PostgresConfig::new("host=db.internal user=app dbname=app")
///     .ssl_mode(SslMode::VerifyFull)
///     .root_certificate_file("/etc/app/db-ca.pem")
///     .schema("jobs");
/// let storage = PostgresStorage::connect(config).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct PostgresConfig {
    /// Connection string: a `postgres://` URL or libpq `key=value` pairs
    /// (ignored when built by [`PostgresConfig::from_tokio_config`]).
    pub url: String,
    /// Schema for the table (sets `search_path`); `None` keeps the server
    /// default (`"$user", public`).
    pub schema: Option<String>,
    /// Maximum pooled connections (default 16).
    pub pool_size: usize,
    /// Apply the embedded migrations when connecting (default `false`: a
    /// DBA or a deploy step migrates; see [`crate::migrate`]).
    pub migrate: bool,
    /// When not migrating, accept a database with pending migrations
    /// (default `false`: opening fails with
    /// [`crate::migrate::MigrationError::SchemaOutdated`]). A database
    /// migrated by a newer release is always refused.
    pub allow_outdated_schema: bool,
    /// Run the `LISTEN` connection that turns other processes' notifications
    /// into [`StorageEvent`]s (default `true`).
    pub listen: bool,
    /// The TLS mode; `None` takes the connection string's `sslmode`
    /// (default `prefer`).
    pub ssl_mode: Option<SslMode>,
    /// A PEM file of root certificates that verify the server; `None` takes
    /// the connection string's `sslrootcert`, else the system roots.
    pub root_certificate_file: Option<PathBuf>,
    /// A parsed configuration that replaces `url`.
    base: Option<tokio_postgres::Config>,
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The url is redacted; tokio_postgres::Config's Debug hides its password.
        f.debug_struct("PostgresConfig")
            .field("url", &redact_connection_string(&self.url))
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("migrate", &self.migrate)
            .field("allow_outdated_schema", &self.allow_outdated_schema)
            .field("listen", &self.listen)
            .field("ssl_mode", &self.ssl_mode)
            .field("root_certificate_file", &self.root_certificate_file)
            .field("tokio_config", &self.base)
            .finish()
    }
}

/// A [`PostgresConfig`] turned into what the driver needs.
#[derive(Debug)]
struct Resolved {
    pg: tokio_postgres::Config,
    tls: tls::Tls,
}

impl PostgresConfig {
    /// A configuration with defaults for `url` (a URL or a libpq
    /// `key=value` string).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            pool_size: 16,
            migrate: false,
            allow_outdated_schema: false,
            listen: true,
            ssl_mode: None,
            root_certificate_file: None,
            base: None,
        }
    }

    /// A configuration with defaults for an existing `tokio_postgres`
    /// configuration. Its `ssl_mode` (`disable`, `prefer` or `require`) is
    /// the TLS mode unless [`PostgresConfig::ssl_mode`] sets one (the only
    /// way to `verify-ca`/`verify-full` here); [`PostgresConfig::schema`]
    /// adds to its `options`.
    pub fn from_tokio_config(config: tokio_postgres::Config) -> Self {
        let mut this = Self::new(String::new());
        this.base = Some(config);
        this
    }

    /// Sets [`PostgresConfig::schema`].
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Sets [`PostgresConfig::pool_size`].
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// Sets [`PostgresConfig::migrate`].
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Sets [`PostgresConfig::allow_outdated_schema`].
    pub fn allow_outdated_schema(mut self, allow: bool) -> Self {
        self.allow_outdated_schema = allow;
        self
    }

    /// Sets [`PostgresConfig::listen`].
    pub fn listen(mut self, listen: bool) -> Self {
        self.listen = listen;
        self
    }

    /// Sets [`PostgresConfig::ssl_mode`] (wins over the connection
    /// string's `sslmode`).
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = Some(mode);
        self
    }

    /// Sets [`PostgresConfig::root_certificate_file`] (wins over the
    /// connection string's `sslrootcert`).
    pub fn root_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.root_certificate_file = Some(path.into());
        self
    }

    /// The connection string for messages, password hidden.
    fn describe(&self) -> String {
        match &self.base {
            Some(_) => "(tokio_postgres::Config)".to_owned(),
            None => redact_connection_string(&self.url),
        }
    }

    fn resolve(&self) -> StorageResult<Resolved> {
        let (mut config, string_mode, string_root) = match &self.base {
            Some(base) => {
                let mode = match base.get_ssl_mode() {
                    tokio_postgres::config::SslMode::Disable => SslMode::Disable,
                    tokio_postgres::config::SslMode::Require => SslMode::Require,
                    _ => SslMode::Prefer,
                };
                (base.clone(), Some(mode), None)
            }
            None => {
                let stripped = conninfo::strip_tls_keys(&self.url).map_err(|e| {
                    StorageError::Config(format!(
                        "bad postgres connection string `{}`: {e}",
                        self.describe()
                    ))
                })?;
                let config: tokio_postgres::Config =
                    stripped.rest.parse().map_err(|e: tokio_postgres::Error| {
                        // The driver's message is generic ("invalid connection
                        // string"); its source names the key (never a value).
                        let detail = match std::error::Error::source(&e) {
                            Some(source) => format!("{e}: {source}"),
                            None => e.to_string(),
                        };
                        StorageError::Config(format!(
                            "bad postgres connection string `{}`: {detail}",
                            self.describe()
                        ))
                    })?;
                (config, stripped.ssl_mode, stripped.root_certificate)
            }
        };
        let mode = self.ssl_mode.or(string_mode).unwrap_or_default();
        let root = self.root_certificate_file.clone().or(string_root);
        config.ssl_mode(tls::driver_mode(mode));
        if let Some(schema) = &self.schema {
            check_schema_name(schema)?;
            let options = match config.get_options() {
                Some(existing) => format!("{existing} -c search_path={schema}"),
                None => format!("-c search_path={schema}"),
            };
            config.options(&options);
        }
        if config.get_application_name().is_none() {
            config.application_name("durable-execution");
        }
        let tls = tls::build(mode, root.as_deref(), first_host(&config))
            .map_err(|e| StorageError::Config(e.to_string()))?;
        Ok(Resolved { pg: config, tls })
    }

    /// One connection with this configuration's settings (TLS, schema,
    /// application name), its connection task spawned on the current tokio
    /// runtime; for tools that need a plain client (the migrator, ad-hoc
    /// SQL). Errors as [`PostgresStorage::connect`]'s.
    pub async fn connect_client(&self) -> StorageResult<tokio_postgres::Client> {
        let resolved = self.resolve()?;
        let (client, connection) = resolved
            .pg
            .connect(resolved.tls.connector.0.clone())
            .await
            .map_err(|e| connection_error(e, Some(&resolved.tls.context)))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "postgres connection closed");
            }
        });
        Ok(client)
    }
}

/// Checks that `schema` is a plain identifier (it goes into a startup
/// option unquoted).
fn check_schema_name(schema: &str) -> StorageResult<()> {
    let valid = !schema.is_empty()
        && schema
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if valid {
        Ok(())
    } else {
        Err(StorageError::Config(format!(
            "schema `{schema}` must be a plain identifier ([A-Za-z_][A-Za-z0-9_$]*)"
        )))
    }
}

/// The first TCP host of `config` (what TLS errors name), else `localhost`.
fn first_host(config: &tokio_postgres::Config) -> String {
    config
        .get_hosts()
        .iter()
        .find_map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => Some(name.clone()),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => None,
        })
        .or_else(|| config.get_hostaddrs().first().map(ToString::to_string))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// A connection error: a [`StorageError::Tls`] when it is a TLS failure,
/// else the driver error.
fn connection_error(source: tokio_postgres::Error, context: Option<&TlsContext>) -> StorageError {
    match context.and_then(|c| tls::classify(&source, c).map(|f| (c, f))) {
        Some((context, failure)) => StorageError::Tls {
            sslmode: context.mode,
            host: context.host.clone(),
            failure,
            source: Some(source),
        },
        None => StorageError::Postgres {
            query: "connect",
            source,
        },
    }
}

/// A pool checkout error, TLS failures recognised.
fn pool_error(error: deadpool_postgres::PoolError, context: Option<&TlsContext>) -> StorageError {
    match error {
        deadpool_postgres::PoolError::Backend(source) => {
            match context.and_then(|c| tls::classify(&source, c).map(|f| (c, f))) {
                Some((context, failure)) => StorageError::Tls {
                    sslmode: context.mode,
                    host: context.host.clone(),
                    failure,
                    source: Some(source),
                },
                None => StorageError::Pool(deadpool_postgres::PoolError::Backend(source)),
            }
        }
        other => StorageError::Pool(other),
    }
}

/// Options of [`PostgresStorage::from_pool`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PoolOptions {
    /// The schema the pool's connections must put first on their
    /// `search_path` (checked, never set: the connections are the
    /// application's). `None` checks nothing.
    pub schema: Option<String>,
    /// Apply the embedded migrations on a pooled connection first.
    pub migrate: bool,
    /// See [`PostgresConfig::allow_outdated_schema`].
    pub allow_outdated_schema: bool,
    /// The configuration of the `LISTEN` connection (a pool gives no way to
    /// open a dedicated connection); `None` runs no listener, and other
    /// processes' work is then found by the executor's polling.
    pub listener: Option<PostgresConfig>,
}

impl PoolOptions {
    /// Sets [`PoolOptions::schema`].
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Sets [`PoolOptions::migrate`].
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Sets [`PoolOptions::allow_outdated_schema`].
    pub fn allow_outdated_schema(mut self, allow: bool) -> Self {
        self.allow_outdated_schema = allow;
        self
    }

    /// Sets [`PoolOptions::listener`].
    pub fn listener(mut self, config: PostgresConfig) -> Self {
        self.listener = Some(config);
        self
    }
}

#[derive(Debug)]
struct Inner {
    pool: Pool,
    /// What pool errors are classified against (`None` for an
    /// application's pool, whose TLS settings are unknown).
    tls: Option<TlsContext>,
    events: broadcast::Sender<StorageEvent>,
    notifier: Arc<Notifier>,
    shutdown: CancellationToken,
}

/// Coalesces the `NOTIFY`s of this storage: operations only set a flag
/// after their commit; one background task sends the notifications, at most
/// one per kind per [`NOTIFY_INTERVAL`] (50 ms), the first of a quiet period
/// at once (see [`run_notifier`]). Every `NOTIFY` takes PostgreSQL's
/// cluster-wide notification lock at commit, so a busy executor sending one
/// per write would serialize the commits of every process on it.
///
/// Sending `NOTIFY` inside each operation's transaction would be simpler but
/// slow: PostgreSQL serializes the commits of every transaction that queued a
/// notification (database-wide lock held through the WAL flush), which
/// defeats group commit under concurrency. Sent after the commit, the
/// notification also never reaches a listener before the change is visible.
///
/// The kinds requested since the last round go out as one statement (see
/// `notify_events` in the spec): PostgreSQL signals every listening backend
/// of the database once per notifying transaction, whatever the channel,
/// so one transaction per round is what each idle listener pays.
#[derive(Debug, Default)]
struct Notifier {
    ready: std::sync::atomic::AtomicBool,
    changed: std::sync::atomic::AtomicBool,
    close: std::sync::atomic::AtomicBool,
    wake: tokio::sync::Notify,
}

impl Notifier {
    fn request(&self, event: StorageEvent) {
        use std::sync::atomic::Ordering;
        let flag = match event {
            StorageEvent::ReadyWork => &self.ready,
            StorageEvent::Changed => &self.changed,
            StorageEvent::CloseWork => &self.close,
        };
        flag.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// The payloads requested since the last call, in the order
    /// [`Wakeups::events`](super::rules::Wakeups::events) sends them; a
    /// close request stands for the change too (receivers of this release
    /// and of earlier ones both take it as one).
    fn take(&self) -> Vec<&'static str> {
        use std::sync::atomic::Ordering;
        let ready = self.ready.swap(false, Ordering::AcqRel);
        let changed = self.changed.swap(false, Ordering::AcqRel);
        let close = self.close.swap(false, Ordering::AcqRel);
        let mut payloads = Vec::with_capacity(2);
        if ready {
            payloads.push(PAYLOAD_READY);
        }
        if close {
            payloads.push(PAYLOAD_CLOSE);
        } else if changed {
            payloads.push(PAYLOAD_CHANGED);
        }
        payloads
    }
}

/// Shortest time between two `NOTIFY` transactions of one storage (see
/// [`Notifier`]).
const NOTIFY_INTERVAL: Duration = Duration::from_millis(50);

/// Sends the coalesced notifications until `shutdown`: at most one
/// transaction per [`NOTIFY_INTERVAL`], with one notification per kind
/// requested since the previous one. The leading edge is immediate (a
/// request after a quiet period is sent at once, so an idle system wakes
/// other processes without delay); a request during the interval is sent
/// when it ends (the trailing edge: no wake-up is lost, only merged).
async fn run_notifier(pool: Pool, notifier: Arc<Notifier>, shutdown: CancellationToken) {
    let mut last_sent: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = notifier.wake.notified() => {}
        }
        if let Some(last) = last_sent {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(last + NOTIFY_INTERVAL) => {}
            }
        }
        let payloads = notifier.take();
        if payloads.is_empty() {
            continue;
        }
        last_sent = Some(tokio::time::Instant::now());
        let result = async {
            let client = pool.get().await?;
            notify_on(&client, &payloads).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "postgres notify failed; other processes will poll");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A [`Storage`](super::Storage) in PostgreSQL (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct PostgresStorage {
    inner: Arc<Inner>,
}

/// Maps a driver error, recognising a missing table and duplicate ids.
fn pg_err(query: &'static str) -> impl Fn(tokio_postgres::Error) -> StorageError {
    move |source| {
        if let Some(db) = source.as_db_error() {
            if *db.code() == SqlState::UNDEFINED_TABLE {
                return StorageError::MissingTable {
                    table: "task_executions".to_owned(),
                };
            }
            if *db.code() == SqlState::UNIQUE_VIOLATION
                && db.constraint().is_some_and(|c| c.contains("sleeping_key"))
            {
                return StorageError::DuplicateSleepingKey {
                    key: db
                        .detail()
                        .and_then(row::duplicate_id_from_detail)
                        .unwrap_or_else(|| "unknown".to_owned()),
                };
            }
            if *db.code() == SqlState::UNIQUE_VIOLATION
                && db.constraint().is_some_and(|c| c.contains("execution_id"))
            {
                return StorageError::DuplicateExecutionId {
                    execution_id: db
                        .detail()
                        .and_then(row::duplicate_id_from_detail)
                        .unwrap_or_else(|| "unknown".to_owned()),
                };
            }
        }
        StorageError::Postgres { query, source }
    }
}

/// The replacement of U+0000 in text stored in PostgreSQL.
const NUL_REPLACEMENT: char = '\u{FFFD}';

/// A JSON parameter PostgreSQL accepts: `jsonb` (and `text`) cannot hold
/// U+0000, so every NUL character in a string (an error message, a task
/// id, ...) is replaced with U+FFFD (documented on [`PostgresStorage`]).
/// Serialized inputs and outputs never contain a raw NUL: JSON text escapes
/// it, and the escaped form is stored as is.
fn pg_json(mut value: Value) -> Value {
    replace_nul(&mut value);
    value
}

fn replace_nul(value: &mut Value) {
    match value {
        Value::String(text) => {
            if text.contains('\0') {
                *text = text.replace('\0', &NUL_REPLACEMENT.to_string());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(replace_nul),
        Value::Object(map) => map.values_mut().for_each(replace_nul),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Inserts `executions` on any client or transaction, [`row::INSERT_CHUNK`]
/// rows per statement, each statement's JSON parameter serialized straight
/// from the borrowed executions (see [`insert_refs_on`]).
async fn insert_on<C: durable_execution_pg_queries::client::GenericClient>(
    client: &C,
    executions: &[NewExecution],
) -> StorageResult<()> {
    let refs: Vec<&NewExecution> = executions.iter().collect();
    insert_refs_on(client, &refs).await
}

/// [`insert_on`] for borrowed executions. With more than one chunk,
/// `client` must be a transaction (the caller's or the storage's own): an
/// error in any chunk then aborts the transaction, earlier chunks included.
async fn insert_refs_on<C: durable_execution_pg_queries::client::GenericClient>(
    client: &C,
    executions: &[&NewExecution],
) -> StorageResult<()> {
    if executions.is_empty() {
        return Ok(());
    }
    if let Some(execution_id) = row::duplicate_within(executions.iter().copied()) {
        return Err(StorageError::DuplicateExecutionId { execution_id });
    }
    let statement = pgq::insert_executions();
    for chunk in executions.chunks(row::INSERT_CHUNK) {
        let rows =
            tokio_postgres::types::Json(row::insert_rows(chunk.iter().copied(), row::Text::NoNul)?);
        statement
            .bind(client, &rows)
            .await
            .map_err(pg_err("insert_executions"))?;
    }
    Ok(())
}

/// Sends one notification per payload on this schema's channel, in one
/// statement (one transaction unless `client` is in one already).
async fn notify_on<C: durable_execution_pg_queries::client::GenericClient>(
    client: &C,
    payloads: &[&str],
) -> StorageResult<()> {
    pgq::notify_events()
        .bind(client, &tokio_postgres::types::Json(payloads))
        .all()
        .await
        .map_err(pg_err("notify_events"))?;
    Ok(())
}

/// What opening does with the schema: migrate, or check the recorded version.
#[derive(Debug, Clone, Copy)]
struct SchemaOnOpen {
    migrate: bool,
    allow_outdated: bool,
}

impl PostgresStorage {
    /// Builds the pool, migrates if asked, checks that the table exists
    /// ([`StorageError::MissingTable`] otherwise) and starts the listener.
    /// A TLS failure of the first connection is a [`StorageError::Tls`].
    pub async fn connect(config: PostgresConfig) -> StorageResult<Self> {
        let resolved = config.resolve()?;
        let manager = Manager::from_config(
            resolved.pg.clone(),
            resolved.tls.connector.0.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .build()
            .map_err(|e| StorageError::Config(format!("postgres pool: {e}")))?;
        let listener = config.listen.then(|| Listener {
            config: resolved.pg.clone(),
            tls: resolved.tls.clone(),
        });
        let schema = SchemaOnOpen {
            migrate: config.migrate,
            allow_outdated: config.allow_outdated_schema,
        };
        Self::start(pool, Some(resolved.tls.context), schema, listener).await
    }

    /// A storage on an application's existing pool (its connections, TLS
    /// and credentials as the application configured them).
    ///
    /// Schema placement: the storage never changes the pool's connections
    /// (they run the application's own queries too), so the schema must be
    /// on their `search_path` already, e.g. built with the startup option
    /// `-c search_path=jobs` (`options` in `deadpool_postgres::Config`).
    /// [`PoolOptions::schema`] checks it: a connection whose
    /// `current_schema()` is another is a [`StorageError::Config`].
    ///
    /// Wake-ups: a pool cannot lend a connection for good, so `LISTEN`
    /// needs [`PoolOptions::listener`], a configuration for its own
    /// connection; without one no listener runs and executors learn about
    /// other processes' work by polling (this process's own changes still
    /// wake its subscribers, and `NOTIFY` is still sent for others).
    ///
    /// ```no_run
    /// # async fn demo(pool: deadpool_postgres::Pool) -> Result<(), durable_execution::storage::StorageError> {
    /// use durable_execution::storage::{PoolOptions, PostgresConfig, PostgresStorage};
    /// let listener = PostgresConfig::new("postgres://app@db/app?sslmode=verify-full");
    /// let storage =
    ///     PostgresStorage::from_pool(pool, PoolOptions::default().schema("jobs").listener(listener))
    ///         .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn from_pool(pool: Pool, options: PoolOptions) -> StorageResult<Self> {
        let listener = match &options.listener {
            Some(config) => {
                let resolved = config.resolve()?;
                Some(Listener {
                    config: resolved.pg,
                    tls: resolved.tls,
                })
            }
            None => None,
        };
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
            let client = pool.get().await?;
            let current: Option<String> = client
                .query_one("SELECT current_schema()", &[])
                .await
                .and_then(|row| row.try_get(0))
                .map_err(pg_err("current_schema"))?;
            if current.as_deref() != Some(schema.as_str()) {
                return Err(StorageError::Config(format!(
                    "the pool's connections put schema `{}` first on their search_path, not `{schema}`; \
                     build the pool with the startup option `-c search_path={schema}` (and create the schema)",
                    current.as_deref().unwrap_or("(none)")
                )));
            }
        }
        let schema = SchemaOnOpen {
            migrate: options.migrate,
            allow_outdated: options.allow_outdated_schema,
        };
        Self::start(pool, None, schema, listener).await
    }

    async fn start(
        pool: Pool,
        tls: Option<TlsContext>,
        schema: SchemaOnOpen,
        listener: Option<Listener>,
    ) -> StorageResult<Self> {
        let (events, _) = broadcast::channel(1024);
        let storage = Self {
            inner: Arc::new(Inner {
                pool,
                tls,
                events,
                notifier: Arc::default(),
                shutdown: CancellationToken::new(),
            }),
        };
        tokio::spawn(run_notifier(
            storage.inner.pool.clone(),
            Arc::clone(&storage.inner.notifier),
            storage.inner.shutdown.clone(),
        ));
        if schema.migrate {
            storage.migrate().await?;
        }
        storage.check_table().await?;
        if !schema.migrate {
            let client = storage.client().await?;
            crate::migrate::check_postgres_version(&client, schema.allow_outdated).await?;
        }
        if let Some(listener) = listener {
            tokio::spawn(listen(
                listener,
                storage.inner.events.clone(),
                storage.inner.shutdown.clone(),
            ));
        }
        Ok(storage)
    }

    /// Applies the embedded migrations on a pooled connection (under the
    /// migrator's advisory lock; see [`crate::migrate`]).
    pub async fn migrate(&self) -> StorageResult<crate::migrate::MigrationReport> {
        let mut client = self.client().await?;
        let client: &mut tokio_postgres::Client = &mut client;
        Ok(crate::migrate::migrate_postgres(client).await?)
    }

    async fn check_table(&self) -> StorageResult<()> {
        let client = self.client().await?;
        let rows = client
            .query(crate::generated::pg_statements::TABLE_EXISTS, &[])
            .await
            .map_err(pg_err("table_exists"))?;
        if rows.is_empty() {
            return Err(StorageError::MissingTable {
                table: "task_executions".to_owned(),
            });
        }
        Ok(())
    }

    /// The plan of the claim's candidate scan (`EXPLAIN`, planned as the
    /// claim is: after `ordered_scans`), one line per plan node: it must stay
    /// an ordered index scan of the partial ready index however many finished
    /// rows the table holds and whatever its statistics say.
    pub async fn explain_claim(&self, now: Millis, limit: u32) -> StorageResult<String> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(pg_err("begin explain_claim_ready"))?;
        ordered_scans(&tx).await?;
        let rows = tx
            .query(
                crate::generated::pg_statements::EXPLAIN_CLAIM_READY,
                &[&now, &limit_i64(limit)],
            )
            .await
            .map_err(pg_err("explain_claim_ready"))?;
        tx.commit()
            .await
            .map_err(pg_err("commit explain_claim_ready"))?;
        let lines: Vec<String> = rows
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<_, _>>()
            .map_err(pg_err("explain_claim_ready"))?;
        Ok(lines.join("\n"))
    }

    /// The connection pool (for the caller's own transactions, see
    /// [`PostgresStorage::insert_in`]).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Inserts new `ready` executions inside the caller's transaction, so
    /// that they commit or roll back with the caller's own writes ("save the
    /// order and enqueue its task"). A `NOTIFY` is queued in the same
    /// transaction: PostgreSQL delivers it on commit (and drops it on
    /// rollback), so executors wake up exactly when the work is visible.
    ///
    /// The transaction's connection must see the table (same `search_path`
    /// as the storage; [`PostgresStorage::pool`] gives such connections).
    ///
    /// ```no_run
    /// # async fn demo(storage: &durable_execution::storage::PostgresStorage,
    /// #               execution: durable_execution::model::NewExecution) -> Result<(), Box<dyn std::error::Error>> {
    /// use durable_execution::storage::PostgresStorage;
    /// let mut client = storage.pool().get().await?;
    /// let tx = client.transaction().await?;
    /// tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&42_i32]).await?;
    /// PostgresStorage::insert_in(&tx, &[execution]).await?;
    /// tx.commit().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn insert_in(
        tx: &tokio_postgres::Transaction<'_>,
        executions: &[NewExecution],
    ) -> StorageResult<()> {
        if executions.is_empty() {
            return Ok(());
        }
        insert_on(tx, executions).await?;
        notify_on(tx, &[PAYLOAD_READY]).await
    }

    /// This storage's wake-ups.
    fn events(&self) -> &broadcast::Sender<StorageEvent> {
        &self.inner.events
    }

    fn emit(&self, event: StorageEvent) {
        // No receiver is not an error: nobody is listening yet.
        let _ = self.inner.events.send(event);
    }

    async fn client(&self) -> StorageResult<deadpool_postgres::Object> {
        self.inner
            .pool
            .get()
            .await
            .map_err(|e| pool_error(e, self.inner.tls.as_ref()))
    }

    /// Wakes local subscribers now and, through the coalescing notifier,
    /// every listening process (call after the change committed).
    fn announce(&self, event: StorageEvent) {
        self.emit(event);
        self.inner.notifier.request(event);
    }
}

/// The configuration of the `LISTEN` connection.
#[derive(Debug)]
struct Listener {
    config: tokio_postgres::Config,
    tls: tls::Tls,
}

/// Forwards the notifications of this schema's event channel to the broadcast channel,
/// reconnecting with backoff until `shutdown`.
async fn listen(
    listener: Listener,
    events: broadcast::Sender<StorageEvent>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            result = listen_once(&listener, &events, &shutdown) => result,
        };
        if shutdown.is_cancelled() {
            return;
        }
        match result {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                let e = connection_error(e, Some(&listener.tls.context));
                tracing::warn!(error = %e, "postgres listener failed; reconnecting");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// `name` as a double-quoted SQL identifier.
fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn listen_once(
    listener: &Listener,
    events: &broadcast::Sender<StorageEvent>,
    shutdown: &CancellationToken,
) -> Result<(), tokio_postgres::Error> {
    use futures::StreamExt as _;
    let mut config = listener.config.clone();
    config.application_name(LISTENER_APPLICATION_NAME);
    let (client, mut connection) = config.connect(listener.tls.connector.0.clone()).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stream = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    let driver = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(message) = stream.next().await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if tx.send(Ok(n.payload().to_owned())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    let result = async {
        // The channel of the table this connection's `search_path` finds
        // (one per schema, see the spec's `event_channel`), so that storages
        // in other schemas of the database never wake this one.
        let channel = pgq::event_channel().bind(&client).one().await?.channel;
        client
            .batch_execute(&format!("LISTEN {}", quote_identifier(&channel)))
            .await?;
        // Anything may have happened while we were not listening.
        for event in [
            StorageEvent::ReadyWork,
            StorageEvent::Changed,
            StorageEvent::CloseWork,
        ] {
            let _ = events.send(event);
        }
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                message = rx.recv() => match message {
                    Some(Ok(payload)) => {
                        for &event in payload_events(&payload) {
                            let _ = events.send(event);
                        }
                    }
                    Some(Err(e)) => return Err(e),
                    // The connection ended without an error: reconnect.
                    None => return Ok(()),
                },
            }
        }
    }
    .await;
    drop(client);
    driver.abort();
    result
}

/// Makes the rest of the transaction read partial indexes in their order
/// (see `ordered_scans` in spec/task_executions.yaml): claims and pages of
/// children then cost their own size whatever the table's statistics say.
async fn ordered_scans<C: PgClient>(tx: &C) -> StorageResult<()> {
    tx.batch(crate::generated::pg_statements::ORDERED_SCANS)
        .await
        .map_err(pg_err("ordered_scans"))
}

fn limit_i64(limit: u32) -> i64 {
    i64::from(limit)
}

/// A pooled connection or one of its transactions: what the generated
/// queries run on, plus the simple-protocol batch that `ordered_scans` uses
/// (one round trip, nothing prepared).
pub(crate) trait PgClient: GenericClient {
    /// `batch_execute`.
    fn batch(&self, sql: &str) -> impl Future<Output = Result<(), tokio_postgres::Error>> + Send;
}

impl PgClient for deadpool_postgres::Object {
    fn batch(&self, sql: &str) -> impl Future<Output = Result<(), tokio_postgres::Error>> + Send {
        self.batch_execute(sql)
    }
}

impl PgClient for deadpool_postgres::Transaction<'_> {
    fn batch(&self, sql: &str) -> impl Future<Output = Result<(), tokio_postgres::Error>> + Send {
        self.batch_execute(sql)
    }
}

/// The PostgreSQL [`Dialect`]: JSON parameters as `jsonb` values with NUL
/// replaced ([`pg_json`]), grouped values as text, and new executions
/// borrowed and encoded chunk by chunk inside the transaction.
#[derive(Debug)]
pub(crate) struct PgDialect;

impl Dialect for PgDialect {
    type Json = Value;
    type Chunk = std::convert::Infallible;
    const EARLY_WAIT_DUPLICATES: bool = false;
    type Stored = String;

    fn json(value: Value) -> Value {
        pg_json(value)
    }

    fn json_of<T: serde::Serialize>(what: &'static str, value: &T) -> StorageResult<Value> {
        serde_json::to_value(value)
            .map(pg_json)
            .map_err(|e| StorageError::Encode {
                what,
                message: e.to_string(),
            })
    }

    fn stored_text(value: &String) -> Option<&str> {
        Some(value)
    }

    fn display(value: &String) -> String {
        value.clone()
    }
}

/// New executions stay borrowed (see [`PgDialect`]).
fn borrow(executions: &[NewExecution]) -> StorageResult<Inserts<'_, std::convert::Infallible>> {
    Ok(Inserts::Rows(executions.iter().collect()))
}

/// A [`Queries`] method running one generated query and returning the ids
/// of its rows: `name(args) => Params { fields }`.
macro_rules! ids_query {
    ($query:ident($($arg:ident: $ty:ty),*) => $params:ident { $($init:tt)* }) => {
        async fn $query(&self, $($arg: $ty),*) -> StorageResult<Vec<String>> {
            pgq::$query()
                .params(self.client, &pgq::$params { $($init)* })
                .map(|r| r.execution_id.to_owned())
                .all()
                .await
                .map_err(pg_err(stringify!($query)))
        }
    };
}

/// The generated parameters of a listing query from [`ListParams`]
/// (`$extra`: the query's own leading fields).
macro_rules! list_params {
    ($params:ident, $p:expr, { $($extra:tt)* }) => {{
        let p = $p;
        pgq::$params {
            $($extra)*
            before_created_at: p.before_created_at,
            before_execution_id: p.before_execution_id.as_str(),
            created_from: p.created_from,
            created_to: p.created_to,
            any_finished: p.any_finished,
            finished_from: p.finished_from,
            finished_to: p.finished_to,
            task_id: p.task_id.as_str(),
            root_only: p.root_only,
            any_status: p.any_status,
            statuses: &p.statuses,
            limit: p.limit,
        }
    }};
}

/// The generated queries on `C` (a pooled connection or a transaction).
#[derive(Debug)]
pub(crate) struct Pg<'c, C> {
    client: &'c C,
}

impl<'c, C> Pg<'c, C> {
    fn new(client: &'c C) -> Self {
        Self { client }
    }
}

impl<C: PgClient> Queries for Pg<'_, C> {
    type Dialect = PgDialect;

    async fn insert(
        &self,
        batches: Vec<Inserts<'_, std::convert::Infallible>>,
    ) -> StorageResult<()> {
        let mut executions: Vec<&NewExecution> = Vec::new();
        for batch in batches {
            match batch {
                Inserts::Rows(rows) => executions.extend(rows),
                Inserts::Encoded(never) => {
                    if let Some(never) = never.into_iter().next() {
                        match never {}
                    }
                }
            }
        }
        insert_refs_on(self.client, &executions).await
    }

    async fn insert_new(&self, executions: &[NewExecution]) -> StorageResult<()> {
        insert_on(self.client, executions).await
    }

    async fn get_executions(&self, ids: Value) -> StorageResult<Rows> {
        let rows = pgq::get_executions()
            .bind(self.client, &ids)
            .all()
            .await
            .map_err(pg_err("get_executions"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    async fn get_children(&self, parent_execution_id: &str) -> StorageResult<Rows> {
        let rows = pgq::get_children()
            .bind(self.client, &parent_execution_id)
            .all()
            .await
            .map_err(pg_err("get_children"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    /// Inside the operation's transaction, after `ordered_scans`.
    async fn get_children_outputs(
        &self,
        parent_execution_id: &str,
        after_index: i32,
        limit: i64,
    ) -> StorageResult<Vec<Result<ChildOutput, CorruptRow>>> {
        ordered_scans(self.client).await?;
        let rows = pgq::get_children_outputs()
            .params(
                self.client,
                &pgq::GetChildrenOutputsParams {
                    parent_execution_id,
                    after_index,
                    limit,
                },
            )
            .all()
            .await
            .map_err(pg_err("get_children_outputs"))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                row::child_output(
                    r.execution_id,
                    i64::from(r.index_in_parent),
                    &r.status,
                    r.output,
                    r.error.map(row::RawJson::Value),
                )
            })
            .collect())
    }

    /// Inside the operation's transaction, pipelined with `ordered_scans`.
    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        lease_slack_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StorageResult<Rows> {
        let params = pgq::ClaimReadyParams {
            executor_id,
            now,
            lease_slack_ms,
            lease_ms,
            limit,
        };
        let claim = pgq::claim_ready();
        // Both are sent before either answer is awaited (tokio-postgres
        // pipelines the requests of one connection): one round trip, and
        // the server runs them in order.
        let (_, rows) = tokio::try_join!(ordered_scans(self.client), async {
            claim
                .params(self.client, &params)
                .all()
                .await
                .map_err(pg_err("claim_ready"))
        })?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    /// In autocommit: one statement, one round trip.
    async fn insert_claimed(
        &self,
        batch: Inserts<'_, std::convert::Infallible>,
        claim: ClaimParams<'_>,
    ) -> StorageResult<Rows> {
        let executions = match batch {
            Inserts::Rows(rows) => rows,
            Inserts::Encoded(never) => match never.into_iter().next() {
                Some(never) => match never {},
                None => Vec::new(),
            },
        };
        let rows = tokio_postgres::types::Json(row::insert_rows(
            executions.iter().copied(),
            row::Text::NoNul,
        )?);
        let params = pgq::InsertClaimedExecutionsParams {
            rows,
            executor_id: claim.executor_id,
            now: claim.now,
            lease_slack_ms: claim.lease_slack_ms,
            lease_ms: claim.lease_ms,
            limit: claim.limit,
        };
        let rows = pgq::insert_claimed_executions()
            .params(self.client, &params)
            .all()
            .await
            .map_err(pg_err("insert_claimed_executions"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    ids_query!(finish_executions(executor_id: &str, now: Millis, items: Value) => FinishExecutionsParams { executor_id, now, items });

    ids_query!(retry_executions(executor_id: &str, now: Millis, items: Value) => RetryExecutionsParams { executor_id, now, items });

    ids_query!(start_waiting(executor_id: &str, now: Millis, items: Value) => StartWaitingParams { executor_id, now, items });

    ids_query!(release_executions(executor_id: &str, now: Millis, items: Value) => ReleaseExecutionsParams { executor_id, now, items });

    ids_query!(heartbeat_executions(executor_id: &str, now: Millis, lease_ms: i64, items: Value) => HeartbeatExecutionsParams { executor_id, now, lease_ms, items });

    /// Inside the closer's transaction, after `ordered_scans`.
    async fn claim_unclosed(&self, now: Millis, limit: i64) -> StorageResult<Rows> {
        ordered_scans(self.client).await?;
        let rows = pgq::claim_unclosed()
            .params(self.client, &pgq::ClaimUnclosedParams { now, limit })
            .all()
            .await
            .map_err(pg_err("claim_unclosed"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    async fn lock_executions(&self, ids: Value) -> StorageResult<Vec<(String, String)>> {
        let rows = pgq::lock_executions()
            .bind(self.client, &ids)
            .all()
            .await
            .map_err(pg_err("lock_executions"))?;
        Ok(rows
            .into_iter()
            .map(|r| (r.execution_id, r.status))
            .collect())
    }

    async fn decrement_active_children(
        &self,
        now: Millis,
        items: Value,
    ) -> StorageResult<Vec<(String, i64)>> {
        let rows = pgq::decrement_active_children()
            .params(
                self.client,
                &pgq::DecrementActiveChildrenParams { now, items },
            )
            .all()
            .await
            .map_err(pg_err("decrement_active_children"))?;
        Ok(rows
            .into_iter()
            .map(|r| (r.execution_id, i64::from(r.active_children_count)))
            .collect())
    }

    async fn record_children_failures(&self, now: Millis, items: Value) -> StorageResult<()> {
        pgq::record_children_failures()
            .params(
                self.client,
                &pgq::RecordChildrenFailuresParams { now, items },
            )
            .all()
            .await
            .map_err(pg_err("record_children_failures"))?;
        Ok(())
    }

    ids_query!(complete_from_finalize(now: Millis, items: Value) => CompleteFromFinalizeParams { now, items });

    ids_query!(fail_from_finalize(now: Millis, items: Value) => FailFromFinalizeParams { now, items });

    ids_query!(cancel_subtrees(now: Millis, items: Value) => CancelSubtreesParams { now, items });

    async fn ready_parents(&self, limit: i64) -> StorageResult<Rows> {
        let rows = pgq::ready_parents()
            .bind(self.client, &limit)
            .all()
            .await
            .map_err(pg_err("ready_parents"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    ids_query!(advance_parents(now: Millis, items: Value) => AdvanceParentsParams { now, items });

    ids_query!(claim_cancellations(executor_id: &str, limit: i64) => ClaimCancellationsParams { executor_id, limit });

    async fn expire_leases(
        &self,
        now: Millis,
        error: Value,
        limit: i64,
    ) -> StorageResult<Vec<(String, String)>> {
        let rows = pgq::expire_leases()
            .params(self.client, &pgq::ExpireLeasesParams { now, error, limit })
            .all()
            .await
            .map_err(pg_err("expire_leases"))?;
        Ok(rows
            .into_iter()
            .map(|r| (r.execution_id, r.status))
            .collect())
    }

    ids_query!(expire_sleeping(now: Millis, error: Value, limit: i64) => ExpireSleepingParams { now, error, limit });

    async fn wake_sleeping(
        &self,
        task_id: &str,
        sleeping_key: &str,
        now: Millis,
        outcome: Value,
    ) -> StorageResult<Rows> {
        let params = pgq::WakeSleepingParams {
            outcome,
            now,
            sleeping_key,
            task_id,
        };
        let rows = pgq::wake_sleeping()
            .params(self.client, &params)
            .all()
            .await
            .map_err(pg_err("wake_sleeping"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    async fn get_by_sleeping_key(&self, task_id: &str, sleeping_key: &str) -> StorageResult<Rows> {
        let params = pgq::GetBySleepingKeyParams {
            sleeping_key,
            task_id,
        };
        let rows = pgq::get_by_sleeping_key()
            .params(self.client, &params)
            .all()
            .await
            .map_err(pg_err("get_by_sleeping_key"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    ids_query!(repair_missing_leases(now: Millis, lease_slack_ms: i64, limit: i64) => RepairMissingLeasesParams { now, lease_slack_ms, limit });

    ids_query!(fail_missing_finalize(now: Millis, error: Value, limit: i64) => FailMissingFinalizeParams { now, error, limit });

    /// `status` is text without a CHECK constraint: anything can be stored
    /// there (such a group is reported on its own).
    async fn count_by_task_and_status(&self) -> StorageResult<Vec<CountGroup<String>>> {
        let counts = pgq::count_by_task_and_status()
            .bind(self.client)
            .all()
            .await
            .map_err(pg_err("count_by_task_and_status"))?;
        Ok(counts
            .into_iter()
            .map(|c| CountGroup {
                task_id: c.task_id,
                status: c.status,
                count: c.count,
                typed: true,
            })
            .collect())
    }

    async fn example_execution(
        &self,
        task_id: &String,
        status: &String,
    ) -> StorageResult<Option<String>> {
        self.client
            .query_opt(
                crate::generated::pg_statements::EXAMPLE_EXECUTION,
                &[task_id, status],
            )
            .await
            .map_err(pg_err("example_execution"))?
            .map(|row| row.try_get::<_, String>(0))
            .transpose()
            .map_err(pg_err("example_execution"))
    }

    async fn oldest_ready(&self) -> StorageResult<Option<Millis>> {
        Ok(pgq::oldest_ready()
            .bind(self.client)
            .opt()
            .await
            .map_err(pg_err("oldest_ready"))?
            .and_then(|r| r.oldest_start_at))
    }

    async fn count_expired_leases(&self, now: Millis) -> StorageResult<Option<i64>> {
        pgq::count_expired_leases()
            .bind(self.client, &now)
            .one()
            .await
            .map_err(pg_err("count_expired_leases"))
            .map(|r| Some(r.count))
    }

    async fn count_stuck(&self) -> StorageResult<Option<(i64, i64)>> {
        let stuck = pgq::count_stuck()
            .bind(self.client)
            .one()
            .await
            .map_err(pg_err("count_stuck"))?;
        Ok(Some((stuck.running_without_lease, stuck.missing_finalize)))
    }

    async fn list_executions(&self, p: &ListParams<Value>) -> StorageResult<Rows> {
        let rows = pgq::list_executions()
            .params(self.client, &list_params!(ListExecutionsParams, p, {}))
            .all()
            .await
            .map_err(pg_err("list_executions"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    async fn list_children_of(
        &self,
        parent_execution_id: &str,
        p: &ListParams<Value>,
    ) -> StorageResult<Rows> {
        let params = list_params!(ListChildrenOfParams, p, { parent_execution_id, });
        let rows = pgq::list_children_of()
            .params(self.client, &params)
            .all()
            .await
            .map_err(pg_err("list_children_of"))?;
        Ok(rows.into_iter().map(|r| Ok(convert::raw(r))).collect())
    }

    ids_query!(rerun_root(execution_id: &str, now: Millis) => RerunRootParams { execution_id, now });

    async fn delete_descendants(&self, execution_id: &str) -> StorageResult<u64> {
        pgq::delete_descendants()
            .bind(self.client, &execution_id)
            .await
            .map_err(pg_err("delete_descendants"))
    }

    /// Inside the prune's transaction, pipelined with `ordered_scans` (the
    /// candidates are the first rows of the prunable index in its order).
    async fn prune_roots(
        &self,
        status: &str,
        finished_before: Millis,
        after: (Millis, i64),
        limit: i64,
    ) -> StorageResult<Vec<PrunedRoot>> {
        let params = pgq::PruneRootsParams {
            status,
            finished_before,
            after_finished_at: after.0,
            after_id: after.1,
            limit,
        };
        let delete = pgq::prune_roots();
        let (_, roots) = tokio::try_join!(ordered_scans(self.client), async {
            delete
                .params(self.client, &params)
                .map(|r| PrunedRoot::new(r.execution_id.to_owned(), r.finished_at, r.id))
                .all()
                .await
                .map_err(pg_err("prune_roots"))
        })?;
        Ok(roots)
    }

    async fn count_prunable(
        &self,
        status: &str,
        finished_before: Millis,
        after: (Millis, i64),
        limit: i64,
    ) -> StorageResult<(i64, i64)> {
        let params = pgq::CountPrunableParams {
            status,
            finished_before,
            after_finished_at: after.0,
            after_id: after.1,
            limit,
        };
        let counts = pgq::count_prunable()
            .params(self.client, &params)
            .one()
            .await
            .map_err(pg_err("count_prunable"))?;
        Ok((counts.roots, counts.executions))
    }

    async fn delete_pruned_descendants(&self, ids: Value) -> StorageResult<u64> {
        pgq::delete_pruned_descendants()
            .bind(self.client, &ids)
            .await
            .map_err(pg_err("delete_pruned_descendants"))
    }

    async fn delete_all(&self) -> StorageResult<u64> {
        pgq::delete_all_executions()
            .bind(self.client)
            .await
            .map_err(pg_err("delete_all_executions"))
    }
}

impl PostgresStorage {
    /// Runs an engine operation ([`engine`]) on a pooled connection: in one
    /// transaction when [`Op::transaction`] says so, otherwise in
    /// autocommit (one round trip for a single statement); then announces
    /// its wake-ups (after the commit). `None` (nothing to do) returns the
    /// default output without taking a connection.
    async fn run<O: Op<PgDialect>>(&self, op: Option<O>) -> StorageResult<O::Output> {
        let Some(op) = op else {
            return Ok(O::Output::default());
        };
        let mut client = self.client().await?;
        let output = if op.transaction() {
            let tx = client.transaction().await.map_err(pg_err(O::BEGIN))?;
            let output = op.run(&Pg::new(&tx)).await?;
            tx.commit().await.map_err(pg_err(O::COMMIT))?;
            output
        } else {
            op.run(&Pg::new(&client)).await?
        };
        for event in O::wakeups(&output).events() {
            self.announce(event);
        }
        Ok(output)
    }
}

sql_storage!(PostgresStorage, "postgres", borrow);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_round_sends_every_requested_kind_once() {
        let notifier = Notifier::default();
        assert!(notifier.take().is_empty());
        notifier.request(StorageEvent::Changed);
        notifier.request(StorageEvent::ReadyWork);
        notifier.request(StorageEvent::Changed);
        assert_eq!(notifier.take(), [PAYLOAD_READY, PAYLOAD_CHANGED]);
        assert!(notifier.take().is_empty(), "a round clears its requests");
        // A close request stands for the change too.
        notifier.request(StorageEvent::Changed);
        notifier.request(StorageEvent::CloseWork);
        assert_eq!(notifier.take(), [PAYLOAD_CLOSE]);
    }

    #[test]
    fn payloads_map_to_events_and_unknown_ones_to_a_change_to_close() {
        assert_eq!(payload_events(PAYLOAD_READY), [StorageEvent::ReadyWork]);
        assert_eq!(payload_events(PAYLOAD_CHANGED), [StorageEvent::Changed]);
        let close = [StorageEvent::Changed, StorageEvent::CloseWork];
        assert_eq!(payload_events(PAYLOAD_CLOSE), close);
        assert_eq!(payload_events("from a later release"), close);
        // Every payload a round can send maps back to what was requested.
        let notifier = Notifier::default();
        for event in [
            StorageEvent::ReadyWork,
            StorageEvent::Changed,
            StorageEvent::CloseWork,
        ] {
            notifier.request(event);
        }
        let events: Vec<StorageEvent> = notifier
            .take()
            .into_iter()
            .flat_map(|p| payload_events(p).iter().copied())
            .collect();
        assert_eq!(
            events,
            [
                StorageEvent::ReadyWork,
                StorageEvent::Changed,
                StorageEvent::CloseWork
            ]
        );
    }
}
