//! The claimer and the runner: claim ready executions within the free
//! capacity, run each in its own task (timeout, cancellation, panics), and
//! turn the outcome into the storage write it needs.

use super::{
    Completion, Inner, RunEntry, RunMeta, Write, WriterMessage, idle, lock, log_loop_error, pause,
};
use crate::executor::backoff::{ErrorBackoff, retry_delay_with_jitter_ms};
use crate::executor::context::{ContextInner, TaskContext};
use crate::executor::error::ExecutorError;
use crate::executor::events::ExecutionEventKind;
use crate::executor::ids::generate_execution_id;
use crate::executor::options::{EnqueueOptions, effective_options};
use crate::executor::task::{ChildTask, Kind, RunFailure, RunOutcome, TaskSpec};
use crate::model::{
    ExecutionError, ExecutionRef, ExecutionStatus, Loaded, Millis, NewExecution, ParentRef,
    TaskExecution, now_millis,
};
use crate::storage::{FinishItem, RetryItem, WaitItem};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub(super) async fn claimer_loop(inner: Arc<Inner>) {
    let stop = inner.lifecycle.shutdown.clone();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    while !stop.is_cancelled() {
        let mut free = inner.tracking.semaphore.available_permits();
        if free == 0 {
            // Said before the second look, so that a writer freeing slots
            // in between either is seen here or sees the flag.
            inner
                .wake
                .claimer_waits_for_slots
                .store(true, Ordering::SeqCst);
            free = inner.tracking.semaphore.available_permits();
        }
        if free == 0 {
            if idle(&inner.wake.claimer, inner.options.poll_interval, &stop).await {
                break;
            }
            continue;
        }
        let limit = u32::try_from(free)
            .unwrap_or(u32::MAX)
            .min(inner.options.max_batch);
        // The slots first, then the claim: an enqueue's claim (see
        // `enqueue::insert_claiming`) takes slots too.
        let Some(permits) = free_slots(&inner, limit as usize) else {
            tokio::task::yield_now().await;
            continue;
        };
        let limit = u32::try_from(permits.num_permits()).unwrap_or(limit);
        match inner
            .storage
            .claim_ready(
                &inner.executor_id,
                now_millis(),
                limit,
                inner.lease_slack_ms(),
                inner.lease_ms(),
            )
            .await
        {
            Ok(rows) => {
                backoff.reset();
                let claimed = rows.len();
                start_claimed(&inner, rows, permits).await;
                if claimed >= limit as usize {
                    tokio::task::yield_now().await;
                    continue;
                }
                if idle(&inner.wake.claimer, inner.options.poll_interval, &stop).await {
                    break;
                }
            }
            Err(error) => {
                drop(permits);
                let delay = backoff.next_delay();
                log_loop_error("claimer", &error, &backoff);
                if pause(delay, &stop).await {
                    break;
                }
            }
        }
    }
}

/// Takes up to `want` free slots (run permits) at once, or `None` when
/// none is free. A claim takes its slots before it claims, and never
/// claims more rows than it holds slots for: the claimer and an enqueue's
/// claim can take slots at the same time and never exceed the limit, and
/// a claimed row never waits for a slot while its lease runs.
pub(super) fn free_slots(inner: &Inner, want: usize) -> Option<OwnedSemaphorePermit> {
    let semaphore = &inner.tracking.semaphore;
    let take = want.min(semaphore.available_permits());
    if take == 0 {
        return None;
    }
    // Another claim may take slots in between: retry with what is left.
    let mut take = u32::try_from(take).unwrap_or(u32::MAX);
    loop {
        match semaphore.clone().try_acquire_many_owned(take) {
            Ok(permits) => return Some(permits),
            Err(_) => {
                take = u32::try_from(semaphore.available_permits().min(take as usize)).unwrap_or(0);
                if take == 0 {
                    return None;
                }
            }
        }
    }
}

/// Starts a run per claimed row, each with one of `permits` (which holds
/// at least as many as there are rows); the rest are freed.
pub(super) async fn start_claimed(
    inner: &Arc<Inner>,
    rows: Vec<Loaded>,
    mut permits: OwnedSemaphorePermit,
) {
    for row in rows {
        let Some(permit) = permits.split(1) else {
            // A storage that returned more rows than asked for: the rest
            // run elsewhere once their leases expire.
            tracing::error!(
                "claimed more executions than free slots; the rest are left to lease expiry"
            );
            return;
        };
        start_run(inner, row, permit).await;
    }
}

