//! Which relay an intro point is on, from its link specifiers.
//!
//! A C tor client uses only the first intro point it finds on a given relay, so a descriptor
//! carries at most one per relay. Relays are identified by their RSA and ed25519 identity link
//! specifiers; two intro points are on the same relay if they share either.

use tor_linkspec::LinkSpec;
use tor_netdoc::doc::hsdesc::IntroPointDesc;

/// One identity of a relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RelayKey {
    /// RSA identity (SHA-1 fingerprint).
    Rsa([u8; 20]),
    /// Ed25519 identity.
    Ed([u8; 32]),
    /// No identity link specifier: identified by the intro point's own key, so it conflicts with
    /// nothing else.
    Unknown([u8; 32]),
}

/// The identities of the relay `ipt` is on (at least one).
pub fn relay_keys(ipt: &IntroPointDesc) -> Vec<RelayKey> {
    let mut keys: Vec<RelayKey> = ipt
        .link_specifiers()
        .iter()
        .filter_map(|ls| match ls.parse() {
            Ok(LinkSpec::RsaId(id)) => {
                let mut b = [0u8; 20];
                b.copy_from_slice(id.as_bytes());
                Some(RelayKey::Rsa(b))
            }
            Ok(LinkSpec::Ed25519Id(id)) => {
                let mut b = [0u8; 32];
                b.copy_from_slice(id.as_bytes());
                Some(RelayKey::Ed(b))
            }
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        keys.push(RelayKey::Unknown(ipt.ipt_sid_key().as_ref().to_bytes()));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// Whether two key sets name the same relay.
pub fn same_relay(a: &[RelayKey], b: &[RelayKey]) -> bool {
    a.iter().any(|k| b.contains(k))
}
