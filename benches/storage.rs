//! Storage benchmark: operations per second of the batch operations the
//! executor's hot path runs, per backend, and the cost of a claim when the
//! table holds many finished rows (it must stay index-driven).
//!
//! ```text
//! cargo bench --bench storage                      # full run
//! cargo bench --bench storage -- --smoke           # tiny sizes (CI)
//! BENCH_BACKENDS=sqlite BENCH_FINISHED=10000 cargo bench --bench storage
//! ```
//!
//! Environment (all optional): `BENCH_BACKENDS` (comma list of `memory`,
//! `sqlite`, `postgres`), `BENCH_BATCHES` (batches of 100 per operation,
//! default 50), `BENCH_FINISHED` (comma list of finished-row counts,
//! default `10000,1000000`), `BENCH_CLAIM_ROUNDS` (claims measured per size,
//! default 20), `BENCH_STREAMS` (comma list of concurrent workers for the
//! full insert→claim→finish→close cycle, default `1,4`), `DATABASE_URL` (PostgreSQL, default
//! `postgres://postgres@127.0.0.1:5432/test`; the bench uses its own
//! schema and drops it).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use durable_execution::model::{ExecutionStatus, Millis, NewExecution, RetryOptions};
use durable_execution::storage::{
    FinishItem, MemoryStorage, PostgresConfig, PostgresStorage, SqliteOptions, SqliteStorage,
    Storage,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BATCH: usize = 100;
const NOW: Millis = 1_700_000_000_000;

struct Settings {
    backends: Vec<String>,
    batches: usize,
    finished: Vec<usize>,
    claim_rounds: usize,
    streams: Vec<usize>,
}

fn settings() -> Settings {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let list = |v: String| -> Vec<String> { v.split(',').map(|s| s.trim().to_owned()).collect() };
    Settings {
        backends: env("BENCH_BACKENDS")
            .map(list)
            .unwrap_or_else(|| list("memory,sqlite,postgres".into())),
        batches: env("BENCH_BATCHES")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if smoke { 3 } else { 50 }),
        finished: env("BENCH_FINISHED")
            .map(|v| list(v).iter().filter_map(|s| s.parse().ok()).collect())
            .unwrap_or_else(|| {
                if smoke {
                    vec![1_000]
                } else {
                    vec![10_000, 1_000_000]
                }
            }),
        streams: env("BENCH_STREAMS")
            .map(|v| list(v).iter().filter_map(|s| s.parse().ok()).collect())
            .unwrap_or_else(|| if smoke { vec![2] } else { vec![1, 4] }),
        claim_rounds: env("BENCH_CLAIM_ROUNDS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(if smoke { 3 } else { 20 }),
    }
}

struct Row {
    backend: String,
    operation: String,
    rows: usize,
    elapsed: Duration,
    batches: usize,
}

fn new_batch(prefix: &str, n: usize) -> Vec<NewExecution> {
    (0..n)
        .map(|i| NewExecution {
            execution_id: format!("te_{prefix}_{i:06}"),
            task_id: "bench".into(),
            root: None,
            parent: None,
            retry_options: RetryOptions {
                max_attempts: 2,
                ..RetryOptions::default()
            },
            sleep_ms_before_run: 0,
            timeout_ms: 60_000,
            input: "{\"n\":1}".into(),
            created_at: NOW,
            sleeping_key: None,
        })
        .collect()
}

/// Insert, claim, finish and close, batches of 100.
async fn hot_path(storage: &dyn Storage, batches: usize, out: &mut Vec<Row>) {
    let name = storage.backend_name().to_owned();
    storage.delete_all().await.unwrap();
    let inputs: Vec<Vec<NewExecution>> = (0..batches)
        .map(|b| new_batch(&format!("hot{b}"), BATCH))
        .collect();
    let start = Instant::now();
    for batch in &inputs {
        storage.insert(batch).await.unwrap();
    }
    out.push(Row {
        backend: name.clone(),
        operation: "insert (batches of 100)".into(),
        rows: batches * BATCH,
        elapsed: start.elapsed(),
        batches,
    });

    let start = Instant::now();
    let mut claimed = Vec::with_capacity(batches);
    for _ in 0..batches {
        let rows = storage
            .claim_ready("bench", NOW, BATCH as u32, 0, 3_600_000)
            .await
            .unwrap();
        assert_eq!(rows.len(), BATCH);
        claimed.push(rows);
    }
    out.push(Row {
        backend: name.clone(),
        operation: "claim 100".into(),
        rows: batches * BATCH,
        elapsed: start.elapsed(),
        batches,
    });

    let items: Vec<Vec<FinishItem>> = claimed
        .into_iter()
        .map(|rows| {
            rows.into_iter()
                .map(|r| FinishItem {
                    execution_id: r.unwrap().execution_id,
                    attempt: Some(0),
                    status: ExecutionStatus::Completed,
                    run_output: Some("1".into()),
                    output: Some("1".into()),
                    error: None,
                })
                .collect()
        })
        .collect();
    let start = Instant::now();
    for batch in &items {
        let done = storage.finish("bench", NOW + 1, batch).await.unwrap();
        assert_eq!(done.len(), BATCH);
    }
    out.push(Row {
        backend: name,
        operation: "guarded finish of 100".into(),
        rows: batches * BATCH,
        elapsed: start.elapsed(),
        batches,
    });

    // The finish closed them (top-level, no children: docs/design.md,
    // "Closing"), so the closer finds nothing; the close of child rows is
    // measured by the executor benchmark's workflow cases.
    let outcome = storage.close_finished(NOW + 2, BATCH as u32).await.unwrap();
    assert!(outcome.closed.is_empty(), "{:?}", outcome.closed);
}

/// The whole per-task cycle (insert, claim, finish, close; batches of 100)
/// run by `streams` concurrent workers: the throughput an executor can reach
/// when it keeps several batches in flight (PostgreSQL then amortizes its
/// commit flushes over concurrent transactions).
async fn cycle(storage: Arc<dyn Storage>, streams: usize, batches: usize, out: &mut Vec<Row>) {
    storage.delete_all().await.unwrap();
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..streams {
        let storage = Arc::clone(&storage);
        workers.push(tokio::spawn(async move {
            let executor = format!("bench{w}");
            for b in 0..batches {
                storage
                    .insert(&new_batch(&format!("cyc{w}_{b}"), BATCH))
                    .await
                    .unwrap();
                let claimed = storage
                    .claim_ready(&executor, NOW, BATCH as u32, 0, 3_600_000)
                    .await
                    .unwrap();
                let items: Vec<FinishItem> = claimed
                    .into_iter()
                    .map(|r| FinishItem {
                        execution_id: r.unwrap().execution_id,
                        attempt: Some(0),
                        status: ExecutionStatus::Completed,
                        run_output: Some("1".into()),
                        output: Some("1".into()),
                        error: None,
                    })
                    .collect();
                storage.finish(&executor, NOW + 1, &items).await.unwrap();
                storage.close_finished(NOW + 2, BATCH as u32).await.unwrap();
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    // Drain: whatever was inserted but not yet claimed, finished or closed.
    loop {
        let claimed = storage
            .claim_ready("drain", NOW, 1_000, 0, 3_600_000)
            .await
            .unwrap();
        let items: Vec<FinishItem> = claimed
            .into_iter()
            .map(|r| FinishItem {
                execution_id: r.unwrap().execution_id,
                attempt: Some(0),
                status: ExecutionStatus::Completed,
                run_output: None,
                output: Some("1".into()),
                error: None,
            })
            .collect();
        storage.finish("drain", NOW + 1, &items).await.unwrap();
        let closed = storage.close_finished(NOW + 2, 1_000).await.unwrap();
        if items.is_empty() && closed.closed.is_empty() {
            break;
        }
    }
    let elapsed = start.elapsed();
    let stats = storage.stats(NOW).await.unwrap();
    let total: u64 = stats.counts.iter().map(|(_, _, n)| n).sum();
    assert_eq!(total as usize, streams * batches * BATCH);
    assert!(
        stats
            .counts
            .iter()
            .all(|(_, status, _)| *status == ExecutionStatus::Completed)
    );
    out.push(Row {
        backend: storage.backend_name().to_owned(),
        operation: format!("full cycle, {streams} concurrent streams"),
        rows: streams * batches * BATCH,
        elapsed,
        batches: streams * batches,
    });
}

/// Fills the table with `n` finished, closed rows.
async fn fill(target: &Target, n: usize) {
    match target {
        Target::Memory(storage) => {
            let chunk = 10_000;
            let mut done = 0;
            while done < n {
                let size = chunk.min(n - done);
                storage
                    .insert(&new_batch(&format!("fill{done}"), size))
                    .await
                    .unwrap();
                let rows = storage
                    .claim_ready("fill", NOW - 10, size as u32, 0, 3_600_000)
                    .await
                    .unwrap();
                let items: Vec<FinishItem> = rows
                    .into_iter()
                    .map(|r| FinishItem {
                        execution_id: r.unwrap().execution_id,
                        attempt: Some(0),
                        status: ExecutionStatus::Completed,
                        run_output: None,
                        output: Some("1".into()),
                        error: None,
                    })
                    .collect();
                storage.finish("fill", NOW - 5, &items).await.unwrap();
                storage.close_finished(NOW - 5, size as u32).await.unwrap();
                done += size;
            }
        }
        Target::Sqlite(_, path) => {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.busy_timeout(Duration::from_secs(30)).unwrap();
            // Benchmark fixture: bulk rows straight into the table.
            conn.execute_batch(&format!(
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {n})
                 INSERT INTO task_executions (execution_id, task_id, retry_options, sleep_ms_before_run,
                     timeout_ms, input, output, status, is_closed, start_at, started_at, finished_at,
                     created_at, updated_at)
                 SELECT 'te_fill_' || n, 'fill', '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
                     'completed', 1, {s} - n, {s} - n, {s} - n, {s} - n, {s} - n FROM g;
                 ANALYZE;",
                s = NOW - 10
            ))
            .unwrap();
        }
        Target::Postgres(_, url, schema) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .batch_execute(&format!(
                    "SET search_path TO {schema};
                     INSERT INTO task_executions (execution_id, task_id, retry_options, sleep_ms_before_run,
                         timeout_ms, input, output, status, is_closed, start_at, started_at, finished_at,
                         created_at, updated_at)
                     SELECT 'te_fill_' || g, 'fill', '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
                         'completed', true, {s} - g, {s} - g, {s} - g, {s} - g, {s} - g
                     FROM generate_series(1, {n}) AS g;",
                    s = NOW - 10
                ))
                .await
                .unwrap();
            // Separately: VACUUM cannot run inside the implicit transaction of a batch.
            client
                .batch_execute("VACUUM ANALYZE task_executions")
                .await
                .unwrap();
        }
    }
}

/// Claims 100 fresh ready rows `rounds` times with `finished` finished rows
/// in the table.
async fn claim_with_history(
    target: &Target,
    finished: usize,
    rounds: usize,
    out: &mut Vec<Row>,
) -> Option<String> {
    let storage = target.storage();
    storage.delete_all().await.unwrap();
    fill(target, finished).await;
    let mut elapsed = Duration::ZERO;
    for round in 0..rounds {
        storage
            .insert(&new_batch(&format!("hist{round}"), BATCH))
            .await
            .unwrap();
        let start = Instant::now();
        let rows = storage
            .claim_ready("bench", NOW, BATCH as u32, 0, 3_600_000)
            .await
            .unwrap();
        elapsed += start.elapsed();
        assert_eq!(rows.len(), BATCH);
    }
    out.push(Row {
        backend: storage.backend_name().to_owned(),
        operation: format!("claim 100, {finished} finished rows"),
        rows: rounds * BATCH,
        elapsed,
        batches: rounds,
    });
    match target {
        Target::Sqlite(s, _) => Some(s.explain_claim(NOW, BATCH as u32).await.unwrap()),
        Target::Postgres(s, _, _) => Some(s.explain_claim(NOW, BATCH as u32).await.unwrap()),
        Target::Memory(_) => None,
    }
}

enum Target {
    Memory(Arc<MemoryStorage>),
    Sqlite(Arc<SqliteStorage>, std::path::PathBuf),
    Postgres(Arc<PostgresStorage>, String, String),
}

impl Target {
    fn storage(&self) -> &dyn Storage {
        match self {
            Target::Memory(s) => &**s,
            Target::Sqlite(s, _) => &**s,
            Target::Postgres(s, _, _) => &**s,
        }
    }

    fn shared(&self) -> Arc<dyn Storage> {
        match self {
            Target::Memory(s) => Arc::clone(s) as Arc<dyn Storage>,
            Target::Sqlite(s, _) => Arc::clone(s) as Arc<dyn Storage>,
            Target::Postgres(s, _, _) => Arc::clone(s) as Arc<dyn Storage>,
        }
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
    let settings = settings();
    let mut rows = Vec::new();
    let mut plans = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("de_bench_{}", std::process::id());
    for backend in &settings.backends {
        let target = match backend.as_str() {
            "memory" => Target::Memory(Arc::new(MemoryStorage::new())),
            "sqlite" => {
                let path = dir.path().join("bench.db");
                let storage = SqliteStorage::open(&path, SqliteOptions::default())
                    .await
                    .unwrap();
                Target::Sqlite(Arc::new(storage), path)
            }
            "postgres" => {
                pg_admin(&url, &format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await;
                let storage = PostgresStorage::connect(
                    PostgresConfig::new(url.clone())
                        .schema(&schema)
                        .migrate(true),
                )
                .await
                .unwrap();
                Target::Postgres(Arc::new(storage), url.clone(), schema.clone())
            }
            other => panic!("unknown backend {other}"),
        };
        eprintln!(
            "[{backend}] hot path: {} batches of {BATCH}",
            settings.batches
        );
        hot_path(target.storage(), settings.batches, &mut rows).await;
        for &streams in &settings.streams {
            eprintln!("[{backend}] full cycle with {streams} streams");
            cycle(target.shared(), streams, settings.batches, &mut rows).await;
        }
        for &finished in &settings.finished {
            eprintln!("[{backend}] claim with {finished} finished rows");
            if let Some(plan) =
                claim_with_history(&target, finished, settings.claim_rounds, &mut rows).await
            {
                plans.push((backend.clone(), finished, plan));
            }
        }
        target.storage().delete_all().await.unwrap();
        if backend == "postgres" {
            pg_admin(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
        }
    }

    println!();
    println!(
        "| {:<8} | {:<38} | {:>8} | {:>9} | {:>12} | {:>10} |",
        "backend", "operation", "rows", "seconds", "rows/s", "ms/batch"
    );
    println!(
        "|{:-<10}|{:-<40}|{:->10}|{:->11}|{:->14}|{:->12}|",
        "", "", "", "", "", ""
    );
    for r in &rows {
        let secs = r.elapsed.as_secs_f64();
        println!(
            "| {:<8} | {:<38} | {:>8} | {:>9.3} | {:>12.0} | {:>10.3} |",
            r.backend,
            r.operation,
            r.rows,
            secs,
            r.rows as f64 / secs.max(1e-9),
            secs * 1000.0 / r.batches.max(1) as f64
        );
    }
    for (backend, finished, plan) in plans {
        println!("\n{backend}: plan of the claim's candidate scan with {finished} finished rows:");
        for line in plan.lines() {
            println!("    {line}");
        }
    }
}
