//! Storage faults during result writes: a transient error is retried (never
//! turned into a failure of the execution), and an item the storage refuses
//! fails alone with an error that says why, without holding back the rest of
//! its batch or being re-run.

use crate::common::{Counter, Factory, FaultyStorage, fast_options, start_with};
use durable_execution::model::{ExecutionStatus, RetryOptions};
use durable_execution::storage::Storage;
use durable_execution::{FinalizeInput, ParentOutput, ParentTask, Task, TaskContext, TaskError};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// More consecutive transient failures of every result write than the
/// writer's old bounded retry allowed (6): the parent used to fail with
/// `Cannot store the children of execution …` and its retry budget unused.
pub async fn transient_write_failures_never_fail_executions(factory: Factory) {
    let base = factory("transient_write_failures_never_fail_executions").await;
    let faulty = Arc::new(FaultyStorage::new(base));
    let storage: Arc<dyn Storage> = faulty.clone();
    let runs = Counter::new();
    let child = {
        let runs = runs.clone();
        Task::new("child", move |_ctx: TaskContext, n: u64| {
            let runs = runs.clone();
            async move {
                runs.hit();
                Ok::<_, TaskError>(n * 10)
            }
        })
    };
    let flaky = {
        let runs = runs.clone();
        Task::new("flaky", move |ctx: TaskContext, _: ()| {
            let runs = runs.clone();
            async move {
                runs.hit();
                if ctx.attempt() == 0 {
                    return Err(TaskError::new("first attempt fails"));
                }
                Ok::<_, TaskError>(ctx.attempt())
            }
        })
        .retry(RetryOptions {
            max_attempts: 1,
            ..Default::default()
        })
    };
    let sum = Task::new(
        "sum",
        |_ctx: TaskContext, done: FinalizeInput<(), String, u64>| async move {
            Ok::<_, TaskError>(done.children.iter().sum::<u64>())
        },
    );
    let spawn = child.clone();
    let parent = ParentTask::new("parent", move |_ctx: TaskContext, _: ()| {
        let child = spawn.clone();
        async move {
            Ok::<_, TaskError>(
                ParentOutput::new("spawned".to_owned()).children((1..=3).map(|n| child.child(n))),
            )
        }
    })
    .finalize(&sum);
    // Long leases: the writer keeps retrying for as long as a run's lease
    // holds, so the injected failures (at most ~100 ms apart) all pass.
    let executor = start_with(
        &storage,
        fast_options().lease_slack(Duration::from_secs(60)),
        |b| b.register(&parent).register(&child).register(&flaky),
    );
    for counter in [&faulty.fail_wait, &faulty.fail_finish, &faulty.fail_retry] {
        counter.store(12, Ordering::SeqCst);
    }
    let parent_handle = executor.enqueue(&parent, ()).await.unwrap();
    let flaky_handle = executor.enqueue(&flaky, ()).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(30), parent_handle.wait())
        .await
        .expect("the parent finishes")
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Completed, "{:?}", done.error);
    assert_eq!(done.output::<u64>().unwrap(), 60);
    assert_eq!(done.attempt, 0, "the parent's retry budget is untouched");
    let flaky_done = tokio::time::timeout(Duration::from_secs(30), flaky_handle.wait())
        .await
        .expect("the flaky task finishes")
        .unwrap();
    assert_eq!(flaky_done.status, ExecutionStatus::Completed);
    assert_eq!(flaky_done.output::<u32>().unwrap(), 1);
    // Every injected failure was used up, and nothing ran twice: 3
    // children, and two attempts of the flaky task.
    for counter in [&faulty.fail_wait, &faulty.fail_finish, &faulty.fail_retry] {
        assert_eq!(counter.load(Ordering::SeqCst), 0);
    }
    assert_eq!(runs.get(), 5);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// One result in a batch is refused for a non-transient reason: the others
