//! Scenario 7 of issue #5, restricted discovery: with `authorized-clients:` on the service, a C tor
//! client holding the x25519 key (`ClientOnionAuthDir` with a `.auth_private` file) reaches every
//! backend, while a client without a key, and a client with another key, cannot (SOCKS error
//! "missing/wrong client authorization").
//!
//! Run with `cargo test -p onionfront-e2e --test restricted_discovery -- --nocapture`.

#![allow(clippy::expect_used)]

use std::time::Duration;

use onionfront_e2e::client::{Client, SocksReplyError};
use onionfront_e2e::keys::generate_client_auth;
use onionfront_e2e::reach::{fresh_tag, reach_all};
use onionfront_e2e::scenario::{
    Progress, config_spec, fast_publish_yaml, service_spec, wait_published,
};
use onionfront_e2e::status;
use onionfront_e2e::{Network, NetworkOptions};

/// SOCKS5 extended errors of C tor: missing and wrong client authorization.
const MISSING_AUTH: u8 = 0xF4;
const WRONG_AUTH: u8 = 0xF5;

/// `tries` lookups on fresh state (NEWNYM before each but the first); every one must fail. Returns
/// the SOCKS codes seen.
fn must_not_reach(client: &Client, main: &str, tries: usize) -> Vec<u8> {
    let mut codes = Vec::new();
    for i in 0..tries {
        if i > 0 {
            client.newnym().expect("newnym");
        }
        match client.get_with_timeout(main, &fresh_tag("denied"), Duration::from_secs(60)) {
            Ok(body) => panic!("a client without the right key reached {main}: {body:?}"),
            Err(e) => {
                eprintln!("[test] refused as expected: {e:#}");
                if let Some(SocksReplyError(c)) = e.downcast_ref::<SocksReplyError>() {
                    codes.push(*c);
                }
            }
        }
    }
    codes
}

#[test]
fn restricted_discovery_only_authorized_clients_reach() {
    let p = Progress::start();
    let mut net = Network::start(NetworkOptions::with_backends(["b1", "b2"])).expect("network");
    eprint!("{}", net.describe());
    p.say("network ready");
    let main = net.main_keys[0].address.clone();
    let key = generate_client_auth().expect("x25519 key");
    let other = generate_client_auth().expect("another x25519 key");
    let auth_yaml = format!("authorized-clients:\n  - {:?}\n", key.auth_line());
    let spec = config_spec(
        vec![service_spec(&net, 0, &["b1", "b2"], &auth_yaml).expect("service")],
        &fast_publish_yaml("10m"),
    );
    let mut of = net.spawn_onionfront(&spec).expect("spawn onionfront");
    wait_published(&mut of, &main, &["b1", "b2"], Duration::from_secs(240)).expect("published");
    p.say(format!(
        "published: {}",
        status::summary(&of.status_json().expect("status"))
    ));
    net.avoid_time_period_rotation(Duration::from_secs(90), Duration::from_secs(45))
        .expect("wait");

    // Authorized client.
    let auth_dir = net.dir().join("client-auth");
    key.write_auth_private(&auth_dir, "main", &main)
        .expect("auth_private");
    let client = net
        .fresh_client_with_torrc(&format!("ClientOnionAuthDir {}", auth_dir.display()))
        .expect("authorized client");
    let want: Vec<String> = ["b1", "b2"].iter().map(|s| s.to_string()).collect();
    let out = reach_all(client, &main, &want, 6, Duration::from_secs(300))
        .expect("the authorized client reaches every backend");
    p.say(format!("authorized client: {out}"));

    // No key.
    let client = net.fresh_client().expect("client without key");
    let codes = must_not_reach(client, &main, 3);
    p.say(format!("client without key: SOCKS codes {codes:x?}"));
    assert!(
        codes.contains(&MISSING_AUTH),
        "expected 'missing client authorization' ({MISSING_AUTH:#x}), got {codes:x?}"
    );

    // Another key.
    let other_dir = net.dir().join("client-auth-other");
    other
        .write_auth_private(&other_dir, "main", &main)
        .expect("auth_private");
    let client = net
        .fresh_client_with_torrc(&format!("ClientOnionAuthDir {}", other_dir.display()))
        .expect("client with another key");
    let codes = must_not_reach(client, &main, 3);
    p.say(format!("client with another key: SOCKS codes {codes:x?}"));
    assert!(
        codes.iter().any(|c| *c == WRONG_AUTH || *c == MISSING_AUTH),
        "expected a client authorization error, got {codes:x?}"
    );
    assert!(of.is_running(), "onionfront exited");
    of.stop().expect("stop onionfront");
    p.say("scenario 7 passed");
}
