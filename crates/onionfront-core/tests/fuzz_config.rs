//! Bounded property ("fuzz") tests of the config loader, run by `cargo test` on stable Rust:
//! arbitrary bytes, and mutations of valid configs (the example config and small ones using
//! every section). The loader must never panic, must answer each input quickly (well under a
//! second: the YAML tree is bounded in size, depth and aliases), and each error must name the
//! file. Every input that ever failed is kept in `tests/corpus/config/` and replayed first.
//!
//! Case counts are chosen so that this file runs in a few seconds in a debug build; set
//! `PROPTEST_CASES` to run more.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use onionfront_core::config::{self, ConfigError};
use proptest::prelude::*;

mod common;
use common::cases;

/// The most time one input may take (generous: debug build on a loaded 2-core machine).
const PER_INPUT: Duration = Duration::from_secs(2);

const EXAMPLE: &str = include_str!("../../../config.example.yaml");

fn addr(n: u8) -> String {
    onionfront_core::keys::ServiceKey::from_seed(&[n; 32])
        .address()
        .to_string()
}

/// Valid configs to mutate.
fn seeds() -> Vec<String> {
    vec![
        EXAMPLE.to_string(),
        format!(
            "services:\n  - key: a.key\n    instances: &i\n      - address: {a}\n        name: one\n  - key: b.key\n    instances: *i\n",
            a = addr(1)
        ),
        format!(
            "status-socket-location: /run/of/sock\nlog: {{level: debug, backend-addresses: true}}\n\
             metrics: {{listen: 127.0.0.1:9477, backend-addresses: false}}\n\
             publish: {{intro-points-per-instance: 3, descriptor-lifetime: 180}}\n\
             services:\n  - key: k\n    health-check: {{port: 80}}\n    instances: [{{address: {a}}}, {{address: {b}}}]\n",
            a = addr(2),
            b = addr(3)
        ),
    ]
}

/// Parse `text` as if read from `config.yaml`; check the invariants.
fn check_text(text: &str) {
    let t = Instant::now();
    let result = config::parse(text, Path::new("/fuzz/config.yaml"));
    check_result(result.map(|_| ()), t, "/fuzz/config.yaml");
}

fn check_result(result: Result<(), ConfigError>, start: Instant, file: &str) {
    let took = start.elapsed();
    assert!(took < PER_INPUT, "took {took:?}");
    if let Err(e) = result {
        let text = e.to_string();
        assert!(!text.is_empty());
        assert!(text.len() < 1 << 20, "an error of {} bytes", text.len());
        assert!(text.starts_with(file), "{text}");
    }
}

/// Load `bytes` from a file (the path through the size limit and UTF-8 check).
fn check_file(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.yaml");
    std::fs::write(&p, bytes).unwrap();
    let t = Instant::now();
    let result = config::load(&p);
    check_result(result.map(|_| ()), t, &p.display().to_string());
}

/// One edit of a config text.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at (position modulo length) with this one.
    Set(usize, u8),
    /// Insert this snippet at the position.
    Insert(usize, &'static str),
    /// Delete up to this many bytes at the position.
    Delete(usize, usize),
    /// Repeat the line at the position this many times.
    RepeatLine(usize, usize),
}

/// Snippets that exercise YAML's structure: anchors, aliases, flow collections, tags,
/// documents, odd scalars.
const SNIPPETS: &[&str] = &[
    "&a ",
    "*a",
    "*nope",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "\n",
    "\n  ",
    "---\n",
    "...\n",
    "!!str ",
    "!!binary ",
    "? ",
    "|\n",
    ">\n",
    "\"",
    "'",
    "#",
    "\t",
    "~",
    "null",
    "-1",
    "1e309",
    "0x10",
    "\u{feff}",
    "\u{0}",
    "é",
    "<<: *a\n",
    "key: &b [*b]\n",
    "%YAML 1.2\n",
];

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (any::<usize>(), prop::sample::select(SNIPPETS)).prop_map(|(p, s)| Mutation::Insert(p, s)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), 1usize..50).prop_map(|(p, n)| Mutation::RepeatLine(p, n)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    for m in mutations {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
        match m {
            Mutation::Set(p, v) => {
                if !b.is_empty() {
                    let i = p % b.len();
                    b[i] = *v;
                }
            }
            Mutation::Insert(p, s) => {
                let i = at(*p, b.len());
                b.splice(i..i, s.bytes());
            }
            Mutation::Delete(p, n) => {
                let i = at(*p, b.len());
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Mutation::RepeatLine(p, n) => {
                let lines: Vec<&[u8]> = b.split_inclusive(|c| *c == b'\n').collect();
                if lines.is_empty() {
                    continue;
                }
                let k = p % lines.len();
                let mut out = Vec::new();
                for (j, l) in lines.iter().enumerate() {
                    out.extend_from_slice(l);
                    if j == k {
                        for _ in 0..*n {
                            out.extend_from_slice(l);
                        }
                    }
                }
                b = out;
            }
        }
    }
    b
}

#[test]
fn corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        check_text(&String::from_utf8_lossy(&bytes));
        check_file(&bytes);
        n += 1;
    }
    assert!(n > 0, "empty corpus in {}", dir.display());
}

#[test]
fn seeds_are_valid() {
    for s in seeds() {
        config::parse(&s, Path::new("/fuzz/config.yaml")).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1024), failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text(text in "(?s).{0,2000}") {
        check_text(&text);
    }

    #[test]
    fn arbitrary_yamlish_text(parts in prop::collection::vec(prop::sample::select(SNIPPETS), 0..200)) {
        check_text(&parts.concat());
    }

    #[test]
    fn mutated_configs(seed in 0usize..3, mutations in prop::collection::vec(arb_mutation(), 1..8)) {
        let seeds = seeds();
        let bytes = apply(&seeds[seed % seeds.len()], &mutations);
        check_text(&String::from_utf8_lossy(&bytes));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), failure_persistence: None, .. ProptestConfig::default() })]

    /// Through the file: size limit, UTF-8 check (arbitrary bytes are rarely UTF-8).
    #[test]
    fn arbitrary_bytes_from_a_file(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        check_file(&bytes);
    }
}
