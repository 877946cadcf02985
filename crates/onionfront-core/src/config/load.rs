//! Loading `config.yaml`: [`load`] (read and parse) and [`parse`] (text), which check everything
//! that can be checked without reading the key files. [`super::load_with_keys`] also loads the
//! keys.
//!
//! Bounds: a file over [`MAX_CONFIG_BYTES`] is refused before it is parsed, and the YAML tree is
//! bounded in nodes (aliases expanded) and depth (see the `yaml` module).

use std::path::{Path, PathBuf};

use super::error::{ConfigError, Diagnostic, Position, Problem};
use super::fields::{self, Ctx, Fields};
use super::model::{ArtiConfig, Config, LogConfig, PublishConfig};
use super::sections;
use super::services::{ServiceSpans, services};
use super::yaml::{self, Kind, Node};

/// The largest config file read: a config is a few KiB; this keeps a wrong path (a log, a disk
/// image) from being read into memory whole. Aliases are bounded separately (in nodes).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The top-level keys.
const TOP: &[&str] = &[
    "status-socket-location",
    "services",
    "arti",
    "tor-network",
    "publish",
    "log",
    "metrics",
];

/// Read and validate the config file at `path` (the key files are not read; see
/// [`super::load_with_keys`]).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    load_spanned(path).map(|(c, _)| c)
}

/// Validate config `text` read from `source` (used for messages and to resolve relative paths).
pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
    parse_spanned(text, source).map(|(c, _)| c)
}

pub(crate) fn load_spanned(path: &Path) -> Result<(Config, Vec<ServiceSpans>), ConfigError> {
    let single = |problem| {
        ConfigError::new(vec![Diagnostic {
            file: path.to_path_buf(),
            position: None,
            field: String::new(),
            problem,
        }])
    };
    let bytes = read_bounded(path).map_err(|e| single(Problem::Read(e)))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(single(Problem::Invalid(format!(
            "the file is larger than {} KiB: not a config file (a config with a thousand \
             backends is under 200 KiB)",
            MAX_CONFIG_BYTES / 1024
        ))));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        single(Problem::Invalid(
            "the file is not UTF-8 text (is it the key file instead of the config?)".into(),
        ))
    })?;
    parse_spanned(&text, path)
}

/// Read at most `MAX_CONFIG_BYTES + 1` bytes of `path` (one more than allowed, to tell).
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

pub(crate) fn parse_spanned(
    text: &str,
    source: &Path,
) -> Result<(Config, Vec<ServiceSpans>), ConfigError> {
    // A UTF-8 byte-order mark (some Windows editors write one) is not part of the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let absolute = std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf());
    let base_dir = absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let mut ctx = Ctx {
        file: source.to_path_buf(),
        base_dir,
        diagnostics: Vec::new(),
    };
    let docs = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => {
            ctx.report(Some(e.pos), "", Problem::Syntax(e.message));
            return Err(ConfigError::new(ctx.diagnostics));
        }
    };
    if let Some(extra) = docs.get(1) {
        ctx.bad(
            extra,
            "",
            Problem::Invalid(format!(
                "expected one YAML document, found {} (remove the `---` separators)",
                docs.len()
            )),
        );
        return Err(ConfigError::new(ctx.diagnostics));
    }
    let empty = Node {
        kind: Kind::Scalar {
            value: String::new(),
            plain: true,
        },
        pos: Position { line: 1, column: 1 },
    };
    let root = docs.first().unwrap_or(&empty);
    let result = top(&mut ctx, root, absolute);
    match result {
        Some(r) if ctx.diagnostics.is_empty() => Ok(r),
        _ => Err(ConfigError::new(ctx.diagnostics)),
    }
}

fn top(ctx: &mut Ctx, root: &Node, source: PathBuf) -> Option<(Config, Vec<ServiceSpans>)> {
    if !matches!(root.kind, Kind::Map(_)) && !root.is_null() {
        ctx.wrong_type(root, "", "a mapping with `services:` at the top");
        return None;
    }
    let mut f = Fields::new(ctx, root, "", TOP)?;
    let status_socket = f
        .take("status-socket-location")
        .and_then(|n| fields::path(ctx, n, "status-socket-location"));
    let services = f.require(ctx, "services").and_then(|n| services(ctx, n));
    let arti = match f.take("arti") {
        Some(n) => sections::arti(ctx, n),
        None => Some(ArtiConfig::default()),
    };
    let tor_network = f.take("tor-network").map(|n| sections::tor_network(ctx, n));
    let publish = match f.take("publish") {
        Some(n) => sections::publish(ctx, n),
        None => Some(PublishConfig::default()),
    };
    let log = match f.take("log") {
        Some(n) => sections::log(ctx, n),
        None => Some(LogConfig::default()),
    };
    let metrics = f.take("metrics").map(|n| sections::metrics(ctx, n));
    f.finish(ctx);
    let (services, spans) = services?;
    Some((
        Config {
            source,
            status_socket,
            services,
            arti: arti?,
            tor_network: tor_network.map(|t| t.ok_or(())).transpose().ok()?,
            publish: publish?,
            log: log?,
            metrics: metrics.map(|m| m.ok_or(())).transpose().ok()?,
        },
        spans,
    ))
}
