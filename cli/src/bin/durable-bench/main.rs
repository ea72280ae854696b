//! `durable-bench`: throughput, workflow, latency and memory of the
//! executor on the in-memory, SQLite and PostgreSQL backends, printed as one
//! Markdown table.
//!
//! ```text
//! cargo run --release --bin durable-bench -- --backends memory,sqlite,postgres
//! cargo run --release --bin durable-bench -- --smoke
//! cargo run --release --bin durable-bench -- --backends sqlite,postgres --cases fanout --children 100000
//! ```
//!
//! Every run uses a fresh storage (a new SQLite file, a new PostgreSQL
//! schema) and checks that every execution completed with the expected
//! output; any failure exits non-zero.

use anyhow::{Context as _, Result, bail};
use backend::Backend;
use cases::{Observed, WorkflowSize};
use clap::{Parser, ValueEnum};
use measure::summary;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

mod backend;
mod cases;
mod ceiling;
mod dbcost;
mod enqueue;
mod measure;

/// Benchmarks durable-execution on its storage backends.
#[derive(Debug, Parser)]
#[command(name = "durable-bench", version)]
struct Args {
    /// Backends to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Memory, Backend::Sqlite, Backend::Postgres])]
    backends: Vec<Backend>,
    /// Cases to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Case::Bulk, Case::OneByOne, Case::Workflow, Case::FullWorkflow, Case::Latency, Case::ConcurrentEnqueue])]
    cases: Vec<Case>,
    /// Task counts of the throughput cases, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [5_000u64, 50_000])]
    n: Vec<u64>,
    /// Repetitions of each case (the table shows median and range).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Tasks of the latency case.
    #[arg(long, default_value_t = 200)]
    latency_tasks: usize,
    /// Children of the one parent of the fan-out case.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    children: u32,
    /// Running executions of the heartbeat case.
    #[arg(long, default_value_t = 200)]
    heartbeat_runs: usize,
    /// Heartbeat rounds of the heartbeat case.
    #[arg(long, default_value_t = 50)]
    heartbeat_rounds: usize,
    /// Overrides of the table's fillfactor for the heartbeat case,
    /// comma-separated (100: PostgreSQL's default); each runs the case once
    /// after `ALTER TABLE ... SET (fillfactor = N)`. Absent: the table as the
    /// migrations leave it (the spec sets 70).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u8).range(10..=100))]
    heartbeat_fillfactor: Vec<u8>,
    /// Enqueues of the `concurrent-enqueue` case (all callers together).
    #[arg(long, default_value_t = 20_000)]
    enqueue_n: u64,
    /// Tasks per run of the `db-cost` case.
    #[arg(long, default_value_t = 20_000)]
    cost_n: u64,
    /// Executor process counts of the `db-cost` case, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize])]
    processes: Vec<usize>,
    /// Idle connections that only `LISTEN`, besides the `db-cost` workers.
    #[arg(long, default_value_t = 0)]
    idle_listeners: usize,
    /// Internal: run an executor on this PostgreSQL schema until stdin
    /// closes (a `db-cost` worker).
    #[arg(long, hide = true, value_name = "SCHEMA")]
    child_worker: Option<String>,
    /// A quick check (tiny sizes, 1 repetition): fails unless every
    /// execution completed.
    #[arg(long)]
    smoke: bool,
    /// Tasks of each ceiling run (the minimal batched lifecycle straight
    /// through the driver, see docs/benchmarks.md).
    #[arg(long, default_value_t = 20_000)]
    ceiling_n: u64,
    /// PostgreSQL server; each run creates and drops its own schema there.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres_url: String,
    /// Internal: run one bulk case of `N` tasks on the first backend in this
    /// (fresh) process and print its measurements on one line.
    #[arg(long, hide = true, value_name = "N")]
    child_bulk: Option<u64>,
    /// Internal: run one fan-out case of `N` children on the first backend
    /// in this (fresh) process and print its measurements on one line.
    #[arg(long, hide = true, value_name = "N")]
    child_fanout: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Case {
    /// Trivial tasks enqueued with `enqueue_many`.
    Bulk,
    /// Trivial tasks enqueued one by one by 4 concurrent enqueuers.
    OneByOne,
    /// 100 parents × 50 children + finalize, and 100 chains of 4.
    Workflow,
    /// The original's full workflow shape: the workflow case plus 100
    /// looping tasks of 3 iterations.
    FullWorkflow,
    /// Enqueue-to-start latency on an idle executor.
    Latency,
    /// One parent spawning `--children` children (not in the default set).
    Fanout,
    /// PostgreSQL only: a heartbeat-only load (`--heartbeat-runs` running
    /// executions extended `--heartbeat-rounds` times) and the share of its
    /// updates that are HOT (not in the default set).
    Heartbeat,
    /// Nothing but the ceiling, which every run measures anyway (not in
    /// the default set).
    Ceiling,
    /// 32 callers each enqueueing one task per call in a loop (group
    /// commit), and the enqueue latency of an idle single caller.
    ConcurrentEnqueue,
    /// PostgreSQL only: database cost per task (server CPU, WAL, commits,
    /// row versions, NOTIFYs) with `--processes` executor processes (not in
    /// the default set).
    DbCost,
}

/// A target to compare a median against.
#[derive(Debug, Clone, Copy)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Self::AtLeast(t) => value >= t,
            Self::AtMost(t) => value <= t,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Unit {
    PerSecond,
    Seconds,
    Millis,
    MiB,
    Ratio,
    Fraction,
    Bytes,
}

impl Unit {
    fn format(self, value: f64) -> String {
        match self {
            Self::PerSecond => thousands(value.round() as u64),
            Self::Seconds => format!("{value:.2} s"),
            Self::Millis => format!("{value:.2} ms"),
            Self::MiB => format!("{value:.1} MiB"),
            Self::Ratio => format!("{value:.2}×"),
            Self::Fraction => format!("{value:.3}"),
            Self::Bytes => format!("{} B", thousands(value.max(0.0).round() as u64)),
        }
    }
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One row of the table.
struct Row {
    backend: Backend,
    case: String,
    unit: Unit,
    values: Vec<f64>,
    observed: Vec<Observed>,
    target: Option<Target>,
}

fn throughput_target(backend: Backend) -> Target {
    Target::AtLeast(match backend {
        Backend::Memory => 100_000.0,
        Backend::Sqlite => 25_000.0,
        Backend::Postgres => 10_000.0,
    })
}

fn workflow_target(backend: Backend) -> Option<Target> {
    match backend {
        Backend::Memory => None,
        Backend::Sqlite => Some(Target::AtMost(1.0)),
        Backend::Postgres => Some(Target::AtMost(1.5)),
    }
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_owned();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores ({model}), {mem_gib:.1} GiB RAM")
}

/// The 1-minute load average (other processes compete for the cores).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

async fn postgres_version(url: &str) -> Result<String> {
    let client = backend::pg_client(url).await?;
    let row = client.query_one("SHOW server_version", &[]).await?;
    Ok(row.get::<_, String>(0))
}

/// The prefix of the line a `--child-bulk` process prints.
const CHILD_LINE: &str = "durable-bench-child";

/// Runs one bulk case in a fresh process of this program, so that its peak
/// RSS is not inflated by memory an earlier run left to the allocator.
async fn bulk_in_child(backend: Backend, pg_url: &str, n: u64) -> Result<(f64, Observed)> {
    in_child(backend, pg_url, "--child-bulk", n.to_string()).await
}

/// Runs one fan-out case in a fresh process of this program (see
/// [`bulk_in_child`]).
async fn fanout_in_child(backend: Backend, pg_url: &str, children: u32) -> Result<(f64, Observed)> {
    in_child(backend, pg_url, "--child-fanout", children.to_string()).await
}

/// Runs this program with `flag value` on `backend` and reads the
/// measurement line it prints.
async fn in_child(
    backend: Backend,
    pg_url: &str,
    flag: &str,
    value: String,
) -> Result<(f64, Observed)> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let args = vec![
        "--backends".to_owned(),
        backend.name().to_owned(),
        "--postgres-url".to_owned(),
        pg_url.to_owned(),
        flag.to_owned(),
        value,
    ];
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
    })
    .await?
    .context("cannot run the child process")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "the child process failed ({}); see its error above",
            output.status
        );
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(CHILD_LINE))
        .context("the child process printed no measurement")?;
    let fields: Vec<f64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("bad measurement line from the child process")?;
    let [
        value,
        own_cpu,
        pg_cpu,
        calls_per_exec,
        mean_call_ms,
        rss_kb,
        anon_kb,
    ] = fields.as_slice()
    else {
        bail!("bad measurement line from the child process: {line}");
    };
    Ok((
        *value,
        Observed {
            own_cpu: *own_cpu,
            pg_cpu: *pg_cpu,
            calls_per_exec: *calls_per_exec,
            mean_call_ms: *mean_call_ms,
            rss: measure::RssPeaks {
                rss_kb: *rss_kb as u64,
                anon_kb: *anon_kb as u64,
            },
        },
    ))
}

