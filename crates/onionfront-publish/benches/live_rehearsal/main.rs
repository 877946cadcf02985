//! The live rehearsal: three simulated days at the live Tor network's parameters (issue #14).
//!
//! Run: `cargo bench -p onionfront-publish --features testing --bench live_rehearsal`
//! (`-- --short` runs the 14-hour CI plan instead, `-- --dos` the denial-of-service phase alone). It runs the real scheduler on the fake
//! network with Arti's consensuses (paused tokio time), prints one line per simulated hour and
//! a last line with the run's figures. What it checks and how each figure is defined:
//! `checks.rs`; the plan and its faults: `schedule.rs`; the world: `sim.rs`; the consensuses:
//! `netdir.rs`.

mod checks;
mod netdir;
mod schedule;
mod sim;

use std::time::Instant;

use schedule::Plan;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let plan = if args.iter().any(|a| a == "--short") {
        Plan::short()
    } else if args.iter().any(|a| a == "--dos") {
        Plan::dos()
    } else {
        Plan::live()
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("no runtime: {e}");
            std::process::exit(1);
        }
    };
    let wall = Instant::now();
    let cpu_start = cpu_seconds();
    let mut rss_day1 = 0.0;
    let mut rss_day3 = 0.0;
    println!(
        "live rehearsal: {} h from {:02}:00 UTC, {} HSDirs ({} churn/h), {} services x {} backends",
        plan.hours, plan.start_hour, plan.relays, plan.churn_per_hour, plan.services, plan.backends
    );
    let result = rt.block_on(sim::run(&plan, |r| {
        let f = &r.figures;
        println!(
            "hour {:>2} ({:02}:00 UTC) coverage {:>7.3}% outside-faults {:>7.3}% samples {:>5} bad {:>3} faulted {:>3} stale-intro-min {:>2} (faulted HSDirs {:>2}) uploads {:>4}/{:<4} rss {:>5.1} MiB {}",
            r.hour,
            r.utc_hour,
            f.coverage(),
            f.coverage_outside_faults(),
            f.samples,
            f.bad,
            f.faulted,
            f.stale_intro_minutes,
            f.stale_intro_minutes_faulted,
            r.uploads.1,
            r.uploads.0,
            rss_mib(),
            r.events.join("; ")
        );
        if r.hour == 23 {
            rss_day1 = rss_mib();
        }
        if r.hour == 71 {
            rss_day3 = rss_mib();
        }
    }));
    let s = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rehearsal failed: {e}");
            std::process::exit(1);
        }
    };
    for i in &s.invalid {
        println!("invalid descriptor: {i}");
    }
    println!(
        "outside faults: coverage {:.3}%, bad samples near 00:00/12:00: {}; wall {:.1} s",
        s.total.coverage_outside_faults(),
        s.boundary_bad,
        wall.elapsed().as_secs_f64()
    );
    println!(
        "rehearsal: {} h simulated, coverage {:.2}%, worst gap {} s, stale-intro minutes {} (+{} on faulted HSDirs only), dos-current {}, cpu {:.1} s, rss day1 {:.1} MiB day3 {:.1} MiB",
        plan.hours,
        s.total.coverage(),
        s.worst_gap_secs,
        s.total.stale_intro_minutes,
        s.total.stale_intro_minutes_faulted,
        s.dos_current.map_or("n/a".into(), |d| format!("{d:.1}%")),
        cpu_seconds() - cpu_start,
        rss_day1,
        rss_day3
    );
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

/// Resident set size now (VmRSS), MiB.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
