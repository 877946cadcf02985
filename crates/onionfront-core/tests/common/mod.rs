//! What the property tests share: how many cases each runs.

/// `n` cases, or `PROPTEST_CASES` when set (to run longer by hand).
pub fn cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n)
}
