//! Personal data at rest: the codec beside `cases.rs` that seals the fields
//! identifying a person in stored event payloads and opens them on read,
//! with the person's data key from [`leye_vault::Vault`].
//!
//! **What is sealed**: a `person.registered` payload's `resident_id` and
//! `name` ([`SEALED`]). In their place the stored JSON keeps what the rules
//! and the targets need and what does not identify anyone by itself: the
//! birth date and sex the resident ID encodes (`resident_id` becomes
//! `{"birth_date", "gender"}`, `name` becomes `null`), beside the
//! ciphertext (`"sealed": {alg, kid, nonce, ct}`). Everything else (codes,
//! dates, amounts, the residence's division codes) stays in clear: the
//! projector and the publisher fold and publish without any key.
//!
//! **Binding**: the AAD is the event type and the event id (and, inside the
//! vault, the case id and key id), so a ciphertext moved to another event or
//! case does not open.
//!
//! **Reading**: a sealed payload whose key is live opens to exactly the plain
//! payload; one whose key was destroyed reads as erased
//! (`{"birth_date", "gender", "erased": true}`, `name: null`); a payload
//! without `sealed` (a store written before sealing, see `leye migrate
//! encrypt`) is read as it is.

mod cache;

use std::{
    borrow::Cow,
    path::PathBuf,
    sync::{Arc, Weak},
};

use cache::OpenedCache;

use leye_domain::values::{RegisteredId, ResidentId};
use leye_store::EventStore;
use leye_vault::{Cipher, EnvKey, KeyFile, MasterKeySource, Opened, PgKeyStoreOptions, Sealed, Vault, VaultError};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::cases::AppError;

/// Event types with personal fields, and those fields.
pub const SEALED: &[(&str, &[&str])] = &[("person.registered", &["resident_id", "name"])];

/// The environment variable that may hold the master key itself (64 hex characters).
pub const MASTER_KEY_ENV: &str = "LEYE_MASTER_KEY";
/// The key store's file, inside `<data_dir>/keys/`.
pub const KEY_STORE_FILE: &str = "keys/keys.sqlite";
/// The master key file's default place, inside the data directory.
pub const MASTER_KEY_FILE: &str = "keys/master.key";

/// The PostgreSQL database of a shared event store, holding the key store of
/// every server on it (schema `leye`). Never printed with its password.
#[derive(Clone, PartialEq, Eq)]
pub struct SharedKeyStore(pub String);

impl std::fmt::Debug for SharedKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedKeyStore({})", leye_store::postgres::redact_url(&self.0))
    }
}

impl SharedKeyStore {
    /// The key store's options: the event store's schema, the default
    /// erasure follower (see [`PgKeyStoreOptions`]).
    pub fn options(&self) -> PgKeyStoreOptions {
        PgKeyStoreOptions::new(self.0.clone(), leye_store::postgres::redact_url(&self.0))
    }
}

/// Where the keys are and how to seal: part of the service configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultConfig {
    /// The key store (`<data_dir>/keys/keys.sqlite`): this server's own, or,
    /// with [`Self::shared`], the file `leye keys copy` copies from.
    pub key_store: PathBuf,
    /// The event store is PostgreSQL: the keys are there, shared by every
    /// server (`None`: the SQLite file `key_store`).
    pub shared: Option<SharedKeyStore>,
    /// The master key file, unless [`MASTER_KEY_ENV`] is set.
    pub master_key_file: PathBuf,
    /// The cipher for new data keys and values.
    pub cipher: Cipher,
}

impl VaultConfig {
    /// The master key's source: the environment variable when set, else the file.
    pub fn source(&self) -> Box<dyn MasterKeySource> {
        if std::env::var_os(MASTER_KEY_ENV).is_some() {
            Box::new(EnvKey::new(MASTER_KEY_ENV))
        } else {
            Box::new(KeyFile::new(&self.master_key_file))
        }
    }

    /// Opens the key store (blocking I/O); a missing or wrong master key is
    /// an error naming the file or variable and the key store.
    pub fn open_vault(&self) -> anyhow::Result<Vault> {
        let source = self.source();
        let opened = match &self.shared {
            None => Vault::open(&self.key_store, source.as_ref(), self.cipher),
            Some(shared) => Vault::open_postgres(&shared.options(), source.as_ref(), self.cipher),
        };
        opened.map_err(|e| match e {
            VaultError::WrongMasterKey { .. } | VaultError::MasterKey(_) => anyhow::anyhow!(
                "{e}; the master key comes from LEYE_MASTER_KEY, else --master-key-file / LEYE_MASTER_KEY_FILE / \
                 master_key_file, and must be the same on every server"
            ),
            e => e.into(),
        })
    }

