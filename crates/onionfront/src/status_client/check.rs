//! The monitoring verdict of `onionfront status`: from the daemon's status document (or the
//! failure to get one) to a state of the Nagios plugin convention, a one-line summary and
//! performance data. The exit code is the state's, whatever the output format.
//!
//! The rules, worst first (the verdict is the worst that applies):
//!
//! - **UNKNOWN (3)**: the check cannot tell: permission denied on the status socket (run as root
//!   or as a member of the socket's group, `onionfront` with the packaged unit), an answer that
//!   is not a status document, a service in a state this version does not know, a command line
//!   error.
//! - **CRITICAL (2)**: the daemon cannot be reached (no socket, nothing listening, no answer
//!   within `--timeout`); a service that has published and now has no live backend (clients
//!   get the last descriptor, whose intro points lead nowhere); once the daemon has run longer
//!   than `--startup-grace`: a service that has never been published, or no service running at
//!   all (bootstrap not finished); a service whose key bundle does not cover the current time
//!   period (offline keys: nothing is published for it, `keyCoverage: not-covered`).
//! - **WARNING (1)**: a key bundle that ends within `publish.offline-keys-warn`
//!   (`keyCoverage: ending`); within `--startup-grace` of the daemon's start: still bootstrapping, or a
//!   service not yet published; a published service with some backends not live; HSDir uploads
//!   failing (`retrying` or `failed`) for some of the latest descriptors.
//! - **OK (0)**: every service published, every backend live, no failing upload.
//!
//! Performance data (all with a minimum of 0 and the total as maximum): `services_published`,
//! `backends_live`, `hsdirs_accepted` and `hsdirs_failing` (HSDir uploads of the latest
//! descriptors, summed over services and time periods).

use std::time::{Duration, SystemTime};

use onionfront_publish::status::ServiceStatus;
use onionfront_publish::{BackendHealth, KeyCoverage, PublishState, StatusReport, UploadState};

/// A state of the Nagios plugin convention; ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// 0.
    Ok,
    /// 1.
    Warning,
    /// 2.
    Critical,
    /// 3: the check could not tell.
    Unknown,
}

impl Severity {
    /// The exit code.
    pub fn code(self) -> u8 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Critical => 2,
            Severity::Unknown => 3,
        }
    }

    /// `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Ok => "OK",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
            Severity::Unknown => "UNKNOWN",
        }
    }
}

/// One performance data item: `label=value;;;0;max`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Perf {
    /// Its label.
    pub label: &'static str,
    /// Its value.
    pub value: usize,
    /// The total it is out of.
    pub max: usize,
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The state, and so the exit code.
    pub severity: Severity,
    /// One line: the problems, worst first, then the counts.
    pub summary: String,
    /// Empty when the daemon could not be asked.
    pub perfdata: Vec<Perf>,
}

impl Verdict {
    /// A verdict without a status document (the daemon could not be asked).
    pub fn failure(severity: Severity, summary: String) -> Verdict {
        Verdict {
            severity,
            summary,
            perfdata: Vec::new(),
        }
    }

    /// The monitoring plugin line: `ONIONFRONT WARNING - summary | a=1;;;0;2 ...`.
    pub fn nagios_line(&self) -> String {
        // `|` starts the performance data: keep it out of the text.
        let mut line = format!(
            "ONIONFRONT {} - {}",
            self.severity.label(),
            self.summary.replace('|', "/")
        );
        if !self.perfdata.is_empty() {
            line.push_str(" |");
            for p in &self.perfdata {
                line.push_str(&format!(" {}={};;;0;{}", p.label, p.value, p.max));
            }
        }
        line
    }
}

/// Judge `report` at `now` by the rules in the module doc.
pub fn assess(report: &StatusReport, now: SystemTime, startup_grace: Duration) -> Verdict {
    let daemon = report.daemon.as_ref();
    let uptime = daemon
        .and_then(|d| d.started.as_deref())
        .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
        .and_then(|started| now.duration_since(started).ok());
    // Unknown start time: no grace.
    let starting = uptime.is_some_and(|u| u < startup_grace);
    let mut problems: Vec<(Severity, String)> = Vec::new();

    if report.services.is_empty() {
        let bootstrap = daemon.map_or("unknown", |d| d.bootstrap.as_str());
        let (sev, when) = if starting {
            (Severity::Warning, "starting".to_string())
        } else {
            (Severity::Critical, running_for(uptime))
        };
        problems.push((
            sev,
            format!("{when}, no service running yet (bootstrap: {bootstrap})"),
        ));
    }
    for s in &report.services {
        problems.extend(service_problems(s, starting, uptime));
    }

    let perfdata = perfdata(report);
    let counts = perfdata
        .iter()
        .map(|p| format!("{} {}/{}", p.label.replace('_', " "), p.value, p.max))
        .collect::<Vec<_>>()
        .join(", ");
    problems.sort_by_key(|p| std::cmp::Reverse(p.0));
    let severity = problems.first().map_or(Severity::Ok, |p| p.0);
    let summary = if problems.is_empty() {
        counts
    } else {
        let text: Vec<&str> = problems.iter().map(|p| p.1.as_str()).collect();
        format!("{}; {counts}", text.join("; "))
    };
    Verdict {
        severity,
        summary,
        perfdata,
    }
}

