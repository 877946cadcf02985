//! What the fake network's HSDirs do ([`Behaviour`]) and what it records of uploads
//! ([`UploadRecord`], [`UploadOutcome`]).

use std::time::SystemTime;

use crate::network::HsDirId;

/// How an HSDir behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Stores and serves like C tor.
    Normal,
    /// Answers every request with this HTTP status.
    Refuse(u16),
    /// Never answers (the caller's timeout fires).
    Hang,
    /// Unreachable (circuit fails at once).
    Down,
    /// Answers fetches with a body of this many bytes, read the way Arti's directory client
    /// reads (1 KiB windows, failing past the consensus' size limit): a body over the limit
    /// never takes more than limit + one window of memory; one within the limit is returned.
    Oversized(usize),
}

/// What became of one upload attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// Stored (its revision counter was higher than the one stored).
    Stored,
    /// Answered with this HTTP status: a [`Behaviour::Refuse`] HSDir, or 400 for a revision
    /// counter not above the stored one (C tor's rule).
    Refused(u16),
    /// The circuit failed ([`Behaviour::Down`]).
    Unreachable,
    /// Never answered ([`Behaviour::Hang`]): recorded when it arrived.
    NoAnswer,
    /// The relay is not in the consensus.
    UnknownRelay,
}

/// One upload attempt seen by the fake network, whatever its outcome.
#[derive(Debug, Clone)]
pub struct UploadRecord {
    /// When it arrived (a stored one: when it was stored, 50 ms later).
    pub at: SystemTime,
    /// To which HSDir.
    pub hsdir: HsDirId,
    /// Under which blinded id.
    pub blind_id: [u8; 32],
    /// Its revision counter (0 if it has none).
    pub revision: u64,
    /// Whether it was stored.
    pub accepted: bool,
    /// What became of it.
    pub outcome: UploadOutcome,
}
