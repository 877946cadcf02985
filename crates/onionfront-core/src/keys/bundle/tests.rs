//! Tests of [`super::KeyBundle`] and its file: round trips, equality with what the identity key
//! gives, coverage, and the file-level refusals with their messages (certificate refusals:
//! `tests_certs.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::keys::SigningKeys;
use crate::main_descriptor::{self, revision};
use crate::period::PeriodParams;

/// 2027-01-15T08:00:00Z.
const FROM_SECS: u64 = 1_800_000_000;

pub(super) fn key() -> ServiceKey {
    ServiceKey::from_seed(&[7u8; 32])
}

pub(super) fn from() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(FROM_SECS)
}

/// Three days of daily periods with the live network's offset (12 hours).
pub(super) fn bundle() -> KeyBundle {
    KeyBundle::provision(
        &key(),
        from(),
        from() + Duration::from_secs(3 * 86_400),
        1440,
        12 * 3600,
    )
    .unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// The message of parsing `data` as the bundle file `b`.
pub(super) fn parse_err(data: &[u8]) -> String {
    KeyBundle::parse(data, Path::new("b"))
        .unwrap_err()
        .to_string()
}

#[test]
fn provisioned_periods_are_certified_and_carry_the_identitys_ope_keys() {
    let key = key();
    let bundle = bundle();
    let until = from() + Duration::from_secs(3 * 86_400);
    assert_eq!(bundle.address(), key.address());
    assert_eq!(bundle.len(), 4);
    assert!(bundle.coverage_start() <= from() && bundle.coverage_end() >= until);
    for p in bundle.periods() {
        let (_, blinded, _) = key.keypair().compute_blinded_key(p.period).unwrap();
        assert_eq!(
            p.ope_bytes(),
            revision::OpeKey::from_blinded(&blinded).as_bytes()
        );
        assert_eq!(p.cert_expiry(), p.period.range().unwrap().end + CERT_MARGIN);
    }
    // Each period has its own signing key.
    let seeds: std::collections::BTreeSet<[u8; 32]> =
        bundle.periods().map(|p| *p.desc_sign_seed()).collect();
    assert_eq!(seeds.len(), 4);
    assert_eq!(
        bundle.exposure_end(),
        bundle.coverage_end() + Duration::from_secs(12 * 3600)
    );
}

#[test]
fn file_round_trip() {
    let bundle = bundle();
    let text = bundle.encode();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "onionfront-key-bundle v2");
    assert_eq!(lines[1], format!("address {}", key().address()));
    let first = bundle.periods().next().unwrap().period;
    assert!(lines[2].starts_with(&format!(
        "ks_hs_desc_sign+{}_1440_43200 ",
        first.interval_num()
    )));
    assert_eq!(lines[2].split(' ').count(), 4);
    assert!(lines[6].starts_with("end 4 "), "{}", lines[6]);
    assert_eq!(lines[6].len(), "end 4 ".len() + 64);
    assert_eq!(lines.len(), 7);
    assert!(looks_like_bundle(text.as_bytes()));

    let parsed = KeyBundle::parse(text.as_bytes(), Path::new("b")).unwrap();
    assert_eq!(parsed.address(), bundle.address());
    assert_eq!(parsed.len(), bundle.len());
    for (a, b) in parsed.periods().zip(bundle.periods()) {
        assert_eq!(a.period, b.period);
        assert_eq!(a.desc_sign_seed(), b.desc_sign_seed());
        assert_eq!(a.cert(), b.cert());
        assert_eq!(a.cert_expiry(), b.cert_expiry());
        assert_eq!(a.ope_bytes(), b.ope_bytes());
    }
    // Encoding is deterministic: the parsed bundle writes the same file.
    assert_eq!(*parsed.encode(), *text);
    // Windows line endings are read too.
    let crlf = text.replace('\n', "\r\n");
    assert_eq!(
        KeyBundle::parse(crlf.as_bytes(), Path::new("b"))
            .unwrap()
            .len(),
        4
    );
}

#[test]
fn write_new_then_load() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bundle");
    let bundle = bundle();
    bundle.write_new(&p).unwrap();
    let mode = fs::metadata(&p).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let loaded = KeyBundle::load(&p).unwrap();
    assert_eq!(*loaded.encode(), *bundle.encode());
    // Never overwrites.
    let err = bundle.write_new(&p).unwrap_err();
    assert!(matches!(err, KeyError::Exists { .. }), "{err}");
}

