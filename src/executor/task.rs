//! Typed task definitions: simple tasks, parent tasks with children and an
//! optional finalize.

use super::context::TaskContext;
use super::error::{ExecutorError, TaskError};
use super::looping::{LoopDelay, validate_max_iterations};
use super::options::{
    EnqueueOptions, validate_retry_options, validate_sleep, validate_task_id, validate_timeout,
};
use crate::model::{ExecutionError, ExecutionStatus, RetryOptions};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed, sendable future.
pub(crate) type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a successful type-erased run produced.
pub(crate) struct RunOutcome {
    /// The serialized output of the run itself.
    pub(crate) output: String,
    /// Children to spawn, in order.
    pub(crate) children: Vec<ChildTask>,
}

/// Why a type-erased run failed.
pub(crate) enum RunFailure {
    /// The task code returned an error.
    User(TaskError),
    /// The stored input does not deserialize into the task's input type.
    Input(String),
    /// The output does not serialize.
    Output(String),
}

impl From<TaskError> for RunFailure {
    fn from(error: TaskError) -> Self {
        Self::User(error)
    }
}

pub(crate) type RunFn =
    Arc<dyn Fn(TaskContext, String) -> BoxFut<Result<RunOutcome, RunFailure>> + Send + Sync>;

/// A type-erased input validation: the serialized input in, the reason it
/// is rejected out.
pub(crate) type ValidateFn = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// Erases a typed validation: the serialized input is read back as `I`
/// (an input that does not read is rejected with the deserializer's
/// message), then `validate` judges it.
pub(crate) fn erase_validation<I, V>(validate: V) -> ValidateFn
where
    I: DeserializeOwned,
    V: Fn(&I) -> Result<(), String> + Send + Sync + 'static,
{
    Arc::new(move |raw: &str| {
        let input: I =
            serde_json::from_str(raw).map_err(|e| format!("input does not deserialize: {e}"))?;
        validate(&input)
    })
}

/// How an execution of a definition proceeds after its run.
#[derive(Clone)]
pub(crate) enum Kind {
    /// No children; the output is the run's output.
    Simple,
    /// Children (possibly none) and an optional finalize; with `decides`,
    /// the finalize receives every child's outcome and no child's failure
    /// fails the parent.
    Parent {
        finalize: Option<Arc<TaskSpec>>,
        decides: bool,
    },
    /// Steps run one after the other; the output is the last step's output.
    Sequence { steps: Vec<Arc<TaskSpec>> },
    /// A sleeping task (`super::sleeping`): never claimed, woken by key.
    Sleeping,
    /// One iteration task run again until it is done or `max_iterations`
    /// ran, `delay` apart; the output is a `LoopResult`.
    Looping {
        iteration: Arc<TaskSpec>,
        max_iterations: u32,
        delay: LoopDelay,
    },
}

/// A type-erased task definition, shared by the typed wrappers
/// ([`Task`], [`ParentTask`], [`Sequence`](super::Sequence)) and the
/// executor's registry.
#[derive(Clone)]
pub struct TaskSpec {
    pub(crate) id: String,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryOptions,
    pub(crate) sleep_before_run: Duration,
    pub(crate) run: RunFn,
    pub(crate) kind: Kind,
    /// The input validation set with `validate_input`, if any.
    pub(crate) validate_input: Option<ValidateFn>,
}

impl fmt::Debug for TaskSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Simple => "simple".to_owned(),
            Kind::Parent { finalize: None, .. } => "parent".to_owned(),
            Kind::Parent {
                finalize: Some(finalize),
                decides,
            } => format!(
                "parent (finalize {}{})",
                finalize.id,
                if *decides { ", decides" } else { "" }
            ),
            Kind::Sequence { steps } => format!("sequence of {}", steps.len()),
            Kind::Sleeping => "sleeping".to_owned(),
            Kind::Looping {
                iteration,
                max_iterations,
                delay,
            } => format!(
                "looping ({} up to {max_iterations} times, delay {delay:?})",
                iteration.id
            ),
        };
        f.debug_struct("TaskSpec")
            .field("id", &self.id)
            .field("kind", &kind)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("sleep_before_run", &self.sleep_before_run)
            .field("validates_input", &self.validate_input.is_some())
            .finish()
    }
}