    /// [`Self::open_vault`] with the codec over it.
    pub fn open(&self) -> anyhow::Result<Arc<PersonalData>> {
        Ok(Arc::new(PersonalData::new(Arc::new(self.open_vault()?))))
    }

    /// Where the keys are, for messages.
    pub fn describe(&self) -> String {
        match &self.shared {
            None => self.key_store.display().to_string(),
            Some(shared) => shared.options().describe(),
        }
    }

    /// [`Self::open`] for the service over `store`: a key store that is
    /// missing while the store already holds sealed personal data is refused
    /// (a fresh one would read none of it), rather than created anew.
    pub async fn open_for(&self, store: &impl EventStore) -> anyhow::Result<Arc<PersonalData>> {
        if let Some(shared) = &self.shared {
            let options = shared.options();
            let exists = tokio::task::spawn_blocking(move || Vault::postgres_key_store_exists(&options)).await??;
            if !exists && holds_sealed_data(store).await? {
                anyhow::bail!(
                    "the event store holds sealed personal data but the {} holds no keys: copy the key store of \
                     the server that sealed them with `leye keys copy` (without it no resident ID or name can be read)",
                    shared.options().describe()
                );
            }
            let me = self.clone();
            return tokio::task::spawn_blocking(move || me.open()).await?;
        }
        if !self.key_store.exists() && holds_sealed_data(store).await? {
            anyhow::bail!(
                "the event store holds sealed personal data but the key store {} is missing: restore it from the \
                 backup of the data directory (without it no resident ID or name can be read)",
                self.key_store.display()
            );
        }
        self.open()
    }
}

/// Whether the first registration of the log is sealed (the log is read up
/// to it: at the start of a populated log).
async fn holds_sealed_data(store: &impl EventStore) -> anyhow::Result<bool> {
    let mut after = None;
    loop {
        let page = store.read_all(after, 1000).await?;
        let Some(last) = page.last() else { return Ok(false) };
        after = Some(last.position);
        if let Some(e) = page.iter().find(|e| fields_of(&e.event_type).is_some()) {
            let json: Map<String, Value> = serde_json::from_slice(&e.data).unwrap_or_default();
            return Ok(json.contains_key("sealed"));
        }
    }
}

/// The codec of personal fields in stored payloads.
#[derive(Debug, Clone)]
pub struct PersonalData {
    vault: Arc<Vault>,
    /// Registrations opened (or sealed) by this process; shared by clones.
    opened: Arc<OpenedCache>,
    /// Told of every erasure, made here or (a shared key store) on another
    /// server: the holders of opened data of their own.
    hooks: Arc<ErasureHooks>,
}

/// A holder of opened personal data of its own (the command path's case
/// memory), told of every erasure ([`PersonalData::on_erasure`]).
pub trait ErasureListener: Send + Sync {
    /// The person of `case_id` was erased: drop what is held of them.
    fn erased(&self, case_id: Uuid);
}

/// The listeners, held weakly: a listener gone is dropped from the list the
/// next time one is added or told, so a list never outgrows the listeners
/// alive.
#[derive(Default)]
struct ErasureHooks(std::sync::Mutex<Vec<Weak<dyn ErasureListener>>>);

impl std::fmt::Debug for ErasureHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErasureHooks")
    }
}

impl ErasureHooks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<dyn ErasureListener>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, listener: Weak<dyn ErasureListener>) {
        let mut hooks = self.lock();
        hooks.retain(|h| h.strong_count() > 0);
        hooks.push(listener);
    }

    fn call(&self, case_id: Uuid) {
        self.lock().retain(|h| h.upgrade().map(|l| l.erased(case_id)).is_some());
    }
}

fn vault_error(e: VaultError) -> AppError {
    match e {
        VaultError::Tampered { .. } | VaultError::UnknownKey { .. } => AppError::Corrupt(e.to_string()),
        e => AppError::Vault(e.to_string()),
    }
}

fn fields_of(event_type: &str) -> Option<&'static [&'static str]> {
    SEALED.iter().find(|(t, _)| *t == event_type).map(|(_, f)| *f)
}

fn aad(event_type: &str, event_id: Uuid) -> Vec<u8> {
    [event_type.as_bytes(), b"/", event_id.as_bytes()].concat()
}

