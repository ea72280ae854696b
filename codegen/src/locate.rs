//! Locator: maps a spec path such as `table.columns[name=status].type` to a
//! line and column of the YAML text.
//!
//! serde_yaml keeps no spans on deserialized values, so validation errors are
//! located by scanning the text, indentation-aware. Supported path segments:
//! `key`, `key[3]` (list index) and `key[name=value]` (the list item whose
//! `name` is `value`). Block mappings, block lists and single-line flow
//! mappings/lists (`- { name: x, type: text }`, `[a, b]`) are understood, which
//! covers the spec format. When a segment cannot be found the location of the
//! deepest segment found is returned, so an error always points somewhere useful.

use std::fmt;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Line, starting at 1.
    pub line: usize,
    /// Column, starting at 1.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML node found by the locator.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// 0-based line where the node's value starts.
    line: usize,
    /// 0-based column where the node's value starts.
    col: usize,
    /// Lines `[start, end)` holding the node's block content (empty for inline values).
    start: usize,
    end: usize,
}

enum Segment<'p> {
    Key(&'p str),
    Index(usize),
    Select(&'p str, &'p str),
}

fn parse_path(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        for sel in rest.split('[').filter(|s| !s.is_empty()) {
            let sel = sel.trim_end_matches(']');
            match sel.split_once('=') {
                Some((k, v)) => out.push(Segment::Select(k, v)),
                None => {
                    if let Ok(i) = sel.parse() {
                        out.push(Segment::Index(i));
                    }
                }
            }
        }
    }
    out
}

/// Returns the location of `path` in `text`.
pub fn locate(text: &str, path: &str) -> Location {
    let lines: Vec<&str> = text.lines().collect();
    let mut node = Node {
        line: 0,
        col: 0,
        start: 0,
        end: lines.len(),
    };
    // Start at the first content line.
    while node.line < lines.len() && is_blank(lines[node.line]) {
        node.line += 1;
    }
    for segment in parse_path(path) {
        let next = match segment {
            Segment::Key(key) => find_key(&lines, node, key),
            Segment::Index(i) => find_item(&lines, node, i),
            Segment::Select(k, v) => find_selected(&lines, node, k, v),
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    Location {
        line: node.line + 1,
        column: node.col + 1,
    }
}

fn is_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Column where a line's mapping key starts (after any `- ` list markers).
fn key_col(line: &str) -> usize {
    let mut col = indent(line);
    let mut rest = &line[col..];
    while let Some(r) = rest.strip_prefix("- ") {
        let trimmed = r.trim_start_matches(' ');
        col += rest.len() - trimmed.len();
        rest = trimmed;
    }
    col
}

fn content_lines<'l>(lines: &'l [&str], node: Node) -> impl Iterator<Item = usize> + 'l {
    (node.start..node.end.min(lines.len())).filter(move |&l| !is_blank(lines[l]))
}

/// The inline text of a node's value on its own line (after the key).
fn inline_text<'t>(lines: &[&'t str], node: Node) -> &'t str {
    lines
        .get(node.line)
        .and_then(|l| l.get(node.col..))
        .unwrap_or("")
}

fn find_key(lines: &[&str], node: Node, key: &str) -> Option<Node> {
    let inline = inline_text(lines, node);
    if inline.starts_with('{') {
        return find_in_flow(lines, node, key);
    }
    // Block mapping: keys at the column of the node's first key.
    let first = content_lines(lines, node).next()?;
    let map_col = if first == node.line {
        node.col
    } else {
        key_col(lines[first])
    };
    for l in content_lines(lines, node) {
        let line = lines[l];
        let kc = key_col(line);
        if kc < map_col && l != first {
            break;
        }
        if kc != map_col {
            continue;
        }
        let rest = &line[kc..];
        if let Some(after) = strip_key(rest, key) {
            let value = after.trim_start();
            let value_col = kc + (rest.len() - value.len());
            if !value.is_empty()
                && !value.starts_with('#')
                && !value.starts_with('|')
                && !value.starts_with('>')
            {
                return Some(Node {
                    line: l,
                    col: value_col,
                    start: l,
                    end: l + 1,
                });
            }
            // Block value: lines after the key, more indented (or a list at the same indent).
            let mut end = l + 1;
            while end < node.end.min(lines.len()) {
                let next = lines[end];
                if !is_blank(next) {
                    let ind = indent(next);
                    if ind < kc || (ind == kc && !next[ind..].starts_with("- ")) {
                        break;
                    }
                }
                end += 1;
            }
            let mut first_child = l + 1;
            while first_child < end && is_blank(lines[first_child]) {
                first_child += 1;
            }
            if value.starts_with('|') || value.starts_with('>') || first_child >= end {
                return Some(Node {
                    line: l,
                    col: value_col,
                    start: l + 1,
                    end,
                });
            }
            return Some(Node {
                line: first_child,
                col: indent(lines[first_child]),
                start: first_child,
                end,
            });
        }
    }
    None
}

fn strip_key<'r>(rest: &'r str, key: &str) -> Option<&'r str> {
    for quoted in [key.to_owned(), format!("\"{key}\""), format!("'{key}'")] {
        if let Some(after) = rest.strip_prefix(quoted.as_str())
            && let Some(after) = after.strip_prefix(':')
            && (after.is_empty() || after.starts_with(' '))
        {
            return Some(after);
        }
    }
    None
}

