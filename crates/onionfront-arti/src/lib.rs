//! onionfront-arti: the Arti network layer of onionfront.
//!
//! It implements [`onionfront_publish::Network`] and [`onionfront_publish::Directory`] with an
//! embedded Arti [`arti_client::TorClient`]:
//! - [`bootstrap`]: building the Arti configuration (including a private test network) and
//!   creating and bootstrapping the client;
//! - [`progress`]: [`BootstrapProgress`], following and logging the bootstrap;
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
pub mod progress;

pub use bootstrap::{bootstrap, client_config, create_unbootstrapped};
pub use directory::ArtiDirectory;
pub use error::ArtiError;
pub use network::ArtiNetwork;
pub use progress::BootstrapProgress;
