//! Metrics of the executor, through the [`metrics`](https://docs.rs/metrics)
//! facade (feature `metrics`, off by default).
//!
//! With the feature on, every [`Executor`](crate::Executor) records the
//! metrics below into whatever recorder the application installed
//! (`metrics-exporter-prometheus`, `metrics-exporter-statsd`, …; see
//! `examples/prometheus_metrics.rs`). The names are the constants of this
//! module; they exist with or without the feature.
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `durable_executions_claimed_total` | counter | `task_id` | executions this executor claimed |
//! | `durable_executions_started_total` | counter | `task_id` | runs started (a claimed execution whose earlier run is still in progress here is not started again) |
//! | `durable_executions_completed_total` | counter | `task_id` | executions completed (a parent: once its children and finalize completed) |
//! | `durable_executions_failed_total` | counter | `task_id` | executions failed (their run, a child, or the finalize) |
//! | `durable_executions_retried_total` | counter | `task_id` | retries scheduled (a failed run with budget left, or a lost run recovered by lease expiry) |
//! | `durable_executions_timed_out_total` | counter | `task_id` | runs whose last attempt timed out |
//! | `durable_executions_cancelled_total` | counter | `task_id` | executions cancelled |
//! | `durable_executions_lost_total` | counter | `task_id` | runs this executor gave up as lost (their lease was not extended: recovered, re-claimed or cancelled elsewhere, or the storage unreachable for a whole lease); their results are dropped |
//! | `durable_executions_expired_total` | counter | `task_id` | running executions whose lease expired, recovered by this executor's lease check (each also counts as retried or failed) |
//! | `durable_execution_run_duration_seconds` | histogram | `task_id`, `status` | how long a run took, claim to accepted result; `status` is `completed`, `failed`, `retried` or `timed_out` |
//! | `durable_execution_start_delay_seconds` | histogram | `task_id` | from the earliest start (`start_at`: creation plus the sleep before run, or the retry's scheduled time) to the claim |
//! | `durable_execution_storage_call_duration_seconds` | histogram | `operation` | each call of the executor to its storage, by [`Storage`](crate::storage::Storage) method name (`claim_ready`, `finish`, …) |
//! | `durable_executions_pruned_total` | counter | – | executions deleted by this executor's retention pruner (every execution of each tree; see [`RetentionPolicy`](crate::RetentionPolicy)) |
//! | `durable_executions` | gauge | `task_id`, `status` | executions in the storage per task and status (every executor's, not only this one's), sampled from [`Storage::stats`](crate::storage::Storage::stats) every [`ExecutorOptions::metrics_interval`](crate::ExecutorOptions::metrics_interval); not sampled by default |
//!
//! The outcome counters and the run duration are recorded where the
//! [`ExecutionEvent`](crate::ExecutionEvent)s are emitted, from the same
//! event: only after the storage accepted the change, by the executor that
//! made it. Summed over the executors sharing a storage, each outcome is
//! counted once.
//!
//! # Cost
//!
//! Without the feature nothing is compiled in. With it and no recorder
//! installed, each recording is a call into the facade's no-op recorder
//! (it builds the metric's key first, a small allocation for the
//! `task_id` label); the executor also builds its lifecycle events as if
//! somebody listened, which reads back the executions that the closer,
//! lease expiry and handle cancellations changed (one
//! [`Storage::get`](crate::storage::Storage::get) per such batch) for their
//! task ids. The gauge is sampled only when
//! [`ExecutorOptions::metrics_interval`](crate::ExecutorOptions::metrics_interval)
//! is set.

/// Counter: executions claimed (label `task_id`).
pub const CLAIMED_TOTAL: &str = "durable_executions_claimed_total";
/// Counter: runs started (label `task_id`).
pub const STARTED_TOTAL: &str = "durable_executions_started_total";
/// Counter: executions completed (label `task_id`).
pub const COMPLETED_TOTAL: &str = "durable_executions_completed_total";
/// Counter: executions failed (label `task_id`).
pub const FAILED_TOTAL: &str = "durable_executions_failed_total";
/// Counter: retries scheduled (label `task_id`).
pub const RETRIED_TOTAL: &str = "durable_executions_retried_total";
/// Counter: runs whose last attempt timed out (label `task_id`).
pub const TIMED_OUT_TOTAL: &str = "durable_executions_timed_out_total";
/// Counter: executions cancelled (label `task_id`).
pub const CANCELLED_TOTAL: &str = "durable_executions_cancelled_total";
/// Counter: runs given up as lost (label `task_id`).
pub const LOST_TOTAL: &str = "durable_executions_lost_total";
/// Counter: expired leases recovered (label `task_id`).
pub const EXPIRED_TOTAL: &str = "durable_executions_expired_total";
/// Counter: executions deleted by the retention pruner (no labels).
pub const PRUNED_TOTAL: &str = "durable_executions_pruned_total";
/// Histogram: run duration in seconds (labels `task_id`, `status`).
pub const RUN_DURATION_SECONDS: &str = "durable_execution_run_duration_seconds";
/// Histogram: delay from `start_at` to the claim, in seconds (label `task_id`).
pub const START_DELAY_SECONDS: &str = "durable_execution_start_delay_seconds";
/// Histogram: storage call duration in seconds (label `operation`).
pub const STORAGE_CALL_DURATION_SECONDS: &str = "durable_execution_storage_call_duration_seconds";
/// Gauge: executions per task and status (labels `task_id`, `status`).
pub const EXECUTIONS: &str = "durable_executions";

