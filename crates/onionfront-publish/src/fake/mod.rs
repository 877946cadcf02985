//! A fake Tor network for scheduler tests and benchmarks: HSDirs with C tor's storage rules,
//! backends that publish real signed descriptors, injectable faults, and a clock that follows
//! tokio's (paused) time so hours pass in milliseconds.
//!
//! Where each part lives: this file holds the network's state and the controls tests use
//! (relays, consensuses, backends, clock); `directory.rs` the consensus view (periods, rings,
//! or a plugged-in [`ConsensusModel`]); `serve.rs` what an HSDir does with a fetch or an upload.
//!
//! The HSDir rules, as C tor applies them (`hs_cache.c`): an upload is stored only if it is no
//! larger than [`MAX_DESCRIPTOR_SIZE`] and its revision counter is higher than the stored one
//! (else HTTP 400); a stored descriptor is dropped once its `descriptor-lifetime` has passed
//! since it was stored. A relay takes part in rings only from the next consensus after it was
//! added or removed; a removed relay is unreachable at once.

mod directory;
mod serve;

pub use directory::{ConsensusModel, ConsensusView, FakeDirectory, MAX_DESCRIPTOR_SIZE};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use onionfront_core::OnionAddress;
use onionfront_core::testing;
use tokio::sync::broadcast;
use tor_hscrypto::pk::{HsBlindId, HsIdKeypair};
use tor_netdoc::doc::hsdesc::IntroPointDesc;

use crate::network::{DEFAULT_CC_SENDME_INC, Directory, HsDirId, Network};
use tor_protover::Protocols;

/// How an HSDir behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Stores and serves like C tor.
    Normal,
    /// Answers every request with this HTTP status.
    Refuse(u16),
    /// Never answers (the caller's timeout fires).
    Hang,
    /// Unreachable (circuit fails at once).
    Down,
    /// Answers fetches with a body of this many bytes, read the way Arti's directory client
    /// reads (1 KiB windows, failing past the consensus' size limit): a body over the limit
    /// never takes more than limit + one window of memory; one within the limit is returned.
    Oversized(usize),
}

/// What became of one upload attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Stored (its revision counter was higher than the one stored).
    Stored,
    /// Answered with this HTTP status: a [`Behaviour::Refuse`] HSDir, or 400 for a revision
    /// counter not above the stored one (C tor's rule).
    Refused(u16),
    /// The circuit failed ([`Behaviour::Down`]).
    Unreachable,
    /// Never answered ([`Behaviour::Hang`]): recorded when it arrived.
    NoAnswer,
    /// The relay is not in the consensus.
    UnknownRelay,
}

/// One upload attempt seen by the fake network, whatever its outcome.
#[derive(Debug, Clone)]
pub struct UploadRecord {
    /// When it arrived (a stored one: when it was stored, 50 ms later).
    pub at: SystemTime,
    /// To which HSDir.
    pub hsdir: HsDirId,
    /// Under which blinded id.
    pub blind_id: [u8; 32],
    /// Its revision counter (0 if it has none).
    pub revision: u64,
    /// Whether it was stored.
    pub accepted: bool,
    /// What became of it.
    pub outcome: UploadOutcome,
}

/// A backend hosted on the fake network.
struct FakeBackend {
    identity: HsIdKeypair,
    intro_points: Vec<IntroPointDesc>,
    alive: bool,
    /// The `flow-control` line it publishes (C tor's by default).
    flow_control: Option<(Protocols, u8)>,
}

/// A descriptor held by an HSDir.
#[derive(Debug, Clone)]
struct Stored {
    text: Arc<str>,
    revision: u64,
    /// When it is dropped (stored at + its `descriptor-lifetime`).
    expires: SystemTime,
}

struct Inner {
    /// The relays now (in the order they were added) and how each behaves.
    relays: Vec<HsDirId>,
    behaviours: HashMap<HsDirId, Behaviour>,
    /// The relays of the last consensus.
    consensus_relays: Arc<Vec<HsDirId>>,
    period_minutes: u32,
    valid_after: SystemTime,
    /// The plugged-in consensus model and its view of the last consensus.
    model: Option<Arc<dyn ConsensusModel>>,
    view: Option<Arc<dyn ConsensusView>>,
    /// How far the clock was stepped back.
    clock_back: Duration,
    store: HashMap<(HsDirId, [u8; 32]), Stored>,
    uploads: Vec<UploadRecord>,
    fetches: u64,
    backends: HashMap<OnionAddress, FakeBackend>,
    probes: u64,
    /// Consensus `cc_sendme_inc`.
    cc_sendme_inc: u8,
    /// The most bytes a fetch answer took in memory.
    largest_answer: usize,
}

