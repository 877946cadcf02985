//! Intro point selection across live backends.
//!
//! CONTRACT (used by onionfront-publish): [`select_intro_points`], [`SelectionParams`],
//! [`BackendIntros`], [`Selection`], and [`assign_descriptors`]. Additions:
//! [`select_intro_points_within`] (size limit, authorized clients, HSDir layout),
//! [`selection_seed`], [`HsDirLayout`], [`assign_descriptors_with`].
//!
//! Properties (tested, including property tests over random backend sets):
//! - balanced: every backend with intro points is represented before any gets a second slot;
//!   then round-robin up to `per_instance` each (backends with more fill in for those with
//!   fewer);
//! - capped: at most 20 (and `max_per_descriptor`) intro points per descriptor, and never over
//!   the size limit (exact size prediction, [`crate::main_descriptor::size`]);
//! - at most one intro point per relay in a descriptor, preferring choices that keep every
//!   backend represented;
//! - deterministic and independent of input order: the result is a function of the seed and
//!   the *set* of backends and intro points;
//! - distinct descriptors: when one descriptor cannot carry everything (count, size, or more
//!   backends than distinct relays), up to as many
//!   descriptors as clients can reach (6 with 8 responsible HSDirs), in a number that spreads
//!   evenly over the fetchable HSDirs ([`hsdirs`], docs/distinct-descriptors.md).

mod fill;
pub mod hsdirs;
pub mod relay;

#[cfg(test)]
mod tests;

use digest::Digest;
use tor_llcrypto::d::Sha3_256;
use tor_netdoc::doc::hsdesc::IntroPointDesc;
use tracing::debug;

use crate::address::OnionAddress;
use crate::main_descriptor::{DEFAULT_MAX_SIZE, MAX_INTRO_POINTS, size};
use crate::period::PeriodParams;
pub use hsdirs::{HsDirLayout, assign_descriptors_with};

/// One live backend's intro points, input to selection.
#[derive(Debug, Clone)]
pub struct BackendIntros {
    /// The backend.
    pub address: OnionAddress,
    /// Its current intro points.
    pub intro_points: Vec<IntroPointDesc>,
}

/// Knobs of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectionParams {
    /// Intro points wanted from each backend.
    pub per_instance: u8,
    /// Intro points in one descriptor (at most 20).
    pub max_per_descriptor: u8,
    /// Descriptors that may be built (1 = distinct-descriptors off). Set it to the number of
    /// responsible HSDirs: only as many descriptors as clients can fetch are built (6 of 8).
    pub max_descriptors: u8,
    /// Determinism seed (service key, time period): same inputs, same picks.
    pub seed: [u8; 32],
}

/// Size facts of the descriptors to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectionLimits {
    /// HSDir size limit (`HSV3MaxDescriptorSize`).
    pub max_size: usize,
    /// Number of restricted-discovery clients (their `auth-client` lines take room).
    pub auth_clients: usize,
    /// The HSDir layout (consensus `hsdir_*` parameters).
    pub layout: HsDirLayout,
}

impl Default for SelectionLimits {
    fn default() -> Self {
        SelectionLimits {
            max_size: DEFAULT_MAX_SIZE,
            auth_clients: 0,
            layout: HsDirLayout::default(),
        }
    }
}

/// The result: one intro point set per descriptor to build.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Intro points of each descriptor (at least one descriptor if any intro point exists).
    /// Each set is sorted by intro point ntor key (as the builder emits them), so its order
    /// reveals nothing about backends.
    pub descriptors: Vec<Vec<IntroPointDesc>>,
    /// Backends with intro points that got none (over the caps), for logs and status.
    pub left_out: Vec<OnionAddress>,
    /// The backends each descriptor covers (sorted), for logs and status.
    pub descriptor_backends: Vec<Vec<OnionAddress>>,
}

impl Selection {
    /// Total intro points selected.
    pub fn intro_point_count(&self) -> usize {
        self.descriptors.iter().map(Vec::len).sum()
    }
}

/// The selection seed of a service in a period: SHA3-256 over a label, the service's public
/// key and the period. Frontends sharing a key and inputs pick the same intro points.
pub fn selection_seed(service_pubkey: &OnionAddress, period: &PeriodParams) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(b"onionfront-selection-seed-v1\0");
    h.update(service_pubkey.public_key());
    h.update(period.interval_num().to_be_bytes());
    h.update(period.time_period.length().as_minutes().to_be_bytes());
    h.finalize().into()
}

