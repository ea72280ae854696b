//! The `db-cost` case (PostgreSQL only): what one task's lifecycle costs the
//! database, and whether it stays the same when executors scale out.
//!
//! One run: a fresh schema; `P` executor processes (this program re-run
//! with `--child-worker <schema>`, each with its own pool) plus `L` idle
//! connections that only `LISTEN` on the schema's channel (standing for
//! idle executors elsewhere: they receive every `NOTIFY`); once every
//! worker reported ready, the parent enqueues N trivial tasks with
//! `enqueue_many` and waits until none is ready, running or unclosed (index
//! probes, cheap whatever the table holds). Measured between the two
//! snapshots, per task:
//!
//! - **server CPU**: `utime + stime` of the server's processes (the
//!   postmaster and its children, found from `data_directory/postmaster.pid`;
//!   on a shared server this includes other users' backends);
//! - **WAL bytes**: the difference of `pg_current_wal_lsn()` (whole cluster);
//! - **commits**: `xact_commit` of the database in `pg_stat_database`;
//! - **row versions**: `n_tup_ins + n_tup_upd` of the schema's table in
//!   `pg_stat_user_tables`, and the share of HOT updates (`n_tup_hot_upd`);
//! - **NOTIFYs**: notifications one listening connection received.
//!
//! The CPU and WAL snapshots are taken when the last task completed; the
//! statistics (flushed by backends asynchronously) after the workers
//! exited and their connections closed, which flushes them.

use crate::backend::{Backend, Fresh, pg_client};
use anyhow::{Context as _, Result, bail, ensure};
use durable_execution::storage::{PostgresConfig, PostgresStorage};
use durable_execution::{Executor, Task, TaskContext, TaskError};
use std::fmt::Write as _;
use std::io::{BufRead as _, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The line a worker prints once its executor runs.
const READY_LINE: &str = "durable-bench-worker-ready";

/// Task id of the trivial task (the workers register it, the parent
/// enqueues it).
const TASK_ID: &str = "bench_cost_trivial";

fn trivial() -> Task<u64, u64> {
    Task::new(TASK_ID, |_ctx: TaskContext, i: u64| async move {
        Ok::<_, TaskError>(i)
    })
}

/// Sizes of the case.
#[derive(Debug, Clone)]
pub(crate) struct CostSize {
    /// Tasks per run.
    pub(crate) n: u64,
    /// Executor process counts to run, each a row group.
    pub(crate) processes: Vec<usize>,
    /// Idle `LISTEN` connections besides the workers.
    pub(crate) idle_listeners: usize,
}

/// What one run measured, per task.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    cpu_ms: f64,
    wal_bytes: f64,
    commits: f64,
    row_versions: f64,
    hot_share: f64,
    notifies: f64,
    tasks_per_s: f64,
}

/// Counters of the server at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct ServerSnapshot {
    ticks: u64,
    lsn: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct TableStats {
    commits: i64,
    ins: i64,
    upd: i64,
    hot: i64,
}

/// The postmaster's pid (first line of `postmaster.pid`).
async fn postmaster_pid(client: &tokio_postgres::Client) -> Result<Option<u32>> {
    let dir: String = client.query_one("SHOW data_directory", &[]).await?.get(0);
    Ok(std::fs::read_to_string(format!("{dir}/postmaster.pid"))
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse().ok()))
}

/// CPU ticks of `postmaster` and its children.
fn server_ticks(postmaster: Option<u32>) -> u64 {
    let Some(postmaster) = postmaster else {
        return crate::measure::CpuSnapshot::now().postgres;
    };
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ppid: u32 = fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0);
        if pid != postmaster && ppid != postmaster {
            continue;
        }
        let utime: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0);
        let stime: u64 = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        total += utime + stime;
    }
    total
}

async fn server_snapshot(
    client: &tokio_postgres::Client,
    postmaster: Option<u32>,
) -> Result<ServerSnapshot> {
    let lsn: i64 = client
        .query_one("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint", &[])
        .await?
        .get(0);
    Ok(ServerSnapshot {
        ticks: server_ticks(postmaster),
        lsn,
    })
}

