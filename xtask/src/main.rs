//! `cargo xtask codegen [--check] [--name NAME] [--allow-destructive]`
//!
//! Rewrites every committed artifact from `spec/task_executions.yaml`: the
//! schema files, a new migration when the spec changed since the last
//! snapshot, the `migrations.sum` files, the cornucopia input and, through a
//! throwaway PostgreSQL database loaded with the migrations in order, the
//! `generated/pg-queries` crate. `--check` renders everything into memory and
//! a temporary directory and fails listing the stale files (CI runs it).
//!
//! This is the only code of the workspace that writes generated files or talks
//! to a database.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use durable_execution_codegen as codegen;

const SPEC: &str = "spec/task_executions.yaml";
const PG_QUERIES_DIR: &str = "generated/pg-queries";
const PG_QUERIES_PACKAGE: &str = "durable-execution-pg-queries";
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const USAGE: &str = "usage: cargo xtask codegen [--check] [--name NAME] [--allow-destructive]";

struct Args {
    check: bool,
    options: codegen::MigrationOptions,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("codegen") => {}
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            std::process::exit(0);
        }
        Some(other) => bail!("unknown task `{other}`\n{USAGE}"),
    }
    let mut parsed = Args {
        check: false,
        options: codegen::MigrationOptions::default(),
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => parsed.check = true,
            "--allow-destructive" => parsed.options.allow_destructive = true,
            "--name" => {
                parsed.options.name = Some(args.next().context("--name needs a value")?);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(parsed)
}

fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn workspace_root() -> Result<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// `(file name, text)` of the files of `dir`, sorted (empty when missing).
fn read_dir(dir: &Path) -> Result<Vec<(String, String)>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        if entry.path().is_file() {
            let text = fs::read_to_string(entry.path())
                .with_context(|| format!("reading {}", entry.path().display()))?;
            files.push((entry.file_name().to_string_lossy().into_owned(), text));
        }
    }
    files.sort();
    Ok(files)
}

fn run() -> Result<()> {
    let args = parse_args()?;
    let root = workspace_root()?;
    let bytes = fs::read(root.join(SPEC)).with_context(|| format!("reading {SPEC}"))?;
    let spec =
        codegen::load_bytes(SPEC, &bytes).map_err(|e| anyhow::anyhow!("invalid spec:\n{e}"))?;
    let migrations_dir = root.join("generated/migrations");
    let history = codegen::History::from_files(
        read_dir(&migrations_dir.join("postgres"))?,
        read_dir(&migrations_dir.join("sqlite"))?,
        read_dir(&migrations_dir.join("snapshots"))?,
    )?;
    for dialect in [
        codegen::parse::Dialect::Postgres,
        codegen::parse::Dialect::Sqlite,
    ] {
        let dir = format!("generated/migrations/{}", dialect.as_str());
        if let Ok(sum) = fs::read_to_string(root.join(&dir).join("migrations.sum")) {
            let edited =
                codegen::render::migrations::edited_migrations(&sum, history.files(dialect));
            if !edited.is_empty() {
                bail!(
                    "{dir}: {} changed after being generated; applied migrations are never rewritten. \
                     Restore them (git checkout) and express the change in the spec instead",
                    edited.join(", ")
                );
            }
        }
    }
    let (files, plan) = codegen::render_committed(&spec, &history, &args.options)?;

    // The PostgreSQL migrations after this run, in order (existing + new).
    let mut pg_migrations: Vec<(String, String)> = history
        .postgres
        .iter()
        .map(|m| (m.file_name.clone(), m.text.clone()))
        .collect();
    for (path, text) in &files {
        if path.starts_with("generated/migrations/postgres")
            && !path.ends_with("migrations.sum")
            && let Some(name) = path.file_name()
        {
            pg_migrations.push((name.to_string_lossy().into_owned(), text.clone()));
        }
    }
    let queries_path = codegen::render::cornucopia::queries_path(&spec);
    let queries_text = files
        .get(&queries_path)
        .cloned()
        .context("the cornucopia input was not rendered")?;

    // cornucopia (and PostgreSQL) only when its output can change: the
    // committed fingerprint covers the query file and the table's columns.
    let pg_dir = root.join(PG_QUERIES_DIR);
    let committed: BTreeMap<PathBuf, String> = read_tree(&pg_dir)?;
    let fingerprint = codegen::pg_queries_fingerprint(&queries_text, &plan.target);
    let up_to_date = committed
        .get(Path::new("SOURCE_SHA256"))
        .is_some_and(|text| text.lines().any(|l| l.trim() == fingerprint));
    let pg_crate = if up_to_date {
        committed.clone()
    } else {
        generate_pg_queries(&queries_path, &queries_text, &pg_migrations, &fingerprint)?
    };

    let mut stale = Vec::new();
    for (path, content) in &files {
        let target = root.join(path);
        let current = fs::read_to_string(&target)
            .ok()
            .map(|t| t.replace("\r\n", "\n"));
        if current.as_deref() == Some(content.as_str()) {
            continue;
        }
        if args.check {
            stale.push(path.display().to_string());
        } else {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&target, content).with_context(|| format!("writing {}", target.display()))?;
            println!("wrote {}", path.display());
        }
    }
    if committed != pg_crate {
        if args.check {
            let paths: std::collections::BTreeSet<&PathBuf> =
                committed.keys().chain(pg_crate.keys()).collect();
            for path in paths {
                if committed.get(path) != pg_crate.get(path) {
                    stale.push(format!("{PG_QUERIES_DIR}/{}", path.display()));
                }
            }
        } else {
            if pg_dir.exists() {
                fs::remove_dir_all(&pg_dir)
                    .with_context(|| format!("removing {}", pg_dir.display()))?;
            }
            for (path, content) in &pg_crate {
                let target = pg_dir.join(path);
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::write(&target, content)
                    .with_context(|| format!("writing {}", target.display()))?;
            }
            println!("wrote {PG_QUERIES_DIR}/ ({} files)", pg_crate.len());
        }
    }

    if args.check {
        if !stale.is_empty() {
            let mut message = format!(
                "generated files are stale (run `{}` and commit the result):\n",
                codegen::REGENERATE_COMMAND
            );
            for s in &stale {
                message.push_str(&format!("  - {s}\n"));
            }
            for new in plan.new_migrations() {
                message.push_str(&format!(
                    "the spec changed since the last migration: {:04}_{} would be created\n",
                    new.version, new.name
                ));
            }
            bail!(message.trim_end().to_owned());
        }
        println!("all generated files are up to date");
    } else {
        for new in plan.new_migrations() {
            println!(
                "new migration {:04}_{}: review generated/migrations/{{postgres,sqlite}}/{:04}_{}.sql before committing",
                new.version, new.name, new.version, new.name
            );
        }
        if plan.new_migration.is_some() {
            println!(
                "lint (safe; takes an exclusive lock; rewrites the table; loses data), also in each migration's header:"
            );
            for line in codegen::render::migrations::lint(&spec, &history, &plan) {
                println!("  {line}");
            }
        }
    }
    Ok(())
}

