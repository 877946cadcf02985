//! onionfront on this network: its `tor-network:` settings, where its files go, its config
//! (one service with every backend by default) and starting it, also as a second frontend in a
//! folder of its own.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use super::Network;
use crate::config::{ConfigSpec, Fallback, TorNetworkInfo, WrittenConfig};

impl Network {
    /// What onionfront's `tor-network:` section needs.
    pub fn tor_network_info(&self) -> TorNetworkInfo {
        TorNetworkInfo {
            authorities: self.authorities.iter().map(|a| a.v3ident.clone()).collect(),
            fallbacks: self
                .authorities
                .iter()
                .map(|a| Fallback {
                    rsa_identity: a.rsa_fingerprint.clone(),
                    ed_identity: a.ed_identity.clone(),
                    orport: a.or_addr(),
                })
                .collect(),
            hsdir_interval_minutes: self.hsdir_interval_minutes(),
        }
    }

    /// The `tor-network:` + `arti:` YAML fragment, with Arti's dirs under `<run>/onionfront`.
    pub fn tor_network_yaml(&self) -> String {
        crate::config::tor_network_yaml(&self.tor_network_info(), &self.onionfront_dir())
    }

    /// `<run>/onionfront`: where onionfront's config, state and cache go.
    pub fn onionfront_dir(&self) -> PathBuf {
        self.dir().join("onionfront")
    }

    /// Write `<run>/onionfront/config.yaml` for `spec`.
    pub fn write_onionfront_config(&self, spec: &ConfigSpec) -> Result<WrittenConfig> {
        crate::config::write_config(spec, &self.tor_network_info(), &self.onionfront_dir())
    }

    /// Write the config for `spec` and start onionfront on it (binary from
    /// [`crate::onionfront::binary`]).
    pub fn spawn_onionfront(&self, spec: &ConfigSpec) -> Result<crate::onionfront::Onionfront> {
        let bin = crate::onionfront::binary()?;
        let written = self.write_onionfront_config(spec)?;
        crate::onionfront::Onionfront::spawn(&bin, &written.path)
    }

    /// `<run>/<name>`: the folder of another onionfront instance (redundant frontends): its
    /// config, log, status socket and Arti state and cache.
    pub fn onionfront_dir_named(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// Write `<run>/<name>/config.yaml` for `spec` (state, cache, status socket in that folder).
    pub fn write_onionfront_config_in(
        &self,
        spec: &ConfigSpec,
        name: &str,
    ) -> Result<WrittenConfig> {
        crate::config::write_config(
            spec,
            &self.tor_network_info(),
            &self.onionfront_dir_named(name),
        )
    }

    /// Write the config for `spec` in `<run>/<name>` and start an onionfront on it: a second
    /// (third, ...) frontend with its own Arti state, cache and status socket.
    pub fn spawn_onionfront_in(
        &self,
        spec: &ConfigSpec,
        name: &str,
    ) -> Result<crate::onionfront::Onionfront> {
        let bin = crate::onionfront::binary()?;
        let written = self.write_onionfront_config_in(spec, name)?;
        crate::onionfront::Onionfront::spawn(&bin, &written.path)
    }

    /// The config entry of backend `i` (its address and name), for [`ConfigSpec`]s.
    pub fn instance_spec(&self, i: usize) -> Result<crate::config::InstanceSpec> {
        let b = self
            .backends
            .get(i)
            .ok_or_else(|| anyhow!("no backend {i}"))?;
        Ok(crate::config::InstanceSpec {
            address: b.address()?,
            name: b.name.clone(),
        })
    }

    /// Index of the backend named `name`.
    pub fn backend_index(&self, name: &str) -> Result<usize> {
        self.backends
            .iter()
            .position(|b| b.name == name)
            .ok_or_else(|| anyhow!("no backend named {name}"))
    }

    /// A config with one service: main key `main_keys[0]` and every backend as an instance.
    pub fn default_config_spec(&self) -> Result<ConfigSpec> {
        let key = self
            .main_keys
            .first()
            .ok_or_else(|| anyhow!("no main key generated"))?;
        let instances = self
            .backends
            .iter()
            .map(|b| {
                Ok(crate::config::InstanceSpec {
                    address: b.address()?,
                    name: b.name.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ConfigSpec {
            services: vec![crate::config::ServiceSpec {
                key: key.key_path.clone(),
                instances,
                extra_yaml: String::new(),
            }],
            extra_yaml: String::new(),
            status_socket: true,
        })
    }
}
