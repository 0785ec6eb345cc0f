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
//! `keystore.rs` (the SQLite file), `pgstore.rs` (the PostgreSQL one),
//! `binding.rs` (what every server of a deployment must agree on: the
//! pseudonym key's fingerprint and the shared settings), this file (the [`Vault`]).

mod binding;
mod cipher;
mod copy;
mod keystore;
mod master;
mod pgstore;

use std::{
    collections::HashMap,
    fmt,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

pub use binding::{Binding, Setting};
pub use cipher::Cipher;
pub use copy::{CopyReport, KeyCopy, copy_sqlite_to_postgres};
pub use master::{EnvKey, KeyFile, MasterKey, MasterKeySource};
pub use pgstore::PgKeyStoreOptions;

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

/// Where the wrapped keys are: the SQLite file of one server, or PostgreSQL
/// shared by every server of a PostgreSQL event store.
enum Backend {
    Sqlite(Mutex<Connection>),
    Postgres(pgstore::PgKeyStore),
}

impl Backend {
    fn create_unassigned(&self, keys: &[(Uuid, Sealed)], assigned: &[(Uuid, Uuid)]) -> Result<(), VaultError> {
        match self {
            Self::Sqlite(c) => {
                keystore::create_unassigned(&mut c.lock().unwrap_or_else(|p| p.into_inner()), keys, assigned)
            }
            Self::Postgres(p) => p.create_unassigned(keys, assigned),
        }
    }

    fn key(&self, kid: Uuid) -> Result<Option<keystore::KeyRow>, VaultError> {
        match self {
            Self::Sqlite(c) => keystore::key(&c.lock().unwrap_or_else(|p| p.into_inner()), kid),
            Self::Postgres(p) => p.key(kid),
        }
    }

    fn destroy(&self, subject: Uuid, kids: &[Uuid]) -> Result<usize, VaultError> {
        match self {
            Self::Sqlite(c) => keystore::destroy(&mut c.lock().unwrap_or_else(|p| p.into_inner()), subject, kids),
            Self::Postgres(p) => p.destroy(subject, kids),
        }
    }

    fn meta(&self, name: &str) -> Result<Option<String>, VaultError> {
        match self {
            Self::Sqlite(c) => keystore::meta(&c.lock().unwrap_or_else(|p| p.into_inner()), name),
            Self::Postgres(p) => p.meta(name),
        }
    }

    /// The values under `names`, in their order: one statement on PostgreSQL.
    fn metas(&self, names: &[&str]) -> Result<Vec<Option<String>>, VaultError> {
        match self {
            Self::Sqlite(c) => {
                let conn = c.lock().unwrap_or_else(|p| p.into_inner());
                names.iter().map(|n| keystore::meta(&conn, n)).collect()
            }
            Self::Postgres(p) => p.metas(names),
        }
    }

    /// Stores `value` under `name` unless a value is there; the value stored.
    fn init_meta(&self, name: &str, value: &str) -> Result<String, VaultError> {
        match self {
            Self::Sqlite(c) => keystore::init_meta(&c.lock().unwrap_or_else(|p| p.into_inner()), name, value),
            Self::Postgres(p) => p.init_meta(name, value),
        }
    }

    /// Stores `value` under `name`, in place of any value there.
    fn set_meta(&self, name: &str, value: &str) -> Result<(), VaultError> {
        match self {
            Self::Sqlite(c) => keystore::set_meta(&c.lock().unwrap_or_else(|p| p.into_inner()), name, value),
            Self::Postgres(p) => p.set_meta(name, value),
        }
    }

    fn counts(&self) -> Result<(u64, u64), VaultError> {
        match self {
            Self::Sqlite(c) => keystore::counts(&c.lock().unwrap_or_else(|p| p.into_inner())),
            Self::Postgres(p) => p.counts(),
        }
    }
}

/// What this process holds in memory of the keys; shared with the erasure
/// follower of a PostgreSQL key store, which drops a person's entries when
/// another server erased them.
#[derive(Default)]
struct Caches {
    /// Unwrapped data keys by key id, with their subject.
    keys: Mutex<HashMap<Uuid, (Uuid, DataKey)>>,
    /// Erasures so far, moved on under the `keys` lock: a key read from the
    /// store before an erasure is not cached after it (see [`Vault::erase`]).
    erasures: AtomicU64,
    /// The live key id of each subject seen.
    live: Mutex<HashMap<Uuid, Uuid>>,
}

impl Caches {
    /// Drops the subject's keys (and the keys `kids`) from memory, and
    /// refuses to cache any key read before now.
    fn forget(&self, subject: Uuid, kids: &[Uuid]) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&subject);
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        self.erasures.fetch_add(1, Ordering::SeqCst);
        keys.retain(|kid, (s, _)| *s != subject && !kids.contains(kid));
    }
}

