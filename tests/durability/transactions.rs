//! Enqueue inside the caller's own database transaction ("save the order and
//! enqueue its shipping in one commit").

use crate::common::{Backend, SharedDb, eventually, fast_options, pg_config, status_counts};
use durable_execution::model::{ExecutionStatus, NewExecution};
use durable_execution::storage::{PostgresStorage, SqliteStorage, Storage};
use durable_execution::{
    EnqueueOptions, Executor, ExecutorError, Task, TaskContext, TaskError, TaskHandle, WaitOptions,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How long nothing may happen after a rollback: many poll intervals.
const QUIET: Duration = Duration::from_millis(400);

fn ship_task(runs: &Arc<[AtomicU32; 3]>) -> Task<i32, String> {
    let runs = runs.clone();
    Task::new("ship_order", move |_ctx: TaskContext, order: i32| {
        let runs = runs.clone();
        async move {
            runs[usize::try_from(order).unwrap()].fetch_add(1, Ordering::SeqCst);
            Ok::<_, TaskError>(format!("shipped {order}"))
        }
    })
}

/// A started executor on `storage` running `task`, with the test options.
fn started(storage: &Arc<dyn Storage>, task: &Task<i32, String>) -> Executor {
    let executor = Executor::builder(storage.clone())
        .options(fast_options().build().unwrap())
        .register(task)
        .build()
        .unwrap();
    executor.start().unwrap();
    executor
}

/// The caller's side of one backend: its own connection and `orders` table.
enum Caller {
    Sqlite(rusqlite::Connection),
    Postgres(Box<PostgresStorage>),
}

impl Caller {
    async fn new(db: &SharedDb) -> Self {
        match db.backend {
            Backend::Sqlite => {
                let conn = rusqlite::Connection::open(db.sqlite_path()).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
                    .unwrap();
                Self::Sqlite(conn)
            }
            Backend::Postgres => {
                let (url, schema) = db.postgres_schema();
                let storage = PostgresStorage::connect(pg_config(url, schema))
                    .await
                    .unwrap();
                storage
                    .pool()
                    .get()
                    .await
                    .unwrap()
                    .batch_execute("CREATE TABLE orders (id integer PRIMARY KEY)")
                    .await
                    .unwrap();
                Self::Postgres(Box::new(storage))
            }
            Backend::Memory => panic!("the memory backend has no transactions"),
        }
    }

    /// Inserts order `id` and enqueues `execution` in one transaction, then
    /// commits or rolls back. Before the end of the transaction, `storage`
    /// (the executors' view) does not see the execution.
    async fn order(
        &mut self,
        storage: &Arc<dyn Storage>,
        id: i32,
        execution: &NewExecution,
        commit: bool,
    ) {
        let ids = [execution.execution_id.clone()];
        match self {
            Self::Sqlite(conn) => {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .unwrap();
                tx.execute("INSERT INTO orders (id) VALUES (?1)", [id])
                    .unwrap();
                SqliteStorage::insert_in(&tx, std::slice::from_ref(execution)).unwrap();
                assert!(storage.get(&ids).await.unwrap().is_empty());
                if commit {
                    tx.commit().unwrap();
                } else {
                    tx.rollback().unwrap();
                }
            }
            Self::Postgres(storage) => {
                let mut client = storage.pool().get().await.unwrap();
                let tx = client.transaction().await.unwrap();
                tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&id])
                    .await
                    .unwrap();
                PostgresStorage::insert_in(&tx, std::slice::from_ref(execution))
                    .await
                    .unwrap();
                assert!(storage.get(&ids).await.unwrap().is_empty());
                if commit {
                    tx.commit().await.unwrap();
                } else {
                    tx.rollback().await.unwrap();
                }
            }
        }
    }

    async fn orders(&self) -> Vec<i32> {
        match self {
            Self::Sqlite(conn) => {
                let mut stmt = conn.prepare("SELECT id FROM orders ORDER BY id").unwrap();
                stmt.query_map([], |row| row.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Self::Postgres(storage) => storage
                .pool()
                .get()
                .await
                .unwrap()
                .query("SELECT id FROM orders ORDER BY id", &[])
                .await
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect(),
        }
    }
}

/// `Executor::prepare` + `insert_in` inside the caller's transaction:
/// nothing is visible (or runs) before the commit; after it the execution
/// runs; a rolled-back enqueue stores nothing and runs nothing, ever.
pub async fn enqueue_in_caller_transaction(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let mut caller = Caller::new(&db).await;
    let runs = Arc::new([AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)]);
    let task = ship_task(&runs);
    let storage = db.handle().await;
    let executor = started(&storage, &task);

    // Commit: the order and its execution appear together; it runs.
    let committed = executor.prepare(&task, 1, EnqueueOptions::new()).unwrap();
    caller.order(&storage, 1, &committed, true).await;
    let done = executor
        .handle_for(&committed)
        .wait_with(WaitOptions::new().timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
    assert_eq!(done.output::<String>().unwrap(), "shipped 1");
    assert_eq!(runs[1].load(Ordering::SeqCst), 1);

    // Rollback: neither the order nor the execution exists, nothing runs.
    let rolled_back = executor.prepare(&task, 2, EnqueueOptions::new()).unwrap();
    caller.order(&storage, 2, &rolled_back, false).await;
    let ids = [rolled_back.execution_id.clone()];
    let never = eventually(QUIET, async || {
        runs[2].load(Ordering::SeqCst) > 0 || !storage.get(&ids).await.unwrap().is_empty()
    })
    .await;
    assert!(!never, "a rolled-back enqueue was stored or ran");
    assert!(
        executor
            .handle(&task, &rolled_back.execution_id)
            .await
            .is_err()
    );
    assert_eq!(caller.orders().await, vec![1]);
    let counts = status_counts(&storage).await;
    assert_eq!(counts.values().sum::<u64>(), 1, "{counts:?}");

    // The same execution id can still be enqueued by a later, committed
    // transaction (the rollback left nothing behind).
    caller.order(&storage, 2, &rolled_back, true).await;
    let done = executor
        .handle_for(&rolled_back)
        .wait_with(WaitOptions::new().timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(done.output::<String>().unwrap(), "shipped 2");
    assert_eq!(runs[2].load(Ordering::SeqCst), 1);
    assert_eq!(caller.orders().await, vec![1, 2]);

    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// `Executor::enqueue_in_sqlite` / `enqueue_in_postgres`: one call inside
/// the caller's transaction returns a typed handle; the executor is woken
/// by the commit (its poll interval is far longer than the wait, so only
/// the wake-up can start the run in time); a rolled-back enqueue stores and
/// runs nothing.
pub async fn one_call_enqueue_in_caller_transaction(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let mut caller = Caller::new(&db).await;
    let runs = Arc::new([AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)]);
    let task = ship_task(&runs);
    let storage = db.handle().await;
    let options = fast_options()
        .poll_interval(Duration::from_secs(600))
        .wait_poll_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    let executor = Executor::builder(storage.clone())
        .options(options)
        .register(&task)
        .build()
        .unwrap();
    executor.start().unwrap();
    // Let the claimer reach its idle wait first.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let wait = WaitOptions::new().timeout(Duration::from_secs(20));
    let committed = caller.enqueue(&executor, &task, 1, true).await;
    assert_eq!(
        committed.wait_output_with(wait.clone()).await.unwrap(),
        "shipped 1"
    );
    assert_eq!(runs[1].load(Ordering::SeqCst), 1);

    let rolled_back = caller.enqueue(&executor, &task, 2, false).await;
    let ids = [rolled_back.execution_id().to_owned()];
    let never = eventually(QUIET, async || {
        runs[2].load(Ordering::SeqCst) > 0 || !storage.get(&ids).await.unwrap().is_empty()
    })
    .await;
    assert!(!never, "a rolled-back enqueue was stored or ran");
    assert_eq!(caller.orders().await, vec![1]);

    // A later commit on the same connection is woken again.
    let again = caller.enqueue(&executor, &task, 2, true).await;
    assert_eq!(again.wait_output_with(wait).await.unwrap(), "shipped 2");
    assert_eq!(caller.orders().await, vec![1, 2]);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// The one-call enqueue in the caller's transaction runs the task's input
/// validation: a rejected input fails with `ExecutorError::InputRejected`
/// before anything is written, so the caller rolls back and nothing is
/// stored (docs/design.md, "Input validation").
pub async fn one_call_enqueue_refuses_invalid_input(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let mut caller = Caller::new(&db).await;
    let runs = Arc::new([AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)]);
    let task = ship_task(&runs).validate_input(|order: &i32| match *order < 0 {
        true => Err(format!("order {order} is negative")),
        false => Ok(()),
    });
    let storage = db.handle().await;
    let executor = started(&storage, &task);
    let err = caller
        .try_enqueue(&executor, &task, -1, true)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ExecutorError::InputRejected { task_id, reason }
            if task_id == "ship_order" && reason == "order -1 is negative"),
        "{err}"
    );
    assert!(caller.orders().await.is_empty());
    assert!(status_counts(&storage).await.is_empty());
    let done = caller.enqueue(&executor, &task, 1, true).await;
    assert_eq!(done.wait_output().await.unwrap(), "shipped 1");
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

impl Caller {
    /// Inserts order `id` and enqueues `task` with the one-call API in one
    /// transaction, then commits or rolls back.
    async fn enqueue(
        &mut self,
        executor: &Executor,
        task: &Task<i32, String>,
        id: i32,
        commit: bool,
    ) -> TaskHandle<String> {
        self.try_enqueue(executor, task, id, commit).await.unwrap()
    }

    /// [`Caller::enqueue`], rolling back when the enqueue fails.
    async fn try_enqueue(
        &mut self,
        executor: &Executor,
        task: &Task<i32, String>,
        id: i32,
        commit: bool,
    ) -> Result<TaskHandle<String>, ExecutorError> {
        match self {
            Self::Sqlite(conn) => {
                let tx = conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .unwrap();
                tx.execute("INSERT INTO orders (id) VALUES (?1)", [id])
                    .unwrap();
                let handle = executor.enqueue_in_sqlite(&tx, task, id);
                if commit && handle.is_ok() {
                    tx.commit().unwrap();
                } else {
                    tx.rollback().unwrap();
                }
                handle
            }
            Self::Postgres(storage) => {
                let mut client = storage.pool().get().await.unwrap();
                let tx = client.transaction().await.unwrap();
                tx.execute("INSERT INTO orders (id) VALUES ($1)", &[&id])
                    .await
                    .unwrap();
                let handle = executor.enqueue_in_postgres(&tx, task, id).await;
                if commit && handle.is_ok() {
                    tx.commit().await.unwrap();
                } else {
                    tx.rollback().await.unwrap();
                }
                handle
            }
        }
    }
}
