//! Generated SQLite row → [`RawRow`], and unreadable rows → [`CorruptRow`].

use crate::generated::sqlite::{BadRow, RowResult, TaskExecutionRow};
use crate::model::CorruptRow;
use crate::storage::row::RawRow;
use rusqlite::types::Value;

/// Moves the columns of a generated row into a [`RawRow`] (the generated
/// move; no checks, see [`RawRow::into_loaded`]); a row holding a value of
/// another type than its column's becomes a [`CorruptRow`] (see [`corrupt`]).
pub(super) fn raw(row: RowResult<TaskExecutionRow>) -> Result<RawRow, CorruptRow> {
    row.map(RawRow::from).map_err(corrupt)
}

/// The surrogate key (`id`) of an unreadable row, when it was read.
pub(super) fn surrogate_id(bad: &BadRow) -> Option<i64> {
    match bad.key_value("id") {
        Some(Value::Integer(id)) => Some(*id),
        _ => None,
    }
}

/// The execution id of an unreadable row, when that column was readable.
pub(super) fn execution_id(bad: &BadRow) -> Option<String> {
    match bad.key_value("execution_id") {
        Some(Value::Text(id)) => Some(id.clone()),
        _ => None,
    }
}

/// How the execution of an unreadable row is named: its execution id, or
/// `(row id N)` (its surrogate key) when the execution id itself cannot be
/// read.
pub(super) fn row_name(bad: &BadRow) -> String {
    execution_id(bad).unwrap_or_else(|| match surrogate_id(bad) {
        Some(id) => format!("(row id {id})"),
        None => "(unknown row)".to_owned(),
    })
}

/// A [`CorruptRow`] naming the row and the column whose stored value has
/// another type than the column's.
pub(super) fn corrupt(bad: BadRow) -> CorruptRow {
    CorruptRow {
        execution_id: row_name(&bad),
        column: bad.column,
        message: format!(
            "stored value {} does not have the column's type ({})",
            describe(&bad.value),
            bad.message
        ),
    }
}

/// A short description of a stored value, for messages.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::Integer(n) => format!("integer {n}"),
        Value::Real(x) => format!("real {x}"),
        Value::Text(text) => {
            let mut shown: String = text.chars().take(40).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            format!("text {shown:?}")
        }
        Value::Blob(bytes) => format!("blob of {} bytes", bytes.len()),
    }
}

/// A stored value as text for an operator (text as is, anything else
/// described).
pub(super) fn display(value: &Value) -> String {
    match value {
        Value::Text(text) => text.clone(),
        other => format!("({})", describe(other)),
    }
}
