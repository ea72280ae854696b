//! The typed rusqlite module (`OUT_DIR/sqlite_queries.rs`).
//!
//! Shape: one row type for the whole table (`<Table>Row`, read by column
//! name), then per query a `<NAME>_SQL` constant, a `<Query>Params<'a>` struct
//! when it has parameters, a `<Query>Row` struct for `{columns: [...]}`
//! results and a function binding parameters by name. Statements become
//! constants in `pub mod statements`.
//!
//! Query functions return one `RowResult` per row: a value of another type
//! than its column's (SQLite accepts any value in any column) makes that one
//! row a `BadRow` naming the column and the row's key, instead of failing
//! the whole query.

use std::path::PathBuf;

use minijinja::value::Serde;
use serde::Serialize;

use super::{
    Files, RenderError, format_rust, item_sql, pascal_case, rust_header, rust_param_type,
    rust_row_type,
};
use crate::parse::{Dialect, LogicalType, Query, Returns, ReturnsKeyword, Spec, SqlItem};

/// File name of the module inside `OUT_DIR`.
pub const FILE: &str = "sqlite_queries.rs";

#[derive(Serialize)]
struct Field {
    name: String,
    rust_type: String,
    doc: String,
    /// Whether the column identifies the row in a `BadRow` (the surrogate
    /// key and single-column unique indexes of the table; every column of a
    /// query's own result row).
    key: bool,
}

#[derive(Serialize)]
struct ParamCtx {
    name: String,
    ty: &'static str,
    rust_type: &'static str,
}

#[derive(Serialize)]
struct QueryCtx {
    fn_name: String,
    const_name: String,
    doc: String,
    sql: String,
    params: Vec<ParamCtx>,
    params_type: String,
    has_lifetime: bool,
    affected: bool,
    row_type: String,
    own_row: Option<Vec<Field>>,
}

#[derive(Serialize)]
struct StatementCtx {
    const_name: String,
    doc: String,
    sql: String,
}

#[derive(Serialize)]
struct Ctx {
    table_doc: String,
    row_type: String,
    columns: Vec<Field>,
    queries: Vec<QueryCtx>,
    statements: Vec<StatementCtx>,
}

/// The shared row type name: `TaskExecutionRow` for table `task_executions`.
pub fn row_type_name(table: &str) -> String {
    let singular = table.strip_suffix('s').unwrap_or(table);
    format!("{}Row", pascal_case(singular))
}

fn query_ctx(spec: &Spec, query: &Query, shared_row: &str) -> Result<QueryCtx, RenderError> {
    let sql = item_sql(&spec.table, query, Dialect::Sqlite)?;
    let params: Vec<ParamCtx> = query
        .params
        .iter()
        .map(|p| ParamCtx {
            name: p.name.clone(),
            ty: p.ty.as_str(),
            rust_type: rust_param_type(p.ty),
        })
        .collect();
    let has_lifetime = params.iter().any(|p| p.rust_type.contains("'a"));
    let pascal = pascal_case(&query.name);
    let (affected, row_type, own_row) = match &query.returns {
        Returns::Keyword(ReturnsKeyword::Affected) => (true, String::new(), None),
        Returns::Keyword(ReturnsKeyword::Rows) => (false, shared_row.to_owned(), None),
        Returns::Columns { .. } => {
            let fields = query
                .result_columns(&spec.table)
                .unwrap_or_default()
                .into_iter()
                .map(|c| Field {
                    rust_type: rust_row_type(c.ty, c.nullable),
                    name: c.name,
                    doc: c.doc,
                    key: true,
                })
                .collect();
            (false, format!("{pascal}Row"), Some(fields))
        }
    };
    Ok(QueryCtx {
        fn_name: query.name.clone(),
        const_name: format!("{}_SQL", query.name.to_ascii_uppercase()),
        doc: query.doc.clone(),
        sql,
        params,
        params_type: format!("{pascal}Params"),
        has_lifetime,
        affected,
        row_type,
        own_row,
    })
}

/// Renders `sqlite_queries.rs`.
pub fn render(spec: &Spec) -> Result<Files, RenderError> {
    let row_type = row_type_name(&spec.table.name);
    let columns =
        spec.table
            .columns
            .iter()
            .map(|c| Field {
                name: c.name.clone(),
                rust_type: rust_row_type(c.ty, c.nullable),
                doc: c.doc.clone(),
                key: c.ty == LogicalType::Id
                    || spec.table.indexes.iter().any(|i| {
                        i.unique && i.predicate.is_none() && i.columns == [c.name.as_str()]
                    }),
            })
            .collect();
    let queries = spec
        .queries
        .iter()
        .filter(|q| q.has_dialect(Dialect::Sqlite))
        .map(|q| query_ctx(spec, q, &row_type))
        .collect::<Result<Vec<_>, _>>()?;
    let statements = spec
        .statements
        .iter()
        .filter(|s| s.has_dialect(Dialect::Sqlite))
        .map(|s| {
            Ok(StatementCtx {
                const_name: s.name.to_ascii_uppercase(),
                doc: s.doc.clone(),
                sql: item_sql(&spec.table, s, Dialect::Sqlite)?,
            })
        })
        .collect::<Result<Vec<_>, RenderError>>()?;
    let ctx = Ctx {
        table_doc: spec.table.doc.clone(),
        row_type,
        columns,
        queries,
        statements,
    };
    let template = "sqlite_queries.rs.j2";
    let source = super::render_template(template, minijinja::Value::from(Serde(&ctx)))?;
    let text = format_rust(template, &source, &rust_header(&spec.source_path))?;
    Ok(Files::from([(PathBuf::from(FILE), text)]))
}
