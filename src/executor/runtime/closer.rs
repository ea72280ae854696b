//! The closer: closes finished executions (propagating to parents and
//! descendants in the storage) and advances parents whose children all
//! completed (complete, spawn the finalize or the next sequence step).

use super::runner::{finalize_input, new_descendant, non_retryable, parent_result, size_error};
use super::*;

pub(super) async fn closer_loop(inner: Arc<Inner>) {
    let stop = inner.stop_loops.clone();
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
                if idle(&inner.wake_closer, inner.options.poll_interval, &stop).await {
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
        inner.wake_canceller.notify_one();
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

async fn advance(inner: &Inner, parents: Vec<Loaded>) -> StorageResult<()> {
    let items: Vec<Option<AdvanceItem>> = futures::stream::iter(parents)
        .map(|parent| advance_item(inner, parent))
        .buffer_unordered(PARENT_CONCURRENCY)
        .collect::<Vec<StorageResult<Option<AdvanceItem>>>>()
        .await
        .into_iter()
        .collect::<StorageResult<_>>()?;
    let items: Vec<AdvanceItem> = items.into_iter().flatten().collect();
    if items.is_empty() {
        return Ok(());
    }
    let advanced = inner.storage.advance_parents(now_millis(), &items).await?;
    tracing::debug!(count = advanced.len(), "advanced parents");
    Ok(())
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
    let children = inner.storage.get_children(&parent.execution_id).await?;
    Ok(Some(AdvanceItem {
        execution_id: parent.execution_id.clone(),
        action: match plan_advance(inner, &parent, children) {
            Ok(action) => action,
            Err(error) => Advance::Fail {
                status: ExecutionStatus::Failed,
                error,
            },
        },
    }))
}

fn plan_advance(
    inner: &Inner,
    parent: &TaskExecution,
    children: Vec<Loaded>,
) -> Result<Advance, ExecutionError> {
    let _span = tracing::debug_span!("advance", task_id = %parent.task_id, execution_id = %parent.execution_id).entered();
    let spec = inner.registry.get(&parent.task_id).ok_or_else(|| {
        ExecutionError::not_found(format!(
            "Task {} not found: parent execution {} cannot be advanced by executor {} where the task is not registered",
            parent.task_id, parent.execution_id, inner.executor_id
        ))
    })?;
    let mut regular: Vec<TaskExecution> = Vec::with_capacity(children.len());
    for child in children {
        let child = child.map_err(|corrupt: CorruptRow| {
            non_retryable(format!(
                "Cannot read a child of task {} execution {}: {corrupt}",
                parent.task_id, parent.execution_id
            ))
        })?;
        if !child.parent.as_ref().is_some_and(|p| p.is_finalize) {
            regular.push(child);
        }
    }
    regular.sort_by_key(|c| c.parent.as_ref().map_or(0, |p| p.index));
    let consistent = regular.len() == parent.children_count as usize
        && regular
            .iter()
            .all(|c| c.status == ExecutionStatus::Completed);
    if !consistent {
        return Err(non_retryable(format!(
            "Inconsistent children of task {} execution {}: expected {} completed children, found {} of which {} completed",
            parent.task_id,
            parent.execution_id,
            parent.children_count,
            regular.len(),
            regular
                .iter()
                .filter(|c| c.status == ExecutionStatus::Completed)
                .count()
        )));
    }
    let outputs: Vec<&str> = regular
        .iter()
        .map(|c| c.output.as_deref().unwrap_or("null"))
        .collect();
    let run_output = parent.run_output.as_deref().unwrap_or("null");
    match &spec.kind {
        Kind::Sequence { steps } => {
            let done = regular.len();
            let last = outputs.last().copied().unwrap_or("null");
            match steps.get(done) {
                Some(step) => {
                    let step_spec = inner.registry.get(&step.id).unwrap_or(step);
                    size_error(
                        inner,
                        parent,
                        &format!("Input of step {done} ({})", step.id),
                        last,
                    )?;
                    let child = new_descendant(
                        step_spec,
                        parent,
                        u32::try_from(done).unwrap_or(u32::MAX),
                        false,
                        last.to_owned(),
                        &EnqueueOptions::default(),
                    )
                    .map_err(|e| non_retryable(e.to_string()))?;
                    tracing::debug!(step = done, "spawning next step");
                    Ok(Advance::SpawnNext { child })
                }
                None => Ok(Advance::Complete {
                    output: last.to_owned(),
                }),
            }
        }
        Kind::Parent {
            finalize: Some(finalize),
        } => {
            let finalize_spec = inner.registry.get(&finalize.id).unwrap_or(finalize);
            let input = finalize_input(&parent.input, run_output, &outputs);
            size_error(inner, parent, "Finalize input", &input)?;
            let finalize = new_descendant(
                finalize_spec,
                parent,
                0,
                true,
                input,
                &EnqueueOptions::default(),
            )
            .map_err(|e| non_retryable(e.to_string()))?;
            Ok(Advance::Finalize { finalize })
        }
        Kind::Parent { finalize: None } | Kind::Simple => {
            let output = parent_result(run_output, &outputs);
            size_error(inner, parent, "Output", &output)?;
            Ok(Advance::Complete { output })
        }
    }
}
