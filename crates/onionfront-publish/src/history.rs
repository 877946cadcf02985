//! The backends' revision history, saved in the state folder so that it survives a restart
//! (`onionfront-history.json` in `arti.state-dir`).
//!
//! What is saved, per backend: for each recent time period, the highest revision counter seen
//! and when it was first seen, and when the counter last advanced (the core's
//! [`TrackerHistory`]). Without it, a restarted daemon would take any validly signed descriptor
//! whose certificate has not expired as live, and a fetch would stop at the first valid answer
//! however old.
//!
//! The rules, in prose:
//! - the file is JSON (like Arti's own state files in the same folder), read once at start;
//! - a missing file is a first start; an unreadable or corrupt one is a warning naming the file
//!   (and what is wrong: line, column, field) and a fresh start, never a refusal to start; it is
//!   replaced at the next save;
//! - it is written when a fetch changed some backend's history (a new period or an advanced
//!   counter; not for an unchanged descriptor), and only if the text differs from the one last
//!   written; the write is atomic: a temporary file (mode 0600) in the same folder, written and
//!   fsynced, renamed over the old one, then the folder fsynced;
//! - a failed write is a warning (once, until a write succeeds again); the scheduler goes on;
//! - the history of a backend no service lists (dropped by a reload, or in the file but not in
//!   the config) is *parked*: saved with the others and given back if the backend is listed
//!   again, until [`PARKED_FOR`] (3 days) after it last changed. By then every descriptor it
//!   protects against is dead: a C tor descriptor-signing certificate lasts 54 hours
//!   (`HS_DESC_CERT_LIFETIME`), and the tracker refuses a descriptor whose certificates expired;
//! - the file holds backend addresses (the state folder is private, 0700); log lines and errors
//!   never do: they name the file only.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use onionfront_core::OnionAddress;
use onionfront_core::descriptor::{BackendTracker, PeriodHistory, TrackerHistory};
use serde::{Deserialize, Serialize};
use tor_hscrypto::time::TimePeriod;
use tracing::{debug, info, warn};

use crate::backends::BackendState;

/// The file's name in the state folder.
pub const HISTORY_FILE_NAME: &str = "onionfront-history.json";

/// How long a parked history (a backend no service lists) is kept after it last changed: more
/// than the 54 hours a C tor descriptor-signing certificate lasts (see the module docs).
pub(crate) const PARKED_FOR: Duration = Duration::from_secs(3 * 24 * 3600);

/// The format version written (and the only one read).
const FORMAT_VERSION: u32 = 1;

/// Why the history could not be read or written. Names the file; never a backend address.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HistoryError {
    /// The file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a history this version understands.
    #[error("{}: {problem}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong (with line and column, and the field, when JSON says).
        problem: String,
    },
    /// The file cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The file's contents.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HistoryDocument {
    /// [`FORMAT_VERSION`].
    version: u32,
    /// Per backend address.
    backends: BTreeMap<String, BackendRecord>,
}

/// One backend's history in the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackendRecord {
    /// When the counter last advanced (RFC 3339).
    last_advanced: Option<String>,
    /// Per period.
    periods: Vec<PeriodRecord>,
}

/// One period's highest counter in the file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PeriodRecord {
    /// The period number.
    period: u64,
    /// Its length in minutes.
    length_minutes: u32,
    /// Its epoch offset in seconds (12 h on the real network).
    offset_seconds: u32,
    /// The highest revision counter seen.
    revision: u64,
    /// When it was first seen (RFC 3339).
    first_seen: String,
}

/// Histories by backend.
pub(crate) type Histories = BTreeMap<OnionAddress, TrackerHistory>;

/// Read the history at `path`: `Ok(None)` if there is no file.
pub(crate) fn read_history(path: &Path) -> Result<Option<Histories>, HistoryError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(HistoryError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let corrupt = |problem: String| HistoryError::Corrupt {
        path: path.to_owned(),
        problem,
    };
    let doc: HistoryDocument = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    if doc.version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "field `version`: {} is not {FORMAT_VERSION}, the version this onionfront reads",
            doc.version
        )));
    }
    let mut out = Histories::new();
    for (n, (address, record)) in doc.backends.into_iter().enumerate() {
        // (The address is not repeated in the error: it would reach the logs.)
        let address: OnionAddress = address
            .parse()
            .map_err(|_| corrupt(format!("backends entry #{n}: not an onion address")))?;
        let history =
            to_history(record).map_err(|p| corrupt(format!("backends entry #{n}: {p}")))?;
        out.insert(address, history);
    }
    Ok(Some(out))
}

