//! Durable task execution persisted in PostgreSQL or SQLite.
//!
//! Define tasks as async functions ([`Task`], [`ParentTask`], [`Sequence`]),
//! register them on an [`Executor`] built on a [`Storage`](storage::Storage),
//! start it, and enqueue executions. Every execution is a row: it survives
//! process restarts, is retried with backoff, times out, can be cancelled
//! with its whole subtree, and is recovered by lease expiry when the
//! executor running it dies.
//!
//! ```
//! use durable_execution::storage::{MemoryStorage, Storage};
//! use durable_execution::{Executor, Task, TaskContext, TaskError};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let add = Task::new("add", |_ctx: TaskContext, (a, b): (i32, i32)| async move {
//!     Ok::<_, TaskError>(a + b)
//! });
//! let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
//! let executor = Executor::builder(storage).register(&add).build()?;
//! executor.start()?;
//! let handle = executor.enqueue(&add, (1, 2)).await?;
//! let sum: i32 = handle.wait().await?.output()?;
//! assert_eq!(sum, 3);
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
//! use durable_execution::storage::{MemoryStorage, Storage};
//! use durable_execution::{
//!     Executor, FinalizeInput, ParentOutput, ParentTask, RetryOptions, Sequence, Task,
//!     TaskContext, TaskError,
//! };
//! use std::sync::Arc;
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
//!     let s = s.clone();
//!     async move {
//!         Ok::<_, TaskError>(
//!             ParentOutput::new(format!("{n} squares")).children((1..=n).map(|i| s.child(i))),
//!         )
//!     }
//! })
//! .finalize(&sum);
//! let double = Task::new("double", |_ctx: TaskContext, x: u64| async move { Ok::<_, TaskError>(2 * x) });
//! let chain = Sequence::new("squares_then_double", &sum_of_squares).then(&double);
//!
//! let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
//! let executor = Executor::builder(storage)
//!     .register(&chain) // registers the parent, its finalize and the steps
//!     .register(&square)
//!     .build()?;
//! executor.start()?;
//! let total: u64 = executor.enqueue(&chain, 3).await?.wait().await?.output()?;
//! assert_eq!(total, 2 * (1 + 4 + 9));
//! executor.shutdown(Duration::from_secs(1)).await?;
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
//! ```

#![forbid(unsafe_code)]

mod executor;
mod generated;
pub mod migrate;
pub mod model;
pub mod storage;

pub use executor::*;
pub use model::{ErrorKind, ExecutionError, ExecutionStatus, RetryOptions, TaskExecution};

/// Runs the README's Rust examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
