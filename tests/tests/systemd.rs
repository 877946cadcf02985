//! Scenario 9: the Debian package under a real systemd. A Debian bookworm root boots with systemd
//! as PID 1 in `systemd-nspawn` (sharing the host's loopback, so it reaches the private Tor
//! network); inside, the operator's path runs as written in the README: install the .deb,
//! `onionfront init` with no path options, `systemctl start onionfront`. Checked: the package's
//! files, user and folder modes; the service not started by the install without a config; the
//! unit active (READY=1) and a C tor client on the host reaching a backend through the main
//! address; `systemctl reload` applying a change and failing on a broken config; `onionfront
//! status` as a member of group onionfront; systemd restarting the service after SIGKILL and the
//! service publishing again; the journal holding its logs and no sandbox warning; `systemd-analyze
//! security` below 2.0.
//!
//! Needs root, `systemd-nspawn` (systemd-container), `debootstrap` and `nsenter`; `scripts/test`
//! installs them. The root file system is kept under `target/nspawn/` between runs.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use onionfront_e2e::nspawn::{self, Container};
use onionfront_e2e::scenario::{Progress, fast_publish_yaml};
use onionfront_e2e::status::{self, ServiceView};
use onionfront_e2e::wait::poll_until;
use onionfront_e2e::{Network, NetworkOptions};
use serde_json::Value;

/// The group member who asks for the status (the unit's socket is group `onionfront`).
const OPERATOR: &str = "ofadmin";

#[test]
fn packaged_unit_under_systemd() {
    assert!(
        nix::unistd::Uid::effective().is_root(),
        "this scenario boots a container with systemd-nspawn and needs root"
    );
    let p = Progress::start();
    let dir = tempfile::Builder::new()
        .prefix("onionfront-e2e-systemd-")
        .tempdir()
        .expect("temp dir");
    // The root file system (debootstrap on a first run) and the package are made while the Tor
    // network starts.
    let debootstrap_log = dir.path().join("debootstrap.log");
    let root_job = std::thread::spawn(move || nspawn::cached_root(&debootstrap_log));
    let deb_job = std::thread::spawn(onionfront_e2e::package::deb);
    let mut net = Network::start(NetworkOptions::with_backends(["b1", "b2"])).expect("Tor network");
    p.say("network ready");
    let cached = root_job.join().expect("root thread").expect("Debian root");
    let deb = deb_job.join().expect("package thread").expect("the .deb");
    p.say(format!(
        "root file system {} and package {}",
        cached.display(),
        deb.display()
    ));

    let container = Container::boot(
        &cached,
        &dir.path().join("root"),
        &dir.path().join("nspawn.log"),
    )
    .expect("boot the container");
    p.say("container booted with systemd as PID 1");
    let result = scenario(&mut net, &container, &deb, &p);
    if let Err(e) = &result {
        dump_journal(&container);
        panic!("{e:#}");
    }
    drop(container);
    p.say("container powered off");
}

