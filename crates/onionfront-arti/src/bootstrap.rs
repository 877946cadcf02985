//! Creating and bootstrapping the embedded Arti client.
//!
//! This module owns the translation of onionfront's `arti:` and `tor-network:` configuration into
//! an Arti [`TorClientConfig`] ([`client_config`]), the creation of the client
//! ([`create_unbootstrapped`]) and bootstrapping it ([`bootstrap`]). The progress reporting
//! while it does is [`crate::progress`]'s; the bootstrap call itself is
//! [`ArtiNetwork::bootstrap`].
//!
//! A private test network (`tor-network:`) needs more than authorities and fallbacks:
//! - every relay is on 127.0.0.1, so Arti's "distinct subnets" rule must be switched off
//!   (`path_rules` family prefixes 33 / 129, as Arti's own chutney configs do);
//! - C tor's `TestingTorNetwork` uses a time period of 24 voting intervals and ignores the
//!   consensus parameter, while Arti reads `hsdir_interval`: the configured minutes are forced
//!   with `override_net_params`, otherwise every blinded key is wrong;
//! - on loopback Arti learns a ~70 ms circuit-build timeout and then rejects ordinary circuits
//!   for minutes: `cbtdisabled=1` turns that learning off.

use arti_client::config::CfgPath;
use arti_client::config::dir::FallbackDir;
use arti_client::{TorClient, TorClientConfig};
use onionfront_core::config::model::{ArtiConfig, FallbackConfig, TorNetworkConfig};
use tokio::sync::watch;
use tor_llcrypto::pk::ed25519::Ed25519Identity;
use tor_llcrypto::pk::rsa::RsaIdentity;
use tor_rtcompat::PreferredRuntime;

use crate::error::ArtiError;
use crate::network::ArtiNetwork;
use crate::progress::{BootstrapProgress, log_progress};

/// Subnet family prefix that makes two IPv4 addresses never "in the same family" (Arti's
/// equivalent of C tor's `EnforceDistinctSubnets 0`).
const TESTNET_IPV4_FAMILY_PREFIX: u8 = 33;
/// Same for IPv6.
const TESTNET_IPV6_FAMILY_PREFIX: u8 = 129;

/// Create the Arti client from the configuration and bootstrap it; returns once Arti has enough
/// directory information to build circuits.
///
/// Must run inside a Tokio runtime. Progress is logged at `info`. To report progress while this
/// runs, use [`create_unbootstrapped`], then [`ArtiNetwork::progress_watch`] and
/// [`ArtiNetwork::bootstrap`].
///
/// Note that "bootstrapped" may be reached with a cached, expired consensus:
/// [`onionfront_publish::Network::directory`] waits for a strictly timely one.
pub async fn bootstrap(
    arti: &ArtiConfig,
    net: Option<&TorNetworkConfig>,
) -> Result<ArtiNetwork, ArtiError> {
    let network = create_unbootstrapped(arti, net).await?;
    network.bootstrap().await?;
    Ok(network)
}

/// Create the Arti client without bootstrapping it (no network traffic yet), and start logging
/// its bootstrap progress.
pub async fn create_unbootstrapped(
    arti: &ArtiConfig,
    net: Option<&TorNetworkConfig>,
) -> Result<ArtiNetwork, ArtiError> {
    let config = client_config(arti, net)?;
    let runtime = PreferredRuntime::current().map_err(|error| ArtiError::Runtime { error })?;
    let client = TorClient::with_runtime(runtime)
        .config(config)
        .create_unbootstrapped_async()
        .await
        .map_err(|error| ArtiError::Create { error })?;
    let (tx, rx) = watch::channel(BootstrapProgress::from_status(&client.bootstrap_status()));
    let task = tokio::spawn(log_progress(client.clone(), tx));
    Ok(ArtiNetwork::new(client, rx, task))
}

/// Build Arti's configuration: storage from `arti`, and, when `net` is set, a private Tor network
/// (authorities, fallbacks, loopback-friendly path rules, time period length, no circuit-build
/// timeout learning). Performs no I/O.
pub fn client_config(
    arti: &ArtiConfig,
    net: Option<&TorNetworkConfig>,
) -> Result<TorClientConfig, ArtiError> {
    let mut b = arti_client::config::TorClientConfigBuilder::default();
    b.storage()
        .state_dir(CfgPath::new_literal(&arti.state_dir))
        .cache_dir(CfgPath::new_literal(&arti.cache_dir));
    if arti.permissive_file_permissions {
        b.storage().permissions().dangerously_trust_everyone();
    }
    // An explicit memory quota: with Arti's "auto" it reads the machine's total memory, which
    // the systemd unit's sandbox hides (`ProcSubset=pid`), and it then warns and assumes 8 GiB.
    let memory_max = usize::try_from(arti.memory_max)
        .map_err(|_| ArtiError::Value(format!("memory-max {} is too large", arti.memory_max)))?;
    b.system().memory().max(memory_max);
    // Health checks connect to .onion addresses; this is Arti's default, made explicit.
    b.address_filter().allow_onion_addrs(true);
    // onionfront never opens exit streams: do not keep preemptive exit circuits ready for the
    // default ports 80/443 (onion service circuits come from a separate pool).
    b.preemptive_circuits()
        .set_initial_predicted_ports(Vec::new());
    if let Some(net) = net {
        apply_test_network(&mut b, net)?;
    }
    b.build().map_err(|error| ArtiError::Config { error })
}

