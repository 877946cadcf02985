//! Exact size of a main descriptor as [`super::build_main_descriptor`] encodes it, computed from
//! the intro points without building anything. Selection uses it to stay under the HSDirs' size
//! limit; tests check it against real builds byte for byte.
//!
//! Layout (lengths in bytes; every certificate is a 140-byte ed25519 cert with a signing-key
//! extension, base64 in 64-character lines):
//! - inner plaintext: `create2-formats 2`, optional `flow-control`, then per intro point
//!   `introduction-point`, `onion-key`, `auth-key` + cert, `enc-key`, `enc-key-cert` + cert;
//! - middle plaintext: `desc-auth-type`, `desc-auth-ephemeral-key`, the `auth-client` lines
//!   (a multiple of 16, as C tor), `encrypted` + the inner blob (salt 16 + inner + MAC 32);
//! - padded middle: rounded up to a multiple of 10 000 (C tor's
//!   `compute_padded_plaintext_length`);
//! - outer document: header items, the signing cert, `revision-counter`, `superencrypted` +
//!   blob (salt + padded middle + MAC), `signature`.

use tor_bytes::Writer as _;
use tor_netdoc::doc::hsdesc::IntroPointDesc;
use tor_protover::Protocols;

/// C tor's `HS_DESC_SUPERENC_PLAINTEXT_PAD_MULTIPLE`.
pub const PAD_MULTIPLE: usize = 10_000;
/// C tor's `HS_DESC_AUTH_CLIENT_MULTIPLE`: `auth-client` lines come in multiples of 16.
pub const AUTH_CLIENT_MULTIPLE: usize = 16;
/// Encoded ed25519 certificate with a signing-key extension.
const CERT_LEN: usize = 140;
/// Salt + MAC around an encrypted layer.
const LAYER_OVERHEAD: usize = 16 + 32;
/// One `auth-client` line: keyword, 8-, 16- and 16-byte values in padded base64.
const AUTH_CLIENT_LINE: usize = "auth-client ".len() + 12 + 1 + 24 + 1 + 24 + 1;
/// Upper bound for the inner header (`create2-formats` + any `flow-control` line).
pub const INNER_HEADER_MAX: usize = 18 + 64;

/// Length of standard (padded) base64 of `n` bytes.
fn b64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Length of a BEGIN/END object with `label` holding `n` bytes.
fn object_len(label: &str, n: usize) -> usize {
    let b = b64_len(n);
    "-----BEGIN ".len()
        + label.len()
        + "-----\n".len()
        + b
        + b.div_ceil(64)
        + "-----END ".len()
        + label.len()
        + "-----\n".len()
}

/// Encoded length of the link specifier list of `ipt` (count byte + type/length/body each).
fn link_specifiers_len(ipt: &IntroPointDesc) -> usize {
    let mut buf: Vec<u8> = Vec::new();
    buf.write_u8(0);
    for ls in ipt.link_specifiers() {
        // Writing to a Vec only fails for bodies over 255 bytes, which no parsed or built link
        // specifier has; count such a one at its maximum.
        if buf.write(ls).is_err() {
            buf.extend_from_slice(&[0; 257]);
        }
    }
    buf.len()
}

/// Bytes one intro point adds to the inner plaintext.
pub fn intro_point_len(ipt: &IntroPointDesc) -> usize {
    let cert = object_len("ED25519 CERT", CERT_LEN);
    ("introduction-point ".len() + b64_len(link_specifiers_len(ipt)) + 1)
        + ("onion-key ntor ".len() + 44 + 1)
        + ("auth-key\n".len() + cert)
        + ("enc-key ntor ".len() + 44 + 1)
        + ("enc-key-cert\n".len() + cert)
}

/// The `flow-control` argument actually emitted: FlowCtrl versions 1-2 present in `p`.
pub(crate) fn flowctrl_versions(p: &Protocols) -> Option<String> {
    let all = Protocols::from_kind_and_versions(tor_protover::ProtoKind::FlowCtrl, "1-2").ok()?;
    let common = all.intersection(p);
    let s = common.to_string();
    let v = s.strip_prefix("FlowCtrl=")?;
    (!v.is_empty()).then(|| v.to_string())
}

