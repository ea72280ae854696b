//! The operator commands: ddl, migrate, pending-sql, schema check, status, show, cancel,
//! wake (list and retry: [`crate::ops`]).

use crate::db::{self, Open, Target};
use crate::tree::{self, Style};
use anyhow::{Context as _, Result, bail};
use durable_execution::migrate::{self, Dialect};
use durable_execution::model::{ExecutionError, now_millis};
use durable_execution::storage::{CancelItem, Wake};
use serde_json::json;

/// The current PostgreSQL schema, generated from the spec.
pub(crate) const POSTGRES_DDL: &str = include_str!("../../../../generated/schema/postgres.sql");
/// The current SQLite schema, generated from the spec.
pub(crate) const SQLITE_DDL: &str = include_str!("../../../../generated/schema/sqlite.sql");

/// `durable ddl`.
pub(crate) fn ddl(dialect: Dialect) -> Result<()> {
    match dialect {
        Dialect::Postgres => out!("{POSTGRES_DDL}"),
        Dialect::Sqlite => out!("{SQLITE_DDL}"),
    }
    Ok(())
}

/// `durable migrate [--to VERSION]`.
pub(crate) async fn run_migrate(target: &Target, to: Option<i64>, as_json: bool) -> Result<()> {
    let report = match target {
        Target::Sqlite(path) => {
            db::check_parent_dir(path)?;
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> Result<_> {
                let mut conn = rusqlite::Connection::open(&path)
                    .with_context(|| format!("cannot open SQLite file {}", path.display()))?;
                Ok(match to {
                    Some(to) => migrate::migrate_sqlite_to(&mut conn, to)?,
                    None => migrate::migrate_sqlite(&mut conn)?,
                })
            })
            .await??
        }
        Target::Postgres(url) => {
            let mut client = db::pg_client(url).await?;
            match to {
                Some(to) => migrate::migrate_postgres_to(&mut client, to).await?,
                None => migrate::migrate_postgres(&mut client).await?,
            }
        }
    };
    if as_json {
        return crate::ops::print_json(&json!({
            "database": target.describe(),
            "applied": report.applied,
            "current_version": report.current_version,
        }));
    }
    if report.applied.is_empty() {
        outln!(
            "{}: already at version {}; nothing to apply.",
            target.describe(),
            report.current_version
        );
    } else {
        let versions: Vec<String> = report.applied.iter().map(i64::to_string).collect();
        outln!(
            "{}: applied migration{} {}; now at version {}.",
            target.describe(),
            if versions.len() == 1 { "" } else { "s" },
            versions.join(", "),
            report.current_version
        );
    }
    Ok(())
}

/// Runs `f` on a read-only connection to the SQLite file `path`, off the
/// async runtime.
async fn with_read_only_sqlite<T: Send + 'static>(
    path: &std::path::Path,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
) -> Result<T> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .with_context(|| format!("cannot open SQLite file {}", path.display()))?;
        f(&conn)
    })
    .await?
}

/// `durable pending-sql`: what `migrate` would run, executing nothing.
pub(crate) async fn pending_sql(target: &Target, as_json: bool) -> Result<()> {
    let sql = match target {
        Target::Sqlite(path) if !path.exists() => {
            migrate::pending_sql(Dialect::Sqlite, &migrate::sqlite_migrations(), &[], true)?
        }
        Target::Sqlite(path) => {
            with_read_only_sqlite(path, |conn| Ok(migrate::pending_sql_sqlite(conn)?)).await?
        }
        Target::Postgres(url) => {
            let client = db::pg_client(url).await?;
            migrate::pending_sql_postgres(&client).await?
        }
    };
    if as_json {
        return crate::ops::print_json(&json!({
            "database": target.describe(),
            "pending": !sql.trim().is_empty(),
            "sql": sql,
        }));
    }
    if sql.trim().is_empty() {
        outln!(
            "-- {}: no pending migration; the schema is up to date.",
            target.describe()
        );
    } else {
        out!("{sql}");
    }
    Ok(())
}