/// The key store with its master key: seals, opens, erases, rotates.
pub struct Vault {
    /// For messages: the file, or the PostgreSQL database and schema.
    store: String,
    backend: Backend,
    master: MasterKey,
    cipher: Cipher,
    caches: Arc<Caches>,
    /// Durable keys this process created and has not assigned yet. Never
    /// refilled from the store: a key whose assignment was lost may be in use.
    pool: Mutex<Vec<(Uuid, DataKey)>>,
    /// Assignments (kid, subject) not yet written: written with the next batch.
    assigned: Mutex<Vec<(Uuid, Uuid)>>,
    /// A refill ahead of need is running.
    refilling: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("store", &self.store).field("cipher", &self.cipher).finish_non_exhaustive()
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
        let store = path.display().to_string();
        let master = Self::master(first, source, &store)?;
        let conn = keystore::open(path, first)?;
        let check = keystore::meta(&conn, "check")?;
        let check = match check {
            Some(c) => c,
            None => {
                let c = keystore::encode_sealed(&check_value(cipher, &master));
                keystore::set_meta(&conn, "check", &c)?;
                c
            }
        };
        let master = Self::verify(master, &check, source, &store)?;
        Ok(Self::with(store, Backend::Sqlite(Mutex::new(conn)), master, cipher))
    }

    /// Opens (creating its tables when missing) the key store in PostgreSQL
    /// shared by several servers, with the master key of `source`: the same
    /// rules as [`Self::open`], the first server to start with an empty store
    /// setting the master key (its check value) for all.
    pub fn open_postgres(
        options: &PgKeyStoreOptions,
        source: &dyn MasterKeySource,
        cipher: Cipher,
    ) -> Result<Self, VaultError> {
        let pg = pgstore::PgKeyStore::open(options)?;
        let store = pg.describe().to_owned();
        let existing = pg.meta("check")?;
        let master = Self::master(existing.is_none(), source, &store)?;
        let check = match existing {
            Some(c) => c,
            // Another server may have been first meanwhile: its value counts.
            None => pg.init_meta("check", &keystore::encode_sealed(&check_value(cipher, &master)))?,
        };
        let master = Self::verify(master, &check, source, &store)?;
        let follower = pg.follower.clone();
        let vault = Self::with(store, Backend::Postgres(pg), master, cipher);
        let caches = vault.caches.clone();
        follower.add_hook(Arc::new(move |subject, kids| caches.forget(subject, kids)));
        Ok(vault)
    }

    /// Whether the PostgreSQL key store holds a master key's check value
    /// (a server has opened it); creates its tables when missing.
    pub fn postgres_key_store_exists(options: &PgKeyStoreOptions) -> Result<bool, VaultError> {
        Ok(pgstore::PgKeyStore::open(options)?.meta("check")?.is_some())
    }

    /// The source's key; a new one on the very first start.
    fn master(first: bool, source: &dyn MasterKeySource, store: &str) -> Result<MasterKey, VaultError> {
        match source.load()? {
            Some(k) => Ok(k),
            None if first => source.create(),
            None => Err(VaultError::MasterKey(format!(
                "the {} holds no key, but the key store {store} exists: restore the master key (without it the \
                 personal data cannot be read)",
                source.describe(),
            ))),
        }
    }

    /// `master` if it opens the check value; else the source's staged key
    /// (an interrupted rotation, finished here); else the refusal.
    fn verify(
        master: MasterKey,
        check: &str,
        source: &dyn MasterKeySource,
        store: &str,
    ) -> Result<MasterKey, VaultError> {
        let check = keystore::parse_sealed(check)?;
        let opens = |k: &MasterKey| check.alg.open(k.bytes(), CHECK_AAD, &check.nonce, &check.ct).is_some();
        if opens(&master) {
            Ok(master)
        } else if let Some(staged) = source.staged()?.filter(|k| opens(k)) {
            // A rotation re-wrapped everything, then stopped before the new key took the old one's place.
            source.promote()?;
            tracing::warn!(source = %source.describe(), "finished an interrupted master-key rotation");
            Ok(staged)
        } else {
            Err(VaultError::WrongMasterKey { source_name: source.describe(), store: store.to_owned() })
        }
    }

    fn with(store: String, backend: Backend, master: MasterKey, cipher: Cipher) -> Self {
        Self {
            store,
            backend,
            master,
            cipher,
            caches: Arc::default(),
            pool: Mutex::new(Vec::new()),
            assigned: Mutex::new(Vec::new()),
            refilling: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether what this process holds in memory may be served. Always, over
    /// a SQLite key store (erasures happen in this process); over PostgreSQL,
    /// while the erasure follower is up to date (see
    /// [`PgKeyStoreOptions::max_staleness`]); otherwise every read asks the store.
    pub fn cache_fresh(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(_) => true,
            Backend::Postgres(p) => p.follower.fresh(),
        }
    }

    /// Calls `hook` with the subject of every erasure another server makes
    /// (a PostgreSQL key store; never for SQLite), after this vault dropped
    /// its keys: for callers that keep opened data of their own.
    pub fn on_erasure(&self, hook: impl Fn(Uuid) + Send + Sync + 'static) {
        if let Backend::Postgres(p) = &self.backend {
            p.follower.add_hook(Arc::new(move |subject, _| hook(subject)));
        }
    }

    /// Where the keys are, for messages.
    pub fn describe(&self) -> &str {
        &self.store
    }

    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// Seals `plaintext` for `subject` under its live data key (created on
    /// first use), bound to `aad`.
    pub fn seal(&self, subject: Uuid, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, VaultError> {
        let (kid, key, _) = self.live_key(subject)?;
        let (nonce, ct) = self.cipher.seal(&key, &aad_with(kid, subject, aad), plaintext);
        Ok(Sealed { alg: self.cipher, kid, nonce: nonce.to_vec(), ct })
    }

    /// Makes sure `subject` has a live data key (creating it, durably, when
    /// not): blocking I/O, for callers that want it off their async threads
    /// before [`Self::seal`].
    ///
    /// Over a shared (PostgreSQL) key store, a key this process holds for
    /// the subject is first checked in the store: another server may have
    /// destroyed it (an erasure this process has not followed yet), and
    /// nothing new is sealed under a destroyed key.
    ///
    /// Returns the key's id when this call gave the subject a fresh key: if
    /// nothing sealed with it is recorded after all, [`Self::unbind`] takes
    /// it back.
    pub fn prepare(&self, subject: Uuid) -> Result<Option<Uuid>, VaultError> {
        if let Backend::Postgres(_) = &self.backend {
            let cached = self.caches.live.lock().unwrap_or_else(|p| p.into_inner()).get(&subject).copied();
            if let Some(kid) = cached {
                if !matches!(self.backend.key(kid)?, Some(keystore::KeyRow::Live { .. })) {
                    self.caches.forget(subject, &[kid]);
                }
            }
        }
        self.live_key(subject).map(|(kid, _, fresh)| fresh.then_some(kid))
    }

    /// Takes back the key `kid` that [`Self::prepare`] gave `subject` fresh,
    /// when nothing sealed with it was recorded (the append it went with was
    /// refused): the subject is not left bound to an unused key, which for
    /// an erased person would be a live key after the erasure. The key is
    /// never handed out again; it stays in the store unassigned, as the
    /// pool's keys a stopped process did not use.
    ///
    /// Only while its assignment is not yet written (the next pool refill
    /// writes it): returns whether it was taken back. Once written, the key
    /// stays the subject's, unused, and goes with the subject's erasure.
    pub fn unbind(&self, subject: Uuid, kid: Uuid) -> bool {
        {
            let mut assigned = self.assigned.lock().unwrap_or_else(|p| p.into_inner());
            let Some(i) = assigned.iter().position(|a| *a == (kid, subject)) else { return false };
            assigned.swap_remove(i);
        }
        let mut live = self.caches.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.get(&subject) == Some(&kid) {
            live.remove(&subject);
        }
        drop(live);
        self.caches.keys.lock().unwrap_or_else(|p| p.into_inner()).remove(&kid);
        true
    }

    /// Whether [`Self::prepare`] for `subject` would touch the disk (the
    /// subject has no key in this process and the pool is empty).
    pub fn prepare_blocks(&self, subject: Uuid) -> bool {
        let known = self.caches.live.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&subject);
        match &self.backend {
            // A known subject's key is checked in the store (see `prepare`).
            Backend::Postgres(_) if known => true,
            _ => !known && self.pool.lock().unwrap_or_else(|p| p.into_inner()).is_empty(),
        }
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
        let destroyed = self.backend.destroy(subject, kids);
        self.caches.forget(subject, kids);
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
        let check = keystore::encode_sealed(&check_value(self.cipher, new));
        let (old, new, cipher) = (self.master.clone(), new.clone(), self.cipher);
        let rewrap = move |kid: Uuid, wrapped: &Sealed| -> Result<Sealed, VaultError> {
            let key = unwrap_key(&old, kid, wrapped)?;
            Ok(wrap(cipher, &new, kid, &key))
        };
        match &self.backend {
            Backend::Sqlite(c) => keystore::rewrap(&mut c.lock().unwrap_or_else(|p| p.into_inner()), &rewrap, &check),
            Backend::Postgres(p) => p.rewrap(Box::new(rewrap), check),
        }
    }

    #[cfg(test)]
    fn lock_conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        match &self.backend {
            Backend::Sqlite(c) => c.lock().unwrap_or_else(|p| p.into_inner()),
            Backend::Postgres(_) => panic!("a SQLite key store was expected"),
        }
    }

    pub fn counts(&self) -> Result<KeyCounts, VaultError> {
        let (live, destroyed) = self.backend.counts()?;
        Ok(KeyCounts { live, destroyed })
    }

    /// The subject's live key: the one it has, else one from the pool
    /// (durable before it is handed out; `true`: fresh).
    fn live_key(&self, subject: Uuid) -> Result<(Uuid, DataKey, bool), VaultError> {
        let cached = self.caches.live.lock().unwrap_or_else(|p| p.into_inner()).get(&subject).copied();
        if let Some(kid) = cached {
            if let Some(key) = self.data_key(subject, kid)? {
                return Ok((kid, key, false));
            }
        }
        // A subject this process has not sealed for gets a fresh key (also
        // one whose earlier key another process or start assigned: erasure
        // follows the key ids its values name, so every one of them goes).
        let erasures = self.caches.erasures.load(Ordering::SeqCst);
        let (kid, key) = self.take_from_pool()?;
        self.assigned.lock().unwrap_or_else(|p| p.into_inner()).push((kid, subject));
        self.remember(erasures, kid, subject, &key);
        self.caches.live.lock().unwrap_or_else(|p| p.into_inner()).insert(subject, kid);
        Ok((kid, key, true))
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
            fresh.iter().map(|(kid, key)| (*kid, wrap(self.cipher, &self.master, *kid, key))).collect();
        let assigned = std::mem::take(&mut *self.assigned.lock().unwrap_or_else(|p| p.into_inner()));
        self.backend.create_unassigned(&wrapped, &assigned)?;
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
        if self.cache_fresh() {
            if let Some((s, key)) = self.caches.keys.lock().unwrap_or_else(|p| p.into_inner()).get(&kid) {
                if *s == subject {
                    return Ok(Some(key.clone()));
                }
            }
        }
        let erasures = self.caches.erasures.load(Ordering::SeqCst);
        let row = self.backend.key(kid)?;
        match row {
            // The AAD binds the value to its subject; a recorded assignment must agree.
            Some(keystore::KeyRow::Live { subject: s, wrapped }) if s.is_none_or(|s| s == subject) => {
                let key = unwrap_key(&self.master, kid, &wrapped)?;
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
        let mut keys = self.caches.keys.lock().unwrap_or_else(|p| p.into_inner());
        if self.caches.erasures.load(Ordering::SeqCst) != erasures {
            return;
        }
        if keys.len() >= CACHE_LIMIT {
            keys.clear();
        }
        keys.insert(kid, (subject, key.clone()));
    }
}

/// Whether the encoded check value `check` opens with `master`.
pub(crate) fn check_opens(check: &str, master: &MasterKey) -> bool {
    keystore::parse_sealed(check).is_ok_and(|c| c.alg.open(master.bytes(), CHECK_AAD, &c.nonce, &c.ct).is_some())
}

/// The check value: a known text sealed with the master key.
fn check_value(cipher: Cipher, master: &MasterKey) -> Sealed {
    let (nonce, ct) = cipher.seal(master.bytes(), CHECK_AAD, CHECK_PLAINTEXT);
    Sealed { alg: cipher, kid: Uuid::nil(), nonce: nonce.to_vec(), ct }
}

fn wrap(cipher: Cipher, master: &MasterKey, kid: Uuid, key: &DataKey) -> Sealed {
    let (nonce, ct) = cipher.seal(master.bytes(), &wrap_aad(kid), key.as_slice());
    Sealed { alg: cipher, kid, nonce: nonce.to_vec(), ct }
}

fn unwrap_key(master: &MasterKey, kid: Uuid, wrapped: &Sealed) -> Result<DataKey, VaultError> {
    let clear = wrapped
        .alg
        .open(master.bytes(), &wrap_aad(kid), &wrapped.nonce, &wrapped.ct)
        .ok_or_else(|| VaultError::Store(format!("data key {kid} does not unwrap with the master key")))?;
    let bytes: [u8; 32] =
        clear.as_slice().try_into().map_err(|_| VaultError::Store(format!("data key {kid} has the wrong length")))?;
    Ok(Zeroizing::new(bytes))
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

#[cfg(test)]
mod tests_pg;
