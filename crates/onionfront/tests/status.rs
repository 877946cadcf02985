//! `onionfront status` as a monitoring check, against fake status sockets: the exit codes of
//! the Nagios plugin convention in every format, the JSON error object and the monitoring line
//! when the daemon cannot be reached, `--timeout`, permission denied, and a command line error.
//! (A real daemon's socket is queried in tests/daemon.rs and in the e2e suite.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

const BIN: &str = env!("CARGO_BIN_EXE_onionfront");
const ADDR: &str = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz234567.onion";

fn status(socket: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("status")
        .arg("--socket")
        .arg(socket)
        .args(extra)
        .env_remove("ONIONFRONT_CONFIG")
        .env_remove("ONIONBALANCE_CONFIG")
        .env_remove("ONIONFRONT_STATUS_SOCKET")
        .env_remove("ONIONBALANCE_STATUS_SOCKET_LOCATION");
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A socket that answers `body` to every client, from a thread.
fn serve(path: &Path, body: String) {
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(body.as_bytes());
        }
    });
}

/// A status document: one service with `backends` (name, health), started an hour ago.
fn document(state: &str, backends: &[(&str, &str)]) -> String {
    let started = humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(3600));
    let instances: Vec<serde_json::Value> = backends
        .iter()
        .map(|(name, health)| {
            serde_json::json!({"onionAddress": ADDR, "name": name, "health": health,
                "reason": "-", "revisionCounter": 1, "revisionAdvanced": null, "lastFetch": null,
                "lastFetchResult": null, "introPointsPublished": 2})
        })
        .collect();
    let live = backends.iter().filter(|b| b.1 == "live").count();
    let hsdirs: Vec<serde_json::Value> = (0..4)
        .map(|i| {
            serde_json::json!({"hsdir": format!("${i}"), "descriptor": 0, "state": "accepted",
            "attempts": 1, "lastAttempt": null, "lastAccepted": null, "lastError": null})
        })
        .collect();
    serde_json::json!({
        "services": [{"onionAddress": ADDR, "publishAttemptFirstDescriptor": null,
            "publishAttemptSecondDescriptor": null, "instances": instances, "state": state,
            "message": format!("it is {state}"), "liveBackends": live,
            "periods": [{"timePeriod": 1, "periodStart": null, "revisionCounter": 5,
                "introPoints": 4, "descriptors": 1, "lastBuilt": "2026-01-01T00:00:00Z",
                "lastReason": "x", "accepted": 4, "total": 4, "hsdirs": hsdirs}]}],
        "daemon": {"version": "0.1.0", "started": started.to_string(), "bootstrap": "100%: done",
            "consensusValidAfter": null, "config": null, "configLoaded": null},
    })
    .to_string()
}

#[test]
fn healthy_is_ok_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s");
    let body = document("published", &[("b1", "live"), ("b2", "live")]);
    serve(&sock, body.clone());
    let (code, out, err) = run(&mut status(&sock, &["--format", "nagios"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "ONIONFRONT OK - services published 1/1, backends live 2/2, hsdirs accepted 4/4, hsdirs \
         failing 0/4 | services_published=1;;;0;1 backends_live=2;;;0;2 hsdirs_accepted=4;;;0;4 \
         hsdirs_failing=0;;;0;4\n"
    );
    let (code, out, _) = run(&mut status(&sock, &["--json"]));
    assert_eq!(code, 0);
    assert_eq!(out, format!("{body}\n"));
    let (code, out, err) = run(&mut status(&sock, &[]));
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("SERVICE {ADDR}  PUBLISHED  (2/2 backends live)")),
        "{out}"
    );
    assert_eq!(err, "");
}

