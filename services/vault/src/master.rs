//! The master key (key-encryption key): where it comes from. A file (created
//! 0600 on the first start, for development and single-server deployments)
//! or an environment variable; [`MasterKeySource`] is the seam where a KMS
//! or an HSM can provide it later.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use zeroize::Zeroizing;

use crate::VaultError;

/// A 256-bit master key. Never printed: `Debug` shows only a fingerprint-free marker.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        Self(Zeroizing::new(rand::random()))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// 64 hexadecimal characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut key = Zeroizing::new([0u8; 32]);
        for (i, k) in key.iter_mut().enumerate() {
            *k = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(key))
    }

    pub(crate) fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Where the master key comes from.
pub trait MasterKeySource: fmt::Debug + Send + Sync {
    /// For messages: which file or variable (never the key).
    fn describe(&self) -> String;
    /// The key, `None` when the source holds none yet.
    fn load(&self) -> Result<Option<MasterKey>, VaultError>;
    /// Creates and stores a new key: only on the very first start, when the
    /// key store does not exist yet. Sources that cannot create refuse.
    fn create(&self) -> Result<MasterKey, VaultError>;
    /// Keeps `new` beside the current key before a rotation re-wraps the
    /// data keys under it, so that a crash half-way loses neither.
    /// Sources that cannot store refuse.
    fn stage(&self, new: &MasterKey) -> Result<(), VaultError>;
    /// Makes the staged key the one this source gives from now on (after the
    /// re-wrap committed).
    fn promote(&self) -> Result<(), VaultError>;
    /// The staged key, if a rotation left one.
    fn staged(&self) -> Result<Option<MasterKey>, VaultError> {
        Ok(None)
    }
}

/// A key file: 64 hexadecimal characters, mode 0600, in a 0700 directory.
/// A rotation writes `<file>.next` first and renames it over the file once
/// the key store is re-wrapped, so a crash between the two is finished on
/// the next start.
#[derive(Debug, Clone)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn next_path(&self) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".next");
        self.path.with_file_name(name)
    }

    fn read(path: &Path) -> Result<Option<MasterKey>, VaultError> {
        match std::fs::read_to_string(path) {
            Ok(text) => MasterKey::from_hex(&text).map(Some).ok_or_else(|| {
                VaultError::MasterKey(format!("{} must hold 64 hexadecimal characters", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(VaultError::MasterKey(format!("cannot read {}: {e}", path.display()))),
        }
    }
}

impl MasterKeySource for KeyFile {
    fn describe(&self) -> String {
        format!("master key file {}", self.path.display())
    }

    fn load(&self) -> Result<Option<MasterKey>, VaultError> {
        Self::read(&self.path)
    }

    fn create(&self) -> Result<MasterKey, VaultError> {
        let key = MasterKey::generate();
        write_private(&self.path, key.to_hex().as_bytes(), false)
            .map_err(|e| VaultError::MasterKey(format!("cannot create {}: {e}", self.path.display())))?;
        tracing::info!(path = %self.path.display(), "created a new master key: keep a copy apart from the data");
        Ok(key)
    }

    fn stage(&self, new: &MasterKey) -> Result<(), VaultError> {
        let next = self.next_path();
        write_private(&next, new.to_hex().as_bytes(), true)
            .map_err(|e| VaultError::MasterKey(format!("cannot write {}: {e}", next.display())))
    }

    fn promote(&self) -> Result<(), VaultError> {
        let fail = |e: std::io::Error| VaultError::MasterKey(format!("cannot replace {}: {e}", self.path.display()));
        std::fs::rename(self.next_path(), &self.path).map_err(fail)?;
        sync_dir(&self.path).map_err(fail)
    }

    fn staged(&self) -> Result<Option<MasterKey>, VaultError> {
        Self::read(&self.next_path())
    }
}

/// A key in an environment variable (64 hexadecimal characters), e.g. put
/// there by the orchestrator's secret store. It cannot be created or
/// replaced from here.
#[derive(Debug, Clone)]
pub struct EnvKey {
    var: String,
}

impl EnvKey {
    pub fn new(var: impl Into<String>) -> Self {
        Self { var: var.into() }
    }
}

impl MasterKeySource for EnvKey {
    fn describe(&self) -> String {
        format!("environment variable {}", self.var)
    }

    fn load(&self) -> Result<Option<MasterKey>, VaultError> {
        match std::env::var(&self.var) {
            Ok(text) => MasterKey::from_hex(&text)
                .map(Some)
                .ok_or_else(|| VaultError::MasterKey(format!("{} must hold 64 hexadecimal characters", self.var))),
            Err(_) => Ok(None),
        }
    }

    fn create(&self) -> Result<MasterKey, VaultError> {
        Err(VaultError::MasterKey(format!("{} is not set", self.var)))
    }

    fn stage(&self, _: &MasterKey) -> Result<(), VaultError> {
        Err(VaultError::MasterKey(format!(
            "{} cannot be changed from here: rotate with a new key file, then set the variable to it",
            self.var
        )))
    }

    fn promote(&self) -> Result<(), VaultError> {
        self.stage(&MasterKey::from_bytes([0; 32]))
    }
}

/// Writes a new private file (0600; its directory created 0700), fsynced.
/// `overwrite` replaces an existing file, else one that exists is an error.
pub(crate) fn write_private(path: &Path, contents: &[u8], overwrite: bool) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(contents)?;
    f.sync_all()?;
    sync_dir(path)
}

/// Creates a directory (and its parents) readable by the owner only.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
