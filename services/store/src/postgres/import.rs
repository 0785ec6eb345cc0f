//! Importing a sealed log as it is (positions, times and seals kept): what
//! `leye store copy` uses to move a store into PostgreSQL.

use super::{PostgresStore, corrupt, pg, signed, unsigned};
use crate::{
    ChainedEvent, StoreError,
    chain::{EventBytes, StoredSeal, Walker},
    headfile::{LINK_LEN, Link},
};

const INSERT: &str = "INSERT INTO events (position, stream, revision, event_id, event_type, data, metadata, \
                      recorded_at, chain_prev, chain_hash, chain_mac, chain_check) \
                      SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::text[], \
                      $6::bytea[], $7::bytea[], $8::bigint[], $9::bytea[], $10::bytea[], $11::bytea[], $12::bytea[])";

impl PostgresStore {
    /// Appends `events`, sealed by another store with the same chain key, as
    /// they are: each must continue this store's log (the next position, its
    /// `prev` the last hash) and verify with this store's key, or nothing is
    /// written. Returns the new last link. One transaction, under the head lock.
    pub async fn import(&self, events: &[ChainedEvent]) -> Result<Link, StoreError> {
        if let Some(problem) = &self.inner.problem {
            return Err(problem.error());
        }
        let key = self.inner.key.clone().ok_or_else(|| StoreError::Backend("the chain key is not available".into()))?;
        let mut client = self.inner.target.connect("import").await?;
        let tx = client.transaction().await.map_err(pg)?;
        let head = tx
            .query_one("SELECT position, hash, recorded_at FROM log_head WHERE id = 1 FOR UPDATE", &[])
            .await
            .map_err(pg)?;
        let start = Link {
            seq: unsigned(head.try_get(0).map_err(pg)?)?,
            hash: <[u8; LINK_LEN]>::try_from(head.try_get::<_, Vec<u8>>(1).map_err(pg)?.as_slice())
                .map_err(|_| corrupt("log head hash"))?,
        };
        let Some(last) = events.last() else { return Ok(start) };
        let mut walker = Walker::from_link(&key, start, None);
        for e in events {
            walker.step(&EventBytes::from(&e.event), &StoredSeal::from(&e.seal)).map_err(|b| {
                StoreError::Backend(format!(
                    "import refused: {b} (the events must continue this store's log, sealed with its key)"
                ))
            })?;
        }
        let mut last_recorded: i64 = head.try_get(2).map_err(pg)?;
        for e in events {
            let t = e.event.recorded_at.timestamp_micros();
            if t < last_recorded {
                return Err(StoreError::Backend(format!(
                    "import refused: recorded_at decreases at position {}",
                    e.event.position
                )));
            }
            last_recorded = t;
            if e.event.event_type.contains('\0') {
                return Err(StoreError::Backend(format!(
                    "import refused: event_type at position {} contains a NUL character",
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
        tx.execute(
            INSERT,
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
        .map_err(pg)?;
        let end = Link { seq: last.event.position.commit, hash: last.seal.hash };
        let tag = key.head_tag(&end);
        tx.execute(
            "UPDATE log_head SET position = $1, hash = $2, recorded_at = $3, tag = $4 WHERE id = 1",
            &[&signed(end.seq), &&end.hash[..], &last_recorded, &&tag[..]],
        )
        .await
        .map_err(pg)?;
        tx.batch_execute(&format!("NOTIFY {}", super::NOTIFY_CHANNEL)).await.map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        Ok(end)
    }
}