/// The `--child-bulk` and `--child-fanout` processes.
async fn child_run(args: &Args) -> Result<()> {
    let backend = *args
        .backends
        .first()
        .context("--child-bulk and --child-fanout need one backend")?;
    let (value, o) = match (args.child_bulk, args.child_fanout) {
        (Some(n), _) => cases::bulk(backend, &args.postgres_url, n).await?,
        (None, Some(children)) => {
            let (result, observed) = cases::fanout(backend, &args.postgres_url, children).await?;
            (result.wall_s, observed)
        }
        (None, None) => bail!("neither --child-bulk nor --child-fanout"),
    };
    println!(
        "{CHILD_LINE} {value} {} {} {} {} {} {}",
        o.own_cpu, o.pg_cpu, o.calls_per_exec, o.mean_call_ms, o.rss.rss_kb, o.rss.anon_kb
    );
    Ok(())
}

async fn run(args: Args) -> Result<()> {
    if args.child_bulk.is_some() || args.child_fanout.is_some() {
        return child_run(&args).await;
    }
    if let Some(schema) = &args.child_worker {
        return dbcost::worker(&args.postgres_url, schema).await;
    }
    let mut extra_tables: Vec<String> = Vec::new();
    let (ns, reps, workflow_size, latency_tasks, gap, fanout_children) = if args.smoke {
        (
            vec![300],
            1,
            WorkflowSize {
                parents: 10,
                children: 10,
                chains: 10,
                loops: 10,
            },
            20,
            (2, 5),
            300,
        )
    } else {
        (
            args.n.clone(),
            args.reps.max(1),
            WorkflowSize {
                parents: 100,
                children: 50,
                chains: 100,
                loops: 100,
            },
            args.latency_tasks.max(1),
            (5, 20),
            args.children,
        )
    };
    // The smoke run covers every case, the fan-out and db-cost included.
    let mut cases: Vec<Case> = args.cases.clone();
    if args.smoke {
        for extra in [Case::Fanout, Case::DbCost] {
            if !cases.contains(&extra) {
                cases.push(extra);
            }
        }
    }
    if args.backends.contains(&Backend::Postgres) && !args.postgres_url.starts_with("postgres") {
        bail!(
            "--postgres-url (or DATABASE_URL) `{}` is not a postgres:// URL",
            args.postgres_url
        );
    }
    let pg_url = args.postgres_url.as_str();
    let started = Instant::now();
    let load_before = load_average();
    let mut rows: Vec<Row> = Vec::new();
    let mut executions = 0u64;
    let mut ceilings: Vec<(Backend, f64)> = Vec::new();
    let ceiling_n = if args.smoke { 300 } else { args.ceiling_n };
    for &backend in &args.backends {
        if let Some(row) = ceiling_row(backend, pg_url, ceiling_n, reps).await? {
            executions += ceiling_n.div_ceil(ceiling::BATCH) * ceiling::BATCH * reps as u64;
            ceilings.push((backend, summary(&row.values).0));
            rows.push(row);
        }
        for &case in &cases {
            match case {
                Case::Bulk | Case::OneByOne => {
                    for &n in &ns {
                        let name = match case {
                            Case::Bulk => format!("bulk enqueue, N={} (tasks/s)", thousands(n)),
                            _ => format!("one-by-one enqueue, N={} (tasks/s)", thousands(n)),
                        };
                        let mut row = Row {
                            backend,
                            case: name,
                            unit: Unit::PerSecond,
                            values: Vec::new(),
                            observed: Vec::new(),
                            target: (case == Case::Bulk).then(|| throughput_target(backend)),
                        };
                        for rep in 1..=reps {
                            let (value, observed) = match case {
                                Case::Bulk => bulk_in_child(backend, pg_url, n).await,
                                _ => cases::one_by_one(backend, pg_url, n).await,
                            }
                            .with_context(|| format!("{} {}", backend.name(), row.case))?;
                            eprintln!(
                                "{:8} {} rep {rep}/{reps}: {}",
                                backend.name(),
                                row.case,
                                row.unit.format(value)
                            );
                            executions += n;
                            row.values.push(value);
                            row.observed.push(observed);
                        }
                        rows.push(row);
                    }
                }
                Case::Workflow | Case::FullWorkflow => {
                    let workflow_size = if case == Case::Workflow {
                        WorkflowSize {
                            loops: 0,
                            ..workflow_size
                        }
                    } else {
                        workflow_size
                    };
                    let mut label = format!(
                        "workflow {}×{} + {} chains of 4",
                        workflow_size.parents, workflow_size.children, workflow_size.chains
                    );
                    if workflow_size.loops > 0 {
                        label.push_str(&format!(
                            " + {} loops of {}",
                            workflow_size.loops,
                            cases::LOOP_ITERATIONS
                        ));
                    }
                    let mut wall = Row {
                        backend,
                        case: format!("{label}: wall time"),
                        unit: Unit::Seconds,
                        values: Vec::new(),
                        observed: Vec::new(),
                        target: workflow_target(backend).filter(|_| case == Case::Workflow),
                    };
                    let mut rate = Row {
                        backend,
                        case: format!("{label} (executions/s)"),
                        unit: Unit::PerSecond,
                        values: Vec::new(),
                        observed: Vec::new(),
                        target: None,
                    };
                    for rep in 1..=reps {
                        let (result, observed) = cases::workflow(backend, pg_url, workflow_size)
                            .await
                            .with_context(|| format!("{} {label}", backend.name()))?;
                        eprintln!(
                            "{:8} {label} rep {rep}/{reps}: {:.3} s, {:.0} executions/s",
                            backend.name(),
                            result.wall_s,
                            result.per_second
                        );
                        executions += workflow_size.executions();
                        wall.values.push(result.wall_s);
                        wall.observed.push(observed);
                        rate.values.push(result.per_second);
                        rate.observed.push(observed);
                    }
                    rows.push(wall);
                    rows.push(rate);
                }
                Case::Latency => {
                    let label = format!(
                        "latency, {latency_tasks} tasks at {}–{} ms gaps",
                        gap.0, gap.1
                    );
                    // With claiming at enqueue (the default, the rows the
                    // targets apply to) and without it (the claimer's path:
                    // a commit more), interleaved rep by rep.
                    let rows_of = |variant: &str, target: bool| {
                        let row = |quantile: &str, limit: f64| Row {
                            backend,
                            case: format!("{label}{variant}: {quantile}"),
                            unit: Unit::Millis,
                            values: Vec::new(),
                            observed: Vec::new(),
                            target: target.then_some(Target::AtMost(limit)),
                        };
                        (row("p50", 1.0), row("p99", 5.0))
                    };
                    let mut variants = [
                        (true, rows_of("", true)),
                        (false, rows_of(", claim at enqueue off", false)),
                    ];
                    for rep in 1..=reps {
                        for (claim_at_enqueue, (p50, p99)) in &mut variants {
                            let (result, observed) = cases::latency(
                                backend,
                                pg_url,
                                latency_tasks,
                                gap,
                                *claim_at_enqueue,
                            )
                            .await
                            .with_context(|| format!("{} {label}", backend.name()))?;
                            eprintln!(
                                "{:8} {label} (claim at enqueue {}) rep {rep}/{reps}: p50 {:.2} ms, p99 {:.2} ms",
                                backend.name(),
                                if *claim_at_enqueue { "on" } else { "off" },
                                result.p50_ms,
                                result.p99_ms
                            );
                            executions += latency_tasks as u64;
                            p50.values.push(result.p50_ms);
                            p50.observed.push(observed);
                            p99.values.push(result.p99_ms);
                            p99.observed.push(observed);
                        }
                    }
                    for (_, (p50, p99)) in variants {
                        rows.push(p50);
                        rows.push(p99);
                    }
                }
                Case::Heartbeat => {
                    if backend != Backend::Postgres {
                        continue;
                    }
                    let (runs, rounds) = if args.smoke {
                        (20, 3)
                    } else {
                        (args.heartbeat_runs.max(1), args.heartbeat_rounds.max(1))
                    };
                    let overrides: Vec<Option<u8>> = if args.heartbeat_fillfactor.is_empty() {
                        vec![None]
                    } else {
                        args.heartbeat_fillfactor
                            .iter()
                            .copied()
                            .map(Some)
                            .collect()
                    };
                    for fillfactor in overrides {
                        let label = match fillfactor {
                            Some(f) => format!(
                                "heartbeat-only load, {runs} running executions × {rounds} rounds, fillfactor {f} (override)"
                            ),
                            None => format!(
                                "heartbeat-only load, {runs} running executions × {rounds} rounds, fillfactor as migrated"
                            ),
                        };
                        let mut hot = Row {
                            backend,
                            case: format!("{label}: HOT ratio (n_tup_hot_upd / n_tup_upd)"),
                            unit: Unit::Fraction,
                            values: Vec::new(),
                            observed: Vec::new(),
                            target: (fillfactor.unwrap_or(70) < 100)
                                .then_some(Target::AtLeast(0.95)),
                        };
                        let mut call = Row {
                            backend,
                            case: format!("{label}: one batched heartbeat call"),
                            unit: Unit::Millis,
                            values: Vec::new(),
                            observed: Vec::new(),
                            target: None,
                        };
                        for rep in 1..=reps {
                            let result = cases::heartbeat_load(pg_url, runs, rounds, fillfactor)
                                .await
                                .with_context(|| format!("{} {label}", backend.name()))?;
                            eprintln!(
                                "{:8} {label} rep {rep}/{reps}: HOT ratio {:.3}, {:.2} ms per call",
                                backend.name(),
                                result.hot_ratio,
                                result.call_ms
                            );
                            hot.values.push(result.hot_ratio);
                            call.values.push(result.call_ms);
                        }
                        rows.push(hot);
                        rows.push(call);
                    }
                }
                Case::Ceiling => {}
                Case::ConcurrentEnqueue => {
                    let size = if args.smoke {
                        enqueue::EnqueueSize { n: 300, probes: 20 }
                    } else {
                        enqueue::EnqueueSize {
                            n: args.enqueue_n,
                            probes: 200,
                        }
                    };
                    enqueue::rows(backend, pg_url, size, reps, &mut rows, &mut executions).await?;
                }
                Case::DbCost => {
                    if backend == Backend::Postgres {
                        let size = dbcost::CostSize {
                            n: if args.smoke { 300 } else { args.cost_n },
                            processes: args.processes.clone(),
                            idle_listeners: args.idle_listeners,
                        };
                        let table = dbcost::run(pg_url, &size, reps).await?;
                        executions += size.n * (reps * size.processes.len()) as u64;
                        extra_tables.push(table);
                    }
                }
                Case::Fanout => {
                    let label = format!(
                        "fan-out, 1 parent × {} children",
                        thousands(u64::from(fanout_children))
                    );
                    let mut wall = Row {
                        backend,
                        case: format!("{label}: wall time"),
                        unit: Unit::Seconds,
                        values: Vec::new(),
                        observed: Vec::new(),
                        target: (fanout_children >= 100_000).then_some(Target::AtMost(10.0)),
                    };
                    let mut rss = Row {
                        backend,
                        case: format!("{label}: peak RSS"),
                        unit: Unit::MiB,
                        values: Vec::new(),
                        observed: Vec::new(),
                        target: (fanout_children >= 100_000).then_some(Target::AtMost(250.0)),
                    };
                    for rep in 1..=reps {
                        let (wall_s, observed) = fanout_in_child(backend, pg_url, fanout_children)
                            .await
                            .with_context(|| format!("{} {label}", backend.name()))?;
                        let peak_mib = observed.rss.rss_kb as f64 / 1024.0;
                        eprintln!(
                            "{:8} {label} rep {rep}/{reps}: {wall_s:.3} s, peak RSS {peak_mib:.1} MiB",
                            backend.name(),
                        );
                        executions += u64::from(fanout_children) + 1;
                        wall.values.push(wall_s);
                        wall.observed.push(observed);
                        rss.values.push(peak_mib);
                    }
                    rows.push(wall);
                    rows.push(rss);
                }
            }
        }
        memory_rows(backend, &ns, &mut rows);
    }
    let pg_version = if args.backends.contains(&Backend::Postgres) {
        Some(postgres_version(pg_url).await?)
    } else {
        None
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {}, load average {load_before} at start and {} at end; {} build; PostgreSQL {}; {} repetition{} per case (median, min–max).",
        machine(),
        load_average(),
        if cfg!(debug_assertions) {
            "debug (not representative)"
        } else {
            "release"
        },
        pg_version.as_deref().unwrap_or("not used"),
        reps,
        if reps == 1 { "" } else { "s" }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| backend | case | median | range | of ceiling | target | met | client CPU | PG CPU | storage calls/exec | mean call |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|:-:|---:|---:|---:|---:|");
    for row in &rows {
        let (median, min, max) = summary(&row.values);
        let mean = |f: &dyn Fn(&Observed) -> f64| {
            if row.observed.is_empty() {
                f64::NAN
            } else {
                row.observed.iter().map(f).sum::<f64>() / row.observed.len() as f64
            }
        };
        let (target, met) = match row.target {
            Some(target) => {
                let text = match target {
                    Target::AtLeast(t) => format!("≥ {}", row.unit.format(t)),
                    Target::AtMost(t) => format!("≤ {}", row.unit.format(t)),
                };
                (text, if target.met(median) { "yes" } else { "**no**" })
            }
            None => ("—".to_owned(), ""),
        };
        let diagnostics = if row.observed.is_empty() {
            "| | | |".to_owned()
        } else {
            let calls = mean(&|o| o.calls_per_exec);
            format!(
                "{:.2} | {} | {} | {} |",
                mean(&|o| o.own_cpu),
                if row.backend == Backend::Postgres {
                    format!("{:.2}", mean(&|o| o.pg_cpu))
                } else {
                    "—".to_owned()
                },
                // The ceiling makes no storage calls (NaN).
                if calls.is_nan() {
                    "—".to_owned()
                } else {
                    format!("{calls:.2}")
                },
                if calls.is_nan() {
                    "—".to_owned()
                } else {
                    format!("{:.2} ms", mean(&|o| o.mean_call_ms))
                }
            )
        };
        let of_ceiling = match (row.unit, ceilings.iter().find(|(b, _)| *b == row.backend)) {
            (Unit::PerSecond, Some((_, ceiling))) if *ceiling > 0.0 => {
                Unit::Ratio.format(median / ceiling)
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}–{} | {of_ceiling} | {target} | {met} | {diagnostics}",
            row.backend.name(),
            row.case,
            row.unit.format(median),
            row.unit.format(min),
            row.unit.format(max),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "CPU in cores (1.00 = one core busy) averaged over the runs: client = this process (executor, storage driver, SQLite), PG = every local `postgres` process. {} executions in {:.1} s.",
        thousands(executions),
        started.elapsed().as_secs_f64()
    );
    for table in &extra_tables {
        out.push_str(table);
    }
    print!("{out}");
    if args.smoke {
        println!(
            "smoke: OK, all {} executions completed with the expected outputs",
            thousands(executions)
        );
    }
    Ok(())
}

/// The row of the ceiling of `backend` (`reps` runs of `n` tasks), the
/// denominator of the `of ceiling` column; `None` for the memory backend.
async fn ceiling_row(backend: Backend, pg_url: &str, n: u64, reps: usize) -> Result<Option<Row>> {
    let mut row = Row {
        backend,
        case: format!(
            "ceiling: insert, claim, finish (closes) of {} per statement, one writer (tasks/s)",
            ceiling::BATCH
        ),
        unit: Unit::PerSecond,
        values: Vec::new(),
        observed: Vec::new(),
        target: None,
    };
    for rep in 1..=reps {
        let Some(run) = ceiling::run(backend, pg_url, n)
            .await
            .with_context(|| format!("{} ceiling", backend.name()))?
        else {
            return Ok(None);
        };
        eprintln!(
            "{:8} ceiling rep {rep}/{reps}: {} tasks/s",
            backend.name(),
            thousands(run.per_second.round() as u64)
        );
        row.values.push(run.per_second);
        row.observed.push(Observed {
            own_cpu: run.own_cpu,
            pg_cpu: run.pg_cpu,
            calls_per_exec: f64::NAN,
            mean_call_ms: f64::NAN,
            rss: measure::RssPeaks::default(),
        });
    }
    Ok(Some(row))
}

/// Peak RSS rows from the bulk runs: one per size, and the ratio of the
/// largest to the smallest size.
fn memory_rows(backend: Backend, ns: &[u64], rows: &mut Vec<Row>) {
    for (what, pick) in [
        (
            "peak RSS",
            (|o: &Observed| o.rss.rss_kb) as fn(&Observed) -> u64,
        ),
        ("peak anonymous RSS", |o: &Observed| o.rss.anon_kb),
    ] {
        let mut peaks: Vec<(u64, Vec<f64>)> = Vec::new();
        for &n in ns {
            let case = format!("bulk enqueue, N={} (tasks/s)", thousands(n));
            if let Some(row) = rows.iter().find(|r| r.backend == backend && r.case == case) {
                let mib: Vec<f64> = row
                    .observed
                    .iter()
                    .map(|o| pick(o) as f64 / 1024.0)
                    .collect();
                peaks.push((n, mib));
            }
        }
        for (n, mib) in &peaks {
            rows.push(Row {
                backend,
                case: format!("{what} during bulk N={}", thousands(*n)),
                unit: Unit::MiB,
                values: mib.clone(),
                observed: Vec::new(),
                target: None,
            });
        }
        if let (Some(small), Some(large)) = (
            peaks.iter().min_by_key(|(n, _)| *n),
            peaks.iter().max_by_key(|(n, _)| *n),
        ) && large.0 > small.0
        {
            let (small_median, _, _) = summary(&small.1);
            let ratios: Vec<f64> = large.1.iter().map(|l| l / small_median).collect();
            rows.push(Row {
                backend,
                case: format!("{what} N={} / N={}", thousands(large.0), thousands(small.0)),
                unit: Unit::Ratio,
                values: ratios,
                observed: Vec::new(),
                target: None,
            });
            // The growth with the backlog: each run of the largest size
            // minus the median of the smallest. The SQL backends keep the
            // backlog in the database, so it must stay within 16 MiB; the
            // memory backend keeps every row, so its growth is stated per
            // retained execution instead.
            let growth: Vec<f64> = large.1.iter().map(|l| l - small_median).collect();
            rows.push(Row {
                backend,
                case: format!("{what} N={} − N={}", thousands(large.0), thousands(small.0)),
                unit: Unit::MiB,
                values: growth.clone(),
                observed: Vec::new(),
                target: (backend != Backend::Memory).then_some(Target::AtMost(16.0)),
            });
            if backend == Backend::Memory {
                let extra = (large.0 - small.0) as f64;
                rows.push(Row {
                    backend,
                    case: format!(
                        "{what} per retained execution (N={} − N={})",
                        thousands(large.0),
                        thousands(small.0)
                    ),
                    unit: Unit::Bytes,
                    values: growth
                        .iter()
                        .map(|mib| mib * 1024.0 * 1024.0 / extra)
                        .collect(),
                    observed: Vec::new(),
                    target: None,
                });
            }
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", format!("{error:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
