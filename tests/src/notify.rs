//! A stand-in for systemd's notification socket: onionfront runs with `NOTIFY_SOCKET` pointing
//! at a datagram socket of the test and `WATCHDOG_USEC` set, and the test reads what it says
//! (`READY=1`, `STATUS=...`, `WATCHDOG=1`, `RELOADING=1`, `STOPPING=1`), as systemd would.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};

/// The watchdog interval given to the daemon (it pings at half of it).
pub const WATCHDOG: Duration = Duration::from_secs(2);

/// A bound notification socket and the thread that collects its datagrams.
#[derive(Debug)]
pub struct NotifyListener {
    path: PathBuf,
    messages: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NotifyListener {
    /// Bind `path` (replacing a stale socket) and start collecting.
    pub fn bind(path: &Path) -> Result<NotifyListener> {
        let _ = std::fs::remove_file(path);
        let sock = UnixDatagram::bind(path)
            .with_context(|| format!("cannot bind the notify socket {}", path.display()))?;
        sock.set_read_timeout(Some(Duration::from_millis(200)))?;
        let messages = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (messages, stop) = (Arc::clone(&messages), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(n) = sock.recv(&mut buf) {
                        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                        if let Ok(mut m) = messages.lock() {
                            m.push(text);
                        }
                    }
                }
            })
        };
        Ok(NotifyListener {
            path: path.to_path_buf(),
            messages,
            stop,
            thread: Some(thread),
        })
    }

    /// The socket's path (for `NOTIFY_SOCKET`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every datagram received so far, in order.
    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Drop for NotifyListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether one of `messages` has the line `line` (a datagram may carry several, e.g.
/// `READY=1\nSTATUS=...`).
pub fn has_line(messages: &[String], line: &str) -> bool {
    messages.iter().any(|m| m.lines().any(|l| l == line))
}

/// Index of the first message with the line `line`.
pub fn position(messages: &[String], line: &str) -> Option<usize> {
    messages.iter().position(|m| m.lines().any(|l| l == line))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn collects_datagrams() {
        let dir = tempfile::tempdir().expect("tempdir");
        let l = NotifyListener::bind(&dir.path().join("n.sock")).expect("bind");
        let tx = UnixDatagram::unbound().expect("socket");
        tx.send_to(b"READY=1\nSTATUS=up", l.path()).expect("send");
        tx.send_to(b"WATCHDOG=1", l.path()).expect("send");
        crate::wait::poll_until(
            "two datagrams",
            Duration::from_secs(5),
            Duration::from_millis(20),
            || Ok((l.messages().len() == 2).then_some(())),
        )
        .expect("received");
        let m = l.messages();
        assert!(has_line(&m, "READY=1"));
        assert!(has_line(&m, "STATUS=up"));
        assert_eq!(position(&m, "WATCHDOG=1"), Some(1));
        assert!(!has_line(&m, "STOPPING=1"));
    }
}
