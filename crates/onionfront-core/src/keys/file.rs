//! Key files on disk: reading a secret file with permission checks (into a buffer that is zeroed
//! when dropped), and writing new private files atomically with mode 0600, never overwriting.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::KeyError;

/// Key files are tiny; anything bigger is certainly not one.
const MAX_KEY_FILE: u64 = 16 * 1024;

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
/// permissive) and be small.
pub(crate) fn read_secret(
    path: &Path,
    check: PermissionCheck,
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
    if meta.len() > MAX_KEY_FILE {
        return Err(KeyError::UnknownFormat { path: path.into() });
    }
    let mut file = File::open(path).map_err(|e| KeyError::Unreadable {
        path: path.into(),
        source: e,
    })?;
    // Preallocate so the buffer is never reallocated (which would leave unzeroed copies).
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    (&mut file)
        .take(MAX_KEY_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| KeyError::Unreadable {
            path: path.into(),
            source: e,
        })?;
    if buf.len() as u64 > MAX_KEY_FILE {
        return Err(KeyError::UnknownFormat { path: path.into() });
    }
    Ok(buf)
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
