//! The chain check. [`Walker`] checks records one at a time, in sequence order,
//! from a known link; [`verify_trail`] walks the whole trail and compares the
//! end with the head file; [`check_tail`] is the cheap check at open.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, types::ValueRef};

use crate::{
    AuditError, BreakKind, ChainBreak, VerifyReport,
    chain::{ChainKey, HeadFile, Link, MAC_LEN, RecordBytes, head_path, hex, read_head, unhex},
    store::{db, open_read_only},
};

/// The columns [`Walker::step`] reads, in this order.
pub(crate) const SELECT_RAW: &str =
    "SELECT seq, time, principal, authn, peer, operation, case_ids, outcome, reason, prev, mac FROM records";

/// A record that passed [`Walker::step`].
#[derive(Debug)]
pub(crate) struct Checked {
    pub seq: u64,
    /// The record's case ids, sorted, without duplicates.
    pub case_ids: Vec<[u8; 16]>,
}

/// Checks records in sequence order, each against the link before it.
#[derive(Debug)]
pub(crate) struct Walker<'k> {
    key: &'k ChainKey,
    /// Where the walk started (the anchor, or [`Link::START`]).
    start: Link,
    /// The last record checked (or `start`).
    pub link: Link,
    /// The head file's seq: a bad MAC past it is an insertion, not an edit.
    head_seq: Option<u64>,
}

impl<'k> Walker<'k> {
    pub fn new(key: &'k ChainKey, start: Link, head_seq: Option<u64>) -> Self {
        Self { key, start, link: start, head_seq }
    }

    /// Checks the next row of [`SELECT_RAW`] … `ORDER BY seq`.
    pub fn step(&mut self, row: &Row<'_>) -> Result<Result<Checked, ChainBreak>, AuditError> {
        let seq: i64 = row.get(0).map_err(db)?;
        let expected = self.link.seq + 1;
        let seq = match u64::try_from(seq) {
            Ok(seq) if seq >= expected => seq,
            _ => {
                return Ok(Err(brk(
                    u64::try_from(seq).unwrap_or(0),
                    BreakKind::Inserted,
                    format!("record below the start of the chain (seq {})", self.start.seq + 1),
                )));
            }
        };
        if seq > expected {
            return Ok(Err(brk(expected, BreakKind::Deleted, format!("records {expected}..={} are missing", seq - 1))));
        }
        let fields = match Fields::read(row) {
            Ok(fields) => fields,
            Err(column) => {
                return Ok(Err(brk(seq, BreakKind::Edited, format!("column `{column}` is malformed"))));
            }
        };
        let record = RecordBytes {
            seq,
            time_us: fields.time_us,
            principal: fields.text[0],
            authn: fields.text[1],
            peer: fields.text[2],
            operation: fields.text[3],
            case_ids: fields.case_ids,
            outcome: fields.text[4],
            reason: fields.text[5],
        };
        if !self.key.check_record(&fields.prev, &record.canonical(), &fields.mac) {
            return Ok(Err(if self.head_seq.is_some_and(|head| seq > head) {
                brk(seq, BreakKind::Inserted, "record past the head file without a valid MAC".into())
            } else {
                brk(seq, BreakKind::Edited, "the MAC does not match the record".into())
            }));
        }
        if fields.prev != self.link.mac {
            return Ok(Err(if self.link == self.start && self.start.seq > 0 {
                brk(seq, BreakKind::AnchorMismatch, "the first record does not follow the prune anchor".into())
            } else {
                brk(seq, BreakKind::Inserted, "authentic record that follows another predecessor".into())
            }));
        }
        self.link = Link { seq, mac: fields.mac };
        let mut case_ids: Vec<[u8; 16]> =
            fields.case_ids.chunks_exact(16).filter_map(|c| <[u8; 16]>::try_from(c).ok()).collect();
        case_ids.sort_unstable();
        case_ids.dedup();
        Ok(Ok(Checked { seq, case_ids }))
    }
}

pub(crate) fn brk(seq: u64, what: BreakKind, detail: String) -> ChainBreak {
    ChainBreak { seq, what, detail }
}

/// The columns of one row, as the raw bytes the file holds.
struct Fields<'r> {
    time_us: i64,
    /// principal, authn, peer, operation, outcome, reason.
    text: [&'r [u8]; 6],
    case_ids: &'r [u8],
    prev: [u8; MAC_LEN],
    mac: [u8; MAC_LEN],
}

impl<'r> Fields<'r> {
    /// The row's fields, or the name of the first malformed column.
    fn read(row: &'r Row<'_>) -> Result<Self, &'static str> {
        let text = |i: usize, name: &'static str| match row.get_ref(i) {
            Ok(ValueRef::Text(bytes)) => Ok(bytes),
            _ => Err(name),
        };
        let time_us = match row.get_ref(1) {
            Ok(ValueRef::Integer(t)) => t,
            _ => return Err("time"),
        };
        let case_ids = match row.get_ref(6) {
            Ok(ValueRef::Blob(b)) if b.len() % 16 == 0 => b,
            _ => return Err("case_ids"),
        };
        Ok(Self {
            time_us,
            text: [
                text(2, "principal")?,
                text(3, "authn")?,
                text(4, "peer")?,
                text(5, "operation")?,
                text(7, "outcome")?,
                text(8, "reason")?,
            ],
            case_ids,
            prev: unhex(text(9, "prev")?).ok_or("prev")?,
            mac: unhex(text(10, "mac")?).ok_or("mac")?,
        })
    }
}

