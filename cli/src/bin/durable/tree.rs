//! Reading an execution with its whole subtree, and printing it.

use anyhow::{Context as _, Result};
use durable_execution::model::{ExecutionStatus, Millis, TaskExecution, now_millis};
use durable_execution::storage::{ListCursor, ListFilter, Storage};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Executions read at most per subtree (a guard against huge fan-outs).
const MAX_NODES: usize = 5_000;

/// One execution and its children (spawn order, finalize last).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) execution: TaskExecution,
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// Every execution of the subtree, depth first.
    pub(crate) fn walk(&self) -> Vec<&TaskExecution> {
        let mut out = vec![&self.execution];
        for child in &self.children {
            out.extend(child.walk());
        }
        out
    }

    /// Whether every execution of the subtree has a finished status.
    pub(crate) fn all_finished(&self) -> bool {
        self.walk().iter().all(|e| e.is_finished())
    }
}

/// Reads one execution; `None` when the id does not exist.
pub(crate) async fn get_one(
    storage: &dyn Storage,
    execution_id: &str,
) -> Result<Option<TaskExecution>> {
    let rows = storage
        .get(&[execution_id.to_owned()])
        .await
        .context("cannot read the execution")?;
    match rows.into_iter().next() {
        None => Ok(None),
        Some(row) => Ok(Some(row.context("the stored execution is corrupt")?)),
    }
}

/// Reads the execution `execution_id` with its subtree; `None` when the id
/// does not exist.
pub(crate) async fn load(storage: &dyn Storage, execution_id: &str) -> Result<Option<Node>> {
    let Some(root) = get_one(storage, execution_id).await? else {
        return Ok(None);
    };
    let mut children: HashMap<String, Vec<TaskExecution>> = HashMap::new();
    let mut stack = vec![(root.execution_id.clone(), has_children(&root))];
    let mut count = 1;
    while let Some((id, has)) = stack.pop() {
        if !has || count >= MAX_NODES {
            continue;
        }
        let rows = children_of(storage, &id)
            .await
            .with_context(|| format!("cannot read the children of {id}"))?;
        let mut kids = Vec::with_capacity(rows.len());
        for row in rows {
            let child = row.context("a stored child execution is corrupt")?;
            stack.push((child.execution_id.clone(), has_children(&child)));
            kids.push(child);
            count += 1;
        }
        children.insert(id, kids);
    }
    Ok(Some(build(root, &mut children)))
}

/// Every child (and the finalize) of `parent`, through
/// [`Storage::list`]'s parent filter page by page, in spawn order (finalize
/// last; unreadable rows first).
async fn children_of(
    storage: &dyn Storage,
    parent: &str,
) -> durable_execution::storage::StorageResult<Vec<durable_execution::model::Loaded>> {
    let filter = ListFilter::new().parent(parent);
    let mut rows = Vec::new();
    let mut cursor: Option<ListCursor> = None;
    loop {
        let page = storage.list(&filter, cursor.as_ref(), 1_000).await?;
        rows.extend(page.executions);
        match page.next {
            Some(next) if rows.len() < MAX_NODES => cursor = Some(next),
            _ => break,
        }
    }
    rows.sort_by_key(|row| {
        row.as_ref()
            .ok()
            .and_then(|e| e.parent.as_ref())
            .map(|p| (p.is_finalize, p.index))
    });
    Ok(rows)
}

fn has_children(execution: &TaskExecution) -> bool {
    execution.children_count > 0 || execution.finalize_execution_id.is_some()
}

fn build(execution: TaskExecution, children: &mut HashMap<String, Vec<TaskExecution>>) -> Node {
    let kids = children.remove(&execution.execution_id).unwrap_or_default();
    Node {
        children: kids.into_iter().map(|k| build(k, children)).collect(),
        execution,
    }
}

/// How many runs an execution has had so far.
pub(crate) fn runs(execution: &TaskExecution) -> u32 {
    if execution.status == ExecutionStatus::Ready || execution.started_at.is_none() {
        execution.attempt
    } else {
        execution.attempt + 1
    }
}

/// Formats milliseconds: `850 ms`, `1.24 s`, `3m05s`.
pub(crate) fn human_ms(ms: Millis) -> String {
    let ms = ms.max(0);
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.2} s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// Formats epoch milliseconds as UTC: `2026-11-26 04:54:20.123 UTC`.
pub(crate) fn utc(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{millis:03} UTC",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Duration of an execution: from its first start (or creation) to its end
/// (or now, while active).
pub(crate) fn duration_ms(execution: &TaskExecution, now: Millis) -> Millis {
    let from = execution.started_at.unwrap_or(execution.created_at);
    let to = execution.finished_at.unwrap_or(now);
    to - from
}

/// Options of [`render`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Style {
    /// ANSI colours for statuses.
    pub(crate) color: bool,
    /// Print errors under failed executions.
    pub(crate) errors: bool,
    /// Print the execution ids.
    pub(crate) ids: bool,
}

