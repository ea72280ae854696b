//! A late result never overwrites a cancellation.

use crate::common::{Backend, SharedDb, eventually, fast_options};
use crate::recording::Recording;
use durable_execution::model::{ErrorKind, ExecutionStatus};
use durable_execution::storage::Storage;
use durable_execution::{Executor, Task, TaskContext, TaskError, WaitOptions};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// A run that ignores its cancellation token (it blocks its thread, so the
/// executor cannot drop it) is cancelled from another storage handle while
/// it runs, then returns a result. The executor does try to write that
/// result (`finish` with `completed`), the guarded write matches nothing,
/// and the execution stays `cancelled` with no output, closed.
pub async fn late_result_never_overwrites_cancel(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let recording = Arc::new(Recording::new(db.handle().await));
    let storage: Arc<dyn Storage> = recording.clone();
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let returned = Arc::new(AtomicU32::new(0));
    let r = returned.clone();
    let task = Task::new("stubborn", move |ctx: TaskContext, _: ()| {
        let (started_tx, release_rx, r) = (started_tx.clone(), release_rx.clone(), r.clone());
        async move {
            started_tx.send(ctx.execution_id().to_owned()).unwrap();
            // Never looks at `ctx.cancellation()`: blocks until released.
            let released = tokio::task::block_in_place(|| {
                release_rx
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(20))
            });
            released.expect("released by the test");
            r.fetch_add(1, Ordering::SeqCst);
            Ok::<_, TaskError>("late result".to_owned())
        }
    });
    let executor = Executor::builder(storage)
        .options(fast_options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();
    executor.start().unwrap();
    // Another client with its own storage handle (another process, say).
    let client = Executor::builder(db.handle().await)
        .options(fast_options().build().unwrap())
        .register(&task)
        .build()
        .unwrap();

    let handle = executor.enqueue(&task, ()).await.unwrap();
    let id = tokio::time::timeout(Duration::from_secs(10), started_rx.recv())
        .await
        .expect("the run starts")
        .unwrap();
    assert_eq!(id, handle.execution_id());
    let remote = client.handle(&task, &id).await.unwrap();
    assert_eq!(remote.get().await.unwrap().status, ExecutionStatus::Running);
    remote.cancel().await.unwrap();
    assert_eq!(
        remote.get().await.unwrap().status,
        ExecutionStatus::Cancelled
    );

    // The run returns after the cancellation and its result is written.
    release_tx.send(()).unwrap();
    assert!(
        eventually(Duration::from_secs(10), async || {
            !recording.finishes_of(&id).is_empty()
        })
        .await,
        "the executor never wrote the late result"
    );
    assert_eq!(returned.load(Ordering::SeqCst), 1);
    let attempts = recording.finishes_of(&id);
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].status, ExecutionStatus::Completed);
    assert_eq!(attempts[0].output.as_deref(), Some("\"late result\""));
    assert!(!attempts[0].matched, "the late result overwrote the cancel");

    // The execution stays cancelled, is closed, and the run is forgotten.
    let done = remote
        .wait_with(WaitOptions::new().timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled);
    assert!(
        eventually(Duration::from_secs(10), async || {
            executor.running_execution_ids().is_empty() && remote.get().await.unwrap().is_closed
        })
        .await
    );
    let done = remote.get().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled);
    let error = done.error.clone().unwrap();
    assert_eq!(error.message, "Task cancelled");
    assert_eq!(error.kind, ErrorKind::Cancelled);
    assert!(!error.is_retryable);
    assert!(done.output.is_none(), "{done:?}");
    assert!(done.run_output.is_none(), "{done:?}");
    assert!(done.started_at.is_some() && done.finished_at.is_some());

    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
