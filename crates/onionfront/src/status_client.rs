//! `onionfront status`: read the daemon's status socket and print a table (or the JSON as is).
//! Exits non-zero when a service is not published or has no live backend, so it doubles as a
//! monitoring check.

use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use onionfront_publish::StatusReport;

use crate::cli::StatusArgs;

/// Query the socket, print, and fail when unhealthy.
pub async fn run(args: StatusArgs) -> Result<()> {
    let path = args.socket_path();
    let mut stream = UnixStream::connect(&path).with_context(|| {
        format!(
            "cannot connect to the status socket {} (is onionfront running, and is \
             status-socket-location or ONIONFRONT_STATUS_SOCKET set to this path?)",
            path.display()
        )
    })?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .context("cannot set a read timeout on the status socket")?;
    let mut body = String::new();
    stream
        .read_to_string(&mut body)
        .with_context(|| format!("cannot read from {}", path.display()))?;
    let report: StatusReport = serde_json::from_str(&body)
        .with_context(|| format!("{} did not answer with a status document", path.display()))?;
    if args.json {
        println!("{body}");
    } else {
        print!("{}", render(&report));
    }
    let unhealthy: Vec<String> = report
        .services
        .iter()
        .filter(|s| s.state != onionfront_publish::PublishState::Published || s.live_backends == 0)
        .map(|s| format!("{} is {} ({})", s.onion_address, s.state, s.message))
        .collect();
    if report.services.is_empty() {
        bail!("no service is running yet");
    }
    if !unhealthy.is_empty() {
        bail!("{}", unhealthy.join("; "));
    }
    Ok(())
}

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

fn short_onion(a: &str) -> String {
    match a.get(..8) {
        Some(p) => format!("{p}….onion"),
        None => a.to_string(),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n.saturating_sub(1)).collect::<String>() + "…"
    }
}
