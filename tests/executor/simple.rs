//! Simple tasks: outputs, errors, retries, timeouts, cancellation (docs/design.md).

use crate::common::{Counter, Factory, eventually, fast_options, start, start_with};
use durable_execution::model::{ErrorKind, ExecutionStatus, RetryOptions, now_millis};
use durable_execution::{EnqueueOptions, Executor, ExecutorError, Task, TaskContext, TaskError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn retry(max_attempts: u32) -> RetryOptions {
    RetryOptions {
        max_attempts,
        ..Default::default()
    }
}

/// T1/T2/X1: a task completes with its output.
pub async fn completes_with_output(factory: Factory) {
    let storage = factory("completes_with_output").await;
    let calls = Counter::new();
    let c = calls.clone();
    let hello = Task::new("hello", move |_ctx: TaskContext, name: String| {
        let c = c.clone();
        async move {
            c.hit();
            Ok::<_, TaskError>(format!("Hello, {name}!"))
        }
    });
    let executor = start(&storage, |b| b.register(&hello));
    let handle = executor.enqueue(&hello, "world".to_owned()).await.unwrap();
    assert!(handle.execution_id().starts_with("te_"));
    assert_eq!(handle.task_id(), "hello");
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(done.output::<String>().unwrap(), "Hello, world!");
    assert_eq!(done.input::<String>().unwrap(), "world");
    assert_eq!(calls.get(), 1);
    assert!(done.finished_at.unwrap() >= done.started_at.unwrap());
    assert!(done.error.is_none());
    assert_eq!(done.attempt, 0);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T7: a failing task without retries ends `failed` with a retryable generic error.
pub async fn error_fails_execution(factory: Factory) {
    let storage = factory("error_fails_execution").await;
    let calls = Counter::new();
    let c = calls.clone();
    let task = Task::new("test", move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            Err::<(), _>(TaskError::new("Test error"))
        }
    });
    let executor = start(&storage, |b| b.register(&task));
    let done = executor
        .enqueue(&task, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    let error = done.error.clone().unwrap();
    assert_eq!(error.message, "Test error");
    assert_eq!(error.kind, ErrorKind::Generic);
    assert!(error.is_retryable);
    assert_eq!(calls.get(), 1);
    let err = done.output::<()>().unwrap_err();
    assert!(err.to_string().contains("Test error"), "{err}");
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T8/T9/T10/D3: retries count retries, not runs; non-retryable errors are not retried.
pub async fn retries_then_completes_or_fails(factory: Factory) {
    let storage = factory("retries_then_completes_or_fails").await;
    let flaky_calls = Counter::new();
    let c = flaky_calls.clone();
    let flaky = Task::new("flaky", move |ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            if ctx.attempt() < 2 {
                return Err(TaskError::new(format!("Test error {}", ctx.attempt())));
            }
            Ok("Success".to_owned())
        }
    })
    .retry(retry(3));
    let always_calls = Counter::new();
    let c = always_calls.clone();
    let always = Task::new("always", move |ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            Err::<(), _>(TaskError::new(format!("Test error {}", ctx.attempt())))
        }
    })
    .retry(retry(1));
    let fatal_calls = Counter::new();
    let c = fatal_calls.clone();
    let fatal = Task::new("fatal", move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            Err::<(), _>(TaskError::non_retryable("fatal"))
        }
    })
    .retry(retry(5));
    let executor = start(&storage, |b| {
        b.register(&flaky).register(&always).register(&fatal)
    });
    let h1 = executor.enqueue(&flaky, ()).await.unwrap();
    let h2 = executor.enqueue(&always, ()).await.unwrap();
    let h3 = executor.enqueue(&fatal, ()).await.unwrap();
    let d1 = h1.wait().await.unwrap();
    assert_eq!(d1.status, ExecutionStatus::Completed);
    assert_eq!(d1.output::<String>().unwrap(), "Success");
    assert_eq!(d1.attempt, 2);
    assert_eq!(flaky_calls.get(), 3);
    let d2 = h2.wait().await.unwrap();
    assert_eq!(d2.status, ExecutionStatus::Failed);
    assert_eq!(d2.error.unwrap().message, "Test error 1");
    assert_eq!(always_calls.get(), 2);
    let d3 = h3.wait().await.unwrap();
    assert_eq!(d3.status, ExecutionStatus::Failed);
    assert!(!d3.error.unwrap().is_retryable);
    assert_eq!(fatal_calls.get(), 1);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T11: an attempt over its timeout ends `timed_out`, and the run's token fires.
