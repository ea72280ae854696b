//! Conversions between database rows and the model, shared by the SQL
//! backends.
//!
//! A backend turns its driver's row into a [`RawRow`] (plain column values,
//! JSON columns either as text (SQLite) or as a parsed value (PostgreSQL)),
//! then [`RawRow::into_loaded`] checks every column: a row that cannot be
//! converted becomes a [`CorruptRow`] naming the execution and the column,
//! never a panic. In the other direction, the `*_json` functions encode the
//! JSON-array parameters that let every batch operation run as one
//! statement.

use super::{
    Advance, AdvanceItem, CancelItem, ChildOutput, FinishItem, RetryItem, RunRef, StorageError,
    WaitItem,
};
use crate::model::{
    ChildError, CorruptRow, ExecutionError, ExecutionRef, ExecutionStatus, Loaded, NewExecution,
    ParentRef, RetryOptions, TaskExecution,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A JSON column as the driver returns it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawJson {
    /// JSON text (SQLite stores JSON as TEXT).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Text(String),
    /// An already parsed value (PostgreSQL `jsonb`).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Value(Value),
}

impl RawJson {
    fn decode<T: DeserializeOwned>(
        self,
        execution_id: &str,
        column: &'static str,
    ) -> Result<T, CorruptRow> {
        let result = match self {
            Self::Text(text) => serde_json::from_str(&text),
            Self::Value(value) => serde_json::from_value(value),
        };
        result.map_err(|e| CorruptRow {
            execution_id: execution_id.to_owned(),
            column,
            message: format!("invalid JSON: {e}"),
        })
    }
}

impl Default for RawJson {
    /// JSON `null` (the base of [`RawRow`] literals in tests).
    fn default() -> Self {
        Self::Value(Value::Null)
    }
}

/// `RawRow` (every column of one `task_executions` row except the surrogate
/// key, as plain values), `COLUMNS`, and the moves from both drivers' typed
/// rows into it: generated from the spec by build.rs (`OUT_DIR/rows.rs`).
/// The one hand-written conversion is [`RawRow::into_loaded`]: a column
/// added to the spec reaches `RawRow` from both backends by itself, and
/// appears on the model once `into_loaded` maps it onto a
/// [`TaskExecution`] field.
#[allow(dead_code, unreachable_pub, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/rows.rs"));
}

pub(crate) use generated::RawRow;

fn corrupt(execution_id: &str, column: &'static str, message: impl Into<String>) -> CorruptRow {
    CorruptRow {
        execution_id: execution_id.to_owned(),
        column,
        message: message.into(),
    }
}

fn unsigned<T: TryFrom<V>, V: Copy + std::fmt::Display>(
    execution_id: &str,
    column: &'static str,
    value: V,
) -> Result<T, CorruptRow> {
    T::try_from(value).map_err(|_| {
        corrupt(
            execution_id,
            column,
            format!("{value} is negative or out of range"),
        )
    })
}

/// Pairs two nullable columns that must be both set or both null.
fn pair(
    execution_id: &str,
    column: &'static str,
    a: Option<String>,
    b: Option<String>,
) -> Result<Option<(String, String)>, CorruptRow> {
    match (a, b) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        _ => Err(corrupt(
            execution_id,
            column,
            "task id and execution id must be both set or both null",
        )),
    }
}

