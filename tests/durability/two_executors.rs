//! Two executors, each on its own storage handle (its own connections), on
//! one database.

use crate::common::{Backend, SharedDb, eventually, fast_options, status_counts};
use durable_execution::model::ExecutionStatus;
use durable_execution::storage::Storage;
use durable_execution::{
    Executor, FinalizeInput, ParentOutput, ParentTask, Task, TaskContext, TaskError, WaitOptions,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

const TASKS: u32 = 1000;
const PARENTS: u32 = 40;
const CHILDREN: u32 = 25;

/// Every execution id that ran, with its number of runs.
type RunsById = Arc<Mutex<HashMap<String, u32>>>;

fn record(runs: &RunsById, ctx: &TaskContext) {
    *runs
        .lock()
        .unwrap()
        .entry(ctx.execution_id().to_owned())
        .or_default() += 1;
}

struct Definitions {
    count: Task<u32, u32>,
    leaf: Task<u32, u32>,
    fan_out: ParentTask<u32, u32, (u32, u32)>,
}

/// The definitions of one executor; `which` is its index (0 or 1). Runs of
/// `count` wait for `released` (after being counted), so that both
/// executors have started one before any ends: each holds at most its
/// capacity, so the other one finds work whatever the claim order.
fn definitions(
    which: usize,
    runs_by_input: &Arc<Vec<AtomicU32>>,
    runs_by_executor: &Arc<[AtomicU32; 2]>,
    runs: &RunsById,
    released: &watch::Receiver<bool>,
) -> Definitions {
    let (by_input, by_executor, r, rel) = (
        runs_by_input.clone(),
        runs_by_executor.clone(),
        runs.clone(),
        released.clone(),
    );
    let count = Task::new("count", move |ctx: TaskContext, i: u32| {
        let (by_input, by_executor, r, mut rel) = (
            by_input.clone(),
            by_executor.clone(),
            r.clone(),
            rel.clone(),
        );
        async move {
            record(&r, &ctx);
            by_input[i as usize].fetch_add(1, Ordering::SeqCst);
            by_executor[which].fetch_add(1, Ordering::SeqCst);
            rel.wait_for(|released| *released).await.unwrap();
            if i.is_multiple_of(4) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok::<_, TaskError>(i)
        }
    });
    let r = runs.clone();
    let leaf = Task::new("leaf", move |ctx: TaskContext, i: u32| {
        let r = r.clone();
        async move {
            record(&r, &ctx);
            // The two executors run at different speeds, so siblings finish
            // (and are closed) in both of them, interleaved.
            if which == 0 && i.is_multiple_of(2) {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Ok::<_, TaskError>(i)
        }
    });
    let r = runs.clone();
    let sum = Task::new(
        "sum_children",
        move |ctx: TaskContext, input: FinalizeInput<u32, u32, u32>| {
            let r = r.clone();
            async move {
                record(&r, &ctx);
                assert_eq!(input.input, input.output);
                Ok::<_, TaskError>((input.input, input.children.iter().sum::<u32>()))
            }
        },
    );
    let (r, l) = (runs.clone(), leaf.clone());
    let fan_out = ParentTask::new("fan_out", move |ctx: TaskContext, n: u32| {
        let (r, l) = (r.clone(), l.clone());
        async move {
            record(&r, &ctx);
            Ok::<_, TaskError>(ParentOutput::new(n).children((0..CHILDREN).map(|i| l.child(i))))
        }
    })
    .finalize(&sum);
    Definitions {
        count,
        leaf,
        fan_out,
    }
}

fn start(storage: Arc<dyn Storage>, d: &Definitions) -> Executor {
    // A small capacity makes each executor claim many small batches, so
    // neither can take the whole queue before the other one starts.
    let options = fast_options()
        .max_concurrent_executions(24)
        .max_batch(50)
        .close_batch(16)
        .build()
        .unwrap();
    let executor = Executor::builder(storage)
        .options(options)
        .register(&d.count)
        .register(&d.leaf)
        .register(&d.fan_out)
        .build()
        .unwrap();
    executor.start().unwrap();
    executor
}

/// 1,000 tasks and 40 parents (25 children and a finalize each) on two
/// executors with separate storage handles: every task completes with its
/// output, no execution runs twice, both executors took part (the tasks are
/// held until both have started one), and no parent is left waiting for
/// children or finalize.
pub async fn two_executors_run_everything_once(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let runs_by_input: Arc<Vec<AtomicU32>> =
        Arc::new((0..TASKS).map(|_| AtomicU32::new(0)).collect());
    let runs_by_executor = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
    let runs: RunsById = Arc::default();
    let (release, released) = watch::channel(false);
    let d1 = definitions(0, &runs_by_input, &runs_by_executor, &runs, &released);
    let d2 = definitions(1, &runs_by_input, &runs_by_executor, &runs, &released);
    let e1 = start(db.handle().await, &d1);
    let e2 = start(db.handle().await, &d2);

    let half = TASKS / 2;
    let mut handles = e1.enqueue_many(&d1.count, 0..half).await.unwrap();
    handles.extend(e2.enqueue_many(&d2.count, half..TASKS).await.unwrap());
    let mut parents = e1.enqueue_many(&d1.fan_out, 0..PARENTS / 2).await.unwrap();
    parents.extend(
        e2.enqueue_many(&d2.fan_out, PARENTS / 2..PARENTS)
            .await
            .unwrap(),
    );

    let both_started = eventually(Duration::from_secs(60), async || {
        runs_by_executor
            .iter()
            .all(|runs| runs.load(Ordering::SeqCst) > 0)
    })
    .await;
    assert!(both_started, "an executor never started a task");
    release.send(true).unwrap();

    let wait = WaitOptions::new().timeout(Duration::from_secs(60));
    for (i, handle) in handles.iter().enumerate() {
        let done = handle.wait_with(wait.clone()).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.output::<u32>().unwrap(), i as u32);
        assert_eq!(done.attempt, 0);
    }
    let expected_sum = (0..CHILDREN).sum::<u32>();
    for (n, handle) in parents.iter().enumerate() {
        let done = handle.wait_with(wait.clone()).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(
            done.output::<(u32, u32)>().unwrap(),
            (n as u32, expected_sum)
        );
        assert_eq!(done.children_count, CHILDREN);
        assert_eq!(done.active_children_count, 0);
        assert!(done.children_errors.is_empty());
    }

    for (i, count) in runs_by_input.iter().enumerate() {
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "task {i} ran a wrong number of times"
        );
    }
    let (one, two) = (
        runs_by_executor[0].load(Ordering::SeqCst),
        runs_by_executor[1].load(Ordering::SeqCst),
    );
    assert_eq!(one + two, TASKS);
    // Held back until both had one, so both ran some.
    assert!(one > 0 && two > 0, "{one} + {two}");

    // Every stored execution completed, ran exactly once, and nothing waits.
    let total = u64::from(TASKS + PARENTS * (1 + CHILDREN + 1));
    let reader = db.handle().await;
    let counts = status_counts(&reader).await;
    assert_eq!(
        counts.get(&ExecutionStatus::Completed).copied(),
        Some(total),
        "{counts:?}"
    );
    assert_eq!(counts.values().sum::<u64>(), total, "{counts:?}");
    for waiting in [
        ExecutionStatus::WaitingForChildrenTasks,
        ExecutionStatus::WaitingForFinalizeTask,
    ] {
        assert_eq!(counts.get(&waiting), None, "{counts:?}");
    }
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len() as u64, total);
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "executions ran more than once: {twice:?}");

    e1.shutdown(Duration::from_secs(5)).await.unwrap();
    e2.shutdown(Duration::from_secs(5)).await.unwrap();
}
