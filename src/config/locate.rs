//! Maps a key path such as `filters[2].headline` to a line and column in the TOML text, so
//! every message can start with `FILE:LINE:COL`. Uses `toml_edit`'s span-keeping document;
//! knows nothing about what the keys mean.
//!
//! A path that does not exist in the file (a missing required key, or a default that
//! collides with something) is placed at the nearest ancestor that does: the table header
//! the key should be added under, or line 1 for the top level.

use std::ops::Range;

use toml_edit::{Array, ArrayOfTables, ImDocument, InlineTable, Item, Table, Value};

use super::raw::Seg;
use super::validate::Anchor;

/// A 1-based position; `column` counts characters, not bytes, so it matches what an
/// editor shows for non-ASCII lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Finds positions in one TOML text.
pub struct Locator<'a> {
    text: &'a str,
    doc: Option<ImDocument<&'a str>>,
}

impl<'a> Locator<'a> {
    /// Parses `text` for spans. Text that does not parse still gives a locator: every path
    /// then maps to 1:1 (the syntax error itself is located from the parser's own span).
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// The position of `path` (in the form produced by [`super::raw::render_path`]):
    /// the key for [`Anchor::Key`], the value for [`Anchor::Value`], or the nearest existing
    /// ancestor when the path is not in the file.
    pub fn locate(&self, path: &str, anchor: Anchor) -> Location {
        let offset = match (&self.doc, parse_path(path)) {
            (Some(doc), Some(segs)) => find(doc.as_table(), &segs, anchor).unwrap_or(0),
            _ => 0,
        };
        self.position(offset)
    }

    /// Converts a byte offset into a 1-based line and character column. Offsets past the
    /// end or inside a UTF-8 sequence are clamped rather than trusted.
    pub fn position(&self, offset: usize) -> Location {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { line, column }
    }
}

/// Parses `a.b[2]."quoted key".c` into segments; `None` for a malformed path.
pub fn parse_path(path: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    let mut chars = path.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            '.' => {
                chars.next();
            }
            '[' => {
                chars.next();
                let mut digits = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    digits.push(d);
                }
                segs.push(Seg::Index(digits.parse().ok()?));
            }
            '"' => {
                chars.next();
                let mut key = String::new();
                let mut escaped = false;
                for d in chars.by_ref() {
                    match (escaped, d) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        (_, d) => {
                            key.push(d);
                            escaped = false;
                        }
                    }
                }
                segs.push(Seg::Key(key));
            }
            _ => {
                let mut key = String::new();
                while let Some(&d) = chars.peek() {
                    if d == '.' || d == '[' {
                        break;
                    }
                    key.push(d);
                    chars.next();
                }
                segs.push(Seg::Key(key));
            }
        }
    }
    Some(segs)
}

