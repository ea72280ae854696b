//! Sequential tasks: a typed chain of steps run one after the other.

use super::error::ExecutorError;
use super::task::{
    ChildTask, DEFAULT_TIMEOUT, Definition, Kind, TaskSpec, definition_builders,
    spawn_one_with_input, spec_mut,
};
use crate::model::RetryOptions;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// A chain of tasks: the first step gets the sequence's input, every next
/// step gets the previous step's output, and the sequence's output is the
/// last step's output. Any failing step fails the sequence
/// (`children_tasks_failed`).
///
/// Stored as one parent execution plus one child per step, spawned one at a
/// time (`n + 1` executions for `n` steps). The steps are registered along
/// with the sequence.
///
/// ```
/// use durable_execution::{Definition, Sequence, Task, TaskContext, TaskError};
///
/// let parse = Task::new("parse", |_: TaskContext, s: String| async move {
///     Ok::<_, TaskError>(s.parse::<f64>()?)
/// });
/// let big = Task::new("big", |_: TaskContext, x: f64| async move { Ok::<_, TaskError>(x > 10.0) });
/// let chain = Sequence::new("parse_then_big", &parse).then(&big);
/// assert_eq!(chain.id(), "parse_then_big");
/// ```
#[must_use]
pub struct Sequence<I, O> {
    spec: Arc<TaskSpec>,
    _types: PhantomData<fn(I) -> O>,
}

impl<I, O> Clone for Sequence<I, O> {
    fn clone(&self) -> Self {
        Self {
            spec: self.spec.clone(),
            _types: PhantomData,
        }
    }
}

impl<I, O> fmt::Debug for Sequence<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

impl<I, O> Sequence<I, O>
where
    I: Serialize + DeserializeOwned + Send + 'static,
    O: Serialize + DeserializeOwned + Send + 'static,
{
    /// A sequence with id `id` whose first step is `first`. Default timeout
    /// of the sequence's own (trivial) run: 1 minute.
    pub fn new<D>(id: impl Into<String>, first: &D) -> Self
    where
        D: Definition<Input = I, Output = O>,
    {
        Self {
            spec: Arc::new(TaskSpec {
                id: id.into(),
                timeout: DEFAULT_TIMEOUT,
                retry: RetryOptions::default(),
                sleep_before_run: Duration::ZERO,
                run: spawn_one_with_input(first.spec().id.clone()),
                kind: Kind::Sequence {
                    steps: vec![first.spec().clone()],
                },
                validate_input: None,
            }),
            _types: PhantomData,
        }
    }

    /// Appends a step whose input is the current last step's output.
    pub fn then<D>(self, next: &D) -> Sequence<I, D::Output>
    where
        D: Definition<Input = O>,
    {
        let mut spec = self.spec;
        if let Kind::Sequence { steps } = &mut spec_mut(&mut spec).kind {
            steps.push(next.spec().clone());
        }
        Sequence {
            spec,
            _types: PhantomData,
        }
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        match &self.spec.kind {
            Kind::Sequence { steps } => steps.len(),
            _ => 0,
        }
    }

    /// Always `false`: a sequence has at least one step.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    definition_builders!();
}

impl<I, O> Definition for Sequence<I, O>
where
    I: Serialize + DeserializeOwned + Send + 'static,
    O: Serialize + DeserializeOwned + Send + 'static,
{
    type Input = I;
    type Output = O;

    fn spec(&self) -> &Arc<TaskSpec> {
        &self.spec
    }
}
