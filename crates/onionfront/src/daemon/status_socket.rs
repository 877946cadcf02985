//! The status socket: a Unix stream socket that writes one JSON status document to each client
//! and closes, like Onionbalance's. Created with mode 0660, removed on exit.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixListener;
use tracing::{debug, info, warn};

use super::status_source::StatusSource;

/// A bound status socket; the file is removed when this is dropped.
pub struct StatusSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl StatusSocket {
    /// Bind `path` and serve `status` on it.
    pub fn bind(path: &Path, status: StatusSource) -> Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("cannot create the status socket folder {}", dir.display())
            })?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket_like() => {
                std::fs::remove_file(path).with_context(|| {
                    format!("cannot remove the stale status socket {}", path.display())
                })?;
            }
            Ok(_) => anyhow::bail!(
                "{} exists and is not a socket; refusing to replace it (status-socket-location)",
                path.display()
            ),
            Err(_) => {}
        }
        let listener = UnixListener::bind(path)
            .with_context(|| format!("cannot bind the status socket {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
            .with_context(|| format!("cannot set mode 0660 on {}", path.display()))?;
        info!(path = %path.display(), "status socket listening");
        let task = tokio::spawn(serve(listener, status));
        Ok(StatusSocket {
            path: path.to_path_buf(),
            task,
        })
    }
}

trait SocketLike {
    fn is_socket_like(&self) -> bool;
}

impl SocketLike for std::fs::FileType {
    fn is_socket_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_socket()
    }
}

async fn serve(listener: UnixListener, status: StatusSource) {
    loop {
        match listener.accept().await {
            Ok((mut stream, _)) => {
                let body = match serde_json::to_vec(&status.snapshot()) {
                    Ok(b) => b,
                    Err(e) => {
                        warn!(error = %e, "cannot serialize status");
                        continue;
                    }
                };
                tokio::spawn(async move {
                    if let Err(e) = stream.write_all(&body).await {
                        debug!(error = %e, "status client went away");
                    }
                    let _ = stream.shutdown().await;
                });
            }
            Err(e) => {
                warn!(error = %e, "status socket accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
}

impl Drop for StatusSocket {
    fn drop(&mut self) {
        self.task.abort();
        if let Err(e) = std::fs::remove_file(&self.path) {
            debug!(error = %e, path = %self.path.display(), "could not remove status socket");
        }
    }
}
