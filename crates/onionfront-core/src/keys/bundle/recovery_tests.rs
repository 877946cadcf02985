//! Why a bundle holds no blinded secret key, proved, and that it holds none.
//!
//! rend-spec-v3 blinds with `a' = h·a mod ℓ` where `h` is computed from public data only (the
//! identity public key and the period; Arti's and C tor's optional secret `s` is empty), so any
//! one blinded secret key and the onion address give the identity secret scalar
//! `a = a'·h⁻¹ mod ℓ`, and with it the blinded key of every period, for ever. Bundle format v1
//! shipped blinded secrets; v2 ships signing keys certified by them instead.
//! docs/offline-keys.md states the consequence; these tests keep the statement honest.
//!
//! The arithmetic mod ℓ is done here by hand (256-bit numbers as four 64-bit limbs, double and
//! add) because no scalar type is a dependency of this crate; speed does not matter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use digest::Digest as _;
use tor_hscrypto::pk::{HsIdKey, HsIdKeypair};
use tor_llcrypto::d::Sha3_256;
use tor_llcrypto::pk::ed25519::ExpandedKeypair;

use super::*;

/// A 256-bit number, little-endian limbs.
type U256 = [u64; 4];

/// ℓ = 2^252 + 27742317777372353535851937790883648493, the order of the ed25519 base point.
const ELL: U256 = [
    0x5812_631a_5cf5_d3ed,
    0x14de_f9de_a2f7_9cd6,
    0,
    0x1000_0000_0000_0000,
];

fn ge(a: &U256, b: &U256) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] > b[i];
        }
    }
    true
}

fn sub(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut borrow = 0u64;
    for i in 0..4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow);
        out[i] = d2;
        borrow = u64::from(b1 || b2);
    }
    out
}

/// `a` mod ℓ, for `a` < 2^256 (at most 16 subtractions: 2^256 / ℓ < 16).
fn reduce(mut a: U256) -> U256 {
    while ge(&a, &ELL) {
        a = sub(&a, &ELL);
    }
    a
}

/// `a + b` mod ℓ, for `a`, `b` < ℓ (the sum stays below 2^254: no overflow).
fn add_mod(a: &U256, b: &U256) -> U256 {
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for i in 0..4 {
        let s = u128::from(a[i]) + u128::from(b[i]) + carry;
        out[i] = s as u64;
        carry = s >> 64;
    }
    reduce(out)
}

fn mul_mod(a: &U256, b: &U256) -> U256 {
    let mut acc = [0u64; 4];
    for i in (0..256).rev() {
        acc = add_mod(&acc, &acc);
        if (b[i / 64] >> (i % 64)) & 1 == 1 {
            acc = add_mod(&acc, a);
        }
    }
    acc
}

/// `a`⁻¹ mod ℓ (Fermat: a^(ℓ-2)).
fn inv_mod(a: &U256) -> U256 {
    let e = sub(&ELL, &[2, 0, 0, 0]);
    let mut acc: U256 = [1, 0, 0, 0];
    for i in (0..256).rev() {
        acc = mul_mod(&acc, &acc);
        if (e[i / 64] >> (i % 64)) & 1 == 1 {
            acc = mul_mod(&acc, a);
        }
    }
    acc
}

fn from_le(bytes: &[u8]) -> U256 {
    let mut out = [0u64; 4];
    for (i, limb) in out.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        *limb = u64::from_le_bytes(b);
    }
    out
}

fn to_le(a: &U256) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in a.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
    }
    out
}

/// The clamped blinding factor of rend-spec-v3 A.2, from public data only.
fn public_blinding_factor(identity: &[u8; 32], period: TimePeriod) -> U256 {
    let mut h = Sha3_256::new();
    h.update(b"Derive temporary signing key\0");
    h.update(identity);
    h.update(
        b"(15112221349535400772501151409588531511454012693041857206046113283949847762202, \
           46316835694926478169428394003475163141307993866256225615783033603165251855960)",
    );
    h.update(b"key-blind");
    h.update(period.interval_num().to_be_bytes());
    h.update(u64::from(period.length().as_minutes()).to_be_bytes());
    let mut h: [u8; 32] = h.finalize().into();
    h[0] &= 248;
    h[31] &= 63;
    h[31] |= 64;
    reduce(from_le(&h))
}

