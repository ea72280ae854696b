//! Typed accessors on the public read view of an execution.

use super::error::ExecutorError;
use crate::model::{ExecutionStatus, TaskExecution};
use serde::de::DeserializeOwned;

impl TaskExecution {
    /// The final output, deserialized. Fails with
    /// [`ExecutorError::NotCompleted`] unless the execution is `completed`.
    ///
    /// For a parent task without finalize, read it as a
    /// [`ParentResult`](crate::ParentResult).
    pub fn output<T: DeserializeOwned>(&self) -> Result<T, ExecutorError> {
        match (&self.output, self.status) {
            (Some(output), ExecutionStatus::Completed) => self.decode(output, "output"),
            _ => Err(ExecutorError::NotCompleted {
                execution_id: self.execution_id.clone(),
                status: self.status,
                error: self
                    .status
                    .is_finished()
                    .then(|| self.parent_facing_error()),
            }),
        }
    }

    /// The input, deserialized.
    pub fn input<T: DeserializeOwned>(&self) -> Result<T, ExecutorError> {
        self.decode(&self.input, "input")
    }

    /// The output of the task's own run (for a parent: its own part, before
    /// children and finalize), if the run succeeded.
    pub fn run_output<T: DeserializeOwned>(&self) -> Result<Option<T>, ExecutorError> {
        self.run_output
            .as_deref()
            .map(|raw| self.decode(raw, "run output"))
            .transpose()
    }

    fn decode<T: DeserializeOwned>(
        &self,
        raw: &str,
        what: &'static str,
    ) -> Result<T, ExecutorError> {
        serde_json::from_str(raw).map_err(|e| ExecutorError::Deserialize {
            execution_id: self.execution_id.clone(),
            what,
            message: e.to_string(),
        })
    }

    /// Whether the status is terminal.
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}
