//! Decoding v3 onion service descriptors (rend-spec-v3 §2.4–2.5) as a C tor client fetched them,
//! independently of onionfront's code: the outer layer (revision counter, blinded key from the
//! signing key certificate), both encryption layers (SHAKE-256 key derivation, AES-256-CTR), and
//! the intro points of the inner layer (relay identities from the link specifiers, the auth key
//! that names the intro point at its relay).
//!
//! Only descriptors without restricted discovery are decrypted past the first layer. AES-256 is
//! implemented here (encryption direction only, for CTR mode; checked against FIPS-197) so the
//! crate needs no cipher dependency.

use anyhow::{Context, Result, anyhow, bail};
use sha3::digest::{ExtendableOutput, Update, XofReader};
use sha3::{Digest, Sha3_256, Shake256};

/// One intro point of a decoded descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntroPoint {
    /// RSA identity (legacy id link specifier) of its relay, uppercase hex.
    pub relay_rsa_id: Option<String>,
    /// Ed25519 identity of its relay, if listed.
    pub relay_ed_id: Option<[u8; 32]>,
    /// The intro point's auth key (`KP_hs_ipt_sid`, the certified key of `auth-key`): unique
    /// per intro point and kept by onionfront when it copies a backend's intro point.
    pub auth_key: [u8; 32],
}

/// What a decoded descriptor says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// `revision-counter`.
    pub revision: u64,
    /// The blinded key (from `descriptor-signing-key-cert`).
    pub blinded_key: [u8; 32],
    /// `auth-client` lines in the first layer (fake ones included when restricted discovery is
    /// off, as C tor pads with them).
    pub auth_clients: usize,
    /// The arguments of the inner layer's `flow-control` line (`"1-2 31"`: FlowCtrl versions
    /// and the SENDME increment), if it has one.
    pub flow_control: Option<String>,
    /// The intro points of the inner layer.
    pub intro_points: Vec<IntroPoint>,
}

/// Decode `text` (a descriptor of `onion_address`) down to its intro points.
pub fn decode(text: &str, onion_address: &str) -> Result<Decoded> {
    let pubkey = crate::keys::address_pubkey(onion_address)?;
    let revision = keyword_arg(text, "revision-counter")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| anyhow!("no revision-counter"))?;
    let cert = object_after(text, "descriptor-signing-key-cert")
        .ok_or_else(|| anyhow!("no descriptor-signing-key-cert"))?;
    let blinded_key = cert_signing_key(&cert).context("descriptor-signing-key-cert")?;
    let superencrypted =
        object_after(text, "superencrypted").ok_or_else(|| anyhow!("no superencrypted"))?;
    let subcred = subcredential(&pubkey, &blinded_key);
    let first = decrypt_layer(
        &superencrypted,
        &blinded_key,
        &subcred,
        revision,
        b"hsdir-superencrypted-data",
    )
    .context("first layer")?;
    let first = String::from_utf8_lossy(&first).into_owned();
    let auth_clients = first
        .lines()
        .filter(|l| l.starts_with("auth-client "))
        .count();
    let encrypted =
        object_after(&first, "encrypted").ok_or_else(|| anyhow!("no encrypted in layer 1"))?;
    let second = decrypt_layer(
        &encrypted,
        &blinded_key,
        &subcred,
        revision,
        b"hsdir-encrypted-data",
    )
    .context("second layer (restricted discovery is not supported here)")?;
    let second = String::from_utf8_lossy(&second).into_owned();
    if !second.starts_with("create2-formats") {
        bail!("the second layer does not decrypt to a descriptor (restricted discovery?)");
    }
    Ok(Decoded {
        revision,
        blinded_key,
        auth_clients,
        flow_control: keyword_arg(&second, "flow-control").map(|v| v.trim().to_owned()),
        intro_points: intro_points(&second)?,
    })
}

/// Have `client` fetch the descriptor of `onion_address` afresh from an HSDir (`HSFETCH`, after
/// purging its cache with NEWNYM if `purge`) and decode it. Polls the client's cache until the
/// descriptor arrives or `timeout` passes (a failed fetch is retried).
pub fn fetch(
    client: &crate::client::Client,
    onion_address: &str,
    purge: bool,
    timeout: std::time::Duration,
) -> Result<Decoded> {
    fetch_via(client, onion_address, None, purge, timeout)
}

/// Like [`fetch`], from the HSDir `hsdir` (`$FINGERPRINT`; `HSFETCH ... SERVER=`), after
/// purging the client's cache (it keeps a cached descriptor over one with a lower revision).
/// Shows what one given HSDir serves, e.g. each of the distinct descriptors.
pub fn fetch_from(
    client: &crate::client::Client,
    onion_address: &str,
    hsdir: &str,
    timeout: std::time::Duration,
) -> Result<Decoded> {
    fetch_via(client, onion_address, Some(hsdir), true, timeout)
}