impl TaskSpec {
    /// The task id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The default per-attempt timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The default retry options.
    pub fn retry(&self) -> &RetryOptions {
        &self.retry
    }

    /// The default delay before the first run.
    pub fn sleep_before_run(&self) -> Duration {
        self.sleep_before_run
    }

    /// Checks the id and the default options (docs/design.md, "Task ids and options").
    pub fn validate(&self) -> Result<(), ExecutorError> {
        validate_task_id(&self.id)?;
        validate_retry_options(&self.id, &self.retry)?;
        validate_sleep(&self.id, self.sleep_before_run)?;
        validate_timeout(&self.id, self.timeout)?;
        if let Kind::Looping { max_iterations, .. } = &self.kind {
            validate_max_iterations(&self.id, *max_iterations)?;
        }
        Ok(())
    }

    /// Runs the input validation (if any) on a serialized input: the
    /// typed [`ExecutorError::InputRejected`] naming the task and the
    /// reason when it is rejected (docs/design.md, "Input validation").
    pub fn check_input(&self, input: &str) -> Result<(), ExecutorError> {
        match &self.validate_input {
            Some(validate) => validate(input).map_err(|reason| ExecutorError::InputRejected {
                task_id: self.id.clone(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Definitions this one depends on (finalize, sequence steps), which
    /// the executor registers along with it.
    pub(crate) fn dependencies(&self) -> Vec<Arc<TaskSpec>> {
        match &self.kind {
            Kind::Simple | Kind::Sleeping => Vec::new(),
            Kind::Parent { finalize, .. } => finalize.iter().cloned().collect(),
            Kind::Sequence { steps } => steps.clone(),
            Kind::Looping { iteration, .. } => vec![iteration.clone()],
        }
    }
}

/// Default timeout of a definition: 1 minute.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Anything that can be enqueued: [`Task`], [`ParentTask`],
/// [`Sequence`](super::Sequence) and [`LoopingTask`](super::LoopingTask).
pub trait Definition {
    /// The input type; it is stored as JSON.
    type Input: Serialize + DeserializeOwned + Send + 'static;
    /// The final output type of an execution (what
    /// [`TaskExecution::output`](crate::model::TaskExecution::output) reads).
    type Output: Serialize + DeserializeOwned + Send + 'static;

    /// The type-erased definition.
    fn spec(&self) -> &Arc<TaskSpec>;

    /// The task id.
    fn id(&self) -> &str {
        &self.spec().id
    }

    /// A child execution of this task with `input`, to return from a parent
    /// run (see [`ParentOutput`]).
    fn child(&self, input: Self::Input) -> ChildTask {
        ChildTask {
            task_id: self.spec().id.clone(),
            input: serde_json::to_string(&input).map_err(|e| e.to_string()),
            options: EnqueueOptions::default(),
        }
    }
}

/// A child execution requested by a parent run, with optional overrides of
/// the child task's defaults (validated when the parent's run returns; an
/// invalid override fails the parent without retry).
#[derive(Debug, Clone)]
#[must_use]
pub struct ChildTask {
    pub(crate) task_id: String,
    pub(crate) input: Result<String, String>,
    pub(crate) options: EnqueueOptions,
}

impl ChildTask {
    /// The child's task id.
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// Overrides the child's timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Overrides the child's retry options.
    pub fn retry(mut self, retry: RetryOptions) -> Self {
        self.options.retry = Some(retry);
        self
    }

    /// Overrides the child's delay before its first run.
    pub fn sleep_before_run(mut self, sleep: Duration) -> Self {
        self.options.sleep_before_run = Some(sleep);
        self
    }
}

/// What a parent run returns: its own output and the children to spawn.
#[derive(Debug)]
#[must_use]
pub struct ParentOutput<O> {
    /// The parent's own output.
    pub output: O,
    /// Children, in spawn order.
    pub children: Vec<ChildTask>,
}

impl<O> ParentOutput<O> {
    /// An output without children.
    pub fn new(output: O) -> Self {
        Self {
            output,
            children: Vec::new(),
        }
    }

    /// Adds one child.
    pub fn child(mut self, child: ChildTask) -> Self {
        self.children.push(child);
        self
    }

    /// Adds children.
    pub fn children(mut self, children: impl IntoIterator<Item = ChildTask>) -> Self {
        self.children.extend(children);
        self
    }
}

/// The input of a finalize task: the parent's input, the parent run's
/// output and the outputs of every child in spawn order. `C` is the type the
/// children outputs are read as (any JSON by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalizeInput<I, O, C = serde_json::Value> {
    /// The parent's input.
    pub input: I,
    /// The parent run's own output.
    pub output: O,
    /// Children outputs, in spawn order.
    pub children: Vec<C>,
}

/// What a finalize that decides
/// ([`ParentTask::finalize_decides`]) receives for one child: its output
/// when it completed, else its final status and error.
///
/// Stored as `{"status":"completed","output":…}` or
/// `{"status":"failed","error":{…}}` (any final status but `completed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChildOutcome<C = serde_json::Value> {
    /// The child finished without completing.
    NotCompleted {
        /// Its final status (`failed`, `timed_out`, `cancelled`, …).
        status: ExecutionStatus,
        /// Its error.
        error: ExecutionError,
    },
    /// The child completed with this output.
    Completed {
        /// The child's output.
        output: C,
    },
}

impl<C> ChildOutcome<C> {
    /// The output, when the child completed.
    pub fn output(self) -> Option<C> {
        match self {
            Self::Completed { output } => Some(output),
            Self::NotCompleted { .. } => None,
        }
    }

    /// Whether the child completed.
    pub fn is_completed(&self) -> bool {
        matches!(self, Self::Completed { .. })
    }
}

/// The final output of a parent task without finalize: its own output and
/// its children's outputs in spawn order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParentResult<O, C = serde_json::Value> {
    /// The parent run's own output.
    pub output: O,
    /// Children outputs, in spawn order.
    pub children: Vec<C>,
}

/// Marks the input types a finalize of a parent with input `I` and run
/// output `O` may have: [`FinalizeInput<I, O, C>`] for any `C`.
pub trait FinalizeInputOf<I, O> {}

impl<I, O, C> FinalizeInputOf<I, O> for FinalizeInput<I, O, C> {}

pub(crate) fn spec_mut(spec: &mut Arc<TaskSpec>) -> &mut TaskSpec {
    Arc::make_mut(spec)
}

/// The run of a sequence or a looping task: no output of its own, one
/// child of task `child_id` with the execution's own input.
pub(crate) fn spawn_one_with_input(child_id: String) -> RunFn {
    Arc::new(move |_ctx, input: String| {
        let task_id = child_id.clone();
        Box::pin(async move {
            Ok(RunOutcome {
                output: "null".to_owned(),
                children: vec![ChildTask {
                    task_id,
                    input: Ok(input),
                    options: EnqueueOptions::default(),
                }],
            })
        })
    })
}

macro_rules! definition_builders {
    () => {
        /// Sets the default per-attempt timeout (default 1 minute; at least 1 ms).
        pub fn timeout(mut self, timeout: Duration) -> Self {
            spec_mut(&mut self.spec).timeout = timeout;
            self
        }

        /// Sets the default retry options (default: no retry).
        pub fn retry(mut self, retry: RetryOptions) -> Self {
            spec_mut(&mut self.spec).retry = retry;
            self
        }

        /// Sets the default delay before the first run (default none).
        pub fn sleep_before_run(mut self, sleep: Duration) -> Self {
            spec_mut(&mut self.spec).sleep_before_run = sleep;
            self
        }

        /// Sets a validation of the input, run before anything is stored:
        /// an enqueue of a rejected input fails with
        /// [`ExecutorError::InputRejected`] (task id and the returned
        /// reason), and a parent spawning a child with a rejected input
        /// fails without retry, storing no child (docs/design.md, "Input
        /// validation"). Runs where the input is enqueued, so it should be
        /// quick and free of IO.
        pub fn validate_input<V>(mut self, validate: V) -> Self
        where
            V: Fn(&<Self as Definition>::Input) -> Result<(), String> + Send + Sync + 'static,
        {
            spec_mut(&mut self.spec).validate_input =
                Some($crate::executor::task::erase_validation::<
                    <Self as Definition>::Input,
                    V,
                >(validate));
            self
        }

        /// The task id.
        pub fn id(&self) -> &str {
            &self.spec.id
        }

        /// A child execution of this task with `input`, to return from a
        /// parent run (same as [`Definition::child`], without the import).
        pub fn child(&self, input: <Self as Definition>::Input) -> ChildTask {
            Definition::child(self, input)
        }

        /// Checks the id and options now (the executor builder does it too).
        pub fn validate(&self) -> Result<(), ExecutorError> {
            self.spec.validate()
        }
    };
}
pub(crate) use definition_builders;

/// A simple task: an async function from `I` to `O`.
///
/// ```
/// use durable_execution::{Task, TaskContext, TaskError};
/// use std::time::Duration;
///
/// let add = Task::new("add", |_ctx: TaskContext, (a, b): (i32, i32)| async move {
///     Ok::<_, TaskError>(a + b)
/// })
/// .timeout(Duration::from_secs(5));
/// assert_eq!(add.id(), "add");
/// ```
#[must_use]
pub struct Task<I, O> {
    spec: Arc<TaskSpec>,
    _types: PhantomData<fn(I) -> O>,
}

impl<I, O> Clone for Task<I, O> {
    fn clone(&self) -> Self {
        Self {
            spec: self.spec.clone(),
            _types: PhantomData,
        }
    }
}

impl<I, O> fmt::Debug for Task<I, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

/// Splits a run's result into its output and children.
type SplitFn<R, O> = fn(R) -> Result<(O, Vec<ChildTask>), RunFailure>;

fn erase<I, O, R, F, Fut>(run: F, map: SplitFn<R, O>) -> RunFn
where
    I: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    R: Send + 'static,
    F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, TaskError>> + Send + 'static,
{
    let run = Arc::new(run);
    Arc::new(move |ctx: TaskContext, input: String| {
        let run = run.clone();
        Box::pin(async move {
            let input: I =
                serde_json::from_str(&input).map_err(|e| RunFailure::Input(e.to_string()))?;
            let result = run(ctx, input).await?;
            let (output, children) = map(result)?;
            let output =
                serde_json::to_string(&output).map_err(|e| RunFailure::Output(e.to_string()))?;
            Ok(RunOutcome { output, children })
        })
    })
}

impl<I, O> Task<I, O>
where
    I: Serialize + DeserializeOwned + Send + 'static,
    O: Serialize + DeserializeOwned + Send + 'static,
{
    /// A task with id `id` running `run`. Defaults: timeout 1 minute, no
    /// retry, no delay.
    pub fn new<F, Fut>(id: impl Into<String>, run: F) -> Self
    where
        F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, TaskError>> + Send + 'static,
    {
        Self {
            spec: Arc::new(TaskSpec {
                id: id.into(),
                timeout: DEFAULT_TIMEOUT,
                retry: RetryOptions::default(),
                sleep_before_run: Duration::ZERO,
                run: erase::<I, O, O, F, Fut>(run, |o| Ok((o, Vec::new()))),
                kind: Kind::Simple,
                validate_input: None,
            }),
            _types: PhantomData,
        }
    }

    definition_builders!();
}

impl<I, O> Definition for Task<I, O>
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

/// A parent task: its run returns its own output and children
/// ([`ParentOutput`]); the execution completes once every child completed,
/// with a [`ParentResult`] or, when a finalize task is set, with the
/// finalize's output. A failing child fails the parent
/// (`children_tasks_failed`); a failing finalize fails it
/// (`finalize_task_failed`).
///
/// `R` is the final output type: [`ParentResult<O>`] without finalize, the
/// finalize's output type with one.
#[must_use]
pub struct ParentTask<I, O, R = ParentResult<O>> {
    spec: Arc<TaskSpec>,
    _types: PhantomData<fn(I) -> (O, R)>,
}

impl<I, O, R> Clone for ParentTask<I, O, R> {
    fn clone(&self) -> Self {
        Self {
            spec: self.spec.clone(),
            _types: PhantomData,
        }
    }
}

impl<I, O, R> fmt::Debug for ParentTask<I, O, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.spec.fmt(f)
    }
}

