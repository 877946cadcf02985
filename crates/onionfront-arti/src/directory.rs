//! [`ArtiDirectory`]: one Arti `NetDir` (a consensus plus microdescriptors) seen through the
//! [`Directory`] trait: its time periods and the HSDirs responsible for a blinded id.
//!
//! Time periods come from Arti's HSDir rings: the current period (the one containing the
//! consensus' `valid-after`, which clients use) and the secondary periods a service publishes
//! for (`hs_all_time_periods`: previous and/or next, when the consensus has the SRV for them).
//!
//! **Young networks.** Before the first shared random value exists, Arti computes only the
//! current ring, yet C tor clients switch to a new period up to ~40 s after we do (they use
//! their own, later, consensus). So that a descriptor stays up for both periods around a
//! rotation, an `ArtiDirectory` can carry the last `NetDir` of the previous period
//! ([`ArtiDirectory::with_previous`]): its current ring *is* Arti's ring for our previous period.
//! It is only used when Arti offers no secondary period at all. (A next period cannot be
//! pre-published then: no consensus has its ring yet.)

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use onionfront_core::period::PeriodParams;
use onionfront_publish::network::{DEFAULT_CC_SENDME_INC, Directory, HsDirId};
use tor_hscrypto::pk::HsBlindId;
use tor_hscrypto::time::TimePeriod;
use tor_netdir::{HsDirParams, NetDir, Relay};
use tracing::warn;

/// The HSDir size limit when the parameter cannot be read (C tor's and Arti's default).
const DEFAULT_MAX_DESC_SIZE: usize = 50_000;

/// One consensus, as the scheduler sees it.
#[derive(Clone)]
pub struct ArtiDirectory {
    /// The (strictly timely) directory.
    netdir: Arc<NetDir>,
    /// The last directory of the previous time period, if known and needed (see module docs).
    previous: Option<Arc<NetDir>>,
}

impl ArtiDirectory {
    /// Wrap `netdir`.
    pub fn new(netdir: Arc<NetDir>) -> Self {
        ArtiDirectory {
            netdir,
            previous: None,
        }
    }

    /// Wrap `netdir`, also publishing for the previous period with `previous`'s ring when
    /// `netdir` has no secondary period (a young network). `previous` is ignored unless its
    /// current period is the one just before `netdir`'s.
    pub fn with_previous(netdir: Arc<NetDir>, previous: Option<Arc<NetDir>>) -> Self {
        let previous = previous.filter(|p| {
            let wanted = netdir.hs_time_period().prev();
            wanted == Some(p.hs_time_period()) && netdir.hs_all_time_periods().len() == 1
        });
        ArtiDirectory { netdir, previous }
    }

    /// The Arti directory (to build circuits with).
    pub fn netdir(&self) -> &Arc<NetDir> {
        &self.netdir
    }

    /// Whether the previous period comes from a retained older directory.
    pub fn uses_previous_ring(&self) -> bool {
        self.previous.is_some()
    }

    /// The ring parameters of `period`, with the directory that has the ring.
    fn ring_for(&self, period: TimePeriod) -> Option<(&NetDir, HsDirParams)> {
        let own = self
            .netdir
            .hs_all_time_periods()
            .into_iter()
            .find(|p| p.time_period() == period)
            .map(|p| (&*self.netdir, p));
        own.or_else(|| {
            let prev = self.previous.as_deref()?;
            let params = current_params(prev)?;
            (params.time_period() == period).then_some((prev, params))
        })
    }
}

/// The ring parameters of `netdir`'s current period (always among `hs_all_time_periods`).
fn current_params(netdir: &NetDir) -> Option<HsDirParams> {
    let current = netdir.hs_time_period();
    netdir
        .hs_all_time_periods()
        .into_iter()
        .find(|p| p.time_period() == current)
}

/// Onionfront's view of Arti's ring parameters.
fn period_params(params: &HsDirParams) -> PeriodParams {
    PeriodParams {
        time_period: params.time_period(),
        srv_start: params.start_of_shard_rand_period(),
    }
}

/// The identities of a relay.
pub(crate) fn hsdir_id(relay: &Relay<'_>) -> HsDirId {
    let mut rsa = [0u8; 20];
    rsa.copy_from_slice(relay.rsa_id().as_bytes());
    HsDirId {
        rsa,
        ed: (*relay.id()).into(),
    }
}

