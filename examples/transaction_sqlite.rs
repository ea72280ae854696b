//! Enqueue inside your own SQLite transaction: the order row and the task
//! that ships it commit together, or neither exists.
//!
//! `cargo run --example transaction_sqlite`

use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
use durable_execution::{EnqueueOptions, Executor, Task, TaskContext, TaskError};
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
    let executor = Executor::builder(storage.clone() as Arc<dyn Storage>)
        .register(&ship)
        .build()?;
    executor.start()?;

    // The application's own connection to the same file.
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")?;

    // Order 1 commits: the order and its shipping task both exist.
    let shipping = executor.prepare(&ship, 1, EnqueueOptions::default())?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("INSERT INTO orders (id) VALUES (?1)", [1])?;
    SqliteStorage::insert_in(&tx, std::slice::from_ref(&shipping))?;
    tx.commit()?;
    // Wake the executors of this process (others notice at their next poll).
    storage.notify_ready_work();
    let shipped: String = executor.handle_for(&shipping).wait().await?.output()?;
    println!("{shipped}");

    // Order 2 rolls back: neither the order nor its task was ever visible.
    let lost = executor.prepare(&ship, 2, EnqueueOptions::default())?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("INSERT INTO orders (id) VALUES (?1)", [2])?;
    SqliteStorage::insert_in(&tx, std::slice::from_ref(&lost))?;
    drop(tx); // rollback
    assert!(
        storage
            .get(std::slice::from_ref(&lost.execution_id))
            .await?
            .is_empty()
    );
    let orders: i64 = conn.query_row("SELECT count(*) FROM orders", [], |row| row.get(0))?;
    println!("orders: {orders}; the rolled-back order left no execution");

    let finished = executor.handle_for(&shipping).get().await?;
    assert_eq!(finished.status, ExecutionStatus::Completed);
    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
