// @generated from spec/task_executions.yaml (via queries/task_executions.sql) by cornucopia; do not edit. Regenerate with `cargo xtask codegen`.
// This file was generated with `cornucopia`. Do not modify.

#[derive(Debug)]
pub struct InsertClaimedExecutionsParams<T1: crate::JsonSql, T2: crate::StringSql> {
    pub now: i64,
    pub limit: i64,
    pub rows: T1,
    pub lease_slack_ms: i64,
    pub executor_id: T2,
    pub lease_ms: i64,
}
#[derive(Debug)]
pub struct GetChildrenOutputsParams<T1: crate::StringSql> {
    pub parent_execution_id: T1,
    pub after_index: i32,
    pub limit: i64,
}
#[derive(Debug)]
pub struct ClaimReadyParams<T1: crate::StringSql> {
    pub executor_id: T1,
    pub now: i64,
    pub lease_slack_ms: i64,
    pub lease_ms: i64,
    pub limit: i64,
}
#[derive(Debug)]
pub struct FinishExecutionsParams<T1: crate::JsonSql, T2: crate::StringSql> {
    pub now: i64,
    pub items: T1,
    pub executor_id: T2,
}
#[derive(Debug)]
pub struct RetryExecutionsParams<T1: crate::JsonSql, T2: crate::StringSql> {
    pub now: i64,
    pub items: T1,
    pub executor_id: T2,
}
#[derive(Debug)]
pub struct StartWaitingParams<T1: crate::JsonSql, T2: crate::StringSql> {
    pub now: i64,
    pub items: T1,
    pub executor_id: T2,
}
#[derive(Debug)]
pub struct ReleaseExecutionsParams<T1: crate::JsonSql, T2: crate::StringSql> {
    pub now: i64,
    pub items: T1,
    pub executor_id: T2,
}
#[derive(Debug)]
pub struct HeartbeatExecutionsParams<T1: crate::JsonSql, T2: crate::StringSql> {
    pub now: i64,
    pub lease_ms: i64,
    pub items: T1,
    pub executor_id: T2,
}
#[derive(Clone, Copy, Debug)]
pub struct ClaimUnclosedParams {
    pub now: i64,
    pub limit: i64,
}
#[derive(Debug)]
pub struct DecrementActiveChildrenParams<T1: crate::JsonSql> {
    pub now: i64,
    pub items: T1,
}
#[derive(Debug)]
pub struct RecordChildrenFailuresParams<T1: crate::JsonSql> {
    pub now: i64,
    pub items: T1,
}
#[derive(Debug)]
pub struct CompleteFromFinalizeParams<T1: crate::JsonSql> {
    pub now: i64,
    pub items: T1,
}
#[derive(Debug)]
pub struct FailFromFinalizeParams<T1: crate::JsonSql> {
    pub now: i64,
    pub items: T1,
}
#[derive(Debug)]
pub struct CancelSubtreesParams<T1: crate::JsonSql> {
    pub items: T1,
    pub now: i64,
}
#[derive(Debug)]
pub struct AdvanceParentsParams<T1: crate::JsonSql> {
    pub now: i64,
    pub items: T1,
}
#[derive(Debug)]
pub struct ClaimCancellationsParams<T1: crate::StringSql> {
    pub executor_id: T1,
    pub limit: i64,
}
#[derive(Debug)]
pub struct ExpireLeasesParams<T1: crate::JsonSql> {
    pub now: i64,
    pub error: T1,
    pub limit: i64,
}
#[derive(Debug)]
pub struct WakeSleepingParams<T1: crate::JsonSql, T2: crate::StringSql, T3: crate::StringSql> {
    pub outcome: T1,
    pub now: i64,
    pub sleeping_key: T2,
    pub task_id: T3,
}
#[derive(Debug)]
pub struct GetBySleepingKeyParams<T1: crate::StringSql, T2: crate::StringSql> {
    pub sleeping_key: T1,
    pub task_id: T2,
}
#[derive(Debug)]
pub struct ExpireSleepingParams<T1: crate::JsonSql> {
    pub error: T1,
    pub now: i64,
    pub limit: i64,
}
#[derive(Clone, Copy, Debug)]
pub struct RepairMissingLeasesParams {
    pub now: i64,
    pub lease_slack_ms: i64,
    pub limit: i64,
}
#[derive(Debug)]
pub struct FailMissingFinalizeParams<T1: crate::JsonSql> {
    pub error: T1,
    pub now: i64,
    pub limit: i64,
}
#[derive(Debug)]
pub struct ListExecutionsParams<T1: crate::StringSql, T2: crate::StringSql, T3: crate::JsonSql> {
    pub before_created_at: i64,
    pub before_execution_id: T1,
    pub created_from: i64,
    pub created_to: i64,
    pub any_finished: bool,
    pub finished_from: i64,
    pub finished_to: i64,
    pub task_id: T2,
    pub root_only: bool,
    pub any_status: bool,
    pub statuses: T3,
    pub limit: i64,
}
#[derive(Debug)]
pub struct ListChildrenOfParams<
    T1: crate::StringSql,
    T2: crate::StringSql,
    T3: crate::StringSql,
    T4: crate::JsonSql,
