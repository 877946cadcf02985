//! One fetch of one backend's descriptor: ask its responsible HSDirs in random order until one
//! answers with a descriptor that validates (and is not older than one already seen).
//!
//! Most fetches return the very descriptor fetched last time (backends republish every hour or
//! so): a text byte-identical to the last validated one (same SHA3-256) is not parsed and
//! verified again; only its expiry is checked.

use std::sync::Arc;
use std::time::Duration;

use digest::Digest;
use tor_hscrypto::pk::HsBlindId;
use tor_llcrypto::d::Sha3_256;

use onionfront_core::OnionAddress;
use onionfront_core::descriptor::{ValidatedDescriptor, validate_backend_descriptor};
use onionfront_core::period::PeriodParams;
use tracing::debug;

use crate::network::{Directory, HsDirId, NetError, Network};

/// The last descriptor text of a backend that validated, and what it validated to.
#[derive(Debug)]
pub(crate) struct KnownText {
    /// SHA3-256 of the text.
    pub(crate) digest: [u8; 32],
    /// The validated descriptor.
    pub(crate) desc: ValidatedDescriptor,
}

/// SHA3-256 of a descriptor text.
fn text_digest(text: &str) -> [u8; 32] {
    Sha3_256::digest(text.as_bytes()).into()
}

/// The outcome of one fetch.
#[derive(Debug)]
pub(crate) struct FetchOutcome {
    /// The backend.
    pub(crate) address: OnionAddress,
    /// The period fetched for.
    pub(crate) period: PeriodParams,
    /// The descriptor (with the digest of its text) and the HSDir that served it, or why every
    /// HSDir failed.
    pub(crate) result: Result<(Arc<KnownText>, HsDirId), String>,
}

/// What to fetch: a backend's descriptor for a period, under its blinded id there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchTarget {
    /// The backend.
    pub(crate) address: OnionAddress,
    /// The period (the directory's current one).
    pub(crate) period: PeriodParams,
    /// The backend's blinded id in that period (computed once per period by the caller).
    pub(crate) blind_id: HsBlindId,
}

/// The blinded id of `address` in `period`.
pub(crate) fn backend_blind_id(
    address: &OnionAddress,
    period: &PeriodParams,
) -> Result<HsBlindId, String> {
    let key = address.hs_id_key().map_err(|e| e.to_string())?;
    let (blinded, _subcredential) = key
        .compute_blinded_key(period.time_period)
        .map_err(|e| format!("cannot blind the backend's address: {e}"))?;
    Ok(blinded.id())
}

/// Fetch the descriptor of `target`.
///
/// `known` is the last descriptor accepted for `target.period`: an HSDir serving an older copy
/// is skipped like one serving garbage, and the same text again is not validated again.
pub(crate) async fn fetch_backend<N: Network>(
    net: Arc<N>,
    dir: Arc<N::Dir>,
    target: FetchTarget,
    known: Option<Arc<KnownText>>,
    attempt_timeout: Duration,
) -> FetchOutcome {
    let result = fetch_inner(&*net, &*dir, &target, known.as_ref(), attempt_timeout).await;
    FetchOutcome {
        address: target.address,
        period: target.period,
        result,
    }
}

