//! Drift detection (`durable schema check`): compares a live database's
//! catalog with the schema this build was generated from
//! (`generated/schema/{postgres,sqlite}.sql`, rendered from
//! `spec/task_executions.yaml`) and lists every difference.
//!
//! The expected catalog is not modelled by hand: the schema file is applied
//! to a scratch copy — on PostgreSQL a temporary schema inside a transaction
//! that is rolled back, on SQLite an in-memory database — and both catalogs
//! are read the same way, so types, defaults and partial-index predicates
//! are compared in the server's own normalized spelling. Compared: columns
//! (type, nullability, default, primary key), indexes (columns, uniqueness,
//! predicate) and, on PostgreSQL, the comments of the table, its columns and
//! its indexes. Column order is not compared (migrations append columns).

use std::collections::BTreeMap;
use std::fmt;

/// The table the schema check looks at.
pub const TABLE: &str = "task_executions";

/// The PostgreSQL schema file of this build.
pub const POSTGRES_SCHEMA: &str = include_str!("../generated/schema/postgres.sql");

/// The SQLite schema file of this build.
pub const SQLITE_SCHEMA: &str = include_str!("../generated/schema/sqlite.sql");

/// A column as a catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogColumn {
    /// The type as the catalog spells it.
    pub ty: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default expression, normalized by the server.
    pub default: Option<String>,
    /// Part of the primary key.
    pub primary_key: bool,
}

/// An index as a catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogIndex {
    /// Indexed columns, in order.
    pub columns: Vec<String>,
    /// UNIQUE.
    pub unique: bool,
    /// Partial-index predicate, normalized by the server.
    pub predicate: Option<String>,
}

/// The catalog of the table: columns, indexes and comments by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Columns by name.
    pub columns: BTreeMap<String, CatalogColumn>,
    /// Secondary indexes by name.
    pub indexes: BTreeMap<String, CatalogIndex>,
    /// Comments by object (`table task_executions`, `column status`, `index ix_…`).
    pub comments: BTreeMap<String, Option<String>>,
    /// Checked table storage parameters by name (PostgreSQL `fillfactor`
    /// from `pg_class.reloptions`; absent when not set; always empty on SQLite,
    /// which has none).
    pub storage: BTreeMap<String, String>,
}

/// One difference between the database and the schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The object (`column status`, `index ix_…`, `comment on column status`).
    pub object: String,
    /// What the database has (`None`: the object is missing).
    pub database: Option<String>,
    /// What the schema file has (`None`: the object should not exist).
    pub expected: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.database, &self.expected) {
            (None, Some(expected)) => write!(f, "{}: missing (expected {expected})", self.object),
            (Some(database), None) => {
                write!(
                    f,
                    "{}: not in the schema (database has {database})",
                    self.object
                )
            }
            (Some(database), Some(expected)) => write!(
                f,
                "{}: database has {database}, schema has {expected}",
                self.object
            ),
            (None, None) => write!(f, "{}", self.object),
        }
    }
}

fn describe_column(c: &CatalogColumn) -> String {
    let mut out = c.ty.clone();
    if c.primary_key {
        out.push_str(" PRIMARY KEY");
    }
    if c.not_null {
        out.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        out.push_str(&format!(" DEFAULT {d}"));
    }
    out
}

fn describe_index(ix: &CatalogIndex) -> String {
    let mut out = format!(
        "{}({})",
        if ix.unique { "UNIQUE " } else { "" },
        ix.columns.join(", ")
    );
    if let Some(p) = &ix.predicate {
        out.push_str(&format!(" WHERE {p}"));
    }
    out
}

fn describe_comment(c: &Option<String>) -> String {
    c.as_ref()
        .map_or_else(|| "no comment".to_owned(), |t| format!("{t:?}"))
}

fn compare_maps<V: PartialEq>(
    out: &mut Vec<Difference>,
    kind: &str,
    database: &BTreeMap<String, V>,
    expected: &BTreeMap<String, V>,
    describe: impl Fn(&V) -> String,
) {
    for (name, want) in expected {
        match database.get(name) {
            Some(have) if have == want => {}
            have => out.push(Difference {
                object: format!("{kind}{name}"),
                database: have.map(&describe),
                expected: Some(describe(want)),
            }),
        }
    }
    for (name, have) in database {
        if !expected.contains_key(name) {
            out.push(Difference {
                object: format!("{kind}{name}"),
                database: Some(describe(have)),
                expected: None,
            });
        }
    }
}