pub async fn timeout_ends_timed_out(factory: Factory) {
    let storage = factory("timeout_ends_timed_out").await;
    let token_fired = Arc::new(Mutex::new(None));
    let seen = token_fired.clone();
    let task = Task::new("test", move |ctx: TaskContext, _: ()| {
        let seen = seen.clone();
        async move {
            let token = ctx.cancellation().clone();
            *seen.lock().unwrap() = Some(token);
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, TaskError>(())
        }
    })
    .timeout(Duration::from_millis(10));
    let executor = start(&storage, |b| b.register(&task));
    let done = executor
        .enqueue(&task, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::TimedOut);
    let error = done.error.unwrap();
    assert_eq!(error.message, "Task timed out");
    assert_eq!(error.kind, ErrorKind::TimedOut);
    assert!(error.is_retryable);
    let token = token_fired.lock().unwrap().clone().unwrap();
    assert!(token.is_cancelled());
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T12: an enqueue override of the timeout replaces the default.
pub async fn timeout_override_at_enqueue(factory: Factory) {
    let storage = factory("timeout_override_at_enqueue").await;
    let calls = Counter::new();
    let c = calls.clone();
    let task = Task::new("test", move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, TaskError>("done".to_owned())
        }
    })
    .timeout(Duration::from_millis(10))
    .retry(retry(1));
    let executor = start(&storage, |b| b.register(&task));
    let handle = executor
        .enqueue_with(
            &task,
            (),
            EnqueueOptions::new().timeout(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(done.timeout_ms, 1000);
    assert_eq!(calls.get(), 1);
    // Overrides are validated.
    let err = executor
        .enqueue_with(&task, (), EnqueueOptions::new().timeout(Duration::ZERO))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Invalid timeout value for task test"),
        "{err}"
    );
    let err = executor
        .enqueue_with(&task, (), EnqueueOptions::new().retry(retry(5000)))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Invalid retry options for task test"),
        "{err}"
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T13/T22: invalid definitions are rejected when the executor is built.
pub async fn invalid_definitions_are_rejected(factory: Factory) {
    let storage = factory("invalid_definitions_are_rejected").await;
    let noop = |_ctx: TaskContext, _: ()| async { Ok::<_, TaskError>(()) };
    let bad_timeout = Task::new("test", noop).timeout(Duration::ZERO);
    let err = Executor::builder(storage.clone())
        .register(&bad_timeout)
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Invalid timeout value for task test"),
        "{err}"
    );
    let bad_retry = Task::new("test", noop).retry(retry(1001));
    let err = Executor::builder(storage.clone())
        .register(&bad_retry)
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Invalid retry options for task test"),
        "{err}"
    );
    for (id, message) in [
        ("", "Task id cannot be empty"),
        (
            "invalid-id",
            "Task id can only contain alphanumeric characters and underscores",
        ),
        (
            "invalid id",
            "Task id can only contain alphanumeric characters and underscores",
        ),
        (
            "$invalid_id",
            "Task id can only contain alphanumeric characters and underscores",
        ),
    ] {
        let task = Task::new(id, noop);
        let err = Executor::builder(storage.clone())
            .register(&task)
            .build()
            .unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    let long = Task::new("a".repeat(256), noop);
    let err = Executor::builder(storage.clone())
        .register(&long)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Task id cannot be longer than 255 characters"
    );
    assert!(Task::new("valid_id", noop).validate().is_ok());
}

