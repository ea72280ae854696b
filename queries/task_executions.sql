-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- Cornucopia input: the PostgreSQL queries of the spec, type-checked against the migrations by
-- `cargo xtask codegen`, which generates the generated/pg-queries crate from this file.
-- `?` marks nullable columns (from the spec: cornucopia does not infer nullability).

--: TaskExecutionRow(root_task_id?, root_execution_id?, parent_task_id?, parent_execution_id?, run_output?, output?, finalize_execution_id?, children_errors?, finalize_error?, error?, executor_id?, started_at?, finished_at?, expires_at?, waiting_for_children_started_at?, waiting_for_finalize_started_at?, closed_at?, sleeping_key?, heartbeat_expires_at?)

--! insert_executions
--- Inserts ready executions from a JSON array of rows; a duplicate execution id fails the whole statement.
INSERT INTO task_executions (execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id,
    index_in_parent, is_finalize, parent_decides, retry_options, sleep_ms_before_run, timeout_ms, input, status, start_at, created_at, updated_at,
    sleeping_key, expires_at)
SELECT r.execution_id, r.task_id, r.root_task_id, r.root_execution_id, r.parent_task_id, r.parent_execution_id,
    r.index_in_parent, r.is_finalize, COALESCE(r.parent_decides, false), r.retry_options, r.sleep_ms_before_run, r.timeout_ms, r.input,
    CASE WHEN r.sleeping_key IS NULL THEN 'ready' ELSE 'sleeping' END, r.start_at, r.created_at, r.created_at,
    r.sleeping_key, CASE WHEN r.sleeping_key IS NULL THEN NULL ELSE r.created_at + r.timeout_ms END
FROM jsonb_to_recordset(:rows::jsonb) AS r(execution_id text, task_id text, root_task_id text, root_execution_id text,
    parent_task_id text, parent_execution_id text, index_in_parent integer, is_finalize boolean, parent_decides boolean, retry_options jsonb,
    sleep_ms_before_run bigint, timeout_ms bigint, input text, start_at bigint, created_at bigint, sleeping_key text);

--! insert_claimed_executions : TaskExecutionRow
--- Inserts executions like insert_executions and, in the same statement, claims the first `limit` of them that are due (like claim_ready: owner, timeout bound, heartbeat deadline) when no older execution is ready and due: an executor's claim at enqueue in one round trip and one commit. Returns every row it inserted; those it claimed are `running`.
WITH k AS (
    SELECT r.execution_id, r.task_id, r.root_task_id, r.root_execution_id, r.parent_task_id, r.parent_execution_id,
        r.index_in_parent, r.is_finalize, r.parent_decides, r.retry_options, r.sleep_ms_before_run, r.timeout_ms, r.input,
        r.start_at, r.created_at, r.sleeping_key,
        (r.sleeping_key IS NULL AND r.start_at <= :now AND row_number() OVER () <= :limit
            AND NOT EXISTS (SELECT 1 FROM task_executions AS o WHERE o.status = 'ready' AND o.start_at <= :now)) AS claim
    FROM jsonb_to_recordset(:rows::jsonb) AS r(execution_id text, task_id text, root_task_id text, root_execution_id text,
        parent_task_id text, parent_execution_id text, index_in_parent integer, is_finalize boolean, parent_decides boolean, retry_options jsonb,
        sleep_ms_before_run bigint, timeout_ms bigint, input text, start_at bigint, created_at bigint, sleeping_key text))
INSERT INTO task_executions (execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id,
    index_in_parent, is_finalize, parent_decides, retry_options, sleep_ms_before_run, timeout_ms, input, status, start_at, created_at, updated_at,
    sleeping_key, expires_at, executor_id, started_at, heartbeat_expires_at)
SELECT k.execution_id, k.task_id, k.root_task_id, k.root_execution_id, k.parent_task_id, k.parent_execution_id,
    k.index_in_parent, k.is_finalize, COALESCE(k.parent_decides, false), k.retry_options, k.sleep_ms_before_run, k.timeout_ms, k.input,
    CASE WHEN k.sleeping_key IS NOT NULL THEN 'sleeping' WHEN k.claim THEN 'running' ELSE 'ready' END,
    k.start_at, k.created_at, CASE WHEN k.claim THEN :now ELSE k.created_at END,
    k.sleeping_key,
    CASE WHEN k.sleeping_key IS NOT NULL THEN k.created_at + k.timeout_ms WHEN k.claim THEN :now + k.timeout_ms + :lease_slack_ms END,
    CASE WHEN k.claim THEN :executor_id::text END,
    CASE WHEN k.claim THEN :now END,
    CASE WHEN k.claim THEN :now::bigint + :lease_ms::bigint END
