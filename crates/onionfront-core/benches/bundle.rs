//! Key bundle benchmarks: provisioning a year of daily (1440-minute) time periods from an
//! identity key (what `onionfront keys provision --days 365` does), writing it, and reading it
//! back (what the daemon does at start-up and on SIGHUP); then, once, the largest bundle the size
//! limit is made for: a year of 5-minute periods.
//!
//! Run: `cargo bench -p onionfront-core --bench bundle` (add `-- --quick` for a short run). A
//! plain summary (the mean of a fixed number of runs) is printed first; Criterion's statistics
//! follow.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use criterion::Criterion;
use onionfront_core::keys::{KeyBundle, ServiceKey};

/// 2027-01-15T08:00:00Z.
fn from() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A year of periods of `minutes` (offset 12 hours, the live network's).
fn provision_year(key: &ServiceKey, minutes: u32) -> KeyBundle {
    KeyBundle::provision(
        key,
        from(),
        from() + Duration::from_secs(365 * 86_400),
        minutes,
        12 * 3600,
    )
    .unwrap()
}

/// Mean time of `runs` calls of `f`.
fn mean<T>(runs: u32, mut f: impl FnMut() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..runs {
        black_box(f());
    }
    start.elapsed() / runs
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(key: &ServiceKey) {
    let year = provision_year(key, 1440);
    let text = year.encode();
    println!(
        "key bundle, one year of 1440-minute periods ({} periods, {} bytes):",
        year.len(),
        text.len()
    );
    let provision = mean(10, || provision_year(key, 1440));
    println!(
        "  provision (blind + certify + check): {:>8.1} ms",
        ms(provision)
    );
    let encode = mean(10, || year.encode());
    println!(
        "  encode:                              {:>8.1} ms",
        ms(encode)
    );
    let parse = mean(10, || {
        KeyBundle::parse(text.as_bytes(), Path::new("b")).unwrap()
    });
    println!(
        "  parse (check every certificate):     {:>8.1} ms",
        ms(parse)
    );

    let start = Instant::now();
    let five = provision_year(key, 5);
    let provision5 = start.elapsed();
    let text5 = five.encode();
    let start = Instant::now();
    black_box(KeyBundle::parse(text5.as_bytes(), Path::new("b")).unwrap());
    let parse5 = start.elapsed();
    println!(
        "key bundle, one year of 5-minute periods ({} periods, {:.1} MB): provision {:.2} s, \
         parse {:.2} s",
        five.len(),
        text5.len() as f64 / 1e6,
        provision5.as_secs_f64(),
        parse5.as_secs_f64()
    );
    println!();
}

fn benches(c: &mut Criterion, key: &ServiceKey) {
    let mut g = c.benchmark_group("bundle");
    g.sample_size(10);
    g.bench_function("provision_year_1440", |b| {
        b.iter(|| provision_year(black_box(key), 1440))
    });
    let text = provision_year(key, 1440).encode();
    g.bench_function("parse_year_1440", |b| {
        b.iter(|| KeyBundle::parse(black_box(text.as_bytes()), Path::new("b")).unwrap())
    });
    g.finish();
}

fn main() {
    let key = ServiceKey::from_seed(&[1u8; 32]);
    summary(&key);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c, &key);
    c.final_summary();
}
