//! An Arti client for the end-to-end tests (issue #14: Tor Browser is moving to Arti): bootstrap
//! an embedded Arti client on the private network an onionfront config names, open COUNT
//! connections to port 80 of ADDRESS, each in its own isolation group (a fresh circuit, as
//! separate browser tabs on separate sites get), send an HTTP GET on each and print, per
//! connection, `ok <body>` or `err <error>`, then `summary ok=N err=M`.
//!
//! `arti_client_get CONFIG.yaml DIR ADDRESS COUNT`: DIR holds this client's own Arti state and
//! cache (never the daemon's). One client process makes all the connections, so what Arti learns
//! from one (the descriptor, intro point experience) is used by the next, as in a browser.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use arti_client::{StreamPrefs, TorClient};
use futures::{AsyncReadExt as _, AsyncWriteExt as _};
use onionfront_core::config::ArtiConfig;

/// Time allowed for one connection and its answer.
const PER_CONNECTION: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, dir, address, count] = &args[..] else {
        bail!("usage: arti_client_get CONFIG.yaml DIR ADDRESS COUNT");
    };
    let count: usize = count.parse().context("COUNT")?;
    let config =
        onionfront_core::config::load(Path::new(config)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let arti = ArtiConfig {
        state_dir: Path::new(dir).join("state"),
        cache_dir: Path::new(dir).join("cache"),
        permissive_file_permissions: true,
        ..ArtiConfig::default()
    };
    let client_config = onionfront_arti::client_config(&arti, config.tor_network.as_ref())?;
    let client = TorClient::create_bootstrapped(client_config)
        .await
        .context("bootstrapping Arti")?;
    let (mut ok, mut err) = (0, 0);
    for _ in 0..count {
        let mut prefs = StreamPrefs::new();
        prefs.new_isolation_group();
        match tokio::time::timeout(PER_CONNECTION, get(&client, address, &prefs)).await {
            Ok(Ok(body)) => {
                ok += 1;
                println!("ok {body}");
            }
            Ok(Err(e)) => {
                err += 1;
                println!("err {e:#}");
            }
            Err(_) => {
                err += 1;
                println!("err timed out after {PER_CONNECTION:?}");
            }
        }
    }
    println!("summary ok={ok} err={err}");
    Ok(())
}

/// One GET of `/` on port 80 of `address`; the body, trimmed.
async fn get<R: tor_rtcompat::Runtime>(
    client: &TorClient<R>,
    address: &str,
    prefs: &StreamPrefs,
) -> anyhow::Result<String> {
    let mut stream = client
        .connect_with_prefs((address, 80), prefs)
        .await
        .context("connect")?;
    stream
        .write_all(format!("GET / HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or(&text);
    Ok(body.trim().to_owned())
}