/// Length of the inner header for a given `flow-control` line.
pub fn inner_header_len(flow_control: Option<&(Protocols, u8)>) -> usize {
    let create2 = "create2-formats 2\n".len();
    let fc = flow_control
        .and_then(|(p, inc)| {
            let v = flowctrl_versions(p)?;
            Some("flow-control ".len() + v.len() + 1 + inc.to_string().len() + 1)
        })
        .unwrap_or(0);
    create2 + fc
}

/// Number of `auth-client` lines for `clients` authorized clients (16 fake ones without
/// restricted discovery; otherwise rounded up to a multiple of 16 with fake ones).
pub fn auth_client_lines(clients: usize) -> usize {
    clients.div_ceil(AUTH_CLIENT_MULTIPLE).max(1) * AUTH_CLIENT_MULTIPLE
}

/// Length of the middle plaintext, before padding, for an inner plaintext of `inner_len`.
pub fn middle_len(inner_len: usize, auth_clients: usize) -> usize {
    "desc-auth-type x25519\n".len()
        + ("desc-auth-ephemeral-key ".len() + 44 + 1)
        + auth_client_lines(auth_clients) * AUTH_CLIENT_LINE
        + "encrypted\n".len()
        + object_len("MESSAGE", inner_len + LAYER_OVERHEAD)
}

/// C tor's padding: round up to a multiple of [`PAD_MULTIPLE`].
pub fn padded_len(middle_len: usize) -> usize {
    middle_len.div_ceil(PAD_MULTIPLE) * PAD_MULTIPLE
}

/// Length of the whole descriptor for a padded middle of `padded`.
pub fn outer_len(padded: usize, lifetime_minutes: u16, revision: u64) -> usize {
    "hs-descriptor 3\n".len()
        + ("descriptor-lifetime ".len() + lifetime_minutes.to_string().len() + 1)
        + ("descriptor-signing-key-cert\n".len() + object_len("ED25519 CERT", CERT_LEN))
        + ("revision-counter ".len() + revision.to_string().len() + 1)
        + ("superencrypted\n".len() + object_len("MESSAGE", padded + LAYER_OVERHEAD))
        + ("signature ".len() + 86 + 1)
}

/// Exact descriptor length for these contents.
pub fn descriptor_len(
    intro_points: &[IntroPointDesc],
    flow_control: Option<&(Protocols, u8)>,
    auth_clients: usize,
    lifetime_minutes: u16,
    revision: u64,
) -> usize {
    let inner =
        inner_header_len(flow_control) + intro_points.iter().map(intro_point_len).sum::<usize>();
    outer_len(
        padded_len(middle_len(inner, auth_clients)),
        lifetime_minutes,
        revision,
    )
}

/// Conservative descriptor length for an inner plaintext of `inner_len` (largest lifetime and
/// revision counter encodings).
pub fn descriptor_len_bound(inner_len: usize, auth_clients: usize) -> usize {
    outer_len(
        padded_len(middle_len(inner_len, auth_clients)),
        720,
        u64::MAX,
    )
}

/// The largest sum of [`intro_point_len`] that fits under `max_size` with `auth_clients`
/// authorized clients and any `flow-control` line (0 if nothing fits).
pub fn intro_budget(max_size: usize, auth_clients: usize) -> usize {
    // descriptor_len_bound is monotonic in inner_len: binary search the largest that fits.
    let fits = |inner: usize| descriptor_len_bound(inner, auth_clients) <= max_size;
    if !fits(INNER_HEADER_MAX) {
        return 0;
    }
    let (mut lo, mut hi) = (INNER_HEADER_MAX, INNER_HEADER_MAX.max(max_size));
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo - INNER_HEADER_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_rule() {
        assert_eq!(padded_len(1), 10_000);
        assert_eq!(padded_len(10_000), 10_000);
        assert_eq!(padded_len(10_001), 20_000);
        assert_eq!(auth_client_lines(0), 16);
        assert_eq!(auth_client_lines(16), 16);
        assert_eq!(auth_client_lines(17), 32);
    }

    #[test]
    fn budget_is_tight() {
        for limit in [20_000, 30_000, 50_000] {
            let b = intro_budget(limit, 0);
            assert!(descriptor_len_bound(b + INNER_HEADER_MAX, 0) <= limit);
            assert!(descriptor_len_bound(b + INNER_HEADER_MAX + 1, 0) > limit);
        }
        assert_eq!(intro_budget(1000, 0), 0);
    }
}
