//! Test database support shared by the integration test binaries
//! (`mod support;` from `tests/<binary>/main.rs` via `#[path]`).
//!
//! - [`memory_storage`], [`sqlite_storage`], [`postgres_storage`] return a
//!   fresh, empty, migrated storage as `Arc<dyn Storage>`; each call gets
//!   its own database (SQLite: a temp file; PostgreSQL: a new schema), so
//!   tests run in parallel.
//! - PostgreSQL is reached through `DATABASE_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/test`). When no server answers the
//!   test FAILS with a message saying so: it is never skipped.
//! - [`Harness`] adds what the conformance suite needs besides the
//!   storage: a second handle on the same database and raw fixture SQL.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod cluster;
pub mod unwritable;

use durable_execution::storage::{
    MemoryStorage, PostgresConfig, PostgresStorage, SqliteOptions, SqliteStorage, Storage,
    StorageEvent, StorageWrapper,
};
use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The PostgreSQL server used by the tests.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Which backend a [`Harness`] runs on.
#[derive(Debug, Clone)]
pub enum Kind {
    /// [`MemoryStorage`].
    Memory,
    /// [`SqliteStorage`] on this file.
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// [`PostgresStorage`] in this schema.
    Postgres {
        /// Server URL.
        url: String,
        /// The test's own schema.
        schema: String,
    },
}

/// A storage under test plus what the suite needs around it.
#[derive(Debug, Clone)]
pub struct Harness {
    /// The storage.
    pub storage: Arc<dyn Storage>,
    /// Its backend.
    pub kind: Kind,
    guard: Arc<dyn Any + Send + Sync>,
}

impl std::ops::Deref for Harness {
    type Target = dyn Storage;
    fn deref(&self) -> &Self::Target {
        &*self.storage
    }
}

impl Harness {
    /// Another handle on the same database (its own connections); the same
    /// object for the memory backend.
    pub async fn reopen(&self) -> Arc<dyn Storage> {
        match &self.kind {
            Kind::Memory => Arc::clone(&self.storage),
            Kind::Sqlite { path } => Arc::new(
                SqliteStorage::open(path, SqliteOptions::default())
                    .await
                    .expect("reopen sqlite"),
            ),
            Kind::Postgres { url, schema } => Arc::new(
                PostgresStorage::connect(pg_config(url, schema))
                    .await
                    .expect("reopen postgres"),
            ),
        }
    }

    /// Runs fixture SQL directly on the database (corrupting rows etc.).
    pub async fn exec_sql(&self, sql: &str) {
        match &self.kind {
            Kind::Memory => panic!("the memory backend has no SQL"),
            Kind::Sqlite { path } => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .unwrap();
                conn.execute_batch(sql).unwrap();
            }
            Kind::Postgres { url, schema } => {
                let client = pg_client(url).await;
                client
                    .batch_execute(&format!("SET search_path TO {schema}; {sql}"))
                    .await
                    .unwrap();
            }
        }
    }

    /// Waits until a freshly subscribed receiver of a PostgreSQL storage has
    /// seen its listener come up (it announces itself once `LISTEN` is
    /// active, one event per kind, `ReadyWork` first), then drains it until
    /// 200 ms pass without an event, so that a later event can only come
    /// from a notification. A no-op for the other backends.
    pub async fn settle(&self, rx: &mut tokio::sync::broadcast::Receiver<StorageEvent>) {
        if let Kind::Postgres { .. } = self.kind {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await;
            while let Ok(Ok(_)) =
                tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await
            {
            }
        }
    }

    /// Whether the backend is SQL (fixture SQL allowed).
    pub fn is_sql(&self) -> bool {
        !matches!(self.kind, Kind::Memory)
    }

    /// What keeps the temp file / schema alive (until its last clone is
    /// dropped).
    pub fn guard(&self) -> Arc<dyn Any + Send + Sync> {
        Arc::clone(&self.guard)
    }
}

fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// A [`PostgresConfig`] for a test schema.
pub fn pg_config(url: &str, schema: &str) -> PostgresConfig {
    PostgresConfig::new(url).schema(schema).pool_size(12)
}

/// A plain client on the test server; panics with a clear message when no
/// server answers.
pub async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = match tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        Ok(pair) => pair,
        Err(e) => panic!(
            "cannot reach the PostgreSQL test server at {url} ({e}). Start it \
             (`pg_ctlcluster --skip-systemctl-redirect 15 main start`) or point DATABASE_URL at one; \
             PostgreSQL tests are never skipped"
        ),
    };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// Drops a test schema when the last handle goes away.
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    let handle = tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .await;
                    drop(client);
                    let _ = handle.await;
                }
            });
        })
        .join();
    }
}

/// A harness on a fresh memory storage.
pub async fn memory_harness() -> Harness {
    Harness {
        storage: Arc::new(MemoryStorage::new()),
        kind: Kind::Memory,
        guard: Arc::new(()),
    }
}

/// A harness on a fresh SQLite file in a temp directory.
pub async fn sqlite_harness() -> Harness {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tasks.db");
    let storage = SqliteStorage::open(&path, SqliteOptions::default())
        .await
        .expect("open sqlite");
    Harness {
        storage: Arc::new(storage),
        kind: Kind::Sqlite { path },
        guard: Arc::new(dir),
    }
}

/// Creates a fresh, empty schema and returns its name.
pub async fn fresh_schema() -> (String, Arc<dyn Any + Send + Sync>) {
    let url = database_url();
    let schema = unique("de_test");
    let client = pg_client(&url).await;
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create test schema");
    let guard = Arc::new(SchemaGuard {
        url,
        schema: schema.clone(),
    });
    (schema, guard)
}

/// A harness on a fresh, migrated PostgreSQL schema.
pub async fn postgres_harness() -> Harness {
    let url = database_url();
    let (schema, guard) = fresh_schema().await;
    let storage = PostgresStorage::connect(pg_config(&url, &schema).migrate(true))
        .await
        .expect("connect postgres");
    Harness {
        storage: Arc::new(storage),
        kind: Kind::Postgres { url, schema },
        guard,
    }
}

/// A fresh [`MemoryStorage`].
pub async fn memory_storage() -> Arc<dyn Storage> {
    memory_harness().await.storage
}

/// A fresh SQLite storage on a temp file, deleted with the last handle.
pub async fn sqlite_storage() -> Arc<dyn Storage> {
    Arc::new(Guarded::from(sqlite_harness().await))
}

/// A fresh PostgreSQL storage in its own schema, dropped with the last handle.
pub async fn postgres_storage() -> Arc<dyn Storage> {
    Arc::new(Guarded::from(postgres_harness().await))
}

/// A storage that keeps its temp file / schema alive.
#[derive(Debug)]
struct Guarded {
    storage: Arc<dyn Storage>,
    _guard: GuardBox,
}

struct GuardBox(Arc<dyn Any + Send + Sync>);

impl std::fmt::Debug for GuardBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GuardBox")
    }
}

impl From<Harness> for Guarded {
    fn from(h: Harness) -> Self {
        Self {
            storage: h.storage,
            _guard: GuardBox(h.guard),
        }
    }
}

impl StorageWrapper for Guarded {
    const FORWARD_INSERT_AND_CLAIM: bool = true;

    fn inner(&self) -> &dyn Storage {
        &*self.storage
    }
}
