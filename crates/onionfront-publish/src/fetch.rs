//! One fetch of one backend's descriptor: ask its responsible HSDirs in random order until one
//! answers with a descriptor that validates (and is not older than one already seen).

use std::sync::Arc;
use std::time::Duration;

use onionfront_core::OnionAddress;
use onionfront_core::descriptor::{ValidatedDescriptor, validate_backend_descriptor};
use onionfront_core::period::PeriodParams;
use tracing::debug;

use crate::network::{Directory, HsDirId, NetError, Network};

/// The outcome of one fetch.
#[derive(Debug)]
pub(crate) struct FetchOutcome {
    /// The backend.
    pub(crate) address: OnionAddress,
    /// The period fetched for.
    pub(crate) period: PeriodParams,
    /// The descriptor and the HSDir that served it, or why every HSDir failed.
    pub(crate) result: Result<(ValidatedDescriptor, HsDirId), String>,
}

/// Fetch `address`'s descriptor for the directory's current period.
///
/// `seen_revision` is the highest revision already accepted for that period: an HSDir serving
/// an older copy is skipped like one serving garbage.
pub(crate) async fn fetch_backend<N: Network>(
    net: Arc<N>,
    dir: Arc<dyn Directory>,
    address: OnionAddress,
    seen_revision: Option<u64>,
    attempt_timeout: Duration,
) -> FetchOutcome {
    let period = dir.current_period();
    let result = fetch_inner(
        &*net,
        &*dir,
        address,
        &period,
        seen_revision,
        attempt_timeout,
    )
    .await;
    FetchOutcome {
        address,
        period,
        result,
    }
}

async fn fetch_inner<N: Network>(
    net: &N,
    dir: &dyn Directory,
    address: OnionAddress,
    period: &PeriodParams,
    seen_revision: Option<u64>,
    attempt_timeout: Duration,
) -> Result<(ValidatedDescriptor, HsDirId), String> {
    let key = address.hs_id_key().map_err(|e| e.to_string())?;
    let (blinded, _subcredential) = key
        .compute_blinded_key(period.time_period)
        .map_err(|e| format!("cannot blind {address}: {e}"))?;
    let blind_id = blinded.id();
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
                debug!(backend = %address.short(), %hsdir, error = %e, "fetch attempt failed");
                failures.push(format!("{hsdir}: {e}"));
                continue;
            }
        };
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
                return Ok((desc, hsdir));
            }
            Err(rejection) => {
                debug!(backend = %address.short(), %hsdir, %rejection, "descriptor rejected");
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
