//! The scheduler: one task that owns all state and reacts to timers, new consensuses, finished
//! fetches, probes and uploads, and commands (reload, shutdown).
//!
//! Network work runs in spawned tasks that report back as [`Event`]s, so the state needs no
//! locks and every decision is made in one place ([`Scheduler::publish_check`]). Modelled on
//! Arti's `tor-hsservice` publisher reactor.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Future, StreamExt};
use onionfront_core::OnionAddress;
use onionfront_core::config::{DistinctDescriptors, PublishConfig};
use onionfront_core::descriptor::{Liveness, Observation};
use onionfront_core::select::{
    BackendIntros, SelectionLimits, SelectionParams, assign_descriptors, selection_seed,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::backends::{BackendState, HealthState};
use crate::fetch::{FetchOutcome, FetchTarget, fetch_backend};
use crate::network::{Directory, NetError, Network};
use crate::services::{
    HsDirUpload, PeriodState, PublishReason, Published, ServiceState, fingerprint,
};
use crate::spec::{SchedulerSpec, ServiceSpec};
use crate::status::{Counters, StatusReport};
use crate::upload::{Recipe, UploadKey, UploadReport, upload_until_accepted};

/// How often timers are checked.
const TICK: Duration = Duration::from_secs(1);
/// Least time between two publications of the same period (flapping backends must not flood
/// the HSDirs).
const MIN_REPUBLISH_GAP: Duration = Duration::from_secs(5);
/// After the first consensus, how long to wait for every backend's first fetch before
/// publishing with the backends fetched so far.
const STARTUP_GRACE: Duration = Duration::from_secs(90);
/// Delay before asking again for a consensus after a failure.
const DIRECTORY_RETRY: Duration = Duration::from_secs(5);
/// Concurrent backend fetches.
const MAX_CONCURRENT_FETCHES: usize = 8;
/// How often liveness is re-evaluated even when nothing was reported (staleness is a matter
/// of time passing).
const LIVENESS_RECHECK: Duration = Duration::from_secs(30);
/// Least time between two status rebuilds (a large deployment reports many events a second).
const STATUS_MIN_INTERVAL: Duration = Duration::from_millis(250);

/// What spawned tasks report.
#[derive(Debug)]
pub(crate) enum Event {
    /// A backend fetch finished.
    Fetched(FetchOutcome),
    /// A health probe finished.
    Probed {
        /// The service whose check it was.
        service: OnionAddress,
        /// The backend probed.
        backend: OnionAddress,
        /// Outcome.
        result: Result<(), String>,
    },
    /// An upload attempt finished.
    Upload(UploadReport),
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Services added.
    pub added: Vec<OnionAddress>,
    /// Services removed.
    pub removed: Vec<OnionAddress>,
    /// Services whose configuration changed (state kept).
    pub changed: Vec<OnionAddress>,
    /// Services left as they were (not republished).
    pub unchanged: Vec<OnionAddress>,
}

/// Commands to the scheduler task.
enum Command {
    /// Replace the configuration, keeping the state of what did not change.
    Reload(Box<SchedulerSpec>, oneshot::Sender<ReloadSummary>),
    /// Stop every task and return.
    Shutdown(oneshot::Sender<()>),
    /// Answer at once: the reactor is turning (the daemon's systemd watchdog).
    Ping(oneshot::Sender<()>),
}

/// The scheduler task stopped.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the scheduler is not running")]
pub struct SchedulerGone;

/// Handle to a running scheduler.
pub struct SchedulerHandle {
    /// Commands.
    commands: mpsc::Sender<Command>,
    /// Latest status.
    status: watch::Receiver<StatusReport>,
    /// The task.
    join: tokio::task::JoinHandle<()>,
}

impl SchedulerHandle {
    /// Apply a new configuration.
    pub async fn reload(&self, spec: SchedulerSpec) -> Result<ReloadSummary, SchedulerGone> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Reload(Box::new(spec), tx))
            .await
            .map_err(|_| SchedulerGone)?;
        rx.await.map_err(|_| SchedulerGone)
    }

    /// A receiver of status reports (updated as things happen).
    pub fn status(&self) -> watch::Receiver<StatusReport> {
        self.status.clone()
    }

    /// A handle that asks whether the reactor still answers (for a watchdog).
    pub fn pinger(&self) -> Pinger {
        Pinger {
            commands: self.commands.clone(),
        }
    }

    /// Stop the scheduler and its tasks.
    pub async fn shutdown(self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
        let _ = self.join.await;
    }
}

