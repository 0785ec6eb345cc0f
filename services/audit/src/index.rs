//! The query keys: tables `record_cases`, `by_principal`, `by_operation` and
//! `by_time`, which the writer fills behind the records, [`INDEX_EVERY`]
//! records at a time, in a transaction of their own. Every answer's fsync
//! then carries only the records: with the keys written inside each batch,
//! the trail alone took 40–50 % fewer records/s and a record's median wait was
//! more than twice as long (docs/PERFORMANCE.md, "The audit trail's query
//! keys behind the records").
//!
//! `indexed.upto` is the last record whose keys are in the tables, committed
//! in the same transaction as those keys. A query reads the keys up to the
//! mark and the records past it directly, so it sees every committed record
//! whatever the lag. The lag is at most `index_every` records plus a batch
//! while the writer can write; a catch-up that fails is tried again after
//! the next batch, and queries stay complete meanwhile (only slower).
//! [`check`], part of `verify`, holds the tables equal to the records up to
//! the mark: a key row removed (a record hidden from filtered queries), added
//! or changed, or a mark moved past the keys, is a break.

use rusqlite::{
    Connection, OptionalExtension, TransactionBehavior,
    functions::FunctionFlags,
    types::{Value, ValueRef},
};

use crate::{
    AuditError, AuditFilter, BreakKind, ChainBreak,
    store::db,
    verify::{brk, signed},
};

/// How many records the keys may lag before the writer catches them up, by default.
pub const INDEX_EVERY: u64 = 1024;

/// One single-valued query key: its table and the `records` column it
/// copies. The case key (`record_cases`, one row per case id of a record) is
/// the fourth, filled and checked on its own.
struct Key {
    table: &'static str,
    column: &'static str,
}

const KEYS: [Key; 3] = [
    Key { table: "by_principal", column: "principal" },
    Key { table: "by_operation", column: "operation" },
    Key { table: "by_time", column: "time" },
];

/// The key tables, their mark and their triggers (schema version 2).
pub(crate) const SCHEMA: &str = "
-- Each key ends with the seq: a key's rows come out in seq order.
CREATE TABLE by_principal (principal TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (principal, seq))
    STRICT, WITHOUT ROWID;
CREATE TABLE by_operation (operation TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (operation, seq))
    STRICT, WITHOUT ROWID;
CREATE TABLE by_time (time INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (time, seq))
    STRICT, WITHOUT ROWID;
-- The last record whose keys are in the three tables.
CREATE TABLE indexed (id INTEGER PRIMARY KEY CHECK (id = 1), upto INTEGER NOT NULL) STRICT;
INSERT INTO indexed (id, upto) VALUES (1, 0);

CREATE TRIGGER by_principal_no_update BEFORE UPDATE ON by_principal
BEGIN SELECT RAISE(ABORT, 'audit keys cannot be changed'); END;
CREATE TRIGGER by_principal_no_delete BEFORE DELETE ON by_principal WHEN NOT EXISTS (SELECT 1 FROM pruning)
BEGIN SELECT RAISE(ABORT, 'audit keys cannot be deleted'); END;
CREATE TRIGGER by_operation_no_update BEFORE UPDATE ON by_operation
BEGIN SELECT RAISE(ABORT, 'audit keys cannot be changed'); END;
CREATE TRIGGER by_operation_no_delete BEFORE DELETE ON by_operation WHEN NOT EXISTS (SELECT 1 FROM pruning)
BEGIN SELECT RAISE(ABORT, 'audit keys cannot be deleted'); END;
CREATE TRIGGER by_time_no_update BEFORE UPDATE ON by_time
BEGIN SELECT RAISE(ABORT, 'audit keys cannot be changed'); END;
CREATE TRIGGER by_time_no_delete BEFORE DELETE ON by_time WHEN NOT EXISTS (SELECT 1 FROM pruning)
BEGIN SELECT RAISE(ABORT, 'audit keys cannot be deleted'); END;
CREATE TRIGGER indexed_forward_only BEFORE UPDATE ON indexed WHEN NEW.upto < OLD.upto
BEGIN SELECT RAISE(ABORT, 'the audit index mark only moves forward'); END;
CREATE TRIGGER indexed_no_delete BEFORE DELETE ON indexed
BEGIN SELECT RAISE(ABORT, 'the audit index mark cannot be deleted'); END;
";

