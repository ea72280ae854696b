//! Cases for the SQL backends (fixture SQL, real connections, processes).

use crate::cases::{T0, child, exec, finalize_of, ids, one};
use crate::support::{self, Harness};
use durable_execution::model::{ExecutionStatus, Loaded};
use durable_execution::storage::{
    FinishItem, Storage, StorageError, StuckCounts, StuckOutcome, WaitItem,
};

const CORRUPT: &str = "
    UPDATE task_executions SET retry_options = '\"oops\"' WHERE execution_id = 'b';
    UPDATE task_executions SET status = 'sleeping' WHERE execution_id = 'c';
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
        message.contains("c") && message.contains("sleeping"),
        "{message}"
    );
    // The claim still hands out the good rows; the bad ones come back as errors.
    let claimed = h.claim_ready("ex", T0, 10, 0).await.unwrap();
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
    h.claim_ready("ex", T0, 10, 0).await.unwrap();
    h.wait_for_children(
        "ex",
        T0 + 1,
        &[WaitItem {
            execution_id: "p".into(),
            run_output: "1".into(),
            children: vec![child("p", 0, "b", T0 + 1), child("p", 1, "ok", T0 + 1)],
            finalize: None,
        }],
    )
    .await
    .unwrap();
    h.claim_ready("ex", T0 + 2, 10, 0).await.unwrap();
    let done = |id: &str| FinishItem {
        execution_id: id.into(),
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
    let claimed = h.claim_ready("ex", 1_234_567_890_999, 1, 7).await.unwrap();
    let got = claimed.into_iter().next().unwrap().unwrap();
    assert_eq!(got.started_at, Some(1_234_567_890_999));
    assert_eq!(got.expires_at, Some(1_234_567_890_999 + 1_000 + 7));
}

#[cfg(test)]
mod sqlite_only {
    use super::*;
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
                let claimed = storage.claim_ready("child", T0, 3, 0).await.unwrap();
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
            let claimed = h.claim_ready("parent", T0, 3, 0).await.unwrap();
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
        let err = SqliteStorage::open(
            dir.path().join("x.db"),
            SqliteOptions::default().migrate(false),
        )
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

    #[tokio::test]
    async fn in_memory_database_is_private_and_works() {
        let a = SqliteStorage::open_in_memory().await.unwrap();
        let b = SqliteStorage::open_in_memory().await.unwrap();
        a.insert(&[exec("x", "t", T0)]).await.unwrap();
        assert_eq!(a.get(&ids(&["x"])).await.unwrap().len(), 1);
        assert!(b.get(&ids(&["x"])).await.unwrap().is_empty());
        assert_eq!(a.claim_ready("ex", T0, 10, 0).await.unwrap().len(), 1);
    }
}

#[cfg(test)]
mod postgres_only {
    use super::*;
    use durable_execution::storage::PostgresStorage;

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_listener_reconnects_after_losing_its_connection() {
        let h = support::postgres_harness().await;
        let support::Kind::Postgres { url, .. } = &h.kind else {
            unreachable!()
        };
        let mut events = h.subscribe();
        h.settle(&mut events).await;
        // Kill every listener connection (other tests' listeners reconnect too).
        let admin = support::pg_client(url).await;
        let killed: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = $1 AND pid <> pg_backend_pid()",
                &[&durable_execution::storage::postgres::LISTENER_APPLICATION_NAME],
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
    assert_eq!(h.claim_ready("ex", T0, 10, 0).await.unwrap().len(), 4);
    let waits: Vec<WaitItem> = ["p", "q"]
        .iter()
        .map(|id| WaitItem {
            execution_id: (*id).into(),
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
    let claimed = h.claim_ready("ex", T0 + 1, 1_024, 250).await.unwrap();
    assert_eq!(claimed.len(), 1_024);
    let starts: Vec<i64> = claimed
        .iter()
        .map(|r| r.as_ref().unwrap().start_at)
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert_eq!(starts.first(), Some(&(T0 - 49)));
}
