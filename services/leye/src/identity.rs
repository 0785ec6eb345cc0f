//! Case identifiers derived from a person's resident ID with a secret key.
//!
//! A person's case id is `HMAC-SHA256(key, "person:" + resident ID)`, cut to a
//! UUID (version 8, "custom"). So:
//! - the same person always lands in the same stream, and the store's
//!   expected-revision check is the arbiter of concurrent registrations (no
//!   in-memory index, no second write);
//! - the id is a pseudonym: without the key it cannot be turned back into a
//!   resident ID, not even by trying every possible ID, so it may appear in
//!   logs, NATS subjects and analysts' tables.
//!
//! An enterprise's case id is derived the same way from `"enterprise:"` and
//! its unified social credit code, so registering an enterprise twice meets
//! the same stream.
//!
//! The key is part of the data: back it up with the store. Every server of one
//! deployment must use the same key.

use std::{fmt, path::Path};

use hmac::{Hmac, Mac};
use leye_domain::values::{CreditCode, ResidentId};
use sha2::Sha256;
use uuid::Uuid;

/// The secret that turns resident IDs into case ids.
#[derive(Clone)]
pub struct CaseIds {
    key: [u8; 32],
}

impl fmt::Debug for CaseIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaseIds(<key redacted>)")
    }
}

impl CaseIds {
    pub fn from_key(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Reads the key file (64 hex characters), creating it with a fresh random
    /// key (mode 0600) when it does not exist. A deployment's servers use
    /// [`bound`], which checks the key against the key store first.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            create(path)?;
        }
        Self::load(path)?.ok_or_else(|| anyhow::anyhow!("pseudonym key file {} vanished", path.display()))
    }

    /// Reads the key file (64 hex characters); `None` when it does not exist.
    pub fn load(path: &Path) -> anyhow::Result<Option<Self>> {
        use anyhow::Context;
        if !path.exists() {
            return Ok(None);
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading pseudonym key file {}", path.display()))?;
        let text = text.trim();
        let mut key = [0u8; 32];
        let valid = text.len() == 64
            && text.is_ascii()
            && key.iter_mut().enumerate().all(|(i, k)| match u8::from_str_radix(&text[2 * i..2 * i + 2], 16) {
                Ok(v) => {
                    *k = v;
                    true
                }
                Err(_) => false,
            });
        anyhow::ensure!(valid, "pseudonym key file {} must hold 64 hexadecimal characters", path.display());
        Ok(Some(Self { key }))
    }

    /// The key's fingerprint, kept in the key store so that every server of a
    /// deployment proves it holds the same key ([`bound`]): HMAC-SHA-256
    /// under the key of a fixed text, hex. It names the key without revealing
    /// it, and no case id or command fingerprint can equal it (their texts
    /// start `person:`, `enterprise:`, `command:`).
    pub fn key_check(&self) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"key-check:leye pseudonym key v1");
        leye_store::headfile::hex(&mac.finalize().into_bytes())
    }

    /// The case id of a person.
    pub fn person(&self, id: &ResidentId) -> Uuid {
        self.derive(b"person:", id.as_str())
    }

    /// The case id of an enterprise. A credit code is not personal data, but the
    /// same derivation keeps every case id one kind of value: a keyed pseudonym
    /// that names the case and nothing else.
    pub fn enterprise(&self, code: &CreditCode) -> Uuid {
        self.derive(b"enterprise:", code.as_str())
    }

    /// A command's fingerprint (idempotency: the same command id must carry
    /// the same command): HMAC-SHA-256 under this key of the case id and the
    /// command's bytes, hex. Keyed, so that a fingerprint kept in the store's
    /// clear metadata cannot be tested against guesses without the key.
    pub fn fingerprint(&self, case_id: Uuid, command: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"command:");
        mac.update(case_id.as_bytes());
        mac.update(command);
        leye_store::headfile::hex(&mac.finalize().into_bytes())
    }

    fn derive(&self, kind: &[u8], natural_key: &str) -> Uuid {
        // HMAC accepts keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(kind);
        mac.update(natural_key.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }
}

/// The deployment's case ids: the key at `path`, bound to the key store
/// `vault` (which every server of a deployment shares). The first start
/// records the key's fingerprint there ([`CaseIds::key_check`]); every later
/// start, on any server, must bring the same key. Refused, before anything is
/// derived: a key other than the recorded one, and a missing key file once a
/// key is recorded or the event store holds events (`store_holds_events`):
/// a new key would open a second case for every person already registered.
/// The file is created only for a new deployment. Blocks on a shared key store.
pub fn bound(path: &Path, vault: &leye_vault::Vault, store_holds_events: bool) -> anyhow::Result<CaseIds> {
    let fix = "every server of one store needs the same key: restore this server's pseudonym key from the backup of \
               its data directory, or give it a copy of the first server's (`--pseudonym-key-file`, \
               LEYE_PSEUDONYM_KEY_FILE, `pseudonym_key_file`)";
    let (ids, created) = match CaseIds::load(path)? {
        Some(ids) => (ids, false),
        None => {
            let bound = vault.pseudonym_key_bound()?;
            anyhow::ensure!(
                !bound && !store_holds_events,
                "pseudonym key file {} is missing, but {}: a new key would derive other case ids from the same \
                 resident IDs; {fix}",
                path.display(),
                if bound {
                    "the key store holds the fingerprint of this deployment's key"
                } else {
                    "the event store holds cases derived with a key"
                }
            );
            (CaseIds::load_or_create(path)?, true)
        }
    };
    bind(path, ids, created, vault, fix)
}

