//! The key store: one SQLite file apart from the events (mode 0600), holding
//! each data key wrapped by the master key, a tombstone for each destroyed
//! one, and a check value that tells a wrong master key at start.
//!
//! Destroying a key deletes its wrapped form with `secure_delete` on (SQLite
//! overwrites the freed bytes with zeros) and then truncates the WAL, so the
//! wrapped key is gone from the live files; copies in backups go when the
//! backups expire (or are unreadable once the master key they need is
//! rotated away and destroyed).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::{Sealed, VaultError};

/// The schema this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE data_key (
    kid          TEXT PRIMARY KEY,
    subject      TEXT,             -- NULL until assigned (see `create_unassigned`)
    created_at   TEXT NOT NULL,
    destroyed_at TEXT
);
CREATE UNIQUE INDEX data_key_live ON data_key (subject) WHERE destroyed_at IS NULL AND subject IS NOT NULL;
CREATE INDEX data_key_subject ON data_key (subject);
CREATE TABLE wrapped_key (
    kid     TEXT PRIMARY KEY REFERENCES data_key (kid),
    wrapped TEXT NOT NULL
);
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

fn db(e: rusqlite::Error) -> VaultError {
    VaultError::Store(e.to_string())
}

/// What the store knows of a key id. `subject` is `None` while the
/// assignment is not (or, after a power loss, no longer) recorded.
pub(crate) enum KeyRow {
    Live { subject: Option<Uuid>, wrapped: Sealed },
    Destroyed,
}

/// Opens (creating when `create`) the key store file.
pub(crate) fn open(path: &Path, create: bool) -> Result<Connection, VaultError> {
    if !path.exists() {
        if !create {
            return Err(VaultError::Store(format!("key store {} does not exist", path.display())));
        }
        crate::master::write_private(path, b"", false)
            .map_err(|e| VaultError::Store(format!("cannot create key store {}: {e}", path.display())))?;
    }
    let conn = Connection::open(path).map_err(db)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(db)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(db)?;
    conn.pragma_update(None, "secure_delete", "ON").map_err(db)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(db)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
    match version {
        0 => {
            conn.execute_batch(SCHEMA).map_err(db)?;
            conn.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(db)?;
        }
        SCHEMA_VERSION => {}
        v => {
            return Err(VaultError::Store(format!(
                "key store {} has schema version {v}; this build reads {SCHEMA_VERSION}",
                path.display()
            )));
        }
    }
    Ok(conn)
}

pub(crate) fn meta(conn: &Connection, name: &str) -> Result<Option<String>, VaultError> {
    conn.prepare_cached("SELECT value FROM meta WHERE name = ?1")
        .map_err(db)?
        .query_row([name], |r| r.get(0))
        .optional()
        .map_err(db)
}

pub(crate) fn set_meta(conn: &Connection, name: &str, value: &str) -> Result<(), VaultError> {
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2",
        [name, value],
    )
    .map_err(db)?;
    Ok(())
}

/// Stores `value` under `name` unless the file holds a value there already;
/// returns the value stored.
pub(crate) fn init_meta(conn: &Connection, name: &str, value: &str) -> Result<String, VaultError> {
    conn.execute("INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING", [name, value])
        .map_err(db)?;
    meta(conn, name)?.ok_or_else(|| VaultError::Store(format!("meta {name} missing after it was stored")))
}

