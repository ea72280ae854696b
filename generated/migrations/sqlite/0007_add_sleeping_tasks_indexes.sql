-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0007
-- name: add_sleeping_tasks_indexes
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - add index ix_task_executions_sleeping_key
--   - add index ix_task_executions_sleeping_keys
--   - add index ix_task_executions_sleeping
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add index ix_task_executions_sleeping_key: takes an exclusive lock
--   - add index ix_task_executions_sleeping_keys: takes an exclusive lock
--   - add index ix_task_executions_sleeping: takes an exclusive lock

-- add index ix_task_executions_sleeping_key
CREATE UNIQUE INDEX ix_task_executions_sleeping_key ON task_executions (sleeping_key) WHERE status = 'sleeping';

-- add index ix_task_executions_sleeping_keys
CREATE INDEX ix_task_executions_sleeping_keys ON task_executions (sleeping_key) WHERE sleeping_key IS NOT NULL;

-- add index ix_task_executions_sleeping
CREATE INDEX ix_task_executions_sleeping ON task_executions (expires_at) WHERE status = 'sleeping';
