//! The main (public) onion service key, made by the harness: C tor's `hs_ed25519_secret_key`
//! format and the v3 address derivation of rend-spec, so tests do not depend on
//! `onionfront keygen` (see [`crate::onionfront::keygen`] for that path).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha512};
use sha3::Sha3_256;

use crate::torrc::mkdir_private;

/// Header of C tor's `hs_ed25519_secret_key` (32 bytes, NUL padded).
pub const SECRET_HEADER: &[u8; 32] = b"== ed25519v1-secret: type0 ==\0\0\0";
/// Header of C tor's `hs_ed25519_public_key` (32 bytes, NUL padded).
pub const PUBLIC_HEADER: &[u8; 32] = b"== ed25519v1-public: type0 ==\0\0\0";

/// A main onion service identity written to disk.
#[derive(Debug, Clone)]
pub struct MainKey {
    /// The folder holding the key files.
    pub dir: PathBuf,
    /// `hs_ed25519_secret_key` (C tor format): the `key:` of onionfront's config.
    pub key_path: PathBuf,
    /// The address, `xxx.onion`.
    pub address: String,
}

/// The v3 onion address (`xxx.onion`) of an ed25519 public key (rend-spec-v3 §6).
pub fn onion_address(pubkey: &[u8; 32]) -> String {
    let mut h = Sha3_256::new();
    h.update(b".onion checksum");
    h.update(pubkey);
    h.update([0x03]);
    let sum = h.finalize();
    let mut raw = Vec::with_capacity(35);
    raw.extend_from_slice(pubkey);
    raw.extend_from_slice(&sum[..2]);
    raw.push(0x03);
    format!(
        "{}.onion",
        data_encoding::BASE32_NOPAD.encode(&raw).to_lowercase()
    )
}

/// The public key inside a v3 address (checks version and checksum).
pub fn address_pubkey(address: &str) -> Result<[u8; 32]> {
    let label = address.trim_end_matches(".onion").to_uppercase();
    let raw = data_encoding::BASE32_NOPAD
        .decode(label.as_bytes())
        .map_err(|e| anyhow!("bad onion address {address:?}: {e}"))?;
    if raw.len() != 35 || raw[34] != 0x03 {
        bail!("bad onion address {address:?}: not v3");
    }
    let mut pk = [0u8; 32];
    pk.copy_from_slice(&raw[..32]);
    if onion_address(&pk) != format!("{}.onion", label.to_lowercase()) {
        bail!("bad onion address {address:?}: checksum");
    }
    Ok(pk)
}

/// Ed25519 expanded secret key (clamped scalar ‖ hash prefix) and public key of a 32-byte seed.
pub fn expand_seed(seed: &[u8; 32]) -> ([u8; 64], [u8; 32]) {
    let mut expanded = [0u8; 64];
    expanded.copy_from_slice(&Sha512::digest(seed));
    expanded[0] &= 248;
    expanded[31] &= 63;
    expanded[31] |= 64;
    let public = ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes();
    (expanded, public)
}

/// Generate a fresh main key in `dir` (created, mode 0700): `hs_ed25519_secret_key`,
/// `hs_ed25519_public_key` and `hostname`, as C tor lays out a HiddenServiceDir.
pub fn generate(dir: &Path) -> Result<MainKey> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("reading /dev/urandom")?;
    write_from_seed(dir, &seed)
}

/// Like [`generate`], from a given seed (deterministic, for tests).
pub fn write_from_seed(dir: &Path, seed: &[u8; 32]) -> Result<MainKey> {
    mkdir_private(dir)?;
    let (expanded, public) = expand_seed(seed);
    let address = onion_address(&public);
    let mut secret = SECRET_HEADER.to_vec();
    secret.extend_from_slice(&expanded);
    let mut public_file = PUBLIC_HEADER.to_vec();
    public_file.extend_from_slice(&public);
    let key_path = dir.join("hs_ed25519_secret_key");
    std::fs::write(&key_path, secret)?;
    std::fs::write(dir.join("hs_ed25519_public_key"), public_file)?;
    std::fs::write(dir.join("hostname"), format!("{address}\n"))?;
    Ok(MainKey {
        dir: dir.to_path_buf(),
        key_path,
        address,
    })
}

/// The address recorded by C tor in a HiddenServiceDir's `hs_ed25519_public_key`.
pub fn address_of_public_key_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() != 64 || &bytes[..32] != PUBLIC_HEADER {
        bail!("{} is not a C tor ed25519 public key file", path.display());
    }
    let mut pk = [0u8; 32];
    pk.copy_from_slice(&bytes[32..]);
    Ok(onion_address(&pk))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let k = write_from_seed(&dir.path().join("main"), &[7u8; 32]).expect("write");
        assert_eq!(k.address.len(), 56 + 6);
        let pk = address_pubkey(&k.address).expect("parse");
        assert_eq!(onion_address(&pk), k.address);
        assert_eq!(
            address_of_public_key_file(&k.dir.join("hs_ed25519_public_key")).expect("read"),
            k.address
        );
        let secret = std::fs::read(&k.key_path).expect("read");
        assert_eq!(secret.len(), 96);
        assert_eq!(&secret[..32], SECRET_HEADER);
    }

    #[test]
    fn known_address() {
        // A well-known real v3 address: the checksum must verify.
        let pk = address_pubkey("duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion")
            .expect("valid address");
        assert_eq!(
            onion_address(&pk),
            "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"
        );
    }
}
