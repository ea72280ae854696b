//! Generated PostgreSQL row → [`RawRow`].

use crate::storage::row::RawRow;
use durable_execution_pg_queries::queries::task_executions::TaskExecutionRow;

/// Moves the columns of a generated row into a [`RawRow`] (the generated
/// move; no checks, see [`RawRow::into_loaded`]).
pub(super) fn raw(row: TaskExecutionRow) -> RawRow {
    RawRow::from(row)
}
