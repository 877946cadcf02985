//! Validating a backend's descriptor: parse, decrypt, signatures, blinded key, freshness.
//!
//! Freshness: expired certificates are refused, and so are certificates that expire later than
//! a backend could have made them now (its clock is far ahead, or the time is forged).
//!
//! The cryptographic checks are Arti's client-side parser (`HsDesc::parse_decrypt_validate`,
//! the same code an Arti client runs). This module maps its errors to specific [`Rejection`]s,
//! adds the checks a client of the *main* address needs (no restricted discovery, no intro
//! authentication, a `flow-control` line clients accept, intro points C tor clients can use),
//! and records what the tracker and the builder need.

use std::fmt;
use std::num::NonZeroU8;
use std::time::{Duration, SystemTime};

use tor_checkable::{TimeBound, TimeValidityError};
use tor_hscrypto::pk::{HsBlindId, HsIdKey};
use tor_hscrypto::time::TimePeriod;
use tor_linkspec::LinkSpec;
use tor_netdoc::doc::hsdesc::{HsDesc, HsDescError, IntroPointDesc};
use tor_protover::Protocols;
use tracing::debug;

use super::outer_text;
use crate::address::OnionAddress;
use crate::period::PeriodParams;

/// A backend descriptor that passed every check.
#[derive(Debug, Clone)]
pub struct ValidatedDescriptor {
    /// The backend it belongs to.
    pub address: OnionAddress,
    /// The time period it was validated for.
    pub period: PeriodParams,
    /// Its revision counter.
    pub revision: u64,
    /// Its intro points (certificates re-signed later by the builder). Only those a C tor client
    /// can use (an RSA identity and an address among the link specifiers).
    pub intro_points: Vec<IntroPointDesc>,
    /// Its `flow-control` line, if any.
    pub flow_control: Option<(Protocols, NonZeroU8)>,
    /// When it stops being valid (earliest certificate expiry).
    pub valid_until: SystemTime,
    /// Its `descriptor-lifetime`: how long HSDirs keep it after it was uploaded.
    pub lifetime: Duration,
    /// The blinded id it is stored under.
    pub blinded_id: HsBlindId,
    /// Intro points dropped because C tor clients could not use them.
    pub dropped_intro_points: usize,
}

/// The longest certificate lifetime a backend gives its descriptor: C tor's
/// `HS_DESC_CERT_LIFETIME` and Arti's, 54 hours from when it builds the descriptor.
pub const MAX_CERT_LIFETIME: Duration = Duration::from_secs(54 * 3600);

/// How far ahead of ours a backend's clock may be, plus the one-hour granularity of certificate
/// expiry times.
pub const CLOCK_AHEAD_TOLERANCE: Duration = Duration::from_secs(2 * 3600);

/// Consensus facts validation can use; all optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidationParams {
    /// The consensus `cc_sendme_inc`: descriptors whose `flow-control` sendme_inc differs by more
    /// than 1 are rejected, as clients (Arti's tor-hsclient, C tor) reject them.
    pub cc_sendme_inc: Option<u8>,
}

