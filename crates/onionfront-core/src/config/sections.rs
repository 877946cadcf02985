//! The optional top-level sections of onionfront's own: `arti:`, `tor-network:`, `publish:`,
//! `log:` and `metrics:`, each read into its model type with defaults and range checks.

use std::time::Duration;

use base64::Engine as _;

use super::fields::{self, Ctx, Fields};
use super::model::{
    ArtiConfig, DistinctDescriptors, FallbackConfig, LogConfig, MetricsConfig, PublishConfig,
    TorNetworkConfig,
};
use super::yaml::Node;

/// Intro points in one descriptor: C tor clients reject more than 20.
pub(crate) const MAX_INTRO_POINTS: u64 = 20;

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// `arti:`.
pub(crate) fn arti(ctx: &mut Ctx, node: &Node) -> Option<ArtiConfig> {
    const KEYS: &[&str] = &[
        "state-dir",
        "cache-dir",
        "permissive-file-permissions",
        "memory-max",
    ];
    let mut f = Fields::new(ctx, node, "arti", KEYS)?;
    let mut out = ArtiConfig::default();
    let mut ok = true;
    if let Some(n) = f.take("state-dir") {
        match fields::path(ctx, n, &f.field("state-dir")) {
            Some(p) => out.state_dir = p,
            None => ok = false,
        }
    }
    if let Some(n) = f.take("cache-dir") {
        match fields::path(ctx, n, &f.field("cache-dir")) {
            Some(p) => out.cache_dir = p,
            None => ok = false,
        }
    }
    if let Some(n) = f.take("permissive-file-permissions") {
        match fields::boolean(ctx, n, &f.field("permissive-file-permissions")) {
            Some(b) => out.permissive_file_permissions = b,
            None => ok = false,
        }
    }
    if let Some(n) = f.take("memory-max") {
        // Arti refuses a quota whose low-water mark (3/4 of it) is under 160 KiB; 16 MiB keeps
        // far from that. Above 64 GiB is a typo.
        const MIB: u64 = 1024 * 1024;
        match fields::byte_size(ctx, n, &f.field("memory-max"), 16 * MIB, 64 * 1024 * MIB) {
            Some(b) => out.memory_max = b,
            None => ok = false,
        }
    }
    f.finish(ctx);
    ok.then_some(out)
}

/// `tor-network:`.
pub(crate) fn tor_network(ctx: &mut Ctx, node: &Node) -> Option<TorNetworkConfig> {
    const KEYS: &[&str] = &["authorities", "fallbacks", "hsdir-interval"];
    let mut f = Fields::new(ctx, node, "tor-network", KEYS)?;
    let mut ok = true;
    let mut authorities = Vec::new();
    if let Some(n) = f.require(ctx, "authorities") {
        let field = f.field("authorities");
        match fields::list(ctx, n, &field) {
            Some([]) => {
                ctx.invalid(
                    n,
                    &field,
                    "list at least one directory authority (its v3 identity, 40 hex characters)",
                );
                ok = false;
            }
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    match hex40(ctx, item, &format!("{field}[{i}]")) {
                        Some(h) => authorities.push(h),
                        None => ok = false,
                    }
                }
            }
            None => ok = false,
        }
    } else {
        ok = false;
    }
    let mut fallbacks = Vec::new();
    if let Some(n) = f.require(ctx, "fallbacks") {
        let field = f.field("fallbacks");
        match fields::list(ctx, n, &field) {
            Some([]) => {
                ctx.invalid(n, &field, "list at least one fallback directory cache");
                ok = false;
            }
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    match fallback(ctx, item, &format!("{field}[{i}]")) {
                        Some(fb) => fallbacks.push(fb),
                        None => ok = false,
                    }
                }
            }
            None => ok = false,
        }
    } else {
        ok = false;
    }
    let mut hsdir_interval = None;
    if let Some(n) = f.take("hsdir-interval") {
        // Arti's bounds for the `hsdir_interval` consensus parameter.
        match fields::integer(ctx, n, &f.field("hsdir-interval"), 5, 14400) {
            Some(v) => hsdir_interval = u32::try_from(v).ok(),
            None => ok = false,
        }
    }
    f.finish(ctx);
    ok.then_some(TorNetworkConfig {
        authorities,
        fallbacks,
        hsdir_interval,
    })
}

