//! SQLite: a process that keeps the file's write lock busy does not lock
//! another process out. This process queues writes back to back (its
//! writers hand the lock to each other); a worker process performs single
//! writes meanwhile and must get each of them in, within the busy timeout,
//! while the load goes on.

use crate::common::{Backend, RunLog, SharedDb, WorkerConfig, eventually, spawn_worker};
use durable_execution::model::{NewExecution, RetryOptions, now_millis};
use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The worker mode of this scenario.
pub const WORKER_MODE: &str = "write_lock";

/// Writes the worker must get in while this process keeps the lock busy.
const WORKER_WRITES: usize = 30;
/// The worker's busy timeout: how long one of its writes may wait for the
/// lock before failing with `SQLITE_BUSY`.
const WORKER_BUSY_TIMEOUT: Duration = Duration::from_secs(1);
/// Concurrent writers of the load in this process.
const LOAD_WRITERS: usize = 4;
/// Rows per load transaction (so that each one holds the lock a while).
const LOAD_ROWS: usize = 300;

fn execution(n: u64) -> NewExecution {
    NewExecution {
        execution_id: format!("te_{:024}", n),
        task_id: "lock".to_owned(),
        root: None,
        parent: None,
        retry_options: RetryOptions::default(),
        sleep_ms_before_run: 0,
        timeout_ms: 1000,
        input: "null".to_owned(),
        created_at: now_millis(),
        sleeping_key: None,
    }
}

/// The worker: one write at a time, each logged once it committed, and
/// each started only once the load in the parent process has the lock
/// again (its `delete_all` removed the row written before). A write that
/// fails (`SQLITE_BUSY` after the busy timeout: locked out) fails the test.
pub async fn worker_main(config: WorkerConfig) {
    let path = config
        .db
        .strip_prefix("sqlite:")
        .expect("a SQLite database");
    let storage = SqliteStorage::open(
        path,
        SqliteOptions::default().busy_timeout(WORKER_BUSY_TIMEOUT),
    )
    .await
    .unwrap();
    let log = RunLog::create(&config.runs_path());
    config.signal_ready();
    config.wait_for_file("go", Duration::from_secs(60)).await;
    for i in 0..WORKER_WRITES as u64 {
        let started = Instant::now();
        let row = execution(1_000_000_000 + i);
        if let Err(e) = storage.insert(std::slice::from_ref(&row)).await {
            panic!(
                "write {i} of the worker failed after {:?}: {e}",
                started.elapsed()
            );
        }
        log.record(&row.execution_id, 0);
        let ids = [row.execution_id];
        let load_resumed = eventually(Duration::from_secs(60), async || {
            storage.get(&ids).await.unwrap().is_empty()
        })
        .await;
        assert!(load_resumed, "the load did not write after write {i}");
    }
}

/// Every write of the worker process commits while this process keeps the
/// write lock busy with back-to-back transactions, none fails with
/// `SQLITE_BUSY`.
pub async fn busy_process_does_not_lock_others_out(backend: Backend) {
    assert_eq!(backend, Backend::Sqlite, "a SQLite file lock scenario");
    let db = SharedDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let storage = db.handle().await;
    let mut worker = spawn_worker(&db.spec(), WORKER_MODE, dir.path(), "locked");
    worker.wait_ready(Duration::from_secs(60)).await;

    // The load: writers queued on this process's write lock, each
    // inserting a batch of rows and deleting everything again.
    let stop = Arc::new(AtomicBool::new(false));
    let transactions = Arc::new(AtomicU64::new(0));
    let committed = Arc::new(Notify::new());
    let ids = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for _ in 0..LOAD_WRITERS {
        let (storage, stop, transactions, committed, ids) = (
            Arc::clone(&storage),
            Arc::clone(&stop),
            Arc::clone(&transactions),
            Arc::clone(&committed),
            Arc::clone(&ids),
        );
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let batch: Vec<NewExecution> = (0..LOAD_ROWS)
                    .map(|_| execution(ids.fetch_add(1, Ordering::SeqCst)))
                    .collect();
                storage.insert(&batch).await.unwrap();
                storage.delete_all().await.unwrap();
                transactions.fetch_add(2, Ordering::SeqCst);
                committed.notify_waiters();
            }
        }));
    }
    // The worker starts once the load holds the lock.
    loop {
        let next = committed.notified();
        if transactions.load(Ordering::SeqCst) >= 2 * LOAD_WRITERS as u64 {
            break;
        }
        next.await;
    }
    std::fs::write(dir.path().join("go"), b"go").unwrap();
    let status = worker.wait_exit(Duration::from_secs(120)).await;
    // The load went on until the worker was done: no writer stopped early.
    let load_ran_throughout = load.iter().all(|writer| !writer.is_finished());
    let during = transactions.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    for writer in load {
        writer.await.unwrap();
    }
    assert!(
        status.success(),
        "the worker was locked out ({status}) after {} of {WORKER_WRITES} writes, while this \
         process committed {during} transactions:\n{}",
        worker.runs().len(),
        worker.stderr()
    );
    assert_eq!(worker.runs().len(), WORKER_WRITES);
    assert!(
        load_ran_throughout,
        "the load stopped before the worker was done"
    );
}
