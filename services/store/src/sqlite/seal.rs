//! The chain in the SQLite adapter: the schema's chain columns, the one-way
//! migration of schema-1 files, the check at open (tail of the chain, head
//! file, `PRAGMA quick_check`) and the full walk of [`verify_file`].
//!
//! # Migration (schema 1 → 2)
//! A schema-1 file (written before the chain existed) is sealed on its first
//! open for writing: the chain columns are added and every event, in position
//! order, is sealed as found, in the same transaction as the schema change
//! (all or nothing). The `chain` table records the algorithm, the key id and
//! `migrated_through`, the last position sealed so: the chain vouches for those
//! events from the migration on, not for what happened to the file before.
//! One way: a schema-2 file is refused by older builds.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Row, params, types::ValueRef};

use super::{db, signed, unsigned};
use crate::{
    ChainedEvent, Position, StoreError,
    chain::{
        BreakKind, ChainAlgorithm, ChainBreak, ChainKey, ChainReport, EventBytes, GENESIS, Seal, StoredSeal, Walker,
    },
    headfile::{self, HeadFormat, HeadState, LINK_LEN, Link},
    keyfile::KeyFileError,
};

/// The store's head file format (`events.sqlite.head`).
pub const HEAD_FORMAT: HeadFormat = HeadFormat { magic: "leye-store-head v1", field: "hash" };

/// Schema 1 → 2: the chain columns and the `chain` table.
pub(super) const MIGRATE_V2: &str = "
ALTER TABLE events ADD COLUMN chain_prev  BLOB NOT NULL DEFAULT x'';
ALTER TABLE events ADD COLUMN chain_hash  BLOB NOT NULL DEFAULT x'';
ALTER TABLE events ADD COLUMN chain_mac   BLOB NOT NULL DEFAULT x'';
ALTER TABLE events ADD COLUMN chain_check BLOB NOT NULL DEFAULT x'';
CREATE TABLE chain (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    algorithm        TEXT    NOT NULL,
    key_id           TEXT    NOT NULL,
    created_at       INTEGER NOT NULL, -- microseconds since the Unix epoch, UTC
    migrated_through INTEGER           -- last position sealed by the migration, if any
) STRICT;
";

/// The columns [`event_bytes`] and [`stored_seal`] read, in this order.
pub(super) const SELECT_SEALED: &str = "SELECT position, stream, revision, event_id, event_type, data, metadata, \
                                        recorded_at, chain_prev, chain_hash, chain_mac, chain_check FROM events";

/// Events sealed per statement during the migration.
const MIGRATION_PAGE: i64 = 2000;

/// What the `chain` table says.
#[derive(Debug, Clone)]
pub(super) struct ChainRow {
    pub algorithm: ChainAlgorithm,
    pub key_id: String,
    pub migrated_through: Option<u64>,
}

