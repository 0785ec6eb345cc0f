//! One-way maintenance of the SQLite adapter's file, run with the service
//! stopped: rewriting stored payloads in place (e.g. sealing personal data
//! in a store written before sealing existed). A store already under the
//! hash chain gets its chain dropped with the rewrite; the caller opens the
//! store right after, which seals the whole log again (see `sqlite::seal`).
//!
//! Positions, revisions, event ids, event types, metadata and recorded
//! times are untouched, so every follower's checkpoint stays valid. The old
//! bytes do not survive in the file: `secure_delete` zeroes what the rewrite
//! frees, `VACUUM` rebuilds the file and the WAL is truncated.

use std::path::Path;

use rusqlite::{Connection, params};

use crate::StoreError;

/// One stored payload offered to a rewrite.
#[derive(Debug)]
pub struct StoredPayload<'a> {
    pub stream: &'a str,
    pub event_id: uuid::Uuid,
    pub event_type: &'a str,
    pub data: &'a [u8],
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Offers every payload of `event_type` to `rewrite`, in log order, and
/// stores what it returns (`None`: unchanged), all in one transaction: on
/// any error nothing is changed. Returns how many payloads were rewritten.
pub fn rewrite_payloads<E: From<StoreError>>(
    path: &Path,
    event_type: &str,
    mut rewrite: impl FnMut(StoredPayload<'_>) -> Result<Option<Vec<u8>>, E>,
) -> Result<usize, E> {
    if !path.exists() {
        return Err(StoreError::Backend(format!("no event store at {}", path.display())).into());
    }
    let mut conn = Connection::open(path).map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(db)?;
    conn.pragma_update(None, "secure_delete", "ON").map_err(db)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive).map_err(db)?;
    let mut rewritten = 0;
    {
        let mut select = tx
            .prepare("SELECT position, stream, event_id, data FROM events WHERE event_type = ?1 ORDER BY position")
            .map_err(db)?;
        let mut update = tx.prepare("UPDATE events SET data = ?2 WHERE position = ?1").map_err(db)?;
        let mut rows = select.query([event_type]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let position: i64 = row.get(0).map_err(db)?;
            let stream: String = row.get(1).map_err(db)?;
            let id: Vec<u8> = row.get(2).map_err(db)?;
            let data: Vec<u8> = row.get(3).map_err(db)?;
            let event_id = uuid::Uuid::from_slice(&id)
                .map_err(|_| StoreError::Backend(format!("event at position {position}: event id is not a UUID")))?;
            let offered = StoredPayload { stream: &stream, event_id, event_type, data: &data };
            if let Some(new) = rewrite(offered)? {
                update.execute(params![position, new]).map_err(db)?;
                rewritten += 1;
            }
        }
    }
    if rewritten > 0 {
        // A sealed store's chain no longer matches the rewritten payloads:
        // it is dropped here, in the same transaction, and the next open for
        // writing seals the whole log again as the schema-2 migration does
        // (`migrated_through` then says the chain vouches from this step on).
        let chained: bool = tx
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'chain'", [], |r| r.get(0))
            .map_err(db)?;
        if chained {
            tx.execute("DELETE FROM chain", []).map_err(db)?;
        }
    }
    tx.commit().map_err(db)?;
    if rewritten > 0 {
        conn.execute_batch("VACUUM").map_err(db)?;
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(db)?;
    Ok(rewritten)
}

/// An online, consistent copy of any SQLite file at `from` into the new file
/// `to` (`VACUUM INTO`): a snapshot of one read transaction, whatever the
/// file's writer does meanwhile. For the files beside the event store (the
/// personal-data key store) that a backup takes with it.
pub fn snapshot_file(from: &Path, to: &Path) -> Result<(), StoreError> {
    let conn = Connection::open(from).map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(db)?;
    let target = to.to_str().ok_or_else(|| StoreError::Backend(format!("{}: not a UTF-8 path", to.display())))?;
    conn.execute("VACUUM INTO ?1", [target]).map_err(db)?;
    Ok(())
}
