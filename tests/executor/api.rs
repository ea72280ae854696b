//! The ergonomic API: typed handles, shared state, lifecycle events,
//! `run_until`, and the executor on a current-thread runtime.

use crate::common::{Factory, eventually, fast_options, start};
use durable_execution::model::{ErrorKind, ExecutionStatus, RetryOptions};
use durable_execution::{
    ExecutionEvent, ExecutionEventKind, ExecutionHandle, Executor, ExecutorError, FinalizeInput,
    ParentOutput, ParentTask, Sequence, Task, TaskContext, TaskError, TaskHandle,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn double() -> Task<u64, u64> {
    Task::new("double", |_ctx: TaskContext, x: u64| async move {
        Ok::<_, TaskError>(2 * x)
    })
}

/// `enqueue` returns a handle that decodes the task's output type:
/// simple tasks, parents with a finalize, sequences; a re-created handle
/// is typed too; a failure is `NotCompleted` with status and error.
pub async fn typed_handles(factory: Factory) {
    let storage = factory("typed_handles").await;
    let double = double();
    let sum = Task::new(
        "sum",
        |_ctx: TaskContext, done: FinalizeInput<u64, (), u64>| async move {
            Ok::<_, TaskError>(format!(
                "{} -> {}",
                done.input,
                done.children.iter().sum::<u64>()
            ))
        },
    );
    let children = double.clone();
    let fan_out = ParentTask::new("fan_out", move |_ctx: TaskContext, n: u64| {
        let spawned: Vec<_> = (1..=n).map(|i| children.child(i)).collect();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children(spawned)) }
    })
    .finalize(&sum);
    let chain = Sequence::new("double_twice", &double).then(&double);
    let fail = Task::new("fail", |_ctx: TaskContext, _: ()| async move {
        Err::<u8, _>(TaskError::non_retryable("no"))
    });
    let executor = start(&storage, |b| {
        b.register(&fan_out).register(&chain).register(&fail)
    });

    let doubled: TaskHandle<u64> = executor.enqueue(&double, 21).await.unwrap();
    assert_eq!(doubled.wait_output().await.unwrap(), 42);
    let summed = executor.enqueue(&fan_out, 3).await.unwrap();
    assert_eq!(summed.wait_output().await.unwrap(), "3 -> 12");
    let chained = executor.enqueue(&chain, 5).await.unwrap();
    assert_eq!(chained.wait_output().await.unwrap(), 20);

    // Re-created from an id (as another process would): still typed.
    let again = executor
        .handle(&fan_out, summed.execution_id())
        .await
        .unwrap();
    assert_eq!(again.wait_output().await.unwrap(), "3 -> 12");
    assert_eq!(
        again.wait().await.unwrap().status,
        ExecutionStatus::Completed
    );
    // The untyped handle for tools, by id alone.
    let untyped: ExecutionHandle = executor
        .execution_handle(doubled.execution_id())
        .await
        .unwrap();
    assert_eq!(untyped.task_id(), "double");
    assert_eq!(untyped.wait().await.unwrap().output::<u64>().unwrap(), 42);
    assert!(matches!(
        executor.execution_handle("te_missing").await,
        Err(ExecutorError::ExecutionNotFound { .. })
    ));

    let failed = executor.enqueue(&fail, ()).await.unwrap();
    match failed.wait_output().await {
        Err(ExecutorError::NotCompleted { status, error, .. }) => {
            assert_eq!(status, ExecutionStatus::Failed);
            assert_eq!(error.map(|e| e.message).as_deref(), Some("no"));
        }
        other => panic!("expected NotCompleted, got {other:?}"),
    }
    let many = executor.enqueue_many(&double, [1, 2, 3]).await.unwrap();
    let mut outputs = Vec::new();
    for handle in &many {
        outputs.push(handle.wait_output().await.unwrap());
    }
    assert_eq!(outputs, [2, 4, 6]);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A shared "client" registered once on the builder is read by type in a
