//! Tests of the metrics endpoint: the exposition (names, labels, no backend address unless
//! opted in), and the HTTP handling (paths, methods, slow clients, the connection cap).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use onionfront_publish::StatusReport;
use onionfront_publish::status::{InstanceStatus, ServiceStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const BACKEND: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.onion";

fn report() -> StatusReport {
    StatusReport {
        services: vec![ServiceStatus {
            onion_address: "a.onion".into(),
            state: onionfront_publish::PublishState::Published,
            live_backends: 1,
            instances: vec![
                InstanceStatus {
                    onion_address: BACKEND.into(),
                    name: Some("node \"1\"".into()),
                    health: onionfront_publish::BackendHealth::Live,
                    intro_points_published: 2,
                    ..Default::default()
                },
                InstanceStatus {
                    onion_address: "cccc.onion".into(),
                    health: onionfront_publish::BackendHealth::Stale,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn render(report: &StatusReport, backend_addresses: bool) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Fixed(report.clone(), backend_addresses)));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    out
}

/// A collector over a fixed report.
#[derive(Debug)]
struct Fixed(StatusReport, bool);

impl prometheus_client::collector::Collector for Fixed {
    fn encode(
        &self,
        mut e: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        collector::encode_report(&self.0, self.1, std::time::SystemTime::now(), &mut e)
    }
}

#[test]
fn exposition_names_backends_without_their_address() {
    let text = render(&report(), false);
    assert!(
        text.contains("onionfront_service_published{service=\"a.onion\"} 1"),
        "{text}"
    );
    assert!(
        text.contains(
            "onionfront_backend_up{service=\"a.onion\",backend=\"node \\\"1\\\"\",health=\"live\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "onionfront_backend_up{service=\"a.onion\",backend=\"instances[1]\",health=\"stale\"} 0"
        ),
        "{text}"
    );
    assert!(
        !text.contains("bbbbbbbb") && !text.contains("cccc"),
        "{text}"
    );
    // Prometheus conventions: counters end in _total, units are suffixes.
    assert!(text.contains("# TYPE onionfront_fetches counter"), "{text}");
    assert!(
        text.contains("onionfront_fetches_total{outcome=\"ok\"} 0"),
        "{text}"
    );
    assert!(text.contains("onionfront_publications_total 0"), "{text}");
    assert!(
        text.contains("# TYPE onionfront_bootstrap_ratio gauge"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");

    let text = render(&report(), true);
    assert!(
        text.contains(&format!(
            "onionfront_backend_intro_points_published{{service=\"a.onion\",backend=\"node \\\"1\\\"\",address=\"{BACKEND}\"}} 2"
        )),
        "{text}"
    );
}

#[test]
fn key_bundle_coverage_is_exported_as_a_timestamp() {
    let mut r = report();
    let text = render(&r, false);
    assert!(
        !text.contains("onionfront_key_coverage_end_timestamp_seconds{"),
        "{text}"
    );
    assert!(
        text.contains("onionfront_key_covers_current_period{service=\"a.onion\"} 1"),
        "{text}"
    );
    r.services[0].key_source = onionfront_publish::KeySource::Bundle;
    r.services[0].key_coverage_end = Some("2026-12-10T12:00:00Z".into());
    r.services[0].key_coverage = onionfront_publish::KeyCoverage::NotCovered;
    let text = render(&r, false);
    assert!(
        text.contains("# TYPE onionfront_key_coverage_end_timestamp_seconds gauge"),
        "{text}"
    );
    assert!(
        text.contains(
            "onionfront_key_coverage_end_timestamp_seconds{service=\"a.onion\"} 1796904000"
        ),
        "{text}"
    );
    assert!(
        text.contains("onionfront_key_covers_current_period{service=\"a.onion\"} 0"),
        "{text}"
    );
}

/// One request on a fresh connection; the whole answer (the server closes).
async fn request(addr: SocketAddr, raw: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8(out).unwrap()
}

async fn start(limits: Limits) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let source = StatusSource::default();
    serve_with(
        "127.0.0.1:0".parse().unwrap(),
        registry(source, false),
        limits,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn http_paths_and_methods() {
    let (addr, task) = start(Limits::default()).await;
    let get = request(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
    assert!(
        get.to_ascii_lowercase()
            .contains("content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
        "{get}"
    );
    assert!(get.contains("onionfront_bootstrap_ratio 0"), "{get}");
    assert!(get.ends_with("# EOF\n"), "{get}");
    // HTTP/1.0 clients are answered too.
    let old = request(addr, "GET / HTTP/1.0\r\n\r\n").await;
    assert!(old.starts_with("HTTP/1.0 200 OK\r\n"), "{old}");
    let head = request(addr, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(!head.contains("# EOF"), "{head}");
    let post = request(
        addr,
        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert!(
        post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{post}"
    );
    assert!(
        post.to_ascii_lowercase().contains("allow: get, head"),
        "{post}"
    );
    let other = request(addr, "GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(other.starts_with("HTTP/1.1 404 Not Found\r\n"), "{other}");
    let junk = request(addr, "\x16\x03\x01 not http\r\n\r\n").await;
    assert!(junk.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{junk}");
    // An oversized request is refused, not buffered.
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(huge.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.is_empty() || out.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{out}"
    );
    task.abort();
}

/// A client that connects and says nothing is dropped after the timeout; while it holds the only
/// slot, the next client waits, and is served once the slot frees.
#[tokio::test]
async fn slow_clients_are_dropped_and_connections_capped() {
    let limits = Limits {
        max_clients: 1,
        timeout: Duration::from_millis(700),
    };
    let (addr, task) = start(limits).await;
    let t = Instant::now();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    // Let the server take the idle connection first.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = request(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let waited = t.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        waited >= Duration::from_millis(600),
        "served at once: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // The idle client was closed by the server (end of stream or reset, within the timeout).
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the idle client is still connected");
    task.abort();
}
