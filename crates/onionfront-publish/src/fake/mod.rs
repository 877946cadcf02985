//! A fake Tor network for scheduler tests and benchmarks: HSDirs with C tor's storage rule
//! (a descriptor replaces the stored one only with a higher revision counter), backends that
//! publish real signed descriptors, injectable faults, and a clock that follows tokio's (paused)
//! time so hours pass in milliseconds. Its consensus is [`FakeDirectory`] (`directory.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use futures::stream::BoxStream;
use onionfront_core::OnionAddress;
use onionfront_core::testing;
use tokio::sync::broadcast;
use tor_hscrypto::pk::{HsBlindId, HsIdKeypair};
use tor_netdoc::doc::hsdesc::IntroPointDesc;
use tor_protover::Protocols;

use crate::network::{DEFAULT_CC_SENDME_INC, Directory, HsDirId, NetError, Network};

mod directory;
mod records;

pub use directory::FakeDirectory;
pub use records::{Behaviour, UploadOutcome, UploadRecord};

/// The fake consensus' descriptor size limit (`HSV3MaxDescriptorSize`'s default).
pub const FAKE_MAX_DESCRIPTOR_SIZE: usize = 50_000;

/// How much a bounded reader takes in past the limit before it stops: tor-dirclient reads in
/// 1 KiB windows and fails once it has more than `max_len` bytes.
const READ_WINDOW: usize = 1024;

/// A backend hosted on the fake network.
struct FakeBackend {
    identity: HsIdKeypair,
    intro_points: Vec<IntroPointDesc>,
    alive: bool,
    /// Its `flow-control` line (C tor's by default).
    flow_control: Option<(Protocols, u8)>,
}

