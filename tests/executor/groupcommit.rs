//! Group commit of single enqueues (`src/executor/runtime/enqueue.rs`):
//! callers arriving while an insert is in flight share the next insert, each
//! gets its own result, and an idle caller inserts on its own, right away.
//!
//! The batching scenarios run on a current-thread runtime: a spawned
//! caller has queued its execution once it has been polled (nothing awaits
//! between the check of the batcher and the push), so counting the callers
//! that started is an exact barrier, not a sleep.

use crate::common::{Factory, start};
use async_trait::async_trait;
use durable_execution::model::{ExecutionStatus, NewExecution};
use durable_execution::storage::{Storage, StorageError, StorageResult, StorageWrapper};
use durable_execution::{
    EnqueueOptions, Executor, ExecutorError, SleepingTask, Task, TaskContext, TaskError, TaskHandle,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

/// Records every insert (its size and the task that made it) and holds the
/// first one until [`Gated::release`].
#[derive(Debug)]
struct Gated {
    inner: Arc<Dyn>,
    inserts: Mutex<Vec<(usize, Option<tokio::task::Id>)>>,
    hold_first: bool,
    /// Signalled when the held insert arrived.
    arrived: Notify,
    gate: Semaphore,
}

type Dyn = dyn Storage;

impl Gated {
    fn new(inner: Arc<dyn Storage>, hold_first: bool) -> Arc<Self> {
        Arc::new(Self {
            inner,
            inserts: Mutex::new(Vec::new()),
            hold_first,
            arrived: Notify::new(),
            gate: Semaphore::new(0),
        })
    }

    fn release(&self) {
        self.gate.add_permits(1);
    }

    fn sizes(&self) -> Vec<usize> {
        self.inserts
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| *n)
            .collect()
    }
}

#[async_trait]
impl StorageWrapper for Gated {
    fn inner(&self) -> &dyn Storage {
        &*self.inner
    }
    async fn insert(&self, executions: &[NewExecution]) -> StorageResult<()> {
        let first = {
            let mut inserts = self.inserts.lock().unwrap();
            inserts.push((executions.len(), tokio::task::try_id()));
            inserts.len() == 1
        };
        if first && self.hold_first {
            self.arrived.notify_one();
            let _permit = self.gate.acquire().await.unwrap();
        }
        self.inner.insert(executions).await
    }
}

/// Polls the current-thread runtime's other tasks until `count` reached `n`.
async fn until_started(count: &AtomicUsize, n: usize) {
    for _ in 0..100_000 {
        if count.load(Ordering::SeqCst) >= n {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!(
        "only {} of {n} callers started",
        count.load(Ordering::SeqCst)
    );
}

/// Spawns one caller per input, each enqueueing one `echo` execution and
/// counting itself in `started` first (see [`until_started`]).
fn spawn_echo_callers(
    executor: &Executor,
    task: &Task<u32, u32>,
    started: &Arc<AtomicUsize>,
    inputs: impl IntoIterator<Item = u32>,
) -> Vec<JoinHandle<Result<TaskHandle<u32>, ExecutorError>>> {
    inputs
        .into_iter()
        .map(|i| {
            let (executor, task, started) = (executor.clone(), task.clone(), started.clone());
            tokio::spawn(async move {
                started.fetch_add(1, Ordering::SeqCst);
                executor.enqueue(&task, i).await
            })
        })
        .collect()
}

fn echo() -> Task<u32, u32> {
    Task::new("echo", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n)
    })
}

