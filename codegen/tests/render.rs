//! Snapshot tests of every renderer, for both dialects, over the fixture
//! specs (`fixtures/*.yaml`) and over spec evolutions (`fixtures/evolve/*.yaml`,
//! each a change of `fixtures/jobs.yaml`). Review changes with `cargo insta review`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use durable_execution_codegen::{
    Files, History, MigrationOptions, Spec, load, render_committed, render_out_dir,
};

fn load_fixture(path: &Path) -> Spec {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let name = format!(
        "spec/{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .expect("file name")
    );
    load(&name, &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The history after writing `files` on top of `history`.
fn apply(history: &History, files: &Files) -> History {
    let mut dirs: BTreeMap<&str, Vec<(String, String)>> = BTreeMap::new();
    for (dialect, list) in [("postgres", &history.postgres), ("sqlite", &history.sqlite)] {
        let entry = dirs.entry(dialect).or_default();
        entry.extend(list.iter().map(|m| (m.file_name.clone(), m.text.clone())));
    }
    let snapshots = dirs.entry("snapshots").or_default();
    for s in &history.snapshots {
        snapshots.push((format!("{:04}.json", s.version), serde_json_text(s)));
    }
    for (path, text) in files {
        let mut parts = path.iter().map(|p| p.to_string_lossy().into_owned());
        if parts.next().as_deref() == Some("generated")
            && parts.next().as_deref() == Some("migrations")
            && let (Some(dir), Some(file)) = (parts.next(), parts.next())
            && file != "migrations.sum"
        {
            let key: &str = match dir.as_str() {
                "postgres" => "postgres",
                "sqlite" => "sqlite",
                _ => "snapshots",
            };
            dirs.entry(key).or_default().push((file, text.clone()));
        }
    }
    let mut take = |k: &str| dirs.remove(k).unwrap_or_default();
    History::from_files(take("postgres"), take("sqlite"), take("snapshots"))
        .expect("consistent history")
}

fn serde_json_text(snapshot: &durable_execution_codegen::render::migrations::Snapshot) -> String {
    durable_execution_codegen::render::migrations::snapshot_text(snapshot)
        .expect("snapshot serializes")
}

fn snapshot_name(path: &Path) -> String {
    path.to_string_lossy().replace(['/', '.'], "_")
}

#[test]
fn fixtures_render_every_artifact() {
    insta::glob!("fixtures/*.yaml", |path| {
        let spec = load_fixture(path);
        let (files, plan) =
            render_committed(&spec, &History::default(), &MigrationOptions::default())
                .expect("renders");
        let new = plan.new_migration.expect("first migration");
        assert_eq!((new.version, new.name.as_str()), (1, "create_jobs"));
        let history = apply(&History::default(), &files);
        let out = render_out_dir(&spec, &history).expect("renders OUT_DIR modules");
        let mut all: Vec<(PathBuf, String)> = files.into_iter().collect();
        all.extend(
            out.into_iter()
                .map(|(p, t)| (PathBuf::from("OUT_DIR").join(p), t)),
        );
        for (path, text) in all {
            insta::assert_snapshot!(snapshot_name(&path), text);
        }
    });
}

#[test]
fn evolutions_render_a_second_migration_for_both_dialects() {
    let base =
        load_fixture(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jobs.yaml"));
    let (first, _) = render_committed(&base, &History::default(), &MigrationOptions::default())
        .expect("renders");
    let history = apply(&History::default(), &first);
    insta::glob!("fixtures/evolve/*.yaml", |path| {
        let spec = load_fixture(path);
        let options = MigrationOptions {
            name: None,
            allow_destructive: true,
        };
        let (files, plan) = render_committed(&spec, &history, &options).expect("renders");
        let new = plan.new_migration.as_ref().expect("a second migration");
        assert_eq!(new.version, 2);
        let mut migration_files = 0;
        for (path, text) in &files {
            let shown = path.to_string_lossy();
            let new_file = shown.contains("/0002") || shown.contains("/0003");
            if new_file || shown.starts_with("generated/schema") {
                migration_files +=
                    usize::from(shown.contains("/0002_") || shown.contains("/0003_"));
                insta::assert_snapshot!(snapshot_name(path), text);
            }
            if shown.starts_with("generated/schema") {
                assert_ne!(Some(text), first.get(path), "{shown} did not change");
            }
        }
        assert_eq!(
            migration_files,
            2 * plan.new_migrations().count(),
            "each new migration in both dialects"
        );
        // Rendering again on top of the new history needs no further migration.
        let after = apply(&history, &files);
        let (_, again) = render_committed(&spec, &after, &options).expect("renders");
        assert!(again.new_migration.is_none());
    });
}

#[test]
fn destructive_changes_need_the_flag() {
    let base =
        load_fixture(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jobs.yaml"));
    let (first, _) = render_committed(&base, &History::default(), &MigrationOptions::default())
        .expect("renders");
    let history = apply(&History::default(), &first);
    let spec = load_fixture(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evolve/drop_column.yaml"),
    );
    let err = render_committed(&spec, &history, &MigrationOptions::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "the spec change is destructive (drop column priority); review it and rerun `cargo xtask codegen --allow-destructive`"
        )
    );
}

#[test]
fn migration_names_can_be_given() {
    let base =
        load_fixture(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jobs.yaml"));
    let (first, _) = render_committed(&base, &History::default(), &MigrationOptions::default())
        .expect("renders");
    let history = apply(&History::default(), &first);
    let spec = load_fixture(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evolve/add_column.yaml"),
    );
    let options = MigrationOptions {
        name: Some("queues".to_owned()),
        allow_destructive: false,
    };
    let (files, _) = render_committed(&spec, &history, &options).expect("renders");
    assert!(files.contains_key(Path::new("generated/migrations/postgres/0002_queues.sql")));
    assert!(files.contains_key(Path::new("generated/migrations/sqlite/0002_queues.sql")));
    let bad = MigrationOptions {
        name: Some("Queues!".to_owned()),
        allow_destructive: false,
    };
    assert!(render_committed(&spec, &history, &bad).is_err());
}

#[test]
fn rendering_is_deterministic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jobs.yaml");
    let render = || {
        let spec = load_fixture(&path);
        let (files, _) = render_committed(&spec, &History::default(), &MigrationOptions::default())
            .expect("renders");
        let history = apply(&History::default(), &files);
        (files, render_out_dir(&spec, &history).expect("renders"))
    };
    assert_eq!(render(), render());
}

fn jobs_history() -> History {
    let base =
        load_fixture(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jobs.yaml"));
    let (first, _) = render_committed(&base, &History::default(), &MigrationOptions::default())
        .expect("renders");
    apply(&History::default(), &first)
}

#[test]
fn declared_renames_rename_in_place() {
    let history = jobs_history();
    let spec = load_fixture(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evolve/rename.yaml"),
    );
    let (files, plan) =
        render_committed(&spec, &history, &MigrationOptions::default()).expect("not destructive");
    let new = plan.new_migration.expect("a migration");
    assert_eq!(new.name, "update_jobs");
    let pg = &files[Path::new("generated/migrations/postgres/0002_update_jobs.sql")];
    assert!(
        pg.contains("ALTER TABLE jobs RENAME COLUMN owner TO worker;"),
        "{pg}"
    );
    assert!(
        pg.contains("ALTER INDEX ix_jobs_pending RENAME TO ix_jobs_due;"),
        "{pg}"
    );
    assert!(!pg.contains("DROP COLUMN"), "{pg}");
    let sqlite = &files[Path::new("generated/migrations/sqlite/0002_update_jobs.sql")];
    assert!(
        sqlite.contains("ALTER TABLE jobs RENAME COLUMN owner TO worker;"),
        "{sqlite}"
    );
    assert!(sqlite.contains("DROP INDEX ix_jobs_pending;"), "{sqlite}");
    assert!(sqlite.contains("CREATE INDEX ix_jobs_due"), "{sqlite}");
    // The renamed column keeps its physical position.
    let names: Vec<&str> = plan
        .target
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names.last(), Some(&"worker"));
}

#[test]
fn a_drop_and_add_of_the_same_type_is_refused_as_a_likely_rename() {
    let history = jobs_history();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/evolve/rename.yaml");
    let text = std::fs::read_to_string(&path)
        .expect("fixture")
        .replace("      renamed_from: owner\n", "");
    let spec = load("spec/rename.yaml", &text).expect("valid");
    let err = render_committed(&spec, &history, &MigrationOptions::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("(owner -> worker)"), "{err}");
    assert!(err.contains("renamed_from: OLD"), "{err}");
    assert!(err.contains("--allow-destructive"), "{err}");
    let options = MigrationOptions {
        name: None,
        allow_destructive: true,
    };
    let (files, _) = render_committed(&spec, &history, &options).expect("allowed with the flag");
    assert!(
        files.values().any(|t| t.contains("DROP COLUMN owner")),
        "the flag drops the column"
    );
}

#[test]
fn the_cornucopia_fingerprint_ignores_docs_and_indexes() {
    let history = jobs_history();
    let fingerprint = |fixture: &str| {
        // One spec path for all: the path is in the query file's header.
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture))
            .expect("fixture");
        let spec = load("spec/jobs.yaml", &text).expect("valid");
        let options = MigrationOptions {
            name: None,
            allow_destructive: true,
        };
        let (files, plan) = render_committed(&spec, &history, &options).expect("renders");
        let queries = &files[&durable_execution_codegen::render::cornucopia::queries_path(&spec)];
        durable_execution_codegen::pg_queries_fingerprint(queries, &plan.target)
    };
    let base = fingerprint("tests/fixtures/jobs.yaml");
    assert_eq!(base, fingerprint("tests/fixtures/evolve/comment.yaml"));
    assert_eq!(base, fingerprint("tests/fixtures/evolve/add_index.yaml"));
    assert_ne!(base, fingerprint("tests/fixtures/evolve/add_column.yaml"));
}
