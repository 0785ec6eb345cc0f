//! The key store in PostgreSQL, for several servers sharing one PostgreSQL
//! event store: the same tables' worth of facts as the SQLite file
//! (`keystore.rs`), in the event store's schema (`leye` by default).
//!
//! # Tables
//! - `personal_key` (kid, subject, created_at, destroyed_at): one row per data
//!   key, kept as the tombstone once the key is destroyed. No uniqueness on
//!   the subject: two servers may each assign a key to one subject (erasure
//!   destroys every key of the subject and every key its values name). A
//!   key is created unassigned (subject `NULL`) in a refill's batch; the next
//!   refill records the subjects of those handed out meanwhile, one row by
//!   its primary key each ([`ASSIGN`]). The index on subject holds assigned
//!   keys only: an erasure looks a subject up, nothing looks up the NULLs.
//! - `personal_key_wrapped` (kid, wrapped): the data key wrapped by the master
//!   key; the row is deleted when the key is destroyed.
//! - `personal_key_meta` (name, value): the master key's check value.
//! - `personal_key_erasure` (seq, subject, kids, erased_at): one row per
//!   erasure, `seq` given in commit order (under an advisory lock), followed
//!   by every server to drop what it holds in memory ([`Follower`]).
//!
//! # What PostgreSQL keeps of a destroyed key
//! The `DELETE` leaves the row as a dead tuple until `VACUUM` prunes its page,
//! so every destruction is followed by `VACUUM personal_key_wrapped`. The
//! wrapped key also stays in WAL segments until they are recycled and
//! overwritten, in a WAL archive and in base backups until they expire. Those
//! copies are wrapped by the master key: `leye keys rotate` followed by the
//! destruction of the old master key makes every one of them unreadable.
//!
//! # Calls from synchronous code
//! The vault's API is synchronous (it is called while folding a case). The
//! store owns a small tokio runtime of its own (one worker) and one
//! connection; a call sends its work there and waits on a channel, so it may
//! be made from any thread, an async worker's included (it blocks it as the
//! SQLite file's I/O does).

use std::{
    future::Future,
    pin::Pin,
    str::FromStr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio_postgres::{Client, Config, NoTls, types::ToSql};
use uuid::Uuid;

use crate::{
    Sealed, VaultError,
    keystore::{KeyRow, encode_sealed, parse_sealed},
};

/// The advisory lock serialising schema creation (distinct from the event store's).
const SCHEMA_LOCK: i64 = 0x6c65_7965_0101;
/// The advisory lock serialising erasures, so `seq` follows commit order.
const ERASURE_LOCK: i64 = 0x6c65_7965_0102;
/// Longest wait for one call before it is reported as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS personal_key (
    kid          bytea  PRIMARY KEY,
    subject      bytea,            -- NULL until assigned
    created_at   bigint NOT NULL,  -- microseconds since the Unix epoch, UTC
    destroyed_at bigint
);
-- Assigned keys only: nothing looks up the pool's unassigned keys by subject,
-- and with their NULLs in it the planner took this index for the pool's
-- assignment UPDATE, reading every unassigned key of every server each time.
CREATE INDEX IF NOT EXISTS personal_key_subject_assigned ON personal_key (subject) WHERE subject IS NOT NULL;
DROP INDEX IF EXISTS personal_key_subject;
CREATE TABLE IF NOT EXISTS personal_key_wrapped (
    kid     bytea PRIMARY KEY REFERENCES personal_key (kid),
    wrapped text  NOT NULL
);
CREATE TABLE IF NOT EXISTS personal_key_meta (
    name  text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS personal_key_erasure (
    seq       bigint  PRIMARY KEY,
    subject   bytea   NOT NULL,
    kids      bytea[] NOT NULL,
    erased_at bigint  NOT NULL
);
";

/// Records the subject of one key handed out since the last refill (`$1`
/// the key id, `$2` its subject). One row by its primary key, whatever the
/// table's statistics say: one `UPDATE … FROM UNNEST(…)` for the whole batch
/// was planned from a growing table's stale statistics, and either read every
/// unassigned key of every server through the index on subject or scanned
/// the table, at each refill (docs/PERFORMANCE.md, "The key pool's
/// assignments by primary key").
pub(crate) const ASSIGN: &str =
    "UPDATE personal_key SET subject = $2 WHERE kid = $1 AND subject IS NULL AND destroyed_at IS NULL";

/// Where the PostgreSQL key store is, and how often erasures are looked for.
#[derive(Clone)]
pub struct PgKeyStoreOptions {
    /// `postgres://…`; never printed (see `shown`).
    pub url: String,
    /// The URL without its password, for messages.
    pub shown: String,
    /// The schema (the event store's, `leye` by default).
    pub schema: String,
    /// How often the erasure follower looks for erasures other servers made.
    pub poll_interval: Duration,
    /// Caches are served only while the follower's last completed look began
    /// less than this long ago: the longest time a server may serve, from
    /// memory, the clear data of a person another server erased.
    pub max_staleness: Duration,
}

impl std::fmt::Debug for PgKeyStoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgKeyStoreOptions").field("url", &self.shown).field("schema", &self.schema).finish()
    }
}