async fn start_run(inner: &Arc<Inner>, row: Loaded, permit: OwnedSemaphorePermit) {
    let row = match row {
        Ok(row) => row,
        Err(corrupt) => {
            tracing::error!(execution_id = %corrupt.execution_id, error = %corrupt, "claimed a corrupt execution; failing it");
            // The attempt of a row that cannot be read is unknown: the
            // owner and the status alone guard this write.
            let write = Write::Finish(fail_item(
                &corrupt.execution_id,
                None,
                ExecutionError::generic(format!("Cannot run execution: {corrupt}"), false)
                    .internal(),
            ));
            // No run: its token is over from the start.
            let token = CancellationToken::new();
            token.cancel();
            let run = RunEntry::new(token, String::new(), None, inner.lease_deadline());
            lock(&inner.tracking.running).insert(corrupt.execution_id.clone(), run.clone());
            send_completion(inner, corrupt.execution_id, None, write, None, run, permit);
            return;
        }
    };
    crate::metrics::claimed(&row);
    let cancel = inner.lifecycle.hard_stop.child_token();
    let run = RunEntry::new(
        cancel.clone(),
        row.task_id.clone(),
        Some(row.attempt),
        row.heartbeat_expires_at
            .unwrap_or_else(|| inner.lease_deadline()),
    );
    let earlier = lock(&inner.tracking.running).insert(row.execution_id.clone(), run.clone());
    // An earlier entry whose token is cancelled belongs to a run that is
    // over (`execute` fires the token when the run ends), typically a
    // failed attempt whose retry the writer stored just before this claim:
    // the new run replaces it. One that is still in progress stalled past
    // its lease: the execution was recovered and this executor claimed it
    // again, at a later attempt. That run is lost: its token fires and its
    // result is dropped (the storage's attempt guard would refuse it too),
    // and the new attempt runs.
    if let Some(earlier) = earlier
        && !earlier.token.is_cancelled()
        && earlier.lose()
    {
        tracing::warn!(execution_id = %row.execution_id, attempt = row.attempt, "claimed again an execution whose earlier run is still in progress here; that run is lost, its result will be dropped");
        inner.report_lost(&row.execution_id, &earlier);
    }
    let meta = RunMeta {
        task_id: row.task_id.clone(),
        attempt: row.attempt,
        started: std::time::Instant::now(),
        closes_at_finish: crate::storage::rules::closes_at_finish(&row),
    };
    if let Some(_order) = inner.events.ordered().await {
        inner
            .events
            .emit(meta.event(&row.execution_id, ExecutionEventKind::Started));
    }
    let span = tracing::info_span!("execution", task_id = %row.task_id, execution_id = %row.execution_id, attempt = row.attempt);
    let inner = inner.clone();
    tokio::spawn(
        async move {
            tracing::debug!("running");
            let execution_id = row.execution_id.clone();
            let lease_expires_at = row.expires_at;
            let write = execute(&inner, row, cancel).await;
            send_completion(
                &inner,
                execution_id,
                Some(meta),
                write,
                lease_expires_at,
                run,
                permit,
            );
        }
        .instrument(span),
    );
}

fn send_completion(
    inner: &Inner,
    execution_id: String,
    meta: Option<RunMeta>,
    write: Write,
    lease_expires_at: Option<Millis>,
    run: Arc<RunEntry>,
    permit: OwnedSemaphorePermit,
) {
    let completion = Completion {
        execution_id,
        meta,
        write,
        lease_expires_at,
        run,
        _permit: permit,
    };
    if let Err(mpsc::error::SendError(WriterMessage::Done(completion))) =
        inner.tracking.writes.send(WriterMessage::Done(completion))
    {
        // The writer is gone (executor dropped): forget the run; its lease
        // recovers the execution.
        Inner::forget_run(
            &mut lock(&inner.tracking.running),
            &completion.execution_id,
            &completion.run,
        );
    }
}

pub(super) fn fail_item(
    execution_id: &str,
    attempt: Option<u32>,
    error: ExecutionError,
) -> FinishItem {
    FinishItem {
        execution_id: execution_id.to_owned(),
        attempt,
        status: error.finished_status(),
        run_output: None,
        output: None,
        error: Some(error),
    }
}

