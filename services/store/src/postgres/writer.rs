//! The writer task: group commit of queued appends under the `log_head` row
//! lock, every request decided in memory against what the database and the
//! batch hold, every accepted event sealed on the chain.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Instant,
};

use chrono::Utc;
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tokio_postgres::{
    Client, Statement,
    error::SqlState,
    types::{ToSql, Type},
};
use uuid::Uuid;

use super::{NOTIFY_CHANNEL, Target, corrupt, pg, signed, unsigned};
use crate::{
    AppendResult, CurrentRevision, EventData, ExpectedRevision, Position, StoreError, StreamName,
    chain::{ChainKey, EventBytes, Seal},
    headfile::{LINK_LEN, Link},
};

/// One `append` call waiting for the writer.
pub(super) struct Request {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<EventData>,
    pub reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

pub(super) struct Writer {
    pub target: Target,
    /// `None` after the connection failed: reconnected for the next batch.
    pub conn: Option<WriterConn>,
    /// Shared by the handle's writer connections: each takes a batch in turn.
    pub rx: Arc<Mutex<mpsc::Receiver<Request>>>,
    pub wake: Arc<watch::Sender<u64>>,
    pub max_batch: usize,
    /// `None` when the key is missing or wrong (appends are then refused
    /// before they reach the writer).
    pub key: Option<Arc<ChainKey>>,
    /// The streams this writer saw committed, and their last revisions then.
    pub heads: Heads,
}

/// The last revision of each stream this writer committed to or looked up,
/// as it was then (at most [`HEADS_CAP`] streams; emptied when full). Never
/// ahead of the database: a revision is only ever added, and this is filled
/// after a `COMMIT` succeeded, from what that transaction read or wrote. It
/// may be behind (another server appended since): the optimistic batch then
/// collides with the `(stream, revision)` unique key and is decided again
/// from the database (see [`transaction`]).
#[derive(Debug, Default)]
pub(super) struct Heads(HashMap<String, u64>);

/// Streams remembered by [`Heads`]: about 1 MiB of names and numbers.
const HEADS_CAP: usize = 16_384;

impl Heads {
    fn get(&self, stream: &str) -> Option<u64> {
        self.0.get(stream).copied()
    }

    fn learn(&mut self, current: HashMap<String, CurrentRevision>) {
        for (stream, revision) in current {
            if let CurrentRevision::Current(r) = revision {
                if self.0.len() >= HEADS_CAP && !self.0.contains_key(&stream) {
                    self.0.clear();
                }
                self.0.insert(stream, r);
            }
        }
    }
}

const INSERT: &str = "INSERT INTO events (position, stream, revision, event_id, event_type, data, metadata, \
                      recorded_at, chain_prev, chain_hash, chain_mac, chain_check) \
                      SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::text[], \
                      $6::bytea[], $7::bytea[], $8::bigint[], $9::bytea[], $10::bytea[], $11::bytea[], $12::bytea[])";

/// The batch's look-ups, under the head lock: where its event ids are stored,
/// and the current revision of each stream it touches. Sent as unnamed
/// statements, so PostgreSQL plans them at every batch for the table as it
/// is then. A prepared statement's plan is fixed after a few executions: on a
/// new store, while `events` fits in a page or two, that plan is a sequential
/// scan, kept while the table grows (until an `ANALYZE` replans it), and each
/// batch then read every event under the lock (2.9 ms a batch at 16 000
/// events in `leye-bench-cluster`).
const IDS: &str = "SELECT event_id, stream, revision, position FROM events WHERE event_id = ANY($1)";
const REVISIONS: &str = "SELECT s.name, (SELECT e.revision FROM events e WHERE e.stream = s.name \
                         ORDER BY e.revision DESC LIMIT 1) FROM UNNEST($1::text[]) AS s(name)";

/// Where an event id is stored (or was accepted earlier in the batch).
#[derive(Debug, Clone)]
struct Stored {
    stream: String,
    revision: u64,
    position: u64,
}

/// The rows a batch inserts, column by column.
#[derive(Default)]
struct Rows<'a> {
    position: Vec<i64>,
    stream: Vec<&'a str>,
    revision: Vec<i64>,
    event_id: Vec<&'a [u8]>,
    event_type: Vec<&'a str>,
    data: Vec<&'a [u8]>,
    metadata: Vec<&'a [u8]>,
    recorded_at: Vec<i64>,
    seals: Vec<Seal>,
}

