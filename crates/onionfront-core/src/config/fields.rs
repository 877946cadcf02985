//! Reading typed values out of the positioned YAML tree: a [`Ctx`] that collects diagnostics
//! (so one run reports every problem), mappings whose unknown keys are reported with a
//! suggestion ([`Fields`]), and scalar readers (strings, numbers in ranges, booleans, durations,
//! paths, socket addresses).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{Diagnostic, Position, Problem};
use super::suggest::did_you_mean;
use super::yaml::{Kind, Node};

/// The state of one load: where relative paths start, and the problems found so far.
pub(crate) struct Ctx {
    /// The config file as given (for messages).
    pub file: PathBuf,
    /// Its folder (absolute): relative paths in the file are relative to it.
    pub base_dir: PathBuf,
    /// Problems found.
    pub diagnostics: Vec<Diagnostic>,
}

impl Ctx {
    /// Record a problem at `pos` in `field`.
    pub fn report(&mut self, pos: Option<Position>, field: &str, problem: Problem) {
        self.diagnostics.push(Diagnostic {
            file: self.file.clone(),
            position: pos,
            field: field.to_string(),
            problem,
        });
    }

    /// Record a problem with `node`.
    pub fn bad(&mut self, node: &Node, field: &str, problem: Problem) {
        self.report(Some(node.pos), field, problem);
    }

    /// Record "expected X, found Y".
    pub fn wrong_type(&mut self, node: &Node, field: &str, expected: &'static str) {
        self.bad(
            node,
            field,
            Problem::WrongType {
                expected,
                found: node.describe(),
            },
        );
    }

    /// Record an [`Problem::Invalid`] with `message`.
    pub fn invalid(&mut self, node: &Node, field: &str, message: impl Into<String>) {
        self.bad(node, field, Problem::Invalid(message.into()));
    }

    /// `path` (from the file) made absolute against the config file's folder.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// `parent.key`, or `key` at the top.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// A mapping being read: take known keys one by one, then [`Fields::finish`] reports the rest.
pub(crate) struct Fields<'n> {
    /// The mapping's own field path.
    pub path: String,
    /// Where the mapping starts.
    pub pos: Position,
    entries: Vec<(&'n str, &'n Node, &'n Node)>,
    known: &'static [&'static str],
}

impl<'n> Fields<'n> {
    /// Read `node` as a mapping with the keys `known` (a null node is an empty mapping). Reports
    /// a wrong type (and returns `None`), duplicate keys and non-string keys.
    pub fn new(
        ctx: &mut Ctx,
        node: &'n Node,
        path: &str,
        known: &'static [&'static str],
    ) -> Option<Fields<'n>> {
        let items: &[(Node, Node)] = match &node.kind {
            Kind::Map(items) => items,
            _ if node.is_null() => &[],
            _ => {
                ctx.wrong_type(node, path, "a mapping (`key: value` lines)");
                return None;
            }
        };
        let mut entries: Vec<(&'n str, &'n Node, &'n Node)> = Vec::new();
        for (k, v) in items {
            let Some(name) = k
                .as_str()
                .filter(|_| !matches!(k.kind, Kind::Seq(_) | Kind::Map(_)))
            else {
                ctx.bad(
                    k,
                    path,
                    Problem::Invalid("a key must be a plain word, not a list or mapping".into()),
                );
                continue;
            };
            if let Some((_, first, _)) = entries.iter().find(|(n, _, _)| *n == name) {
                ctx.bad(
                    k,
                    &join(path, name),
                    Problem::DuplicateKey {
                        key: name.to_string(),
                        first_line: first.pos.line,
                    },
                );
                continue;
            }
            entries.push((name, k, v));
        }
        Some(Fields {
            path: path.to_string(),
            pos: node.pos,
            entries,
            known,
        })
    }

    /// The value of `key` (must be one of the known keys), if present; null values count as
    /// present (the readers report them).
    pub fn take(&mut self, key: &'static str) -> Option<&'n Node> {
        debug_assert!(self.known.contains(&key), "{key} not declared");
        let i = self.entries.iter().position(|(n, _, _)| *n == key)?;
        Some(self.entries.remove(i).2)
    }

    /// The value of a required `key`; reports [`Problem::Missing`] at the mapping if absent.
    pub fn require(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<&'n Node> {
        let v = self.take(key);
        if v.is_none() {
            ctx.report(Some(self.pos), &self.path, Problem::Missing(key));
        }
        v
    }

    /// The field path of `key` in this mapping.
    pub fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Report every key not taken as unknown, with a suggestion.
    pub fn finish(self, ctx: &mut Ctx) {
        for (name, k, _) in self.entries {
            let suggestion = if self.known.contains(&name) {
                None
            } else {
                did_you_mean(name, self.known).map(str::to_string)
            };
            ctx.bad(
                k,
                &self.path,
                Problem::UnknownKey {
                    key: name.to_string(),
                    suggestion,
                },
            );
        }
    }
}

