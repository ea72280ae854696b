//! The spec model: the serde types `spec/*.yaml` deserializes into.
//!
//! Every field is documented here because these docs are the reference for
//! the format (see also `spec/README.md`). Unknown fields are rejected so that
//! a typo never silently changes the generated schema.

use serde::{Deserialize, Serialize};

/// A whole spec file: one table, its typed queries and its untyped statements.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Path of the spec file as shown in generated headers and error messages
    /// (relative to the workspace root, e.g. `spec/task_executions.yaml`).
    #[serde(skip)]
    pub source_path: String,
    /// The table the spec describes.
    pub table: Table,
    /// Typed queries, checked by cornucopia (PostgreSQL) and rendered into the
    /// typed rusqlite module (SQLite).
    #[serde(default)]
    pub queries: Vec<Query>,
    /// Untyped statements rendered as SQL constants per dialect.
    #[serde(default)]
    pub statements: Vec<Statement>,
    /// Hand-written migration steps (data backfills, one-off fixes), placed
    /// in the migration chain among the generated ones.
    #[serde(default)]
    pub custom_migrations: Vec<CustomMigration>,
}

/// A hand-written migration step: SQL for both dialects that
/// `cargo xtask codegen` turns into a migration (checksummed like the
/// generated ones) right after version `after`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomMigration {
    /// Migration name (snake_case), unique among custom migrations.
    pub name: String,
    /// What the step does and why; becomes the migration's comment.
    pub doc: String,
    /// The version the step follows: the latest committed one (the step
    /// then runs before the spec's pending schema change, if any) or the
    /// last migration that change generates (the step runs after it).
    pub after: u32,
    /// SQL shared by both dialects, or instead
    #[serde(default)]
    pub sql: Option<String>,
    /// PostgreSQL SQL (instead of `sql`).
    #[serde(default)]
    pub postgres: Option<String>,
    /// SQLite SQL (instead of `sql`).
    #[serde(default)]
    pub sqlite: Option<String>,
    /// Whether the step runs in a transaction (default `true`); `false`
    /// writes `-- transaction: none` (PostgreSQL runs its statements one
    /// at a time, e.g. a backfill in batches).
    #[serde(default = "default_true")]
    pub transaction: bool,
}

fn default_true() -> bool {
    true
}

impl CustomMigration {
    /// The SQL for `dialect`: the dialect field, else `sql`.
    pub fn sql_for(&self, dialect: Dialect) -> Option<&str> {
        match dialect {
            Dialect::Postgres => self.postgres.as_deref(),
            Dialect::Sqlite => self.sqlite.as_deref(),
        }
        .or(self.sql.as_deref())
    }
}

/// The table definition.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// Table name (snake_case).
    pub name: String,
    /// What a row is; becomes the table comment and the row type's doc.
    pub doc: String,
    /// Columns in their logical order (the order of the generated row type).
    pub columns: Vec<Column>,
    /// Secondary indexes.
    #[serde(default)]
    pub indexes: Vec<Index>,
    /// PostgreSQL storage parameters of the table (`CREATE TABLE ... WITH
    /// (...)`); SQLite has no counterpart and ignores them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<TablePostgres>,
}

/// PostgreSQL storage parameters of the table (`table.postgres` in the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TablePostgres {
    /// `fillfactor` (percent of each heap page that inserts fill, 10 to 100;
    /// PostgreSQL's default is 100). Free space left on a page lets an update
    /// that changes no indexed column stay on the page (a HOT update).
    #[serde(default)]
    pub fillfactor: Option<i64>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// Column name (snake_case); also the Rust field name.
    pub name: String,
    /// Logical type, mapped per dialect.
    #[serde(rename = "type")]
    pub ty: LogicalType,
    /// Whether the column accepts NULL (`Option<_>` in Rust). Defaults to false.
    #[serde(default)]
    pub nullable: bool,
    /// Default value: an SQL literal valid in both dialects (e.g. `0`, `false`, `'ready'`).
    #[serde(default)]
    pub default: Option<String>,
    /// What the column holds; becomes the column comment and the field doc.
    pub doc: String,
    /// The column's previous name: the next migration renames it in place
    /// (`ALTER TABLE … RENAME COLUMN`, keeping every value) instead of
    /// dropping it and adding a new one. Ignored once the committed history
    /// has no column of that name any more (it may stay in the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// One index.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Index name (snake_case, unique across the database).
    pub name: String,
    /// Indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether the index is UNIQUE. Defaults to false.
    #[serde(default)]
    pub unique: bool,
    /// Predicate of a partial index (an SQL expression valid in both dialects).
    #[serde(default, rename = "where")]
    pub predicate: Option<String>,
    /// Which access path the index serves.
    pub doc: String,
    /// The index's previous name: the next migration renames it (PostgreSQL
    /// `ALTER INDEX … RENAME TO`; SQLite, which cannot rename an index,
    /// drops and recreates it) instead of treating it as a new index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// The logical column and parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    /// Surrogate primary key: PG `bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`,
    /// SQLite `INTEGER PRIMARY KEY`, Rust `i64`.
    Id,
    /// Text: PG `text`, SQLite `TEXT`, Rust `String` / `&str`.
    Text,
    /// 32-bit integer: PG `integer`, SQLite `INTEGER`, Rust `i32`.
    Integer,
    /// 64-bit integer: PG `bigint`, SQLite `INTEGER`, Rust `i64`.
    Bigint,
    /// Boolean: PG `boolean`, SQLite `INTEGER` 0/1, Rust `bool`.
    Boolean,
    /// JSON document: PG `jsonb`, SQLite `TEXT`; raw JSON text in the SQLite module.
    Json,
    /// Epoch milliseconds: PG `bigint`, SQLite `INTEGER`, Rust `i64`.
    Timestamp,
}

