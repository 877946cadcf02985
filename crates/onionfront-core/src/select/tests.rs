//! Tests of intro point selection: examples and property tests over random backend sets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use tor_netdoc::doc::hsdesc::IntroPointDesc;

use super::relay::{relay_keys, same_relay};
use super::*;
use crate::main_descriptor::size;
use crate::testing::*;

fn params(per_instance: u8, max_descriptors: u8) -> SelectionParams {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    SelectionParams {
        per_instance,
        max_per_descriptor: 20,
        max_descriptors,
        seed: selection_seed(&fake_address(1), &test_period(now)),
    }
}

/// Backend `i` with `n` intro points, each on a relay of its own.
fn backend(i: u64, n: u64) -> BackendIntros {
    BackendIntros {
        address: fake_address(1000 + i),
        intro_points: (0..n).map(|k| fake_intro_point(i * 1000 + k)).collect(),
    }
}

fn sid(ipt: &IntroPointDesc) -> [u8; 32] {
    ipt.ipt_sid_key().as_ref().to_bytes()
}

/// The selection as sets of auth keys, for comparisons.
fn shape(sel: &Selection) -> Vec<Vec<[u8; 32]>> {
    sel.descriptors
        .iter()
        .map(|d| d.iter().map(sid).collect())
        .collect()
}

/// How many intro points each backend got.
fn per_backend(sel: &Selection, input: &[BackendIntros]) -> HashMap<crate::OnionAddress, usize> {
    let owner: HashMap<[u8; 32], crate::OnionAddress> = input
        .iter()
        .flat_map(|b| b.intro_points.iter().map(move |i| (sid(i), b.address)))
        .collect();
    let mut counts: HashMap<crate::OnionAddress, usize> =
        input.iter().map(|b| (b.address, 0)).collect();
    for d in &sel.descriptors {
        for i in d {
            *counts.get_mut(&owner[&sid(i)]).unwrap() += 1;
        }
    }
    counts
}

