//! PostgreSQL is down for 8 s while parents finish: their children cannot
//! be stored until it is back, and every parent still completes on its
//! first attempt (a transient write failure is retried, never turned into a
//! failure of the execution).
//!
//! The server here is a private cluster created for this test
//! ([`PrivateCluster`]), stopped and started with `pg_ctlcluster`; the
//! shared test server is never touched.

use crate::common::{Backend, eventually, fast_options};
use crate::support::cluster::PrivateCluster;
use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{PostgresConfig, PostgresStorage, Storage};
use durable_execution::{
    Executor, FinalizeInput, ParentOutput, ParentTask, Task, TaskContext, TaskError, WaitOptions,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const PARENTS: u32 = 10;
const CHILDREN: u64 = 3;
const OUTAGE: Duration = Duration::from_secs(8);

/// The cluster's name prefix and ports: used by this test only.
const CLUSTER: &str = "durable_outage_";
const PORTS: std::ops::RangeInclusive<u16> = 5470..=5479;

pub async fn server_down_while_parents_finish(backend: Backend) {
    assert_eq!(backend, Backend::Postgres);
    let cluster = tokio::task::spawn_blocking(|| PrivateCluster::create(CLUSTER, PORTS, |_| {}))
        .await
        .unwrap();
    let cluster = Arc::new(cluster);
    let storage: Arc<dyn Storage> = Arc::new(
        PostgresStorage::connect(
            PostgresConfig::new(cluster.url("postgres"))
                .migrate(true)
                .pool_size(4),
        )
        .await
        .unwrap(),
    );

    let child = Task::new("outage_child", |_ctx: TaskContext, n: u64| async move {
        Ok::<_, TaskError>(n)
    });
    let sum = Task::new(
        "outage_sum",
        |_ctx: TaskContext, done: FinalizeInput<u32, String, u64>| async move {
            Ok::<_, TaskError>(u64::from(done.input) * 100 + done.children.iter().sum::<u64>())
        },
    );
    // Each parent's run reports that it started, then waits for the gate:
    // the test opens it once the server is down, so that every parent
    // finishes (and writes its children) during the outage.
    let started = Arc::new(AtomicU32::new(0));
    let (gate, gate_rx) = tokio::sync::watch::channel(false);
    let spawn = child.clone();
    let counter = started.clone();
    let parent = ParentTask::new("outage_parent", move |_ctx: TaskContext, i: u32| {
        let child = spawn.clone();
        let counter = counter.clone();
        let mut gate = gate_rx.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = gate.wait_for(|open| *open).await;
            Ok::<_, TaskError>(
                ParentOutput::new(format!("parent {i}"))
                    .children((1..=CHILDREN).map(|n| child.child(n))),
            )
        }
    })
    .finalize(&sum);
    let executor = Executor::builder(storage)
        .options(
            fast_options()
                .max_concurrent_executions(32)
                .error_backoff(Duration::from_millis(20), Duration::from_millis(500))
                .build()
                .unwrap(),
        )
        .register(&parent)
        .register(&child)
        .build()
        .unwrap();
    executor.start().unwrap();
    let handles = executor.enqueue_many(&parent, 0..PARENTS).await.unwrap();
    assert!(
        eventually(Duration::from_secs(20), async || started
            .load(Ordering::SeqCst)
            == PARENTS)
        .await,
        "every parent is running"
    );

    let stopper = cluster.clone();
    tokio::task::spawn_blocking(move || stopper.stop())
        .await
        .unwrap();
    let down_at = Instant::now();
    gate.send_replace(true);
    tokio::time::sleep(OUTAGE).await;
    let starter = cluster.clone();
    tokio::task::spawn_blocking(move || starter.start())
        .await
        .unwrap();
    let outage = down_at.elapsed();

    for (i, handle) in handles.iter().enumerate() {
        let done = handle
            .wait_with(WaitOptions::new().timeout(Duration::from_secs(60)))
            .await
            .unwrap_or_else(|e| panic!("parent {i} did not finish after the outage: {e}"));
        assert_eq!(
            done.status,
            ExecutionStatus::Completed,
            "parent {i}: {:?}",
            done.error
        );
        let i = u64::try_from(i).unwrap();
        assert_eq!(done.output::<u64>().unwrap(), i * 100 + 6);
        assert_eq!(done.attempt, 0, "parent {i} used none of its retry budget");
    }
    // Every parent ran exactly once: none was re-run by lease recovery.
    assert_eq!(started.load(Ordering::SeqCst), PARENTS);
    assert!(outage >= OUTAGE, "{outage:?}");
    executor.shutdown(Duration::from_secs(5)).await.unwrap();
}
