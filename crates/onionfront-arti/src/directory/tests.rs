//! [`ArtiDirectory`] on real Arti `NetDir`s built with `tor_netdir::testnet`.
//!
//! The HSDir choices are checked against rend-spec-v3 §2.2.3 written out here independently of
//! Arti (hash ring indices, replicas, spreads, skipping relays an earlier replica took, disaster
//! SRV), as well as against Arti's own `hs_dirs_upload` / `hs_dirs_download`.
//!
//! All consensuses have fixed lifetimes around 2024-01-10 (valid-after, fresh-until one hour
//! later, valid-until three hours later: a one-hour voting interval, so time periods start at
//! 12:00 UTC and the shared random values' runs at 00:00 UTC). Nothing depends on the clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use digest::Digest;
use onionfront_core::period::PeriodParams;
use onionfront_publish::network::{Directory, HsDirId};
use tor_hscrypto::pk::HsBlindId;
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::d::Sha3_256;
use tor_llcrypto::pk::ed25519::Ed25519Identity;
use tor_netdir::NetDir;
use tor_netdir::testnet::{NodeBuilders, construct_custom_netdir_with_params};
use tor_netdoc::doc::netstatus::{Lifetime, MdConsensusBuilder};
use tor_netdoc::types::relay_flags::{RelayFlag, RelayFlags};

use super::{ArtiDirectory, find_relay, hsdir_id};

/// 2024-01-10T00:00:00Z, in seconds since the epoch.
const JAN_10: u64 = 1_704_844_800;
/// One hour, in seconds.
const HOUR: u64 = 3600;
/// One day, in seconds.
const DAY: u64 = 24 * HOUR;
/// The time period offset with a one-hour voting interval: 12 voting periods (rend-spec).
const OFFSET_SECS: u32 = 12 * 3600;
/// Period number of 2024-01-10T12:00Z .. 2024-01-11T12:00Z (default 1440-minute periods).
const TP_JAN_10: u64 = 19_732;
/// The consensus' previous shared random value (the run of 2024-01-09).
const SRV_PREV: [u8; 32] = [0x09; 32];
/// The consensus' current shared random value (the run of 2024-01-10).
const SRV_CUR: [u8; 32] = [0x10; 32];
/// Every relay of the test network (`testnet` builds 40, with identities `[i; 20]`/`[i; 32]`).
const ALL: std::ops::Range<u8> = 0..40;

/// `secs` after the epoch.
fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// A default-length (1440 minutes) period with a one-hour voting interval.
fn day_period(interval_num: u64) -> TimePeriod {
    TimePeriod::from_parts(1440, interval_num, OFFSET_SECS)
}

/// The identities of testnet relay `i`.
fn relay_id(i: u8) -> HsDirId {
    HsDirId {
        rsa: [i; 20],
        ed: [i; 32],
    }
}

/// A deterministic blinded id, with its bytes.
fn blind_id(seed: u8) -> ([u8; 32], HsBlindId) {
    let mut h = Sha3_256::new();
    h.update(b"onionfront directory test blinded id");
    h.update([seed]);
    let bytes: [u8; 32] = h.finalize().into();
    (bytes, HsBlindId::from(Ed25519Identity::from(bytes)))
}

/// What a test consensus looks like.
#[derive(Clone)]
struct Net {
    /// Valid-after, seconds since the epoch.
    valid_after: u64,
    /// Whether the consensus lists [`SRV_PREV`] and [`SRV_CUR`] (an established network) or no
    /// shared random value at all (a network younger than a day).
    srvs: bool,
    /// Consensus parameters.
    params: Vec<(&'static str, i32)>,
    /// The relays with the HSDir flag.
    hsdirs: Vec<u8>,
}

impl Net {
    /// An established network (both SRVs, every relay an HSDir) at `valid_after`.
    fn established(valid_after: u64) -> Self {
        Net {
            valid_after,
            srvs: true,
            params: Vec::new(),
            hsdirs: ALL.collect(),
        }
    }

    /// A network without shared random values yet (every relay an HSDir) at `valid_after`.
    fn young(valid_after: u64) -> Self {
        Net {
            srvs: false,
            ..Net::established(valid_after)
        }
    }

    /// Set a consensus parameter.
    fn param(mut self, name: &'static str, value: i32) -> Self {
        self.params.push((name, value));
        self
    }

