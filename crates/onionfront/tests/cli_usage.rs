//! The `onionfront` binary's command line as a newcomer meets it: the version line (commit and
//! Arti), the help texts and option names, the hint for a subcommand after top-level options, a
//! bare `onionfront` with the config in the environment, and keygen's hint.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

mod common;
use common::{onionfront, run};

#[test]
fn version_and_help() {
    let (code, out, _) = run(&mut onionfront(&["--version"]));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "onionfront {} (commit {}; Arti {})\n",
            env!("CARGO_PKG_VERSION"),
            git_commit().unwrap_or_else(|| "unknown".into()),
            workspace_arti_version()
        )
    );
    let (code, out, _) = run(&mut onionfront(&["--help"]));
    assert_eq!(code, 0);
    for word in ["keygen", "init", "check", "run", "status", "Quick start"] {
        assert!(out.contains(word), "--help lacks {word}:\n{out}");
    }
    // No arguments at all: the help, as a usage error.
    let (code, _, err) = run(&mut onionfront(&[]));
    assert_eq!(code, 2);
    assert!(err.contains("Usage:"), "{err}");
    // `run` and `status` exist and parse (their behaviour is the daemon's).
    for sub in ["run", "status"] {
        let (code, out, _) = run(&mut onionfront(&[sub, "--help"]));
        assert_eq!(code, 0, "{sub} --help");
        assert!(out.contains("--config"), "{out}");
    }
    let (_, out, _) = run(&mut onionfront(&["run", "--help"]));
    assert!(out.contains("--log-level"), "{out}");
    let (_, out, _) = run(&mut onionfront(&["status", "--help"]));
    assert!(out.contains("--json") && out.contains("--socket"), "{out}");
    let (code, _, err) = run(&mut onionfront(&["frobnicate"]));
    assert_eq!(code, 2, "{err}");
    // One spelling per meaning: -o/--output to write into (--out is a hidden alias), -s only for
    // the status socket.
    for sub in ["keygen", "generate-docs", "init"] {
        let (_, out, _) = run(&mut onionfront(&[sub, "--help"]));
        assert!(out.contains("-o, --output <DIR>"), "{sub}: {out}");
        assert!(!out.contains("--out "), "{sub}: {out}");
        assert!(!out.contains("-s,"), "{sub}: {out}");
    }
}

/// `git rev-parse --short=12 HEAD` here, if git and a repository are there.
fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// The `=X.Y.Z` of arti-client in the workspace's Cargo.toml.
fn workspace_arti_version() -> String {
    let toml =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml")).unwrap();
    let line = toml
        .lines()
        .find(|l| l.starts_with("arti-client = "))
        .unwrap();
    let v = line.split("version = \"=").nth(1).unwrap();
    v.split('"').next().unwrap().to_string()
}

#[test]
fn bare_onionfront_runs_with_the_config_from_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.yaml");
    for var in ["ONIONFRONT_CONFIG", "ONIONBALANCE_CONFIG"] {
        let (code, out, err) = run(onionfront(&[]).env(var, &missing));
        assert_eq!(code, 1, "{var}: {out}{err}");
        assert!(!err.contains("Usage:"), "{var}: {err}");
        assert!(
            err.contains(&format!(
                "{}: cannot read the config file",
                missing.display()
            )),
            "{var}: {err}"
        );
    }
}

#[test]
fn a_subcommand_after_top_level_options_is_explained() {
    let (code, _, err) = run(&mut onionfront(&["-c", "a", "check"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("tip: subcommand options go after the subcommand: `onionfront check -c a`"),
        "{err}"
    );
}

#[test]
fn keygen_hint_names_the_key_by_its_absolute_path() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, err) = run(onionfront(&["keygen", "-o", "k"]).current_dir(tmp.path()));
    assert_eq!(code, 0, "{err}");
    let secret = fs::canonicalize(tmp.path().join("k/hs_ed25519_secret_key")).unwrap();
    assert!(
        err.contains(&format!("as `key: {}`", secret.display())),
        "{err}"
    );
    assert!(
        err.contains("relative to the config file's folder"),
        "{err}"
    );
}
