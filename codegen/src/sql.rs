//! Minimal SQL lexing shared by validation and the renderers: finding `:name`
//! parameters and `*` column lists while skipping string literals, quoted
//! identifiers, comments and `::type` casts, and a small tokenizer
//! ([`tokens`]) for the column check of [`crate::columns`].

/// One `:name` parameter occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamUse {
    /// Parameter name without the colon.
    pub name: String,
    /// Byte offset of the colon.
    pub offset: usize,
    /// 0-based line and column of the colon.
    pub line: usize,
    /// 0-based column of the colon.
    pub column: usize,
}

/// A lexical region of SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    Code,
    Skipped,
}

/// Splits `sql` into (start, end, region) spans: code vs strings/comments/quoted identifiers.
fn regions(sql: &str) -> Vec<(usize, usize, Region)> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut code_start = 0;
    while i < bytes.len() {
        let skip_end = match bytes[i] {
            b'\'' | b'"' => {
                let quote = bytes[i];
                let mut j = i + 1;
                loop {
                    if j >= bytes.len() {
                        break j;
                    }
                    if bytes[j] == quote {
                        if bytes.get(j + 1) == Some(&quote) {
                            j += 2;
                            continue;
                        }
                        break j + 1;
                    }
                    j += 1;
                }
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                sql[i..].find('\n').map(|p| i + p).unwrap_or(bytes.len())
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => sql[i + 2..]
                .find("*/")
                .map(|p| i + 2 + p + 2)
                .unwrap_or(bytes.len()),
            _ => {
                i += 1;
                continue;
            }
        };
        if code_start < i {
            out.push((code_start, i, Region::Code));
        }
        out.push((i, skip_end, Region::Skipped));
        i = skip_end;
        code_start = i;
    }
    if code_start < bytes.len() {
        out.push((code_start, bytes.len(), Region::Code));
    }
    out
}

fn line_col(sql: &str, offset: usize) -> (usize, usize) {
    let before = &sql[..offset];
    let line = before.matches('\n').count();
    let column = offset - before.rfind('\n').map(|p| p + 1).unwrap_or(0);
    (line, column)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every `:name` parameter in `sql`, in order of appearance.
pub fn params(sql: &str) -> Vec<ParamUse> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    for (start, end, region) in regions(sql) {
        if region != Region::Code {
            continue;
        }
        let mut i = start;
        while i < end {
            if bytes[i] == b':' {
                if bytes.get(i + 1) == Some(&b':') {
                    i += 2; // `::type` cast
                    continue;
                }
                let prev_colon = i > 0 && bytes[i - 1] == b':';
                if !prev_colon && i + 1 < end && is_ident_start(bytes[i + 1]) {
                    let mut j = i + 1;
                    while j < end && is_ident(bytes[j]) {
                        j += 1;
                    }
                    let (line, column) = line_col(sql, i);
                    out.push(ParamUse {
                        name: sql[i + 1..j].to_owned(),
                        offset: i,
                        line,
                        column,
                    });
                    i = j;
                    continue;
                }
            }
            i += 1;
        }
    }
    out
}

/// Replaces every `:name` with `f(name)`, leaving strings, comments and casts alone.
pub fn replace_params(sql: &str, mut f: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for p in params(sql) {
        out.push_str(&sql[last..p.offset]);
        out.push_str(&f(&p.name));
        last = p.offset + 1 + p.name.len();
    }
    out.push_str(&sql[last..]);
    out
}

/// The 0-based (line, column) of the first `SELECT *`, `RETURNING *` or
/// `alias.*` in `sql`, if any (`count(*)` is fine).
pub fn star_select(sql: &str) -> Option<(usize, usize)> {
    let bytes = sql.as_bytes();
    let mut prev_word = String::new();
    let mut prev_char = b' ';
    for (start, end, region) in regions(sql) {
        if region != Region::Code {
            continue;
        }
        let mut i = start;
        while i < end {
            let b = bytes[i];
            if is_ident_start(b) {
                let mut j = i;
                while j < end && is_ident(bytes[j]) {
                    j += 1;
                }
                prev_word = sql[i..j].to_ascii_uppercase();
                prev_char = bytes[j - 1];
                i = j;
                continue;
            }
            if b == b'*' {
                let keyword = prev_char != b'.'
                    && matches!(
                        prev_word.as_str(),
                        "SELECT" | "RETURNING" | "DISTINCT" | "ALL"
                    )
                    && is_ident(prev_char);
                if keyword || prev_char == b'.' {
                    return Some(line_col(sql, i));
                }
            }
            if !b.is_ascii_whitespace() {
                prev_char = b;
                prev_word.clear();
            }
            i += 1;
        }
    }
    None
}

