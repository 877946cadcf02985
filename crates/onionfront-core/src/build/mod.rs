//! Building and signing main descriptors.
//!
//! CONTRACT (used by onionfront-publish): [`build_main_descriptor`], [`BuildRequest`],
//! [`BuiltDescriptor`], [`BuildError`].

use std::num::NonZeroU8;
use std::time::SystemTime;

use tor_hscrypto::pk::{HsBlindId, HsIdKeypair};
use tor_llcrypto::pk::curve25519;
use tor_netdoc::doc::hsdesc::IntroPointDesc;
use tor_protover::Protocols;

use crate::period::PeriodParams;

/// Everything needed to build one main descriptor.
pub struct BuildRequest<'a> {
    /// The service's identity keypair.
    pub identity: &'a HsIdKeypair,
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
}

/// Why a descriptor could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// Placeholder until the engine lands.
    #[error("descriptor building not implemented")]
    Unimplemented,
}

/// Build and sign a main descriptor.
pub fn build_main_descriptor(_req: &BuildRequest<'_>) -> Result<BuiltDescriptor, BuildError> {
    Err(BuildError::Unimplemented)
}

/// The blinded id of `identity` in `period` (what HSDirs store it under).
pub fn blinded_id(identity: &HsIdKeypair, period: &PeriodParams) -> Option<HsBlindId> {
    let (pk, _, _) = identity.compute_blinded_key(period.time_period).ok()?;
    Some(pk.id())
}
