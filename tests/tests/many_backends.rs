//! Scenario 8 of issue #5, many backends: 12 backends with 2 intro points each behind one main
//! address, on a network of 8 relays. A descriptor lists at most one intro point per relay, so
//! not every backend fits in one descriptor: this exercises the distinct-descriptors mode. No
//! published descriptor has more than 20 intro points, and every backend is reached by some
//! client (NEWNYM between rounds: each lookup fetches from a random HSDir, so each of the
//! distinct descriptors is seen).
//!
//! Run with `cargo test -p onionfront-e2e --test many_backends -- --nocapture`.

#![allow(clippy::expect_used)]

use std::time::Duration;

use onionfront_e2e::reach::reach_all;
use onionfront_e2e::scenario::{
    Progress, config_spec, fast_publish_yaml, service_spec, wait_published,
};
use onionfront_e2e::status;
use onionfront_e2e::{Network, NetworkOptions};

/// Backends.
const N: usize = 12;
/// C tor's limit of intro points in one descriptor (clients reject more).
const MAX_INTRO_POINTS: u64 = 20;

#[test]
fn many_backends_distinct_descriptors_reach_all() {
    let p = Progress::start();
    let names: Vec<String> = (1..=N).map(|i| format!("b{i:02}")).collect();
    let net = Network::start(NetworkOptions::with_backends(names.clone()).backend_intro_points(2))
        .expect("network");
    eprint!("{}", net.describe());
    p.say("network ready");
    let routers = (net.authorities.len() + net.relays.len()) as u64;
    let main = net.main_keys[0].address.clone();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let spec = config_spec(
        vec![service_spec(&net, 0, &refs, "").expect("service")],
        &fast_publish_yaml("10m"),
    );
    let mut of = net.spawn_onionfront(&spec).expect("spawn onionfront");
    let view = wait_published(&mut of, &main, &refs, Duration::from_secs(300)).expect("published");
    let st = of.status_json().expect("status");
    p.say(format!("published: {}", status::summary(&st)));
    for i in &view.instances {
        p.say(format!(
            "  {}: {} ({}), {} intro points published",
            i.name, i.health, i.reason, i.intro_points_published
        ));
    }
    for per in &view.periods {
        p.say(format!(
            "period {}: {} intro points in {} descriptors, HSDirs per descriptor: {:?}",
            per.time_period,
            per.intro_points,
            per.descriptors,
            (0..per.descriptors)
                .map(|d| per.hsdirs.iter().filter(|h| h.descriptor == d).count())
                .collect::<Vec<_>>()
        ));
        assert!(per.descriptors >= 1);
        assert!(
            per.intro_points <= MAX_INTRO_POINTS * per.descriptors,
            "period {}: {} intro points in {} descriptors",
            per.time_period,
            per.intro_points,
            per.descriptors
        );
        // One intro point per relay and descriptor: with 8 routers, a descriptor holds at most 8.
        assert!(
            per.intro_points <= routers * per.descriptors,
            "period {}: more intro points ({}) than relays × descriptors ({routers} × {})",
            per.time_period,
            per.intro_points,
            per.descriptors
        );
        assert!(
            per.descriptors >= 2,
            "period {}: {N} backends on {routers} relays need distinct descriptors, got {}",
            per.time_period,
            per.descriptors
        );
        assert!(
            per.hsdirs.iter().all(|h| h.descriptor < per.descriptors),
            "an HSDir got descriptor index out of range: {:?}",
            per.hsdirs
        );
    }

    net.avoid_time_period_rotation(Duration::from_secs(120), Duration::from_secs(45))
        .expect("wait");
    let out = reach_all(
        net.client().expect("client"),
        &main,
        &names,
        8,
        Duration::from_secs(480),
    )
    .expect("every backend answers on the main address");
    p.say(format!("every backend reached: {out}"));
    assert!(of.is_running(), "onionfront exited");
    of.stop().expect("stop onionfront");
    p.say("scenario 8 passed");
}