/// The fake network. Cheap to share (`Arc`).
pub struct FakeNetwork {
    inner: Mutex<Inner>,
    start_instant: tokio::time::Instant,
    start_wall: SystemTime,
    events: broadcast::Sender<()>,
}

/// 2026-11-22 00:00:00 UTC: a fixed start so tests are reproducible.
pub const START: Duration = Duration::from_secs(1_795_305_600);

impl FakeNetwork {
    /// A network of `relays` HSDirs with time periods of `period_minutes`, clock starting at a
    /// fixed date. Call inside a tokio runtime (with paused time for fast tests).
    pub fn new(relays: u64, period_minutes: u32) -> Arc<Self> {
        Self::new_at(relays, period_minutes, SystemTime::UNIX_EPOCH + START)
    }

    /// [`Self::new`], with the clock starting at `start_wall`.
    pub fn new_at(relays: u64, period_minutes: u32, start_wall: SystemTime) -> Arc<Self> {
        let relays: Vec<HsDirId> = (0..relays).map(|i| relay_id(1000 + i)).collect();
        let behaviours = relays.iter().map(|r| (*r, Behaviour::Normal)).collect();
        let (events, _) = broadcast::channel(64);
        Arc::new(FakeNetwork {
            inner: Mutex::new(Inner {
                consensus_relays: Arc::new(relays.clone()),
                relays,
                behaviours,
                period_minutes,
                valid_after: start_wall,
                model: None,
                view: None,
                clock_back: Duration::ZERO,
                store: HashMap::new(),
                uploads: Vec::new(),
                fetches: 0,
                backends: HashMap::new(),
                probes: 0,
                cc_sendme_inc: DEFAULT_CC_SENDME_INC,
                largest_answer: 0,
            }),
            start_instant: tokio::time::Instant::now(),
            start_wall,
            events,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The HSDirs.
    pub fn hsdirs(&self) -> Vec<HsDirId> {
        self.lock().relays.clone()
    }

    /// Make `hsdir` behave like `behaviour`.
    pub fn set_behaviour(&self, hsdir: HsDirId, behaviour: Behaviour) {
        if let Some(b) = self.lock().behaviours.get_mut(&hsdir) {
            *b = behaviour;
        }
    }

    /// Remove an HSDir (unreachable at once; out of the rings from [`Self::new_consensus`]).
    pub fn remove_relay(&self, hsdir: HsDirId) {
        let mut inner = self.lock();
        inner.relays.retain(|id| *id != hsdir);
        inner.behaviours.remove(&hsdir);
        inner.store.retain(|(h, _), _| *h != hsdir);
    }

    /// Add an HSDir (in the rings from [`Self::new_consensus`]).
    pub fn add_relay(&self, seed: u64) -> HsDirId {
        let id = relay_id(seed);
        let mut inner = self.lock();
        if inner.behaviours.insert(id, Behaviour::Normal).is_none() {
            inner.relays.push(id);
        }
        id
    }

    /// Use `model` for every consensus from now on (see `directory.rs`), starting with a new
    /// consensus valid from the last one's `valid-after`. Fails if the model cannot build it.
    pub fn set_consensus_model(&self, model: Arc<dyn ConsensusModel>) -> Result<(), String> {
        let (valid_after, relays) = {
            let inner = self.lock();
            (inner.valid_after, inner.relays.clone())
        };
        let view = model.consensus(valid_after, &relays)?;
        let mut inner = self.lock();
        inner.consensus_relays = Arc::new(relays);
        inner.model = Some(model);
        inner.view = Some(view);
        Ok(())
    }

    /// Publish a new consensus valid from now and tell listeners.
    pub fn new_consensus(&self) {
        let now = self.now();
        if let Err(e) = self.new_consensus_at(now) {
            tracing::warn!(error = %e, "the fake network's consensus model failed");
        }
    }

    /// Publish a new consensus valid from `valid_after` (a consensus model may need it on the
    /// hour) and tell listeners; also drop expired descriptors from every HSDir.
    pub fn new_consensus_at(&self, valid_after: SystemTime) -> Result<(), String> {
        let (model, relays) = {
            let inner = self.lock();
            (inner.model.clone(), inner.relays.clone())
        };
        let view = model
            .map(|m| m.consensus(valid_after, &relays))
            .transpose()?;
        let now = self.now();
        {
            let mut inner = self.lock();
            inner.valid_after = valid_after;
            inner.consensus_relays = Arc::new(relays);
            inner.view = view;
            inner.store.retain(|_, s| s.expires > now);
        }
        let _ = self.events.send(());
        Ok(())
    }

    /// Step the wall clock back by `by` (tokio time goes on; `now()` is `by` earlier from now).
    pub fn step_clock_back(&self, by: Duration) {
        self.lock().clock_back += by;
    }

    /// Host a backend with `n_intro` intro points (seeded) and publish its descriptor.
    pub fn add_backend(&self, seed: u64, n_intro: u64) -> OnionAddress {
        let identity = testing::fake_identity(seed);
        let address = testing::address_of(&identity);
        let intro_points = (0..n_intro)
            .map(|i| testing::fake_intro_point(seed * 1000 + i))
            .collect();
        self.lock().backends.insert(
            address,
            FakeBackend {
                identity,
                intro_points,
                alive: true,
                flow_control: Some(testing::c_tor_flow_control()),
            },
        );
        self.publish_backend(address);
        address
    }

    /// Replace a backend's intro points (it rotated them) and republish.
    pub fn rotate_intro_points(&self, address: OnionAddress, seed: u64, n_intro: u64) {
        if let Some(b) = self.lock().backends.get_mut(&address) {
            b.intro_points = (0..n_intro)
                .map(|i| testing::fake_intro_point(seed * 1000 + i))
                .collect();
        }
        self.publish_backend(address);
    }

    /// Kill or revive a backend: a dead one stops publishing and fails probes, but its old
    /// descriptor stays on the HSDirs (as on the real network).
    pub fn set_backend_alive(&self, address: OnionAddress, alive: bool) {
        if let Some(b) = self.lock().backends.get_mut(&address) {
            b.alive = alive;
        }
    }

    /// Publish a live backend's descriptors for every period a service publishes for (as C
    /// tor does: revision = seconds since the period's SRV start, or 1 before it), to its
    /// responsible HSDirs.
    pub fn publish_backend(&self, address: OnionAddress) {
        let dir = self.snapshot();
        let now = self.now();
        for period in dir.publish_periods() {
            let mut inner = self.lock();
            let Some(b) = inner.backends.get(&address) else {
                return;
            };
            if !b.alive {
                return;
            }
            let revision = period.srv_offset(now).map_or(1, |o| u64::from(u32_of(o)));
            let opts = testing::BackendDescOptions {
                flow_control: b.flow_control.clone(),
                ..testing::BackendDescOptions::default()
            };
            let text: Arc<str> = Arc::from(testing::backend_descriptor_with(
                &b.identity,
                &period,
                &b.intro_points,
                revision,
                now,
                &opts,
            ));
            let Ok((blind, _, _)) = b.identity.compute_blinded_key(period.time_period) else {
                return;
            };
            let blind: [u8; 32] = *blind.id().as_ref();
            let stored = Stored {
                revision,
                expires: now + lifetime_of(&text),
                text,
            };
            for h in dir.hsdirs_upload(&HsBlindId::from(blind), period.time_period) {
                inner.store.insert((h, blind), stored.clone());
            }
        }
    }

    /// A backend's current intro points and whether it is alive.
    pub fn backend_intro_points(
        &self,
        address: OnionAddress,
    ) -> Option<(bool, Vec<IntroPointDesc>)> {
        self.lock()
            .backends
            .get(&address)
            .map(|b| (b.alive, b.intro_points.clone()))
    }

    /// Replace a backend's intro points with `intro_points` (without republishing).
    pub fn set_intro_points(&self, address: OnionAddress, intro_points: Vec<IntroPointDesc>) {
        if let Some(b) = self.lock().backends.get_mut(&address) {
            b.intro_points = intro_points;
        }
    }

    /// Every live backend republishes (as C tor backends do every 60-120 min).
    pub fn publish_all_backends(&self) {
        let addrs: Vec<OnionAddress> = self.lock().backends.keys().copied().collect();
        for a in addrs {
            self.publish_backend(a);
        }
    }

    /// Every upload attempt seen so far, refused and unanswered ones included.
    pub fn uploads(&self) -> Vec<UploadRecord> {
        self.lock().uploads.clone()
    }

    /// The upload attempts seen since the last call (long runs drain them so the record does
    /// not grow).
    pub fn take_uploads(&self) -> Vec<UploadRecord> {
        std::mem::take(&mut self.lock().uploads)
    }

    /// Fetch requests served so far.
    pub fn fetch_count(&self) -> u64 {
        self.lock().fetches
    }

    /// Probes served so far.
    pub fn probe_count(&self) -> u64 {
        self.lock().probes
    }

    /// The descriptor stored on `hsdir` under `blind_id` (text and revision counter), if any
    /// and not expired.
    pub fn stored(&self, hsdir: HsDirId, blind_id: &HsBlindId) -> Option<(Arc<str>, u64)> {
        let key: [u8; 32] = *blind_id.as_ref();
        let now = self.now();
        self.lock()
            .store
            .get(&(hsdir, key))
            .filter(|s| s.expires > now)
            .map(|s| (Arc::clone(&s.text), s.revision))
    }

    /// The current directory.
    pub fn snapshot(&self) -> Arc<FakeDirectory> {
        let now = self.now();
        let inner = self.lock();
        Arc::new(FakeDirectory {
            valid_after: inner.valid_after,
            now,
            period_minutes: inner.period_minutes,
            relays: Arc::clone(&inner.consensus_relays),
            view: inner.view.clone(),
            rings: Mutex::new(HashMap::new()),
            cc_sendme_inc: inner.cc_sendme_inc,
        })
    }

    /// Set the consensus `cc_sendme_inc` (takes effect with [`Self::new_consensus`]).
    pub fn set_cc_sendme_inc(&self, inc: u8) {
        self.lock().cc_sendme_inc = inc;
    }

    /// Set the `flow-control` line a backend publishes from now on (`None`: none).
    pub fn set_backend_flow_control(&self, address: OnionAddress, line: Option<(Protocols, u8)>) {
        if let Some(b) = self.lock().backends.get_mut(&address) {
            b.flow_control = line;
        }
    }

    /// Store `text` on `hsdir` under `blind_id` as it is, whatever is stored there (a replay, or
    /// a misbehaving HSDir).
    pub fn put_descriptor(&self, hsdir: HsDirId, blind_id: &HsBlindId, text: Arc<str>) {
        let now = self.now();
        let revision = revision_of(&text).unwrap_or(0);
        let expires = now + lifetime_of(&text);
        let key: [u8; 32] = *blind_id.as_ref();
        self.lock().store.insert(
            (hsdir, key),
            Stored {
                text,
                revision,
                expires,
            },
        );
    }

    /// The most bytes any fetch answer took in memory so far.
    pub fn largest_answer(&self) -> usize {
        self.lock().largest_answer
    }

    fn behaviour(&self, hsdir: HsDirId) -> Option<Behaviour> {
        self.lock().behaviours.get(&hsdir).copied()
    }
}

/// The HSDir identity of fake relay `seed`.
pub fn relay_id(seed: u64) -> HsDirId {
    let (rsa, ed) = testing::fake_relay_ids(seed);
    let mut r = [0u8; 20];
    r.copy_from_slice(rsa.as_bytes());
    let mut e = [0u8; 32];
    e.copy_from_slice(ed.as_bytes());
    HsDirId { rsa: r, ed: e }
}

/// How long an HSDir keeps a descriptor: its `descriptor-lifetime` (minutes), 180 if absent.
fn lifetime_of(text: &str) -> Duration {
    let minutes = text
        .lines()
        .find_map(|l| l.strip_prefix("descriptor-lifetime "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(180u64);
    Duration::from_secs(minutes * 60)
}

/// The seconds inside an `SrvPeriodOffset` (only `From<u32>` is public, so go through Debug).
fn u32_of(o: tor_hscrypto::ope::SrvPeriodOffset) -> u32 {
    let s = format!("{o:?}");
    s.trim_start_matches("SrvPeriodOffset(")
        .trim_end_matches(')')
        .parse()
        .unwrap_or(1)
}

/// The revision counter written in a descriptor's outer layer.
fn revision_of(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("revision-counter "))
        .and_then(|v| v.trim().parse().ok())
}
