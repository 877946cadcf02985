//! What the rehearsal checks at every simulated minute, and the figures it keeps.
//!
//! For each service and each period the (latest) consensus says to publish for, on every HSDir
//! Arti makes responsible for it, a sample is **good** when the HSDir holds a main descriptor it
//! accepted under C tor's rules (the fake HSDir enforces the size limit, the increasing revision
//! counter and the descriptor lifetime) that validates as a client would validate it (signature,
//! blinded key of that period, certificates not expired). Samples on HSDirs made to misbehave by
//! the plan are counted apart (*faulted*): coverage outside faults excludes them.
//!
//! **Stale intro points.** An intro point listed in a good descriptor must belong to a backend
//! the service has, that is alive and lists it now, except within [`STALE_BOUND`] of the moment
//! it stopped being so. The bound: onionfront sees a rotation at its next fetch (at most
//! `fetch-interval`, 2 min, after it) and a death after 3 failed probes 30 s apart (~100 s);
//! publication and upload take seconds more; samples fall 30 s after the minute's events.
//! Five minutes covers it with margin. Stale intro points held by an HSDir the plan made
//! misbehave (it refuses or drops uploads, so it keeps serving what it accepted before the
//! fault) are counted apart, like coverage outside faults: that is the fault, not onionfront.
//!
//! **Gaps.** A gap is a run of consecutive bad (not faulted) minutes of one (service, period,
//! HSDir); the worst gap is the longest, in seconds at one-minute resolution. A gap that touches
//! the 15 minutes around a 00:00 or 12:00 boundary is a boundary gap.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use onionfront_core::OnionAddress;
use onionfront_core::descriptor::validate_backend_descriptor;
use onionfront_core::period::PeriodParams;
use onionfront_publish::HsDirId;
use onionfront_publish::fake::FakeNetwork;
use onionfront_publish::network::{Directory, Network};

/// How long after an intro point stops being current it may still be listed.
pub const STALE_BOUND: Duration = Duration::from_secs(5 * 60);

/// One intro point's identity (its auth key, as the scheduler names it).
pub type IntroId = [u8; 32];

/// A main descriptor, as validated (kept per stored text).
#[derive(Debug, Clone)]
struct Checked {
    /// Validation error, if any.
    error: Option<String>,
    /// Intro points listed.
    intros: Vec<IntroId>,
    /// Certificates' expiry.
    valid_until: SystemTime,
}

/// What a service looks like to the checks at one minute.
#[derive(Debug, Default)]
pub struct ServiceTruth {
    /// Intro points current now (live backends of the service).
    pub current: HashSet<IntroId>,
    /// When each intro point that was once current stopped being so.
    pub stale_since: HashMap<IntroId, SystemTime>,
}

impl ServiceTruth {
    /// Update with the intro points current at `now`.
    pub fn update(&mut self, current: HashSet<IntroId>, now: SystemTime) {
        for old in self.current.difference(&current) {
            self.stale_since.entry(*old).or_insert(now);
        }
        for new in &current {
            self.stale_since.remove(new);
        }
        self.current = current;
    }

    fn is_stale(&self, id: &IntroId, now: SystemTime) -> bool {
        if self.current.contains(id) {
            return false;
        }
        self.stale_since
            .get(id)
            .is_none_or(|since| now.duration_since(*since).unwrap_or_default() > STALE_BOUND)
    }
}

/// Figures over an hour or the whole run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Figures {
    /// Samples taken.
    pub samples: u64,
    /// Good samples.
    pub good: u64,
    /// Samples on faulted HSDirs.
    pub faulted: u64,
    /// Bad samples on HSDirs that were not faulted.
    pub bad: u64,
    /// Minutes in which some good descriptor on an HSDir outside the plan's faults listed a
    /// stale intro point.
    pub stale_intro_minutes: u64,
    /// Minutes in which only HSDirs faulted by plan served stale intro points.
    pub stale_intro_minutes_faulted: u64,
}

impl Figures {
    /// Coverage over every sample, in percent.
    pub fn coverage(&self) -> f64 {
        pct(self.good, self.samples)
    }
    /// Coverage outside injected HSDir faults, in percent.
    pub fn coverage_outside_faults(&self) -> f64 {
        pct(self.good, self.good + self.bad)
    }
    fn add(&mut self, o: &Figures) {
        self.samples += o.samples;
        self.good += o.good;
        self.faulted += o.faulted;
        self.bad += o.bad;
        self.stale_intro_minutes += o.stale_intro_minutes;
        self.stale_intro_minutes_faulted += o.stale_intro_minutes_faulted;
    }
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}

/// The checker: caches and running figures.
#[derive(Default)]
pub struct Checker {
    /// Validated texts by address (the fake shares one `Arc` per upload), kept with the text.
    cache: HashMap<usize, (Arc<str>, Checked, u64)>,
    /// Blinded ids by (service, period).
    blind: HashMap<(OnionAddress, u64), tor_hscrypto::pk::HsBlindId>,
    /// Current run of bad minutes per (service, period, HSDir), with its first minute.
    runs: HashMap<(OnionAddress, u64, HsDirId), u64>,
    /// This hour's figures.
    pub hour: Figures,
    /// The whole run's figures.
    pub total: Figures,
    /// Longest gap in minutes.
    pub worst_gap_minutes: u64,
    /// Bad samples within 15 minutes of a 00:00 or 12:00 boundary.
    pub boundary_bad: u64,
    /// Minutes of the DoS phase checked, and those where the DoS backend's intro points were
    /// current on every responsible HSDir of the current period.
    pub dos_minutes: (u64, u64),
    /// Descriptors that failed validation (the first few reasons).
    pub invalid: Vec<String>,
}

