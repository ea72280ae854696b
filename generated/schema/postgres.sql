-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- Current PostgreSQL schema: the state after every migration in generated/migrations/postgres/.
-- DBAs: load it into an empty database to inspect the schema, or apply the migrations in order.

-- One row per execution of a registered task, including every child and finalize execution.
CREATE TABLE task_executions (
    -- Surrogate key; never exposed, used for stable ordering and row locking.
    id                              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Unique execution id (`te_` followed by 24 characters).
    execution_id                    text NOT NULL,
    -- Id of the registered task this execution runs.
    task_id                         text NOT NULL,
    -- Task id of the top-most ancestor; null for executions enqueued by the API.
    root_task_id                    text,
    -- Execution id of the top-most ancestor.
    root_execution_id               text,
    -- Task id of the direct parent; null for executions enqueued by the API.
    parent_task_id                  text,
    -- Execution id of the direct parent.
    parent_execution_id             text,
    -- Position among the parent's children (spawn order); 0 for a finalize.
    index_in_parent                 integer NOT NULL DEFAULT 0,
    -- True when this execution is its parent's finalize execution.
    is_finalize                     boolean NOT NULL DEFAULT false,
    -- Effective retry policy: {max_attempts, base_delay_ms?, delay_multiplier?, max_delay_ms?, jitter?}.
    retry_options                   jsonb NOT NULL,
    -- Effective delay before the first run, in milliseconds.
    sleep_ms_before_run             bigint NOT NULL,
    -- Effective per-attempt timeout, in milliseconds.
    timeout_ms                      bigint NOT NULL,
    -- Serialized (JSON) input.
    input                           text NOT NULL,
    -- Serialized output of the task's own run (for a parent, its own part).
    run_output                      text,
    -- Serialized final output, set when completed.
    output                          text,
    -- Number of children spawned so far.
    children_count                  integer NOT NULL DEFAULT 0,
    -- Spawned children that have not completed yet; counted down atomically when each completes.
    active_children_count           integer NOT NULL DEFAULT 0,
    -- Execution id of the finalize execution, once created.
    finalize_execution_id           text,
    -- Errors of children that finished without completing: [{index, task_id, execution_id, error}].
    children_errors                 jsonb,
    -- Error of a finalize execution that finished without completing.
    finalize_error                  jsonb,
    -- Last error: {kind, message, is_retryable, is_internal}.
    error                           jsonb,
    -- Lifecycle status: ready, sleeping, running, failed, timed_out, waiting_for_children_tasks, children_tasks_failed, waiting_for_finalize_task, finalize_task_failed, completed, cancelled.
    status                          text NOT NULL DEFAULT 'ready',
    -- True once the effects of this finished execution on its parent and descendants are applied.
    is_closed                       boolean NOT NULL DEFAULT false,
    -- Set when a running execution is cancelled; its owner clears it after stopping the run.
    needs_cancel                    boolean NOT NULL DEFAULT false,
    -- The executor holding the lease while running.
    executor_id                     text,
    -- Retries performed so far (0 on the first run).
    attempt                         integer NOT NULL DEFAULT 0,
    -- Earliest time the execution may be claimed (epoch milliseconds).
    start_at                        bigint NOT NULL,
    -- Time of the most recent claim (epoch milliseconds).
    started_at                      bigint,
    -- Time the execution entered a finished status (epoch milliseconds).
    finished_at                     bigint,
    -- Lease deadline while running (epoch milliseconds); a running row past it is recovered.
    expires_at                      bigint,
    -- Creation time (epoch milliseconds).
    created_at                      bigint NOT NULL,
    -- Time of the last update (epoch milliseconds).
    updated_at                      bigint NOT NULL,
    -- Time the parent's run ended and it started waiting for its children (epoch milliseconds); null if it never did.
    waiting_for_children_started_at bigint,
    -- Time the parent started waiting for its finalize execution (epoch milliseconds); null if it never did.
    waiting_for_finalize_started_at bigint,
    -- Time this finished execution's effects were applied and is_closed became true (epoch milliseconds): by the closer, or at its finish (equal to finished_at) for a top-level execution without children or finalize, which has none.
    closed_at                       bigint,
    -- The caller's key of a sleeping task's execution (1-255 characters): it sleeps (`status = 'sleeping'`, deadline in `expires_at`) until woken by this key; kept once finished, so that a repeated wake finds it.
    sleeping_key                    text,
    -- True when the direct parent's finalize decides the parent's result (ParentTask::finalize_decides): this child finishing in any status counts the parent's active children down instead of failing the parent.
    parent_decides                  boolean NOT NULL DEFAULT false,
    -- Liveness deadline of a running execution (epoch milliseconds): claim time + lease, pushed forward by each heartbeat of its owner; a running row past it (or past expires_at) is recovered. In no index and no partial-index predicate, so that a heartbeat, which writes only this column, is a HOT update on PostgreSQL. Null for rows claimed by a version without heartbeats (then only expires_at bounds them).
    heartbeat_expires_at            bigint
) WITH (fillfactor = 70);

