//! systemd notifications (`Type=notify`): READY, STATUS, WATCHDOG, RELOADING, STOPPING.
//!
//! Sent with the `sd-notify` crate on `$NOTIFY_SOCKET`; outside systemd every call is a no-op.
//! Two things stay here, because the crate (0.4) does them differently from libsystemd:
//! - an abstract socket name (`@name`, used by some container managers) is sent to directly:
//!   the crate would take it for a file name;
//! - the watchdog interval is read as `sd_watchdog_enabled(3)` does: `WATCHDOG_PID`, when set,
//!   must be ours, but may be absent (the crate requires it). `WATCHDOG_USEC=0`, or a value that
//!   is not a number, means no watchdog.

use std::time::Duration;

use sd_notify::NotifyState;
use tracing::debug;

/// Send `state` (e.g. `READY=1\nSTATUS=...`) to systemd, if run under it.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let result = match path.as_encoded_bytes().strip_prefix(b"@") {
        Some(name) => send_abstract(name, state),
        None => sd_notify::notify(false, &[NotifyState::Custom(state)]),
    };
    if let Err(e) = result {
        debug!(error = %e, "sd_notify failed");
    }
}

/// Send to an abstract socket (Linux only; elsewhere there are none).
fn send_abstract(name: &[u8], state: &str) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        let sock = std::os::unix::net::UnixDatagram::unbound()?;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(format!("{state}\n").as_bytes(), &addr)?;
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (name, state);
        Ok(())
    }
}

/// Tell systemd what the daemon is doing (`systemctl status` shows it).
pub fn status(text: &str) {
    notify(&format!("STATUS={}", text.replace('\n', " ")));
}

/// The watchdog interval systemd asked for (`WatchdogSec=`), if any: ping at half of it.
pub fn watchdog_interval() -> Option<Duration> {
    watchdog_interval_from(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

/// [`watchdog_interval`] from the variables' values.
fn watchdog_interval_from(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok()? != me
    {
        return None;
    }
    // At least 1 ms: a one-microsecond WatchdogSec would otherwise make a zero interval.
    Some((Duration::from_micros(usec) / 2).max(Duration::from_millis(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_variables() {
        let w = |usec, pid| watchdog_interval_from(usec, pid, 42);
        assert_eq!(w(Some("4000000"), None), Some(Duration::from_secs(2)));
        assert_eq!(w(Some("4000000"), Some("42")), Some(Duration::from_secs(2)));
        assert_eq!(w(Some("4000000"), Some("7")), None);
        // 0 is "no watchdog", not an interval of 0 (which would make tokio's interval panic).
        assert_eq!(w(Some("0"), None), None);
        assert_eq!(w(Some("1"), None), Some(Duration::from_millis(1)));
        assert_eq!(w(Some("soon"), None), None);
        assert_eq!(w(None, Some("42")), None);
    }
}