> {
    pub parent_execution_id: T1,
    pub before_created_at: i64,
    pub before_execution_id: T2,
    pub created_from: i64,
    pub created_to: i64,
    pub any_finished: bool,
    pub finished_from: i64,
    pub finished_to: i64,
    pub task_id: T3,
    pub root_only: bool,
    pub any_status: bool,
    pub statuses: T4,
    pub limit: i64,
}
#[derive(Debug)]
pub struct RerunRootParams<T1: crate::StringSql> {
    pub now: i64,
    pub execution_id: T1,
}
#[derive(Debug)]
pub struct PruneRootsParams<T1: crate::StringSql> {
    pub status: T1,
    pub finished_before: i64,
    pub after_finished_at: i64,
    pub after_id: i64,
    pub limit: i64,
}
#[derive(Debug)]
pub struct CountPrunableParams<T1: crate::StringSql> {
    pub status: T1,
    pub finished_before: i64,
    pub after_finished_at: i64,
    pub after_id: i64,
    pub limit: i64,
}
#[derive(Debug, Clone, PartialEq)]
pub struct TaskExecutionRow {
    pub id: i64,
    pub execution_id: String,
    pub task_id: String,
    pub root_task_id: Option<String>,
    pub root_execution_id: Option<String>,
    pub parent_task_id: Option<String>,
    pub parent_execution_id: Option<String>,
    pub index_in_parent: i32,
    pub is_finalize: bool,
    pub retry_options: serde_json::Value,
    pub sleep_ms_before_run: i64,
    pub timeout_ms: i64,
    pub input: String,
    pub run_output: Option<String>,
    pub output: Option<String>,
    pub children_count: i32,
    pub active_children_count: i32,
    pub finalize_execution_id: Option<String>,
    pub children_errors: Option<serde_json::Value>,
    pub finalize_error: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
    pub status: String,
    pub is_closed: bool,
    pub needs_cancel: bool,
    pub executor_id: Option<String>,
    pub attempt: i32,
    pub start_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub waiting_for_children_started_at: Option<i64>,
    pub waiting_for_finalize_started_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub sleeping_key: Option<String>,
    pub parent_decides: bool,
    pub heartbeat_expires_at: Option<i64>,
}
pub struct TaskExecutionRowBorrowed<'a> {
    pub id: i64,
    pub execution_id: &'a str,
    pub task_id: &'a str,
    pub root_task_id: Option<&'a str>,
    pub root_execution_id: Option<&'a str>,
    pub parent_task_id: Option<&'a str>,
    pub parent_execution_id: Option<&'a str>,
    pub index_in_parent: i32,
    pub is_finalize: bool,
    pub retry_options: postgres_types::Json<&'a serde_json::value::RawValue>,
    pub sleep_ms_before_run: i64,
    pub timeout_ms: i64,
    pub input: &'a str,
    pub run_output: Option<&'a str>,
    pub output: Option<&'a str>,
    pub children_count: i32,
    pub active_children_count: i32,
    pub finalize_execution_id: Option<&'a str>,
    pub children_errors: Option<postgres_types::Json<&'a serde_json::value::RawValue>>,
    pub finalize_error: Option<postgres_types::Json<&'a serde_json::value::RawValue>>,
    pub error: Option<postgres_types::Json<&'a serde_json::value::RawValue>>,
    pub status: &'a str,
    pub is_closed: bool,
    pub needs_cancel: bool,
    pub executor_id: Option<&'a str>,
    pub attempt: i32,
    pub start_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub waiting_for_children_started_at: Option<i64>,
    pub waiting_for_finalize_started_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub sleeping_key: Option<&'a str>,
    pub parent_decides: bool,
    pub heartbeat_expires_at: Option<i64>,
}
impl<'a> From<TaskExecutionRowBorrowed<'a>> for TaskExecutionRow {
    fn from(
        TaskExecutionRowBorrowed {
            id,
            execution_id,
            task_id,
            root_task_id,
            root_execution_id,
            parent_task_id,
            parent_execution_id,
            index_in_parent,
            is_finalize,
            retry_options,
            sleep_ms_before_run,
            timeout_ms,
            input,
            run_output,
            output,
            children_count,
            active_children_count,
            finalize_execution_id,
            children_errors,
            finalize_error,
            error,
            status,
            is_closed,
            needs_cancel,
            executor_id,
            attempt,
            start_at,
            started_at,
            finished_at,
            expires_at,
            created_at,
            updated_at,
            waiting_for_children_started_at,
            waiting_for_finalize_started_at,
            closed_at,
            sleeping_key,
            parent_decides,
            heartbeat_expires_at,
        }: TaskExecutionRowBorrowed<'a>,
    ) -> Self {
        Self {
            id,
            execution_id: execution_id.into(),
            task_id: task_id.into(),
            root_task_id: root_task_id.map(|v| v.into()),
            root_execution_id: root_execution_id.map(|v| v.into()),
            parent_task_id: parent_task_id.map(|v| v.into()),
            parent_execution_id: parent_execution_id.map(|v| v.into()),
            index_in_parent,
            is_finalize,
            retry_options: serde_json::from_str(retry_options.0.get()).unwrap(),
            sleep_ms_before_run,
            timeout_ms,
            input: input.into(),
            run_output: run_output.map(|v| v.into()),
            output: output.map(|v| v.into()),
            children_count,
            active_children_count,
            finalize_execution_id: finalize_execution_id.map(|v| v.into()),
            children_errors: children_errors.map(|v| serde_json::from_str(v.0.get()).unwrap()),
            finalize_error: finalize_error.map(|v| serde_json::from_str(v.0.get()).unwrap()),
            error: error.map(|v| serde_json::from_str(v.0.get()).unwrap()),
            status: status.into(),
            is_closed,
            needs_cancel,
            executor_id: executor_id.map(|v| v.into()),
            attempt,
            start_at,
            started_at,
            finished_at,
            expires_at,
            created_at,
            updated_at,
            waiting_for_children_started_at,
            waiting_for_finalize_started_at,
            closed_at,
            sleeping_key: sleeping_key.map(|v| v.into()),
            parent_decides,
            heartbeat_expires_at,
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct GetChildrenOutputsRow {
    pub execution_id: String,
    pub index_in_parent: i32,
    pub status: String,
    pub output: Option<String>,
    pub error: Option<serde_json::Value>,
}
pub struct GetChildrenOutputsRowBorrowed<'a> {
    pub execution_id: &'a str,
    pub index_in_parent: i32,
    pub status: &'a str,
    pub output: Option<&'a str>,
    pub error: Option<postgres_types::Json<&'a serde_json::value::RawValue>>,
}
impl<'a> From<GetChildrenOutputsRowBorrowed<'a>> for GetChildrenOutputsRow {
    fn from(
        GetChildrenOutputsRowBorrowed {
            execution_id,
            index_in_parent,
            status,
            output,
            error,
        }: GetChildrenOutputsRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
            index_in_parent,
            status: status.into(),
            output: output.map(|v| v.into()),
            error: error.map(|v| serde_json::from_str(v.0.get()).unwrap()),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct FinishExecutionsRow {
    pub execution_id: String,
}
pub struct FinishExecutionsRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<FinishExecutionsRowBorrowed<'a>> for FinishExecutionsRow {
    fn from(FinishExecutionsRowBorrowed { execution_id }: FinishExecutionsRowBorrowed<'a>) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct RetryExecutionsRow {
    pub execution_id: String,
}
pub struct RetryExecutionsRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<RetryExecutionsRowBorrowed<'a>> for RetryExecutionsRow {
    fn from(RetryExecutionsRowBorrowed { execution_id }: RetryExecutionsRowBorrowed<'a>) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct StartWaitingRow {
    pub execution_id: String,
}
pub struct StartWaitingRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<StartWaitingRowBorrowed<'a>> for StartWaitingRow {
    fn from(StartWaitingRowBorrowed { execution_id }: StartWaitingRowBorrowed<'a>) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseExecutionsRow {
    pub execution_id: String,
}
pub struct ReleaseExecutionsRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<ReleaseExecutionsRowBorrowed<'a>> for ReleaseExecutionsRow {
    fn from(
        ReleaseExecutionsRowBorrowed { execution_id }: ReleaseExecutionsRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatExecutionsRow {
    pub execution_id: String,
}
pub struct HeartbeatExecutionsRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<HeartbeatExecutionsRowBorrowed<'a>> for HeartbeatExecutionsRow {
    fn from(
        HeartbeatExecutionsRowBorrowed { execution_id }: HeartbeatExecutionsRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct LockExecutionsRow {
    pub execution_id: String,
    pub status: String,
}
pub struct LockExecutionsRowBorrowed<'a> {
    pub execution_id: &'a str,
    pub status: &'a str,
}
impl<'a> From<LockExecutionsRowBorrowed<'a>> for LockExecutionsRow {
    fn from(
        LockExecutionsRowBorrowed {
            execution_id,
            status,
        }: LockExecutionsRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
            status: status.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct DecrementActiveChildrenRow {
    pub execution_id: String,
    pub active_children_count: i32,
}
pub struct DecrementActiveChildrenRowBorrowed<'a> {
    pub execution_id: &'a str,
    pub active_children_count: i32,
}
impl<'a> From<DecrementActiveChildrenRowBorrowed<'a>> for DecrementActiveChildrenRow {
    fn from(
        DecrementActiveChildrenRowBorrowed {
            execution_id,
            active_children_count,
        }: DecrementActiveChildrenRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
            active_children_count,
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct RecordChildrenFailuresRow {
    pub execution_id: String,
    pub status: String,
}
pub struct RecordChildrenFailuresRowBorrowed<'a> {
    pub execution_id: &'a str,
    pub status: &'a str,
}
impl<'a> From<RecordChildrenFailuresRowBorrowed<'a>> for RecordChildrenFailuresRow {
    fn from(
        RecordChildrenFailuresRowBorrowed {
            execution_id,
            status,
        }: RecordChildrenFailuresRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
            status: status.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct CompleteFromFinalizeRow {
    pub execution_id: String,
}
pub struct CompleteFromFinalizeRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<CompleteFromFinalizeRowBorrowed<'a>> for CompleteFromFinalizeRow {
    fn from(
        CompleteFromFinalizeRowBorrowed { execution_id }: CompleteFromFinalizeRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct FailFromFinalizeRow {
    pub execution_id: String,
}
pub struct FailFromFinalizeRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<FailFromFinalizeRowBorrowed<'a>> for FailFromFinalizeRow {
    fn from(FailFromFinalizeRowBorrowed { execution_id }: FailFromFinalizeRowBorrowed<'a>) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct CancelSubtreesRow {
    pub execution_id: String,
}
pub struct CancelSubtreesRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<CancelSubtreesRowBorrowed<'a>> for CancelSubtreesRow {
    fn from(CancelSubtreesRowBorrowed { execution_id }: CancelSubtreesRowBorrowed<'a>) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct AdvanceParentsRow {
    pub execution_id: String,
}
pub struct AdvanceParentsRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<AdvanceParentsRowBorrowed<'a>> for AdvanceParentsRow {
    fn from(AdvanceParentsRowBorrowed { execution_id }: AdvanceParentsRowBorrowed<'a>) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCancellationsRow {
    pub execution_id: String,
}
pub struct ClaimCancellationsRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<ClaimCancellationsRowBorrowed<'a>> for ClaimCancellationsRow {
    fn from(
        ClaimCancellationsRowBorrowed { execution_id }: ClaimCancellationsRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct ExpireLeasesRow {
    pub execution_id: String,
    pub status: String,
}
pub struct ExpireLeasesRowBorrowed<'a> {
    pub execution_id: &'a str,
    pub status: &'a str,
}
impl<'a> From<ExpireLeasesRowBorrowed<'a>> for ExpireLeasesRow {
    fn from(
        ExpireLeasesRowBorrowed {
            execution_id,
            status,
        }: ExpireLeasesRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
            status: status.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct ExpireSleepingRow {
    pub execution_id: String,
}
pub struct ExpireSleepingRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<ExpireSleepingRowBorrowed<'a>> for ExpireSleepingRow {
    fn from(ExpireSleepingRowBorrowed { execution_id }: ExpireSleepingRowBorrowed<'a>) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct RepairMissingLeasesRow {
    pub execution_id: String,
}
pub struct RepairMissingLeasesRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<RepairMissingLeasesRowBorrowed<'a>> for RepairMissingLeasesRow {
    fn from(
        RepairMissingLeasesRowBorrowed { execution_id }: RepairMissingLeasesRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct FailMissingFinalizeRow {
    pub execution_id: String,
}
pub struct FailMissingFinalizeRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<FailMissingFinalizeRowBorrowed<'a>> for FailMissingFinalizeRow {
    fn from(
        FailMissingFinalizeRowBorrowed { execution_id }: FailMissingFinalizeRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq, Copy)]
pub struct CountStuckRow {
    pub running_without_lease: i64,
    pub missing_finalize: i64,
}
#[derive(Debug, Clone, PartialEq)]
pub struct CountByTaskAndStatusRow {
    pub task_id: String,
    pub status: String,
    pub count: i64,
}
pub struct CountByTaskAndStatusRowBorrowed<'a> {
    pub task_id: &'a str,
    pub status: &'a str,
    pub count: i64,
}
impl<'a> From<CountByTaskAndStatusRowBorrowed<'a>> for CountByTaskAndStatusRow {
    fn from(
        CountByTaskAndStatusRowBorrowed {
            task_id,
            status,
            count,
        }: CountByTaskAndStatusRowBorrowed<'a>,
    ) -> Self {
        Self {
            task_id: task_id.into(),
            status: status.into(),
            count,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Copy)]
pub struct OldestReadyRow {
    pub oldest_start_at: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Copy)]
pub struct CountExpiredLeasesRow {
    pub count: i64,
}
#[derive(Debug, Clone, PartialEq)]
pub struct RerunRootRow {
    pub execution_id: String,
}
pub struct RerunRootRowBorrowed<'a> {
    pub execution_id: &'a str,
}
impl<'a> From<RerunRootRowBorrowed<'a>> for RerunRootRow {
    fn from(RerunRootRowBorrowed { execution_id }: RerunRootRowBorrowed<'a>) -> Self {
        Self {
            execution_id: execution_id.into(),
        }
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct PruneRootsRow {
    pub execution_id: String,
    pub finished_at: Option<i64>,
    pub id: i64,
}
pub struct PruneRootsRowBorrowed<'a> {
    pub execution_id: &'a str,
    pub finished_at: Option<i64>,
    pub id: i64,
}
impl<'a> From<PruneRootsRowBorrowed<'a>> for PruneRootsRow {
    fn from(
        PruneRootsRowBorrowed {
            execution_id,
            finished_at,
            id,
        }: PruneRootsRowBorrowed<'a>,
    ) -> Self {
        Self {
            execution_id: execution_id.into(),
            finished_at,
            id,
        }
    }
}
#[derive(Debug, Clone, PartialEq, Copy)]
pub struct CountPrunableRow {
    pub roots: i64,
    pub executions: i64,
}
#[derive(Debug, Clone, PartialEq, Copy)]
pub struct NotifyEventsRow {
    pub sent: i64,
}
#[derive(Debug, Clone, PartialEq)]
pub struct EventChannelRow {
    pub channel: String,
}
pub struct EventChannelRowBorrowed<'a> {
    pub channel: &'a str,
}
impl<'a> From<EventChannelRowBorrowed<'a>> for EventChannelRow {
    fn from(EventChannelRowBorrowed { channel }: EventChannelRowBorrowed<'a>) -> Self {
        Self {
            channel: channel.into(),
        }
    }
}
use crate::client::async_::GenericClient;
use futures::{self, StreamExt, TryStreamExt};
pub struct TaskExecutionRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error>,
    mapper: fn(TaskExecutionRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> TaskExecutionRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(TaskExecutionRowBorrowed) -> R,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, R, N> {
        TaskExecutionRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct GetChildrenOutputsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<GetChildrenOutputsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(GetChildrenOutputsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> GetChildrenOutputsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(GetChildrenOutputsRowBorrowed) -> R,
    ) -> GetChildrenOutputsRowQuery<'c, 'a, 's, C, R, N> {
        GetChildrenOutputsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct FinishExecutionsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<FinishExecutionsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(FinishExecutionsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> FinishExecutionsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(FinishExecutionsRowBorrowed) -> R,
    ) -> FinishExecutionsRowQuery<'c, 'a, 's, C, R, N> {
        FinishExecutionsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct RetryExecutionsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<RetryExecutionsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(RetryExecutionsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> RetryExecutionsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(RetryExecutionsRowBorrowed) -> R,
    ) -> RetryExecutionsRowQuery<'c, 'a, 's, C, R, N> {
        RetryExecutionsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct StartWaitingRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<StartWaitingRowBorrowed, tokio_postgres::Error>,
    mapper: fn(StartWaitingRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> StartWaitingRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(StartWaitingRowBorrowed) -> R,
    ) -> StartWaitingRowQuery<'c, 'a, 's, C, R, N> {
        StartWaitingRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct ReleaseExecutionsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<ReleaseExecutionsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(ReleaseExecutionsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> ReleaseExecutionsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(ReleaseExecutionsRowBorrowed) -> R,
    ) -> ReleaseExecutionsRowQuery<'c, 'a, 's, C, R, N> {
        ReleaseExecutionsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct HeartbeatExecutionsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<HeartbeatExecutionsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(HeartbeatExecutionsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> HeartbeatExecutionsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(HeartbeatExecutionsRowBorrowed) -> R,
    ) -> HeartbeatExecutionsRowQuery<'c, 'a, 's, C, R, N> {
        HeartbeatExecutionsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct LockExecutionsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<LockExecutionsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(LockExecutionsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> LockExecutionsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(LockExecutionsRowBorrowed) -> R,
    ) -> LockExecutionsRowQuery<'c, 'a, 's, C, R, N> {
        LockExecutionsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct DecrementActiveChildrenRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(
        &tokio_postgres::Row,
    ) -> Result<DecrementActiveChildrenRowBorrowed, tokio_postgres::Error>,
    mapper: fn(DecrementActiveChildrenRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> DecrementActiveChildrenRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(DecrementActiveChildrenRowBorrowed) -> R,
    ) -> DecrementActiveChildrenRowQuery<'c, 'a, 's, C, R, N> {
        DecrementActiveChildrenRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct RecordChildrenFailuresRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(
        &tokio_postgres::Row,
    ) -> Result<RecordChildrenFailuresRowBorrowed, tokio_postgres::Error>,
    mapper: fn(RecordChildrenFailuresRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> RecordChildrenFailuresRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(RecordChildrenFailuresRowBorrowed) -> R,
    ) -> RecordChildrenFailuresRowQuery<'c, 'a, 's, C, R, N> {
        RecordChildrenFailuresRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct CompleteFromFinalizeRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<CompleteFromFinalizeRowBorrowed, tokio_postgres::Error>,
    mapper: fn(CompleteFromFinalizeRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> CompleteFromFinalizeRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(CompleteFromFinalizeRowBorrowed) -> R,
    ) -> CompleteFromFinalizeRowQuery<'c, 'a, 's, C, R, N> {
        CompleteFromFinalizeRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct FailFromFinalizeRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<FailFromFinalizeRowBorrowed, tokio_postgres::Error>,
    mapper: fn(FailFromFinalizeRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> FailFromFinalizeRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(FailFromFinalizeRowBorrowed) -> R,
    ) -> FailFromFinalizeRowQuery<'c, 'a, 's, C, R, N> {
        FailFromFinalizeRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct CancelSubtreesRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<CancelSubtreesRowBorrowed, tokio_postgres::Error>,
    mapper: fn(CancelSubtreesRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> CancelSubtreesRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(CancelSubtreesRowBorrowed) -> R,
    ) -> CancelSubtreesRowQuery<'c, 'a, 's, C, R, N> {
        CancelSubtreesRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct AdvanceParentsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<AdvanceParentsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(AdvanceParentsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> AdvanceParentsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(AdvanceParentsRowBorrowed) -> R,
    ) -> AdvanceParentsRowQuery<'c, 'a, 's, C, R, N> {
        AdvanceParentsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct ClaimCancellationsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<ClaimCancellationsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(ClaimCancellationsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> ClaimCancellationsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(ClaimCancellationsRowBorrowed) -> R,
    ) -> ClaimCancellationsRowQuery<'c, 'a, 's, C, R, N> {
        ClaimCancellationsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct ExpireLeasesRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<ExpireLeasesRowBorrowed, tokio_postgres::Error>,
    mapper: fn(ExpireLeasesRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> ExpireLeasesRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(ExpireLeasesRowBorrowed) -> R,
    ) -> ExpireLeasesRowQuery<'c, 'a, 's, C, R, N> {
        ExpireLeasesRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct ExpireSleepingRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<ExpireSleepingRowBorrowed, tokio_postgres::Error>,
    mapper: fn(ExpireSleepingRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> ExpireSleepingRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(ExpireSleepingRowBorrowed) -> R,
    ) -> ExpireSleepingRowQuery<'c, 'a, 's, C, R, N> {
        ExpireSleepingRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct RepairMissingLeasesRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<RepairMissingLeasesRowBorrowed, tokio_postgres::Error>,
    mapper: fn(RepairMissingLeasesRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> RepairMissingLeasesRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(RepairMissingLeasesRowBorrowed) -> R,
    ) -> RepairMissingLeasesRowQuery<'c, 'a, 's, C, R, N> {
        RepairMissingLeasesRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct FailMissingFinalizeRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<FailMissingFinalizeRowBorrowed, tokio_postgres::Error>,
    mapper: fn(FailMissingFinalizeRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> FailMissingFinalizeRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(FailMissingFinalizeRowBorrowed) -> R,
    ) -> FailMissingFinalizeRowQuery<'c, 'a, 's, C, R, N> {
        FailMissingFinalizeRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct CountStuckRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<CountStuckRow, tokio_postgres::Error>,
    mapper: fn(CountStuckRow) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> CountStuckRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(self, mapper: fn(CountStuckRow) -> R) -> CountStuckRowQuery<'c, 'a, 's, C, R, N> {
        CountStuckRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct CountByTaskAndStatusRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor:
        fn(&tokio_postgres::Row) -> Result<CountByTaskAndStatusRowBorrowed, tokio_postgres::Error>,
    mapper: fn(CountByTaskAndStatusRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> CountByTaskAndStatusRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(CountByTaskAndStatusRowBorrowed) -> R,
    ) -> CountByTaskAndStatusRowQuery<'c, 'a, 's, C, R, N> {
        CountByTaskAndStatusRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct OldestReadyRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<OldestReadyRow, tokio_postgres::Error>,
    mapper: fn(OldestReadyRow) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> OldestReadyRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(OldestReadyRow) -> R,
    ) -> OldestReadyRowQuery<'c, 'a, 's, C, R, N> {
        OldestReadyRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct CountExpiredLeasesRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<CountExpiredLeasesRow, tokio_postgres::Error>,
    mapper: fn(CountExpiredLeasesRow) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> CountExpiredLeasesRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(CountExpiredLeasesRow) -> R,
    ) -> CountExpiredLeasesRowQuery<'c, 'a, 's, C, R, N> {
        CountExpiredLeasesRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct RerunRootRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<RerunRootRowBorrowed, tokio_postgres::Error>,
    mapper: fn(RerunRootRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> RerunRootRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(RerunRootRowBorrowed) -> R,
    ) -> RerunRootRowQuery<'c, 'a, 's, C, R, N> {
        RerunRootRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct PruneRootsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<PruneRootsRowBorrowed, tokio_postgres::Error>,
    mapper: fn(PruneRootsRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> PruneRootsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(PruneRootsRowBorrowed) -> R,
    ) -> PruneRootsRowQuery<'c, 'a, 's, C, R, N> {
        PruneRootsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct CountPrunableRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<CountPrunableRow, tokio_postgres::Error>,
    mapper: fn(CountPrunableRow) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> CountPrunableRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(CountPrunableRow) -> R,
    ) -> CountPrunableRowQuery<'c, 'a, 's, C, R, N> {
        CountPrunableRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct NotifyEventsRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<NotifyEventsRow, tokio_postgres::Error>,
    mapper: fn(NotifyEventsRow) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> NotifyEventsRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(NotifyEventsRow) -> R,
    ) -> NotifyEventsRowQuery<'c, 'a, 's, C, R, N> {
        NotifyEventsRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct EventChannelRowQuery<'c, 'a, 's, C: GenericClient, T, const N: usize> {
    client: &'c C,
    params: [&'a (dyn postgres_types::ToSql + Sync); N],
    query: &'static str,
    cached: Option<&'s tokio_postgres::Statement>,
    extractor: fn(&tokio_postgres::Row) -> Result<EventChannelRowBorrowed, tokio_postgres::Error>,
    mapper: fn(EventChannelRowBorrowed) -> T,
}
impl<'c, 'a, 's, C, T: 'c, const N: usize> EventChannelRowQuery<'c, 'a, 's, C, T, N>
where
    C: GenericClient,
{
    pub fn map<R>(
        self,
        mapper: fn(EventChannelRowBorrowed) -> R,
    ) -> EventChannelRowQuery<'c, 'a, 's, C, R, N> {
        EventChannelRowQuery {
            client: self.client,
            params: self.params,
            query: self.query,
            cached: self.cached,
            extractor: self.extractor,
            mapper,
        }
    }
    pub async fn one(self) -> Result<T, tokio_postgres::Error> {
        let row =
            crate::client::async_::one(self.client, self.query, &self.params, self.cached).await?;
        Ok((self.mapper)((self.extractor)(&row)?))
    }
    pub async fn all(self) -> Result<Vec<T>, tokio_postgres::Error> {
        self.iter().await?.try_collect().await
    }
    pub async fn opt(self) -> Result<Option<T>, tokio_postgres::Error> {
        let opt_row =
            crate::client::async_::opt(self.client, self.query, &self.params, self.cached).await?;
        Ok(opt_row
            .map(|row| {
                let extracted = (self.extractor)(&row)?;
                Ok((self.mapper)(extracted))
            })
            .transpose()?)
    }
    pub async fn iter(
        self,
    ) -> Result<
        impl futures::Stream<Item = Result<T, tokio_postgres::Error>> + 'c,
        tokio_postgres::Error,
    > {
        let stream = crate::client::async_::raw(
            self.client,
            self.query,
            crate::slice_iter(&self.params),
            self.cached,
        )
        .await?;
        let mapped = stream
            .map(move |res| {
                res.and_then(|row| {
                    let extracted = (self.extractor)(&row)?;
                    Ok((self.mapper)(extracted))
                })
            })
            .into_stream();
        Ok(mapped)
    }
}
pub struct InsertExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Inserts ready executions from a JSON array of rows; a duplicate execution id fails the whole statement.
pub fn insert_executions() -> InsertExecutionsStmt {
    InsertExecutionsStmt(
        "INSERT INTO task_executions (execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, parent_decides, retry_options, sleep_ms_before_run, timeout_ms, input, status, start_at, created_at, updated_at, sleeping_key, expires_at) SELECT r.execution_id, r.task_id, r.root_task_id, r.root_execution_id, r.parent_task_id, r.parent_execution_id, r.index_in_parent, r.is_finalize, COALESCE(r.parent_decides, false), r.retry_options, r.sleep_ms_before_run, r.timeout_ms, r.input, CASE WHEN r.sleeping_key IS NULL THEN 'ready' ELSE 'sleeping' END, r.start_at, r.created_at, r.created_at, r.sleeping_key, CASE WHEN r.sleeping_key IS NULL THEN NULL ELSE r.created_at + r.timeout_ms END FROM jsonb_to_recordset($1::jsonb) AS r(execution_id text, task_id text, root_task_id text, root_execution_id text, parent_task_id text, parent_execution_id text, index_in_parent integer, is_finalize boolean, parent_decides boolean, retry_options jsonb, sleep_ms_before_run bigint, timeout_ms bigint, input text, start_at bigint, created_at bigint, sleeping_key text)",
        None,
    )
}
impl InsertExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub async fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        rows: &'a T1,
    ) -> Result<u64, tokio_postgres::Error> {
        client.execute(self.0, &[rows]).await
    }
}
pub struct InsertClaimedExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Inserts executions like insert_executions and, in the same statement, claims the first `limit` of them that are due (like claim_ready: owner, timeout bound, heartbeat deadline) when no older execution is ready and due: an executor's claim at enqueue in one round trip and one commit. Returns every row it inserted; those it claimed are `running`.
pub fn insert_claimed_executions() -> InsertClaimedExecutionsStmt {
    InsertClaimedExecutionsStmt(
        "WITH k AS ( SELECT r.execution_id, r.task_id, r.root_task_id, r.root_execution_id, r.parent_task_id, r.parent_execution_id, r.index_in_parent, r.is_finalize, r.parent_decides, r.retry_options, r.sleep_ms_before_run, r.timeout_ms, r.input, r.start_at, r.created_at, r.sleeping_key, (r.sleeping_key IS NULL AND r.start_at <= $1 AND row_number() OVER () <= $2 AND NOT EXISTS (SELECT 1 FROM task_executions AS o WHERE o.status = 'ready' AND o.start_at <= $1)) AS claim FROM jsonb_to_recordset($3::jsonb) AS r(execution_id text, task_id text, root_task_id text, root_execution_id text, parent_task_id text, parent_execution_id text, index_in_parent integer, is_finalize boolean, parent_decides boolean, retry_options jsonb, sleep_ms_before_run bigint, timeout_ms bigint, input text, start_at bigint, created_at bigint, sleeping_key text)) INSERT INTO task_executions (execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, parent_decides, retry_options, sleep_ms_before_run, timeout_ms, input, status, start_at, created_at, updated_at, sleeping_key, expires_at, executor_id, started_at, heartbeat_expires_at) SELECT k.execution_id, k.task_id, k.root_task_id, k.root_execution_id, k.parent_task_id, k.parent_execution_id, k.index_in_parent, k.is_finalize, COALESCE(k.parent_decides, false), k.retry_options, k.sleep_ms_before_run, k.timeout_ms, k.input, CASE WHEN k.sleeping_key IS NOT NULL THEN 'sleeping' WHEN k.claim THEN 'running' ELSE 'ready' END, k.start_at, k.created_at, CASE WHEN k.claim THEN $1 ELSE k.created_at END, k.sleeping_key, CASE WHEN k.sleeping_key IS NOT NULL THEN k.created_at + k.timeout_ms WHEN k.claim THEN $1 + k.timeout_ms + $4 END, CASE WHEN k.claim THEN $5::text END, CASE WHEN k.claim THEN $1 END, CASE WHEN k.claim THEN $1::bigint + $6::bigint END FROM k RETURNING id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at",
        None,
    )
}
impl InsertClaimedExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        limit: &'a i64,
        rows: &'a T1,
        lease_slack_ms: &'a i64,
        executor_id: &'a T2,
        lease_ms: &'a i64,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 6> {
        TaskExecutionRowQuery {
            client,
            params: [now, limit, rows, lease_slack_ms, executor_id, lease_ms],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        InsertClaimedExecutionsParams<T1, T2>,
        TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 6>,
        C,
    > for InsertClaimedExecutionsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a InsertClaimedExecutionsParams<T1, T2>,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 6> {
        self.bind(
            client,
            &params.now,
            &params.limit,
            &params.rows,
            &params.lease_slack_ms,
            &params.executor_id,
            &params.lease_ms,
        )
    }
}
pub struct GetExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Reads executions by id from a JSON array of execution ids.
pub fn get_executions() -> GetExecutionsStmt {
    GetExecutionsStmt(
        "SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions WHERE execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))",
        None,
    )
}
impl GetExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        ids: &'a T1,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 1> {
        TaskExecutionRowQuery {
            client,
            params: [ids],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
pub struct GetChildrenStmt(&'static str, Option<tokio_postgres::Statement>);
/// Reads the children of a parent in spawn order, its finalize last.
pub fn get_children() -> GetChildrenStmt {
    GetChildrenStmt(
        "SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions WHERE parent_execution_id = $1 ORDER BY is_finalize, index_in_parent",
        None,
    )
}
impl GetChildrenStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>(
        &'s self,
        client: &'c C,
        parent_execution_id: &'a T1,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 1> {
        TaskExecutionRowQuery {
            client,
            params: [parent_execution_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
pub struct GetChildrenOutputsStmt(&'static str, Option<tokio_postgres::Statement>);
/// One page of a parent's regular children (not its finalize) in spawn order: those whose index is above `after_index` (-1 for the first page), at most `limit`, with only what the parent's result needs (the error for a finalize that decides) (keyset pagination through the parent index, so that each page costs its own size, never the number of children).
pub fn get_children_outputs() -> GetChildrenOutputsStmt {
    GetChildrenOutputsStmt(
        "SELECT execution_id, index_in_parent, status, output, error FROM task_executions WHERE parent_execution_id = $1 AND index_in_parent > $2 AND is_finalize = false ORDER BY index_in_parent LIMIT $3",
        None,
    )
}
impl GetChildrenOutputsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>(
        &'s self,
        client: &'c C,
        parent_execution_id: &'a T1,
        after_index: &'a i32,
        limit: &'a i64,
    ) -> GetChildrenOutputsRowQuery<'c, 'a, 's, C, GetChildrenOutputsRow, 3> {
        GetChildrenOutputsRowQuery {
            client,
            params: [parent_execution_id, after_index, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<GetChildrenOutputsRowBorrowed, tokio_postgres::Error> {
                Ok(GetChildrenOutputsRowBorrowed {
                    execution_id: row.try_get(0)?,
                    index_in_parent: row.try_get(1)?,
                    status: row.try_get(2)?,
                    output: row.try_get(3)?,
                    error: row.try_get(4)?,
                })
            },
            mapper: |it| GetChildrenOutputsRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        GetChildrenOutputsParams<T1>,
        GetChildrenOutputsRowQuery<'c, 'a, 's, C, GetChildrenOutputsRow, 3>,
        C,
    > for GetChildrenOutputsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a GetChildrenOutputsParams<T1>,
    ) -> GetChildrenOutputsRowQuery<'c, 'a, 's, C, GetChildrenOutputsRow, 3> {
        self.bind(
            client,
            &params.parent_execution_id,
            &params.after_index,
            &params.limit,
        )
    }
}
pub struct ClaimReadyStmt(&'static str, Option<tokio_postgres::Statement>);
/// Claims up to `limit` ready executions whose start_at has passed, oldest first, setting the owner, the timeout bound (`expires_at = now + timeout + lease slack`) and the heartbeat deadline (`heartbeat_expires_at = now + lease`) in the same statement.
pub fn claim_ready() -> ClaimReadyStmt {
    ClaimReadyStmt(
        "UPDATE task_executions AS t SET status = 'running', executor_id = $1, started_at = $2, updated_at = $2, expires_at = $2 + t.timeout_ms + $3, heartbeat_expires_at = $2::bigint + $4::bigint WHERE t.id IN ( SELECT c.id FROM task_executions AS c WHERE c.status = 'ready' AND c.start_at <= $2 ORDER BY c.start_at, c.id LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING t.id, t.execution_id, t.task_id, t.root_task_id, t.root_execution_id, t.parent_task_id, t.parent_execution_id, t.index_in_parent, t.is_finalize, t.retry_options, t.sleep_ms_before_run, t.timeout_ms, t.input, t.run_output, t.output, t.children_count, t.active_children_count, t.finalize_execution_id, t.children_errors, t.finalize_error, t.error, t.status, t.is_closed, t.needs_cancel, t.executor_id, t.attempt, t.start_at, t.started_at, t.finished_at, t.expires_at, t.created_at, t.updated_at, t.waiting_for_children_started_at, t.waiting_for_finalize_started_at, t.closed_at, t.sleeping_key, t.parent_decides, t.heartbeat_expires_at",
        None,
    )
}
impl ClaimReadyStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>(
        &'s self,
        client: &'c C,
        executor_id: &'a T1,
        now: &'a i64,
        lease_slack_ms: &'a i64,
        lease_ms: &'a i64,
        limit: &'a i64,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 5> {
        TaskExecutionRowQuery {
            client,
            params: [executor_id, now, lease_slack_ms, lease_ms, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        ClaimReadyParams<T1>,
        TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 5>,
        C,
    > for ClaimReadyStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a ClaimReadyParams<T1>,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 5> {
        self.bind(
            client,
            &params.executor_id,
            &params.now,
            &params.lease_slack_ms,
            &params.lease_ms,
            &params.limit,
        )
    }
}
pub struct FinishExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Finishes running executions owned by the executor, at the attempt of the run, from a JSON array of {execution_id, attempt?, status, run_output?, output?, error?} (attempt null: any attempt, for a claimed row whose attempt could not be read). A top-level execution without children or finalize is closed by this statement (closed_at = now; see the header); any other stays unclosed for the closer.
pub fn finish_executions() -> FinishExecutionsStmt {
    FinishExecutionsStmt(
        "UPDATE task_executions AS t SET status = u.status, run_output = u.run_output, output = u.output, error = u.error, finished_at = $1, updated_at = $1, expires_at = NULL, heartbeat_expires_at = NULL, is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL), closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN $1::bigint ELSE t.closed_at END, executor_id = CASE WHEN u.status = 'cancelled' THEN t.executor_id ELSE NULL END FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, attempt integer, status text, run_output text, output text, error jsonb) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'running' AND t.executor_id = $3 AND (u.attempt IS NULL OR t.attempt = u.attempt) RETURNING t.execution_id",
        None,
    )
}
impl FinishExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
        executor_id: &'a T2,
    ) -> FinishExecutionsRowQuery<'c, 'a, 's, C, FinishExecutionsRow, 3> {
        FinishExecutionsRowQuery {
            client,
            params: [now, items, executor_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<FinishExecutionsRowBorrowed, tokio_postgres::Error> {
                Ok(FinishExecutionsRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| FinishExecutionsRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        FinishExecutionsParams<T1, T2>,
        FinishExecutionsRowQuery<'c, 'a, 's, C, FinishExecutionsRow, 3>,
        C,
    > for FinishExecutionsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a FinishExecutionsParams<T1, T2>,
    ) -> FinishExecutionsRowQuery<'c, 'a, 's, C, FinishExecutionsRow, 3> {
        self.bind(client, &params.now, &params.items, &params.executor_id)
    }
}
pub struct RetryExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Re-queues running executions owned by the executor, at the attempt of the run, from a JSON array of {execution_id, attempt?, error, start_at}.
pub fn retry_executions() -> RetryExecutionsStmt {
    RetryExecutionsStmt(
        "UPDATE task_executions AS t SET status = 'ready', error = u.error, attempt = t.attempt + 1, start_at = u.start_at, executor_id = NULL, expires_at = NULL, heartbeat_expires_at = NULL, updated_at = $1 FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, attempt integer, error jsonb, start_at bigint) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'running' AND t.executor_id = $3 AND (u.attempt IS NULL OR t.attempt = u.attempt) RETURNING t.execution_id",
        None,
    )
}
impl RetryExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
        executor_id: &'a T2,
    ) -> RetryExecutionsRowQuery<'c, 'a, 's, C, RetryExecutionsRow, 3> {
        RetryExecutionsRowQuery {
            client,
            params: [now, items, executor_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<RetryExecutionsRowBorrowed, tokio_postgres::Error> {
                Ok(RetryExecutionsRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| RetryExecutionsRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        RetryExecutionsParams<T1, T2>,
        RetryExecutionsRowQuery<'c, 'a, 's, C, RetryExecutionsRow, 3>,
        C,
    > for RetryExecutionsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a RetryExecutionsParams<T1, T2>,
    ) -> RetryExecutionsRowQuery<'c, 'a, 's, C, RetryExecutionsRow, 3> {
        self.bind(client, &params.now, &params.items, &params.executor_id)
    }
}
pub struct StartWaitingStmt(&'static str, Option<tokio_postgres::Statement>);
/// Moves running parents owned by the executor, at the attempt of the run, to a waiting status from a JSON array of {execution_id, attempt?, status, run_output, children_count, finalize_execution_id?}.
pub fn start_waiting() -> StartWaitingStmt {
    StartWaitingStmt(
        "UPDATE task_executions AS t SET status = u.status, run_output = u.run_output, children_count = u.children_count, active_children_count = u.children_count, finalize_execution_id = u.finalize_execution_id, waiting_for_children_started_at = CASE WHEN u.status = 'waiting_for_children_tasks' THEN $1::bigint ELSE t.waiting_for_children_started_at END, waiting_for_finalize_started_at = CASE WHEN u.status = 'waiting_for_finalize_task' THEN $1::bigint ELSE t.waiting_for_finalize_started_at END, error = NULL, executor_id = NULL, expires_at = NULL, heartbeat_expires_at = NULL, updated_at = $1 FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, attempt integer, status text, run_output text, children_count integer, finalize_execution_id text) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'running' AND t.executor_id = $3 AND (u.attempt IS NULL OR t.attempt = u.attempt) RETURNING t.execution_id",
        None,
    )
}
impl StartWaitingStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
        executor_id: &'a T2,
    ) -> StartWaitingRowQuery<'c, 'a, 's, C, StartWaitingRow, 3> {
        StartWaitingRowQuery {
            client,
            params: [now, items, executor_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<StartWaitingRowBorrowed, tokio_postgres::Error> {
                Ok(StartWaitingRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| StartWaitingRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        StartWaitingParams<T1, T2>,
        StartWaitingRowQuery<'c, 'a, 's, C, StartWaitingRow, 3>,
        C,
    > for StartWaitingStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a StartWaitingParams<T1, T2>,
    ) -> StartWaitingRowQuery<'c, 'a, 's, C, StartWaitingRow, 3> {
        self.bind(client, &params.now, &params.items, &params.executor_id)
    }
}
pub struct ReleaseExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Gives running executions owned by the executor, at the attempt of the run, back to the ready queue (shutdown), without counting an attempt; from a JSON array of {execution_id, attempt?}.
pub fn release_executions() -> ReleaseExecutionsStmt {
    ReleaseExecutionsStmt(
        "UPDATE task_executions AS t SET status = 'ready', start_at = $1, executor_id = NULL, expires_at = NULL, heartbeat_expires_at = NULL, updated_at = $1 FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, attempt integer) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'running' AND t.executor_id = $3 AND (u.attempt IS NULL OR t.attempt = u.attempt) RETURNING t.execution_id",
        None,
    )
}
impl ReleaseExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
        executor_id: &'a T2,
    ) -> ReleaseExecutionsRowQuery<'c, 'a, 's, C, ReleaseExecutionsRow, 3> {
        ReleaseExecutionsRowQuery {
            client,
            params: [now, items, executor_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<ReleaseExecutionsRowBorrowed, tokio_postgres::Error> {
                Ok(ReleaseExecutionsRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| ReleaseExecutionsRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        ReleaseExecutionsParams<T1, T2>,
        ReleaseExecutionsRowQuery<'c, 'a, 's, C, ReleaseExecutionsRow, 3>,
        C,
    > for ReleaseExecutionsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a ReleaseExecutionsParams<T1, T2>,
    ) -> ReleaseExecutionsRowQuery<'c, 'a, 's, C, ReleaseExecutionsRow, 3> {
        self.bind(client, &params.now, &params.items, &params.executor_id)
    }
}
pub struct HeartbeatExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Extends the heartbeat deadline (`heartbeat_expires_at = now + lease_ms`) of running executions owned by the executor, at the attempt of their run, from a JSON array of {execution_id, attempt?}; returns the rows extended (a row missing from the answer was recovered, re-claimed, cancelled or finished: its run is lost). Writes that one column only, which no index covers: a HOT update on PostgreSQL.
pub fn heartbeat_executions() -> HeartbeatExecutionsStmt {
    HeartbeatExecutionsStmt(
        "UPDATE task_executions AS t SET heartbeat_expires_at = $1::bigint + $2::bigint FROM jsonb_to_recordset($3::jsonb) AS u(execution_id text, attempt integer) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($3::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'running' AND t.executor_id = $4 AND (u.attempt IS NULL OR t.attempt = u.attempt) RETURNING t.execution_id",
        None,
    )
}
impl HeartbeatExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        lease_ms: &'a i64,
        items: &'a T1,
        executor_id: &'a T2,
    ) -> HeartbeatExecutionsRowQuery<'c, 'a, 's, C, HeartbeatExecutionsRow, 4> {
        HeartbeatExecutionsRowQuery {
            client,
            params: [now, lease_ms, items, executor_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<HeartbeatExecutionsRowBorrowed, tokio_postgres::Error> {
                Ok(HeartbeatExecutionsRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| HeartbeatExecutionsRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        HeartbeatExecutionsParams<T1, T2>,
        HeartbeatExecutionsRowQuery<'c, 'a, 's, C, HeartbeatExecutionsRow, 4>,
        C,
    > for HeartbeatExecutionsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a HeartbeatExecutionsParams<T1, T2>,
    ) -> HeartbeatExecutionsRowQuery<'c, 'a, 's, C, HeartbeatExecutionsRow, 4> {
        self.bind(
            client,
            &params.now,
            &params.lease_ms,
            &params.items,
            &params.executor_id,
        )
    }
}
pub struct ClaimUnclosedStmt(&'static str, Option<tokio_postgres::Statement>);
/// Marks up to `limit` finished, unclosed executions (children, finalize executions and parents; a top-level execution without descendants was closed by the statement that finished it) closed at `now`, never before their finish (the writer that finished a row may have taken its `now` after the closer took its own), oldest finish first, and returns them so their effects can be applied in the same transaction.
pub fn claim_unclosed() -> ClaimUnclosedStmt {
    ClaimUnclosedStmt(
        "UPDATE task_executions AS t SET is_closed = true, closed_at = GREATEST($1, t.finished_at) WHERE t.id IN ( SELECT c.id FROM task_executions AS c WHERE c.is_closed = false AND c.status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled') ORDER BY c.finished_at, c.id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING t.id, t.execution_id, t.task_id, t.root_task_id, t.root_execution_id, t.parent_task_id, t.parent_execution_id, t.index_in_parent, t.is_finalize, t.retry_options, t.sleep_ms_before_run, t.timeout_ms, t.input, t.run_output, t.output, t.children_count, t.active_children_count, t.finalize_execution_id, t.children_errors, t.finalize_error, t.error, t.status, t.is_closed, t.needs_cancel, t.executor_id, t.attempt, t.start_at, t.started_at, t.finished_at, t.expires_at, t.created_at, t.updated_at, t.waiting_for_children_started_at, t.waiting_for_finalize_started_at, t.closed_at, t.sleeping_key, t.parent_decides, t.heartbeat_expires_at",
        None,
    )
}
impl ClaimUnclosedStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        limit: &'a i64,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 2> {
        TaskExecutionRowQuery {
            client,
            params: [now, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        ClaimUnclosedParams,
        TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 2>,
        C,
    > for ClaimUnclosedStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a ClaimUnclosedParams,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 2> {
        self.bind(client, &params.now, &params.limit)
    }
}
pub struct LockExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Locks rows by id in a fixed order (execution id) so that concurrent closers never deadlock on shared parents, and returns their status before the closer changes them (SQLite: a plain read; its write transactions are already exclusive).
pub fn lock_executions() -> LockExecutionsStmt {
    LockExecutionsStmt(
        "SELECT execution_id, status FROM task_executions WHERE execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb))) ORDER BY execution_id FOR UPDATE",
        None,
    )
}
impl LockExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        ids: &'a T1,
    ) -> LockExecutionsRowQuery<'c, 'a, 's, C, LockExecutionsRow, 1> {
        LockExecutionsRowQuery {
            client,
            params: [ids],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<LockExecutionsRowBorrowed, tokio_postgres::Error> {
                Ok(LockExecutionsRowBorrowed {
                    execution_id: row.try_get(0)?,
                    status: row.try_get(1)?,
                })
            },
            mapper: |it| LockExecutionsRow::from(it),
        }
    }
}
pub struct DecrementActiveChildrenStmt(&'static str, Option<tokio_postgres::Statement>);
/// Counts down the active children of waiting parents from a JSON array of {execution_id, n}; returns the new counts.
pub fn decrement_active_children() -> DecrementActiveChildrenStmt {
    DecrementActiveChildrenStmt(
        "UPDATE task_executions AS t SET active_children_count = t.active_children_count - u.n, updated_at = $1 FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, n integer) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'waiting_for_children_tasks' RETURNING t.execution_id, t.active_children_count",
        None,
    )
}
impl DecrementActiveChildrenStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
    ) -> DecrementActiveChildrenRowQuery<'c, 'a, 's, C, DecrementActiveChildrenRow, 2> {
        DecrementActiveChildrenRowQuery {
            client,
            params: [now, items],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<DecrementActiveChildrenRowBorrowed, tokio_postgres::Error> {
                Ok(DecrementActiveChildrenRowBorrowed {
                    execution_id: row.try_get(0)?,
                    active_children_count: row.try_get(1)?,
                })
            },
            mapper: |it| DecrementActiveChildrenRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        DecrementActiveChildrenParams<T1>,
        DecrementActiveChildrenRowQuery<'c, 'a, 's, C, DecrementActiveChildrenRow, 2>,
        C,
    > for DecrementActiveChildrenStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a DecrementActiveChildrenParams<T1>,
    ) -> DecrementActiveChildrenRowQuery<'c, 'a, 's, C, DecrementActiveChildrenRow, 2> {
        self.bind(client, &params.now, &params.items)
    }
}
pub struct RecordChildrenFailuresStmt(&'static str, Option<tokio_postgres::Statement>);
/// Appends child errors to parents from a JSON array of {execution_id, errors}; a parent still waiting for its children becomes children_tasks_failed.
pub fn record_children_failures() -> RecordChildrenFailuresStmt {
    RecordChildrenFailuresStmt(
        "UPDATE task_executions AS t SET children_errors = coalesce(t.children_errors, '[]'::jsonb) || u.errors, status = CASE WHEN t.status = 'waiting_for_children_tasks' THEN 'children_tasks_failed' ELSE t.status END, finished_at = CASE WHEN t.status = 'waiting_for_children_tasks' THEN $1 ELSE t.finished_at END, is_closed = CASE WHEN t.status = 'waiting_for_children_tasks' THEN false ELSE t.is_closed END, updated_at = $1 FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, errors jsonb) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id RETURNING t.execution_id, t.status",
        None,
    )
}
impl RecordChildrenFailuresStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
    ) -> RecordChildrenFailuresRowQuery<'c, 'a, 's, C, RecordChildrenFailuresRow, 2> {
        RecordChildrenFailuresRowQuery {
            client,
            params: [now, items],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<RecordChildrenFailuresRowBorrowed, tokio_postgres::Error> {
                Ok(RecordChildrenFailuresRowBorrowed {
                    execution_id: row.try_get(0)?,
                    status: row.try_get(1)?,
                })
            },
            mapper: |it| RecordChildrenFailuresRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        RecordChildrenFailuresParams<T1>,
        RecordChildrenFailuresRowQuery<'c, 'a, 's, C, RecordChildrenFailuresRow, 2>,
        C,
    > for RecordChildrenFailuresStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a RecordChildrenFailuresParams<T1>,
    ) -> RecordChildrenFailuresRowQuery<'c, 'a, 's, C, RecordChildrenFailuresRow, 2> {
        self.bind(client, &params.now, &params.items)
    }
}
pub struct CompleteFromFinalizeStmt(&'static str, Option<tokio_postgres::Statement>);
/// Completes parents waiting for their finalize from a JSON array of {execution_id, output}.
pub fn complete_from_finalize() -> CompleteFromFinalizeStmt {
    CompleteFromFinalizeStmt(
        "UPDATE task_executions AS t SET status = 'completed', output = u.output, finished_at = $1, is_closed = false, updated_at = $1 FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, output text) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'waiting_for_finalize_task' RETURNING t.execution_id",
        None,
    )
}
impl CompleteFromFinalizeStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
    ) -> CompleteFromFinalizeRowQuery<'c, 'a, 's, C, CompleteFromFinalizeRow, 2> {
        CompleteFromFinalizeRowQuery {
            client,
            params: [now, items],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<CompleteFromFinalizeRowBorrowed, tokio_postgres::Error> {
                Ok(CompleteFromFinalizeRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| CompleteFromFinalizeRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        CompleteFromFinalizeParams<T1>,
        CompleteFromFinalizeRowQuery<'c, 'a, 's, C, CompleteFromFinalizeRow, 2>,
        C,
    > for CompleteFromFinalizeStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a CompleteFromFinalizeParams<T1>,
    ) -> CompleteFromFinalizeRowQuery<'c, 'a, 's, C, CompleteFromFinalizeRow, 2> {
        self.bind(client, &params.now, &params.items)
    }
}
pub struct FailFromFinalizeStmt(&'static str, Option<tokio_postgres::Statement>);
/// Fails parents waiting for their finalize from a JSON array of {execution_id, error}.
pub fn fail_from_finalize() -> FailFromFinalizeStmt {
    FailFromFinalizeStmt(
        "UPDATE task_executions AS t SET status = 'finalize_task_failed', finalize_error = u.error, finished_at = $1, is_closed = false, updated_at = $1 FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, error jsonb) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'waiting_for_finalize_task' RETURNING t.execution_id",
        None,
    )
}
impl FailFromFinalizeStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
    ) -> FailFromFinalizeRowQuery<'c, 'a, 's, C, FailFromFinalizeRow, 2> {
        FailFromFinalizeRowQuery {
            client,
            params: [now, items],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<FailFromFinalizeRowBorrowed, tokio_postgres::Error> {
                Ok(FailFromFinalizeRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| FailFromFinalizeRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        FailFromFinalizeParams<T1>,
        FailFromFinalizeRowQuery<'c, 'a, 's, C, FailFromFinalizeRow, 2>,
        C,
    > for FailFromFinalizeStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a FailFromFinalizeParams<T1>,
    ) -> FailFromFinalizeRowQuery<'c, 'a, 's, C, FailFromFinalizeRow, 2> {
        self.bind(client, &params.now, &params.items)
    }
}
pub struct CancelSubtreesStmt(&'static str, Option<tokio_postgres::Statement>);
/// Cancels every active execution in the subtrees rooted at a JSON array of {execution_id, error, include_self}; running ones are flagged for their owner; a cancelled top-level execution without children or finalize is closed by the same statement (see the header). PostgreSQL locks the targets in execution-id order first, so that concurrent cancellations of overlapping subtrees never deadlock.
pub fn cancel_subtrees() -> CancelSubtreesStmt {
    CancelSubtreesStmt(
        "WITH RECURSIVE roots AS ( SELECT r.execution_id, r.error, r.include_self FROM jsonb_to_recordset($1::jsonb) AS r(execution_id text, error jsonb, include_self boolean) ), tree (execution_id, error, include_self, depth) AS ( SELECT roots.execution_id, roots.error, roots.include_self, 0 FROM roots UNION ALL SELECT c.execution_id, tree.error, tree.include_self, tree.depth + 1 FROM task_executions AS c JOIN tree ON c.parent_execution_id = tree.execution_id ), targets AS ( SELECT DISTINCT ON (execution_id) execution_id, error FROM tree WHERE depth > 0 OR include_self ORDER BY execution_id, depth ), locked AS MATERIALIZED ( SELECT c.id, targets.error FROM task_executions AS c JOIN targets ON c.execution_id = targets.execution_id WHERE c.status IN ('ready', 'sleeping', 'running', 'waiting_for_children_tasks', 'waiting_for_finalize_task') ORDER BY c.execution_id FOR UPDATE OF c ) UPDATE task_executions AS t SET status = 'cancelled', error = locked.error, needs_cancel = (t.status = 'running'), executor_id = CASE WHEN t.status = 'running' THEN t.executor_id ELSE NULL END, expires_at = NULL, heartbeat_expires_at = NULL, finished_at = $2, updated_at = $2, is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL), closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN $2::bigint ELSE t.closed_at END FROM locked WHERE t.id = locked.id AND t.status IN ('ready', 'sleeping', 'running', 'waiting_for_children_tasks', 'waiting_for_finalize_task') RETURNING t.execution_id",
        None,
    )
}
impl CancelSubtreesStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        items: &'a T1,
        now: &'a i64,
    ) -> CancelSubtreesRowQuery<'c, 'a, 's, C, CancelSubtreesRow, 2> {
        CancelSubtreesRowQuery {
            client,
            params: [items, now],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<CancelSubtreesRowBorrowed, tokio_postgres::Error> {
                Ok(CancelSubtreesRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| CancelSubtreesRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        CancelSubtreesParams<T1>,
        CancelSubtreesRowQuery<'c, 'a, 's, C, CancelSubtreesRow, 2>,
        C,
    > for CancelSubtreesStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a CancelSubtreesParams<T1>,
    ) -> CancelSubtreesRowQuery<'c, 'a, 's, C, CancelSubtreesRow, 2> {
        self.bind(client, &params.items, &params.now)
    }
}
pub struct ReadyParentsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Parents waiting for children whose children have all completed, least recently updated first.
pub fn ready_parents() -> ReadyParentsStmt {
    ReadyParentsStmt(
        "SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions WHERE status = 'waiting_for_children_tasks' AND active_children_count = 0 ORDER BY updated_at, id LIMIT $1",
        None,
    )
}
impl ReadyParentsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
        limit: &'a i64,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 1> {
        TaskExecutionRowQuery {
            client,
            params: [limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
pub struct AdvanceParentsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Moves parents whose children all completed, from a JSON array of {execution_id, status, output?, finalize_execution_id?, error?, spawn_next}: complete, wait for the finalize, spawn the next sequential child, or fail.
pub fn advance_parents() -> AdvanceParentsStmt {
    AdvanceParentsStmt(
        "UPDATE task_executions AS t SET status = u.status, output = coalesce(u.output, t.output), finalize_execution_id = coalesce(u.finalize_execution_id, t.finalize_execution_id), error = coalesce(u.error, t.error), children_count = t.children_count + CASE WHEN u.spawn_next THEN 1 ELSE 0 END, active_children_count = CASE WHEN u.spawn_next THEN 1 ELSE 0 END, finished_at = CASE WHEN u.status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled') THEN $1::bigint ELSE NULL END, waiting_for_finalize_started_at = CASE WHEN u.status = 'waiting_for_finalize_task' THEN $1::bigint ELSE t.waiting_for_finalize_started_at END, is_closed = false, updated_at = $1 FROM jsonb_to_recordset($2::jsonb) AS u(execution_id text, status text, output text, finalize_execution_id text, error jsonb, spawn_next boolean) WHERE t.execution_id = ANY (ARRAY(SELECT jsonb_array_elements($2::jsonb) ->> 'execution_id')) AND t.execution_id = u.execution_id AND t.status COLLATE \"C\" = 'waiting_for_children_tasks' AND t.active_children_count = 0 RETURNING t.execution_id",
        None,
    )
}
impl AdvanceParentsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        items: &'a T1,
    ) -> AdvanceParentsRowQuery<'c, 'a, 's, C, AdvanceParentsRow, 2> {
        AdvanceParentsRowQuery {
            client,
            params: [now, items],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<AdvanceParentsRowBorrowed, tokio_postgres::Error> {
                Ok(AdvanceParentsRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| AdvanceParentsRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        AdvanceParentsParams<T1>,
        AdvanceParentsRowQuery<'c, 'a, 's, C, AdvanceParentsRow, 2>,
        C,
    > for AdvanceParentsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a AdvanceParentsParams<T1>,
    ) -> AdvanceParentsRowQuery<'c, 'a, 's, C, AdvanceParentsRow, 2> {
        self.bind(client, &params.now, &params.items)
    }
}
pub struct ClaimCancellationsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Clears the cancel flag of up to `limit` cancelled runs owned by the executor and returns their ids.
pub fn claim_cancellations() -> ClaimCancellationsStmt {
    ClaimCancellationsStmt(
        "UPDATE task_executions AS t SET needs_cancel = false WHERE t.id IN ( SELECT c.id FROM task_executions AS c WHERE c.executor_id = $1 AND c.needs_cancel = true LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING t.execution_id",
        None,
    )
}
impl ClaimCancellationsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>(
        &'s self,
        client: &'c C,
        executor_id: &'a T1,
        limit: &'a i64,
    ) -> ClaimCancellationsRowQuery<'c, 'a, 's, C, ClaimCancellationsRow, 2> {
        ClaimCancellationsRowQuery {
            client,
            params: [executor_id, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<ClaimCancellationsRowBorrowed, tokio_postgres::Error> {
                Ok(ClaimCancellationsRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| ClaimCancellationsRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        ClaimCancellationsParams<T1>,
        ClaimCancellationsRowQuery<'c, 'a, 's, C, ClaimCancellationsRow, 2>,
        C,
    > for ClaimCancellationsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a ClaimCancellationsParams<T1>,
    ) -> ClaimCancellationsRowQuery<'c, 'a, 's, C, ClaimCancellationsRow, 2> {
        self.bind(client, &params.executor_id, &params.limit)
    }
}
pub struct ExpireLeasesStmt(&'static str, Option<tokio_postgres::Statement>);
/// Recovers up to `limit` running executions whose lease expired (past their timeout bound `expires_at`, or past their heartbeat deadline `heartbeat_expires_at`); re-queued with attempt + 1 while the retry budget allows, failed otherwise (and closed at once when top-level without children or finalize, see the header). Scans the running rows through ix_task_executions_leases (bounded by the executors' total concurrency).
pub fn expire_leases() -> ExpireLeasesStmt {
    ExpireLeasesStmt(
        "UPDATE task_executions AS t SET status = CASE WHEN t.attempt < coalesce((t.retry_options ->> 'max_attempts')::integer, 0) THEN 'ready' ELSE 'failed' END, attempt = CASE WHEN t.attempt < coalesce((t.retry_options ->> 'max_attempts')::integer, 0) THEN t.attempt + 1 ELSE t.attempt END, start_at = CASE WHEN t.attempt < coalesce((t.retry_options ->> 'max_attempts')::integer, 0) THEN $1 ELSE t.start_at END, finished_at = CASE WHEN t.attempt < coalesce((t.retry_options ->> 'max_attempts')::integer, 0) THEN NULL ELSE $1 END, error = $2::jsonb, executor_id = NULL, expires_at = NULL, heartbeat_expires_at = NULL, updated_at = $1, is_closed = (t.attempt >= coalesce((t.retry_options ->> 'max_attempts')::integer, 0) AND t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL), closed_at = CASE WHEN t.attempt >= coalesce((t.retry_options ->> 'max_attempts')::integer, 0) AND t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN $1::bigint ELSE t.closed_at END WHERE t.id IN ( SELECT c.id FROM task_executions AS c WHERE c.status = 'running' AND (c.expires_at < $1 OR c.heartbeat_expires_at < $1) ORDER BY c.expires_at, c.id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING t.execution_id, t.status",
        None,
    )
}
impl ExpireLeasesStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        error: &'a T1,
        limit: &'a i64,
    ) -> ExpireLeasesRowQuery<'c, 'a, 's, C, ExpireLeasesRow, 3> {
        ExpireLeasesRowQuery {
            client,
            params: [now, error, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<ExpireLeasesRowBorrowed, tokio_postgres::Error> {
                Ok(ExpireLeasesRowBorrowed {
                    execution_id: row.try_get(0)?,
                    status: row.try_get(1)?,
                })
            },
            mapper: |it| ExpireLeasesRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        ExpireLeasesParams<T1>,
        ExpireLeasesRowQuery<'c, 'a, 's, C, ExpireLeasesRow, 3>,
        C,
    > for ExpireLeasesStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a ExpireLeasesParams<T1>,
    ) -> ExpireLeasesRowQuery<'c, 'a, 's, C, ExpireLeasesRow, 3> {
        self.bind(client, &params.now, &params.error, &params.limit)
    }
}
pub struct WakeSleepingStmt(&'static str, Option<tokio_postgres::Statement>);
/// Wakes the sleeping execution of a task with this key: finishes it with the JSON outcome {status, output?, error?} in one guarded statement (`status = 'sleeping'`), so that a wake racing a timeout or a cancellation has exactly one winner; a top-level execution is closed by the same statement (see the header). Returns nothing when no sleeping execution has the key.
pub fn wake_sleeping() -> WakeSleepingStmt {
    WakeSleepingStmt(
        "UPDATE task_executions AS t SET status = $1::jsonb ->> 'status', run_output = $1::jsonb ->> 'output', output = $1::jsonb ->> 'output', error = nullif($1::jsonb -> 'error', 'null'::jsonb), finished_at = $2, updated_at = $2, expires_at = NULL, is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL), closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN $2::bigint ELSE t.closed_at END WHERE t.sleeping_key = $3 AND t.status = 'sleeping' AND t.task_id = $4 RETURNING t.id, t.execution_id, t.task_id, t.root_task_id, t.root_execution_id, t.parent_task_id, t.parent_execution_id, t.index_in_parent, t.is_finalize, t.retry_options, t.sleep_ms_before_run, t.timeout_ms, t.input, t.run_output, t.output, t.children_count, t.active_children_count, t.finalize_execution_id, t.children_errors, t.finalize_error, t.error, t.status, t.is_closed, t.needs_cancel, t.executor_id, t.attempt, t.start_at, t.started_at, t.finished_at, t.expires_at, t.created_at, t.updated_at, t.waiting_for_children_started_at, t.waiting_for_finalize_started_at, t.closed_at, t.sleeping_key, t.parent_decides, t.heartbeat_expires_at",
        None,
    )
}
impl WakeSleepingStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<
        'c,
        'a,
        's,
        C: GenericClient,
        T1: crate::JsonSql,
        T2: crate::StringSql,
        T3: crate::StringSql,
    >(
        &'s self,
        client: &'c C,
        outcome: &'a T1,
        now: &'a i64,
        sleeping_key: &'a T2,
        task_id: &'a T3,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 4> {
        TaskExecutionRowQuery {
            client,
            params: [outcome, now, sleeping_key, task_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql, T2: crate::StringSql, T3: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        WakeSleepingParams<T1, T2, T3>,
        TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 4>,
        C,
    > for WakeSleepingStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a WakeSleepingParams<T1, T2, T3>,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 4> {
        self.bind(
            client,
            &params.outcome,
            &params.now,
            &params.sleeping_key,
            &params.task_id,
        )
    }
}
pub struct GetBySleepingKeyStmt(&'static str, Option<tokio_postgres::Statement>);
/// The most recent execution of a task with this sleeping key (a repeated wake returns it unchanged).
pub fn get_by_sleeping_key() -> GetBySleepingKeyStmt {
    GetBySleepingKeyStmt(
        "SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions WHERE sleeping_key = $1 AND task_id = $2 ORDER BY id DESC LIMIT 1",
        None,
    )
}
impl GetBySleepingKeyStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql, T2: crate::StringSql>(
        &'s self,
        client: &'c C,
        sleeping_key: &'a T1,
        task_id: &'a T2,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 2> {
        TaskExecutionRowQuery {
            client,
            params: [sleeping_key, task_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::StringSql, T2: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        GetBySleepingKeyParams<T1, T2>,
        TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 2>,
        C,
    > for GetBySleepingKeyStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a GetBySleepingKeyParams<T1, T2>,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 2> {
        self.bind(client, &params.sleeping_key, &params.task_id)
    }
}
pub struct ExpireSleepingStmt(&'static str, Option<tokio_postgres::Statement>);
/// Times out up to `limit` sleeping executions whose deadline passed (`timed_out` with the given error), oldest deadline first; guarded by `status = 'sleeping'`, so that a wake or a cancellation in between wins. A top-level execution is closed by the same statement (see the header).
pub fn expire_sleeping() -> ExpireSleepingStmt {
    ExpireSleepingStmt(
        "UPDATE task_executions AS t SET status = 'timed_out', error = $1::jsonb, finished_at = $2, updated_at = $2, expires_at = NULL, is_closed = (t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL), closed_at = CASE WHEN t.parent_execution_id IS NULL AND t.children_count = 0 AND t.finalize_execution_id IS NULL THEN $2::bigint ELSE t.closed_at END WHERE t.id IN ( SELECT c.id FROM task_executions AS c WHERE c.status = 'sleeping' AND c.expires_at < $2 ORDER BY c.expires_at, c.id LIMIT $3 FOR UPDATE SKIP LOCKED) AND t.status = 'sleeping' RETURNING t.execution_id",
        None,
    )
}
impl ExpireSleepingStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        error: &'a T1,
        now: &'a i64,
        limit: &'a i64,
    ) -> ExpireSleepingRowQuery<'c, 'a, 's, C, ExpireSleepingRow, 3> {
        ExpireSleepingRowQuery {
            client,
            params: [error, now, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<ExpireSleepingRowBorrowed, tokio_postgres::Error> {
                Ok(ExpireSleepingRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| ExpireSleepingRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        ExpireSleepingParams<T1>,
        ExpireSleepingRowQuery<'c, 'a, 's, C, ExpireSleepingRow, 3>,
        C,
    > for ExpireSleepingStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a ExpireSleepingParams<T1>,
    ) -> ExpireSleepingRowQuery<'c, 'a, 's, C, ExpireSleepingRow, 3> {
        self.bind(client, &params.error, &params.now, &params.limit)
    }
}
pub struct RepairMissingLeasesStmt(&'static str, Option<tokio_postgres::Statement>);
/// Gives up to `limit` running executions that have no lease deadline (a row written by hand or by a faulty tool) the lease a claim would have given them: started_at (or now) + timeout + lease slack; lease expiry then recovers them if their run is gone.
pub fn repair_missing_leases() -> RepairMissingLeasesStmt {
    RepairMissingLeasesStmt(
        "UPDATE task_executions AS t SET expires_at = coalesce(t.started_at, $1) + t.timeout_ms + $2, updated_at = $1 WHERE t.id IN ( SELECT c.id FROM task_executions AS c WHERE c.status = 'running' AND c.expires_at IS NULL ORDER BY c.id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING t.execution_id",
        None,
    )
}
impl RepairMissingLeasesStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        lease_slack_ms: &'a i64,
        limit: &'a i64,
    ) -> RepairMissingLeasesRowQuery<'c, 'a, 's, C, RepairMissingLeasesRow, 3> {
        RepairMissingLeasesRowQuery {
            client,
            params: [now, lease_slack_ms, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<RepairMissingLeasesRowBorrowed, tokio_postgres::Error> {
                Ok(RepairMissingLeasesRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| RepairMissingLeasesRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        RepairMissingLeasesParams,
        RepairMissingLeasesRowQuery<'c, 'a, 's, C, RepairMissingLeasesRow, 3>,
        C,
    > for RepairMissingLeasesStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a RepairMissingLeasesParams,
    ) -> RepairMissingLeasesRowQuery<'c, 'a, 's, C, RepairMissingLeasesRow, 3> {
        self.bind(client, &params.now, &params.lease_slack_ms, &params.limit)
    }
}
pub struct FailMissingFinalizeStmt(&'static str, Option<tokio_postgres::Statement>);
/// Ends up to `limit` parents that wait for a finalize execution that does not exist (its row is missing, or no finalize id is recorded): `finalize_task_failed` with the given error, to be closed like any finished execution.
pub fn fail_missing_finalize() -> FailMissingFinalizeStmt {
    FailMissingFinalizeStmt(
        "UPDATE task_executions AS t SET status = 'finalize_task_failed', error = $1::jsonb, finalize_error = $1::jsonb, finished_at = $2, updated_at = $2, is_closed = false WHERE t.id IN ( SELECT p.id FROM task_executions AS p WHERE p.status = 'waiting_for_finalize_task' AND NOT EXISTS (SELECT 1 FROM task_executions AS f WHERE f.execution_id = p.finalize_execution_id) ORDER BY p.updated_at, p.id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING t.execution_id",
        None,
    )
}
impl FailMissingFinalizeStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        error: &'a T1,
        now: &'a i64,
        limit: &'a i64,
    ) -> FailMissingFinalizeRowQuery<'c, 'a, 's, C, FailMissingFinalizeRow, 3> {
        FailMissingFinalizeRowQuery {
            client,
            params: [error, now, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<FailMissingFinalizeRowBorrowed, tokio_postgres::Error> {
                Ok(FailMissingFinalizeRowBorrowed {
                    execution_id: row.try_get(0)?,
                })
            },
            mapper: |it| FailMissingFinalizeRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        FailMissingFinalizeParams<T1>,
        FailMissingFinalizeRowQuery<'c, 'a, 's, C, FailMissingFinalizeRow, 3>,
        C,
    > for FailMissingFinalizeStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a FailMissingFinalizeParams<T1>,
    ) -> FailMissingFinalizeRowQuery<'c, 'a, 's, C, FailMissingFinalizeRow, 3> {
        self.bind(client, &params.error, &params.now, &params.limit)
    }
}
pub struct CountStuckStmt(&'static str, Option<tokio_postgres::Statement>);
/// Rows that would hang without the maintenance check: running executions with no lease deadline, and parents waiting for a finalize execution that does not exist.
pub fn count_stuck() -> CountStuckStmt {
    CountStuckStmt(
        "SELECT (SELECT count(*) FROM task_executions WHERE status = 'running' AND expires_at IS NULL) AS running_without_lease, (SELECT count(*) FROM task_executions AS p WHERE p.status = 'waiting_for_finalize_task' AND NOT EXISTS (SELECT 1 FROM task_executions AS f WHERE f.execution_id = p.finalize_execution_id)) AS missing_finalize",
        None,
    )
}
impl CountStuckStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
    ) -> CountStuckRowQuery<'c, 'a, 's, C, CountStuckRow, 0> {
        CountStuckRowQuery {
            client,
            params: [],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |row: &tokio_postgres::Row| -> Result<CountStuckRow, tokio_postgres::Error> {
                Ok(CountStuckRow {
                    running_without_lease: row.try_get(0)?,
                    missing_finalize: row.try_get(1)?,
                })
            },
            mapper: |it| CountStuckRow::from(it),
        }
    }
}
pub struct CountByTaskAndStatusStmt(&'static str, Option<tokio_postgres::Statement>);
/// Number of executions per task id and status.
pub fn count_by_task_and_status() -> CountByTaskAndStatusStmt {
    CountByTaskAndStatusStmt(
        "SELECT task_id, status, count(*) AS count FROM task_executions GROUP BY task_id, status ORDER BY task_id, status",
        None,
    )
}
impl CountByTaskAndStatusStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
    ) -> CountByTaskAndStatusRowQuery<'c, 'a, 's, C, CountByTaskAndStatusRow, 0> {
        CountByTaskAndStatusRowQuery {
            client,
            params: [],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<CountByTaskAndStatusRowBorrowed, tokio_postgres::Error> {
                Ok(CountByTaskAndStatusRowBorrowed {
                    task_id: row.try_get(0)?,
                    status: row.try_get(1)?,
                    count: row.try_get(2)?,
                })
            },
            mapper: |it| CountByTaskAndStatusRow::from(it),
        }
    }
}
pub struct OldestReadyStmt(&'static str, Option<tokio_postgres::Statement>);
/// The earliest start_at among ready executions (null when none is ready).
pub fn oldest_ready() -> OldestReadyStmt {
    OldestReadyStmt(
        "SELECT min(start_at) AS oldest_start_at FROM task_executions WHERE status = 'ready'",
        None,
    )
}
impl OldestReadyStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
    ) -> OldestReadyRowQuery<'c, 'a, 's, C, OldestReadyRow, 0> {
        OldestReadyRowQuery {
            client,
            params: [],
            query: self.0,
            cached: self.1.as_ref(),
            extractor:
                |row: &tokio_postgres::Row| -> Result<OldestReadyRow, tokio_postgres::Error> {
                    Ok(OldestReadyRow {
                        oldest_start_at: row.try_get(0)?,
                    })
                },
            mapper: |it| OldestReadyRow::from(it),
        }
    }
}
pub struct CountExpiredLeasesStmt(&'static str, Option<tokio_postgres::Statement>);
/// Number of running executions whose lease has expired (past the timeout bound or the heartbeat deadline, as in expire_leases).
pub fn count_expired_leases() -> CountExpiredLeasesStmt {
    CountExpiredLeasesStmt(
        "SELECT count(*) AS count FROM task_executions WHERE status = 'running' AND (expires_at < $1 OR heartbeat_expires_at < $1)",
        None,
    )
}
impl CountExpiredLeasesStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
        now: &'a i64,
    ) -> CountExpiredLeasesRowQuery<'c, 'a, 's, C, CountExpiredLeasesRow, 1> {
        CountExpiredLeasesRowQuery {
            client,
            params: [now],
            query: self.0,
            cached: self.1.as_ref(),
            extractor:
                |row: &tokio_postgres::Row| -> Result<CountExpiredLeasesRow, tokio_postgres::Error> {
                    Ok(CountExpiredLeasesRow {
                        count: row.try_get(0)?,
                    })
                },
            mapper: |it| CountExpiredLeasesRow::from(it),
        }
    }
}
pub struct ListExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Operator listing, newest first: executions created before the cursor (before_created_at, before_execution_id) in (created_at DESC, execution_id DESC) order, at most `limit`. Filters with a neutral value when unused: task_id '' (any), root_only false, any_status true (else status in the JSON array `statuses`), created range [created_from, created_to), any_finished true (else finished_at in [finished_from, finished_to)). Walks ix_task_executions_created backwards from the cursor; the filters are checked on the way (see docs/design.md, Listing).
pub fn list_executions() -> ListExecutionsStmt {
    ListExecutionsStmt(
        "SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions WHERE (created_at, execution_id) < ($1, $2) AND created_at >= $3 AND created_at < $4 AND ($5 OR (finished_at >= $6 AND finished_at < $7)) AND ($8 = '' OR task_id = $8) AND ($9 = false OR parent_execution_id IS NULL) AND ($10 OR status IN (SELECT jsonb_array_elements_text($11::jsonb))) ORDER BY created_at DESC, execution_id DESC LIMIT $12",
        None,
    )
}
impl ListExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<
        'c,
        'a,
        's,
        C: GenericClient,
        T1: crate::StringSql,
        T2: crate::StringSql,
        T3: crate::JsonSql,
    >(
        &'s self,
        client: &'c C,
        before_created_at: &'a i64,
        before_execution_id: &'a T1,
        created_from: &'a i64,
        created_to: &'a i64,
        any_finished: &'a bool,
        finished_from: &'a i64,
        finished_to: &'a i64,
        task_id: &'a T2,
        root_only: &'a bool,
        any_status: &'a bool,
        statuses: &'a T3,
        limit: &'a i64,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 12> {
        TaskExecutionRowQuery {
            client,
            params: [
                before_created_at,
                before_execution_id,
                created_from,
                created_to,
                any_finished,
                finished_from,
                finished_to,
                task_id,
                root_only,
                any_status,
                statuses,
                limit,
            ],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::StringSql, T2: crate::StringSql, T3: crate::JsonSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        ListExecutionsParams<T1, T2, T3>,
        TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 12>,
        C,
    > for ListExecutionsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a ListExecutionsParams<T1, T2, T3>,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 12> {
        self.bind(
            client,
            &params.before_created_at,
            &params.before_execution_id,
            &params.created_from,
            &params.created_to,
            &params.any_finished,
            &params.finished_from,
            &params.finished_to,
            &params.task_id,
            &params.root_only,
            &params.any_status,
            &params.statuses,
            &params.limit,
        )
    }
}
pub struct ListChildrenOfStmt(&'static str, Option<tokio_postgres::Statement>);
/// Operator listing of one parent's children (and finalize), with the cursor, order and filters of list_executions; reads the parent's rows through ix_task_executions_parent and sorts them.
pub fn list_children_of() -> ListChildrenOfStmt {
    ListChildrenOfStmt(
        "SELECT id, execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, index_in_parent, is_finalize, retry_options, sleep_ms_before_run, timeout_ms, input, run_output, output, children_count, active_children_count, finalize_execution_id, children_errors, finalize_error, error, status, is_closed, needs_cancel, executor_id, attempt, start_at, started_at, finished_at, expires_at, created_at, updated_at, waiting_for_children_started_at, waiting_for_finalize_started_at, closed_at, sleeping_key, parent_decides, heartbeat_expires_at FROM task_executions WHERE parent_execution_id = $1 AND (created_at, execution_id) < ($2, $3) AND created_at >= $4 AND created_at < $5 AND ($6 OR (finished_at >= $7 AND finished_at < $8)) AND ($9 = '' OR task_id = $9) AND ($10 = false OR parent_execution_id IS NULL) AND ($11 OR status IN (SELECT jsonb_array_elements_text($12::jsonb))) ORDER BY created_at DESC, execution_id DESC LIMIT $13",
        None,
    )
}
impl ListChildrenOfStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<
        'c,
        'a,
        's,
        C: GenericClient,
        T1: crate::StringSql,
        T2: crate::StringSql,
        T3: crate::StringSql,
        T4: crate::JsonSql,
    >(
        &'s self,
        client: &'c C,
        parent_execution_id: &'a T1,
        before_created_at: &'a i64,
        before_execution_id: &'a T2,
        created_from: &'a i64,
        created_to: &'a i64,
        any_finished: &'a bool,
        finished_from: &'a i64,
        finished_to: &'a i64,
        task_id: &'a T3,
        root_only: &'a bool,
        any_status: &'a bool,
        statuses: &'a T4,
        limit: &'a i64,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 13> {
        TaskExecutionRowQuery {
            client,
            params: [
                parent_execution_id,
                before_created_at,
                before_execution_id,
                created_from,
                created_to,
                any_finished,
                finished_from,
                finished_to,
                task_id,
                root_only,
                any_status,
                statuses,
                limit,
            ],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<TaskExecutionRowBorrowed, tokio_postgres::Error> {
                Ok(TaskExecutionRowBorrowed {
                    id: row.try_get(0)?,
                    execution_id: row.try_get(1)?,
                    task_id: row.try_get(2)?,
                    root_task_id: row.try_get(3)?,
                    root_execution_id: row.try_get(4)?,
                    parent_task_id: row.try_get(5)?,
                    parent_execution_id: row.try_get(6)?,
                    index_in_parent: row.try_get(7)?,
                    is_finalize: row.try_get(8)?,
                    retry_options: row.try_get(9)?,
                    sleep_ms_before_run: row.try_get(10)?,
                    timeout_ms: row.try_get(11)?,
                    input: row.try_get(12)?,
                    run_output: row.try_get(13)?,
                    output: row.try_get(14)?,
                    children_count: row.try_get(15)?,
                    active_children_count: row.try_get(16)?,
                    finalize_execution_id: row.try_get(17)?,
                    children_errors: row.try_get(18)?,
                    finalize_error: row.try_get(19)?,
                    error: row.try_get(20)?,
                    status: row.try_get(21)?,
                    is_closed: row.try_get(22)?,
                    needs_cancel: row.try_get(23)?,
                    executor_id: row.try_get(24)?,
                    attempt: row.try_get(25)?,
                    start_at: row.try_get(26)?,
                    started_at: row.try_get(27)?,
                    finished_at: row.try_get(28)?,
                    expires_at: row.try_get(29)?,
                    created_at: row.try_get(30)?,
                    updated_at: row.try_get(31)?,
                    waiting_for_children_started_at: row.try_get(32)?,
                    waiting_for_finalize_started_at: row.try_get(33)?,
                    closed_at: row.try_get(34)?,
                    sleeping_key: row.try_get(35)?,
                    parent_decides: row.try_get(36)?,
                    heartbeat_expires_at: row.try_get(37)?,
                })
            },
            mapper: |it| TaskExecutionRow::from(it),
        }
    }
}
impl<
    'c,
    'a,
    's,
    C: GenericClient,
    T1: crate::StringSql,
    T2: crate::StringSql,
    T3: crate::StringSql,
    T4: crate::JsonSql,
>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        ListChildrenOfParams<T1, T2, T3, T4>,
        TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 13>,
        C,
    > for ListChildrenOfStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a ListChildrenOfParams<T1, T2, T3, T4>,
    ) -> TaskExecutionRowQuery<'c, 'a, 's, C, TaskExecutionRow, 13> {
        self.bind(
            client,
            &params.parent_execution_id,
            &params.before_created_at,
            &params.before_execution_id,
            &params.created_from,
            &params.created_to,
            &params.any_finished,
            &params.finished_from,
            &params.finished_to,
            &params.task_id,
            &params.root_only,
            &params.any_status,
            &params.statuses,
            &params.limit,
        )
    }
}
pub struct RerunRootStmt(&'static str, Option<tokio_postgres::Statement>);
/// Operator retry: puts a top-level execution that finished without completing back to ready for a fresh run (attempt 0, start_at now; output, errors, lease, children counters, finalize and the bookkeeping timestamps cleared). Returns the row only when the guard matched; its previous subtree is deleted by delete_descendants in the same transaction.
pub fn rerun_root() -> RerunRootStmt {
    RerunRootStmt(
        "UPDATE task_executions SET status = 'ready', attempt = 0, start_at = $1, started_at = NULL, finished_at = NULL, expires_at = NULL, heartbeat_expires_at = NULL, executor_id = NULL, needs_cancel = false, is_closed = false, run_output = NULL, output = NULL, error = NULL, children_count = 0, active_children_count = 0, finalize_execution_id = NULL, children_errors = NULL, finalize_error = NULL, waiting_for_children_started_at = NULL, waiting_for_finalize_started_at = NULL, closed_at = NULL, updated_at = $1 WHERE execution_id = $2 AND parent_execution_id IS NULL AND status IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'cancelled') RETURNING execution_id",
        None,
    )
}
impl RerunRootStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>(
        &'s self,
        client: &'c C,
        now: &'a i64,
        execution_id: &'a T1,
    ) -> RerunRootRowQuery<'c, 'a, 's, C, RerunRootRow, 2> {
        RerunRootRowQuery {
            client,
            params: [now, execution_id],
            query: self.0,
            cached: self.1.as_ref(),
            extractor:
                |row: &tokio_postgres::Row| -> Result<RerunRootRowBorrowed, tokio_postgres::Error> {
                    Ok(RerunRootRowBorrowed {
                        execution_id: row.try_get(0)?,
                    })
                },
            mapper: |it| RerunRootRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        RerunRootParams<T1>,
        RerunRootRowQuery<'c, 'a, 's, C, RerunRootRow, 2>,
        C,
    > for RerunRootStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a RerunRootParams<T1>,
    ) -> RerunRootRowQuery<'c, 'a, 's, C, RerunRootRow, 2> {
        self.bind(client, &params.now, &params.execution_id)
    }
}
pub struct DeleteDescendantsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Deletes every descendant of an execution (children, their children, finalize executions), found through ix_task_executions_parent.
pub fn delete_descendants() -> DeleteDescendantsStmt {
    DeleteDescendantsStmt(
        "WITH RECURSIVE tree (execution_id) AS ( SELECT c.execution_id FROM task_executions AS c WHERE c.parent_execution_id = $1 UNION ALL SELECT c.execution_id FROM task_executions AS c JOIN tree ON c.parent_execution_id = tree.execution_id ) DELETE FROM task_executions WHERE execution_id IN (SELECT execution_id FROM tree)",
        None,
    )
}
impl DeleteDescendantsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub async fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>(
        &'s self,
        client: &'c C,
        execution_id: &'a T1,
    ) -> Result<u64, tokio_postgres::Error> {
        client.execute(self.0, &[execution_id]).await
    }
}
pub struct PruneRootsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Retention: deletes up to `limit` top-level executions in `status` (a finished one) that are closed and finished before `finished_before`, whose every descendant is finished and closed (a whole finished tree; on PostgreSQL `OFFSET 0` keeps that `NOT EXISTS` a probe of ix_task_executions_root per candidate: as an anti-join the planner, which sees almost no unfinished rows in the statistics, scans the whole table once per batch, ~0.5 s with a million rows), taken in the prunable index's order after the keyset bound `(after_finished_at, after_id)` (a pass carries it from batch to batch, so that a scan never steps again over the entries of the roots it deleted), and returns those deleted with their position in that order. One statement: PostgreSQL locks the candidates FOR UPDATE SKIP LOCKED (concurrent pruners take disjoint batches) and deletes them under the guard again (still top-level, finished and closed: a root re-run meanwhile is kept); SQLite deletes them inside the caller's write transaction. Reads ix_task_executions_prunable (one range: status, (finished_at, id) between the bound and the cutoff) and, per candidate, ix_task_executions_root; deletes by the primary key.
pub fn prune_roots() -> PruneRootsStmt {
    PruneRootsStmt(
        "DELETE FROM task_executions WHERE id = ANY (ARRAY( SELECT r.id FROM task_executions AS r WHERE r.parent_execution_id IS NULL AND r.is_closed = true AND r.status = $1 AND r.finished_at < $2 AND (r.finished_at, r.id) > ($3, $4) AND NOT EXISTS ( SELECT 1 FROM task_executions AS d WHERE d.root_execution_id = r.execution_id AND (d.is_closed = false OR d.status NOT IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled')) OFFSET 0) ORDER BY r.status, r.finished_at, r.id LIMIT $5 FOR UPDATE OF r SKIP LOCKED)) AND parent_execution_id IS NULL AND is_closed AND status COLLATE \"C\" IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled') RETURNING execution_id, finished_at, id",
        None,
    )
}
impl PruneRootsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>(
        &'s self,
        client: &'c C,
        status: &'a T1,
        finished_before: &'a i64,
        after_finished_at: &'a i64,
        after_id: &'a i64,
        limit: &'a i64,
    ) -> PruneRootsRowQuery<'c, 'a, 's, C, PruneRootsRow, 5> {
        PruneRootsRowQuery {
            client,
            params: [status, finished_before, after_finished_at, after_id, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor:
                |row: &tokio_postgres::Row| -> Result<PruneRootsRowBorrowed, tokio_postgres::Error> {
                    Ok(PruneRootsRowBorrowed {
                        execution_id: row.try_get(0)?,
                        finished_at: row.try_get(1)?,
                        id: row.try_get(2)?,
                    })
                },
            mapper: |it| PruneRootsRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        PruneRootsParams<T1>,
        PruneRootsRowQuery<'c, 'a, 's, C, PruneRootsRow, 5>,
        C,
    > for PruneRootsStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a PruneRootsParams<T1>,
    ) -> PruneRootsRowQuery<'c, 'a, 's, C, PruneRootsRow, 5> {
        self.bind(
            client,
            &params.status,
            &params.finished_before,
            &params.after_finished_at,
            &params.after_id,
            &params.limit,
        )
    }
}
pub struct CountPrunableStmt(&'static str, Option<tokio_postgres::Statement>);
/// Retention dry run: how many of the first `limit` candidates of prune_roots after the same keyset bound (same conditions and order, read without locks) there are, and how many executions their trees hold (the roots plus their descendants).
pub fn count_prunable() -> CountPrunableStmt {
    CountPrunableStmt(
        "SELECT count(*) AS roots, coalesce(sum(1 + (SELECT count(*) FROM task_executions AS e WHERE e.root_execution_id = c.execution_id)), 0)::bigint AS executions FROM ( SELECT r.execution_id FROM task_executions AS r WHERE r.parent_execution_id IS NULL AND r.is_closed = true AND r.status = $1 AND r.finished_at < $2 AND (r.finished_at, r.id) > ($3, $4) AND NOT EXISTS ( SELECT 1 FROM task_executions AS d WHERE d.root_execution_id = r.execution_id AND (d.is_closed = false OR d.status NOT IN ('failed', 'timed_out', 'children_tasks_failed', 'finalize_task_failed', 'completed', 'cancelled')) OFFSET 0) ORDER BY r.status, r.finished_at, r.id LIMIT $5) AS c",
        None,
    )
}
impl CountPrunableStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    fn bind<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>(
        &'s self,
        client: &'c C,
        status: &'a T1,
        finished_before: &'a i64,
        after_finished_at: &'a i64,
        after_id: &'a i64,
        limit: &'a i64,
    ) -> CountPrunableRowQuery<'c, 'a, 's, C, CountPrunableRow, 5> {
        CountPrunableRowQuery {
            client,
            params: [status, finished_before, after_finished_at, after_id, limit],
            query: self.0,
            cached: self.1.as_ref(),
            extractor:
                |row: &tokio_postgres::Row| -> Result<CountPrunableRow, tokio_postgres::Error> {
                    Ok(CountPrunableRow {
                        roots: row.try_get(0)?,
                        executions: row.try_get(1)?,
                    })
                },
            mapper: |it| CountPrunableRow::from(it),
        }
    }
}
impl<'c, 'a, 's, C: GenericClient, T1: crate::StringSql>
    crate::client::async_::Params<
        'c,
        'a,
        's,
        CountPrunableParams<T1>,
        CountPrunableRowQuery<'c, 'a, 's, C, CountPrunableRow, 5>,
        C,
    > for CountPrunableStmt
{
    fn params(
        &'s self,
        client: &'c C,
        params: &'a CountPrunableParams<T1>,
    ) -> CountPrunableRowQuery<'c, 'a, 's, C, CountPrunableRow, 5> {
        self.bind(
            client,
            &params.status,
            &params.finished_before,
            &params.after_finished_at,
            &params.after_id,
            &params.limit,
        )
    }
}
pub struct DeletePrunedDescendantsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Retention: deletes every descendant of the top-level executions of a JSON array of execution ids (the rows whose root_execution_id is one of them), through ix_task_executions_root.
pub fn delete_pruned_descendants() -> DeletePrunedDescendantsStmt {
    DeletePrunedDescendantsStmt(
        "DELETE FROM task_executions WHERE root_execution_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))",
        None,
    )
}
impl DeletePrunedDescendantsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub async fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        ids: &'a T1,
    ) -> Result<u64, tokio_postgres::Error> {
        client.execute(self.0, &[ids]).await
    }
}
pub struct DeleteAllExecutionsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Deletes every execution (tests and benchmarks).
pub fn delete_all_executions() -> DeleteAllExecutionsStmt {
    DeleteAllExecutionsStmt("DELETE FROM task_executions", None)
}
impl DeleteAllExecutionsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub async fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
    ) -> Result<u64, tokio_postgres::Error> {
        client.execute(self.0, &[]).await
    }
}
pub struct NotifyEventsStmt(&'static str, Option<tokio_postgres::Statement>);
/// Wakes every executor listening on this schema's event channel (LISTEN/NOTIFY; see event_channel) with one notification per payload of the JSON array `payloads` (each says what happened), all in this one statement's transaction: PostgreSQL signals every listening backend of the database once per notifying transaction, whatever its channel, so several kinds sent together cost the listeners one wake-up instead of one each.
pub fn notify_events() -> NotifyEventsStmt {
    NotifyEventsStmt(
        "SELECT count(*) AS sent FROM (SELECT pg_notify( CASE WHEN coalesce(current_schema(), 'public') = 'public' THEN 'task_executions_events' WHEN octet_length('task_executions_events_' || current_schema()) <= 63 THEN 'task_executions_events_' || current_schema() ELSE 'task_executions_events_' || md5(current_schema()) END, p.payload) FROM jsonb_array_elements_text($1::jsonb) AS p(payload)) AS n",
        None,
    )
}
impl NotifyEventsStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient, T1: crate::JsonSql>(
        &'s self,
        client: &'c C,
        payloads: &'a T1,
    ) -> NotifyEventsRowQuery<'c, 'a, 's, C, NotifyEventsRow, 1> {
        NotifyEventsRowQuery {
            client,
            params: [payloads],
            query: self.0,
            cached: self.1.as_ref(),
            extractor:
                |row: &tokio_postgres::Row| -> Result<NotifyEventsRow, tokio_postgres::Error> {
                    Ok(NotifyEventsRow {
                        sent: row.try_get(0)?,
                    })
                },
            mapper: |it| NotifyEventsRow::from(it),
        }
    }
}
pub struct EventChannelStmt(&'static str, Option<tokio_postgres::Statement>);
/// The notification channel of the table in the session's current schema (the one `search_path` names first): `<table>_events` in `public` (the channel of earlier releases), `<table>_events_<schema>` elsewhere (the md5 of the schema's name when that would exceed PostgreSQL's 63-byte limit), so that storages in different schemas of one database do not wake each other. notify_events computes the same expression.
pub fn event_channel() -> EventChannelStmt {
    EventChannelStmt(
        "SELECT CASE WHEN coalesce(current_schema(), 'public') = 'public' THEN 'task_executions_events' WHEN octet_length('task_executions_events_' || current_schema()) <= 63 THEN 'task_executions_events_' || current_schema() ELSE 'task_executions_events_' || md5(current_schema()) END AS channel",
        None,
    )
}
impl EventChannelStmt {
    pub async fn prepare<'a, C: GenericClient>(
        mut self,
        client: &'a C,
    ) -> Result<Self, tokio_postgres::Error> {
        self.1 = Some(client.prepare(self.0).await?);
        Ok(self)
    }
    pub fn bind<'c, 'a, 's, C: GenericClient>(
        &'s self,
        client: &'c C,
    ) -> EventChannelRowQuery<'c, 'a, 's, C, EventChannelRow, 0> {
        EventChannelRowQuery {
            client,
            params: [],
            query: self.0,
            cached: self.1.as_ref(),
            extractor: |
                row: &tokio_postgres::Row,
            | -> Result<EventChannelRowBorrowed, tokio_postgres::Error> {
                Ok(EventChannelRowBorrowed {
                    channel: row.try_get(0)?,
                })
            },
            mapper: |it| EventChannelRow::from(it),
        }
    }
}
