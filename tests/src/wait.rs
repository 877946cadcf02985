//! Polling with deadlines, and the process-wide "cancel" flag (set on Ctrl-C) that every wait checks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

static CANCELLED: AtomicBool = AtomicBool::new(false);

/// Ask every current and future [`poll_until`] to give up (used by the `testnet` binary on Ctrl-C).
pub fn cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
}

/// Whether [`cancel`] was called.
pub fn is_cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// Sleep `d`, in small steps, returning early with an error if cancelled.
pub fn sleep(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    loop {
        if is_cancelled() {
            bail!("cancelled");
        }
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(100)));
    }
}

/// Call `f` every `every` until it returns `Ok(Some(v))`, an error, or `timeout` passes.
///
/// `what` names the condition in the timeout error.
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        sleep(every)?;
    }
}
