//! The SQLite side: schema, the single writer thread, and the read-only query
//! connections.
//!
//! # The writer
//! One thread (`leye-audit-writer`) owns the only connection that writes, as in
//! `leye-store`'s SQLite adapter. It blocks for one request, drains whatever is
//! already queued (up to `max_batch`), and commits all the queued records in
//! ONE `BEGIN IMMEDIATE … COMMIT`: one fsync however many callers wait. It
//! keeps the chain's last link in memory, computes each record's MAC before
//! inserting it, and after the commit rewrites the head file, then answers
//! every caller of the batch. If the transaction fails, nothing of the batch is
//! written, every caller gets the error, and the next batch re-reads the last
//! link from the file. A prune request is handled in its place in the queue, in
//! its own transaction.

use std::{
    fs::{self, OpenOptions},
    io::ErrorKind,
    mem,
    os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::DateTime;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};
use uuid::Uuid;

use crate::{
    AuditEntry, AuditError, AuditFilter, AuditOptions, AuditPage, AuditRecord, MAX_CASE_IDS, MAX_FIELD_BYTES, MAX_PAGE,
    chain::{ChainKey, HeadThreadFile, HeadWriter, Link, RecordBytes, hex, read_head, sync_dir, unhex},
    index, lock,
    verify::{SELECT_RAW, Walker, chain_start, check_tail, signed},
};

