//! Failure messages collected where CI shows them: a panic hook that appends each test panic
//! (thread, message, location) to the file named by `ONIONFRONT_E2E_FAILURES`, so that
//! `scripts/test` can print them at the very end of its output, after the long node log dumps
//! that follow a failing scenario. The harness's warnings (e.g. a backend that did not upload in
//! time) go there too, with the panic they preceded: they are often the cause.

use std::io::Write;
use std::sync::{Mutex, Once};

/// The environment variable naming the file failures are appended to.
pub const FAILURES_ENV: &str = "ONIONFRONT_E2E_FAILURES";

static HOOK: Once = Once::new();

/// The harness's most recent warnings (at most [`MAX_WARNINGS`]), for the failure file.
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// How many warnings are kept.
const MAX_WARNINGS: usize = 10;

/// Print a harness warning (`[harness] warning: …`) and keep it, so that a panic that follows
/// reports it in the failure file.
pub fn warning(msg: &str) {
    eprintln!("[harness] warning: {msg}");
    if let Ok(mut w) = WARNINGS.lock() {
        if w.len() == MAX_WARNINGS {
            w.remove(0);
        }
        w.push(msg.to_owned());
    }
}

/// The kept warnings, as lines for the failure file.
fn warnings_text() -> String {
    // `try_lock`: the hook runs inside a panic and must never wait.
    match WARNINGS.try_lock() {
        Ok(w) => w
            .iter()
            .map(|m| format!("harness warning before it: {m}\n"))
            .collect(),
        Err(_) => String::new(),
    }
}

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
                let _ = writeln!(f, "---- {name}{at}\n{msg}\n{}", warnings_text());
            }
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_kept_for_the_failure_file_up_to_the_bound() {
        for i in 0..(MAX_WARNINGS + 3) {
            warning(&format!("warning number {i}"));
        }
        let text = warnings_text();
        assert_eq!(text.lines().count(), MAX_WARNINGS, "{text}");
        assert!(!text.contains("warning number 2\n"), "{text}");
        assert!(
            text.contains(&format!(
                "harness warning before it: warning number {}\n",
                MAX_WARNINGS + 2
            )),
            "{text}"
        );
    }
}
