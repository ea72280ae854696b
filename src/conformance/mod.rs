//! The storage conformance suite (feature `conformance`): the cases every
//! [`Storage`] backend passes, public so that a backend written outside
//! this crate runs exactly the cases the built-in ones do
//! ([`MemoryStorage`](crate::storage::MemoryStorage), `SqliteStorage`,
//! `PostgresStorage`: their tests call the same macro).
//!
//! # Running the suite against a backend
//!
//! Enable the feature for your tests and write one test file:
//!
//! ```toml
//! [dev-dependencies]
//! durable-execution = { version = "0.1", features = ["conformance"] }
//! ```
//!
//! ```
//! // tests/conformance.rs
//! use durable_execution::storage::MemoryStorage;
//! # mod my_crate { pub use durable_execution::storage::MemoryStorage as MyStorage; }
//! use my_crate::MyStorage;
//!
//! // One #[test] per case, `my_backend::insert_of_nothing_is_a_no_op`, …:
//! // failures are reported per case, and cases run in parallel. The
//! // closure gives each case a fresh, empty storage.
//! durable_execution::conformance_tests!(my_backend, || async { MyStorage::new() });
//!
//! // With a second handle on the same data (for the cross-handle cases)
//! // and anything that must live as long as the storage:
//! use durable_execution::conformance::Harness;
//! use std::sync::Arc;
//!
//! durable_execution::conformance_tests!(my_backend_shared, || async {
//!     let storage = Arc::new(MemoryStorage::new());
//!     let again = Arc::clone(&storage);
//!     Harness::new(storage)
//!         .with_reopen(move || {
//!             let again = Arc::clone(&again);
//!             async move { again as Arc<dyn durable_execution::storage::Storage> }
//!         })
//!         .with_guard(String::from("a temporary directory, a schema guard…"))
//! });
//! ```
//!
//! `cargo test --test conformance` then runs every case; `cargo test --test
//! conformance my_backend::` one backend. The macro needs nothing else in
//! your crate (it builds a Tokio runtime per case). Without a test harness
//! (a binary, a custom harness), [`run_all`] runs every case in order and
//! returns a [`Report`].
//!
//! # What a backend must provide
//!
//! The factory returns anything that converts into a [`Harness`]: a
//! storage (`S: Storage`, `Arc<S>`, `Arc<dyn Storage>`), or a [`Harness`]
//! built with what the [`Storage`] trait cannot say:
//!
//! - [`Harness::with_reopen`]: another handle on the same data, with its
//!   own connections. The event and concurrency cases use it to check that
//!   two handles (two processes) see each other's work; without it they use
//!   the one handle twice.
//! - [`Harness::with_listener_warmup`]: for backends whose cross-handle
//!   events start once a listener is up, announced by one first event.
//! - [`Harness::with_nul_replacement`]: for backends that cannot store
//!   U+0000 in text and store this character instead.
//! - [`Harness::with_guard`]: anything to drop with the harness (a temporary
//!   directory, a schema that its `Drop` deletes).
//!
//! The cases drive the storage through the [`Storage`] trait only, with a
//! fixed clock (the `now` arguments), so they are deterministic. Their
//! failures are panics with the assertion that failed. Errors are checked
//! through their backend-neutral classes: [`StorageError::DuplicateExecutionId`],
//! [`StorageError::Encode`] and [`StorageError::is_transient`]; a backend
//! reports its own driver errors with [`StorageError::transient`] or
//! [`StorageError::permanent`], and a row it cannot decode as a
//! [`CorruptRow`](crate::model::CorruptRow) in that row's place (see
//! [`StorageError`]).
//!
//! The cases are listed, with what each checks, in [`cases`]. Cases that
//! need SQL fixtures (corrupt rows written by hand, query plans) are not
//! part of the public suite; the built-in SQL backends run them beside it.
//!
//! [`StorageError`]: crate::storage::StorageError
//! [`StorageError::DuplicateExecutionId`]: crate::storage::StorageError::DuplicateExecutionId
//! [`StorageError::Encode`]: crate::storage::StorageError::Encode
//! [`StorageError::is_transient`]: crate::storage::StorageError::is_transient
//! [`StorageError::transient`]: crate::storage::StorageError::transient
//! [`StorageError::permanent`]: crate::storage::StorageError::permanent

