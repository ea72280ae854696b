//! Backpressure: never more running than the limit (`max_concurrent_executions`).

use crate::common::{Factory, eventually, fast_options, start_with};
use durable_execution::model::ExecutionStatus;
use durable_execution::{Task, TaskContext, TaskError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

struct Gate {
    release: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    started: Arc<AtomicUsize>,
}

fn gated_task(gate: &Gate) -> Task<u32, u32> {
    let (release, running, peak, started) = (
        gate.release.clone(),
        gate.running.clone(),
        gate.peak.clone(),
        gate.started.clone(),
    );
    Task::new("blocking", move |_ctx: TaskContext, i: u32| {
        let (release, running, peak, started) = (
            release.clone(),
            running.clone(),
            peak.clone(),
            started.clone(),
        );
        async move {
            started.fetch_add(1, Ordering::SeqCst);
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let permit = release
                .acquire()
                .await
                .map_err(|e| TaskError::new(e.to_string()))?;
            permit.forget();
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, TaskError>(i)
        }
    })
    .timeout(Duration::from_secs(20))
}

fn gate() -> Gate {
    Gate {
        release: Arc::new(Semaphore::new(0)),
        running: Arc::new(AtomicUsize::new(0)),
        peak: Arc::new(AtomicUsize::new(0)),
        started: Arc::new(AtomicUsize::new(0)),
    }
}

/// B1/B6: max 3 concurrent, batch 2, 5 blocking tasks.
pub async fn concurrency_limit_is_respected(factory: Factory) {
    let storage = factory("concurrency_limit_is_respected").await;
    let g = gate();
    let task = gated_task(&g);
    let executor = start_with(
        &storage,
        fast_options().max_concurrent_executions(3).max_batch(2),
        |b| b.register(&task),
    );
    let handles = executor.enqueue_many(&task, 0..5).await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || g.running.load(Ordering::SeqCst)
            == 3)
        .await
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(g.running.load(Ordering::SeqCst), 3);
    assert_eq!(executor.running_execution_ids().len(), 3);
    assert_eq!(executor.stats().running, 3);
    g.release.add_permits(2);
    assert!(
        eventually(Duration::from_secs(5), || g.started.load(Ordering::SeqCst)
            == 5)
        .await
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(g.running.load(Ordering::SeqCst), 3);
    g.release.add_permits(3);
    for handle in handles {
        assert_eq!(
            handle.wait().await.unwrap().status,
            ExecutionStatus::Completed
        );
    }
    assert_eq!(g.peak.load(Ordering::SeqCst), 3);
    assert!(
        eventually(Duration::from_secs(5), || executor
            .running_execution_ids()
            .is_empty())
        .await
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// B3/B4: a second wave only fills the free capacity; draining one at a
/// time lets the rest in.
pub async fn waves_fill_free_capacity(factory: Factory) {
    let storage = factory("waves_fill_free_capacity").await;
    let g = gate();
    let task = gated_task(&g);
    let executor = start_with(
        &storage,
        fast_options().max_concurrent_executions(5).max_batch(3),
        |b| b.register(&task),
    );
    let mut handles = executor.enqueue_many(&task, 0..3).await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || g.running.load(Ordering::SeqCst)
            == 3)
        .await
    );
    handles.extend(executor.enqueue_many(&task, 3..8).await.unwrap());
    assert!(
        eventually(Duration::from_secs(5), || g.running.load(Ordering::SeqCst)
            == 5)
        .await
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(g.running.load(Ordering::SeqCst), 5);
    assert_eq!(executor.running_execution_ids().len(), 5);
    for _ in 0..8 {
        g.release.add_permits(1);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(g.running.load(Ordering::SeqCst) <= 5);
    }
    for handle in handles {
        assert_eq!(
            handle.wait().await.unwrap().status,
            ExecutionStatus::Completed
        );
    }
    assert_eq!(g.peak.load(Ordering::SeqCst), 5);
    assert!(eventually(Duration::from_secs(5), || executor.stats().running == 0).await);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}
