//! [`LoadedKey`]: what a service's `key:` names, loaded: its identity key (C tor's or
//! Onionbalance's format) or a key bundle (offline keys), recognised by content.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::{KeyBundle, KeyError, PermissionCheck, ServiceKey, SigningKeys};
use crate::address::OnionAddress;

/// A service's key file, loaded.
pub enum LoadedKey {
    /// The identity secret key.
    Identity(ServiceKey),
    /// Blinded keys for a range of time periods.
    Bundle(Arc<KeyBundle>),
}

impl LoadedKey {
    /// Load `path`, whichever of the formats it holds (detected by content).
    pub fn load_with(path: &Path, check: PermissionCheck) -> Result<LoadedKey, KeyError> {
        match ServiceKey::load_with(path, check) {
            Ok(key) => Ok(LoadedKey::Identity(key)),
            Err(KeyError::BundleGiven { .. }) => {
                KeyBundle::load_with(path, check).map(|b| LoadedKey::Bundle(Arc::new(b)))
            }
            Err(e) => Err(e),
        }
    }

    /// The service's onion address.
    pub fn address(&self) -> OnionAddress {
        match self {
            LoadedKey::Identity(k) => k.address(),
            LoadedKey::Bundle(b) => b.address(),
        }
    }

    /// What the scheduler signs with (shares the key material, copies no secret).
    pub fn signing_keys(&self) -> SigningKeys {
        match self {
            LoadedKey::Identity(k) => SigningKeys::Identity(k.shared_keypair()),
            LoadedKey::Bundle(b) => SigningKeys::Bundle(Arc::clone(b)),
        }
    }

    /// The bundle, if this is one.
    pub fn bundle(&self) -> Option<&KeyBundle> {
        match self {
            LoadedKey::Identity(_) => None,
            LoadedKey::Bundle(b) => Some(b),
        }
    }

    /// The identity key's format; `None` for a bundle.
    pub fn format(&self) -> Option<super::KeyFormat> {
        match self {
            LoadedKey::Identity(k) => Some(k.format()),
            LoadedKey::Bundle(_) => None,
        }
    }

    /// Whether it can still sign anything at `now`: always with the identity key; with a
    /// bundle, while its last period has not ended.
    pub fn usable_at(&self, now: SystemTime) -> bool {
        self.bundle().is_none_or(|b| b.coverage_end() > now)
    }
}

impl fmt::Display for LoadedKey {
    /// The format, as `check` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadedKey::Identity(k) => write!(f, "{}", k.format()),
            LoadedKey::Bundle(b) => write!(f, "key bundle, {} time periods", b.periods().count()),
        }
    }
}

impl fmt::Debug for LoadedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadedKey::Identity(k) => write!(f, "LoadedKey::Identity({k:?})"),
            LoadedKey::Bundle(b) => write!(f, "LoadedKey::Bundle({b:?})"),
        }
    }
}
