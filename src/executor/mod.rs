//! The executor: typed task definitions, enqueueing, handles and the
//! background loops that run executions from a [`Storage`](crate::storage::Storage).

mod backoff;
mod context;
mod error;
mod events;
mod handle;
mod ids;
mod looping;
mod options;
mod runtime;
mod sequential;
mod sleeping;
mod state;
mod task;
mod view;

pub use backoff::{retry_delay_ms, retry_delay_with_jitter_ms};
pub use context::TaskContext;
pub use error::{ExecutorError, TaskError};
pub use events::{ExecutionEvent, ExecutionEventKind};
pub use handle::{ExecutionHandle, TaskHandle, WaitOptions};
pub use ids::generate_execution_id;
pub use looping::{LoopDelay, LoopResult, LoopStep, LoopingTask};
pub use options::{EnqueueOptions, ExecutorOptions, ExecutorOptionsBuilder, RetentionPolicy};
pub use runtime::{Executor, ExecutorBuilder, ExecutorStats, IntoStorage};
pub use sequential::Sequence;
pub use sleeping::{SleepingTask, WakeOutcome};
pub use task::{
    ChildOutcome, ChildTask, Definition, FinalizeInput, FinalizeInputOf, ParentOutput,
    ParentResult, ParentTask, Task, TaskSpec,
};
