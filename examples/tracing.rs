//! Logs of the executor and of task code through `tracing-subscriber`.
//!
//! Every run is a span `execution{task_id, execution_id, attempt}`, so task
//! code's own events carry the execution they belong to.
//!
//! `cargo run --example tracing` (`RUST_LOG=durable_execution=debug` for
//! the executor's own debug events).

use durable_execution::model::RetryOptions;
use durable_execution::storage::{MemoryStorage, Storage};
use durable_execution::{Executor, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let flaky = Task::new("flaky", |ctx: TaskContext, n: u32| async move {
        if ctx.attempt() < 2 {
            tracing::warn!(n, "upstream not ready");
            return Err(TaskError::new("upstream not ready"));
        }
        tracing::info!(n, "done");
        Ok::<_, TaskError>(n * 10)
    })
    .retry(RetryOptions {
        max_attempts: 3,
        base_delay_ms: Some(50),
        delay_multiplier: Some(2.0),
        ..Default::default()
    });

    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let executor = Executor::builder(storage).register(&flaky).build()?;
    executor.start()?;
    let output: u32 = executor.enqueue(&flaky, 4).await?.wait().await?.output()?;
    tracing::info!(output, "flaky finished");
    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
