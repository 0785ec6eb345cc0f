//! Opening a PostgreSQL store: the schema (created by one server at a time),
//! the chain row and its key, and the check of the chain's tail.

use std::sync::Arc;

use tokio_postgres::{Client, Transaction};

use super::{PostgresStoreOptions, SCHEMA_VERSION, Target, corrupt, pg, signed, unsigned};
use crate::{
    IntegrityProblem, StoreError,
    chain::{BreakKind, ChainAlgorithm, ChainBreak, ChainKey, EventBytes, GENESIS, StoredSeal, Walker},
    headfile::{HeadState, LINK_LEN, Link},
    keyfile::{self, KeyFileError},
};

/// The key of the advisory lock that serialises schema creation between servers.
const SCHEMA_LOCK: i64 = 0x6c65_7965_0001;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    position    bigint PRIMARY KEY,
    stream      text   COLLATE \"C\" NOT NULL, -- byte order: see `byte_ordered_streams`
    revision    bigint NOT NULL,
    event_id    bytea  NOT NULL UNIQUE,
    event_type  text   NOT NULL,
    data        bytea  NOT NULL,
    metadata    bytea  NOT NULL,
    recorded_at bigint NOT NULL, -- microseconds since the Unix epoch, UTC
    chain_prev  bytea  NOT NULL,
    chain_hash  bytea  NOT NULL,
    chain_mac   bytea  NOT NULL,
    chain_check bytea  NOT NULL,
    UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS log_head (
    id          int    PRIMARY KEY CHECK (id = 1),
    position    bigint NOT NULL,
    hash        bytea  NOT NULL,
    recorded_at bigint NOT NULL,
    tag         bytea  NOT NULL
);
CREATE TABLE IF NOT EXISTS chain (
    id             int    PRIMARY KEY CHECK (id = 1),
    schema_version int    NOT NULL,
    algorithm      text   NOT NULL,
    key_id         text   NOT NULL,
    created_at     bigint NOT NULL
);
";

/// Stream names are compared byte by byte (`COLLATE "C"`), whatever the
/// database's locale. The `(stream, revision)` unique key is what refuses a
/// second event at a revision, between servers too; under a locale's
/// collation its order is the C library's, which changes between releases
/// (glibc 2.28) and differs between a primary and a replica on another
/// libc, and an index built in one order and searched in another misses
/// rows: the key would no longer refuse. Byte order loses nothing: equality
/// is bytes under any deterministic collation, nothing reads streams in name
/// order, and a comparison is a `memcmp` instead of a locale's.
///
/// A store whose table was created before this rule (in the database's
/// collation) is brought to it here, once, under the schema lock: the index
/// is rebuilt in byte order; the table is not rewritten.
async fn byte_ordered_streams(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let collation: String = tx
        .query_one(
            "SELECT c.collname::text FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation \
             WHERE a.attrelid = 'events'::regclass AND a.attname = 'stream'",
            &[],
        )
        .await
        .map_err(pg)?
        .try_get(0)
        .map_err(pg)?;
    if collation == "C" {
        return Ok(());
    }
    tracing::warn!(
        collation = %collation,
        "events.stream is ordered by a locale's collation; rebuilding its unique key in byte order (once)"
    );
    tx.batch_execute("ALTER TABLE events ALTER COLUMN stream SET DATA TYPE text COLLATE \"C\"").await.map_err(pg)?;
    Ok(())
}

/// The chain's algorithm and key id, as recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresChainInfo {
    pub algorithm: ChainAlgorithm,
    pub key_id: String,
}

pub(super) struct Opened {
    pub chain: PostgresChainInfo,
    pub key: Option<Arc<ChainKey>>,
    pub problem: Option<IntegrityProblem>,
    pub synchronous_commit: String,
}

