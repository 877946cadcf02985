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
