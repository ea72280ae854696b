//! The SQLite DDL applies and matches the spec; the migrations replay to it.

use durable_execution_codegen::parse::{Dialect, LogicalType};
use rusqlite::Connection;

use crate::common::{CatalogColumn, CatalogIndex, read, target};

pub(crate) fn open(dir: &tempfile::TempDir) -> Connection {
    Connection::open(dir.path().join("test.db")).expect("open SQLite file")
}

pub(crate) fn columns(conn: &Connection, table: &str) -> Vec<CatalogColumn> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .expect("table_info");
    stmt.query_map([], |r| {
        Ok(CatalogColumn {
            name: r.get("name")?,
            ty: r.get("type")?,
            not_null: r.get::<_, i64>("notnull")? == 1,
            default: r.get("dflt_value")?,
            primary_key: r.get::<_, i64>("pk")? > 0,
        })
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

pub(crate) fn indexes(conn: &Connection, table: &str) -> Vec<CatalogIndex> {
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name")
        .expect("index list");
    let list: Vec<(String, String)> = stmt
        .query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    list.into_iter()
        .map(|(name, sql)| {
            let mut info = conn
                .prepare(&format!("PRAGMA index_info({name})"))
                .expect("index_info");
            let columns = info
                .query_map([], |r| r.get::<_, String>("name"))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            CatalogIndex {
                unique: sql.starts_with("CREATE UNIQUE"),
                predicate: sql.split_once(" WHERE ").map(|(_, p)| p.to_owned()),
                name,
                columns,
            }
        })
        .collect()
}

#[test]
fn sqlite_schema_matches_the_spec() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = open(&dir);
    conn.execute_batch(&read("generated/schema/sqlite.sql"))
        .expect("generated/schema/sqlite.sql applies");
    let table = target();
    let found = columns(&conn, &table.name);
    let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
    let expected: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, expected, "columns in physical order");
    for (f, col) in found.iter().zip(&table.columns) {
        assert_eq!(
            f.ty,
            col.ty.sql_type(Dialect::Sqlite),
            "type of {}",
            col.name
        );
        assert_eq!(
            f.primary_key,
            col.ty == LogicalType::Id,
            "key of {}",
            col.name
        );
        if col.ty != LogicalType::Id {
            assert_eq!(f.not_null, !col.nullable, "nullability of {}", col.name);
            assert_eq!(f.default, col.default, "default of {}", col.name);
        }
    }
    let mut found = indexes(&conn, &table.name);
    let mut expected = table.indexes.clone();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    let expected: Vec<CatalogIndex> = expected
        .into_iter()
        .map(|ix| CatalogIndex {
            name: ix.name,
            columns: ix.columns,
            unique: ix.unique,
            predicate: ix.predicate,
        })
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn sqlite_migrations_replay_to_the_schema_file() {
    let schema_dir = tempfile::tempdir().expect("temp dir");
    let from_schema = open(&schema_dir);
    from_schema
        .execute_batch(&read("generated/schema/sqlite.sql"))
        .expect("schema applies");
    let migrations_dir = tempfile::tempdir().expect("temp dir");
    let from_migrations = open(&migrations_dir);
    for m in &crate::common::history().sqlite {
        from_migrations
            .execute_batch(&m.text)
            .unwrap_or_else(|e| panic!("{} applies: {e}", m.file_name));
    }
    let table = target().name;
    assert_eq!(
        columns(&from_migrations, &table),
        columns(&from_schema, &table)
    );
    assert_eq!(
        indexes(&from_migrations, &table),
        indexes(&from_schema, &table)
    );
}