// The cases are tests: a failed assertion (a panic) is how they report.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod cases;

use crate::storage::{Storage, StorageEvent};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

type Reopen = Box<dyn Fn() -> BoxFuture<'static, Arc<dyn Storage>> + Send + Sync>;

/// What one case runs against: a fresh, empty storage, plus the few things
/// about its backend that the [`Storage`] trait cannot say (see the
/// [module documentation](self)). Dereferences to the storage.
pub struct Harness {
    storage: Arc<dyn Storage>,
    reopen: Option<Reopen>,
    listener_warmup: Option<Duration>,
    nul_replacement: Option<char>,
    guards: Vec<Box<dyn Any + Send + Sync>>,
}

impl Harness {
    /// A harness on `storage`, which must be empty.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            reopen: None,
            listener_warmup: None,
            nul_replacement: None,
            guards: Vec::new(),
        }
    }

    /// How to open another handle on the same data, with its own
    /// connections (as a second process would). Without it, the cases that
    /// want two handles use the same one twice.
    pub fn with_reopen<F, Fut>(mut self, reopen: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Arc<dyn Storage>> + Send + 'static,
    {
        self.reopen = Some(Box::new(move || reopen().boxed()));
        self
    }

    /// For a backend whose subscribers on another handle receive events
    /// only once a listener is up, and which then sends one event to
    /// announce it: after subscribing on a second handle, the cases wait up
    /// to `warmup` for that first event and discard what was received.
    pub fn with_listener_warmup(mut self, warmup: Duration) -> Self {
        self.listener_warmup = Some(warmup);
        self
    }

    /// For a backend that cannot store U+0000 in text and stores
    /// `replacement` instead (PostgreSQL: U+FFFD).
    pub fn with_nul_replacement(mut self, replacement: char) -> Self {
        self.nul_replacement = Some(replacement);
        self
    }

    /// Keeps `guard` until the harness is dropped (a temporary directory, a
    /// schema guard that deletes the test's schema).
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self.guards.push(Box::new(guard));
        self
    }

    /// The storage under test.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Another handle on the same data ([`with_reopen`](Self::with_reopen)),
    /// or the same handle.
    pub async fn reopen(&self) -> Arc<dyn Storage> {
        match &self.reopen {
            Some(reopen) => reopen().await,
            None => Arc::clone(&self.storage),
        }
    }

    /// Waits for a freshly subscribed receiver's listener to come up and
    /// drains it until it has been quiet for 100 ms ([`with_listener_warmup`](Self::with_listener_warmup)), so
    /// that a later event can only come from a new change. A no-op without
    /// a warm-up.
    pub async fn settle(&self, rx: &mut tokio::sync::broadcast::Receiver<StorageEvent>) {
        if let Some(warmup) = self.listener_warmup {
            let _ = tokio::time::timeout(warmup, rx.recv()).await;
            // A listener that comes up announces several kinds, one send
            // each: drain until the burst is over, not just what has
            // arrived by now.
            while let Ok(Ok(_)) =
                tokio::time::timeout(std::time::Duration::from_millis(100), rx.recv()).await
            {
            }
        }
    }

    /// The character stored in place of U+0000, if the backend replaces it.
    pub fn nul_replacement(&self) -> Option<char> {
        self.nul_replacement
    }
}

impl std::ops::Deref for Harness {
    type Target = dyn Storage;
    fn deref(&self) -> &Self::Target {
        &*self.storage
    }
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("storage", &self.storage)
            .field("reopen", &self.reopen.is_some())
            .field("listener_warmup", &self.listener_warmup)
            .field("nul_replacement", &self.nul_replacement)
            .field("guards", &self.guards.len())
            .finish()
    }
}

