//! Tests of the status socket: its mode and its folder's, what it replaces and what it refuses,
//! and the client limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::*;

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn read_all(p: &Path) -> Vec<u8> {
    let mut s = std::os::unix::net::UnixStream::connect(p).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn mode_folder_and_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/onionfront/status.sock");
    let sock = StatusSocket::bind(&path, StatusSource::default()).unwrap();
    assert_eq!(mode(&path), SOCKET_MODE);
    assert_eq!(mode(path.parent().unwrap()), FOLDER_MODE);
    assert_eq!(mode(&dir.path().join("run")), FOLDER_MODE);
    // Nothing but the socket is left in its folder (the private folder is gone).
    let names: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("status.sock")]);
    let p = path.clone();
    let doc = tokio::task::spawn_blocking(move || read_all(&p))
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    assert!(json["daemon"].is_object(), "{json}");
    drop(sock);
    assert!(!path.exists());
}

#[tokio::test]
async fn replaces_only_a_stale_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.sock");

    // A regular file, and a symlink, are refused and left alone.
    fs::write(&path, b"data").unwrap();
    let e = StatusSocket::bind(&path, StatusSource::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("is not a socket"), "{e:#}");
    assert_eq!(fs::read(&path).unwrap(), b"data");
    fs::remove_file(&path).unwrap();
    let target = dir.path().join("target");
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert!(StatusSocket::bind(&path, StatusSource::default()).is_err());
    assert!(
        fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!target.exists());
    fs::remove_file(&path).unwrap();

    // A socket someone listens on is a running process's: refused.
    let live = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let e = StatusSocket::bind(&path, StatusSource::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("running process"), "{e:#}");
    // Once that process is gone, its socket is stale: replaced.
    drop(live);
    let sock = StatusSocket::bind(&path, StatusSource::default()).unwrap();
    assert_eq!(mode(&path), SOCKET_MODE);

    // Dropping removes only our own socket, not one that replaced it.
    fs::remove_file(&path).unwrap();
    let other = std::os::unix::net::UnixListener::bind(&path).unwrap();
    drop(sock);
    assert!(path.exists());
    drop(other);
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_and_others_wait_their_turn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("status.sock");
    let limits = Limits {
        max_clients: 1,
        timeout: Duration::from_millis(500),
    };
    let _sock = StatusSocket::bind_with(&path, StatusSource::default(), limits).unwrap();
    let p = path.clone();
    let (elapsed, doc) = tokio::task::spawn_blocking(move || {
        // Holds the one slot (the server may block writing to it, at most the timeout).
        let _idle = std::os::unix::net::UnixStream::connect(&p).unwrap();
        let t = Instant::now();
        let doc = read_all(&p);
        (t.elapsed(), doc)
    })
    .await
    .unwrap();
    assert!(!doc.is_empty());
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}
