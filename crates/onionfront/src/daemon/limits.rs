//! What the local listeners (the status socket and the metrics endpoint) allow a client, so that
//! no local user can pin file descriptors or tasks and starve the embedded Arti client:
//!
//! - at most [`MAX_CLIENTS`] connections at once per listener; beyond that the listener stops
//!   accepting until one ends (further clients wait in the kernel's backlog);
//! - each connection ends within [`CLIENT_TIMEOUT`], whatever the client does (a client that
//!   connects and never reads, or never sends its request, is dropped);
//! - a failing `accept` (out of file descriptors, typically) is retried after a pause that
//!   doubles from [`BACKOFF_MIN`] to [`BACKOFF_MAX`], and is logged once per streak, instead of
//!   spinning at full CPU.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

/// Connections served at once, per listener.
pub const MAX_CLIENTS: usize = 16;
/// The longest a connection may last.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// The first pause after a failed `accept`.
pub const BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause after failed `accept`s.
pub const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// The limits of one listener (the constants above; tests shorten them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once.
    pub max_clients: usize,
    /// The longest a connection may last.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: MAX_CLIENTS,
            timeout: CLIENT_TIMEOUT,
        }
    }
}

/// The connection slots of one listener.
#[derive(Clone)]
pub struct Slots(Arc<Semaphore>);

impl Slots {
    /// `n` slots (at least one).
    pub fn new(n: usize) -> Self {
        Slots(Arc::new(Semaphore::new(n.max(1))))
    }

    /// Wait for a free slot; the connection holds the permit until it ends.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        // The semaphore is never closed, so this cannot fail; if it ever did, serving without a
        // permit would be wrong, so wait forever instead.
        match Arc::clone(&self.0).acquire_owned().await {
            Ok(p) => p,
            Err(_) => std::future::pending().await,
        }
    }
}

/// The pause after failed `accept`s.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    next: Option<Duration>,
}

impl AcceptBackoff {
    /// An `accept` succeeded: the next failure starts a new streak.
    pub fn reset(&mut self) {
        if self.next.take().is_some() {
            debug!("accepting connections again");
        }
    }

    /// An `accept` failed with `e`: sleep, longer each time in a row.
    pub async fn failed(&mut self, what: &str, e: &std::io::Error) {
        let pause = self.pause();
        if pause == BACKOFF_MIN {
            warn!(error = %e, "{what}: accept failed; retrying with backoff");
        }
        tokio::time::sleep(pause).await;
    }

    /// The pause for this failure, and the next one's.
    pub fn pause(&mut self) -> Duration {
        let pause = self.next.unwrap_or(BACKOFF_MIN);
        self.next = Some((pause * 2).min(BACKOFF_MAX));
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = AcceptBackoff::default();
        let pauses: Vec<_> = (0..10).map(|_| b.pause()).collect();
        assert_eq!(pauses[0], BACKOFF_MIN);
        assert_eq!(pauses[1], BACKOFF_MIN * 2);
        assert_eq!(*pauses.last().unwrap_or(&Duration::ZERO), BACKOFF_MAX);
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        b.reset();
        assert_eq!(b.pause(), BACKOFF_MIN);
    }
}
