//! The table `onionfront status` prints for people (the default `--format table`): the daemon
//! line, then per service its state (and a key bundle's coverage), its backends and, per time period, the HSDir uploads that
//! are not accepted.

use std::fmt::Write as _;

use onionfront_publish::StatusReport;

use super::check::short_onion;

/// The human-readable table.
pub fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    if let Some(d) = &report.daemon {
        let _ = writeln!(
            out,
            "onionfront {}  bootstrap: {}  config: {}",
            d.version,
            d.bootstrap,
            d.config.as_deref().unwrap_or("-")
        );
    }
    for s in &report.services {
        let _ = writeln!(
            out,
            "\nSERVICE {}  {}  ({}/{} backends live)",
            s.onion_address,
            s.state.as_str().to_uppercase(),
            s.live_backends,
            s.instances.len()
        );
        let _ = writeln!(out, "  {}", s.message);
        if let Some(end) = &s.key_coverage_end {
            let _ = writeln!(out, "  keys: bundle until {end} ({})", s.key_coverage);
        }
        let _ = writeln!(
            out,
            "  {:<28} {:<8} {:<21} {:>10} {:>9}  REASON",
            "BACKEND", "HEALTH", "LAST DESCRIPTOR", "REVISION", "INTROS"
        );
        for i in &s.instances {
            let short = short_onion(&i.onion_address);
            let label = match &i.name {
                Some(n) => format!("{n} {short}"),
                None => short,
            };
            let _ = writeln!(
                out,
                "  {:<28} {:<8} {:<21} {:>10} {:>9}  {}",
                truncate(&label, 28),
                i.health,
                i.descriptor_received.as_deref().unwrap_or("never"),
                i.revision_counter
                    .map_or("-".to_string(), |r| r.to_string()),
                format!(
                    "{}/{}",
                    i.intro_points_published,
                    i.intro_points_num
                        .map_or("-".to_string(), |n| n.to_string())
                ),
                i.reason
            );
        }
        for p in &s.periods {
            let _ = writeln!(
                out,
                "  period {}: revision {}, {} intro points in {} descriptor(s), built {} ({}); HSDirs accepted {}/{}",
                p.time_period,
                p.revision_counter
                    .map_or("-".to_string(), |r| r.to_string()),
                p.intro_points,
                p.descriptors,
                p.last_built.as_deref().unwrap_or("never"),
                p.last_reason.as_deref().unwrap_or("-"),
                p.accepted,
                p.total
            );
            for h in p
                .hsdirs
                .iter()
                .filter(|h| h.state != onionfront_publish::UploadState::Accepted)
            {
                let _ = writeln!(
                    out,
                    "    {} {} after {} attempt(s): {}",
                    h.hsdir,
                    h.state,
                    h.attempts,
                    h.last_error.as_deref().unwrap_or("-")
                );
            }
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).collect::<String>() + "…"
    }
}