/// What the scheduler needs from a period is the same whether it comes from the bundle or from
/// the identity key: the blinded id HSDirs store the descriptor under, the subcredential and
/// the revision counter (descriptors built from each: main_descriptor's tests).
#[test]
fn descriptor_inputs_equal_those_of_the_identity() {
    let key = key();
    let bundle = SigningKeys::Bundle(std::sync::Arc::new(bundle()));
    let identity = SigningKeys::Identity(key.shared_keypair());
    let SigningKeys::Bundle(b) = &bundle else {
        unreachable!()
    };
    for p in b.periods() {
        let params = PeriodParams {
            time_period: p.period,
            srv_start: p.period.range().unwrap().start - Duration::from_secs(12 * 3600),
        };
        assert_eq!(
            main_descriptor::blinded_id(&bundle, &params),
            main_descriptor::blinded_id(&identity, &params)
        );
        let now = params.srv_start + Duration::from_secs(3600);
        let from_bundle = bundle.signer(p.period, now).unwrap();
        let from_identity = identity.signer(p.period, now).unwrap();
        assert_eq!(from_bundle.blinded_public, from_identity.blinded_public);
        assert_eq!(
            from_bundle.subcredential.as_ref(),
            from_identity.subcredential.as_ref()
        );
        assert_eq!(from_bundle.cert_expiry, p.cert_expiry());
        for secs in [0, 1, 3600, 86_399, 129_600] {
            let at = params.srv_start + Duration::from_secs(secs);
            assert_eq!(
                main_descriptor::revision_counter(&bundle, &params, at),
                main_descriptor::revision_counter(&identity, &params, at)
            );
            assert!(main_descriptor::revision_counter(&bundle, &params, at).is_some());
        }
    }
}

/// A bundled certificate is not used past its expiry.
#[test]
fn an_expired_certificate_is_not_used() {
    let bundle = SigningKeys::Bundle(std::sync::Arc::new(bundle()));
    let SigningKeys::Bundle(b) = &bundle else {
        unreachable!()
    };
    let p = b.periods().next().unwrap();
    let num = p.period.interval_num();
    assert!(
        bundle
            .signer(p.period, p.cert_expiry() - Duration::from_secs(1))
            .is_ok()
    );
    assert_eq!(
        bundle.signer(p.period, p.cert_expiry()).err(),
        Some(crate::keys::NotCovered::CertificateExpired(num))
    );
}

#[test]
fn provision_count_and_bad_parameters() {
    let first = KeyBundle::period_containing(from(), 60, 600).unwrap();
    let b = KeyBundle::provision_count(&key(), first, 5).unwrap();
    assert_eq!(b.len(), 5);
    assert_eq!(b.periods().next().unwrap().period, first);
    assert!(b.period_at(from()).is_some());
    assert_eq!(
        KeyBundle::provision_count(&key(), first, 0).unwrap().len(),
        1
    );
    assert_eq!(
        KeyBundle::period_containing(from(), 4, 0)
            .unwrap_err()
            .to_string(),
        "a time period length of 4 minutes is outside 5..=14400 (the consensus's bounds)"
    );
}

#[test]
fn partial_coverage() {
    let bundle = bundle();
    let first = bundle.periods().next().unwrap().period;
    let last = bundle.periods().last().unwrap().period;
    let before = first.prev().unwrap();
    let after = last.next().unwrap();
    assert!(bundle.covers(first) && bundle.covers(last));
    assert!(!bundle.covers(before) && !bundle.covers(after));
    assert!(bundle.period(after).is_none());
    // Same number, another length: a different period.
    let other_length = TimePeriod::from_parts(60, first.interval_num(), 12 * 3600);
    assert!(!bundle.covers(other_length));
    assert_eq!(bundle.coverage_start(), first.range().unwrap().start);
    assert_eq!(bundle.coverage_end(), last.range().unwrap().end);
    assert_eq!(
        bundle.period_at(from()).map(|p| p.period),
        TimePeriod::new(
            Duration::from_secs(86_400),
            from(),
            Duration::from_secs(12 * 3600)
        )
        .ok()
    );
    assert!(bundle.period_at(after.range().unwrap().start).is_none());
}

