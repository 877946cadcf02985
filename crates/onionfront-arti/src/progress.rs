//! Bootstrap progress of the embedded Arti client: [`BootstrapProgress`], a snapshot of Arti's
//! bootstrap state for logs and the status endpoint, and the task that follows Arti's bootstrap
//! events, logs each change (at `info`, `warn` when stuck) and publishes it on a `watch` channel.

use std::sync::Arc;

use arti_client::TorClient;
use arti_client::status::BootstrapStatus;
use futures::StreamExt as _;
use tokio::sync::watch;
use tor_rtcompat::PreferredRuntime;
use tracing::{info, warn};

/// A snapshot of Arti's bootstrap state, for logs and the status endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapProgress {
    /// Progress, 0..=100.
    pub percent: u8,
    /// Whether Arti considers itself ready for traffic.
    pub ready: bool,
    /// Whether bootstrap is stuck (the reason is in `summary`).
    pub blocked: bool,
    /// Arti's human-readable description (not for machine parsing).
    pub summary: String,
}

impl BootstrapProgress {
    /// Convert Arti's status.
    pub fn from_status(status: &BootstrapStatus) -> Self {
        // as_frac() is within 0.0..=1.0; the clamp makes the cast provably lossless.
        let percent = (status.as_frac() * 100.0).round().clamp(0.0, 100.0) as u8;
        BootstrapProgress {
            percent,
            ready: status.ready_for_traffic(),
            blocked: status.blocked().is_some(),
            summary: status.to_string(),
        }
    }
}

/// Follow the client's bootstrap events: log each change of percentage or blockage at `info`
/// (`warn` when stuck) and publish every change on `tx`. Ends when the client's status stream
/// ends or nobody listens any more.
pub(crate) async fn log_progress(
    client: Arc<TorClient<PreferredRuntime>>,
    tx: watch::Sender<BootstrapProgress>,
) {
    let mut events = client.bootstrap_events();
    // Do not keep the client alive just to watch it.
    drop(client);
    let mut last_logged: Option<(u8, bool)> = None;
    while let Some(status) = events.next().await {
        let progress = BootstrapProgress::from_status(&status);
        let key = (progress.percent, progress.blocked);
        if last_logged != Some(key) {
            if progress.blocked {
                warn!(
                    percent = progress.percent,
                    "Arti bootstrap: {}", progress.summary
                );
            } else {
                info!(
                    percent = progress.percent,
                    "Arti bootstrap: {}", progress.summary
                );
            }
            last_logged = Some(key);
        }
        if tx.send(progress).is_err() {
            break;
        }
    }
}