/// Every file under `dir`, keyed by relative path (empty when missing).
fn read_tree(dir: &Path) -> Result<BTreeMap<PathBuf, String>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in
            fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let relative = path
                    .strip_prefix(dir)
                    .context("path outside the tree")?
                    .to_path_buf();
                out.insert(relative, text.replace("\r\n", "\n"));
            }
        }
    }
    Ok(out)
}

/// The server URL without the database path (`gen_fresh` appends the throwaway database).
fn server_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    match query {
        Some(q) if !q.is_empty() => format!("{scheme}://{authority}?{q}"),
        _ => format!("{scheme}://{authority}"),
    }
}

/// Runs cornucopia against a throwaway database loaded with the migrations in
/// order and returns the generated crate (relative path → text), with
/// `@generated` headers, rustfmt formatting and the `SOURCE_SHA256` fingerprint.
fn generate_pg_queries(
    queries_path: &Path,
    queries_text: &str,
    pg_migrations: &[(String, String)],
    fingerprint: &str,
) -> Result<BTreeMap<PathBuf, String>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let input = tempfile::tempdir().context("creating a temporary directory")?;
    let queries_dir = input.path().join("queries");
    fs::create_dir_all(&queries_dir)?;
    let file_name = queries_path
        .file_name()
        .context("queries path has no file name")?;
    fs::write(queries_dir.join(file_name), queries_text)?;
    let mut schema_files = Vec::new();
    let migrations_dir = input.path().join("migrations");
    fs::create_dir_all(&migrations_dir)?;
    for (name, text) in pg_migrations {
        let path = migrations_dir.join(name);
        // cornucopia loads each file as one multi-statement query, an implicit
        // transaction where CONCURRENTLY is refused; the throwaway database is
        // empty, so the plain statements build the same schema.
        let text = if text.lines().any(|l| l.trim() == "-- transaction: none") {
            text.replace(" CONCURRENTLY ", " ")
        } else {
            text.clone()
        };
        fs::write(&path, text)?;
        schema_files.push(path);
    }
    let output = input.path().join("pg-queries");
    let config = cornucopia::config::Config::builder()
        .queries(&queries_dir)
        .destination(&output)
        .name(PG_QUERIES_PACKAGE)
        .sync(false)
        .r#async(true)
        .params_only(true)
        .build();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let db_name = format!("de_codegen_{}_{nanos}", std::process::id());
    cornucopia::gen_fresh(
        &server_url(&url),
        &db_name,
        &schema_files,
        None,
        false,
        config,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "cornucopia failed (PostgreSQL at {url}; set DATABASE_URL to use another server):\n{}",
            e.report()
        )
    })?;

    // rustfmt is what `cargo fmt --check` applies to this workspace member; run
    // it ourselves so the output does not depend on cornucopia finding it.
    let status = Command::new("rustfmt")
        .args(["--edition", "2024"])
        .arg(output.join("src/lib.rs"))
        .status()
        .context("running rustfmt (install it with `rustup component add rustfmt`)")?;
    if !status.success() {
        bail!("rustfmt failed on the generated crate");
    }

    let mut files = read_tree(&output)?;
    let manifest = files
        .get_mut(Path::new("Cargo.toml"))
        .context("cornucopia wrote no Cargo.toml")?;
    *manifest = publishable_manifest(manifest)?;
    let header_rs = format!(
        "// @generated from {SPEC} (via queries/{}) by cornucopia; do not edit. Regenerate with `{}`.\n",
        file_name.to_string_lossy(),
        codegen::REGENERATE_COMMAND
    );
    for (path, text) in files.iter_mut() {
        let header = match path.extension().and_then(|e| e.to_str()) {
            Some("rs") => header_rs.clone(),
            Some("toml") => header_rs.replacen("//", "#", 1),
            _ => continue,
        };
        *text = format!("{header}{text}");
    }
    files.insert(
        PathBuf::from("README.md"),
        format!(
            "<!-- @generated from {SPEC} by `{}`; do not edit. -->\n{PG_QUERIES_README}",
            codegen::REGENERATE_COMMAND
        ),
    );
    files.insert(
        PathBuf::from("SOURCE_SHA256"),
        format!(
            "# @generated from {SPEC}; do not edit. Regenerate with `{}`.\n\
             # sha256 of queries/{} and the table's columns this crate was generated from (build.rs compares it;\n\
             # `cargo xtask codegen` reruns cornucopia only when it changes):\n\
             {fingerprint}\n",
            codegen::REGENERATE_COMMAND,
            file_name.to_string_lossy(),
        ),
    );
    Ok(files)
}

