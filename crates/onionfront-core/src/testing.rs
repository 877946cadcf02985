//! Test support: deterministic fake keys, intro points, time periods and real signed backend
//! descriptors, for this crate's tests and for other crates' tests (feature `testing`).
//!
//! Everything here is deterministic in its seed except the randomness that goes into a signed
//! descriptor (descriptor-signing key, salts), exactly as with a real backend. Nothing here is
//! meant for production: the functions panic on impossible inputs like test code does.

// Test support: a panic here is a broken test setup, reported like any test failure. Every
// `expect` below is on an operation that cannot fail for the inputs these helpers construct.
#![allow(clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use digest::Digest;
use tor_cell::chancell::msg::HandshakeType;
use tor_hscrypto::pk::{HsIdKeypair, HsIntroPtSessionIdKey, HsSvcNtorKey};
use tor_hscrypto::time::TimePeriod;
use tor_linkspec::{EncodedLinkSpec, LinkSpec};
use tor_llcrypto::d::Sha3_256;
use tor_llcrypto::pk::rsa::RsaIdentity;
use tor_llcrypto::pk::{curve25519, ed25519};
use tor_netdoc::NetdocBuilder;
use tor_netdoc::doc::hsdesc::{
    HsDescBuilder, IntroAuthType, IntroPointDesc, create_desc_sign_key_cert,
};
use tor_protover::Protocols;

use crate::period::PeriodParams;

/// Lifetime of a C tor backend's descriptor-signing certificate (`HS_DESC_CERT_LIFETIME`).
pub const BACKEND_CERT_LIFETIME: Duration = Duration::from_secs(54 * 3600);

/// The `flow-control` line a C tor 0.4.9 backend publishes: `FlowCtrl=1-2`, sendme_inc 31.
pub fn c_tor_flow_control() -> (Protocols, u8) {
    let protos = "FlowCtrl=1-2"
        .parse::<Protocols>()
        .expect("constant protocol list parses");
    (protos, 31)
}

/// 32 deterministic bytes for `label` and `seed`.
pub fn seed_bytes(label: &str, seed: u64) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(b"onionfront-testing\0");
    h.update(label.as_bytes());
    h.update([0]);
    h.update(seed.to_be_bytes());
    h.finalize().into()
}

/// A deterministic service identity keypair.
pub fn fake_identity(seed: u64) -> HsIdKeypair {
    let kp = ed25519::Keypair::from_bytes(&seed_bytes("identity", seed));
    HsIdKeypair::from(ed25519::ExpandedKeypair::from(&kp))
}

/// The onion address of [`fake_identity`]`(seed)`.
pub fn fake_address(seed: u64) -> crate::OnionAddress {
    address_of(&fake_identity(seed))
}

/// The onion address of `identity`.
pub fn address_of(identity: &HsIdKeypair) -> crate::OnionAddress {
    let exp: &ed25519::ExpandedKeypair = identity.as_ref();
    crate::OnionAddress::from_public_key(exp.public().to_bytes())
}

/// The fake relay identities of `relay_seed`: (RSA identity, ed25519 identity).
pub fn fake_relay_ids(relay_seed: u64) -> (RsaIdentity, ed25519::Ed25519Identity) {
    let rsa_bytes = seed_bytes("relay-rsa", relay_seed);
    let rsa = RsaIdentity::from_bytes(&rsa_bytes[..20]).expect("20 bytes make an RSA identity");
    let ed = ed25519::Keypair::from_bytes(&seed_bytes("relay-ed", relay_seed)).verifying_key();
    (rsa, ed25519::Ed25519Identity::from(ed))
}

/// A fake intro point with valid keys on a relay of its own (relay seed = `seed`).
pub fn fake_intro_point(seed: u64) -> IntroPointDesc {
    fake_intro_point_on_relay(seed, seed)
}

/// A fake intro point (keys from `seed`) on the fake relay `relay_seed`: link specifiers
/// IPv4 127.0.0.1 (port derived from the relay), RSA identity and ed25519 identity; the intro
/// point's ntor key is the relay's (as on the real network, two intro points on one relay share it).
pub fn fake_intro_point_on_relay(seed: u64, relay_seed: u64) -> IntroPointDesc {
    fake_intro_point_with(seed, relay_seed, 0)
}

