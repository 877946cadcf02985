//! Encryption of a descriptor layer (rend-spec-v3 `[HS-DESC-ENCRYPTION-KEYS]`), needed to
//! re-pad the superencrypted layer the C tor way (see [`super::repad`]).
//!
//! ```text
//! secret_input = SECRET_DATA | N_hs_subcred | INT_8(revision_counter)
//! keys = SHAKE-256(secret_input | salt | STRING_CONSTANT, 32 + 16 + 32)
//! blob = salt | AES-256-CTR(keys[0..32], iv = keys[32..48], plaintext) | MAC
//! MAC  = SHA3-256(INT_8(32) | MAC_KEY | INT_8(16) | salt | ciphertext)
//! ```

use cipher::{KeyIvInit, StreamCipher};
use digest::{Digest, ExtendableOutput, Update, XofReader};
use tor_llcrypto::cipher::aes::Aes256Ctr;
use tor_llcrypto::d::{Sha3_256, Shake256};
use zeroize::Zeroizing;

/// String constant of the superencrypted (first) layer.
pub(crate) const SUPERENCRYPTED_CONST: &[u8] = b"hsdir-superencrypted-data";
/// Salt length.
const SALT_LEN: usize = 16;
/// MAC length.
const MAC_LEN: usize = 32;

/// The key material of one layer: blinded key (`SECRET_DATA` of the first layer), subcredential
/// and revision counter.
pub(crate) struct LayerKeys<'a> {
    /// KP_hs_blind_id.
    pub(crate) blinded_key: &'a [u8; 32],
    /// N_hs_subcred.
    pub(crate) subcredential: &'a [u8; 32],
    /// The descriptor's revision counter.
    pub(crate) revision: u64,
    /// The layer's string constant.
    pub(crate) string_const: &'a [u8],
}

impl LayerKeys<'_> {
    /// Cipher and MAC state (after the salt) for `salt`.
    fn init(&self, salt: &[u8; SALT_LEN]) -> (Aes256Ctr, Sha3_256) {
        let mut kdf = Shake256::default();
        kdf.update(self.blinded_key);
        kdf.update(self.subcredential);
        kdf.update(&self.revision.to_be_bytes());
        kdf.update(salt);
        kdf.update(self.string_const);
        let mut xof = kdf.finalize_xof();
        let mut key = Zeroizing::new([0u8; 32]);
        let mut iv = Zeroizing::new([0u8; 16]);
        let mut mac_key = Zeroizing::new([0u8; 32]);
        xof.read(&mut key[..]);
        xof.read(&mut iv[..]);
        xof.read(&mut mac_key[..]);
        let cipher = Aes256Ctr::new((&*key).into(), (&*iv).into());
        let mut mac = Sha3_256::new();
        Digest::update(&mut mac, (mac_key.len() as u64).to_be_bytes());
        Digest::update(&mut mac, &mac_key[..]);
        Digest::update(&mut mac, (SALT_LEN as u64).to_be_bytes());
        Digest::update(&mut mac, salt);
        (cipher, mac)
    }

    /// Encrypt `plaintext` with a fresh `salt`.
    pub(crate) fn encrypt(&self, salt: [u8; SALT_LEN], plaintext: &[u8]) -> Vec<u8> {
        let (mut cipher, mut mac) = self.init(&salt);
        let mut out = Vec::with_capacity(SALT_LEN + plaintext.len() + MAC_LEN);
        out.extend_from_slice(&salt);
        out.extend_from_slice(plaintext);
        cipher.apply_keystream(&mut out[SALT_LEN..]);
        Digest::update(&mut mac, &out[SALT_LEN..]);
        out.extend_from_slice(&mac.finalize());
        out
    }

    /// Decrypt a blob made by [`encrypt`](Self::encrypt); `None` if it is too short or the MAC
    /// does not match.
    pub(crate) fn decrypt(&self, blob: &[u8]) -> Option<Vec<u8>> {
        if blob.len() < SALT_LEN + MAC_LEN {
            return None;
        }
        let (salt, rest) = blob.split_at(SALT_LEN);
        let (ciphertext, expected_mac) = rest.split_at(rest.len() - MAC_LEN);
        let salt: [u8; SALT_LEN] = salt.try_into().ok()?;
        let (mut cipher, mut mac) = self.init(&salt);
        Digest::update(&mut mac, ciphertext);
        let got = mac.finalize();
        // Not secret-dependent in a way that matters here (we made the blob ourselves), but
        // compare in constant time anyway.
        if !subtle_eq(got.as_slice(), expected_mac) {
            return None;
        }
        let mut plain = ciphertext.to_vec();
        cipher.apply_keystream(&mut plain);
        Some(plain)
    }
}

/// Constant-time equality of two byte strings of the same length.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let keys = LayerKeys {
            blinded_key: &[1; 32],
            subcredential: &[2; 32],
            revision: 7,
            string_const: SUPERENCRYPTED_CONST,
        };
        let blob = keys.encrypt([3; 16], b"hello world");
        assert_eq!(keys.decrypt(&blob).as_deref(), Some(&b"hello world"[..]));
        let mut bad = blob.clone();
        bad[20] ^= 1;
        assert_eq!(keys.decrypt(&bad), None);
        let other = LayerKeys {
            revision: 8,
            ..keys
        };
        assert_eq!(other.decrypt(&blob), None);
    }
}
