//! Turning the reactor's [`State`] into a [`StatusReport`]: it reads the state as it is and
//! decides nothing.
//!
//! How the words are chosen, in prose:
//! - a service is `no-live-backend` when none of its backends is live (whether or not a
//!   descriptor is kept on the HSDirs, which the message says), else `published` when every
//!   period it has a key for was accepted by at least one HSDir, else `publishing` when uploads
//!   were started, else `not-published`;
//! - its key coverage (offline keys) is `not-covered` when the period containing now has no key
//!   (or the bundle ended), else `ending` within `publish.offline-keys-warn` of the bundle's
//!   end, else `covered` (always `covered` with the identity key); when `not-covered`, the
//!   message says so whatever the state;
//! - a backend is `down` when its health check says so, else its descriptor's liveness
//!   (`live`, `stale`, `expired`, `unknown`), except that a live one still waiting for its first
//!   health verdict is `unknown`;
//! - an HSDir upload is `accepted`, else `retrying` or `failed` after a failed attempt (as the
//!   upload task said), else `pending`.

use std::time::SystemTime;

use onionfront_core::descriptor::Liveness;
use tokio::time::Instant;

use crate::health::HealthGate;
use crate::periods::{PeriodState, ServicePublications};
use crate::state::State;
use crate::status::{
    BackendHealth, HealthCheckStatus, HsDirStatus, InstanceStatus, KeyCoverage, KeySource,
    PeriodStatus, PublishState, ServiceStatus, StatusReport, UploadState, ob_time, rfc3339,
};

/// The report for the whole state, at `wall` (wall clock) and `now` (monotonic).
pub(crate) fn build_report(s: &State, wall: SystemTime, now: Instant) -> StatusReport {
    StatusReport {
        services: s
            .services
            .iter()
            .map(|svc| service_status(s, svc, wall, now))
            .collect(),
        daemon: None,
        counters: s.counters.clone(),
    }
}

fn service_status(
    s: &State,
    svc: &ServicePublications,
    wall: SystemTime,
    now: Instant,
) -> ServiceStatus {
    let mut periods: Vec<&PeriodState> = svc.periods.values().collect();
    periods.sort_by_key(|p| p.period.interval_num());
    let attempt = |p: Option<&&PeriodState>| {
        p.and_then(|p| p.uploads.iter().filter_map(|u| u.last_attempt).max())
            .map(ob_time)
    };
    let instances = svc
        .spec
        .backends
        .iter()
        .map(|b| {
            let state = s.backends.get(&b.address);
            let latest = state.and_then(|st| st.tracker.latest());
            let health_check = svc.spec.health_check.map(|hc| {
                let h = s.health.get(svc.spec.address, b.address);
                HealthCheckStatus {
                    port: hc.port,
                    consecutive_failures: h.map_or(0, |h| h.consecutive_failures),
                    down: h.is_some_and(|h| h.down),
                    last_probe: h
                        .and_then(|h| h.last_probe.as_ref())
                        .map(|(t, _)| rfc3339(*t)),
                    last_error: h
                        .and_then(|h| h.last_probe.as_ref())
                        .and_then(|(_, e)| e.clone()),
                }
            });
            let liveness = s.liveness(b.address, wall);
            let (health, reason) = if health_check.as_ref().is_some_and(|h| h.down) {
                let h = health_check.as_ref();
                (
                    BackendHealth::Down,
                    format!(
                        "health check failed {} times in a row: {}",
                        h.map_or(0, |h| h.consecutive_failures),
                        h.and_then(|h| h.last_error.clone()).unwrap_or_default()
                    ),
                )
            } else {
                match liveness {
                    Liveness::Live
                        if s.health.gate(&svc.spec, b.address, now) == HealthGate::Pending =>
                    {
                        (
                            BackendHealth::Unknown,
                            "valid descriptor; waiting for the first health check verdict".into(),
                        )
                    }
                    Liveness::Live => (
                        BackendHealth::Live,
                        "valid descriptor, revision counter advancing".into(),
                    ),
                    Liveness::Unknown => (
                        BackendHealth::Unknown,
                        state
                            .and_then(|st| st.last_fetch.as_ref())
                            .and_then(|(_, r)| r.clone().err())
                            .unwrap_or_else(|| "no descriptor fetched yet".into()),
                    ),
                    Liveness::Stale { since } => (
                        BackendHealth::Stale,
                        format!("revision counter has not advanced since {}", rfc3339(since)),
                    ),
                    Liveness::Expired => (
                        BackendHealth::Expired,
                        "latest descriptor has expired".into(),
                    ),
                }
            };
            let intro_points_published = svc
                .periods
                .values()
                .filter_map(|p| p.published.as_ref())
                .map(|p| p.per_backend.get(&b.address).copied().unwrap_or(0))
                .max()
                .unwrap_or(0);
            InstanceStatus {
                onion_address: b.address.to_string(),
                intro_set_modified: state.and_then(|st| st.intro_set_modified).map(ob_time),
                intro_points_num: latest.map(|d| d.intro_points.len()),
                descriptor_received: state.and_then(|st| st.last_received).map(ob_time),
                received: if latest.is_none() { Some(None) } else { None },
                name: b.name.clone(),
                health,
                reason,
                revision_counter: latest.map(|d| d.revision),
                revision_advanced: state.and_then(|st| st.tracker.last_advanced()).map(rfc3339),
                last_fetch: state
                    .and_then(|st| st.last_fetch.as_ref())
                    .map(|(t, _)| rfc3339(*t)),
                last_fetch_result: state.and_then(|st| st.last_fetch.as_ref()).map(
                    |(_, r)| match r {
                        Ok(()) => "ok".to_string(),
                        Err(e) => e.clone(),
                    },
                ),
                health_check,
                intro_points_published,
            }
        })
        .collect();
    let period_status: Vec<PeriodStatus> = periods.iter().map(|p| period_status(p)).collect();
    // Periods without a key are never published (rules 2.0): they do not hold `published` back.
    let keyed: Vec<&&PeriodState> = periods.iter().filter(|p| !p.no_key).collect();
    let all_published = !keyed.is_empty() && keyed.iter().all(|p| p.ever_accepted);
    let (key_source, key_coverage_end, key_coverage) =
        key_coverage(svc, &periods, wall, s.publish.offline_keys_warn);
    let any_in_flight = periods.iter().any(|p| p.published.is_some());
    let (state, message) = if svc.live_backends == 0 && any_in_flight {
        (
            PublishState::NoLiveBackend,
            "no live backend: the last published descriptor is kept on the HSDirs".to_string(),
        )
    } else if svc.live_backends == 0 {
        (
            PublishState::NoLiveBackend,
            "no live backend yet: nothing published".to_string(),
        )
    } else if all_published {
        let total: usize = period_status.iter().map(|p| p.total).sum();
        let accepted: usize = period_status.iter().map(|p| p.accepted).sum();
        (
            PublishState::Published,
            format!("{accepted}/{total} HSDir uploads accepted for the latest descriptors"),
        )
    } else if any_in_flight {
        (
            PublishState::Publishing,
            "uploads under way, no HSDir has accepted yet".to_string(),
        )
    } else {
        (
            PublishState::NotPublished,
            "waiting for backend descriptors".to_string(),
        )
    };
    let message = if key_coverage == KeyCoverage::NotCovered {
        format!(
            "the key bundle does not cover the current time period: nothing is published for it \
             (descriptors already on the HSDirs stay until they expire); provision a new bundle \
             and reload ({message})"
        )
    } else {
        message
    };
    ServiceStatus {
        onion_address: svc.spec.address.to_string(),
        publish_attempt_first_descriptor: attempt(periods.first()),
        publish_attempt_second_descriptor: if periods.len() > 1 {
            attempt(periods.last())
        } else {
            None
        },
        instances,
        state,
        message,
        live_backends: svc.live_backends,
        periods: period_status,
        key_source,
        key_coverage_end: key_coverage_end.map(rfc3339),
        key_coverage,
    }
}

