//! `leye keys copy`: a server's SQLite key store copied into the PostgreSQL
//! key store shared by the servers of a PostgreSQL event store, as it is
//! (keys stay wrapped by the same master key; tombstones come along), then
//! verified on arrival.

use std::{collections::HashMap, path::Path};

use crate::{
    Cipher, MasterKeySource, PgKeyStoreOptions, Vault, VaultError,
    binding::Setting,
    keystore,
    pgstore::{ImportRow, PgKeyStore},
    unwrap_key,
};

/// A copy checked as far as it can be without writing ([`KeyCopy::prepare`]),
/// then written ([`KeyCopy::run`]): `leye store copy` prepares it before it
/// copies the log, so that a refusal leaves the target as it was.
pub struct KeyCopy {
    rows: Vec<ImportRow>,
    /// The check value to keep: the PostgreSQL store's own when it opens with
    /// the same master key, else the file's.
    check: String,
    pseudonym: Option<String>,
    pg: PgKeyStore,
    to: PgKeyStoreOptions,
}

impl std::fmt::Debug for KeyCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCopy").field("keys", &self.rows.len()).field("to", &self.pg.describe()).finish()
    }
}

impl KeyCopy {
    /// Reads the SQLite key store at `from` and checks, writing no key, that
    /// the master key of `source` opens it, every key in it and the
    /// PostgreSQL key store (when that holds keys), and that both are bound
    /// to the same pseudonym key (when both are).
    pub fn prepare(from: &Path, source: &dyn MasterKeySource, to: &PgKeyStoreOptions) -> Result<Self, VaultError> {
        if !from.exists() {
            return Err(VaultError::Store(format!("no key store at {}", from.display())));
        }
        // Opening checks the master key against the file's check value.
        let sqlite = Vault::open(from, source, Cipher::default())?;
        let (rows, check, pseudonym) = {
            let conn = match &sqlite.backend {
                crate::Backend::Sqlite(c) => c.lock().unwrap_or_else(|p| p.into_inner()),
                crate::Backend::Postgres(_) => {
                    return Err(VaultError::Store("the source is not a SQLite key store".into()));
                }
            };
            let check = keystore::meta(&conn, "check")?
                .ok_or_else(|| VaultError::Store(format!("{} has no check value", from.display())))?;
            (keystore::export(&conn)?, check, keystore::meta(&conn, Setting::PseudonymKey.row())?)
        };
        for r in &rows {
            if let Some(w) = &r.wrapped {
                unwrap_key(&sqlite.master, r.kid, w)?;
            }
        }
        let pg = PgKeyStore::open(to)?;
        // A check value is sealed with a random nonce: a PostgreSQL key store a
        // server already opened with the same master key holds another text
        // that opens with the same key. Keep its value then.
        let check = match pg.meta("check")? {
            Some(existing) if crate::check_opens(&existing, &sqlite.master) => existing,
            Some(_) => return Err(another_master_key()),
            None => check,
        };
        // The servers of the PostgreSQL store derive case ids with one pseudonym
        // key: keys of a deployment that used another are refused, before any is
        // copied (its persons' cases would not be found there).
        if let (Some(ours), Some(theirs)) = (&pseudonym, pg.meta(Setting::PseudonymKey.row())?) {
            if *ours != theirs {
                return Err(VaultError::Store(format!(
                    "{} is bound to another pseudonym key than {} (their servers derive other case ids from the same \
                     resident ID): nothing copied",
                    pg.describe(),
                    from.display()
                )));
            }
        }
        Ok(KeyCopy { rows, check, pseudonym, pg, to: to.clone() })
    }
}

/// What a copy moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyReport {
    /// Key rows in the SQLite file (live and destroyed).
    pub keys: u64,
    /// Of those, destroyed (tombstones).
    pub destroyed: u64,
    /// Rows the PostgreSQL store did not hold before.
    pub added: u64,
}

/// Copies the SQLite key store at `from` into PostgreSQL, and checks that
/// every key arrived as it left: the same wrapped bytes for a live key (or
/// destroyed since, on the PostgreSQL side: a copy never brings a destroyed
/// key back), a tombstone for a destroyed one, and that the master key of
/// `source` opens both stores and every key copied. The pseudonym key's
/// fingerprint comes along. Refuses a PostgreSQL store holding keys of
/// another master key, or bound to another pseudonym key. May be run again.
pub fn copy_sqlite_to_postgres(
    from: &Path,
    source: &dyn MasterKeySource,
    to: &PgKeyStoreOptions,
) -> Result<CopyReport, VaultError> {
    KeyCopy::prepare(from, source, to)?.run(source)
}

impl KeyCopy {
    /// Writes the prepared copy (see [`copy_sqlite_to_postgres`]).
    pub fn run(self, source: &dyn MasterKeySource) -> Result<CopyReport, VaultError> {
        let KeyCopy { rows, check, pseudonym, pg, to } = self;
        let added = pg.import(rows.clone(), check)?;
        if let Some(ours) = &pseudonym {
            pg.init_meta(Setting::PseudonymKey.row(), ours)?;
        }
        let arrived: HashMap<_, ImportRow> = pg.export()?.into_iter().map(|r| (r.kid, r)).collect();
        for r in &rows {
            let Some(there) = arrived.get(&r.kid) else {
                return Err(VaultError::Store(format!(
                    "data key {} is missing in {} after the copy",
                    r.kid,
                    pg.describe()
                )));
            };
            let same = match (&r.wrapped, &there.wrapped) {
                (Some(a), Some(b)) => a == b,
                (_, None) => there.destroyed_at_us.is_some(),
                (None, Some(_)) => false,
            };
            if !same {
                return Err(VaultError::Store(format!(
                    "data key {} differs in {} after the copy (a live key there that is destroyed here, or other wrapped bytes)",
                    r.kid,
                    pg.describe()
                )));
            }
        }
        drop(pg);
        // The shared store now opens with the same master key.
        Vault::open_postgres(&to, source, Cipher::default())?;
        let destroyed = rows.iter().filter(|r| r.wrapped.is_none()).count() as u64;
        Ok(CopyReport { keys: rows.len() as u64, destroyed, added })
    }
}

/// The refusal of a PostgreSQL key store whose check value another master key made.
pub(crate) fn another_master_key() -> VaultError {
    VaultError::Store(
        "the PostgreSQL key store holds keys of another master key (its check value differs); copy only into an \
         empty key store or one copied from the same file"
            .into(),
    )
}
