//! The cornucopia input (`queries/task_executions.sql`).
//!
//! Every PostgreSQL query of the spec with `--:`/`--!` annotations whose `?`
//! nullability comes from the spec (cornucopia infers none), explicit column
//! lists (the spec forbids `*`) and the query doc as `---` lines. Statements
//! are not included: they are not type-checked.

use std::path::PathBuf;

use minijinja::value::Serde;
use serde::Serialize;

use super::sqlite::row_type_name;
use super::{Files, RenderError, item_sql, pascal_case, sql_header};
use crate::parse::{Dialect, Returns, ReturnsKeyword, Spec, SqlItem};

/// Path of the cornucopia input for `spec` (`queries/<table>.sql`).
pub fn queries_path(spec: &Spec) -> PathBuf {
    PathBuf::from(format!("queries/{}.sql", spec.table.name))
}

#[derive(Serialize)]
struct QueryCtx {
    annotation: String,
    doc: Vec<String>,
    sql: String,
}

fn nullable_list(names: impl Iterator<Item = String>) -> String {
    names
        .map(|n| format!("{n}?"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders `queries/<table>.sql`.
pub fn render(spec: &Spec) -> Result<Files, RenderError> {
    let row_type = row_type_name(&spec.table.name);
    let row_nullable = nullable_list(
        spec.table
            .columns
            .iter()
            .filter(|c| c.nullable)
            .map(|c| c.name.clone()),
    );
    let queries = spec
        .queries
        .iter()
        .filter(|q| q.has_dialect(Dialect::Postgres))
        .map(|q| {
            let annotation = match &q.returns {
                Returns::Keyword(ReturnsKeyword::Affected) => format!("--! {}", q.name),
                Returns::Keyword(ReturnsKeyword::Rows) => format!("--! {} : {row_type}", q.name),
                Returns::Columns { .. } => {
                    let nullable = nullable_list(
                        q.result_columns(&spec.table)
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|c| c.nullable)
                            .map(|c| c.name),
                    );
                    format!("--! {} : {}Row({nullable})", q.name, pascal_case(&q.name))
                }
            };
            Ok(QueryCtx {
                annotation,
                doc: q
                    .doc
                    .trim()
                    .lines()
                    .map(|l| l.trim_end().to_owned())
                    .collect(),
                sql: item_sql(&spec.table, q, Dialect::Postgres)?,
            })
        })
        .collect::<Result<Vec<_>, RenderError>>()?;
    let ctx = minijinja::context! {
        header => sql_header(&spec.source_path),
        row_type => row_type,
        row_nullable => row_nullable,
        queries => minijinja::Value::from(Serde(&queries)),
    };
    let text = super::render_template("cornucopia.sql.j2", ctx)?;
    Ok(Files::from([(queries_path(spec), text)]))
}
