//! Time periods as the publisher sees them: a period plus the start of the shared-random period
//! that its revision counters count from.
//!
//! The network layer derives these from the consensus (Arti's `HsDirParams`); tests make them up.

use std::time::{Duration, SystemTime};

use tor_hscrypto::time::TimePeriod;
use tor_hscrypto::ope::SrvPeriodOffset;

/// One time period a descriptor is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeriodParams {
    /// The time period (blinding and HSDir ring).
    pub time_period: TimePeriod,
    /// Start of the SRV protocol run whose value indexes this period's ring: revision counters
    /// are an order-preserving encryption of the seconds since then (as C tor and Arti do).
    pub srv_start: SystemTime,
}

impl PeriodParams {
    /// Seconds since `srv_start` at `when`, as the OPE input; `None` before `srv_start`.
    pub fn srv_offset(&self, when: SystemTime) -> Option<SrvPeriodOffset> {
        let d = when.duration_since(self.srv_start).ok()?;
        u32::try_from(d.as_secs()).ok().map(SrvPeriodOffset::from)
    }

    /// The period's interval number (for logs and status).
    pub fn interval_num(&self) -> u64 {
        self.time_period.interval_num()
    }

    /// Length of the period.
    pub fn length(&self) -> Duration {
        Duration::from_secs(u64::from(self.time_period.length().as_minutes()) * 60)
    }
}
