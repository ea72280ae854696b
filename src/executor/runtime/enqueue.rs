//! Group commit of [`Executor::enqueue`](super::Executor::enqueue): many
//! concurrent single enqueues (one per request in a web service) share one
//! storage insert.
//!
//! - **Idle**: a caller that finds no insert of this executor in flight and
//!   nothing queued inserts its execution itself, right away: no timer, no
//!   hand-over, the latency of an unbatched enqueue.
//! - **Busy**: callers arriving while an insert is in flight queue their
//!   (already validated) execution and wait. When the insert in flight ends,
//!   one flusher task takes everything queued (at most [`MAX_BATCH`]) and
//!   inserts it with one [`Storage::insert`](crate::storage::Storage::insert)
//!   call (one statement, or one transaction), then the next batch, until
//!   the queue is empty. The batch forms while the storage is busy, so it
//!   grows with the load and adds no delay of its own.
//! - **Per-caller results**: an insert is all-or-nothing, so when a batch
//!   fails every execution of it is inserted again on its own and each
//!   caller gets the result of its own execution: a duplicate sleeping key
//!   (or anything else the storage refuses) fails that caller only. A
//!   retried execution whose earlier attempt had in fact committed is
//!   recognised by its id (never a second execution).
//! - **Guarantee**: `enqueue` returns `Ok` only once its row is committed,
//!   as before. The flusher is a task of its own, so a caller that stops
//!   waiting (its future dropped) never abandons the batch of the others.
//!
//! - **Claim at enqueue**: every insert here (and
//!   [`Executor::enqueue_many`](super::Executor::enqueue_many)'s) goes
//!   through [`insert_claiming`]: a started executor with free slots claims
//!   with the insert's own commit (docs/design.md, "Claiming at
//!   enqueue").
//!
//! [`Executor::enqueue_many`](super::Executor::enqueue_many) and the
//! transactional enqueues (`enqueue_in_sqlite`, `enqueue_in_postgres`) do
//! not go through the batcher.

use super::runner::{free_slots, start_claimed};
use super::{ExecutorError, Inner, insert_retrying, lock};
use crate::model::{NewExecution, now_millis};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Most executions one batched insert carries.
pub(crate) const MAX_BATCH: usize = 512;

/// Turns of the scheduler the flusher gives before taking a batch (no
/// timer: a few microseconds).
const HANDOVER_YIELDS: usize = 3;

/// One queued enqueue: its execution and where its result goes.
struct Queued {
    execution: NewExecution,
    done: oneshot::Sender<Result<(), ExecutorError>>,
}

/// The queue of one executor's single enqueues.
#[derive(Default)]
pub(crate) struct EnqueueBatcher {
    state: Mutex<BatchState>,
}

impl std::fmt::Debug for EnqueueBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("EnqueueBatcher")
            .field("busy", &state.busy)
            .field("queued", &state.queue.len())
            .finish()
    }
}

#[derive(Default)]
struct BatchState {
    /// An insert of this batcher is in flight (a caller's own, or the
    /// flusher's); while it is, new callers queue.
    busy: bool,
    queue: Vec<Queued>,
}

/// Releases the batcher when the idle caller's own insert ends (or its
/// future is dropped): hands the queue, if any, to a flusher task.
struct Release<'a> {
    inner: &'a Arc<Inner>,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        hand_over(self.inner);
    }
}

/// Inserts `execution` through the batcher of `inner` and returns once it
/// is committed (or failed).
pub(crate) async fn enqueue_one(
    inner: &Arc<Inner>,
    execution: &NewExecution,
) -> Result<(), ExecutorError> {
    let waiting = {
        let mut state = lock(&inner.enqueues.state);
        if state.busy {
            let (done, waiting) = oneshot::channel();
            state.queue.push(Queued {
                execution: execution.clone(),
                done,
            });
            Some(waiting)
        } else {
            state.busy = true;
            None
        }
    };
    match waiting {
        Some(waiting) => match waiting.await {
            Ok(result) => result,
            // The flusher ended without answering: only when the runtime
            // shuts down under it.
            Err(_) => Err(ExecutorError::Shutdown),
        },
        None => {
            let _release = Release { inner };
            insert_claiming(inner, std::slice::from_ref(execution)).await
        }
    }
}

/// Called when an insert of the batcher ended: clears `busy` if nothing is
/// queued, otherwise spawns the flusher (which keeps it set).
fn hand_over(inner: &Arc<Inner>) {
    let mut state = lock(&inner.enqueues.state);
    if state.queue.is_empty() {
        state.busy = false;
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            drop(state);
            runtime.spawn(flush(inner.clone()));
        }
        Err(_) => {
            // No runtime to insert on (the caller's future was dropped
            // outside of one): the queued callers cannot be served.
            state.busy = false;
            for queued in state.queue.drain(..) {
                let _ = queued
                    .done
                    .send(Err(ExecutorError::NoRuntime("enqueue batcher".to_owned())));
            }
        }
    }
}