/// The write after a failed attempt: a retry while the budget lasts and the
/// error is retryable, else the finished status of the error.
fn fail_or_retry(row: &TaskExecution, error: ExecutionError) -> Write {
    if error.is_retryable && row.attempt < row.retry_options.max_attempts {
        let delay = retry_delay_with_jitter_ms(&row.retry_options, row.attempt);
        tracing::debug!(error = %error.message, delay_ms = delay, "attempt failed, retrying");
        Write::Retry(RetryItem {
            execution_id: row.execution_id.clone(),
            attempt: Some(row.attempt),
            error,
            start_at: now_millis().saturating_add(i64::try_from(delay).unwrap_or(i64::MAX)),
        })
    } else {
        tracing::debug!(error = %error.message, status = %error.finished_status(), "execution failed");
        Write::Finish(fail_item(&row.execution_id, Some(row.attempt), error))
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

async fn execute(inner: &Arc<Inner>, row: TaskExecution, cancel: CancellationToken) -> Write {
    let Some(spec) = inner.registry.get(&row.task_id).cloned() else {
        tracing::error!("task is not registered in this executor");
        return Write::Finish(fail_item(
            &row.execution_id,
            Some(row.attempt),
            ExecutionError::not_found(format!(
                "Task {} not found: execution {} was claimed by executor {} where the task is not registered",
                row.task_id, row.execution_id, inner.executor_id
            )),
        ));
    };
    let ctx = TaskContext {
        inner: Arc::new(ContextInner {
            task_id: row.task_id.clone(),
            execution_id: row.execution_id.clone(),
            attempt: row.attempt,
            prev_error: row.error.clone(),
            root: row.root.clone(),
            parent: row.parent.clone(),
            cancel: cancel.clone(),
            shutdown: inner.lifecycle.run_shutdown.clone(),
            state: inner.state.clone(),
        }),
    };
    let run = AssertUnwindSafe((spec.run)(ctx, row.input.clone())).catch_unwind();
    let timeout = Duration::from_millis(row.timeout_ms);
    let result = tokio::select! {
        biased;
        () = cancel.cancelled() => {
            tracing::debug!("run cancelled");
            return Write::Nothing;
        }
        result = tokio::time::timeout(timeout, run) => result,
    };
    // Tell anything the run left behind that the run is over.
    cancel.cancel();
    match result {
        Err(_elapsed) => fail_or_retry(&row, ExecutionError::timed_out("Task timed out")),
        Ok(Err(panic)) => {
            let message = panic_message(panic.as_ref());
            tracing::error!(panic = %message, "task panicked");
            fail_or_retry(
                &row,
                ExecutionError::generic(format!("Task {} panicked: {message}", row.task_id), true),
            )
        }
        Ok(Ok(Err(RunFailure::User(error)))) => fail_or_retry(&row, error.to_execution_error()),
        Ok(Ok(Err(RunFailure::Input(message)))) => fail_or_retry(
            &row,
            ExecutionError::generic(
                format!(
                    "Cannot deserialize the input of task {} execution {}: {message}",
                    row.task_id, row.execution_id
                ),
                false,
            ),
        ),
        Ok(Ok(Err(RunFailure::Output(message)))) => fail_or_retry(
            &row,
            ExecutionError::generic(
                format!(
                    "Cannot serialize the output of task {} execution {}: {message}",
                    row.task_id, row.execution_id
                ),
                false,
            ),
        ),
        Ok(Ok(Ok(outcome))) => match succeed(inner, &spec, &row, outcome) {
            Ok(write) => write,
            Err(error) => fail_or_retry(&row, error),
        },
    }
}

pub(super) fn non_retryable(message: String) -> ExecutionError {
    ExecutionError::generic(message, false)
}

pub(super) fn size_error(
    inner: &Inner,
    row: &TaskExecution,
    what: &str,
    value: &str,
) -> Result<(), ExecutionError> {
    if value.len() > inner.options.max_payload_bytes {
        return Err(size_error_len(inner, row, what, value.len()));
    }
    Ok(())
}

/// The error of a `what` of `len` bytes, over `max_payload_bytes`.
pub(super) fn size_error_len(
    inner: &Inner,
    row: &TaskExecution,
    what: &str,
    len: usize,
) -> ExecutionError {
    let limit = inner.options.max_payload_bytes;
    non_retryable(format!(
        "{what} of task {} execution {} is {len} bytes, over the limit of {limit} bytes",
        row.task_id, row.execution_id
    ))
}

fn root_of(row: &TaskExecution) -> ExecutionRef {
    row.root.clone().unwrap_or_else(|| ExecutionRef {
        task_id: row.task_id.clone(),
        execution_id: row.execution_id.clone(),
    })
}

/// A new child or finalize execution of `parent`.
pub(super) fn new_descendant(
    spec: &TaskSpec,
    parent: &TaskExecution,
    index: u32,
    is_finalize: bool,
    input: String,
    overrides: &EnqueueOptions,
) -> Result<NewExecution, ExecutorError> {
    spec.check_input(&input)?;
    let effective = effective_options(
        &spec.id,
        spec.timeout,
        &spec.retry,
        spec.sleep_before_run,
        overrides,
    )?;
    Ok(NewExecution {
        execution_id: generate_execution_id(),
        task_id: spec.id.clone(),
        root: Some(root_of(parent)),
        parent: Some(ParentRef {
            task_id: parent.task_id.clone(),
            execution_id: parent.execution_id.clone(),
            index,
            is_finalize,
            parent_decides: false,
        }),
        retry_options: effective.retry,
        sleep_ms_before_run: effective.sleep_ms,
        timeout_ms: effective.timeout_ms,
        input,
        created_at: now_millis(),
        sleeping_key: crate::executor::sleeping::sleeping_key_for(spec, overrides)?,
    })
}

/// What closes the children array of a parent result or finalize input.
pub(super) const CHILDREN_SUFFIX: &str = "]}";

/// `{"input":…,"output":…,"children":[`: the children outputs, separated by
/// commas, and [`CHILDREN_SUFFIX`] complete it.
pub(super) fn finalize_input_prefix(input: &str, output: &str) -> String {
    let mut json = String::with_capacity(input.len() + output.len() + 32);
    json.push_str("{\"input\":");
    json.push_str(input);
    json.push_str(",\"output\":");
    json.push_str(output);
    json.push_str(",\"children\":[");
    json
}

/// `{"output":…,"children":[`: the children outputs, separated by commas,
/// and [`CHILDREN_SUFFIX`] complete it.
pub(super) fn parent_result_prefix(output: &str) -> String {
    let mut json = String::with_capacity(output.len() + 24);
    json.push_str("{\"output\":");
    json.push_str(output);
    json.push_str(",\"children\":[");
    json
}

/// `{"input":…,"output":…,"children":[…]}` built from stored JSON.
pub(super) fn finalize_input(input: &str, output: &str, children: &[&str]) -> String {
    let mut json = finalize_input_prefix(input, output);
    push_children(&mut json, children);
    json
}

/// `{"output":…,"children":[…]}` built from stored JSON.
pub(super) fn parent_result(output: &str, children: &[&str]) -> String {
    let mut json = parent_result_prefix(output);
    push_children(&mut json, children);
    json
}

fn push_children(json: &mut String, children: &[&str]) {
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(child);
    }
    json.push_str(CHILDREN_SUFFIX);
}

/// The write after a successful run.
fn succeed(
    inner: &Inner,
    spec: &TaskSpec,
    row: &TaskExecution,
    outcome: RunOutcome,
) -> Result<Write, ExecutionError> {
    let RunOutcome { output, children } = outcome;
    size_error(inner, row, "Output", &output)?;
    let finalize = match &spec.kind {
        Kind::Simple | Kind::Sleeping => {
            tracing::debug!("completed");
            return Ok(Write::Finish(FinishItem {
                execution_id: row.execution_id.clone(),
                attempt: Some(row.attempt),
                status: ExecutionStatus::Completed,
                run_output: Some(output.clone()),
                output: Some(output),
                error: None,
            }));
        }
        Kind::Parent { finalize, .. } => finalize.as_ref(),
        Kind::Sequence { .. } | Kind::Looping { .. } => None,
    };
    if children.len() > inner.options.max_children {
        return Err(non_retryable(format!(
            "Task {} execution {} spawned {} children, over the limit of {}",
            row.task_id,
            row.execution_id,
            children.len(),
            inner.options.max_children
        )));
    }
    let mut new_children = Vec::with_capacity(children.len());
    // By value: each child's input moves into its new execution (no copy).
    for (index, child) in children.into_iter().enumerate() {
        let ChildTask {
            task_id,
            input,
            options,
        } = child;
        let Some(child_spec) = inner.registry.get(&task_id) else {
            return Err(ExecutionError::not_found(format!(
                "Child task {task_id} not found (spawned by task {} execution {})",
                row.task_id, row.execution_id
            )));
        };
        let input = input.map_err(|message| {
            non_retryable(format!(
                "Invalid input to child task {task_id} of task {} execution {}: {message}",
                row.task_id, row.execution_id
            ))
        })?;
        size_error(
            inner,
            row,
            &format!("Input of child {index} ({task_id})"),
            &input,
        )?;
        let mut execution = new_descendant(
            child_spec,
            row,
            u32::try_from(index).unwrap_or(u32::MAX),
            false,
            input,
            &options,
        )
        .map_err(|e| {
            non_retryable(format!(
                "Invalid child {index} of task {} execution {}: {e}",
                row.task_id, row.execution_id
            ))
        })?;
        if let (Kind::Parent { decides: true, .. }, Some(parent)) =
            (&spec.kind, execution.parent.as_mut())
        {
            parent.parent_decides = true;
        }
        new_children.push(execution);
    }
    if !new_children.is_empty() {
        tracing::debug!(children = new_children.len(), "waiting for children");
        return Ok(Write::Wait(WaitItem {
            execution_id: row.execution_id.clone(),
            attempt: Some(row.attempt),
            run_output: output,
            children: new_children,
            finalize: None,
        }));
    }
    match finalize {
        Some(finalize) => {
            let finalize_spec = inner.registry.get(&finalize.id).unwrap_or(finalize);
            let input = finalize_input(&row.input, &output, &[]);
            size_error(inner, row, "Finalize input", &input)?;
            let finalize = new_descendant(
                finalize_spec,
                row,
                0,
                true,
                input,
                &EnqueueOptions::default(),
            )
            .map_err(|e| non_retryable(e.to_string()))?;
            tracing::debug!("waiting for finalize");
            Ok(Write::Wait(WaitItem {
                execution_id: row.execution_id.clone(),
                attempt: Some(row.attempt),
                run_output: output,
                children: Vec::new(),
                finalize: Some(finalize),
            }))
        }
        None => {
            let final_output = parent_result(&output, &[]);
            size_error(inner, row, "Output", &final_output)?;
            tracing::debug!("completed");
            Ok(Write::Finish(FinishItem {
                execution_id: row.execution_id.clone(),
                attempt: Some(row.attempt),
                status: ExecutionStatus::Completed,
                run_output: Some(output),
                output: Some(final_output),
                error: None,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalize_input_is_valid_json_in_order() {
        let json = finalize_input("{\"a\":1}", "\"out\"", &["1", "\"two\"", "[3]"]);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(
            value,
            serde_json::json!({"input": {"a": 1}, "output": "out", "children": [1, "two", [3]]})
        );
        let empty = parent_result("null", &[]);
        let value: serde_json::Value = serde_json::from_str(&empty).unwrap_or_default();
        assert_eq!(value, serde_json::json!({"output": null, "children": []}));
    }

    #[test]
    fn panic_messages_are_extracted() {
        let payload: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(panic_message(payload.as_ref()), "boom");
        let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(payload.as_ref()), "bang");
        let payload: Box<dyn std::any::Any + Send> = Box::new(3_u8);
        assert_eq!(panic_message(payload.as_ref()), "unknown panic payload");
    }

    #[test]
    fn retries_follow_the_budget() {
        let mut row = crate::model::TaskExecution {
            execution_id: "te_x".into(),
            task_id: "t".into(),
            retry_options: crate::model::RetryOptions {
                max_attempts: 1,
                ..Default::default()
            },
            timeout_ms: 10,
            input: "null".into(),
            status: ExecutionStatus::Running,
            ..Default::default()
        };
        assert!(matches!(
            fail_or_retry(&row, ExecutionError::generic("x", true)),
            Write::Retry(_)
        ));
        assert!(matches!(
            fail_or_retry(&row, ExecutionError::generic("x", false)),
            Write::Finish(_)
        ));
        row.attempt = 1;
        match fail_or_retry(&row, ExecutionError::timed_out("Task timed out")) {
            Write::Finish(item) => assert_eq!(item.status, ExecutionStatus::TimedOut),
            _ => panic!("expected a finish"),
        }
    }
}
