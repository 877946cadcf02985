//! The publication step for one period of one service: select intro points, ask the rules
//! whether to publish, build the descriptor(s), assign them to the responsible HSDirs, record
//! the publication, and hand back one [`UploadJob`] per HSDir for the reactor to start.
//!
//! Nothing here decides *when*: that is [`crate::rules::should_publish`], asked with the facts
//! gathered here. Nothing here spawns: the reactor starts the returned jobs and keeps their
//! handles in the period's state (so a newer publication can abort them).

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU8;
use std::sync::Arc;
use std::time::SystemTime;

use onionfront_core::OnionAddress;
use onionfront_core::config::{DistinctDescriptors, PublishConfig};
use onionfront_core::select::{
    BackendIntros, Selection, SelectionLimits, SelectionParams, assign_descriptors, selection_seed,
};
use tokio::time::Instant;
use tor_protover::Protocols;
use tracing::{debug, error, info, warn};

use crate::backends::{BackendState, FlowControlLine, intro_id};
use crate::network::Directory;
use crate::periods::{BuildFailure, HsDirUpload, PeriodState, Published, fingerprint};
use crate::rules::{Decision, FailureKind, PeriodFacts, failure_kind, should_publish};
use crate::spec::ServiceSpec;
use crate::upload::{Recipe, UploadJob, UploadKey};

/// `flow-control` line of a descriptor: protocol versions and the SENDME increment.
pub(crate) type FlowControl = (Protocols, NonZeroU8);

/// What the publication step needs from the reactor.
pub(crate) struct PublishEnv<'a> {
    /// The consensus in use.
    pub(crate) dir: &'a dyn Directory,
    /// Intervals and limits.
    pub(crate) publish: &'a PublishConfig,
    /// Now (monotonic).
    pub(crate) now: Instant,
    /// Now (wall clock).
    pub(crate) wall: SystemTime,
}

/// What one service's period needs besides its own state.
pub(crate) struct ServiceInput<'a> {
    /// The service.
    pub(crate) spec: &'a ServiceSpec,
    /// Its live backends' intro points.
    pub(crate) live: &'a [BackendIntros],
    /// `flow-control` to advertise ([`common_flow_control`]).
    pub(crate) flow_control: Option<FlowControl>,
    /// A reload changed its restricted-discovery clients.
    pub(crate) auth_clients_changed: bool,
}

/// What [`publish_period`] did.
pub(crate) enum PeriodOutcome {
    /// Nothing to do (or nothing possible).
    Nothing,
    /// A publication is due but postponed by the rate limit.
    Postponed,
    /// Built and recorded: start these uploads.
    Published(Vec<UploadJob>),
}