/// Asks the scheduler's reactor for a sign of life.
#[derive(Debug, Clone)]
pub struct Pinger {
    /// Commands.
    commands: mpsc::Sender<Command>,
}

impl Pinger {
    /// Returns once the reactor has answered: it is not stuck. Bound it with a timeout.
    pub async fn ping(&self) -> Result<(), SchedulerGone> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Ping(tx))
            .await
            .map_err(|_| SchedulerGone)?;
        rx.await.map_err(|_| SchedulerGone)
    }
}

/// Start the scheduler on `net` with `spec`.
pub fn spawn<N: Network>(net: Arc<N>, spec: SchedulerSpec) -> SchedulerHandle {
    let (commands, command_rx) = mpsc::channel(8);
    let (status_tx, status) = watch::channel(StatusReport::default());
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let now = Instant::now();
    let mut scheduler = Scheduler {
        net,
        publish: spec.publish,
        services: Vec::new(),
        backends: BTreeMap::new(),
        health: HashMap::new(),
        dir: None,
        events_tx,
        tasks: JoinSet::new(),
        status_tx,
        dirty: false,
        startup_deadline: None,
        fetches_running: 0,
        counters: Counters::default(),
        last_recheck: now,
        last_status: None,
        status_stale: true,
    };
    scheduler.apply_spec(spec.services, now);
    let join = tokio::spawn(scheduler.run(command_rx, events_rx));
    SchedulerHandle {
        commands,
        status,
        join,
    }
}

/// A future yielding the next directory.
type DirectoryFuture = Pin<Box<dyn Future<Output = Result<Arc<dyn Directory>, NetError>> + Send>>;

/// The scheduler's state.
pub(crate) struct Scheduler<N: Network> {
    /// The network.
    pub(crate) net: Arc<N>,
    /// Intervals and limits.
    pub(crate) publish: PublishConfig,
    /// Services, in config order.
    pub(crate) services: Vec<ServiceState>,
    /// Every backend of every service, once.
    pub(crate) backends: BTreeMap<OnionAddress, BackendState>,
    /// Health checks by (service, backend).
    pub(crate) health: HashMap<(OnionAddress, OnionAddress), HealthState>,
    /// The consensus in use.
    pub(crate) dir: Option<Arc<dyn Directory>>,
    /// Where tasks report.
    events_tx: mpsc::UnboundedSender<Event>,
    /// Spawned tasks.
    tasks: JoinSet<()>,
    /// Status publication.
    status_tx: watch::Sender<StatusReport>,
    /// Something changed that may call for a publication.
    dirty: bool,
    /// Until when the first publication waits for every backend's first fetch.
    startup_deadline: Option<Instant>,
    /// Fetches under way.
    fetches_running: usize,
    /// Cumulative counters.
    pub(crate) counters: Counters,
    /// When liveness was last re-evaluated by the timer.
    last_recheck: Instant,
    /// When the status was last rebuilt.
    last_status: Option<Instant>,
    /// Something the status shows may have changed since it was last rebuilt.
    status_stale: bool,
}