/// Like [`fake_intro_point_on_relay`], plus an IPv6 link specifier (the largest intro points
/// seen in practice).
pub fn fake_intro_point_ipv6(seed: u64, relay_seed: u64) -> IntroPointDesc {
    fake_intro_point_with(seed, relay_seed, 1)
}

/// Like [`fake_intro_point_on_relay`], with `ipv6` IPv6 link specifiers (for size tests).
pub fn fake_intro_point_with(seed: u64, relay_seed: u64, ipv6: usize) -> IntroPointDesc {
    let (rsa, ed) = fake_relay_ids(relay_seed);
    let port = 5000 + u16::try_from(relay_seed % 50_000).expect("< 50000 fits in u16");
    let mut specs = vec![LinkSpec::OrPort(IpAddr::V4(Ipv4Addr::LOCALHOST), port)];
    for i in 0..ipv6 {
        let b = seed_bytes("relay-ipv6", relay_seed);
        let mut a = [0u8; 16];
        a.copy_from_slice(&b[..16]);
        a[0] = 0x20;
        a[1] = 0x01;
        a[15] = a[15].wrapping_add(u8::try_from(i % 256).expect("< 256"));
        specs.push(LinkSpec::OrPort(IpAddr::V6(Ipv6Addr::from(a)), port));
    }
    specs.push(LinkSpec::RsaId(rsa));
    specs.push(LinkSpec::Ed25519Id(ed));
    let link_specifiers: Vec<EncodedLinkSpec> = specs
        .iter()
        .map(|ls| ls.encode().expect("known link specifier types encode"))
        .collect();

    let relay_ntor = x25519_public(&seed_bytes("relay-ntor", relay_seed));
    let sid = ed25519::Keypair::from_bytes(&seed_bytes("ipt-sid", seed)).verifying_key();
    let svc_ntor = x25519_public(&seed_bytes("ipt-svc-ntor", seed));
    IntroPointDesc::builder()
        .link_specifiers(link_specifiers)
        .ipt_kp_ntor(relay_ntor)
        .kp_hs_ipt_sid(HsIntroPtSessionIdKey::from(sid))
        .kp_hss_ntor(HsSvcNtorKey::from(svc_ntor))
        .build()
        .expect("every field is set")
}

/// The x25519 public key of the secret `bytes`.
fn x25519_public(bytes: &[u8; 32]) -> curve25519::PublicKey {
    curve25519::PublicKey::from(&curve25519::StaticSecret::from(*bytes))
}

/// A deterministic client keypair for restricted discovery tests: (secret, public).
pub fn fake_client_key(seed: u64) -> (curve25519::StaticSecret, curve25519::PublicKey) {
    let secret = curve25519::StaticSecret::from(seed_bytes("client-desc-enc", seed));
    let public = curve25519::PublicKey::from(&secret);
    (secret, public)
}

/// A 1440-minute time period containing `now` (epoch offset 12 h, as on the real network), its
/// SRV run starting 12 h before the period, as for the live network's current descriptor.
pub fn test_period(now: SystemTime) -> PeriodParams {
    let time_period = TimePeriod::new(
        Duration::from_secs(1440 * 60),
        now,
        Duration::from_secs(12 * 3600),
    )
    .expect("now is a plausible time");
    let start = time_period.range().expect("representable period").start;
    PeriodParams {
        time_period,
        srv_start: start - Duration::from_secs(12 * 3600),
    }
}

/// Options for [`backend_descriptor_with`]; the default is what a C tor 0.4.9 backend publishes.
#[derive(Debug, Clone)]
pub struct BackendDescOptions {
    /// `descriptor-lifetime` in minutes.
    pub lifetime_minutes: u16,
    /// Expiry of the signing certificate and intro point certificates, relative to `now`.
    pub cert_lifetime: Duration,
    /// `flow-control` line.
    pub flow_control: Option<(Protocols, u8)>,
    /// Restricted discovery clients (`None`: off).
    pub auth_clients: Option<Vec<curve25519::PublicKey>>,
    /// Emit `intro-auth-required ed25519`.
    pub intro_auth: bool,
}