/// parent and its children; a missing state type fails the run without
/// retry and names the type.
pub async fn shared_state(factory: Factory) {
    struct Client {
        calls: AtomicU32,
        prefix: &'static str,
    }
    struct Missing;
    let storage = factory("shared_state").await;
    let fetch = Task::new("fetch", |ctx: TaskContext, page: u32| async move {
        let client = ctx.state::<Client>()?;
        client.calls.fetch_add(1, Ordering::SeqCst);
        Ok::<_, TaskError>(format!("{}{page}", client.prefix))
    });
    let pages = fetch.clone();
    let crawl = ParentTask::new("crawl", move |ctx: TaskContext, n: u32| {
        let spawned: Vec<_> = (0..n).map(|page| pages.child(page)).collect();
        async move {
            let client = ctx.state::<Client>()?;
            client.calls.fetch_add(1, Ordering::SeqCst);
            Ok::<_, TaskError>(ParentOutput::new(n).children(spawned))
        }
    });
    let lost = Task::new("lost", |ctx: TaskContext, _: ()| async move {
        ctx.state::<Missing>()?;
        Ok::<_, TaskError>(())
    })
    .retry(RetryOptions {
        max_attempts: 3,
        ..Default::default()
    });
    let client = Arc::new(Client {
        calls: AtomicU32::new(0),
        prefix: "page-",
    });
    let executor = start(&storage, |b| {
        b.state_arc(client.clone())
            .state(7_u64)
            .register(&crawl)
            .register(&fetch)
            .register(&lost)
    });
    let done = executor
        .enqueue(&crawl, 3)
        .await
        .unwrap()
        .wait_output()
        .await
        .unwrap();
    assert_eq!(done.output, 3);
    let children: Vec<String> = done
        .children
        .iter()
        .map(|c| serde_json::from_value(c.clone()).unwrap())
        .collect();
    assert_eq!(children, ["page-0", "page-1", "page-2"]);
    assert_eq!(client.calls.load(Ordering::SeqCst), 4);

    let handle = executor.enqueue(&lost, ()).await.unwrap();
    let lost_run = handle.wait().await.unwrap();
    assert_eq!(lost_run.status, ExecutionStatus::Failed);
    assert_eq!(lost_run.attempt, 0, "a missing state is not retried");
    let error = lost_run.error.unwrap();
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert!(error.message.contains("Missing"), "{}", error.message);
    assert!(
        error.message.contains("ExecutorBuilder::state"),
        "{}",
        error.message
    );
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Waits until `events` holds `count` events of `execution_id`.
async fn events_of(
    events: &Mutex<Vec<ExecutionEvent>>,
    execution_id: &str,
    count: usize,
) -> Vec<ExecutionEvent> {
    let found = eventually(WAIT, || {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.execution_id == execution_id)
            .count()
            >= count
    })
    .await;
    let of: Vec<ExecutionEvent> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.execution_id == execution_id)
        .cloned()
        .collect();
    assert!(found, "expected {count} events, got {of:?}");
    of
}

fn kinds(events: &[ExecutionEvent]) -> Vec<ExecutionEventKind> {
    events.iter().map(|e| e.kind).collect()
}

