-- @generated from spec/task_executions.yaml; do not edit. Regenerate with `cargo xtask codegen`.

-- version: 0004
-- name: update_comments
--
-- Changes (the runner applies this file in one transaction; applied migrations are never rewritten):
--   - comment on the table
--   - comment on column id
--   - comment on column execution_id
--   - comment on column task_id
--   - comment on column root_task_id
--   - comment on column root_execution_id
--   - comment on column parent_task_id
--   - comment on column parent_execution_id
--   - comment on column index_in_parent
--   - comment on column is_finalize
--   - comment on column retry_options
--   - comment on column sleep_ms_before_run
--   - comment on column timeout_ms
--   - comment on column input
--   - comment on column run_output
--   - comment on column output
--   - comment on column children_count
--   - comment on column active_children_count
--   - comment on column finalize_execution_id
--   - comment on column children_errors
--   - comment on column finalize_error
--   - comment on column error
--   - comment on column status
--   - comment on column is_closed
--   - comment on column needs_cancel
--   - comment on column executor_id
--   - comment on column attempt
--   - comment on column start_at
--   - comment on column started_at
--   - comment on column finished_at
--   - comment on column expires_at
--   - comment on column created_at
--   - comment on column updated_at
--   - comment on index ix_task_executions_execution_id
--   - comment on index ix_task_executions_ready
--   - comment on index ix_task_executions_parent
--   - comment on index ix_task_executions_unclosed
--   - comment on index ix_task_executions_leases
--   - comment on index ix_task_executions_needs_cancel
--   - comment on index ix_task_executions_waiting_parents
--   - comment on index ix_task_executions_waiting_finalize
--
-- Lint (for the reviewing DBA; classes: safe, takes an exclusive lock, rewrites the table, loses data):
--   - comment on the table: safe
--   - comment on column id: safe
--   - comment on column execution_id: safe
--   - comment on column task_id: safe
--   - comment on column root_task_id: safe
--   - comment on column root_execution_id: safe
--   - comment on column parent_task_id: safe
--   - comment on column parent_execution_id: safe
--   - comment on column index_in_parent: safe
--   - comment on column is_finalize: safe
--   - comment on column retry_options: safe
--   - comment on column sleep_ms_before_run: safe
--   - comment on column timeout_ms: safe
--   - comment on column input: safe
--   - comment on column run_output: safe
--   - comment on column output: safe
--   - comment on column children_count: safe
--   - comment on column active_children_count: safe
--   - comment on column finalize_execution_id: safe
--   - comment on column children_errors: safe
--   - comment on column finalize_error: safe
--   - comment on column error: safe
--   - comment on column status: safe
--   - comment on column is_closed: safe
--   - comment on column needs_cancel: safe
--   - comment on column executor_id: safe
--   - comment on column attempt: safe
--   - comment on column start_at: safe
--   - comment on column started_at: safe
--   - comment on column finished_at: safe
--   - comment on column expires_at: safe
--   - comment on column created_at: safe
--   - comment on column updated_at: safe
--   - comment on index ix_task_executions_execution_id: safe
--   - comment on index ix_task_executions_ready: safe
--   - comment on index ix_task_executions_parent: safe
--   - comment on index ix_task_executions_unclosed: safe
--   - comment on index ix_task_executions_leases: safe
--   - comment on index ix_task_executions_needs_cancel: safe
--   - comment on index ix_task_executions_waiting_parents: safe
--   - comment on index ix_task_executions_waiting_finalize: safe

-- comment on the table
COMMENT ON TABLE task_executions IS 'One row per execution of a registered task, including every child and finalize execution.';

-- comment on column id
COMMENT ON COLUMN task_executions.id IS 'Surrogate key; never exposed, used for stable ordering and row locking.';

-- comment on column execution_id
COMMENT ON COLUMN task_executions.execution_id IS 'Unique execution id (`te_` followed by 24 characters).';

-- comment on column task_id
COMMENT ON COLUMN task_executions.task_id IS 'Id of the registered task this execution runs.';

-- comment on column root_task_id
COMMENT ON COLUMN task_executions.root_task_id IS 'Task id of the top-most ancestor; null for executions enqueued by the API.';

-- comment on column root_execution_id
COMMENT ON COLUMN task_executions.root_execution_id IS 'Execution id of the top-most ancestor.';

-- comment on column parent_task_id
COMMENT ON COLUMN task_executions.parent_task_id IS 'Task id of the direct parent; null for executions enqueued by the API.';

-- comment on column parent_execution_id
COMMENT ON COLUMN task_executions.parent_execution_id IS 'Execution id of the direct parent.';

-- comment on column index_in_parent
COMMENT ON COLUMN task_executions.index_in_parent IS 'Position among the parent''s children (spawn order); 0 for a finalize.';

-- comment on column is_finalize
COMMENT ON COLUMN task_executions.is_finalize IS 'True when this execution is its parent''s finalize execution.';