async fn table_stats(client: &tokio_postgres::Client, schema: &str) -> Result<TableStats> {
    let commits: i64 = client
        .query_one(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await?
        .get(0);
    let row = client
        .query_opt(
            "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables \
             WHERE schemaname = $1 AND relname = 'task_executions'",
            &[&schema],
        )
        .await?;
    let (ins, upd, hot) = row.map_or((0, 0, 0), |r| (r.get(0), r.get(1), r.get(2)));
    Ok(TableStats {
        commits,
        ins,
        upd,
        hot,
    })
}

/// Idle connections that `LISTEN` on the schema's channel; the first counts
/// what it receives.
struct Listeners {
    counted: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Listeners {
    async fn open(pg_url: &str, schema: &str, count: usize) -> Result<Self> {
        let counted = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let channel = format!("\"task_executions_events_{schema}\"");
        for i in 0..count.max(1) {
            let config: tokio_postgres::Config = pg_url.parse().context("bad --postgres-url")?;
            let (client, mut connection) = config.connect(tokio_postgres::NoTls).await?;
            let counter = (i == 0).then(|| counted.clone());
            let task = tokio::spawn(async move {
                let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                use futures::StreamExt as _;
                while let Some(Ok(message)) = messages.next().await {
                    if let (tokio_postgres::AsyncMessage::Notification(_), Some(c)) =
                        (message, &counter)
                    {
                        c.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            client.batch_execute(&format!("LISTEN {channel}")).await?;
            // Keep the client alive with its connection task.
            tasks.push(tokio::spawn(async move {
                let _client = client;
                std::future::pending::<()>().await;
            }));
            tasks.push(task);
        }
        Ok(Self { counted, tasks })
    }

    fn close(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Starts `count` worker processes on `schema` and waits until each one
/// reported ready.
fn start_workers(pg_url: &str, schema: &str, count: usize) -> Result<Vec<Child>> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let mut children = Vec::new();
    for _ in 0..count {
        let child = Command::new(&exe)
            .args(["--postgres-url", pg_url, "--child-worker", schema])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start a worker process")?;
        children.push(child);
    }
    for child in &mut children {
        let stdout = child.stdout.take().context("worker stdout")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        ensure!(
            line.trim() == READY_LINE,
            "a worker process did not start: {line:?}"
        );
    }
    Ok(children)
}

/// Closes the workers' stdin (their signal to shut down) and waits for them.
fn stop_workers(children: Vec<Child>) -> Result<()> {
    for mut child in children {
        drop(child.stdin.take());
        let status = child.wait()?;
        ensure!(status.success(), "a worker process failed ({status})");
    }
    Ok(())
}

/// The `--child-worker` process: an executor on `schema` until stdin closes.
pub(crate) async fn worker(pg_url: &str, schema: &str) -> Result<()> {
    let storage = PostgresStorage::connect(
        PostgresConfig::new(pg_url)
            .schema(schema)
            .migrate(false)
            .pool_size(worker_pool()),
    )
    .await
    .context("the worker cannot connect")?;
    let task = trivial();
    // `DURABLE_BENCH_WORKER_POLL_MS` overrides the poll interval (100 ms in
    // every other case) to show what the idle polling costs.
    let mut options = crate::cases::options_builder();
    if let Some(ms) = std::env::var("DURABLE_BENCH_WORKER_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options = options.poll_interval(Duration::from_millis(ms));
    }
    let executor = Executor::builder(storage)
        .options(options.build()?)
        .register(&task)
        .build()?;
    executor.start()?;
    println!("{READY_LINE}");
    std::io::stdout().flush()?;
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    })
    .await?;
    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

/// Pool size of each worker (`DURABLE_BENCH_PG_POOL`, default 4 here: 16
/// workers × 16 connections would exceed a default server's 100).
fn worker_pool() -> usize {
    std::env::var("DURABLE_BENCH_PG_POOL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

/// Enqueues `n` runs of `task` (5,000 per `enqueue_many`) and waits until
/// no execution is ready, running or waiting for its close. The wait
/// probes the partial indexes of those states (`ix_task_executions_ready`,
/// `_leases`, `_unclosed`): every probe is a statement on the measured
/// server, so it must cost next to nothing whatever the table holds.
async fn enqueue_and_wait(
    enqueuer: &Executor,
    task: &Task<u64, u64>,
    check: &tokio_postgres::Client,
    schema: &str,
    n: u64,
) -> Result<()> {
    let mut next = 0;
    while next < n {
        let end = (next + 5_000).min(n);
        enqueuer.enqueue_many(task, next..end).await?;
        next = end;
    }
    let probe = format!(
        "SELECT EXISTS (SELECT 1 FROM {schema}.task_executions WHERE status = 'ready') \
            OR EXISTS (SELECT 1 FROM {schema}.task_executions WHERE status = 'running') \
            OR EXISTS (SELECT 1 FROM {schema}.task_executions WHERE is_closed = false \
                AND status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled'))"
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let busy: bool = check.query_one(&probe, &[]).await?.get(0);
        if !busy {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the {n} tasks did not all finish and close within 300 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One run with `processes` workers.
async fn run_once(pg_url: &str, size: &CostSize, processes: usize) -> Result<Cost> {
    let fresh = Fresh::new(Backend::Postgres, pg_url).await?;
    let schema = fresh
        .pg_schema()
        .context("the PostgreSQL storage has a schema")?
        .to_owned();
    let client = pg_client(pg_url).await?;
    let postmaster = postmaster_pid(&client).await?;
    let listeners = Listeners::open(pg_url, &schema, size.idle_listeners).await?;
    let workers = {
        let (url, schema) = (pg_url.to_owned(), schema.clone());
        tokio::task::spawn_blocking(move || start_workers(&url, &schema, processes)).await??
    };
    // The parent only enqueues and counts: an executor that never starts,
    // on a storage of its own that is closed before the statistics are read
    // (a backend flushes its statistics when its connection closes).
    let task = trivial();
    let own = PostgresStorage::connect(
        PostgresConfig::new(pg_url)
            .schema(&schema)
            .migrate(false)
            .listen(false)
            .pool_size(2),
    )
    .await?;
    let enqueuer = Executor::builder(own.clone()).register(&task).build()?;
    let check = pg_client(pg_url).await?;
    // Let the workers' startup statements settle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats_before = table_stats(&client, &schema).await?;
    let notifies_before = listeners.counted.load(Ordering::Relaxed);
    let before = server_snapshot(&client, postmaster).await?;
    let start = Instant::now();
    enqueue_and_wait(&enqueuer, &task, &check, &schema, size.n).await?;
    let wall = start.elapsed();
    let after = server_snapshot(&client, postmaster).await?;
    // Give the notifier's trailing notification time to arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let notifies = listeners.counted.load(Ordering::Relaxed) - notifies_before;
    tokio::task::spawn_blocking(move || stop_workers(workers)).await??;
    drop(enqueuer);
    drop(own);
    listeners.close();
    let completed: i64 = check
        .query_one(
            &format!(
                "SELECT count(*) FROM {schema}.task_executions WHERE status = 'completed' AND is_closed"
            ),
            &[],
        )
        .await?
        .get(0);
    ensure!(
        u64::try_from(completed).ok() == Some(size.n),
        "{completed} of {} tasks completed and closed",
        size.n
    );
    drop(check);
    // Backends flush their statistics when their connection closes.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let stats_after = table_stats(&client, &schema).await?;
    drop(client);
    fresh.cleanup().await?;
    let n = size.n as f64;
    let upd = (stats_after.upd - stats_before.upd) as f64;
    Ok(Cost {
        cpu_ms: after.ticks.saturating_sub(before.ticks) as f64 * 10.0 / n,
        wal_bytes: (after.lsn - before.lsn) as f64 / n,
        commits: (stats_after.commits - stats_before.commits) as f64 / n,
        row_versions: ((stats_after.ins - stats_before.ins) as f64 + upd) / n,
        hot_share: if upd > 0.0 {
            (stats_after.hot - stats_before.hot) as f64 / upd
        } else {
            0.0
        },
        notifies: notifies as f64 / n,
        tasks_per_s: n / wall.as_secs_f64(),
    })
}

/// Runs every process count `reps` times and prints one table.
pub(crate) async fn run(pg_url: &str, size: &CostSize, reps: usize) -> Result<String> {
    let mut results: Vec<(usize, Vec<Cost>)> = Vec::new();
    for &processes in &size.processes {
        let mut costs = Vec::new();
        for rep in 1..=reps {
            let cost = run_once(pg_url, size, processes)
                .await
                .with_context(|| format!("db-cost with {processes} processes"))?;
            eprintln!(
                "postgres db-cost, {processes} processes, {} idle listeners, rep {rep}/{reps}: {:.3} ms CPU, {:.0} WAL bytes, {:.3} commits, {:.2} row versions, {:.0}% HOT, {:.4} NOTIFYs per task; {:.0} tasks/s",
                size.idle_listeners,
                cost.cpu_ms,
                cost.wal_bytes,
                cost.commits,
                cost.row_versions,
                cost.hot_share * 100.0,
                cost.notifies,
                cost.tasks_per_s
            );
            costs.push(cost);
        }
        results.push((processes, costs));
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nDatabase cost per task (PostgreSQL; N={} trivial tasks per run, {} idle LISTEN connections, worker pool {}; median of {reps}, min–max; × = median / median with the first process count):\n",
        crate::thousands(size.n),
        size.idle_listeners,
        worker_pool()
    );
    let _ = writeln!(
        out,
        "| processes | server CPU ms/task | × | WAL bytes/task | × | commits/task | × | row versions/task | HOT updates | NOTIFYs/task | tasks/s |"
    );
    let _ = writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let base = results.first().map(|(_, c)| {
        (
            med(c, |c| c.cpu_ms).0,
            med(c, |c| c.wal_bytes).0,
            med(c, |c| c.commits).0,
        )
    });
    for (processes, costs) in &results {
        let cell = |f: fn(&Cost) -> f64, digits: usize| {
            let (m, lo, hi) = med(costs, f);
            format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})")
        };
        let ratio = |f: fn(&Cost) -> f64, b: f64| format!("{:.2}", med(costs, f).0 / b);
        let (bc, bw, bk) = base.unwrap_or((1.0, 1.0, 1.0));
        let _ = writeln!(
            out,
            "| {processes} | {} | {} | {} | {} | {} | {} | {} | {:.0}% | {} | {} |",
            cell(|c| c.cpu_ms, 3),
            ratio(|c| c.cpu_ms, bc),
            cell(|c| c.wal_bytes, 0),
            ratio(|c| c.wal_bytes, bw),
            cell(|c| c.commits, 3),
            ratio(|c| c.commits, bk),
            cell(|c| c.row_versions, 2),
            med(costs, |c| c.hot_share).0 * 100.0,
            cell(|c| c.notifies, 4),
            cell(|c| c.tasks_per_s, 0),
        );
    }
    Ok(out)
}

fn med(costs: &[Cost], f: fn(&Cost) -> f64) -> (f64, f64, f64) {
    let values: Vec<f64> = costs.iter().map(f).collect();
    crate::measure::summary(&values)
}
