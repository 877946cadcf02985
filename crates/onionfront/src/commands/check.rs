//! `onionfront check`: load the config and its keys exactly as the daemon would, and either list
//! the services (exit 0) or print every problem to stderr (exit 1).
//!
//! With a key bundle (offline keys) it prints the covered range, and a warning line when less
//! than `publish.offline-keys-warn` of it is left (still exit 0: the daemon would run; a bundle
//! that has ended is a problem, exit 1).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use onionfront_core::config::{self, LoadedConfig};

use crate::cli::{self, CheckArgs};

/// Outcome of a check: `Ok` with the report for stdout, or `Err` with the problems for stderr.
pub fn check(args: &CheckArgs) -> Result<String, String> {
    match config::load_with_keys(&args.config) {
        Ok(loaded) => Ok(report(
            &args.config.display().to_string(),
            &loaded,
            SystemTime::now(),
        )),
        Err(e) => {
            let n = e.diagnostics().len();
            let mut msg = e.to_string();
            let _ = write!(
                msg,
                "\n{}: {n} problem{}; onionfront would not start with this config.",
                args.config.display(),
                if n == 1 { "" } else { "s" }
            );
            Err(msg)
        }
    }
}

fn report(file: &str, loaded: &LoadedConfig, now: SystemTime) -> String {
    let c = &loaded.config;
    let mut out = String::new();
    let _ = writeln!(out, "{file}: OK");
    for (i, (service, key)) in loaded.services().enumerate() {
        let _ = writeln!(out, "service {}: {}", i + 1, key.address());
        let _ = writeln!(out, "  key: {} ({key})", service.key.display());
        if let Some(bundle) = key.bundle() {
            coverage(&mut out, bundle, now, c.publish.offline_keys_warn);
        }
        let _ = writeln!(out, "  backends ({}):", service.instances.len());
        for inst in &service.instances {
            match &inst.name {
                Some(name) => {
                    let _ = writeln!(out, "    {}  ({name})", inst.address);
                }
                None => {
                    let _ = writeln!(out, "    {}", inst.address);
                }
            }
        }
        if let Some(h) = &service.health_check {
            let _ = writeln!(
                out,
                "  health check: port {} every {}, timeout {}, down after {} failures",
                h.port,
                humantime::format_duration(h.interval),
                humantime::format_duration(h.timeout),
                h.failures
            );
        }
        if !service.authorized_clients.is_empty() {
            let _ = writeln!(
                out,
                "  restricted discovery: {} authorized client(s)",
                service.authorized_clients.len()
            );
        }
    }
    match cli::status_socket_path(c) {
        Some(p) => {
            let _ = writeln!(
                out,
                "status socket: {} (from {})",
                p.display(),
                cli::status_socket_origin(c)
            );
        }
        None => {
            let _ = writeln!(out, "status socket: none (set status-socket-location)");
        }
    }
    let _ = writeln!(
        out,
        "tor network: {}",
        if c.tor_network.is_some() {
            "private (tor-network:)"
        } else {
            "the real Tor network"
        }
    );
    if let Some(m) = &c.metrics {
        let _ = writeln!(out, "metrics: {}", m.listen);
    }
    out
}

/// The range a key bundle covers, and a warning when less than `warn` is left.
fn coverage(
    out: &mut String,
    bundle: &onionfront_core::keys::KeyBundle,
    now: SystemTime,
    warn: Duration,
) {
    let end = bundle.coverage_end();
    let left = end.duration_since(now).unwrap_or_default();
    // Whole minutes: seconds would be noise next to days.
    let left_text = humantime::format_duration(Duration::from_secs(left.as_secs() / 60 * 60));
    let _ = writeln!(
        out,
        "  covers: {} to {} (UTC), {left_text} left",
        humantime::format_rfc3339_seconds(bundle.coverage_start()),
        humantime::format_rfc3339_seconds(end),
    );
    if left < warn {
        let _ = writeln!(
            out,
            "  warning: the key bundle ends in less than publish.offline-keys-warn ({}): \
             provision a new one and reload (docs/offline-keys.md)",
            humantime::format_duration(warn)
        );
    }
}
