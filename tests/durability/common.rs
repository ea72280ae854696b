//! Shared databases, executor options, worker processes and run logs.

use crate::support::{self, Harness, Kind};
use durable_execution::model::{ExecutionStatus, now_millis};
use durable_execution::storage::{
    PostgresConfig, PostgresStorage, SqliteOptions, SqliteStorage, Storage,
};
use durable_execution::{Definition, Executor, ExecutorOptions, ExecutorOptionsBuilder};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which backend a case runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

/// Connections per PostgreSQL handle: several handles and processes share
/// one server with other test binaries.
const PG_POOL: usize = 6;

/// One database shared by several storage handles (and processes): a
/// SQLite file in a temp directory or a PostgreSQL schema, dropped at the
/// end of the test.
#[derive(Debug)]
pub struct SharedDb {
    pub backend: Backend,
    harness: Harness,
}

impl SharedDb {
    /// A fresh, migrated, empty database.
    pub async fn new(backend: Backend) -> Self {
        let harness = match backend {
            Backend::Memory => support::memory_harness().await,
            Backend::Sqlite => support::sqlite_harness().await,
            Backend::Postgres => support::postgres_harness().await,
        };
        Self { backend, harness }
    }

    /// A new handle on the database with its own connections (the memory
    /// backend has only one object, shared).
    pub async fn handle(&self) -> Arc<dyn Storage> {
        match &self.harness.kind {
            Kind::Memory => Arc::clone(&self.harness.storage),
            _ => open_spec(&self.spec()).await,
        }
    }

    /// How another process opens this database (see [`open_spec`]).
    pub fn spec(&self) -> String {
        match &self.harness.kind {
            Kind::Memory => panic!("a memory database cannot be shared with another process"),
            Kind::Sqlite { path } => format!("sqlite:{}", path.display()),
            Kind::Postgres { schema, .. } => format!("postgres:{schema}"),
        }
    }

    /// Runs fixture SQL on the database (the SQL backends only).
    pub async fn exec_sql(&self, sql: &str) {
        self.harness.exec_sql(sql).await;
    }

    /// The SQLite file.
    pub fn sqlite_path(&self) -> &Path {
        match &self.harness.kind {
            Kind::Sqlite { path } => path,
            other => panic!("not a SQLite database: {other:?}"),
        }
    }

    /// The PostgreSQL server URL and schema.
    pub fn postgres_schema(&self) -> (&str, &str) {
        match &self.harness.kind {
            Kind::Postgres { url, schema } => (url, schema),
            other => panic!("not a PostgreSQL database: {other:?}"),
        }
    }
}

/// The configuration of a PostgreSQL handle on a test schema.
pub fn pg_config(url: &str, schema: &str) -> PostgresConfig {
    PostgresConfig::new(url).schema(schema).pool_size(PG_POOL)
}

/// Opens a handle on a database described by [`SharedDb::spec`]:
/// `sqlite:<path>` or `postgres:<schema>` (server from `DATABASE_URL`).
pub async fn open_spec(spec: &str) -> Arc<dyn Storage> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        Arc::new(
            SqliteStorage::open(path, SqliteOptions::default())
                .await
                .unwrap_or_else(|e| panic!("open {spec}: {e}")),
        )
    } else if let Some(schema) = spec.strip_prefix("postgres:") {
        Arc::new(
            PostgresStorage::connect(pg_config(&support::database_url(), schema))
                .await
                .unwrap_or_else(|e| panic!("connect {spec}: {e}")),
        )
    } else {
        panic!("bad database spec {spec}")
    }
}

/// Executor options with short intervals.
pub fn fast_options() -> ExecutorOptionsBuilder {
    ExecutorOptions::builder()
        .poll_interval(Duration::from_millis(20))
        .wait_poll_interval(Duration::from_millis(50))
        .error_backoff(Duration::from_millis(5), Duration::from_millis(100))
}

/// Polls `condition` every 10 ms until it holds; false after `timeout`.
pub async fn eventually(timeout: Duration, mut condition: impl AsyncFnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if condition().await {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Number of executions per status.
pub async fn status_counts(storage: &Arc<dyn Storage>) -> HashMap<ExecutionStatus, u64> {
    let stats = storage.stats(now_millis()).await.unwrap();
    let mut counts = HashMap::new();
    for (_task, status, count) in stats.counts {
        *counts.entry(status).or_default() += count;
    }
    counts
}

// ---------------------------------------------------------------------------
// Worker processes.

/// The database spec of a worker process; its presence makes [`crate::worker`] run.
pub const WORKER_ENV: &str = "DURABLE_WORKER";
const MODE_ENV: &str = "DURABLE_WORKER_MODE";
const DIR_ENV: &str = "DURABLE_WORKER_DIR";
const NAME_ENV: &str = "DURABLE_WORKER_NAME";

/// What a worker process was started for.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The database ([`open_spec`]).
    pub db: String,
    /// Which worker to run.
    pub mode: String,
    /// Directory for the run log and the ready/go/stop files.
    pub dir: PathBuf,
    /// This worker's name (file names).
    pub name: String,
}

impl WorkerConfig {
    /// The usual worker: opens the database, starts an executor with
    /// `options` and the one `task`, tells the parent it is ready and runs
    /// until the parent's `stop` file (at most `deadline`, which only bounds
    /// the life of a worker whose parent died; most are killed long
    /// before). Returns the executor, still running.
    pub async fn run_task_until_stop<D: Definition + ?Sized>(
        &self,
        options: ExecutorOptions,
        task: &D,
        deadline: Duration,
    ) -> Executor {
        let storage = open_spec(&self.db).await;
        let executor = Executor::builder(storage)
            .options(options)
            .register(task)
            .build()
            .unwrap();
        executor.start().unwrap();
        self.signal_ready();
        self.wait_for_file("stop", deadline).await;
        executor
    }

    /// The configuration given by the parent test, `None` in a normal run.
    pub fn from_env() -> Option<Self> {
        let db = std::env::var(WORKER_ENV).ok()?;
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set for the worker"))
        };
        Some(Self {
            db,
            mode: var(MODE_ENV),
            dir: PathBuf::from(var(DIR_ENV)),
            name: var(NAME_ENV),
        })
    }

    /// This worker's run log.
    pub fn runs_path(&self) -> PathBuf {
        runs_path(&self.dir, &self.name)
    }

    /// Tells the parent that the executor is built.
    pub fn signal_ready(&self) {
        std::fs::write(self.dir.join(format!("{}.ready", self.name)), b"ready").unwrap();
    }

    /// Waits (at most `timeout`) for the parent's `name` file.
    pub async fn wait_for_file(&self, name: &str, timeout: Duration) {
        let path = self.dir.join(name);
        let found = eventually(timeout, async || path.exists()).await;
        assert!(
            found,
            "worker {}: no `{name}` file after {timeout:?}",
            self.name
        );
    }
}

