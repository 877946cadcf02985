//! [`KeyError`]: everything that can go wrong reading, parsing or writing a key file or a key
//! bundle. Every message names the file (and, for a bundle, the line).

use std::io;
use std::path::PathBuf;

/// Why a key file cannot be used (or written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file does not exist.
    #[error("key file {} does not exist", .path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read key file {}: {source}", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The path is a directory (a C tor `HiddenServiceDir`, typically).
    #[error(
        "{} is a directory, not a key file; point at the hs_ed25519_secret_key file inside it",
        .path.display()
    )]
    IsDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// Not a regular file (a FIFO, socket or device): reading it could block or never end.
    #[error(
        "key file {} is {kind}, not a regular file; point at the key file itself",
        .path.display()
    )]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it is instead ("a FIFO", "a socket", "a device").
        kind: &'static str,
    },
    /// Group or others may access the file: like ssh, we refuse to use it.
    #[error(
        "key file {} is accessible by group or others (mode {mode:04o}); run `chmod 600 {}`",
        .path.display(), .path.display()
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The content is neither a C tor secret key nor a PEM key.
    #[error(
        "{} is not a key onionfront understands: expected C tor's hs_ed25519_secret_key \
         (96 bytes starting with \"== ed25519v1-secret: type0 ==\") or Onionbalance's PEM key \
         (\"-----BEGIN PRIVATE KEY-----\")",
        .path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file is C tor's *public* key, not the secret one.
    #[error(
        "{} is a public key (hs_ed25519_public_key); use the secret key file \
         hs_ed25519_secret_key next to it",
        .path.display()
    )]
    PublicKeyGiven {
        /// The file.
        path: PathBuf,
    },
    /// The format was recognised but the content is wrong.
    #[error("{}: invalid {format} key: {reason}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Which format it looked like.
        format: super::KeyFormat,
        /// What is wrong.
        reason: String,
    },
    /// A key bundle was given where an identity key is needed.
    #[error(
        "{} is an onionfront key bundle (signing keys for a limited range of time periods), not \
         an identity key; this needs the identity key itself (C tor's hs_ed25519_secret_key or \
         Onionbalance's PEM key)",
        .path.display()
    )]
    BundleGiven {
        /// The file.
        path: PathBuf,
    },
    /// A key bundle file that cannot be used: what is wrong, and on which line (1-based).
    #[error("{}, line {line}: invalid key bundle: {reason}", .path.display())]
    BundleMalformed {
        /// The file.
        path: PathBuf,
        /// The line (1-based) where the problem was found.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A key bundle file larger than any bundle onionfront writes.
    #[error(
        "key bundle {} is larger than {limit} bytes (a year of 5-minute time periods takes \
         about 13 MB): not a key bundle, or not one onionfront wrote",
        .path.display()
    )]
    BundleTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// Refusing to overwrite an existing file.
    #[error("{} already exists; refusing to overwrite it", .path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}
