//! Scheduler load on the fake network: CPU time and peak RSS for 1 service × 3 backends and
//! 50 services × 10 backends, over two simulated hours (paused tokio time: fetch rounds every
//! 2 minutes, backends republishing every 30 minutes, a new consensus every hour), plus the
//! simulated time from start to the first main descriptor accepted by every responsible HSDir.
//!
//! Run: `cargo bench -p onionfront-publish --features testing --bench scheduler_load`.
//! Each case runs in a fresh child process so peak RSS is its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use onionfront_core::config::{DistinctDescriptors, PublishConfig};
use onionfront_core::testing;
use onionfront_publish::fake::FakeNetwork;
use onionfront_publish::{BackendSpec, SchedulerSpec, ServiceSpec, StatusReport};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--case") {
        let services: u64 = args.get(pos + 1).and_then(|v| v.parse().ok()).unwrap_or(1);
        let backends: u64 = args.get(pos + 2).and_then(|v| v.parse().ok()).unwrap_or(3);
        run_case(services, backends);
        return;
    }
    println!("scheduler load on the fake network (2 simulated hours)");
    println!(
        "{:>9} {:>9} {:>14} {:>12} {:>13} {:>12} {:>10}",
        "services", "backends", "first-publish", "cpu (s)", "peak RSS MiB", "uploads", "fetches"
    );
    for (s, b) in [(1u64, 3u64), (50, 10)] {
        let exe = std::env::current_exe().unwrap_or_else(|_| "scheduler_load".into());
        match std::process::Command::new(exe)
            .args(["--case", &s.to_string(), &b.to_string()])
            .output()
        {
            Ok(out) => print!("{}", String::from_utf8_lossy(&out.stdout)),
            Err(e) => eprintln!("case {s}x{b} failed to run: {e}"),
        }
    }
}

fn run_case(n_services: u64, n_backends: u64) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("no runtime: {e}");
            return;
        }
    };
    let cpu_start = cpu_seconds();
    let wall = Instant::now();
    let (first_publish, uploads, fetches) = rt.block_on(async move {
        let net = FakeNetwork::new(40, 1440);
        let mut services = Vec::new();
        for s in 0..n_services {
            let backends: Vec<BackendSpec> = (0..n_backends)
                .map(|b| {
                    BackendSpec::new(
                        net.add_backend(10_000 + s * 100 + b, 3),
                        None,
                        usize::try_from(b).unwrap_or(0),
                    )
                })
                .collect();
            let identity = testing::fake_identity(s + 1);
            services.push(ServiceSpec {
                address: testing::address_of(&identity),
                keys: onionfront_core::keys::SigningKeys::Identity(Arc::new(identity)),
                backends,
                health_check: None,
                auth_clients: vec![],
                intro_points_per_instance: 2,
                distinct_descriptors: DistinctDescriptors::Auto,
            });
        }
        let start = tokio::time::Instant::now();
        let handle = onionfront_publish::spawn(
            Arc::clone(&net),
            SchedulerSpec {
                publish: PublishConfig::default(),
                services,
            },
        );
        let mut rx = handle.status();
        let mut first = None;
        for minute in 0..120u64 {
            tokio::time::sleep(Duration::from_secs(60)).await;
            if first.is_none() && all_accepted(&rx.borrow_and_update()) {
                first = Some(start.elapsed());
            }
            if minute % 30 == 29 {
                net.publish_all_backends();
            }
            if minute % 60 == 59 {
                net.new_consensus();
            }
        }
        handle.shutdown().await;
        (first, net.uploads().len(), net.fetch_count())
    });
    println!(
        "{:>9} {:>9} {:>14} {:>12.2} {:>13.1} {:>12} {:>10}   (wall {:.1}s)",
        n_services,
        n_backends,
        first_publish.map_or("never".to_string(), |d| format!(
            "{:.0}s sim",
            d.as_secs_f64()
        )),
        cpu_seconds() - cpu_start,
        peak_rss_mib(),
        uploads,
        fetches,
        wall.elapsed().as_secs_f64()
    );
}

fn all_accepted(s: &StatusReport) -> bool {
    !s.services.is_empty()
        && s.services.iter().all(|svc| {
            !svc.periods.is_empty()
                && svc
                    .periods
                    .iter()
                    .all(|p| p.total > 0 && p.accepted == p.total)
        })
}

/// User + system CPU seconds of this process (from /proc/self/stat).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// Peak resident set size (VmHWM) in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