/// From schema version 1 (the three keys as indexes of `records`, written
/// with every batch): the key tables, filled from the records, in the
/// caller's transaction.
pub(crate) fn migrate_from_1(tx: &Connection) -> Result<(), AuditError> {
    tx.execute_batch(
        "DROP INDEX IF EXISTS records_principal; DROP INDEX IF EXISTS records_operation; \
         DROP INDEX IF EXISTS records_time;",
    )
    .map_err(db)?;
    tx.execute_batch(SCHEMA).map_err(db)?;
    let last: Option<i64> = tx.query_row("SELECT max(seq) FROM records", [], |r| r.get(0)).map_err(db)?;
    let last = last.map_or(0, |s| u64::try_from(s).unwrap_or(0));
    // Version 1 wrote every record's case keys with it.
    fill_single(tx, 0, last)?;
    set_mark(tx, last)
}

/// The mark: the last record whose keys are in the tables (0 if the row is gone).
pub(crate) fn mark(conn: &Connection) -> Result<u64, AuditError> {
    let upto: Option<i64> =
        conn.query_row("SELECT upto FROM indexed WHERE id = 1", [], |r| r.get(0)).optional().map_err(db)?;
    Ok(upto.map_or(0, |u| u64::try_from(u).unwrap_or(0)))
}

/// The mark of a version 2 trail; `None` for a version 1 trail this build
/// has not opened yet, whose case keys are complete and which has no other
/// key tables (`verify` reads such a trail as it is).
pub(crate) fn keyed_mark(conn: &Connection) -> Result<Option<u64>, AuditError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(db)?;
    if version >= 2 { mark(conn).map(Some) } else { Ok(None) }
}

/// The SQL function `audit_has_case(case_ids, id)`: whether the record's
/// `case_ids` (16 bytes each) hold `id`. Reads the records past the mark for
/// a case filter; registered on every connection that queries.
pub(crate) fn register_functions(conn: &Connection) -> Result<(), AuditError> {
    conn.create_scalar_function(
        "audit_has_case",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let (ValueRef::Blob(ids), ValueRef::Blob(id)) = (ctx.get_raw(0), ctx.get_raw(1)) else {
                return Ok(false);
            };
            Ok(ids.chunks_exact(16).any(|c| c == id))
        },
    )
    .map_err(db)
}

/// Adds the keys of records `from + 1 ..= to` and moves the mark to `to`, in
/// one transaction. `Err`: nothing changed.
pub(crate) fn catch_up(conn: &mut Connection, from: u64, to: u64) -> Result<(), AuditError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    fill_single(&tx, from, to)?;
    fill_cases(&tx, from, to)?;
    set_mark(&tx, to)?;
    tx.commit().map_err(db)
}

/// The principal, operation and time keys of records `from + 1 ..= to`.
fn fill_single(tx: &Connection, from: u64, to: u64) -> Result<(), AuditError> {
    for Key { table, column } in KEYS {
        tx.execute(
            &format!(
                "INSERT OR IGNORE INTO {table} ({column}, seq) SELECT {column}, seq FROM records \
                 WHERE seq > ?1 AND seq <= ?2"
            ),
            [signed(from), signed(to)],
        )
        .map_err(db)?;
    }
    Ok(())
}

/// The case keys of records `from + 1 ..= to`: one row per case id.
fn fill_cases(tx: &Connection, from: u64, to: u64) -> Result<(), AuditError> {
    let mut read = tx.prepare("SELECT seq, case_ids FROM records WHERE seq > ?1 AND seq <= ?2").map_err(db)?;
    let mut insert = tx.prepare("INSERT OR IGNORE INTO record_cases (seq, case_id) VALUES (?1, ?2)").map_err(db)?;
    let mut rows = read.query([signed(from), signed(to)]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        let seq: i64 = row.get(0).map_err(db)?;
        if let ValueRef::Blob(ids) = row.get_ref(1).map_err(db)? {
            for id in ids.chunks_exact(16) {
                insert.execute(rusqlite::params![seq, id]).map_err(db)?;
            }
        }
    }
    Ok(())
}

