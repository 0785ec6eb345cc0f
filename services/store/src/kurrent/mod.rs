//! The KurrentDB adapter: leye's log in a KurrentDB cluster, through the
//! official `kurrentdb` gRPC client.
//!
//! # Design
//! - **One log stream is the system of record.** Every leye event is one
//!   event of the KurrentDB stream `{namespace}-log` (`leye-log` by default):
//!   its KurrentDB event id is leye's event id, its type and data are leye's,
//!   and its custom metadata is an [`envelope::Envelope`] holding the leye
//!   stream and revision, the recorded time, the chain seal and leye's own
//!   metadata bytes. The chain's algorithm and key id are the one event of
//!   `{namespace}-chain`. Why one stream and not one KurrentDB stream per
//!   case: the client (1.2) appends to ONE stream atomically and nothing
//!   else, and leye needs, in one atomic step, the case's expected revision
//!   AND a dense, gap-free, chained global order. Checking the log stream's
//!   own revision gives both: see the next points.
//! - **Positions.** A leye position is the log stream's revision + 1, in both
//!   parts of [`Position`] (like the SQL adapters). KurrentDB's `$all`
//!   commit/prepare positions are not used: they are not dense (the chain
//!   walker needs every position, so that a deleted event is named), and
//!   another cluster's would differ after a copy.
//! - **Revisions and idempotence: decided by leye, made atomic by KurrentDB.**
//!   Each server keeps an [`index::Index`] of the log (stream → seqs, event id
//!   → place), read at open and caught up before every decision. The writer
//!   task decides a batch of appends against it ([`index::plan`]: the SQL
//!   adapters' rules), seals the accepted events, and appends them to the log
//!   with the expected revision "the log still ends where my index ends". If
//!   another server appended first, KurrentDB refuses the whole append
//!   (wrong expected version): the writer catches up and decides again. So a
//!   stream's expected revision, duplicate ids and retries are checked against
//!   exactly the log the batch lands on. KurrentDB's own idempotence (same
//!   ids at the same expected revision answer success without a second copy)
//!   is not relied on: after every append the writer reads back what the log
//!   holds.
//! - **The chain** is the port's ([`crate::chain`]), the same seals as the
//!   SQL adapters for the same events at the same positions. The log's last
//!   event plays the head row's part (its MAC authenticates it; KurrentDB
//!   cannot drop a stream's tail). Every event read into the index is walked
//!   against the chain: at open that checks the whole log.
//! - **Durability** is KurrentDB's: an append is acknowledged once a quorum of
//!   the cluster has written it (a three-node cluster: two nodes).
//! - **Calls** go to the leader only (`requires-leader`: a follower may lag
//!   the log the writer decides on), each with a deadline
//!   ([`KurrentStoreOptions::deadline`], unless the URL sets
//!   `defaultDeadline`). An append a follower refused (not the leader) is
//!   decided again on the new leader.
//! - **Followers** page through the log ([`crate::follow`]), woken by local
//!   appends, by a KurrentDB subscription to the log stream (other servers'
//!   appends), and every [`KurrentStoreOptions::poll_interval`].
//!
//! # Limits
//! - The index holds every event id and stream of the log in memory (about
//!   120 bytes an event, measured) and is rebuilt by reading the whole log
//!   at open.
//! - All appends of all servers serialise on one stream's revision: one
//!   batch at a time cluster-wide (batches grow under load: group commit).
//! - `read_stream` reads a stream's events one contiguous run of the log at a
//!   time (one round trip per run).
//! - This adapter has never run against a server here (none can be installed
//!   on these machines): the contract suite runs only where
//!   `LEYE_TEST_KURRENTDB_URL` names one.

mod envelope;
mod index;
mod open;
mod writer;

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use kurrentdb::{AppendToStreamOptions, Client, ReadStreamOptions, StreamPosition};
use tokio::{
    sync::{mpsc, oneshot, watch},
    task::JoinHandle,
};

pub use envelope::{
    BadEnvelope, ChainRecord, Envelope, first_revision_after, log_state, revision_of_seq, seq_of_revision,
};
use envelope::{is_missing, recorded_event, store_error};
use index::Index;
pub use open::{KurrentChainInfo, settings};
use writer::Request;

