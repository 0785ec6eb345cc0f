//! The audit trail of leye: one record for every request the server answers —
//! reads and denials included — kept tamper-evident and for at least six months.
//!
//! It serves GB/T 22239-2019 level 3 §8.1.4.3 (audit of every user's important
//! actions; records protected from deletion and modification) and art. 21 of
//! the Cybersecurity Law (logs kept at least six months).
//!
//! A record never holds a resident ID or a name: only pseudonymous case ids
//! (UUIDs), principal ids (staff ids), operation names and codes. The crate
//! cannot tell a name from an id; keeping personal data out is the caller's
//! duty.
//!
//! # Layout
//! - `lib.rs`: the public types and [`AuditLog`], the handle.
//! - `chain.rs`: the chain key, the canonical encoding, the MACs, the head file
//!   (the key file and head file code is `leye_store::keyfile`/`headfile`,
//!   shared with the event store's chain).
//! - `store.rs`: the SQLite schema, the single writer thread (group commit,
//!   pruning) and the auditors' query.
//! - `index.rs`: the query keys (case, principal, operation, time), filled
//!   behind the records; the query's SQL; their check.
//! - `verify.rs`: the chain check, shared by [`AuditLog::verify`],
//!   [`verify_file`], [`AuditLog::open`] (the tail only) and
//!   [`AuditLog::prune`] (the part it deletes).
//! - `src/bin/leye-bench-audit.rs`: a throughput benchmark.
//!
//! # Files
//! - **The trail** (`path`): SQLite, WAL, `synchronous=FULL`, mode 0600.
//!   Table `records` (one row per record, `seq` its `INTEGER PRIMARY KEY`,
//!   contiguous from 1, or from the anchor + 1 after a prune) and table
//!   `anchor`, the last pruned link. The query keys `record_cases (seq,
//!   case_id)` (one row per case id, with an index by case), `by_principal`,
//!   `by_operation`, `by_time` (each `(key, seq)`) and their mark
//!   `indexed.upto` are written behind the records, every
//!   [`AuditOptions::index_every`] records, in a transaction of their own
//!   (schema version 2; a version 1 trail is migrated at open). Triggers
//!   refuse every `UPDATE` (the mark: every move back), and every `DELETE`
//!   unless the writer's prune transaction has set its flag.
//! - **The chain key** (`key_file`): 32 random bytes, mode 0600, created on first
//!   open. Keep it apart from the trail (another directory, another owner or a
//!   secret mount): whoever can read it can forge the chain.
//! - **The head file** (`<path>.head`): the last committed link, rewritten
//!   after batch commits by a thread of its own (`leye_store::headfile::
//!   HeadThread`: the newest link, those superseded meanwhile skipped), in two
//!   identical slots written and fdatasynced one after the other, so that a
//!   crash mid-write leaves one valid slot (created atomically: temp file,
//!   fsync, rename).
//!
//! # The chain
//! Record `n` stores `prev` (hex of record `n-1`'s `mac`; 64 zeros for record 1;
//! the anchor's mac for the first record after a prune) and
//! `mac = HMAC-SHA256(key, prev_raw_32_bytes || canonical(record n))`, in hex.
//!
//! ## Canonical encoding
//! Big-endian throughout; `str(x)` is a `u32` byte count followed by the UTF-8
//! bytes of `x`:
//! ```text
//! str("leye.audit.record.v1")
//! u64 seq
//! i64 time            microseconds since 1970-01-01T00:00:00Z
//! str(principal) str(authn) str(peer) str(operation)
//! u32 n, then n case ids of 16 bytes each (RFC 9562 byte order, the caller's order)
//! str(outcome) str(reason)
//! ```
//! The stored time is the record's time truncated to microseconds.
//!
//! The head file is 4352 bytes: two slots, at offsets 0 and 4096, of 256 bytes
//! each: four lines of text `leye-audit-head v1`, `seq=<decimal>`,
//! `mac=<hex>`, `tag=<hex>`, padded with spaces to 255 bytes and a newline,
//! with `tag = HMAC-SHA256(key, str("leye.audit.head.v1") || u64 seq || mac_raw)`.
//! The head is the valid slot with the higher seq (the bytes in between are
//! newlines).
//! The anchor row holds `seq`, `mac` and
//! `tag = HMAC-SHA256(key, str("leye.audit.anchor.v1") || u64 seq || mac_raw)`.
//! An empty trail's head is `seq=0` with 64 zero digits.
//!
//! # Guarantees
//! - [`AuditLog::record`] returns `Ok(seq)` only once the record is committed
//!   and fsynced (one transaction and one fsync per batch of queued records:
//!   group commit from a single writer thread) in the file that is still at
//!   the trail's path (same device and inode as when opened: a removed or
//!   replaced trail is an `Err`). The head file is written after the batch's
//!   answers, on its own thread, while the next batches commit; once a write
//!   has failed, the next batch is refused (`Err`, nothing committed) until
//!   the head file can be written again. Any failure is an `Err`, never a
//!   hang.
//! - Without the key, an edit of any stored field (including `prev`, `mac` and
//!   the case ids) is found as [`BreakKind::Edited`] at that seq; a deleted
//!   record in the middle as [`BreakKind::Deleted`]; deleting the newest
//!   records as [`BreakKind::Truncated`] against the head file; a forged record
//!   past the head as [`BreakKind::Inserted`]; a forged or replaced anchor as
//!   [`BreakKind::AnchorMismatch`]. The query keys are checked against the
//!   records up to their mark: the case keys against each record's own list,
//!   the others row by row (a missing or changed key row, or a mark past the
//!   keys: `Edited`; a row for no record, or past the mark: `Inserted`).
//! - A query sees every committed record whatever the keys' lag: it reads the
//!   keys up to their mark and the records past it.
//! - [`AuditLog::prune`] deletes only records older than the retention, and only
//!   a prefix of the chain (it stops at the first record that is young enough,
//!   even if older ones follow it), so what remains is one contiguous chain from
//!   the anchor. It refuses to prune a part that does not verify, so pruning
//!   never erases evidence of tampering.
//! - [`AuditLog::open`] refuses a trail that is shorter than its head file, or
//!   whose head file is missing or forged, so that appending can never paper
//!   over a truncation.
//!
//! # Not guaranteed
//! - Whoever holds the key can rewrite everything. Whoever can write the files
//!   can destroy them (deletion is detected, not prevented) or roll back the
//!   trail *and* the head file together to an earlier copy of both.
//! - The head file follows the answers on its own thread: until its write
//!   ends, and after a crash in between, the head is behind by the batches
//!   committed meanwhile (one or two under load). Those records are accepted
//!   if they chain, so deleting exactly those batches in that moment (or
//!   together with the crash) is not detectable.
//! - Queries trust the file; only [`AuditLog::verify`] checks it.
//! - Unix only (file modes).

