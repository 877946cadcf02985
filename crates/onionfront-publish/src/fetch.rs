//! One fetch of one backend's descriptor: ask its responsible HSDirs in random order until one
//! answers with a descriptor that validates (and is not older than one already seen).
//!
//! The rules, in prose:
//! - an answer longer than the consensus' size limit (`HSV3MaxDescriptorSize`) is refused
//!   unread, and the next HSDir is asked (the network reads at most the limit: Arti's directory
//!   client stops past it);
//! - validation uses the consensus' `cc_sendme_inc`, so a `flow-control` line clients would
//!   refuse is refused here too;
//! - a descriptor with a lower revision counter than the highest one seen for the period (in
//!   this run, or before a restart: the persisted history) is a replay: skipped, next HSDir;
//! - most fetches return the very descriptor fetched last time (backends republish every hour
//!   or so): a text byte-identical to the last validated one (same SHA3-256) is not parsed and
//!   verified again; only its expiry and its `flow-control` line (the consensus may have
//!   changed) are checked.

use std::sync::Arc;
use std::time::Duration;

use digest::Digest;
use tor_hscrypto::pk::HsBlindId;
use tor_llcrypto::d::Sha3_256;

use onionfront_core::OnionAddress;
use onionfront_core::descriptor::{
    ValidatedDescriptor, ValidationParams, check_flow_control, validate_backend_descriptor_with,
};
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
    /// The highest revision counter seen for that period (the backend's history, restored
    /// after a restart): older descriptors are replays.
    pub(crate) seen_revision: Option<u64>,
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
        seen_revision,
    } = *target;
    let seen_revision = seen_revision.max(known.map(|k| k.desc.revision));
    let limit = dir.max_descriptor_size();
    let params = ValidationParams {
        cc_sendme_inc: Some(dir.cc_sendme_inc()),
    };
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
            // (A network that did not stop reading at the limit: refused all the same.)
            Ok(t) if t.len() > limit => Err(NetError::TooLarge {
                read: t.len(),
                limit,
            }),
            other => other,
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
            && flow_control_accepted(&k.desc, params.cc_sendme_inc)
        {
            return Ok((Arc::clone(k), hsdir)); // the same bytes validated before
        }
        match validate_backend_descriptor_with(&text, &address, period, net.now(), &params) {
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

/// Whether `desc`'s `flow-control` line (if any) is one clients accept under `cc_sendme_inc`.
fn flow_control_accepted(desc: &ValidatedDescriptor, cc_sendme_inc: Option<u8>) -> bool {
    match (&desc.flow_control, cc_sendme_inc) {
        (Some((_, inc)), Some(consensus)) => check_flow_control(inc.get(), consensus).is_ok(),
        _ => true,
    }
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
    use crate::fake::{Behaviour, FakeNetwork};

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
                    seen_revision: None,
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

    /// Fetch `backend`'s descriptor for the current period on `net`.
    async fn fetch_now(
        net: &Arc<FakeNetwork>,
        backend: OnionAddress,
        known: Option<Arc<KnownText>>,
        seen_revision: Option<u64>,
    ) -> FetchOutcome {
        let dir = net.snapshot();
        let period = dir.current_period();
        let target = FetchTarget {
            address: backend,
            period,
            blind_id: backend_blind_id(&backend, &period).expect("blind"),
            seen_revision,
        };
        fetch_backend(Arc::clone(net), dir, target, known, Duration::from_secs(10)).await
    }

    /// The HSDirs a fetch of `backend` asks, in order, and its blinded id.
    fn download_order(net: &FakeNetwork, backend: OnionAddress) -> (Vec<HsDirId>, HsBlindId) {
        let dir = net.snapshot();
        let period = dir.current_period();
        let blind = backend_blind_id(&backend, &period).expect("blind");
        (dir.hsdirs_download(&blind, period.time_period), blind)
    }

    /// The first HSDir serves an older revision than one already seen: skipped as a replay,
    /// and the next HSDir's current descriptor is returned. The same holds when the revision
    /// seen comes from the history alone (after a restart: no known text).
    #[tokio::test(start_paused = true)]
    async fn an_older_revision_from_the_first_hsdir_is_skipped() {
        let net = FakeNetwork::new(8, 1440);
        let backend = net.add_backend(1, 3);
        let (order, blind) = download_order(&net, backend);
        let (old_text, old_revision) = net.stored(order[0], &blind).expect("stored");
        tokio::time::sleep(Duration::from_secs(60)).await;
        net.publish_backend(backend);
        let current = fetch_now(&net, backend, None, None).await;
        let (current, from) = current.result.expect("fetched");
        assert_eq!(from, order[0]);
        assert!(current.desc.revision > old_revision);
        net.put_descriptor(order[0], &blind, old_text);

        // Without anything seen, the old one is taken (it is valid): what the skip prevents.
        let naive = fetch_now(&net, backend, None, None).await;
        assert_eq!(naive.result.expect("fetched").0.desc.revision, old_revision);

        for (known, seen) in [
            (Some(Arc::clone(&current)), None),
            (None, Some(current.desc.revision)),
        ] {
            let out = fetch_now(&net, backend, known, seen).await;
            let (got, from) = out.result.expect("the next HSDir answers");
            assert_eq!(from, order[1]);
            assert_eq!(got.desc.revision, current.desc.revision);
        }

        // Every HSDir replays: the fetch fails, saying why.
        for h in &order {
            let (old, _) = net.stored(order[0], &blind).expect("stored");
            net.put_descriptor(*h, &blind, old);
        }
        let out = fetch_now(&net, backend, None, Some(current.desc.revision)).await;
        let reason = out.result.expect_err("only replays");
        assert!(
            reason.contains(&format!(
                "replay: revision {old_revision} < {} already seen",
                current.desc.revision
            )),
            "{reason}"
        );
    }

    /// An HSDir answering with 10 MB: the answer is read no further than the size limit (plus
    /// one read window), refused, and the next HSDir is asked.
    #[tokio::test(start_paused = true)]
    async fn an_answer_over_the_size_limit_is_refused_and_the_next_hsdir_asked() {
        let net = FakeNetwork::new(8, 1440);
        let backend = net.add_backend(1, 3);
        let (order, _) = download_order(&net, backend);
        net.set_behaviour(order[0], Behaviour::Oversized(10_000_000));
        let out = fetch_now(&net, backend, None, None).await;
        let (got, from) = out.result.expect("the next HSDir answers");
        assert_eq!(from, order[1]);
        assert_eq!(got.desc.intro_points.len(), 3);
        let limit = net.snapshot().max_descriptor_size();
        assert!(
            net.largest_answer() <= limit + 1024,
            "{}",
            net.largest_answer()
        );

        for h in &order {
            net.set_behaviour(*h, Behaviour::Oversized(10_000_000));
        }
        let reason = fetch_now(&net, backend, None, None)
            .await
            .result
            .expect_err("every answer too large");
        // Read window by window (1 KiB) until past the limit.
        let read = (limit / 1024 + 1) * 1024;
        assert!(
            reason.contains(&format!(
                "answer over the descriptor size limit ({read} bytes read, limit {limit})"
            )),
            "{reason}"
        );
    }

    /// A network that hands over an answer longer than the limit (it did not stop reading):
    /// refused by the fetch itself, not parsed.
    #[tokio::test(start_paused = true)]
    async fn an_oversized_text_from_the_network_is_refused_unparsed() {
        let net = FakeNetwork::new(8, 1440);
        let backend = net.add_backend(1, 3);
        let (order, blind) = download_order(&net, backend);
        let limit = net.snapshot().max_descriptor_size();
        let (text, _) = net.stored(order[0], &blind).expect("stored");
        // A valid descriptor padded past the limit (trailing blank lines).
        let padded: String = format!("{text}{}", "\n".repeat(limit));
        for h in &order {
            net.put_descriptor(*h, &blind, Arc::from(padded.as_str()));
        }
        let reason = fetch_now(&net, backend, None, None)
            .await
            .result
            .expect_err("too large");
        assert!(
            reason.contains(&format!(
                "answer over the descriptor size limit ({} bytes read, limit {limit}) (x6)",
                padded.len()
            )),
            "{reason}"
        );
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
