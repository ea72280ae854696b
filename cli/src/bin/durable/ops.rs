//! `durable list`, `durable retry` and `durable prune`, the JSON shapes of `--json` (see the
//! README, "Command-line program") and the colour rule of human output.

use crate::db::{self, Open, Target};
use crate::tree::{self, Node};
use anyhow::{Context as _, Result};
use durable_execution::model::{ExecutionStatus, Loaded, Millis, TaskExecution, now_millis};
use durable_execution::storage::{ListCursor, ListFilter, PruneCutoff, PruneOutcome};
use serde_json::{Value, json};
use std::io::IsTerminal as _;

/// Whether human output is coloured: only on a terminal, and never when
/// `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
pub(crate) fn color() -> bool {
    color_for(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// The colour rule: a terminal, and `NO_COLOR` unset or empty.
fn color_for(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Prints `value` as one line of JSON.
pub(crate) fn print_json(value: &Value) -> Result<()> {
    outln!("{value}");
    Ok(())
}

/// The JSON of one execution (the `execution` shape of the README).
pub(crate) fn execution_json(execution: &TaskExecution) -> Value {
    let error = (execution.is_finished() && execution.status != ExecutionStatus::Completed)
        .then(|| execution.parent_facing_error().message);
    json!({
        "execution_id": execution.execution_id,
        "task_id": execution.task_id,
        "status": execution.status.as_str(),
        "parent_execution_id": execution.parent.as_ref().map(|p| &p.execution_id),
        "index_in_parent": execution.parent.as_ref().map(|p| p.index),
        "is_finalize": execution.parent.as_ref().is_some_and(|p| p.is_finalize),
        "attempt": execution.attempt,
        "runs": tree::runs(execution),
        "created_at": execution.created_at,
        "started_at": execution.started_at,
        "finished_at": execution.finished_at,
        "output": execution.output,
        "error": error,
    })
}

/// The JSON of a row that cannot be read.
fn loaded_json(row: &Loaded) -> Value {
    match row {
        Ok(execution) => execution_json(execution),
        Err(corrupt) => json!({
            "execution_id": corrupt.execution_id,
            "corrupt": { "column": corrupt.column, "message": corrupt.message },
        }),
    }
}

/// The JSON of a subtree: the execution with its `children`.
pub(crate) fn node_json(node: &Node) -> Value {
    let mut value = execution_json(&node.execution);
    if let Value::Object(map) = &mut value {
        map.insert(
            "children".to_owned(),
            node.children.iter().map(node_json).collect(),
        );
    }
    value
}

/// The filters and page of `durable list`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Only executions of this task.
    #[arg(long = "task", value_name = "TASK_ID")]
    task_id: Option<String>,
    /// Only these statuses (repeat or separate with commas).
    #[arg(long = "status", value_name = "STATUS", value_delimiter = ',', value_parser = status_parser())]
    statuses: Vec<ExecutionStatus>,
    /// Only top-level executions (no parent).
    #[arg(long)]
    root: bool,
    /// Only the children (and finalize) of this execution.
    #[arg(long, value_name = "EXECUTION_ID")]
    parent: Option<String>,
    /// Only executions created at or after this time (epoch milliseconds).
    #[arg(long, value_name = "EPOCH_MS")]
    created_from: Option<Millis>,
    /// Only executions created before this time (epoch milliseconds).
    #[arg(long, value_name = "EPOCH_MS")]
    created_to: Option<Millis>,
    /// Only executions finished at or after this time (epoch milliseconds).
    #[arg(long, value_name = "EPOCH_MS")]
    finished_from: Option<Millis>,
    /// Only executions finished before this time (epoch milliseconds).
    #[arg(long, value_name = "EPOCH_MS")]
    finished_to: Option<Millis>,
    /// Executions per page.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Where the page starts: the `next` cursor of the previous page.
    #[arg(long)]
    cursor: Option<String>,
}

/// `--status`: the statuses' names.
fn status_parser() -> impl clap::builder::TypedValueParser<Value = ExecutionStatus> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(ExecutionStatus::ALL.map(ExecutionStatus::as_str))
        .try_map(|name| name.parse::<ExecutionStatus>())
}

/// `durable list`: one page, newest first.
pub(crate) async fn list(target: &Target, args: ListArgs, as_json: bool) -> Result<()> {
    let storage = db::open(target, Open::ReadOnly).await?;
    let mut filter = ListFilter::new()
        .statuses(args.statuses)
        .root_only(args.root)
        .created(args.created_from, args.created_to)
        .finished(args.finished_from, args.finished_to);
    if let Some(task_id) = args.task_id {
        filter = filter.task_id(task_id);
    }
    if let Some(parent) = args.parent {
        filter = filter.parent(parent);
    }
    let cursor = args
        .cursor
        .as_deref()
        .map(ListCursor::decode)
        .transpose()
        .context("bad --cursor")?;
    let page = storage
        .list(&filter, cursor.as_ref(), args.limit)
        .await
        .context("cannot list the executions")?;
    let next = page.next.as_ref().map(ListCursor::encode);
    if as_json {
        return print_json(&json!({
            "executions": page.executions.iter().map(loaded_json).collect::<Vec<_>>(),
            "next": next,
        }));
    }
    if page.executions.is_empty() {
        outln!("No executions.");
        return Ok(());
    }
    let readable = || page.executions.iter().filter_map(|row| row.as_ref().ok());
    let task_width = readable()
        .map(|e| e.task_id.len())
        .max()
        .unwrap_or(0)
        .max(4);
    let status_width = readable()
        .map(|e| e.status.as_str().len())
        .max()
        .unwrap_or(0)
        .max(6);
    let color = color();
    outln!(
        "{:27}  {:task_width$}  {:status_width$}  RUNS  CREATED",
        "EXECUTION",
        "TASK",
        "STATUS"
    );
    for row in &page.executions {
        match row {
            Ok(e) => {
                let pad = status_width - e.status.as_str().len();
                outln!(
                    "{:27}  {:task_width$}  {}{:pad$}  {:>4}  {}",
                    e.execution_id,
                    e.task_id,
                    tree::paint(e.status, color),
                    "",
                    tree::runs(e),
                    tree::utc(e.created_at)
                );
            }
            Err(corrupt) => outln!("{:27}  (unreadable: {corrupt})", corrupt.execution_id),
        }
    }
    if let Some(next) = next {
        outln!("More: --cursor {next}");
    }
    Ok(())
}

/// `durable retry`: re-runs a finished top-level execution that did not
/// complete (see docs/design.md, "Operator retry").
pub(crate) async fn retry(target: &Target, execution_id: &str) -> Result<()> {
    let storage = db::open(target, Open::Existing).await?;
    let outcome = storage.rerun(now_millis(), execution_id).await?;
    outln!(
        "Retrying {execution_id}: back to ready for a fresh run (attempt 0); {} execution{} of its previous run deleted.",
        outcome.deleted_descendants,
        if outcome.deleted_descendants == 1 {
            ""
        } else {
            "s"
        }
    );
    outln!("An executor with its task registered runs it.");
    Ok(())
}

/// The arguments of `durable prune`.
#[derive(Debug, clap::Args)]
pub(crate) struct PruneArgs {
    /// Delete the trees whose top-level execution finished more than this
    /// long ago: a number and a unit, `d`, `h`, `m` or `s` (`7d`, `12h`,
    /// `30m`, `1d12h`).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    older_than: std::time::Duration,
    /// Only trees whose top-level execution finished in these statuses
    /// (repeat or separate with commas; default: every finished status).
    #[arg(long = "status", value_name = "STATUS", value_delimiter = ',', value_parser = finished_status_parser())]
    statuses: Vec<ExecutionStatus>,
    /// Count what would be deleted (every eligible tree), delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Trees deleted per transaction (1 to 100000).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batch: u32,
}

/// `--older-than`: `<number><unit>` pieces, units `d`, `h`, `m`, `s`.
fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("`{text}` is not an age such as 7d, 12h, 30m, 45s or 1d12h");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() || text.trim().is_empty() {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

/// `--status` of `durable prune`: finished statuses only.
fn finished_status_parser() -> impl clap::builder::TypedValueParser<Value = ExecutionStatus> {
    use clap::builder::TypedValueParser as _;
    let finished: Vec<&'static str> = ExecutionStatus::ALL
        .into_iter()
        .filter(|s| s.is_finished())
        .map(ExecutionStatus::as_str)
        .collect();
    clap::builder::PossibleValuesParser::new(finished)
        .try_map(|name| name.parse::<ExecutionStatus>())
}

/// `durable prune`: deletes (or counts, with `--dry-run`) the finished
/// trees past the age, in batches (see docs/design.md, "Retention").
pub(crate) async fn prune(target: &Target, args: PruneArgs, as_json: bool) -> Result<()> {
    let mode = if args.dry_run {
        Open::ReadOnly
    } else {
        Open::Existing
    };
    let storage = db::open(target, mode).await?;
    let statuses: Vec<ExecutionStatus> = if args.statuses.is_empty() {
        ExecutionStatus::ALL
            .into_iter()
            .filter(|s| s.is_finished())
            .collect()
    } else {
        args.statuses
    };
    // One cutoff for the whole run, so that it ends: what finishes
    // meanwhile is younger than the age.
    let age_ms = u64::try_from(args.older_than.as_millis()).unwrap_or(u64::MAX);
    let now = now_millis();
    let cutoffs: Vec<PruneCutoff> = statuses
        .iter()
        .map(|status| PruneCutoff::older_than(*status, now, age_ms))
        .collect();
    let finished_before = cutoffs.first().map_or(now, |c| c.finished_before);
    let mut total = PruneOutcome::default();
    let mut batches = 0u64;
    if args.dry_run {
        total = storage
            .prune(&cutoffs, u32::MAX, None, true)
            .await
            .context("cannot count the executions to prune")?;
    } else {
        // One pass: each batch resumes after the previous one's last root.
        let mut after = None;
        loop {
            let outcome = storage
                .prune(&cutoffs, args.batch, after, false)
                .await
                .with_context(|| {
                    format!(
                        "cannot prune (after {} execution{} in {} tree{} deleted)",
                        total.executions,
                        plural(total.executions),
                        total.roots,
                        plural(total.roots)
                    )
                })?;
            if outcome.roots > 0 {
                batches += 1;
            }
            total.add(outcome);
            after = outcome.next;
            if after.is_none() {
                break;
            }
        }
    }
    if as_json {
        return print_json(&json!({
            "dry_run": args.dry_run,
            "finished_before": finished_before,
            "statuses": statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "roots": total.roots,
            "executions": total.executions,
            "batches": batches,
        }));
    }
    let what = format!(
        "{} execution{} in {} tree{} (top-level executions finished before {})",
        total.executions,
        plural(total.executions),
        total.roots,
        plural(total.roots),
        tree::utc(finished_before)
    );
    if args.dry_run {
        outln!("Would delete {what}; nothing was deleted (dry run).");
    } else {
        outln!(
            "Deleted {what}, in {batches} batch{}.",
            if batches == 1 { "" } else { "es" }
        );
    }
    Ok(())
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_units() {
        let secs = |s: &str| parse_age(s).map(|d| d.as_secs());
        assert_eq!(secs("7d"), Ok(7 * 86_400));
        assert_eq!(secs("12h"), Ok(12 * 3_600));
        assert_eq!(secs("30m"), Ok(1_800));
        assert_eq!(secs("45s"), Ok(45));
        assert_eq!(secs("1d12h"), Ok(129_600));
        assert_eq!(secs("0s"), Ok(0));
        for bad in ["", "7", "d", "7x", "1.5h", "-1d", "99999999999999999999d"] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(color_for(true, None));
        assert!(color_for(true, Some(OsStr::new(""))));
        assert!(!color_for(true, Some(OsStr::new("1"))));
        assert!(!color_for(false, None));
    }

    #[test]
    fn execution_json_has_the_documented_keys() {
        let value = execution_json(&TaskExecution {
            execution_id: "te_1".into(),
            task_id: "t".into(),
            ..TaskExecution::default()
        });
        let mut keys: Vec<&str> = value
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        let mut expected = [
            "attempt",
            "created_at",
            "error",
            "execution_id",
            "finished_at",
            "index_in_parent",
            "is_finalize",
            "output",
            "parent_execution_id",
            "runs",
            "started_at",
            "status",
            "task_id",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }
}