/// Records or compares `ids`' fingerprint in the key store. A key file this
/// start `created` that another server's key beat (two servers first started
/// at the same moment on an empty shared store: both found no key recorded,
/// the other recorded first) is removed again, so that this server's next
/// start finds it missing and asks for the deployment's key rather than
/// bringing its own again.
fn bind(path: &Path, ids: CaseIds, created: bool, vault: &leye_vault::Vault, fix: &str) -> anyhow::Result<CaseIds> {
    match vault.bind_pseudonym_key(&ids.key_check())? {
        leye_vault::Binding::Matches => {}
        leye_vault::Binding::Recorded => {
            tracing::info!(key_store = vault.describe(), "pseudonym key's fingerprint recorded in the key store")
        }
        leye_vault::Binding::Differs => {
            let removed = created && std::fs::remove_file(path).is_ok();
            anyhow::bail!(
                "the pseudonym key in {} is not this deployment's: the key store {} holds another key's fingerprint \
                 (this key would derive other case ids from the same resident IDs){}; {fix}",
                path.display(),
                vault.describe(),
                if removed {
                    "; this start created that file a moment before another server recorded its own key, and \
                     removed it again"
                } else {
                    ""
                }
            )
        }
    }
    Ok(ids)
}

/// [`bound`] from async code: whether `store` holds events is asked first,
/// and the key store is asked off the runtime's threads.
pub async fn bound_for(
    path: &Path,
    personal: &std::sync::Arc<crate::personal::PersonalData>,
    store: &impl leye_store::EventStore,
) -> anyhow::Result<CaseIds> {
    let holds_events = store.head().await?.is_some();
    let (path, personal) = (path.to_path_buf(), personal.clone());
    crate::logging::blocking(move || bound(&path, personal.vault(), holds_events)).await?
}

/// Writes a fresh random key to `path` (mode 0600; never over an existing file).
fn create(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let key: [u8; 32] = rand::random();
    let hex = leye_store::headfile::hex(key.as_slice());
    write_private(path, &hex).with_context(|| format!("creating pseudonym key file {}", path.display()))?;
    tracing::info!(path = %path.display(), "created a new pseudonym key: back it up with the store");
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_person_same_case_other_key_other_case() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let id = ResidentId::parse("11010519491231002X", today).unwrap();
        let a = CaseIds::from_key([1; 32]);
        assert_eq!(a.person(&id), a.person(&id));
        assert_ne!(a.person(&id), CaseIds::from_key([2; 32]).person(&id));
        assert!(!a.person(&id).to_string().contains("110105"));
    }

    #[test]
    fn key_file_is_created_once_and_reread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pseudonym.key");
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let id = ResidentId::parse("11010519491231002X", today).unwrap();
        let first = CaseIds::load_or_create(&path).unwrap().person(&id);
        let again = CaseIds::load_or_create(&path).unwrap().person(&id);
        assert_eq!(first, again);
        std::fs::write(&path, "not hex").unwrap();
        assert!(CaseIds::load_or_create(&path).is_err());
    }

    /// Two servers first started at the same moment on an empty shared key
    /// store both find no key recorded and each creates a key file; the one
    /// whose fingerprint arrives second is refused and removes the file it
    /// created, so that its next start asks for the deployment's key instead
    /// of bringing its own again. A key file it did not create is kept.
    #[test]
    fn a_key_file_created_by_a_start_that_lost_the_race_is_removed_and_one_brought_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let master = leye_vault::KeyFile::new(dir.path().join("master.key"));
        let vault =
            leye_vault::Vault::open(&dir.path().join("keys.sqlite"), &master, leye_vault::Cipher::Aes256Gcm).unwrap();
        // The other server recorded its key between this start's look and its own record.
        vault.bind_pseudonym_key(&CaseIds::from_key([7; 32]).key_check()).unwrap();

        let path = dir.path().join("pseudonym.key");
        let created = CaseIds::load_or_create(&path).unwrap();
        let e = bind(&path, created, true, &vault, "the fix").unwrap_err().to_string();
        assert!(e.contains("not this deployment's") && e.contains("removed it again") && e.contains("the fix"), "{e}");
        assert!(!path.exists(), "the key file this start created is gone");
        let e = bound(&path, &vault, false).unwrap_err().to_string();
        assert!(
            e.contains("is missing") && e.contains("holds the fingerprint"),
            "the next start asks for the key: {e}"
        );

        let brought = CaseIds::load_or_create(&path).unwrap();
        let e = bind(&path, brought, false, &vault, "the fix").unwrap_err().to_string();
        assert!(!e.contains("removed"), "{e}");
        assert!(path.exists(), "a key file the operator brought is never removed");
    }
}
