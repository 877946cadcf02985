//! Optional Prometheus metrics on a loopback address (`metrics.listen`), rendered from the same
//! status report as the status socket. A minimal HTTP/1.0 responder: `GET /metrics` only.

use std::fmt::Write as _;
use std::net::SocketAddr;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::{debug, info};

use onionfront_publish::StatusReport;

use super::status_source::StatusSource;

/// Serve metrics on `addr` until the returned task is aborted.
pub async fn serve(addr: SocketAddr, source: StatusSource) -> Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for metrics on {addr} (metrics.listen)"))?;
    info!(%addr, "metrics endpoint listening on /metrics");
    Ok(tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let source = source.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = match tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    stream.read(&mut buf),
                )
                .await
                {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
                let request = String::from_utf8_lossy(&buf[..n]);
                let response = if request.starts_with("GET /metrics")
                    || request.starts_with("GET / ")
                {
                    let body = render(&source.snapshot());
                    format!(
                        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
                };
                if let Err(e) = stream.write_all(response.as_bytes()).await {
                    debug!(error = %e, "metrics client went away");
                }
            });
        }
    }))
}

/// Prometheus text exposition of a status report.
pub fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    let c = &report.counters;
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {v}");
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {v}");
            }
        }
    };
    metric(
        "onionfront_fetches_total",
        "counter",
        "Backend descriptor fetches by outcome.",
        &[
            ("outcome=\"ok\"".into(), c.fetch_ok as f64),
            ("outcome=\"failed\"".into(), c.fetch_failed as f64),
        ],
    );
    metric(
        "onionfront_uploads_total",
        "counter",
        "Main descriptor upload attempts by outcome.",
        &[
            ("outcome=\"accepted\"".into(), c.upload_accepted as f64),
            ("outcome=\"failed\"".into(), c.upload_failed as f64),
        ],
    );
    let per_hsdir: Vec<(String, f64)> = c
        .hsdir_failures
        .iter()
        .map(|(h, n)| (format!("hsdir=\"{}\"", escape(h)), *n as f64))
        .collect();
    metric(
        "onionfront_hsdir_upload_failures_total",
        "counter",
        "Failed upload attempts per HSDir.",
        &per_hsdir,
    );
    metric(
        "onionfront_publications_total",
        "counter",
        "Main descriptor publications started.",
        &[(String::new(), c.publications as f64)],
    );
    let bootstrap_pct = report
        .daemon
        .as_ref()
        .and_then(|d| d.bootstrap.split('%').next())
        .and_then(|p| p.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    metric(
        "onionfront_bootstrap_percent",
        "gauge",
        "Bootstrap progress of the embedded Arti client.",
        &[(String::new(), bootstrap_pct)],
    );
    let mut backend_up = Vec::new();
    let mut backend_ipts = Vec::new();
    let mut published = Vec::new();
    let mut live = Vec::new();
    let mut period_ipts = Vec::new();
    let mut accepted = Vec::new();
    let mut desc_age = Vec::new();
    let now = std::time::SystemTime::now();
    for s in &report.services {
        let svc = escape(&s.onion_address);
        published.push((
            format!("service=\"{svc}\""),
            f64::from(u8::from(
                s.state == onionfront_publish::PublishState::Published,
            )),
        ));
        live.push((format!("service=\"{svc}\""), s.live_backends as f64));
        for i in &s.instances {
            let labels = format!(
                "service=\"{svc}\",backend=\"{}\",health=\"{}\"",
                escape(&i.onion_address),
                escape(i.health.as_str())
            );
            backend_up.push((
                labels,
                f64::from(u8::from(
                    i.health == onionfront_publish::BackendHealth::Live,
                )),
            ));
            backend_ipts.push((
                format!("service=\"{svc}\",backend=\"{}\"", escape(&i.onion_address)),
                i.intro_points_published as f64,
            ));
        }
        for p in &s.periods {
            let labels = format!("service=\"{svc}\",period=\"{}\"", p.time_period);
            period_ipts.push((labels.clone(), p.intro_points as f64));
            accepted.push((format!("{labels},state=\"accepted\""), p.accepted as f64));
            accepted.push((format!("{labels},state=\"total\""), p.total as f64));
            if let Some(built) = p
                .last_built
                .as_deref()
                .and_then(|t| humantime::parse_rfc3339(t).ok())
            {
                desc_age.push((
                    labels,
                    now.duration_since(built).map_or(0.0, |d| d.as_secs_f64()),
                ));
            }
        }
    }
    metric(
        "onionfront_service_published",
        "gauge",
        "1 when every period of the service is accepted by some HSDir.",
        &published,
    );
    metric(
        "onionfront_service_live_backends",
        "gauge",
        "Backends whose intro points may be published.",
        &live,
    );
    metric(
        "onionfront_backend_up",
        "gauge",
        "1 when the backend is live (label health gives the state).",
        &backend_up,
    );
    metric(
        "onionfront_backend_intro_points_published",
        "gauge",
        "Intro points of the backend in the published descriptor.",
        &backend_ipts,
    );
    metric(
        "onionfront_descriptor_intro_points",
        "gauge",
        "Intro points in the published descriptor(s) of a period.",
        &period_ipts,
    );
    metric(
        "onionfront_descriptor_hsdirs",
        "gauge",
        "Responsible HSDirs, and how many accepted the latest descriptor.",
        &accepted,
    );
    metric(
        "onionfront_descriptor_age_seconds",
        "gauge",
        "Seconds since the period's descriptor was last built.",
        &desc_age,
    );
    out
}

/// Escape a label value.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use onionfront_publish::status::{InstanceStatus, ServiceStatus};

    #[test]
    fn renders_prometheus_text() {
        let report = StatusReport {
            services: vec![ServiceStatus {
                onion_address: "a.onion".into(),
                state: onionfront_publish::PublishState::Published,
                live_backends: 1,
                instances: vec![InstanceStatus {
                    onion_address: "b.onion".into(),
                    health: onionfront_publish::BackendHealth::Live,
                    intro_points_published: 2,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let text = render(&report);
        assert!(text.contains("onionfront_service_published{service=\"a.onion\"} 1"));
        assert!(text.contains(
            "onionfront_backend_up{service=\"a.onion\",backend=\"b.onion\",health=\"live\"} 1"
        ));
        assert!(text.contains("# TYPE onionfront_fetches_total counter"));
    }
}
