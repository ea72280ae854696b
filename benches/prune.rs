//! Retention benchmark (docs/benchmarks.md, "Retention"): on SQLite and
//! PostgreSQL, a fresh table is bulk-filled with finished, closed trees by
//! direct SQL (half the executions top-level tasks without children, half
//! trees of one root and 10 children), then
//!
//! 1. the claim's cost (100 ready rows, `claim_ready`, median of the rounds)
//!    with those rows in the table, against the same claim on the empty
//!    table, as a ratio;
//! 2. the trivial-task throughput of an executor on the same storage
//!    (waves of 100 tasks enqueued together and awaited) without pruning;
//! 3. pruning every filled tree as the executor's pruner does (one pass of
//!    the executor's batch, 200 trees per `Storage::prune` call, each after
//!    the previous one's cursor, resting `rest` times a batch's duration
//!    between batches),
//!    wall time, while the same load runs; the load's throughput meanwhile,
//!    as a ratio of (2).
//!
//! The fill is `ordered` by default: ids sort by creation as the library's
//! do (docs/design.md, "Execution ids"), rows finish in the order they were
//! created, as a queue's do. `BENCH_FILL=scattered` is the adversarial
//! shape of the first runs: random-order ids and finish times that cycle
//! every 1,000 rows, so that consecutive roots of the prune order are on
//! different pages of the table and of every index.
//!
//! ```text
//! cargo bench --bench prune                   # 1,000,000 executions
//! cargo bench --bench prune -- --smoke        # tiny sizes (CI)
//! BENCH_BACKENDS=sqlite BENCH_EXECUTIONS=200000 cargo bench --bench prune
//! ```
//!
//! Environment (optional): `BENCH_BACKENDS` (`sqlite,postgres`),
//! `BENCH_EXECUTIONS` (filled executions, default 1,000,000),
//! `BENCH_LOAD_SECS` (baseline load duration, default 10), `BENCH_FILL`
//! (`ordered` or `scattered`), `BENCH_PRUNE_BATCH` (roots per call, default
//! the executor's 200), `BENCH_PRUNE_REST` (the rest factor, default the
//! executor's; 0: back to back), `DATABASE_URL` (PostgreSQL; the bench uses
//! its own schema and drops it).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use durable_execution::model::{ExecutionStatus, Millis, NewExecution, RetryOptions, now_millis};
use durable_execution::storage::{
    PostgresConfig, PostgresStorage, PruneCutoff, PruneOutcome, SqliteOptions, SqliteStorage,
    Storage,
};
use durable_execution::{Executor, ExecutorOptions, RetentionPolicy, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const DAY_MS: Millis = 86_400_000;
const CHILDREN: usize = 10;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Singles and trees for `executions` filled rows: half each.
fn shape(executions: usize) -> (usize, usize) {
    let singles = executions / 2;
    let trees = (executions - singles).div_ceil(CHILDREN + 1);
    (singles, trees)
}

/// The fill's shape (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fill {
    Ordered,
    Scattered,
}

impl Fill {
    /// SQL expressions over the row number `n` (1-based, per kind; `offset`
    /// added) and the fill's finish time `f`: an id suffix, the root's
    /// `finished_at`.
    fn exprs(self, sqlite: bool, offset: usize, f: Millis) -> (String, String) {
        match self {
            // Zero-padded: ids sort as the rows were created; finish times
            // rise with them (the oldest first), within the hour before `f`.
            Fill::Ordered => (
                if sqlite {
                    format!("printf('%08d', n + {offset})")
                } else {
                    format!("lpad((n + {offset})::text, 8, '0')")
                },
                format!("{f} - 3600000 + (n + {offset}) / 1000"),
            ),
            Fill::Scattered => ("n".to_owned(), format!("{f} - n % 1000")),
        }
    }
}

