//! Issue 12 item 4, scripted: adding a nullable column and exposing it on
//! `TaskExecution` edits by hand only the spec, the model field and the one
//! hand-written row conversion (`RawRow::into_loaded`); everything else
//! (the row types of both drivers, `RawRow`, the conversions into it, the
//! migrations, the schema files, the cornucopia queries) is regenerated.
//!
//! The test copies the workspace (without `target/`) to a temp dir, makes the
//! three edits there, runs `cargo xtask codegen` in the copy (cornucopia
//! needs PostgreSQL: `DATABASE_URL`, default the local server; the test
//! fails with xtask's message when none is reachable), then `cargo check`s
//! the library and the CLI, every target (tests, benches, examples), in the
//! copy. The copy builds into `target/tmp/add-column-test` (shared between
//! runs, so only the workspace's own crates are compiled again) with
//! `--offline --locked`.
//!
//! Ignored by default (minutes on a cold cache); `.ci/run` runs it
//! explicitly: `cargo test --test schema -- --ignored add_column`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{DEFAULT_DATABASE_URL, SPEC, root};

/// What is copied: the workspace without `target/` and `.git`.
const COPIED: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "build.rs",
    "README.md",
    "clippy.toml",
    ".cargo",
    "spec",
    "src",
    "generated",
    "queries",
    "codegen",
    "dialect",
    "xtask",
    "cli",
    "tests",
    "benches",
    "examples",
    "docs",
];

/// The model file and the one hand-written conversion.
const MODEL: &str = "src/model.rs";
const CONVERSION: &str = "src/storage/row.rs";

fn copy_tree(from: &Path, to: &Path) {
    if from.is_file() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
        return;
    }
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("listable") {
        let path = entry.expect("entry").path();
        copy_tree(&path, &to.join(path.file_name().expect("name")));
    }
}

/// Every file under `dir`, relative, with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("listable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let relative = path.strip_prefix(base).expect("under base").to_path_buf();
                out.insert(relative, std::fs::read(&path).expect("readable"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    for name in COPIED {
        let path = dir.join(name);
        if path.is_file() {
            out.insert(PathBuf::from(name), std::fs::read(&path).expect("readable"));
        } else if path.is_dir() {
            walk(dir, &path, &mut out);
        }
    }
    out
}

/// A scripted hand edit: replaces the one occurrence of `anchor` in
/// `relative` with `replacement`, and records the file.
fn edit(
    copy: &Path,
    edited: &mut BTreeSet<String>,
    relative: &str,
    anchor: &str,
    replacement: &str,
) {
    let path = copy.join(relative);
    let text = std::fs::read_to_string(&path).expect("readable");
    assert_eq!(
        text.matches(anchor).count(),
        1,
        "{relative} should contain exactly one {anchor:?}"
    );
    std::fs::write(&path, text.replacen(anchor, replacement, 1)).expect("writable");
    edited.insert(relative.to_owned());
}

fn cargo(copy: &Path, target_dir: &Path, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let database_url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let output = Command::new(cargo)
        .args(args)
        .current_dir(copy)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("DATABASE_URL", database_url)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "`cargo {}` failed in the copy ({}):\n{}{}",
        args.join(" "),
        copy.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
#[ignore = "minutes on a cold cache and needs PostgreSQL; .ci/run runs it with --ignored"]
fn adding_a_nullable_column_edits_the_spec_the_model_and_one_conversion() {
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("durable-execution");
    for name in COPIED {
        let from = root().join(name);
        if from.exists() {
            copy_tree(&from, &copy.join(name));
        }
    }
    let before = files(&copy);

    // The change, by hand: the column in the spec, the field on the model,
    // one line in the one conversion.
    let mut edited = BTreeSet::new();
    edit(
        &copy,
        &mut edited,
        SPEC,
        // The column goes last, just before the table's indexes (whatever
        // the last column is today).
        "\n  indexes:\n",
        "\n\
         \x20   - name: note\n\
         \x20     type: text\n\
         \x20     nullable: true\n\
         \x20     doc: A free-form note on the execution.\n\
         \x20 indexes:\n",
    );
    edit(
        &copy,
        &mut edited,
        MODEL,
        "    pub updated_at: Millis,\n",
        "    pub updated_at: Millis,\n    \
         /// A free-form note on the execution.\n    pub note: Option<String>,\n",
    );
    edit(
        &copy,
        &mut edited,
        CONVERSION,
        "            updated_at: self.updated_at,\n",
        "            updated_at: self.updated_at,\n            note: self.note,\n",
    );
    let expected: BTreeSet<String> = [SPEC, MODEL, CONVERSION].map(String::from).into();
    assert_eq!(edited, expected, "the files edited by hand");

    // Everything else is generated, as `cargo xtask codegen` does it.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("add-column-test");
    cargo(
        &copy,
        &target_dir,
        &[
            "run",
            "--offline",
            "--locked",
            "-q",
            "-p",
            "xtask",
            "--",
            "codegen",
        ],
    );
    let after = files(&copy);
    let changed: BTreeSet<String> = after
        .iter()
        .filter(|(path, text)| before.get(*path) != Some(*text))
        .map(|(path, _)| path.display().to_string())
        .chain(
            before
                .keys()
                .filter(|path| !after.contains_key(*path))
                .map(|path| path.display().to_string()),
        )
        .collect();
    let regenerated: BTreeSet<&String> = changed.difference(&edited).collect();
    eprintln!(
        "edited by hand ({}): {edited:?}\nregenerated ({}): {regenerated:?}",
        edited.len(),
        regenerated.len()
    );
    for path in &regenerated {
        assert!(
            path.starts_with("generated/") || path.starts_with("queries/"),
            "{path} changed but is neither edited by hand nor generated"
        );
    }
    assert!(
        regenerated
            .iter()
            .any(|p| p.starts_with("generated/migrations/postgres/") && p.ends_with("_note.sql")),
        "a new migration adds the column: {regenerated:?}"
    );

    // The library (both backends, the memory backend, every test and
    // bench) and the CLI compile with the new column.
    cargo(
        &copy,
        &target_dir,
        &[
            "check",
            "--offline",
            "--locked",
            "-q",
            "-p",
            "durable-execution",
            "-p",
            "durable-execution-cli",
            "--all-targets",
        ],
    );
}
