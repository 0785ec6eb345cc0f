//! The writer thread: group commit of queued appends, each in its savepoint,
//! each event sealed on the chain as it is inserted.

use std::{sync::Arc, time::Instant};

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::debug;
use uuid::Uuid;

use super::{corrupt, db, duplicate_or_db, signed, unsigned};
use crate::{
    AppendResult, CurrentRevision, EventData, ExpectedRevision, Position, StoreError, StreamName,
    chain::{ChainKey, EventBytes, GENESIS, Seal},
    headfile::{HeadThread, Link},
};

/// One `append` call waiting for the writer.
pub(super) struct Request {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<EventData>,
    pub reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// The writer thread's state: the only connection that writes.
pub(super) struct Writer {
    pub conn: Connection,
    pub rx: mpsc::Receiver<Request>,
    pub head: watch::Sender<Option<Position>>,
    pub max_batch: usize,
    /// `None` when the store's key is missing or wrong (appends are then
    /// refused before they reach the writer).
    pub key: Option<Arc<ChainKey>>,
    /// [`super::SqliteStoreOptions::unsealed_for_benchmarks`].
    pub unsealed: bool,
    /// The head file's thread; `None` when appends are refused.
    pub heads: Option<HeadThread>,
}

/// The outcome of each request of a batch, and the last link it wrote.
type BatchOutcome = (Vec<Result<AppendResult, StoreError>>, Option<Link>);

impl Writer {
    /// Commits batches until every sender is gone and the queue is drained.
    pub(super) fn run(mut self) {
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
        let key = match (&self.key, self.unsealed) {
            (_, true) => None,
            (Some(key), false) => Some(Arc::clone(key)),
            (None, false) => return Err(StoreError::Backend("the chain key is not available".into())),
        };
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
                hash: match hash.try_into() {
                    Ok(hash) => hash,
                    // Unsealed rows (benchmarks only) have no hash to chain to.
                    Err(_) if key.is_none() => GENESIS,
                    Err(_) => return Err(corrupt("chain hash of the last event")),
                },
            },
        };

        let mut results = Vec::with_capacity(batch.len());
        let mut last_written = None;
        for request in batch {
            let savepoint = tx.savepoint().map_err(db)?;
            let mut tentative = link;
            let result = apply(&savepoint, request, recorded_at, key.as_deref(), &mut tentative);
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
    key: Option<&ChainKey>,
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
        let bytes = EventBytes {
            position: Position::from_sequence(position),
            stream: request.stream.as_str().as_bytes(),
            revision,
            event_id: event.event_id.as_bytes(),
            event_type: event.event_type.as_bytes(),
            recorded_at_us: recorded_at,
            data: &event.data,
            metadata: &event.metadata,
        };
        // Unsealed (benchmarks only): empty chain columns, a zero link.
        let seal = key.map_or(Seal { prev: GENESIS, hash: GENESIS, mac: GENESIS, check: [0; 16] }, |k| {
            k.seal(&link.hash, &bytes)
        });
        let empty: &[u8] = &[];
        let (prev, hash, mac, check) = if key.is_some() {
            (&seal.prev[..], &seal.hash[..], &seal.mac[..], &seal.check[..])
        } else {
            (empty, empty, empty, empty)
        };
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
                prev,
                hash,
                mac,
                check,
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