impl<N: Network> Scheduler<N> {
    /// The event loop.
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::UnboundedReceiver<Event>,
    ) {
        let mut dir_events = self.net.directory_events();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut dir_wait: Option<DirectoryFuture> = Some(self.directory_future(Duration::ZERO));
        loop {
            // Whether this turn may have changed what the status shows (a quiet tick does not:
            // rebuilding the report every second is most of an idle daemon's CPU).
            let mut touched = true;
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Reload(spec, reply)) => {
                        let summary = self.reload(*spec);
                        let _ = reply.send(summary);
                    }
                    Some(Command::Ping(reply)) => {
                        let _ = reply.send(());
                        touched = false;
                    }
                    Some(Command::Shutdown(reply)) => {
                        self.stop().await;
                        let _ = reply.send(());
                        return;
                    }
                    None => {
                        self.stop().await;
                        return;
                    }
                },
                Some(()) = dir_events.next() => {
                    dir_wait = Some(self.directory_future(Duration::ZERO));
                }
                result = async { match dir_wait.as_mut() { Some(f) => f.await, None => std::future::pending().await } } => {
                    dir_wait = None;
                    match result {
                        Ok(dir) => self.on_directory(dir),
                        Err(e) => {
                            warn!(error = %e, "no usable consensus yet; will ask again");
                            dir_wait = Some(self.directory_future(DIRECTORY_RETRY));
                        }
                    }
                }
                Some(event) = events.recv() => self.on_event(event),
                _ = tick.tick() => touched = self.on_tick(),
            }
            if self.dirty {
                self.publish_check();
                touched = true;
            }
            self.status_stale |= touched;
            let now = Instant::now();
            if self.status_stale
                && self
                    .last_status
                    .is_none_or(|t| now.duration_since(t) >= STATUS_MIN_INTERVAL)
            {
                self.update_status();
                self.last_status = Some(now);
                self.status_stale = false;
            }
        }
    }

    /// Ask the network for a directory after `delay`.
    fn directory_future(&self, delay: Duration) -> DirectoryFuture {
        let net = Arc::clone(&self.net);
        Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            net.directory().await
        })
    }

    /// Abort every task.
    async fn stop(&mut self) {
        for s in &mut self.services {
            for p in s.periods.values_mut() {
                p.abort_uploads();
            }
        }
        self.tasks.shutdown().await;
    }

    /// A (possibly new) consensus arrived.
    fn on_directory(&mut self, dir: Arc<dyn Directory>) {
        let is_new = self
            .dir
            .as_ref()
            .is_none_or(|old| old.valid_after() != dir.valid_after());
        if !is_new {
            return;
        }
        let now = Instant::now();
        if self.dir.is_none() {
            info!(periods = ?dir.publish_periods().iter().map(|p| p.interval_num()).collect::<Vec<_>>(),
                "first timely consensus; fetching backend descriptors");
            self.startup_deadline = Some(now + STARTUP_GRACE);
        } else {
            debug!("new consensus; fetching backend descriptors again");
        }
        // Fetch at once on a new consensus (the period or the HSDirs may have changed).
        for b in self.backends.values_mut() {
            b.next_fetch = now;
        }
        self.dir = Some(dir);
        self.dirty = true;
        let _ = self.on_tick();
    }

    /// Timers: start due fetches and probes; see whether a refresh is due. Returns whether
    /// anything was started or marked for a publication check.
    fn on_tick(&mut self) -> bool {
        while let Some(done) = self.tasks.try_join_next() {
            if let Err(e) = done
                && e.is_panic()
            {
                error!("a scheduler task panicked: {e}");
            }
        }
        let Some(dir) = self.dir.clone() else {
            return false;
        };
        let now = Instant::now();
        let started = self.start_due_fetches(&dir, now) + self.start_due_probes(now);
        if now.duration_since(self.last_recheck) >= LIVENESS_RECHECK {
            self.last_recheck = now;
            self.dirty = true;
        }
        if self.refresh_due(now) || self.startup_deadline.is_some_and(|d| now >= d) {
            self.dirty = true;
        }
        started > 0 || self.dirty
    }

    /// Start fetches that are due (bounded concurrency); returns how many were started.
    fn start_due_fetches(&mut self, dir: &Arc<dyn Directory>, now: Instant) -> usize {
        let mut started = 0;
        let period = dir.current_period();
        let timeout = self.publish.hsdir_timeout;
        for b in self.backends.values_mut() {
            if self.fetches_running >= MAX_CONCURRENT_FETCHES {
                break;
            }
            if b.fetching || b.next_fetch > now {
                continue;
            }
            b.fetching = true;
            self.fetches_running += 1;
            started += 1;
            let net = Arc::clone(&self.net);
            let dir = Arc::clone(dir);
            let tx = self.events_tx.clone();
            let seen = b.known_for_period(period.interval_num());
            let target = b.blind_id_for(&period).map(|blind_id| FetchTarget {
                address: b.address,
                period,
                blind_id,
            });
            let address = b.address;
            self.tasks.spawn(async move {
                let outcome = match target {
                    Ok(target) => fetch_backend(net, dir, target, seen, timeout).await,
                    Err(e) => FetchOutcome {
                        address,
                        period,
                        result: Err(e),
                    },
                };
                let _ = tx.send(Event::Fetched(outcome));
            });
        }
        started
    }

    /// Start health probes that are due; returns how many were started.
    fn start_due_probes(&mut self, now: Instant) -> usize {
        let mut started = 0;
        for service in &self.services {
            let Some(hc) = service.spec.health_check else {
                continue;
            };
            for backend in &service.spec.backends {
                let key = (service.spec.address, backend.address);
                let state = self
                    .health
                    .entry(key)
                    .or_insert_with(|| HealthState::new(now));
                if state.probing || state.next_probe > now {
                    continue;
                }
                state.probing = true;
                started += 1;
                let net = Arc::clone(&self.net);
                let tx = self.events_tx.clone();
                let (service_addr, backend_addr) = key;
                self.tasks.spawn(async move {
                    let result =
                        match tokio::time::timeout(hc.timeout, net.probe(backend_addr, hc.port))
                            .await
                        {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(_) => Err(format!(
                                "no answer within {}",
                                humantime::format_duration(hc.timeout)
                            )),
                        };
                    let _ = tx.send(Event::Probed {
                        service: service_addr,
                        backend: backend_addr,
                        result,
                    });
                });
            }
        }
        started
    }

    /// Whether some period's republish interval has elapsed, or a postponed publication waits.
    fn refresh_due(&self, now: Instant) -> bool {
        self.services.iter().any(|s| {
            s.periods.values().any(|p| {
                p.published.as_ref().is_some_and(|pb| {
                    now.duration_since(pb.at_instant) >= self.publish.republish_interval
                })
            })
        })
    }

    /// A task reported.
    fn on_event(&mut self, event: Event) {
        match event {
            Event::Fetched(outcome) => self.on_fetched(outcome),
            Event::Probed {
                service,
                backend,
                result,
            } => self.on_probed(service, backend, result),
            Event::Upload(report) => self.on_upload(report),
        }
    }

    /// A fetch finished.
    fn on_fetched(&mut self, outcome: FetchOutcome) {
        self.fetches_running = self.fetches_running.saturating_sub(1);
        let now = Instant::now();
        let wall = self.net.now();
        let interval = self.publish.fetch_interval;
        let Some(b) = self.backends.get_mut(&outcome.address) else {
            return; // removed by a reload meanwhile
        };
        b.fetching = false;
        let first_completion = !b.fetched_once;
        b.fetched_once = true;
        let label = match &b.name {
            Some(n) => format!("{n} ({})", b.address.short()),
            None => b.address.short(),
        };
        let result = outcome.result.and_then(|(known, hsdir)| {
            let revision = known.desc.revision;
            let n = known.desc.intro_points.len();
            b.record_descriptor(known, wall)
                .map(|(obs, changed)| (obs, changed, revision, n, hsdir))
        });
        // Only news can change the selection: an unchanged descriptor or another failure leaves
        // it as it is (staleness is re-evaluated by the timer).
        let mut news = first_completion;
        match result {
            Ok((obs, changed, revision, n, hsdir)) => {
                news |= obs != Observation::Unchanged;
                match obs {
                    Observation::Unchanged => {
                        debug!(backend = %label, revision, "backend descriptor unchanged")
                    }
                    _ => info!(backend = %label, revision, intro_points = n, %hsdir,
                        period = outcome.period.interval_num(), intro_set_changed = changed,
                        "backend descriptor {}", if obs == Observation::New { "received" } else { "advanced" }),
                }
                b.last_fetch = Some((wall, Ok(())));
                b.schedule_next(true, interval, now);
                self.counters.fetch_ok += 1;
            }
            Err(reason) => {
                warn!(backend = %label, period = outcome.period.interval_num(), %reason,
                    "could not get a valid backend descriptor");
                b.last_fetch = Some((wall, Err(reason)));
                b.schedule_next(false, interval, now);
                self.counters.fetch_failed += 1;
            }
        }
        self.dirty |= news;
    }

    /// A probe finished.
    fn on_probed(
        &mut self,
        service: OnionAddress,
        backend: OnionAddress,
        result: Result<(), String>,
    ) {
        let Some(hc) = self
            .services
            .iter()
            .find(|s| s.spec.address == service)
            .and_then(|s| s.spec.health_check)
        else {
            return;
        };
        let Some(state) = self.health.get_mut(&(service, backend)) else {
            return;
        };
        state.probing = false;
        let was_known = state.known;
        let error = result.as_ref().err().cloned();
        let flipped = state.record(result, hc.failures, self.net.now());
        state.next_probe = Instant::now() + state.next_delay(hc.interval);
        if !was_known && state.known {
            info!(service = %service.short(), backend = %backend.short(),
                up = !state.down, "health check: first verdict");
            self.dirty = true; // a first publication may be waiting for it
        }
        if flipped {
            if state.down {
                warn!(service = %service.short(), backend = %backend.short(),
                    failures = state.consecutive_failures, error = error.as_deref().unwrap_or(""),
                    "health check: backend DOWN");
            } else {
                info!(service = %service.short(), backend = %backend.short(), "health check: backend back UP");
            }
            self.dirty = true;
        } else if let Some(e) = error {
            debug!(service = %service.short(), backend = %backend.short(), error = %e,
                failures = state.consecutive_failures, "health probe failed");
        }
    }

    /// An upload attempt finished.
    fn on_upload(&mut self, report: UploadReport) {
        let key = report.key;
        match &report.result {
            Ok(_) => self.counters.upload_accepted += 1,
            Err(_) => {
                self.counters.upload_failed += 1;
                *self
                    .counters
                    .hsdir_failures
                    .entry(key.hsdir.to_string())
                    .or_default() += 1;
            }
        }
        let Some(service) = self
            .services
            .iter_mut()
            .find(|s| s.spec.address == key.service)
        else {
            return;
        };
        let Some(period) = service.periods.get_mut(&key.period) else {
            return;
        };
        if period.published.as_ref().map(|p| p.generation) != Some(key.generation) {
            return; // superseded
        }
        let Some(up) = period.uploads.iter_mut().find(|u| u.hsdir == key.hsdir) else {
            return;
        };
        up.attempts = report.attempt;
        up.last_attempt = Some(report.at);
        match report.result {
            Ok(revision) => {
                up.accepted = Some(report.at);
                up.revision = Some(revision);
                up.last_error = None;
                period.ever_accepted = true;
                let (accepted, total) = (period.accepted(), period.uploads.len());
                if accepted == total {
                    info!(service = %key.service.short(), period = key.period, accepted, total,
                        "main descriptor accepted by every responsible HSDir");
                }
            }
            Err(e) => up.last_error = Some((e, report.will_retry)),
        }
    }

    /// Decide, for every service and period, whether to publish, and do it.
    fn publish_check(&mut self) {
        self.dirty = false;
        let Some(dir) = self.dir.clone() else {
            return;
        };
        let now = Instant::now();
        let wall = self.net.now();
        let periods = dir.publish_periods();
        let startup_over = self.startup_deadline.is_none_or(|d| now >= d);
        for idx in 0..self.services.len() {
            let spec = self.services[idx].spec.clone();
            let all_fetched = spec.backends.iter().all(|b| {
                self.backends
                    .get(&b.address)
                    .is_some_and(|s| s.fetched_once)
            });
            let any_fetched = spec.backends.iter().any(|b| {
                self.backends
                    .get(&b.address)
                    .is_some_and(|s| s.fetched_once)
            });
            let first = self.services[idx].periods.is_empty();
            if !any_fetched || (!all_fetched && !startup_over && first) {
                continue; // the first round is still running
            }
            if first && !startup_over && self.health_pending(&spec, wall, now) {
                continue; // a health verdict is still missing (never publish a dead backend)
            }
            let live = self.live_backends(&spec, wall, now);
            let service = &mut self.services[idx];
            service.live_backends = live.len();
            let wanted: HashSet<u64> = periods.iter().map(|p| p.interval_num()).collect();
            service.periods.retain(|n, _| wanted.contains(n));
            if live.is_empty() {
                if !service.warned_no_backend {
                    warn!(service = %spec.address.short(),
                        "no live backend: keeping the last published descriptor (not publishing an empty one)");
                    service.warned_no_backend = true;
                }
                continue;
            }
            if service.warned_no_backend {
                info!(service = %spec.address.short(), live = live.len(), "backends live again");
                service.warned_no_backend = false;
            }
            let flow_control = common_flow_control(&live, &self.backends);
            let intros: Vec<BackendIntros> = live.iter().map(|(b, _)| b.clone()).collect();
            for period in &periods {
                let ctx = PublishContext {
                    net: &self.net,
                    dir: &dir,
                    publish: &self.publish,
                    events_tx: &self.events_tx,
                    tasks: &mut self.tasks,
                    now,
                    wall,
                };
                let service = &mut self.services[idx];
                let config_changed = service.config_changed;
                let state = service
                    .periods
                    .entry(period.interval_num())
                    .or_insert_with(|| PeriodState::new(*period));
                match publish_period(
                    ctx,
                    &spec,
                    state,
                    &intros,
                    flow_control.clone(),
                    config_changed,
                ) {
                    PeriodOutcome::Postponed => self.dirty = true, // look again at the next tick
                    PeriodOutcome::Published => self.counters.publications += 1,
                    PeriodOutcome::Nothing => {}
                }
            }
            self.services[idx].config_changed = false;
        }
    }

    /// Whether a health check of `spec` has no verdict yet for a backend that is otherwise
    /// live (a first publication waits for it, within the startup grace).
    fn health_pending(
        &self,
        spec: &ServiceSpec,
        wall: std::time::SystemTime,
        now: Instant,
    ) -> bool {
        spec.backends.iter().any(|b| {
            self.backends
                .get(&b.address)
                .is_some_and(|s| s.liveness(wall, self.publish.stale_after) == Liveness::Live)
                && self.health_gate(spec, b.address, now) == HealthGate::Pending
        })
    }

    /// What the health check of `spec` says of `backend` (`Up` when there is none).
    pub(crate) fn health_gate(
        &self,
        spec: &ServiceSpec,
        backend: OnionAddress,
        now: Instant,
    ) -> HealthGate {
        let Some(hc) = &spec.health_check else {
            return HealthGate::Up;
        };
        match self.health.get(&(spec.address, backend)) {
            None => HealthGate::Pending, // its first probe starts at the next tick
            Some(h) if h.down => HealthGate::Down,
            Some(h) if h.pending(now, hc) => HealthGate::Pending,
            Some(_) => HealthGate::Up,
        }
    }

    /// The backends of `spec` whose intro points may be published, with their intro points.
    fn live_backends(
        &self,
        spec: &ServiceSpec,
        wall: std::time::SystemTime,
        now: Instant,
    ) -> Vec<(BackendIntros, OnionAddress)> {
        let mut live = Vec::new();
        for b in &spec.backends {
            let Some(state) = self.backends.get(&b.address) else {
                continue;
            };
            if state.liveness(wall, self.publish.stale_after) != Liveness::Live {
                continue;
            }
            if self.health_gate(spec, b.address, now) != HealthGate::Up {
                continue; // down, or waiting for its first verdict
            }
            if let Some(desc) = state.tracker.latest() {
                live.push((
                    BackendIntros {
                        address: b.address,
                        intro_points: desc.intro_points.clone(),
                    },
                    b.address,
                ));
            }
        }
        live
    }

    /// Apply the services of a spec (initial or reload) and return what changed.
    fn apply_spec(&mut self, specs: Vec<ServiceSpec>, now: Instant) -> ReloadSummary {
        let mut summary = ReloadSummary::default();
        let mut old: Vec<ServiceState> = std::mem::take(&mut self.services);
        for spec in specs {
            if let Some(pos) = old.iter().position(|s| s.spec.address == spec.address) {
                let mut state = old.remove(pos);
                if state.spec.same_as(&spec) {
                    summary.unchanged.push(spec.address);
                } else {
                    // Backends added or removed change the selection by themselves; restricted
                    // discovery and the like need an explicit republication.
                    let auth_changed = state.spec.auth_clients.len() != spec.auth_clients.len()
                        || state
                            .spec
                            .auth_clients
                            .iter()
                            .zip(&spec.auth_clients)
                            .any(|(a, b)| a.as_bytes() != b.as_bytes());
                    state.config_changed = auth_changed;
                    summary.changed.push(spec.address);
                }
                state.spec = spec;
                self.services.push(state);
            } else {
                summary.added.push(spec.address);
                self.services.push(ServiceState::new(spec));
            }
        }
        summary.removed = old.iter().map(|s| s.spec.address).collect();
        drop(old); // aborts their uploads
        // Backends: add new ones (fetched at once), drop unreferenced ones.
        let mut wanted: BTreeMap<OnionAddress, Option<String>> = BTreeMap::new();
        for s in &self.services {
            for b in &s.spec.backends {
                let entry = wanted.entry(b.address).or_insert(None);
                if entry.is_none() {
                    entry.clone_from(&b.name);
                }
            }
        }
        self.backends.retain(|a, _| wanted.contains_key(a));
        for (address, name) in wanted {
            match self.backends.get_mut(&address) {
                Some(b) => b.name = name,
                None => {
                    self.backends
                        .insert(address, BackendState::new(address, name, now));
                }
            }
        }
        let pairs: HashSet<(OnionAddress, OnionAddress)> = self
            .services
            .iter()
            .filter(|s| s.spec.health_check.is_some())
            .flat_map(|s| {
                s.spec
                    .backends
                    .iter()
                    .map(move |b| (s.spec.address, b.address))
            })
            .collect();
        self.health.retain(|k, _| pairs.contains(k));
        self.dirty = true;
        summary
    }

    /// Reload: new config, same state where unchanged.
    fn reload(&mut self, spec: SchedulerSpec) -> ReloadSummary {
        self.publish = spec.publish;
        let summary = self.apply_spec(spec.services, Instant::now());
        let _ = self.on_tick();
        summary
    }

    /// Publish the current status.
    fn update_status(&self) {
        let report = crate::status_build::build_report(self);
        self.status_tx.send_if_modified(|old| {
            if *old == report {
                false
            } else {
                *old = report;
                true
            }
        });
    }
}

