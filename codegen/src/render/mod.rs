//! Render stage: pure functions from a validated [`Spec`](crate::Spec) to file contents.
//!
//! Every renderer returns `BTreeMap<PathBuf, String>` (path relative to the
//! workspace root, or to `OUT_DIR` for the build-time modules) and touches
//! neither the filesystem nor a database. The same input always renders
//! byte-identical output: no timestamps, no absolute paths, ordered maps.

pub mod cornucopia;
pub mod ddl;
pub mod migrations;
pub mod rows;
pub mod sqlite;
pub mod statements;

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};

use crate::parse::{Dialect, LogicalType, SqlItem, Table};

/// The one command that regenerates every committed artifact.
pub const REGENERATE_COMMAND: &str = "cargo xtask codegen";

/// Rendered files: path → content.
pub type Files = BTreeMap<PathBuf, String>;

/// A failure while rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// A codegen template failed to render (a bug in the template or its context).
    #[error("template `{template}` failed to render: {source:#}")]
    Template {
        /// Template name (`codegen/templates/<name>`).
        template: String,
        /// The minijinja error.
        #[source]
        source: minijinja::Error,
    },
    /// A rendered Rust file did not parse (a bug in the template).
    #[error(
        "template `{template}` produced invalid Rust: {message} (line {line}, column {column})"
    )]
    InvalidRust {
        /// Template name.
        template: String,
        /// The syn parse error.
        message: String,
        /// 1-based line in the rendered text.
        line: usize,
        /// 1-based column in the rendered text.
        column: usize,
    },
    /// The SQL template of a query or statement failed to render
    /// (validation reports the same error with a location first).
    #[error("SQL of `{item}` for {dialect} failed to render: {source:#}")]
    Sql {
        /// Query or statement name.
        item: String,
        /// Dialect.
        dialect: &'static str,
        /// The minijinja error.
        #[source]
        source: minijinja::Error,
    },
    /// A snapshot failed to serialize.
    #[error("snapshot failed to serialize: {0}")]
    Snapshot(String),
    /// A query or statement has no SQL for a dialect it declares
    /// (validation reports this first).
    #[error("`{item}` has no SQL for {dialect}")]
    MissingSql {
        /// Query or statement name.
        item: String,
        /// Dialect.
        dialect: &'static str,
    },
}

/// Renders the SQL template of a spec query or statement: `{{ table }}` and
/// `{{ columns(alias?) }}` are available; undefined names are errors.
/// Trailing whitespace is trimmed.
pub fn render_sql(table: &Table, template: &str) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let names: Vec<String> = table.columns.iter().map(|c| c.name.clone()).collect();
    env.add_function("columns", move |alias: Option<String>| -> String {
        names
            .iter()
            .map(|n| match &alias {
                Some(a) => format!("{a}.{n}"),
                None => n.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    });
    let rendered = env.render_str(
        template,
        minijinja::context! { table => table.name.clone() },
    )?;
    Ok(rendered.trim_end().to_owned())
}

/// The rendered SQL of `item` for `dialect`.
pub(crate) fn item_sql(
    table: &Table,
    item: &dyn SqlItem,
    dialect: Dialect,
) -> Result<String, RenderError> {
    let template = item
        .sql_template(dialect)
        .ok_or_else(|| RenderError::MissingSql {
            item: item.name().to_owned(),
            dialect: dialect.as_str(),
        })?;
    render_sql(table, template).map_err(|source| RenderError::Sql {
        item: item.name().to_owned(),
        dialect: dialect.as_str(),
        source,
    })
}

/// The codegen templates, embedded at compile time.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "sqlite_queries.rs.j2",
        include_str!("../../templates/sqlite_queries.rs.j2"),
    ),
    (
        "pg_statements.rs.j2",
        include_str!("../../templates/pg_statements.rs.j2"),
    ),
    (
        "migrations.rs.j2",
        include_str!("../../templates/migrations.rs.j2"),
    ),
    (
        "schema.sql.j2",
        include_str!("../../templates/schema.sql.j2"),
    ),
    (
        "migration.sql.j2",
        include_str!("../../templates/migration.sql.j2"),
    ),
    (
        "custom_migration.sql.j2",
        include_str!("../../templates/custom_migration.sql.j2"),
    ),
    (
        "cornucopia.sql.j2",
        include_str!("../../templates/cornucopia.sql.j2"),
    ),
    ("rows.rs.j2", include_str!("../../templates/rows.rs.j2")),
];

