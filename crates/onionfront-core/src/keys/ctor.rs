//! C tor's key file formats: `hs_ed25519_secret_key` (a 32-byte tag and the 64-byte expanded
//! secret key `a ‖ h`), `hs_ed25519_public_key` (a 32-byte tag and the public key) and `hostname`.

use zeroize::Zeroizing;

/// The 32-byte tag of C tor's `hs_ed25519_secret_key`.
pub const SECRET_TAG: &[u8; 32] = b"== ed25519v1-secret: type0 ==\0\0\0";
/// The 32-byte tag of C tor's `hs_ed25519_public_key`.
pub const PUBLIC_TAG: &[u8; 32] = b"== ed25519v1-public: type0 ==\0\0\0";
/// File name C tor uses for the secret key.
pub const SECRET_FILE: &str = "hs_ed25519_secret_key";
/// File name C tor uses for the public key.
pub const PUBLIC_FILE: &str = "hs_ed25519_public_key";
/// File name C tor uses for the address.
pub const HOSTNAME_FILE: &str = "hostname";

/// The meaningful part of the tags (what Onionbalance checks; C tor pads with NULs).
const SECRET_TAG_TEXT: &[u8] = b"== ed25519v1-secret: type0 ==";
const PUBLIC_TAG_TEXT: &[u8] = b"== ed25519v1-public: type0 ==";
/// Any C tor tagged file starts like this.
const SECRET_TAG_PREFIX: &[u8] = b"== ed25519v1-secret";

/// What a file's first bytes say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// A C tor secret key tag.
    Secret,
    /// A C tor public key tag.
    Public,
    /// Something else.
    Other,
}

/// Classify `data` by its C tor tag, if any.
pub(crate) fn sniff(data: &[u8]) -> Sniff {
    if data.starts_with(SECRET_TAG_PREFIX) {
        Sniff::Secret
    } else if data.starts_with(PUBLIC_TAG_TEXT) {
        Sniff::Public
    } else {
        Sniff::Other
    }
}

/// The 64-byte expanded secret key of an `hs_ed25519_secret_key` file, or what is wrong with it.
pub(crate) fn parse_secret(data: &[u8]) -> Result<Zeroizing<[u8; 64]>, String> {
    if data.len() != 96 {
        return Err(format!(
            "expected 96 bytes (32-byte tag and 64-byte key), found {}",
            data.len()
        ));
    }
    if !data.starts_with(SECRET_TAG_TEXT) {
        return Err("the tag is not \"== ed25519v1-secret: type0 ==\"".into());
    }
    let mut key = Zeroizing::new([0u8; 64]);
    key.copy_from_slice(&data[32..]);
    Ok(key)
}

/// The content of an `hs_ed25519_secret_key` file holding `expanded`.
pub(crate) fn encode_secret(expanded: &[u8; 64]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(96));
    out.extend_from_slice(SECRET_TAG);
    out.extend_from_slice(expanded);
    out
}

/// The content of an `hs_ed25519_public_key` file holding `public`.
pub(crate) fn encode_public(public: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(PUBLIC_TAG);
    out.extend_from_slice(public);
    out
}

/// The public key in an `hs_ed25519_public_key` file, if it is one.
pub fn parse_public(data: &[u8]) -> Option<[u8; 32]> {
    if data.len() != 64 || !data.starts_with(PUBLIC_TAG_TEXT) {
        return None;
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&data[32..]);
    Some(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_32_bytes_and_round_trip() {
        assert_eq!(SECRET_TAG.len(), 32);
        let key = [9u8; 64];
        let file = encode_secret(&key);
        assert_eq!(file.len(), 96);
        assert_eq!(sniff(&file), Sniff::Secret);
        assert_eq!(*parse_secret(&file).unwrap(), key);
        let public = encode_public(&[4u8; 32]);
        assert_eq!(sniff(&public), Sniff::Public);
        assert_eq!(parse_public(&public), Some([4u8; 32]));
    }

    #[test]
    fn bad_secret_files() {
        assert_eq!(
            parse_secret(&[0u8; 95]).unwrap_err(),
            "expected 96 bytes (32-byte tag and 64-byte key), found 95"
        );
        let mut file = encode_secret(&[1u8; 64]).to_vec();
        file[3] = b'X';
        assert_eq!(
            parse_secret(&file).unwrap_err(),
            "the tag is not \"== ed25519v1-secret: type0 ==\""
        );
    }
}
