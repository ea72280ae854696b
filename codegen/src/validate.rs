//! Validate stage: semantic checks of a parsed [`Spec`], each error located
//! in the spec text (file:line:column) and phrased so a maintainer can act on it.

use std::collections::BTreeSet;
use std::fmt;

use crate::columns;
use crate::locate::{Location, locate, locate_in_scalar};
use crate::parse::{Dialect, LogicalType, ReturnColumn, Returns, Spec, SqlItem, Table};
use crate::render::render_sql;
use crate::reserved::is_reserved;
use crate::sql;

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Spec file path.
    pub file: String,
    /// Location in the spec file.
    pub location: Location,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.location, self.message)
    }
}

/// The spec is invalid; every finding is listed, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidateError {
    /// The findings (at least one).
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ValidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.diagnostics.iter().map(ToString::to_string).collect();
        write!(f, "{}", lines.join("\n"))
    }
}

struct Checker<'s> {
    spec: &'s Spec,
    text: &'s str,
    out: Vec<Diagnostic>,
    /// Whether the table definition is valid; the SQL's column names are
    /// only checked against a valid table (otherwise every use of a broken
    /// column would repeat the table's error).
    table_ok: bool,
}

impl Checker<'_> {
    fn at(&mut self, path: &str, message: String) {
        let location = locate(self.text, path);
        self.push(location, message);
    }

    fn push(&mut self, location: Location, message: String) {
        self.out.push(Diagnostic {
            file: self.spec.source_path.clone(),
            location,
            message,
        });
    }

    fn snake(&mut self, path: &str, what: &str, name: &str) {
        if !is_snake_case(name) {
            self.at(
                path,
                format!("{what} name `{name}` is not snake_case (lowercase letters, digits and `_`, starting with a letter)"),
            );
        }
    }

    /// A name that becomes an unquoted SQL identifier must not be a reserved word.
    fn not_reserved(&mut self, path: &str, what: &str, name: &str) {
        if is_reserved(name) {
            let suggestion = if what == "table" {
                format!("{name}s")
            } else {
                format!("{}_{name}", self.spec.table.name)
            };
            self.at(
                path,
                format!(
                    "{what} name `{name}` is an SQL reserved word: PostgreSQL or SQLite rejects it unquoted and the generated SQL does not quote names; rename it (e.g. `{suggestion}` or a more specific word)"
                ),
            );
        }
    }
}

/// Whether `s` is snake_case.
pub fn is_snake_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.ends_with('_')
        && !s.contains("__")
}

/// Checks `spec` (parsed from `text`).
pub fn validate(spec: &Spec, text: &str) -> Result<(), ValidateError> {
    let mut c = Checker {
        spec,
        text,
        out: Vec::new(),
        table_ok: false,
    };
    check_table(&mut c);
    c.table_ok = c.out.is_empty();
    let mut seen = BTreeSet::new();
    for (i, q) in spec.queries.iter().enumerate() {
        let prefix = format!("queries[{i}]");
        if !seen.insert(q.name.clone()) {
            c.at(
                &format!("{prefix}.name"),
                format!("duplicate query name `{}`", q.name),
            );
        }
        check_item(&mut c, q, &prefix, "query");
        check_returns(&mut c, q, &prefix);
    }
    let mut seen = BTreeSet::new();
    for (i, s) in spec.statements.iter().enumerate() {
        let prefix = format!("statements[{i}]");
        if !seen.insert(s.name.clone()) {
            c.at(
                &format!("{prefix}.name"),
                format!("duplicate statement name `{}`", s.name),
            );
        }
        check_item(&mut c, s, &prefix, "statement");
    }
    let mut seen = BTreeSet::new();
    for (i, m) in spec.custom_migrations.iter().enumerate() {
        let prefix = format!("custom_migrations[{i}]");
        c.snake(&format!("{prefix}.name"), "custom migration", &m.name);
        if !seen.insert(m.name.clone()) {
            c.at(
                &format!("{prefix}.name"),
                format!("duplicate custom migration name `{}`", m.name),
            );
        }
        for dialect in crate::parse::Dialect::ALL {
            if m.sql_for(dialect).is_none_or(|sql| sql.trim().is_empty()) {
                c.at(
                    &format!("{prefix}.name"),
                    format!(
                        "custom migration `{}` has no SQL for {} (give `sql`, or `postgres` and `sqlite`)",
                        m.name,
                        dialect.as_str()
                    ),
                );
            }
        }
    }
    if c.out.is_empty() {
        Ok(())
    } else {
        let mut diagnostics = c.out;
        diagnostics.sort_by_key(|d| d.location);
        diagnostics.dedup();
        Err(ValidateError { diagnostics })
    }
}

