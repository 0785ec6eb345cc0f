//! Personal data at rest: envelope encryption with one data key per person,
//! so that destroying that key erases the person (crypto-shredding) while
//! every other byte of the event log stays as it was.
//!
//! # Key hierarchy
//! - **master key** (256 bits, [`MasterKeySource`]: a file created 0600 on the
//!   first start, an environment variable, later a KMS): wraps data keys;
//!   never stored in the key store; rotated by re-wrapping ([`Vault::rotate`]).
//! - **data key** (256 bits, random, one live per subject, i.e. per person
//!   case, never shared): seals that person's fields; kept wrapped in the key
//!   store (`keystore.rs`, its own SQLite file), cached unwrapped in memory.
//!   Keys are created durably in batches ahead of use (one fsync per
//!   [`POOL_BATCH`] new persons; the next batch written in the background
//!   once the pool is half used, [`Vault::refill_ahead`]) and assigned to a
//!   subject on first use; a
//!   sealed value names its key id, so erasure finds every key of a subject
//!   even if an assignment was lost in a power failure. Keys left unassigned
//!   by a stopped process are never handed out again.
//!
//! # Ciphers
//! AES-256-GCM by default, SM4-GCM (key derived with HMAC-SM3) selectable
//! ([`Cipher`]); 96-bit random nonces; the caller's AAD binds a ciphertext to
//! its place (the case, the event) so it cannot be moved to another. Each
//! ciphertext records its cipher and key id.
//!
//! # Invariants
//! - A wrong master key is refused at open (check value), never used to
//!   write; a missing one is an error once the key store exists.
//! - A destroyed key is gone from the live files; what it sealed reads as
//!   [`Opened::Erased`], and a key id the store never knew is an error, not
//!   an erasure.
//! - Nothing secret is printed: keys have redacting `Debug`, errors name ids only.
//!
//! # Layout
//! `cipher.rs` (the two AEADs), `master.rs` (master key sources),
//! `keystore.rs` (the SQLite file), this file (the [`Vault`]).

mod cipher;
mod keystore;
mod master;

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

pub use cipher::Cipher;
pub use master::{EnvKey, KeyFile, MasterKey, MasterKeySource};

/// Unwrapped data keys kept in memory at most; the cache is emptied when full.
const CACHE_LIMIT: usize = 100_000;

/// Data keys created (durably) in one transaction, ahead of use: one fsync
/// per this many new persons instead of one each.
const POOL_BATCH: usize = 256;

/// Below this many keys in the pool, [`Vault::refill_ahead`] is due: the
/// next batch is written while the rest of the pool is handed out, so no
/// registration waits for the key store's fsync.
const POOL_LOW: usize = POOL_BATCH / 2;

/// What the master-key check value seals, and its AAD.
const CHECK_PLAINTEXT: &[u8] = b"leye-vault master key check v1";
const CHECK_AAD: &[u8] = b"leye-vault/check";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The master key is missing, malformed or cannot be stored.
    #[error("master key: {0}")]
    MasterKey(String),
    /// The master key given does not open this key store.
    #[error(
        "the {source_name} does not open the key store {store} (wrong key, or the key store of another deployment)"
    )]
    WrongMasterKey { source_name: String, store: String },
    #[error("key store: {0}")]
    Store(String),
    /// A ciphertext names a key the store never held.
    #[error("sealed data of subject {subject} names data key {kid}, which the key store never held")]
    UnknownKey { subject: Uuid, kid: Uuid },
    /// A ciphertext does not open with its key: altered, or moved from another place.
    #[error("sealed data of subject {subject} does not open: altered, or moved from another case or event")]
    Tampered { subject: Uuid },
}

/// A sealed value as stored beside the clear fields: cipher, key id, nonce
/// and ciphertext (base64).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub alg: Cipher,
    pub kid: Uuid,
    #[serde(with = "b64")]
    pub nonce: Vec<u8>,
    #[serde(with = "b64")]
    pub ct: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed").field("alg", &self.alg).field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// What opening a sealed value gives.
#[derive(Debug)]
pub enum Opened {
    /// The clear text (zeroed when dropped).
    Clear(Zeroizing<Vec<u8>>),
    /// The data key was destroyed: the value is erased for good.
    Erased,
}

/// Counts for `leye keys status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCounts {
    /// Not destroyed (including keys created ahead and not used yet).
    pub live: u64,
    pub destroyed: u64,
}

type DataKey = Zeroizing<[u8; 32]>;

