//! Finding 2 of the live rehearsal (issue #14), reproduced on its own: the wall clock steps back
//! 5 s half an hour before the 00:00 shared-random-value change, so when the 00:00 consensus
//! arrives the clock still reads 23:59:55, before the next period's SRV run starts. The first
//! build of the next period's descriptor then fails (`OutsidePeriod`: its revision counter
//! cannot be computed). Rule 2.3 of `rules.rs` retries a build that failed for such a timing
//! reason at the next check, so the next period is published within seconds, not at the next
//! refresh half an hour later (73.9 % coverage in that hour before the fix).
//!
//! Same world and checks as the rehearsal (`benches/live_rehearsal`), at a small size and
//! without other faults, so any bad sample is this one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

#[allow(dead_code)]
#[path = "../benches/live_rehearsal/checks.rs"]
mod checks;
#[allow(dead_code)]
#[path = "../benches/live_rehearsal/netdir.rs"]
mod netdir;
#[allow(dead_code)]
#[path = "../benches/live_rehearsal/schedule.rs"]
mod schedule;
#[allow(dead_code)]
#[path = "../benches/live_rehearsal/sim.rs"]
mod sim;

#[tokio::test(start_paused = true)]
async fn a_clock_stepped_back_before_the_srv_change_does_not_leave_the_next_period_unpublished() {
    let plan = schedule::Plan {
        hours: 2,
        start_hour: 23,
        relays: 200,
        churn_per_hour: 0,
        backends: 3,
        death_one_in: 0,
        restart_one_in: 0,
        // 23:30 UTC: 5 s back.
        clock_step: Some((30, Duration::from_secs(5))),
        ..schedule::Plan::short()
    };
    let mut bad_per_hour = Vec::new();
    let summary = sim::run(&plan, |r| {
        bad_per_hour.push((r.utc_hour, r.figures.bad, r.events.clone()))
    })
    .await
    .unwrap();
    assert_eq!(bad_per_hour.len(), 2);
    for (utc_hour, bad, events) in &bad_per_hour {
        assert_eq!(*bad, 0, "{utc_hour:02}:00 UTC: {events:?}");
    }
    assert_eq!(summary.boundary_bad, 0, "no gap around 00:00");
    assert_eq!(summary.worst_gap_secs, 0);
    assert!(summary.invalid.is_empty(), "{:?}", summary.invalid);
}
