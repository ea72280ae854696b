//! PostgreSQL connections die under a running executor (server restart,
//! failover, a DBA's `pg_terminate_backend`).

use crate::common::{Backend, SharedDb, eventually, fast_options, status_counts};
use crate::support;
use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{PostgresConfig, PostgresStorage, Storage};
use durable_execution::{Executor, Task, TaskContext, TaskError, WaitOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const TASKS: u32 = 300;

/// Terminates every server connection with `application_name`; returns how
/// many.
async fn terminate(application_name: &str) -> i64 {
    let client = support::pg_client(&support::database_url()).await;
    let rows = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
            &[&application_name],
        )
        .await
        .unwrap();
    i64::try_from(rows.len()).unwrap()
}

/// An executor runs 300 tasks; twice during the run every one of its
/// pooled server connections is terminated (found by a unique
/// `application_name`; the shared-name `LISTEN` connection is left alone so
/// that other test binaries on the server are not disturbed). Every task still
/// completes exactly once: failed statements are retried on fresh
/// connections, and a result whose commit was lost is either rewritten or
/// (when it had committed) refused by the guard, never re-run.
pub async fn connections_killed_mid_load(backend: Backend) {
    assert_eq!(backend, Backend::Postgres);
    let db = SharedDb::new(backend).await;
    let (url, schema) = db.postgres_schema();
    let application_name = format!("durable_blip_{}", std::process::id());
    let separator = if url.contains('?') { '&' } else { '?' };
    let config = PostgresConfig::new(format!(
        "{url}{separator}application_name={application_name}"
    ))
    .schema(schema)
    .pool_size(6);
    let storage: Arc<dyn Storage> = Arc::new(PostgresStorage::connect(config).await.unwrap());

    let runs: Arc<Vec<AtomicU32>> = Arc::new((0..TASKS).map(|_| AtomicU32::new(0)).collect());
    let r = runs.clone();
    let task = Task::new("blip", move |_ctx: TaskContext, i: u32| {
        let r = r.clone();
        async move {
            r[i as usize].fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<_, TaskError>(i)
        }
    });
    let executor = Executor::builder(storage)
        .options(
            fast_options()
                .max_concurrent_executions(20)
                .max_batch(10)
                .build()
                .unwrap(),
        )
        .register(&task)
        .build()
        .unwrap();
    executor.start().unwrap();
    let handles = executor.enqueue_many(&task, 0..TASKS).await.unwrap();

    let reader = db.handle().await;
    for threshold in [TASKS / 4, TASKS / 2] {
        let reached = eventually(Duration::from_secs(20), async || {
            status_counts(&reader)
                .await
                .get(&ExecutionStatus::Completed)
                .copied()
                .unwrap_or(0)
                >= u64::from(threshold)
        })
        .await;
        assert!(reached, "{:?}", status_counts(&reader).await);
        let killed = terminate(&application_name).await;
        assert!(killed > 0, "no connection of the executor was found");
    }

    let wait = WaitOptions::new().timeout(Duration::from_secs(30));
    for (i, handle) in handles.iter().enumerate() {
        let done = handle.wait_with(wait.clone()).await.unwrap();
        assert_eq!(done.status, ExecutionStatus::Completed, "{done:?}");
        assert_eq!(done.output::<u32>().unwrap(), i as u32);
    }
    for (i, count) in runs.iter().enumerate() {
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "task {i} ran a wrong number of times"
        );
    }
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