pub(super) fn read_chain_row(conn: &Connection) -> Result<Option<ChainRow>, StoreError> {
    let row: Option<(String, String, Option<i64>)> = conn
        .query_row("SELECT algorithm, key_id, migrated_through FROM chain WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()
        .map_err(db)?;
    row.map(|(algorithm, key_id, migrated)| {
        Ok(ChainRow {
            algorithm: algorithm.parse().map_err(|e: String| StoreError::Backend(format!("chain table: {e}")))?,
            key_id,
            migrated_through: migrated.map(unsigned).transpose()?,
        })
    })
    .transpose()
}

/// Records a new chain (a new store, or one being migrated) and seals every
/// event not sealed yet. Inside the open's transaction.
pub(super) fn start_chain(conn: &Connection, key: &ChainKey) -> Result<u64, StoreError> {
    let mut after = 0i64;
    let mut prev = GENESIS;
    let mut sealed = 0u64;
    loop {
        let page: Vec<(i64, Seal)> = {
            let mut stmt = conn
                .prepare_cached(&format!("{SELECT_SEALED} WHERE position > ?1 ORDER BY position LIMIT ?2"))
                .map_err(db)?;
            let mut rows = stmt.query(params![after, MIGRATION_PAGE]).map_err(db)?;
            let mut page = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let event =
                    event_bytes(row).map_err(|c| StoreError::Backend(format!("cannot seal: column {c} malformed")))?;
                let seal = key.seal(&prev, &event);
                prev = seal.hash;
                page.push((signed(event.position.commit), seal));
            }
            page
        };
        let Some(&(last, _)) = page.last() else { break };
        let mut update = conn
            .prepare_cached(
                "UPDATE events SET chain_prev = ?1, chain_hash = ?2, chain_mac = ?3, chain_check = ?4 WHERE position = ?5",
            )
            .map_err(db)?;
        for (position, s) in &page {
            update.execute(params![&s.prev[..], &s.hash[..], &s.mac[..], &s.check[..], position]).map_err(db)?;
        }
        sealed += page.len() as u64;
        after = last;
    }
    let migrated = (sealed > 0).then_some(after);
    conn.execute(
        "INSERT INTO chain (id, algorithm, key_id, created_at, migrated_through) VALUES (1, ?1, ?2, ?3, ?4)",
        params![key.algorithm().as_str(), key.id(), chrono::Utc::now().timestamp_micros(), migrated],
    )
    .map_err(db)?;
    Ok(sealed)
}

/// The last event's link, or the start of the chain.
pub(super) fn last_link(conn: &Connection) -> Result<Link, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row("SELECT position, chain_hash FROM events ORDER BY position DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(db)?;
    Ok(match row {
        None => Link { seq: 0, hash: GENESIS },
        Some((position, hash)) => Link {
            seq: unsigned(position)?,
            // A malformed stored hash is caught by the check at open, which
            // then refuses appends; a zero link here is never sealed on.
            hash: <[u8; LINK_LEN]>::try_from(hash.as_slice()).unwrap_or(GENESIS),
        },
    })
}

/// The raw fields of one row of [`SELECT_SEALED`], or the first malformed column.
pub(super) fn event_bytes<'r>(row: &'r Row<'_>) -> Result<EventBytes<'r>, &'static str> {
    let bytes = |i: usize, name: &'static str| match row.get_ref(i) {
        Ok(ValueRef::Text(b) | ValueRef::Blob(b)) => Ok(b),
        _ => Err(name),
    };
    let int = |i: usize, name: &'static str| match row.get_ref(i) {
        Ok(ValueRef::Integer(v)) => Ok(v),
        _ => Err(name),
    };
    let position = u64::try_from(int(0, "position")?).map_err(|_| "position")?;
    Ok(EventBytes {
        position: Position::from_sequence(position),
        stream: bytes(1, "stream")?,
        revision: u64::try_from(int(2, "revision")?).map_err(|_| "revision")?,
        event_id: bytes(3, "event_id")?,
        event_type: bytes(4, "event_type")?,
        recorded_at_us: int(7, "recorded_at")?,
        data: bytes(5, "data")?,
        metadata: bytes(6, "metadata")?,
    })
}

/// The seal columns of one row of [`SELECT_SEALED`] (empty when malformed).
pub(super) fn stored_seal<'r>(row: &'r Row<'_>) -> StoredSeal<'r> {
    let blob = |i: usize| match row.get_ref(i) {
        Ok(ValueRef::Blob(b)) => b,
        _ => &[][..],
    };
    StoredSeal { prev: blob(8), hash: blob(9), mac: blob(10), check: blob(11) }
}