/// Pick intro points, with the default size limit (50 000 bytes) and no authorized clients.
pub fn select_intro_points(params: &SelectionParams, backends: &[BackendIntros]) -> Selection {
    select_intro_points_within(params, backends, &SelectionLimits::default())
}

/// Pick intro points within `limits`.
pub fn select_intro_points_within(
    params: &SelectionParams,
    backends: &[BackendIntros],
    limits: &SelectionLimits,
) -> Selection {
    let canon = fill::canonicalize(&params.seed, backends);
    let with_ipts = canon.iter().filter(|b| !b.candidates.is_empty()).count();
    if with_ipts == 0 {
        return Selection::default();
    }
    let per_descriptor = match usize::from(params.max_per_descriptor) {
        0 => MAX_INTRO_POINTS,
        n => n.min(MAX_INTRO_POINTS),
    };
    let per_instance = usize::from(params.per_instance.max(1));
    let budget = size::intro_budget(limits.max_size, limits.auth_clients);
    let target = per_instance * with_ipts;

    // Descriptor counts that spread evenly over the fetchable HSDirs, smallest first.
    let counts = limits
        .layout
        .even_counts(usize::from(params.max_descriptors.max(1)));
    // More descriptors are tried while something wanted does not fit for lack of room, or a
    // backend is left out (a relay appears at most once per descriptor, but may appear in
    // several descriptors). The first count that serves everyone wins; failing that, the one
    // that leaves out the fewest backends (fewest descriptors on a tie).
    let mut best: Option<fill::Filled> = None;
    for &d in &counts {
        let f = fill::fill(
            &canon,
            fill::FillLimits {
                descriptors: d,
                per_descriptor,
                budget,
                target,
            },
        );
        let done = !f.room_limited && f.left_out == 0;
        let better = match &best {
            None => true,
            // Room-limited fills (a backend's wanted intro points did not fit) improve with
            // more descriptors even at equal coverage.
            Some(b) => f.left_out < b.left_out || (f.left_out == b.left_out && b.room_limited),
        };
        if better {
            best = Some(f);
        }
        if done {
            break;
        }
    }
    let Some(filled) = best else {
        return Selection::default();
    };

    let mut selection = Selection::default();
    for slot in filled.slots.iter().filter(|s| !s.picks.is_empty()) {
        let mut ipts: Vec<&IntroPointDesc> = slot
            .picks
            .iter()
            .map(|&(b, c)| &canon[b].candidates[c].ipt)
            .collect();
        ipts.sort_by_key(|i| {
            (
                *i.ipt_ntor_key().as_bytes(),
                i.ipt_sid_key().as_ref().to_bytes(),
            )
        });
        let mut covered: Vec<OnionAddress> =
            slot.picks.iter().map(|&(b, _)| canon[b].address).collect();
        covered.sort();
        covered.dedup();
        selection
            .descriptors
            .push(ipts.into_iter().cloned().collect());
        selection.descriptor_backends.push(covered);
    }
    let mut left_out: Vec<OnionAddress> = canon
        .iter()
        .enumerate()
        .filter(|(b, backend)| {
            !backend.candidates.is_empty()
                && !filled
                    .slots
                    .iter()
                    .any(|s| s.picks.iter().any(|(pb, _)| pb == b))
        })
        .map(|(_, backend)| backend.address)
        .collect();
    left_out.sort();
    selection.left_out = left_out;
    debug!(
        backends = with_ipts,
        descriptors = selection.descriptors.len(),
        intro_points = selection.intro_point_count(),
        left_out = selection.left_out.len(),
        "selected intro points"
    );
    selection
}

/// Which descriptor (index into `Selection::descriptors`) each of the responsible HSDirs gets,
/// given `n_hsdirs` HSDirs in a canonical order and `n_descriptors` descriptors.
///
/// The canonical order is the ring order, replica 1 first (`Directory::hsdirs_upload`); the
/// consensus default layout (2 replicas × 4, clients fetching from the first 3 of each) is
/// assumed. See [`assign_descriptors_with`] and docs/distinct-descriptors.md.
pub fn assign_descriptors(n_hsdirs: usize, n_descriptors: usize) -> Vec<usize> {
    assign_descriptors_with(&HsDirLayout::default(), n_hsdirs, n_descriptors)
}
