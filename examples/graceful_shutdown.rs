//! Graceful shutdown on Ctrl-C, on a SQLite file that survives the process,
//! with `Executor::run_until` (start, work until a future resolves, shut
//! down with a grace period).
//!
//! Each run of the program enqueues 20 slow jobs (unless unfinished ones are
//! left from an earlier run, which it then finishes) and works until every
//! job is done or Ctrl-C. On Ctrl-C the executor stops claiming, signals the
//! running jobs, gives them a grace period, and hands the ones still running
//! back to the queue: the next run of the program continues with them.
//!
//! `cargo run --example graceful_shutdown [DATABASE_FILE]` (default: a file in
//! the system's temporary directory), and press Ctrl-C after a second or two.

use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
use durable_execution::{Executor, ExecutorOptions, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::time::Duration;

const JOBS: u32 = 20;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(Into::into)
        .unwrap_or_else(|| std::env::temp_dir().join("durable_graceful_shutdown.sqlite3"));

    // A job of ten 100 ms steps that stops between steps when the executor
    // shuts down. A job that returns an error on shutdown would be finished
    // (or retried); one that is still running when the grace period ends is
    // handed back and runs again from the start later.
    let job = Task::new("slow_job", |ctx: TaskContext, n: u32| async move {
        for _step in 0..10 {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
                () = ctx.shutdown().cancelled() => {
                    // Stop here; wait for the executor to hand the job back.
                    std::future::pending::<()>().await;
                }
            }
        }
        Ok::<_, TaskError>(n)
    })
    .timeout(Duration::from_secs(30));

    // Shared with the progress checks below, hence the `Arc`.
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::open(&path, SqliteOptions::default()).await?);
    let options = ExecutorOptions::builder()
        .max_concurrent_executions(4)
        .build()?;
    let executor = Executor::builder(storage.clone())
        .options(options)
        .register(&job)
        .build()?;

    let unfinished = count(&*storage, |s| s.is_active()).await?;
    if unfinished > 0 {
        println!("{}: resuming {unfinished} unfinished jobs", path.display());
    } else {
        executor.enqueue_many(&job, 0..JOBS).await?;
        println!("{}: enqueued {JOBS} jobs", path.display());
    }
    println!("working; press Ctrl-C to stop");

    let all_done = async {
        loop {
            if count(&*storage, |s| s.is_active()).await? == 0 {
                return Ok::<_, Box<dyn std::error::Error>>(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    // Until every job is done or Ctrl-C (tokio's `signal` feature), then a
    // graceful shutdown with a 1 s grace period.
    let stop = async {
        tokio::select! {
            done = all_done => {
                done?;
                println!("every job finished");
            }
            signal = tokio::signal::ctrl_c() => {
                signal?;
                println!("Ctrl-C: shutting down (grace period 1 s)");
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    executor.run_until(stop, Duration::from_secs(1)).await??;

    let completed = count(&*storage, |s| s == ExecutionStatus::Completed).await?;
    let ready = count(&*storage, |s| s == ExecutionStatus::Ready).await?;
    println!("completed: {completed}, handed back to the queue: {ready}");
    if ready > 0 {
        println!("run the program again to finish them");
    }
    Ok(())
}

/// Executions of `slow_job` whose status matches.
async fn count(
    storage: &dyn Storage,
    matches: impl Fn(ExecutionStatus) -> bool,
) -> Result<u64, Box<dyn std::error::Error>> {
    let stats = storage
        .stats(durable_execution::model::now_millis())
        .await?;
    Ok(stats
        .counts
        .iter()
        .filter(|(task, status, _)| task == "slow_job" && matches(*status))
        .map(|(_, _, n)| n)
        .sum())
}
