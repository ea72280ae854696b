//! The benchmark cases. Each run builds a fresh storage and executor, runs
//! one workload to completion, checks that every execution completed with
//! the expected output, and returns what it measured.

use crate::backend::{Backend, Fresh};
use crate::measure::{CpuSnapshot, RssPeaks, RssSampler, quantile};
use anyhow::{Context as _, Result, bail, ensure};
use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{RunRef, Storage};
use durable_execution::{
    Executor, ExecutorOptions, FinalizeInput, LoopResult, LoopStep, LoopingTask, ParentOutput,
    ParentTask, Sequence, Task, TaskContext, TaskError,
};
use rand::Rng as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest a single run may take before it is declared stuck.
const RUN_DEADLINE: Duration = Duration::from_secs(300);
/// Executions inserted per `enqueue_many` call in the bulk case.
const BULK_CHUNK: u64 = 5_000;
/// Concurrent enqueuers of the one-by-one case.
const ENQUEUERS: u64 = 4;

/// The executor options of every run (documented in docs/benchmarks.md).
pub(crate) fn executor_options() -> Result<ExecutorOptions> {
    Ok(options_builder().build()?)
}

pub(crate) fn options_builder() -> durable_execution::ExecutorOptionsBuilder {
    ExecutorOptions::builder()
        .max_concurrent_executions(2_000)
        .max_batch(1_024)
        .close_batch(4_096)
        .write_batch(4_096)
        .poll_interval(Duration::from_millis(100))
        .claim_at_enqueue(claim_at_enqueue())
}

/// Whether the executors claim at enqueue (`DURABLE_BENCH_CLAIM_AT_ENQUEUE`,
/// `0` for off; default on, the library's default). The latency case
/// measures both anyway.
fn claim_at_enqueue() -> bool {
    std::env::var("DURABLE_BENCH_CLAIM_AT_ENQUEUE").map_or(true, |v| v != "0")
}

/// What one run measured besides its main value.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Observed {
    /// Cores used by this process during the run.
    pub(crate) own_cpu: f64,
    /// Cores used by the local PostgreSQL server during the run.
    pub(crate) pg_cpu: f64,
    /// Storage calls per execution.
    pub(crate) calls_per_exec: f64,
    /// Mean storage call time, in milliseconds.
    pub(crate) mean_call_ms: f64,
    /// Peak RSS during the run.
    pub(crate) rss: RssPeaks,
}

/// Measures around a run: wall time, CPU, storage calls, RSS.
struct Probe {
    start: Instant,
    cpu: CpuSnapshot,
    rss: RssSampler,
    calls: (u64, u64),
}

impl Probe {
    fn start(fresh: &Fresh) -> Self {
        Self {
            cpu: CpuSnapshot::now(),
            rss: RssSampler::start(),
            calls: fresh.storage.snapshot(),
            start: Instant::now(),
        }
    }

    fn finish(self, fresh: &Fresh, executions: u64) -> (Duration, Observed) {
        let wall = self.start.elapsed();
        let (own_cpu, pg_cpu) = CpuSnapshot::now().cores_since(&self.cpu, wall);
        if std::env::var_os("DURABLE_BENCH_CALLS").is_some() {
            eprintln!(
                "  storage calls ({:.0} ms wall): {}",
                wall.as_secs_f64() * 1000.0,
                fresh.storage.per_method()
            );
        }
        let (calls, micros) = fresh.storage.snapshot();
        let calls = calls - self.calls.0;
        let micros = micros - self.calls.1;
        let observed = Observed {
            own_cpu,
            pg_cpu,
            calls_per_exec: calls as f64 / executions.max(1) as f64,
            mean_call_ms: micros as f64 / 1000.0 / calls.max(1) as f64,
            rss: self.rss.finish(),
        };
        (wall, observed)
    }
}

fn trivial(runs: Arc<AtomicU64>) -> Task<u64, u64> {
    Task::new("bench_trivial", move |_ctx: TaskContext, i: u64| {
        runs.fetch_add(1, Ordering::Relaxed);
        async move { Ok::<_, TaskError>(i) }
    })
}

