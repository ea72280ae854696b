//! The "done when" check, scripted: editing one column in a COPY of the spec
//! (in a temp dir) and running the renderers produces the next migration for
//! both dialects and changes the DDL; the new migration applies on top of the
//! committed ones (keeping the rows) and gives the new schema file.

use std::path::Path;

use durable_execution_codegen as codegen;

use crate::common::{PgDatabase, SPEC, history_in, read, root};

struct Evolution {
    dir: tempfile::TempDir,
    version: u32,
    files: codegen::Files,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("listable") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Copies the spec and the migrations to a temp dir, gives column `input` a
/// default there, renders and writes the result like `cargo xtask codegen`.
fn evolve() -> Evolution {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&root().join("spec"), &dir.path().join("spec"));
    copy_dir(
        &root().join("generated/migrations"),
        &dir.path().join("generated/migrations"),
    );
    let spec_path = dir.path().join(SPEC);
    let original = std::fs::read_to_string(&spec_path).expect("spec");
    let column = "    - name: input\n      type: text\n";
    assert!(
        original.contains(column),
        "the spec has an `input` text column"
    );
    let edited = original.replacen(column, &format!("{column}      default: \"'{{}}'\"\n"), 1);
    std::fs::write(&spec_path, &edited).expect("write the edited copy");

    let text = std::fs::read_to_string(&spec_path).expect("edited spec");
    let spec = codegen::load(SPEC, &text).expect("the edited spec is valid");
    let history = history_in(&dir.path().join("generated/migrations"));
    let (files, plan) =
        codegen::render_committed(&spec, &history, &codegen::MigrationOptions::default())
            .expect("renders without --allow-destructive");
    let new = plan.new_migration.expect("the edit needs a migration");
    assert_eq!(new.version, history.next_version());
    assert_eq!(new.name, "alter_column_input");
    for (path, content) in &files {
        let target = dir.path().join(path);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(target, content).expect("write");
    }
    Evolution {
        dir,
        version: new.version,
        files,
    }
}

#[test]
fn editing_one_column_produces_the_next_migration_for_both_dialects() {
    let evolution = evolve();
    for dialect in ["postgres", "sqlite"] {
        let path = format!(
            "generated/migrations/{dialect}/{:04}_alter_column_input.sql",
            evolution.version
        );
        let text = evolution
            .files
            .get(Path::new(&path))
            .unwrap_or_else(|| panic!("{path} rendered"));
        assert!(
            text.contains("alter column input (default none -> '{}')"),
            "{text}"
        );
        let schema = format!("generated/schema/{dialect}.sql");
        let new_schema = &evolution.files[Path::new(&schema)];
        assert_ne!(*new_schema, read(&schema), "{schema} changed");
        assert!(
            new_schema.contains("DEFAULT '{}'"),
            "{schema} has the new default"
        );
    }
    assert!(
        evolution.files[Path::new(&format!(
            "generated/migrations/postgres/{:04}_alter_column_input.sql",
            evolution.version
        ))]
        .contains("ALTER TABLE task_executions ALTER COLUMN input SET DEFAULT '{}';")
    );
    assert!(
        evolution.files[Path::new(&format!(
            "generated/migrations/sqlite/{:04}_alter_column_input.sql",
            evolution.version
        ))]
        .contains("CREATE TABLE task_executions__new (")
    );
    let snapshot = format!(
        "generated/migrations/snapshots/{:04}.json",
        evolution.version
    );
    assert!(evolution.files.contains_key(Path::new(&snapshot)));
    // The committed migrations are never rewritten.
    for m in crate::common::history()
        .postgres
        .iter()
        .chain(&crate::common::history().sqlite)
    {
        assert!(
            !evolution.files.keys().any(|p| p.ends_with(&m.file_name)),
            "{} rewritten",
            m.file_name
        );
    }
}

const INSERT: &str = "INSERT INTO task_executions (execution_id, task_id, retry_options, sleep_ms_before_run, timeout_ms, input, start_at, created_at, updated_at)
     VALUES ('te_kept', 't', '{}', 0, 1000, '{\"x\":1}', 1, 1, 1)";

#[test]
fn the_sqlite_rebuild_keeps_rows_and_matches_the_new_schema() {
    let evolution = evolve();
    let history = history_in(&evolution.dir.path().join("generated/migrations"));
    let migrated_dir = tempfile::tempdir().expect("temp dir");
    let migrated = crate::sqlite::open(&migrated_dir);
    let (last, earlier) = history.sqlite.split_last().expect("migrations");
    for m in earlier {
        migrated.execute_batch(&m.text).expect("migration applies");
    }
    migrated
        .execute_batch(INSERT)
        .expect("insert before the rebuild");
    migrated
        .execute_batch(&format!("BEGIN; {} COMMIT;", last.text))
        .expect("new migration applies");
    let input: String = migrated
        .query_row(
            "SELECT input FROM task_executions WHERE execution_id = 'te_kept'",
            [],
            |r| r.get(0),
        )
        .expect("row kept");
    assert_eq!(input, "{\"x\":1}");

    let fresh_dir = tempfile::tempdir().expect("temp dir");
    let fresh = crate::sqlite::open(&fresh_dir);
    fresh
        .execute_batch(
            &std::fs::read_to_string(evolution.dir.path().join("generated/schema/sqlite.sql"))
                .expect("schema"),
        )
        .expect("new schema applies");
    assert_eq!(
        crate::sqlite::columns(&migrated, "task_executions"),
        crate::sqlite::columns(&fresh, "task_executions")
    );
    assert_eq!(
        crate::sqlite::indexes(&migrated, "task_executions"),
        crate::sqlite::indexes(&fresh, "task_executions")
    );
}

#[tokio::test]
async fn the_postgres_migration_matches_the_new_schema() {
    let evolution = evolve();
    let history = history_in(&evolution.dir.path().join("generated/migrations"));
    let migrated = PgDatabase::create("pg_evolve_migrated").await;
    for m in &history.postgres {
        crate::common::apply_pg(&migrated.client, &m.text)
            .await
            .unwrap_or_else(|e| panic!("{} applies: {e}", m.file_name));
    }
    let fresh = PgDatabase::create("pg_evolve_fresh").await;
    let schema =
        std::fs::read_to_string(evolution.dir.path().join("generated/schema/postgres.sql"))
            .expect("schema");
    fresh
        .client
        .batch_execute(&schema)
        .await
        .expect("new schema applies");
    assert_eq!(
        migrated.columns("task_executions").await,
        fresh.columns("task_executions").await
    );
    assert_eq!(
        migrated.indexes("task_executions").await,
        fresh.indexes("task_executions").await
    );
    migrated.drop_db().await;
    fresh.drop_db().await;
}