fn fetch_via(
    client: &crate::client::Client,
    onion_address: &str,
    hsdir: Option<&str>,
    purge: bool,
    timeout: std::time::Duration,
) -> Result<Decoded> {
    let id = onion_address.trim_end_matches(".onion").to_owned();
    if purge {
        client.newnym()?;
    }
    let server = hsdir.map(|h| format!(" SERVER=${}", h.trim_start_matches('$')));
    let t0 = std::time::Instant::now();
    loop {
        client.control(&format!("HSFETCH {id}{}", server.as_deref().unwrap_or("")))?;
        let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while std::time::Instant::now() < until {
            if let Ok(text) = client.cached_descriptor(&id) {
                return decode(&text, &id)
                    .with_context(|| format!("decoding the descriptor of {id}"));
            }
            crate::wait::sleep(std::time::Duration::from_millis(300))?;
        }
        if t0.elapsed() >= timeout {
            bail!("no descriptor of {id} fetched within {timeout:?}");
        }
    }
}

/// For each intro point of `main`, the name of the backend (in `backends`: name, its decoded
/// descriptor) whose descriptor lists the same auth key, if any.
pub fn owners<'a>(main: &Decoded, backends: &'a [(String, Decoded)]) -> Vec<Option<&'a str>> {
    main.intro_points
        .iter()
        .map(|ip| {
            backends
                .iter()
                .find(|(_, d)| d.intro_points.iter().any(|b| b.auth_key == ip.auth_key))
                .map(|(n, _)| n.as_str())
        })
        .collect()
}

/// Whether no two intro points of `d` are on the same relay (by RSA identity).
pub fn one_per_relay(d: &Decoded) -> bool {
    let mut ids: Vec<&str> = d
        .intro_points
        .iter()
        .filter_map(|i| i.relay_rsa_id.as_deref())
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    ids.len() == n
}

fn intro_points(inner: &str) -> Result<Vec<IntroPoint>> {
    let mut out = Vec::new();
    let lines: Vec<&str> = inner.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let Some(ls) = l.strip_prefix("introduction-point ") else {
            continue;
        };
        let (relay_rsa_id, relay_ed_id) = link_specifiers(&b64(ls)?)?;
        // The auth-key certificate follows within this intro point's section.
        let rest = lines[i + 1..]
            .iter()
            .take_while(|l| !l.starts_with("introduction-point "))
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        let cert = object_after(&rest, "auth-key").ok_or_else(|| anyhow!("no auth-key"))?;
        let auth_key = cert_certified_key(&cert)?;
        out.push(IntroPoint {
            relay_rsa_id,
            relay_ed_id,
            auth_key,
        });
    }
    Ok(out)
}

/// (legacy RSA id as uppercase hex, ed25519 id) from an encoded link specifier list.
fn link_specifiers(raw: &[u8]) -> Result<(Option<String>, Option<[u8; 32]>)> {
    let n = *raw
        .first()
        .ok_or_else(|| anyhow!("empty link specifiers"))?;
    let mut pos = 1;
    let (mut rsa, mut ed) = (None, None);
    for _ in 0..n {
        let (t, len) = match raw.get(pos..pos + 2) {
            Some(h) => (h[0], usize::from(h[1])),
            None => bail!("truncated link specifiers"),
        };
        let body = raw
            .get(pos + 2..pos + 2 + len)
            .ok_or_else(|| anyhow!("truncated link specifier"))?;
        match (t, len) {
            (2, 20) => rsa = Some(data_encoding::HEXUPPER.encode(body)),
            (3, 32) => ed = <[u8; 32]>::try_from(body).ok(),
            _ => {}
        }
        pos += 2 + len;
    }
    Ok((rsa, ed))
}

/// The argument of the first line `keyword ARG`.
fn keyword_arg<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(keyword)?.strip_prefix(' '))
        .map(str::trim)
}

/// The decoded `-----BEGIN ...-----` object after the first line that is exactly `keyword`.
fn object_after(text: &str, keyword: &str) -> Option<Vec<u8>> {
    let mut lines = text.lines().skip_while(|l| l.trim_end() != keyword);
    lines.next()?;
    let begin = lines.next()?;
    if !begin.starts_with("-----BEGIN ") {
        return None;
    }
    let body: String = lines
        .take_while(|l| !l.starts_with("-----END "))
        .map(str::trim)
        .collect();
    b64(&body).ok()
}

