//! Reaching a main address through the C tor client, as the scenarios need it: "every backend
//! answers at least once" ([`reach_all`]) and "N requests all succeed" ([`get_n`]).
//!
//! Between rounds the client gets `SIGNAL NEWNYM`, which purges its onion service state: the next
//! request fetches the descriptor again from a random responsible HSDir (so a republished
//! descriptor, or another of the distinct descriptors, is seen), and a failed lookup is not
//! remembered. Inside a round every request has a fresh isolation tag (a fresh circuit, and C tor
//! picks a random intro point of the cached descriptor).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::client::{Client, SocksReplyError};

/// Timeout of one request in these helpers.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(45);

static TAGS: AtomicUsize = AtomicUsize::new(0);

/// A process-wide unique isolation tag starting with `prefix`.
pub fn fresh_tag(prefix: &str) -> String {
    format!("{prefix}-{}", TAGS.fetch_add(1, Ordering::SeqCst))
}

/// What a series of requests got.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Answers by body (the backend's name).
    pub answers: BTreeMap<String, usize>,
    /// Failed requests' errors, in order.
    pub errors: Vec<String>,
    /// Requests made.
    pub attempts: usize,
    /// Time taken.
    pub elapsed: Duration,
}

impl Outcome {
    /// Successful requests.
    pub fn successes(&self) -> usize {
        self.answers.values().sum()
    }

    /// Whether every name in `want` answered at least once.
    pub fn saw_all(&self, want: &[String]) -> bool {
        want.iter().all(|n| self.answers.contains_key(n))
    }

    fn record(&mut self, r: Result<String>) -> Option<SocksReplyError> {
        self.attempts += 1;
        match r {
            Ok(body) => {
                *self.answers.entry(body).or_default() += 1;
                None
            }
            Err(e) => {
                let code = e.downcast_ref::<SocksReplyError>().copied();
                self.errors.push(format!("{e:#}"));
                code
            }
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ok of {} in {:.1?}, answers {:?}",
            self.successes(),
            self.attempts,
            self.elapsed,
            self.answers
        )?;
        if !self.errors.is_empty() {
            let last = self.errors.len().saturating_sub(3);
            write!(
                f,
                ", {} errors (last: {:?})",
                self.errors.len(),
                &self.errors[last..]
            )?;
        }
        Ok(())
    }
}

/// Request `http://<host>/` in rounds until every name in `want` answered at least once, or fail
/// after `timeout` (with what was seen). Each round starts with a NEWNYM and makes up to
/// `per_round` requests on fresh circuits; a round ends early on a failed descriptor lookup.
pub fn reach_all(
    client: &Client,
    host: &str,
    want: &[String],
    per_round: usize,
    timeout: Duration,
) -> Result<Outcome> {
    let t0 = Instant::now();
    let mut out = Outcome::default();
    let mut round = 0;
    while !out.saw_all(want) {
        if t0.elapsed() >= timeout {
            out.elapsed = t0.elapsed();
            bail!("not every backend of {want:?} answered on {host} within {timeout:?}: {out}");
        }
        if round > 0 {
            client.newnym()?;
        }
        round += 1;
        for _ in 0..per_round.max(1) {
            let r = client.get_with_timeout(host, &fresh_tag("reach"), REQUEST_TIMEOUT);
            if let Err(e) = &r {
                eprintln!("[reach] round {round}: {e:#}");
            }
            let code = out.record(r);
            if out.saw_all(want) || t0.elapsed() >= timeout {
                break;
            }
            if matches!(code, Some(SocksReplyError(0xF0 | 0xF1))) {
                // No (valid) descriptor: the next round refetches after NEWNYM.
                break;
            }
        }
    }
    out.elapsed = t0.elapsed();
    Ok(out)
}

/// `n` requests, each on a fresh circuit, starting with a NEWNYM (so the descriptor is fetched
/// anew) and another NEWNYM every `per_descriptor` requests.
pub fn get_n(client: &Client, host: &str, n: usize, per_descriptor: usize) -> Result<Outcome> {
    let t0 = Instant::now();
    let mut out = Outcome::default();
    for i in 0..n {
        if i % per_descriptor.max(1) == 0 {
            client.newnym()?;
        }
        let r = client.get_with_timeout(host, &fresh_tag("get"), REQUEST_TIMEOUT);
        if let Err(e) = &r {
            eprintln!("[reach] request {}/{n}: {e:#}", i + 1);
        }
        out.record(r);
    }
    out.elapsed = t0.elapsed();
    Ok(out)
}

/// Request until one succeeds or `timeout` passes (NEWNYM between failures); the body.
pub fn get_eventually(client: &Client, host: &str, timeout: Duration) -> Result<String> {
    let t0 = Instant::now();
    let mut out = Outcome::default();
    loop {
        let r = client.get_with_timeout(host, &fresh_tag("once"), REQUEST_TIMEOUT);
        if let Ok(body) = &r {
            return Ok(body.clone());
        }
        if let Err(e) = &r {
            eprintln!("[reach] {host}: {e:#}");
        }
        out.record(r);
        if t0.elapsed() >= timeout {
            out.elapsed = t0.elapsed();
            bail!("no answer from {host} within {timeout:?}: {out}");
        }
        client.newnym()?;
    }
}

/// Fetch `host`'s descriptor afresh (NEWNYM, then requests until one succeeds) and return the
/// revision counter of the descriptor the client got from an HSDir: an independent view of what
/// the HSDirs serve, to compare with the status's `revisionCounter`s.
pub fn fetched_revision(client: &Client, host: &str, timeout: Duration) -> Result<u64> {
    client.newnym()?;
    get_eventually(client, host, timeout)?;
    let desc = client.cached_descriptor(host)?;
    crate::client::descriptor_revision_counter(&desc)
        .ok_or_else(|| anyhow::anyhow!("no revision-counter in the descriptor of {host}"))
}
