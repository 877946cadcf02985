//! Loading the config and keys into what the scheduler runs, for start-up and for SIGHUP.
//!
//! The scheduler gets each identity key as the `Arc` the loaded key holds: the secret is never
//! copied out of the buffers `onionfront-core` zeroes on drop.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use onionfront_core::config::{Config, LoadedConfig, load_with_keys};
use onionfront_publish::{BackendSpec, SchedulerSpec, ServiceSpec};
use tor_llcrypto::pk::curve25519;
use tracing::warn;

/// A loaded configuration: the validated config and the scheduler spec made from it.
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// What the scheduler runs.
    pub spec: SchedulerSpec,
}

/// Load and validate `path` and every key it names. Errors name file, line and field.
pub fn load(path: &Path) -> Result<Loaded> {
    let loaded = load_with_keys(path).map_err(|e| anyhow!("{e}"))?;
    to_spec(loaded)
}

fn to_spec(loaded: LoadedConfig) -> Result<Loaded> {
    let services = loaded
        .services()
        .map(|(svc, key)| {
            Ok(ServiceSpec {
                address: key.address(),
                identity: key.shared_keypair(),
                backends: svc
                    .instances
                    .iter()
                    .enumerate()
                    .map(|(position, i)| backend_spec(i, position, &loaded.config))
                    .collect(),
                health_check: svc.health_check,
                auth_clients: svc
                    .authorized_clients
                    .iter()
                    .map(|c| curve25519::PublicKey::from(c.key))
                    .collect(),
                intro_points_per_instance: svc
                    .intro_points_per_instance
                    .unwrap_or(loaded.config.publish.intro_points_per_instance),
                distinct_descriptors: svc
                    .distinct_descriptors
                    .unwrap_or(loaded.config.publish.distinct_descriptors),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let spec = SchedulerSpec {
        publish: loaded.config.publish,
        services,
    };
    Ok(Loaded {
        config: loaded.config,
        spec,
    })
}

/// Where the scheduler keeps the backends' revision history: in Arti's state folder
/// (`arti.state-dir`, private), as [`onionfront_publish::HISTORY_FILE_NAME`].
pub fn history_path(config: &Config) -> PathBuf {
    config
        .arti
        .state_dir
        .join(onionfront_publish::HISTORY_FILE_NAME)
}

/// Settings that only take effect on restart: say so when a reload changes them.
pub fn warn_restart_only_changes(old: &Config, new: &Config) {
    if old.arti != new.arti {
        warn!("`arti:` changed: takes effect on restart");
    }
    if old.tor_network != new.tor_network {
        warn!("`tor-network:` changed: takes effect on restart");
    }
    if old.status_socket != new.status_socket {
        warn!("`status-socket-location` changed: takes effect on restart");
    }
    if old.metrics != new.metrics {
        warn!("`metrics:` changed: takes effect on restart");
    }
    if old.log != new.log {
        warn!("`log:` changed: takes effect on restart");
    }
}

/// A backend for the scheduler, with what logs call it: its label (`name`, else
/// `instances[N]`), and its address too only when the operator opted in with
/// `log.backend-addresses` (docs/operations.md, "Backend addresses").
fn backend_spec(
    instance: &onionfront_core::config::InstanceConfig,
    position: usize,
    config: &Config,
) -> BackendSpec {
    let mut spec = BackendSpec::new(instance.address, instance.name.clone(), position);
    if config.log.backend_addresses {
        spec.log_label = format!("{} ({})", spec.log_label, instance.address);
    }
    spec
}
