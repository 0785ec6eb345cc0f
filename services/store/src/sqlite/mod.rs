//! The embedded default adapter: one SQLite file.
//!
//! # Design
//! - **One writer.** A dedicated thread (`leye-store-writer`) owns the only
//!   connection that writes. [`SqliteStore::append`] sends its request over a
//!   channel and awaits the reply; nothing else ever writes through this process.
//! - **Group commit.** The writer blocks for one request, then drains every
//!   request already queued (up to [`SqliteStoreOptions::max_batch`]) and runs
//!   them all, in arrival order, in ONE `BEGIN IMMEDIATE … COMMIT` transaction:
//!   one fsync for the whole batch, however many callers are waiting.
//! - **Savepoints.** Each request runs inside its own savepoint. A request that
//!   fails its expected-revision check (or hits a duplicate event id) is rolled
//!   back alone; the others in the batch still commit. If the `COMMIT` itself
//!   fails, every request of the batch gets [`StoreError::Backend`] and nothing
//!   of the batch is written.
//! - **Snapshot reads.** The file is in WAL mode. Reads run on
//!   `spawn_blocking` with read-only connections from a small pool, never the
//!   writer's: each read statement sees one committed snapshot and never waits
//!   for the writer.
//! - **Gap-free global order.** An event's position is its `INTEGER PRIMARY KEY`
//!   (rowid). Rows are never deleted, and SQLite has one writer at a time, so
//!   positions are handed out in commit order and a commit makes a contiguous run
//!   visible at once: a reader that sees position `p` has seen every position
//!   below it. Following the log by `position > after` therefore misses nothing.
//! - **Durability.** `synchronous=FULL` in WAL mode syncs the log on every
//!   commit, and the writer replies only after `COMMIT` returned: an `Ok` append
//!   survives a crash or power loss.
//! - **Followers.** After each commit the writer publishes the new head on a
//!   `watch` channel, which wakes subscriptions without polling; they also
//!   re-check every [`SqliteStoreOptions::poll_interval`] to see appends made by
//!   another process on the same file.
//!
//! - **The chain.** The writer seals every event it inserts ([`crate::chain`]):
//!   inside the batch's transaction it reads the last event's hash, gives each
//!   new event the next position explicitly and stores `chain_prev`,
//!   `chain_hash`, `chain_mac`, `chain_check` beside it, so a request rolled back
//!   in its savepoint leaves no link behind. After the commit a separate thread
//!   (`leye-store-head`) points the head file `<file>.head` at the newest link,
//!   off the commit path: the head lags by at most the batches committed
//!   meanwhile. The key is `<dir>/keys/chain.key` by default (0600, created
//!   with the first chain; an existing chain never gets a new key).
//! - **The check at open.** The head file and the last
//!   [`SqliteStoreOptions::tail_check`] events are checked (and `PRAGMA
//!   quick_check` run when asked); a problem is kept in
//!   [`SqliteStore::integrity`] and every append is then refused with
//!   [`StoreError::Integrity`], while reads go on. `seal.rs` holds the chain
//!   columns, the migration of schema-1 files and [`verify_file`].
//!
//! `recorded_at` is one timestamp per batch, taken when its transaction starts:
//! `max(now, recorded_at of the last event in the log)`, so it never decreases.
//! The schema version is kept in `PRAGMA user_version`; a file written by a newer
//! version of this adapter is refused.

mod backup;
mod seal;

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};
use tokio::{
    runtime::Handle,
    sync::{mpsc, oneshot, watch},
};
use tracing::debug;
use uuid::Uuid;

pub use backup::{BackupReport, backup};
pub use seal::{HEAD_FORMAT, Verified, VerifyOptions, verify_file};

use crate::{
    AppendResult, ChainedEvent, CurrentRevision, EventData, EventStore, ExpectedRevision, IntegrityProblem, Position,
    RecordedEvent, StoreError, StreamName, Subscription,
    chain::{ChainAlgorithm, ChainKey, EventBytes, GENESIS},
    headfile::{self, HeadState, HeadWriter, Link},
    keyfile::{self, KeyFileError},
};

/// The schema version this build writes (`PRAGMA user_version`). Files with a
/// higher version are refused by [`SqliteStore::open`].
pub const SCHEMA_VERSION: i64 = 2;