impl PgKeyStoreOptions {
    /// The defaults: erasures looked for every 250 ms, caches trusted for 1 s.
    pub fn new(url: impl Into<String>, shown: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            shown: shown.into(),
            schema: "leye".into(),
            poll_interval: Duration::from_millis(250),
            max_staleness: Duration::from_secs(1),
        }
    }

    /// For messages: where the keys are.
    pub fn describe(&self) -> String {
        format!("PostgreSQL key store {} (schema {}, table personal_key)", self.shown, self.schema)
    }
}

/// The server's own message and SQLSTATE when it refused a statement (the
/// driver's text alone is "db error"); never its DETAIL, which may quote a
/// row's values. As the event store's `pg` (`leye-store`), which this crate
/// does not depend on.
fn db(e: tokio_postgres::Error) -> VaultError {
    match e.as_db_error() {
        Some(d) => VaultError::Store(format!("PostgreSQL: {e}: {} ({})", d.message(), d.code().code())),
        None => VaultError::Store(format!("PostgreSQL: {e}")),
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn uuid_of(bytes: &[u8]) -> Result<Uuid, VaultError> {
    Uuid::from_slice(bytes).map_err(|_| VaultError::Store("a key id in the key store is not a UUID".into()))
}

/// Called with (subject, key ids) for each erasure another server (or this one) made.
pub(crate) type Hook = Arc<dyn Fn(Uuid, &[Uuid]) + Send + Sync>;

/// What the erasure follower shares with the vault.
pub(crate) struct Follower {
    hooks: Mutex<Vec<Hook>>,
    /// When the last completed look for erasures began.
    synced: Mutex<Option<Instant>>,
    max_staleness: Duration,
}

impl Follower {
    pub(crate) fn add_hook(&self, hook: Hook) {
        self.hooks.lock().unwrap_or_else(|p| p.into_inner()).push(hook);
    }

    /// Whether every erasure committed more than `max_staleness` ago has
    /// been applied to this process's caches.
    pub(crate) fn fresh(&self) -> bool {
        self.synced.lock().unwrap_or_else(|p| p.into_inner()).is_some_and(|t| t.elapsed() < self.max_staleness)
    }

    fn apply(&self, subject: Uuid, kids: &[Uuid]) {
        let hooks = self.hooks.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for h in hooks {
            h(subject, kids);
        }
    }
}

struct Conn {
    config: Config,
    schema: String,
    shown: String,
    client: tokio::sync::Mutex<Option<Client>>,
}

impl Conn {
    async fn connect(&self) -> Result<Client, VaultError> {
        let (client, connection) = self.config.connect(NoTls).await.map_err(|e| {
            VaultError::Store(format!("cannot connect to the PostgreSQL key store at {}: {e}", self.shown))
        })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "key store connection ended");
            }
        });
        client
            .batch_execute(&format!(
                "SET search_path TO \"{}\"; SET synchronous_commit TO on; SET application_name TO 'leye-keys'",
                self.schema
            ))
            .await
            .map_err(db)?;
        Ok(client)
    }
}