impl Writer {
    /// Takes a batch (everything queued, up to `max_batch`), commits it, and
    /// again, until every sender is gone and the queue is drained. With
    /// several writer connections on a handle, while one commits the next
    /// already waits on the head lock with its batch.
    pub(super) async fn run(mut self) {
        loop {
            let batch = {
                let mut rx = self.rx.lock().await;
                let Some(first) = rx.recv().await else { break };
                let mut batch = vec![first];
                while batch.len() < self.max_batch {
                    match rx.try_recv() {
                        Ok(request) => batch.push(request),
                        Err(_) => break,
                    }
                }
                batch
            };
            self.commit_batch(batch).await;
        }
        tracing::debug!("PostgreSQL writer stopped");
    }

    async fn commit_batch(&mut self, mut batch: Vec<Request>) {
        let started = Instant::now();
        let results = match self.execute(&mut batch).await {
            Ok(Committed { results, wrote, current }) => {
                if wrote {
                    self.wake.send_modify(|n| *n = n.wrapping_add(1));
                }
                self.heads.learn(current);
                results
            }
            Err(e) => {
                if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
                    self.conn = None;
                }
                let reason = e.to_string();
                tracing::warn!(batch = batch.len(), error = %reason, "group commit failed");
                batch.iter().map(|_| Err(StoreError::Backend(reason.clone()))).collect()
            }
        };
        tracing::debug!(
            batch = batch.len(),
            commit_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "group commit"
        );
        for (request, result) in batch.into_iter().zip(results) {
            let _ = request.reply.send(result);
        }
    }

    /// The whole batch in one transaction, in three round trips: `BEGIN` and
    /// the head lock (then the requests queued meanwhile join the batch); both
    /// look-ups, unless every stream is remembered (see [`transaction`]); then
    /// the insert, the head update, the notification and `COMMIT` pipelined.
    /// `Err`: nothing was written (or, if the connection died during
    /// `COMMIT`, the outcome is unknown).
    async fn execute(&mut self, batch: &mut Vec<Request>) -> Result<Committed, StoreError> {
        let key = self.key.clone().ok_or_else(|| StoreError::Backend("the chain key is not available".into()))?;
        if self.conn.is_none() {
            self.conn = Some(WriterConn::connect(&self.target).await?);
        }
        let Some(conn) = self.conn.as_ref() else { return Err(StoreError::Closed) };
        let more = Gather { rx: &self.rx, max_batch: self.max_batch };
        let result = transaction(conn, batch, &key, more, &self.heads).await;
        if result.is_err() && !conn.client.is_closed() {
            // Ends the transaction the error left open (a no-op when none is).
            let _ = conn.client.batch_execute("ROLLBACK").await;
        }
        result
    }
}

/// The writer's connection and its prepared statements.
pub(super) struct WriterConn {
    pub client: Client,
    lock: Statement,
    insert: Statement,
    update: Statement,
}

impl WriterConn {
    pub(super) async fn connect(target: &Target) -> Result<Self, StoreError> {
        let client = target.connect("writer").await?;
        let (lock, insert, update) = futures::try_join!(
            // The lock every writer of every server takes first: see the module docs.
            client.prepare("SELECT position, hash, recorded_at FROM log_head WHERE id = 1 FOR UPDATE"),
            client.prepare(INSERT),
            client.prepare("UPDATE log_head SET position = $1, hash = $2, recorded_at = $3, tag = $4 WHERE id = 1"),
        )
        .map_err(pg)?;
        Ok(Self { client, lock, insert, update })
    }
}

/// Where a writer that has just taken the head lock adds what was queued
/// while it waited for it.
struct Gather<'a> {
    rx: &'a Mutex<mpsc::Receiver<Request>>,
    max_batch: usize,
}

