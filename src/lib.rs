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

#![forbid(unsafe_code)]

mod executor;
mod generated;
pub mod migrate;
pub mod model;
pub mod storage;

pub use executor::*;

/// Runs the README's Rust examples as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
