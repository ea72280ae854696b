//! End-to-end tests of the `durable` command-line program: each test runs
//! the real binary in a temporary directory.
//!
//! `cargo test --test cli`; the PostgreSQL test uses `DATABASE_URL` when it
//! names a PostgreSQL server, else `postgres://postgres@127.0.0.1:5432/test`.

// Helpers fail the test on a broken environment, like the tests themselves.
#![allow(clippy::expect_used)]

#[path = "../../../tests/support/unwritable.rs"]
mod unwritable;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use unwritable::Unwritable;

const BIN: &str = env!("CARGO_BIN_EXE_durable");

/// Runs `durable args…` in `dir`, without `DATABASE_URL`.
fn durable(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("the durable binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `durable args…` (a `--json` command), asserts success and parses
/// its stdout.
fn durable_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = ok(durable(dir, args));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// A ready top-level execution of `task_id` with input `null` and a 1 s
/// timeout, created at `created_at`.
fn new_top_level(
    id: &str,
    task_id: &str,
    created_at: durable_execution::model::Millis,
) -> durable_execution::model::NewExecution {
    durable_execution::model::NewExecution {
        execution_id: id.to_owned(),
        task_id: task_id.to_owned(),
        root: None,
        parent: None,
        retry_options: durable_execution::model::RetryOptions::default(),
        sleep_ms_before_run: 0,
        timeout_ms: 1_000,
        input: "null".to_owned(),
        created_at,
        sleeping_key: None,
    }
}

/// Asserts success and returns stdout.
fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "durable failed: {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Asserts a non-zero exit with exactly one `error: …` line on stderr that
/// contains `expected`, and no panic.
fn fails_with(output: Output, expected: &str) {
    let err = stderr(&output);
    assert!(
        !output.status.success(),
        "expected a failure, got success; stdout:\n{}",
        stdout(&output)
    );
    assert_eq!(output.status.code(), Some(1), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        lines[0].contains(expected),
        "stderr `{err}` does not mention `{expected}`"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// The execution id of the demo run from its output.
fn demo_run_id(out: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.starts_with("Demo run te_"))
        .unwrap_or_else(|| panic!("no `Demo run` line in:\n{out}"));
    line.split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_owned()
}

/// A tree line without its branch glyphs.
fn tree_label(line: &str) -> &str {
    line.trim_start_matches(['│', '├', '└', '─', ' '])
}

/// Checks the finished demo tree in the output.
fn assert_demo_completed(out: &str) {
    assert!(out.contains("with status completed"), "{out}");
    for task in [
        "demo_workflow",
        "demo_crawl #0",
        "demo_fetch #3",
        "demo_crawl_report (finalize)",
        "demo_pipeline #1",
        "demo_extract #0",
        "demo_transform #1",
        "demo_load #2",
        "demo_charge #2",
        "demo_summary (finalize)",
    ] {
        let line = out
            .lines()
            .find(|l| tree_label(l).starts_with(task) && l.contains("te_"))
            .unwrap_or_else(|| panic!("no line for {task} in:\n{out}"));
        assert!(line.contains("completed"), "{line}");
    }
    let charge = out
        .lines()
        .find(|l| tree_label(l).starts_with("demo_charge #2"))
        .unwrap_or_default();
    assert!(
        charge.contains("2 runs") || charge.contains("3 runs"),
        "the flaky task is retried: {charge}"
    );
    assert!(
        out.contains("Output: crawled 4 pages (702 words), loaded 10 records (sum of squares 385)"),
        "{out}"
    );
}

#[test]
fn demo_runs_twice_on_the_default_sqlite_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let first = ok(durable(dir.path(), &["demo"]));
    assert!(first.contains("SQLite file durable.sqlite3"), "{first}");
    assert!(first.contains("started a fresh one"), "{first}");
    assert_demo_completed(&first);
    assert!(dir.path().join("durable.sqlite3").exists());
    // Not a terminal: plain progress lines, no escape sequences.
    assert!(first.contains(" finished · "), "{first}");
    assert!(!first.contains('\x1b'), "{first}");

    let second = ok(durable(dir.path(), &["demo"]));
    assert!(second.contains("No unfinished demo run found"), "{second}");
    assert_demo_completed(&second);
    assert_ne!(demo_run_id(&first), demo_run_id(&second));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "two demo runs took {:?}",
        start.elapsed()
    );

    let status = ok(durable(dir.path(), &["status"]));
    let line = status
        .lines()
        .find(|l| l.starts_with("demo_workflow "))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        line.contains("completed") && line.trim_end().ends_with(" 2"),
        "{line}"
    );
    assert!(status.contains("demo_fetch "), "{status}");
    assert!(status.contains("Expired leases: 0."), "{status}");
    assert!(status.contains("Stuck executions: 0."), "{status}");
}

/// `status` counts the rows that would hang without the maintenance check:
/// a running row with no lease deadline and a parent whose finalize row is
/// missing.
#[test]
fn status_counts_stuck_executions() {
    use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("stuck.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let storage = SqliteStorage::open(&path, SqliteOptions::default())
            .await
            .expect("open");
        let new = |id: &str| new_top_level(id, "stuck", 1_700_000_000_000);
        storage
            .insert(&[new("te_run"), new("te_parent"), new("te_fine")])
            .await
            .expect("insert");
    });
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "UPDATE task_executions SET status = 'running', executor_id = 'de_gone', expires_at = NULL
             WHERE execution_id = 'te_run';
         UPDATE task_executions SET status = 'waiting_for_finalize_task', finalize_execution_id = 'te_gone'
             WHERE execution_id = 'te_parent';",
    )
    .expect("update");
    drop(conn);
    let db = path.to_str().expect("utf-8 path");
    let status = ok(durable(dir.path(), &["--database", db, "status"]));
    assert!(
        status.contains(
            "Stuck executions: 2 (1 running without a lease deadline, 1 waiting for a finalize that does not exist); a running executor repairs or ends them."
        ),
        "{status}"
    );
}

