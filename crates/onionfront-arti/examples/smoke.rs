//! Live smoke test of onionfront-arti against a (private) Tor network.
//!
//! ```text
//! smoke keygen DIR      write a fresh identity key (C tor format) to DIR/hs_ed25519_secret_key,
//!                       print its onion address (to put in a backend's ob_config)
//! smoke run             the smoke test, configured by environment variables:
//!   OF_SMOKE_DIR             Arti state/cache base directory (required)
//!   OF_SMOKE_AUTHORITIES     comma-separated v3 identities (hex); unset: the real Tor network
//!   OF_SMOKE_FALLBACKS       `RSA ED 127.0.0.1:PORT` entries separated by `;`
//!   OF_SMOKE_HSDIR_INTERVAL  time period length in minutes (24 x V3AuthVotingInterval)
//!   OF_SMOKE_BACKEND         a backend's onion address (required)
//!   OF_SMOKE_MAIN_KEY        optional: a main identity key (from `keygen`); then a fresh main
//!                            descriptor with the backend's intro points is built and uploaded
//!                            for every publish period
//!   OF_SMOKE_PROBE_PORT      optional: probe BACKEND:PORT (and MAIN:PORT) through Arti
//!   OF_SMOKE_WATCH_MINUTES   optional (with OF_SMOKE_MAIN_KEY): then follow new consensuses for
//!                            this long, re-fetching the backend and re-publishing the main
//!                            descriptor for every publish period at each one
//! ```
//!
//! Steps: bootstrap; print the directory's periods and the backend's HSDirs; fetch the backend's
//! descriptor (each HSDir in turn until one answers) and validate it; re-upload it unchanged to
//! the backend's HSDirs (an HSDir answers 400 for an equal revision counter, which still proves
//! the round trip); optionally upload a fresh main descriptor (expect 200) and probe.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use onionfront_arti::{ArtiDirectory, ArtiNetwork};
use onionfront_core::OnionAddress;
use onionfront_core::config::model::{ArtiConfig, FallbackConfig, TorNetworkConfig};
use onionfront_core::main_descriptor::{
    BuildRequest, DEFAULT_LIFETIME_MINUTES, build_main_descriptor,
};
use onionfront_core::period::PeriodParams;
use onionfront_publish::network::{Directory, Network};
use tor_checkable::Timebound as _;
use tor_hscrypto::pk::{HsBlindId, HsIdKeypair};
use tor_llcrypto::pk::ed25519;
use tor_netdoc::doc::hsdesc::{HsDesc, IntroPointDesc};

/// C tor's tag at the start of `hs_ed25519_secret_key`.
const CTOR_SECRET_TAG: &[u8; 32] = b"== ed25519v1-secret: type0 ==\0\0\0";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("keygen") => keygen(Path::new(args.get(2).context("keygen DIR")?)),
        Some("run") => run().await,
        _ => bail!("usage: smoke keygen DIR | smoke run (see the source for the env vars)"),
    }
}

/// Write a fresh key in C tor format and print its address.
fn keygen(dir: &Path) -> anyhow::Result<()> {
    let kp = ed25519::Keypair::generate(&mut rand::rng());
    let expanded = ed25519::ExpandedKeypair::from(&kp);
    let mut bytes = CTOR_SECRET_TAG.to_vec();
    bytes.extend_from_slice(&expanded.to_secret_key_bytes());
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("hs_ed25519_secret_key"), bytes)?;
    let addr = OnionAddress::from_public_key(kp.verifying_key().to_bytes());
    std::fs::write(dir.join("hostname"), format!("{addr}\n"))?;
    println!("{addr}");
    Ok(())
}

/// Read a key written by `keygen` (or C tor).
fn read_key(path: &Path) -> anyhow::Result<(HsIdKeypair, OnionAddress)> {
    let bytes = std::fs::read(path)?;
    if bytes.len() != 96 || &bytes[..32] != CTOR_SECRET_TAG {
        bail!("{} is not a C tor hs_ed25519_secret_key", path.display());
    }
    let mut secret = [0u8; 64];
    secret.copy_from_slice(&bytes[32..]);
    let expanded = ed25519::ExpandedKeypair::from_secret_key_bytes(secret).context("bad key")?;
    let addr = OnionAddress::from_public_key(expanded.public().to_bytes());
    Ok((HsIdKeypair::from(expanded), addr))
}

