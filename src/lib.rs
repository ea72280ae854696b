//! Durable task execution persisted in PostgreSQL or SQLite.
//!
//! Define tasks as async functions ([`Task`], [`ParentTask`], [`Sequence`]),
//! register them on an [`Executor`] built on a [`Storage`](storage::Storage),
//! start it, and enqueue executions. Every execution is a row: it survives
//! process restarts, is retried with backoff, times out, can be cancelled
//! with its whole subtree, and is recovered by lease expiry when the
//! executor running it dies.
//!
//! [`Executor::enqueue`] returns a [`TaskHandle`] that knows the task's
//! output type: [`TaskHandle::wait_output`] waits and decodes it.
//!
//! ```
//! use durable_execution::storage::MemoryStorage;
//! use durable_execution::{Executor, Task, TaskContext, TaskError};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let add = Task::new("add", |_ctx: TaskContext, (a, b): (i32, i32)| async move {
//!     Ok::<_, TaskError>(a + b)
//! });
//! let executor = Executor::builder(MemoryStorage::new()).register(&add).build()?;
//! executor.start()?;
//! let handle = executor.enqueue(&add, (1, 2)).await?;
//! assert_eq!(handle.wait_output().await?, 3);
//! executor.shutdown(Duration::from_secs(1)).await?;
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## Parents, children, finalize and sequences
//!
//! A [`ParentTask`] returns its own output and children; once every child
//! completed, its finalize task (if any) receives a [`FinalizeInput`] with
//! the parent's input, its output and the children outputs in spawn order.
//! A failing child fails the parent (`children_tasks_failed`) and cancels
//! its running siblings; a failing finalize fails it
//! (`finalize_task_failed`). A [`Sequence`] runs steps one after the other,
//! each getting the previous step's output.
//!
//! ```
//! use durable_execution::storage::MemoryStorage;
//! use durable_execution::{
//!     Executor, FinalizeInput, ParentOutput, ParentTask, RetryOptions, Sequence, Task,
//!     TaskContext, TaskError,
//! };
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let square = Task::new("square", |_ctx: TaskContext, x: u64| async move {
//!     Ok::<_, TaskError>(x * x)
//! })
//! .timeout(Duration::from_secs(5))
//! .retry(RetryOptions { max_attempts: 3, base_delay_ms: Some(100), ..Default::default() });
//! let sum = Task::new("sum", |_ctx: TaskContext, input: FinalizeInput<u64, String, u64>| async move {
//!     Ok::<_, TaskError>(input.children.iter().sum::<u64>())
//! });
//! let s = square.clone();
//! let sum_of_squares = ParentTask::new("sum_of_squares", move |_ctx: TaskContext, n: u64| {
//!     // Children are plain values: build them before the `async` block.
//!     let children: Vec<_> = (1..=n).map(|i| s.child(i)).collect();
//!     async move { Ok::<_, TaskError>(ParentOutput::new(format!("{n} squares")).children(children)) }
//! })
//! .finalize(&sum);
//! let double = Task::new("double", |_ctx: TaskContext, x: u64| async move { Ok::<_, TaskError>(2 * x) });
//! let chain = Sequence::new("squares_then_double", &sum_of_squares).then(&double);
//!
//! let executor = Executor::builder(MemoryStorage::new())
//!     .register(&chain) // registers the parent, its finalize and the steps
//!     .register(&square)
//!     .build()?;
//! executor.start()?;
//! let total = executor.enqueue(&chain, 3).await?.wait_output().await?;
//! assert_eq!(total, 2 * (1 + 4 + 9));
//! executor.shutdown(Duration::from_secs(1)).await?;
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! [`RetryOptions::max_attempts`](model::RetryOptions::max_attempts) counts
//! **retries**, not runs: `max_attempts: 3` allows the first run and three
//! retries (the name is the one stored in the `retry_options` column).
//!
//! ## Shared state, events and running as a service
//!
//! Application state (an HTTP client, a database pool) is registered once
//! with [`ExecutorBuilder::state`] and read by type in any run with
//! [`TaskContext::state`]. Lifecycle events ([`ExecutionEvent`]: started,
//! retried, completed, failed, cancelled, timed out, with execution id, task
//! id, attempt, duration and error) go to [`ExecutorBuilder::on_event`]
//! callbacks and [`Executor::events`] receivers, after the storage accepted
//! each change. [`Executor::run_until`] starts the executor, runs until a
//! future resolves (`tokio::signal::ctrl_c()`) and shuts down gracefully.
//!
//! ```
//! use durable_execution::storage::MemoryStorage;
//! use durable_execution::{ExecutionEventKind, Executor, Task, TaskContext, TaskError};
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::time::Duration;
//!
//! struct Config {
//!     greeting: &'static str,
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let greet = Task::new("greet", |ctx: TaskContext, name: String| async move {
//!     let config = ctx.state::<Config>()?;
//!     Ok::<_, TaskError>(format!("{}, {name}!", config.greeting))
//! });
//! let completed = Arc::new(AtomicUsize::new(0));
//! let counter = completed.clone();
//! let executor = Executor::builder(MemoryStorage::new())
//!     .state(Config { greeting: "Hello" })
//!     .on_event(move |event| {
//!         if event.kind == ExecutionEventKind::Completed {
//!             counter.fetch_add(1, Ordering::SeqCst);
//!         }
//!     })
//!     .register(&greet)
//!     .build()?;
//! let mut events = executor.events();
//! let client = executor.clone();
//! // Runs until the future resolves: here after one greeting, in a service
//! // `tokio::signal::ctrl_c()` (tokio's `signal` feature).
//! let greeting = executor
//!     .run_until(
//!         async move { client.enqueue(&greet, "world".to_owned()).await?.wait_output().await },
//!         Duration::from_secs(5),
//!     )
//!     .await??;
//! assert_eq!(greeting, "Hello, world!");
//! assert_eq!(events.recv().await?.kind, ExecutionEventKind::Started);
//! assert_eq!(events.recv().await?.kind, ExecutionEventKind::Completed);
//! assert_eq!(completed.load(Ordering::SeqCst), 1);
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! More complete programs are in the `examples/` folder of the package:
//! a simple task, a parent with children and a finalize, a sequence,
//! enqueueing inside your own SQLite or PostgreSQL transaction, an order
//! workflow with shared state, typed handles and transactional enqueue,
//! graceful shutdown on Ctrl-C and logging with `tracing-subscriber`.
//!
//! ## Features
//!
#![doc = document_features::document_features!()]
//!
//! With `default-features = false` only [`MemoryStorage`](storage::MemoryStorage)
//! remains, which keeps nothing across restarts: pick `sqlite` or `postgres`
//! for durability.
//!
//! ## Runtime requirements
//!
//! - A [Tokio](https://docs.rs/tokio) runtime with the time driver: the
//!   executor spawns its background loops and every run onto the runtime
//!   that is current when [`Executor::start`] is called (outside one it
//!   fails with [`ExecutorError::NoRuntime`]). Both flavours work (the
//!   test suite runs on both): on the multi-thread runtime runs use every
//!   worker; on a current-thread runtime (`#[tokio::main(flavor =
//!   "current_thread")]`) they share one thread, so task code must not
//!   block it. SQLite calls run on Tokio's blocking threads either way. The
//!   crate enables neither `rt-multi-thread` nor `signal` of tokio: enable
//!   what your program uses.
//! - **SQLite** (`sqlite`): nothing to install; SQLite is compiled in.
//!   [`SqliteStorage::open`](storage::SqliteStorage::open) creates the file
//!   and migrates it. Several processes may share one file (WAL mode).
//! - **PostgreSQL** (`postgres`): a server reachable with a libpq-style URL
//!   (`postgres://user:password@host:5432/db`). The schema is not created
//!   unless [`PostgresConfig::migrate`](storage::PostgresConfig::migrate) is
//!   set: apply the migrations with [`migrate`], the `durable migrate`
//!   command of the `durable-execution-cli` package, or by hand from
//!   [`migrate::pending_sql_postgres`]. Wake-ups use `LISTEN/NOTIFY` on a
//!   dedicated connection; behind a transaction-pooling proxy they are lost
//!   and executors find new work at their next poll instead.
//!
//! ## TLS
//!
//! Connections to PostgreSQL are configured by
//! [`PostgresConfig`](storage::PostgresConfig) from a URL or a libpq
//! `key=value` string (or a `tokio_postgres::Config`, or an application's
//! own `deadpool_postgres::Pool` through `PostgresStorage::from_pool`). TLS
//! runs over rustls and follows `sslmode` as libpq defines it: `disable`,
//! `prefer` (the default: TLS when the server offers it), `require`
//! (encrypted, unverified), `verify-ca` (the chain is verified) and
//! `verify-full` (chain and host name), with the system's roots or a root
//! certificate file (`sslrootcert=` or
//! [`PostgresConfig::root_certificate_file`](storage::PostgresConfig::root_certificate_file)).
//! The pool, the `LISTEN` connection and the migrator use the same
//! settings; a TLS failure is one typed error (`StorageError::Tls`) saying
//! why (unknown CA, host name mismatch, server requires TLS), and no error
//! or `Debug` output shows a password.
//!
//! ```no_run
//! # async fn demo() -> Result<(), durable_execution::storage::StorageError> {
//! use durable_execution::storage::{PostgresConfig, PostgresStorage};
//! let config = PostgresConfig::new(
//!     "host=db.example.com user=app dbname=app sslmode=verify-full sslrootcert=/etc/app/db-ca.pem",
//! );
//! let storage = PostgresStorage::connect(config).await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Guarantees
//!
//! Every execution is a row; every state change is one guarded, atomic
//! statement or transaction (the state machine is described in
//! `docs/design.md`, shipped with the package).
//!
//! - **At least once across crashes.** An enqueued execution runs until it
//!   finishes. When the executor running it dies, its lease expires (the
//!   heartbeat lease, 30 s by default, that a live executor keeps
//!   extending; at the latest `timeout + lease_slack`, see
//!   [`ExecutorOptions`]) and another executor runs it again, counting the lost run as an attempt of its
//!   [`RetryOptions`] (with no attempt left it ends `failed` with `Task
//!   expired`). A run may therefore be repeated after its side effects
//!   happened: make task code idempotent, or use [`TaskContext::attempt`]
//!   and [`TaskContext::prev_error`] to detect a repeat.
//! - **At most one run of an execution while its lease holds.** Claims are
//!   atomic (`FOR UPDATE SKIP LOCKED` on PostgreSQL, a single writer on
//!   SQLite), so two executors never claim the same execution, and a running
//!   execution is only taken away from its executor after its lease expired.
//!   A run whose executor learns that it lost the lease (its heartbeat did
//!   not extend it, or could not for a whole lease) is stopped: its
//!   cancellation token fires and its result is dropped.
//! - **What a late result can and cannot overwrite.** A run's result is
//!   written only while the execution is still `running`, owned by the
//!   executor that ran it and at the run's attempt. A result arriving after the execution was
//!   cancelled, recovered by another executor, released at shutdown or
//!   finished in any other way is dropped: it never overwrites a
//!   cancellation, a newer attempt's result or another executor's work.
//!   Parents move only from the state their children's results were
//!   computed for, so a cancelled parent stays cancelled.
//! - Children and finalize executions are inserted in the same transaction
//!   as their parent's transition, and only if it applied: no orphans.
//!
//! ## Enqueueing inside your own transaction
//!
//! "Save the order and enqueue its shipping" must commit or roll back as
//! one. One call per backend takes your transaction and returns the typed
//! handle: `Executor::enqueue_in_sqlite(&tx, &task, input)` with a
//! `rusqlite::Transaction`, `Executor::enqueue_in_postgres(&tx, &task,
//! input).await` with a `tokio_postgres::Transaction` (a `deadpool_postgres`
//! transaction converts by `&tx`). Executors wake up when the transaction
//! commits, never on a rollback: on PostgreSQL through a `NOTIFY` queued in
//! your transaction (every executor); on SQLite this executor watches for
//! the commit and claims within milliseconds, other processes at their next
//! poll. ([`Executor::prepare`] and the storages' `insert_in` remain for
//! storages of your own.)
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use durable_execution::storage::{SqliteOptions, SqliteStorage};
//! use durable_execution::{Executor, Task, TaskContext, TaskError};
//! use std::time::Duration;
//!
//! let ship = Task::new("ship_order", |_ctx: TaskContext, order: i64| async move {
//!     Ok::<_, TaskError>(format!("shipped order {order}"))
//! });
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("shop.sqlite3");
//! let storage = SqliteStorage::open(&path, SqliteOptions::default()).await?;
//! let executor = Executor::builder(storage).register(&ship).build()?;
//! executor.start()?;
//!
//! // The application's own connection to the same file, and its own table.
//! let mut conn = rusqlite::Connection::open(&path)?;
//! conn.busy_timeout(Duration::from_secs(5))?;
//! conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")?;
//! let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
//! tx.execute("INSERT INTO orders (id) VALUES (?1)", [42])?;
//! let shipping = executor.enqueue_in_sqlite(&tx, &ship, 42)?;
//! tx.commit()?;
//!
//! assert_eq!(shipping.wait_output().await?, "shipped order 42");
//! executor.shutdown(Duration::from_secs(1)).await?;
//! # Ok(())
//! # }
//! # #[cfg(feature = "sqlite")]
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! ## Operating notes
//!
//! - **Register every task on every executor** that shares a storage: an
//!   executor that claims an execution of a task it does not know fails it.
//! - **Leases and timeouts.** After a crash, an execution is recovered
//!   about one heartbeat lease after the executor died
//!   ([`ExecutorOptionsBuilder::lease`], 30 s by default), whatever its
//!   timeout; a live executor extends the lease of its runs every
//!   [`ExecutorOptionsBuilder::heartbeat_interval`] with one batched
//!   storage call. A shorter lease recovers sooner but tolerates shorter
//!   storage outages and process pauses (a run whose lease could not be
//!   extended for a whole lease is given up). `timeout + lease_slack`
//!   ([`ExecutorOptionsBuilder::lease_slack`], 5 minutes of slack by
//!   default) still bounds a run that never ends.
//! - **Shutdown.** Call [`Executor::shutdown`] on `SIGTERM`/Ctrl-C (or run
//!   with [`Executor::run_until`], which calls it): it stops
//!   claiming, signals [`TaskContext::shutdown`] to running tasks, waits up
//!   to the grace period and hands the executions still running back to the
//!   queue (same attempt), so a restart or another executor continues them.
//! - **Schema changes** ship as numbered, forward-only migrations embedded
//!   in the crate; the migrator verifies checksums and refuses edited or
//!   unknown migrations ([`migrate::MigrationError`]). Upgrading the crate
//!   may bring a new migration: apply it before starting the new version.
//! - **Observability.** Every run is a `tracing` span `execution` with
//!   `task_id`, `execution_id` and `attempt`; install any subscriber to see
//!   the executor's logs. [`Executor::events`] and
//!   [`ExecutorBuilder::on_event`] report each execution's lifecycle;
//!   [`Executor::stats`] gives in-process counters and
//!   [`Storage::stats`](storage::Storage::stats) counts by task and status,
//!   the oldest ready execution and expired leases (`durable status`).
//! - **History.** Finished executions stay in the table (`durable show
//!   <id>` displays a whole tree); the crate never deletes rows.
//!

#![forbid(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod executor;
mod generated;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod schema_check;
pub mod storage;

// The public API, listed explicitly (a new public item of `executor` is
// not exported by accident).
pub use executor::{
    ChildOutcome, ChildTask, Definition, EnqueueOptions, ExecutionEvent, ExecutionEventKind,
    ExecutionHandle, Executor, ExecutorBuilder, ExecutorError, ExecutorOptions,
    ExecutorOptionsBuilder, ExecutorStats, FinalizeInput, FinalizeInputOf, IntoStorage, LoopDelay,
    LoopResult, LoopStep, LoopingTask, ParentOutput, ParentResult, ParentTask, RetentionPolicy,
    Sequence, SleepingTask, Task, TaskContext, TaskError, TaskHandle, TaskSpec, WaitOptions,
    WakeOutcome, generate_execution_id, retry_delay_ms, retry_delay_with_jitter_ms,
};
pub use model::{ErrorKind, ExecutionError, ExecutionStatus, RetryOptions, TaskExecution};

/// Runs the README's Rust examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