impl RawRow {
    /// The execution id of the row (readable even when the row is corrupt).
    pub(crate) fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// Checks and converts every column: the one hand-written conversion
    /// of a row, where a column added to the spec (and so to `RawRow`) is
    /// mapped onto its [`TaskExecution`] field. Every field is named (no
    /// `..`), so a model field without a column fails the build here.
    pub(crate) fn into_loaded(self) -> Loaded {
        let id = self.execution_id.as_str();
        let status: ExecutionStatus = self
            .status
            .parse()
            .map_err(|e: crate::model::UnknownStatus| corrupt(id, "status", e.to_string()))?;
        let root = pair(
            id,
            "root_execution_id",
            self.root_task_id,
            self.root_execution_id,
        )?
        .map(|(task_id, execution_id)| ExecutionRef {
            task_id,
            execution_id,
        });
        let index: u32 = unsigned(id, "index_in_parent", self.index_in_parent)?;
        let parent = pair(
            id,
            "parent_execution_id",
            self.parent_task_id,
            self.parent_execution_id,
        )?
        .map(|(task_id, execution_id)| ParentRef {
            task_id,
            execution_id,
            index,
            is_finalize: self.is_finalize,
            parent_decides: self.parent_decides,
        });
        let retry_options: RetryOptions = self.retry_options.decode(id, "retry_options")?;
        let children_errors: Vec<ChildError> = match self.children_errors {
            Some(raw) => raw.decode::<Option<Vec<ChildError>>>(id, "children_errors")?,
            None => None,
        }
        .unwrap_or_default();
        let finalize_error: Option<ExecutionError> = match self.finalize_error {
            Some(raw) => raw.decode(id, "finalize_error")?,
            None => None,
        };
        let error: Option<ExecutionError> = match self.error {
            Some(raw) => raw.decode(id, "error")?,
            None => None,
        };
        Ok(TaskExecution {
            sleep_ms_before_run: unsigned(id, "sleep_ms_before_run", self.sleep_ms_before_run)?,
            timeout_ms: unsigned(id, "timeout_ms", self.timeout_ms)?,
            children_count: unsigned(id, "children_count", self.children_count)?,
            active_children_count: unsigned(
                id,
                "active_children_count",
                self.active_children_count,
            )?,
            attempt: unsigned(id, "attempt", self.attempt)?,
            execution_id: self.execution_id,
            task_id: self.task_id,
            root,
            parent,
            retry_options,
            input: self.input,
            run_output: self.run_output,
            output: self.output,
            finalize_execution_id: self.finalize_execution_id,
            children_errors,
            finalize_error,
            error,
            status,
            is_closed: self.is_closed,
            needs_cancel: self.needs_cancel,
            executor_id: self.executor_id,
            start_at: self.start_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            expires_at: self.expires_at,
            heartbeat_expires_at: self.heartbeat_expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            waiting_for_children_started_at: self.waiting_for_children_started_at,
            waiting_for_finalize_started_at: self.waiting_for_finalize_started_at,
            closed_at: self.closed_at,
            sleeping_key: self.sleeping_key,
        })
    }
}

fn to_i64(what: &'static str, value: u64) -> Result<i64, StorageError> {
    i64::try_from(value).map_err(|_| StorageError::Encode {
        what,
        message: format!("{value} does not fit a signed 64-bit column"),
    })
}

fn to_value<T: serde::Serialize>(what: &'static str, value: &T) -> Result<Value, StorageError> {
    serde_json::to_value(value).map_err(|e| StorageError::Encode {
        what,
        message: e.to_string(),
    })
}

/// The JSON outcome of `wake_sleeping`: `{status, output?, error?}`.
pub(crate) fn wake_json(wake: &super::Wake) -> Result<Value, StorageError> {
    let (status, output, error) = super::rules::wake_result(wake);
    Ok(json!({
        "status": status.as_str(),
        "output": output,
        "error": error.map(|e| to_value("error", e)).transpose()?,
    }))
}

/// Rows per `insert_executions` statement when an insert is split into
/// several statements (children of one parent, large `enqueue_many` calls):
/// each statement's JSON parameter stays around 250 kB however many rows
/// the insert has, instead of one parameter (and, on the database side, one
/// parsed document) the size of the whole batch. Kept small because a
/// pooled PostgreSQL connection keeps a send buffer as large as the largest
/// statement it ever sent: with 2,000 rows (~1 MB) per statement, a long
/// bulk run that spread its inserts over the 16 connections of the pool
/// peaked 25 MiB above a short one (docs/benchmarks.md, "Memory with the
/// backlog").
pub(crate) const INSERT_CHUNK: usize = 500;