/// A committed batch: each request's answer, whether it wrote, and the
/// revision of every stream it touched as of its commit.
pub(super) struct Committed {
    results: Vec<Result<AppendResult, StoreError>>,
    wrote: bool,
    current: HashMap<String, CurrentRevision>,
}

/// One batch, in one transaction under the head lock.
///
/// **Optimistic first.** When every request either creates its stream
/// (`NoStream`) or names a stream in `heads`, the batch is decided against
/// `heads` alone and written in the lock's next round trip, without the two
/// look-ups: a stream another server appended to since, a stream that exists
/// although `heads` does not know it, or an event id already stored (a
/// retry) makes the `INSERT` collide with a unique key (`(stream, revision)`
/// or `event_id`), and the batch starts again in a new transaction with the
/// look-ups. The database decides what is true in both cases: `heads` only
/// chooses which path to try. A batch whose optimistic decision refuses any
/// request is decided again from the look-ups in the same transaction, so
/// every refusal names the stream's current revision in the database.
async fn transaction(
    conn: &WriterConn,
    batch: &mut Vec<Request>,
    key: &ChainKey,
    more: Gather<'_>,
    heads: &Heads,
) -> Result<Committed, StoreError> {
    let client = &conn.client;
    // The head lock first (waiting while another writer commits), then the
    // requests queued meanwhile join the batch: at low concurrency a batch
    // gathers about a commit's worth of arrivals instead of the few queued
    // when it was taken. One more round trip, under the lock.
    let (link, recorded_at) = begin(conn).await?;
    if let Ok(mut rx) = more.rx.try_lock() {
        while batch.len() < more.max_batch {
            match rx.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
    }
    let batch: &[Request] = batch;
    // Each stream's remembered revision, or none when some request names a
    // stream not remembered and does not create it.
    let remembered: Option<HashMap<String, CurrentRevision>> = batch
        .iter()
        .map(|r| match heads.get(r.stream.as_str()) {
            Some(revision) => Some((r.stream.as_str().to_owned(), CurrentRevision::Current(revision))),
            None if r.expected == ExpectedRevision::NoStream => {
                Some((r.stream.as_str().to_owned(), CurrentRevision::NoStream))
            }
            None => None,
        })
        .collect();
    if let Some(current) = remembered {
        let decided = decide_batch(batch, HashMap::new(), current, link, recorded_at, key);
        if decided.results.iter().all(|r| r.as_ref().is_ok_and(|a| !a.already_written)) {
            match write(conn, &decided, key).await {
                Ok(()) => return Ok(decided.committed()),
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    // The transaction is over (its COMMIT rolled back): again, with the look-ups.
                    client.batch_execute("ROLLBACK").await.map_err(pg)?;
                    let (link, recorded_at) = begin(conn).await?;
                    return looked_up(conn, batch, link, recorded_at, key).await;
                }
                Err(e) => return Err(pg(e)),
            }
        }
    }
    looked_up(conn, batch, link, recorded_at, key).await
}

/// `BEGIN` and the head lock, in one round trip: the head's link, and the
/// batch's `recorded_at` (never before the head's).
async fn begin(conn: &WriterConn) -> Result<(Link, i64), StoreError> {
    let client = &conn.client;
    let (_, head) = futures::try_join!(client.batch_execute("BEGIN"), client.query_one(&conn.lock, &[])).map_err(pg)?;
    let link = Link {
        seq: unsigned(head.try_get(0).map_err(pg)?)?,
        hash: <[u8; LINK_LEN]>::try_from(head.try_get::<_, Vec<u8>>(1).map_err(pg)?.as_slice())
            .map_err(|_| corrupt("log head hash"))?,
    };
    let last_recorded: i64 = head.try_get(2).map_err(pg)?;
    Ok((link, Utc::now().timestamp_micros().max(last_recorded)))
}

