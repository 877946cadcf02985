//! Per-backend history: revision counters per time period, replay detection, staleness.
//!
//! Liveness does not trust "we could fetch it": a dead backend's last descriptor stays on the
//! HSDirs for its whole lifetime. A live C tor backend republishes at least every 60–120 minutes
//! with a higher revision counter, so the tracker remembers when the counter last *advanced*:
//! - `last_advanced` is set at the first observation ever, and whenever a period already seen
//!   gets a higher counter;
//! - the first sighting of a *new* period's descriptor does not count (a dead backend's
//!   next-period descriptor is already on the HSDirs);
//! - a lower counter than one seen for the same period is a replay and is rejected; an equal one
//!   is "unchanged".
//!
//! A descriptor is also treated as expired once its revision was first seen longer ago than its
//! `descriptor-lifetime` (HSDirs drop it by then, so whoever still serves it is misbehaving), or
//! once its certificates expire.
//!
//! What must survive a restart (the highest counter per period, when it was first seen, and when
//! the counter last advanced) is a [`TrackerHistory`]: [`BackendTracker::history`] takes it and
//! [`BackendTracker::from_history`] starts from it, so replays are refused and a dead backend
//! stays stale after a restart exactly as before it. (The scheduler saves it in the state
//! folder.) The latest descriptor itself is not kept: the first fetch after a restart brings it.

use std::time::{Duration, SystemTime};

use tor_hscrypto::time::TimePeriod;
use tracing::debug;

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

impl Liveness {
    /// Whether the backend's intro points may be published.
    pub fn is_live(&self) -> bool {
        matches!(self, Liveness::Live)
    }
}

/// Periods remembered per backend (the current one, its neighbours, and a spare).
const PERIODS_KEPT: usize = 4;

/// The highest counter seen in one period.
#[derive(Debug, Clone, Copy)]
struct PeriodRecord {
    /// The period.
    period: TimePeriod,
    /// Highest revision counter seen.
    revision: u64,
    /// When that revision was first seen.
    first_seen: SystemTime,
}

/// The part of a backend's history that survives a restart (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackerHistory {
    /// Highest counter per period (at most the last few periods are kept).
    pub periods: Vec<PeriodHistory>,
    /// When the counter last advanced (or the backend was first seen).
    pub last_advanced: Option<SystemTime>,
}

/// The highest revision counter seen in one period, and when it was first seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodHistory {
    /// The period.
    pub period: TimePeriod,
    /// Highest revision counter seen.
    pub revision: u64,
    /// When that revision was first seen.
    pub first_seen: SystemTime,
}

/// History of one backend.
#[derive(Debug, Clone, Default)]
pub struct BackendTracker {
    /// The most recent valid descriptor (of the newest period seen).
    latest: Option<ValidatedDescriptor>,
    /// When `latest`'s revision was first seen.
    latest_first_seen: Option<SystemTime>,
    /// Highest counter per period, newest period last.
    periods: Vec<PeriodRecord>,
    /// When the counter last advanced (or the backend was first seen).
    last_advanced: Option<SystemTime>,
    /// When a valid descriptor was last observed (any outcome but a replay).
    last_observed: Option<SystemTime>,
}

