//! Snapshots of every artifact rendered from the real spec,
//! `spec/task_executions.yaml`, with the committed migration history: the
//! schema DDL and every migration of both dialects, `migrations.sum`, the
//! cornucopia input (`queries/task_executions.sql`), and the modules
//! `build.rs` renders into `OUT_DIR` (the typed SQLite module, the
//! PostgreSQL statement constants, the embedded migration table).
//!
//! A change to the spec or to a renderer shows up here as a snapshot diff
//! that must be reviewed (`cargo insta review`, or `INSTA_UPDATE=always
//! cargo test -p durable-execution-codegen --test real_spec` and a look at
//! `git diff`); CI (`CI=true`) fails on an unreviewed one. The fixture
//! snapshots in `render.rs` keep covering the renderers' edge cases.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use durable_execution_codegen::{
    History, MigrationOptions, load, render_committed, render_out_dir,
};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the codegen crate lives in the workspace")
        .to_path_buf()
}

/// `(file name, text)` of every file in `dir`, sorted.
fn read_dir(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (name, text.replace("\r\n", "\n"))
        })
        .collect();
    files.sort();
    files
}

fn snapshot_name(path: &Path) -> String {
    format!("real_{}", path.to_string_lossy().replace(['/', '.'], "_"))
}

#[test]
fn the_real_spec_renders_the_committed_artifacts() {
    let root = root();
    let text = std::fs::read_to_string(root.join("spec/task_executions.yaml")).unwrap();
    let spec = load("spec/task_executions.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    let migrations = root.join("generated/migrations");
    let history = History::from_files(
        read_dir(&migrations.join("postgres"))
            .into_iter()
            .filter(|(name, _)| name.ends_with(".sql"))
            .collect(),
        read_dir(&migrations.join("sqlite"))
            .into_iter()
            .filter(|(name, _)| name.ends_with(".sql"))
            .collect(),
        read_dir(&migrations.join("snapshots")),
    )
    .expect("the committed history is consistent");

    let (files, plan) =
        render_committed(&spec, &history, &MigrationOptions::default()).expect("renders");
    assert!(
        plan.new_migration.is_none(),
        "the committed migrations are behind the spec: run `cargo xtask codegen`"
    );
    for (path, text) in &files {
        // What is rendered is what is committed (the build's own check, here
        // for every file at once) ...
        let committed = std::fs::read_to_string(root.join(path))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        assert_eq!(
            &committed.replace("\r\n", "\n"),
            text,
            "{} is stale: run `cargo xtask codegen`",
            path.display()
        );
        // ... and a change to it is a reviewed snapshot diff.
        insta::assert_snapshot!(snapshot_name(path), text);
    }
    // Every migration of the chain, as committed (applied migrations are
    // never rewritten: a diff here is a rewritten migration).
    for dialect in ["postgres", "sqlite"] {
        for (name, text) in read_dir(&migrations.join(dialect)) {
            if name.ends_with(".sql") {
                let path = PathBuf::from(format!("generated/migrations/{dialect}/{name}"));
                insta::assert_snapshot!(snapshot_name(&path), text);
            }
        }
    }
    for (path, text) in render_out_dir(&spec, &history).expect("renders OUT_DIR modules") {
        insta::assert_snapshot!(snapshot_name(&Path::new("OUT_DIR").join(path)), text);
    }
}
