//! [`Executor::enqueue_sleeping`] and [`Executor::wake`]: sleeping tasks
//! (docs/design.md "Sleeping tasks").

use super::{Executor, retrying};
use crate::executor::error::ExecutorError;
use crate::executor::handle::TaskHandle;
use crate::executor::options::EnqueueOptions;
use crate::executor::sleeping::{SleepingTask, WakeOutcome, validate_sleeping_key};
use crate::model::{ExecutionError, TaskExecution, now_millis};
use crate::storage::Wake;
use serde::Serialize;
use serde::de::DeserializeOwned;

impl Executor {
    /// Enqueues one execution of a sleeping task under `key` (1–255
    /// characters): it starts `sleeping` and stays there until
    /// [`Executor::wake`] (here or in any other process sharing the
    /// storage) finishes it, or until its timeout passes (`timed_out`). Two
    /// sleeping executions never share a key: a key in use fails with
    /// [`StorageError::DuplicateSleepingKey`](crate::storage::StorageError::DuplicateSleepingKey).
    pub async fn enqueue_sleeping<O>(
        &self,
        task: &SleepingTask<O>,
        key: impl Into<String>,
    ) -> Result<TaskHandle<O>, ExecutorError>
    where
        O: Serialize + DeserializeOwned + Send + 'static,
    {
        self.enqueue_with(task, (), EnqueueOptions::new().sleeping_key(key))
            .await
    }

    /// Wakes the sleeping execution of `task` with this key: `completed`
    /// with the output, or `failed` with the message, in one guarded step,
    /// so that a wake racing its timeout or a cancellation has exactly one
    /// winner. Returns the finished execution. Idempotent: when the
    /// execution already finished (woken, timed out or cancelled), it is
    /// returned unchanged. An unknown key (for this task) fails with
    /// [`ExecutorError::UnknownSleepingKey`]. The task need not be
    /// registered on this executor.
    pub async fn wake<O>(
        &self,
        task: &SleepingTask<O>,
        key: &str,
        outcome: WakeOutcome<O>,
    ) -> Result<TaskExecution, ExecutorError>
    where
        O: Serialize + DeserializeOwned + Send + 'static,
    {
        let task_id = task.id();
        validate_sleeping_key(task_id, key)?;
        let wake = match outcome {
            WakeOutcome::Completed(output) => {
                let output =
                    serde_json::to_string(&output).map_err(|e| ExecutorError::InvalidInput {
                        task_id: task_id.to_owned(),
                        message: format!("cannot serialize the wake output: {e}"),
                    })?;
                self.inner.check_size(task_id, "Output", &output)?;
                Wake::Completed { output }
            }
            WakeOutcome::Failed(message) => Wake::Failed {
                error: ExecutionError::generic(message, false),
            },
        };
        let inner = &self.inner;
        let now = now_millis();
        let found = retrying(inner, "wake", || {
            inner.storage.wake(task_id, key, now, &wake)
        })
        .await
        .map_err(ExecutorError::storage("wake"))?;
        match found {
            Some(found) => {
                if found.woken {
                    inner.wake.closer.notify_one();
                    tracing::debug!(task_id, key, execution_id = %found.execution.execution_id, status = %found.execution.status, "woken");
                }
                Ok(found.execution)
            }
            None => Err(ExecutorError::UnknownSleepingKey {
                task_id: task_id.to_owned(),
                key: key.to_owned(),
            }),
        }
    }
}
