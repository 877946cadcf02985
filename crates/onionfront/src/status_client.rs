//! `onionfront status`: placeholder, being written by the lead engineer.

use crate::cli::StatusArgs;

/// Query the daemon's status socket and print what it says.
pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("`onionfront status` is not implemented yet")
}
