//! Everything the reactor knows, in one value: the services with their publication state, every
//! backend once, the health checks and the counters ([`State`]), and the facts the publication
//! rules read from it ([`State::service_facts`], [`State::live_backends`]).
//!
//! The reactor owns the only `State` and changes it only from its own task; the status report
//! (`status_report.rs`) reads it as it is. Which backends are *live* for a service is answered
//! here: its descriptor is live (`onionfront_core::descriptor::Liveness::Live`) and its health
//! check says up (`health.rs`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use onionfront_core::OnionAddress;
use onionfront_core::config::PublishConfig;
use onionfront_core::descriptor::Liveness;
use onionfront_core::select::BackendIntros;
use tokio::time::Instant;

use crate::backends::BackendState;
use crate::health::{HealthChecks, HealthGate};
use crate::history::Histories;
use crate::periods::ServicePublications;
use crate::rules::{ServiceFacts, republish_due};
use crate::spec::ServiceSpec;
use crate::status::Counters;

/// The reactor's state.
#[derive(Debug)]
pub(crate) struct State {
    /// Intervals and limits.
    pub(crate) publish: PublishConfig,
    /// Services, in config order.
    pub(crate) services: Vec<ServicePublications>,
    /// Every backend of every service, once.
    pub(crate) backends: BTreeMap<OnionAddress, BackendState>,
    /// Health checks by (service, backend).
    pub(crate) health: HealthChecks,
    /// Cumulative counters.
    pub(crate) counters: Counters,
    /// Revision histories of backends no service lists now (dropped by a reload, or saved by
    /// an earlier run for a backend not in this config): a backend listed again takes its
    /// history back (`reload.rs`), so its replay protection survives; kept as `history.rs`
    /// says ([`crate::history::prune_parked`]).
    pub(crate) parked_histories: Histories,
}

impl State {
    /// Nothing yet: [`State::apply_spec`] adds the services.
    pub(crate) fn new(publish: PublishConfig) -> Self {
        State {
            publish,
            services: Vec::new(),
            backends: BTreeMap::new(),
            health: HealthChecks::default(),
            counters: Counters::default(),
            parked_histories: Histories::new(),
        }
    }

    /// The facts of rule 1 (`rules.rs`) for `spec`, whose live backends are `live`.
    pub(crate) fn service_facts(
        &self,
        spec: &ServiceSpec,
        first_publication: bool,
        startup_over: bool,
        live: usize,
        wall: SystemTime,
        now: Instant,
    ) -> ServiceFacts {
        let fetched = |b: &crate::spec::BackendSpec| {
            self.backends
                .get(&b.address)
                .is_some_and(|s| s.fetched_once)
        };
        ServiceFacts {
            any_fetched: spec.backends.iter().any(fetched),
            all_fetched: spec.backends.iter().all(fetched),
            first_publication,
            startup_over,
            // Only read within the grace (rule 1.2): not worth computing otherwise.
            health_pending: first_publication
                && !startup_over
                && self.health_pending(spec, wall, now),
            live_backends: live,
        }
    }

    /// Whether a health check of `spec` has no verdict yet for a backend that is otherwise
    /// live (a first publication waits for it, within the startup grace).
    fn health_pending(&self, spec: &ServiceSpec, wall: SystemTime, now: Instant) -> bool {
        spec.backends.iter().any(|b| {
            self.liveness(b.address, wall) == Liveness::Live
                && self.health.gate(spec, b.address, now) == HealthGate::Pending
        })
    }

    /// Liveness of a backend's descriptor history (`Unknown` for one not tracked).
    pub(crate) fn liveness(&self, backend: OnionAddress, wall: SystemTime) -> Liveness {
        self.backends.get(&backend).map_or(Liveness::Unknown, |s| {
            s.liveness(wall, self.publish.stale_after)
        })
    }

    /// The backends of `spec` whose intro points may be published, with their intro points:
    /// a live descriptor and a health check (if any) that says up.
    pub(crate) fn live_backends(
        &self,
        spec: &ServiceSpec,
        wall: SystemTime,
        now: Instant,
    ) -> Vec<BackendIntros> {
        let mut live = Vec::new();
        for b in &spec.backends {
            let Some(state) = self.backends.get(&b.address) else {
                continue;
            };
            if state.liveness(wall, self.publish.stale_after) != Liveness::Live {
                continue;
            }
            if self.health.gate(spec, b.address, now) != HealthGate::Up {
                continue; // down, or waiting for its first verdict
            }
            if let Some(desc) = state.tracker.latest() {
                live.push(BackendIntros {
                    address: b.address,
                    intro_points: desc.intro_points.clone(),
                });
            }
        }
        live
    }

    /// Whether some period's republish interval has elapsed.
    pub(crate) fn refresh_due(&self, now: Instant) -> bool {
        self.services.iter().any(|s| {
            s.periods.values().any(|p| {
                p.published.as_ref().is_some_and(|pb| {
                    republish_due(pb.at_instant, self.publish.republish_interval, now)
                })
            })
        })
    }
}
