//! Tests of main descriptor building: round trip through Arti's client parser, padding, exact
//! size prediction, revision counters, restricted discovery, errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU8;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tor_checkable::TimeBound;
use tor_hscrypto::pk::{
    HsClientDescEncKey, HsClientDescEncKeypair, HsClientDescEncSecretKey, HsIdKeypair,
};
use tor_netdoc::doc::hsdesc::{HsDesc, HsDescError, IntroPointDesc};
use tor_protover::Protocols;

use super::layer_crypto::{LayerKeys, SUPERENCRYPTED_CONST};
use super::*;
use crate::descriptor::outer_text;
use crate::testing::*;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn flow() -> Option<(Protocols, NonZeroU8)> {
    let (p, n) = c_tor_flow_control();
    Some((p, NonZeroU8::new(n).unwrap()))
}

fn request<'a>(
    keys: &'a SigningKeys,
    period: &'a PeriodParams,
    ipts: &'a [IntroPointDesc],
) -> BuildRequest<'a> {
    BuildRequest {
        keys,
        period,
        intro_points: ipts,
        flow_control: flow(),
        auth_clients: &[],
        lifetime_minutes: 180,
        max_size: 50_000,
        min_revision: None,
        now: t0(),
    }
}

fn sid_set(ipts: &[IntroPointDesc]) -> Vec<[u8; 32]> {
    let mut v: Vec<[u8; 32]> = ipts
        .iter()
        .map(|i| i.ipt_sid_key().as_ref().to_bytes())
        .collect();
    v.sort();
    v
}

/// Parse `text` as an Arti client would.
fn client_parse(
    text: &str,
    id: &HsIdKeypair,
    period: &PeriodParams,
    key: Option<&HsClientDescEncKeypair>,
) -> Result<HsDesc, HsDescError> {
    let (blind, _, subcred) = id.compute_blinded_key(period.time_period).unwrap();
    let bound = HsDesc::parse_decrypt_validate(text, &blind.id(), &subcred, key)?;
    let (_, end) = bound.bounds_start_end();
    let end = end.unwrap();
    // Certificates valid 54 hours (Arti encodes the expiry in whole hours).
    assert!(end >= t0() + Duration::from_secs(53 * 3600), "{end:?}");
    assert!(end <= t0() + Duration::from_secs(55 * 3600), "{end:?}");
    Ok(bound
        .check_valid_at(&t0())
        .map(|()| bound.dangerously_assume_timely())
        .unwrap())
}

/// The decrypted, still padded middle layer.
fn middle_plaintext(text: &str, id: &HsIdKeypair, period: &PeriodParams, rev: u64) -> Vec<u8> {
    let (blind, _, subcred) = id.compute_blinded_key(period.time_period).unwrap();
    let blob = outer_text::object_after(text, "superencrypted").unwrap();
    LayerKeys {
        blinded_key: &blind.as_ref().to_bytes(),
        subcredential: subcred.as_ref(),
        revision: rev,
        string_const: SUPERENCRYPTED_CONST,
    }
    .decrypt(&blob)
    .unwrap()
}

#[test]
fn round_trip_through_arti_client_parser() {
    let id = Arc::new(fake_identity(1));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let ipts: Vec<IntroPointDesc> = (1..=20).map(fake_intro_point).collect();
    let built = build_main_descriptor(&request(&keys, &period, &ipts)).unwrap();
    assert_eq!(built.intro_points, 20);
    assert_eq!(built.size, built.text.len());
    assert!(built.size <= 50_000);
    assert_eq!(Some(built.blinded_id), blinded_id(&keys, &period));
    assert_eq!(Some(built.revision), revision_counter(&keys, &period, t0()));

    let desc = client_parse(&built.text, &id, &period, None).unwrap();
    assert_eq!(*desc.revision(), built.revision);
    assert_eq!(sid_set(desc.intro_points()), sid_set(&ipts));
    // Link specifiers and keys are carried over verbatim.
    for ipt in desc.intro_points() {
        let orig = ipts
            .iter()
            .find(|o| o.ipt_sid_key() == ipt.ipt_sid_key())
            .unwrap();
        assert_eq!(orig.link_specifiers(), ipt.link_specifiers());
        assert_eq!(orig.ipt_ntor_key(), ipt.ipt_ntor_key());
        assert_eq!(orig.svc_ntor_key(), ipt.svc_ntor_key());
    }
    assert_eq!(desc.flow_control().map(|(_, n)| n.get()), Some(31));
    assert!(!desc.requires_intro_authentication());
    assert_eq!(outer_text::lifetime_minutes(&built.text), Some(180));
}

