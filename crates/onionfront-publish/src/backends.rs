//! What the scheduler knows about each backend: descriptor history (liveness by revision
//! counter), fetch bookkeeping, and the active health checks.
//!
//! A backend shared by several services has one [`BackendState`] (it is fetched once); health
//! checks are per service and port, since services may probe different ports.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use onionfront_core::OnionAddress;
use onionfront_core::config::HealthCheckConfig;
use onionfront_core::descriptor::{BackendTracker, Liveness, Observation, ValidatedDescriptor};
use onionfront_core::period::PeriodParams;
use tokio::time::Instant;
use tor_hscrypto::pk::HsBlindId;

use crate::backoff::Backoff;
use crate::fetch::{KnownText, backend_blind_id};

/// First retry after a failed fetch round of a backend.
const FETCH_RETRY_FLOOR: Duration = Duration::from_secs(15);

/// One backend's descriptor history and fetch schedule.
#[derive(Debug)]
pub(crate) struct BackendState {
    /// Its address.
    pub(crate) address: OnionAddress,
    /// Its name (from the first service listing it that names it).
    pub(crate) name: Option<String>,
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
    /// The last descriptor text accepted (so the same text is not validated again).
    pub(crate) last_text: Option<Arc<KnownText>>,
    /// Its blinded id in the period last fetched for (period number, length, id).
    blind_id: Option<(u64, u32, HsBlindId)>,
}

impl BackendState {
    /// A backend never fetched, due now.
    pub(crate) fn new(address: OnionAddress, name: Option<String>, now: Instant) -> Self {
        BackendState {
            address,
            name,
            tracker: BackendTracker::new(),
            next_fetch: now,
            fetching: false,
            fetched_once: false,
            retry: None,
            last_fetch: None,
            last_received: None,
            intro_set_modified: None,
            last_text: None,
            blind_id: None,
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
            self.next_fetch = now + interval;
        } else {
            let backoff = self
                .retry
                .get_or_insert_with(|| Backoff::new(FETCH_RETRY_FLOOR, interval));
            self.next_fetch = now + backoff.next_delay().min(interval);
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
        let id = backend_blind_id(&self.address, period)?;
        self.blind_id = Some((key.0, key.1, id));
        Ok(id)
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

/// The identity of an intro point: its auth key (`KP_hs_ipt_sid`), unique per intro point. (The
/// ntor key names the intro *relay*, which several backends may share.)
pub(crate) fn intro_id(ip: &tor_netdoc::doc::hsdesc::IntroPointDesc) -> [u8; 32] {
    let key: &tor_llcrypto::pk::ed25519::PublicKey = ip.ipt_sid_key().as_ref();
    key.to_bytes()
}

/// The intro point identities of a descriptor, sorted (for change detection).
pub(crate) fn intro_keys(desc: &ValidatedDescriptor) -> Vec<[u8; 32]> {
    let mut keys: Vec<[u8; 32]> = desc
        .intro_points
        .iter()
        .map(crate::backends::intro_id)
        .collect();
    keys.sort_unstable();
    keys
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