/// One service as the checker sees it.
pub struct CheckedService<'a> {
    /// Its address.
    pub address: OnionAddress,
    /// Its identity (to compute blinded ids).
    pub identity: &'a tor_hscrypto::pk::HsIdKeypair,
    /// What is current.
    pub truth: &'a ServiceTruth,
}

impl Checker {
    /// Sample every (service, period, HSDir) at `minute`. `faulted` are HSDirs misbehaving by
    /// plan; `near_boundary` says whether the minute is within 15 min of 00:00 or 12:00; `dos`
    /// is, while the phase runs, the attacked backend's service and that backend's intro points
    /// (ever and now).
    pub fn sample(
        &mut self,
        net: &FakeNetwork,
        services: &[CheckedService<'_>],
        faulted: &HashSet<HsDirId>,
        minute: u64,
        near_boundary: bool,
        dos: Option<(OnionAddress, &HashSet<IntroId>, &HashSet<IntroId>)>,
    ) {
        let dir = net.snapshot();
        let now = net.now();
        let mut stale_now = false;
        let mut stale_faulted_now = false;
        let mut dos_ok = dos.is_some();
        let current_num = dir.current_period().interval_num();
        for svc in services {
            for period in dir.publish_periods() {
                let num = period.interval_num();
                let Some(blind) = self.blind_id(svc, &period) else {
                    continue;
                };
                for hsdir in dir.hsdirs_upload(&blind, period.time_period) {
                    let checked = net
                        .stored(hsdir, &blind)
                        .map(|(text, _)| self.check(text, svc.address, &period, now, minute));
                    let good = checked.as_ref().is_some_and(|c| {
                        c.error.is_none() && c.valid_until > now && !c.intros.is_empty()
                    });
                    self.hour.samples += 1;
                    let key = (svc.address, num, hsdir);
                    if good {
                        self.hour.good += 1;
                        self.runs.remove(&key);
                    } else if faulted.contains(&hsdir) {
                        self.hour.faulted += 1;
                        self.runs.remove(&key);
                    } else {
                        self.hour.bad += 1;
                        if near_boundary {
                            self.boundary_bad += 1;
                        }
                        let first = *self.runs.entry(key).or_insert(minute);
                        self.worst_gap_minutes = self.worst_gap_minutes.max(minute + 1 - first);
                    }
                    let Some(c) = checked.filter(|_| good) else {
                        if num == current_num && dos.is_some_and(|d| d.0 == svc.address) {
                            dos_ok = false;
                        }
                        continue;
                    };
                    if c.intros.iter().any(|i| svc.truth.is_stale(i, now)) {
                        if faulted.contains(&hsdir) {
                            stale_faulted_now = true;
                        } else {
                            stale_now = true;
                        }
                    }
                    if let Some((addr, ever, current)) = dos
                        && addr == svc.address
                        && num == current_num
                    {
                        let mine: Vec<&IntroId> =
                            c.intros.iter().filter(|i| ever.contains(*i)).collect();
                        if mine.is_empty() || mine.iter().any(|i| !current.contains(*i)) {
                            dos_ok = false;
                        }
                    }
                }
            }
        }
        if stale_now {
            self.hour.stale_intro_minutes += 1;
        } else if stale_faulted_now {
            self.hour.stale_intro_minutes_faulted += 1;
        }
        if dos.is_some() {
            self.dos_minutes.0 += 1;
            self.dos_minutes.1 += u64::from(dos_ok);
        }
        // Forget texts not sampled this minute: the cache holds each text (`Arc`), so keeping
        // superseded ones would keep in memory every descriptor the DoS phase published.
        self.cache.retain(|_, (_, _, seen)| *seen == minute);
    }

    /// Close the hour: add its figures to the total and return them.
    pub fn end_hour(&mut self) -> Figures {
        let h = std::mem::take(&mut self.hour);
        self.total.add(&h);
        h
    }

    fn blind_id(
        &mut self,
        svc: &CheckedService<'_>,
        period: &PeriodParams,
    ) -> Option<tor_hscrypto::pk::HsBlindId> {
        let key = (svc.address, period.interval_num());
        if let Some(b) = self.blind.get(&key) {
            return Some(*b);
        }
        let (blind, _, _) = svc.identity.compute_blinded_key(period.time_period).ok()?;
        let id = blind.id();
        self.blind.insert(key, id);
        Some(id)
    }

    fn check(
        &mut self,
        text: Arc<str>,
        address: OnionAddress,
        period: &PeriodParams,
        now: SystemTime,
        minute: u64,
    ) -> Checked {
        let key = Arc::as_ptr(&text).cast::<u8>() as usize;
        if let Some((_, c, seen)) = self.cache.get_mut(&key) {
            *seen = minute;
            return c.clone();
        }
        let c = match validate_backend_descriptor(&text, &address, period, now) {
            Ok(d) => Checked {
                error: None,
                intros: d
                    .intro_points
                    .iter()
                    .map(|ip| {
                        let k: &tor_llcrypto::pk::ed25519::PublicKey = ip.ipt_sid_key().as_ref();
                        k.to_bytes()
                    })
                    .collect(),
                valid_until: d.valid_until,
            },
            Err(e) => {
                if self.invalid.len() < 5 {
                    self.invalid.push(format!("minute {minute}: {e}"));
                }
                Checked {
                    error: Some(e.to_string()),
                    intros: Vec::new(),
                    valid_until: now,
                }
            }
        };
        self.cache.insert(key, (text, c.clone(), minute));
        c
    }
}