/// The batch decided against the database's look-ups (under the lock), then written.
async fn looked_up(
    conn: &WriterConn,
    batch: &[Request],
    link: Link,
    recorded_at: i64,
    key: &ChainKey,
) -> Result<Committed, StoreError> {
    let client = &conn.client;
    let ids: Vec<&[u8]> =
        batch.iter().flat_map(|r| r.events.iter().map(|e| e.event_id.as_bytes().as_slice())).collect();
    let streams: Vec<&str> = {
        let mut seen = HashSet::new();
        batch.iter().map(|r| r.stream.as_str()).filter(|s| seen.insert(*s)).collect()
    };
    // Sent in this order on one session: the look-ups run once the lock is held.
    let ids_param: [(&(dyn ToSql + Sync), Type); 1] = [(&ids, Type::BYTEA_ARRAY)];
    let streams_param: [(&(dyn ToSql + Sync), Type); 1] = [(&streams, Type::TEXT_ARRAY)];
    let (found, revisions) =
        futures::try_join!(client.query_typed(IDS, &ids_param), client.query_typed(REVISIONS, &streams_param))
            .map_err(pg)?;
    let mut known: HashMap<Uuid, Stored> = HashMap::new();
    for row in found {
        let id: Vec<u8> = row.try_get(0).map_err(pg)?;
        let id = Uuid::from_slice(&id).map_err(|_| corrupt("event id"))?;
        let stored = Stored {
            stream: row.try_get(1).map_err(pg)?,
            revision: unsigned(row.try_get(2).map_err(pg)?)?,
            position: unsigned(row.try_get(3).map_err(pg)?)?,
        };
        known.insert(id, stored);
    }
    let mut current: HashMap<String, CurrentRevision> = HashMap::new();
    for row in revisions {
        let name: String = row.try_get(0).map_err(pg)?;
        let revision: Option<i64> = row.try_get(1).map_err(pg)?;
        let revision = match revision {
            Some(r) => CurrentRevision::Current(unsigned(r)?),
            None => CurrentRevision::NoStream,
        };
        current.insert(name, revision);
    }
    let decided = decide_batch(batch, known, current, link, recorded_at, key);
    write(conn, &decided, key).await.map_err(pg)?;
    Ok(decided.committed())
}

/// A batch decided in memory: the answers, the rows to insert, the new head.
struct Decided<'a> {
    results: Vec<Result<AppendResult, StoreError>>,
    rows: Rows<'a>,
    current: HashMap<String, CurrentRevision>,
    link: Link,
    recorded_at: i64,
}

impl Decided<'_> {
    fn committed(self) -> Committed {
        Committed { wrote: !self.rows.position.is_empty(), results: self.results, current: self.current }
    }
}

/// Decides each request in arrival order against `known` (stored event ids)
/// and `current` (each stream's revision), and what the batch accepted before it.
fn decide_batch<'a>(
    batch: &'a [Request],
    mut known: HashMap<Uuid, Stored>,
    mut current: HashMap<String, CurrentRevision>,
    mut link: Link,
    recorded_at: i64,
    key: &ChainKey,
) -> Decided<'a> {
    let mut rows = Rows::default();
    let results =
        batch.iter().map(|r| decide(r, &mut known, &mut current, &mut link, recorded_at, key, &mut rows)).collect();
    Decided { results, rows, current, link, recorded_at }
}

