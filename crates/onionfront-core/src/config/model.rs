//! The validated configuration model: what the rest of onionfront reads.
//!
//! Produced by [`super::load`] from an Onionbalance-compatible `config.yaml` (plus onionfront's own
//! optional keys). Every value here has been checked; defaults are applied; paths are absolute
//! (relative ones in the file are resolved against its folder). Keys are *paths* here;
//! [`crate::keys`] loads them ([`super::load_with_keys`] does both).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::address::OnionAddress;

/// The whole configuration file, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it was read from (absolute), for messages and for resolving relative paths.
    pub source: PathBuf,
    /// Onionbalance's `status-socket-location` (the env var override is applied by the binary).
    pub status_socket: Option<PathBuf>,
    /// The public services this frontend publishes.
    pub services: Vec<ServiceConfig>,
    /// Arti's storage directories (`arti:`).
    pub arti: ArtiConfig,
    /// A private Tor network to use instead of the real one (`tor-network:`).
    pub tor_network: Option<TorNetworkConfig>,
    /// Intervals and limits of the publisher (`publish:`), defaults for every service.
    pub publish: PublishConfig,
    /// Logging (`log:`).
    pub log: LogConfig,
    /// Prometheus metrics (`metrics:`), off unless set.
    pub metrics: Option<MetricsConfig>,
}

/// One public onion service (an entry of `services:`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceConfig {
    /// Path of the identity key file, resolved against the config file's folder.
    pub key: PathBuf,
    /// The backends (Onionbalance "instances").
    pub instances: Vec<InstanceConfig>,
    /// Optional active health check through Arti.
    pub health_check: Option<HealthCheckConfig>,
    /// Restricted discovery: x25519 public keys of authorized clients. Empty: off.
    pub authorized_clients: Vec<AuthorizedClient>,
    /// Per-service override of `publish.intro-points-per-instance`.
    pub intro_points_per_instance: Option<u8>,
    /// Per-service override of `publish.distinct-descriptors`.
    pub distinct_descriptors: Option<DistinctDescriptors>,
}

/// One backend onion service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceConfig {
    /// Its address.
    pub address: OnionAddress,
    /// Onionbalance's free-form `name` (used in logs and status).
    pub name: Option<String>,
}

impl InstanceConfig {
    /// How logs and metrics name this backend, the instance at `position` (0-based) of its
    /// service, unless the operator opted in to addresses: its `name`, or `instances[N]`.
    ///
    /// Backend addresses link the backends to the public service, so they are kept out of
    /// everything a local user or a log collector may read (docs/operations.md).
    pub fn label(&self, position: usize) -> String {
        backend_label(self.name.as_deref(), position)
    }
}

/// [`InstanceConfig::label`] from a backend's `name` and its position in its service.
pub fn backend_label(name: Option<&str>, position: usize) -> String {
    match name {
        Some(n) if !n.trim().is_empty() => n.to_string(),
        _ => format!("instances[{position}]"),
    }
}

/// One authorized client of restricted discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedClient {
    /// A label for logs: the entry's `name`, or `services[N].authorized-clients[M]`.
    pub name: String,
    /// The client's x25519 public key.
    pub key: [u8; 32],
}

/// `health-check:` of a service: open a stream to `backend.onion:port` every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheckConfig {
    /// Virtual port on the backend to connect to.
    pub port: u16,
    /// How often to probe.
    pub interval: Duration,
    /// Consecutive failures that mark a backend down.
    pub failures: u32,
    /// Per-probe timeout.
    pub timeout: Duration,
}

/// When to split a service's intro points over several distinct descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DistinctDescriptors {
    /// Never: cap at `max-intro-points` and drop the excess fairly.
    Off,
    /// When the live intro points do not fit in one descriptor.
    #[default]
    Auto,
}

