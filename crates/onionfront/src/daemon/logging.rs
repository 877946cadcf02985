//! Logging setup for the daemon: one line per event on stderr (journald adds the time when run
//! under systemd), with the level from `--log-level`, then `ONIONFRONT_LOG`, then the config's
//! `log.level`.

use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;

/// Install the global subscriber with `directive` (from `--log-level` or the config); without
/// the flag, `ONIONFRONT_LOG` overrides the config. Arti's own crates stay at `warn` unless named.
///
/// On a private network (`private_network`), Arti's relay-selection warnings about a tiny
/// network (a few relays, no exits: no preemptive exit circuits) are expected and silenced.
pub fn init(directive: &str, from_flag: bool, private_network: bool) -> Result<()> {
    let directive = if from_flag {
        directive.to_string()
    } else {
        std::env::var("ONIONFRONT_LOG")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| directive.to_string())
    };
    let mut filter = EnvFilter::try_new(&directive).with_context(|| {
        format!("invalid log level {directive:?} (e.g. info, debug, onionfront=debug)")
    })?;
    if !directive.contains("tor_") && !directive.contains("arti") {
        for quiet in [
            "tor_circmgr=warn",
            "tor_guardmgr=warn",
            "tor_dirmgr=warn",
            "tor_chanmgr=warn",
            "tor_proto=warn",
            "arti_client=warn",
        ] {
            if let Ok(d) = quiet.parse() {
                filter = filter.add_directive(d);
            }
        }
        if private_network {
            for quiet in ["tor_netdir=error", "tor_circmgr=error"] {
                if let Ok(d) = quiet.parse() {
                    filter = filter.add_directive(d);
                }
            }
        }
    }
    // Arti's client builder starts from a default config (arti-client 0.47 `TorClientBuilder::new`)
    // whose memory quota is "auto", and building it reads the machine's memory, which the unit's
    // sandbox hides: "Unable to get the total available memory". That config is replaced at once
    // by onionfront's, whose quota is always explicit (`arti.memory-max`), so the warning is about
    // nothing; Arti's "Memory quota tracking initialised max=..." line shows the quota in force.
    if let Ok(d) = "tor_memquota::config=error".parse() {
        filter = filter.add_directive(d);
    }
    let under_journal = std::env::var_os("JOURNAL_STREAM").is_some();
    // Colour codes only on a terminal: the journal and log files get plain text.
    let ansi = !under_journal && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    let result = if under_journal {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
    // Already installed (e.g. by tests): keep the existing one.
    let _ = result;
    Ok(())
}
