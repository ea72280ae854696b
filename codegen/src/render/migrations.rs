//! Versioned migrations: snapshots, diffing, migration files, `migrations.sum`
//! and the embedded-migrations module (`OUT_DIR/migrations.rs`).
//!
//! A migration is computed by diffing the spec's table against the last
//! snapshot (`generated/migrations/snapshots/NNNN.json`, a normalized copy of
//! the table at that version), never against a database. Applied migrations
//! are never rewritten: only new files are produced.
//!
//! Persisted-format decisions:
//! - versions are 4-digit, sequential, shared by both dialects (`0002_add_column_priority.sql`);
//! - checksums are sha256 (hex) of the LF-normalized text, so a CRLF checkout
//!   does not change them;
//! - `migrations.sum` lists the total first so that two branches adding a
//!   migration conflict in git;
//! - snapshots record docs (table, columns, indexes): a doc-only edit becomes
//!   a migration of PostgreSQL `COMMENT ON` statements (and no statement on
//!   SQLite, whose catalog has no comments), so that a migrated catalog
//!   equals the schema file, comments included. A snapshot written before
//!   docs were recorded has none; the next migration then sets every comment
//!   once (idempotent).

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ddl::{column_definition, create_index, render_create};
use super::{
    Files, REGENERATE_COMMAND, RenderError, format_rust, rust_header, sql_header, sql_quote,
};
use crate::parse::{Dialect, LogicalType, Spec};

/// Format version of snapshot files.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// A column as recorded in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapColumn {
    /// Column name.
    pub name: String,
    /// Logical type.
    #[serde(rename = "type")]
    pub ty: LogicalType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default SQL literal.
    pub default: Option<String>,
    /// The column comment (`None` in snapshots written before docs were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

impl SnapColumn {
    /// Same name, type, nullability and default (the doc aside).
    pub fn same_definition(&self, other: &SnapColumn) -> bool {
        (&self.name, self.ty, self.nullable, &self.default)
            == (&other.name, other.ty, other.nullable, &other.default)
    }
}

/// An index as recorded in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapIndex {
    /// Index name.
    pub name: String,
    /// Indexed columns.
    pub columns: Vec<String>,
    /// UNIQUE or not.
    pub unique: bool,
    /// Partial index predicate.
    #[serde(rename = "where")]
    pub predicate: Option<String>,
    /// The index comment (`None` in snapshots written before docs were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
}

impl SnapIndex {
    /// Same name, columns, uniqueness and predicate (the doc aside).
    pub fn same_definition(&self, other: &SnapIndex) -> bool {
        (&self.name, &self.columns, self.unique, &self.predicate)
            == (&other.name, &other.columns, other.unique, &other.predicate)
    }
}

/// The table as recorded in a snapshot, columns in physical order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapTable {
    /// Table name.
    pub name: String,
    /// Columns in physical order.
    pub columns: Vec<SnapColumn>,
    /// Indexes in spec order.
    pub indexes: Vec<SnapIndex>,
    /// The table comment (`None` in snapshots written before docs were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// The PostgreSQL `fillfactor` storage parameter (`None`: not set, the
    /// server default 100; also what snapshots written before the parameter
    /// was recorded mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fillfactor: Option<u32>,
}

/// A snapshot file: the normalized table after migration `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The `@generated` notice (JSON has no comments).
    #[serde(rename = "@generated")]
    pub generated: String,
    /// [`SNAPSHOT_FORMAT`].
    pub format: u32,
    /// Migration version this snapshot follows.
    pub version: u32,
    /// The table.
    pub table: SnapTable,
}

/// One committed migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// Version (1-based).
    pub version: u32,
    /// Name without version and extension.
    pub name: String,
    /// File name (`NNNN_name.sql`).
    pub file_name: String,
    /// File text.
    pub text: String,
}

/// The committed migration history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    /// PostgreSQL migrations, ascending.
    pub postgres: Vec<MigrationFile>,
    /// SQLite migrations, ascending.
    pub sqlite: Vec<MigrationFile>,
    /// Snapshots, ascending by version.
    pub snapshots: Vec<Snapshot>,
}

/// The committed history is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// A file name is not `NNNN_snake_name.sql` / `NNNN.json`.
    #[error("unexpected file name `{file}` in generated/migrations/{dir}")]
    BadFileName {
        /// Directory under `generated/migrations`.
        dir: String,
        /// File name.
        file: String,
    },
    /// Versions are not 1..n without gaps.
    #[error("generated/migrations/{dir}: expected version {expected:04}, found `{file}`")]
    Gap {
        /// Directory.
        dir: String,
        /// Expected version.
        expected: u32,
        /// File found instead.
        file: String,
    },
    /// The dialects disagree on the migration list.
    #[error(
        "generated/migrations/postgres and generated/migrations/sqlite differ at version {version:04}"
    )]
    DialectMismatch {
        /// First differing version.
        version: u32,
    },
    /// The last migration has no snapshot.
    #[error("generated/migrations/snapshots/{version:04}.json is missing")]
    MissingSnapshot {
        /// Version.
        version: u32,
    },
    /// A snapshot does not parse.
    #[error("generated/migrations/snapshots/{file}: {message}")]
    BadSnapshot {
        /// File name.
        file: String,
        /// serde_json's message.
        message: String,
    },
}

fn parse_migration_name(dir: &str, file: &str) -> Result<(u32, String), HistoryError> {
    let bad = || HistoryError::BadFileName {
        dir: dir.to_owned(),
        file: file.to_owned(),
    };
    let stem = file.strip_suffix(".sql").ok_or_else(bad)?;
    let (version, name) = stem.split_once('_').ok_or_else(bad)?;
    if version.len() != 4 || name.is_empty() {
        return Err(bad());
    }
    Ok((version.parse().map_err(|_| bad())?, name.to_owned()))
}

fn migration_list(
    dir: &str,
    files: Vec<(String, String)>,
) -> Result<Vec<MigrationFile>, HistoryError> {
    let mut list = Vec::new();
    for (file, text) in files {
        if file == SUM_FILE {
            continue;
        }
        let (version, name) = parse_migration_name(dir, &file)?;
        list.push(MigrationFile {
            version,
            name,
            file_name: file,
            text,
        });
    }
    list.sort_by_key(|m| m.version);
    for (i, m) in list.iter().enumerate() {
        let expected = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if m.version != expected {
            return Err(HistoryError::Gap {
                dir: dir.to_owned(),
                expected,
                file: m.file_name.clone(),
            });
        }
    }
    Ok(list)
}

impl History {
    /// Builds the history from `(file name, text)` pairs of
    /// `generated/migrations/{postgres,sqlite,snapshots}` (`migrations.sum` is ignored).
    pub fn from_files(
        postgres: Vec<(String, String)>,
        sqlite: Vec<(String, String)>,
        snapshots: Vec<(String, String)>,
    ) -> Result<Self, HistoryError> {
        let postgres = migration_list("postgres", postgres)?;
        let sqlite = migration_list("sqlite", sqlite)?;
        for i in 0..postgres.len().max(sqlite.len()) {
            let (p, s) = (postgres.get(i), sqlite.get(i));
            if p.map(|m| (&m.version, &m.name)) != s.map(|m| (&m.version, &m.name)) {
                return Err(HistoryError::DialectMismatch {
                    version: u32::try_from(i + 1).unwrap_or(u32::MAX),
                });
            }
        }
        let mut snaps = Vec::new();
        for (file, text) in snapshots {
            let snap: Snapshot =
                serde_json::from_str(&text).map_err(|e| HistoryError::BadSnapshot {
                    file: file.clone(),
                    message: e.to_string(),
                })?;
            snaps.push(snap);
        }
        snaps.sort_by_key(|s| s.version);
        if let Some(last) = postgres.last()
            && snaps.last().map(|s| s.version) != Some(last.version)
        {
            return Err(HistoryError::MissingSnapshot {
                version: last.version,
            });
        }
        Ok(Self {
            postgres,
            sqlite,
            snapshots: snaps,
        })
    }