/// The chain key's file, relative to the store's directory, unless
/// [`SqliteStoreOptions::key_file`] says otherwise.
pub const DEFAULT_KEY_FILE: &str = "keys/chain.key";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY,
    stream      TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    event_id    BLOB    NOT NULL UNIQUE,
    event_type  TEXT    NOT NULL,
    data        BLOB    NOT NULL,
    metadata    BLOB    NOT NULL,
    recorded_at INTEGER NOT NULL, -- microseconds since the Unix epoch, UTC
    UNIQUE (stream, revision)
) STRICT;
";

const SELECT_EVENTS: &str = "SELECT position, stream, revision, event_id, event_type, data, \
                             metadata, recorded_at FROM events";

/// How many events a subscription reads per query.
const SUBSCRIPTION_PAGE: usize = 512;
/// How many events a subscription buffers ahead of its reader.
const SUBSCRIPTION_BUFFER: usize = 1024;

/// Tuning of a [`SqliteStore`]. The defaults suit the service.
#[derive(Debug, Clone)]
pub struct SqliteStoreOptions {
    /// Most append requests committed in one transaction (group commit). Default 1024.
    pub max_batch: usize,
    /// Most append requests waiting for the writer; further appends wait for room.
    /// Default 4096.
    pub queue_capacity: usize,
    /// Most idle read-only connections kept for reuse. Default 64: every
    /// concurrent command finds an open connection (opening one per read cost
    /// about a fifth of the server's CPU in the benchmark).
    pub read_pool_size: usize,
    /// How long a connection waits for a lock held by another process before
    /// failing (`PRAGMA busy_timeout`). Default 5 s.
    pub busy_timeout: Duration,
    /// How often an idle subscription re-reads the log even without a local
    /// commit, to see appends by other processes. Default 500 ms.
    pub poll_interval: Duration,
    /// The chain key; default `<the store's directory>/keys/chain.key`.
    pub key_file: Option<PathBuf>,
    /// The chain's hash function for a new store; `None`: SHA-256 for a new
    /// store, the recorded one for an existing store (which must match when set).
    pub algorithm: Option<ChainAlgorithm>,
    /// Events at the end of the log checked at open (with every event past the
    /// head file). Default 1000.
    pub tail_check: u64,
    /// Run `PRAGMA quick_check` at open (reads the whole file). Default false;
    /// `leye serve` sets it.
    pub quick_check: bool,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        Self {
            max_batch: 1024,
            queue_capacity: 4096,
            read_pool_size: 64,
            busy_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(500),
            key_file: None,
            algorithm: None,
            tail_check: 1000,
            quick_check: false,
        }
    }
}

/// The PRAGMAs of the writer connection, as read back from it after opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlitePragmas {
    /// `wal`.
    pub journal_mode: String,
    /// `2` (`FULL`).
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
    /// The schema version, [`SCHEMA_VERSION`].
    pub user_version: i64,
}

