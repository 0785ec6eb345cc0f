//! The event-store port of leye and its adapters.
//!
//! The store is the system of record: every fact about a case is an event in that
//! case's stream, and every event also has a place in one global, ordered log.
//! Everything else (publisher, projections) follows that log.
//!
//! # Layout
//! - this file: the port: [`EventStore`] and its types, shaped after KurrentDB
//!   (stream states, commit/prepare positions, catch-up subscriptions) so that the
//!   KurrentDB adapter fits without a second model.
//! - [`sqlite`]: the embedded default adapter (one file, WAL, `synchronous=FULL`,
//!   one writer thread doing group commit).
//! - [`postgres`]: one shared log for several servers (row-locked head, group commit).
//! - [`kurrent`]: the log as one KurrentDB stream (expected revision of that
//!   stream serialises every server's appends; see its docs for the mapping).
//! - [`chain`]: the tamper-evident chain of the global log (hash, keyed MAC,
//!   head tag) and the [`chain::Walker`] that names the first break; independent
//!   of any database, so every adapter seals and checks the same way.
//! - [`keyfile`], [`headfile`]: the 0600 key file and the MAC-tagged head file
//!   (shared with the audit trail).
//! - [`contract`]: the contract suite. Every adapter runs the same suite through
//!   [`store_contract_tests!`].
//!
//! # Invariants
//! - An `append` that returned `Ok` is durable.
//! - Within a stream, revisions are 0, 1, 2, … without gaps; in the global log,
//!   positions strictly increase in commit order, and a reader never sees a later
//!   position before an earlier one becomes visible.
//! - Appending event ids that the stream already holds, in the same order, is an
//!   idempotent success returning the original result: nothing is written twice.
//! - `recorded_at` never decreases along the global log.
//! - Every event is sealed by the writer that appends it: its hash chains it to
//!   the event before it in the global log and its MAC needs the chain key
//!   ([`chain`]); [`EventStore::read_chain`] returns the seals so that anyone
//!   with the key can check the log.
//! - A store whose chain or file is found broken refuses appends
//!   ([`StoreError::Integrity`]) and still answers reads.
//!
//! The store knows nothing of the domain: payloads and metadata are opaque bytes.

use std::{fmt, future::Future};

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub mod any;
pub mod chain;
pub mod contract;
pub mod copy;
mod follow;
pub mod headfile;
pub mod keyfile;
pub mod kurrent;
pub mod maintenance;
pub mod postgres;
pub mod sqlite;
mod tail;
pub mod test_postgres;

pub use any::{AnyStore, AnyStoreOptions, StoreLocator};
pub use sqlite::{SqliteStore, SqliteStoreOptions};

/// Name of one event stream, e.g. `person-0b0c…`. 1 to 200 characters, no
/// whitespace or control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName(String);

impl StreamName {
    /// Parses a stream name.
    pub fn parse(name: impl Into<String>) -> Result<Self, StoreError> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.chars().count() <= 200
            && !name.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok { Ok(Self(name)) } else { Err(StoreError::InvalidStreamName) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamName({})", self.0)
    }
}

/// What the writer expects of the stream before its append (KurrentDB `StreamState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedRevision {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist.
    StreamExists,
    /// The stream's last event must have exactly this revision.
    Exact(u64),
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::StreamExists => f.write_str("stream exists"),
            Self::Exact(r) => write!(f, "revision {r}"),
        }
    }
}

/// Where a stream is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentRevision {
    NoStream,
    /// Revision of the stream's last event.
    Current(u64),
}

impl fmt::Display for CurrentRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoStream => f.write_str("no stream"),
            Self::Current(r) => write!(f, "revision {r}"),
        }
    }
}

/// A place in the global log. KurrentDB positions have a commit and a prepare
/// part; the SQLite adapter sets both to its log sequence number. Ordered by
/// commit, then prepare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub commit: u64,
    pub prepare: u64,
}

impl Position {
    /// A position whose two parts are one sequence number.
    pub fn from_sequence(seq: u64) -> Self {
        Self { commit: seq, prepare: seq }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.commit == self.prepare {
            write!(f, "{}", self.commit)
        } else {
            write!(f, "C:{}/P:{}", self.commit, self.prepare)
        }
    }
}

/// An event to append.
#[derive(Clone, PartialEq, Eq)]
pub struct EventData {
    /// Unique over the whole store. Chosen by the writer (derived from the
    /// command id), which is what makes retries idempotent.
    pub event_id: Uuid,
    /// Stable type name, e.g. `person.registered`.
    pub event_type: String,
    /// Payload (JSON in leye).
    pub data: Vec<u8>,
    /// Metadata (JSON in leye).
    pub metadata: Vec<u8>,
}

