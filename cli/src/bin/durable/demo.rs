//! `durable demo`: a small realistic workflow run end to end, with live
//! progress.
//!
//! The workflow (`demo_workflow`) is a parent task with three children and a
//! finalize:
//!
//! - `demo_crawl`, itself a parent: 4 × `demo_fetch` children (200–500 ms
//!   each) and the finalize `demo_crawl_report`, which checks every page;
//! - `demo_pipeline`, a sequence of 3 steps: `demo_extract` →
//!   `demo_transform` → `demo_load`;
//! - `demo_charge`, which fails on its first attempt and is retried after a
//!   500 ms backoff;
//!
//! and the finalize `demo_summary`, which checks the three outputs.

use crate::db::{self, Open, Target};
use crate::tree::{self, Style};
use anyhow::{Context as _, Result, bail};
use durable_execution::model::{ExecutionStatus, RetryOptions, now_millis};
use durable_execution::storage::{ListFilter, Storage};
use durable_execution::{
    Executor, ExecutorBuilder, ExecutorOptions, FinalizeInput, ParentOutput, ParentTask, Sequence,
    Task, TaskContext, TaskError,
};
use serde::{Deserialize, Serialize};
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

/// The root task id of the demo.
pub(crate) const ROOT_TASK: &str = "demo_workflow";
/// Per-attempt timeout of the demo's tasks: short, so that executions of a
/// killed demo process are recovered quickly (timeout + lease slack).
const TASK_TIMEOUT: Duration = Duration::from_secs(3);
/// Lease slack of the demo's executor.
const LEASE_SLACK: Duration = Duration::from_secs(1);
/// Give up on a demo run after this long.
const DEMO_DEADLINE: Duration = Duration::from_secs(60);

/// The demo's input.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct DemoInput {
    /// Pages `demo_crawl` fetches.
    pages: u32,
    /// Records `demo_pipeline` processes.
    records: u32,
}

/// What `demo_fetch` returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Page {
    page: u32,
    words: u64,
}

/// The tasks of the demo, built once and registered on the executor.
struct Workflow {
    root: ParentTask<DemoInput, (), String>,
    crawl: ParentTask<u32, (), u64>,
    fetch: Task<u32, Page>,
    pipeline: Sequence<u32, u64>,
    charge: Task<(), String>,
}

impl Workflow {
    /// Registers every task (finalize tasks and sequence steps come along).
    fn register(&self, builder: ExecutorBuilder) -> ExecutorBuilder {
        builder
            .register(&self.root)
            .register(&self.crawl)
            .register(&self.fetch)
            .register(&self.pipeline)
            .register(&self.charge)
    }
}

/// Every demo task is retried once more after a crash of its process (its
/// lease expires with `Task expired`), so that a killed demo resumes.
fn crash_retry() -> RetryOptions {
    RetryOptions {
        max_attempts: 2,
        base_delay_ms: Some(100),
        delay_multiplier: None,
        max_delay_ms: None,
        jitter: None,
    }
}

fn sleep_ms(ms: u64) -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(ms))
}

