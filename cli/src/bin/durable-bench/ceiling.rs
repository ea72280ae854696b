//! The ceiling: the minimal batched lifecycle of a trivial task, run
//! straight through the database driver on the project's own table and
//! indexes, so that every throughput case can be printed as a fraction of
//! what the database allows on this machine, in this run.
//!
//! One writer, batches of [`BATCH`] tasks, each step one statement in its
//! own transaction (one commit), in the order a trivial task goes through:
//!
//! 1. `insert_executions`: insert 100 ready rows from one JSON array;
//! 2. `claim_ready`: claim 100 (status `running`, owner, lease), returning
//!    every column as the storage's claim does;
//! 3. `finish_executions`: complete the 100 with their output (guarded by
//!    status, owner and attempt), from one JSON array; a top-level task
//!    without children is closed by the same statement (`is_closed`,
//!    `closed_at`), as the storage does (docs/design.md, "Closing"), so
//!    nothing else is written.
//!
//! The statements are those of `spec/task_executions.yaml` (same text,
//! table name filled in), on a storage created by the project's own
//! migrations with the storage's settings (SQLite: WAL, `synchronous =
//! NORMAL`; PostgreSQL: the server's defaults). What the ceiling leaves out
//! is everything that is not a database write: the executor, the storage's
//! gate and blocking threads, decoding of the rows into `TaskExecution`,
//! and PostgreSQL's `ordered_scans` before each claim (one round trip,
//! pipelined by the storage).

use crate::backend::{Backend, Fresh};
use crate::measure::CpuSnapshot;
use anyhow::{Context as _, Result, ensure};
use std::fmt::Write as _;
use std::time::Instant;

/// Tasks per statement.
pub(crate) const BATCH: u64 = 100;

/// The executor id the ceiling claims with.
const OWNER: &str = "ceiling";

/// `insert_executions` (SQLite).
const SQLITE_INSERT: &str = "WITH r AS MATERIALIZED (SELECT value FROM json_each(?1))
INSERT INTO task_executions (execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id,
    index_in_parent, is_finalize, parent_decides, retry_options, sleep_ms_before_run, timeout_ms, input, status, start_at, created_at, updated_at,
    sleeping_key, expires_at)
SELECT r.value ->> '$.execution_id', r.value ->> '$.task_id', r.value ->> '$.root_task_id', r.value ->> '$.root_execution_id',
    r.value ->> '$.parent_task_id', r.value ->> '$.parent_execution_id', r.value ->> '$.index_in_parent', r.value ->> '$.is_finalize',
    COALESCE(r.value ->> '$.parent_decides', 0),
    r.value -> '$.retry_options', r.value ->> '$.sleep_ms_before_run', r.value ->> '$.timeout_ms', r.value ->> '$.input',
    CASE WHEN r.value ->> '$.sleeping_key' IS NULL THEN 'ready' ELSE 'sleeping' END,
    r.value ->> '$.start_at', r.value ->> '$.created_at', r.value ->> '$.created_at',
    r.value ->> '$.sleeping_key',
    CASE WHEN r.value ->> '$.sleeping_key' IS NULL THEN NULL ELSE (r.value ->> '$.created_at') + (r.value ->> '$.timeout_ms') END
FROM r";

/// `claim_ready` (SQLite).
const SQLITE_CLAIM: &str = "UPDATE task_executions
SET status = 'running', executor_id = ?1, started_at = ?2, updated_at = ?2,
    expires_at = ?2 + timeout_ms + ?3
WHERE id IN (
    SELECT c.id FROM task_executions AS c INDEXED BY ix_task_executions_ready
    WHERE c.status = 'ready' AND c.start_at <= ?2
    ORDER BY c.start_at, c.id
    LIMIT ?4)
RETURNING *";

/// `finish_executions` (SQLite).
const SQLITE_FINISH: &str = "UPDATE task_executions
SET status = u.status, run_output = u.run_output, output = u.output, error = u.error,
    finished_at = ?2, updated_at = ?2, expires_at = NULL, heartbeat_expires_at = NULL,
    is_closed = (task_executions.parent_execution_id IS NULL AND task_executions.children_count = 0 AND task_executions.finalize_execution_id IS NULL),
    closed_at = CASE WHEN task_executions.parent_execution_id IS NULL AND task_executions.children_count = 0 AND task_executions.finalize_execution_id IS NULL THEN ?2 ELSE task_executions.closed_at END,
    executor_id = CASE WHEN u.status = 'cancelled' THEN task_executions.executor_id ELSE NULL END
