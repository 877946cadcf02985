//! `onionfront keygen`: a new main identity key in C tor's format, and its address on stdout.

use anyhow::Context as _;
use onionfront_core::keys::ServiceKey;

use crate::cli::KeygenArgs;

/// Generate a key, write it under `--out`, print the address (alone, on stdout).
pub fn run(args: &KeygenArgs) -> anyhow::Result<()> {
    let key = ServiceKey::generate();
    let files = key
        .write_ctor(&args.out)
        .context("cannot write the new key")?;
    println!("{}", key.address());
    eprintln!(
        "Wrote the secret key {} (mode 0600) with hs_ed25519_public_key and hostname next to it.\n\
         Keep the secret key private and backed up: whoever has it controls this address.\n\
         Use it in config.yaml as `key: {}`.",
        files.secret.display(),
        files.secret.display()
    );
    Ok(())
}
