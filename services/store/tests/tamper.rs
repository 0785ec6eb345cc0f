//! Tampering with a real store file, as someone with write access to the
//! database but not to the key would (rusqlite, i.e. the sqlite3 semantics):
//! `verify_file` names each break with its position, and a store opened on the
//! file refuses appends while still answering reads.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use leye_store::{
    EventData, EventStore, ExpectedRevision, IntegrityProblem, SqliteStore, SqliteStoreOptions, StoreError, StreamName,
    chain::{BreakKind, ChainAlgorithm, ChainKey},
    headfile,
    sqlite::{SCHEMA_VERSION, VerifyOptions, verify_file},
};
use rusqlite::{Connection, params};
use sha2::Digest;
use tempfile::TempDir;
use uuid::Uuid;

const EVENTS: u64 = 30;

/// A closed store of `EVENTS` events over three streams, in a temporary directory.
async fn written(options: SqliteStoreOptions) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite");
    let store = SqliteStore::open(&path, options).await.unwrap();
    for i in 0..EVENTS {
        let s = StreamName::parse(format!("person-{}", i % 3)).unwrap();
        let e = EventData {
            event_id: Uuid::new_v4(),
            event_type: "person.subsidy_granted".into(),
            data: format!(r#"{{"amount_fen":50000,"n":{i},"pad":"{}"}}"#, "x".repeat(400)).into_bytes(),
            metadata: format!(r#"{{"actor":"chief-0007","n":{i}}}"#).into_bytes(),
        };
        store.append(&s, ExpectedRevision::Any, vec![e]).await.unwrap();
    }
    store.close().await;
    (dir, path)
}

fn key_file(path: &Path) -> PathBuf {
    path.parent().unwrap().join("keys/chain.key")
}

fn check(path: &Path) -> leye_store::chain::ChainReport {
    verify_file(path, &key_file(path), VerifyOptions::default()).unwrap().report
}

fn tamper(path: &Path, sql: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn broken_at(path: &Path) -> (BreakKind, u64) {
    let report = check(path);
    let b = report.broken.clone().unwrap_or_else(|| panic!("the tampering was not found: {report:?}"));
    assert!(!b.detail.contains("chief-0007") && !b.detail.contains("50000"), "no contents in {b}");
    (b.kind, b.position)
}

/// Opens the tampered file as the server would: reads answer, appends are refused.
async fn refused_on_open(path: &Path, code: &str) {
    let options = SqliteStoreOptions { quick_check: true, ..Default::default() };
    let store = SqliteStore::open(path, options).await.unwrap();
    let problem = store.integrity().cloned().expect("the check at open finds it");
    assert_eq!(problem.code, code, "{problem:?}");
    let s = StreamName::parse("person-0").unwrap();
    let e =
        EventData { event_id: Uuid::new_v4(), event_type: "t".into(), data: b"{}".to_vec(), metadata: b"{}".to_vec() };
    match store.append(&s, ExpectedRevision::Any, vec![e]).await {
        Err(StoreError::Integrity { code: c, .. }) => assert_eq!(c, code),
        other => panic!("expected an integrity refusal, got {other:?}"),
    }
    store.close().await;
}

#[tokio::test]
async fn an_intact_store_verifies_with_its_head_and_0600_files() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    let report = check(&path);
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.events, report.end.seq, report.head.map(|h| h.seq)), (EVENTS, EVENTS, Some(EVENTS)));
    assert_eq!(report.algorithm, ChainAlgorithm::Sha256);
    for f in [path.clone(), headfile::head_path(&path), key_file(&path)] {
        assert_eq!(fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
    }
    assert_eq!(fs::metadata(key_file(&path).parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    let store = SqliteStore::open(&path, SqliteStoreOptions { quick_check: true, ..Default::default() }).await.unwrap();
    assert_eq!(store.integrity(), None);
    store.close().await;
}

#[tokio::test]
async fn an_edited_payload_is_named_with_its_position() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    tamper(
        &path,
        "UPDATE events SET data = CAST(replace(CAST(data AS TEXT), '50000', '5000000') AS BLOB) WHERE position = 12",
    );
    assert_eq!(broken_at(&path), (BreakKind::EditedPayload, 12));
    refused_on_open(&path, IntegrityProblem::CHAIN_BROKEN).await;
}

#[tokio::test]
async fn edited_metadata_is_named_even_far_from_the_tail() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    tamper(
        &path,
        "UPDATE events SET metadata = CAST(replace(CAST(metadata AS TEXT), 'chief-0007', 'chief-0008') AS BLOB) WHERE position = 3",
    );
    assert_eq!(broken_at(&path), (BreakKind::EditedMetadata, 3));
    // The check at open covers the tail only (here: all 30 events).
    refused_on_open(&path, IntegrityProblem::CHAIN_BROKEN).await;
}

