//! The selection algorithm: canonical order, representation first, round-robin filling of one
//! or several descriptors under count, size and one-intro-point-per-relay limits.
//!
//! 1. Backends are ordered by a keyed hash of their address, each backend's intro points by a
//!    keyed hash of their auth key (key = the selection seed). The result depends on the *set*
//!    of inputs and the seed only, not on their order; the seed rotates who is left out when
//!    not everyone fits.
//! 2. Round 0 picks one intro point per backend as a maximum matching between backends and
//!    relays (augmenting paths, earlier backends keep their preferred pick when possible), so a
//!    relay shared by two backends never costs one of them its only slot. Backends the matching
//!    cannot serve (more backends than distinct relays) then go to another descriptor, if any,
//!    where their relay is still free.
//! 3. Later rounds go round-robin over backends, each taking its next intro point that fits,
//!    until `per_instance × backends` intro points are placed (backends with more intro points
//!    fill in for those with fewer, as Onionbalance does) or nothing fits.
//! 4. Placement into descriptors rotates over them, preferring one that lacks the backend; a
//!    descriptor never holds two intro points on one relay, more than its count cap, or more
//!    than its size budget.

use std::collections::HashMap;

use digest::Digest;
use tor_llcrypto::d::Sha3_256;
use tor_netdoc::doc::hsdesc::IntroPointDesc;

use super::BackendIntros;
use super::relay::{RelayKey, relay_keys, same_relay};
use crate::address::OnionAddress;
use crate::main_descriptor::size;

/// One intro point as the algorithm sees it.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    /// The intro point.
    pub(super) ipt: IntroPointDesc,
    /// Its relay's identities.
    relays: Vec<RelayKey>,
    /// Bytes it adds to the inner plaintext.
    len: usize,
}

/// One backend, canonicalized.
#[derive(Debug, Clone)]
pub(super) struct Backend {
    /// Its address.
    pub(super) address: OnionAddress,
    /// Its intro points in canonical order.
    pub(super) candidates: Vec<Candidate>,
}

/// Keyed hash used for the canonical order.
fn keyed(seed: &[u8; 32], domain: &[u8], bytes: &[u8]) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(b"onionfront-select\0");
    h.update(seed);
    h.update(domain);
    h.update(bytes);
    h.finalize().into()
}

/// Backends in canonical order, merged by address, intro points deduplicated by auth key
/// (an intro point listed twice is kept for the first backend in canonical order).
pub(super) fn canonicalize(seed: &[u8; 32], input: &[BackendIntros]) -> Vec<Backend> {
    let mut by_addr: HashMap<OnionAddress, Vec<&IntroPointDesc>> = HashMap::new();
    for b in input {
        by_addr
            .entry(b.address)
            .or_default()
            .extend(b.intro_points.iter());
    }
    let mut backends: Vec<([u8; 32], OnionAddress, Vec<&IntroPointDesc>)> = by_addr
        .into_iter()
        .map(|(a, ipts)| (keyed(seed, b"backend", a.public_key()), a, ipts))
        .collect();
    backends.sort_by_key(|x| (x.0, x.1));

    let mut seen = std::collections::HashSet::new();
    backends
        .into_iter()
        .map(|(_, address, ipts)| {
            let mut keyed_ipts: Vec<([u8; 32], [u8; 32], &IntroPointDesc)> = ipts
                .into_iter()
                .map(|ipt| {
                    let sid = ipt.ipt_sid_key().as_ref().to_bytes();
                    (keyed(seed, b"intro", &sid), sid, ipt)
                })
                .collect();
            keyed_ipts.sort_by_key(|x| (x.0, x.1));
            let candidates = keyed_ipts
                .into_iter()
                .filter(|(_, sid, _)| seen.insert(*sid))
                .map(|(_, _, ipt)| Candidate {
                    relays: relay_keys(ipt),
                    len: size::intro_point_len(ipt),
                    ipt: ipt.clone(),
                })
                .collect();
            Backend {
                address,
                candidates,
            }
        })
        .collect()
}

/// Limits of one fill.
#[derive(Debug, Clone, Copy)]
pub(super) struct FillLimits {
    /// Descriptors to fill.
    pub(super) descriptors: usize,
    /// Intro points per descriptor.
    pub(super) per_descriptor: usize,
    /// Sum of `intro_point_len` per descriptor.
    pub(super) budget: usize,
    /// Intro points wanted in total.
    pub(super) target: usize,
}

/// One descriptor being filled: (backend index, candidate index) pairs.
#[derive(Debug, Clone, Default)]
pub(super) struct Slot {
    /// Placed intro points.
    pub(super) picks: Vec<(usize, usize)>,
    /// Their relays.
    relays: Vec<RelayKey>,
    /// Their total length.
    len: usize,
}

