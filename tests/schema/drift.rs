//! `durable schema check` on real databases: a database migrated through
//! every committed migration matches the schema file (comments included on
//! PostgreSQL); each hand alteration is found.

use durable_execution::{migrate, schema_check};

use crate::common::PgDatabase;

#[tokio::test]
async fn the_postgres_drift_check_finds_each_alteration() {
    let mut db = PgDatabase::create("drift_pg").await;
    migrate::migrate_postgres(&mut db.client)
        .await
        .expect("migrations apply");
    let clean = schema_check::check_postgres(&mut db.client)
        .await
        .expect("check runs");
    assert!(clean.is_empty(), "a migrated database drifts: {clean:#?}");
    db.client
        .batch_execute(
            "ALTER TABLE task_executions ALTER COLUMN index_in_parent TYPE bigint;
             ALTER TABLE task_executions ALTER COLUMN run_output SET NOT NULL;
             ALTER TABLE task_executions ALTER COLUMN status SET DEFAULT 'running';
             DROP INDEX ix_task_executions_execution_id;
             CREATE INDEX ix_by_hand ON task_executions (task_id) WHERE status = 'ready';
             COMMENT ON COLUMN task_executions.input IS 'edited by hand';
             ALTER TABLE task_executions SET (fillfactor = 90);",
        )
        .await
        .expect("alter by hand");
    let found: Vec<String> = schema_check::check_postgres(&mut db.client)
        .await
        .expect("check runs")
        .iter()
        .map(ToString::to_string)
        .collect();
    let expected = [
        "column index_in_parent: database has bigint NOT NULL DEFAULT 0, schema has integer NOT NULL DEFAULT 0",
        "column run_output: database has text NOT NULL, schema has text",
        "column status: database has text NOT NULL DEFAULT 'running'::text, schema has text NOT NULL DEFAULT 'ready'::text",
        "index ix_by_hand: not in the schema (database has (task_id) WHERE (status = 'ready'::text))",
        "index ix_task_executions_execution_id: missing (expected UNIQUE (execution_id))",
        "comment on column input: database has \"edited by hand\", schema has \"Serialized (JSON) input.\"",
        "storage parameter fillfactor: database has 90, schema has 70",
    ];
    for line in expected {
        assert!(found.iter().any(|f| f == line), "{line} not in {found:#?}");
    }
    assert!(
        found
            .iter()
            .any(|f| f.starts_with("comment on index ix_task_executions_execution_id: missing")),
        "{found:#?}"
    );
    assert_eq!(found.len(), expected.len() + 2, "{found:#?}");
    // The scratch schema is gone.
    let left: i64 = db
        .client
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'durable_schema_check_%'",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
    db.drop_db().await;
}

#[test]
fn the_sqlite_drift_check_finds_each_alteration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut conn = crate::sqlite::open(&dir);
    migrate::migrate_sqlite(&mut conn).expect("migrations apply");
    let clean = schema_check::check_sqlite(&conn).expect("check runs");
    assert!(clean.is_empty(), "a migrated database drifts: {clean:#?}");
    conn.execute_batch(
        "DROP INDEX ix_task_executions_execution_id;
         CREATE UNIQUE INDEX ix_task_executions_execution_id ON task_executions (execution_id) WHERE status = 'ready';
         ALTER TABLE task_executions DROP COLUMN run_output;",
    )
    .expect("alter by hand");
    let found: Vec<String> = schema_check::check_sqlite(&conn)
        .expect("check runs")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [
            "column run_output: missing (expected TEXT)",
            "index ix_task_executions_execution_id: database has UNIQUE (execution_id) WHERE status = 'ready', schema has UNIQUE (execution_id)",
        ]
    );
}

#[tokio::test]
async fn opening_postgres_without_migrating_checks_the_version() {
    use durable_execution::storage::{PostgresConfig, PostgresStorage, StorageError};
    let mut db = PgDatabase::create("version_pg").await;
    migrate::migrate_postgres_to(&mut db.client, 1)
        .await
        .expect("migration 1 applies");
    let tokio_config = db.config();
    let config = || PostgresConfig::from_tokio_config(tokio_config.clone()).listen(false);
    let err = PostgresStorage::connect(config())
        .await
        .expect_err("an outdated database is refused");
    assert!(
        matches!(
            err,
            StorageError::Migration(migrate::MigrationError::SchemaOutdated { current: 1, .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("run `durable migrate`"), "{err}");
    PostgresStorage::connect(config().allow_outdated_schema(true))
        .await
        .expect("allowed explicitly");
    let report = migrate::migrate_postgres(&mut db.client)
        .await
        .expect("the rest applies");
    db.client
        .execute(
            "INSERT INTO task_executions_migrations (version, name, checksum, applied_at, execution_ms, success) VALUES ($1, 'future', 'x', 0, 0, true)",
            &[&(report.current_version + 1)],
        )
        .await
        .expect("fake a newer migration");
    let err = PostgresStorage::connect(config().allow_outdated_schema(true))
        .await
        .expect_err("a newer database is refused");
    assert!(
        matches!(
            err,
            StorageError::Migration(migrate::MigrationError::SchemaTooNew { .. })
        ),
        "{err:?}"
    );
    db.drop_db().await;
}

const ROW_AT_0001: &str = "INSERT INTO task_executions (execution_id, task_id, retry_options, sleep_ms_before_run, timeout_ms, input, start_at, created_at, updated_at)
     VALUES ('te_kept', 't', '{}', 0, 1000, '{\"x\":1}', 1, 1, 1)";

#[tokio::test]
async fn an_upgrade_from_0001_with_rows_through_every_committed_migration() {
    let mut db = PgDatabase::create("upgrade_pg").await;
    migrate::migrate_postgres_to(&mut db.client, 1)
        .await
        .expect("0001 applies");
    db.client.batch_execute(ROW_AT_0001).await.expect("row");
    let report = migrate::migrate_postgres(&mut db.client)
        .await
        .expect("every later migration applies");
    assert_eq!(
        report.applied,
        (2..=migrate::postgres_migrations().len() as i64).collect::<Vec<_>>()
    );
    let input: String = db
        .client
        .query_one(
            "SELECT input FROM task_executions WHERE execution_id = 'te_kept'",
            &[],
        )
        .await
        .expect("row kept")
        .get(0);
    assert_eq!(input, "{\"x\":1}");
    let drift = schema_check::check_postgres(&mut db.client)
        .await
        .expect("check runs");
    assert!(drift.is_empty(), "comments included: {drift:#?}");
    db.drop_db().await;

    let dir = tempfile::tempdir().expect("temp dir");
    let mut conn = crate::sqlite::open(&dir);
    migrate::migrate_sqlite_to(&mut conn, 1).expect("0001 applies");
    conn.execute_batch(ROW_AT_0001).expect("row");
    migrate::migrate_sqlite(&mut conn).expect("every later migration applies");
    let input: String = conn
        .query_row(
            "SELECT input FROM task_executions WHERE execution_id = 'te_kept'",
            [],
            |r| r.get(0),
        )
        .expect("row kept");
    assert_eq!(input, "{\"x\":1}");
    assert!(
        schema_check::check_sqlite(&conn)
            .expect("check runs")
            .is_empty()
    );
}