fn workflow() -> Workflow {
    let fetch = Task::new("demo_fetch", |_ctx: TaskContext, page: u32| async move {
        sleep_ms(200 + 100 * u64::from(page)).await;
        Ok::<_, TaskError>(Page {
            page,
            words: 120 + 37 * u64::from(page),
        })
    })
    .timeout(TASK_TIMEOUT)
    .retry(crash_retry());
    let crawl_report = Task::new(
        "demo_crawl_report",
        |_ctx: TaskContext, input: FinalizeInput<u32, (), Page>| async move {
            if input.children.len() != input.input as usize {
                return Err(TaskError::non_retryable(format!(
                    "expected {} pages, got {}",
                    input.input,
                    input.children.len()
                )));
            }
            for (i, page) in input.children.iter().enumerate() {
                if page.page as usize != i {
                    return Err(TaskError::non_retryable(format!(
                        "page {} arrived at position {i}",
                        page.page
                    )));
                }
            }
            Ok(input.children.iter().map(|p| p.words).sum::<u64>())
        },
    )
    .timeout(TASK_TIMEOUT)
    .retry(crash_retry());
    let crawl = {
        let fetch = fetch.clone();
        ParentTask::new("demo_crawl", move |_ctx: TaskContext, pages: u32| {
            let children: Vec<_> = (0..pages).map(|p| fetch.child(p)).collect();
            async move {
                sleep_ms(50).await;
                Ok::<_, TaskError>(ParentOutput::new(()).children(children))
            }
        })
        .timeout(TASK_TIMEOUT)
        .retry(crash_retry())
        .finalize(&crawl_report)
    };

    let extract = Task::new(
        "demo_extract",
        |_ctx: TaskContext, records: u32| async move {
            sleep_ms(250).await;
            Ok::<_, TaskError>((1..=u64::from(records)).collect::<Vec<u64>>())
        },
    )
    .timeout(TASK_TIMEOUT)
    .retry(crash_retry());
    let transform = Task::new(
        "demo_transform",
        |_ctx: TaskContext, rows: Vec<u64>| async move {
            sleep_ms(250).await;
            Ok::<_, TaskError>(rows.into_iter().map(|r| r * r).collect::<Vec<u64>>())
        },
    )
    .timeout(TASK_TIMEOUT)
    .retry(crash_retry());
    let load = Task::new(
        "demo_load",
        |_ctx: TaskContext, rows: Vec<u64>| async move {
            sleep_ms(250).await;
            Ok::<_, TaskError>(rows.iter().sum::<u64>())
        },
    )
    .timeout(TASK_TIMEOUT)
    .retry(crash_retry());
    let pipeline = Sequence::new("demo_pipeline", &extract)
        .then(&transform)
        .then(&load)
        .timeout(TASK_TIMEOUT)
        .retry(crash_retry());

    let charge = Task::new("demo_charge", |ctx: TaskContext, (): ()| async move {
        sleep_ms(80).await;
        if ctx.attempt() == 0 {
            return Err(TaskError::new(
                "payment gateway did not answer (simulated); will retry",
            ));
        }
        Ok::<_, TaskError>(format!("charged on attempt {}", ctx.attempt() + 1))
    })
    .timeout(TASK_TIMEOUT)
    .retry(RetryOptions {
        max_attempts: 3,
        base_delay_ms: Some(500),
        delay_multiplier: Some(2.0),
        max_delay_ms: Some(2_000),
        jitter: None,
    });

    let summary = Task::new(
        "demo_summary",
        |_ctx: TaskContext, input: FinalizeInput<DemoInput, (), serde_json::Value>| async move {
            let [words, total, charge] = input.children.as_slice() else {
                return Err(TaskError::non_retryable(format!(
                    "expected 3 child outputs, got {}",
                    input.children.len()
                )));
            };
            let records = u64::from(input.input.records);
            let expected_total = records * (records + 1) * (2 * records + 1) / 6;
            if total.as_u64() != Some(expected_total) {
                return Err(TaskError::non_retryable(format!(
                    "pipeline total {total} is not the sum of squares {expected_total}"
                )));
            }
            Ok::<_, TaskError>(format!(
                "crawled {} pages ({words} words), loaded {records} records (sum of squares {total}), payment: {}",
                input.input.pages,
                charge.as_str().unwrap_or("?")
            ))
        },
    )
    .timeout(TASK_TIMEOUT)
    .retry(crash_retry());

    let root = {
        let crawl = crawl.clone();
        let pipeline = pipeline.clone();
        let charge = charge.clone();
        ParentTask::new(ROOT_TASK, move |_ctx: TaskContext, input: DemoInput| {
            let children = vec![
                crawl.child(input.pages),
                pipeline.child(input.records),
                charge.child(()),
            ];
            async move { Ok::<_, TaskError>(ParentOutput::new(()).children(children)) }
        })
        .timeout(TASK_TIMEOUT)
        .retry(crash_retry())
        .finalize(&summary)
    };
    Workflow {
        root,
        crawl,
        fetch,
        pipeline,
        charge,
    }
}