/// What is wrong with one service, by the rules in the module doc.
fn service_problems(
    s: &ServiceStatus,
    starting: bool,
    uptime: Option<Duration>,
) -> Vec<(Severity, String)> {
    let name = short_onion(&s.onion_address);
    let not_yet = if starting {
        Severity::Warning
    } else {
        Severity::Critical
    };
    let ever_built = s.periods.iter().any(|p| p.last_built.is_some());
    let mut v = Vec::new();
    let coverage_end = s.key_coverage_end.as_deref().unwrap_or("unknown");
    match s.key_coverage {
        KeyCoverage::Covered => {}
        KeyCoverage::Ending => v.push((
            Severity::Warning,
            format!("{name}: key bundle ends {coverage_end}: provision a new one"),
        )),
        KeyCoverage::NotCovered => v.push((
            Severity::Critical,
            format!(
                "{name}: key bundle does not cover the current time period (ended \
                 {coverage_end}): nothing is published"
            ),
        )),
    }
    match s.state {
        PublishState::Published => {}
        PublishState::NoLiveBackend if ever_built => {
            v.push((Severity::Critical, format!("{name}: {}", s.message)));
        }
        PublishState::NoLiveBackend | PublishState::NotPublished | PublishState::Publishing => {
            let when = if starting {
                String::new()
            } else {
                format!(" ({})", running_for(uptime))
            };
            v.push((
                not_yet,
                format!("{name} not published: {}{when}", s.message),
            ));
        }
    }
    let not_live: Vec<String> = s
        .instances
        .iter()
        .filter(|i| i.health != BackendHealth::Live)
        .map(|i| {
            let label = i
                .name
                .clone()
                .unwrap_or_else(|| short_onion(&i.onion_address));
            format!("{label} {}", i.health)
        })
        .collect();
    if s.live_backends > 0 && !not_live.is_empty() {
        v.push((
            Severity::Warning,
            format!(
                "{name}: {}/{} backends live ({})",
                s.live_backends,
                s.instances.len(),
                not_live.join(", ")
            ),
        ));
    }
    let (failing, total) = s.periods.iter().fold((0, 0), |(f, t), p| {
        (f + failing_uploads(p), t + p.hsdirs.len())
    });
    if failing > 0 {
        v.push((
            Severity::Warning,
            format!("{name}: {failing}/{total} HSDir uploads failing"),
        ));
    }
    v
}

fn failing_uploads(p: &onionfront_publish::status::PeriodStatus) -> usize {
    p.hsdirs
        .iter()
        .filter(|h| matches!(h.state, UploadState::Retrying | UploadState::Failed))
        .count()
}

fn perfdata(report: &StatusReport) -> Vec<Perf> {
    let services = &report.services;
    let periods = || services.iter().flat_map(|s| s.periods.iter());
    let hsdirs = periods().map(|p| p.hsdirs.len()).sum();
    vec![
        Perf {
            label: "services_published",
            value: services
                .iter()
                .filter(|s| s.state == PublishState::Published)
                .count(),
            max: services.len(),
        },
        Perf {
            label: "backends_live",
            value: services.iter().map(|s| s.live_backends).sum(),
            max: services.iter().map(|s| s.instances.len()).sum(),
        },
        Perf {
            label: "hsdirs_accepted",
            value: periods()
                .map(|p| {
                    p.hsdirs
                        .iter()
                        .filter(|h| h.state == UploadState::Accepted)
                        .count()
                })
                .sum(),
            max: hsdirs,
        },
        Perf {
            label: "hsdirs_failing",
            value: periods().map(failing_uploads).sum(),
            max: hsdirs,
        },
    ]
}

fn running_for(uptime: Option<Duration>) -> String {
    match uptime {
        Some(u) => format!(
            "running for {}",
            humantime::format_duration(Duration::from_secs(u.as_secs()))
        ),
        None => "start time unknown".to_string(),
    }
}

/// `abcdefgh….onion`, as in the table.
pub fn short_onion(a: &str) -> String {
    match a.get(..8) {
        Some(p) => format!("{p}….onion"),
        None => a.to_string(),
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
