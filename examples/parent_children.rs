//! A parent task that spawns one child per item and a finalize task that
//! combines the children's outputs (delivered in spawn order, whatever the
//! order they finished in).
//!
//! `cargo run --example parent_children`

use durable_execution::model::ExecutionStatus;
use durable_execution::storage::{SqliteStorage, Storage};
use durable_execution::{
    Executor, FinalizeInput, ParentOutput, ParentTask, Task, TaskContext, TaskError,
};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A child: "fetch" one page (here: measure its address).
    let fetch = Task::new("fetch_page", |_ctx: TaskContext, url: String| async move {
        tokio::time::sleep(Duration::from_millis(100 - url.len() as u64)).await;
        Ok::<_, TaskError>(url.len())
    });

    // The finalize: the parent's input, the parent's own output and every
    // child's output, in the order the children were spawned.
    let report = Task::new(
        "crawl_report",
        |_ctx: TaskContext, done: FinalizeInput<Vec<String>, String, usize>| async move {
            let total: usize = done.children.iter().sum();
            let pages: Vec<String> = done
                .input
                .iter()
                .zip(&done.children)
                .map(|(url, size)| format!("{url} = {size}"))
                .collect();
            Ok::<_, TaskError>(format!(
                "{}, {total} in all: {}",
                done.output,
                pages.join(", ")
            ))
        },
    );

    // The parent returns its own output and the children to spawn.
    let spawn = fetch.clone();
    let crawl = ParentTask::new("crawl", move |_ctx: TaskContext, urls: Vec<String>| {
        let fetch = spawn.clone();
        async move {
            let children = urls.iter().map(|url| fetch.child(url.clone()));
            Ok(ParentOutput::new(format!("crawled {} pages", urls.len())).children(children))
        }
    })
    .finalize(&report);

    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open_in_memory().await?);
    let executor = Executor::builder(storage)
        .register(&crawl) // also registers its finalize task
        .register(&fetch)
        .build()?;
    executor.start()?;

    let urls = ["https://example.com/a", "https://example.com/longer/b", "c"];
    let handle = executor
        .enqueue(&crawl, urls.iter().map(|u| u.to_string()).collect())
        .await?;
    let finished = handle.wait().await?;
    assert_eq!(finished.status, ExecutionStatus::Completed);
    let summary: String = finished.output()?;
    println!("{summary}");

    // The whole tree is stored: the parent's children and its finalize.
    for child in handle.children().await? {
        println!(
            "  {} {} {}",
            child.task_id, child.execution_id, child.status
        );
    }

    executor.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
