//! Key files on disk: reading a secret file with permission checks (into a buffer that is zeroed
//! when dropped), and writing new private files atomically with mode 0600, never overwriting.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::KeyError;

/// Key files are tiny; anything bigger is certainly not one.
pub(crate) const MAX_KEY_FILE: u64 = 16 * 1024;

/// How strictly to check a key file's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PermissionCheck {
    /// Refuse files that group or others may access (like ssh). The default.
    #[default]
    Strict,
    /// Accept any mode (`arti.permissive-file-permissions: true`, for containers and tests).
    Permissive,
}

/// Read a secret file: it must exist, be a regular file, be private (unless `check` is
/// permissive) and be at most `limit` bytes; a bigger file is refused with the error
/// `too_large` makes from the file's first `limit + 1` bytes (the caller knows what a big file
/// may be: `keys/mod.rs` says "a key bundle, not a key" for one).
///
/// Symbolic links are followed (as ssh and C tor do): what is checked, for type and mode, is the
/// file the link points at. Anything but a regular file (a FIFO, a socket, a device) is refused
/// before it is opened, and the file is opened non-blocking and checked again through the open
/// descriptor, so a FIFO put in its place in between cannot block start-up or a reload either.
///
/// The buffer is allocated once, for the size the file had when checked, and never grows (a
/// reallocation would leave unzeroed copies behind): a file that grows while being read is
/// refused.
pub(crate) fn read_secret_limited(
    path: &Path,
    check: PermissionCheck,
    limit: u64,
    too_large: impl FnOnce(&[u8]) -> KeyError,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => KeyError::NotFound { path: path.into() },
        _ => KeyError::Unreadable {
            path: path.into(),
            source: e,
        },
    })?;
    if meta.is_dir() {
        return Err(KeyError::IsDirectory { path: path.into() });
    }
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    #[cfg(unix)]
    if check == PermissionCheck::Strict {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: path.into(),
                mode,
            });
        }
    }
    let mut opts = OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading blocks until a writer comes, unless non-blocking.
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let mut file = opts.open(path).map_err(|e| KeyError::Unreadable {
        path: path.into(),
        source: e,
    })?;
    let opened = file.metadata().map_err(|e| KeyError::Unreadable {
        path: path.into(),
        source: e,
    })?;
    if !opened.is_file() {
        return Err(not_regular(path, &opened));
    }
    // Preallocate so the buffer is never reallocated (which would leave unzeroed copies): room
    // for the size checked plus one byte, which tells a file that grew (or is too large).
    let capacity = opened.len().min(limit) + 1;
    let mut buf = Zeroizing::new(Vec::with_capacity(usize::try_from(capacity).unwrap_or(0)));
    (&mut file)
        .take(capacity)
        .read_to_end(&mut buf)
        .map_err(|e| KeyError::Unreadable {
            path: path.into(),
            source: e,
        })?;
    if buf.len() as u64 > limit {
        return Err(too_large(&buf));
    }
    if buf.len() as u64 == capacity {
        return Err(KeyError::Unreadable {
            path: path.into(),
            source: io::Error::other("the file grew while it was being read"),
        });
    }
    Ok(buf)
}

/// The error for a path that is neither a folder nor a regular file.
fn not_regular(path: &Path, meta: &fs::Metadata) -> KeyError {
    let ft = meta.file_type();
    #[cfg(unix)]
    let kind = {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_socket() {
            "a socket"
        } else if ft.is_block_device() || ft.is_char_device() {
            "a device"
        } else if ft.is_dir() {
            "a directory"
        } else {
            "something other than a file"
        }
    };
    #[cfg(not(unix))]
    let kind = if ft.is_dir() {
        "a directory"
    } else {
        "something other than a file"
    };
    KeyError::NotRegularFile {
        path: path.into(),
        kind,
    }
}

/// Create `dir` (and missing parents) with mode 0700 for the folders it creates. An existing
/// folder is left as it is.
pub fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| KeyError::Write {
        path: dir.into(),
        source: e,
    })
}

/// Write `bytes` to the new file `path` with permission bits `mode` (Unix), atomically: the
/// content goes to a temporary file in the same folder first, which is then linked to `path`. Fails
/// with [`KeyError::Exists`] if `path` exists, and never replaces it.
pub fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let write_err = |source: io::Error| KeyError::Write {
        path: path.into(),
        source,
    };
    if fs::symlink_metadata(path).is_ok() {
        return Err(KeyError::Exists { path: path.into() });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = write_tmp_then_link(&tmp, path, bytes, mode);
    let _ = fs::remove_file(&tmp);
    match result {
        Ok(()) => {
            // Make the new directory entry durable too; failing that is not worth an error.
            if let Ok(d) = File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(KeyError::Exists { path: path.into() })
        }
        Err(e) => Err(write_err(e)),
    }
}

fn write_tmp_then_link(tmp: &Path, path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let _ = fs::remove_file(tmp);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(tmp)?;
    #[cfg(unix)]
    {
        // The umask may have removed bits from `mode`; set exactly what was asked.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    match fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // Filesystems without hard links: fall back to a direct exclusive create.
        Err(_) => {
            let mut f = opts.open(path)?;
            f.write_all(bytes)?;
            f.sync_all()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A key-sized read, as `keys/mod.rs` does it.
    fn read_secret(path: &Path, check: PermissionCheck) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        read_secret_limited(path, check, MAX_KEY_FILE, |_| KeyError::UnknownFormat {
            path: path.into(),
        })
    }

    /// A FIFO would block the read (start-up, or a reload) until some writer came: refused at
    /// once, directly and through a symlink.
    #[cfg(unix)]
    #[test]
    fn refuses_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("key");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        for p in [&fifo, &link] {
            let (tx, rx) = std::sync::mpsc::channel();
            let p2 = p.clone();
            std::thread::spawn(move || {
                let _ = tx.send(read_secret(&p2, PermissionCheck::Permissive).map(|_| ()));
            });
            let r = rx
                .recv_timeout(std::time::Duration::from_secs(5))
                .expect("read_secret blocked on a FIFO");
            let e = r.unwrap_err();
            assert!(matches!(e, KeyError::NotRegularFile { .. }), "{e:?}");
            assert_eq!(
                e.to_string(),
                format!(
                    "key file {} is a FIFO, not a regular file; point at the key file itself",
                    p.display()
                )
            );
        }
    }

    /// A symlink to a private key file works (the target's mode is what counts).
    #[cfg(unix)]
    #[test]
    fn follows_symlinks_to_regular_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real");
        fs::write(&target, b"x").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(&*read_secret(&link, PermissionCheck::Strict).unwrap(), b"x");
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            read_secret(&link, PermissionCheck::Strict),
            Err(KeyError::Permissions { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn writes_0600_and_refuses_to_overwrite() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/dir/f");
        create_private_dir(p.parent().unwrap()).unwrap();
        let dmode = fs::metadata(p.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dmode & 0o777, 0o700);
        write_new_file(&p, b"abc", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        let mode = fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = write_new_file(&p, b"xyz", 0o600).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} already exists; refusing to overwrite it", p.display())
        );
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        // No temporary file left behind.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }
}
