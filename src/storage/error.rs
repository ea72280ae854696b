//! The storage error type.

use crate::model::CorruptRow;

/// An error from a storage backend. Every variant says which operation
/// failed; database errors keep their source.
///
/// # What the executor does with an error
///
/// - [`is_transient`](Self::is_transient) errors are retried: the
///   executor's writes of results, its enqueues and the handles' waits try
///   again with backoff; its loops retry at their next round.
/// - Any other error is permanent for that call: a result write that is
///   refused is recorded as the execution's failure where possible.
/// - A row that cannot be decoded is isolated, not an error of the call:
///   a backend returns [`CorruptRow`] in that row's place of a
///   `Vec<`[`Loaded`](crate::model::Loaded)`>` and the executor fails that
///   execution alone; [`StorageError::Corrupt`] is for a call whose only
///   row cannot be read.
///
/// A backend written outside this crate reports its own driver errors with
/// [`StorageError::transient`] or [`StorageError::permanent`] (the
/// [`Backend`](Self::Backend) variant), so that it takes part in the same
/// retries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// [`Storage::rerun`](super::Storage::rerun) refused the execution;
    /// nothing was changed.
    #[error("cannot retry execution {execution_id}: {reason}")]
    RerunRefused {
        /// The execution asked for.
        execution_id: String,
        /// Why.
        reason: super::RerunRefusal,
    },
    /// An inserted execution id already exists.
    #[error("duplicate execution id {execution_id}")]
    DuplicateExecutionId {
        /// The duplicate id (or `unknown` when the database did not say).
        execution_id: String,
    },
    /// An inserted sleeping execution's key is already the key of another
    /// sleeping execution (two sleeping executions never share a key).
    #[error("duplicate sleeping key {key}: another sleeping execution has it")]
    DuplicateSleepingKey {
        /// The duplicate key (or `unknown` when the database did not say).
        key: String,
    },
    /// A PostgreSQL statement failed.
    #[cfg(feature = "postgres")]
    #[error("postgres query `{query}` failed: {source}")]
    Postgres {
        /// The spec name of the query.
        query: &'static str,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// No PostgreSQL connection could be taken from the pool.
    #[cfg(feature = "postgres")]
    #[error("postgres connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// A PostgreSQL connection failed at its TLS layer (or was refused for
    /// lacking TLS): one error naming the mode, the host and the reason.
    #[cfg(feature = "postgres")]
    #[error("postgres connection to `{host}` with sslmode={sslmode} failed: {failure}")]
    Tls {
        /// The effective TLS mode (`require` with a root certificate file
        /// reads `verify-ca`).
        sslmode: crate::storage::postgres::SslMode,
        /// The host connected to.
        host: String,
        /// Why it failed.
        failure: crate::storage::postgres::TlsFailure,
        /// The driver error.
        #[source]
        source: Option<tokio_postgres::Error>,
    },
    /// A SQLite statement failed.
    #[cfg(feature = "sqlite")]
    #[error("sqlite query `{query}` failed: {source}")]
    Sqlite {
        /// The spec name of the query.
        query: &'static str,
        /// The driver error.
        #[source]
        source: rusqlite::Error,
    },
    /// The SQLite file was deleted, or replaced by another file, after the
    /// storage opened it: writes would go to the old, unlinked file (and be
    /// lost), so every write is refused. Not transient: restart the
    /// executor, or reopen the storage, once the right file is in place.
    #[cfg(feature = "sqlite")]
    #[error(
        "SQLite file {} was deleted or replaced since it was opened; writes are refused so that \
         nothing is lost into the old file: restart the executor (reopen the storage)",
        path.display()
    )]
    DatabaseFileReplaced {
        /// The path the storage was opened with.
        path: std::path::PathBuf,
    },
    /// The SQLite file does not exist and the storage was opened without
    /// migrating (or read-only), so it was not created.
    #[cfg(feature = "sqlite")]
    #[error(
        "SQLite file {} does not exist; create it by opening with migrations enabled \
         (or with `durable migrate`)",
        path.display()
    )]
    MissingDatabaseFile {
        /// The path the storage was opened with.
        path: std::path::PathBuf,
    },
    /// A write through a storage opened read-only
    /// ([`SqliteOptions::read_only`](crate::storage::SqliteOptions::read_only)).
    #[cfg(feature = "sqlite")]
    #[error("SQLite file {} is open read-only; this operation writes", path.display())]
    ReadOnly {
        /// The path the storage was opened with.
        path: std::path::PathBuf,
    },
    /// A stored row could not be read.
    #[error(transparent)]
    Corrupt(#[from] CorruptRow),
    /// A value could not be encoded for storage.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        message: String,
    },
    /// The task executions table does not exist: the migrations have not
    /// been applied.
    #[error("table `{table}` does not exist; run the migrations first (`durable migrate`)")]
    MissingTable {
        /// The table name from the spec.
        table: String,
    },
    /// The migrator failed (opening a storage that migrates on open).
    #[error(transparent)]
    Migration(#[from] crate::migrate::MigrationError),
    /// The storage could not be configured (bad option or connection string).
    #[error("invalid storage configuration: {0}")]
    Config(String),
    /// A blocking storage job panicked or was cancelled.
    #[error("storage worker failed: {0}")]
    Worker(String),
    /// An error of a backend outside this crate (or of a wrapper), which
    /// says itself whether it is transient: made by
    /// [`StorageError::transient`] and [`StorageError::permanent`].
    #[error(
        "{backend} storage failed ({}): {source}",
        if *transient { "transient" } else { "permanent" }
    )]
    Backend {
        /// The backend's name (its [`Storage::backend_name`](crate::storage::Storage::backend_name)).
        backend: &'static str,
        /// Whether retrying the same operation later may succeed.
        transient: bool,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl StorageError {
    /// An error of `backend` after which the same operation may succeed
    /// later (a lost connection, a lock timeout, a serialization failure):
    /// the executor retries it. `error` is anything that converts into a
    /// boxed error (a driver error, a `String`, a `&str`).
    ///
    /// ```
    /// use durable_execution::storage::StorageError;
    ///
    /// let error = StorageError::transient("redis", "connection reset");
    /// assert!(error.is_transient());
    /// assert_eq!(error.to_string(), "redis storage failed (transient): connection reset");
    /// ```
    pub fn transient(
        backend: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Backend {
            backend,
            transient: true,
            source: error.into(),
        }
    }

    /// An error of `backend` that retrying does not cure (a refused value, a
    /// missing table, a bad configuration).
    ///
    /// ```
    /// use durable_execution::storage::StorageError;
    ///
    /// assert!(!StorageError::permanent("redis", "wrong type of key").is_transient());
    /// ```
    pub fn permanent(
        backend: &'static str,
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self::Backend {
            backend,
            transient: false,
            source: error.into(),
        }
    }

    /// Whether retrying the same operation later may succeed (connection
    /// problems, lock timeouts, serialization failures, a
    /// [`Backend`](Self::Backend) error made by
    /// [`transient`](Self::transient)).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Backend { transient, .. } => *transient,
            #[cfg(feature = "postgres")]
            Self::Postgres { source, .. } => {
                source.is_closed()
                    || source
                        .code()
                        .is_none_or(|code| is_transient_sqlstate(code.code()))
            }
            #[cfg(feature = "postgres")]
            Self::Pool(_) => true,
            #[cfg(feature = "sqlite")]
            Self::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            Self::Worker(_) => true,
            _ => false,
        }
    }
}

/// SQLSTATEs after which the same statement may succeed on a later try:
/// transaction rollbacks (class 40: serialization failure, deadlock),
/// connection exceptions (class 08), the server shutting down, restarting
/// or not accepting connections yet (57P01 `admin_shutdown`, e.g. a
/// terminated backend or a fast shutdown; 57P02 `crash_shutdown`; 57P03
/// `cannot_connect_now`) and too many connections (53300).
#[cfg(feature = "postgres")]
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("40")
        || code.starts_with("08")
        || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::is_transient_sqlstate;

    #[test]
    fn transient_sqlstates() {
        for code in [
            "40001", "40P01", "08006", "08003", "57P01", "57P02", "57P03", "53300",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "57014", "42501"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }
}
