-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0008
-- name: add_listing_index
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - add index ix_task_executions_created
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add index ix_task_executions_created: takes an exclusive lock

-- add index ix_task_executions_created
CREATE INDEX ix_task_executions_created ON task_executions (created_at, execution_id);
