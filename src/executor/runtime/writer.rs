//! The result writer: results of many runs are written with one storage
//! call per kind (finish, retry, wait for children) per batch.

use super::runner::{fail_item, non_retryable};
use super::{Completion, Inner, RunEntry, Write, WriterMessage, finished_event_kind, lock};
use crate::executor::backoff::ErrorBackoff;
use crate::executor::events::{ExecutionEvent, ExecutionEventKind};
use crate::model::{Millis, now_millis};
use crate::storage::{FinishItem, RetryItem, StorageError, StorageResult, WaitItem};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

pub(super) async fn writer_loop(inner: Arc<Inner>, mut rx: mpsc::UnboundedReceiver<WriterMessage>) {
    let mut buffer = Vec::with_capacity(inner.options.write_batch);
    loop {
        let received = tokio::select! {
            n = rx.recv_many(&mut buffer, inner.options.write_batch) => n,
            () = inner.lifecycle.stop_loops.cancelled() => 0,
        };
        if received == 0 {
            break;
        }
        let mut completions = Vec::with_capacity(buffer.len());
        let mut barriers = Vec::new();
        for message in buffer.drain(..) {
            match message {
                WriterMessage::Done(completion) => completions.push(completion),
                WriterMessage::Barrier(ack) => barriers.push(ack),
            }
        }
        let close_work = completions.iter().any(Completion::leaves_close_work);
        write_batch(&inner, &mut completions).await;
        {
            let mut running = lock(&inner.tracking.running);
            for completion in &completions {
                Inner::forget_run(&mut running, &completion.execution_id, &completion.run);
            }
        }
        // Dropping the completions releases their permits; a claimer that
        // waits for slots is woken (one with free slots is not: a finish
        // makes no work ready, and a retry's or release's own wake-up
        // reaches it through the storage's events).
        drop(completions);
        if inner
            .wake
            .claimer_waits_for_slots
            .swap(false, Ordering::SeqCst)
        {
            inner.wake.claimer.notify_one();
        }
        if close_work {
            inner.wake.closer.notify_one();
        }
        inner.wake.run_finished.notify_waiters();
        for ack in barriers {
            let _ = ack.send(());
        }
    }
}

impl Completion {
    /// Whether writing this completion may leave the closer something to
    /// do: a finish the storage does not close in the same statement (a
    /// child, a parent, an unreadable row; a retry too, which becomes a
    /// failure if the storage refuses it), or a parent that now waits for
    /// children that may all have finished already. A top-level execution
    /// without children or finalize is closed by its own finish, so the
    /// closer is not woken for it (docs/design.md, "Wake-ups").
    fn leaves_close_work(&self) -> bool {
        match &self.write {
            // A refused retry is written as a failure instead.
            Write::Finish(_) | Write::Retry(_) => {
                !self.meta.as_ref().is_some_and(|m| m.closes_at_finish)
            }
            Write::Wait(_) => true,
            Write::Nothing => false,
        }
    }
}

/// The event a completion's write reports once the storage accepted it,
/// with when its run started.
fn run_event(
    completion: &Completion,
    write: &Write,
) -> Option<(ExecutionEvent, std::time::Instant)> {
    let meta = completion.meta.as_ref()?;
    let (kind, error) = match write {
        Write::Finish(item) => (finished_event_kind(item.status)?, item.error.clone()),
        Write::Retry(item) => (ExecutionEventKind::Retried, Some(item.error.clone())),
        Write::Wait(_) | Write::Nothing => return None,
    };
    let mut event = meta.event(&completion.execution_id, kind);
    event.error = error;
    Some((event, meta.started))
}

/// Emits the pending events of the executions whose write was accepted.
fn emit_written(
    inner: &Inner,
    pending: &mut HashMap<String, (ExecutionEvent, std::time::Instant)>,
    written: &[String],
) {
    for execution_id in written {
        if let Some((mut event, started)) = pending.remove(execution_id) {
            event.duration = Some(started.elapsed());
            inner.events.emit(event);
        }
    }
}

