//! What the onionfront scenario tests share: fast config snippets (short fetch interval, short
//! HSDir timeout, a quick health check), building service entries from backend names, waiting
//! for a service to be published, and timestamped progress lines for the CI log.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use crate::config::{ConfigSpec, ServiceSpec};
use crate::status::ServiceView;
use crate::{Network, Onionfront};

/// `publish:` with short intervals: fetch every 20 s, HSDir attempts time out after 30 s.
/// `republish` is the `republish-interval` (e.g. `10m`).
pub fn fast_publish_yaml(republish: &str) -> String {
    format!(
        "publish:\n  fetch-interval: 20s\n  republish-interval: {republish}\n  hsdir-timeout: 30s\n"
    )
}

/// A quick active health check on the harness backends' virtual port 80: a probe every 5 s, down
/// after 2 consecutive failures, 20 s per probe.
pub const FAST_HEALTH_CHECK_YAML: &str =
    "health-check:\n  port: 80\n  interval: 5s\n  failures: 2\n  timeout: 20s\n";

/// The worst-case time for the health check above to mark a dead backend down: a probe may
/// just have started (5 s), then two probes of up to 20 s each, plus slack for the daemon.
pub const HEALTH_CHECK_BOUND: Duration = Duration::from_secs(5 + 2 * 20 + 15);

/// A service with main key `net.main_keys[key]` and the backends named `names`.
pub fn service_spec(
    net: &Network,
    key: usize,
    names: &[&str],
    extra_yaml: &str,
) -> Result<ServiceSpec> {
    let main = net
        .main_keys
        .get(key)
        .ok_or_else(|| anyhow!("no main key {key}"))?;
    let instances = names
        .iter()
        .map(|n| net.instance_spec(net.backend_index(n)?))
        .collect::<Result<Vec<_>>>()?;
    Ok(ServiceSpec {
        key: main.key_path.clone(),
        instances,
        extra_yaml: extra_yaml.to_owned(),
    })
}

/// Env var: onionfront's `log.level` in the scenario configs (e.g.
/// `info,onionfront_core=debug,onionfront_publish=debug`); default `info`.
pub const LOG_ENV: &str = "ONIONFRONT_E2E_LOG";

/// A config of these services with a status socket and `extra_yaml` at the top level (plus
/// `log.level` from [`LOG_ENV`] if set).
pub fn config_spec(services: Vec<ServiceSpec>, extra_yaml: &str) -> ConfigSpec {
    let mut extra = extra_yaml.to_owned();
    if let Ok(level) = std::env::var(LOG_ENV) {
        extra += &format!("log:\n  level: {}\n", serde_json::Value::String(level));
    }
    ConfigSpec {
        services,
        extra_yaml: extra,
        status_socket: true,
    }
}

/// Wait until the service at `address` is published, every period built with intro points and
/// accepted by all its HSDirs, and every backend in `names` live with intro points published.
pub fn wait_published(
    of: &mut Onionfront,
    address: &str,
    names: &[&str],
    timeout: Duration,
) -> Result<ServiceView> {
    of.wait_status_until(
        &format!("{address} published with {names:?}, accepted by every HSDir"),
        timeout,
        |st| {
            crate::status::service(st, address).filter(|s| s.publishes(names) && s.fully_accepted())
        },
    )
}

/// A network with backends b1, b2 and b3, and a config of one service (main key 0) on b1 and
/// b2 (b3 is there to be added on a reload), fast publication, republished every 10 minutes.
/// Returns the network, the main address and the config.
pub fn start_two_of_three(p: &Progress) -> Result<(Network, String, ConfigSpec)> {
    let net = Network::start(crate::NetworkOptions::with_backends(["b1", "b2", "b3"]))?;
    eprint!("{}", net.describe());
    p.say("network ready");
    let main = net
        .main_keys
        .first()
        .ok_or_else(|| anyhow!("no main key"))?
        .address
        .clone();
    let spec = config_spec(
        vec![service_spec(&net, 0, &["b1", "b2"], "")?],
        &fast_publish_yaml("10m"),
    );
    Ok((net, main, spec))
}

/// Add backend `name` to the first service of `spec`, write the config of onionfront instance
/// `dir` (`None`: the default one of [`Network::spawn_onionfront`]) and send `of` a SIGHUP.
pub fn add_backend_and_reload(
    net: &Network,
    spec: &mut ConfigSpec,
    name: &str,
    dir: Option<&str>,
    of: &mut Onionfront,
) -> Result<()> {
    let added = net.instance_spec(net.backend_index(name)?)?;
    spec.services
        .first_mut()
        .ok_or_else(|| anyhow!("no service in the config"))?
        .instances
        .push(added);
    match dir {
        Some(d) => net.write_onionfront_config_in(spec, d)?,
        None => net.write_onionfront_config(spec)?,
    };
    of.sighup()
}

/// Prints `[   12.3s] <msg>` lines measured from a test's start.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    t0: Instant,
}

impl Progress {
    /// Start the clock.
    pub fn start() -> Progress {
        Progress { t0: Instant::now() }
    }

    /// Time since start.
    pub fn elapsed(&self) -> Duration {
        self.t0.elapsed()
    }

    /// Print a progress line.
    pub fn say(&self, msg: impl std::fmt::Display) {
        eprintln!("[{:>7.1}s] {msg}", self.t0.elapsed().as_secs_f64());
    }
}
