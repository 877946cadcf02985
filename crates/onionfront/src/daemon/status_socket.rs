//! The status socket: a Unix stream socket that writes one JSON status document to each client
//! and closes, like Onionbalance's.
//!
//! Who can read it: the socket has mode 0660, so the daemon's user and group. The document
//! carries backend addresses (as Onionbalance's does); give the group only to those who may know
//! them (docs/operations.md).
//!
//! Rules, in the order `bind` applies them:
//! - A missing parent folder is created with mode 0750 (an existing one is left as it is, e.g.
//!   systemd's `RuntimeDirectory`); a world-writable one without the sticky bit gets a warning,
//!   since anyone could then replace the socket.
//! - Only a stale socket is removed from the path: a socket that still accepts connections
//!   belongs to a running process and is refused, and anything that is not a socket (a file, a
//!   symlink) is refused and left alone.
//! - The socket never exists with another mode: it is bound inside a fresh private (0700)
//!   folder next to its path, given mode 0660 there, where no one else can reach it, and then
//!   hard-linked to its path, which fails rather than replace anything that appeared meanwhile.
//! - On exit it is removed, if the path still names this very socket.
//! - Clients are served within the limits of [`super::limits`].

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, info, warn};

use super::limits::{AcceptBackoff, Limits, Slots};
use super::status_source::StatusSource;

/// The socket's mode.
pub const SOCKET_MODE: u32 = 0o660;
/// The mode of parent folders created for it.
pub const FOLDER_MODE: u32 = 0o750;

/// A bound status socket; the file is removed when this is dropped.
pub struct StatusSocket {
    path: PathBuf,
    /// Device and inode of the socket file, to remove only our own.
    id: (u64, u64),
    task: tokio::task::JoinHandle<()>,
}

impl StatusSocket {
    /// Bind `path` and serve `status` on it.
    pub fn bind(path: &Path, status: StatusSource) -> Result<Self> {
        StatusSocket::bind_with(path, status, Limits::default())
    }

    /// [`StatusSocket::bind`] with explicit client limits.
    pub fn bind_with(path: &Path, status: StatusSource, limits: Limits) -> Result<Self> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        prepare_folder(&dir)?;
        remove_stale(path)?;
        let private = tempfile::Builder::new()
            .prefix(".onionfront-status-")
            .tempdir_in(&dir)
            .with_context(|| format!("cannot create a temporary folder in {}", dir.display()))?;
        let tmp = private.path().join("socket");
        let listener = std::os::unix::net::UnixListener::bind(&tmp)
            .with_context(|| format!("cannot bind the status socket {}", path.display()))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(SOCKET_MODE))
            .with_context(|| format!("cannot set mode 0660 on {}", tmp.display()))?;
        fs::hard_link(&tmp, path).map_err(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                anyhow::anyhow!(
                    "{} appeared while the status socket was being created; refusing to replace it",
                    path.display()
                )
            } else {
                anyhow::Error::new(e).context(format!(
                    "cannot create the status socket {}",
                    path.display()
                ))
            }
        })?;
        drop(private);
        let meta = fs::symlink_metadata(path)
            .with_context(|| format!("the status socket {} vanished", path.display()))?;
        listener
            .set_nonblocking(true)
            .context("cannot make the status socket non-blocking")?;
        let listener =
            UnixListener::from_std(listener).context("cannot register the status socket")?;
        info!(path = %path.display(), "status socket listening");
        let task = tokio::spawn(serve(listener, status, limits));
        Ok(StatusSocket {
            path: path.to_path_buf(),
            id: (meta.dev(), meta.ino()),
            task,
        })
    }
}

/// Create `dir` (and missing parents) with [`FOLDER_MODE`]; warn about a folder anyone may write.
fn prepare_folder(dir: &Path) -> Result<()> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let mode = meta.permissions().mode();
            if mode & 0o002 != 0 && mode & 0o1000 == 0 {
                warn!(folder = %dir.display(), mode = format!("{:04o}", mode & 0o7777),
                    "the status socket's folder is writable by anyone: any local user could \
                     replace the socket");
            }
            Ok(())
        }
        Ok(_) => bail!("{} is not a folder (status-socket-location)", dir.display()),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(FOLDER_MODE)
                .create(dir)
                .with_context(|| {
                    format!("cannot create the status socket folder {}", dir.display())
                })?;
            // The umask may have taken bits away; the group needs to search it.
            fs::set_permissions(dir, fs::Permissions::from_mode(FOLDER_MODE))
                .with_context(|| format!("cannot set mode 0750 on {}", dir.display()))?;
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "cannot use the status socket folder {}",
            dir.display()
        ))),
    }
}

/// Remove a socket left at `path` by a process that is gone; refuse anything else.
fn remove_stale(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot check {}", path.display())));
        }
    };
    if !meta.file_type().is_socket() {
        bail!(
            "{} exists and is not a socket; refusing to replace it (status-socket-location)",
            path.display()
        );
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => bail!(
            "{} is the status socket of a running process (another onionfront?); refusing to \
             replace it",
            path.display()
        ),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            fs::remove_file(path).with_context(|| {
                format!("cannot remove the stale status socket {}", path.display())
            })?;
            debug!(path = %path.display(), "removed a stale status socket");
            Ok(())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "{} exists and cannot be checked; refusing to replace it",
            path.display()
        ))),
    }
}

async fn serve(listener: UnixListener, status: StatusSource, limits: Limits) {
    let slots = Slots::new(limits.max_clients);
    let mut backoff = AcceptBackoff::default();
    loop {
        let permit = slots.acquire().await;
        match listener.accept().await {
            Ok((stream, _)) => {
                backoff.reset();
                let status = status.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    answer(stream, &status, limits).await;
                });
            }
            Err(e) => backoff.failed("status socket", &e).await,
        }
    }
}

/// Write the status document to one client and close, within the time limit.
async fn answer(mut stream: UnixStream, status: &StatusSource, limits: Limits) {
    let body = match serde_json::to_vec(&status.snapshot()) {
        Ok(b) => b,
        Err(e) => {
            warn!(error = %e, "cannot serialize status");
            return;
        }
    };
    let write = async {
        stream.write_all(&body).await?;
        stream.shutdown().await
    };
    match tokio::time::timeout(limits.timeout, write).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!(error = %e, "status client went away"),
        Err(_) => debug!("status client too slow; dropped"),
    }
}

impl Drop for StatusSocket {
    fn drop(&mut self) {
        self.task.abort();
        let ours = fs::symlink_metadata(&self.path)
            .map(|m| (m.dev(), m.ino()) == self.id)
            .unwrap_or(false);
        if !ours {
            debug!(path = %self.path.display(), "status socket already replaced or removed");
            return;
        }
        if let Err(e) = fs::remove_file(&self.path) {
            debug!(error = %e, path = %self.path.display(), "could not remove status socket");
        }
    }
}

#[cfg(test)]
#[path = "status_socket_tests.rs"]
mod tests;