    /// The snapshot of the last migration.
    pub fn last_snapshot(&self) -> Option<&Snapshot> {
        self.snapshots.last()
    }

    /// The version the next migration gets.
    pub fn next_version(&self) -> u32 {
        self.postgres.last().map(|m| m.version + 1).unwrap_or(1)
    }

    /// The migrations of `dialect`.
    pub fn files(&self, dialect: Dialect) -> &[MigrationFile] {
        match dialect {
            Dialect::Postgres => &self.postgres,
            Dialect::Sqlite => &self.sqlite,
        }
    }
}

/// Options of migration generation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationOptions {
    /// Name of the new migration instead of the derived one.
    pub name: Option<String>,
    /// Allow dropping columns and changing column types.
    pub allow_destructive: bool,
}

/// The spec change cannot become a migration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// Drops or type changes without `--allow-destructive`.
    #[error(
        "the spec change is destructive ({}); review it and rerun `{REGENERATE_COMMAND} --allow-destructive`",
        changes.join("; ")
    )]
    Destructive {
        /// The destructive changes.
        changes: Vec<String>,
    },
    /// A column is dropped and one of the same type added in the same change:
    /// most likely a rename, which would lose the column's values.
    #[error(
        "the spec change drops and adds columns of the same type ({}): if this is a rename, declare it (`renamed_from: OLD` on the column) so that the migration keeps the values; to really drop the data, rerun `{REGENERATE_COMMAND} --allow-destructive`",
        pairs.iter().map(|(old, new)| format!("{old} -> {new}")).collect::<Vec<_>>().join(", ")
    )]
    LikelyRename {
        /// `(dropped, added)` column pairs of the same type.
        pairs: Vec<(String, String)>,
    },
    /// A change no migration can express.
    #[error("unsupported schema change: {0}")]
    Unsupported(String),
    /// A custom migration names a position that is not the latest version
    /// nor the last migration the pending schema change generates.
    #[error(
        "custom migration `{name}` is placed after version {after:04}, but a new migration can only follow version {}; applied migrations are never rewritten",
        allowed.iter().map(|v| format!("{v:04}")).collect::<Vec<_>>().join(" or ")
    )]
    CustomPosition {
        /// The custom migration.
        name: String,
        /// Its `after`.
        after: u32,
        /// The versions it may follow.
        allowed: Vec<u32>,
    },
    /// A committed custom migration no longer matches its spec entry.
    #[error(
        "custom migration `{name}` ({file}) was changed in the spec after it was generated; applied migrations are never rewritten: restore its entry and add a new custom migration instead"
    )]
    CustomEdited {
        /// The custom migration.
        name: String,
        /// Its committed file.
        file: String,
    },
    /// `--name` is not snake_case.
    #[error(
        "migration name `{0}` is not snake_case (lowercase letters, digits and `_`, starting with a letter)"
    )]
    BadName(String),
}

/// One schema change between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A new column.
    AddColumn(SnapColumn),
    /// A removed column (destructive).
    DropColumn(SnapColumn),
    /// A column whose type, nullability or default changed.
    AlterColumn {
        /// Before.
        old: SnapColumn,
        /// After.
        new: SnapColumn,
    },
    /// A new (or redefined) index.
    AddIndex(SnapIndex),
    /// A removed (or redefined) index.
    DropIndex(SnapIndex),
    /// A column renamed in place (declared with `renamed_from`); its values are kept.
    RenameColumn {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// An index renamed (declared with `renamed_from`).
    RenameIndex {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A changed PostgreSQL `fillfactor` storage parameter (`None`: reset to
    /// the server default); nothing on SQLite.
    Fillfactor {
        /// Before.
        old: Option<u32>,
        /// After.
        new: Option<u32>,
    },
    /// A changed doc: the comment of the table, a column or an index
    /// (PostgreSQL `COMMENT ON`; nothing on SQLite).
    Comment {
        /// What is commented.
        on: CommentOn,
        /// The new comment.
        doc: String,
    },
}

/// The object of a [`Change::Comment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentOn {
    /// The table.
    Table,
    /// A column, by name.
    Column(String),
    /// An index, by name.
    Index(String),
}

impl Change {
    /// Whether applying the change can lose data.
    pub fn is_destructive(&self) -> bool {
        match self {
            Change::DropColumn(_) => true,
            Change::AlterColumn { old, new } => old.ty != new.ty && !widens(old.ty, new.ty),
            _ => false,
        }
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        match self {
            Change::AddColumn(c) => format!("add column {}", c.name),
            Change::DropColumn(c) => format!("drop column {}", c.name),
            Change::AlterColumn { old, new } => {
                let mut parts = Vec::new();
                if old.ty != new.ty {
                    parts.push(format!("type {} -> {}", old.ty.as_str(), new.ty.as_str()));
                }
                if old.nullable != new.nullable {
                    parts.push(if new.nullable {
                        "drop NOT NULL".to_owned()
                    } else {
                        "set NOT NULL".to_owned()
                    });
                }
                if old.default != new.default {
                    parts.push(format!(
                        "default {} -> {}",
                        old.default.as_deref().unwrap_or("none"),
                        new.default.as_deref().unwrap_or("none")
                    ));
                }
                format!("alter column {} ({})", new.name, parts.join(", "))
            }
            Change::AddIndex(ix) => format!("add index {}", ix.name),
            Change::DropIndex(ix) => format!("drop index {}", ix.name),
            Change::RenameColumn { from, to } => format!("rename column {from} to {to}"),
            Change::RenameIndex { from, to } => format!("rename index {from} to {to}"),
            Change::Fillfactor { new: Some(f), .. } => format!("set fillfactor {f}"),
            Change::Fillfactor { new: None, .. } => "reset fillfactor".to_owned(),
            Change::Comment { on, .. } => match on {
                CommentOn::Table => "comment on the table".to_owned(),
                CommentOn::Column(c) => format!("comment on column {c}"),
                CommentOn::Index(ix) => format!("comment on index {ix}"),
            },
        }
    }
}

/// Whether changing a column from `old` to `new` keeps every value: `integer`
/// to `bigint` (a table rewrite on PostgreSQL, nothing on SQLite).
pub fn widens(old: LogicalType, new: LogicalType) -> bool {
    matches!((old, new), (LogicalType::Integer, LogicalType::Bigint))
}

/// The lint class of a migration step, for the reviewing DBA: printed by
/// `cargo xtask codegen` and written into the migration's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Blocks neither reads nor writes (comments, `CREATE/DROP INDEX CONCURRENTLY`).
    Safe,
    /// Takes an exclusive lock on the table (briefly, or for a scan such as
    /// `SET NOT NULL`); on SQLite, the database's write lock.
    Locks,
    /// Rewrites every row under an exclusive lock (PostgreSQL type change,
    /// SQLite table rebuild).
    Rewrites,
    /// Can lose data (a dropped column, a narrowing type change).
    LosesData,
}

impl Risk {
    /// The class as written in headers and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Safe => "safe",
            Risk::Locks => "takes an exclusive lock",
            Risk::Rewrites => "rewrites the table",
            Risk::LosesData => "loses data",
        }
    }
}