fn set_mark(tx: &Connection, to: u64) -> Result<(), AuditError> {
    tx.execute("UPDATE indexed SET upto = max(upto, ?1) WHERE id = 1", [signed(to)]).map_err(db)?;
    Ok(())
}

/// Deletes the keys of records `..= seq`, inside the prune's transaction
/// (before the records themselves): the case keys by their seq, the others
/// by looking each up from its record.
pub(crate) fn delete_through(tx: &Connection, seq: u64) -> Result<(), AuditError> {
    tx.execute("DELETE FROM record_cases WHERE seq <= ?1", [signed(seq)]).map_err(db)?;
    for Key { table, column } in KEYS {
        tx.execute(
            &format!(
                "DELETE FROM {table} WHERE ({column}, seq) IN (SELECT {column}, seq FROM records WHERE seq <= ?1)"
            ),
            [signed(seq)],
        )
        .map_err(db)?;
    }
    Ok(())
}

/// The columns `decode` reads after the seq.
const COLUMNS: &str = "r.time, r.principal, r.authn, r.peer, r.operation, r.case_ids, r.outcome, r.reason";

/// The query's SQL and its parameters: one more row than `limit`, to tell
/// whether another page follows.
///
/// Every filter is a condition on the record itself, so the keys only choose
/// which records are read, never what matches. The first of case, principal,
/// operation and time that is set drives the read: its key rows up to the
/// mark, in seq order (a time range: in time order, then sorted), joined with
/// the records past the mark.
pub(crate) fn query_sql(filter: &AuditFilter, after: u64, limit: u32) -> (String, Vec<Value>) {
    let mut values = vec![Value::Integer(signed(after))];
    let mut param = |value: Value| {
        values.push(value);
        format!("?{}", values.len())
    };
    let case = filter.case_id.map(|id| param(Value::Blob(id.as_bytes().to_vec())));
    // (column, comparison) of each set single-valued filter, in the order
    // that chooses the driving key: principal, operation, time.
    let mut compared: Vec<(&str, String)> = Vec::new();
    if let Some(v) = &filter.principal {
        compared.push(("principal", format!("= {}", param(Value::Text(v.clone())))));
    }
    if let Some(v) = &filter.operation {
        compared.push(("operation", format!("= {}", param(Value::Text(v.clone())))));
    }
    if let Some(t) = filter.from {
        compared.push(("time", format!(">= {}", param(Value::Integer(t.timestamp_micros())))));
    }
    if let Some(t) = filter.to {
        compared.push(("time", format!("< {}", param(Value::Integer(t.timestamp_micros())))));
    }
    let on_record = |first: &str| {
        let mut c = vec![first.to_owned()];
        c.extend(case.iter().map(|p| format!("audit_has_case(r.case_ids, {p})")));
        c.extend(compared.iter().map(|(column, cmp)| format!("r.{column} {cmp}")));
        c.join(" AND ")
    };
    let page = u64::from(limit) + 1;
    // The driving key: its table and its conditions on the key row.
    let driving = match &case {
        Some(p) => Some(("record_cases", vec![format!("k.case_id = {p}")])),
        None => compared.first().and_then(|(first, _)| KEYS.iter().find(|k| k.column == *first)).map(|k| {
            let on_key = compared.iter().filter(|(c, _)| *c == k.column).map(|(c, cmp)| format!("k.{c} {cmp}"));
            (k.table, on_key.collect())
        }),
    };
    let sql = match driving {
        None => format!(
            "SELECT r.seq, {COLUMNS} FROM records r WHERE {} ORDER BY r.seq LIMIT {page}",
            on_record("r.seq > ?1")
        ),
        Some((table, mut on_key)) => {
            on_key.push("k.seq > ?1".into());
            on_key.push("k.seq <= coalesce((SELECT upto FROM indexed WHERE id = 1), 0)".into());
            format!(
                "SELECT k.seq AS seq, {COLUMNS} FROM {table} k JOIN records r ON r.seq = k.seq WHERE {} AND {} \
                 UNION ALL \
                 SELECT r.seq AS seq, {COLUMNS} FROM records r WHERE {} \
                 ORDER BY seq LIMIT {page}",
                on_key.join(" AND "),
                on_record("1"),
                on_record("r.seq > max(?1, coalesce((SELECT upto FROM indexed WHERE id = 1), 0))"),
            )
        }
    };
    (sql, values)
}

