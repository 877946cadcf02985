//! [`KeyBundle`]: blinded keys provisioned offline, so that the identity key file does not have
//! to be on the frontend (rend-spec-v3: a period's descriptor needs only that period's blinded
//! key).
//!
//! Caution: this is not a secrecy boundary. rend-spec-v3's blinding is `a' = h·a mod ℓ` with a
//! public `h` (from the identity public key and the period; the optional secret `s` is empty in
//! C tor and Arti, and must be, for clients to find the descriptor), so one blinded secret key
//! and the address give the identity secret scalar `a = a'·h⁻¹`. A bundle must be protected like
//! the identity key (docs/offline-keys.md).
//!
//! A bundle holds the identity *public* key and, per time period, the period (number, length,
//! offset) and its blinded secret key (`KS_hs_blind_id`, 64 expanded bytes). A period is looked
//! up by number and length only: blinding uses just those two (rend-spec-v3 A.2), while the
//! offset only places the period in time (for coverage and display).
//!
//! Invariants, checked when a bundle is made or read (so a bad bundle is refused, never
//! published): every blinded key matches the identity public key for its period (a tampered
//! key is refused); no period appears twice; all periods have the same length and offset (one
//! network's parameters); there is at least one period.
//!
//! The file format (reading, writing, its rules) is in [`format`]; see docs/offline-keys.md for
//! the threat model and the workflow.

pub mod format;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use tor_hscrypto::pk::{HsBlindIdKeypair, HsIdKey};
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::pk::ed25519::{self, ExpandedKeypair};
use zeroize::Zeroizing;

use super::file::{self, PermissionCheck};
use super::{KeyError, ServiceKey};
use crate::address::OnionAddress;

pub use format::looks_like_bundle;

/// The time period lengths the consensus allows, minutes (Arti's `hsdir_interval` bounds).
pub const PERIOD_LENGTHS: std::ops::RangeInclusive<u32> = 5..=14400;

/// One period of a bundle: when it is and its blinded secret key.
#[derive(Clone)]
pub struct BundlePeriod {
    /// The period (number, length, offset).
    pub period: TimePeriod,
    /// The blinded secret key, expanded (scalar ‖ hash prefix), as Arti's `ExpandedKeypair`;
    /// boxed so that moving a period (into a map, a growing vector) never copies the secret.
    secret: Box<Zeroizing<[u8; 64]>>,
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
    /// Period parameters that make no time period (provisioning).
    #[error("{0}")]
    Parameters(String),
    /// Periods with different offsets.
    #[error("time periods with different offsets ({0} and {1} seconds)")]
    MixedOffsets(u32, u32),
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
    /// overlaps `from..until` (at least the one containing `from`).
    pub fn provision(
        key: &ServiceKey,
        from: SystemTime,
        until: SystemTime,
        length_minutes: u32,
        offset_secs: u32,
    ) -> Result<KeyBundle, BundleContentError> {
        let first = KeyBundle::period_containing(from, length_minutes, offset_secs)?;
        KeyBundle::provision_while(key, first, |range, _| range.start < until)
    }

    /// Blinded keys of `key` for `count` consecutive periods from `first` (at least one).
    pub fn provision_count(
        key: &ServiceKey,
        first: TimePeriod,
        count: usize,
    ) -> Result<KeyBundle, BundleContentError> {
        KeyBundle::provision_while(key, first, |_, done| done < count)
    }

    /// The period of `length_minutes` (5 to 14400, the consensus's bounds) and offset
    /// `offset_secs` that contains `when`.
    pub fn period_containing(
        when: SystemTime,
        length_minutes: u32,
        offset_secs: u32,
    ) -> Result<TimePeriod, BundleContentError> {
        if !PERIOD_LENGTHS.contains(&length_minutes) {
            return Err(BundleContentError::Parameters(format!(
                "a time period length of {length_minutes} minutes is outside {}..={} (the \
                 consensus's bounds)",
                PERIOD_LENGTHS.start(),
                PERIOD_LENGTHS.end()
            )));
        }
        TimePeriod::new(
            Duration::from_secs(u64::from(length_minutes) * 60),
            when,
            Duration::from_secs(u64::from(offset_secs)),
        )
        .map_err(|e| BundleContentError::Parameters(format!("no time period for that time: {e}")))
    }

    /// Periods from `first` on while `more(range, periods so far)` says so (the first always).
    fn provision_while(
        key: &ServiceKey,
        first: TimePeriod,
        more: impl Fn(&std::ops::Range<SystemTime>, usize) -> bool,
    ) -> Result<KeyBundle, BundleContentError> {
        let mut checker = Checker::new(HsIdKey::from(key.keypair()));
        let mut next = Some(first);
        while let Some(tp) = next {
            let Ok(range) = tp.range() else { break };
            if checker.len() > 0 && !more(&range, checker.len()) {
                break;
            }
            let (_, kp, _) = key
                .keypair()
                .compute_blinded_key(tp)
                .map_err(|_| BundleContentError::Invalid(tp.interval_num()))?;
            let expanded: &ExpandedKeypair = kp.as_ref();
            let secret = Box::new(Zeroizing::new(expanded.to_secret_key_bytes()));
            checker.add(BundlePeriod { period: tp, secret })?;
            next = tp.next();
        }
        checker.finish()
    }