/// The SQLite event store: a cheap, cloneable handle. The writer thread stops
/// when [`close`](Self::close) is called or the last handle is dropped.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    key_file: PathBuf,
    chain: ChainInfo,
    /// What the check at open found; appends are refused while it is `Some`.
    problem: Option<IntegrityProblem>,
    pragmas: SqlitePragmas,
    poll_interval: Duration,
    /// `None` once closed.
    queue: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Arc<Readers>,
    head: watch::Receiver<Option<Position>>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the store at `path`, creating the file and its schema if missing,
    /// and starts the writer thread. Must run inside a tokio runtime.
    ///
    /// Fails with [`StoreError::Backend`] if the file cannot be opened, cannot be
    /// put in WAL mode, or has a schema newer than [`SCHEMA_VERSION`].
    pub async fn open(path: impl AsRef<Path>, options: SqliteStoreOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let busy_timeout = options.busy_timeout;
        let key_file = options.key_file.clone().unwrap_or_else(|| default_key_file(&path));
        let opened = blocking({
            let (path, key_file, options) = (path.clone(), key_file.clone(), options.clone());
            move || open_writer(&path, &key_file, &options)
        })
        .await?;
        let Opened { conn, pragmas, head, key, chain, problem, head_writer } = opened;
        if let Some(p) = &problem {
            tracing::error!(code = p.code, detail = %p.detail, path = %path.display(), "STORE INTEGRITY ALERT: appends refused");
        }

        let (queue, rx) = mpsc::channel(options.queue_capacity.max(1));
        let (head_tx, head_rx) = watch::channel(head);
        let heads = match (head_writer, key.clone()) {
            (Some(file), Some(key)) => Some(HeadThread::start(file, key)?),
            _ => None,
        };
        let writer = Writer { conn, rx, head: head_tx, max_batch: options.max_batch.max(1), key, heads };
        let thread = thread::Builder::new()
            .name("leye-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        debug!(path = %path.display(), head = ?head, "opened SQLite store");

        let readers = Arc::new(Readers {
            path: path.clone(),
            idle: Mutex::new(Vec::new()),
            max_idle: options.read_pool_size,
            busy_timeout,
        });
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                key_file,
                chain,
                problem,
                pragmas,
                poll_interval: options.poll_interval,
                queue: Mutex::new(Some(queue)),
                writer: Mutex::new(Some(thread)),
                readers,
                head: head_rx,
            }),
        })
    }

    /// The file this store was opened from.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The writer connection's PRAGMAs, read back from it when it was opened.
    pub fn pragmas(&self) -> &SqlitePragmas {
        &self.inner.pragmas
    }

    /// What the check at open found: `None` when the tail of the chain, the head
    /// file, the key (and `quick_check`, when asked) were sound.
    pub fn integrity(&self) -> Option<&IntegrityProblem> {
        self.inner.problem.as_ref()
    }

    /// The chain key's file.
    pub fn key_file(&self) -> &Path {
        &self.inner.key_file
    }

    /// The chain's algorithm and key id, as recorded in the store.
    pub fn chain(&self) -> &ChainInfo {
        &self.inner.chain
    }

    /// Stops accepting appends, lets the writer answer every append already
    /// queued, and waits for the writer thread to end. Afterwards `append` on any
    /// remaining clone fails with [`StoreError::Closed`]; reads still work, and
    /// subscriptions end once they have delivered everything committed.
    pub async fn close(self) {
        if let Some(writer) = self.inner.stop() {
            // The thread only finishes the queued requests; joining cannot block for long,
            // but it is still blocking, so keep it off the async workers.
            let joined =
                blocking(move || writer.join().map_err(|_| StoreError::Backend("writer thread panicked".into()))).await;
            if let Err(e) = joined {
                tracing::warn!(error = %e, "closing the SQLite store");
            }
        }
    }
}

impl Inner {
    /// Drops the queue's sender (the writer ends once the queue is drained) and
    /// hands out the writer thread to join, the first time only.
    fn stop(&self) -> Option<thread::JoinHandle<()>> {
        lock(&self.queue).take();
        lock(&self.writer).take()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(writer) = self.stop() {
            // The last handle is gone: nobody can enqueue any more, so the writer
            // answers what is queued and ends. Join it so the file is closed cleanly.
            let _ = writer.join();
        }
    }
}