FROM (SELECT value ->> '$.execution_id' AS execution_id, value ->> '$.attempt' AS attempt, value ->> '$.status' AS status,
             value ->> '$.run_output' AS run_output, value ->> '$.output' AS output,
             nullif(value -> '$.error', 'null') AS error
      FROM json_each(?3)) AS u
WHERE task_executions.execution_id = u.execution_id AND +task_executions.status = 'running' AND +task_executions.executor_id = ?1
  AND (u.attempt IS NULL OR +task_executions.attempt = u.attempt)
RETURNING execution_id";

/// `insert_executions` (PostgreSQL).
const PG_INSERT: &str = "INSERT INTO task_executions (execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id,
    index_in_parent, is_finalize, parent_decides, retry_options, sleep_ms_before_run, timeout_ms, input, status, start_at, created_at, updated_at,
    sleeping_key, expires_at)
SELECT r.execution_id, r.task_id, r.root_task_id, r.root_execution_id, r.parent_task_id, r.parent_execution_id,
    r.index_in_parent, r.is_finalize, COALESCE(r.parent_decides, false), r.retry_options, r.sleep_ms_before_run, r.timeout_ms, r.input,
    CASE WHEN r.sleeping_key IS NULL THEN 'ready' ELSE 'sleeping' END, r.start_at, r.created_at, r.created_at,
    r.sleeping_key, CASE WHEN r.sleeping_key IS NULL THEN NULL ELSE r.created_at + r.timeout_ms END
FROM jsonb_to_recordset($1::text::jsonb) AS r(execution_id text, task_id text, root_task_id text, root_execution_id text,
    parent_task_id text, parent_execution_id text, index_in_parent integer, is_finalize boolean, parent_decides boolean, retry_options jsonb,
    sleep_ms_before_run bigint, timeout_ms bigint, input text, start_at bigint, created_at bigint, sleeping_key text)";

/// `claim_ready` (PostgreSQL).
const PG_CLAIM: &str = "UPDATE task_executions AS t
SET status = 'running', executor_id = $1, started_at = $2, updated_at = $2,
    expires_at = $2 + t.timeout_ms + $3
WHERE t.id IN (
    SELECT c.id FROM task_executions AS c
    WHERE c.status = 'ready' AND c.start_at <= $2
    ORDER BY c.start_at, c.id
    LIMIT $4
    FOR UPDATE SKIP LOCKED)
RETURNING t.*";

/// `finish_executions` (PostgreSQL).
const PG_FINISH: &str = "UPDATE task_executions AS t
SET status = u.status, run_output = u.run_output, output = u.output, error = u.error,
    finished_at = $2, updated_at = $2, expires_at = NULL, heartbeat_expires_at = NULL,
    is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL),
    closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN $2::bigint ELSE t.closed_at END,
    executor_id = CASE WHEN u.status = 'cancelled' THEN t.executor_id ELSE NULL END
FROM jsonb_to_recordset($3::text::jsonb) AS u(execution_id text, attempt integer, status text, run_output text, output text, error jsonb)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($3::text::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'running' AND t.executor_id = $1
  AND (u.attempt IS NULL OR t.attempt = u.attempt)
RETURNING t.execution_id";

/// Lease slack of the claim, as the executor's default (milliseconds).
const LEASE_SLACK_MS: i64 = 30_000;

/// What one ceiling run measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CeilingRun {
    /// Tasks per second through the whole lifecycle.
    pub(crate) per_second: f64,
    /// Cores used by this process during the run.
    pub(crate) own_cpu: f64,
    /// Cores used by the local PostgreSQL server during the run.
    pub(crate) pg_cpu: f64,
}

/// Time spent in each step (insert, claim, finish), printed on stderr with
/// `DURABLE_BENCH_CALLS`.
#[derive(Debug, Default)]
struct Steps([std::time::Duration; 3]);

impl Steps {
    fn add(&mut self, step: usize, lap: &mut Instant) {
        let now = Instant::now();
        self.0[step] += now - *lap;
        *lap = now;
    }

