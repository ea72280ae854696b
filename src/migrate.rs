//! The runtime migrator: applies the migrations embedded in the crate
//! (generated from `spec/task_executions.yaml`) to a PostgreSQL or SQLite
//! database, and tells a DBA which SQL is still pending.
//!
//! Applied migrations are recorded in the tracking table
//! `task_executions_migrations` (version, name, checksum, applied_at,
//! execution_ms, success). Before anything is applied the recorded history is
//! checked against the embedded list:
//!
//! - a row with `success = false` means a non-transactional migration was
//!   interrupted: the database is **dirty** ([`MigrationError::Dirty`]) and
//!   needs a manual look;
//! - a recorded version the crate does not know means the database was
//!   migrated by a newer release ([`MigrationError::Missing`]);
//! - a recorded checksum or name that differs from the embedded one means an
//!   applied migration was edited ([`MigrationError::Divergent`]);
//! - an embedded migration older than the newest applied one that was never
//!   applied means histories diverged ([`MigrationError::OutOfOrder`]).
//!
//! Pending migrations are applied in ascending version order, each in its own
//! transaction together with its tracking row. A migration whose header
//! contains the line `-- transaction: none` (for example a
//! `CREATE INDEX CONCURRENTLY`) runs outside a transaction, on PostgreSQL one
//! statement at a time ([`split_statements`]: a multi-statement query is an
//! implicit transaction): its tracking row is written first with
//! `success = false` and flipped once the statements succeeded.
//!
//! Opening a storage without migrating checks the recorded version
//! ([`check_version`]): a database migrated by a newer release is refused
//! ([`MigrationError::SchemaTooNew`]), and one with pending migrations too
//! ([`MigrationError::SchemaOutdated`], with the hint to run `durable
//! migrate`) unless the storage option `allow_outdated_schema` is set.
//! [`migrate_sqlite_to`] / [`migrate_postgres_to`] (`durable migrate --to
//! VERSION`) stop at a chosen version, for staged rollouts.
//!
//! Concurrent migrators are safe: on PostgreSQL the whole run holds a
//! session-level advisory lock ([`MIGRATION_LOCK_KEY`]), taken by polling
//! `pg_try_advisory_lock` (a session blocked in `pg_advisory_lock` keeps a
//! transaction open, and a `CREATE INDEX CONCURRENTLY` run by the lock holder
//! would wait for it: a deadlock); on SQLite every step
//! re-reads the history inside a `BEGIN IMMEDIATE` transaction, so two
//! processes never apply the same migration twice.
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut conn = rusqlite::Connection::open("tasks.db")?;
//! let report = durable_execution::migrate::migrate_sqlite(&mut conn)?;
//! println!("applied {:?}", report.applied);
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sqlite"))]
//! # fn main() {}
//! ```

use std::fmt::Write as _;

/// The key of the PostgreSQL advisory lock held while migrating
/// (`"durable\0"` as big-endian bytes; an arbitrary constant shared by every
/// release so that old and new migrators exclude each other).
pub const MIGRATION_LOCK_KEY: i64 = 0x6475_7261_626c_6500;

/// One versioned migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// Sequential version, starting at 1.
    pub version: i64,
    /// Short snake_case name.
    pub name: &'static str,
    /// The SQL to run (one or more statements).
    pub sql: &'static str,
    /// Checksum of the LF-normalized SQL, computed when the migration was
    /// generated; recorded in the tracking table and compared on every run.
    pub checksum: &'static str,
}

impl Migration {
    /// Whether the migration runs inside a transaction (the default). A
    /// header comment line `-- transaction: none` opts out.
    pub fn is_transactional(&self) -> bool {
        !self
            .sql
            .lines()
            .map(str::trim)
            .take_while(|line| line.is_empty() || line.starts_with("--"))
            .any(|line| line == "-- transaction: none")
    }
}

/// The statements of `sql`, split at the `;` that end them (outside string
/// literals, quoted identifiers and `--` comments), without empty ones. A
/// non-transactional migration runs them one at a time on PostgreSQL: a
/// multi-statement query is an implicit transaction, where `CREATE INDEX
/// CONCURRENTLY` cannot run.
pub fn split_statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = sql.as_bytes();
    let (mut start, mut i) = (0, 0);
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b';' => {
                    out.push(&sql[start..=i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(&sql[start..]);
    out.into_iter()
        .filter(|stmt| {
            stmt.lines()
                .map(str::trim)
                .any(|line| !line.is_empty() && !line.starts_with("--") && line != ";")
        })
        .collect()
}

/// A row of the tracking table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The migration's version.
    pub version: i64,
    /// The migration's name when it was applied.
    pub name: String,
    /// The checksum recorded when it was applied.
    pub checksum: String,
    /// `false` while a non-transactional migration runs or after it failed.
    pub success: bool,
}

/// What a migrator run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this run, in order.
    pub applied: Vec<i64>,
    /// The database's version after the run (0 when nothing is applied).
    pub current_version: i64,
}