impl Default for BackendDescOptions {
    fn default() -> Self {
        BackendDescOptions {
            lifetime_minutes: 180,
            cert_lifetime: BACKEND_CERT_LIFETIME,
            flow_control: Some(c_tor_flow_control()),
            auth_clients: None,
            intro_auth: false,
        }
    }
}

/// A real signed backend descriptor for `identity` in `period`, as a C tor backend would
/// publish it (180-minute lifetime, 54-hour certificates, `flow-control FlowCtrl=1-2 31`).
pub fn backend_descriptor(
    identity: &HsIdKeypair,
    period: &PeriodParams,
    intro_points: &[IntroPointDesc],
    revision: u64,
    now: SystemTime,
) -> String {
    backend_descriptor_with(
        identity,
        period,
        intro_points,
        revision,
        now,
        &BackendDescOptions::default(),
    )
}

/// [`backend_descriptor`] with explicit [`BackendDescOptions`].
pub fn backend_descriptor_with(
    identity: &HsIdKeypair,
    period: &PeriodParams,
    intro_points: &[IntroPointDesc],
    revision: u64,
    now: SystemTime,
    opts: &BackendDescOptions,
) -> String {
    let mut rng = rand::rng();
    let (blind_pk, blind_kp, subcredential) = identity
        .compute_blinded_key(period.time_period)
        .expect("blinding a valid key succeeds");
    let sign = ed25519::Keypair::generate(&mut rng);
    let expiry = now + opts.cert_lifetime;
    let cert = create_desc_sign_key_cert(&sign.verifying_key(), &blind_kp, expiry)
        .expect("signing cert encodes");
    let auth_required = opts
        .intro_auth
        .then(|| [IntroAuthType::Ed25519].into_iter().collect());
    HsDescBuilder::default()
        .blinded_id(&blind_pk)
        .hs_desc_sign(&sign)
        .hs_desc_sign_cert(cert)
        .create2_formats(&[HandshakeType::NTOR])
        .auth_required(auth_required)
        .is_single_onion_service(false)
        .intro_points(intro_points)
        .intro_auth_key_cert_expiry(expiry)
        .intro_enc_key_cert_expiry(expiry)
        .flow_control(opts.flow_control.clone())
        .auth_clients(opts.auth_clients.as_deref())
        .lifetime(opts.lifetime_minutes.into())
        .revision_counter(revision.into())
        .subcredential(subcredential)
        .build_sign(&mut rng)
        .expect("a descriptor with valid inputs builds")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_distinct() {
        let a = fake_identity(1);
        let b = fake_identity(1);
        let c = fake_identity(2);
        assert_eq!(address_of(&a), address_of(&b));
        assert_ne!(address_of(&a), address_of(&c));
        let i1 = fake_intro_point(1);
        let i1b = fake_intro_point(1);
        assert_eq!(i1.link_specifiers(), i1b.link_specifiers());
        assert_ne!(fake_intro_point(2).link_specifiers(), i1.link_specifiers());
        // Same relay, different intro point keys.
        let s1 = fake_intro_point_on_relay(10, 7);
        let s2 = fake_intro_point_on_relay(11, 7);
        assert_eq!(s1.link_specifiers(), s2.link_specifiers());
        assert_ne!(s1.ipt_sid_key(), s2.ipt_sid_key());
    }

    #[test]
    fn backend_descriptor_parses() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
        let id = fake_identity(3);
        let period = test_period(now);
        assert!(period.time_period.contains(now));
        assert!(period.srv_start < now);
        let ipts = [fake_intro_point(1), fake_intro_point(2)];
        let text = backend_descriptor(&id, &period, &ipts, 42, now);
        let (blind, _, subcred) = id.compute_blinded_key(period.time_period).unwrap();
        let desc = tor_netdoc::doc::hsdesc::HsDesc::parse_decrypt_validate(
            &text,
            &blind.id(),
            &subcred,
            None,
        )
        .unwrap();
        use tor_checkable::TimeBound;
        let desc = desc.if_valid_at(&now).unwrap();
        assert_eq!(*desc.revision(), 42);
        assert_eq!(desc.intro_points().len(), 2);
        assert_eq!(desc.flow_control().map(|(_, n)| n.get()), Some(31));
    }
}