/// The key tables against the records, in the verifier's snapshot: every
/// record up to the mark has its row in each, and each row is a record's up to
/// the mark. The first difference, or `None`.
pub(crate) fn check(conn: &Connection, upto: u64) -> Result<Option<ChainBreak>, AuditError> {
    let upto = signed(upto);
    let first = |sql: String| -> Result<Option<u64>, AuditError> {
        let seq: Option<i64> = conn.query_row(&sql, [upto], |r| r.get(0)).map_err(db)?;
        Ok(seq.map(|s| u64::try_from(s).unwrap_or(0)))
    };
    for Key { table, column } in KEYS {
        let missing = first(format!(
            "SELECT min(r.seq) FROM records r WHERE r.seq <= ?1 AND NOT EXISTS \
             (SELECT 1 FROM {table} k WHERE k.{column} = r.{column} AND k.seq = r.seq)"
        ))?;
        if let Some(seq) = missing {
            return Ok(Some(brk(seq, BreakKind::Edited, format!("the {column} key does not match the record"))));
        }
        let orphan = first(format!(
            "SELECT min(k.seq) FROM {table} k WHERE k.seq > ?1 OR NOT EXISTS \
             (SELECT 1 FROM records r WHERE r.seq = k.seq AND r.{column} = k.{column})"
        ))?;
        if let Some(seq) = orphan {
            return Ok(Some(brk(
                seq,
                BreakKind::Inserted,
                format!("{column} key rows for a record that is not in the trail up to the index mark"),
            )));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use uuid::Uuid;

    use super::*;
    use crate::chain::ChainKey;

    fn plan(conn: &Connection, filter: &AuditFilter) -> String {
        let (sql, values) = query_sql(filter, 0, 10);
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .and_then(|mut s| s.query_map(rusqlite::params_from_iter(values), |r| r.get(3))?.collect())
            .expect("plan");
        plan.join(" | ")
    }

    /// Every single filter is answered from its key, not by scanning the
    /// trail; principal, operation and case pages come out of their key in
    /// seq order, without sorting.
    #[test]
    fn each_filter_reads_its_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = ChainKey::load_or_create(&dir.path().join("key")).expect("key");
        let (conn, _, _, _) =
            crate::store::open_writer(&dir.path().join("trail"), &key, Duration::from_secs(1)).expect("open");
        register_functions(&conn).expect("functions");
        let now = chrono::Utc::now();
        let cases = [
            (AuditFilter { principal: Some("p".into()), ..AuditFilter::default() }, "by_principal", true),
            (AuditFilter { operation: Some("o".into()), ..AuditFilter::default() }, "by_operation", true),
            (AuditFilter { case_id: Some(Uuid::nil()), ..AuditFilter::default() }, "record_cases_case", true),
            (AuditFilter { from: Some(now), to: Some(now), ..AuditFilter::default() }, "by_time", false),
        ];
        for (filter, index, in_order) in cases {
            let plan = plan(&conn, &filter);
            let (sql, _) = query_sql(&filter, 0, 10);
            let read = match KEYS.iter().find(|k| k.table == index) {
                Some(key) => {
                    sql.contains(&format!("FROM {index} k"))
                        && plan.contains(&format!("SEARCH k USING PRIMARY KEY ({}", key.column))
                }
                None => plan.contains(index),
            };
            assert!(read, "{filter:?} should read {index}: {plan}");
            assert!(!plan.contains("SCAN r") && !plan.contains("SCAN k"), "{filter:?} scans: {plan}");
            assert_eq!(!plan.contains("TEMP B-TREE"), in_order, "{filter:?}: {plan}");
        }
    }
}
