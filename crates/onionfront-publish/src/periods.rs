//! Per-service publication state: for each time period, what was last published, to which
//! HSDirs, and with which result ([`PeriodState`], [`ServicePublications`]), and how an upload
//! report updates it ([`ServicePublications::record_upload`]).
//!
//! It holds facts only: *whether* to publish is decided in `rules.rs`, from facts read here.
//! An upload report counts only for the publication (generation) it was made for: a report of a
//! superseded publication is ignored. A period is "ever accepted" once any HSDir accepted any of
//! its descriptors (status uses it for `published`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use onionfront_core::OnionAddress;
use onionfront_core::period::PeriodParams;
use onionfront_core::select::{
    BackendIntros, Selection, SelectionLimits, SelectionParams, select_intro_points_within,
};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tor_hscrypto::pk::HsBlindId;
use tracing::info;

use crate::backends::intro_id;
use crate::network::{HsDirId, NetError};
use crate::rules::{
    FailedBuild, FailureKind, LastPublication, PublishReason, SelectionFingerprint,
};
use crate::spec::ServiceSpec;
use crate::upload::UploadReport;

/// Fingerprint of a selection.
pub(crate) fn fingerprint(selection: &Selection) -> SelectionFingerprint {
    selection
        .descriptors
        .iter()
        .map(|d| {
            let mut keys: Vec<[u8; 32]> = d.iter().map(intro_id).collect();
            keys.sort_unstable();
            keys
        })
        .collect()
}

/// What was last published for a period.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    /// The selection it carried.
    pub(crate) fingerprint: SelectionFingerprint,
    /// The HSDirs it went to (canonical order).
    pub(crate) hsdirs: Vec<HsDirId>,
    /// When (monotonic), for the rate limit and the refresh rule.
    pub(crate) at_instant: Instant,
    /// When (wall clock), for status.
    pub(crate) at: SystemTime,
    /// Revision counter of the (first) descriptor.
    pub(crate) revision: u64,
    /// Intro points over all descriptors.
    pub(crate) intro_points: usize,
    /// Number of distinct descriptors.
    pub(crate) descriptors: usize,
    /// Why it was published.
    pub(crate) reason: PublishReason,
    /// Generation number (uploads report it; older ones are ignored).
    pub(crate) generation: u64,
    /// Intro points per backend in it (for status).
    pub(crate) per_backend: BTreeMap<onionfront_core::OnionAddress, usize>,
}

/// State of the upload to one HSDir for the current generation.
#[derive(Debug, Clone)]
pub(crate) struct HsDirUpload {
    /// The HSDir.
    pub(crate) hsdir: HsDirId,
    /// Descriptor index it gets.
    pub(crate) descriptor: usize,
    /// Attempts so far.
    pub(crate) attempts: u32,
    /// Last attempt time.
    pub(crate) last_attempt: Option<SystemTime>,
    /// Accepted (time) for this generation.
    pub(crate) accepted: Option<SystemTime>,
    /// Revision counter of the descriptor it accepted (retries carry higher ones).
    pub(crate) revision: Option<u64>,
    /// Last error and whether a retry follows.
    pub(crate) last_error: Option<(NetError, bool)>,
}

impl HsDirUpload {
    /// An upload to `hsdir` of descriptor number `descriptor`, not attempted yet.
    pub(crate) fn new(hsdir: HsDirId, descriptor: usize) -> Self {
        HsDirUpload {
            hsdir,
            descriptor,
            attempts: 0,
            last_attempt: None,
            accepted: None,
            revision: None,
            last_error: None,
        }
    }
}

/// A period's last failed build.
#[derive(Debug, Clone)]
pub(crate) struct BuildFailure {
    /// The selection it was for.
    pub(crate) selection: SelectionFingerprint,
    /// Why, for rule 2.3.
    pub(crate) kind: FailureKind,
    /// The error, for logs and status.
    pub(crate) message: String,
}

impl BuildFailure {
    /// As rule 2.3 sees it.
    pub(crate) fn facts(&self) -> FailedBuild<'_> {
        FailedBuild {
            selection: &self.selection,
            kind: self.kind,
        }
    }
}

