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
        Some(v.blinded_id),
        crate::main_descriptor::blinded_id(&f.id, &f.period)
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
            "blinded key does not match {} in period #{}",
            f.addr,
            f.period.interval_num()
        )),
        "{msg}"
    );
}

#[test]
fn rejects_wrong_period_and_names_it() {
    let f = fixture();
    let next = PeriodParams {
        time_period: f.period.time_period.next().unwrap(),
        srv_start: f.period.srv_start + f.period.length(),
    };
    let text = backend_descriptor(&f.id, &next, &ipts(), 1, t0());
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap_err();
    assert_eq!(
        r,
        Rejection::BlindedKeyMismatch {
            address: f.addr,
            period: f.period.interval_num(),
            matches_period: Some(next.interval_num()),
        }
    );
    assert!(r.to_string().ends_with(&format!(
        "(it is the key of period #{})",
        next.interval_num()
    )));
}

#[test]
fn rejects_expired() {
    let f = fixture();
    let text = backend_descriptor(&f.id, &f.period, &ipts(), 1, t0());
    let later = t0() + Duration::from_secs(55 * 3600);
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, later).unwrap_err();
    let Rejection::Expired { at } = r else {
        panic!("{r:?}")
    };
    assert!(at <= t0() + Duration::from_secs(55 * 3600) && at < later);
    assert!(r.to_string().starts_with("expired at 20"), "{r}");
}

#[test]
fn rejects_corrupted_signature() {
    let f = fixture();
    let text = backend_descriptor(&f.id, &f.period, &ipts(), 1, t0());
    let pos = text.find("\nsignature ").unwrap() + "\nsignature ".len() + 10;
    let mut bytes = text.into_bytes();
    bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
    let text = String::from_utf8(bytes).unwrap();
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap_err();
    assert!(matches!(r, Rejection::BadSignature(_)), "{r:?}");
    assert!(r.to_string().starts_with("signature check failed"));
}

#[test]
fn rejects_corrupted_body() {
    let f = fixture();
    let text = backend_descriptor(&f.id, &f.period, &ipts(), 1, t0());
    // Flip a character inside the superencrypted blob: the document signature fails.
    let pos = text.find("-----BEGIN MESSAGE-----\n").unwrap() + 30;
    let mut bytes = text.into_bytes();
    bytes[pos] = if bytes[pos] == b'A' { b'B' } else { b'A' };
    let text = String::from_utf8(bytes).unwrap();
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap_err();
    assert!(matches!(r, Rejection::BadSignature(_)), "{r:?}");
}

#[test]
fn rejects_garbage() {
    let f = fixture();
    for text in ["", "hello", "hs-descriptor 3\n", "\u{0}\u{1}binary"] {
        let r = validate_backend_descriptor(text, &f.addr, &f.period, t0()).unwrap_err();
        assert!(matches!(r, Rejection::Malformed(_)), "{text:?}: {r:?}");
        assert!(
            r.to_string()
                .starts_with("not a valid v3 onion service descriptor")
        );
    }
}

#[test]
fn rejects_restricted_discovery() {
    let f = fixture();
    let (_, client) = fake_client_key(1);
    let opts = BackendDescOptions {
        auth_clients: Some(vec![client]),
        ..Default::default()
    };
    let text = backend_descriptor_with(&f.id, &f.period, &ipts(), 1, t0(), &opts);
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap_err();
    assert_eq!(r, Rejection::RestrictedDiscovery);
    assert!(r.to_string().contains("restricted discovery"));
}

#[test]
fn rejects_intro_auth() {
    let f = fixture();
    let opts = BackendDescOptions {
        intro_auth: true,
        ..Default::default()
    };
    let text = backend_descriptor_with(&f.id, &f.period, &ipts(), 1, t0(), &opts);
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap_err();
    assert_eq!(r, Rejection::IntroAuthRequired);
}

#[test]
fn flow_control_vs_consensus() {
    let f = fixture();
    let text = backend_descriptor(&f.id, &f.period, &ipts(), 1, t0());
    let ok = |inc| {
        validate_backend_descriptor_with(
            &text,
            &f.addr,
            &f.period,
            t0(),
            &ValidationParams {
                cc_sendme_inc: Some(inc),
            },
        )
    };
    assert!(ok(31).is_ok());
    assert!(ok(30).is_ok());
    assert!(ok(32).is_ok());
    assert_eq!(
        ok(33).unwrap_err(),
        Rejection::FlowControlMismatch {
            advertised: 31,
            consensus: 33
        }
    );
}