/// The renames the spec declares (`renamed_from`) that apply on top of the
/// previous table: `(old name, new name)` pairs whose old name exists in
/// `previous` and whose new name does not (a rename already applied, or one
/// naming an unknown column, is ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Column renames.
    pub columns: Vec<(String, String)>,
    /// Index renames.
    pub indexes: Vec<(String, String)>,
}

impl Renames {
    /// The renames of `spec` that apply on top of `previous`.
    pub fn of(spec: &Spec, previous: &SnapTable) -> Self {
        let has_col = |name: &str| previous.columns.iter().any(|c| c.name == name);
        let has_ix = |name: &str| previous.indexes.iter().any(|i| i.name == name);
        Self {
            columns: spec
                .table
                .columns
                .iter()
                .filter_map(|c| {
                    let from = c.renamed_from.as_ref()?;
                    (has_col(from) && !has_col(&c.name) && spec.table.column(from).is_none())
                        .then(|| (from.clone(), c.name.clone()))
                })
                .collect(),
            indexes: spec
                .table
                .indexes
                .iter()
                .filter_map(|ix| {
                    let from = ix.renamed_from.as_ref()?;
                    (has_ix(from)
                        && !has_ix(&ix.name)
                        && !spec.table.indexes.iter().any(|i| &i.name == from))
                    .then(|| (from.clone(), ix.name.clone()))
                })
                .collect(),
        }
    }

    fn column(&self, old: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(from, _)| from == old)
            .map(|(_, to)| to.as_str())
    }

    /// `table` with the renames applied (index column lists included).
    pub fn apply(&self, table: &SnapTable) -> SnapTable {
        let col = |name: &str| self.column(name).unwrap_or(name).to_owned();
        SnapTable {
            name: table.name.clone(),
            doc: table.doc.clone(),
            fillfactor: table.fillfactor,
            columns: table
                .columns
                .iter()
                .map(|c| SnapColumn {
                    name: col(&c.name),
                    ..c.clone()
                })
                .collect(),
            indexes: table
                .indexes
                .iter()
                .map(|ix| SnapIndex {
                    name: self
                        .indexes
                        .iter()
                        .find(|(from, _)| *from == ix.name)
                        .map_or_else(|| ix.name.clone(), |(_, to)| to.clone()),
                    columns: ix.columns.iter().map(|c| col(c)).collect(),
                    ..ix.clone()
                })
                .collect(),
        }
    }
}

/// The table of `spec` in physical column order: the columns of `previous`
/// that still exist, in their order, then new columns in spec order.
pub fn target_table(spec: &Spec, previous: Option<&SnapTable>) -> SnapTable {
    let snap_col = |c: &crate::parse::Column| SnapColumn {
        name: c.name.clone(),
        ty: c.ty,
        nullable: c.nullable,
        default: c.default.clone(),
        doc: Some(c.doc.clone()),
    };
    let mut columns: Vec<SnapColumn> = Vec::new();
    if let Some(prev) = previous {
        // A renamed column keeps its physical position.
        let prev = Renames::of(spec, prev).apply(prev);
        for pc in &prev.columns {
            if let Some(c) = spec.table.column(&pc.name) {
                columns.push(snap_col(c));
            }
        }
    }
    for c in &spec.table.columns {
        if !columns.iter().any(|x| x.name == c.name) {
            columns.push(snap_col(c));
        }
    }
    SnapTable {
        name: spec.table.name.clone(),
        doc: Some(spec.table.doc.clone()),
        fillfactor: spec.table.fillfactor(),
        columns,
        indexes: spec
            .table
            .indexes
            .iter()
            .map(|ix| SnapIndex {
                name: ix.name.clone(),
                columns: ix.columns.clone(),
                unique: ix.unique,
                predicate: ix.predicate.clone(),
                doc: Some(ix.doc.clone()),
            })
            .collect(),
    }
}

/// The changes from `old` to `new`: index drops, column changes, index additions.
pub fn diff(old: &SnapTable, new: &SnapTable) -> Result<Vec<Change>, DiffError> {
    diff_renaming(old, new, &Renames::default())
}

/// Like [`diff`], with declared renames: renames first (columns, then
/// indexes), then the changes from the renamed `old` to `new`.
pub fn diff_renaming(
    old: &SnapTable,
    new: &SnapTable,
    renames: &Renames,
) -> Result<Vec<Change>, DiffError> {
    let mut changes: Vec<Change> = renames
        .columns
        .iter()
        .map(|(from, to)| Change::RenameColumn {
            from: from.clone(),
            to: to.clone(),
        })
        .chain(
            renames
                .indexes
                .iter()
                .map(|(from, to)| Change::RenameIndex {
                    from: from.clone(),
                    to: to.clone(),
                }),
        )
        .collect();
    changes.extend(diff_plain(&renames.apply(old), new)?);
    Ok(changes)
}

fn diff_plain(old: &SnapTable, new: &SnapTable) -> Result<Vec<Change>, DiffError> {
    if old.name != new.name {
        return Err(DiffError::Unsupported(format!(
            "renaming table {} to {} (create a new spec instead)",
            old.name, new.name
        )));
    }
    let mut changes = Vec::new();
    for ix in &old.indexes {
        if !new.indexes.iter().any(|n| n.same_definition(ix)) {
            changes.push(Change::DropIndex(ix.clone()));
        }
    }
    for oc in &old.columns {
        if !new.columns.iter().any(|n| n.name == oc.name) {
            if oc.ty == LogicalType::Id {
                return Err(DiffError::Unsupported(format!(
                    "dropping the key column {}",
                    oc.name
                )));
            }
            changes.push(Change::DropColumn(oc.clone()));
        }
    }
    for nc in &new.columns {
        match old.columns.iter().find(|o| o.name == nc.name) {
            None => {
                if nc.ty == LogicalType::Id {
                    return Err(DiffError::Unsupported(format!(
                        "adding the key column {}",
                        nc.name
                    )));
                }
                if !nc.nullable && nc.default.is_none() {
                    return Err(DiffError::Unsupported(format!(
                        "adding NOT NULL column {} without a default (existing rows need a value: add `default:` or make it nullable)",
                        nc.name
                    )));
                }
                changes.push(Change::AddColumn(nc.clone()));
            }
            Some(oc) if !oc.same_definition(nc) => {
                if oc.ty == LogicalType::Id || nc.ty == LogicalType::Id {
                    return Err(DiffError::Unsupported(format!(
                        "changing the key column {}",
                        nc.name
                    )));
                }
                changes.push(Change::AlterColumn {
                    old: oc.clone(),
                    new: nc.clone(),
                });
            }
            Some(_) => {}
        }
    }
    for ix in &new.indexes {
        if !old.indexes.iter().any(|o| o.same_definition(ix)) {
            changes.push(Change::AddIndex(ix.clone()));
        }
    }
    if old.fillfactor != new.fillfactor {
        changes.push(Change::Fillfactor {
            old: old.fillfactor,
            new: new.fillfactor,
        });
    }
    changes.extend(comment_changes(old, new));
    Ok(changes)
}

