//! The `onionfront keys` command line: `generate` (a new identity key, as `keygen`), `provision`
//! (a bundle of certified descriptor-signing keys for a range of time periods, made where the
//! identity key is kept)
//! and `show` (what a bundle covers).
//!
//! Rules for the values: the period length is the consensus's `hsdir-interval` (5 to 14400
//! minutes, 1440 on the live network), the period offset is 12 voting intervals (as Arti
//! computes it from the consensus, tor-netdir `hsdir_params`), and `--from` is a UTC time in
//! RFC 3339 (`2027-01-01T12:00:00Z`, the `Z` optional) or a date (`2027-01-01`, midnight UTC).

use std::path::PathBuf;
use std::time::SystemTime;

use clap::{Args, Subcommand};

use super::KeygenArgs;

/// Default length of a bundle, days.
pub const DEFAULT_BUNDLE_DAYS: u32 = 30;
/// Default time period length, minutes (the live network's `hsdir-interval`).
pub const DEFAULT_HSDIR_INTERVAL: u32 = 1440;
/// Default consensus voting interval, seconds (the live network's).
pub const DEFAULT_VOTING_INTERVAL: u32 = 3600;
/// The period offset in voting intervals (tor-netdir's `VOTING_PERIODS_IN_OFFSET`).
pub const VOTING_INTERVALS_IN_OFFSET: u32 = 12;

/// `onionfront keys`.
#[derive(Debug, Clone, Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// The `keys` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Create a new main onion service key (C tor format) and print its address (same as
    /// `onionfront keygen`).
    Generate(KeygenArgs),
    /// Make a key bundle: per time period of a range, a descriptor-signing key certified by the
    /// period's blinded key, for a frontend that publishes without the identity key. A thief of
    /// the bundle can sign descriptors only until its last certificate expires (the end of the
    /// last period + 12 h); see docs/offline-keys.md.
    Provision(ProvisionArgs),
    /// Print a key bundle's address and its time periods (UTC), which one is current and how
    /// long is left.
    Show(ShowArgs),
}

/// `onionfront keys provision`.
#[derive(Debug, Clone, Args)]
pub struct ProvisionArgs {
    /// The identity key: C tor's hs_ed25519_secret_key or an Onionbalance PEM key (any format
    /// `key:` accepts). Must be private (mode 0600 or stricter).
    #[arg(short, long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// The bundle file to write (mode 0600). Never overwrites an existing file: write a new one
    /// and move it into place.
    #[arg(short, long, alias = "out", value_name = "BUNDLE")]
    pub output: PathBuf,
    /// How many days to cover, from --from (whole time periods: the one containing --from to the
    /// one containing the end).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BUNDLE_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3660), conflicts_with = "periods")]
    pub days: u32,
    /// Cover exactly N time periods from the one containing --from instead of --days (for tests
    /// and short-period private networks).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub periods: Option<u32>,
    /// Start of the coverage: a UTC time (RFC 3339, `2027-01-01T12:00:00Z`) or date
    /// (`2027-01-01`) [default: now].
    #[arg(long, value_name = "DATE", value_parser = parse_utc_time)]
    pub from: Option<SystemTime>,
    /// The time period length in minutes: the consensus's hsdir-interval (1440 on the live
    /// network; 5 to 14400).
    #[arg(long, value_name = "MINUTES", default_value_t = DEFAULT_HSDIR_INTERVAL,
          value_parser = clap::value_parser!(u32).range(5..=14400))]
    pub hsdir_interval: u32,
    /// The consensus voting interval in seconds (3600 on the live network); the time periods
    /// start 12 voting intervals after midnight UTC.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_VOTING_INTERVAL,
          value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub voting_interval: u32,
}

impl ProvisionArgs {
    /// The period offset in seconds: [`VOTING_INTERVALS_IN_OFFSET`] voting intervals.
    pub fn offset_secs(&self) -> u32 {
        self.voting_interval * VOTING_INTERVALS_IN_OFFSET
    }
}

/// `onionfront keys show`.
#[derive(Debug, Clone, Args)]
pub struct ShowArgs {
    /// The bundle file.
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
}

/// A UTC time: RFC 3339 (`2027-01-01T12:00:00Z`; a space for the `T` and no `Z` are accepted
/// too) or a date (`2027-01-01`, meaning midnight UTC).
pub fn parse_utc_time(s: &str) -> Result<SystemTime, String> {
    let s = s.trim();
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    humantime::parse_rfc3339_weak(&full).map_err(|e| {
        format!(
            "{e}: write a UTC time like 2027-01-01T12:00:00Z or a date like 2027-01-01 (no \
             time zone offsets: UTC only)"
        )
    })
}
