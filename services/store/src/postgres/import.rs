//! Importing a sealed log as it is (positions, times and seals kept): what
//! `leye store copy` uses to move a store into PostgreSQL.
//!
//! The whole import is ONE transaction ([`Import`]): it first takes the log
//! head's row lock (the lock every appender takes, so a server already running
//! on the target waits for the import to end) and refuses a store that holds
//! events at that moment; it writes every page; before committing it walks
//! the chain of what it wrote, inside the transaction, and requires it to end
//! on the link the caller expects. Any failure rolls everything back: the
//! target ends either holding the whole log, verified, or as it was.

use std::sync::Arc;

use tokio_postgres::{Client, Statement};

use super::{PostgresStore, corrupt, pg, read, signed, unsigned};
use crate::{
    ChainedEvent, StoreError,
    chain::{ChainKey, EventBytes, StoredSeal, Walker},
    headfile::{HeadState, LINK_LEN, Link},
};

const INSERT: &str = "INSERT INTO events (position, stream, revision, event_id, event_type, data, metadata, \
                      recorded_at, chain_prev, chain_hash, chain_mac, chain_check) \
                      SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::text[], \
                      $6::bytea[], $7::bytea[], $8::bigint[], $9::bytea[], $10::bytea[], $11::bytea[], $12::bytea[])";

/// An import in progress: one open transaction holding the log head's lock.
/// Nothing is visible to anyone until [`Import::commit`]; dropping it (or
/// [`Import::rollback`]) leaves the store as it was.
pub struct Import {
    client: Client,
    key: Arc<ChainKey>,
    insert: Statement,
    /// The last link written (the genesis link at first).
    end: Link,
    last_recorded: i64,
    events: u64,
    shown: String,
}

impl std::fmt::Debug for Import {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Import").field("target", &self.shown).field("end", &self.end.seq).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Begins importing a whole log into this store, which must hold no
    /// event: one transaction, under the head lock (a server appending to
    /// this store waits until the import commits or rolls back).
    pub async fn begin_import(&self) -> Result<Import, StoreError> {
        if let Some(problem) = &self.inner.problem {
            return Err(problem.error());
        }
        let key = self.inner.key.clone().ok_or_else(|| StoreError::Backend("the chain key is not available".into()))?;
        let client = self.inner.target.connect("import").await?;
        client.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED").await.map_err(pg)?;
        let mut import = Import {
            insert: client.prepare(INSERT).await.map_err(pg)?,
            client,
            key,
            end: Link { seq: 0, hash: crate::chain::GENESIS },
            last_recorded: 0,
            events: 0,
            shown: self.inner.target.shown.clone(),
        };
        match import.lock_empty().await {
            Ok(()) => Ok(import),
            Err(e) => {
                import.rollback().await;
                Err(e)
            }
        }
    }
}

impl Import {
    /// Takes the head lock and requires an empty log.
    async fn lock_empty(&mut self) -> Result<(), StoreError> {
        let head = self
            .client
            .query_one("SELECT position, hash, recorded_at FROM log_head WHERE id = 1 FOR UPDATE", &[])
            .await
            .map_err(pg)?;
        let position = unsigned(head.try_get(0).map_err(pg)?)?;
        let max: Option<i64> =
            self.client.query_one("SELECT max(position) FROM events", &[]).await.map_err(pg)?.try_get(0).map_err(pg)?;
        let max = max.map(unsigned).transpose()?.unwrap_or(0);
        if position > 0 || max > 0 {
            return Err(StoreError::Backend(format!(
                "the target {} already holds events (up to position {}); copy into a new, empty store; \
                 nothing was written",
                self.shown,
                position.max(max)
            )));
        }
        self.end = Link {
            seq: 0,
            hash: <[u8; LINK_LEN]>::try_from(head.try_get::<_, Vec<u8>>(1).map_err(pg)?.as_slice())
                .map_err(|_| corrupt("log head hash"))?,
        };
        self.last_recorded = head.try_get(2).map_err(pg)?;
        Ok(())
    }

