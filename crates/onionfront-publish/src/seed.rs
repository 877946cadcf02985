//! The determinism seed of intro point selection: the same for every frontend of a service in a
//! given time period, so redundant frontends pick the same intro points.

use onionfront_core::OnionAddress;
use onionfront_core::period::PeriodParams;
use tor_llcrypto::d::Sha3_256;
use digest::Digest;

/// `SHA3-256("onionfront-selection" | service public key | period number | period length)`.
pub(crate) fn selection_seed(service: &OnionAddress, period: &PeriodParams) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(b"onionfront-selection");
    h.update(service.public_key());
    h.update(period.interval_num().to_be_bytes());
    h.update(period.length().as_secs().to_be_bytes());
    h.finalize().into()
}
