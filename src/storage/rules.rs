//! Pure rules every backend shares, the SQL engine ([`super::sql`]) and the
//! in-memory backend alike (like [`super::close`]): which wake-ups an
//! operation's result sends, what an advance step inserts, and the error
//! of an expired lease.

use super::{Advance, ExpireOutcome, StorageEvent, StuckOutcome};
use crate::model::{ExecutionError, NewExecution};

/// The error stored on executions whose lease expired.
pub(crate) fn expired_error() -> ExecutionError {
    ExecutionError::generic("Task expired", false)
}

/// The wake-ups an operation sends once its change is visible (after the
/// commit): [`StorageEvent::ReadyWork`] first, then [`StorageEvent::Changed`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Wakeups {
    /// New or re-queued `ready` executions.
    pub(crate) ready: bool,
    /// Some execution changed status.
    pub(crate) changed: bool,
}

impl Wakeups {
    /// Nothing to announce.
    pub(crate) const NONE: Self = Self {
        ready: false,
        changed: false,
    };

    /// [`StorageEvent::ReadyWork`] when `ready`.
    pub(crate) fn ready_if(ready: bool) -> Self {
        Self {
            ready,
            changed: false,
        }
    }

    /// [`StorageEvent::Changed`] when `changed`.
    pub(crate) fn changed_if(changed: bool) -> Self {
        Self {
            ready: false,
            changed,
        }
    }

    /// Lease expiry: re-queued rows are ready work, failed ones a change.
    pub(crate) fn of_expire(outcome: &ExpireOutcome) -> Self {
        Self {
            ready: !outcome.requeued.is_empty(),
            changed: !outcome.failed.is_empty(),
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
        ]
        .into_iter()
        .filter_map(|(wanted, event)| wanted.then_some(event))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_work_is_announced_before_changes() {
        let both = Wakeups {
            ready: true,
            changed: true,
        };
        assert_eq!(
            both.events().collect::<Vec<_>>(),
            vec![StorageEvent::ReadyWork, StorageEvent::Changed]
        );
        assert_eq!(Wakeups::NONE.events().count(), 0);
        let expire = ExpireOutcome {
            requeued: vec![],
            failed: vec!["te_1".into()],
        };
        assert_eq!(Wakeups::of_expire(&expire), Wakeups::changed_if(true));
    }
}
