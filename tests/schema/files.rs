//! Every generated file is labelled `@generated`, reproducible, and the
//! committed artifacts match what the spec renders.

use std::path::{Path, PathBuf};

use durable_execution_codegen as codegen;

use crate::common::{SPEC, history, read, root, spec};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("listable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn assert_header(path: &Path, text: &str) {
    let head: String = text.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("@generated"),
        "{} has no @generated header:\n{head}",
        path.display()
    );
    assert!(
        head.contains(SPEC),
        "{} does not name {SPEC}:\n{head}",
        path.display()
    );
    assert!(
        head.contains("do not edit"),
        "{} does not say `do not edit`:\n{head}",
        path.display()
    );
    assert!(
        head.contains(codegen::REGENERATE_COMMAND) || head.contains("build.rs"),
        "{} does not name the regenerate command:\n{head}",
        path.display()
    );
}

#[test]
fn every_generated_file_carries_the_generated_header() {
    let mut files = Vec::new();
    walk(&root().join("generated"), &mut files);
    walk(&root().join("queries"), &mut files);
    let out_dir = PathBuf::from(env!("OUT_DIR"));
    for name in ["sqlite_queries.rs", "pg_statements.rs", "migrations.rs"] {
        files.push(out_dir.join(name));
    }
    assert!(files.len() > 10, "found {} files", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        assert_header(&path, &text);
    }
}

#[test]
fn rendering_the_spec_is_deterministic_and_matches_the_committed_files() {
    let render = || {
        let spec = spec();
        let history = history();
        let (files, plan) =
            codegen::render_committed(&spec, &history, &codegen::MigrationOptions::default())
                .expect("renders");
        assert!(
            plan.new_migration.is_none(),
            "the spec changed since the last migration"
        );
        (
            files,
            codegen::render_out_dir(&spec, &history).expect("renders"),
        )
    };
    let (first, first_out) = render();
    let (second, second_out) = render();
    assert_eq!(first, second);
    assert_eq!(first_out, second_out);
    for (path, text) in &first {
        assert_eq!(
            *text,
            read(path),
            "{} is stale; run `{}`",
            path.display(),
            codegen::REGENERATE_COMMAND
        );
    }
    for (name, text) in &first_out {
        let built =
            std::fs::read_to_string(PathBuf::from(env!("OUT_DIR")).join(name)).expect("built");
        assert_eq!(*text, built, "{}", name.display());
    }
}

#[test]
fn migration_sums_cover_every_migration() {
    let history = history();
    for (dialect, list) in [("postgres", &history.postgres), ("sqlite", &history.sqlite)] {
        let sum = read(format!("generated/migrations/{dialect}/migrations.sum"));
        for m in list.iter() {
            let line = format!(
                "{} sha256:{}",
                m.file_name,
                codegen::render::migrations::checksum(&m.text)
            );
            assert!(
                sum.lines().any(|l| l == line),
                "{dialect}: {line} missing from migrations.sum"
            );
        }
        assert_eq!(
            sum.lines().filter(|l| l.contains(".sql sha256:")).count(),
            list.len()
        );
    }
}

#[test]
fn the_pg_queries_fingerprint_matches_its_inputs() {
    let expected = codegen::pg_queries_fingerprint(
        &read("queries/task_executions.sql"),
        &crate::common::target(),
    );
    let stored = read("generated/pg-queries/SOURCE_SHA256");
    assert!(
        stored.lines().any(|l| l == expected),
        "SOURCE_SHA256 is stale:\n{stored}"
    );
}