use crate::{
    AppendResult, ChainedEvent, EventData, EventStore, ExpectedRevision, IntegrityProblem, Position, RecordedEvent,
    StoreError, StreamName, Subscription,
    chain::{ChainAlgorithm, ChainKey, EventBytes, Seal},
    headfile::Link,
};

/// The schema version this build writes (`schema_version` of the chain record).
pub const SCHEMA_VERSION: u32 = 1;

/// Events per read while catching the index up.
const CATCH_UP_PAGE: usize = 1024;

/// Most events asked of the server in one read (a larger page is several reads).
const READ_CHUNK: usize = 4096;

/// Tuning of a [`KurrentStore`].
#[derive(Debug, Clone)]
pub struct KurrentStoreOptions {
    /// Prefix of the store's streams (`{namespace}-log`, `{namespace}-chain`):
    /// 1 to 40 lowercase letters, digits, `-` or `_`, starting with a letter.
    /// Several leye stores may share one cluster under different namespaces.
    /// Default `leye`.
    pub namespace: String,
    /// The chain key (32 bytes, 0600). The same file on every server; created
    /// with a new store if missing.
    pub key_file: PathBuf,
    /// The chain's hash function for a new store (`None`: SHA-256).
    pub algorithm: Option<ChainAlgorithm>,
    /// Most append requests in one KurrentDB append. Default 512.
    pub max_batch: usize,
    /// Most bytes (data, metadata and envelope) in one KurrentDB append: the
    /// server refuses appends over its `MaxAppendSize` (1 MiB by default).
    /// A single larger request is sent alone and gets the server's error.
    /// Default 768 KiB.
    pub max_batch_bytes: usize,
    /// Most append requests waiting for the writer. Default 4096.
    pub queue_capacity: usize,
    /// How often an idle follower re-reads the log without a wake-up. Default 1 s.
    pub poll_interval: Duration,
    /// Most time one KurrentDB call (append, read) may take, unless the URL
    /// sets `defaultDeadline`. Default 10 s.
    pub deadline: Duration,
    /// Create the chain record and the key when missing (a new store).
    /// `false` (read-only commands) opens an existing store only. Default `true`.
    pub create: bool,
}

impl KurrentStoreOptions {
    /// The defaults, with the chain key at `key_file`.
    pub fn new(key_file: impl Into<PathBuf>) -> Self {
        Self {
            namespace: "leye".into(),
            key_file: key_file.into(),
            algorithm: None,
            max_batch: 512,
            max_batch_bytes: 768 * 1024,
            queue_capacity: 4096,
            poll_interval: Duration::from_secs(1),
            deadline: Duration::from_secs(10),
            create: true,
        }
    }
}

/// Checks a namespace (see [`KurrentStoreOptions::namespace`]).
pub fn check_namespace(namespace: &str) -> Result<(), StoreError> {
    let ok = (1..=40).contains(&namespace.len())
        && namespace.starts_with(|c: char| c.is_ascii_lowercase())
        && namespace.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "namespace `{namespace}`: must be 1 to 40 lowercase letters, digits, `-` or `_`, starting with a letter"
        )))
    }
}

/// The log: the client, the stream, the key and the index, shared by the
/// handle, its writer and its followers.
pub(crate) struct Log {
    client: Client,
    /// `{namespace}-log`.
    stream: String,
    /// The URL without its password, for messages.
    shown: String,
    /// `None` when the key is missing or wrong (appends are then refused).
    key: Option<Arc<ChainKey>>,
    /// Set on every call (`None`: the URL's `defaultDeadline` applies).
    deadline: Option<Duration>,
    index: RwLock<Index>,
    /// One catch-up at a time.
    gate: tokio::sync::Mutex<()>,
    /// Catch-ups begun (each takes the next number, under the gate)…
    begun: AtomicU64,
    /// …and the number of the last one that completed.
    completed: AtomicU64,
}

impl Log {
    fn index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Up to `max` events of the log strictly after `after`, with their seals,
    /// in reads of at most [`READ_CHUNK`] events.
    async fn read_page(&self, after: Option<Position>, max: usize) -> Result<Vec<(RecordedEvent, Seal)>, StoreError> {
        let mut out: Vec<(RecordedEvent, Seal)> = Vec::new();
        let mut after = after;
        while out.len() < max {
            let want = (max - out.len()).min(READ_CHUNK);
            let chunk = self.read_chunk(after, want).await?;
            let short = chunk.len() < want;
            after = chunk.last().map(|(e, _)| e.position).or(after);
            out.extend(chunk);
            if short {
                break;
            }
        }
        Ok(out)
    }

