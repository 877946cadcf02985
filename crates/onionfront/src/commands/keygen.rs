//! `onionfront keygen`: a new main identity key in C tor's format, and its address on stdout.
//!
//! The hint on stderr gives the key's absolute path: paths in config.yaml are relative to the
//! config file's folder, not to where `keygen` ran, so only an absolute path is right wherever
//! the config lives.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use onionfront_core::keys::ServiceKey;

use crate::cli::KeygenArgs;

/// Generate a key, write it under `--output`, print the address (alone, on stdout).
pub fn run(args: &KeygenArgs) -> anyhow::Result<()> {
    let key = ServiceKey::generate();
    let files = key
        .write_ctor(&args.output)
        .context("cannot write the new key")?;
    println!("{}", key.address());
    eprintln!("{}", hint(&files.secret));
    Ok(())
}

/// What to do with the key written at `secret`.
fn hint(secret: &Path) -> String {
    let absolute = absolute(secret);
    format!(
        "Wrote the secret key {} (mode 0600) with hs_ed25519_public_key and hostname next to it.\n\
         Keep the secret key private and backed up: whoever has it controls this address.\n\
         Use it in config.yaml as `key: {}` (a relative path there is relative to the config \
         file's folder).",
        secret.display(),
        absolute.display()
    )
}

/// `p` made absolute, through symbolic links if it can be; else joined to the current folder.
fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}
