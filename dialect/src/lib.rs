//! The SQL dialects of `durable-execution`: one [`Dialect`] type shared by
//! the library (its migrator), the codegen (spec model and renderers) and the
//! `durable` CLI (`--dialect`).
//!
//! A crate of its own because the library cannot depend on the codegen at run
//! time (a build dependency with a template engine and a Rust parser) and the
//! codegen cannot depend on the library (whose build script depends on the
//! codegen); see this crate's README.
//!
//! ```
//! use durable_execution_dialect::Dialect;
//!
//! assert_eq!("sqlite".parse::<Dialect>(), Ok(Dialect::Sqlite));
//! assert_eq!(Dialect::Postgres.to_string(), "postgres");
//! assert!("mysql".parse::<Dialect>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

/// A SQL dialect the spec targets, spelled `postgres` / `sqlite` (in the
/// spec, in `generated/<dialect>/` directory names and on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize, serde::Serialize),
    serde(rename_all = "snake_case")
)]
pub enum Dialect {
    /// PostgreSQL (15+; `$n` placeholders).
    Postgres,
    /// SQLite (3.35+, bundled by rusqlite; `:name` placeholders).
    Sqlite,
}

impl Dialect {
    /// Every dialect, in output order.
    pub const ALL: [Dialect; 2] = [Dialect::Postgres, Dialect::Sqlite];

    /// The spec spelling, also the directory name under `generated/` and the
    /// value of the CLI's `--dialect`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`Dialect`]'s spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDialect(pub String);

impl fmt::Display for UnknownDialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown dialect `{}` (expected one of: {})",
            self.0,
            Dialect::ALL.map(Dialect::as_str).join(", ")
        )
    }
}

impl std::error::Error for UnknownDialect {}

impl FromStr for Dialect {
    type Err = UnknownDialect;

    /// Parses the spelling of [`Dialect::as_str`] (exactly: no case folding).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDialect(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_round_trips() {
        for dialect in Dialect::ALL {
            assert_eq!(dialect.as_str().parse::<Dialect>(), Ok(dialect));
            assert_eq!(dialect.to_string(), dialect.as_str());
        }
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = "Postgres".parse::<Dialect>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown dialect `Postgres` (expected one of: postgres, sqlite)"
        );
    }
}
