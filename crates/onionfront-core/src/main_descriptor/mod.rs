//! Building and signing main descriptors.
//!
//! CONTRACT (used by onionfront-publish): [`build_main_descriptor`], [`BuildRequest`],
//! [`BuiltDescriptor`], [`BuildError`]. Also [`blinded_id`] and [`revision_counter`].
//!
//! A build takes the period's [`PeriodSigner`] from [`SigningKeys`] (with the identity key: a
//! fresh descriptor-signing key and its certificate, valid 54 hours like C tor's; with a key
//! bundle: the offline-made ones, whose certificate expiry the intro point certificates share),
//! lets Arti's `HsDescBuilder` encode both encrypted
//! layers (it re-signs every intro point's `auth-key` and `enc-key-cert` with the new signing
//! key), then re-pads the superencrypted layer the C tor way ([`repad`]) and checks the size.
//! Submodules: [`revision`] (OPE revision counters), [`size`] (exact size prediction),
//! `layer_crypto` (layer encryption), [`repad`] (C tor padding).

mod layer_crypto;
pub mod repad;
pub mod revision;
pub mod size;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bundle;

use std::num::NonZeroU8;
use std::time::{Duration, SystemTime};

use tor_cell::chancell::msg::HandshakeType;
use tor_hscrypto::pk::HsBlindId;
use tor_llcrypto::pk::curve25519;
use tor_netdoc::NetdocBuilder;
use tor_netdoc::doc::hsdesc::{HsDescBuilder, IntroPointDesc};
use tor_protover::Protocols;
use tracing::debug;

use crate::keys::{NotCovered, PeriodSigner, SigningKeys};
use crate::period::PeriodParams;
use revision::RevisionError;

/// Lifetime of the descriptor-signing certificate and the re-signed intro point certificates
/// (C tor's `HS_DESC_CERT_LIFETIME`).
pub const CERT_LIFETIME: Duration = Duration::from_secs(54 * 3600);
/// Default `descriptor-lifetime`, minutes (C tor's and Arti's).
pub const DEFAULT_LIFETIME_MINUTES: u16 = 180;
/// Default HSDir size limit (`HSV3MaxDescriptorSize`).
pub const DEFAULT_MAX_SIZE: usize = 50_000;
/// Most intro points a C tor client accepts in one descriptor.
pub const MAX_INTRO_POINTS: usize = 20;
/// `descriptor-lifetime` values clients accept, minutes.
pub const LIFETIME_RANGE: std::ops::RangeInclusive<u16> = 30..=720;

/// Everything needed to build one main descriptor.
pub struct BuildRequest<'a> {
    /// What signs: the identity key or a key bundle (see [`SigningKeys`]).
    pub keys: &'a SigningKeys,
    /// The period to build for.
    pub period: &'a PeriodParams,
    /// The selected intro points.
    pub intro_points: &'a [IntroPointDesc],
    /// `flow-control` to advertise (carried over from the backends).
    pub flow_control: Option<(Protocols, NonZeroU8)>,
    /// Restricted discovery: authorized client keys (empty: off).
    pub auth_clients: &'a [curve25519::PublicKey],
    /// `descriptor-lifetime` in minutes.
    pub lifetime_minutes: u16,
    /// Size limit (consensus `HSV3MaxDescriptorSize`).
    pub max_size: usize,
    /// The revision counter must be greater than this (last one uploaded for the period).
    pub min_revision: Option<u64>,
    /// Build time.
    pub now: SystemTime,
}

/// A built and signed descriptor.
#[derive(Debug, Clone)]
pub struct BuiltDescriptor {
    /// The descriptor text.
    pub text: String,
    /// Its revision counter.
    pub revision: u64,
    /// The blinded identity it is stored under.
    pub blinded_id: HsBlindId,
    /// Intro points in it.
    pub intro_points: usize,
    /// Its size in bytes.
    pub size: usize,
    /// When its certificates expire.
    pub expires: SystemTime,
}

