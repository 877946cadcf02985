//! Backend descriptors: validation ([`validate`]) and per-backend liveness tracking ([`tracker`]).
//!
//! CONTRACT (used by onionfront-publish; keep these names and signatures):
//! - `validate::validate_backend_descriptor(text, &address, &period, now) -> Result<ValidatedDescriptor, Rejection>`
//! - `tracker::BackendTracker::{new, observe, liveness, latest}`
//!
//! Additions: `validate_backend_descriptor_with` (consensus `cc_sendme_inc` check, the rule
//! itself in `check_flow_control`),
//! `BackendTracker::{last_advanced, last_observed, revision_in}`, `Liveness::is_live`,
//! `BackendTracker::{history, from_history}` (the history saved across restarts).

pub(crate) mod outer_text;
pub mod tracker;
pub mod validate;

#[cfg(test)]
mod tests;

pub use tracker::{BackendTracker, Liveness, Observation, PeriodHistory, TrackerHistory};
pub use validate::{
    Rejection, ValidatedDescriptor, ValidationParams, check_flow_control, usable_by_c_tor,
    validate_backend_descriptor, validate_backend_descriptor_with,
};