/// Waits until `runs` reached `n` and then until the storage counts `n`
/// completed executions of `task_id`.
pub(crate) async fn wait_completed(
    storage: &dyn Storage,
    runs: &AtomicU64,
    task_id: &str,
    n: u64,
    deadline: Instant,
) -> Result<()> {
    while runs.load(Ordering::Relaxed) < n {
        ensure!(
            Instant::now() < deadline,
            "only {} of {n} tasks ran within {} s",
            runs.load(Ordering::Relaxed),
            RUN_DEADLINE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    loop {
        let stats = storage.stats(0).await?;
        let count = |status: ExecutionStatus| {
            stats
                .counts
                .iter()
                .filter(|(task, s, _)| task == task_id && *s == status)
                .map(|(_, _, c)| *c)
                .sum::<u64>()
        };
        let completed = count(ExecutionStatus::Completed);
        if completed == n {
            return Ok(());
        }
        let failed: u64 = stats
            .counts
            .iter()
            .filter(|(_, s, _)| s.is_finished() && *s != ExecutionStatus::Completed)
            .map(|(_, _, c)| *c)
            .sum();
        ensure!(failed == 0, "{failed} executions did not complete");
        ensure!(
            Instant::now() < deadline,
            "only {completed} of {n} tasks completed within {} s",
            RUN_DEADLINE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

/// Executions per `enqueue_many` call of the bulk case:
/// `DURABLE_BENCH_CHUNK` (a diagnostic), else [`BULK_CHUNK`].
fn bulk_chunk() -> u64 {
    std::env::var("DURABLE_BENCH_CHUNK")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&c| c > 0)
        .unwrap_or(BULK_CHUNK)
}

/// `n` trivial tasks enqueued with `enqueue_many` (chunks of 5,000), run
/// to completion. Returns tasks per second.
pub(crate) async fn bulk(backend: Backend, pg_url: &str, n: u64) -> Result<(f64, Observed)> {
    let fresh = Fresh::new(backend, pg_url).await?;
    let runs = Arc::new(AtomicU64::new(0));
    let task = trivial(runs.clone());
    let executor = Executor::builder(fresh.storage.clone())
        .options(executor_options()?)
        .register(&task)
        .build()?;
    executor.start()?;
    let deadline = Instant::now() + RUN_DEADLINE;
    let probe = Probe::start(&fresh);
    let mut next = 0;
    while next < n {
        let end = (next + bulk_chunk()).min(n);
        executor.enqueue_many(&task, next..end).await?;
        next = end;
    }
    if std::env::var_os("DURABLE_BENCH_ANALYZE").is_some() {
        fresh.analyze().await?;
    }
    wait_completed(fresh.storage.as_ref(), &runs, task.id(), n, deadline).await?;
    let (wall, observed) = probe.finish(&fresh, n);
    executor.shutdown(Duration::from_secs(5)).await?;
    fresh.cleanup().await?;
    Ok((n as f64 / wall.as_secs_f64(), observed))
}

/// `n` trivial tasks enqueued one by one by 4 concurrent enqueuers, run to
/// completion. Returns tasks per second.
pub(crate) async fn one_by_one(backend: Backend, pg_url: &str, n: u64) -> Result<(f64, Observed)> {
    let fresh = Fresh::new(backend, pg_url).await?;
    let runs = Arc::new(AtomicU64::new(0));
    let task = trivial(runs.clone());
    let executor = Executor::builder(fresh.storage.clone())
        .options(executor_options()?)
        .register(&task)
        .build()?;
    executor.start()?;
    let deadline = Instant::now() + RUN_DEADLINE;
    let probe = Probe::start(&fresh);
    let enqueuers: Vec<_> = (0..ENQUEUERS)
        .map(|k| {
            let executor = executor.clone();
            let task = task.clone();
            tokio::spawn(async move {
                let mut i = k;
                while i < n {
                    executor.enqueue(&task, i).await?;
                    i += ENQUEUERS;
                }
                Ok::<_, durable_execution::ExecutorError>(())
            })
        })
        .collect();
    for enqueuer in enqueuers {
        enqueuer.await.context("enqueuer panicked")??;
    }
    wait_completed(fresh.storage.as_ref(), &runs, task.id(), n, deadline).await?;
    let (wall, observed) = probe.finish(&fresh, n);
    executor.shutdown(Duration::from_secs(5)).await?;
    fresh.cleanup().await?;
    Ok((n as f64 / wall.as_secs_f64(), observed))
}

/// Size of the workflow case.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkflowSize {
    pub(crate) parents: u32,
    pub(crate) children: u32,
    pub(crate) chains: u32,
    /// Looping tasks, each done on its [`LOOP_ITERATIONS`]th iteration (0:
    /// the workflow case without loops).
    pub(crate) loops: u32,
}

/// Iterations each looping task of the workflow runs (the last one done).
pub(crate) const LOOP_ITERATIONS: u32 = 3;

impl WorkflowSize {
    /// Executions per run: parent + children + finalize per parent, the
    /// sequence parent + 4 steps per chain, the loop parent + its
    /// iterations per loop.
    pub(crate) fn executions(&self) -> u64 {
        u64::from(self.parents) * (u64::from(self.children) + 2)
            + u64::from(self.chains) * 5
            + u64::from(self.loops) * (u64::from(LOOP_ITERATIONS) + 1)
    }
}

/// What the workflow case measured.
pub(crate) struct WorkflowResult {
    /// Wall time from the first enqueue until every handle reported
    /// finished, in seconds.
    pub(crate) wall_s: f64,
    /// Executions per second.
    pub(crate) per_second: f64,
}

/// Parents with children (each sleeps 1 ms) and a finalize that checks
/// every child output, plus chains of 4 sequential steps, plus (when
/// `size.loops > 0`) looping tasks whose iterations, 1 ms apart, are done
/// on the [`LOOP_ITERATIONS`]th.
pub(crate) async fn workflow(
    backend: Backend,
    pg_url: &str,
    size: WorkflowSize,
) -> Result<(WorkflowResult, Observed)> {
    let fresh = Fresh::new(backend, pg_url).await?;
    let child = Task::new("bench_child", |_ctx: TaskContext, i: u32| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok::<_, TaskError>(i)
    });
    let children = size.children;
    let finalize = Task::new(
        "bench_finalize",
        move |_ctx: TaskContext, input: FinalizeInput<u32, (), u32>| async move {
            let expected: Vec<u32> = (0..children).collect();
            if input.children != expected {
                return Err(TaskError::non_retryable(format!(
                    "parent {} got children outputs {:?}",
                    input.input, input.children
                )));
            }
            Ok(u64::from(input.input) * 1_000 + u64::from(children))
        },
    );
    let parent = {
        let child = child.clone();
        ParentTask::new("bench_parent", move |_ctx: TaskContext, p: u32| {
            let spawned: Vec<_> = (0..children).map(|i| child.child(i)).collect();
            let _ = p;
            async move { Ok::<_, TaskError>(ParentOutput::new(()).children(spawned)) }
        })
        .finalize(&finalize)
    };
    let step = Task::new("bench_step", |_ctx: TaskContext, x: u64| async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok::<_, TaskError>(x + 1)
    });
    let chain = Sequence::new("bench_chain", &step)
        .then(&step)
        .then(&step)
        .then(&step);
    // Iterations seen per loop (its input): done on the last one.
    let seen: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let iteration = Task::new("bench_iteration", move |_ctx: TaskContext, l: u64| {
        let seen = seen.clone();
        async move {
            let mut seen = seen
                .lock()
                .map_err(|_| TaskError::non_retryable("poisoned"))?;
            let count = seen.entry(l).or_default();
            *count += 1;
            Ok::<_, TaskError>(if *count >= LOOP_ITERATIONS {
                LoopStep::Done { output: l }
            } else {
                LoopStep::Continue
            })
        }
    });
    let looping = LoopingTask::new(
        "bench_loop",
        &iteration,
        LOOP_ITERATIONS,
        Duration::from_millis(1),
    );
    let executor = Executor::builder(fresh.storage.clone())
        .options(executor_options()?)
        .register(&parent)
        .register(&child)
        .register(&chain)
        .register(&looping)
        .build()?;
    executor.start()?;
    let probe = Probe::start(&fresh);
    let start_ms = durable_execution::model::now_millis();
    let (parents, chains, loops) = tokio::try_join!(
        executor.enqueue_many(&parent, 0..size.parents),
        executor.enqueue_many(&chain, (0..size.chains).map(|c| u64::from(c) * 10)),
        executor.enqueue_many(&looping, (0..size.loops).map(u64::from)),
    )?;
    let waits = futures::future::join_all(
        parents
            .iter()
            .map(|h| h.untyped())
            .chain(chains.iter().map(|h| h.untyped()))
            .chain(loops.iter().map(|h| h.untyped()))
            .map(|h| h.wait_with(durable_execution::WaitOptions::new().timeout(RUN_DEADLINE))),
    );
    let finished = waits.await;
    let executions = size.executions();
    let (wall, observed) = probe.finish(&fresh, executions);
    if std::env::var_os("DURABLE_BENCH_CALLS").is_some() {
        let last_finished = finished
            .iter()
            .filter_map(|e| e.as_ref().ok()?.finished_at)
            .max()
            .unwrap_or(start_ms);
        eprintln!(
            "  workflow: the last top-level execution finished {} ms after the first enqueue; every handle had reported it after {} ms",
            last_finished - start_ms,
            wall.as_millis()
        );
    }
    for (i, execution) in finished.into_iter().enumerate() {
        let execution = execution?;
        if execution.status != ExecutionStatus::Completed {
            bail!(
                "{} {} ended {}: {}",
                execution.task_id,
                execution.execution_id,
                execution.status,
                execution.parent_facing_error().message
            );
        }
        let output: u64 = if i < parents.len() + chains.len() {
            execution.output()?
        } else {
            match execution.output::<LoopResult<u64>>()? {
                LoopResult::Success { output } => output,
                other => bail!("loop {} ended {other:?}", execution.execution_id),
            }
        };
        let expected = if i < parents.len() {
            i as u64 * 1_000 + u64::from(children)
        } else if i < parents.len() + chains.len() {
            (i - parents.len()) as u64 * 10 + 4
        } else {
            (i - parents.len() - chains.len()) as u64
        };
        ensure!(
            output == expected,
            "{} {} output {output}, expected {expected}",
            execution.task_id,
            execution.execution_id
        );
    }
    executor.shutdown(Duration::from_secs(5)).await?;
    fresh.cleanup().await?;
    let wall_s = wall.as_secs_f64();
    Ok((
        WorkflowResult {
            wall_s,
            per_second: executions as f64 / wall_s,
        },
        observed,
    ))
}

/// Latency percentiles, in milliseconds.
pub(crate) struct Latency {
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
}

/// An idle executor (claiming at enqueue or not); `tasks` tasks enqueued
/// one at a time at random gaps in `gap_ms`; enqueue-to-start latency (from just before `enqueue` to the
/// first line of the task body, on one local monotonic clock).
pub(crate) async fn latency(
    backend: Backend,
    pg_url: &str,
    tasks: usize,
    gap_ms: (u64, u64),
    claim_at_enqueue: bool,
) -> Result<(Latency, Observed)> {
    let fresh = Fresh::new(backend, pg_url).await?;
    let started: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; tasks]));
    let task = {
        let started = started.clone();
        Task::new("bench_probe", move |_ctx: TaskContext, i: usize| {
            let now = Instant::now();
            if let Ok(mut started) = started.lock()
                && let Some(slot) = started.get_mut(i)
            {
                *slot = Some(now);
            }
            async move { Ok::<_, TaskError>(()) }
        })
    };
    let executor = Executor::builder(fresh.storage.clone())
        .options(
            options_builder()
                .claim_at_enqueue(claim_at_enqueue)
                .build()?,
        )
        .register(&task)
        .build()?;
    executor.start()?;
    // Let the executor go idle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe = Probe::start(&fresh);
    let mut enqueued = Vec::with_capacity(tasks);
    let mut handles = Vec::with_capacity(tasks);
    for i in 0..tasks {
        let gap = rand::rng().random_range(gap_ms.0..=gap_ms.1);
        tokio::time::sleep(Duration::from_millis(gap)).await;
        enqueued.push(Instant::now());
        handles.push(executor.enqueue(&task, i).await?);
    }
    for handle in &handles {
        let execution = handle
            .wait_with(durable_execution::WaitOptions::new().timeout(RUN_DEADLINE))
            .await?;
        ensure!(
            execution.status == ExecutionStatus::Completed,
            "latency probe {} ended {}",
            execution.execution_id,
            execution.status
        );
    }
    let (_, observed) = probe.finish(&fresh, tasks as u64);
    executor.shutdown(Duration::from_secs(5)).await?;
    fresh.cleanup().await?;
    let started = started
        .lock()
        .map_err(|_| anyhow::anyhow!("latency recorder poisoned"))?
        .clone();
    let mut latencies = Vec::with_capacity(tasks);
    for (i, (enq, start)) in enqueued.iter().zip(started).enumerate() {
        let start = start.with_context(|| format!("latency probe {i} never started"))?;
        latencies.push(start.saturating_duration_since(*enq).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    Ok((
        Latency {
            p50_ms: quantile(&latencies, 0.5),
            p99_ms: quantile(&latencies, 0.99),
        },
        observed,
    ))
}

/// What the fan-out case measured.
pub(crate) struct FanoutResult {
    /// Wall time from the parent's enqueue until its handle reported it
    /// completed, in seconds.
    pub(crate) wall_s: f64,
}

/// One parent (no finalize) that spawns `children` children, each
/// returning its index; the parent's output must list every index in spawn
/// order. Runs with `max_children = children` (at least the default) and
/// the default `max_payload_bytes` (1 MiB: 100,000 indexes are ~590 kB of
/// output).
pub(crate) async fn fanout(
    backend: Backend,
    pg_url: &str,
    children: u32,
) -> Result<(FanoutResult, Observed)> {
    let fresh = Fresh::new(backend, pg_url).await?;
    let runs = Arc::new(AtomicU64::new(0));
    let leaf = {
        let runs = runs.clone();
        Task::new("bench_leaf", move |_ctx: TaskContext, i: u32| {
            runs.fetch_add(1, Ordering::Relaxed);
            async move { Ok::<_, TaskError>(i) }
        })
    };
    let parent = {
        let leaf = leaf.clone();
        ParentTask::new("bench_fanout", move |_ctx: TaskContext, n: u32| {
            let spawned: Vec<_> = (0..n).map(|i| leaf.child(i)).collect();
            async move { Ok::<_, TaskError>(ParentOutput::new(()).children(spawned)) }
        })
    };
    let default_max = ExecutorOptions::default().max_children;
    let options = options_builder()
        .max_children(default_max.max(children as usize))
        .build()?;
    let executor = Executor::builder(fresh.storage.clone())
        .options(options)
        .register(&parent)
        .register(&leaf)
        .build()?;
    executor.start()?;
    let probe = Probe::start(&fresh);
    let handle = executor.enqueue(&parent, children).await?;
    let execution = handle
        .wait_with(durable_execution::WaitOptions::new().timeout(RUN_DEADLINE))
        .await?;
    let (wall, observed) = probe.finish(&fresh, u64::from(children) + 1);
    if execution.status != ExecutionStatus::Completed {
        bail!(
            "fan-out parent {} ended {}: {}",
            execution.execution_id,
            execution.status,
            execution.parent_facing_error().message
        );
    }
    let output: durable_execution::ParentResult<(), u32> = execution.output()?;
    ensure!(
        output.children.len() == children as usize
            && output
                .children
                .iter()
                .zip(0..children)
                .all(|(a, b)| *a == b),
        "the fan-out parent's output does not list its {children} children in spawn order"
    );
    ensure!(
        runs.load(Ordering::Relaxed) == u64::from(children),
        "{} child runs for {children} children",
        runs.load(Ordering::Relaxed)
    );
    executor.shutdown(Duration::from_secs(5)).await?;
    fresh.cleanup().await?;
    Ok((
        FanoutResult {
            wall_s: wall.as_secs_f64(),
        },
        observed,
    ))
}

/// What the heartbeat case measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeartbeatLoad {
    /// `n_tup_hot_upd / n_tup_upd` of the heartbeats alone.
    pub(crate) hot_ratio: f64,
    /// Mean time of one batched heartbeat call, in milliseconds.
    pub(crate) call_ms: f64,
}