fn corrupt(case_id: Uuid, what: &str) -> AppError {
    AppError::Corrupt(format!("case {case_id}: {what}"))
}

impl PersonalData {
    pub fn new(vault: Arc<Vault>) -> Self {
        let opened = Arc::new(OpenedCache::new(cache::CAPACITY));
        let hooks = Arc::new(ErasureHooks::default());
        // Another server's erasure (a shared key store): its opened payloads go too.
        let (purge, others) = (Arc::downgrade(&opened), Arc::downgrade(&hooks));
        vault.on_erasure(move |case_id| {
            if let Some(opened) = purge.upgrade() {
                opened.purge(case_id);
            }
            if let Some(hooks) = others.upgrade() {
                hooks.call(case_id);
            }
        });
        Self { vault, opened, hooks }
    }

    /// Tells `listener` of every erasure from now on, while it lives: made
    /// through this codec (or a clone), or on another server sharing the
    /// key store; after the keys are gone.
    pub fn on_erasure(&self, listener: Weak<dyn ErasureListener>) {
        self.hooks.add(listener);
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The stored form of a payload: its personal fields sealed. Payloads of
    /// other event types, and payloads already sealed, come back unchanged.
    pub fn seal(&self, case_id: Uuid, event_id: Uuid, event_type: &str, data: Vec<u8>) -> Result<Vec<u8>, AppError> {
        let Some(fields) = fields_of(event_type) else { return Ok(data) };
        let mut json: Map<String, Value> =
            serde_json::from_slice(&data).map_err(|_| corrupt(case_id, "payload is not a JSON object"))?;
        if json.contains_key("sealed") {
            return Ok(data);
        }
        let generation = self.opened.generation();
        let mut secret = Map::new();
        for f in fields {
            if let Some(v) = json.remove(*f) {
                secret.insert((*f).to_string(), v);
            }
        }
        // What stays in clear: birth date and sex from the resident ID.
        let id = secret
            .get("resident_id")
            .and_then(Value::as_str)
            .and_then(|s| ResidentId::try_from(s.to_string()).ok())
            .ok_or_else(|| corrupt(case_id, "registration without a valid resident ID"))?;
        json.insert("resident_id".into(), to_value(&RegisteredId::Known(id).withheld(false)));
        json.insert("name".into(), Value::Null);
        let plaintext = zeroize::Zeroizing::new(serde_json::to_vec(&secret).unwrap_or_default());
        let sealed = self.vault.seal(case_id, &aad(event_type, event_id), &plaintext).map_err(vault_error)?;
        json.insert("sealed".into(), to_value(&sealed));
        let stored = serde_json::to_vec(&json).unwrap_or_default();
        // What this payload opens to is the payload itself: later loads of
        // the case (every command folds it) need not open it.
        self.opened.insert(generation, case_id, event_id, stored.clone(), data);
        Ok(stored)
    }

    /// The payload with its personal fields opened, or marked erased when
    /// the person's key was destroyed. Payloads without `sealed` are returned as they are.
    pub fn open<'a>(
        &self,
        case_id: Uuid,
        event_id: Uuid,
        event_type: &str,
        data: &'a [u8],
    ) -> Result<Cow<'a, [u8]>, AppError> {
        if fields_of(event_type).is_none() {
            return Ok(Cow::Borrowed(data));
        }
        // Over a shared key store, only while this server has seen every
        // erasure made more than the staleness bound ago (`Vault::cache_fresh`).
        if self.vault.cache_fresh() {
            if let Some(opened) = self.opened.get(case_id, event_id, data) {
                return Ok(Cow::Owned(opened));
            }
        }
        let generation = self.opened.generation();
        let mut json: Map<String, Value> =
            serde_json::from_slice(data).map_err(|_| corrupt(case_id, "payload is not a JSON object"))?;
        let Some(sealed) = json.remove("sealed") else { return Ok(Cow::Borrowed(data)) };
        let sealed: Sealed =
            serde_json::from_value(sealed).map_err(|_| corrupt(case_id, "sealed personal data is malformed"))?;
        match self.vault.unseal(case_id, &aad(event_type, event_id), &sealed).map_err(vault_error)? {
            Opened::Clear(plain) => {
                let secret: Map<String, Value> = serde_json::from_slice(&plain)
                    .map_err(|_| corrupt(case_id, "sealed personal data is not a JSON object"))?;
                json.extend(secret);
                let opened = serde_json::to_vec(&json).unwrap_or_default();
                self.opened.insert(generation, case_id, event_id, data.to_vec(), opened.clone());
                Ok(Cow::Owned(opened))
            }
            Opened::Erased => {
                if let Some(Value::Object(id)) = json.get_mut("resident_id") {
                    id.insert("erased".into(), Value::Bool(true));
                }
                Ok(Cow::Owned(serde_json::to_vec(&json).unwrap_or_default()))
            }
        }
    }

    /// Whether payloads of `event_type` have fields to seal.
    pub fn seals(event_type: &str) -> bool {
        fields_of(event_type).is_some()
    }

    /// Creates the case's data key if it has none, on a blocking thread (the
    /// key store's durable write must not hold an async worker).
    ///
    /// When the pool of keys created ahead runs low, the next batch is
    /// written in the background (`Vault::refill_ahead`), so registrations
    /// keep taking keys from memory instead of waiting for its fsync.
    ///
    /// Returns the key's id when the case got a fresh one: if the append
    /// its sealed values go with is refused, [`Self::unbind`] takes it back.
    pub async fn prepare(self: &Arc<Self>, case_id: Uuid) -> Result<Option<Uuid>, AppError> {
        let prepared = if !self.vault.prepare_blocks(case_id) {
            // A key from the pool in memory: no I/O, no thread hop.
            self.vault.prepare(case_id).map_err(vault_error)
        } else {
            let me = self.clone();
            tokio::task::spawn_blocking(move || me.vault.prepare(case_id).map_err(vault_error))
                .await
                .map_err(|e| AppError::Vault(format!("key store task failed: {e}")))?
        };
        if self.vault.refill_due() {
            let me = self.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = me.vault.refill_ahead() {
                    // The next registration that finds the pool empty refills it itself (and fails if this persists).
                    tracing::warn!(error = %e, "creating personal-data keys ahead failed");
                }
            });
        }
        prepared
    }

    /// Takes back the fresh key `kid` that [`Self::prepare`] gave the case
    /// when nothing sealed with it was recorded (`Vault::unbind`): a refused
    /// registration of an erased person leaves no live key behind.
    pub fn unbind(&self, case_id: Uuid, kid: Uuid) {
        if !self.vault.unbind(case_id, kid) {
            tracing::debug!(case = %case_id, "an unused fresh data key was already written as the case's");
        }
    }

    /// The data key a stored payload's sealed fields name, if any.
    pub fn key_of(event_type: &str, data: &[u8]) -> Option<Uuid> {
        fields_of(event_type)?;
        let json: Map<String, Value> = serde_json::from_slice(data).ok()?;
        serde_json::from_value::<Sealed>(json.get("sealed")?.clone()).ok().map(|s| s.kid)
    }

    /// Destroys the person's data keys (those recorded for the case and
    /// `kids`, the ones its sealed payloads name): every sealed field of the
    /// case is erased for good. Returns how many keys were live.
    ///
    /// The opened registrations of the case are dropped from memory after
    /// the keys are gone (also when destroying them failed half-way), and an
    /// open that raced the erasure is not kept: from here on nothing of the
    /// person is served from a cache.
    pub async fn erase(self: &Arc<Self>, case_id: Uuid, kids: Vec<Uuid>) -> Result<usize, AppError> {
        let me = self.clone();
        let erased = tokio::task::spawn_blocking(move || {
            let erased = me.vault.erase(case_id, &kids).map_err(vault_error);
            me.opened.purge(case_id);
            erased
        })
        .await
        .map_err(|e| AppError::Vault(format!("key store task failed: {e}")));
        // A panicked task purged nothing: purge here too.
        self.opened.purge(case_id);
        self.hooks.call(case_id);
        erased?
    }
}

