//! The reactor: one task that owns all state ([`State`]) and reacts to timers, new consensuses,
//! finished fetches, probes and uploads, and commands (reload, ping, shutdown). Modelled on
//! Arti's `tor-hsservice` publisher reactor.
//!
//! Network work runs in spawned tasks that report back as [`Event`]s, so the state needs no
//! locks. The reactor decides nothing itself: after anything that may change the answer it runs
//! a *publication check* ([`Reactor::publication_check`]), which gathers facts, asks the rules
//! (`rules.rs`) and carries out what they say, starting the upload jobs that the publication
//! step (`publication.rs`) returns.
//!
//! What makes it check (the `dirty` flag): a new consensus; a fetch that is news
//! (`backends.rs`); a first health verdict or a backend going down or up (`health.rs`); a reload;
//! a postponed publication; and, at the timer ([`TICK`]), a due refresh, the end of the startup
//! grace, and every [`LIVENESS_RECHECK`] (staleness is a matter of time passing).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Future, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{Instrument as _, debug, error, info, warn};

use crate::fetch::{FetchOutcome, fetch_backend};
use crate::health::{ProbeReport, probe};
use crate::history::{Histories, HistoryFile, prune_parked, restore};
use crate::network::{Directory, NetError, Network};
use crate::periods::PeriodState;
use crate::publication::{
    PeriodOutcome, PublishEnv, ServiceInput, common_flow_control, publish_period,
};
use crate::rules::{STARTUP_GRACE, ServiceGate, service_gate, startup_over, timer_wants_check};
use crate::spec::{ReloadSummary, SchedulerSpec};
use crate::state::State;
use crate::status::StatusReport;
use crate::upload::{UploadReport, upload_until_accepted};

/// How often timers are checked.
const TICK: Duration = Duration::from_secs(1);
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
    Probed(ProbeReport),
    /// An upload attempt finished.
    Upload(UploadReport),
}

/// Commands to the reactor.
pub(crate) enum Command {
    /// Replace the configuration, keeping the state of what did not change.
    Reload(Box<SchedulerSpec>, oneshot::Sender<ReloadSummary>),
    /// Stop every task and return.
    Shutdown(oneshot::Sender<()>),
    /// Answer at once: the reactor is turning (the daemon's systemd watchdog).
    Ping(oneshot::Sender<()>),
}

/// A future yielding the next directory.
type DirectoryFuture<D> = Pin<Box<dyn Future<Output = Result<Arc<D>, NetError>> + Send>>;

/// The reactor: the state, and what it needs to run tasks and publish status.
pub(crate) struct Reactor<N: Network> {
    /// The network.
    net: Arc<N>,
    /// Everything it knows.
    state: State,
    /// The consensus in use.
    dir: Option<Arc<N::Dir>>,
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
    /// When liveness was last re-evaluated by the timer.
    last_recheck: Instant,
    /// When the status was last rebuilt.
    last_status: Option<Instant>,
    /// Something the status shows may have changed since it was last rebuilt.
    status_stale: bool,
    /// Where the backends' revision history is saved (none: memory only).
    history: Option<HistoryFile>,
    /// A fetch changed some backend's revision history since it was last saved.
    history_changed: bool,
}

impl<N: Network> Reactor<N> {
    /// A reactor on `net` running `spec`, reporting status on `status_tx`; tasks report on
    /// `events_tx` (whose receiver goes to [`Reactor::run`]).
    pub(crate) fn new(
        net: Arc<N>,
        spec: SchedulerSpec,
        status_tx: watch::Sender<StatusReport>,
        events_tx: mpsc::UnboundedSender<Event>,
        history: Option<(HistoryFile, Histories)>,
    ) -> Self {
        let now = Instant::now();
        let mut state = State::new(spec.publish);
        state.apply_spec(spec.services, now);
        let history = history.map(|(file, saved)| {
            state.parked_histories = restore(saved, &mut state.backends);
            prune_parked(&mut state.parked_histories, net.now());
            file
        });
        Reactor {
            net,
            state,
            dir: None,
            events_tx,
            tasks: JoinSet::new(),
            status_tx,
            dirty: true,
            startup_deadline: None,
            fetches_running: 0,
            last_recheck: now,
            last_status: None,
            status_stale: true,
            history,
            history_changed: false,
        }
    }

