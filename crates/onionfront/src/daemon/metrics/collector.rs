//! The metric families, read from the status report at each scrape (a `prometheus-client`
//! [`Collector`]): nothing is stored, so a backend removed on reload disappears from the next
//! scrape at once.
//!
//! Naming follows Prometheus' conventions: `onionfront_` prefix, counters end in `_total`
//! (added by the encoder), units in base units with their suffix (`_seconds`), ratios 0..1
//! (`_ratio`).
//!
//! Backends are labelled by their configured `name`, or `instances[N]` (their position in the
//! service), never by their onion address: any local user can read this endpoint, and backend
//! addresses link the backends to the service. `metrics.backend-addresses: true` adds an
//! `address` label. The public service's own address is public and labels `service`.
//!
//! `prometheus-client` writes label values as they are; [`escape`] escapes them (a backend name
//! is free text).

use std::fmt;
use std::time::SystemTime;

use onionfront_core::config::backend_label;
use onionfront_publish::StatusReport;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use super::super::status_source::StatusSource;

/// A label set: names and (escaped) values.
type Labels = Vec<(&'static str, String)>;

/// Reads the status report at each scrape.
pub struct StatusCollector {
    /// Where the report comes from.
    pub source: StatusSource,
    /// The operator's opt-in to an `address` label on backend series.
    pub backend_addresses: bool,
}

impl fmt::Debug for StatusCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusCollector")
            .field("backend_addresses", &self.backend_addresses)
            .finish_non_exhaustive()
    }
}

impl Collector for StatusCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let report = self.source.snapshot();
        encode_report(
            &report,
            self.backend_addresses,
            SystemTime::now(),
            &mut encoder,
        )
    }
}

/// Escape a label value (OpenMetrics: backslash, double quote, newline).
pub fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn counter(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: &[(Labels, u64)],
) -> Result<(), fmt::Error> {
    let mut m = e.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in samples {
        if labels.is_empty() {
            m.encode_counter::<NoLabelSet, _, u64>(v, None)?;
        } else {
            m.encode_family(labels)?
                .encode_counter::<NoLabelSet, _, u64>(v, None)?;
        }
    }
    Ok(())
}

fn gauge(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: &[(Labels, f64)],
) -> Result<(), fmt::Error> {
    let mut m = e.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, v) in samples {
        if labels.is_empty() {
            m.encode_gauge(v)?;
        } else {
            m.encode_family(labels)?.encode_gauge(v)?;
        }
    }
    Ok(())
}

