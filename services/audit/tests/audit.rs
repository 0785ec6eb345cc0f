//! The audit trail against real SQLite files in temporary directories.

use std::{
    collections::BTreeSet,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::Duration,
};

use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use leye_audit::{
    AuditError, AuditFilter, AuditLog, AuditOptions, AuditRecord, BreakKind, MIN_RETENTION_DAYS, VerifyReport,
    verify_file,
};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use uuid::Uuid;

struct Trail {
    dir: tempfile::TempDir,
}

impl Trail {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir") }
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join("audit.sqlite")
    }
    fn key(&self) -> PathBuf {
        self.dir.path().join("audit.key")
    }
    fn head(&self) -> PathBuf {
        self.dir.path().join("audit.sqlite.head")
    }
    fn open(&self) -> AuditLog {
        self.open_with(AuditOptions::default()).expect("open")
    }
    /// Opened with the query keys caught up whenever they lag by `n` records.
    fn open_indexing_every(&self, n: u64) -> AuditLog {
        self.open_with(AuditOptions { index_every: n, ..AuditOptions::default() }).expect("open")
    }
    /// The query keys' mark: the last record whose keys are in their tables.
    fn index_mark(&self) -> u64 {
        let conn = Connection::open(self.path()).expect("connection");
        conn.query_row("SELECT upto FROM indexed", [], |r| r.get::<_, i64>(0)).expect("mark") as u64
    }
    fn open_with(&self, options: AuditOptions) -> Result<AuditLog, AuditError> {
        AuditLog::open(&self.path(), &self.key(), options)
    }
    fn verify(&self) -> VerifyReport {
        verify_file(&self.path(), &self.key()).expect("verify")
    }
    /// A writable connection as an attacker would use it: triggers dropped.
    fn attacker(&self) -> Connection {
        let conn = Connection::open(self.path()).expect("attacker connection");
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS records_no_update; DROP TRIGGER IF EXISTS records_no_delete; \
             DROP TRIGGER IF EXISTS record_cases_no_update; DROP TRIGGER IF EXISTS record_cases_no_delete; \
             DROP TRIGGER IF EXISTS anchor_no_update; DROP TRIGGER IF EXISTS anchor_no_delete; \
             DROP TRIGGER IF EXISTS by_principal_no_delete; DROP TRIGGER IF EXISTS by_operation_no_delete;",
        )
        .expect("drop triggers");
        conn
    }
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).single().expect("valid time")
}

fn case(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}

fn record(i: usize) -> AuditRecord {
    AuditRecord {
        time: base() + chrono::Duration::minutes(i64::try_from(i).expect("small")),
        principal: format!("staff-{}", i % 4),
        authn: "bearer:https://idp.example".into(),
        peer: format!("127.0.0.1:{}", 40000 + i),
        operation: if i % 3 == 0 {
            "leye.person.v1.PersonCaseService/GetCase".into()
        } else {
            "leye.person.v1.PersonCaseService/ListCases".into()
        },
        case_ids: vec![case(u8::try_from(i % 5).expect("small")), case(200)],
        outcome: if i % 7 == 0 { "PERMISSION_DENIED".into() } else { "OK".into() },
        reason: if i % 7 == 0 { "ROLE_MISSING".into() } else { String::new() },
    }
}

/// Writes records `0..n` one after the other and closes the log.
async fn write_sequential(trail: &Trail, n: usize) {
    write_indexing_every(trail, n, leye_audit::INDEX_EVERY).await;
}

/// Writes records `0..n` one after the other, the query keys caught up
/// whenever they lag by `every`, and closes the log.
async fn write_indexing_every(trail: &Trail, n: usize, every: u64) {
    let log = trail.open_indexing_every(every);
    for i in 0..n {
        log.record(record(i)).await.expect("record");
    }
    log.close().await;
}

fn assert_ok(report: &VerifyReport) {
    assert!(report.broken.is_none(), "chain broken: {:?}", report.broken);
}

