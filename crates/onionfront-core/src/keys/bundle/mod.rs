//! [`KeyBundle`]: descriptor-signing keys certified offline, so that the identity key file does
//! not have to be on the frontend.
//!
//! rend-spec-v3's blinded key only *certifies* the descriptor-signing key; the descriptor itself
//! is signed by that signing key. So a bundle holds, per time period, a random
//! descriptor-signing key (`KS_hs_desc_sign`, a 32-byte Ed25519 seed), its certificate made
//! offline with the period's blinded key (expiring [`CERT_MARGIN`] after the period ends), and
//! the period's revision-counter (OPE) key, a hash of the blinded secret key. It holds no
//! blinded secret key: blinding is `a' = h·a mod ℓ` with a public `h` (from the identity public
//! key and the period), so one blinded secret and the address give the identity secret
//! (`recovery_tests.rs` proves it). A thief of a bundle can sign descriptors for the address
//! until the last certificate expires ([`KeyBundle::exposure_end`]), and no longer.
//!
//! A period is looked up by number and length only: blinding uses just those two
//! (rend-spec-v3 A.2), while the offset only places the period in time (for coverage and
//! display).
//!
//! Invariants, checked when a bundle is made or read (so a bad bundle is refused, never
//! published): every certificate parses, is a descriptor-signing-key certificate (type 08),
//! carries and is signed by the period's blinded public key derived from the identity public
//! key, certifies the public key of the bundled signing seed and does not expire before its
//! period ends; no period appears twice; all periods have the same length and offset (one
//! network's parameters); there is at least one period. The OPE key cannot be checked (it is a
//! hash of a secret the bundle must not hold): the file's checksum catches accidents, and a
//! tampered OPE key only makes this frontend's own uploads lose to older counters.
//!
//! The file format (reading, writing, its rules) is in [`format`]; see docs/offline-keys.md for
//! the threat model and the workflow.

pub mod format;
mod period;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use tor_hscrypto::pk::HsIdKey;
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::pk::ed25519;
use tor_netdoc::doc::hsdesc::create_desc_sign_key_cert;
use zeroize::Zeroizing;

use super::file::{self, PermissionCheck};
use super::{KeyError, ServiceKey};
use crate::address::OnionAddress;
use crate::main_descriptor::revision::OpeKey;

pub use format::looks_like_bundle;
pub use period::BundlePeriod;
use period::check_cert;

/// The time period lengths the consensus allows, minutes (Arti's `hsdir_interval` bounds).
pub const PERIOD_LENGTHS: std::ops::RangeInclusive<u32> = 5..=14400;

/// How long after its period ends a bundled certificate expires: the longest
/// `descriptor-lifetime` clients accept (720 minutes), so a descriptor uploaded in the last
/// second of its period stays valid for as long as a client may cache it (clients refuse a
/// descriptor whose certificate has expired: Arti's `HsDescOuter` parser bounds the descriptor
/// by the certificate's expiry, C tor's `cert_is_valid` checks it via `tor_cert_checksig`).
pub const CERT_MARGIN: Duration = Duration::from_secs(12 * 3600);

/// Why a bundle's content cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleContentError {
    /// A certificate that does not hold (see the module docs' invariants).
    #[error("the certificate of time period #{0} {1}")]
    Certificate(u64, &'static str),
    /// The identity key cannot be blinded for the period (not possible with real keys).
    #[error("the identity key cannot be blinded for time period #{0}")]
    Invalid(u64),
    /// The certificate could not be made (Arti's encoder refused).
    #[error("cannot certify a signing key for time period #{0}: {1}")]
    Certify(u64, String),
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

/// Signing keys of one service for a range of time periods (see the module docs).
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
        let mut rng = rand::rng();
        let mut next = Some(first);
        while let Some(tp) = next {
            let Ok(range) = tp.range() else { break };
            if checker.len() > 0 && !more(&range, checker.len()) {
                break;
            }
            let num = tp.interval_num();
            let (_, blinded, _) = key
                .keypair()
                .compute_blinded_key(tp)
                .map_err(|_| BundleContentError::Invalid(num))?;
            let desc_sign = ed25519::Keypair::generate(&mut rng);
            let cert_expiry = range.end + CERT_MARGIN;
            let cert = create_desc_sign_key_cert(&desc_sign.verifying_key(), &blinded, cert_expiry)
                .map_err(|e| BundleContentError::Certify(num, e.to_string()))?;
            let ope = OpeKey::from_blinded(&blinded);
            checker.add(BundlePeriod {
                period: tp,
                desc_sign_seed: Box::new(Zeroizing::new(desc_sign.to_bytes())),
                cert,
                cert_expiry,
                ope: Box::new(Zeroizing::new(*ope.as_bytes())),
            })?;
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

    /// `period`, if the bundle holds it (by number and length).
    pub fn period(&self, period: TimePeriod) -> Option<&BundlePeriod> {
        self.periods
            .get(&(period.length().as_minutes(), period.interval_num()))
    }

    /// Until when a thief of this bundle can sign descriptors: the expiry of the last
    /// certificate.
    pub fn exposure_end(&self) -> SystemTime {
        self.periods
            .values()
            .map(BundlePeriod::cert_expiry)
            .max()
            .unwrap_or(SystemTime::UNIX_EPOCH)
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
    pub(crate) fn add(&mut self, mut p: BundlePeriod) -> Result<(), BundleContentError> {
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
        let (blinded, _) = self
            .identity
            .compute_blinded_key(p.period)
            .map_err(|_| BundleContentError::Invalid(num))?;
        p.cert_expiry = check_cert(&p, &blinded)?;
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
#[cfg(test)]
mod tests_certs;