/// The schema version this build writes (`PRAGMA user_version`). Version 1
/// had the query keys as indexes of `records`; version 2 has them in tables
/// of their own, filled behind the records (`index.rs`).
pub(crate) const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE records (
    seq       INTEGER PRIMARY KEY,  -- contiguous from 1 (from the anchor + 1 after a prune)
    time      INTEGER NOT NULL,     -- microseconds since the Unix epoch, UTC
    principal TEXT    NOT NULL,
    authn     TEXT    NOT NULL,
    peer      TEXT    NOT NULL,
    operation TEXT    NOT NULL,
    case_ids  BLOB    NOT NULL,     -- 16 bytes per case id, in the record's order
    outcome   TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    prev      TEXT    NOT NULL,     -- hex of the previous record's mac
    mac       TEXT    NOT NULL      -- hex HMAC-SHA256(key, prev || canonical record)
) STRICT;
-- The case ids again, one row each, for queries by case: a query key,
-- filled behind the records up to `indexed.upto` (index.rs).
CREATE TABLE record_cases (
    seq     INTEGER NOT NULL,
    case_id BLOB    NOT NULL,
    PRIMARY KEY (seq, case_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_cases_case ON record_cases (case_id, seq);

-- The last pruned link: where the remaining chain starts.
CREATE TABLE anchor (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    seq    INTEGER NOT NULL,
    mac    TEXT    NOT NULL,
    tag    TEXT    NOT NULL,      -- hex HMAC-SHA256(key, 'leye.audit.anchor.v1', seq, mac)
    cutoff INTEGER NOT NULL       -- the prune's cutoff, microseconds since the epoch
) STRICT;

-- Holds a row only inside the writer's prune transaction.
CREATE TABLE pruning (active INTEGER NOT NULL) STRICT;

CREATE TRIGGER records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END;
CREATE TRIGGER records_no_delete BEFORE DELETE ON records WHEN NOT EXISTS (SELECT 1 FROM pruning)
BEGIN SELECT RAISE(ABORT, 'audit records cannot be deleted'); END;
CREATE TRIGGER record_cases_no_update BEFORE UPDATE ON record_cases
BEGIN SELECT RAISE(ABORT, 'audit records cannot be changed'); END;
CREATE TRIGGER record_cases_no_delete BEFORE DELETE ON record_cases WHEN NOT EXISTS (SELECT 1 FROM pruning)
BEGIN SELECT RAISE(ABORT, 'audit records cannot be deleted'); END;
CREATE TRIGGER anchor_no_update BEFORE UPDATE ON anchor WHEN NOT EXISTS (SELECT 1 FROM pruning)
BEGIN SELECT RAISE(ABORT, 'the audit anchor changes only by pruning'); END;
CREATE TRIGGER anchor_no_delete BEFORE DELETE ON anchor
BEGIN SELECT RAISE(ABORT, 'the audit anchor cannot be deleted'); END;
";

/// How long read-only connections wait for a lock.
const READ_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------
// Opening

/// The trail's file as the writer opened it: the same device and inode must
/// still be at its path when a batch is answered. SQLite commits through its
/// open handles, so a trail whose directory was removed or replaced still
/// "commits"; this is what makes that an error before anyone is answered.
pub(crate) struct TrailFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl TrailFile {
    fn at(path: &Path) -> Result<Self, AuditError> {
        let meta =
            fs::metadata(path).map_err(|e| AuditError::Storage(format!("{}: cannot stat: {e}", path.display())))?;
        Ok(Self { path: path.to_path_buf(), dev: meta.dev(), ino: meta.ino() })
    }

    fn still_here(&self) -> Result<(), AuditError> {
        match fs::metadata(&self.path) {
            Ok(meta) if meta.dev() == self.dev && meta.ino() == self.ino => Ok(()),
            Ok(_) => Err(AuditError::Storage(format!("{}: replaced by another file", self.path.display()))),
            Err(e) => Err(AuditError::Storage(format!("{}: no longer there: {e}", self.path.display()))),
        }
    }
}

/// Creates the file (mode 0600) if missing, opens the writer connection, sets
/// WAL and `synchronous=FULL`, creates the schema, and checks the tail of the
/// chain against the head file. Returns the link to append after.
pub(crate) fn open_writer(
    path: &Path,
    key: &ChainKey,
    busy_timeout: Duration,
) -> Result<(Connection, Link, HeadWriter, TrailFile), AuditError> {
    let io = |what: &str, e: std::io::Error| AuditError::Storage(format!("{}: {what}: {e}", path.display()));
    match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => sync_dir(path).map_err(|e| io("cannot sync its directory", e))?,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let mode = fs::metadata(path).map_err(|e| io("cannot stat", e))?.permissions().mode();
            if mode & 0o077 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|e| io("cannot chmod 0600", e))?;
            }
        }
        Err(e) => return Err(io("cannot create", e)),
    }
    let mut conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(db)?;
    conn.busy_timeout(busy_timeout).map_err(db)?;
    let journal_mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(db)?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(AuditError::Storage(format!(
            "{}: cannot use WAL mode (journal_mode is {journal_mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
    if version > SCHEMA_VERSION {
        return Err(AuditError::Storage(format!(
            "{}: schema version {version} is newer than this build supports ({SCHEMA_VERSION})",
            path.display()
        )));
    }
    if version == 0 {
        tx.execute_batch(SCHEMA).map_err(db)?;
        tx.execute_batch(index::SCHEMA).map_err(db)?;
    } else if version == 1 {
        index::migrate_from_1(&tx)?;
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(db)?;
    }
    tx.commit().map_err(db)?;

    let head_path = crate::chain::head_path(path);
    let head = read_head(&head_path, key)?;
    let link = check_tail(&conn, key, head)?;
    // Creates the head file of a new trail; catches it up with records
    // committed just before a crash.
    let head_file = HeadWriter::open(&head_path, key, &link)?;
    let trail = TrailFile::at(path)?;
    debug!(path = %path.display(), head = ?link, "opened the audit trail");
    Ok((conn, link, head_file, trail))
}

/// A read-only connection (queries, verification). Never creates the file.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, AuditError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| AuditError::Storage(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(READ_BUSY_TIMEOUT).map_err(db)?;
    index::register_functions(&conn)?;
    Ok(conn)
}

// ---------------------------------------------------------------------------
// The writer

/// What the writer thread is asked to do.
pub(crate) enum Request {
    Append { record: AuditRecord, reply: oneshot::Sender<Result<u64, AuditError>> },
    Prune { cutoff_us: i64, reply: oneshot::Sender<Result<u64, AuditError>> },
}

type Reply = oneshot::Sender<Result<u64, AuditError>>;

pub(crate) struct Writer {
    conn: Connection,
    rx: mpsc::Receiver<Request>,
    key: Arc<ChainKey>,
    /// The head file, written on a thread of its own after the answers. When
    /// its last write failed, it is written before the next batch, which is
    /// refused if it still cannot be.
    head_file: HeadThreadFile,
    /// The last committed link; `None` after a failed transaction, until re-read.
    head: Option<Link>,
    trail: TrailFile,
    max_batch: usize,
    /// The query keys' mark as last read or moved; `None` after a failed
    /// catch-up, until re-read.
    indexed: Option<u64>,
    /// How far the keys may lag before they are caught up.
    index_every: u64,
}

impl Writer {
    pub fn new(
        conn: Connection,
        rx: mpsc::Receiver<Request>,
        key: Arc<ChainKey>,
        head_file: HeadWriter,
        head: Link,
        trail: TrailFile,
        options: &AuditOptions,
    ) -> Result<Self, AuditError> {
        Ok(Self {
            conn,
            rx,
            head_file: head_file.start(Arc::clone(&key))?,
            key,
            head: Some(head),
            trail,
            max_batch: options.max_batch.max(1),
            indexed: None,
            index_every: options.index_every.max(1),
        })
    }

    /// Commits batches until every sender is gone and the queue is drained.
    pub fn run(mut self) {
        while let Some(first) = self.rx.blocking_recv() {
            let mut requests = vec![first];
            while requests.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(request) => requests.push(request),
                    Err(_) => break,
                }
            }
            let mut appends = Vec::with_capacity(requests.len());
            for request in requests {
                match request {
                    Request::Append { record, reply } => appends.push((record, reply)),
                    Request::Prune { cutoff_us, reply } => {
                        // Keep queue order: what was queued before the prune commits first.
                        self.commit(mem::take(&mut appends));
                        let _ = reply.send(self.prune(cutoff_us));
                    }
                }
            }
            self.commit(appends);
        }
        self.head_file.stop();
        debug!("audit writer stopped");
    }

    /// Commits `batch` in one transaction, answers every caller, then hands
    /// the new head to the head file's thread. Neither the answers nor the
    /// next batch wait for the head file's two fdatasyncs (docs/PERFORMANCE.md,
    /// "The audit head file on a thread of its own"): the head lags the
    /// answered records by the batches committed while it is written, as a
    /// crash between a commit and the head write already could leave it.
    /// Before the answers, the trail is checked to be still at its path (a
    /// removed or replaced trail is an error, not a commit nobody will see);
    /// once a head write has failed, the head file is written before the next
    /// batch, which is refused (nothing committed) while it cannot be.
    fn commit(&mut self, batch: Vec<(AuditRecord, Reply)>) {
        if batch.is_empty() {
            return;
        }
        let started = Instant::now();
        let result = self
            .catch_up_head()
            .and_then(|()| self.append(&batch))
            .and_then(|seqs| self.trail.still_here().map(|()| seqs));
        debug!(
            batch = batch.len(),
            ok = result.is_ok(),
            commit_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "audit group commit"
        );
        match result {
            Ok(seqs) => {
                for ((_, reply), seq) in batch.into_iter().zip(seqs) {
                    let _ = reply.send(Ok(seq)); // the caller may have given up
                }
            }
            Err(e) => {
                warn!(batch = batch.len(), error = %e, "audit group commit failed");
                for (_, reply) in batch {
                    let _ = reply.send(Err(e.clone()));
                }
                return;
            }
        }
        if let Some(head) = &self.head {
            self.head_file.publish(head);
        }
        self.index_if_due();
    }

    /// Catches the query keys up with the committed records once they lag by
    /// `index_every` or more (`index.rs`). A failure is logged and tried
    /// again after the next batch: queries read the records past the mark.
    fn index_if_due(&mut self) {
        let Some(head) = self.head else { return };
        let upto = match self.indexed {
            Some(upto) => upto,
            None => match index::mark(&self.conn) {
                Ok(upto) => *self.indexed.insert(upto),
                Err(e) => {
                    warn!(error = %e, "audit index mark not read; queries read the records past it");
                    return;
                }
            },
        };
        if head.seq < upto.saturating_add(self.index_every) {
            return;
        }
        let started = Instant::now();
        match index::catch_up(&mut self.conn, upto, head.seq) {
            Ok(()) => {
                self.indexed = Some(head.seq);
                debug!(
                    records = head.seq - upto,
                    index_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    "audit keys caught up"
                );
            }
            Err(e) => {
                self.indexed = None;
                warn!(error = %e, "audit keys not caught up; queries read the records past the mark");
            }
        }
    }

    /// Writes the head file before the batch if its last write failed: the
    /// last committed link (read from the trail after a failed transaction).
    fn catch_up_head(&mut self) -> Result<(), AuditError> {
        if !self.head_file.failed() {
            return Ok(());
        }
        self.write_head_now().inspect_err(|e| {
            warn!(error = %e, "audit head file not written; the batch is refused until it is");
        })
    }

    /// Points the head file at the last committed link now, without waiting
    /// for the head thread's interval.
    fn write_head_now(&mut self) -> Result<(), AuditError> {
        let head = match self.head {
            Some(link) => link,
            None => *self.head.insert(last_link(&self.conn, &self.key)?),
        };
        self.head_file.write_now(&head)
    }

    /// Inserts the records, chained, in one transaction. `Err`: nothing written.
    fn append(&mut self, batch: &[(AuditRecord, Reply)]) -> Result<Vec<u64>, AuditError> {
        let start = match self.head {
            Some(link) => link,
            None => last_link(&self.conn, &self.key)?,
        };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate);
        let tx = match tx {
            Ok(tx) => tx,
            Err(e) => {
                self.head = None;
                return Err(db(e));
            }
        };
        let written = insert_all(&tx, &self.key, start, batch).and_then(|r| tx.commit().map(|()| r).map_err(db));
        match written {
            Ok((seqs, link)) => {
                self.head = Some(link);
                Ok(seqs)
            }
            Err(e) => {
                self.head = None; // re-read from the file before the next batch
                Err(e)
            }
        }
    }

    /// Deletes the prefix of the chain older than `cutoff_us`, after checking it.
    fn prune(&mut self, cutoff_us: i64) -> Result<u64, AuditError> {
        // The head file may lag the newest record by a write interval, and a
        // head that names a pruned record is a break: point it at the newest
        // first (the head never moves back, so it stays at or past the anchor;
        // this also writes it if an earlier write failed).
        self.write_head_now()?;
        let key = Arc::clone(&self.key);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
        let start = chain_start(&tx, &key)?.map_err(AuditError::Tampered)?;
        let mut walker = Walker::new(&key, start, None);
        {
            let mut stmt = tx.prepare(&format!("{SELECT_RAW} ORDER BY seq")).map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            while let Some(row) = rows.next().map_err(db)? {
                if matches!(row.get_ref(1), Ok(rusqlite::types::ValueRef::Integer(t)) if t >= cutoff_us) {
                    break; // the first young record: everything from here stays
                }
                walker.step(row)?.map_err(AuditError::Tampered)?;
            }
        }
        let end = walker.link;
        if end == start {
            return Ok(0);
        }
        tx.execute("INSERT INTO pruning (active) VALUES (1)", []).map_err(db)?;
        index::delete_through(&tx, end.seq)?;
        let pruned = tx.execute("DELETE FROM records WHERE seq <= ?1", [signed(end.seq)]).map_err(db)?;
        tx.execute(
            "INSERT INTO anchor (id, seq, mac, tag, cutoff) VALUES (1, ?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac, tag = excluded.tag, \
             cutoff = excluded.cutoff",
            params![signed(end.seq), hex(&end.mac), hex(&key.anchor_tag(&end)), cutoff_us],
        )
        .map_err(db)?;
        tx.execute("DELETE FROM pruning", []).map_err(db)?;
        tx.commit().map_err(db)?;
        debug!(pruned, anchor = ?end, "pruned the audit trail");
        Ok(u64::try_from(pruned).unwrap_or(u64::MAX))
    }
}

