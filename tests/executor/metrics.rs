//! The executor's metrics (feature `metrics`, see the crate's `metrics`
//! module): counted per outcome with their labels, into a small recorder
//! installed once for the whole test binary. Each run of a scenario uses
//! task ids of its own, so that the scenarios of the other backends and the
//! other tests, which record into the same recorder, do not count here.

use crate::common::{Factory, eventually, fast_options, start_with};
use ::metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use durable_execution::model::{ExecutionStatus, RetryOptions};
use durable_execution::{
    EnqueueOptions, ParentOutput, ParentTask, Task, TaskContext, TaskError, metrics as names,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// One metric's value: a counter's total, a gauge's value (as `f64` bits)
/// or a histogram's number of samples.
#[derive(Debug, Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        self.set(f64::from_bits(self.0.load(Ordering::Relaxed)) + value);
    }
    fn decrement(&self, value: f64) {
        GaugeFn::increment(self, -value);
    }
    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

impl HistogramFn for Cell {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Keeps every metric by its rendered key (`name{label=value,…}`, labels
/// sorted).
#[derive(Debug, Default)]
struct TestRecorder {
    cells: Mutex<HashMap<String, Arc<Cell>>>,
}

impl TestRecorder {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let rendered = format!("{}{{{}}}", key.name(), labels.join(","));
        self.cells
            .lock()
            .unwrap()
            .entry(rendered)
            .or_default()
            .clone()
    }

    /// The value of `name{labels}` (labels in sorted order), if recorded.
    fn value(&self, name: &str, labels: &str) -> Option<u64> {
        let cells = self.cells.lock().unwrap();
        cells
            .get(&format!("{name}{{{labels}}}"))
            .map(|c| c.0.load(Ordering::Relaxed))
    }

    fn count(&self, name: &str, labels: &str) -> u64 {
        self.value(name, labels).unwrap_or(0)
    }

    fn gauge(&self, name: &str, labels: &str) -> Option<f64> {
        self.value(name, labels).map(f64::from_bits)
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.cell(key))
    }
}

/// The recorder of this test binary, installed on first use.
fn recorder() -> &'static TestRecorder {
    static RECORDER: OnceLock<&'static TestRecorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder: &'static TestRecorder = Box::leak(Box::default());
        ::metrics::set_global_recorder(recorder).expect("no other recorder in this test binary");
        recorder
    })
}

