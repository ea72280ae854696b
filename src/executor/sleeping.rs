//! Sleeping tasks: executions that start `sleeping` under a key chosen by
//! the caller and finish when the application wakes them from outside
//! (a webhook, an event), from any executor or process; see docs/design.md
//! "Sleeping tasks".

use super::error::{ExecutorError, TaskError};
use super::options::EnqueueOptions;
use super::task::{ChildTask, Definition, Kind, RunFailure, RunFn, TaskSpec, spec_mut};
use crate::model::RetryOptions;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// The longest sleeping key, in characters.
pub(crate) const MAX_SLEEPING_KEY_CHARS: usize = 255;

/// A task whose execution never runs code: it starts `sleeping` under a
/// unique key and stays there until
/// [`Executor::wake`](super::Executor::wake) finishes it with an
/// [`WakeOutcome`], or until `timeout` passes (`timed_out`, through the
/// maintenance loop). `O` is the output a wake completes it with.
///
/// Enqueue one with [`Executor::enqueue_sleeping`](super::Executor::enqueue_sleeping)
/// or spawn it as a parent's child with [`SleepingTask::child`]; it cannot
/// be a finalize (its input is `()`, which is no [`FinalizeInput`](super::FinalizeInput)).
#[must_use]
pub struct SleepingTask<O> {
    spec: Arc<TaskSpec>,
    _types: PhantomData<fn() -> O>,
}

impl<O> Clone for SleepingTask<O> {
    fn clone(&self) -> Self {
        Self {
            spec: self.spec.clone(),
            _types: PhantomData,
        }
    }
}

impl<O> fmt::Debug for SleepingTask<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

/// The run of a sleeping task's execution, which is never claimed: a row
/// of it that was made `ready` by hand fails at once instead of running.
fn never_runs(id: &str) -> RunFn {
    let message = format!("Sleeping task {id} is woken with Executor::wake, never run");
    Arc::new(move |_, _| {
        let message = message.clone();
        Box::pin(async move { Err(RunFailure::User(TaskError::non_retryable(message))) })
    })
}

impl<O> SleepingTask<O>
where
    O: Serialize + DeserializeOwned + Send + 'static,
{
    /// A sleeping task: each execution times out `timeout` after it was
    /// enqueued or spawned when nobody woke it (at most 2,147,483,647 ms).
    pub fn new(id: impl Into<String>, timeout: Duration) -> Self {
        let id = id.into();
        Self {
            spec: Arc::new(TaskSpec {
                run: never_runs(&id),
                id,
                timeout,
                retry: RetryOptions::default(),
                sleep_before_run: Duration::ZERO,
                kind: Kind::Sleeping,
                // A sleeping task's input is always `()`: nothing to validate.
                validate_input: None,
            }),
            _types: PhantomData,
        }
    }

    /// Replaces the timeout of every execution.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        spec_mut(&mut self.spec).timeout = timeout;
        self
    }

    /// The task id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// A child execution of this task, sleeping under `key` until woken:
    /// the parent waits for it like for any child and its finalize reads
    /// the woken output.
    pub fn child(&self, key: impl Into<String>) -> ChildTask {
        ChildTask {
            task_id: self.spec.id.clone(),
            input: Ok("null".to_owned()),
            options: EnqueueOptions::default().sleeping_key(key),
        }
    }

    /// Checks the definition like [`Executor::build`](super::ExecutorBuilder::build) does.
    pub fn validate(&self) -> Result<(), ExecutorError> {
        self.spec.validate()
    }
}

impl<O> Definition for SleepingTask<O>
where
    O: Serialize + DeserializeOwned + Send + 'static,
{
    type Input = ();
    type Output = O;

    fn spec(&self) -> &Arc<TaskSpec> {
        &self.spec
    }
}

/// How [`Executor::wake`](super::Executor::wake) finishes a sleeping execution.
#[derive(Debug, Clone, PartialEq)]
pub enum WakeOutcome<O> {
    /// `completed` with this output.
    Completed(O),
    /// `failed` with this error message (not retried).
    Failed(String),
}

/// Checks a sleeping key: 1 to [`MAX_SLEEPING_KEY_CHARS`] characters.
pub(crate) fn validate_sleeping_key(task_id: &str, key: &str) -> Result<(), ExecutorError> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_SLEEPING_KEY_CHARS {
        return Err(ExecutorError::InvalidOptions {
            task_id: task_id.to_owned(),
            what: "sleeping key",
            message: format!(
                "a sleeping key has 1 to {MAX_SLEEPING_KEY_CHARS} characters, not {chars}"
            ),
        });
    }
    Ok(())
}

/// The sleeping key a new execution of `spec` is inserted with: required
/// for a sleeping task (and checked), refused for any other.
pub(crate) fn sleeping_key_for(
    spec: &TaskSpec,
    options: &EnqueueOptions,
) -> Result<Option<String>, ExecutorError> {
    let sleeping = matches!(spec.kind, Kind::Sleeping);
    match (&options.sleeping_key, sleeping) {
        (Some(key), true) => {
            validate_sleeping_key(&spec.id, key)?;
            Ok(Some(key.clone()))
        }
        (None, false) => Ok(None),
        (None, true) => Err(ExecutorError::InvalidOptions {
            task_id: spec.id.clone(),
            what: "sleeping key",
            message:
                "a sleeping task needs a key (Executor::enqueue_sleeping, SleepingTask::child)"
                    .to_owned(),
        }),
        (Some(_), false) => Err(ExecutorError::InvalidOptions {
            task_id: spec.id.clone(),
            what: "sleeping key",
            message: "only a sleeping task takes a sleeping key".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_1_to_255_characters() {
        assert!(validate_sleeping_key("t", "").is_err());
        assert!(validate_sleeping_key("t", "k").is_ok());
        assert!(validate_sleeping_key("t", &"é".repeat(255)).is_ok());
        assert!(validate_sleeping_key("t", &"k".repeat(256)).is_err());
    }

    #[test]
    fn only_sleeping_tasks_take_a_key() {
        let sleeping = SleepingTask::<u32>::new("hook", Duration::from_secs(1));
        let keyed = EnqueueOptions::default().sleeping_key("k");
        assert_eq!(
            sleeping_key_for(sleeping.spec(), &keyed).unwrap(),
            Some("k".to_owned())
        );
        assert!(sleeping_key_for(sleeping.spec(), &EnqueueOptions::default()).is_err());
        let plain =
            super::super::Task::new("plain", |_ctx, x: u32| async move { Ok::<_, TaskError>(x) });
        assert!(sleeping_key_for(plain.spec(), &keyed).is_err());
        assert_eq!(
            sleeping_key_for(plain.spec(), &EnqueueOptions::default()).unwrap(),
            None
        );
    }
}