pub(super) async fn prepare(
    client: &mut Client,
    target: &Target,
    options: &PostgresStoreOptions,
) -> Result<Opened, StoreError> {
    let tx = if options.create {
        let tx = client.transaction().await.map_err(pg)?;
        tx.query("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).await.map_err(pg)?;
        // A schema that exists answers each `IF NOT EXISTS` with a notice,
        // which the client would log at every start: not news.
        tx.batch_execute("SET LOCAL client_min_messages TO warning").await.map_err(pg)?;
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", target.schema)).await.map_err(pg)?;
        tx.batch_execute(SCHEMA).await.map_err(pg)?;
        byte_ordered_streams(&tx).await?;
        tx
    } else {
        let tx = client.build_transaction().read_only(true).start().await.map_err(pg)?;
        require_existing(&tx, target).await?;
        tx
    };
    let row =
        tx.query_opt("SELECT schema_version, algorithm, key_id FROM chain WHERE id = 1", &[]).await.map_err(pg)?;
    let (chain, key, problem) = match row {
        None if !options.create => {
            return Err(StoreError::Backend(format!(
                "{target:?} holds no leye store (its chain record is missing); nothing was created"
            )));
        }
        None => {
            let algorithm = options.algorithm.unwrap_or_default();
            let key = load_or_create_key(&options.key_file, algorithm)?;
            let any_event = tx.query_opt("SELECT 1 FROM events LIMIT 1", &[]).await.map_err(pg)?;
            if any_event.is_some() {
                return Err(StoreError::Backend(format!(
                    "{target:?}: events without a chain row; this is not a store written by leye"
                )));
            }
            let genesis = Link { seq: 0, hash: GENESIS };
            tx.execute(
                "INSERT INTO chain (id, schema_version, algorithm, key_id, created_at) VALUES (1, $1, $2, $3, $4)",
                &[&SCHEMA_VERSION, &algorithm.as_str(), &key.id(), &chrono::Utc::now().timestamp_micros()],
            )
            .await
            .map_err(pg)?;
            tx.execute(
                "INSERT INTO log_head (id, position, hash, recorded_at, tag) VALUES (1, 0, $1, 0, $2)",
                &[&&GENESIS[..], &&key.head_tag(&genesis)[..]],
            )
            .await
            .map_err(pg)?;
            (PostgresChainInfo { algorithm, key_id: key.id().to_owned() }, Some(key), None)
        }
        Some(row) => {
            let version: i32 = row.try_get(0).map_err(pg)?;
            if version > SCHEMA_VERSION {
                return Err(StoreError::Backend(format!(
                    "{target:?}: schema version {version} is newer than this build supports ({SCHEMA_VERSION}); \
                     upgrade leye to open it"
                )));
            }
            let algorithm: String = row.try_get(1).map_err(pg)?;
            let algorithm: ChainAlgorithm =
                algorithm.parse().map_err(|e: String| StoreError::Backend(format!("chain table: {e}")))?;
            if let Some(wanted) = options.algorithm.filter(|a| *a != algorithm) {
                return Err(StoreError::Backend(format!(
                    "{target:?}: the chain uses {algorithm}, not the {wanted} configured; the algorithm is chosen \
                     when a store is created and cannot change"
                )));
            }
            let key_id: String = row.try_get(2).map_err(pg)?;
            let chain = PostgresChainInfo { algorithm, key_id: key_id.clone() };
            match ChainKey::load(&options.key_file, algorithm) {
                Ok(key) if key.id() == key_id => (chain, Some(key), None),
                Ok(key) => {
                    let detail = format!(
                        "the chain key {} has id {}, but the store was sealed with key {key_id}",
                        options.key_file.display(),
                        key.id()
                    );
                    (chain, None, Some(IntegrityProblem::new(IntegrityProblem::CHAIN_KEY, detail)))
                }
                Err(e) => (chain, None, Some(IntegrityProblem::new(IntegrityProblem::CHAIN_KEY, e.to_string()))),
            }
        }
    };
    tx.commit().await.map_err(pg)?;

    let mut problem = problem;
    if let (Some(key), None) = (&key, &problem) {
        if let Some(b) = check_tail(client, key, options.tail_check).await? {
            problem = Some(IntegrityProblem::new(IntegrityProblem::CHAIN_BROKEN, b.to_string()));
        }
    }
    let synchronous_commit: String =
        client.query_one("SHOW synchronous_commit", &[]).await.map_err(pg)?.try_get(0).map_err(pg)?;
    Ok(Opened { chain, key: key.map(Arc::new), problem, synchronous_commit })
}

/// Refuses a database without the store's schema and tables (an open that
/// must not create them).
async fn require_existing(tx: &tokio_postgres::Transaction<'_>, target: &Target) -> Result<(), StoreError> {
    let schema = &target.schema;
    let row = tx
        .query_one(
            "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = $1), \
             (SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename IN ('events', 'log_head', 'chain'))",
            &[schema],
        )
        .await
        .map_err(pg)?;
    let (schemas, tables): (i64, i64) = (row.try_get(0).map_err(pg)?, row.try_get(1).map_err(pg)?);
    if schemas == 0 {
        return Err(StoreError::Backend(format!(
            "{target:?}: no leye store there (the database has no schema `{schema}`); nothing was created. \
             Check the URL and its database, or create the store with `leye serve` or `leye store copy`"
        )));
    }
    if tables < 3 {
        return Err(StoreError::Backend(format!(
            "{target:?}: the schema `{schema}` is not a leye store (its tables events, log_head and chain are not \
             all there); nothing was created"
        )));
    }
    Ok(())
}

fn load_or_create_key(key_file: &std::path::Path, algorithm: ChainAlgorithm) -> Result<ChainKey, StoreError> {
    let err = |e: KeyFileError| StoreError::Backend(e.to_string());
    if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        keyfile::create_private_dir(dir)
            .map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
    }
    Ok(ChainKey::new(algorithm, keyfile::SecretKey::load_or_create(key_file).map_err(err)?))
}

