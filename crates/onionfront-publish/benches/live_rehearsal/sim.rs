//! The rehearsal itself: the real scheduler (`onionfront_publish::spawn`) on the fake network
//! with Arti's consensuses (`netdir.rs`), driven minute by minute through a [`Plan`].
//!
//! Each simulated minute: first the world moves (at the hour a new consensus with HSDir churn,
//! unless it is late; backends republish when due, every 60-120 min, sometimes replacing an
//! intro point; they die, come back and restart on the plan's odds; every backend republishes
//! when a consensus starts a new period; the plan's faults start and end); then, 30 s later,
//! the checks of `checks.rs` sample every responsible HSDir.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use onionfront_core::OnionAddress;
use onionfront_core::config::{DistinctDescriptors, HealthCheckConfig, PublishConfig};
use onionfront_core::testing;
use onionfront_publish::fake::{Behaviour, FakeNetwork, START};
use onionfront_publish::network::{Directory, Network};
use onionfront_publish::{BackendSpec, HsDirId, SchedulerSpec, ServiceSpec};

use crate::checks::{CheckedService, Checker, Figures, IntroId, ServiceTruth};
use crate::netdir::ArtiConsensus;
use crate::schedule::{DOS_LENGTH_MINUTES, DOS_ROTATION_MINUTES, Plan, Rng};

/// Intro points per backend (C tor's default).
const INTRO_POINTS: u64 = 3;
/// Minutes at the start not sampled (the scheduler's first publication).
const WARM_UP_MINUTES: u64 = 5;

/// One backend of the world.
struct Backend {
    address: OnionAddress,
    /// Minute of its next scheduled republication.
    next_publish: u64,
    /// Dead until this minute.
    dead_until: Option<u64>,
}

/// What one hour looked like.
pub struct HourReport {
    /// Hour of the run (0-based).
    pub hour: u64,
    /// UTC hour of day.
    pub utc_hour: u64,
    /// The figures.
    pub figures: Figures,
    /// What happened (faults, rotations).
    pub events: Vec<String>,
    /// Upload attempts and accepted ones.
    pub uploads: (usize, usize),
}

/// The run's result.
pub struct Summary {
    /// Totals.
    pub total: Figures,
    /// Longest gap, seconds (one-minute resolution).
    pub worst_gap_secs: u64,
    /// Bad samples near a 00:00 or 12:00 boundary.
    pub boundary_bad: u64,
    /// Share of DoS-phase minutes with current intro points (percent), if there was one.
    pub dos_current: Option<f64>,
    /// Descriptors that failed validation (first reasons).
    pub invalid: Vec<String>,
}

/// The world's mutable parts.
struct World {
    net: Arc<FakeNetwork>,
    rng: Rng,
    backends: Vec<Backend>,
    /// Backend indices per service.
    service_backends: Vec<Vec<usize>>,
    identities: Vec<Arc<tor_hscrypto::pk::HsIdKeypair>>,
    truth: Vec<ServiceTruth>,
    next_seed: u64,
    next_relay_seed: u64,
    events: Vec<String>,
}

fn intro_ids(net: &FakeNetwork, address: OnionAddress) -> (bool, HashSet<IntroId>) {
    net.backend_intro_points(address)
        .map(|(alive, ips)| {
            let ids = ips
                .iter()
                .map(|ip| {
                    let k: &tor_llcrypto::pk::ed25519::PublicKey = ip.ipt_sid_key().as_ref();
                    k.to_bytes()
                })
                .collect();
            (alive, ids)
        })
        .unwrap_or_default()
}

impl World {
    fn fresh_intro_points(&mut self, i: usize) {
        let seed = self.next_seed;
        self.next_seed += 1;
        self.net
            .rotate_intro_points(self.backends[i].address, seed, INTRO_POINTS);
    }

    fn add_backend(&mut self, minute: u64) -> usize {
        let seed = self.next_seed;
        self.next_seed += 1;
        let address = self.net.add_backend(seed, INTRO_POINTS);
        let next_publish = minute + self.rng.range(60, 121);
        self.backends.push(Backend {
            address,
            next_publish,
            dead_until: None,
        });
        self.backends.len() - 1
    }

    fn spec(&self, s: usize) -> ServiceSpec {
        let identity = Arc::clone(&self.identities[s]);
        ServiceSpec {
            address: testing::address_of(&identity),
            keys: onionfront_core::keys::SigningKeys::Identity(identity),
            backends: self.service_backends[s]
                .iter()
                .enumerate()
                .map(|(pos, i)| BackendSpec::new(self.backends[*i].address, None, pos))
                .collect(),
            health_check: Some(HealthCheckConfig {
                port: 80,
                interval: Duration::from_secs(30),
                failures: 3,
                timeout: Duration::from_secs(10),
            }),
            auth_clients: vec![],
            intro_points_per_instance: 2,
            distinct_descriptors: DistinctDescriptors::Auto,
        }
    }

