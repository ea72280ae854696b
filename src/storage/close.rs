//! What closing a batch of finished executions does to their parents and
//! descendants, computed once (pure) and applied by every backend inside one
//! transaction.

use crate::model::{ChildError, ExecutionError, ExecutionStatus, TaskExecution};
use std::collections::BTreeMap;

use super::CancelItem;

/// The effects of closing a batch of finished executions.
///
/// Maps are keyed by parent execution id and iterate in sorted order, so that
/// every backend locks parent rows in the same order (no deadlock between two
/// closers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClosePlan {
    /// Completed regular children per parent (and children in any final
    /// status of a parent whose finalize decides): the parent's
    /// `active_children_count` goes down by this much (only while the parent
    /// is `waiting_for_children_tasks`).
    pub decrements: BTreeMap<String, u32>,
    /// Children that finished without completing, per parent: appended to the
    /// parent's `children_errors`; a waiting parent becomes
    /// `children_tasks_failed`.
    pub child_failures: BTreeMap<String, Vec<ChildError>>,
    /// Completed finalize executions: their parent (if still
    /// `waiting_for_finalize_task`) completes with this output.
    pub finalize_completions: BTreeMap<String, String>,
    /// Finalize executions that did not complete: their parent (if still
    /// `waiting_for_finalize_task`) becomes `finalize_task_failed`.
    pub finalize_failures: BTreeMap<String, ExecutionError>,
    /// Subtrees to cancel: the descendants of every closed execution that did
    /// not complete and has children or a finalize.
    pub cancel_subtrees: Vec<CancelItem>,
}

impl ClosePlan {
    /// Computes the plan for a batch of finished executions.
    pub fn new(finished: &[TaskExecution]) -> Self {
        let mut plan = Self::default();
        for execution in finished {
            debug_assert!(execution.status.is_finished());
            let completed = execution.status == ExecutionStatus::Completed;
            if let Some(parent) = &execution.parent {
                let parent_id = parent.execution_id.clone();
                match (parent.is_finalize, completed || parent.parent_decides) {
                    // A child of a parent whose finalize decides counts
                    // down in any final status (docs/design.md, "Closing").
                    (false, true) => *plan.decrements.entry(parent_id).or_default() += 1,
                    (false, false) => {
                        plan.child_failures
                            .entry(parent_id)
                            .or_default()
                            .push(ChildError {
                                index: parent.index,
                                task_id: execution.task_id.clone(),
                                execution_id: execution.execution_id.clone(),
                                error: execution.parent_facing_error(),
                            })
                    }
                    (true, true) => {
                        plan.finalize_completions.insert(
                            parent_id,
                            execution
                                .output
                                .clone()
                                .unwrap_or_else(|| "null".to_owned()),
                        );
                    }
                    (true, false) => {
                        plan.finalize_failures
                            .insert(parent_id, execution.parent_facing_error());
                    }
                }
            }
            let has_descendants =
                execution.children_count > 0 || execution.finalize_execution_id.is_some();
            if !completed && has_descendants {
                let error = execution.parent_facing_error();
                plan.cancel_subtrees.push(CancelItem {
                    execution_id: execution.execution_id.clone(),
                    error: ExecutionError::cancelled(format!(
                        "Parent task {} with execution id {} failed: {}",
                        execution.task_id, execution.execution_id, error.message
                    )),
                    include_self: false,
                });
            }
        }
        for errors in plan.child_failures.values_mut() {
            errors.sort_by_key(|e| e.index);
        }
        plan
    }

    /// Whether the plan changes nothing besides marking rows closed.
    pub fn is_empty(&self) -> bool {
        self.decrements.is_empty()
            && self.child_failures.is_empty()
            && self.finalize_completions.is_empty()
            && self.finalize_failures.is_empty()
            && self.cancel_subtrees.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ParentRef, RetryOptions};

    fn execution(
        id: &str,
        status: ExecutionStatus,
        parent: Option<(&str, u32, bool)>,
    ) -> TaskExecution {
        TaskExecution {
            execution_id: id.into(),
            task_id: "t".into(),
            root: None,
            parent: parent.map(|(p, index, is_finalize)| ParentRef {
                task_id: "p".into(),
                execution_id: p.into(),
                index,
                is_finalize,
                parent_decides: false,
            }),
            retry_options: RetryOptions::default(),
            timeout_ms: 1000,
            input: "null".into(),
            output: Some("1".into()),
            error: (status != ExecutionStatus::Completed)
                .then(|| ExecutionError::generic("boom", true)),
            status,
            finished_at: Some(1),
            ..TaskExecution::default()
        }
    }

    #[test]
    fn completed_siblings_aggregate_into_one_decrement() {
        let plan = ClosePlan::new(&[
            execution("a", ExecutionStatus::Completed, Some(("p", 0, false))),
            execution("b", ExecutionStatus::Completed, Some(("p", 1, false))),
            execution("c", ExecutionStatus::Completed, Some(("q", 0, false))),
        ]);
        assert_eq!(plan.decrements.get("p"), Some(&2));
        assert_eq!(plan.decrements.get("q"), Some(&1));
        assert!(plan.child_failures.is_empty());
    }

    #[test]
    fn failed_children_are_recorded_in_index_order() {
        let plan = ClosePlan::new(&[
            execution("b", ExecutionStatus::Failed, Some(("p", 1, false))),
            execution("a", ExecutionStatus::Cancelled, Some(("p", 0, false))),
        ]);
        let errors = &plan.child_failures["p"];
        assert_eq!(
            errors.iter().map(|e| e.index).collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(errors[1].error.message, "boom");
    }

    #[test]
    fn children_of_a_deciding_parent_count_down_in_any_status() {
        let mut failed = execution("a", ExecutionStatus::Failed, Some(("p", 0, false)));
        let mut cancelled = execution("b", ExecutionStatus::Cancelled, Some(("p", 1, false)));
        for child in [&mut failed, &mut cancelled] {
            if let Some(parent) = child.parent.as_mut() {
                parent.parent_decides = true;
            }
        }
        failed.children_count = 2;
        let plan = ClosePlan::new(&[failed, cancelled]);
        assert_eq!(plan.decrements.get("p"), Some(&2));
        assert!(plan.child_failures.is_empty());
        // The failed child's own descendants are still cancelled.
        assert_eq!(plan.cancel_subtrees.len(), 1);
        assert_eq!(plan.cancel_subtrees[0].execution_id, "a");
    }

    #[test]
    fn finalize_results_go_to_the_parent() {
        let plan = ClosePlan::new(&[
            execution("f", ExecutionStatus::Completed, Some(("p", 0, true))),
            execution("g", ExecutionStatus::TimedOut, Some(("q", 0, true))),
        ]);
        assert_eq!(
            plan.finalize_completions.get("p").map(String::as_str),
            Some("1")
        );
        assert_eq!(plan.finalize_failures["q"].message, "boom");
    }

    #[test]
    fn failed_parents_cancel_their_descendants() {
        let mut parent = execution("p", ExecutionStatus::ChildrenTasksFailed, None);
        parent.children_count = 3;
        let leaf = execution("x", ExecutionStatus::Failed, None);
        let plan = ClosePlan::new(&[parent, leaf]);
        assert_eq!(plan.cancel_subtrees.len(), 1);
        assert_eq!(plan.cancel_subtrees[0].execution_id, "p");
        assert!(!plan.cancel_subtrees[0].include_self);
        assert!(
            plan.cancel_subtrees[0]
                .error
                .message
                .starts_with("Parent task t with execution id p failed: boom")
        );
    }
}
