//! Optional Prometheus metrics on a loopback address (`metrics.listen`), read from the same
//! status report as the status socket.
//!
//! The exposition comes from a maintained library rather than by hand: the metric families are
//! a `prometheus-client` collector ([`collector`]; the Prometheus project's own Rust client,
//! which writes the OpenMetrics text format). Requests are parsed by `httparse` (hyper's
//! parser). A full HTTP server crate (hyper) was tried and left out: its `smallvec` features
//! would rebuild the whole Arti tree, for a server that answers one kind of request.
//!
//! HTTP handling: one request per connection (`Connection: close`, how Prometheus scrapes a
//! target of this size); `/metrics` (and `/`) answer `GET` and `HEAD`; other paths are 404,
//! other methods 405 (with `Allow`); a request that does not parse is 400, and one whose head
//! exceeds 16 KiB is 431. HTTP/1.0 and 1.1 clients get their own version back.
//!
//! Limits (see [`super::limits`]): at most 16 connections at once, each closed within 5 s (the
//! request must arrive within that time too), and a failing `accept` backs off instead of
//! spinning.

pub mod collector;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use onionfront_core::config::MetricsConfig;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::{debug, info};

use super::limits::{AcceptBackoff, Limits, Slots};
use super::status_source::StatusSource;
use collector::StatusCollector;

/// The OpenMetrics text format's content type.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The largest request head accepted.
const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// The most request headers parsed.
const MAX_HEADERS: usize = 32;

/// Serve metrics as `config` says until the returned task is aborted.
pub async fn serve(
    config: &MetricsConfig,
    source: StatusSource,
) -> Result<tokio::task::JoinHandle<()>> {
    let (_, task) = serve_with(
        config.listen,
        registry(source, config.backend_addresses),
        Limits::default(),
    )
    .await?;
    Ok(task)
}

/// The registry of onionfront's metrics, read from `source` at each scrape.
pub fn registry(source: StatusSource, backend_addresses: bool) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(StatusCollector {
        source,
        backend_addresses,
    }));
    registry
}

/// Serve `registry` on `addr` with `limits`; the address actually bound (for port 0) and the task.
pub async fn serve_with(
    addr: SocketAddr,
    registry: Registry,
    limits: Limits,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for metrics on {addr} (metrics.listen)"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    info!(addr = %bound, "metrics endpoint listening on /metrics");
    let registry = Arc::new(registry);
    Ok((bound, tokio::spawn(accept_loop(listener, registry, limits))))
}

async fn accept_loop(listener: TcpListener, registry: Arc<Registry>, limits: Limits) {
    let slots = Slots::new(limits.max_clients);
    let mut backoff = AcceptBackoff::default();
    loop {
        let permit = slots.acquire().await;
        match listener.accept().await {
            Ok((stream, _)) => {
                backoff.reset();
                let registry = Arc::clone(&registry);
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(limits.timeout, connection(stream, &registry)).await
                    {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => debug!(error = %e, "metrics client went away"),
                        Err(_) => debug!("metrics client too slow; dropped"),
                    }
                });
            }
            Err(e) => backoff.failed("metrics endpoint", &e).await,
        }
    }
}

/// Read one request, answer it, close.
async fn connection(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_REQUEST_BYTES];
    let mut len = 0;
    let response = loop {
        if len == buf.len() {
            break Response::plain(1, 431, "the request head is too large\n");
        }
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            // Closed before a whole request: nothing to answer.
            return Ok(());
        }
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(_)) => {
                break respond(
                    req.method.unwrap_or_default(),
                    req.path.unwrap_or_default(),
                    req.version.unwrap_or(1),
                    registry,
                );
            }
            Ok(httparse::Status::Partial) => continue,
            Err(_) => break Response::plain(1, 400, "bad request\n"),
        }
    };
    stream.write_all(&response.to_bytes()).await?;
    stream.shutdown().await
}

/// An HTTP response, whole.
struct Response {
    /// The minor HTTP version (1.0 or 1.1).
    version: u8,
    status: u16,
    content_type: &'static str,
    extra_headers: &'static str,
    body: Vec<u8>,
    /// For HEAD: the headers of the GET answer, without its body.
    head_only: bool,
}

impl Response {
    fn plain(version: u8, status: u16, text: &'static str) -> Response {
        Response {
            version,
            status,
            content_type: "text/plain; charset=utf-8",
            extra_headers: "",
            body: text.as_bytes().to_vec(),
            head_only: false,
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            _ => "Internal Server Error",
        };
        let mut out = format!(
            "HTTP/1.{} {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
            self.version,
            self.status,
            self.content_type,
            self.body.len(),
            self.extra_headers,
        )
        .into_bytes();
        if !self.head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

/// The answer to one parsed request.
fn respond(method: &str, target: &str, version: u8, registry: &Registry) -> Response {
    let version = version.min(1);
    let path = target.split('?').next().unwrap_or_default();
    if path != "/metrics" && path != "/" {
        return Response::plain(version, 404, "not found: the metrics are on /metrics\n");
    }
    if method != "GET" && method != "HEAD" {
        let mut r = Response::plain(version, 405, "only GET and HEAD\n");
        r.extra_headers = "Allow: GET, HEAD\r\n";
        return r;
    }
    let mut body = String::new();
    if prometheus_client::encoding::text::encode(&mut body, registry).is_err() {
        return Response::plain(version, 500, "cannot encode the metrics\n");
    }
    Response {
        version,
        status: 200,
        content_type: CONTENT_TYPE_OPENMETRICS,
        extra_headers: "",
        body: body.into_bytes(),
        head_only: method == "HEAD",
    }
}

#[cfg(test)]
mod tests;