impl LogicalType {
    /// Every type, in the order used in messages.
    pub const ALL: [LogicalType; 7] = [
        LogicalType::Id,
        LogicalType::Text,
        LogicalType::Integer,
        LogicalType::Bigint,
        LogicalType::Boolean,
        LogicalType::Json,
        LogicalType::Timestamp,
    ];

    /// The spec spelling of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            LogicalType::Id => "id",
            LogicalType::Text => "text",
            LogicalType::Integer => "integer",
            LogicalType::Bigint => "bigint",
            LogicalType::Boolean => "boolean",
            LogicalType::Json => "json",
            LogicalType::Timestamp => "timestamp",
        }
    }

    /// The column type in `dialect`, without nullability or key constraints.
    pub fn sql_type(self, dialect: Dialect) -> &'static str {
        match (dialect, self) {
            (Dialect::Postgres, LogicalType::Id | LogicalType::Bigint | LogicalType::Timestamp) => {
                "bigint"
            }
            (Dialect::Postgres, LogicalType::Text) => "text",
            (Dialect::Postgres, LogicalType::Integer) => "integer",
            (Dialect::Postgres, LogicalType::Boolean) => "boolean",
            (Dialect::Postgres, LogicalType::Json) => "jsonb",
            (Dialect::Sqlite, LogicalType::Text | LogicalType::Json) => "TEXT",
            (Dialect::Sqlite, _) => "INTEGER",
        }
    }
}

/// The SQL dialects the spec targets (the one `Dialect` type of the
/// workspace, shared with the library's migrator and the CLI).
pub use durable_execution_dialect::Dialect;

/// A query or statement parameter, bound by name (`:name` in the SQL).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// Parameter name (snake_case), written `:name` in the SQL.
    pub name: String,
    /// Logical type of the bound value.
    #[serde(rename = "type")]
    pub ty: LogicalType,
}

/// What a query returns.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Returns {
    /// `rows` (the full row type) or `affected` (the number of changed rows).
    Keyword(ReturnsKeyword),
    /// `{columns: [...]}`: a per-query row type with these columns.
    Columns {
        /// The returned columns, in order.
        columns: Vec<ReturnColumn>,
    },
}

/// The keyword forms of [`Returns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnsKeyword {
    /// Every column of the table, as the shared row type.
    Rows,
    /// The number of affected rows.
    Affected,
}

/// One column of a `{columns: [...]}` result.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ReturnColumn {
    /// A table column, by name; type and nullability come from the table.
    Table(String),
    /// A computed column with its own type.
    Computed(ComputedColumn),
}

/// A computed result column (`count(*) AS count`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComputedColumn {
    /// Result column name (the SQL alias).
    pub name: String,
    /// Logical type.
    #[serde(rename = "type")]
    pub ty: LogicalType,
    /// Whether the value may be NULL. Defaults to false.
    #[serde(default)]
    pub nullable: bool,
}

/// A typed query.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Query name (snake_case); the generated function name.
    pub name: String,
    /// What the query does; becomes the function doc.
    pub doc: String,
    /// Parameters in declaration order (the order of the params struct).
    #[serde(default)]
    pub params: Vec<Param>,
    /// Result shape.
    pub returns: Returns,
    /// SQL shared by both dialects (a minijinja template).
    #[serde(default)]
    pub sql: Option<String>,
    /// PostgreSQL-specific SQL (instead of `sql`).
    #[serde(default)]
    pub postgres: Option<String>,
    /// SQLite-specific SQL (instead of `sql`).
    #[serde(default)]
    pub sqlite: Option<String>,
    /// Dialects the query exists in; both when absent.
    #[serde(default)]
    pub dialects: Option<Vec<Dialect>>,
}