#[tokio::test]
async fn a_payload_edited_with_its_hash_recomputed_without_the_key_is_forged() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    // The attacker knows the (public) hash construction but not the key: the
    // best they can do is a consistent hash with a MAC that does not verify.
    let conn = Connection::open(&path).unwrap();
    let fake: Vec<u8> = sha2::Sha256::digest(b"anything").to_vec();
    conn.execute("UPDATE events SET chain_hash = ?1, chain_mac = ?1 WHERE position = 7", params![fake]).unwrap();
    drop(conn);
    assert_eq!(broken_at(&path), (BreakKind::Forged, 7));
}

#[tokio::test]
async fn a_deleted_event_is_named() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    tamper(&path, "DELETE FROM events WHERE position = 20");
    assert_eq!(broken_at(&path), (BreakKind::Deleted, 20));
    refused_on_open(&path, IntegrityProblem::CHAIN_BROKEN).await;
}

#[tokio::test]
async fn an_inserted_event_is_named() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    tamper(
        &path,
        "INSERT INTO events (stream, revision, event_id, event_type, data, metadata, recorded_at, chain_prev, \
         chain_hash, chain_mac, chain_check) SELECT stream, revision + 1, randomblob(16), event_type, data, metadata, \
         recorded_at, chain_hash, randomblob(32), randomblob(32), chain_check FROM events WHERE position = 30",
    );
    assert_eq!(broken_at(&path), (BreakKind::Inserted, 31));
    refused_on_open(&path, IntegrityProblem::CHAIN_BROKEN).await;
}

#[tokio::test]
async fn swapped_events_are_named() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    tamper(
        &path,
        "UPDATE events SET position = -1 WHERE position = 15; UPDATE events SET position = 15 WHERE position = 16; \
         UPDATE events SET position = 16 WHERE position = -1;",
    );
    assert_eq!(broken_at(&path), (BreakKind::Reordered, 15));
    refused_on_open(&path, IntegrityProblem::CHAIN_BROKEN).await;
}

#[tokio::test]
async fn a_truncated_tail_is_named_against_the_head_file() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    tamper(&path, "DELETE FROM events WHERE position > 26");
    assert_eq!(broken_at(&path), (BreakKind::Truncated, 27));
    refused_on_open(&path, IntegrityProblem::CHAIN_BROKEN).await;
    // Opening did not move the head over the truncation: it is still found.
    assert_eq!(broken_at(&path), (BreakKind::Truncated, 27));
}

#[tokio::test]
async fn a_missing_or_forged_head_file_is_named() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    let head = headfile::head_path(&path);
    let mut bytes = fs::read(&head).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap().replace("seq=30", "seq=29");
    bytes.copy_from_slice(text.as_bytes());
    fs::write(&head, &bytes).unwrap();
    assert_eq!(broken_at(&path), (BreakKind::BadHead, 30));
    fs::remove_file(&head).unwrap();
    assert_eq!(broken_at(&path), (BreakKind::BadHead, 30));
    refused_on_open(&path, IntegrityProblem::CHAIN_BROKEN).await;
}

/// Through the port (`copy::walk`, which `leye store copy` runs over its
/// source): a head file still at the chain's start while events follow it
/// only lags (the head thread had not written yet, as right after a store's
/// first appends); a missing head file is a break.
#[tokio::test]
async fn through_the_port_a_head_still_at_the_start_lags_and_a_missing_one_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite");
    let store = SqliteStore::open(&path, SqliteStoreOptions::default()).await.unwrap();
    let head = headfile::head_path(&path);
    let at_start = fs::read(&head).unwrap();
    for i in 0..5 {
        let s = StreamName::parse(format!("person-{i}")).unwrap();
        let e = EventData {
            event_id: Uuid::new_v4(),
            event_type: "t".into(),
            data: b"{}".to_vec(),
            metadata: b"{}".to_vec(),
        };
        store.append(&s, ExpectedRevision::NoStream, vec![e]).await.unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.sealed_head().await.unwrap().map(|h| h.seq) != Some(5) {
        assert!(std::time::Instant::now() < deadline, "the head thread writes the last link");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let key = ChainKey::load(&key_file(&path), store.chain().algorithm).unwrap();
    fs::write(&head, &at_start).unwrap();
    let walked = leye_store::copy::walk(&store, &key, 2).await.unwrap();
    assert_eq!((walked.events, walked.broken), (5, None), "a head at the start lags");
    fs::remove_file(&head).unwrap();
    let walked = leye_store::copy::walk(&store, &key, 2).await.unwrap();
    let broken = walked.broken.expect("a missing head file is found");
    assert_eq!((broken.kind, broken.position), (BreakKind::BadHead, 5), "{broken}");
    store.close().await;
}

#[tokio::test]
async fn an_overwritten_page_is_found() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    let mut bytes = fs::read(&path).unwrap();
    let pages = bytes.len() / 4096;
    assert!(pages >= 6, "{pages} pages");
    let page = pages / 2;
    bytes[page * 4096..(page + 1) * 4096].fill(0x5a);
    fs::write(&path, &bytes).unwrap();
    let report = check(&path);
    let b = report.broken.expect("an overwritten page is found");
    assert!(b.position >= 1 && b.position <= EVENTS, "{b}");
    let store = SqliteStore::open(&path, SqliteStoreOptions { quick_check: true, ..Default::default() }).await;
    // Either the open itself fails on the damaged file, or it refuses appends.
    if let Ok(store) = store {
        let code = store.integrity().map(|p| p.code);
        assert!(matches!(code, Some(IntegrityProblem::STORE_CORRUPT | IntegrityProblem::CHAIN_BROKEN)), "{code:?}");
        store.close().await;
    }
}