/// The docs that changed on objects that exist before and after (an added
/// column or index gets its comment with it). A doc the old snapshot did not
/// record counts as changed.
fn comment_changes(old: &SnapTable, new: &SnapTable) -> Vec<Change> {
    let changed = |old: &Option<String>, new: &Option<String>| match (old, new) {
        (_, None) => None,
        (Some(o), Some(n)) if o == n => None,
        (_, Some(n)) => Some(n.clone()),
    };
    let mut changes = Vec::new();
    if let Some(doc) = changed(&old.doc, &new.doc) {
        changes.push(Change::Comment {
            on: CommentOn::Table,
            doc,
        });
    }
    for nc in &new.columns {
        if let Some(oc) = old.columns.iter().find(|o| o.name == nc.name)
            && let Some(doc) = changed(&oc.doc, &nc.doc)
        {
            changes.push(Change::Comment {
                on: CommentOn::Column(nc.name.clone()),
                doc,
            });
        }
    }
    for ix in &new.indexes {
        if let Some(oi) = old.indexes.iter().find(|o| o.same_definition(ix))
            && let Some(doc) = changed(&oi.doc, &ix.doc)
        {
            changes.push(Change::Comment {
                on: CommentOn::Index(ix.name.clone()),
                doc,
            });
        }
    }
    changes
}

/// `(dropped, added)` column pairs of the same type among `changes`.
fn likely_renames(changes: &[Change]) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for change in changes {
        if let Change::DropColumn(old) = change
            && let Some(new) = changes.iter().find_map(|c| match c {
                Change::AddColumn(new) if new.ty == old.ty => Some(new),
                _ => None,
            })
        {
            pairs.push((old.name.clone(), new.name.clone()));
        }
    }
    pairs
}

/// The name derived from the changes (`add_column_priority`, `update_task_executions`...).
pub fn derive_name(table: &str, changes: &[Change]) -> String {
    let redefined = |name: &str| {
        changes
            .iter()
            .any(|c| matches!(c, Change::DropIndex(ix) if ix.name == name))
            && changes
                .iter()
                .any(|c| matches!(c, Change::AddIndex(ix) if ix.name == name))
    };
    if changes.iter().all(|c| matches!(c, Change::Comment { .. })) {
        return "update_comments".to_owned();
    }
    match changes {
        [single] => match single {
            Change::AddColumn(c) => format!("add_column_{}", c.name),
            Change::DropColumn(c) => format!("drop_column_{}", c.name),
            Change::AlterColumn { new, .. } => format!("alter_column_{}", new.name),
            Change::AddIndex(ix) => format!("add_index_{}", ix.name),
            Change::DropIndex(ix) => format!("drop_index_{}", ix.name),
            Change::RenameColumn { to, .. } => format!("rename_column_{to}"),
            Change::RenameIndex { to, .. } => format!("rename_index_{to}"),
            Change::Fillfactor { new: Some(_), .. } => "set_fillfactor".to_owned(),
            Change::Fillfactor { new: None, .. } => "reset_fillfactor".to_owned(),
            Change::Comment { .. } => "update_comments".to_owned(),
        },
        [Change::DropIndex(ix), Change::AddIndex(_)] if redefined(&ix.name) => {
            format!("alter_index_{}", ix.name)
        }
        _ => format!("update_{table}"),
    }
}

fn is_snake_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.contains("__")
        && !s.ends_with('_')
}

/// One step of a migration file: a comment and the SQL.
#[derive(Debug, Clone, Serialize)]
struct Step {
    comment: String,
    title: String,
    sql: String,
    risk: Risk,
    risk_text: &'static str,
}

impl Step {
    fn new(comment: String, sql: String, risk: Risk) -> Self {
        Self {
            title: comment.lines().next().unwrap_or_default().to_owned(),
            comment,
            sql,
            risk,
            risk_text: risk.as_str(),
        }
    }
}

/// The class of a PostgreSQL ALTER COLUMN.
fn postgres_alter_risk(old: &SnapColumn, new: &SnapColumn) -> Risk {
    if old.ty != new.ty {
        if widens(old.ty, new.ty) {
            Risk::Rewrites
        } else {
            Risk::LosesData
        }
    } else {
        Risk::Locks
    }
}

fn postgres_steps(spec: &Spec, table: &str, changes: &[Change], concurrent: bool) -> Vec<Step> {
    let doc = |name: &str| {
        spec.table
            .column(name)
            .map(|c| c.doc.clone())
            .unwrap_or_default()
    };
    let concurrently = if concurrent { "CONCURRENTLY " } else { "" };
    let if_exists = if concurrent { "IF EXISTS " } else { "" };
    let index_risk = if concurrent { Risk::Safe } else { Risk::Locks };
    let mut steps = Vec::new();
    for change in changes {
        let mut comment = change.describe();
        let (sql, risk) = match change {
            Change::DropIndex(ix) => (
                format!("DROP INDEX {concurrently}{if_exists}{};", ix.name),
                index_risk,
            ),
            Change::AddIndex(ix) => {
                let ix_doc = spec
                    .table
                    .indexes
                    .iter()
                    .find(|i| i.name == ix.name)
                    .map(|i| i.doc.clone())
                    .unwrap_or_default();
                let create =
                    create_index(table, ix).replacen("INDEX ", &format!("INDEX {concurrently}"), 1);
                (
                    format!(
                        "{create}\nCOMMENT ON INDEX {} IS {};",
                        ix.name,
                        sql_quote(&ix_doc)
                    ),
                    index_risk,
                )
            }
            Change::DropColumn(c) => (
                format!("ALTER TABLE {table} DROP COLUMN {};", c.name),
                Risk::LosesData,
            ),
            Change::RenameColumn { from, to } => (
                format!("ALTER TABLE {table} RENAME COLUMN {from} TO {to};"),
                Risk::Locks,
            ),
            Change::RenameIndex { from, to } => {
                (format!("ALTER INDEX {from} RENAME TO {to};"), Risk::Locks)
            }
            Change::Fillfactor { new, .. } => {
                comment.push_str(
                    "\nA storage parameter: no rewrite and no exclusive lock (SHARE UPDATE EXCLUSIVE: reads and writes go on).\nIt applies to pages written from now on; existing rows move to roomier pages as they are updated,\nor all at once with VACUUM FULL (exclusive lock) or pg_repack.",
                );
                (
                    match new {
                        Some(f) => format!("ALTER TABLE {table} SET (fillfactor = {f});"),
                        None => format!("ALTER TABLE {table} RESET (fillfactor);"),
                    },
                    Risk::Safe,
                )
            }
            Change::Comment { on, doc } => (
                match on {
                    CommentOn::Table => {
                        format!("COMMENT ON TABLE {table} IS {};", sql_quote(doc))
                    }
                    CommentOn::Column(c) => {
                        format!("COMMENT ON COLUMN {table}.{c} IS {};", sql_quote(doc))
                    }
                    CommentOn::Index(ix) => {
                        format!("COMMENT ON INDEX {ix} IS {};", sql_quote(doc))
                    }
                },
                Risk::Safe,
            ),
            Change::AddColumn(c) => (
                format!(
                    "ALTER TABLE {table} ADD COLUMN {};\nCOMMENT ON COLUMN {table}.{} IS {};",
                    column_definition(c, Dialect::Postgres, 0),
                    c.name,
                    sql_quote(&doc(&c.name))
                ),
                Risk::Locks,
            ),
            Change::AlterColumn { old, new } => {
                let mut lines = Vec::new();
                let col = &new.name;
                let type_changed = old.ty != new.ty;
                if type_changed && widens(old.ty, new.ty) {
                    comment.push_str(
                        "\nWidening keeps every value; PostgreSQL rewrites the table (and its indexes) under an exclusive lock.",
                    );
                }
                if old.default.is_some() && (type_changed || old.default != new.default) {
                    lines.push(format!(
                        "ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT;"
                    ));
                }
                if type_changed {
                    let ty = new.ty.sql_type(Dialect::Postgres);
                    lines.push(format!(
                        "ALTER TABLE {table} ALTER COLUMN {col} TYPE {ty} USING {col}::{ty};"
                    ));
                }
                if let Some(default) = &new.default
                    && (type_changed || old.default != new.default)
                {
                    lines.push(format!(
                        "ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT {default};"
                    ));
                }
                if old.nullable && !new.nullable {
                    if let Some(default) = &new.default {
                        lines.push(format!(
                            "UPDATE {table} SET {col} = {default} WHERE {col} IS NULL;"
                        ));
                    }
                    lines.push(format!(
                        "ALTER TABLE {table} ALTER COLUMN {col} SET NOT NULL;"
                    ));
                }
                if !old.nullable && new.nullable {
                    lines.push(format!(
                        "ALTER TABLE {table} ALTER COLUMN {col} DROP NOT NULL;"
                    ));
                }
                (lines.join("\n"), postgres_alter_risk(old, new))
            }
        };
        steps.push(Step::new(comment, sql, risk));
    }
    steps
}