/// An untyped statement (utility command, migrator bookkeeping).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// Statement name (snake_case); the constant is its SCREAMING_SNAKE_CASE.
    pub name: String,
    /// What the statement does; becomes the constant's doc.
    pub doc: String,
    /// Parameters in declaration order (PostgreSQL `$n` numbering follows it).
    #[serde(default)]
    pub params: Vec<Param>,
    /// SQL shared by both dialects (a minijinja template).
    #[serde(default)]
    pub sql: Option<String>,
    /// PostgreSQL-specific SQL (instead of `sql`).
    #[serde(default)]
    pub postgres: Option<String>,
    /// SQLite-specific SQL (instead of `sql`).
    #[serde(default)]
    pub sqlite: Option<String>,
    /// Dialects the statement exists in; both when absent.
    #[serde(default)]
    pub dialects: Option<Vec<Dialect>>,
}

/// What queries and statements have in common: a name, parameters and SQL per dialect.
pub trait SqlItem {
    /// The item's name.
    fn name(&self) -> &str;
    /// The item's doc.
    fn doc(&self) -> &str;
    /// Declared parameters.
    fn params(&self) -> &[Param];
    /// The `sql` field.
    fn shared_sql(&self) -> Option<&str>;
    /// The dialect-specific field.
    fn dialect_sql(&self, dialect: Dialect) -> Option<&str>;
    /// The `dialects` field.
    fn declared_dialects(&self) -> Option<&[Dialect]>;

    /// The dialects the item exists in.
    fn dialects(&self) -> Vec<Dialect> {
        match self.declared_dialects() {
            Some(list) => Dialect::ALL
                .into_iter()
                .filter(|d| list.contains(d))
                .collect(),
            None => Dialect::ALL.to_vec(),
        }
    }

    /// Whether the item exists in `dialect`.
    fn has_dialect(&self, dialect: Dialect) -> bool {
        self.dialects().contains(&dialect)
    }

    /// The SQL template for `dialect`: the dialect-specific field, else `sql`.
    fn sql_template(&self, dialect: Dialect) -> Option<&str> {
        self.dialect_sql(dialect).or(self.shared_sql())
    }

    /// The spec field holding the SQL for `dialect` (for error locations).
    fn sql_field(&self, dialect: Dialect) -> &'static str {
        if self.dialect_sql(dialect).is_some() {
            dialect.as_str()
        } else {
            "sql"
        }
    }
}

macro_rules! impl_sql_item {
    ($ty:ty) => {
        impl SqlItem for $ty {
            fn name(&self) -> &str {
                &self.name
            }
            fn doc(&self) -> &str {
                &self.doc
            }
            fn params(&self) -> &[Param] {
                &self.params
            }
            fn shared_sql(&self) -> Option<&str> {
                self.sql.as_deref()
            }
            fn dialect_sql(&self, dialect: Dialect) -> Option<&str> {
                match dialect {
                    Dialect::Postgres => self.postgres.as_deref(),
                    Dialect::Sqlite => self.sqlite.as_deref(),
                }
            }
            fn declared_dialects(&self) -> Option<&[Dialect]> {
                self.dialects.as_deref()
            }
        }
    };
}

impl_sql_item!(Query);
impl_sql_item!(Statement);

impl Table {
    /// The declared PostgreSQL `fillfactor`, if any (validated to 10..=100).
    pub fn fillfactor(&self) -> Option<u32> {
        self.postgres
            .and_then(|p| p.fillfactor)
            .and_then(|f| u32::try_from(f).ok())
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A resolved result column: name, type and nullability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultColumn {
    /// Column name.
    pub name: String,
    /// Logical type.
    pub ty: LogicalType,
    /// Whether the value may be NULL.
    pub nullable: bool,
    /// Field doc.
    pub doc: String,
}

impl Query {
    /// The result columns, resolved against `table` (None for `affected`).
    /// Unknown table columns are skipped (validation reports them).
    pub fn result_columns(&self, table: &Table) -> Option<Vec<ResultColumn>> {
        match &self.returns {
            Returns::Keyword(ReturnsKeyword::Affected) => None,
            Returns::Keyword(ReturnsKeyword::Rows) => Some(
                table
                    .columns
                    .iter()
                    .map(|c| ResultColumn {
                        name: c.name.clone(),
                        ty: c.ty,
                        nullable: c.nullable,
                        doc: c.doc.clone(),
                    })
                    .collect(),
            ),
            Returns::Columns { columns } => Some(
                columns
                    .iter()
                    .filter_map(|rc| match rc {
                        ReturnColumn::Table(name) => table.column(name).map(|c| ResultColumn {
                            name: c.name.clone(),
                            ty: c.ty,
                            nullable: c.nullable,
                            doc: c.doc.clone(),
                        }),
                        ReturnColumn::Computed(c) => Some(ResultColumn {
                            name: c.name.clone(),
                            ty: c.ty,
                            nullable: c.nullable,
                            doc: format!("Computed column `{}`.", c.name),
                        }),
                    })
                    .collect(),
            ),
        }
    }
}
