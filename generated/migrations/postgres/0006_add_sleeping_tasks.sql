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
--   - comment on column status: safe

-- add column sleeping_key
ALTER TABLE task_executions ADD COLUMN sleeping_key text;
COMMENT ON COLUMN task_executions.sleeping_key IS 'The caller''s key of a sleeping task''s execution (1-255 characters): it sleeps (`status = ''sleeping''`, deadline in `expires_at`) until woken by this key; kept once finished, so that a repeated wake finds it.';

-- comment on column status
COMMENT ON COLUMN task_executions.status IS 'Lifecycle status: ready, sleeping, running, failed, timed_out, waiting_for_children_tasks, children_tasks_failed, waiting_for_finalize_task, finalize_task_failed, completed, cancelled.';