fn check_table(c: &mut Checker<'_>) {
    let table = &c.spec.table;
    c.snake("table.name", "table", &table.name);
    c.not_reserved("table.name", "table", &table.name);
    if table.columns.is_empty() {
        c.at("table.columns", "the table has no columns".to_owned());
    }
    if let Some(fillfactor) = table.postgres.and_then(|p| p.fillfactor)
        && !(10..=100).contains(&fillfactor)
    {
        c.at(
            "table.postgres.fillfactor",
            format!(
                "fillfactor {fillfactor} is out of range: PostgreSQL accepts 10 to 100 (percent of each heap page that inserts fill; 100, the default, leaves no room for HOT updates)"
            ),
        );
    }
    let mut names = BTreeSet::new();
    let mut ids = 0;
    for (i, col) in table.columns.iter().enumerate() {
        let path = format!("table.columns[{i}]");
        c.snake(&format!("{path}.name"), "column", &col.name);
        c.not_reserved(&format!("{path}.name"), "column", &col.name);
        if !names.insert(col.name.clone()) {
            c.at(
                &format!("{path}.name"),
                format!("duplicate column name `{}`", col.name),
            );
        }
        if let Some(from) = &col.renamed_from {
            c.snake(&format!("{path}.renamed_from"), "column", from);
            if from == &col.name || table.column(from).is_some() {
                c.at(
                    &format!("{path}.renamed_from"),
                    format!(
                        "column `{}` is renamed from `{from}`, which is a column of the spec: a rename needs a name that no longer exists",
                        col.name
                    ),
                );
            }
        }
        if col.ty == LogicalType::Id {
            ids += 1;
            if ids > 1 {
                c.at(
                    &format!("{path}.type"),
                    format!("column `{}`: a table has at most one `id` column", col.name),
                );
            }
            if col.nullable || col.default.is_some() {
                c.at(
                    &format!("{path}.type"),
                    format!("column `{}`: an `id` column is the primary key: it takes no `nullable` or `default`", col.name),
                );
            }
        }
    }
    let mut index_names = BTreeSet::new();
    for (n, ix) in table.indexes.iter().enumerate() {
        let path = format!("table.indexes[{n}]");
        c.snake(&format!("{path}.name"), "index", &ix.name);
        c.not_reserved(&format!("{path}.name"), "index", &ix.name);
        if !index_names.insert(ix.name.clone()) {
            c.at(
                &format!("{path}.name"),
                format!("duplicate index name `{}`", ix.name),
            );
        }
        if let Some(from) = &ix.renamed_from {
            c.snake(&format!("{path}.renamed_from"), "index", from);
            if table.indexes.iter().any(|other| &other.name == from) {
                c.at(
                    &format!("{path}.renamed_from"),
                    format!(
                        "index `{}` is renamed from `{from}`, which is an index of the spec: a rename needs a name that no longer exists",
                        ix.name
                    ),
                );
            }
        }
        if ix.columns.is_empty() {
            c.at(
                &format!("{path}.columns"),
                format!("index `{}` has no columns", ix.name),
            );
        }
        for (i, col) in ix.columns.iter().enumerate() {
            if table.column(col).is_none() {
                c.at(
                    &format!("{path}.columns[{i}]"),
                    format!(
                        "index `{}` references unknown column `{col}` (columns of `{}`: {})",
                        ix.name,
                        table.name,
                        column_names(c.spec)
                    ),
                );
            }
        }
    }
}

