//! systemd notifications (`Type=notify`): READY, STATUS, WATCHDOG, RELOADING, STOPPING.
//!
//! Speaks the `sd_notify` datagram protocol on `$NOTIFY_SOCKET` directly (one small function,
//! no C library). Outside systemd every call is a no-op.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use tracing::debug;

/// Send `state` (e.g. `READY=1\nSTATUS=...`) to systemd, if run under it.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let result = (|| -> std::io::Result<()> {
        let sock = UnixDatagram::unbound()?;
        let bytes = path.as_encoded_bytes();
        if let Some(abstract_name) = bytes.strip_prefix(b"@") {
            #[cfg(target_os = "linux")]
            {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)?;
                sock.send_to_addr(state.as_bytes(), &addr)?;
            }
            #[cfg(not(target_os = "linux"))]
            let _ = abstract_name;
        } else {
            sock.send_to(state.as_bytes(), &path)?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        debug!(error = %e, "sd_notify failed");
    }
}

/// Tell systemd what the daemon is doing (`systemctl status` shows it).
pub fn status(text: &str) {
    notify(&format!("STATUS={}", text.replace('\n', " ")));
}

/// The watchdog interval systemd asked for (`WatchdogSec=`), if any: ping at half of it.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok()? != std::process::id()
    {
        return None;
    }
    Some(Duration::from_micros(usec) / 2)
}
