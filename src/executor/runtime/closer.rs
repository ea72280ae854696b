//! The closer: closes finished executions (propagating to parents and
//! descendants in the storage) and advances parents whose children all
//! completed (complete, spawn the finalize or the next sequence step).
//! A top-level execution without children or finalize never reaches it:
//! the storage closes such a row in the step that finishes it
//! (docs/design.md, "Closing").

use super::runner::{
    CHILDREN_SUFFIX, finalize_input_prefix, new_descendant, non_retryable, parent_result_prefix,
    size_error, size_error_len,
};
use super::{
    Inner, PARENT_CONCURRENCY, emit_read_back, finished_event_kind, idle, log_loop_error, pause,
};
use crate::executor::backoff::ErrorBackoff;
use crate::executor::events::{ExecutionEvent, ExecutionEventKind};
use crate::executor::looping::{LoopNext, loop_next};
use crate::executor::options::EnqueueOptions;
use crate::executor::task::{Kind, TaskSpec};
use crate::model::Millis;
use crate::model::{ExecutionError, ExecutionStatus, Loaded, TaskExecution, now_millis};
use crate::storage::{Advance, AdvanceItem, ChildOutput, StorageResult};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;

pub(super) async fn closer_loop(inner: Arc<Inner>) {
    let stop = inner.lifecycle.stop_loops.clone();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    while !stop.is_cancelled() {
        match close_step(&inner).await {
            Ok(true) => {
                backoff.reset();
                tokio::task::yield_now().await;
            }
            Ok(false) => {
                backoff.reset();
                if idle(&inner.wake.closer, inner.options.poll_interval, &stop).await {
                    break;
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                log_loop_error("closer", &error, &backoff);
                if pause(delay, &stop).await {
                    break;
                }
            }
        }
    }
}

/// One closing pass. Returns whether more work is likely pending.
async fn close_step(inner: &Inner) -> StorageResult<bool> {
    let limit = inner.options.close_batch;
    let outcome = inner.storage.close_finished(now_millis(), limit).await?;
    for corrupt in &outcome.corrupt {
        tracing::error!(execution_id = %corrupt.execution_id, error = %corrupt, "closed a corrupt finished execution without effects on its parent or descendants");
    }
    let full = outcome.closed.len() >= limit as usize;
    if !outcome.newly_finished.is_empty() {
        // Some may be cascaded cancellations of runs hosted here.
        inner.wake.canceller.notify_one();
        // Parents completed by their finalize or failed by a child, and
        // cancelled descendants: finished by this close, not by a run.
        if inner.events.is_observed() {
            emit_read_back(inner, &outcome.newly_finished, |row| {
                finished_event_kind(row.status)
            })
            .await;
        }
    }
    if !outcome.parents_ready.is_empty() {
        let parents = inner.storage.get(&outcome.parents_ready).await?;
        advance(inner, parents).await?;
        return Ok(true);
    }
    if full || !outcome.newly_finished.is_empty() {
        return Ok(true);
    }
    // Idle: pick up parents that nobody advanced (another executor died
    // between closing and advancing, or could not advance them).
    let parents = inner.storage.ready_parents(limit).await?;
    if parents.is_empty() {
        return Ok(false);
    }
    let count = parents.len();
    advance(inner, parents).await?;
    Ok(count >= limit as usize)
}

/// Payload bytes (outputs, finalize and step inputs) of the advance steps
/// written per `advance_parents` call: a batch of parents with large results
/// (each up to `max_payload_bytes`) is written in several calls rather than
/// held in memory all at once.
const ADVANCE_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// The payload an advance step carries.
fn advance_bytes(item: &AdvanceItem) -> usize {
    match &item.action {
        Advance::Complete { output } => output.len(),
        Advance::Finalize { finalize } => finalize.input.len(),
        Advance::SpawnNext { child } => child.input.len(),
        Advance::Fail { error, .. } => error.message.len(),
    }
}

/// What the events of an advanced parent need: task id, attempt and when
/// its run started.
type ParentMeta = HashMap<String, (String, u32, Option<Millis>)>;

async fn advance(inner: &Inner, parents: Vec<Loaded>) -> StorageResult<()> {
    let meta: ParentMeta = if inner.events.is_observed() {
        parents
            .iter()
            .flatten()
            .map(|p| {
                (
                    p.execution_id.clone(),
                    (p.task_id.clone(), p.attempt, p.started_at),
                )
            })
            .collect()
    } else {
        HashMap::new()
    };
    let mut planned = futures::stream::iter(parents)
        .map(|parent| advance_item(inner, parent))
        .buffer_unordered(PARENT_CONCURRENCY);
    let mut items: Vec<AdvanceItem> = Vec::new();
    let mut bytes = 0;
    while let Some(item) = planned.next().await {
        let Some(item) = item? else { continue };
        bytes += advance_bytes(&item);
        items.push(item);
        if bytes >= ADVANCE_BATCH_BYTES {
            write_advances(inner, std::mem::take(&mut items), &meta).await?;
            bytes = 0;
        }
    }
    write_advances(inner, items, &meta).await
}

async fn write_advances(
    inner: &Inner,
    items: Vec<AdvanceItem>,
    meta: &ParentMeta,
) -> StorageResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let now = now_millis();
    let advanced = inner.storage.advance_parents(now, &items).await?;
    tracing::debug!(count = advanced.len(), "advanced parents");
    if !meta.is_empty() {
        let items: HashMap<&str, &AdvanceItem> = items
            .iter()
            .map(|item| (item.execution_id.as_str(), item))
            .collect();
        for execution_id in &advanced {
            if let (Some(item), Some(meta)) =
                (items.get(execution_id.as_str()), meta.get(execution_id))
                && let Some(event) = advance_event(item, meta, now)
            {
                inner.events.emit(event);
            }
        }
    }
    Ok(())
}

