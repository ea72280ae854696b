-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- Current SQLite schema: the state after every migration in generated/migrations/sqlite/.
-- DBAs: load it into an empty database to inspect the schema, or apply the migrations in order.

-- One row per execution of a registered task, including every child and finalize execution.
CREATE TABLE task_executions (
    -- Surrogate key; never exposed, used for stable ordering and row locking.
    id                              INTEGER PRIMARY KEY,
    -- Unique execution id (`te_` followed by 24 characters).
    execution_id                    TEXT NOT NULL,
    -- Id of the registered task this execution runs.
    task_id                         TEXT NOT NULL,
    -- Task id of the top-most ancestor; null for executions enqueued by the API.
    root_task_id                    TEXT,
    -- Execution id of the top-most ancestor.
    root_execution_id               TEXT,
    -- Task id of the direct parent; null for executions enqueued by the API.
    parent_task_id                  TEXT,
    -- Execution id of the direct parent.
    parent_execution_id             TEXT,
    -- Position among the parent's children (spawn order); 0 for a finalize.
    index_in_parent                 INTEGER NOT NULL DEFAULT 0,
    -- True when this execution is its parent's finalize execution.
    is_finalize                     INTEGER NOT NULL DEFAULT false,
    -- Effective retry policy: {max_attempts, base_delay_ms?, delay_multiplier?, max_delay_ms?, jitter?}.
    retry_options                   TEXT NOT NULL,
    -- Effective delay before the first run, in milliseconds.
    sleep_ms_before_run             INTEGER NOT NULL,
    -- Effective per-attempt timeout, in milliseconds.
    timeout_ms                      INTEGER NOT NULL,
    -- Serialized (JSON) input.
    input                           TEXT NOT NULL,
    -- Serialized output of the task's own run (for a parent, its own part).
    run_output                      TEXT,
    -- Serialized final output, set when completed.
    output                          TEXT,
    -- Number of children spawned so far.
    children_count                  INTEGER NOT NULL DEFAULT 0,
    -- Spawned children that have not completed yet; counted down atomically when each completes.
    active_children_count           INTEGER NOT NULL DEFAULT 0,
    -- Execution id of the finalize execution, once created.
    finalize_execution_id           TEXT,
    -- Errors of children that finished without completing: [{index, task_id, execution_id, error}].
    children_errors                 TEXT,
    -- Error of a finalize execution that finished without completing.
    finalize_error                  TEXT,
    -- Last error: {kind, message, is_retryable, is_internal}.
    error                           TEXT,
    -- Lifecycle status: ready, sleeping, running, failed, timed_out, waiting_for_children_tasks, children_tasks_failed, waiting_for_finalize_task, finalize_task_failed, completed, cancelled.
    status                          TEXT NOT NULL DEFAULT 'ready',
    -- True once the effects of this finished execution on its parent and descendants are applied.
    is_closed                       INTEGER NOT NULL DEFAULT false,
    -- Set when a running execution is cancelled; its owner clears it after stopping the run.
    needs_cancel                    INTEGER NOT NULL DEFAULT false,
    -- The executor holding the lease while running.
    executor_id                     TEXT,
    -- Retries performed so far (0 on the first run).
    attempt                         INTEGER NOT NULL DEFAULT 0,
    -- Earliest time the execution may be claimed (epoch milliseconds).
    start_at                        INTEGER NOT NULL,
    -- Time of the most recent claim (epoch milliseconds).
    started_at                      INTEGER,
    -- Time the execution entered a finished status (epoch milliseconds).
    finished_at                     INTEGER,
    -- Lease deadline while running (epoch milliseconds); a running row past it is recovered.
    expires_at                      INTEGER,
    -- Creation time (epoch milliseconds).
    created_at                      INTEGER NOT NULL,
    -- Time of the last update (epoch milliseconds).
    updated_at                      INTEGER NOT NULL,
    -- Time the parent's run ended and it started waiting for its children (epoch milliseconds); null if it never did.
    waiting_for_children_started_at INTEGER,
    -- Time the parent started waiting for its finalize execution (epoch milliseconds); null if it never did.
    waiting_for_finalize_started_at INTEGER,
    -- Time this finished execution's effects were applied and is_closed became true (epoch milliseconds): by the closer, or at its finish (equal to finished_at) for a top-level execution without children or finalize, which has none.
    closed_at                       INTEGER,
    -- The caller's key of a sleeping task's execution (1-255 characters): it sleeps (`status = 'sleeping'`, deadline in `expires_at`) until woken by this key; kept once finished, so that a repeated wake finds it.
    sleeping_key                    TEXT,
    -- True when the direct parent's finalize decides the parent's result (ParentTask::finalize_decides): this child finishing in any status counts the parent's active children down instead of failing the parent.
    parent_decides                  INTEGER NOT NULL DEFAULT false,
    -- Liveness deadline of a running execution (epoch milliseconds): claim time + lease, pushed forward by each heartbeat of its owner; a running row past it (or past expires_at) is recovered. In no index and no partial-index predicate, so that a heartbeat, which writes only this column, is a HOT update on PostgreSQL. Null for rows claimed by a version without heartbeats (then only expires_at bounds them).
    heartbeat_expires_at            INTEGER
);