/// Why migrating failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// A non-transactional migration did not finish: the database needs a
    /// manual check before the row is fixed or deleted.
    #[error(
        "migration {version} ({name}) is recorded as unfinished (success = false): the database is dirty; check it and fix the tracking table by hand"
    )]
    Dirty {
        /// The unfinished version.
        version: i64,
        /// Its recorded name.
        name: String,
    },
    /// An applied migration differs from the embedded one.
    #[error(
        "migration {version} ({name}) was changed after it was applied: recorded checksum {recorded}, embedded {embedded}"
    )]
    Divergent {
        /// The version.
        version: i64,
        /// The embedded name.
        name: String,
        /// `name:checksum` recorded in the database.
        recorded: String,
        /// `name:checksum` embedded in this build.
        embedded: String,
    },
    /// The database has a migration this build does not know (it was
    /// migrated by a newer release).
    #[error(
        "migration {version} ({name}) is applied but unknown to this build; upgrade the library"
    )]
    Missing {
        /// The unknown version.
        version: i64,
        /// Its recorded name.
        name: String,
    },
    /// An embedded migration was never applied although a newer one was.
    #[error(
        "migration {version} ({name}) is pending but the newer migration {latest_applied} is already applied"
    )]
    OutOfOrder {
        /// The pending version.
        version: i64,
        /// Its name.
        name: String,
        /// The newest applied version.
        latest_applied: i64,
    },
    /// The embedded list is not strictly ascending.
    #[error("migration versions must be strictly ascending; {version} follows {previous}")]
    Unsorted {
        /// The offending version.
        version: i64,
        /// The version before it.
        previous: i64,
    },
    /// The database's recorded version is newer than every migration this
    /// build knows: it was migrated by a newer release.
    #[error(
        "the database is at schema version {recorded}, newer than this build's latest migration {latest}: it was migrated by a newer release; upgrade the library (or the `durable` program)"
    )]
    SchemaTooNew {
        /// The newest recorded version.
        recorded: i64,
        /// The newest embedded version.
        latest: i64,
    },
    /// The database has pending migrations and the storage does not migrate.
    #[error(
        "the database is at schema version {current} but this build expects version {latest}: run `durable migrate` (or apply the SQL of `durable pending-sql`), or open the storage with `allow_outdated_schema(true)` to use it anyway"
    )]
    SchemaOutdated {
        /// The newest recorded version (0 when nothing is recorded).
        current: i64,
        /// The newest embedded version.
        latest: i64,
    },
    /// `--to` names a version this build does not have.
    #[error("there is no migration {to} (the latest is {latest})")]
    UnknownTarget {
        /// The requested version.
        to: i64,
        /// The newest embedded version.
        latest: i64,
    },
    /// `--to` names a version older than the database's (migrations only go forward).
    #[error(
        "the database is already at version {current}, beyond the requested version {to}; migrations are forward-only"
    )]
    BeyondTarget {
        /// The newest recorded version.
        current: i64,
        /// The requested version.
        to: i64,
    },
    /// The dialect's backend feature is not compiled in.
    #[error("the {dialect:?} dialect is not compiled in (enable its cargo feature)")]
    DialectDisabled {
        /// The requested dialect.
        dialect: Dialect,
    },
    /// A SQLite statement failed.
    #[cfg(feature = "sqlite")]
    #[error("sqlite migration step `{step}`{} failed: {source}", version_suffix(*.version))]
    Sqlite {
        /// What the migrator was doing.
        step: &'static str,
        /// The migration being applied, if any.
        version: Option<i64>,
        /// The driver error.
        #[source]
        source: rusqlite::Error,
    },
    /// A PostgreSQL statement failed.
    #[cfg(feature = "postgres")]
    #[error("postgres migration step `{step}`{} failed: {source}", version_suffix(*.version))]
    Postgres {
        /// What the migrator was doing.
        step: &'static str,
        /// The migration being applied, if any.
        version: Option<i64>,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn version_suffix(version: Option<i64>) -> String {
    version
        .map(|v| format!(" (version {v})"))
        .unwrap_or_default()
}

/// Checks the recorded history against `migrations` and returns the pending
/// migrations in the order they must be applied.
pub fn plan<'m>(
    migrations: &'m [Migration],
    applied: &[AppliedMigration],
) -> Result<Vec<&'m Migration>, MigrationError> {
    for pair in migrations.windows(2) {
        if pair[1].version <= pair[0].version {
            return Err(MigrationError::Unsorted {
                version: pair[1].version,
                previous: pair[0].version,
            });
        }
    }
    for row in applied {
        if !row.success {
            return Err(MigrationError::Dirty {
                version: row.version,
                name: row.name.clone(),
            });
        }
        let Some(local) = migrations.iter().find(|m| m.version == row.version) else {
            return Err(MigrationError::Missing {
                version: row.version,
                name: row.name.clone(),
            });
        };
        if local.checksum != row.checksum || local.name != row.name {
            return Err(MigrationError::Divergent {
                version: row.version,
                name: local.name.to_owned(),
                recorded: format!("{}:{}", row.name, row.checksum),
                embedded: format!("{}:{}", local.name, local.checksum),
            });
        }
    }
    let latest_applied = applied.iter().map(|row| row.version).max().unwrap_or(0);
    let pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !applied.iter().any(|row| row.version == m.version))
        .collect();
    if let Some(early) = pending.iter().find(|m| m.version < latest_applied) {
        return Err(MigrationError::OutOfOrder {
            version: early.version,
            name: early.name.to_owned(),
            latest_applied,
        });
    }
    Ok(pending)
}

