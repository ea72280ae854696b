//! Control across processes: a cancel issued here reaches a run hosted by a
//! worker process; a worker that shuts down gracefully hands its unfinished
//! runs back at once (no lease wait, no attempt spent).

use crate::common::{
    Backend, RunLog, SharedDb, WorkerConfig, eventually, fast_options, read_runs, runs_path,
    spawn_worker,
};
use durable_execution::model::{ErrorKind, ExecutionStatus};
use durable_execution::storage::Storage;
use durable_execution::{Executor, Task, TaskContext, TaskError, WaitOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The worker mode of these scenarios.
pub const WORKER_MODE: &str = "hold";

/// Marker logged (as an attempt number) when a run's cancellation token fires.
const CANCEL_OBSERVED: u32 = 1000;

/// A task that holds its run for 30 s unless the executor drops it. A
/// watcher spawned by the run logs [`CANCEL_OBSERVED`] when the run's
/// cancellation token fires.
fn hold_task(log: Arc<RunLog>) -> Task<u32, String> {
    Task::new("hold", move |ctx: TaskContext, _i: u32| {
        let log = log.clone();
        async move {
            log.record(ctx.execution_id(), ctx.attempt());
            let token = ctx.cancellation().clone();
            let shutdown = ctx.shutdown().clone();
            let (l, id) = (log.clone(), ctx.execution_id().to_owned());
            tokio::spawn(async move {
                tokio::select! {
                    () = token.cancelled() => {
                        // The executor also fires the token when a run ends
                        // for any other reason (shutdown release): only count
                        // a cancellation that came before a shutdown.
                        if !shutdown.is_cancelled() {
                            l.record(&id, CANCEL_OBSERVED);
                        }
                    }
                    () = tokio::time::sleep(Duration::from_secs(60)) => {}
                }
            });
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, TaskError>(format!("held by {}", std::process::id()))
        }
    })
    .timeout(Duration::from_secs(60))
}

/// The worker: runs `hold` executions until the `stop` file appears, then
/// shuts down with a short grace period.
pub async fn worker_main(config: WorkerConfig) {
    let task = hold_task(Arc::new(RunLog::create(&config.runs_path())));
    let executor = config
        .run_task_until_stop(
            fast_options().build().unwrap(),
            &task,
            Duration::from_secs(60),
        )
        .await;
    executor.shutdown(Duration::from_millis(200)).await.unwrap();
}

async fn client(storage: Arc<dyn Storage>, task: &Task<u32, String>) -> Executor {
    Executor::builder(storage)
        .options(fast_options().build().unwrap())
        .register(task)
        .build()
        .unwrap()
}

/// A run hosted by a worker process is cancelled from this process: the
/// execution is `cancelled` at once, and the worker (its owner, and only
/// it) picks the cancellation up and fires the run's token, by
/// notification (PostgreSQL) or at its next poll (SQLite).
pub async fn cancel_reaches_run_in_another_process(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = db.handle().await;
    let task = hold_task(Arc::new(RunLog::create(&runs_path(dir.path(), "unused"))));
    let client = client(storage.clone(), &task).await;
    let handle = client.enqueue(&task, 1).await.unwrap();

    let mut worker = spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "host");
    worker.wait_ready(Duration::from_secs(60)).await;
    let started = eventually(Duration::from_secs(20), async || {
        worker.assert_alive();
        !worker.runs().is_empty()
    })
    .await;
    assert!(
        started,
        "the worker never ran the task:\n{}",
        worker.stderr()
    );
    let running = handle.get().await.unwrap();
    assert_eq!(running.status, ExecutionStatus::Running);

    let cancelled_at = Instant::now();
    handle.cancel().await.unwrap();
    let done = handle.get().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled);
    assert_eq!(done.error.as_ref().unwrap().kind, ErrorKind::Cancelled);
    // The owner stays recorded until it has taken the cancellation.
    assert_eq!(done.executor_id, running.executor_id);

    let observed = eventually(Duration::from_secs(10), async || {
        worker.assert_alive();
        worker.runs().iter().any(|r| r.attempt == CANCEL_OBSERVED)
    })
    .await;
    assert!(
        observed,
        "the worker's run never saw its cancellation:\n{}",
        worker.stderr()
    );
    let latency = cancelled_at.elapsed();
    assert!(
        eventually(Duration::from_secs(5), async || !handle
            .get()
            .await
            .unwrap()
            .needs_cancel)
        .await
    );
    let done = handle.get().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled, "{done:?}");
    assert!(done.output.is_none());
    let runs = worker.runs();
    assert_eq!(
        runs.len(),
        2,
        "one run, one observed cancellation: {runs:?}"
    );

    std::fs::write(dir.path().join("stop"), b"stop").unwrap();
    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}:\n{}", worker.stderr());
    // Stays cancelled after the worker's shutdown.
    let done = handle.get().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled, "{done:?}");
    assert!(latency < Duration::from_secs(10));
}

