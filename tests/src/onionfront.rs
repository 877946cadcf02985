//! The onionfront binary under test: finding or building it ([`binary`]), `onionfront keygen`
//! ([`keygen`]), and running the daemon ([`Onionfront`]) with its log in the config's folder and
//! its status socket read on demand.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::Signal;

use crate::keys::MainKey;
use crate::notify::NotifyListener;
use crate::process::ProcGuard;
use crate::wait::poll_until;

/// The workspace root (the folder above this crate).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The onionfront binary: env `ONIONFRONT_BIN` if set, else built once per process with
/// [`build_binary`].
pub fn binary() -> Result<PathBuf> {
    static BIN: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("ONIONFRONT_BIN") {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(format!("ONIONFRONT_BIN={} is not a file", p.display()))
            };
        }
        build_binary().map_err(|e| format!("{e:#}"))
    })
    .clone()
    .map_err(|e| anyhow!(e))
}

/// Run `$CARGO build -p onionfront --bin onionfront` (env `CARGO`, else `cargo`) in the workspace
/// root and return the executable cargo reports. Respects `CARGO_TARGET_DIR` (inherited).
pub fn build_binary() -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    eprintln!("[harness] building onionfront ({cargo:?} build -p onionfront --bin onionfront)");
    let mut child = Command::new(&cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "-p",
            "onionfront",
            "--bin",
            "onionfront",
            "--message-format",
            "json-render-diagnostics",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("running {cargo:?} build"))?;
    let mut exe = None;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["reason"] == "compiler-artifact"
                && v["target"]["name"] == "onionfront"
                && let Some(p) = v["executable"].as_str()
            {
                exe = Some(PathBuf::from(p));
            }
        }
    }
    let st = child.wait()?;
    if !st.success() {
        bail!("building onionfront failed: {st}");
    }
    exe.ok_or_else(|| anyhow!("cargo reported no onionfront executable"))
}

/// Run `onionfront keygen --out DIR` and return the key it wrote and the address it printed.
pub fn keygen(binary: &Path, out_dir: &Path) -> Result<MainKey> {
    crate::torrc::mkdir_private(out_dir)?;
    let out = Command::new(binary)
        .arg("keygen")
        .arg("--out")
        .arg(out_dir)
        .output()
        .with_context(|| format!("running {} keygen", binary.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "onionfront keygen failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let address = stdout
        .split_whitespace()
        .find(|w| w.ends_with(".onion"))
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("onionfront keygen printed no address: {stdout:?}"))?;
    let key_path = out_dir.join("hs_ed25519_secret_key");
    if !key_path.is_file() {
        bail!("onionfront keygen did not write {}", key_path.display());
    }
    // Cross-check the printed address against the key file's public half when C tor's public
    // key file is there too.
    let pub_file = out_dir.join("hs_ed25519_public_key");
    if pub_file.is_file() {
        let from_file = crate::keys::address_of_public_key_file(&pub_file)?;
        if from_file != address {
            bail!("keygen printed {address} but wrote the key of {from_file}");
        }
    }
    Ok(MainKey {
        dir: out_dir.to_path_buf(),
        key_path,
        address,
    })
}

/// The `status-socket-location:` of a config file written by [`crate::config`] (top level).
pub fn status_socket_of(config: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(config).ok()?;
    let raw = text
        .lines()
        .find_map(|l| l.strip_prefix("status-socket-location:"))?
        .trim();
    let path = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_owned());
    Some(PathBuf::from(path))
}

/// A running onionfront daemon; stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Onionfront {
    proc: ProcGuard,
    binary: PathBuf,
    args: Vec<OsString>,
    config: PathBuf,
    status_socket: Option<PathBuf>,
    /// Length of the log when the current process started (the log is appended to).
    log_offset: u64,
    /// systemd's notification socket, played by the test (kept across restarts).
    notify: NotifyListener,
    /// Notifications received before the current process started.
    notify_offset: usize,
}

impl Onionfront {
    /// Start `binary run --config <config>`, logging to `onionfront.log` beside the config.
    pub fn spawn(binary: &Path, config: &Path) -> Result<Onionfront> {
        let args = [
            OsString::from("run"),
            OsString::from("--config"),
            config.as_os_str().to_owned(),
        ];
        Self::spawn_with_args(binary, config, &args)
    }

