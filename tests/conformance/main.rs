//! The storage conformance suite: the public cases
//! (`durable_execution::conformance`, feature `conformance`) run once per
//! built-in backend through the same `conformance_tests!` macro an
//! out-of-tree backend uses, plus once on a storage defined here, outside
//! the crate ([`out_of_tree`]); the SQL backends also run [`sql`].
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

mod out_of_tree;
mod sql;

use durable_execution::conformance::{self, Harness};
use support::Kind;

/// The public suite's harness on a support harness: it reopens with
/// [`support::Harness::reopen`], keeps the temp file / schema alive and, for
/// PostgreSQL, waits for the listener and expects U+0000 stored as U+FFFD.
fn conformance_harness(h: support::Harness) -> Harness {
    let reopener = h.clone();
    let harness = Harness::new(h.storage.clone()).with_reopen(move || {
        let reopener = reopener.clone();
        async move { reopener.reopen().await }
    });
    let harness = match h.kind {
        Kind::Postgres { .. } => harness
            .with_listener_warmup(std::time::Duration::from_secs(5))
            .with_nul_replacement('\u{FFFD}'),
        Kind::Memory | Kind::Sqlite { .. } => harness,
    };
    harness.with_guard(h.guard())
}

durable_execution::conformance_tests!(memory, || async {
    conformance_harness(crate::support::memory_harness().await)
});
durable_execution::conformance_tests!(sqlite, || async {
    conformance_harness(crate::support::sqlite_harness().await)
});
durable_execution::conformance_tests!(postgres, || async {
    conformance_harness(crate::support::postgres_harness().await)
});

/// Every public case is in the macro's list and in `CASES`, once.
#[test]
fn every_case_is_listed_once() {
    let names: std::collections::BTreeSet<_> = conformance::CASES.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), conformance::CASES.len());
    assert_eq!(names.len(), 51);
}

/// Instantiates test functions for the SQL-only cases of [`sql`] for one
/// backend: `sql_cases!(module, harness_factory; case, ...)` creates
/// `module::case` calling `sql::case(harness_factory().await)`.
macro_rules! sql_cases {
    ($backend:ident, $factory:path, [$($case:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::sql::$case($factory().await).await
                }
            )*
        }
    };
}

/// The cases that need SQL fixtures or a real database.
macro_rules! sql_backends {
    ($($backend:ident => $factory:path),* $(,)?) => {
        $(sql_cases!($backend, $factory, [
            corrupt_rows_fail_alone,
            corrupt_finished_row_does_not_block_the_closer,
            millisecond_timestamps_survive,
            stuck_rows_are_counted_and_repaired,
            claims_at_insert_wake_others_only_for_rows_left_ready,
            stats_report_unknown_statuses_on_their_own,
            claim_plan_ignores_stale_statistics,
            list_plans_use_their_index,
            list_returns_corrupt_rows_in_place,
            prune_plans_use_their_indexes,
        ]);)*
    };
}

sql_backends! {
    sqlite_sql => crate::support::sqlite_harness,
    postgres_sql => crate::support::postgres_harness,
}

// Values of another type than their column's can only be stored in SQLite
// (PostgreSQL's column types reject them on write): these cases have no
// PostgreSQL counterpart.
sql_cases!(
    sqlite_types,
    crate::support::sqlite_harness,
    [
        wrongly_typed_values_fail_their_row_alone,
        wrongly_typed_values_do_not_break_other_read_paths,
    ]
);
