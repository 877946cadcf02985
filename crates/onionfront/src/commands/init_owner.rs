//! Who owns what `onionfront init` writes, so that the packaged unit (`User=onionfront`) can read
//! its config and keys and nobody else can.
//!
//! The rules:
//! - the local layout, or a run by a user other than root: files stay the invoking user's (mode
//!   0600, folders 0700), as before;
//! - the system layout run as root, with the `onionfront` system user present (the package creates
//!   it): config.yaml and `keys/` are owned by `onionfront:onionfront` (0600 files, 0700 folders);
//!   the output folder, when `init` creates it, is `root:onionfront` 0750, what the unit's
//!   `ConfigurationDirectoryMode=` expects; the backends' snippets stay root's (the service does
//!   not read them);
//! - the system layout run as root without that user: files stay root's, and the summary says
//!   what to run once the package is installed.

use std::path::Path;

use anyhow::{Context as _, Result};
use nix::unistd::{Gid, Uid, User, chown};

/// The system user (and group) of the packaged unit.
pub const SERVICE_USER: &str = "onionfront";

/// The service user's ids, when `init` should hand files over to it.
#[derive(Debug, Clone, Copy)]
pub struct ServiceOwner {
    /// The `onionfront` user.
    pub uid: Uid,
    /// Its primary group (`onionfront`).
    pub gid: Gid,
}

/// Whether files should be handed to the service user, and why not when they are not.
pub enum Ownership {
    /// Hand config.yaml and keys to the service user.
    Service(ServiceOwner),
    /// Leave everything to the invoking user, with the reason (for the summary) if the layout is
    /// the system one.
    Invoker(Option<String>),
}

/// The ownership rule for a system-layout `init` (see the module doc).
pub fn for_system_layout() -> Result<Ownership> {
    if !Uid::effective().is_root() {
        return Ok(Ownership::Invoker(Some(format!(
            "not run as root, so the files stay yours; the packaged unit runs as user \
             {SERVICE_USER}, which must be able to read config.yaml and keys/"
        ))));
    }
    let user = User::from_name(SERVICE_USER)
        .with_context(|| format!("cannot look up the user {SERVICE_USER}"))?;
    Ok(match user {
        Some(u) => Ownership::Service(ServiceOwner {
            uid: u.uid,
            gid: u.gid,
        }),
        None => Ownership::Invoker(Some(format!(
            "there is no user {SERVICE_USER} yet (the Debian package creates it), so the files \
             stay root's"
        ))),
    })
}

/// Give `path` (a file or folder `init` wrote) to `owner`; does not follow symlinks.
pub fn give(path: &Path, owner: ServiceOwner) -> Result<()> {
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        path,
        Some(owner.uid),
        Some(owner.gid),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .with_context(|| format!("cannot give {} to user {SERVICE_USER}", path.display()))
}

/// Give `dir` and everything under it to `owner`.
pub fn give_tree(dir: &Path, owner: ServiceOwner) -> Result<()> {
    give(dir, owner)?;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        if entry
            .file_type()
            .with_context(|| format!("cannot inspect {}", path.display()))?
            .is_dir()
        {
            give_tree(&path, owner)?;
        } else {
            give(&path, owner)?;
        }
    }
    Ok(())
}

/// Make a folder `init` created `root:onionfront` (the group of `owner`).
pub fn give_group(dir: &Path, owner: ServiceOwner) -> Result<()> {
    chown(dir, None, Some(owner.gid))
        .with_context(|| format!("cannot give {} to group {SERVICE_USER}", dir.display()))
}
