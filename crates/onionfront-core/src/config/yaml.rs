//! A YAML tree that remembers where every node is: built from `yaml-rust2`'s parser events,
//! because its `Yaml` values carry no positions. Anchors and aliases are resolved by copying.
//!
//! Bounds, so that no file can exhaust memory or the stack: the tree holds at most
//! [`MAX_NODES`] nodes in all, counting every node an alias copies (a "billion laughs" file,
//! aliases of aliases, stops there), and containers nest at most [`MAX_DEPTH`] deep. Either
//! limit is a [`SyntaxError`] at the node that crossed it. (The file's size is bounded by the
//! loader.)

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::error::Position;

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// What it is.
    pub kind: Kind,
    /// Where it starts (1-based line and column).
    pub pos: Position,
}

/// The kinds of YAML nodes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A scalar; `plain` if unquoted (only plain scalars can be null, numbers or booleans).
    Scalar {
        /// The text.
        value: String,
        /// Unquoted?
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// True for an empty value, `~` or `null`.
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, plain: true }
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The scalar text, if a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// What this node is, in words, for "expected X, found Y".
    pub fn describe(&self) -> &'static str {
        if self.is_null() {
            return "nothing";
        }
        match &self.kind {
            Kind::Scalar { plain: false, .. } => "a string",
            Kind::Scalar { value, plain: true } => {
                if value.parse::<i64>().is_ok() {
                    "a number"
                } else if value.parse::<f64>().is_ok() {
                    "a decimal number"
                } else if matches!(
                    value.as_str(),
                    "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
                ) {
                    "a boolean"
                } else {
                    "a string"
                }
            }
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Where.
    pub pos: Position,
    /// What.
    pub message: String,
}

fn position(m: Marker) -> Position {
    // yaml-rust2's lines are 1-based and its columns 0-based.
    Position {
        line: m.line(),
        column: m.col() + 1,
    }
}

/// The most nodes a config may hold, aliases expanded (a real config has a few hundred).
pub(crate) const MAX_NODES: usize = 100_000;
/// The deepest nesting of mappings and lists (a real config nests 4 deep).
pub(crate) const MAX_DEPTH: usize = 64;

/// Parse `text` into its documents (an empty file has none).
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| SyntaxError {
        pos: position(*e.marker()),
        message: e.info().to_string(),
    })?;
    match builder.limit {
        Some(e) => Err(e),
        None => Ok(builder.docs),
    }
}

/// How many nodes `node` holds, itself included.
fn count(node: &Node) -> usize {
    // Iterative: the tree may be as deep as MAX_DEPTH, and this runs on every anchor.
    let mut n = 0;
    let mut todo = vec![node];
    while let Some(node) = todo.pop() {
        n += 1;
        match &node.kind {
            Kind::Scalar { .. } => {}
            Kind::Seq(items) => todo.extend(items),
            Kind::Map(entries) => todo.extend(entries.iter().flat_map(|(k, v)| [k, v])),
        }
    }
    n
}

/// A container being filled.
enum Open {
    Seq(Vec<Node>, Position, usize),
    /// Entries, a key waiting for its value, position, anchor.
    Map(Vec<(Node, Node)>, Option<Node>, Position, usize),
}

#[derive(Default)]
struct Builder {
    docs: Vec<Node>,
    stack: Vec<Open>,
    /// Each anchor's node and how many nodes it holds.
    anchors: std::collections::HashMap<usize, (Node, usize)>,
    /// Nodes in the tree so far, aliases expanded.
    nodes: usize,
    /// The first limit crossed; once set, further events are ignored.
    limit: Option<SyntaxError>,
}

impl Builder {
    /// Account for `n` more nodes at `pos`; false (and the error recorded) past [`MAX_NODES`].
    fn charge(&mut self, n: usize, pos: Position) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            self.limit = Some(SyntaxError {
                pos,
                message: format!(
                    "the document has more than {MAX_NODES} nodes with its aliases expanded \
                     (aliases nested to multiply a document are refused)"
                ),
            });
            return false;
        }
        true
    }

    fn insert(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let n = count(&node);
            self.anchors.insert(anchor, (node.clone(), n));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Open::Seq(items, _, _)) => items.push(node),
            Some(Open::Map(entries, pending, _, _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => {
                    let node = place_empty_value(&key, node);
                    entries.push((key, node))
                }
            },
        }
    }
}