/// Why a backend descriptor was rejected. `Display` is the reason shown in logs and status.
///
/// The texts never contain the backend's onion address (docs/operations.md, "Backend
/// addresses"): they are logged at warn level, and a backend is named in logs by its configured
/// `name` or position. The variants that concern one address carry it as a field, for a caller
/// that has the operator's permission to show it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The text is not a v3 descriptor (or its outer layer is malformed).
    #[error("not a valid v3 onion service descriptor: {0}")]
    Malformed(String),
    /// The descriptor is signed by another blinded key: another service or another period.
    #[error("{}", BlindedKeyMismatchDisplay { period: *period, matches_period: *matches_period })]
    BlindedKeyMismatch {
        /// The configured backend.
        address: OnionAddress,
        /// The period it was fetched for.
        period: u64,
        /// The adjacent period of the same address whose blinded key it is, if any.
        matches_period: Option<u64>,
    },
    /// The blinded key of the address could not be computed (not a valid key).
    #[error("cannot derive the blinded key of the backend's address in period #{period}")]
    Blinding {
        /// The configured backend.
        address: OnionAddress,
        /// The period.
        period: u64,
    },
    /// An outer signature (certificate or document) does not verify.
    #[error("signature check failed: {0}")]
    BadSignature(String),
    /// The superencrypted layer does not decrypt with the backend's subcredential.
    #[error(
        "decryption failed: the superencrypted layer does not decrypt with the backend's subcredential (corrupted?)"
    )]
    DecryptionFailed {
        /// The configured backend.
        address: OnionAddress,
    },
    /// The inner layer needs a client key: restricted discovery.
    #[error(
        "uses restricted discovery (client authorization): onionfront cannot decrypt its intro points; disable it on the backend"
    )]
    RestrictedDiscovery,
    /// The decrypted layers do not parse.
    #[error("malformed inner layer: {0}")]
    InnerMalformed(String),
    /// An inner certificate or signature does not verify.
    #[error("inner layer check failed: {0}")]
    InnerInvalid(String),
    /// Past its certificates' expiry.
    #[error("expired at {}", humantime::format_rfc3339_seconds(*at))]
    Expired {
        /// When it expired.
        at: SystemTime,
    },
    /// Not valid yet (clock skew, or a forged time): its certificates expire later than a
    /// descriptor made now could ([`MAX_CERT_LIFETIME`] + [`CLOCK_AHEAD_TOLERANCE`]).
    #[error("not valid before {}", humantime::format_rfc3339_seconds(*from))]
    NotYetValid {
        /// When it becomes valid.
        from: SystemTime,
    },
    /// Intro points require client authentication in INTRODUCE cells.
    #[error(
        "requires intro point authentication (intro-auth-required), which clients of the main address cannot provide"
    )]
    IntroAuthRequired,
    /// Clients would reject the descriptor's `flow-control` line.
    #[error(
        "flow-control sendme_inc {advertised} differs from the consensus cc_sendme_inc {consensus} by more than 1"
    )]
    FlowControlMismatch {
        /// In the descriptor.
        advertised: u8,
        /// In the consensus.
        consensus: u8,
    },
    /// None of its intro points can be used by C tor clients.
    #[error("none of its {0} intro points has the RSA identity and address C tor clients need")]
    NoUsableIntroPoints(usize),
    /// A lower revision counter than one already seen for the same period.
    #[error("replay: revision {revision} < {seen} seen")]
    Replay {
        /// The descriptor's counter.
        revision: u64,
        /// The highest counter seen for the period.
        seen: u64,
    },
    /// Arti reported an internal error.
    #[error("internal error while validating: {0}")]
    Internal(String),
}

/// Display helper for [`Rejection::BlindedKeyMismatch`].
struct BlindedKeyMismatchDisplay {
    period: u64,
    matches_period: Option<u64>,
}

impl fmt::Display for BlindedKeyMismatchDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "blinded key does not match the configured address in period #{}",
            self.period
        )?;
        if let Some(p) = self.matches_period {
            write!(f, " (it is the key of period #{p})")?;
        }
        Ok(())
    }
}

/// Validate `text`, fetched for `address` in `period`, at time `now`.
pub fn validate_backend_descriptor(
    text: &str,
    address: &OnionAddress,
    period: &PeriodParams,
    now: SystemTime,
) -> Result<ValidatedDescriptor, Rejection> {
    validate_backend_descriptor_with(text, address, period, now, &ValidationParams::default())
}

/// [`validate_backend_descriptor`], with consensus facts for the extra checks.
pub fn validate_backend_descriptor_with(
    text: &str,
    address: &OnionAddress,
    period: &PeriodParams,
    now: SystemTime,
    params: &ValidationParams,
) -> Result<ValidatedDescriptor, Rejection> {
    let id_key = address.hs_id_key().map_err(|_| Rejection::Blinding {
        address: *address,
        period: period.interval_num(),
    })?;
    let (blind_key, subcredential) =
        id_key
            .compute_blinded_key(period.time_period)
            .map_err(|_| Rejection::Blinding {
                address: *address,
                period: period.interval_num(),
            })?;
    let blinded_id = blind_key.id();

    let bound = HsDesc::parse_decrypt_validate(text, &blinded_id, &subcredential, None)
        .map_err(|e| map_arti_error(e, text, address, &id_key, period, &blinded_id))?;

    let (start, end) = bound.bounds_start_end();
    let desc = match bound.check_valid_at(&now) {
        Ok(()) => bound.dangerously_assume_timely(),
        Err(TimeValidityError::Expired(ago)) => {
            return Err(Rejection::Expired {
                at: end.or_else(|| now.checked_sub(ago)).unwrap_or(now),
            });
        }
        Err(TimeValidityError::NotYetValid(wait)) => {
            return Err(Rejection::NotYetValid {
                from: start.or_else(|| now.checked_add(wait)).unwrap_or(now),
            });
        }
        Err(e) => return Err(Rejection::Malformed(e.to_string())),
    };
    // Ed25519 certificates carry only an expiry. One that expires later than a backend could
    // have made it (`MAX_CERT_LIFETIME` from now, with some clock skew) was made in our future:
    // a backend clock far ahead, or a forged time that would keep the descriptor "valid" for
    // longer than any real one.
    if let Some(end) = end
        && now
            .checked_add(MAX_CERT_LIFETIME + CLOCK_AHEAD_TOLERANCE)
            .is_some_and(|limit| end > limit)
    {
        return Err(Rejection::NotYetValid {
            from: end.checked_sub(MAX_CERT_LIFETIME).unwrap_or(end),
        });
    }
    // Certificates always carry an expiry; without one, the descriptor lifetime bounds it.
    let lifetime_minutes = outer_text::lifetime_minutes(text).unwrap_or(180);
    let lifetime = Duration::from_secs(u64::from(lifetime_minutes) * 60);
    let valid_until = end.or_else(|| now.checked_add(lifetime)).unwrap_or(now);

    if desc.requires_intro_authentication() {
        return Err(Rejection::IntroAuthRequired);
    }
    let flow_control = desc.flow_control();
    if let (Some(consensus), Some((_, inc))) = (params.cc_sendme_inc, &flow_control) {
        check_flow_control(inc.get(), consensus)?;
    }

    let all = desc.intro_points().len();
    let intro_points: Vec<IntroPointDesc> = desc
        .intro_points()
        .iter()
        .filter(|ipt| usable_by_c_tor(ipt))
        .cloned()
        .collect();
    if intro_points.is_empty() {
        return Err(Rejection::NoUsableIntroPoints(all));
    }
    if intro_points.len() < all {
        // No address here: the caller names the backend (see `Rejection`).
        debug!(
            dropped = all - intro_points.len(),
            "dropped intro points without RSA identity or address"
        );
    }

    Ok(ValidatedDescriptor {
        address: *address,
        period: *period,
        revision: *desc.revision(),
        dropped_intro_points: all - intro_points.len(),
        intro_points,
        flow_control,
        valid_until,
        lifetime,
        blinded_id,
    })
}

