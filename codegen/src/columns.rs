//! Column check: every name the SQL of a query or statement uses as a column
//! must be a column of the spec's table, or a name the same SQL defines (an
//! `AS` alias, a table alias, a CTE and its columns, the columns of a derived
//! table, a `jsonb_to_recordset(...) AS r(col type, ...)` record, the columns
//! of `json_each(...)`).
//!
//! The check works on the rendered SQL of one dialect with a small tokenizer
//! ([`crate::sql::tokens`]): string literals, comments, parameters (`:name`,
//! `$1`, `?`), `::type` casts, `COLLATE "C"`, `INDEXED BY ix`, function names
//! (an identifier followed by `(`) and SQL keywords are never columns. It is
//! designed to have no false positives on valid SQL rather than to find every
//! mistake:
//! - `q.col` is checked against what `q` is: the spec table (by name or
//!   alias), a CTE or derived table whose columns are known, a record or
//!   `json_each` alias; a qualifier the SQL does not define is an error.
//! - an unqualified name is checked against the union of the table's columns
//!   and every name the SQL defines (scopes are not tracked);
//! - the targets of `INSERT INTO t (...)` and `UPDATE t SET col = ...` must
//!   be columns of `t`;
//! - when the SQL reads a table the spec does not describe (another table, a
//!   catalog, a function with unknown result columns), unqualified names are
//!   not checked, and neither are names qualified by that source;
//! - SQL that is not `SELECT`/`INSERT`/`UPDATE`/`DELETE`/`WITH`/`VALUES`
//!   (`LISTEN`, `LOCK`, `CREATE TABLE`...) is not checked.

use std::collections::{BTreeMap, BTreeSet};

use crate::parse::{Dialect, Table};
use crate::sql::{Token, TokenKind, tokens};

/// A name used as a column that the table and the SQL do not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnError {
    /// Byte offset of the offending identifier in the SQL text.
    pub offset: usize,
    /// What is wrong (without the query name or dialect).
    pub message: String,
}

/// Checks the column names of `sql` (rendered SQL of one dialect) against `table`.
/// Returns the first use of every unknown name, in text order.
pub fn check(sql: &str, table: &Table, dialect: Dialect) -> Vec<ColumnError> {
    let toks = tokens(sql);
    if !is_checked_statement(&toks) {
        return Vec::new();
    }
    let mut a = Analysis::new(toks, table, dialect);
    a.collect_ctes();
    a.collect_sources();
    a.collect_aliases();
    a.check_uses()
}

/// What a qualifier (table name, alias, CTE name) stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rel {
    /// The spec's table.
    Table,
    /// A source with these columns.
    Cols(Vec<String>),
    /// A source whose columns are unknown (any column is accepted).
    Opaque,
}

/// Columns of SQLite's `json_each`/`json_tree` (PostgreSQL's `json_each` has `key` and `value`).
const JSON_EACH_COLUMNS: &[&str] = &[
    "key", "value", "type", "atom", "id", "parent", "fullkey", "path",
];

/// Words that are never columns in DML: PostgreSQL's reserved, type/function
/// name and column name keywords, plus the non-reserved keywords (of either
/// dialect) that appear in DML syntax. Words like `key` or `value` are listed
/// only when they are syntax (`FOR KEY SHARE`); all other unreserved words
/// are checked like any name.
const KEYWORDS: &[&str] = &[
    "abort",
    "absolute",
    "all",
    "also",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "at",
    "authorization",
    "autoincrement",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "breadth",
    "by",
    "cascade",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "conflict",
    "constraint",
    "create",
    "cross",
    "current",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "cycle",
    "day",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "delete",
    "depth",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "escape",
    "except",
    "exclude",
    "exists",
    "explain",
    "extract",
    "fail",
    "false",
    "fetch",
    "filter",
    "first",
    "float",
    "following",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "glob",
    "grant",
    "greatest",
    "group",
    "grouping",
    "groups",
    "having",
    "hour",
    "ignore",
    "ilike",
    "in",
    "indexed",
    "initially",
    "inner",
    "inout",
    "insert",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "key",
    "last",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "locked",
    "match",
    "matched",
    "materialized",
    "minute",
    "month",
    "national",
    "natural",
    "nchar",
    "no",
    "none",
    "normalize",
    "not",
    "nothing",
    "notnull",
    "nowait",
    "null",
    "nullif",
    "nulls",
    "numeric",
    "of",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "ordinality",
    "others",
    "out",
    "outer",
    "over",
    "overlaps",
    "overlay",
    "partition",
    "placing",
    "plan",
    "position",
    "preceding",
    "precision",
    "primary",
    "query",
    "raise",
    "range",
    "real",
    "recursive",
    "references",
    "regexp",
    "replace",
    "returning",
    "right",
    "rollback",
    "row",
    "rows",
    "search",
    "second",
    "select",
    "session_user",
    "set",
    "setof",
    "share",
    "similar",
    "skip",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "ties",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "unbounded",
    "union",
    "unique",
    "unknown",
    "update",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "within",
    "without",
    "year",
    "zone",
];

