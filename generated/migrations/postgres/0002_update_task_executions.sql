-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0002
-- name: update_task_executions
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - drop index ix_task_executions_status_start_at
--   - drop index ix_task_executions_parent
--   - add index ix_task_executions_ready
--   - add index ix_task_executions_parent

-- drop index ix_task_executions_status_start_at
DROP INDEX ix_task_executions_status_start_at;

-- drop index ix_task_executions_parent
DROP INDEX ix_task_executions_parent;

-- add index ix_task_executions_ready
CREATE INDEX ix_task_executions_ready ON task_executions (start_at) WHERE status = 'ready';
COMMENT ON INDEX ix_task_executions_ready IS 'The claim of ready executions, oldest start_at first. Partial: only ready rows are indexed, so the index stays as small as the queue, and updates to any other status (claim, finish, close) add no entry to it.';

-- add index ix_task_executions_parent
CREATE INDEX ix_task_executions_parent ON task_executions (parent_execution_id, index_in_parent) WHERE parent_execution_id IS NOT NULL;
COMMENT ON INDEX ix_task_executions_parent IS 'Children of a parent in spawn order; subtree cancellation. Partial, so that top-level executions (most of them) are not indexed.';