/// Runs the demo on `target`.
pub(crate) async fn run(target: &Target) -> Result<()> {
    let started = Instant::now();
    outln!("Database: {}", target.describe());
    let storage = db::open(target, Open::Migrate).await?;
    outln!("Schema is migrated.");
    let workflow = workflow();
    let options = ExecutorOptions::builder()
        .poll_interval(Duration::from_millis(100))
        .wait_poll_interval(Duration::from_millis(200))
        .lease_slack(LEASE_SLACK)
        .build()?;
    let executor = workflow
        .register(Executor::builder(storage.clone()).options(options))
        .build()?;
    executor.start()?;

    let handle = match find_unfinished(storage.as_ref()).await? {
        Some(execution_id) => {
            let handle = executor
                .handle(&workflow.root, &execution_id)
                .await
                .with_context(|| format!("cannot resume the demo run {execution_id}"))?;
            let execution = handle.get().await?;
            outln!(
                "Resuming the unfinished demo run {execution_id} (started {} ago, status {}).",
                tree::human_ms(now_millis() - execution.created_at),
                execution.status
            );
            outln!(
                "Executions a killed process left running come back when their lease expires (at most {} s).",
                (TASK_TIMEOUT + LEASE_SLACK).as_secs()
            );
            handle
        }
        None => {
            let input = DemoInput {
                pages: 4,
                records: 10,
            };
            let handle = executor.enqueue(&workflow.root, input).await?;
            outln!(
                "No unfinished demo run found: started a fresh one, {} ({ROOT_TASK}).",
                handle.execution_id()
            );
            handle
        }
    };
    outln!();

    let outcome = watch(storage.as_ref(), handle.execution_id()).await;
    let shutdown = executor.shutdown(Duration::from_secs(2)).await;
    let node = outcome?;
    shutdown.context("executor shutdown failed")?;

    let root = &node.execution;
    outln!(
        "Demo run {} finished in {} with status {}:",
        root.execution_id,
        tree::human_ms(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)),
        root.status
    );
    outln!();
    out!(
        "{}",
        tree::render(
            &node,
            Style {
                color: crate::ops::color(),
                errors: true,
                ids: true,
            }
        )
    );
    outln!();
    if root.status != ExecutionStatus::Completed {
        bail!(
            "demo run {} ended with status {}: {}",
            root.execution_id,
            root.status,
            root.parent_facing_error().message
        );
    }
    let output: String = root.output()?;
    outln!("Output: {output}");
    outln!(
        "Look at it again with `durable show {}`; counts with `durable status`.",
        root.execution_id
    );
    Ok(())
}

/// Follows the run until its root is finished, redrawing the tree in place
/// on a terminal, or printing a line per change otherwise.
async fn watch(storage: &dyn Storage, execution_id: &str) -> Result<tree::Node> {
    let tty = std::io::stdout().is_terminal();
    let color = crate::ops::color();
    let deadline = Instant::now() + DEMO_DEADLINE;
    let mut drawn_lines = 0usize;
    let mut last_line = String::new();
    let begin = Instant::now();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let node = tree::load(storage, execution_id)
            .await?
            .with_context(|| format!("the demo execution {execution_id} disappeared"))?;
        let finished = node.execution.is_finished() && node.all_finished();
        let mut stdout = std::io::stdout().lock();
        if tty {
            let text = tree::render(
                &node,
                Style {
                    color,
                    errors: false,
                    ids: false,
                },
            );
            if drawn_lines > 0 {
                write!(stdout, "\x1b[{drawn_lines}A\x1b[J")?;
            }
            if finished {
                drawn_lines = 0;
            } else {
                write!(stdout, "{text}")?;
                drawn_lines = text.lines().count();
            }
        } else {
            let line = progress_line(&node);
            if line != last_line {
                writeln!(stdout, "[{:>5.2} s] {line}", begin.elapsed().as_secs_f64())?;
                last_line = line;
            }
        }
        stdout.flush()?;
        drop(stdout);
        if finished {
            return Ok(node);
        }
        if Instant::now() > deadline {
            bail!(
                "the demo run {execution_id} did not finish within {} s",
                DEMO_DEADLINE.as_secs()
            );
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = &mut ctrl_c => {
                bail!("interrupted; run `durable demo` again to resume run {execution_id}");
            }
        }
    }
}

/// `7/13 finished · 2 running · 1 ready · 3 waiting`.
fn progress_line(node: &tree::Node) -> String {
    let all = node.walk();
    let count = |f: &dyn Fn(ExecutionStatus) -> bool| all.iter().filter(|e| f(e.status)).count();
    let finished = count(&|s| s.is_finished());
    let running = count(&|s| s == ExecutionStatus::Running);
    let ready = count(&|s| s == ExecutionStatus::Ready);
    let waiting = count(&|s| {
        matches!(
            s,
            ExecutionStatus::WaitingForChildrenTasks | ExecutionStatus::WaitingForFinalizeTask
        )
    });
    let retried = all.iter().filter(|e| e.attempt > 0).count();
    let mut line = format!(
        "{finished}/{} finished · {running} running · {ready} ready · {waiting} waiting",
        all.len()
    );
    if retried > 0 {
        line.push_str(&format!(" · {retried} retried"));
    }
    line
}

/// The newest unfinished demo run in the database, if any.
async fn find_unfinished(storage: &dyn Storage) -> Result<Option<String>> {
    let filter = ListFilter::new()
        .task_id(ROOT_TASK)
        .root_only(true)
        .statuses(ExecutionStatus::ALL.into_iter().filter(|s| s.is_active()));
    let page = storage
        .list(&filter, None, 1)
        .await
        .context("cannot look for an unfinished demo run")?;
    match page.executions.into_iter().next() {
        None => Ok(None),
        Some(row) => Ok(Some(
            row.map(|e| e.execution_id)
                .unwrap_or_else(|c| c.execution_id),
        )),
    }
}
