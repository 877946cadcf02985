//! Identity keys of the public services: loading, generating, writing.
//!
//! [`ServiceKey`] is a service's identity keypair (`KS_hs_id`) with its onion address. It loads
//! either key format Onionbalance accepts, detected by content (never by file name):
//! - C tor's `hs_ed25519_secret_key` ([`ctor`]): a 32-byte tag and the 64-byte expanded key;
//! - Onionbalance's unencrypted PKCS#8 PEM ([`pem`]): the 32-byte seed.
//!
//! A [`KeyBundle`] (certified signing keys for a range of time periods, provisioned offline; see
//! [`bundle`]) is not an identity key: given one, [`ServiceKey::parse`] says so.
//!
//! Key files must be private (mode 0600 or stricter, like ssh; see [`PermissionCheck`]), and
//! onionfront always writes keys in C tor's format ([`ServiceKey::write_ctor`]). Secret bytes
//! read from disk live in buffers that are zeroed when dropped, and `Debug` shows only the
//! address.

pub mod bundle;
pub mod ctor;
mod error;
pub mod file;
mod loaded;
mod pem;
pub mod signing;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use digest::Digest;
use rand::Rng as _;
use tor_hscrypto::pk::HsIdKeypair;
use tor_llcrypto::d::Sha512;
use tor_llcrypto::pk::ed25519::ExpandedKeypair;
use zeroize::{Zeroize as _, Zeroizing};

use crate::address::OnionAddress;

pub use bundle::{BundleContentError, BundlePeriod, KeyBundle, looks_like_bundle};
pub use error::KeyError;
pub use file::PermissionCheck;
pub use loaded::LoadedKey;
pub use signing::{NotCovered, PeriodSigner, SigningKeys};

/// Where a [`ServiceKey`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// C tor's `hs_ed25519_secret_key`.
    CTor,
    /// Onionbalance's PKCS#8 PEM.
    Pem,
    /// Made by [`ServiceKey::generate`] or [`ServiceKey::from_seed`].
    Generated,
}

impl fmt::Display for KeyFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyFormat::CTor => "C tor hs_ed25519_secret_key",
            KeyFormat::Pem => "Onionbalance PEM",
            KeyFormat::Generated => "generated",
        })
    }
}

/// The paths [`ServiceKey::write_ctor`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtorFiles {
    /// `hs_ed25519_secret_key`.
    pub secret: PathBuf,
    /// `hs_ed25519_public_key`.
    pub public: PathBuf,
    /// `hostname`.
    pub hostname: PathBuf,
}

/// A public service's identity key and its onion address.
pub struct ServiceKey {
    /// Arti's keypair, for blinding and signing; shared (not copied) with the scheduler.
    keypair: Arc<HsIdKeypair>,
    /// The 64-byte expanded secret key exactly as C tor stores it (clamped scalar ‖ hash prefix),
    /// so that writing a key read from a C tor file reproduces that file byte for byte.
    expanded: Zeroizing<[u8; 64]>,
    /// The seed, when known (PEM keys and generated keys).
    seed: Option<Zeroizing<[u8; 32]>>,
    /// The onion address.
    address: OnionAddress,
    /// Where it came from.
    format: KeyFormat,
}

