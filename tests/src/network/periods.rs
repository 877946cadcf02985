//! Onion-service time period arithmetic on this network: C tor's `TestingTorNetwork` derives
//! the period from the voting interval (24 voting intervals long, starting 12 voting intervals
//! past a multiple of that), which onionfront's `hsdir-interval` must match.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;

use super::Network;
use crate::wait::sleep;

impl Network {
    /// Onion-service time period length in minutes: 24 × voting interval (C tor's rule on a
    /// `TestingTorNetwork`); what onionfront's `hsdir-interval` must be.
    pub fn hsdir_interval_minutes(&self) -> u32 {
        24 * self.voting_interval / 60
    }

    /// Seconds until the next time period starts, per C tor's rule (periods start at
    /// `hsdir_interval` boundaries shifted by 12 voting intervals).
    pub fn secs_to_next_time_period(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        secs_to_next_period(now, self.voting_interval)
    }

    /// The number of the current onion-service time period (C tor's and onionfront's numbering:
    /// periods of `24 × voting interval` seconds, shifted by 12 voting intervals).
    pub fn current_time_period(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let vi = u64::from(self.voting_interval);
        now.saturating_sub(12 * vi) / (24 * vi)
    }

    /// When the time period before the current one started, in RFC 3339 (for `keys provision
    /// --from`).
    pub fn previous_time_period_start(&self) -> String {
        let vi = u64::from(self.voting_interval);
        let start = (self.current_time_period().saturating_sub(1)) * 24 * vi + 12 * vi;
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(start)).to_string()
    }

    /// If the next time period starts within `before`, wait until `after` past it: lookups fail
    /// around a rotation on a young network (see the notes).
    pub fn avoid_time_period_rotation(&self, before: Duration, after: Duration) -> Result<()> {
        let left = Duration::from_secs(self.secs_to_next_time_period());
        if left <= before {
            eprintln!(
                "[harness] time period rotates in {left:?}: waiting {:?}",
                left + after
            );
            sleep(left + after)?;
        }
        Ok(())
    }
}

/// Seconds from `now` (unix seconds) to the next onion-service time period on a
/// `TestingTorNetwork` with this voting interval.
pub fn secs_to_next_period(now: u64, voting_interval: u32) -> u64 {
    let vi = u64::from(voting_interval);
    let len = 24 * vi; // seconds (C tor counts minutes; 24 × vi is a whole number of them at vi=20)
    let offset = 12 * vi;
    let since = (now % len + len - offset) % len;
    len - since
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_boundaries() {
        // vi = 20 s: periods of 480 s starting at 240 s past multiples of 480.
        assert_eq!(secs_to_next_period(240, 20), 480);
        assert_eq!(secs_to_next_period(239, 20), 1);
        assert_eq!(secs_to_next_period(480 * 1000 + 240 + 100, 20), 380);
    }
}