#[test]
fn drops_intro_points_c_tor_cannot_use() {
    use tor_linkspec::LinkSpec;
    let f = fixture();
    let good = fake_intro_point(1);
    // Same keys, but only an ed25519 identity: no RSA id, no address.
    let (_, ed) = fake_relay_ids(99);
    let bad = tor_netdoc::doc::hsdesc::IntroPointDesc::builder()
        .link_specifiers(vec![LinkSpec::Ed25519Id(ed).encode().unwrap()])
        .ipt_kp_ntor(*fake_intro_point(2).ipt_ntor_key())
        .kp_hs_ipt_sid(fake_intro_point(2).ipt_sid_key().clone())
        .kp_hss_ntor(fake_intro_point(2).svc_ntor_key().clone())
        .build()
        .unwrap();
    let text = backend_descriptor(&f.id, &f.period, &[good, bad.clone()], 1, t0());
    let v = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap();
    assert_eq!(v.intro_points.len(), 1);
    assert_eq!(v.dropped_intro_points, 1);
    let text = backend_descriptor(&f.id, &f.period, &[bad], 1, t0());
    let r = validate_backend_descriptor(&text, &f.addr, &f.period, t0()).unwrap_err();
    assert_eq!(r, Rejection::NoUsableIntroPoints(1));
}

fn validated(f: &Fixture, period: &PeriodParams, rev: u64, now: SystemTime) -> ValidatedDescriptor {
    let text = backend_descriptor(&f.id, period, &ipts(), rev, now);
    validate_backend_descriptor(&text, &f.addr, period, now).unwrap()
}

#[test]
fn replay_and_unchanged() {
    let f = fixture();
    let mut t = BackendTracker::new();
    assert_eq!(
        t.liveness(t0(), Duration::from_secs(3600)),
        Liveness::Unknown
    );
    assert_eq!(
        t.observe(validated(&f, &f.period, 9, t0()), t0()),
        Ok(Observation::New)
    );
    assert_eq!(
        t.observe(validated(&f, &f.period, 9, t0()), t0()),
        Ok(Observation::Unchanged)
    );
    let r = t
        .observe(validated(&f, &f.period, 5, t0()), t0())
        .unwrap_err();
    assert_eq!(
        r,
        Rejection::Replay {
            revision: 5,
            seen: 9
        }
    );
    assert_eq!(r.to_string(), "replay: revision 5 < 9 seen");
    assert_eq!(
        t.observe(validated(&f, &f.period, 10, t0()), t0()),
        Ok(Observation::Advanced)
    );
    assert_eq!(t.latest().unwrap().revision, 10);
    assert_eq!(t.revision_in(&f.period.time_period), Some(10));
}

#[test]
fn stale_detection_with_fake_clock() {
    let f = fixture();
    let stale_after = Duration::from_secs(150 * 60);
    let mut t = BackendTracker::new();
    let mut now = t0();
    t.observe(validated(&f, &f.period, 100, now), now).unwrap();
    assert_eq!(t.liveness(now, stale_after), Liveness::Live);
    assert_eq!(t.last_advanced(), Some(t0()));

    // Republished every 90 minutes: stays live.
    for rev in [200, 300] {
        now += Duration::from_secs(90 * 60);
        assert_eq!(
            t.observe(validated(&f, &f.period, rev, now), now),
            Ok(Observation::Advanced)
        );
        assert_eq!(t.liveness(now, stale_after), Liveness::Live);
    }
    let advanced = now;

    // The backend dies: the same descriptor keeps being fetched.
    now += Duration::from_secs(60 * 60);
    let same = t.latest().unwrap().clone();
    assert_eq!(t.observe(same.clone(), now), Ok(Observation::Unchanged));
    assert_eq!(t.liveness(now, stale_after), Liveness::Live);

    // The next period's descriptor appears (already on the HSDirs): not an advance.
    let next = PeriodParams {
        time_period: f.period.time_period.next().unwrap(),
        srv_start: f.period.srv_start + f.period.length(),
    };
    now += Duration::from_secs(100 * 60);
    assert_eq!(
        t.observe(validated(&f, &next, 5, now), now),
        Ok(Observation::New)
    );
    assert_eq!(t.last_advanced(), Some(advanced));
    assert_eq!(
        t.liveness(now, stale_after),
        Liveness::Stale { since: advanced }
    );
}

#[test]
fn expiry_by_certificate_and_by_lifetime() {
    let f = fixture();
    let mut t = BackendTracker::new();
    t.observe(validated(&f, &f.period, 1, t0()), t0()).unwrap();
    let long = Duration::from_secs(100 * 3600);
    // descriptor-lifetime (180 minutes) after the revision was first seen: HSDirs dropped it.
    assert_eq!(
        t.liveness(t0() + Duration::from_secs(179 * 60), long),
        Liveness::Live
    );
    assert_eq!(
        t.liveness(t0() + Duration::from_secs(181 * 60), long),
        Liveness::Expired
    );
    // Certificates: 54 hours.
    assert_eq!(
        t.liveness(t0() + Duration::from_secs(55 * 3600), long),
        Liveness::Expired
    );
}
