//! Durability across storage handles, processes and crashes.
//!
//! No case assumes that claims are shared fairly between executors or
//! processes: where the point is that several take part, runs are held
//! back until each has started one (see [`common::wait_released`]).
//!
//! Every case runs on SQLite (one shared database FILE, several connections
//! or processes on it) and PostgreSQL (one shared schema), and on the memory
//! backend where it means something (two executors in one process):
//!
//! - [`two_executors`]: two executors, each on its own storage handle, run
//!   1,000 tasks and a batch of parents with children and a finalize:
//!   every execution runs exactly once, no parent is left waiting;
//! - [`processes`]: two executor PROCESSES share the database (this test
//!   binary re-invoked as a worker, see [`worker`]): every execution runs
//!   exactly once across both processes' run logs;
//! - [`write_lock`] (SQLite): a process that keeps the file's write lock
//!   busy does not lock another process out;
//! - [`crash`]: a worker process is killed with SIGKILL while its tasks
//!   run; after the lease expires an executor in this process recovers
//!   them (retry budget left: re-run, sees `Task expired`; none left:
//!   `failed` with `Task expired`); [`crash_load`]: the same in the middle
//!   of a busy load shared with this process: nothing lost, no attempt run
//!   twice, no orphan;
//! - [`handoff`]: a cancel issued here reaches the run in a worker process;
//!   a worker's graceful shutdown hands unfinished runs over at once;
//! - [`cancel_storm`]: overlapping subtrees cancelled at once from several
//!   handles: no cancel call fails (no deadlock surfaces), everything ends
//!   cancelled and closed;
//! - [`db_blip`] (PostgreSQL): every pooled connection of a busy executor is
//!   terminated, twice: every task still runs exactly once;
//! - [`outage`] (PostgreSQL): a private cluster is stopped for 8 s while
//!   10 parents finish: every parent completes on its first attempt;
//! - [`stuck`]: a running row with no lease deadline and a parent whose
//!   finalize does not exist are ended by the maintenance loop;
//! - [`late_result`]: a run that ignores its cancellation and returns after
//!   being cancelled leaves the execution `cancelled`;
//! - [`zombie`]: a stalled run outlives its lease and the execution is
//!   recovered: a newer attempt wins over the stale result, whether another
//!   executor or the same one claimed it again (fencing by attempt);
//! - [`heartbeat`]: a SIGKILLed worker's executions with a 10-minute
//!   timeout are recovered within two heartbeat leases of the kill (memory:
//!   an executor dropped without shutdown); a run whose lease cannot be
//!   extended while the storage is unreachable is lost (token fired, result
//!   dropped) and re-run once the storage is back;
//! - [`tracking`]: runs retried at once stay tracked by their executor
//!   (listed, cancellable);
//! - [`transactions`]: enqueue inside the caller's own database transaction
//!   (commit runs it, rollback leaves nothing).
//!
//! ```text
//! cargo test --test durability              # every backend
//! cargo test --test durability postgres::   # one backend
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[path = "../support/mod.rs"]
mod support;

mod cancel_storm;
mod common;
mod crash;
mod crash_load;
mod db_blip;
mod handoff;
mod heartbeat;
mod late_result;
mod outage;
mod processes;
mod recording;
mod stuck;
mod tracking;
mod transactions;
mod two_executors;
mod wake;
mod write_lock;
mod zombie;

/// The worker-process entry point. It does nothing in a normal test run; a
/// test that needs another executor process runs this binary again with
/// `--exact worker` and [`common::WORKER_ENV`] set (see
/// [`common::spawn_worker`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker() {
    let Some(config) = common::WorkerConfig::from_env() else {
        return;
    };
    // The worker's stderr goes to `<name>.stderr`, shown when a test fails.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    match config.mode.as_str() {
        processes::WORKER_MODE => processes::worker_main(config).await,
        crash::WORKER_MODE => crash::worker_main(config).await,
        crash_load::WORKER_MODE => crash_load::worker_main(config).await,
        handoff::WORKER_MODE => handoff::worker_main(config).await,
        heartbeat::WORKER_MODE => heartbeat::worker_main(config).await,
        write_lock::WORKER_MODE => write_lock::worker_main(config).await,
        wake::WORKER_MODE => wake::worker_main(config).await,
        other => panic!("unknown worker mode {other}"),
    }
}

/// Instantiates cases for one backend: `backend!(module_name, Backend::X;
/// group::case, ...)` creates `module_name::case` calling
/// `group::case(Backend::X)`.
macro_rules! backend {
    ($name:ident, $backend:expr; $($group:ident :: $case:ident),* $(,)?) => {
        mod $name {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$group::$case($backend).await
                }
            )*
        }
    };
}

backend!(memory, crate::common::Backend::Memory;
    tracking::immediate_retries_stay_tracked,
    zombie::stale_result_of_a_zombie_is_refused,
    zombie::stale_attempt_on_the_same_executor_is_refused,
    heartbeat::killed_worker_is_recovered_within_two_leases,
    heartbeat::lost_run_fires_its_token_and_drops_its_result,
    cancel_storm::concurrent_overlapping_cancels,
    two_executors::two_executors_run_everything_once,
    late_result::late_result_never_overwrites_cancel,
);

backend!(sqlite, crate::common::Backend::Sqlite;
    stuck::stuck_rows_are_ended_by_maintenance,
    tracking::immediate_retries_stay_tracked,
    zombie::stale_result_of_a_zombie_is_refused,
    zombie::stale_attempt_on_the_same_executor_is_refused,
    heartbeat::killed_worker_is_recovered_within_two_leases,
    heartbeat::lost_run_fires_its_token_and_drops_its_result,
    cancel_storm::concurrent_overlapping_cancels,
    two_executors::two_executors_run_everything_once,
    processes::two_processes_run_everything_once,
    crash::killed_worker_is_recovered_after_lease_expiry,
    crash_load::killed_under_load_loses_nothing,
    handoff::cancel_reaches_run_in_another_process,
    handoff::graceful_shutdown_hands_runs_over,
    late_result::late_result_never_overwrites_cancel,
    transactions::enqueue_in_caller_transaction,
    transactions::one_call_enqueue_in_caller_transaction,
    transactions::one_call_enqueue_refuses_invalid_input,
    write_lock::busy_process_does_not_lock_others_out,
    wake::wake_from_another_process,
);

backend!(postgres, crate::common::Backend::Postgres;
    stuck::stuck_rows_are_ended_by_maintenance,
    tracking::immediate_retries_stay_tracked,
    zombie::stale_result_of_a_zombie_is_refused,
    zombie::stale_attempt_on_the_same_executor_is_refused,
    heartbeat::killed_worker_is_recovered_within_two_leases,
    heartbeat::lost_run_fires_its_token_and_drops_its_result,
    db_blip::connections_killed_mid_load,
    outage::server_down_while_parents_finish,
    cancel_storm::concurrent_overlapping_cancels,
    two_executors::two_executors_run_everything_once,
    processes::two_processes_run_everything_once,
    crash::killed_worker_is_recovered_after_lease_expiry,
    crash_load::killed_under_load_loses_nothing,
    handoff::cancel_reaches_run_in_another_process,
    handoff::graceful_shutdown_hands_runs_over,
    late_result::late_result_never_overwrites_cancel,
    transactions::enqueue_in_caller_transaction,
    transactions::one_call_enqueue_in_caller_transaction,
    transactions::one_call_enqueue_refuses_invalid_input,
    wake::wake_from_another_process,
);
