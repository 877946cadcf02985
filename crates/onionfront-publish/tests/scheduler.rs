//! Scheduler tests on the fake network with paused time: every republish trigger, the retry
//! policy, liveness (health check and stale revision counters) and the "all backends down" rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use onionfront_core::OnionAddress;
use onionfront_core::config::{DistinctDescriptors, HealthCheckConfig, PublishConfig};
use onionfront_core::descriptor::validate_backend_descriptor;
use onionfront_core::testing;
use onionfront_publish::fake::{Behaviour, FakeNetwork, UploadOutcome};
use onionfront_publish::{
    BackendHealth, BackendSpec, Directory, Network, PublishState, SchedulerHandle, SchedulerSpec,
    ServiceSpec, StatusReport, UploadState,
};
use tokio::sync::watch;

fn service(seed: u64, backends: &[OnionAddress]) -> ServiceSpec {
    let identity = testing::fake_identity(seed);
    ServiceSpec {
        address: testing::address_of(&identity),
        keys: onionfront_core::keys::SigningKeys::Identity(Arc::new(identity)),
        backends: backends
            .iter()
            .enumerate()
            .map(|(i, a)| BackendSpec::new(*a, Some(format!("b{i}")), i))
            .collect(),
        health_check: None,
        auth_clients: vec![],
        intro_points_per_instance: 2,
        distinct_descriptors: DistinctDescriptors::Auto,
    }
}

fn publish_config() -> PublishConfig {
    PublishConfig {
        fetch_interval: Duration::from_secs(120),
        hsdir_timeout: Duration::from_secs(30),
        ..PublishConfig::default()
    }
}

/// A fake network of `relays` HSDirs with time periods of `period_minutes`, and backends seeded
/// `1..=backends` with `intro_points` intro points each.
fn network(
    relays: u64,
    period_minutes: u32,
    backends: u64,
    intro_points: u64,
) -> (Arc<FakeNetwork>, Vec<OnionAddress>) {
    let net = FakeNetwork::new(relays, period_minutes);
    let addrs = (1..=backends)
        .map(|s| net.add_backend(s, intro_points))
        .collect();
    (net, addrs)
}

/// Start the scheduler on `net`; returns its handle and status feed.
fn start(
    net: &Arc<FakeNetwork>,
    publish: PublishConfig,
    services: Vec<ServiceSpec>,
) -> (SchedulerHandle, watch::Receiver<StatusReport>) {
    let handle = onionfront_publish::spawn(Arc::clone(net), SchedulerSpec { publish, services });
    let rx = handle.status();
    (handle, rx)
}

/// A health check on port 80 every 30 s, 10 s per probe, down after `failures` failures.
fn health_check(failures: u32) -> HealthCheckConfig {
    HealthCheckConfig {
        port: 80,
        interval: Duration::from_secs(30),
        failures,
        timeout: Duration::from_secs(10),
    }
}

/// Let the scheduler run for `d` of (paused, auto-advancing) time.
async fn run_for(d: Duration) {
    tokio::time::sleep(d).await;
}

/// Wait (in fake time) until `f(status)` holds, up to `limit`.
async fn wait_status(
    rx: &mut watch::Receiver<StatusReport>,
    limit: Duration,
    f: impl Fn(&StatusReport) -> bool,
) -> StatusReport {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        {
            let s = rx.borrow_and_update();
            if f(&s) {
                return s.clone();
            }
        }
        if tokio::time::timeout_at(deadline, rx.changed())
            .await
            .is_err()
        {
            let s = rx.borrow().clone();
            panic!(
                "condition not met within {limit:?}; status: {}",
                serde_json::to_string_pretty(&s).unwrap()
            );
        }
    }
}

fn fully_published(s: &StatusReport) -> bool {
    !s.services.is_empty()
        && s.services.iter().all(|svc| {
            svc.periods.len() == 2
                && svc
                    .periods
                    .iter()
                    .all(|p| p.total > 0 && p.accepted == p.total)
        })
}

/// Wait (in fake time) for every service's first full publication: both periods accepted by
/// every responsible HSDir, within 2 minutes.
async fn published(rx: &mut watch::Receiver<StatusReport>) -> StatusReport {
    wait_status(rx, Duration::from_secs(120), fully_published).await
}