/// Why a descriptor could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No intro points to publish.
    #[error("no intro points to publish")]
    NoIntroPoints,
    /// More intro points than clients accept.
    #[error("{0} intro points, but clients accept at most {MAX_INTRO_POINTS}")]
    TooManyIntroPoints(usize),
    /// `descriptor-lifetime` outside what clients accept.
    #[error("descriptor lifetime of {0} minutes is outside 30..=720")]
    Lifetime(u16),
    /// The identity key cannot be blinded for the period.
    #[error("cannot blind the identity key for period #{0}")]
    Blinding(u64),
    /// The key bundle holds no key for the period (offline keys): nothing can be signed.
    #[error("the key bundle holds no keys for period #{0}: provision a new bundle")]
    NotCovered(u64),
    /// The key bundle's certificate for the period has expired (offline keys).
    #[error("the key bundle's certificate for period #{0} has expired: provision a new bundle")]
    CertificateExpired(u64),
    /// The build time is not within the period's SRV run.
    #[error("build time {} is before the start of period #{period}'s SRV run", humantime::format_rfc3339_seconds(*now))]
    OutsidePeriod {
        /// The period.
        period: u64,
        /// The build time.
        now: SystemTime,
    },
    /// No revision counter above the required minimum within a few seconds of now.
    #[error(
        "revision counter must exceed {min}, but even {lead}s ahead it is only {best} (another publisher ahead, or clock moved back?)",
        lead = revision::MAX_REVISION_LEAD_SECS
    )]
    RevisionNotAbove {
        /// The counter to exceed.
        min: u64,
        /// The largest counter allowed now.
        best: u64,
    },
    /// Bigger than the HSDirs accept.
    #[error("descriptor is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Arti refused to encode or sign it.
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// Build and sign a main descriptor.
pub fn build_main_descriptor(req: &BuildRequest<'_>) -> Result<BuiltDescriptor, BuildError> {
    let n = req.intro_points.len();
    if n == 0 {
        return Err(BuildError::NoIntroPoints);
    }
    if n > MAX_INTRO_POINTS {
        return Err(BuildError::TooManyIntroPoints(n));
    }
    if !LIFETIME_RANGE.contains(&req.lifetime_minutes) {
        return Err(BuildError::Lifetime(req.lifetime_minutes));
    }
    let period_num = req.period.interval_num();
    let signer = req
        .keys
        .signer(req.period.time_period, req.now)
        .map_err(|e| match e {
            NotCovered::NoKeyForPeriod(n) => BuildError::NotCovered(n),
            NotCovered::Blinding(n) => BuildError::Blinding(n),
            NotCovered::CertificateExpired(n) => BuildError::CertificateExpired(n),
            NotCovered::Certificate(_, e) => BuildError::Encode(e),
        })?;
    let PeriodSigner {
        blinded_public: blind_pk,
        subcredential,
        desc_sign,
        cert,
        cert_expiry: expires,
        ope,
    } = signer;

    let revision = revision::choose_revision(&ope, req.period, req.now, req.min_revision).map_err(
        |e| match e {
            RevisionError::OutsidePeriod => BuildError::OutsidePeriod {
                period: period_num,
                now: req.now,
            },
            RevisionError::NotAbove { min, best } => BuildError::RevisionNotAbove { min, best },
        },
    )?;

    // Fail before signing anything if the size is already known to be too big.
    let flow_control = req
        .flow_control
        .as_ref()
        .and_then(|(p, inc)| size::flowctrl_versions(p).map(|_| (p.clone(), inc.get())));
    let predicted = size::descriptor_len(
        req.intro_points,
        flow_control.as_ref(),
        req.auth_clients.len(),
        req.lifetime_minutes,
        revision,
    );
    if predicted > req.max_size {
        return Err(BuildError::TooLarge {
            size: predicted,
            limit: req.max_size,
        });
    }

    let mut rng = rand::rng();
    let auth_clients = (!req.auth_clients.is_empty()).then_some(req.auth_clients);
    let arti_text = HsDescBuilder::default()
        .blinded_id(&blind_pk)
        .hs_desc_sign(&desc_sign)
        .hs_desc_sign_cert(cert)
        .create2_formats(&[HandshakeType::NTOR])
        .auth_required(None)
        .is_single_onion_service(false)
        .intro_points(req.intro_points)
        .intro_auth_key_cert_expiry(expires)
        .intro_enc_key_cert_expiry(expires)
        .flow_control(flow_control)
        .auth_clients(auth_clients)
        .lifetime(req.lifetime_minutes.into())
        .revision_counter(revision.into())
        .subcredential(subcredential)
        .build_sign(&mut rng)
        .map_err(|e| BuildError::Encode(e.to_string()))?;

    let blinded_key: [u8; 32] = blind_pk.as_ref().to_bytes();
    let text = repad::Rewrap {
        blinded_key: &blinded_key,
        subcredential: subcredential.as_ref(),
        revision,
        desc_sign: &desc_sign,
    }
    .apply(&arti_text, &mut rng)
    .map_err(|e| BuildError::Encode(e.to_string()))?;

    let size = text.len();
    if size > req.max_size {
        return Err(BuildError::TooLarge {
            size,
            limit: req.max_size,
        });
    }
    debug!(
        period = period_num,
        revision,
        intro_points = n,
        size,
        "built main descriptor"
    );
    Ok(BuiltDescriptor {
        text,
        revision,
        blinded_id: blind_pk.id(),
        intro_points: n,
        size,
        expires,
    })
}

/// The blinded id of the service in `period` (what HSDirs store it under): known for every
/// period, covered or not (it needs only the identity public key).
pub fn blinded_id(keys: &SigningKeys, period: &PeriodParams) -> Option<HsBlindId> {
    Some(keys.blinded_public(period.time_period).ok()?.id())
}

/// The revision counter a descriptor for `identity` in `period` built at `now` gets (without a
/// minimum); `None` before the period's SRV start.
pub fn revision_counter(keys: &SigningKeys, period: &PeriodParams, now: SystemTime) -> Option<u64> {
    let ope = keys.ope_key(period.time_period).ok()?;
    revision::choose_revision(&ope, period, now, None).ok()
}
