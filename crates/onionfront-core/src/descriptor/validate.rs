//! Validating a backend's descriptor: parse, decrypt, signatures, blinded key, freshness.

use std::num::NonZeroU8;
use std::time::SystemTime;

use tor_netdoc::doc::hsdesc::IntroPointDesc;
use tor_protover::Protocols;

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
    /// Its intro points (certificates re-signed later by the builder).
    pub intro_points: Vec<IntroPointDesc>,
    /// Its `flow-control` line, if any.
    pub flow_control: Option<(Protocols, NonZeroU8)>,
    /// When it stops being valid (earliest certificate expiry).
    pub valid_until: SystemTime,
}

/// Why a backend descriptor was rejected. `Display` is the reason shown in logs and status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Placeholder until the engine lands.
    #[error("descriptor validation not implemented")]
    Unimplemented,
}

/// Validate `text`, fetched for `address` in `period`, at time `now`.
pub fn validate_backend_descriptor(
    _text: &str,
    _address: &OnionAddress,
    _period: &PeriodParams,
    _now: SystemTime,
) -> Result<ValidatedDescriptor, Rejection> {
    Err(Rejection::Unimplemented)
}