COMMENT ON TABLE task_executions IS 'One row per execution of a registered task, including every child and finalize execution.';
COMMENT ON COLUMN task_executions.id IS 'Surrogate key; never exposed, used for stable ordering and row locking.';
COMMENT ON COLUMN task_executions.execution_id IS 'Unique execution id (`te_` followed by 24 characters).';
COMMENT ON COLUMN task_executions.task_id IS 'Id of the registered task this execution runs.';
COMMENT ON COLUMN task_executions.root_task_id IS 'Task id of the top-most ancestor; null for executions enqueued by the API.';
COMMENT ON COLUMN task_executions.root_execution_id IS 'Execution id of the top-most ancestor.';
COMMENT ON COLUMN task_executions.parent_task_id IS 'Task id of the direct parent; null for executions enqueued by the API.';
COMMENT ON COLUMN task_executions.parent_execution_id IS 'Execution id of the direct parent.';
COMMENT ON COLUMN task_executions.index_in_parent IS 'Position among the parent''s children (spawn order); 0 for a finalize.';
COMMENT ON COLUMN task_executions.is_finalize IS 'True when this execution is its parent''s finalize execution.';
COMMENT ON COLUMN task_executions.retry_options IS 'Effective retry policy: {max_attempts, base_delay_ms?, delay_multiplier?, max_delay_ms?, jitter?}.';
COMMENT ON COLUMN task_executions.sleep_ms_before_run IS 'Effective delay before the first run, in milliseconds.';
COMMENT ON COLUMN task_executions.timeout_ms IS 'Effective per-attempt timeout, in milliseconds.';
COMMENT ON COLUMN task_executions.input IS 'Serialized (JSON) input.';
COMMENT ON COLUMN task_executions.run_output IS 'Serialized output of the task''s own run (for a parent, its own part).';
COMMENT ON COLUMN task_executions.output IS 'Serialized final output, set when completed.';
COMMENT ON COLUMN task_executions.children_count IS 'Number of children spawned so far.';
COMMENT ON COLUMN task_executions.active_children_count IS 'Spawned children that have not completed yet; counted down atomically when each completes.';
COMMENT ON COLUMN task_executions.finalize_execution_id IS 'Execution id of the finalize execution, once created.';
COMMENT ON COLUMN task_executions.children_errors IS 'Errors of children that finished without completing: [{index, task_id, execution_id, error}].';
COMMENT ON COLUMN task_executions.finalize_error IS 'Error of a finalize execution that finished without completing.';
COMMENT ON COLUMN task_executions.error IS 'Last error: {kind, message, is_retryable, is_internal}.';
COMMENT ON COLUMN task_executions.status IS 'Lifecycle status: ready, sleeping, running, failed, timed_out, waiting_for_children_tasks, children_tasks_failed, waiting_for_finalize_task, finalize_task_failed, completed, cancelled.';
COMMENT ON COLUMN task_executions.is_closed IS 'True once the effects of this finished execution on its parent and descendants are applied.';
COMMENT ON COLUMN task_executions.needs_cancel IS 'Set when a running execution is cancelled; its owner clears it after stopping the run.';
COMMENT ON COLUMN task_executions.executor_id IS 'The executor holding the lease while running.';
COMMENT ON COLUMN task_executions.attempt IS 'Retries performed so far (0 on the first run).';
COMMENT ON COLUMN task_executions.start_at IS 'Earliest time the execution may be claimed (epoch milliseconds).';
COMMENT ON COLUMN task_executions.started_at IS 'Time of the most recent claim (epoch milliseconds).';
COMMENT ON COLUMN task_executions.finished_at IS 'Time the execution entered a finished status (epoch milliseconds).';
COMMENT ON COLUMN task_executions.expires_at IS 'Lease deadline while running (epoch milliseconds); a running row past it is recovered.';
COMMENT ON COLUMN task_executions.created_at IS 'Creation time (epoch milliseconds).';
COMMENT ON COLUMN task_executions.updated_at IS 'Time of the last update (epoch milliseconds).';
COMMENT ON COLUMN task_executions.waiting_for_children_started_at IS 'Time the parent''s run ended and it started waiting for its children (epoch milliseconds); null if it never did.';
COMMENT ON COLUMN task_executions.waiting_for_finalize_started_at IS 'Time the parent started waiting for its finalize execution (epoch milliseconds); null if it never did.';
COMMENT ON COLUMN task_executions.closed_at IS 'Time this finished execution''s effects were applied and is_closed became true (epoch milliseconds): by the closer, or at its finish (equal to finished_at) for a top-level execution without children or finalize, which has none.';
COMMENT ON COLUMN task_executions.sleeping_key IS 'The caller''s key of a sleeping task''s execution (1-255 characters): it sleeps (`status = ''sleeping''`, deadline in `expires_at`) until woken by this key; kept once finished, so that a repeated wake finds it.';
COMMENT ON COLUMN task_executions.parent_decides IS 'True when the direct parent''s finalize decides the parent''s result (ParentTask::finalize_decides): this child finishing in any status counts the parent''s active children down instead of failing the parent.';
COMMENT ON COLUMN task_executions.heartbeat_expires_at IS 'Liveness deadline of a running execution (epoch milliseconds): claim time + lease, pushed forward by each heartbeat of its owner; a running row past it (or past expires_at) is recovered. In no index and no partial-index predicate, so that a heartbeat, which writes only this column, is a HOT update on PostgreSQL. Null for rows claimed by a version without heartbeats (then only expires_at bounds them).';