    /// Only `hsdirs` have the HSDir flag.
    fn hsdirs(mut self, hsdirs: impl IntoIterator<Item = u8>) -> Self {
        self.hsdirs = hsdirs.into_iter().collect();
        self
    }

    /// Build the `NetDir` (with its HSDir rings).
    fn build(&self) -> Arc<NetDir> {
        let lifetime = Lifetime::new(
            at(self.valid_after),
            at(self.valid_after + HOUR),
            at(self.valid_after + 3 * HOUR),
        )
        .unwrap();
        let partial = construct_custom_netdir_with_params(
            |idx: usize, node: &mut NodeBuilders, consensus: &mut MdConsensusBuilder| {
                if idx == 0 {
                    for (name, value) in &self.params {
                        consensus.param(*name, *value);
                    }
                    if self.srvs {
                        consensus.shared_rand_prev(9, SRV_PREV.into(), None);
                        consensus.shared_rand_cur(9, SRV_CUR.into(), None);
                    }
                }
                let idx = u8::try_from(idx).unwrap();
                node.rs
                    .set_flags(testnet_flags(idx, self.hsdirs.contains(&idx)));
            },
            std::iter::empty::<(&str, i32)>(),
            Some(lifetime),
        )
        .unwrap();
        Arc::new(partial.unwrap_if_sufficient().unwrap())
    }
}

/// The flags `testnet` gives relay `idx` (usable; 10-19 exits, 20-29 guards, 30-39 both), with
/// the HSDir flag if `hsdir` instead of on relays 0-9.
fn testnet_flags(idx: u8, hsdir: bool) -> RelayFlags {
    let mut flags = RelayFlag::Running
        | RelayFlag::Valid
        | RelayFlag::V2Dir
        | RelayFlag::Fast
        | RelayFlag::Stable;
    if (10..20).contains(&idx) || idx >= 30 {
        flags.insert(RelayFlag::Exit);
    }
    if idx >= 20 {
        flags.insert(RelayFlag::Guard);
    }
    if hsdir {
        flags.insert(RelayFlag::HSDir);
    }
    flags
}

/// The shared random value C tor and Arti use for `period` when the consensus has none
/// (rend-spec-v3 §2.2.3.1, "disaster SRV").
fn disaster_srv(period: TimePeriod) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(b"shared-random-disaster");
    h.update(u64::from(period.length().as_minutes()).to_be_bytes());
    h.update(period.interval_num().to_be_bytes());
    h.finalize().into()
}

/// rend-spec-v3 §2.2.3, independently of Arti: the HSDirs (of `hsdirs`) responsible for
/// `blind` in `period` with shared random value `srv`, in ring order: for each replica
/// `1..=n_replicas`, walk the ring (sorted by `hsdir_index`) from `hs_index(replica)`, taking
/// `spread` relays not taken by a lower replica.
fn spec_hsdirs(
    blind: &[u8; 32],
    period: TimePeriod,
    srv: &[u8; 32],
    hsdirs: &[u8],
    n_replicas: u64,
    spread: usize,
) -> Vec<HsDirId> {
    let length = u64::from(period.length().as_minutes()).to_be_bytes();
    let num = period.interval_num().to_be_bytes();
    let mut ring: Vec<([u8; 32], u8)> = hsdirs
        .iter()
        .map(|&i| {
            let mut h = Sha3_256::new();
            h.update(b"node-idx");
            h.update([i; 32]);
            h.update(srv);
            h.update(num);
            h.update(length);
            (h.finalize().into(), i)
        })
        .collect();
    ring.sort();
    let mut taken: Vec<u8> = Vec::new();
    for replica in 1..=n_replicas {
        let mut h = Sha3_256::new();
        h.update(b"store-at-idx");
        h.update(blind);
        h.update(replica.to_be_bytes());
        h.update(length);
        h.update(num);
        let hs_index: [u8; 32] = h.finalize().into();
        let start = ring.partition_point(|(index, _)| *index < hs_index);
        let picked: Vec<u8> = ring[start..]
            .iter()
            .chain(&ring[..start])
            .map(|(_, i)| *i)
            .filter(|i| !taken.contains(i))
            .take(spread)
            .collect();
        taken.extend(picked);
    }
    taken.into_iter().map(relay_id).collect()
}