/// `durable schema check`: the differences between the database's catalog
/// and this build's schema file; an error (non-zero exit) when there is one.
pub(crate) async fn schema_check(target: &Target) -> Result<()> {
    use durable_execution::schema_check;
    let differences = match target {
        Target::Sqlite(path) => {
            if !path.exists() {
                bail!(
                    "SQLite file {} does not exist; create it with `durable migrate`",
                    path.display()
                );
            }
            with_read_only_sqlite(path, |conn| Ok(schema_check::check_sqlite(conn)?)).await?
        }
        Target::Postgres(url) => {
            let mut client = db::pg_client(url).await?;
            schema_check::check_postgres(&mut client).await?
        }
    };
    if differences.is_empty() {
        outln!(
            "{}: table {} matches the schema file.",
            target.describe(),
            schema_check::TABLE
        );
        return Ok(());
    }
    for difference in &differences {
        outln!("{difference}");
    }
    bail!(
        "{}: {} difference{} from the schema file",
        target.describe(),
        differences.len(),
        if differences.len() == 1 { "" } else { "s" }
    )
}

/// `durable status`.
pub(crate) async fn status(target: &Target, as_json: bool) -> Result<()> {
    let storage = db::open(target, Open::ReadOnly).await?;
    let now = now_millis();
    let stats = storage
        .stats(now)
        .await
        .context("cannot read the statistics")?;
    if as_json {
        let counts: Vec<_> = stats
            .counts
            .iter()
            .map(|(task, status, count)| {
                json!({ "task_id": task, "status": status.as_str(), "count": count })
            })
            .collect();
        let unreadable: Vec<_> = stats
            .unreadable
            .iter()
            .map(|g| {
                json!({
                    "task_id": g.task_id,
                    "status": g.status,
                    "count": g.count,
                    "example_execution_id": g.example_execution_id,
                })
            })
            .collect();
        return crate::ops::print_json(&json!({
            "database": target.describe(),
            "now": now,
            "counts": counts,
            "total": stats.counts.iter().map(|(_, _, n)| n).sum::<u64>(),
            "unreadable": unreadable,
            "oldest_ready_start_at": stats.oldest_ready_start_at,
            "expired_leases": stats.expired_leases,
            "stuck": {
                "running_without_lease": stats.stuck.running_without_lease,
                "missing_finalize": stats.stuck.missing_finalize,
            },
        }));
    }
    outln!("{}", target.describe());
    if stats.counts.is_empty() && stats.unreadable.is_empty() {
        outln!("No executions.");
    } else if !stats.counts.is_empty() {
        let task_width = stats
            .counts
            .iter()
            .map(|(task, _, _)| task.len())
            .max()
            .unwrap_or(0)
            .max("TASK".len());
        let status_width = stats
            .counts
            .iter()
            .map(|(_, status, _)| status.as_str().len())
            .max()
            .unwrap_or(0)
            .max("STATUS".len());
        outln!(
            "{:task_width$}  {:status_width$}  {:>9}",
            "TASK",
            "STATUS",
            "COUNT"
        );
        let mut total = 0;
        for (task, status, count) in &stats.counts {
            outln!(
                "{task:task_width$}  {:status_width$}  {count:>9}",
                status.as_str()
            );
            total += count;
        }
        outln!("{:task_width$}  {:status_width$}  {total:>9}", "total", "");
    }
    // Rows that cannot be counted under a known status: one line per group,
    // after the table (the rest of the output is unaffected).
    for group in &stats.unreadable {
        outln!(
            "Unreadable: {} execution{} of task {} with unknown status {:?} (e.g. {}).",
            group.count,
            if group.count == 1 { "" } else { "s" },
            group.task_id,
            group.status,
            group
                .example_execution_id
                .as_deref()
                .unwrap_or("no id readable")
        );
    }
    match stats.oldest_ready_start_at {
        Some(start_at) if start_at <= now => outln!(
            "Oldest ready execution: due {} ago.",
            tree::human_ms(now - start_at)
        ),
        Some(start_at) => outln!(
            "Oldest ready execution: due in {}.",
            tree::human_ms(start_at - now)
        ),
        None => outln!("Oldest ready execution: none."),
    }
    outln!("Expired leases: {}.", stats.expired_leases);
    // Rows that would hang without the executors' maintenance check, which
    // repairs or ends them at every lease check (docs/design.md, "Leases and
    // fencing").
    let stuck = stats.stuck;
    if stuck.total() == 0 {
        outln!("Stuck executions: 0.");
    } else {
        outln!(
            "Stuck executions: {} ({} running without a lease deadline, {} waiting for a finalize that does not exist); a running executor repairs or ends them.",
            stuck.total(),
            stuck.running_without_lease,
            stuck.missing_finalize
        );
    }
    Ok(())
}

