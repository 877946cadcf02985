//! The fake network's consensus ([`FakeDirectory`]): its periods (half-period offset, like the
//! real network's 12 h for 24 h periods), HSDir rings (the 8 relays nearest a hash of blinded id,
//! period and relay identity), the size limit and `cc_sendme_inc`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use digest::Digest;
use onionfront_core::period::PeriodParams;
use tor_hscrypto::pk::HsBlindId;
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::d::Sha3_256;

use crate::network::{Directory, HsDirId};

/// A ring's key: blinded id and period number.
pub(super) type RingKey = ([u8; 32], u64);

/// A consensus of the fake network.
#[derive(Debug)]
pub struct FakeDirectory {
    pub(super) valid_after: SystemTime,
    pub(super) now: SystemTime,
    pub(super) period_minutes: u32,
    pub(super) relays: Vec<HsDirId>,
    /// The size limit (`HSV3MaxDescriptorSize`).
    pub(super) max_descriptor_size: usize,
    /// The consensus `cc_sendme_inc`.
    pub(super) cc_sendme_inc: u8,
    /// Rings computed so far (blinded id, period number), like a real directory's index.
    pub(super) rings: Mutex<HashMap<RingKey, Vec<HsDirId>>>,
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
        self.period_at(self.now)
    }
    fn publish_periods(&self) -> Vec<PeriodParams> {
        let cur = self.period_at(self.now);
        let next = self.period_at(self.now + cur.length());
        vec![cur, next]
    }
    fn hsdirs_download(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        let mut ring = self.ring(blind_id, period);
        ring.truncate(6);
        ring
    }
    fn hsdirs_upload(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        let mut ring = self.ring(blind_id, period);
        ring.sort();
        ring
    }
    fn max_descriptor_size(&self) -> usize {
        self.max_descriptor_size
    }
    fn cc_sendme_inc(&self) -> u8 {
        self.cc_sendme_inc
    }
}