    /// Start `binary` with explicit arguments; `config` locates the log and the status socket.
    pub fn spawn_with_args(binary: &Path, config: &Path, args: &[OsString]) -> Result<Onionfront> {
        let dir = config.parent().unwrap_or(Path::new("."));
        let log = dir.join("onionfront.log");
        let notify = NotifyListener::bind(&dir.join("notify.sock"))?;
        let (proc, log_offset) = start(binary, dir, &log, args, notify.path())?;
        Ok(Onionfront {
            proc,
            binary: binary.to_path_buf(),
            args: args.to_vec(),
            config: config.to_path_buf(),
            status_socket: status_socket_of(config),
            log_offset,
            notify,
            notify_offset: 0,
        })
    }

    /// Stop the daemon and start it again with the same binary, arguments and config (same Arti
    /// state and cache). Its log is appended to; [`Onionfront::current_log`] starts afresh.
    pub fn restart(&mut self) -> Result<ExitStatus> {
        let st = self.proc.stop()?;
        let dir = self.config.parent().unwrap_or(Path::new(".")).to_path_buf();
        let log = self.proc.log_path().to_path_buf();
        // Let the listener take in what the old process sent last (e.g. STOPPING=1).
        std::thread::sleep(Duration::from_millis(300));
        self.notify_offset = self.notify.messages().len();
        let (proc, log_offset) = start(&self.binary, &dir, &log, &self.args, self.notify.path())?;
        self.proc = proc;
        self.log_offset = log_offset;
        self.status_socket = status_socket_of(&self.config);
        Ok(st)
    }

    /// What the current process told systemd (its datagrams on `NOTIFY_SOCKET`), in order.
    pub fn notifications(&self) -> Vec<String> {
        self.notify.messages().split_off(self.notify_offset)
    }

    /// Index in [`Onionfront::all_notifications`] of the current process's first notification.
    pub fn notifications_start(&self) -> usize {
        self.notify_offset
    }

    /// What every process of this daemon told systemd, in order (across restarts).
    pub fn all_notifications(&self) -> Vec<String> {
        self.notify.messages()
    }

    /// Wait until the current process has sent the notification line `line` at least `count`
    /// times; fails early if it exits.
    pub fn wait_notification(&mut self, line: &str, count: usize, timeout: Duration) -> Result<()> {
        poll_until(
            &format!("{count} x {line:?} on NOTIFY_SOCKET"),
            timeout,
            Duration::from_millis(100),
            || {
                let n = self
                    .notifications()
                    .iter()
                    .filter(|m| m.lines().any(|l| l == line))
                    .count();
                if n >= count {
                    return Ok(Some(()));
                }
                if let Some(st) = self.proc.exit_status() {
                    bail!("onionfront exited ({st}); log tail:\n{}", self.log_tail(40));
                }
                Ok(None)
            },
        )
    }

    /// Its PID.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// The config file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The log file (stdout and stderr).
    pub fn log_path(&self) -> &Path {
        self.proc.log_path()
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read(self.log_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The log written by the current process (since the last spawn or restart).
    pub fn current_log(&self) -> String {
        let Ok(mut f) = std::fs::File::open(self.log_path()) else {
            return String::new();
        };
        let mut buf = Vec::new();
        if f.seek(SeekFrom::Start(self.log_offset)).is_err() || f.read_to_end(&mut buf).is_err() {
            return String::new();
        }
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.proc.log_tail(lines)
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }

    /// Its exit status, if it exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.proc.exit_status()
    }

    /// Send SIGHUP (reload).
    pub fn sighup(&mut self) -> Result<()> {
        self.proc.signal(Signal::SIGHUP)
    }

    /// Stop it: SIGTERM, then SIGKILL after a short wait.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        self.proc.stop()
    }

