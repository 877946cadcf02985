//! onionfront-arti: the Arti network layer of onionfront.
//!
//! It implements [`onionfront_publish::Network`] and [`onionfront_publish::Directory`] with an
//! embedded Arti [`arti_client::TorClient`]:
//! - [`bootstrap`]: building the Arti configuration (including a private test network) and
//!   bootstrapping the client, with progress reporting;
//! - [`directory`]: [`ArtiDirectory`], one consensus (`NetDir`) seen as time periods and HSDirs;
//! - [`network`]: [`ArtiNetwork`], descriptor fetches and uploads at one HSDir each, and
//!   health-check probes;
//! - [`error`]: [`ArtiError`], what can go wrong while configuring or bootstrapping.
//!
//! Arti's own onion service code is the model: `tor-hsclient`'s descriptor fetch
//! (`connect.rs`) and `tor-hsservice`'s upload (`publish/reactor.rs`), whose logic is private.
//! All Arti crates are pinned to one exact version because `TorClient::dirmgr` and
//! `TorClient::hs_circ_pool` are `experimental-api` (exempt from semver).

pub mod bootstrap;
pub mod directory;
pub mod error;
pub mod network;

pub use bootstrap::{BootstrapProgress, bootstrap, client_config, create_unbootstrapped};
pub use directory::ArtiDirectory;
pub use error::ArtiError;
pub use network::ArtiNetwork;
