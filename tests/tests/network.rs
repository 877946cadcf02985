//! Scenario tests of the private Tor network itself (no onionfront): proves the authorities,
//! HSDirs, C tor backends and the client work, so later onionfront scenarios can trust them.
//!
//! One network per test function; scenarios that can share a network run in sequence inside one
//! test function (a network costs ~30 s and ~1 GB). Run with
//! `cargo test -p onionfront-e2e --test network`.

#![allow(clippy::expect_used)]

use std::time::Duration;

use onionfront_e2e::client::SocksReplyError;
use onionfront_e2e::keys::{address_of_public_key_file, generate_client_auth};
use onionfront_e2e::{Network, NetworkOptions};

/// Each backend's own address answers with the backend's name through the client's SOCKS port.
fn scenario_backends_answer_on_own_address(net: &Network) {
    let client = net.client().expect("client");
    for b in &net.backends {
        let addr = b.address().expect("backend address");
        // Our address derivation agrees with C tor's.
        assert_eq!(
            address_of_public_key_file(&b.hs_dir().join("hs_ed25519_public_key"))
                .expect("public key file"),
            addr
        );
        let before = b.http.requests();
        let body = client
            .get_retry(
                &addr,
                &format!("direct-{}", b.name),
                4,
                Duration::from_secs(2),
            )
            .unwrap_or_else(|e| panic!("GET {addr} ({}): {e:#}", b.name));
        assert_eq!(body, b.name, "{addr} answered with another name");
        assert!(b.http.requests() > before);
    }
}

/// The config fragment for onionfront has what Arti needs.
fn scenario_tor_network_yaml(net: &Network) {
    let y = net.tor_network_yaml();
    for a in &net.authorities {
        assert!(y.contains(&a.v3ident), "{y}");
        assert!(y.contains(&a.rsa_fingerprint), "{y}");
        assert!(y.contains(&a.ed_identity), "{y}");
        assert!(y.contains(&format!("127.0.0.1:{}", a.or_port)), "{y}");
    }
    assert!(y.contains("hsdir-interval: 8"), "{y}");
    assert_eq!(net.hsdir_interval_minutes(), 8);
}

/// GET `addr` through a new client (no cached descriptor or failed intro points), retrying
/// `attempts` times 3 s apart; panics naming `when`.
fn get_with_fresh_client(net: &mut Network, addr: &str, when: &str, attempts: usize) -> String {
    net.fresh_client()
        .expect("fresh client")
        .get_retry(
            addr,
            &when.replace(' ', "-"),
            attempts,
            Duration::from_secs(3),
        )
        .unwrap_or_else(|e| panic!("GET {addr} {when}: {e:#}"))
}

/// The harness's restart operations work: a restarted backend (same address) answers again
/// through a fresh client, and still does with a relay down.
///
/// The relay is stopped only once the backend has republished: a C tor service started just
/// after a relay it still believes running went down was seen (in CI) to make no upload within
/// 45 s, and meanwhile the HSDirs serve its previous descriptor, whose intro points died with
/// the old process.
fn scenario_backend_restart(net: &mut Network) {
    let addr = net.backends[0].address().expect("address");
    net.stop_backend(0).expect("stop backend");
    assert!(!net.backends[0].node.is_running());
    net.start_backend(0).expect("restart backend");
    assert_eq!(net.backends[0].address().expect("address"), addr);
    let name = net.backends[0].name.clone();
    assert_eq!(get_with_fresh_client(net, &addr, "after restart", 4), name);

    net.stop_relay(4).expect("stop relay");
    assert!(!net.relays[4].node.is_running());
    assert_eq!(
        get_with_fresh_client(net, &addr, "with relay4 down", 6),
        name
    );
    net.start_relay(4).expect("restart relay");
}

/// The client's control port works (NEWNYM), and the harness's restricted-discovery keys are
/// what C tor expects: a backend with an `authorized_clients/` entry is reached by a client with
/// the matching `.auth_private` file, and refused ("missing client authorization") without it.
fn scenario_client_auth_keys_with_c_tor(net: &mut Network) {
    net.client().expect("client").newnym().expect("NEWNYM");
    let key = generate_client_auth().expect("key");
    net.stop_backend(1).expect("stop backend");
    net.backends[1]
        .set_authorized_clients(&[key.auth_line()])
        .expect("authorized_clients");
    net.start_backend(1).expect("restart backend");
    let addr = net.backends[1].address().expect("address");
    let name = net.backends[1].name.clone();

    let auth_dir = net.dir().join("client-auth-b");
    key.write_auth_private(&auth_dir, "b", &addr)
        .expect("auth_private");
    let client = net
        .fresh_client_with_torrc(&format!("ClientOnionAuthDir {}", auth_dir.display()))
        .expect("client with key");
    let body = client
        .get_retry(&addr, "auth", 4, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("GET {addr} with the client key: {e:#}"));
    assert_eq!(body, name);

    let client = net.fresh_client().expect("client without key");
    let err = client
        .get(&addr, "noauth")
        .expect_err("a client without the key reached a restricted backend");
    assert_eq!(
        err.downcast_ref::<SocksReplyError>(),
        Some(&SocksReplyError(0xF4)),
        "{err:#}"
    );
}

#[test]
fn network_backends_answer_directly() {
    let mut net = Network::start(NetworkOptions::with_backends(["b1", "b2"])).expect("network");
    eprint!("{}", net.describe());
    scenario_tor_network_yaml(&net);
    scenario_backends_answer_on_own_address(&net);
    scenario_backend_restart(&mut net);
    scenario_client_auth_keys_with_c_tor(&mut net);
}