/// The fill statements of one dialect: the same three inserts, numbered
/// by a series (`generate_series` on PostgreSQL, a recursive CTE on
/// SQLite).
fn fill_sql(sqlite: bool, fill: Fill, singles: usize, trees: usize, f: Millis) -> String {
    let series = |col: &str, from: usize, to: usize| {
        if sqlite {
            format!(
                "(WITH RECURSIVE s(x) AS (SELECT {from} UNION ALL SELECT x + 1 FROM s WHERE x < {to}) \
                 SELECT x AS {col} FROM s) AS {col}_s"
            )
        } else {
            format!("generate_series({from}, {to}) AS {col}")
        }
    };
    let cols = "execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, \
                index_in_parent, retry_options, sleep_ms_before_run, timeout_ms, input, output, status, \
                is_closed, closed_at, start_at, started_at, finished_at, created_at, updated_at, children_count";
    let (sid, sfin) = fill.exprs(sqlite, 0, f);
    let (tid, tfin) = fill.exprs(sqlite, singles, f);
    let (all_singles, all_trees) = (series("n", 1, singles), series("n", 1, trees));
    let children = series("i", 0, CHILDREN - 1);
    let analyze = if sqlite { "ANALYZE;" } else { "" };
    format!(
        "INSERT INTO task_executions ({cols})
         SELECT 'te_s_' || {sid}, 'single', NULL, NULL, NULL, NULL, 0, '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
             'completed', true, {f}, {f} - 5, {f} - 5, {sfin}, {f} - 10, {f}, 0
         FROM {all_singles};
         INSERT INTO task_executions ({cols})
         SELECT 'te_t_' || {tid}, 'tree', NULL, NULL, NULL, NULL, 0, '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
             'completed', true, {f}, {f} - 5, {f} - 5, {tfin}, {f} - 10, {f}, {CHILDREN}
         FROM {all_trees};
         INSERT INTO task_executions ({cols})
         SELECT 'te_t_' || {tid} || '_' || i, 'leaf', 'tree', 'te_t_' || {tid}, 'tree', 'te_t_' || {tid}, i,
             '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
             'completed', true, {f}, {f} - 5, {f} - 5, {f} - 6, {f} - 10, {f}, 0
         FROM {all_trees}, {children};
         {analyze}"
    )
}

fn ready_batch(tag: &str, round: usize, now: Millis) -> Vec<NewExecution> {
    (0..100)
        .map(|i| NewExecution {
            execution_id: format!("te_claim_{tag}_{round}_{i:03}"),
            task_id: "claim".into(),
            root: None,
            parent: None,
            retry_options: RetryOptions::default(),
            sleep_ms_before_run: 0,
            timeout_ms: 1_000,
            input: "null".into(),
            created_at: now - 1,
            sleeping_key: None,
        })
        .collect()
}

/// Median claim time of 100 ready rows over `rounds` (the claimed rows stay
/// `running` with a day-long lease, outside the index the claim reads).
async fn claim_cost(storage: &dyn Storage, rounds: usize, tag: &str) -> Duration {
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let now = now_millis();
        storage.insert(&ready_batch(tag, round, now)).await.unwrap();
        let start = Instant::now();
        let rows = storage
            .claim_ready("bench", now, 100, DAY_MS as u64, DAY_MS as u64)
            .await
            .unwrap();
        times.push(start.elapsed());
        assert_eq!(rows.len(), 100);
    }
    times.sort();
    times[times.len() / 2]
}

/// Waves of 100 trivial tasks until `stop`: completed tasks and the time.
async fn load(executor: Executor, task: Task<u32, u32>, stop: Arc<AtomicBool>) -> (u64, Duration) {
    let start = Instant::now();
    let mut done = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let handles = executor.enqueue_many(&task, 0..100u32).await.unwrap();
        for handle in handles {
            let finished = handle.wait().await.unwrap();
            assert_eq!(finished.status, ExecutionStatus::Completed);
        }
        done += 100;
    }
    (done, start.elapsed())
}