/// Sends a signal to a child process by pid.
fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[test]
fn demo_resumes_an_interrupted_run() {
    for sig in ["-INT", "-KILL"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new(BIN)
            .arg("demo")
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn demo");
        // Let it start the run and get some executions going.
        std::thread::sleep(Duration::from_millis(700));
        signal(child.id(), sig);
        let interrupted = child.wait_with_output().expect("demo exits");
        let first = stdout(&interrupted);
        assert!(
            !interrupted.status.success(),
            "{sig}: the demo finished before the signal:\n{first}"
        );
        let run_id = first
            .lines()
            .find_map(|l| l.split_whitespace().find(|w| w.starts_with("te_")))
            .map(|w| w.trim_end_matches(['.', ',']).to_owned())
            .unwrap_or_else(|| panic!("{sig}: no run id in:\n{first}"));
        if sig == "-INT" {
            assert!(
                stderr(&interrupted).contains("run `durable demo` again to resume"),
                "{}",
                stderr(&interrupted)
            );
        }

        let resumed = ok(durable(dir.path(), &["demo"]));
        assert!(
            resumed.contains(&format!("Resuming the unfinished demo run {run_id}")),
            "{sig}: {resumed}"
        );
        assert_eq!(demo_run_id(&resumed), run_id);
        assert_demo_completed(&resumed);
    }
}

#[test]
fn ddl_prints_both_dialects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg = ok(durable(dir.path(), &["ddl", "--dialect", "postgres"]));
    assert!(pg.contains("CREATE TABLE task_executions"), "{pg}");
    assert!(pg.contains("bigint"), "{pg}");
    assert!(pg.contains("COMMENT ON COLUMN"), "{pg}");
    let sqlite = ok(durable(dir.path(), &["ddl", "--dialect", "sqlite"]));
    assert!(sqlite.contains("CREATE TABLE task_executions"), "{sqlite}");
    assert!(sqlite.contains("INTEGER PRIMARY KEY"), "{sqlite}");
    assert_ne!(pg, sqlite);
    // The DDL is embedded: no database is touched.
    assert!(!dir.path().join("durable.sqlite3").exists());
    let bad = durable(dir.path(), &["ddl", "--dialect", "oracle"]);
    assert!(!bad.status.success());
}

#[test]
fn pending_sql_then_migrate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = "sqlite://app.db";
    let pending = ok(durable(dir.path(), &["--database", db, "pending-sql"]));
    assert!(
        pending.contains("CREATE TABLE IF NOT EXISTS task_executions_migrations"),
        "{pending}"
    );
    assert!(
        pending.contains("CREATE TABLE task_executions"),
        "{pending}"
    );
    assert!(pending.contains("-- migration 1 "), "{pending}");
    assert!(
        pending.contains("BEGIN;") && pending.contains("COMMIT;"),
        "{pending}"
    );
    assert!(
        !dir.path().join("app.db").exists(),
        "pending-sql must not create the database"
    );

    let latest = durable_execution::migrate::sqlite_migrations()
        .last()
        .map_or(0, |m| m.version);
    let migrated = ok(durable(dir.path(), &["--database", db, "migrate"]));
    assert!(migrated.contains("applied migration"), "{migrated}");
    assert!(
        migrated.contains(&format!("now at version {latest}")),
        "{migrated}"
    );
    let again = ok(durable(dir.path(), &["--database", db, "migrate"]));
    assert!(
        again.contains(&format!("already at version {latest}")),
        "{again}"
    );
    let nothing = ok(durable(dir.path(), &["--database", db, "pending-sql"]));
    assert!(nothing.contains("no pending migration"), "{nothing}");
    let status = ok(durable(dir.path(), &["--database", db, "status"]));
    assert!(status.contains("No executions."), "{status}");

    // The printed SQL is what a DBA can run by hand: applying it to an
    // empty database gives a database `migrate` considers up to date.
    let conn = rusqlite::Connection::open(dir.path().join("by_hand.db")).expect("open");
    conn.execute_batch(&pending).expect("the pending SQL runs");
    drop(conn);
    let by_hand = ok(durable(
        dir.path(),
        &["--database", "by_hand.db", "migrate"],
    ));
    assert!(
        by_hand.contains(&format!("already at version {latest}")),
        "{by_hand}"
    );
}

#[test]
fn migrate_to_a_version_and_the_version_check_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = "sqlite://staged.db";
    let latest = durable_execution::migrate::sqlite_migrations()
        .last()
        .map_or(0, |m| m.version);
    assert!(latest >= 2, "needs at least two migrations");
    let staged = ok(durable(
        dir.path(),
        &["--database", db, "migrate", "--to", "1"],
    ));
    assert!(staged.contains("now at version 1"), "{staged}");
    // Commands that open without migrating refuse the outdated database.
    fails_with(
        durable(dir.path(), &["--database", db, "status"]),
        &format!(
            "the database is at schema version 1 but this build expects version {latest}: run `durable migrate`"
        ),
    );
    fails_with(
        durable(dir.path(), &["--database", db, "migrate", "--to", "999"]),
        &format!("there is no migration 999 (the latest is {latest})"),
    );
    let rest = ok(durable(dir.path(), &["--database", db, "migrate"]));
    assert!(rest.contains(&format!("now at version {latest}")), "{rest}");
    fails_with(
        durable(dir.path(), &["--database", db, "migrate", "--to", "1"]),
        &format!("already at version {latest}, beyond the requested version 1"),
    );
    ok(durable(dir.path(), &["--database", db, "status"]));
    // A database migrated by a newer release is refused.
    let conn = rusqlite::Connection::open(dir.path().join("staged.db")).expect("open");
    conn.execute(
        "INSERT INTO task_executions_migrations (version, name, checksum, applied_at, execution_ms, success) VALUES (?1, 'future', 'x', 0, 0, 1)",
        [latest + 1],
    )
    .expect("fake a newer migration");
    drop(conn);
    fails_with(
        durable(dir.path(), &["--database", db, "status"]),
        &format!(
            "the database is at schema version {}, newer than this build's latest migration {latest}: it was migrated by a newer release",
            latest + 1
        ),
    );
}