/// Arti's own upload HSDirs, as a set.
fn arti_upload(netdir: &NetDir, blind: HsBlindId, period: TimePeriod) -> HashSet<HsDirId> {
    netdir
        .hs_dirs_upload(blind, period)
        .unwrap()
        .map(|r| hsdir_id(&r))
        .collect()
}

/// Arti's own download HSDirs, as a set.
fn arti_download(netdir: &NetDir, blind: HsBlindId, period: TimePeriod) -> HashSet<HsDirId> {
    netdir
        .hs_dirs_download(blind, period, &mut rand::rng())
        .unwrap()
        .iter()
        .map(hsdir_id)
        .collect()
}

/// `ids` as a set, after checking they hold no duplicate.
fn distinct(ids: &[HsDirId]) -> HashSet<HsDirId> {
    let set: HashSet<HsDirId> = ids.iter().copied().collect();
    assert_eq!(set.len(), ids.len(), "duplicate HSDirs in {ids:?}");
    set
}

/// `dir`'s periods agree with its `NetDir`: same current period, and `publish_periods` is
/// `hs_all_time_periods` (current first) with the same SRV run starts.
fn assert_periods_match_arti(dir: &ArtiDirectory) {
    let netdir = dir.netdir();
    assert_eq!(dir.current_period().time_period, netdir.hs_time_period());
    let arti: Vec<PeriodParams> = netdir
        .hs_all_time_periods()
        .iter()
        .map(|p| PeriodParams::new(p.time_period(), p.start_of_shard_rand_period()))
        .collect();
    assert_eq!(dir.publish_periods(), arti);
    assert_eq!(dir.publish_periods()[0], dir.current_period());
    assert_eq!(dir.valid_after(), netdir.lifetime().valid_after());
}

#[test]
fn upload_hsdirs_are_the_rend_spec_ring_order() {
    // 13:00: the current period (Jan 10, SRV_CUR) and the previous one (Jan 9, SRV_PREV).
    let netdir = Net::established(JAN_10 + 13 * HOUR).build();
    let dir = ArtiDirectory::new(netdir.clone());
    let hsdirs: Vec<u8> = ALL.collect();
    for (period, srv) in [
        (day_period(TP_JAN_10), SRV_CUR),
        (day_period(TP_JAN_10 - 1), SRV_PREV),
    ] {
        for seed in 0..16 {
            let (bytes, blind) = blind_id(seed);
            let got = dir.hsdirs_upload(&blind, period);
            // Defaults: hsdir_n_replicas 2 × hsdir_spread_store 4.
            assert_eq!(got.len(), 8);
            let set = distinct(&got);
            assert_eq!(got, spec_hsdirs(&bytes, period, &srv, &hsdirs, 2, 4));
            assert_eq!(set, arti_upload(&netdir, blind, period));
            // Deterministic.
            assert_eq!(got, dir.hsdirs_upload(&blind, period));
        }
    }
    // The rings really differ between periods (different SRV and period number).
    let (_, blind) = blind_id(0);
    assert_ne!(
        dir.hsdirs_upload(&blind, day_period(TP_JAN_10)),
        dir.hsdirs_upload(&blind, day_period(TP_JAN_10 - 1))
    );
}

#[test]
fn upload_hsdirs_follow_the_replica_and_spread_params() {
    let netdir = Net::established(JAN_10 + 13 * HOUR)
        .param("hsdir_n_replicas", 3)
        .param("hsdir_spread_store", 5)
        .build();
    let dir = ArtiDirectory::new(netdir.clone());
    let period = day_period(TP_JAN_10);
    let hsdirs: Vec<u8> = ALL.collect();
    for seed in 0..8 {
        let (bytes, blind) = blind_id(seed);
        let got = dir.hsdirs_upload(&blind, period);
        assert_eq!(got.len(), 15);
        let set = distinct(&got);
        assert_eq!(got, spec_hsdirs(&bytes, period, &SRV_CUR, &hsdirs, 3, 5));
        assert_eq!(set, arti_upload(&netdir, blind, period));
    }
}