impl EventStore for SqliteStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<EventData>,
    ) -> Result<AppendResult, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        if let Some(problem) = &self.inner.problem {
            return Err(problem.error());
        }
        let queue = lock(&self.inner.queue).clone().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let request = Request { stream: stream.clone(), expected, events, reply };
        queue.send(request).await.map_err(|_| StoreError::Closed)?;
        drop(queue);
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn read_stream(&self, stream: &StreamName, from_revision: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        let stream = stream.as_str().to_owned();
        let from = signed(from_revision);
        self.inner
            .readers
            .run(move |conn| {
                query_events(conn, "WHERE stream = ?1 AND revision >= ?2 ORDER BY revision", params![stream, from])
            })
            .await
    }

    async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.readers.read_all(after, max).await
    }

    async fn read_chain(&self, after: Option<Position>, max: usize) -> Result<Vec<ChainedEvent>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let after = after.map_or(0, |p| signed(p.commit));
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.inner
            .readers
            .run(move |conn| {
                let sql = format!("{} WHERE position > ?1 ORDER BY position LIMIT ?2", seal::SELECT_SEALED);
                let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
                let mut rows = stmt.query(params![after, max]).map_err(db)?;
                let mut events = Vec::new();
                while let Some(row) = rows.next().map_err(db)? {
                    events.push(seal::decode_chained(row)?);
                }
                Ok(events)
            })
            .await
    }

    async fn sealed_head(&self) -> Result<Option<Link>, StoreError> {
        let Ok(key) = ChainKey::load(&self.inner.key_file, self.inner.chain.algorithm) else {
            return Err(StoreError::Backend(format!("cannot read the chain key {}", self.inner.key_file.display())));
        };
        let path = self.inner.path.clone();
        blocking(move || match seal::read_head(&path, &key)? {
            HeadState::Valid(link) if link.seq == 0 => Ok(None),
            HeadState::Valid(link) => Ok(Some(link)),
            HeadState::Missing => Ok(None),
            HeadState::Invalid => Err(StoreError::Backend("the head file does not verify".into())),
        })
        .await
    }

    async fn head(&self) -> Result<Option<Position>, StoreError> {
        self.inner
            .readers
            .run(|conn| {
                let max: Option<i64> =
                    conn.query_row("SELECT max(position) FROM events", [], |row| row.get(0)).map_err(db)?;
                max.map(|p| unsigned(p).map(Position::from_sequence)).transpose()
            })
            .await
    }

    fn subscribe_all(&self, after: Option<Position>) -> Subscription {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
        match Handle::try_current() {
            Ok(runtime) => {
                let readers = Arc::clone(&self.inner.readers);
                let head = self.inner.head.clone();
                runtime.spawn(follow(readers, head, self.inner.poll_interval, after, tx));
            }
            Err(_) => {
                // The channel is fresh, so this send cannot fail for lack of room.
                let _ = tx.try_send(Err(no_runtime()));
            }
        }
        Subscription::from_channel(rx)
    }
}