#[test]
fn schema_check_lists_each_difference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = "sqlite://check.db";
    ok(durable(dir.path(), &["--database", db, "migrate"]));
    let clean = ok(durable(dir.path(), &["--database", db, "schema", "check"]));
    assert!(
        clean.contains("table task_executions matches the schema file"),
        "{clean}"
    );
    let conn = rusqlite::Connection::open(dir.path().join("check.db")).expect("open");
    conn.execute_batch(
        "DROP INDEX ix_task_executions_execution_id;
         ALTER TABLE task_executions ADD COLUMN note TEXT;
         CREATE INDEX ix_by_hand ON task_executions (task_id) WHERE status = 'ready';",
    )
    .expect("alter by hand");
    drop(conn);
    let out = durable(dir.path(), &["--database", db, "schema", "check"]);
    assert!(!out.status.success());
    let listed = stdout(&out);
    assert!(
        listed.contains("column note: not in the schema (database has TEXT)"),
        "{listed}"
    );
    assert!(
        listed.contains(
            "index ix_task_executions_execution_id: missing (expected UNIQUE (execution_id))"
        ),
        "{listed}"
    );
    assert!(
        listed.contains(
            "index ix_by_hand: not in the schema (database has (task_id) WHERE status = 'ready')"
        ),
        "{listed}"
    );
    assert!(
        stderr(&out).contains("3 differences from the schema file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn status_show_and_cancel_on_real_data() {
    use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
    use durable_execution::{Executor, ParentOutput, ParentTask, Task, TaskContext, TaskError};
    use std::sync::Arc;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ops.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // A parent that ran and waits for its two children, which stay ready:
    // the executor is shut down before they run.
    let (parent_id, other_id) = runtime.block_on(async {
        let storage: Arc<dyn Storage> = Arc::new(
            SqliteStorage::open(&path, SqliteOptions::default())
                .await
                .expect("open"),
        );
        let child = Task::new("ops_child", |_ctx: TaskContext, n: u32| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, TaskError>(n)
        })
        .sleep_before_run(Duration::from_secs(3600));
        let parent = {
            let child = child.clone();
            ParentTask::new("ops_parent", move |_ctx: TaskContext, (): ()| {
                let children = vec![child.child(1), child.child(2)];
                async move { Ok::<_, TaskError>(ParentOutput::new(()).children(children)) }
            })
        };
        let idle = Task::new("ops_idle", |_ctx: TaskContext, (): ()| async move {
            Ok::<_, TaskError>(())
        })
        .sleep_before_run(Duration::from_secs(3600));
        let executor = Executor::builder(storage.clone())
            .register(&parent)
            .register(&child)
            .register(&idle)
            .build()
            .expect("executor");
        executor.start().expect("start");
        let handle = executor.enqueue(&parent, ()).await.expect("enqueue");
        let other = executor.enqueue(&idle, ()).await.expect("enqueue");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let execution = handle.get().await.expect("get");
            if execution.children_count == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "the parent never spawned");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        executor
            .shutdown(Duration::from_secs(1))
            .await
            .expect("shutdown");
        (
            handle.execution_id().to_owned(),
            other.execution_id().to_owned(),
        )
    });
    let db = path.to_str().expect("utf-8 path");

    let status = ok(durable(dir.path(), &["--database", db, "status"]));
    let count = |text: &str, task: &str, status: &str| {
        text.lines()
            .find(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                words.first() == Some(&task) && words.get(1) == Some(&status)
            })
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|n| n.parse::<u64>().ok())
    };
    assert_eq!(
        count(&status, "ops_parent", "waiting_for_children_tasks"),
        Some(1),
        "{status}"
    );
    assert_eq!(count(&status, "ops_child", "ready"), Some(2), "{status}");
    assert_eq!(count(&status, "ops_idle", "ready"), Some(1), "{status}");
    assert!(
        status.contains("Oldest ready execution: due in"),
        "{status}"
    );

    let shown = ok(durable(dir.path(), &["--database", db, "show", &parent_id]));
    assert!(
        shown.contains(&format!("execution  {parent_id}")),
        "{shown}"
    );
    assert!(
        shown.contains("status     waiting_for_children_tasks"),
        "{shown}"
    );
    assert!(shown.contains("├─ ops_child #0"), "{shown}");
    assert!(shown.contains("└─ ops_child #1"), "{shown}");

    let cancelled = ok(durable(
        dir.path(),
        &["--database", db, "cancel", &parent_id],
    ));
    assert!(
        cancelled.contains(&format!("Cancelled {parent_id} (ops_parent): 3 executions")),
        "{cancelled}"
    );
    let shown = ok(durable(dir.path(), &["--database", db, "show", &parent_id]));
    assert!(shown.contains("status     cancelled"), "{shown}");
    assert!(
        shown.contains("Task cancelled from the command line"),
        "{shown}"
    );
    let child_lines: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains("ops_child #"))
        .collect();
    assert_eq!(child_lines.len(), 2, "{shown}");
    assert!(
        child_lines.iter().all(|l| l.contains("cancelled")),
        "{shown}"
    );

    // A second cancel is refused, and so is a retry of a child.
    fails_with(
        durable(dir.path(), &["--database", db, "cancel", &parent_id]),
        "already finished (cancelled); nothing was changed",
    );
    // Listing: newest first, pages through the cursor, filters.
    let page = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--database", db, "list", "--json"];
        all.extend_from_slice(args);
        durable_json(dir.path(), &all)
    };
    let ids_of = |page: &serde_json::Value| -> Vec<String> {
        page["executions"]
            .as_array()
            .expect("executions")
            .iter()
            .map(|e| e["execution_id"].as_str().expect("id").to_owned())
            .collect()
    };
    let everything = ids_of(&page(&[]));
    assert_eq!(everything.len(), 4, "{everything:?}");
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["--limit", "1"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let p = page(&args);
        paged.extend(ids_of(&p));
        match p["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(paged.len() <= 4, "{paged:?}");
    }
    assert_eq!(paged, everything);
    let children = page(&["--parent", &parent_id, "--status", "cancelled"]);
    assert_eq!(ids_of(&children).len(), 2, "{children}");
    let child_id = ids_of(&children)[0].clone();
    let child = &children["executions"][0];
    assert_eq!(child["task_id"], "ops_child");
    assert_eq!(child["status"], "cancelled");
    assert_eq!(child["parent_execution_id"], parent_id.as_str());
    assert_eq!(child["error"], "Task cancelled from the command line");
    let roots = page(&["--root", "--task", "ops_parent"]);
    assert_eq!(ids_of(&roots), [parent_id.as_str()]);
    let human = ok(durable(
        dir.path(),
        &["--database", db, "list", "--limit", "1"],
    ));
    assert!(
        human.contains("EXECUTION") && human.contains("More: --cursor "),
        "{human}"
    );
    assert!(
        !human.contains('\u{1b}'),
        "no colour off a terminal: {human}"
    );
    fails_with(
        durable(dir.path(), &["--database", db, "list", "--cursor", "nope"]),
        "bad --cursor",
    );
    // JSON of show and status.
    let shown = durable_json(
        dir.path(),
        &["--database", db, "show", &parent_id, "--json"],
    );
    assert_eq!(shown["execution_id"], parent_id.as_str());
    assert_eq!(
        shown["children"].as_array().map(Vec::len),
        Some(2),
        "{shown}"
    );
    assert_eq!(shown["children"][0]["index_in_parent"], 0);
    let status = durable_json(dir.path(), &["--database", db, "--json", "status"]);
    assert_eq!(status["total"], 4, "{status}");
    assert_eq!(status["expired_leases"], 0, "{status}");
    assert!(
        status["counts"].as_array().is_some_and(|c| c
            .iter()
            .any(|g| g["task_id"] == "ops_child" && g["status"] == "cancelled" && g["count"] == 2)),
        "{status}"
    );
    // Retry: refused for a child and an active execution; the cancelled
    // parent goes back to ready and loses its previous children.
    fails_with(
        durable(dir.path(), &["--database", db, "retry", &child_id]),
        "not a top-level execution",
    );
    fails_with(
        durable(dir.path(), &["--database", db, "retry", &other_id]),
        "it is still ready",
    );
    let retried = ok(durable(
        dir.path(),
        &["--database", db, "retry", &parent_id],
    ));
    assert!(
        retried.contains("2 executions of its previous run deleted"),
        "{retried}"
    );
    let shown = ok(durable(dir.path(), &["--database", db, "show", &parent_id]));
    assert!(shown.contains("status     ready"), "{shown}");
    assert!(!shown.contains("ops_child"), "{shown}");
    fails_with(
        durable(dir.path(), &["--database", db, "retry", &parent_id]),
        "it is still ready",
    );
    // The unrelated execution is untouched.
    let status = ok(durable(dir.path(), &["--database", db, "status"]));
    assert_eq!(count(&status, "ops_idle", "ready"), Some(1), "{status}");
    assert_eq!(count(&status, "ops_parent", "ready"), Some(1), "{status}");
    let other = ok(durable(dir.path(), &["--database", db, "show", &other_id]));
    assert!(other.contains("status     ready"), "{other}");
}

