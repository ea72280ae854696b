//! Current-state DDL (`generated/schema/{postgres,sqlite}.sql`) and the
//! CREATE statements shared with migration 0001 and SQLite table rebuilds.
//!
//! Columns are laid out in physical order (the order the migration chain
//! produces: a column added later comes last), so that loading the schema
//! file and replaying the migrations give the same table.

use std::path::PathBuf;

use minijinja::value::Serde;
use serde::Serialize;

use super::migrations::{SnapColumn, SnapIndex, SnapTable};
use super::{Files, RenderError, sql_header, sql_quote};
use crate::parse::{Dialect, LogicalType, Spec};

/// Path of the schema file of `dialect`, relative to the workspace root.
pub fn schema_path(dialect: Dialect) -> PathBuf {
    PathBuf::from(format!("generated/schema/{}.sql", dialect.as_str()))
}

/// The column definition (`name type [NOT NULL] [DEFAULT x]`), name padded to `width`.
pub(crate) fn column_definition(column: &SnapColumn, dialect: Dialect, width: usize) -> String {
    let name = format!("{:width$}", column.name);
    if column.ty == LogicalType::Id {
        return match dialect {
            Dialect::Postgres => format!("{name} bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
            Dialect::Sqlite => format!("{name} INTEGER PRIMARY KEY"),
        };
    }
    let mut def = format!("{name} {}", column.ty.sql_type(dialect));
    if !column.nullable {
        def.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        def.push_str(" DEFAULT ");
        def.push_str(default);
    }
    def.trim_end().to_owned()
}

/// `CREATE [UNIQUE] INDEX ...;`
pub(crate) fn create_index(table: &str, index: &SnapIndex) -> String {
    let unique = if index.unique { "UNIQUE " } else { "" };
    let predicate = index
        .predicate
        .as_ref()
        .map(|p| format!(" WHERE {p}"))
        .unwrap_or_default();
    format!(
        "CREATE {unique}INDEX {} ON {table} ({}){predicate};",
        index.name,
        index.columns.join(", ")
    )
}

#[derive(Serialize)]
struct ColumnCtx {
    definition: String,
    doc: String,
    sep: &'static str,
}

#[derive(Serialize)]
struct IndexCtx {
    sql: String,
    doc: String,
    comment: String,
}

#[derive(Serialize)]
struct CreateCtx {
    header: String,
    dialect: &'static str,
    dialect_title: &'static str,
    migration: Option<(String, String)>,
    table: String,
    table_doc: String,
    table_comment: String,
    columns: Vec<ColumnCtx>,
    with: String,
    column_comments: Vec<String>,
    indexes: Vec<IndexCtx>,
}

/// Renders the CREATE TABLE + indexes (+ comments) for `target`, with either
/// the schema-file header (`migration` = None) or a migration header
/// (`Some((version, name))`).
pub(crate) fn render_create(
    spec: &Spec,
    target: &SnapTable,
    dialect: Dialect,
    migration: Option<(u32, &str)>,
) -> Result<String, RenderError> {
    let doc_of = |name: &str| {
        spec.table
            .column(name)
            .map(|c| c.doc.clone())
            .unwrap_or_default()
    };
    let width = target
        .columns
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let count = target.columns.len();
    let columns = target
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| ColumnCtx {
            definition: column_definition(c, dialect, width),
            doc: doc_of(&c.name),
            sep: if i + 1 < count { "," } else { "" },
        })
        .collect();
    let column_comments = target
        .columns
        .iter()
        .map(|c| {
            format!(
                "COMMENT ON COLUMN {}.{} IS {};",
                target.name,
                c.name,
                sql_quote(&doc_of(&c.name))
            )
        })
        .collect();
    let indexes = target
        .indexes
        .iter()
        .map(|ix| {
            let doc = spec
                .table
                .indexes
                .iter()
                .find(|i| i.name == ix.name)
                .map(|i| i.doc.clone())
                .unwrap_or_default();
            IndexCtx {
                sql: create_index(&target.name, ix),
                comment: format!("COMMENT ON INDEX {} IS {};", ix.name, sql_quote(&doc)),
                doc,
            }
        })
        .collect();
    let ctx = CreateCtx {
        header: sql_header(&spec.source_path),
        dialect: dialect.as_str(),
        dialect_title: match dialect {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Sqlite => "SQLite",
        },
        migration: migration.map(|(v, n)| (format!("{v:04}"), n.to_owned())),
        table: target.name.clone(),
        table_doc: spec.table.doc.clone(),
        table_comment: format!(
            "COMMENT ON TABLE {} IS {};",
            target.name,
            sql_quote(&spec.table.doc)
        ),
        columns,
        with: match (dialect, target.fillfactor) {
            (Dialect::Postgres, Some(f)) => format!(" WITH (fillfactor = {f})"),
            _ => String::new(),
        },
        column_comments,
        indexes,
    };
    super::render_template("schema.sql.j2", minijinja::Value::from(Serde(&ctx)))
}

/// Renders `generated/schema/postgres.sql` and `generated/schema/sqlite.sql`
/// for the physical layout `target`.
pub fn render(spec: &Spec, target: &SnapTable) -> Result<Files, RenderError> {
    let mut files = Files::new();
    for dialect in Dialect::ALL {
        files.insert(
            schema_path(dialect),
            render_create(spec, target, dialect, None)?,
        );
    }
    Ok(files)
}
