//! The `concurrent-enqueue` case: group commit of single enqueues
//! (`src/executor/runtime/enqueue.rs`).
//!
//! - **32 callers in a loop**: 32 tasks each call `Executor::enqueue` for
//!   one trivial task, again and again, until N are enqueued, on a started
//!   executor that runs them meanwhile; enqueues/s until the last enqueue
//!   returned (then every task must complete). The same run with
//!   `enqueue_many` of one execution per call, which bypasses the batcher
//!   (one insert per call, as `enqueue` did before), gives the ratio.
//! - **Idle single caller**: one caller, an idle executor, enqueues at random
//!   gaps of 2–5 ms; the duration of each call (p50, p99), alternating
//!   `enqueue` and the unbatched `enqueue_many` of one in the same run.

use crate::backend::{Backend, Fresh};
use crate::cases::{Observed, executor_options, wait_completed};
use crate::measure::{CpuSnapshot, quantile};
use crate::{Row, Target, Unit};
use anyhow::{Context as _, Result};
use durable_execution::{Executor, Task, TaskContext, TaskError};
use rand::Rng as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Concurrent callers of the throughput case.
pub(crate) const CALLERS: u64 = 32;

/// Sizes of one `concurrent-enqueue` run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnqueueSize {
    /// Enqueues of the throughput case (all callers together).
    pub(crate) n: u64,
    /// Calls of each kind in the idle-latency case.
    pub(crate) probes: usize,
}

impl Row {
    /// An empty row.
    pub(crate) fn new(backend: Backend, case: String, unit: Unit, target: Option<Target>) -> Self {
        Self {
            backend,
            case,
            unit,
            values: Vec::new(),
            observed: Vec::new(),
            target,
        }
    }
}

fn trivial(runs: Arc<AtomicU64>) -> Task<u64, u64> {
    Task::new("bench_trivial", move |_ctx: TaskContext, i: u64| {
        runs.fetch_add(1, Ordering::Relaxed);
        async move { Ok::<_, TaskError>(i) }
    })
}

/// One throughput run: `CALLERS` callers until `n` enqueues, batched
/// (`enqueue`) or not (`enqueue_many` of one). Returns enqueues/s.
async fn throughput(
    backend: Backend,
    pg_url: &str,
    n: u64,
    batched: bool,
) -> Result<(f64, Observed)> {
    let fresh = Fresh::new(backend, pg_url).await?;
    let runs = Arc::new(AtomicU64::new(0));
    let task = trivial(runs.clone());
    let executor = Executor::builder(fresh.storage.clone())
        .options(executor_options()?)
        .register(&task)
        .build()?;
    executor.start()?;
    let deadline = Instant::now() + Duration::from_secs(300);
    let next = Arc::new(AtomicU64::new(0));
    let cpu = CpuSnapshot::now();
    let calls = fresh.storage.snapshot();
    let start = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (executor, task, next) = (executor.clone(), task.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<_, durable_execution::ExecutorError>(());
                    }
                    if batched {
                        executor.enqueue(&task, i).await?;
                    } else {
                        executor.enqueue_many(&task, [i]).await?;
                    }
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.context("enqueuer panicked")??;
    }
    let wall = start.elapsed();
    let (own_cpu, pg_cpu) = CpuSnapshot::now().cores_since(&cpu, wall);
    let (calls_now, micros_now) = fresh.storage.snapshot();
    if std::env::var_os("DURABLE_BENCH_CALLS").is_some() {
        eprintln!(
            "  storage calls ({:.0} ms wall): {}",
            wall.as_secs_f64() * 1000.0,
            fresh.storage.per_method()
        );
    }
    wait_completed(fresh.storage.as_ref(), &runs, task.id(), n, deadline).await?;
    let observed = Observed {
        own_cpu,
        pg_cpu,
        calls_per_exec: (calls_now - calls.0) as f64 / n.max(1) as f64,
        mean_call_ms: (micros_now - calls.1) as f64 / 1000.0 / (calls_now - calls.0).max(1) as f64,
        ..Observed::default()
    };
    executor.shutdown(Duration::from_secs(5)).await?;
    fresh.cleanup().await?;
    Ok((n as f64 / wall.as_secs_f64(), observed))
}