FROM k
RETURNING id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at;

--! get_executions : TaskExecutionRow
--- Reads executions by id from a JSON array of execution ids.
SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions
WHERE execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text(:ids::jsonb)));

--! get_children : TaskExecutionRow
--- Reads the children of a parent in spawn order, its finalize last.
SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions
WHERE parent_execution_id = :parent_execution_id
ORDER BY is_finalize, index_in_parent;

--! get_children_outputs : GetChildrenOutputsRow(output?, error?)
--- One page of a parent's regular children (not its finalize) in spawn order: those whose index is above `after_index` (-1 for the first page), at most `limit`, with only what the parent's result needs (the error for a finalize that decides) (keyset pagination through the parent index, so that each page costs its own size, never the number of children).
SELECT execution_id, index_in_parent, status, output, error FROM task_executions
WHERE parent_execution_id = :parent_execution_id AND index_in_parent > :after_index AND is_finalize = false
ORDER BY index_in_parent
LIMIT :limit;

--! claim_ready : TaskExecutionRow
--- Claims up to `limit` ready executions whose start_at has passed, oldest first, setting the owner, the timeout bound (`expires_at = now + timeout + lease slack`) and the heartbeat deadline (`heartbeat_expires_at = now + lease`) in the same statement.
UPDATE task_executions AS t
SET status = 'running', executor_id = :executor_id, started_at = :now, updated_at = :now,
    expires_at = :now + t.timeout_ms + :lease_slack_ms, heartbeat_expires_at = :now::bigint + :lease_ms::bigint
WHERE t.id IN (
    SELECT c.id FROM task_executions AS c
    WHERE c.status = 'ready' AND c.start_at <= :now
    ORDER BY c.start_at, c.id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING t.id, t.execution_id, t.task_id, t.root_task_id, t.root_execution_id, t.parent_task_id, t.parent_execution_id, t.index_in_parent, t.is_finalize, t.retry_options, t.sleep_ms_before_run, t.timeout_ms, t.input, t.run_output, t.output, t.children_count, t.active_children_count, t.finalize_execution_id, t.children_errors, t.finalize_error, t.error, t.status, t.is_closed, t.needs_cancel, t.executor_id, t.attempt, t.start_at, t.started_at, t.finished_at, t.expires_at, t.created_at, t.updated_at, t.waiting_for_children_started_at, t.waiting_for_finalize_started_at, t.closed_at, t.sleeping_key, t.parent_decides, t.heartbeat_expires_at;

--! finish_executions : FinishExecutionsRow()
--- Finishes running executions owned by the executor, at the attempt of the run, from a JSON array of {execution_id, attempt?, status, run_output?, output?, error?} (attempt null: any attempt, for a claimed row whose attempt could not be read). A top-level execution without children or finalize is closed by this statement (closed_at = now; see the header); any other stays unclosed for the closer.
UPDATE task_executions AS t
SET status = u.status, run_output = u.run_output, output = u.output, error = u.error,
    finished_at = :now, updated_at = :now, expires_at = NULL, heartbeat_expires_at = NULL,
    is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL),
    closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN :now::bigint ELSE t.closed_at END,
    executor_id = CASE WHEN u.status = 'cancelled' THEN t.executor_id ELSE NULL END
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, attempt integer, status text, run_output text, output text, error jsonb)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'running' AND t.executor_id = :executor_id
  AND (u.attempt IS NULL OR t.attempt = u.attempt)
RETURNING t.execution_id;

--! retry_executions : RetryExecutionsRow()
--- Re-queues running executions owned by the executor, at the attempt of the run, from a JSON array of {execution_id, attempt?, error, start_at}.
UPDATE task_executions AS t
SET status = 'ready', error = u.error, attempt = t.attempt + 1, start_at = u.start_at,
    executor_id = NULL, expires_at = NULL, heartbeat_expires_at = NULL, updated_at = :now
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, attempt integer, error jsonb, start_at bigint)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'running' AND t.executor_id = :executor_id
  AND (u.attempt IS NULL OR t.attempt = u.attempt)
