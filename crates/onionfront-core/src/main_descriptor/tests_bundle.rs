//! Tests of main descriptors built from a key bundle (offline keys): they parse and validate
//! with Arti's client parser like those built from the identity key, carry the same revision
//! counters, are valid until the bundled certificate's expiry, and restricted discovery works
//! with them as with the identity key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tor_checkable::{TimeBound, TimeValidityError};
use tor_hscrypto::Subcredential;
use tor_hscrypto::pk::{
    HsBlindIdKey, HsClientDescEncKey, HsClientDescEncKeypair, HsClientDescEncSecretKey,
};
use tor_netdoc::doc::hsdesc::{HsDesc, HsDescError, IntroPointDesc};

use super::*;
use crate::keys::{KeyBundle, ServiceKey};
use crate::testing::*;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn key() -> ServiceKey {
    ServiceKey::from_seed(&[5u8; 32])
}

/// Two daily periods from the one containing `t0` (the live network's offset).
fn bundle_keys(key: &ServiceKey) -> SigningKeys {
    let first = KeyBundle::period_containing(t0(), 1440, 12 * 3600).unwrap();
    SigningKeys::Bundle(Arc::new(KeyBundle::provision_count(key, first, 2).unwrap()))
}

/// What a client derives from the address alone: the period's blinded key and subcredential.
fn client_view(key: &ServiceKey, period: &PeriodParams) -> (HsBlindIdKey, Subcredential) {
    key.address()
        .hs_id_key()
        .unwrap()
        .compute_blinded_key(period.time_period)
        .unwrap()
}

fn request<'a>(
    keys: &'a SigningKeys,
    period: &'a PeriodParams,
    ipts: &'a [IntroPointDesc],
    now: SystemTime,
) -> BuildRequest<'a> {
    BuildRequest {
        keys,
        period,
        intro_points: ipts,
        flow_control: None,
        auth_clients: &[],
        lifetime_minutes: 180,
        max_size: 50_000,
        min_revision: None,
        now,
    }
}

#[test]
fn a_bundle_descriptor_parses_and_validates_like_an_identity_one() {
    let key = key();
    let bundle = bundle_keys(&key);
    let identity = SigningKeys::Identity(key.shared_keypair());
    let period = test_period(t0());
    let ipts: Vec<IntroPointDesc> = (1..=5).map(fake_intro_point).collect();
    let from_bundle = build_main_descriptor(&request(&bundle, &period, &ipts, t0())).unwrap();
    let from_identity = build_main_descriptor(&request(&identity, &period, &ipts, t0())).unwrap();
    assert_eq!(from_bundle.blinded_id, from_identity.blinded_id);
    assert_eq!(from_bundle.revision, from_identity.revision);
    assert_eq!(from_bundle.intro_points, 5);

    let SigningKeys::Bundle(b) = &bundle else {
        unreachable!()
    };
    let cert_expiry = b.period(period.time_period).unwrap().cert_expiry();
    assert_eq!(from_bundle.expires, cert_expiry);
    assert_eq!(
        cert_expiry,
        period.time_period.range().unwrap().end + Duration::from_secs(12 * 3600)
    );

    // What a client derives from the address alone.
    let (blind, subcred) = client_view(&key, &period);
    for built in [&from_bundle, &from_identity] {
        let bound =
            HsDesc::parse_decrypt_validate(&built.text, &blind.id(), &subcred, None).unwrap();
        // Certificates encode their expiry in whole hours (rounded up); the bundle's is one.
        let end = bound.bounds_start_end().1.unwrap();
        assert!(end >= built.expires && end < built.expires + Duration::from_secs(3600));
        let desc = bound
            .check_valid_at(&t0())
            .map(|()| bound.dangerously_assume_timely());
        let desc = desc.unwrap();
        assert_eq!(*desc.revision(), built.revision);
        assert_eq!(desc.intro_points().len(), 5);
    }
    // Valid until the certificate's expiry (the last second of the margin), not after.
    let bound =
        HsDesc::parse_decrypt_validate(&from_bundle.text, &blind.id(), &subcred, None).unwrap();
    assert_eq!(bound.bounds_start_end().1, Some(cert_expiry));
    assert!(
        bound
            .check_valid_at(&(cert_expiry - Duration::from_secs(1)))
            .is_ok()
    );
    assert!(matches!(
        bound.check_valid_at(&(cert_expiry + Duration::from_secs(1))),
        Err(TimeValidityError::Expired(_))
    ));
}

#[test]
fn revision_counters_of_the_bundle_equal_the_identitys() {
    let key = key();
    let bundle = bundle_keys(&key);
    let identity = SigningKeys::Identity(key.shared_keypair());
    let period = test_period(t0());
    for secs in [0, 1, 1000, 86_399, 129_599] {
        let now = period.srv_start + Duration::from_secs(secs);
        let expected = revision_counter(&identity, &period, now);
        assert!(expected.is_some());
        assert_eq!(revision_counter(&bundle, &period, now), expected);
    }
}

#[test]
fn uncovered_and_expired_periods_are_refused() {
    let key = key();
    let bundle = bundle_keys(&key);
    let ipts: Vec<IntroPointDesc> = (1..=3).map(fake_intro_point).collect();
    let later = t0() + Duration::from_secs(3 * 86_400);
    let uncovered = test_period(later);
    assert_eq!(
        build_main_descriptor(&request(&bundle, &uncovered, &ipts, later)).unwrap_err(),
        BuildError::NotCovered(uncovered.interval_num())
    );
    let period = test_period(t0());
    let end = period.time_period.range().unwrap().end;
    let expired = end + Duration::from_secs(12 * 3600);
    assert_eq!(
        build_main_descriptor(&request(&bundle, &period, &ipts, expired)).unwrap_err(),
        BuildError::CertificateExpired(period.interval_num())
    );
}

#[test]
fn restricted_discovery_works_from_a_bundle() {
    let key = key();
    let bundle = bundle_keys(&key);
    let period = test_period(t0());
    let ipts: Vec<IntroPointDesc> = (1..=3).map(fake_intro_point).collect();
    let (secret, public) = fake_client_key(7);
    let (other_secret, other_public) = fake_client_key(8);
    let clients = [public];
    let mut req = request(&bundle, &period, &ipts, t0());
    req.auth_clients = &clients;
    let built = build_main_descriptor(&req).unwrap();

    let (blind, subcred) = client_view(&key, &period);
    let parse = |client: Option<&HsClientDescEncKeypair>| {
        HsDesc::parse_decrypt_validate(&built.text, &blind.id(), &subcred, client)
            .map(|bound| bound.dangerously_assume_timely())
    };
    let authorized = HsClientDescEncKeypair::new(
        HsClientDescEncKey::from(public),
        HsClientDescEncSecretKey::from(secret),
    );
    let desc = parse(Some(&authorized)).unwrap();
    assert_eq!(desc.intro_points().len(), 3);
    assert!(matches!(
        parse(None),
        Err(HsDescError::MissingDecryptionKey)
    ));
    let other = HsClientDescEncKeypair::new(
        HsClientDescEncKey::from(other_public),
        HsClientDescEncSecretKey::from(other_secret),
    );
    assert!(parse(Some(&other)).is_err());
}
