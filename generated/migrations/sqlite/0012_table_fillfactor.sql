-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0012
-- name: table_fillfactor
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - set fillfactor 70
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - nothing to do on SQLite: safe

-- Nothing to do on SQLite: SQLite has no storage parameters (fillfactor is PostgreSQL's) and no comments in its catalog.
