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
//! existing services run: `AesOpeKey::from_secret` prepends `"rev-counter-generation"`, so we pass
//! it `"\0" | 64-byte secret`.

use std::time::SystemTime;

use tor_hscrypto::ope::{AesOpeKey, SrvPeriodOffset};
use tor_hscrypto::pk::HsBlindIdKeypair;
use tor_llcrypto::pk::ed25519;
use zeroize::Zeroizing;

use crate::period::PeriodParams;

/// How many seconds past `now` a counter may be taken from to exceed `min_revision`.
pub const MAX_REVISION_LEAD_SECS: u32 = 5;

/// The OPE key of a blinded keypair, derived as C tor does.
pub fn ope_key(blinded: &HsBlindIdKeypair) -> AesOpeKey {
    let exp: &ed25519::ExpandedKeypair = blinded.as_ref();
    let mut secret = Zeroizing::new([0u8; 65]);
    let bytes = Zeroizing::new(exp.to_secret_key_bytes());
    secret[1..].copy_from_slice(&bytes[..]);
    AesOpeKey::from_secret(&secret[..])
}

/// The counter at SRV offset `offset` seconds.
pub fn revision_at_offset(key: &AesOpeKey, offset: u32) -> u64 {
    key.encrypt(SrvPeriodOffset::from(offset))
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
    key: &AesOpeKey,
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
