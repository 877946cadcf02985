//! Failure messages collected where CI shows them: a panic hook that appends each test panic
//! (thread, message, location) to the file named by `ONIONFRONT_E2E_FAILURES`, so that
//! `scripts/test` can print them at the very end of its output, after the long node log dumps
//! that follow a failing scenario.

use std::io::Write;
use std::sync::Once;

/// The environment variable naming the file failures are appended to.
pub const FAILURES_ENV: &str = "ONIONFRONT_E2E_FAILURES";

static HOOK: Once = Once::new();

/// Install the hook once per test process (chained before the default hook); called by
/// `Network::start`, which every scenario begins with. Without `ONIONFRONT_E2E_FAILURES` set it
/// does nothing.
pub fn install_hook() {
    HOOK.call_once(|| {
        let Some(path) = std::env::var_os(FAILURES_ENV) else {
            return;
        };
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("?");
            let msg = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            let at = info
                .location()
                .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
            {
                let _ = writeln!(f, "---- {name}{at}\n{msg}\n");
            }
            previous(info);
        }));
    });
}