fn scenario(net: &mut Network, c: &Container, deb: &std::path::Path, p: &Progress) -> Result<()> {
    let main = net.main_keys[0].address.clone();
    let b1 = net.backends[0].address()?;
    let b2 = net.backends[1].address()?;

    // Install. The main key stands for the one an operator brings along (`init --key`).
    std::fs::copy(deb, c.host_path("/root/onionfront.deb")).context("copy the .deb")?;
    std::fs::create_dir_all(c.host_path("/root/main-key"))?;
    let key = c.host_path("/root/main-key/hs_ed25519_secret_key");
    std::fs::copy(&net.main_keys[0].key_path, &key)?;
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    c.ok(&["apt-get", "install", "-y", "-q", "/root/onionfront.deb"])?;
    p.say("package installed");
    check_package_contents(c)?;

    // The operator's path: init with no path options, then only what a private network needs.
    let init = c.ok(&[
        "onionfront",
        "init",
        "--key",
        "/root/main-key/hs_ed25519_secret_key",
        "--instance",
        &b1,
    ])?;
    assert!(init.contains("systemctl enable --now onionfront"), "{init}");
    assert_eq!(
        c.ok(&["stat", "-c", "%U:%G %a", "/etc/onionfront/config.yaml"])?
            .trim(),
        "onionfront:onionfront 600"
    );
    assert_eq!(
        c.ok(&[
            "stat",
            "-c",
            "%U:%G %a",
            "/etc/onionfront/keys/service-1/hs_ed25519_secret_key"
        ])?
        .trim(),
        "onionfront:onionfront 600"
    );
    let config = c.host_path("/etc/onionfront/config.yaml");
    let mut yaml = std::fs::read_to_string(&config)?;
    assert!(
        yaml.contains("status-socket-location: /run/onionfront/control"),
        "{yaml}"
    );
    assert!(
        yaml.contains("state-dir: /var/lib/onionfront/state"),
        "{yaml}"
    );
    yaml += &onionfront_e2e::config::tor_network_section(&net.tor_network_info());
    yaml += &fast_publish_yaml("10m");
    // Written in place: the owner and mode `init` gave the file stay.
    std::fs::write(&config, &yaml)?;

    // The checks below take about a minute; lookups fail around a time-period rotation on a young
    // network (every 8 minutes here), so none may come during them.
    net.avoid_time_period_rotation(Duration::from_secs(100), Duration::from_secs(45))?;
    // Start: with Type=notify, `systemctl start` returns once the daemon sent READY=1.
    let t0 = Instant::now();
    c.ok(&["systemctl", "start", "onionfront"])?;
    let to_active = t0.elapsed();
    assert_eq!(
        c.ok(&["systemctl", "is-active", "onionfront"])?.trim(),
        "active"
    );
    p.say(format!("systemctl start -> active in {to_active:.1?}"));

    c.ok(&[
        "useradd",
        "--no-create-home",
        "--groups",
        "onionfront",
        OPERATOR,
    ])?;
    let view = wait_published(c, &main, &["backend-1"], Duration::from_secs(180))?;
    p.say(format!(
        "published for periods {:?} (status read as group member {OPERATOR})",
        view.periods
            .iter()
            .map(|p| p.time_period)
            .collect::<Vec<_>>()
    ));
    let table = c.run(&["runuser", "-u", OPERATOR, "--", "onionfront", "status"])?;
    assert!(
        table.status.success(),
        "onionfront status as {OPERATOR}: {}{}",
        String::from_utf8_lossy(&table.stdout),
        String::from_utf8_lossy(&table.stderr)
    );
    let body = net
        .fresh_client()?
        .get_retry(&main, "systemd-1", 6, Duration::from_secs(5))
        .context("GET the main address from the host")?;
    assert_eq!(body, "b1");
    p.say("a C tor client on the host reached backend b1 through the main address");

    // Reload: a second backend is added.
    let one_backend = std::fs::read_to_string(&config)?;
    let b1_entry = format!("      - address: {b1}\n        name: backend-1\n");
    assert!(one_backend.contains(&b1_entry), "{one_backend}");
    let two_backends = one_backend.replace(
        &b1_entry,
        &format!("{b1_entry}      - address: {b2}\n        name: backend-2\n"),
    );
    std::fs::write(&config, &two_backends)?;
    c.ok(&["systemctl", "reload", "onionfront"])?;
    wait_published(
        c,
        &main,
        &["backend-1", "backend-2"],
        Duration::from_secs(120),
    )?;
    p.say("systemctl reload applied the new backend");
    // A broken config: the reload fails, the running configuration stays.
    std::fs::write(&config, format!("{two_backends}no-such-key: 1\n"))?;
    let refused = c.run(&["systemctl", "reload", "onionfront"])?;
    assert!(
        !refused.status.success(),
        "reload of a broken config succeeded"
    );
    assert_eq!(
        c.ok(&["systemctl", "is-active", "onionfront"])?.trim(),
        "active"
    );
    std::fs::write(&config, &two_backends)?;
    p.say("systemctl reload of a broken config failed and the service kept running");

    // SIGKILL: systemd restarts it (Restart=on-failure) and it publishes again.
    let pid_before = unit_property(c, "MainPID")?;
    let t_kill = Instant::now();
    c.ok(&["systemctl", "kill", "-s", "KILL", "onionfront"])?;
    poll_until(
        "systemd to restart onionfront after SIGKILL",
        Duration::from_secs(60),
        Duration::from_millis(300),
        || {
            let restarts = unit_property(c, "NRestarts")?;
            let active = c.run(&["systemctl", "is-active", "onionfront"])?;
            Ok(
                (restarts == "1" && String::from_utf8_lossy(&active.stdout).trim() == "active")
                    .then_some(()),
            )
        },
    )?;
    let pid_after = unit_property(c, "MainPID")?;
    assert_ne!(pid_before, pid_after);
    wait_until_republished(c, &main, Duration::from_secs(120))?;
    p.say(format!(
        "killed with SIGKILL: restarted by systemd and published again in {:.1?}",
        t_kill.elapsed()
    ));
    let body = net
        .fresh_client()?
        .get_retry(&main, "systemd-2", 6, Duration::from_secs(5))
        .context("GET the main address after the restart")?;
    assert!(body == "b1" || body == "b2", "{body}");

    check_journal(c, &[b1.as_str(), b2.as_str()])?;
    let exposure = security_exposure(c)?;
    assert!(
        exposure < 2.0,
        "systemd-analyze security: exposure {exposure}"
    );
    p.say(format!(
        "journal clean; systemd-analyze security exposure {exposure}"
    ));
    c.ok(&["systemctl", "stop", "onionfront"])?;
    Ok(())
}

/// A property of the unit (`systemctl show -p NAME --value onionfront`), trimmed.
fn unit_property(c: &Container, name: &str) -> Result<String> {
    Ok(
        c.ok(&["systemctl", "show", "-p", name, "--value", "onionfront"])?
            .trim()
            .to_string(),
    )
}

