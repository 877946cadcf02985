//! onionfront-publish: the scheduler between the Tor network and the descriptor engine.
//!
//! It owns *when* things happen: fetch rounds, liveness and health checks, republish triggers,
//! uploads with per-HSDir confirmation and retries, and the status that reports all of it. What
//! happens is decided by `onionfront-core`; how bytes move is [`network::Network`].

pub mod network;

pub use network::{Directory, HsDirId, NetError, Network};