mod chain;
mod index;
mod store;
mod verify;

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    thread,
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

pub use crate::index::INDEX_EVERY;
use crate::{
    chain::ChainKey,
    store::{Readers, Request},
};

/// Logs must be kept at least six months (Cybersecurity Law art. 21): 183 days.
pub const MIN_RETENTION_DAYS: u32 = 183;
/// Most records one query page returns.
pub const MAX_PAGE: u32 = 1000;
/// Longest text field of a record, in bytes.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Most case ids in one record.
pub const MAX_CASE_IDS: usize = 10_000;

/// One audited request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the request was answered. Stored to the microsecond.
    pub time: DateTime<Utc>,
    /// The canonical principal id, or `""` when the caller was not authenticated.
    pub principal: String,
    /// How the caller was authenticated: `"bearer:https://idp"`,
    /// `"certificate:ab12…"`, `"none"`.
    pub authn: String,
    /// The peer's socket address, e.g. `"127.0.0.1:53211"`, or `""`.
    pub peer: String,
    /// The operation: `"leye.person.v1.PersonCaseService/GetCase"`, `"cli/replay"`.
    pub operation: String,
    /// The cases touched (pseudonymous ids).
    pub case_ids: Vec<Uuid>,
    /// The gRPC status code name: `"OK"`, `"PERMISSION_DENIED"`, …
    pub outcome: String,
    /// A stable reason code when denied (e.g. `"ROLE_MISSING"`), else `""`.
    pub reason: String,
}

/// A stored record and its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub record: AuditRecord,
}