impl fmt::Debug for EventData {
    // Payloads may hold personal data: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventData")
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("data_len", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// An event as the store recorded it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    pub stream: StreamName,
    /// Place in its stream, from 0.
    pub revision: u64,
    /// Place in the global log.
    pub position: Position,
    pub event_id: Uuid,
    pub event_type: String,
    pub data: Vec<u8>,
    pub metadata: Vec<u8>,
    /// When the store committed it (the service's clock, never decreasing).
    pub recorded_at: DateTime<Utc>,
}

impl fmt::Debug for RecordedEvent {
    // Payloads may hold personal data: never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedEvent")
            .field("stream", &self.stream)
            .field("revision", &self.revision)
            .field("position", &self.position)
            .field("event_id", &self.event_id)
            .field("event_type", &self.event_type)
            .field("recorded_at", &self.recorded_at)
            .finish_non_exhaustive()
    }
}

/// What a successful append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Revision of the last event now in the stream.
    pub next_expected_revision: u64,
    /// Global position of the last event written.
    pub position: Position,
    /// True when every event was already there (an idempotent retry): nothing
    /// was written this time.
    pub already_written: bool,
}

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stream {stream}: expected {expected}, but it is at {current}")]
    WrongExpectedRevision { stream: StreamName, expected: ExpectedRevision, current: CurrentRevision },
    #[error("event id {event_id} is already in the store, in another stream or at another place")]
    DuplicateEventId { event_id: Uuid },
    #[error("an append needs at least one event")]
    EmptyAppend,
    #[error("stream name must be 1 to 200 characters without whitespace")]
    InvalidStreamName,
    #[error("the store is closed")]
    Closed,
    /// The store found its chain broken, its file damaged or its key wrong
    /// (at open); it refuses appends. `code` is stable (`CHAIN_BROKEN`,
    /// `STORE_CORRUPT`, `CHAIN_KEY`), `detail` names the place, never contents.
    #[error("{code}: {detail}; appends are refused until an operator checks the store (`leye verify`)")]
    Integrity { code: &'static str, detail: String },
    #[error("store failure: {0}")]
    Backend(String),
}

/// What an adapter's check at open found wrong with its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityProblem {
    /// [`Self::CHAIN_BROKEN`], [`Self::STORE_CORRUPT`] or [`Self::CHAIN_KEY`].
    pub code: &'static str,
    /// Where and how (positions, break kinds), never event contents.
    pub detail: String,
}

impl IntegrityProblem {
    /// The chain does not verify (an edited, deleted, inserted or reordered
    /// event, a truncated tail, a bad head file).
    pub const CHAIN_BROKEN: &'static str = "CHAIN_BROKEN";
    /// The database file is damaged (`PRAGMA quick_check`).
    pub const STORE_CORRUPT: &'static str = "STORE_CORRUPT";
    /// The chain key is missing, unreadable or not the store's.
    pub const CHAIN_KEY: &'static str = "CHAIN_KEY";

    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }

    /// The error every append gets while the problem stands.
    pub fn error(&self) -> StoreError {
        StoreError::Integrity { code: self.code, detail: self.detail.clone() }
    }
}

/// An event with the seal its adapter stored (see [`chain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEvent {
    pub event: RecordedEvent,
    pub seal: chain::Seal,
}

/// The event-store port. Cheap to clone (a handle); every method may be called
/// concurrently.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// Appends `events` to `stream` if `expected` holds, atomically: all or none.
    fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<EventData>,
    ) -> impl Future<Output = Result<AppendResult, StoreError>> + Send;

    /// Events of `stream` with revision ≥ `from_revision`, in order. A stream
    /// that does not exist reads as empty.
    fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// Up to `max` events of the global log strictly after `after` (from the
    /// start when `None`), in log order.
    fn read_all(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// Like [`read_all`](Self::read_all), with each event's seal.
    fn read_chain(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<ChainedEvent>, StoreError>> + Send;

    /// The last link the store has sealed in its tamper-evident head, as read
    /// back and checked against the key. It may lag the log by the batches
    /// being committed, down to the chain's start (`seq` 0). `None`: no head
    /// (an empty log, or a SQLite store's missing head file).
    fn sealed_head(&self) -> impl Future<Output = Result<Option<headfile::Link>, StoreError>> + Send;

    /// Position of the last event in the global log, `None` when empty.
    fn head(&self) -> impl Future<Output = Result<Option<Position>, StoreError>> + Send;

    /// Follows the global log from after `after`: first catches up on what is
    /// there, then delivers new events as they are committed. Misses nothing and
    /// repeats nothing, whatever is appended meanwhile.
    fn subscribe_all(&self, after: Option<Position>) -> Subscription;
}

/// A catch-up subscription to the global log. Dropping it stops it.
#[derive(Debug)]
pub struct Subscription {
    rx: tokio::sync::mpsc::Receiver<Result<RecordedEvent, StoreError>>,
}

impl Subscription {
    /// Wraps a channel fed by an adapter's follower task.
    pub fn from_channel(rx: tokio::sync::mpsc::Receiver<Result<RecordedEvent, StoreError>>) -> Self {
        Self { rx }
    }

    /// The next event, waiting for one to be committed if need be. `None` when the
    /// store has closed.
    pub async fn next(&mut self) -> Option<Result<RecordedEvent, StoreError>> {
        self.rx.recv().await
    }
}