/// Whether a column change is invisible to SQLite (same storage type,
/// nullability and default, e.g. `integer` to `bigint`: both `INTEGER`).
fn sqlite_unchanged(old: &SnapColumn, new: &SnapColumn) -> bool {
    old.ty.sql_type(Dialect::Sqlite) == new.ty.sql_type(Dialect::Sqlite)
        && old.nullable == new.nullable
        && old.default == new.default
}

/// The SQLite steps; `index_migration`: the index migration that follows a
/// change's other steps (its removals are `IF EXISTS`: a rebuild in the
/// migration before does not recreate the indexes it drops).
fn sqlite_steps(
    old: &SnapTable,
    new: &SnapTable,
    changes: &[Change],
    index_migration: bool,
) -> Vec<Step> {
    let table = &new.name;
    let if_exists = if index_migration { "IF EXISTS " } else { "" };
    let renames = Renames {
        columns: changes
            .iter()
            .filter_map(|c| match c {
                Change::RenameColumn { from, to } => Some((from.clone(), to.clone())),
                _ => None,
            })
            .collect(),
        indexes: Vec::new(),
    };
    let old = &renames.apply(old);
    let rename_step = |from: &str, to: &str| {
        Step::new(
            format!("rename column {from} to {to} (in place: the values are kept)"),
            format!("ALTER TABLE {table} RENAME COLUMN {from} TO {to};"),
            Risk::Locks,
        )
    };
    let needs_rebuild = changes
        .iter()
        .any(|c| matches!(c, Change::AlterColumn { old, new } if !sqlite_unchanged(old, new)));
    if !needs_rebuild {
        let renamed_to = |name: &str| {
            changes
                .iter()
                .any(|c| matches!(c, Change::RenameIndex { to, .. } if to == name))
        };
        let mut steps: Vec<Step> = changes
            .iter()
            .filter_map(|change| {
                let (sql, risk) = match change {
                    Change::RenameColumn { from, to } => return Some(rename_step(from, to)),
                    // SQLite has no ALTER INDEX … RENAME: drop it under its old
                    // name and build it under the new one (an index holds no data).
                    Change::RenameIndex { from, to } => {
                        let recreate = new
                            .indexes
                            .iter()
                            .find(|ix| &ix.name == to)
                            .filter(|_| {
                                !changes
                                    .iter()
                                    .any(|c| matches!(c, Change::AddIndex(ix) if &ix.name == to))
                            })
                            .map(|ix| format!("\n{}", create_index(table, ix)))
                            .unwrap_or_default();
                        (format!("DROP INDEX {from};{recreate}"), Risk::Locks)
                    }
                    Change::DropIndex(ix) if renamed_to(&ix.name) => return None,
                    Change::DropIndex(ix) => {
                        (format!("DROP INDEX {if_exists}{};", ix.name), Risk::Locks)
                    }
                    Change::AddIndex(ix) => (create_index(table, ix), Risk::Locks),
                    Change::DropColumn(c) => (
                        format!("ALTER TABLE {table} DROP COLUMN {};", c.name),
                        Risk::LosesData,
                    ),
                    Change::AddColumn(c) => (
                        format!(
                            "ALTER TABLE {table} ADD COLUMN {};",
                            column_definition(c, Dialect::Sqlite, 0)
                        ),
                        Risk::Locks,
                    ),
                    Change::AlterColumn { .. }
                    | Change::Comment { .. }
                    | Change::Fillfactor { .. } => return None,
                };
                Some(Step::new(change.describe(), sql, risk))
            })
            .collect();
        if steps.is_empty() {
            let reason = if changes.iter().all(|c| matches!(c, Change::Comment { .. })) {
                "its catalog has no comments (the schema file carries the docs as SQL comments)"
            } else if changes
                .iter()
                .all(|c| matches!(c, Change::Comment { .. } | Change::Fillfactor { .. }))
            {
                "SQLite has no storage parameters (fillfactor is PostgreSQL's) and no comments in its catalog"
            } else {
                "the column keeps its SQLite type, nullability and default"
            };
            let mut nothing = Step::new(
                format!("Nothing to do on SQLite: {reason}."),
                String::new(),
                Risk::Safe,
            );
            nothing.title = "nothing to do on SQLite".to_owned();
            steps.push(nothing);
        }
        return steps;
    }
    // SQLite cannot alter a column in place: rebuild the table
    // (https://www.sqlite.org/lang_altertable.html#otheralter). The table has no
    // foreign keys, so `PRAGMA foreign_keys` needs no change, and the runner
    // applies the whole file in one transaction.
    let rebuild_risk = if changes.iter().any(Change::is_destructive) {
        Risk::LosesData
    } else {
        Risk::Rewrites
    };
    let new_name = format!("{table}__new");
    let width = new.columns.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let defs: Vec<String> = new
        .columns
        .iter()
        .map(|c| format!("    {}", column_definition(c, Dialect::Sqlite, width)))
        .collect();
    let kept: Vec<(&SnapColumn, &SnapColumn)> = new
        .columns
        .iter()
        .filter_map(|n| {
            old.columns
                .iter()
                .find(|o| o.name == n.name)
                .map(|o| (o, n))
        })
        .collect();
    let targets: Vec<&str> = kept.iter().map(|(_, n)| n.name.as_str()).collect();
    let exprs: Vec<String> = kept
        .iter()
        .map(|(o, n)| {
            let mut e = n.name.clone();
            if o.ty.sql_type(Dialect::Sqlite) != n.ty.sql_type(Dialect::Sqlite) {
                e = format!("CAST({e} AS {})", n.ty.sql_type(Dialect::Sqlite));
            }
            if o.nullable
                && !n.nullable
                && let Some(d) = &n.default
            {
                e = format!("coalesce({e}, {d})");
            }
            e
        })
        .collect();
    let mut steps: Vec<Step> = renames
        .columns
        .iter()
        .map(|(from, to)| rename_step(from, to))
        .collect();
    let mut rebuild = Step::new(
        format!(
            "SQLite cannot alter columns in place ({}): rebuild {table} (https://www.sqlite.org/lang_altertable.html#otheralter).\nThe table has no foreign keys; the runner applies this file in one transaction.",
            changes
                .iter()
                .filter(|c| {
                    !matches!(
                        c,
                        Change::RenameColumn { .. }
                            | Change::Comment { .. }
                            | Change::Fillfactor { .. }
                    )
                })
                .map(Change::describe)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        format!("CREATE TABLE {new_name} (\n{}\n);", defs.join(",\n")),
        rebuild_risk,
    );
    rebuild.title = format!("rebuild table {table} (create {new_name})");
    steps.extend([
        rebuild,
        Step::new(
            "copy the rows".to_owned(),
            format!(
                "INSERT INTO {new_name} ({})\nSELECT {} FROM {table};",
                targets.join(", "),
                exprs.join(", ")
            ),
            rebuild_risk,
        ),
        Step::new(
            "swap the tables (dropping the old table drops its indexes)".to_owned(),
            format!("DROP TABLE {table};\nALTER TABLE {new_name} RENAME TO {table};"),
            Risk::Locks,
        ),
    ]);
    for ix in &new.indexes {
        steps.push(Step::new(
            format!("recreate index {}", ix.name),
            create_index(table, ix),
            Risk::Locks,
        ));
    }
    steps
}

/// A migration to add to the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMigration {
    /// Version.
    pub version: u32,
    /// Name.
    pub name: String,
    /// The changes (empty for the initial migration).
    pub changes: Vec<Change>,
    /// The snapshot after it.
    pub snapshot: Snapshot,
    /// Index creations and removals run `CONCURRENTLY` on PostgreSQL, the
    /// migration outside a transaction (`-- transaction: none`).
    pub concurrent_indexes: bool,
    /// The spec's hand-written step, for a custom migration.
    pub custom: Option<crate::parse::CustomMigration>,
}