#[test]
fn errors_are_one_line_and_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    fails_with(
        durable(dir.path(), &["--database", "no/such/dir/x.db", "demo"]),
        "directory no/such/dir does not exist",
    );
    fails_with(
        durable(dir.path(), &["--database", "no/such/dir/x.db", "migrate"]),
        "does not exist",
    );
    fails_with(
        durable(dir.path(), &["status"]),
        "durable.sqlite3 does not exist; create it with `durable migrate`",
    );
    assert!(!dir.path().join("durable.sqlite3").exists());

    // A database file without the table.
    std::fs::write(dir.path().join("empty.db"), b"").expect("write");
    for command in [&["status"][..], &["show", "te_x"], &["cancel", "te_x"]] {
        let mut args = vec!["--database", "empty.db"];
        args.extend_from_slice(command);
        fails_with(
            durable(dir.path(), &args),
            "table `task_executions` does not exist; run the migrations first (`durable migrate`)",
        );
    }

    ok(durable(dir.path(), &["migrate"]));
    for command in ["show", "cancel"] {
        fails_with(
            durable(dir.path(), &[command, "te_doesnotexist"]),
            "no execution with id te_doesnotexist",
        );
    }

    for command in ["status", "migrate", "pending-sql", "demo"] {
        fails_with(
            durable(
                dir.path(),
                &[
                    "--database",
                    "postgres://postgres@127.0.0.1:1/test",
                    command,
                ],
            ),
            "127.0.0.1:1",
        );
    }
    // The password never shows in messages.
    let output = durable(
        dir.path(),
        &[
            "--database",
            "postgres://u:hunter2@127.0.0.1:1/test",
            "status",
        ],
    );
    assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
    fails_with(output, "u:***@127.0.0.1:1");
}

/// A fresh schema `{prefix}_{pid}` on the PostgreSQL server (dropped first
/// if a killed earlier run left it): the runtime and the client that made
/// it (to fill or drop it), and its name. Fails with a clear message when
/// no server is reachable.
fn fresh_pg_schema(prefix: &str) -> (tokio::runtime::Runtime, tokio_postgres::Client, String) {
    let base = postgres_url();
    let schema = format!("{prefix}_{}", std::process::id());
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let client = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is unreachable at {base} ({e}); start it or set DATABASE_URL")
            });
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .expect("create schema");
        client
    });
    (runtime, client, schema)
}

