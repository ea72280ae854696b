//! The spec → generated pipeline of `durable-execution`.
//!
//! ```text
//! spec/task_executions.yaml
//!   read      text → serde model (YAML errors with line:column)      read.rs, parse.rs
//!   validate  semantic checks, located with locate.rs                 validate.rs
//!   render    pure renderers → BTreeMap<PathBuf, String>              render/*.rs, templates/*.j2
//!     ddl          generated/schema/{postgres,sqlite}.sql
//!     migrations   generated/migrations/{postgres,sqlite}/NNNN_*.sql, snapshots/, migrations.sum;
//!                  OUT_DIR/migrations.rs
//!     cornucopia   queries/task_executions.sql (→ generated/pg-queries via `cargo xtask codegen`)
//!     sqlite       OUT_DIR/sqlite_queries.rs (typed rusqlite module)
//!     statements   OUT_DIR/pg_statements.rs
//!     rows         OUT_DIR/rows.rs (RawRow, SQLite and cornucopia rows → RawRow)
//! ```
//!
//! Nothing here touches the filesystem or a database: `build.rs` and `xtask`
//! read the files and pass the text in, and write (or compare) the output.

pub mod columns;
pub mod error;
pub mod locate;
pub mod parse;
pub mod read;
pub mod render;
pub mod reserved;
pub mod sql;
pub mod validate;

pub use error::Error;
pub use parse::Spec;
pub use render::migrations::{History, MigrationOptions, MigrationPlan};
pub use render::{Files, REGENERATE_COMMAND};

/// Reads and validates a spec: `path` is shown in messages and headers.
pub fn load(path: &str, text: &str) -> Result<Spec, Error> {
    let spec = read::read(path, text)?;
    validate::validate(&spec, &text.replace("\r\n", "\n"))?;
    Ok(spec)
}

/// Like [`load`], from the raw bytes of the spec file: text that is not
/// UTF-8 is reported at the line and column of the first invalid byte.
pub fn load_bytes(path: &str, bytes: &[u8]) -> Result<Spec, Error> {
    load(path, read::decode(path, bytes)?)
}

/// The committed artifacts the spec renders to: the schema files, the
/// cornucopia input, any new migration with its snapshot, and the
/// `migrations.sum` files. Existing migrations are never part of the output.
pub fn render_committed(
    spec: &Spec,
    history: &History,
    options: &MigrationOptions,
) -> Result<(Files, MigrationPlan), Error> {
    let plan = render::migrations::plan(spec, history, options)?;
    let mut files = render::migrations::render(spec, history, &plan)?;
    files.extend(render::ddl::render(spec, &plan.target)?);
    files.extend(render::cornucopia::render(spec)?);
    Ok((files, plan))
}

/// The modules build.rs writes into `OUT_DIR`: `sqlite_queries.rs`,
/// `pg_statements.rs`, `rows.rs` and `migrations.rs` (for the committed
/// `history`).
pub fn render_out_dir(spec: &Spec, history: &History) -> Result<Files, Error> {
    let mut files = render::sqlite::render(spec)?;
    files.extend(render::statements::render(spec)?);
    files.extend(render::rows::render(spec)?);
    files.extend(render::migrations::render_embedded(
        &spec.source_path,
        history,
    )?);
    Ok(files)
}

/// The fingerprint of what the cornucopia output depends on: sha256 over the
/// cornucopia query file (LF-normalized) and the table's columns as the
/// migrations leave them (name, type, nullability, default; docs, comments
/// and indexes excluded, since they change no query type). Stored as
/// `generated/pg-queries/SOURCE_SHA256`: `cargo xtask codegen` reruns
/// cornucopia (and needs PostgreSQL) only when it changes, so a doc-only
/// edit is checked offline.
pub fn pg_queries_fingerprint(queries_sql: &str, table: &render::migrations::SnapTable) -> String {
    let mut input = format!(
        "queries\n{}\ntable {}\n",
        render::migrations::checksum(queries_sql),
        table.name
    );
    for c in &table.columns {
        input.push_str(&format!(
            "{} {} {} {}\n",
            c.name,
            c.ty.as_str(),
            if c.nullable { "null" } else { "not null" },
            c.default.as_deref().unwrap_or("-")
        ));
    }
    render::migrations::checksum(&input)
}
