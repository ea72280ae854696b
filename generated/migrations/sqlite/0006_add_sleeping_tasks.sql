-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0006
-- name: add_sleeping_tasks
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - add column sleeping_key
--   - comment on column status
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add column sleeping_key: takes an exclusive lock

-- add column sleeping_key
ALTER TABLE task_executions ADD COLUMN sleeping_key TEXT;