impl BackendTracker {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker that remembers `history` (an earlier run's): per period, the highest counter
    /// (one record per period, the highest if several; the newest periods kept), and when the
    /// counter last advanced. No descriptor yet: liveness is `Unknown` until the next one.
    pub fn from_history(history: TrackerHistory) -> Self {
        let mut periods: Vec<PeriodRecord> = Vec::new();
        for p in history.periods {
            match periods.iter_mut().find(|r| r.period == p.period) {
                Some(r) if r.revision >= p.revision => {}
                Some(r) => {
                    r.revision = p.revision;
                    r.first_seen = p.first_seen;
                }
                None => periods.push(PeriodRecord {
                    period: p.period,
                    revision: p.revision,
                    first_seen: p.first_seen,
                }),
            }
        }
        periods.sort_by_key(|r| r.period.interval_num());
        let excess = periods.len().saturating_sub(PERIODS_KEPT);
        periods.drain(..excess);
        BackendTracker {
            periods,
            last_advanced: history.last_advanced,
            ..BackendTracker::default()
        }
    }

    /// What must survive a restart (see [`BackendTracker::from_history`]).
    pub fn history(&self) -> TrackerHistory {
        TrackerHistory {
            periods: self
                .periods
                .iter()
                .map(|r| PeriodHistory {
                    period: r.period,
                    revision: r.revision,
                    first_seen: r.first_seen,
                })
                .collect(),
            last_advanced: self.last_advanced,
        }
    }

    /// Record a validated descriptor fetched at `now`. A lower counter than one seen for the same
    /// period is a replay and is rejected.
    pub fn observe(
        &mut self,
        desc: ValidatedDescriptor,
        now: SystemTime,
    ) -> Result<Observation, Rejection> {
        let period = desc.period.time_period;
        let revision = desc.revision;
        let first_ever = self.last_advanced.is_none();

        let (outcome, first_seen) = match self.periods.iter_mut().find(|r| r.period == period) {
            Some(rec) if revision < rec.revision => {
                return Err(Rejection::Replay {
                    revision,
                    seen: rec.revision,
                });
            }
            Some(rec) if revision == rec.revision => (Observation::Unchanged, rec.first_seen),
            Some(rec) => {
                rec.revision = revision;
                rec.first_seen = now;
                self.last_advanced = Some(now);
                (Observation::Advanced, now)
            }
            None => {
                self.periods.push(PeriodRecord {
                    period,
                    revision,
                    first_seen: now,
                });
                self.periods.sort_by_key(|r| r.period.interval_num());
                if self.periods.len() > PERIODS_KEPT {
                    self.periods.remove(0);
                }
                if first_ever {
                    self.last_advanced = Some(now);
                }
                (Observation::New, now)
            }
        };
        self.last_observed = Some(now);

        let newer_or_same_period = self
            .latest
            .as_ref()
            .is_none_or(|l| l.period.interval_num() <= desc.period.interval_num());
        if newer_or_same_period {
            // No backend address in logs (docs/operations.md); the caller's log names it.
            debug!(
                period = desc.period.interval_num(),
                revision,
                ?outcome,
                "backend descriptor observed"
            );
            self.latest = Some(desc);
            self.latest_first_seen = Some(first_seen);
        }
        Ok(outcome)
    }

    /// Liveness at `now`, given the configured staleness limit.
    pub fn liveness(&self, now: SystemTime, stale_after: Duration) -> Liveness {
        let Some(latest) = &self.latest else {
            return Liveness::Unknown;
        };
        if now >= latest.valid_until {
            return Liveness::Expired;
        }
        // (An overflowing sum is a time that never comes.)
        if let Some(dropped_at) = self
            .latest_first_seen
            .and_then(|t| t.checked_add(latest.lifetime))
            && now >= dropped_at
        {
            return Liveness::Expired;
        }
        let since = self.last_advanced.unwrap_or(now);
        if since.checked_add(stale_after).is_some_and(|t| now >= t) {
            return Liveness::Stale { since };
        }
        Liveness::Live
    }

    /// The most recent valid descriptor, if any.
    pub fn latest(&self) -> Option<&ValidatedDescriptor> {
        self.latest.as_ref()
    }

    /// When the revision counter last advanced (or the backend was first seen).
    pub fn last_advanced(&self) -> Option<SystemTime> {
        self.last_advanced
    }

    /// When a valid descriptor was last observed.
    pub fn last_observed(&self) -> Option<SystemTime> {
        self.last_observed
    }

    /// The highest revision counter seen in `period`.
    pub fn revision_in(&self, period: &TimePeriod) -> Option<u64> {
        self.periods
            .iter()
            .find(|r| r.period == *period)
            .map(|r| r.revision)
    }
}