-- Lookups by id; rejects duplicate execution ids.
CREATE UNIQUE INDEX ix_task_executions_execution_id ON task_executions (execution_id);
COMMENT ON INDEX ix_task_executions_execution_id IS 'Lookups by id; rejects duplicate execution ids.';

-- The claim of ready executions, oldest start_at first. Partial: only ready rows are indexed, so the index stays as small as the queue, and updates to any other status (claim, finish, close) add no entry to it.
CREATE INDEX ix_task_executions_ready ON task_executions (start_at) WHERE status = 'ready';
COMMENT ON INDEX ix_task_executions_ready IS 'The claim of ready executions, oldest start_at first. Partial: only ready rows are indexed, so the index stays as small as the queue, and updates to any other status (claim, finish, close) add no entry to it.';

-- Children of a parent in spawn order; subtree cancellation. Partial, so that top-level executions (most of them) are not indexed.
CREATE INDEX ix_task_executions_parent ON task_executions (parent_execution_id, index_in_parent) WHERE parent_execution_id IS NOT NULL;
COMMENT ON INDEX ix_task_executions_parent IS 'Children of a parent in spawn order; subtree cancellation. Partial, so that top-level executions (most of them) are not indexed.';

-- Finished executions whose effects are not applied yet (small; closed rows are not indexed).
CREATE INDEX ix_task_executions_unclosed ON task_executions (finished_at) WHERE is_closed = false AND status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled');
COMMENT ON INDEX ix_task_executions_unclosed IS 'Finished executions whose effects are not applied yet (small; closed rows are not indexed).';