/// One row of the JSON array of `insert_executions`, borrowed from a
/// [`NewExecution`] and serialized straight to JSON text (no intermediate
/// `serde_json::Value` tree, which costs about ten times the text).
#[derive(Debug, serde::Serialize)]
pub(crate) struct InsertRow<'a> {
    execution_id: Cow<'a, str>,
    task_id: Cow<'a, str>,
    root_task_id: Option<Cow<'a, str>>,
    root_execution_id: Option<Cow<'a, str>>,
    parent_task_id: Option<Cow<'a, str>>,
    parent_execution_id: Option<Cow<'a, str>>,
    index_in_parent: u32,
    is_finalize: bool,
    parent_decides: bool,
    retry_options: &'a RetryOptions,
    sleep_ms_before_run: i64,
    timeout_ms: i64,
    input: Cow<'a, str>,
    start_at: i64,
    created_at: i64,
    sleeping_key: Option<Cow<'a, str>>,
}

/// How the text of an [`InsertRow`] is stored: as is, or with every NUL
/// character replaced (PostgreSQL cannot store U+0000 in `text`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    /// Stored unchanged (SQLite).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    AsIs,
    /// NUL replaced with U+FFFD (PostgreSQL).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    NoNul,
}

impl Text {
    fn apply(self, text: &str) -> Cow<'_, str> {
        match self {
            Self::NoNul if text.contains('\0') => Cow::Owned(text.replace('\0', "\u{FFFD}")),
            Self::AsIs | Self::NoNul => Cow::Borrowed(text),
        }
    }
}

/// The rows of `insert_executions` for `executions`.
pub(crate) fn insert_rows<'a>(
    executions: impl IntoIterator<Item = &'a NewExecution>,
    text: Text,
) -> Result<Vec<InsertRow<'a>>, StorageError> {
    let executions = executions.into_iter();
    let mut rows = Vec::with_capacity(executions.size_hint().0);
    for e in executions {
        rows.push(InsertRow {
            execution_id: text.apply(&e.execution_id),
            task_id: text.apply(&e.task_id),
            root_task_id: e.root.as_ref().map(|r| text.apply(&r.task_id)),
            root_execution_id: e.root.as_ref().map(|r| text.apply(&r.execution_id)),
            parent_task_id: e.parent.as_ref().map(|p| text.apply(&p.task_id)),
            parent_execution_id: e.parent.as_ref().map(|p| text.apply(&p.execution_id)),
            index_in_parent: e.parent.as_ref().map_or(0, |p| p.index),
            is_finalize: e.parent.as_ref().is_some_and(|p| p.is_finalize),
            parent_decides: e.parent.as_ref().is_some_and(|p| p.parent_decides),
            retry_options: &e.retry_options,
            sleep_ms_before_run: to_i64("sleep_ms_before_run", e.sleep_ms_before_run)?,
            timeout_ms: to_i64("timeout_ms", e.timeout_ms)?,
            input: text.apply(&e.input),
            start_at: e.start_at(),
            created_at: e.created_at,
            sleeping_key: e.sleeping_key.as_deref().map(|k| text.apply(k)),
        });
    }
    Ok(rows)
}

/// One statement's worth of new executions, encoded as JSON text for
/// `insert_executions` (SQLite).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InsertChunk {
    /// The JSON array of rows.
    pub(crate) rows: String,
    /// The JSON array of their execution ids (to name the duplicate when
    /// the statement hits the unique index).
    pub(crate) ids: String,
}

fn encode_text<T: serde::Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Encode {
        what,
        message: e.to_string(),
    })
}