/// Stores new keys, not yet assigned to a subject, durably in one
/// transaction (one fsync for the whole batch), together with the
/// assignments made since the last batch (`kid` → subject). An assignment
/// only helps lookups: a sealed value names its key, so a lost or refused
/// one (the subject has a recorded live key already) costs nothing.
pub(crate) fn create_unassigned(
    conn: &mut Connection,
    keys: &[(Uuid, Sealed)],
    assigned: &[(Uuid, Uuid)],
) -> Result<(), VaultError> {
    let tx = conn.transaction().map_err(db)?;
    for (kid, subject) in assigned {
        tx.execute(
            "UPDATE OR IGNORE data_key SET subject = ?2 WHERE kid = ?1 AND subject IS NULL",
            params![kid.to_string(), subject.to_string()],
        )
        .map_err(db)?;
    }
    let now = chrono::Utc::now().to_rfc3339();
    for (kid, wrapped) in keys {
        tx.execute("INSERT INTO data_key (kid, created_at) VALUES (?1, ?2)", params![kid.to_string(), now])
            .map_err(db)?;
        tx.execute(
            "INSERT INTO wrapped_key (kid, wrapped) VALUES (?1, ?2)",
            params![kid.to_string(), encode_sealed(wrapped)],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}

pub(crate) fn key(conn: &Connection, kid: Uuid) -> Result<Option<KeyRow>, VaultError> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> = conn
        .prepare_cached(
            "SELECT d.subject, d.destroyed_at, w.wrapped FROM data_key d LEFT JOIN wrapped_key w ON w.kid = d.kid
             WHERE d.kid = ?1",
        )
        .map_err(db)?
        .query_row([kid.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(db)?;
    let Some((subject, destroyed_at, wrapped)) = row else { return Ok(None) };
    let subject = subject.as_deref().map(parse_uuid).transpose()?;
    Ok(Some(match (destroyed_at, wrapped) {
        (None, Some(w)) => KeyRow::Live { subject, wrapped: parse_sealed(&w)? },
        (Some(_), _) => KeyRow::Destroyed,
        (None, None) => {
            return Err(VaultError::Store(format!("data key {kid} has neither a wrapped key nor a tombstone")));
        }
    }))
}

/// Destroys every key of the subject and the keys `kids` (those its sealed
/// values name); returns how many were live.
pub(crate) fn destroy(conn: &mut Connection, subject: Uuid, kids: &[Uuid]) -> Result<usize, VaultError> {
    let tx = conn.transaction().map_err(db)?;
    let s = subject.to_string();
    let mut mine: Vec<String> = {
        let mut q = tx.prepare("SELECT kid FROM data_key WHERE subject = ?1").map_err(db)?;
        let rows = q.query_map([&s], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)?
    };
    mine.extend(kids.iter().map(Uuid::to_string));
    mine.sort();
    mine.dedup();
    let now = chrono::Utc::now().to_rfc3339();
    let mut n = 0;
    for kid in &mine {
        tx.execute("DELETE FROM wrapped_key WHERE kid = ?1", [kid]).map_err(db)?;
        n += tx
            .execute(
                "UPDATE data_key SET destroyed_at = ?2, subject = ?3 WHERE kid = ?1 AND destroyed_at IS NULL",
                params![kid, now, s],
            )
            .map_err(db)?;
    }
    tx.commit().map_err(db)?;
    // The WAL still holds the pages as they were: copy them back (zeroed by
    // secure_delete) and truncate it.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(db)?;
    Ok(n)
}

/// Re-wraps every live key with `rewrap` and replaces the check value, in
/// one transaction (no key created meanwhile is left under the old master key).
pub(crate) fn rewrap(
    conn: &mut Connection,
    rewrap: &dyn Fn(Uuid, &Sealed) -> Result<Sealed, VaultError>,
    check: &str,
) -> Result<usize, VaultError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
    let live: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT kid, wrapped FROM wrapped_key").map_err(db)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)?
    };
    for (kid, wrapped) in &live {
        let new = rewrap(parse_uuid(kid)?, &parse_sealed(wrapped)?)?;
        tx.execute("UPDATE wrapped_key SET wrapped = ?2 WHERE kid = ?1", params![kid, encode_sealed(&new)])
            .map_err(db)?;
    }
    set_meta(&tx, "check", check)?;
    tx.commit().map_err(db)?;
    Ok(live.len())
}

/// Every key row with its wrapped form (`None` once destroyed), for `leye keys copy`.
pub(crate) fn export(conn: &Connection) -> Result<Vec<crate::pgstore::ImportRow>, VaultError> {
    let mut stmt = conn
        .prepare(
            "SELECT d.kid, d.subject, d.created_at, d.destroyed_at, w.wrapped FROM data_key d
             LEFT JOIN wrapped_key w ON w.kid = d.kid ORDER BY d.kid",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(db)?;
    let micros = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.timestamp_micros())
            .map_err(|_| VaultError::Store(format!("a time in the key store is malformed: {t}")))
    };
    rows.map(|r| {
        let (kid, subject, created, destroyed, wrapped) = r.map_err(db)?;
        Ok(crate::pgstore::ImportRow {
            kid: parse_uuid(&kid)?,
            subject: subject.as_deref().map(parse_uuid).transpose()?,
            created_at_us: micros(&created)?,
            destroyed_at_us: destroyed.as_deref().map(micros).transpose()?,
            wrapped: if destroyed.is_some() { None } else { wrapped.as_deref().map(parse_sealed).transpose()? },
        })
    })
    .collect()
}

/// (live keys, destroyed keys).
pub(crate) fn counts(conn: &Connection) -> Result<(u64, u64), VaultError> {
    conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE destroyed_at IS NULL), COUNT(*) FILTER (WHERE destroyed_at IS NOT NULL) FROM data_key",
        [],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
    )
    .map_err(db)
}

fn parse_uuid(s: &str) -> Result<Uuid, VaultError> {
    Uuid::parse_str(s).map_err(|_| VaultError::Store("a key id in the key store is not a UUID".into()))
}

pub(crate) fn encode_sealed(s: &Sealed) -> String {
    // Plain data with string keys: serialisation cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

pub(crate) fn parse_sealed(s: &str) -> Result<Sealed, VaultError> {
    serde_json::from_str(s).map_err(|_| VaultError::Store("a wrapped key in the key store is malformed".into()))
}
