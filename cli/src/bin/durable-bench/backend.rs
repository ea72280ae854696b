//! Fresh storages per run, and a storage wrapper that counts calls.

use anyhow::{Context as _, Result};
use durable_execution::storage::{
    MemoryStorage, MethodName, PostgresConfig, PostgresStorage, SqliteOptions, SqliteStorage,
    Storage, StorageWrapper,
};
use futures::future::BoxFuture;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A backend to benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Backend {
    /// The in-process storage.
    Memory,
    /// A SQLite file in the temporary directory.
    Sqlite,
    /// A fresh schema in the PostgreSQL database of `--database-url`.
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// One fresh, migrated, empty storage; cleaned up by [`Fresh::cleanup`].
pub(crate) struct Fresh {
    pub(crate) storage: Arc<CountingStorage>,
    cleanup: Cleanup,
}

enum Cleanup {
    Nothing,
    File(PathBuf),
    Schema { url: String, schema: String },
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Fresh {
    /// Creates the storage of `backend` (PostgreSQL at `pg_url`).
    pub(crate) async fn new(backend: Backend, pg_url: &str) -> Result<Self> {
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let tag = format!("durable_bench_{}_{seq}", std::process::id());
        let (storage, cleanup): (Arc<dyn Storage>, Cleanup) = match backend {
            Backend::Memory => (Arc::new(MemoryStorage::new()), Cleanup::Nothing),
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{tag}.sqlite3"));
                remove_sqlite(&path);
                let storage = SqliteStorage::open(&path, SqliteOptions::default())
                    .await
                    .with_context(|| format!("cannot open SQLite file {}", path.display()))?;
                (Arc::new(storage), Cleanup::File(path))
            }
            Backend::Postgres => {
                let client = pg_client(pg_url).await?;
                client
                    .batch_execute(&format!("CREATE SCHEMA {tag}"))
                    .await
                    .context("cannot create the benchmark schema")?;
                let storage = PostgresStorage::connect(
                    PostgresConfig::new(pg_url)
                        .schema(&tag)
                        .migrate(true)
                        .pool_size(pool_size()),
                )
                .await
                .context("cannot connect the PostgreSQL storage")?;
                (
                    Arc::new(storage),
                    Cleanup::Schema {
                        url: pg_url.to_owned(),
                        schema: tag,
                    },
                )
            }
        };
        Ok(Self {
            storage: Arc::new(CountingStorage::new(storage)),
            cleanup,
        })
    }

    /// Runs `ANALYZE` on the PostgreSQL table (a diagnostic switched on by
    /// `DURABLE_BENCH_ANALYZE`: fresh statistics change the plans of the
    /// batched updates); does nothing on other backends.
    pub(crate) async fn analyze(&self) -> Result<()> {
        if let Cleanup::Schema { url, schema } = &self.cleanup {
            let client = pg_client(url).await?;
            client
                .batch_execute(&format!("ANALYZE {schema}.task_executions"))
                .await
                .context("cannot analyze the benchmark table")?;
        }
        Ok(())
    }

    /// The PostgreSQL server URL and schema of the storage, if it is one.
    pub(crate) fn postgres_schema(&self) -> Option<(&str, &str)> {
        match &self.cleanup {
            Cleanup::Schema { url, schema } => Some((url, schema)),
            _ => None,
        }
    }

    /// The SQLite file of this storage, if it is one.
    pub(crate) fn sqlite_path(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::File(path) => Some(path),
            _ => None,
        }
    }

    /// The PostgreSQL schema of this storage, if it is one.
    pub(crate) fn pg_schema(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Schema { schema, .. } => Some(schema),
            _ => None,
        }
    }

    /// Drops the file or schema.
    pub(crate) async fn cleanup(self) -> Result<()> {
        drop(self.storage);
        match self.cleanup {
            Cleanup::Nothing => {}
            Cleanup::File(path) => remove_sqlite(&path),
            Cleanup::Schema { url, schema } => {
                let client = pg_client(&url).await?;
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await
                    .context("cannot drop the benchmark schema")?;
            }
        }
        Ok(())
    }
}

fn remove_sqlite(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(name));
    }
}

/// A plain client for schema management, with the storage's connection
/// settings (TLS included); the password never shows in the error.
pub(crate) async fn pg_client(url: &str) -> Result<tokio_postgres::Client> {
    PostgresConfig::new(url)
        .connect_client()
        .await
        .with_context(|| {
            format!(
                "PostgreSQL is unreachable at {}",
                durable_execution::storage::postgres::redact_connection_string(url)
            )
        })
}

/// Counters of one [`CountingStorage`].
#[derive(Debug, Default)]
pub(crate) struct Calls {
    /// Storage calls (every method but `subscribe` and `backend_name`).
    pub(crate) count: AtomicU64,
    /// Total time spent inside storage calls, in microseconds.
    pub(crate) micros: AtomicU64,
    /// Per method: `(calls, microseconds, max microseconds)`.
    per_method: Mutex<BTreeMap<&'static str, (u64, u64, u64)>>,
}

/// Wraps a storage and counts its calls and the time spent in them.
#[derive(Debug)]
pub(crate) struct CountingStorage {
    inner: Arc<dyn Storage>,
    pub(crate) calls: Calls,
}

impl CountingStorage {
    fn new(inner: Arc<dyn Storage>) -> Self {
        Self {
            inner,
            calls: Calls::default(),
        }
    }

    /// `(calls, mean call time in µs)` so far.
    pub(crate) fn snapshot(&self) -> (u64, u64) {
        (
            self.calls.count.load(Ordering::Relaxed),
            self.calls.micros.load(Ordering::Relaxed),
        )
    }

    /// One line per method: `name calls×mean(max)`, busiest first.
    pub(crate) fn per_method(&self) -> String {
        let map = self
            .calls
            .per_method
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        let mut entries: Vec<_> = map.into_iter().collect();
        entries.sort_by_key(|(_, (_, micros, _))| std::cmp::Reverse(*micros));
        entries
            .iter()
            .map(|(name, (calls, micros, max))| {
                format!(
                    "{name} {calls}× {:.2} ms (max {:.1} ms, total {:.0} ms)",
                    *micros as f64 / 1000.0 / (*calls).max(1) as f64,
                    *max as f64 / 1000.0,
                    *micros as f64 / 1000.0
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn timed<T>(&self, name: &'static str, call: impl std::future::Future<Output = T>) -> T {
        let start = Instant::now();
        let out = call.await;
        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.calls.count.fetch_add(1, Ordering::Relaxed);
        self.calls.micros.fetch_add(micros, Ordering::Relaxed);
        if let Ok(mut map) = self.calls.per_method.lock() {
            let entry = map.entry(name).or_default();
            entry.0 += 1;
            entry.1 += micros;
            entry.2 = entry.2.max(micros);
        }
        out
    }
}

impl StorageWrapper for CountingStorage {
    const FORWARD_INSERT_AND_CLAIM: bool = true;

    fn inner(&self) -> &dyn Storage {
        &*self.inner
    }
    fn around<'a, T: Send + 'a>(
        &'a self,
        method: MethodName,
        call: BoxFuture<'a, T>,
    ) -> BoxFuture<'a, T> {
        Box::pin(self.timed(method, call))
    }
}

/// Pool size of the PostgreSQL storage (`DURABLE_BENCH_PG_POOL`, default 16
/// like the library).
fn pool_size() -> usize {
    std::env::var("DURABLE_BENCH_PG_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}
