//! Loading a config together with its services' keys ([`load_with_keys`]): what the daemon and
//! `onionfront check` use. On top of [`super::load`] it reports, at the `key:` line, every key
//! that cannot be used, and the checks that need the keys: a service listing its own address as
//! an instance, and two services with the same key.
//!
//! `key:` may name an identity key (C tor or Onionbalance format) or a key bundle (offline
//! keys), told apart by content. A bundle whose last time period has ended is refused: it can
//! sign nothing. Key files must be private unless `arti.permissive-file-permissions: true`.

use std::path::Path;
use std::time::SystemTime;

use super::error::{ConfigError, Diagnostic, Position, Problem};
use super::load::{load_spanned, parse_spanned};
use super::model::{Config, ServiceConfig};
use super::services::ServiceSpans;
use crate::keys::{LoadedKey, PermissionCheck};

/// A config with every service's key loaded.
#[derive(Debug)]
pub struct LoadedConfig {
    /// The config.
    pub config: Config,
    /// `keys[i]` is the key of `config.services[i]`.
    pub keys: Vec<LoadedKey>,
}

impl LoadedConfig {
    /// Each service with its key.
    pub fn services(&self) -> impl Iterator<Item = (&ServiceConfig, &LoadedKey)> {
        self.config.services.iter().zip(&self.keys)
    }
}

/// Read and validate the config file at `path`, and load every service's key (a key bundle
/// must not have ended by now).
pub fn load_with_keys(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let (config, spans) = load_spanned(path)?;
    attach_keys(config, &spans, path, SystemTime::now())
}

/// [`load_with_keys`] for config `text` read from `source`, judging bundles at `now`.
pub fn parse_with_keys_at(
    text: &str,
    source: &Path,
    now: SystemTime,
) -> Result<LoadedConfig, ConfigError> {
    let (config, spans) = parse_spanned(text, source)?;
    attach_keys(config, &spans, source, now)
}

/// [`load_with_keys`] for config `text` read from `source`.
pub fn parse_with_keys(text: &str, source: &Path) -> Result<LoadedConfig, ConfigError> {
    parse_with_keys_at(text, source, SystemTime::now())
}

fn attach_keys(
    config: Config,
    spans: &[ServiceSpans],
    file: &Path,
    now: SystemTime,
) -> Result<LoadedConfig, ConfigError> {
    let check = if config.arti.permissive_file_permissions {
        PermissionCheck::Permissive
    } else {
        PermissionCheck::Strict
    };
    let mut diagnostics = Vec::new();
    let mut report = |pos: Position, field: String, problem: Problem| {
        diagnostics.push(Diagnostic {
            file: file.to_path_buf(),
            position: Some(pos),
            field,
            problem,
        })
    };
    // `None` where the key could not be loaded (reported).
    let mut keys: Vec<Option<LoadedKey>> = Vec::new();
    for (i, (service, span)) in config.services.iter().zip(spans).enumerate() {
        let key = match LoadedKey::load_with(&service.key, check) {
            Ok(k) => k,
            Err(e) => {
                report(span.key, format!("services[{i}].key"), Problem::Key(e));
                keys.push(None);
                continue;
            }
        };
        if let Some(bundle) = key.bundle()
            && !key.usable_at(now)
        {
            report(
                span.key,
                format!("services[{i}].key"),
                Problem::Invalid(format!(
                    "key bundle {} ended at {}: it covers no current or future time period; \
                     provision a new one (docs/offline-keys.md)",
                    service.key.display(),
                    humantime::format_rfc3339_seconds(bundle.coverage_end())
                )),
            );
        }
        let address = key.address();
        if let Some(other) = keys
            .iter()
            .position(|k| k.as_ref().is_some_and(|k| k.address() == address))
        {
            report(
                span.key,
                format!("services[{i}].key"),
                Problem::DuplicateService {
                    address: address.to_string(),
                    other,
                },
            );
        }
        for (j, (inst, pos)) in service.instances.iter().zip(&span.instances).enumerate() {
            if inst.address == address {
                report(
                    *pos,
                    format!("services[{i}].instances[{j}].address"),
                    Problem::OwnAddress(address.to_string()),
                );
            }
        }
        keys.push(Some(key));
    }
    if diagnostics.is_empty() {
        let keys = keys.into_iter().flatten().collect();
        Ok(LoadedConfig { config, keys })
    } else {
        Err(ConfigError::new(diagnostics))
    }
}
