//! `onionfront init`'s layouts and its errors on a bad `--output`: the system layout names the
//! packaged unit's folders, the local one keeps everything next to the config; a file or an
//! uncreatable folder as `--output` gives one clear message; port 0 is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_onionfront");

fn init(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("init")
        .args(args)
        .env_remove("ONIONFRONT_CONFIG")
        .env_remove("ONIONBALANCE_CONFIG")
        .output()
        .expect("running onionfront init");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn system_layout_names_the_units_folders_and_local_keeps_them_inside() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("system");
    let (code, out, err) = init(&["-o", system.to_str().unwrap(), "--layout", "system"]);
    assert_eq!(code, 0, "{err}");
    let yaml = std::fs::read_to_string(system.join("config.yaml")).unwrap();
    for line in [
        "status-socket-location: /run/onionfront/control",
        "  state-dir: /var/lib/onionfront/state",
        "  cache-dir: /var/cache/onionfront",
    ] {
        assert!(yaml.contains(line), "{line} missing in:\n{yaml}");
    }
    // Not root, or no onionfront user here: the summary says what to run.
    let is_root = is_root_user();
    let has_user = std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("onionfront:"));
    if !(is_root && has_user) {
        assert!(out.contains("chown -R onionfront:onionfront"), "{out}");
    }

    let local = dir.path().join("local");
    let (code, _, err) = init(&["-o", local.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let yaml = std::fs::read_to_string(local.join("config.yaml")).unwrap();
    for line in [
        "status-socket-location: status.sock",
        "  state-dir: arti/state",
        "  cache-dir: arti/cache",
    ] {
        assert!(yaml.contains(line), "{line} missing in:\n{yaml}");
    }
    // Both load as they are (placeholders aside, which `check` reports).
    assert!(yaml.contains("<backend-1 onion address>"));
}

#[test]
fn a_bad_output_folder_gives_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    std::fs::write(&file, "x").unwrap();
    let (code, out, err) = init(&["-o", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err.trim(),
        format!(
            "onionfront: error: --output {}: exists and is not a folder",
            file.display()
        )
    );
    let under_file = file.join("sub");
    let (code, _, err) = init(&["-o", under_file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with(&format!(
            "onionfront: error: cannot create the folder {}: ",
            under_file.display()
        )),
        "{err}"
    );
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

#[test]
fn port_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = init(&["-o", dir.path().join("x").to_str().unwrap(), "--port", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("0 is not in 1..=65535"), "{err}");
    assert!(!dir.path().join("x").exists());
}

/// Whether this test runs as root (without a libc dependency: /proc/self/status).
fn is_root_user() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0")
}