/// Decode the main descriptor stored on every responsible HSDir for each period; return the
/// intro point keys per period.
fn published_intro_keys(net: &FakeNetwork, svc: &ServiceSpec) -> Vec<Vec<[u8; 32]>> {
    let dir = net.snapshot();
    let mut out = vec![];
    for period in dir.publish_periods() {
        let blind = onionfront_core::main_descriptor::blinded_id(&svc.keys, &period).unwrap();
        let mut keys_here: Option<Vec<[u8; 32]>> = None;
        for h in dir.hsdirs_upload(&blind, period.time_period) {
            let (text, _) = net
                .stored(h, &blind)
                .expect("descriptor stored on every responsible HSDir");
            let desc = validate_backend_descriptor(&text, &svc.address, &period, net.now())
                .expect("main descriptor validates like a client would");
            let mut keys: Vec<[u8; 32]> = desc
                .intro_points
                .iter()
                .map(|ip| *ip.ipt_ntor_key().as_bytes())
                .collect();
            keys.sort();
            if let Some(prev) = &keys_here {
                assert_eq!(prev, &keys, "same descriptor content on every HSDir");
            }
            keys_here = Some(keys);
        }
        out.push(keys_here.unwrap());
    }
    out
}

fn backend_keys(seed: u64, n: u64) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| {
            *testing::fake_intro_point(seed * 1000 + i)
                .ipt_ntor_key()
                .as_bytes()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn publishes_both_periods_to_every_hsdir_with_two_intro_points_per_backend() {
    let (net, backends) = network(12, 1440, 3, 3);
    let svc = service(100, &backends);
    let (handle, mut rx) = start(&net, publish_config(), vec![svc.clone()]);
    let status = published(&mut rx).await;
    let s = &status.services[0];
    assert_eq!(s.state, PublishState::Published);
    assert_eq!(s.live_backends, 3);
    for p in &s.periods {
        assert_eq!(p.intro_points, 6);
        assert_eq!(p.total, 8);
        assert!(p.revision_counter.is_some());
    }
    assert!(s.publish_attempt_first_descriptor.is_some());
    assert!(s.publish_attempt_second_descriptor.is_some());
    for inst in &s.instances {
        assert_eq!(inst.health, BackendHealth::Live);
        assert_eq!(inst.intro_points_num, Some(3));
        assert_eq!(inst.intro_points_published, 2);
    }
    for keys in published_intro_keys(&net, &svc) {
        assert_eq!(keys.len(), 6);
        for seed in 1..=3 {
            let mine = backend_keys(seed, 3);
            assert_eq!(
                keys.iter().filter(|k| mine.contains(k)).count(),
                2,
                "backend {seed}"
            );
        }
    }
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn nothing_changes_nothing_is_uploaded_until_the_republish_interval() {
    let (net, backends) = network(8, 1440, 2, 3);
    let svc = service(100, &backends);
    let (handle, mut rx) = start(&net, publish_config(), vec![svc]);
    published(&mut rx).await;
    let first = net.uploads().len();
    assert_eq!(first, 16, "2 periods x 8 HSDirs");
    // 50 minutes of fetch rounds and new consensuses with nothing changing: no upload.
    for _ in 0..5 {
        run_for(Duration::from_secs(600)).await;
        net.new_consensus();
    }
    assert_eq!(net.uploads().len(), first, "no churn when nothing changed");
    // Past the 60-minute republish interval: every HSDir gets a fresh descriptor.
    run_for(Duration::from_secs(15 * 60)).await;
    let uploads = net.uploads();
    assert_eq!(uploads.len(), 2 * first);
    assert!(
        uploads.iter().all(|u| u.accepted),
        "higher revision counters are accepted"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rotated_intro_points_trigger_a_republish() {
    let (net, backends) = network(8, 1440, 2, 2);
    let svc = service(100, &backends);
    let (handle, mut rx) = start(&net, publish_config(), vec![svc.clone()]);
    published(&mut rx).await;
    run_for(Duration::from_secs(10)).await;
    net.rotate_intro_points(backends[0], 77, 2);
    // Next fetch round (2 min) sees it and republishes.
    run_for(Duration::from_secs(180)).await;
    let new_keys = backend_keys(77, 2);
    for keys in published_intro_keys(&net, &svc) {
        assert!(
            new_keys.iter().all(|k| keys.contains(k)),
            "new intro points published"
        );
        assert!(
            backend_keys(1, 2).iter().all(|k| !keys.contains(k)),
            "old ones gone"
        );
    }
    let s = rx.borrow().clone();
    assert!(
        s.services[0]
            .periods
            .iter()
            .all(|p| p.last_reason.as_deref() == Some("selected intro points changed"))
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn health_check_drops_a_dead_backend_promptly_and_brings_it_back() {
    let (net, backends) = network(8, 1440, 3, 2);
    let mut svc = service(100, &backends);
    svc.health_check = Some(health_check(3));
    let (handle, mut rx) = start(&net, publish_config(), vec![svc.clone()]);
    published(&mut rx).await;
    net.set_backend_alive(backends[1], false);
    let killed_at = tokio::time::Instant::now();
    // Its old descriptor is still fetchable; only the health check can tell.
    let s = wait_status(&mut rx, Duration::from_secs(300), |s| {
        s.services[0].instances[1].health == BackendHealth::Down
            && s.services[0]
                .periods
                .iter()
                .all(|p| p.intro_points == 4 && p.accepted == p.total)
    })
    .await;
    let took = killed_at.elapsed();
    assert!(
        took <= Duration::from_secs(3 * 30 + 30),
        "dropped within failures x interval (+1 probe): {took:?}"
    );
    assert!(
        s.services[0].instances[1]
            .reason
            .contains("health check failed 3 times")
    );
    let dead = backend_keys(2, 2);
    for keys in published_intro_keys(&net, &svc) {
        assert!(dead.iter().all(|k| !keys.contains(k)));
        assert_eq!(keys.len(), 4);
    }
    // It comes back: one successful probe restores it.
    net.set_backend_alive(backends[1], true);
    wait_status(&mut rx, Duration::from_secs(120), |s| {
        s.services[0].instances[1].health == BackendHealth::Live
            && s.services[0]
                .periods
                .iter()
                .all(|p| p.intro_points == 6 && p.accepted == p.total)
    })
    .await;
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_backend_dead_at_startup_is_never_published() {
    // A restart while a backend is down: its last descriptor is still on the HSDirs and
    // validates, so only the health check can tell. The first publication waits for every
    // backend's first verdict (failed probes retried every 5 s meanwhile), so no descriptor
    // ever carries the dead backend's intro points.
    let (net, backends) = network(8, 1440, 3, 2);
    net.set_backend_alive(backends[1], false);
    let mut svc = service(100, &backends);
    svc.health_check = Some(health_check(3));
    let started = tokio::time::Instant::now();
    let (handle, mut rx) = start(&net, publish_config(), vec![svc.clone()]);
    let s = published(&mut rx).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "3 quick probes, not 3 intervals: {took:?}"
    );
    assert_eq!(s.services[0].instances[1].health, BackendHealth::Down);
    for p in &s.services[0].periods {
        assert_eq!(p.intro_points, 4);
    }
    // Every upload ever made (not only the last) lacks the dead backend.
    let dead = backend_keys(2, 2);
    for keys in published_intro_keys(&net, &svc) {
        assert!(dead.iter().all(|k| !keys.contains(k)));
    }
    let publications = net
        .uploads()
        .iter()
        .map(|u| (u.blind_id, u.revision))
        .collect::<std::collections::HashSet<_>>()
        .len();
    assert_eq!(
        publications, 2,
        "one publication per period, no corrective republish"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_backend_whose_revision_stops_advancing_goes_stale() {
    let (net, backends) = network(8, 1440, 2, 2);
    let svc = service(100, &backends);
    let publish = PublishConfig {
        stale_after: Duration::from_secs(30 * 60),
        ..publish_config()
    };
    let (handle, mut rx) = start(&net, publish, vec![svc.clone()]);
    published(&mut rx).await;
    net.set_backend_alive(backends[0], false);
    // The live one republishes every 10 minutes; the dead one's descriptor stays on the HSDirs.
    for _ in 0..4 {
        run_for(Duration::from_secs(600)).await;
        net.publish_all_backends();
    }
    let s = wait_status(&mut rx, Duration::from_secs(300), |s| {
        s.services[0].instances[0].health == BackendHealth::Stale
            && s.services[0]
                .periods
                .iter()
                .all(|p| p.intro_points == 2 && p.accepted == p.total)
    })
    .await;
    assert_eq!(s.services[0].instances[1].health, BackendHealth::Live);
    // The status says when each counter last advanced: the stale one's is the time its reason
    // names, before the live one's.
    let stale = s.services[0].instances[0].revision_advanced.clone();
    let live = s.services[0].instances[1].revision_advanced.clone();
    let (Some(stale), Some(live)) = (stale, live) else {
        panic!("revision_advanced missing: {:?}", s.services[0].instances);
    };
    assert!(stale < live, "{stale} vs {live}");
    assert_eq!(
        s.services[0].instances[0].reason,
        format!("revision counter has not advanced since {stale}")
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn all_backends_down_keeps_the_last_descriptor() {
    let (net, backends) = network(8, 1440, 2, 2);
    let mut svc = service(100, &backends);
    svc.health_check = Some(health_check(2));
    let (handle, mut rx) = start(&net, publish_config(), vec![svc.clone()]);
    published(&mut rx).await;
    for b in &backends {
        net.set_backend_alive(*b, false);
    }
    let s = wait_status(&mut rx, Duration::from_secs(300), |s| {
        s.services
            .first()
            .is_some_and(|x| x.state == PublishState::NoLiveBackend)
    })
    .await;
    assert!(
        s.services[0]
            .message
            .contains("last published descriptor is kept")
    );
    // (The health checks may see one backend die before the other: a descriptor with the
    // survivor alone is legitimate. Once none is live, nothing more goes out.)
    run_for(Duration::from_secs(10)).await;
    let before = net.uploads().len();
    let keys_before = published_intro_keys(&net, &svc);
    assert!(keys_before.iter().all(|k| !k.is_empty()));
    run_for(Duration::from_secs(1800)).await;
    assert_eq!(
        net.uploads().len(),
        before,
        "no empty or partial descriptor uploaded"
    );
    assert_eq!(published_intro_keys(&net, &svc), keys_before);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn failed_hsdirs_are_retried_with_backoff_until_they_accept() {
    let (net, backends) = network(8, 1440, 2, 2);
    let svc = service(100, &backends);
    let hsdirs = net.hsdirs();
    let (refusing, hanging) = (hsdirs[0], hsdirs[1]);
    net.set_behaviour(refusing, Behaviour::Refuse(503));
    net.set_behaviour(hanging, Behaviour::Hang);
    let (handle, mut rx) = start(&net, publish_config(), vec![svc.clone()]);
    // Others accept; the two faulty ones are retried, reported as such.
    let s = wait_status(&mut rx, Duration::from_secs(600), |s| {
        let Some(svc) = s.services.first() else {
            return false;
        };
        svc.periods.len() == 2
            && svc.periods.iter().all(|p| {
                p.hsdirs
                    .iter()
                    .filter(|h| h.state == UploadState::Retrying)
                    .all(|h| h.attempts >= 3)
                    && p.hsdirs.iter().all(|h| {
                        h.state == UploadState::Accepted || h.state == UploadState::Retrying
                    })
            })
            && svc
                .periods
                .iter()
                .any(|p| p.hsdirs.iter().any(|h| h.state == UploadState::Retrying))
    })
    .await;
    assert_eq!(s.services[0].state, PublishState::Published);
    let retrying: Vec<_> = s.services[0]
        .periods
        .iter()
        .flat_map(|p| &p.hsdirs)
        .filter(|h| h.state == UploadState::Retrying)
        .collect();
    assert!(retrying.iter().all(|h| {
        h.last_error
            .as_deref()
            .is_some_and(|e| e.contains("503") || e.contains("timed out"))
    }));
    // Attempts are spaced out (backoff), not hammered: the fake network records every attempt,
    // refused and unanswered ones included. Retries wait at least the 2 s backoff floor, after
    // the 30 s attempt timeout for the HSDir that never answers; nothing is stored on either.
    let uploads = net.uploads();
    for (hsdir, outcome, least_gap) in [
        (
            refusing,
            UploadOutcome::Refused(503),
            Duration::from_secs(2),
        ),
        (
            hanging,
            UploadOutcome::NoAnswer,
            Duration::from_secs(30 + 2),
        ),
    ] {
        let mut per_period: std::collections::BTreeMap<[u8; 32], Vec<std::time::SystemTime>> =
            Default::default();
        for u in uploads.iter().filter(|u| u.hsdir == hsdir) {
            assert_eq!(u.outcome, outcome, "{u:?}");
            assert!(!u.accepted, "nothing stored on a faulty HSDir: {u:?}");
            per_period.entry(u.blind_id).or_default().push(u.at);
        }
        assert_eq!(
            per_period.len(),
            2,
            "{outcome:?}: attempts for both periods"
        );
        for times in per_period.values() {
            assert!(times.len() >= 3, "{outcome:?}: {} attempts", times.len());
            for pair in times.windows(2) {
                let gap = pair[1].duration_since(pair[0]).unwrap();
                assert!(
                    gap >= least_gap,
                    "{outcome:?}: attempts {gap:?} apart, less than {least_gap:?}"
                );
            }
        }
    }
    // Heal them: the next retry succeeds.
    net.set_behaviour(refusing, Behaviour::Normal);
    net.set_behaviour(hanging, Behaviour::Normal);
    let s = wait_status(&mut rx, Duration::from_secs(1800), fully_published).await;
    // Status reports the revision counters the HSDirs hold: the retries were rebuilt with
    // higher counters than the first build, and the period's counter is the highest accepted.
    for p in &s.services[0].periods {
        let revs: Vec<u64> = p.hsdirs.iter().map(|h| h.revision.unwrap()).collect();
        let healed: Vec<u64> = p
            .hsdirs
            .iter()
            .filter(|h| h.hsdir == refusing.to_string() || h.hsdir == hanging.to_string())
            .map(|h| h.revision.unwrap())
            .collect();
        let first = *revs.iter().min().unwrap();
        assert!(
            healed.iter().all(|r| *r > first),
            "retries carry higher counters"
        );
        assert_eq!(p.revision_counter, revs.iter().max().copied());
        for h in &p.hsdirs {
            let stored = net
                .uploads()
                .iter()
                .filter(|u| u.accepted && u.hsdir.to_string() == h.hsdir)
                .map(|u| u.revision)
                .collect::<Vec<_>>();
            assert!(stored.contains(&h.revision.unwrap()));
        }
    }
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn new_consensus_with_changed_hsdirs_and_period_rollover_republish() {
    let (net, backends) = network(8, 60, 2, 2);
    let svc = service(100, &backends);
    let publish = PublishConfig {
        fetch_interval: Duration::from_secs(60),
        ..publish_config()
    };
    let (handle, mut rx) = start(&net, publish, vec![svc.clone()]);
    let s0 = published(&mut rx).await;
    // A new HSDir joins: with 9 relays the rings change for some blinded ids.
    for seed in 5000..5004 {
        net.add_relay(seed);
    }
    net.new_consensus();
    let s1 = wait_status(&mut rx, Duration::from_secs(120), |s| {
        fully_published(s)
            && s.services[0]
                .periods
                .iter()
                .any(|p| p.last_reason.as_deref() == Some("responsible HSDirs changed"))
    })
    .await;
    assert_ne!(
        s0.services[0].periods[0].hsdirs,
        s1.services[0].periods[0].hsdirs
    );
    // An hour later the period has rolled over: the new next period is published too.
    let first_periods: Vec<u64> = s1.services[0]
        .periods
        .iter()
        .map(|p| p.time_period)
        .collect();
    run_for(Duration::from_secs(3600)).await;
    net.publish_all_backends();
    net.new_consensus();
    let s2 = wait_status(&mut rx, Duration::from_secs(300), |s| {
        fully_published(s)
            && s.services[0]
                .periods
                .iter()
                .any(|p| !first_periods.contains(&p.time_period))
    })
    .await;
    let new_periods: Vec<u64> = s2.services[0]
        .periods
        .iter()
        .map(|p| p.time_period)
        .collect();
    assert_eq!(
        new_periods[0], first_periods[1],
        "old next period is now current"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn revision_counters_strictly_increase_per_hsdir_and_period() {
    let (net, backends) = network(8, 1440, 2, 3);
    let svc = service(100, &backends);
    let (handle, mut rx) = start(&net, publish_config(), vec![svc.clone()]);
    published(&mut rx).await;
    // Force many quick republications: intro point rotations every 10 s.
    for i in 0..6 {
        net.rotate_intro_points(backends[0], 200 + i, 3);
        net.new_consensus();
        run_for(Duration::from_secs(10)).await;
    }
    run_for(Duration::from_secs(60)).await;
    let uploads = net.uploads();
    assert!(
        uploads.iter().all(|u| u.accepted),
        "no upload was refused for a stale counter"
    );
    let mut last: std::collections::HashMap<_, u64> = Default::default();
    for u in &uploads {
        let prev = last.insert((u.hsdir, u.blind_id), u.revision);
        if let Some(prev) = prev {
            assert!(u.revision > prev);
        }
    }
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn reload_adds_a_backend_without_republishing_unchanged_services() {
    let (net, backends) = network(8, 1440, 3, 2);
    let svc_a = service(100, &backends[..1]);
    let svc_b = service(200, &backends[1..2]);
    let (handle, mut rx) = start(&net, publish_config(), vec![svc_a.clone(), svc_b.clone()]);
    published(&mut rx).await;
    let blind_b: Vec<[u8; 32]> = net
        .snapshot()
        .publish_periods()
        .iter()
        .map(|p| {
            *onionfront_core::main_descriptor::blinded_id(&svc_b.keys, p)
                .unwrap()
                .as_ref()
        })
        .collect();
    let uploads_b = |net: &FakeNetwork| {
        net.uploads()
            .iter()
            .filter(|u| blind_b.contains(&u.blind_id))
            .count()
    };
    let before_b = uploads_b(&net);
    let svc_a2 = service(100, &[backends[0], backends[2]]);
    let summary = handle
        .reload(SchedulerSpec {
            publish: publish_config(),
            services: vec![svc_a2.clone(), svc_b.clone()],
        })
        .await
        .unwrap();
    assert_eq!(summary.changed, vec![svc_a.address]);
    assert_eq!(summary.unchanged, vec![svc_b.address]);
    wait_status(&mut rx, Duration::from_secs(120), |s| {
        fully_published(s) && s.services[0].periods.iter().all(|p| p.intro_points == 4)
    })
    .await;
    for keys in published_intro_keys(&net, &svc_a2) {
        assert_eq!(keys.len(), 4);
    }
    assert_eq!(
        uploads_b(&net),
        before_b,
        "unchanged service not republished"
    );
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_backend_added_on_reload_waits_for_its_first_verdict() {
    // With a health check, a backend added on SIGHUP is published once a probe succeeds; one
    // that is dead when added is never published (its descriptor still validates).
    let (net, backends) = network(8, 1440, 4, 2);
    net.set_backend_alive(backends[3], false);
    let mut svc = service(100, &backends[..2]);
    svc.health_check = Some(health_check(3));
    let (handle, mut rx) = start(&net, publish_config(), vec![svc.clone()]);
    published(&mut rx).await;
    let mut svc2 = service(100, &backends);
    svc2.health_check = svc.health_check;
    handle
        .reload(SchedulerSpec {
            publish: publish_config(),
            services: vec![svc2.clone()],
        })
        .await
        .unwrap();
    // Every status seen on the way: the dead one never has an intro point published.
    let dead_published = std::cell::Cell::new(0);
    let s = wait_status(&mut rx, Duration::from_secs(120), |s| {
        let svc = &s.services[0];
        if svc.instances.len() < 4 {
            return false; // the status from before the reload
        }
        dead_published.set(
            dead_published
                .get()
                .max(svc.instances[3].intro_points_published),
        );
        fully_published(s)
            && svc.instances[2].intro_points_published == 2
            && svc.instances[3].health == BackendHealth::Down
            && svc.periods.iter().all(|p| p.intro_points == 6)
    })
    .await;
    assert_eq!(dead_published.get(), 0, "the dead backend was published");
    assert!(
        s.services[0].instances[3]
            .reason
            .contains("health check failed 3 times")
    );
    let dead = backend_keys(4, 2);
    for keys in published_intro_keys(&net, &svc2) {
        assert_eq!(keys.len(), 6);
        assert!(dead.iter().all(|k| !keys.contains(k)));
    }
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_reactor_answers_pings_until_it_stops() {
    let (net, backends) = network(8, 1440, 2, 2);
    let (handle, mut rx) = start(&net, publish_config(), vec![service(100, &backends)]);
    let pinger = handle.pinger();
    pinger.ping().await.unwrap();
    published(&mut rx).await;
    pinger.ping().await.unwrap();
    handle.shutdown().await;
    assert!(
        pinger.ping().await.is_err(),
        "a stopped scheduler does not answer"
    );
}
