-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0008
-- name: add_listing_index
-- transaction: none
--
-- Changes (CONCURRENTLY, so that reads and writes go on: the runner applies this file outside a
-- transaction, one statement at a time; an interrupted run leaves the database marked dirty and
-- possibly an INVALID index to drop by hand; applied migrations are never rewritten):
--   - add index ix_task_executions_created
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add index ix_task_executions_created: safe

-- add index ix_task_executions_created
CREATE INDEX CONCURRENTLY ix_task_executions_created ON task_executions (created_at, execution_id);
COMMENT ON INDEX ix_task_executions_created IS 'Operator listing (`list_executions`), newest first with keyset pagination on (created_at, execution_id); the other filters of a listing are checked on the rows this index yields.';