/// What the package installs, and that installing did not start the service (no config yet).
fn check_package_contents(c: &Container) -> Result<()> {
    for path in [
        "/usr/bin/onionfront",
        "/usr/lib/systemd/system/onionfront.service",
        "/usr/lib/sysusers.d/onionfront.conf",
        "/usr/share/man/man1/onionfront.1.gz",
        "/usr/share/man/man1/onionfront-init.1.gz",
        "/usr/share/bash-completion/completions/onionfront",
        "/usr/share/zsh/vendor-completions/_onionfront",
        "/usr/share/fish/vendor_completions.d/onionfront.fish",
        "/usr/share/doc/onionfront/copyright",
        "/usr/share/doc/onionfront/changelog.Debian.gz",
        "/usr/share/doc/onionfront/README.md",
    ] {
        // The root has a merged /usr, so /lib/systemd/system is /usr/lib/systemd/system.
        if !c.host_path(path).exists() {
            bail!("the package did not install {path}");
        }
    }
    let file = c.ok(&["sh", "-c", "od -An -c -N4 /usr/bin/onionfront"])?;
    assert!(file.contains("E   L   F"), "{file}");
    assert_eq!(
        c.ok(&["stat", "-c", "%U:%G %a", "/etc/onionfront"])?.trim(),
        "root:onionfront 750"
    );
    c.ok(&["id", "onionfront"])
        .context("the package made no onionfront user")?;
    assert_eq!(
        c.ok(&["systemctl", "is-enabled", "onionfront"])?.trim(),
        "enabled"
    );
    let active = c.run(&["systemctl", "is-active", "onionfront"])?;
    assert_eq!(String::from_utf8_lossy(&active.stdout).trim(), "inactive");
    Ok(())
}

/// The status document, read inside as the group member with `onionfront status --json`.
fn status_json(c: &Container) -> Result<Value> {
    let out = c.run(&[
        "runuser",
        "-u",
        OPERATOR,
        "--",
        "onionfront",
        "status",
        "--json",
    ])?;
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).with_context(|| {
        format!(
            "onionfront status --json as {OPERATOR}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Wait until `main` is published with `names` live and every HSDir accepted.
/// Prints each new status summary while waiting (for the CI log).
fn wait_published(
    c: &Container,
    main: &str,
    names: &[&str],
    timeout: Duration,
) -> Result<ServiceView> {
    let t0 = Instant::now();
    let mut last = String::new();
    poll_until(
        &format!("{main} published with {names:?}"),
        timeout,
        Duration::from_secs(1),
        || {
            let st = match status_json(c) {
                Ok(st) => st,
                Err(e) => {
                    let line = format!("{e:#}");
                    if line != last {
                        eprintln!("[status +{}s] {line}", t0.elapsed().as_secs());
                        last = line;
                    }
                    return Ok(None);
                }
            };
            let line = status::summary(&st);
            if line != last {
                eprintln!("[status +{}s] {line}", t0.elapsed().as_secs());
                last = line;
            }
            Ok(status::service(&st, main).filter(|s| s.publishes(names) && s.fully_accepted()))
        },
    )
}

/// After a restart: published again by the new process (its daemon `started` is new).
fn wait_until_republished(c: &Container, main: &str, timeout: Duration) -> Result<()> {
    wait_published(c, main, &["backend-1", "backend-2"], timeout).map(|_| ())
}

/// onionfront's lines are in the journal, no backend address is, and neither onionfront, Arti
/// nor systemd complained about the sandbox (memory, permissions, folder modes).
fn check_journal(c: &Container, backends: &[&str]) -> Result<()> {
    // `-u` also has what systemd itself logged about the unit (e.g. folder modes).
    let unit = c.ok(&["journalctl", "-u", "onionfront", "--no-pager", "-o", "cat"])?;
    let starts = unit.matches("onionfront starting").count();
    if starts < 2 {
        bail!("expected two starts of onionfront in the journal, found {starts}:\n{unit}");
    }
    if !unit.contains("Memory quota tracking initialised max=256 MiB") {
        bail!("Arti did not report the memory quota of arti.memory-max:\n{unit}");
    }
    // Backend addresses are secrets of the deployment: logs name backends, not addresses
    // (`check --quiet` in ExecStartPre keeps its report out, too).
    for address in backends {
        if let Some(line) = unit.lines().find(|l| l.contains(address)) {
            bail!("the journal shows a backend address: {line:?}");
        }
    }
    for bad in [
        "\u{1b}[",
        "Unable to get the total available memory",
        "Permission denied",
        "already exists but the mode is different",
    ] {
        if let Some(line) = unit.lines().find(|l| l.contains(bad)) {
            bail!("the journal says {line:?}");
        }
    }
    Ok(())
}

/// `systemd-analyze security onionfront` inside: the overall exposure.
fn security_exposure(c: &Container) -> Result<f64> {
    let out = c.ok(&[
        "systemd-analyze",
        "security",
        "onionfront.service",
        "--no-pager",
    ])?;
    let line = out
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .ok_or_else(|| anyhow!("no exposure level in:\n{out}"))?;
    line.split(':')
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("cannot read {line:?}"))
}

/// On failure: what systemd and onionfront said.
fn dump_journal(c: &Container) {
    if let Ok(out) = c.run(&["journalctl", "--no-pager", "-n", "200"]) {
        eprintln!(
            "--- container journal ---\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