/// What signs, until when, and how far that reaches at `wall`: `not-covered` when the period
/// containing `wall` has no key (or the keys ended), `ending` within `warn` of the end.
fn key_coverage(
    svc: &ServicePublications,
    periods: &[&PeriodState],
    wall: SystemTime,
    warn: std::time::Duration,
) -> (KeySource, Option<SystemTime>, KeyCoverage) {
    let keys = &svc.spec.keys;
    let Some(end) = keys.coverage_end() else {
        return (KeySource::Identity, None, KeyCoverage::Covered);
    };
    let current_uncovered = periods
        .iter()
        .any(|p| p.period.contains(wall) && !keys.covers(p.period.time_period));
    let coverage = if current_uncovered || end <= wall {
        KeyCoverage::NotCovered
    } else if end.duration_since(wall).unwrap_or_default() < warn {
        KeyCoverage::Ending
    } else {
        KeyCoverage::Covered
    };
    (KeySource::Bundle, Some(end), coverage)
}

fn period_status(p: &PeriodState) -> PeriodStatus {
    let published = p.published.as_ref();
    PeriodStatus {
        time_period: p.period.interval_num(),
        period_start: p.period.time_period.range().ok().map(|r| rfc3339(r.start)),
        revision_counter: p.revision(),
        intro_points: published.map_or(0, |pb| pb.intro_points),
        descriptors: published.map_or(0, |pb| pb.descriptors),
        last_built: published.map(|pb| rfc3339(pb.at)),
        last_reason: published.map(|pb| pb.reason.to_string()).or_else(|| {
            p.build_error
                .as_ref()
                .map(|f| format!("build failed: {}", f.message))
        }),
        accepted: p.accepted(),
        total: p.uploads.len(),
        hsdirs: p
            .uploads
            .iter()
            .map(|u| HsDirStatus {
                hsdir: u.hsdir.to_string(),
                descriptor: u.descriptor,
                state: match (&u.accepted, &u.last_error) {
                    (Some(_), _) => UploadState::Accepted,
                    (None, Some((_, true))) => UploadState::Retrying,
                    (None, Some((_, false))) => UploadState::Failed,
                    (None, None) => UploadState::Pending,
                },
                attempts: u.attempts,
                last_attempt: u.last_attempt.map(rfc3339),
                last_accepted: u.accepted.map(rfc3339),
                revision: u.revision,
                last_error: u.last_error.as_ref().map(|(e, _)| e.to_string()),
            })
            .collect(),
        no_key: p.no_key,
    }
}