/// `durable show`.
pub(crate) async fn show(target: &Target, execution_id: &str, as_json: bool) -> Result<()> {
    let storage = db::open(target, Open::ReadOnly).await?;
    let Some(node) = tree::load(storage.as_ref(), execution_id).await? else {
        bail!(
            "no execution with id {execution_id} in {}",
            target.describe()
        );
    };
    if as_json {
        return crate::ops::print_json(&crate::ops::node_json(&node));
    }
    let execution = &node.execution;
    let fmt_time = |ms: Option<i64>| {
        ms.map_or_else(
            || "-".to_owned(),
            |ms| {
                format!(
                    "{} ({} ago)",
                    tree::utc(ms),
                    tree::human_ms(now_millis() - ms)
                )
            },
        )
    };
    outln!("execution  {}", execution.execution_id);
    outln!("task       {}", execution.task_id);
    if let Some(parent) = &execution.parent {
        outln!(
            "parent     {} ({}){}",
            parent.execution_id,
            parent.task_id,
            if parent.is_finalize {
                ", as its finalize".to_owned()
            } else {
                format!(", child #{}", parent.index)
            }
        );
    }
    outln!("status     {}", execution.status);
    outln!("runs       {}", tree::runs(execution));
    outln!("created    {}", fmt_time(Some(execution.created_at)));
    outln!("started    {}", fmt_time(execution.started_at));
    outln!("finished   {}", fmt_time(execution.finished_at));
    if let Some(output) = &execution.output {
        outln!("output     {}", truncate(output, 200));
    }
    if execution.is_finished()
        && execution.status != durable_execution::model::ExecutionStatus::Completed
    {
        let error = execution.parent_facing_error();
        outln!(
            "error      {}",
            error.message.replace('\n', "\n           ")
        );
    }
    outln!();
    out!(
        "{}",
        tree::render(
            &node,
            Style {
                color: crate::ops::color(),
                errors: true,
                ids: true,
            }
        )
    );
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}… ({} bytes)", text.len())
    }
}

/// `durable cancel`.
pub(crate) async fn cancel(target: &Target, execution_id: &str) -> Result<()> {
    let storage = db::open(target, Open::Existing).await?;
    let Some(execution) = tree::get_one(storage.as_ref(), execution_id).await? else {
        bail!(
            "no execution with id {execution_id} in {}",
            target.describe()
        );
    };
    if execution.is_finished() {
        bail!(
            "cannot cancel execution {execution_id} ({}): it is already finished ({}); nothing was changed",
            execution.task_id,
            execution.status
        );
    }
    let cancelled = storage
        .cancel(
            now_millis(),
            &[CancelItem {
                execution_id: execution_id.to_owned(),
                error: ExecutionError::cancelled("Task cancelled from the command line"),
                include_self: true,
            }],
        )
        .await
        .context("cannot cancel")?;
    outln!(
        "Cancelled {execution_id} ({}): {} execution{} in its subtree.",
        execution.task_id,
        cancelled.len(),
        if cancelled.len() == 1 { "" } else { "s" }
    );
    if execution.status == durable_execution::model::ExecutionStatus::Running {
        outln!("Its executor stops the running code at its next cancellation check.");
    }
    Ok(())
}

/// `durable wake`: [`Storage::wake`](durable_execution::storage::Storage::wake)
/// with `--output` (JSON, checked) or `--error`.
pub(crate) async fn wake(
    target: &Target,
    task_id: &str,
    key: &str,
    output: Option<String>,
    error: Option<String>,
) -> Result<()> {
    let wake = match (output, error) {
        (Some(output), None) => {
            serde_json::from_str::<serde_json::Value>(&output)
                .with_context(|| format!("--output is not JSON: {output}"))?;
            Wake::Completed { output }
        }
        (None, Some(message)) => Wake::Failed {
            error: ExecutionError::generic(message, false),
        },
        _ => bail!("give exactly one of --output JSON and --error MESSAGE"),
    };
    let storage = db::open(target, Open::Existing).await?;
    let Some(found) = storage
        .wake(task_id, key, now_millis(), &wake)
        .await
        .context("cannot wake")?
    else {
        bail!(
            "no execution of sleeping task {task_id} has the key {key:?} in {}",
            target.describe()
        );
    };
    let execution = found.execution;
    if found.woken {
        outln!(
            "Woke {} ({task_id}, key {key:?}): {}.",
            execution.execution_id,
            execution.status
        );
    } else {
        outln!(
            "Execution {} ({task_id}, key {key:?}) is already finished ({}); nothing to wake.",
            execution.execution_id,
            execution.status
        );
    }
    Ok(())
}