-- comment on column retry_options
COMMENT ON COLUMN task_executions.retry_options IS 'Effective retry policy: {max_attempts, base_delay_ms?, delay_multiplier?, max_delay_ms?, jitter?}.';

-- comment on column sleep_ms_before_run
COMMENT ON COLUMN task_executions.sleep_ms_before_run IS 'Effective delay before the first run, in milliseconds.';

-- comment on column timeout_ms
COMMENT ON COLUMN task_executions.timeout_ms IS 'Effective per-attempt timeout, in milliseconds.';

-- comment on column input
COMMENT ON COLUMN task_executions.input IS 'Serialized (JSON) input.';

-- comment on column run_output
COMMENT ON COLUMN task_executions.run_output IS 'Serialized output of the task''s own run (for a parent, its own part).';

-- comment on column output
COMMENT ON COLUMN task_executions.output IS 'Serialized final output, set when completed.';

-- comment on column children_count
COMMENT ON COLUMN task_executions.children_count IS 'Number of children spawned so far.';

-- comment on column active_children_count
COMMENT ON COLUMN task_executions.active_children_count IS 'Spawned children that have not completed yet; counted down atomically when each completes.';

-- comment on column finalize_execution_id
COMMENT ON COLUMN task_executions.finalize_execution_id IS 'Execution id of the finalize execution, once created.';

-- comment on column children_errors
COMMENT ON COLUMN task_executions.children_errors IS 'Errors of children that finished without completing: [{index, task_id, execution_id, error}].';

-- comment on column finalize_error
COMMENT ON COLUMN task_executions.finalize_error IS 'Error of a finalize execution that finished without completing.';

-- comment on column error
COMMENT ON COLUMN task_executions.error IS 'Last error: {kind, message, is_retryable, is_internal}.';

-- comment on column status
COMMENT ON COLUMN task_executions.status IS 'Lifecycle status: ready, running, failed, timed_out, waiting_for_children_tasks, children_tasks_failed, waiting_for_finalize_task, finalize_task_failed, completed, cancelled.';

-- comment on column is_closed
COMMENT ON COLUMN task_executions.is_closed IS 'True once the effects of this finished execution on its parent and descendants are applied.';

-- comment on column needs_cancel
COMMENT ON COLUMN task_executions.needs_cancel IS 'Set when a running execution is cancelled; its owner clears it after stopping the run.';

-- comment on column executor_id
COMMENT ON COLUMN task_executions.executor_id IS 'The executor holding the lease while running.';

-- comment on column attempt
COMMENT ON COLUMN task_executions.attempt IS 'Retries performed so far (0 on the first run).';

-- comment on column start_at
COMMENT ON COLUMN task_executions.start_at IS 'Earliest time the execution may be claimed (epoch milliseconds).';

-- comment on column started_at
COMMENT ON COLUMN task_executions.started_at IS 'Time of the most recent claim (epoch milliseconds).';

-- comment on column finished_at
COMMENT ON COLUMN task_executions.finished_at IS 'Time the execution entered a finished status (epoch milliseconds).';

-- comment on column expires_at
COMMENT ON COLUMN task_executions.expires_at IS 'Lease deadline while running (epoch milliseconds); a running row past it is recovered.';

-- comment on column created_at
COMMENT ON COLUMN task_executions.created_at IS 'Creation time (epoch milliseconds).';

-- comment on column updated_at
COMMENT ON COLUMN task_executions.updated_at IS 'Time of the last update (epoch milliseconds).';

-- comment on index ix_task_executions_execution_id
COMMENT ON INDEX ix_task_executions_execution_id IS 'Lookups by id; rejects duplicate execution ids.';

-- comment on index ix_task_executions_ready
COMMENT ON INDEX ix_task_executions_ready IS 'The claim of ready executions, oldest start_at first. Partial: only ready rows are indexed, so the index stays as small as the queue, and updates to any other status (claim, finish, close) add no entry to it.';

-- comment on index ix_task_executions_parent
COMMENT ON INDEX ix_task_executions_parent IS 'Children of a parent in spawn order; subtree cancellation. Partial, so that top-level executions (most of them) are not indexed.';

-- comment on index ix_task_executions_unclosed
COMMENT ON INDEX ix_task_executions_unclosed IS 'Finished executions whose effects are not applied yet (small; closed rows are not indexed).';

-- comment on index ix_task_executions_leases
COMMENT ON INDEX ix_task_executions_leases IS 'Lease expiry recovery.';

-- comment on index ix_task_executions_needs_cancel
COMMENT ON INDEX ix_task_executions_needs_cancel IS 'Each executor''s queue of runs to stop.';

-- comment on index ix_task_executions_waiting_parents
COMMENT ON INDEX ix_task_executions_waiting_parents IS 'Parents whose children have all completed.';

-- comment on index ix_task_executions_waiting_finalize
COMMENT ON INDEX ix_task_executions_waiting_finalize IS 'Parents waiting for their finalize execution; the maintenance check for a finalize that does not exist.';
