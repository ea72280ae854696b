//! The PostgreSQL DDL applies and matches the spec; the migrations replay to it.

use durable_execution_codegen::parse::{Dialect, LogicalType};

use crate::common::{PgDatabase, read, spec, target};

async fn load_schema(db: &PgDatabase) {
    db.client
        .batch_execute(&read("generated/schema/postgres.sql"))
        .await
        .expect("generated/schema/postgres.sql applies");
}

async fn load_migrations(db: &PgDatabase) {
    for m in &crate::common::history().postgres {
        crate::common::apply_pg(&db.client, &m.text)
            .await
            .unwrap_or_else(|e| panic!("{} applies: {e}", m.file_name));
    }
}

#[tokio::test]
async fn postgres_schema_matches_the_spec() {
    let db = PgDatabase::create("pg_matches_spec").await;
    load_schema(&db).await;
    let table = target();
    let columns = db.columns(&table.name).await;
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let expected: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, expected, "columns in physical order");
    for (found, col) in columns.iter().zip(&table.columns) {
        assert_eq!(
            found.ty,
            col.ty.sql_type(Dialect::Postgres),
            "type of {}",
            col.name
        );
        if col.ty == LogicalType::Id {
            assert!(
                found.primary_key && found.not_null,
                "{} is the identity key",
                col.name
            );
            continue;
        }
        assert_eq!(found.not_null, !col.nullable, "nullability of {}", col.name);
        assert_eq!(found.default, col.default, "default of {}", col.name);
    }
    let mut indexes = db.indexes(&table.name).await;
    let mut expected = table.indexes.clone();
    indexes.sort_by(|a, b| a.name.cmp(&b.name));
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(indexes.len(), expected.len());
    for (found, ix) in indexes.iter().zip(&expected) {
        assert_eq!(found.name, ix.name);
        assert_eq!(found.columns, ix.columns, "columns of {}", ix.name);
        assert_eq!(found.unique, ix.unique, "uniqueness of {}", ix.name);
        match &ix.predicate {
            None => assert_eq!(found.predicate, None, "{} is not partial", ix.name),
            Some(p) => {
                let normalized = db.normalize_predicate(&table.name, p).await;
                assert_eq!(
                    found.predicate.as_deref(),
                    Some(normalized.as_str()),
                    "predicate of {}",
                    ix.name
                );
            }
        }
    }
    db.drop_db().await;
}

#[tokio::test]
async fn postgres_comments_come_from_the_spec_docs() {
    let db = PgDatabase::create("pg_comments").await;
    load_schema(&db).await;
    let spec = spec();
    let row = db
        .client
        .query_one(
            "SELECT obj_description($1::text::regclass, 'pg_class')",
            &[&spec.table.name],
        )
        .await
        .expect("table comment");
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some(spec.table.doc.as_str())
    );
    for col in &spec.table.columns {
        let row = db
            .client
            .query_one(
                "SELECT col_description($1::text::regclass, a.attnum) FROM pg_attribute a WHERE a.attrelid = $1::text::regclass AND a.attname = $2",
                &[&spec.table.name, &col.name],
            )
            .await
            .expect("column comment");
        assert_eq!(
            row.get::<_, Option<String>>(0).as_deref(),
            Some(col.doc.as_str()),
            "comment of {}",
            col.name
        );
    }
    db.drop_db().await;
}

#[tokio::test]
async fn postgres_migrations_replay_to_the_schema_file() {
    let from_schema = PgDatabase::create("pg_replay_schema").await;
    let from_migrations = PgDatabase::create("pg_replay_migrations").await;
    load_schema(&from_schema).await;
    load_migrations(&from_migrations).await;
    let table = target().name;
    assert_eq!(
        from_migrations.columns(&table).await,
        from_schema.columns(&table).await
    );
    assert_eq!(
        from_migrations.indexes(&table).await,
        from_schema.indexes(&table).await
    );
    from_schema.drop_db().await;
    from_migrations.drop_db().await;
}
