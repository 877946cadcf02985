//! Onion service v3 addresses: parsing with precise errors, and display.
//!
//! An address is `base32(PUBKEY | CHECKSUM | VERSION)` (56 characters) plus `.onion`, where
//! `CHECKSUM = SHA3-256(".onion checksum" | PUBKEY | VERSION)[..2]` and `VERSION = 3`.

use std::fmt;
use std::str::FromStr;

use digest::Digest;
use tor_hscrypto::pk::{HsId, HsIdKey};
use tor_llcrypto::d::Sha3_256;

/// Why a string is not a valid v3 onion address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not 56 base32 characters (with or without `.onion`).
    #[error("expected 56 base32 characters (optionally followed by .onion), found {0}")]
    Length(usize),
    /// A character outside the base32 alphabet `a-z2-7`.
    #[error("character {0:?} at position {1} is not base32 (a-z, 2-7)")]
    Base32(char, usize),
    /// The version byte is not 3.
    #[error("version byte is {0}, only v3 onion addresses (version 3) are supported")]
    Version(u8),
    /// The checksum does not match: a typo, most likely.
    #[error("checksum mismatch: the address is mistyped or truncated")]
    Checksum,
    /// The embedded key is not a valid ed25519 point.
    #[error("the embedded public key is not a valid ed25519 key")]
    Key,
}

/// A checked v3 onion address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OnionAddress {
    /// The ed25519 identity public key.
    key: [u8; 32],
}

impl OnionAddress {
    /// The address of the identity key `key` (32 bytes of an ed25519 public key).
    pub fn from_public_key(key: [u8; 32]) -> Self {
        OnionAddress { key }
    }

    /// The identity public key bytes.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.key
    }

    /// Arti's identity type.
    pub fn hs_id(&self) -> HsId {
        HsId::from(self.key)
    }

    /// Arti's identity public key (for blinding), if the point is valid (it is, once parsed).
    pub fn hs_id_key(&self) -> Result<HsIdKey, AddressError> {
        HsIdKey::try_from(self.hs_id()).map_err(|_| AddressError::Key)
    }

    /// The 56-character label, without `.onion`.
    pub fn label(&self) -> String {
        let mut bytes = Vec::with_capacity(35);
        bytes.extend_from_slice(&self.key);
        bytes.extend_from_slice(&checksum(&self.key, 3));
        bytes.push(3);
        data_encoding::BASE32_NOPAD
            .encode(&bytes)
            .to_ascii_lowercase()
    }

    /// A short form for logs: the first 8 characters and `….onion`.
    pub fn short(&self) -> String {
        let label = self.label();
        format!("{}….onion", &label[..8])
    }
}

fn checksum(key: &[u8; 32], version: u8) -> [u8; 2] {
    let mut h = Sha3_256::new();
    h.update(b".onion checksum");
    h.update(key);
    h.update([version]);
    let out = h.finalize();
    [out[0], out[1]]
}

impl FromStr for OnionAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let label = lower.strip_suffix(".onion").unwrap_or(&lower);
        let label = label.to_string();
        if label.chars().count() != 56 {
            return Err(AddressError::Length(label.chars().count()));
        }
        if let Some((i, c)) = label
            .chars()
            .enumerate()
            .find(|(_, c)| !matches!(c, 'a'..='z' | '2'..='7'))
        {
            return Err(AddressError::Base32(c, i + 1));
        }
        let bytes = data_encoding::BASE32_NOPAD
            .decode(label.to_ascii_uppercase().as_bytes())
            .map_err(|_| AddressError::Length(56))?;
        // 56 base32 chars decode to exactly 35 bytes.
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[..32]);
        let version = bytes[34];
        if version != 3 {
            return Err(AddressError::Version(version));
        }
        if checksum(&key, version) != [bytes[32], bytes[33]] {
            return Err(AddressError::Checksum);
        }
        let addr = OnionAddress { key };
        addr.hs_id_key()?;
        Ok(addr)
    }
}

impl fmt::Display for OnionAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.onion", self.label())
    }
}

impl fmt::Debug for OnionAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OnionAddress({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A fixed known-answer vector (seed -> address) lives in the keys tests.
    #[test]
    fn round_trip_and_errors() {
        let kp = tor_llcrypto::pk::ed25519::Keypair::from_bytes(&[1u8; 32]);
        let addr2 = OnionAddress::from_public_key(kp.verifying_key().to_bytes());
        let s = addr2.to_string();
        assert_eq!(s.parse::<OnionAddress>(), Ok(addr2));
        assert_eq!(s.to_uppercase().parse::<OnionAddress>(), Ok(addr2));
        assert_eq!(addr2.label().parse::<OnionAddress>(), Ok(addr2));
        assert_eq!(
            "abc.onion".parse::<OnionAddress>(),
            Err(AddressError::Length(3))
        );
        let mut bad = addr2.label();
        bad.replace_range(0..1, "1");
        assert_eq!(
            bad.parse::<OnionAddress>(),
            Err(AddressError::Base32('1', 1))
        );
        // Flip one character: checksum (or key) error.
        let mut typo = addr2.label().into_bytes();
        typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        assert!(matches!(
            typo.parse::<OnionAddress>(),
            Err(AddressError::Checksum) | Err(AddressError::Key)
        ));
    }
}
