//! Descriptor engine benchmarks: main descriptors built and signed per second (20 intro points),
//! backend descriptors validated per second, and the cost split of a build (blinding, signing
//! the descriptor-signing certificate, revision counter, Arti's encoding and encryption, C tor
//! padding), plus selection over 60 backends.
//!
//! Run: `cargo bench -p onionfront-core --bench engine` (add `-- --quick` for a short run).
//! A plain summary (operations per second, measured over a fixed number of runs) is printed
//! first; Criterion's statistics follow.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::num::NonZeroU8;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput};
use onionfront_core::descriptor::validate_backend_descriptor;
use onionfront_core::keys::SigningKeys;
use onionfront_core::main_descriptor::{self, BuildRequest, build_main_descriptor};
use onionfront_core::select::{
    BackendIntros, SelectionParams, select_intro_points, selection_seed,
};
use onionfront_core::testing::*;
use tor_cell::chancell::msg::HandshakeType;
use tor_hscrypto::pk::HsIdKeypair;
use tor_llcrypto::pk::ed25519;
use tor_netdoc::NetdocBuilder;
use tor_netdoc::doc::hsdesc::{HsDescBuilder, IntroPointDesc, create_desc_sign_key_cert};

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

struct Inputs {
    id: Arc<HsIdKeypair>,
    keys: SigningKeys,
    period: onionfront_core::period::PeriodParams,
    ipts20: Vec<IntroPointDesc>,
    backend_text: String,
    backend_addr: onionfront_core::OnionAddress,
    backends60: Vec<BackendIntros>,
}

fn inputs() -> Inputs {
    let id = Arc::new(fake_identity(1));
    let keys = SigningKeys::Identity(Arc::clone(&id));
    let period = test_period(now());
    let ipts20: Vec<IntroPointDesc> = (1..=20).map(|i| fake_intro_point_ipv6(i, i)).collect();
    let backend = fake_identity(2);
    let backend_ipts: Vec<IntroPointDesc> = (100..103).map(fake_intro_point).collect();
    let backend_text = backend_descriptor(&backend, &period, &backend_ipts, 1234, now());
    let backends60 = (0..60u64)
        .map(|b| BackendIntros {
            address: fake_address(1000 + b),
            intro_points: (0..3)
                .map(|k| fake_intro_point(b * 10 + k + 10_000))
                .collect(),
        })
        .collect();
    Inputs {
        id,
        keys,
        period,
        ipts20,
        backend_addr: address_of(&backend),
        backend_text,
        backends60,
    }
}

fn request<'a>(i: &'a Inputs) -> BuildRequest<'a> {
    let (p, inc) = c_tor_flow_control();
    BuildRequest {
        keys: &i.keys,
        period: &i.period,
        intro_points: &i.ipts20,
        flow_control: Some((p, NonZeroU8::new(inc).unwrap())),
        auth_clients: &[],
        lifetime_minutes: 180,
        max_size: 50_000,
        min_revision: None,
        now: now(),
    }
}

/// Keys and certificate of one build, made once: the parts measured separately.
struct Prepared {
    bpk: tor_hscrypto::pk::HsBlindIdKey,
    subcred: tor_hscrypto::Subcredential,
    sign: ed25519::Keypair,
    cert: tor_cert::EncodedEd25519Cert,
    exp: SystemTime,
}

fn prepare(i: &Inputs) -> Prepared {
    let (bpk, bkp, subcred) = i.id.compute_blinded_key(i.period.time_period).unwrap();
    let sign = ed25519::Keypair::generate(&mut rand::rng());
    let exp = now() + main_descriptor::CERT_LIFETIME;
    let cert = create_desc_sign_key_cert(&sign.verifying_key(), &bkp, exp).unwrap();
    Prepared {
        bpk,
        subcred,
        sign,
        cert,
        exp,
    }
}

/// Arti's part of a build alone, with the first `n` intro points: encoding, re-signing 2n
/// intro point certs, two encryptions (Arti's padding).
fn arti_encode(i: &Inputs, p: &Prepared, n: usize) -> String {
    let (fc, inc) = c_tor_flow_control();
    HsDescBuilder::default()
        .blinded_id(&p.bpk)
        .hs_desc_sign(&p.sign)
        .hs_desc_sign_cert(p.cert.clone())
        .create2_formats(&[HandshakeType::NTOR])
        .auth_required(None)
        .is_single_onion_service(false)
        .intro_points(&i.ipts20[..n])
        .intro_auth_key_cert_expiry(p.exp)
        .intro_enc_key_cert_expiry(p.exp)
        .flow_control(Some((fc, inc)))
        .lifetime(180u16.into())
        .revision_counter(1.into())
        .subcredential(p.subcred)
        .build_sign(&mut rand::rng())
        .unwrap()
}

/// C tor re-padding of an Arti-built descriptor.
fn repad(p: &Prepared, arti_text: &str) -> String {
    main_descriptor::repad::Rewrap {
        blinded_key: &p.bpk.as_ref().to_bytes(),
        subcredential: p.subcred.as_ref(),
        revision: 1,
        desc_sign: &p.sign,
    }
    .apply(arti_text, &mut rand::rng())
    .unwrap()
}