/// 64 callers: the first inserts alone (held in flight), the 63 that arrive
/// meanwhile share the next insert; every one gets its own handle, every
/// execution runs once with its own input.
pub async fn concurrent_enqueues_share_one_insert(factory: Factory) {
    let base = factory("concurrent_enqueues_share_one_insert").await;
    let gated = Gated::new(base.clone(), true);
    let storage: Arc<dyn Storage> = gated.clone();
    let task = echo();
    let executor = start(&storage, |b| b.register(&task));
    let first = {
        let (executor, task) = (executor.clone(), task.clone());
        tokio::spawn(async move { executor.enqueue(&task, 0).await })
    };
    gated.arrived.notified().await;
    let started = Arc::new(AtomicUsize::new(0));
    let others = spawn_echo_callers(&executor, &task, &started, 1..64u32);
    until_started(&started, 63).await;
    gated.release();
    let mut handles = vec![first.await.unwrap().unwrap()];
    for other in others {
        handles.push(other.await.unwrap().unwrap());
    }
    assert_eq!(gated.sizes(), vec![1, 63]);
    for (i, handle) in handles.iter().enumerate() {
        let done = tokio::time::timeout(Duration::from_secs(20), handle.wait_output())
            .await
            .expect("finishes")
            .unwrap();
        assert_eq!(done, i as u32);
    }
    let total: u64 = base
        .stats(0)
        .await
        .unwrap()
        .counts
        .iter()
        .map(|c| c.2)
        .sum();
    assert_eq!(total, 64);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A batch with executions the storage refuses (a sleeping key already in
/// use, the same key twice): those callers fail with their own error, every
/// other caller of the batch succeeds.
pub async fn a_refused_enqueue_fails_only_its_caller(factory: Factory) {
    let base = factory("a_refused_enqueue_fails_only_its_caller").await;
    let gated = Gated::new(base.clone(), true);
    let storage: Arc<dyn Storage> = gated.clone();
    let task = echo();
    let hook: SleepingTask<u32> = SleepingTask::new("hook", Duration::from_secs(600));
    let executor = start(&storage, |b| b.register(&task).register(&hook));
    // The held first insert: a sleeping execution under key `taken`.
    let first = {
        let (executor, hook) = (executor.clone(), hook.clone());
        tokio::spawn(async move { executor.enqueue_sleeping(&hook, "taken").await })
    };
    gated.arrived.notified().await;
    let started = Arc::new(AtomicUsize::new(0));
    let plain = spawn_echo_callers(&executor, &task, &started, 0..10u32);
    let sleeping: Vec<_> = ["taken", "fresh", "fresh"]
        .into_iter()
        .map(|key| {
            let (executor, hook, started) = (executor.clone(), hook.clone(), started.clone());
            tokio::spawn(async move {
                started.fetch_add(1, Ordering::SeqCst);
                executor
                    .enqueue_with(&hook, (), EnqueueOptions::new().sleeping_key(key))
                    .await
            })
        })
        .collect();
    until_started(&started, 13).await;
    gated.release();
    first.await.unwrap().unwrap();
    let is_duplicate_key = |e: &ExecutorError| {
        matches!(
            e,
            ExecutorError::Storage {
                source: StorageError::DuplicateSleepingKey { .. },
                ..
            }
        )
    };
    let mut results = Vec::new();
    for handle in sleeping {
        results.push(handle.await.unwrap());
    }
    let taken = results.remove(0);
    assert!(is_duplicate_key(taken.as_ref().unwrap_err()), "{taken:?}");
    let fresh_ok = results.iter().filter(|r| r.is_ok()).count();
    let fresh_dup = results
        .iter()
        .filter(|r| r.as_ref().is_err_and(is_duplicate_key))
        .count();
    assert_eq!((fresh_ok, fresh_dup), (1, 1), "{results:?}");
    for (i, handle) in plain.into_iter().enumerate() {
        let handle = handle.await.unwrap().unwrap();
        let done = tokio::time::timeout(Duration::from_secs(20), handle.wait_output())
            .await
            .expect("finishes")
            .unwrap();
        assert_eq!(done, i as u32);
    }
    // The held insert, the batch of 13 (refused), then each on its own.
    let sizes = gated.sizes();
    assert_eq!(sizes[..2], [1, 13], "{sizes:?}");
    assert_eq!(sizes[2..], [1; 13], "{sizes:?}");
    let stats = base.stats(0).await.unwrap();
    let count = |task: &str, status: ExecutionStatus| {
        stats
            .counts
            .iter()
            .filter(|(t, s, _)| t == task && *s == status)
            .map(|c| c.2)
            .sum::<u64>()
    };
    assert_eq!(count("echo", ExecutionStatus::Completed), 10);
    assert_eq!(count("hook", ExecutionStatus::Sleeping), 2);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A caller that stops waiting (its task aborted) while its own insert is
/// in flight does not strand the callers queued behind it.
pub async fn a_dropped_caller_does_not_strand_the_queue(factory: Factory) {
    let base = factory("a_dropped_caller_does_not_strand_the_queue").await;
    let gated = Gated::new(base.clone(), true);
    let storage: Arc<dyn Storage> = gated.clone();
    let task = echo();
    let executor = start(&storage, |b| b.register(&task));
    let first = {
        let (executor, task) = (executor.clone(), task.clone());
        tokio::spawn(async move { executor.enqueue(&task, 100).await })
    };
    gated.arrived.notified().await;
    let started = Arc::new(AtomicUsize::new(0));
    let others = spawn_echo_callers(&executor, &task, &started, 0..5u32);
    until_started(&started, 5).await;
    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    for (i, other) in others.into_iter().enumerate() {
        let handle = other.await.unwrap().unwrap();
        let done = tokio::time::timeout(Duration::from_secs(20), handle.wait_output())
            .await
            .expect("finishes")
            .unwrap();
        assert_eq!(done, i as u32);
    }
    // The aborted caller's insert never reached the storage.
    assert_eq!(gated.sizes(), vec![1, 5]);
    let total: u64 = base
        .stats(0)
        .await
        .unwrap()
        .counts
        .iter()
        .map(|c| c.2)
        .sum();
    assert_eq!(total, 5);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// On an idle executor each enqueue inserts its own execution from the
/// caller's own task, one insert per call (no hand-over, no timer).
pub async fn an_idle_enqueue_inserts_from_its_caller(factory: Factory) {
    let base = factory("an_idle_enqueue_inserts_from_its_caller").await;
    let gated = Gated::new(base, false);
    let storage: Arc<dyn Storage> = gated.clone();
    let task = echo();
    let executor = start(&storage, |b| b.register(&task));
    for i in 0..5u32 {
        let (executor, task) = (executor.clone(), task.clone());
        let caller = tokio::spawn(async move {
            let handle = executor.enqueue(&task, i).await.unwrap();
            (tokio::task::id(), handle)
        });
        let (caller_id, handle) = caller.await.unwrap();
        let inserts = gated.inserts.lock().unwrap().clone();
        assert_eq!(inserts.len(), i as usize + 1);
        assert_eq!(inserts.last(), Some(&(1, Some(caller_id))));
        assert_eq!(handle.wait_output().await.unwrap(), i);
    }
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Many callers on the multi-thread runtime, each enqueueing in a loop:
/// every enqueue succeeds, every execution runs once, and they shared
/// inserts (fewer inserts than enqueues is not asserted: scheduling
/// decides how many overlap; the count of rows is).
pub async fn many_callers_in_a_loop(factory: Factory) {
    let base = factory("many_callers_in_a_loop").await;
    let gated = Gated::new(base.clone(), false);
    let storage: Arc<dyn Storage> = gated.clone();
    let task = echo();
    let executor = start(&storage, |b| b.register(&task));
    let callers: Vec<_> = (0..16u32)
        .map(|c| {
            let (executor, task) = (executor.clone(), task.clone());
            tokio::spawn(async move {
                let mut handles = Vec::new();
                for k in 0..20u32 {
                    handles.push((c * 100 + k, executor.enqueue(&task, c * 100 + k).await?));
                }
                Ok::<_, ExecutorError>(handles)
            })
        })
        .collect();
    let mut handles = Vec::new();
    for caller in callers {
        handles.extend(caller.await.unwrap().unwrap());
    }
    assert_eq!(handles.len(), 320);
    for (input, handle) in &handles {
        let done = tokio::time::timeout(Duration::from_secs(30), handle.wait_output())
            .await
            .expect("finishes")
            .unwrap();
        assert_eq!(done, *input);
    }
    assert_eq!(gated.sizes().iter().sum::<usize>(), 320);
    let total: u64 = base
        .stats(0)
        .await
        .unwrap()
        .counts
        .iter()
        .map(|c| c.2)
        .sum();
    assert_eq!(total, 320);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