#[test]
fn c_tor_padding_and_auth_client_lines() {
    let id = Arc::new(fake_identity(2));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    for n in [1, 5, 12, 20] {
        let ipts: Vec<IntroPointDesc> = (1..=n).map(fake_intro_point).collect();
        let built = build_main_descriptor(&request(&keys, &period, &ipts)).unwrap();
        let middle = middle_plaintext(&built.text, &id, &period, built.revision);
        assert_eq!(middle.len() % size::PAD_MULTIPLE, 0, "{n} intro points");
        let text = String::from_utf8_lossy(&middle);
        assert_eq!(text.matches("\nauth-client ").count(), 16);
        // Not padded more than needed.
        let unpadded = middle.iter().rposition(|b| *b != 0).unwrap() + 1;
        assert_eq!(size::padded_len(unpadded), middle.len());
    }
}

#[test]
fn size_prediction_is_exact() {
    let id = Arc::new(fake_identity(3));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let (_, c1) = fake_client_key(1);
    let (_, c2) = fake_client_key(2);
    let clients_many: Vec<_> = (0..20).map(|i| fake_client_key(i).1).collect();
    let cases: Vec<(
        Vec<IntroPointDesc>,
        bool,
        Vec<tor_llcrypto::pk::curve25519::PublicKey>,
    )> = vec![
        ((1..=1).map(fake_intro_point).collect(), true, vec![]),
        ((1..=7).map(fake_intro_point).collect(), false, vec![]),
        ((1..=20).map(fake_intro_point).collect(), true, vec![]),
        (
            (1..=20).map(|i| fake_intro_point_with(i, i, 3)).collect(),
            true,
            vec![],
        ),
        (
            (1..=9).map(|i| fake_intro_point_ipv6(i, i)).collect(),
            true,
            vec![c1, c2],
        ),
        ((1..=4).map(fake_intro_point).collect(), true, clients_many),
    ];
    for (ipts, with_flow, clients) in cases {
        let mut req = request(&keys, &period, &ipts);
        if !with_flow {
            req.flow_control = None;
        }
        req.auth_clients = &clients;
        let built = build_main_descriptor(&req).unwrap();
        let fc = req.flow_control.as_ref().map(|(p, n)| (p.clone(), n.get()));
        let predicted =
            size::descriptor_len(&ipts, fc.as_ref(), clients.len(), 180, built.revision);
        assert_eq!(predicted, built.text.len(), "{} intro points", ipts.len());
        assert!(
            size::descriptor_len_bound(
                size::INNER_HEADER_MAX + ipts.iter().map(size::intro_point_len).sum::<usize>(),
                clients.len()
            ) >= predicted
        );
    }
}

#[test]
fn size_limit_is_an_error_naming_size_and_limit() {
    let id = Arc::new(fake_identity(4));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let ipts: Vec<IntroPointDesc> = (1..=20).map(|i| fake_intro_point_with(i, i, 12)).collect();
    let mut req = request(&keys, &period, &ipts);
    req.max_size = 30_000;
    let err = build_main_descriptor(&req).unwrap_err();
    let BuildError::TooLarge { size, limit } = err.clone() else {
        panic!("{err:?}")
    };
    assert_eq!(limit, 30_000);
    assert!(size > limit);
    assert_eq!(
        err.to_string(),
        format!("descriptor is {size} bytes, over the limit of 30000 bytes")
    );
}

#[test]
fn restricted_discovery_needs_the_client_key() {
    let id = Arc::new(fake_identity(5));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let ipts: Vec<IntroPointDesc> = (1..=3).map(fake_intro_point).collect();
    let (secret, public) = fake_client_key(7);
    let (other_secret, other_public) = fake_client_key(8);
    let clients = [public];
    let mut req = request(&keys, &period, &ipts);
    req.auth_clients = &clients;
    let built = build_main_descriptor(&req).unwrap();

    let keypair = HsClientDescEncKeypair::new(
        HsClientDescEncKey::from(public),
        HsClientDescEncSecretKey::from(secret),
    );
    let desc = client_parse(&built.text, &id, &period, Some(&keypair)).unwrap();
    assert_eq!(sid_set(desc.intro_points()), sid_set(&ipts));

    assert!(matches!(
        client_parse(&built.text, &id, &period, None),
        Err(HsDescError::MissingDecryptionKey)
    ));
    let wrong = HsClientDescEncKeypair::new(
        HsClientDescEncKey::from(other_public),
        HsClientDescEncSecretKey::from(other_secret),
    );
    assert!(client_parse(&built.text, &id, &period, Some(&wrong)).is_err());
    // 1 real client + 15 fake lines.
    let middle = middle_plaintext(&built.text, &id, &period, built.revision);
    assert_eq!(
        String::from_utf8_lossy(&middle)
            .matches("\nauth-client ")
            .count(),
        16
    );
}