/// Base64 with or without padding.
fn b64(s: &str) -> Result<Vec<u8>> {
    data_encoding::BASE64_NOPAD
        .decode(s.trim().trim_end_matches('=').as_bytes())
        .map_err(|e| anyhow!("bad base64: {e}"))
}

/// Certified key of a Tor ed25519 certificate (cert-spec §2.1).
fn cert_certified_key(cert: &[u8]) -> Result<[u8; 32]> {
    if cert.len() < 40 || cert[0] != 1 {
        bail!("not a version 1 ed25519 certificate");
    }
    <[u8; 32]>::try_from(&cert[7..39]).map_err(|_| anyhow!("short certificate"))
}

/// The signing key extension (type 4) of a Tor ed25519 certificate.
fn cert_signing_key(cert: &[u8]) -> Result<[u8; 32]> {
    cert_certified_key(cert)?;
    let n = cert[39];
    let mut pos = 40;
    for _ in 0..n {
        let h = cert
            .get(pos..pos + 4)
            .ok_or_else(|| anyhow!("truncated extension"))?;
        let len = usize::from(u16::from_be_bytes([h[0], h[1]]));
        let data = cert
            .get(pos + 4..pos + 4 + len)
            .ok_or_else(|| anyhow!("truncated extension"))?;
        if h[2] == 4 && len == 32 {
            return <[u8; 32]>::try_from(data).map_err(|_| anyhow!("bad extension"));
        }
        pos += 4 + len;
    }
    bail!("no signed-with-ed25519-key extension")
}

/// `N_hs_subcred` (rend-spec-v3 §2.1).
pub fn subcredential(pubkey: &[u8; 32], blinded: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha3_256::new();
    Digest::update(&mut h, b"credential");
    Digest::update(&mut h, pubkey);
    let cred = h.finalize();
    let mut h = Sha3_256::new();
    Digest::update(&mut h, b"subcredential");
    Digest::update(&mut h, cred);
    Digest::update(&mut h, blinded);
    h.finalize().into()
}

/// Decrypt one layer: `SALT (16) | ENCRYPTED | MAC (32)`, keys from SHAKE-256 over
/// `SECRET_DATA | subcredential | INT_8(revision) | SALT | constant` (rend-spec-v3 §2.5.3).
/// The MAC is not checked (C tor already did). Trailing NUL padding is removed.
fn decrypt_layer(
    blob: &[u8],
    secret_data: &[u8],
    subcred: &[u8; 32],
    revision: u64,
    constant: &[u8],
) -> Result<Vec<u8>> {
    if blob.len() < 16 + 32 {
        bail!("encrypted blob too short ({} bytes)", blob.len());
    }
    let (salt, rest) = blob.split_at(16);
    let ciphertext = &rest[..rest.len() - 32];
    let mut shake = Shake256::default();
    shake.update(secret_data);
    shake.update(subcred);
    shake.update(&revision.to_be_bytes());
    shake.update(salt);
    shake.update(constant);
    let mut keys = [0u8; 32 + 16 + 32];
    shake.finalize_xof().read(&mut keys);
    let mut key = [0u8; 32];
    key.copy_from_slice(&keys[..32]);
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&keys[32..48]);
    let mut out = ciphertext.to_vec();
    aes256_ctr(&key, &iv, &mut out);
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(out)
}

/// AES-256 in counter mode (128-bit big-endian counter starting at `iv`), in place.
pub fn aes256_ctr(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) {
    let aes = Aes256::new(key);
    let mut counter = u128::from_be_bytes(*iv);
    for chunk in data.chunks_mut(16) {
        let ks = aes.encrypt_block(counter.to_be_bytes());
        for (b, k) in chunk.iter_mut().zip(ks) {
            *b ^= k;
        }
        counter = counter.wrapping_add(1);
    }
}

/// AES-256, encryption only (FIPS-197), table-free except for the S-box computed at start.
struct Aes256 {
    round_keys: [[u8; 16]; 15],
    sbox: [u8; 256],
}

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
fn gmul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

fn make_sbox() -> [u8; 256] {
    let mut sbox = [0u8; 256];
    for (x, out) in sbox.iter_mut().enumerate() {
        let x = x as u8;
        // Multiplicative inverse (0 maps to 0): x^254.
        let mut inv = 1u8;
        if x == 0 {
            inv = 0;
        } else {
            for _ in 0..254 {
                inv = gmul(inv, x);
            }
        }
        let mut s = inv;
        for r in 1..5 {
            s ^= inv.rotate_left(r);
        }
        *out = s ^ 0x63;
    }
    sbox
}