/// Find the relay `id` in `netdir` (both identities must match), if listed and usable.
pub(crate) fn find_relay<'a>(netdir: &'a NetDir, id: &HsDirId) -> Option<Relay<'a>> {
    let ed = tor_llcrypto::pk::ed25519::Ed25519Identity::from(id.ed);
    let relay = netdir.by_id(&ed)?;
    (relay.rsa_id().as_bytes() == &id.rsa[..]).then_some(relay)
}

impl Directory for ArtiDirectory {
    fn valid_after(&self) -> SystemTime {
        self.netdir.lifetime().valid_after()
    }

    fn current_period(&self) -> PeriodParams {
        match current_params(&self.netdir) {
            Some(params) => period_params(&params),
            None => {
                // Unreachable with Arti 0.47 (the current ring is always listed); degrade to the
                // period's own start, which is what Arti uses without an SRV.
                let time_period = self.netdir.hs_time_period();
                let srv_start = time_period
                    .range()
                    .map(|r| r.start)
                    .unwrap_or_else(|_| self.valid_after());
                PeriodParams {
                    time_period,
                    srv_start,
                }
            }
        }
    }

    fn publish_periods(&self) -> Vec<PeriodParams> {
        let current = self.current_period();
        let mut periods = vec![current];
        for params in self.netdir.hs_all_time_periods() {
            let p = period_params(&params);
            if !periods.iter().any(|q| q.time_period == p.time_period) {
                periods.push(p);
            }
        }
        if let Some(prev) = self.previous.as_deref().and_then(current_params) {
            let p = period_params(&prev);
            if !periods.iter().any(|q| q.time_period == p.time_period) {
                periods.push(p);
            }
        }
        periods
    }

    /// The `hsdir_n_replicas × hsdir_spread_fetch` HSDirs of the current ring, shuffled (as
    /// clients do). Empty, with a warning, if `period` is not the current one.
    fn hsdirs_download(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        let mut rng = rand::rng();
        match self.netdir.hs_dirs_download(*blind_id, period, &mut rng) {
            Ok(relays) => relays.iter().map(hsdir_id).collect(),
            Err(e) => {
                warn!(%period, "no download HSDirs: {e}");
                Vec::new()
            }
        }
    }

    /// The `hsdir_n_replicas × hsdir_spread_store` HSDirs of `period`'s ring in *ring order*:
    /// replica 1's HSDirs first, each replica's walking the ring from the service's index and
    /// skipping relays an earlier replica already took (Arti's `select_hsdirs`, rend-spec
    /// 2.2.3). This order is deterministic for a given consensus, blinded id and period. Empty,
    /// with a warning, if no ring is known for `period`.
    fn hsdirs_upload(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        let Some((netdir, _)) = self.ring_for(period) else {
            warn!(%period, "no HSDir ring for this time period");
            return Vec::new();
        };
        match netdir.hs_dirs_upload(*blind_id, period) {
            Ok(relays) => {
                let mut out: Vec<HsDirId> = Vec::new();
                for id in relays.map(|r| hsdir_id(&r)) {
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
                out
            }
            Err(e) => {
                warn!(%period, "no upload HSDirs: {e}");
                Vec::new()
            }
        }
    }

    fn max_descriptor_size(&self) -> usize {
        usize::try_from(self.netdir.params().hsdir_max_desc_size.get())
            .unwrap_or(DEFAULT_MAX_DESC_SIZE)
    }

    /// Arti's `NetParameters::cc_sendme_inc` (bounded 1..=254 by Arti; 31 when the consensus
    /// does not set it).
    fn cc_sendme_inc(&self) -> u8 {
        u8::try_from(self.netdir.params().cc_sendme_inc.get()).unwrap_or(DEFAULT_CC_SENDME_INC)
    }
}

impl fmt::Debug for ArtiDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtiDirectory")
            .field("valid_after", &humantime_like(self.valid_after()))
            .field("period", &self.netdir.hs_time_period().interval_num())
            .field(
                "previous_period",
                &self
                    .previous
                    .as_ref()
                    .map(|p| p.hs_time_period().interval_num()),
            )
            .finish()
    }
}

/// Seconds since the epoch, for `Debug` (no extra date dependency).
fn humantime_like(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