/// Re-wraps one data key under the new master key.
pub(crate) type Rewrap = dyn Fn(Uuid, &Sealed) -> Result<Sealed, VaultError> + Send;

type Job<'a, T> = Pin<Box<dyn Future<Output = Result<T, VaultError>> + Send + 'a>>;

/// See the module documentation.
pub(crate) struct PgKeyStore {
    rt: Option<tokio::runtime::Runtime>,
    conn: Arc<Conn>,
    pub(crate) follower: Arc<Follower>,
    describe: String,
}

impl std::fmt::Debug for PgKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl Drop for PgKeyStore {
    fn drop(&mut self) {
        // Allowed on an async thread, unlike dropping the runtime.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl PgKeyStore {
    /// Connects, creates the tables if missing (one server at a time), and
    /// starts following erasures from the last one recorded.
    pub(crate) fn open(options: &PgKeyStoreOptions) -> Result<Self, VaultError> {
        let valid = !options.schema.is_empty()
            && options.schema.len() <= 63
            && !options.schema.starts_with(|c: char| c.is_ascii_digit())
            && options.schema.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(VaultError::Store(format!(
                "schema `{}`: must be 1 to 63 lowercase letters or digits",
                options.schema
            )));
        }
        let mut config = Config::from_str(&options.url).map_err(|_| {
            VaultError::Store(format!(
                "the PostgreSQL URL {} is malformed: expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
                options.shown
            ))
        })?;
        config.connect_timeout(Duration::from_secs(10));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("leye-keys")
            .enable_all()
            .build()
            .map_err(|e| VaultError::Store(format!("cannot start the key store's runtime: {e}")))?;
        let conn = Arc::new(Conn {
            config,
            schema: options.schema.clone(),
            shown: options.shown.clone(),
            client: tokio::sync::Mutex::new(None),
        });
        let follower = Arc::new(Follower {
            hooks: Mutex::new(Vec::new()),
            synced: Mutex::new(None),
            max_staleness: options.max_staleness,
        });
        let store = Self { rt: Some(rt), conn, follower, describe: options.describe() };
        let schema = options.schema.clone();
        let started = Instant::now();
        let last = store.call(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db)?;
                tx.query("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await.map_err(db)?;
                // No notice for each table that exists (logged at every start).
                tx.batch_execute("SET LOCAL client_min_messages TO warning").await.map_err(db)?;
                tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")).await.map_err(db)?;
                tx.batch_execute(SCHEMA).await.map_err(db)?;
                tx.commit().await.map_err(db)?;
                let row =
                    c.query_one("SELECT coalesce(max(seq), 0) FROM personal_key_erasure", &[]).await.map_err(db)?;
                Ok(row.get::<_, i64>(0))
            })
        })?;
        // Nothing is cached yet: up to date as of `started`.
        *store.follower.synced.lock().unwrap_or_else(|p| p.into_inner()) = Some(started);
        let (conn, follower, poll) = (store.conn.clone(), store.follower.clone(), options.poll_interval);
        store.handle()?.spawn(follow(conn, follower, last, poll));
        Ok(store)
    }

    fn handle(&self) -> Result<&tokio::runtime::Runtime, VaultError> {
        self.rt.as_ref().ok_or_else(|| VaultError::Store("the key store is closed".into()))
    }

    pub(crate) fn describe(&self) -> &str {
        &self.describe
    }

    /// Runs `f` with the connection (reconnecting when it was lost) on the
    /// store's runtime, and waits for its result on this thread.
    fn call<T: Send + 'static>(
        &self,
        f: impl for<'a> FnOnce(&'a mut Client) -> Job<'a, T> + Send + 'static,
    ) -> Result<T, VaultError> {
        let conn = self.conn.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle()?.spawn(async move {
            let mut guard = conn.client.lock().await;
            if guard.as_ref().is_none_or(Client::is_closed) {
                match conn.connect().await {
                    Ok(c) => *guard = Some(c),
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            let result = match guard.as_mut() {
                Some(client) => f(client).await,
                None => Err(VaultError::Store("no key store connection".into())),
            };
            let _ = tx.send(result);
        });
        rx.recv_timeout(CALL_TIMEOUT).map_err(|e| VaultError::Store(format!("the key store did not answer: {e}")))?
    }

    pub(crate) fn meta(&self, name: &str) -> Result<Option<String>, VaultError> {
        let name = name.to_owned();
        self.call(move |c| {
            Box::pin(async move {
                let row =
                    c.query_opt("SELECT value FROM personal_key_meta WHERE name = $1", &[&name]).await.map_err(db)?;
                Ok(row.map(|r| r.get(0)))
            })
        })
    }

    /// The values under `names`, in their order (`None` where none is held):
    /// one statement, however many names.
    pub(crate) fn metas(&self, names: &[&str]) -> Result<Vec<Option<String>>, VaultError> {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        self.call(move |c| {
            Box::pin(async move {
                let rows = c
                    .query("SELECT name, value FROM personal_key_meta WHERE name = ANY($1)", &[&names])
                    .await
                    .map_err(db)?;
                let held: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
                Ok(names.iter().map(|n| held.iter().find(|(h, _)| h == n).map(|(_, v)| v.clone())).collect())
            })
        })
    }

    /// Stores `value` unless the store holds one already (another server was
    /// first); returns the value stored.
    pub(crate) fn init_meta(&self, name: &str, value: &str) -> Result<String, VaultError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.call(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO personal_key_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    &[&name, &value],
                )
                .await
                .map_err(db)?;
                let row =
                    c.query_one("SELECT value FROM personal_key_meta WHERE name = $1", &[&name]).await.map_err(db)?;
                Ok(row.get(0))
            })
        })
    }

    /// Stores `value` under `name`, in place of any value there.
    pub(crate) fn set_meta(&self, name: &str, value: &str) -> Result<(), VaultError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.call(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO personal_key_meta (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                    &[&name, &value],
                )
                .await
                .map_err(db)?;
                Ok(())
            })
        })
    }

    /// See `keystore::create_unassigned`: one transaction, committed with
    /// `synchronous_commit = on` before the keys are handed out.
    pub(crate) fn create_unassigned(
        &self,
        keys: &[(Uuid, Sealed)],
        assigned: &[(Uuid, Uuid)],
    ) -> Result<(), VaultError> {
        let kids: Vec<Vec<u8>> = keys.iter().map(|(k, _)| k.as_bytes().to_vec()).collect();
        let wrapped: Vec<String> = keys.iter().map(|(_, w)| encode_sealed(w)).collect();
        let assigned: Vec<[Vec<u8>; 2]> =
            assigned.iter().map(|(k, s)| [k.as_bytes().to_vec(), s.as_bytes().to_vec()]).collect();
        self.call(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db)?;
                if !assigned.is_empty() {
                    // Sent together: one round trip for the batch.
                    let assign = tx.prepare(ASSIGN).await.map_err(db)?;
                    let params: Vec<[&(dyn ToSql + Sync); 2]> =
                        assigned.iter().map(|[kid, subject]| [kid as _, subject as _]).collect();
                    futures::future::try_join_all(params.iter().map(|p| tx.execute(&assign, p))).await.map_err(db)?;
                }
                tx.execute(
                    "INSERT INTO personal_key (kid, created_at) SELECT unnest($1::bytea[]), $2",
                    &[&kids, &now_us()],
                )
                .await
                .map_err(db)?;
                tx.execute(
                    "INSERT INTO personal_key_wrapped (kid, wrapped) SELECT * FROM UNNEST($1::bytea[], $2::text[])",
                    &[&kids, &wrapped],
                )
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)
            })
        })
    }

    pub(crate) fn key(&self, kid: Uuid) -> Result<Option<KeyRow>, VaultError> {
        let k = kid.as_bytes().to_vec();
        let row = self.call(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(
                        "SELECT k.subject, k.destroyed_at, w.wrapped FROM personal_key k
                         LEFT JOIN personal_key_wrapped w ON w.kid = k.kid WHERE k.kid = $1",
                        &[&k],
                    )
                    .await
                    .map_err(db)?;
                Ok(row.map(|r| {
                    (r.get::<_, Option<Vec<u8>>>(0), r.get::<_, Option<i64>>(1), r.get::<_, Option<String>>(2))
                }))
            })
        })?;
        let Some((subject, destroyed_at, wrapped)) = row else { return Ok(None) };
        let subject = subject.as_deref().map(uuid_of).transpose()?;
        Ok(Some(match (destroyed_at, wrapped) {
            (None, Some(w)) => KeyRow::Live { subject, wrapped: parse_sealed(&w)? },
            (Some(_), _) => KeyRow::Destroyed,
            (None, None) => {
                return Err(VaultError::Store(format!("data key {kid} has neither a wrapped key nor a tombstone")));
            }
        }))
    }

    /// Destroys every key of the subject and the keys `kids`, records the
    /// erasure for the other servers (in commit order) and notifies them, in
    /// one transaction; then vacuums the wrapped keys' table so the deleted
    /// rows' bytes leave its pages. Returns how many keys were live.
    pub(crate) fn destroy(&self, subject: Uuid, kids: &[Uuid]) -> Result<usize, VaultError> {
        let s = subject.as_bytes().to_vec();
        let named: Vec<Vec<u8>> = kids.iter().map(|k| k.as_bytes().to_vec()).collect();
        self.call(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db)?;
                tx.query("SELECT pg_advisory_xact_lock($1)", &[&ERASURE_LOCK]).await.map_err(db)?;
                let mut mine: Vec<Vec<u8>> = tx
                    .query("SELECT kid FROM personal_key WHERE subject = $1", &[&s])
                    .await
                    .map_err(db)?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                mine.extend(named);
                mine.sort();
                mine.dedup();
                tx.execute("DELETE FROM personal_key_wrapped WHERE kid = ANY($1)", &[&mine]).await.map_err(db)?;
                let n = tx
                    .execute(
                        "UPDATE personal_key SET destroyed_at = $2, subject = $3 WHERE kid = ANY($1) AND destroyed_at IS NULL",
                        &[&mine, &now_us(), &s],
                    )
                    .await
                    .map_err(db)?;
                tx.execute(
                    "INSERT INTO personal_key_erasure (seq, subject, kids, erased_at)
                     SELECT coalesce(max(seq), 0) + 1, $1, $2, $3 FROM personal_key_erasure",
                    &[&s, &mine, &now_us()],
                )
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
                // Outside the transaction (VACUUM cannot run in one). A
                // failure leaves the dead tuple to autovacuum; the erasure holds.
                if let Err(e) = c.batch_execute("VACUUM personal_key_wrapped").await {
                    tracing::warn!(error = %e, "VACUUM of personal_key_wrapped after an erasure failed");
                }
                Ok(n as usize)
            })
        })
    }

    /// Re-wraps every live key with `rewrap` and replaces the check value,
    /// in one transaction that locks out new keys meanwhile.
    pub(crate) fn rewrap(&self, rewrap: Box<Rewrap>, check: String) -> Result<usize, VaultError> {
        self.call(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db)?;
                tx.batch_execute("LOCK TABLE personal_key, personal_key_wrapped IN EXCLUSIVE MODE").await.map_err(db)?;
                let rows = tx.query("SELECT kid, wrapped FROM personal_key_wrapped", &[]).await.map_err(db)?;
                let mut kids = Vec::with_capacity(rows.len());
                let mut wrapped = Vec::with_capacity(rows.len());
                for r in &rows {
                    let kid = uuid_of(r.get::<_, &[u8]>(0))?;
                    let new = rewrap(kid, &parse_sealed(r.get::<_, &str>(1))?)?;
                    kids.push(kid.as_bytes().to_vec());
                    wrapped.push(encode_sealed(&new));
                }
                tx.execute(
                    "UPDATE personal_key_wrapped w SET wrapped = u.wrapped FROM UNNEST($1::bytea[], $2::text[]) AS u(kid, wrapped)
                     WHERE w.kid = u.kid",
                    &[&kids, &wrapped],
                )
                .await
                .map_err(db)?;
                tx.execute(
                    "INSERT INTO personal_key_meta (name, value) VALUES ('check', $1) ON CONFLICT (name) DO UPDATE SET value = $1",
                    &[&check],
                )
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(kids.len())
            })
        })
    }

    /// (live keys, destroyed keys).
    pub(crate) fn counts(&self) -> Result<(u64, u64), VaultError> {
        self.call(|c| {
            Box::pin(async move {
                let r = c
                    .query_one(
                        "SELECT count(*) FILTER (WHERE destroyed_at IS NULL), count(*) FILTER (WHERE destroyed_at IS NOT NULL)
                         FROM personal_key",
                        &[],
                    )
                    .await
                    .map_err(db)?;
                Ok((r.get::<_, i64>(0) as u64, r.get::<_, i64>(1) as u64))
            })
        })
    }

    /// Copies keys in as they are (wrapped by the same master key), with
    /// their tombstones: for `leye keys copy`. Keys already present are
    /// left as they are. Returns how many rows were added.
    pub(crate) fn import(&self, rows: Vec<ImportRow>, check: String) -> Result<u64, VaultError> {
        self.call(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(db)?;
                let existing =
                    tx.query_opt("SELECT value FROM personal_key_meta WHERE name = 'check'", &[]).await.map_err(db)?;
                match existing {
                    None => {
                        tx.execute("INSERT INTO personal_key_meta (name, value) VALUES ('check', $1)", &[&check])
                            .await
                            .map_err(db)?;
                    }
                    Some(r) if r.get::<_, String>(0) == check => {}
                    Some(_) => return Err(crate::copy::another_master_key()),
                }
                let mut added = 0;
                for chunk in rows.chunks(1000) {
                    let kids: Vec<Vec<u8>> = chunk.iter().map(|r| r.kid.as_bytes().to_vec()).collect();
                    let subjects: Vec<Option<Vec<u8>>> =
                        chunk.iter().map(|r| r.subject.map(|s| s.as_bytes().to_vec())).collect();
                    let created: Vec<i64> = chunk.iter().map(|r| r.created_at_us).collect();
                    let destroyed: Vec<Option<i64>> = chunk.iter().map(|r| r.destroyed_at_us).collect();
                    added += tx
                        .execute(
                            "INSERT INTO personal_key (kid, subject, created_at, destroyed_at)
                             SELECT * FROM UNNEST($1::bytea[], $2::bytea[], $3::bigint[], $4::bigint[])
                             ON CONFLICT (kid) DO NOTHING",
                            &[&kids, &subjects, &created, &destroyed],
                        )
                        .await
                        .map_err(db)?;
                    let (w_kids, w): (Vec<Vec<u8>>, Vec<String>) = chunk
                        .iter()
                        .filter_map(|r| Some((r.kid.as_bytes().to_vec(), encode_sealed(r.wrapped.as_ref()?))))
                        .unzip();
                    tx.execute(
                        "INSERT INTO personal_key_wrapped (kid, wrapped) SELECT * FROM UNNEST($1::bytea[], $2::text[])
                         ON CONFLICT (kid) DO NOTHING",
                        &[&w_kids, &w],
                    )
                    .await
                    .map_err(db)?;
                }
                tx.commit().await.map_err(db)?;
                Ok(added)
            })
        })
    }

    /// Every key row (for the check after a copy).
    pub(crate) fn export(&self) -> Result<Vec<ImportRow>, VaultError> {
        let rows = self.call(|c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT k.kid, k.subject, k.created_at, k.destroyed_at, w.wrapped FROM personal_key k
                         LEFT JOIN personal_key_wrapped w ON w.kid = k.kid ORDER BY k.kid",
                        &[],
                    )
                    .await
                    .map_err(db)?;
                Ok(rows
                    .iter()
                    .map(|r| {
                        (
                            r.get::<_, Vec<u8>>(0),
                            r.get::<_, Option<Vec<u8>>>(1),
                            r.get::<_, i64>(2),
                            r.get::<_, Option<i64>>(3),
                            r.get::<_, Option<String>>(4),
                        )
                    })
                    .collect::<Vec<_>>())
            })
        })?;
        rows.into_iter()
            .map(|(kid, subject, created, destroyed, wrapped)| {
                Ok(ImportRow {
                    kid: uuid_of(&kid)?,
                    subject: subject.as_deref().map(uuid_of).transpose()?,
                    created_at_us: created,
                    destroyed_at_us: destroyed,
                    wrapped: wrapped.as_deref().map(parse_sealed).transpose()?,
                })
            })
            .collect()
    }
}