    /// The event loop.
    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::UnboundedReceiver<Event>,
    ) {
        let mut dir_events = self.net.directory_events();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut dir_wait: Option<DirectoryFuture<N::Dir>> =
            Some(self.directory_future(Duration::ZERO));
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
                self.publication_check();
                touched = true;
            }
            if self.history_changed {
                self.history_changed = false;
                if let Some(file) = &mut self.history {
                    prune_parked(&mut self.state.parked_histories, self.net.now());
                    file.save(&self.state.backends, &self.state.parked_histories);
                }
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
    fn directory_future(&self, delay: Duration) -> DirectoryFuture<N::Dir> {
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
        for s in &mut self.state.services {
            for p in s.periods.values_mut() {
                p.abort_uploads();
            }
        }
        self.tasks.shutdown().await;
    }

    /// A (possibly new) consensus arrived.
    fn on_directory(&mut self, dir: Arc<N::Dir>) {
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
        for b in self.state.backends.values_mut() {
            b.next_fetch = now;
        }
        self.dir = Some(dir);
        self.dirty = true;
        let _ = self.on_tick();
    }

    /// Timers: start due fetches and probes; see whether a publication check is due. Returns
    /// whether anything was started or marked for a publication check.
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
        if timer_wants_check(self.state.refresh_due(now), self.startup_deadline, now) {
            self.dirty = true;
        }
        started > 0 || self.dirty
    }

    /// Start fetches that are due (bounded concurrency); returns how many were started.
    fn start_due_fetches(&mut self, dir: &Arc<N::Dir>, now: Instant) -> usize {
        let mut started = 0;
        let period = dir.current_period();
        let timeout = self.state.publish.hsdir_timeout;
        for b in self.state.backends.values_mut() {
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
            let address = b.backend.address;
            // The fetch's own log lines are named by the backend's label, never its address.
            let span = tracing::debug_span!("fetch", backend = %b.backend.label());
            let target = b.fetch_target(&period);
            self.tasks.spawn(async move {
                let outcome = match target {
                    Ok(target) => {
                        fetch_backend(net, dir, target, seen, timeout)
                            .instrument(span)
                            .await
                    }
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
        let specs = self.state.services.iter().map(|s| &s.spec);
        let due = self.state.health.due_probes(specs, now);
        let started = due.len();
        for job in due {
            let net = Arc::clone(&self.net);
            let tx = self.events_tx.clone();
            self.tasks.spawn(async move {
                let _ = tx.send(Event::Probed(probe(net, job).await));
            });
        }
        started
    }

    /// A task reported.
    fn on_event(&mut self, event: Event) {
        match event {
            Event::Fetched(outcome) => {
                self.fetches_running = self.fetches_running.saturating_sub(1);
                let interval = self.state.publish.fetch_interval;
                let wall = self.net.now();
                let Some(b) = self.state.backends.get_mut(&outcome.address) else {
                    return; // removed by a reload meanwhile
                };
                let record = b.record_fetch(outcome, interval, wall, Instant::now());
                let counters = &mut self.state.counters;
                if record.ok {
                    counters.fetch_ok += 1;
                } else {
                    counters.fetch_failed += 1;
                }
                self.dirty |= record.news;
                self.history_changed |= record.history_changed;
            }
            Event::Probed(report) => {
                let Some(hc) = self
                    .state
                    .services
                    .iter()
                    .find(|s| s.spec.address == report.service)
                    .and_then(|s| s.spec.health_check)
                else {
                    return;
                };
                let wall = self.net.now();
                self.dirty |= self.state.health.record(report, &hc, wall, Instant::now());
            }
            Event::Upload(report) => {
                let counters = &mut self.state.counters;
                match &report.result {
                    Ok(_) => counters.upload_accepted += 1,
                    Err(_) => {
                        counters.upload_failed += 1;
                        *counters
                            .hsdir_failures
                            .entry(report.key.hsdir.to_string())
                            .or_default() += 1;
                    }
                }
                if let Some(service) = self
                    .state
                    .services
                    .iter_mut()
                    .find(|s| s.spec.address == report.key.service)
                {
                    service.record_upload(report);
                }
            }
        }
    }

    /// For every service and period: gather the facts, ask the rules (`rules.rs`), and carry
    /// out what they say.
    fn publication_check(&mut self) {
        self.dirty = false;
        let Some(dir) = self.dir.clone() else {
            return;
        };
        let now = Instant::now();
        let wall = self.net.now();
        let periods = dir.publish_periods();
        let startup_over = startup_over(self.startup_deadline, now);
        let publish = self.state.publish;
        let env = PublishEnv {
            dir: &*dir,
            publish: &publish,
            now,
            wall,
        };
        for idx in 0..self.state.services.len() {
            let spec = self.state.services[idx].spec.clone();
            let first = self.state.services[idx].periods.is_empty();
            let live = self.state.live_backends(&spec, wall, now);
            let facts = self
                .state
                .service_facts(&spec, first, startup_over, live.len(), wall, now);
            let gate = service_gate(&facts);
            if gate == ServiceGate::Wait {
                continue;
            }
            let flow_control =
                common_flow_control(&live, &mut self.state.backends, dir.cc_sendme_inc());
            let service = &mut self.state.services[idx];
            service.live_backends = live.len();
            service
                .periods
                .retain(|n, _| periods.iter().any(|p| p.interval_num() == *n));
            if gate == ServiceGate::KeepLast {
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
            let input = ServiceInput {
                spec: &spec,
                live: &live,
                flow_control,
                auth_clients_changed: service.auth_clients_changed,
            };
            for period in &periods {
                let state = self.state.services[idx]
                    .periods
                    .entry(period.interval_num())
                    .or_insert_with(|| PeriodState::new(*period));
                match publish_period(&env, &input, state) {
                    PeriodOutcome::Postponed => self.dirty = true, // look again at the next tick
                    PeriodOutcome::Published(jobs) => {
                        for job in jobs {
                            let report_to = self.events_tx.clone();
                            let report = move |r| report_to.send(Event::Upload(r)).is_ok();
                            let net = Arc::clone(&self.net);
                            let timeout = publish.hsdir_timeout;
                            let upload = upload_until_accepted(net, job, timeout, report);
                            state.tasks.push(self.tasks.spawn(upload));
                        }
                        self.state.counters.publications += 1;
                    }
                    PeriodOutcome::Nothing => {}
                }
            }
            self.state.services[idx].auth_clients_changed = false;
        }
    }

    /// Reload: new config, same state where unchanged.
    fn reload(&mut self, spec: SchedulerSpec) -> ReloadSummary {
        self.state.publish = spec.publish;
        let summary = self.state.apply_spec(spec.services, Instant::now());
        self.dirty = true;
        let _ = self.on_tick();
        summary
    }

    /// Publish the current status.
    fn update_status(&self) {
        let report =
            crate::status_report::build_report(&self.state, self.net.now(), Instant::now());
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
