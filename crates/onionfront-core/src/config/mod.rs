//! Configuration: the validated model ([`model`]) and loading it from YAML with precise errors.

pub mod model;

pub use model::*;