/// `postgres_url()` with the schema as the session's search path.
fn url_in_schema(schema: &str) -> String {
    let base = postgres_url();
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-csearch_path%3D{schema}")
}

/// The PostgreSQL server: `DATABASE_URL` when set, else the local default.
fn postgres_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

#[test]
fn demo_runs_on_postgres_in_a_fresh_schema() {
    let (runtime, client, schema) = fresh_pg_schema("cli_demo");
    let url = url_in_schema(&schema);
    let dir = tempfile::tempdir().expect("tempdir");

    fails_with(
        durable(dir.path(), &["--database", &url, "status"]),
        "durable migrate",
    );
    let pending = ok(durable(dir.path(), &["--database", &url, "pending-sql"]));
    assert!(
        pending.contains("CREATE TABLE task_executions"),
        "{pending}"
    );

    let first = ok(durable(dir.path(), &["--database", &url, "demo"]));
    assert!(first.contains("PostgreSQL postgres://"), "{first}");
    assert!(first.contains("started a fresh one"), "{first}");
    assert_demo_completed(&first);
    let second = ok(durable(dir.path(), &["--database", &url, "demo"]));
    assert_demo_completed(&second);
    let id = demo_run_id(&second);
    let shown = ok(durable(dir.path(), &["--database", &url, "show", &id]));
    assert!(shown.contains("status     completed"), "{shown}");
    assert!(shown.contains("demo_summary (finalize)"), "{shown}");
    let status = ok(durable(dir.path(), &["--database", &url, "status"]));
    assert!(status.contains("demo_fetch "), "{status}");
    let status = durable_json(dir.path(), &["--database", &url, "status", "--json"]);
    assert_eq!(status["total"], 26, "{status}");
    let young = durable_json(
        dir.path(),
        &["--database", &url, "prune", "--older-than", "1d", "--json"],
    );
    assert_eq!(
        (young["roots"].as_u64(), young["executions"].as_u64()),
        (Some(0), Some(0)),
        "{young}"
    );
    let dry = durable_json(
        dir.path(),
        &[
            "--database",
            &url,
            "prune",
            "--older-than",
            "0s",
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert!(dry["executions"].as_u64().is_some_and(|n| n <= 26), "{dry}");
    let status = durable_json(dir.path(), &["--database", &url, "status", "--json"]);
    assert_eq!(status["total"], 26, "a dry run deletes nothing: {status}");
    let roots = durable_json(
        dir.path(),
        &[
            "--database",
            &url,
            "list",
            "--json",
            "--root",
            "--limit",
            "1",
        ],
    );
    assert_eq!(
        roots["executions"][0]["execution_id"],
        id.as_str(),
        "{roots}"
    );
    let cursor = roots["next"].as_str().expect("a second page").to_owned();
    let older = durable_json(
        dir.path(),
        &[
            "--database",
            &url,
            "list",
            "--json",
            "--root",
            "--cursor",
            &cursor,
        ],
    );
    assert_eq!(
        older["executions"].as_array().map(Vec::len),
        Some(1),
        "{older}"
    );
    assert!(older["next"].is_null(), "{older}");
    fails_with(
        durable(dir.path(), &["--database", &url, "retry", &id]),
        "its status is completed",
    );
    let migrated = durable_json(dir.path(), &["--database", &url, "migrate", "--json"]);
    assert_eq!(migrated["applied"], serde_json::json!([]), "{migrated}");
    let nothing = ok(durable(dir.path(), &["--database", &url, "pending-sql"]));
    assert!(nothing.contains("no pending migration"), "{nothing}");
    // Nothing was written to the default SQLite file.
    assert!(!dir.path().join("durable.sqlite3").exists());

    runtime.block_on(async {
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("drop schema");
    });
}

#[test]
fn bench_smoke_runs_on_memory_and_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_durable-bench"))
        .args(["--smoke", "--backends", "memory,sqlite"])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("durable-bench runs");
    let out = ok(output);
    assert!(out.contains("smoke: OK, all "), "{out}");
    assert!(out.contains("| backend | case | median |"), "{out}");
    for backend in ["memory", "sqlite"] {
        for case in [
            "bulk enqueue, N=300",
            "one-by-one enqueue, N=300",
            "workflow 10×10 + 10 chains of 4: wall time",
            "latency, 20 tasks at 2–5 ms gaps: p99",
            "peak RSS during bulk N=300",
            "fan-out, 1 parent × 300 children: wall time",
            "fan-out, 1 parent × 300 children: peak RSS",
        ] {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(&format!("| {backend} | {case}"))),
                "no {backend} row for {case} in:\n{out}"
            );
        }
    }
    assert!(!out.contains("| postgres |"), "{out}");
    // The ceiling runs in the smoke run too, and every SQLite throughput
    // row carries its ratio to it (`0.53×`); the memory backend has none.
    let header = out
        .lines()
        .find(|l| l.starts_with("| backend | case |"))
        .unwrap_or_default();
    let of_ceiling = header
        .split('|')
        .position(|c| c.trim() == "of ceiling")
        .unwrap_or_else(|| panic!("no `of ceiling` column in:\n{out}"));
    let cell = |line: &str| {
        line.split('|')
            .nth(of_ceiling)
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let ceiling = out
        .lines()
        .find(|l| l.starts_with("| sqlite | ceiling: insert, claim, finish (closes) of 100"))
        .unwrap_or_else(|| panic!("no SQLite ceiling row in:\n{out}"));
    assert_eq!(cell(ceiling), "1.00×", "{ceiling}");
    let bulk = out
        .lines()
        .find(|l| l.starts_with("| sqlite | bulk enqueue, N=300 (tasks/s)"))
        .unwrap_or_default();
    let ratio = cell(bulk);
    let value: f64 = ratio
        .strip_suffix('×')
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("no ratio in {bulk}"));
    assert!(value > 0.0, "{bulk}");
    assert!(!out.contains("| memory | ceiling"), "{out}");
    let memory_bulk = out
        .lines()
        .find(|l| l.starts_with("| memory | bulk enqueue, N=300 (tasks/s)"))
        .unwrap_or_default();
    assert_eq!(cell(memory_bulk), "", "{memory_bulk}");
}