impl<S: Storage> From<S> for Harness {
    fn from(storage: S) -> Self {
        Self::new(Arc::new(storage))
    }
}

impl<S: Storage> From<Arc<S>> for Harness {
    fn from(storage: Arc<S>) -> Self {
        Self::new(storage)
    }
}

impl From<Arc<dyn Storage>> for Harness {
    fn from(storage: Arc<dyn Storage>) -> Self {
        Self::new(storage)
    }
}

/// One case of the suite: its name (the function's in [`cases`]) and how to
/// run it.
#[derive(Clone, Copy)]
pub struct Case {
    /// The case's name, e.g. `claim_ready_filters_orders_and_limits`.
    pub name: &'static str,
    run: fn(Harness) -> BoxFuture<'static, ()>,
}

impl Case {
    /// Runs the case on `harness`; panics when the backend fails it.
    pub async fn run(&self, harness: Harness) {
        (self.run)(harness).await;
    }
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case").field("name", &self.name).finish()
    }
}

macro_rules! case_list {
    (() $($case:ident),* $(,)?) => {
        /// Every case of the suite, in the order of [`cases`].
        pub const CASES: &[Case] = &[$(Case {
            name: stringify!($case),
            run: |harness| Box::pin(cases::$case(harness)),
        }),*];
    };
}
crate::__conformance_each_case!(case_list; );

/// Runs one case on a fresh runtime (multi-threaded, four workers): what
/// each test of [`conformance_tests!`](crate::conformance_tests) calls.
/// Panics when the backend fails the case.
pub fn run_case<F, Fut, H>(name: &str, case: fn(Harness) -> BoxFuture<'static, ()>, factory: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = H>,
    H: Into<Harness>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("conformance case {name}: cannot build a Tokio runtime: {error}"),
    };
    runtime.block_on(async move {
        let harness = factory().await.into();
        case(harness).await;
    });
}

/// Runs every case in [`CASES`] in order, each on a fresh storage from
/// `factory`, on the current runtime (which needs the time driver), and
/// reports which passed. A failing case's panic is caught and reported;
/// the panic hook still prints it.
///
/// ```
/// use durable_execution::conformance;
/// use durable_execution::storage::MemoryStorage;
///
/// # async fn demo() {
/// let report = conformance::run_all(|| async { MemoryStorage::new() }).await;
/// println!("{report}");
/// report.assert_passed();
/// # }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo());
/// ```
pub async fn run_all<F, Fut, H>(mut factory: F) -> Report
where
    F: FnMut() -> Fut,
    Fut: Future<Output = H>,
    H: Into<Harness>,
{
    let mut outcomes = Vec::with_capacity(CASES.len());
    for case in CASES {
        let harness = factory().await.into();
        let result = AssertUnwindSafe(case.run(harness)).catch_unwind().await;
        outcomes.push(Outcome {
            name: case.name,
            failure: result.err().map(|panic| panic_message(&*panic)),
        });
    }
    Report { outcomes }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "panicked (no message)".to_owned()
    }
}

/// The result of one case in a [`Report`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The case's name.
    pub name: &'static str,
    /// Its panic message when it failed.
    pub failure: Option<String>,
}

/// What [`run_all`] found: one [`Outcome`] per case, in order. Displays as
/// one line per case.
#[derive(Debug, Clone)]
pub struct Report {
    /// Every case's outcome.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// The cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.failure.is_some())
    }

    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// Panics with the report unless every case passed.
    pub fn assert_passed(&self) {
        assert!(self.passed(), "storage conformance failures:\n{self}");
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let failed = self.failures().count();
        writeln!(
            f,
            "{} of {} conformance cases passed",
            self.outcomes.len() - failed,
            self.outcomes.len()
        )?;
        for outcome in &self.outcomes {
            match &outcome.failure {
                None => writeln!(f, "ok      {}", outcome.name)?,
                Some(message) => writeln!(f, "FAILED  {}: {message}", outcome.name)?,
            }
        }
        Ok(())
    }
}

