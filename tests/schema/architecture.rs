//! The dependency rules of `docs/architecture.md`, checked on the source:
//! each rule names a folder (or file) of `src/` and the module paths its code
//! must not use. Comment lines are skipped (docs may name any module).

use std::path::{Path, PathBuf};

use crate::common::root;

/// `(folder or file under src/, forbidden module paths, files allowed to break the rule)`.
const RULES: &[(&str, &[&str], &[&str])] = &[
    ("model.rs", &["crate::"], &[]),
    (
        "migrate.rs",
        &[
            "crate::executor",
            "crate::storage::sql",
            "crate::conformance",
        ],
        &[],
    ),
    (
        "schema_check.rs",
        &[
            "crate::executor",
            "crate::storage::sql",
            "crate::conformance",
        ],
        &[],
    ),
    ("storage", &["crate::executor", "crate::conformance"], &[]),
    (
        "storage/sql",
        &[
            "storage::sqlite",
            "storage::postgres",
            "super::sqlite",
            "super::postgres",
            "storage::memory",
        ],
        &[],
    ),
    (
        "storage/sqlite",
        &[
            "storage::postgres",
            "super::postgres",
            "storage::memory",
            "super::memory",
        ],
        &[],
    ),
    (
        "storage/postgres",
        &[
            "storage::sqlite",
            "super::sqlite",
            "storage::memory",
            "super::memory",
        ],
        &[],
    ),
    (
        "executor",
        &[
            "storage::sqlite",
            "storage::postgres",
            "storage::sql",
            "storage::row",
            "storage::memory",
            "SqliteStorage",
            "PostgresStorage",
        ],
        // The one-call enqueue inside a caller's transaction calls the
        // backends' public `insert_in`.
        &["executor/runtime/transaction.rs"],
    ),
    (
        "conformance",
        &[
            "crate::executor",
            "storage::sqlite",
            "storage::postgres",
            "storage::sql",
        ],
        &[],
    ),
];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("listable")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            rust_files(&entry, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

#[test]
fn modules_respect_the_dependency_rules() {
    let src = root().join("src");
    let mut broken = Vec::new();
    for (scope, forbidden, exempt) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(scope), &mut files);
        assert!(!files.is_empty(), "no Rust file under src/{scope}");
        for file in files {
            let relative = file
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            if exempt.contains(&relative.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("readable");
            for (number, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                for path in *forbidden {
                    if code.contains(path) {
                        broken.push(format!(
                            "src/{relative}:{}: uses `{path}` (rule for src/{scope} in docs/architecture.md)",
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_architecture_page_names_files_that_exist() {
    let page = std::fs::read_to_string(root().join("docs/architecture.md")).expect("readable");
    let mut missing = Vec::new();
    for word in page.split('`') {
        let looks_like_path = (word.starts_with("src/")
            || word.starts_with("tests/")
            || word.starts_with("spec/")
            || word.starts_with("codegen/")
            || word.starts_with("cli/")
            || word.starts_with("generated/"))
            && !word.contains(['{', '*', ' ']);
        if looks_like_path && !root().join(word.trim_end_matches('/')).exists() {
            missing.push(word.to_owned());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md names paths that do not exist: {missing:?}"
    );
}