async fn write_batch(inner: &Inner, completions: &mut [Completion]) {
    let mut finishes = Vec::new();
    let mut retries = Vec::new();
    let mut waits = Vec::new();
    // Held until the batch's events are emitted (see `EventHub::order`).
    let order = inner.events.ordered().await;
    let observed = order.is_some();
    let mut pending = HashMap::new();
    let now = now_millis();
    for completion in completions.iter_mut() {
        let give_up_at = give_up_at(inner, completion.lease_expires_at);
        let write = std::mem::replace(&mut completion.write, Write::Nothing);
        if matches!(write, Write::Nothing) {
            continue;
        }
        if !completion.run.holds(now) {
            dropped(&completion.execution_id, &completion.run);
            continue;
        }
        if observed && let Some(event) = run_event(completion, &write) {
            pending.insert(completion.execution_id.clone(), event);
        }
        let held = Held {
            give_up_at,
            run: completion.run.clone(),
        };
        match write {
            Write::Finish(item) => finishes.push((item, held)),
            Write::Retry(item) => retries.push((item, held)),
            Write::Wait(item) => waits.push((item, held)),
            Write::Nothing => {}
        }
    }
    let ((finished, finish_refused), (retried, retry_refused), (_waiting, wait_refused)) = tokio::join!(
        write_all(inner, finishes),
        write_all(inner, retries),
        write_all(inner, waits),
    );
    emit_written(inner, &mut pending, &finished);
    emit_written(inner, &mut pending, &retried);
    // Items the storage refused for a non-transient reason end the
    // execution with an error that says so, rather than leaving it to be
    // re-run by lease recovery with the same refused result. Transient
    // errors never get here: they are retried (see `write_until`).
    let mut fallback: Vec<(FinishItem, Held)> = Vec::new();
    for (item, held, error) in finish_refused {
        fallback.push((
            refusal(&item.execution_id, item.attempt, "result", &error),
            held,
        ));
    }
    for (item, held, error) in retry_refused {
        fallback.push((
            refusal(&item.execution_id, item.attempt, "retry", &error),
            held,
        ));
    }
    for (item, held, error) in wait_refused {
        fallback.push((
            refusal(&item.execution_id, item.attempt, "children", &error),
            held,
        ));
    }
    for (item, held) in fallback {
        let one = std::slice::from_ref(&item);
        match write_until(inner, "finish", &held, || {
            inner.storage.finish(&inner.executor_id, now_millis(), one)
        })
        .await
        {
            Ok(written) => {
                if let Some((event, _)) = pending.get_mut(&item.execution_id) {
                    event.kind = ExecutionEventKind::Failed;
                    event.error.clone_from(&item.error);
                }
                emit_written(inner, &mut pending, &written);
            }
            Err(WriteFailure::Refused(error)) => {
                tracing::error!(execution_id = %item.execution_id, error = %error, "the storage refused even the error that explains its refusal; lease recovery will handle the execution");
            }
            Err(WriteFailure::Abandoned(error)) => abandoned(&item.execution_id, &error),
            Err(WriteFailure::Lost) => dropped(&item.execution_id, &held.run),
        }
    }
}

/// How long one run's write may be retried: until `give_up_at` (the
/// lease's timeout bound) and while its run holds the lease.
struct Held {
    give_up_at: Millis,
    run: Arc<RunEntry>,
}

impl Held {
    fn holds(&self, now: Millis) -> bool {
        self.run.holds(now)
    }
}

fn dropped(execution_id: &str, run: &RunEntry) {
    tracing::warn!(execution_id, attempt = ?run.attempt, "the run lost its lease; its result is dropped, lease recovery decides what happens to the execution");
}