#[test]
fn upload_hsdirs_on_a_ring_smaller_than_replicas_times_spread() {
    // 6 HSDirs for 2 × 4 places: replica 2 can only add the two replica 1 left, each once.
    let hsdirs: Vec<u8> = vec![3, 7, 12, 21, 30, 38];
    let netdir = Net::established(JAN_10 + 13 * HOUR)
        .hsdirs(hsdirs.clone())
        .build();
    let dir = ArtiDirectory::new(netdir.clone());
    let period = day_period(TP_JAN_10);
    for seed in 0..8 {
        let (bytes, blind) = blind_id(seed);
        let got = dir.hsdirs_upload(&blind, period);
        assert_eq!(got.len(), 6);
        let set = distinct(&got);
        assert_eq!(
            set,
            hsdirs.iter().map(|&i| relay_id(i)).collect::<HashSet<_>>()
        );
        assert_eq!(got, spec_hsdirs(&bytes, period, &SRV_CUR, &hsdirs, 2, 4));
        assert_eq!(set, arti_upload(&netdir, blind, period));
    }
}

#[test]
fn download_hsdirs_are_the_first_spread_fetch_of_each_replica() {
    let hsdirs: Vec<u8> = ALL.collect();
    for (net, n_fetch) in [
        // Default hsdir_spread_fetch: 3.
        (Net::established(JAN_10 + 13 * HOUR), 3),
        (
            Net::established(JAN_10 + 13 * HOUR).param("hsdir_spread_fetch", 2),
            2,
        ),
    ] {
        let netdir = net.build();
        let dir = ArtiDirectory::new(netdir.clone());
        let period = day_period(TP_JAN_10);
        for seed in 0..8 {
            let (bytes, blind) = blind_id(seed);
            let got = dir.hsdirs_download(&blind, period);
            assert_eq!(got.len(), 2 * n_fetch);
            let set = distinct(&got);
            let spec = spec_hsdirs(&bytes, period, &SRV_CUR, &hsdirs, 2, n_fetch);
            assert_eq!(set, spec.into_iter().collect::<HashSet<_>>());
            assert_eq!(set, arti_download(&netdir, blind, period));
            // Each replica's first relays are where the descriptor is uploaded, too.
            let upload = distinct(&dir.hsdirs_upload(&blind, period));
            assert!(set.is_subset(&upload), "{set:?} not within {upload:?}");
        }
    }
}

#[test]
fn hsdirs_for_a_period_without_a_ring_are_empty() {
    // 13:00 with both SRVs: no ring for the next period (its SRV does not exist yet).
    let dir = ArtiDirectory::new(Net::established(JAN_10 + 13 * HOUR).build());
    let (_, blind) = blind_id(1);
    assert!(
        dir.hsdirs_upload(&blind, day_period(TP_JAN_10 + 1))
            .is_empty()
    );
    assert!(
        dir.hsdirs_upload(&blind, day_period(TP_JAN_10 - 2))
            .is_empty()
    );
    // Clients only use the current ring.
    assert!(
        dir.hsdirs_download(&blind, day_period(TP_JAN_10 - 1))
            .is_empty()
    );
    assert!(
        !dir.hsdirs_download(&blind, day_period(TP_JAN_10))
            .is_empty()
    );
}

#[test]
fn periods_of_an_established_network_after_the_rotation() {
    // 13:00: period Jan 10 (12:00 .. 12:00), indexed by the SRV of the run started 00:00 Jan 10;
    // the previous period (Jan 9) is still published for, with the SRV of Jan 9.
    let dir = ArtiDirectory::new(Net::established(JAN_10 + 13 * HOUR).build());
    let current = PeriodParams::new(day_period(TP_JAN_10), at(JAN_10));
    assert_eq!(dir.current_period(), current);
    assert_eq!(
        dir.current_period().range(),
        Some(at(JAN_10 + 12 * HOUR)..at(JAN_10 + DAY + 12 * HOUR))
    );
    assert_eq!(dir.current_period().length(), Duration::from_secs(DAY));
    assert_eq!(
        dir.publish_periods(),
        vec![
            current,
            PeriodParams::new(day_period(TP_JAN_10 - 1), at(JAN_10 - DAY)),
        ]
    );
    assert_eq!(dir.valid_after(), at(JAN_10 + 13 * HOUR));
    assert!(dir.current_period().contains(dir.valid_after()));
    assert_periods_match_arti(&dir);
}