/// Encodes `executions` as JSON text, [`INSERT_CHUNK`] rows per chunk.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn insert_chunks<'a>(
    executions: impl IntoIterator<Item = &'a NewExecution>,
) -> Result<Vec<InsertChunk>, StorageError> {
    let executions: Vec<&NewExecution> = executions.into_iter().collect();
    let mut chunks = Vec::with_capacity(executions.len().div_ceil(INSERT_CHUNK));
    for chunk in executions.chunks(INSERT_CHUNK) {
        let rows = insert_rows(chunk.iter().copied(), Text::AsIs)?;
        let ids: Vec<&str> = chunk.iter().map(|e| e.execution_id.as_str()).collect();
        chunks.push(InsertChunk {
            rows: encode_text("rows", &rows)?,
            ids: encode_text("ids", &ids)?,
        });
    }
    Ok(chunks)
}

/// Encodes execution ids as a JSON array of strings.
pub(crate) fn ids_json(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| Value::String(id.clone())).collect())
}

/// Encodes runs for `release_executions` and `heartbeat_executions`:
/// `[{execution_id, attempt}]`.
pub(crate) fn runs_json(runs: &[RunRef]) -> Value {
    Value::Array(
        runs.iter()
            .map(|run| json!({"execution_id": run.execution_id, "attempt": run.attempt}))
            .collect(),
    )
}

/// Encodes finish items for `finish_executions`.
pub(crate) fn finish_json(items: &[FinishItem]) -> Result<Value, StorageError> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if !item.status.is_finished() {
            return Err(StorageError::Encode {
                what: "finish status",
                message: format!(
                    "execution {}: `{}` is not a finished status",
                    item.execution_id, item.status
                ),
            });
        }
        out.push(json!({
            "execution_id": item.execution_id,
            "attempt": item.attempt,
            "status": item.status.as_str(),
            "run_output": item.run_output,
            "output": item.output,
            "error": to_value("error", &item.error)?,
        }));
    }
    Ok(Value::Array(out))
}

/// Encodes retry items for `retry_executions`.
pub(crate) fn retry_json(items: &[RetryItem]) -> Result<Value, StorageError> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(json!({
            "execution_id": item.execution_id,
            "attempt": item.attempt,
            "error": to_value("error", &item.error)?,
            "start_at": item.start_at,
        }));
    }
    Ok(Value::Array(out))
}

/// Encodes wait items for `start_waiting`.
pub(crate) fn wait_json(items: &[WaitItem]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|item| {
                let waiting_for_children = !item.children.is_empty();
                json!({
                    "execution_id": item.execution_id,
                    "attempt": item.attempt,
                    "status": if waiting_for_children {
                        ExecutionStatus::WaitingForChildrenTasks.as_str()
                    } else {
                        ExecutionStatus::WaitingForFinalizeTask.as_str()
                    },
                    "run_output": item.run_output,
                    "children_count": item.children.len(),
                    "finalize_execution_id": if waiting_for_children {
                        None
                    } else {
                        item.finalize.as_ref().map(|f| f.execution_id.as_str())
                    },
                })
            })
            .collect(),
    )
}

/// The first execution id that appears twice among what `items` insert.
pub(crate) fn duplicate_in_waits(items: &[WaitItem]) -> Option<String> {
    duplicate_within(items.iter().flat_map(WaitItem::inserts))
}

/// Checks and converts one row of `get_children_outputs`.
pub(crate) fn child_output(
    execution_id: String,
    index_in_parent: i64,
    status: &str,
    output: Option<String>,
    error: Option<RawJson>,
) -> Result<ChildOutput, CorruptRow> {
    let status: ExecutionStatus = status.parse().map_err(|e: crate::model::UnknownStatus| {
        corrupt(&execution_id, "status", e.to_string())
    })?;
    let index: u32 = unsigned(&execution_id, "index_in_parent", index_in_parent)?;
    let error: Option<ExecutionError> = match error {
        Some(raw) => raw.decode(&execution_id, "error")?,
        None => None,
    };
    Ok(ChildOutput {
        execution_id,
        index,
        status,
        output,
        error,
    })
}

