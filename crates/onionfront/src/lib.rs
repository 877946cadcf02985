//! The `onionfront` program as a library, so that its parts are testable and usable by the
//! daemon: the command line ([`cli`], including the env var rules for the config path and the
//! status socket), the subcommands implemented here ([`commands`]: keygen, init, check), the
//! daemon ([`daemon`], `onionfront run`) and the status client ([`status_client`]).
//! `main.rs` only parses and dispatches.

pub mod cli;
pub mod commands;
pub mod daemon;
pub mod status_client;
