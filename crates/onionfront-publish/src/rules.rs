//! When to publish: every rule that decides whether a service's main descriptor goes out, in one
//! place, as pure functions of plain facts (no network, no clock, no state of their own). The
//! reactor gathers the facts, asks here, and carries out the answer; nothing else decides.
//!
//! Like Arti's `tor-hsservice` publisher, the rules are written down next to the code. They are
//! asked at every *publication check*, which the reactor runs after anything that may change the
//! answer: a new consensus, a fetch that brought news, a health verdict, a reload, and the timers
//! ([`timer_wants_check`]).
//!
//! ## 1. Is the service ready? ([`service_gate`])
//!
//! Asked for each service (there is always a consensus by then: without one nothing is checked).
//!
//! 1. **Wait** while none of its backends has finished a first fetch.
//! 2. **Wait**, before the service's first publication and within [`STARTUP_GRACE`] of the first
//!    consensus, while some backend has not finished its first fetch (publishing with the
//!    backends fetched so far would publish again a few seconds later), or while a backend that
//!    is otherwise live has no first health verdict yet (a backend already dead at start-up is
//!    never published). After the grace it publishes with what it has.
//! 3. **Keep the last descriptor** when no backend is live: nothing is published (never an empty
//!    descriptor, never one without intro points); what the HSDirs hold stays, and status says so.
//! 4. Otherwise **go**: the intro points are selected for each period and rule 2 decides.
//!
//! ## 2. Should this period be published now? ([`should_publish`])
//!
//! Asked for each period the consensus says to publish for (the current one and the next), with
//! the intro points just selected for it.
//!
//! 0. **No key, no publication**: a period the service holds no signing key for (a key bundle
//!    that does not cover it: offline keys, docs/offline-keys.md) is never published, since
//!    nothing can sign it ([`Decision::NoKey`]). What the HSDirs already hold for it stays until
//!    it expires; the log says so once per period, and status and metrics show the coverage. A
//!    reload with a bundle that covers it makes the period publishable at the next check (rule
//!    2.2, first publication for the period).
//! 1. An empty selection is never published.
//! 2. The **reason**, the first that holds:
//!    - [`PublishReason::AuthClientsChanged`]: a reload changed the restricted-discovery clients
//!      (every other change of a service shows in the selection by itself);
//!    - [`PublishReason::FirstForPeriod`]: nothing was published for this period yet (start-up,
//!      or a new time period);
//!    - [`PublishReason::IntroPointsChanged`]: the selected intro points differ from the last
//!      publication's (a backend came, went, or rotated its intro points);
//!    - [`PublishReason::HsDirsChanged`]: the responsible HSDirs differ (a new consensus);
//!    - [`PublishReason::Refresh`]: `republish-interval` has elapsed since the last publication
//!      ([`republish_due`]).
//!
//!    No reason: nothing to do.
//! 3. A build that **failed for this very selection** is not tried again until the refresh rule
//!    fires (the same inputs would fail the same way), unless it failed for a **timing** reason
//!    ([`failure_kind`]): the wall clock is before the period's shared-random run (the revision
//!    counter, seconds since that start, does not exist yet) or no revision counter within a few
//!    seconds of now exceeds the last one handed out. Both go away as the clock advances, so
//!    such a build is retried at every check (once a second once the start-up grace is over)
//!    until it succeeds. Neither C tor nor Arti clamp the counter for a clock before the SRV
//!    start (C tor's `set_descriptor_revision_counter` in `hs_service.c` only flags it with a
//!    non-fatal assertion, Arti's publisher returns an internal error), so onionfront does not
//!    either: it waits for the clock. The live rehearsal found why: a clock 5 s behind when the
//!    00:00 consensus arrives left the next period unpublished for the 30 minutes to the next
//!    refresh.
//! 4. **Rate limit**: less than [`MIN_REPUBLISH_GAP`] after this period's last publication the
//!    publication is **postponed**; the reactor looks again at the next tick.
//! 5. Otherwise **publish**: build, and upload to every responsible HSDir (each upload retries on
//!    its own until the HSDir accepts or a newer publication supersedes it).
//!
//! ## 3. Reload ([`reload_republishes`])
//!
//! A reloaded service whose spec is unchanged keeps all its state and is not republished. A
//! changed one keeps its state too; it is republished at once only if its restricted-discovery
//! clients changed (rule 2.2); other changes (backends, intro points per backend, health check)
//! change the selection, which rule 2.2 sees.
//!
//! ## 4. What status shows
//!
//! Per service, from the state these rules leave (see `status_report`): `not-published` (waiting
//! for backend descriptors) → `publishing` (uploads started, no HSDir accepted yet) →
//! `published` (every period accepted by at least one HSDir); `no-live-backend` whenever rule 1.3
//! holds, whether or not a descriptor is kept on the HSDirs.
//!
//! ## 5. When to fetch a backend again ([`fetch_delay_after_success`])
//!
//! After a successful fetch, the next one is `fetch-interval` later; but while a backend's intro
//! point set changed less than [`CHURN_WINDOW`] ago (not counting its first descriptor), it is
//! fetched every quarter of `fetch-interval` (at least [`CHURN_FETCH_FLOOR`]). A backend under
//! attack replaces its intro points every few minutes (C tor retires one after its
//! introduction budget). The live rehearsal measures what this buys (`-- --dos`: one backend
//! replacing its intro points every 5 minutes for 2 hours, `fetch-interval` 2 minutes): the
//! main descriptor listed that backend's current intro points in 90.0 % of the minutes when it
//! was fetched every 2 minutes, and in 98.3 % fetched every 30 s under this rule
//! (docs/benchmarks.md). The extra fetches stop half an hour after the churn does.
//!