/// land, and that execution ends `failed` with an error naming the storage
/// refusal, after one run (it used to be left `running` and re-run by lease
/// recovery until its retry budget was gone).
pub async fn refused_result_fails_alone(factory: Factory) {
    let base = factory("refused_result_fails_alone").await;
    let faulty = Arc::new(FaultyStorage::new(base));
    *faulty.refuse_marker.lock().unwrap() = Some("poison".to_owned());
    let storage: Arc<dyn Storage> = faulty.clone();
    let runs = Counter::new();
    let echo = {
        let runs = runs.clone();
        Task::new("echo", move |_ctx: TaskContext, text: String| {
            let runs = runs.clone();
            async move {
                runs.hit();
                if text == "fail poison" {
                    return Err(TaskError::new("poison in the error"));
                }
                Ok::<_, TaskError>(text)
            }
        })
        .retry(RetryOptions {
            max_attempts: 3,
            ..Default::default()
        })
    };
    let spawn = echo.clone();
    let spawns = ParentTask::new("spawns", move |_ctx: TaskContext, _: ()| {
        let echo = spawn.clone();
        async move {
            Ok::<_, TaskError>(
                ParentOutput::new("poison".to_owned()).child(echo.child("never stored".to_owned())),
            )
        }
    });
    let executor = start_with(
        &storage,
        fast_options().lease_slack(Duration::from_millis(300)),
        |b| b.register(&echo).register(&spawns),
    );
    let inputs = ["a", "poison", "b", "fail poison", "c"];
    let handles = executor
        .enqueue_many(&echo, inputs.iter().map(|s| (*s).to_owned()))
        .await
        .unwrap();
    let parent = executor.enqueue(&spawns, ()).await.unwrap();
    for (input, handle) in inputs.iter().zip(&handles) {
        let done = tokio::time::timeout(Duration::from_secs(20), handle.wait())
            .await
            .expect("every execution finishes")
            .unwrap();
        if input.contains("poison") {
            assert_eq!(done.status, ExecutionStatus::Failed, "{input}");
            let error = done.error.unwrap();
            let what = if *input == "poison" {
                "result"
            } else {
                "retry"
            };
            assert!(
                error
                    .message
                    .starts_with(&format!("Cannot store the {what} of execution")),
                "{}",
                error.message
            );
            assert!(
                error.message.contains("injected refusal"),
                "{}",
                error.message
            );
            assert!(!error.is_retryable);
            assert!(error.is_internal);
        } else {
            assert_eq!(done.status, ExecutionStatus::Completed, "{input}");
            assert_eq!(done.output::<String>().unwrap(), *input);
        }
        assert_eq!(done.attempt, 0, "{input} was not re-run");
    }
    let parent = tokio::time::timeout(Duration::from_secs(20), parent.wait())
        .await
        .expect("the parent finishes")
        .unwrap();
    assert_eq!(parent.status, ExecutionStatus::Failed);
    assert!(
        parent
            .error
            .unwrap()
            .message
            .starts_with("Cannot store the children of execution")
    );
    // Well past the lease: nothing was recovered and run again.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(runs.get(), 5);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// A task error whose message contains U+0000 is stored (PostgreSQL
/// replaces the NUL with U+FFFD): the execution fails once, with that
/// message, instead of staying `running` until its lease expires and being
/// re-run to `Task expired`.
pub async fn nul_in_an_error_is_stored(factory: Factory) {
    let storage = factory("nul_in_an_error_is_stored").await;
    let runs = Counter::new();
    let task = {
        let runs = runs.clone();
        Task::new("nul", move |_ctx: TaskContext, _: ()| {
            let runs = runs.clone();
            async move {
                runs.hit();
                Err::<(), _>(TaskError::non_retryable("bad\0byte"))
            }
        })
        .retry(RetryOptions {
            max_attempts: 2,
            ..Default::default()
        })
    };
    let executor = start_with(
        &storage,
        fast_options().lease_slack(Duration::from_millis(200)),
        |b| b.register(&task),
    );
    let handle = executor.enqueue(&task, ()).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(20), handle.wait())
        .await
        .expect("the execution finishes")
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    let expected = if storage.backend_name() == "postgres" {
        "bad\u{FFFD}byte"
    } else {
        "bad\0byte"
    };
    assert_eq!(done.error.unwrap().message, expected);
    assert_eq!((done.attempt, runs.get()), (0, 1));
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// `Duration::MAX` where a caller means "forever" (a wait timeout, a
/// shutdown grace period) works instead of panicking on `now + duration`.
pub async fn huge_durations_mean_forever(factory: Factory) {
    let storage = factory("huge_durations_mean_forever").await;
    let task = Task::new("quick", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n + 1)
    });
    let executor = start_with(&storage, fast_options(), |b| b.register(&task));
    let handle = executor.enqueue(&task, 1).await.unwrap();
    let done = handle
        .wait_with(durable_execution::WaitOptions::new().timeout(Duration::MAX))
        .await
        .unwrap();
    assert_eq!(done.output::<u32>().unwrap(), 2);
    tokio::time::timeout(Duration::from_secs(10), executor.shutdown(Duration::MAX))
        .await
        .expect("an idle executor shuts down at once")
        .unwrap();
}

/// `enqueue` retries a transient failure of its insert; when the failed
/// attempt had in fact committed (the answer was lost), the retry's
/// duplicate id is recognised as success: exactly one execution is stored.
pub async fn enqueue_retries_transient_failures(factory: Factory) {
    let base = factory("enqueue_retries_transient_failures").await;
    let faulty = Arc::new(FaultyStorage::new(base.clone()));
    let storage: Arc<dyn Storage> = faulty.clone();
    let task = Task::new("once", |_ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n)
    });
    let executor = start_with(&storage, fast_options(), |b| b.register(&task));
    let total = |base: Arc<dyn Storage>| async move {
        base.stats(0)
            .await
            .unwrap()
            .counts
            .iter()
            .map(|(_, _, n)| *n)
            .sum::<u64>()
    };
    // Fails before the insert: the retry inserts.
    faulty.fail_insert.store(1, Ordering::SeqCst);
    let first = executor.enqueue(&task, 1).await.unwrap();
    assert_eq!(faulty.fail_insert.load(Ordering::SeqCst), 0);
    assert_eq!(total(base.clone()).await, 1);
    // Commits, then fails: the retry finds its own row.
    faulty.fail_insert_after_commit.store(1, Ordering::SeqCst);
    let second = executor.enqueue(&task, 2).await.unwrap();
    assert_eq!(faulty.fail_insert_after_commit.load(Ordering::SeqCst), 0);
    assert_eq!(total(base.clone()).await, 2);
    // The same for a batch.
    faulty.fail_insert_after_commit.store(1, Ordering::SeqCst);
    let batch = executor.enqueue_many(&task, 10..13).await.unwrap();
    assert_eq!(total(base.clone()).await, 5);
    for (handle, expected) in [(&first, 1), (&second, 2)]
        .into_iter()
        .chain(batch.iter().zip(10..13))
    {
        let done = tokio::time::timeout(Duration::from_secs(20), handle.wait())
            .await
            .expect("finishes")
            .unwrap();
        assert_eq!(done.output::<u32>().unwrap(), expected);
    }
    assert_eq!(total(base).await, 5);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
