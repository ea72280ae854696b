//! The executor's metrics (feature `metrics`) exported in the Prometheus
//! text format: a few tasks run on an embedded SQLite file, one completes,
//! one succeeds on its retry, one fails for good; then the metrics are
//! rendered, printed and checked. A service would serve `handle.render()`
//! on its `/metrics` endpoint (or enable the exporter's `http-listener`
//! feature and call `PrometheusBuilder::install`). The names and labels are
//! listed in the crate's `metrics` module docs and in the README.
//!
//! `cargo run --example prometheus_metrics --features metrics`

use durable_execution::model::{ExecutionStatus, RetryOptions};
use durable_execution::storage::{SqliteOptions, SqliteStorage};
use durable_execution::{Executor, ExecutorOptions, Task, TaskContext, TaskError};
use metrics_exporter_prometheus::PrometheusBuilder;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Install the recorder before the executor records anything.
    let prometheus = PrometheusBuilder::new().install_recorder()?;

    let resize = Task::new("resize", |_ctx: TaskContext, size: u32| async move {
        Ok::<_, TaskError>(size / 2)
    });
    let flaky = Task::new("flaky", |ctx: TaskContext, (): ()| async move {
        if ctx.attempt() == 0 {
            return Err(TaskError::new("the service is warming up"));
        }
        Ok(())
    })
    .retry(RetryOptions {
        max_attempts: 2,
        base_delay_ms: Some(10),
        ..Default::default()
    });
    let doomed = Task::new("doomed", |_ctx: TaskContext, (): ()| async move {
        Err::<(), _>(TaskError::non_retryable("the input is invalid"))
    });

    let dir = tempfile::tempdir()?;
    let storage =
        SqliteStorage::open(dir.path().join("metrics.sqlite3"), SqliteOptions::default()).await?;
    let options = ExecutorOptions::builder()
        // Sample the `durable_executions` gauge (executions per task and
        // status) every 50 ms; a service would rather take seconds.
        .metrics_interval(Duration::from_millis(50))
        .build()?;
    let executor = Executor::builder(storage)
        .options(options)
        .register(&resize)
        .register(&flaky)
        .register(&doomed)
        .build()?;
    executor.start()?;

    let mut handles: Vec<durable_execution::ExecutionHandle> = Vec::new();
    for size in [640, 1024, 2048] {
        handles.push(executor.enqueue(&resize, size).await?.into());
    }
    handles.push(executor.enqueue(&flaky, ()).await?.into());
    handles.push(executor.enqueue(&doomed, ()).await?.into());
    for handle in &handles {
        handle.wait().await?;
    }
    assert_eq!(handles[4].wait().await?.status, ExecutionStatus::Failed);

    // The gauge is sampled in the background: wait for the sample that
    // sees the finished executions (bounded, so that a bug fails the run
    // instead of hanging it).
    let gauge_lines = [
        r#"durable_executions{task_id="resize",status="completed"} 3"#,
        r#"durable_executions{task_id="flaky",status="completed"} 1"#,
        r#"durable_executions{task_id="doomed",status="failed"} 1"#,
    ];
    for _ in 0..600 {
        let text = prometheus.render();
        if gauge_lines.iter().all(|line| text.contains(line)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Shutdown flushes the result writer: every outcome is counted after it.
    executor.shutdown(Duration::from_secs(5)).await?;

    let text = prometheus.render();
    println!("{text}");
    for line in [
        r#"durable_executions_claimed_total{task_id="resize"} 3"#,
        r#"durable_executions_started_total{task_id="flaky"} 2"#,
        r#"durable_executions_completed_total{task_id="resize"} 3"#,
        r#"durable_executions_completed_total{task_id="flaky"} 1"#,
        r#"durable_executions_retried_total{task_id="flaky"} 1"#,
        r#"durable_executions_failed_total{task_id="doomed"} 1"#,
        r#"durable_execution_run_duration_seconds_count{task_id="resize",status="completed"} 3"#,
        r#"durable_execution_start_delay_seconds_count{task_id="resize"} 3"#,
        r#"durable_execution_storage_call_duration_seconds_count{operation="claim_ready"}"#,
        r#"durable_execution_storage_call_duration_seconds_count{operation="finish"}"#,
    ]
    .into_iter()
    .chain(gauge_lines)
    {
        assert!(text.contains(line), "missing metric line: {line}");
    }
    println!("every expected metric line is present");
    Ok(())
}
