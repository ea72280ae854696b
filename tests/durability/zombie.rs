//! A live but stalled executor ("zombie"): its run outlives the lease, the
//! execution is recovered, then the stale run returns.

use crate::common::{Backend, SharedDb, eventually, fast_options};
use crate::recording::Recording;
use durable_execution::model::{ExecutionStatus, RetryOptions};
use durable_execution::storage::Storage;
use durable_execution::{ExecutionHandle, WaitOptions};
use durable_execution::{Executor, ExecutorOptionsBuilder, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Attempt 0 stalls its thread (so it can be neither timed out nor
/// dropped) past its lease (timeout 2 s + slack 200 ms), then returns
/// `stale`. Attempt 1 counts itself and returns `fresh` once released.
struct Stalling {
    task: Task<(), String>,
    second_runs: Arc<AtomicU32>,
    release: Arc<tokio::sync::Notify>,
}

fn stalling() -> Stalling {
    let second_runs = Arc::new(AtomicU32::new(0));
    let release = Arc::new(tokio::sync::Notify::new());
    let (s, r) = (second_runs.clone(), release.clone());
    let task = Task::new("stalling", move |ctx: TaskContext, _: ()| {
        let (s, r) = (s.clone(), r.clone());
        async move {
            if ctx.attempt() == 0 {
                tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(2800)));
                return Ok::<_, TaskError>("stale".to_owned());
            }
            assert_eq!(ctx.prev_error().unwrap().message, "Task expired");
            s.fetch_add(1, Ordering::SeqCst);
            r.notified().await;
            Ok("fresh".to_owned())
        }
    })
    .timeout(Duration::from_secs(2))
    .retry(RetryOptions {
        max_attempts: 1,
        ..Default::default()
    });
    Stalling {
        task,
        second_runs,
        release,
    }
}

fn options() -> ExecutorOptionsBuilder {
    fast_options().lease_slack(Duration::from_millis(200))
}

fn start(
    storage: Arc<dyn Storage>,
    task: &Task<(), String>,
    options: ExecutorOptionsBuilder,
) -> Executor {
    let executor = Executor::builder(storage)
        .options(options.build().unwrap())
        .register(task)
        .build()
        .unwrap();
    executor.start().unwrap();
    executor
}

async fn wait(handle: &ExecutionHandle) -> durable_execution::model::TaskExecution {
    handle
        .wait_with(WaitOptions::new().timeout(Duration::from_secs(10)))
        .await
        .unwrap()
}

/// Two executors. The zombie's only slot is taken by the stalled attempt
/// 0, so the other executor recovers the execution and runs attempt 1.
/// The zombie's stale result, written while attempt 1 runs elsewhere, is
/// refused (the row has another owner); attempt 1's result is the
/// execution's.
pub async fn stale_result_of_a_zombie_is_refused(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let recording = Arc::new(Recording::new(db.handle().await));
    let s = stalling();
    let zombie = start(
        recording.clone(),
        &s.task,
        options().max_concurrent_executions(1),
    );
    let handle = zombie.enqueue(&s.task, ()).await.unwrap();
    let id = handle.execution_id().to_owned();
    // Started once attempt 0 stalls, so that it does not claim it.
    let rescuer = {
        let started = eventually(Duration::from_secs(10), async || {
            zombie.running_execution_ids() == vec![id.clone()]
        })
        .await;
        assert!(started);
        start(db.handle().await, &s.task, options())
    };

    assert!(
        eventually(Duration::from_secs(10), async || s
            .second_runs
            .load(Ordering::SeqCst)
            == 1)
        .await,
        "the execution was not recovered"
    );
    assert!(
        eventually(Duration::from_secs(10), async || {
            !recording.finishes_of(&id).is_empty()
        })
        .await,
        "the stale result was never written"
    );
    let stale = recording.finishes_of(&id);
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].output.as_deref(), Some("\"stale\""));
    let row = handle.get().await.unwrap();
    assert!(
        !stale[0].matched,
        "the stale result overwrote attempt 1: {row:?}"
    );
    assert_eq!(row.status, ExecutionStatus::Running, "{row:?}");
    assert_eq!(row.attempt, 1);
    assert_eq!(row.executor_id.as_deref(), Some(rescuer.executor_id()));

    s.release.notify_one();
    let done = wait(handle.untyped()).await;
    assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
    assert_eq!(done.attempt, 1);
    assert_eq!(done.output::<String>().unwrap(), "fresh");
    zombie.shutdown(Duration::from_secs(5)).await.unwrap();
    rescuer.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// One executor, the only one: it recovers its own stalled execution and
/// claims it again while the stalled run is still in progress. It never
/// starts a second run of the same execution next to the first (that run
/// would share its bookkeeping, and the late result would be written over
/// it); the first run, the owner's only run, completes the execution.
pub async fn executor_never_runs_one_execution_twice_at_once(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let recording = Arc::new(Recording::new(db.handle().await));
    let s = stalling();
    let executor = start(recording.clone(), &s.task, options());
    let handle = executor.enqueue(&s.task, ()).await.unwrap();
    let id = handle.execution_id().to_owned();

    // Recovered (attempt 1) and claimed again by this executor while the
    // stalled run is still in progress.
    let reclaimed = eventually(Duration::from_secs(10), async || {
        let row = handle.get().await.unwrap();
        row.attempt == 1 && row.status == ExecutionStatus::Running
    })
    .await;
    assert!(reclaimed, "{:?}", handle.get().await.unwrap());
    assert_eq!(executor.running_execution_ids(), vec![id.clone()]);

    let done = wait(handle.untyped()).await;
    assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
    assert_eq!(done.output::<String>().unwrap(), "stale");
    assert_eq!(done.attempt, 1);
    // (Recorded once the write call returns, which can be after the wait saw it.)
    assert!(
        eventually(Duration::from_secs(5), async || {
            !recording.finishes_of(&id).is_empty()
        })
        .await
    );
    let finishes = recording.finishes_of(&id);
    assert_eq!(finishes.len(), 1, "{finishes:?}");
    assert!(finishes[0].matched);
    // No second run was started, not even after the first ended: once the
    // run is forgotten and the executor is shut down, none can start.
    assert!(
        eventually(Duration::from_secs(5), async || {
            executor.running_execution_ids().is_empty()
        })
        .await
    );
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(s.second_runs.load(Ordering::SeqCst), 0);
}