#[test]
fn one_blinded_secret_and_the_address_give_the_identity_key() {
    let key = ServiceKey::from_seed(&[42u8; 32]);
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let period = KeyBundle::period_containing(start, 1440, 12 * 3600).unwrap();
    let address = key.address();

    // What a thief of a v1 bundle had: one period's 64 blinded secret bytes and the address.
    let (_, blinded, _) = key.keypair().compute_blinded_key(period).unwrap();
    let stolen: &ExpandedKeypair = blinded.as_ref();
    let stolen = stolen.to_secret_key_bytes();
    let h = public_blinding_factor(address.public_key(), period);
    let blinded_scalar = reduce(from_le(&stolen[..32]));
    let identity_scalar = mul_mod(&blinded_scalar, &inv_mod(&h));

    // The recovered scalar is the identity secret: its public key is the address's.
    let mut recovered = [0u8; 64];
    recovered[..32].copy_from_slice(&to_le(&identity_scalar));
    recovered[32..].copy_from_slice(&stolen[32..]);
    let recovered = ExpandedKeypair::from_secret_key_bytes(recovered).unwrap();
    assert_eq!(recovered.public().to_bytes(), *address.public_key());

    // And it gives the blinded key of any period, years later.
    let recovered = HsIdKeypair::from(recovered);
    let later = TimePeriod::from_parts(1440, period.interval_num() + 3650, 12 * 3600);
    let (thief_public, thief_kp, _) = recovered.compute_blinded_key(later).unwrap();
    let (real_public, real_kp, _) = key.keypair().compute_blinded_key(later).unwrap();
    assert_eq!(thief_public, real_public);
    let thief: &ExpandedKeypair = thief_kp.as_ref();
    let real: &ExpandedKeypair = real_kp.as_ref();
    assert_eq!(
        thief.to_secret_key_bytes()[..32],
        real.to_secret_key_bytes()[..32]
    );
    assert_eq!(HsIdKey::from(&recovered), HsIdKey::from(key.keypair()));
}

/// A bundle file holds none of its periods' blinded secrets: neither the 64 expanded bytes nor
/// the 32-byte scalar, raw or in base64 (at any alignment), nor the identity secret.
#[test]
fn a_bundle_file_holds_no_blinded_secret() {
    let key = ServiceKey::from_seed(&[42u8; 32]);
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let first = KeyBundle::period_containing(start, 1440, 12 * 3600).unwrap();
    let bundle = KeyBundle::provision_count(&key, first, 5).unwrap();
    let text = bundle.encode();
    let bytes = text.as_bytes();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // Base64 of `secret` as it would appear at any of the three byte alignments (the first
    // characters of an unaligned encoding depend on the bytes before, so they are dropped).
    let b64_forms = |secret: &[u8]| -> Vec<String> {
        (0..3)
            .map(|skip| {
                let enc = STANDARD.encode(&secret[skip..]);
                enc[..enc.len() - 4].to_string()
            })
            .collect()
    };
    let mut secrets: Vec<Vec<u8>> = Vec::new();
    for p in bundle.periods() {
        let (_, blinded, _) = key.keypair().compute_blinded_key(p.period).unwrap();
        let exp: &ExpandedKeypair = blinded.as_ref();
        let full = exp.to_secret_key_bytes();
        secrets.push(full.to_vec());
        secrets.push(full[..32].to_vec());
        secrets.push(full[32..].to_vec());
    }
    let identity: &ExpandedKeypair = key.keypair().as_ref();
    secrets.push(identity.to_secret_key_bytes()[..32].to_vec());
    assert_eq!(secrets.len(), 16);
    for secret in &secrets {
        assert!(!contains(secret));
        for form in b64_forms(secret) {
            assert!(!text.contains(&form), "a secret's base64 is in the file");
        }
    }
    // The check would see them: the v1 layout (base64 of the 64 bytes) is found.
    let v1_line = STANDARD.encode(&secrets[0]);
    let v1_like = format!("{}{v1_line}\n", &**text);
    assert!(v1_like.contains(b64_forms(&secrets[0])[0].as_str()));
}
