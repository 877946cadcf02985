//! Per-backend history: revision counters per time period, replay detection, staleness.

use std::time::{Duration, SystemTime};

use super::validate::{Rejection, ValidatedDescriptor};

/// What an observation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// First descriptor of this backend for this period.
    New,
    /// Higher revision counter than before (the backend republished).
    Advanced,
    /// Same revision counter as the last one seen.
    Unchanged,
}

/// Whether a backend's intro points may be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// No valid descriptor yet.
    Unknown,
    /// Valid and advancing.
    Live,
    /// Valid descriptor, but its revision counter stopped advancing at the given time.
    Stale {
        /// When the counter last advanced (or was first seen).
        since: SystemTime,
    },
    /// The latest descriptor expired.
    Expired,
}

/// History of one backend.
#[derive(Debug, Clone, Default)]
pub struct BackendTracker {
    latest: Option<ValidatedDescriptor>,
}

impl BackendTracker {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a validated descriptor fetched at `now`. A lower counter than one seen for the same
    /// period is a replay and is rejected.
    pub fn observe(
        &mut self,
        desc: ValidatedDescriptor,
        _now: SystemTime,
    ) -> Result<Observation, Rejection> {
        self.latest = Some(desc);
        Ok(Observation::New)
    }

    /// Liveness at `now`, given the configured staleness limit.
    pub fn liveness(&self, _now: SystemTime, _stale_after: Duration) -> Liveness {
        if self.latest.is_some() {
            Liveness::Live
        } else {
            Liveness::Unknown
        }
    }

    /// The most recent valid descriptor, if any.
    pub fn latest(&self) -> Option<&ValidatedDescriptor> {
        self.latest.as_ref()
    }
}
