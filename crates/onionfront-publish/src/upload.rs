//! Uploading a main descriptor to one HSDir until it is accepted.
//!
//! Each HSDir gets its own task: try, report the result, back off with jitter, try again, until
//! the HSDir answers 200 or the task is aborted because a newer descriptor superseded it. A retry
//! rebuilds the descriptor from its [`Recipe`] so that it carries a higher revision counter (an
//! HSDir that did store a timed-out attempt would refuse the same counter again).
//!
//! The publication step (`publication.rs`) builds the first descriptors and hands the reactor
//! one [`UploadJob`] per HSDir; the reactor runs each with [`upload_until_accepted`], which
//! reports every attempt as an [`UploadReport`] through the callback it is given (this module
//! knows nothing of the reactor's events).

use std::num::NonZeroU8;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use onionfront_core::keys::SigningKeys;
use onionfront_core::main_descriptor::{
    BuildError, BuildRequest, BuiltDescriptor, build_main_descriptor,
};
use onionfront_core::period::PeriodParams;
use tor_hscrypto::pk::HsBlindId;
use tor_llcrypto::pk::curve25519;
use tor_netdoc::doc::hsdesc::IntroPointDesc;
use tor_protover::Protocols;
use tracing::{debug, info, warn};

use crate::backoff::Backoff;
use crate::network::{HsDirId, NetError, Network};

/// First retry delay after a failed upload.
const RETRY_FLOOR: Duration = Duration::from_secs(2);
/// Longest retry delay.
const RETRY_CAP: Duration = Duration::from_secs(600);

/// Everything needed to (re)build one descriptor of one period.
pub(crate) struct Recipe {
    /// What signs (identity key or key bundle).
    pub(crate) keys: SigningKeys,
    /// The period.
    pub(crate) period: PeriodParams,
    /// Selected intro points.
    pub(crate) intro_points: Vec<IntroPointDesc>,
    /// `flow-control` to advertise.
    pub(crate) flow_control: Option<(Protocols, NonZeroU8)>,
    /// Restricted discovery clients.
    pub(crate) auth_clients: Vec<curve25519::PublicKey>,
    /// `descriptor-lifetime`.
    pub(crate) lifetime_minutes: u16,
    /// Size limit.
    pub(crate) max_size: usize,
    /// Highest revision counter handed out for this period (shared by every recipe of the
    /// period): each build goes strictly above it.
    pub(crate) revision_floor: Arc<Mutex<Option<u64>>>,
}

impl Recipe {
    /// Build and sign a descriptor with a revision counter above every earlier one.
    pub(crate) fn build(&self, now: SystemTime) -> Result<BuiltDescriptor, BuildError> {
        // A poisoned lock only means another build panicked; the value is still a valid floor.
        let mut floor = self
            .revision_floor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let built = build_main_descriptor(&BuildRequest {
            keys: &self.keys,
            period: &self.period,
            intro_points: &self.intro_points,
            flow_control: self.flow_control.clone(),
            auth_clients: &self.auth_clients,
            lifetime_minutes: self.lifetime_minutes,
            max_size: self.max_size,
            min_revision: *floor,
            now,
        })?;
        *floor = Some(floor.map_or(built.revision, |f| f.max(built.revision)));
        Ok(built)
    }
}

/// Identifies one upload job (service, period, generation, HSDir).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UploadKey {
    /// The service's address.
    pub(crate) service: onionfront_core::OnionAddress,
    /// Time period number.
    pub(crate) period: u64,
    /// Publication generation of that period (older ones are ignored).
    pub(crate) generation: u64,
    /// The HSDir.
    pub(crate) hsdir: HsDirId,
}

/// One attempt's result, reported to the scheduler.
#[derive(Debug)]
pub(crate) struct UploadReport {
    /// Which job.
    pub(crate) key: UploadKey,
    /// When the attempt ended.
    pub(crate) at: SystemTime,
    /// The attempt number (1-based).
    pub(crate) attempt: u32,
    /// Accepted with this revision counter, or the error; `will_retry` says whether another
    /// attempt follows.
    pub(crate) result: Result<u64, NetError>,
    /// Whether the task will try again.
    pub(crate) will_retry: bool,
}

/// One upload to start: which HSDir gets which descriptor, and how to rebuild it for retries.
pub(crate) struct UploadJob {
    /// Which job.
    pub(crate) key: UploadKey,
    /// The blinded id the descriptor is stored under.
    pub(crate) blind_id: HsBlindId,
    /// How to rebuild the descriptor (with a higher revision counter) for a retry.
    pub(crate) recipe: Arc<Recipe>,
    /// The descriptor of the first attempt.
    pub(crate) first: Arc<BuiltDescriptor>,
}

/// Upload `job` until accepted; pass every attempt's report to `report`, and stop when it
/// returns `false` (nobody listens any more).
pub(crate) async fn upload_until_accepted<N: Network>(
    net: Arc<N>,
    job: UploadJob,
    attempt_timeout: Duration,
    report: impl Fn(UploadReport) -> bool + Send,
) {
    let UploadJob {
        key,
        blind_id,
        recipe,
        first,
    } = job;
    let mut backoff = Backoff::new(RETRY_FLOOR, RETRY_CAP);
    let mut descriptor = first;
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let result = attempt_once(&*net, key.hsdir, blind_id, &descriptor, attempt_timeout).await;
        let will_retry = matches!(&result, Err(e) if e.is_retriable());
        match &result {
            Ok(_) => {
                debug!(service = %key.service.short(), period = key.period, hsdir = %key.hsdir,
                revision = descriptor.revision, attempt, "HSDir accepted descriptor")
            }
            Err(e) if will_retry => info!(service = %key.service.short(), period = key.period,
                hsdir = %key.hsdir, attempt, error = %e, "upload failed; will retry"),
            Err(e) => warn!(service = %key.service.short(), period = key.period,
                hsdir = %key.hsdir, attempt, error = %e, "upload failed; giving up on this HSDir"),
        }
        let listened = report(UploadReport {
            key,
            at: net.now(),
            attempt,
            result: result.map(|()| descriptor.revision),
            will_retry,
        });
        if !listened || !will_retry {
            return;
        }
        tokio::time::sleep(backoff.next_delay()).await;
        match recipe.build(net.now()) {
            Ok(d) => descriptor = Arc::new(d),
            Err(e) => {
                warn!(service = %key.service.short(), period = key.period, error = %e,
                    "cannot rebuild descriptor for retry; retrying the previous one");
            }
        }
    }
}

async fn attempt_once<N: Network>(
    net: &N,
    hsdir: HsDirId,
    blind_id: HsBlindId,
    descriptor: &BuiltDescriptor,
    attempt_timeout: Duration,
) -> Result<(), NetError> {
    let text: Arc<str> = Arc::from(descriptor.text.as_str());
    let attempt = async {
        let dir = net.directory().await?;
        net.upload(&*dir, hsdir, blind_id, text).await
    };
    match tokio::time::timeout(attempt_timeout, attempt).await {
        Ok(r) => r,
        Err(_) => Err(NetError::Timeout),
    }
}