/// The event of a parent's accepted advance step that ends it.
fn advance_event(
    item: &AdvanceItem,
    (task_id, attempt, started_at): &(String, u32, Option<Millis>),
    now: Millis,
) -> Option<ExecutionEvent> {
    let (kind, error) = match &item.action {
        Advance::Complete { .. } => (ExecutionEventKind::Completed, None),
        Advance::Fail { status, error } => (finished_event_kind(*status)?, Some(error.clone())),
        Advance::Finalize { .. } | Advance::SpawnNext { .. } => return None,
    };
    Some(ExecutionEvent {
        kind,
        execution_id: item.execution_id.clone(),
        task_id: task_id.clone(),
        attempt: *attempt,
        duration: started_at.map(|at| {
            std::time::Duration::from_millis(u64::try_from(now.saturating_sub(at)).unwrap_or(0))
        }),
        error,
    })
}

fn fail_advance(execution_id: &str, error: ExecutionError) -> AdvanceItem {
    AdvanceItem {
        execution_id: execution_id.to_owned(),
        action: Advance::Fail {
            status: ExecutionStatus::Failed,
            error,
        },
    }
}

async fn advance_item(inner: &Inner, parent: Loaded) -> StorageResult<Option<AdvanceItem>> {
    let parent = match parent {
        Ok(parent) => parent,
        Err(corrupt) => {
            return Ok(Some(fail_advance(
                &corrupt.execution_id,
                non_retryable(format!("Cannot advance parent execution: {corrupt}")),
            )));
        }
    };
    if parent.status != ExecutionStatus::WaitingForChildrenTasks
        || parent.active_children_count != 0
    {
        return Ok(None);
    }
    if !inner.registry.contains_key(&parent.task_id) {
        // Another executor sharing the storage may know the task: leave the
        // parent to it rather than fail it (every executor should register
        // every task; see `ExecutorBuilder::register`).
        tracing::warn!(task_id = %parent.task_id, execution_id = %parent.execution_id, "cannot advance a parent whose task is not registered here; leaving it to another executor");
        return Ok(None);
    }
    let action = match plan_advance(inner, &parent).await? {
        Ok(action) => action,
        Err(error) => Advance::Fail {
            status: ExecutionStatus::Failed,
            error,
        },
    };
    Ok(Some(AdvanceItem {
        execution_id: parent.execution_id.clone(),
        action,
    }))
}

/// Children read per storage call while a parent's result is built.
const CHILDREN_PAGE: u32 = 2_000;

/// What a parent's children give its next step, read page by page.
struct Children {
    /// Regular children read.
    count: u32,
    /// Of which completed (or, for a finalize that decides, finished in
    /// any status).
    completed: u32,
    /// Whether their indexes were exactly `0..count`.
    contiguous: bool,
    /// `prefix` + the outputs joined with `,` + `suffix`, while it fits
    /// `max_payload_bytes`; emptied once it does not.
    json: Option<String>,
    /// The length the JSON would have, complete.
    json_len: usize,
    /// The last child's output (sequences).
    last: Option<String>,
}

