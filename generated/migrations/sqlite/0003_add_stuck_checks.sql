-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0003
-- name: add_stuck_checks
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - add index ix_task_executions_waiting_finalize

-- add index ix_task_executions_waiting_finalize
CREATE INDEX ix_task_executions_waiting_finalize ON task_executions (updated_at) WHERE status = 'waiting_for_finalize_task';