/// Reads `(n_tup_upd, n_tup_hot_upd)` of the table once its counters show
/// at least `expected` updates (statistics are flushed asynchronously by
/// the backends that made the updates: polled for up to 30 s).
async fn table_updates(
    client: &tokio_postgres::Client,
    schema: &str,
    expected: i64,
) -> Result<(i64, i64)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = client
            .query_one(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables \
                 WHERE schemaname = $1 AND relname = 'task_executions'",
                &[&schema],
            )
            .await
            .context("cannot read pg_stat_user_tables")?;
        let (upd, hot): (i64, i64) = (row.get(0), row.get(1));
        if upd >= expected {
            return Ok((upd, hot));
        }
        ensure!(
            Instant::now() < deadline,
            "pg_stat_user_tables shows {upd} updates after 30 s, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A heartbeat-only load on PostgreSQL: `runs` executions are claimed,
/// then extended with one batched [`Storage::heartbeat`] call per round,
/// `rounds` times; the HOT ratio is that of the heartbeats' updates alone
/// (`pg_stat_user_tables`, before and after). The table keeps the
/// fillfactor the migrations give it (the spec's `table.postgres.fillfactor`)
/// unless `fillfactor` overrides it.
pub(crate) async fn heartbeat_load(
    pg_url: &str,
    runs: usize,
    rounds: usize,
    fillfactor: Option<u8>,
) -> Result<HeartbeatLoad> {
    let fresh = Fresh::new(Backend::Postgres, pg_url).await?;
    let Some((url, schema)) = fresh.postgres_schema() else {
        bail!("not a PostgreSQL storage");
    };
    let client = crate::backend::pg_client(url).await?;
    if let Some(fillfactor) = fillfactor {
        client
            .batch_execute(&format!(
                "ALTER TABLE {schema}.task_executions SET (fillfactor = {fillfactor})"
            ))
            .await
            .context("cannot set the table's fillfactor")?;
    }
    let task = Task::new(
        "bench_heartbeat",
        |_ctx: TaskContext, _i: usize| async move { Ok::<_, TaskError>(()) },
    );
    // Never started: only enqueues.
    let executor = Executor::builder(fresh.storage.clone())
        .options(executor_options()?)
        .register(&task)
        .build()?;
    executor.enqueue_many(&task, 0..runs).await?;
    let now = durable_execution::model::now_millis();
    let lease_ms = 30_000;
    let claimed = fresh
        .storage
        .claim_ready("de_bench", now, u32::try_from(runs)?, 300_000, lease_ms)
        .await?;
    ensure!(claimed.len() == runs, "claimed {} of {runs}", claimed.len());
    let refs: Vec<RunRef> = claimed
        .into_iter()
        .map(|row| row.map(|row| RunRef::new(row.execution_id, row.attempt)))
        .collect::<Result<_, _>>()
        .map_err(|corrupt| anyhow::anyhow!("{corrupt}"))?;
    // The claim's updates (not HOT: they change indexed columns).
    let before = table_updates(&client, schema, i64::try_from(runs)?).await?;
    let mut spent = Duration::ZERO;
    for round in 0..rounds {
        let now = durable_execution::model::now_millis();
        let start = Instant::now();
        let extended = fresh
            .storage
            .heartbeat("de_bench", now, lease_ms, &refs)
            .await?;
        spent += start.elapsed();
        ensure!(
            extended.len() == runs,
            "round {round}: extended {} of {runs}",
            extended.len()
        );
    }
    let heartbeats = i64::try_from(runs * rounds)?;
    let after = table_updates(&client, schema, before.0 + heartbeats).await?;
    let updates = after.0 - before.0;
    let hot = after.1 - before.1;
    ensure!(updates > 0, "no heartbeat update was counted");
    #[allow(clippy::cast_precision_loss)]
    let result = HeartbeatLoad {
        hot_ratio: hot as f64 / updates as f64,
        call_ms: spent.as_secs_f64() * 1000.0 / rounds.max(1) as f64,
    };
    drop(executor);
    drop(client);
    fresh.cleanup().await?;
    Ok(result)
}
