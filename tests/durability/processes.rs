//! Two executor processes on one database.

use crate::common::{
    Backend, RunLog, SharedDb, WorkerConfig, eventually, fast_options, open_spec, release,
    spawn_worker, status_counts, wait_released,
};
use durable_execution::model::ExecutionStatus;
use durable_execution::{Executor, Task, TaskContext, TaskError, WaitOptions};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The worker mode of this scenario.
pub const WORKER_MODE: &str = "run";

const TASKS: u32 = 1000;

/// The task both processes run; `log` records every run. In a worker
/// (`held` is its directory) each run, once logged, waits for the parent's
/// release (see [`wait_released`]): the parent releases them once both
/// processes have started one, so both take part whatever the claim
/// order (sharing one database promises no fair split).
fn count_task(log: Option<Arc<RunLog>>, held: Option<PathBuf>) -> Task<u32, u32> {
    Task::new("count", move |ctx: TaskContext, i: u32| {
        let (log, held) = (log.clone(), held.clone());
        async move {
            if let Some(log) = &log {
                log.record(ctx.execution_id(), ctx.attempt());
            }
            if let Some(dir) = &held {
                wait_released(dir, Duration::from_secs(60)).await;
            }
            Ok::<_, TaskError>(i * 2)
        }
    })
    .timeout(Duration::from_secs(90))
}

/// The worker process: runs `count` tasks from the shared database until
/// the parent creates the `stop` file, then shuts down gracefully.
pub async fn worker_main(config: WorkerConfig) {
    let storage = open_spec(&config.db).await;
    let log = Arc::new(RunLog::create(&config.runs_path()));
    let task = count_task(Some(log), Some(config.dir.clone()));
    let executor = Executor::builder(storage)
        .options(
            fast_options()
                .max_concurrent_executions(50)
                .max_batch(25)
                .build()
                .unwrap(),
        )
        .register(&task)
        .build()
        .unwrap();
    config.signal_ready();
    // Both workers start claiming together.
    config.wait_for_file("go", Duration::from_secs(60)).await;
    executor.start().unwrap();
    config.wait_for_file("stop", Duration::from_secs(120)).await;
    executor.shutdown(Duration::from_secs(10)).await.unwrap();
}

/// The parent enqueues 1,000 tasks; two worker processes run them, each
/// run held until both processes have started one (each holds at most
/// its capacity, 50, so the other one finds work). Every execution
/// completes, and appears exactly once across both processes' run logs.
pub async fn two_processes_run_everything_once(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = db.handle().await;
    let task = count_task(None, None);
    // A client: enqueues and waits, never started, so it runs nothing.
    let client = Executor::builder(storage.clone())
        .options(fast_options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();
    let handles = client.enqueue_many(&task, 0..TASKS).await.unwrap();

    let mut workers = [
        spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "worker_a"),
        spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "worker_b"),
    ];
    for worker in &mut workers {
        worker.wait_ready(Duration::from_secs(60)).await;
    }
    let pids: HashSet<u32> = workers.iter().map(|w| w.pid()).collect();
    std::fs::write(dir.path().join("go"), b"go").unwrap();
    let both_started = eventually(Duration::from_secs(60), async || {
        workers.iter_mut().all(|worker| {
            worker.assert_alive();
            !worker.runs().is_empty()
        })
    })
    .await;
    assert!(
        both_started,
        "a worker never started a run: {:?}",
        workers.iter().map(|w| w.runs().len()).collect::<Vec<_>>()
    );
    release(dir.path());

    let wait = WaitOptions::new().timeout(Duration::from_secs(60));
    for (i, handle) in handles.iter().enumerate() {
        let done = match handle.wait_with(wait.clone()).await {
            Ok(done) => done,
            Err(e) => {
                for worker in &mut workers {
                    worker.assert_alive();
                }
                panic!("task {i}: {e}");
            }
        };
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.output::<u32>().unwrap(), 2 * i as u32);
        assert_eq!(done.attempt, 0);
    }

    std::fs::write(dir.path().join("stop"), b"stop").unwrap();
    for worker in &mut workers {
        let status = worker.wait_exit(Duration::from_secs(30)).await;
        assert!(
            status.success(),
            "worker {} failed ({status}):\n{}",
            worker.name,
            worker.stderr()
        );
    }

    // Every execution ran exactly once, in one of the two processes.
    let mut per_process: HashMap<u32, u32> = HashMap::new();
    let mut seen: HashMap<String, u32> = HashMap::new();
    for worker in &workers {
        for run in worker.runs() {
            assert!(pids.contains(&run.pid), "{run:?}");
            assert_eq!(run.attempt, 0, "{run:?}");
            *per_process.entry(run.pid).or_default() += 1;
            *seen.entry(run.execution_id).or_default() += 1;
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "executions ran more than once: {twice:?}");
    let enqueued: HashSet<&str> = handles.iter().map(|h| h.execution_id()).collect();
    let ran: HashSet<&str> = seen.keys().map(String::as_str).collect();
    assert_eq!(ran, enqueued);
    // Held back until both had one, so both ran some.
    assert_eq!(per_process.len(), 2, "{per_process:?}");

    let counts = status_counts(&storage).await;
    assert_eq!(
        counts.get(&ExecutionStatus::Completed).copied(),
        Some(u64::from(TASKS)),
        "{counts:?}"
    );
    assert_eq!(counts.values().sum::<u64>(), u64::from(TASKS), "{counts:?}");
}
