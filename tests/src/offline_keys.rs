//! Offline keys in the end-to-end tests: provisioning a key bundle with `onionfront keys
//! provision` for this network's time periods, checking that a folder holds no identity secret,
//! reading a service's key coverage from the status document, and `onionfront status`'s verdict.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

use crate::Network;

/// Write a key bundle of the identity key `key` into `out` (replacing it atomically if it
/// exists: a new file beside it, renamed over it), for `periods` time periods of this network
/// starting with the one at `from` (RFC 3339; `None`: now).
pub fn provision(
    binary: &Path,
    net: &Network,
    key: &Path,
    out: &Path,
    from: Option<&str>,
    periods: u32,
) -> Result<String> {
    let fresh = out.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    let mut cmd = Command::new(binary);
    cmd.arg("keys")
        .arg("provision")
        .arg("--key")
        .arg(key)
        .arg("--out")
        .arg(&fresh)
        .arg("--periods")
        .arg(periods.to_string())
        .arg("--hsdir-interval")
        .arg(net.hsdir_interval_minutes().to_string())
        .arg("--voting-interval")
        .arg(net.voting_interval().to_string());
    if let Some(from) = from {
        cmd.arg("--from").arg(from);
    }
    let output = cmd.output().context("running onionfront keys provision")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "onionfront keys provision failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::rename(&fresh, out).context("replacing the bundle")?;
    Ok(stdout)
}

/// Fail if any file under `dir` holds the identity secret: C tor's secret key header, or the
/// 64 secret bytes of `secret_key_file` (a C tor `hs_ed25519_secret_key`).
pub fn assert_no_identity_secret(dir: &Path, secret_key_file: &Path) -> Result<usize> {
    let key = std::fs::read(secret_key_file)?;
    let secret = key.get(32..96).context("short key file")?.to_vec();
    let mut checked = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let path = entry.path();
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let data = std::fs::read(&path)?;
                if data.windows(18).any(|w| w == b"ed25519v1-secret: ")
                    || data.windows(secret.len()).any(|w| w == secret.as_slice())
                {
                    bail!("{} holds the identity secret key", path.display());
                }
                checked += 1;
            }
        }
    }
    Ok(checked)
}

/// `keyCoverage` of the service at `address` (`covered`, `ending`, `not-covered`).
pub fn key_coverage(status: &Value, address: &str) -> Option<String> {
    service_json(status, address)?
        .get("keyCoverage")?
        .as_str()
        .map(str::to_owned)
}

/// Per period of the service at `address`: (number, no key, HSDirs accepted, HSDirs total).
pub fn periods(status: &Value, address: &str) -> Vec<(u64, bool, u64, u64)> {
    let Some(svc) = service_json(status, address) else {
        return Vec::new();
    };
    svc.get("periods")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let n = |k: &str| p.get(k).and_then(Value::as_u64).unwrap_or(0);
                    let no_key = p.get("noKey").and_then(Value::as_bool).unwrap_or(false);
                    (n("timePeriod"), no_key, n("accepted"), n("total"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn service_json<'a>(status: &'a Value, address: &str) -> Option<&'a Value> {
    crate::status::services(status)
        .iter()
        .find(|s| s.get("onionAddress").and_then(Value::as_str) == Some(address))
}

/// `onionfront status --config CONFIG --format nagios`: exit code and output line.
pub fn status_verdict(binary: &Path, config: &Path) -> Result<(i32, String)> {
    let out = Command::new(binary)
        .arg("status")
        .arg("--config")
        .arg(config)
        .arg("--format")
        .arg("nagios")
        .output()
        .context("running onionfront status")?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    ))
}
