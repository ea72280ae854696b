//! A sleeping task woken from a second process (docs/design.md "Sleeping
//! tasks"): the process that wakes it only shares the database.

use crate::common::{Backend, SharedDb, WorkerConfig, fast_options, open_spec, spawn_worker};
use durable_execution::model::ExecutionStatus;
use durable_execution::{
    Executor, FinalizeInput, ParentOutput, ParentTask, SleepingTask, Task, TaskContext, TaskError,
    WaitOptions, WakeOutcome,
};
use std::time::Duration;

/// The worker mode of this scenario.
pub const WORKER_MODE: &str = "wake";

const KEY: &str = "order-42";

fn hook() -> SleepingTask<u64> {
    SleepingTask::new("payment_webhook", Duration::from_secs(600))
}

/// The waking process: an executor that is never started (waking needs
/// no background loop), which wakes [`KEY`] once the parent says `go`,
/// then writes what it got back.
pub async fn worker_main(config: WorkerConfig) {
    let storage = open_spec(&config.db).await;
    let hook = hook();
    let executor = Executor::builder(storage)
        .options(fast_options().build().unwrap())
        .build()
        .unwrap();
    config.signal_ready();
    config.wait_for_file("go", Duration::from_secs(60)).await;
    let woken = executor
        .wake(&hook, KEY, WakeOutcome::Completed(1_250))
        .await
        .unwrap();
    std::fs::write(config.dir.join("woken"), woken.status.as_str()).unwrap();
}

/// The parent's child sleeps under [`KEY`]; a second process wakes it; the
/// finalize reads the woken output and the parent completes with it.
pub async fn wake_from_another_process(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = db.handle().await;
    let hook = hook();
    let receipt = Task::new(
        "receipt",
        |_ctx: TaskContext, done: FinalizeInput<(), (), u64>| async move {
            Ok::<_, TaskError>(format!("paid {} cents", done.children[0]))
        },
    );
    let child = hook.clone();
    let checkout = ParentTask::new("checkout", move |_ctx: TaskContext, _: ()| {
        let wait = child.child(KEY);
        async move { Ok::<_, TaskError>(ParentOutput::new(()).child(wait)) }
    })
    .finalize(&receipt);
    let executor = Executor::builder(storage.clone())
        .options(fast_options().build().unwrap())
        .register(&checkout)
        .register(&hook)
        .build()
        .unwrap();
    executor.start().unwrap();
    let parent = executor.enqueue(&checkout, ()).await.unwrap();
    let mut sleeping = false;
    for _ in 0..6_000 {
        let children = parent.children().await.unwrap();
        if children
            .first()
            .is_some_and(|c| c.status == ExecutionStatus::Sleeping)
        {
            sleeping = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(sleeping, "the child never slept");

    let mut worker = spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "waker");
    worker.wait_ready(Duration::from_secs(60)).await;
    std::fs::write(dir.path().join("go"), b"go").unwrap();
    let status = worker.wait_exit(Duration::from_secs(60)).await;
    assert!(
        status.success(),
        "waker failed ({status}):\n{}",
        worker.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("woken")).unwrap(),
        "completed"
    );
    let output = parent
        .wait_output_with(WaitOptions::new().timeout(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(output, "paid 1250 cents");
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