/// A decoded row of [`SELECT_SEALED`] for [`crate::EventStore::read_chain`].
pub(super) fn decode_chained(row: &Row<'_>) -> Result<ChainedEvent, StoreError> {
    let event = super::decode(row)?;
    let fixed = |i: usize| -> Result<[u8; LINK_LEN], StoreError> {
        let b: Vec<u8> = row.get(i).map_err(db)?;
        b.try_into().map_err(|_| StoreError::Backend("corrupt seal in the event log".into()))
    };
    let check: Vec<u8> = row.get(11).map_err(db)?;
    let check = check.try_into().map_err(|_| StoreError::Backend("corrupt seal in the event log".into()))?;
    Ok(ChainedEvent { event, seal: Seal { prev: fixed(8)?, hash: fixed(9)?, mac: fixed(10)?, check } })
}

/// Reads the head file next to the store, its tag checked with `key`.
pub(super) fn read_head(store: &Path, key: &ChainKey) -> Result<HeadState, StoreError> {
    let path = headfile::head_path(store);
    headfile::read(&path, HEAD_FORMAT, |link, tag| key.check_head_tag(link, tag))
        .map_err(|e| StoreError::Backend(format!("head file {}: {e}", path.display())))
}

/// The check at open: the head file names an event of the log with its hash
/// (or the log is empty and there is no head yet), and the last `n` events
/// (and every one past the head) chain. Returns the break, if any.
pub(super) fn check_tail(
    conn: &Connection,
    store: &Path,
    key: &ChainKey,
    n: u64,
) -> Result<Option<ChainBreak>, StoreError> {
    let head = read_head(store, key)?;
    let last = last_link(conn)?.seq;
    let from = match head {
        HeadState::Valid(h) => h.seq.min(last.saturating_sub(n)),
        _ => last.saturating_sub(n),
    };
    // Start from the stored hash of the event at `from` (checked by the MAC of
    // the next one); the walk then checks every event after it.
    let start = if from == 0 {
        Link { seq: 0, hash: GENESIS }
    } else {
        let hash: Option<Vec<u8>> = conn
            .query_row("SELECT chain_hash FROM events WHERE position = ?1", [signed(from)], |r| r.get(0))
            .optional()
            .map_err(db)?;
        match hash.and_then(|h| <[u8; LINK_LEN]>::try_from(h.as_slice()).ok()) {
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
    let mut stmt = conn.prepare(&format!("{SELECT_SEALED} WHERE position > ?1 ORDER BY position")).map_err(db)?;
    let mut rows = stmt.query([signed(from)]).map_err(db)?;
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => return corrupt_or(e, walker.last().seq + 1).map(Some),
        };
        let event = match event_bytes(row) {
            Ok(event) => event,
            Err(column) => {
                let at = walker.last().seq + 1;
                return Ok(Some(ChainBreak::new(
                    at,
                    BreakKind::EditedEnvelope,
                    format!("column `{column}` is malformed"),
                )));
            }
        };
        if let Err(b) = walker.step(&event, &stored_seal(row)) {
            return Ok(Some(b));
        }
    }
    Ok(walker.finish(head).err())
}

/// A read error: corruption becomes a break at `at`, anything else an error.
fn corrupt_or(e: rusqlite::Error, at: u64) -> Result<ChainBreak, StoreError> {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            Ok(ChainBreak::new(at, BreakKind::Corrupt, format!("the database file is damaged: {e}")))
        }
        _ => Err(db(e)),
    }
}

/// `PRAGMA quick_check`: `None` when "ok", else the first problems SQLite names.
pub(super) fn quick_check(conn: &Connection) -> Result<Option<String>, StoreError> {
    let result = conn
        .prepare("PRAGMA quick_check(5)")
        .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(0)).and_then(Iterator::collect::<Result<Vec<_>, _>>));
    match result {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(None),
        Ok(lines) => Ok(Some(lines.join("; "))),
        Err(e) => match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Ok(Some(e.to_string())),
            _ => Err(db(e)),
        },
    }
}

/// How [`verify_file`] checks.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Also run `PRAGMA quick_check` (damaged pages of indexes or free lists).
    pub quick_check: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self { quick_check: true }
    }
}