#[test]
fn refuses_truncated_files() {
    let text = bundle().encode();
    // Cut in the middle of a key line.
    let mid = text.find("ks_hs_desc_sign").unwrap() + 40;
    assert_eq!(
        parse_err(&text.as_bytes()[..mid]),
        "b, line 3: invalid key bundle: the line is cut short (no newline at its end): the \
         file is truncated"
    );
    // Cut at a line boundary, after two periods.
    let boundary = text.match_indices('\n').nth(3).unwrap().0 + 1;
    assert_eq!(
        parse_err(&text.as_bytes()[..boundary]),
        "b, line 5: invalid key bundle: the file ends before its `end` line after 2 time \
         periods: it is truncated"
    );
    // The `end` line without its newline.
    assert_eq!(
        parse_err(&text.as_bytes()[..text.len() - 1]),
        "b, line 7: invalid key bundle: the line is cut short (no newline at its end): the \
         file is truncated"
    );
    // A line lost in the middle.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(3);
    let lost = lines.join("\n") + "\n";
    assert_eq!(
        parse_err(lost.as_bytes()),
        "b, line 6: invalid key bundle: the `end` line says 4 time periods but the file holds \
         3: lines were lost or added"
    );
}

#[test]
fn refuses_bad_content_with_its_line() {
    let text = bundle().encode().to_string();
    let lines: Vec<&str> = text.lines().collect();
    let with_line = |i: usize, new: &str| {
        let mut l = lines.clone();
        l[i] = new;
        l.join("\n") + "\n"
    };
    let fields: Vec<&str> = lines[2].split(' ').collect();
    let (slug, seed, cert, ope) = (fields[0], fields[1], fields[2], fields[3]);
    let num = slug[16..].split('_').next().unwrap();
    let msg = |what: &str, of: &str| {
        format!(
            "b, line 3: invalid key bundle: the {what} of period {num} is not standard base64 of {of}"
        )
    };
    assert_eq!(
        parse_err(with_line(2, &format!("{slug} not*base64 {cert} {ope}")).as_bytes()),
        msg("descriptor-signing key", "32 bytes")
    );
    // 64 bytes instead of 32.
    assert_eq!(
        parse_err(with_line(2, &format!("{slug} {seed} {cert} {STANDARD_64}")).as_bytes()),
        msg("OPE key", "32 bytes")
    );
    assert_eq!(
        parse_err(with_line(2, &format!("{slug} {seed} *{cert} {ope}")).as_bytes()),
        msg("certificate", "at most 512 bytes")
    );
    // A field missing.
    assert!(
        parse_err(with_line(2, &format!("{slug} {seed} {cert}")).as_bytes())
            .starts_with("b, line 3: invalid key bundle: expected `ks_hs_desc_sign+")
    );
    // The same period twice.
    let dup = with_line(3, lines[2]);
    assert_eq!(
        parse_err(dup.as_bytes()),
        format!("b, line 4: invalid key bundle: time period #{num} appears twice")
    );
    // Mixed lengths.
    let (slug4, key4) = lines[3].split_once(' ').unwrap();
    let hourly = slug4.replace("_1440_", "_60_");
    assert_eq!(
        parse_err(with_line(3, &format!("{hourly} {key4}")).as_bytes()),
        "b, line 4: invalid key bundle: time periods of different lengths (1440 and 60 minutes)"
    );
    // A length no consensus allows (and that would overflow in Arti's arithmetic).
    let huge = slug4.replace("_1440_", "_4000000000_");
    assert_eq!(
        parse_err(with_line(3, &format!("{huge} {key4}")).as_bytes()),
        format!(
            "b, line 4: invalid key bundle: the period {:?} has an invalid length (the \
             consensus allows 5 to 14400 minutes)",
            &huge[16..]
        )
    );
    assert_eq!(
        parse_err(with_line(1, "address nope.onion").as_bytes()),
        "b, line 2: invalid key bundle: invalid address: expected 56 base32 characters \
         (optionally followed by .onion), found 4"
    );
    // Unknown lines never quote the line (it may hold a secret).
    assert_eq!(
        parse_err(with_line(2, "secret-stuff").as_bytes()),
        "b, line 3: invalid key bundle: expected `ks_hs_desc_sign+<period>_<length>_<offset> \
         <signing key> <certificate> <OPE key>` or `end <count> <checksum>`"
    );
    // Content after `end`.
    let extra = format!("{text}# more\n");
    assert_eq!(
        parse_err(extra.as_bytes()),
        "b, line 8: invalid key bundle: unexpected content after the `end` line"
    );
    // No period at all.
    let head = format!("{}\n{}\n", lines[0], lines[1]);
    let sum = data_encoding::HEXLOWER.encode(
        &<tor_llcrypto::d::Sha3_256 as digest::Digest>::digest(head.as_bytes()),
    );
    let empty = format!("{head}end 0 {sum}\n");
    assert_eq!(
        parse_err(empty.as_bytes()),
        "b, line 3: invalid key bundle: the bundle holds no time period"
    );
}

