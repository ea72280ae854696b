//! Heartbeat leases: a dead worker's long-timeout executions are recovered
//! within about one lease, not after their timeout; a run whose lease
//! could not be extended is lost (token fired, result dropped).

use crate::common::{
    Backend, RunLog, SharedDb, WorkerConfig, eventually, fast_options, read_runs, runs_path,
    spawn_worker,
};
use async_trait::async_trait;
use durable_execution::model::{ExecutionStatus, Loaded, Millis, RetryOptions, TaskExecution};
use durable_execution::storage::{
    ExpireOutcome, FinishItem, RetryItem, RunRef, Storage, StorageError, StorageResult,
    StorageWrapper, WaitItem,
};
use durable_execution::{
    EnqueueOptions, ExecutionEventKind, Executor, ExecutorOptionsBuilder, Task, TaskContext,
    TaskError, WaitOptions,
};
use std::os::unix::process::ExitStatusExt as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The worker mode of this scenario.
pub const WORKER_MODE: &str = "heartbeat";

/// The heartbeat lease of every executor of the recovery scenario.
const LEASE: Duration = Duration::from_secs(2);
/// The task's timeout: the old lease (timeout + slack) would recover its
/// executions after more than 15 minutes.
const TIMEOUT: Duration = Duration::from_secs(600);
const EXECUTIONS: u32 = 3;

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap()
}

/// Attempt 0 hangs (the process is killed meanwhile); later attempts
/// return at once.
fn hanging_task(log: Arc<RunLog>) -> Task<u32, u32> {
    Task::new("hanging", move |ctx: TaskContext, i: u32| {
        let log = log.clone();
        async move {
            log.record(ctx.execution_id(), ctx.attempt());
            if ctx.attempt() == 0 {
                tokio::time::sleep(TIMEOUT).await;
            }
            Ok::<_, TaskError>(i)
        }
    })
    .timeout(TIMEOUT)
    .retry(RetryOptions {
        max_attempts: 1,
        ..Default::default()
    })
}

fn options() -> ExecutorOptionsBuilder {
    fast_options().lease(LEASE)
}

/// The doomed worker: claims the executions, heartbeats them, and hangs in
/// them until the parent kills it.
pub async fn worker_main(config: WorkerConfig) {
    let task = hanging_task(Arc::new(RunLog::create(&config.runs_path())));
    config
        .run_task_until_stop(options().build().unwrap(), &task, Duration::from_secs(120))
        .await;
}