/// The kind of a [`Token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An unquoted identifier or keyword (`status`, `SELECT`, `json_each`).
    Ident,
    /// A quoted identifier: `"name"` or `` `name` ``.
    QuotedIdent,
    /// A string literal: `'...'`, `E'...'`, `X'...'` or a `$tag$...$tag$` string.
    String,
    /// A numeric literal.
    Number,
    /// A bind parameter: `:name`, `@name`, `$1` or `?NNN`.
    Param,
    /// `::` (a PostgreSQL cast).
    Cast,
    /// Any other single character (`(`, `)`, `,`, `.`, `=`, `*`, operators...).
    Punct,
}

/// One SQL token; comments and whitespace are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'s> {
    /// What the token is.
    pub kind: TokenKind,
    /// The token's text, quotes included.
    pub text: &'s str,
    /// Byte offset of the token in the SQL text.
    pub offset: usize,
}

impl Token<'_> {
    /// Whether the token is the keyword or identifier `word` (ASCII case-insensitive, unquoted).
    pub fn is_word(&self, word: &str) -> bool {
        self.kind == TokenKind::Ident && self.text.eq_ignore_ascii_case(word)
    }

    /// Whether the token is the punctuation character `c`.
    pub fn is_punct(&self, c: char) -> bool {
        self.kind == TokenKind::Punct && self.text.len() == c.len_utf8() && self.text.starts_with(c)
    }

    /// The identifier a (quoted or unquoted) identifier token names: unquoted
    /// identifiers are folded to lowercase, quoted ones keep their case with
    /// doubled quotes undone. `None` for other tokens.
    pub fn ident_name(&self) -> Option<String> {
        match self.kind {
            TokenKind::Ident => Some(self.text.to_ascii_lowercase()),
            TokenKind::QuotedIdent => {
                let quote = self.text.chars().next()?;
                let inner = self
                    .text
                    .strip_prefix(quote)?
                    .strip_suffix(quote)
                    .unwrap_or(&self.text[quote.len_utf8()..]);
                let doubled = format!("{quote}{quote}");
                Some(inner.replace(&doubled, &quote.to_string()))
            }
            _ => None,
        }
    }
}

/// End (exclusive) of a quoted run starting at `start` (the opening quote),
/// where a doubled quote stands for itself; the text end if unterminated.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut j = start + 1;
    while j < bytes.len() {
        if backslash_escapes && bytes[j] == b'\\' {
            j += 2;
            continue;
        }
        if bytes[j] == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    bytes.len()
}

