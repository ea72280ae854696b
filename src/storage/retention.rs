//! Retention: which finished trees [`Storage::prune`](super::Storage::prune)
//! deletes (see `docs/design.md`, "Retention"). The rules every backend
//! shares: the cutoffs it honours and the order it takes them in.

use crate::model::{ExecutionStatus, Millis};

/// One finished status's cutoff for [`Storage::prune`](super::Storage::prune):
/// a top-level execution in `status` is eligible once it finished before
/// `finished_before` (and its whole tree is finished and closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneCutoff {
    /// A finished status (an active one is ignored: it is never pruned).
    pub status: ExecutionStatus,
    /// Roots that finished strictly before this time (epoch milliseconds)
    /// are eligible.
    pub finished_before: Millis,
}

impl PruneCutoff {
    /// The cutoff of `status` for executions finished more than `age_ms`
    /// milliseconds before `now`.
    pub fn older_than(status: ExecutionStatus, now: Millis, age_ms: u64) -> Self {
        let age = i64::try_from(age_ms).unwrap_or(i64::MAX);
        Self {
            status,
            finished_before: now.saturating_sub(age),
        }
    }
}

/// What one [`Storage::prune`](super::Storage::prune) call deleted (or, in
/// a dry run, would delete).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneOutcome {
    /// Top-level executions deleted with their trees.
    pub roots: u64,
    /// Executions deleted in all: the roots and every descendant of theirs.
    pub executions: u64,
}

impl PruneOutcome {
    /// Adds another call's counts (a loop of batches).
    pub fn add(&mut self, other: PruneOutcome) {
        self.roots += other.roots;
        self.executions += other.executions;
    }
}

/// The cutoffs a prune honours, in the order given: finished statuses
/// only, each status once (its first cutoff).
pub(crate) fn effective(cutoffs: &[PruneCutoff]) -> Vec<PruneCutoff> {
    let mut out: Vec<PruneCutoff> = Vec::with_capacity(cutoffs.len());
    for cutoff in cutoffs {
        if cutoff.status.is_finished() && !out.iter().any(|c| c.status == cutoff.status) {
            out.push(*cutoff);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_keeps_finished_statuses_once() {
        let c = |status, finished_before| PruneCutoff {
            status,
            finished_before,
        };
        let got = effective(&[
            c(ExecutionStatus::Completed, 5),
            c(ExecutionStatus::Running, 9),
            c(ExecutionStatus::Completed, 7),
            c(ExecutionStatus::Failed, 3),
        ]);
        assert_eq!(
            got,
            vec![
                c(ExecutionStatus::Completed, 5),
                c(ExecutionStatus::Failed, 3)
            ]
        );
        assert_eq!(
            PruneCutoff::older_than(ExecutionStatus::Failed, 1_000, 400).finished_before,
            600
        );
    }
}