/// The follower task behind [`SqliteStore::subscribe_all`].
async fn follow(
    readers: Arc<Readers>,
    mut head: watch::Receiver<Option<Position>>,
    poll_interval: Duration,
    mut after: Option<Position>,
    tx: mpsc::Sender<Result<RecordedEvent, StoreError>>,
) {
    let mut store_open = true;
    loop {
        // Anything committed from here on changes `head`, and anything committed
        // before is visible to the read below: no wake-up can be lost.
        head.mark_unchanged();
        let page = match readers.read_all(after, SUBSCRIPTION_PAGE).await {
            Ok(page) => page,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        let caught_up = page.len() < SUBSCRIPTION_PAGE;
        for event in page {
            after = Some(event.position);
            if tx.send(Ok(event)).await.is_err() {
                return; // the subscriber is gone
            }
        }
        if !caught_up {
            continue;
        }
        if !store_open {
            return; // closed, and everything committed was delivered
        }
        tokio::select! {
            () = tx.closed() => return,
            changed = head.changed() => store_open = changed.is_ok(),
            () = tokio::time::sleep(poll_interval) => {}
        }
    }
}

// ---------------------------------------------------------------------------
// The writer

/// One `append` call waiting for the writer.
struct Request {
    stream: StreamName,
    expected: ExpectedRevision,
    events: Vec<EventData>,
    reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// The writer thread's state: the only connection that writes.
struct Writer {
    conn: Connection,
    rx: mpsc::Receiver<Request>,
    head: watch::Sender<Option<Position>>,
    max_batch: usize,
    /// `None` when the store's key is missing or wrong (appends are then
    /// refused before they reach the writer).
    key: Option<Arc<ChainKey>>,
    /// The head file's thread; `None` when appends are refused.
    heads: Option<HeadThread>,
}

/// The outcome of each request of a batch, and the last link it wrote.
type BatchOutcome = (Vec<Result<AppendResult, StoreError>>, Option<Link>);

impl Writer {
    /// Commits batches until every sender is gone and the queue is drained.
    fn run(mut self) {
        while let Some(first) = self.rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
        if let Some(heads) = self.heads.take() {
            heads.stop();
        }
        debug!("SQLite writer stopped");
    }

    fn commit_batch(&mut self, batch: Vec<Request>) {
        let started = Instant::now();
        let results = match self.execute(&batch) {
            Ok((results, last_written)) => {
                if let Some(link) = last_written {
                    self.head.send_replace(Some(Position::from_sequence(link.seq)));
                    if let Some(heads) = &self.heads {
                        heads.publish(link);
                    }
                }
                results
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::warn!(batch = batch.len(), error = %reason, "group commit failed");
                batch.iter().map(|_| Err(StoreError::Backend(reason.clone()))).collect()
            }
        };
        debug!(
            batch = batch.len(),
            ok = results.iter().filter(|r| r.is_ok()).count(),
            commit_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "group commit"
        );
        for (request, result) in batch.into_iter().zip(results) {
            let _ = request.reply.send(result); // the caller may have given up
        }
    }

    /// Runs the whole batch in one transaction, each request in its own savepoint.
    /// `Err` means the transaction failed as a whole and nothing was written.
    fn execute(&mut self, batch: &[Request]) -> Result<BatchOutcome, StoreError> {
        let key = self.key.clone().ok_or_else(|| StoreError::Backend("the chain key is not available".into()))?;
        let mut tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
        // Read inside the write transaction: another process may have appended.
        let last: Option<(i64, i64, Vec<u8>)> = tx
            .query_row("SELECT position, recorded_at, chain_hash FROM events ORDER BY position DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(db)?;
        let recorded_at = Utc::now().timestamp_micros().max(last.as_ref().map_or(i64::MIN, |l| l.1));
        let mut link = match last {
            None => Link { seq: 0, hash: GENESIS },
            Some((position, _, hash)) => Link {
                seq: unsigned(position)?,
                hash: hash.try_into().map_err(|_| corrupt("chain hash of the last event"))?,
            },
        };

        let mut results = Vec::with_capacity(batch.len());
        let mut last_written = None;
        for request in batch {
            let savepoint = tx.savepoint().map_err(db)?;
            let mut tentative = link;
            let result = apply(&savepoint, request, recorded_at, &key, &mut tentative);
            match &result {
                Ok(r) if !r.already_written => {
                    savepoint.commit().map_err(db)?;
                    link = tentative;
                    last_written = Some(link);
                }
                // Nothing to keep: roll back whatever the request did, alone.
                _ => savepoint.finish().map_err(db)?,
            }
            results.push(result);
        }
        // On failure `tx` is dropped, which rolls back.
        tx.commit().map_err(db)?;
        Ok((results, last_written))
    }
}

/// One append request, inside its savepoint.
fn apply(
    conn: &Connection,
    request: &Request,
    recorded_at: i64,
    key: &ChainKey,
    link: &mut Link,
) -> Result<AppendResult, StoreError> {
    let Some(first) = request.events.first() else {
        return Err(StoreError::EmptyAppend);
    };
    let found: Option<(String, i64)> = conn
        .prepare_cached("SELECT stream, revision FROM events WHERE event_id = ?1")
        .and_then(|mut s| {
            s.query_row([first.event_id.as_bytes().as_slice()], |r| Ok((r.get(0)?, r.get(1)?))).optional()
        })
        .map_err(db)?;
    if let Some((stream, revision)) = found {
        return already_written(conn, request, first.event_id, &stream, revision);
    }

    let current: Option<i64> = conn
        .prepare_cached("SELECT max(revision) FROM events WHERE stream = ?1")
        .and_then(|mut s| s.query_row([request.stream.as_str()], |r| r.get(0)))
        .map_err(db)?;
    let current = match current {
        Some(r) => CurrentRevision::Current(unsigned(r)?),
        None => CurrentRevision::NoStream,
    };
    let ok = match (request.expected, current) {
        (ExpectedRevision::Any, _)
        | (ExpectedRevision::NoStream, CurrentRevision::NoStream)
        | (ExpectedRevision::StreamExists, CurrentRevision::Current(_)) => true,
        (ExpectedRevision::Exact(want), CurrentRevision::Current(have)) => want == have,
        _ => false,
    };
    if !ok {
        return Err(StoreError::WrongExpectedRevision {
            stream: request.stream.clone(),
            expected: request.expected,
            current,
        });
    }

    let mut revision = match current {
        CurrentRevision::Current(r) => r + 1,
        CurrentRevision::NoStream => 0,
    };
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO events (position, stream, revision, event_id, event_type, data, metadata, \
             recorded_at, chain_prev, chain_hash, chain_mac, chain_check) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(db)?;
    for event in &request.events {
        let position = link.seq + 1;
        let seal = key.seal(
            &link.hash,
            &EventBytes {
                position: Position::from_sequence(position),
                stream: request.stream.as_str().as_bytes(),
                revision,
                event_id: event.event_id.as_bytes(),
                event_type: event.event_type.as_bytes(),
                recorded_at_us: recorded_at,
                data: &event.data,
                metadata: &event.metadata,
            },
        );
        insert
            .execute(params![
                signed(position),
                request.stream.as_str(),
                signed(revision),
                event.event_id.as_bytes().as_slice(),
                event.event_type,
                event.data,
                event.metadata,
                recorded_at,
                &seal.prev[..],
                &seal.hash[..],
                &seal.mac[..],
                &seal.check[..],
            ])
            .map_err(|e| duplicate_or_db(e, event.event_id))?;
        *link = Link { seq: position, hash: seal.hash };
        revision += 1;
    }
    Ok(AppendResult {
        next_expected_revision: revision - 1,
        position: Position::from_sequence(link.seq),
        already_written: false,
    })
}

/// The request's first event id is already stored at `stream`/`revision`: an
/// idempotent retry if the request's ids are exactly the events stored from there.
fn already_written(
    conn: &Connection,
    request: &Request,
    first_id: Uuid,
    stream: &str,
    revision: i64,
) -> Result<AppendResult, StoreError> {
    let duplicate = || StoreError::DuplicateEventId { event_id: first_id };
    if stream != request.stream.as_str() {
        return Err(duplicate());
    }
    let mut stmt = conn
        .prepare_cached(
            "SELECT event_id, revision, position FROM events \
             WHERE stream = ?1 AND revision >= ?2 ORDER BY revision LIMIT ?3",
        )
        .map_err(db)?;
    let stored = stmt
        .query_map(params![stream, revision, i64::try_from(request.events.len()).unwrap_or(i64::MAX)], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(db)?;
    let same = stored.len() == request.events.len()
        && stored.iter().zip(&request.events).all(|((id, _, _), e)| id == e.event_id.as_bytes());
    match stored.last() {
        Some(&(_, revision, position)) if same => Ok(AppendResult {
            next_expected_revision: unsigned(revision)?,
            position: Position::from_sequence(unsigned(position)?),
            already_written: true,
        }),
        _ => Err(duplicate()),
    }
}

/// The chain's algorithm and key id, as recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainInfo {
    pub algorithm: ChainAlgorithm,
    pub key_id: String,
    /// Events up to this position were sealed by the migration of a schema-1 file.
    pub migrated_through: Option<u64>,
}

/// What [`open_writer`] hands to [`SqliteStore::open`].
struct Opened {
    conn: Connection,
    pragmas: SqlitePragmas,
    head: Option<Position>,
    key: Option<Arc<ChainKey>>,
    chain: ChainInfo,
    problem: Option<IntegrityProblem>,
    head_writer: Option<HeadWriter>,
}

/// `<the store's directory>/keys/chain.key`.
pub fn default_key_file(store: &Path) -> PathBuf {
    store.parent().unwrap_or_else(|| Path::new(".")).join(DEFAULT_KEY_FILE)
}

/// Opens the writer connection: PRAGMAs, schema (migrating older files), the
/// chain key, the check at open, and the head file.
fn open_writer(path: &Path, key_file: &Path, options: &SqliteStoreOptions) -> Result<Opened, StoreError> {
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

/// The thread that points the head file at the newest committed link, off the
/// writer's commit path. It writes the latest link published (skipping
/// intermediate ones) and, when stopped, the last one before it ends.
struct HeadThread {
    shared: Arc<HeadShared>,
    thread: thread::JoinHandle<()>,
}

#[derive(Default)]
struct HeadShared {
    /// The newest link committed, and whether the writer has stopped.
    state: Mutex<(Option<Link>, bool)>,
    changed: Condvar,
}

impl HeadThread {
    fn start(file: HeadWriter, key: Arc<ChainKey>) -> Result<Self, StoreError> {
        let shared = Arc::new(HeadShared::default());
        let thread = thread::Builder::new()
            .name("leye-store-head".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || head_loop(&shared, &file, &key)
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the head file thread: {e}")))?;
        Ok(Self { shared, thread })
    }

    fn publish(&self, link: Link) {
        lock(&self.shared.state).0 = Some(link);
        self.shared.changed.notify_one();
    }

    /// Writes the last link, then ends the thread.
    fn stop(self) {
        lock(&self.shared.state).1 = true;
        self.shared.changed.notify_one();
        let _ = self.thread.join();
    }
}

fn head_loop(shared: &HeadShared, file: &HeadWriter, key: &ChainKey) {
    let mut written: Option<Link> = None;
    loop {
        let (next, stopped) = {
            let mut state = lock(&shared.state);
            while state.0 == written && !state.1 {
                state = shared.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            *state
        };
        if next != written {
            if let Some(link) = next {
                if let Err(e) = file.write(&link, &key.head_tag(&link)) {
                    tracing::error!(error = %e, position = link.seq, "cannot write the event store's head file");
                }
            }
            written = next;
        } else if stopped {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// Reads

/// A small pool of read-only connections, used on blocking threads.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    busy_timeout: Duration,
}

impl Readers {
    /// Runs `f` on a blocking thread with a read-only connection.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = Arc::clone(self);
        blocking(move || {
            let pooled = lock(&this.idle).pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => this.connect()?,
            };
            let result = f(&conn);
            // A connection that just failed is not trusted again.
            if result.is_ok() {
                let mut idle = lock(&this.idle);
                if idle.len() < this.max_idle {
                    idle.push(conn);
                }
            }
            result
        })
        .await
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(db)?;
        conn.busy_timeout(self.busy_timeout).map_err(db)?;
        Ok(conn)
    }

    async fn read_all(self: &Arc<Self>, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let after = after.map_or(0, |p| signed(p.commit));
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.run(move |conn| query_events(conn, "WHERE position > ?1 ORDER BY position LIMIT ?2", params![after, max]))
            .await
    }
}

fn query_events(
    conn: &Connection,
    tail: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_EVENTS} {tail}")).map_err(db)?;
    let mut rows = stmt.query(params).map_err(db)?;
    let mut events = Vec::new();
    while let Some(row) = rows.next().map_err(db)? {
        events.push(decode(row)?);
    }
    Ok(events)
}

/// One row of [`SELECT_EVENTS`].
fn decode(row: &Row<'_>) -> Result<RecordedEvent, StoreError> {
    let stream: String = row.get(1).map_err(db)?;
    let event_id: Vec<u8> = row.get(3).map_err(db)?;
    let recorded_at: i64 = row.get(7).map_err(db)?;
    Ok(RecordedEvent {
        stream: StreamName::parse(stream).map_err(|_| corrupt("stream name"))?,
        revision: unsigned(row.get(2).map_err(db)?)?,
        position: Position::from_sequence(unsigned(row.get(0).map_err(db)?)?),
        event_id: Uuid::from_slice(&event_id).map_err(|_| corrupt("event id"))?,
        event_type: row.get(4).map_err(db)?,
        data: row.get(5).map_err(db)?,
        metadata: row.get(6).map_err(db)?,
        recorded_at: DateTime::from_timestamp_micros(recorded_at).ok_or_else(|| corrupt("recorded_at"))?,
    })
}

// ---------------------------------------------------------------------------
// Helpers

/// Runs blocking work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let runtime = Handle::try_current().map_err(|_| no_runtime())?;
    runtime.spawn_blocking(f).await.map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}

fn no_runtime() -> StoreError {
    StoreError::Backend("the SQLite store must be used inside a tokio runtime".into())
}

/// Locks `mutex`, ignoring poisoning: the data behind it (a queue handle, a pool)
/// stays valid whatever a panicking holder was doing.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A failed insert: a unique-constraint failure on `event_id` is a duplicate.
fn duplicate_or_db(e: rusqlite::Error, event_id: Uuid) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, Some(message))
            if f.code == ErrorCode::ConstraintViolation && message.contains("event_id") =>
        {
            StoreError::DuplicateEventId { event_id }
        }
        _ => db(e),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt {what} in the event log"))
}

/// SQLite integers are `i64`; revisions and positions are never negative.
fn unsigned(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt("negative number"))
}

/// A `u64` bound for SQL; values past `i64::MAX` match nothing stored anyway.
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