    /// A bundle from its parts, checking every key against the identity (see the module docs).
    pub fn from_parts(
        identity: HsIdKey,
        periods: Vec<BundlePeriod>,
    ) -> Result<KeyBundle, BundleContentError> {
        let mut checker = Checker::new(identity);
        for p in periods {
            checker.add(p)?;
        }
        checker.finish()
    }

    /// A period with its secret bytes (for [`KeyBundle::from_parts`] when reading a file).
    pub fn period_from_bytes(period: TimePeriod, secret: Zeroizing<[u8; 64]>) -> BundlePeriod {
        BundlePeriod {
            period,
            secret: Box::new(secret),
        }
    }

    /// Parse the content of a bundle file; `path` is only for messages. No permission checks.
    /// Every error names the file and the line (see [`format`] for the rules).
    pub fn parse(data: &[u8], path: &Path) -> Result<KeyBundle, KeyError> {
        format::parse(data, path)
    }

    /// Load a bundle file, refusing files that group or others may access.
    pub fn load(path: &Path) -> Result<KeyBundle, KeyError> {
        KeyBundle::load_with(path, PermissionCheck::Strict)
    }

    /// Load a bundle file with the given permission check: a regular file (symbolic links
    /// followed), private unless `check` is permissive, at most [`format::MAX_BUNDLE_FILE`]
    /// bytes, read into a buffer that is zeroed when dropped.
    pub fn load_with(path: &Path, check: PermissionCheck) -> Result<KeyBundle, KeyError> {
        let data = file::read_secret_limited(path, check, format::MAX_BUNDLE_FILE, |_| {
            KeyError::BundleTooLarge {
                path: path.into(),
                limit: format::MAX_BUNDLE_FILE,
            }
        })?;
        let bundle = format::parse(&data, path)?;
        tracing::debug!(
            "loaded a key bundle of {} ({} time periods) from {}",
            bundle.address,
            bundle.periods.len(),
            path.display()
        );
        Ok(bundle)
    }

    /// The bundle file's content (see [`format`]), in a string that is zeroed when dropped.
    pub fn encode(&self) -> Zeroizing<String> {
        format::encode(self)
    }

    /// Write the bundle to the new file `path` with mode 0600, atomically; refuses to overwrite
    /// an existing file.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let text = self.encode();
        file::write_new_file(path, text.as_bytes(), 0o600)?;
        tracing::debug!(
            "wrote a key bundle of {} ({} time periods) to {}",
            self.address,
            self.periods.len(),
            path.display()
        );
        Ok(())
    }

    /// The number of periods.
    pub fn len(&self) -> usize {
        self.periods.len()
    }

    /// Whether the bundle holds no period (never true: a bundle holds at least one).
    pub fn is_empty(&self) -> bool {
        self.periods.is_empty()
    }

    /// The period containing `when`, if the bundle holds it.
    pub fn period_at(&self, when: SystemTime) -> Option<&BundlePeriod> {
        self.periods.values().find(|p| p.period.contains(when))
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
        ExpandedKeypair::from_secret_key_bytes(**p.secret).map(HsBlindIdKeypair::from)
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

/// Builds a [`KeyBundle`] one period at a time, checking each as it comes (so a reader can
/// tell which line is wrong) and each key only once.
pub(crate) struct Checker {
    identity: HsIdKey,
    periods: BTreeMap<(u32, u64), BundlePeriod>,
    /// The length and offset of the first period: every other must have the same.
    params: Option<(u32, u32)>,
}

impl Checker {
    pub(crate) fn new(identity: HsIdKey) -> Checker {
        Checker {
            identity,
            periods: BTreeMap::new(),
            params: None,
        }
    }

    /// Add one period, checking it against the invariants (see the module docs).
    pub(crate) fn add(&mut self, p: BundlePeriod) -> Result<(), BundleContentError> {
        let num = p.period.interval_num();
        let len = p.period.length().as_minutes();
        let offset = p.period.epoch_offset_in_sec();
        match self.params {
            Some((l, _)) if l != len => return Err(BundleContentError::MixedLengths(l, len)),
            Some((_, o)) if o != offset => return Err(BundleContentError::MixedOffsets(o, offset)),
            _ => self.params = Some((len, offset)),
        }
        if self.periods.contains_key(&(len, num)) {
            return Err(BundleContentError::Duplicate(num));
        }
        let kp = ExpandedKeypair::from_secret_key_bytes(**p.secret)
            .ok_or(BundleContentError::Invalid(num))?;
        let (expected, _) = self
            .identity
            .compute_blinded_key(p.period)
            .map_err(|_| BundleContentError::Invalid(num))?;
        let expected: &ed25519::PublicKey = expected.as_ref();
        if kp.public() != expected {
            return Err(BundleContentError::Mismatch(num));
        }
        self.periods.insert((len, num), p);
        Ok(())
    }

    /// How many periods were added.
    pub(crate) fn len(&self) -> usize {
        self.periods.len()
    }

    /// The bundle, if it holds at least one period.
    pub(crate) fn finish(self) -> Result<KeyBundle, BundleContentError> {
        if self.periods.is_empty() {
            return Err(BundleContentError::Empty);
        }
        let address = OnionAddress::from_public_key(self.identity.as_ref().to_bytes());
        Ok(KeyBundle {
            identity: self.identity,
            address,
            periods: self.periods,
        })
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
mod recovery_tests;
#[cfg(test)]
mod tests;
