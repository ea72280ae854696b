-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0011
-- name: add_retention_indexes
-- transaction: none
--
-- Changes (CONCURRENTLY, so that reads and writes go on: the runner applies this file outside a
-- transaction, one statement at a time; an interrupted run leaves the database marked dirty and
-- possibly an INVALID index to drop by hand; applied migrations are never rewritten):
--   - add index ix_task_executions_prunable
--   - add index ix_task_executions_root
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add index ix_task_executions_prunable: safe
--   - add index ix_task_executions_root: safe

-- add index ix_task_executions_prunable
CREATE INDEX CONCURRENTLY ix_task_executions_prunable ON task_executions (status, finished_at, id) WHERE parent_execution_id IS NULL AND is_closed = true;
COMMENT ON INDEX ix_task_executions_prunable IS 'Retention (`prune_candidates`, `count_prunable`): closed top-level executions by status and finish time, oldest first, so that the candidates of one status older than its cutoff are one range scan. Partial: children and unclosed rows (the queue) are not indexed.';

-- add index ix_task_executions_root
CREATE INDEX CONCURRENTLY ix_task_executions_root ON task_executions (root_execution_id) WHERE root_execution_id IS NOT NULL;
COMMENT ON INDEX ix_task_executions_root IS 'Every descendant of a top-level execution (children, their subtrees, finalize executions): retention checks that a whole tree is finished and closed and deletes it (`prune_candidates`, `delete_pruned_descendants`). Partial: top-level rows have no root.';
