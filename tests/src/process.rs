//! Child processes owned by the harness: [`ProcGuard`] stops its process by PID when dropped
//! (also while unwinding from a panic): SIGTERM, then SIGKILL after [`STOP_GRACE`].
//!
//! Every live child is also listed in a process-wide registry so that [`kill_all`] (the `testnet`
//! binary's Ctrl-C path) can stop them even when their guards cannot be reached. A guard signals
//! its PID only while the child is not yet reaped, so a recycled PID is never hit.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long a process gets after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(3);

static LIVE: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn register(pid: u32) {
    if let Ok(mut g) = LIVE.lock() {
        g.get_or_insert_with(HashSet::new).insert(pid);
    }
}

fn unregister(pid: u32) {
    if let Ok(mut g) = LIVE.lock()
        && let Some(set) = g.as_mut()
    {
        set.remove(&pid);
    }
}

fn send(pid: u32, sig: Signal) -> Result<()> {
    let raw = i32::try_from(pid).map_err(|_| anyhow!("pid {pid} out of range"))?;
    kill(Pid::from_raw(raw), sig).with_context(|| format!("kill -{sig} {pid}"))
}

/// Whether a process with this PID exists (a zombie counts).
fn exists(pid: u32) -> bool {
    i32::try_from(pid).is_ok_and(|raw| kill(Pid::from_raw(raw), None).is_ok())
}

/// Stop every child still registered (SIGTERM, a short wait, SIGKILL). For signal handlers and
/// other last-resort paths; normal code drops the guards instead.
pub fn kill_all() {
    let pids: Vec<u32> = match LIVE.lock() {
        Ok(g) => g
            .as_ref()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default(),
        Err(_) => return,
    };
    for &pid in &pids {
        let _ = send(pid, Signal::SIGTERM);
    }
    let end = Instant::now() + STOP_GRACE;
    while Instant::now() < end {
        // Zombies (exited, not reaped) still exist, so this may wait for nothing: SIGKILL to a
        // zombie is harmless.
        if pids.iter().all(|&p| !exists(p)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for &pid in &pids {
        let _ = send(pid, Signal::SIGKILL);
    }
}

/// A running child process, stopped on drop.
#[derive(Debug)]
pub struct ProcGuard {
    name: String,
    pid: u32,
    child: Child,
    log: PathBuf,
    status: Option<ExitStatus>,
}

impl ProcGuard {
    /// Spawn `cmd` with stdin from /dev/null and stdout and stderr appended to `log`.
    pub fn spawn(name: impl Into<String>, mut cmd: Command, log: &Path) -> Result<ProcGuard> {
        let name = name.into();
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening log {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        let pid = child.id();
        register(pid);
        Ok(ProcGuard {
            name,
            pid,
            child,
            log: log.to_path_buf(),
            status: None,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The name given at spawn time (for messages).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The exit status, if the process has exited (reaps it).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Ok(Some(st)) = self.child.try_wait()
        {
            self.status = Some(st);
            unregister(self.pid);
        }
        self.status
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.exit_status().is_none()
    }

    /// Send `sig` (only while the child is not reaped, so never to a recycled PID).
    pub fn signal(&mut self, sig: Signal) -> Result<()> {
        if let Some(st) = self.exit_status() {
            return Err(anyhow!(
                "{} (pid {}) already exited: {st}",
                self.name,
                self.pid
            ));
        }
        send(self.pid, sig)
    }

    /// Stop the process: SIGTERM, then SIGKILL after [`STOP_GRACE`]. Returns its exit status.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        if let Some(st) = self.exit_status() {
            return Ok(st);
        }
        let _ = send(self.pid, Signal::SIGTERM);
        let end = Instant::now() + STOP_GRACE;
        while Instant::now() < end {
            if let Some(st) = self.exit_status() {
                return Ok(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let st = self
            .child
            .wait()
            .with_context(|| format!("waiting for {} (pid {})", self.name, self.pid))?;
        self.status = Some(st);
        unregister(self.pid);
        Ok(st)
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

impl Drop for ProcGuard {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("[harness] stopping {}: {e:#}", self.name);
        }
    }
}

/// The last `lines` lines of a text file (reads at most the last 256 KiB); empty if unreadable.
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(256 * 1024);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    if f.read_to_end(&mut buf).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether the file at `path` contains `needle` (false if unreadable).
pub fn file_contains(path: &Path, needle: &str) -> bool {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).contains(needle))
        .unwrap_or(false)
}

/// How many times `needle` occurs in the file at `path` (0 if unreadable).
pub fn file_count(path: &Path, needle: &str) -> usize {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).matches(needle).count())
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn stop_kills_a_sleeping_child() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("sleep.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "trap '' TERM; echo started; sleep 60"]);
        let mut g = ProcGuard::spawn("sleep", cmd, &log).expect("spawn");
        assert!(g.is_running());
        let t = Instant::now();
        let st = g.stop().expect("stop");
        assert!(!st.success());
        assert!(t.elapsed() < STOP_GRACE + Duration::from_secs(2));
        assert!(!g.is_running());
    }

    #[test]
    fn drop_on_panic_stops_child() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("sleep.log");
        let pid = std::sync::Arc::new(std::sync::Mutex::new(0u32));
        let pid2 = pid.clone();
        let log2 = log.clone();
        let r = std::thread::spawn(move || {
            let mut cmd = Command::new("sleep");
            cmd.arg("60");
            let g = ProcGuard::spawn("sleep", cmd, &log2).expect("spawn");
            *pid2.lock().expect("lock") = g.pid();
            panic!("boom");
        })
        .join();
        assert!(r.is_err());
        let pid = *pid.lock().expect("lock");
        // Reaped by the guard: the PID no longer exists.
        assert!(!exists(pid));
    }
}