/// The template environment: strict undefined, `trim_blocks`, `lstrip_blocks`,
/// `keep_trailing_newline`, plus the `rust_str`, `rust_doc` and `sql_comment` filters.
pub(crate) fn environment() -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|source| RenderError::Template {
            template: "<syntax>".to_owned(),
            source,
        })?;
    env.set_syntax(syntax);
    env.add_filter("rust_str", |s: String| rust_str(&s));
    env.add_filter("rust_doc", |s: String| rust_doc(&s));
    env.add_filter("sql_comment", |s: String, indent: Option<String>| {
        sql_comment(&s, indent.as_deref().unwrap_or(""))
    });
    env.add_filter("sql_quote", |s: String| sql_quote(&s));
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|source| RenderError::Template {
                template: (*name).to_owned(),
                source,
            })?;
    }
    Ok(env)
}

/// Renders template `name` with `ctx`.
pub(crate) fn render_template(name: &str, ctx: Value) -> Result<String, RenderError> {
    let env = environment()?;
    let wrap = |source| RenderError::Template {
        template: name.to_owned(),
        source,
    };
    env.get_template(name)
        .map_err(wrap)?
        .render(ctx)
        .map_err(wrap)
}

/// Parses rendered Rust with syn and pretty-prints it with prettyplease,
/// prefixing `header` (comments do not survive prettyplease).
pub(crate) fn format_rust(
    template: &str,
    source: &str,
    header: &str,
) -> Result<String, RenderError> {
    let file = syn::parse_file(source).map_err(|err| {
        let start = err.span().start();
        RenderError::InvalidRust {
            template: template.to_owned(),
            message: err.to_string(),
            line: start.line,
            column: start.column + 1,
        }
    })?;
    Ok(format!("{header}\n{}", prettyplease::unparse(&file)))
}

/// The `@generated` header of a Rust file rendered into `OUT_DIR` by build.rs.
pub(crate) fn rust_header(spec_path: &str) -> String {
    format!(
        "// @generated from {spec_path} by build.rs (durable-execution-codegen); do not edit.\n\
         // Regenerated by every `cargo build`; the committed artifacts it checks are regenerated with `{REGENERATE_COMMAND}`.\n"
    )
}

/// The `@generated` header of a committed SQL file.
pub(crate) fn sql_header(spec_path: &str) -> String {
    format!(
        "-- @generated from {spec_path}; do not edit. Regenerate with `{REGENERATE_COMMAND}`.\n"
    )
}

/// A Rust string literal for `s` (a raw string when possible, for readable SQL).
pub fn rust_str(s: &str) -> String {
    if s.contains('\n') || s.contains('"') || s.contains('\\') {
        let mut hashes = String::from("#");
        while s.contains(&format!("\"{hashes}")) {
            hashes.push('#');
        }
        format!("r{hashes}\"{s}\"{hashes}")
    } else {
        format!("\"{s}\"")
    }
}

/// `///` doc comment lines for `s`.
pub fn rust_doc(s: &str) -> String {
    s.trim()
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                "///".to_owned()
            } else {
                format!("/// {}", l.trim_end())
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `--` comment lines for `s`, each prefixed with `indent`.
pub fn sql_comment(s: &str, indent: &str) -> String {
    s.trim()
        .lines()
        .map(|l| format!("{indent}-- {}", l.trim_end()).trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// An SQL string literal for `s`.
pub fn sql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `snake_case` → `PascalCase`.
pub fn pascal_case(s: &str) -> String {
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut chars = p.chars();
            match chars.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The Rust type of a SQLite row field.
pub(crate) fn rust_row_type(ty: LogicalType, nullable: bool) -> String {
    let base = match ty {
        LogicalType::Text | LogicalType::Json => "String",
        LogicalType::Integer => "i32",
        LogicalType::Id | LogicalType::Bigint | LogicalType::Timestamp => "i64",
        LogicalType::Boolean => "bool",
    };
    if nullable {
        format!("Option<{base}>")
    } else {
        base.to_owned()
    }
}

/// The Rust type of a SQLite parameter field (borrowing text).
pub(crate) fn rust_param_type(ty: LogicalType) -> &'static str {
    match ty {
        LogicalType::Text | LogicalType::Json => "&'a str",
        LogicalType::Integer => "i32",
        LogicalType::Id | LogicalType::Bigint | LogicalType::Timestamp => "i64",
        LogicalType::Boolean => "bool",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_rust_reports_the_template() {
        let err = format_rust("broken.rs.j2", "pub fn (", "").err();
        assert!(
            matches!(err, Some(RenderError::InvalidRust { ref template, .. }) if template == "broken.rs.j2")
        );
    }

    #[test]
    fn strict_templates_reject_unknown_variables() {
        let table = Table {
            name: "t".into(),
            doc: String::new(),
            columns: vec![],
            indexes: vec![],
            postgres: None,
        };
        let err = render_sql(&table, "SELECT 1 FROM {{ tabel }}")
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("undefined")));
    }

    #[test]
    fn raw_strings_pick_enough_hashes() {
        assert_eq!(rust_str("a"), "\"a\"");
        assert_eq!(rust_str("a\n\"#b"), "r##\"a\n\"#b\"##");
    }
}
