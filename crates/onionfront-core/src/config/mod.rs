//! Configuration: the validated model ([`model`]) and loading it from an Onionbalance-compatible
//! `config.yaml` with precise errors.
//!
//! - [`load`] / [`parse`]: read and validate the file, without reading key files;
//! - [`load_with_keys`] / [`parse_with_keys`]: the same plus every service's key
//!   ([`crate::keys::ServiceKey`]) and the checks that need keys (a service listing its own
//!   address as an instance, two services sharing a key). The daemon and `onionfront check` use
//!   this one.
//!
//! Every problem found is reported (not just the first), each as a [`Diagnostic`] naming the
//! file, line, column and field path: `config.yaml:7:18: services[0].instances[1].address:
//! checksum mismatch: ...`. Unknown keys are errors, with a "did you mean" suggestion.
//!
//! Modules: [`yaml`] (positioned YAML tree), [`fields`] (typed readers), [`suggest`] (edit
//! distance), [`services`] (the Onionbalance part), [`clients`] (`authorized-clients`),
//! [`sections`] (onionfront's own sections), [`load`], [`with_keys`], [`error`].

mod clients;
mod error;
mod fields;
mod load;
pub mod model;
mod sections;
mod services;
mod suggest;
mod with_keys;
mod yaml;

pub use clients::parse_client_key;
pub use error::{ConfigError, Diagnostic, Position, Problem};
pub use load::{MAX_CONFIG_BYTES, load, parse};
pub use model::*;
pub use sections::log_filter;
pub use with_keys::{LoadedConfig, load_with_keys, parse_with_keys, parse_with_keys_at};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bundle;
#[cfg(test)]
mod tests_typos;
