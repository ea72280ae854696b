//! The executor's bookkeeping of its runs across immediate retries.

use crate::common::{Backend, SharedDb, eventually, fast_options, status_counts};
use crate::recording::Recording;
use durable_execution::model::{ExecutionStatus, RetryOptions};
use durable_execution::{Executor, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const TASKS: u32 = 40;

/// 40 executions fail their first attempt and are retried at once (no
/// delay), and the claimer takes the retry before the writer has dropped
/// the first run's entry (the retry's acknowledgement is delayed). Every second run must stay tracked by the
/// executor: listed as running, reached by the canceller (the runs only end
/// when cancelled), and the executor shuts down with nothing left.
pub async fn immediate_retries_stay_tracked(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let second_runs = Arc::new(AtomicU32::new(0));
    let s = second_runs.clone();
    let task = Task::new("flaky", move |ctx: TaskContext, _i: u32| {
        let s = s.clone();
        async move {
            if ctx.attempt() == 0 {
                return Err(TaskError::new("first attempt fails"));
            }
            s.fetch_add(1, Ordering::SeqCst);
            ctx.cancellation().cancelled().await;
            Ok::<_, TaskError>(())
        }
    })
    .retry(RetryOptions {
        max_attempts: 1,
        ..Default::default()
    });
    // The retry's acknowledgement reaches the writer 50 ms after the commit
    // (and its wake-up): the claimer takes the retry meanwhile.
    let storage =
        Arc::new(Recording::new(db.handle().await).with_retry_ack_delay(Duration::from_millis(50)));
    let executor = Executor::builder(storage)
        .options(fast_options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();
    executor.start().unwrap();
    let handles = executor.enqueue_many(&task, 0..TASKS).await.unwrap();
    assert!(
        eventually(Duration::from_secs(20), async || {
            second_runs.load(Ordering::SeqCst) == TASKS
        })
        .await,
        "second runs: {}",
        second_runs.load(Ordering::SeqCst)
    );
    // Give the writer time to finish with the first runs.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut tracked = executor.running_execution_ids();
    tracked.sort();
    let mut ids: Vec<String> = handles
        .iter()
        .map(|h| h.execution_id().to_owned())
        .collect();
    ids.sort();
    assert_eq!(tracked, ids, "runs missing from the executor's bookkeeping");

    for handle in &handles {
        handle.cancel().await.unwrap();
    }
    let storage = db.handle().await;
    assert!(
        eventually(Duration::from_secs(10), async || {
            executor.running_execution_ids().is_empty()
        })
        .await,
        "runs the canceller could not reach: {:?}",
        executor.running_execution_ids()
    );
    let counts = status_counts(&storage).await;
    assert_eq!(
        counts.get(&ExecutionStatus::Cancelled).copied(),
        Some(u64::from(TASKS)),
        "{counts:?}"
    );
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