/// A non-empty string scalar (numbers and booleans are taken as written).
pub(crate) fn string(ctx: &mut Ctx, node: &Node, field: &str) -> Option<String> {
    match &node.kind {
        Kind::Scalar { value, .. } if !node.is_null() && !value.trim().is_empty() => {
            Some(value.clone())
        }
        Kind::Scalar { .. } => {
            ctx.bad(
                node,
                field,
                Problem::WrongType {
                    expected: "a value",
                    found: "nothing",
                },
            );
            None
        }
        _ => {
            ctx.wrong_type(node, field, "a string");
            None
        }
    }
}

/// A whole number in `min..=max`.
pub(crate) fn integer(ctx: &mut Ctx, node: &Node, field: &str, min: u64, max: u64) -> Option<u64> {
    let Kind::Scalar { value, .. } = &node.kind else {
        ctx.wrong_type(node, field, "a whole number");
        return None;
    };
    let Ok(n) = value.trim().parse::<u64>() else {
        if value.trim().parse::<i64>().is_ok() {
            ctx.invalid(
                node,
                field,
                format!("must be between {min} and {max}, found {}", value.trim()),
            );
        } else {
            ctx.wrong_type(node, field, "a whole number");
        }
        return None;
    };
    if !(min..=max).contains(&n) {
        ctx.invalid(
            node,
            field,
            format!("must be between {min} and {max}, found {n}"),
        );
        return None;
    }
    Some(n)
}

/// `true` or `false`.
pub(crate) fn boolean(ctx: &mut Ctx, node: &Node, field: &str) -> Option<bool> {
    match node.as_str().map(str::trim) {
        Some("true" | "True" | "TRUE") => Some(true),
        Some("false" | "False" | "FALSE") => Some(false),
        _ => {
            ctx.wrong_type(node, field, "true or false");
            None
        }
    }
}

/// A duration like `30s`, `2m`, `1h 30m`, in `min..=max`.
pub(crate) fn duration(
    ctx: &mut Ctx,
    node: &Node,
    field: &str,
    min: Duration,
    max: Duration,
) -> Option<Duration> {
    let Kind::Scalar { value, .. } = &node.kind else {
        ctx.wrong_type(node, field, "a duration like `30s` or `2m`");
        return None;
    };
    let value = value.trim();
    if value.parse::<u64>().is_ok() {
        ctx.invalid(
            node,
            field,
            format!(
                "`{value}` has no unit: write `{value}s` for seconds or `{value}m` for minutes"
            ),
        );
        return None;
    }
    let d = match humantime::parse_duration(value) {
        Ok(d) => d,
        Err(e) => {
            ctx.invalid(
                node,
                field,
                format!("expected a duration like `30s`, `2m` or `1h 30m`, found `{value}` ({e})"),
            );
            return None;
        }
    };
    if d < min || d > max {
        ctx.invalid(
            node,
            field,
            format!(
                "must be between {} and {}, found {}",
                humantime::format_duration(min),
                humantime::format_duration(max),
                humantime::format_duration(d)
            ),
        );
        return None;
    }
    Some(d)
}

/// A size in bytes like `256 MiB`, `1 GiB` or `512MB` (a plain number is bytes), in `min..=max`.
pub(crate) fn byte_size(
    ctx: &mut Ctx,
    node: &Node,
    field: &str,
    min: u64,
    max: u64,
) -> Option<u64> {
    let Kind::Scalar { value, .. } = &node.kind else {
        ctx.wrong_type(node, field, "a size like `256 MiB`");
        return None;
    };
    let value = value.trim();
    let size = match value.parse::<bytesize::ByteSize>() {
        Ok(size) => size.as_u64(),
        Err(_) => {
            ctx.invalid(
                node,
                field,
                format!("expected a size like `256 MiB` or `1 GiB`, found `{value}`"),
            );
            return None;
        }
    };
    if !(min..=max).contains(&size) {
        ctx.invalid(
            node,
            field,
            format!(
                "must be between {} and {}, found {value}",
                bytesize::ByteSize::b(min).display().iec(),
                bytesize::ByteSize::b(max).display().iec(),
            ),
        );
        return None;
    }
    Some(size)
}

/// A path, made absolute against the config file's folder.
pub(crate) fn path(ctx: &mut Ctx, node: &Node, field: &str) -> Option<PathBuf> {
    let s = string(ctx, node, field)?;
    Some(ctx.resolve(s.trim()))
}

/// An `IP:PORT` socket address.
pub(crate) fn socket_addr(ctx: &mut Ctx, node: &Node, field: &str) -> Option<SocketAddr> {
    let s = string(ctx, node, field)?;
    match s.trim().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            ctx.invalid(
                node,
                field,
                format!(
                    "expected IP:PORT like `127.0.0.1:9477` or `[::1]:9477`, found `{}`",
                    s.trim()
                ),
            );
            None
        }
    }
}

/// The items of a list (a null node is an empty list).
pub(crate) fn list<'n>(ctx: &mut Ctx, node: &'n Node, field: &str) -> Option<&'n [Node]> {
    match &node.kind {
        Kind::Seq(items) => Some(items),
        _ if node.is_null() => Some(&[]),
        _ => {
            ctx.wrong_type(node, field, "a list (`- item` lines)");
            None
        }
    }
}