-- Lease expiry recovery: the running rows (as many as the executors' total concurrency), in timeout-bound order; the expirer checks their heartbeat deadline on the rows it yields.
CREATE INDEX ix_task_executions_leases ON task_executions (expires_at) WHERE status = 'running';
COMMENT ON INDEX ix_task_executions_leases IS 'Lease expiry recovery: the running rows (as many as the executors'' total concurrency), in timeout-bound order; the expirer checks their heartbeat deadline on the rows it yields.';

-- Each executor's queue of runs to stop.
CREATE INDEX ix_task_executions_needs_cancel ON task_executions (executor_id) WHERE needs_cancel = true;
COMMENT ON INDEX ix_task_executions_needs_cancel IS 'Each executor''s queue of runs to stop.';

-- Parents whose children have all completed.
CREATE INDEX ix_task_executions_waiting_parents ON task_executions (updated_at) WHERE status = 'waiting_for_children_tasks' AND active_children_count = 0;
COMMENT ON INDEX ix_task_executions_waiting_parents IS 'Parents whose children have all completed.';

-- Parents waiting for their finalize execution; the maintenance check for a finalize that does not exist.
CREATE INDEX ix_task_executions_waiting_finalize ON task_executions (updated_at) WHERE status = 'waiting_for_finalize_task';
COMMENT ON INDEX ix_task_executions_waiting_finalize IS 'Parents waiting for their finalize execution; the maintenance check for a finalize that does not exist.';

-- Wakes by key; two sleeping executions can never share a key. Partial: only sleeping rows, so a key is free again once its execution finished.
CREATE UNIQUE INDEX ix_task_executions_sleeping_key ON task_executions (sleeping_key) WHERE status = 'sleeping';
COMMENT ON INDEX ix_task_executions_sleeping_key IS 'Wakes by key; two sleeping executions can never share a key. Partial: only sleeping rows, so a key is free again once its execution finished.';

-- A repeated wake finds the finished execution of its key (only sleeping tasks' rows are indexed).
CREATE INDEX ix_task_executions_sleeping_keys ON task_executions (sleeping_key) WHERE sleeping_key IS NOT NULL;
COMMENT ON INDEX ix_task_executions_sleeping_keys IS 'A repeated wake finds the finished execution of its key (only sleeping tasks'' rows are indexed).';

-- Sleeping executions by deadline; the maintenance loop times out those past it.
CREATE INDEX ix_task_executions_sleeping ON task_executions (expires_at) WHERE status = 'sleeping';
COMMENT ON INDEX ix_task_executions_sleeping IS 'Sleeping executions by deadline; the maintenance loop times out those past it.';

-- Operator listing (`list_executions`), newest first with keyset pagination on (created_at, execution_id); the other filters of a listing are checked on the rows this index yields.
CREATE INDEX ix_task_executions_created ON task_executions (created_at, execution_id);
COMMENT ON INDEX ix_task_executions_created IS 'Operator listing (`list_executions`), newest first with keyset pagination on (created_at, execution_id); the other filters of a listing are checked on the rows this index yields.';

-- Retention (`prune_roots`, `count_prunable`): closed top-level executions by status and finish time, oldest first, so that the candidates of one status older than its cutoff, after a pass's keyset bound, are one range scan. Partial: children and unclosed rows (the queue) are not indexed.
CREATE INDEX ix_task_executions_prunable ON task_executions (status, finished_at, id) WHERE parent_execution_id IS NULL AND is_closed = true;
COMMENT ON INDEX ix_task_executions_prunable IS 'Retention (`prune_roots`, `count_prunable`): closed top-level executions by status and finish time, oldest first, so that the candidates of one status older than its cutoff, after a pass''s keyset bound, are one range scan. Partial: children and unclosed rows (the queue) are not indexed.';

-- Every descendant of a top-level execution (children, their subtrees, finalize executions): retention checks that a whole tree is finished and closed and deletes it (`prune_roots`, `delete_pruned_descendants`). Partial: top-level rows have no root.
CREATE INDEX ix_task_executions_root ON task_executions (root_execution_id) WHERE root_execution_id IS NOT NULL;
COMMENT ON INDEX ix_task_executions_root IS 'Every descendant of a top-level execution (children, their subtrees, finalize executions): retention checks that a whole tree is finished and closed and deletes it (`prune_roots`, `delete_pruned_descendants`). Partial: top-level rows have no root.';