/// Everything the migration step produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationPlan {
    /// The table in physical order after every migration (incl. a new one).
    pub target: SnapTable,
    /// The migration the spec change needs, if any.
    pub new_migration: Option<NewMigration>,
    /// The migration of the change's index creations and removals when the
    /// change also has other steps: it follows `new_migration`, because
    /// PostgreSQL runs them `CONCURRENTLY`, outside any transaction.
    pub index_migration: Option<NewMigration>,
    /// Custom migrations placed before the schema change (`after` = the
    /// latest committed version).
    pub custom_before: Vec<NewMigration>,
    /// Custom migrations placed after the schema change.
    pub custom_after: Vec<NewMigration>,
}

impl MigrationPlan {
    /// The new migrations, in version order.
    pub fn new_migrations(&self) -> impl Iterator<Item = &NewMigration> {
        self.custom_before
            .iter()
            .chain(&self.new_migration)
            .chain(&self.index_migration)
            .chain(&self.custom_after)
    }
}

/// The header line that marks a custom migration.
pub const CUSTOM_MARKER: &str = "-- kind: custom";

impl MigrationFile {
    /// Whether the file is a custom migration (hand-written in the spec).
    pub fn is_custom(&self) -> bool {
        self.text
            .lines()
            .take_while(|l| l.starts_with("--") || l.trim().is_empty())
            .any(|l| l.trim() == CUSTOM_MARKER)
    }
}

/// Computes the migrations the spec needs on top of `history`: the schema
/// change (if any) and the custom migrations not committed yet, each
/// committed custom migration checked against its spec entry.
pub fn plan(
    spec: &Spec,
    history: &History,
    options: &MigrationOptions,
) -> Result<MigrationPlan, DiffError> {
    let mut plan = schema_plan(spec, history, options)?;
    for m in history.postgres.iter().chain(&history.sqlite) {
        if !m.is_custom() {
            continue;
        }
        let Some(custom) = spec.custom_migrations.iter().find(|c| c.name == m.name) else {
            continue;
        };
        let dialect = if history.postgres.iter().any(|p| std::ptr::eq(p, m)) {
            Dialect::Postgres
        } else {
            Dialect::Sqlite
        };
        let rendered = render_custom(spec, custom, m.version, dialect);
        if rendered.map(|t| t.replace("\r\n", "\n")).ok() != Some(m.text.replace("\r\n", "\n")) {
            return Err(DiffError::CustomEdited {
                name: custom.name.clone(),
                file: format!("generated/migrations/{}/{}", dialect.as_str(), m.file_name),
            });
        }
    }
    let pending: Vec<&crate::parse::CustomMigration> = spec
        .custom_migrations
        .iter()
        .filter(|c| {
            !history
                .postgres
                .iter()
                .any(|m| m.is_custom() && m.name == c.name)
        })
        .collect();
    if pending.is_empty() {
        return Ok(plan);
    }
    let latest = history.next_version() - 1;
    let last_schema = plan.new_migrations().map(|m| m.version).max();
    let mut before = Vec::new();
    let mut after = Vec::new();
    for custom in pending {
        if custom.after == latest && latest > 0 {
            before.push(custom);
        } else if Some(custom.after) == last_schema {
            after.push(custom);
        } else {
            let mut allowed = vec![latest];
            allowed.extend(last_schema);
            return Err(DiffError::CustomPosition {
                name: custom.name.clone(),
                after: custom.after,
                allowed,
            });
        }
    }
    let shift = u32::try_from(before.len()).unwrap_or(u32::MAX);
    for m in plan
        .new_migration
        .iter_mut()
        .chain(plan.index_migration.iter_mut())
    {
        m.version += shift;
        m.snapshot.version += shift;
    }
    let custom_migration =
        |custom: &crate::parse::CustomMigration, version: u32, table: &SnapTable| NewMigration {
            version,
            name: custom.name.clone(),
            changes: Vec::new(),
            snapshot: Snapshot {
                generated: format!(
                    "from {}; do not edit. Regenerate with `{REGENERATE_COMMAND}`.",
                    spec.source_path
                ),
                format: SNAPSHOT_FORMAT,
                version,
                table: table.clone(),
            },
            concurrent_indexes: false,
            custom: Some(custom.clone()),
        };
    let before_table = history
        .last_snapshot()
        .map(|s| s.table.clone())
        .unwrap_or_else(|| plan.target.clone());
    plan.custom_before = before
        .iter()
        .zip(latest + 1..)
        .map(|(c, v)| custom_migration(c, v, &before_table))
        .collect();
    let first_after = plan
        .new_migrations()
        .map(|m| m.version)
        .max()
        .unwrap_or(latest)
        + 1;
    plan.custom_after = after
        .iter()
        .zip(first_after..)
        .map(|(c, v)| custom_migration(c, v, &plan.target))
        .collect();
    Ok(plan)
}

/// The text of the custom migration `custom` at `version`.
fn render_custom(
    spec: &Spec,
    custom: &crate::parse::CustomMigration,
    version: u32,
    dialect: Dialect,
) -> Result<String, RenderError> {
    let ctx = minijinja::context! {
        header => sql_header(&spec.source_path),
        version => format!("{version:04}"),
        name => custom.name.clone(),
        spec_path => spec.source_path.clone(),
        transactional => custom.transaction,
        doc => custom.doc.trim().to_owned(),
        sql => custom.sql_for(dialect).unwrap_or_default().trim().to_owned(),
    };
    super::render_template("custom_migration.sql.j2", ctx)
}