/// Result of one fill.
#[derive(Debug, Clone)]
pub(super) struct Filled {
    /// The descriptors.
    pub(super) slots: Vec<Slot>,
    /// Whether an intro point was refused for lack of room while more were wanted.
    pub(super) room_limited: bool,
    /// Backends with intro points that got none (for lack of room or of distinct relays).
    pub(super) left_out: usize,
}

/// Fill `limits.descriptors` descriptors from `backends`.
pub(super) fn fill(backends: &[Backend], limits: FillLimits) -> Filled {
    let mut state = FillState {
        backends,
        limits,
        slots: vec![Slot::default(); limits.descriptors.max(1)],
        used: backends
            .iter()
            .map(|b| vec![false; b.candidates.len()])
            .collect(),
        placed: 0,
        rotor: 0,
        room_limited: false,
    };

    // Round 0: one per backend, as many backends as possible (maximum matching on relays).
    let firsts = representation_matching(backends);
    for (b, pick) in firsts.iter().enumerate() {
        if state.placed >= limits.target {
            break;
        }
        if let Some(c) = pick
            && !state.try_place(b, *c)
        {
            // Fall back to any other of its intro points that fits somewhere.
            let alt = (0..backends[b].candidates.len()).find(|&c2| state.try_place(b, c2));
            if alt.is_none() {
                state.room_limited = true;
            }
        }
    }
    // Backends the matching could not serve (every relay of theirs taken in one descriptor)
    // may still fit in another descriptor, where the same relay is free.
    for (b, pick) in firsts.iter().enumerate() {
        if state.placed >= limits.target {
            break;
        }
        if pick.is_none() {
            let _ = (0..backends[b].candidates.len()).any(|c| state.try_place(b, c));
        }
    }

    // Nobody gets a second slot while a backend is left out for lack of room (backends left
    // out only because every relay of theirs is taken do not hold the others back).
    if state.someone_unrepresented_for_room() {
        state.room_limited = true;
        state.rebalance();
        return state.finish();
    }

    // Later rounds: round-robin, each backend its next intro point that fits.
    loop {
        let mut progress = false;
        for (b, backend) in backends.iter().enumerate() {
            if state.placed >= limits.target {
                break;
            }
            let unused: Vec<usize> = (0..backend.candidates.len())
                .filter(|&c| !state.used[b][c])
                .collect();
            progress |= unused.into_iter().any(|c| state.try_place(b, c));
        }
        if !progress || state.placed >= limits.target {
            break;
        }
    }
    if state.placed < limits.target && state.any_unused_blocked_by_room() {
        state.room_limited = true;
    }
    state.rebalance();
    state.finish()
}

/// Mutable state of a fill.
struct FillState<'a> {
    backends: &'a [Backend],
    limits: FillLimits,
    slots: Vec<Slot>,
    used: Vec<Vec<bool>>,
    placed: usize,
    rotor: usize,
    room_limited: bool,
}