/// The codec handed to the publisher when subscribers are entitled to
/// personal data (`nats_personal_data = true`); compared by identity.
#[derive(Debug, Clone)]
pub struct Opener(pub Arc<PersonalData>);

impl PartialEq for Opener {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Opener {}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    // Plain data with string keys: serialisation cannot fail.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(dir: &std::path::Path) -> Arc<PersonalData> {
        let config = VaultConfig {
            key_store: dir.join(KEY_STORE_FILE),
            shared: None,
            master_key_file: dir.join(MASTER_KEY_FILE),
            cipher: Cipher::default(),
        };
        config.open().unwrap()
    }

    fn registration() -> Vec<u8> {
        let first17 = "12011119900101005";
        let id = format!("{first17}{}", ResidentId::check_character(first17).unwrap());
        serde_json::to_vec(&serde_json::json!({"resident_id": id, "name": "王小明", "education": "senior_secondary"}))
            .unwrap()
    }

    fn json(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[tokio::test]
    async fn an_erased_person_is_never_served_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let personal = codec(dir.path());
        let (case, other) = (Uuid::new_v4(), Uuid::new_v4());
        let (event, other_event) = (Uuid::new_v4(), Uuid::new_v4());
        let plain = registration();
        let stored = personal.seal(case, event, "person.registered", plain.clone()).unwrap();
        let other_stored = personal.seal(other, other_event, "person.registered", plain.clone()).unwrap();
        assert!(!stored.windows(9).any(|w| w == "王小明".as_bytes()), "sealed in the stored form");
        // Opened from the cache the seal filled, by this codec and by a clone (the server's handlers share one).
        let clone = PersonalData::clone(&personal);
        assert_eq!(json(&personal.open(case, event, "person.registered", &stored).unwrap()), json(&plain));
        assert_eq!(json(&clone.open(case, event, "person.registered", &stored).unwrap()), json(&plain));
        assert_eq!(personal.opened.len(), 2, "both registrations are cached");

        let kids = vec![PersonalData::key_of("person.registered", &stored).unwrap()];
        assert_eq!(personal.erase(case, kids).await.unwrap(), 1);
        for reader in [&*personal, &clone] {
            let opened = json(&reader.open(case, event, "person.registered", &stored).unwrap());
            assert_eq!(opened["resident_id"]["erased"], Value::Bool(true), "read as erased at once: {opened}");
            assert_eq!(opened["name"], Value::Null);
            assert!(!opened.to_string().contains("王小明"));
        }
        // The other person is untouched, and still served.
        assert_eq!(json(&clone.open(other, other_event, "person.registered", &other_stored).unwrap()), json(&plain));
        // A fresh codec over the same key store (a restart) agrees: the key is gone, not only the cache.
        drop((personal, clone));
        let restarted = codec(dir.path());
        let opened = json(&restarted.open(case, event, "person.registered", &stored).unwrap());
        assert_eq!(opened["resident_id"]["erased"], Value::Bool(true));
    }

    /// Listeners are told of erasures while they live, and the list holds
    /// no more of them than live (a case memory made per request, say, by
    /// `Cases::of_kind`, leaves nothing behind).
    #[tokio::test]
    async fn erasure_listeners_are_told_while_they_live_and_do_not_pile_up() {
        struct Heard(std::sync::Mutex<Vec<Uuid>>);
        impl ErasureListener for Heard {
            fn erased(&self, case_id: Uuid) {
                self.0.lock().unwrap().push(case_id);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let personal = codec(dir.path());
        let live = Arc::new(Heard(std::sync::Mutex::new(Vec::new())));
        personal.on_erasure(Arc::downgrade(&live) as Weak<Heard>);
        for _ in 0..1000 {
            let gone = Arc::new(Heard(std::sync::Mutex::new(Vec::new())));
            personal.on_erasure(Arc::downgrade(&gone) as Weak<Heard>);
        }
        assert!(personal.hooks.lock().len() <= 2, "listeners gone are dropped as others are added");
        let case = Uuid::new_v4();
        personal.erase(case, Vec::new()).await.unwrap();
        assert_eq!(*live.0.lock().unwrap(), vec![case], "told once");
        assert_eq!(personal.hooks.lock().len(), 1);
    }

    #[tokio::test]
    async fn a_payload_changed_in_the_file_is_opened_again_not_served_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let personal = codec(dir.path());
        let (case, event) = (Uuid::new_v4(), Uuid::new_v4());
        let stored = personal.seal(case, event, "person.registered", registration()).unwrap();
        let mut altered = json(&stored);
        altered["education"] = Value::String("university".into());
        let altered = serde_json::to_vec(&altered).unwrap();
        let opened = json(&personal.open(case, event, "person.registered", &altered).unwrap());
        assert_eq!(opened["education"], "university", "what the file holds now, opened");
        assert_eq!(opened["name"], "王小明");
        assert!(
            matches!(personal.open(Uuid::new_v4(), event, "person.registered", &stored), Err(AppError::Corrupt(_))),
            "the cache serves an entry only to its own case; moved to another it does not open"
        );
    }
}
