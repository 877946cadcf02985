//! Where the status socket and the metrics endpoint read from: the scheduler's latest report
//! plus what only the daemon knows (version, bootstrap, config).

use std::sync::{Arc, Mutex};

use onionfront_publish::StatusReport;
use onionfront_publish::status::DaemonStatus;
use tokio::sync::watch;

/// Shared, cheap to clone.
#[derive(Clone, Default)]
pub struct StatusSource {
    daemon: Arc<Mutex<DaemonStatus>>,
    scheduler: Arc<Mutex<Option<watch::Receiver<StatusReport>>>>,
}

impl StatusSource {
    /// Update the daemon part.
    pub fn update_daemon(&self, f: impl FnOnce(&mut DaemonStatus)) {
        let mut d = self.daemon.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut d);
    }

    /// Attach the scheduler's status once it runs.
    pub fn attach(&self, rx: watch::Receiver<StatusReport>) {
        *self.scheduler.lock().unwrap_or_else(|p| p.into_inner()) = Some(rx);
    }

    /// The current report.
    pub fn snapshot(&self) -> StatusReport {
        let mut report = self
            .scheduler
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|rx| rx.borrow().clone())
            .unwrap_or_default();
        report.daemon = Some(
            self.daemon
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        );
        report
    }
}
