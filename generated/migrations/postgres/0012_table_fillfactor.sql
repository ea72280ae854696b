-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0012
-- name: table_fillfactor
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - set fillfactor 70
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - set fillfactor 70: safe

-- set fillfactor 70
-- A storage parameter: no rewrite and no exclusive lock (SHARE UPDATE EXCLUSIVE: reads and writes go on).
-- It applies to pages written from now on; existing rows move to roomier pages as they are updated,
-- or all at once with VACUUM FULL (exclusive lock) or pg_repack.
ALTER TABLE task_executions SET (fillfactor = 70);
