//! SQL reserved words: names the generated SQL cannot use for a table,
//! column, index or result column, because every renderer writes names
//! unquoted.
//!
//! The list is the union of
//! - PostgreSQL's reserved keywords and its "type or function name" keywords
//!   (`SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')` on
//!   PostgreSQL 15), which it refuses as an unquoted column or table name, and
//! - the SQLite keywords that SQLite refuses as an unquoted column, table or
//!   index name (`add`, `alter`, `between`, `exists`, `if`, `index`, `set`,
//!   `values`, ...).
//!
//! It was derived by creating a table, an index and running a SELECT, an
//! INSERT and an UPDATE with each keyword of both databases as a column, table
//! and index name, in PostgreSQL 15 and in SQLite: a word is listed when
//! either database rejects one of these statements. Keep it sorted (a unit
//! test checks it) and extend it if a new version of either database reserves
//! more words. See spec/README.md ("Validation").

/// The reserved words, lowercase, sorted.
pub const RESERVED_WORDS: &[&str] = &[
    "add",
    "all",
    "alter",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "autoincrement",
    "between",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "commit",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "delete",
    "desc",
    "distinct",
    "do",
    "drop",
    "else",
    "end",
    "escape",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "if",
    "ilike",
    "in",
    "index",
    "initially",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "nothing",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "raise",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "set",
    "similar",
    "some",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "transaction",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// Whether `name` is a reserved word (ASCII case-insensitive).
pub fn is_reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    RESERVED_WORDS.binary_search(&lower.as_str()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_lowercase() {
        assert!(RESERVED_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(
            RESERVED_WORDS
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
    }

    #[test]
    fn recognizes_reserved_words_in_any_case() {
        for word in [
            "select", "SELECT", "Order", "user", "limit", "values", "index",
        ] {
            assert!(is_reserved(word), "{word}");
        }
        for word in [
            "status", "input", "output", "key", "value", "name", "type", "error",
        ] {
            assert!(!is_reserved(word), "{word}");
        }
    }
}
