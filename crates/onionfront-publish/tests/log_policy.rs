//! The scheduler's logs name backends by their label (`name`, else `instances[N]`), never by
//! their onion address, not even its first characters (docs/operations.md, "Backend
//! addresses"): checked on a run with a health check failing, an HSDir refusing fetches and
//! uploads, and debug logging on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onionfront_core::config::{DistinctDescriptors, HealthCheckConfig, PublishConfig};
use onionfront_core::testing;
use onionfront_publish::fake::{Behaviour, FakeNetwork};
use onionfront_publish::{BackendSpec, SchedulerSpec, ServiceSpec};

/// Everything logged, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn logs_name_backends_by_label_never_by_address() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let net = FakeNetwork::new(8, 1440);
    let backends: Vec<_> = (1..=3).map(|s| net.add_backend(s, 2)).collect();
    let identity = testing::fake_identity(100);
    let spec = ServiceSpec {
        address: testing::address_of(&identity),
        keys: onionfront_core::keys::SigningKeys::Identity(Arc::new(identity)),
        backends: vec![
            BackendSpec::new(backends[0], Some("alpha".into()), 0),
            BackendSpec::new(backends[1], None, 1),
            BackendSpec::new(backends[2], Some("gamma".into()), 2),
        ],
        health_check: Some(HealthCheckConfig {
            port: 80,
            interval: Duration::from_secs(30),
            failures: 2,
            timeout: Duration::from_secs(10),
        }),
        auth_clients: vec![],
        intro_points_per_instance: 2,
        distinct_descriptors: DistinctDescriptors::Auto,
    };
    net.set_behaviour(net.hsdirs()[0], Behaviour::Refuse(503));
    net.set_backend_alive(backends[1], false);
    let handle = onionfront_publish::spawn(
        Arc::clone(&net),
        SchedulerSpec {
            publish: PublishConfig {
                fetch_interval: Duration::from_secs(60),
                hsdir_timeout: Duration::from_secs(30),
                ..PublishConfig::default()
            },
            services: vec![spec],
        },
    );
    tokio::time::sleep(Duration::from_secs(600)).await;
    handle.shutdown().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for label in [
        "backend=alpha",
        "backend=instances[1]",
        "health check: backend DOWN",
    ] {
        assert!(logs.contains(label), "no {label:?} in the logs:\n{logs}");
    }
    for address in &backends {
        let full = address.to_string();
        let prefix = &full[..8];
        if let Some(line) = logs.lines().find(|l| l.contains(prefix)) {
            panic!("a backend address ({prefix}…) in the logs: {line}");
        }
    }
}