/// The failure written in place of a refused write.
fn refusal(
    execution_id: &str,
    attempt: Option<u32>,
    what: &str,
    error: &StorageError,
) -> FinishItem {
    fail_item(
        execution_id,
        attempt,
        non_retryable(format!(
            "Cannot store the {what} of execution {execution_id}: the storage refused it: {}",
            error_chain(error)
        ))
        .internal(),
    )
}

/// An error and its sources, `: `-separated.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn abandoned(execution_id: &str, error: &StorageError) {
    tracing::error!(execution_id, error = %error, "cannot write the result before the lease ends; lease recovery will re-run the execution");
}

/// Until when the writer keeps retrying a transient failure of a run's
/// write: the end of the run's lease (after it, lease recovery owns the
/// execution), or one lease slack from now when the lease is unknown.
fn give_up_at(inner: &Inner, lease_expires_at: Option<Millis>) -> Millis {
    lease_expires_at.unwrap_or_else(|| {
        now_millis().saturating_add(
            i64::try_from(inner.options.lease_slack.as_millis()).unwrap_or(i64::MAX),
        )
    })
}

/// Why a write did not land.
#[derive(Debug)]
enum WriteFailure {
    /// A non-transient error: retrying the same write cannot succeed.
    Refused(StorageError),
    /// Transient errors until the lease ended (or the executor stopped): the
    /// execution is left to lease recovery.
    Abandoned(StorageError),
    /// The run lost its lease meanwhile: its result is dropped.
    Lost,
}

/// Runs a storage write of one run, retrying transient errors with backoff
/// until `held.give_up_at` (or until the executor's loops stop), as long as
/// the run holds its lease.
async fn write_until<T, F, Fut>(
    inner: &Inner,
    operation: &'static str,
    held: &Held,
    mut call: F,
) -> Result<T, WriteFailure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StorageResult<T>>,
{
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    loop {
        if !held.holds(now_millis()) {
            return Err(WriteFailure::Lost);
        }
        let error = match call().await {
            Ok(value) => return Ok(value),
            Err(error) if !error.is_transient() => return Err(WriteFailure::Refused(error)),
            Err(error) => error,
        };
        retry_pause(inner, operation, &mut backoff, held.give_up_at, error).await?;
    }
}

/// After a transient error: sleeps the next backoff delay, or gives up
/// (the execution is left to lease recovery) when `give_up_at` passed or
/// the executor stops.
async fn retry_pause(
    inner: &Inner,
    operation: &'static str,
    backoff: &mut ErrorBackoff,
    give_up_at: Millis,
    error: StorageError,
) -> Result<(), WriteFailure> {
    let left = give_up_at.saturating_sub(now_millis());
    if left <= 0 || inner.lifecycle.stop_loops.is_cancelled() {
        return Err(WriteFailure::Abandoned(error));
    }
    let delay = backoff
        .next_delay()
        .min(Duration::from_millis(u64::try_from(left).unwrap_or(0)));
    tracing::warn!(operation, attempt = backoff.consecutive_errors(), error = %error, ?delay, "transient storage error while writing results, retrying");
    tokio::select! {
        () = tokio::time::sleep(delay) => Ok(()),
        () = inner.lifecycle.stop_loops.cancelled() => Err(WriteFailure::Abandoned(error)),
    }
}

/// One kind of result write, batched by the writer.
trait WriteKind: Sized + Send + Sync {
    /// The operation's name in logs.
    const OPERATION: &'static str;
    /// The execution the item writes.
    fn execution_id(&self) -> &str;
    /// One storage call for `items`.
    fn write<'a>(inner: &'a Inner, items: &'a [Self]) -> BoxFuture<'a, StorageResult<Vec<String>>>;
}

impl WriteKind for FinishItem {
    const OPERATION: &'static str = "finish";
    fn execution_id(&self) -> &str {
        &self.execution_id
    }
    fn write<'a>(inner: &'a Inner, items: &'a [Self]) -> BoxFuture<'a, StorageResult<Vec<String>>> {
        inner
            .storage
            .finish(&inner.executor_id, now_millis(), items)
    }
}

