//! Maintenance loops: the canceller (fires the tokens of cancelled runs
//! hosted here), the lease expirer (recovers executions of dead executors),
//! the retention pruner (deletes old finished trees) and the storage event
//! dispatcher.

use super::{Inner, MAINTENANCE_BATCH, emit_read_back, idle, lock, log_loop_error, pause};
use crate::executor::backoff::ErrorBackoff;
use crate::executor::events::ExecutionEventKind;
use crate::executor::options::RetentionPolicy;
use crate::model::now_millis;
use crate::storage::PruneOutcome;
use crate::storage::StorageEvent;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

pub(super) async fn canceller_loop(inner: Arc<Inner>) {
    let stop = inner.lifecycle.stop_loops.clone();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    while !stop.is_cancelled() {
        if lock(&inner.tracking.running).is_empty() {
            if idle(&inner.wake.canceller, inner.options.poll_interval, &stop).await {
                break;
            }
            continue;
        }
        match inner
            .storage
            .claim_cancellations(&inner.executor_id, MAINTENANCE_BATCH)
            .await
        {
            Ok(ids) => {
                backoff.reset();
                {
                    let running = lock(&inner.tracking.running);
                    for id in &ids {
                        if let Some(run) = running.get(id) {
                            tracing::debug!(execution_id = %id, "cancelling run");
                            run.token.cancel();
                        }
                    }
                }
                if ids.len() >= MAINTENANCE_BATCH as usize {
                    continue;
                }
                if idle(&inner.wake.canceller, inner.options.poll_interval, &stop).await {
                    break;
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                log_loop_error("canceller", &error, &backoff);
                if pause(delay, &stop).await {
                    break;
                }
            }
        }
    }
}

pub(super) async fn expirer_loop(inner: Arc<Inner>) {
    let stop = inner.lifecycle.stop_loops.clone();
    let mut backoff = ErrorBackoff::new(
        inner.options.error_backoff_base,
        inner.options.error_backoff_cap,
    );
    let never = Notify::new();
    let interval = expiry_interval(
        inner.options.poll_interval,
        inner.options.lease.min(inner.options.lease_slack),
    );
    while !stop.is_cancelled() {
        match inner
            .storage
            .expire_leases(now_millis(), MAINTENANCE_BATCH)
            .await
        {
            Ok(outcome) => {
                backoff.reset();
                let count = outcome.requeued.len() + outcome.failed.len() + outcome.timed_out.len();
                if !outcome.timed_out.is_empty() {
                    tracing::info!(timed_out = ?outcome.timed_out, "sleeping executions timed out before a wake");
                }
                if count > 0 {
                    if !outcome.requeued.is_empty() || !outcome.failed.is_empty() {
                        tracing::warn!(requeued = ?outcome.requeued, failed = ?outcome.failed, "recovered executions with expired leases");
                    }
                    inner.wake.closer.notify_one();
                    if inner.events.is_observed() {
                        // A lost run counts as an attempt: requeued is a
                        // retry, failed is the end of the budget.
                        emit_read_back(&inner, &outcome.requeued, |row| {
                            crate::metrics::expired(&row.task_id);
                            Some(ExecutionEventKind::Retried)
                        })
                        .await;
                        emit_read_back(&inner, &outcome.failed, |row| {
                            crate::metrics::expired(&row.task_id);
                            Some(ExecutionEventKind::Failed)
                        })
                        .await;
                        emit_read_back(&inner, &outcome.timed_out, |_| {
                            Some(ExecutionEventKind::Failed)
                        })
                        .await;
                    }
                }
                repair_stuck(&inner).await;
                if count >= MAINTENANCE_BATCH as usize {
                    continue;
                }
                if idle(&never, interval, &stop).await {
                    break;
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                log_loop_error("expirer", &error, &backoff);
                if pause(delay, &stop).await {
                    break;
                }
            }
        }
    }
}

/// Repairs or ends rows that would hang forever (see
/// [`Storage::repair_stuck`]); runs with every lease check. A failure is
/// logged and tried again at the next check.
async fn repair_stuck(inner: &Inner) {
    let lease_slack_ms = inner.lease_slack_ms();
    match inner
        .storage
        .repair_stuck(now_millis(), lease_slack_ms, MAINTENANCE_BATCH)
        .await
    {
        Ok(outcome) => {
            if !outcome.leases_restored.is_empty() {
                tracing::warn!(executions = ?outcome.leases_restored, "running executions had no lease deadline; gave them one, so that lease expiry recovers them if their run is gone");
            }
            if !outcome.parents_failed.is_empty() {
                tracing::error!(parents = ?outcome.parents_failed, "parents were waiting for a finalize execution that does not exist; ended them as finalize_task_failed");
                inner.wake.closer.notify_one();
            }
        }
        Err(error) => {
            tracing::warn!(error = %error, "cannot check for stuck executions; trying again at the next lease check");
        }
    }
}

/// The retention pruner: every `policy.interval` (jittered), deletes
/// finished trees older than the policy's ages in batches of
/// `policy.batch` roots, one short transaction each, resting
/// `policy.rest` times a batch's duration after it, each batch resuming
/// after the previous one's last root, until a batch comes back short (see `docs/design.md`, "Retention"). The first round runs one
/// interval after the start. A storage error ends the round (logged); the
/// next round tries again.
pub(super) async fn retention_loop(inner: Arc<Inner>, policy: RetentionPolicy) {
    let stop = inner.lifecycle.stop_loops.clone();
    let never = Notify::new();
    while !stop.is_cancelled() {
        if idle(&never, policy.interval, &stop).await {
            break;
        }
        let mut total = PruneOutcome::default();
        // One pass: each batch resumes after the previous one's last root.
        let mut after = None;
        while !stop.is_cancelled() {
            let cutoffs = policy.cutoffs(now_millis());
            let started = tokio::time::Instant::now();
            match inner
                .storage
                .prune(&cutoffs, policy.batch, after, false)
                .await
            {
                Ok(outcome) => {
                    crate::metrics::pruned(outcome.executions);
                    total.add(outcome);
                    after = outcome.next;
                    if after.is_none() {
                        break;
                    }
                    // Between batches, rest so that the task load keeps the
                    // database (see RetentionPolicy::rest).
                    let rest = started.elapsed().saturating_mul(policy.rest);
                    if rest.is_zero() {
                        tokio::task::yield_now().await;
                    } else if pause(rest, &stop).await {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "cannot prune finished executions; trying again at the next round");
                    break;
                }
            }
        }
        if total.roots > 0 {
            tracing::info!(
                roots = total.roots,
                executions = total.executions,
                "pruned finished executions past their retention"
            );
        }
    }
}

/// Samples [`Storage::stats`](crate::storage::Storage::stats) into the
/// per-status gauge every `interval` (see [`crate::metrics`]). A failed
/// sample is logged and tried again at the next one.
#[cfg(feature = "metrics")]
pub(super) async fn metrics_loop(inner: Arc<Inner>, interval: Duration) {
    let stop = inner.lifecycle.stop_loops.clone();
    let mut seen = std::collections::HashSet::new();
    while !stop.is_cancelled() {
        match inner.storage.stats(now_millis()).await {
            Ok(stats) => crate::metrics::sample(&stats, &mut seen),
            Err(error) => {
                tracing::warn!(error = %error, "cannot sample the execution counts for the metrics; trying again at the next sample");
            }
        }
        if pause(interval, &stop).await {
            break;
        }
    }
}

pub(super) async fn dispatcher_loop(inner: Arc<Inner>) {
    let mut events = inner.storage.subscribe();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = inner.lifecycle.stop_loops.cancelled() => break,
        };
        match event {
            Ok(StorageEvent::ReadyWork) => inner.wake.claimer.notify_one(),
            // Not on `Changed`: a run's finish sends it, and its own
            // executor's writer wakes its closer (so sixteen processes do
            // not run sixteen empty close passes per finish); `CloseWork`
            // comes from changes nobody's closer follows up (cancel, wake,
            // expiry, repair). Not the canceller either: a cancellation
            // claim is a write (the single SQLite writer would spend its
            // time on them). Cancellations made in this process and
            // cascades found by this closer wake it directly; others are
            // found at the next poll.
            Ok(StorageEvent::CloseWork) => inner.wake.closer.notify_one(),
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => {
                inner.wake.claimer.notify_one();
                inner.wake.closer.notify_one();
                inner.wake.canceller.notify_one();
            }
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

/// How often leases are checked: a quarter of the shorter of the
/// heartbeat lease and the lease slack (an expired lease is noticed at most
/// 25 % late), but not more often than the poll interval nor less often
/// than ten poll intervals. Each check is a write, so checking at every
/// poll would compete with useful writes.
fn expiry_interval(poll: Duration, lease: Duration) -> Duration {
    (lease / 4).clamp(poll, poll.saturating_mul(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_interval_follows_the_slack_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(expiry_interval(ms(500), Duration::from_secs(300)), ms(5000));
        assert_eq!(expiry_interval(ms(20), ms(100)), ms(25));
        assert_eq!(expiry_interval(ms(20), ms(10)), ms(20));
        assert_eq!(expiry_interval(ms(50), Duration::from_secs(300)), ms(500));
    }
}