/// The prune anchor, and whether its tag verifies.
pub(crate) fn read_anchor(conn: &Connection, key: &ChainKey) -> Result<Option<(Link, bool)>, AuditError> {
    let row: Option<(i64, String, String)> = conn
        .query_row("SELECT seq, mac, tag FROM anchor WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(db)?;
    Ok(row.map(|(seq, mac, tag)| match (u64::try_from(seq), unhex(mac.as_bytes()), unhex(tag.as_bytes())) {
        (Ok(seq), Some(mac), Some(tag)) => {
            let link = Link { seq, mac };
            (link, key.check_anchor(&link, &tag))
        }
        _ => (Link { seq: u64::try_from(seq).unwrap_or(0), mac: [0; MAC_LEN] }, false),
    }))
}

/// Where a chain starts: the anchor if any (`Err` if forged), else [`Link::START`].
pub(crate) fn chain_start(conn: &Connection, key: &ChainKey) -> Result<Result<Link, ChainBreak>, AuditError> {
    Ok(match read_anchor(conn, key)? {
        None => Ok(Link::START),
        Some((link, true)) => Ok(link),
        Some((link, false)) => {
            Err(brk(link.seq, BreakKind::AnchorMismatch, "the prune anchor's tag does not verify".into()))
        }
    })
}

/// The whole check, for [`crate::AuditLog::verify`] and [`crate::verify_file`].
pub(crate) fn verify_trail(path: &Path, key: &ChainKey) -> Result<VerifyReport, AuditError> {
    // The head file first: it is written after each commit, so the snapshot read
    // below holds at least what it names.
    let head = read_head(&head_path(path), key)?;
    let conn = open_read_only(path)?;
    let tx = conn.unchecked_transaction().map_err(db)?;

    let (start, mut broken) = match chain_start(&tx, key)? {
        Ok(link) => (link, None),
        Err(b) => (Link::START, Some(b)),
    };
    let head_seq = match head {
        HeadFile::Valid(h) => Some(h.seq),
        _ => None,
    };
    let mut walker = Walker::new(key, start, head_seq);
    let mut mac_at_head = None;
    let (mut records, mut first_seq, mut last_seq) = (0u64, None, None);

    let mut cases_stmt = tx.prepare("SELECT seq, case_id FROM record_cases ORDER BY seq, case_id").map_err(db)?;
    let mark = crate::index::keyed_mark(&tx)?;
    let upto = mark.unwrap_or(u64::MAX);
    let mut cases = CaseIndex { rows: cases_stmt.query([]).map_err(db)?, pending: None, upto };
    let mut stmt = tx.prepare(&format!("{SELECT_RAW} ORDER BY seq")).map_err(db)?;
    let mut rows = stmt.query([]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        records += 1;
        let seq = row.get::<_, i64>(0).map_err(db)?;
        let seq = u64::try_from(seq).unwrap_or(0);
        first_seq.get_or_insert(seq);
        last_seq = Some(seq);
        if broken.is_some() {
            continue; // only counting now
        }
        match walker.step(row)? {
            Err(b) => broken = Some(b),
            Ok(checked) => {
                if head_seq == Some(checked.seq) {
                    mac_at_head = Some(walker.link.mac);
                }
                broken = cases.check(&checked)?;
            }
        }
    }
    if broken.is_none() {
        broken = cases.leftover()?;
    }
    if broken.is_none() {
        broken = match mark {
            Some(upto) => crate::index::check(&tx, upto)?,
            None => None,
        };
    }
    let end = walker.link;
    if broken.is_none() {
        broken = match head {
            HeadFile::Missing if end == Link::START => None,
            HeadFile::Missing => Some(brk(end.seq, BreakKind::HeadMismatch, "the head file is missing".into())),
            HeadFile::Invalid => Some(brk(
                end.seq,
                BreakKind::HeadMismatch,
                "the head file is malformed or its tag does not verify".into(),
            )),
            HeadFile::Valid(h) if h.seq > end.seq => Some(brk(
                end.seq + 1,
                BreakKind::Truncated,
                format!("records {}..={} named by the head file are missing", end.seq + 1, h.seq),
            )),
            HeadFile::Valid(h) if h.seq < start.seq => Some(brk(
                h.seq,
                BreakKind::AnchorMismatch,
                format!("the head file names seq {} below the prune anchor {}", h.seq, start.seq),
            )),
            HeadFile::Valid(h) => {
                let mac = if h.seq == start.seq { Some(start.mac) } else { mac_at_head };
                (mac != Some(h.mac)).then(|| {
                    brk(h.seq, BreakKind::HeadMismatch, "the head file names another MAC for this record".into())
                })
            }
        };
    }
    drop(rows);
    drop(stmt);
    drop(cases);
    drop(cases_stmt);
    tx.finish().map_err(db)?;
    Ok(VerifyReport { records, first_seq, last_seq, head_hash: hex(&end.mac), broken })
}

/// `record_cases` in `(seq, case_id)` order, walked beside the records: the
/// rows of each record up to the keys' mark, none past it.
struct CaseIndex<'s> {
    rows: rusqlite::Rows<'s>,
    pending: Option<(i64, Vec<u8>)>,
    upto: u64,
}

