//! [`SigningKeys`]: what a service signs its descriptors with, one period at a time.
//!
//! A service holds either its identity keypair (`KS_hs_id`, from which every period's blinded
//! key is derived) or a [`KeyBundle`] provisioned offline: per period, a descriptor-signing key,
//! its certificate signed by the period's blinded key, and the period's OPE key. Everything that
//! builds or signs a main descriptor asks this type for the period's [`PeriodSigner`] and never
//! touches the identity secret (or a blinded secret) directly.
//!
//! The rules:
//! - a period is *covered* when it can be signed for: always with the identity key; with a
//!   bundle, when the bundle holds that period. For a period that is not covered nothing can be
//!   signed; the scheduler publishes nothing for it (see the publish crate's `rules.rs`);
//! - with the identity key every [`SigningKeys::signer`] call makes a fresh signing key and a
//!   certificate valid for [`CERT_LIFETIME`] from `now` (C tor's behaviour); with a bundle it
//!   returns the bundled ones, refused once their certificate has expired;
//! - blinded *public* keys and subcredentials need only the identity public key, so they are
//!   known for every period either way.

use std::sync::Arc;
use std::time::SystemTime;

use tor_cert::EncodedEd25519Cert;
use tor_hscrypto::Subcredential;
use tor_hscrypto::pk::{HsBlindIdKey, HsIdKey, HsIdKeypair};
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::pk::ed25519;
use tor_netdoc::doc::hsdesc::create_desc_sign_key_cert;

use super::bundle::KeyBundle;
use crate::address::OnionAddress;
use crate::main_descriptor::CERT_LIFETIME;
use crate::main_descriptor::revision::OpeKey;

/// Everything one period's descriptor is signed with; no blinded secret among it.
pub struct PeriodSigner {
    /// `KP_hs_blind_id`: what HSDirs store the descriptor under.
    pub blinded_public: HsBlindIdKey,
    /// The period's subcredential (from public keys only).
    pub subcredential: Subcredential,
    /// `KS_hs_desc_sign`: signs the descriptor and re-signs the intro points' certificates.
    pub desc_sign: ed25519::Keypair,
    /// The descriptor-signing key's certificate, signed by the blinded key.
    pub cert: EncodedEd25519Cert,
    /// When that certificate expires (clients refuse the descriptor after it).
    pub cert_expiry: SystemTime,
    /// The period's revision-counter key.
    pub ope: OpeKey,
}

/// Why a period cannot be signed for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCovered {
    /// The bundle holds no key for the period.
    #[error("the key bundle holds no keys for time period #{0}")]
    NoKeyForPeriod(u64),
    /// Blinding failed (not possible with real keys; Arti's API allows for it).
    #[error("cannot blind the identity key for time period #{0}")]
    Blinding(u64),
    /// The bundled certificate of the period has expired.
    #[error("the key bundle's certificate for time period #{0} has expired")]
    CertificateExpired(u64),
    /// The certificate could not be made (Arti's encoder refused).
    #[error("cannot certify a descriptor-signing key for time period #{0}: {1}")]
    Certificate(u64, String),
}

/// What a service signs with: its identity key, or a bundle of offline-made signing keys.
#[derive(Clone)]
pub enum SigningKeys {
    /// The identity keypair: every period is covered.
    Identity(Arc<HsIdKeypair>),
    /// Signing keys for a range of periods, provisioned offline.
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

    /// What signs `period`'s descriptor built at `now`, if the period is covered (see the
    /// module docs for the rules).
    pub fn signer(&self, period: TimePeriod, now: SystemTime) -> Result<PeriodSigner, NotCovered> {
        let num = period.interval_num();
        match self {
            SigningKeys::Identity(kp) => {
                let (blinded_public, blinded, subcredential) = kp
                    .compute_blinded_key(period)
                    .map_err(|_| NotCovered::Blinding(num))?;
                let desc_sign = ed25519::Keypair::generate(&mut rand::rng());
                let cert_expiry = now + CERT_LIFETIME;
                let cert =
                    create_desc_sign_key_cert(&desc_sign.verifying_key(), &blinded, cert_expiry)
                        .map_err(|e| NotCovered::Certificate(num, e.to_string()))?;
                Ok(PeriodSigner {
                    blinded_public,
                    subcredential,
                    desc_sign,
                    cert,
                    cert_expiry,
                    ope: OpeKey::from_blinded(&blinded),
                })
            }
            SigningKeys::Bundle(b) => {
                let p = b.period(period).ok_or(NotCovered::NoKeyForPeriod(num))?;
                if now >= p.cert_expiry() {
                    return Err(NotCovered::CertificateExpired(num));
                }
                let (blinded_public, subcredential) = b
                    .identity_public()
                    .compute_blinded_key(period)
                    .map_err(|_| NotCovered::Blinding(num))?;
                Ok(PeriodSigner {
                    blinded_public,
                    subcredential,
                    desc_sign: p.desc_sign(),
                    cert: p.cert().clone(),
                    cert_expiry: p.cert_expiry(),
                    ope: p.ope_key(),
                })
            }
        }
    }

    /// `period`'s revision-counter key, if the period is covered (signs nothing).
    pub fn ope_key(&self, period: TimePeriod) -> Result<OpeKey, NotCovered> {
        let num = period.interval_num();
        match self {
            SigningKeys::Identity(kp) => {
                let (_, blinded, _) = kp
                    .compute_blinded_key(period)
                    .map_err(|_| NotCovered::Blinding(num))?;
                Ok(OpeKey::from_blinded(&blinded))
            }
            SigningKeys::Bundle(b) => Ok(b
                .period(period)
                .ok_or(NotCovered::NoKeyForPeriod(num))?
                .ope_key()),
        }
    }

    /// Until when a thief of these keys can sign descriptors: `None` with the identity key
    /// (for ever), else the expiry of the bundle's last certificate.
    pub fn exposure_end(&self) -> Option<SystemTime> {
        match self {
            SigningKeys::Identity(_) => None,
            SigningKeys::Bundle(b) => Some(b.exposure_end()),
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