#[test]
fn revision_counters_increase_and_respect_minimum() {
    let id = Arc::new(fake_identity(6));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let ipts: Vec<IntroPointDesc> = (1..=2).map(fake_intro_point).collect();
    let r0 = revision_counter(&keys, &period, t0()).unwrap();
    let r1 = revision_counter(&keys, &period, t0() + Duration::from_secs(1)).unwrap();
    let r60 = revision_counter(&keys, &period, t0() + Duration::from_secs(60)).unwrap();
    assert!(r0 < r1 && r1 < r60);

    // Same second as the last upload: the next second's counter.
    let mut req = request(&keys, &period, &ipts);
    req.min_revision = Some(r0);
    assert_eq!(build_main_descriptor(&req).unwrap().revision, r1);
    // Lower minimum: the counter of now.
    req.min_revision = Some(r0 - 1);
    assert_eq!(build_main_descriptor(&req).unwrap().revision, r0);
    // Far ahead (another publisher a minute ahead): refuse.
    req.min_revision = Some(r60);
    let err = build_main_descriptor(&req).unwrap_err();
    assert!(
        matches!(err, BuildError::RevisionNotAbove { min, .. } if min == r60),
        "{err:?}"
    );
    // Before the SRV start: no counter.
    assert_eq!(
        revision_counter(&keys, &period, period.srv_start - Duration::from_secs(1)),
        None
    );
}

/// An independent implementation of C tor's revision counter (`crypto_ope_encrypt` with the key
/// of `generate_ope_cipher_for_desc`), to check ours against.
fn c_tor_revision(blinded_secret: &[u8; 64], offset: u32) -> u64 {
    use cipher::{KeyIvInit, StreamCipher};
    use digest::Digest;
    use tor_llcrypto::d::Sha3_256;
    let mut h = Sha3_256::new();
    h.update(b"rev-counter-generation\0");
    h.update(blinded_secret);
    let key: [u8; 32] = h.finalize().into();
    let mut ctr = tor_llcrypto::cipher::aes::Aes256Ctr::new(&key.into(), &[0u8; 16].into());
    let plaintext = offset as usize + 1;
    let mut stream = vec![0u8; plaintext * 2];
    ctr.apply_keystream(&mut stream);
    stream
        .chunks(2)
        .map(|w| 1 + u64::from(u16::from_le_bytes([w[0], w[1]])))
        .sum()
}

#[test]
fn revision_counter_matches_c_tor() {
    let id = Arc::new(fake_identity(7));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let (_, blind_kp, _) = id.compute_blinded_key(period.time_period).unwrap();
    let exp: &tor_llcrypto::pk::ed25519::ExpandedKeypair = blind_kp.as_ref();
    let secret = exp.to_secret_key_bytes();
    let offset = period.srv_offset_secs(t0()).unwrap();
    assert_eq!(
        revision_counter(&keys, &period, t0()),
        Some(c_tor_revision(&secret, offset))
    );
    assert_eq!(
        revision::revision_at_offset(&revision::OpeKey::from_blinded(&blind_kp), 0),
        c_tor_revision(&secret, 0)
    );
}

#[test]
fn request_errors() {
    let id = Arc::new(fake_identity(8));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let none: Vec<IntroPointDesc> = vec![];
    assert_eq!(
        build_main_descriptor(&request(&keys, &period, &none)).unwrap_err(),
        BuildError::NoIntroPoints
    );
    let many: Vec<IntroPointDesc> = (1..=21).map(fake_intro_point).collect();
    assert_eq!(
        build_main_descriptor(&request(&keys, &period, &many)).unwrap_err(),
        BuildError::TooManyIntroPoints(21)
    );
    let ipts = vec![fake_intro_point(1)];
    let mut req = request(&keys, &period, &ipts);
    req.lifetime_minutes = 10;
    assert_eq!(
        build_main_descriptor(&req).unwrap_err(),
        BuildError::Lifetime(10)
    );
    let mut req = request(&keys, &period, &ipts);
    req.now = period.srv_start - Duration::from_secs(5);
    assert!(matches!(
        build_main_descriptor(&req).unwrap_err(),
        BuildError::OutsidePeriod { .. }
    ));
}

