//! The fake network's consensus ([`FakeDirectory`]): which time periods to publish for and which
//! HSDirs are responsible for a blinded id.
//!
//! Two sources, decided when the network is built:
//! - **the fake's own model** (the default, for the scheduler tests): time periods with Arti's
//!   [`TimePeriod`] arithmetic (offset of half a period, like the live network's 12 h for 24 h
//!   periods), always the current and the next period, and a ring of 8 HSDirs per blinded id and
//!   period ordered by SHA3-256(blinded id, period number, relay ed25519 id): simple, not the
//!   rend-spec ring;
//! - **a [`ConsensusModel`]** plugged in with [`super::FakeNetwork::set_consensus_model`]: every
//!   new consensus is handed to it, and the [`ConsensusView`] it returns answers for periods and
//!   HSDirs. The live rehearsal (`benches/live_rehearsal`) plugs Arti's own `NetDir`, so its
//!   periods and rings are the ones Arti computes, not a second implementation.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use digest::Digest;
use onionfront_core::period::PeriodParams;
use tor_hscrypto::pk::HsBlindId;
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::d::Sha3_256;

use crate::network::{Directory, HsDirId};

/// The size limit the fake HSDirs enforce and announce (`HSV3MaxDescriptorSize`'s default).
pub const MAX_DESCRIPTOR_SIZE: usize = 50_000;

/// Builds the view of each new consensus of the fake network.
pub trait ConsensusModel: Send + Sync + 'static {
    /// The consensus valid from `valid_after` that lists `relays` as HSDirs.
    fn consensus(
        &self,
        valid_after: SystemTime,
        relays: &[HsDirId],
    ) -> Result<Arc<dyn ConsensusView>, String>;
}

/// One consensus, as a [`ConsensusModel`] computed it.
pub trait ConsensusView: Send + Sync + fmt::Debug + 'static {
    /// The period clients use.
    fn current_period(&self) -> PeriodParams;
    /// The periods a service publishes for (current first).
    fn publish_periods(&self) -> Vec<PeriodParams>;
    /// HSDirs to fetch from, in the order to try them.
    fn hsdirs_download(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId>;
    /// HSDirs responsible for storing, in ring order.
    fn hsdirs_upload(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId>;
}

/// A ring's key: blinded id and period number.
type RingKey = ([u8; 32], u64);

/// A consensus of the fake network.
#[derive(Debug)]
pub struct FakeDirectory {
    pub(super) valid_after: SystemTime,
    pub(super) now: SystemTime,
    pub(super) period_minutes: u32,
    pub(super) relays: Arc<Vec<HsDirId>>,
    /// The plugged-in model's view of this consensus, if any (see the module docs).
    pub(super) view: Option<Arc<dyn ConsensusView>>,
    /// Rings computed so far (blinded id, period number), like a real directory's index.
    pub(super) rings: Mutex<HashMap<RingKey, Vec<HsDirId>>>,
    /// Consensus `cc_sendme_inc`.
    pub(super) cc_sendme_inc: u8,
}

impl FakeDirectory {
    fn period_at(&self, when: SystemTime) -> PeriodParams {
        let length = Duration::from_secs(u64::from(self.period_minutes) * 60);
        // Offset of half a period, like the real network's 12 h for 24 h periods.
        let time_period = TimePeriod::new(length, when, length / 2)
            .unwrap_or_else(|_| TimePeriod::from_parts(self.period_minutes, 1, 0));
        let start = time_period.range().map_or(when, |r| r.start);
        PeriodParams {
            time_period,
            srv_start: start - length / 2,
        }
    }

    fn ring(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        let key = (*blind_id.as_ref(), period.interval_num());
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        rings
            .entry(key)
            .or_insert_with(|| self.compute_ring(blind_id, period))
            .clone()
    }

    fn compute_ring(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        let mut scored: Vec<([u8; 32], HsDirId)> = self
            .relays
            .iter()
            .map(|r| {
                let mut h = Sha3_256::new();
                h.update(blind_id.as_ref());
                h.update(period.interval_num().to_be_bytes());
                h.update(r.ed);
                (h.finalize().into(), *r)
            })
            .collect();
        scored.sort();
        scored.into_iter().take(8).map(|(_, r)| r).collect()
    }
}

impl Directory for FakeDirectory {
    fn valid_after(&self) -> SystemTime {
        self.valid_after
    }
    fn current_period(&self) -> PeriodParams {
        match &self.view {
            Some(v) => v.current_period(),
            None => self.period_at(self.now),
        }
    }
    fn publish_periods(&self) -> Vec<PeriodParams> {
        if let Some(v) = &self.view {
            return v.publish_periods();
        }
        let cur = self.period_at(self.now);
        let next = self.period_at(self.now + cur.length());
        vec![cur, next]
    }
    fn hsdirs_download(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        if let Some(v) = &self.view {
            return v.hsdirs_download(blind_id, period);
        }
        let mut ring = self.ring(blind_id, period);
        ring.truncate(6);
        ring
    }
    fn hsdirs_upload(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        if let Some(v) = &self.view {
            return v.hsdirs_upload(blind_id, period);
        }
        let mut ring = self.ring(blind_id, period);
        ring.sort();
        ring
    }
    fn max_descriptor_size(&self) -> usize {
        MAX_DESCRIPTOR_SIZE
    }
    fn cc_sendme_inc(&self) -> u8 {
        self.cc_sendme_inc
    }
}