impl CaseIndex<'_> {
    fn next(&mut self) -> Result<Option<(i64, Vec<u8>)>, AuditError> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        match self.rows.next().map_err(db)? {
            None => Ok(None),
            Some(row) => {
                let seq: i64 = row.get(0).map_err(db)?;
                let case = match row.get_ref(1).map_err(db)? {
                    ValueRef::Blob(b) => b.to_vec(),
                    _ => Vec::new(), // never a valid id: reported as a mismatch
                };
                Ok(Some((seq, case)))
            }
        }
    }

    /// Compares the index rows of `record` with its own list (none past the mark).
    fn check(&mut self, record: &Checked) -> Result<Option<ChainBreak>, AuditError> {
        let mut indexed = Vec::new();
        while let Some((seq, case)) = self.next()? {
            let seq = u64::try_from(seq).unwrap_or(0);
            if seq < record.seq {
                return Ok(Some(orphan(seq)));
            }
            if seq > record.seq {
                self.pending = Some((i64::try_from(seq).unwrap_or(i64::MAX), case));
                break;
            }
            indexed.push(case);
        }
        if record.seq > self.upto {
            return Ok((!indexed.is_empty()).then(|| {
                brk(record.seq, BreakKind::Inserted, "case index rows for a record past the index mark".into())
            }));
        }
        let same = indexed.len() == record.case_ids.len()
            && indexed.iter().zip(&record.case_ids).all(|(a, b)| a.as_slice() == b.as_slice());
        Ok((!same)
            .then(|| brk(record.seq, BreakKind::Edited, "the case index does not match the record's case ids".into())))
    }

    /// Index rows past the last record.
    fn leftover(&mut self) -> Result<Option<ChainBreak>, AuditError> {
        Ok(self.next()?.map(|(seq, _)| orphan(u64::try_from(seq).unwrap_or(0))))
    }
}

fn orphan(seq: u64) -> ChainBreak {
    brk(seq, BreakKind::Inserted, "case index rows for a record that is not in the trail".into())
}

/// The check at open: the head file must name a record of the trail (or its
/// start), and every record past it must chain. Returns the link to append after.
pub(crate) fn check_tail(conn: &Connection, key: &ChainKey, head: HeadFile) -> Result<Link, AuditError> {
    let tampered = |seq, what, detail: &str| AuditError::Tampered(brk(seq, what, detail.into()));
    let start = chain_start(conn, key)?.map_err(AuditError::Tampered)?;
    let last: Option<i64> = conn.query_row("SELECT max(seq) FROM records", [], |r| r.get(0)).map_err(db)?;
    let last = last.map(|s| u64::try_from(s).unwrap_or(0));
    let h = match head {
        HeadFile::Missing if last.is_none() && start == Link::START => return Ok(Link::START),
        HeadFile::Missing => {
            return Err(tampered(last.unwrap_or(start.seq), BreakKind::HeadMismatch, "the head file is missing"));
        }
        HeadFile::Invalid => {
            return Err(tampered(
                last.unwrap_or(start.seq),
                BreakKind::HeadMismatch,
                "the head file is malformed or its tag does not verify",
            ));
        }
        HeadFile::Valid(h) => h,
    };
    if h.seq > last.unwrap_or(start.seq) {
        return Err(tampered(
            last.unwrap_or(start.seq) + 1,
            BreakKind::Truncated,
            "the trail ends before the record its head file names",
        ));
    }
    if h.seq < start.seq {
        return Err(tampered(h.seq, BreakKind::AnchorMismatch, "the head file names a record below the anchor"));
    }
    let mac = if h.seq == start.seq {
        Some(start.mac)
    } else {
        conn.query_row("SELECT mac FROM records WHERE seq = ?1", [signed(h.seq)], |r| r.get::<_, String>(0))
            .optional()
            .map_err(db)?
            .and_then(|m| unhex(m.as_bytes()))
    };
    if mac != Some(h.mac) {
        return Err(tampered(h.seq, BreakKind::HeadMismatch, "the head file names another MAC for this record"));
    }
    let mut walker = Walker::new(key, h, Some(h.seq));
    let mut stmt = conn.prepare(&format!("{SELECT_RAW} WHERE seq > ?1 ORDER BY seq")).map_err(db)?;
    let mut rows = stmt.query([signed(h.seq)]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        walker.step(row)?.map_err(AuditError::Tampered)?;
    }
    Ok(walker.link)
}

/// A `u64` bound for SQL; values past `i64::MAX` match nothing stored anyway.
pub(crate) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