/// A suffix no other run of a scenario in this process uses.
fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Completions (a parent's too, finished by the closer), a retry, a
/// failure and a cancellation are counted once each with their task id; the run duration, start delay and storage call
/// histograms are recorded with their labels; the per-status gauge is
/// sampled.
pub async fn metrics_count_outcomes(factory: Factory) {
    let recorder = recorder();
    let storage = factory("metrics_count_outcomes").await;
    let n = unique();
    let (ok_id, flaky_id, bad_id, later_id, parent_id) = (
        format!("metrics_ok_{n}"),
        format!("metrics_flaky_{n}"),
        format!("metrics_bad_{n}"),
        format!("metrics_later_{n}"),
        format!("metrics_parent_{n}"),
    );
    let ok = Task::new(ok_id.clone(), |_ctx: TaskContext, x: u32| async move {
        Ok::<_, TaskError>(x + 1)
    });
    let flaky = Task::new(flaky_id.clone(), |ctx: TaskContext, (): ()| async move {
        if ctx.attempt() == 0 {
            return Err(TaskError::new("first attempt fails"));
        }
        Ok(())
    })
    .retry(RetryOptions {
        max_attempts: 2,
        base_delay_ms: Some(1),
        ..Default::default()
    });
    let bad = Task::new(bad_id.clone(), |_ctx: TaskContext, (): ()| async move {
        Err::<(), _>(TaskError::non_retryable("bad input"))
    });
    let later = Task::new(later_id.clone(), |_ctx: TaskContext, (): ()| async move {
        Ok::<_, TaskError>(())
    });
    // Its child is one more `ok` execution.
    let child = ok.clone();
    let parent = ParentTask::new(parent_id.clone(), move |_ctx: TaskContext, (): ()| {
        let child = child.clone();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).child(child.child(3))) }
    });
    let executor = start_with(
        &storage,
        fast_options().metrics_interval(Duration::from_millis(20)),
        |b| {
            b.register(&ok)
                .register(&flaky)
                .register(&bad)
                .register(&later)
                .register(&parent)
        },
    );
    let mut handles: Vec<durable_execution::ExecutionHandle> = Vec::new();
    for x in [1, 2] {
        handles.push(executor.enqueue(&ok, x).await.unwrap().into());
    }
    handles.push(executor.enqueue(&flaky, ()).await.unwrap().into());
    handles.push(executor.enqueue(&bad, ()).await.unwrap().into());
    handles.push(executor.enqueue(&parent, ()).await.unwrap().into());
    let statuses: Vec<ExecutionStatus> = {
        let mut statuses = Vec::new();
        for handle in &handles {
            statuses.push(handle.wait().await.unwrap().status);
        }
        statuses
    };
    use ExecutionStatus::{Completed, Failed};
    assert_eq!(
        statuses,
        [Completed, Completed, Completed, Failed, Completed]
    );
    // Cancelled before it runs (it sleeps an hour before its first run).
    let pending = executor
        .enqueue_with(
            &later,
            (),
            EnqueueOptions::new().sleep_before_run(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    pending.cancel().await.unwrap();

    // The gauge is sampled in the background.
    let ok_completed = format!("status=completed,task_id={ok_id}");
    assert!(
        eventually(Duration::from_secs(30), || {
            recorder.gauge(names::EXECUTIONS, &ok_completed) == Some(3.0)
        })
        .await,
        "the gauge never counted the completed executions"
    );
    // After shutdown every result is written and counted.
    executor.shutdown(Duration::from_secs(5)).await.unwrap();

    let task = |id: &str| format!("task_id={id}");
    assert_eq!(recorder.count(names::CLAIMED_TOTAL, &task(&ok_id)), 3);
    assert_eq!(recorder.count(names::STARTED_TOTAL, &task(&ok_id)), 3);
    assert_eq!(recorder.count(names::COMPLETED_TOTAL, &task(&ok_id)), 3);
    assert_eq!(recorder.count(names::STARTED_TOTAL, &task(&parent_id)), 1);
    assert_eq!(recorder.count(names::COMPLETED_TOTAL, &task(&parent_id)), 1);
    assert_eq!(recorder.count(names::STARTED_TOTAL, &task(&flaky_id)), 2);
    assert_eq!(recorder.count(names::RETRIED_TOTAL, &task(&flaky_id)), 1);
    assert_eq!(recorder.count(names::COMPLETED_TOTAL, &task(&flaky_id)), 1);
    assert_eq!(recorder.count(names::FAILED_TOTAL, &task(&flaky_id)), 0);
    assert_eq!(recorder.count(names::FAILED_TOTAL, &task(&bad_id)), 1);
    assert_eq!(recorder.count(names::RETRIED_TOTAL, &task(&bad_id)), 0);
    assert_eq!(recorder.count(names::CANCELLED_TOTAL, &task(&later_id)), 1);
    assert_eq!(recorder.count(names::CLAIMED_TOTAL, &task(&later_id)), 0);
    assert_eq!(
        recorder.count(
            names::RUN_DURATION_SECONDS,
            &format!("status=completed,task_id={ok_id}")
        ),
        3
    );
    assert_eq!(
        recorder.count(
            names::RUN_DURATION_SECONDS,
            &format!("status=completed,task_id={parent_id}")
        ),
        1
    );
    assert_eq!(
        recorder.count(
            names::RUN_DURATION_SECONDS,
            &format!("status=retried,task_id={flaky_id}")
        ),
        1
    );
    assert_eq!(
        recorder.count(
            names::RUN_DURATION_SECONDS,
            &format!("status=failed,task_id={bad_id}")
        ),
        1
    );
    assert_eq!(recorder.count(names::START_DELAY_SECONDS, &task(&ok_id)), 3);
    for operation in [
        "insert",
        "claim_ready",
        "finish",
        "retry",
        "cancel",
        "stats",
    ] {
        assert!(
            recorder.count(
                names::STORAGE_CALL_DURATION_SECONDS,
                &format!("operation={operation}")
            ) > 0,
            "no storage call duration for {operation}"
        );
    }
    assert_eq!(
        recorder.gauge(
            names::EXECUTIONS,
            &format!("status=failed,task_id={bad_id}")
        ),
        Some(1.0)
    );
}

/// Executions whose lease expired are counted as expired by the executor
/// that recovered them, and as retried or failed by their budget.
pub async fn metrics_count_expired_leases(factory: Factory) {
    let recorder = recorder();
    let storage = factory("metrics_count_expired_leases").await;
    let n = unique();
    let (lost_id, lost_once_id) = (
        format!("metrics_lost_{n}"),
        format!("metrics_lost_once_{n}"),
    );
    let lost = Task::new(lost_id.clone(), |_ctx: TaskContext, (): ()| async move {
        Ok::<_, TaskError>(())
    })
    .timeout(Duration::from_millis(100))
    .retry(RetryOptions {
        max_attempts: 1,
        ..Default::default()
    });
    let lost_once = Task::new(
        lost_once_id.clone(),
        |_ctx: TaskContext, (): ()| async move { Ok::<_, TaskError>(()) },
    )
    .timeout(Duration::from_millis(100));
    let options = fast_options()
        .lease_slack(Duration::from_millis(50))
        .build()
        .unwrap();
    let executor = durable_execution::Executor::builder(storage.clone())
        .options(options)
        .register(&lost)
        .register(&lost_once)
        .build()
        .unwrap();
    let retried = executor.enqueue(&lost, ()).await.unwrap();
    let failed = executor.enqueue(&lost_once, ()).await.unwrap();
    // A dead executor claimed both: their leases expire, nobody runs them.
    let claimed = storage
        .claim_ready(
            "de_dead",
            durable_execution::model::now_millis(),
            10,
            0,
            3_600_000,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    executor.start().unwrap();
    assert_eq!(
        retried.wait().await.unwrap().status,
        ExecutionStatus::Completed
    );
    assert_eq!(failed.wait().await.unwrap().status, ExecutionStatus::Failed);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();

    let task = |id: &str| format!("task_id={id}");
    assert_eq!(recorder.count(names::EXPIRED_TOTAL, &task(&lost_id)), 1);
    assert_eq!(recorder.count(names::RETRIED_TOTAL, &task(&lost_id)), 1);
    assert_eq!(recorder.count(names::CLAIMED_TOTAL, &task(&lost_id)), 1);
    assert_eq!(recorder.count(names::COMPLETED_TOTAL, &task(&lost_id)), 1);
    assert_eq!(
        recorder.count(names::EXPIRED_TOTAL, &task(&lost_once_id)),
        1
    );
    assert_eq!(recorder.count(names::FAILED_TOTAL, &task(&lost_once_id)), 1);
    assert_eq!(
        recorder.count(names::CLAIMED_TOTAL, &task(&lost_once_id)),
        0
    );
}
