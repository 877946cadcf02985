//! Scheduler tests on the fake network (paused time) for two hardening items of issue #12:
//! the consensus' `cc_sendme_inc` reaches validation and the main descriptor's `flow-control`
//! line (item 4), and the revision history survives a restart and a reload that removes a
//! backend and adds it back (item 8).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use onionfront_core::OnionAddress;
use onionfront_core::config::{DistinctDescriptors, PublishConfig};
use onionfront_core::descriptor::{ValidatedDescriptor, validate_backend_descriptor};
use onionfront_core::period::PeriodParams;
use onionfront_core::testing;
use onionfront_publish::fake::{FakeDirectory, FakeNetwork};
use onionfront_publish::{
    BackendHealth, BackendSpec, Directory, HISTORY_FILE_NAME, HsDirId, Network, SchedulerHandle,
    SchedulerSpec, ServiceSpec, StatusReport,
};
use tokio::sync::watch;
use tor_hscrypto::pk::HsBlindId;

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

fn spec(services: Vec<ServiceSpec>) -> SchedulerSpec {
    SchedulerSpec {
        publish: PublishConfig {
            fetch_interval: Duration::from_secs(120),
            hsdir_timeout: Duration::from_secs(30),
            ..PublishConfig::default()
        },
        services,
    }
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

/// The main descriptor of `svc` for the current period, as a client decodes it (from the first
/// responsible HSDir).
fn main_descriptor(net: &FakeNetwork, svc: &ServiceSpec) -> ValidatedDescriptor {
    let dir = net.snapshot();
    let period = dir.current_period();
    let blind = onionfront_core::main_descriptor::blinded_id(&svc.keys, &period).unwrap();
    let hsdir = dir.hsdirs_upload(&blind, period.time_period)[0];
    let (text, _) = net.stored(hsdir, &blind).expect("main descriptor stored");
    validate_backend_descriptor(&text, &svc.address, &period, net.now()).unwrap()
}

fn ntor_keys(desc: &ValidatedDescriptor) -> Vec<[u8; 32]> {
    desc.intro_points
        .iter()
        .map(|ip| *ip.ipt_ntor_key().as_bytes())
        .collect()
}

/// A backend whose `flow-control` line clients would refuse under the consensus is refused
/// like any invalid descriptor (it used to be accepted and its line copied into the main
/// descriptor); the main descriptor carries the line of a backend that agrees with the
/// consensus, and none once the consensus changes so that no backend's line is accepted.
#[tokio::test(start_paused = true)]
async fn flow_control_follows_the_consensus() {
    let net = FakeNetwork::new(8, 1440);
    let bad = net.add_backend(1, 2);
    let good = net.add_backend(2, 2);
    let (protocols, _) = testing::c_tor_flow_control();
    net.set_backend_flow_control(bad, Some((protocols.clone(), 25)));
    net.publish_backend(bad);
    let svc = service(100, &[bad, good]);
    let handle = onionfront_publish::spawn(Arc::clone(&net), spec(vec![svc.clone()]));
    let mut rx = handle.status();
    let s = wait_status(&mut rx, Duration::from_secs(180), fully_published).await;
    let bad_status = &s.services[0].instances[0];
    assert_ne!(bad_status.health, BackendHealth::Live);
    let reason = bad_status.last_fetch_result.clone().unwrap_or_default();
    assert!(
        reason.contains("flow-control sendme_inc 25 differs from the consensus cc_sendme_inc 31"),
        "{reason}"
    );
    let desc = main_descriptor(&net, &svc);
    assert_eq!(
        desc.flow_control.as_ref().map(|(_, inc)| inc.get()),
        Some(31)
    );
    let bad_keys: Vec<[u8; 32]> = (0..2)
        .map(|i| {
            *testing::fake_intro_point(1000 + i)
                .ipt_ntor_key()
                .as_bytes()
        })
        .collect();
    assert!(ntor_keys(&desc).iter().all(|k| !bad_keys.contains(k)));
    handle.shutdown().await;
}

/// The consensus' `cc_sendme_inc` changes after the backends' descriptors were accepted: the
/// same texts are not waved through as "already validated" at the next fetch, and a backend
/// still live on its earlier descriptor does not lend its line, now refused, to the main
/// descriptor: the line of a backend that agrees with the new consensus is used.
#[tokio::test(start_paused = true)]
async fn a_new_cc_sendme_inc_is_applied_to_known_descriptors() {
    let net = FakeNetwork::new(8, 1440);
    let first = net.add_backend(1, 2);
    let second = net.add_backend(2, 2);
    let svc = service(100, &[first, second]);
    let handle = onionfront_publish::spawn(Arc::clone(&net), spec(vec![svc.clone()]));
    let mut rx = handle.status();
    wait_status(&mut rx, Duration::from_secs(180), fully_published).await;
    assert_eq!(
        main_descriptor(&net, &svc)
            .flow_control
            .map(|(_, inc)| inc.get()),
        Some(31)
    );

    net.set_cc_sendme_inc(20);
    net.new_consensus();
    wait_status(&mut rx, Duration::from_secs(180), |s| {
        s.services[0].instances.iter().all(|i| {
            i.last_fetch_result
                .as_deref()
                .is_some_and(|r| r.contains("cc_sendme_inc 20"))
        })
    })
    .await;
    // The second backend follows the new consensus and rotates its intro points: republished.
    let (protocols, _) = testing::c_tor_flow_control();
    net.set_backend_flow_control(second, Some((protocols, 20)));
    tokio::time::sleep(Duration::from_secs(60)).await;
    net.rotate_intro_points(second, 7, 2);
    let new_keys: Vec<[u8; 32]> = (0..2)
        .map(|i| {
            *testing::fake_intro_point(7000 + i)
                .ipt_ntor_key()
                .as_bytes()
        })
        .collect();
    let s = wait_status(&mut rx, Duration::from_secs(600), |s| {
        fully_published(s)
            && ntor_keys(&main_descriptor(&net, &svc))
                .iter()
                .any(|k| new_keys.contains(k))
    })
    .await;
    // The first is still live on its earlier descriptor (fetch failures do not kill it)...
    assert_eq!(s.services[0].instances[0].health, BackendHealth::Live);
    // ...but its line (31, refused under 20) is not the one advertised.
    let desc = main_descriptor(&net, &svc);
    assert_eq!(desc.flow_control.map(|(_, inc)| inc.get()), Some(20));
    handle.shutdown().await;
}

/// The history file's text.
fn history_text(state: &Path) -> String {
    std::fs::read_to_string(state.join(HISTORY_FILE_NAME)).unwrap_or_default()
}

/// What the HSDirs hold for backend seed 1 in the current period, before and after it
/// republished ([`start_and_see_b_republish`]).
struct SeenOnHsDirs {
    dir: Arc<FakeDirectory>,
    period: PeriodParams,
    blind: HsBlindId,
    /// The HSDirs it uploads to.
    hsdirs: Vec<HsDirId>,
    old_text: Arc<str>,
    old_revision: u64,
    new_text: Arc<str>,
    new_revision: u64,
}

/// Start a scheduler on `spec` saving its history at `history`; once it has published, backend
/// `b` (made with seed 1) republishes, and this returns when the scheduler has seen the new
/// revision (the scheduler still running).
async fn start_and_see_b_republish(
    net: &Arc<FakeNetwork>,
    b: OnionAddress,
    spec: SchedulerSpec,
    history: &Path,
) -> (SchedulerHandle, SeenOnHsDirs) {
    let dir = net.snapshot();
    let period = dir.current_period();
    let blind = onionfront_core::main_descriptor::blinded_id(
        &onionfront_core::keys::SigningKeys::Identity(Arc::new(testing::fake_identity(1))),
        &period,
    )
    .unwrap();
    let hsdirs = dir.hsdirs_upload(&blind, period.time_period);
    let (old_text, old_revision) = net.stored(hsdirs[0], &blind).unwrap();

    let handle =
        onionfront_publish::spawn_with_history(Arc::clone(net), spec, history.to_path_buf());
    let mut rx = handle.status();
    wait_status(&mut rx, Duration::from_secs(180), fully_published).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    net.publish_backend(b);
    let (new_text, new_revision) = net.stored(hsdirs[0], &blind).unwrap();
    assert!(new_revision > old_revision);
    wait_status(&mut rx, Duration::from_secs(300), |s| {
        s.services[0]
            .instances
            .iter()
            .any(|i| i.revision_counter == Some(new_revision))
    })
    .await;
    let seen = SeenOnHsDirs {
        dir,
        period,
        blind,
        hsdirs,
        old_text,
        old_revision,
        new_text,
        new_revision,
    };
    (handle, seen)
}

/// After a restart, a descriptor older than one seen before the restart is a replay: refused
/// (without the saved history it was taken as new and live); a newer one is accepted.
#[tokio::test(start_paused = true)]
async fn a_restarted_scheduler_refuses_an_old_replayed_descriptor() {
    let state = tempfile::tempdir().unwrap();
    let history = state.path().join(HISTORY_FILE_NAME);
    let net = FakeNetwork::new(8, 1440);
    let b = net.add_backend(1, 2);
    let svc = service(100, &[b]);
    let (handle, seen) =
        start_and_see_b_republish(&net, b, spec(vec![svc.clone()]), &history).await;
    handle.shutdown().await;
    let SeenOnHsDirs {
        dir,
        period,
        blind,
        hsdirs,
        old_text,
        old_revision,
        new_text,
        new_revision,
    } = seen;
    assert!(
        history_text(state.path()).contains(&format!("\"revision\": {new_revision}")),
        "{}",
        history_text(state.path())
    );

    // Every HSDir now serves the old descriptor (its certificates are still valid).
    for h in &hsdirs {
        net.put_descriptor(*h, &blind, Arc::clone(&old_text));
    }
    let handle = onionfront_publish::spawn_with_history(
        Arc::clone(&net),
        spec(vec![svc.clone()]),
        history.clone(),
    );
    let mut rx = handle.status();
    let s = wait_status(&mut rx, Duration::from_secs(180), |s| {
        !s.services.is_empty() && s.services[0].instances[0].last_fetch_result.is_some()
    })
    .await;
    let inst = &s.services[0].instances[0];
    let reason = inst.last_fetch_result.clone().unwrap();
    assert!(
        reason.contains(&format!("replay: revision {old_revision} < {new_revision}")),
        "{reason}"
    );
    assert_ne!(inst.health, BackendHealth::Live);
    assert_eq!(s.services[0].live_backends, 0);

    // Only the first HSDir a fetch asks still replays: the fetch skips it (the revision seen
    // before the restart is known) and takes the next one's descriptor.
    let first_asked = dir.hsdirs_download(&blind, period.time_period)[0];
    for h in hsdirs.iter().filter(|h| **h != first_asked) {
        net.put_descriptor(*h, &blind, Arc::clone(&new_text));
    }
    wait_status(&mut rx, Duration::from_secs(300), |s| {
        let i = &s.services[0].instances[0];
        i.revision_counter == Some(new_revision) && i.last_fetch_result.as_deref() == Some("ok")
    })
    .await;

    // The backend republishes: accepted.
    net.publish_backend(b);
    wait_status(&mut rx, Duration::from_secs(300), |s| {
        s.services[0].instances[0].health == BackendHealth::Live
    })
    .await;
    handle.shutdown().await;
}

/// A corrupt history file does not stop the scheduler: it starts afresh and replaces the file.
#[tokio::test(start_paused = true)]
async fn a_corrupt_history_is_a_fresh_start() {
    let state = tempfile::tempdir().unwrap();
    let history = state.path().join(HISTORY_FILE_NAME);
    std::fs::write(&history, "{ not json").unwrap();
    let net = FakeNetwork::new(8, 1440);
    let b = net.add_backend(1, 2);
    let svc = service(100, &[b]);
    let handle =
        onionfront_publish::spawn_with_history(Arc::clone(&net), spec(vec![svc]), history.clone());
    let mut rx = handle.status();
    wait_status(&mut rx, Duration::from_secs(180), fully_published).await;
    handle.shutdown().await;
    assert!(history_text(state.path()).contains("\"version\": 1"));
}

/// A backend that a reload removes and a later reload adds back keeps its revision history: a
/// descriptor older than one seen before it was removed is still a replay (without parking, the
/// re-added backend started with no history and took it as new and live).
#[tokio::test(start_paused = true)]
async fn a_backend_removed_then_added_back_by_reloads_keeps_its_history() {
    let state = tempfile::tempdir().unwrap();
    let history = state.path().join(HISTORY_FILE_NAME);
    let net = FakeNetwork::new(8, 1440);
    let b = net.add_backend(1, 2);
    let other = net.add_backend(2, 2);
    let both = || spec(vec![service(100, &[b, other])]);
    let (handle, seen) = start_and_see_b_republish(&net, b, both(), &history).await;
    let mut rx = handle.status();

    // Removed: its history is parked (and still saved).
    handle
        .reload(spec(vec![service(100, &[other])]))
        .await
        .unwrap();
    wait_status(&mut rx, Duration::from_secs(60), |s| {
        s.services[0].instances.len() == 1
    })
    .await;
    // Meanwhile every HSDir goes back to the old descriptor (its certificates still valid).
    for h in &seen.hsdirs {
        net.put_descriptor(*h, &seen.blind, Arc::clone(&seen.old_text));
    }

    // Added back: the old descriptor is a replay, not a live backend.
    handle.reload(both()).await.unwrap();
    let s = wait_status(&mut rx, Duration::from_secs(180), |s| {
        s.services[0].instances.len() == 2 && s.services[0].instances[0].last_fetch_result.is_some()
    })
    .await;
    let inst = &s.services[0].instances[0];
    let reason = inst.last_fetch_result.clone().unwrap();
    assert!(
        reason.contains(&format!(
            "replay: revision {} < {}",
            seen.old_revision, seen.new_revision
        )),
        "{reason}"
    );
    assert_ne!(inst.health, BackendHealth::Live);
    handle.shutdown().await;
    assert!(
        history_text(state.path()).contains(&format!("\"revision\": {}", seen.new_revision)),
        "{}",
        history_text(state.path())
    );
}
