//! Offline keys on the fake network (paused time): a service that signs with a key bundle
//! publishes the periods the bundle covers and nothing else (rule 2.0), keeps what the HSDirs
//! hold when its keys run out, says so in status, and publishes again once a reload brings a
//! bundle that covers the period; distinct descriptors and health checks work with a bundle as
//! with the identity key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use onionfront_core::OnionAddress;
use onionfront_core::config::{DistinctDescriptors, HealthCheckConfig, PublishConfig};
use onionfront_core::keys::{KeyBundle, ServiceKey, SigningKeys};
use onionfront_core::period::PeriodParams;
use onionfront_publish::fake::FakeNetwork;
use onionfront_publish::{
    BackendHealth, BackendSpec, Directory, KeyCoverage, KeySource, PublishState, SchedulerSpec,
    ServiceSpec, StatusReport,
};
use tokio::sync::watch;

/// Period length of the fake network in these tests.
const PERIOD_MINUTES: u32 = 60;

fn publish_config() -> PublishConfig {
    PublishConfig {
        fetch_interval: Duration::from_secs(60),
        hsdir_timeout: Duration::from_secs(30),
        offline_keys_warn: Duration::from_secs(30 * 60),
        ..PublishConfig::default()
    }
}

/// A bundle of `key` for the periods overlapping `from..until` (the fake network's periods:
/// offset of half a period).
fn bundle(key: &ServiceKey, from: SystemTime, until: SystemTime) -> SigningKeys {
    let b = KeyBundle::provision(key, from, until, PERIOD_MINUTES, PERIOD_MINUTES * 30).unwrap();
    SigningKeys::Bundle(Arc::new(b))
}

fn service(keys: SigningKeys, backends: &[OnionAddress]) -> ServiceSpec {
    ServiceSpec {
        address: keys.address(),
        keys,
        backends: backends
            .iter()
            .enumerate()
            .map(|(i, a)| BackendSpec::new(*a, None, i))
            .collect(),
        health_check: None,
        auth_clients: vec![],
        intro_points_per_instance: 2,
        distinct_descriptors: DistinctDescriptors::Auto,
    }
}