/// Callbacks and `events()` receivers see started, retried, completed,
/// failed, timed out and cancelled executions (parents included), with
/// task id, attempt, duration and error.
pub async fn lifecycle_events(factory: Factory) {
    let storage = factory("lifecycle_events").await;
    let seen: Arc<Mutex<Vec<ExecutionEvent>>> = Arc::default();
    let flaky = Task::new("flaky", |ctx: TaskContext, _: ()| async move {
        if ctx.attempt() == 0 {
            return Err(TaskError::new("first attempt fails"));
        }
        Ok::<_, TaskError>("ok".to_owned())
    })
    .retry(RetryOptions {
        max_attempts: 1,
        ..Default::default()
    });
    let broken = Task::new("broken", |_ctx: TaskContext, _: ()| async move {
        Err::<(), _>(TaskError::non_retryable("broken"))
    });
    let slow = Task::new("slow", |_ctx: TaskContext, ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, TaskError>(())
    })
    .timeout(Duration::from_millis(50));
    let double = double();
    let children = double.clone();
    let parent = ParentTask::new("parent", move |_ctx: TaskContext, n: u64| {
        let spawned: Vec<_> = (0..n).map(|i| children.child(i)).collect();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children(spawned)) }
    });
    let total = Task::new(
        "total",
        |_ctx: TaskContext, done: FinalizeInput<u64, (), u64>| async move {
            Ok::<_, TaskError>(done.children.iter().sum::<u64>())
        },
    );
    let spawn = double.clone();
    let finalized = ParentTask::new("finalized", move |_ctx: TaskContext, n: u64| {
        let spawned: Vec<_> = (0..n).map(|i| spawn.child(i)).collect();
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children(spawned)) }
    })
    .finalize(&total);
    let failing = broken.clone();
    let doomed = ParentTask::new("doomed", move |_ctx: TaskContext, _: ()| {
        let spawned = vec![failing.child(())];
        async move { Ok::<_, TaskError>(ParentOutput::new(()).children(spawned)) }
    });
    let recorded = seen.clone();
    let executor = start(&storage, |b| {
        b.on_event(move |event| recorded.lock().unwrap().push(event.clone()))
            .on_event(|_| panic!("a panicking callback is ignored"))
            .register(&flaky)
            .register(&broken)
            .register(&slow)
            .register(&parent)
            .register(&double)
            .register(&finalized)
            .register(&doomed)
    });
    let mut receiver = executor.events();

    let handle = executor.enqueue(&flaky, ()).await.unwrap();
    assert_eq!(handle.wait_output().await.unwrap(), "ok");
    let events = events_of(&seen, handle.execution_id(), 4).await;
    use ExecutionEventKind::*;
    assert_eq!(kinds(&events), [Started, Retried, Started, Completed]);
    assert!(events.iter().all(|e| e.task_id == "flaky"));
    assert_eq!(
        events.iter().map(|e| e.attempt).collect::<Vec<_>>(),
        [0, 0, 1, 1]
    );
    assert_eq!(events[0].duration, None);
    assert!(events[1].duration.is_some() && events[3].duration.is_some());
    assert_eq!(
        events[1].error.as_ref().map(|e| e.message.as_str()),
        Some("first attempt fails")
    );
    // The receiver saw the same events, in order.
    let mut received = Vec::new();
    while received.len() < 4 {
        let event = tokio::time::timeout(WAIT, receiver.recv())
            .await
            .unwrap()
            .unwrap();
        received.push(event);
    }
    assert_eq!(received, events);

    let handle = executor.enqueue(&broken, ()).await.unwrap();
    handle.wait().await.unwrap();
    let events = events_of(&seen, handle.execution_id(), 2).await;
    assert_eq!(kinds(&events), [Started, Failed]);
    assert_eq!(
        events[1].error.as_ref().map(|e| e.message.as_str()),
        Some("broken")
    );

    let handle = executor.enqueue(&slow, 10_000).await.unwrap();
    handle.wait().await.unwrap();
    let events = events_of(&seen, handle.execution_id(), 2).await;
    assert_eq!(kinds(&events), [Started, TimedOut]);

    let handle = executor.enqueue(&parent, 2).await.unwrap();
    handle.wait().await.unwrap();
    let events = events_of(&seen, handle.execution_id(), 2).await;
    assert_eq!(kinds(&events), [Started, Completed]);
    assert_eq!(events[1].task_id, "parent");
    let children = handle.children().await.unwrap();
    for child in &children {
        let events = events_of(&seen, &child.execution_id, 2).await;
        assert_eq!(kinds(&events), [Started, Completed]);
    }

    // Completed through its finalize, failed by its child: the closer's
    // changes.
    let handle = executor.enqueue(&finalized, 3).await.unwrap();
    assert_eq!(handle.wait_output().await.unwrap(), 6);
    let events = events_of(&seen, handle.execution_id(), 2).await;
    assert_eq!(kinds(&events), [Started, Completed]);
    assert!(events[1].duration.is_some());
    let handle = executor.enqueue(&doomed, ()).await.unwrap();
    handle.wait().await.unwrap();
    let events = events_of(&seen, handle.execution_id(), 2).await;
    assert_eq!(kinds(&events), [Started, Failed]);
    assert_eq!(events[1].task_id, "doomed");
    assert!(events[1].error.is_some(), "{events:?}");

    // Cancelled through a handle of this executor (before it ran: the
    // execution starts one hour from now).
    let later = executor
        .enqueue_with(
            &slow,
            1,
            durable_execution::EnqueueOptions::new().sleep_before_run(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    later.cancel().await.unwrap();
    let events = events_of(&seen, later.execution_id(), 1).await;
    assert_eq!(kinds(&events), [Cancelled]);
    assert_eq!(events[0].task_id, "slow");
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// `run_until` starts the executor, runs work until the signal future
/// resolves, shuts down and returns the signal's output.
pub async fn run_until_signal(factory: Factory) {
    let storage = factory("run_until_signal").await;
    let double = double();
    let executor = Executor::builder(storage)
        .options(fast_options().build().unwrap())
        .register(&double)
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<&'static str>();
    let service = executor.clone();
    let running = tokio::spawn(async move {
        service
            .run_until(
                async { stopped.await.unwrap_or("dropped") },
                Duration::from_secs(5),
            )
            .await
    });
    let handle = executor.enqueue(&double, 4).await.unwrap();
    assert_eq!(handle.wait_output().await.unwrap(), 8);
    assert!(!executor.is_shutdown());
    stop.send("stop").unwrap();
    assert_eq!(running.await.unwrap().unwrap(), "stop");
    assert!(executor.is_shutdown());
    assert!(matches!(
        executor.enqueue(&double, 1).await,
        Err(ExecutorError::Shutdown)
    ));
}
