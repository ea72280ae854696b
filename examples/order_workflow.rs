//! A parent task that uses shared application state, typed handles and the
//! one-call enqueue inside the application's own transaction.
//!
//! An order is saved and its fulfilment enqueued in one SQLite transaction
//! (`Executor::enqueue_in_sqlite`). The parent `fulfil_order` spawns one
//! `pack_item` child per line; both read the shared `Warehouse` (registered
//! once with `ExecutorBuilder::state`, read with `TaskContext::state`: no
//! clones captured in closures). The finalize `ship_order` totals the
//! children, and the caller reads the typed result with
//! `TaskHandle::wait_output`. An `on_event` callback logs every execution's
//! lifecycle.
//!
//! `cargo run --example order_workflow`

use durable_execution::storage::{SqliteOptions, SqliteStorage};
use durable_execution::{
    ExecutionEvent, Executor, FinalizeInput, ParentOutput, ParentTask, Task, TaskContext, TaskError,
};
use rusqlite::TransactionBehavior;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// Shared application state: in a real program an HTTP client or a pool.
struct Warehouse {
    prices_cents: HashMap<&'static str, u64>,
}

/// One line of an order.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Line {
    sku: String,
    quantity: u64,
}

/// An order, the parent's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Order {
    id: i64,
    lines: Vec<Line>,
}

/// What the finalize returns: the typed output of the whole workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Shipment {
    order_id: i64,
    parcels: usize,
    total_cents: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A child: price and pack one line, with the shared warehouse.
    let pack_item = Task::new("pack_item", |ctx: TaskContext, line: Line| async move {
        let warehouse = ctx.state::<Warehouse>()?;
        let price = warehouse
            .prices_cents
            .get(line.sku.as_str())
            .ok_or_else(|| TaskError::non_retryable(format!("unknown sku {}", line.sku)))?;
        Ok::<_, TaskError>(price * line.quantity)
    })
    .timeout(Duration::from_secs(10));

    // The finalize: the order, the parent's own output and every child's
    // output, in spawn order.
    let ship_order = Task::new(
        "ship_order",
        |_ctx: TaskContext, done: FinalizeInput<Order, usize, u64>| async move {
            Ok::<_, TaskError>(Shipment {
                order_id: done.input.id,
                parcels: done.output,
                total_cents: done.children.iter().sum(),
            })
        },
    );

    // The parent: checks every line against the shared state, then spawns
    // one child per line. The children are built before the `async` block,
    // so nothing is cloned per run, and the state comes from the context.
    let packer = pack_item.clone();
    let fulfil_order = ParentTask::new("fulfil_order", move |ctx: TaskContext, order: Order| {
        let children: Vec<_> = order
            .lines
            .iter()
            .map(|line| packer.child(line.clone()))
            .collect();
        async move {
            let warehouse = ctx.state::<Warehouse>()?;
            if let Some(line) = order
                .lines
                .iter()
                .find(|line| !warehouse.prices_cents.contains_key(line.sku.as_str()))
            {
                return Err(TaskError::non_retryable(format!(
                    "order {} has an unknown sku {}",
                    order.id, line.sku
                )));
            }
            Ok(ParentOutput::new(order.lines.len()).children(children))
        }
    })
    .finalize(&ship_order);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("shop.sqlite3");
    let storage = SqliteStorage::open(&path, SqliteOptions::default()).await?;
    let executor = Executor::builder(storage)
        .state(Warehouse {
            prices_cents: HashMap::from([("apple", 40), ("pear", 55)]),
        })
        .on_event(|event: &ExecutionEvent| {
            println!(
                "  event: {:?} {} {} (attempt {}{})",
                event.kind,
                event.task_id,
                event.execution_id,
                event.attempt,
                event
                    .duration
                    .map(|d| format!(", {} ms", d.as_millis()))
                    .unwrap_or_default()
            );
        })
        .register(&fulfil_order) // also registers its finalize
        .register(&pack_item)
        .build()?;
    executor.start()?;

    // The application's own connection and table, in the same file.
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY, lines INTEGER NOT NULL)")?;

    // Save the order and enqueue its fulfilment: one commit, or neither.
    let order = Order {
        id: 7,
        lines: vec![
            Line {
                sku: "apple".into(),
                quantity: 3,
            },
            Line {
                sku: "pear".into(),
                quantity: 2,
            },
        ],
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO orders (id, lines) VALUES (?1, ?2)",
        (order.id, order.lines.len() as i64),
    )?;
    let fulfilment = executor.enqueue_in_sqlite(&tx, &fulfil_order, order)?;
    tx.commit()?;

    // Typed: a `Shipment`, without restating the type.
    let shipment = fulfilment.wait_output().await?;
    println!("{shipment:?}");
    assert_eq!(
        shipment,
        Shipment {
            order_id: 7,
            parcels: 2,
            total_cents: 3 * 40 + 2 * 55
        }
    );

    // Another process would re-attach by id, typed again.
    let again = executor
        .handle(&fulfil_order, fulfilment.execution_id())
        .await?;
    assert_eq!(again.wait_output().await?, shipment);

    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
