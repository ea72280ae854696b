//! Minimal SQL lexing shared by validation and the renderers: finding `:name`
//! parameters and `*` column lists while skipping string literals, quoted
//! identifiers, comments and `::type` casts.

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
}
