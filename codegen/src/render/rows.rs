//! The backend-neutral row of the table and its conversions from both
//! drivers' typed rows (`OUT_DIR/rows.rs`).
//!
//! Shape: `RawRow`, one field per column except the surrogate key (`id`)
//! in the Rust type the spec implies (`text` → `String`, `integer` → `i32`,
//! `bigint`/`timestamp` → `i64`, `boolean` → `bool`, `json` → `RawJson`,
//! nullable → `Option<_>`), `COLUMNS`, and `From` impls from the SQLite
//! module's `<Table>Row` (`#[cfg(feature = "sqlite")]`) and from cornucopia's
//! `<Table>Row` in `generated/pg-queries` (`#[cfg(feature = "postgres")]`).
//! Both drivers' rows carry the same Rust types except JSON (text in SQLite,
//! `serde_json::Value` from PostgreSQL), which becomes `RawJson::Text` /
//! `RawJson::Value`.
//!
//! The module is included by the library's `src/storage/row.rs`, which
//! defines `RawJson` and the one hand-written conversion (`into_loaded`, the
//! row onto the model): a new column reaches `RawRow` from both backends with
//! no hand-written change.

use std::path::PathBuf;

use minijinja::value::Serde;
use serde::Serialize;

use super::{Files, RenderError, format_rust, rust_header};
use crate::parse::{Column, LogicalType, Spec};

/// File name of the module inside `OUT_DIR`.
pub const FILE: &str = "rows.rs";

#[derive(Serialize)]
struct Field {
    name: String,
    doc: String,
    raw_type: String,
    /// The field's value from a SQLite row `row`.
    sqlite: String,
    /// The field's value from a cornucopia row `row`.
    postgres: String,
}

/// The Rust type of `column` in `RawRow`.
pub fn raw_type(column: &Column) -> String {
    let base = match column.ty {
        LogicalType::Text => "String",
        LogicalType::Integer => "i32",
        LogicalType::Id | LogicalType::Bigint | LogicalType::Timestamp => "i64",
        LogicalType::Boolean => "bool",
        LogicalType::Json => "RawJson",
    };
    if column.nullable {
        format!("Option<{base}>")
    } else {
        base.to_owned()
    }
}

/// The expression moving field `column` of a driver row `row` into a
/// `RawRow`; JSON is wrapped in `RawJson::<variant>`.
fn conversion(column: &Column, json_variant: &str) -> String {
    let field = format!("row.{}", column.name);
    match (column.ty, column.nullable) {
        (LogicalType::Json, false) => format!("RawJson::{json_variant}({field})"),
        (LogicalType::Json, true) => format!("{field}.map(RawJson::{json_variant})"),
        _ => field,
    }
}

/// Renders `rows.rs`.
pub fn render(spec: &Spec) -> Result<Files, RenderError> {
    let columns: Vec<Field> = spec
        .table
        .columns
        .iter()
        .filter(|c| c.ty != LogicalType::Id)
        .map(|c| Field {
            name: c.name.clone(),
            doc: c.doc.clone(),
            raw_type: raw_type(c),
            sqlite: conversion(c, "Text"),
            postgres: conversion(c, "Value"),
        })
        .collect();
    let ctx = minijinja::context! {
        table => spec.table.name.clone(),
        row_type => super::sqlite::row_type_name(&spec.table.name),
        columns => minijinja::Value::from(Serde(&columns)),
    };
    let template = "rows.rs.j2";
    let source = super::render_template(template, ctx)?;
    let text = format_rust(template, &source, &rust_header(&spec.source_path))?;
    Ok(Files::from([(PathBuf::from(FILE), text)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(ty: LogicalType, nullable: bool) -> Column {
        Column {
            name: "c".into(),
            ty,
            nullable,
            default: None,
            doc: String::new(),
            renamed_from: None,
        }
    }

    #[test]
    fn json_columns_are_wrapped_per_dialect() {
        let c = column(LogicalType::Json, true);
        assert_eq!(raw_type(&c), "Option<RawJson>");
        assert_eq!(conversion(&c, "Text"), "row.c.map(RawJson::Text)");
        let c = column(LogicalType::Json, false);
        assert_eq!(conversion(&c, "Value"), "RawJson::Value(row.c)");
    }

    #[test]
    fn other_columns_move_as_they_are() {
        let c = column(LogicalType::Integer, false);
        assert_eq!(raw_type(&c), "i32");
        assert_eq!(conversion(&c, "Text"), "row.c");
        assert_eq!(
            raw_type(&column(LogicalType::Timestamp, true)),
            "Option<i64>"
        );
    }
}
