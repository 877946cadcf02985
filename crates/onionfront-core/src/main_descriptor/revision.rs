//! Revision counters: C tor's "encrypted time in period" (rend-spec-v3 `[REV-COUNTER]`).
//!
//! The counter is an order-preserving encryption of the seconds since the start of the period's
//! SRV protocol run, keyed by the blinded secret key. It grows with time and needs no state, so
//! restarts, several onionfront frontends sharing a key, and a service migrated from C tor all
//! produce counters that keep increasing at the HSDirs.
//!
//! Key derivation is C tor's (`generate_ope_cipher_for_desc`):
//! `SHA3-256("rev-counter-generation\0" | KS_hs_blind_id)` over the whole 64-byte expanded blinded
//! secret key. Arti's `tor-hsservice` hashes `"rev-counter-generation"` without the NUL and only
//! the 32-byte scalar, so its counters are comparable with C tor's only statistically (they differ
//! by the equivalent of a few minutes). We follow C tor, which is what backends-turned-frontends and
//! existing services run. The key is [`OpeKey`]: a key bundle carries these 32 bytes, never the
//! blinded secret they are hashed from.

use std::time::SystemTime;

use cipher::{KeyIvInit as _, StreamCipher as _};
use digest::Digest as _;
use tor_hscrypto::pk::HsBlindIdKeypair;
use tor_llcrypto::cipher::aes::Aes256Ctr;
use tor_llcrypto::d::Sha3_256;
use tor_llcrypto::pk::ed25519;
use zeroize::Zeroizing;

use crate::period::PeriodParams;

/// How many seconds past `now` a counter may be taken from to exceed `min_revision`.
pub const MAX_REVISION_LEAD_SECS: u32 = 5;

/// What C tor hashes before the blinded secret key to make the OPE key (with a NUL after it).
const DERIVATION_PREFIX: &[u8] = b"rev-counter-generation\0";

/// A period's order-preserving-encryption key: the 32 bytes C tor derives from the blinded
/// secret key. A hash, so it does not reveal the blinded key: a key bundle ships it instead.
///
/// Arti's `tor_hscrypto::ope::AesOpeKey` can only be made from the secret it hashes, so its
/// `encrypt` is ported here (tor-hscrypto 0.47 `src/ope.rs`; tests check both agree).
#[derive(Clone)]
pub struct OpeKey {
    key: Zeroizing<[u8; 32]>,
}

impl OpeKey {
    /// The key of a blinded keypair, as C tor derives it (see the module docs).
    pub fn from_blinded(blinded: &HsBlindIdKeypair) -> OpeKey {
        let exp: &ed25519::ExpandedKeypair = blinded.as_ref();
        let secret = Zeroizing::new(exp.to_secret_key_bytes());
        let mut h = Sha3_256::new();
        h.update(DERIVATION_PREFIX);
        h.update(&secret[..]);
        OpeKey {
            key: Zeroizing::new(h.finalize().into()),
        }
    }

    /// A key from its 32 bytes (as a key bundle stores it).
    pub fn from_bytes(key: Zeroizing<[u8; 32]>) -> OpeKey {
        OpeKey { key }
    }

    /// The 32 key bytes (for writing a key bundle).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// The counter for SRV offset `offset` seconds: `offset + 1` plus the sum of the first
    /// `offset + 1` little-endian 16-bit words of the AES-256-CTR keystream (zero IV), which
    /// grows strictly with `offset` (Arti's `AesOpeKey::encrypt`, C tor's `crypto_ope_encrypt`).
    pub fn encrypt(&self, offset: u32) -> u64 {
        /// Words of keystream generated at a time.
        const CHUNK_WORDS: usize = 8 * 1024;
        let steps = offset.saturating_add(1);
        let mut ctr = Aes256Ctr::new((&*self.key).into(), &[0u8; 16].into());
        let mut result = u64::from(steps);
        let mut remaining = steps as usize;
        let mut buf = vec![0u8; CHUNK_WORDS * 2];
        while remaining > 0 {
            let words = remaining.min(CHUNK_WORDS);
            let chunk = &mut buf[..words * 2];
            chunk.fill(0);
            ctr.apply_keystream(chunk);
            result += chunk
                .chunks_exact(2)
                .map(|w| u64::from(u16::from_le_bytes([w[0], w[1]])))
                .sum::<u64>();
            remaining -= words;
        }
        result
    }
}

