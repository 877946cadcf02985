//! Scenario 8 of issue #5, many backends: 12 backends behind one main address, 2 intro points of
//! each taken (`intro-points-per-instance: 2`; C tor 0.4.9 refuses
//! `HiddenServiceNumIntroductionPoints` below 3, so the backends keep their default 3), on a
//! network of 8 relays. A descriptor lists at most one intro point per relay, so
//! not every backend fits in one descriptor: this exercises the distinct-descriptors mode. No
//! published descriptor has more than 20 intro points, and every backend is reached by some
//! client: each distinct descriptor is fetched from an HSDir that holds it and decoded, and
//! requests through the main address reach every backend.
//!
//! Run alone with `cargo test -p onionfront-e2e --test many_backends -- --nocapture`.

#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, bail};

use onionfront_e2e::hsdesc::{self, Decoded};
use onionfront_e2e::reach::reach_all;
use onionfront_e2e::scenario::{
    Progress, config_spec, fast_publish_yaml, service_spec, wait_published,
};
use onionfront_e2e::status::{self, PeriodView};
use onionfront_e2e::{Network, NetworkOptions, Onionfront};

/// Backends.
const N: usize = 12;
/// C tor's limit of intro points in one descriptor (clients reject more).
const MAX_INTRO_POINTS: u64 = 20;

#[test]
fn many_backends_distinct_descriptors_reach_all() {
    let p = Progress::start();
    let names: Vec<String> = (1..=N).map(|i| format!("b{i:02}")).collect();
    let net = Network::start(NetworkOptions::with_backends(names.clone())).expect("network");
    eprint!("{}", net.describe());
    p.say("network ready");
    let routers = (net.authorities.len() + net.relays.len()) as u64;
    let main = net.main_keys[0].address.clone();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let spec = config_spec(
        vec![service_spec(&net, 0, &refs, "intro-points-per-instance: 2\n").expect("service")],
        &fast_publish_yaml("10m"),
    );
    let mut of = net.spawn_onionfront(&spec).expect("spawn onionfront");
    let first = wait_published(&mut of, &main, &refs, Duration::from_secs(300)).expect("published");
    let st = of.status_json().expect("status");
    p.say(format!("published: {}", status::summary(&st)));
    for i in &first.instances {
        p.say(format!(
            "  {}: {} ({}), {} intro points published",
            i.name, i.health, i.reason, i.intro_points_published
        ));
    }
    for per in &first.periods {
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
            per.hsdirs.iter().all(|h| h.descriptor < per.descriptors),
            "an HSDir got descriptor index out of range: {:?}",
            per.hsdirs
        );
    }

    net.avoid_time_period_rotation(Duration::from_secs(180), Duration::from_secs(45))
        .expect("wait");

    // Independent of the status: what the HSDirs serve. For the current period (the one clients
    // look up), each distinct descriptor is fetched by a C tor client from an HSDir the status
    // says holds it (`HSFETCH ... SERVER=`), decoded, and mapped to backends by intro point auth
    // key.
    let client = net.client().expect("client");
    let backends: Vec<(String, Decoded)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let addr = net.backends[i].address().expect("address");
            let d = hsdesc::fetch(client, &addr, false, Duration::from_secs(120))
                .unwrap_or_else(|e| panic!("fetch the descriptor of {n}: {e:#}"));
            (n.clone(), d)
        })
        .collect();
    let (per, served) = (1..=4)
        .find_map(
            |attempt| match served_descriptors(&net, &mut of, &main, &refs) {
                Ok(x) => Some(x),
                Err(e) => {
                    p.say(format!("attempt {attempt}: {e:#}"));
                    None
                }
            },
        )
        .expect("every distinct descriptor fetched as the status says it was accepted");
    let tp = per.time_period;
    assert!(
        per.descriptors >= 2,
        "period {tp}: {N} backends on {routers} relays need distinct descriptors (one intro point \
         per relay and descriptor), the daemon built {}",
        per.descriptors
    );
    let mut covered: BTreeSet<String> = BTreeSet::new();
    let mut revisions = BTreeSet::new();
    for (d, hsdir, main_desc) in &served {
        let owners = hsdesc::owners(main_desc, &backends);
        let mut per_backend: BTreeMap<&str, usize> = BTreeMap::new();
        for o in &owners {
            *per_backend.entry(o.unwrap_or("?")).or_default() += 1;
        }
        p.say(format!(
            "descriptor {d} from {hsdir}: revision {}, {} intro points, per backend {per_backend:?}",
            main_desc.revision,
            main_desc.intro_points.len()
        ));
        assert!(
            main_desc.intro_points.len() as u64 <= MAX_INTRO_POINTS,
            "a served descriptor has {} intro points",
            main_desc.intro_points.len()
        );
        assert!(
            hsdesc::one_per_relay(main_desc),
            "a served descriptor lists two intro points on one relay"
        );
        assert!(
            owners.iter().all(Option::is_some),
            "descriptor {d} lists intro points of no backend: {per_backend:?}"
        );
        covered.extend(owners.iter().flatten().map(|s| s.to_string()));
        revisions.insert(main_desc.revision);
    }
    assert_eq!(
        revisions.len() as u64,
        per.descriptors,
        "each descriptor is a separate build with its own revision counter"
    );
    let missing: Vec<&String> = names.iter().filter(|n| !covered.contains(*n)).collect();
    p.say(format!(
        "{} distinct descriptors served; backends in none of them: {missing:?}",
        per.descriptors
    ));
    assert!(
        missing.is_empty(),
        "backends without an intro point in any served descriptor: {missing:?}"
    );
    let out = reach_all(
        net.client().expect("client"),
        &main,
        &names,
        8,
        Duration::from_secs(300),
    )
    .expect("every backend answers on the main address");
    p.say(format!("every backend reached: {out}"));
    assert!(of.is_running(), "onionfront exited");
    of.stop().expect("stop onionfront");
    p.say("scenario 8 passed");
}

