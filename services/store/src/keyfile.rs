//! Secret key files: 32 random bytes, mode 0600, created on first use.
//!
//! Shared by the event store's chain key (`keys/chain.key`) and the audit
//! trail's key (`leye-audit`). A key file is read only if neither group nor
//! others may access it; it is created with `O_EXCL`, so two processes starting
//! at once end up with the same key.

use std::{
    fmt,
    fs::{self, DirBuilder, File, OpenOptions},
    io::{ErrorKind, Read, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::Path,
};

use rand::TryRngCore;

/// Length of a key, in bytes.
pub const KEY_LEN: usize = 32;

/// Why a key file cannot be used. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key file {path}: {reason}")]
pub struct KeyFileError {
    pub path: String,
    pub reason: String,
    /// The file does not exist.
    pub missing: bool,
}

/// A 32-byte secret read from a key file. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_LEN]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A key from its bytes (tests, and keys held elsewhere).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Reads the key at `path`, or creates it (32 bytes from the operating
    /// system's generator, mode 0600, fsynced with its directory) if missing.
    /// The directory must exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyFileError> {
        match Self::load(path) {
            Err(KeyFileError { missing: true, .. }) => {}
            other => return other,
        }
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng.try_fill_bytes(&mut key).map_err(|e| key_error(path, format!("no randomness: {e}")))?;
        let created = OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
        let mut file = match created {
            Ok(file) => file,
            // Someone else created it meanwhile: use theirs.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Self::load(path),
            Err(e) => return Err(key_error(path, format!("cannot create: {e}"))),
        };
        file.write_all(&key)
            .and_then(|()| file.sync_all())
            .map_err(|e| key_error(path, format!("cannot write: {e}")))?;
        sync_dir(path).map_err(|e| key_error(path, format!("cannot sync its directory: {e}")))?;
        Ok(Self(key))
    }

    /// Reads the key at `path`: exactly 32 bytes, not accessible by group or others.
    pub fn load(path: &Path) -> Result<Self, KeyFileError> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(KeyFileError { path: path.display().to_string(), reason: "missing".into(), missing: true });
            }
            Err(e) => return Err(key_error(path, format!("cannot open: {e}"))),
        };
        let meta = file.metadata().map_err(|e| key_error(path, e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(key_error(
                path,
                format!("mode {:o} lets group or others access it; it must be 0600", meta.permissions().mode() & 0o777),
            ));
        }
        let mut bytes = Vec::with_capacity(KEY_LEN + 1);
        Read::take(&mut file, KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| key_error(path, format!("cannot read: {e}")))?;
        let key: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| key_error(path, format!("must be exactly {KEY_LEN} bytes, not {}", b.len())))?;
        Ok(Self(key))
    }
}

fn key_error(path: &Path, reason: String) -> KeyFileError {
    KeyFileError { path: path.display().to_string(), reason, missing: false }
}

/// Creates `dir` (and missing parents) with mode 0700 for what it creates.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Fsyncs the directory holding `path`, so that a create or rename in it is durable.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// Sets `path` to mode `mode` if it exists (a missing file is not an error).
pub fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    match fs::set_permissions(path, fs::Permissions::from_mode(mode)) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_0600_and_refused_when_readable_by_others_or_of_the_wrong_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let a = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(SecretKey::load_or_create(&path).unwrap(), a);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = SecretKey::load(&path).unwrap_err();
        assert!(e.reason.contains("0600"), "{e}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, [1u8; 31]).unwrap();
        let e = SecretKey::load(&path).unwrap_err();
        assert!(e.reason.contains("exactly 32 bytes, not 31"), "{e}");
        assert!(SecretKey::load(&dir.path().join("none")).unwrap_err().missing);
        assert_eq!(format!("{a:?}"), "SecretKey(..)");
    }
}