/// Whether clients accept a `flow-control` line with `sendme_inc` under a consensus whose
/// `cc_sendme_inc` is `consensus`: within 1 of it (the rule of tor-hsclient's
/// `ensure_descriptor_compatible_with_params` and of C tor's
/// `congestion_control_validate_sendme_increment`, which also refuses 0).
pub fn check_flow_control(sendme_inc: u8, consensus: u8) -> Result<(), Rejection> {
    if sendme_inc == 0 || sendme_inc.abs_diff(consensus) > 1 {
        return Err(Rejection::FlowControlMismatch {
            advertised: sendme_inc,
            consensus,
        });
    }
    Ok(())
}

/// Whether a C tor client can extend to this intro point: it needs the relay's RSA identity
/// and an address (C tor's `hs_get_extend_info_from_lspecs`).
pub fn usable_by_c_tor(ipt: &IntroPointDesc) -> bool {
    let mut rsa = false;
    let mut addr = false;
    for ls in ipt.link_specifiers() {
        match ls.parse() {
            Ok(LinkSpec::RsaId(_)) => rsa = true,
            Ok(LinkSpec::OrPort(_, _)) => addr = true,
            _ => {}
        }
    }
    rsa && addr
}

/// Turn Arti's error into a specific rejection.
fn map_arti_error(
    e: HsDescError,
    text: &str,
    address: &OnionAddress,
    id_key: &HsIdKey,
    period: &PeriodParams,
    expected: &HsBlindId,
) -> Rejection {
    match e {
        HsDescError::OuterParsing(inner) => match outer_text::cert_blinded_key(text) {
            Some(key) if HsBlindId::from(key) != *expected => Rejection::BlindedKeyMismatch {
                address: *address,
                period: period.interval_num(),
                matches_period: adjacent_period_of(id_key, period.time_period, key),
            },
            _ => Rejection::Malformed(error_chain(&inner)),
        },
        HsDescError::OuterValidation(inner) => Rejection::BadSignature(error_chain(&inner)),
        HsDescError::MissingDecryptionKey | HsDescError::WrongDecryptionKey => {
            Rejection::RestrictedDiscovery
        }
        HsDescError::DecryptionFailed => Rejection::DecryptionFailed { address: *address },
        HsDescError::InnerParsing(inner) => Rejection::InnerMalformed(error_chain(&inner)),
        HsDescError::InnerValidation(inner) => Rejection::InnerInvalid(error_chain(&inner)),
        other => Rejection::Internal(other.to_string()),
    }
}

/// The period next to `tp` (before or after) whose blinded key for `id_key` is `key`.
fn adjacent_period_of(id_key: &HsIdKey, tp: TimePeriod, key: [u8; 32]) -> Option<u64> {
    [tp.prev(), tp.next()].into_iter().flatten().find_map(|p| {
        let (blind, _) = id_key.compute_blinded_key(p).ok()?;
        (blind.id() == HsBlindId::from(key)).then(|| p.interval_num())
    })
}

/// An error and its sources, joined with ": ".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}
