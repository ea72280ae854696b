//! Which database a command talks to, and how to open it.

use anyhow::{Context as _, Result, bail};
use durable_execution::storage::postgres::{is_connection_string, redact_connection_string};
use durable_execution::storage::{
    PostgresConfig, PostgresStorage, SqliteOptions, SqliteStorage, Storage,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The database named by `--database`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl Target {
    /// `postgres://…`, `postgresql://…` or a libpq `key=value` string
    /// (`host=… dbname=…`, first key a libpq keyword) selects PostgreSQL;
    /// anything else is a SQLite file (an optional `sqlite://` or `sqlite:`
    /// prefix is stripped).
    pub(crate) fn parse(value: &str) -> Result<Self> {
        let value = value.trim();
        if value.is_empty() {
            bail!("--database is empty: give a PostgreSQL connection string or a SQLite file path");
        }
        if is_connection_string(value) {
            return Ok(Self::Postgres(value.to_owned()));
        }
        let path = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
            .unwrap_or(value);
        if path.is_empty() {
            bail!("--database `{value}` names no SQLite file");
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// A description for messages, without a password.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite file {}", path.display()),
            Self::Postgres(url) => format!("PostgreSQL {}", redact(url)),
        }
    }
}

/// The connection string without its password (URL and `key=value` forms).
pub(crate) fn redact(url: &str) -> String {
    redact_connection_string(url)
}

/// Whether opening may create and migrate the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    /// Create the SQLite file if needed and apply pending migrations.
    Migrate,
    /// The database must exist and be migrated already.
    Existing,
    /// Like [`Open::Existing`], for commands that only read: a SQLite file
    /// is opened read-only (no write access to the file or its directory
    /// needed; nothing is written to it).
    ReadOnly,
}

/// Opens the storage of `target`.
pub(crate) async fn open(target: &Target, mode: Open) -> Result<Arc<dyn Storage>> {
    match target {
        Target::Sqlite(path) => {
            if mode != Open::Migrate && !path.exists() {
                bail!(
                    "SQLite file {} does not exist; create it with `durable migrate` (or run `durable demo`)",
                    path.display()
                );
            }
            check_parent_dir(path)?;
            let options = SqliteOptions::default()
                .migrate(mode == Open::Migrate)
                .read_only(mode == Open::ReadOnly);
            let storage = SqliteStorage::open(path, options)
                .await
                .with_context(|| format!("cannot open SQLite file {}", path.display()))?;
            Ok(Arc::new(storage))
        }
        Target::Postgres(url) => {
            let config = PostgresConfig::new(url.clone())
                .migrate(mode == Open::Migrate)
                .pool_size(8);
            let storage = PostgresStorage::connect(config)
                .await
                .with_context(|| format!("cannot use PostgreSQL {}", redact(url)))?;
            Ok(Arc::new(storage))
        }
    }
}

/// Fails early, with a clear message, when the SQLite file's directory does
/// not exist (SQLite itself only says "unable to open database file").
pub(crate) fn check_parent_dir(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!(
            "cannot open SQLite file {}: directory {} does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// A plain PostgreSQL client (for the migrator), with the same connection
/// settings (TLS included) as the storage, its connection driven in the
/// background.
pub(crate) async fn pg_client(url: &str) -> Result<tokio_postgres::Client> {
    PostgresConfig::new(url)
        .connect_client()
        .await
        .with_context(|| format!("cannot connect to PostgreSQL {}", redact(url)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            Target::parse("postgres://u@h/db").ok(),
            Some(Target::Postgres("postgres://u@h/db".into()))
        );
        assert_eq!(
            Target::parse("sqlite://a/b.db").ok(),
            Some(Target::Sqlite("a/b.db".into()))
        );
        assert_eq!(
            Target::parse("x.sqlite3").ok(),
            Some(Target::Sqlite("x.sqlite3".into()))
        );
        assert_eq!(
            Target::parse("host=h user=u password=p").ok(),
            Some(Target::Postgres("host=h user=u password=p".into()))
        );
        assert_eq!(
            Target::parse("a=b.db").ok(),
            Some(Target::Sqlite("a=b.db".into()))
        );
        assert!(Target::parse("").is_err());
        assert_eq!(
            redact("host=h user=u password=p"),
            "host='h' user='u' password=***"
        );
        assert_eq!(redact("postgres://u:pw@h:5/db"), "postgres://u:***@h:5/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