/// Tuning and policy of an [`AuditLog`].
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Days a record is kept before [`AuditLog::prune`] may delete it. At least
    /// [`MIN_RETENTION_DAYS`]; less is refused by [`AuditLog::open`].
    pub retention_days: u32,
    /// Most records committed in one transaction (group commit). Default 512.
    pub max_batch: usize,
    /// Most records waiting for the writer; further callers wait for room. Default 4096.
    pub queue_capacity: usize,
    /// How long the writer waits for a lock held by another process before the
    /// batch fails (`PRAGMA busy_timeout`). Default 5 s.
    pub busy_timeout: Duration,
    /// How many records the query keys (case, principal, operation, time) may lag
    /// behind the trail before the writer catches them up in a transaction
    /// of their own. Queries see every record whatever the lag; a larger lag
    /// costs them a longer read of the records past the mark. Default
    /// [`INDEX_EVERY`].
    pub index_every: u64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            retention_days: MIN_RETENTION_DAYS,
            max_batch: 512,
            queue_capacity: 4096,
            busy_timeout: Duration::from_secs(5),
            index_every: INDEX_EVERY,
        }
    }
}

/// What auditors filter on. Every set field must match; `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub principal: Option<String>,
    pub case_id: Option<Uuid>,
    pub operation: Option<String>,
    /// Records with `time >= from`.
    pub from: Option<DateTime<Utc>>,
    /// Records with `time < to`.
    pub to: Option<DateTime<Utc>>,
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// In sequence order.
    pub entries: Vec<AuditEntry>,
    /// The `after` of the next page, if more records match.
    pub next_after: Option<u64>,
}

/// The outcome of a chain check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records in the trail.
    pub records: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Hex MAC of the last record verified: the last record of an intact trail
    /// (the anchor's if none remain; 64 zeros for an empty trail), or the last
    /// good link before the break.
    pub head_hash: String,
    /// The first break, `None` if the whole chain verifies.
    pub broken: Option<ChainBreak>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Where and how the chain breaks. Never holds record contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: u64,
    pub what: BreakKind,
    pub detail: String,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at seq {}: {}", self.what, self.seq, self.detail)
    }
}

/// The kinds of break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The record's MAC does not match its contents (or a column is malformed,
    /// or the case index disagrees with it).
    Edited,
    /// Records are missing from the middle (a gap in the sequence).
    Deleted,
    /// A record that is not part of the chain: a forged one past the head, or
    /// one below the anchor, or an authentic one linked to another predecessor.
    Inserted,
    /// The newest records are gone: the head file names a later record.
    Truncated,
    /// The head file is missing, unreadable, forged, or names another MAC.
    HeadMismatch,
    /// The prune anchor is forged, or the first record does not follow it.
    AnchorMismatch,
}

/// Errors of the audit trail.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    #[error("audit configuration: {0}")]
    Config(String),
    #[error("audit chain key {path}: {reason}")]
    Key {
        path: String,
        reason: String,
        /// The file does not exist.
        missing: bool,
    },
    #[error("audit trail storage: {0}")]
    Storage(String),
    #[error("audit head file {path}: {reason}")]
    Head { path: String, reason: String },
    /// The trail does not verify where it must (at open, or in the part a prune
    /// would delete). Run `leye audit verify` and investigate.
    #[error("audit trail does not verify: {0}")]
    Tampered(ChainBreak),
    #[error("invalid audit record: {0}")]
    InvalidRecord(String),
    #[error("invalid audit query: {0}")]
    InvalidQuery(String),
    #[error("corrupt audit trail: {0}")]
    Corrupt(String),
    #[error("the audit log is closed")]
    Closed,
}

