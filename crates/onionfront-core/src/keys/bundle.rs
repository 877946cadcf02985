//! [`KeyBundle`]: blinded keys provisioned offline, so that the identity secret key never has to
//! be on the frontend (rend-spec-v3: a period's descriptor needs only that period's blinded key).
//!
//! A bundle holds the identity *public* key and, per time period, the period (number, length,
//! offset) and its blinded secret key (`KS_hs_blind_id`, 64 expanded bytes). A period is looked
//! up by number and length only: blinding uses just those two (rend-spec-v3 A.2), while the
//! offset only places the period in time (for coverage and display).
//!
//! Invariant: every blinded key in a bundle matches the identity public key for its period
//! (checked when a bundle is made or read), so a tampered key is refused, never published.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use tor_hscrypto::pk::{HsBlindIdKeypair, HsIdKey};
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::pk::ed25519::{self, ExpandedKeypair};
use zeroize::Zeroizing;

use super::ServiceKey;
use crate::address::OnionAddress;

/// One period of a bundle: when it is and its blinded secret key.
#[derive(Clone)]
pub struct BundlePeriod {
    /// The period (number, length, offset).
    pub period: TimePeriod,
    /// The blinded secret key, expanded (scalar ‖ hash prefix), as Arti's `ExpandedKeypair`.
    secret: Zeroizing<[u8; 64]>,
}

impl BundlePeriod {
    /// The 64 secret bytes (for writing the bundle).
    pub fn secret_bytes(&self) -> &[u8; 64] {
        &self.secret
    }
}

/// Why a bundle's content cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleContentError {
    /// A blinded key does not belong to the identity key for its period.
    #[error("the blinded key for time period #{0} does not match the identity key (tampered?)")]
    Mismatch(u64),
    /// A blinded secret is not a valid expanded Ed25519 key.
    #[error("the blinded key for time period #{0} is not a valid expanded Ed25519 key")]
    Invalid(u64),
    /// The same period twice.
    #[error("time period #{0} appears twice")]
    Duplicate(u64),
    /// No period at all.
    #[error("the bundle holds no time period")]
    Empty,
    /// Periods of different lengths.
    #[error("time periods of different lengths ({0} and {1} minutes)")]
    MixedLengths(u32, u32),
}

/// Blinded keys of one service for a range of time periods (see the module docs).
#[derive(Clone)]
pub struct KeyBundle {
    /// The identity public key.
    identity: HsIdKey,
    /// Its address.
    address: OnionAddress,
    /// Periods by (length in minutes, number).
    periods: BTreeMap<(u32, u64), BundlePeriod>,
}

impl KeyBundle {
    /// Blinded keys of `key` for every period of `length_minutes` (offset `offset_secs`) that
    /// overlaps `from..until`.
    pub fn provision(
        key: &ServiceKey,
        from: SystemTime,
        until: SystemTime,
        length_minutes: u32,
        offset_secs: u32,
    ) -> Result<KeyBundle, BundleContentError> {
        let first = TimePeriod::new(
            Duration::from_secs(u64::from(length_minutes) * 60),
            from,
            Duration::from_secs(u64::from(offset_secs)),
        )
        .map_err(|_| BundleContentError::Empty)?;
        let mut periods = Vec::new();
        let mut tp = first;
        loop {
            let Ok(range) = tp.range() else { break };
            if range.start >= until && !periods.is_empty() {
                break;
            }
            let (_, kp, _) = key
                .keypair()
                .compute_blinded_key(tp)
                .map_err(|_| BundleContentError::Invalid(tp.interval_num()))?;
            let expanded: &ExpandedKeypair = kp.as_ref();
            periods.push(BundlePeriod {
                period: tp,
                secret: Zeroizing::new(expanded.to_secret_key_bytes()),
            });
            match tp.next() {
                Some(n) => tp = n,
                None => break,
            }
        }
        KeyBundle::from_parts(HsIdKey::from(key.keypair()), periods)
    }

