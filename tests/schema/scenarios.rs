//! Scripted evolutions of a fixture spec (`codegen/tests/fixtures/jobs.yaml`),
//! one per change kind: the base spec becomes migration 0001, applied with
//! the runtime migrator to a real PostgreSQL database and a SQLite file that
//! then get a row; the edited spec becomes migration 0002, applied on top.
//! Each scenario checks that the row's values survive and that the migrated
//! catalog equals the one the new schema file gives a fresh database.

use durable_execution::migrate::{self, Migration};
use durable_execution_codegen as codegen;

use crate::common::{PgDatabase, history_in};

pub(crate) const BASE: &str = "codegen/tests/fixtures/jobs.yaml";

/// The fixture spec text.
pub(crate) fn base_spec() -> String {
    crate::common::read(BASE)
}

/// A spec history in a temp dir (`generated/` as `cargo xtask codegen` writes it).
pub(crate) struct Workspace {
    pub(crate) dir: tempfile::TempDir,
}

impl Workspace {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn history(&self) -> codegen::History {
        history_in(&self.dir.path().join("generated/migrations"))
    }

    /// Renders `spec_text` on top of the history and writes the output.
    pub(crate) fn render(
        &self,
        spec_text: &str,
        options: &codegen::MigrationOptions,
    ) -> Result<codegen::Files, codegen::Error> {
        let spec = codegen::load("spec/jobs.yaml", spec_text)?;
        let (files, _) = codegen::render_committed(&spec, &self.history(), options)?;
        for (path, content) in &files {
            let target = self.dir.path().join(path);
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::write(target, content).expect("write");
        }
        Ok(files)
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(relative)).expect("generated file")
    }

    /// The migrations of `dialect` as the runtime migrator takes them.
    pub(crate) fn migrations(&self, dialect: codegen::parse::Dialect) -> Vec<Migration> {
        self.history()
            .files(dialect)
            .iter()
            .map(|m| Migration {
                version: i64::from(m.version),
                name: leak(m.name.clone()),
                sql: leak(m.text.clone()),
                checksum: leak(codegen::render::migrations::checksum(&m.text)),
            })
            .collect()
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// One database per dialect, migrated along the scenario.
pub(crate) struct Databases {
    pub(crate) pg: PgDatabase,
    pub(crate) sqlite: rusqlite::Connection,
    _sqlite_dir: tempfile::TempDir,
}

impl Databases {
    pub(crate) async fn create(test: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = crate::sqlite::open(&dir);
        Self {
            pg: PgDatabase::create(test).await,
            sqlite,
            _sqlite_dir: dir,
        }
    }

    /// Applies every pending migration of `ws` with the runtime migrator.
    pub(crate) async fn migrate(&mut self, ws: &Workspace) {
        migrate::migrate_postgres_with(
            &mut self.pg.client,
            &ws.migrations(codegen::parse::Dialect::Postgres),
        )
        .await
        .expect("postgres migrations apply");
        migrate::migrate_sqlite_with(
            &mut self.sqlite,
            &ws.migrations(codegen::parse::Dialect::Sqlite),
        )
        .expect("sqlite migrations apply");
    }

    /// Runs `sql` on both databases.
    pub(crate) async fn execute(&self, sql: &str) {
        self.pg.client.batch_execute(sql).await.expect("postgres");
        self.sqlite.execute_batch(sql).expect("sqlite");
    }

    /// `sql` (one text column, one row) on both databases.
    pub(crate) async fn text(&self, sql: &str) -> (String, String) {
        let pg: String = self
            .pg
            .client
            .query_one(sql, &[])
            .await
            .expect("postgres row")
            .get(0);
        let sqlite: String = self
            .sqlite
            .query_row(sql, [], |r| r.get(0))
            .expect("sqlite row");
        (pg, sqlite)
    }

    /// Asserts that the catalogs equal those of the schema files of `ws`.
    pub(crate) async fn assert_catalog_is_the_schema_file(&self, ws: &Workspace, test: &str) {
        let fresh = PgDatabase::create(&format!("{test}_fresh")).await;
        fresh
            .client
            .batch_execute(&ws.read("generated/schema/postgres.sql"))
            .await
            .expect("schema file applies");
        assert_eq!(
            self.pg.columns("jobs").await,
            fresh.columns("jobs").await,
            "postgres columns"
        );
        assert_eq!(
            self.pg.indexes("jobs").await,
            fresh.indexes("jobs").await,
            "postgres indexes"
        );
        assert_eq!(
            self.pg.comments("jobs").await,
            fresh.comments("jobs").await,
            "postgres comments"
        );
        fresh.drop_db().await;

        let dir = tempfile::tempdir().expect("temp dir");
        let fresh = crate::sqlite::open(&dir);
        fresh
            .execute_batch(&ws.read("generated/schema/sqlite.sql"))
            .expect("schema file applies");
        assert_eq!(
            crate::sqlite::columns(&self.sqlite, "jobs"),
            crate::sqlite::columns(&fresh, "jobs"),
            "sqlite columns"
        );
        assert_eq!(
            crate::sqlite::indexes(&self.sqlite, "jobs"),
            crate::sqlite::indexes(&fresh, "jobs"),
            "sqlite indexes"
        );
    }

    pub(crate) async fn drop_db(self) {
        self.pg.drop_db().await;
    }
}

const ROW: &str = "INSERT INTO jobs (job_id, payload, priority, run_at, attempts, owner) VALUES ('j1', '{\"a\":1}', 7, 5, 3, 'w1')";

/// Base spec → 0001 → a row → `edit` → 0002; returns the workspace and databases.
async fn evolve(test: &str, edit: impl Fn(&str) -> String) -> (Workspace, Databases) {
    let ws = Workspace::new();
    ws.render(&base_spec(), &Default::default())
        .expect("base spec renders");
    let mut dbs = Databases::create(test).await;
    dbs.migrate(&ws).await;
    dbs.execute(ROW).await;
    let before = ws.history().next_version();
    ws.render(&edit(&base_spec()), &Default::default())
        .expect("the edit renders without --allow-destructive");
    assert!(ws.history().next_version() > before, "a new migration");
    dbs.migrate(&ws).await;
    (ws, dbs)
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the fixture contains {from:?}");
    text.replacen(from, to, 1)
}

/// `owner` → `worker` (everywhere in the spec), declared as a rename.
pub(crate) fn rename_owner(text: &str) -> String {
    let renamed = text.replace("owner", "worker");
    replace_once(
        &renamed,
        "    - name: worker\n      type: text\n      nullable: true\n",
        "    - name: worker\n      type: text\n      nullable: true\n      renamed_from: owner\n",
    )
}

/// After renaming `owner` to `worker`: the row's value is there under the new
/// name, and the catalogs are the schema files'.
async fn assert_worker_kept(ws: Workspace, dbs: Databases, test: &str) {
    assert_eq!(
        dbs.text("SELECT worker FROM jobs WHERE job_id = 'j1'")
            .await,
        ("w1".to_owned(), "w1".to_owned())
    );
    dbs.assert_catalog_is_the_schema_file(&ws, test).await;
    dbs.drop_db().await;
}

#[tokio::test]
async fn a_declared_rename_keeps_the_values_on_both_dialects() {
    let test = "scn_rename";
    let (ws, dbs) = evolve(test, |text| {
        let renamed = rename_owner(text).replace("ix_jobs_pending", "ix_jobs_due");
        replace_once(
            &renamed,
            "    - name: ix_jobs_due\n",
            "    - name: ix_jobs_due\n      renamed_from: ix_jobs_pending\n",
        )
    })
    .await;
    let history = ws.history();
    assert!(
        history.postgres[1]
            .text
            .contains("RENAME COLUMN owner TO worker")
    );
    assert_worker_kept(ws, dbs, test).await;
}

#[tokio::test]
async fn a_rename_with_a_table_rebuild_keeps_the_values() {
    // A type change forces the SQLite rebuild; the renamed column is copied.
    let test = "scn_rename_rebuild";
    let (ws, dbs) = evolve(test, |text| {
        replace_once(
            &rename_owner(text),
            "      default: \"false\"\n",
            "      default: \"true\"\n",
        )
    })
    .await;
    assert!(
        ws.history().sqlite[1]
            .text
            .contains("CREATE TABLE jobs__new")
    );
    assert_worker_kept(ws, dbs, test).await;
}

#[tokio::test]
async fn a_doc_only_change_reaches_the_postgres_catalog() {
    let test = "scn_comment";
    let (ws, dbs) = evolve(test, |text| {
        let text = replace_once(
            text,
            "doc: Attempts so far.",
            "doc: Attempts so far (retries included).",
        );
        let text = replace_once(
            &text,
            "  doc: Background jobs.",
            "  doc: Background jobs, one row per job.",
        );
        replace_once(
            &text,
            "doc: Lookup by public id.",
            "doc: Lookup by public id (unique).",
        )
    })
    .await;
    let history = ws.history();
    assert_eq!(history.postgres[1].name, "update_comments");
    assert!(
        history.postgres[1]
            .text
            .contains("COMMENT ON COLUMN jobs.attempts IS 'Attempts so far (retries included).';")
    );
    assert!(
        !history.sqlite[1].text.contains("COMMENT"),
        "nothing for SQLite"
    );
    assert!(dbs.pg.comments("jobs").await.contains(&(
        "index ix_jobs_job_id".to_owned(),
        Some("Lookup by public id (unique).".to_owned())
    )));
    dbs.assert_catalog_is_the_schema_file(&ws, test).await;
    dbs.drop_db().await;
}

#[tokio::test]
async fn indexes_are_added_and_dropped_concurrently_in_their_own_migration() {
    let test = "scn_index";
    let (ws, dbs) = evolve(test, |text| {
        // A new column and an index on it (split: the column, then the index),
        // and the removal of an existing index.
        let text = replace_once(
            text,
            "  indexes:\n",
            "    - name: queue\n      type: text\n      default: \"'main'\"\n      doc: Queue name.\n  indexes:\n    - name: ix_jobs_queue\n      columns: [queue, run_at]\n      where: \"done = false\"\n      doc: Pending jobs per queue.\n",
        );
        replace_once(
            &text,
            "    - name: ix_jobs_pending\n      columns: [priority, run_at]\n      where: \"done = false\"\n      doc: Pending jobs by priority.\n",
            "",
        )
    })
    .await;
    let history = ws.history();
    assert_eq!(
        history.postgres.len(),
        3,
        "column migration, then index migration"
    );
    let (columns, indexes) = (&history.postgres[1], &history.postgres[2]);
    assert!(
        columns.text.contains("ADD COLUMN queue"),
        "{}",
        columns.text
    );
    assert!(!columns.text.contains("INDEX"), "{}", columns.text);
    assert!(
        indexes.text.contains("-- transaction: none"),
        "{}",
        indexes.text
    );
    assert!(
        indexes.text.contains(
            "CREATE INDEX CONCURRENTLY ix_jobs_queue ON jobs (queue, run_at) WHERE done = false;"
        ),
        "{}",
        indexes.text
    );
    assert!(
        indexes
            .text
            .contains("DROP INDEX CONCURRENTLY IF EXISTS ix_jobs_pending;")
    );
    assert!(indexes.text.contains(": safe"), "{}", indexes.text);
    assert!(!history.sqlite[2].text.contains("transaction: none"));
    assert_eq!(
        dbs.text("SELECT queue FROM jobs WHERE job_id = 'j1'").await,
        ("main".to_owned(), "main".to_owned())
    );
    dbs.assert_catalog_is_the_schema_file(&ws, test).await;
    dbs.drop_db().await;
}

#[tokio::test]
async fn a_rebuild_and_a_redefined_index_split_into_two_migrations() {
    // The SQLite rebuild (0002) does not recreate the index the change
    // redefines; the index migration (0003) drops it if it exists and builds
    // the new definition.
    let test = "scn_rebuild_index";
    let (ws, dbs) = evolve(test, |text| {
        let text = replace_once(
            text,
            "      default: \"false\"\n",
            "      default: \"true\"\n",
        );
        replace_once(
            &text,
            "      columns: [priority, run_at]\n      where: \"done = false\"\n",
            "      columns: [priority, run_at]\n      where: \"done = false AND attempts < 10\"\n",
        )
    })
    .await;
    let history = ws.history();
    assert_eq!(history.sqlite.len(), 3);
    assert!(history.sqlite[1].text.contains("CREATE TABLE jobs__new"));
    assert!(
        !history.sqlite[1].text.contains("ix_jobs_pending"),
        "{}",
        history.sqlite[1].text
    );
    assert!(
        history.sqlite[2]
            .text
            .contains("DROP INDEX IF EXISTS ix_jobs_pending;")
    );
    assert!(history.postgres[2].text.contains("-- transaction: none"));
    assert_eq!(
        dbs.text("SELECT owner FROM jobs WHERE job_id = 'j1'").await,
        ("w1".to_owned(), "w1".to_owned())
    );
    dbs.assert_catalog_is_the_schema_file(&ws, test).await;
    dbs.drop_db().await;
}

#[tokio::test]
async fn widening_integer_to_bigint_needs_no_flag_and_no_rebuild() {
    let test = "scn_widen";
    let (ws, dbs) = evolve(test, |text| {
        replace_once(
            text,
            "    - name: priority\n      type: integer\n",
            "    - name: priority\n      type: bigint\n",
        )
    })
    .await;
    let history = ws.history();
    let pg = &history.postgres[1].text;
    assert!(pg.contains("ALTER COLUMN priority TYPE bigint"), "{pg}");
    assert!(
        pg.contains("alter column priority (type integer -> bigint): rewrites the table"),
        "{pg}"
    );
    let sqlite = &history.sqlite[1].text;
    assert!(!sqlite.contains("jobs__new"), "no rebuild: {sqlite}");
    assert!(sqlite.contains("Nothing to do on SQLite"), "{sqlite}");
    let pg_value: i64 = dbs
        .pg
        .client
        .query_one("SELECT priority FROM jobs WHERE job_id = 'j1'", &[])
        .await
        .expect("row")
        .get(0);
    assert_eq!(pg_value, 7);
    let sqlite_value: i64 = dbs
        .sqlite
        .query_row("SELECT priority FROM jobs WHERE job_id = 'j1'", [], |r| {
            r.get(0)
        })
        .expect("row");
    assert_eq!(sqlite_value, 7);
    dbs.assert_catalog_is_the_schema_file(&ws, test).await;
    dbs.drop_db().await;
}

const QUEUE_COLUMN: &str = "    - name: queue\n      type: text\n      nullable: true\n      doc: Queue name.\n  indexes:\n";

fn with_custom(text: &str, custom: &str) -> String {
    format!("{text}custom_migrations:\n{custom}")
}

#[tokio::test]
async fn custom_steps_run_in_order_with_the_generated_ones() {
    let test = "scn_custom";
    let custom = "  - name: count_attempt\n    after: 1\n    doc: Before the new column, count one more attempt for every job.\n    sql: UPDATE jobs SET attempts = attempts + 1\n  - name: backfill_queue\n    after: 2\n    doc: Fill the new queue column of existing jobs.\n    postgres: UPDATE jobs SET queue = 'pg-' || job_id WHERE queue IS NULL\n    sqlite: UPDATE jobs SET queue = 'lite-' || job_id WHERE queue IS NULL\n";
    let (ws, mut dbs) = evolve(test, |text| {
        with_custom(&replace_once(text, "  indexes:\n", QUEUE_COLUMN), custom)
    })
    .await;
    let history = ws.history();
    let names: Vec<&str> = history.postgres.iter().map(|m| m.name.as_str()).collect();
    // `after: 1` runs before the schema change (then 0003), `after: 2` after it.
    assert_eq!(
        names,
        [
            "create_jobs",
            "count_attempt",
            "add_column_queue",
            "backfill_queue"
        ]
    );
    assert!(history.postgres[1].is_custom() && !history.postgres[2].is_custom());
    assert_eq!(
        dbs.text("SELECT queue || ':' || attempts FROM jobs WHERE job_id = 'j1'")
            .await,
        ("pg-j1:4".to_owned(), "lite-j1:4".to_owned())
    );
    dbs.assert_catalog_is_the_schema_file(&ws, test).await;

    // Rendering again adds nothing; an edit of a committed step is refused.
    let spec = with_custom(
        &replace_once(&base_spec(), "  indexes:\n", QUEUE_COLUMN),
        custom,
    );
    let again = ws.render(&spec, &Default::default()).expect("renders");
    assert!(!again.keys().any(|p| p.to_string_lossy().contains("/0005")));
    let edited = spec.replace("'pg-' || job_id", "'pg2-' || job_id");
    let err = ws
        .render(&edited, &Default::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("custom migration `backfill_queue` (generated/migrations/postgres/0004_backfill_queue.sql) was changed"),
        "{err}"
    );
    // The migrator refuses a committed file edited after it was applied.
    let path = ws
        .dir
        .path()
        .join("generated/migrations/sqlite/0004_backfill_queue.sql");
    let text = std::fs::read_to_string(&path).expect("file");
    std::fs::write(&path, text.replace("'lite-'", "'other-'")).expect("edit");
    let err = migrate::migrate_sqlite_with(
        &mut dbs.sqlite,
        &ws.migrations(codegen::parse::Dialect::Sqlite),
    )
    .expect_err("an edited applied migration is refused");
    assert!(
        matches!(err, migrate::MigrationError::Divergent { version: 4, .. }),
        "{err}"
    );
    dbs.drop_db().await;
}

/// Renders the base spec, then `edit` of it, which must be refused: the
/// workspace and the error message.
fn refused(edit: impl Fn(&str) -> String) -> (Workspace, String) {
    let ws = Workspace::new();
    ws.render(&base_spec(), &Default::default())
        .expect("base spec renders");
    let err = ws
        .render(&edit(&base_spec()), &Default::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    (ws, err)
}

#[test]
fn a_custom_step_at_another_position_is_refused() {
    let (_, err) = refused(|text| {
        with_custom(
            text,
            "  - name: fix\n    after: 7\n    doc: A fix.\n    sql: UPDATE jobs SET attempts = 0\n",
        )
    });
    assert!(
        err.contains("custom migration `fix` is placed after version 0007, but a new migration can only follow version 0001"),
        "{err}"
    );
}

#[test]
fn a_narrowing_type_change_is_refused_without_the_flag() {
    let (ws, err) = refused(|text| {
        replace_once(
            text,
            "    - name: attempts\n      type: bigint\n",
            "    - name: attempts\n      type: integer\n",
        )
    });
    assert!(
        err.contains("destructive (alter column attempts (type bigint -> integer))"),
        "{err}"
    );
    assert_eq!(ws.history().next_version(), 2, "nothing written");
}

#[test]
fn an_undeclared_rename_is_refused_without_the_flag() {
    let (ws, err) = refused(|text| text.replace("owner", "worker"));
    assert!(err.contains("owner -> worker"), "{err}");
    assert!(err.contains("renamed_from"), "{err}");
    assert_eq!(ws.history().next_version(), 2, "nothing written");
}