struct Inner {
    relays: Vec<(HsDirId, Behaviour)>,
    period_minutes: u32,
    valid_after: SystemTime,
    store: HashMap<(HsDirId, [u8; 32]), (Arc<str>, u64)>,
    uploads: Vec<UploadRecord>,
    fetches: u64,
    backends: HashMap<OnionAddress, FakeBackend>,
    probes: u64,
    /// The consensus `cc_sendme_inc`.
    cc_sendme_inc: u8,
    /// The most bytes any fetch answer held in memory.
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
const START: Duration = Duration::from_secs(1_795_305_600);

impl FakeNetwork {
    /// A network of `relays` HSDirs with time periods of `period_minutes`, clock starting at a
    /// fixed date. Call inside a tokio runtime (with paused time for fast tests).
    pub fn new(relays: u64, period_minutes: u32) -> Arc<Self> {
        let relays = (0..relays)
            .map(|i| {
                let (rsa, ed) = testing::fake_relay_ids(1000 + i);
                let mut r = [0u8; 20];
                r.copy_from_slice(rsa.as_bytes());
                let mut e = [0u8; 32];
                e.copy_from_slice(ed.as_bytes());
                (HsDirId { rsa: r, ed: e }, Behaviour::Normal)
            })
            .collect();
        let start_wall = SystemTime::UNIX_EPOCH + START;
        let (events, _) = broadcast::channel(64);
        Arc::new(FakeNetwork {
            inner: Mutex::new(Inner {
                relays,
                period_minutes,
                valid_after: start_wall,
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
        self.lock().relays.iter().map(|(id, _)| *id).collect()
    }

    /// Make `hsdir` behave like `behaviour`.
    pub fn set_behaviour(&self, hsdir: HsDirId, behaviour: Behaviour) {
        if let Some(r) = self.lock().relays.iter_mut().find(|(id, _)| *id == hsdir) {
            r.1 = behaviour;
        }
    }

    /// Remove an HSDir from the consensus (takes effect with [`Self::new_consensus`]).
    pub fn remove_relay(&self, hsdir: HsDirId) {
        self.lock().relays.retain(|(id, _)| *id != hsdir);
    }

    /// Add an HSDir (takes effect with [`Self::new_consensus`]).
    pub fn add_relay(&self, seed: u64) -> HsDirId {
        let (rsa, ed) = testing::fake_relay_ids(seed);
        let mut r = [0u8; 20];
        r.copy_from_slice(rsa.as_bytes());
        let mut e = [0u8; 32];
        e.copy_from_slice(ed.as_bytes());
        let id = HsDirId { rsa: r, ed: e };
        self.lock().relays.push((id, Behaviour::Normal));
        id
    }

    /// Publish a new consensus now and tell listeners.
    pub fn new_consensus(&self) {
        let now = self.now();
        self.lock().valid_after = now;
        let _ = self.events.send(());
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
        let revision = revision_of(&text).unwrap_or(0);
        let key: [u8; 32] = *blind_id.as_ref();
        self.lock().store.insert((hsdir, key), (text, revision));
    }

    /// The most bytes any fetch answer took in memory so far.
    pub fn largest_answer(&self) -> usize {
        self.lock().largest_answer
    }

    /// Publish a live backend's descriptor for the current period (revision = seconds since
    /// the period's SRV start, as C tor does), to its responsible HSDirs.
    pub fn publish_backend(&self, address: OnionAddress) {
        let dir = self.snapshot();
        let period = dir.current_period();
        let now = self.now();
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
        for h in dir.hsdirs_upload(&HsBlindId::from(blind), period.time_period) {
            inner
                .store
                .insert((h, blind), (Arc::clone(&text), revision));
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

    /// Fetch requests served so far.
    pub fn fetch_count(&self) -> u64 {
        self.lock().fetches
    }

    /// Probes served so far.
    pub fn probe_count(&self) -> u64 {
        self.lock().probes
    }

    /// The descriptor stored on `hsdir` under `blind_id`, if any.
    pub fn stored(&self, hsdir: HsDirId, blind_id: &HsBlindId) -> Option<(Arc<str>, u64)> {
        let key: [u8; 32] = *blind_id.as_ref();
        self.lock().store.get(&(hsdir, key)).cloned()
    }

    /// The current directory.
    pub fn snapshot(&self) -> Arc<FakeDirectory> {
        let now = self.now();
        let inner = self.lock();
        Arc::new(FakeDirectory {
            valid_after: inner.valid_after,
            now,
            period_minutes: inner.period_minutes,
            relays: inner.relays.iter().map(|(id, _)| *id).collect(),
            max_descriptor_size: FAKE_MAX_DESCRIPTOR_SIZE,
            cc_sendme_inc: inner.cc_sendme_inc,
            rings: Mutex::new(HashMap::new()),
        })
    }

    /// Reach `hsdir` as its behaviour allows: an error, never (hang), or after 50 ms.
    async fn reach(&self, hsdir: HsDirId) -> Result<(), NetError> {
        match self.behaviour(hsdir) {
            None => Err(NetError::UnknownRelay(hsdir.to_string())),
            Some(Behaviour::Down) => Err(NetError::Circuit("connection refused".into())),
            Some(Behaviour::Hang) => std::future::pending().await,
            Some(Behaviour::Refuse(status)) => Err(NetError::Http {
                status,
                message: "refused".into(),
            }),
            Some(Behaviour::Normal | Behaviour::Oversized(_)) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(())
            }
        }
    }

    /// An answer of `len` bytes read as tor-dirclient reads it: window by window, giving up once
    /// past `limit`. Records how much was held.
    fn read_bounded(&self, len: usize, limit: usize) -> Result<String, NetError> {
        let mut body = String::new();
        while body.len() < len {
            let window = READ_WINDOW.min(len - body.len());
            body.extend(std::iter::repeat_n('x', window));
            if body.len() > limit {
                break;
            }
        }
        let mut inner = self.lock();
        inner.largest_answer = inner.largest_answer.max(body.len());
        if body.len() > limit {
            return Err(NetError::TooLarge {
                read: body.len(),
                limit,
            });
        }
        Ok(body)
    }

    fn behaviour(&self, hsdir: HsDirId) -> Option<Behaviour> {
        self.lock()
            .relays
            .iter()
            .find(|(id, _)| *id == hsdir)
            .map(|(_, b)| *b)
    }
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

#[async_trait::async_trait]
impl Network for FakeNetwork {
    type Dir = FakeDirectory;

    fn now(&self) -> SystemTime {
        self.start_wall + self.start_instant.elapsed()
    }

    async fn directory(&self) -> Result<Arc<FakeDirectory>, NetError> {
        Ok(self.snapshot())
    }

    fn directory_events(&self) -> BoxStream<'static, ()> {
        let rx = self.events.subscribe();
        futures::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(()) => return Some(((), rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }

    async fn fetch(
        &self,
        dir: &FakeDirectory,
        hsdir: HsDirId,
        blind_id: HsBlindId,
    ) -> Result<String, NetError> {
        self.lock().fetches += 1;
        self.reach(hsdir).await?;
        if let Some(Behaviour::Oversized(len)) = self.behaviour(hsdir) {
            return self.read_bounded(len, dir.max_descriptor_size());
        }
        match self.stored(hsdir, &blind_id) {
            Some((text, _)) => {
                let mut inner = self.lock();
                inner.largest_answer = inner.largest_answer.max(text.len());
                Ok(text.to_string())
            }
            None => Err(NetError::Http {
                status: 404,
                message: "Not found".into(),
            }),
        }
    }

    async fn upload(
        &self,
        _dir: &FakeDirectory,
        hsdir: HsDirId,
        blind_id: HsBlindId,
        descriptor: Arc<str>,
    ) -> Result<(), NetError> {
        let key: [u8; 32] = *blind_id.as_ref();
        let failing = match self.behaviour(hsdir) {
            None => Some(UploadOutcome::UnknownRelay),
            Some(Behaviour::Down) => Some(UploadOutcome::Unreachable),
            Some(Behaviour::Hang) => Some(UploadOutcome::NoAnswer),
            Some(Behaviour::Refuse(status)) => Some(UploadOutcome::Refused(status)),
            Some(Behaviour::Normal | Behaviour::Oversized(_)) => None,
        };
        if let Some(outcome) = failing {
            let at = self.now();
            self.lock().uploads.push(UploadRecord {
                at,
                hsdir,
                blind_id: key,
                revision: revision_of(&descriptor).unwrap_or(0),
                accepted: false,
                outcome,
            });
        }
        self.reach(hsdir).await?;
        let revision = revision_of(&descriptor).ok_or_else(|| NetError::Http {
            status: 400,
            message: "Invalid HS descriptor. Rejected.".into(),
        })?;
        let now = self.now();
        let mut inner = self.lock();
        let accepted = inner
            .store
            .get(&(hsdir, key))
            .is_none_or(|(_, stored)| revision > *stored);
        inner.uploads.push(UploadRecord {
            at: now,
            hsdir,
            blind_id: key,
            revision,
            accepted,
            outcome: if accepted {
                UploadOutcome::Stored
            } else {
                UploadOutcome::Refused(400)
            },
        });
        if accepted {
            inner.store.insert((hsdir, key), (descriptor, revision));
            Ok(())
        } else {
            Err(NetError::Http {
                status: 400,
                message: "Invalid HS descriptor. Rejected.".into(),
            })
        }
    }

    async fn probe(&self, address: OnionAddress, _port: u16) -> Result<(), NetError> {
        let alive = {
            let mut inner = self.lock();
            inner.probes += 1;
            inner.backends.get(&address).is_some_and(|b| b.alive)
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        if alive {
            Ok(())
        } else {
            Err(NetError::Circuit("introduction failed".into()))
        }
    }
}
