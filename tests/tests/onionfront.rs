//! onionfront's life on one private network, scenarios of issue #5 in sequence (they share the
//! network, ~1 min to start, and each leaves the daemon in the state the next one starts from):
//!
//! 1. reach: the main address answers, and every backend answers at least once;
//! 2. backend death: a stopped backend's intro points leave the main descriptor within the
//!    health check's bound, and requests keep succeeding from the others;
//! 3. reload: a backend added on SIGHUP is published and reached without a restart and without
//!    republishing the other service; a broken config on SIGHUP is refused and the old one runs;
//! 4. restart: a restarted daemon (same config and Arti state) publishes descriptors the HSDirs
//!    accept, with higher revision counters, never with the backend that died in 2, and clients
//!    keep reaching the service.
//!
//! Run with `cargo test -p onionfront-e2e --test onionfront -- --nocapture`
//! (`ONIONFRONT_BIN` to test a given binary, else it is built).

#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use onionfront_e2e::arti_client;
use onionfront_e2e::config::ConfigSpec;
use onionfront_e2e::hsdesc::{self, Decoded};
use onionfront_e2e::notify;
use onionfront_e2e::reach::{get_eventually, get_n, reach_all};
use onionfront_e2e::scenario::{
    FAST_HEALTH_CHECK_YAML, HEALTH_CHECK_BOUND, Progress, add_backend_and_reload, config_spec,
    fast_publish_yaml, service_spec, wait_published,
};
use onionfront_e2e::status::{self, ServiceView};
use onionfront_e2e::{Network, NetworkOptions, Onionfront};

/// How long the daemon gets from start to a first complete publication.
const FIRST_PUBLISH: Duration = Duration::from_secs(240);
/// How long reaching every backend of a set may take.
const REACH_ALL: Duration = Duration::from_secs(300);
/// Isolated connections of the Arti client per check, and the time they may take (bootstrap
/// included).
const ARTI_CONNECTIONS: usize = 20;
const ARTI_CLIENT_TIMEOUT: Duration = Duration::from_secs(300);

/// Names of the backends: service A starts with `A_START` (and gets `ADDED` on reload), service
/// B has `B`.
const A_START: [&str; 3] = ["b1", "b2", "b3"];
const ADDED: &str = "b4";
const B: &str = "c1";

struct Run {
    net: Network,
    of: Onionfront,
    spec: ConfigSpec,
    a: String,
    b: String,
    p: Progress,
}

impl Run {
    fn status_a(&self) -> ServiceView {
        let st = self.of.status_json().expect("status");
        status::service(&st, &self.a).expect("service A in status")
    }

    fn status_b(&self) -> ServiceView {
        let st = self.of.status_json().expect("status");
        status::service(&st, &self.b).expect("service B in status")
    }

    fn say_status(&self) {
        match self.of.status_json() {
            Ok(st) => self.p.say(format!("status: {}", status::summary(&st))),
            Err(e) => self.p.say(format!("status unavailable: {e:#}")),
        }
    }

    fn avoid_rotation(&self) {
        self.net
            .avoid_time_period_rotation(Duration::from_secs(60), Duration::from_secs(45))
            .expect("wait past the time period rotation");
    }
}

