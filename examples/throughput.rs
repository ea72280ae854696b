//! Measures how many trivial tasks per second one executor completes on the
//! in-memory storage.
//!
//! `cargo run --release --example throughput -- [tasks] [concurrency]`

use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{MemoryStorage, Storage};
use durable_execution::{Executor, ExecutorOptions, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5000);
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
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
    println!("enqueued {total} in {:?}", enqueue_start.elapsed());
    let start = Instant::now();
    executor.start()?;
    // Wait for every run, then for every result to be written (the stats
    // scan holds the storage lock, so it is not polled in a tight loop).
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
    println!("all runs done after {ran:?}");
    println!(
        "completed {total} tasks ({} runs) in {elapsed:?}: {:.0} tasks/s",
        runs.load(Ordering::Relaxed),
        total as f64 / elapsed.as_secs_f64()
    );
    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
