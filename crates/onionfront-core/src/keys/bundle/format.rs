//! The key bundle file: a line-based, versioned text format, and its reader and writer.
//!
//! ```text
//! onionfront-key-bundle v2
//! address <56 base32 characters>.onion
//! ks_hs_desc_sign+<period number>_<length in minutes>_<offset in seconds> <seed> <cert> <ope>
//! ...one such line per time period...
//! end <number of periods> <checksum>
//! ```
//!
//! The rules, each checked when reading (a file breaking any is refused, with its line):
//! - the first line is the magic `onionfront-key-bundle` and the version, `v2`. `v1` is refused
//!   with its reason (it held blinded secret keys, which reveal the identity key: re-provision
//!   and destroy the old file); any other version is refused by name (a later format is never
//!   half-read);
//! - the `address` line is the identity public key as an onion address (its own checksum catches
//!   typos);
//! - a period line names the period as Arti's keystore names the descriptor-signing key
//!   (tor-hsservice's `DescSigningKeypairSpecifier`, `ks_hs_desc_sign+<num>_<len>_<offset>`, the
//!   three numbers being Arti's `TimePeriod` slug), then, in standard padded base64: the
//!   descriptor-signing key's 32-byte Ed25519 seed, its certificate (tor-cert's encoding, type
//!   08, as it appears in a descriptor's `descriptor-signing-key-cert`), and the period's 32-byte
//!   OPE key. No blinded secret key appears anywhere;
//! - every certificate must hold against the identity public key for its period (see the
//!   parent module's invariants), periods are unique, and all have the same length and offset;
//! - the last line is `end`, the number of periods and a checksum, and every line ends with a
//!   newline: a file cut anywhere, even at a line boundary, is refused as truncated;
//! - the checksum is the SHA3-256 (hex) of every line before `end`, each with a `\n`. It is
//!   needed because the OPE key cannot be checked against anything public, so a corrupted one
//!   would otherwise go unnoticed. It detects corruption, not forgery: whoever can rewrite the
//!   file already holds its keys.
//!
//! A line may end with `\r\n` (a file passed through a Windows editor); nothing else is lenient.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use digest::Digest as _;
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::d::Sha3_256;
use zeroize::Zeroizing;

use super::{BundlePeriod, Checker, KeyBundle};
use crate::address::OnionAddress;
use crate::keys::{KeyError, ctor, pem};

/// The first word of a bundle file.
pub const MAGIC: &str = "onionfront-key-bundle";
/// The version this onionfront writes and reads.
pub const VERSION: &str = "v2";
/// The first version, refused: it held blinded secret keys.
pub const VERSION_1: &str = "v1";
/// The prefix of a period line: the descriptor-signing key's name in Arti's keystore.
pub const KEY_NAME: &str = "ks_hs_desc_sign";

/// The largest bundle file read: a year of 5-minute periods (105 120 lines of about 330 bytes,
/// some 35 MB) fits with room to spare.
pub const MAX_BUNDLE_FILE: u64 = 64 * 1024 * 1024;

/// The longest certificate read, bytes (ours are 140: header, key, the signing-key extension,
/// signature; room for a few more extensions).
const MAX_CERT: usize = 512;

/// The length of one period line at most: keyword, three numbers, three base64 values.
const MAX_PERIOD_LINE: usize =
    KEY_NAME.len() + 1 + 20 + 1 + 10 + 1 + 10 + 1 + 44 + 1 + 192 + 1 + 44 + 1;

/// Whether `data` is a key bundle (of any version), by content: it starts with the magic.
pub fn looks_like_bundle(data: &[u8]) -> bool {
    data.strip_prefix(MAGIC.as_bytes())
        .is_some_and(|rest| rest.is_empty() || matches!(rest[0], b' ' | b'\n' | b'\r'))
}

/// The file's content for `bundle`, in a string that is zeroed when dropped (allocated once at
/// its final size, so no copy of the secrets is left behind by a reallocation).
pub(super) fn encode(bundle: &KeyBundle) -> Zeroizing<String> {
    let capacity = 128 + bundle.periods.len() * MAX_PERIOD_LINE;
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str(&format!(
        "{MAGIC} {VERSION}\naddress {}\n",
        bundle.address()
    ));
    for p in bundle.periods() {
        out.push_str(&format!(
            "{KEY_NAME}+{}_{}_{} ",
            p.period.interval_num(),
            p.period.length().as_minutes(),
            p.period.epoch_offset_in_sec()
        ));
        STANDARD.encode_string(p.desc_sign_seed(), &mut out);
        out.push(' ');
        STANDARD.encode_string(p.cert().as_ref() as &[u8], &mut out);
        out.push(' ');
        STANDARD.encode_string(p.ope_bytes(), &mut out);
        out.push('\n');
    }
    let checksum = data_encoding::HEXLOWER.encode(&Sha3_256::digest(out.as_bytes()));
    out.push_str(&format!("end {} {checksum}\n", bundle.periods.len()));
    out
}