#[test]
fn unknown_flow_control_versions_are_dropped_not_fatal() {
    let id = Arc::new(fake_identity(9));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let ipts = vec![fake_intro_point(1)];
    let mut req = request(&keys, &period, &ipts);
    req.flow_control = Some(("FlowCtrl=3".parse().unwrap(), NonZeroU8::new(31).unwrap()));
    let built = build_main_descriptor(&req).unwrap();
    let desc = client_parse(&built.text, &id, &period, None).unwrap();
    assert_eq!(desc.flow_control(), None);
}

#[test]
fn validates_as_a_backend_too() {
    // A main descriptor is a valid descriptor of the main address (what clients check).
    let id = Arc::new(fake_identity(10));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let ipts: Vec<IntroPointDesc> = (1..=4).map(fake_intro_point).collect();
    let built = build_main_descriptor(&request(&keys, &period, &ipts)).unwrap();
    let v = crate::descriptor::validate_backend_descriptor(
        &built.text,
        &address_of(&id),
        &period,
        t0(),
    )
    .unwrap();
    assert_eq!(v.revision, built.revision);
    assert_eq!(v.intro_points.len(), 4);
}

/// Issue #14, the largest descriptor the live network sees: 20 intro points with IPv4 and IPv6
/// link specifiers, C tor's padding, restricted discovery for 100 clients. It stays under the
/// consensus' default limit (50 000 bytes), its size is the predicted one, and a client parses
/// it back with its key (the 100 clients take 112 `auth-client` lines). With 400 clients the
/// same intro points would not fit: the build refuses, naming the size and the limit.
#[test]
fn largest_descriptor_20_ipv6_intro_points_and_100_clients_fits() {
    let id = Arc::new(fake_identity(14));
    let signing = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(t0());
    let ipts: Vec<IntroPointDesc> = (1..=20).map(|i| fake_intro_point_ipv6(i, i)).collect();
    let keys: Vec<_> = (0..100).map(fake_client_key).collect();
    let clients: Vec<_> = keys.iter().map(|(_, p)| *p).collect();
    let mut req = request(&signing, &period, &ipts);
    req.auth_clients = &clients;
    let built = build_main_descriptor(&req).unwrap();
    assert_eq!(built.intro_points, 20);
    assert!(built.size < DEFAULT_MAX_SIZE, "{} bytes", built.size);
    let fc = req.flow_control.as_ref().map(|(p, n)| (p.clone(), n.get()));
    assert_eq!(
        size::descriptor_len(&ipts, fc.as_ref(), 100, 180, built.revision),
        built.size
    );

    let (secret, public) = keys[57].clone();
    let keypair = HsClientDescEncKeypair::new(
        HsClientDescEncKey::from(public),
        HsClientDescEncSecretKey::from(secret),
    );
    let desc = client_parse(&built.text, &id, &period, Some(&keypair)).unwrap();
    assert_eq!(sid_set(desc.intro_points()), sid_set(&ipts));
    for ipt in desc.intro_points() {
        let orig = ipts
            .iter()
            .find(|o| o.ipt_sid_key() == ipt.ipt_sid_key())
            .unwrap();
        assert_eq!(orig.link_specifiers(), ipt.link_specifiers());
        assert_eq!(
            ipt.link_specifiers().len(),
            4,
            "IPv4, IPv6, RSA and ed25519"
        );
    }
    let middle = middle_plaintext(&built.text, &id, &period, built.revision);
    assert_eq!(
        String::from_utf8_lossy(&middle)
            .matches("\nauth-client ")
            .count(),
        112
    );

    let many: Vec<_> = (0..400).map(|i| fake_client_key(i).1).collect();
    req.auth_clients = &many;
    let err = build_main_descriptor(&req).unwrap_err();
    let BuildError::TooLarge { size, limit } = err.clone() else {
        panic!("{err:?}")
    };
    assert_eq!(limit, DEFAULT_MAX_SIZE);
    assert_eq!(
        err.to_string(),
        format!("descriptor is {size} bytes, over the limit of 50000 bytes")
    );
}
