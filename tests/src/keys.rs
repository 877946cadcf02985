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

/// A restricted-discovery (client authorization) x25519 key pair, base32 as C tor writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuthKey {
    /// Public key, 52 characters of uppercase base32 without padding.
    pub public_b32: String,
    /// Private key, same encoding.
    pub private_b32: String,
}

impl ClientAuthKey {
    /// The service side: `descriptor:x25519:<public>` (an `authorized-clients:` entry, and the
    /// line of C tor's `authorized_clients/<name>.auth`).
    pub fn auth_line(&self) -> String {
        format!("descriptor:x25519:{}", self.public_b32)
    }

    /// The client side: `<address without .onion>:descriptor:x25519:<private>`, the contents of
    /// a `<name>.auth_private` file in C tor's `ClientOnionAuthDir`.
    pub fn auth_private_line(&self, onion_address: &str) -> String {
        format!(
            "{}:descriptor:x25519:{}",
            onion_address.trim_end_matches(".onion"),
            self.private_b32
        )
    }

    /// Write `<dir>/<name>.auth_private` for `onion_address` (dir created with mode 0700, as
    /// tor wants).
    pub fn write_auth_private(&self, dir: &Path, name: &str, onion_address: &str) -> Result<()> {
        mkdir_private(dir)?;
        std::fs::write(
            dir.join(format!("{name}.auth_private")),
            self.auth_private_line(onion_address) + "\n",
        )?;
        Ok(())
    }
}

/// A fresh x25519 key pair for restricted discovery.
pub fn generate_client_auth() -> Result<ClientAuthKey> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("reading /dev/urandom")?;
    Ok(client_auth_from_seed(&seed))
}

/// The x25519 key pair derived from a 32-byte seed: the clamped ed25519 secret scalar is the
/// x25519 private key, and the ed25519 public key's Montgomery form is its x25519 public key
/// (same scalar times the same base point), so no x25519 library is needed.
pub fn client_auth_from_seed(seed: &[u8; 32]) -> ClientAuthKey {
    let signing = ed25519_dalek::SigningKey::from_bytes(seed);
    let private = signing.to_scalar_bytes();
    let public = signing.verifying_key().to_montgomery().to_bytes();
    ClientAuthKey {
        public_b32: data_encoding::BASE32_NOPAD.encode(&public),
        private_b32: data_encoding::BASE32_NOPAD.encode(&private),
    }
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

    fn b32(s: &str) -> [u8; 32] {
        let v = data_encoding::BASE32_NOPAD
            .decode(s.as_bytes())
            .expect("base32");
        <[u8; 32]>::try_from(v.as_slice()).expect("32 bytes")
    }

    #[test]
    fn client_auth_keys_agree_like_x25519() {
        // X25519 itself (RFC 7748 §6.1, Alice): the Montgomery ladder reached through
        // ed25519-dalek computes X25519 (the point type is only reachable as a value).
        let mut base = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32])
            .verifying_key()
            .to_montgomery();
        base.0 = [0u8; 32];
        base.0[0] = 9;
        let alice_private = data_encoding::HEXLOWER
            .decode(b"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
            .expect("hex");
        let alice_private = <[u8; 32]>::try_from(alice_private.as_slice()).expect("32");
        assert_eq!(
            data_encoding::HEXLOWER.encode(&base.mul_clamped(alice_private).0),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
        // Our pairs: public = X25519(private, 9), so two of them agree on a shared secret.
        let (a, b) = (
            client_auth_from_seed(&[9u8; 32]),
            client_auth_from_seed(&[10u8; 32]),
        );
        assert_eq!(base.mul_clamped(b32(&a.private_b32)).0, b32(&a.public_b32));
        let mut pa = base;
        pa.0 = b32(&a.public_b32);
        let mut pb = base;
        pb.0 = b32(&b.public_b32);
        assert_eq!(
            pa.mul_clamped(b32(&b.private_b32)),
            pb.mul_clamped(b32(&a.private_b32))
        );
        assert_eq!(a.public_b32.len(), 52);
        assert!(a.auth_line().starts_with("descriptor:x25519:"));
        assert!(
            a.auth_private_line("abc.onion")
                .starts_with("abc:descriptor:x25519:")
        );
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