RETURNING t.execution_id;

--! start_waiting : StartWaitingRow()
--- Moves running parents owned by the executor, at the attempt of the run, to a waiting status from a JSON array of {execution_id, attempt?, status, run_output, children_count, finalize_execution_id?}.
UPDATE task_executions AS t
SET status = u.status, run_output = u.run_output, children_count = u.children_count,
    active_children_count = u.children_count, finalize_execution_id = u.finalize_execution_id,
    waiting_for_children_started_at = CASE WHEN u.status = 'waiting_for_children_tasks' THEN :now::bigint ELSE t.waiting_for_children_started_at END,
    waiting_for_finalize_started_at = CASE WHEN u.status = 'waiting_for_finalize_task' THEN :now::bigint ELSE t.waiting_for_finalize_started_at END,
    error = NULL, executor_id = NULL, expires_at = NULL, heartbeat_expires_at = NULL, updated_at = :now
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, attempt integer, status text, run_output text, children_count integer, finalize_execution_id text)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'running' AND t.executor_id = :executor_id
  AND (u.attempt IS NULL OR t.attempt = u.attempt)
RETURNING t.execution_id;

--! release_executions : ReleaseExecutionsRow()
--- Gives running executions owned by the executor, at the attempt of the run, back to the ready queue (shutdown), without counting an attempt; from a JSON array of {execution_id, attempt?}.
UPDATE task_executions AS t
SET status = 'ready', start_at = :now, executor_id = NULL, expires_at = NULL, heartbeat_expires_at = NULL, updated_at = :now
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, attempt integer)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'running' AND t.executor_id = :executor_id
  AND (u.attempt IS NULL OR t.attempt = u.attempt)
RETURNING t.execution_id;

--! heartbeat_executions : HeartbeatExecutionsRow()
--- Extends the heartbeat deadline (`heartbeat_expires_at = now + lease_ms`) of running executions owned by the executor, at the attempt of their run, from a JSON array of {execution_id, attempt?}; returns the rows extended (a row missing from the answer was recovered, re-claimed, cancelled or finished: its run is lost). Writes that one column only, which no index covers: a HOT update on PostgreSQL.
UPDATE task_executions AS t
SET heartbeat_expires_at = :now::bigint + :lease_ms::bigint
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, attempt integer)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'running' AND t.executor_id = :executor_id
  AND (u.attempt IS NULL OR t.attempt = u.attempt)
RETURNING t.execution_id;

--! claim_unclosed : TaskExecutionRow
--- Marks up to `limit` finished, unclosed executions (children, finalize executions and parents; a top-level execution without descendants was closed by the statement that finished it) closed at `now`, never before their finish (the writer that finished a row may have taken its `now` after the closer took its own), oldest finish first, and returns them so their effects can be applied in the same transaction.
UPDATE task_executions AS t SET is_closed = true, closed_at = GREATEST(:now, t.finished_at)
WHERE t.id IN (
    SELECT c.id FROM task_executions AS c
    WHERE c.is_closed = false
      AND c.status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled')
    ORDER BY c.finished_at, c.id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING t.id, t.execution_id, t.task_id, t.root_task_id, t.root_execution_id, t.parent_task_id, t.parent_execution_id, t.index_in_parent, t.is_finalize, t.retry_options, t.sleep_ms_before_run, t.timeout_ms, t.input, t.run_output, t.output, t.children_count, t.active_children_count, t.finalize_execution_id, t.children_errors, t.finalize_error, t.error, t.status, t.is_closed, t.needs_cancel, t.executor_id, t.attempt, t.start_at, t.started_at, t.finished_at, t.expires_at, t.created_at, t.updated_at, t.waiting_for_children_started_at, t.waiting_for_finalize_started_at, t.closed_at, t.sleeping_key, t.parent_decides, t.heartbeat_expires_at;

--! lock_executions : LockExecutionsRow()
--- Locks rows by id in a fixed order (execution id) so that concurrent closers never deadlock on shared parents, and returns their status before the closer changes them (SQLite: a plain read; its write transactions are already exclusive).
SELECT execution_id, status FROM task_executions
WHERE execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text(:ids::jsonb)))
ORDER BY execution_id
FOR UPDATE;

