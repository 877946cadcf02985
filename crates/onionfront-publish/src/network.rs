//! The small interface between the scheduler and the Tor network.
//!
//! Production: `onionfront-arti` implements it with an embedded Arti client. Tests: a fake network
//! with a fake clock. The scheduler sleeps with `tokio::time` (so tests run with paused time) and
//! reads the wall clock only through [`Network::now`].
//!
//! A network hands out its own kind of [`Directory`] ([`Network::Dir`]) and gets the same kind
//! back in [`Network::fetch`] and [`Network::upload`], so an implementation reaches its own
//! consensus data (Arti's `NetDir`) without a downcast.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use futures::stream::BoxStream;
use onionfront_core::OnionAddress;
use onionfront_core::period::PeriodParams;
use tor_hscrypto::pk::HsBlindId;
use tor_hscrypto::time::TimePeriod;

/// Identity of a relay acting as HSDir.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HsDirId {
    /// RSA identity (SHA1 of the RSA key), as in C tor fingerprints.
    pub rsa: [u8; 20],
    /// Ed25519 identity.
    pub ed: [u8; 32],
}

impl fmt::Display for HsDirId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "$")?;
        for b in self.rsa {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HsDirId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A view of one consensus: the facts the scheduler needs from it.
pub trait Directory: Send + Sync + fmt::Debug + 'static {
    /// When this consensus became valid (identifies it).
    fn valid_after(&self) -> SystemTime;
    /// The time period clients use now (backend descriptors are fetched for it).
    fn current_period(&self) -> PeriodParams;
    /// Every period the main descriptor must be published for (current first).
    fn publish_periods(&self) -> Vec<PeriodParams>;
    /// HSDirs to fetch `blind_id`'s descriptor from in `period`, in the order to try them.
    fn hsdirs_download(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId>;
    /// HSDirs responsible for storing `blind_id`'s descriptor in `period`, in ring order
    /// (replica 1 first).
    fn hsdirs_upload(&self, blind_id: &HsBlindId, period: TimePeriod) -> Vec<HsDirId>;
    /// Maximum descriptor size accepted by HSDirs (`HSV3MaxDescriptorSize`): also the most a
    /// fetch reads from an HSDir's answer.
    fn max_descriptor_size(&self) -> usize;
    /// The consensus parameter `cc_sendme_inc` (default 31): clients refuse a descriptor whose
    /// `flow-control` sendme_inc is more than 1 away from it, so backend descriptors are validated
    /// against it and the main descriptor's `flow-control` line must agree with it.
    fn cc_sendme_inc(&self) -> u8;
}

/// The consensus' `cc_sendme_inc` when it does not say (C tor's and Arti's default).
pub const DEFAULT_CC_SENDME_INC: u8 = 31;

/// Why a network operation failed. `Display` is what logs and status show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    /// No usable (strictly timely) consensus yet.
    #[error("no timely consensus: {0}")]
    NoDirectory(String),
    /// The HSDir answered with an HTTP error status.
    #[error("HSDir answered HTTP {status}: {message}")]
    Http {
        /// Status code.
        status: u16,
        /// Reason phrase.
        message: String,
    },
    /// Could not build a circuit or open a stream.
    #[error("circuit or stream failed: {0}")]
    Circuit(String),
    /// The operation did not finish in time.
    #[error("timed out")]
    Timeout,
    /// The answer was longer than the consensus' descriptor size limit: reading stopped there.
    #[error("answer over the descriptor size limit ({read} bytes read, limit {limit})")]
    TooLarge {
        /// Bytes read before giving up (at least `limit` + 1).
        read: usize,
        /// The limit ([`Directory::max_descriptor_size`]).
        limit: usize,
    },
    /// The relay is no longer in the consensus.
    #[error("relay {0} is not in the current consensus")]
    UnknownRelay(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl NetError {
    /// Whether it makes sense to try the same HSDir again later.
    pub fn is_retriable(&self) -> bool {
        !matches!(self, NetError::UnknownRelay(_))
    }
}

/// The Tor network, as the scheduler uses it.
#[async_trait::async_trait]
pub trait Network: Send + Sync + 'static {
    /// This network's view of a consensus.
    type Dir: Directory;
    /// The wall clock.
    fn now(&self) -> SystemTime;
    /// The latest strictly timely consensus, waiting for one if needed.
    async fn directory(&self) -> Result<Arc<Self::Dir>, NetError>;
    /// A stream that yields whenever a new consensus arrives.
    fn directory_events(&self) -> BoxStream<'static, ()>;
    /// Fetch the descriptor stored under `blind_id` from `hsdir`: the raw text.
    async fn fetch(
        &self,
        dir: &Self::Dir,
        hsdir: HsDirId,
        blind_id: HsBlindId,
    ) -> Result<String, NetError>;
    /// Upload `descriptor` (stored under `blind_id`) to `hsdir`; `Ok` only on HTTP 200.
    async fn upload(
        &self,
        dir: &Self::Dir,
        hsdir: HsDirId,
        blind_id: HsBlindId,
        descriptor: Arc<str>,
    ) -> Result<(), NetError>;
    /// Open (and close) a stream to `address:port`: the active health check.
    async fn probe(&self, address: OnionAddress, port: u16) -> Result<(), NetError>;
}