/// The audit trail: a cheap, cloneable handle. The writer thread stops when
/// [`close`](Self::close) is called or the last handle is dropped.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    key: Arc<ChainKey>,
    retention_days: u32,
    /// `None` once closed.
    queue: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Readers,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens or creates the trail at `path` (SQLite, WAL, `synchronous=FULL`,
    /// mode 0600) with the chain key in `key_file` (32 random bytes, created
    /// 0600 if missing), and starts the writer thread.
    ///
    /// Checks the head file against the trail and the records past it: a
    /// missing or forged head file, or a trail shorter than its head, is
    /// [`AuditError::Tampered`] (the whole chain is checked by
    /// [`verify`](Self::verify), not here). `retention_days` below
    /// [`MIN_RETENTION_DAYS`] is [`AuditError::Config`].
    pub fn open(path: &Path, key_file: &Path, options: AuditOptions) -> Result<Self, AuditError> {
        if options.retention_days < MIN_RETENTION_DAYS {
            return Err(AuditError::Config(format!(
                "retention_days is {}, but audit logs must be kept at least {MIN_RETENTION_DAYS} days",
                options.retention_days
            )));
        }
        let key = Arc::new(ChainKey::load_or_create(key_file)?);
        let (conn, head, head_file, trail) = store::open_writer(path, &key, options.busy_timeout)?;
        let (queue, rx) = mpsc::channel(options.queue_capacity.max(1));
        let writer = store::Writer::new(conn, rx, Arc::clone(&key), head_file, head, trail, &options)?;
        let thread = thread::Builder::new()
            .name("leye-audit-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| AuditError::Storage(format!("cannot start the audit writer thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                key,
                retention_days: options.retention_days,
                queue: Mutex::new(Some(queue)),
                writer: Mutex::new(Some(thread)),
                readers: Readers::new(path.to_path_buf(), options.busy_timeout),
            }),
        })
    }

    /// The trail's file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Appends one record; resolves once it is durable (committed and fsynced
    /// with its batch) and returns its sequence number. Any failure to write is
    /// an `Err`: the server must then refuse to answer the request.
    pub async fn record(&self, record: AuditRecord) -> Result<u64, AuditError> {
        store::validate(&record)?;
        let (reply, answer) = oneshot::channel();
        self.send(Request::Append { record, reply }).await?;
        answer.await.map_err(|_| AuditError::Closed)?
    }

    /// Deletes the records older than the retention at `now` (see the crate
    /// documentation), records the last deleted link as the new anchor, and
    /// returns how many were deleted. Runs in the writer, between batches.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, AuditError> {
        let cutoff = now - chrono::Duration::days(i64::from(self.inner.retention_days));
        let (reply, answer) = oneshot::channel();
        self.send(Request::Prune { cutoff_us: cutoff.timestamp_micros(), reply }).await?;
        answer.await.map_err(|_| AuditError::Closed)?
    }

    async fn send(&self, request: Request) -> Result<(), AuditError> {
        let queue = lock(&self.inner.queue).clone().ok_or(AuditError::Closed)?;
        queue.send(request).await.map_err(|_| AuditError::Closed)
    }

    /// The auditors' query: the records matching `filter` with `seq > after`, in
    /// sequence order, at most `limit` (1..=[`MAX_PAGE`]). Blocking: it runs on a
    /// read-only connection, never waits for the writer, and sees one committed
    /// snapshot. From async code, call it in `spawn_blocking`.
    ///
    /// A principal, operation or case filter reads its key in seq order and
    /// stops after the page; the records past the keys' mark (at most about
    /// `index_every` and a batch) are read directly. A time range alone reads
    /// the whole range from its key and sorts it by seq for every page: page
    /// wide ranges by another filter too, or narrow the range.
    pub fn query(&self, filter: &AuditFilter, after: u64, limit: u32) -> Result<AuditPage, AuditError> {
        self.inner.readers.query(filter, after, limit)
    }

    /// Checks the whole chain and the head file, and names the first break.
    /// Blocking, on its own read-only connection; appends go on meanwhile.
    pub fn verify(&self) -> Result<VerifyReport, AuditError> {
        verify::verify_trail(&self.inner.path, &self.inner.key)
    }

    /// Stops accepting records, lets the writer commit every record already
    /// queued, and waits for the writer thread to end. Afterwards `record` and
    /// `prune` on any clone fail with [`AuditError::Closed`]; queries and
    /// `verify` still work.
    pub async fn close(&self) {
        if let Some(writer) = self.inner.stop() {
            let joined = tokio::task::spawn_blocking(move || writer.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::warn!("the audit writer thread panicked");
            }
        }
    }
}

impl Inner {
    fn stop(&self) -> Option<thread::JoinHandle<()>> {
        lock(&self.queue).take();
        lock(&self.writer).take()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(writer) = self.stop() {
            // Nobody can enqueue any more: the writer commits what is queued and ends.
            let _ = writer.join();
        }
    }
}

/// Checks the trail at `path` with the key in `key_file` without opening it for
/// writing (the operator's `leye audit verify`). Neither file is created.
pub fn verify_file(path: &Path, key_file: &Path) -> Result<VerifyReport, AuditError> {
    let key = ChainKey::load(key_file)?;
    verify::verify_trail(path, &key)
}

/// Locks `mutex`, ignoring poisoning: a queue handle or a pool stays valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
