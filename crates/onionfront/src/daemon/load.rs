//! Loading the config and keys into what the scheduler runs, for start-up and for SIGHUP.
//!
//! The scheduler gets each identity key as the `Arc` the loaded key holds: the secret is never
//! copied out of the buffers `onionfront-core` zeroes on drop.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use onionfront_core::config::{Config, LoadedConfig, load_with_keys};
use onionfront_publish::{BackendSpec, SchedulerSpec, ServiceSpec};
use tor_llcrypto::pk::curve25519;
use tracing::{info, warn};

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
                keys: key.signing_keys(),
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

/// Load `path` for a reload of `current`: as [`load`], and a key bundle must stay with its
/// service. When the `key:` file of a running service now holds a key (or bundle) for another
/// address and either is a bundle, the reload is refused: a renewed bundle for the wrong
/// service would otherwise silently stop one service and start another (to move a service to
/// another address, point `key:` at a new file).
pub fn load_for_reload(path: &Path, current: &Loaded) -> Result<Loaded> {
    let new = load(path)?;
    for (i, (svc, spec)) in new
        .config
        .services
        .iter()
        .zip(&new.spec.services)
        .enumerate()
    {
        let old = current
            .config
            .services
            .iter()
            .zip(&current.spec.services)
            .find(|(o, _)| o.key == svc.key);
        if let Some((_, old_spec)) = old
            && old_spec.address != spec.address
            && (!old_spec.keys.is_identity() || !spec.keys.is_identity())
        {
            return Err(anyhow!(
                "{}: services[{i}].key: {} now holds keys for {}, but the running service is {}: \
                 a renewed key bundle must be for the same address",
                path.display(),
                svc.key.display(),
                spec.address,
                old_spec.address
            ));
        }
    }
    Ok(new)
}

/// Log, per service, what signs its descriptors (and how long a key bundle lasts).
pub fn log_keys(spec: &SchedulerSpec) {
    for s in &spec.services {
        match s.keys.coverage_end() {
            None => info!(service = %s.address, backends = s.backends.len(),
                "loaded service (identity key)"),
            Some(end) => info!(service = %s.address, backends = s.backends.len(),
                covered_until = %humantime::format_rfc3339_seconds(end),
                "loaded service (key bundle: offline keys)"),
        }
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::{Duration, SystemTime};

    use onionfront_core::keys::{KeyBundle, ServiceKey};

    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn write_bundle(path: &Path, seed: u8) -> onionfront_core::OnionAddress {
        let key = ServiceKey::from_seed(&[seed; 32]);
        let now = SystemTime::now();
        let b = KeyBundle::provision(&key, now, now + 3 * DAY, 1440, 12 * 3600).unwrap();
        let _ = std::fs::remove_file(path);
        b.write_new(path).unwrap();
        key.address()
    }

    #[test]
    fn a_reload_keeps_a_bundle_with_its_service() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("main.bundle");
        let first = write_bundle(&bundle, 31);
        let backend = ServiceKey::from_seed(&[39; 32]).address();
        let config = dir.path().join("config.yaml");
        std::fs::write(
            &config,
            format!("services:\n  - key: main.bundle\n    instances: [{{address: {backend}}}]\n"),
        )
        .unwrap();
        let current = load(&config).unwrap();
        assert_eq!(current.spec.services[0].address, first);
        assert!(!current.spec.services[0].keys.is_identity());

        // A renewed bundle for the same address: accepted.
        write_bundle(&bundle, 31);
        let renewed = load_for_reload(&config, &current).unwrap();
        assert_eq!(renewed.spec.services[0].address, first);

        // A bundle of another service in its place: refused, naming both addresses.
        let other = write_bundle(&bundle, 32);
        let e = load_for_reload(&config, &current)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            e.contains(&format!(
                "services[0].key: {} now holds keys for {other}, but the running service is \
                 {first}: a renewed key bundle must be for the same address",
                bundle.display()
            )),
            "{e}"
        );

        // A truncated bundle: refused by the loader, naming the file.
        let text = std::fs::read(&bundle).unwrap();
        std::fs::write(&bundle, &text[..text.len() / 2]).unwrap();
        let e = load_for_reload(&config, &current)
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains(&bundle.display().to_string()), "{e}");
    }
}