/// Inserts `batch` after `start`; returns each record's seq and the new last link.
fn insert_all(
    conn: &Connection,
    key: &ChainKey,
    start: Link,
    batch: &[(AuditRecord, Reply)],
) -> Result<(Vec<u64>, Link), AuditError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO records (seq, time, principal, authn, peer, operation, case_ids, outcome, reason, \
             prev, mac) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(db)?;
    let mut link = start;
    let mut seqs = Vec::with_capacity(batch.len());
    for (record, _) in batch {
        let seq = link.seq + 1;
        let time_us = record.time.timestamp_micros();
        let case_ids: Vec<u8> = record.case_ids.iter().flat_map(|id| *id.as_bytes()).collect();
        let bytes = RecordBytes {
            seq,
            time_us,
            principal: record.principal.as_bytes(),
            authn: record.authn.as_bytes(),
            peer: record.peer.as_bytes(),
            operation: record.operation.as_bytes(),
            case_ids: &case_ids,
            outcome: record.outcome.as_bytes(),
            reason: record.reason.as_bytes(),
        };
        let mac = key.record_mac(&link.mac, &bytes.canonical());
        insert
            .execute(params![
                signed(seq),
                time_us,
                record.principal,
                record.authn,
                record.peer,
                record.operation,
                case_ids,
                record.outcome,
                record.reason,
                hex(&link.mac),
                hex(&mac),
            ])
            .map_err(db)?;
        seqs.push(seq);
        link = Link { seq, mac };
    }
    Ok((seqs, link))
}

