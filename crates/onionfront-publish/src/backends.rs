//! What the scheduler knows about each backend: descriptor history (liveness by revision
//! counter) and fetch bookkeeping ([`BackendState`]), and what a finished fetch changes
//! ([`BackendState::record_fetch`]).
//!
//! A backend shared by several services has one [`BackendState`] (it is fetched once). The
//! rules, in prose:
//! - a fetch round that succeeds schedules the next one as `rules.rs` rule 5 says
//!   (`fetch-interval` later, sooner while the backend's intro points churn); one that fails
//!   is retried with backoff from 15 s, never later than `fetch-interval`;
//! - a fetch is *news* (worth a publication check) when it is the backend's first, or when it
//!   brought a new or advanced descriptor; an unchanged descriptor or another failure is not
//!   (staleness is a matter of time passing, re-evaluated by the reactor's timer);
//! - liveness itself (valid, not expired, revision counter advancing within `stale-after`) is
//!   `onionfront_core::descriptor`'s. Health checks are per service: `health.rs`;
//! - a fetch asks for nothing older than the highest revision counter the history holds for
//!   the period ([`BackendState::fetch_target`]); the history is saved (`history.rs`) whenever
//!   a fetch changed it (a new period or an advanced counter, not an unchanged descriptor);
//! - its `flow-control` line goes into the main descriptor only while clients accept it under
//!   the current consensus' `cc_sendme_inc` ([`BackendState::flow_control_under`]); one they
//!   would refuse is left out with a warning naming the backend (once per consensus value).

use std::num::NonZeroU8;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use onionfront_core::descriptor::{
    BackendTracker, Liveness, Observation, ValidatedDescriptor, check_flow_control,
};
use onionfront_core::period::PeriodParams;
use tokio::time::Instant;
use tor_hscrypto::pk::HsBlindId;
use tor_protover::Protocols;
use tracing::{debug, info, warn};

use crate::backoff::Backoff;
use crate::fetch::{FetchOutcome, FetchTarget, KnownText, backend_blind_id};
use crate::rules::fetch_delay_after_success;
use crate::spec::BackendSpec;

/// First retry after a failed fetch round of a backend.
const FETCH_RETRY_FLOOR: Duration = Duration::from_secs(15);

/// One backend's descriptor history and fetch schedule.
#[derive(Debug)]
pub(crate) struct BackendState {
    /// Its address, and its name from the first service listing it that names it.
    pub(crate) backend: BackendSpec,
    /// Revision counters, liveness.
    pub(crate) tracker: BackendTracker,
    /// When the next fetch is due.
    pub(crate) next_fetch: Instant,
    /// A fetch is under way.
    pub(crate) fetching: bool,
    /// At least one fetch finished (successfully or not).
    pub(crate) fetched_once: bool,
    /// Retry schedule after failures (reset on success).
    pub(crate) retry: Option<Backoff>,
    /// Last fetch: time and outcome (`Ok` or the reason).
    pub(crate) last_fetch: Option<(SystemTime, Result<(), String>)>,
    /// Last time a descriptor was received and validated.
    pub(crate) last_received: Option<SystemTime>,
    /// When the intro point set last changed.
    pub(crate) intro_set_modified: Option<SystemTime>,
    /// When the intro point set last changed from a previous one (rule 5's churn).
    intro_churned_at: Option<Instant>,
    /// The last descriptor text accepted (so the same text is not validated again).
    pub(crate) last_text: Option<Arc<KnownText>>,
    /// Its blinded id in the period last fetched for (period number, length, id).
    blind_id: Option<(u64, u32, HsBlindId)>,
    /// The consensus `cc_sendme_inc` its `flow-control` line was last refused under (warned
    /// once per value).
    flow_control_warned: Option<u8>,
}