    fn update_truth(&mut self, now: SystemTime) {
        for s in 0..self.service_backends.len() {
            let mut current = HashSet::new();
            for i in &self.service_backends[s] {
                let (alive, ids) = intro_ids(&self.net, self.backends[*i].address);
                if alive {
                    current.extend(ids);
                }
            }
            self.truth[s].update(current, now);
        }
    }

    /// The backends' own life at `minute`: deaths, revivals, restarts, republications.
    fn backends_move(&mut self, minute: u64, plan: &Plan, new_period: bool) {
        for i in 0..self.backends.len() {
            let address = self.backends[i].address;
            if let Some(until) = self.backends[i].dead_until {
                if minute >= until {
                    self.backends[i].dead_until = None;
                    self.net.set_backend_alive(address, true);
                    self.fresh_intro_points(i); // a restarted C tor picks new intro points
                    self.events.push(format!("backend {i} back"));
                }
                continue;
            }
            // The backend under attack (service 0's first) stays up: the DoS figure measures
            // its intro points' churn, not a death.
            let attacked = plan.dos_minute.is_some() && i == self.service_backends[0][0];
            if minute % 60 == 30 && self.rng.one_in(plan.death_one_in) && !attacked {
                let hours = self.rng.range(1, 5);
                self.backends[i].dead_until = Some(minute + hours * 60);
                self.net.set_backend_alive(address, false);
                self.events.push(format!("backend {i} dies for {hours} h"));
                continue;
            }
            if minute % 60 == 45 && self.rng.one_in(plan.restart_one_in) {
                self.fresh_intro_points(i);
                self.events.push(format!("backend {i} restarts"));
            }
            if new_period || minute >= self.backends[i].next_publish {
                if self.rng.one_in(7) {
                    // Replace one intro point (C tor retires them after 18-24 h).
                    let seed = self.next_seed;
                    self.next_seed += 1;
                    if let Some((_, mut ips)) = self.net.backend_intro_points(address)
                        && !ips.is_empty()
                    {
                        ips.remove(0);
                        ips.push(testing::fake_intro_point(seed * 1000));
                        self.net.set_intro_points(address, ips);
                    }
                }
                self.net.publish_backend(address);
                self.backends[i].next_publish = minute + self.rng.range(60, 121);
            }
        }
    }
}

