//! The heartbeat: every [`ExecutorOptions::heartbeat_interval`] the
//! executor extends the lease of every run it tracks, with one batched
//! storage call, and gives up as lost the runs whose lease it could not
//! extend (docs/design.md, "Leases and fencing").
//!
//! [`ExecutorOptions::heartbeat_interval`]: crate::ExecutorOptions::heartbeat_interval

use super::{Inner, RunEntry, lock, pause};
use crate::model::now_millis;
use crate::storage::RunRef;
use std::collections::HashSet;
use std::sync::Arc;

pub(super) async fn heartbeat_loop(inner: Arc<Inner>) {
    let stop = inner.lifecycle.stop_loops.clone();
    let interval = inner.options.effective_heartbeat_interval();
    let lease_ms = inner.lease_ms();
    let lease = i64::try_from(lease_ms).unwrap_or(i64::MAX);
    loop {
        if pause(interval, &stop).await {
            break;
        }
        // Every run not yet lost, including those whose result waits for
        // the writer: their rows are still `running` and must stay held.
        let runs: Vec<(String, Arc<RunEntry>)> = lock(&inner.tracking.running)
            .iter()
            .filter(|(_, run)| !run.is_lost())
            .map(|(id, run)| (id.clone(), run.clone()))
            .collect();
        if runs.is_empty() {
            continue;
        }
        let refs: Vec<RunRef> = runs.iter().map(|(id, run)| run.run_ref(id)).collect();
        let now = now_millis();
        match inner
            .storage
            .heartbeat(&inner.executor_id, now, lease_ms, &refs)
            .await
        {
            Ok(extended) => {
                let extended: HashSet<&str> = extended.iter().map(String::as_str).collect();
                let deadline = now.saturating_add(lease);
                for (id, run) in &runs {
                    if extended.contains(id.as_str()) {
                        run.extend(deadline);
                    } else {
                        lose_if_tracked(
                            &inner,
                            id,
                            run,
                            "its execution is no longer running here at this attempt (recovered, re-claimed, cancelled or finished)",
                        );
                    }
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, runs = runs.len(), "cannot extend the lease of this executor's runs");
                // A run whose last written deadline has passed may already
                // belong to another executor: it is lost.
                let now = now_millis();
                for (id, run) in &runs {
                    if !run.holds(now) {
                        lose_if_tracked(
                            &inner,
                            id,
                            run,
                            "its lease could not be extended before it ended (the storage is unreachable)",
                        );
                    }
                }
            }
        }
    }
}

/// Marks `run` lost (its token fires, its result will be dropped) when it
/// is still the tracked run of `execution_id` (a run the writer forgot
/// meanwhile had its result stored: that is why its row was not extended).
/// Reported (log, [`ExecutionEventKind::Lost`]) when the run was still in
/// progress.
///
/// [`ExecutionEventKind::Lost`]: crate::ExecutionEventKind::Lost
fn lose_if_tracked(inner: &Inner, execution_id: &str, run: &Arc<RunEntry>, why: &str) {
    let tracked = lock(&inner.tracking.running)
        .get(execution_id)
        .is_some_and(|current| Arc::ptr_eq(current, run));
    if !tracked {
        return;
    }
    // A run that already ended waits for the writer (or is being written):
    // its result is dropped unless it landed already, and nothing is left
    // to stop, so this is no news.
    let ended = run.token.is_cancelled();
    if run.lose() && !ended {
        tracing::warn!(
            execution_id,
            attempt = ?run.attempt,
            "run lost: {why}; its cancellation token fired and its result will be dropped"
        );
        inner.report_lost(execution_id, run);
    }
}