    /// A bundle from its parts, checking every key against the identity (see the module docs).
    pub fn from_parts(
        identity: HsIdKey,
        periods: Vec<BundlePeriod>,
    ) -> Result<KeyBundle, BundleContentError> {
        let mut map = BTreeMap::new();
        let mut length = None;
        for p in periods {
            let num = p.period.interval_num();
            let len = p.period.length().as_minutes();
            if let Some(l) = length
                && l != len
            {
                return Err(BundleContentError::MixedLengths(l, len));
            }
            length = Some(len);
            let kp = ExpandedKeypair::from_secret_key_bytes(*p.secret)
                .ok_or(BundleContentError::Invalid(num))?;
            let (expected, _) = identity
                .compute_blinded_key(p.period)
                .map_err(|_| BundleContentError::Invalid(num))?;
            let expected: &ed25519::PublicKey = expected.as_ref();
            if kp.public() != expected {
                return Err(BundleContentError::Mismatch(num));
            }
            if map.insert((len, num), p).is_some() {
                return Err(BundleContentError::Duplicate(num));
            }
        }
        if map.is_empty() {
            return Err(BundleContentError::Empty);
        }
        let address = OnionAddress::from_public_key(identity.as_ref().to_bytes());
        Ok(KeyBundle {
            identity,
            address,
            periods: map,
        })
    }

    /// A period with its secret bytes (for [`KeyBundle::from_parts`] when reading a file).
    pub fn period_from_bytes(period: TimePeriod, secret: Zeroizing<[u8; 64]>) -> BundlePeriod {
        BundlePeriod { period, secret }
    }

    /// The service's address.
    pub fn address(&self) -> OnionAddress {
        self.address
    }

    /// The identity public key.
    pub fn identity_public(&self) -> HsIdKey {
        self.identity.clone()
    }

    /// The periods, in order.
    pub fn periods(&self) -> impl Iterator<Item = &BundlePeriod> {
        self.periods.values()
    }

    /// Whether the bundle holds `period`'s key (by number and length).
    pub fn covers(&self, period: TimePeriod) -> bool {
        self.periods
            .contains_key(&(period.length().as_minutes(), period.interval_num()))
    }

    /// `period`'s blinded keypair, if the bundle holds it.
    pub fn blinded_keypair(&self, period: TimePeriod) -> Option<HsBlindIdKeypair> {
        let p = self
            .periods
            .get(&(period.length().as_minutes(), period.interval_num()))?;
        ExpandedKeypair::from_secret_key_bytes(*p.secret).map(HsBlindIdKeypair::from)
    }

    /// The start of the first period.
    pub fn coverage_start(&self) -> SystemTime {
        self.periods
            .values()
            .next()
            .and_then(|p| p.period.range().ok())
            .map_or(SystemTime::UNIX_EPOCH, |r| r.start)
    }

    /// The end of the last period.
    pub fn coverage_end(&self) -> SystemTime {
        self.periods
            .values()
            .next_back()
            .and_then(|p| p.period.range().ok())
            .map_or(SystemTime::UNIX_EPOCH, |r| r.end)
    }
}

impl fmt::Debug for KeyBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyBundle({}, {} periods)",
            self.address,
            self.periods.len()
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn provisioned_keys_equal_derived_keys() {
        let key = ServiceKey::from_seed(&[7u8; 32]);
        let from = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let until = from + Duration::from_secs(3 * 86_400);
        let bundle = KeyBundle::provision(&key, from, until, 1440, 12 * 3600).unwrap();
        assert_eq!(bundle.address(), key.address());
        assert_eq!(bundle.periods().count(), 4);
        assert!(bundle.coverage_start() <= from && bundle.coverage_end() >= until);
        for p in bundle.periods() {
            let (_, derived, _) = key.keypair().compute_blinded_key(p.period).unwrap();
            let from_bundle = bundle.blinded_keypair(p.period).unwrap();
            let a: &ExpandedKeypair = derived.as_ref();
            let b: &ExpandedKeypair = from_bundle.as_ref();
            assert_eq!(a.public(), b.public());
            assert_eq!(a.to_secret_key_bytes(), b.to_secret_key_bytes());
        }
        let mut parts: Vec<BundlePeriod> = bundle.periods().cloned().collect();
        parts[1].secret[5] ^= 1;
        let err = KeyBundle::from_parts(bundle.identity_public(), parts).unwrap_err();
        assert!(matches!(
            err,
            BundleContentError::Mismatch(_) | BundleContentError::Invalid(_)
        ));
    }
}
