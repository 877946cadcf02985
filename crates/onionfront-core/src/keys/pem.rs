//! Onionbalance's key format: an unencrypted PKCS#8 Ed25519 private key in PEM
//! (`-----BEGIN PRIVATE KEY-----`), as `onionbalance-config` and Python's `cryptography` write it.
//!
//! The PEM armour (one `PRIVATE KEY` block, no headers, CRLF and leading whitespace tolerated)
//! is read here; the DER inside is decoded by the `pkcs8` crate (RFC 5208 `PrivateKeyInfo` and
//! the RFC 5958 v2 form that also carries the public key; the public key must then match the
//! seed, which the caller checks). The algorithm must be Ed25519 (RFC 8410, OID 1.3.101.112)
//! and the private key a 32-byte seed. Every buffer that holds key material is zeroed on drop
//! and sized up front, so that no reallocation leaves a copy behind.

use base64::Engine as _;
use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::{Decode as _, Encode as _};
use pkcs8::{AlgorithmIdentifierRef, ObjectIdentifier, PrivateKeyInfo};
use zeroize::Zeroizing;

/// The Ed25519 algorithm (RFC 8410).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// Its DER encoding, to tell "an Ed25519 key in another layout" from "another algorithm" when
/// the DER does not decode.
const ED25519_OID_DER: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// Length of the DER of a PKCS#8 v1 Ed25519 key.
const V1_DER_LEN: usize = 48;

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";

/// True if `data` looks like PEM (after leading whitespace).
pub(crate) fn looks_like_pem(data: &[u8]) -> bool {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    data[start..].starts_with(BEGIN.as_bytes())
}

/// A seed with the public key the file claims, if it says one.
pub(crate) struct PemKey {
    /// The 32-byte Ed25519 seed.
    pub seed: Zeroizing<[u8; 32]>,
    /// The public key, for the v2 form.
    pub public: Option<[u8; 32]>,
}

impl std::fmt::Debug for PemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PemKey(..)")
    }
}

/// The Ed25519 seed in a PEM file, or what is wrong with it.
pub(crate) fn parse(data: &[u8]) -> Result<PemKey, String> {
    let text = std::str::from_utf8(data).map_err(|_| "the PEM text is not UTF-8".to_string())?;
    let text = text.trim_start();
    let first = text.lines().next().unwrap_or_default().trim_end();
    let label = first
        .strip_prefix(BEGIN)
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| "the first line is not a PEM \"-----BEGIN ...-----\" line".to_string())?;
    match label {
        "PRIVATE KEY" => {}
        "ENCRYPTED PRIVATE KEY" => {
            return Err(
                "encrypted PEM keys are not supported (Onionbalance does not support \
                        them either); decrypt it with `openssl pkey -in FILE -out NEWFILE`"
                    .into(),
            );
        }
        "RSA PRIVATE KEY" => {
            return Err("this is an RSA key (v2 onion services); only v3 Ed25519 keys work".into());
        }
        other => {
            return Err(format!(
                "the PEM block is \"{other}\", expected \"PRIVATE KEY\" (an Ed25519 PKCS#8 key)"
            ));
        }
    }
    // Sized for the whole text up front: `push_str` never reallocates (a reallocation would
    // leave an unzeroed copy of the key behind).
    let mut body = Zeroizing::new(String::with_capacity(text.len()));
    let mut ended = false;
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line.starts_with(END) {
            if line != "-----END PRIVATE KEY-----" {
                return Err(format!("the PEM block ends with {line:?}"));
            }
            ended = true;
            break;
        }
        if line.contains(':') {
            return Err("PEM headers (encryption) are not supported".into());
        }
        body.push_str(line);
    }
    if !ended {
        return Err("missing \"-----END PRIVATE KEY-----\"".into());
    }
    let der = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("the PEM body is not base64: {e}"))?,
    );
    parse_der(&der)
}

fn parse_der(der: &[u8]) -> Result<PemKey, String> {
    let Ok(info) = PrivateKeyInfo::from_der(der) else {
        return Err(
            if der
                .windows(ED25519_OID_DER.len())
                .any(|w| w == ED25519_OID_DER)
            {
                "an Ed25519 key, but not in the PKCS#8 layout onionfront reads".into()
            } else {
                "not an Ed25519 key (another algorithm)".into()
            },
        );
    };
    if info.algorithm.oid != ED25519 {
        return Err("not an Ed25519 key (another algorithm)".into());
    }
    let layout = || "an Ed25519 key, but not in the PKCS#8 layout onionfront reads".to_string();
    if info.algorithm.parameters.is_some() {
        return Err(layout());
    }
    // RFC 8410: the private key is itself an OCTET STRING holding the 32-byte seed.
    let inner = OctetStringRef::from_der(info.private_key).map_err(|_| layout())?;
    let mut seed = Zeroizing::new([0u8; 32]);
    if inner.as_bytes().len() != seed.len() {
        return Err(layout());
    }
    seed.copy_from_slice(inner.as_bytes());
    let public = match info.public_key {
        None => None,
        Some(p) => Some(<[u8; 32]>::try_from(p).map_err(|_| layout())?),
    };
    Ok(PemKey { seed, public })
}

/// The PEM text (PKCS#8 v1, unencrypted) of the Ed25519 key with `seed`, as Onionbalance writes it.
pub(crate) fn encode(seed: &[u8; 32]) -> Zeroizing<String> {
    // CurvePrivateKey ::= OCTET STRING (the seed), itself the PKCS#8 privateKey.
    let mut inner = Zeroizing::new([0u8; 34]);
    inner[0] = 0x04;
    inner[1] = 0x20;
    inner[2..].copy_from_slice(seed);
    let info = PrivateKeyInfo::new(
        AlgorithmIdentifierRef {
            oid: ED25519,
            parameters: None,
        },
        &inner[..],
    );
    let mut der = Zeroizing::new([0u8; V1_DER_LEN]);
    // The layout is fixed: this cannot fail, and an empty key would be refused when read back.
    let der_len = info
        .encode_to_slice(&mut der[..])
        .map(<[u8]>::len)
        .unwrap_or(0);
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&der[..der_len]));
    let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 64));
    out.push_str("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let seed = [5u8; 32];
        let text = encode(&seed);
        assert!(looks_like_pem(text.as_bytes()));
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(*parsed.seed, seed);
        assert_eq!(parsed.public, None);
    }

    #[test]
    fn errors() {
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(
            parse(enc.as_bytes())
                .unwrap_err()
                .starts_with("encrypted PEM keys")
        );
        let rsa = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(parse(rsa.as_bytes()).unwrap_err().contains("RSA"));
        let trunc = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n";
        assert_eq!(
            parse(trunc.as_bytes()).unwrap_err(),
            "missing \"-----END PRIVATE KEY-----\""
        );
        let bad64 = "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
        assert!(
            parse(bad64.as_bytes())
                .unwrap_err()
                .starts_with("the PEM body is not base64")
        );
        // An X25519 key (OID 1.3.101.110) is another algorithm.
        let x25519 = "-----BEGIN PRIVATE KEY-----\n\
                      MC4CAQAwBQYDK2VuBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\
                      -----END PRIVATE KEY-----\n";
        assert_eq!(
            parse(x25519.as_bytes()).unwrap_err(),
            "not an Ed25519 key (another algorithm)"
        );
    }
}
