//! Distinct-descriptors mode: which responsible HSDir gets which descriptor.
//!
//! The responsible HSDirs come in ring order, replica 1 first: `hsdir_n_replicas` (2) blocks of
//! `hsdir_spread_store` (4). Clients fetch only from the first `hsdir_spread_fetch` (3) of each
//! block, picking one at random, so with the consensus defaults 6 of the 8 HSDirs are
//! *fetchable*. Every descriptor must sit on at least one fetchable HSDir, and for even load each
//! should sit on the same number of them: descriptors are dealt round-robin over the fetchable
//! positions (which puts each one in both replicas when there are at most 3), then over the
//! others (which clients only reach when their view of the ring differs slightly, so they also
//! get a copy). See docs/distinct-descriptors.md.

/// How the responsible HSDirs are laid out (consensus parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HsDirLayout {
    /// `hsdir_n_replicas`.
    pub replicas: usize,
    /// `hsdir_spread_store`: HSDirs per replica a service uploads to.
    pub spread_store: usize,
    /// `hsdir_spread_fetch`: HSDirs per replica clients fetch from.
    pub spread_fetch: usize,
}

impl Default for HsDirLayout {
    fn default() -> Self {
        HsDirLayout {
            replicas: 2,
            spread_store: 4,
            spread_fetch: 3,
        }
    }
}

impl HsDirLayout {
    /// Positions (indexes into the ring-ordered list of `n_hsdirs`) clients fetch from.
    pub fn fetchable(&self, n_hsdirs: usize) -> Vec<usize> {
        let store = self.spread_store.max(1);
        let fetch = self.spread_fetch.clamp(1, store);
        (0..n_hsdirs)
            .filter(|i| i / store < self.replicas.max(1) && i % store < fetch)
            .collect()
    }

    /// How many distinct descriptors `n_hsdirs` HSDirs can usefully carry (each on a fetchable
    /// HSDir).
    pub fn max_distinct(&self, n_hsdirs: usize) -> usize {
        self.fetchable(n_hsdirs).len()
    }

    /// Descriptor counts that spread evenly over the fetchable HSDirs of `n_hsdirs` (the
    /// divisors of their number), ascending; `[1]` if there are none.
    pub fn even_counts(&self, n_hsdirs: usize) -> Vec<usize> {
        let f = self.max_distinct(n_hsdirs);
        let v: Vec<usize> = (1..=f).filter(|d| f.is_multiple_of(*d)).collect();
        if v.is_empty() { vec![1] } else { v }
    }
}

/// Which descriptor each of `n_hsdirs` HSDirs (ring order, replica 1 first) gets, with
/// `n_descriptors` descriptors and the given layout.
pub fn assign_descriptors_with(
    layout: &HsDirLayout,
    n_hsdirs: usize,
    n_descriptors: usize,
) -> Vec<usize> {
    let mut out = vec![0; n_hsdirs];
    if n_descriptors <= 1 {
        return out;
    }
    let fetchable = layout.fetchable(n_hsdirs);
    let others: Vec<usize> = (0..n_hsdirs).filter(|i| !fetchable.contains(i)).collect();
    // Round-robin over fetchable positions first, then the others. With more descriptors than
    // fetchable HSDirs (selection never asks for that) the extra ones land on the others.
    for (next, &pos) in fetchable.iter().chain(others.iter()).enumerate() {
        out[pos] = next % n_descriptors;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout() {
        let l = HsDirLayout::default();
        assert_eq!(l.fetchable(8), vec![0, 1, 2, 4, 5, 6]);
        assert_eq!(l.fetchable(5), vec![0, 1, 2, 4]);
        assert_eq!(l.fetchable(1), vec![0]);
        assert_eq!(l.even_counts(8), vec![1, 2, 3, 6]);
        assert_eq!(l.even_counts(0), vec![1]);
    }

    #[test]
    fn assignment_covers_and_balances() {
        let l = HsDirLayout::default();
        for d in 1..=6 {
            let a = assign_descriptors_with(&l, 8, d);
            let fetch = l.fetchable(8);
            for desc in 0..d {
                let on_fetchable = fetch.iter().filter(|&&p| a[p] == desc).count();
                assert!(
                    on_fetchable >= 1,
                    "descriptor {desc} of {d} unreachable: {a:?}"
                );
                if 6 % d == 0 {
                    assert_eq!(on_fetchable, 6 / d);
                }
            }
        }
        // Up to 3 descriptors: each in both replicas.
        for d in 1..=3 {
            let a = assign_descriptors_with(&l, 8, d);
            for desc in 0..d {
                assert!(a[..4].contains(&desc) && a[4..].contains(&desc), "{a:?}");
            }
        }
        assert_eq!(assign_descriptors_with(&l, 8, 0), vec![0; 8]);
        // More descriptors than HSDirs: each HSDir gets a distinct one.
        assert_eq!(assign_descriptors_with(&l, 3, 5), vec![0, 1, 2]);
    }
}
