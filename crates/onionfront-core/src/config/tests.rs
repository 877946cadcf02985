//! Tests of the config loader: Onionbalance's files accepted as they are, onionfront's keys read
//! with defaults, and every bad input with its exact message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::keys::ServiceKey;

/// The address of the key with seed `[n; 32]`.
fn addr(n: u8) -> String {
    ServiceKey::from_seed(&[n; 32]).address().to_string()
}

fn ok(text: &str) -> Config {
    match parse(text, Path::new("/etc/of/config.yaml")) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error:\n{e}"),
    }
}

fn err(text: &str) -> String {
    parse(text, Path::new("config.yaml"))
        .expect_err("expected an error")
        .to_string()
}

/// A valid one-service config with `extra` appended to the service (indented 4).
fn service_with(extra: &str) -> String {
    format!(
        "services:\n  - key: main.key\n    instances:\n      - address: {}\n{extra}",
        addr(1)
    )
}

#[test]
fn onionbalance_config_unchanged() {
    let text = [
        "# Onionbalance Config File",
        "status-socket-location: run/ob.sock",
        "services:",
        "- instances:",
        &format!("  - address: {}", addr(1)),
        "    name: node1",
        &format!("  - address: {}", addr(2).trim_end_matches(".onion")),
        "    name: node2",
        &format!("  key: {}.key", addr(9).trim_end_matches(".onion")),
        "",
    ]
    .join("\n");
    let c = ok(&text);
    assert_eq!(c.source, PathBuf::from("/etc/of/config.yaml"));
    assert_eq!(c.status_socket, Some(PathBuf::from("/etc/of/run/ob.sock")));
    assert_eq!(c.services.len(), 1);
    let s = &c.services[0];
    assert_eq!(
        s.key,
        PathBuf::from(format!(
            "/etc/of/{}.key",
            addr(9).trim_end_matches(".onion")
        ))
    );
    assert_eq!(s.instances.len(), 2);
    assert_eq!(s.instances[0].address.to_string(), addr(1));
    assert_eq!(s.instances[0].name.as_deref(), Some("node1"));
    assert_eq!(s.instances[1].address.to_string(), addr(2));
    assert_eq!(s.health_check, None);
    assert!(s.authorized_clients.is_empty());
    assert_eq!(s.intro_points_per_instance, None);
    assert_eq!(s.distinct_descriptors, None);
    assert_eq!(c.arti, ArtiConfig::default());
    assert_eq!(c.tor_network, None);
    assert_eq!(c.publish, PublishConfig::default());
    assert_eq!(c.log, LogConfig::default());
    assert_eq!(c.metrics, None);
}