/// Parse a bundle file's content (see the module docs); `path` is only for messages.
pub(super) fn parse(data: &[u8], path: &Path) -> Result<KeyBundle, KeyError> {
    let err = |line: usize, reason: String| KeyError::BundleMalformed {
        path: path.into(),
        line,
        reason,
    };
    if data.is_empty() {
        return Err(err(1, "the file is empty".into()));
    }
    if !looks_like_bundle(data) {
        let reason = if ctor::sniff(data) != ctor::Sniff::Other || pem::looks_like_pem(data) {
            "this is an identity key file, not a key bundle (make one with \
             `onionfront keys provision`)"
        } else {
            "not a key bundle: the first line must be `onionfront-key-bundle v2`"
        };
        return Err(err(1, reason.into()));
    }
    let mut lines = Lines::new(data);

    let (n, header) = lines.next_line().map_err(|(n, r)| err(n, r))?;
    let version = header.strip_prefix(MAGIC).unwrap_or_default().trim();
    if version == VERSION_1 {
        return Err(err(
            n,
            "this is a version 1 key bundle, which held blinded secret keys: each reveals the \
             identity secret key. Provision a new bundle with `onionfront keys provision`, and \
             destroy the old file and every copy of it"
                .into(),
        ));
    }
    if version != VERSION {
        return Err(err(
            n,
            format!(
                "unsupported bundle version {version:?}: this onionfront reads \
                 `{MAGIC} {VERSION}` (made by another onionfront version?)"
            ),
        ));
    }

    let (n, line) = lines.next_line().map_err(|(n, r)| err(n, r))?;
    let address = line.strip_prefix("address ").ok_or_else(|| {
        err(
            n,
            format!("expected `address <onion address>`, found {line:?}"),
        )
    })?;
    let address: OnionAddress = address
        .parse()
        .map_err(|e| err(n, format!("invalid address: {e}")))?;
    let identity = address
        .hs_id_key()
        .map_err(|e| err(n, format!("invalid address: {e}")))?;

    let mut checker = Checker::new(identity);
    loop {
        let (n, line) = lines.next_line().map_err(|(n, r)| {
            if r == END_OF_FILE {
                err(
                    n,
                    format!(
                        "the file ends before its `end` line after {} time periods: it is \
                         truncated",
                        checker.len()
                    ),
                )
            } else {
                err(n, r)
            }
        })?;
        if let Some(rest) = line.strip_prefix("end ") {
            let (count, checksum) = rest
                .split_once(' ')
                .and_then(|(c, sum)| Some((c.parse::<usize>().ok()?, sum)))
                .ok_or_else(|| {
                    err(
                        n,
                        format!("expected `end <number of periods> <checksum>`, found {line:?}"),
                    )
                })?;
            if count != checker.len() {
                return Err(err(
                    n,
                    format!(
                        "the `end` line says {count} time periods but the file holds {}: lines \
                         were lost or added",
                        checker.len()
                    ),
                ));
            }
            let expected = data_encoding::HEXLOWER.encode(&lines.hasher.clone().finalize());
            if checksum != expected {
                return Err(err(
                    n,
                    "the checksum does not match the content: the file was altered or \
                     corrupted"
                        .into(),
                ));
            }
            let bundle = checker.finish().map_err(|e| err(n, e.to_string()))?;
            if let Some(extra) = lines.remaining_line() {
                return Err(err(extra, "unexpected content after the `end` line".into()));
            }
            return Ok(bundle);
        }
        let period = parse_period_line(line).map_err(|r| err(n, r))?;
        checker.add(period).map_err(|e| err(n, e.to_string()))?;
    }
}

