//! Helpers shared by the binary's command-line tests: running `onionfront` with a clean
//! environment and collecting its exit code and output.

#![allow(dead_code, clippy::expect_used)]

use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_onionfront");

/// `onionfront ARGS` without the env vars that would change where it looks.
pub fn onionfront(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("ONIONFRONT_CONFIG")
        .env_remove("ONIONBALANCE_CONFIG")
        .env_remove("ONIONFRONT_STATUS_SOCKET")
        .env_remove("ONIONBALANCE_STATUS_SOCKET_LOCATION")
        .env_remove("RUST_LOG");
    c
}

/// Run `cmd`: exit code (-1 if killed), stdout, stderr.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("running onionfront");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}
