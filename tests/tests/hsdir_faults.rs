//! Scenario 5 of issue #5, HSDir faults: with one HSDir relay stopped (it stays in the consensus
//! for a while, so it is still a responsible HSDir), a republication is accepted by the other
//! HSDirs, the failed upload is retried and reported in the status (`retrying` or `failed`, more
//! than one attempt), and clients still reach the service.
//!
//! A network of its own (it stops a relay). Run with
//! `cargo test -p onionfront-e2e --test hsdir_faults -- --nocapture`.

#![allow(clippy::expect_used)]

use std::time::Duration;

use onionfront_e2e::reach::reach_all;
use onionfront_e2e::scenario::{
    Progress, add_backend_and_reload, start_two_of_three, wait_published,
};
use onionfront_e2e::status::{self, hsdir_is};

#[test]
fn hsdir_down_upload_retried_and_reported_others_accept() {
    let p = Progress::start();
    let (mut net, main, mut spec) = start_two_of_three(&p).expect("network");
    let mut of = net.spawn_onionfront(&spec).expect("spawn onionfront");
    let first =
        wait_published(&mut of, &main, &["b1", "b2"], Duration::from_secs(240)).expect("published");
    p.say(format!(
        "published: {}",
        status::summary(&of.status_json().expect("status"))
    ));

    // A relay (not an authority) that is a responsible HSDir of the service.
    let victim = (0..net.relays.len())
        .find(|&i| {
            let fp = net.relay_fingerprint(i).expect("fingerprint");
            first
                .periods
                .iter()
                .any(|p| p.hsdirs.iter().any(|h| hsdir_is(&h.hsdir, &fp)))
        })
        .expect("a relay among the responsible HSDirs");
    let fp = net.relay_fingerprint(victim).expect("fingerprint");
    p.say(format!("stopping relay{victim} (${fp})"));
    net.stop_relay(victim).expect("stop relay");

    // A republication: add b3 (SIGHUP). Its uploads go to the HSDirs of onionfront's consensus,
    // which still lists the stopped relay.
    add_backend_and_reload(&net, &mut spec, "b3", None, &mut of).expect("add b3 (SIGHUP)");
    let t = p.elapsed();
    let seen = of
        .wait_status_until(
            "the stopped HSDir retried/failed with >1 attempts while the others accepted",
            Duration::from_secs(240),
            |st| {
                let s = status::service(st, &main)?;
                s.periods.iter().find_map(|per| {
                    let (bad, good): (Vec<_>, Vec<_>) =
                        per.hsdirs.iter().partition(|h| hsdir_is(&h.hsdir, &fp));
                    let bad_ok = !bad.is_empty()
                        && bad.iter().all(|h| {
                            (h.state == "retrying" || h.state == "failed") && h.attempts > 1
                        });
                    let good_ok = !good.is_empty() && good.iter().all(|h| h.state == "accepted");
                    (bad_ok && good_ok).then(|| (per.clone(), st.clone()))
                })
            },
        )
        .expect("failure retried and reported");
    let (period, st) = seen;
    p.say(format!(
        "{:.1?} after SIGHUP, period {}: accepted {}/{}; stopped HSDir: {:?}",
        p.elapsed() - t,
        period.time_period,
        period.accepted,
        period.total,
        period
            .hsdirs
            .iter()
            .filter(|h| hsdir_is(&h.hsdir, &fp))
            .map(|h| (&h.state, h.attempts, &h.last_error))
            .collect::<Vec<_>>()
    ));
    assert_eq!(
        period.accepted as usize,
        period
            .hsdirs
            .iter()
            .filter(|h| !hsdir_is(&h.hsdir, &fp))
            .count(),
        "every other HSDir accepted"
    );
    let failures: u64 = status::hsdir_failures(&st)
        .iter()
        .filter(|(h, _)| hsdir_is(h, &fp))
        .map(|(_, n)| n)
        .sum();
    p.say(format!(
        "counters.hsdirFailures for the stopped relay: {failures}"
    ));
    assert!(failures >= 2, "failures counter: {failures}");
    assert_eq!(status::service(&st, &main).expect("svc").state, "published");

    // The added backend is published too (by the HSDirs that accept).
    let t = p.elapsed();
    of.wait_status_until(
        "b3 published, every HSDir but the stopped one accepted",
        Duration::from_secs(180),
        |st| {
            let s = status::service(st, &main)?;
            (s.publishes(&["b1", "b2", "b3"])
                && s.periods.iter().all(|per| {
                    per.hsdirs
                        .iter()
                        .all(|h| h.state == "accepted" || hsdir_is(&h.hsdir, &fp))
                }))
            .then_some(())
        },
    )
    .expect("b3 published");
    p.say(format!("b3 published {:.1?} later", p.elapsed() - t));

    net.avoid_time_period_rotation(Duration::from_secs(60), Duration::from_secs(45))
        .expect("wait");
    let client = net.fresh_client().expect("fresh client");
    let out = reach_all(
        client,
        &main,
        &["b3".to_string()],
        6,
        Duration::from_secs(300),
    )
    .expect("the republished descriptor is served by the other HSDirs");
    p.say(format!("b3 reached through the new descriptor: {out}"));
    p.say(format!(
        "final status: {}",
        status::summary(&of.status_json().expect("status"))
    ));
    of.stop().expect("stop onionfront");
    p.say("scenario 5 passed");
}
