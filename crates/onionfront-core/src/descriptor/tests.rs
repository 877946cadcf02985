//! Tests of backend descriptor validation and liveness tracking.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use super::*;
use crate::period::PeriodParams;
use crate::testing::*;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

struct Fixture {
    id: tor_hscrypto::pk::HsIdKeypair,
    addr: crate::OnionAddress,
    period: PeriodParams,
}

fn fixture() -> Fixture {
    let id = fake_identity(100);
    Fixture {
        addr: address_of(&id),
        id,
        period: test_period(t0()),
    }
}

fn ipts() -> Vec<tor_netdoc::doc::hsdesc::IntroPointDesc> {
    (1..=3).map(fake_intro_point).collect()
}

#[test]
fn accepts_real_backend_descriptor() {
    let f = fixture();
    let text = backend_descriptor(&f.id, &f.period, &ipts(), 77, t0());
    let v = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap();
    assert_eq!(v.revision, 77);
    assert_eq!(v.intro_points.len(), 3);
    assert_eq!(v.address, f.addr);
    assert_eq!(v.lifetime, Duration::from_secs(180 * 60));
    assert_eq!(v.flow_control.as_ref().map(|(_, n)| n.get()), Some(31));
    assert!(v.valid_until > t0() + Duration::from_secs(53 * 3600));
    assert_eq!(v.dropped_intro_points, 0);
    assert_eq!(
        v.blinded_id,
        f.id.compute_blinded_key(f.period.time_period)
            .unwrap()
            .0
            .id()
    );
}

#[test]
fn rejects_wrong_address() {
    let f = fixture();
    let other = fake_identity(101);
    let text = backend_descriptor(&other, &f.period, &ipts(), 1, t0());
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap_err();
    assert!(
        matches!(
            r,
            Rejection::BlindedKeyMismatch {
                matches_period: None,
                ..
            }
        ),
        "{r:?}"
    );
    let msg = r.to_string();
    assert!(
        msg.starts_with(&format!(
            "blinded key does not match the configured address in period #{}",
            f.period.interval_num()
        )),
        "{msg}"
    );
}

/// Rejection texts are logged at warn level: they never carry a backend's onion address (the
/// variants keep it as a field for callers allowed to show it).
#[test]
fn rejection_texts_carry_no_address() {
    let f = fixture();
    let label = f.addr.to_string();
    let label = label.trim_end_matches(".onion");
    let other = fake_identity(101);
    let next = PeriodParams {
        time_period: f.period.time_period.next().unwrap(),
        srv_start: f.period.srv_start + f.period.length(),
    };
    let rejections = [
        validate_backend_descriptor(
            &backend_descriptor(&other, &f.period, &ipts(), 1, t0()),
            &f.addr,
            &f.period,
            t0(),
        )
        .unwrap_err(),
        validate_backend_descriptor(
            &backend_descriptor(&f.id, &next, &ipts(), 1, t0()),
            &f.addr,
            &f.period,
            t0(),
        )
        .unwrap_err(),
        Rejection::Blinding {
            address: f.addr,
            period: 1,
        },
        Rejection::DecryptionFailed { address: f.addr },
    ];
    for r in rejections {
        let text = r.to_string();
        assert!(!text.contains(label), "{text}");
        assert!(!text.contains(&label[..8]), "{text}");
    }
}

/// A descriptor whose certificates start in the future (a backend clock far ahead, or a forged
/// time) is refused, with the time it would become valid; a clock slightly ahead is tolerated.
#[test]
fn rejects_not_yet_valid() {
    let f = fixture();
    let later = t0() + Duration::from_secs(6 * 3600);
    let text = backend_descriptor(&f.id, &f.period, &ipts(), 1, later);
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap_err();
    let Rejection::NotYetValid { from } = r else {
        panic!("{r:?}")
    };
    // Certificate expiry times have a one-hour granularity.
    let diff = from.duration_since(later).unwrap_or_else(|e| e.duration());
    assert!(diff <= Duration::from_secs(3600), "{r}");
    assert!(r.to_string().starts_with("not valid before 20"), "{r}");

    let slightly = t0() + Duration::from_secs(30 * 60);
    let text = backend_descriptor(&f.id, &f.period, &ipts(), 2, slightly);
    validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap();
}

