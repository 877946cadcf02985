//! The rehearsal's consensuses, built by Arti: every hour a real `tor_netdir::NetDir` listing
//! the fake network's HSDirs, with live-network parameters (1440-minute periods, a one-hour
//! voting interval so periods rotate at 12:00 UTC, shared random values whose runs start at
//! 00:00 UTC). Time periods, shared random periods and HSDir rings are then Arti's own
//! (`hs_all_time_periods`, `hs_dirs_upload`, `hs_dirs_download`), as in production.
//!
//! The consensus lists the current and the previous shared random value of the day of its
//! `valid-after` (derived from the day number), without timestamps, so Arti places their runs at
//! 00:00 UTC: from 00:00 to 12:00 a service publishes for the current and the next period, from
//! 12:00 to 00:00 for the current and the previous one.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use digest::Digest;
use onionfront_core::period::PeriodParams;
use onionfront_publish::HsDirId;
use onionfront_publish::fake::{ConsensusModel, ConsensusView};
use tor_hscrypto::pk::HsBlindId;
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::d::Sha3_256;
use tor_netdir::{MdReceiver, NetDir, PartialNetDir, Relay};
use tor_netdoc::doc::microdesc::MicrodescAndHash;
use tor_netdoc::doc::netstatus::{Lifetime, MdConsensus, RelayWeight};
use tor_netdoc::types::relay_flags::RelayFlag;

/// One hour: the voting interval (fresh-until minus valid-after).
const HOUR: Duration = Duration::from_secs(3600);

/// Builds Arti `NetDir`s for the fake network (see the module docs).
pub struct ArtiConsensus;

/// The shared random value of the run starting on day `day` (days since the epoch).
fn srv(day: u64) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(b"onionfront live rehearsal shared random value");
    h.update(day.to_be_bytes());
    h.finalize().into()
}

impl ConsensusModel for ArtiConsensus {
    fn consensus(
        &self,
        valid_after: SystemTime,
        relays: &[HsDirId],
    ) -> Result<Arc<dyn ConsensusView>, String> {
        let secs = valid_after
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let day = secs / 86_400;
        let lifetime = Lifetime::new(valid_after, valid_after + HOUR, valid_after + 3 * HOUR)
            .map_err(|e| e.to_string())?;
        let flags = RelayFlag::Running
            | RelayFlag::Valid
            | RelayFlag::V2Dir
            | RelayFlag::Fast
            | RelayFlag::Stable
            | RelayFlag::Guard
            | RelayFlag::Exit
            | RelayFlag::HSDir;
        let mut bld = MdConsensus::builder();
        bld.consensus_method(34)
            .lifetime(lifetime)
            .param("bwweightscale", 1)
            .weights("".parse().map_err(|e| format!("{e}"))?);
        bld.shared_rand_prev(9, srv(day.saturating_sub(1)).into(), None);
        bld.shared_rand_cur(9, srv(day).into(), None);
        let mut mds = Vec::with_capacity(relays.len());
        for (i, r) in relays.iter().enumerate() {
            let mut md = MicrodescAndHash::builder();
            md.ntor_key((*b"----nothing in dirmgr uses this-").into())
                .ed25519_id(r.ed.into())
                .parse_ipv4_policy("accept 1-65535")
                .map_err(|e| format!("{e}"))?;
            let md = md.testing_md().map_err(|e| format!("{e}"))?;
            let octet = u8::try_from(i % 250).unwrap_or(0);
            bld.rs()
                .identity(r.rsa.into())
                .add_or_port(SocketAddr::from(([10, 0, octet, 1], 9001)))
                .protos("DirCache=2".parse().map_err(|e| format!("{e:?}"))?)
                .set_flags(flags)
                .weight(RelayWeight::Measured(1000))
                .doc_digest(*md.digest())
                .build_into(&mut bld)
                .map_err(|e| format!("{e}"))?;
            mds.push(md);
        }
        let consensus = bld.testing_consensus().map_err(|e| format!("{e}"))?;
        let mut partial = PartialNetDir::new(consensus, None);
        for md in mds {
            partial.add_microdesc(md);
        }
        let netdir = partial
            .unwrap_if_sufficient()
            .map_err(|_| "the rehearsal's consensus is not sufficient for Arti".to_string())?;
        Ok(Arc::new(ArtiView {
            netdir: Arc::new(netdir),
        }))
    }
}

/// One Arti `NetDir`, answering for periods and rings.
pub struct ArtiView {
    netdir: Arc<NetDir>,
}

impl std::fmt::Debug for ArtiView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtiView")
            .field("period", &self.netdir.hs_time_period().interval_num())
            .finish_non_exhaustive()
    }
}

/// Arti's ring parameters, as onionfront's period.
fn period_params(p: &tor_netdir::HsDirParams) -> PeriodParams {
    PeriodParams {
        time_period: p.time_period(),
        srv_start: p.start_of_shard_rand_period(),
    }
}

/// The identities of an Arti relay.
fn hsdir_id(relay: &Relay<'_>) -> HsDirId {
    let mut rsa = [0u8; 20];
    rsa.copy_from_slice(relay.rsa_id().as_bytes());
    HsDirId {
        rsa,
        ed: (*relay.id()).into(),
    }
}

impl ConsensusView for ArtiView {
    fn current_period(&self) -> PeriodParams {
        let current = self.netdir.hs_time_period();
        self.netdir
            .hs_all_time_periods()
            .iter()
            .find(|p| p.time_period() == current)
            .map_or(
                PeriodParams {
                    time_period: current,
                    srv_start: current.range().map_or(SystemTime::UNIX_EPOCH, |r| r.start),
                },
                period_params,
            )
    }

    fn publish_periods(&self) -> Vec<PeriodParams> {
        let current = self.netdir.hs_time_period();
        let mut all: Vec<PeriodParams> = self
            .netdir
            .hs_all_time_periods()
            .iter()
            .map(period_params)
            .collect();
        all.sort_by_key(|p| p.time_period != current);
        all
    }

    fn hsdirs_download(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        self.netdir
            .hs_dirs_download(*blind_id, period, &mut rand::rng())
            .map(|v| v.iter().map(hsdir_id).collect())
            .unwrap_or_default()
    }

    fn hsdirs_upload(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId> {
        self.netdir
            .hs_dirs_upload(*blind_id, period)
            .map(|it| it.map(|r| hsdir_id(&r)).collect())
            .unwrap_or_default()
    }
}
