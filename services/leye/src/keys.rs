//! Operator commands on personal data (`leye keys …`, `leye migrate
//! encrypt`): file operations on the data directory, like `leye projections
//! rebuild`, not gRPC. Run them with the service stopped.
//!
//! - `leye keys rotate`: re-wraps every person's data key under a new master
//!   key in one transaction; no event is rewritten. A master key file is
//!   replaced through `<file>.next` (a crash half-way is finished by the next
//!   start); a key in `LEYE_MASTER_KEY` needs `--new-master-key-file`, and the
//!   operator then sets the variable to it.
//! - `leye keys status`: how many data keys are live and destroyed.
//! - `leye keys copy`: with `--store postgres://…`, copies the server's
//!   SQLite key store (`<data_dir>/keys/keys.sqlite`) into the PostgreSQL key
//!   store every server of that event store shares, and checks every key on
//!   arrival. With a shared key store, `rotate` re-wraps the keys of all
//!   servers: stop every one of them first and give each the new master key.
//! - `leye migrate encrypt`: one way, seals the personal fields of every
//!   `person.registered` event a release before sealing wrote in clear, in
//!   place: positions, event ids, recorded times and metadata are untouched,
//!   so checkpoints stay valid and the read model (which never held personal
//!   data) needs no rebuild. Already sealed events are left as they are, so
//!   it may be run again.

use std::path::Path;

use anyhow::Context;
use leye_vault::{KeyFile, MasterKey, MasterKeySource, Vault};

use crate::{
    cases::{AppError, Person, case_id_of},
    config::{STORE_FILE, ServeConfig},
    personal::{MASTER_KEY_ENV, PersonalData, VaultConfig},
};

/// Re-wraps every data key under a new master key; returns a report line.
pub fn rotate(config: &ServeConfig, new_key_file: Option<&Path>) -> anyhow::Result<String> {
    let source = config.vault.source();
    let mut vault = config.vault.open_vault()?;
    let new = match new_key_file {
        Some(path) => KeyFile::new(path)
            .load()?
            .with_context(|| format!("new master key file {} does not exist", path.display()))?,
        None => MasterKey::generate(),
    };
    if std::env::var_os(MASTER_KEY_ENV).is_some() {
        let path = new_key_file.with_context(|| {
            format!("the master key comes from {MASTER_KEY_ENV}: give the new key with --new-master-key-file")
        })?;
        let n = vault.rotate_unstaged(new)?;
        return Ok(format!(
            "{n} data keys re-wrapped; now set {MASTER_KEY_ENV} to the key in {} (the old key no longer opens the key store)",
            path.display()
        ));
    }
    let n = vault.rotate(source.as_ref(), new)?;
    Ok(format!(
        "{n} data keys re-wrapped under a new master key, now in {}; keep a copy apart from the data",
        config.vault.master_key_file.display()
    ))
}

/// Live and destroyed data keys; returns a report line.
pub fn status(config: &ServeConfig) -> anyhow::Result<String> {
    let vault = config.vault.open_vault()?;
    let c = vault.counts()?;
    Ok(format!(
        "key store {}: {} live data keys, {} destroyed (erased persons); cipher for new keys {}",
        config.vault.describe(),
        c.live,
        c.destroyed,
        config.vault.cipher.as_str()
    ))
}

/// Copies this server's SQLite key store into the shared PostgreSQL one,
/// verified on arrival; returns a report line.
pub fn copy(config: &ServeConfig) -> anyhow::Result<String> {
    copy_keys(&config.vault)
}

/// [`copy`] for a vault configuration (`leye store copy` into PostgreSQL
/// calls it with the target's URL).
pub fn copy_keys(vault: &VaultConfig) -> anyhow::Result<String> {
    KeysCopy::prepare(vault)?.run()
}

/// A copy of a SQLite key store into the shared PostgreSQL one, checked and
/// not yet written (`leye_vault::KeyCopy`): `leye store copy` prepares it
/// before it copies the log, so that a refusal leaves the target as it was.
#[derive(Debug)]
pub struct KeysCopy {
    copy: leye_vault::KeyCopy,
    vault: VaultConfig,
    options: leye_vault::PgKeyStoreOptions,
}

impl KeysCopy {
    /// Reads `vault`'s SQLite key store and checks it against the PostgreSQL
    /// one it names (the master key opens both, both are bound to the same
    /// pseudonym key), writing nothing.
    pub fn prepare(vault: &VaultConfig) -> anyhow::Result<Self> {
        let shared = vault.shared.as_ref().with_context(
            || "leye keys copy copies into the key store of a PostgreSQL event store: give --store postgres://…",
        )?;
        let options = shared.options();
        let from = &vault.key_store;
        let copy = leye_vault::KeyCopy::prepare(from, vault.source().as_ref(), &options)
            .with_context(|| format!("copying {} into the {}", from.display(), options.describe()))?;
        Ok(Self { copy, vault: vault.clone(), options })
    }

    /// The SQLite key store copied.
    pub fn key_store(&self) -> &std::path::Path {
        &self.vault.key_store
    }

    /// Writes the copy, verified on arrival; returns a report line.
    pub fn run(self) -> anyhow::Result<String> {
        let from = &self.vault.key_store;
        let r = self
            .copy
            .run(self.vault.source().as_ref())
            .with_context(|| format!("copying {} into the {}", from.display(), self.options.describe()))?;
        Ok(format!(
            "{} data keys ({} destroyed) of {} are in the {}, checked ({} new); every server of this store now reads them",
            r.keys,
            r.destroyed,
            from.display(),
            self.options.describe(),
            r.added
        ))
    }
}

/// Seals the personal fields of every registration stored in clear; returns
/// how many events were sealed.
pub fn migrate_encrypt(config: &ServeConfig) -> anyhow::Result<usize> {
    let store = config.data_dir.join(STORE_FILE);
    anyhow::ensure!(store.exists(), "no event store at {}", store.display());
    let personal = PersonalData::new(std::sync::Arc::new(Vault::open(
        &config.vault.key_store,
        config.vault.source().as_ref(),
        config.vault.cipher,
    )?));
    let sealed = leye_store::maintenance::rewrite_payloads(&store, "person.registered", |p| {
        let stream = leye_store::StreamName::parse(p.stream).map_err(AppError::from)?;
        let case_id = case_id_of::<Person>(&stream)
            .ok_or_else(|| AppError::Corrupt(format!("a person.registered event in stream {}", p.stream)))?;
        let data = personal.seal(case_id, p.event_id, p.event_type, p.data.to_vec())?;
        Ok::<_, AppError>((data != p.data).then_some(data))
    })
    .with_context(|| format!("sealing personal data in {}", store.display()))?;
    Ok(sealed)
}