/// The `flow-control` check clients apply: a sendme_inc more than 1 away from the consensus'
/// `cc_sendme_inc` is refused; within 1 is accepted; without consensus facts it is not checked.
#[test]
fn flow_control_is_checked_against_the_consensus() {
    let f = fixture();
    let (protocols, _) = c_tor_flow_control();
    let opts = BackendDescOptions {
        flow_control: Some((protocols, 25)),
        ..BackendDescOptions::default()
    };
    let text = backend_descriptor_with(&f.id, &f.period, &ipts(), 5, t0(), &opts);
    let with = |inc| ValidationParams {
        cc_sendme_inc: Some(inc),
    };
    let r =
        validate_backend_descriptor_with(&text, &f.addr, &f.period, t0(), &with(31)).unwrap_err();
    assert_eq!(
        r,
        Rejection::FlowControlMismatch {
            advertised: 25,
            consensus: 31
        }
    );
    assert_eq!(
        r.to_string(),
        "flow-control sendme_inc 25 differs from the consensus cc_sendme_inc 31 by more than 1"
    );
    for close in [24, 25, 26] {
        validate_backend_descriptor_with(&text, &f.addr, &f.period, t0(), &with(close)).unwrap();
    }
    validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap();
    assert!(check_flow_control(0, 1).is_err());
    assert!(check_flow_control(31, 31).is_ok());
}

/// A tracker started from an earlier run's history refuses that run's replays, keeps its
/// "last advanced" time (so a backend that stopped republishing is still stale), and counts a
/// higher counter as an advance.
#[test]
fn a_tracker_from_history_remembers_revisions_and_staleness() {
    let f = fixture();
    let stale_after = Duration::from_secs(3600);
    let mut before = BackendTracker::new();
    let old = backend_descriptor(&f.id, &f.period, &ipts(), 10, t0());
    let newer = backend_descriptor(&f.id, &f.period, &ipts(), 20, t0());
    let v = |text: &str, at| validate_backend_descriptor(text, &f.addr, &f.period, at).unwrap();
    before.observe(v(&old, t0()), t0()).unwrap();
    before.observe(v(&newer, t0()), t0()).unwrap();
    let saved = before.history();
    assert_eq!(saved.periods.len(), 1);
    assert_eq!(saved.periods[0].revision, 20);
    assert_eq!(saved.last_advanced, Some(t0()));

    // "Restart" 90 minutes later.
    let later = t0() + Duration::from_secs(90 * 60);
    let mut after = BackendTracker::from_history(saved.clone());
    assert_eq!(after.history(), saved);
    assert_eq!(after.liveness(later, stale_after), Liveness::Unknown);
    let r = after.observe(v(&old, later), later).unwrap_err();
    assert_eq!(
        r,
        Rejection::Replay {
            revision: 10,
            seen: 20
        }
    );
    // The same revision again: unchanged, and stale since before the restart.
    assert_eq!(
        after.observe(v(&newer, later), later).unwrap(),
        Observation::Unchanged
    );
    assert_eq!(
        after.liveness(later, Duration::from_secs(3600)),
        Liveness::Stale { since: t0() }
    );
    let advanced = backend_descriptor(&f.id, &f.period, &ipts(), 30, later);
    assert_eq!(
        after.observe(v(&advanced, later), later).unwrap(),
        Observation::Advanced
    );
    assert_eq!(after.liveness(later, stale_after), Liveness::Live);
}

/// A history with duplicate or too many periods keeps the highest counter of each and the
/// newest periods.
#[test]
fn from_history_keeps_the_highest_counter_of_the_newest_periods() {
    let at = t0();
    let period = |n| tor_hscrypto::time::TimePeriod::from_parts(1440, n, 43200);
    let rec = |n, revision| PeriodHistory {
        period: period(n),
        revision,
        first_seen: at,
    };
    let h = TrackerHistory {
        periods: vec![
            rec(7, 5),
            rec(3, 1),
            rec(7, 9),
            rec(4, 1),
            rec(5, 1),
            rec(6, 1),
        ],
        last_advanced: None,
    };
    let t = BackendTracker::from_history(h);
    let kept: Vec<(u64, u64)> = t
        .history()
        .periods
        .iter()
        .map(|p| (p.period.interval_num(), p.revision))
        .collect();
    assert_eq!(kept, vec![(4, 1), (5, 1), (6, 1), (7, 9)]);
    assert_eq!(t.revision_in(&period(7)), Some(9));
}
