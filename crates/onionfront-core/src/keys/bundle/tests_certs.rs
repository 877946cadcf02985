//! Tests of the certificate checks of a [`super::KeyBundle`]: every certificate that does not
//! hold for its period's blinded key and its signing key is refused, naming the file, the line
//! and the reason; and the refusal of version 1 files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tor_cert::{CertType, CertifiedKey, Ed25519Cert};

use super::tests::{bundle, from, key, parse_err};
use super::*;

/// The lines of `text` with line `i` (0-based) changed by `f`, as a file.
fn with_line(text: &str, i: usize, f: impl Fn(&[&str]) -> String) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let fields: Vec<&str> = lines[i].split(' ').collect();
    out[i] = f(&fields);
    out.join("\n") + "\n"
}

/// The third period's number (line 5 of the file).
fn third(bundle: &KeyBundle) -> u64 {
    bundle.periods().nth(2).unwrap().period.interval_num()
}

fn refused(num: u64, why: &str) -> String {
    format!("b, line 5: invalid key bundle: the certificate of time period #{num} {why}")
}

const OTHER_KEY: &str = "is signed by another key than this period's blinded key (made for another period or \
     another identity?)";

#[test]
fn refuses_a_tampered_certificate() {
    let bundle = bundle();
    let text = bundle.encode();
    // Flip one base64 character in the middle of the certificate (the certified key).
    let tampered = with_line(&text, 4, |f| {
        let mut cert = f[2].to_string();
        let c = if &cert[16..17] == "A" { "B" } else { "A" };
        cert.replace_range(16..17, c);
        format!("{} {} {cert} {}", f[0], f[1], f[3])
    });
    assert_eq!(
        parse_err(tampered.as_bytes()),
        refused(third(&bundle), "has an invalid signature (tampered?)")
    );
    // The same through `from_parts`.
    let mut parts: Vec<BundlePeriod> = bundle.periods().cloned().collect();
    parts[1].tamper_cert();
    let err = KeyBundle::from_parts(bundle.identity_public(), parts).unwrap_err();
    assert_eq!(
        err,
        BundleContentError::Certificate(
            bundle.periods().nth(1).unwrap().period.interval_num(),
            "has an invalid signature (tampered?)"
        )
    );
}

#[test]
fn refuses_a_certificate_of_another_period() {
    let bundle = bundle();
    let text = bundle.encode();
    let lines: Vec<&str> = text.lines().collect();
    let previous: Vec<&str> = lines[3].split(' ').collect();
    // The previous period's signing key and certificate under this period's number.
    let moved = with_line(&text, 4, |f| {
        format!("{} {} {} {}", f[0], previous[1], previous[2], f[3])
    });
    assert_eq!(
        parse_err(moved.as_bytes()),
        refused(third(&bundle), OTHER_KEY)
    );
    // A period renumbered.
    let num = third(&bundle);
    let renumbered = text.replacen(&format!("+{num}_"), &format!("+{}_", num + 100), 1);
    assert_eq!(
        parse_err(renumbered.as_bytes()),
        refused(num + 100, OTHER_KEY)
    );
}

#[test]
fn refuses_a_certificate_of_another_identity() {
    let bundle = bundle();
    let text = bundle.encode();
    let other = KeyBundle::provision(
        &ServiceKey::from_seed(&[8u8; 32]),
        from(),
        from() + Duration::from_secs(3 * 86_400),
        1440,
        12 * 3600,
    )
    .unwrap();
    let other_text = other.encode();
    let theirs: Vec<&str> = other_text.lines().nth(4).unwrap().split(' ').collect();
    let swapped = with_line(&text, 4, |f| {
        format!("{} {} {} {}", f[0], theirs[1], theirs[2], f[3])
    });
    assert_eq!(
        parse_err(swapped.as_bytes()),
        refused(third(&bundle), OTHER_KEY)
    );
    // Another identity's whole bundle under this address: refused at its first period.
    let readdressed = with_line(&other_text, 1, |_| format!("address {}", key().address()));
    assert!(
        parse_err(readdressed.as_bytes())
            .starts_with("b, line 3: invalid key bundle: the certificate of time period #"),
        "{}",
        parse_err(readdressed.as_bytes())
    );
}