/// A worker process shuts down gracefully while it runs executions that do
/// not finish within its grace period: it gives them back (`ready`, same
/// attempt, no error), and an executor here runs them right away, long
/// before their 60 s + 5 min lease would have expired.
pub async fn graceful_shutdown_hands_runs_over(backend: Backend) {
    const HELD: u32 = 3;
    let db = SharedDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = db.handle().await;
    let here = Arc::new(RunLog::create(&runs_path(dir.path(), "here")));
    // Here the task returns at once (the definition differs only in speed).
    let quick = {
        let here = here.clone();
        Task::new("hold", move |ctx: TaskContext, _i: u32| {
            let here = here.clone();
            async move {
                here.record(ctx.execution_id(), ctx.attempt());
                assert!(ctx.prev_error().is_none(), "{:?}", ctx.prev_error());
                Ok::<_, TaskError>(format!("held by {}", std::process::id()))
            }
        })
        .timeout(Duration::from_secs(60))
    };
    let client = client(storage.clone(), &quick).await;
    let handles = client.enqueue_many(&quick, 0..HELD).await.unwrap();

    let mut worker = spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "leaving");
    worker.wait_ready(Duration::from_secs(60)).await;
    let started = eventually(Duration::from_secs(20), async || {
        worker.assert_alive();
        worker.runs().len() >= HELD as usize
    })
    .await;
    assert!(
        started,
        "the worker never ran the tasks:\n{}",
        worker.stderr()
    );

    // Graceful stop: the runs are released (not failed, not expired).
    std::fs::write(dir.path().join("stop"), b"stop").unwrap();
    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status}:\n{}", worker.stderr());
    for handle in &handles {
        let row = handle.get().await.unwrap();
        assert_eq!(row.status, ExecutionStatus::Ready, "{row:?}");
        assert_eq!(row.attempt, 0);
        assert!(row.error.is_none() && row.executor_id.is_none() && row.expires_at.is_none());
    }

    let taken_over = Instant::now();
    client.start().unwrap();
    for handle in &handles {
        let done = handle
            .wait_with(WaitOptions::new().timeout(Duration::from_secs(10)))
            .await
            .unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.attempt, 0);
        assert_eq!(
            done.output::<String>().unwrap(),
            format!("held by {}", std::process::id())
        );
    }
    assert!(taken_over.elapsed() < Duration::from_secs(10));
    let worker_runs = read_runs(&runs_path(dir.path(), "leaving"));
    assert_eq!(worker_runs.len(), HELD as usize, "{worker_runs:?}");
    assert!(worker_runs.iter().all(|r| r.attempt == 0));
    let here_runs = read_runs(&runs_path(dir.path(), "here"));
    assert_eq!(here_runs.len(), HELD as usize, "{here_runs:?}");
    client.shutdown(Duration::from_secs(5)).await.unwrap();
}
