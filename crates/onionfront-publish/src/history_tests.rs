//! Tests of the saved revision history: round trip, missing, corrupt and unwritable files, the
//! file's mode, and saving only what changed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, SystemTime};

use onionfront_core::testing;
use tokio::time::Instant;

use super::*;
use crate::spec::BackendSpec;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn sample() -> Histories {
    let period = |n| TimePeriod::from_parts(1440, n, 43_200);
    let mut h = Histories::new();
    h.insert(
        testing::fake_address(1),
        TrackerHistory {
            periods: vec![
                PeriodHistory {
                    period: period(20_400),
                    revision: 4_000,
                    first_seen: at(1_795_305_600),
                },
                PeriodHistory {
                    period: period(20_401),
                    revision: 17,
                    first_seen: at(1_795_305_660),
                },
            ],
            last_advanced: Some(at(1_795_305_600)),
        },
    );
    h.insert(testing::fake_address(2), TrackerHistory::default());
    h
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(HISTORY_FILE_NAME);
    write_history(&path, &sample()).unwrap();
    assert_eq!(read_history(&path).unwrap(), Some(sample()));
    // Private: the folder is the operator's, the file is ours alone.
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // No temporary file left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(HISTORY_FILE_NAME)]);
}

#[test]
fn a_missing_file_is_a_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(HISTORY_FILE_NAME);
    assert_eq!(read_history(&path).unwrap(), None);
    let (_, loaded) = HistoryFile::load(path);
    assert!(loaded.is_empty());
}

#[test]
fn a_corrupt_file_is_an_error_naming_file_and_place_then_a_fresh_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(HISTORY_FILE_NAME);
    let address = testing::fake_address(1).to_string();
    let cases = [
        ("{\"version\": 1, \"backends\": {", "EOF while parsing"),
        ("\u{0}\u{1}garbage", "expected value at line 1 column 1"),
        (
            "{\"version\": 2, \"backends\": {}}",
            "field `version`: 2 is not 1",
        ),
        (
            "{\"version\": 1, \"backends\": {\"nope.onion\": {\"lastAdvanced\": null, \"periods\": []}}}",
            "backends entry #0: not an onion address",
        ),
        (
            &format!(
                "{{\"version\": 1, \"backends\": {{\"{address}\": {{\"lastAdvanced\": \"yesterday\", \"periods\": []}}}}}}"
            ),
            "backends entry #0: field `lastAdvanced`",
        ),
        (
            "{\"version\": 1, \"backends\": {}, \"extra\": 1}",
            "unknown field `extra`",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&path, text).unwrap();
        let e = read_history(&path).unwrap_err().to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(e.contains(expected), "{text}: {e}");
        assert!(!e.contains(&address), "no backend address in errors: {e}");
        let (_, loaded) = HistoryFile::load(path.clone());
        assert!(loaded.is_empty());
    }
}

#[test]
fn an_unreadable_path_is_a_fresh_start() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be: reading fails (EISDIR).
    let path = dir.path().join(HISTORY_FILE_NAME);
    std::fs::create_dir(&path).unwrap();
    let e = read_history(&path).unwrap_err();
    assert!(matches!(e, HistoryError::Read { .. }), "{e}");
    let (_, loaded) = HistoryFile::load(path);
    assert!(loaded.is_empty());
}

/// A state folder that cannot be written: the write fails with an error naming the file, and
/// saving goes on failing quietly without a panic (the scheduler keeps the history in memory).
/// (Tests run as root, which ignores permission bits: a folder that is a file fails for root too.)
#[test]
fn an_unwritable_folder_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_folder = dir.path().join("file");
    std::fs::write(&not_a_folder, "").unwrap();
    let path = not_a_folder.join(HISTORY_FILE_NAME);
    let e = write_history(&path, &sample()).unwrap_err();
    assert!(matches!(e, HistoryError::Write { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("cannot write {}", path.display())),
        "{e}"
    );

    let (mut file, _) = HistoryFile::load(path.clone());
    let backends = tracked_backends();
    file.save(&backends, &Histories::new());
    assert!(file.failing);
    file.save(&backends, &Histories::new());
    assert!(file.failing);
    assert!(!path.exists());
}

/// Backends whose trackers hold some history.
fn tracked_backends() -> BTreeMap<OnionAddress, BackendState> {
    let mut backends = BTreeMap::new();
    for (address, history) in sample() {
        let mut b = BackendState::new(BackendSpec::new(address, None, 0), Instant::now());
        b.tracker = BackendTracker::from_history(history);
        backends.insert(address, b);
    }
    backends
}

#[test]
fn saves_only_what_changed_and_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(HISTORY_FILE_NAME);
    let (mut file, _) = HistoryFile::load(path.clone());
    let backends = tracked_backends();
    file.save(&backends, &Histories::new());
    // Nothing changed: not written again (the file removed meanwhile stays removed).
    std::fs::remove_file(&path).unwrap();
    file.save(&backends, &Histories::new());
    assert!(!path.exists());

    // A fresh start reads it back; backends without history are not written.
    let (mut file, _) = HistoryFile::load(path.clone());
    file.save(&backends, &Histories::new());
    let (_, loaded) = HistoryFile::load(path);
    let mut expected = sample();
    expected.retain(|_, h| !h.periods.is_empty());
    assert_eq!(loaded, expected);

    let mut restored = BTreeMap::new();
    for a in backends.keys() {
        restored.insert(
            *a,
            BackendState::new(BackendSpec::new(*a, None, 0), Instant::now()),
        );
    }
    assert!(restore(loaded, &mut restored).is_empty());
    for (a, b) in &backends {
        assert_eq!(restored[a].tracker.history(), b.tracker.history());
    }
}

#[test]
fn histories_of_unlisted_backends_are_returned_for_parking_and_saved_with_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(HISTORY_FILE_NAME);
    let mut saved = sample();
    saved.retain(|_, h| !h.periods.is_empty());
    // The file knows backend 1; this run lists only backend 3.
    let mut listed = BTreeMap::new();
    let b3 = testing::fake_address(3);
    listed.insert(
        b3,
        BackendState::new(BackendSpec::new(b3, None, 0), Instant::now()),
    );
    let parked = restore(saved.clone(), &mut listed);
    assert_eq!(parked, saved);
    assert!(listed[&b3].tracker.history().periods.is_empty());

    // Saved with the listed backends' histories, so a later run still has it.
    let (mut file, _) = HistoryFile::load(path.clone());
    file.save(&listed, &parked);
    let (_, loaded) = HistoryFile::load(path);
    assert_eq!(loaded, saved);
}

#[test]
fn parked_histories_are_kept_three_days_after_their_last_change() {
    let mut parked = sample();
    parked.retain(|_, h| !h.periods.is_empty());
    // The newest change of backend 1's history: a revision first seen at 1_795_305_660.
    let last_change = at(1_795_305_660);
    prune_parked(
        &mut parked,
        last_change + PARKED_FOR - Duration::from_secs(1),
    );
    assert_eq!(parked.len(), 1);
    prune_parked(&mut parked, last_change + PARKED_FOR);
    assert!(parked.is_empty());
    // A history with nothing in it is not kept at all.
    let mut empty = Histories::new();
    empty.insert(testing::fake_address(2), TrackerHistory::default());
    prune_parked(&mut empty, last_change);
    assert!(empty.is_empty());
}