/// Inserts the decided rows, moves the head, notifies and commits, in one
/// round trip (or only commits, when nothing was accepted).
async fn write(conn: &WriterConn, decided: &Decided<'_>, key: &ChainKey) -> Result<(), tokio_postgres::Error> {
    let client = &conn.client;
    let rows = &decided.rows;
    if rows.position.is_empty() {
        return client.batch_execute("COMMIT").await;
    }
    let prev: Vec<&[u8]> = rows.seals.iter().map(|s| &s.prev[..]).collect();
    let hash: Vec<&[u8]> = rows.seals.iter().map(|s| &s.hash[..]).collect();
    let mac: Vec<&[u8]> = rows.seals.iter().map(|s| &s.mac[..]).collect();
    let check: Vec<&[u8]> = rows.seals.iter().map(|s| &s.check[..]).collect();
    let tag = key.head_tag(&decided.link);
    let position = signed(decided.link.seq);
    let notify = format!("NOTIFY {NOTIFY_CHANNEL}");
    let insert_params: [&(dyn ToSql + Sync); 12] = [
        &rows.position,
        &rows.stream,
        &rows.revision,
        &rows.event_id,
        &rows.event_type,
        &rows.data,
        &rows.metadata,
        &rows.recorded_at,
        &prev,
        &hash,
        &mac,
        &check,
    ];
    let head_hash: &[u8] = &decided.link.hash;
    let tag: &[u8] = &tag;
    let update_params: [&(dyn ToSql + Sync); 4] = [&position, &head_hash, &decided.recorded_at, &tag];
    // COMMIT in the same pipeline: if a statement before it failed, the
    // server ends the transaction without committing and the error is ours.
    futures::try_join!(
        client.execute(&conn.insert, &insert_params),
        client.execute(&conn.update, &update_params),
        client.batch_execute(&notify),
        client.batch_execute("COMMIT"),
    )?;
    Ok(())
}

/// Decides one request against the stored rows and what the batch accepted
/// before it; an accepted request's events are sealed and added to `rows`.
fn decide<'a>(
    request: &'a Request,
    known: &mut HashMap<Uuid, Stored>,
    current: &mut HashMap<String, CurrentRevision>,
    link: &mut Link,
    recorded_at: i64,
    key: &ChainKey,
    rows: &mut Rows<'a>,
) -> Result<AppendResult, StoreError> {
    let Some(first) = request.events.first() else {
        return Err(StoreError::EmptyAppend);
    };
    let stream = request.stream.as_str();
    if let Some(found) = known.get(&first.event_id) {
        // An idempotent retry if the stream holds exactly these ids from there.
        let start = found.revision;
        let mut last = None;
        for (i, e) in request.events.iter().enumerate() {
            match known.get(&e.event_id) {
                Some(s) if s.stream == stream && s.revision == start + i as u64 => last = Some(s),
                _ => return Err(StoreError::DuplicateEventId { event_id: first.event_id }),
            }
        }
        let last = last.ok_or(StoreError::EmptyAppend)?;
        return Ok(AppendResult {
            next_expected_revision: last.revision,
            position: Position::from_sequence(last.position),
            already_written: true,
        });
    }
    let now = current.get(stream).copied().unwrap_or(CurrentRevision::NoStream);
    let ok = match (request.expected, now) {
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
            current: now,
        });
    }
    let mut in_request = HashSet::new();
    for e in &request.events {
        if known.contains_key(&e.event_id) || !in_request.insert(e.event_id) {
            return Err(StoreError::DuplicateEventId { event_id: e.event_id });
        }
    }
    let mut revision = match now {
        CurrentRevision::Current(r) => r + 1,
        CurrentRevision::NoStream => 0,
    };
    for e in &request.events {
        let position = link.seq + 1;
        let seal = key.seal(
            &link.hash,
            &EventBytes {
                position: Position::from_sequence(position),
                stream: stream.as_bytes(),
                revision,
                event_id: e.event_id.as_bytes(),
                event_type: e.event_type.as_bytes(),
                recorded_at_us: recorded_at,
                data: &e.data,
                metadata: &e.metadata,
            },
        );
        rows.position.push(signed(position));
        rows.stream.push(stream);
        rows.revision.push(signed(revision));
        rows.event_id.push(e.event_id.as_bytes().as_slice());
        rows.event_type.push(&e.event_type);
        rows.data.push(&e.data);
        rows.metadata.push(&e.metadata);
        rows.recorded_at.push(recorded_at);
        rows.seals.push(seal);
        known.insert(e.event_id, Stored { stream: stream.to_owned(), revision, position });
        *link = Link { seq: position, hash: seal.hash };
        revision += 1;
    }
    current.insert(stream.to_owned(), CurrentRevision::Current(revision - 1));
    Ok(AppendResult {
        next_expected_revision: revision - 1,
        position: Position::from_sequence(link.seq),
        already_written: false,
    })
}
