//! `onionfront status`: ask the daemon's status socket for its document and report it as a
//! table (people), as JSON (scripts) or as one monitoring plugin line (`--format nagios`), with
//! the exit code of the Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Which
//! state is which is decided in [`check`] (see its rules).
//!
//! Failing to get a document is a verdict too: no socket, nothing listening on it or no answer
//! within `--timeout` is CRITICAL (the daemon is not serving); permission denied or an answer that
//! is not a status document is UNKNOWN (the check cannot tell). Every format says so: the table
//! form on stderr, `--json` as `{"error": ..., "socket": ..., "state": ..., "exitCode": ...}` on
//! stdout, `--format nagios` as its one line.

pub mod check;
pub mod table;

use std::io::ErrorKind;
use std::path::Path;
use std::time::SystemTime;

use onionfront_publish::StatusReport;
use tokio::io::AsyncReadExt as _;
use tokio::net::UnixStream;

use crate::cli::{StatusArgs, StatusFormat};
pub use check::{Severity, Verdict};
pub use table::render;

/// Query the socket, print in the chosen format, and return the exit code.
pub async fn run(args: StatusArgs) -> u8 {
    let (path, origin) = args.socket_path_and_origin();
    let format = args.output_format();
    let (body, report) = match query(&path, &origin, args.timeout).await {
        Ok(answer) => answer,
        Err(verdict) => {
            print_failure(format, &path, &verdict);
            return verdict.severity.code();
        }
    };
    let verdict = check::assess(&report, SystemTime::now(), args.startup_grace);
    match format {
        StatusFormat::Table => {
            print!("{}", render(&report));
            if verdict.severity != Severity::Ok {
                eprintln!(
                    "onionfront: {}: {}",
                    verdict.severity.label(),
                    verdict.summary
                );
            }
        }
        StatusFormat::Json => println!("{body}"),
        StatusFormat::Nagios => println!("{}", verdict.nagios_line()),
    }
    verdict.severity.code()
}

/// The daemon's answer (as sent, and parsed), or the verdict on why there is none.
pub(crate) async fn query(
    path: &Path,
    origin: &str,
    timeout: std::time::Duration,
) -> Result<(String, StatusReport), Verdict> {
    let exchange = async {
        let mut stream = UnixStream::connect(path).await?;
        let mut body = String::new();
        stream.read_to_string(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    };
    let body = match tokio::time::timeout(timeout, exchange).await {
        Err(_) => {
            return Err(Verdict::failure(
                Severity::Critical,
                format!(
                    "no answer from the status socket {} within {} (is onionfront stuck?)",
                    path.display(),
                    humantime::format_duration(timeout)
                ),
            ));
        }
        Ok(Err(e)) => return Err(connect_failure(path, origin, &e)),
        Ok(Ok(body)) => body,
    };
    match serde_json::from_str::<StatusReport>(&body) {
        Ok(report) => Ok((body, report)),
        Err(e) => Err(Verdict::failure(
            Severity::Unknown,
            format!(
                "{} did not answer with a status document: {e}",
                path.display()
            ),
        )),
    }
}

/// The verdict on an I/O error talking to the socket, with what to do about it.
fn connect_failure(path: &Path, origin: &str, e: &std::io::Error) -> Verdict {
    let p = path.display();
    match e.kind() {
        ErrorKind::PermissionDenied => Verdict::failure(
            Severity::Unknown,
            format!(
                "permission denied on the status socket {p} ({origin}): run as root or as a \
                 member of group onionfront (the socket's group with the packaged unit)"
            ),
        ),
        ErrorKind::NotFound => Verdict::failure(
            Severity::Critical,
            format!(
                "no status socket at {p} ({origin}): is onionfront running, with its status \
                 socket there? (status-socket-location, ONIONFRONT_STATUS_SOCKET, or --socket)"
            ),
        ),
        ErrorKind::ConnectionRefused => Verdict::failure(
            Severity::Critical,
            format!(
                "nothing listens on the status socket {p} ({origin}): onionfront is not running"
            ),
        ),
        _ => Verdict::failure(
            Severity::Critical,
            format!("cannot read the status socket {p} ({origin}): {e}"),
        ),
    }
}

/// Report a failed query in `format`.
fn print_failure(format: StatusFormat, path: &Path, verdict: &Verdict) {
    match format {
        StatusFormat::Table => eprintln!(
            "onionfront: {}: {}",
            verdict.severity.label(),
            verdict.summary
        ),
        StatusFormat::Json => {
            let doc = serde_json::json!({
                "error": verdict.summary,
                "socket": path.display().to_string(),
                "state": verdict.severity.label(),
                "exitCode": verdict.severity.code(),
            });
            println!("{doc}");
        }
        StatusFormat::Nagios => println!("{}", verdict.nagios_line()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_failures_say_what_to_do() {
        let p = Path::new("/run/onionfront/control");
        let v = connect_failure(p, "the default", &ErrorKind::PermissionDenied.into());
        assert_eq!(v.severity, Severity::Unknown);
        assert!(
            v.summary
                .contains("run as root or as a member of group onionfront"),
            "{}",
            v.summary
        );
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::ConnectionRefused,
            ErrorKind::Other,
        ] {
            let v = connect_failure(p, "the default", &kind.into());
            assert_eq!(v.severity, Severity::Critical, "{kind:?}");
            assert!(v.summary.contains("/run/onionfront/control (the default)"));
        }
    }
}