/// A libpq `key=value` string is PostgreSQL (it used to be taken as a
/// SQLite path), and no error ever shows its password.
#[test]
fn key_value_connection_strings_are_postgres_and_hide_the_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unreachable = "host=127.0.0.1 port=1 user=u password=hunter2 dbname=test";
    for command in ["status", "migrate", "pending-sql", "demo"] {
        let output = durable(dir.path(), &["--database", unreachable, command]);
        let err = stderr(&output);
        assert!(!err.contains("hunter2"), "{command}: {err}");
        assert!(!err.contains("SQLite"), "{command}: {err}");
        fails_with(
            output,
            "PostgreSQL host='127.0.0.1' port='1' user='u' password=***",
        );
    }
    // A typo in the first key still reads as PostgreSQL, password hidden.
    let output = durable(
        dir.path(),
        &[
            "--database",
            "usr=u password=hunter2 host=127.0.0.1",
            "status",
        ],
    );
    assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
    fails_with(output, "unknown option `usr`");
    // An unsupported sslmode is one clear error, password hidden.
    let output = durable(
        dir.path(),
        &[
            "--database",
            "host=127.0.0.1 password=hunter2 sslmode=allow",
            "status",
        ],
    );
    assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
    fails_with(output, "unsupported sslmode `allow`");
    // A password in a URL query parameter is hidden too.
    let output = durable(
        dir.path(),
        &[
            "--database",
            "postgres://127.0.0.1:1/test?user=u&password=hunter2",
            "status",
        ],
    );
    assert!(!stderr(&output).contains("hunter2"), "{}", stderr(&output));
    fails_with(output, "password=***");
    assert!(!dir.path().join("durable.sqlite3").exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("read dir").count(),
        0,
        "no SQLite file was created"
    );
}

/// The commands work on a real server through a `key=value` string.
#[test]
fn key_value_connection_string_runs_on_postgres() {
    let base: tokio_postgres::Config = postgres_url().parse().expect("DATABASE_URL parses");
    let host = match base.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = base.get_ports().first().copied().unwrap_or(5432);
    let user = base.get_user().unwrap_or("postgres");
    let dbname = base.get_dbname().unwrap_or("test");
    let (runtime, client, schema) = fresh_pg_schema("cli_kv");
    let conninfo = format!(
        "host={host} port={port} user={user} dbname={dbname} options='-c search_path={schema}'"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let migrated = ok(durable(dir.path(), &["--database", &conninfo, "migrate"]));
    assert!(migrated.contains("PostgreSQL host="), "{migrated}");
    assert!(migrated.contains("applied migration"), "{migrated}");
    let status = ok(durable(dir.path(), &["--database", &conninfo, "status"]));
    assert!(status.contains("PostgreSQL host="), "{status}");
    let tables = runtime.block_on(async {
        client
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'task_executions'",
                &[&schema],
            )
            .await
            .expect("query")
            .get::<_, i64>(0)
    });
    assert_eq!(tables, 1, "the table is in the schema of the options");
    assert!(!dir.path().join("durable.sqlite3").exists());
    runtime.block_on(async {
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("drop schema");
    });
}

/// `status` and `show` only read: they work on a database file (WAL mode,
/// no -wal/-shm present) in a directory nobody may write to, leave it
/// byte for byte as it was, and `status` reports rows with an unknown
/// status on their own line while printing everything else.
#[test]
fn status_and_show_read_an_unwritable_database_with_an_unknown_status() {
    use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};

    let dir = tempfile::tempdir().expect("tempdir");
    let db_dir = dir.path().join("db");
    std::fs::create_dir(&db_dir).expect("mkdir");
    let path = db_dir.join("ops.db");
    let new = |id: &str, task: &str| new_top_level(id, task, 1_700_000_000_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let storage = SqliteStorage::open(&path, SqliteOptions::default())
            .await
            .expect("open");
        storage
            .insert(&[
                new("te_a", "ops_one"),
                new("te_b", "ops_two"),
                new("te_c", "ops_two"),
                new("te_d", "ops_two"),
            ])
            .await
            .expect("insert");
    });
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(
        "UPDATE task_executions SET status = 'bogus' WHERE execution_id IN ('te_c', 'te_d')",
    )
    .expect("update");
    drop(conn);
    assert!(!db_dir.join("ops.db-wal").exists());
    let before = std::fs::read(&path).expect("read");
    let guard = Unwritable::new(&db_dir, &path);
    if !guard.effective {
        eprintln!("note: cannot make {} unwritable here", db_dir.display());
    }
    let db = path.to_str().expect("utf-8 path");

    let status = ok(durable(dir.path(), &["--database", db, "status"]));
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(lines[0], format!("SQLite file {db}"), "{status}");
    let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let table: Vec<String> = lines[1..5].iter().map(|l| words(l)).collect();
    assert_eq!(
        table,
        [
            "TASK STATUS COUNT",
            "ops_one ready 1",
            "ops_two ready 1",
            "total 2"
        ],
        "{status}"
    );
    assert_eq!(
        lines[5],
        "Unreadable: 2 executions of task ops_two with unknown status \"bogus\" (e.g. te_c).",
        "{status}"
    );
    assert!(
        lines[6].starts_with("Oldest ready execution: due "),
        "{status}"
    );
    assert_eq!(lines[7], "Expired leases: 0.", "{status}");
    assert_eq!(lines[8], "Stuck executions: 0.", "{status}");

    let shown = ok(durable(dir.path(), &["--database", db, "show", "te_a"]));
    assert!(shown.contains("execution  te_a"), "{shown}");
    assert!(shown.contains("status     ready"), "{shown}");

    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "the file changed"
    );
    if guard.effective {
        assert!(!db_dir.join("ops.db-wal").exists(), "a -wal file appeared");
        assert!(!db_dir.join("ops.db-shm").exists(), "a -shm file appeared");
    }
}