fn broken_at(report: &VerifyReport) -> (u64, BreakKind) {
    let b = report.broken.as_ref().expect("a break");
    (b.seq, b.what)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_records_get_contiguous_seqs_and_the_chain_continues_after_reopening() {
    let trail = Trail::new();
    let log = trail.open();
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.record(record(i)).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.expect("task").expect("record"));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=300).collect::<Vec<_>>());
    let report = log.verify().expect("verify");
    assert_ok(&report);
    assert_eq!((report.records, report.first_seq, report.last_seq), (300, Some(1), Some(300)));
    log.close().await;
    assert!(matches!(log.record(record(0)).await, Err(AuditError::Closed)));

    for (file, what) in [(trail.path(), "trail"), (trail.key(), "key"), (trail.head(), "head")] {
        let mode = std::fs::metadata(&file).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{what} file mode");
    }
    assert_eq!(std::fs::metadata(trail.key()).expect("stat").len(), 32);

    let log = trail.open();
    for i in 0..20 {
        assert_eq!(log.record(record(i)).await.expect("record"), 301 + i as u64);
    }
    log.close().await;
    let report = trail.verify();
    assert_ok(&report);
    assert_eq!((report.records, report.last_seq), (320, Some(320)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_verifier_can_recompute_every_mac_from_the_documented_encoding() {
    let trail = Trail::new();
    write_sequential(&trail, 10).await;
    let key = std::fs::read(trail.key()).expect("key");
    let conn = Connection::open(trail.path()).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT seq, time, principal, authn, peer, operation, case_ids, outcome, reason, prev, mac \
             FROM records ORDER BY seq",
        )
        .expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    let mut prev = "0".repeat(64);
    let mut last = String::new();
    while let Some(row) = rows.next().expect("row") {
        let s = |i: usize| row.get::<_, String>(i).expect("text");
        let str_field = |out: &mut Vec<u8>, v: &[u8]| {
            out.extend_from_slice(&u32::try_from(v.len()).expect("short").to_be_bytes());
            out.extend_from_slice(v);
        };
        let mut msg = hex_decode(&s(9));
        str_field(&mut msg, b"leye.audit.record.v1");
        msg.extend_from_slice(&row.get::<_, i64>(0).expect("seq").to_be_bytes());
        msg.extend_from_slice(&row.get::<_, i64>(1).expect("time").to_be_bytes());
        for i in [2, 3, 4, 5] {
            str_field(&mut msg, s(i).as_bytes());
        }
        let cases: Vec<u8> = row.get(6).expect("cases");
        msg.extend_from_slice(&u32::try_from(cases.len() / 16).expect("few").to_be_bytes());
        msg.extend_from_slice(&cases);
        for i in [7, 8] {
            str_field(&mut msg, s(i).as_bytes());
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("hmac");
        mac.update(&msg);
        assert_eq!(hex_encode(&mac.finalize().into_bytes()), s(10));
        assert_eq!(s(9), prev);
        prev = s(10);
        last = s(10);
    }
    let head = std::fs::read(trail.head()).expect("head");
    assert_eq!(head.len(), 4096 + 256);
    for slot in [&head[..256], &head[4096..]] {
        let slot = String::from_utf8(slot.to_vec()).expect("text");
        assert!(slot.starts_with(&format!("leye-audit-head v1\nseq=10\nmac={last}\ntag=")), "{slot}");
    }
    assert_eq!(trail.verify().head_hash, last);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_field_is_named_by_seq() {
    let trail = Trail::new();
    write_sequential(&trail, 20).await;
    let before: Vec<String> = trail
        .attacker()
        .prepare("SELECT mac FROM records ORDER BY seq")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("macs");
    assert_eq!(before.len(), 20);
    trail.attacker().execute("UPDATE records SET principal = 'someone-else' WHERE seq = 7", []).expect("edit");
    assert_eq!(broken_at(&trail.verify()), (7, BreakKind::Edited));
    // Open checks only the head and what follows it, so an edit further back
    // does not stop the server; the full check still names it.
    let log = trail.open();
    assert_eq!(broken_at(&log.verify().expect("verify")), (7, BreakKind::Edited));
    log.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_triggers_refuse_updates_and_deletes() {
    let trail = Trail::new();
    write_indexing_every(&trail, 3, 1).await;
    let conn = Connection::open(trail.path()).expect("open");
    let update = conn.execute("UPDATE records SET outcome = 'OK' WHERE seq = 1", []);
    assert!(update.expect_err("update refused").to_string().contains("cannot be changed"));
    let delete = conn.execute("DELETE FROM records WHERE seq = 3", []);
    assert!(delete.expect_err("delete refused").to_string().contains("cannot be deleted"));
    let delete = conn.execute("DELETE FROM record_cases", []);
    assert!(delete.is_err());
    assert_ok(&trail.verify());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_middle_record_is_a_gap() {
    let trail = Trail::new();
    write_sequential(&trail, 20).await;
    let conn = trail.attacker();
    conn.execute("DELETE FROM records WHERE seq = 7", []).expect("delete");
    conn.execute("DELETE FROM record_cases WHERE seq = 7", []).expect("delete");
    assert_eq!(broken_at(&trail.verify()), (7, BreakKind::Deleted));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_newest_record_is_a_truncation_and_the_trail_is_not_reopened() {
    let trail = Trail::new();
    write_sequential(&trail, 20).await;
    let conn = trail.attacker();
    conn.execute("DELETE FROM records WHERE seq = 20", []).expect("delete");
    conn.execute("DELETE FROM record_cases WHERE seq = 20", []).expect("delete");
    let report = trail.verify();
    assert_eq!(broken_at(&report), (20, BreakKind::Truncated));
    assert_eq!(report.last_seq, Some(19));
    // Appending now would hide the truncation behind a new head: refused.
    match trail.open_with(AuditOptions::default()) {
        Err(AuditError::Tampered(b)) => assert_eq!(b.what, BreakKind::Truncated),
        other => panic!("expected Tampered, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_forged_head_file_is_reported() {
    let trail = Trail::new();
    write_sequential(&trail, 5).await;
    let head = String::from_utf8(std::fs::read(trail.head()).expect("head")).expect("text");
    // Both slots point at seq 4, with the tag of seq 5: the tag fails.
    std::fs::write(trail.head(), head.replace("seq=5", "seq=4")).expect("forge");
    assert_eq!(broken_at(&trail.verify()).1, BreakKind::HeadMismatch);
    // One slot torn (as by a crash mid-write): the other still names seq 5.
    let mut torn = head.clone().into_bytes();
    torn[..256].fill(0);
    std::fs::write(trail.head(), &torn).expect("tear");
    assert_ok(&trail.verify());
    let mut torn = head.into_bytes();
    torn[4096..].fill(b'x');
    std::fs::write(trail.head(), &torn).expect("tear");
    assert_ok(&trail.verify());
    std::fs::remove_file(trail.head()).expect("remove");
    assert_eq!(broken_at(&trail.verify()).1, BreakKind::HeadMismatch);
    assert!(matches!(trail.open_with(AuditOptions::default()), Err(AuditError::Tampered(_))));
}

/// The attacker edits a record and rebuilds the chain from there with plain
/// SHA-256 (no key), updating the head file's mac too: the MAC still fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_recomputed_without_the_key_is_still_detected() {
    let trail = Trail::new();
    write_sequential(&trail, 12).await;
    let conn = trail.attacker();
    conn.execute("UPDATE records SET outcome = 'OK', reason = '' WHERE seq = 7", []).expect("edit");
    let mut prev: String = conn.query_row("SELECT mac FROM records WHERE seq = 6", [], |r| r.get(0)).expect("mac 6");
    for seq in 7..=12 {
        let body: String = conn
            .query_row(
                "SELECT time || principal || authn || peer || operation || hex(case_ids) || outcome || reason \
                 FROM records WHERE seq = ?1",
                [seq],
                |r| r.get(0),
            )
            .expect("row");
        let mac = hex_encode(&Sha256::digest(format!("{prev}{seq}{body}").as_bytes()));
        conn.execute("UPDATE records SET prev = ?1, mac = ?2 WHERE seq = ?3", params![prev, mac, seq]).expect("re-mac");
        prev = mac;
    }
    let head = String::from_utf8(std::fs::read(trail.head()).expect("head")).expect("text");
    let old_mac: String = head.lines().find_map(|l| l.strip_prefix("mac=")).expect("mac line").into();
    let forged = head.replace(&old_mac, &prev);
    std::fs::write(trail.head(), forged).expect("forge head");
    assert_eq!(broken_at(&trail.verify()), (7, BreakKind::Edited));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_index_and_forged_appends_are_checked() {
    let trail = Trail::new();
    write_indexing_every(&trail, 10, 8).await;
    assert_eq!(trail.index_mark(), 8, "records 9 and 10 are past the keys");
    let conn = trail.attacker();
    conn.execute("INSERT INTO record_cases (seq, case_id) VALUES (9, ?1)", [case(7).as_bytes().as_slice()])
        .expect("a case key past the mark");
    assert_eq!(broken_at(&trail.verify()), (9, BreakKind::Inserted));
    conn.execute("DELETE FROM record_cases WHERE seq = 9", []).expect("undo");
    assert_ok(&trail.verify());
    conn.execute("DELETE FROM record_cases WHERE seq = 4 AND case_id = ?1", [case(3).as_bytes().as_slice()])
        .expect("hide a case");
    assert_eq!(broken_at(&trail.verify()), (4, BreakKind::Edited));
    conn.execute("INSERT INTO record_cases (seq, case_id) VALUES (4, ?1)", [case(3).as_bytes().as_slice()])
        .expect("restore");
    assert_ok(&trail.verify());

    let mac: String = conn.query_row("SELECT mac FROM records WHERE seq = 10", [], |r| r.get(0)).expect("mac");
    conn.execute(
        "INSERT INTO records (seq, time, principal, authn, peer, operation, case_ids, outcome, reason, prev, mac) \
         VALUES (11, 0, 'x', 'none', '', 'op', x'', 'OK', '', ?1, ?2)",
        params![mac, "ab".repeat(32)],
    )
    .expect("forge");
    assert_eq!(broken_at(&trail.verify()), (11, BreakKind::Inserted));
    assert!(matches!(trail.open_with(AuditOptions::default()), Err(AuditError::Tampered(_))));
}

/// Every filter finds every match once, whether the query keys hold all the
/// records (caught up after each), some (every 7: up to 98 of 100) or none
/// (the default lag of 1024): the records past the mark are read directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_filter_and_page_through_every_match_once_whatever_the_keys_hold() {
    for (every, mark) in [(1, 100), (7, 98), (leye_audit::INDEX_EVERY, 0)] {
        let trail = Trail::new();
        write_indexing_every(&trail, 100, every).await;
        assert_eq!(trail.index_mark(), mark, "keys caught up every {every}");
        queries_find_every_match_once(&trail.open()).await;
    }
}

async fn queries_find_every_match_once(log: &AuditLog) {
    let all: Vec<(u64, AuditRecord)> = (0..100).map(|i| (i as u64 + 1, record(i))).collect();
    let expect = |pred: &dyn Fn(&AuditRecord) -> bool| -> Vec<u64> {
        all.iter().filter(|(_, r)| pred(r)).map(|(s, _)| *s).collect()
    };
    let run = |filter: &AuditFilter, limit: u32| -> Vec<u64> {
        let mut seqs = Vec::new();
        let mut after = 0;
        loop {
            let page = log.query(filter, after, limit).expect("query");
            assert!(page.entries.len() <= limit as usize);
            for e in &page.entries {
                assert_eq!(e.record, all[(e.seq - 1) as usize].1, "round trip of {}", e.seq);
                seqs.push(e.seq);
            }
            match page.next_after {
                Some(next) => after = next,
                None => return seqs,
            }
        }
    };

    let by_principal = AuditFilter { principal: Some("staff-2".into()), ..AuditFilter::default() };
    assert_eq!(run(&by_principal, 7), expect(&|r| r.principal == "staff-2"));
    let by_case = AuditFilter { case_id: Some(case(3)), ..AuditFilter::default() };
    assert_eq!(run(&by_case, 4), expect(&|r| r.case_ids.contains(&case(3))));
    let shared_case = AuditFilter { case_id: Some(case(200)), ..AuditFilter::default() };
    assert_eq!(run(&shared_case, 1000), (1..=100).collect::<Vec<_>>());
    let op = "leye.person.v1.PersonCaseService/GetCase";
    let by_operation = AuditFilter { operation: Some(op.into()), ..AuditFilter::default() };
    assert_eq!(run(&by_operation, 5), expect(&|r| r.operation == op));
    let (from, to) = (base() + chrono::Duration::minutes(10), base() + chrono::Duration::minutes(35));
    let by_time = AuditFilter { from: Some(from), to: Some(to), ..AuditFilter::default() };
    assert_eq!(run(&by_time, 6), expect(&|r| r.time >= from && r.time < to));
    assert_eq!(run(&by_time, 6).len(), 25);
    let combined = AuditFilter {
        principal: Some("staff-1".into()),
        case_id: Some(case(1)),
        from: Some(from),
        ..AuditFilter::default()
    };
    assert_eq!(
        run(&combined, 2),
        expect(&|r| r.principal == "staff-1" && r.case_ids.contains(&case(1)) && r.time >= from)
    );
    let every = run(&AuditFilter::default(), 9);
    assert_eq!(every.iter().copied().collect::<BTreeSet<_>>().len(), 100);
    assert_eq!(every, (1..=100).collect::<Vec<_>>());
    let nobody = AuditFilter { principal: Some("nobody".into()), ..AuditFilter::default() };
    assert_eq!(log.query(&nobody, 0, 10).expect("query").entries, vec![]);

    for limit in [0, 1001] {
        assert!(matches!(log.query(&AuditFilter::default(), 0, limit), Err(AuditError::InvalidQuery(_))));
    }
    log.close().await;
}

/// The query keys are checked against the records up to their mark: a key
/// row removed (which would hide a record from filtered queries), a row for
/// no record, and a mark moved past the keys are each a break.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_keys_are_checked_against_the_records() {
    let trail = Trail::new();
    write_indexing_every(&trail, 10, 4).await;
    assert_eq!(trail.index_mark(), 8);
    assert_ok(&trail.verify());
    let conn = trail.attacker();
    let hidden = AuditFilter { principal: Some("staff-2".into()), ..AuditFilter::default() };
    conn.execute("DELETE FROM by_principal WHERE seq = 3", []).expect("hide record 3 from its principal");
    assert_eq!(broken_at(&trail.verify()), (3, BreakKind::Edited));
    let seqs = |log: &AuditLog| -> Vec<u64> {
        log.query(&hidden, 0, 100).expect("query").entries.iter().map(|e| e.seq).collect()
    };
    assert_eq!(seqs(&trail.open()), vec![7], "what the keys hide, filtered queries miss: verify is the check");
    conn.execute("INSERT INTO by_principal (principal, seq) VALUES ('staff-2', 3)", []).expect("restore");
    assert_ok(&trail.verify());

    conn.execute("INSERT INTO by_operation (operation, seq) VALUES ('x', 5)", []).expect("forge a key");
    assert_eq!(broken_at(&trail.verify()), (5, BreakKind::Inserted));
    conn.execute("DELETE FROM by_operation WHERE operation = 'x'", []).expect("undo");
    assert_ok(&trail.verify());

    conn.execute("UPDATE indexed SET upto = 9", []).expect("move the mark past the keys");
    assert_eq!(broken_at(&trail.verify()), (9, BreakKind::Edited));
    assert_eq!(seqs(&trail.open()), vec![3, 7]);
    let conn = Connection::open(trail.path()).expect("connection");
    assert!(conn.execute("UPDATE indexed SET upto = 1", []).is_err(), "the mark only moves forward");
    assert!(conn.execute("DELETE FROM by_time", []).is_err(), "keys are deleted only by pruning");
}

/// A trail written by the previous schema (version 1: the keys as indexes of
/// `records`) is migrated at open: its keys are filled, its queries and its
/// chain check the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_trail_gets_its_query_keys_at_open() {
    let trail = Trail::new();
    // Version 1 wrote every record's case keys with it: caught up after each.
    write_indexing_every(&trail, 100, 1).await;
    let conn = trail.attacker();
    conn.execute_batch(
        "DROP TABLE by_principal; DROP TABLE by_operation; DROP TABLE by_time; DROP TABLE indexed; \
         CREATE INDEX records_principal ON records (principal); \
         CREATE INDEX records_operation ON records (operation); CREATE INDEX records_time ON records (time); \
         PRAGMA user_version = 1;",
    )
    .expect("make it a version 1 trail");
    drop(conn);
    assert_ok(&trail.verify()); // `leye audit verify` before the first open by this build
    let log = trail.open();
    assert_eq!(trail.index_mark(), 100);
    let conn = Connection::open(trail.path()).expect("connection");
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
    let old: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'records_%' AND type = 'index'", [], |r| {
            r.get(0)
        })
        .expect("indexes");
    assert_eq!((version, old), (2, 0));
    assert_ok(&log.verify().expect("verify"));
    queries_find_every_match_once(&log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_below_six_months_is_refused() {
    let trail = Trail::new();
    let options = AuditOptions { retention_days: MIN_RETENTION_DAYS - 1, ..AuditOptions::default() };
    assert!(matches!(trail.open_with(options), Err(AuditError::Config(_))));
    assert!(!trail.path().exists(), "nothing created for a refused configuration");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_removes_only_old_records_and_keeps_the_chain_verifiable() {
    let trail = Trail::new();
    let now = base();
    let at = |days: i64, i: usize| AuditRecord { time: now - chrono::Duration::days(days), ..record(i) };
    // Keys caught up every 4 records: the pruned records' keys must go too.
    let log = trail.open_indexing_every(4);
    for i in 0..10 {
        log.record(at(400, i)).await.expect("record"); // seq 1..=10: past retention
    }
    for i in 10..20 {
        log.record(at(184, i)).await.expect("record"); // seq 11..=20: past retention
    }
    for i in 20..30 {
        log.record(at(182, i)).await.expect("record"); // seq 21..=30: kept
    }
    log.record(at(300, 30)).await.expect("record"); // seq 31: old, but after young ones: kept
    for i in 31..35 {
        log.record(at(1, i)).await.expect("record"); // seq 32..=35
    }

    assert_eq!(log.prune(now).await.expect("prune"), 20);
    let report = log.verify().expect("verify");
    assert_ok(&report);
    assert_eq!((report.records, report.first_seq, report.last_seq), (15, Some(21), Some(35)));
    let page = log.query(&AuditFilter::default(), 0, 1000).expect("query");
    assert_eq!(page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (21..=35).collect::<Vec<_>>());
    let case_page = log.query(&AuditFilter { case_id: Some(case(200)), ..AuditFilter::default() }, 0, 1000);
    assert_eq!(case_page.expect("query").entries.len(), 15, "the case index is pruned too");
    assert_eq!(log.prune(now).await.expect("prune again"), 0);

    for i in 0..5 {
        assert_eq!(log.record(at(0, i)).await.expect("record"), 36 + i as u64);
    }
    assert_ok(&log.verify().expect("verify"));
    log.close().await;

    let log = trail.open();
    log.record(at(0, 0)).await.expect("record after reopening");
    // 100 days later the cutoff is 83 days back: seq 21..=31 go, 32..=41 stay.
    assert_eq!(log.prune(now + chrono::Duration::days(100)).await.expect("prune"), 11);
    let report = log.verify().expect("verify");
    assert_ok(&report);
    assert_eq!((report.records, report.first_seq, report.last_seq), (10, Some(32), Some(41)));
    log.close().await;
    assert_ok(&trail.verify());

    // Pruning everything leaves only the anchor, and the chain continues from it.
    let log = trail.open();
    assert_eq!(log.prune(now + chrono::Duration::days(900)).await.expect("prune"), 10);
    let report = log.verify().expect("verify");
    assert_ok(&report);
    assert_eq!((report.records, report.first_seq), (0, None));
    assert_eq!(log.record(at(0, 0)).await.expect("record"), 42);
    assert_ok(&log.verify().expect("verify"));
    log.close().await;

    // A forged anchor (pointing further on, to hide records) is caught.
    let conn = trail.attacker();
    conn.execute("UPDATE anchor SET seq = seq + 1", []).expect("forge");
    assert_eq!(broken_at(&trail.verify()).1, BreakKind::AnchorMismatch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_refuses_to_erase_a_tampered_part() {
    let trail = Trail::new();
    let old = AuditRecord { time: base() - chrono::Duration::days(400), ..record(0) };
    let log = trail.open();
    for _ in 0..5 {
        log.record(old.clone()).await.expect("record");
    }
    log.close().await;
    trail.attacker().execute("UPDATE records SET principal = 'x' WHERE seq = 3", []).expect("edit");
    let log = trail.open();
    match log.prune(base()).await {
        Err(AuditError::Tampered(b)) => assert_eq!((b.seq, b.what), (3, BreakKind::Edited)),
        other => panic!("expected Tampered, got {other:?}"),
    }
    assert_eq!(log.verify().expect("verify").records, 5);
    log.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_failure_is_an_error_and_the_chain_recovers() {
    let trail = Trail::new();
    let options = AuditOptions { busy_timeout: Duration::from_millis(100), ..AuditOptions::default() };
    let log = trail.open_with(options).expect("open");
    log.record(record(0)).await.expect("record");

    // Another process holds the write lock: the batch cannot commit.
    let blocker = Connection::open(trail.path()).expect("open");
    blocker.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let failed = tokio::time::timeout(Duration::from_secs(10), log.record(record(1))).await.expect("no hang");
    assert!(matches!(failed, Err(AuditError::Storage(_))), "{failed:?}");
    blocker.execute_batch("ROLLBACK").expect("unlock");

    assert_eq!(log.record(record(2)).await.expect("record"), 2);
    assert_ok(&log.verify().expect("verify"));
    log.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_directory_is_an_error_not_a_hang() {
    let trail = Trail::new();
    let log = trail.open();
    log.record(record(0)).await.expect("record");
    std::fs::remove_dir_all(trail.dir.path()).expect("remove");
    let failed = tokio::time::timeout(Duration::from_secs(10), log.record(record(1))).await.expect("no hang");
    assert!(failed.is_err(), "{failed:?}");
    log.close().await;
}

/// The head file is written after a batch's answers: when that write fails,
/// the next batch is refused with nothing committed, and the trail goes on
/// once the head file can be written again, with the head at its last record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_file_that_cannot_be_written_refuses_the_next_batch_until_it_can() {
    let trail = Trail::new();
    let log = trail.open();
    let before = std::fs::read(trail.head()).unwrap_or_default();
    assert_eq!(log.record(record(0)).await.expect("record"), 1);
    // The head follows the answers: wait until it covers record 1, so that
    // the failure below is record 2's head write, not this one's.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let head_bytes = loop {
        let now = std::fs::read(trail.head()).unwrap_or_default();
        if now != before {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "the head file never moved to record 1");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    };
    // The head file cannot be opened for writing: a directory in its place.
    std::fs::remove_file(trail.head()).expect("remove");
    std::fs::create_dir(trail.head()).expect("a directory in its place");
    // Committed in the trail, which is still at its path: answered. Its head
    // write, on the head file's thread, fails.
    let mut answered = log.record(record(1)).await.expect("committed and answered");
    assert_eq!(answered, 2);
    // Once that failure is known, the next batch is refused and writes nothing
    // (the batches before it may still commit: the head lags by them).
    let refused = loop {
        match log.record(record(2)).await {
            Ok(seq) => answered = seq,
            Err(e) => break e,
        }
        assert!(std::time::Instant::now() < deadline, "a batch after the failed head write is refused");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    };
    assert!(matches!(refused, AuditError::Head { .. }), "{refused:?}");
    let committed: i64 =
        Connection::open(trail.path()).unwrap().query_row("SELECT count(*) FROM records", [], |r| r.get(0)).unwrap();
    assert_eq!(committed as u64, answered, "the refused batch committed nothing");
    // The head file back (as it was after the first record): the next batch
    // first brings it to the last record, then commits.
    std::fs::remove_dir(trail.head()).expect("remove the directory");
    std::fs::write(trail.head(), &head_bytes).expect("restore");
    assert_eq!(log.record(record(3)).await.expect("record"), answered + 1);
    log.close().await;
    assert_ok(&trail.verify());
    let reopened = trail.open();
    assert_eq!(reopened.record(record(4)).await.expect("the head covers every record"), answered + 2);
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loose_or_short_key_file_is_refused() {
    let trail = Trail::new();
    std::fs::write(trail.key(), [7u8; 16]).expect("short key");
    std::fs::set_permissions(trail.key(), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(matches!(trail.open_with(AuditOptions::default()), Err(AuditError::Key { .. })));
    std::fs::write(trail.key(), [7u8; 32]).expect("key");
    std::fs::set_permissions(trail.key(), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(matches!(trail.open_with(AuditOptions::default()), Err(AuditError::Key { .. })));
    assert!(matches!(verify_file(&trail.path(), Path::new("/nonexistent/key")), Err(AuditError::Key { .. })));
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}