/// Every difference between `database` and `expected`, columns first.
pub fn compare(database: &Catalog, expected: &Catalog) -> Vec<Difference> {
    let mut out = Vec::new();
    compare_maps(
        &mut out,
        "column ",
        &database.columns,
        &expected.columns,
        describe_column,
    );
    compare_maps(
        &mut out,
        "index ",
        &database.indexes,
        &expected.indexes,
        describe_index,
    );
    compare_maps(
        &mut out,
        "comment on ",
        &database.comments,
        &expected.comments,
        describe_comment,
    );
    compare_maps(
        &mut out,
        "storage parameter ",
        &database.storage,
        &expected.storage,
        |v: &String| v.clone(),
    );
    out
}

/// Why the check could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaCheckError {
    /// A SQLite statement failed.
    #[cfg(feature = "sqlite")]
    #[error("sqlite schema check step `{step}` failed: {source}")]
    Sqlite {
        /// What the check was doing.
        step: &'static str,
        /// The driver error.
        #[source]
        source: rusqlite::Error,
    },
    /// A PostgreSQL statement failed.
    #[cfg(feature = "postgres")]
    #[error("postgres schema check step `{step}` failed: {source}")]
    Postgres {
        /// What the check was doing.
        step: &'static str,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::{Catalog, CatalogColumn, CatalogIndex, Difference, SchemaCheckError, TABLE};
    use rusqlite::Connection;

    fn err(step: &'static str) -> impl Fn(rusqlite::Error) -> SchemaCheckError {
        move |source| SchemaCheckError::Sqlite { step, source }
    }

    /// The catalog of the table in `conn` (empty when it does not exist).
    pub fn catalog_sqlite(conn: &Connection) -> Result<Catalog, SchemaCheckError> {
        let mut catalog = Catalog::default();
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({TABLE})"))
            .map_err(err("table_info"))?;
        let columns = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>("name")?,
                    CatalogColumn {
                        ty: r.get("type")?,
                        not_null: r.get::<_, i64>("notnull")? == 1,
                        default: r.get("dflt_value")?,
                        primary_key: r.get::<_, i64>("pk")? > 0,
                    },
                ))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err("table_info"))?;
        catalog.columns.extend(columns);
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")
            .map_err(err("index list"))?;
        let list = stmt
            .query_map([TABLE], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err("index list"))?;
        for (name, sql) in list {
            let mut info = conn
                .prepare(&format!("PRAGMA index_info({name})"))
                .map_err(err("index_info"))?;
            let columns = info
                .query_map([], |r| r.get::<_, String>("name"))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(err("index_info"))?;
            let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            catalog.indexes.insert(
                name,
                CatalogIndex {
                    columns,
                    unique: sql.starts_with("CREATE UNIQUE"),
                    predicate: sql.split_once(" WHERE ").map(|(_, p)| p.to_owned()),
                },
            );
        }
        Ok(catalog)
    }

    /// The differences between the SQLite database `conn` and this build's
    /// schema file (empty when they agree). Reads only.
    pub fn check_sqlite(conn: &Connection) -> Result<Vec<Difference>, SchemaCheckError> {
        let fresh = Connection::open_in_memory().map_err(err("open scratch database"))?;
        fresh
            .execute_batch(super::SQLITE_SCHEMA)
            .map_err(err("apply the schema file"))?;
        Ok(super::compare(
            &catalog_sqlite(conn)?,
            &catalog_sqlite(&fresh)?,
        ))
    }
}

#[cfg(feature = "sqlite")]
pub use sqlite::{catalog_sqlite, check_sqlite};

#[cfg(feature = "postgres")]
mod postgres {
    use super::{Catalog, CatalogColumn, CatalogIndex, Difference, SchemaCheckError, TABLE};
    use tokio_postgres::GenericClient;

    fn err(step: &'static str) -> impl Fn(tokio_postgres::Error) -> SchemaCheckError {
        move |source| SchemaCheckError::Postgres { step, source }
    }

