//! C tor's padding for a descriptor Arti built, so main descriptors have the sizes of C tor
//! services' descriptors.
//!
//! Arti's `HsDescBuilder` pads the superencrypted plaintext to a multiple of 10 240 bytes and
//! writes one fake `auth-client` line; C tor pads to a multiple of 10 000 bytes
//! (`compute_padded_plaintext_length`) and writes `auth-client` lines in multiples of 16 (16 fake
//! ones without restricted discovery), shuffled. HSDirs see the descriptor size, so an Arti-padded
//! descriptor stands out among C tor ones (one padding block: 14.4 kB instead of 14.1 kB; 20
//! IPv4-only intro points: 28.3 kB instead of 41.2 kB, since C tor's 16 `auth-client` lines push
//! the middle layer past 20 000 bytes). This module rewraps Arti's output the C tor way:
//! decrypt the superencrypted layer (we hold its keys), add fake `auth-client` lines up to a
//! multiple of 16, shuffle them, pad with NULs to a multiple of 10 000, encrypt with a fresh salt,
//! and re-sign the outer document with the same descriptor-signing key. The inner (encrypted)
//! layer, the certificates and the revision counter are untouched.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use rand::seq::SliceRandom;
use rand::{CryptoRng, Rng, RngExt as _};
use tor_llcrypto::pk::ed25519;

use super::layer_crypto::{LayerKeys, SUPERENCRYPTED_CONST};
use super::size::{AUTH_CLIENT_MULTIPLE, padded_len};
use crate::descriptor::outer_text::{encode_object, split_outer};

/// Prefix signed with the outer document (rend-spec-v3 2.4).
const SIGNATURE_PREFIX: &[u8] = b"Tor onion service descriptor sig v3";

/// Why rewrapping failed: Arti's output was not what this module expects (a bug, after an Arti
/// upgrade most likely).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply C tor padding to the built descriptor: {0}")]
pub struct RepadError(&'static str);

/// What rewrapping needs: the first layer's keys and the descriptor-signing key.
pub struct Rewrap<'a> {
    /// KP_hs_blind_id.
    pub blinded_key: &'a [u8; 32],
    /// The subcredential of the period.
    pub subcredential: &'a [u8; 32],
    /// The descriptor's revision counter.
    pub revision: u64,
    /// KS_hs_desc_sign.
    pub desc_sign: &'a ed25519::Keypair,
}

impl Rewrap<'_> {
    /// Rewrap `arti_text` with C tor's padding and auth-client lines.
    pub fn apply<R: Rng + CryptoRng>(
        &self,
        arti_text: &str,
        rng: &mut R,
    ) -> Result<String, RepadError> {
        let split = split_outer(arti_text).ok_or(RepadError("no superencrypted object"))?;
        let blob = object_bytes(&arti_text[split.blob_start..split.blob_end])
            .ok_or(RepadError("superencrypted object is not base64"))?;
        let keys = LayerKeys {
            blinded_key: self.blinded_key,
            subcredential: self.subcredential,
            revision: self.revision,
            string_const: SUPERENCRYPTED_CONST,
        };
        let middle = keys
            .decrypt(&blob)
            .ok_or(RepadError("superencrypted layer does not decrypt"))?;
        let end = middle.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
        let middle = std::str::from_utf8(&middle[..end])
            .map_err(|_| RepadError("middle layer not UTF-8"))?;
        let mut middle = with_c_tor_auth_clients(middle, rng)?.into_bytes();
        middle.resize(padded_len(middle.len()), 0);

        let salt: [u8; 16] = rng.random();
        let blob = keys.encrypt(salt, &middle);
        let mut out = String::with_capacity(arti_text.len());
        out.push_str(&arti_text[..split.blob_start]);
        out.push_str(&encode_object("MESSAGE", &blob));
        let mut signed = SIGNATURE_PREFIX.to_vec();
        signed.extend_from_slice(out.as_bytes());
        let sig = self.desc_sign.sign(&signed);
        out.push_str("signature ");
        out.push_str(&STANDARD_NO_PAD.encode(sig.to_bytes()));
        out.push('\n');
        Ok(out)
    }
}

/// The bytes of a BEGIN/END object given as text.
fn object_bytes(object: &str) -> Option<Vec<u8>> {
    let b64: String = object
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    STANDARD.decode(b64.as_bytes()).ok()
}

/// `middle` with its `auth-client` lines completed with fake ones to a multiple of 16 and
/// shuffled (C tor's `build_service_desc_superencrypted`).
fn with_c_tor_auth_clients<R: Rng + CryptoRng>(
    middle: &str,
    rng: &mut R,
) -> Result<String, RepadError> {
    let lines: Vec<&str> = middle.lines().collect();
    let first = lines
        .iter()
        .position(|l| l.starts_with("auth-client "))
        .ok_or(RepadError("no auth-client line"))?;
    let count = lines[first..]
        .iter()
        .take_while(|l| l.starts_with("auth-client "))
        .count();
    let mut clients: Vec<String> = lines[first..first + count]
        .iter()
        .map(|l| l.to_string())
        .collect();
    // Arti writes one fake line when restricted discovery is off, and one line per client
    // otherwise: both cases come out right by rounding up to a multiple of 16.
    let wanted = count.div_ceil(AUTH_CLIENT_MULTIPLE) * AUTH_CLIENT_MULTIPLE;
    while clients.len() < wanted {
        clients.push(fake_auth_client(rng));
    }
    clients.shuffle(rng);

    let mut out = String::with_capacity(middle.len() + (wanted - count) * 80);
    for l in &lines[..first] {
        out.push_str(l);
        out.push('\n');
    }
    for l in &clients {
        out.push_str(l);
        out.push('\n');
    }
    for l in &lines[first + count..] {
        out.push_str(l);
        out.push('\n');
    }
    Ok(out)
}

/// A fake `auth-client` line: random client id, IV and encrypted cookie
/// (C tor's `hs_desc_build_fake_authorized_client`).
fn fake_auth_client<R: Rng + CryptoRng>(rng: &mut R) -> String {
    let id: [u8; 8] = rng.random();
    let iv: [u8; 16] = rng.random();
    let cookie: [u8; 16] = rng.random();
    format!(
        "auth-client {} {} {}",
        STANDARD.encode(id),
        STANDARD.encode(iv),
        STANDARD.encode(cookie)
    )
}
