//! The seam between the SQL backends: every operation of [`Storage`] is
//! written once, in [`engine`], over a small per-dialect interface.
//!
//! - [`Dialect`]: how parameters are bound (JSON as text for SQLite, as a
//!   `jsonb` value with NUL replaced for PostgreSQL), how new executions are
//!   prepared for insertion, and how a stored value of a grouped column is
//!   read and shown.
//! - [`Queries`]: the generated queries of `spec/task_executions.yaml`, one
//!   method each, with backend-neutral parameters and rows ([`RawRow`], ids,
//!   the `*_json` encoders of [`super::row`]). An implementation maps its
//!   driver's rows and errors, isolates corrupt rows (SQLite's per-row
//!   `RowResult`), and adds the statements a dialect needs around a query
//!   (PostgreSQL's transaction-local `ordered_scans`, pipelined with the
//!   claim; SQLite's `fail_unnamed` for a claimed row without a readable id).
//! - [`Op`]: one [`Storage`] operation of the engine, built from the
//!   caller's borrowed arguments (parameters encoded there, outside any
//!   transaction), then run by the backend in its own transaction handling.
//!
//! Each backend keeps only its connection and transaction handling: a
//! runner that takes an [`Op`], runs it in one transaction (SQLite: `BEGIN
//! IMMEDIATE` on the writer or a deferred read on a reader, inside
//! `spawn_blocking`; PostgreSQL: a pooled connection, in one transaction
//! when [`Op::transaction`] says so, otherwise in autocommit), then sends
//! the [`Op::wakeups`]. Its `impl Storage` is one call to that runner per
//! method.
//!
//! # Why the interface is async
//!
//! PostgreSQL's driver is async; SQLite's is blocking and its transaction
//! cannot leave the blocking thread. The [`Queries`] methods are async, and
//! the SQLite implementation completes every one of them synchronously: the
//! SQLite runner drives the engine's future with
//! [`futures::executor::block_on`] inside the blocking closure, where
//! nothing ever waits for the runtime's I/O, so it never blocks an async
//! worker thread and never deadlocks. The futures carry no `Send` bound in
//! the trait: the PostgreSQL runner is instantiated with concrete types,
//! whose futures are `Send` as the `Storage` trait needs; the SQLite ones
//! never leave their thread.
//!
//! A new SQL backend implements [`Dialect`] and [`Queries`] for its
//! driver (the generated queries of its dialect) and a runner, and
//! forwards each `Storage` method to the runner with the engine's [`Op`].
//!
//! [`Storage`]: super::Storage

pub(crate) mod engine;

use super::row::RawRow;
use super::rules::Wakeups;
use super::{ChildOutput, StorageResult};
use crate::model::{CorruptRow, Millis, NewExecution};
use serde_json::Value;
use std::future::Future;

/// Rows of `task_executions` as a query returns them: a row whose values
/// cannot even be read as their columns' types is a [`CorruptRow`] already.
pub(crate) type Rows = Vec<Result<RawRow, CorruptRow>>;

/// The per-dialect types of parameters and grouped values.
pub(crate) trait Dialect {
    /// A JSON parameter as the driver binds it.
    type Json: Send;
    /// New executions encoded before the transaction ([`Inserts::Encoded`]);
    /// [`std::convert::Infallible`] for a dialect that never does.
    type Chunk: Send;
    /// A value of a grouped column as stored (`stats`).
    type Stored: Send + Sync;

    /// A JSON parameter from a value built by the `*_json` encoders.
    fn json(value: Value) -> Self::Json;

    /// A JSON parameter serialized from `value` (`what` names it in an
    /// encoding error).
    fn json_of<T: serde::Serialize>(what: &'static str, value: &T) -> StorageResult<Self::Json>;

    /// The text of a stored value, when it is text.
    fn stored_text(value: &Self::Stored) -> Option<&str>;

    /// A stored value for an operator (text as is, anything else described).
    fn display(value: &Self::Stored) -> String;
}

/// New executions to insert, as a dialect prepares them outside the
/// transaction.
#[derive(Debug)]
pub(crate) enum Inserts<'a, C> {
    /// Borrowed from the caller, encoded chunk by chunk inside the
    /// transaction (PostgreSQL: one chunk's JSON at a time).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Rows(Vec<&'a NewExecution>),
    /// Already encoded, chunk by chunk (SQLite: the blocking job gets their
    /// text, not a copy of every execution).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Encoded(Vec<C>),
}

/// The JSON parameter type of `Q`'s dialect.
pub(crate) type Json<Q> = <<Q as Queries>::Dialect as Dialect>::Json;

/// One group of `count_by_task_and_status`, values as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CountGroup<S> {
    /// The task id.
    pub(crate) task_id: S,
    /// The status.
    pub(crate) status: S,
    /// The number of rows (0 when it could not be read).
    pub(crate) count: i64,
    /// Whether every column of the group read as its column's type.
    pub(crate) typed: bool,
}

/// The generated queries of one dialect, on one connection or transaction.
///
/// Every method is one statement of the spec (plus whatever the dialect
/// runs with it, see the [module docs](self)); errors carry the query's
/// name. Methods returning ids leave out rows whose id cannot be read
/// (logged): nothing can be done with them by id.
pub(crate) trait Queries {
    /// The parameter types.
    type Dialect: Dialect;