/// A backend's `flow-control` line, judged under the consensus ([`BackendState::flow_control_under`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlowControlLine {
    /// No descriptor, or one without a `flow-control` line.
    Missing,
    /// A line clients accept.
    Accepted((Protocols, NonZeroU8)),
    /// A line clients would refuse (its sendme_inc is more than 1 from `cc_sendme_inc`).
    Refused,
}

impl BackendState {
    /// A backend never fetched, due now.
    pub(crate) fn new(backend: BackendSpec, now: Instant) -> Self {
        BackendState {
            backend,
            tracker: BackendTracker::new(),
            next_fetch: now,
            fetching: false,
            fetched_once: false,
            retry: None,
            last_fetch: None,
            last_received: None,
            intro_set_modified: None,
            intro_churned_at: None,
            last_text: None,
            blind_id: None,
            flow_control_warned: None,
        }
    }

    /// Record a validated descriptor. Returns whether the intro point set changed.
    pub(crate) fn record_descriptor(
        &mut self,
        known: Arc<KnownText>,
        now: SystemTime,
    ) -> Result<(Observation, bool), String> {
        let before = self.tracker.latest().map(intro_keys);
        let after = intro_keys(&known.desc);
        let observation = self
            .tracker
            .observe(known.desc.clone(), now)
            .map_err(|e| e.to_string())?;
        self.last_text = Some(known);
        self.last_received = Some(now);
        let changed = before.as_ref() != Some(&after);
        if changed {
            self.intro_set_modified = Some(now);
        }
        Ok((observation, changed))
    }

    /// Schedule the next fetch after a success (`interval`) or a failure (backoff, at most
    /// `interval`).
    pub(crate) fn schedule_next(&mut self, success: bool, interval: Duration, now: Instant) {
        if success {
            self.retry = None;
            self.next_fetch = now + fetch_delay_after_success(interval, self.intro_churned_at, now);
        } else {
            let backoff = self
                .retry
                .get_or_insert_with(|| Backoff::new(FETCH_RETRY_FLOOR, interval));
            self.next_fetch = now + backoff.next_delay().min(interval);
        }
    }

    /// Record a finished fetch (the reactor has already counted it as no longer running):
    /// the descriptor, the schedule of the next fetch, and the log line. Returns whether the
    /// fetch succeeded and whether it is news for the publication rules (see the module docs).
    pub(crate) fn record_fetch(
        &mut self,
        outcome: FetchOutcome,
        interval: Duration,
        wall: SystemTime,
        now: Instant,
    ) -> FetchRecord {
        self.fetching = false;
        let first_completion = !self.fetched_once;
        self.fetched_once = true;
        let label = self.backend.label().to_string();
        let had_intro_points = self.tracker.latest().is_some();
        let result = outcome.result.and_then(|(known, hsdir)| {
            let revision = known.desc.revision;
            let n = known.desc.intro_points.len();
            self.record_descriptor(known, wall)
                .map(|(obs, changed)| (obs, changed, revision, n, hsdir))
        });
        let mut news = first_completion;
        let mut history_changed = false;
        let ok = match result {
            Ok((obs, changed, revision, n, hsdir)) => {
                news |= obs != Observation::Unchanged;
                if changed && had_intro_points {
                    self.intro_churned_at = Some(now);
                }
                history_changed = obs != Observation::Unchanged;
                match obs {
                    Observation::Unchanged => {
                        debug!(backend = %label, revision, "backend descriptor unchanged")
                    }
                    _ => info!(backend = %label, revision, intro_points = n, %hsdir,
                        period = outcome.period.interval_num(), intro_set_changed = changed,
                        "backend descriptor {}", if obs == Observation::New { "received" } else { "advanced" }),
                }
                self.last_fetch = Some((wall, Ok(())));
                self.schedule_next(true, interval, now);
                true
            }
            Err(reason) => {
                warn!(backend = %label, period = outcome.period.interval_num(), %reason,
                    "could not get a valid backend descriptor");
                self.last_fetch = Some((wall, Err(reason)));
                self.schedule_next(false, interval, now);
                false
            }
        };
        FetchRecord {
            ok,
            news,
            history_changed,
        }
    }

