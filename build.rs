//! Build script: validates the spec, renders the typed SQLite module, the
//! PostgreSQL statement constants and the embedded migrations into `OUT_DIR`,
//! and, in a checkout, refuses to build when the committed artifacts no longer
//! match the spec (a packaged crate was checked when it was packaged).
//!
//! It needs no database and no network, and writes nothing outside `OUT_DIR`.

use std::fs;
use std::path::{Path, PathBuf};

use durable_execution_codegen as codegen;

/// The spec, relative to the workspace root.
const SPEC: &str = "spec/task_executions.yaml";

fn main() {
    if let Err(message) = run() {
        eprintln!("\nerror: {message}\n");
        std::process::exit(1);
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `(file name, text)` of every file in `dir` (none when it does not exist), sorted.
fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, String> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        if path.is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.push((name, read(&path)?));
        }
    }
    files.sort();
    Ok(files)
}

fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn run() -> Result<(), String> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);
    for path in ["spec", "generated", "queries", "codegen/templates"] {
        if root.join(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }

    let spec_path = root.join(SPEC);
    let bytes =
        fs::read(&spec_path).map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    let spec = codegen::load_bytes(SPEC, &bytes).map_err(|e| format!("invalid spec:\n{e}"))?;
    let migrations = root.join("generated/migrations");
    let pg_files = read_dir(&migrations.join("postgres"))?;
    let history = codegen::History::from_files(
        pg_files,
        read_dir(&migrations.join("sqlite"))?,
        read_dir(&migrations.join("snapshots"))?,
    )
    .map_err(|e| format!("{e}; run `{}`", codegen::REGENERATE_COMMAND))?;

    for (path, content) in codegen::render_out_dir(&spec, &history).map_err(|e| e.to_string())? {
        let target = out_dir.join(path);
        if fs::read_to_string(&target).ok().as_deref() != Some(content.as_str()) {
            fs::write(&target, content)
                .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        }
    }

    // A crate built from its package (`cargo package` writes `Cargo.toml.orig`;
    // a registry download has it too) was checked when it was packaged, and
    // ships only the spec and the migrations: the other committed artifacts
    // (schema files, cornucopia input, the pg-queries crate) are not in it.
    if root.join("Cargo.toml.orig").exists() {
        return Ok(());
    }
    let stale = stale_artifacts(&root, &spec, &history)?;
    if !stale.is_empty() {
        return Err(format!(
            "the committed generated files do not match {SPEC}:\n{}\n\
             Regenerate them with `{}` (needs PostgreSQL, DATABASE_URL defaults to the local server), \
             review the diff (including any new migration) and commit it.",
            stale
                .iter()
                .map(|s| format!("  - {s}"))
                .collect::<Vec<_>>()
                .join("\n"),
            codegen::REGENERATE_COMMAND
        ));
    }
    Ok(())
}

/// Describes every committed artifact that differs from what the spec renders.
fn stale_artifacts(
    root: &Path,
    spec: &codegen::Spec,
    history: &codegen::History,
) -> Result<Vec<String>, String> {
    let options = codegen::MigrationOptions {
        name: None,
        allow_destructive: true,
    };
    let mut stale = Vec::new();
    let (files, plan) = match codegen::render_committed(spec, history, &options) {
        Ok(rendered) => rendered,
        Err(e) => {
            return Ok(vec![format!(
                "the spec changed since the last migration: {e}"
            )]);
        }
    };
    for dialect in [
        codegen::parse::Dialect::Postgres,
        codegen::parse::Dialect::Sqlite,
    ] {
        let dir = format!("generated/migrations/{}", dialect.as_str());
        if let Ok(sum) = fs::read_to_string(root.join(&dir).join("migrations.sum")) {
            for name in codegen::render::migrations::edited_migrations(&sum, history.files(dialect))
            {
                stale.push(format!(
                    "{dir}/{name} changed after it was generated: applied migrations are never rewritten; \
                     restore it (git checkout) and put the change in the spec instead"
                ));
            }
        }
    }
    let mut new_files = Vec::new();
    for new in plan.new_migrations() {
        stale.push(format!(
            "the spec changed since the last migration snapshot: migration {:04}_{} is missing",
            new.version, new.name
        ));
        new_files.push(format!("_{}.sql", new.name));
        new_files.push(format!("{:04}.json", new.version));
    }
    for (path, content) in &files {
        let shown = path.display().to_string();
        if new_files.iter().any(|n| shown.ends_with(n.as_str())) {
            continue;
        }
        match fs::read_to_string(root.join(path)) {
            Ok(disk) if normalize(&disk) == *content => {}
            Ok(_) => stale.push(format!("{shown} is out of date")),
            Err(_) => stale.push(format!("{shown} is missing")),
        }
    }
    let queries = codegen::render::cornucopia::queries_path(spec);
    let queries_text = read(&root.join(&queries)).unwrap_or_default();
    let expected = codegen::pg_queries_fingerprint(&queries_text, &plan.target);
    let fingerprint = root.join("generated/pg-queries/SOURCE_SHA256");
    match fs::read_to_string(&fingerprint) {
        Ok(found) if found.lines().any(|l| l.trim() == expected) => {}
        Ok(_) => stale.push(
            "generated/pg-queries was generated from other queries or columns (SOURCE_SHA256 differs)".to_owned(),
        ),
        Err(_) => stale.push("generated/pg-queries/SOURCE_SHA256 is missing".to_owned()),
    }
    Ok(stale)
}