impl Aes256 {
    fn new(key: &[u8; 32]) -> Aes256 {
        let sbox = make_sbox();
        let mut w = [[0u8; 4]; 60];
        for (i, word) in w.iter_mut().take(8).enumerate() {
            word.copy_from_slice(&key[4 * i..4 * i + 4]);
        }
        let mut rcon = 1u8;
        for i in 8..60 {
            let mut t = w[i - 1];
            if i % 8 == 0 {
                t = [
                    sbox[t[1] as usize],
                    sbox[t[2] as usize],
                    sbox[t[3] as usize],
                    sbox[t[0] as usize],
                ];
                t[0] ^= rcon;
                rcon = gmul(rcon, 2);
            } else if i % 8 == 4 {
                t = t.map(|b| sbox[b as usize]);
            }
            for j in 0..4 {
                w[i][j] = w[i - 8][j] ^ t[j];
            }
        }
        let mut round_keys = [[0u8; 16]; 15];
        for (r, rk) in round_keys.iter_mut().enumerate() {
            for c in 0..4 {
                rk[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
            }
        }
        Aes256 { round_keys, sbox }
    }

    fn encrypt_block(&self, mut s: [u8; 16]) -> [u8; 16] {
        let xor = |s: &mut [u8; 16], k: &[u8; 16]| {
            for (a, b) in s.iter_mut().zip(k) {
                *a ^= b;
            }
        };
        xor(&mut s, &self.round_keys[0]);
        for round in 1..15 {
            // SubBytes.
            for b in s.iter_mut() {
                *b = self.sbox[*b as usize];
            }
            // ShiftRows (state is column-major: s[4*c + r]).
            let t = s;
            for c in 0..4 {
                for r in 0..4 {
                    s[4 * c + r] = t[4 * ((c + r) % 4) + r];
                }
            }
            // MixColumns, except in the last round.
            if round != 14 {
                for c in 0..4 {
                    let a = [s[4 * c], s[4 * c + 1], s[4 * c + 2], s[4 * c + 3]];
                    s[4 * c] = gmul(a[0], 2) ^ gmul(a[1], 3) ^ a[2] ^ a[3];
                    s[4 * c + 1] = a[0] ^ gmul(a[1], 2) ^ gmul(a[2], 3) ^ a[3];
                    s[4 * c + 2] = a[0] ^ a[1] ^ gmul(a[2], 2) ^ gmul(a[3], 3);
                    s[4 * c + 3] = gmul(a[0], 3) ^ a[1] ^ a[2] ^ gmul(a[3], 2);
                }
            }
            xor(&mut s, &self.round_keys[round]);
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        data_encoding::HEXLOWER.decode(s.as_bytes()).expect("hex")
    }

    #[test]
    fn aes256_fips197() {
        // FIPS-197 appendix C.3.
        let key: [u8; 32] = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .try_into()
            .expect("32");
        let pt: [u8; 16] = hex("00112233445566778899aabbccddeeff")
            .try_into()
            .expect("16");
        let ct = Aes256::new(&key).encrypt_block(pt);
        assert_eq!(
            data_encoding::HEXLOWER.encode(&ct),
            "8ea2b7ca516745bfeafc49904b496089"
        );
    }

    #[test]
    fn aes256_ctr_sp800_38a() {
        // NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), first two blocks.
        let key: [u8; 32] = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
            .try_into()
            .expect("32");
        let iv: [u8; 16] = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
            .try_into()
            .expect("16");
        let mut data = hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        aes256_ctr(&key, &iv, &mut data);
        assert_eq!(
            data_encoding::HEXLOWER.encode(&data),
            "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
        );
    }

    #[test]
    fn parses_link_specifiers_and_certs() {
        let mut ls = vec![2u8, 0, 6, 127, 0, 0, 1, 0x1f, 0x90, 2, 20];
        ls.extend_from_slice(&[0xAB; 20]);
        let (rsa, ed) = link_specifiers(&ls).expect("parse");
        assert_eq!(rsa.as_deref(), Some("AB".repeat(20).as_str()));
        assert_eq!(ed, None);

        let mut cert = vec![1u8, 8, 0, 0, 0, 1, 1];
        cert.extend_from_slice(&[7u8; 32]);
        cert.push(1);
        cert.extend_from_slice(&[0, 32, 4, 0]);
        cert.extend_from_slice(&[9u8; 32]);
        cert.extend_from_slice(&[0u8; 64]);
        assert_eq!(cert_certified_key(&cert).expect("key"), [7u8; 32]);
        assert_eq!(cert_signing_key(&cert).expect("key"), [9u8; 32]);
    }
}