#[test]
fn refuses_a_certificate_of_another_signing_key() {
    let bundle = bundle();
    let text = bundle.encode();
    let lines: Vec<&str> = text.lines().collect();
    let previous_seed = lines[3].split(' ').nth(1).unwrap().to_string();
    let swapped = with_line(&text, 4, |f| {
        format!("{} {previous_seed} {} {}", f[0], f[2], f[3])
    });
    assert_eq!(
        parse_err(swapped.as_bytes()),
        refused(
            third(&bundle),
            "does not certify the bundled descriptor-signing key"
        )
    );
}

/// Certificates signed by the right blinded key that still do not hold: another type, one
/// expiring before its period ends, one that is not a certificate at all.
#[test]
fn refuses_wrong_type_early_expiry_and_garbage() {
    let key = key();
    let bundle = bundle();
    let p = bundle.periods().next().unwrap().clone();
    let num = p.period.interval_num();
    let (_, blinded, _) = key.keypair().compute_blinded_key(p.period).unwrap();
    let signing = p.desc_sign().verifying_key();
    let end = p.period.range().unwrap().end;
    let with_cert = |cert: &[u8]| {
        let part = BundlePeriod::from_parts(
            p.period,
            Box::new(Zeroizing::new(*p.desc_sign_seed())),
            cert,
            Box::new(Zeroizing::new(*p.ope_bytes())),
        );
        KeyBundle::from_parts(bundle.identity_public(), vec![part]).unwrap_err()
    };
    let intro_type = Ed25519Cert::builder()
        .cert_type(CertType::HS_IP_V_SIGNING)
        .expiration(end + CERT_MARGIN)
        .signing_key(ed25519::Ed25519Identity::from(blinded.as_ref().public()))
        .cert_key(CertifiedKey::Ed25519((&signing).into()))
        .encode_and_sign(&blinded)
        .unwrap();
    assert_eq!(
        with_cert(&intro_type),
        BundleContentError::Certificate(
            num,
            "is not a descriptor-signing-key certificate (type 08)"
        )
    );
    // (Expiries are encoded in whole hours.)
    let early =
        create_desc_sign_key_cert(&signing, &blinded, end - Duration::from_secs(7200)).unwrap();
    assert_eq!(
        with_cert(&early),
        BundleContentError::Certificate(num, "expires before its period ends")
    );
    assert_eq!(
        with_cert(b"not a certificate"),
        BundleContentError::Certificate(num, "cannot be parsed as an Ed25519 certificate")
    );
}

/// The OPE key cannot be checked against anything public: the checksum catches a change.
#[test]
fn a_changed_ope_key_is_caught_by_the_checksum() {
    let text = bundle().encode();
    let changed = with_line(&text, 4, |f| {
        let mut ope = f[3].to_string();
        let c = if &ope[3..4] == "A" { "B" } else { "A" };
        ope.replace_range(3..4, c);
        format!("{} {} {} {ope}", f[0], f[1], f[2])
    });
    assert_eq!(
        parse_err(changed.as_bytes()),
        "b, line 7: invalid key bundle: the checksum does not match the content: the file was \
         altered or corrupted"
    );
}

#[test]
fn refuses_version_1_files() {
    let v1 = format!(
        "onionfront-key-bundle v1\naddress {}\nks_hs_blind_id+20000_1440_43200 {}\n",
        key().address(),
        "A".repeat(86) + "=="
    );
    assert_eq!(
        parse_err(v1.as_bytes()),
        "b, line 1: invalid key bundle: this is a version 1 key bundle, which held blinded \
         secret keys: each reveals the identity secret key. Provision a new bundle with \
         `onionfront keys provision`, and destroy the old file and every copy of it"
    );
}