/// The head row's tag, then the last `n` events (and every one past the head)
/// chain, and the head names the last event. Returns the first break.
pub(crate) async fn check_tail(client: &Client, key: &ChainKey, n: u64) -> Result<Option<ChainBreak>, StoreError> {
    // One snapshot for the head row and the events.
    let tx_free = client
        .query_one("SELECT position, hash, tag, (SELECT max(position) FROM events) FROM log_head WHERE id = 1", &[])
        .await
        .map_err(pg)?;
    let hash: Vec<u8> = tx_free.try_get(1).map_err(pg)?;
    let tag: Vec<u8> = tx_free.try_get(2).map_err(pg)?;
    let head = match <[u8; LINK_LEN]>::try_from(hash.as_slice()) {
        Ok(hash) => {
            let link = Link { seq: unsigned(tx_free.try_get(0).map_err(pg)?)?, hash };
            if key.check_head_tag(&link, &tag) { HeadState::Valid(link) } else { HeadState::Invalid }
        }
        Err(_) => HeadState::Invalid,
    };
    let last = tx_free.try_get::<_, Option<i64>>(3).map_err(pg)?.map(unsigned).transpose()?.unwrap_or(0);
    let from = match head {
        HeadState::Valid(h) => h.seq.min(last.saturating_sub(n)),
        _ => last.saturating_sub(n),
    };
    let start = if from == 0 {
        Link { seq: 0, hash: GENESIS }
    } else {
        let row = client
            .query_opt("SELECT chain_hash FROM events WHERE position = $1", &[&signed(from)])
            .await
            .map_err(pg)?;
        let hash = row.and_then(|r| r.try_get::<_, Vec<u8>>(0).ok()).and_then(|h| <[u8; LINK_LEN]>::try_from(h).ok());
        match hash {
            Some(hash) => Link { seq: from, hash },
            None => {
                return Ok(Some(ChainBreak::new(
                    from,
                    BreakKind::Deleted,
                    "the event the check starts from is missing",
                )));
            }
        }
    };
    let head_seq = match head {
        HeadState::Valid(h) => Some(h.seq),
        _ => None,
    };
    let mut walker = Walker::from_link(key, start, head_seq);
    let rows = client
        .query(
            "SELECT position, stream, revision, event_id, event_type, data, metadata, recorded_at, \
             chain_prev, chain_hash, chain_mac, chain_check FROM events WHERE position > $1 ORDER BY position",
            &[&signed(from)],
        )
        .await
        .map_err(pg)?;
    for row in &rows {
        let bytes = (|| -> Result<_, StoreError> {
            let position: i64 = row.try_get(0).map_err(pg)?;
            let stream: &str = row.try_get(1).map_err(pg)?;
            let revision: i64 = row.try_get(2).map_err(pg)?;
            let event_id: &[u8] = row.try_get(3).map_err(pg)?;
            let event_type: &str = row.try_get(4).map_err(pg)?;
            let data: &[u8] = row.try_get(5).map_err(pg)?;
            let metadata: &[u8] = row.try_get(6).map_err(pg)?;
            let recorded_at: i64 = row.try_get(7).map_err(pg)?;
            Ok(EventBytes {
                position: crate::Position::from_sequence(unsigned(position)?),
                stream: stream.as_bytes(),
                revision: unsigned(revision).map_err(|_| corrupt("revision"))?,
                event_id,
                event_type: event_type.as_bytes(),
                recorded_at_us: recorded_at,
                data,
                metadata,
            })
        })()?;
        let seal = StoredSeal {
            prev: row.try_get(8).map_err(pg)?,
            hash: row.try_get(9).map_err(pg)?,
            mac: row.try_get(10).map_err(pg)?,
            check: row.try_get(11).map_err(pg)?,
        };
        if let Err(b) = walker.step(&bytes, &seal) {
            return Ok(Some(b));
        }
    }
    Ok(walker.finish(head).err())
}