fn fallback(ctx: &mut Ctx, node: &Node, path: &str) -> Option<FallbackConfig> {
    const KEYS: &[&str] = &["rsa-identity", "ed-identity", "orport"];
    let mut f = Fields::new(ctx, node, path, KEYS)?;
    let rsa = f
        .require(ctx, "rsa-identity")
        .and_then(|n| hex40(ctx, n, &f.field("rsa-identity")));
    let ed = f
        .require(ctx, "ed-identity")
        .and_then(|n| ed_identity(ctx, n, &f.field("ed-identity")));
    let orport = f
        .require(ctx, "orport")
        .and_then(|n| fields::socket_addr(ctx, n, &f.field("orport")));
    f.finish(ctx);
    Some(FallbackConfig {
        rsa_identity: rsa?,
        ed_identity: ed?,
        orport: orport?,
    })
}

/// 40 hex characters (an RSA identity fingerprint), upper-cased; `$` and spaces are dropped.
fn hex40(ctx: &mut Ctx, node: &Node, field: &str) -> Option<String> {
    let s = fields::string(ctx, node, field)?;
    let h: String = s
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ' ')
        .collect::<String>()
        .to_ascii_uppercase();
    if h.len() != 40 || !h.chars().all(|c| c.is_ascii_hexdigit()) {
        ctx.invalid(
            node,
            field,
            format!(
                "expected 40 hex characters (a relay identity fingerprint), found `{}`",
                s.trim()
            ),
        );
        return None;
    }
    Some(h)
}

/// An Ed25519 identity in base64 (43 characters without padding; padding is dropped).
fn ed_identity(ctx: &mut Ctx, node: &Node, field: &str) -> Option<String> {
    let s = fields::string(ctx, node, field)?;
    let t = s.trim().trim_end_matches('=');
    let ok = t.len() == 43
        && base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(t)
            .is_ok_and(|b| b.len() == 32);
    if !ok {
        ctx.invalid(
            node,
            field,
            format!(
                "expected an Ed25519 identity in base64 (43 characters, no `=` padding), found `{}`",
                s.trim()
            ),
        );
        return None;
    }
    Some(t.to_string())
}

/// `distinct-descriptors: auto | off` (also `false` for off).
pub(crate) fn distinct(ctx: &mut Ctx, node: &Node, field: &str) -> Option<DistinctDescriptors> {
    match node.as_str().map(str::trim) {
        Some("auto") => Some(DistinctDescriptors::Auto),
        Some("off" | "false") => Some(DistinctDescriptors::Off),
        Some(other) if !node.is_null() => {
            ctx.invalid(
                node,
                field,
                format!("expected `auto` or `off`, found `{other}`"),
            );
            None
        }
        _ => {
            ctx.wrong_type(node, field, "`auto` or `off`");
            None
        }
    }
}

/// `publish:`.
pub(crate) fn publish(ctx: &mut Ctx, node: &Node) -> Option<PublishConfig> {
    const KEYS: &[&str] = &[
        "fetch-interval",
        "republish-interval",
        "stale-after",
        "intro-points-per-instance",
        "max-intro-points",
        "distinct-descriptors",
        "hsdir-timeout",
        "descriptor-lifetime",
        "offline-keys-warn",
    ];
    let mut f = Fields::new(ctx, node, "publish", KEYS)?;
    let mut out = PublishConfig::default();
    let mut ok = true;
    let mut given: Vec<(&str, &Node)> = Vec::new();
    macro_rules! set {
        ($key:literal, $target:expr, $read:expr) => {
            if let Some(n) = f.take($key) {
                given.push(($key, n));
                let field = f.field($key);
                match $read(&mut *ctx, n, field.as_str()) {
                    Some(v) => $target = v,
                    None => ok = false,
                }
            }
        };
    }
    set!("fetch-interval", out.fetch_interval, |c, n, p| {
        fields::duration(c, n, p, secs(1), secs(3600))
    });
    set!("republish-interval", out.republish_interval, |c, n, p| {
        fields::duration(c, n, p, secs(10), secs(12 * 3600))
    });
    set!("stale-after", out.stale_after, |c, n, p| {
        fields::duration(c, n, p, secs(10), secs(24 * 3600))
    });
    set!(
        "intro-points-per-instance",
        out.intro_points_per_instance,
        |c, n, p| fields::integer(c, n, p, 1, MAX_INTRO_POINTS).map(|v| v as u8)
    );
    set!("max-intro-points", out.max_intro_points, |c, n, p| {
        fields::integer(c, n, p, 1, MAX_INTRO_POINTS).map(|v| v as u8)
    });
    set!("distinct-descriptors", out.distinct_descriptors, distinct);
    set!("offline-keys-warn", out.offline_keys_warn, |c, n, p| {
        fields::duration(c, n, p, secs(0), secs(366 * 86_400))
    });
    set!("hsdir-timeout", out.hsdir_timeout, |c, n, p| {
        fields::duration(c, n, p, secs(1), secs(600))
    });
    set!(
        "descriptor-lifetime",
        out.descriptor_lifetime_minutes,
        |c, n, p| fields::integer(c, n, p, 30, 720).map(|v| v as u16)
    );
    f.finish(ctx);
    if !ok {
        return None;
    }
    // Cross-field checks, reported at the value given (or at the section).
    let at = |key: &str| {
        given
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(node, |(_, n)| *n)
    };
    let lifetime = secs(u64::from(out.descriptor_lifetime_minutes) * 60);
    if out.republish_interval >= lifetime {
        let n = if given.iter().any(|(k, _)| *k == "republish-interval") {
            at("republish-interval")
        } else {
            at("descriptor-lifetime")
        };
        ctx.invalid(
            n,
            "publish.republish-interval",
            format!(
                "{} is not shorter than the descriptor lifetime ({} minutes): descriptors would \
                 expire on the HSDirs before being republished",
                humantime::format_duration(out.republish_interval),
                out.descriptor_lifetime_minutes
            ),
        );
        return None;
    }
    if out.stale_after <= out.fetch_interval {
        let n = if given.iter().any(|(k, _)| *k == "stale-after") {
            at("stale-after")
        } else {
            at("fetch-interval")
        };
        ctx.invalid(
            n,
            "publish.stale-after",
            format!(
                "{} must be longer than publish.fetch-interval ({}), or every backend looks stale",
                humantime::format_duration(out.stale_after),
                humantime::format_duration(out.fetch_interval)
            ),
        );
        return None;
    }
    Some(out)
}