/// Run `plan`; `on_hour` gets each hour's report as it ends.
pub async fn run(plan: &Plan, mut on_hour: impl FnMut(&HourReport)) -> Result<Summary, String> {
    let start = SystemTime::UNIX_EPOCH + START + Duration::from_secs(plan.start_hour * 3600);
    let net = FakeNetwork::new_at(plan.relays, 1440, start);
    net.set_consensus_model(Arc::new(ArtiConsensus))?;
    let mut world = World {
        net: Arc::clone(&net),
        rng: Rng::new(plan.seed),
        backends: Vec::new(),
        service_backends: Vec::new(),
        identities: Vec::new(),
        truth: Vec::new(),
        next_seed: 100,
        next_relay_seed: 1_000_000,
        events: Vec::new(),
    };
    for s in 0..plan.services {
        let list = (0..plan.backends).map(|_| world.add_backend(0)).collect();
        world.service_backends.push(list);
        world
            .identities
            .push(Arc::new(testing::fake_identity(7_000 + s)));
        world.truth.push(ServiceTruth::default());
    }
    let publish = PublishConfig::default();
    let specs = (0..world.service_backends.len())
        .map(|s| world.spec(s))
        .collect();
    let handle = onionfront_publish::spawn(
        Arc::clone(&net),
        SchedulerSpec {
            publish,
            services: specs,
        },
    );
    let mut checker = Checker::default();
    let mut faulted: HashSet<HsDirId> = HashSet::new();
    let mut late_until: Option<u64> = None;
    let mut period = net.snapshot().current_period().interval_num();
    let mut dos_ever: HashSet<IntroId> = HashSet::new();
    let mut uploads = (0usize, 0usize);
    for minute in 0..plan.hours * 60 {
        let hour = minute / 60;
        let utc_minute = (plan.start_hour * 60 + minute) % 1440;
        let mut new_period = false;
        // The hourly consensus, with churn; or not, while it is late.
        if minute % 60 == 0 && minute > 0 {
            if plan.late_consensus_hour == Some(hour) {
                late_until = Some(hour + 2);
                world.events.push("consensus late by 2 h".into());
            }
            if late_until.is_none_or(|h| hour >= h) {
                late_until = None;
                let relays = net.hsdirs();
                for _ in 0..plan.churn_per_hour {
                    let victim = relays[world.rng.range(0, relays.len() as u64) as usize];
                    if !faulted.contains(&victim) {
                        net.remove_relay(victim);
                    }
                    net.add_relay(world.next_relay_seed);
                    world.next_relay_seed += 1;
                }
                net.new_consensus_at(start + Duration::from_secs(minute * 60))?;
                let now_period = net.snapshot().current_period().interval_num();
                if now_period != period {
                    period = now_period;
                    new_period = true;
                    world.events.push(format!("period {period} starts"));
                }
            }
        }
        // Injected HSDir faults, on HSDirs responsible for the services.
        for f in &plan.hsdir_faults {
            if minute == f.from_hour * 60 {
                let seed = world.rng.next_u64();
                let picked = pick_responsible(&net, &world, f.count, seed);
                for h in &picked {
                    net.set_behaviour(*h, f.behaviour);
                }
                world
                    .events
                    .push(format!("{} HSDirs {:?}", picked.len(), f.behaviour));
                faulted.extend(picked);
            }
            if minute == f.to_hour * 60 {
                for h in faulted.drain() {
                    net.set_behaviour(h, Behaviour::Normal);
                }
                world.events.push("HSDir faults end".into());
            }
        }
        if let Some((at, by)) = plan.clock_step
            && minute == at
        {
            net.step_clock_back(by);
            world.events.push(format!("clock steps back {by:?}"));
        }
        if plan.reload_minute == Some(minute) {
            let added = world.add_backend(minute);
            world.service_backends[1].push(added);
            world.service_backends[1].remove(3);
            let services = (0..world.service_backends.len())
                .map(|s| world.spec(s))
                .collect();
            handle
                .reload(SchedulerSpec { publish, services })
                .await
                .map_err(|e| format!("reload: {e}"))?;
            world.events.push("reload: +1 backend, -1 backend".into());
        }
        world.backends_move(minute, plan, new_period);
        let dos_backend = world.service_backends[0][0];
        let in_dos = plan
            .dos_minute
            .is_some_and(|d| minute >= d && minute < d + DOS_LENGTH_MINUTES);
        if in_dos
            && plan
                .dos_minute
                .is_some_and(|d| (minute - d) % DOS_ROTATION_MINUTES == 0)
        {
            world.fresh_intro_points(dos_backend);
            world
                .net
                .publish_backend(world.backends[dos_backend].address);
        }
        world.update_truth(net.now());
        tokio::time::sleep(Duration::from_secs(30)).await;
        if minute >= WARM_UP_MINUTES {
            let (_, dos_now) = intro_ids(&net, world.backends[dos_backend].address);
            if in_dos {
                dos_ever.extend(dos_now.iter().copied());
            }
            let services: Vec<CheckedService<'_>> = (0..world.truth.len())
                .map(|s| CheckedService {
                    address: testing::address_of(&world.identities[s]),
                    identity: &world.identities[s],
                    truth: &world.truth[s],
                })
                .collect();
            let near = [0u64, 720]
                .iter()
                .any(|b| utc_minute.abs_diff(*b) <= 15 || utc_minute + 15 >= 1440 && *b == 0);
            let dos = in_dos.then(|| (services[0].address, &dos_ever, &dos_now));
            checker.sample(&net, &services, &faulted, minute, near, dos);
        }
        for u in net.take_uploads() {
            uploads.0 += 1;
            uploads.1 += usize::from(u.accepted);
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
        if minute % 60 == 59 {
            let report = HourReport {
                hour,
                utc_hour: (plan.start_hour + hour) % 24,
                figures: checker.end_hour(),
                events: std::mem::take(&mut world.events),
                uploads: std::mem::take(&mut uploads),
            };
            on_hour(&report);
        }
    }
    handle.shutdown().await;
    Ok(Summary {
        total: checker.total,
        worst_gap_secs: checker.worst_gap_minutes * 60,
        boundary_bad: checker.boundary_bad,
        dos_current: (checker.dos_minutes.0 > 0)
            .then(|| 100.0 * checker.dos_minutes.1 as f64 / checker.dos_minutes.0 as f64),
        invalid: checker.invalid,
    })
}

/// `count` HSDirs responsible for some service's current period, picked with `seed`.
fn pick_responsible(net: &FakeNetwork, world: &World, count: usize, seed: u64) -> Vec<HsDirId> {
    let dir = net.snapshot();
    let period = dir.current_period();
    let mut all: Vec<HsDirId> = Vec::new();
    for id in &world.identities {
        if let Ok((blind, _, _)) = id.compute_blinded_key(period.time_period) {
            all.extend(dir.hsdirs_upload(&blind.id(), period.time_period));
        }
    }
    all.sort();
    all.dedup();
    let mut rng = Rng::new(seed);
    let mut out: Vec<HsDirId> = Vec::new();
    while out.len() < count.min(all.len()) {
        let h = all[rng.range(0, all.len() as u64) as usize];
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}