/// A period line's period and keys, or what is wrong with it.
fn parse_period_line(line: &str) -> Result<BundlePeriod, String> {
    let unexpected = || {
        // Never quote the line: it holds a secret key.
        format!(
            "expected `{KEY_NAME}+<period>_<length>_<offset> <signing key> <certificate> <OPE \
             key>` or `end <count> <checksum>`"
        )
    };
    let rest = line
        .strip_prefix(KEY_NAME)
        .and_then(|r| r.strip_prefix('+'))
        .ok_or_else(unexpected)?;
    let mut fields = rest.split(' ');
    let (Some(slug), Some(seed), Some(cert), Some(ope), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(unexpected());
    };
    let mut parts = slug.split('_');
    let (Some(num), Some(len), Some(offset), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "the period {slug:?} is not <number>_<length in minutes>_<offset in seconds>"
        ));
    };
    let bad = |what: &str| format!("the period {slug:?} has an invalid {what}");
    let num: u64 = num.parse().map_err(|_| bad("number"))?;
    let len: u32 = len.parse().map_err(|_| bad("length"))?;
    let offset: u32 = offset.parse().map_err(|_| bad("offset"))?;
    if !super::PERIOD_LENGTHS.contains(&len) {
        return Err(bad("length (the consensus allows 5 to 14400 minutes)"));
    }
    let period = TimePeriod::from_parts(len, num, offset);
    if period.range().is_err() {
        return Err(format!(
            "the period {slug:?} is out of the representable time range"
        ));
    }
    let seed = decode_key(seed).ok_or_else(|| {
        format!("the descriptor-signing key of period {num} is not standard base64 of 32 bytes")
    })?;
    let ope = decode_key(ope)
        .ok_or_else(|| format!("the OPE key of period {num} is not standard base64 of 32 bytes"))?;
    let cert = STANDARD
        .decode(cert)
        .ok()
        .filter(|c| c.len() <= MAX_CERT)
        .ok_or_else(|| {
            format!(
                "the certificate of period {num} is not standard base64 of at most {MAX_CERT} bytes"
            )
        })?;
    Ok(BundlePeriod::from_parts(period, seed, &cert, ope))
}

/// A 32-byte secret from padded base64, decoded through a scratch buffer that is zeroed when
/// dropped straight into its final place on the heap (no copy of the secret is left behind).
fn decode_key(text: &str) -> Option<Box<Zeroizing<[u8; 32]>>> {
    // 44 characters of padded base64 decode to 32 bytes; the estimate base64 needs for room is 33.
    let mut scratch = Zeroizing::new([0u8; 34]);
    let decoded = STANDARD.decode_slice(text.as_bytes(), &mut *scratch).ok()?;
    if decoded != 32 {
        return None;
    }
    let mut key = Box::new(Zeroizing::new([0u8; 32]));
    key.copy_from_slice(&scratch[..32]);
    Some(key)
}

/// The reason [`Lines::next_line`] gives at the end of the file.
const END_OF_FILE: &str = "end of file";

/// The lines of a bundle file with their numbers (1-based), each required to end with a newline,
/// and the checksum of the lines before the current one.
struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
    /// SHA3-256 of every line returned before the last one, each with `\n`.
    hasher: Sha3_256,
    /// The last line returned (hashed when the next is asked for).
    last: &'a [u8],
}

impl<'a> Lines<'a> {
    fn new(data: &'a [u8]) -> Lines<'a> {
        Lines {
            rest: data,
            number: 0,
            hasher: Sha3_256::new(),
            last: &[],
        }
    }

    /// The next line without its newline, or the line number and what is wrong: the file ended
    /// ([`END_OF_FILE`]), the line has no newline (cut short), or it is not UTF-8.
    fn next_line(&mut self) -> Result<(usize, &'a str), (usize, String)> {
        if self.number > 0 {
            self.hasher.update(self.last);
            self.hasher.update(b"\n");
        }
        self.number += 1;
        let n = self.number;
        if self.rest.is_empty() {
            return Err((n, END_OF_FILE.into()));
        }
        let Some(end) = self.rest.iter().position(|b| *b == b'\n') else {
            return Err((
                n,
                "the line is cut short (no newline at its end): the file is truncated".into(),
            ));
        };
        let (line, rest) = self.rest.split_at(end);
        self.rest = &rest[1..];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        self.last = line;
        let line =
            std::str::from_utf8(line).map_err(|_| (n, "the line is not UTF-8 text".into()))?;
        Ok((n, line))
    }

    /// The number of the next line, if anything follows.
    fn remaining_line(&self) -> Option<usize> {
        (!self.rest.is_empty()).then_some(self.number + 1)
    }
}