fn schema_plan(
    spec: &Spec,
    history: &History,
    options: &MigrationOptions,
) -> Result<MigrationPlan, DiffError> {
    if let Some(name) = &options.name
        && !is_snake_case(name)
    {
        return Err(DiffError::BadName(name.clone()));
    }
    let previous = history.last_snapshot().map(|s| &s.table);
    let target = target_table(spec, previous);
    let version = history.next_version();
    let (name, changes) = match previous {
        None => (format!("create_{}", spec.table.name), Vec::new()),
        Some(prev) => {
            let changes = diff_renaming(prev, &target, &Renames::of(spec, prev))?;
            if changes.is_empty() {
                return Ok(MigrationPlan {
                    target,
                    new_migration: None,
                    index_migration: None,
                    custom_before: Vec::new(),
                    custom_after: Vec::new(),
                });
            }
            let destructive: Vec<String> = changes
                .iter()
                .filter(|c| c.is_destructive())
                .map(Change::describe)
                .collect();
            let likely = likely_renames(&changes);
            if !likely.is_empty() && !options.allow_destructive {
                return Err(DiffError::LikelyRename { pairs: likely });
            }
            if !destructive.is_empty() && !options.allow_destructive {
                return Err(DiffError::Destructive {
                    changes: destructive,
                });
            }
            (derive_name(&spec.table.name, &changes), changes)
        }
    };
    let snapshot = |version: u32, table: SnapTable| Snapshot {
        generated: format!(
            "from {}; do not edit. Regenerate with `{REGENERATE_COMMAND}`.",
            spec.source_path
        ),
        format: SNAPSHOT_FORMAT,
        version,
        table,
    };
    // Index creations and removals go to a migration of their own (PostgreSQL
    // runs them CONCURRENTLY, outside a transaction), after the other steps.
    // The removal of an index on a dropped column stays with the drop (SQLite
    // refuses to drop an indexed column; PostgreSQL drops the index with it).
    let dropped_columns: Vec<&str> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropColumn(col) => Some(col.name.as_str()),
            _ => None,
        })
        .collect();
    let is_index_step = |c: &Change| match c {
        Change::AddIndex(_) => true,
        Change::DropIndex(ix) => !ix
            .columns
            .iter()
            .any(|c| dropped_columns.contains(&c.as_str())),
        _ => false,
    };
    let (index_changes, other_changes): (Vec<Change>, Vec<Change>) =
        changes.iter().cloned().partition(is_index_step);
    if index_changes.is_empty() || other_changes.is_empty() {
        let concurrent_indexes = !index_changes.is_empty();
        return Ok(MigrationPlan {
            new_migration: Some(NewMigration {
                version,
                name: options.name.clone().unwrap_or(name),
                changes,
                snapshot: snapshot(version, target.clone()),
                concurrent_indexes,
                custom: None,
            }),
            target,
            index_migration: None,
            custom_before: Vec::new(),
            custom_after: Vec::new(),
        });
    }
    let renamed_previous = previous
        .map(|prev| Renames::of(spec, prev).apply(prev))
        .unwrap_or_else(|| target.clone());
    // The table between the two: the new columns and the old indexes, minus
    // every index the change drops (a SQLite rebuild in the first migration
    // does not recreate them; the index migration drops them `IF EXISTS`).
    let intermediate = SnapTable {
        indexes: renamed_previous
            .indexes
            .iter()
            .filter(|ix| {
                !changes
                    .iter()
                    .any(|c| matches!(c, Change::DropIndex(d) if d.name == ix.name))
            })
            .cloned()
            .collect(),
        ..target.clone()
    };
    let first_name = options
        .name
        .clone()
        .unwrap_or_else(|| derive_name(&spec.table.name, &other_changes));
    let index_name = match &options.name {
        Some(name) => format!("{name}_indexes"),
        None => match derive_name(&spec.table.name, &index_changes) {
            fallback if fallback == format!("update_{}", spec.table.name) => {
                "update_indexes".to_owned()
            }
            derived => derived,
        },
    };
    Ok(MigrationPlan {
        new_migration: Some(NewMigration {
            version,
            name: first_name,
            changes: other_changes,
            snapshot: snapshot(version, intermediate),
            concurrent_indexes: false,
            custom: None,
        }),
        index_migration: Some(NewMigration {
            version: version + 1,
            name: index_name,
            changes: index_changes,
            snapshot: snapshot(version + 1, target.clone()),
            concurrent_indexes: true,
            custom: None,
        }),
        target,
        custom_before: Vec::new(),
        custom_after: Vec::new(),
    })
}

/// File name of the checksum list in each dialect directory.
pub const SUM_FILE: &str = "migrations.sum";

