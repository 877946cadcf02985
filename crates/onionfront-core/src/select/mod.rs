//! Intro point selection across live backends.
//!
//! CONTRACT (used by onionfront-publish): [`select_intro_points`], [`SelectionParams`],
//! [`BackendIntros`], [`Selection`], and [`assign_descriptors`].

use tor_netdoc::doc::hsdesc::IntroPointDesc;

use crate::address::OnionAddress;

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
    /// Descriptors that may be built (1 = distinct-descriptors off).
    pub max_descriptors: u8,
    /// Determinism seed (service key, time period): same inputs, same picks.
    pub seed: [u8; 32],
}

/// The result: one intro point set per descriptor to build.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Intro points of each descriptor (at least one descriptor if any intro point exists).
    pub descriptors: Vec<Vec<IntroPointDesc>>,
    /// Backends with intro points that got none (over the caps), for logs and status.
    pub left_out: Vec<OnionAddress>,
}

/// Pick intro points (placeholder until the engine lands: first `per_instance` of each backend).
pub fn select_intro_points(params: &SelectionParams, backends: &[BackendIntros]) -> Selection {
    let mut all = Vec::new();
    for b in backends {
        all.extend(b.intro_points.iter().take(params.per_instance.into()).cloned());
    }
    all.truncate(params.max_per_descriptor.into());
    Selection {
        descriptors: if all.is_empty() { vec![] } else { vec![all] },
        left_out: vec![],
    }
}

/// Which descriptor (index into `Selection::descriptors`) each of the responsible HSDirs gets,
/// given `n_hsdirs` HSDirs in a canonical order and `n_descriptors` descriptors.
pub fn assign_descriptors(n_hsdirs: usize, n_descriptors: usize) -> Vec<usize> {
    (0..n_hsdirs).map(|i| if n_descriptors == 0 { 0 } else { i % n_descriptors }).collect()
}