/// T14/T16: cancelling before the first run: never runs, `started_at` stays unset.
pub async fn cancel_before_run(factory: Factory) {
    let storage = factory("cancel_before_run").await;
    let calls = Counter::new();
    let c = calls.clone();
    let task = Task::new("test", move |_ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            Ok::<_, TaskError>(())
        }
    })
    .sleep_before_run(Duration::from_millis(300));
    let executor = start(&storage, |b| b.register(&task));
    let handle = executor.enqueue(&task, ()).await.unwrap();
    let (a, b, c) = tokio::join!(handle.cancel(), handle.cancel(), handle.cancel());
    a.unwrap();
    b.unwrap();
    c.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled);
    let error = done.error.clone().unwrap();
    assert_eq!(error.message, "Task cancelled");
    assert_eq!(error.kind, ErrorKind::Cancelled);
    assert!(!error.is_retryable);
    assert!(done.started_at.is_none());
    assert!(done.finished_at.is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(calls.get(), 0);
    // Cancelling a finished execution is a no-op.
    handle.cancel().await.unwrap();
    assert_eq!(
        handle.get().await.unwrap().status,
        ExecutionStatus::Cancelled
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T15/T17: cancelling a running execution fires its token and frees the slot.
pub async fn cancel_while_running(factory: Factory) {
    let storage = factory("cancel_while_running").await;
    let calls = Counter::new();
    let observed = Counter::new();
    let (c, o) = (calls.clone(), observed.clone());
    let task = Task::new("test", move |ctx: TaskContext, _: ()| {
        let (c, o) = (c.clone(), o.clone());
        async move {
            c.hit();
            let token = ctx.cancellation().clone();
            tokio::spawn(async move {
                token.cancelled().await;
                o.hit();
            });
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, TaskError>(())
        }
    })
    .timeout(Duration::from_secs(20));
    let executor = start(&storage, |b| b.register(&task));
    let handle = executor.enqueue(&task, ()).await.unwrap();
    let id = handle.execution_id().to_owned();
    // Running means its body has started: an enqueue that claimed lists
    // the run before the body is first polled, and a cancellation that
    // comes first ends the run without calling the body at all.
    assert!(
        eventually(Duration::from_secs(5), || calls.get() == 1
            && executor.running_execution_ids().contains(&id))
        .await
    );
    let started = Instant::now();
    let (a, b) = tokio::join!(handle.cancel(), handle.cancel());
    a.unwrap();
    b.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled);
    assert_eq!(done.error.unwrap().message, "Task cancelled");
    assert!(done.started_at.is_some());
    assert!(eventually(Duration::from_secs(5), || observed.get() == 1).await);
    assert!(
        eventually(Duration::from_secs(5), || executor
            .running_execution_ids()
            .is_empty())
        .await
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(calls.get(), 1);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T18/X6: the context carries ids, the attempt and the previous error.
pub async fn context_carries_attempt_and_prev_error(factory: Factory) {
    let storage = factory("context_carries_attempt_and_prev_error").await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let task = Task::new("test", move |ctx: TaskContext, _: ()| {
        let s = s.clone();
        async move {
            s.lock().unwrap().push((
                ctx.task_id().to_owned(),
                ctx.execution_id().to_owned(),
                ctx.attempt(),
                ctx.prev_error().map(|e| e.message.clone()),
            ));
            Err::<(), _>(TaskError::new("Test error"))
        }
    })
    .retry(retry(1));
    let executor = start(&storage, |b| b.register(&task));
    let handle = executor.enqueue(&task, ()).await.unwrap();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("test".to_owned(), handle.execution_id().to_owned(), 0, None),
            (
                "test".to_owned(),
                handle.execution_id().to_owned(),
                1,
                Some("Test error".to_owned())
            ),
        ]
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T19/T21: the initial sleep delays the first run only; retries without a
/// delay follow immediately.
pub async fn sleep_before_first_run_only(factory: Factory) {
    let storage = factory("sleep_before_first_run_only").await;
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    let task = Task::new("test", move |_ctx: TaskContext, _: ()| {
        let t = t.clone();
        async move {
            t.lock().unwrap().push(now_millis());
            Err::<(), _>(TaskError::new("Test error"))
        }
    })
    .sleep_before_run(Duration::from_millis(250))
    .retry(retry(1));
    let executor = start(&storage, |b| b.register(&task));
    let done = executor
        .enqueue(&task, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    let times = times.lock().unwrap().clone();
    assert_eq!(times.len(), 2);
    assert!(times[0] >= done.created_at + 250);
    assert!(done.started_at.unwrap() >= done.created_at + 250);
    assert!(times[1] - times[0] < 250, "{times:?}");
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// X5: exponential backoff between retries.
pub async fn retry_backoff_delays(factory: Factory) {
    let storage = factory("retry_backoff_delays").await;
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = times.clone();
    let task = Task::new("test", move |ctx: TaskContext, _: ()| {
        let t = t.clone();
        async move {
            t.lock().unwrap().push(Instant::now());
            if ctx.attempt() < 2 {
                return Err(TaskError::new("not yet"));
            }
            Ok(serde_json::json!({ "totalAttempts": ctx.attempt() + 1 }))
        }
    })
    .retry(RetryOptions {
        max_attempts: 5,
        base_delay_ms: Some(100),
        delay_multiplier: Some(1.5),
        max_delay_ms: Some(1000),
        jitter: None,
    });
    let executor = start(&storage, |b| b.register(&task));
    let done = executor
        .enqueue(&task, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(
        done.output::<serde_json::Value>().unwrap()["totalAttempts"],
        3
    );
    let times = times.lock().unwrap().clone();
    // `start_at` is stored in whole milliseconds of the wall clock (the
    // failure time rounded down), so a retry may start up to 1 ms before
    // the delay has passed on the monotonic clock measured here.
    let tolerance = Duration::from_millis(1);
    assert!(
        times[1] - times[0] >= Duration::from_millis(100) - tolerance,
        "{:?}",
        times[1] - times[0]
    );
    assert!(
        times[2] - times[1] >= Duration::from_millis(150) - tolerance,
        "{:?}",
        times[2] - times[1]
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A panicking task fails its execution; the executor keeps running.
pub async fn panic_fails_execution_only(factory: Factory) {
    let storage = factory("panic_fails_execution_only").await;
    let task = Task::new("test", |_ctx: TaskContext, boom: bool| async move {
        if boom {
            panic!("kaboom");
        }
        Ok::<_, TaskError>("fine".to_owned())
    });
    let executor = start(&storage, |b| b.register(&task));
    let bad = executor
        .enqueue(&task, true)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(bad.status, ExecutionStatus::Failed);
    let message = bad.error.unwrap().message;
    assert!(
        message.contains("panicked") && message.contains("kaboom"),
        "{message}"
    );
    let good = executor
        .enqueue(&task, false)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(good.output::<String>().unwrap(), "fine");
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// T24: a task that sees the shutdown token and returns a cancelled error
/// ends `cancelled`, quickly.
pub async fn shutdown_token_lets_task_cancel_itself(factory: Factory) {
    let storage = factory("shutdown_token_lets_task_cancel_itself").await;
    let task = Task::new("test", |ctx: TaskContext, _: ()| async move {
        for _ in 0..40 {
            if ctx.is_shutting_down() {
                return Err(TaskError::cancelled("Task cancelled"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    })
    .timeout(Duration::from_secs(20));
    let executor = start(&storage, |b| b.register(&task));
    let handle = executor.enqueue(&task, ()).await.unwrap();
    let id = handle.execution_id().to_owned();
    assert!(
        eventually(Duration::from_secs(5), || executor
            .running_execution_ids()
            .contains(&id))
        .await
    );
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
    let done = handle.get().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Cancelled);
    assert_eq!(done.error.unwrap().message, "Task cancelled");
    assert!(done.finished_at.unwrap() - done.started_at.unwrap() < 2000);
}

/// E2: at shutdown, running tasks finish within the grace period and their
/// results are written.
pub async fn shutdown_writes_results_of_finishing_tasks(factory: Factory) {
    let storage = factory("shutdown_writes_results_of_finishing_tasks").await;
    let calls = Counter::new();
    let c = calls.clone();
    let task = Task::new("test", move |ctx: TaskContext, _: ()| {
        let c = c.clone();
        async move {
            c.hit();
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok::<_, TaskError>(if ctx.is_shutting_down() {
                "test cancelled".to_owned()
            } else {
                "test".to_owned()
            })
        }
    })
    .timeout(Duration::from_secs(10));
    let executor = start(&storage, |b| b.register(&task));
    let handle = executor.enqueue(&task, ()).await.unwrap();
    let id = handle.execution_id().to_owned();
    assert!(
        eventually(Duration::from_secs(5), || executor
            .running_execution_ids()
            .contains(&id))
        .await
    );
    assert_eq!(handle.get().await.unwrap().status, ExecutionStatus::Running);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
    let done = handle.get().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed);
    assert_eq!(done.output::<String>().unwrap(), "test cancelled");
    assert_eq!(calls.get(), 1);
    assert!(done.finished_at.unwrap() >= done.started_at.unwrap());
}

/// Shutdown gives back executions that do not finish within the grace
/// period; another executor then runs them (same attempt).
pub async fn shutdown_releases_unfinished_runs(factory: Factory) {
    let storage = factory("shutdown_releases_unfinished_runs").await;
    let first_token = Arc::new(Mutex::new(None));
    let ft = first_token.clone();
    let stubborn = Task::new("stubborn", move |ctx: TaskContext, _: ()| {
        let ft = ft.clone();
        async move {
            *ft.lock().unwrap() = Some(ctx.cancellation().clone());
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok::<_, TaskError>("first".to_owned())
        }
    })
    .timeout(Duration::from_secs(60));
    let executor = start(&storage, |b| b.register(&stubborn));
    let handle = executor.enqueue(&stubborn, ()).await.unwrap();
    let id = handle.execution_id().to_owned();
    assert!(
        eventually(Duration::from_secs(5), || executor
            .running_execution_ids()
            .contains(&id))
        .await
    );
    let started = Instant::now();
    executor.shutdown(Duration::from_millis(100)).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let released = handle.get().await.unwrap();
    assert_eq!(released.status, ExecutionStatus::Ready);
    assert_eq!(released.attempt, 0);
    assert!(released.executor_id.is_none());
    assert!(first_token.lock().unwrap().clone().unwrap().is_cancelled());

    let quick = Task::new("stubborn", |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>("second".to_owned())
    });
    let second = start(&storage, |b| b.register(&quick));
    let done = second
        .handle(&quick, &id)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(done.output::<String>().unwrap(), "second");
    assert_eq!(done.attempt, 0);
    second.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// A stored input that does not match the task's input type fails that
/// execution without retry, with a message naming task and execution.
pub async fn undeserializable_input_fails_execution(factory: Factory) {
    let storage = factory("undeserializable_input_fails_execution").await;
    let task = Task::new("numbers", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n * 2)
    })
    .retry(retry(3));
    let executor = start(&storage, |b| b.register(&task));
    let mut execution = executor.prepare(&task, 1, EnqueueOptions::new()).unwrap();
    execution.input = "\"not a number\"".to_owned();
    storage
        .insert(std::slice::from_ref(&execution))
        .await
        .unwrap();
    let done = executor.handle_for(&execution).wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    let error = done.error.unwrap();
    assert!(!error.is_retryable);
    assert!(
        error
            .message
            .contains("Cannot deserialize the input of task numbers"),
        "{}",
        error.message
    );
    assert!(error.message.contains(&execution.execution_id));
    assert_eq!(done.attempt, 0);
    // The executor keeps working.
    let ok = executor
        .enqueue(&task, 21)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(ok.output::<u32>().unwrap(), 42);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// Payload limits: inputs are checked at enqueue, outputs after the run.
pub async fn payload_limits(factory: Factory) {
    let storage = factory("payload_limits").await;
    let echo = Task::new("echo", |_ctx: TaskContext, n: usize| async move {
        Ok::<_, TaskError>("x".repeat(n))
    })
    .retry(retry(2));
    let executor = start_with(&storage, fast_options().max_payload_bytes(2048), |b| {
        b.register(&echo)
    });
    let err = executor.enqueue(&echo, 10).await;
    assert!(err.is_ok());
    let big_output = executor
        .enqueue(&echo, 5000)
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(big_output.status, ExecutionStatus::Failed);
    let error = big_output.error.unwrap();
    assert!(!error.is_retryable);
    assert!(
        error.message.contains("over the limit of 2048 bytes"),
        "{}",
        error.message
    );
    assert_eq!(big_output.attempt, 0);
    let text = Task::new("echo", |_ctx: TaskContext, s: String| async move {
        Ok::<_, TaskError>(s)
    });
    let err = executor.enqueue(&text, "y".repeat(4000)).await.unwrap_err();
    assert!(
        matches!(err, ExecutorError::PayloadTooLarge { .. }),
        "{err}"
    );
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}

/// An execution of a task this executor does not know fails with a clear
/// not-found error, and the executor keeps running.
pub async fn unknown_task_fails_execution(factory: Factory) {
    let storage = factory("unknown_task_fails_execution").await;
    let ghost = Task::new("ghost", |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>(())
    });
    let client = Executor::builder(storage.clone())
        .register(&ghost)
        .build()
        .unwrap();
    let handle = client.enqueue(&ghost, ()).await.unwrap();
    let known = Task::new("known", |_ctx: TaskContext, _: ()| async {
        Ok::<_, TaskError>(1)
    });
    let executor = start(&storage, |b| b.register(&known));
    let done = handle.wait().await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    let error = done.error.unwrap();
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert!(
        error.message.starts_with("Task ghost not found"),
        "{}",
        error.message
    );
    let ok = executor
        .enqueue(&known, ())
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(ok.output::<i32>().unwrap(), 1);
    executor.shutdown(Duration::from_secs(1)).await.unwrap();
}