/// Enqueue call durations on an idle executor, in ms: `(batched, unbatched)`.
async fn idle_latency(
    backend: Backend,
    pg_url: &str,
    probes: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let fresh = Fresh::new(backend, pg_url).await?;
    let runs = Arc::new(AtomicU64::new(0));
    let task = trivial(runs.clone());
    let executor = Executor::builder(fresh.storage.clone())
        .options(executor_options()?)
        .register(&task)
        .build()?;
    executor.start()?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut batched, mut unbatched) = (Vec::new(), Vec::new());
    for i in 0..probes as u64 * 2 {
        let gap = rand::rng().random_range(2..=5);
        tokio::time::sleep(Duration::from_millis(gap)).await;
        let start = Instant::now();
        if i % 2 == 0 {
            executor.enqueue(&task, i).await?;
            batched.push(start.elapsed().as_secs_f64() * 1000.0);
        } else {
            executor.enqueue_many(&task, [i]).await?;
            unbatched.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    wait_completed(
        fresh.storage.as_ref(),
        &runs,
        task.id(),
        probes as u64 * 2,
        deadline,
    )
    .await?;
    executor.shutdown(Duration::from_secs(5)).await?;
    fresh.cleanup().await?;
    batched.sort_by(f64::total_cmp);
    unbatched.sort_by(f64::total_cmp);
    Ok((batched, unbatched))
}

/// Runs the case `reps` times on `backend` and appends its rows.
pub(crate) async fn rows(
    backend: Backend,
    pg_url: &str,
    size: EnqueueSize,
    reps: usize,
    rows: &mut Vec<Row>,
    executions: &mut u64,
) -> Result<()> {
    let label = format!(
        "{CALLERS} concurrent callers, N={}",
        crate::thousands(size.n)
    );
    let mut batched = Row::new(
        backend,
        format!("{label}: enqueue, group commit (enqueues/s)"),
        Unit::PerSecond,
        Some(Target::AtLeast(10_000.0)),
    );
    let mut unbatched = Row::new(
        backend,
        format!("{label}: enqueue_many of 1 per call, no batching (enqueues/s)"),
        Unit::PerSecond,
        None,
    );
    let mut ratio = Row::new(
        backend,
        format!("{label}: group commit / no batching"),
        Unit::Ratio,
        None,
    );
    let idle = format!("idle single caller, {} calls each", size.probes);
    let mut idle_rows = [
        Row::new(backend, format!("{idle}: enqueue p50"), Unit::Millis, None),
        Row::new(backend, format!("{idle}: enqueue p99"), Unit::Millis, None),
        Row::new(
            backend,
            format!("{idle}: enqueue_many of 1 (no batching) p50"),
            Unit::Millis,
            None,
        ),
        Row::new(
            backend,
            format!("{idle}: enqueue_many of 1 (no batching) p99"),
            Unit::Millis,
            None,
        ),
    ];
    for rep in 1..=reps {
        // Alternate the order so that neither variant always runs first.
        let order = if rep % 2 == 1 {
            [true, false]
        } else {
            [false, true]
        };
        let mut pair = [0.0; 2];
        for is_batched in order {
            let (value, observed) = throughput(backend, pg_url, size.n, is_batched)
                .await
                .with_context(|| format!("{} {label}", backend.name()))?;
            *executions += size.n;
            let row = if is_batched {
                pair[0] = value;
                &mut batched
            } else {
                pair[1] = value;
                &mut unbatched
            };
            eprintln!(
                "{:8} {} rep {rep}/{reps}: {}",
                backend.name(),
                row.case,
                row.unit.format(value)
            );
            row.values.push(value);
            row.observed.push(observed);
        }
        ratio.values.push(pair[0] / pair[1]);
        let (b, u) = idle_latency(backend, pg_url, size.probes)
            .await
            .with_context(|| format!("{} {idle}", backend.name()))?;
        *executions += size.probes as u64 * 2;
        let values = [
            quantile(&b, 0.5),
            quantile(&b, 0.99),
            quantile(&u, 0.5),
            quantile(&u, 0.99),
        ];
        eprintln!(
            "{:8} {idle} rep {rep}/{reps}: enqueue p50 {:.2} ms p99 {:.2} ms; unbatched p50 {:.2} ms p99 {:.2} ms",
            backend.name(),
            values[0],
            values[1],
            values[2],
            values[3]
        );
        for (row, value) in idle_rows.iter_mut().zip(values) {
            row.values.push(value);
        }
    }
    rows.push(batched);
    rows.push(unbatched);
    rows.push(ratio);
    rows.extend(idle_rows);
    Ok(())
}
