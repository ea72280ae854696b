-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0007
-- name: add_sleeping_tasks_indexes
-- transaction: none
--
-- Changes (CONCURRENTLY, so that reads and writes go on: the runner applies this file outside a
-- transaction, one statement at a time; an interrupted run leaves the database marked dirty and
-- possibly an INVALID index to drop by hand; applied migrations are never rewritten):
--   - add index ix_task_executions_sleeping_key
--   - add index ix_task_executions_sleeping_keys
--   - add index ix_task_executions_sleeping
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add index ix_task_executions_sleeping_key: safe
--   - add index ix_task_executions_sleeping_keys: safe
--   - add index ix_task_executions_sleeping: safe

-- add index ix_task_executions_sleeping_key
CREATE UNIQUE INDEX CONCURRENTLY ix_task_executions_sleeping_key ON task_executions (sleeping_key) WHERE status = 'sleeping';
COMMENT ON INDEX ix_task_executions_sleeping_key IS 'Wakes by key; two sleeping executions can never share a key. Partial: only sleeping rows, so a key is free again once its execution finished.';

-- add index ix_task_executions_sleeping_keys
CREATE INDEX CONCURRENTLY ix_task_executions_sleeping_keys ON task_executions (sleeping_key) WHERE sleeping_key IS NOT NULL;
COMMENT ON INDEX ix_task_executions_sleeping_keys IS 'A repeated wake finds the finished execution of its key (only sleeping tasks'' rows are indexed).';

-- add index ix_task_executions_sleeping
CREATE INDEX CONCURRENTLY ix_task_executions_sleeping ON task_executions (expires_at) WHERE status = 'sleeping';
COMMENT ON INDEX ix_task_executions_sleeping IS 'Sleeping executions by deadline; the maintenance loop times out those past it.';
