//! Lifecycle events: what happened to an execution in this executor,
//! delivered to [`ExecutorBuilder::on_event`](super::ExecutorBuilder::on_event)
//! callbacks and [`Executor::events`](super::Executor::events) receivers.

use crate::model::ExecutionError;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard, broadcast};

/// Events buffered per [`Executor::events`](super::Executor::events)
/// receiver before the slowest one lags.
pub(crate) const EVENT_CAPACITY: usize = 4096;

/// What happened to an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExecutionEventKind {
    /// A run started: this executor claimed the execution.
    Started,
    /// A run failed with a retryable error and the retry is scheduled
    /// ([`ExecutionEvent::error`] says why).
    Retried,
    /// The execution completed (for a parent: once its children and
    /// finalize completed).
    Completed,
    /// The execution failed (its error in [`ExecutionEvent::error`]): its
    /// run failed for good, or (a parent) a child or its finalize failed.
    Failed,
    /// The execution was cancelled: through a handle of this executor, or
    /// its run here ended with a cancelled error.
    Cancelled,
    /// The run's last attempt timed out.
    TimedOut,
    /// This executor gave its run up as lost: the run's lease was not
    /// extended (its execution was recovered, re-claimed, cancelled or
    /// finished elsewhere, or the storage was unreachable for a whole
    /// lease). The run's cancellation token fired and its result is
    /// dropped; lease recovery decides what happens to the execution
    /// (docs/design.md, "Leases and fencing").
    Lost,
}

/// One lifecycle event of an execution, emitted only after the storage
/// accepted the state change it reports, by the executor that made the
/// change: the one that ran the attempt (started, retried, completed,
/// failed, timed out), whose closer finished a parent through its finalize
/// or its children (and cancelled the descendants of a failed one), whose
/// lease check recovered an expired run (`Retried`, or `Failed` once the
/// budget is spent), or whose handle cancelled the execution. Executors
/// sharing a storage each report their own changes; events of one
/// execution arrive in the order of its attempts.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExecutionEvent {
    /// What happened.
    pub kind: ExecutionEventKind,
    /// The execution id (`te_…`).
    pub execution_id: String,
    /// The task id.
    pub task_id: String,
    /// The attempt the event belongs to (0 for the first run).
    pub attempt: u32,
    /// How long the run took, from its claim to the written result, for the
    /// events that end a run in this executor; for a parent's completion or
    /// failure, the time since its run started. `None` for `Started` and
    /// for cancellations.
    pub duration: Option<Duration>,
    /// The error, for `Retried`, `Failed`, `Cancelled` and `TimedOut`.
    pub error: Option<ExecutionError>,
}

/// A callback registered with `ExecutorBuilder::on_event`.
pub(crate) type EventCallback = Arc<dyn Fn(&ExecutionEvent) + Send + Sync>;

/// Where events go: the callbacks, then the broadcast channel.
pub(crate) struct EventHub {
    callbacks: Vec<EventCallback>,
    sender: broadcast::Sender<ExecutionEvent>,
    /// Held by the result writer from before a batch is written until its
    /// events are emitted, and by the claimer while it emits `Started`: a
    /// retry written by the writer can be claimed again at once, and the
    /// new run's `Started` must not overtake the `Retried` that precedes it.
    order: Mutex<()>,
}

impl EventHub {
    pub(crate) fn new(callbacks: Vec<EventCallback>) -> Self {
        let (sender, _) = broadcast::channel(EVENT_CAPACITY);
        Self {
            callbacks,
            sender,
            order: Mutex::new(()),
        }
    }

    /// The ordering guard (see `order`), when anybody listens.
    pub(crate) async fn ordered(&self) -> Option<MutexGuard<'_, ()>> {
        if self.is_observed() {
            Some(self.order.lock().await)
        } else {
            None
        }
    }

    /// Whether anybody listens (events are not even built otherwise): with
    /// the `metrics` feature, always (the metrics are recorded from the
    /// events, see [`crate::metrics`]).
    pub(crate) fn is_observed(&self) -> bool {
        cfg!(feature = "metrics") || !self.callbacks.is_empty() || self.sender.receiver_count() > 0
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<ExecutionEvent> {
        self.sender.subscribe()
    }

    /// Records the metrics of `event` and delivers it. A panicking callback is logged and does not stop
    /// the executor loop that emitted the event.
    pub(crate) fn emit(&self, event: ExecutionEvent) {
        crate::metrics::event(&event);
        for callback in &self.callbacks {
            if std::panic::catch_unwind(AssertUnwindSafe(|| callback(&event))).is_err() {
                tracing::error!(execution_id = %event.execution_id, kind = ?event.kind, "an on_event callback panicked");
            }
        }
        // No receiver is not an error.
        let _ = self.sender.send(event);
    }
}

impl std::fmt::Debug for EventHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventHub")
            .field("callbacks", &self.callbacks.len())
            .field("receivers", &self.sender.receiver_count())
            .finish()
    }
}
