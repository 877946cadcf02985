//! [`BundlePeriod`]: one period of a key bundle (its descriptor-signing key, that key's
//! certificate and the period's OPE key), and the check of its certificate against the
//! period's blinded public key (the rules are the parent module's invariants).

use std::time::SystemTime;

use tor_cert::{CertType, Ed25519Cert, EncodedEd25519Cert};
use tor_checkable::{SelfSigned as _, Timebound as _};
use tor_hscrypto::time::TimePeriod;
use tor_llcrypto::pk::ed25519;
use zeroize::Zeroizing;

use super::BundleContentError;
use crate::main_descriptor::revision::OpeKey;

/// One period of a bundle: when it is, its descriptor-signing key, that key's certificate and
/// the period's OPE key.
#[derive(Clone)]
pub struct BundlePeriod {
    /// The period (number, length, offset).
    pub period: TimePeriod,
    /// The descriptor-signing key's 32-byte seed; boxed so that moving a period (into a map, a
    /// growing vector) never copies the secret.
    pub(super) desc_sign_seed: Box<Zeroizing<[u8; 32]>>,
    /// Its certificate, signed by the period's blinded key (public).
    pub(super) cert: EncodedEd25519Cert,
    /// The certificate's expiry (read from it when checked).
    pub(super) cert_expiry: SystemTime,
    /// The period's OPE key (see [`OpeKey`]), boxed like the seed.
    pub(super) ope: Box<Zeroizing<[u8; 32]>>,
}

impl BundlePeriod {
    /// A period from its parts (as read from a file); checked when added to a bundle.
    pub fn from_parts(
        period: TimePeriod,
        desc_sign_seed: Box<Zeroizing<[u8; 32]>>,
        cert: &[u8],
        ope: Box<Zeroizing<[u8; 32]>>,
    ) -> BundlePeriod {
        BundlePeriod {
            period,
            desc_sign_seed,
            cert: EncodedEd25519Cert::dangerously_from_bytes(cert),
            cert_expiry: SystemTime::UNIX_EPOCH,
            ope,
        }
    }

    /// The descriptor-signing seed (for writing the bundle).
    pub fn desc_sign_seed(&self) -> &[u8; 32] {
        &self.desc_sign_seed
    }

    /// The descriptor-signing keypair.
    pub fn desc_sign(&self) -> ed25519::Keypair {
        ed25519::Keypair::from_bytes(&self.desc_sign_seed)
    }

    /// The certificate, encoded.
    pub fn cert(&self) -> &EncodedEd25519Cert {
        &self.cert
    }

    /// When the certificate expires.
    pub fn cert_expiry(&self) -> SystemTime {
        self.cert_expiry
    }

    /// The OPE key bytes (for writing the bundle).
    pub fn ope_bytes(&self) -> &[u8; 32] {
        &self.ope
    }

    /// The OPE key.
    pub fn ope_key(&self) -> OpeKey {
        OpeKey::from_bytes(Zeroizing::new(**self.ope))
    }

    /// Flip one bit of the certificate's signed body (tests of the refusals).
    #[cfg(test)]
    pub(crate) fn tamper_cert(&mut self) {
        let mut bytes = self.cert.to_vec();
        bytes[10] ^= 1;
        self.cert = EncodedEd25519Cert::dangerously_from_bytes(&bytes);
    }
}

/// Check `p`'s certificate against the period's blinded public key (see the module docs);
/// its expiry if it holds.
pub(super) fn check_cert(
    p: &BundlePeriod,
    blinded: &tor_hscrypto::pk::HsBlindIdKey,
) -> Result<SystemTime, BundleContentError> {
    let num = p.period.interval_num();
    let refuse = |why| BundleContentError::Certificate(num, why);
    let cert = Ed25519Cert::decode(p.cert.as_ref())
        .map_err(|_| refuse("cannot be parsed as an Ed25519 certificate"))?;
    if cert.peek_cert_type() != CertType::HS_BLINDED_ID_V_SIGNING {
        return Err(refuse(
            "is not a descriptor-signing-key certificate (type 08)",
        ));
    }
    let blinded_id = ed25519::Ed25519Identity::from(blinded.as_ref());
    let cert = cert
        .should_have_signing_key()
        .map_err(|_| refuse("does not name its signing key (the blinded key)"))?;
    if cert.peek_signing_key() != &blinded_id {
        return Err(refuse(
            "is signed by another key than this period's blinded key (made for another period \
             or another identity?)",
        ));
    }
    let cert = cert
        .check_signature()
        .map_err(|_| refuse("has an invalid signature (tampered?)"))?
        .dangerously_assume_timely();
    let subject = ed25519::Ed25519Identity::from(p.desc_sign().verifying_key());
    if cert.subject_key().as_ed25519() != Some(&subject) {
        return Err(refuse(
            "does not certify the bundled descriptor-signing key",
        ));
    }
    let end = p
        .period
        .range()
        .map_err(|_| BundleContentError::Invalid(num))?
        .end;
    if cert.expiry() < end {
        return Err(refuse("expires before its period ends"));
    }
    Ok(cert.expiry())
}
