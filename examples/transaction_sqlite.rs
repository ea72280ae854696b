//! Enqueue inside your own SQLite transaction: the order row and the task
//! that ships it commit together, or neither exists. One call,
//! `Executor::enqueue_in_sqlite`, inserts the execution in the caller's
//! transaction and returns its typed handle; the executor notices the commit
//! within milliseconds (nothing is woken on rollback).
//!
//! `cargo run --example transaction_sqlite`

use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
use durable_execution::{Executor, Task, TaskContext, TaskError};
use rusqlite::TransactionBehavior;
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ship = Task::new("ship_order", |_ctx: TaskContext, order: i64| async move {
        Ok::<_, TaskError>(format!("order {order} shipped"))
    });

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("shop.sqlite3");
    let storage = Arc::new(SqliteStorage::open(&path, SqliteOptions::default()).await?);
    // An `Arc` of the storage, kept here to look at the table below.
    let executor = Executor::builder(storage.clone()).register(&ship).build()?;
    executor.start()?;

    // The application's own connection to the same file.
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")?;

    // Order 1 commits: the order and its shipping task both exist.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("INSERT INTO orders (id) VALUES (?1)", [1])?;
    let shipping = executor.enqueue_in_sqlite(&tx, &ship, 1)?;
    tx.commit()?;
    let shipped: String = shipping.wait_output().await?;
    println!("{shipped}");

    // Order 2 rolls back: neither the order nor its task was ever visible.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("INSERT INTO orders (id) VALUES (?1)", [2])?;
    let lost = executor.enqueue_in_sqlite(&tx, &ship, 2)?;
    drop(tx); // rollback
    assert!(
        storage
            .get(&[lost.execution_id().to_owned()])
            .await?
            .is_empty()
    );
    let orders: i64 = conn.query_row("SELECT count(*) FROM orders", [], |row| row.get(0))?;
    println!("orders: {orders}; the rolled-back order left no execution");

    let finished = shipping.get().await?;
    assert_eq!(finished.status, ExecutionStatus::Completed);
    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