fn column_names(spec: &Spec) -> String {
    spec.table
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_item(c: &mut Checker<'_>, item: &dyn SqlItem, prefix: &str, what: &str) {
    let name = item.name().to_owned();
    c.snake(&format!("{prefix}.name"), what, &name);
    let mut param_names = BTreeSet::new();
    for (i, p) in item.params().iter().enumerate() {
        let path = format!("{prefix}.params[{i}]");
        c.snake(&format!("{path}.name"), "parameter", &p.name);
        if !param_names.insert(p.name.clone()) {
            c.at(
                &format!("{path}.name"),
                format!("{what} `{name}`: duplicate parameter `{}`", p.name),
            );
        }
    }
    if item.declared_dialects().is_some_and(<[Dialect]>::is_empty) {
        c.at(
            &format!("{prefix}.dialects"),
            format!("{what} `{name}`: `dialects` is empty"),
        );
    }
    let dialects = item.dialects();
    for d in Dialect::ALL {
        if item.dialect_sql(d).is_some() && !dialects.contains(&d) {
            c.at(
                &format!("{prefix}.{}", d.as_str()),
                format!(
                    "{what} `{name}` has `{}` SQL but `dialects` excludes {}",
                    d.as_str(),
                    d.as_str()
                ),
            );
        }
    }
    if item.shared_sql().is_some() && dialects.iter().all(|d| item.dialect_sql(*d).is_some()) {
        c.at(
            &format!("{prefix}.sql"),
            format!("{what} `{name}`: `sql` is never used because every dialect has its own SQL; remove it"),
        );
    }
    for d in dialects {
        let Some(template) = item.sql_template(d) else {
            c.at(
                &format!("{prefix}.name"),
                format!(
                    "{what} `{name}` has no SQL for {}: add `sql:` (both dialects) or `{}:`, or restrict `dialects`",
                    d.as_str(),
                    d.as_str()
                ),
            );
            continue;
        };
        let field = format!("{prefix}.{}", item.sql_field(d));
        // Parameters, located in the template text.
        let uses = sql::params(template);
        for u in &uses {
            if !item.params().iter().any(|p| p.name == u.name) {
                let loc = locate_in_scalar(c.text, &field, u.line, u.column);
                c.push(
                    loc,
                    format!(
                        "{what} `{name}` ({}): parameter `:{}` is used but not declared in `params`",
                        d.as_str(),
                        u.name
                    ),
                );
            }
        }
        for (i, p) in item.params().iter().enumerate() {
            if !uses.iter().any(|u| u.name == p.name) {
                c.at(
                    &format!("{prefix}.params[{i}].name"),
                    format!(
                        "{what} `{name}`: parameter `{}` is declared but not used in the {} SQL",
                        p.name,
                        d.as_str()
                    ),
                );
            }
        }
        let unknown = unknown_template_variables(template);
        if !unknown.is_empty() {
            let line = unknown_variable_line(template, &unknown);
            let loc = locate_in_scalar(c.text, &field, line, 0);
            c.push(
                loc,
                format!(
                    "{what} `{name}` ({}): unknown template variable{} {} (available: `table`, `columns(alias?)`)",
                    d.as_str(),
                    if unknown.len() > 1 { "s" } else { "" },
                    unknown.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
                ),
            );
            continue;
        }
        match render_sql(&c.spec.table, template) {
            Err(err) => {
                let line = err.line().unwrap_or(1).saturating_sub(1);
                let loc = locate_in_scalar(c.text, &field, line, 0);
                c.push(
                    loc,
                    format!(
                        "{what} `{name}` ({}): SQL template error: {} (available: `table`, `columns(alias?)`)",
                        d.as_str(),
                        err.detail().map(str::to_owned).unwrap_or_else(|| err.kind().to_string())
                    ),
                );
            }
            Ok(rendered) => {
                let errors = if c.table_ok {
                    columns::check(&rendered, &c.spec.table, d)
                } else {
                    Vec::new()
                };
                if !errors.is_empty() {
                    let map = source_map(&c.spec.table, template, &rendered);
                    for e in errors {
                        let loc = match &map {
                            Some(map) => {
                                let at = map.get(e.offset).copied().unwrap_or(0);
                                let (line, column) = text_position(template, at);
                                locate_in_scalar(c.text, &field, line, column)
                            }
                            None => locate(c.text, &field),
                        };
                        c.push(
                            loc,
                            format!("{what} `{name}` ({}): {}", d.as_str(), e.message),
                        );
                    }
                }
                if let Some((line, column)) = sql::star_select(&rendered) {
                    let loc = locate_in_scalar(c.text, &field, line, column);
                    c.push(
                        loc,
                        format!(
                            "{what} `{name}` ({}): `*` column lists are not allowed (rows are decoded by name and cornucopia decodes `*` by position); use `{{{{ columns() }}}}` or list the columns",
                            d.as_str()
                        ),
                    );
                }
            }
        }
    }
}

fn check_returns(c: &mut Checker<'_>, q: &crate::parse::Query, prefix: &str) {
    let Returns::Columns { columns } = &q.returns else {
        return;
    };
    if columns.is_empty() {
        c.at(
            &format!("{prefix}.returns"),
            format!("query `{}`: `returns.columns` is empty", q.name),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, rc) in columns.iter().enumerate() {
        match rc {
            ReturnColumn::Table(col) => {
                if c.spec.table.column(col).is_none() {
                    c.at(
                        &format!("{prefix}.returns.columns[{i}]"),
                        format!(
                            "query `{}` returns unknown column `{col}`; declare a computed column as `{{ name: {col}, type: ..., nullable: ... }}`",
                            q.name
                        ),
                    );
                }
                if !seen.insert(col.clone()) {
                    c.at(
                        &format!("{prefix}.returns.columns[{i}]"),
                        format!("query `{}` returns `{col}` twice", q.name),
                    );
                }
            }
            ReturnColumn::Computed(comp) => {
                let path = format!("{prefix}.returns.columns[{i}]");
                c.snake(&format!("{path}.name"), "result column", &comp.name);
                c.not_reserved(&format!("{path}.name"), "result column", &comp.name);
                if !seen.insert(comp.name.clone()) {
                    c.at(
                        &format!("{path}.name"),
                        format!("query `{}` returns `{}` twice", q.name, comp.name),
                    );
                }
                if let Some(col) = c.spec.table.column(&comp.name)
                    && col.nullable
                    && !comp.nullable
                {
                    c.at(
                        &format!("{path}.name"),
                        format!(
                            "query `{}`: result column `{}` is declared non-null but table column `{}` is nullable; a NULL would fail at run time. Add `nullable: true` or list the column by name",
                            q.name, comp.name, col.name
                        ),
                    );
                }
            }
        }
    }
}

/// Variables a SQL template uses that the template context does not define.
fn unknown_template_variables(template: &str) -> Vec<String> {
    let env = minijinja::Environment::new();
    let Ok(tmpl) = env.template_from_str(template) else {
        // Syntax errors are reported when rendering.
        return Vec::new();
    };
    let mut unknown: Vec<String> = tmpl
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| v != "table" && v != "columns")
        .collect();
    unknown.sort();
    unknown
}

/// 0-based line of the first `{{`/`{%` block mentioning one of `names`.
fn unknown_variable_line(template: &str, names: &[String]) -> usize {
    template
        .lines()
        .position(|l| {
            (l.contains("{{") || l.contains("{%")) && names.iter().any(|n| l.contains(n.as_str()))
        })
        .unwrap_or(0)
}

/// Maps every byte offset of `rendered` (the rendered `template`) to the
/// template offset it comes from: literal text maps to itself, the output of a
/// `{{ ... }}` expression to the expression's start. `None` when the template
/// uses statements, comments or whitespace control (the output is then not a
/// concatenation of its parts).
fn source_map(table: &Table, template: &str, rendered: &str) -> Option<Vec<usize>> {
    if template.contains("{%") || template.contains("{#") {
        return None;
    }
    let mut out = String::new();
    let mut map = Vec::new();
    let mut rest = 0;
    while let Some(pos) = template[rest..].find("{{") {
        let start = rest + pos;
        let end = start + template[start..].find("}}")? + 2;
        out.push_str(&template[rest..start]);
        map.extend(rest..start);
        let expr = &template[start..end];
        if expr.starts_with("{{-") || expr.ends_with("-}}") {
            return None;
        }
        let value = render_sql(table, expr).ok()?;
        out.push_str(&value);
        map.extend(std::iter::repeat_n(start, value.len()));
        rest = end;
    }
    out.push_str(&template[rest..]);
    map.extend(rest..template.len());
    (out.trim_end() == rendered).then_some(map)
}

/// 0-based line and column (in characters) of byte `offset` of `text`.
fn text_position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map(|p| p + 1).unwrap_or(0);
    (line, before[line_start..].chars().count())
}