/// The last record's link, or the chain's start if there is none.
fn last_link(conn: &Connection, key: &ChainKey) -> Result<Link, AuditError> {
    let last: Option<(i64, String)> = conn
        .query_row("SELECT seq, mac FROM records ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(db)?;
    match last {
        Some((seq, mac)) => match (u64::try_from(seq), unhex(mac.as_bytes())) {
            (Ok(seq), Some(mac)) => Ok(Link { seq, mac }),
            _ => Err(AuditError::Corrupt(format!("the last record (seq {seq}) has a malformed seq or mac"))),
        },
        None => chain_start(conn, key)?.map_err(AuditError::Tampered),
    }
}

/// Refuses records that could not be encoded or would bloat the trail.
pub(crate) fn validate(record: &AuditRecord) -> Result<(), AuditError> {
    let fields = [
        ("principal", &record.principal),
        ("authn", &record.authn),
        ("peer", &record.peer),
        ("operation", &record.operation),
        ("outcome", &record.outcome),
        ("reason", &record.reason),
    ];
    for (name, value) in fields {
        if value.len() > MAX_FIELD_BYTES {
            return Err(AuditError::InvalidRecord(format!("{name} is longer than {MAX_FIELD_BYTES} bytes")));
        }
    }
    if record.case_ids.len() > MAX_CASE_IDS {
        return Err(AuditError::InvalidRecord(format!("more than {MAX_CASE_IDS} case ids")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Queries

/// Idle read-only connections for queries.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    busy_timeout: Duration,
}

/// Most idle read connections kept.
const MAX_IDLE_READERS: usize = 8;

impl Readers {
    pub fn new(path: PathBuf, busy_timeout: Duration) -> Self {
        Self { path, idle: Mutex::new(Vec::new()), busy_timeout }
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, AuditError>) -> Result<T, AuditError> {
        let pooled = lock(&self.idle).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => {
                let conn = open_read_only(&self.path)?;
                conn.busy_timeout(self.busy_timeout).map_err(db)?;
                conn
            }
        };
        let result = f(&conn);
        if result.is_ok() {
            let mut idle = lock(&self.idle);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }

    pub fn query(&self, filter: &AuditFilter, after: u64, limit: u32) -> Result<AuditPage, AuditError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AuditError::InvalidQuery(format!("limit must be 1..={MAX_PAGE}, not {limit}")));
        }
        let (sql, values) = index::query_sql(filter, after, limit);
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(values)).map_err(db)?;
            let mut entries = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                entries.push(decode(row)?);
            }
            let more = entries.len() > usize::try_from(limit).unwrap_or(usize::MAX);
            entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let next_after = if more { entries.last().map(|e| e.seq) } else { None };
            Ok(AuditPage { entries, next_after })
        })
    }
}