/// Identifier characters: ASCII letters, digits, `_`, `$` (after the first
/// character) and any non-ASCII byte (PostgreSQL and SQLite accept non-ASCII
/// letters in identifiers).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Splits `sql` into tokens, skipping whitespace and `--` / `/* */` comments.
/// Never fails: unterminated strings and comments run to the end of the text.
pub fn tokens(sql: &str) -> Vec<Token<'_>> {
    let bytes = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let kind = match b {
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map(|p| i + p).unwrap_or(bytes.len());
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map(|p| i + 2 + p + 2)
                    .unwrap_or(bytes.len());
                continue;
            }
            b'\'' => {
                i = quoted_end(bytes, i, b'\'', false);
                TokenKind::String
            }
            b'"' | b'`' => {
                i = quoted_end(bytes, i, b, false);
                TokenKind::QuotedIdent
            }
            b'$' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                TokenKind::Param
            }
            b'$' => {
                // `$$...$$` or `$tag$...$tag$`; a lone `$` is punctuation.
                let mut j = i + 1;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                if bytes.get(j) == Some(&b'$') {
                    let tag = &sql[i..=j];
                    i = sql[j + 1..]
                        .find(tag)
                        .map(|p| j + 1 + p + tag.len())
                        .unwrap_or(bytes.len());
                    TokenKind::String
                } else {
                    i += 1;
                    TokenKind::Punct
                }
            }
            b':' if bytes.get(i + 1) == Some(&b':') => {
                i += 2;
                TokenKind::Cast
            }
            b':' | b'@' | b'?'
                if bytes
                    .get(i + 1)
                    .is_some_and(|&n| is_ident_start(n) || (b == b'?' && n.is_ascii_digit())) =>
            {
                i += 1;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                TokenKind::Param
            }
            _ if b.is_ascii_digit() => {
                i += 1;
                while i < bytes.len() {
                    let c = bytes[i];
                    let exponent_sign = (c == b'+' || c == b'-')
                        && matches!(bytes[i - 1], b'e' | b'E')
                        && bytes[start].is_ascii_digit()
                        && !sql[start..i].starts_with("0x");
                    if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                TokenKind::Number
            }
            _ if is_ident_start(b) || b >= 0x80 => {
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                // String prefixes: E'...' (backslash escapes), X'...', B'...', N'...'.
                if i - start == 1 && bytes.get(i) == Some(&b'\'') {
                    let escapes = matches!(b, b'e' | b'E');
                    if matches!(b, b'e' | b'E' | b'x' | b'X' | b'b' | b'B' | b'n' | b'N') {
                        i = quoted_end(bytes, i, b'\'', escapes);
                        out.push(Token {
                            kind: TokenKind::String,
                            text: &sql[start..i],
                            offset: start,
                        });
                        continue;
                    }
                }
                TokenKind::Ident
            }
            _ => {
                i += sql[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                TokenKind::Punct
            }
        };
        out.push(Token {
            kind,
            text: &sql[start..i],
            offset: start,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_params_but_not_casts_strings_or_comments() {
        let sql = "SELECT ':no', \"x:y\" FROM t -- :comment\nWHERE a = :a::jsonb AND b = :b_2 /* :c */ AND c = x::text";
        let names: Vec<_> = params(sql)
            .into_iter()
            .map(|p| (p.name, p.line, p.column))
            .collect();
        assert_eq!(
            names,
            vec![("a".to_owned(), 1, 10), ("b_2".to_owned(), 1, 28)]
        );
    }

    #[test]
    fn replaces_params() {
        let out = replace_params("SELECT :a, ':a', :b::int, :a", |n| format!("${n}"));
        assert_eq!(out, "SELECT $a, ':a', $b::int, $a");
    }

    #[test]
    fn detects_star_lists() {
        assert_eq!(star_select("SELECT * FROM t"), Some((0, 7)));
        assert_eq!(
            star_select("UPDATE t SET a = 1\nRETURNING *"),
            Some((1, 10))
        );
        assert_eq!(star_select("SELECT t.* FROM t"), Some((0, 9)));
        assert_eq!(
            star_select("SELECT count(*) AS n, a * 2 FROM t WHERE x = '*'"),
            None
        );
    }

    fn kinds(sql: &str) -> Vec<(TokenKind, &str)> {
        tokens(sql).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn tokenizes_strings_identifiers_params_and_casts() {
        use TokenKind::*;
        assert_eq!(
            kinds(
                "SELECT t.\"Od\"\"d\", 'it''s' -- c\n FROM x /* y */ WHERE a = :a::jsonb AND b = $1 AND c = ?2"
            ),
            vec![
                (Ident, "SELECT"),
                (Ident, "t"),
                (Punct, "."),
                (QuotedIdent, "\"Od\"\"d\""),
                (Punct, ","),
                (String, "'it''s'"),
                (Ident, "FROM"),
                (Ident, "x"),
                (Ident, "WHERE"),
                (Ident, "a"),
                (Punct, "="),
                (Param, ":a"),
                (Cast, "::"),
                (Ident, "jsonb"),
                (Ident, "AND"),
                (Ident, "b"),
                (Punct, "="),
                (Param, "$1"),
                (Ident, "AND"),
                (Ident, "c"),
                (Punct, "="),
                (Param, "?2"),
            ]
        );
        assert_eq!(
            kinds("E'a\\'b' $q$ x 'y $q$ 1.5e-3 x->>'k'"),
            vec![
                (String, "E'a\\'b'"),
                (String, "$q$ x 'y $q$"),
                (Number, "1.5e-3"),
                (Ident, "x"),
                (Punct, "-"),
                (Punct, ">"),
                (Punct, ">"),
                (String, "'k'"),
            ]
        );
        let quoted = tokens("\"a\"\"b\"");
        assert_eq!(quoted[0].ident_name().as_deref(), Some("a\"b"));
        assert_eq!(tokens("Status")[0].ident_name().as_deref(), Some("status"));
    }
}
