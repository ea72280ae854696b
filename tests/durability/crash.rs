//! Crash recovery: an executor process dies (SIGKILL) while its runs are in
//! flight; another executor recovers them once their leases expire.

use crate::common::{
    Backend, RunLog, SharedDb, WorkerConfig, eventually, fast_options, read_runs, runs_path,
    spawn_worker,
};
use durable_execution::model::{ErrorKind, ExecutionStatus, RetryOptions};
use durable_execution::{EnqueueOptions, Executor, ExecutorOptionsBuilder, Task, TaskContext};
use durable_execution::{TaskError, WaitOptions};
use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt as _;
use std::sync::Arc;
use std::time::Duration;

/// The worker mode of this scenario.
pub const WORKER_MODE: &str = "crash";

/// Per-attempt timeout of the task; with [`LEASE_SLACK`], a claimed
/// execution's lease lasts 2.2 s.
const TIMEOUT: Duration = Duration::from_secs(2);
const LEASE_SLACK: Duration = Duration::from_millis(200);
/// Executions with one retry left, and with none.
const WITH_RETRY: usize = 3;
const WITHOUT_RETRY: usize = 2;

/// First attempt: hangs far beyond the lease (the process is killed
/// meanwhile). Later attempts return the error they were given.
fn sleepy_task(log: Arc<RunLog>) -> Task<u32, Option<String>> {
    Task::new("sleepy", move |ctx: TaskContext, _i: u32| {
        let log = log.clone();
        async move {
            log.record(ctx.execution_id(), ctx.attempt());
            if ctx.attempt() == 0 {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Ok::<_, TaskError>(ctx.prev_error().map(|e| e.message.clone()))
        }
    })
    .timeout(TIMEOUT)
}

fn options() -> ExecutorOptionsBuilder {
    fast_options().lease_slack(LEASE_SLACK)
}

/// The doomed worker: claims the executions and hangs in them until the
/// parent kills it.
pub async fn worker_main(config: WorkerConfig) {
    let task = sleepy_task(Arc::new(RunLog::create(&config.runs_path())));
    config
        .run_task_until_stop(options().build().unwrap(), &task, Duration::from_secs(60))
        .await;
}

/// A worker process claims executions that hang, and is killed with
/// SIGKILL. After the lease expires (timeout + slack), an executor in this
/// process recovers them: with a retry left the execution runs again
/// (`attempt` 1, `prev_error` = `Task expired`) and completes; without, it
/// ends `failed` with `Task expired` (bounded: docs/design.md, "Defects not copied", 6; no endless
/// re-queue). Nothing is lost and nothing runs twice per attempt.
pub async fn killed_worker_is_recovered_after_lease_expiry(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = db.handle().await;
    let survivor_log = Arc::new(RunLog::create(&runs_path(dir.path(), "survivor")));
    let task = sleepy_task(survivor_log);
    // The client only enqueues (never started).
    let client = Executor::builder(storage.clone())
        .options(options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();
    let one_retry = EnqueueOptions::new().retry(RetryOptions {
        max_attempts: 1,
        ..Default::default()
    });
    let mut retried = Vec::new();
    for i in 0..WITH_RETRY {
        retried.push(
            client
                .enqueue_with(&task, i as u32, one_retry.clone())
                .await
                .unwrap(),
        );
    }
    let exhausted = client
        .enqueue_many(&task, 0..WITHOUT_RETRY as u32)
        .await
        .unwrap();
    let ids: Vec<String> = retried
        .iter()
        .chain(&exhausted)
        .map(|h| h.execution_id().to_owned())
        .collect();

    // The doomed worker claims all of them and hangs in their first attempt.
    let mut doomed = spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "doomed");
    doomed.wait_ready(Duration::from_secs(60)).await;
    let started = eventually(Duration::from_secs(20), async || {
        doomed.assert_alive();
        doomed.runs().len() >= ids.len()
    })
    .await;
    assert!(
        started,
        "the worker did not start every run:\n{}",
        doomed.stderr()
    );
    let status = doomed.kill().await;
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status}");

    // The crash left the executions running, owned by the dead executor,
    // with a lease of timeout + slack from their claim.
    let rows: Vec<_> = storage
        .get(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), ids.len());
    let owner = rows[0].executor_id.clone();
    let mut lease_ends = HashMap::new();
    for row in &rows {
        assert_eq!(row.status, ExecutionStatus::Running, "{row:?}");
        assert_eq!(row.attempt, 0, "{row:?}");
        assert!(
            row.executor_id.is_some() && row.executor_id == owner,
            "{row:?}"
        );
        let started_at = row.started_at.unwrap();
        let lease = i64::try_from((TIMEOUT + LEASE_SLACK).as_millis()).unwrap();
        assert_eq!(row.expires_at, Some(started_at + lease), "{row:?}");
        lease_ends.insert(row.execution_id.clone(), started_at + lease);
    }

    // The survivor recovers them once the leases expire.
    let survivor = Executor::builder(db.handle().await)
        .options(options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();
    survivor.start().unwrap();
    let wait = WaitOptions::new().timeout(Duration::from_secs(30));
    for handle in &retried {
        let done = handle.wait_with(wait.clone()).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.attempt, 1);
        assert_eq!(
            done.output::<Option<String>>().unwrap().as_deref(),
            Some("Task expired")
        );
        assert!(done.error.is_none(), "{done:?}");
        assert!(done.started_at.unwrap() > lease_ends[&done.execution_id]);
    }
    for handle in &exhausted {
        let done = handle.wait_with(wait.clone()).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Failed, "{done:?}");
        assert_eq!(done.attempt, 0);
        let error = done.error.clone().unwrap();
        assert_eq!(error.message, "Task expired");
        assert_eq!(error.kind, ErrorKind::Generic);
        assert!(!error.is_retryable);
        assert!(done.finished_at.unwrap() > lease_ends[&done.execution_id]);
        assert!(done.output.is_none());
    }

    // Runs: every execution's first attempt in the dead worker, exactly
    // once; the second attempt of those with a retry in the survivor,
    // exactly once; none of those without.
    let mut first: Vec<String> = read_runs(&runs_path(dir.path(), "doomed"))
        .into_iter()
        .map(|run| {
            assert_eq!(run.attempt, 0, "{run:?}");
            run.execution_id
        })
        .collect();
    first.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(first, all);
    let mut second: Vec<String> = read_runs(&runs_path(dir.path(), "survivor"))
        .into_iter()
        .map(|run| {
            assert_eq!(run.attempt, 1, "{run:?}");
            assert_eq!(run.pid, std::process::id());
            run.execution_id
        })
        .collect();
    second.sort();
    let mut with_retry: Vec<String> = ids[..WITH_RETRY].to_vec();
    with_retry.sort();
    assert_eq!(second, with_retry);

    survivor.shutdown(Duration::from_secs(5)).await.unwrap();
}