#[test]
fn periods_of_an_established_network_before_the_rotation() {
    // 01:00 Jan 10: still period Jan 9 (SRV of Jan 9); the next period (Jan 10, whose SRV
    // SRV_CUR already is) is pre-published for.
    let dir = ArtiDirectory::new(Net::established(JAN_10 + HOUR).build());
    let current = PeriodParams::new(day_period(TP_JAN_10 - 1), at(JAN_10 - DAY));
    assert_eq!(dir.current_period(), current);
    assert_eq!(
        dir.publish_periods(),
        vec![
            current,
            PeriodParams::new(day_period(TP_JAN_10), at(JAN_10))
        ]
    );
    assert_eq!(dir.valid_after(), at(JAN_10 + HOUR));
    assert_periods_match_arti(&dir);
}

#[test]
fn periods_of_a_young_network() {
    // No SRV yet: the current period only, its ring indexed by the disaster SRV, revision
    // counters counting from the period's start.
    let netdir = Net::young(JAN_10 + 13 * HOUR).build();
    let dir = ArtiDirectory::new(netdir.clone());
    let period = day_period(TP_JAN_10);
    assert_eq!(
        dir.publish_periods(),
        vec![PeriodParams::new(period, at(JAN_10 + 12 * HOUR))]
    );
    assert_periods_match_arti(&dir);
    let hsdirs: Vec<u8> = ALL.collect();
    let (bytes, blind) = blind_id(2);
    assert_eq!(
        dir.hsdirs_upload(&blind, period),
        spec_hsdirs(&bytes, period, &disaster_srv(period), &hsdirs, 2, 4)
    );

    // A test network's short periods (hsdir_interval = 120 minutes).
    let dir = ArtiDirectory::new(
        Net::young(JAN_10 + 13 * HOUR)
            .param("hsdir_interval", 120)
            .build(),
    );
    // (JAN_10 + 13 h - 12 h) / 2 h.
    let period = TimePeriod::from_parts(120, 236_784, OFFSET_SECS);
    assert_eq!(dir.current_period().time_period, period);
    assert_eq!(dir.current_period().length(), Duration::from_secs(2 * HOUR));
    assert_eq!(
        dir.current_period().range(),
        Some(at(JAN_10 + 12 * HOUR)..at(JAN_10 + 14 * HOUR))
    );
    assert_eq!(
        dir.publish_periods(),
        vec![PeriodParams::new(period, at(JAN_10 + 12 * HOUR))]
    );
    assert_periods_match_arti(&dir);
    assert_eq!(
        dir.hsdirs_upload(&blind, period),
        spec_hsdirs(&bytes, period, &disaster_srv(period), &hsdirs, 2, 4)
    );
}

#[test]
fn previous_directory_gives_the_ring_of_the_period_just_before() {
    // A young network right after a rotation (period Jan 10), and its last directory of
    // period Jan 9 (a different HSDir set, so that its ring is recognisable).
    let new = Net::young(JAN_10 + 13 * HOUR).build();
    let old_hsdirs: Vec<u8> = (0..20).collect();
    let old = Net::young(JAN_10 + 11 * HOUR)
        .hsdirs(old_hsdirs.clone())
        .build();
    let dir = ArtiDirectory::with_previous(new.clone(), Some(old.clone()));
    assert!(dir.uses_previous_ring());

    let current = day_period(TP_JAN_10);
    let previous = day_period(TP_JAN_10 - 1);
    assert_eq!(
        dir.publish_periods(),
        vec![
            PeriodParams::new(current, at(JAN_10 + 12 * HOUR)),
            PeriodParams::new(previous, at(JAN_10 - 12 * HOUR)),
        ]
    );
    assert_eq!(
        dir.current_period(),
        ArtiDirectory::new(new.clone()).current_period()
    );

    let all: Vec<u8> = ALL.collect();
    for seed in 0..8 {
        let (bytes, blind) = blind_id(seed);
        // The previous period: the old directory's ring (as C tor clients still in that
        // period compute it).
        let got = dir.hsdirs_upload(&blind, previous);
        assert_eq!(got.len(), 8);
        let set = distinct(&got);
        assert_eq!(
            got,
            spec_hsdirs(&bytes, previous, &disaster_srv(previous), &old_hsdirs, 2, 4)
        );
        assert_eq!(set, arti_upload(&old, blind, previous));
        // The current period: the new directory's ring.
        assert_eq!(
            dir.hsdirs_upload(&blind, current),
            spec_hsdirs(&bytes, current, &disaster_srv(current), &all, 2, 4)
        );
        // Downloads stay on the current ring.
        assert!(dir.hsdirs_download(&blind, previous).is_empty());
        assert_eq!(
            distinct(&dir.hsdirs_download(&blind, current)),
            arti_download(&new, blind, current)
        );
    }
    // The scheduler still circuits through the new directory.
    assert!(Arc::ptr_eq(dir.netdir(), &new));
}

