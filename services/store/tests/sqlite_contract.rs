//! The contract suite against the SQLite adapter, and SQLite-specific checks.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use leye_store::{
    EventData, EventStore, ExpectedRevision, SqliteStore, SqliteStoreOptions, StoreError, StreamName, chain::ChainKey,
    contract::Harness, sqlite::SCHEMA_VERSION,
};
use tempfile::TempDir;
use uuid::Uuid;

/// Each store in its own file in one temporary directory.
struct SqliteHarness {
    dir: TempDir,
    files: AtomicUsize,
}

impl SqliteHarness {
    fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("temporary directory"), files: AtomicUsize::new(0) }
    }

    fn next_path(&self) -> PathBuf {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("store-{n}.db"))
    }
}

impl Harness for SqliteHarness {
    type Store = SqliteStore;

    async fn fresh(&self) -> SqliteStore {
        SqliteStore::open(self.next_path(), SqliteStoreOptions::default()).await.expect("open")
    }

    async fn reopen(&self, store: SqliteStore) -> SqliteStore {
        let path = store.path().to_path_buf();
        store.close().await;
        SqliteStore::open(path, SqliteStoreOptions::default()).await.expect("reopen")
    }

    fn chain_key(&self, store: &SqliteStore) -> ChainKey {
        ChainKey::load(store.key_file(), store.chain().algorithm).expect("the store's chain key")
    }
}

leye_store::store_contract_tests!(SqliteHarness::new());

fn stream(name: &str) -> StreamName {
    StreamName::parse(name).expect("valid stream name")
}

fn event() -> EventData {
    EventData {
        event_id: Uuid::new_v4(),
        event_type: "test.event".into(),
        data: b"{}".to_vec(),
        metadata: b"{}".to_vec(),
    }
}

/// Holds the file's write lock from another connection, so that appends queue up
/// behind the writer's `BEGIN IMMEDIATE`, until `release`.
struct WriteLock(rusqlite::Connection);

impl WriteLock {
    fn take(store: &SqliteStore) -> Self {
        let conn = rusqlite::Connection::open(store.path()).expect("open a second connection");
        conn.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
        Self(conn)
    }

    fn release(self) {
        self.0.execute_batch("COMMIT").expect("release the write lock");
    }
}

fn patient() -> SqliteStoreOptions {
    SqliteStoreOptions { busy_timeout: Duration::from_secs(30), ..Default::default() }
}

#[tokio::test]
async fn writer_connection_is_wal_and_synchronous_full() {
    let h = SqliteHarness::new();
    let store = h.fresh().await;
    let pragmas = store.pragmas();
    assert_eq!(pragmas.journal_mode, "wal");
    assert_eq!(pragmas.synchronous, 2, "synchronous=FULL");
    assert!(pragmas.foreign_keys);
    assert_eq!(pragmas.busy_timeout_ms, 5000);
    assert_eq!(pragmas.user_version, SCHEMA_VERSION);

    // WAL is a property of the file: another connection sees it too.
    let other = rusqlite::Connection::open(store.path()).expect("open");
    let mode: String = other.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("pragma");
    assert_eq!(mode, "wal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_in_a_batch_fails_alone() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("s.db"), patient()).await.expect("open");
    let taken = stream("taken");
    store.append(&taken, ExpectedRevision::NoStream, vec![event()]).await.expect("append");

    let lock = WriteLock::take(&store);
    // The writer takes this one alone and waits for the lock with it...
    let plug = tokio::spawn({
        let store = store.clone();
        async move { store.append(&stream("plug"), ExpectedRevision::Any, vec![event()]).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...while these queue up, to be drained as one batch.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let (s, expected) = if i == 3 {
            (taken.clone(), ExpectedRevision::NoStream) // conflicts
        } else {
            (stream(&format!("free-{i}")), ExpectedRevision::NoStream)
        };
        tasks.push(tokio::spawn(async move { store.append(&s, expected, vec![event()]).await }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // all queued behind the lock
    lock.release();

    plug.await.expect("task").expect("plug");
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }
    for (i, r) in results.iter().enumerate() {
        if i == 3 {
            assert!(matches!(r, Err(StoreError::WrongExpectedRevision { .. })), "got {r:?}");
        } else {
            assert!(r.is_ok(), "request {i}: {r:?}");
        }
    }
    // One batch is one transaction with one timestamp.
    let log = store.read_all(None, 100).await.expect("read_all");
    assert_eq!(log.len(), 2 + 7);
    let batch_time = log.last().expect("events").recorded_at;
    assert!(log[2..].iter().all(|e| e.recorded_at == batch_time), "one transaction");
    assert!(store.read_stream(&taken, 0).await.expect("read").len() == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_answers_queued_appends_then_refuses() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("s.db"), patient()).await.expect("open");
    let mut sub = store.subscribe_all(None);

    let lock = WriteLock::take(&store);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let store = store.clone();
        let s = stream(&format!("queued-{i}"));
        tasks.push(tokio::spawn(async move { store.append(&s, ExpectedRevision::Any, vec![event()]).await }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let closing = tokio::spawn(store.clone().close());
    tokio::time::sleep(Duration::from_millis(100)).await;
    lock.release();
    closing.await.expect("close");

    for task in tasks {
        task.await.expect("task").expect("a queued append is answered and committed");
    }
    let r = store.append(&stream("late"), ExpectedRevision::Any, vec![event()]).await;
    assert!(matches!(r, Err(StoreError::Closed)), "got {r:?}");
    // Reads still work, and the subscription delivers everything, then ends.
    assert_eq!(store.read_all(None, 100).await.expect("read_all").len(), 10);
    for _ in 0..10 {
        let next = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("in time");
        assert!(matches!(next, Some(Ok(_))));
    }
    let end = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("in time");
    assert!(end.is_none(), "the subscription ends when the store is closed");
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_writer() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path, SqliteStoreOptions::default()).await.expect("open");
    store.append(&stream("s"), ExpectedRevision::NoStream, vec![event()]).await.expect("append");
    drop(store);
    // The writer is gone: another store can take the file and continue.
    let store = SqliteStore::open(&path, SqliteStoreOptions::default()).await.expect("reopen");
    let r = store.append(&stream("s"), ExpectedRevision::Exact(0), vec![event()]).await;
    assert_eq!(r.expect("append").next_expected_revision, 1);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("future.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("pragma");
    }
    match SqliteStore::open(&path, SqliteStoreOptions::default()).await {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("newer"), "message: {message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_appends_are_seen_by_subscriptions() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("s.db");
    let options = SqliteStoreOptions { poll_interval: Duration::from_millis(50), ..patient() };
    let follower = SqliteStore::open(&path, options.clone()).await.expect("open");
    // Another store on the same file stands in for another process.
    let other = SqliteStore::open(&path, options).await.expect("open");
    let mut sub = follower.subscribe_all(None);
    let r = other.append(&stream("s"), ExpectedRevision::NoStream, vec![event()]).await.expect("append");
    let next = tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("in time");
    assert_eq!(next.expect("event").expect("ok").position, r.position);
}
