//! The live rehearsal's CI version (issue #14): 14 simulated hours from 23:00 UTC, so one 00:00
//! shared-random-value change and one 12:00 time period rotation, on the fake network with
//! Arti's own HSDir rings and periods (paused time). The plan: `Plan::short` in
//! `benches/live_rehearsal/schedule.rs`; the checks: `checks.rs` there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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
async fn fourteen_hours_across_an_srv_change_and_a_rotation_keep_every_hsdir_covered() {
    let plan = schedule::Plan::short();
    let mut rotations = 0;
    let mut hours = 0;
    let summary = sim::run(&plan, |r| {
        hours += 1;
        rotations += r.events.iter().filter(|e| e.contains("period")).count();
        assert_eq!(
            r.figures.bad, 0,
            "hour {} ({:02}:00 UTC): {:?}",
            r.hour, r.utc_hour, r.events
        );
    })
    .await
    .unwrap();
    assert_eq!(hours, 14);
    assert_eq!(rotations, 1, "one 12:00 rotation");
    assert!(summary.invalid.is_empty(), "{:?}", summary.invalid);
    assert!(summary.total.samples > 0);
    assert!(
        summary.total.coverage_outside_faults() >= 99.9,
        "coverage {}",
        summary.total.coverage_outside_faults()
    );
    assert_eq!(summary.boundary_bad, 0, "no gap around 00:00 or 12:00");
    assert_eq!(summary.worst_gap_secs, 0);
    assert_eq!(summary.total.stale_intro_minutes, 0);
}
