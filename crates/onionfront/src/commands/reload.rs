//! `onionfront reload`: make a running daemon reload its configuration, and wait for the outcome.
//! It is what the systemd unit's `ExecReload=` runs, so that `systemctl reload onionfront` needs no
//! `kill` binary (a minimal Debian root has none) and fails when the daemon refuses the new
//! configuration.
//!
//! The rules:
//! - the process to signal is `--pid` (systemd passes `$MAINPID`), else the `pid` the status socket
//!   reports;
//! - before signalling, the daemon's reload count is read from its status socket; after SIGHUP,
//!   the socket is polled until the count grows. The reload is then reported as applied, or as
//!   refused with the daemon's reason (exit 1);
//! - without a reachable status socket the signal is still sent (with `--pid`), and the outcome is
//!   unknown: a warning says so and the exit code is 0, since the daemon did get the signal;
//! - no answer within `--timeout`: exit 1.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use onionfront_publish::status::DaemonStatus;

use crate::cli::ReloadArgs;

/// How often the status socket is asked while waiting.
const POLL: Duration = Duration::from_millis(200);

/// How long one question to the status socket may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

/// Run `onionfront reload`.
pub async fn run(args: ReloadArgs) -> Result<()> {
    let socket = args.socket_path();
    let before = daemon_status(&socket).await;
    let pid = match (args.pid, &before) {
        (Some(pid), _) => pid,
        (None, Ok(d)) => d.pid.with_context(|| {
            format!(
                "the daemon at {} does not report its process ID; give --pid",
                socket.display()
            )
        })?,
        (None, Err(e)) => {
            return Err(anyhow::anyhow!("{e:#}"))
                .context("cannot find the daemon to reload: give --pid, or --socket");
        }
    };
    let raw = i32::try_from(pid).with_context(|| format!("--pid {pid} is not a process ID"))?;
    kill(Pid::from_raw(raw), Signal::SIGHUP)
        .with_context(|| format!("cannot send SIGHUP to process {pid}"))?;
    let Ok(before) = before else {
        eprintln!(
            "onionfront: sent SIGHUP to {pid}; the status socket {} cannot be read, so whether the \
             new configuration was applied is unknown (see the daemon's log)",
            socket.display()
        );
        return Ok(());
    };
    let deadline = Instant::now() + args.timeout;
    loop {
        tokio::time::sleep(POLL).await;
        if let Ok(now) = daemon_status(&socket).await
            && now.reloads > before.reloads
        {
            return match now.last_reload_error {
                None => {
                    println!(
                        "onionfront: configuration reloaded ({})",
                        now.config.as_deref().unwrap_or("-")
                    );
                    Ok(())
                }
                Some(reason) => bail!("{reason}"),
            };
        }
        if Instant::now() >= deadline {
            bail!(
                "sent SIGHUP to {pid}, but the daemon did not report a reload within {} (see its log)",
                humantime::format_duration(args.timeout)
            );
        }
    }
}

/// The daemon part of the status document at `socket` (asked as `onionfront status` does).
async fn daemon_status(socket: &Path) -> Result<DaemonStatus> {
    let (_, report) = crate::status_client::query(socket, "--socket", ASK_TIMEOUT)
        .await
        .map_err(|verdict| anyhow::anyhow!("{}", verdict.summary))?;
    report
        .daemon
        .with_context(|| format!("{} did not report the daemon's state", socket.display()))
}