fn start_of(p: &PeriodParams) -> SystemTime {
    p.range().unwrap().start
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

/// Uploads the fake network saw under `svc`'s blinded id for `period`.
fn uploads_for(net: &FakeNetwork, keys: &SigningKeys, period: &PeriodParams) -> usize {
    let blind = *onionfront_core::main_descriptor::blinded_id(keys, period)
        .unwrap()
        .as_ref();
    net.uploads().iter().filter(|u| u.blind_id == blind).count()
}

#[tokio::test(start_paused = true)]
async fn a_bundle_publishes_only_the_periods_it_covers_until_a_reload_renews_it() {
    let net = FakeNetwork::new(8, PERIOD_MINUTES);
    let backends: Vec<OnionAddress> = (1..=2).map(|s| net.add_backend(s, 2)).collect();
    let key = ServiceKey::from_seed(&[42; 32]);
    let periods = net.snapshot().publish_periods();
    let (current, next) = (periods[0], periods[1]);
    // Only the current period.
    let keys = bundle(&key, start_of(&current), start_of(&current));
    assert!(keys.covers(current.time_period) && !keys.covers(next.time_period));
    let svc = service(keys.clone(), &backends);
    let handle = onionfront_publish::spawn(
        Arc::clone(&net),
        SchedulerSpec {
            publish: publish_config(),
            services: vec![svc.clone()],
        },
    );
    let mut rx = handle.status();

    // The current period is published to every HSDir; the next one is not, and says why.
    let s = wait_status(&mut rx, Duration::from_secs(120), |s| {
        s.services.first().is_some_and(|svc| {
            svc.state == PublishState::Published && svc.periods.len() == 2 && svc.periods[1].no_key
        })
    })
    .await;
    let st = &s.services[0];
    assert_eq!(st.key_source, KeySource::Bundle);
    assert_eq!(st.key_coverage, KeyCoverage::Ending, "{st:?}");
    let end = humantime::format_rfc3339_seconds(current.range().unwrap().end).to_string();
    assert_eq!(st.key_coverage_end.as_deref(), Some(end.as_str()));
    assert_eq!(st.periods[0].accepted, st.periods[0].total);
    assert!(st.periods[0].total > 0 && !st.periods[0].no_key);
    assert_eq!(st.periods[1].total, 0);
    assert!(uploads_for(&net, &keys, &current) > 0);
    assert_eq!(
        uploads_for(&net, &keys, &next),
        0,
        "nothing signed without a key"
    );

    // The period rolls over: the current period has no key any more. Nothing is published
    // for it, status says so, and what the HSDirs hold for the old period stays.
    tokio::time::sleep(Duration::from_secs(u64::from(PERIOD_MINUTES) * 60)).await;
    net.publish_all_backends();
    net.new_consensus();
    let s = wait_status(&mut rx, Duration::from_secs(120), |s| {
        s.services[0].key_coverage == KeyCoverage::NotCovered
            && s.services[0].periods.iter().all(|p| p.no_key)
    })
    .await;
    assert!(
        s.services[0]
            .message
            .contains("does not cover the current time period"),
        "{}",
        s.services[0].message
    );
    assert_eq!(uploads_for(&net, &keys, &next), 0);
    let old_blind = onionfront_core::main_descriptor::blinded_id(&keys, &current).unwrap();
    let kept = net
        .hsdirs()
        .iter()
        .filter(|h| net.stored(**h, &old_blind).is_some())
        .count();
    assert!(kept > 0, "the last descriptors stay on the HSDirs");

    // A reload with a fresh bundle (a day from the old next period) publishes again at once.
    let renewed = bundle(
        &key,
        start_of(&next),
        start_of(&next) + Duration::from_secs(86_400),
    );
    let summary = handle
        .reload(SchedulerSpec {
            publish: publish_config(),
            services: vec![service(renewed.clone(), &backends)],
        })
        .await
        .unwrap();
    assert_eq!(summary.unchanged, vec![svc.address]);
    let s = wait_status(&mut rx, Duration::from_secs(120), |s| {
        let st = &s.services[0];
        st.key_coverage == KeyCoverage::Covered
            && st.periods.len() == 2
            && st
                .periods
                .iter()
                .all(|p| !p.no_key && p.total > 0 && p.accepted == p.total)
    })
    .await;
    assert_eq!(s.services[0].state, PublishState::Published);
    assert!(uploads_for(&net, &renewed, &next) > 0);
    handle.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_bundle_and_the_identity_key_publish_the_same_blinded_ids_and_comparable_revisions() {
    // Two frontends of one address, one with the identity key and one with a bundle (redundant
    // frontends): the HSDirs take both, and revision counters keep increasing across them.
    let net = FakeNetwork::new(8, PERIOD_MINUTES);
    let backends: Vec<OnionAddress> = (1..=2).map(|s| net.add_backend(s, 2)).collect();
    let key = ServiceKey::from_seed(&[43; 32]);
    let periods = net.snapshot().publish_periods();
    let with_bundle = bundle(
        &key,
        start_of(&periods[0]),
        start_of(&periods[0]) + Duration::from_secs(86_400),
    );
    let with_identity = SigningKeys::Identity(key.shared_keypair());
    for p in &periods {
        assert_eq!(
            onionfront_core::main_descriptor::blinded_id(&with_bundle, p),
            onionfront_core::main_descriptor::blinded_id(&with_identity, p)
        );
        let now = start_of(p) + Duration::from_secs(600);
        assert_eq!(
            onionfront_core::main_descriptor::revision_counter(&with_bundle, p, now),
            onionfront_core::main_descriptor::revision_counter(&with_identity, p, now)
        );
    }
    let spawn = |keys: SigningKeys| {
        onionfront_publish::spawn(
            Arc::clone(&net),
            SchedulerSpec {
                publish: publish_config(),
                services: vec![service(keys, &backends)],
            },
        )
    };
    let a = spawn(with_identity.clone());
    let mut rx_a = a.status();
    let all_accepted = |s: &StatusReport| {
        s.services.first().is_some_and(|st| {
            st.periods.len() == 2
                && st
                    .periods
                    .iter()
                    .all(|p| p.total > 0 && p.accepted == p.total)
        })
    };
    wait_status(&mut rx_a, Duration::from_secs(120), all_accepted).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let b = spawn(with_bundle.clone());
    let mut rx_b = b.status();
    wait_status(&mut rx_b, Duration::from_secs(120), all_accepted).await;
    // The bundle frontend's later descriptors replaced the identity frontend's on every HSDir.
    for p in &periods {
        let blind = onionfront_core::main_descriptor::blinded_id(&with_bundle, p).unwrap();
        let accepted: Vec<u64> = net
            .uploads()
            .iter()
            .filter(|u| u.blind_id == *blind.as_ref() && u.accepted)
            .map(|u| u.revision)
            .collect();
        assert!(accepted.len() >= 16, "{accepted:?}");
    }
    a.shutdown().await;
    b.shutdown().await;
}

/// Both periods published from the bundle, in two distinct descriptors holding `intro_points`
/// intro points in all, every HSDir accepting.
fn published_in_two_descriptors(s: &StatusReport, intro_points: usize) -> bool {
    s.services.first().is_some_and(|svc| {
        svc.periods.len() == 2
            && svc.periods.iter().all(|p| {
                !p.no_key
                    && p.descriptors == 2
                    && p.intro_points == intro_points
                    && p.total > 0
                    && p.accepted == p.total
            })
    })
}

#[tokio::test(start_paused = true)]
async fn distinct_descriptors_and_health_checks_work_from_a_bundle() {
    let net = FakeNetwork::new(16, PERIOD_MINUTES);
    // 12 backends x 2 intro points: 24, more than one descriptor holds (20), so two distinct
    // descriptors.
    let backends: Vec<OnionAddress> = (1..=12).map(|s| net.add_backend(s, 2)).collect();
    let key = ServiceKey::from_seed(&[43; 32]);
    let periods = net.snapshot().publish_periods();
    let keys = bundle(
        &key,
        start_of(&periods[0]),
        start_of(&periods[1]) + Duration::from_secs(1),
    );
    assert!(keys.covers(periods[0].time_period) && keys.covers(periods[1].time_period));
    let mut svc = service(keys, &backends);
    svc.health_check = Some(HealthCheckConfig {
        port: 80,
        interval: Duration::from_secs(30),
        failures: 3,
        timeout: Duration::from_secs(10),
    });
    let handle = onionfront_publish::spawn(
        Arc::clone(&net),
        SchedulerSpec {
            publish: publish_config(),
            services: vec![svc],
        },
    );
    let mut rx = handle.status();
    wait_status(&mut rx, Duration::from_secs(300), |s| {
        published_in_two_descriptors(s, 24)
    })
    .await;

    // A backend whose descriptor is still on the HSDirs but which no longer answers: the health
    // check drops it, and both descriptors are published again without it.
    net.set_backend_alive(backends[3], false);
    let s = wait_status(&mut rx, Duration::from_secs(300), |s| {
        s.services[0].instances[3].health == BackendHealth::Down
            && published_in_two_descriptors(s, 22)
    })
    .await;
    let reason = &s.services[0].instances[3].reason;
    assert!(reason.contains("health check failed 3 times"), "{reason}");
    handle.shutdown().await;
}
