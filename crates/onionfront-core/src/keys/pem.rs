//! Onionbalance's key format: an unencrypted PKCS#8 Ed25519 private key in PEM
//! (`-----BEGIN PRIVATE KEY-----`), as `onionbalance-config` and Python's `cryptography` write it.
//!
//! The DER is the fixed 16-byte prefix `302e020100300506032b657004220420` followed by the 32-byte
//! seed. The PKCS#8 v2 form that also carries the public key (RFC 8410 `OneAsymmetricKey`) is
//! accepted too; the public key in it must match the seed.

use base64::Engine as _;
use zeroize::Zeroizing;

/// DER prefix of a PKCS#8 v1 Ed25519 private key (48 bytes in all).
const V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of a PKCS#8 v2 Ed25519 private key with the public key (83 bytes in all).
const V2_PREFIX: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// What follows the seed in the v2 form: `[1] BIT STRING (33 bytes, 0 unused bits)`.
const V2_PUBLIC_PREFIX: [u8; 3] = [0x81, 0x21, 0x00];
/// The Ed25519 algorithm identifier (OID 1.3.101.112), to tell "other algorithm" apart.
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

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
    let mut body = Zeroizing::new(String::new());
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
    let mut seed = Zeroizing::new([0u8; 32]);
    if der.len() == 48 && der[..16] == V1_PREFIX {
        seed.copy_from_slice(&der[16..]);
        return Ok(PemKey { seed, public: None });
    }
    if der.len() == 83 && der[..16] == V2_PREFIX && der[48..51] == V2_PUBLIC_PREFIX {
        seed.copy_from_slice(&der[16..48]);
        let mut public = [0u8; 32];
        public.copy_from_slice(&der[51..]);
        return Ok(PemKey {
            seed,
            public: Some(public),
        });
    }
    if der.windows(ED25519_OID.len()).any(|w| w == ED25519_OID) {
        Err("an Ed25519 key, but not in the PKCS#8 layout onionfront reads".into())
    } else {
        Err("not an Ed25519 key (another algorithm)".into())
    }
}

/// The PEM text (PKCS#8 v1, unencrypted) of the Ed25519 key with `seed`, as Onionbalance writes it.
pub(crate) fn encode(seed: &[u8; 32]) -> Zeroizing<String> {
    let mut der = Zeroizing::new(Vec::with_capacity(48));
    der.extend_from_slice(&V1_PREFIX);
    der.extend_from_slice(seed);
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*der));
    let mut out = Zeroizing::new(String::from("-----BEGIN PRIVATE KEY-----\n"));
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