/// `arti:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtiConfig {
    /// Arti's state directory (guards, etc.). Default `/var/lib/onionfront/state`.
    pub state_dir: PathBuf,
    /// Arti's cache directory (consensus, microdescriptors). Default `/var/cache/onionfront`.
    pub cache_dir: PathBuf,
    /// Relax Arti's file permission checks (for tests and containers). Default false.
    pub permissive_file_permissions: bool,
    /// Arti's memory quota (`memory-max`, bytes): the queued data Arti keeps before it frees
    /// the oldest. Set explicitly so that Arti never needs the machine's total memory (hidden by
    /// the systemd unit's sandbox). Default [`DEFAULT_ARTI_MEMORY_MAX`].
    pub memory_max: u64,
}

/// Default of `arti.memory-max`: 256 MiB, C tor's floor for its own automatic quota. onionfront
/// queues little (descriptors of a few KiB, health probes), so this is generous.
pub const DEFAULT_ARTI_MEMORY_MAX: u64 = 256 * 1024 * 1024;

/// `tor-network:` section: a private Tor network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorNetworkConfig {
    /// v3 identities (hex, 40 chars) of the directory authorities.
    pub authorities: Vec<String>,
    /// Caches to bootstrap from.
    pub fallbacks: Vec<FallbackConfig>,
    /// Onion-service time period length in minutes (C tor TestingTorNetwork: 24 x voting interval).
    pub hsdir_interval: Option<u32>,
}

/// A fallback directory cache of a private network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackConfig {
    /// RSA identity fingerprint, hex.
    pub rsa_identity: String,
    /// Ed25519 identity, unpadded base64.
    pub ed_identity: String,
    /// ORPort address.
    pub orport: SocketAddr,
}

/// `publish:` section: intervals and limits. All have defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishConfig {
    /// How often backend descriptors are fetched. Default 2 min.
    pub fetch_interval: Duration,
    /// Republish even when nothing changed after this long. Default 60 min.
    pub republish_interval: Duration,
    /// A backend whose revision counter has not advanced for this long is stale. Default 150 min.
    pub stale_after: Duration,
    /// Intro points taken from each backend. Default 2.
    pub intro_points_per_instance: u8,
    /// Intro points in one descriptor, at most 20. Default 20.
    pub max_intro_points: u8,
    /// Distinct-descriptors mode. Default auto.
    pub distinct_descriptors: DistinctDescriptors,
    /// Timeout of one HSDir fetch or upload attempt. Default 60 s.
    pub hsdir_timeout: Duration,
    /// Descriptor lifetime announced, in minutes. Default 180.
    pub descriptor_lifetime_minutes: u16,
    /// With a key bundle (offline keys): warn when less than this much coverage remains.
    /// Default 7 days.
    pub offline_keys_warn: Duration,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            fetch_interval: Duration::from_secs(120),
            republish_interval: Duration::from_secs(60 * 60),
            stale_after: Duration::from_secs(150 * 60),
            intro_points_per_instance: 2,
            max_intro_points: 20,
            distinct_descriptors: DistinctDescriptors::Auto,
            hsdir_timeout: Duration::from_secs(60),
            descriptor_lifetime_minutes: 180,
            offline_keys_warn: Duration::from_secs(7 * 86_400),
        }
    }
}

/// `log:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// A `tracing` filter (`info`, `onionfront=debug,warn`). Default `info`.
    pub level: String,
    /// `backend-addresses`: the operator's opt-in to backend onion addresses in logs. Off: a
    /// backend is named by [`InstanceConfig::label`] (docs/operations.md, "Backend addresses").
    pub backend_addresses: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            backend_addresses: false,
        }
    }
}

/// `metrics:` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Address of the Prometheus endpoint; always a loopback address (the loader refuses others).
    pub listen: SocketAddr,
    /// `backend-addresses`: the operator's opt-in to an `address` label on per-backend series.
    /// Off: backends are labelled by [`InstanceConfig::label`] only.
    pub backend_addresses: bool,
}

impl Default for ArtiConfig {
    fn default() -> Self {
        ArtiConfig {
            state_dir: PathBuf::from("/var/lib/onionfront/state"),
            cache_dir: PathBuf::from("/var/cache/onionfront"),
            permissive_file_permissions: false,
            memory_max: DEFAULT_ARTI_MEMORY_MAX,
        }
    }
}