async fn fetch_inner<N: Network>(
    net: &N,
    dir: &N::Dir,
    target: &FetchTarget,
    known: Option<&Arc<KnownText>>,
    attempt_timeout: Duration,
) -> Result<(Arc<KnownText>, HsDirId), String> {
    let FetchTarget {
        address,
        ref period,
        blind_id,
    } = *target;
    let seen_revision = known.map(|k| k.desc.revision);
    let hsdirs = dir.hsdirs_download(&blind_id, period.time_period);
    if hsdirs.is_empty() {
        return Err("no responsible HSDir in the consensus".into());
    }
    let mut failures = Vec::new();
    for hsdir in hsdirs {
        let attempt = tokio::time::timeout(attempt_timeout, net.fetch(dir, hsdir, blind_id)).await;
        let text = match attempt {
            Err(_) => Err(NetError::Timeout),
            Ok(r) => r,
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                // The backend is named by the caller's span (never by its address).
                debug!(%hsdir, error = %e, "fetch attempt failed");
                failures.push(format!("{hsdir}: {e}"));
                continue;
            }
        };
        let digest = text_digest(&text);
        if let Some(k) = known
            && k.digest == digest
            && net.now() < k.desc.valid_until
        {
            return Ok((Arc::clone(k), hsdir)); // the same bytes validated before
        }
        match validate_backend_descriptor(&text, &address, period, net.now()) {
            Ok(desc) => {
                if let Some(seen) = seen_revision
                    && desc.revision < seen
                {
                    failures.push(format!(
                        "{hsdir}: replay: revision {} < {seen} already seen",
                        desc.revision
                    ));
                    continue;
                }
                return Ok((Arc::new(KnownText { digest, desc }), hsdir));
            }
            Err(rejection) => {
                debug!(%hsdir, %rejection, "descriptor rejected");
                failures.push(format!("{hsdir}: rejected: {rejection}"));
            }
        }
    }
    Err(summarize(&failures))
}

/// One line from the per-HSDir failures: the distinct reasons, with counts.
fn summarize(failures: &[String]) -> String {
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for f in failures {
        let reason = f.split_once(": ").map(|(_, r)| r).unwrap_or(f).to_string();
        match reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => reasons.push((reason, 1)),
        }
    }
    let parts: Vec<String> = reasons
        .into_iter()
        .map(|(r, n)| if n > 1 { format!("{r} (x{n})") } else { r })
        .collect();
    format!("all {} HSDirs failed: {}", failures.len(), parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeNetwork;

    #[tokio::test(start_paused = true)]
    async fn the_same_text_is_not_validated_again() {
        let net = FakeNetwork::new(8, 1440);
        let backend = net.add_backend(1, 3);
        let t = Duration::from_secs(10);
        let fetch = |known: Option<Arc<KnownText>>| {
            let (net, dir) = (Arc::clone(&net), net.snapshot());
            async move {
                let period = dir.current_period();
                let target = FetchTarget {
                    address: backend,
                    period,
                    blind_id: backend_blind_id(&backend, &period).expect("blind"),
                };
                let out = fetch_backend(net, dir, target, known, t).await;
                out.result.expect("fetched").0
            }
        };
        let first = fetch(None).await;
        assert_eq!(first.desc.intro_points.len(), 3);
        // Same text: the validated descriptor is reused as it is.
        let again = fetch(Some(Arc::clone(&first))).await;
        assert!(Arc::ptr_eq(&first, &again));
        // Same text, but what is known has another digest: validated afresh, same result.
        let other = Arc::new(KnownText {
            digest: [0; 32],
            desc: first.desc.clone(),
        });
        let fresh = fetch(Some(Arc::clone(&other))).await;
        assert!(!Arc::ptr_eq(&other, &fresh));
        assert_eq!(fresh.digest, first.digest);
        assert_eq!(fresh.desc.revision, first.desc.revision);
        // The backend republishes: a new text, validated, with a higher revision.
        tokio::time::sleep(Duration::from_secs(60)).await;
        net.publish_backend(backend);
        let newer = fetch(Some(Arc::clone(&first))).await;
        assert_ne!(newer.digest, first.digest);
        assert!(newer.desc.revision > first.desc.revision);
    }

    #[test]
    fn summary_counts_reasons() {
        let s = summarize(&[
            "$AA: HSDir answered HTTP 404: Not found".into(),
            "$BB: HSDir answered HTTP 404: Not found".into(),
            "$CC: timed out".into(),
        ]);
        assert_eq!(
            s,
            "all 3 HSDirs failed: HSDir answered HTTP 404: Not found (x2); timed out"
        );
    }
}