/// The status, coloured when `color`.
pub(crate) fn paint(status: ExecutionStatus, color: bool) -> String {
    let text = status.as_str();
    if !color {
        return text.to_owned();
    }
    let code = match status {
        ExecutionStatus::Completed => "32",
        ExecutionStatus::Running => "33",
        ExecutionStatus::Ready => "36",
        ExecutionStatus::WaitingForChildrenTasks | ExecutionStatus::WaitingForFinalizeTask => "34",
        _ => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Renders the subtree, one execution per line:
/// `task_id  [execution id]  status  runs  duration`.
pub(crate) fn render(node: &Node, style: Style) -> String {
    let now = now_millis();
    let mut rows: Vec<(String, String, &TaskExecution)> = Vec::new();
    collect(node, String::new(), String::new(), &mut rows);
    let name_width = rows
        .iter()
        .map(|(label, _, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let status_width = rows
        .iter()
        .map(|(_, _, e)| e.status.as_str().len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, under, execution) in rows {
        let pad = name_width - label.chars().count();
        let status = paint(execution.status, style.color);
        let status_pad = status_width - execution.status.as_str().len();
        let _ = write!(out, "{label}{:pad$}  ", "");
        if style.ids {
            let _ = write!(out, "{}  ", execution.execution_id);
        }
        let runs = runs(execution);
        let _ = write!(
            out,
            "{status}{:status_pad$}  {runs} run{}  {:>8}",
            "",
            if runs == 1 { " " } else { "s" },
            if execution.started_at.is_some() || execution.is_finished() {
                human_ms(duration_ms(execution, now))
            } else {
                "-".to_owned()
            },
        );
        out.push('\n');
        if style.errors
            && execution.status == ExecutionStatus::Completed
            && runs > 1
            && let Some(error) = &execution.error
        {
            let _ = writeln!(
                out,
                "{under}   ↻ an earlier attempt failed: {}",
                error.message.lines().next().unwrap_or_default()
            );
        }
        if style.errors && execution.status != ExecutionStatus::Completed && execution.is_finished()
        {
            let error = execution.parent_facing_error();
            for (i, line) in error.message.lines().enumerate() {
                let head = if i == 0 {
                    format!("! {}: ", error.kind_str())
                } else {
                    "    ".to_owned()
                };
                let _ = writeln!(out, "{under}   {head}{}", line.trim());
            }
        }
    }
    out
}

fn collect<'a>(
    node: &'a Node,
    prefix: String,
    child_prefix: String,
    rows: &mut Vec<(String, String, &'a TaskExecution)>,
) {
    let execution = &node.execution;
    let role = match &execution.parent {
        Some(parent) if parent.is_finalize => " (finalize)".to_owned(),
        Some(parent) => format!(" #{}", parent.index),
        None => String::new(),
    };
    rows.push((
        format!("{prefix}{}{role}", execution.task_id),
        child_prefix.clone(),
        execution,
    ));
    let last = node.children.len().saturating_sub(1);
    for (i, child) in node.children.iter().enumerate() {
        let (branch, rest) = if i == last {
            ("└─ ", "   ")
        } else {
            ("├─ ", "│  ")
        };
        collect(
            child,
            format!("{child_prefix}{branch}"),
            format!("{child_prefix}{rest}"),
            rows,
        );
    }
}

/// Short name of an error kind.
trait KindStr {
    fn kind_str(&self) -> &'static str;
}

impl KindStr for durable_execution::model::ExecutionError {
    fn kind_str(&self) -> &'static str {
        use durable_execution::model::ErrorKind;
        match self.kind {
            ErrorKind::Generic => "error",
            ErrorKind::NotFound => "not found",
            ErrorKind::TimedOut => "timed out",
            ErrorKind::Cancelled => "cancelled",
            #[allow(unreachable_patterns)]
            _ => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        assert_eq!(utc(0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(utc(951_782_400_123), "2000-02-29 00:00:00.123 UTC");
        assert_eq!(utc(1_795_668_848_766), "2026-11-26 04:54:08.766 UTC");
        assert_eq!(human_ms(850), "850 ms");
        assert_eq!(human_ms(1_240), "1.24 s");
        assert_eq!(human_ms(185_000), "3m05s");
    }
}
