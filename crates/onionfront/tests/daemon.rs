//! `onionfront run` without a reachable Tor network: it serves its status socket and tells
//! systemd (a test socket as `NOTIFY_SOCKET`) that it is bootstrapping, and SIGTERM during the
//! bootstrap stops it within seconds, with `STOPPING=1`, exit code 0 and the socket removed.
//! (Bootstrap, READY=1, watchdog pings and reloads are checked on the private Tor network by the
//! e2e suite.) Loopback only: the one "fallback" directory is a closed port on 127.0.0.1.
//!
//! Also: a SIGHUP that arrives while the config is still loading does not kill the daemon.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_onionfront");

/// Kills the daemon if the test fails half-way.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn keygen(dir: &Path) -> String {
    let out = Command::new(BIN)
        .args(["keygen", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    fs::read_to_string(dir.join("hostname"))
        .unwrap()
        .trim()
        .to_owned()
}

/// Wait for a datagram on `sock` whose text satisfies `f`; every datagram read goes into `seen`.
fn wait_datagram(sock: &UnixDatagram, seen: &mut Vec<String>, f: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while !seen.iter().any(|m| f(m)) {
        assert!(Instant::now() < deadline, "not received; got {seen:?}");
        if let Ok(n) = sock.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
}

/// A config in `d` (with keys made there) whose Tor network is a closed port on 127.0.0.1.
fn config_text(d: &Path) -> String {
    keygen(&d.join("main"));
    let backend = keygen(&d.join("backend"));
    // A port on 127.0.0.1 that nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!(
        "status-socket-location: {sock}\n\
         arti:\n  state-dir: {d}/state\n  cache-dir: {d}/cache\n\
         tor-network:\n  authorities: [0123456789ABCDEF0123456789ABCDEF01234567]\n  \
         fallbacks:\n    - {{rsa-identity: 89ABCDEF0123456789ABCDEF0123456789ABCDEF, \
         ed-identity: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, orport: \"127.0.0.1:{closed}\"}}\n\
         services:\n  - key: main/hs_ed25519_secret_key\n    instances:\n      - address: {backend}\n",
        sock = d.join("status.sock").display(),
        d = d.display(),
    )
}

#[test]
fn sigterm_during_bootstrap_stops_cleanly_and_tells_systemd() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = d.join("config.yaml");
    fs::write(&config, config_text(d)).unwrap();
    let notify_path = d.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let child = Command::new(BIN)
        .args(["run", "-c", config.to_str().unwrap()])
        .env("NOTIFY_SOCKET", &notify_path)
        .env_remove("ONIONFRONT_STATUS_SOCKET")
        .env_remove("ONIONBALANCE_STATUS_SOCKET_LOCATION")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);
    let mut seen = Vec::new();
    wait_datagram(&notify, &mut seen, |m| {
        m.starts_with("STATUS=bootstrapping")
    });

    // The status socket answers meanwhile: not published, bootstrap under way (exit code 1).
    let status = Command::new(BIN)
        .args([
            "status",
            "--json",
            "--socket",
            d.join("status.sock").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json: {e}: {}{}",
            String::from_utf8_lossy(&status.stdout),
            String::from_utf8_lossy(&status.stderr)
        )
    });
    assert_eq!(status.status.code(), Some(1), "not published: not healthy");
    assert!(json["daemon"]["bootstrap"].is_string(), "{json}");

    stop(&mut daemon);
    wait_datagram(&notify, &mut seen, |m| m.lines().any(|l| l == "STOPPING=1"));
    assert!(
        !seen.iter().any(|m| m.lines().any(|l| l == "READY=1")),
        "READY=1 without a bootstrap: {seen:?}"
    );
    assert!(!d.join("status.sock").exists(), "status socket left behind");
}

/// Start `onionfront run` on `config`, with a test `NOTIFY_SOCKET` and extra env vars.
fn spawn(config: &Path, notify_path: &Path, env: &[(&str, &str)]) -> Daemon {
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "-c", config.to_str().unwrap()])
        .env("NOTIFY_SOCKET", notify_path)
        .env_remove("ONIONFRONT_STATUS_SOCKET")
        .env_remove("ONIONBALANCE_STATUS_SOCKET_LOCATION")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Daemon(cmd.spawn().unwrap())
}

/// SIGTERM `daemon` and expect a clean exit within 5 s.
fn stop(daemon: &mut Daemon) {
    let t = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &daemon.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    loop {
        if let Some(st) = daemon.0.try_wait().unwrap() {
            assert!(st.success(), "exit status {st}");
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The config is a FIFO, so the daemon blocks reading it, inside `run`, until the test writes
/// it: a SIGHUP sent meanwhile (an early `systemctl reload`) must not kill the process.
#[test]
fn sighup_while_the_config_loads_is_not_fatal() {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = config_text(d);
    let config = d.join("config.yaml");
    let status = Command::new("mkfifo").arg(&config).status().unwrap();
    assert!(status.success());
    let notify_path = d.join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut daemon = spawn(&config, &notify_path, &[]);

    // Opening the FIFO for writing without blocking succeeds once a reader has it open: the
    // daemon is then inside the config loader.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut writer = loop {
        match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&config)
        {
            Ok(w) => break w,
            Err(_) => {
                assert!(
                    Instant::now() < deadline,
                    "the daemon never opened its config"
                );
                assert!(daemon.0.try_wait().unwrap().is_none(), "the daemon exited");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    };
    let kill = Command::new("kill")
        .args(["-HUP", &daemon.0.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        daemon.0.try_wait().unwrap().is_none(),
        "SIGHUP during the config load killed the daemon"
    );
    writer.write_all(text.as_bytes()).unwrap();
    drop(writer);

    let mut seen = Vec::new();
    wait_datagram(&notify, &mut seen, |m| {
        m.starts_with("STATUS=bootstrapping")
    });
    stop(&mut daemon);
}