-- Lookups by id; rejects duplicate execution ids.
CREATE UNIQUE INDEX ix_task_executions_execution_id ON task_executions (execution_id);

-- The claim of ready executions, oldest start_at first. Partial: only ready rows are indexed, so the index stays as small as the queue, and updates to any other status (claim, finish, close) add no entry to it.
CREATE INDEX ix_task_executions_ready ON task_executions (start_at) WHERE status = 'ready';

-- Children of a parent in spawn order; subtree cancellation. Partial, so that top-level executions (most of them) are not indexed.
CREATE INDEX ix_task_executions_parent ON task_executions (parent_execution_id, index_in_parent) WHERE parent_execution_id IS NOT NULL;

-- Finished executions whose effects are not applied yet (small; closed rows are not indexed).
CREATE INDEX ix_task_executions_unclosed ON task_executions (finished_at) WHERE is_closed = false AND status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled');

-- Lease expiry recovery: the running rows (as many as the executors' total concurrency), in timeout-bound order; the expirer checks their heartbeat deadline on the rows it yields.
CREATE INDEX ix_task_executions_leases ON task_executions (expires_at) WHERE status = 'running';

-- Each executor's queue of runs to stop.
CREATE INDEX ix_task_executions_needs_cancel ON task_executions (executor_id) WHERE needs_cancel = true;

-- Parents whose children have all completed.
CREATE INDEX ix_task_executions_waiting_parents ON task_executions (updated_at) WHERE status = 'waiting_for_children_tasks' AND active_children_count = 0;

-- Parents waiting for their finalize execution; the maintenance check for a finalize that does not exist.
CREATE INDEX ix_task_executions_waiting_finalize ON task_executions (updated_at) WHERE status = 'waiting_for_finalize_task';

-- Wakes by key; two sleeping executions can never share a key. Partial: only sleeping rows, so a key is free again once its execution finished.
CREATE UNIQUE INDEX ix_task_executions_sleeping_key ON task_executions (sleeping_key) WHERE status = 'sleeping';

-- A repeated wake finds the finished execution of its key (only sleeping tasks' rows are indexed).
CREATE INDEX ix_task_executions_sleeping_keys ON task_executions (sleeping_key) WHERE sleeping_key IS NOT NULL;

-- Sleeping executions by deadline; the maintenance loop times out those past it.
CREATE INDEX ix_task_executions_sleeping ON task_executions (expires_at) WHERE status = 'sleeping';

-- Operator listing (`list_executions`), newest first with keyset pagination on (created_at, execution_id); the other filters of a listing are checked on the rows this index yields.
CREATE INDEX ix_task_executions_created ON task_executions (created_at, execution_id);

-- Retention (`prune_roots`, `count_prunable`): closed top-level executions by status and finish time, oldest first, so that the candidates of one status older than its cutoff, after a pass's keyset bound, are one range scan. Partial: children and unclosed rows (the queue) are not indexed.
CREATE INDEX ix_task_executions_prunable ON task_executions (status, finished_at, id) WHERE parent_execution_id IS NULL AND is_closed = true;

-- Every descendant of a top-level execution (children, their subtrees, finalize executions): retention checks that a whole tree is finished and closed and deletes it (`prune_roots`, `delete_pruned_descendants`). Partial: top-level rows have no root.
CREATE INDEX ix_task_executions_root ON task_executions (root_execution_id) WHERE root_execution_id IS NOT NULL;