impl WriteKind for RetryItem {
    const OPERATION: &'static str = "retry";
    fn execution_id(&self) -> &str {
        &self.execution_id
    }
    fn write<'a>(inner: &'a Inner, items: &'a [Self]) -> BoxFuture<'a, StorageResult<Vec<String>>> {
        inner.storage.retry(&inner.executor_id, now_millis(), items)
    }
}

impl WriteKind for WaitItem {
    const OPERATION: &'static str = "wait_for_children";
    fn execution_id(&self) -> &str {
        &self.execution_id
    }
    fn write<'a>(inner: &'a Inner, items: &'a [Self]) -> BoxFuture<'a, StorageResult<Vec<String>>> {
        inner
            .storage
            .wait_for_children(&inner.executor_id, now_millis(), items)
    }
}

/// Drops from a batch (items and their leases, in step) the items whose
/// run lost its lease.
fn retain_held<I: WriteKind>(batch: &mut Vec<I>, held: &mut Vec<Held>) {
    let now = now_millis();
    if held.iter().all(|h| h.holds(now)) {
        return;
    }
    let (kept, kept_held): (Vec<I>, Vec<Held>) = std::mem::take(batch)
        .into_iter()
        .zip(std::mem::take(held))
        .filter(|(item, h)| {
            let keep = h.holds(now);
            if !keep {
                dropped(item.execution_id(), &h.run);
            }
            keep
        })
        .unzip();
    *batch = kept;
    *held = kept_held;
}

/// Writes `items` with one call; if the storage refuses the batch, writes
/// them one by one so that one refused item does not hold back the others.
/// Returns the ids the storage accepted, and the items that were refused on
/// their own, with the error.
/// Transient errors are retried until the latest lease of the batch ends
/// (each item's own lease when written one by one); what is still not
/// written then is left to lease recovery. Before each try, the items
/// whose run lost its lease are dropped.
async fn write_all<I: WriteKind>(
    inner: &Inner,
    items: Vec<(I, Held)>,
) -> (Vec<String>, Vec<(I, Held, StorageError)>) {
    if items.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let (mut batch, mut held): (Vec<I>, Vec<Held>) = items.into_iter().unzip();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    let error = loop {
        retain_held(&mut batch, &mut held);
        if batch.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let error = match I::write(inner, &batch).await {
            Ok(written) => return (written, Vec::new()),
            Err(error) if !error.is_transient() => break error,
            Err(error) => error,
        };
        let latest = held.iter().map(|h| h.give_up_at).max().unwrap_or_default();
        if let Err(WriteFailure::Abandoned(error)) =
            retry_pause(inner, I::OPERATION, &mut backoff, latest, error).await
        {
            for item in &batch {
                abandoned(item.execution_id(), &error);
            }
            return (Vec::new(), Vec::new());
        }
    };
    if batch.len() == 1 {
        let mut refused = Vec::with_capacity(1);
        if let (Some(item), Some(h)) = (batch.into_iter().next(), held.into_iter().next()) {
            refused.push((item, h, error));
        }
        return (Vec::new(), refused);
    }
    tracing::warn!(operation = I::OPERATION, error = %error, count = batch.len(), "the storage refused a batched write; writing one by one");
    let mut refused = Vec::new();
    let mut written = Vec::new();
    for (item, h) in batch.into_iter().zip(held) {
        let one = std::slice::from_ref(&item);
        match write_until(inner, I::OPERATION, &h, || I::write(inner, one)).await {
            Ok(ids) => written.extend(ids),
            Err(WriteFailure::Refused(error)) => {
                tracing::error!(operation = I::OPERATION, execution_id = %item.execution_id(), error = %error, "the storage refused a result");
                refused.push((item, h, error));
            }
            Err(WriteFailure::Abandoned(error)) => abandoned(item.execution_id(), &error),
            Err(WriteFailure::Lost) => dropped(item.execution_id(), &h.run),
        }
    }
    (written, refused)
}