impl std::fmt::Debug for OpeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OpeKey(..)")
    }
}

/// The counter at SRV offset `offset` seconds.
pub fn revision_at_offset(key: &OpeKey, offset: u32) -> u64 {
    key.encrypt(offset)
}

/// Why no counter could be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RevisionError {
    /// `now` is before the period's SRV start (or absurdly far after it).
    OutsidePeriod,
    /// Even `MAX_REVISION_LEAD_SECS` ahead the counter does not exceed the minimum.
    NotAbove {
        /// The counter that must be exceeded.
        min: u64,
        /// The largest counter tried.
        best: u64,
    },
}

/// The counter for `now`, or the one of the smallest later second (at most
/// [`MAX_REVISION_LEAD_SECS`] ahead) that is strictly greater than `min`.
pub(crate) fn choose_revision(
    key: &OpeKey,
    period: &PeriodParams,
    now: SystemTime,
    min: Option<u64>,
) -> Result<u64, RevisionError> {
    let base = period
        .srv_offset_secs(now)
        .ok_or(RevisionError::OutsidePeriod)?;
    let Some(min) = min else {
        return Ok(revision_at_offset(key, base));
    };
    let last = base
        .checked_add(MAX_REVISION_LEAD_SECS)
        .ok_or(RevisionError::OutsidePeriod)?;
    // The OPE is strictly increasing: check the furthest allowed second first, so a hopeless
    // minimum costs one encryption.
    let best = revision_at_offset(key, last);
    if best <= min {
        return Err(RevisionError::NotAbove { min, best });
    }
    for offset in base..last {
        let rev = revision_at_offset(key, offset);
        if rev > min {
            return Ok(rev);
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use tor_hscrypto::ope::{AesOpeKey, SrvPeriodOffset};

    use super::*;

    /// Our port of `encrypt` equals Arti's for several keys and offsets (the first, the last
    /// of a daily period's SRV run, and across keystream chunk boundaries).
    #[test]
    fn ope_key_equals_artis() {
        for seed in 0u8..4 {
            let secret = [seed.wrapping_mul(37).wrapping_add(1); 65];
            let arti = AesOpeKey::from_secret(&secret);
            let mut h = Sha3_256::new();
            h.update(b"rev-counter-generation");
            h.update(secret);
            let ours = OpeKey::from_bytes(Zeroizing::new(h.finalize().into()));
            for offset in [0, 1, 1000, 8191, 8192, 86_399, 129_600] {
                assert_eq!(
                    ours.encrypt(offset),
                    arti.encrypt(SrvPeriodOffset::from(offset)),
                    "key {seed}, offset {offset}"
                );
            }
        }
    }

    /// The key of a blinded keypair is C tor's: Arti's `AesOpeKey` of `"\0" | 64-byte secret`.
    #[test]
    fn from_blinded_is_c_tors_derivation() {
        let id = crate::testing::fake_identity(3);
        let period = crate::testing::test_period(
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_750_000_000),
        );
        let (_, blinded, _) = id.compute_blinded_key(period.time_period).unwrap();
        let exp: &ed25519::ExpandedKeypair = blinded.as_ref();
        let mut secret = [0u8; 65];
        secret[1..].copy_from_slice(&exp.to_secret_key_bytes());
        let arti = AesOpeKey::from_secret(&secret);
        let ours = OpeKey::from_blinded(&blinded);
        for offset in [0, 1, 1000, 86_399, 129_600] {
            assert_eq!(
                ours.encrypt(offset),
                arti.encrypt(SrvPeriodOffset::from(offset))
            );
        }
    }
}