    /// Liveness from the descriptor history alone.
    pub(crate) fn liveness(&self, now: SystemTime, stale_after: Duration) -> Liveness {
        self.tracker.liveness(now, stale_after)
    }

    /// Its blinded id in `period` (blinding is computed once per period).
    pub(crate) fn blind_id_for(&mut self, period: &PeriodParams) -> Result<HsBlindId, String> {
        let key = (
            period.interval_num(),
            period.time_period.length().as_minutes(),
        );
        if let Some((n, len, id)) = self.blind_id
            && (n, len) == key
        {
            return Ok(id);
        }
        let id = backend_blind_id(&self.backend.address, period)?;
        self.blind_id = Some((key.0, key.1, id));
        Ok(id)
    }

    /// What to fetch for `period`: its blinded id there, and the highest revision counter the
    /// history holds for it (older descriptors are replays, also right after a restart).
    pub(crate) fn fetch_target(&mut self, period: &PeriodParams) -> Result<FetchTarget, String> {
        Ok(FetchTarget {
            address: self.backend.address,
            period: *period,
            blind_id: self.blind_id_for(period)?,
            seen_revision: self.tracker.revision_in(&period.time_period),
        })
    }

    /// Its latest descriptor's `flow-control` line, judged under the consensus' `cc_sendme_inc`
    /// (the line was checked when fetched, but the consensus may have changed since). A refused
    /// line is logged, naming the backend by its label, once per consensus value.
    pub(crate) fn flow_control_under(&mut self, cc_sendme_inc: u8) -> FlowControlLine {
        let Some((protocols, inc)) = self.tracker.latest().and_then(|d| d.flow_control.clone())
        else {
            return FlowControlLine::Missing;
        };
        match check_flow_control(inc.get(), cc_sendme_inc) {
            Ok(()) => {
                self.flow_control_warned = None;
                FlowControlLine::Accepted((protocols, inc))
            }
            Err(rejection) => {
                if self.flow_control_warned != Some(cc_sendme_inc) {
                    warn!(backend = %self.backend.label(), %rejection,
                        "not advertising this backend's flow-control line in the main descriptor");
                    self.flow_control_warned = Some(cc_sendme_inc);
                }
                FlowControlLine::Refused
            }
        }
    }

    /// The last descriptor accepted for `period` (so older copies can be skipped and the same
    /// text is not validated again).
    pub(crate) fn known_for_period(&self, interval_num: u64) -> Option<Arc<KnownText>> {
        self.last_text
            .as_ref()
            .filter(|k| k.desc.period.interval_num() == interval_num)
            .cloned()
    }
}

/// What [`BackendState::record_fetch`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FetchRecord {
    /// A valid descriptor was received.
    pub(crate) ok: bool,
    /// It may change the selection (first fetch, new or advanced descriptor).
    pub(crate) news: bool,
    /// The revision history changed (new period or advanced counter): worth saving.
    pub(crate) history_changed: bool,
}

/// The identity of an intro point: its auth key (`KP_hs_ipt_sid`), unique per intro point. (The
/// ntor key names the intro *relay*, which several backends may share.)
pub(crate) fn intro_id(ip: &tor_netdoc::doc::hsdesc::IntroPointDesc) -> [u8; 32] {
    let key: &tor_llcrypto::pk::ed25519::PublicKey = ip.ipt_sid_key().as_ref();
    key.to_bytes()
}

/// The intro point identities of a descriptor, sorted (for change detection).
pub(crate) fn intro_keys(desc: &ValidatedDescriptor) -> Vec<[u8; 32]> {
    let mut keys: Vec<[u8; 32]> = desc.intro_points.iter().map(intro_id).collect();
    keys.sort_unstable();
    keys
}