/// The private network from the environment, if any.
fn tor_network() -> anyhow::Result<Option<TorNetworkConfig>> {
    let Some(auths) = env("OF_SMOKE_AUTHORITIES") else {
        return Ok(None);
    };
    let mut fallbacks = Vec::new();
    for entry in env("OF_SMOKE_FALLBACKS")
        .context("OF_SMOKE_FALLBACKS")?
        .split(';')
    {
        let f: Vec<&str> = entry.split_whitespace().collect();
        let [rsa, ed, addr] = f[..] else {
            bail!("fallback {entry:?}: expected `RSA ED ADDR`");
        };
        fallbacks.push(FallbackConfig {
            rsa_identity: rsa.into(),
            ed_identity: ed.into(),
            orport: addr.parse()?,
        });
    }
    Ok(Some(TorNetworkConfig {
        authorities: auths.split(',').map(|s| s.trim().to_owned()).collect(),
        fallbacks,
        hsdir_interval: env("OF_SMOKE_HSDIR_INTERVAL")
            .map(|v| v.parse())
            .transpose()?,
    }))
}

async fn run() -> anyhow::Result<()> {
    let base = env("OF_SMOKE_DIR").context("OF_SMOKE_DIR")?;
    let arti = ArtiConfig {
        state_dir: Path::new(&base).join("state"),
        cache_dir: Path::new(&base).join("cache"),
        permissive_file_permissions: true,
        ..ArtiConfig::default()
    };
    let backend: OnionAddress = env("OF_SMOKE_BACKEND")
        .context("OF_SMOKE_BACKEND")?
        .parse()?;
    let net_cfg = tor_network()?;

    let t0 = Instant::now();
    let net = onionfront_arti::bootstrap(&arti, net_cfg.as_ref()).await?;
    println!("bootstrap: {:?} ({})", t0.elapsed(), net.progress().summary);
    let t1 = Instant::now();
    let dir = net.directory().await?;
    println!(
        "strict directory: {:?} after bootstrap; {dir:?}",
        t1.elapsed()
    );
    print_directory(&*dir);

    let text = fetch_backend(&net, &dir, &backend).await?;
    reupload(&net, &dir, &backend, &text).await?;

    if let Some(key) = env("OF_SMOKE_MAIN_KEY") {
        let (kp, main) = read_key(Path::new(&key))?;
        let kp = onionfront_core::keys::SigningKeys::Identity(std::sync::Arc::new(kp));
        let ipts = backend_intro_points(&*dir, &backend, &text, net.now())?;
        publish_main(&net, &dir, &kp, &main, &ipts).await?;
        if let Some(port) = env("OF_SMOKE_PROBE_PORT") {
            probe(&net, main, port.parse()?).await;
        }
        if let Some(minutes) = env("OF_SMOKE_WATCH_MINUTES") {
            let until = Instant::now() + Duration::from_secs(60 * minutes.parse::<u64>()?);
            watch(&net, &kp, &main, &backend, until).await?;
        }
    }
    if let Some(port) = env("OF_SMOKE_PROBE_PORT") {
        probe(&net, backend, port.parse()?).await;
    }
    println!("total: {:?}", t0.elapsed());
    Ok(())
}

/// Follow new consensuses until `until`: print the directory, re-fetch the backend and
/// re-publish the main descriptor for every publish period at each one.
async fn watch(
    net: &ArtiNetwork,
    kp: &onionfront_core::keys::SigningKeys,
    main: &OnionAddress,
    backend: &OnionAddress,
    until: Instant,
) -> anyhow::Result<()> {
    use futures::StreamExt as _;
    let mut events = net.directory_events();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, events.next()).await.is_err() {
            return Ok(());
        }
        let dir = net.directory().await?;
        println!("--- new consensus at {}: {dir:?}", fmt_time(net.now()));
        print_directory(&*dir);
        match fetch_backend(net, &dir, backend).await {
            Ok(text) => {
                let ipts = backend_intro_points(&*dir, backend, &text, net.now())?;
                publish_main(net, &dir, kp, main, &ipts).await?;
            }
            Err(e) => println!("backend fetch failed: {e}"),
        }
        if let Some(port) = env("OF_SMOKE_PROBE_PORT") {
            probe(net, *main, port.parse()?).await;
        }
    }
}

fn fmt_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{secs} (unix)")
}

fn print_directory(dir: &dyn Directory) {
    println!(
        "valid_after {}; max descriptor size {}",
        fmt_time(dir.valid_after()),
        dir.max_descriptor_size()
    );
    let cur = dir.current_period();
    println!(
        "current period {} (srv start {})",
        cur.time_period,
        fmt_time(cur.srv_start)
    );
    for p in dir.publish_periods() {
        println!(
            "  publish period {} (srv start {})",
            p.time_period,
            fmt_time(p.srv_start)
        );
    }
}

fn blind_id(addr: &OnionAddress, period: &PeriodParams) -> anyhow::Result<HsBlindId> {
    let (key, _) = addr.hs_id_key()?.compute_blinded_key(period.time_period)?;
    Ok(key.id())
}

