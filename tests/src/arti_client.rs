//! An Arti client in the end-to-end tests (issue #14): runs onionfront-arti's
//! `arti_client_get` example, which bootstraps an embedded Arti client on this private network
//! and opens isolated connections to a main address, and reads what each connection got.
//!
//! The example is found at env `ONIONFRONT_ARTI_CLIENT`, else `<target>/debug/examples/
//! arti_client_get` (built by `cargo test --workspace --all-features --no-run`, as CI does, or
//! `cargo build --workspace --all-features --examples`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};

use crate::process::{ProcGuard, tail};

/// What the connections got.
#[derive(Debug, Clone, Default)]
pub struct ArtiOutcome {
    /// Answers by body (the backend's name).
    pub answers: BTreeMap<String, usize>,
    /// Errors, in order.
    pub errors: Vec<String>,
}

impl ArtiOutcome {
    /// Successful connections.
    pub fn successes(&self) -> usize {
        self.answers.values().sum()
    }
}

impl std::fmt::Display for ArtiOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ok, {} failed, answers {:?}",
            self.successes(),
            self.errors.len(),
            self.answers
        )?;
        if let Some(e) = self.errors.first() {
            write!(f, ", first error: {e}")?;
        }
        Ok(())
    }
}

/// The example binary.
pub fn binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ONIONFRONT_ARTI_CLIENT") {
        return Ok(PathBuf::from(p));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::onionfront::workspace_root().join("target"));
    let p = target
        .join("debug")
        .join("examples")
        .join("arti_client_get");
    if p.is_file() {
        Ok(p)
    } else {
        Err(anyhow!(
            "{} not found: build it with `cargo build --workspace --all-features --examples`",
            p.display()
        ))
    }
}

/// `count` isolated connections to `address` through a fresh Arti client whose network comes
/// from the onionfront config `config`, with its state in `dir`; gives up after `timeout`
/// (the process is stopped by its PID).
pub fn get_isolated(
    config: &Path,
    dir: &Path,
    address: &str,
    count: usize,
    timeout: Duration,
) -> Result<ArtiOutcome> {
    crate::torrc::mkdir_private(dir)?;
    let log = dir.join("arti_client_get.log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = Command::new(binary()?);
    cmd.arg(config).arg(dir).arg(address).arg(count.to_string());
    let mut proc = ProcGuard::spawn("arti-client", cmd, &log)?;
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = proc.exit_status() {
            break st;
        }
        if t0.elapsed() > timeout {
            let _ = proc.stop();
            bail!(
                "the Arti client did not finish within {timeout:?}; log tail:\n{}",
                tail(&log, 20)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !status.success() {
        bail!(
            "the Arti client failed ({status}); log tail:\n{}",
            tail(&log, 20)
        );
    }
    let text = std::fs::read_to_string(&log)?;
    let mut out = ArtiOutcome::default();
    for line in text.lines() {
        if let Some(body) = line.strip_prefix("ok ") {
            *out.answers.entry(body.to_owned()).or_default() += 1;
        } else if let Some(e) = line.strip_prefix("err ") {
            out.errors.push(e.to_owned());
        }
    }
    Ok(out)
}
