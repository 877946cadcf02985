//! Retry delays: exponential backoff with decorrelated jitter, capped.
//!
//! The same shape as Arti's `RetryDelay` (each delay is drawn between the floor and three times
//! the previous one), with an upper bound so a long outage is retried at a steady pace.

use std::time::Duration;

use rand::RngExt;

/// A sequence of retry delays.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Smallest delay.
    floor: Duration,
    /// Largest delay.
    cap: Duration,
    /// The previous delay handed out.
    last: Duration,
    /// Attempts so far.
    attempts: u32,
}

impl Backoff {
    /// A schedule between `floor` and `cap`.
    pub fn new(floor: Duration, cap: Duration) -> Self {
        let cap = cap.max(floor);
        Backoff {
            floor,
            cap,
            last: floor,
            attempts: 0,
        }
    }

    /// The next delay (random, within `[floor, min(cap, 3 × previous)]`).
    pub fn next_delay(&mut self) -> Duration {
        self.attempts = self.attempts.saturating_add(1);
        let high = (self.last.saturating_mul(3)).min(self.cap).max(self.floor);
        let low = self.floor;
        let delay = if high > low {
            let span = (high - low).as_millis().min(u128::from(u64::MAX)) as u64;
            low + Duration::from_millis(rand::rng().random_range(0..=span))
        } else {
            low
        };
        self.last = delay.max(self.floor);
        delay
    }

    /// How many delays were handed out.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_bounds_and_grow() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let mut max_seen = Duration::ZERO;
        for _ in 0..200 {
            let d = b.next_delay();
            assert!(d >= Duration::from_secs(1));
            assert!(d <= Duration::from_secs(60));
            max_seen = max_seen.max(d);
        }
        assert!(
            max_seen > Duration::from_secs(5),
            "never grew: {max_seen:?}"
        );
        assert_eq!(b.attempts(), 200);
    }
}