fn per_second(done: u64, elapsed: Duration) -> f64 {
    done as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// How the bench prunes: the executor's batch and rest unless overridden.
#[derive(Debug, Clone, Copy)]
struct Pruner {
    batch: u32,
    rest: u32,
}

struct Figures {
    backend: &'static str,
    executions: usize,
    fill: Duration,
    claim_empty: Duration,
    claim_full: Duration,
    baseline: f64,
    prune: Duration,
    pruned: PruneOutcome,
    batches: u64,
    during: f64,
}

async fn run(
    backend: &'static str,
    storage: Arc<dyn Storage>,
    fill: impl AsyncFnOnce(usize, usize, Millis),
    executions: usize,
    load_for: Duration,
    rounds: usize,
    pruner: Pruner,
) -> Figures {
    let claim_empty = claim_cost(&*storage, rounds, "empty").await;
    storage.delete_all().await.unwrap();
    let (singles, trees) = shape(executions);
    let filled_at = now_millis() - DAY_MS;
    let started = Instant::now();
    fill(singles, trees, filled_at).await;
    let fill_time = started.elapsed();
    let claim_full = claim_cost(&*storage, rounds, "full").await;

    let task = Task::new("bench_trivial", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n)
    });
    let options = ExecutorOptions::builder()
        .poll_interval(Duration::from_millis(50))
        .retention(None)
        .build()
        .unwrap();
    let executor = Executor::builder(Arc::clone(&storage))
        .options(options)
        .register(&task)
        .build()
        .unwrap();
    executor.start().unwrap();
    // Warm-up, then the baseline.
    let stop = Arc::new(AtomicBool::new(false));
    let warm = tokio::spawn(load(executor.clone(), task.clone(), Arc::clone(&stop)));
    tokio::time::sleep(load_for / 5).await;
    stop.store(true, Ordering::SeqCst);
    warm.await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let base = tokio::spawn(load(executor.clone(), task.clone(), Arc::clone(&stop)));
    tokio::time::sleep(load_for).await;
    stop.store(true, Ordering::SeqCst);
    let (done, elapsed) = base.await.unwrap();
    let baseline = per_second(done, elapsed);

    // Prune every filled tree while the load runs.
    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn(load(executor.clone(), task.clone(), Arc::clone(&stop)));
    let cutoffs: Vec<PruneCutoff> = ExecutionStatus::ALL
        .into_iter()
        .filter(|s| s.is_finished())
        .map(|status| PruneCutoff {
            status,
            finished_before: filled_at + 1,
        })
        .collect();
    let started = Instant::now();
    let mut pruned = PruneOutcome::default();
    let mut batches = 0;
    // One pass, as the executor's pruner runs it (maintenance.rs).
    let mut after = None;
    loop {
        let batch_started = Instant::now();
        let outcome = storage
            .prune(&cutoffs, pruner.batch, after, false)
            .await
            .unwrap();
        batches += 1;
        pruned.add(outcome);
        after = outcome.next;
        if after.is_none() {
            break;
        }
        let rest = batch_started.elapsed().saturating_mul(pruner.rest);
        if !rest.is_zero() {
            tokio::time::sleep(rest).await;
        }
    }
    let prune = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let (done, elapsed) = during.await.unwrap();
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        pruned,
        PruneOutcome {
            roots: (singles + trees) as u64,
            executions: (singles + trees * (CHILDREN + 1)) as u64,
            next: None,
        },
        "every filled tree pruned once"
    );
    Figures {
        backend,
        executions: singles + trees * (CHILDREN + 1),
        fill: fill_time,
        claim_empty,
        claim_full,
        baseline,
        prune,
        pruned,
        batches,
        during: per_second(done, elapsed),
    }
}