#[test]
fn previous_directory_is_ignored_unless_needed_and_adjacent() {
    let young = Net::young(JAN_10 + 13 * HOUR).build();
    let young_prev = Net::young(JAN_10 + 11 * HOUR).hsdirs(0..20).build();
    let (bytes, blind) = blind_id(3);
    let previous = day_period(TP_JAN_10 - 1);

    let ignored = |dir: &ArtiDirectory| {
        assert!(!dir.uses_previous_ring());
        assert_periods_match_arti(dir);
        assert!(
            format!("{dir:?}").contains("previous_period: None"),
            "{dir:?}"
        );
    };

    // Nothing retained.
    ignored(&ArtiDirectory::new(young.clone()));
    ignored(&ArtiDirectory::with_previous(young.clone(), None));
    // The same period (an earlier consensus of it).
    let same = Net::young(JAN_10 + 12 * HOUR).build();
    ignored(&ArtiDirectory::with_previous(young.clone(), Some(same)));
    // Two periods back (a gap).
    let gap = Net::young(JAN_10 - 13 * HOUR).build();
    assert_eq!(gap.hs_time_period(), day_period(TP_JAN_10 - 2));
    let dir = ArtiDirectory::with_previous(young.clone(), Some(gap));
    ignored(&dir);
    assert!(
        dir.hsdirs_upload(&blind, day_period(TP_JAN_10 - 2))
            .is_empty()
    );
    assert!(dir.hsdirs_upload(&blind, previous).is_empty());
    // A newer directory passed as the "previous" one.
    ignored(&ArtiDirectory::with_previous(
        young_prev.clone(),
        Some(young.clone()),
    ));
    // The new directory has secondary periods itself: its own previous ring wins.
    let established = Net::established(JAN_10 + 13 * HOUR).build();
    let dir = ArtiDirectory::with_previous(established, Some(young_prev));
    ignored(&dir);
    let all: Vec<u8> = ALL.collect();
    assert_eq!(
        dir.hsdirs_upload(&blind, previous),
        spec_hsdirs(&bytes, previous, &SRV_PREV, &all, 2, 4)
    );
}

#[test]
fn max_descriptor_size_reads_the_consensus_param() {
    let default = ArtiDirectory::new(Net::established(JAN_10 + 13 * HOUR).build());
    assert_eq!(default.max_descriptor_size(), 50_000);
    for size in [20_000, 50_000, 123_456] {
        let dir = ArtiDirectory::new(
            Net::established(JAN_10 + 13 * HOUR)
                .param("HSV3MaxDescriptorSize", size)
                .build(),
        );
        assert_eq!(dir.max_descriptor_size(), usize::try_from(size).unwrap());
    }
}

/// The `flow-control` check and the main descriptor's line follow the consensus' `cc_sendme_inc`
/// (Arti's default, 31, when the consensus does not set it).
#[test]
fn cc_sendme_inc_reads_the_consensus_param() {
    let default = ArtiDirectory::new(Net::established(JAN_10 + 13 * HOUR).build());
    assert_eq!(default.cc_sendme_inc(), 31);
    for inc in [1, 25, 254] {
        let dir = ArtiDirectory::new(
            Net::established(JAN_10 + 13 * HOUR)
                .param("cc_sendme_inc", inc)
                .build(),
        );
        assert_eq!(i32::from(dir.cc_sendme_inc()), inc);
    }
}

#[test]
fn find_relay_needs_both_identities() {
    let netdir = Net::established(JAN_10 + 13 * HOUR).build();
    let relay = find_relay(&netdir, &relay_id(5)).unwrap();
    assert_eq!(hsdir_id(&relay), relay_id(5));
    // Same ed25519 identity, another relay's RSA identity.
    let mixed = HsDirId {
        rsa: [6; 20],
        ed: [5; 32],
    };
    assert!(find_relay(&netdir, &mixed).is_none());
    // Not in the consensus.
    assert!(find_relay(&netdir, &relay_id(200)).is_none());
}
