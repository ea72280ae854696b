//! Generated PostgreSQL row → [`RawRow`].

use crate::storage::row::{RawJson, RawRow};
use durable_execution_pg_queries::queries::task_executions::TaskExecutionRow;

/// Moves the columns of a generated row into a [`RawRow`] (no checks; see
/// [`RawRow::into_loaded`]).
pub(super) fn raw(row: TaskExecutionRow) -> RawRow {
    RawRow {
        execution_id: row.execution_id,
        task_id: row.task_id,
        root_task_id: row.root_task_id,
        root_execution_id: row.root_execution_id,
        parent_task_id: row.parent_task_id,
        parent_execution_id: row.parent_execution_id,
        index_in_parent: i64::from(row.index_in_parent),
        is_finalize: row.is_finalize,
        retry_options: RawJson::Value(row.retry_options),
        sleep_ms_before_run: row.sleep_ms_before_run,
        timeout_ms: row.timeout_ms,
        input: row.input,
        run_output: row.run_output,
        output: row.output,
        children_count: i64::from(row.children_count),
        active_children_count: i64::from(row.active_children_count),
        finalize_execution_id: row.finalize_execution_id,
        children_errors: row.children_errors.map(RawJson::Value),
        finalize_error: row.finalize_error.map(RawJson::Value),
        error: row.error.map(RawJson::Value),
        status: row.status,
        is_closed: row.is_closed,
        needs_cancel: row.needs_cancel,
        executor_id: row.executor_id,
        attempt: i64::from(row.attempt),
        start_at: row.start_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        expires_at: row.expires_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
