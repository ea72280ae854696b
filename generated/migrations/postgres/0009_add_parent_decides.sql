-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0009
-- name: add_parent_decides
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - add column parent_decides
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - add column parent_decides: takes an exclusive lock

-- add column parent_decides
ALTER TABLE task_executions ADD COLUMN parent_decides boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN task_executions.parent_decides IS 'True when the direct parent''s finalize decides the parent''s result (ParentTask::finalize_decides): this child finishing in any status counts the parent''s active children down instead of failing the parent.';