/// `durable wake` completes or fails a sleeping execution by its key,
/// says so when it already finished, and fails clearly for an unknown key
/// or an output that is not JSON.
#[test]
fn wake_completes_or_fails_a_sleeping_execution() {
    use durable_execution::model::NewExecution;
    use durable_execution::storage::{SqliteOptions, SqliteStorage, Storage};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sleeping.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let new = |id: &str, key: &str| NewExecution {
        timeout_ms: 3_600_000,
        sleeping_key: Some(key.to_owned()),
        ..new_top_level(id, "webhook", durable_execution::model::now_millis())
    };
    let storage = runtime.block_on(async {
        let storage = SqliteStorage::open(&path, SqliteOptions::default())
            .await
            .expect("open");
        storage
            .insert(&[new("te_paid", "order-1"), new("te_declined", "order-2")])
            .await
            .expect("insert");
        storage
    });
    let db = path.to_str().expect("utf-8 path");
    let wake = |args: &[&str]| {
        durable(
            dir.path(),
            &[&["--database", db, "wake"][..], args].concat(),
        )
    };
    let woke = ok(wake(&["webhook", "order-1", "--output", "{\"cents\":125}"]));
    assert!(
        woke.contains("Woke te_paid (webhook, key \"order-1\"): completed."),
        "{woke}"
    );
    let again = ok(wake(&["webhook", "order-1", "--error", "late"]));
    assert!(again.contains("already finished (completed)"), "{again}");
    let failed = ok(wake(&["webhook", "order-2", "--error", "card declined"]));
    assert!(
        failed.contains("te_declined") && failed.contains("failed"),
        "{failed}"
    );
    fails_with(
        wake(&["webhook", "order-3", "--output", "1"]),
        "no execution of sleeping task webhook has the key \"order-3\"",
    );
    fails_with(
        wake(&["webhook", "order-1", "--output", "{oops"]),
        "--output is not JSON",
    );
    let rows = runtime.block_on(async {
        storage
            .get(&["te_paid".to_owned(), "te_declined".to_owned()])
            .await
            .expect("get")
    });
    let rows: Vec<_> = rows.into_iter().map(|r| r.expect("readable")).collect();
    let paid = rows
        .iter()
        .find(|r| r.execution_id == "te_paid")
        .expect("paid");
    assert_eq!(paid.output.as_deref(), Some("{\"cents\":125}"));
    let declined = rows
        .iter()
        .find(|r| r.execution_id == "te_declined")
        .expect("declined");
    assert_eq!(
        declined.error.as_ref().map(|e| e.message.as_str()),
        Some("card declined")
    );
}

/// `durable prune`: a dry run counts every eligible tree and deletes
/// nothing; `--status` and `--older-than` select the trees; `--batch`
/// splits the deletion; an active tree is never deleted; `--json` reports
/// the counts.
#[test]
fn prune_deletes_old_finished_trees() {
    use durable_execution::model::{ExecutionError, ExecutionStatus, now_millis};
    use durable_execution::storage::{FinishItem, SqliteOptions, SqliteStorage, Storage};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prune.db");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let finished_at = now_millis() - 60_000;
    runtime.block_on(async {
        let storage = SqliteStorage::open(&path, SqliteOptions::default())
            .await
            .expect("open");
        let new = |id: &str| new_top_level(id, "job", finished_at - 1_000);
        let ids = ["te_done1", "te_done2", "te_done3", "te_failed", "te_active"];
        storage.insert(&ids.map(new)).await.expect("insert");
        let claimed = storage
            .claim_ready("ex", finished_at - 500, 10, 60_000, 60_000)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 5);
        let finish = |id: &str, status| FinishItem {
            execution_id: id.to_owned(),
            status,
            run_output: None,
            output: (status == ExecutionStatus::Completed).then(|| "1".to_owned()),
            error: (status != ExecutionStatus::Completed)
                .then(|| ExecutionError::generic("boom", false)),
            attempt: Some(0),
        };
        let items = [
            finish("te_done1", ExecutionStatus::Completed),
            finish("te_done2", ExecutionStatus::Completed),
            finish("te_done3", ExecutionStatus::Completed),
            finish("te_failed", ExecutionStatus::Failed),
        ];
        storage
            .finish("ex", finished_at, &items)
            .await
            .expect("finish");
        storage
            .close_finished(finished_at + 1, 100)
            .await
            .expect("close");
    });
    let db = path.to_str().expect("utf-8 path");
    let prune = |args: &[&str]| {
        let mut all = vec!["--database", db, "prune"];
        all.extend_from_slice(args);
        all.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>()
    };
    let run_json = |args: &[&str]| {
        let args = prune(args);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        durable_json(dir.path(), &refs)
    };
    let dry = run_json(&["--older-than", "30s", "--dry-run", "--json"]);
    assert_eq!(dry["dry_run"], true, "{dry}");
    assert_eq!(
        (dry["roots"].as_u64(), dry["executions"].as_u64()),
        (Some(4), Some(4)),
        "{dry}"
    );
    assert_eq!(dry["statuses"].as_array().map(Vec::len), Some(6), "{dry}");
    let human = ok(durable(
        dir.path(),
        &[
            "--database",
            db,
            "prune",
            "--older-than",
            "30s",
            "--dry-run",
        ],
    ));
    assert!(
        human.starts_with("Would delete 4 executions in 4 trees")
            && human.contains("nothing was deleted (dry run)"),
        "{human}"
    );
    // Too young for an age of 1 day.
    let none = run_json(&["--older-than", "1d", "--json"]);
    assert_eq!(
        (none["roots"].as_u64(), none["batches"].as_u64()),
        (Some(0), Some(0)),
        "{none}"
    );
    // Failures only.
    let failed = run_json(&["--older-than", "30s", "--status", "failed", "--json"]);
    assert_eq!(failed["roots"], 1, "{failed}");
    assert_eq!(
        failed["statuses"],
        serde_json::json!(["failed"]),
        "{failed}"
    );
    // The rest, one tree per batch.
    let rest = ok(durable(
        dir.path(),
        &[
            "--database",
            db,
            "prune",
            "--older-than",
            "30s",
            "--batch",
            "1",
        ],
    ));
    assert!(
        rest.starts_with("Deleted 3 executions in 3 trees") && rest.contains("in 3 batches."),
        "{rest}"
    );
    let status = durable_json(dir.path(), &["--database", db, "status", "--json"]);
    assert_eq!(
        status["total"], 1,
        "only the active execution is left: {status}"
    );
    let active = durable(
        dir.path(),
        &[
            "--database",
            db,
            "prune",
            "--older-than",
            "30s",
            "--status",
            "running",
        ],
    );
    assert!(!active.status.success());
    assert!(stderr(&active).contains("'running'"), "{}", stderr(&active));
    let bad_age = durable(
        dir.path(),
        &["--database", db, "prune", "--older-than", "7x"],
    );
    assert!(!bad_age.status.success());
    assert!(
        stderr(&bad_age).contains("is not an age"),
        "{}",
        stderr(&bad_age)
    );
}