    /// One read of up to `max` events (≥ 1) strictly after `after`.
    async fn read_chunk(&self, after: Option<Position>, max: usize) -> Result<Vec<(RecordedEvent, Seal)>, StoreError> {
        let options = read_options(self.deadline)
            .forwards()
            .position(StreamPosition::Position(first_revision_after(after)))
            .max_count(max);
        let what = "reading the log";
        let mut read = match self.client.read_stream(self.stream.as_str(), &options).await {
            Ok(read) => read,
            Err(e) if is_missing(&e) => return Ok(Vec::new()),
            Err(e) => return Err(store_error(&self.shown, what, &e)),
        };
        let mut out = Vec::with_capacity(max.min(READ_CHUNK));
        while out.len() < max {
            match read.next().await {
                Ok(Some(resolved)) => {
                    let Some(event) = resolved.event.as_ref() else { continue };
                    out.push(recorded_event(event).map_err(|e| StoreError::Backend(e.to_string()))?);
                }
                Ok(None) => break,
                Err(e) if is_missing(&e) => break,
                Err(e) => return Err(store_error(&self.shown, what, &e)),
            }
        }
        Ok(out)
    }

    /// The log's last event and its seal, `None` when empty.
    async fn last(&self) -> Result<Option<(RecordedEvent, Seal)>, StoreError> {
        let options = read_options(self.deadline).position(StreamPosition::End).max_count(1);
        let what = "reading the end of the log";
        let mut read = match self.client.read_stream(self.stream.as_str(), &options).await {
            Ok(read) => read,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(store_error(&self.shown, what, &e)),
        };
        match read.next().await {
            Ok(Some(resolved)) => match resolved.event.as_ref() {
                Some(event) => Ok(Some(recorded_event(event).map_err(|e| StoreError::Backend(e.to_string()))?)),
                None => Ok(None),
            },
            Ok(None) => Ok(None),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(store_error(&self.shown, what, &e)),
        }
    }

    /// Reads the log past the index into it, each event checked against the
    /// chain (when the key is known). A break is [`StoreError::Integrity`].
    /// On return the index holds everything appended before the call.
    /// Concurrent callers share reads: one waiting for the gate returns at
    /// once if a catch-up that began after it arrived has completed.
    async fn catch_up(&self) -> Result<(), StoreError> {
        let arrived = self.begun.load(Ordering::Acquire);
        let _gate = self.gate.lock().await;
        if self.completed.load(Ordering::Acquire) > arrived {
            return Ok(());
        }
        let ticket = self.begun.fetch_add(1, Ordering::AcqRel) + 1;
        loop {
            let from = self.index().len();
            let page = self.read_page(Some(Position::from_sequence(from)), CATCH_UP_PAGE).await?;
            self.index.write().unwrap_or_else(PoisonError::into_inner).extend(self.key.as_deref(), &page)?;
            if page.len() < CATCH_UP_PAGE {
                self.completed.store(ticket, Ordering::Release);
                return Ok(());
            }
        }
    }

    /// The events at `seqs` (ascending), read one contiguous run at a time.
    async fn read_seqs(&self, seqs: &[u64]) -> Result<Vec<(RecordedEvent, Seal)>, StoreError> {
        let mut out = Vec::with_capacity(seqs.len());
        let mut i = 0;
        while i < seqs.len() {
            let mut run = 1;
            while i + run < seqs.len() && seqs[i + run] == seqs[i] + run as u64 {
                run += 1;
            }
            let page = self.read_page(Some(Position::from_sequence(seqs[i] - 1)), run).await?;
            if page.len() != run {
                return Err(StoreError::Backend(format!(
                    "KurrentDB at {}: log events {}..={} are missing",
                    self.shown,
                    seqs[i],
                    seqs[i] + run as u64 - 1
                )));
            }
            out.extend(page);
            i += run;
        }
        Ok(out)
    }
}