/// The `after_index` parameter of `get_children_outputs`.
pub(crate) fn after_index(after: Option<u32>) -> i32 {
    after.map_or(-1, |index| i32::try_from(index).unwrap_or(i32::MAX))
}

/// Encodes advance items for `advance_parents`.
pub(crate) fn advance_json(items: &[AdvanceItem]) -> Result<Value, StorageError> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let value = match &item.action {
            Advance::Complete { output } => json!({
                "execution_id": item.execution_id,
                "status": ExecutionStatus::Completed.as_str(),
                "output": output,
                "spawn_next": false,
            }),
            Advance::Finalize { finalize } => json!({
                "execution_id": item.execution_id,
                "status": ExecutionStatus::WaitingForFinalizeTask.as_str(),
                "finalize_execution_id": finalize.execution_id,
                "spawn_next": false,
            }),
            Advance::SpawnNext { .. } => json!({
                "execution_id": item.execution_id,
                "status": ExecutionStatus::WaitingForChildrenTasks.as_str(),
                "spawn_next": true,
            }),
            Advance::Fail { status, error } => {
                if !status.is_finished() {
                    return Err(StorageError::Encode {
                        what: "advance status",
                        message: format!(
                            "execution {}: `{status}` is not a finished status",
                            item.execution_id
                        ),
                    });
                }
                json!({
                    "execution_id": item.execution_id,
                    "status": status.as_str(),
                    "error": to_value("error", error)?,
                    "spawn_next": false,
                })
            }
        };
        out.push(value);
    }
    Ok(Value::Array(out))
}

/// The executions to insert for the advance items whose guard matched.
pub(crate) fn advance_inserts(items: &[AdvanceItem], matched: &[String]) -> Vec<NewExecution> {
    let matched: std::collections::HashSet<&str> = matched.iter().map(String::as_str).collect();
    items
        .iter()
        .filter(|item| matched.contains(item.execution_id.as_str()))
        .filter_map(|item| item.action.inserts().cloned())
        .collect()
}

/// Encodes cancel items for `cancel_subtrees`.
pub(crate) fn cancel_json(items: &[CancelItem]) -> Result<Value, StorageError> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(json!({
            "execution_id": item.execution_id,
            "error": to_value("error", &item.error)?,
            "include_self": item.include_self,
        }));
    }
    Ok(Value::Array(out))
}

/// Encodes the close plan's decrements for `decrement_active_children`.
pub(crate) fn decrements_json(decrements: &BTreeMap<String, u32>) -> Value {
    Value::Array(
        decrements
            .iter()
            .map(|(id, n)| json!({"execution_id": id, "n": n}))
            .collect(),
    )
}

/// Encodes the close plan's child failures for `record_children_failures`.
pub(crate) fn child_failures_json(
    failures: &BTreeMap<String, Vec<ChildError>>,
) -> Result<Value, StorageError> {
    let mut out = Vec::with_capacity(failures.len());
    for (id, errors) in failures {
        out.push(json!({"execution_id": id, "errors": to_value("children_errors", errors)?}));
    }
    Ok(Value::Array(out))
}

/// Encodes the close plan's finalize completions for `complete_from_finalize`.
pub(crate) fn finalize_completions_json(completions: &BTreeMap<String, String>) -> Value {
    Value::Array(
        completions
            .iter()
            .map(|(id, output)| json!({"execution_id": id, "output": output}))
            .collect(),
    )
}

/// Encodes the close plan's finalize failures for `fail_from_finalize`.
pub(crate) fn finalize_failures_json(
    failures: &BTreeMap<String, ExecutionError>,
) -> Result<Value, StorageError> {
    let mut out = Vec::with_capacity(failures.len());
    for (id, error) in failures {
        out.push(json!({"execution_id": id, "error": to_value("finalize_error", error)?}));
    }
    Ok(Value::Array(out))
}

