//! [`SigningKeys`]: what a service signs its descriptors with, one period at a time.
//!
//! A service holds either its identity keypair (`KS_hs_id`, from which every period's blinded
//! key is derived) or a [`KeyBundle`] of blinded keys provisioned offline for a range of
//! periods. Everything that builds, signs or stores a main descriptor asks this type for the
//! period's [`BlindedKeys`] and never touches the identity secret directly.
//!
//! The rule: a period is *covered* when its blinded keypair can be had (always, with the
//! identity key; with a bundle, when the bundle holds that period's key). For a period that is
//! not covered nothing can be signed; the scheduler publishes nothing for it (see the
//! publish crate's `rules.rs`). Blinded *public* keys and subcredentials need only the identity
//! public key, so they are known for every period either way.

use std::sync::Arc;
use std::time::SystemTime;

use tor_hscrypto::Subcredential;
use tor_hscrypto::pk::{HsBlindIdKey, HsBlindIdKeypair, HsIdKey, HsIdKeypair};
use tor_hscrypto::time::TimePeriod;

use super::bundle::KeyBundle;
use crate::address::OnionAddress;

/// The keys of one period: what signs the descriptor-signing key's certificate, and what
/// clients derive from the public identity.
pub struct BlindedKeys {
    /// `KP_hs_blind_id`: what HSDirs store the descriptor under.
    pub public: HsBlindIdKey,
    /// `KS_hs_blind_id`: certifies the descriptor-signing key; keys the revision counter.
    pub keypair: HsBlindIdKeypair,
    /// The period's subcredential (from public keys only).
    pub subcredential: Subcredential,
}

/// Why a period's keys cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCovered {
    /// The bundle holds no key for the period.
    #[error("the key bundle holds no blinded key for time period #{0}")]
    NoKeyForPeriod(u64),
    /// Blinding failed (not possible with real keys; Arti's API allows for it).
    #[error("cannot blind the identity key for time period #{0}")]
    Blinding(u64),
}

/// What a service signs with: its identity key, or a bundle of blinded keys.
#[derive(Clone)]
pub enum SigningKeys {
    /// The identity keypair: every period is covered.
    Identity(Arc<HsIdKeypair>),
    /// Blinded keys for a range of periods, provisioned offline.
    Bundle(Arc<KeyBundle>),
}

impl SigningKeys {
    /// The service's onion address.
    pub fn address(&self) -> OnionAddress {
        match self {
            SigningKeys::Identity(kp) => {
                OnionAddress::from_public_key(HsIdKey::from(kp.as_ref()).as_ref().to_bytes())
            }
            SigningKeys::Bundle(b) => b.address(),
        }
    }

    /// The identity public key (`KP_hs_id`).
    pub fn identity_public(&self) -> HsIdKey {
        match self {
            SigningKeys::Identity(kp) => HsIdKey::from(kp.as_ref()),
            SigningKeys::Bundle(b) => b.identity_public(),
        }
    }

    /// The blinded public key of `period` (known for every period: public keys only).
    pub fn blinded_public(&self, period: TimePeriod) -> Result<HsBlindIdKey, NotCovered> {
        let (pk, _) = self
            .identity_public()
            .compute_blinded_key(period)
            .map_err(|_| NotCovered::Blinding(period.interval_num()))?;
        Ok(pk)
    }

    /// All keys of `period`, if it is covered.
    pub fn blinded(&self, period: TimePeriod) -> Result<BlindedKeys, NotCovered> {
        let num = period.interval_num();
        match self {
            SigningKeys::Identity(kp) => {
                let (public, keypair, subcredential) = kp
                    .compute_blinded_key(period)
                    .map_err(|_| NotCovered::Blinding(num))?;
                Ok(BlindedKeys {
                    public,
                    keypair,
                    subcredential,
                })
            }
            SigningKeys::Bundle(b) => {
                let keypair = b
                    .blinded_keypair(period)
                    .ok_or(NotCovered::NoKeyForPeriod(num))?;
                let (public, subcredential) = b
                    .identity_public()
                    .compute_blinded_key(period)
                    .map_err(|_| NotCovered::Blinding(num))?;
                Ok(BlindedKeys {
                    public,
                    keypair,
                    subcredential,
                })
            }
        }
    }

    /// Whether `period` is covered (see the module docs).
    pub fn covers(&self, period: TimePeriod) -> bool {
        match self {
            SigningKeys::Identity(_) => true,
            SigningKeys::Bundle(b) => b.covers(period),
        }
    }

    /// When coverage ends: `None` with the identity key (never), else the end of the bundle's
    /// last period.
    pub fn coverage_end(&self) -> Option<SystemTime> {
        match self {
            SigningKeys::Identity(_) => None,
            SigningKeys::Bundle(b) => Some(b.coverage_end()),
        }
    }

    /// Whether these are the identity key (`false`: a bundle).
    pub fn is_identity(&self) -> bool {
        matches!(self, SigningKeys::Identity(_))
    }
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKeys::Identity(_) => write!(f, "SigningKeys::Identity({})", self.address()),
            SigningKeys::Bundle(b) => write!(f, "SigningKeys::Bundle({b:?})"),
        }
    }
}
