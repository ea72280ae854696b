//! The PostgreSQL statement constants (rendered by build.rs) prepare against
//! the migrated schema with exactly their declared parameters.

use crate::common::{PgDatabase, history};

#[allow(dead_code, unreachable_pub)]
mod pg_statements {
    include!(concat!(env!("OUT_DIR"), "/pg_statements.rs"));
}

#[tokio::test]
async fn every_postgres_statement_prepares_with_its_declared_parameters() {
    let db = PgDatabase::create("pg_statements").await;
    for m in &history().postgres {
        crate::common::apply_pg(&db.client, &m.text)
            .await
            .expect("migration applies");
    }
    db.client
        .batch_execute(pg_statements::CREATE_MIGRATIONS_TABLE)
        .await
        .expect("migrations table");
    let spec = crate::common::spec();
    assert!(!pg_statements::ALL.is_empty());
    for (name, sql) in pg_statements::ALL {
        let declared = spec
            .statements
            .iter()
            .find(|s| s.name == *name)
            .map(|s| s.params.len())
            .unwrap_or_else(|| panic!("{name} is not in the spec"));
        assert!(
            !sql.contains(':') || !sql.contains(" :"),
            "{name} still has :name parameters: {sql}"
        );
        if sql.trim_start().to_ascii_uppercase().starts_with("CREATE") {
            continue; // already executed above
        }
        let statement = db
            .client
            .prepare(sql)
            .await
            .unwrap_or_else(|e| panic!("{name} does not prepare: {e}\n{sql}"));
        assert_eq!(statement.params().len(), declared, "{name}: parameters");
    }
    db.drop_db().await;
}