use std::fmt;
use std::time::Duration;

use onionfront_core::main_descriptor::BuildError;
use tokio::time::Instant;

use crate::network::HsDirId;

/// Least time between two publications of the same period (flapping backends must not flood
/// the HSDirs).
pub(crate) const MIN_REPUBLISH_GAP: Duration = Duration::from_secs(5);
/// After the first consensus, how long a service's first publication waits for every backend's
/// first fetch and first health verdict before publishing with what it has.
pub(crate) const STARTUP_GRACE: Duration = Duration::from_secs(90);

/// Rule 5: how long a backend's intro point set counts as churning after it last changed.
pub(crate) const CHURN_WINDOW: Duration = Duration::from_secs(30 * 60);
/// Rule 5: the shortest delay between two fetches of a churning backend.
pub(crate) const CHURN_FETCH_FLOOR: Duration = Duration::from_secs(15);

/// Rule 5: the delay before the next fetch of a backend after a successful one, given when its
/// intro point set last changed (`churned_at`, its first descriptor not counting).
pub(crate) fn fetch_delay_after_success(
    fetch_interval: Duration,
    churned_at: Option<Instant>,
    now: Instant,
) -> Duration {
    match churned_at {
        Some(at) if now.duration_since(at) < CHURN_WINDOW => (fetch_interval / 4)
            .max(CHURN_FETCH_FLOOR)
            .min(fetch_interval),
        _ => fetch_interval,
    }
}

/// Why a period's descriptor is (re)published. `Display` goes to logs and to status
/// (`lastReason`), so its wording is part of the status format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PublishReason {
    /// Nothing published for this period yet (start-up, or a new time period).
    FirstForPeriod,
    /// The selected intro points changed (a backend came, went, or rotated intro points).
    IntroPointsChanged,
    /// The responsible HSDirs changed (new consensus).
    HsDirsChanged,
    /// The last publication is older than the republish interval.
    Refresh,
    /// The restricted-discovery clients changed on reload (shown as "service configuration
    /// changed", as before this variant had its precise name).
    AuthClientsChanged,
}

impl fmt::Display for PublishReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PublishReason::FirstForPeriod => "first publication for this time period",
            PublishReason::IntroPointsChanged => "selected intro points changed",
            PublishReason::HsDirsChanged => "responsible HSDirs changed",
            PublishReason::Refresh => "republish interval elapsed",
            PublishReason::AuthClientsChanged => "service configuration changed",
        })
    }
}

/// Why a build failed, as rule 2.3 sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The same inputs fail the same way (size, keys, encoding): retried only by the refresh.
    Inputs,
    /// The wall clock is not (yet) where the revision counter needs it: retried at every check.
    Timing,
}

/// Rule 2.3: which build failures are timing failures.
pub(crate) fn failure_kind(e: &BuildError) -> FailureKind {
    match e {
        BuildError::OutsidePeriod { .. } | BuildError::RevisionNotAbove { .. } => {
            FailureKind::Timing
        }
        _ => FailureKind::Inputs,
    }
}

/// The last failed build of a period, as rule 2.3 sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FailedBuild<'a> {
    /// The selection it was for.
    pub(crate) selection: &'a SelectionFingerprint,
    /// Why it failed.
    pub(crate) kind: FailureKind,
}

/// The identity of a selection: per descriptor, the sorted intro point keys.
pub(crate) type SelectionFingerprint = Vec<Vec<[u8; 32]>>;

/// What rule 1 needs to know about a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServiceFacts {
    /// Some backend of the service finished a first fetch.
    pub(crate) any_fetched: bool,
    /// Every backend of the service finished a first fetch.
    pub(crate) all_fetched: bool,
    /// Nothing was published for the service yet (no period has state).
    pub(crate) first_publication: bool,
    /// The startup grace is over ([`startup_over`]).
    pub(crate) startup_over: bool,
    /// A backend that is otherwise live waits for its first health verdict.
    pub(crate) health_pending: bool,
    /// Backends whose intro points may be published.
    pub(crate) live_backends: usize,
}