/// Checks the recorded history of a database that is opened without
/// migrating: the checks of [`plan`] (dirty, edited or out-of-order
/// migrations), then a newer recorded version is
/// [`MigrationError::SchemaTooNew`] and pending migrations are
/// [`MigrationError::SchemaOutdated`] unless `allow_outdated`.
pub fn check_version(
    migrations: &[Migration],
    applied: &[AppliedMigration],
    allow_outdated: bool,
) -> Result<(), MigrationError> {
    let latest = migrations.last().map_or(0, |m| m.version);
    let recorded = applied.iter().map(|a| a.version).max().unwrap_or(0);
    if recorded > latest {
        return Err(MigrationError::SchemaTooNew { recorded, latest });
    }
    let pending = plan(migrations, applied)?;
    if !pending.is_empty() && !allow_outdated {
        return Err(MigrationError::SchemaOutdated {
            current: recorded,
            latest,
        });
    }
    Ok(())
}

/// The migrations up to version `to` (inclusive), for a database whose
/// history is `applied`: `to` must be an embedded version not older than
/// the database's.
pub fn up_to(
    migrations: &[Migration],
    applied: &[AppliedMigration],
    to: i64,
) -> Result<Vec<Migration>, MigrationError> {
    let latest = migrations.last().map_or(0, |m| m.version);
    if !migrations.iter().any(|m| m.version == to) {
        return Err(MigrationError::UnknownTarget { to, latest });
    }
    let current = applied.iter().map(|a| a.version).max().unwrap_or(0);
    if current > to {
        return Err(MigrationError::BeyondTarget { current, to });
    }
    Ok(migrations
        .iter()
        .filter(|m| m.version <= to)
        .copied()
        .collect())
}

/// The SQL dialect of [`pending_sql`] (the one `Dialect` type of the
/// workspace, shared with the codegen and the CLI; `FromStr` and `Display`
/// use the spellings `postgres` and `sqlite`).
pub use durable_execution_dialect::{Dialect, UnknownDialect};

/// Renders a SQL literal for the tracking-table insert.
fn text_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Replaces placeholders (longest first, so that `$10` is not read as `$1`).
fn fill(sql: &str, mut values: Vec<(String, String)>) -> String {
    values.sort_by_key(|(placeholder, _)| std::cmp::Reverse(placeholder.len()));
    let mut out = sql.to_owned();
    for (placeholder, literal) in values {
        out = out.replace(&placeholder, &literal);
    }
    out
}

