//! Shared helpers: the real spec and history, catalog models, PostgreSQL databases.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use durable_execution_codegen as codegen;
use durable_execution_codegen::render::migrations::SnapTable;

pub(crate) const SPEC: &str = "spec/task_executions.yaml";
pub(crate) const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn read(relative: impl AsRef<Path>) -> String {
    let path = root().join(relative.as_ref());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub(crate) fn read_dir(dir: &Path) -> Vec<(String, String)> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("listable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable");
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                text,
            )
        })
        .collect();
    files.sort();
    files
}

pub(crate) fn spec() -> codegen::Spec {
    codegen::load(SPEC, &read(SPEC)).expect("the committed spec is valid")
}

pub(crate) fn history_in(migrations: &Path) -> codegen::History {
    codegen::History::from_files(
        read_dir(&migrations.join("postgres")),
        read_dir(&migrations.join("sqlite")),
        read_dir(&migrations.join("snapshots")),
    )
    .expect("consistent migration history")
}

pub(crate) fn history() -> codegen::History {
    history_in(&root().join("generated/migrations"))
}

/// The table as the committed migrations leave it (physical column order).
pub(crate) fn target() -> SnapTable {
    history()
        .last_snapshot()
        .expect("at least one migration")
        .table
        .clone()
}

/// A column as read back from a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogColumn {
    pub(crate) name: String,
    pub(crate) ty: String,
    pub(crate) not_null: bool,
    pub(crate) default: Option<String>,
    pub(crate) primary_key: bool,
}

/// An index as read back from a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogIndex {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) unique: bool,
    pub(crate) predicate: Option<String>,
}

/// A fresh PostgreSQL database for one test, dropped by [`PgDatabase::drop_db`].
pub(crate) struct PgDatabase {
    pub(crate) client: tokio_postgres::Client,
    admin: tokio_postgres::Client,
    name: String,
    config: tokio_postgres::Config,
}

fn server_config() -> tokio_postgres::Config {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    tokio_postgres::Config::from_str(&url)
        .unwrap_or_else(|e| panic!("DATABASE_URL `{url}` is invalid: {e}"))
}

async fn connect(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach PostgreSQL ({e}); start it (e.g. `pg_ctlcluster --skip-systemctl-redirect <version> main start`) \
             or set DATABASE_URL. These tests never skip."
        )
    });
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

impl PgDatabase {
    pub(crate) async fn create(test: &str) -> Self {
        let config = server_config();
        let admin = connect(&config).await;
        let name = format!("de_schema_{test}_{}", std::process::id());
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await
            .expect("drop a leftover test database");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let mut db_config = config.clone();
        db_config.dbname(&name);
        let client = connect(&db_config).await;
        Self {
            client,
            admin,
            name,
            config: db_config,
        }
    }

    /// The connection configuration of the test database.
    pub(crate) fn config(&self) -> tokio_postgres::Config {
        self.config.clone()
    }

    pub(crate) async fn drop_db(self) {
        drop(self.client);
        self.admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .await
            .expect("drop test database");
    }

    pub(crate) async fn columns(&self, table: &str) -> Vec<CatalogColumn> {
        let rows = self
            .client
            .query(
                "SELECT c.column_name::text, c.data_type::text, c.is_nullable::text, c.column_default::text, c.is_identity::text,
                        EXISTS (SELECT 1 FROM pg_index ix JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = ANY (ix.indkey::int2[])
                                WHERE ix.indrelid = $1::text::regclass AND ix.indisprimary AND a.attname = c.column_name)
                 FROM information_schema.columns c
                 WHERE c.table_schema = current_schema() AND c.table_name = $2
                 ORDER BY c.ordinal_position",
                &[&table, &table],
            )
            .await
            .expect("read columns");
        rows.iter()
            .map(|r| CatalogColumn {
                name: r.get(0),
                ty: r.get(1),
                not_null: r.get::<_, String>(2) == "NO",
                default: r
                    .get::<_, Option<String>>(3)
                    .map(|d| normalize_pg_default(&d)),
                primary_key: r.get(5),
            })
            .collect()
    }

    pub(crate) async fn indexes(&self, table: &str) -> Vec<CatalogIndex> {
        let rows = self
            .client
            .query(
                "SELECT i.relname::text, ix.indisunique, pg_get_expr(ix.indpred, ix.indrelid),
                        ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                              JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum ORDER BY k.ord)
                 FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
                 WHERE ix.indrelid = $1::text::regclass AND NOT ix.indisprimary
                 ORDER BY i.relname",
                &[&table],
            )
            .await
            .expect("read indexes");
        rows.iter()
            .map(|r| CatalogIndex {
                name: r.get(0),
                unique: r.get(1),
                predicate: r.get(2),
                columns: r.get(3),
            })
            .collect()
    }

    /// The comments of `table`, its columns and its indexes: `(object, comment)`.
    pub(crate) async fn comments(&self, table: &str) -> Vec<(String, Option<String>)> {
        let rows = self
            .client
            .query(
                "SELECT 'table ' || c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c WHERE c.oid = $1::text::regclass
                 UNION ALL
                 SELECT 'column ' || a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped
                 UNION ALL
                 SELECT 'index ' || i.relname, obj_description(i.oid, 'pg_class') FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
                 WHERE ix.indrelid = $1::text::regclass
                 ORDER BY 1",
                &[&table],
            )
            .await
            .expect("read comments");
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    /// PostgreSQL's normalized text of `predicate` over `table` (via a probe index
    /// on a temporary copy), to compare spec predicates with the catalog.
    pub(crate) async fn normalize_predicate(&self, table: &str, predicate: &str) -> String {
        self.client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS pg_temp.probe; CREATE TEMP TABLE probe (LIKE {table}); CREATE INDEX probe_ix ON pg_temp.probe (id) WHERE {predicate}"
            ))
            .await
            .expect("probe index");
        let row = self
            .client
            .query_one(
                "SELECT pg_get_expr(ix.indpred, ix.indrelid) FROM pg_index ix WHERE ix.indexrelid = 'pg_temp.probe_ix'::regclass",
                &[],
            )
            .await
            .expect("probe predicate");
        row.get(0)
    }
}

/// `'ready'::text` → `'ready'` (PostgreSQL shows defaults with their cast).
pub(crate) fn normalize_pg_default(default: &str) -> String {
    for cast in ["::text", "::jsonb", "::bigint", "::integer", "::boolean"] {
        if let Some(stripped) = default.strip_suffix(cast) {
            return stripped.to_owned();
        }
    }
    default.to_owned()
}

/// Applies one PostgreSQL migration file as the migrator does: a file
/// marked `-- transaction: none` (`CREATE INDEX CONCURRENTLY`) one statement
/// at a time (a multi-statement query is an implicit transaction), any
/// other file in one batch.
pub(crate) async fn apply_pg(
    client: &tokio_postgres::Client,
    text: &str,
) -> Result<(), tokio_postgres::Error> {
    if text.lines().any(|line| line == "-- transaction: none") {
        for statement in durable_execution::migrate::split_statements(text) {
            client.batch_execute(statement).await?;
        }
        Ok(())
    } else {
        client.batch_execute(text).await
    }
}
