//! A Debian root file system booted with a real systemd as PID 1 under `systemd-nspawn`, for the
//! end-to-end scenario of the packaged unit.
//!
//! - [`cached_root`] makes a minimal Debian bookworm root with `debootstrap` once and keeps it
//!   under the cargo target folder (`target/nspawn/`), so later runs reuse it; it is built in a
//!   temporary folder and renamed into place, so an interrupted run never leaves half a root.
//! - [`Container::boot`] copies that root into the run's folder (each run starts clean), boots it
//!   with `systemd-nspawn --boot --register=no --keep-unit` (these machines have no systemd of
//!   their own to register with) and waits until systemd reports the system as running.
//!   The container shares the host's network namespace, so the service inside reaches the private
//!   Tor network on 127.0.0.1 and clients on the host reach back.
//! - [`Container::run`] runs a command inside with `nsenter -t <container's PID 1> -a`.
//! - Dropping a [`Container`] powers it off (`systemctl poweroff` inside), waits for
//!   `systemd-nspawn` to exit, and failing that kills the container's PID 1 (which ends every
//!   process of its PID namespace) and then `systemd-nspawn`, by PID.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::process::ProcGuard;
use crate::wait::poll_until;

/// Packages beyond `minbase`: systemd as PID 1 (with dbus for systemctl), and the shared
/// libraries onionfront links (so installing the .deb needs no download). Changing the list
/// changes [`ROOT_NAME`], so an old cached root is not reused.
const INCLUDE: &str = "systemd,systemd-sysv,dbus,libsqlite3-0,libssl3";
/// The cached root's folder name under `target/nspawn/`.
const ROOT_NAME: &str = "bookworm-minbase-systemd-dbus-sqlite-ssl";
/// Debian's mirror, as in the host's own sources.
const MIRROR: &str = "http://deb.debian.org/debian";

/// The cargo target folder (`CARGO_TARGET_DIR`, else the workspace's `target/`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::onionfront::workspace_root().join("target"))
}

/// The cached Debian root, made with `debootstrap` if missing (about 1.5 minutes and 350 MB).
/// `log` receives debootstrap's output.
pub fn cached_root(log: &Path) -> Result<PathBuf> {
    let dir = target_dir().join("nspawn");
    let root = dir.join(ROOT_NAME);
    if root.join("usr/lib/systemd/systemd").exists() {
        return Ok(root);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!("{ROOT_NAME}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let started = Instant::now();
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let status = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            &format!("--include={INCLUDE}"),
            "bookworm",
        ])
        .arg(&tmp)
        .arg(MIRROR)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()
        .context("running debootstrap (apt-get install debootstrap)")?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&tmp);
        bail!(
            "debootstrap failed ({status}); its log:\n{}",
            crate::process::tail(log, 30)
        );
    }
    if let Err(e) = std::fs::rename(&tmp, &root) {
        // Another run made it meanwhile.
        let _ = std::fs::remove_dir_all(&tmp);
        if !root.join("usr/lib/systemd/systemd").exists() {
            return Err(e).with_context(|| format!("moving the new root to {}", root.display()));
        }
    }
    eprintln!(
        "[harness] debootstrap made {} in {:.0?}",
        root.display(),
        started.elapsed()
    );
    Ok(root)
}

/// A booted container. Dropping it powers it off.
pub struct Container {
    /// The container's root folder (a copy of the cached root).
    pub root: PathBuf,
    nspawn: ProcGuard,
    leader: u32,
}

impl Container {
    /// Copy `cached` to `root` and boot it; `log` receives systemd-nspawn's console.
    pub fn boot(cached: &Path, root: &Path, log: &Path) -> Result<Container> {
        let status = Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(cached)
            .arg(root)
            .status()
            .context("cp -a")?;
        if !status.success() {
            bail!("cp -a {} {} failed", cached.display(), root.display());
        }
        let mut cmd = Command::new("systemd-nspawn");
        cmd.arg("-D")
            .arg(root)
            .args(["--boot", "--register=no", "--keep-unit", "--quiet"])
            // No host /etc/resolv.conf games: the container only talks to 127.0.0.1.
            .arg("--resolv-conf=off")
            .arg("--timezone=off");
        let mut nspawn = ProcGuard::spawn("systemd-nspawn", cmd, log)?;
        let nspawn_pid = nspawn.pid();
        let leader = poll_until(
            "the container's PID 1",
            Duration::from_secs(30),
            Duration::from_millis(100),
            || {
                if !nspawn.is_running() {
                    return Err(anyhow!(
                        "systemd-nspawn exited; its log:\n{}",
                        nspawn.log_tail(30)
                    ));
                }
                Ok(child_of(nspawn_pid))
            },
        )?;
        let container = Container {
            root: root.to_path_buf(),
            nspawn,
            leader,
        };
        let state = container.wait_booted(Duration::from_secs(90))?;
        eprintln!("[harness] container booted (PID 1 is host pid {leader}): {state}");
        Ok(container)
    }

    /// The container's PID 1 as the host sees it.
    pub fn leader(&self) -> u32 {
        self.leader
    }

    /// Wait until `systemctl is-system-running` says `running` (or `degraded`: a unit that has
    /// nothing to do with onionfront failed, e.g. one that needs hardware); returns the state.
    fn wait_booted(&self, timeout: Duration) -> Result<String> {
        poll_until(
            "systemd in the container to finish booting",
            timeout,
            Duration::from_millis(300),
            || {
                let out = self.command(&["systemctl", "is-system-running"]).output()?;
                let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
                Ok(matches!(state.as_str(), "running" | "degraded").then_some(state))
            },
        )
    }

    /// A command to run inside the container (all its namespaces).
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t")
            .arg(self.leader.to_string())
            .arg("-a")
            .arg("--")
            .args(argv)
            .stdin(Stdio::null());
        cmd
    }

    /// Run `argv` inside; its output whatever the exit code.
    pub fn run(&self, argv: &[&str]) -> Result<Output> {
        self.command(argv)
            .output()
            .with_context(|| format!("running {argv:?} in the container"))
    }

    /// Run `argv` inside; fails (with its output) unless it exits 0; returns stdout.
    pub fn ok(&self, argv: &[&str]) -> Result<String> {
        let out = self.run(argv)?;
        if !out.status.success() {
            bail!(
                "{argv:?} in the container: {}\nstdout: {}\nstderr: {}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Run a shell script inside (`sh -c`), as [`Container::ok`].
    pub fn sh(&self, script: &str) -> Result<String> {
        self.ok(&["sh", "-c", script])
    }

    /// A path inside the container, as the host sees it.
    pub fn host_path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// Power off and wait for systemd-nspawn; kill by PID what does not stop.
    pub fn shutdown(&mut self) {
        if !self.nspawn.is_running() {
            return;
        }
        let _ = self
            .command(&["systemctl", "poweroff", "--no-block"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end && self.nspawn.is_running() {
            std::thread::sleep(Duration::from_millis(100));
        }
        if self.nspawn.is_running() {
            eprintln!("[harness] the container did not power off in 30 s: killing its PID 1");
            if let Ok(raw) = i32::try_from(self.leader) {
                let _ = kill(Pid::from_raw(raw), Signal::SIGKILL);
            }
        }
        let _ = self.nspawn.stop();
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The first child of `pid` (from `/proc/<pid>/task/<pid>/children`), if any yet.
fn child_of(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