/// sha256 (hex) of the LF-normalized text.
pub fn checksum(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    hex(&Sha256::digest(normalized.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `migrations.sum` text for `(file name, text)` pairs in version order.
pub fn sum_file(spec_path: &str, files: &[(String, String)]) -> String {
    let lines: Vec<String> = files
        .iter()
        .map(|(name, text)| format!("{name} sha256:{}", checksum(text)))
        .collect();
    let body = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let total = checksum(&body);
    format!(
        "# @generated from {spec_path}; do not edit. Regenerate with `{REGENERATE_COMMAND}`.\n\
         # sha256 of each migration's LF-normalized text; `total` covers the list below.\n\
         # Applied migrations must never change: build.rs and CI compare this file with the migrations.\n\
         total sha256:{total}\n{body}"
    )
}

/// Path of a migration file.
pub fn migration_path(dialect: Dialect, file_name: &str) -> PathBuf {
    PathBuf::from(format!(
        "generated/migrations/{}/{file_name}",
        dialect.as_str()
    ))
}

/// Path of a snapshot file.
pub fn snapshot_path(version: u32) -> PathBuf {
    PathBuf::from(format!("generated/migrations/snapshots/{version:04}.json"))
}

/// The text of a snapshot file.
pub fn snapshot_text(snapshot: &Snapshot) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(snapshot)? + "\n")
}

/// The steps of `new` on top of `old` in `dialect`.
fn steps(spec: &Spec, old: &SnapTable, new: &NewMigration, dialect: Dialect) -> Vec<Step> {
    match dialect {
        Dialect::Postgres => postgres_steps(
            spec,
            &new.snapshot.table.name,
            &new.changes,
            new.concurrent_indexes,
        ),
        Dialect::Sqlite => sqlite_steps(
            old,
            &new.snapshot.table,
            &new.changes,
            new.concurrent_indexes,
        ),
    }
}

fn render_new(
    spec: &Spec,
    old: &SnapTable,
    new: &NewMigration,
    dialect: Dialect,
) -> Result<String, RenderError> {
    if let Some(custom) = &new.custom {
        return render_custom(spec, custom, new.version, dialect);
    }
    if new.changes.is_empty() {
        return render_create(
            spec,
            &new.snapshot.table,
            dialect,
            Some((new.version, &new.name)),
        );
    }
    let steps = steps(spec, old, new, dialect);
    let transactional = !(new.concurrent_indexes && dialect == Dialect::Postgres);
    let ctx = minijinja::context! {
        header => sql_header(&spec.source_path),
        version => format!("{:04}", new.version),
        name => new.name.clone(),
        transactional => transactional,
        changes => new.changes.iter().map(Change::describe).collect::<Vec<_>>(),
        steps => minijinja::Value::from(Serde(&steps)),
    };
    super::render_template("migration.sql.j2", ctx)
}

/// The table before the first new migration of `history`.
fn previous_table(history: &History, name: &str) -> SnapTable {
    history
        .last_snapshot()
        .map(|s| s.table.clone())
        .unwrap_or_else(|| SnapTable {
            name: name.to_owned(),
            doc: None,
            fillfactor: None,
            columns: Vec::new(),
            indexes: Vec::new(),
        })
}

/// One line per step of the new migrations, per dialect, with its lint class:
/// `0004 postgres: add index ix_jobs_owner: safe` (what `cargo xtask codegen` prints).
pub fn lint(spec: &Spec, history: &History, plan: &MigrationPlan) -> Vec<String> {
    let mut lines = Vec::new();
    for dialect in Dialect::ALL {
        let mut old = previous_table(history, &plan.target.name);
        for new in plan.new_migrations() {
            if new.custom.is_some() {
                lines.push(format!(
                    "{:04} {}: custom migration {}: custom SQL (classify it by reading it)",
                    new.version,
                    dialect.as_str(),
                    new.name
                ));
                continue;
            }
            if new.changes.is_empty() {
                lines.push(format!(
                    "{:04} {}: create table {}: {}",
                    new.version,
                    dialect.as_str(),
                    new.snapshot.table.name,
                    Risk::Safe.as_str()
                ));
            }
            for step in steps(spec, &old, new, dialect) {
                lines.push(format!(
                    "{:04} {}: {}: {}",
                    new.version,
                    dialect.as_str(),
                    step.title,
                    step.risk.as_str()
                ));
            }
            old = new.snapshot.table.clone();
        }
    }
    lines
}

/// The migration files the spec adds (new migrations + snapshots) and the
/// `migrations.sum` of each dialect (over the existing and new files).
pub fn render(spec: &Spec, history: &History, plan: &MigrationPlan) -> Result<Files, RenderError> {
    let mut files = Files::new();
    for dialect in Dialect::ALL {
        let mut list: Vec<(String, String)> = history
            .files(dialect)
            .iter()
            .map(|m| (m.file_name.clone(), m.text.clone()))
            .collect();
        let mut old = previous_table(history, &plan.target.name);
        for new in plan.new_migrations() {
            let file_name = format!("{:04}_{}.sql", new.version, new.name);
            let text = render_new(spec, &old, new, dialect)?;
            files.insert(migration_path(dialect, &file_name), text.clone());
            list.push((file_name, text));
            old = new.snapshot.table.clone();
        }
        files.insert(
            PathBuf::from(format!(
                "generated/migrations/{}/{SUM_FILE}",
                dialect.as_str()
            )),
            sum_file(&spec.source_path, &list),
        );
    }
    for new in plan.new_migrations() {
        let text =
            snapshot_text(&new.snapshot).map_err(|e| RenderError::Snapshot(e.to_string()))?;
        files.insert(snapshot_path(new.version), text);
    }
    Ok(files)
}

#[derive(Serialize)]
struct EmbeddedCtx {
    version: u32,
    name: String,
    path: String,
    checksum: String,
}

/// File name of the embedded-migrations module inside `OUT_DIR`.
pub const EMBEDDED_FILE: &str = "migrations.rs";

/// Renders `migrations.rs`: `EmbeddedMigration` and the `POSTGRES` / `SQLITE`
/// lists, SQL embedded with `include_str!` of the committed files.
pub fn render_embedded(spec_path: &str, history: &History) -> Result<Files, RenderError> {
    let list = |dialect: Dialect| -> Vec<EmbeddedCtx> {
        history
            .files(dialect)
            .iter()
            .map(|m| EmbeddedCtx {
                version: m.version,
                name: m.name.clone(),
                path: format!("/generated/migrations/{}/{}", dialect.as_str(), m.file_name),
                checksum: checksum(&m.text),
            })
            .collect()
    };
    let mut by_dialect = BTreeMap::new();
    by_dialect.insert("postgres", list(Dialect::Postgres));
    by_dialect.insert("sqlite", list(Dialect::Sqlite));
    let template = "migrations.rs.j2";
    let source = super::render_template(template, minijinja::Value::from(Serde(&by_dialect)))?;
    let text = format_rust(template, &source, &rust_header(spec_path))?;
    Ok(Files::from([(PathBuf::from(EMBEDDED_FILE), text)]))
}

/// Migrations listed in a committed `migrations.sum` that were edited or
/// deleted since (applied migrations must never change). Returns file names,
/// deleted ones suffixed with ` (deleted)`.
pub fn edited_migrations(sum_text: &str, files: &[MigrationFile]) -> Vec<String> {
    let mut edited = Vec::new();
    for line in sum_text.lines() {
        let Some((name, sum)) = line.split_once(" sha256:") else {
            continue;
        };
        if name == "total" || name.starts_with('#') {
            continue;
        }
        match files.iter().find(|m| m.file_name == name) {
            Some(m) if checksum(&m.text) == sum.trim() => {}
            Some(_) => edited.push(name.to_owned()),
            None => edited.push(format!("{name} (deleted)")),
        }
    }
    edited
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> MigrationFile {
        MigrationFile {
            version: 1,
            name: name.to_owned(),
            file_name: format!("0001_{name}.sql"),
            text: text.to_owned(),
        }
    }

    fn table(fillfactor: Option<u32>) -> SnapTable {
        SnapTable {
            name: "jobs".to_owned(),
            doc: Some("Jobs.".to_owned()),
            fillfactor,
            columns: vec![SnapColumn {
                name: "id".to_owned(),
                ty: LogicalType::Id,
                nullable: false,
                default: None,
                doc: Some("Key.".to_owned()),
            }],
            indexes: Vec::new(),
        }
    }

    #[test]
    fn a_snapshot_without_fillfactor_means_the_default_and_no_change() {
        let old: SnapTable = serde_json::from_str(
            r#"{"name": "jobs", "doc": "Jobs.", "columns": [{"name": "id", "type": "id", "nullable": false, "default": null, "doc": "Key."}], "indexes": []}"#,
        )
        .expect("old snapshot");
        assert_eq!(old.fillfactor, None);
        assert_eq!(diff(&old, &table(None)).expect("diff"), Vec::new());
        assert!(
            !serde_json::to_string(&table(None))
                .expect("json")
                .contains("fillfactor"),
            "an unset parameter is not written"
        );
    }

    #[test]
    fn a_fillfactor_change_is_a_safe_postgres_step_and_nothing_on_sqlite() {
        let changes = diff(&table(None), &table(Some(70))).expect("diff");
        assert_eq!(
            changes,
            vec![Change::Fillfactor {
                old: None,
                new: Some(70)
            }]
        );
        assert_eq!(derive_name("jobs", &changes), "set_fillfactor");
        let spec = crate::load(
            "spec/jobs.yaml",
            "table:\n  name: jobs\n  doc: Jobs.\n  columns:\n    - name: id\n      type: id\n      doc: Key.\n",
        )
        .expect("spec");
        let pg = postgres_steps(&spec, "jobs", &changes, false);
        assert_eq!(pg.len(), 1);
        assert_eq!(pg[0].sql, "ALTER TABLE jobs SET (fillfactor = 70);");
        assert_eq!(pg[0].risk, Risk::Safe);
        assert!(pg[0].comment.contains("pages written from now on"));
        let lite = sqlite_steps(&table(None), &table(Some(70)), &changes, false);
        assert_eq!(lite.len(), 1);
        assert_eq!(lite[0].sql, "");
        assert_eq!(lite[0].risk, Risk::Safe);
        let reset = diff(&table(Some(70)), &table(None)).expect("diff");
        let pg = postgres_steps(&spec, "jobs", &reset, false);
        assert_eq!(pg[0].sql, "ALTER TABLE jobs RESET (fillfactor);");
    }

    #[test]
    fn edited_and_deleted_migrations_are_detected() {
        let original = file("create", "CREATE TABLE t (a INTEGER);\n");
        let sum = sum_file(
            "spec/x.yaml",
            &[(original.file_name.clone(), original.text.clone())],
        );
        assert!(edited_migrations(&sum, std::slice::from_ref(&original)).is_empty());
        let crlf = file("create", "CREATE TABLE t (a INTEGER);\r\n");
        assert!(edited_migrations(&sum, &[crlf]).is_empty(), "LF-normalized");
        let edited = file("create", "CREATE TABLE t (a BIGINT);\n");
        assert_eq!(
            edited_migrations(&sum, &[edited]),
            vec!["0001_create.sql".to_owned()]
        );
        assert_eq!(
            edited_migrations(&sum, &[]),
            vec!["0001_create.sql (deleted)".to_owned()]
        );
    }
}
