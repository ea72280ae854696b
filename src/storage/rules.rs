//! Pure rules every backend shares, the SQL engine ([`super::sql`]) and the
//! in-memory backend alike (like [`super::close`]): which wake-ups an
//! operation's result sends, what an advance step inserts, which children
//! a page of outputs holds, and the error of an expired lease.

use super::{Advance, ExpireOutcome, StorageEvent, StuckOutcome, Wake};
use crate::model::{ExecutionError, ExecutionStatus, Millis, NewExecution, TaskExecution};

/// The error stored on executions whose lease expired.
pub(crate) fn expired_error() -> ExecutionError {
    ExecutionError::generic("Task expired", false)
}

/// The error stored on a sleeping execution whose deadline passed before a
/// wake (docs/design.md "Sleeping tasks").
pub(crate) fn sleeping_timeout_error() -> ExecutionError {
    ExecutionError {
        is_retryable: false,
        ..ExecutionError::timed_out("Sleeping task timed out before it was woken")
    }
}

/// The status, output and error a wake writes.
pub(crate) fn wake_result(wake: &Wake) -> (ExecutionStatus, Option<&str>, Option<&ExecutionError>) {
    match wake {
        Wake::Completed { output } => (ExecutionStatus::Completed, Some(output), None),
        Wake::Failed { error } => (ExecutionStatus::Failed, None, Some(error)),
    }
}

/// The wake-ups an operation sends once its change is visible (after the
/// commit), in this order: [`StorageEvent::ReadyWork`],
/// [`StorageEvent::Changed`], [`StorageEvent::CloseWork`] (docs/design.md,
/// "Wake-ups").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wakeups {
    /// New or re-queued `ready` executions.
    pub(crate) ready: bool,
    /// Some execution changed status.
    pub(crate) changed: bool,
    /// Finished executions wait for a closer that nobody woke.
    pub(crate) close: bool,
}

impl Wakeups {
    /// Nothing to announce.
    pub(crate) const NONE: Self = Self {
        ready: false,
        changed: false,
        close: false,
    };

    /// [`StorageEvent::ReadyWork`] when `ready`.
    pub(crate) fn ready_if(ready: bool) -> Self {
        Self {
            ready,
            ..Self::NONE
        }
    }

    /// [`StorageEvent::Changed`] and [`StorageEvent::CloseWork`] when
    /// `changed`: a change made outside a run's write (cancel, wake, expiry,
    /// repair), which any executor's closer may have to follow up.
    pub(crate) fn changed_if(changed: bool) -> Self {
        Self {
            changed,
            close: changed,
            ..Self::NONE
        }
    }

    /// [`StorageEvent::Changed`] alone when `changed`: a change whose
    /// follow-up the executor that made it does itself (a run's finish, whose
    /// writer wakes its own closer; a close, whose closer goes on with what
    /// it found), so other processes' closers are not woken for it.
    pub(crate) fn followed_up_if(changed: bool) -> Self {
        Self {
            changed,
            ..Self::NONE
        }
    }

    /// Lease expiry: re-queued rows are ready work, failed ones (and timed
    /// out sleeping ones) a change to close.
    pub(crate) fn of_expire(outcome: &ExpireOutcome) -> Self {
        Self {
            ready: !outcome.requeued.is_empty(),
            ..Self::changed_if(!outcome.failed.is_empty() || !outcome.timed_out.is_empty())
        }
    }

    /// Repairs: a parent failed for its missing finalize is a change (a
    /// restored lease changes nothing anyone waits for).
    pub(crate) fn of_repair(outcome: &StuckOutcome) -> Self {
        Self::changed_if(!outcome.parents_failed.is_empty())
    }

    /// The events, in the order they are sent.
    pub(crate) fn events(self) -> impl Iterator<Item = StorageEvent> {
        [
            (self.ready, StorageEvent::ReadyWork),
            (self.changed, StorageEvent::Changed),
            (self.close, StorageEvent::CloseWork),
        ]
        .into_iter()
        .filter_map(|(wanted, event)| wanted.then_some(event))
    }
}

/// Whether a child belongs in a page of
/// [`Storage::children_outputs`](super::Storage::children_outputs) that
/// starts after index `after`: a regular child (never the finalize) whose
/// index is above `after` (any index when `None`).
pub(crate) fn in_children_page(is_finalize: bool, index: u32, after: Option<u32>) -> bool {
    !is_finalize && after.is_none_or(|after| index > after)
}

impl Advance {
    /// The execution this step inserts (the finalize, or the next child of
    /// a sequential parent), if any.
    pub(crate) fn inserts(&self) -> Option<&NewExecution> {
        match self {
            Self::Finalize { finalize } => Some(finalize),
            Self::SpawnNext { child } => Some(child),
            Self::Complete { .. } | Self::Fail { .. } => None,
        }
    }
}