/// Independent of the status: the descriptor a C tor client fetched from the HSDirs (revision
/// `rev`) is one built in `new` (or in a later status), not one of `old`.
fn check_served_revision(
    r: &Run,
    address: &str,
    rev: u64,
    old: &ServiceView,
    new: &ServiceView,
    what: &str,
) {
    let st = r.of.status_json().expect("status");
    let later = status::service(&st, address).expect("service");
    let revs = |v: &ServiceView| -> Vec<u64> {
        v.periods
            .iter()
            .filter_map(|p| p.revision_counter)
            .collect()
    };
    r.p.say(format!(
        "{what}: the client fetched revision {rev}; status before {:?}, after {:?}, now {:?}",
        revs(old),
        revs(new),
        revs(&later)
    ));
    assert!(
        !revs(old).contains(&rev),
        "{what}: the HSDirs still serve an old descriptor (revision {rev})"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    assert!(
        status::built_revision(new, rev, now) || status::built_revision(&later, rev, now),
        "{what}: the client got revision {rev}, which the status does not list"
    );
}

/// The main descriptor of `address` as a C tor client fetches it now (cache purged first),
/// decoded, with the owner of each intro point among `names` (their descriptors fetched too).
/// Checks what holds for every descriptor onionfront publishes: at most 20 intro points, at most
/// one per relay. Returns the descriptor and the intro point count per backend (`?` = none of
/// `names`).
fn decode_main(
    r: &Run,
    address: &str,
    names: &[&str],
    what: &str,
) -> (Decoded, BTreeMap<String, usize>) {
    let client = r.net.client().expect("client");
    let main = hsdesc::fetch(client, address, true, Duration::from_secs(120))
        .expect("fetch and decode the main descriptor");
    let backends: Vec<(String, Decoded)> = names
        .iter()
        .map(|n| {
            let addr = r.net.backends[r.net.backend_index(n).expect("backend")]
                .address()
                .expect("address");
            let d = hsdesc::fetch(client, &addr, false, Duration::from_secs(120))
                .unwrap_or_else(|e| panic!("fetch the descriptor of {n}: {e:#}"));
            (n.to_string(), d)
        })
        .collect();
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for o in hsdesc::owners(&main, &backends) {
        *per.entry(o.unwrap_or("?").to_owned()).or_default() += 1;
    }
    r.p.say(format!(
        "{what}: served descriptor revision {}: {} intro points, per backend {per:?}",
        main.revision,
        main.intro_points.len()
    ));
    assert!(
        main.intro_points.len() <= 20,
        "{what}: more than 20 intro points"
    );
    assert!(
        hsdesc::one_per_relay(&main),
        "{what}: two intro points on one relay: {:?}",
        main.intro_points
    );
    // Clients refuse a flow-control line more than 1 away from the consensus' cc_sendme_inc:
    // the main descriptor carries exactly what the C tor backends publish under this network's
    // (unset, so default 31) cc_sendme_inc.
    assert_eq!(
        main.flow_control.as_deref(),
        Some(C_TOR_FLOW_CONTROL),
        "{what}: the main descriptor's flow-control line"
    );
    for (name, d) in &backends {
        assert_eq!(
            d.flow_control, main.flow_control,
            "{what}: backend {name}'s flow-control line"
        );
    }
    (main, per)
}

/// The `flow-control` arguments C tor (0.4.8, 0.4.9) backends publish when the consensus does not
/// set `cc_sendme_inc` (default 31): FlowCtrl versions 1-2, SENDME increment 31.
const C_TOR_FLOW_CONTROL: &str = "1-2 31";

/// Scenario 1: the main address answers through the client's SOCKS port, and over repeated isolated
/// requests every backend answers at least once; service B answers too.
fn scenario_reach(r: &mut Run) {
    r.p.say("scenario 1 (reach): waiting for both services to be published");
    wait_published(&mut r.of, &r.a, &A_START, FIRST_PUBLISH).expect("service A published");
    wait_published(&mut r.of, &r.b, &[B], FIRST_PUBLISH).expect("service B published");
    r.say_status();
    r.avoid_rotation();
    let client = r.net.client().expect("client");
    let want: Vec<String> = A_START.iter().map(|s| s.to_string()).collect();
    let out = reach_all(client, &r.a, &want, 6, REACH_ALL).expect("every backend of A answers");
    r.p.say(format!("scenario 1: A reached every backend: {out}"));
    let (_, per) = decode_main(r, &r.a, &A_START, "scenario 1");
    for n in A_START {
        assert!(
            per.contains_key(n),
            "scenario 1: the served descriptor has no intro point of {n}: {per:?}"
        );
    }
    let client = r.net.client().expect("client");
    let body = get_eventually(client, &r.b, Duration::from_secs(120)).expect("B answers");
    assert_eq!(body, B, "service B answered with another backend");
    // An Arti client (issue #14): 20 isolated connections reach the backends, spread over them.
    let out = arti_client::get_isolated(
        r.of.config_path(),
        &r.net.dir().join("arti-client-1"),
        &r.a,
        ARTI_CONNECTIONS,
        ARTI_CLIENT_TIMEOUT,
    )
    .expect("Arti client");
    r.p.say(format!(
        "scenario 1: Arti client, {ARTI_CONNECTIONS} isolated connections: {out}"
    ));
    assert_eq!(out.successes(), ARTI_CONNECTIONS, "Arti client: {out}");
    assert!(
        out.answers.keys().all(|k| A_START.contains(&k.as_str())) && out.answers.len() >= 2,
        "Arti client: answers not spread over A's backends: {out}"
    );
    // What systemd (Type=notify, WatchdogSec=) would have heard: a bootstrap STATUS, READY=1
    // once bootstrapped, STATUS lines about publishing, and watchdog pings every second.
    r.of.wait_notification("WATCHDOG=1", 3, Duration::from_secs(30))
        .expect("watchdog pings");
    let n = r.of.notifications();
    let ready = notify::position(&n, "READY=1").expect("READY=1 sent");
    assert!(
        n[..ready]
            .iter()
            .any(|m| m.starts_with("STATUS=bootstrapping")),
        "no bootstrap STATUS before READY=1: {n:?}"
    );
    assert!(
        n[ready..]
            .iter()
            .any(|m| m.contains("STATUS=") && m.contains("published")),
        "no STATUS line about publishing after READY=1: {n:?}"
    );
    r.p.say(format!(
        "scenario 1: {} notifications to systemd, READY=1 the {}th, e.g. {:?}",
        n.len(),
        ready + 1,
        n.iter().rev().find(|m| m.starts_with("STATUS=")),
    ));
    r.p.say("scenario 1 passed");
}

/// Scenario 2: stop a backend: the health check marks it down and its intro points leave the descriptors
/// within the bound; then requests through freshly fetched descriptors all succeed and only the
/// remaining backends answer.
fn scenario_backend_death(r: &mut Run) {
    let dead = "b3";
    let before = r.status_a();
    let (_, per_before) = decode_main(r, &r.a, &A_START, "scenario 2 (before)");
    assert!(
        per_before.contains_key(dead),
        "{dead} not in the descriptor before its death"
    );
    r.p.say(format!("scenario 2 (backend death): stopping {dead}"));
    let i = r.net.backend_index(dead).expect("index");
    r.net.stop_backend(i).expect("stop backend");
    let stopped = r.p.elapsed();
    let before_built: BTreeMap<u64, Option<String>> = before
        .periods
        .iter()
        .map(|p| (p.time_period, p.last_built.clone()))
        .collect();
    let after =
        r.of.wait_status_until(
            &format!("{dead} down and its intro points gone from every period"),
            HEALTH_CHECK_BOUND + Duration::from_secs(60),
            |st| {
                let s = status::service(st, &r.a)?;
                let inst = s.instance(dead)?;
                let rebuilt = s.periods.iter().all(|p| {
                    p.intro_points > 0
                        && before_built
                            .get(&p.time_period)
                            .is_none_or(|b| *b != p.last_built)
                });
                (inst.health == "down" && inst.intro_points_published == 0 && rebuilt).then_some(s)
            },
        )
        .expect("dead backend removed");
    let took = r.p.elapsed() - stopped;
    r.p.say(format!(
        "scenario 2: {dead} down and unpublished {took:.1?} after it stopped (bound {:?})",
        HEALTH_CHECK_BOUND + Duration::from_secs(60)
    ));
    let inst = after.instance(dead).expect("instance");
    r.p.say(format!(
        "scenario 2: {dead}: {} ({})",
        inst.health, inst.reason
    ));
    for p in &after.periods {
        let old = before.period(p.time_period);
        r.p.say(format!(
            "scenario 2: period {}: intro points {} -> {}, reason {:?}",
            p.time_period,
            old.map_or(0, |o| o.intro_points),
            p.intro_points,
            p.last_reason
        ));
    }
    for n in ["b1", "b2"] {
        let inst = after.instance(n).expect("instance");
        assert_eq!(inst.health, "live", "{n}: {}", inst.reason);
    }
    // Every HSDir has the new descriptors before clients look.
    let view = wait_published(&mut r.of, &r.a, &["b1", "b2"], Duration::from_secs(120))
        .expect("new descriptors accepted");
    r.p.say(format!(
        "scenario 2: new descriptors accepted by every HSDir ({} periods)",
        view.periods.len()
    ));
    r.avoid_rotation();
    // Independent check: the descriptor the HSDirs serve has no intro point of the dead backend
    // (its descriptor is still on the HSDirs, so its intro points are known).
    let (main, per) = decode_main(r, &r.a, &A_START, "scenario 2 (after)");
    check_served_revision(r, &r.a, main.revision, &before, &view, "scenario 2");
    assert!(
        !per.contains_key(dead),
        "the served descriptor still lists intro points of {dead}: {per:?}"
    );
    let out = get_n(r.net.client().expect("client"), &r.a, 8, 4).expect("requests");
    r.p.say(format!("scenario 2: after the death: {out}"));
    let arti = arti_client::get_isolated(
        r.of.config_path(),
        &r.net.dir().join("arti-client-2"),
        &r.a,
        ARTI_CONNECTIONS,
        ARTI_CLIENT_TIMEOUT,
    )
    .expect("Arti client");
    r.p.say(format!("scenario 2: Arti client after the death: {arti}"));
    assert_eq!(
        arti.successes(),
        ARTI_CONNECTIONS,
        "Arti client after {dead} died: {arti}"
    );
    assert!(
        !arti.answers.contains_key(dead) && arti.answers.len() >= 2,
        "Arti client after {dead} died: {arti}"
    );
    assert_eq!(
        out.successes(),
        8,
        "requests failed after {dead} died: {out}"
    );
    assert!(
        out.answers.keys().all(|k| k == "b1" || k == "b2"),
        "an unexpected backend answered: {out}"
    );
    r.p.say("scenario 2 passed");
}

/// Scenario 3: add a backend to the config and SIGHUP: it is published (live, intro points) and reached,
/// and service B's descriptors are not rebuilt. Then a broken config on SIGHUP is refused: the
/// log says so, the same process runs on, and the old config keeps being served.
fn scenario_reload(r: &mut Run) {
    r.p.say(format!("scenario 3 (reload): adding {ADDED} to service A"));
    let b_before = r.status_b();
    let pid = r.of.pid();
    let reloaded_before = r.of.current_log().matches("configuration reloaded").count();
    add_backend_and_reload(&r.net, &mut r.spec, ADDED, None, &mut r.of).expect("add (SIGHUP)");
    let t = r.p.elapsed();
    let view = wait_published(
        &mut r.of,
        &r.a,
        &["b1", "b2", ADDED],
        Duration::from_secs(180),
    )
    .expect("added backend published");
    r.p.say(format!(
        "scenario 3: {ADDED} published {:.1?} after SIGHUP: {} intro points",
        r.p.elapsed() - t,
        view.instance(ADDED).map_or(0, |i| i.intro_points_published)
    ));
    assert_eq!(r.of.pid(), pid);
    assert!(r.of.is_running(), "onionfront exited on reload");
    // systemd hears the reload: RELOADING=1, then READY=1 again once it is applied.
    let n = r.of.notifications();
    let reloading = notify::position(&n, "RELOADING=1").expect("RELOADING=1 on SIGHUP");
    assert!(
        notify::has_line(&n[reloading..], "READY=1"),
        "no READY=1 after RELOADING=1: {n:?}"
    );
    assert!(
        r.of.current_log().matches("configuration reloaded").count() > reloaded_before,
        "no 'configuration reloaded' in the log"
    );
    r.say_status();
    // Service B untouched by the reload: same periods (those still present), same build time
    // and counter. Checked once the reload is applied and A republished, before the wait out of
    // a time-period rotation below: a rotation may legitimately rebuild B.
    let b_after = r.status_b();
    for p in &b_before.periods {
        if let Some(q) = b_after.period(p.time_period) {
            assert_eq!(
                (q.revision_counter, &q.last_built),
                (p.revision_counter, &p.last_built),
                "service B period {} was republished on a reload that did not change it \
                 (reason {:?})",
                p.time_period,
                q.last_reason
            );
        }
    }
    assert!(
        b_before
            .periods
            .iter()
            .any(|p| b_after.period(p.time_period).is_some()),
        "no period of B to compare (time period rotated?)"
    );
    r.p.say("scenario 3: service B was not republished");

    r.avoid_rotation();
    let out = reach_all(
        r.net.client().expect("client"),
        &r.a,
        &[ADDED.to_string()],
        6,
        REACH_ALL,
    )
    .expect("the added backend answers on the main address");
    r.p.say(format!("scenario 3: {ADDED} reached: {out}"));
    let (_, per) = decode_main(r, &r.a, &["b1", "b2", ADDED], "scenario 3");
    assert!(
        per.contains_key(ADDED),
        "the served descriptor has no intro point of {ADDED}: {per:?}"
    );

    // A broken config is refused.
    let refused_before = r.of.current_log().matches("reload refused").count();
    let a_before = r.status_a();
    let good = std::fs::read_to_string(r.of.config_path()).expect("read config");
    let addr = r.spec.services[0].instances[0].address.clone();
    let broken = good.replacen(
        &addr,
        "thisisnotavalidonionaddressatallxxxxxxxxxxxxxxxxxxxxxxxxx.onion",
        1,
    );
    assert_ne!(broken, good);
    std::fs::write(r.of.config_path(), broken).expect("write broken config");
    r.of.sighup().expect("SIGHUP");
    r.of.wait_for_log_count(
        "reload refused",
        refused_before + 1,
        Duration::from_secs(30),
    )
    .expect("the broken config is refused in the log");
    let line =
        r.of.current_log()
            .lines()
            .rev()
            .find(|l| l.contains("reload refused"))
            .unwrap_or_default()
            .to_owned();
    r.p.say(format!("scenario 3: log: {line}"));
    std::thread::sleep(Duration::from_secs(3));
    assert!(r.of.is_running(), "onionfront exited on a broken config");
    assert_eq!(r.of.pid(), pid);
    let a_after = r.status_a();
    assert_eq!(
        a_after.instances.len(),
        a_before.instances.len(),
        "the broken config replaced the running one"
    );
    assert!(
        a_after.publishes(&["b1", "b2", ADDED]),
        "service A not published with the old config after a refused reload: {a_after:?}"
    );
    std::fs::write(r.of.config_path(), good).expect("restore config");
    r.p.say("scenario 3 passed");
}

/// Scenario 4: restart with the same config and Arti state: the new descriptors are accepted by every
/// HSDir with higher revision counters, without the dead backend (the first publication waits for
/// the health verdicts), and clients keep reaching the service.
fn scenario_restart(r: &mut Run) {
    let before_a = r.status_a();
    let before_b = r.status_b();
    r.p.say("scenario 4 (restart): restarting onionfront");
    let old_pid = r.of.pid();
    let told_before = r.of.all_notifications().len();
    let st = r.of.restart().expect("restart");
    let told = r.of.all_notifications();
    let told = &told[told_before.min(told.len())..r.of.notifications_start()];
    assert!(
        notify::has_line(told, "STOPPING=1"),
        "the stopped process did not send STOPPING=1: {told:?}"
    );
    r.p.say(format!(
        "scenario 4: old pid {old_pid} exited: {st}; new pid {}",
        r.of.pid()
    ));
    assert!(
        st.success(),
        "onionfront did not exit cleanly on SIGTERM: {st}"
    );
    let t = r.p.elapsed();
    let revs_higher = |now: &ServiceView, before: &ServiceView| {
        now.periods.iter().all(|p| {
            before.period(p.time_period).is_none_or(
                |b| matches!((p.revision_counter, b.revision_counter), (Some(n), Some(o)) if n > o),
            )
        }) && now
            .periods
            .iter()
            .any(|p| before.period(p.time_period).is_some())
    };
    let a = r.a.clone();
    let b = r.b.clone();
    let (now_a, now_b) =
        r.of.wait_status_until(
            "both services republished, accepted, with higher revision counters",
            FIRST_PUBLISH,
            |st| {
                let sa = status::service(st, &a)?;
                let sb = status::service(st, &b)?;
                (sa.publishes(&["b1", "b2", ADDED])
                    && sa.fully_accepted()
                    && sb.publishes(&[B])
                    && sb.fully_accepted()
                    && revs_higher(&sa, &before_a)
                    && revs_higher(&sb, &before_b))
                .then_some((sa, sb))
            },
        )
        .expect("republished after restart");
    r.p.say(format!(
        "scenario 4: republished {:.1?} after the restart",
        r.p.elapsed() - t
    ));
    for (name, now, before) in [("A", &now_a, &before_a), ("B", &now_b, &before_b)] {
        for p in &now.periods {
            r.p.say(format!(
                "scenario 4: {name} period {}: revision {:?} -> {:?}, accepted {}/{}",
                p.time_period,
                before
                    .period(p.time_period)
                    .and_then(|b| b.revision_counter),
                p.revision_counter,
                p.accepted,
                p.total
            ));
        }
    }
    // The backends' revision history was saved by the old process and read by the new one.
    let log = r.of.current_log();
    assert!(
        log.contains("loaded the backends' revision history"),
        "the restarted daemon did not load the saved revision history: {}",
        r.of.log_tail(40)
    );
    r.avoid_rotation();
    let (main_a, per) = decode_main(r, &r.a, &["b1", "b2", "b3", ADDED], "scenario 4 (A)");
    // b3 died in scenario 2; its last descriptor is still on the HSDirs, but the restarted
    // daemon waits for its first health verdict before publishing, so b3 is never published.
    assert!(
        !per.contains_key("b3"),
        "the restarted daemon published the dead b3: {per:?}"
    );
    check_served_revision(
        r,
        &r.a,
        main_a.revision,
        &before_a,
        &now_a,
        "scenario 4 (A)",
    );
    let (main_b, _) = decode_main(r, &r.b, &[B], "scenario 4 (B)");
    check_served_revision(
        r,
        &r.b,
        main_b.revision,
        &before_b,
        &now_b,
        "scenario 4 (B)",
    );
    let client = r.net.client().expect("client");
    client.newnym().expect("newnym");
    let want: Vec<String> = ["b1", "b2", ADDED].iter().map(|s| s.to_string()).collect();
    let out = reach_all(client, &r.a, &want, 6, REACH_ALL).expect("A reached after restart");
    r.p.say(format!("scenario 4: A after restart: {out}"));
    let body = get_eventually(client, &r.b, Duration::from_secs(120)).expect("B answers");
    assert_eq!(body, B);
    r.p.say("scenario 4 passed");
}

#[test]
fn onionfront_lifecycle_reach_death_reload_restart() {
    let p = Progress::start();
    let mut opts = NetworkOptions::with_backends(["b1", "b2", "b3", ADDED, B]);
    opts.main_keys = 2;
    let net = Network::start(opts).expect("network");
    eprint!("{}", net.describe());
    p.say("network ready");
    let a = net.main_keys[0].address.clone();
    let b = net.main_keys[1].address.clone();
    let spec = config_spec(
        vec![
            service_spec(&net, 0, &A_START, FAST_HEALTH_CHECK_YAML).expect("service A"),
            service_spec(&net, 1, &[B], "").expect("service B"),
        ],
        // No periodic republication during the test: scenario 3 checks B is not republished.
        &fast_publish_yaml("60m"),
    );
    let of = net.spawn_onionfront(&spec).expect("spawn onionfront");
    p.say(format!("onionfront started: A = {a}, B = {b}"));
    let mut r = Run {
        net,
        of,
        spec,
        a,
        b,
        p,
    };
    scenario_reach(&mut r);
    scenario_backend_death(&mut r);
    scenario_reload(&mut r);
    scenario_restart(&mut r);
    r.say_status();
    r.of.stop().expect("stop onionfront");
    r.p.say("all scenarios passed");
}