async fn rows(storage: &dyn Storage, ids: &[String]) -> Vec<TaskExecution> {
    storage
        .get(ids)
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// Every row running at attempt 0, and extended by at least one heartbeat
/// past the deadline of its claim.
fn heartbeated(rows: &[TaskExecution]) -> bool {
    rows.len() == EXECUTIONS as usize
        && rows.iter().all(|row| {
            row.status == ExecutionStatus::Running
                && row.attempt == 0
                && row.heartbeat_expires_at.unwrap_or(0) > row.started_at.unwrap_or(0) + ms(LEASE)
        })
}

/// A worker claims executions whose timeout is 10 minutes and heartbeats
/// them (lease 2 s) for longer than a lease; then it is killed with SIGKILL
/// (memory backend: its executor is dropped without a shutdown, which stops
/// its loops and runs at once). Another executor recovers every execution
/// within two lease lengths of the kill, measured from the kill to the
/// recovered attempt's claim (`started_at` of attempt 1), and never before
/// the heartbeat deadline the dead worker left.
pub async fn killed_worker_is_recovered_within_two_leases(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = db.handle().await;
    let task = hanging_task(Arc::new(RunLog::create(&runs_path(dir.path(), "survivor"))));
    let client = Executor::builder(storage.clone())
        .options(options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();
    let handles = client.enqueue_many(&task, 0..EXECUTIONS).await.unwrap();
    let ids: Vec<String> = handles
        .iter()
        .map(|h| h.execution_id().to_owned())
        .collect();

    let killed_at: Millis = if backend == Backend::Memory {
        let doomed = Executor::builder(storage.clone())
            .options(options().build().unwrap())
            .register(&hanging_task(Arc::new(RunLog::create(&runs_path(
                dir.path(),
                "doomed",
            )))))
            .build()
            .unwrap();
        doomed.start().unwrap();
        let alive = eventually(Duration::from_secs(20), async || {
            heartbeated(&rows(&*storage, &ids).await)
        })
        .await;
        assert!(alive, "{:?}", rows(&*storage, &ids).await);
        drop(doomed);
        durable_execution::model::now_millis()
    } else {
        let mut doomed = spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "doomed");
        doomed.wait_ready(Duration::from_secs(60)).await;
        let alive = eventually(Duration::from_secs(20), async || {
            doomed.assert_alive();
            heartbeated(&rows(&*storage, &ids).await)
        })
        .await;
        assert!(
            alive,
            "{:?}\n{}",
            rows(&*storage, &ids).await,
            doomed.stderr()
        );
        let status = doomed.kill().await;
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status}");
        durable_execution::model::now_millis()
    };

    // Left running at attempt 0, each with the heartbeat deadline the dead
    // worker wrote last (at most one lease after the kill), and the far
    // timeout bound of its claim.
    let left = rows(&*storage, &ids).await;
    let mut deadlines = std::collections::HashMap::new();
    for row in &left {
        assert_eq!((row.status, row.attempt), (ExecutionStatus::Running, 0));
        let deadline = row.heartbeat_expires_at.unwrap();
        assert!(
            deadline <= killed_at + ms(LEASE),
            "{row:?} killed at {killed_at}"
        );
        assert_eq!(
            row.expires_at,
            Some(row.started_at.unwrap() + ms(TIMEOUT) + ms(Duration::from_secs(300)))
        );
        deadlines.insert(row.execution_id.clone(), deadline);
    }

    let survivor = Executor::builder(db.handle().await)
        .options(options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();
    survivor.start().unwrap();
    for handle in &handles {
        let done = handle
            .untyped()
            .wait_with(WaitOptions::new().timeout(Duration::from_secs(30)))
            .await
            .unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.attempt, 1, "{done:?}");
        let reclaimed = done.started_at.unwrap();
        assert!(
            reclaimed > deadlines[&done.execution_id],
            "recovered before its heartbeat deadline: {done:?}"
        );
        let after_kill = reclaimed - killed_at;
        assert!(
            after_kill <= 2 * ms(LEASE),
            "recovered {after_kill} ms after the kill, over two leases ({} ms): {done:?}",
            2 * ms(LEASE)
        );
    }
    // The second attempts ran in the survivor, once each.
    let mut second: Vec<String> = read_runs(&runs_path(dir.path(), "survivor"))
        .into_iter()
        .map(|run| {
            assert_eq!(run.attempt, 1, "{run:?}");
            run.execution_id
        })
        .collect();
    second.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(second, all);
    survivor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A storage that can be made unreachable: while `down`, the calls an
/// executor's runs and loops need fail with a transient error. Records the
/// finishes that matched.
#[derive(Debug)]
struct Unreachable {
    inner: Arc<dyn Storage>,
    down: AtomicBool,
    finished: Mutex<Vec<FinishItem>>,
}

impl Unreachable {
    fn check(&self, what: &'static str) -> StorageResult<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(StorageError::transient(what, "the database is unreachable"))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl StorageWrapper for Unreachable {
    fn inner(&self) -> &dyn Storage {
        &*self.inner
    }
    async fn claim_ready(
        &self,
        executor_id: &str,
        now: Millis,
        limit: u32,
        lease_slack_ms: u64,
        lease_ms: u64,
    ) -> StorageResult<Vec<Loaded>> {
        self.check("claim_ready")?;
        self.inner
            .claim_ready(executor_id, now, limit, lease_slack_ms, lease_ms)
            .await
    }
    async fn heartbeat(
        &self,
        executor_id: &str,
        now: Millis,
        lease_ms: u64,
        runs: &[RunRef],
    ) -> StorageResult<Vec<String>> {
        self.check("heartbeat")?;
        self.inner.heartbeat(executor_id, now, lease_ms, runs).await
    }
    async fn finish(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[FinishItem],
    ) -> StorageResult<Vec<String>> {
        self.check("finish")?;
        let matched = self.inner.finish(executor_id, now, items).await?;
        self.finished.lock().unwrap().extend(
            items
                .iter()
                .filter(|item| matched.contains(&item.execution_id))
                .cloned(),
        );
        Ok(matched)
    }
    async fn retry(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[RetryItem],
    ) -> StorageResult<Vec<String>> {
        self.check("retry")?;
        self.inner.retry(executor_id, now, items).await
    }
    async fn wait_for_children(
        &self,
        executor_id: &str,
        now: Millis,
        items: &[WaitItem],
    ) -> StorageResult<Vec<String>> {
        self.check("wait_for_children")?;
        self.inner.wait_for_children(executor_id, now, items).await
    }
    async fn expire_leases(&self, now: Millis, limit: u32) -> StorageResult<ExpireOutcome> {
        self.check("expire_leases")?;
        self.inner.expire_leases(now, limit).await
    }
}

/// Sets its flag when dropped: the run's future was dropped (its token
/// fired).
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The storage becomes unreachable (heartbeats, writes, claims and expiry
/// all fail) for longer than the lease while one run is in progress and
/// another has just returned its result. The run in progress is lost: its
/// future is dropped (token fired) and a `Lost` event is emitted. The
/// finished run's result is dropped once its lease has passed, not written
/// later: when the storage is back, neither attempt 0 ever finishes the
/// execution; lease recovery re-runs both (attempt 1), which complete.
pub async fn lost_run_fires_its_token_and_drops_its_result(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let storage = Arc::new(Unreachable {
        inner: db.handle().await,
        down: AtomicBool::new(false),
        finished: Mutex::new(Vec::new()),
    });
    let lease = Duration::from_millis(600);
    let dropped = Arc::new(AtomicBool::new(false));
    let go = Arc::new(tokio::sync::Notify::new());
    let hang = {
        let dropped = dropped.clone();
        Task::new("hang", move |ctx: TaskContext, (): ()| {
            let flag = DropFlag(dropped.clone());
            async move {
                if ctx.attempt() == 0 {
                    let _flag = flag;
                    tokio::time::sleep(TIMEOUT).await;
                }
                Ok::<_, TaskError>("hang".to_owned())
            }
        })
        .timeout(TIMEOUT)
    };
    let quick = {
        let go = go.clone();
        Task::new("quick", move |ctx: TaskContext, (): ()| {
            let go = go.clone();
            async move {
                if ctx.attempt() == 0 {
                    go.notified().await;
                }
                Ok::<_, TaskError>(format!("quick {}", ctx.attempt()))
            }
        })
        .timeout(TIMEOUT)
    };
    let executor = Executor::builder(storage.clone() as Arc<dyn Storage>)
        .options(fast_options().lease(lease).build().unwrap())
        .register(&hang)
        .register(&quick)
        .build()
        .unwrap();
    let mut events = executor.events();
    executor.start().unwrap();
    let retry = EnqueueOptions::new().retry(RetryOptions {
        max_attempts: 1,
        ..Default::default()
    });
    let hang_handle = executor
        .enqueue_with(&hang, (), retry.clone())
        .await
        .unwrap();
    let quick_handle = executor.enqueue_with(&quick, (), retry).await.unwrap();
    let ids = vec![
        hang_handle.execution_id().to_owned(),
        quick_handle.execution_id().to_owned(),
    ];
    // Both running, and heartbeated once at least.
    let running = eventually(Duration::from_secs(20), async || {
        let rows = rows(&*storage.inner, &ids).await;
        rows.len() == 2
            && rows.iter().all(|row| {
                row.status == ExecutionStatus::Running
                    && row.heartbeat_expires_at.unwrap_or(0)
                        > row.started_at.unwrap_or(0) + ms(lease)
            })
    })
    .await;
    assert!(running, "{:?}", rows(&*storage.inner, &ids).await);

    storage.down.store(true, Ordering::SeqCst);
    go.notify_one();
    // The run in progress is lost: a `Lost` event, its future dropped.
    let lost = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = events.recv().await.unwrap();
            if event.kind == ExecutionEventKind::Lost {
                return event;
            }
        }
    })
    .await
    .expect("no Lost event");
    assert_eq!(lost.execution_id, ids[0]);
    assert_eq!(lost.attempt, 0);
    // (The token fired before the event; the run's task drops its future
    // right after.)
    let stopped = eventually(Duration::from_secs(10), async || {
        dropped.load(Ordering::SeqCst)
    })
    .await;
    assert!(stopped, "the lost run still runs");
    // The finished run's result is given up too: nothing is left running here.
    let forgotten = eventually(Duration::from_secs(20), async || {
        executor.running_execution_ids().is_empty()
    })
    .await;
    assert!(forgotten, "{:?}", executor.running_execution_ids());
    // Still running at attempt 0 in the storage: nothing was written.
    for row in rows(&*storage.inner, &ids).await {
        assert_eq!(
            (row.status, row.attempt),
            (ExecutionStatus::Running, 0),
            "{row:?}"
        );
    }

    storage.down.store(false, Ordering::SeqCst);
    let wait = WaitOptions::new().timeout(Duration::from_secs(30));
    let hang_done = hang_handle.untyped().wait_with(wait.clone()).await.unwrap();
    let quick_done = quick_handle.untyped().wait_with(wait).await.unwrap();
    for done in [&hang_done, &quick_done] {
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.attempt, 1, "{done:?}");
    }
    assert_eq!(quick_done.output::<String>().unwrap(), "quick 1");
    let finished = storage.finished.lock().unwrap().clone();
    assert!(
        finished.iter().all(|item| item.attempt == Some(1)),
        "a lost attempt's result was written: {finished:?}"
    );
    assert_eq!(finished.len(), 2, "{finished:?}");
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