--! decrement_active_children : DecrementActiveChildrenRow()
--- Counts down the active children of waiting parents from a JSON array of {execution_id, n}; returns the new counts.
UPDATE task_executions AS t
SET active_children_count = t.active_children_count - u.n, updated_at = :now
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, n integer)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'waiting_for_children_tasks'
RETURNING t.execution_id, t.active_children_count;

--! record_children_failures : RecordChildrenFailuresRow()
--- Appends child errors to parents from a JSON array of {execution_id, errors}; a parent still waiting for its children becomes children_tasks_failed.
UPDATE task_executions AS t
SET children_errors = coalesce(t.children_errors, '[]'::jsonb) || u.errors,
    status = CASE WHEN t.status = 'waiting_for_children_tasks' THEN 'children_tasks_failed' ELSE t.status END,
    finished_at = CASE WHEN t.status = 'waiting_for_children_tasks' THEN :now ELSE t.finished_at END,
    is_closed = CASE WHEN t.status = 'waiting_for_children_tasks' THEN false ELSE t.is_closed END,
    updated_at = :now
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, errors jsonb)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id
RETURNING t.execution_id, t.status;

--! complete_from_finalize : CompleteFromFinalizeRow()
--- Completes parents waiting for their finalize from a JSON array of {execution_id, output}.
UPDATE task_executions AS t
SET status = 'completed', output = u.output, finished_at = :now, is_closed = false, updated_at = :now
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, output text)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'waiting_for_finalize_task'
RETURNING t.execution_id;

--! fail_from_finalize : FailFromFinalizeRow()
--- Fails parents waiting for their finalize from a JSON array of {execution_id, error}.
UPDATE task_executions AS t
SET status = 'finalize_task_failed', finalize_error = u.error, finished_at = :now, is_closed = false, updated_at = :now
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, error jsonb)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'waiting_for_finalize_task'
RETURNING t.execution_id;

--! cancel_subtrees : CancelSubtreesRow()
--- Cancels every active execution in the subtrees rooted at a JSON array of {execution_id, error, include_self}; running ones are flagged for their owner; a cancelled top-level execution without children or finalize is closed by the same statement (see the header). PostgreSQL locks the targets in execution-id order first, so that concurrent cancellations of overlapping subtrees never deadlock.
WITH RECURSIVE roots AS (
    SELECT r.execution_id, r.error, r.include_self
    FROM jsonb_to_recordset(:items::jsonb) AS r(execution_id text, error jsonb, include_self boolean)
), tree (execution_id, error, include_self, depth) AS (
    SELECT roots.execution_id, roots.error, roots.include_self, 0 FROM roots
    UNION ALL
    SELECT c.execution_id, tree.error, tree.include_self, tree.depth + 1
    FROM task_executions AS c JOIN tree ON c.parent_execution_id = tree.execution_id
), targets AS (
    SELECT DISTINCT ON (execution_id) execution_id, error FROM tree
    WHERE depth > 0 OR include_self ORDER BY execution_id, depth
), locked AS MATERIALIZED (
    SELECT c.id, targets.error FROM task_executions AS c JOIN targets ON c.execution_id = targets.execution_id
    WHERE c.status IN ('ready', 'sleeping', 'running', 'waiting_for_children_tasks', 'waiting_for_finalize_task')
    ORDER BY c.execution_id
    FOR UPDATE OF c
)
UPDATE task_executions AS t
SET status = 'cancelled', error = locked.error, needs_cancel = (t.status = 'running'),
    executor_id = CASE WHEN t.status = 'running' THEN t.executor_id ELSE NULL END,
    expires_at = NULL, heartbeat_expires_at = NULL, finished_at = :now, updated_at = :now,
    is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL),
    closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN :now::bigint ELSE t.closed_at END
FROM locked
WHERE t.id = locked.id
  AND t.status IN ('ready', 'sleeping', 'running', 'waiting_for_children_tasks', 'waiting_for_finalize_task')
RETURNING t.execution_id;

--! ready_parents : TaskExecutionRow
--- Parents waiting for children whose children have all completed, least recently updated first.
SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions
WHERE status = 'waiting_for_children_tasks' AND active_children_count = 0
ORDER BY updated_at, id
LIMIT :limit;

