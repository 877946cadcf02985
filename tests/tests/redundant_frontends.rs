//! Scenario 6 of issue #5, redundant frontends: two onionfront processes with the same services
//! (each with its own Arti state, cache and status socket) publish the same main address; after
//! one stops, the service stays reachable, the survivor stays `published`, and when a change
//! makes it republish (a backend added on SIGHUP) its descriptors win on the HSDirs (its revision
//! counters are higher) and clients reach the new backend.
//!
//! Then, on the same network and main address, issue #11's offline keys: a third frontend whose
//! folder holds only a key bundle provisioned from the main key for the current time period
//! alone (no identity secret in any of its files) publishes, and its descriptors win on the
//! HSDirs over the earlier frontends' (redundant frontends sharing keys stay comparable); clients
//! reach every backend. `status` warns (the bundle ends within `offline-keys-warn`); at the
//! time-period rotation the current period is not covered: nothing is published for it and
//! `status` goes critical; SIGHUP with a renewed bundle publishes again and clients reach the
//! backends in the new period.
//!
//! Run with `cargo test -p onionfront-e2e --test redundant_frontends -- --nocapture`.

#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use onionfront_e2e::config::ConfigSpec;
use onionfront_e2e::offline_keys::{
    assert_no_identity_secret, key_coverage, periods, provision, status_verdict,
};
use onionfront_e2e::reach::{fetched_revision, reach_all};
use onionfront_e2e::scenario::{
    Progress, add_backend_and_reload, config_spec, fast_publish_yaml, start_two_of_three,
    wait_published,
};
use onionfront_e2e::{Network, status};

#[test]
fn redundant_frontends_survivor_keeps_service_up() {
    let p = Progress::start();
    let (mut net, main, mut spec) = start_two_of_three(&p).expect("network");
    let mut first = net.spawn_onionfront(&spec).expect("spawn first");
    let mut second = net
        .spawn_onionfront_in(&spec, "onionfront-2")
        .expect("spawn second");
    wait_published(&mut first, &main, &["b1", "b2"], Duration::from_secs(240))
        .expect("first published");
    wait_published(&mut second, &main, &["b1", "b2"], Duration::from_secs(240))
        .expect("second published");
    p.say(format!(
        "both publish: first {} | second {}",
        status::summary(&first.status_json().expect("status")),
        status::summary(&second.status_json().expect("status"))
    ));
    net.avoid_time_period_rotation(Duration::from_secs(60), Duration::from_secs(45))
        .expect("wait");
    let want: Vec<String> = ["b1", "b2"].iter().map(|s| s.to_string()).collect();
    let out = reach_all(
        net.client().expect("client"),
        &main,
        &want,
        6,
        Duration::from_secs(300),
    )
    .expect("reached with two frontends");
    p.say(format!("two frontends: {out}"));

    let st = first.stop().expect("stop first");
    p.say(format!("first frontend stopped ({st})"));

    // Reachable through fresh lookups with one frontend.
    let client = net.fresh_client().expect("fresh client");
    let out = reach_all(client, &main, &want, 6, Duration::from_secs(300))
        .expect("reached after one frontend stopped");
    p.say(format!("after the stop: {out}"));

    // The survivor stays published for a while (no spurious state change).
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        let s = status::service(&second.status_json().expect("status"), &main).expect("svc");
        assert_eq!(s.state, "published", "survivor: {s:?}");
        assert!(second.is_running(), "survivor exited");
        std::thread::sleep(Duration::from_secs(5));
    }

    // Republish trigger on the survivor: add b3.
    let before = status::service(&second.status_json().expect("status"), &main).expect("svc");
    add_backend_and_reload(&net, &mut spec, "b3", Some("onionfront-2"), &mut second)
        .expect("add b3 (SIGHUP)");
    let t = p.elapsed();
    let after = wait_published(
        &mut second,
        &main,
        &["b1", "b2", "b3"],
        Duration::from_secs(180),
    )
    .expect("survivor republished with b3");
    p.say(format!(
        "survivor republished {:.1?} after SIGHUP: {}",
        p.elapsed() - t,
        status::summary(&second.status_json().expect("status"))
    ));
    for per in &after.periods {
        if let Some(old) = before.period(per.time_period) {
            assert!(
                per.revision_counter > old.revision_counter,
                "period {}: revision {:?} -> {:?}",
                per.time_period,
                old.revision_counter,
                per.revision_counter
            );
        }
    }
    net.avoid_time_period_rotation(Duration::from_secs(60), Duration::from_secs(45))
        .expect("wait");
    let client = net.client().expect("client");
    // Independent of the status: the HSDirs serve the survivor's new descriptor.
    let rev = fetched_revision(client, &main, Duration::from_secs(120)).expect("fetch");
    let now = status::service(&second.status_json().expect("status"), &main).expect("svc");
    let revs: Vec<u64> = after
        .periods
        .iter()
        .chain(&now.periods)
        .filter_map(|p| p.revision_counter)
        .collect();
    p.say(format!(
        "the client fetched revision {rev}; survivor's: {revs:?}"
    ));
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    assert!(
        status::built_revision(&after, rev, unix) || status::built_revision(&now, rev, unix),
        "the client got revision {rev}, not one the survivor built ({revs:?})"
    );
    client.newnym().expect("newnym");
    let out = reach_all(
        client,
        &main,
        &["b3".to_string()],
        6,
        Duration::from_secs(300),
    )
    .expect("the survivor's new descriptor is what clients get");
    p.say(format!("b3 reached: {out}"));
    second.stop().expect("stop second");
    p.say("scenario 6 passed");

    offline_keys(&p, &mut net, &main, &spec);
}

