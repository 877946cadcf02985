//! The Debian package under test: env `ONIONFRONT_DEB` if set, else made once per process by
//! `scripts/package --no-build --profile dev` from the binary the tests use (no extra
//! compilation; see [`crate::onionfront::binary`]).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};

/// The `.deb` to install.
pub fn deb() -> Result<PathBuf> {
    static DEB: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    DEB.get_or_init(|| {
        if let Some(p) = std::env::var_os("ONIONFRONT_DEB") {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(format!("ONIONFRONT_DEB={} is not a file", p.display()))
            };
        }
        build().map_err(|e| format!("{e:#}"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// Build the binary if needed, then package it with `scripts/package`; the last line of its
/// output is the `.deb`'s path.
fn build() -> Result<PathBuf> {
    crate::onionfront::binary()?;
    let root = crate::onionfront::workspace_root();
    eprintln!("[harness] packaging onionfront (scripts/package --no-build --profile dev)");
    let out = Command::new(root.join("scripts/package"))
        .args(["--no-build", "--profile", "dev"])
        .current_dir(&root)
        .output()
        .context("running scripts/package")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "scripts/package failed ({}):\n{}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let last = stdout.lines().last().unwrap_or_default().trim();
    let path = if PathBuf::from(last).is_absolute() {
        PathBuf::from(last)
    } else {
        root.join(last)
    };
    if !path.is_file() {
        bail!("scripts/package printed {last:?}, which is not a file");
    }
    Ok(path)
}