/// The KurrentDB event store: a cheap, cloneable handle. Several handles (in
/// one process or on several servers) may share one cluster and namespace.
#[derive(Clone)]
pub struct KurrentStore {
    inner: Arc<Inner>,
}

struct Inner {
    log: Arc<Log>,
    namespace: String,
    key_file: PathBuf,
    chain: KurrentChainInfo,
    problem: Option<IntegrityProblem>,
    poll_interval: Duration,
    queue: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    listener: JoinHandle<()>,
    /// Bumped after every local append and every event the subscription sees.
    wake: watch::Receiver<u64>,
}

impl fmt::Debug for KurrentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KurrentStore")
            .field("url", &self.inner.log.shown)
            .field("namespace", &self.inner.namespace)
            .finish_non_exhaustive()
    }
}

impl KurrentStore {
    /// Connects to the cluster at `url` (`kurrentdb://…`, `esdb://…`, or their
    /// `+discover` forms), creates the store's chain record if missing (one
    /// server wins, the others read it), reads and checks the whole log into
    /// the index, and starts the writer. Must run inside a tokio runtime.
    pub async fn open(url: &str, options: KurrentStoreOptions) -> Result<Self, StoreError> {
        check_namespace(&options.namespace)?;
        let shown = crate::postgres::redact_url(url);
        let client = Client::new(settings(url)?)
            .map_err(|e| StoreError::Backend(format!("KurrentDB at {shown}: cannot set up the client: {e}")))?;
        let deadline = envelope::call_deadline(url, options.deadline);
        let opened = open::chain(&client, &shown, &options, deadline).await?;
        let log = Arc::new(Log {
            client,
            stream: format!("{}-log", options.namespace),
            shown,
            key: opened.key,
            deadline,
            index: RwLock::new(Index::default()),
            gate: tokio::sync::Mutex::new(()),
            begun: AtomicU64::new(0),
            completed: AtomicU64::new(0),
        });
        let mut problem = opened.problem;
        match log.catch_up().await {
            Ok(()) => {}
            Err(StoreError::Integrity { code, detail }) if problem.is_none() => {
                problem = Some(IntegrityProblem::new(code, detail));
            }
            Err(e) => return Err(e),
        }
        if let Some(p) = &problem {
            tracing::warn!(code = p.code, detail = %p.detail, store = %log.shown, "event store check at open failed: appends refused");
        }
        let (queue, rx) = mpsc::channel(options.queue_capacity.max(1));
        let (wake_tx, wake_rx) = watch::channel(0u64);
        let wake_tx = Arc::new(wake_tx);
        let writer = writer::Writer {
            log: Arc::clone(&log),
            wake: Arc::clone(&wake_tx),
            max_batch: options.max_batch.max(1),
            max_batch_bytes: options.max_batch_bytes.max(1),
        };
        let writer = tokio::spawn(writer.run(rx));
        let listener = tokio::spawn(writer::listen(Arc::clone(&log), wake_tx, options.poll_interval));
        tracing::debug!(store = %log.shown, namespace = %options.namespace, events = log.index().len(), "opened KurrentDB store");
        Ok(Self {
            inner: Arc::new(Inner {
                log,
                namespace: options.namespace,
                key_file: options.key_file,
                chain: opened.chain,
                problem,
                poll_interval: options.poll_interval,
                queue: Mutex::new(Some(queue)),
                writer: Mutex::new(Some(writer)),
                listener,
                wake: wake_rx,
            }),
        })
    }

    /// The URL, without its password.
    pub fn shown_url(&self) -> &str {
        &self.inner.log.shown
    }

    /// The prefix of the store's streams.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The chain key's file.
    pub fn key_file(&self) -> &Path {
        &self.inner.key_file
    }

    /// The chain's algorithm and key id, as recorded in the store.
    pub fn chain(&self) -> &KurrentChainInfo {
        &self.inner.chain
    }

    /// What the check at open found (`None`: sound).
    pub fn integrity(&self) -> Option<&IntegrityProblem> {
        self.inner.problem.as_ref()
    }

    /// Stops accepting appends, answers every append already queued, and waits
    /// for the writer. Reads still work; subscriptions end once they have
    /// delivered everything appended.
    pub async fn close(self) {
        let writer = self.inner.stop();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
        self.inner.listener.abort();
    }
}

