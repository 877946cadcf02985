//! What the rehearsal runs: its size, where it starts, and the seeded schedule of faults
//! ([`Plan`]), plus the small deterministic generator every random choice comes from ([`Rng`]).
//!
//! Every fault is at a fixed hour of the run (so a figure can be traced to its cause); what is
//! random (which HSDirs churn or fail, which backend dies and for how long, when a backend
//! republishes) comes from [`Rng`] seeded with [`Plan::seed`], so two runs are identical.

use std::time::Duration;

/// SplitMix64: small, deterministic, good enough to pick relays and delays.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi` (`lo` if the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo)
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        n > 0 && self.next_u64().is_multiple_of(n)
    }
}

/// HSDirs misbehaving for a while.
#[derive(Debug, Clone, Copy)]
pub struct HsDirFault {
    /// First hour of the run (inclusive).
    pub from_hour: u64,
    /// Last hour (exclusive).
    pub to_hour: u64,
    /// How many HSDirs (picked at random among those responsible for the services).
    pub count: usize,
    /// What they do.
    pub behaviour: onionfront_publish::fake::Behaviour,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Simulated hours.
    pub hours: u64,
    /// Hours after 2026-11-22 00:00 UTC the run starts (a whole hour).
    pub start_hour: u64,
    /// HSDirs in the consensus.
    pub relays: u64,
    /// HSDirs leaving (and as many joining) at each hourly consensus.
    pub churn_per_hour: u64,
    /// Services.
    pub services: u64,
    /// Backends per service.
    pub backends: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// A backend dies (for 1 to 4 hours) with probability 1 / this, each hour.
    pub death_one_in: u64,
    /// A backend restarts (new intro points) with probability 1 / this, each hour.
    pub restart_one_in: u64,
    /// HSDirs refusing, hanging or down.
    pub hsdir_faults: Vec<HsDirFault>,
    /// The consensus due at this hour arrives 2 hours late.
    pub late_consensus_hour: Option<u64>,
    /// The clock steps back by this much at this minute.
    pub clock_step: Option<(u64, Duration)>,
    /// A reload adding a backend to service 1 and removing its fourth, at this minute.
    pub reload_minute: Option<u64>,
    /// The denial-of-service phase: from this minute, for 2 hours, service 0's first backend
    /// replaces its intro points every 5 minutes.
    pub dos_minute: Option<u64>,
}

/// How long the denial-of-service phase lasts.
pub const DOS_LENGTH_MINUTES: u64 = 120;
/// How often intro points are replaced during it.
pub const DOS_ROTATION_MINUTES: u64 = 5;

impl Plan {
    /// The full rehearsal: 72 hours from 00:00 UTC at the live network's size.
    pub fn live() -> Self {
        use onionfront_publish::fake::Behaviour;
        Plan {
            hours: 72,
            start_hour: 0,
            relays: 3000,
            churn_per_hour: 60,
            services: 3,
            backends: 10,
            seed: 14,
            death_one_in: 120,
            restart_one_in: 200,
            hsdir_faults: vec![
                HsDirFault {
                    from_hour: 5,
                    to_hour: 7,
                    count: 4,
                    behaviour: Behaviour::Refuse(503),
                },
                HsDirFault {
                    from_hour: 30,
                    to_hour: 32,
                    count: 4,
                    behaviour: Behaviour::Hang,
                },
                HsDirFault {
                    from_hour: 50,
                    to_hour: 51,
                    count: 4,
                    behaviour: Behaviour::Down,
                },
            ],
            late_consensus_hour: Some(60),
            clock_step: Some((20 * 60 + 7, Duration::from_secs(5))),
            reload_minute: Some(26 * 60 + 13),
            dos_minute: Some(44 * 60 + 3),
        }
    }

    /// The CI version: 14 hours from 23:00 UTC (the 00:00 SRV change after 1 hour, the 12:00
    /// rotation after 13), 300 HSDirs with the same 2 % hourly churn, 1 service x 5 backends
    /// with the same behaviour (republications, deaths, restarts), no injected faults.
    pub fn short() -> Self {
        Plan {
            hours: 14,
            start_hour: 23,
            relays: 300,
            churn_per_hour: 6,
            services: 1,
            backends: 5,
            death_one_in: 40,
            hsdir_faults: Vec::new(),
            late_consensus_hour: None,
            clock_step: None,
            reload_minute: None,
            dos_minute: None,
            ..Plan::live()
        }
    }

    /// The denial-of-service phase alone (`-- --dos`): 4 hours from 00:00 UTC, the phase from
    /// minute 63, at the CI plan's size; a quick way to measure dos-current.
    pub fn dos() -> Self {
        Plan {
            hours: 4,
            start_hour: 0,
            dos_minute: Some(63),
            ..Plan::short()
        }
    }
}