    /// The last link written so far.
    pub fn end(&self) -> Link {
        self.end
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Writes the next `events`, sealed with this store's key: each must
    /// continue the log written so far (the next position, its `prev` the last
    /// hash) and verify with the key, or nothing of them is written and the
    /// error says why (the import should then be rolled back).
    pub async fn write(&mut self, events: &[ChainedEvent]) -> Result<Link, StoreError> {
        let Some(last) = events.last() else { return Ok(self.end) };
        let mut walker = Walker::from_link(&self.key, self.end, None);
        for e in events {
            walker.step(&EventBytes::from(&e.event), &StoredSeal::from(&e.seal)).map_err(|b| {
                StoreError::Backend(format!(
                    "the target refuses the events: {b} (they must continue the log written so far, sealed with \
                     the target's key)"
                ))
            })?;
        }
        let mut last_recorded = self.last_recorded;
        for e in events {
            let t = e.event.recorded_at.timestamp_micros();
            if t < last_recorded {
                return Err(StoreError::Backend(format!(
                    "the target refuses the events: recorded_at decreases at position {}",
                    e.event.position
                )));
            }
            last_recorded = t;
            if e.event.event_type.contains('\0') {
                return Err(StoreError::Backend(format!(
                    "the target refuses the events: event_type at position {} contains a NUL character",
                    e.event.position
                )));
            }
        }
        let col = |f: fn(&ChainedEvent) -> &[u8]| events.iter().map(f).collect::<Vec<&[u8]>>();
        let position: Vec<i64> = events.iter().map(|e| signed(e.event.position.commit)).collect();
        let stream: Vec<&str> = events.iter().map(|e| e.event.stream.as_str()).collect();
        let revision: Vec<i64> = events.iter().map(|e| signed(e.event.revision)).collect();
        let event_type: Vec<&str> = events.iter().map(|e| e.event.event_type.as_str()).collect();
        let recorded_at: Vec<i64> = events.iter().map(|e| e.event.recorded_at.timestamp_micros()).collect();
        self.client
            .execute(
                &self.insert,
                &[
                    &position,
                    &stream,
                    &revision,
                    &col(|e| e.event.event_id.as_bytes()),
                    &event_type,
                    &col(|e| &e.event.data),
                    &col(|e| &e.event.metadata),
                    &recorded_at,
                    &col(|e| &e.seal.prev),
                    &col(|e| &e.seal.hash),
                    &col(|e| &e.seal.mac),
                    &col(|e| &e.seal.check),
                ],
            )
            .await
            .map_err(|e| StoreError::Backend(format!("writing into the target {}: {}", self.shown, pg(e))))?;
        self.end = Link { seq: last.event.position.commit, hash: last.seal.hash };
        self.last_recorded = last_recorded;
        self.events += events.len() as u64;
        Ok(self.end)
    }

    /// Moves the head row to the last link written, walks the whole chain of
    /// what was written (inside the transaction, `page` events per read),
    /// requires it to end on `expected` after `expected_events` events, and
    /// commits. On any failure the import is rolled back and the error says
    /// which check failed.
    pub async fn commit(self, expected: Link, expected_events: u64, page: usize) -> Result<Link, StoreError> {
        match self.seal_and_verify(expected, expected_events, page).await {
            Ok(()) => {}
            Err(e) => {
                self.rollback().await;
                return Err(e);
            }
        }
        let end = self.end;
        let commit = self.client.batch_execute(&format!("NOTIFY {}; COMMIT", super::NOTIFY_CHANNEL)).await;
        commit.map_err(|e| {
            StoreError::Backend(format!(
                "committing the copy into {} failed ({}); PostgreSQL rolled it back unless the connection was lost \
                 during the COMMIT: check the target's head before copying again",
                self.shown,
                pg(e)
            ))
        })?;
        Ok(end)
    }

    async fn seal_and_verify(&self, expected: Link, expected_events: u64, page: usize) -> Result<(), StoreError> {
        let end = self.end;
        let tag = self.key.head_tag(&end);
        self.client
            .execute(
                "UPDATE log_head SET position = $1, hash = $2, recorded_at = $3, tag = $4 WHERE id = 1",
                &[&signed(end.seq), &&end.hash[..], &self.last_recorded, &&tag[..]],
            )
            .await
            .map_err(pg)?;
        // The walk of what was written, as any reader will see it once committed.
        let head =
            self.client.query_one("SELECT position, hash, tag FROM log_head WHERE id = 1", &[]).await.map_err(pg)?;
        let head_hash: Vec<u8> = head.try_get(1).map_err(pg)?;
        let head_tag: Vec<u8> = head.try_get(2).map_err(pg)?;
        let head = match <[u8; LINK_LEN]>::try_from(head_hash.as_slice()) {
            Ok(hash) => {
                let link = Link { seq: unsigned(head.try_get(0).map_err(pg)?)?, hash };
                if self.key.check_head_tag(&link, &head_tag) { HeadState::Valid(link) } else { HeadState::Invalid }
            }
            Err(_) => HeadState::Invalid,
        };
        let read = self.client.prepare(&read::read_chain_sql()).await.map_err(pg)?;
        let page = i64::try_from(page.clamp(1, 100_000)).unwrap_or(1000);
        let mut walker = Walker::new(
            &self.key,
            match head {
                HeadState::Valid(h) => Some(h.seq),
                _ => None,
            },
        );
        let mut after = 0i64;
        loop {
            let rows = self.client.query(&read, &[&after, &page]).await.map_err(pg)?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0).map_err(pg)?;
            for row in &rows {
                let c = read::decode_chained(row)?;
                walker.step(&EventBytes::from(&c.event), &StoredSeal::from(&c.seal)).map_err(|b| {
                    StoreError::Backend(format!(
                        "the copy does not verify in the target before its commit ({b}); rolled back, the target \
                         is as it was"
                    ))
                })?;
            }
        }
        walker.finish(head).map_err(|b| {
            StoreError::Backend(format!(
                "the target's head row does not match the copy before its commit ({b}); rolled back, the target is \
                 as it was"
            ))
        })?;
        if walker.last() != expected || walker.events() != expected_events {
            return Err(StoreError::Backend(format!(
                "the copy in the target ends at position {} after {} events, the source at {} after {}; rolled \
                 back, the target is as it was",
                walker.last().seq,
                walker.events(),
                expected.seq,
                expected_events
            )));
        }
        Ok(())
    }

    /// Abandons the import: nothing of it is kept.
    pub async fn rollback(self) {
        if let Err(e) = self.client.batch_execute("ROLLBACK").await {
            // The connection is closed when `self` is dropped: PostgreSQL rolls back then.
            tracing::debug!(error = %e, "ROLLBACK of an import failed; closing its connection");
        }
    }
}