/// Publish one period of one service if the rules say so.
pub(crate) fn publish_period(
    env: &PublishEnv<'_>,
    input: &ServiceInput<'_>,
    state: &mut PeriodState,
) -> PeriodOutcome {
    let spec = input.spec;
    let period = state.period;
    if state.blind_id.is_none() {
        state.blind_id = onionfront_core::main_descriptor::blinded_id(&spec.keys, &period);
    }
    let Some(blind_id) = state.blind_id else {
        error!(service = %spec.address.short(), period = period.interval_num(), "cannot blind the identity key");
        return PeriodOutcome::Nothing;
    };
    let hsdirs = env.dir.hsdirs_upload(&blind_id, period.time_period);
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
        max_per_descriptor: env.publish.max_intro_points,
        max_descriptors,
        seed: selection_seed(&spec.address, &period),
    };
    let limits = SelectionLimits {
        max_size: env.dir.max_descriptor_size(),
        auth_clients: spec.auth_clients.len(),
        ..SelectionLimits::default()
    };
    let selection = state.select(params, limits, input.live);
    let fp = fingerprint(&selection);
    let decision = should_publish(&PeriodFacts {
        selection: &fp,
        hsdirs: &hsdirs,
        last: state.last_publication(),
        failed_build: state.build_error.as_ref().map(BuildFailure::facts),
        auth_clients_changed: input.auth_clients_changed,
        key_covers_period: spec.keys.covers(period.time_period),
        republish_interval: env.publish.republish_interval,
        now: env.now,
    });
    if decision == Decision::NoKey {
        if !state.no_key {
            warn!(service = %spec.address.short(), period = period.interval_num(),
                "the key bundle holds no key for this time period: nothing is published for it \
                 (descriptors already on the HSDirs stay until they expire); provision a new \
                 bundle and reload");
        }
        state.no_key = true;
        return PeriodOutcome::Nothing;
    }
    if state.no_key {
        info!(service = %spec.address.short(), period = period.interval_num(),
            "the keys now cover this time period");
        state.no_key = false;
    }
    let reason = match decision {
        Decision::NoKey | Decision::Nothing => return PeriodOutcome::Nothing,
        Decision::Postpone(_) => return PeriodOutcome::Postponed,
        Decision::Publish(reason) => reason,
    };
    let recipes: Vec<Arc<Recipe>> = selection
        .descriptors
        .iter()
        .map(|ips| {
            Arc::new(Recipe {
                keys: spec.keys.clone(),
                period,
                intro_points: ips.clone(),
                flow_control: input.flow_control.clone(),
                auth_clients: spec.auth_clients.clone(),
                lifetime_minutes: env.publish.descriptor_lifetime_minutes,
                max_size: env.dir.max_descriptor_size(),
                revision_floor: Arc::clone(&state.revision_floor),
            })
        })
        .collect();
    let mut built = Vec::with_capacity(recipes.len());
    for r in &recipes {
        match r.build(env.wall) {
            Ok(d) => built.push(Arc::new(d)),
            Err(e) => {
                let kind = failure_kind(&e);
                // Rule 2.3 retries a timing failure at every check: say it once, not each second.
                let repeated = state
                    .build_error
                    .as_ref()
                    .is_some_and(|f| f.kind == FailureKind::Timing && f.selection == fp);
                if repeated {
                    debug!(service = %spec.address.short(), period = period.interval_num(), error = %e,
                        "cannot build the main descriptor yet");
                } else if kind == FailureKind::Timing {
                    error!(service = %spec.address.short(), period = period.interval_num(), error = %e,
                        "cannot build the main descriptor (clock): retrying at every check until the clock allows it");
                } else {
                    error!(service = %spec.address.short(), period = period.interval_num(), error = %e,
                        "cannot build the main descriptor");
                }
                state.build_error = Some(BuildFailure {
                    selection: fp,
                    kind,
                    message: e.to_string(),
                });
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
        .map(|(h, d)| HsDirUpload::new(*h, *d))
        .collect();
    let mut jobs = Vec::with_capacity(hsdirs.len());
    for (hsdir, d) in hsdirs.iter().zip(&assignment) {
        let (Some(recipe), Some(first)) = (recipes.get(*d), built.get(*d)) else {
            continue;
        };
        jobs.push(UploadJob {
            key: UploadKey {
                service: spec.address,
                period: period.interval_num(),
                generation,
                hsdir: *hsdir,
            },
            blind_id,
            recipe: Arc::clone(recipe),
            first: Arc::clone(first),
        });
    }
    let per_backend = per_backend(&selection, input.live);
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
        at_instant: env.now,
        at: env.wall,
        revision,
        intro_points,
        descriptors: built.len(),
        reason,
        generation,
        per_backend,
    });
    PeriodOutcome::Published(jobs)
}

/// Intro points per backend in `selection` (for status).
fn per_backend(selection: &Selection, live: &[BackendIntros]) -> BTreeMap<OnionAddress, usize> {
    let owner: HashMap<[u8; 32], OnionAddress> = live
        .iter()
        .flat_map(|b| {
            b.intro_points
                .iter()
                .map(move |ip| (intro_id(ip), b.address))
        })
        .collect();
    let mut per_backend: BTreeMap<OnionAddress, usize> = BTreeMap::new();
    for ip in selection.descriptors.iter().flatten() {
        if let Some(a) = owner.get(&intro_id(ip)) {
            *per_backend.entry(*a).or_default() += 1;
        }
    }
    per_backend
}

/// `flow-control` to advertise: none unless every live backend advertises one; then the first
/// line clients accept under the consensus' `cc_sendme_inc` (a refused one is left out with a
/// warning naming its backend: `BackendState::flow_control_under`), or none if no line is
/// accepted.
pub(crate) fn common_flow_control(
    live: &[BackendIntros],
    backends: &mut BTreeMap<OnionAddress, BackendState>,
    cc_sendme_inc: u8,
) -> Option<FlowControl> {
    let mut chosen = None;
    for b in live {
        match backends
            .get_mut(&b.address)?
            .flow_control_under(cc_sendme_inc)
        {
            FlowControlLine::Missing => return None,
            FlowControlLine::Accepted(line) => {
                chosen.get_or_insert(line);
            }
            FlowControlLine::Refused => {}
        }
    }
    chosen
}
