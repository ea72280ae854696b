-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0011
-- name: add_retention_indexes
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - add index ix_task_executions_prunable
--   - add index ix_task_executions_root
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add index ix_task_executions_prunable: takes an exclusive lock
--   - add index ix_task_executions_root: takes an exclusive lock

-- add index ix_task_executions_prunable
CREATE INDEX ix_task_executions_prunable ON task_executions (status, finished_at, id) WHERE parent_execution_id IS NULL AND is_closed = true;

-- add index ix_task_executions_root
CREATE INDEX ix_task_executions_root ON task_executions (root_execution_id) WHERE root_execution_id IS NOT NULL;