fn decode(row: &rusqlite::Row<'_>) -> Result<AuditEntry, AuditError> {
    let seq: i64 = row.get(0).map_err(db)?;
    let corrupt = |what: &str| AuditError::Corrupt(format!("record {seq}: malformed {what}"));
    let text = |i: usize, what: &str| row.get::<_, String>(i).map_err(|_| corrupt(what));
    let time: i64 = row.get(1).map_err(|_| corrupt("time"))?;
    let case_ids: Vec<u8> = row.get(6).map_err(|_| corrupt("case_ids"))?;
    if case_ids.len() % 16 != 0 {
        return Err(corrupt("case_ids"));
    }
    Ok(AuditEntry {
        seq: u64::try_from(seq).map_err(|_| corrupt("seq"))?,
        record: AuditRecord {
            time: DateTime::from_timestamp_micros(time).ok_or_else(|| corrupt("time"))?,
            principal: text(2, "principal")?,
            authn: text(3, "authn")?,
            peer: text(4, "peer")?,
            operation: text(5, "operation")?,
            case_ids: case_ids.chunks_exact(16).filter_map(|c| Uuid::from_slice(c).ok()).collect(),
            outcome: text(7, "outcome")?,
            reason: text(8, "reason")?,
        },
    })
}

pub(crate) fn db(e: rusqlite::Error) -> AuditError {
    AuditError::Storage(e.to_string())
}