#[test]
fn a_backend_down_is_warning_and_no_live_backend_is_critical() {
    let dir = tempfile::tempdir().unwrap();
    let warn = dir.path().join("w");
    serve(
        &warn,
        document("published", &[("b1", "live"), ("b2", "down")]),
    );
    let (code, out, err) = run(&mut status(&warn, &[]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("PUBLISHED  (1/2 backends live)"), "{out}");
    assert!(
        err.starts_with("onionfront: WARNING: abcdefgh….onion: 1/2 backends live (b2 down)"),
        "{err}"
    );
    let crit = dir.path().join("c");
    serve(&crit, document("no-live-backend", &[("b1", "down")]));
    let (code, out, _) = run(&mut status(&crit, &["--format", "nagios"]));
    assert_eq!(code, 2);
    assert!(
        out.starts_with("ONIONFRONT CRITICAL - abcdefgh….onion: it is no-live-backend;"),
        "{out}"
    );
}

#[test]
fn an_unreachable_daemon_is_critical_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sock");
    let (code, out, err) = run(&mut status(&missing, &["--json"]));
    assert_eq!(code, 2, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(json["socket"], missing.display().to_string());
    assert_eq!(json["state"], "CRITICAL");
    assert_eq!(json["exitCode"], 2);
    let error = json["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "no status socket at {} (--socket)",
            missing.display()
        )),
        "{error}"
    );
    let (code, out, _) = run(&mut status(&missing, &["--format", "nagios"]));
    assert_eq!(code, 2);
    assert!(
        out.starts_with("ONIONFRONT CRITICAL - no status socket at "),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);
    let (code, out, err) = run(&mut status(&missing, &[]));
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert!(
        err.starts_with("onionfront: CRITICAL: no status socket"),
        "{err}"
    );

    // A socket left behind by a daemon that is gone.
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let (code, _, err) = run(&mut status(&stale, &[]));
    assert_eq!(code, 2);
    assert!(
        err.contains("nothing listens on the status socket"),
        "{err}"
    );
}

#[test]
fn a_daemon_that_does_not_answer_is_critical_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s");
    // Accepts and never answers.
    let listener = UnixListener::bind(&sock).unwrap();
    let _held = std::thread::spawn(move || {
        let conns: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(conns);
    });
    let t = std::time::Instant::now();
    let (code, out, _) = run(&mut status(
        &sock,
        &["--format", "nagios", "--timeout", "1"],
    ));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("ONIONFRONT CRITICAL - no answer from the status socket"),
        "{out}"
    );
    assert!(out.contains("within 1s"), "{out}");
}

#[test]
fn garbage_and_usage_errors_are_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s");
    serve(&sock, "hello".into());
    let (code, out, _) = run(&mut status(&sock, &["--format", "nagios"]));
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("ONIONFRONT UNKNOWN - "), "{out}");
    let (code, _, err) = run(&mut status(&sock, &["--frobnicate"]));
    assert_eq!(code, 3, "{err}");
    let (code, out, _) = run(&mut status(&sock, &["--help"]));
    assert_eq!(code, 0);
    assert!(out.contains("--timeout") && out.contains("nagios"), "{out}");
}

#[test]
fn permission_denied_is_unknown_with_the_group_hint() {
    use std::os::unix::fs::PermissionsExt as _;
    use std::os::unix::process::CommandExt as _;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s");
    serve(&sock, document("published", &[("b1", "live")]));
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut c = status(&sock, &["--json"]);
    // Root may open anything: ask as `nobody` instead (who cannot even enter the folder).
    let root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if root {
        c.uid(65534).gid(65534);
    }
    let out = match c.output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: cannot run as nobody: {e}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    if root && out.status.code() == Some(126) {
        eprintln!("skipped: nobody cannot run {BIN}");
        return;
    }
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect(&stdout);
    let error = json["error"].as_str().unwrap();
    assert!(
        error.starts_with("permission denied on the status socket"),
        "{error}"
    );
    assert!(
        error.contains("run as root or as a member of group onionfront"),
        "{error}"
    );
    assert_eq!(json["state"], "UNKNOWN");
}
