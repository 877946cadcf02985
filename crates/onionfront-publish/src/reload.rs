//! Applying a spec to the state: at start and on every reload ([`State::apply_spec`]).
//!
//! The rules, in prose:
//! - a service is matched by its address; an unchanged one ([`ServiceSpec::same_as`]) keeps all
//!   its state and is not republished; a changed one keeps its state too, and is republished at
//!   once only when the publication rules say a reload calls for it
//!   ([`crate::rules::reload_republishes`]: its restricted-discovery clients changed);
//! - a new service starts with no state; a removed one is dropped, which aborts its uploads;
//! - backends are shared: one that a new spec adds is fetched at once, one no service lists any
//!   more is dropped, and a backend's name is the one the first service naming it gives;
//! - a dropped backend's revision history is parked, and a backend that a spec adds takes its
//!   parked history back (one dropped by an earlier reload, or saved by an earlier run): a
//!   descriptor older than one seen before stays a replay (issue #12, item 8);
//! - health checks are kept for the (service, backend) pairs that still have a check.

use std::collections::BTreeMap;

use onionfront_core::OnionAddress;
use onionfront_core::descriptor::BackendTracker;
use tokio::time::Instant;

use crate::BackendSpec;
use crate::backends::BackendState;
use crate::periods::ServicePublications;
use crate::rules::reload_republishes;
use crate::spec::{ReloadSummary, ServiceSpec};
use crate::state::State;

impl State {
    /// Apply the services of a spec (initial or reload) and return what changed.
    pub(crate) fn apply_spec(&mut self, specs: Vec<ServiceSpec>, now: Instant) -> ReloadSummary {
        let mut summary = ReloadSummary::default();
        let mut old: Vec<ServicePublications> = std::mem::take(&mut self.services);
        for spec in specs {
            if let Some(pos) = old.iter().position(|s| s.spec.address == spec.address) {
                let mut state = old.remove(pos);
                if state.spec.same_as(&spec) {
                    summary.unchanged.push(spec.address);
                } else {
                    state.auth_clients_changed =
                        reload_republishes(state.spec.same_auth_clients(&spec));
                    summary.changed.push(spec.address);
                }
                state.spec = spec;
                self.services.push(state);
            } else {
                summary.added.push(spec.address);
                self.services.push(ServicePublications::new(spec));
            }
        }
        summary.removed = old.iter().map(|s| s.spec.address).collect();
        drop(old); // aborts their uploads
        self.apply_backends(now);
        self.health
            .retain_for(self.services.iter().map(|s| &s.spec));
        summary
    }

    /// Backends: add new ones (fetched at once, with their parked history if any), drop
    /// unreferenced ones (parking their history), refresh names and log labels. A backend in
    /// several services takes the first spec that names it (else the first spec).
    fn apply_backends(&mut self, now: Instant) {
        let mut wanted: BTreeMap<OnionAddress, BackendSpec> = BTreeMap::new();
        for s in &self.services {
            for b in &s.spec.backends {
                let entry = wanted.entry(b.address).or_insert_with(|| b.clone());
                if entry.name.is_none() && b.name.is_some() {
                    *entry = b.clone();
                }
            }
        }
        let dropped = self.backends.extract_if(.., |a, _| !wanted.contains_key(a));
        for (address, b) in dropped {
            let history = b.tracker.history();
            if !history.periods.is_empty() {
                self.parked_histories.insert(address, history);
            }
        }
        for (address, spec) in wanted {
            match self.backends.get_mut(&address) {
                Some(b) => b.backend = spec,
                None => {
                    let mut b = BackendState::new(spec, now);
                    if let Some(history) = self.parked_histories.remove(&address) {
                        b.tracker = BackendTracker::from_history(history);
                    }
                    self.backends.insert(address, b);
                }
            }
        }
    }
}
