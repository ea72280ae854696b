-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0005
-- name: execution_bookkeeping_timestamps
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - add column waiting_for_children_started_at
--   - add column waiting_for_finalize_started_at
--   - add column closed_at
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add column waiting_for_children_started_at: takes an exclusive lock
--   - add column waiting_for_finalize_started_at: takes an exclusive lock
--   - add column closed_at: takes an exclusive lock

-- add column waiting_for_children_started_at
ALTER TABLE task_executions ADD COLUMN waiting_for_children_started_at INTEGER;

-- add column waiting_for_finalize_started_at
ALTER TABLE task_executions ADD COLUMN waiting_for_finalize_started_at INTEGER;

-- add column closed_at
ALTER TABLE task_executions ADD COLUMN closed_at INTEGER;
