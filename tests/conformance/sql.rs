//! Cases for the SQL backends (fixture SQL, real connections, processes).

use crate::support::{self, Harness};
use durable_execution::conformance::cases::{T0, child, exec, finalize_of, ids, one};
use durable_execution::model::{ExecutionStatus, Loaded};
use durable_execution::storage::{
    FinishItem, Storage, StorageError, StuckCounts, StuckOutcome, WaitItem,
};

const CORRUPT: &str = "
    UPDATE task_executions SET retry_options = '\"oops\"' WHERE execution_id = 'b';
    UPDATE task_executions SET status = 'dozing' WHERE execution_id = 'c';
    UPDATE task_executions SET attempt = -1 WHERE execution_id = 'd';
";

fn column_of(row: &Loaded) -> Option<(&str, &'static str)> {
    row.as_ref()
        .err()
        .map(|e| (e.execution_id.as_str(), e.column))
}

pub async fn corrupt_rows_fail_alone(h: Harness) {
    let all = ["a", "b", "c", "d", "e"];
    h.insert(&all.map(|id| exec(id, "t", T0))).await.unwrap();
    h.exec_sql(CORRUPT).await;
    let rows = h.get(&ids(&all)).await.unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0].as_ref().unwrap().execution_id, "a");
    assert_eq!(column_of(&rows[1]), Some(("b", "retry_options")));
    assert_eq!(column_of(&rows[2]), Some(("c", "status")));
    assert_eq!(column_of(&rows[3]), Some(("d", "attempt")));
    assert_eq!(rows[4].as_ref().unwrap().execution_id, "e");
    let message = rows[2].as_ref().unwrap_err().to_string();
    assert!(
        message.contains("c") && message.contains("dozing"),
        "{message}"
    );
    // The claim still hands out the good rows; the bad ones come back as errors.
    let claimed = h.claim_ready("ex", T0, 10, 0, 3_600_000).await.unwrap();
    let good: Vec<_> = claimed
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|e| e.execution_id.clone()))
        .collect();
    let bad: Vec<_> = claimed.iter().filter_map(column_of).collect();
    assert_eq!(good, ["a", "e"]);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad.contains(&("b", "retry_options")) && bad.contains(&("d", "attempt")));
}

pub async fn corrupt_finished_row_does_not_block_the_closer(h: Harness) {
    h.insert(&[exec("p", "t", T0)]).await.unwrap();
    h.claim_ready("ex", T0, 10, 0, 3_600_000).await.unwrap();
    h.wait_for_children(
        "ex",
        T0 + 1,
        &[WaitItem {
            execution_id: "p".into(),
            attempt: Some(0),
            run_output: "1".into(),
            children: vec![child("p", 0, "b", T0 + 1), child("p", 1, "ok", T0 + 1)],
            finalize: None,
        }],
    )
    .await
    .unwrap();
    h.claim_ready("ex", T0 + 2, 10, 0, 3_600_000).await.unwrap();
    let done = |id: &str| FinishItem {
        execution_id: id.into(),
        attempt: Some(0),
        status: ExecutionStatus::Completed,
        run_output: None,
        output: Some("1".into()),
        error: None,
    };
    h.finish("ex", T0 + 3, &[done("b"), done("ok")])
        .await
        .unwrap();
    h.exec_sql("UPDATE task_executions SET retry_options = '\"oops\"' WHERE execution_id = 'b';")
        .await;
    let outcome = h.close_finished(T0 + 4, 10).await.unwrap();
    let mut closed = outcome.closed.clone();
    closed.sort();
    assert_eq!(closed, ["b", "ok"]);
    assert_eq!(outcome.corrupt.len(), 1);
    assert_eq!(outcome.corrupt[0].execution_id, "b");
    assert_eq!(one(&*h, "p").await.active_children_count, 1);
    assert!(
        h.close_finished(T0 + 5, 10)
            .await
            .unwrap()
            .closed
            .is_empty()
    );
}

pub async fn millisecond_timestamps_survive(h: Harness) {
    let mut e = exec("a", "t", 1_234_567_890_123);
    e.sleep_ms_before_run = 1;
    h.insert(&[e]).await.unwrap();
    let got = one(&*h, "a").await;
    assert_eq!(
        (got.created_at, got.start_at),
        (1_234_567_890_123, 1_234_567_890_124)
    );
    let claimed = h
        .claim_ready("ex", 1_234_567_890_999, 1, 7, 3_600_000)
        .await
        .unwrap();
    let got = claimed.into_iter().next().unwrap().unwrap();
    assert_eq!(got.started_at, Some(1_234_567_890_999));
    assert_eq!(got.expires_at, Some(1_234_567_890_999 + 1_000 + 7));
}

/// A status that is not one of `ExecutionStatus`'s never makes `stats` fail:
/// its rows are reported on their own (counted, with an example id) and
/// every other row is still counted. PostgreSQL's `status` column is plain
/// `text` (no CHECK constraint, see generated/schema/postgres.sql), so the
/// same bad value can be stored on both backends.
pub async fn stats_report_unknown_statuses_on_their_own(h: Harness) {
    let all = ["a", "b", "c", "d"];
    h.insert(&all.map(|id| exec(id, "t", T0))).await.unwrap();
    h.insert(&[exec("x", "other", T0)]).await.unwrap();
    h.exec_sql("UPDATE task_executions SET status = 'bogus' WHERE execution_id IN ('b', 'c');")
        .await;
    let stats = h.stats(T0).await.unwrap();
    assert_eq!(
        stats.counts,
        [
            ("other".to_owned(), ExecutionStatus::Ready, 1),
            ("t".to_owned(), ExecutionStatus::Ready, 2),
        ]
    );
    assert_eq!(stats.unreadable.len(), 1, "{:?}", stats.unreadable);
    let bogus = &stats.unreadable[0];
    assert_eq!(
        (bogus.task_id.as_str(), bogus.status.as_str(), bogus.count),
        ("t", "bogus", 2)
    );
    // The oldest row of the group is the example.
    assert_eq!(bogus.example_execution_id.as_deref(), Some("b"));
    assert_eq!(stats.oldest_ready_start_at, Some(T0));
}

