-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0010
-- name: add_heartbeat
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - add column heartbeat_expires_at
--   - comment on index ix_task_executions_leases
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add column heartbeat_expires_at: takes an exclusive lock

-- add column heartbeat_expires_at
ALTER TABLE task_executions ADD COLUMN heartbeat_expires_at INTEGER;
