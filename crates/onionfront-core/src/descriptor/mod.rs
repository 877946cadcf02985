//! Backend descriptors: validation ([`validate`]) and per-backend liveness tracking ([`tracker`]).
//!
//! CONTRACT (used by onionfront-publish; keep these names and signatures):
//! - `validate::validate_backend_descriptor(text, &address, &period, now) -> Result<ValidatedDescriptor, Rejection>`
//! - `tracker::BackendTracker::{new, observe, liveness, latest}`
//!
//! Additions: `validate_backend_descriptor_with` (consensus `cc_sendme_inc` check),
//! `BackendTracker::{last_advanced, last_observed, revision_in}`, `Liveness::is_live`.

pub(crate) mod outer_text;
pub mod tracker;
pub mod validate;

#[cfg(test)]
mod tests;

pub use tracker::{BackendTracker, Liveness, Observation};
pub use validate::{
    Rejection, ValidatedDescriptor, ValidationParams, usable_by_c_tor, validate_backend_descriptor,
    validate_backend_descriptor_with,
};
