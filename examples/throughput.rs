//! Measures how many trivial tasks per second one executor completes.
//!
//! ```text
//! cargo run --release --example throughput -- [memory|sqlite|postgres] [tasks] [concurrency]
//! ```
//!
//! PostgreSQL is reached through `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and uses the schema
//! `de_throughput`, emptied first.

use async_trait::async_trait;
use durable_execution::model::ExecutionStatus;
use durable_execution::model::{Loaded, Millis, NewExecution};
use durable_execution::storage::{
    AdvanceItem, CancelItem, CloseOutcome, ExpireOutcome, FinishItem, RetryItem, StorageEvent,
    StorageResult, StorageStats, StuckOutcome, WaitItem,
};
use durable_execution::storage::{
    MemoryStorage, PostgresConfig, PostgresStorage, SqliteOptions, SqliteStorage, Storage,
};
use durable_execution::{Executor, ExecutorOptions, Task, TaskContext, TaskError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts calls, rows and time per storage operation.
#[derive(Debug)]
struct Timed {
    inner: Arc<dyn Storage>,
    ops: Mutex<BTreeMap<&'static str, (u64, u64, Duration)>>,
}

impl Timed {
    fn record(&self, op: &'static str, rows: usize, elapsed: Duration) {
        let mut ops = self
            .ops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = ops.entry(op).or_default();
        entry.0 += 1;
        entry.1 += rows as u64;
        entry.2 += elapsed;
    }

    fn report(&self) {
        let ops = self
            .ops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (op, (calls, rows, total)) in ops.iter() {
            println!(
                "  {op:<20} calls {calls:>7} rows {rows:>8} total {total:>12.3?} mean {:>10.3?}",
                *total / u32::try_from(*calls).unwrap_or(u32::MAX).max(1)
            );
        }
    }
}

macro_rules! timed {
    ($self:ident, $op:literal, $rows:expr, $call:expr) => {{
        let start = Instant::now();
        let result = $call.await;
        let rows = match &result {
            Ok(value) => $rows(value),
            Err(_) => 0,
        };
        $self.record($op, rows, start.elapsed());
        result
    }};
}

#[async_trait]
impl Storage for Timed {
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        let n = executions.len();
        timed!(self, "insert", |_: &()| n, self.inner.insert(executions))
    }
    async fn get(&self, ids: &[String]) -> StorageResult<Vec<Loaded>> {
        timed!(self, "get", |v: &Vec<Loaded>| v.len(), self.inner.get(ids))
    }
    async fn get_children(&self, id: &str) -> StorageResult<Vec<Loaded>> {
        timed!(
            self,
            "get_children",
            |v: &Vec<Loaded>| v.len(),
            self.inner.get_children(id)
        )
    }
    async fn claim_ready(
        &self,
        e: &str,
        now: Millis,
        limit: u32,
        slack: u64,
    ) -> StorageResult<Vec<Loaded>> {
        timed!(
            self,
            "claim_ready",
            |v: &Vec<Loaded>| v.len(),
            self.inner.claim_ready(e, now, limit, slack)
        )
    }
    async fn finish(
        &self,
        e: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        timed!(
            self,
            "finish",
            |v: &Vec<String>| v.len(),
            self.inner.finish(e, now, items)
        )
    }
    async fn retry(&self, e: &str, now: Millis, items: &[RetryItem]) -> StorageResult<Vec<String>> {
        timed!(
            self,
            "retry",
            |v: &Vec<String>| v.len(),
            self.inner.retry(e, now, items)
        )
    }
    async fn wait_for_children(
        &self,
        e: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>> {
        timed!(
            self,
            "wait_for_children",
            |v: &Vec<String>| v.len(),
            self.inner.wait_for_children(e, now, items)
        )
    }
    async fn release(&self, e: &str, now: Millis, ids: &[String]) -> StorageResult<Vec<String>> {
        timed!(
            self,
            "release",
            |v: &Vec<String>| v.len(),
            self.inner.release(e, now, ids)
        )
    }
    async fn close_finished(&self, now: Millis, limit: u32) -> StorageResult<CloseOutcome> {
        timed!(
            self,
            "close_finished",
            |v: &CloseOutcome| v.closed.len(),
            self.inner.close_finished(now, limit)
        )
    }
    async fn ready_parents(&self, limit: u32) -> StorageResult<Vec<Loaded>> {
        timed!(
            self,
            "ready_parents",
            |v: &Vec<Loaded>| v.len(),
            self.inner.ready_parents(limit)
        )
    }
    async fn advance_parents(
        &self,
        now: Millis,
        items: &[AdvanceItem],
    ) -> StorageResult<Vec<String>> {
        timed!(
            self,
            "advance_parents",
            |v: &Vec<String>| v.len(),
            self.inner.advance_parents(now, items)
        )
    }
    async fn cancel(&self, now: Millis, items: &[CancelItem]) -> StorageResult<Vec<String>> {
        timed!(
            self,
            "cancel",
            |v: &Vec<String>| v.len(),
            self.inner.cancel(now, items)
        )
    }
    async fn claim_cancellations(&self, e: &str, limit: u32) -> StorageResult<Vec<String>> {
        timed!(
            self,
            "claim_cancellations",
            |v: &Vec<String>| v.len(),
            self.inner.claim_cancellations(e, limit)
        )
    }
    async fn expire_leases(&self, now: Millis, limit: u32) -> StorageResult<ExpireOutcome> {
        timed!(
            self,
            "expire_leases",
            |v: &ExpireOutcome| v.requeued.len() + v.failed.len(),
            self.inner.expire_leases(now, limit)
        )
    }
    async fn repair_stuck(
        &self,
        now: Millis,
        lease_slack_ms: u64,
        limit: u32,
    ) -> StorageResult<StuckOutcome> {
        self.inner.repair_stuck(now, lease_slack_ms, limit).await
    }
    async fn stats(&self, now: Millis) -> StorageResult<StorageStats> {
        timed!(self, "stats", |_: &StorageStats| 0, self.inner.stats(now))
    }
    async fn delete_all(&self) -> StorageResult<u64> {
        self.inner.delete_all().await
    }
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StorageEvent> {
        self.inner.subscribe()
    }
}

async fn storage(
    backend: &str,
) -> Result<(Arc<dyn Storage>, Option<tempfile::TempDir>), Box<dyn std::error::Error>> {
    Ok(match backend {
        "memory" => (Arc::new(MemoryStorage::new()), None),
        "sqlite" => {
            let dir = tempfile::tempdir()?;
            let storage =
                SqliteStorage::open(dir.path().join("tasks.db"), SqliteOptions::default()).await?;
            (Arc::new(storage), Some(dir))
        }
        "postgres" => {
            let url = std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            client
                .batch_execute("CREATE SCHEMA IF NOT EXISTS de_throughput")
                .await?;
            let storage = PostgresStorage::connect(
                PostgresConfig::new(url)
                    .schema("de_throughput")
                    .migrate(true)
                    .pool_size(16),
            )
            .await?;
            storage.delete_all().await?;
            (Arc::new(storage), None)
        }
        other => return Err(format!("unknown backend {other}").into()),
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "memory".to_owned());
    let total: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5000);
    let (inner, _dir) = storage(&backend).await?;
    let timed = Arc::new(Timed {
        inner,
        ops: Mutex::new(BTreeMap::new()),
    });
    let storage: Arc<dyn Storage> = timed.clone();
    let runs = Arc::new(AtomicU64::new(0));
    let r = runs.clone();
    let task = Task::new("trivial", move |_ctx: TaskContext, i: u64| {
        let r = r.clone();
        async move {
            r.fetch_add(1, Ordering::Relaxed);
            Ok::<_, TaskError>(i)
        }
    });
    let options = ExecutorOptions::builder()
        .max_concurrent_executions(concurrency)
        .max_batch(1024)
        .close_batch(4096)
        .write_batch(4096)
        .poll_interval(Duration::from_millis(50))
        .build()?;
    let executor = Executor::builder(storage.clone())
        .options(options)
        .register(&task)
        .build()?;
    let enqueue_start = Instant::now();
    let mut next = 0;
    while next < total {
        let end = (next + 10_000).min(total);
        executor.enqueue_many(&task, next..end).await?;
        next = end;
    }
    println!(
        "[{backend}] enqueued {total} in {:?}",
        enqueue_start.elapsed()
    );
    let start = Instant::now();
    executor.start()?;
    // Wait for every run, then for every result to be written (the stats
    // scan is not cheap, so it is not polled while tasks run).
    while runs.load(Ordering::Relaxed) < total {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ran = start.elapsed();
    loop {
        let stats = storage.stats(0).await?;
        let completed: u64 = stats
            .counts
            .iter()
            .filter(|(_, status, _)| *status == ExecutionStatus::Completed)
            .map(|(_, _, n)| n)
            .sum();
        if completed >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed();
    println!("[{backend}] all runs done after {ran:?}");
    println!(
        "[{backend}] completed {total} tasks ({} runs) in {elapsed:?}: {:.0} tasks/s",
        runs.load(Ordering::Relaxed),
        total as f64 / elapsed.as_secs_f64()
    );
    executor.shutdown(Duration::from_secs(5)).await?;
    timed.report();
    Ok(())
}