impl FillState<'_> {
    /// The result.
    fn finish(self) -> Filled {
        let left_out = self
            .backends
            .iter()
            .enumerate()
            .filter(|(b, backend)| {
                !backend.candidates.is_empty() && !self.used[*b].iter().any(|u| *u)
            })
            .count();
        Filled {
            slots: self.slots,
            room_limited: self.room_limited,
            left_out,
        }
    }

    /// Whether a slot can take candidate `c` of backend `b` (relay and room).
    fn fits(&self, slot: &Slot, b: usize, c: usize) -> bool {
        let cand = &self.backends[b].candidates[c];
        slot.picks.len() < self.limits.per_descriptor
            && slot.len + cand.len <= self.limits.budget
            && !same_relay(&slot.relays, &cand.relays)
    }

    /// Place candidate `c` of backend `b` if some slot takes it: the first from the rotor that
    /// lacks the backend, else the first from the rotor that fits at all.
    fn try_place(&mut self, b: usize, c: usize) -> bool {
        if self.used[b][c] {
            return false;
        }
        let n = self.slots.len();
        let order: Vec<usize> = (0..n).map(|i| (self.rotor + i) % n).collect();
        let lacks_backend = |s: &Slot| !s.picks.iter().any(|(pb, _)| *pb == b);
        let chosen = order
            .iter()
            .copied()
            .find(|&i| lacks_backend(&self.slots[i]) && self.fits(&self.slots[i], b, c))
            .or_else(|| {
                order
                    .iter()
                    .copied()
                    .find(|&i| self.fits(&self.slots[i], b, c))
            });
        let Some(i) = chosen else {
            return false;
        };
        let cand = &self.backends[b].candidates[c];
        let slot = &mut self.slots[i];
        slot.picks.push((b, c));
        slot.relays.extend(cand.relays.iter().copied());
        slot.len += cand.len;
        self.used[b][c] = true;
        self.placed += 1;
        self.rotor = (i + 1) % n;
        true
    }

    /// Whether a backend with intro points has none placed although one of them is refused by
    /// some descriptor only for lack of room.
    fn someone_unrepresented_for_room(&self) -> bool {
        self.backends.iter().enumerate().any(|(b, backend)| {
            !backend.candidates.is_empty()
                && !self.used[b].iter().any(|u| *u)
                && (0..backend.candidates.len()).any(|c| {
                    self.slots.iter().any(|s| {
                        !same_relay(&s.relays, &backend.candidates[c].relays) && !self.fits(s, b, c)
                    })
                })
        })
    }

    /// Even out descriptor sizes: move intro points from the fullest to the emptiest descriptor
    /// while sizes differ by more than one and a move is allowed (relay, room).
    fn rebalance(&mut self) {
        loop {
            let Some((max_i, min_i)) = self.extremes() else {
                return;
            };
            if self.slots[max_i].picks.len() <= self.slots[min_i].picks.len() + 1 {
                return;
            }
            // Prefer moving an intro point of a backend the emptier descriptor lacks.
            let movable = |prefer_new: bool| {
                self.slots[max_i].picks.iter().position(|&(b, c)| {
                    let lacks = !self.slots[min_i].picks.iter().any(|(pb, _)| *pb == b);
                    (lacks || !prefer_new) && self.fits(&self.slots[min_i], b, c)
                })
            };
            let Some(k) = movable(true).or_else(|| movable(false)) else {
                return;
            };
            let (b, c) = self.slots[max_i].picks.remove(k);
            let cand = &self.backends[b].candidates[c];
            let from = &mut self.slots[max_i];
            from.len -= cand.len;
            from.relays = from
                .picks
                .iter()
                .flat_map(|&(pb, pc)| self.backends[pb].candidates[pc].relays.iter().copied())
                .collect();
            let to = &mut self.slots[min_i];
            to.picks.push((b, c));
            to.relays.extend(cand.relays.iter().copied());
            to.len += cand.len;
        }
    }

    /// Indexes of the fullest and the emptiest descriptor (first of each in index order).
    fn extremes(&self) -> Option<(usize, usize)> {
        let len = |i: &usize| self.slots[*i].picks.len();
        let max_i = (0..self.slots.len()).rev().max_by_key(len)?;
        let min_i = (0..self.slots.len()).min_by_key(len)?;
        Some((max_i, min_i))
    }

    /// Whether some unused candidate is refused only for lack of room (count or size).
    fn any_unused_blocked_by_room(&self) -> bool {
        self.backends.iter().enumerate().any(|(b, backend)| {
            (0..backend.candidates.len()).any(|c| {
                !self.used[b][c]
                    && self.slots.iter().any(|s| {
                        !same_relay(&s.relays, &backend.candidates[c].relays) && !self.fits(s, b, c)
                    })
            })
        })
    }
}

/// One intro point per backend, on pairwise distinct relays, for as many backends as possible
/// (Kuhn's augmenting paths, backends in canonical order, candidates in canonical order).
fn representation_matching(backends: &[Backend]) -> Vec<Option<usize>> {
    let mut pick: Vec<Option<usize>> = vec![None; backends.len()];
    for b in 0..backends.len() {
        let mut visited = vec![false; backends.len()];
        augment(backends, b, &mut pick, &mut visited);
    }
    pick
}

/// Try to give backend `b` a pick, re-matching others along an augmenting path.
fn augment(
    backends: &[Backend],
    b: usize,
    pick: &mut Vec<Option<usize>>,
    visited: &mut Vec<bool>,
) -> bool {
    if visited[b] {
        return false;
    }
    visited[b] = true;
    for c in 0..backends[b].candidates.len() {
        let relays = &backends[b].candidates[c].relays;
        let blockers: Vec<usize> = (0..backends.len())
            .filter(|&o| o != b)
            .filter(|&o| {
                pick[o].is_some_and(|oc| same_relay(&backends[o].candidates[oc].relays, relays))
            })
            .collect();
        match blockers.as_slice() {
            [] => {
                pick[b] = Some(c);
                return true;
            }
            [o] => {
                let o = *o;
                let saved = pick[o];
                // Tentatively hand the relay to `b` and look for another pick for `o`.
                pick[o] = None;
                pick[b] = Some(c);
                if augment(backends, o, pick, visited) {
                    return true;
                }
                pick[b] = None;
                pick[o] = saved;
            }
            _ => {}
        }
    }
    false
}
