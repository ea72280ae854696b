//! Rows that would hang forever are found and ended by a running
//! executor's maintenance loop: a `running` row with no lease deadline (as a
//! faulty tool or a hand-written UPDATE leaves it) is given a lease and
//! recovered when it ends, and a parent waiting for a finalize that does not
//! exist ends `finalize_task_failed`.

use crate::common::{Backend, SharedDb, fast_options};
use durable_execution::model::{ExecutionStatus, NewExecution, RetryOptions, now_millis};
use durable_execution::storage::WaitItem;
use durable_execution::{
    EnqueueOptions, Executor, FinalizeInput, ParentOutput, ParentTask, Task, TaskContext,
    TaskError, WaitOptions,
};
use std::time::Duration;

pub async fn stuck_rows_are_ended_by_maintenance(backend: Backend) {
    let db = SharedDb::new(backend).await;
    let storage = db.handle().await;
    let work = Task::new("stuck_work", |ctx: TaskContext, n: u32| async move {
        Ok::<_, TaskError>(n + ctx.attempt())
    })
    .timeout(Duration::from_millis(300))
    .retry(RetryOptions {
        max_attempts: 1,
        ..Default::default()
    });
    let finalize = Task::new(
        "stuck_finalize",
        |_ctx: TaskContext, done: FinalizeInput<(), String, u32>| async move {
            Ok::<_, TaskError>(done.output)
        },
    );
    let parent = ParentTask::new("stuck_parent", |_ctx: TaskContext, _: ()| async move {
        Ok::<_, TaskError>(ParentOutput::new("own".to_owned()))
    })
    .finalize(&finalize);
    // Not started yet: it only builds the rows, which a dead executor
    // ("de_gone") claimed.
    let executor = Executor::builder(storage.clone())
        .options(
            fast_options()
                .lease_slack(Duration::from_millis(200))
                .build()
                .unwrap(),
        )
        .register(&work)
        .register(&parent)
        .build()
        .unwrap();
    let orphan = executor
        .prepare(&work, 41, EnqueueOptions::default())
        .unwrap();
    let waiting = executor
        .prepare(&parent, (), EnqueueOptions::default())
        .unwrap();
    storage
        .insert(&[orphan.clone(), waiting.clone()])
        .await
        .unwrap();
    let now = now_millis();
    assert_eq!(
        storage
            .claim_ready("de_gone", now, 10, 0, 3_600_000)
            .await
            .unwrap()
            .len(),
        2
    );
    let finalize_row = NewExecution {
        execution_id: format!("{}_f", waiting.execution_id),
        task_id: "stuck_finalize".into(),
        root: Some(durable_execution::model::ExecutionRef {
            task_id: waiting.task_id.clone(),
            execution_id: waiting.execution_id.clone(),
        }),
        parent: Some(durable_execution::model::ParentRef {
            task_id: waiting.task_id.clone(),
            execution_id: waiting.execution_id.clone(),
            index: 0,
            is_finalize: true,
            parent_decides: false,
        }),
        ..orphan.clone()
    };
    storage
        .wait_for_children(
            "de_gone",
            now,
            &[WaitItem {
                execution_id: waiting.execution_id.clone(),
                attempt: Some(0),
                run_output: "\"own\"".into(),
                children: vec![],
                finalize: Some(finalize_row.clone()),
            }],
        )
        .await
        .unwrap();
    db.exec_sql(&format!(
        "UPDATE task_executions SET expires_at = NULL WHERE execution_id = '{}';
         DELETE FROM task_executions WHERE execution_id = '{}';",
        orphan.execution_id, finalize_row.execution_id
    ))
    .await;
    assert_eq!(storage.stats(now_millis()).await.unwrap().stuck.total(), 2);

    executor.start().unwrap();
    let wait = WaitOptions::new().timeout(Duration::from_secs(20));
    let recovered = executor
        .handle_for(&orphan)
        .wait_with(wait.clone())
        .await
        .unwrap();
    assert_eq!(recovered.status, ExecutionStatus::Completed);
    // Re-run after its restored lease expired: attempt 1, with the
    // recovery's error as the previous one.
    assert_eq!(recovered.output::<u32>().unwrap(), 42);
    assert_eq!(recovered.attempt, 1);
    let ended = executor.handle_for(&waiting).wait_with(wait).await.unwrap();
    assert_eq!(ended.status, ExecutionStatus::FinalizeTaskFailed);
    let message = ended.error.unwrap().message;
    assert!(message.contains("finalize execution"), "{message}");
    assert_eq!(storage.stats(now_millis()).await.unwrap().stuck.total(), 0);
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