/// The execution id named in a unique-violation message or detail
/// (`Key (execution_id)=(te_x) already exists.`), when there is one.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn duplicate_id_from_detail(detail: &str) -> Option<String> {
    let start = detail.find("=(")? + 2;
    let end = detail[start..].find(')')? + start;
    Some(detail[start..end].to_owned())
}

/// The sleeping key of an `insert_executions` chunk that holds exactly one
/// (the usual insert of a sleeping execution), else `unknown`: the key a
/// duplicate-key error names when the database does not say which.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn sleeping_key_of_chunk(rows: &str) -> String {
    let rows: Vec<Value> = serde_json::from_str(rows).unwrap_or_default();
    let mut keys = rows
        .iter()
        .filter_map(|r| r.get("sleeping_key").and_then(Value::as_str));
    match (keys.next(), keys.next()) {
        (Some(key), None) => key.to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// The first execution id that appears twice in `executions`.
pub(crate) fn duplicate_within<'a>(
    executions: impl IntoIterator<Item = &'a NewExecution>,
) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    executions
        .into_iter()
        .find(|e| !seen.insert(e.execution_id.as_str()))
        .map(|e| e.execution_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawRow {
        RawRow {
            execution_id: "te_1".into(),
            task_id: "t".into(),
            root_task_id: Some("r".into()),
            root_execution_id: Some("te_r".into()),
            parent_task_id: Some("p".into()),
            parent_execution_id: Some("te_p".into()),
            index_in_parent: 3,
            retry_options: RawJson::Text(r#"{"max_attempts":2,"jitter":0.5}"#.into()),
            sleep_ms_before_run: 10,
            timeout_ms: 1000,
            input: "{}".into(),
            children_errors: Some(RawJson::Text("[]".into())),
            error: Some(RawJson::Value(
                json!({"kind":"generic","message":"m","is_retryable":true}),
            )),
            status: "ready".into(),
            start_at: 5,
            created_at: 1,
            updated_at: 2,
            ..RawRow::default()
        }
    }

    #[test]
    fn the_generated_row_has_every_column_but_the_surrogate_key() {
        assert_eq!(generated::COLUMNS.first(), Some(&"execution_id"));
        assert!(!generated::COLUMNS.contains(&"id"));
        assert!(generated::COLUMNS.contains(&"children_errors"));
    }

    #[test]
    fn a_valid_row_converts() {
        let execution = raw().into_loaded().unwrap();
        assert_eq!(execution.parent.as_ref().map(|p| p.index), Some(3));
        assert_eq!(execution.retry_options.max_attempts, 2);
        assert_eq!(execution.retry_options.jitter, Some(0.5));
        assert_eq!(execution.error.unwrap().message, "m");
        assert_eq!(execution.root.unwrap().execution_id, "te_r");
    }

    #[test]
    fn corrupt_columns_are_named() {
        let mut row = raw();
        row.status = "dozing".into();
        let err = row.into_loaded().unwrap_err();
        assert_eq!((err.execution_id.as_str(), err.column), ("te_1", "status"));

        let mut row = raw();
        row.active_children_count = -1;
        assert_eq!(
            row.into_loaded().unwrap_err().column,
            "active_children_count"
        );

        let mut row = raw();
        row.error = Some(RawJson::Text("{not json".into()));
        assert_eq!(row.into_loaded().unwrap_err().column, "error");

        let mut row = raw();
        row.parent_task_id = None;
        assert_eq!(row.into_loaded().unwrap_err().column, "parent_execution_id");
    }

    #[test]
    fn duplicate_ids_are_found() {
        assert_eq!(
            duplicate_id_from_detail("Key (execution_id)=(te_abc) already exists."),
            Some("te_abc".to_owned())
        );
        assert_eq!(duplicate_id_from_detail("nothing"), None);
    }
}