    /// Inserts prepared executions, all or none (the caller's transaction,
    /// or a savepoint of the dialect, holds several statements together).
    fn insert(
        &self,
        batches: Vec<Inserts<'_, <Self::Dialect as Dialect>::Chunk>>,
    ) -> impl Future<Output = StorageResult<()>>;
    /// Inserts executions (checked for duplicates among themselves).
    fn insert_new(&self, executions: &[NewExecution]) -> impl Future<Output = StorageResult<()>>;
    /// `get_executions`.
    fn get_executions(&self, ids: Json<Self>) -> impl Future<Output = StorageResult<Rows>>;
    /// `get_children`.
    fn get_children(&self, parent_execution_id: &str) -> impl Future<Output = StorageResult<Rows>>;
    /// `get_children_outputs`: each row checked ([`super::row::child_output`]).
    fn get_children_outputs(
        &self,
        parent_execution_id: &str,
        after_index: i32,
        limit: i64,
    ) -> impl Future<Output = StorageResult<Vec<Result<ChildOutput, CorruptRow>>>>;
    /// `claim_ready`.
    fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        lease_slack_ms: i64,
        limit: i64,
    ) -> impl Future<Output = StorageResult<Rows>>;
    /// `finish_executions`: the ids that matched.
    fn finish_executions(
        &self,
        executor_id: &str,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `retry_executions`: the ids that matched.
    fn retry_executions(
        &self,
        executor_id: &str,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `start_waiting`: the ids that matched.
    fn start_waiting(
        &self,
        executor_id: &str,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `release_executions`: the ids that matched.
    fn release_executions(
        &self,
        executor_id: &str,
        now: Millis,
        ids: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `claim_unclosed`.
    fn claim_unclosed(&self, limit: i64) -> impl Future<Output = StorageResult<Rows>>;
    /// `lock_executions`: `(execution_id, status)` of each locked row.
    fn lock_executions(
        &self,
        ids: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<(String, String)>>>;
    /// `decrement_active_children`: `(execution_id, active_children_count)`.
    fn decrement_active_children(
        &self,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<(String, i64)>>>;
    /// `record_children_failures`.
    fn record_children_failures(
        &self,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<()>>;
    /// `complete_from_finalize`: the parents completed.
    fn complete_from_finalize(
        &self,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `fail_from_finalize`: the parents failed.
    fn fail_from_finalize(
        &self,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `cancel_subtrees`: the executions cancelled.
    fn cancel_subtrees(
        &self,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `ready_parents`.
    fn ready_parents(&self, limit: i64) -> impl Future<Output = StorageResult<Rows>>;
    /// `advance_parents`: the ids that matched.
    fn advance_parents(
        &self,
        now: Millis,
        items: Json<Self>,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `claim_cancellations`: the ids claimed.
    fn claim_cancellations(
        &self,
        executor_id: &str,
        limit: i64,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `expire_leases`: `(execution_id, new status)`.
    fn expire_leases(
        &self,
        now: Millis,
        error: Json<Self>,
        limit: i64,
    ) -> impl Future<Output = StorageResult<Vec<(String, String)>>>;
    /// `repair_missing_leases`: the ids repaired.
    fn repair_missing_leases(
        &self,
        now: Millis,
        lease_slack_ms: i64,
        limit: i64,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `fail_missing_finalize`: the parents failed.
    fn fail_missing_finalize(
        &self,
        now: Millis,
        error: Json<Self>,
        limit: i64,
    ) -> impl Future<Output = StorageResult<Vec<String>>>;
    /// `count_by_task_and_status`.
    fn count_by_task_and_status(
        &self,
    ) -> impl Future<Output = StorageResult<Vec<CountGroup<<Self::Dialect as Dialect>::Stored>>>>;
    /// `example_execution`: one execution id stored with these values.
    fn example_execution(
        &self,
        task_id: &<Self::Dialect as Dialect>::Stored,
        status: &<Self::Dialect as Dialect>::Stored,
    ) -> impl Future<Output = StorageResult<Option<String>>>;
    /// `oldest_ready`.
    fn oldest_ready(&self) -> impl Future<Output = StorageResult<Option<Millis>>>;
    /// `count_expired_leases` (`None`: no readable row).
    fn count_expired_leases(&self, now: Millis)
    -> impl Future<Output = StorageResult<Option<i64>>>;
    /// `count_stuck`: `(running_without_lease, missing_finalize)`.
    fn count_stuck(&self) -> impl Future<Output = StorageResult<Option<(i64, i64)>>>;
    /// `delete_all_executions`: the rows deleted.
    fn delete_all(&self) -> impl Future<Output = StorageResult<u64>>;
}

/// Whether an [`Op`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads only (SQLite: a reader connection).
    Read,
    /// Writes (SQLite: the writer, `BEGIN IMMEDIATE`; fails on a
    /// read-only storage).
    Write,
}

/// One [`Storage`](super::Storage) operation, ready to run in `D`'s
/// queries. Built by `new` functions that return `None` when there is
/// nothing to do (the backend then returns the default output without
/// touching the database).
pub(crate) trait Op<D: Dialect> {
    /// What the operation returns.
    type Output: Default;
    /// Whether it writes.
    const ACCESS: Access;
    /// Its name in the errors of its transaction (`begin <name>`).
    const BEGIN: &'static str;
    /// Its name in the errors of its commit (`commit <name>`).
    const COMMIT: &'static str;

    /// Whether it must run in one transaction: several statements that
    /// commit together, or a scan that reads a partial index in its order
    /// (the dialect may set transaction-local planner settings). SQLite
    /// runs every operation in one transaction anyway.
    fn transaction(&self) -> bool {
        false
    }

    /// Runs it.
    fn run<Q: Queries<Dialect = D>>(
        self,
        queries: &Q,
    ) -> impl Future<Output = StorageResult<Self::Output>>;

    /// The wake-ups to send once it committed.
    fn wakeups(_output: &Self::Output) -> Wakeups {
        Wakeups::NONE
    }
}
