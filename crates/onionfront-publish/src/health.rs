//! Active health checks: per service and backend, whether a probe (a stream to
//! `backend.onion:port` through the network) says the backend answers.
//!
//! This module owns the probe bookkeeping ([`HealthState`], all of them in [`HealthChecks`]),
//! which probes are due ([`HealthChecks::due_probes`]), the probe itself ([`probe`], run in a
//! task by the reactor) and what a result means ([`HealthChecks::record`]).
//!
//! The rules, in prose:
//! - a backend is marked **down** after `failures` failed probes in a row, and **up** again after
//!   one successful probe;
//! - until its first verdict (a success, or `failures` failures) a backend is **pending**: failed
//!   probes are retried every [`UNKNOWN_RETRY`] instead of every `interval`, and it is kept out
//!   of the descriptors for at most [`verdict_grace`] (after that, a check that cannot conclude
//!   does not keep it out);
//! - a service without a health check sees every backend as up ([`HealthGate::Up`]).
//!
//! Whether a pending or down backend may be published is then the publication rules' business
//! (`rules.rs`), which read [`HealthChecks::gate`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use onionfront_core::OnionAddress;
use onionfront_core::config::HealthCheckConfig;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::network::Network;
use crate::spec::ServiceSpec;

/// A backend's standing with its service's health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthGate {
    /// No check, a successful last probe, or no verdict within the grace.
    Up,
    /// Failed `failures` probes in a row.
    Down,
    /// No verdict yet (kept out of the descriptors meanwhile).
    Pending,
}

/// One probe to run: a backend of a service, with that service's check.
#[derive(Debug, Clone)]
pub(crate) struct ProbeJob {
    /// The service whose check it is.
    pub(crate) service: OnionAddress,
    /// The backend probed.
    pub(crate) backend: OnionAddress,
    /// What logs call the backend ([`BackendSpec::label`](crate::BackendSpec::label)).
    pub(crate) label: String,
    /// The check (port, timeout).
    pub(crate) check: HealthCheckConfig,
}

/// What a probe found.
#[derive(Debug)]
pub(crate) struct ProbeReport {
    /// The service whose check it was.
    pub(crate) service: OnionAddress,
    /// The backend probed.
    pub(crate) backend: OnionAddress,
    /// What logs call the backend.
    pub(crate) label: String,
    /// Outcome.
    pub(crate) result: Result<(), String>,
}

/// Run one probe, bounded by the check's timeout.
pub(crate) async fn probe<N: Network>(net: Arc<N>, job: ProbeJob) -> ProbeReport {
    let hc = job.check;
    let result = match tokio::time::timeout(hc.timeout, net.probe(job.backend, hc.port)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {}",
            humantime::format_duration(hc.timeout)
        )),
    };
    ProbeReport {
        service: job.service,
        backend: job.backend,
        label: job.label,
        result,
    }
}

/// Every health check, by (service, backend).
#[derive(Debug, Default)]
pub(crate) struct HealthChecks {
    /// The checks.
    checks: HashMap<(OnionAddress, OnionAddress), HealthState>,
}

impl HealthChecks {
    /// The check of `backend` for `service`, if it has started.
    pub(crate) fn get(&self, service: OnionAddress, backend: OnionAddress) -> Option<&HealthState> {
        self.checks.get(&(service, backend))
    }

    /// What the health check of `spec` says of `backend` (`Up` when there is none).
    pub(crate) fn gate(
        &self,
        spec: &ServiceSpec,
        backend: OnionAddress,
        now: Instant,
    ) -> HealthGate {
        let Some(hc) = &spec.health_check else {
            return HealthGate::Up;
        };
        match self.checks.get(&(spec.address, backend)) {
            None => HealthGate::Pending, // its first probe starts at the next tick
            Some(h) if h.down => HealthGate::Down,
            Some(h) if h.pending(now, hc) => HealthGate::Pending,
            Some(_) => HealthGate::Up,
        }
    }

    /// The probes due now for `services` (each marked as under way).
    pub(crate) fn due_probes<'a>(
        &mut self,
        services: impl Iterator<Item = &'a ServiceSpec>,
        now: Instant,
    ) -> Vec<ProbeJob> {
        let mut due = Vec::new();
        for spec in services {
            let Some(check) = spec.health_check else {
                continue;
            };
            for backend in &spec.backends {
                let state = self
                    .checks
                    .entry((spec.address, backend.address))
                    .or_insert_with(|| HealthState::new(now));
                if state.probing || state.next_probe > now {
                    continue;
                }
                state.probing = true;
                due.push(ProbeJob {
                    service: spec.address,
                    backend: backend.address,
                    label: backend.label().to_string(),
                    check,
                });
            }
        }
        due
    }

    /// Record a probe of a service whose check is `hc`; returns whether a publication check is
    /// called for (a first verdict, or the backend went down or came back).
    pub(crate) fn record(
        &mut self,
        report: ProbeReport,
        hc: &HealthCheckConfig,
        wall: SystemTime,
        now: Instant,
    ) -> bool {
        let ProbeReport {
            service,
            backend,
            label,
            result,
        } = report;
        let Some(state) = self.checks.get_mut(&(service, backend)) else {
            return false;
        };
        state.probing = false;
        let was_known = state.known;
        let error = result.as_ref().err().cloned();
        let flipped = state.record(result, hc.failures, wall);
        state.next_probe = now + state.next_delay(hc.interval);
        let mut check = false;
        if !was_known && state.known {
            info!(service = %service.short(), backend = %label,
                up = !state.down, "health check: first verdict");
            check = true; // a first publication may be waiting for it
        }
        if flipped {
            if state.down {
                warn!(service = %service.short(), backend = %label,
                    failures = state.consecutive_failures, error = error.as_deref().unwrap_or(""),
                    "health check: backend DOWN");
            } else {
                info!(service = %service.short(), backend = %label, "health check: backend back UP");
            }
            check = true;
        } else if let Some(e) = error {
            debug!(service = %service.short(), backend = %label, error = %e,
                failures = state.consecutive_failures, "health probe failed");
        }
        check
    }

    /// Keep only the checks of `services` that have a health check.
    pub(crate) fn retain_for<'a>(&mut self, services: impl Iterator<Item = &'a ServiceSpec>) {
        let pairs: HashSet<(OnionAddress, OnionAddress)> = services
            .filter(|s| s.health_check.is_some())
            .flat_map(|s| s.backends.iter().map(move |b| (s.address, b.address)))
            .collect();
        self.checks.retain(|k, _| pairs.contains(k));
    }
}