    /// Wait until the current process's log contains `needle`; fails early (with the log's
    /// tail) if it exits.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        poll_until(
            &format!("{needle:?} in onionfront's log"),
            timeout,
            Duration::from_millis(250),
            || {
                if let Some(st) = self.proc.exit_status() {
                    bail!("onionfront exited ({st}); log tail:\n{}", self.log_tail(40));
                }
                Ok(self.current_log().contains(needle).then_some(()))
            },
        )
    }

    /// Wait until the current process's log contains `needle` at least `count` times (e.g. one
    /// more than before a SIGHUP); fails early if it exits.
    pub fn wait_for_log_count(
        &mut self,
        needle: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<()> {
        poll_until(
            &format!("{count} × {needle:?} in onionfront's log"),
            timeout,
            Duration::from_millis(250),
            || {
                if let Some(st) = self.proc.exit_status() {
                    bail!("onionfront exited ({st}); log tail:\n{}", self.log_tail(40));
                }
                Ok((self.current_log().matches(needle).count() >= count).then_some(()))
            },
        )
    }

    /// The status socket path from the config, if any.
    pub fn status_socket(&self) -> Option<&Path> {
        self.status_socket.as_deref()
    }

    /// The raw text served on the status socket (connect, read until EOF).
    pub fn status_raw(&self) -> Result<String> {
        let path = self
            .status_socket
            .as_ref()
            .ok_or_else(|| anyhow!("no status-socket-location in {}", self.config.display()))?;
        let mut s = UnixStream::connect(path)
            .with_context(|| format!("connecting to status socket {}", path.display()))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)
            .context("reading the status socket")?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// The status socket's JSON document.
    pub fn status_json(&self) -> Result<serde_json::Value> {
        let raw = self.status_raw()?;
        if raw.trim().is_empty() {
            bail!("the status socket sent nothing");
        }
        serde_json::from_str(&raw).with_context(|| format!("status socket sent non-JSON: {raw:?}"))
    }

    /// Poll [`Onionfront::status_json`] until it answers (the daemon creates the socket after
    /// starting up).
    pub fn wait_status(&mut self, timeout: Duration) -> Result<serde_json::Value> {
        poll_until(
            "onionfront's status socket",
            timeout,
            Duration::from_millis(250),
            || {
                if let Some(st) = self.proc.exit_status() {
                    bail!("onionfront exited ({st}); log tail:\n{}", self.log_tail(40));
                }
                Ok(self.status_json().ok())
            },
        )
    }
}

/// Start the daemon in `dir` with its output appended to `log`; the guard and the log's length
/// before it started.
fn start(
    binary: &Path,
    dir: &Path,
    log: &Path,
    args: &[OsString],
    notify_socket: &Path,
) -> Result<(ProcGuard, u64)> {
    let log_offset = std::fs::metadata(log).map(|m| m.len()).unwrap_or(0);
    let mut cmd = Command::new(binary);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("ONIONBALANCE_STATUS_SOCKET_LOCATION")
        .env_remove("ONIONFRONT_STATUS_SOCKET")
        .env_remove("ONIONFRONT_CONFIG")
        .env_remove("ONIONBALANCE_CONFIG")
        .env("RUST_BACKTRACE", "1")
        .env("NO_COLOR", "1")
        // Talk to the test as to systemd (Type=notify, WatchdogSec=).
        .env("NOTIFY_SOCKET", notify_socket)
        .env(
            "WATCHDOG_USEC",
            crate::notify::WATCHDOG.as_micros().to_string(),
        )
        .env_remove("WATCHDOG_PID");
    if std::env::var_os("RUST_LOG").is_none() {
        cmd.env("RUST_LOG", "info");
    }
    let proc = ProcGuard::spawn("onionfront", cmd, log)?;
    eprintln!(
        "[harness] onionfront pid {} (log {})",
        proc.pid(),
        log.display()
    );
    Ok((proc, log_offset))
}

impl Onionfront {
    /// Poll the status every second until `check` returns `Some`; fails early if the daemon
    /// exits, and on timeout with the last status seen. `what` names the condition.
    pub fn wait_status_until<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&serde_json::Value) -> Option<T>,
    ) -> Result<T> {
        let mut last: Option<serde_json::Value> = None;
        let mut last_summary = String::new();
        let t0 = std::time::Instant::now();
        let r = poll_until(what, timeout, Duration::from_secs(1), || {
            if let Some(st) = self.proc.exit_status() {
                bail!("onionfront exited ({st}); log tail:\n{}", self.log_tail(40));
            }
            let Ok(status) = self.status_json() else {
                return Ok(None);
            };
            let summary = crate::status::summary(&status);
            if summary != last_summary {
                eprintln!(
                    "[status +{:.0?}] pid {}: {summary}",
                    t0.elapsed(),
                    self.proc.pid()
                );
                last_summary = summary;
            }
            let found = check(&status);
            last = Some(status);
            Ok(found)
        });
        r.map_err(|e| {
            let last = last.map_or_else(|| "none".into(), |v| crate::status::summary(&v));
            e.context(format!("last status: {last}"))
        })
    }
}

impl Drop for Onionfront {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "----- onionfront ({}) -----\n{}",
                self.log_path().display(),
                self.log_tail(60)
            );
        }
    }
}
