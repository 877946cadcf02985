//! Backend descriptors: validation ([`validate`]) and per-backend liveness tracking ([`tracker`]).
//!
//! CONTRACT (used by onionfront-publish; keep these names and signatures):
//! - `validate::validate_backend_descriptor(text, &address, &period, now) -> Result<ValidatedDescriptor, Rejection>`
//! - `tracker::BackendTracker::{new, observe, liveness, latest}`

pub mod tracker;
pub mod validate;

pub use tracker::{BackendTracker, Liveness, Observation};
pub use validate::{Rejection, ValidatedDescriptor, validate_backend_descriptor};
