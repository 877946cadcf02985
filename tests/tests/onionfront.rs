//! onionfront in front of C tor backends on the private network: the main address answers, and
//! over several fresh circuits every backend answers at least once.
//!
//! Ignored until the daemon publishes (issue #5); run with
//! `cargo test -p onionfront-e2e --test onionfront -- --ignored --nocapture`
//! (`ONIONFRONT_BIN` to test a given binary, else it is built).

#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use onionfront_e2e::client::SocksReplyError;
use onionfront_e2e::{Network, NetworkOptions, Onionfront, onionfront};

#[test]
#[ignore = "needs a publishing onionfront daemon (issue #5)"]
fn onionfront_main_address_reaches_every_backend() {
    let bin = onionfront::binary().expect("onionfront binary");
    let mut opts = NetworkOptions::with_backends(Vec::<String>::new());
    opts.main_keys = 0;
    let mut net = Network::start(opts).expect("network");

    let key = onionfront::keygen(&bin, &net.dir().join("main-0")).expect("onionfront keygen");
    net.main_keys.push(key.clone());
    let specs: Vec<(String, Vec<String>)> = ["b1", "b2", "b3"]
        .iter()
        .map(|n| (n.to_string(), vec![key.address.clone()]))
        .collect();
    net.add_backends(&specs).expect("backends");

    let written = net
        .write_onionfront_config(&net.default_config_spec().expect("spec"))
        .expect("config");
    let mut of = Onionfront::spawn(&bin, &written.path).expect("spawn onionfront");
    let status = of
        .wait_status(Duration::from_secs(60))
        .expect("status socket");
    eprintln!("[test] first status: {status}");
    net.avoid_time_period_rotation(Duration::from_secs(60), Duration::from_secs(45))
        .expect("wait");

    // Until every backend answered once: a descriptor-not-found makes the client skip those
    // HSDirs for a while, so switch to a fresh client then.
    let want: Vec<String> = net.backends.iter().map(|b| b.name.clone()).collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut i = 0;
    while !want.iter().all(|n| seen.contains_key(n)) {
        assert!(
            Instant::now() < deadline,
            "not every backend answered on {}: {seen:?}; onionfront status: {:?}",
            key.address,
            of.status_json().ok()
        );
        assert!(of.is_running(), "onionfront exited: {:?}", of.exit_status());
        i += 1;
        match net
            .client()
            .expect("client")
            .get(&key.address, &format!("main-{i}"))
        {
            Ok(body) => *seen.entry(body).or_default() += 1,
            Err(e) => {
                eprintln!("[test] GET main attempt {i}: {e:#}");
                if e.downcast_ref::<SocksReplyError>() == Some(&SocksReplyError(0xF0)) {
                    net.fresh_client().expect("fresh client");
                } else {
                    std::thread::sleep(Duration::from_secs(2));
                }
            }
        }
    }
    eprintln!("[test] answers after {i} attempts: {seen:?}");
    eprintln!("[test] final status: {:?}", of.status_json().ok());
    of.stop().expect("stop onionfront");
}
