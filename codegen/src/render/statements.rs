//! PostgreSQL statement constants (`OUT_DIR/pg_statements.rs`).
//!
//! Statements are not type-checked by cornucopia; their `:name` parameters
//! are rewritten to `$1..$n` in declared order, and each constant's doc lists
//! that order.

use std::path::PathBuf;

use minijinja::value::Serde;
use serde::Serialize;

use super::{Files, RenderError, format_rust, item_sql, rust_header};
use crate::parse::{Dialect, Spec, SqlItem};
use crate::sql::replace_params;

/// File name of the module inside `OUT_DIR`.
pub const FILE: &str = "pg_statements.rs";

#[derive(Serialize)]
struct StatementCtx {
    const_name: String,
    doc: String,
    sql: String,
    params: Vec<String>,
}

/// Renders `pg_statements.rs`.
pub fn render(spec: &Spec) -> Result<Files, RenderError> {
    let statements = spec
        .statements
        .iter()
        .filter(|s| s.has_dialect(Dialect::Postgres))
        .map(|s| {
            let sql = item_sql(&spec.table, s, Dialect::Postgres)?;
            let sql = replace_params(&sql, |name| {
                match s.params.iter().position(|p| p.name == name) {
                    Some(i) => format!("${}", i + 1),
                    // Undeclared parameters are rejected by validation; keep the text as is.
                    None => format!(":{name}"),
                }
            });
            Ok(StatementCtx {
                const_name: s.name.to_ascii_uppercase(),
                doc: s.doc.clone(),
                sql,
                params: s
                    .params
                    .iter()
                    .enumerate()
                    .map(|(i, p)| format!("`${}` = `{}` ({})", i + 1, p.name, p.ty.as_str()))
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, RenderError>>()?;
    let template = "pg_statements.rs.j2";
    let ctx = minijinja::context! { statements => minijinja::Value::from(Serde(&statements)) };
    let source = super::render_template(template, ctx)?;
    let text = format_rust(template, &source, &rust_header(&spec.source_path))?;
    Ok(Files::from([(PathBuf::from(FILE), text)]))
}