/// Values of another storage class than their column's (text in an
/// INTEGER column, a BLOB in a TEXT column) fail their own row only, as a
/// `CorruptRow` naming the execution and the column, on every read path.
///
/// SQLite only: SQLite stores any value in any column, whereas PostgreSQL's
/// column types (bigint, text, jsonb) reject such values on write, so no
/// such row can exist there and there is nothing to test.
pub async fn wrongly_typed_values_fail_their_row_alone(h: Harness) {
    let all = ["a", "b", "c", "d", "e", "f"];
    h.insert(&all.map(|id| exec(id, "t", T0))).await.unwrap();
    h.exec_sql(
        "UPDATE task_executions SET timeout_ms = 'abc' WHERE execution_id = 'd';
         UPDATE task_executions SET input = X'00ff' WHERE execution_id = 'e';
         UPDATE task_executions SET execution_id = CAST('f' AS BLOB) WHERE execution_id = 'f';",
    )
    .await;
    let f_row_id = format!("(row id {})", row_id(&h, "CAST('f' AS BLOB)").await);

    let rows = h.get(&ids(&["a", "d", "e", "b"])).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].as_ref().unwrap().execution_id, "a");
    assert_eq!(column_of(&rows[1]), Some(("d", "timeout_ms")));
    assert_eq!(column_of(&rows[2]), Some(("e", "input")));
    assert_eq!(rows[3].as_ref().unwrap().execution_id, "b");
    let message = rows[1].as_ref().unwrap_err().to_string();
    assert!(message.contains("\"abc\""), "{message}");

    // The claim hands out the good rows and reports each bad one alone.
    let claimed = h.claim_ready("ex", T0, 10, 0, 3_600_000).await.unwrap();
    let good: Vec<_> = claimed
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|e| e.execution_id.clone()))
        .collect();
    let mut bad: Vec<_> = claimed.iter().filter_map(column_of).collect();
    bad.sort();
    assert_eq!(good, ["a", "b", "c"]);
    let mut expected = vec![
        ("d", "timeout_ms"),
        ("e", "input"),
        (f_row_id.as_str(), "execution_id"),
    ];
    expected.sort();
    assert_eq!(bad, expected);
    // Claims go on; nothing is handed out twice.
    assert!(
        h.claim_ready("ex", T0 + 1, 10, 0, 3_600_000)
            .await
            .unwrap()
            .is_empty()
    );
    h.insert(&[exec("g", "t", T0)]).await.unwrap();
    let again = h.claim_ready("ex", T0 + 2, 10, 0, 3_600_000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].as_ref().unwrap().execution_id, "g");

    // What the executor does with a corrupt claimed row: fail it by id. The
    // row whose id cannot be read was failed by the claim itself.
    let fail = |id: &str| FinishItem {
        execution_id: id.into(),
        attempt: Some(0),
        status: ExecutionStatus::Failed,
        run_output: None,
        output: None,
        error: Some(durable_execution::ExecutionError::generic(
            "Cannot run execution: corrupt",
            false,
        )),
    };
    let mut failed = h
        .finish("ex", T0 + 3, &[fail("d"), fail("e")])
        .await
        .unwrap();
    failed.sort();
    assert_eq!(failed, ["d", "e"]);
    let f_state = sql_text(
        &h,
        "SELECT status || ' ' || error FROM task_executions WHERE execution_id = CAST('f' AS BLOB)",
    )
    .await;
    assert!(f_state.starts_with("failed "), "{f_state}");
    assert!(
        f_state.contains("Cannot run execution") && f_state.contains("execution_id"),
        "{f_state}"
    );
    // d and e are top-level without children: their finish closed them
    // (docs/design.md, "Closing"). The closer closes f (failed by the
    // claim through its surrogate key) as corrupt, without effects, and is
    // done.
    for id in ["d", "e"] {
        let state = sql_text(
            &h,
            &format!("SELECT is_closed || ' ' || closed_at FROM task_executions WHERE execution_id = '{id}'"),
        )
        .await;
        assert_eq!(state, format!("1 {}", T0 + 3), "{id}");
    }
    let outcome = h.close_finished(T0 + 4, 10).await.unwrap();
    assert_eq!(outcome.closed, std::slice::from_ref(&f_row_id));
    assert_eq!(outcome.corrupt.len(), 1, "{:?}", outcome.corrupt);
    assert!(
        h.close_finished(T0 + 5, 10)
            .await
            .unwrap()
            .closed
            .is_empty()
    );
    assert!(
        h.claim_ready("ex", T0 + 6, 10, 0, 3_600_000)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The other read paths isolate a wrongly typed row too: children, ready
/// parents, lease expiry and stats (SQLite only, see above).
pub async fn wrongly_typed_values_do_not_break_other_read_paths(h: Harness) {
    h.insert(&[exec("p", "t", T0), exec("q", "t", T0)])
        .await
        .unwrap();
    h.claim_ready("ex", T0, 10, 0, 3_600_000).await.unwrap();
    let wait = |id: &str, children: Vec<_>| WaitItem {
        execution_id: id.into(),
        attempt: Some(0),
        run_output: "1".into(),
        children,
        finalize: None,
    };
    h.wait_for_children(
        "ex",
        T0 + 1,
        &[
            wait(
                "p",
                vec![child("p", 0, "c0", T0 + 1), child("p", 1, "c1", T0 + 1)],
            ),
            wait("q", vec![child("q", 0, "q0", T0 + 1)]),
        ],
    )
    .await
    .unwrap();
    h.exec_sql(
        "UPDATE task_executions SET output = X'01' WHERE execution_id = 'c1';
         UPDATE task_executions SET active_children_count = 0, attempt = 'many' WHERE execution_id = 'q';",
    )
    .await;
    let children = h.get_children("p").await.unwrap();
    assert_eq!(children.len(), 2);
    assert_eq!(children[0].as_ref().unwrap().execution_id, "c0");
    assert_eq!(column_of(&children[1]), Some(("c1", "output")));
    let parents = h.ready_parents(10).await.unwrap();
    assert_eq!(parents.len(), 1);
    assert_eq!(column_of(&parents[0]), Some(("q", "attempt")));

    // Lease expiry of a running row whose execution id cannot be read:
    // the row is recovered (failed: no retry budget), the call does not fail.
    let claimed = h.claim_ready("ex", T0 + 2, 10, 0, 3_600_000).await.unwrap();
    assert_eq!(claimed.len(), 3);
    h.exec_sql(
        "UPDATE task_executions SET execution_id = CAST('c0' AS BLOB) WHERE execution_id = 'c0';",
    )
    .await;
    let expired = h.expire_leases(T0 + 1_000_000, 10).await.unwrap();
    let mut recovered = expired.requeued.clone();
    recovered.extend(expired.failed.clone());
    recovered.sort();
    assert_eq!(recovered, ["c1", "q0"]);
    assert_eq!(
        sql_text(
            &h,
            "SELECT status FROM task_executions WHERE execution_id = CAST('c0' AS BLOB)"
        )
        .await,
        "failed",
        "no retry budget: the expired lease fails the row"
    );

    // Stats count what they can read and report the rest on its own.
    h.exec_sql(
        "UPDATE task_executions SET status = CAST('ready' AS BLOB) WHERE execution_id = 'p';",
    )
    .await;
    let stats = h.stats(T0).await.unwrap();
    let total: u64 = stats.counts.iter().map(|c| c.2).sum();
    assert_eq!(total, 4, "{:?}", stats.counts);
    assert_eq!(stats.unreadable.len(), 1, "{:?}", stats.unreadable);
    assert_eq!(stats.unreadable[0].task_id, "t");
    assert_eq!(stats.unreadable[0].status, "(blob of 5 bytes)");
    assert_eq!(stats.unreadable[0].count, 1);
    assert_eq!(
        stats.unreadable[0].example_execution_id.as_deref(),
        Some("p")
    );
}

/// The surrogate key of the row whose execution id is `expr` (SQL).
async fn row_id(h: &Harness, expr: &str) -> i64 {
    sql_text(
        h,
        &format!("SELECT id FROM task_executions WHERE execution_id = {expr}"),
    )
    .await
    .parse()
    .unwrap()
}

/// The first column of the first row of `sql` as text (SQLite).
async fn sql_text(h: &Harness, sql: &str) -> String {
    let support::Kind::Sqlite { path } = &h.kind else {
        panic!("SQLite only")
    };
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(sql, [], |r| {
        Ok(match r.get_ref(0)? {
            rusqlite::types::ValueRef::Integer(n) => n.to_string(),
            other => String::from_utf8_lossy(other.as_bytes().unwrap()).into_owned(),
        })
    })
    .unwrap()
}

#[cfg(test)]
mod sqlite_only {
    use super::*;
    use crate::support::unwritable::Unwritable;
    use durable_execution::storage::{SqliteOptions, SqliteStorage};
    use std::collections::HashSet;

    const CHILD_ENV: &str = "DURABLE_CONFORMANCE_CHILD_DB";
    const MARK: &str = "CHILD-CLAIMED ";

    /// Plays both roles: without the env var it is the parent test; with it,
    /// the child process (the same test binary, re-invoked) that claims
    /// concurrently from the same file and prints what it got.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_process_claims_disjoint_rows() {
        if let Ok(path) = std::env::var(CHILD_ENV) {
            let storage = SqliteStorage::open(&path, SqliteOptions::default())
                .await
                .unwrap();
            loop {
                let claimed = storage
                    .claim_ready("child", T0, 3, 0, 3_600_000)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    break;
                }
                for e in claimed {
                    println!("{MARK}{}", e.unwrap().execution_id);
                }
            }
            return;
        }
        let h = support::sqlite_harness().await;
        let support::Kind::Sqlite { path } = &h.kind else {
            unreachable!()
        };
        let n = 2_000;
        let new: Vec<_> = (0..n).map(|i| exec(&format!("e{i:05}"), "t", T0)).collect();
        h.insert(&new).await.unwrap();
        let exe = std::env::current_exe().unwrap();
        let child = tokio::process::Command::new(exe)
            .args([
                "--exact",
                "sql::sqlite_only::a_second_process_claims_disjoint_rows",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut mine = Vec::new();
        loop {
            let claimed = h.claim_ready("parent", T0, 3, 0, 3_600_000).await.unwrap();
            if claimed.is_empty() {
                break;
            }
            mine.extend(claimed.into_iter().map(|e| e.unwrap().execution_id));
        }
        let output = child.wait_with_output().await.unwrap();
        assert!(
            output.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let theirs: Vec<String> = stdout
            .lines()
            .filter_map(|l| {
                l.find(MARK)
                    .map(|at| l[at + MARK.len()..].trim().to_owned())
            })
            .collect();
        let mut seen = HashSet::new();
        for id in mine.iter().chain(theirs.iter()) {
            assert!(seen.insert(id.clone()), "{id} claimed by both processes");
        }
        assert_eq!(seen.len(), n, "mine {} theirs {}", mine.len(), theirs.len());
        // Ownership recorded in the file matches what each process saw.
        for id in theirs.iter().take(20) {
            assert_eq!(one(&*h, id).await.executor_id.as_deref(), Some("child"));
        }
    }

    #[tokio::test]
    async fn insert_in_commits_and_rolls_back_with_the_callers_transaction() {
        let h = support::sqlite_harness().await;
        let support::Kind::Sqlite { path } = &h.kind else {
            unreachable!()
        };
        let path = path.clone();
        let mut events = h.subscribe();
        tokio::task::spawn_blocking(move || {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
                .unwrap();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO orders (id) VALUES (1)", [])
                .unwrap();
            SqliteStorage::insert_in(&tx, &[exec("committed", "t", T0)]).unwrap();
            tx.commit().unwrap();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO orders (id) VALUES (2)", [])
                .unwrap();
            SqliteStorage::insert_in(&tx, &[exec("rolled_back", "t", T0)]).unwrap();
            tx.rollback().unwrap();
            // A duplicate inside the caller's transaction is typed too.
            let tx = conn.transaction().unwrap();
            let err = SqliteStorage::insert_in(&tx, &[exec("committed", "t", T0)]).unwrap_err();
            assert!(
                matches!(err, StorageError::DuplicateExecutionId { .. }),
                "{err:?}"
            );
            drop(tx);
            let orders: i64 = conn
                .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
                .unwrap();
            assert_eq!(orders, 1);
        })
        .await
        .unwrap();
        let got: Vec<_> = h
            .get(&ids(&["committed", "rolled_back"]))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap().execution_id)
            .collect();
        assert_eq!(got, ["committed"]);
        // Wake-up after commit, from any handle on the same file.
        let storage = SqliteStorage::open(
            match &h.kind {
                support::Kind::Sqlite { path } => path,
                _ => unreachable!(),
            },
            SqliteOptions::default(),
        )
        .await
        .unwrap();
        storage.notify_ready_work();
        let event = tokio::time::timeout(std::time::Duration::from_secs(2), events.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event, durable_execution::storage::StorageEvent::ReadyWork);
    }

    /// An `insert_in` of several statements' worth of rows whose last row
    /// is a duplicate leaves none of them in the caller's transaction, even
    /// when the caller commits after the error (SQLite keeps a transaction
    /// going after a failed statement).
    #[tokio::test]
    async fn large_insert_in_is_all_or_nothing_in_the_callers_transaction() {
        let h = support::sqlite_harness().await;
        h.insert(&[exec("taken", "t", T0)]).await.unwrap();
        let support::Kind::Sqlite { path } = &h.kind else {
            unreachable!()
        };
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            conn.execute_batch("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
                .unwrap();
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO orders (id) VALUES (1)", [])
                .unwrap();
            let mut batch: Vec<_> = (0..4_321)
                .map(|i| exec(&format!("b{i}"), "t", T0))
                .collect();
            batch.push(exec("taken", "t", T0));
            let err = SqliteStorage::insert_in(&tx, &batch).unwrap_err();
            assert!(
                matches!(&err, StorageError::DuplicateExecutionId { execution_id } if execution_id == "taken"),
                "{err:?}"
            );
            // The caller's transaction goes on and commits its own write.
            let good: Vec<_> = (0..4_321)
                .map(|i| exec(&format!("g{i}"), "t", T0))
                .collect();
            SqliteStorage::insert_in(&tx, &good).unwrap();
            tx.commit().unwrap();
            let orders: i64 = conn
                .query_row("SELECT count(*) FROM orders", [], |r| r.get(0))
                .unwrap();
            assert_eq!(orders, 1);
        })
        .await
        .unwrap();
        assert!(
            h.get(&ids(&["b0", "b2000", "b4320"]))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            h.get(&ids(&["g0", "g2000", "g4320"])).await.unwrap().len(),
            3
        );
    }

    #[tokio::test]
    async fn opening_without_migrating_reports_the_missing_table() {
        let dir = tempfile::tempdir().unwrap();
        // A missing file is reported, and not created.
        for options in [
            SqliteOptions::default().migrate(false),
            SqliteOptions::default().read_only(true),
        ] {
            let missing = dir.path().join("x.db");
            let err = SqliteStorage::open(&missing, options).await.unwrap_err();
            assert!(
                matches!(&err, StorageError::MissingDatabaseFile { path } if *path == missing),
                "{err:?}"
            );
            assert!(err.to_string().contains("does not exist"), "{err}");
            assert!(!missing.exists(), "opening created {}", missing.display());
        }
        // An existing database without the table.
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        let err = SqliteStorage::open(&empty, SqliteOptions::default().migrate(false))
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::MissingTable { .. }), "{err:?}");
        assert!(err.to_string().contains("migrat"), "{err}");
        // Migrating twice applies nothing the second time and leaves no pending SQL.
        let path = dir.path().join("y.db");
        SqliteStorage::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let report = durable_execution::migrate::migrate_sqlite(&mut conn).unwrap();
        assert!(report.applied.is_empty());
        assert!(report.current_version >= 1);
        assert_eq!(
            durable_execution::migrate::pending_sql_sqlite(&conn).unwrap(),
            ""
        );
    }

    fn assert_replaced(result: Result<impl std::fmt::Debug, StorageError>, path: &std::path::Path) {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, StorageError::DatabaseFileReplaced { path: p } if p == path),
            "{err:?}"
        );
        assert!(!err.is_transient(), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains("deleted or replaced") && message.contains("restart"),
            "{message}"
        );
    }

    /// A file deleted under an open storage: writes fail (they would go to
    /// the unlinked file) and no new, empty database appears at the path,
    /// even when a new connection is opened.
    #[tokio::test]
    async fn a_deleted_file_fails_writes_and_is_not_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tasks.db");
        // No idle reader: every read opens a new connection.
        let storage = SqliteStorage::open(&path, SqliteOptions::default().max_idle_readers(0))
            .await
            .unwrap();
        storage.insert(&[exec("a", "t", T0)]).await.unwrap();
        assert_eq!(storage.get(&ids(&["a"])).await.unwrap().len(), 1);
        std::fs::remove_file(&path).unwrap();
        assert_replaced(storage.insert(&[exec("b", "t", T0)]).await, &path);
        assert_replaced(storage.claim_ready("ex", T0, 10, 0, 3_600_000).await, &path);
        assert_replaced(storage.get(&ids(&["a"])).await, &path);
        assert!(!path.exists(), "a new database file appeared at the path");
        // A second handle opened without migrating does not create it either.
        let err = SqliteStorage::open(&path, SqliteOptions::default().migrate(false))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StorageError::MissingDatabaseFile { .. }),
            "{err:?}"
        );
        assert!(!path.exists(), "a new database file appeared at the path");
    }

    /// A file replaced by another database under an open storage: writes
    /// fail instead of going to the old file.
    #[tokio::test]
    async fn a_replaced_file_fails_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tasks.db");
        let other = dir.path().join("other.db");
        let storage = SqliteStorage::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        storage.insert(&[exec("a", "t", T0)]).await.unwrap();
        {
            let replacement = SqliteStorage::open(&other, SqliteOptions::default())
                .await
                .unwrap();
            replacement.insert(&[exec("z", "t", T0)]).await.unwrap();
        }
        std::fs::rename(&other, &path).unwrap();
        assert_replaced(storage.insert(&[exec("b", "t", T0)]).await, &path);
        assert_replaced(
            storage
                .finish(
                    "ex",
                    T0,
                    &[FinishItem {
                        execution_id: "a".into(),
                        attempt: Some(0),
                        status: ExecutionStatus::Completed,
                        run_output: None,
                        output: Some("1".into()),
                        error: None,
                    }],
                )
                .await,
            &path,
        );
        // Nothing was written into the replacement either. The old file's
        // -wal and -shm files are still next to the path (SQLite keeps them
        // when its file was unlinked) and SQLite would pair them with the
        // new file: whoever replaces a database file removes them too.
        drop(storage);
        std::fs::remove_file(dir.path().join("tasks.db-wal")).unwrap();
        std::fs::remove_file(dir.path().join("tasks.db-shm")).unwrap();
        let reopened = SqliteStorage::open(&path, SqliteOptions::default())
            .await
            .unwrap();
        let got: Vec<_> = reopened
            .get(&ids(&["a", "b", "z"]))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap().execution_id)
            .collect();
        assert_eq!(got, ["z"]);
        // A storage opened on the file now at the path works normally.
        reopened.insert(&[exec("b", "t", T0)]).await.unwrap();
        let claimed = reopened
            .claim_ready("ex", T0, 10, 0, 3_600_000)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2);
    }

    /// A WAL-mode file without its -wal/-shm files, in a directory and file
    /// that cannot be written, is readable through a read-only storage;
    /// every write through it fails with a clear error and the file is left
    /// byte for byte as it was.
    #[tokio::test]
    async fn a_read_only_storage_reads_an_unwritable_wal_file_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db_dir = dir.path().join("db");
        std::fs::create_dir(&db_dir).unwrap();
        let path = db_dir.join("tasks.db");
        {
            let storage = SqliteStorage::open(&path, SqliteOptions::default())
                .await
                .unwrap();
            storage
                .insert(&[exec("a", "t", T0), exec("b", "t", T0 + 1)])
                .await
                .unwrap();
            storage
                .claim_ready("ex", T0, 1, 0, 3_600_000)
                .await
                .unwrap();
        }
        // The last connection closed: SQLite checkpointed and removed the WAL.
        let wal = db_dir.join("tasks.db-wal");
        let shm = db_dir.join("tasks.db-shm");
        assert!(!wal.exists() && !shm.exists());
        let mode: String = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let before = std::fs::read(&path).unwrap();
        let guard = Unwritable::new(&db_dir, &path);
        if !guard.effective {
            eprintln!(
                "note: cannot make {} unwritable here (root without chattr): only the \
                 read-only storage's own refusal to write is checked",
                db_dir.display()
            );
        }

        let storage = SqliteStorage::open(&path, SqliteOptions::default().read_only(true))
            .await
            .unwrap();
        let got = storage.get(&ids(&["a", "b"])).await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().unwrap().status, ExecutionStatus::Running);
        let stats = storage.stats(T0).await.unwrap();
        assert_eq!(
            stats.counts,
            [
                ("t".to_owned(), ExecutionStatus::Ready, 1),
                ("t".to_owned(), ExecutionStatus::Running, 1),
            ]
        );
        assert!(storage.get_children("a").await.unwrap().is_empty());
        for err in [
            storage.insert(&[exec("c", "t", T0)]).await.unwrap_err(),
            storage
                .claim_ready("ex", T0 + 5, 10, 0, 3_600_000)
                .await
                .unwrap_err(),
            storage.delete_all().await.unwrap_err(),
        ] {
            assert!(
                matches!(&err, StorageError::ReadOnly { path: p } if *p == path),
                "{err:?}"
            );
            assert!(err.to_string().contains("read-only"), "{err}");
        }
        drop(storage);
        assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
        if guard.effective {
            assert!(
                !wal.exists() && !shm.exists(),
                "files were created next to it"
            );
        }
    }

    /// An executor on SQLite with wrongly typed rows among its work: it runs
    /// the good executions, fails each bad one with an error saying why
    /// (which the closer then closes), and keeps claiming.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_executor_fails_wrongly_typed_rows_and_runs_the_rest() {
        use durable_execution::{
            EnqueueOptions, Executor, ExecutorOptions, Task, TaskContext, TaskError,
        };
        let h = support::sqlite_harness().await;
        let double = Task::new("double", |_ctx: TaskContext, n: u64| async move {
            Ok::<_, TaskError>(n * 2)
        });
        let options = ExecutorOptions::builder()
            .poll_interval(std::time::Duration::from_millis(20))
            .build()
            .unwrap();
        let executor = Executor::builder(h.storage.clone())
            .options(options)
            .register(&double)
            .build()
            .unwrap();
        let prepared: Vec<_> = (0..5u64)
            .map(|n| executor.prepare(&double, n, EnqueueOptions::new()).unwrap())
            .collect();
        h.insert(&prepared).await.unwrap();
        let id = |i: usize| prepared[i].execution_id.clone();
        h.exec_sql(&format!(
            "UPDATE task_executions SET timeout_ms = 'abc' WHERE execution_id = '{}';
             UPDATE task_executions SET input = X'00ff' WHERE execution_id = '{}';
             UPDATE task_executions SET execution_id = CAST(execution_id AS BLOB) WHERE execution_id = '{}';",
            id(1),
            id(2),
            id(3)
        ))
        .await;
        executor.start().unwrap();
        for i in [0, 4] {
            let done = executor.handle_for(&prepared[i]).wait().await.unwrap();
            assert_eq!(done.output::<u64>().unwrap(), 2 * i as u64);
        }
        // The bad rows end failed and closed, with the reason, and are not
        // claimed again.
        let state = "SELECT group_concat(status || ':' || is_closed || ':' || \
                     CASE WHEN error LIKE '%Cannot run execution%' THEN 'why' ELSE coalesce(error, '-') END, ' ') \
                     FROM (SELECT * FROM task_executions WHERE typeof(timeout_ms) <> 'integer' \
                     OR typeof(input) <> 'text' OR typeof(execution_id) <> 'text' ORDER BY id)";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let now = sql_text(&h, state).await;
            if now == "failed:1:why failed:1:why failed:1:why" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "bad rows: {now}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let done = executor
            .enqueue(&double, 21)
            .await
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert_eq!(done.output::<u64>().unwrap(), 42);
        executor
            .shutdown(std::time::Duration::from_secs(1))
            .await
            .unwrap();
        let attempts = sql_text(
            &h,
            "SELECT group_concat(attempt, ',') FROM (SELECT attempt FROM task_executions ORDER BY id)",
        )
        .await;
        assert_eq!(attempts, "0,0,0,0,0,0", "nothing was claimed twice");
    }

    #[tokio::test]
    async fn in_memory_database_is_private_and_works() {
        let a = SqliteStorage::open_in_memory().await.unwrap();
        let b = SqliteStorage::open_in_memory().await.unwrap();
        a.insert(&[exec("x", "t", T0)]).await.unwrap();
        assert_eq!(a.get(&ids(&["x"])).await.unwrap().len(), 1);
        assert!(b.get(&ids(&["x"])).await.unwrap().is_empty());
        assert_eq!(
            a.claim_ready("ex", T0, 10, 0, 3_600_000)
                .await
                .unwrap()
                .len(),
            1
        );
    }
}

