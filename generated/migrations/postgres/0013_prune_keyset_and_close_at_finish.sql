-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0013
-- name: prune_keyset_and_close_at_finish
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - comment on column closed_at
--   - comment on index ix_task_executions_prunable
--   - comment on index ix_task_executions_root
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - comment on column closed_at: safe
--   - comment on index ix_task_executions_prunable: safe
--   - comment on index ix_task_executions_root: safe

-- comment on column closed_at
COMMENT ON COLUMN task_executions.closed_at IS 'Time this finished execution''s effects were applied and is_closed became true (epoch milliseconds): by the closer, or at its finish (equal to finished_at) for a top-level execution without children or finalize, which has none.';

-- comment on index ix_task_executions_prunable
COMMENT ON INDEX ix_task_executions_prunable IS 'Retention (`prune_roots`, `count_prunable`): closed top-level executions by status and finish time, oldest first, so that the candidates of one status older than its cutoff, after a pass''s keyset bound, are one range scan. Partial: children and unclosed rows (the queue) are not indexed.';

-- comment on index ix_task_executions_root
COMMENT ON INDEX ix_task_executions_root IS 'Every descendant of a top-level execution (children, their subtrees, finalize executions): retention checks that a whole tree is finished and closed and deletes it (`prune_roots`, `delete_pruned_descendants`). Partial: top-level rows have no root.';