/// yaml-rust2 places an empty value (`key:` and nothing) at the next token, often on the next
/// line; put it right after `key:` instead, where a reader looks for it.
fn place_empty_value(key: &Node, value: Node) -> Node {
    match (&key.kind, &value.kind) {
        (
            Kind::Scalar {
                value: k,
                plain: true,
            },
            Kind::Scalar {
                value: v,
                plain: true,
            },
        ) if v.is_empty() && value.pos != key.pos => Node {
            pos: Position {
                line: key.pos.line,
                column: key.pos.column + k.chars().count() + 1,
            },
            ..value
        },
        _ => value,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.limit.is_some() {
            return;
        }
        let pos = position(mark);
        let new_nodes = match &ev {
            Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..) => 1,
            Event::Alias(id) => self.anchors.get(id).map_or(1, |(_, n)| *n),
            _ => 0,
        };
        if !self.charge(new_nodes, pos) {
            return;
        }
        if matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..))
            && self.stack.len() >= MAX_DEPTH
        {
            self.limit = Some(SyntaxError {
                pos,
                message: format!("mappings and lists nest more than {MAX_DEPTH} deep"),
            });
            return;
        }
        match ev {
            Event::Scalar(value, style, anchor, _tag) => {
                let plain = style == TScalarStyle::Plain;
                self.insert(
                    Node {
                        kind: Kind::Scalar { value, plain },
                        pos,
                    },
                    anchor,
                );
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Seq(Vec::new(), pos, anchor)),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Open::Map(Vec::new(), None, pos, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Seq(items, pos, anchor)) => (
                        Node {
                            kind: Kind::Seq(items),
                            pos,
                        },
                        anchor,
                    ),
                    Some(Open::Map(entries, _, pos, anchor)) => (
                        Node {
                            // yaml-rust2 marks a block mapping after its first key; its first
                            // key is where a reader sees it start.
                            pos: entries.first().map_or(pos, |(k, _)| k.pos),
                            kind: Kind::Map(entries),
                        },
                        anchor,
                    ),
                    None => return,
                };
                self.insert(node, anchor);
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .map(|(n, _)| n.clone())
                    .unwrap_or(Node {
                        kind: Kind::Scalar {
                            value: String::new(),
                            plain: true,
                        },
                        pos,
                    });
                // An alias is reported where it is used.
                let node = Node { pos, ..node };
                self.insert(node, 0);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let docs = parse("a: 1\nlist:\n  - x: 'y'\n").unwrap();
        assert_eq!(docs.len(), 1);
        let Kind::Map(entries) = &docs[0].kind else {
            panic!()
        };
        assert_eq!(entries[0].0.pos, Position { line: 1, column: 1 });
        assert_eq!(entries[0].1.pos, Position { line: 1, column: 4 });
        let Kind::Seq(items) = &entries[1].1.kind else {
            panic!()
        };
        let Kind::Map(inner) = &items[0].kind else {
            panic!()
        };
        assert_eq!(inner[0].0.pos, Position { line: 3, column: 5 });
        assert_eq!(inner[0].1.pos, Position { line: 3, column: 8 });
        assert_eq!(
            inner[0].1.kind,
            Kind::Scalar {
                value: "y".into(),
                plain: false
            }
        );
    }

    #[test]
    fn empty_and_syntax_error() {
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# only a comment\n").unwrap().is_empty());
        let e = parse("a: [1, 2\n").unwrap_err();
        assert_eq!(e.pos.line, 2);
        let e = parse("a: b\n c: d\n").unwrap_err();
        assert_eq!(e.pos, Position { line: 2, column: 3 });
    }

    /// "Billion laughs": each level aliases the previous one ten times. Refused at the node
    /// budget, quickly and without allocating the expansion.
    #[test]
    fn alias_expansion_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let t = std::time::Instant::now();
        let e = parse(&text).unwrap_err();
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert!(e.message.contains("more than 100000 nodes"), "{e:?}");
        assert_eq!(e.pos.line, 5, "{e:?}");
        // A few aliases are fine.
        assert!(parse("a: &x [1, 2]\nb: [*x, *x]\n").is_ok());
    }

    #[test]
    fn nesting_is_bounded() {
        // yaml-rust2 stops deep flow collections itself (its recursion limit).
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deep).is_err());
        let block: String = (0..100)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        let e = parse(&block).unwrap_err();
        assert!(e.message.contains("nest more than 64 deep"), "{e:?}");
        let ok = format!("{}{}", "[".repeat(60), "]".repeat(60));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn aliases_copy() {
        let docs = parse("a: &x {k: v}\nb: *x\n").unwrap();
        let Kind::Map(entries) = &docs[0].kind else {
            panic!()
        };
        assert_eq!(entries[1].1.pos.line, 2);
        assert!(matches!(entries[1].1.kind, Kind::Map(_)));
    }
}