/// Every family, from `report` at time `now`.
pub fn encode_report(
    report: &StatusReport,
    backend_addresses: bool,
    now: SystemTime,
    e: &mut DescriptorEncoder,
) -> Result<(), fmt::Error> {
    let c = &report.counters;
    let outcome = |o: &str| vec![("outcome", o.to_string())];
    counter(
        e,
        "onionfront_fetches",
        "Backend descriptor fetches by outcome.",
        &[
            (outcome("ok"), c.fetch_ok),
            (outcome("failed"), c.fetch_failed),
        ],
    )?;
    counter(
        e,
        "onionfront_uploads",
        "Main descriptor upload attempts by outcome.",
        &[
            (outcome("accepted"), c.upload_accepted),
            (outcome("failed"), c.upload_failed),
        ],
    )?;
    let per_hsdir: Vec<(Labels, u64)> = c
        .hsdir_failures
        .iter()
        .map(|(h, n)| (vec![("hsdir", escape(h))], *n))
        .collect();
    counter(
        e,
        "onionfront_hsdir_upload_failures",
        "Failed upload attempts per HSDir.",
        &per_hsdir,
    )?;
    counter(
        e,
        "onionfront_publications",
        "Main descriptor publications started.",
        &[(Vec::new(), c.publications)],
    )?;
    let bootstrap = report
        .daemon
        .as_ref()
        .and_then(|d| d.bootstrap.split('%').next())
        .and_then(|p| p.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    gauge(
        e,
        "onionfront_bootstrap_ratio",
        "Bootstrap progress of the embedded Arti client, 0 to 1.",
        None,
        &[(Vec::new(), (bootstrap / 100.0).clamp(0.0, 1.0))],
    )?;

    let mut published = Vec::new();
    let mut live = Vec::new();
    let mut backend_up = Vec::new();
    let mut backend_ipts = Vec::new();
    let mut period_ipts = Vec::new();
    let mut hsdirs = Vec::new();
    let mut age = Vec::new();
    let mut coverage_end = Vec::new();
    let mut coverage_ok = Vec::new();
    for s in &report.services {
        let svc = escape(&s.onion_address);
        let service = || vec![("service", svc.clone())];
        if let Some(end) = s
            .key_coverage_end
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339(t).ok())
        {
            let secs = end
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            coverage_end.push((service(), secs));
        }
        coverage_ok.push((
            service(),
            f64::from(u8::from(
                s.key_coverage != onionfront_publish::KeyCoverage::NotCovered,
            )),
        ));
        published.push((
            service(),
            f64::from(u8::from(
                s.state == onionfront_publish::PublishState::Published,
            )),
        ));
        live.push((service(), s.live_backends as f64));
        for (n, i) in s.instances.iter().enumerate() {
            let mut labels = service();
            labels.push(("backend", escape(&backend_label(i.name.as_deref(), n))));
            if backend_addresses {
                labels.push(("address", escape(&i.onion_address)));
            }
            backend_ipts.push((labels.clone(), i.intro_points_published as f64));
            labels.push(("health", escape(i.health.as_str())));
            backend_up.push((
                labels,
                f64::from(u8::from(
                    i.health == onionfront_publish::BackendHealth::Live,
                )),
            ));
        }
        for p in &s.periods {
            let mut labels = service();
            labels.push(("period", p.time_period.to_string()));
            period_ipts.push((labels.clone(), p.intro_points as f64));
            for (state, v) in [("accepted", p.accepted), ("total", p.total)] {
                let mut l = labels.clone();
                l.push(("state", state.to_string()));
                hsdirs.push((l, v as f64));
            }
            if let Some(built) = p
                .last_built
                .as_deref()
                .and_then(|t| humantime::parse_rfc3339(t).ok())
            {
                let secs = now.duration_since(built).map_or(0.0, |d| d.as_secs_f64());
                age.push((labels, secs));
            }
        }
    }
    gauge(
        e,
        "onionfront_service_published",
        "1 when every period of the service is accepted by some HSDir.",
        None,
        &published,
    )?;
    gauge(
        e,
        "onionfront_service_live_backends",
        "Backends whose intro points may be published.",
        None,
        &live,
    )?;
    gauge(
        e,
        "onionfront_backend_up",
        "1 when the backend is live (label health gives the state).",
        None,
        &backend_up,
    )?;
    gauge(
        e,
        "onionfront_backend_intro_points_published",
        "Intro points of the backend in the published descriptor.",
        None,
        &backend_ipts,
    )?;
    gauge(
        e,
        "onionfront_descriptor_intro_points",
        "Intro points in the published descriptor(s) of a period.",
        None,
        &period_ipts,
    )?;
    gauge(
        e,
        "onionfront_descriptor_hsdirs",
        "Responsible HSDirs, and how many accepted the latest descriptor.",
        None,
        &hsdirs,
    )?;
    gauge(
        e,
        "onionfront_descriptor_age",
        "Time since the period's descriptor was last built.",
        Some(&Unit::Seconds),
        &age,
    )?;
    gauge(
        e,
        "onionfront_key_coverage_end_timestamp",
        "With a key bundle (offline keys): Unix time when its last time period ends.",
        Some(&Unit::Seconds),
        &coverage_end,
    )?;
    gauge(
        e,
        "onionfront_key_covers_current_period",
        "1 when the service holds a signing key for the current time period.",
        None,
        &coverage_ok,
    )
}