/// The `[package]` table of the generated crate: cornucopia's has version
/// 0.0.0 and `publish = false`, but the library depends on this crate by
/// version, so it is published with it (same version, license and MSRV,
/// inherited from the workspace).
const PG_QUERIES_PACKAGE_TABLE: &str = r#"[package]
name = "durable-execution-pg-queries"
version.workspace = true
description = "Typed PostgreSQL queries of durable-execution, generated by cornucopia from its spec (an implementation detail of durable-execution)"
edition.workspace = true
rust-version.workspace = true
license.workspace = true
readme = "README.md"
keywords = ["durable-execution", "postgres", "cornucopia"]
categories = ["database"]
"#;

/// The generated crate's README (shown on its registry page).
const PG_QUERIES_README: &str = "\
# durable-execution-pg-queries

The typed PostgreSQL queries of the `durable-execution` crate, generated by
[cornucopia](https://crates.io/crates/cornucopia) from its spec. It is an
implementation detail of `durable-execution` (the `postgres` feature) and is
published only so that `durable-execution` can depend on it by version; its
API follows the spec and changes with it. Use `durable-execution` instead.
";

/// Replaces the `[package]` table of cornucopia's manifest with
/// [`PG_QUERIES_PACKAGE_TABLE`], keeping every other table as generated.
fn publishable_manifest(manifest: &str) -> Result<String> {
    let start = manifest
        .find("[package]\n")
        .context("the generated Cargo.toml has no [package] table")?;
    let body = start + "[package]\n".len();
    let end = manifest[body..]
        .find("\n[")
        .map(|i| body + i + 1)
        .context("the generated Cargo.toml has nothing after [package]")?;
    Ok(format!(
        "{}{PG_QUERIES_PACKAGE_TABLE}\n{}",
        &manifest[..start],
        &manifest[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::{publishable_manifest, server_url};

    #[test]
    fn the_generated_manifest_becomes_publishable() {
        let generated = "# header\n[package]\nname = \"x\"\nversion = \"0.0.0\"\npublish = false\n\n[dependencies.futures]\nversion = \"^0.3\"\n";
        let manifest = publishable_manifest(generated).expect("has a [package] table");
        assert!(
            manifest.starts_with("# header\n[package]\nname = \"durable-execution-pg-queries\"\n")
        );
        assert!(manifest.contains("version.workspace = true\n"));
        assert!(!manifest.contains("publish"));
        assert!(!manifest.contains("0.0.0"));
        assert!(manifest.ends_with("\n[dependencies.futures]\nversion = \"^0.3\"\n"));
        assert!(publishable_manifest("[dependencies]\n").is_err());
    }

    #[test]
    fn server_url_drops_the_database_and_keeps_options() {
        assert_eq!(
            server_url("postgres://postgres@127.0.0.1:5432/test"),
            "postgres://postgres@127.0.0.1:5432"
        );
        assert_eq!(
            server_url("postgresql://u:p@db:5433/app?sslmode=disable"),
            "postgresql://u:p@db:5433?sslmode=disable"
        );
        assert_eq!(server_url("postgres://localhost"), "postgres://localhost");
    }
}
