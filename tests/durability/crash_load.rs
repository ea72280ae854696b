//! A worker process is killed with SIGKILL in the middle of a busy load
//! (claims, result writes, parents spawning children, closes: on SQLite
//! possibly inside a write transaction) while an executor in this process
//! works on the same database.

use crate::common::{
    Backend, Run, RunLog, SharedDb, WorkerConfig, eventually, fast_options, open_spec, read_runs,
    release, runs_path, spawn_worker, status_counts, wait_released,
};
use durable_execution::model::{ExecutionStatus, RetryOptions};
use durable_execution::{
    Executor, ExecutorBuilder, ExecutorOptionsBuilder, ParentOutput, ParentResult, ParentTask,
    Task, TaskContext, TaskError, WaitOptions,
};
use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The worker mode of this scenario.
pub const WORKER_MODE: &str = "load";

const TASKS: u32 = 400;
const TREES: u32 = 20;
const CHILDREN: u32 = 5;
/// The worker is killed once it has started this many runs; from this run
/// on its runs are held (so that the kill interrupts some).
const KILL_AFTER_RUNS: usize = 120;
/// Per-attempt timeout (the lease is this plus the lease slack): longer
/// than any run is held before the kill.
const TIMEOUT: Duration = Duration::from_secs(3);

struct Definitions {
    work: Task<u32, u32>,
    tree: ParentTask<u32, u32>,
}

/// Which runs of a process are held back until the parent's release (see
/// [`wait_released`]), in the directory given.
#[derive(Clone)]
enum Hold {
    /// This process's runs from its `n`-th on (the doomed worker).
    From(usize, PathBuf),
    /// Every run of this process (the survivor, released after the kill).
    All(PathBuf),
}

impl Hold {
    /// Waits for the release if run `n` (0-based, per process) is held.
    async fn run(&self, n: usize) {
        match self {
            Self::From(from, dir) if n + 1 >= *from => hold(dir).await,
            Self::All(dir) => hold(dir).await,
            Self::From(..) => {}
        }
    }
}

async fn hold(dir: &Path) {
    wait_released(dir, Duration::from_secs(60)).await;
}

/// Every definition allows one retry, and logs each run.
fn definitions(log: Arc<RunLog>, held: Hold) -> Definitions {
    let started = Arc::new(AtomicUsize::new(0));
    let one_retry = RetryOptions {
        max_attempts: 1,
        ..Default::default()
    };
    let (l, h, st) = (log.clone(), held.clone(), started.clone());
    let work = Task::new("work", move |ctx: TaskContext, i: u32| {
        let (l, h, st) = (l.clone(), h.clone(), st.clone());
        async move {
            l.record(ctx.execution_id(), ctx.attempt());
            h.run(st.fetch_add(1, Ordering::SeqCst)).await;
            // Runs of different lengths: results, claims and closes interleave.
            tokio::time::sleep(Duration::from_millis(u64::from(5 + i % 10))).await;
            Ok::<_, TaskError>(i)
        }
    })
    .timeout(TIMEOUT)
    .retry(one_retry.clone());
    let w = work.clone();
    let tree = ParentTask::new("tree", move |ctx: TaskContext, n: u32| {
        let (l, w, h, st) = (log.clone(), w.clone(), held.clone(), started.clone());
        async move {
            l.record(ctx.execution_id(), ctx.attempt());
            h.run(st.fetch_add(1, Ordering::SeqCst)).await;
            Ok::<_, TaskError>(ParentOutput::new(n).children((0..CHILDREN).map(|i| w.child(n + i))))
        }
    })
    .timeout(TIMEOUT)
    .retry(one_retry);
    Definitions { work, tree }
}

fn options() -> ExecutorOptionsBuilder {
    fast_options()
        .lease_slack(Duration::from_millis(200))
        .max_concurrent_executions(40)
        .max_batch(20)
        .close_batch(16)
}

fn builder(
    storage: Arc<dyn durable_execution::storage::Storage>,
    d: &Definitions,
) -> ExecutorBuilder {
    Executor::builder(storage)
        .options(options().build().unwrap())
        .register(&d.work)
        .register(&d.tree)
}

/// The doomed worker: works until killed; its runs from the
/// [`KILL_AFTER_RUNS`]-th on are held (never released: it is killed first).
pub async fn worker_main(config: WorkerConfig) {
    let storage = open_spec(&config.db).await;
    let d = definitions(
        Arc::new(RunLog::create(&config.runs_path())),
        Hold::From(KILL_AFTER_RUNS, config.dir.clone()),
    );
    let executor = builder(storage, &d).build().unwrap();
    config.signal_ready();
    config.wait_for_file("go", Duration::from_secs(60)).await;
    executor.start().unwrap();
    config.wait_for_file("stop", Duration::from_secs(60)).await;
}