--! advance_parents : AdvanceParentsRow()
--- Moves parents whose children all completed, from a JSON array of {execution_id, status, output?, finalize_execution_id?, error?, spawn_next}: complete, wait for the finalize, spawn the next sequential child, or fail.
UPDATE task_executions AS t
SET status = u.status,
    output = coalesce(u.output, t.output),
    finalize_execution_id = coalesce(u.finalize_execution_id, t.finalize_execution_id),
    error = coalesce(u.error, t.error),
    children_count = t.children_count + CASE WHEN u.spawn_next THEN 1 ELSE 0 END,
    active_children_count = CASE WHEN u.spawn_next THEN 1 ELSE 0 END,
    finished_at = CASE WHEN u.status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled') THEN :now::bigint ELSE NULL END,
    waiting_for_finalize_started_at = CASE WHEN u.status = 'waiting_for_finalize_task' THEN :now::bigint ELSE t.waiting_for_finalize_started_at END,
    is_closed = false, updated_at = :now
FROM jsonb_to_recordset(:items::jsonb) AS u(execution_id text, status text, output text, finalize_execution_id text, error jsonb, spawn_next boolean)
WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements(:items::jsonb) ->> 'execution_id'))
  AND t.execution_id = u.execution_id AND t.status COLLATE "C" = 'waiting_for_children_tasks' AND t.active_children_count = 0
RETURNING t.execution_id;

