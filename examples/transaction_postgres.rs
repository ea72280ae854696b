//! Enqueue inside your own PostgreSQL transaction: the order row and the task
//! that ships it commit together, or neither exists. One call,
//! `Executor::enqueue_in_postgres`, inserts the execution in the caller's
//! transaction and returns its typed handle. The wake-up `NOTIFY` is part of
//! the transaction, so executors wake exactly at commit.
//!
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --example transaction_postgres`
//!
//! It works in a schema of its own (`durable_example_<pid>`), dropped at the end.

use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{PostgresConfig, PostgresStorage, Storage};
use durable_execution::{Executor, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("durable_example_{}", std::process::id());
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await?;

    let result = run(&url, &schema).await;
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await?;
    result
}

async fn run(url: &str, schema: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ship = Task::new("ship_order", |_ctx: TaskContext, order: i32| async move {
        Ok::<_, TaskError>(format!("order {order} shipped"))
    });

    // `migrate(true)` creates the table; in production a deploy step usually
    // migrates instead (`durable migrate`, or `durable_execution::migrate`).
    let config = PostgresConfig::new(url).schema(schema).migrate(true);
    let storage = Arc::new(PostgresStorage::connect(config).await?);
    let executor = Executor::builder(storage.clone()).register(&ship).build()?;
    executor.start()?;

    // The pool's connections use the storage's schema, where the
    // application's own table goes too.
    let mut client = storage.pool().get().await?;
    client
        .batch_execute("CREATE TABLE orders (id integer PRIMARY KEY)")
        .await?;

    // Order 1 commits.
    let tx = client.transaction().await?;
    tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&1_i32])
        .await?;
    let shipping = executor.enqueue_in_postgres(&tx, &ship, 1).await?;
    tx.commit().await?;
    let shipped: String = shipping.wait_output().await?;
    println!("{shipped}");

    // Order 2 rolls back: neither the order nor its task was ever visible.
    let tx = client.transaction().await?;
    tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&2_i32])
        .await?;
    let lost = executor.enqueue_in_postgres(&tx, &ship, 2).await?;
    tx.rollback().await?;
    assert!(
        storage
            .get(&[lost.execution_id().to_owned()])
            .await?
            .is_empty()
    );
    let orders: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await?
        .get(0);
    println!("orders: {orders}; the rolled-back order left no execution");

    let finished = shipping.get().await?;
    assert_eq!(finished.status, ExecutionStatus::Completed);
    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
