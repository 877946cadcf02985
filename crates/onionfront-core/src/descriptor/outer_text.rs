//! Reading (and, for the builder, rewriting) the plaintext outer layer of a v3 descriptor as
//! text: the few fields Arti's `HsDesc` does not expose (`descriptor-lifetime`, the blinded key
//! in the signing certificate) and the boundaries of the `superencrypted` object.
//!
//! These helpers never decide validity on their own: validation is Arti's parser. They serve
//! diagnostics (which period a mismatching blinded key belongs to) and read values from text
//! that Arti has already authenticated.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Keyword line of the signing certificate.
const SIGNING_CERT_KW: &str = "descriptor-signing-key-cert";
/// Keyword line of the superencrypted blob.
pub(crate) const SUPERENCRYPTED_KW: &str = "superencrypted";
/// Last line of a `MESSAGE` object.
pub(crate) const END_MESSAGE: &str = "-----END MESSAGE-----";

/// The argument of the first line starting with `keyword ` (the outer layer's items each appear
/// once, before `superencrypted`).
pub(crate) fn item_arg<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    text.lines()
        .take_while(|l| *l != SUPERENCRYPTED_KW)
        .find_map(|l| l.strip_prefix(keyword)?.strip_prefix(' '))
}

/// `descriptor-lifetime`, in minutes.
pub(crate) fn lifetime_minutes(text: &str) -> Option<u16> {
    item_arg(text, "descriptor-lifetime")?.trim().parse().ok()
}

/// The bytes of the object that follows the line `keyword` (base64 between BEGIN/END lines).
pub(crate) fn object_after(text: &str, keyword: &str) -> Option<Vec<u8>> {
    let mut lines = text.lines();
    lines.find(|l| *l == keyword)?;
    let begin = lines.next()?;
    if !begin.starts_with("-----BEGIN ") {
        return None;
    }
    let mut b64 = String::new();
    for l in lines {
        if l.starts_with("-----END ") {
            return STANDARD.decode(b64.as_bytes()).ok();
        }
        b64.push_str(l.trim());
    }
    None
}

/// The ed25519 key that signed the descriptor-signing certificate (the blinded key), read from
/// the certificate's signing-key extension without checking anything.
pub(crate) fn cert_blinded_key(text: &str) -> Option<[u8; 32]> {
    let cert = object_after(text, SIGNING_CERT_KW)?;
    let cert = tor_cert::Ed25519Cert::decode(&cert).ok()?;
    let cert = cert.should_have_signing_key().ok()?;
    let mut key = [0u8; 32];
    key.copy_from_slice(cert.peek_signing_key().as_bytes());
    Some(key)
}

/// Where the pieces of an outer document are, for rewriting its superencrypted blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OuterSplit {
    /// End of the `superencrypted` keyword line (start of the BEGIN MESSAGE line).
    pub(crate) blob_start: usize,
    /// End of the END MESSAGE line including its newline (start of the `signature` line).
    pub(crate) blob_end: usize,
}

/// Locate the superencrypted object and the signature line of an outer document.
pub(crate) fn split_outer(text: &str) -> Option<OuterSplit> {
    let kw = format!("\n{SUPERENCRYPTED_KW}\n");
    let blob_start = text.find(&kw)? + kw.len();
    let end_rel = text[blob_start..].find(END_MESSAGE)?;
    let mut blob_end = blob_start + end_rel + END_MESSAGE.len();
    if text[blob_end..].starts_with('\n') {
        blob_end += 1;
    } else {
        return None;
    }
    if !text[blob_end..].starts_with("signature ") {
        return None;
    }
    Some(OuterSplit {
        blob_start,
        blob_end,
    })
}

/// Encode `data` as a PEM-like object with `label`, 64-character lines, final newline (the
/// layout Arti's encoder and C tor both produce).
pub(crate) fn encode_object(label: &str, data: &[u8]) -> String {
    let b64 = STANDARD.encode(data);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}
