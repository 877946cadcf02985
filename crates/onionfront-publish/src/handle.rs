//! The scheduler's public face: [`spawn`] starts the reactor task, and the [`SchedulerHandle`]
//! it returns reloads, watches the status, and shuts down; a [`Pinger`] asks whether the reactor
//! still turns (the daemon's systemd watchdog).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::history::{Histories, HistoryFile};
use crate::network::Network;
use crate::reactor::{Command, Reactor};
use crate::spec::{ReloadSummary, SchedulerSpec};
use crate::status::StatusReport;

/// The scheduler task stopped.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the scheduler is not running")]
pub struct SchedulerGone;

/// Handle to a running scheduler.
pub struct SchedulerHandle {
    /// Commands.
    commands: mpsc::Sender<Command>,
    /// Latest status.
    status: watch::Receiver<StatusReport>,
    /// The task.
    join: tokio::task::JoinHandle<()>,
}

impl SchedulerHandle {
    /// Apply a new configuration.
    pub async fn reload(&self, spec: SchedulerSpec) -> Result<ReloadSummary, SchedulerGone> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Reload(Box::new(spec), tx))
            .await
            .map_err(|_| SchedulerGone)?;
        rx.await.map_err(|_| SchedulerGone)
    }

    /// A receiver of status reports (updated as things happen).
    pub fn status(&self) -> watch::Receiver<StatusReport> {
        self.status.clone()
    }

    /// A handle that asks whether the reactor still answers (for a watchdog).
    pub fn pinger(&self) -> Pinger {
        Pinger {
            commands: self.commands.clone(),
        }
    }

    /// Stop the scheduler and its tasks.
    pub async fn shutdown(self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
        let _ = self.join.await;
    }
}

/// Asks the scheduler's reactor for a sign of life.
#[derive(Debug, Clone)]
pub struct Pinger {
    /// Commands.
    commands: mpsc::Sender<Command>,
}

impl Pinger {
    /// Returns once the reactor has answered: it is not stuck. Bound it with a timeout.
    pub async fn ping(&self) -> Result<(), SchedulerGone> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Ping(tx))
            .await
            .map_err(|_| SchedulerGone)?;
        rx.await.map_err(|_| SchedulerGone)
    }
}

/// Start the scheduler on `net` with `spec`, with the backends' revision history in memory only.
pub fn spawn<N: Network>(net: Arc<N>, spec: SchedulerSpec) -> SchedulerHandle {
    start(net, spec, None)
}

/// Start the scheduler on `net` with `spec`, keeping the backends' revision history in
/// `history_file` (loaded now, saved when it changes; see `history.rs`): the daemon's
/// `<state folder>/`[`crate::HISTORY_FILE_NAME`]. An unreadable or corrupt file is a warning
/// and a fresh start.
pub fn spawn_with_history<N: Network>(
    net: Arc<N>,
    spec: SchedulerSpec,
    history_file: PathBuf,
) -> SchedulerHandle {
    start(net, spec, Some(HistoryFile::load(history_file)))
}

fn start<N: Network>(
    net: Arc<N>,
    spec: SchedulerSpec,
    history: Option<(HistoryFile, Histories)>,
) -> SchedulerHandle {
    let (commands, command_rx) = mpsc::channel(8);
    let (status_tx, status) = watch::channel(StatusReport::default());
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let reactor = Reactor::new(net, spec, status_tx, events_tx, history);
    let join = tokio::spawn(reactor.run(command_rx, events_rx));
    SchedulerHandle {
        commands,
        status,
        join,
    }
}