/// The SQL a DBA runs by hand to bring the database to the newest version:
/// the tracking table (if `create_tracking_table`), then each pending
/// migration followed by the insert of its tracking row. Nothing is
/// executed. `applied` is the recorded history (empty for a fresh database).
pub fn pending_sql(
    dialect: Dialect,
    migrations: &[Migration],
    applied: &[AppliedMigration],
    create_tracking_table: bool,
) -> Result<String, MigrationError> {
    let pending = plan(migrations, applied)?;
    let (create, insert) = tracking_statements(dialect)?;
    let mut out = String::new();
    if pending.is_empty() {
        return Ok(out);
    }
    if create_tracking_table {
        let _ = writeln!(out, "{};\n", create.trim_end().trim_end_matches(';'));
    }
    let now = crate::model::now_millis();
    for migration in pending {
        let _ = writeln!(
            out,
            "-- migration {} ({}){}",
            migration.version,
            migration.name,
            if migration.is_transactional() {
                ""
            } else {
                ": run outside a transaction"
            }
        );
        if migration.is_transactional() {
            out.push_str("BEGIN;\n");
        }
        let body = migration.sql.trim_end();
        out.push_str(body);
        if !body.ends_with(';') {
            out.push(';');
        }
        out.push('\n');
        let values = [
            migration.version.to_string(),
            text_literal(migration.name),
            text_literal(migration.checksum),
            now.to_string(),
            "0".to_owned(),
            "true".to_owned(),
        ];
        let names = [
            "version",
            "name",
            "checksum",
            "applied_at",
            "execution_ms",
            "success",
        ];
        let placeholders: Vec<(String, String)> = names
            .iter()
            .zip(values)
            .enumerate()
            .map(|(i, (name, value))| match dialect {
                Dialect::Postgres => (format!("${}", i + 1), value),
                Dialect::Sqlite => (format!(":{name}"), value),
            })
            .collect();
        let _ = writeln!(
            out,
            "{};",
            fill(insert.trim_end().trim_end_matches(';'), placeholders)
        );
        if migration.is_transactional() {
            out.push_str("COMMIT;\n");
        }
        out.push('\n');
    }
    Ok(out)
}