/// What [`verify_file`] found, and how long it took.
#[derive(Debug, Clone)]
pub struct Verified {
    pub report: ChainReport,
    /// Time of the walk alone, and of `quick_check` (zero when not run).
    pub walk: Duration,
    pub quick_check: Duration,
}

/// Walks the whole log of the store at `path` with the key in `key_file` and
/// names the first break: a read-only, streaming check (one statement, memory
/// bounded whatever the log's size) that creates nothing and may run beside a
/// live writer (it checks one snapshot; the head file is read first, so the
/// snapshot holds at least what it names).
pub fn verify_file(path: &Path, key_file: &Path, options: VerifyOptions) -> Result<Verified, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(db)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
    if version < 2 {
        return Err(StoreError::Backend(format!(
            "{}: schema version {version} has no chain yet; `leye serve` (or any command that opens the store \
             for writing) seals it on its first start",
            path.display()
        )));
    }
    let chain = read_chain_row(&conn)?.ok_or_else(|| StoreError::Backend("the chain table is empty".into()))?;
    let empty = |broken| ChainReport {
        algorithm: chain.algorithm,
        key_id: chain.key_id.clone(),
        events: 0,
        end: Link { seq: 0, hash: GENESIS },
        head: None,
        migrated_through: chain.migrated_through,
        broken: Some(broken),
    };
    let key = match ChainKey::load(key_file, chain.algorithm) {
        Ok(key) if key.id() == chain.key_id => key,
        Ok(key) => {
            let detail =
                format!("{} has key id {}, the store was sealed with {}", key_file.display(), key.id(), chain.key_id);
            let report = empty(ChainBreak::new(0, BreakKind::WrongKey, detail));
            return Ok(Verified { report, walk: Duration::ZERO, quick_check: Duration::ZERO });
        }
        Err(KeyFileError { missing: true, .. }) => {
            let detail = format!("the chain key {} is missing", key_file.display());
            let report = empty(ChainBreak::new(0, BreakKind::WrongKey, detail));
            return Ok(Verified { report, walk: Duration::ZERO, quick_check: Duration::ZERO });
        }
        Err(e) => return Err(StoreError::Backend(e.to_string())),
    };
    let head = read_head(path, &key)?;
    let started = Instant::now();
    let tx = conn.unchecked_transaction().map_err(db)?;
    let head_seq = match head {
        HeadState::Valid(h) => Some(h.seq),
        _ => None,
    };
    let mut walker = Walker::new(&key, head_seq);
    let mut broken = None;
    {
        let mut stmt = tx.prepare(&format!("{SELECT_SEALED} ORDER BY position")).map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(e) => {
                    broken = Some(corrupt_or(e, walker.last().seq + 1)?);
                    break;
                }
            };
            let step = match event_bytes(row) {
                Ok(event) => walker.step(&event, &stored_seal(row)),
                Err(column) => Err(ChainBreak::new(
                    walker.last().seq + 1,
                    BreakKind::EditedEnvelope,
                    format!("column `{column}` is malformed"),
                )),
            };
            if let Err(b) = step {
                broken = Some(b);
                break;
            }
        }
    }
    if broken.is_none() {
        broken = walker.finish(head).err();
    }
    let walk = started.elapsed();
    let started = Instant::now();
    if broken.is_none() && options.quick_check {
        if let Some(problem) = quick_check(&tx)? {
            broken =
                Some(ChainBreak::new(walker.last().seq, BreakKind::Corrupt, format!("PRAGMA quick_check: {problem}")));
        }
    }
    let quick_check = if options.quick_check { started.elapsed() } else { Duration::ZERO };
    tx.finish().map_err(db)?;
    let report = ChainReport {
        algorithm: chain.algorithm,
        key_id: chain.key_id,
        events: walker.events(),
        end: walker.last(),
        head: match head {
            HeadState::Valid(h) => Some(h),
            _ => None,
        },
        migrated_through: chain.migrated_through,
        broken,
    };
    Ok(Verified { report, walk, quick_check })
}