impl<I, O> ParentTask<I, O>
where
    I: Serialize + DeserializeOwned + Send + 'static,
    O: Serialize + DeserializeOwned + Send + 'static,
{
    /// A parent task with id `id` running `run`. Defaults: timeout 1
    /// minute, no retry, no delay, no finalize.
    pub fn new<F, Fut>(id: impl Into<String>, run: F) -> Self
    where
        F: Fn(TaskContext, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ParentOutput<O>, TaskError>> + Send + 'static,
    {
        Self {
            spec: Arc::new(TaskSpec {
                id: id.into(),
                timeout: DEFAULT_TIMEOUT,
                retry: RetryOptions::default(),
                sleep_before_run: Duration::ZERO,
                run: erase::<I, O, ParentOutput<O>, F, Fut>(run, |p| Ok((p.output, p.children))),
                kind: Kind::Parent {
                    finalize: None,
                    decides: false,
                },
                validate_input: None,
            }),
            _types: PhantomData,
        }
    }
}

impl<I, O, R> ParentTask<I, O, R>
where
    I: Serialize + DeserializeOwned + Send + 'static,
    O: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    /// Sets the finalize task, run once every child completed, with a
    /// [`FinalizeInput`]; its output becomes the parent's output. It is
    /// registered along with the parent.
    pub fn finalize<D>(self, finalize: &D) -> ParentTask<I, O, D::Output>
    where
        D: Definition,
        D::Input: FinalizeInputOf<I, O>,
    {
        self.set_finalize(finalize, false)
    }

    /// Sets a finalize that decides the parent's result: once every child
    /// finished, in any status, it runs with a [`FinalizeInput`] whose
    /// children are [`ChildOutcome`]s in spawn order (completed with the
    /// output, or the final status and error), and its output, or its
    /// failure, is the parent's. A child's failure never fails the parent
    /// and never cancels its siblings.
    ///
    /// Choose it when the parent can use partial results (best-effort
    /// fan-outs, "first k of n", reporting which parts failed); keep
    /// [`ParentTask::finalize`] (a failing child fails the parent at once,
    /// `children_tasks_failed`, and cancels the others) when every child is
    /// needed, which also stops the work early.
    pub fn finalize_decides<D>(self, finalize: &D) -> ParentTask<I, O, D::Output>
    where
        D: Definition,
        D::Input: FinalizeInputOf<I, O>,
    {
        self.set_finalize(finalize, true)
    }

    fn set_finalize<D: Definition>(
        self,
        finalize: &D,
        decides: bool,
    ) -> ParentTask<I, O, D::Output> {
        let mut spec = self.spec;
        spec_mut(&mut spec).kind = Kind::Parent {
            finalize: Some(finalize.spec().clone()),
            decides,
        };
        ParentTask {
            spec,
            _types: PhantomData,
        }
    }

    definition_builders!();
}

impl<I, O, R> Definition for ParentTask<I, O, R>
where
    I: Serialize + DeserializeOwned + Send + 'static,
    O: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Input = I;
    type Output = R;

    fn spec(&self) -> &Arc<TaskSpec> {
        &self.spec
    }
}