fn tracking_statements(dialect: Dialect) -> Result<(&'static str, &'static str), MigrationError> {
    match dialect {
        #[cfg(feature = "postgres")]
        Dialect::Postgres => Ok((
            crate::generated::pg_statements::CREATE_MIGRATIONS_TABLE,
            crate::generated::pg_statements::INSERT_APPLIED_MIGRATION,
        )),
        #[cfg(feature = "sqlite")]
        Dialect::Sqlite => Ok((
            crate::generated::sqlite::statements::CREATE_MIGRATIONS_TABLE,
            crate::generated::sqlite::statements::INSERT_APPLIED_MIGRATION,
        )),
        #[allow(unreachable_patterns)]
        other => Err(MigrationError::DialectDisabled { dialect: other }),
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn elapsed_ms(start: std::time::Instant) -> i64 {
    i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The migrations embedded for PostgreSQL.
pub fn postgres_migrations() -> Vec<Migration> {
    crate::generated::migrations::POSTGRES
        .iter()
        .map(Migration::from)
        .collect()
}

/// The migrations embedded for SQLite.
pub fn sqlite_migrations() -> Vec<Migration> {
    crate::generated::migrations::SQLITE
        .iter()
        .map(Migration::from)
        .collect()
}

impl From<&crate::generated::migrations::EmbeddedMigration> for Migration {
    fn from(m: &crate::generated::migrations::EmbeddedMigration) -> Self {
        Migration {
            version: i64::from(m.version),
            name: m.name,
            sql: m.sql,
            checksum: m.checksum,
        }
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::{AppliedMigration, Migration, MigrationError, MigrationReport, elapsed_ms, plan};
    use crate::generated::sqlite::statements as stmt;
    use rusqlite::{Connection, TransactionBehavior, named_params};

    fn err(step: &'static str, version: Option<i64>) -> impl Fn(rusqlite::Error) -> MigrationError {
        move |source| MigrationError::Sqlite {
            step,
            version,
            source,
        }
    }

    pub(super) fn read_applied(conn: &Connection) -> rusqlite::Result<Vec<AppliedMigration>> {
        let mut select = conn.prepare(stmt::SELECT_APPLIED_MIGRATIONS)?;
        let rows = select.query_map([], |row| {
            Ok(AppliedMigration {
                version: row.get(0)?,
                name: row.get(1)?,
                checksum: row.get(2)?,
                success: row.get(3)?,
            })
        })?;
        rows.collect()
    }

    fn record(
        conn: &Connection,
        migration: &Migration,
        execution_ms: i64,
        success: bool,
    ) -> rusqlite::Result<usize> {
        conn.execute(
            stmt::INSERT_APPLIED_MIGRATION,
            named_params! {
                ":version": migration.version,
                ":name": migration.name,
                ":checksum": migration.checksum,
                ":applied_at": crate::model::now_millis(),
                ":execution_ms": execution_ms,
                ":success": success,
            },
        )
    }

    /// Applies `migrations` (see the [module docs](super)).
    pub fn migrate_sqlite_with(
        conn: &mut Connection,
        migrations: &[Migration],
    ) -> Result<MigrationReport, MigrationError> {
        let mut report = MigrationReport::default();
        {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err("begin", None))?;
            tx.execute_batch(stmt::CREATE_MIGRATIONS_TABLE)
                .map_err(err("create_migrations_table", None))?;
            tx.commit().map_err(err("commit", None))?;
        }
        loop {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err("begin", None))?;
            let applied = read_applied(&tx).map_err(err("select_applied_migrations", None))?;
            let pending = plan(migrations, &applied)?;
            let Some(next) = pending.first().copied() else {
                report.current_version = applied.iter().map(|a| a.version).max().unwrap_or(0);
                tx.commit().map_err(err("commit", None))?;
                return Ok(report);
            };
            let version = Some(next.version);
            let start = std::time::Instant::now();
            if next.is_transactional() {
                tx.execute_batch(next.sql)
                    .map_err(err("apply migration", version))?;
                record(&tx, next, elapsed_ms(start), true)
                    .map_err(err("insert_applied_migration", version))?;
                tx.commit().map_err(err("commit", version))?;
            } else {
                record(&tx, next, 0, false).map_err(err("insert_applied_migration", version))?;
                tx.commit().map_err(err("commit", version))?;
                conn.execute_batch(next.sql)
                    .map_err(err("apply migration", version))?;
                conn.execute(
                    stmt::MARK_MIGRATION_SUCCEEDED,
                    named_params! {":version": next.version, ":execution_ms": elapsed_ms(start)},
                )
                .map_err(err("mark_migration_succeeded", version))?;
            }
            report.applied.push(next.version);
        }
    }

    /// Applies the embedded SQLite migrations (see the [module docs](super)).
    pub fn migrate_sqlite(conn: &mut Connection) -> Result<MigrationReport, MigrationError> {
        migrate_sqlite_with(conn, &super::sqlite_migrations())
    }

    /// The recorded history of a SQLite database (empty when the tracking
    /// table does not exist yet).
    pub fn applied_sqlite(conn: &Connection) -> Result<Vec<AppliedMigration>, MigrationError> {
        match read_applied(conn) {
            Ok(rows) => Ok(rows),
            Err(rusqlite::Error::SqliteFailure(_, Some(message)))
                if message.contains("no such table") =>
            {
                Ok(Vec::new())
            }
            Err(source) => Err(MigrationError::Sqlite {
                step: "select_applied_migrations",
                version: None,
                source,
            }),
        }
    }

    /// Applies the embedded SQLite migrations up to version `to` (see [`super::up_to`]).
    pub fn migrate_sqlite_to(
        conn: &mut Connection,
        to: i64,
    ) -> Result<MigrationReport, MigrationError> {
        let applied = applied_sqlite(conn)?;
        let list = super::up_to(&super::sqlite_migrations(), &applied, to)?;
        migrate_sqlite_with(conn, &list)
    }

    /// Checks the recorded version of a SQLite database opened without
    /// migrating (see [`super::check_version`]).
    pub fn check_sqlite_version(
        conn: &Connection,
        allow_outdated: bool,
    ) -> Result<(), MigrationError> {
        let applied = applied_sqlite(conn)?;
        super::check_version(&super::sqlite_migrations(), &applied, allow_outdated)
    }

    /// The SQL still to run on this SQLite database (see [`super::pending_sql`]).
    pub fn pending_sql_sqlite(conn: &Connection) -> Result<String, MigrationError> {
        let applied = applied_sqlite(conn)?;
        super::pending_sql(
            super::Dialect::Sqlite,
            &super::sqlite_migrations(),
            &applied,
            true,
        )
    }
}

#[cfg(feature = "sqlite")]
pub use sqlite::{
    applied_sqlite, check_sqlite_version, migrate_sqlite, migrate_sqlite_to, migrate_sqlite_with,
    pending_sql_sqlite,
};

#[cfg(feature = "postgres")]
mod postgres {
    use super::{
        AppliedMigration, MIGRATION_LOCK_KEY, Migration, MigrationError, MigrationReport,
        elapsed_ms, plan,
    };
    use crate::generated::pg_statements as stmt;
    use tokio_postgres::Client;

    fn err(
        step: &'static str,
        version: Option<i64>,
    ) -> impl Fn(tokio_postgres::Error) -> MigrationError {
        move |source| MigrationError::Postgres {
            step,
            version,
            source,
        }
    }

    async fn read_applied(client: &Client) -> Result<Vec<AppliedMigration>, tokio_postgres::Error> {
        let rows = client.query(stmt::SELECT_APPLIED_MIGRATIONS, &[]).await?;
        rows.iter()
            .map(|row| {
                Ok(AppliedMigration {
                    version: row.try_get(0)?,
                    name: row.try_get(1)?,
                    checksum: row.try_get(2)?,
                    success: row.try_get(3)?,
                })
            })
            .collect()
    }

    async fn record(
        client: &impl tokio_postgres::GenericClient,
        migration: &Migration,
        execution_ms: i64,
        success: bool,
    ) -> Result<u64, tokio_postgres::Error> {
        client
            .execute(
                stmt::INSERT_APPLIED_MIGRATION,
                &[
                    &migration.version,
                    &migration.name,
                    &migration.checksum,
                    &crate::model::now_millis(),
                    &execution_ms,
                    &success,
                ],
            )
            .await
    }

    async fn apply_all(
        client: &mut Client,
        migrations: &[Migration],
    ) -> Result<MigrationReport, MigrationError> {
        client
            .batch_execute(stmt::CREATE_MIGRATIONS_TABLE)
            .await
            .map_err(err("create_migrations_table", None))?;
        let applied = read_applied(client)
            .await
            .map_err(err("select_applied_migrations", None))?;
        let pending = plan(migrations, &applied)?;
        let mut report = MigrationReport {
            applied: Vec::new(),
            current_version: applied.iter().map(|a| a.version).max().unwrap_or(0),
        };
        for migration in pending {
            let version = Some(migration.version);
            let start = std::time::Instant::now();
            if migration.is_transactional() {
                let tx = client.transaction().await.map_err(err("begin", version))?;
                tx.batch_execute(migration.sql)
                    .await
                    .map_err(err("apply migration", version))?;
                record(&tx, migration, elapsed_ms(start), true)
                    .await
                    .map_err(err("insert_applied_migration", version))?;
                tx.commit().await.map_err(err("commit", version))?;
            } else {
                record(&*client, migration, 0, false)
                    .await
                    .map_err(err("insert_applied_migration", version))?;
                for statement in super::split_statements(migration.sql) {
                    client
                        .batch_execute(statement)
                        .await
                        .map_err(err("apply migration", version))?;
                }
                client
                    .execute(
                        stmt::MARK_MIGRATION_SUCCEEDED,
                        &[&migration.version, &elapsed_ms(start)],
                    )
                    .await
                    .map_err(err("mark_migration_succeeded", version))?;
            }
            report.applied.push(migration.version);
            report.current_version = migration.version;
        }
        Ok(report)
    }

    /// Applies `migrations` under the migrator's advisory lock (see the
    /// [module docs](super)). The tables go to the first schema of the
    /// connection's `search_path`.
    pub async fn migrate_postgres_with(
        client: &mut Client,
        migrations: &[Migration],
    ) -> Result<MigrationReport, MigrationError> {
        // Poll rather than block: see the spec's `lock_migrations`.
        let mut wait = std::time::Duration::from_millis(10);
        loop {
            let taken: bool = client
                .query_one(stmt::LOCK_MIGRATIONS, &[&MIGRATION_LOCK_KEY])
                .await
                .and_then(|row| row.try_get(0))
                .map_err(err("lock_migrations", None))?;
            if taken {
                break;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_millis(500));
        }
        let result = apply_all(client, migrations).await;
        let unlocked = client
            .execute(stmt::UNLOCK_MIGRATIONS, &[&MIGRATION_LOCK_KEY])
            .await
            .map_err(err("unlock_migrations", None));
        let report = result?;
        unlocked?;
        Ok(report)
    }

    /// Applies the embedded PostgreSQL migrations (see the [module docs](super)).
    pub async fn migrate_postgres(client: &mut Client) -> Result<MigrationReport, MigrationError> {
        migrate_postgres_with(client, &super::postgres_migrations()).await
    }

    /// The recorded history of a PostgreSQL database (empty when the
    /// tracking table does not exist yet).
    pub async fn applied_postgres(
        client: &Client,
    ) -> Result<Vec<AppliedMigration>, MigrationError> {
        match read_applied(client).await {
            Ok(rows) => Ok(rows),
            Err(source)
                if source.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) =>
            {
                Ok(Vec::new())
            }
            Err(source) => Err(MigrationError::Postgres {
                step: "select_applied_migrations",
                version: None,
                source,
            }),
        }
    }

    /// Applies the embedded PostgreSQL migrations up to version `to` (see
    /// [`super::up_to`]).
    pub async fn migrate_postgres_to(
        client: &mut Client,
        to: i64,
    ) -> Result<MigrationReport, MigrationError> {
        let applied = applied_postgres(client).await?;
        let list = super::up_to(&super::postgres_migrations(), &applied, to)?;
        migrate_postgres_with(client, &list).await
    }

    /// Checks the recorded version of a PostgreSQL database opened without
    /// migrating (see [`super::check_version`]).
    pub async fn check_postgres_version(
        client: &Client,
        allow_outdated: bool,
    ) -> Result<(), MigrationError> {
        let applied = applied_postgres(client).await?;
        super::check_version(&super::postgres_migrations(), &applied, allow_outdated)
    }

    /// The SQL still to run on this PostgreSQL database (see
    /// [`super::pending_sql`]); nothing is executed.
    pub async fn pending_sql_postgres(client: &Client) -> Result<String, MigrationError> {
        let applied = applied_postgres(client).await?;
        super::pending_sql(
            super::Dialect::Postgres,
            &super::postgres_migrations(),
            &applied,
            true,
        )
    }
}

#[cfg(feature = "postgres")]
pub use postgres::{
    applied_postgres, check_postgres_version, migrate_postgres, migrate_postgres_to,
    migrate_postgres_with, pending_sql_postgres,
};

#[cfg(test)]
mod tests {
    use super::*;

    const M1: Migration = Migration {
        version: 1,
        name: "create",
        sql: "CREATE TABLE fixture_a (id INTEGER PRIMARY KEY);",
        checksum: "c1",
    };
    const M2: Migration = Migration {
        version: 2,
        name: "add_column",
        sql: "ALTER TABLE fixture_a ADD COLUMN label TEXT;",
        checksum: "c2",
    };
    const M3: Migration = Migration {
        version: 3,
        name: "index",
        sql: "-- transaction: none\nCREATE INDEX ix_fixture_a_label ON fixture_a (label);",
        checksum: "c3",
    };

    fn applied(m: &Migration) -> AppliedMigration {
        AppliedMigration {
            version: m.version,
            name: m.name.to_owned(),
            checksum: m.checksum.to_owned(),
            success: true,
        }
    }

    #[test]
    fn fresh_database_gets_everything_in_order() {
        let pending = plan(&[M1, M2, M3], &[]).unwrap();
        assert_eq!(
            pending.iter().map(|m| m.version).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let pending = plan(&[M1, M2, M3], &[applied(&M1)]).unwrap();
        assert_eq!(
            pending.iter().map(|m| m.version).collect::<Vec<_>>(),
            [2, 3]
        );
        assert!(
            plan(&[M1, M2], &[applied(&M1), applied(&M2)])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn dirty_database_is_refused() {
        let mut row = applied(&M2);
        row.success = false;
        let err = plan(&[M1, M2], &[applied(&M1), row]).unwrap_err();
        assert!(
            matches!(err, MigrationError::Dirty { version: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn divergent_checksum_or_name_is_refused() {
        let mut row = applied(&M1);
        row.checksum = "edited".into();
        let err = plan(&[M1, M2], &[row]).unwrap_err();
        assert!(
            matches!(&err, MigrationError::Divergent { version: 1, recorded, .. } if recorded == "create:edited"),
            "{err}"
        );
        let mut row = applied(&M1);
        row.name = "renamed".into();
        assert!(matches!(
            plan(&[M1], &[row]),
            Err(MigrationError::Divergent { version: 1, .. })
        ));
    }

    #[test]
    fn unknown_applied_migration_is_refused() {
        let err = plan(&[M1], &[applied(&M1), applied(&M2)]).unwrap_err();
        assert!(
            matches!(err, MigrationError::Missing { version: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn skipped_migration_is_refused() {
        let err = plan(&[M1, M2, M3], &[applied(&M1), applied(&M3)]).unwrap_err();
        assert!(
            matches!(
                err,
                MigrationError::OutOfOrder {
                    version: 2,
                    latest_applied: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn version_check_refuses_newer_and_outdated_databases() {
        let all = [M1, M2, M3];
        assert!(check_version(&all, &[applied(&M1), applied(&M2), applied(&M3)], false).is_ok());
        let err = check_version(
            &[M1, M2],
            &[applied(&M1), applied(&M2), applied(&M3)],
            false,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                MigrationError::SchemaTooNew {
                    recorded: 3,
                    latest: 2
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("newer release"), "{err}");
        let err = check_version(&all, &[applied(&M1)], false).unwrap_err();
        assert!(
            matches!(
                err,
                MigrationError::SchemaOutdated {
                    current: 1,
                    latest: 3
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("durable migrate"), "{err}");
        assert!(check_version(&all, &[applied(&M1)], true).is_ok());
        assert!(matches!(
            check_version(&all, &[], false),
            Err(MigrationError::SchemaOutdated { current: 0, .. })
        ));
    }

    #[test]
    fn up_to_stops_at_the_version_and_goes_forward_only() {
        let all = [M1, M2, M3];
        let list = up_to(&all, &[], 2).unwrap();
        assert_eq!(list.iter().map(|m| m.version).collect::<Vec<_>>(), [1, 2]);
        assert!(matches!(
            up_to(&all, &[], 9),
            Err(MigrationError::UnknownTarget { to: 9, latest: 3 })
        ));
        assert!(matches!(
            up_to(&all, &[applied(&M1), applied(&M2), applied(&M3)], 2),
            Err(MigrationError::BeyondTarget { current: 3, to: 2 })
        ));
    }

    #[test]
    fn statements_split_outside_literals_and_comments() {
        let sql = "-- header; not a statement\nCREATE INDEX CONCURRENTLY a ON t (x);\nCOMMENT ON INDEX a IS 'one; two';\n-- trailing\n";
        assert_eq!(
            split_statements(sql),
            [
                "-- header; not a statement\nCREATE INDEX CONCURRENTLY a ON t (x);",
                "\nCOMMENT ON INDEX a IS 'one; two';"
            ]
        );
        assert!(split_statements("-- only comments;\n").is_empty());
    }

    #[test]
    fn unsorted_list_is_refused() {
        assert!(matches!(
            plan(&[M2, M1], &[]),
            Err(MigrationError::Unsorted { version: 1, .. })
        ));
    }

    #[test]
    fn transaction_opt_out_is_read_from_the_header() {
        assert!(M1.is_transactional());
        assert!(!M3.is_transactional());
        let late = Migration {
            sql: "CREATE TABLE x (a int);\n-- transaction: none\n",
            ..M1
        };
        assert!(late.is_transactional());
    }

    #[cfg(all(feature = "sqlite", feature = "postgres"))]
    #[test]
    fn pending_sql_lists_only_what_is_missing() {
        let sql = pending_sql(Dialect::Sqlite, &[M1, M2, M3], &[applied(&M1)], false).unwrap();
        assert!(!sql.contains("CREATE TABLE fixture_a"), "{sql}");
        assert!(
            sql.contains("ALTER TABLE fixture_a ADD COLUMN label TEXT;"),
            "{sql}"
        );
        assert!(sql.contains("'add_column'"), "{sql}");
        assert!(sql.contains("-- migration 3 (index): run outside a transaction"));
        assert!(!sql.contains(":version") && !sql.contains(":name"), "{sql}");
        let pg = pending_sql(Dialect::Postgres, &[M1], &[], true).unwrap();
        assert!(pg.contains("CREATE TABLE IF NOT EXISTS task_executions_migrations"));
        assert!(!pg.contains("$1"), "{pg}");
        assert!(
            pending_sql(Dialect::Postgres, &[M1], &[applied(&M1)], true)
                .unwrap()
                .is_empty()
        );
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_migrator_applies_once_and_checks_history() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let report = migrate_sqlite_with(&mut conn, &[M1, M2, M3]).unwrap();
        assert_eq!(report.applied, [1, 2, 3]);
        assert_eq!(report.current_version, 3);
        let again = migrate_sqlite_with(&mut conn, &[M1, M2, M3]).unwrap();
        assert!(again.applied.is_empty());
        assert_eq!(again.current_version, 3);
        conn.execute("INSERT INTO fixture_a (label) VALUES ('x')", [])
            .unwrap();
        let edited = Migration {
            checksum: "other",
            ..M2
        };
        assert!(matches!(
            migrate_sqlite_with(&mut conn, &[M1, edited, M3]),
            Err(MigrationError::Divergent { version: 2, .. })
        ));
        assert!(matches!(
            migrate_sqlite_with(&mut conn, &[M1, M2]),
            Err(MigrationError::Missing { version: 3, .. })
        ));
        let history = applied_sqlite(&conn).unwrap();
        assert!(history.iter().all(|row| row.success));
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_failed_migration_leaves_nothing_or_marks_dirty() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let broken = Migration {
            version: 2,
            name: "broken",
            sql: "ALTER TABLE fixture_a ADD COLUMN label TEXT; SELEC 1;",
            checksum: "b",
        };
        let err = migrate_sqlite_with(&mut conn, &[M1, broken]).unwrap_err();
        assert!(
            matches!(
                err,
                MigrationError::Sqlite {
                    version: Some(2),
                    ..
                }
            ),
            "{err}"
        );
        // The transactional migration rolled back entirely: not recorded, column absent.
        assert_eq!(applied_sqlite(&conn).unwrap().len(), 1);
        assert!(conn.prepare("SELECT label FROM fixture_a").is_err());

        let broken_no_tx = Migration {
            version: 2,
            name: "broken_no_tx",
            sql: "-- transaction: none\nCREATE INDEX ix_missing ON no_such_table (x);",
            checksum: "n",
        };
        assert!(migrate_sqlite_with(&mut conn, &[M1, broken_no_tx]).is_err());
        assert!(matches!(
            migrate_sqlite_with(&mut conn, &[M1, broken_no_tx]),
            Err(MigrationError::Dirty { version: 2, .. })
        ));
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_fresh_database_has_no_history() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        assert!(applied_sqlite(&conn).unwrap().is_empty());
    }
}
