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
//!   another process on the same file. The subscriptions share one reader of
//!   the new events (`tail.rs`): each new page is read once, not once a
//!   follower.
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
mod open;
mod seal;
mod writer;

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    thread,
    time::Duration,
};

use chrono::DateTime;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, params};
use tokio::{
    runtime::Handle,
    sync::{mpsc, oneshot, watch},
};
use tracing::debug;
use uuid::Uuid;

pub use backup::{BackupReport, backup};
pub use open::{ChainInfo, default_key_file};
use open::{Opened, open_writer};
pub use seal::{HEAD_FORMAT, Verified, VerifyOptions, verify_file};
use writer::{Request, Writer};

use crate::{
    AppendResult, ChainedEvent, EventData, EventStore, ExpectedRevision, IntegrityProblem, Position, RecordedEvent,
    StoreError, StreamName, Subscription,
    chain::{ChainAlgorithm, ChainKey},
    follow::SUBSCRIPTION_PAGE,
    headfile::{HeadState, HeadThread, Link},
    tail::{KEPT, ReadHead, ReadPage, Tail},
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
    /// Writes events WITHOUT seals (empty chain columns, no head file), only
    /// to measure what sealing costs (`leye-bench --compare-chain`). Such a
    /// store never verifies, and every later open refuses its appends.
    #[doc(hidden)]
    pub unsealed_for_benchmarks: bool,
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
            unsealed_for_benchmarks: false,
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
    unsealed: bool,
    pragmas: SqlitePragmas,
    /// `None` once closed.
    queue: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Arc<Readers>,
    /// The subscriptions' shared reader of new events, woken by the writer's
    /// head.
    tail: Tail<Option<Position>>,
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
            tracing::warn!(code = p.code, detail = %p.detail, path = %path.display(), "event store check at open failed: appends refused");
        }

        let (queue, rx) = mpsc::channel(options.queue_capacity.max(1));
        let (head_tx, head_rx) = watch::channel(head);
        let unsealed = options.unsealed_for_benchmarks;
        let heads = match (head_writer, key.clone()) {
            (Some(file), Some(key)) if !unsealed => {
                let tag = Box::new(move |link: &Link| key.head_tag(link));
                Some(
                    HeadThread::start("leye-store-head", file, tag)
                        .map_err(|e| StoreError::Backend(format!("cannot start the head file thread: {e}")))?,
                )
            }
            _ => None,
        };
        if unsealed {
            tracing::warn!(path = %path.display(), "UNSEALED store (benchmarks only): its events get no seal and it will never verify");
        }
        let writer = Writer { conn, rx, head: head_tx, max_batch: options.max_batch.max(1), key, unsealed, heads };
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
        let tail = {
            let (pages, head) = (Arc::clone(&readers), head_rx.clone());
            let read_page: ReadPage = Arc::new(move |after| {
                let readers = Arc::clone(&pages);
                Box::pin(async move { readers.read_all(after, SUBSCRIPTION_PAGE).await })
            });
            let read_head: ReadHead = Arc::new(move || {
                let head = *head.borrow();
                Box::pin(async move { Ok(head) })
            });
            Tail::new(read_page, read_head, head_rx, options.poll_interval, KEPT)
        };
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                key_file,
                chain,
                problem,
                unsealed,
                pragmas,
                queue: Mutex::new(Some(queue)),
                writer: Mutex::new(Some(thread)),
                readers,
                tail,
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
        if let Some(problem) = self.inner.problem.as_ref().filter(|_| !self.inner.unsealed) {
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
            // A head still at the chain's start is `Some`: with events after
            // it, it lags (the head thread had not written yet); `None` is a
            // missing file, which `copy::walk` names as a break.
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
        if Handle::try_current().is_ok() {
            self.inner.tail.subscribe(after, tx);
        } else {
            // The channel is fresh, so this send cannot fail for lack of room.
            let _ = tx.try_send(Err(no_runtime()));
        }
        Subscription::from_channel(rx)
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
