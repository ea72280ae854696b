//! The executor test suite, written once over a storage factory and
//! instantiated per backend with [`executor_suite!`].
//!
//! Instantiated for the memory, SQLite and PostgreSQL backends (the SQL
//! storages come from `tests/support`: a temp file or a fresh schema per
//! test; PostgreSQL is reached through `DATABASE_URL`).
//!
//! ```text
//! cargo test --test executor                 # every backend
//! cargo test --test executor sqlite::        # one backend
//! ```

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[path = "../support/mod.rs"]
mod support;

mod api;
mod backpressure;
mod claiming;
mod common;
mod concurrent;
mod decides;
mod executor;
mod faults;
mod groupcommit;
mod handles;
mod looping;
mod metrics;
mod parent;
mod retention;
mod sequence;
mod simple;
mod sleeping;
mod validation;
mod workflow;

#[allow(unused_imports)]
use durable_execution::storage::{MemoryStorage, Storage};
#[allow(unused_imports)]
use std::sync::Arc;

/// Expands every scenario as a `#[tokio::test]` in a module named after the
/// backend, each given a [`common::Factory`] built from `$factory` (an
/// `Fn(&str) -> impl Future<Output = Arc<dyn Storage>>`; the argument is the
/// test name).
macro_rules! executor_suite {
    ($backend:ident, $factory:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;
            executor_suite!(@tests $factory;
                simple {
                    completes_with_output,
                    error_fails_execution,
                    retries_then_completes_or_fails,
                    timeout_ends_timed_out,
                    timeout_override_at_enqueue,
                    invalid_definitions_are_rejected,
                    cancel_before_run,
                    cancel_while_running,
                    context_carries_attempt_and_prev_error,
                    sleep_before_first_run_only,
                    retry_backoff_delays,
                    panic_fails_execution_only,
                    shutdown_token_lets_task_cancel_itself,
                    shutdown_writes_results_of_finishing_tasks,
                    shutdown_releases_unfinished_runs,
                    undeserializable_input_fails_execution,
                    payload_limits,
                    unknown_task_fails_execution,
                }
                parent {
                    children_outputs_in_order,
                    no_children,
                    finalize_combines_outputs,
                    failing_children_fail_parent,
                    failing_finalize_fails_parent,
                    finalize_can_be_a_parent,
                    many_children_in_order,
                    twenty_thousand_children_run_once_in_order,
                    invalid_children_fail_parent,
                    cancel_parent_cancels_running_children,
                    failed_child_cancels_siblings,
                }
                sequence {
                    chain_passes_outputs,
                    failing_step_fails_sequence,
                    sequences_of_tasks_and_parents,
                }
                decides {
                    finalize_decides_with_failed_children,
                    finalize_decides_failure_is_the_parents,
                }
                looping {
                    value_appears_before_max_iterations,
                    max_iterations_reached,
                    failing_iteration_fails_loop,
                }
                handles {
                    handle_lookups_are_checked,
                    recreated_handle_sees_running,
                    wait_options,
                    wait_is_event_driven,
                    client_and_worker,
                }
                executor {
                    shutdown_rejects_work,
                    registry_rules,
                    stats_reflect_options,
                    enqueue_many_and_prepare,
                    crash_recovery_by_lease_expiry,
                    storage_faults_are_survived,
                }
                faults {
                    transient_write_failures_never_fail_executions,
                    refused_result_fails_alone,
                    nul_in_an_error_is_stored,
                    huge_durations_mean_forever,
                    enqueue_retries_transient_failures,
                }
                groupcommit {
                    an_idle_enqueue_inserts_from_its_caller,
                    many_callers_in_a_loop,
                }
                backpressure {
                    concurrency_limit_is_respected,
                    waves_fill_free_capacity,
                }
                concurrent {
                    children_across_executors,
                    two_executors_run_each_task_once,
                    thousand_children_two_executors,
                    cancel_from_another_executor,
                    unknown_parent_left_to_knowing_executor,
                }
                workflow {
                    task_tree,
                    recursive_parent,
                    hundred_distinct_tasks,
                    storage_scenario_steps,
                }
                sleeping {
                    sleeping_child_is_woken_into_the_parent_output,
                    failed_wake_fails_the_parent,
                    sleeping_keys_are_checked_and_unique,
                    sleeping_task_times_out,
                    wake_races_cancel_and_timeout,
                }
                api {
                    typed_handles,
                    shared_state,
                    lifecycle_events,
                    run_until_signal,
                }
                validation {
                    enqueue_rejects_invalid_input,
                    invalid_child_input_fails_parent,
                    bookkeeping_timestamps,
                }
                metrics {
                    metrics_count_outcomes,
                    metrics_count_expired_leases,
                }
                retention {
                    background_pruning_deletes_old_trees,
                    retention_can_be_turned_off,
                }
                claiming {
                    an_idle_executor_runs_what_it_enqueues,
                    an_enqueue_claims_older_work_first,
                    an_enqueue_without_a_free_slot_leaves_it_ready,
                }
            );
            // The same scenarios on a current-thread runtime (the executor
            // needs no multi-thread runtime).
            mod current_thread {
                #[allow(unused_imports)]
                use super::*;
                executor_suite!(@current_thread $factory;
                    api::typed_handles,
                    api::shared_state,
                    api::lifecycle_events,
                    api::run_until_signal,
                    simple::cancel_while_running,
                    simple::shutdown_releases_unfinished_runs,
                    parent::finalize_combines_outputs,
                    groupcommit::concurrent_enqueues_share_one_insert,
                    groupcommit::a_refused_enqueue_fails_only_its_caller,
                    groupcommit::a_dropped_caller_does_not_strand_the_queue,
                );
            }
        }
    };
    (@current_thread $factory:expr; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "current_thread")]
            async fn $name() {
                crate::$module::$name(crate::common::factory($factory)).await;
            }
        )*
    };
    (@tests $factory:expr; $($module:ident { $($name:ident),* $(,)? })*) => {
        $(
            mod $module {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        crate::$module::$name(crate::common::factory($factory)).await;
                    }
                )*
            }
        )*
    };
}

executor_suite!(memory, |_name: &str| async {
    Arc::new(MemoryStorage::new()) as Arc<dyn Storage>
});

executor_suite!(sqlite, |_name: &str| crate::support::sqlite_storage());

executor_suite!(postgres, |_name: &str| crate::support::postgres_storage());
