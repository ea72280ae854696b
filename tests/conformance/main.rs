//! The storage conformance suite: every case in [`cases`] (and, for the SQL
//! backends, [`sql`]) runs once per backend through [`conformance!`].
//!
//! ```text
//! cargo test --test conformance                 # every backend
//! cargo test --test conformance sqlite::        # one backend
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[path = "../support/mod.rs"]
mod support;

mod cases;
mod sql;

/// Instantiates test functions for one backend: `conformance!(module,
/// harness_factory; case, case, ...)` creates `module::case` calling
/// `cases::case(harness_factory().await)` (or `sql::case` with `sql;`).
macro_rules! conformance {
    ($backend:ident, $factory:path, { $($group:ident : [$($case:ident),* $(,)?]),* $(,)? }) => {
        mod $backend {
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::$group::$case($factory().await).await
                }
            )*)*
        }
    };
}

/// The cases every backend must pass.
macro_rules! all_backends {
    ($($backend:ident => $factory:path),* $(,)?) => {
        $(conformance!($backend, $factory, {
            cases: [
                insert_and_get_round_trip_every_field,
                insert_of_nothing_is_a_no_op,
                duplicate_execution_id_rejects_the_whole_batch,
                get_follows_the_requested_order,
                get_children_in_spawn_order_finalize_last,
                claim_ready_filters_orders_and_limits,
                finish_is_guarded_by_status_and_owner,
                finish_after_cancel_changes_nothing,
                retry_requeues_and_is_guarded,
                retry_after_lease_expiry_is_refused,
                release_gives_runs_back_without_an_attempt,
                wait_for_children_inserts_only_for_matched_parents,
                wait_for_finalize_without_children,
                wait_for_children_with_duplicate_child_changes_nothing,
                close_counts_down_and_reports_ready_parents,
                close_respects_the_limit_oldest_first,
                close_records_child_failures_and_cancels_siblings,
                close_applies_finalize_results,
                close_cascades_through_three_levels,
                ready_parents_least_recently_updated_first,
                advance_parents_is_guarded,
                advance_parents_inserts_only_when_matched,
                cancel_subtree_with_and_without_self,
                claim_cancellations_is_per_owner,
                expire_leases_with_and_without_retry_budget,
                stats_counts_and_deletes,
                events_wake_subscribers,
                concurrent_claimers_get_disjoint_rows,
                concurrent_closers_lose_no_countdown,
                nul_characters_are_stored,
                children_outputs_pages_in_spawn_order,
                large_batches_are_all_or_nothing,
            ],
        });)*
    };
}

all_backends! {
    memory => crate::support::memory_harness,
    sqlite => crate::support::sqlite_harness,
    postgres => crate::support::postgres_harness,
}

/// The cases that need SQL fixtures or a real database.
macro_rules! sql_backends {
    ($($backend:ident => $factory:path),* $(,)?) => {
        $(conformance!($backend, $factory, {
            sql: [
                corrupt_rows_fail_alone,
                corrupt_finished_row_does_not_block_the_closer,
                millisecond_timestamps_survive,
                stuck_rows_are_counted_and_repaired,
                stats_report_unknown_statuses_on_their_own,
                claim_plan_ignores_stale_statistics,
            ],
        });)*
    };
}

sql_backends! {
    sqlite_sql => crate::support::sqlite_harness,
    postgres_sql => crate::support::postgres_harness,
}

// Values of another type than their column's can only be stored in SQLite
// (PostgreSQL's column types reject them on write): these cases have no
// PostgreSQL counterpart.
conformance!(sqlite_types, crate::support::sqlite_harness, {
    sql: [
        wrongly_typed_values_fail_their_row_alone,
        wrongly_typed_values_do_not_break_other_read_paths,
    ],
});