/// Runs `f` `n` times, returns operations per second.
fn rate(n: u32, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn summary(i: &Inputs) {
    let p = prepare(i);
    let (_, bkp, _) = i.id.compute_blinded_key(i.period.time_period).unwrap();
    let arti20 = arti_encode(i, &p, 20);
    let build = rate(100, || {
        black_box(build_main_descriptor(&request(i)).unwrap());
    });
    let validate = rate(300, || {
        black_box(
            validate_backend_descriptor(&i.backend_text, &i.backend_addr, &i.period, now())
                .unwrap(),
        );
    });
    let blind = rate(500, || {
        black_box(i.id.compute_blinded_key(i.period.time_period).unwrap());
    });
    let cert = rate(2000, || {
        black_box(create_desc_sign_key_cert(&p.sign.verifying_key(), &bkp, now()).unwrap());
    });
    let rev = rate(300, || {
        black_box(main_descriptor::revision_counter(&i.keys, &i.period, now()).unwrap());
    });
    let arti = rate(100, || {
        black_box(arti_encode(i, &p, 20));
    });
    let pad = rate(300, || {
        black_box(repad(&p, &arti20));
    });
    let sp = SelectionParams {
        per_instance: 2,
        max_per_descriptor: 20,
        max_descriptors: 8,
        seed: selection_seed(&address_of(&i.id), &i.period),
    };
    let select = rate(100, || {
        black_box(select_intro_points(&sp, &i.backends60));
    });
    let us = |r: f64| 1e6 / r;
    println!("== onionfront descriptor engine (summary; fixed run counts) ==");
    println!(
        "main descriptors built+signed (20 intro points): {build:>7.0} /s  ({:>6.0} µs each)",
        us(build)
    );
    println!(
        "backend descriptors validated (3 intro points):  {validate:>7.0} /s  ({:>6.0} µs each)",
        us(validate)
    );
    println!("cost split of one build (20 intro points):");
    println!(
        "  blinding the identity key:                     {:>7.0} µs",
        us(blind)
    );
    println!(
        "  signing the descriptor-signing cert:           {:>7.0} µs",
        us(cert)
    );
    println!(
        "  revision counter (OPE, 36 h into the SRV run): {:>7.0} µs",
        us(rev)
    );
    println!(
        "  encoding + 40 intro cert signatures + 2 encryptions (Arti): {:>7.0} µs",
        us(arti)
    );
    println!(
        "  C tor re-padding (decrypt, pad, encrypt, re-sign): {:>7.0} µs",
        us(pad)
    );
    println!(
        "  sum of the parts: {:>7.0} µs",
        us(blind) + us(cert) + us(rev) + us(arti) + us(pad)
    );
    for n in [3usize, 10, 20] {
        let mut req = request(i);
        req.intro_points = &i.ipts20[..n];
        let ours = build_main_descriptor(&req).unwrap().size;
        let arti = arti_encode(i, &p, n).len();
        println!(
            "size with {n:>2} intro points (IPv4+IPv6): {ours:>6} bytes with C tor padding, {arti:>6} with Arti's"
        );
    }
    println!(
        "selection, 60 backends × 3 intro points, 8 HSDirs: {select:>7.0} /s  ({:>6.0} µs each)",
        us(select)
    );
    println!();
}

fn benches(c: &mut Criterion, i: &Inputs) {
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(1));
    g.bench_function("build_main_descriptor_20_intro_points", |b| {
        b.iter(|| build_main_descriptor(black_box(&request(i))).unwrap())
    });
    g.bench_function("validate_backend_descriptor", |b| {
        b.iter(|| {
            validate_backend_descriptor(
                black_box(&i.backend_text),
                &i.backend_addr,
                &i.period,
                now(),
            )
            .unwrap()
        })
    });
    let (_, bkp, _) = i.id.compute_blinded_key(i.period.time_period).unwrap();
    let sign = ed25519::Keypair::generate(&mut rand::rng());
    g.bench_function("split/blinding", |b| {
        b.iter(|| {
            i.id.compute_blinded_key(black_box(i.period.time_period))
                .unwrap()
        })
    });
    g.bench_function("split/sign_desc_cert", |b| {
        b.iter(|| create_desc_sign_key_cert(&sign.verifying_key(), black_box(&bkp), now()).unwrap())
    });
    g.bench_function("split/revision_counter", |b| {
        b.iter(|| main_descriptor::revision_counter(&i.keys, black_box(&i.period), now()).unwrap())
    });
    let prepared = prepare(i);
    let arti20 = arti_encode(i, &prepared, 20);
    g.bench_function("split/arti_encode_encrypt_20", |b| {
        b.iter(|| arti_encode(black_box(i), &prepared, 20))
    });
    g.bench_function("split/c_tor_repad_20", |b| {
        b.iter(|| repad(&prepared, black_box(&arti20)))
    });
    let p = SelectionParams {
        per_instance: 2,
        max_per_descriptor: 20,
        max_descriptors: 8,
        seed: selection_seed(&address_of(&i.id), &i.period),
    };
    g.bench_function("select_60_backends", |b| {
        b.iter(|| select_intro_points(black_box(&p), &i.backends60))
    });
    g.finish();
}

fn main() {
    let i = inputs();
    summary(&i);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    benches(&mut c, &i);
    c.final_summary();
}