#[cfg(test)]
mod postgres_only {
    use super::*;
    use durable_execution::storage::PostgresStorage;

    /// What a plain `LISTEN` connection received: `(payload, sender pid)`.
    type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, i32)>>>;

    /// How many notifications `received` holds.
    fn count_of(received: &Received) -> u64 {
        received.lock().unwrap().len() as u64
    }

    /// A plain connection (not a storage's listener) that `LISTEN`s on
    /// `schema`'s event channel and records every notification while the
    /// returned client lives and the driver task runs.
    async fn plain_listener(
        url: &str,
        schema: &str,
    ) -> (
        Received,
        tokio_postgres::Client,
        tokio::task::JoinHandle<()>,
    ) {
        use futures::StreamExt as _;
        let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let received = Received::default();
        let sink = received.clone();
        let driver = tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = message {
                    sink.lock()
                        .unwrap()
                        .push((n.payload().to_owned(), n.process_id()));
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN \"task_executions_events_{schema}\""))
            .await
            .unwrap();
        (received, client, driver)
    }

    #[tokio::test]
    async fn insert_in_commits_and_rolls_back_with_the_callers_transaction() {
        let h = support::postgres_harness().await;
        let support::Kind::Postgres { url, schema } = &h.kind else {
            unreachable!()
        };
        let other = h.reopen().await;
        let mut events = other.subscribe();
        h.settle(&mut events).await;
        let mut client = support::pg_client(url).await;
        client
            .batch_execute(&format!(
                "SET search_path TO {schema}; CREATE TABLE orders (id int PRIMARY KEY)"
            ))
            .await
            .unwrap();
        let tx = client.transaction().await.unwrap();
        tx.execute("INSERT INTO orders (id) VALUES (1)", &[])
            .await
            .unwrap();
        PostgresStorage::insert_in(&tx, &[exec("committed", "t", T0)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let tx = client.transaction().await.unwrap();
        tx.execute("INSERT INTO orders (id) VALUES (2)", &[])
            .await
            .unwrap();
        PostgresStorage::insert_in(&tx, &[exec("rolled_back", "t", T0)])
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let err = PostgresStorage::insert_in(&tx, &[exec("committed", "t", T0)])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StorageError::DuplicateExecutionId { execution_id } if execution_id == "committed"),
            "{err:?}"
        );
        drop(tx);
        let orders: i64 = client
            .query_one("SELECT count(*) FROM orders", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(orders, 1);
        let got: Vec<_> = h
            .get(&ids(&["committed", "rolled_back"]))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.unwrap().execution_id)
            .collect();
        assert_eq!(got, ["committed"]);
        // The NOTIFY sent inside the committed transaction reached another pool.
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                if events.recv().await.unwrap()
                    == durable_execution::storage::StorageEvent::ReadyWork
                {
                    return;
                }
            }
        })
        .await;
        assert!(event.is_ok(), "no wake-up after the caller's commit");
    }

    /// `notify_events` sends one notification per payload of its JSON
    /// array, all from the statement's one transaction (PostgreSQL signals
    /// every listening backend of the database once per notifying
    /// transaction, so kinds sent together cost each idle listener one
    /// wake-up): a plain `LISTEN` connection gets every payload, in order,
    /// from one backend, and only once the caller's transaction commits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_notify_statement_sends_every_payload_at_commit() {
        let h = support::postgres_harness().await;
        let support::Kind::Postgres { url, schema } = &h.kind else {
            unreachable!()
        };
        let (received, _listener, driver) = plain_listener(url, schema).await;
        let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path TO \"{schema}\""))
            .await
            .unwrap();
        let sql = cornucopia_query("notify_events").replace(":payloads", "$1");
        let tx = client.transaction().await.unwrap();
        let sent: i64 = tx
            .query_one(&sql, &[&tokio_postgres::types::Json(["ready", "close"])])
            .await
            .unwrap()
            .get(0);
        assert_eq!(sent, 2);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            received.lock().unwrap().is_empty(),
            "a notification arrived before the commit"
        );
        tx.commit().await.unwrap();
        let arrived = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while received.lock().unwrap().len() < 2 {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        })
        .await;
        assert!(arrived.is_ok(), "the notifications never arrived");
        let got = received.lock().unwrap().clone();
        assert_eq!(
            got.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
            ["ready", "close"]
        );
        assert_eq!(got[0].1, got[1].1, "both from one backend: {got:?}");
        driver.abort();
    }

    /// A burst of writes sends at most one `NOTIFY` per 50 ms (counted by a
    /// plain `LISTEN` connection from before the first insert until the
    /// count is read), and a write after a notification is always followed
    /// by another one (the trailing edge: nothing is lost).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn notifications_are_throttled_and_never_lost() {
        let h = support::postgres_harness().await;
        let support::Kind::Postgres { url, schema } = &h.kind else {
            unreachable!()
        };
        let (received, _listener, driver) = plain_listener(url, schema).await;
        let wait_for = |n: u64| {
            let received = received.clone();
            async move {
                tokio::time::timeout(std::time::Duration::from_secs(10), async {
                    while count_of(&received) < n {
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                })
                .await
                .is_ok()
            }
        };
        let start = std::time::Instant::now();
        for i in 0..40 {
            h.insert(&[exec(&format!("burst{i}"), "t", T0)])
                .await
                .unwrap();
        }
        assert!(wait_for(1).await, "no notification after the burst");
        let count = count_of(&received);
        let bound = start.elapsed().as_millis() as u64 / 50 + 1;
        assert!(
            count <= bound,
            "{count} notifications, at most {bound} expected"
        );
        // A write after a notification arrived is followed by another one.
        let seen = count_of(&received);
        h.insert(&[exec("after", "t", T0)]).await.unwrap();
        h.insert(&[exec("after2", "t", T0)]).await.unwrap();
        assert!(
            wait_for(seen + 1).await,
            "the last writes were never notified"
        );
        driver.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_listener_reconnects_after_losing_its_connection() {
        let h = support::postgres_harness().await;
        let support::Kind::Postgres { url, schema } = &h.kind else {
            unreachable!()
        };
        let mut events = h.subscribe();
        h.settle(&mut events).await;
        // Kill this storage's listener connection only, found by its last
        // statement (the LISTEN on this schema's channel): the listeners of
        // tests running alongside would announce themselves when they come
        // back, and those tests count their events.
        let admin = support::pg_client(url).await;
        let killed: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = $1 AND pid <> pg_backend_pid() \
                 AND query = $2",
                &[
                    &durable_execution::storage::postgres::LISTENER_APPLICATION_NAME,
                    &format!("LISTEN \"task_executions_events_{schema}\""),
                ],
            )
            .await
            .unwrap()
            .get(0);
        assert!(killed >= 1, "no listener connection found");
        // The listener comes back and announces itself ...
        let back = tokio::time::timeout(std::time::Duration::from_secs(10), events.recv()).await;
        assert!(
            matches!(
                back,
                Ok(Ok(durable_execution::storage::StorageEvent::ReadyWork))
            ),
            "{back:?}"
        );
        // (The rest of its announcement may still come: the wait below is
        // for a `ReadyWork` after the insert, whatever arrives first.)
        while events.try_recv().is_ok() {}
        // ... and notifications from another pool reach it again.
        let other = h.reopen().await;
        other.insert(&[exec("after", "t", T0)]).await.unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            loop {
                if events.recv().await.unwrap()
                    == durable_execution::storage::StorageEvent::ReadyWork
                {
                    return;
                }
            }
        })
        .await;
        assert!(
            got.is_ok(),
            "no notification after the listener reconnected"
        );
    }

    #[tokio::test]
    async fn migrator_applies_fixture_migrations_with_and_without_a_transaction() {
        use durable_execution::migrate::{Migration, MigrationError, migrate_postgres_with};
        const M1: Migration = Migration {
            version: 1,
            name: "create_fixture",
            sql: "CREATE TABLE fixture_a (id int PRIMARY KEY, label text);",
            checksum: "c1",
        };
        // CREATE INDEX CONCURRENTLY fails inside a transaction: this only
        // passes if the opt-out header is honoured.
        const M2: Migration = Migration {
            version: 2,
            name: "index_concurrently",
            sql: "-- transaction: none\nCREATE INDEX CONCURRENTLY ix_fixture_a_label ON fixture_a (label);",
            checksum: "c2",
        };
        const BROKEN: Migration = Migration {
            version: 3,
            name: "broken",
            sql: "-- transaction: none\nCREATE INDEX CONCURRENTLY ix_missing ON no_such_table (x);",
            checksum: "c3",
        };
        let (schema, _guard) = support::fresh_schema().await;
        let mut client = support::pg_client(&support::database_url()).await;
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .unwrap();
        let report = migrate_postgres_with(&mut client, &[M1, M2]).await.unwrap();
        assert_eq!(report.applied, [1, 2]);
        let again = migrate_postgres_with(&mut client, &[M1, M2]).await.unwrap();
        assert!(again.applied.is_empty());
        assert_eq!(again.current_version, 2);
        let edited = Migration {
            checksum: "other",
            ..M1
        };
        let err = migrate_postgres_with(&mut client, &[edited, M2])
            .await
            .unwrap_err();
        assert!(
            matches!(err, MigrationError::Divergent { version: 1, .. }),
            "{err}"
        );
        let err = migrate_postgres_with(&mut client, &[M1]).await.unwrap_err();
        assert!(
            matches!(err, MigrationError::Missing { version: 2, .. }),
            "{err}"
        );
        let err = migrate_postgres_with(&mut client, &[M1, M2, BROKEN])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                MigrationError::Postgres {
                    version: Some(3),
                    ..
                }
            ),
            "{err}"
        );
        let err = migrate_postgres_with(&mut client, &[M1, M2, BROKEN])
            .await
            .unwrap_err();
        assert!(
            matches!(err, MigrationError::Dirty { version: 3, .. }),
            "{err}"
        );
        // The advisory lock was released after every failure.
        let held: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(held, 0, "the migrator's advisory lock leaked");
    }

    #[tokio::test]
    async fn connecting_to_an_unmigrated_schema_reports_the_missing_table() {
        let (schema, _guard) = support::fresh_schema().await;
        let url = support::database_url();
        let err = PostgresStorage::connect(support::pg_config(&url, &schema))
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::MissingTable { .. }), "{err:?}");
        assert!(err.to_string().contains("migrat"), "{err}");
    }

    #[tokio::test]
    async fn concurrent_migrators_apply_each_migration_once() {
        let (schema, _guard) = support::fresh_schema().await;
        let url = support::database_url();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (url, schema) = (url.clone(), schema.clone());
            tasks.push(tokio::spawn(async move {
                let mut client = support::pg_client(&url).await;
                client
                    .batch_execute(&format!("SET search_path TO {schema}"))
                    .await
                    .unwrap();
                durable_execution::migrate::migrate_postgres(&mut client)
                    .await
                    .unwrap()
            }));
        }
        let mut applied = Vec::new();
        for t in tasks {
            applied.extend(t.await.unwrap().applied);
        }
        let expected: Vec<i64> = durable_execution::migrate::postgres_migrations()
            .iter()
            .map(|m| m.version)
            .collect();
        applied.sort();
        assert_eq!(applied, expected, "each migration applied exactly once");
        let client = support::pg_client(&url).await;
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .unwrap();
        assert_eq!(
            durable_execution::migrate::pending_sql_postgres(&client)
                .await
                .unwrap(),
            ""
        );
        let history = durable_execution::migrate::applied_postgres(&client)
            .await
            .unwrap();
        assert_eq!(history.len(), expected.len());
        assert!(history.iter().all(|m| m.success));
        // A fresh schema has everything pending, as plain SQL.
        let (fresh, _guard2) = support::fresh_schema().await;
        client
            .batch_execute(&format!("SET search_path TO {fresh}"))
            .await
            .unwrap();
        let sql = durable_execution::migrate::pending_sql_postgres(&client)
            .await
            .unwrap();
        assert!(sql.contains("CREATE TABLE"), "{sql}");
        assert!(sql.contains("task_executions_migrations"), "{sql}");
        // Nothing was executed.
        assert!(
            durable_execution::migrate::applied_postgres(&client)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// A claim at insert that claims every new row wakes no other handle (on
/// PostgreSQL: sends no `NOTIFY`, which would wake every listening
/// backend); one that leaves a new row `ready` does.
pub async fn claims_at_insert_wake_others_only_for_rows_left_ready(h: Harness) {
    use durable_execution::conformance::cases::events_for;
    use durable_execution::storage::StorageEvent;
    let window = std::time::Duration::from_millis(300);
    let other = h.reopen().await;
    let mut theirs = other.subscribe();
    h.settle(&mut theirs).await;
    let claimed = h
        .insert_and_claim(
            &[exec("a", "t", T0), exec("b", "t", T0)],
            "ex",
            T0,
            2,
            0,
            30_000,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let seen = events_for(&mut theirs, window).await;
    assert!(
        !seen.contains(&StorageEvent::ReadyWork),
        "rows all claimed at insert woke other claimers: {seen:?}"
    );
    let claimed = h
        .insert_and_claim(
            &[exec("c", "t", T0), exec("d", "t", T0)],
            "ex",
            T0,
            1,
            0,
            30_000,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let seen = events_for(&mut theirs, window).await;
    assert!(
        seen.contains(&StorageEvent::ReadyWork),
        "a row left ready woke nobody: {seen:?}"
    );
}

/// Rows that would hang forever (written by hand or by a faulty tool): a
/// `running` row with no lease deadline (lease expiry never saw it) and a
/// parent waiting for a finalize that does not exist (nothing ever finished
/// it). Both are counted by `stats` and repaired by `repair_stuck`: the
/// first gets the lease a claim gives, and lease expiry then recovers it;
/// the second ends `finalize_task_failed` and is closed like any other.
pub async fn stuck_rows_are_counted_and_repaired(h: Harness) {
    h.insert(&[
        exec("a", "t", T0),
        exec("b", "t", T0),
        exec("p", "t", T0),
        exec("q", "t", T0),
    ])
    .await
    .unwrap();
    assert_eq!(
        h.claim_ready("ex", T0, 10, 0, 3_600_000)
            .await
            .unwrap()
            .len(),
        4
    );
    let waits: Vec<WaitItem> = ["p", "q"]
        .iter()
        .map(|id| WaitItem {
            execution_id: (*id).into(),
            attempt: Some(0),
            run_output: "\"o\"".into(),
            children: vec![],
            finalize: Some(finalize_of(id, &format!("{id}_f"), T0 + 1)),
        })
        .collect();
    assert_eq!(
        h.wait_for_children("ex", T0 + 1, &waits)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(h.stats(T0 + 2).await.unwrap().stuck, StuckCounts::default());
    h.exec_sql(
        "UPDATE task_executions SET expires_at = NULL WHERE execution_id = 'a';
         DELETE FROM task_executions WHERE execution_id = 'p_f';",
    )
    .await;
    let stats = h.stats(T0 + 2).await.unwrap();
    assert_eq!(
        stats.stuck,
        StuckCounts {
            running_without_lease: 1,
            missing_finalize: 1,
        }
    );
    assert_eq!(stats.stuck.total(), 2);

    let outcome = h.repair_stuck(T0 + 100, 5_000, 100).await.unwrap();
    assert_eq!(
        outcome,
        StuckOutcome {
            leases_restored: ids(&["a"]),
            parents_failed: ids(&["p"]),
        }
    );
    let a = one(&*h, "a").await;
    assert_eq!(a.status, ExecutionStatus::Running);
    assert_eq!(a.expires_at, Some(T0 + 1_000 + 5_000));
    assert_eq!(one(&*h, "b").await.expires_at, Some(T0 + 1_000));
    let p = one(&*h, "p").await;
    assert_eq!(p.status, ExecutionStatus::FinalizeTaskFailed);
    assert_eq!((p.finished_at, p.is_closed), (Some(T0 + 100), false));
    let error = p.error.unwrap();
    assert!(
        error.message.contains("finalize execution"),
        "{}",
        error.message
    );
    assert!(!error.is_retryable && error.is_internal);
    assert_eq!(p.finalize_error.map(|e| e.message), Some(error.message));
    assert_eq!(
        one(&*h, "q").await.status,
        ExecutionStatus::WaitingForFinalizeTask
    );
    // Nothing is stuck any more, and a second call changes nothing.
    assert_eq!(h.stats(T0 + 101).await.unwrap().stuck.total(), 0);
    assert_eq!(
        h.repair_stuck(T0 + 101, 5_000, 100).await.unwrap(),
        StuckOutcome::default()
    );
    // The restored lease is recovered when it ends; the failed parent closes.
    let expired = h.expire_leases(T0 + 6_001, 100).await.unwrap();
    assert!(expired.failed.contains(&"a".to_owned()), "{expired:?}");
    let closed = h.close_finished(T0 + 6_002, 100).await.unwrap();
    assert!(closed.closed.contains(&"p".to_owned()), "{closed:?}");
}

/// Ready rows of the stale-statistics case: a burst far above what the
/// never-analyzed table's statistics expect.
const BURST: u32 = 20_000;

/// The claim reads the ready index in its order even when the table's
/// statistics are far behind a burst of ready rows (a fresh table, never
/// analyzed, autovacuum off): no bitmap scan, no sort of every ready row
/// per claim, which made claiming the 100,000 children of one parent
/// quadratic on PostgreSQL (~80 ms per claim of 1,024).
pub async fn claim_plan_ignores_stale_statistics(h: Harness) {
    if let support::Kind::Postgres { .. } = h.kind {
        h.exec_sql("ALTER TABLE task_executions SET (autovacuum_enabled = false)")
            .await;
    }
    let burst: Vec<_> = (0..BURST)
        .map(|i| exec(&format!("r{i}"), "t", T0 - i64::from(i % 50)))
        .collect();
    h.insert(&burst).await.unwrap();
    let plan = match &h.kind {
        support::Kind::Sqlite { path } => {
            let storage = durable_execution::storage::SqliteStorage::open(
                path,
                durable_execution::storage::SqliteOptions::default(),
            )
            .await
            .unwrap();
            storage.explain_claim(T0 + 1, 1_024).await.unwrap()
        }
        support::Kind::Postgres { url, schema } => {
            let storage = durable_execution::storage::PostgresStorage::connect(support::pg_config(
                url, schema,
            ))
            .await
            .unwrap();
            storage.explain_claim(T0 + 1, 1_024).await.unwrap()
        }
        support::Kind::Memory => unreachable!("SQL backends only"),
    };
    assert!(!plan.contains("Bitmap"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    assert!(
        plan.contains("ix_task_executions_ready"),
        "the claim must read the ready index: {plan}"
    );
    // Both order and limit hold on the burst.
    let claimed = h
        .claim_ready("ex", T0 + 1, 1_024, 250, 3_600_000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1_024);
    let starts: Vec<i64> = claimed
        .iter()
        .map(|r| r.as_ref().unwrap().start_at)
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert_eq!(starts.first(), Some(&(T0 - 49)));
}

/// The text of query `name` in the cornucopia input (`:name` parameters).
fn cornucopia_query(name: &str) -> String {
    const QUERIES: &str = include_str!("../../queries/task_executions.sql");
    // `--! name : Row()`, or `--! name` alone for a query without rows.
    let start = QUERIES
        .find(&format!("--! {name} "))
        .or_else(|| QUERIES.find(&format!("--! {name}\n")))
        .expect("query in queries/task_executions.sql");
    QUERIES[start..]
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("---"))
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end_matches(';')
        .to_owned()
}

/// PostgreSQL's plan of the spec query `name` with its parameters replaced
/// by the literals of `params` (`(":name", "literal")`), one line per node.
async fn explain<S: AsRef<str>>(
    client: &tokio_postgres::Client,
    name: &str,
    params: impl IntoIterator<Item = (&'static str, S)>,
) -> String {
    let mut sql = cornucopia_query(name);
    for (param, value) in params {
        sql = sql.replace(param, value.as_ref());
    }
    let plan: Vec<String> = client
        .query(&format!("EXPLAIN {sql}"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    plan.join("\n")
}

/// Each listing query reads the index docs/design.md ("Listing") names for
/// it, whichever filters are set (PostgreSQL: `EXPLAIN` with the
/// parameters as literals, after `ANALYZE` of 3,000 rows; SQLite: `EXPLAIN
/// QUERY PLAN` of the `INDEXED BY` statement, which fails if the index
/// stopped matching).
pub async fn list_plans_use_their_index(h: Harness) {
    let mut rows: Vec<_> = (0..3_000)
        .map(|i| {
            exec(
                &format!("r{i}"),
                if i % 3 == 0 { "a" } else { "b" },
                T0 + i64::from(i),
            )
        })
        .collect();
    rows.extend((0..20).map(|i| child("r0", i, &format!("r0_c{i}"), T0 + 5_000)));
    h.insert(&rows).await.unwrap();
    let support::Kind::Postgres { url, schema } = &h.kind else {
        // SQLite: the listing itself runs with INDEXED BY (an error if the
        // index could not serve it).
        use durable_execution::storage::ListFilter;
        let page = h
            .list(&ListFilter::new().task_id("a"), None, 5)
            .await
            .unwrap();
        assert_eq!(page.executions.len(), 5);
        let page = h
            .list(&ListFilter::new().parent("r0"), None, 5)
            .await
            .unwrap();
        assert_eq!(page.executions.len(), 5);
        return;
    };
    let client = support::pg_client(url).await;
    client
        .batch_execute(&format!(
            "SET search_path TO {schema}; ANALYZE task_executions"
        ))
        .await
        .unwrap();
    let literals = |task: &str, any_status: bool, root_only: bool| {
        vec![
            (":parent_execution_id", "'r0'".to_owned()),
            (":before_created_at", i64::MAX.to_string()),
            (":before_execution_id", "''".to_owned()),
            (":created_from", i64::MIN.to_string()),
            (":created_to", i64::MAX.to_string()),
            (":any_finished", "true".to_owned()),
            (":finished_from", i64::MIN.to_string()),
            (":finished_to", i64::MAX.to_string()),
            (":task_id", format!("'{task}'")),
            (":root_only", root_only.to_string()),
            (":any_status", any_status.to_string()),
            (":statuses", "'[\"ready\"]'".to_owned()),
            (":limit", "50".to_owned()),
        ]
    };
    for (query, index) in [
        ("list_executions", "ix_task_executions_created"),
        ("list_children_of", "ix_task_executions_parent"),
    ] {
        for (task, any_status, root_only) in [("", true, false), ("a", false, true)] {
            let plan = explain(&client, query, literals(task, any_status, root_only)).await;
            assert!(plan.contains(index), "{query} must read {index}:\n{plan}");
            assert!(!plan.contains("Seq Scan"), "{query}:\n{plan}");
        }
    }
}

/// A row that cannot be read comes back in its place in a listing page,
/// and the pages around it go on.
pub async fn list_returns_corrupt_rows_in_place(h: Harness) {
    use durable_execution::storage::{ListCursor, ListFilter};
    let all = ["a", "b", "c", "d", "e"];
    let rows: Vec<_> = all
        .iter()
        .enumerate()
        .map(|(i, id)| exec(id, "t", T0 + i as i64))
        .collect();
    h.insert(&rows).await.unwrap();
    h.exec_sql(CORRUPT).await;
    let mut seen = Vec::new();
    let mut cursor: Option<ListCursor> = None;
    loop {
        let page = h
            .list(&ListFilter::new(), cursor.as_ref(), 2)
            .await
            .unwrap();
        seen.extend(page.executions.iter().map(|row| match row {
            Ok(e) => (e.execution_id.clone(), None),
            Err(c) => (c.execution_id.clone(), Some(c.column)),
        }));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            ("e".to_owned(), None),
            ("d".to_owned(), Some("attempt")),
            ("c".to_owned(), Some("status")),
            ("b".to_owned(), Some("retry_options")),
            ("a".to_owned(), None),
        ]
    );
}

/// The retention queries read the indexes docs/design.md ("Retention")
/// names for them (PostgreSQL: `EXPLAIN` with the parameters as literals,
/// after `ANALYZE` of 30,000 closed trees of one root and one child, with
/// `ordered_scans` as the prune runs it; SQLite:
/// the queries run with `INDEXED BY`, an error if an index could not serve
/// them, so pruning the trees is the check).
pub async fn prune_plans_use_their_indexes(h: Harness) {
    use durable_execution::storage::{PruneCutoff, PruneOutcome};
    let cols = "execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, \
                retry_options, sleep_ms_before_run, timeout_ms, input, output, status, is_closed, start_at, \
                finished_at, created_at, updated_at";
    let fill = |series: &str| {
        format!(
            "INSERT INTO task_executions ({cols})
             SELECT 'r' || n, 't', NULL, NULL, NULL, NULL, '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
                 'completed', true, {T0}, {T0} + n, {T0}, {T0} FROM {series};
             INSERT INTO task_executions ({cols})
             SELECT 'r' || n || '_c', 't', 't', 'r' || n, 't', 'r' || n, '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
                 'completed', true, {T0}, {T0} + n, {T0}, {T0} FROM {series};"
        )
    };
    let support::Kind::Postgres { url, schema } = &h.kind else {
        h.exec_sql(&fill(
            "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000) SELECT n FROM s)",
        ))
        .await;
        let cutoffs = [PruneCutoff {
            status: durable_execution::model::ExecutionStatus::Completed,
            finished_before: T0 + 1_001,
        }];
        let dry = h.prune(&cutoffs, 10_000, None, true).await.unwrap();
        assert_eq!(
            dry,
            PruneOutcome {
                roots: 1_000,
                executions: 2_000,
                next: None,
            }
        );
        assert_eq!(h.prune(&cutoffs, 10_000, None, false).await.unwrap(), dry);
        return;
    };
    let client = support::pg_client(url).await;
    client
        .batch_execute(&format!(
            "SET search_path TO {schema}; {} ANALYZE task_executions; SET enable_bitmapscan = off",
            fill("generate_series(1, 30000) AS n")
        ))
        .await
        .unwrap();
    let literals = [
        (":status", "'completed'".to_owned()),
        (":finished_before", (T0 + 1_001).to_string()),
        (":limit", "1000".to_owned()),
        // A pass's bound halfway through the range (a later batch).
        (":after_finished_at", (T0 + 500).to_string()),
        (":after_id", "0".to_owned()),
        (":ids", "'[\"r1\", \"r2\"]'".to_owned()),
    ];
    for (query, indexes) in [
        // The descendant check: index probes through ix_task_executions_root
        // on a large table (the plan of the 1,000,000-row benchmark,
        // docs/benchmarks.md), or one filtered scan of a small table whose
        // unfinished or unclosed rows are few (this table); both are the
        // planner's costed choice. The candidates always come from the
        // prunable index, in its order. (The dry run's `count_prunable`
        // runs without `ordered_scans` and is left to the planner: on this
        // small table it scans.)
        // The roots are deleted by primary key.
        (
            "prune_roots",
            &["ix_task_executions_prunable", "task_executions_pkey"][..],
        ),
        (
            "delete_pruned_descendants",
            &["ix_task_executions_root"][..],
        ),
    ] {
        let plan = explain(&client, query, literals.iter().map(|(n, v)| (*n, v))).await;
        for index in indexes {
            assert!(plan.contains(index), "{query} must read {index}:\n{plan}");
        }
        assert!(
            !plan.contains("Seq Scan on task_executions r"),
            "{query}:\n{plan}"
        );
        if query.starts_with("delete") {
            assert!(!plan.contains("Seq Scan"), "{query}:\n{plan}");
        }
        if query == "prune_roots" {
            // The bound is an index condition: the scan starts after it.
            let scan = plan
                .split("ix_task_executions_prunable")
                .nth(1)
                .and_then(|rest| rest.lines().nth(1))
                .unwrap_or_default();
            assert!(
                scan.contains("Index Cond:") && scan.contains("ROW(finished_at, id) > ROW("),
                "{query}:\n{plan}"
            );
        }
    }
    let cutoffs = [PruneCutoff {
        status: durable_execution::model::ExecutionStatus::Completed,
        finished_before: T0 + 1_001,
    }];
    let pruned = h.prune(&cutoffs, 10_000, None, false).await.unwrap();
    assert_eq!(
        pruned,
        PruneOutcome {
            roots: 1_000,
            executions: 2_000,
            next: None,
        }
    );
}