impl Inner {
    fn stop(&self) -> Option<JoinHandle<()>> {
        lock(&self.queue).take();
        lock(&self.writer).take()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The writer ends by itself once the queue's sender is gone.
        self.stop();
        self.listener.abort();
    }
}

impl EventStore for KurrentStore {
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
        queue
            .send(Request { stream: stream.clone(), expected, events, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        drop(queue);
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn read_stream(&self, stream: &StreamName, from_revision: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        // What any server appended before this call is seen. A broken chain
        // stops the index at the break: reads go on up to there (appends
        // are refused by the same error).
        match self.inner.log.catch_up().await {
            Ok(()) | Err(StoreError::Integrity { .. }) => {}
            Err(e) => return Err(e),
        }
        let seqs = self.inner.log.index().seqs(stream, from_revision);
        let events = self.inner.log.read_seqs(&seqs).await?;
        let mut out = Vec::with_capacity(events.len());
        for (i, (event, _)) in events.into_iter().enumerate() {
            let revision = from_revision + i as u64;
            if &event.stream != stream || event.revision != revision {
                return Err(StoreError::Backend(format!(
                    "log event {} is not revision {revision} of its stream; the index and the log disagree",
                    event.position
                )));
            }
            out.push(event);
        }
        Ok(out)
    }

    async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self.inner.log.read_page(after, max).await?.into_iter().map(|(e, _)| e).collect())
    }

    async fn read_chain(&self, after: Option<Position>, max: usize) -> Result<Vec<ChainedEvent>, StoreError> {
        let page = self.inner.log.read_page(after, max).await?;
        Ok(page.into_iter().map(|(event, seal)| ChainedEvent { event, seal }).collect())
    }

    async fn sealed_head(&self) -> Result<Option<Link>, StoreError> {
        let key = self.inner.log.key.clone().ok_or_else(|| {
            StoreError::Backend(format!("cannot read the chain key {}", self.inner.key_file.display()))
        })?;
        let Some((event, seal)) = self.inner.log.last().await? else { return Ok(None) };
        // The last event's own seal, recomputed: its hash covers the event,
        // its MAC needs the key.
        if key.seal(&seal.prev, &EventBytes::from(&event)) != seal {
            return Err(StoreError::Backend(format!(
                "the last event of the log (position {}) does not verify with the chain key",
                event.position
            )));
        }
        Ok(Some(Link { seq: event.position.commit, hash: seal.hash }))
    }

    async fn head(&self) -> Result<Option<Position>, StoreError> {
        Ok(self.inner.log.last().await?.map(|(e, _)| e.position))
    }

    fn subscribe_all(&self, after: Option<Position>) -> Subscription {
        let (tx, rx) = mpsc::channel(crate::follow::SUBSCRIPTION_PAGE);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let log = Arc::clone(&self.inner.log);
                let read_page = move |after| {
                    let log = Arc::clone(&log);
                    async move {
                        let page = log.read_page(after, crate::follow::SUBSCRIPTION_PAGE).await?;
                        Ok(page.into_iter().map(|(e, _)| e).collect())
                    }
                };
                let wake = self.inner.wake.clone();
                runtime.spawn(crate::follow::follow_log(
                    read_page,
                    wake,
                    self.inner.poll_interval,
                    crate::follow::COALESCE,
                    after,
                    tx,
                ));
            }
            Err(_) => {
                let _ = tx.try_send(Err(StoreError::Backend(
                    "the KurrentDB store must be used inside a tokio runtime".into(),
                )));
            }
        }
        Subscription::from_channel(rx)
    }
}

/// Read options with `deadline` (if any), answered by the leader only: the
/// writer decides on what it reads, and a follower may lag.
pub(crate) fn read_options(deadline: Option<Duration>) -> ReadStreamOptions {
    let options = ReadStreamOptions::default().requires_leader(true);
    match deadline {
        Some(d) => options.deadline(d),
        None => options,
    }
}

/// Append options expecting `state`, with `deadline` (if any).
pub(crate) fn append_options(deadline: Option<Duration>, state: kurrentdb::StreamState) -> AppendToStreamOptions {
    let options = AppendToStreamOptions::default().stream_state(state).requires_leader(true);
    match deadline {
        Some(d) => options.deadline(d),
        None => options,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
