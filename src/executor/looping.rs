//! Looping tasks: one iteration task run again and again, with a delay
//! between runs, until it says it is done or a maximum number of iterations
//! is reached.

use super::error::ExecutorError;
use super::task::{
    ChildTask, DEFAULT_TIMEOUT, Definition, Kind, TaskSpec, definition_builders,
    spawn_one_with_input, spec_mut,
};
use crate::model::RetryOptions;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// What one iteration of a [`LoopingTask`] returns: not done yet (the loop
/// runs the iteration again after its delay), or done with the loop's
/// output.
///
/// Stored as `{"status":"continue"}` or `{"status":"done","output":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoopStep<O> {
    /// Not done: run the iteration again (unless the maximum is reached).
    Continue,
    /// Done: the loop ends with [`LoopResult::Success`] and this output.
    Done {
        /// The loop's output.
        output: O,
    },
}

/// The final output of a [`LoopingTask`]: which way it ended.
///
/// Stored as `{"status":"success","output":…}` or
/// `{"status":"max_iterations_reached","iterations":N}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LoopResult<O> {
    /// An iteration returned [`LoopStep::Done`] with this output.
    Success {
        /// The output of the iteration that was done.
        output: O,
    },
    /// Every one of the `iterations` allowed iterations returned
    /// [`LoopStep::Continue`].
    MaxIterationsReached {
        /// The number of iterations run (the maximum).
        iterations: u32,
    },
}

impl<O> LoopResult<O> {
    /// The output, when an iteration was done.
    pub fn output(self) -> Option<O> {
        match self {
            Self::Success { output } => Some(output),
            Self::MaxIterationsReached { .. } => None,
        }
    }

    /// Whether an iteration was done.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success { .. })
    }
}

/// The delay before each iteration after the first: fixed, or a function
/// of the number of the iteration about to run (1 for the second
/// iteration, 2 for the third, …). A [`Duration`] converts into a fixed
/// delay.
#[derive(Clone)]
pub struct LoopDelay(DelayKind);

#[derive(Clone)]
enum DelayKind {
    Fixed(Duration),
    Function(Arc<dyn Fn(u32) -> Duration + Send + Sync>),
}

impl LoopDelay {
    /// The same delay before every iteration after the first.
    pub fn fixed(delay: Duration) -> Self {
        Self(DelayKind::Fixed(delay))
    }

    /// `delay(n)` before iteration number `n` (`n` ≥ 1; the first
    /// iteration, number 0, runs at once).
    pub fn from_fn(delay: impl Fn(u32) -> Duration + Send + Sync + 'static) -> Self {
        Self(DelayKind::Function(Arc::new(delay)))
    }

    /// The delay before iteration number `iteration`.
    pub fn before(&self, iteration: u32) -> Duration {
        match &self.0 {
            DelayKind::Fixed(delay) => *delay,
            DelayKind::Function(delay) => delay(iteration),
        }
    }
}

impl From<Duration> for LoopDelay {
    fn from(delay: Duration) -> Self {
        Self::fixed(delay)
    }
}

impl fmt::Debug for LoopDelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            DelayKind::Fixed(delay) => f.debug_tuple("Fixed").field(delay).finish(),
            DelayKind::Function(_) => f.write_str("Function(..)"),
        }
    }
}

/// A looping task: runs its iteration task with the loop's input until an
/// iteration returns [`LoopStep::Done`] or `max_iterations` iterations ran,
/// waiting the [`LoopDelay`] between iterations, and ends with a
/// [`LoopResult`] saying which.
///
/// Built on the parent machinery, like a [`Sequence`](super::Sequence):
/// one parent execution plus **one execution per iteration**, spawned one
/// at a time once the previous one completed (at most `max_iterations + 1`
/// executions in all). The delay is the next iteration's sleep before run,
/// so no worker is held while waiting. An iteration that fails (after its
/// own retries) fails the loop (`children_tasks_failed`). The iteration
/// task is registered along with the loop.
///
/// ```
/// use durable_execution::{LoopStep, LoopingTask, Task, TaskContext, TaskError};
/// use std::time::Duration;
///
/// let poll = Task::new("poll", |ctx: TaskContext, job: String| async move {
///     Ok::<_, TaskError>(if ctx.attempt() > 0 { LoopStep::Done { output: job } } else { LoopStep::Continue })
/// });
/// let wait_for_job = LoopingTask::new("wait_for_job", &poll, 20, Duration::from_millis(100));
/// assert_eq!(wait_for_job.id(), "wait_for_job");
/// assert_eq!(wait_for_job.max_iterations(), 20);
/// ```
#[must_use]
pub struct LoopingTask<I, O> {
    spec: Arc<TaskSpec>,
    _types: PhantomData<fn(I) -> O>,
}

impl<I, O> Clone for LoopingTask<I, O> {
    fn clone(&self) -> Self {
        Self {
            spec: self.spec.clone(),
            _types: PhantomData,
        }
    }
}

impl<I, O> fmt::Debug for LoopingTask<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