    fn report(&self, backend: &str, batches: u64) {
        if std::env::var_os("DURABLE_BENCH_CALLS").is_none() {
            return;
        }
        let per = |d: std::time::Duration| d.as_secs_f64() * 1000.0 / batches.max(1) as f64;
        eprintln!(
            "  {backend} ceiling, ms per batch of {BATCH}: insert {:.3}, claim {:.3}, finish {:.3}",
            per(self.0[0]),
            per(self.0[1]),
            per(self.0[2])
        );
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The JSON rows of one insert batch: tasks `first..first + BATCH` of
/// `bench_trivial`, as `Storage::insert` encodes a trivial task.
fn insert_rows(first: u64, now: i64) -> String {
    let mut out = String::with_capacity(400 * BATCH as usize);
    out.push('[');
    for i in first..first + BATCH {
        if i > first {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"execution_id":"te_ceiling{i:014}","task_id":"bench_trivial","root_task_id":null,"root_execution_id":null,"parent_task_id":null,"parent_execution_id":null,"index_in_parent":0,"is_finalize":false,"parent_decides":false,"retry_options":{{"max_attempts":1}},"sleep_ms_before_run":0,"timeout_ms":60000,"input":"{i}","start_at":{now},"created_at":{now},"sleeping_key":null}}"#
        );
    }
    out.push(']');
    out
}

/// The JSON items of one finish batch: every claimed id completed with its
/// output.
fn finish_items(ids: &[String]) -> String {
    let mut out = String::with_capacity(80 * ids.len());
    out.push('[');
    for (k, id) in ids.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        let output = id.trim_start_matches("te_ceiling").trim_start_matches('0');
        let output = if output.is_empty() { "0" } else { output };
        let _ = write!(
            out,
            r#"{{"execution_id":"{id}","status":"completed","run_output":null,"output":"{output}","error":null}}"#
        );
    }
    out.push(']');
    out
}

/// Runs the ceiling of `backend` for `n` tasks (rounded up to whole
/// batches) on a fresh storage. `None` for the memory backend (it has no
/// database to bound it).
pub(crate) async fn run(backend: Backend, pg_url: &str, n: u64) -> Result<Option<CeilingRun>> {
    let batches = n.div_ceil(BATCH).max(1);
    let fresh = Fresh::new(backend, pg_url).await?;
    let result = match backend {
        Backend::Memory => None,
        Backend::Sqlite => {
            let path = fresh
                .sqlite_path()
                .context("the SQLite storage has no file")?
                .to_owned();
            let measured = tokio::task::spawn_blocking(move || sqlite(&path, batches)).await??;
            Some(measured)
        }
        Backend::Postgres => {
            let schema = fresh
                .pg_schema()
                .context("the PostgreSQL storage has no schema")?;
            Some(postgres(pg_url, schema, batches).await?)
        }
    };
    fresh.cleanup().await?;
    Ok(result)
}

fn sqlite(path: &std::path::Path, batches: u64) -> Result<CeilingRun> {
    let conn = rusqlite::Connection::open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    ensure!(mode.eq_ignore_ascii_case("wal"), "journal_mode is {mode}");
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let cpu = CpuSnapshot::now();
    let start = Instant::now();
    let mut ids: Vec<String> = Vec::with_capacity(BATCH as usize);
    let mut steps = Steps::default();
    for batch in 0..batches {
        let mut lap = Instant::now();
        let now = now_ms();
        let rows = insert_rows(batch * BATCH, now);
        let tx = conn.unchecked_transaction()?;
        let inserted = tx.prepare_cached(SQLITE_INSERT)?.execute([&rows])?;
        tx.commit()?;
        ensure!(inserted == BATCH as usize, "inserted {inserted} rows");
        steps.add(0, &mut lap);

        let now = now_ms();
        ids.clear();
        let tx = conn.unchecked_transaction()?;
        {
            let mut claim = tx.prepare_cached(SQLITE_CLAIM)?;
            let columns = claim.column_count();
            let mut rows =
                claim.query(rusqlite::params![OWNER, now, LEASE_SLACK_MS, BATCH as i64])?;
            while let Some(row) = rows.next()? {
                for c in 0..columns {
                    row.get_ref(c)?;
                }
                ids.push(row.get("execution_id")?);
            }
        }
        tx.commit()?;
        ensure!(ids.len() == BATCH as usize, "claimed {} rows", ids.len());
        steps.add(1, &mut lap);

        let items = finish_items(&ids);
        let now = now_ms();
        let tx = conn.unchecked_transaction()?;
        let finished = {
            let mut finish = tx.prepare_cached(SQLITE_FINISH)?;
            let mut rows = finish.query(rusqlite::params![OWNER, now, items])?;
            let mut count = 0usize;
            while rows.next()?.is_some() {
                count += 1;
            }
            count
        };
        tx.commit()?;
        ensure!(finished == BATCH as usize, "finished {finished} rows");
        steps.add(2, &mut lap);
    }
    let wall = start.elapsed();
    steps.report("sqlite", batches);
    let (own_cpu, pg_cpu) = CpuSnapshot::now().cores_since(&cpu, wall);
    let done: i64 = conn.query_row(
        "SELECT count(*) FROM task_executions WHERE status = 'completed' AND is_closed",
        [],
        |r| r.get(0),
    )?;
    ensure!(
        u64::try_from(done).unwrap_or(0) == batches * BATCH,
        "{done} of {} ceiling tasks completed and closed",
        batches * BATCH
    );
    Ok(CeilingRun {
        per_second: (batches * BATCH) as f64 / wall.as_secs_f64(),
        own_cpu,
        pg_cpu,
    })
}