/// Issue #11 on this network (see the module doc). `spec` is the config the other frontends ran.
fn offline_keys(p: &Progress, net: &mut Network, main: &str, spec: &ConfigSpec) {
    let bin = onionfront_e2e::onionfront::binary().expect("binary");
    // "The offline machine": a private copy of the identity key (provisioning wants mode 0600).
    let offline = net.dir().join("offline-machine");
    onionfront_e2e::torrc::mkdir_private(&offline).expect("folder");
    let identity_key = offline.join("hs_ed25519_secret_key");
    std::fs::copy(&spec.services[0].key, &identity_key).expect("copy the key");
    std::fs::set_permissions(
        &identity_key,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    let dir = net.onionfront_dir_named("onionfront-offline");
    onionfront_e2e::torrc::mkdir_private(&dir).expect("folder");
    let bundle = dir.join("main.bundle");
    // Time to publish and reach before the rotation ends the bundle's only period.
    net.avoid_time_period_rotation(Duration::from_secs(210), Duration::from_secs(20))
        .expect("wait");
    // On "the offline machine": the current period only.
    let out = provision(&bin, net, &identity_key, &bundle, None, 1).expect("provision");
    p.say(format!("provisioned: {}", out.trim().replace('\n', " | ")));
    let mut service = spec.services[0].clone();
    service.key = bundle.clone();
    let off = config_spec(
        vec![service],
        &(fast_publish_yaml("10m") + "  offline-keys-warn: 1h\n"),
    );
    let mut of = net
        .spawn_onionfront_in(&off, "onionfront-offline")
        .expect("spawn the offline-keys frontend");
    let config = of.config_path().to_path_buf();
    // The bundle's one period is published to every HSDir; any other period the daemon publishes
    // for (the next, or right after a rotation the previous) has no key and nothing published.
    let covered = net.current_time_period();
    let current_accepted = |st: &serde_json::Value| {
        let ps = periods(st, main);
        let ok = ps.len() == 2
            && ps.iter().all(|&(n, no_key, acc, total)| {
                if n == covered {
                    !no_key && total > 0 && acc == total
                } else {
                    no_key && total == 0
                }
            });
        ok.then_some(ps)
    };
    let ps = of
        .wait_status_until(
            "current period published from the bundle, next period without a key",
            Duration::from_secs(240),
            current_accepted,
        )
        .expect("published from a bundle");
    p.say(format!("offline frontend publishes: periods {ps:?}"));
    let files = assert_no_identity_secret(&dir, &identity_key).expect("no identity secret");
    p.say(format!(
        "no identity secret in the {files} files of its folder"
    ));
    let st = of.status_json().expect("status");
    assert_eq!(key_coverage(&st, main).as_deref(), Some("ending"));
    let (code, line) = status_verdict(&bin, &config).expect("status");
    p.say(format!("status: exit {code}: {line}"));
    assert_eq!(code, 1, "status warns while the bundle ends soon: {line}");
    assert!(line.contains("key bundle ends"), "{line}");

    let want: Vec<String> = ["b1", "b2", "b3"].iter().map(|s| s.to_string()).collect();
    let client = net.fresh_client().expect("fresh client");
    let out = reach_all(client, main, &want, 6, Duration::from_secs(150))
        .expect("reached through a descriptor signed with a blinded key from the bundle");
    p.say(format!("offline keys, before the rotation: {out}"));

    // The rotation: the new current period is not covered.
    let left = net.secs_to_next_time_period();
    p.say(format!("waiting {left} s for the time period rotation"));
    onionfront_e2e::wait::sleep(Duration::from_secs(left + 5)).expect("sleep");
    // Once the daemon has a consensus of the new period, that period is listed without a key and
    // nothing is published for it (the old, covered period may still be listed for a while: the
    // daemon publishes for the periods of the consensus it has, which lags the wall clock).
    let current = net.current_time_period();
    let ps = of
        .wait_status_until(
            "the current period has no key",
            Duration::from_secs(180),
            |st| {
                let ps = periods(st, main);
                (key_coverage(st, main).as_deref() == Some("not-covered")
                    && ps
                        .iter()
                        .any(|&(n, no_key, _, total)| n == current && no_key && total == 0))
                .then_some(ps)
            },
        )
        .expect("not covered after the rotation");
    p.say(format!("after the rotation: periods {ps:?}"));
    assert!(
        ps.iter()
            .all(|&(n, no_key, _, total)| n < current || (no_key && total == 0)),
        "nothing published for periods without a key: {ps:?}"
    );
    let (code, line) = status_verdict(&bin, &config).expect("status");
    p.say(format!("status: exit {code}: {line}"));
    assert_eq!(code, 2, "status is critical without a key: {line}");
    assert!(of.is_running(), "the daemon keeps running without a key");

    // Renewal: eleven periods (88 minutes, more than offline-keys-warn), from the period before
    // the current one: the daemon's consensus may still be of that period for a few minutes
    // (it was for 4 minutes in one CI run), and the bundle covers both periods it publishes for.
    let from = net.previous_time_period_start();
    let out =
        provision(&bin, net, &identity_key, &bundle, Some(&from), 11).expect("provision again");
    p.say(format!("renewed: {}", out.trim().replace('\n', " | ")));
    of.sighup().expect("SIGHUP");
    let ps = of
        .wait_status_until(
            "both periods published again after the renewal",
            Duration::from_secs(240),
            |st| {
                let ps = periods(st, main);
                (ps.len() == 2 && ps.iter().all(|p| !p.1 && p.3 > 0 && p.2 == p.3)).then_some(ps)
            },
        )
        .expect("published again");
    p.say(format!("renewed bundle publishes: periods {ps:?}"));
    let st = of.status_json().expect("status");
    assert_eq!(key_coverage(&st, main).as_deref(), Some("covered"));
    let (code, line) = status_verdict(&bin, &config).expect("status");
    p.say(format!("status after the renewal: exit {code}: {line}"));
    assert!(
        code < 2 && !line.contains("key bundle"),
        "no key warning once renewed: {line}"
    );
    net.avoid_time_period_rotation(Duration::from_secs(60), Duration::from_secs(45))
        .expect("wait");
    let client = net.fresh_client().expect("fresh client");
    let out = reach_all(client, main, &want, 6, Duration::from_secs(300))
        .expect("reached after the rotation, with the renewed bundle");
    p.say(format!("offline keys, after the rotation: {out}"));
    of.stop().expect("stop the offline frontend");
    p.say("offline keys scenario passed");
}
