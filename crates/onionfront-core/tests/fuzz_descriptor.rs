//! Bounded property ("fuzz") tests of backend descriptor validation, run by `cargo test` on
//! stable Rust: arbitrary bytes; real signed descriptors (made by Arti's descriptor builder the
//! way a C tor 0.4.9 backend makes them, see `onionfront_core::testing`) with their fields
//! varied before signing; and those descriptors mutated after signing (flipped bytes, dropped,
//! repeated or swapped lines, truncation).
//!
//! Validation must never panic and must answer each input quickly; a mutated descriptor is
//! either refused or, when the mutation did not touch anything signed (e.g. trailing
//! whitespace), accepted with exactly the original's content. Every input that ever failed is
//! kept in `tests/corpus/descriptor/` and replayed first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use onionfront_core::OnionAddress;
use onionfront_core::descriptor::{Rejection, ValidatedDescriptor, validate_backend_descriptor};
use onionfront_core::period::PeriodParams;
use onionfront_core::testing::*;
use proptest::prelude::*;

mod common;
use common::cases;

/// The most time one input may take (debug build on a loaded 2-core machine).
const PER_INPUT: Duration = Duration::from_secs(2);

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

struct Fixture {
    id: tor_hscrypto::pk::HsIdKeypair,
    addr: OnionAddress,
    period: PeriodParams,
    /// A real descriptor and what it validates to.
    text: String,
    valid: ValidatedDescriptor,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let id = fake_identity(7);
        let addr = address_of(&id);
        let period = test_period(t0());
        let ipts: Vec<_> = (1..=3).map(fake_intro_point).collect();
        let text = backend_descriptor(&id, &period, &ipts, 1234, t0());
        let valid = validate_backend_descriptor(&text, &addr, &period, t0()).unwrap();
        Fixture {
            id,
            addr,
            period,
            text,
            valid,
        }
    })
}

/// Validate `text` for the fixture's backend; check time and the "no panic" property (a panic
/// fails the test by itself).
fn validate(text: &str) -> Result<ValidatedDescriptor, Rejection> {
    let f = fixture();
    let t = Instant::now();
    let r = validate_backend_descriptor(text, &f.addr, &f.period, t0());
    let took = t.elapsed();
    assert!(took < PER_INPUT, "took {took:?}");
    if let Err(e) = &r {
        assert!(!e.to_string().is_empty());
    }
    r
}

/// A mutated descriptor is refused, or accepted as the original.
fn check_mutated(text: &str) {
    if let Ok(v) = validate(text) {
        let orig = &fixture().valid;
        assert_eq!(v.revision, orig.revision);
        assert_eq!(v.intro_points.len(), orig.intro_points.len());
        assert_eq!(v.blinded_id, orig.blinded_id);
        assert_eq!(v.flow_control, orig.flow_control);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    DropLine(usize),
    RepeatLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    Insert(usize, &'static str),
}

const SNIPPETS: &[&str] = &[
    "\n",
    " ",
    "hs-descriptor 3\n",
    "revision-counter 99999\n",
    "descriptor-lifetime 720\n",
    "-----BEGIN MESSAGE-----\n",
    "-----END MESSAGE-----\n",
    "signature AAAA\n",
    "\u{0}",
    "é",
];

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        any::<usize>().prop_map(Mutation::DropLine),
        any::<usize>().prop_map(Mutation::RepeatLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::sample::select(SNIPPETS)).prop_map(|(p, s)| Mutation::Insert(p, s)),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::Flip(p, b) => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = p % bytes.len();
                bytes[i] ^= b.max(&1);
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::DropLine(p) => {
            if !lines.is_empty() {
                lines.remove(p % n);
            }
        }
        Mutation::RepeatLine(p) => {
            if !lines.is_empty() {
                let l = lines[p % n].clone();
                lines.insert(p % n, l);
            }
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
        }
        Mutation::Truncate(p) => {
            let mut end = p % (text.len() + 1);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            return text[..end].to_string();
        }
        Mutation::Insert(p, s) => {
            let mut at = p % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            return format!("{}{s}{}", &text[..at], &text[at..]);
        }
    }
    lines.concat()
}

#[test]
fn corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/descriptor");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        // Corpus entries were made for the fixture's backend and period, or are garbage.
        check_mutated(&text);
        n += 1;
    }
    assert!(n > 0, "empty corpus in {}", dir.display());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1024), failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_is_refused(text in "(?s).{0,3000}") {
        prop_assert!(validate(&text).is_err());
    }

    #[test]
    fn arbitrary_outer_layers_are_refused(
        lines in prop::collection::vec(
            prop::sample::select(&[
                "hs-descriptor 3", "descriptor-lifetime 180", "descriptor-signing-key-cert",
                "-----BEGIN ED25519 CERT-----", "-----END ED25519 CERT-----", "AQgABvAAAAAA",
                "revision-counter 1", "superencrypted", "-----BEGIN MESSAGE-----",
                "-----END MESSAGE-----", "signature AAAA", "",
            ][..]),
            0..40,
        )
    ) {
        prop_assert!(validate(&lines.join("\n")).is_err());
    }

    #[test]
    fn mutated_real_descriptors(mutations in prop::collection::vec(arb_mutation(), 1..4)) {
        let mut text = fixture().text.clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        check_mutated(&text);
    }
}

proptest! {
    // Each case builds and signs a descriptor: fewer cases.
    #![proptest_config(ProptestConfig { cases: cases(64), failure_persistence: None, .. ProptestConfig::default() })]

    /// Validly signed descriptors with varied fields: accepted exactly when a client of the main
    /// address could use them, and then with the fields they were built with.
    #[test]
    fn signed_descriptors_with_varied_fields(
        n_ipts in 0u64..6,
        revision in any::<u64>(),
        lifetime in prop::sample::select(vec![30u16, 180, 720]),
        cert_hours in prop::sample::select(vec![1u64, 54, 200]),
        built_ago_hours in prop::sample::select(vec![0u64, 3, 60]),
        flow in any::<bool>(),
        intro_auth in any::<bool>(),
        other_period in any::<bool>(),
    ) {
        let f = fixture();
        let built = t0() - Duration::from_secs(built_ago_hours * 3600);
        let period = if other_period {
            PeriodParams {
                time_period: f.period.time_period.next().unwrap(),
                srv_start: f.period.srv_start + f.period.length(),
            }
        } else {
            f.period
        };
        let ipts: Vec<_> = (1..=n_ipts).map(fake_intro_point).collect();
        let opts = BackendDescOptions {
            lifetime_minutes: lifetime,
            cert_lifetime: Duration::from_secs(cert_hours * 3600),
            flow_control: flow.then(c_tor_flow_control),
            auth_clients: None,
            intro_auth,
        };
        let text = backend_descriptor_with(&f.id, &period, &ipts, revision, built, &opts);
        let r = validate(&text);
        let expired = built_ago_hours >= cert_hours;
        let from_the_future = cert_hours > 56 && built_ago_hours + 56 < cert_hours;
        let usable = n_ipts > 0 && !intro_auth && !other_period && !expired && !from_the_future;
        match r {
            Ok(v) => {
                prop_assert!(usable, "accepted: {v:?}");
                prop_assert_eq!(v.revision, revision);
                prop_assert_eq!(v.intro_points.len() as u64, n_ipts);
                prop_assert_eq!(v.lifetime, Duration::from_secs(u64::from(lifetime) * 60));
                prop_assert_eq!(v.flow_control.is_some(), flow);
            }
            Err(e) => prop_assert!(!usable, "refused: {e}"),
        }
    }
}