/// The `tor-network:` part of [`client_config`].
fn apply_test_network(
    b: &mut arti_client::config::TorClientConfigBuilder,
    net: &TorNetworkConfig,
) -> Result<(), ArtiError> {
    // Empty lists would silently mean "no trust root" / "nowhere to bootstrap from".
    if net.authorities.is_empty() {
        return Err(ArtiError::Value("no authorities listed".into()));
    }
    if net.fallbacks.is_empty() {
        return Err(ArtiError::Value("no fallbacks listed".into()));
    }
    for auth in &net.authorities {
        let id =
            RsaIdentity::from_hex(auth.trim()).ok_or_else(|| ArtiError::Authority(auth.clone()))?;
        b.tor_network().authorities().v3idents().push(id);
    }
    let fallbacks = net
        .fallbacks
        .iter()
        .enumerate()
        .map(|(index, f)| fallback_builder(index, f))
        .collect::<Result<Vec<_>, _>>()?;
    b.tor_network().set_fallback_caches(fallbacks);
    b.path_rules()
        .ipv4_subnet_family_prefix(TESTNET_IPV4_FAMILY_PREFIX)
        .ipv6_subnet_family_prefix(TESTNET_IPV6_FAMILY_PREFIX);
    b.address_filter().allow_local_addrs(true);
    let params = b.override_net_params();
    if let Some(minutes) = net.hsdir_interval {
        let minutes = i32::try_from(minutes)
            .map_err(|_| ArtiError::Value(format!("hsdir-interval {minutes} is too large")))?;
        params.insert("hsdir_interval".into(), minutes);
    }
    params.insert("cbtdisabled".into(), 1);
    Ok(())
}

/// One fallback directory cache, checked.
fn fallback_builder(
    index: usize,
    f: &FallbackConfig,
) -> Result<arti_client::config::dir::FallbackDirBuilder, ArtiError> {
    let problem = |problem: String| ArtiError::Fallback { index, problem };
    let rsa = RsaIdentity::from_hex(f.rsa_identity.trim()).ok_or_else(|| {
        problem(format!(
            "rsa identity {:?} is not 40 hex characters",
            f.rsa_identity
        ))
    })?;
    let ed = Ed25519Identity::from_base64(f.ed_identity.trim()).ok_or_else(|| {
        problem(format!(
            "ed25519 identity {:?} is not 43 characters of unpadded base64",
            f.ed_identity
        ))
    })?;
    let mut fb = FallbackDir::builder();
    fb.rsa_identity(rsa)
        .ed_identity(ed)
        .orports()
        .push(f.orport);
    Ok(fb)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn arti() -> ArtiConfig {
        ArtiConfig {
            state_dir: PathBuf::from("/nonexistent/state"),
            cache_dir: PathBuf::from("/nonexistent/cache"),
            permissive_file_permissions: true,
            memory_max: onionfront_core::config::model::DEFAULT_ARTI_MEMORY_MAX,
        }
    }

    fn testnet() -> TorNetworkConfig {
        TorNetworkConfig {
            authorities: vec!["A".repeat(40), "b".repeat(40)],
            fallbacks: vec![FallbackConfig {
                rsa_identity: "C".repeat(40),
                ed_identity: "A".repeat(43),
                orport: "127.0.0.1:5000".parse().expect("addr"),
            }],
            hsdir_interval: Some(8),
        }
    }

    #[test]
    fn default_network_config_builds() {
        client_config(&arti(), None).expect("config");
    }

    #[test]
    fn test_network_config_builds() {
        let cfg = client_config(&arti(), Some(&testnet())).expect("config");
        let dbg = format!("{cfg:?}");
        assert!(dbg.contains("hsdir_interval"), "{dbg}");
        assert!(dbg.contains("cbtdisabled"), "{dbg}");
    }

    #[test]
    fn bad_authority_is_reported() {
        let mut net = testnet();
        net.authorities.push("xyz".into());
        let err = client_config(&arti(), Some(&net)).expect_err("bad authority");
        assert!(
            matches!(err, ArtiError::Authority(ref a) if a == "xyz"),
            "{err}"
        );
    }

    #[test]
    fn bad_fallback_is_reported() {
        let mut net = testnet();
        net.fallbacks[0].ed_identity = "not base64!".into();
        let err = client_config(&arti(), Some(&net)).expect_err("bad fallback");
        assert!(matches!(err, ArtiError::Fallback { index: 0, .. }), "{err}");
    }

    #[test]
    fn empty_lists_are_rejected() {
        let mut net = testnet();
        net.fallbacks.clear();
        let err = client_config(&arti(), Some(&net)).expect_err("no fallbacks");
        assert!(matches!(err, ArtiError::Value(_)), "{err}");
        let mut net = testnet();
        net.authorities.clear();
        let err = client_config(&arti(), Some(&net)).expect_err("no authorities");
        assert!(matches!(err, ArtiError::Value(_)), "{err}");
    }
}