/// The closed, finished trees of [`concurrent_prune_processes`]: 40
/// completed roots with 3 children each, finished a minute ago, plus one
/// closed root whose child is still `ready` (never eligible). One statement
/// list for both dialects.
fn prune_fill_sql() -> String {
    let f = durable_execution::model::now_millis() - 60_000;
    let cols = "execution_id, task_id, root_task_id, root_execution_id, parent_task_id, parent_execution_id, \
                index_in_parent, retry_options, sleep_ms_before_run, timeout_ms, input, output, status, \
                is_closed, start_at, finished_at, created_at, updated_at, children_count";
    format!(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 40)
         INSERT INTO task_executions ({cols})
         SELECT 'te_r' || n, 'tree', NULL, NULL, NULL, NULL, 0, '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
             'completed', true, {f} - 5, {f} - n, {f} - 10, {f}, 3 FROM g;
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 40),
             k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 2)
         INSERT INTO task_executions ({cols})
         SELECT 'te_r' || n || '_' || i, 'leaf', 'tree', 'te_r' || n, 'tree', 'te_r' || n, i,
             '{{\"max_attempts\":0}}', 0, 1000, 'null', '1', 'completed', true, {f} - 5, {f} - 6, {f} - 10, {f}, 0
         FROM g, k;
         INSERT INTO task_executions ({cols}) VALUES
             ('te_keep', 'tree', NULL, NULL, NULL, NULL, 0, '{{\"max_attempts\":0}}', 0, 1000, 'null', '1',
              'completed', true, {f} - 5, {f} - 100, {f} - 10, {f}, 1),
             ('te_keep_0', 'leaf', 'tree', 'te_keep', 'tree', 'te_keep', 0, '{{\"max_attempts\":0}}', 0, 1000, 'null', NULL,
              'ready', false, {f} - 5, NULL, {f} - 10, {f}, 0);"
    )
}

/// Three `durable prune` processes at once on one database (small batches,
/// so that their passes interleave) delete every eligible tree exactly
/// once: their reported counts add up to the 40 trees and 160 executions
/// there were, and only the tree with an unfinished child is left.
fn concurrent_prune_processes(dir: &Path, database: &str) {
    let children: Vec<std::process::Child> = (0..3)
        .map(|_| {
            Command::new(BIN)
                .args([
                    "--database",
                    database,
                    "prune",
                    "--older-than",
                    "1s",
                    "--batch",
                    "3",
                    "--json",
                ])
                .current_dir(dir)
                .env_remove("DATABASE_URL")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the durable binary runs")
        })
        .collect();
    let (mut roots, mut executions) = (0, 0);
    for child in children {
        let out = ok(child.wait_with_output().expect("prune exits"));
        let report: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
        roots += report["roots"].as_u64().expect("roots");
        executions += report["executions"].as_u64().expect("executions");
    }
    assert_eq!((roots, executions), (40, 160), "each tree deleted once");
    let status = durable_json(dir, &["--database", database, "status", "--json"]);
    assert_eq!(
        status["total"], 2,
        "only the unfinished tree is left: {status}"
    );
}

#[test]
fn concurrent_prune_processes_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prune.db");
    let db = path.to_str().expect("utf-8 path");
    ok(durable(dir.path(), &["--database", db, "migrate"]));
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.execute_batch(&prune_fill_sql()).expect("fill");
    drop(conn);
    concurrent_prune_processes(dir.path(), db);
}

#[test]
fn concurrent_prune_processes_on_postgres() {
    let (runtime, client, schema) = fresh_pg_schema("cli_prune");
    let url = url_in_schema(&schema);
    let dir = tempfile::tempdir().expect("tempdir");
    ok(durable(dir.path(), &["--database", &url, "migrate"]));
    runtime.block_on(async {
        client
            .batch_execute(&format!(
                "SET search_path TO {schema}; {}",
                prune_fill_sql()
            ))
            .await
            .expect("fill");
    });
    concurrent_prune_processes(dir.path(), &url);
    runtime.block_on(async {
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("drop schema");
    });
}