fn find_in_flow(lines: &[&str], node: Node, key: &str) -> Option<Node> {
    let line = lines.get(node.line)?;
    let text = &line[node.col..];
    let mut search = 0;
    while let Some(pos) = text[search..].find(key) {
        let at = search + pos;
        let before = text[..at].chars().last();
        let after = &text[at + key.len()..];
        if matches!(before, Some('{' | ' ' | ',')) && after.starts_with(':') {
            let value = after[1..].trim_start();
            let value_col = node.col + at + key.len() + 1 + (after.len() - 1 - value.len());
            return Some(Node {
                line: node.line,
                col: value_col,
                start: node.line,
                end: node.line + 1,
            });
        }
        search = at + key.len();
    }
    None
}

/// The list items of a node: (line, column of the item content).
fn items(lines: &[&str], node: Node) -> Vec<Node> {
    let inline = inline_text(lines, node);
    if let Some(list) = inline.strip_prefix('[') {
        let mut out = Vec::new();
        let mut col = node.col + 1;
        for part in list.split([',', ']']) {
            let trimmed = part.trim_start();
            if !trimmed.trim().is_empty() {
                out.push(Node {
                    line: node.line,
                    col: col + (part.len() - trimmed.len()),
                    start: node.line,
                    end: node.line + 1,
                });
            }
            col += part.len() + 1;
        }
        return out;
    }
    let mut out: Vec<Node> = Vec::new();
    let mut list_indent = None;
    for l in content_lines(lines, node) {
        let line = lines[l];
        let ind = indent(line);
        if !line[ind..].starts_with("- ") && line[ind..].trim() != "-" {
            continue;
        }
        let li = *list_indent.get_or_insert(ind);
        if ind != li {
            continue;
        }
        if let Some(prev) = out.last_mut() {
            prev.end = l;
        }
        let after = &line[ind + 1..];
        let content = after.trim_start();
        out.push(Node {
            line: l,
            col: ind + 1 + (after.len() - content.len()),
            start: l,
            end: node.end,
        });
    }
    out
}

fn find_item(lines: &[&str], node: Node, index: usize) -> Option<Node> {
    items(lines, node).into_iter().nth(index)
}

fn find_selected(lines: &[&str], node: Node, key: &str, value: &str) -> Option<Node> {
    items(lines, node).into_iter().find(|item| {
        find_key(lines, *item, key)
            .map(|n| scalar_text(inline_text(lines, n)) == value)
            .unwrap_or(false)
    })
}

/// The scalar at the start of an inline value, unquoted, without trailing
/// comment or flow punctuation.
fn scalar_text(text: &str) -> String {
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('"') {
        return rest.split('"').next().unwrap_or("").to_owned();
    }
    if let Some(rest) = text.strip_prefix('\'') {
        return rest.split('\'').next().unwrap_or("").to_owned();
    }
    let end = text.find([',', '}', ']', '#']).unwrap_or(text.len());
    text[..end].trim().to_owned()
}

/// Location of a position inside a (possibly multi-line) scalar at `path`:
/// `line` and `column` are 0-based within the scalar's text. Block scalars
/// (`|`) start on the line after their key; inline scalars on the key's line.
pub fn locate_in_scalar(text: &str, path: &str, line: usize, column: usize) -> Location {
    let at = locate(text, path);
    let lines: Vec<&str> = text.lines().collect();
    let value = lines
        .get(at.line - 1)
        .and_then(|l| l.get(at.column - 1..))
        .unwrap_or("");
    if value.starts_with('|') || value.starts_with('>') {
        let mut first = at.line; // 0-based index of the line after the key
        while first < lines.len() && lines[first].trim().is_empty() {
            first += 1;
        }
        let ind = lines.get(first).map(|l| indent(l)).unwrap_or(0);
        Location {
            line: first + line + 1,
            column: ind + column + 1,
        }
    } else {
        let quoted = usize::from(value.starts_with('"') || value.starts_with('\''));
        Location {
            line: at.line + line,
            column: at.column + quoted + column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
table:
  name: t
  columns:
    - name: id
      type: id
      doc: x
    - name: status
      type: text
  indexes:
    - name: ix
      columns: [id, status]
queries:
  - name: q
    params:
      - { name: limit, type: bigint }
    sql: |
      SELECT 1
";

    #[test]
    fn locates_nested_paths() {
        assert_eq!(locate(YAML, "table.name").to_string(), "2:9");
        assert_eq!(
            locate(YAML, "table.columns[name=status].type").to_string(),
            "8:13"
        );
        assert_eq!(locate(YAML, "table.columns[1]").to_string(), "7:7");
        assert_eq!(
            locate(YAML, "table.indexes[name=ix].columns[1]").to_string(),
            "11:21"
        );
        assert_eq!(
            locate(YAML, "queries[name=q].params[name=limit].type").to_string(),
            "15:30"
        );
        assert_eq!(locate(YAML, "queries[name=q].sql").to_string(), "16:10");
    }

    #[test]
    fn falls_back_to_the_deepest_found_segment() {
        assert_eq!(
            locate(YAML, "table.columns[name=nope].type").to_string(),
            "4:5"
        );
    }
}
