//! Time periods as the publisher sees them: a period plus the start of the shared-random period
//! that its revision counters count from.
//!
//! The network layer derives these from the consensus (Arti's `HsDirParams`); tests make them up
//! (`testing::test_period`).

use std::fmt;
use std::time::{Duration, SystemTime};

use tor_hscrypto::ope::SrvPeriodOffset;
use tor_hscrypto::time::TimePeriod;

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
    /// A period and the start of its SRV protocol run.
    pub fn new(time_period: TimePeriod, srv_start: SystemTime) -> Self {
        PeriodParams {
            time_period,
            srv_start,
        }
    }

    /// Seconds since `srv_start` at `when`, as the OPE input; `None` before `srv_start`.
    pub fn srv_offset(&self, when: SystemTime) -> Option<SrvPeriodOffset> {
        self.srv_offset_secs(when).map(SrvPeriodOffset::from)
    }

    /// Seconds since `srv_start` at `when` as a number; `None` before `srv_start` or if it does
    /// not fit in 32 bits.
    pub fn srv_offset_secs(&self, when: SystemTime) -> Option<u32> {
        let d = when.duration_since(self.srv_start).ok()?;
        u32::try_from(d.as_secs()).ok()
    }

    /// The period's interval number (for logs and status).
    pub fn interval_num(&self) -> u64 {
        self.time_period.interval_num()
    }

    /// Length of the period.
    pub fn length(&self) -> Duration {
        Duration::from_secs(u64::from(self.time_period.length().as_minutes()) * 60)
    }

    /// When the period starts and ends (`None` if not representable, which no real period is).
    pub fn range(&self) -> Option<std::ops::Range<SystemTime>> {
        self.time_period.range().ok()
    }

    /// Whether `when` lies within the period.
    pub fn contains(&self, when: SystemTime) -> bool {
        self.time_period.contains(when)
    }
}

impl fmt::Display for PeriodParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.interval_num())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        let tp = TimePeriod::from_parts(1440, 20_000, 12 * 3600);
        let start = tp.range().unwrap().start;
        let p = PeriodParams::new(tp, start - Duration::from_secs(3600));
        assert_eq!(p.srv_offset_secs(start), Some(3600));
        assert_eq!(p.srv_offset_secs(start - Duration::from_secs(3601)), None);
        assert_eq!(p.length(), Duration::from_secs(86_400));
        assert!(p.contains(start));
        assert_eq!(p.to_string(), "#20000");
    }
}