/// What rule 1 says of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceGate {
    /// Not yet (rules 1.1, 1.2): leave everything as it is.
    Wait,
    /// No live backend (rule 1.3): publish nothing, keep what the HSDirs hold.
    KeepLast,
    /// Select and ask [`should_publish`] for each period.
    Go,
}

/// Rule 1: whether a service may publish at all now.
pub(crate) fn service_gate(f: &ServiceFacts) -> ServiceGate {
    let in_grace = f.first_publication && !f.startup_over;
    if !f.any_fetched || (in_grace && !f.all_fetched) || (in_grace && f.health_pending) {
        ServiceGate::Wait
    } else if f.live_backends == 0 {
        ServiceGate::KeepLast
    } else {
        ServiceGate::Go
    }
}

/// The last publication of a period, as rule 2 compares with it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LastPublication<'a> {
    /// The selection it carried.
    pub(crate) selection: &'a SelectionFingerprint,
    /// The HSDirs it went to.
    pub(crate) hsdirs: &'a [HsDirId],
    /// When.
    pub(crate) at: Instant,
}

/// What rule 2 needs to know about one period of one service.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeriodFacts<'a> {
    /// The intro points selected now.
    pub(crate) selection: &'a SelectionFingerprint,
    /// The responsible HSDirs now (canonical order).
    pub(crate) hsdirs: &'a [HsDirId],
    /// The last publication of this period, if any.
    pub(crate) last: Option<LastPublication<'a>>,
    /// The last build, if it failed.
    pub(crate) failed_build: Option<FailedBuild<'a>>,
    /// A reload changed the restricted-discovery clients since the last check.
    pub(crate) auth_clients_changed: bool,
    /// The service holds a signing key for this period (always with the identity key).
    pub(crate) key_covers_period: bool,
    /// `republish-interval`.
    pub(crate) republish_interval: Duration,
    /// Now.
    pub(crate) now: Instant,
}

/// What rule 2 says of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// No signing key for the period (rule 2.0): nothing can be published.
    NoKey,
    /// Nothing to publish.
    Nothing,
    /// Due, but within the rate limit: ask again at the next tick.
    Postpone(PublishReason),
    /// Build and upload now.
    Publish(PublishReason),
}

/// Rule 2: whether (and why) one period is published now.
pub(crate) fn should_publish(f: &PeriodFacts<'_>) -> Decision {
    if !f.key_covers_period {
        return Decision::NoKey;
    }
    if f.selection.is_empty() {
        return Decision::Nothing;
    }
    let reason = if f.auth_clients_changed {
        PublishReason::AuthClientsChanged
    } else {
        match &f.last {
            None => PublishReason::FirstForPeriod,
            Some(last) if last.selection != f.selection => PublishReason::IntroPointsChanged,
            Some(last) if last.hsdirs != f.hsdirs => PublishReason::HsDirsChanged,
            Some(last) if republish_due(last.at, f.republish_interval, f.now) => {
                PublishReason::Refresh
            }
            Some(_) => return Decision::Nothing,
        }
    };
    if let Some(failed) = f.failed_build
        && failed.selection == f.selection
        && failed.kind == FailureKind::Inputs
        && reason != PublishReason::Refresh
    {
        return Decision::Nothing;
    }
    match &f.last {
        Some(last) if f.now.duration_since(last.at) < MIN_REPUBLISH_GAP => {
            Decision::Postpone(reason)
        }
        _ => Decision::Publish(reason),
    }
}

/// Rule 2.2, refresh: whether `republish_interval` has elapsed since a publication at `at`.
pub(crate) fn republish_due(at: Instant, republish_interval: Duration, now: Instant) -> bool {
    now.duration_since(at) >= republish_interval
}

/// Rule 1.2: whether the startup grace (ending at `deadline`, set at the first consensus) is
/// over. No deadline: no consensus yet, nothing to wait for.
pub(crate) fn startup_over(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_none_or(|d| now >= d)
}

/// Whether a timer tick calls for a publication check: some period's refresh is due
/// (`refresh_due`, from [`republish_due`]), or the startup grace is over (from then on
/// every tick checks, so postponed publications and staleness are seen within a second).
pub(crate) fn timer_wants_check(
    refresh_due: bool,
    startup_deadline: Option<Instant>,
    now: Instant,
) -> bool {
    refresh_due || (startup_deadline.is_some() && startup_over(startup_deadline, now))
}

/// Rule 3: whether a reloaded service (spec changed) is republished at once for every period,
/// i.e. whether its restricted-discovery clients changed.
pub(crate) fn reload_republishes(auth_clients_same: bool) -> bool {
    !auth_clients_same
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
