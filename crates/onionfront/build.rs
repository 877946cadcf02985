//! Build script: what `onionfront --version` says besides the crate version.
//!
//! - `ONIONFRONT_GIT_COMMIT`: the commit the binary was built from: `$ONIONFRONT_GIT_COMMIT` if
//!   set (for builds from a source tarball that know their commit), else `git rev-parse
//!   --short=12 HEAD` when git and a repository are there, else `unknown`. A missing git never
//!   fails the build.
//! - `ONIONFRONT_COMMIT_DATE`: that commit's date (`YYYY-MM-DD`), the date of the man pages;
//!   `$SOURCE_DATE_EPOCH`'s day if git cannot tell, else `""` (roff's empty argument).
//! - `ONIONFRONT_ARTI_VERSION`: the version of `arti-client` in the workspace's Cargo.lock (the
//!   one actually compiled in), else `unknown`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ONIONFRONT_GIT_COMMIT");
    let commit = std::env::var("ONIONFRONT_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=ONIONFRONT_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let date = git(&["log", "-1", "--format=%cs", "HEAD"])
        .or_else(source_date_epoch_day)
        .unwrap_or_else(|| "\"\"".to_string());
    println!("cargo:rustc-env=ONIONFRONT_COMMIT_DATE={date}");

    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let arti = manifest_dir
        .ancestors()
        .map(|d| d.join("Cargo.lock"))
        .find(|p| p.is_file())
        .and_then(|lock| {
            println!("cargo:rerun-if-changed={}", lock.display());
            let text = std::fs::read_to_string(&lock).ok()?;
            locked_version(&text, "arti-client")
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=ONIONFRONT_ARTI_VERSION={arti}");
}

/// `git rev-parse --short=12 HEAD`, and rerun triggers on the files that move with HEAD.
fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // HEAD itself, the branch it points to, and packed-refs (where a branch may live instead).
    let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(branch);
    }
    for name in watch {
        if let Some(p) = git(&["rev-parse", "--git-path", &name])
            && Path::new(&p).exists()
        {
            let p = std::fs::canonicalize(&p).unwrap_or_else(|_| PathBuf::from(&p));
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    Some(commit)
}

/// The day of `$SOURCE_DATE_EPOCH` (seconds since 1970, UTC), as `YYYY-MM-DD`.
fn source_date_epoch_day() -> Option<String> {
    let secs: u64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let stamp = humantime::format_rfc3339_seconds(t).to_string();
    stamp.get(..10).map(str::to_string)
}

/// Run git in this crate's folder; its trimmed stdout if it succeeded and said something.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// The version of package `name` in a Cargo.lock (the first entry of that name).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let v = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(v.trim_end_matches('"').to_string());
        }
    }
    None
}