/// `log:`.
pub(crate) fn log(ctx: &mut Ctx, node: &Node) -> Option<LogConfig> {
    const KEYS: &[&str] = &["level", "backend-addresses"];
    let mut f = Fields::new(ctx, node, "log", KEYS)?;
    let mut out = LogConfig::default();
    if let Some(n) = f.take("backend-addresses") {
        out.backend_addresses = fields::boolean(ctx, n, &f.field("backend-addresses"))?;
    }
    if let Some(n) = f.take("level") {
        let field = f.field("level");
        let s = fields::string(ctx, n, &field)?;
        match log_filter(s.trim()) {
            Ok(level) => out.level = level,
            Err(e) => {
                ctx.invalid(n, &field, e);
                return None;
            }
        }
    }
    f.finish(ctx);
    Some(out)
}

/// A `tracing` filter from a level or filter directive; Onionbalance's level names (`warning`,
/// `critical`) are accepted and translated.
pub fn log_filter(s: &str) -> Result<String, String> {
    let level = match s.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "critical" => "error",
        "off" => "off",
        _ => "",
    };
    if !level.is_empty() {
        return Ok(level.to_string());
    }
    // A lone word that is not a level would be taken by `tracing` as a target name ("log
    // everything from target `infoo`"): almost always a misspelt level, so it is refused. A target
    // on its own is written `target=trace`.
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
        let hint = match super::suggest::did_you_mean(s, LEVELS) {
            Some(level) => format!(" (did you mean `{level}`?)"),
            None => String::new(),
        };
        return Err(format!(
            "`{s}` is not a log level: use trace, debug, info, warn, error or off{hint}, or a \
             tracing filter like `onionfront=debug,info`"
        ));
    }
    tracing_subscriber::EnvFilter::builder()
        .parse(s)
        .map(|_| s.to_string())
        .map_err(|e| {
            format!(
                "`{s}` is not a log level (trace, debug, info, warn, error) or a tracing filter \
                 like `onionfront=debug,info`: {e}"
            )
        })
}

/// `metrics:`.
pub(crate) fn metrics(ctx: &mut Ctx, node: &Node) -> Option<MetricsConfig> {
    const KEYS: &[&str] = &["listen", "backend-addresses"];
    let mut f = Fields::new(ctx, node, "metrics", KEYS)?;
    let n = f.require(ctx, "listen");
    let field = f.field("listen");
    let backend_addresses = match f.take("backend-addresses") {
        Some(b) => fields::boolean(ctx, b, &f.field("backend-addresses")),
        None => Some(false),
    };
    f.finish(ctx);
    let n = n?;
    let listen = fields::socket_addr(ctx, n, &field)?;
    if !listen.ip().is_loopback() {
        ctx.invalid(
            n,
            &field,
            format!(
                "{listen} is not a loopback address: the metrics endpoint has no authentication, \
                 so it listens on 127.0.0.1 or [::1] only (use a reverse proxy to expose it)"
            ),
        );
        return None;
    }
    Some(MetricsConfig {
        listen,
        backend_addresses: backend_addresses?,
    })
}