/// Fetch the backend's current descriptor from its HSDirs, one at a time.
async fn fetch_backend(
    net: &ArtiNetwork,
    dir: &ArtiDirectory,
    backend: &OnionAddress,
) -> anyhow::Result<String> {
    let period = dir.current_period();
    let bid = blind_id(backend, &period)?;
    let hsdirs = dir.hsdirs_download(&bid, period.time_period);
    println!("download HSDirs of {} ({}):", backend.short(), hsdirs.len());
    for h in &hsdirs {
        println!("  {h}");
    }
    for h in hsdirs {
        let t = Instant::now();
        match net.fetch(dir, h, bid).await {
            Ok(text) => {
                let first = text.lines().next().unwrap_or("");
                println!(
                    "fetch from {h}: OK in {:?}, {} bytes, first line {first:?}",
                    t.elapsed(),
                    text.len()
                );
                return Ok(text);
            }
            Err(e) => println!("fetch from {h}: {e} after {:?}", t.elapsed()),
        }
    }
    bail!("no HSDir answered")
}

/// Re-upload the fetched text to the backend's own HSDirs.
async fn reupload(
    net: &ArtiNetwork,
    dir: &ArtiDirectory,
    backend: &OnionAddress,
    text: &str,
) -> anyhow::Result<()> {
    let period = dir.current_period();
    let bid = blind_id(backend, &period)?;
    let hsdirs = dir.hsdirs_upload(&bid, period.time_period);
    println!(
        "re-upload of the backend descriptor to its {} upload HSDirs (ring order):",
        hsdirs.len()
    );
    upload_all(net, dir, hsdirs, bid, Arc::from(text)).await;
    Ok(())
}

async fn upload_all(
    net: &ArtiNetwork,
    dir: &ArtiDirectory,
    hsdirs: Vec<onionfront_publish::HsDirId>,
    bid: HsBlindId,
    text: Arc<str>,
) {
    let tasks = hsdirs.into_iter().map(|h| {
        let text = text.clone();
        async move {
            let t = Instant::now();
            let res = net.upload(dir, h, bid, text).await;
            (h, res, t.elapsed())
        }
    });
    for (h, res, took) in futures::future::join_all(tasks).await {
        match res {
            Ok(()) => println!("  upload to {h}: 200 OK in {took:?}"),
            Err(e) => println!("  upload to {h}: {e} in {took:?}"),
        }
    }
}

/// Validate the fetched backend descriptor and return its intro points.
fn backend_intro_points(
    dir: &dyn Directory,
    backend: &OnionAddress,
    text: &str,
    now: SystemTime,
) -> anyhow::Result<Vec<IntroPointDesc>> {
    let period = dir.current_period();
    let (key, subcred) = backend
        .hs_id_key()?
        .compute_blinded_key(period.time_period)?;
    let desc = HsDesc::parse_decrypt_validate(text, &key.id(), &subcred, None)?;
    let desc = desc.if_valid_at(&now).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "backend descriptor valid: revision {}, {} intro points",
        *desc.revision(),
        desc.intro_points().len()
    );
    Ok(desc.intro_points().to_vec())
}

/// Build a main descriptor for every publish period with onionfront's own builder (padding,
/// size check, revision counter as the daemon does it) and upload it to that period's HSDirs.
async fn publish_main(
    net: &ArtiNetwork,
    dir: &ArtiDirectory,
    kp: &onionfront_core::keys::SigningKeys,
    main: &OnionAddress,
    ipts: &[IntroPointDesc],
) -> anyhow::Result<()> {
    for period in dir.publish_periods() {
        let built = build_main_descriptor(&BuildRequest {
            keys: kp,
            period: &period,
            intro_points: ipts,
            flow_control: None,
            auth_clients: &[],
            lifetime_minutes: DEFAULT_LIFETIME_MINUTES,
            max_size: dir.max_descriptor_size(),
            min_revision: None,
            now: net.now(),
        })?;
        let (text, bid) = (built.text, built.blinded_id);
        let hsdirs = dir.hsdirs_upload(&bid, period.time_period);
        println!(
            "main {} period {}: {} bytes to {} HSDirs:",
            main.short(),
            period.interval_num(),
            text.len(),
            hsdirs.len()
        );
        upload_all(net, dir, hsdirs, bid, Arc::from(text)).await;
    }
    Ok(())
}

async fn probe(net: &ArtiNetwork, addr: OnionAddress, port: u16) {
    let t = Instant::now();
    match net.probe(addr, port).await {
        Ok(()) => println!(
            "probe {}:{port}: connected in {:?}",
            addr.short(),
            t.elapsed()
        ),
        Err(e) => println!("probe {}:{port}: {e} after {:?}", addr.short(), t.elapsed()),
    }
}