/// The key store with its master key: seals, opens, erases, rotates.
pub struct Vault {
    path: PathBuf,
    conn: Mutex<Connection>,
    master: MasterKey,
    cipher: Cipher,
    /// Unwrapped data keys by key id, with their subject.
    keys: Mutex<HashMap<Uuid, (Uuid, DataKey)>>,
    /// Erasures so far, moved on under the `keys` lock: a key read from the
    /// store before an erasure is not cached after it (see [`Self::erase`]).
    erasures: AtomicU64,
    /// The live key id of each subject seen.
    live: Mutex<HashMap<Uuid, Uuid>>,
    /// Durable keys this process created and has not assigned yet. Never
    /// refilled from the file: a key whose assignment was lost may be in use.
    pool: Mutex<Vec<(Uuid, DataKey)>>,
    /// Assignments (kid, subject) not yet written: written with the next batch.
    assigned: Mutex<Vec<(Uuid, Uuid)>>,
    /// A refill ahead of need is running.
    refilling: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("path", &self.path).field("cipher", &self.cipher).finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens the key store at `path` with the master key of `source`.
    ///
    /// First start (no key store file): the source's key, or a new one it
    /// creates, becomes the master key and the store is created. Later
    /// starts: the source must give the key that opens the store's check
    /// value (a rotation interrupted after its re-wrap is finished here).
    /// New data keys are wrapped and new values sealed with `cipher`.
    pub fn open(path: &Path, source: &dyn MasterKeySource, cipher: Cipher) -> Result<Self, VaultError> {
        let first = !path.exists();
        let master = match source.load()? {
            Some(k) => k,
            None if first => source.create()?,
            None => {
                return Err(VaultError::MasterKey(format!(
                    "the {} holds no key, but the key store {} exists: restore the master key (without it the personal data cannot be read)",
                    source.describe(),
                    path.display()
                )));
            }
        };
        let conn = keystore::open(path, first)?;
        let master = match keystore::meta(&conn, "check")? {
            None => {
                let (nonce, ct) = cipher.seal(master.bytes(), CHECK_AAD, CHECK_PLAINTEXT);
                let check = Sealed { alg: cipher, kid: Uuid::nil(), nonce: nonce.to_vec(), ct };
                keystore::set_meta(&conn, "check", &keystore::encode_sealed(&check))?;
                master
            }
            Some(check) => {
                let check = keystore::parse_sealed(&check)?;
                let opens = |k: &MasterKey| check.alg.open(k.bytes(), CHECK_AAD, &check.nonce, &check.ct).is_some();
                if opens(&master) {
                    master
                } else if let Some(staged) = source.staged()?.filter(|k| opens(k)) {
                    // A rotation re-wrapped everything, then stopped before the new key took the old one's place.
                    source.promote()?;
                    tracing::warn!(source = %source.describe(), "finished an interrupted master-key rotation");
                    staged
                } else {
                    return Err(VaultError::WrongMasterKey {
                        source_name: source.describe(),
                        store: path.display().to_string(),
                    });
                }
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            master,
            cipher,
            keys: Mutex::new(HashMap::new()),
            erasures: AtomicU64::new(0),
            live: Mutex::new(HashMap::new()),
            pool: Mutex::new(Vec::new()),
            assigned: Mutex::new(Vec::new()),
            refilling: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// Seals `plaintext` for `subject` under its live data key (created on
    /// first use), bound to `aad`.
    pub fn seal(&self, subject: Uuid, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, VaultError> {
        let (kid, key) = self.live_key(subject)?;
        let (nonce, ct) = self.cipher.seal(&key, &aad_with(kid, subject, aad), plaintext);
        Ok(Sealed { alg: self.cipher, kid, nonce: nonce.to_vec(), ct })
    }

    /// Makes sure `subject` has a live data key (creating it, durably, when
    /// not): blocking I/O, for callers that want it off their async threads
    /// before [`Self::seal`].
    pub fn prepare(&self, subject: Uuid) -> Result<(), VaultError> {
        self.live_key(subject).map(|_| ())
    }

    /// Whether [`Self::prepare`] for `subject` would touch the disk (the
    /// subject has no key in this process and the pool is empty).
    pub fn prepare_blocks(&self, subject: Uuid) -> bool {
        !self.live.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&subject)
            && self.pool.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }

    /// Opens a value sealed for `subject` with the same `aad`.
    pub fn unseal(&self, subject: Uuid, aad: &[u8], sealed: &Sealed) -> Result<Opened, VaultError> {
        let Some(key) = self.data_key(subject, sealed.kid)? else { return Ok(Opened::Erased) };
        sealed
            .alg
            .open(&key, &aad_with(sealed.kid, subject, aad), &sealed.nonce, &sealed.ct)
            .map(Opened::Clear)
            .ok_or(VaultError::Tampered { subject })
    }

    /// Destroys every data key of `subject`, and the keys `kids` its sealed
    /// values name (in case an assignment was lost): what they sealed is
    /// erased for good. Returns how many keys were live (0 when already erased).
    ///
    /// The cached keys go after the store's rows (also when destroying them
    /// failed), and a key another thread read from the store before the
    /// erasure is not cached after it: once this returns, no value of the
    /// subject opens.
    pub fn erase(&self, subject: Uuid, kids: &[Uuid]) -> Result<usize, VaultError> {
        let destroyed = keystore::destroy(&mut self.lock_conn(), subject, kids);
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&subject);
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        self.erasures.fetch_add(1, Ordering::SeqCst);
        keys.retain(|kid, (s, _)| *s != subject && !kids.contains(kid));
        destroyed
    }

    /// Re-wraps every live data key under `new` in one transaction (the
    /// sealed values are not touched), after `source` staged it; then the
    /// source promotes it. Returns the number of keys re-wrapped.
    pub fn rotate(&mut self, source: &dyn MasterKeySource, new: MasterKey) -> Result<usize, VaultError> {
        source.stage(&new)?;
        let n = self.rewrap(&new)?;
        source.promote()?;
        self.master = new;
        Ok(n)
    }

    /// [`Self::rotate`] for a source that cannot store keys (an environment
    /// variable): re-wraps under `new`; the operator then sets the source to it.
    pub fn rotate_unstaged(&mut self, new: MasterKey) -> Result<usize, VaultError> {
        let n = self.rewrap(&new)?;
        self.master = new;
        Ok(n)
    }

    fn rewrap(&self, new: &MasterKey) -> Result<usize, VaultError> {
        let mut conn = self.lock_conn();
        let live = keystore::all_live(&conn)?;
        let tx = conn.transaction().map_err(|e| VaultError::Store(e.to_string()))?;
        for (kid, wrapped) in &live {
            let key = self.unwrap_key(*kid, wrapped)?;
            keystore::set_wrapped(&tx, *kid, &self.wrap(new, *kid, &key))?;
        }
        let (nonce, ct) = self.cipher.seal(new.bytes(), CHECK_AAD, CHECK_PLAINTEXT);
        let check = Sealed { alg: self.cipher, kid: Uuid::nil(), nonce: nonce.to_vec(), ct };
        keystore::set_meta(&tx, "check", &keystore::encode_sealed(&check))?;
        tx.commit().map_err(|e| VaultError::Store(e.to_string()))?;
        Ok(live.len())
    }

    pub fn counts(&self) -> Result<KeyCounts, VaultError> {
        let (live, destroyed) = keystore::counts(&self.lock_conn())?;
        Ok(KeyCounts { live, destroyed })
    }

    fn lock_conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The subject's live key: the one it has, else one from the pool
    /// (durable before it is handed out).
    fn live_key(&self, subject: Uuid) -> Result<(Uuid, DataKey), VaultError> {
        let cached = self.live.lock().unwrap_or_else(|p| p.into_inner()).get(&subject).copied();
        if let Some(kid) = cached {
            if let Some(key) = self.data_key(subject, kid)? {
                return Ok((kid, key));
            }
        }
        // A subject this process has not sealed for gets a fresh key (also
        // one whose earlier key another process or start assigned: erasure
        // follows the key ids its values name, so every one of them goes).
        let erasures = self.erasures.load(Ordering::SeqCst);
        let (kid, key) = self.take_from_pool()?;
        self.assigned.lock().unwrap_or_else(|p| p.into_inner()).push((kid, subject));
        self.remember(erasures, kid, subject, &key);
        self.live.lock().unwrap_or_else(|p| p.into_inner()).insert(subject, kid);
        Ok((kid, key))
    }

    /// A durable, unassigned key; refills the pool (one transaction, with
    /// the assignments made since the last one) when empty.
    fn take_from_pool(&self) -> Result<(Uuid, DataKey), VaultError> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.is_empty() {
            *pool = self.durable_batch()?;
        }
        pool.pop().ok_or_else(|| VaultError::Store("the key pool is empty after a refill".into()))
    }

    /// [`POOL_BATCH`] new keys, committed (`synchronous=FULL`) with the
    /// assignments made since the last batch before they are returned: a
    /// key is durable before anything is sealed with it.
    fn durable_batch(&self) -> Result<Vec<(Uuid, DataKey)>, VaultError> {
        let fresh: Vec<(Uuid, DataKey)> =
            (0..POOL_BATCH).map(|_| (Uuid::new_v4(), Zeroizing::new(rand::random()))).collect();
        let wrapped: Vec<(Uuid, Sealed)> =
            fresh.iter().map(|(kid, key)| (*kid, self.wrap(&self.master, *kid, key))).collect();
        let assigned = std::mem::take(&mut *self.assigned.lock().unwrap_or_else(|p| p.into_inner()));
        keystore::create_unassigned(&mut self.lock_conn(), &wrapped, &assigned)?;
        Ok(fresh)
    }

    /// Whether the pool is low and no refill is running: call
    /// [`Self::refill_ahead`] (blocking I/O) off the async threads.
    pub fn refill_due(&self) -> bool {
        !self.refilling.load(Ordering::SeqCst) && self.pool.lock().unwrap_or_else(|p| p.into_inner()).len() < POOL_LOW
    }

    /// Writes the next batch of keys durably while the pool still hands out
    /// the rest, then adds it to the pool. At most one runs at a time (a
    /// second call returns at once).
    pub fn refill_ahead(&self) -> Result<(), VaultError> {
        if self.refilling.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let fresh = self.durable_batch();
        if let Ok(fresh) = &fresh {
            self.pool.lock().unwrap_or_else(|p| p.into_inner()).extend(fresh.iter().cloned());
        }
        self.refilling.store(false, Ordering::SeqCst);
        fresh.map(drop)
    }

    /// The unwrapped data key `kid` of `subject`; `None` when destroyed.
    fn data_key(&self, subject: Uuid, kid: Uuid) -> Result<Option<DataKey>, VaultError> {
        if let Some((s, key)) = self.keys.lock().unwrap_or_else(|p| p.into_inner()).get(&kid) {
            if *s == subject {
                return Ok(Some(key.clone()));
            }
        }
        let erasures = self.erasures.load(Ordering::SeqCst);
        let row = keystore::key(&self.lock_conn(), kid)?;
        match row {
            // The AAD binds the value to its subject; a recorded assignment must agree.
            Some(keystore::KeyRow::Live { subject: s, wrapped }) if s.is_none_or(|s| s == subject) => {
                let key = self.unwrap_key(kid, &wrapped)?;
                self.remember(erasures, kid, subject, &key);
                Ok(Some(key))
            }
            Some(keystore::KeyRow::Destroyed) => Ok(None),
            // A key of another subject: the value was moved here.
            Some(keystore::KeyRow::Live { .. }) => Err(VaultError::Tampered { subject }),
            None => Err(VaultError::UnknownKey { subject, kid }),
        }
    }

    /// Caches `key`, unless an erasure happened since `erasures` was read
    /// (the key may be one it destroyed).
    fn remember(&self, erasures: u64, kid: Uuid, subject: Uuid, key: &DataKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if self.erasures.load(Ordering::SeqCst) != erasures {
            return;
        }
        if keys.len() >= CACHE_LIMIT {
            keys.clear();
        }
        keys.insert(kid, (subject, key.clone()));
    }

    fn wrap(&self, master: &MasterKey, kid: Uuid, key: &DataKey) -> Sealed {
        let (nonce, ct) = self.cipher.seal(master.bytes(), &wrap_aad(kid), key.as_slice());
        Sealed { alg: self.cipher, kid, nonce: nonce.to_vec(), ct }
    }

    fn unwrap_key(&self, kid: Uuid, wrapped: &Sealed) -> Result<DataKey, VaultError> {
        let clear = wrapped
            .alg
            .open(self.master.bytes(), &wrap_aad(kid), &wrapped.nonce, &wrapped.ct)
            .ok_or_else(|| VaultError::Store(format!("data key {kid} does not unwrap with the master key")))?;
        let bytes: [u8; 32] = clear
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Store(format!("data key {kid} has the wrong length")))?;
        Ok(Zeroizing::new(bytes))
    }
}

fn wrap_aad(kid: Uuid) -> Vec<u8> {
    [b"leye-vault/data-key/v1".as_slice(), kid.as_bytes()].concat()
}

fn aad_with(kid: Uuid, subject: Uuid, aad: &[u8]) -> Vec<u8> {
    [b"leye-vault/sealed/v1".as_slice(), kid.as_bytes(), subject.as_bytes(), aad].concat()
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD_NO_PAD.decode(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
