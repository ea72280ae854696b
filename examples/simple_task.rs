//! A simple task on an embedded SQLite file: enqueue, wait, read the output.
//! The task fails on its first attempt and succeeds on the retry.
//!
//! `cargo run --example simple_task`

use durable_execution::model::{ExecutionStatus, RetryOptions};
use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
use durable_execution::{Executor, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Input and output are any serde types; the error type is `TaskError`.
    let greet = Task::new("greet", |ctx: TaskContext, name: String| async move {
        if ctx.attempt() == 0 {
            // Retryable: the execution is stored back as `ready` and runs again.
            return Err(TaskError::new("the greeting service is warming up"));
        }
        Ok::<_, TaskError>(format!("Hello, {name}! (attempt {})", ctx.attempt() + 1))
    })
    .timeout(Duration::from_secs(10))
    .retry(RetryOptions {
        max_attempts: 2,
        base_delay_ms: Some(100),
        ..Default::default()
    });

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("simple.sqlite3");
    let storage: Arc<dyn Storage> =
        Arc::new(SqliteStorage::open(&path, SqliteOptions::default()).await?);
    let executor = Executor::builder(storage).register(&greet).build()?;
    executor.start()?;

    let handle = executor.enqueue(&greet, "world".to_owned()).await?;
    println!("enqueued {}", handle.execution_id());
    let finished = handle.wait().await?;
    assert_eq!(finished.status, ExecutionStatus::Completed);
    let greeting: String = finished.output()?;
    println!("{greeting} ({} retry)", finished.attempt);

    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