async fn pg_admin(url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
    tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let backends: Vec<String> = env("BENCH_BACKENDS")
        .unwrap_or_else(|| "sqlite,postgres".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let executions: usize = env("BENCH_EXECUTIONS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if smoke { 2_000 } else { 1_000_000 });
    let load_for = Duration::from_secs_f64(
        env("BENCH_LOAD_SECS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if smoke { 0.5 } else { 10.0 }),
    );
    let rounds = if smoke { 3 } else { 21 };
    let fill_kind = match env("BENCH_FILL").as_deref() {
        None | Some("ordered") => Fill::Ordered,
        Some("scattered") => Fill::Scattered,
        Some(other) => panic!("BENCH_FILL={other}: ordered or scattered"),
    };
    let policy = RetentionPolicy::default();
    let pruner = Pruner {
        batch: env("BENCH_PRUNE_BATCH")
            .map(|v| v.parse().expect("BENCH_PRUNE_BATCH: a number"))
            .unwrap_or(policy.batch),
        rest: env("BENCH_PRUNE_REST")
            .map(|v| v.parse().expect("BENCH_PRUNE_REST: a number"))
            .unwrap_or(policy.rest),
    };
    eprintln!("fill {fill_kind:?}, pruner {pruner:?}");
    let url =
        env("DATABASE_URL").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for backend in &backends {
        eprintln!("[{backend}] {executions} executions");
        let figures = match backend.as_str() {
            "sqlite" => {
                let path = dir.path().join("prune.db");
                let storage = SqliteStorage::open(&path, SqliteOptions::default())
                    .await
                    .unwrap();
                let fill = async |singles, trees, finished| {
                    let conn = rusqlite::Connection::open(&path).unwrap();
                    conn.busy_timeout(Duration::from_secs(60)).unwrap();
                    conn.execute_batch(&fill_sql(true, fill_kind, singles, trees, finished))
                        .unwrap();
                };
                run(
                    "sqlite",
                    Arc::new(storage),
                    fill,
                    executions,
                    load_for,
                    rounds,
                    pruner,
                )
                .await
            }
            "postgres" => {
                let schema = format!("de_prune_bench_{}", std::process::id());
                pg_admin(&url, &format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await;
                let storage = PostgresStorage::connect(
                    PostgresConfig::new(url.clone())
                        .schema(&schema)
                        .migrate(true),
                )
                .await
                .unwrap();
                let fill = async |singles, trees, finished| {
                    let sql = fill_sql(false, fill_kind, singles, trees, finished);
                    pg_admin(&url, &format!("SET search_path TO {schema}; {sql}")).await;
                    // Alone: VACUUM cannot run in the implicit transaction of a batch.
                    pg_admin(&url, &format!("VACUUM ANALYZE {schema}.task_executions")).await;
                };
                let figures = run(
                    "postgres",
                    Arc::new(storage),
                    fill,
                    executions,
                    load_for,
                    rounds,
                    pruner,
                )
                .await;
                pg_admin(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
                figures
            }
            other => panic!("unknown backend {other} (sqlite, postgres)"),
        };
        all.push(figures);
    }
    println!();
    println!(
        "| backend | executions (roots) | fill | claim 100, empty | claim 100, filled | ratio | load alone | prune (batches) | load while pruning | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for f in &all {
        println!(
            "| {} | {} ({}) | {:.1} s | {:.2} ms | {:.2} ms | {:.2}× | {:.0}/s | {:.1} s ({}) | {:.0}/s | {:.2}× |",
            f.backend,
            f.executions,
            f.pruned.roots,
            f.fill.as_secs_f64(),
            f.claim_empty.as_secs_f64() * 1e3,
            f.claim_full.as_secs_f64() * 1e3,
            f.claim_full.as_secs_f64() / f.claim_empty.as_secs_f64().max(1e-9),
            f.baseline,
            f.prune.as_secs_f64(),
            f.batches,
            f.during,
            f.during / f.baseline.max(1e-9),
        );
    }
}
