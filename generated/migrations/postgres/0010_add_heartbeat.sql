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
--   - comment on index ix_task_executions_leases: safe

-- add column heartbeat_expires_at
ALTER TABLE task_executions ADD COLUMN heartbeat_expires_at bigint;
COMMENT ON COLUMN task_executions.heartbeat_expires_at IS 'Liveness deadline of a running execution (epoch milliseconds): claim time + lease, pushed forward by each heartbeat of its owner; a running row past it (or past expires_at) is recovered. In no index and no partial-index predicate, so that a heartbeat, which writes only this column, is a HOT update on PostgreSQL. Null for rows claimed by a version without heartbeats (then only expires_at bounds them).';

-- comment on index ix_task_executions_leases
COMMENT ON INDEX ix_task_executions_leases IS 'Lease expiry recovery: the running rows (as many as the executors'' total concurrency), in timeout-bound order; the expirer checks their heartbeat deadline on the rows it yields.';