--! claim_cancellations : ClaimCancellationsRow()
--- Clears the cancel flag of up to `limit` cancelled runs owned by the executor and returns their ids.
UPDATE task_executions AS t SET needs_cancel = false
WHERE t.id IN (
    SELECT c.id FROM task_executions AS c
    WHERE c.executor_id = :executor_id AND c.needs_cancel = true
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING t.execution_id;

--! expire_leases : ExpireLeasesRow()
--- Recovers up to `limit` running executions whose lease expired (past their timeout bound `expires_at`, or past their heartbeat deadline `heartbeat_expires_at`); re-queued with attempt + 1 while the retry budget allows, failed otherwise (and closed at once when top-level without children or finalize, see the header). Scans the running rows through ix_task_executions_leases (bounded by the executors' total concurrency).
UPDATE task_executions AS t
SET status = CASE WHEN t.attempt < coalesce((t.retry_options ->> 'max_attempts')::integer, 0) THEN 'ready' ELSE 'failed' END,
    attempt = CASE WHEN t.attempt < coalesce((t.retry_options ->> 'max_attempts')::integer, 0) THEN t.attempt + 1 ELSE t.attempt END,
    start_at = CASE WHEN t.attempt < coalesce((t.retry_options ->> 'max_attempts')::integer, 0) THEN :now ELSE t.start_at END,
    finished_at = CASE WHEN t.attempt < coalesce((t.retry_options ->> 'max_attempts')::integer, 0) THEN NULL ELSE :now END,
    error = :error::jsonb, executor_id = NULL, expires_at = NULL, heartbeat_expires_at = NULL, updated_at = :now,
    is_closed = (t.attempt >= coalesce((t.retry_options ->> 'max_attempts')::integer, 0) AND t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL),
    closed_at = CASE WHEN t.attempt >= coalesce((t.retry_options ->> 'max_attempts')::integer, 0) AND t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN :now::bigint ELSE t.closed_at END
WHERE t.id IN (
    SELECT c.id FROM task_executions AS c
    WHERE c.status = 'running' AND (c.expires_at < :now OR c.heartbeat_expires_at < :now)
    ORDER BY c.expires_at, c.id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING t.execution_id, t.status;

--! wake_sleeping : TaskExecutionRow
--- Wakes the sleeping execution of a task with this key: finishes it with the JSON outcome {status, output?, error?} in one guarded statement (`status = 'sleeping'`), so that a wake racing a timeout or a cancellation has exactly one winner; a top-level execution is closed by the same statement (see the header). Returns nothing when no sleeping execution has the key.
UPDATE task_executions AS t
SET status = :outcome::jsonb ->> 'status', run_output = :outcome::jsonb ->> 'output', output = :outcome::jsonb ->> 'output',
    error = nullif(:outcome::jsonb -> 'error', 'null'::jsonb), finished_at = :now, updated_at = :now,
    expires_at = NULL, is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL),
    closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN :now::bigint ELSE t.closed_at END
WHERE t.sleeping_key = :sleeping_key AND t.status = 'sleeping' AND t.task_id = :task_id
RETURNING t.id, t.execution_id, t.task_id, t.root_task_id, t.root_execution_id, t.parent_task_id, t.parent_execution_id, t.index_in_parent, t.is_finalize, t.retry_options, t.sleep_ms_before_run, t.timeout_ms, t.input, t.run_output, t.output, t.children_count, t.active_children_count, t.finalize_execution_id, t.children_errors, t.finalize_error, t.error, t.status, t.is_closed, t.needs_cancel, t.executor_id, t.attempt, t.start_at, t.started_at, t.finished_at, t.expires_at, t.created_at, t.updated_at, t.waiting_for_children_started_at, t.waiting_for_finalize_started_at, t.closed_at, t.sleeping_key, t.parent_decides, t.heartbeat_expires_at;

--! get_by_sleeping_key : TaskExecutionRow
--- The most recent execution of a task with this sleeping key (a repeated wake returns it unchanged).
SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions
WHERE sleeping_key = :sleeping_key AND task_id = :task_id
ORDER BY id DESC
LIMIT 1;

--! expire_sleeping : ExpireSleepingRow()
--- Times out up to `limit` sleeping executions whose deadline passed (`timed_out` with the given error), oldest deadline first; guarded by `status = 'sleeping'`, so that a wake or a cancellation in between wins. A top-level execution is closed by the same statement (see the header).
UPDATE task_executions AS t
SET status = 'timed_out', error = :error::jsonb, finished_at = :now, updated_at = :now,
    expires_at = NULL, is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL),
    closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN :now::bigint ELSE t.closed_at END
WHERE t.id IN (
    SELECT c.id FROM task_executions AS c
    WHERE c.status = 'sleeping' AND c.expires_at < :now
    ORDER BY c.expires_at, c.id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
  AND t.status = 'sleeping'
RETURNING t.execution_id;

--! repair_missing_leases : RepairMissingLeasesRow()
--- Gives up to `limit` running executions that have no lease deadline (a row written by hand or by a faulty tool) the lease a claim would have given them: started_at (or now) + timeout + lease slack; lease expiry then recovers them if their run is gone.
UPDATE task_executions AS t
SET expires_at = coalesce(t.started_at, :now) + t.timeout_ms + :lease_slack_ms, updated_at = :now
WHERE t.id IN (
    SELECT c.id FROM task_executions AS c
    WHERE c.status = 'running' AND c.expires_at IS NULL
    ORDER BY c.id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING t.execution_id;

--! fail_missing_finalize : FailMissingFinalizeRow()
--- Ends up to `limit` parents that wait for a finalize execution that does not exist (its row is missing, or no finalize id is recorded): `finalize_task_failed` with the given error, to be closed like any finished execution.
UPDATE task_executions AS t
SET status = 'finalize_task_failed', error = :error::jsonb, finalize_error = :error::jsonb,
    finished_at = :now, updated_at = :now, is_closed = false
WHERE t.id IN (
    SELECT p.id FROM task_executions AS p
    WHERE p.status = 'waiting_for_finalize_task'
      AND NOT EXISTS (SELECT 1 FROM task_executions AS f WHERE f.execution_id = p.finalize_execution_id)
    ORDER BY p.updated_at, p.id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING t.execution_id;

--! count_stuck : CountStuckRow()
--- Rows that would hang without the maintenance check: running executions with no lease deadline, and parents waiting for a finalize execution that does not exist.
SELECT
    (SELECT count(*) FROM task_executions WHERE status = 'running' AND expires_at IS NULL) AS running_without_lease,
    (SELECT count(*) FROM task_executions AS p
     WHERE p.status = 'waiting_for_finalize_task'
       AND NOT EXISTS (SELECT 1 FROM task_executions AS f WHERE f.execution_id = p.finalize_execution_id)) AS missing_finalize;

--! count_by_task_and_status : CountByTaskAndStatusRow()
--- Number of executions per task id and status.
SELECT task_id, status, count(*) AS count FROM task_executions
GROUP BY task_id, status
ORDER BY task_id, status;

--! oldest_ready : OldestReadyRow(oldest_start_at?)
--- The earliest start_at among ready executions (null when none is ready).
SELECT min(start_at) AS oldest_start_at FROM task_executions WHERE status = 'ready';

--! count_expired_leases : CountExpiredLeasesRow()
--- Number of running executions whose lease has expired (past the timeout bound or the heartbeat deadline, as in expire_leases).
SELECT count(*) AS count FROM task_executions WHERE status = 'running' AND (expires_at < :now OR heartbeat_expires_at < :now);

--! list_executions : TaskExecutionRow
--- Operator listing, newest first: executions created before the cursor (before_created_at, before_execution_id) in (created_at DESC, execution_id DESC) order, at most `limit`. Filters with a neutral value when unused: task_id '' (any), root_only false, any_status true (else status in the JSON array `statuses`), created range [created_from, created_to), any_finished true (else finished_at in [finished_from, finished_to)). Walks ix_task_executions_created backwards from the cursor; the filters are checked on the way (see docs/design.md, Listing).
SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions
WHERE (created_at, execution_id) < (:before_created_at, :before_execution_id)
  AND created_at >= :created_from AND created_at < :created_to
  AND (:any_finished OR (finished_at >= :finished_from AND finished_at < :finished_to))
  AND (:task_id = '' OR task_id = :task_id)
  AND (:root_only = false OR parent_execution_id IS NULL)
  AND (:any_status OR status IN (SELECT jsonb_array_elements_text(:statuses::jsonb)))
ORDER BY created_at DESC, execution_id DESC
LIMIT :limit;

--! list_children_of : TaskExecutionRow
--- Operator listing of one parent's children (and finalize), with the cursor, order and filters of list_executions; reads the parent's rows through ix_task_executions_parent and sorts them.
SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions
WHERE parent_execution_id = :parent_execution_id
  AND (created_at, execution_id) < (:before_created_at, :before_execution_id)
  AND created_at >= :created_from AND created_at < :created_to
  AND (:any_finished OR (finished_at >= :finished_from AND finished_at < :finished_to))
  AND (:task_id = '' OR task_id = :task_id)
  AND (:root_only = false OR parent_execution_id IS NULL)
  AND (:any_status OR status IN (SELECT jsonb_array_elements_text(:statuses::jsonb)))
ORDER BY created_at DESC, execution_id DESC
LIMIT :limit;

--! rerun_root : RerunRootRow()
--- Operator retry: puts a top-level execution that finished without completing back to ready for a fresh run (attempt 0, start_at now; output, errors, lease, children counters, finalize and the bookkeeping timestamps cleared). Returns the row only when the guard matched; its previous subtree is deleted by delete_descendants in the same transaction.
UPDATE task_executions
SET status = 'ready', attempt = 0, start_at = :now, started_at = NULL, finished_at = NULL, expires_at = NULL, heartbeat_expires_at = NULL,
    executor_id = NULL, needs_cancel = false, is_closed = false, run_output = NULL, output = NULL, error = NULL,
    children_count = 0, active_children_count = 0, finalize_execution_id = NULL, children_errors = NULL,
    finalize_error = NULL, waiting_for_children_started_at = NULL, waiting_for_finalize_started_at = NULL,
    closed_at = NULL, updated_at = :now
WHERE execution_id = :execution_id AND parent_execution_id IS NULL
  AND status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'cancelled')
RETURNING execution_id;

--! delete_descendants
--- Deletes every descendant of an execution (children, their children, finalize executions), found through ix_task_executions_parent.
WITH RECURSIVE tree (execution_id) AS (
    SELECT c.execution_id FROM task_executions AS c WHERE c.parent_execution_id = :execution_id
    UNION ALL
    SELECT c.execution_id FROM task_executions AS c JOIN tree ON c.parent_execution_id = tree.execution_id
)
DELETE FROM task_executions WHERE execution_id IN (SELECT execution_id FROM tree);

--! prune_roots : PruneRootsRow(finished_at?)
--- Retention: deletes up to `limit` top-level executions in `status` (a finished one) that are closed and finished before `finished_before`, whose every descendant is finished and closed (a whole finished tree; on PostgreSQL `OFFSET 0` keeps that `NOT EXISTS` a probe of ix_task_executions_root per candidate: as an anti-join the planner, which sees almost no unfinished rows in the statistics, scans the whole table once per batch, ~0.5 s with a million rows), taken in the prunable index's order after the keyset bound `(after_finished_at, after_id)` (a pass carries it from batch to batch, so that a scan never steps again over the entries of the roots it deleted), and returns those deleted with their position in that order. One statement: PostgreSQL locks the candidates FOR UPDATE SKIP LOCKED (concurrent pruners take disjoint batches) and deletes them under the guard again (still top-level, finished and closed: a root re-run meanwhile is kept); SQLite deletes them inside the caller's write transaction. Reads ix_task_executions_prunable (one range: status, (finished_at, id) between the bound and the cutoff) and, per candidate, ix_task_executions_root; deletes by the primary key.
DELETE FROM task_executions
WHERE id = ANY (ARRAY(
    SELECT r.id FROM task_executions AS r
    WHERE r.parent_execution_id IS NULL AND r.is_closed = true
      AND r.status = :status AND r.finished_at < :finished_before
      AND (r.finished_at, r.id) > (:after_finished_at, :after_id)
      AND NOT EXISTS (
          SELECT 1 FROM task_executions AS d
          WHERE d.root_execution_id = r.execution_id
            AND (d.is_closed = false
                 OR d.status NOT IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled'))
          OFFSET 0)
    ORDER BY r.status, r.finished_at, r.id
    LIMIT :limit
    FOR UPDATE OF r SKIP LOCKED))
  AND parent_execution_id IS NULL AND is_closed
  AND status COLLATE "C" IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled')
RETURNING execution_id, finished_at, id;

--! count_prunable : CountPrunableRow()
--- Retention dry run: how many of the first `limit` candidates of prune_roots after the same keyset bound (same conditions and order, read without locks) there are, and how many executions their trees hold (the roots plus their descendants).
SELECT count(*) AS roots,
    coalesce(sum(1 + (SELECT count(*) FROM task_executions AS e WHERE e.root_execution_id = c.execution_id)), 0)::bigint AS executions
FROM (
    SELECT r.execution_id FROM task_executions AS r
    WHERE r.parent_execution_id IS NULL AND r.is_closed = true
      AND r.status = :status AND r.finished_at < :finished_before
      AND (r.finished_at, r.id) > (:after_finished_at, :after_id)
      AND NOT EXISTS (
          SELECT 1 FROM task_executions AS d
          WHERE d.root_execution_id = r.execution_id
            AND (d.is_closed = false
                 OR d.status NOT IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled'))
          OFFSET 0)
    ORDER BY r.status, r.finished_at, r.id
    LIMIT :limit) AS c;

--! delete_pruned_descendants
--- Retention: deletes every descendant of the top-level executions of a JSON array of execution ids (the rows whose root_execution_id is one of them), through ix_task_executions_root.
DELETE FROM task_executions
WHERE root_execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text(:ids::jsonb)));

--! delete_all_executions
--- Deletes every execution (tests and benchmarks).
DELETE FROM task_executions;

--! notify_events : NotifyEventsRow()
--- Wakes every executor listening on this schema's event channel (LISTEN/NOTIFY; see event_channel) with one notification per payload of the JSON array `payloads` (each says what happened), all in this one statement's transaction: PostgreSQL signals every listening backend of the database once per notifying transaction, whatever its channel, so several kinds sent together cost the listeners one wake-up instead of one each.
SELECT count(*) AS sent FROM (SELECT pg_notify(
  CASE
    WHEN coalesce(current_schema(), 'public') = 'public' THEN 'task_executions_events'
    WHEN octet_length('task_executions_events_' || current_schema()) <= 63 THEN 'task_executions_events_' || current_schema()
    ELSE 'task_executions_events_' || md5(current_schema())
  END,
  p.payload) FROM jsonb_array_elements_text(:payloads::jsonb) AS p(payload)) AS n;

--! event_channel : EventChannelRow()
--- The notification channel of the table in the session's current schema (the one `search_path` names first): `<table>_events` in `public` (the channel of earlier releases), `<table>_events_<schema>` elsewhere (the md5 of the schema's name when that would exceed PostgreSQL's 63-byte limit), so that storages in different schemas of one database do not wake each other. notify_events computes the same expression.
SELECT CASE
    WHEN coalesce(current_schema(), 'public') = 'public' THEN 'task_executions_events'
    WHEN octet_length('task_executions_events_' || current_schema()) <= 63 THEN 'task_executions_events_' || current_schema()
    ELSE 'task_executions_events_' || md5(current_schema())
  END AS channel;