/// Inserts the queued executions, one batch at a time, until the queue is
/// empty.
async fn flush(inner: Arc<Inner>) {
    loop {
        // The callers just answered (and those that queued meanwhile)
        // usually enqueue again at once (a loop, a busy service): give them
        // a few turns of the scheduler to join this batch, rather than
        // taking the first of them alone and the rest in the next one.
        for _ in 0..HANDOVER_YIELDS {
            tokio::task::yield_now().await;
        }
        let batch: Vec<Queued> = {
            let mut state = lock(&inner.enqueues.state);
            if state.queue.is_empty() {
                state.busy = false;
                return;
            }
            let take = state.queue.len().min(MAX_BATCH);
            state.queue.drain(..take).collect()
        };
        insert_batch(&inner, batch).await;
    }
}

/// Inserts one batch and answers each of its callers.
async fn insert_batch(inner: &Arc<Inner>, batch: Vec<Queued>) {
    let (executions, senders): (Vec<NewExecution>, Vec<_>) =
        batch.into_iter().map(|q| (q.execution, q.done)).unzip();
    match insert_claiming(inner, &executions).await {
        Ok(()) => {
            for done in senders {
                let _ = done.send(Ok(()));
            }
        }
        Err(error) if executions.len() == 1 => {
            if let Some(done) = senders.into_iter().next() {
                let _ = done.send(Err(error));
            }
        }
        Err(error) => {
            tracing::debug!(error = %error, count = executions.len(), "batched enqueue failed; inserting its executions one by one");
            // Each on its own, so that each caller gets its own result; an
            // earlier attempt of the batch may have committed (its answer
            // lost), which a duplicate id then reveals.
            let results = futures::future::join_all(
                executions
                    .iter()
                    .map(|e| insert_retrying(inner, std::slice::from_ref(e), true)),
            )
            .await;
            for (done, result) in senders.into_iter().zip(results) {
                let _ = done.send(result);
            }
        }
    }
}

/// Inserts `executions` (retrying transient errors, see
/// `insert_retrying`) and, when this executor claims at enqueue
/// ([`ExecutorOptions::claim_at_enqueue`](crate::ExecutorOptions::claim_at_enqueue)),
/// runs and has free slots, claims with the same commit the executions it
/// inserts (unless older ones are ready: see
/// [`Storage::insert_and_claim`](crate::storage::Storage::insert_and_claim)),
/// and starts their runs.
///
/// Only the first attempt claims. When it fails with a transient error its
/// commit may still have happened (the answer lost): the retries are plain
/// inserts, which recognise an earlier commit by its ids, and any row the
/// lost commit claimed is recovered at the end of its heartbeat lease, as
/// after a claim whose answer was lost.
pub(crate) async fn insert_claiming(
    inner: &Arc<Inner>,
    executions: &[NewExecution],
) -> Result<(), ExecutorError> {
    let Some(permits) = claim_slots(inner, executions.len()) else {
        return insert_retrying(inner, executions, false).await;
    };
    let limit = u32::try_from(permits.num_permits()).unwrap_or(u32::MAX);
    match inner
        .storage
        .insert_and_claim(
            executions,
            &inner.executor_id,
            now_millis(),
            limit,
            inner.lease_slack_ms(),
            inner.lease_ms(),
        )
        .await
    {
        Ok(rows) => {
            start_claimed(inner, rows, permits).await;
            Ok(())
        }
        Err(error) if error.is_transient() => {
            drop(permits);
            tracing::warn!(error = %error, "transient storage error while enqueueing, retrying");
            insert_retrying(inner, executions, true).await
        }
        Err(source) => Err(ExecutorError::Storage {
            operation: "insert",
            source,
        }),
    }
}

/// The slots an enqueue of `rows` executions claims with: none unless
/// claiming at enqueue is on, the executor is started and not shutting
/// down, and the insert is one statement's worth (a larger one claims
/// nothing, and its slots would keep the claimer from others' work); at
/// most one per row and [`max_batch`](crate::ExecutorOptions::max_batch).
fn claim_slots(inner: &Inner, rows: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
    if !inner.options.claim_at_enqueue
        || rows > crate::storage::CLAIM_AT_INSERT_MAX
        || !inner.lifecycle.started.load(Ordering::SeqCst)
        || inner.lifecycle.shutdown.is_cancelled()
    {
        return None;
    }
    free_slots(inner, rows.min(inner.options.max_batch as usize))
}