impl ServiceKey {
    /// A new random key.
    pub fn generate() -> ServiceKey {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *seed);
        ServiceKey::from_seed_as(&seed, KeyFormat::Generated)
    }

    /// The key of a 32-byte Ed25519 seed (the secret key of RFC 8032, what PEM files hold).
    pub fn from_seed(seed: &[u8; 32]) -> ServiceKey {
        ServiceKey::from_seed_as(seed, KeyFormat::Generated)
    }

    fn from_seed_as(seed: &[u8; 32], format: KeyFormat) -> ServiceKey {
        // Expand as RFC 8032 and C tor do: SHA-512, clamp the lower half.
        let mut digest = Sha512::digest(seed);
        let mut expanded = Zeroizing::new([0u8; 64]);
        expanded.copy_from_slice(&digest);
        digest.as_mut_slice().zeroize();
        expanded[0] &= 248;
        expanded[31] &= 127;
        expanded[31] |= 64;
        let ekp = ExpandedKeypair::from(&tor_llcrypto::pk::ed25519::Keypair::from_bytes(seed));
        let address = OnionAddress::from_public_key(ekp.public().to_bytes());
        let mut seed_copy = Zeroizing::new([0u8; 32]);
        seed_copy.copy_from_slice(seed);
        ServiceKey {
            keypair: Arc::new(HsIdKeypair::from(ekp)),
            expanded,
            seed: Some(seed_copy),
            address,
            format,
        }
    }

    /// The key of a 64-byte expanded secret key (C tor's `hs_ed25519_secret_key` content after
    /// the tag). `None` if the bytes cannot be a key (Arti's API allows for that; in practice
    /// every 64-byte string is one).
    pub fn from_expanded(expanded: &[u8; 64]) -> Option<ServiceKey> {
        let mut copy = Zeroizing::new([0u8; 64]);
        copy.copy_from_slice(expanded);
        // The scalar gets reduced mod ℓ; the public key (and every signature) is the same as with
        // C tor's unreduced clamped scalar. Arti's constructor takes the bytes by value: that
        // one copy is the callee's, out of our reach.
        let ekp = ExpandedKeypair::from_secret_key_bytes(*copy)?;
        let address = OnionAddress::from_public_key(ekp.public().to_bytes());
        Some(ServiceKey {
            keypair: Arc::new(HsIdKeypair::from(ekp)),
            expanded: copy,
            seed: None,
            address,
            format: KeyFormat::CTor,
        })
    }

    /// Load a key file of either format, refusing files that group or others may access.
    pub fn load(path: &Path) -> Result<ServiceKey, KeyError> {
        ServiceKey::load_with(path, PermissionCheck::Strict)
    }

    /// Load a key file of either format with the given permission check.
    pub fn load_with(path: &Path, check: PermissionCheck) -> Result<ServiceKey, KeyError> {
        let data = file::read_secret_limited(path, check, file::MAX_KEY_FILE, |head| {
            // A key bundle given where a key is expected: say so rather than "unknown format".
            if bundle::looks_like_bundle(head) {
                KeyError::BundleGiven { path: path.into() }
            } else {
                KeyError::UnknownFormat { path: path.into() }
            }
        })?;
        let key = ServiceKey::parse(&data, path)?;
        tracing::debug!(
            "loaded the key of {} ({}) from {}",
            key.address,
            key.format,
            path.display()
        );
        Ok(key)
    }

    /// Parse the content of a key file (either format, detected by content); `path` is only for
    /// messages. No permission checks.
    pub fn parse(data: &[u8], path: &Path) -> Result<ServiceKey, KeyError> {
        match ctor::sniff(data) {
            ctor::Sniff::Secret => {
                let malformed = |reason| KeyError::Malformed {
                    path: path.into(),
                    format: KeyFormat::CTor,
                    reason,
                };
                let expanded = ctor::parse_secret(data).map_err(malformed)?;
                return ServiceKey::from_expanded(&expanded)
                    .ok_or_else(|| malformed("not a valid expanded Ed25519 key".into()));
            }
            ctor::Sniff::Public => return Err(KeyError::PublicKeyGiven { path: path.into() }),
            ctor::Sniff::Other => {}
        }
        if pem::looks_like_pem(data) {
            let malformed = |reason| KeyError::Malformed {
                path: path.into(),
                format: KeyFormat::Pem,
                reason,
            };
            let parsed = pem::parse(data).map_err(malformed)?;
            let key = ServiceKey::from_seed_as(&parsed.seed, KeyFormat::Pem);
            if let Some(public) = parsed.public
                && &public != key.address.public_key()
            {
                return Err(malformed(
                    "the public key in the file does not match its private key".into(),
                ));
            }
            return Ok(key);
        }
        if bundle::looks_like_bundle(data) {
            return Err(KeyError::BundleGiven { path: path.into() });
        }
        Err(KeyError::UnknownFormat { path: path.into() })
    }

    /// The onion address of this key.
    pub fn address(&self) -> OnionAddress {
        self.address
    }

    /// Arti's identity keypair.
    pub fn keypair(&self) -> &HsIdKeypair {
        &self.keypair
    }

    /// The same keypair, shared: for tasks that outlive this value, without copying the secret.
    pub fn shared_keypair(&self) -> Arc<HsIdKeypair> {
        Arc::clone(&self.keypair)
    }

    /// The format it was loaded from.
    pub fn format(&self) -> KeyFormat {
        self.format
    }

    /// The content of C tor's `hs_ed25519_secret_key` for this key.
    pub fn ctor_secret_file(&self) -> Zeroizing<Vec<u8>> {
        ctor::encode_secret(&self.expanded)
    }

    /// The content of C tor's `hs_ed25519_public_key` for this key.
    pub fn ctor_public_file(&self) -> Vec<u8> {
        ctor::encode_public(self.address.public_key())
    }

    /// The key as Onionbalance's PEM, if the seed is known (not for keys read from C tor files:
    /// an expanded key has no seed).
    pub fn to_pem(&self) -> Option<Zeroizing<String>> {
        self.seed.as_ref().map(|s| pem::encode(s))
    }

    /// Write C tor's `hs_ed25519_secret_key`, `hs_ed25519_public_key` and `hostname` into `dir`
    /// (created with mode 0700 if missing), each with mode 0600. Refuses to overwrite: if any of
    /// the three exists, nothing is written.
    pub fn write_ctor(&self, dir: &Path) -> Result<CtorFiles, KeyError> {
        let files = CtorFiles {
            secret: dir.join(ctor::SECRET_FILE),
            public: dir.join(ctor::PUBLIC_FILE),
            hostname: dir.join(ctor::HOSTNAME_FILE),
        };
        for p in [&files.secret, &files.public, &files.hostname] {
            if std::fs::symlink_metadata(p).is_ok() {
                return Err(KeyError::Exists { path: p.clone() });
            }
        }
        file::create_private_dir(dir)?;
        file::write_new_file(&files.secret, &self.ctor_secret_file(), 0o600)?;
        file::write_new_file(&files.public, &self.ctor_public_file(), 0o600)?;
        let hostname = format!("{}\n", self.address);
        file::write_new_file(&files.hostname, hostname.as_bytes(), 0o600)?;
        tracing::debug!("wrote the key of {} to {}", self.address, dir.display());
        Ok(files)
    }
}

impl fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceKey({})", self.address)
    }
}

#[cfg(test)]
mod tests;
