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
--   - nothing to do on SQLite: safe

-- Nothing to do on SQLite: its catalog has no comments (the schema file carries the docs as SQL comments).
