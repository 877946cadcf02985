//! What the scheduler is asked to do: services with their keys and backends, and the intervals.
//!
//! Built by the binary from the validated config and the loaded keys; replaced as a whole on
//! reload (the scheduler keeps the state of what did not change, see `reload.rs`); and what a
//! reload changed ([`ReloadSummary`]).

use onionfront_core::OnionAddress;
use onionfront_core::config::{DistinctDescriptors, HealthCheckConfig, PublishConfig};
use onionfront_core::keys::SigningKeys;
use tor_llcrypto::pk::curve25519;

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Services added.
    pub added: Vec<OnionAddress>,
    /// Services removed.
    pub removed: Vec<OnionAddress>,
    /// Services whose configuration changed (state kept).
    pub changed: Vec<OnionAddress>,
    /// Services left as they were (not republished).
    pub unchanged: Vec<OnionAddress>,
}

/// Everything the scheduler runs.
#[derive(Clone)]
pub struct SchedulerSpec {
    /// Intervals and limits.
    pub publish: PublishConfig,
    /// The services.
    pub services: Vec<ServiceSpec>,
}

/// One public service.
#[derive(Clone)]
pub struct ServiceSpec {
    /// Its address (derived from the key).
    pub address: OnionAddress,
    /// What it signs with: its identity key, or a bundle of blinded keys (offline keys).
    pub keys: SigningKeys,
    /// Its backends.
    pub backends: Vec<BackendSpec>,
    /// Optional active health check.
    pub health_check: Option<HealthCheckConfig>,
    /// Restricted discovery client keys (empty: off).
    pub auth_clients: Vec<curve25519::PublicKey>,
    /// Intro points per backend.
    pub intro_points_per_instance: u8,
    /// Distinct-descriptors mode.
    pub distinct_descriptors: DistinctDescriptors,
}

/// One backend of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    /// Its address.
    pub address: OnionAddress,
    /// Its name from the config (`name:`), for the status.
    pub name: Option<String>,
    /// What logs call it. Backend addresses are secrets of the deployment (docs/operations.md):
    /// this is its `name`, or `instances[N]`, and has the address only when the operator opted
    /// in (`log.backend-addresses`). The daemon decides it when it loads the config.
    pub log_label: String,
}

impl BackendSpec {
    /// A backend named by the policy's default: its `name`, else `instances[position]`.
    pub fn new(address: OnionAddress, name: Option<String>, position: usize) -> Self {
        let log_label = onionfront_core::config::backend_label(name.as_deref(), position);
        BackendSpec {
            address,
            name,
            log_label,
        }
    }

    /// What logs call this backend (see [`BackendSpec::log_label`]).
    pub fn label(&self) -> &str {
        &self.log_label
    }
}

impl ServiceSpec {
    /// Whether two specs would publish the same thing (used on reload: an unchanged service keeps
    /// its state and is not republished).
    pub fn same_as(&self, other: &ServiceSpec) -> bool {
        self.address == other.address
            && self.backends == other.backends
            && self.health_check == other.health_check
            && self.intro_points_per_instance == other.intro_points_per_instance
            && self.distinct_descriptors == other.distinct_descriptors
            && self.same_auth_clients(other)
    }

    /// Whether both specs have the same restricted-discovery clients, in the same order (the
    /// one comparison of client keys: reload uses it to tell whether to republish).
    pub fn same_auth_clients(&self, other: &ServiceSpec) -> bool {
        self.auth_clients.len() == other.auth_clients.len()
            && self
                .auth_clients
                .iter()
                .zip(&other.auth_clients)
                .all(|(a, b)| a.as_bytes() == b.as_bytes())
    }
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("address", &self.address)
            .field("backends", &self.backends)
            .field("health_check", &self.health_check)
            .field("auth_clients", &self.auth_clients.len())
            .finish_non_exhaustive()
    }
}