/// A node reached while walking a path.
#[derive(Clone, Copy)]
enum Node<'d> {
    Table(&'d Table),
    Inline(&'d InlineTable),
    Tables(&'d ArrayOfTables),
    Array(&'d Array),
    Scalar,
}

impl<'d> Node<'d> {
    fn of_item(item: &'d Item) -> Self {
        match item {
            Item::Table(t) => Node::Table(t),
            Item::ArrayOfTables(a) => Node::Tables(a),
            Item::Value(v) => Node::of_value(v),
            Item::None => Node::Scalar,
        }
    }

    fn of_value(value: &'d Value) -> Self {
        match value {
            Value::InlineTable(t) => Node::Inline(t),
            Value::Array(a) => Node::Array(a),
            _ => Node::Scalar,
        }
    }
}

/// One step of the walk: the key's span (if the step has a key), the value's span, and
/// the node reached.
type Step<'d> = (Option<Range<usize>>, Option<Range<usize>>, Node<'d>);

/// Walks `segs` from the root table and returns the byte offset to report.
fn find(root: &Table, segs: &[Seg], anchor: Anchor) -> Option<usize> {
    // Where the deepest existing ancestor starts: the place to add a missing key.
    let mut fallback = 0usize;
    let mut node = Node::Table(root);
    for (depth, seg) in segs.iter().enumerate() {
        let step: Option<Step> = match (seg, node) {
            (Seg::Key(k), Node::Table(t)) => t
                .get_key_value(k)
                .map(|(key, item)| (key.span(), item.span(), Node::of_item(item))),
            (Seg::Key(k), Node::Inline(t)) => t
                .get_key_value(k)
                .map(|(key, item)| (key.span(), item.span(), Node::of_item(item))),
            // An array element has no key of its own; its `[[header]]` stands in for one.
            (Seg::Index(i), Node::Tables(a)) => a.get(*i).map(|t| (None, t.span(), Node::Table(t))),
            (Seg::Index(i), Node::Array(a)) => {
                a.get(*i).map(|v| (None, v.span(), Node::of_value(v)))
            }
            _ => None,
        };
        let Some((key_span, value_span, next)) = step else {
            return Some(fallback);
        };
        if depth + 1 == segs.len() {
            let chosen = match anchor {
                Anchor::Key => key_span.or(value_span),
                Anchor::Value => value_span.or(key_span),
            };
            return Some(chosen.map_or(fallback, |r| r.start));
        }
        // A table's span starts at its `[header]`; a dotted or implicit table has none,
        // so its key is the next best place.
        if let Some(r) = value_span.or(key_span) {
            fallback = r.start;
        }
        node = next;
    }
    Some(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# comment\n[[accounts]]\nname = \"work\"\nhost = \"imap.example.com\"\n\n[[accounts]]\nname = \"home\"\nmailboxes = [\"INBOX\", \"Ärger\", 3]\nafter_processing = { invitations = \"mark_seen\" }\n\n[digest]\nsubject = \"Ä {x}\"\nto.list = 1\n";

    fn at(path: &str, anchor: Anchor) -> String {
        Locator::new(TEXT).locate(path, anchor).to_string()
    }

    #[test]
    fn keys_and_values() {
        assert_eq!(at("accounts[0].host", Anchor::Key), "4:1");
        assert_eq!(at("accounts[0].host", Anchor::Value), "4:8");
        assert_eq!(at("accounts[1].mailboxes[2]", Anchor::Value), "8:32");
        assert_eq!(
            at("accounts[1].after_processing.invitations", Anchor::Value),
            "9:36"
        );
        assert_eq!(at("digest.subject", Anchor::Value), "12:11");
        assert_eq!(at("digest.to.list", Anchor::Key), "13:4");
    }

    #[test]
    fn missing_keys_point_at_the_header() {
        assert_eq!(at("accounts[1].host", Anchor::Value), "6:1");
        assert_eq!(at("accounts[0]", Anchor::Value), "2:1");
        assert_eq!(at("digest.from", Anchor::Value), "11:1");
        assert_eq!(at("smtp.host", Anchor::Value), "1:1");
        assert_eq!(at("accounts[7].host", Anchor::Value), "2:1");
    }

    #[test]
    fn columns_count_characters() {
        // "Ärger" follows a multi-byte character on the same line.
        assert_eq!(at("accounts[1].mailboxes[1]", Anchor::Value), "8:23");
    }

    #[test]
    fn never_panics_on_odd_input() {
        let l = Locator::new("a = [\n");
        assert_eq!(l.locate("a[0]", Anchor::Value).to_string(), "1:1");
        assert_eq!(l.position(999).to_string(), "2:1");
        let l = Locator::new("é");
        assert_eq!(l.position(1).to_string(), "1:1");
        assert!(parse_path("a[x]").is_none());
        assert_eq!(
            parse_path("a.\"b.c\"[3]").unwrap(),
            vec![Seg::Key("a".into()), Seg::Key("b.c".into()), Seg::Index(3)]
        );
    }
}