/// How the children outputs are gathered.
enum Gather<'a> {
    /// Into one JSON text: `prefix`, the outputs in spawn order separated by
    /// commas, `suffix`. With `outcomes`, each child is a `ChildOutcome`
    /// (a finalize that decides) and every final status is accepted.
    Json {
        prefix: String,
        suffix: &'a str,
        outcomes: bool,
    },
    /// Only the last output (a sequence's next input or final output).
    Last,
}

/// Reads every regular child of `parent` in spawn order, one page of
/// [`CHILDREN_PAGE`] at a time, and gathers their outputs: memory stays
/// bounded by the result itself (at most `max_payload_bytes`) plus one page,
/// whatever the number of children. `Ok(Err(_))` is a child that cannot be
/// read, which fails the parent.
async fn gather_children(
    inner: &Inner,
    parent: &TaskExecution,
    gather: &Gather<'_>,
) -> StorageResult<Result<Children, ExecutionError>> {
    let limit = inner.options.max_payload_bytes;
    let (mut json, suffix, outcomes) = match gather {
        Gather::Json {
            prefix,
            suffix,
            outcomes,
        } => (Some(prefix.clone()), *suffix, *outcomes),
        Gather::Last => (None, "", false),
    };
    let mut children = Children {
        count: 0,
        completed: 0,
        contiguous: true,
        json_len: json.as_ref().map_or(0, String::len) + suffix.len(),
        json: None,
        last: None,
    };
    let mut after = None;
    loop {
        let page = inner
            .storage
            .children_outputs(&parent.execution_id, after, CHILDREN_PAGE)
            .await?;
        let full = page.len() >= CHILDREN_PAGE as usize;
        for child in page {
            let child = match child {
                Ok(child) => child,
                Err(corrupt) => {
                    return Ok(Err(non_retryable(format!(
                        "Cannot read a child of task {} execution {}: {corrupt}",
                        parent.task_id, parent.execution_id
                    ))));
                }
            };
            if child.index != children.count {
                children.contiguous = false;
            }
            after = Some(child.index);
            children.count = children.count.saturating_add(1);
            if child.status == ExecutionStatus::Completed
                || (outcomes && child.status.is_finished())
            {
                children.completed = children.completed.saturating_add(1);
            }
            let output = if outcomes {
                outcome_json(child)
            } else {
                child.output.unwrap_or_else(|| "null".to_owned())
            };
            let comma = usize::from(children.count > 1);
            children.json_len = children.json_len.saturating_add(comma + output.len());
            if children.json_len > limit {
                // Over the limit: stop building, keep counting the length
                // for the error message.
                json = None;
            }
            if let Some(json) = json.as_mut() {
                if comma == 1 {
                    json.push(',');
                }
                json.push_str(&output);
            }
            if matches!(gather, Gather::Last) {
                children.last = Some(output);
            }
        }
        if !full {
            break;
        }
    }
    children.json = json.map(|mut json| {
        json.push_str(suffix);
        json
    });
    Ok(Ok(children))
}

/// One child as a finalize that decides reads it (a `ChildOutcome`):
/// `{"status":"completed","output":…}` or `{"status":…,"error":…}`.
fn outcome_json(child: ChildOutput) -> String {
    if child.status == ExecutionStatus::Completed {
        let output = child.output.as_deref().unwrap_or("null");
        return format!("{{\"status\":\"completed\",\"output\":{output}}}");
    }
    let error = child.error.unwrap_or_else(|| {
        ExecutionError::generic(
            format!("Child finished {} without an error", child.status),
            false,
        )
    });
    let error = serde_json::to_string(&error).unwrap_or_else(|_| "null".to_owned());
    format!(
        "{{\"status\":\"{}\",\"error\":{error}}}",
        child.status.as_str()
    )
}