/// The time a close batch applies its effects at (a parent's `finished_at`
/// and `updated_at`): `now`, or the latest finish in the batch when that is
/// later. The writer that finished a row may take its `now` after the
/// closer took its own, and a closed row's `closed_at` is never before its
/// finish; with this rule a parent never finishes before the finalize whose
/// close finished it was closed (see `claim_unclosed` in the spec).
pub(crate) fn close_effects_at(
    now: crate::model::Millis,
    finished: &[crate::model::TaskExecution],
) -> crate::model::Millis {
    finished
        .iter()
        .filter_map(|e| e.finished_at)
        .fold(now, std::cmp::Ord::max)
}

/// Whether the transition that finishes `row` also closes it: a top-level
/// execution (no parent) without children or finalize, whose close has no
/// effect on any other row (its [`ClosePlan`](super::ClosePlan) is empty
/// whatever its final status). The SQL backends write the same condition
/// into every finishing statement (`finish_executions`, `expire_leases`,
/// `wake_sleeping`, `expire_sleeping`, `cancel_subtrees`; see the spec's
/// header); the closer never visits such a row (docs/design.md, "Closing").
/// `row` is the row as it was before the transition.
pub(crate) fn closes_at_finish(row: &TaskExecution) -> bool {
    row.parent.is_none() && row.children_count == 0 && row.finalize_execution_id.is_none()
}

/// Marks `row` (just finished at `now`) closed at `now` when
/// [`closes_at_finish`] holds, else unclosed for the closer. `closed_at` is
/// left as it was when the row stays unclosed, as the SQL statements do.
pub(crate) fn close_at_finish(row: &mut TaskExecution, now: Millis) {
    row.is_closed = closes_at_finish(row);
    if row.is_closed {
        row.closed_at = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParentRef;
    use crate::storage::ClosePlan;

    #[test]
    fn only_childless_top_level_executions_close_at_finish() {
        let finished = |status| TaskExecution {
            execution_id: "te_1".into(),
            task_id: "t".into(),
            status,
            finished_at: Some(5),
            error: (status != ExecutionStatus::Completed)
                .then(|| ExecutionError::generic("boom", false)),
            ..TaskExecution::default()
        };
        for status in [
            ExecutionStatus::Completed,
            ExecutionStatus::Failed,
            ExecutionStatus::TimedOut,
            ExecutionStatus::Cancelled,
        ] {
            let mut row = finished(status);
            assert!(closes_at_finish(&row));
            // Its close would change nothing else: the closer may skip it.
            assert!(ClosePlan::new(std::slice::from_ref(&row)).is_empty());
            close_at_finish(&mut row, 7);
            assert!(row.is_closed);
            assert_eq!(row.closed_at, Some(7));

            let mut child = finished(status);
            child.parent = Some(ParentRef {
                task_id: "p".into(),
                execution_id: "te_p".into(),
                index: 0,
                is_finalize: false,
                parent_decides: false,
            });
            assert!(!closes_at_finish(&child));
            close_at_finish(&mut child, 7);
            assert!(!child.is_closed);
            assert_eq!(child.closed_at, None);

            let mut parent = finished(status);
            parent.children_count = 2;
            assert!(!closes_at_finish(&parent));
            let mut waiting_for_finalize = finished(status);
            waiting_for_finalize.finalize_execution_id = Some("te_f".into());
            assert!(!closes_at_finish(&waiting_for_finalize));
        }
    }

    #[test]
    fn ready_work_is_announced_before_changes_and_close_work() {
        let all = Wakeups {
            ready: true,
            changed: true,
            close: true,
        };
        assert_eq!(
            all.events().collect::<Vec<_>>(),
            vec![
                StorageEvent::ReadyWork,
                StorageEvent::Changed,
                StorageEvent::CloseWork
            ]
        );
        assert_eq!(Wakeups::NONE.events().count(), 0);
        let expire = ExpireOutcome {
            requeued: vec![],
            failed: vec!["te_1".into()],
            timed_out: vec![],
        };
        assert_eq!(Wakeups::of_expire(&expire), Wakeups::changed_if(true));
    }

    #[test]
    fn a_followed_up_change_does_not_wake_other_closers() {
        assert_eq!(
            Wakeups::followed_up_if(true).events().collect::<Vec<_>>(),
            vec![StorageEvent::Changed]
        );
        assert_eq!(Wakeups::followed_up_if(false), Wakeups::NONE);
        assert_eq!(
            Wakeups::changed_if(true).events().collect::<Vec<_>>(),
            vec![StorageEvent::Changed, StorageEvent::CloseWork]
        );
    }

    #[test]
    fn pages_of_children_hold_regular_children_after_the_cursor() {
        assert!(in_children_page(false, 0, None));
        assert!(!in_children_page(true, 5, None));
        assert!(!in_children_page(false, 3, Some(3)));
        assert!(in_children_page(false, 4, Some(3)));
    }
}
