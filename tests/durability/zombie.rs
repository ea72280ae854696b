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
    /// Set when attempt 0's stalled thread returns.
    stale_returned: Arc<std::sync::atomic::AtomicBool>,
}

fn stalling() -> Stalling {
    let second_runs = Arc::new(AtomicU32::new(0));
    let release = Arc::new(tokio::sync::Notify::new());
    let stale_returned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s, r, st) = (second_runs.clone(), release.clone(), stale_returned.clone());
    let task = Task::new("stalling", move |ctx: TaskContext, _: ()| {
        let (s, r, st) = (s.clone(), r.clone(), st.clone());
        async move {
            if ctx.attempt() == 0 {
                tokio::task::block_in_place(|| std::thread::sleep(Duration::from_millis(2800)));
                st.store(true, Ordering::SeqCst);
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
        stale_returned,
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
/// claims it again (attempt 1) while the stalled attempt 0 is still in
/// progress. Attempt 0 is lost (its token fired: the executor no longer
/// waits for it) and attempt 1 runs next to the stalled thread; the stale
/// result of attempt 0 is never written (it is dropped here, and the
/// storage's attempt guard would refuse it: docs/design.md, "Leases and
/// fencing"); attempt 1 completes the execution.
pub async fn stale_attempt_on_the_same_executor_is_refused(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let recording = Arc::new(Recording::new(db.handle().await));
    let s = stalling();
    let executor = start(recording.clone(), &s.task, options());
    let handle = executor.enqueue(&s.task, ()).await.unwrap();
    let id = handle.execution_id().to_owned();

    // Recovered and claimed again by this executor: attempt 1 runs while
    // the stalled attempt 0 is still in progress.
    let second = eventually(Duration::from_secs(10), async || {
        s.second_runs.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(second, "{:?}", handle.get().await.unwrap());
    let row = handle.get().await.unwrap();
    assert_eq!((row.status, row.attempt), (ExecutionStatus::Running, 1));
    assert_eq!(row.executor_id.as_deref(), Some(executor.executor_id()));
    assert_eq!(executor.running_execution_ids(), vec![id.clone()]);

    // The stalled thread returns `stale` (about 2.8 s after it started).
    // Its completion reaches the writer before attempt 1's (released only
    // after this), so the single finish recorded below shows that nothing
    // of attempt 0 was written, nor even tried.
    assert!(
        eventually(Duration::from_secs(10), async || s
            .stale_returned
            .load(Ordering::SeqCst))
        .await
    );
    let row = handle.get().await.unwrap();
    assert_eq!((row.status, row.attempt), (ExecutionStatus::Running, 1));
    assert!(
        recording.finishes_of(&id).is_empty(),
        "{:?}",
        recording.finishes_of(&id)
    );

    s.release.notify_one();
    let done = wait(handle.untyped()).await;
    assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
    assert_eq!(done.output::<String>().unwrap(), "fresh");
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
    assert_eq!(finishes[0].output.as_deref(), Some("\"fresh\""));
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(s.second_runs.load(Ordering::SeqCst), 1);
}