/// A record of the file as the core's history.
fn to_history(record: BackendRecord) -> Result<TrackerHistory, String> {
    let time = |field: &str, text: &str| {
        humantime::parse_rfc3339(text).map_err(|e| format!("field `{field}`: {e}"))
    };
    let last_advanced = match &record.last_advanced {
        Some(t) => Some(time("lastAdvanced", t)?),
        None => None,
    };
    let periods = record
        .periods
        .iter()
        .map(|p| {
            if p.length_minutes == 0 {
                return Err("field `lengthMinutes`: 0".to_string());
            }
            Ok(PeriodHistory {
                period: TimePeriod::from_parts(p.length_minutes, p.period, p.offset_seconds),
                revision: p.revision,
                first_seen: time("firstSeen", &p.first_seen)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(TrackerHistory {
        periods,
        last_advanced,
    })
}

/// RFC 3339, to the second.
fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// The file's text for `histories`.
fn document_text(histories: &Histories) -> Result<String, serde_json::Error> {
    let backends = histories
        .iter()
        .map(|(address, h)| {
            let record = BackendRecord {
                last_advanced: h.last_advanced.map(rfc3339),
                periods: h
                    .periods
                    .iter()
                    .map(|p| PeriodRecord {
                        period: p.period.interval_num(),
                        length_minutes: p.period.length().as_minutes(),
                        offset_seconds: p.period.epoch_offset_in_sec(),
                        revision: p.revision,
                        first_seen: rfc3339(p.first_seen),
                    })
                    .collect(),
            };
            (address.to_string(), record)
        })
        .collect();
    let doc = HistoryDocument {
        version: FORMAT_VERSION,
        backends,
    };
    serde_json::to_string_pretty(&doc)
}

/// Write `histories` to `path` atomically (see the module docs). (The scheduler saves through
/// [`HistoryFile::save`], which skips unchanged texts.)
#[cfg(test)]
pub(crate) fn write_history(path: &Path, histories: &Histories) -> Result<(), HistoryError> {
    let text = document_text(histories).map_err(|e| HistoryError::Write {
        path: path.to_owned(),
        source: std::io::Error::other(e),
    })?;
    write_atomically(path, text.as_bytes())
}

/// Replace `path` with `bytes`: temporary file (0600) in the same folder, fsync, rename, fsync
/// of the folder.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), HistoryError> {
    let err = |source| HistoryError::Write {
        path: path.to_owned(),
        source,
    };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates it with mode 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".onionfront-history.")
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    std::fs::File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    Ok(())
}

/// The history file the scheduler keeps up to date.
#[derive(Debug)]
pub(crate) struct HistoryFile {
    /// Where.
    path: PathBuf,
    /// The text last written or read (nothing is written while it stays the same).
    last_text: Option<String>,
    /// The last write failed (warned once until a write succeeds).
    failing: bool,
}

impl HistoryFile {
    /// Open the history at `path`: its contents, or none (with a warning if the file was
    /// unreadable or corrupt).
    pub(crate) fn load(path: PathBuf) -> (HistoryFile, Histories) {
        let histories = match read_history(&path) {
            Ok(Some(h)) => {
                info!(file = %path.display(), backends = h.len(), "loaded the backends' revision history");
                h
            }
            Ok(None) => {
                debug!(file = %path.display(), "no revision history yet: first start");
                Histories::new()
            }
            Err(e) => {
                warn!(
                    "ignoring the backends' revision history ({e}); starting afresh, the file is replaced at the next save"
                );
                Histories::new()
            }
        };
        let last_text = document_text(&histories).ok();
        let file = HistoryFile {
            path,
            last_text,
            failing: false,
        };
        (file, histories)
    }

    /// Save the history of `backends`, and the `parked` ones, if it differs from what was last
    /// written. A failure is a warning (once until a save succeeds).
    pub(crate) fn save(
        &mut self,
        backends: &BTreeMap<OnionAddress, BackendState>,
        parked: &Histories,
    ) {
        let mut histories: Histories = parked.clone();
        histories.extend(
            backends
                .iter()
                .map(|(a, b)| (*a, b.tracker.history()))
                .filter(|(_, h)| !h.periods.is_empty()),
        );
        let text = match document_text(&histories) {
            Ok(t) => t,
            Err(e) => {
                warn!(file = %self.path.display(), "cannot encode the revision history: {e}");
                return;
            }
        };
        if self.last_text.as_deref() == Some(text.as_str()) {
            return;
        }
        match write_atomically(&self.path, text.as_bytes()) {
            Ok(()) => {
                if self.failing {
                    info!(file = %self.path.display(), "revision history saved again");
                }
                self.failing = false;
                self.last_text = Some(text);
            }
            Err(e) => {
                if !self.failing {
                    warn!(
                        "{e}; the backends' revision history is kept in memory only until a save succeeds"
                    );
                }
                self.failing = true;
            }
        }
    }
}

/// Give each backend in `backends` its saved history, if `histories` has one; return the
/// histories of backends not in `backends` (to be parked).
pub(crate) fn restore(
    histories: Histories,
    backends: &mut BTreeMap<OnionAddress, BackendState>,
) -> Histories {
    let mut unlisted = Histories::new();
    for (address, history) in histories {
        match backends.get_mut(&address) {
            Some(b) => b.tracker = BackendTracker::from_history(history),
            None => {
                unlisted.insert(address, history);
            }
        }
    }
    unlisted
}

/// Drop the parked histories that last changed more than [`PARKED_FOR`] before `now`.
pub(crate) fn prune_parked(parked: &mut Histories, now: SystemTime) {
    parked.retain(|_, h| {
        let last_change = h
            .periods
            .iter()
            .map(|p| p.first_seen)
            .chain(h.last_advanced)
            .max();
        last_change.is_some_and(|t| t + PARKED_FOR > now)
    });
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
