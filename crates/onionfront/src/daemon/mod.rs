//! The daemon (`onionfront run`): placeholder, being written by the lead engineer.

use crate::cli::RunArgs;

/// Run the daemon until it is told to stop.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let _ = args;
    anyhow::bail!("`onionfront run` is not implemented yet")
}
