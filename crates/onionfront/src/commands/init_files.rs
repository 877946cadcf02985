//! The text of the files `onionfront init` writes: `config.yaml`, and per backend slot the
//! `ob_config` and torrc snippet for its C tor.

use std::fmt::Write as _;

use onionfront_core::OnionAddress;

/// One public service for the config template.
pub struct ServiceEntry {
    /// Its address.
    pub address: OnionAddress,
    /// Its key file, relative to the config's folder.
    pub key: String,
}

/// One backend slot.
pub struct BackendEntry {
    /// 1-based slot number.
    pub number: usize,
    /// Its address if known (`--instance`), else a placeholder is written.
    pub address: Option<OnionAddress>,
}

impl BackendEntry {
    /// `backend-N`: the instance name and folder name.
    pub fn name(&self) -> String {
        format!("backend-{}", self.number)
    }

    /// The HiddenServiceDir suggested for this backend's tor.
    pub fn hs_dir(&self) -> String {
        format!("/var/lib/tor/onionfront-{}", self.name())
    }
}

/// The paths config.yaml names for the daemon's own files.
pub struct RuntimePaths {
    /// `status-socket-location`.
    pub status_socket: &'static str,
    /// `arti.state-dir`.
    pub state_dir: &'static str,
    /// `arti.cache-dir`.
    pub cache_dir: &'static str,
}

impl RuntimePaths {
    /// The packaged unit's folders (`RuntimeDirectory=`, `StateDirectory=`, `CacheDirectory=`).
    pub const SYSTEM: RuntimePaths = RuntimePaths {
        status_socket: "/run/onionfront/control",
        state_dir: "/var/lib/onionfront/state",
        cache_dir: "/var/cache/onionfront",
    };
    /// Inside the config's folder, to run by hand.
    pub const LOCAL: RuntimePaths = RuntimePaths {
        status_socket: "status.sock",
        state_dir: "arti/state",
        cache_dir: "arti/cache",
    };
}

/// `config.yaml`.
pub fn config_yaml(
    services: &[ServiceEntry],
    backends: &[BackendEntry],
    paths: &RuntimePaths,
) -> String {
    let mut y = String::new();
    y.push_str(
        "# onionfront configuration, written by `onionfront init`.\n\
         # The `services:` part is Onionbalance's format: an Onionbalance config.yaml works as is.\n\
         # Every key is described in docs/configuration.md and config.example.yaml.\n\
         # Relative paths are relative to this file's folder.\n\
         \n\
         # Unix socket for `onionfront status` (the packaged unit's is /run/onionfront/control).\n",
    );
    let _ = writeln!(y, "status-socket-location: {}\n", paths.status_socket);
    y.push_str("services:\n");
    let placeholders = backends.iter().any(|b| b.address.is_none());
    for (i, s) in services.iter().enumerate() {
        let _ = writeln!(y, "  # Service {}: clients use {}", i + 1, s.address);
        let _ = writeln!(y, "  - key: {}", s.key);
        y.push_str("    instances:\n");
        if placeholders && i == 0 {
            y.push_str(
                "      # Each <...> placeholder is a backend slot: set up its tor with the torrc\n\
                 \x20     # snippet in backends/backend-N/, then replace the placeholder with the\n\
                 \x20     # address in that backend's HiddenServiceDir/hostname. `onionfront check`\n\
                 \x20     # lists the placeholders left.\n",
            );
        }
        for b in backends {
            let address = match &b.address {
                Some(a) => a.to_string(),
                None => format!("\"<{} onion address>\"", b.name()),
            };
            let _ = writeln!(y, "      - address: {address}\n        name: {}", b.name());
        }
        y.push_str(
            "    # Optional, see docs/configuration.md:\n\
             \x20   # health-check: {port: 80, interval: 30s, failures: 3, timeout: 30s}\n\
             \x20   # authorized-clients: [\"descriptor:x25519:<52 base32 characters>\"]\n",
        );
    }
    y.push_str(
        "\n\
         # Arti's storage (the packaged unit's: /var/lib/onionfront/state, /var/cache/onionfront)\n\
         # and its memory quota.\n\
         arti:\n",
    );
    let _ = writeln!(y, "  state-dir: {}", paths.state_dir);
    let _ = writeln!(y, "  cache-dir: {}", paths.cache_dir);
    y.push_str(
        "  # memory-max: 256 MiB\n\
         \n\
         # Defaults, shown for reference:\n\
         # publish:\n\
         #   fetch-interval: 2m\n\
         #   republish-interval: 60m\n\
         #   stale-after: 150m\n\
         #   intro-points-per-instance: 2\n\
         #   max-intro-points: 20\n\
         #   distinct-descriptors: auto\n\
         #   hsdir-timeout: 60s\n\
         #   descriptor-lifetime: 180\n\
         # log:\n\
         #   level: info\n\
         # metrics:\n\
         #   listen: 127.0.0.1:9477\n",
    );
    y
}

/// A backend's `ob_config`: one `MasterOnionAddress` line per service. C tor reads it from the
/// backend's HiddenServiceDir.
pub fn ob_config(services: &[ServiceEntry]) -> String {
    services
        .iter()
        .map(|s| format!("MasterOnionAddress {}\n", s.address))
        .collect()
}

/// A backend's torrc snippet.
pub fn torrc(b: &BackendEntry, port: u16, target: &str) -> String {
    let dir = b.hs_dir();
    let name = b.name();
    format!(
        "# torrc snippet for {name} of onionfront, written by `onionfront init`.\n\
         # Needs tor 0.4.4.1 or newer on the backend machine.\n\
         #  1. Create the HiddenServiceDir with ob_config (next to this file) in it; tor refuses\n\
         #     to start without it (debian-tor is the tor user on Debian):\n\
         #       install -d -m 700 -o debian-tor -g debian-tor {dir}\n\
         #       install -m 600 -o debian-tor -g debian-tor ob_config {dir}/\n\
         #  2. Add the lines below to that tor's torrc and restart tor.\n\
         #  3. Put the address in {dir}/hostname into onionfront's config.yaml\n\
         #     (the instance named {name}) and run `onionfront check`.\n\
         # The service itself (e.g. a web server) must listen on {target} on this machine.\n\
         HiddenServiceDir {dir}\n\
         HiddenServicePort {port} {target}\n\
         HiddenServiceOnionBalanceInstance 1\n"
    )
}
