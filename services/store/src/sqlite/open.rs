//! Opening the store: the writer connection's PRAGMAs, the schema and its
//! migrations, the chain key, the check at open, and the head file.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rusqlite::{Connection, TransactionBehavior};

use super::{DEFAULT_KEY_FILE, SCHEMA, SCHEMA_VERSION, SqlitePragmas, SqliteStoreOptions, db, seal, unsigned};
use crate::{
    IntegrityProblem, Position, StoreError,
    chain::{ChainAlgorithm, ChainKey},
    headfile::{self, HeadWriter},
    keyfile::{self, KeyFileError},
};

/// The chain's algorithm and key id, as recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainInfo {
    pub algorithm: ChainAlgorithm,
    pub key_id: String,
    /// Events up to this position were sealed by the migration of a schema-1 file.
    pub migrated_through: Option<u64>,
}

/// What [`open_writer`] hands to [`SqliteStore::open`].
pub(super) struct Opened {
    pub conn: Connection,
    pub pragmas: SqlitePragmas,
    pub head: Option<Position>,
    pub key: Option<Arc<ChainKey>>,
    pub chain: ChainInfo,
    pub problem: Option<IntegrityProblem>,
    pub head_writer: Option<HeadWriter>,
}

/// `<the store's directory>/keys/chain.key`.
pub fn default_key_file(store: &Path) -> PathBuf {
    store.parent().unwrap_or_else(|| Path::new(".")).join(DEFAULT_KEY_FILE)
}

/// Opens the writer connection: PRAGMAs, schema (migrating older files), the
/// chain key, the check at open, and the head file.
pub(super) fn open_writer(path: &Path, key_file: &Path, options: &SqliteStoreOptions) -> Result<Opened, StoreError> {
    let mut conn = Connection::open(path).map_err(db)?;
    // The event log holds personal data: owner only (SQLite gives its -wal
    // and -shm files the same mode).
    keyfile::restrict(path, 0o600).map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(options.busy_timeout).map_err(db)?;
    let journal_mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(db)?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "{}: cannot use WAL mode (journal_mode is {journal_mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(db)?;

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "{}: schema version {version} is newer than this build supports ({SCHEMA_VERSION}); \
             upgrade leye to open it",
            path.display()
        )));
    }
    if version < 1 {
        tx.execute_batch(SCHEMA).map_err(db)?;
    }
    if version < 2 {
        tx.execute_batch(seal::MIGRATE_V2).map_err(db)?;
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(db)?;
    }
    let new_chain = seal::read_chain_row(&tx)?.is_none();
    let (key, chain, problem) = match seal::read_chain_row(&tx)? {
        None => {
            // A new chain (a new store, or a schema-1 file): its key is created if missing.
            let algorithm = options.algorithm.unwrap_or_default();
            let key = load_or_create_key(key_file, algorithm)?;
            let sealed = seal::start_chain(&tx, &key)?;
            if sealed > 0 {
                tracing::info!(events = sealed, path = %path.display(), "sealed the existing events: one-way migration to schema 2");
            }
            let migrated_through = seal::read_chain_row(&tx)?.and_then(|r| r.migrated_through);
            let chain = ChainInfo { algorithm, key_id: key.id().to_owned(), migrated_through };
            (Some(key), chain, None)
        }
        Some(row) => {
            if let Some(wanted) = options.algorithm.filter(|a| *a != row.algorithm) {
                return Err(StoreError::Backend(format!(
                    "{}: the chain uses {}, not the {wanted} configured; the algorithm is chosen when a store is \
                     created and cannot change",
                    path.display(),
                    row.algorithm
                )));
            }
            let chain = ChainInfo {
                algorithm: row.algorithm,
                key_id: row.key_id.clone(),
                migrated_through: row.migrated_through,
            };
            match ChainKey::load(key_file, row.algorithm) {
                Ok(key) if key.id() == row.key_id => (Some(key), chain, None),
                Ok(key) => {
                    let detail = format!(
                        "the chain key {} has id {}, but the store was sealed with key {}",
                        key_file.display(),
                        key.id(),
                        row.key_id
                    );
                    (None, chain, Some(IntegrityProblem::new(IntegrityProblem::CHAIN_KEY, detail)))
                }
                Err(e) => (None, chain, Some(IntegrityProblem::new(IntegrityProblem::CHAIN_KEY, e.to_string()))),
            }
        }
    };
    tx.commit().map_err(db)?;

    let mut problem = problem;
    // A chain started by this open was just sealed whole: nothing to check yet.
    if let (Some(key), None, false) = (&key, &problem, new_chain) {
        if let Some(b) = seal::check_tail(&conn, path, key, options.tail_check)? {
            problem = Some(IntegrityProblem::new(IntegrityProblem::CHAIN_BROKEN, b.to_string()));
        }
    }
    if problem.is_none() && options.quick_check {
        if let Some(found) = seal::quick_check(&conn)? {
            problem =
                Some(IntegrityProblem::new(IntegrityProblem::STORE_CORRUPT, format!("PRAGMA quick_check: {found}")));
        }
    }
    // The head moves only over a sound chain: a broken one keeps its evidence.
    let head_writer = match (&key, &problem) {
        (Some(key), None) => {
            let link = seal::last_link(&conn)?;
            let head_path = headfile::head_path(path);
            Some(
                HeadWriter::open(&head_path, seal::HEAD_FORMAT, &link, &key.head_tag(&link))
                    .map_err(|e| StoreError::Backend(format!("head file {}: {e}", head_path.display())))?,
            )
        }
        _ => None,
    };

    let head: Option<i64> = conn.query_row("SELECT max(position) FROM events", [], |r| r.get(0)).map_err(db)?;
    let head = head.map(|p| unsigned(p).map(Position::from_sequence)).transpose()?;
    let pragmas = SqlitePragmas {
        journal_mode: conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).map_err(db)?,
        synchronous: conn.pragma_query_value(None, "synchronous", |r| r.get(0)).map_err(db)?,
        foreign_keys: conn.pragma_query_value(None, "foreign_keys", |r| r.get(0)).map_err(db)?,
        busy_timeout_ms: conn.pragma_query_value(None, "busy_timeout", |r| r.get(0)).map_err(db)?,
        user_version: conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?,
    };
    Ok(Opened { conn, pragmas, head, key: key.map(Arc::new), chain, problem, head_writer })
}

/// The chain key of a new chain: read, or created (with its directory, 0700).
fn load_or_create_key(key_file: &Path, algorithm: ChainAlgorithm) -> Result<ChainKey, StoreError> {
    let err = |e: KeyFileError| StoreError::Backend(e.to_string());
    if let Some(dir) = key_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        keyfile::create_private_dir(dir)
            .map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
    }
    Ok(ChainKey::new(algorithm, keyfile::SecretKey::load_or_create(key_file).map_err(err)?))
}