impl<I, O> LoopingTask<I, O>
where
    I: Serialize + DeserializeOwned + Send + 'static,
    O: Serialize + DeserializeOwned + Send + 'static,
{
    /// A looping task with id `id` running `iteration` up to
    /// `max_iterations` times (at least 1, checked when it is registered),
    /// `delay` apart. Default timeout of the loop's own (trivial) run: 1
    /// minute; each iteration has the iteration task's options.
    pub fn new<D>(
        id: impl Into<String>,
        iteration: &D,
        max_iterations: u32,
        delay: impl Into<LoopDelay>,
    ) -> Self
    where
        D: Definition<Input = I, Output = LoopStep<O>>,
    {
        Self {
            spec: Arc::new(TaskSpec {
                id: id.into(),
                timeout: DEFAULT_TIMEOUT,
                retry: RetryOptions::default(),
                sleep_before_run: Duration::ZERO,
                run: spawn_one_with_input(iteration.spec().id.clone()),
                kind: Kind::Looping {
                    iteration: iteration.spec().clone(),
                    max_iterations,
                    delay: delay.into(),
                },
                // The loop's input is each iteration's input: refused at
                // enqueue, before any iteration runs.
                validate_input: iteration.spec().validate_input.clone(),
            }),
            _types: PhantomData,
        }
    }

    /// The maximum number of iterations.
    pub fn max_iterations(&self) -> u32 {
        match &self.spec.kind {
            Kind::Looping { max_iterations, .. } => *max_iterations,
            _ => 0,
        }
    }

    definition_builders!();
}

impl<I, O> Definition for LoopingTask<I, O>
where
    I: Serialize + DeserializeOwned + Send + 'static,
    O: Serialize + DeserializeOwned + Send + 'static,
{
    type Input = I;
    type Output = LoopResult<O>;

    fn spec(&self) -> &Arc<TaskSpec> {
        &self.spec
    }
}

/// What the closer does after iteration number `done - 1` completed with
/// `last` (its stored [`LoopStep`] JSON).
#[derive(Debug, PartialEq)]
pub(crate) enum LoopNext {
    /// End the loop with this [`LoopResult`] JSON.
    Complete(String),
    /// Run the iteration again after this delay.
    Again(Duration),
}

/// Decides a loop's next step from the last iteration's output (`done`
/// iterations ran). An output that is not a [`LoopStep`] is an error.
pub(crate) fn loop_next(
    last: &str,
    done: u32,
    max_iterations: u32,
    delay: &LoopDelay,
) -> Result<LoopNext, String> {
    let step: LoopStep<serde_json::Value> = serde_json::from_str(last)
        .map_err(|e| format!("the iteration's output is not a LoopStep ({e}): {last}"))?;
    match step {
        LoopStep::Done { output } => Ok(LoopNext::Complete(format!(
            "{{\"status\":\"success\",\"output\":{output}}}"
        ))),
        LoopStep::Continue if done >= max_iterations => Ok(LoopNext::Complete(format!(
            "{{\"status\":\"max_iterations_reached\",\"iterations\":{done}}}"
        ))),
        LoopStep::Continue => Ok(LoopNext::Again(delay.before(done))),
    }
}

/// Checks the maximum number of iterations (docs/design.md, "Task ids and options").
pub(crate) fn validate_max_iterations(task_id: &str, max: u32) -> Result<(), ExecutorError> {
    if max == 0 {
        return Err(ExecutorError::InvalidOptions {
            task_id: task_id.to_owned(),
            what: "max iterations",
            message: "must be at least 1".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_ends_with_success_and_the_raw_output() {
        let delay = LoopDelay::fixed(Duration::from_millis(5));
        assert_eq!(
            loop_next(r#"{"status":"done","output":{"a":[1, 2]}}"#, 3, 20, &delay),
            Ok(LoopNext::Complete(
                r#"{"status":"success","output":{"a":[1,2]}}"#.to_owned()
            ))
        );
        let result: LoopResult<u32> =
            serde_json::from_str(r#"{"status":"success","output":10}"#).unwrap();
        assert_eq!(result, LoopResult::Success { output: 10 });
    }

    #[test]
    fn continue_runs_again_until_the_maximum() {
        let delay = LoopDelay::from_fn(|n| Duration::from_millis(u64::from(n) * 10));
        let next = loop_next(r#"{"status":"continue"}"#, 2, 3, &delay);
        assert_eq!(next, Ok(LoopNext::Again(Duration::from_millis(20))));
        let Ok(LoopNext::Complete(json)) = loop_next(r#"{"status":"continue"}"#, 3, 3, &delay)
        else {
            panic!("expected the end of the loop");
        };
        let result: LoopResult<u32> = serde_json::from_str(&json).unwrap();
        assert_eq!(result, LoopResult::MaxIterationsReached { iterations: 3 });
    }

    #[test]
    fn other_outputs_are_errors() {
        let delay = LoopDelay::fixed(Duration::ZERO);
        assert!(loop_next("17", 1, 3, &delay).is_err());
        assert!(validate_max_iterations("t", 0).is_err());
        assert!(validate_max_iterations("t", 1).is_ok());
    }

    #[test]
    fn steps_round_trip() {
        let json = serde_json::to_string(&LoopStep::Done { output: 10 }).unwrap();
        assert_eq!(json, r#"{"status":"done","output":10}"#);
        let json = serde_json::to_string(&LoopStep::<u32>::Continue).unwrap();
        assert_eq!(json, r#"{"status":"continue"}"#);
    }
}