    /// The catalog of the table in schema `schema`.
    pub async fn catalog_postgres(
        client: &impl GenericClient,
        schema: &str,
    ) -> Result<Catalog, SchemaCheckError> {
        let mut catalog = Catalog::default();
        let rows = client
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                        pg_get_expr(d.adbin, d.adrelid), a.attidentity::text,
                        EXISTS (SELECT 1 FROM pg_index ix WHERE ix.indrelid = c.oid AND ix.indisprimary AND a.attnum = ANY (ix.indkey::int2[])),
                        col_description(c.oid, a.attnum)
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
                 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                &[&schema, &TABLE],
            )
            .await
            .map_err(err("read columns"))?;
        for row in rows {
            let name: String = row.get(0);
            let identity: String = row.get(4);
            let mut ty: String = row.get(1);
            if !identity.is_empty() {
                ty.push_str(if identity == "a" {
                    " GENERATED ALWAYS AS IDENTITY"
                } else {
                    " GENERATED BY DEFAULT AS IDENTITY"
                });
            }
            catalog
                .comments
                .insert(format!("column {name}"), row.get(6));
            catalog.columns.insert(
                name,
                CatalogColumn {
                    ty,
                    not_null: row.get(2),
                    default: row.get(3),
                    primary_key: row.get(5),
                },
            );
        }
        let rows = client
            .query(
                "SELECT i.relname::text, ix.indisunique, pg_get_expr(ix.indpred, ix.indrelid),
                        ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                              JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum ORDER BY k.ord),
                        obj_description(i.oid, 'pg_class')
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_index ix ON ix.indrelid = c.oid JOIN pg_class i ON i.oid = ix.indexrelid
                 WHERE n.nspname = $1 AND c.relname = $2 AND NOT ix.indisprimary",
                &[&schema, &TABLE],
            )
            .await
            .map_err(err("read indexes"))?;
        for row in rows {
            let name: String = row.get(0);
            catalog.comments.insert(format!("index {name}"), row.get(4));
            catalog.indexes.insert(
                name,
                CatalogIndex {
                    unique: row.get(1),
                    predicate: row.get(2),
                    columns: row.get(3),
                },
            );
        }
        let rows = client
            .query(
                "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relname = $2",
                &[&schema, &TABLE],
            )
            .await
            .map_err(err("read the table comment"))?;
        for row in rows {
            catalog
                .comments
                .insert(format!("table {TABLE}"), row.get(0));
        }
        let rows = client
            .query(
                "SELECT o.option_name::text, o.option_value::text
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                      pg_options_to_table(c.reloptions) o
                 WHERE n.nspname = $1 AND c.relname = $2 AND o.option_name = 'fillfactor'",
                &[&schema, &TABLE],
            )
            .await
            .map_err(err("read the storage parameters"))?;
        for row in rows {
            catalog.storage.insert(row.get(0), row.get(1));
        }
        Ok(catalog)
    }

    /// The differences between the table in the connection's current schema
    /// and this build's schema file (empty when they agree). The schema file
    /// is applied to a temporary schema inside a transaction that is rolled
    /// back: nothing is left behind.
    pub async fn check_postgres(
        client: &mut tokio_postgres::Client,
    ) -> Result<Vec<Difference>, SchemaCheckError> {
        let tx = client.transaction().await.map_err(err("begin"))?;
        let live: Option<String> = tx
            .query_one("SELECT current_schema()", &[])
            .await
            .map_err(err("current_schema"))?
            .get(0);
        let live = live.unwrap_or_else(|| "public".to_owned());
        let scratch = format!("durable_schema_check_{}", std::process::id());
        tx.batch_execute(&format!(
            "CREATE SCHEMA {scratch}; SET LOCAL search_path TO {scratch};"
        ))
        .await
        .map_err(err("create the scratch schema"))?;
        tx.batch_execute(super::POSTGRES_SCHEMA)
            .await
            .map_err(err("apply the schema file"))?;
        let database = catalog_postgres(&tx, &live).await?;
        let expected = catalog_postgres(&tx, &scratch).await?;
        tx.rollback().await.map_err(err("rollback"))?;
        Ok(super::compare(&database, &expected))
    }
}

#[cfg(feature = "postgres")]
pub use postgres::{catalog_postgres, check_postgres};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_each_object() {
        let column = |ty: &str| CatalogColumn {
            ty: ty.to_owned(),
            not_null: true,
            default: None,
            primary_key: false,
        };
        let mut expected = Catalog::default();
        expected.columns.insert("a".into(), column("text"));
        expected.columns.insert("b".into(), column("bigint"));
        let mut database = expected.clone();
        database.columns.remove("a");
        database.columns.insert("b".into(), column("integer"));
        database.columns.insert("c".into(), column("text"));
        let shown: Vec<String> = compare(&database, &expected)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "column a: missing (expected text NOT NULL)",
                "column b: database has integer NOT NULL, schema has bigint NOT NULL",
                "column c: not in the schema (database has text NOT NULL)",
            ]
        );
        assert!(compare(&expected, &expected).is_empty());
    }
}