/// Invariants every selection must satisfy.
fn check_invariants(
    sel: &Selection,
    input: &[BackendIntros],
    p: &SelectionParams,
    limits: &SelectionLimits,
) {
    let known: HashSet<[u8; 32]> = input
        .iter()
        .flat_map(|b| b.intro_points.iter().map(sid))
        .collect();
    let mut seen = HashSet::new();
    let cap = usize::from(p.max_per_descriptor).clamp(1, 20);
    assert!(
        sel.descriptors.len()
            <= limits
                .layout
                .max_distinct(usize::from(p.max_descriptors))
                .max(1)
    );
    assert_eq!(sel.descriptors.len(), sel.descriptor_backends.len());
    for d in &sel.descriptors {
        assert!(!d.is_empty());
        assert!(d.len() <= cap, "{} > {cap}", d.len());
        let inner = size::INNER_HEADER_MAX + d.iter().map(size::intro_point_len).sum::<usize>();
        assert!(size::descriptor_len_bound(inner, limits.auth_clients) <= limits.max_size);
        for (a, x) in d.iter().enumerate() {
            assert!(known.contains(&sid(x)));
            assert!(seen.insert(sid(x)), "intro point selected twice");
            for y in &d[a + 1..] {
                assert!(
                    !same_relay(&relay_keys(x), &relay_keys(y)),
                    "two intro points on one relay"
                );
            }
        }
        // Sorted by ntor key, as emitted: the order says nothing about backends.
        let keys: Vec<[u8; 32]> = d.iter().map(|i| *i.ipt_ntor_key().as_bytes()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
    // Balance: nobody has a second slot while someone with intro points has none.
    let counts = per_backend(sel, input);
    if !sel.left_out.is_empty() {
        assert!(counts.values().all(|c| *c <= 1), "{counts:?}");
    }
    for b in input {
        let left = sel.left_out.contains(&b.address);
        assert_eq!(left, !b.intro_points.is_empty() && counts[&b.address] == 0);
    }
}

#[test]
fn two_per_backend_round_robin() {
    let input: Vec<BackendIntros> = (0..5).map(|i| backend(i, 3)).collect();
    let sel = select_intro_points(&params(2, 1), &input);
    assert_eq!(sel.descriptors.len(), 1);
    assert_eq!(sel.descriptors[0].len(), 10);
    assert!(per_backend(&sel, &input).values().all(|c| *c == 2));
    check_invariants(&sel, &input, &params(2, 1), &SelectionLimits::default());
}

#[test]
fn others_fill_in_for_backends_with_fewer() {
    // A has 1, B has 3, 2 wanted each: A1, B1, B2, B3 (as Onionbalance).
    let input = vec![backend(0, 1), backend(1, 3)];
    let sel = select_intro_points(&params(2, 1), &input);
    let c = per_backend(&sel, &input);
    assert_eq!(c[&input[0].address], 1);
    assert_eq!(c[&input[1].address], 3);
}

#[test]
fn every_backend_before_any_second_slot() {
    // 15 backends, one descriptor of 20: everyone once, then 5 second slots.
    let input: Vec<BackendIntros> = (0..15).map(|i| backend(i, 3)).collect();
    let sel = select_intro_points(&params(2, 1), &input);
    assert_eq!(sel.descriptors.len(), 1);
    assert_eq!(sel.descriptors[0].len(), 20);
    let c = per_backend(&sel, &input);
    assert!(c.values().all(|n| *n >= 1));
    assert_eq!(c.values().filter(|n| **n == 2).count(), 5);
    // 25 backends: 20 represented, 5 left out, none twice.
    let input: Vec<BackendIntros> = (0..25).map(|i| backend(i, 3)).collect();
    let sel = select_intro_points(&params(2, 1), &input);
    assert_eq!(sel.descriptors[0].len(), 20);
    assert_eq!(sel.left_out.len(), 5);
    check_invariants(&sel, &input, &params(2, 1), &SelectionLimits::default());
}

#[test]
fn one_intro_point_per_relay_keeping_backends_represented() {
    // A's intro points: relays R1, R2. B's only intro point: R1. Whatever the order, both
    // must be represented, so A takes R2.
    let a = BackendIntros {
        address: fake_address(1),
        intro_points: vec![
            fake_intro_point_on_relay(10, 500),
            fake_intro_point_on_relay(11, 501),
        ],
    };
    let b = BackendIntros {
        address: fake_address(2),
        intro_points: vec![fake_intro_point_on_relay(20, 500)],
    };
    for seed_i in 0..20u64 {
        let mut p = params(1, 1);
        p.seed = seed_bytes("seed", seed_i);
        for input in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
            let sel = select_intro_points(&p, &input);
            let c = per_backend(&sel, &input);
            assert_eq!(c[&a.address], 1, "seed {seed_i}");
            assert_eq!(c[&b.address], 1, "seed {seed_i}");
            check_invariants(&sel, &input, &p, &SelectionLimits::default());
        }
    }
    // With 2 wanted each, A cannot use R1 a second time in the same descriptor.
    let sel = select_intro_points(&params(2, 1), &[a.clone(), b.clone()]);
    assert_eq!(sel.intro_point_count(), 2);
}

#[test]
fn deterministic_and_order_independent() {
    let input: Vec<BackendIntros> = (0..12).map(|i| backend(i, 4)).collect();
    let p = params(2, 8);
    let first = select_intro_points(&p, &input);
    let mut reversed: Vec<BackendIntros> = input.iter().rev().cloned().collect();
    for b in &mut reversed {
        b.intro_points.reverse();
    }
    assert_eq!(shape(&first), shape(&select_intro_points(&p, &reversed)));
    assert_eq!(shape(&first), shape(&select_intro_points(&p, &input)));
    // Another period (seed): a different but equally valid pick.
    let mut p2 = p;
    p2.seed = seed_bytes("other", 1);
    check_invariants(
        &select_intro_points(&p2, &input),
        &input,
        &p2,
        &SelectionLimits::default(),
    );
}

#[test]
fn duplicates_are_merged() {
    let mut input: Vec<BackendIntros> = (0..3).map(|i| backend(i, 2)).collect();
    input.push(input[0].clone());
    let sel = select_intro_points(&params(2, 1), &input);
    assert_eq!(sel.intro_point_count(), 6);
    check_invariants(&sel, &input, &params(2, 1), &SelectionLimits::default());
}

#[test]
fn distinct_descriptors_when_one_is_not_enough() {
    // 40 backends × 2 = 80 intro points: 6 descriptors (even over 6 fetchable HSDirs).
    let input: Vec<BackendIntros> = (0..40).map(|i| backend(i, 3)).collect();
    let p = params(2, 8);
    let sel = select_intro_points(&p, &input);
    assert!(sel.left_out.is_empty());
    assert_eq!(sel.descriptors.len(), 6);
    assert_eq!(sel.intro_point_count(), 80);
    let sizes: Vec<usize> = sel.descriptors.iter().map(Vec::len).collect();
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
    check_invariants(&sel, &input, &p, &SelectionLimits::default());
    // 15 backends × 2 = 30: 2 descriptors of 15.
    let input: Vec<BackendIntros> = (0..15).map(|i| backend(i, 3)).collect();
    let sel = select_intro_points(&p, &input);
    assert_eq!(sel.descriptors.len(), 2);
    assert_eq!(
        sel.descriptors.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![15, 15]
    );
    // A backend's intro points are spread over different descriptors.
    for b in &input {
        let ids: HashSet<[u8; 32]> = b.intro_points.iter().map(sid).collect();
        let in_descs = sel
            .descriptors
            .iter()
            .filter(|d| d.iter().any(|i| ids.contains(&sid(i))))
            .count();
        assert_eq!(in_descs, 2);
    }
    // Few intro points: one descriptor even in distinct-descriptors mode.
    let input: Vec<BackendIntros> = (0..3).map(|i| backend(i, 3)).collect();
    assert_eq!(select_intro_points(&p, &input).descriptors.len(), 1);
}

#[test]
fn distinct_descriptors_when_backends_outnumber_relays() {
    // 12 backends with 3 intro points each on a network of 8 relays (the e2e scenario): one
    // descriptor holds at most 8 of them (one per relay), so a second descriptor is needed.
    let input: Vec<BackendIntros> = (0..12u64)
        .map(|i| BackendIntros {
            address: fake_address(2000 + i),
            intro_points: (0..3u64)
                .map(|k| fake_intro_point_on_relay(i * 10 + k, 7_000 + (i * 3 + k) % 8))
                .collect(),
        })
        .collect();
    let limits = SelectionLimits::default();

    let one = select_intro_points_within(&params(2, 1), &input, &limits);
    check_invariants(&one, &input, &params(2, 1), &limits);
    assert_eq!(one.descriptors.len(), 1);
    assert_eq!(one.left_out.len(), 4, "8 relays serve 8 of 12 backends");

    let p = params(2, 8);
    let sel = select_intro_points_within(&p, &input, &limits);
    check_invariants(&sel, &input, &p, &limits);
    assert_eq!(sel.left_out, vec![], "every backend is in some descriptor");
    assert_eq!(
        sel.descriptors.len(),
        2,
        "the fewest descriptors that serve everyone"
    );
    assert!(sel.descriptors.iter().all(|d| d.len() <= 8));
    // Each descriptor carries 8 intro points (its relays are all used), 16 in all.
    assert_eq!(sel.intro_point_count(), 16);
    assert!(per_backend(&sel, &input).values().all(|&n| n >= 1));
}

#[test]
fn size_limit_with_many_ipv6_link_specifiers() {
    // Intro points with 12 IPv6 addresses each: ~1.2 kB each; 20 do not fit in 30 000 bytes.
    let input: Vec<BackendIntros> = (0..20u64)
        .map(|i| BackendIntros {
            address: fake_address(2000 + i),
            intro_points: vec![fake_intro_point_with(i * 10, i * 10, 12)],
        })
        .collect();
    for max_size in [50_000, 30_000, 20_000] {
        let limits = SelectionLimits {
            max_size,
            ..Default::default()
        };
        let p = params(1, 1);
        let sel = select_intro_points_within(&p, &input, &limits);
        check_invariants(&sel, &input, &p, &limits);
        assert!(!sel.descriptors.is_empty());
        if max_size < 50_000 {
            assert!(sel.descriptors[0].len() < 20, "{max_size}");
            assert!(!sel.left_out.is_empty());
        }
        // And the builder agrees: it builds, under the limit.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
        let id = crate::keys::SigningKeys::Identity(std::sync::Arc::new(fake_identity(1)));
        let period = test_period(now);
        let built =
            crate::main_descriptor::build_main_descriptor(&crate::main_descriptor::BuildRequest {
                keys: &id,
                period: &period,
                intro_points: &sel.descriptors[0],
                flow_control: None,
                auth_clients: &[],
                lifetime_minutes: 180,
                max_size,
                min_revision: None,
                now,
            })
            .unwrap();
        assert!(built.size <= max_size);
    }
}

#[test]
fn assign_descriptors_contract() {
    assert_eq!(assign_descriptors(8, 1), vec![0; 8]);
    assert_eq!(assign_descriptors(8, 2), vec![0, 1, 0, 0, 1, 0, 1, 1]);
    assert_eq!(assign_descriptors(8, 3), vec![0, 1, 2, 0, 0, 1, 2, 1]);
    assert_eq!(assign_descriptors(8, 6), vec![0, 1, 2, 0, 3, 4, 5, 1]);
    assert_eq!(assign_descriptors(0, 3), Vec::<usize>::new());
}

/// A random backend set: 1–60 backends, 0–4 intro points each, some relays shared.
fn arb_input() -> impl Strategy<Value = Vec<BackendIntros>> {
    prop::collection::vec(
        prop::collection::vec(
            (0u64..1_000_000, prop::bool::weighted(0.05), 0u64..30),
            0..5,
        ),
        1..=60,
    )
    .prop_map(|backends| {
        backends
            .into_iter()
            .enumerate()
            .map(|(i, ipts)| BackendIntros {
                address: fake_address(10_000 + i as u64),
                intro_points: ipts
                    .into_iter()
                    .map(|(seed, shared, relay)| {
                        let relay_seed = if shared { 9_000_000 + relay } else { seed + 1 };
                        fake_intro_point_on_relay(seed * 100 + i as u64, relay_seed)
                    })
                    .collect(),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn prop_invariants(
        input in arb_input(),
        per_instance in 1u8..=3,
        max_descriptors in prop::sample::select(vec![1u8, 8]),
        seed in any::<[u8; 32]>(),
    ) {
        let p = SelectionParams { per_instance, max_per_descriptor: 20, max_descriptors, seed };
        let sel = select_intro_points(&p, &input);
        check_invariants(&sel, &input, &p, &SelectionLimits::default());

        // Deterministic and independent of input order.
        let mut shuffled = input.clone();
        shuffled.reverse();
        for b in &mut shuffled {
            let half = b.intro_points.len() / 2;
            b.intro_points.rotate_left(half);
        }
        prop_assert_eq!(shape(&sel), shape(&select_intro_points(&p, &shuffled)));

        // Coverage: in distinct-descriptors mode, 6 × 20 places suffice for up to 60 backends.
        let with_ipts = input.iter().filter(|b| !b.intro_points.is_empty()).count();
        if max_descriptors == 8 {
            let unplaceable = sel.left_out.iter().filter(|a| {
                // Only a backend whose every intro point shares a relay with others may miss out.
                let b = input.iter().find(|b| b.address == **a).unwrap();
                !b.intro_points.iter().all(|i| {
                    input.iter().filter(|o| o.address != b.address).any(|o| {
                        o.intro_points.iter().any(|j| same_relay(&relay_keys(i), &relay_keys(j)))
                    })
                })
            }).count();
            prop_assert_eq!(unplaceable, 0);
        }
        // Wanted amount: per_instance per backend when available, within capacity.
        let total: usize = input.iter().map(|b| b.intro_points.len()).sum();
        let cap = if max_descriptors == 1 { 20 } else { 120 };
        prop_assert!(sel.intro_point_count() <= (usize::from(per_instance) * with_ipts).min(total).min(cap));
    }
}

/// Issue #14: with restricted discovery for 400 clients, 20 intro points with IPv6 link
/// specifiers do not fit in 50 000 bytes: the selection drops intro points (keeping one per
/// backend at least, spread over more descriptors if the layout allows) so that what it selects
/// builds under the limit; with 100 clients all 20 fit.
#[test]
fn restricted_discovery_clients_take_room_from_intro_points() {
    let input: Vec<BackendIntros> = (0..10u64)
        .map(|i| BackendIntros {
            address: fake_address(3000 + i),
            intro_points: (0..3)
                .map(|j| fake_intro_point_ipv6(i * 10 + j, i * 10 + j))
                .collect(),
        })
        .collect();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
    let id = crate::keys::SigningKeys::Identity(std::sync::Arc::new(fake_identity(1)));
    let period = test_period(now);
    for (n_clients, all_fit) in [(100usize, true), (400, false)] {
        let clients: Vec<_> = (0..n_clients as u64)
            .map(|i| fake_client_key(i).1)
            .collect();
        let limits = SelectionLimits {
            auth_clients: n_clients,
            ..Default::default()
        };
        let p = params(2, 1);
        let sel = select_intro_points_within(&p, &input, &limits);
        check_invariants(&sel, &input, &p, &limits);
        assert_eq!(
            sel.intro_point_count() == 20,
            all_fit,
            "{n_clients} clients"
        );
        assert!(sel.left_out.is_empty() || !all_fit);
        for d in &sel.descriptors {
            let built = crate::main_descriptor::build_main_descriptor(
                &crate::main_descriptor::BuildRequest {
                    keys: &id,
                    period: &period,
                    intro_points: d,
                    flow_control: None,
                    auth_clients: &clients,
                    lifetime_minutes: 180,
                    max_size: limits.max_size,
                    min_revision: None,
                    now,
                },
            )
            .unwrap();
            assert!(built.size <= limits.max_size);
        }
    }
}
