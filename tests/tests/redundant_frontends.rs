//! Scenario 6 of issue #5, redundant frontends: two onionfront processes with the same services
//! (each with its own Arti state, cache and status socket) publish the same main address; after
//! one stops, the service stays reachable, the survivor stays `published`, and when a change
//! makes it republish (a backend added on SIGHUP) its descriptors win on the HSDirs (its revision
//! counters are higher) and clients reach the new backend.
//!
//! Run with `cargo test -p onionfront-e2e --test redundant_frontends -- --nocapture`.

#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use onionfront_e2e::reach::{fetched_revision, reach_all};
use onionfront_e2e::scenario::{
    Progress, add_backend_and_reload, start_two_of_three, wait_published,
};
use onionfront_e2e::status;

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
}
