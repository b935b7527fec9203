//! Where a key path of a configuration problem stands in the file (`patchbay check` prints
//! `file:line:col` beside the key path, as compilers do, so an editor can jump to it).
//!
//! The validator works on `toml::Table`, which keeps no positions; this module parses the same
//! text once more with `toml_edit`, which does, and walks the key path (`route[2].clients.
//! bearer_file`) through it. A path that ends at a key the file does not have (a required key
//! left out) points at the innermost table that does exist.

use std::ops::Range;
use toml_edit::{ImDocument, Item, Table, Value};

/// One parsed file, for locating many paths.
pub struct Locator<'t> {
    text: &'t str,
    doc: Option<ImDocument<&'t str>>,
}

/// One step of a key path: a key, optionally indexed (`route[2]`).
fn segments(path: &str) -> Vec<(&str, Option<usize>)> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(|seg| match seg.split_once('[') {
            Some((key, rest)) => (key, rest.trim_end_matches(']').parse().ok()),
            None => (seg, None),
        })
        .collect()
}

impl<'t> Locator<'t> {
    /// Parses `text`; a file that does not parse locates nothing (its syntax error carries its
    /// own position).
    pub fn new(text: &'t str) -> Self {
        Locator {
            text,
            doc: ImDocument::parse(text).ok(),
        }
    }

    /// `(line, column)`, both from 1, of the key `path` names, or of the nearest enclosing
    /// table or value that exists.
    pub fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let doc = self.doc.as_ref()?;
        let mut best: Option<Range<usize>> = None;
        let mut node = Node::Table(doc.as_table());
        for (key, index) in segments(path) {
            let (key_span, item) = match node {
                Node::Table(t) => (
                    t.key(key).and_then(|k| k.span()),
                    t.get(key).map(Child::Item),
                ),
                Node::Inline(t) => (
                    t.key(key).and_then(|k| k.span()),
                    t.get(key).map(Child::Value),
                ),
            };
            let Some(item) = item else { break };
            best = key_span.or_else(|| item.span()).or(best);
            let next = match (item, index) {
                (Child::Item(Item::Table(t)), None) => Some(Node::Table(t)),
                (Child::Item(Item::ArrayOfTables(a)), Some(i)) => a.get(i).map(Node::Table),
                (Child::Item(Item::Value(v)), i) | (Child::Value(v), i) => value_node(v, i),
                _ => None,
            };
            match next {
                Some(n) => {
                    best = n.span().or(best);
                    node = n;
                }
                None => break,
            }
        }
        best.map(|r| line_col(self.text, r.start))
    }
}

#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Inline(&'a toml_edit::InlineTable),
}

impl Node<'_> {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Table(t) => t.span(),
            Node::Inline(t) => t.span(),
        }
    }
}

#[derive(Clone, Copy)]
enum Child<'a> {
    Item(&'a Item),
    Value(&'a Value),
}

impl Child<'_> {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Child::Item(i) => i.span(),
            Child::Value(v) => v.span(),
        }
    }
}

fn value_node(v: &Value, index: Option<usize>) -> Option<Node<'_>> {
    let v = match index {
        Some(i) => v.as_array()?.get(i)?,
        None => v,
    };
    v.as_inline_table().map(Node::Inline)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"[server]
listen = "127.0.0.1:8080"
no_such_key = 1

[[upstream]]
name = "a"
auth = { bearer_file = "x" }

[[upstream]]
name = "b"
auth = { bearer_env = "" }

[[route]]
name = "r"
clients = { oauth_clients = [{ client_id = "c", secret_file = "s" }] }
"#;

    #[test]
    fn locates_keys_tables_and_array_elements() {
        let l = Locator::new(TEXT);
        assert_eq!(l.locate("server.no_such_key"), Some((3, 1)));
        assert_eq!(l.locate("server.listen"), Some((2, 1)));
        assert_eq!(l.locate("upstream[1].name"), Some((10, 1)));
        assert_eq!(l.locate("upstream[1].auth.bearer_env"), Some((11, 10)));
        assert_eq!(
            l.locate("route[0].clients.oauth_clients[0].secret_file"),
            Some((15, 49))
        );
    }

    #[test]
    fn a_missing_key_points_at_its_table() {
        let l = Locator::new(TEXT);
        // `route[0].upstream` is required and absent: the route's table header is the place.
        let (line, _) = l.locate("route[0].upstream").expect("located");
        assert!((13..=14).contains(&line), "line {line}");
        assert_eq!(l.locate("nothing.here"), None);
    }
}