/// 64 zero bytes in base64.
const STANDARD_64: &str =
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

#[test]
fn refuses_other_versions_and_other_files() {
    let text = bundle().encode().to_string();
    let v3 = text.replacen("v2", "v3", 1);
    assert!(looks_like_bundle(v3.as_bytes()));
    assert_eq!(
        parse_err(v3.as_bytes()),
        "b, line 1: invalid key bundle: unsupported bundle version \"v3\": this onionfront \
         reads `onionfront-key-bundle v2` (made by another onionfront version?)"
    );
    assert_eq!(
        parse_err(b""),
        "b, line 1: invalid key bundle: the file is empty"
    );
    assert!(!looks_like_bundle(b""));
    assert!(!looks_like_bundle(b"onionfront-key-bundles v1\n"));
    assert_eq!(
        parse_err(&key().ctor_secret_file()),
        "b, line 1: invalid key bundle: this is an identity key file, not a key bundle (make \
         one with `onionfront keys provision`)"
    );
    assert_eq!(
        parse_err(b"hello\n"),
        "b, line 1: invalid key bundle: not a key bundle: the first line must be \
         `onionfront-key-bundle v2`"
    );
}

#[test]
fn load_refuses_loose_permissions_and_huge_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = bundle().encode();
    let p = write(dir.path(), "b0644", text.as_bytes(), 0o644);
    assert_eq!(
        KeyBundle::load(&p).unwrap_err().to_string(),
        format!(
            "key file {0} is accessible by group or others (mode 0644); run `chmod 600 {0}`",
            p.display()
        )
    );
    assert_eq!(
        KeyBundle::load_with(&p, PermissionCheck::Permissive)
            .unwrap()
            .len(),
        4
    );
    let huge = fs::File::create(dir.path().join("huge")).unwrap();
    huge.set_len(format::MAX_BUNDLE_FILE + 1).unwrap();
    let err =
        KeyBundle::load_with(&dir.path().join("huge"), PermissionCheck::Permissive).unwrap_err();
    assert!(matches!(err, KeyError::BundleTooLarge { .. }), "{err}");
}

/// Old code paths that load an identity key say clearly that they were given a bundle, whether
/// it is small (parsed) or larger than any key file (refused by size).
#[test]
fn service_key_refuses_a_bundle_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let small = write(dir.path(), "small", bundle().encode().as_bytes(), 0o600);
    let year = KeyBundle::provision(
        &key(),
        from(),
        from() + Duration::from_secs(365 * 86_400),
        1440,
        12 * 3600,
    )
    .unwrap();
    let large = write(dir.path(), "large", year.encode().as_bytes(), 0o600);
    assert!(fs::metadata(&large).unwrap().len() > crate::keys::file::MAX_KEY_FILE);
    for p in [&small, &large] {
        let err = ServiceKey::load(p).unwrap_err();
        assert!(matches!(err, KeyError::BundleGiven { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{} is an onionfront key bundle (signing keys for a limited range of time \
                 periods), not an identity key; this needs the identity key itself (C tor's \
                 hs_ed25519_secret_key or Onionbalance's PEM key)",
                p.display()
            )
        );
    }
    assert_eq!(year.len(), 366);
    // A large file that is not a bundle is still an unknown format, as before.
    let big = write(dir.path(), "big", &[b'x'; 20_000], 0o600);
    let err = ServiceKey::load(&big).unwrap_err();
    assert!(matches!(err, KeyError::UnknownFormat { .. }), "{err:?}");
}
