//! `onionfront run`: the daemon. Loads config and keys, bootstraps the embedded Arti client,
//! runs the scheduler, serves the status socket (and metrics), talks to systemd, and handles
//! signals: SIGHUP reloads (a bad config is refused and the running one stays), SIGTERM/SIGINT
//! stop within a few seconds.

pub mod limits;
mod load;
mod logging;
pub mod metrics;
mod notify;
mod status_socket;
mod status_source;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use crate::cli::RunArgs;
use status_socket::StatusSocket;
pub use status_source::StatusSource;

/// How long shutdown may take before tasks are abandoned.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// Run the daemon until SIGTERM/SIGINT.
///
/// The signal handlers are installed before anything else: a SIGHUP (an early `systemctl
/// reload`) or SIGTERM that arrives while the config is loading is then queued, not fatal (the
/// default action of both is to terminate). A queued SIGHUP reloads once publishing has started.
pub async fn run(args: RunArgs) -> Result<()> {
    let mut sighup = signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
    let mut sigterm =
        signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut sigint =
        signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let config_path = args.config.clone();
    let loaded = load::load(&config_path)?;
    logging::init(
        &args.log_filter(&loaded.config)?,
        args.log_level.is_some(),
        loaded.config.tor_network.is_some(),
    )?;
    info!(config = %config_path.display(), services = loaded.spec.services.len(),
        version = env!("CARGO_PKG_VERSION"), "onionfront starting");
    load::log_keys(&loaded.spec);

    let source = StatusSource::default();
    let started = SystemTime::now();
    source.update_daemon(|d| {
        d.version = env!("CARGO_PKG_VERSION").to_string();
        d.started = Some(onionfront_publish::status::rfc3339(started));
        d.bootstrap = "starting".into();
        d.config = Some(config_path.display().to_string());
        d.config_loaded = Some(onionfront_publish::status::rfc3339(started));
        d.pid = Some(std::process::id());
    });
    let socket_path = crate::cli::status_socket_path(&loaded.config);
    let _socket = match &socket_path {
        Some(p) => Some(StatusSocket::bind(p, source.clone())?),
        None => None,
    };
    let _metrics = match loaded.config.metrics {
        Some(m) => Some(AbortOnDrop(metrics::serve(&m, source.clone()).await?)),
        None => None,
    };

    notify::status("bootstrapping the embedded Tor client");
    let network = onionfront_arti::create_unbootstrapped(
        &loaded.config.arti,
        loaded.config.tor_network.as_ref(),
    )
    .await
    .context("cannot start the embedded Arti client")?;
    let mut progress = network.progress_watch();
    let progress_source = source.clone();
    tokio::spawn(async move {
        loop {
            let p = progress.borrow_and_update().clone();
            progress_source
                .update_daemon(|d| d.bootstrap = format!("{}%: {}", p.percent, p.summary));
            if progress.changed().await.is_err() {
                break;
            }
        }
    });
    tokio::select! {
        r = network.bootstrap() => r.context("bootstrapping Tor failed")?,
        _ = sigterm.recv() => {
            info!("SIGTERM during bootstrap; exiting");
            notify::notify("STOPPING=1");
            return Ok(());
        }
        _ = sigint.recv() => {
            info!("SIGINT during bootstrap; exiting");
            notify::notify("STOPPING=1");
            return Ok(());
        }
    }

    let mut current = loaded;
    let handle = onionfront_publish::spawn_with_history(
        Arc::new(network),
        current.spec.clone(),
        load::history_path(&current.config),
    );
    source.attach(handle.status());
    notify::notify("READY=1\nSTATUS=bootstrapped; publishing");
    info!("bootstrapped; fetching backend descriptors and publishing");
    let _status_task = AbortOnDrop(tokio::spawn(report_to_systemd(handle.status())));
    // The watchdog is fed only while the scheduler's reactor answers: a stuck scheduler is
    // restarted by systemd (`WatchdogSec=`), not kept alive by a timer of its own.
    let pinger = handle.pinger();
    let _watchdog = notify::watchdog_interval().map(|every| {
        AbortOnDrop(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match tokio::time::timeout(every, pinger.ping()).await {
                    Ok(Ok(())) => notify::notify("WATCHDOG=1"),
                    _ => warn!(
                        "the scheduler did not answer within {}; withholding the watchdog ping",
                        humantime::format_duration(every)
                    ),
                }
            }
        }))
    });

    loop {
        tokio::select! {
            _ = sighup.recv() => {
                info!("SIGHUP: reloading configuration");
                notify::notify("RELOADING=1\nSTATUS=reloading the configuration");
                let refused = match load::load_for_reload(&config_path, &current) {
                    Ok(new) => {
                        load::warn_restart_only_changes(&current.config, &new.config);
                        load::log_keys(&new.spec);
                        match handle.reload(new.spec.clone()).await {
                            Ok(summary) => {
                                info!(added = summary.added.len(), removed = summary.removed.len(),
                                    changed = summary.changed.len(), unchanged = summary.unchanged.len(),
                                    "configuration reloaded");
                                current = new;
                                None
                            }
                            Err(e) => {
                                error!(error = %e, "reload failed");
                                Some(format!("reload failed: {e}"))
                            }
                        }
                    }
                    Err(e) => {
                        error!("reload refused, keeping the running configuration: {e:#}");
                        Some(format!("reload refused, keeping the running configuration: {e:#}"))
                    }
                };
                // One update, so that `onionfront reload` sees the outcome with the count.
                source.update_daemon(|d| {
                    if refused.is_none() {
                        d.config_loaded = Some(onionfront_publish::status::rfc3339(SystemTime::now()));
                    }
                    d.last_reload_error = refused;
                    d.reloads += 1;
                });
                notify::notify("READY=1");
            }
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
        }
    }
    notify::notify("STOPPING=1");
    if tokio::time::timeout(SHUTDOWN_GRACE, handle.shutdown())
        .await
        .is_err()
    {
        warn!("scheduler did not stop in time; exiting anyway");
    }
    info!("stopped");
    Ok(())
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keep systemd's STATUS= line up to date with a one-line summary.
async fn report_to_systemd(mut rx: tokio::sync::watch::Receiver<onionfront_publish::StatusReport>) {
    let mut last = String::new();
    loop {
        let line = {
            let s = rx.borrow_and_update();
            let published = s
                .services
                .iter()
                .filter(|s| s.state == onionfront_publish::PublishState::Published)
                .count();
            let live: usize = s.services.iter().map(|s| s.live_backends).sum();
            let total: usize = s.services.iter().map(|s| s.instances.len()).sum();
            format!(
                "{published}/{} services published; {live}/{total} backends live",
                s.services.len()
            )
        };
        if line != last {
            notify::status(&line);
            last = line;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}
