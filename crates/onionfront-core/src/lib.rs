//! onionfront-core: everything onionfront decides, with no network and no clock of its own.
//!
//! The data flow of the daemon, stage by stage:
//! - [`config`]: the Onionbalance-compatible `config.yaml`, validated into a model;
//! - [`keys`]: the services' identity keys (C tor and Onionbalance PEM formats);
//! - [`descriptor`]: validating a backend's descriptor and tracking its liveness;
//! - [`select`]: picking intro points across live backends;
//! - [`main_descriptor`]: building and signing the main descriptor(s) for a time period.
//!
//! Time is always passed in (`SystemTime`), and the consensus facts needed (time periods, size
//! limits) come in as plain values ([`period`]), so all of this is testable offline.

pub mod address;
pub mod config;
pub mod descriptor;
pub mod keys;
pub mod main_descriptor;
pub mod period;
pub mod select;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use address::{AddressError, OnionAddress};
