//! Moving a SQLite store into PostgreSQL: the log arrives whole, with the same
//! positions, times and seals, and its chain verifies there; a broken source
//! stops the copy.

use leye_store::{
    EventData, EventStore, ExpectedRevision, SqliteStore, SqliteStoreOptions, StreamName,
    chain::ChainKey,
    copy::{copy_into_postgres, walk},
    postgres::{PostgresStore, PostgresStoreOptions},
    test_postgres::TestPostgres,
};
use uuid::Uuid;

fn events(n: usize) -> Vec<EventData> {
    (0..n)
        .map(|i| EventData {
            event_id: Uuid::new_v4(),
            event_type: "test.event".into(),
            data: format!(r#"{{"n":{i},"text":"就业"}}"#).into_bytes(),
            metadata: b"{}".to_vec(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_log_arrives_whole_and_verifies() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key_file = dir.path().join("keys/chain.key");
    let sqlite_options = SqliteStoreOptions { key_file: Some(key_file.clone()), ..Default::default() };
    let source = SqliteStore::open(dir.path().join("events.sqlite"), sqlite_options.clone()).await.expect("open");
    for i in 0..60 {
        let s = StreamName::parse(format!("person-{}", i % 7)).expect("valid");
        source.append(&s, ExpectedRevision::Any, events(1 + i % 4)).await.expect("append");
    }
    let log = source.read_all(None, usize::MAX).await.expect("read");
    let key = ChainKey::load(&key_file, source.chain().algorithm).expect("key");

    let target = PostgresStore::open(&pg.url(), PostgresStoreOptions::new(&key_file)).await.expect("open");
    let mut progress = Vec::new();
    let copied = copy_into_postgres(&source, &target, &key, 37, |n| progress.push(n)).await.expect("copy");
    assert_eq!(copied.events, log.len() as u64);
    assert_eq!(progress.last().copied(), Some(log.len() as u64));
    assert!(progress.len() > 1, "in several transactions: {progress:?}");
    assert_eq!(target.read_all(None, usize::MAX).await.expect("read"), log, "the same events at the same places");
    assert_eq!(
        target.read_chain(None, usize::MAX).await.expect("chain"),
        source.read_chain(None, usize::MAX).await.expect("chain"),
        "the same seals"
    );
    let walked = walk(&target, &key, 50).await.expect("walk");
    assert_eq!((walked.broken, walked.end), (None, copied.end));
    // The copied store takes appends, continuing the chain.
    let s = StreamName::parse("person-0").expect("valid");
    let r = target.append(&s, ExpectedRevision::Any, events(2)).await.expect("append");
    assert_eq!(r.position.commit, copied.end.seq + 2);
    assert!(walk(&target, &key, 50).await.expect("walk").broken.is_none());
    // A second copy into a store that holds events is refused.
    let again = copy_into_postgres(&source, &target, &key, 37, |_| {}).await;
    assert!(again.unwrap_err().to_string().contains("already holds events"));
    source.close().await;

    // An edited source: the copy stops at the break, naming it.
    let conn = rusqlite::Connection::open(dir.path().join("events.sqlite")).expect("sqlite");
    conn.execute("UPDATE events SET data = x'7b7d' WHERE position = 50", []).expect("tamper");
    drop(conn);
    let source = SqliteStore::open(dir.path().join("events.sqlite"), sqlite_options).await.expect("open");
    let other = PostgresStore::open(
        &pg.url(),
        PostgresStoreOptions { schema: "other".into(), ..PostgresStoreOptions::new(&key_file) },
    )
    .await
    .expect("open");
    let e = copy_into_postgres(&source, &other, &key, 20, |_| {}).await.unwrap_err().to_string();
    assert!(e.contains("EDITED_PAYLOAD at position 50"), "{e}");
    let copied = other.head().await.expect("head").map_or(0, |p| p.commit);
    assert!(copied < 50, "nothing past the break: {copied}");
}