/// The run log of worker `name` in `dir`.
pub fn runs_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.runs"))
}

/// Appends one line per run, straight to the file (no user-space buffer),
/// so that lines written before a SIGKILL are kept.
#[derive(Debug)]
pub struct RunLog(Mutex<std::fs::File>);

impl RunLog {
    pub fn create(path: &Path) -> Self {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        Self(Mutex::new(file))
    }

    /// Records a run: `<execution id> <attempt> <process id>`.
    pub fn record(&self, execution_id: &str, attempt: u32) {
        let line = format!("{execution_id} {attempt} {}\n", std::process::id());
        let mut file = self.0.lock().unwrap();
        file.write_all(line.as_bytes()).unwrap();
    }
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub execution_id: String,
    pub attempt: u32,
    pub pid: u32,
}

/// Reads a run log (missing file: no runs).
pub fn read_runs(path: &Path) -> Vec<Run> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|line| {
            let mut parts = line.split(' ');
            let mut next = || {
                parts
                    .next()
                    .unwrap_or_else(|| panic!("bad run log line `{line}`"))
            };
            Run {
                execution_id: next().to_owned(),
                attempt: next().parse().unwrap(),
                pid: next().parse().unwrap(),
            }
        })
        .collect()
}

/// A worker process: this test binary running only [`crate::worker`].
/// Killed when dropped (a failing test leaves no process behind).
#[derive(Debug)]
pub struct WorkerProcess {
    pub name: String,
    dir: PathBuf,
    child: tokio::process::Child,
}

/// Starts worker `name` in `mode` on the database `db`, with its files in
/// `dir`.
pub fn spawn_worker(db: &str, mode: &str, dir: &Path, name: &str) -> WorkerProcess {
    let exe = std::env::current_exe().unwrap();
    let stderr = std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap();
    let child = tokio::process::Command::new(exe)
        .args(["worker", "--exact", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, db)
        .env(MODE_ENV, mode)
        .env(DIR_ENV, dir)
        .env(NAME_ENV, name)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start worker process {name}: {e}"));
    WorkerProcess {
        name: name.to_owned(),
        dir: dir.to_owned(),
        child,
    }
}

impl WorkerProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("worker still running")
    }

    /// What the worker wrote to stderr (for failure messages).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("{}.stderr", self.name))).unwrap_or_default()
    }

    /// The worker's run log.
    pub fn runs(&self) -> Vec<Run> {
        read_runs(&runs_path(&self.dir, &self.name))
    }

    /// Panics with the worker's stderr if it exited.
    pub fn assert_alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "worker {} exited early ({status}):\n{}",
                self.name,
                self.stderr()
            );
        }
    }

    /// Waits until the worker signalled that its executor is built.
    pub async fn wait_ready(&mut self, timeout: Duration) {
        let path = self.dir.join(format!("{}.ready", self.name));
        let start = Instant::now();
        while !path.exists() {
            self.assert_alive();
            assert!(
                start.elapsed() < timeout,
                "worker {} not ready after {timeout:?}:\n{}",
                self.name,
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends SIGKILL and reaps the process.
    pub async fn kill(&mut self) -> ExitStatus {
        self.child.kill().await.unwrap();
        self.child.wait().await.unwrap()
    }

    /// Waits for the worker to exit on its own.
    pub async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!(
                "worker {} did not exit within {timeout:?}:\n{}",
                self.name,
                self.stderr()
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// Holding work back.

/// The file whose creation releases held runs (see [`wait_released`]).
pub fn release_path(dir: &Path) -> PathBuf {
    dir.join("release")
}

/// Holds a run until the parent test creates the `release` file in `dir`
/// (at most `timeout`, then the run fails the test): work held back so
/// that every participant has started a run before any run ends, instead
/// of assuming that claims are shared fairly.
pub async fn wait_released(dir: &Path, timeout: Duration) {
    let path = release_path(dir);
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < timeout,
            "runs not released after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Releases the runs held by [`wait_released`].
pub fn release(dir: &Path) {
    std::fs::write(release_path(dir), b"release").unwrap();
}
