//! The rules of [`super::assess`], one state at a time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use onionfront_publish::StatusReport;
use onionfront_publish::status::{
    DaemonStatus, HsDirStatus, InstanceStatus, PeriodStatus, ServiceStatus,
};

use super::*;

const ADDR: &str = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz234567.onion";
const GRACE: Duration = Duration::from_secs(300);

/// A status enum from the word the status document uses.
fn word<T: serde::de::DeserializeOwned>(w: &str) -> T {
    serde_json::from_value(serde_json::Value::String(w.to_owned())).expect("a status word")
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn daemon() -> DaemonStatus {
    DaemonStatus {
        version: "0.1.0".into(),
        started: Some(onionfront_publish::status::rfc3339(at(0))),
        bootstrap: "100%: done".into(),
        ..Default::default()
    }
}

fn backend(name: &str, health: &str) -> InstanceStatus {
    InstanceStatus {
        onion_address: ADDR.into(),
        name: Some(name.into()),
        health: word(health),
        ..Default::default()
    }
}

fn period(states: &[&str], built: bool) -> PeriodStatus {
    PeriodStatus {
        last_built: built.then(|| "2026-12-03T12:00:00Z".to_string()),
        accepted: states.iter().filter(|s| **s == "accepted").count(),
        total: states.len(),
        hsdirs: states
            .iter()
            .map(|s| HsDirStatus {
                hsdir: "$AAAA".into(),
                state: word(s),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn service(state: &str, backends: &[(&str, &str)], periods: Vec<PeriodStatus>) -> ServiceStatus {
    let instances: Vec<InstanceStatus> = backends.iter().map(|(n, h)| backend(n, h)).collect();
    ServiceStatus {
        onion_address: ADDR.into(),
        state: word(state),
        message: format!("message for {state}"),
        live_backends: instances
            .iter()
            .filter(|i| i.health == BackendHealth::Live)
            .count(),
        instances,
        periods,
        ..Default::default()
    }
}

fn report(services: Vec<ServiceStatus>) -> StatusReport {
    StatusReport {
        services,
        daemon: Some(daemon()),
        ..Default::default()
    }
}

fn healthy() -> ServiceStatus {
    let accepted = ["accepted"; 4];
    service(
        "published",
        &[("b1", "live"), ("b2", "live")],
        vec![period(&accepted, true), period(&accepted, true)],
    )
}

#[test]
fn all_published_and_live_is_ok_with_perfdata() {
    let v = assess(&report(vec![healthy()]), at(3600), GRACE);
    assert_eq!(v.severity, Severity::Ok);
    assert_eq!(
        v.nagios_line(),
        "ONIONFRONT OK - services published 1/1, backends live 2/2, hsdirs accepted 8/8, \
         hsdirs failing 0/8 | services_published=1;;;0;1 backends_live=2;;;0;2 \
         hsdirs_accepted=8;;;0;8 hsdirs_failing=0;;;0;8"
    );
    assert_eq!(v.severity.code(), 0);
}

#[test]
fn some_backends_down_is_warning() {
    let mut s = healthy();
    s.instances[1].health = BackendHealth::Down;
    s.live_backends = 1;
    let v = assess(&report(vec![s]), at(3600), GRACE);
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary
            .starts_with("abcdefgh….onion: 1/2 backends live (b2 down)"),
        "{}",
        v.summary
    );
    assert_eq!(v.severity.code(), 1);
}

#[test]
fn failing_hsdir_uploads_are_a_warning_and_pending_ones_are_not() {
    let s = service(
        "published",
        &[("b1", "live")],
        vec![period(&["accepted", "retrying", "failed", "pending"], true)],
    );
    let v = assess(&report(vec![s]), at(3600), GRACE);
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary.contains("2/4 HSDir uploads failing"),
        "{}",
        v.summary
    );
    assert!(v.nagios_line().ends_with("hsdirs_failing=2;;;0;4"));
    let s = service(
        "published",
        &[("b1", "live")],
        vec![period(&["accepted", "pending"], true)],
    );
    assert_eq!(
        assess(&report(vec![s]), at(3600), GRACE).severity,
        Severity::Ok
    );
}

#[test]
fn no_live_backend_after_publishing_is_critical_even_when_starting() {
    let s = service(
        "no-live-backend",
        &[("b1", "down")],
        vec![period(&["accepted"], true)],
    );
    let v = assess(&report(vec![s]), at(10), GRACE);
    assert_eq!(v.severity, Severity::Critical);
    assert!(
        v.summary
            .starts_with("abcdefgh….onion: message for no-live-backend"),
        "{}",
        v.summary
    );
}

#[test]
fn not_yet_published_is_warning_while_starting_then_critical() {
    for state in ["not-published", "publishing", "no-live-backend"] {
        let s = service(
            state,
            &[("b1", "unknown")],
            vec![period(&["pending"], false)],
        );
        let r = report(vec![s]);
        assert_eq!(
            assess(&r, at(60), GRACE).severity,
            Severity::Warning,
            "{state}"
        );
        let v = assess(&r, at(600), GRACE);
        assert_eq!(v.severity, Severity::Critical, "{state}");
        assert!(
            v.summary.contains("not published") && v.summary.contains("running for 10m"),
            "{}",
            v.summary
        );
    }
}

#[test]
fn bootstrapping_is_warning_then_critical() {
    let mut r = report(Vec::new());
    r.daemon.as_mut().unwrap().bootstrap = "40%: loading a consensus".into();
    let v = assess(&r, at(30), GRACE);
    assert_eq!(v.severity, Severity::Warning);
    assert_eq!(
        v.nagios_line(),
        "ONIONFRONT WARNING - starting, no service running yet (bootstrap: 40%: loading a \
         consensus); services published 0/0, backends live 0/0, hsdirs accepted 0/0, hsdirs \
         failing 0/0 | services_published=0;;;0;0 backends_live=0;;;0;0 hsdirs_accepted=0;;;0;0 \
         hsdirs_failing=0;;;0;0"
    );
    assert_eq!(assess(&r, at(301), GRACE).severity, Severity::Critical);
    // Without a start time there is no grace.
    r.daemon.as_mut().unwrap().started = None;
    assert_eq!(assess(&r, at(30), GRACE).severity, Severity::Critical);
}

/// A state this version does not know (a newer daemon) does not parse as a status document,
/// which `query` reports as UNKNOWN (exit 3; tests/status.rs covers an answer that does not parse).
#[test]
fn an_unknown_state_is_not_a_status_document() {
    let mut doc = serde_json::to_value(report(vec![healthy()])).unwrap();
    doc["services"][0]["state"] = serde_json::Value::String("frobnicated".into());
    assert!(serde_json::from_value::<StatusReport>(doc).is_err());
}

#[test]
fn worst_problem_comes_first_and_pipes_are_kept_out_of_the_text() {
    let mut warn = healthy();
    warn.instances[0].health = BackendHealth::Stale;
    warn.live_backends = 1;
    let crit = service(
        "no-live-backend",
        &[("b1", "down")],
        vec![period(&["accepted"], true)],
    );
    let mut v = assess(&report(vec![warn, crit]), at(3600), GRACE);
    assert_eq!(v.severity, Severity::Critical);
    assert!(
        v.summary.starts_with("abcdefgh….onion: message"),
        "{}",
        v.summary
    );
    v.summary = "a | b".into();
    assert!(v.nagios_line().starts_with("ONIONFRONT CRITICAL - a / b |"));
}

#[test]
fn key_bundle_coverage_warns_when_ending_and_is_critical_when_over() {
    let mut s = healthy();
    s.key_source = word("bundle");
    s.key_coverage_end = Some("2026-12-10T12:00:00Z".into());
    s.key_coverage = word("ending");
    let v = assess(&report(vec![s.clone()]), at(3600), GRACE);
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary
            .contains("key bundle ends 2026-12-10T12:00:00Z: provision a new one"),
        "{}",
        v.summary
    );
    s.key_coverage = word("not-covered");
    let v = assess(&report(vec![s.clone()]), at(3600), GRACE);
    assert_eq!(v.severity, Severity::Critical);
    assert!(
        v.summary.contains("does not cover the current time period"),
        "{}",
        v.summary
    );
    s.key_coverage = word("covered");
    assert_eq!(
        assess(&report(vec![s]), at(3600), GRACE).severity,
        Severity::Ok
    );
}