#[test]
fn every_onionfront_key() {
    let text = format!(
        "status-socket-location: /run/onionfront/control
services:
  - key: /keys/main.key
    instances:
      - address: {a}
        name: node1
      - {b}
    health-check: {{port: 8080, interval: 10s, failures: 5, timeout: 20s}}
    authorized-clients:
      - \"descriptor:x25519:ZPRRMIV6DV6SJFL7SFBSVLJ5VUNPGCDFEVZ7M23LTLVTCCXJQBKA\"
      - {{name: alice, key: \"descriptor:x25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}
    intro-points-per-instance: 3
    distinct-descriptors: off
arti:
  state-dir: state
  cache-dir: /var/cache/x
  permissive-file-permissions: true
  memory-max: 512 MiB
tor-network:
  authorities: [0123456789abcdef0123456789ABCDEF01234567]
  fallbacks:
    - {{rsa-identity: 89ABCDEF0123456789ABCDEF0123456789ABCDEF, ed-identity: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, orport: \"127.0.0.1:5000\"}}
  hsdir-interval: 8
publish:
  fetch-interval: 1m
  republish-interval: 30m
  stale-after: 2h
  intro-points-per-instance: 4
  max-intro-points: 10
  distinct-descriptors: auto
  hsdir-timeout: 45s
  descriptor-lifetime: 240
log:
  level: onionfront=debug,warn
metrics:
  listen: \"[::1]:9477\"
",
        a = addr(1),
        b = addr(2)
    );
    let c = ok(&text);
    let s = &c.services[0];
    assert_eq!(s.key, PathBuf::from("/keys/main.key"));
    assert_eq!(s.instances[1].name, None);
    assert_eq!(
        s.health_check,
        Some(HealthCheckConfig {
            port: 8080,
            interval: Duration::from_secs(10),
            failures: 5,
            timeout: Duration::from_secs(20),
        })
    );
    assert_eq!(s.authorized_clients.len(), 2);
    assert_eq!(
        s.authorized_clients[0].name,
        "services[0].authorized-clients[0]"
    );
    assert_eq!(s.authorized_clients[1].name, "alice");
    assert_eq!(s.authorized_clients[1].key, [0u8; 32]);
    assert_eq!(s.intro_points_per_instance, Some(3));
    assert_eq!(s.distinct_descriptors, Some(DistinctDescriptors::Off));
    assert_eq!(
        c.arti,
        ArtiConfig {
            state_dir: "/etc/of/state".into(),
            cache_dir: "/var/cache/x".into(),
            permissive_file_permissions: true,
            memory_max: 512 * 1024 * 1024,
        }
    );
    let net = c.tor_network.unwrap();
    assert_eq!(
        net.authorities,
        ["0123456789ABCDEF0123456789ABCDEF01234567"]
    );
    assert_eq!(net.fallbacks.len(), 1);
    assert_eq!(net.fallbacks[0].ed_identity, "A".repeat(43));
    assert_eq!(
        net.fallbacks[0].orport,
        "127.0.0.1:5000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(net.hsdir_interval, Some(8));
    assert_eq!(
        c.publish,
        PublishConfig {
            fetch_interval: Duration::from_secs(60),
            republish_interval: Duration::from_secs(30 * 60),
            stale_after: Duration::from_secs(2 * 3600),
            intro_points_per_instance: 4,
            max_intro_points: 10,
            distinct_descriptors: DistinctDescriptors::Auto,
            hsdir_timeout: Duration::from_secs(45),
            descriptor_lifetime_minutes: 240,
            offline_keys_warn: Duration::from_secs(7 * 86_400),
        }
    );
    assert_eq!(c.log.level, "onionfront=debug,warn");
    assert_eq!(
        c.metrics.unwrap().listen,
        "[::1]:9477".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn health_check_defaults_and_log_level_names() {
    let c = ok(&format!(
        "{}    health-check:\n      port: 80\nlog: {{level: WARNING}}\n",
        service_with("")
    ));
    assert_eq!(
        c.services[0].health_check,
        Some(HealthCheckConfig {
            port: 80,
            interval: Duration::from_secs(30),
            failures: 3,
            timeout: Duration::from_secs(30),
        })
    );
    assert_eq!(c.log.level, "warn");
    assert_eq!(
        ok(&format!("{}log: {{level: critical}}\n", service_with("")))
            .log
            .level,
        "error"
    );
}

#[test]
fn io_and_syntax_errors() {
    let e = load(Path::new("/nonexistent/config.yaml")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/nonexistent/config.yaml: cannot read the config file: No such file or directory (os error 2)"
    );
    assert_eq!(
        err("services:\n  - key: a\n   instances: []\n"),
        "config.yaml:3:13: YAML syntax error: while parsing a block collection, did not find expected '-' indicator"
    );
    assert_eq!(
        err("services: [a, b\n"),
        "config.yaml:2:1: YAML syntax error: while parsing a flow sequence, expected ',' or ']'"
    );
    assert_eq!(
        err("a: 1\n---\nb: 2\n"),
        "config.yaml:3:1: expected one YAML document, found 2 (remove the `---` separators)"
    );
}

#[test]
fn missing_things() {
    assert_eq!(err(""), "config.yaml:1:1: missing required key `services`");
    assert_eq!(
        err("status-socket-location: /x\n"),
        "config.yaml:1:1: missing required key `services`"
    );
    assert_eq!(
        err("- a\n- b\n"),
        "config.yaml:1:1: expected a mapping with `services:` at the top, found a list"
    );
    assert_eq!(
        err("services:\n"),
        "config.yaml:1:10: services: no services: list at least one `- key: <key file>` with \
         its `instances:`"
    );
    assert_eq!(
        err(&format!(
            "services:\n  - instances:\n      - address: {}\n",
            addr(1)
        )),
        "config.yaml:2:5: services[0]: missing required key `key`"
    );
    assert_eq!(
        err("services:\n  - key: k\n"),
        "config.yaml:2:5: services[0]: missing required key `instances`"
    );
    assert_eq!(
        err("services:\n  - key: k\n    instances: []\n"),
        "config.yaml:3:16: services[0].instances: the instance list is empty: list at least one \
         backend as `- address: <backend>.onion`"
    );
    assert_eq!(
        err("services:\n  - key: k\n    instances:\n"),
        "config.yaml:3:15: services[0].instances: the instance list is empty: list at least one \
         backend as `- address: <backend>.onion`"
    );
    assert_eq!(
        err("services:\n  - key:\n    instances: [{name: x}]\n"),
        "config.yaml:2:9: services[0].key: expected a value, found nothing\n\
         config.yaml:3:18: services[0].instances[0]: missing required key `address`"
    );
}

#[test]
fn unknown_keys_with_suggestions() {
    assert_eq!(
        err(&format!("{}servics: []\n", service_with(""))),
        "config.yaml:5:1: unknown key `servics`; did you mean `services`?"
    );
    assert_eq!(
        err(&format!(
            "services:\n  - key: k\n    instance:\n      - address: {}\n",
            addr(1)
        )),
        "config.yaml:2:5: services[0]: missing required key `instances`\n\
         config.yaml:3:5: services[0]: unknown key `instance`; did you mean `instances`?"
    );
    assert_eq!(
        err(&service_with("        nmae: x\n")),
        "config.yaml:5:9: services[0].instances[0]: unknown key `nmae`; did you mean `name`?"
    );
    assert_eq!(
        err(&format!(
            "{}publish:\n  fetch_interval: 1m\n  colour: red\n",
            service_with("")
        )),
        "config.yaml:6:3: publish: unknown key `fetch_interval`; did you mean `fetch-interval`?\n\
         config.yaml:7:3: publish: unknown key `colour`"
    );
    assert_eq!(
        err(&format!(
            "{}status-socket-location: /a\nstatus-socket-location: /b\n",
            service_with("")
        )),
        "config.yaml:6:1: status-socket-location: duplicate key `status-socket-location` (first \
         given on line 5)"
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        err("services: abc\n"),
        "config.yaml:1:11: services: expected a list (`- item` lines), found a string"
    );
    assert_eq!(
        err(&format!(
            "services:\n  - key: k\n    instances: {}\n",
            addr(1)
        )),
        "config.yaml:3:16: services[0].instances: expected a list (`- item` lines), found a string"
    );
    assert_eq!(
        err(&service_with("    health-check: 80\n")),
        "config.yaml:5:19: services[0].health-check: expected a mapping (`key: value` lines), \
         found a number"
    );
    assert_eq!(
        err(&format!(
            "{}arti:\n  permissive-file-permissions: yes\n",
            service_with("")
        )),
        "config.yaml:6:32: arti.permissive-file-permissions: expected true or false, found a string"
    );
    assert_eq!(
        err(&service_with("    intro-points-per-instance: two\n")),
        "config.yaml:5:32: services[0].intro-points-per-instance: expected a whole number, found \
         a string"
    );
}

#[test]
fn invalid_addresses() {
    let a = addr(1);
    let label = a.trim_end_matches(".onion");
    let cases = [
        (
            "abc.onion".to_string(),
            "expected 56 base32 characters (optionally followed by .onion), found 3",
        ),
        (
            format!("1{}", &label[1..]),
            "character '1' at position 1 is not base32 (a-z, 2-7)",
        ),
        (
            format!(
                "{}{}",
                &label[..10],
                if &label[10..11] == "a" { "b" } else { "a" }
            ) + &label[11..],
            "checksum mismatch: the address is mistyped or truncated",
        ),
        (
            format!("{}a", &label[..55]),
            "version byte is 0, only v3 onion addresses (version 3) are supported",
        ),
    ];
    for (bad, msg) in cases {
        let text = format!(
            "services:\n  - key: k\n    instances:\n      - address: {a}\n      - address: {bad}\n"
        );
        let e = err(&text);
        // A flipped character may break the key (point decoding) rather than the checksum.
        if msg.starts_with("checksum") && e.contains("not a valid ed25519 key") {
            continue;
        }
        assert_eq!(
            e,
            format!("config.yaml:5:18: services[0].instances[1].address: {msg}")
        );
    }
}

#[test]
fn duplicates_and_placeholders() {
    let a = addr(1);
    assert_eq!(
        err(&format!(
            "services:\n  - key: k\n    instances:\n      - address: {a}\n        name: x\n      - address: {}\n",
            a.trim_end_matches(".onion").to_uppercase()
        )),
        format!(
            "config.yaml:6:18: services[0].instances[1].address: duplicate instance {a} \
             (already listed on line 4)"
        )
    );
    assert_eq!(
        err(
            "services:\n  - key: k\n    instances:\n      - address: <Enter the instance onion address here>\n"
        ),
        "config.yaml:4:18: services[0].instances[0].address: placeholder \"<Enter the instance \
         onion address here>\" not replaced: put the backend's onion address here (the hostname \
         file in its tor's HiddenServiceDir)"
    );
}

#[test]
fn ranges_and_formats() {
    let base = service_with("");
    let cases: Vec<(String, String)> = vec![
        (
            "    intro-points-per-instance: 21\n".into(),
            "config.yaml:5:32: services[0].intro-points-per-instance: must be between 1 and 20, found 21".into(),
        ),
        (
            "    distinct-descriptors: sometimes\n".into(),
            "config.yaml:5:27: services[0].distinct-descriptors: expected `auto` or `off`, found `sometimes`".into(),
        ),
        (
            "    health-check: {port: 0}\n".into(),
            "config.yaml:5:26: services[0].health-check.port: must be between 1 and 65535, found 0".into(),
        ),
        (
            "    health-check: {port: 80, interval: 30}\n".into(),
            "config.yaml:5:40: services[0].health-check.interval: `30` has no unit: write `30s` for seconds or `30m` for minutes".into(),
        ),
        (
            "    health-check: {interval: 5x}\n".into(),
            "config.yaml:5:20: services[0].health-check: missing required key `port`\n\
             config.yaml:5:30: services[0].health-check.interval: expected a duration like `30s`, `2m` or `1h 30m`, found `5x` (unknown time unit \"x\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations))".into(),
        ),
        (
            "    authorized-clients: [\"descriptor:x25519:AAAA\"]\n".into(),
            "config.yaml:5:26: services[0].authorized-clients[0]: the x25519 key must be 52 base32 characters, found 4".into(),
        ),
    ];
    let mut wrong = Vec::new();
    for (extra, want) in cases {
        let got = err(&format!("{base}{extra}"));
        if got != want {
            wrong.push(format!("for {extra}\n got: {got}\nwant: {want}"));
        }
    }
    let top: Vec<(&str, &str)> = vec![
        (
            "publish:\n  max-intro-points: 25\n",
            "config.yaml:6:21: publish.max-intro-points: must be between 1 and 20, found 25",
        ),
        (
            "publish:\n  descriptor-lifetime: 10\n",
            "config.yaml:6:24: publish.descriptor-lifetime: must be between 30 and 720, found 10",
        ),
        (
            "publish:\n  hsdir-timeout: 1h\n",
            "config.yaml:6:18: publish.hsdir-timeout: must be between 1s and 10m, found 1h",
        ),
        (
            "publish:\n  republish-interval: 3h\n",
            "config.yaml:6:23: publish.republish-interval: 3h is not shorter than the descriptor \
             lifetime (180 minutes): descriptors would expire on the HSDirs before being republished",
        ),
        (
            "publish:\n  fetch-interval: 1h\n  stale-after: 30m\n",
            "config.yaml:7:16: publish.stale-after: 30m must be longer than publish.fetch-interval \
             (1h), or every backend looks stale",
        ),
        (
            "metrics:\n  listen: 0.0.0.0:9477\n",
            "config.yaml:6:11: metrics.listen: 0.0.0.0:9477 is not a loopback address: the metrics \
             endpoint has no authentication, so it listens on 127.0.0.1 or [::1] only (use a \
             reverse proxy to expose it)",
        ),
        (
            "metrics:\n  listen: localhost:9477\n",
            "config.yaml:6:11: metrics.listen: expected IP:PORT like `127.0.0.1:9477` or \
             `[::1]:9477`, found `localhost:9477`",
        ),
        (
            "metrics: {}\n",
            "config.yaml:5:10: metrics: missing required key `listen`",
        ),
        (
            "tor-network:\n  hsdir-interval: 8\n",
            "config.yaml:6:3: tor-network: missing required key `authorities`\n\
             config.yaml:6:3: tor-network: missing required key `fallbacks`",
        ),
        (
            "tor-network:\n  authorities: []\n  fallbacks: []\n",
            "config.yaml:6:16: tor-network.authorities: list at least one directory authority \
             (its v3 identity, 40 hex characters)\n\
             config.yaml:7:14: tor-network.fallbacks: list at least one fallback directory cache",
        ),
        (
            "tor-network:\n  authorities: [ABC]\n  fallbacks: [{rsa-identity: x, ed-identity: y, orport: z}]\n  hsdir-interval: 2\n",
            "config.yaml:6:17: tor-network.authorities[0]: expected 40 hex characters (a relay \
             identity fingerprint), found `ABC`\n\
             config.yaml:7:30: tor-network.fallbacks[0].rsa-identity: expected 40 hex characters \
             (a relay identity fingerprint), found `x`\n\
             config.yaml:7:46: tor-network.fallbacks[0].ed-identity: expected an Ed25519 identity \
             in base64 (43 characters, no `=` padding), found `y`\n\
             config.yaml:7:57: tor-network.fallbacks[0].orport: expected IP:PORT like \
             `127.0.0.1:9477` or `[::1]:9477`, found `z`\n\
             config.yaml:8:19: tor-network.hsdir-interval: must be between 5 and 14400, found 2",
        ),
    ];
    for (extra, want) in top {
        let got = err(&format!("{base}{extra}"));
        if got != want {
            wrong.push(format!("for {extra}\n got: {got}\nwant: {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    let e = err(&format!("{base}log:\n  level: \"=\"\n"));
    assert!(
        e.starts_with("config.yaml:6:10: log.level: `=` is not a log level (trace, debug, info, warn, error) or a tracing filter"),
        "{e}"
    );
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = format!(
        "services:\n  - key: k\n    instances:\n      - address: abc\n      - address: {}\n    helth-check: {{}}\npublish:\n  max-intro-points: 0\n",
        addr(1)
    );
    let e = parse(&text, Path::new("config.yaml")).unwrap_err();
    assert_eq!(e.diagnostics().len(), 3);
    assert_eq!(
        e.to_string(),
        "config.yaml:4:18: services[0].instances[0].address: expected 56 base32 characters \
         (optionally followed by .onion), found 3\n\
         config.yaml:6:5: services[0]: unknown key `helth-check`; did you mean `health-check`?\n\
         config.yaml:8:21: publish.max-intro-points: must be between 1 and 20, found 0"
    );
    let first = e.first().unwrap();
    assert_eq!(
        first.position,
        Some(Position {
            line: 4,
            column: 18
        })
    );
    assert_eq!(first.field, "services[0].instances[0].address");
    assert!(matches!(
        first.problem,
        Problem::Address(crate::AddressError::Length(3))
    ));
}

// ---- with keys ----

fn write_key(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
    p
}

#[test]
fn keys_of_both_formats_in_one_config() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pem_key = ServiceKey::from_seed(&[10; 32]);
    let ctor_key = ServiceKey::from_seed(&[11; 32]);
    write_key(d, "ob.key", pem_key.to_pem().unwrap().as_bytes(), 0o600);
    std::fs::create_dir(d.join("hs")).unwrap();
    write_key(
        d,
        "hs/hs_ed25519_secret_key",
        &ctor_key.ctor_secret_file(),
        0o600,
    );
    let text = format!(
        "services:\n  - key: ob.key\n    instances: [{{address: {a}}}]\n  - key: hs/hs_ed25519_secret_key\n    instances: [{{address: {a}}}]\n",
        a = addr(1)
    );
    let path = d.join("config.yaml");
    std::fs::write(&path, &text).unwrap();
    let loaded = load_with_keys(&path).unwrap();
    assert_eq!(loaded.keys.len(), 2);
    assert_eq!(loaded.keys[0].address(), pem_key.address());
    assert_eq!(loaded.keys[0].format(), Some(crate::keys::KeyFormat::Pem));
    assert_eq!(loaded.keys[1].address(), ctor_key.address());
    assert_eq!(loaded.keys[1].format(), Some(crate::keys::KeyFormat::CTor));
    assert_eq!(loaded.services().count(), 2);
}

#[test]
fn checks_that_need_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = ServiceKey::from_seed(&[12; 32]);
    write_key(d, "a.key", &key.ctor_secret_file(), 0o600);
    write_key(d, "same.key", key.to_pem().unwrap().as_bytes(), 0o600);
    write_key(d, "open.key", &key.ctor_secret_file(), 0o644);
    let own = key.address();
    let text = format!(
        "services:\n\
         \x20 - key: a.key\n\
         \x20   instances:\n\
         \x20     - address: {a}\n\
         \x20     - address: {own}\n\
         \x20 - key: same.key\n\
         \x20   instances: [{{address: {a}}}]\n\
         \x20 - key: open.key\n\
         \x20   instances: [{{address: {a}}}]\n\
         \x20 - key: missing.key\n\
         \x20   instances: [{{address: {a}}}]\n",
        a = addr(1)
    );
    let path = d.join("config.yaml");
    let e = parse_with_keys(&text, &path).unwrap_err().to_string();
    let p = path.display();
    let open = d.join("open.key");
    let open = open.display();
    let missing = d.join("missing.key");
    let missing = missing.display();
    assert_eq!(
        e,
        format!(
            "{p}:5:18: services[0].instances[1].address: {own} is this service's own address; \
             a service cannot be its own backend\n\
             {p}:6:10: services[1].key: same key (and address {own}) as services[0]; each \
             service needs its own key\n\
             {p}:8:10: services[2].key: key file {open} is accessible by group or others (mode \
             0644); run `chmod 600 {open}`\n\
             {p}:10:10: services[3].key: key file {missing} does not exist"
        )
    );
    // `arti.permissive-file-permissions` relaxes the permission check.
    let text = format!(
        "services:\n  - key: open.key\n    instances: [{{address: {a}}}]\narti: {{permissive-file-permissions: true}}\n",
        a = addr(1)
    );
    assert!(parse_with_keys(&text, &path).is_ok());
}

#[test]
fn example_config_is_valid_and_complete() {
    let text = include_str!("../../../../config.example.yaml");
    let c = ok(text);
    assert_eq!(c.services.len(), 1);
    assert_eq!(c.services[0].authorized_clients.len(), 2);
    // With the commented-out sections enabled too: drop "# " from those blocks.
    let mut in_block = false;
    let uncommented: String = text
        .lines()
        .map(|l| {
            if l.starts_with("# tor-network:") || l.starts_with("# metrics:") {
                in_block = true;
            } else if !l.starts_with("#  ") {
                in_block = false;
            }
            if in_block {
                format!("{}\n", &l[2..])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let c = ok(&uncommented);
    assert!(c.tor_network.is_some(), "{uncommented}");
    assert!(c.metrics.is_some());
}

#[test]
fn odd_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.yaml");
    std::fs::write(&p, b"services:\n  - key: \xff\n").unwrap();
    assert_eq!(
        load(&p).unwrap_err().to_string(),
        format!(
            "{}: the file is not UTF-8 text (is it the key file instead of the config?)",
            p.display()
        )
    );
    assert_eq!(
        err("services:\n  - just-a-string\n"),
        "config.yaml:2:5: services[0]: expected a mapping (`key: value` lines), found a string"
    );
    assert_eq!(
        err(&service_with("    intro-points-per-instance: -1\n")),
        "config.yaml:5:32: services[0].intro-points-per-instance: must be between 1 and 20, found -1"
    );
    // Anchors and aliases work, and positions of aliased values are where they are used.
    let c = ok(&format!(
        "services:\n  - key: a.key\n    instances: &b [{{address: {a}}}]\n  - key: b.key\n    instances: *b\n",
        a = addr(1)
    ));
    assert_eq!(c.services[1].instances, c.services[0].instances);
}

/// A file over the size limit is refused before it is parsed (and before it is read whole), and
/// a "billion laughs" file at the alias budget; both errors name the file.
#[test]
fn size_and_alias_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.yaml");
    let mut big = service_with("");
    big.push_str(&"# padding\n".repeat((MAX_CONFIG_BYTES as usize) / 10 + 1));
    std::fs::write(&p, &big).unwrap();
    assert_eq!(
        load(&p).unwrap_err().to_string(),
        format!(
            "{}: the file is larger than 1024 KiB: not a config file (a config with a thousand \
             backends is under 200 KiB)",
            p.display()
        )
    );

    let mut laughs = String::from("x0: &x0 [l, l, l, l, l, l, l, l, l, l]\n");
    for i in 1..12 {
        let p = i - 1;
        laughs.push_str(&format!(
            "x{i}: &x{i} [{}]\n",
            vec![format!("*x{p}"); 10].join(", ")
        ));
    }
    laughs.push_str(&service_with(""));
    std::fs::write(&p, &laughs).unwrap();
    let t = std::time::Instant::now();
    let e = load(&p).unwrap_err().to_string();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        e.starts_with(&format!("{}:5:", p.display()))
            && e.contains("YAML syntax error: the document has more than 100000 nodes"),
        "{e}"
    );
}
