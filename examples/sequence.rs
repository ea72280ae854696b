//! A sequence: steps run one after the other, each receiving the previous
//! step's output; the sequence's output is the last step's output. Stored as
//! one parent execution plus one child per step, spawned one at a time.
//!
//! `cargo run --example sequence`

use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{MemoryStorage, Storage};
use durable_execution::{Executor, Sequence, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let extract = Task::new("extract", |_ctx: TaskContext, csv: String| async move {
        let numbers = csv
            .split(',')
            .map(|field| field.trim().parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            // A parse error is not worth retrying.
            .map_err(|e| TaskError::non_retryable(format!("bad input: {e}")))?;
        Ok::<_, TaskError>(numbers)
    });
    let transform = Task::new(
        "transform",
        |_ctx: TaskContext, numbers: Vec<i64>| async move {
            Ok::<_, TaskError>(numbers.into_iter().map(|n| n * n).collect::<Vec<i64>>())
        },
    );
    let load = Task::new("load", |_ctx: TaskContext, squares: Vec<i64>| async move {
        let sum: i64 = squares.iter().sum();
        Ok::<_, TaskError>(format!("loaded {} rows, sum {sum}", squares.len()))
    });
    // The types line up at compile time: String -> Vec<i64> -> Vec<i64> -> String.
    let pipeline = Sequence::new("etl", &extract).then(&transform).then(&load);

    // The in-memory backend keeps nothing across restarts; see the other
    // examples for SQLite, and `PostgresStorage` for PostgreSQL.
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let executor = Executor::builder(storage).register(&pipeline).build()?;
    executor.start()?;

    let ok = executor.enqueue(&pipeline, "1, 2, 3, 4".to_owned()).await?;
    let summary: String = ok.wait().await?.output()?;
    println!("{summary}");

    // A failing step fails the whole sequence.
    let bad = executor.enqueue(&pipeline, "1, two".to_owned()).await?;
    let failed = bad.wait().await?;
    assert_eq!(failed.status, ExecutionStatus::ChildrenTasksFailed);
    println!("bad input: {}", failed.status);

    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