#[tokio::test]
async fn another_key_is_refused_and_named() {
    let (_dir, path) = written(SqliteStoreOptions::default()).await;
    let key = key_file(&path);
    fs::remove_file(&key).unwrap();
    assert_eq!(broken_at(&path).0, BreakKind::WrongKey);
    refused_on_open(&path, IntegrityProblem::CHAIN_KEY).await;
    // The store did not create a new key for an existing chain.
    assert!(!key.exists());
    fs::write(&key, [7u8; 32]).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(broken_at(&path).0, BreakKind::WrongKey);
    refused_on_open(&path, IntegrityProblem::CHAIN_KEY).await;
}

#[tokio::test]
async fn an_sm3_chain_verifies_and_keeps_its_algorithm() {
    let sm3 = SqliteStoreOptions { algorithm: Some(ChainAlgorithm::Sm3), ..Default::default() };
    let (_dir, path) = written(sm3).await;
    let report = check(&path);
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.algorithm, ChainAlgorithm::Sm3);
    let sha = SqliteStoreOptions { algorithm: Some(ChainAlgorithm::Sha256), ..Default::default() };
    let e = SqliteStore::open(&path, sha).await.unwrap_err();
    assert!(e.to_string().contains("uses sm3"), "{e}");
    tamper(
        &path,
        "UPDATE events SET data = CAST(replace(CAST(data AS TEXT), '50000', '5000000') AS BLOB) WHERE position = 30",
    );
    assert_eq!(broken_at(&path), (BreakKind::EditedPayload, 30));
}

/// `tests/fixtures/schema1.sqlite` was written by leye before the chain
/// (commit 3103468, `leye generate --people 6 --seed 3`, WAL checkpointed).
#[tokio::test]
async fn a_schema_1_file_is_sealed_on_first_open_one_way() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.sqlite");
    fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema1.sqlite"), &path).unwrap();
    let before: Vec<(i64, Vec<u8>)> = {
        let conn = Connection::open(&path).unwrap();
        assert_eq!(conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0)).unwrap(), 1);
        let e = verify_file(&path, &key_file(&path), VerifyOptions::default()).unwrap_err();
        assert!(e.to_string().contains("no chain yet"), "{e}");
        let mut stmt = conn.prepare("SELECT position, data FROM events ORDER BY position").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(before.len(), 93);
    let store = SqliteStore::open(&path, SqliteStoreOptions::default()).await.unwrap();
    assert_eq!(store.integrity(), None);
    assert_eq!(store.pragmas().user_version, SCHEMA_VERSION);
    assert_eq!(store.chain().migrated_through, Some(93));
    let read = store.read_all(None, usize::MAX).await.unwrap();
    assert_eq!(read.iter().map(|e| (e.position.commit as i64, e.data.clone())).collect::<Vec<_>>(), before);
    let s = StreamName::parse("person-new").unwrap();
    let e =
        EventData { event_id: Uuid::new_v4(), event_type: "t".into(), data: b"{}".to_vec(), metadata: b"{}".to_vec() };
    assert_eq!(store.append(&s, ExpectedRevision::NoStream, vec![e]).await.unwrap().position.commit, 94);
    store.close().await;
    let report = check(&path);
    assert!(report.is_intact(), "{report:?}");
    assert_eq!((report.events, report.migrated_through), (94, Some(93)));
    // Reopening does not migrate again, and the key is the one created then.
    let key = ChainKey::load(&key_file(&path), ChainAlgorithm::Sha256).unwrap();
    let store = SqliteStore::open(&path, SqliteStoreOptions::default()).await.unwrap();
    assert_eq!(store.chain().key_id, key.id());
    store.close().await;
    tamper(&path, "UPDATE events SET data = x'00' WHERE position = 40");
    assert_eq!(broken_at(&path), (BreakKind::EditedPayload, 40));
}

/// The benchmark-only unsealed mode writes, but such a store never verifies
/// and a normal open refuses its appends: it cannot pass for a sealed one.
#[tokio::test]
async fn an_unsealed_benchmark_store_never_passes_for_a_sealed_one() {
    let unsealed = SqliteStoreOptions { unsealed_for_benchmarks: true, ..Default::default() };
    let (_dir, path) = written(unsealed).await;
    // Its head file still names position 0: the first event is past it, unsealed.
    assert_eq!(broken_at(&path), (BreakKind::Inserted, 1));
    refused_on_open(&path, IntegrityProblem::CHAIN_BROKEN).await;
}
