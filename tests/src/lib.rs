//! A private Tor network of real C tor processes on 127.0.0.1, for onionfront's end-to-end tests.
//!
//! [`network::Network`] starts directory authorities, relays (all HSDirs), C tor backend onion
//! services (each in front of a tiny HTTP server answering its own name) and a C tor client with a
//! SOCKS port; [`onionfront::Onionfront`] runs the onionfront binary in front of the backends.
//! [`package`] builds the Debian package and [`nspawn`] boots a Debian root with systemd as PID 1
//! for the scenario of the packaged unit.
//! Everything lives in one temp dir per run, uses ports chosen at run time, and every process is
//! stopped by PID when its guard is dropped (also on a panic). See `tests/README.md`.

pub mod arti_client;
pub mod authority;
pub mod backend;
pub mod client;
pub mod config;
pub mod failures;
pub mod hsdesc;
pub mod keys;
pub mod network;
pub mod notify;
pub mod nspawn;
pub mod offline_keys;
pub mod onionfront;
pub mod package;
pub mod ports;
pub mod process;
pub mod reach;
pub mod relay;
pub mod scenario;
pub mod status;
pub mod torrc;
pub mod wait;

pub use network::{Network, NetworkOptions};
pub use onionfront::Onionfront;