/// One period of one service.
#[derive(Debug)]
pub(crate) struct PeriodState {
    /// The period.
    pub(crate) period: PeriodParams,
    /// Last publication.
    pub(crate) published: Option<Published>,
    /// Per HSDir, for the last publication.
    pub(crate) uploads: Vec<HsDirUpload>,
    /// Running upload tasks of the last publication.
    pub(crate) tasks: Vec<AbortHandle>,
    /// Shared revision floor for every build of this period.
    pub(crate) revision_floor: Arc<Mutex<Option<u64>>>,
    /// Some HSDir accepted some descriptor for this period.
    pub(crate) ever_accepted: bool,
    /// Last build error (with the fingerprint it failed for and why, for rule 2.3).
    pub(crate) build_error: Option<BuildFailure>,
    /// Next generation number.
    pub(crate) next_generation: u64,
    /// The service's blinded id for this period, once computed (blinding is a scalar
    /// multiplication: too costly to repeat at every publication check).
    pub(crate) blind_id: Option<HsBlindId>,
    /// The service's keys do not cover this period (rule 2.0: nothing is published for it).
    pub(crate) no_key: bool,
    /// The last selection and what it was made from: publication checks run after every
    /// backend fetch and every 30 s, and mostly see the same inputs.
    memo: Option<(SelectionInput, Arc<Selection>)>,
}

/// Everything a selection depends on (intro points by their auth key: an intro point's
/// content does not change under the same key).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SelectionInput {
    params: SelectionParams,
    limits: SelectionLimits,
    live: Vec<(OnionAddress, Vec<[u8; 32]>)>,
}

impl PeriodState {
    /// A period never published.
    pub(crate) fn new(period: PeriodParams) -> Self {
        PeriodState {
            period,
            published: None,
            uploads: Vec::new(),
            tasks: Vec::new(),
            revision_floor: Arc::new(Mutex::new(None)),
            ever_accepted: false,
            build_error: None,
            next_generation: 1,
            blind_id: None,
            no_key: false,
            memo: None,
        }
    }

    /// The selection for these inputs (remembered from the last call when they are the same).
    pub(crate) fn select(
        &mut self,
        params: SelectionParams,
        limits: SelectionLimits,
        live: &[BackendIntros],
    ) -> Arc<Selection> {
        let input = SelectionInput {
            params,
            limits,
            live: live
                .iter()
                .map(|b| (b.address, b.intro_points.iter().map(intro_id).collect()))
                .collect(),
        };
        if let Some((memo_input, selection)) = &self.memo
            && *memo_input == input
        {
            return Arc::clone(selection);
        }
        let selection = Arc::new(select_intro_points_within(&params, live, &limits));
        self.memo = Some((input, Arc::clone(&selection)));
        selection
    }

    /// The last publication, as the publication rules compare with it.
    pub(crate) fn last_publication(&self) -> Option<LastPublication<'_>> {
        self.published.as_ref().map(|p| LastPublication {
            selection: &p.fingerprint,
            hsdirs: &p.hsdirs,
            at: p.at_instant,
        })
    }

    /// Stop the uploads of the previous publication (superseded).
    pub(crate) fn abort_uploads(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }

    /// Revision counter of the current generation as the HSDirs have it: the highest one
    /// accepted (retries are rebuilt with higher counters), else the first build's.
    pub(crate) fn revision(&self) -> Option<u64> {
        self.uploads
            .iter()
            .filter_map(|u| u.revision)
            .max()
            .or(self.published.as_ref().map(|p| p.revision))
    }

    /// HSDirs that accepted the current generation.
    pub(crate) fn accepted(&self) -> usize {
        self.uploads.iter().filter(|u| u.accepted.is_some()).count()
    }
}

impl Drop for PeriodState {
    fn drop(&mut self) {
        self.abort_uploads();
    }
}

/// One service: its spec and its periods.
#[derive(Debug)]
pub(crate) struct ServicePublications {
    /// Its configuration.
    pub(crate) spec: ServiceSpec,
    /// Per time period (by interval number).
    pub(crate) periods: BTreeMap<u64, PeriodState>,
    /// Live backends at the last publish check.
    pub(crate) live_backends: usize,
    /// Whether "every backend is down, keeping the last descriptor" was already logged.
    pub(crate) warned_no_backend: bool,
    /// Set on reload when the restricted-discovery clients changed: republish every period
    /// once (cleared by the next publication check that gets past the service gate).
    pub(crate) auth_clients_changed: bool,
}

impl ServicePublications {
    /// A new service.
    pub(crate) fn new(spec: ServiceSpec) -> Self {
        ServicePublications {
            spec,
            periods: BTreeMap::new(),
            live_backends: 0,
            warned_no_backend: false,
            auth_clients_changed: false,
        }
    }

    /// Record one upload attempt's result for this service (counters are the caller's).
    pub(crate) fn record_upload(&mut self, report: UploadReport) {
        let key = report.key;
        let Some(period) = self.periods.get_mut(&key.period) else {
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
}
