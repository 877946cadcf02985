//! `onionfront keys` end to end (the binary, no network): generate, provision from either key
//! format, show, and the refusals (existing output, a bundle given as the key, loose modes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use onionfront_core::keys::{KeyBundle, ServiceKey};

mod common;
use common::{onionfront, run};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A C tor key made by `keys generate`, in `dir/key`.
fn generate(dir: &Path) -> (String, std::path::PathBuf) {
    let out_dir = dir.join("key");
    let (code, out, err) = run(&mut onionfront(&["keys", "generate", "-o", s(&out_dir)]));
    assert_eq!(code, 0, "{err}");
    (
        out.trim().to_string(),
        out_dir.join("hs_ed25519_secret_key"),
    )
}

#[test]
fn provision_then_show() {
    let tmp = tempfile::tempdir().unwrap();
    let (address, key) = generate(tmp.path());
    let bundle = tmp.path().join("bundle");
    let (code, out, err) = run(&mut onionfront(&[
        "keys",
        "provision",
        "--key",
        s(&key),
        "--out",
        s(&bundle),
        "--from",
        "2027-01-02",
        "--days",
        "7",
    ]));
    assert_eq!(code, 0, "{err}");
    // Daily periods start at 12:00 UTC: the one containing midnight began the day before; the
    // last one starts before 2027-01-09T00:00Z.
    assert_eq!(
        out,
        format!(
            "address: {address}\nperiods: 8 of 1440 minutes #20819 to #20826\n\
             covers: 2027-01-01T12:00:00Z to 2027-01-09T12:00:00Z\n\
             exposure: a thief of this file can sign descriptors until 2027-01-10T00:00:00Z \
             (the last certificate expires)\n"
        )
    );
    assert!(err.contains("before 2027-01-09T12:00:00Z"), "{err}");
    assert!(
        err.contains("can sign descriptors for the address until 2027-01-10T00:00:00Z"),
        "{err}"
    );
    assert_eq!(mode(&bundle), 0o600);
    let loaded = KeyBundle::load(&bundle).unwrap();
    assert_eq!(loaded.address().to_string(), address);
    assert_eq!(loaded.len(), 8);

    let (code, out, err) = run(&mut onionfront(&["keys", "show", s(&bundle)]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("address: {address}\n")), "{out}");
    assert!(
        out.contains("  #20819  2027-01-01T12:00:00Z  2027-01-02T12:00:00Z\n"),
        "{out}"
    );
    assert_eq!(out.lines().filter(|l| l.starts_with("  #")).count(), 8);
    assert!(
        out.contains(
            "exposure: a thief of this file can sign descriptors until 2027-01-10T00:00:00Z"
        ),
        "{out}"
    );
    // 2027 is in the future of these tests' clock... until it is not: either way one status.
    assert!(
        out.contains("status: not yet valid") || out.contains("status: EXPIRED"),
        "{out}"
    );

    // Never overwrites.
    let before = fs::read(&bundle).unwrap();
    let (code, _, err) = run(&mut onionfront(&[
        "keys",
        "provision",
        "-k",
        s(&key),
        "-o",
        s(&bundle),
    ]));
    assert_eq!(code, 1);
    assert!(
        err.contains("already exists; refusing to overwrite it"),
        "{err}"
    );
    assert_eq!(fs::read(&bundle).unwrap(), before);
}

#[test]
fn provision_now_covers_the_current_period_and_show_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, key) = generate(tmp.path());
    let bundle = tmp.path().join("b");
    let (code, _, err) = run(&mut onionfront(&[
        "keys",
        "provision",
        "-k",
        s(&key),
        "-o",
        s(&bundle),
        "--periods",
        "3",
        "--hsdir-interval",
        "60",
        "--voting-interval",
        "20",
    ]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&mut onionfront(&["keys", "show", s(&bundle)]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("periods: 3 of 60 minutes"), "{out}");
    assert_eq!(out.matches("current, ").count(), 1, "{out}");
    assert!(out.contains("status: runs out in 2h"), "{out}");
}

/// An Onionbalance PEM key works as well, and gives the same periods and OPE keys as its C tor
/// form.
#[test]
fn provision_accepts_onionbalance_pem() {
    let tmp = tempfile::tempdir().unwrap();
    let key = ServiceKey::from_seed(&[9u8; 32]);
    let pem = tmp.path().join("key.pem");
    fs::write(&pem, key.to_pem().unwrap().as_bytes()).unwrap();
    fs::set_permissions(&pem, fs::Permissions::from_mode(0o600)).unwrap();
    key.write_ctor(&tmp.path().join("ctor")).unwrap();
    let ctor = tmp.path().join("ctor/hs_ed25519_secret_key");
    for (from, out) in [(&pem, "a"), (&ctor, "b")] {
        let (code, _, err) = run(&mut onionfront(&[
            "keys",
            "provision",
            "-k",
            s(from),
            "-o",
            s(&tmp.path().join(out)),
            "--from",
            "2027-03-01T00:00:00Z",
            "--periods",
            "2",
        ]));
        assert_eq!(code, 0, "{err}");
    }
    // Signing keys are random; the periods and their OPE keys (derived from the blinded keys)
    // are the same.
    let a = KeyBundle::load(&tmp.path().join("a")).unwrap();
    let b = KeyBundle::load(&tmp.path().join("b")).unwrap();
    assert_eq!(a.address(), b.address());
    assert_eq!(a.len(), 2);
    for (pa, pb) in a.periods().zip(b.periods()) {
        assert_eq!(pa.period, pb.period);
        assert_eq!(pa.ope_bytes(), pb.ope_bytes());
    }
}

#[test]
fn refusals_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, key) = generate(tmp.path());
    let bundle = tmp.path().join("b");
    let provision = |k: &Path, out: &Path| {
        run(&mut onionfront(&[
            "keys",
            "provision",
            "-k",
            s(k),
            "-o",
            s(out),
            "--periods",
            "2",
        ]))
    };
    assert_eq!(provision(&key, &bundle).0, 0);
    // A bundle is not an identity key.
    let (code, _, err) = provision(&bundle, &tmp.path().join("c"));
    assert_eq!(code, 1);
    assert!(err.contains("is an onionfront key bundle"), "{err}");
    assert!(!tmp.path().join("c").exists());
    // A bundle others may read is refused by show.
    fs::set_permissions(&bundle, fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = run(&mut onionfront(&["keys", "show", s(&bundle)]));
    assert_eq!(code, 1);
    assert!(err.contains("mode 0644"), "{err}");
    // A truncated one names its line.
    let text = fs::read(&bundle).unwrap();
    let cut = tmp.path().join("cut");
    fs::write(&cut, &text[..text.len() - 30]).unwrap();
    fs::set_permissions(&cut, fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, err) = run(&mut onionfront(&["keys", "show", s(&cut)]));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{}, line 5: invalid key bundle: the line is cut short",
            cut.display()
        )),
        "{err}"
    );
}

/// `keygen` keeps working beside `keys generate`.
#[test]
fn keygen_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run(&mut onionfront(&["keygen", "-o", s(tmp.path())]));
    assert_eq!(code, 0, "{err}");
    let key = ServiceKey::load(&tmp.path().join("hs_ed25519_secret_key")).unwrap();
    assert_eq!(out.trim(), key.address().to_string());
}
