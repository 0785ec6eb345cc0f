//! `leye store copy`'s guarantees at the store level: the copy is ONE
//! transaction under the target's head lock (an appender waits for it and
//! continues the copied log), a refused copy leaves the target as it was, and
//! a read-only open creates nothing.

use std::time::Duration;

use leye_store::{
    AnyStore, AnyStoreOptions, EventData, EventStore, ExpectedRevision, SqliteStore, SqliteStoreOptions, StoreLocator,
    StreamName,
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
            data: format!(r#"{{"n":{i}}}"#).into_bytes(),
            metadata: b"{}".to_vec(),
        })
        .collect()
}

async fn source(dir: &std::path::Path, n: usize) -> (SqliteStore, ChainKey, SqliteStoreOptions) {
    let key_file = dir.join("keys/chain.key");
    let options = SqliteStoreOptions { key_file: Some(key_file.clone()), ..Default::default() };
    let store = SqliteStore::open(dir.join("events.sqlite"), options.clone()).await.expect("open");
    for i in 0..n {
        let s = StreamName::parse(format!("person-{}", i % 5)).expect("valid");
        store.append(&s, ExpectedRevision::Any, events(1)).await.expect("append");
    }
    let key = ChainKey::load(&key_file, store.chain().algorithm).expect("key");
    (store, key, options)
}

async fn count(url: &str, schema: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    client.query_one(&format!("SELECT count(*) FROM {schema}.events"), &[]).await.map(|r| r.get(0)).unwrap_or(-1)
}

/// An appender on the target during the copy waits for the copy's commit,
/// then continues the copied log: never a mix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appender_on_the_target_waits_for_the_copy_and_continues_it() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, key, _) = source(dir.path(), 40).await;
    let key_file = dir.path().join("keys/chain.key");
    let target = PostgresStore::open(&pg.url(), PostgresStoreOptions::new(&key_file)).await.expect("open");
    let server = PostgresStore::open(&pg.url(), PostgresStoreOptions::new(&key_file)).await.expect("open");

    let mut import = target.begin_import().await.expect("begin");
    let log = src.read_chain(None, usize::MAX).await.expect("read");
    import.write(&log[..20]).await.expect("first pages");
    // The server's append now waits on the head lock.
    let s = StreamName::parse("other-1").expect("valid");
    let appending = tokio::spawn({
        let server = server.clone();
        async move { server.append(&s, ExpectedRevision::Any, events(1)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!appending.is_finished(), "the append waits for the copy");
    assert_eq!(count(&pg.url(), "leye").await, 0, "nothing visible before the commit");
    import.write(&log[20..]).await.expect("the rest");
    let end = log.last().map(|c| leye_store::headfile::Link { seq: c.event.position.commit, hash: c.seal.hash });
    import.commit(end.expect("events"), 40, 7).await.expect("commit");
    let appended = appending.await.expect("task").expect("append after the copy");
    assert_eq!(appended.position.commit, 41, "the append continues the copied log");
    let walked = walk(&target, &key, 9).await.expect("walk");
    assert_eq!((walked.broken, walked.events), (None, 41));
    src.close().await;
}

/// A copy refused for any reason leaves the target as it was: a source broken
/// past the first pages, a target that holds events when the copy locks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_copy_leaves_the_target_as_it_was() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (src, key, sqlite_options) = source(dir.path(), 60).await;
    src.close().await;
    let key_file = dir.path().join("keys/chain.key");
    let conn = rusqlite::Connection::open(dir.path().join("events.sqlite")).expect("sqlite");
    conn.execute("UPDATE events SET data = x'7b7d' WHERE position = 45", []).expect("tamper");
    drop(conn);
    let src = SqliteStore::open(dir.path().join("events.sqlite"), sqlite_options).await.expect("open");
    let target = PostgresStore::open(&pg.url(), PostgresStoreOptions::new(&key_file)).await.expect("open");
    let e = copy_into_postgres(&src, &target, &key, 10, |_| {}).await.expect_err("broken source").to_string();
    assert!(e.contains("the source's chain is broken") && e.contains("EDITED_PAYLOAD at position 45"), "{e}");
    assert!(e.contains("nothing was written to the target"), "{e}");
    assert_eq!(count(&pg.url(), "leye").await, 0);
    assert_eq!(target.sealed_head().await.expect("head"), None);

    // A target holding events: refused, unchanged.
    let s = StreamName::parse("other-1").expect("valid");
    target.append(&s, ExpectedRevision::Any, events(2)).await.expect("append");
    let dir2 = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir2.path().join("keys")).expect("keys");
    std::fs::copy(&key_file, dir2.path().join("keys/chain.key")).expect("same key");
    let (good, _, _) = source(dir2.path(), 5).await;
    let e = copy_into_postgres(&good, &target, &key, 10, |_| {}).await.expect_err("not empty").to_string();
    assert!(e.contains("already holds events (up to position 2)"), "{e}");
    assert_eq!(count(&pg.url(), "leye").await, 2);
    good.close().await;
    src.close().await;
}

/// A read-only open (verify, replay, a copy's source) of a database without
/// a store, or of a store without its key, creates nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_of_an_existing_store_creates_nothing() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys");
    let options = AnyStoreOptions::new(keys.join("chain.key"));
    let locator: StoreLocator = pg.url().parse().expect("locator");
    let e = AnyStore::open_existing(&locator, &options).await.expect_err("no store").to_string();
    assert!(e.contains("no leye store there") && e.contains("nothing was created"), "{e}");
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    let schemas: i64 =
        client.query_one("SELECT count(*) FROM pg_namespace WHERE nspname = 'leye'", &[]).await.expect("query").get(0);
    assert_eq!(schemas, 0);
    assert!(!keys.exists(), "no key directory");
    // A schema without the tables.
    client.batch_execute("CREATE SCHEMA leye").await.expect("schema");
    let e = AnyStore::open_existing(&locator, &options).await.expect_err("no tables").to_string();
    assert!(e.contains("is not a leye store"), "{e}");
    client.batch_execute("DROP SCHEMA leye").await.expect("drop");
    // A store, opened with a missing key: opens (reads only), no key made.
    let other = tempfile::tempdir().expect("tempdir");
    let created = AnyStore::open(&locator, &AnyStoreOptions::new(other.path().join("chain.key"))).await.expect("new");
    created.close().await;
    let opened = AnyStore::open_existing(&locator, &options).await.expect("existing store");
    assert_eq!(opened.integrity().map(|p| p.code), Some("CHAIN_KEY"));
    opened.close().await;
    assert!(!keys.exists(), "no key directory");
    // SQLite: no file made.
    let sqlite = StoreLocator::Sqlite(dir.path().join("events.sqlite"));
    assert!(AnyStore::open_existing(&sqlite, &options).await.is_err());
    assert!(!dir.path().join("events.sqlite").exists());
}
