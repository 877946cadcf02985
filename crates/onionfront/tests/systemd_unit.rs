//! `systemd/onionfront.service`: it says what docs/operations.md promises (notify with watchdog,
//! reload by SIGHUP, its own user and directories, strict sandboxing), its commands are ones
//! this binary accepts, and, where `systemd-analyze` is installed (`scripts/test` installs it),
//! systemd itself finds no error in it and rates its exposure below 2.0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_onionfront");

fn unit_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../systemd/onionfront.service")
}

/// Every `Key=value` of the `[Service]` section, in order (keys may repeat).
fn service_settings() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(unit_path()).unwrap();
    let mut section = String::new();
    let mut out = vec![];
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            section = line.to_owned();
        } else if section == "[Service]" {
            let (k, v) = line.split_once('=').expect("Key=value");
            out.push((k.to_owned(), v.to_owned()));
        }
    }
    out
}

fn values(settings: &[(String, String)], key: &str) -> Vec<String> {
    settings
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

fn one(settings: &[(String, String)], key: &str) -> String {
    let v = values(settings, key);
    assert_eq!(v.len(), 1, "{key}= set once in the unit: {v:?}");
    v[0].clone()
}

#[test]
fn the_unit_says_what_the_operations_guide_promises() {
    let s = service_settings();
    assert_eq!(one(&s, "Type"), "notify");
    assert_eq!(one(&s, "NotifyAccess"), "main");
    assert!(!one(&s, "WatchdogSec").is_empty());
    // No kill(1): a minimal Debian root has no procps.
    assert_eq!(
        one(&s, "ExecReload"),
        "/usr/bin/onionfront reload --pid $MAINPID"
    );
    assert_eq!(one(&s, "User"), "onionfront");
    for dir in [
        "StateDirectory",
        "CacheDirectory",
        "RuntimeDirectory",
        "ConfigurationDirectory",
    ] {
        assert_eq!(one(&s, dir), "onionfront", "{dir}");
    }
    let socket = one(&s, "Environment");
    assert_eq!(
        socket, "ONIONFRONT_STATUS_SOCKET=/run/onionfront/control",
        "status socket in the RuntimeDirectory"
    );
    for (key, want) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("MemoryDenyWriteExecute", "yes"),
    ] {
        assert_eq!(one(&s, key), want, "{key}");
    }
    assert!(
        values(&s, "SystemCallFilter").contains(&"@system-service".to_owned()),
        "SystemCallFilter=@system-service"
    );
}

/// The unit's `ExecStartPre`/`ExecStart` command lines, as this binary's CLI parses them: each is
/// run with `--help` appended, which clap answers (exit 0) only if everything before it parses.
#[test]
fn the_unit_commands_parse_with_this_binary() {
    let s = service_settings();
    let pre = one(&s, "ExecStartPre");
    let start = one(&s, "ExecStart");
    // systemd substitutes $MAINPID before running the command.
    let reload = one(&s, "ExecReload").replace("$MAINPID", "1");
    assert!(
        pre.contains(" check --quiet -c /etc/onionfront/config.yaml"),
        "{pre}"
    );
    assert!(
        start.contains(" run -c /etc/onionfront/config.yaml"),
        "{start}"
    );
    for cmd in [pre, start, reload] {
        let mut words = cmd.split_whitespace();
        assert_eq!(words.next(), Some("/usr/bin/onionfront"), "{cmd}");
        let out = Command::new(BIN)
            .args(words)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn systemd_analyze() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("systemd-analyze"))
        .find(|p| p.is_file())
}

/// `systemd-analyze verify` on a copy of the unit that runs this build's binary: no unknown key,
/// bad value or missing executable (it prints those as warnings and still exits 0, so any output
/// fails the test).
#[test]
fn systemd_analyze_verify_finds_nothing() {
    let Some(sa) = systemd_analyze() else {
        eprintln!("systemd-analyze not installed (apt-get install systemd): not checked");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("onionfront.service");
    let text = std::fs::read_to_string(unit_path())
        .unwrap()
        .replace("/usr/bin/onionfront", BIN);
    std::fs::write(&copy, text).unwrap();
    // `--man=no`: the unit's `Documentation=man:...` pages come with the Debian package, not
    // with this build (the package's contents are checked by the systemd end-to-end scenario).
    let out = Command::new(sa)
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.trim().is_empty(), "systemd-analyze verify: {said}");
}

/// `systemd-analyze security --offline=yes`: the overall exposure is at most 1.9 (the issue's
/// target is below 2.0; docs/operations.md records the figure).
#[test]
fn systemd_analyze_security_exposure_below_2() {
    let Some(sa) = systemd_analyze() else {
        eprintln!("systemd-analyze not installed (apt-get install systemd): not checked");
        return;
    };
    let out = Command::new(sa)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(unit_path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall exposure in: {text}"));
    let figure: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable: {line}"));
    eprintln!("{}", line.trim());
    assert!(figure < 2.0, "{line}");
}