async fn postgres(url: &str, schema: &str, batches: u64) -> Result<CeilingRun> {
    let client = crate::backend::pg_client(url).await?;
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .await?;
    let insert = client.prepare(PG_INSERT).await?;
    let claim = client.prepare(PG_CLAIM).await?;
    let finish = client.prepare(PG_FINISH).await?;
    let limit = i64::try_from(BATCH)?;
    let cpu = CpuSnapshot::now();
    let start = Instant::now();
    let mut ids: Vec<String> = Vec::with_capacity(BATCH as usize);
    let mut steps = Steps::default();
    for batch in 0..batches {
        let mut lap = Instant::now();
        let rows = insert_rows(batch * BATCH, now_ms());
        let inserted = client.execute(&insert, &[&rows]).await?;
        ensure!(inserted == BATCH, "inserted {inserted} rows");
        steps.add(0, &mut lap);

        let now = now_ms();
        let claimed = client
            .query(&claim, &[&OWNER, &now, &LEASE_SLACK_MS, &limit])
            .await?;
        ids.clear();
        for row in &claimed {
            ids.push(row.try_get("execution_id")?);
        }
        ensure!(ids.len() == BATCH as usize, "claimed {} rows", ids.len());
        steps.add(1, &mut lap);

        let items = finish_items(&ids);
        let now = now_ms();
        let finished = client.query(&finish, &[&OWNER, &now, &items]).await?;
        ensure!(
            finished.len() == BATCH as usize,
            "finished {} rows",
            finished.len()
        );
        steps.add(2, &mut lap);
    }
    let wall = start.elapsed();
    steps.report("postgres", batches);
    let (own_cpu, pg_cpu) = CpuSnapshot::now().cores_since(&cpu, wall);
    let done: i64 = client
        .query_one(
            "SELECT count(*) FROM task_executions WHERE status = 'completed' AND is_closed",
            &[],
        )
        .await?
        .try_get(0)?;
    ensure!(
        u64::try_from(done).unwrap_or(0) == batches * BATCH,
        "{done} of {} ceiling tasks completed and closed",
        batches * BATCH
    );
    Ok(CeilingRun {
        per_second: (batches * BATCH) as f64 / wall.as_secs_f64(),
        own_cpu,
        pg_cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_valid_json_of_the_batch_size() {
        let rows: serde_json::Value =
            serde_json::from_str(&insert_rows(200, 5)).expect("insert rows are JSON");
        assert_eq!(rows.as_array().map(Vec::len), Some(BATCH as usize));
        assert_eq!(rows[0]["execution_id"], "te_ceiling00000000000200");
        let ids = vec![
            "te_ceiling00000000000200".to_owned(),
            "te_ceiling00000000000000".to_owned(),
        ];
        let items: serde_json::Value =
            serde_json::from_str(&finish_items(&ids)).expect("finish items are JSON");
        assert_eq!(items[0]["output"], "200");
        assert_eq!(items[1]["output"], "0");
    }
}