/// Instantiates the conformance suite for one backend: a module `$module`
/// with one `#[test]` per case of [`conformance::cases`](crate::conformance::cases),
/// each running on a fresh storage from `$factory`, a closure
/// `|| async { … }` whose future gives a storage or a
/// [`Harness`](crate::conformance::Harness) (see the
/// [`conformance`](crate::conformance) module). The module imports its
/// parent's items (`use super::*`).
///
/// ```
/// use durable_execution::storage::MemoryStorage;
///
/// durable_execution::conformance_tests!(memory, || async { MemoryStorage::new() });
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($module:ident, $factory:expr $(,)?) => {
        $crate::__conformance_each_case!($crate::__conformance_test_fns; $module, $factory);
    };
}

/// Expands one test function per case (used by
/// [`conformance_tests!`](crate::conformance_tests)).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    (($module:ident, $factory:expr) $($case:ident),* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    $crate::conformance::run_case(
                        stringify!($case),
                        |harness| ::std::boxed::Box::pin($crate::conformance::cases::$case(harness)),
                        $factory,
                    );
                }
            )*
        }
    };
}

/// The one list of case names: calls `$callback! { ($args) case, case, … }`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_each_case {
    ($($callback:ident)::+ ; $($args:tt)*) => {
        $($callback)::+! { ($($args)*)
            insert_and_get_round_trip_every_field,
            insert_of_nothing_is_a_no_op,
            duplicate_execution_id_rejects_the_whole_batch,
            get_follows_the_requested_order,
            get_children_in_spawn_order_finalize_last,
            claim_ready_filters_orders_and_limits,
            insert_and_claim_claims_the_oldest_ready_rows,
            concurrent_claims_at_insert_get_disjoint_rows,
            finish_is_guarded_by_status_and_owner,
            finish_after_cancel_changes_nothing,
            retry_requeues_and_is_guarded,
            retry_after_lease_expiry_is_refused,
            release_gives_runs_back_without_an_attempt,
            owner_writes_are_fenced_by_attempt,
            heartbeat_extends_owned_runs_and_expiry_follows_it,
            wait_for_children_inserts_only_for_matched_parents,
            wait_for_finalize_without_children,
            wait_for_children_with_duplicate_child_changes_nothing,
            close_counts_down_and_reports_ready_parents,
            close_respects_the_limit_oldest_first,
            close_records_child_failures_and_cancels_siblings,
            close_counts_down_children_of_a_deciding_parent,
            close_applies_finalize_results,
            close_cascades_through_three_levels,
            ready_parents_least_recently_updated_first,
            advance_parents_is_guarded,
            advance_parents_inserts_only_when_matched,
            bookkeeping_timestamps_follow_the_transitions,
            childless_top_level_executions_close_at_finish,
            children_and_parents_are_closed_by_the_closer,
            cancel_subtree_with_and_without_self,
            claim_cancellations_is_per_owner,
            expire_leases_with_and_without_retry_budget,
            stats_counts_and_deletes,
            events_wake_subscribers,
            finishes_announce_changes_and_cancellations_close_work,
            concurrent_claimers_get_disjoint_rows,
            concurrent_closers_lose_no_countdown,
            nul_characters_are_stored,
            children_outputs_pages_in_spawn_order,
            large_batches_are_all_or_nothing,
            sleeping_executions_are_woken_once,
            sleeping_keys_are_unique_among_sleeping_executions,
            sleeping_executions_time_out_and_cancel,
            list_filters_orders_and_pages,
            rerun_requeues_a_finished_root_and_deletes_its_subtree,
            rerun_refuses_what_it_cannot_retry,
            prune_deletes_only_whole_finished_closed_trees,
            prune_honours_per_status_cutoffs_and_the_limit,
            concurrent_pruners_delete_each_tree_once,
            prune_passes_resume_after_their_cursor,
        }
    };
}
