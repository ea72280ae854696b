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
ALTER TABLE task_executions ADD COLUMN waiting_for_children_started_at bigint;
COMMENT ON COLUMN task_executions.waiting_for_children_started_at IS 'Time the parent''s run ended and it started waiting for its children (epoch milliseconds); null if it never did.';

-- add column waiting_for_finalize_started_at
ALTER TABLE task_executions ADD COLUMN waiting_for_finalize_started_at bigint;
COMMENT ON COLUMN task_executions.waiting_for_finalize_started_at IS 'Time the parent started waiting for its finalize execution (epoch milliseconds); null if it never did.';

-- add column closed_at
ALTER TABLE task_executions ADD COLUMN closed_at bigint;
COMMENT ON COLUMN task_executions.closed_at IS 'Time the closer applied this finished execution''s effects (is_closed became true; epoch milliseconds).';