/// A descriptor as an HSDir serves it: its index, the HSDir (`$FINGERPRINT`), what it served.
type Served = (u64, String, Decoded);

/// For the current period (the one clients look up), each distinct descriptor as an HSDir that
/// accepted it serves it, fetched by the C tor client (`HSFETCH ... SERVER=`) and decoded: the
/// period's status, and (descriptor index, HSDir, descriptor) per descriptor.
///
/// An error when what was fetched is not what the status said the HSDir accepted (the daemon
/// republished in between, e.g. on a new consensus): the caller asks again.
fn served_descriptors(
    net: &Network,
    of: &mut Onionfront,
    main: &str,
    refs: &[&str],
) -> anyhow::Result<(PeriodView, Vec<Served>)> {
    let view = wait_published(of, main, refs, Duration::from_secs(300))?;
    let tp = net.current_time_period();
    let per = view
        .period(tp)
        .with_context(|| format!("no status for the current period {tp}: {view:?}"))?
        .clone();
    let client = net.client()?;
    let mut served = Vec::new();
    for d in 0..per.descriptors {
        let hsdir = per
            .hsdirs
            .iter()
            .find(|h| h.descriptor == d && h.state == "accepted")
            .with_context(|| format!("descriptor {d} is on no HSDir: {:?}", per.hsdirs))?;
        let got = hsdesc::fetch_from(client, main, &hsdir.hsdir, Duration::from_secs(120))
            .with_context(|| format!("fetch descriptor {d} from {}", hsdir.hsdir))?;
        if hsdir.revision.is_some_and(|r| r != got.revision) {
            bail!(
                "{} served revision {} for descriptor {d}, the status said it accepted {:?} \
                 (republished meanwhile?)",
                hsdir.hsdir,
                got.revision,
                hsdir.revision
            );
        }
        served.push((d, hsdir.hsdir.clone(), got));
    }
    let after = wait_published(of, main, refs, Duration::from_secs(300))?;
    if after.period(tp).map(|a| &a.last_built) != Some(&per.last_built) {
        bail!("period {tp} was rebuilt while its descriptors were fetched");
    }
    Ok((per, served))
}