/// The step of a parent whose children all completed; `Ok(Err(_))` fails
/// the parent with that error.
async fn plan_advance(
    inner: &Inner,
    parent: &TaskExecution,
) -> StorageResult<Result<Advance, ExecutionError>> {
    let Some(spec) = inner.registry.get(&parent.task_id) else {
        return Ok(Err(ExecutionError::not_found(format!(
            "Task {} not found: parent execution {} cannot be advanced by executor {} where the task is not registered",
            parent.task_id, parent.execution_id, inner.executor_id
        ))));
    };
    let run_output = parent.run_output.as_deref().unwrap_or("null");
    let (gather, what) = match &spec.kind {
        Kind::Sequence { .. } | Kind::Looping { .. } => (Gather::Last, "Output"),
        Kind::Parent {
            finalize: Some(_),
            decides,
        } => (
            Gather::Json {
                prefix: finalize_input_prefix(&parent.input, run_output),
                suffix: CHILDREN_SUFFIX,
                outcomes: *decides,
            },
            "Finalize input",
        ),
        Kind::Parent { finalize: None, .. } | Kind::Simple | Kind::Sleeping => (
            Gather::Json {
                prefix: parent_result_prefix(run_output),
                suffix: CHILDREN_SUFFIX,
                outcomes: false,
            },
            "Output",
        ),
    };
    let children = match gather_children(inner, parent, &gather).await? {
        Ok(children) => children,
        Err(error) => return Ok(Err(error)),
    };
    let _span = tracing::debug_span!("advance", task_id = %parent.task_id, execution_id = %parent.execution_id).entered();
    Ok(step(inner, parent, spec, children, what))
}

/// The next step once the children are gathered.
fn step(
    inner: &Inner,
    parent: &TaskExecution,
    spec: &TaskSpec,
    children: Children,
    what: &str,
) -> Result<Advance, ExecutionError> {
    let consistent = children.contiguous
        && children.count == parent.children_count
        && children.completed == children.count;
    if !consistent {
        return Err(non_retryable(format!(
            "Inconsistent children of task {} execution {}: expected {} completed children, found {} of which {} completed",
            parent.task_id,
            parent.execution_id,
            parent.children_count,
            children.count,
            children.completed
        )));
    }
    match &spec.kind {
        Kind::Sequence { steps } => {
            let done = children.count as usize;
            let last = children.last.unwrap_or_else(|| "null".to_owned());
            match steps.get(done) {
                Some(step) => {
                    let step_spec = inner.registry.get(&step.id).unwrap_or(step);
                    size_error(
                        inner,
                        parent,
                        &format!("Input of step {done} ({})", step.id),
                        &last,
                    )?;
                    let child = new_descendant(
                        step_spec,
                        parent,
                        children.count,
                        false,
                        last,
                        &EnqueueOptions::default(),
                    )
                    .map_err(|e| non_retryable(e.to_string()))?;
                    tracing::debug!(step = done, "spawning next step");
                    Ok(Advance::SpawnNext { child })
                }
                None => Ok(Advance::Complete { output: last }),
            }
        }
        Kind::Looping {
            iteration,
            max_iterations,
            delay,
        } => {
            let done = children.count;
            let last = children.last.unwrap_or_else(|| "null".to_owned());
            let next = loop_next(&last, done, *max_iterations, delay).map_err(|message| {
                non_retryable(format!(
                    "Iteration {} ({}) of task {} execution {}: {message}",
                    done.saturating_sub(1),
                    iteration.id,
                    parent.task_id,
                    parent.execution_id
                ))
            })?;
            match next {
                LoopNext::Complete(output) => {
                    size_error(inner, parent, "Output", &output)?;
                    Ok(Advance::Complete { output })
                }
                LoopNext::Again(delay) => {
                    let iteration_spec = inner.registry.get(&iteration.id).unwrap_or(iteration);
                    let overrides = EnqueueOptions {
                        sleep_before_run: Some(delay),
                        ..EnqueueOptions::default()
                    };
                    let child = new_descendant(
                        iteration_spec,
                        parent,
                        done,
                        false,
                        parent.input.clone(),
                        &overrides,
                    )
                    .map_err(|e| non_retryable(e.to_string()))?;
                    tracing::debug!(iteration = done, ?delay, "spawning next iteration");
                    Ok(Advance::SpawnNext { child })
                }
            }
        }
        Kind::Parent { finalize, .. } => {
            let Some(json) = children.json else {
                return Err(size_error_len(inner, parent, what, children.json_len));
            };
            match finalize {
                Some(finalize) => {
                    let finalize_spec = inner.registry.get(&finalize.id).unwrap_or(finalize);
                    let finalize = new_descendant(
                        finalize_spec,
                        parent,
                        0,
                        true,
                        json,
                        &EnqueueOptions::default(),
                    )
                    .map_err(|e| non_retryable(e.to_string()))?;
                    Ok(Advance::Finalize { finalize })
                }
                None => Ok(Advance::Complete { output: json }),
            }
        }
        Kind::Simple | Kind::Sleeping => match children.json {
            Some(output) => Ok(Advance::Complete { output }),
            None => Err(size_error_len(inner, parent, what, children.json_len)),
        },
    }
}