/// 400 tasks and 20 parents (5 children each) run by a worker process and
/// an executor in this process; the worker is SIGKILLed mid-load. Every
/// execution completes; each attempt ran at most once; an execution needed
/// a second attempt only if the dead worker held it (its first run, if
/// any, is in the dead worker's log, the second in the survivor's); no
/// orphan execution exists.
///
/// No claim order is assumed: the worker works alone until it has started
/// half of [`KILL_AFTER_RUNS`] runs; then the survivor starts, and its
/// runs are held until after the kill (it takes part, but cannot take the
/// worker's share: it holds at most its capacity); the worker is killed
/// once it has started [`KILL_AFTER_RUNS`] runs, the last of which it
/// still holds (so the kill interrupts at least one run).
pub async fn killed_under_load_loses_nothing(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let survivor_log = Arc::new(RunLog::create(&runs_path(dir.path(), "survivor")));
    let d = definitions(survivor_log, Hold::All(dir.path().to_owned()));
    let storage = db.handle().await;
    let survivor = builder(storage.clone(), &d).build().unwrap();
    let mut handles: Vec<durable_execution::ExecutionHandle> = survivor
        .enqueue_many(&d.work, 0..TASKS)
        .await
        .unwrap()
        .into_iter()
        .map(Into::into)
        .collect();
    let trees = survivor
        .enqueue_many(&d.tree, (0..TREES).map(|t| 1000 * (t + 1)))
        .await
        .unwrap();

    let mut doomed = spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "doomed");
    doomed.wait_ready(Duration::from_secs(60)).await;
    std::fs::write(dir.path().join("go"), b"go").unwrap();
    // The worker is alone until it reaches `n` runs (the survivor holds
    // every run it starts), so it gets there whatever the claim order.
    let mut runs_reach = async |n: usize| {
        let busy = eventually(Duration::from_secs(60), async || {
            doomed.assert_alive();
            doomed.runs().len() >= n
        })
        .await;
        let survivor = read_runs(&runs_path(dir.path(), "survivor")).len();
        assert!(
            busy,
            "the worker started {} of {n} runs (the survivor {survivor}):\n{}",
            doomed.runs().len(),
            doomed.stderr()
        );
    };
    runs_reach(KILL_AFTER_RUNS / 2).await;
    survivor.start().unwrap();
    let shared = eventually(Duration::from_secs(60), async || {
        !read_runs(&runs_path(dir.path(), "survivor")).is_empty()
    })
    .await;
    assert!(shared, "the survivor never started a run");
    runs_reach(KILL_AFTER_RUNS).await;
    let doomed_pid = doomed.pid();
    let status = doomed.kill().await;
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status}");
    release(dir.path());

    let wait = WaitOptions::new().timeout(Duration::from_secs(30));
    for (i, handle) in handles.iter().enumerate() {
        let done = handle.wait_with(wait.clone()).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.output::<u32>().unwrap(), i as u32);
    }
    for (t, handle) in trees.iter().enumerate() {
        let done = handle.wait_with(wait.clone()).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        let n = 1000 * (t as u32 + 1);
        let result: ParentResult<u32, u32> = done.output().unwrap();
        assert_eq!(result.output, n);
        assert_eq!(result.children, (n..n + CHILDREN).collect::<Vec<_>>());
    }
    // The children are executions too.
    for tree in &trees {
        let children = survivor
            .handle(&d.tree, tree.execution_id())
            .await
            .unwrap()
            .children()
            .await
            .unwrap();
        assert_eq!(children.len(), CHILDREN as usize);
        for child in children {
            handles.push(
                survivor
                    .handle(&d.work, &child.execution_id)
                    .await
                    .unwrap()
                    .into(),
            );
        }
    }
    handles.extend(trees.iter().map(|t| t.untyped().clone()));

    // Nothing else exists (no orphan children of a re-run parent) and
    // everything completed.
    let total = u64::from(TASKS + TREES * (1 + CHILDREN));
    assert_eq!(handles.len() as u64, total);
    let counts = status_counts(&storage).await;
    assert_eq!(
        counts.get(&ExecutionStatus::Completed).copied(),
        Some(total),
        "{counts:?}"
    );
    assert_eq!(counts.values().sum::<u64>(), total, "{counts:?}");

    // Runs per execution, by attempt and process.
    let mut runs: HashMap<String, Vec<Run>> = HashMap::new();
    for run in read_runs(&runs_path(dir.path(), "doomed"))
        .into_iter()
        .chain(read_runs(&runs_path(dir.path(), "survivor")))
    {
        runs.entry(run.execution_id.clone()).or_default().push(run);
    }
    let me = std::process::id();
    let mut recovered = 0;
    for handle in &handles {
        let row = handle.get().await.unwrap();
        let mut of_row = runs.remove(&row.execution_id).unwrap_or_default();
        of_row.sort_by_key(|r| r.attempt);
        match row.attempt {
            0 => assert_eq!(of_row.len(), 1, "{row:?}: {of_row:?}"),
            1 => {
                recovered += 1;
                // The last attempt ran here, after the dead worker's lease
                // expired; a first run, if it started, was the worker's.
                let last = of_row.pop().unwrap();
                assert_eq!((last.attempt, last.pid), (1, me), "{row:?}: {last:?}");
                assert!(
                    of_row.iter().all(|r| r.attempt == 0 && r.pid == doomed_pid),
                    "{row:?}: {of_row:?}"
                );
                assert!(of_row.len() <= 1, "{row:?}: {of_row:?}");
            }
            _ => panic!("unexpected attempt: {row:?}"),
        }
    }
    assert!(runs.is_empty(), "runs of unknown executions: {runs:?}");
    assert!(recovered > 0, "the kill interrupted nothing");

    survivor.shutdown(Duration::from_secs(5)).await.unwrap();
}