/// The active health check of one backend for one service.
#[derive(Debug, Clone)]
pub(crate) struct HealthState {
    /// Consecutive failed probes.
    pub(crate) consecutive_failures: u32,
    /// Marked down (failures reached the threshold; one success clears it).
    pub(crate) down: bool,
    /// A verdict exists: a probe succeeded, or `failures` probes in a row failed. Until then
    /// failed probes are retried sooner ([`HealthState::next_delay`]) and a first publication
    /// waits (within the startup grace) so that a backend already dead is never published.
    pub(crate) known: bool,
    /// A probe is under way.
    pub(crate) probing: bool,
    /// When the next probe is due.
    pub(crate) next_probe: Instant,
    /// Last probe time and error.
    pub(crate) last_probe: Option<(SystemTime, Option<String>)>,
    /// When the check started (service start, or the backend added on reload).
    pub(crate) since: Instant,
}

impl HealthState {
    /// Not probed yet: counts as up.
    pub(crate) fn new(now: Instant) -> Self {
        HealthState {
            consecutive_failures: 0,
            down: false,
            known: false,
            probing: false,
            next_probe: now,
            last_probe: None,
            since: now,
        }
    }

    /// Record a probe result; returns whether `down` flipped.
    pub(crate) fn record(
        &mut self,
        result: Result<(), String>,
        failures_to_down: u32,
        now: SystemTime,
    ) -> bool {
        let was_down = self.down;
        match result {
            Ok(()) => {
                self.consecutive_failures = 0;
                self.down = false;
                self.known = true;
                self.last_probe = Some((now, None));
            }
            Err(e) => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                if self.consecutive_failures >= failures_to_down.max(1) {
                    self.down = true;
                    self.known = true;
                }
                self.last_probe = Some((now, Some(e)));
            }
        }
        was_down != self.down
    }

    /// Whether the backend waits for its first verdict before being published: no verdict
    /// yet, and less than [`verdict_grace`] since the check started (after that, a check that
    /// cannot conclude does not keep a backend out).
    pub(crate) fn pending(&self, now: Instant, hc: &HealthCheckConfig) -> bool {
        !self.known && now < self.since + verdict_grace(hc)
    }

    /// Delay before the next probe: `interval`, or at most [`UNKNOWN_RETRY`] while no verdict
    /// exists yet (a backend dead at startup is then known within seconds, not `failures ×
    /// interval`).
    pub(crate) fn next_delay(&self, interval: Duration) -> Duration {
        if self.known {
            interval
        } else {
            interval.min(UNKNOWN_RETRY)
        }
    }
}

/// How long a backend without a health verdict is kept out of the descriptors: long enough
/// for `failures` probes that each time out, retried every [`UNKNOWN_RETRY`], plus a margin;
/// at least 90 s.
pub(crate) fn verdict_grace(hc: &HealthCheckConfig) -> Duration {
    let retry = hc.interval.min(UNKNOWN_RETRY);
    let probes = (hc.timeout + retry).saturating_mul(hc.failures.max(1));
    (probes + Duration::from_secs(30)).max(Duration::from_secs(90))
}

/// Probe retry while a backend's health is unknown.
pub(crate) const UNKNOWN_RETRY: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_goes_down_after_n_failures_and_back_after_one_success() {
        let mut h = HealthState::new(Instant::now());
        let t = SystemTime::UNIX_EPOCH;
        let interval = Duration::from_secs(30);
        assert!(!h.known);
        let hc = HealthCheckConfig {
            port: 80,
            interval,
            failures: 3,
            timeout: Duration::from_secs(30),
        };
        // 3 probes timing out after 30 s, 5 s apart, + 30 s: 135 s.
        assert_eq!(verdict_grace(&hc), Duration::from_secs(135));
        assert!(h.pending(h.since, &hc));
        assert!(!h.pending(h.since + Duration::from_secs(135), &hc));
        assert_eq!(h.next_delay(interval), UNKNOWN_RETRY);
        assert!(!h.record(Err("x".into()), 3, t));
        assert!(!h.record(Err("x".into()), 3, t));
        assert!(!h.known);
        assert!(h.record(Err("x".into()), 3, t));
        assert!(h.down);
        assert!(h.known);
        assert!(!h.pending(h.since, &hc));
        assert_eq!(h.next_delay(interval), interval);
        assert!(!h.record(Err("x".into()), 3, t));
        assert!(h.record(Ok(()), 3, t));
        assert!(!h.down);
        assert_eq!(h.consecutive_failures, 0);
    }
}