#[cfg(not(feature = "metrics"))]
pub(crate) use noop::*;
#[cfg(feature = "metrics")]
pub(crate) use recording::*;

#[cfg(feature = "metrics")]
mod recording {
    use super::*;
    use crate::executor::{ExecutionEvent, ExecutionEventKind};
    use crate::model::{ExecutionStatus, TaskExecution};
    use crate::storage::{MethodName, Storage, StorageStats, StorageWrapper};
    use ::metrics::{counter, gauge, histogram};
    use futures::FutureExt;
    use futures::future::BoxFuture;
    use std::collections::HashSet;
    use std::sync::Arc;
    use std::time::Instant;

    /// Records the counters (and the run duration) of `event`.
    pub(crate) fn event(event: &ExecutionEvent) {
        let (name, status) = match event.kind {
            ExecutionEventKind::Started => (STARTED_TOTAL, "started"),
            ExecutionEventKind::Retried => (RETRIED_TOTAL, "retried"),
            ExecutionEventKind::Completed => (COMPLETED_TOTAL, "completed"),
            ExecutionEventKind::Failed => (FAILED_TOTAL, "failed"),
            ExecutionEventKind::Cancelled => (CANCELLED_TOTAL, "cancelled"),
            ExecutionEventKind::TimedOut => (TIMED_OUT_TOTAL, "timed_out"),
            ExecutionEventKind::Lost => (LOST_TOTAL, "lost"),
        };
        counter!(name, "task_id" => event.task_id.clone()).increment(1);
        if let Some(duration) = event.duration {
            histogram!(RUN_DURATION_SECONDS, "task_id" => event.task_id.clone(), "status" => status)
                .record(duration.as_secs_f64());
        }
    }

    /// Records a claimed execution and its start delay.
    pub(crate) fn claimed(row: &TaskExecution) {
        counter!(CLAIMED_TOTAL, "task_id" => row.task_id.clone()).increment(1);
        if let Some(started_at) = row.started_at {
            let delay_ms = started_at.saturating_sub(row.start_at).max(0);
            #[allow(clippy::cast_precision_loss)] // milliseconds, far below 2^52
            histogram!(START_DELAY_SECONDS, "task_id" => row.task_id.clone())
                .record(delay_ms as f64 / 1000.0);
        }
    }

    /// Records an execution recovered from an expired lease.
    pub(crate) fn expired(task_id: &str) {
        counter!(EXPIRED_TOTAL, "task_id" => task_id.to_owned()).increment(1);
    }

    /// Records executions deleted by the retention pruner.
    pub(crate) fn pruned(executions: u64) {
        counter!(PRUNED_TOTAL).increment(executions);
    }

    /// Sets the per-status gauge from `stats`; the task and status pairs of
    /// the previous sample that are gone are set to 0 (`seen` carries them).
    pub(crate) fn sample(stats: &StorageStats, seen: &mut HashSet<(String, ExecutionStatus)>) {
        let mut now = HashSet::with_capacity(stats.counts.len());
        for (task_id, status, count) in &stats.counts {
            #[allow(clippy::cast_precision_loss)] // a row count
            gauge!(EXECUTIONS, "task_id" => task_id.clone(), "status" => status.as_str())
                .set(*count as f64);
            now.insert((task_id.clone(), *status));
        }
        for (task_id, status) in seen.difference(&now) {
            gauge!(EXECUTIONS, "task_id" => task_id.clone(), "status" => status.as_str()).set(0.0);
        }
        *seen = now;
    }

    /// The executor's storage, each call timed.
    pub(crate) fn wrap_storage(storage: Arc<dyn Storage>) -> Arc<dyn Storage> {
        Arc::new(Timed { inner: storage })
    }

    /// Times every storage call into [`STORAGE_CALL_DURATION_SECONDS`].
    #[derive(Debug)]
    struct Timed {
        inner: Arc<dyn Storage>,
    }

    impl StorageWrapper for Timed {
        const FORWARD_INSERT_AND_CLAIM: bool = true;

        fn inner(&self) -> &dyn Storage {
            &*self.inner
        }

        fn around<'a, T: Send + 'a>(
            &'a self,
            method: MethodName,
            call: BoxFuture<'a, T>,
        ) -> BoxFuture<'a, T> {
            async move {
                let start = Instant::now();
                let result = call.await;
                histogram!(STORAGE_CALL_DURATION_SECONDS, "operation" => method)
                    .record(start.elapsed().as_secs_f64());
                result
            }
            .boxed()
        }
    }
}

/// The recording functions without the feature: nothing.
#[cfg(not(feature = "metrics"))]
mod noop {
    use crate::executor::ExecutionEvent;
    use crate::model::TaskExecution;
    use crate::storage::Storage;
    use std::sync::Arc;

    pub(crate) fn event(_event: &ExecutionEvent) {}

    pub(crate) fn claimed(_row: &TaskExecution) {}

    pub(crate) fn expired(_task_id: &str) {}

    pub(crate) fn pruned(_executions: u64) {}

    pub(crate) fn wrap_storage(storage: Arc<dyn Storage>) -> Arc<dyn Storage> {
        storage
    }
}
