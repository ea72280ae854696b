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
    /// Where the next batch of the same pass starts: `Some` when this batch
    /// deleted `limit` roots (more may be eligible), `None` when the pass
    /// has reached the end of every cutoff (and always in a dry run). Pass
    /// it as `after` to the next call; start a new pass (`after: None`)
    /// when it is `None`.
    pub next: Option<PruneCursor>,
}

impl PruneOutcome {
    /// Adds another call's counts (a loop of batches); `next` becomes the
    /// other call's.
    pub fn add(&mut self, other: PruneOutcome) {
        self.roots += other.roots;
        self.executions += other.executions;
        self.next = other.next;
    }
}

/// The keyset position of a retention pass: the last root a
/// [`Storage::prune`](super::Storage::prune) batch deleted, in the order
/// the pass takes them (the cutoffs' order, then each status's roots by
/// finish time and row). The next batch of the pass scans only after it, so
/// that it never steps again over the index entries of the roots already
/// deleted (on PostgreSQL they stay in the index until vacuum). Opaque; it
/// is only meaningful to the backend that returned it.
///
/// A pass moves forward only: a tree that becomes eligible behind the
/// cursor (its last descendant closed late) is found by the next pass,
/// which starts over with `after: None` (see `docs/design.md`,
/// "Retention").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneCursor {
    pub(crate) status: ExecutionStatus,
    pub(crate) finished_at: Millis,
    pub(crate) id: i64,
}

impl PruneCursor {
    /// The lower bound `(finished_at, id)` (exclusive) of `cutoff`'s scan,
    /// and whether the cutoff is scanned at all, for a batch that resumes
    /// after `after` over `cutoffs` (see [`effective`]): the cutoffs before
    /// the cursor's status are done, the cursor's status resumes after its
    /// position, the later ones start at their beginning. A cursor whose
    /// status is not among `cutoffs` (the caller changed them) starts the
    /// pass over.
    pub(crate) fn bounds(
        after: Option<&PruneCursor>,
        cutoffs: &[PruneCutoff],
    ) -> Vec<(PruneCutoff, (Millis, i64))> {
        const START: (Millis, i64) = (Millis::MIN, i64::MIN);
        let resume = after.and_then(|c| {
            cutoffs
                .iter()
                .position(|cutoff| cutoff.status == c.status)
                .map(|at| (at, (c.finished_at, c.id)))
        });
        match resume {
            None => cutoffs.iter().map(|c| (*c, START)).collect(),
            Some((at, position)) => cutoffs[at..]
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, if i == 0 { position } else { START }))
                .collect(),
        }
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

    #[test]
    fn cursor_bounds_resume_at_its_status() {
        let c = |status| PruneCutoff {
            status,
            finished_before: 100,
        };
        let cutoffs = [
            c(ExecutionStatus::Completed),
            c(ExecutionStatus::Failed),
            c(ExecutionStatus::Cancelled),
        ];
        let start = (Millis::MIN, i64::MIN);
        let fresh = PruneCursor::bounds(None, &cutoffs);
        assert_eq!(
            fresh,
            cutoffs.iter().map(|c| (*c, start)).collect::<Vec<_>>()
        );
        let at_failed = PruneCursor {
            status: ExecutionStatus::Failed,
            finished_at: 7,
            id: 42,
        };
        assert_eq!(
            PruneCursor::bounds(Some(&at_failed), &cutoffs),
            vec![(cutoffs[1], (7, 42)), (cutoffs[2], start)]
        );
        let elsewhere = PruneCursor {
            status: ExecutionStatus::TimedOut,
            ..at_failed
        };
        assert_eq!(PruneCursor::bounds(Some(&elsewhere), &cutoffs), fresh);
    }
}