fn is_keyword(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    KEYWORDS.binary_search(&lower.as_str()).is_ok()
}

/// Columns every table has without declaring them.
fn system_columns(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgres => &["ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"],
        Dialect::Sqlite => &["rowid", "oid", "_rowid_"],
    }
}

/// Words ending a SELECT list.
const SELECT_LIST_END: &[&str] = &[
    "from",
    "where",
    "group",
    "having",
    "window",
    "order",
    "limit",
    "offset",
    "union",
    "intersect",
    "except",
    "fetch",
    "for",
    "returning",
    "into",
];

/// Words ending an UPDATE's SET clause.
const SET_CLAUSE_END: &[&str] = &["from", "where", "returning"];

/// Whether the statement is DML (possibly behind `EXPLAIN`).
fn is_checked_statement(toks: &[Token<'_>]) -> bool {
    let mut i = 0;
    if toks.first().is_some_and(|t| t.is_word("explain")) {
        i = 1;
        while let Some(t) = toks.get(i) {
            if ["query", "plan", "analyze", "analyse", "verbose"]
                .iter()
                .any(|w| t.is_word(w))
            {
                i += 1;
            } else {
                break;
            }
        }
        if toks.get(i).is_some_and(|t| t.is_punct('(')) {
            // EXPLAIN (options): skip to the closing parenthesis.
            while toks.get(i).is_some_and(|t| !t.is_punct(')')) {
                i += 1;
            }
            i += 1;
        }
    }
    toks.get(i).is_some_and(|t| {
        [
            "select", "insert", "update", "delete", "with", "values", "replace",
        ]
        .iter()
        .any(|w| t.is_word(w))
    })
}

fn is_name(t: &Token<'_>) -> bool {
    matches!(t.kind, TokenKind::Ident | TokenKind::QuotedIdent)
}

struct Analysis<'s, 't> {
    toks: Vec<Token<'s>>,
    /// For an opening parenthesis: the index of its closing one (or the end).
    close: Vec<usize>,
    /// The innermost opening parenthesis enclosing each token.
    parent: Vec<Option<usize>>,
    table: &'t Table,
    dialect: Dialect,
    /// Qualifiers: table names, aliases, CTE names (lowercased).
    relations: BTreeMap<String, Rel>,
    /// Names defined by the SQL that may be used unqualified.
    names: BTreeSet<String>,
    /// The SQL reads a source whose columns are unknown.
    opaque: bool,
    /// Tokens that are not column uses (definitions, types, index names...).
    skip: BTreeSet<usize>,
    /// Tokens that must be columns of a write target (INSERT list, SET target).
    strict: Vec<(usize, Rel)>,
    /// Closing parentheses that do not end an expression (`DISTINCT ON (...)`).
    not_expr_end: BTreeSet<usize>,
}

impl<'s, 't> Analysis<'s, 't> {
    fn new(toks: Vec<Token<'s>>, table: &'t Table, dialect: Dialect) -> Self {
        let n = toks.len();
        let mut close = vec![n; n];
        let mut parent = vec![None; n];
        let mut stack: Vec<usize> = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            parent[i] = stack.last().copied();
            if t.is_punct('(') {
                stack.push(i);
            } else if t.is_punct(')')
                && let Some(open) = stack.pop()
            {
                close[open] = i;
                parent[i] = stack.last().copied();
            }
        }
        Analysis {
            toks,
            close,
            parent,
            table,
            dialect,
            relations: BTreeMap::new(),
            names: BTreeSet::new(),
            opaque: false,
            skip: BTreeSet::new(),
            strict: Vec::new(),
            not_expr_end: BTreeSet::new(),
        }
    }

    fn tok(&self, i: usize) -> Option<&Token<'s>> {
        self.toks.get(i)
    }

    fn word_at(&self, i: usize, word: &str) -> bool {
        self.tok(i).is_some_and(|t| t.is_word(word))
    }

    fn punct_at(&self, i: usize, c: char) -> bool {
        self.tok(i).is_some_and(|t| t.is_punct(c))
    }

    fn name_at(&self, i: usize) -> Option<String> {
        self.tok(i)
            .filter(|t| is_name(t))
            .and_then(Token::ident_name)
    }

    /// The closing parenthesis of the group opened at `open`.
    fn group_end(&self, open: usize) -> usize {
        self.close.get(open).copied().unwrap_or(self.toks.len())
    }

    /// Whether the group opened at `open` holds a query.
    fn is_subquery(&self, open: usize) -> bool {
        ["select", "with", "values"]
            .iter()
            .any(|w| self.word_at(open + 1, w))
    }

    fn table_columns(&self) -> Vec<String> {
        self.table.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// Ranges of the comma-separated items between `start` and `end` at the nesting of `start`.
    fn items(&self, start: usize, end: usize) -> Vec<(usize, usize)> {
        let level = self.parent.get(start).copied().flatten();
        let mut out = Vec::new();
        let mut item_start = start;
        for i in start..end {
            if self.parent[i] == level && self.toks[i].is_punct(',') {
                out.push((item_start, i));
                item_start = i + 1;
            }
        }
        if item_start < end {
            out.push((item_start, end));
        }
        out
    }

    /// The names of the columns in a parenthesized list of names or column
    /// definitions (`(a, b)` or `(a text, b jsonb)`); every token of the group
    /// is marked as a definition.
    fn name_list(&mut self, open: usize) -> Vec<String> {
        let end = self.group_end(open);
        for i in open..=end.min(self.toks.len().saturating_sub(1)) {
            self.skip.insert(i);
        }
        self.items(open + 1, end)
            .into_iter()
            .filter_map(|(s, _)| self.name_at(s))
            .collect()
    }

    /// Output column names of the query in the group opened at `open`
    /// (the first SELECT of a UNION); `None` when they cannot be known (`*`, VALUES).
    fn output_names(&self, open: usize) -> Option<Vec<String>> {
        let end = self.group_end(open);
        let level = Some(open);
        let select = (open + 1..end).find(|&i| {
            self.parent[i] == level
                && (self.toks[i].is_word("select") || self.toks[i].is_word("values"))
        })?;
        if self.toks[select].is_word("values") {
            return None;
        }
        let mut start = select + 1;
        if self.word_at(start, "distinct") {
            start += 1;
            if self.word_at(start, "on") && self.punct_at(start + 1, '(') {
                start = self.group_end(start + 1) + 1;
            }
        } else if self.word_at(start, "all") {
            start += 1;
        }
        let list_end = (start..end)
            .find(|&i| {
                self.parent[i] == level && SELECT_LIST_END.iter().any(|w| self.toks[i].is_word(w))
            })
            .unwrap_or(end);
        let mut names = Vec::new();
        for (s, e) in self.items(start, list_end) {
            if e <= s {
                continue;
            }
            let last = &self.toks[e - 1];
            let len = e - s;
            if last.is_punct('*') {
                return None;
            }
            // `expr AS name`, `name`, `q.name` and `expr name` are named after
            // their last token.
            let aliased = len >= 2 && self.toks[e - 2].is_word("as");
            let plain = len == 1 && is_name(last);
            let qualified = len == 3 && is_name(&self.toks[s]) && self.toks[s + 1].is_punct('.');
            let bare_alias = len >= 2
                && is_name(last)
                && !(last.kind == TokenKind::Ident && is_keyword(last.text))
                && self.is_expr_end(e - 2);
            let name = if aliased || plain || qualified || bare_alias {
                last.ident_name()
            } else if is_name(&self.toks[s])
                && self.punct_at(s + 1, '(')
                && self.group_end(s + 1) == e - 1
            {
                // PostgreSQL names an unaliased function call after the function.
                self.toks[s].ident_name()
            } else {
                None
            };
            names.extend(name);
        }
        Some(names)
    }

    /// Whether token `i` can end an expression (so that a following name is an alias).
    fn is_expr_end(&self, i: usize) -> bool {
        let Some(t) = self.tok(i) else {
            return false;
        };
        match t.kind {
            TokenKind::QuotedIdent | TokenKind::String | TokenKind::Number | TokenKind::Param => {
                true
            }
            TokenKind::Ident => {
                !is_keyword(t.text)
                    || [
                        "end",
                        "null",
                        "true",
                        "false",
                        "current_date",
                        "current_time",
                        "current_timestamp",
                        "localtime",
                        "localtimestamp",
                    ]
                    .iter()
                    .any(|w| t.is_word(w))
            }
            TokenKind::Punct => {
                (t.is_punct(')') && !self.not_expr_end.contains(&i)) || t.is_punct(']')
            }
            TokenKind::Cast => false,
        }
    }

    /// `WITH [RECURSIVE] name [(cols)] AS [NOT] [MATERIALIZED] (query), ...`
    fn collect_ctes(&mut self) {
        for i in 0..self.toks.len() {
            if !self.toks[i].is_word("with") {
                continue;
            }
            let mut j = i + 1;
            if self.word_at(j, "recursive") {
                j += 1;
            }
            while let Some(name) = self.name_at(j) {
                let name_tok = j;
                j += 1;
                let mut cols = None;
                if self.punct_at(j, '(') {
                    let list_end = self.group_end(j);
                    if !self.word_at(list_end + 1, "as") {
                        break;
                    }
                    cols = Some(self.name_list(j));
                    j = list_end + 1;
                }
                if !self.word_at(j, "as") {
                    break;
                }
                j += 1;
                if self.word_at(j, "not") {
                    j += 1;
                }
                if self.word_at(j, "materialized") {
                    j += 1;
                }
                if !self.punct_at(j, '(') {
                    break;
                }
                self.skip.insert(name_tok);
                let cols = cols.or_else(|| self.output_names(j));
                let rel = match cols {
                    Some(cols) => {
                        self.names.extend(cols.iter().cloned());
                        Rel::Cols(cols)
                    }
                    None => Rel::Opaque,
                };
                self.names.insert(name.clone());
                self.relations.insert(name, rel);
                j = self.group_end(j) + 1;
                if self.punct_at(j, ',') {
                    j += 1;
                } else {
                    break;
                }
            }
        }
    }

    /// Whether the FROM at `i` starts a FROM clause (not `extract(x FROM y)`
    /// or `IS DISTINCT FROM`).
    fn is_from_clause(&self, i: usize) -> bool {
        if i >= 2
            && self.word_at(i - 1, "distinct")
            && (self.word_at(i - 2, "is") || self.word_at(i - 2, "not"))
        {
            return false;
        }
        match self.parent[i] {
            None => true,
            Some(open) => self.is_subquery(open),
        }
    }

    /// Table references: FROM lists, JOIN, UPDATE and INSERT INTO targets,
    /// and the targets of SET clauses; plus the tokens that are not column
    /// uses (types after `::` and in CAST, COLLATE names, index and window names).
    fn collect_sources(&mut self) {
        let mut target: Option<Rel> = None;
        let mut i = 0;
        while i < self.toks.len() {
            let t = self.toks[i];
            let prev_is = |w: &str| i > 0 && self.toks[i - 1].is_word(w);
            if t.is_word("from") && self.is_from_clause(i) {
                let mut j = i + 1;
                loop {
                    let (_, next) = self.table_ref(j, false);
                    j = next;
                    if self.punct_at(j, ',') && self.parent.get(j) == self.parent.get(i) {
                        j += 1;
                    } else {
                        break;
                    }
                }
            } else if t.is_word("join") {
                self.table_ref(i + 1, false);
            } else if t.is_word("update") && !prev_is("for") && !prev_is("do") && !prev_is("key") {
                let mut j = i + 1;
                if self.word_at(j, "or") {
                    j += 2; // UPDATE OR REPLACE
                }
                target = Some(self.table_ref(j, false).0);
            } else if t.is_word("into") {
                let (rel, next) = self.table_ref(i + 1, true);
                if self.punct_at(next, '(') && !self.is_subquery(next) {
                    let end = self.group_end(next);
                    self.skip.insert(next);
                    for (s, _) in self.items(next + 1, end) {
                        if self.tok(s).is_some_and(is_name) {
                            self.strict.push((s, rel.clone()));
                            self.skip.insert(s);
                        }
                    }
                }
                target = Some(rel);
            } else if t.is_word("set")
                && let Some(rel) = target.clone()
            {
                self.set_targets(i, rel);
            } else if t.kind == TokenKind::Cast {
                self.skip_type(i + 1);
            } else if t.is_word("cast") && self.punct_at(i + 1, '(') {
                let end = self.group_end(i + 1);
                if let Some(as_at) = (i + 2..end)
                    .find(|&k| self.parent[k] == Some(i + 1) && self.toks[k].is_word("as"))
                {
                    for k in as_at + 1..end {
                        self.skip.insert(k);
                    }
                }
            } else if t.is_word("collate") || t.is_word("over") {
                if self.tok(i + 1).is_some_and(is_name) {
                    self.skip.insert(i + 1);
                }
            } else if t.is_word("indexed") && self.word_at(i + 1, "by") {
                self.skip.insert(i + 2);
            } else if t.is_word("window") && self.tok(i + 1).is_some_and(is_name) {
                self.skip.insert(i + 1);
            } else if t.is_word("of") && (prev_is("update") || prev_is("share")) {
                let mut j = i + 1;
                while self.tok(j).is_some_and(is_name) {
                    self.skip.insert(j);
                    if self.punct_at(j + 1, ',') {
                        j += 2;
                    } else {
                        break;
                    }
                }
            } else if t.is_word("extract") && self.punct_at(i + 1, '(') {
                self.skip.insert(i + 2);
            } else if t.is_word("distinct")
                && self.word_at(i + 1, "on")
                && self.punct_at(i + 2, '(')
            {
                let end = self.group_end(i + 2);
                self.not_expr_end.insert(end);
            }
            i += 1;
        }
    }

    /// Marks the type name starting at `i` (after `::`) as not a column use.
    fn skip_type(&mut self, mut i: usize) {
        if !self.tok(i).is_some_and(is_name) {
            return;
        }
        self.skip.insert(i);
        while self.punct_at(i + 1, '.') && self.tok(i + 2).is_some_and(is_name) {
            self.skip.insert(i + 1);
            self.skip.insert(i + 2);
            i += 2;
        }
        while ["precision", "varying", "with", "without", "time", "zone"]
            .iter()
            .any(|w| self.word_at(i + 1, w))
        {
            self.skip.insert(i + 1);
            i += 1;
        }
    }

    /// `SET a = ..., (b, c) = ...`: the assigned names must be columns of `rel`.
    fn set_targets(&mut self, set_at: usize, rel: Rel) {
        let level = self.parent[set_at];
        let end = (set_at + 1..self.toks.len())
            .find(|&k| {
                (self.parent[k] == level
                    && (SET_CLAUSE_END.iter().any(|w| self.toks[k].is_word(w))
                        || self.toks[k].is_punct(';')))
                    || (self.toks[k].is_punct(')') && self.parent[k] != level)
                    || level.is_some_and(|open| k >= self.group_end(open))
            })
            .unwrap_or(self.toks.len());
        for (s, _) in self.items(set_at + 1, end) {
            if self.tok(s).is_some_and(is_name) && self.punct_at(s + 1, '=') {
                self.strict.push((s, rel.clone()));
                self.skip.insert(s);
            } else if self.punct_at(s, '(') {
                let close = self.group_end(s);
                for (n, _) in self.items(s + 1, close) {
                    if self.tok(n).is_some_and(is_name) {
                        self.strict.push((n, rel.clone()));
                        self.skip.insert(n);
                    }
                }
            }
        }
    }

    /// Parses one table reference at `j`: a table, a CTE, `(subquery)` or
    /// `function(...)`, with its alias and column list. Returns what it is and
    /// the index after it.
    /// `insert_target`: the reference is an INSERT target, whose parenthesized
    /// list is the INSERT column list, not column aliases.
    fn table_ref(&mut self, mut j: usize, insert_target: bool) -> (Rel, usize) {
        while self.word_at(j, "only") || self.word_at(j, "lateral") {
            j += 1;
        }
        let mut rel;
        let mut function = None;
        if self.punct_at(j, '(') {
            let end = self.group_end(j);
            rel = if self.is_subquery(j) {
                match self.output_names(j) {
                    Some(cols) => Rel::Cols(cols),
                    None => Rel::Opaque,
                }
            } else {
                // A parenthesized join: its parts are not analysed.
                self.opaque = true;
                Rel::Opaque
            };
            j = end + 1;
        } else if self.tok(j).is_some_and(is_name) {
            let mut parts = vec![self.name_at(j).unwrap_or_default()];
            self.skip.insert(j);
            while self.punct_at(j + 1, '.') && self.tok(j + 2).is_some_and(is_name) {
                self.skip.insert(j + 2);
                parts.push(self.name_at(j + 2).unwrap_or_default());
                j += 2;
            }
            j += 1;
            let last = parts.last().cloned().unwrap_or_default();
            if self.punct_at(j, '(') && !insert_target {
                // A table function; its arguments are ordinary expressions.
                let name = last.to_ascii_lowercase();
                rel = match name.as_str() {
                    "json_each" | "json_tree" => {
                        Rel::Cols(JSON_EACH_COLUMNS.iter().map(|c| (*c).to_owned()).collect())
                    }
                    "jsonb_each" | "jsonb_each_text" | "json_each_text" => {
                        Rel::Cols(vec!["key".to_owned(), "value".to_owned()])
                    }
                    "jsonb_array_elements"
                    | "jsonb_array_elements_text"
                    | "json_array_elements"
                    | "json_array_elements_text" => Rel::Cols(vec!["value".to_owned()]),
                    _ => Rel::Opaque,
                };
                function = Some(name);
                j = self.group_end(j) + 1;
            } else if parts.len() == 1 && last == self.table.name {
                rel = Rel::Table;
                self.relations.insert(last, Rel::Table);
            } else if parts.len() == 1
                && let Some(cte) = self.relations.get(&last).cloned()
            {
                rel = cte;
            } else {
                // A table the spec does not describe.
                self.opaque = true;
                rel = Rel::Opaque;
                self.relations.insert(last, Rel::Opaque);
            }
        } else {
            return (Rel::Opaque, j);
        }
        // Alias.
        let mut alias = None;
        if self.word_at(j, "as") {
            if let Some(name) = self.name_at(j + 1) {
                self.skip.insert(j + 1);
                alias = Some(name);
                j += 2;
            } else {
                j += 1;
            }
        } else if let Some(t) = self.tok(j).copied()
            && (t.kind == TokenKind::QuotedIdent
                || (t.kind == TokenKind::Ident && !is_keyword(t.text)))
        {
            self.skip.insert(j);
            alias = t.ident_name();
            j += 1;
        }
        // Column list: `AS x(a, b)` or a record definition `AS x(a text, b jsonb)`.
        if self.punct_at(j, '(') && !insert_target && (alias.is_some() || function.is_some()) {
            let end = self.group_end(j);
            rel = Rel::Cols(self.name_list(j));
            j = end + 1;
        }
        if let Rel::Cols(cols) = &rel {
            self.names.extend(cols.iter().cloned());
        } else if rel == Rel::Opaque && function.is_some() {
            // A function with unknown result columns.
            self.opaque = true;
        }
        if let Some(alias) = alias {
            self.names.insert(alias.clone());
            self.relations.insert(alias, rel.clone());
        }
        (rel, j)
    }

    /// `expr AS alias` and `expr alias` in select lists.
    fn collect_aliases(&mut self) {
        for i in 0..self.toks.len() {
            if self.skip.contains(&i) {
                continue;
            }
            let t = self.toks[i];
            if t.is_word("as") {
                if let Some(name) = self.name_at(i + 1)
                    && !self.punct_at(i + 2, '(')
                {
                    self.skip.insert(i + 1);
                    self.names.insert(name);
                }
                continue;
            }
            let bare = t.kind == TokenKind::QuotedIdent
                || (t.kind == TokenKind::Ident && !is_keyword(t.text));
            if bare
                && i > 0
                && !self.punct_at(i + 1, '(')
                && !self.punct_at(i + 1, '.')
                && !self.punct_at(i - 1, '.')
                && self.is_expr_end(i - 1)
                && let Some(name) = t.ident_name()
            {
                self.skip.insert(i);
                self.names.insert(name);
            }
        }
    }

    fn columns_of(&self, rel: &Rel) -> Option<Vec<String>> {
        match rel {
            Rel::Table => Some(self.table_columns()),
            Rel::Cols(cols) => Some(cols.clone()),
            Rel::Opaque => None,
        }
    }

    /// Whether `name` (as written) matches `candidate` in this dialect: SQLite
    /// compares identifiers case-insensitively even when quoted.
    fn same(&self, name: &str, candidate: &str) -> bool {
        match self.dialect {
            Dialect::Postgres => name == candidate,
            Dialect::Sqlite => name.eq_ignore_ascii_case(candidate),
        }
    }

    fn is_system_column(&self, name: &str) -> bool {
        system_columns(self.dialect)
            .iter()
            .any(|c| self.same(name, c))
    }

    fn check_uses(&self) -> Vec<ColumnError> {
        let mut out: Vec<ColumnError> = Vec::new();
        let mut reported = BTreeSet::new();
        let mut report = |offset: usize, key: String, message: String| {
            if reported.insert(key) {
                out.push(ColumnError { offset, message });
            }
        };
        let table = &self.table.name;
        let table_cols = self.table_columns().join(", ");
        for (i, rel) in &self.strict {
            let Some(name) = self.name_at(*i) else {
                continue;
            };
            let Some(cols) = self.columns_of(rel) else {
                continue;
            };
            if !cols.iter().any(|c| self.same(&name, c)) && !self.is_system_column(&name) {
                let target = match rel {
                    Rel::Table => {
                        format!("`{table}` has no such column (columns of `{table}`: {table_cols})")
                    }
                    _ => format!(
                        "the target has no such column (its columns: {})",
                        cols.join(", ")
                    ),
                };
                report(
                    self.toks[*i].offset,
                    format!("target:{name}"),
                    format!("unknown column `{name}`: {target}"),
                );
            }
        }
        let mut i = 0;
        while i < self.toks.len() {
            let t = self.toks[i];
            if self.skip.contains(&i) || !is_name(&t) {
                i += 1;
                continue;
            }
            // Qualified name `q.col`.
            if self.punct_at(i + 1, '.') {
                let third_is_name = self.tok(i + 2).is_some_and(is_name);
                if !third_is_name
                    || self.punct_at(i + 3, '.')
                    || self.punct_at(i + 3, '(')
                    || self.skip.contains(&(i + 2))
                {
                    // `q.*`, three-part names and schema-qualified functions.
                    i += 3;
                    continue;
                }
                let q = t.ident_name().unwrap_or_default();
                let col = self.name_at(i + 2).unwrap_or_default();
                let offset = self.toks[i + 2].offset;
                let rel = if q == "excluded" && !self.relations.contains_key("excluded") {
                    Some(Rel::Table)
                } else {
                    self.relations
                        .iter()
                        .find(|(k, _)| self.same(&q, k))
                        .map(|(_, r)| r.clone())
                };
                match rel {
                    None => report(
                        self.toks[i].offset,
                        format!("qualifier:{q}"),
                        format!(
                            "unknown table or alias `{q}` in `{q}.{col}`: this SQL defines no table, alias or CTE `{q}`"
                        ),
                    ),
                    Some(rel) => {
                        if let Some(cols) = self.columns_of(&rel)
                            && !cols.iter().any(|c| self.same(&col, c))
                            && !self.is_system_column(&col)
                        {
                            let detail = match rel {
                                Rel::Table => format!(
                                    "`{table}` has no column `{col}` (columns of `{table}`: {table_cols})"
                                ),
                                _ => format!(
                                    "`{q}` has no column `{col}` (its columns: {})",
                                    cols.join(", ")
                                ),
                            };
                            report(
                                offset,
                                format!("{q}.{col}"),
                                format!("unknown column `{q}.{col}`: {detail}"),
                            );
                        }
                    }
                }
                i += 3;
                continue;
            }
            let is_function = self.punct_at(i + 1, '(');
            let keyword = t.kind == TokenKind::Ident && is_keyword(t.text);
            if is_function || keyword || self.opaque {
                i += 1;
                continue;
            }
            let Some(name) = t.ident_name() else {
                i += 1;
                continue;
            };
            let known = self.table.columns.iter().any(|c| self.same(&name, &c.name))
                || self.names.iter().any(|n| self.same(&name, n))
                || self.is_system_column(&name);
            if !known {
                report(
                    t.offset,
                    format!("name:{name}"),
                    format!(
                        "unknown column `{name}`: `{table}` has no such column (columns of `{table}`: {table_cols}) and this SQL defines no alias, CTE or record column `{name}`"
                    ),
                );
            }
            i += 1;
        }
        out.sort_by_key(|e| e.offset);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{Column, LogicalType};

    fn table() -> Table {
        let column = |name: &str| Column {
            name: name.to_owned(),
            ty: LogicalType::Text,
            nullable: false,
            default: None,
            doc: String::new(),
            renamed_from: None,
        };
        Table {
            name: "jobs".to_owned(),
            doc: String::new(),
            columns: ["id", "job_id", "status", "note"].map(column).to_vec(),
            indexes: vec![],
            postgres: None,
        }
    }

    fn unknown(sql: &str, dialect: Dialect) -> Vec<(String, String)> {
        check(sql, &table(), dialect)
            .into_iter()
            .map(|e| {
                let word: String = sql[e.offset..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '"')
                    .collect();
                (word, e.message)
            })
            .collect()
    }

    fn words(sql: &str, dialect: Dialect) -> Vec<String> {
        unknown(sql, dialect).into_iter().map(|(w, _)| w).collect()
    }

    #[test]
    fn accepts_valid_sql() {
        for sql in [
            "SELECT id, job_id FROM jobs WHERE status = :s AND note <> 'nope' ORDER BY id LIMIT :n",
            "SELECT j.id, count(*) AS n FROM jobs AS j GROUP BY j.id ORDER BY n",
            "SELECT count(*) n FROM jobs",
            "UPDATE jobs AS t SET status = u.status, note = coalesce(u.note, t.note) \
             FROM jsonb_to_recordset(:items::jsonb) AS u(job_id text, status text, note text) \
             WHERE t.job_id = u.job_id AND t.status COLLATE \"C\" = 'running' RETURNING t.job_id",
            "UPDATE jobs SET status = u.status FROM (SELECT value ->> '$.id' AS job_id, value ->> '$.s' AS status \
             FROM json_each(:items)) AS u WHERE jobs.job_id = u.job_id AND +jobs.status = 'x' RETURNING job_id",
            "WITH RECURSIVE roots AS (SELECT r.job_id FROM jsonb_to_recordset(:x::jsonb) AS r(job_id text)), \
             tree (job_id, depth) AS (SELECT roots.job_id, 0 FROM roots UNION ALL \
             SELECT c.job_id, tree.depth + 1 FROM jobs AS c JOIN tree ON c.note = tree.job_id), \
             locked AS MATERIALIZED (SELECT c.id FROM jobs AS c JOIN tree ON c.job_id = tree.job_id FOR UPDATE OF c) \
             SELECT DISTINCT ON (job_id) job_id, depth FROM tree WHERE depth > 0 ORDER BY job_id, depth",
            "SELECT id FROM jobs INDEXED BY ix_jobs_status WHERE status IS DISTINCT FROM note",
            "SELECT extract(epoch FROM now()) AS e, cast(note AS double precision) AS d, \
             note::character varying AS v, substring(note FROM 2 FOR 3) AS s FROM jobs",
            "INSERT INTO jobs (job_id, status) VALUES (:a, 'x') ON CONFLICT (job_id) DO UPDATE SET status = excluded.status",
            "SELECT e.value FROM (SELECT 0 AS src, key, value FROM json_each(:a) UNION ALL \
             SELECT 1 AS src, key, value FROM json_each(:b) ORDER BY src, key) AS e",
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'jobs'",
            "SELECT count(*) AS sent FROM (SELECT pg_notify('jobs_events', :payload)) AS n",
            "SELECT id FROM jobs WHERE job_id = ANY (ARRAY(SELECT jsonb_array_elements_text(:ids::jsonb)))",
            "SELECT rowid, \"Status\" FROM jobs",
            "EXPLAIN QUERY PLAN SELECT c.id FROM jobs AS c WHERE c.status = 'ready'",
            "SELECT id FROM jobs FOR NO KEY UPDATE SKIP LOCKED",
        ] {
            assert_eq!(unknown(sql, Dialect::Sqlite), vec![], "{sql}");
        }
        assert_eq!(
            unknown("SELECT ctid, t.xmin FROM jobs AS t", Dialect::Postgres),
            vec![]
        );
    }

    #[test]
    fn skips_statements_that_are_not_dml() {
        for sql in [
            "LISTEN jobs_events",
            "LOCK TABLE jobs",
            "CREATE TABLE IF NOT EXISTS jobs_migrations (version bigint PRIMARY KEY, name text)",
        ] {
            assert_eq!(unknown(sql, Dialect::Postgres), vec![], "{sql}");
        }
    }

    #[test]
    fn reports_unknown_names() {
        assert_eq!(
            words("SELECT nots FROM jobs WHERE stauts = 1", Dialect::Sqlite),
            ["nots", "stauts"]
        );
        assert_eq!(
            words("SELECT t.nope FROM jobs AS t", Dialect::Sqlite),
            ["nope"]
        );
        assert_eq!(
            words("SELECT jobs.nope FROM jobs", Dialect::Sqlite),
            ["nope"]
        );
        assert_eq!(words("SELECT x.id FROM jobs AS t", Dialect::Sqlite), ["x"]);
        assert_eq!(
            words(
                "UPDATE jobs SET status = u.stat FROM (SELECT value AS status FROM json_each(:i)) AS u",
                Dialect::Sqlite
            ),
            ["stat"]
        );
        assert_eq!(
            words(
                "UPDATE jobs AS t SET state = u.status FROM jsonb_to_recordset(:i::jsonb) AS u(status text)",
                Dialect::Postgres
            ),
            ["state"]
        );
        assert_eq!(
            words(
                "INSERT INTO jobs (job_id, stat) VALUES (:a, :b)",
                Dialect::Postgres
            ),
            ["stat"]
        );
        assert_eq!(
            words("SELECT \"Status\" FROM jobs", Dialect::Postgres),
            ["\"Status\""]
        );
        assert_eq!(
            words("SELECT id FROM jobs ORDER BY nope, nope", Dialect::Postgres),
            ["nope"]
        );
    }

    #[test]
    fn other_tables_disable_unqualified_checks() {
        assert_eq!(
            words(
                "SELECT version, name FROM jobs_migrations ORDER BY version",
                Dialect::Sqlite
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn malformed_sql_never_panics() {
        let pieces = [
            "SELECT",
            "UPDATE",
            "INSERT",
            "INTO",
            "WITH",
            "AS",
            "FROM",
            "JOIN",
            "SET",
            "(",
            ")",
            ",",
            ".",
            "::",
            "jobs",
            "t",
            "x",
            "=",
            "'s",
            "\"q",
            "CAST",
            "DISTINCT",
            "ON",
            "OF",
            "INDEXED",
            "BY",
            "COLLATE",
            "EXTRACT",
            "RECURSIVE",
            "*",
            ":p",
            "$1",
            "--",
        ];
        // Every sequence of up to three pieces, then a few longer prefixes/suffixes.
        let mut cases = Vec::new();
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    cases.push(format!("{a} {b} {c}"));
                    cases.push(format!("SELECT {a} {b} {c}"));
                    cases.push(format!("UPDATE jobs AS t SET {a} {b} {c}"));
                }
            }
        }
        for sql in &cases {
            for dialect in Dialect::ALL {
                for e in check(sql, &table(), dialect) {
                    assert!(e.offset < sql.len(), "{sql}: {e:?}");
                }
            }
        }
    }
}