/// A backend's standing with its service's health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthGate {
    /// No check, a successful last probe, or no verdict within the grace.
    Up,
    /// Failed `failures` probes in a row.
    Down,
    /// No verdict yet (kept out of the descriptors meanwhile).
    Pending,
}

/// What [`publish_period`] needs from the scheduler.
struct PublishContext<'a, N: Network> {
    net: &'a Arc<N>,
    dir: &'a Arc<dyn Directory>,
    publish: &'a PublishConfig,
    events_tx: &'a mpsc::UnboundedSender<Event>,
    tasks: &'a mut JoinSet<()>,
    now: Instant,
    wall: std::time::SystemTime,
}

/// What [`publish_period`] did.
enum PeriodOutcome {
    /// Nothing to do (or nothing possible).
    Nothing,
    /// A publication is due but postponed by the rate limit.
    Postponed,
    /// Built and uploads started.
    Published,
}

/// Publish one period of one service if a rule says so.
fn publish_period<N: Network>(
    ctx: PublishContext<'_, N>,
    spec: &ServiceSpec,
    state: &mut PeriodState,
    live: &[BackendIntros],
    flow_control: Option<(tor_protover::Protocols, std::num::NonZeroU8)>,
    config_changed: bool,
) -> PeriodOutcome {
    let period = state.period;
    if state.blind_id.is_none() {
        state.blind_id = onionfront_core::build::blinded_id(&spec.identity, &period);
    }
    let Some(blind_id) = state.blind_id else {
        error!(service = %spec.address.short(), period = period.interval_num(), "cannot blind the identity key");
        return PeriodOutcome::Nothing;
    };
    let hsdirs = ctx.dir.hsdirs_upload(&blind_id, period.time_period);
    if hsdirs.is_empty() {
        warn!(service = %spec.address.short(), period = period.interval_num(), "no responsible HSDir in the consensus");
        return PeriodOutcome::Nothing;
    }
    let max_descriptors = match spec.distinct_descriptors {
        DistinctDescriptors::Off => 1,
        DistinctDescriptors::Auto => u8::try_from(hsdirs.len()).unwrap_or(u8::MAX).max(1),
    };
    let params = SelectionParams {
        per_instance: spec.intro_points_per_instance,
        max_per_descriptor: ctx.publish.max_intro_points,
        max_descriptors,
        seed: selection_seed(&spec.address, &period),
    };
    let limits = SelectionLimits {
        max_size: ctx.dir.max_descriptor_size(),
        auth_clients: spec.auth_clients.len(),
        ..SelectionLimits::default()
    };
    let selection = state.select(params, limits, live);
    if selection.descriptors.is_empty() {
        return PeriodOutcome::Nothing;
    }
    let fp = fingerprint(&selection);
    let reason = if config_changed {
        Some(PublishReason::ConfigChanged)
    } else {
        state.reason_to_publish(&fp, &hsdirs, ctx.publish.republish_interval, ctx.now)
    };
    let Some(reason) = reason else {
        return PeriodOutcome::Nothing;
    };
    if let Some((failed_fp, _)) = &state.build_error
        && *failed_fp == fp
        && reason != PublishReason::Refresh
    {
        return PeriodOutcome::Nothing;
    }
    if let Some(p) = &state.published
        && ctx.now.duration_since(p.at_instant) < MIN_REPUBLISH_GAP
    {
        return PeriodOutcome::Postponed;
    }
    let recipes: Vec<Arc<Recipe>> = selection
        .descriptors
        .iter()
        .map(|ips| {
            Arc::new(Recipe {
                identity: Arc::clone(&spec.identity),
                period,
                intro_points: ips.clone(),
                flow_control: flow_control.clone(),
                auth_clients: spec.auth_clients.clone(),
                lifetime_minutes: ctx.publish.descriptor_lifetime_minutes,
                max_size: ctx.dir.max_descriptor_size(),
                revision_floor: Arc::clone(&state.revision_floor),
            })
        })
        .collect();
    let mut built = Vec::with_capacity(recipes.len());
    for r in &recipes {
        match r.build(ctx.wall) {
            Ok(d) => built.push(Arc::new(d)),
            Err(e) => {
                error!(service = %spec.address.short(), period = period.interval_num(), error = %e,
                    "cannot build the main descriptor");
                state.build_error = Some((fp, e.to_string()));
                return PeriodOutcome::Nothing;
            }
        }
    }
    state.build_error = None;
    state.abort_uploads();
    let generation = state.next_generation;
    state.next_generation += 1;
    let assignment = assign_descriptors(hsdirs.len(), built.len());
    state.uploads = hsdirs
        .iter()
        .zip(&assignment)
        .map(|(h, d)| HsDirUpload {
            hsdir: *h,
            descriptor: *d,
            attempts: 0,
            last_attempt: None,
            accepted: None,
            revision: None,
            last_error: None,
        })
        .collect();
    for (hsdir, d) in hsdirs.iter().zip(&assignment) {
        let (Some(recipe), Some(first)) = (recipes.get(*d), built.get(*d)) else {
            continue;
        };
        let key = UploadKey {
            service: spec.address,
            period: period.interval_num(),
            generation,
            hsdir: *hsdir,
        };
        let handle = ctx.tasks.spawn(upload_until_accepted(
            Arc::clone(ctx.net),
            key,
            blind_id,
            Arc::clone(recipe),
            Arc::clone(first),
            ctx.publish.hsdir_timeout,
            ctx.events_tx.clone(),
        ));
        state.tasks.push(handle);
    }
    let mut per_backend: BTreeMap<OnionAddress, usize> = BTreeMap::new();
    let owner: HashMap<[u8; 32], OnionAddress> = live
        .iter()
        .flat_map(|b| {
            b.intro_points
                .iter()
                .map(move |ip| (crate::backends::intro_id(ip), b.address))
        })
        .collect();
    for ip in selection.descriptors.iter().flatten() {
        if let Some(a) = owner.get(&crate::backends::intro_id(ip)) {
            *per_backend.entry(*a).or_default() += 1;
        }
    }
    let intro_points: usize = built.iter().map(|d| d.intro_points).sum();
    let revision = built.first().map_or(0, |d| d.revision);
    info!(service = %spec.address.short(), period = period.interval_num(), %reason, revision,
        intro_points, descriptors = built.len(), backends = per_backend.len(), hsdirs = hsdirs.len(),
        "publishing main descriptor");
    if !selection.left_out.is_empty() {
        warn!(service = %spec.address.short(), left_out = selection.left_out.len(),
            "some live backends got no intro point (descriptor limits)");
    }
    state.published = Some(Published {
        fingerprint: fp,
        hsdirs,
        at_instant: ctx.now,
        at: ctx.wall,
        revision,
        intro_points,
        descriptors: built.len(),
        reason,
        generation,
        per_backend,
    });
    PeriodOutcome::Published
}

/// `flow-control` to advertise: the backends' line when every live backend advertises one.
fn common_flow_control(
    live: &[(BackendIntros, OnionAddress)],
    backends: &BTreeMap<OnionAddress, BackendState>,
) -> Option<(tor_protover::Protocols, std::num::NonZeroU8)> {
    let mut first = None;
    for (_, addr) in live {
        let fc = backends.get(addr)?.tracker.latest()?.flow_control.clone()?;
        first.get_or_insert(fc);
    }
    first
}