/// One key row as `leye keys copy` moves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportRow {
    pub kid: Uuid,
    pub subject: Option<Uuid>,
    pub created_at_us: i64,
    pub destroyed_at_us: Option<i64>,
    /// `None` once destroyed.
    pub wrapped: Option<Sealed>,
}

/// Follows `personal_key_erasure` from `last`: every `poll`, reads the
/// erasures past the last one applied, hands each to the hooks (which drop
/// the person's keys and opened data from memory), then records when that
/// look began.
///
/// It polls and does not `LISTEN`: PostgreSQL (15) wakes every listening
/// session of the database at every commit that notifies, on any channel, so
/// a listener here would be woken at each of the event store's commits on
/// every server, for an erasure a few times a year (docs/PERFORMANCE.md, "The
/// erasure follower polls"). A poll every 250 ms keeps well inside the 1 s
/// bound on serving an erased person from memory ([`Follower::fresh`]).
async fn follow(conn: Arc<Conn>, follower: Arc<Follower>, mut last: i64, poll: Duration) {
    let mut config = conn.config.clone();
    config.application_name("leye-keys-erasures");
    loop {
        let connected = config.connect(NoTls).await;
        let (client, connection) = match connected {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot follow personal-data erasures; retrying (caches are not served meanwhile)");
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        let driver = tokio::spawn(connection);
        let setup = format!("SET search_path TO \"{}\"", conn.schema);
        if client.batch_execute(&setup).await.is_ok() {
            loop {
                let started = Instant::now();
                let rows = match client
                    .query("SELECT seq, subject, kids FROM personal_key_erasure WHERE seq > $1 ORDER BY seq", &[&last])
                    .await
                {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading personal-data erasures failed; reconnecting");
                        break;
                    }
                };
                for r in &rows {
                    let subject = r.get::<_, &[u8]>(1);
                    let kids: Vec<Uuid> =
                        r.get::<_, Vec<&[u8]>>(2).into_iter().filter_map(|k| Uuid::from_slice(k).ok()).collect();
                    if let Ok(subject) = Uuid::from_slice(subject) {
                        follower.apply(subject, &kids);
                    }
                    last = r.get(0);
                }
                *follower.synced.lock().unwrap_or_else(|p| p.into_inner()) = Some(started);
                tokio::time::sleep(poll).await;
            }
        }
        driver.abort();
        tokio::time::sleep(poll).await;
    }
}
