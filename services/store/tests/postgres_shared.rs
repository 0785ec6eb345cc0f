//! What a shared SQL store must get right beyond the contract suite: several
//! store handles on one database stand for several servers. Each test runs on
//! a PostgreSQL of its own (`leye_store::test_postgres`).

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use leye_store::{
    EventData, EventStore, ExpectedRevision, IntegrityProblem, Position, RecordedEvent, StoreError, StreamName,
    chain::{ChainKey, EventBytes, StoredSeal, Walker},
    headfile::HeadState,
    postgres::{PostgresStore, PostgresStoreOptions},
    test_postgres::TestPostgres,
};
use tokio::task::JoinSet;
use uuid::Uuid;

fn options(key: &Path) -> PostgresStoreOptions {
    PostgresStoreOptions { poll_interval: Duration::from_secs(30), ..PostgresStoreOptions::new(key) }
}

fn stream(name: &str) -> StreamName {
    StreamName::parse(format!("{name}-{}", Uuid::new_v4().simple())).expect("valid")
}

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

async fn two_servers(pg: &TestPostgres, key: &Path) -> (PostgresStore, PostgresStore) {
    let a = PostgresStore::open(&pg.url(), options(key)).await.expect("open a");
    let b = PostgresStore::open(&pg.url(), options(key)).await.expect("open b");
    (a, b)
}

/// Walks the whole chain, checking it against the sealed head.
async fn verify(store: &PostgresStore, key: &ChainKey) -> u64 {
    let head = store.sealed_head().await.expect("sealed head");
    let mut walker = Walker::new(key, head.map(|h| h.seq));
    let mut after = None;
    loop {
        let page = store.read_chain(after, 500).await.expect("read_chain");
        let Some(last) = page.last() else { break };
        after = Some(last.event.position);
        for c in &page {
            walker.step(&EventBytes::from(&c.event), &StoredSeal::from(&c.seal)).expect("the chain verifies");
        }
    }
    walker.finish(head.map_or(HeadState::Missing, HeadState::Valid)).expect("the head matches");
    walker.events()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_on_two_servers_followers_see_the_log_in_commit_order() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("chain.key");
    let (a, b) = two_servers(&pg, &key).await;
    assert_eq!(a.synchronous_commit(), "on");

    // Followers on both servers, from the start, while both write: three on
    // each, as a leader's projector, publisher and hire linker.
    let mut followers = Vec::new();
    for store in [&a, &b] {
        for _ in 0..3 {
            followers.push(store.subscribe_all(None));
        }
    }
    // Pollers reading as fast as they can: every page must continue exactly
    // where the last one ended (a later position visible before an earlier one
    // would show as a jump).
    let done = Arc::new(AtomicBool::new(false));
    let mut pollers = JoinSet::new();
    for store in [a.clone(), b.clone()] {
        let done = Arc::clone(&done);
        pollers.spawn(async move {
            let mut after: Option<Position> = None;
            let mut seen = 0u64;
            loop {
                // Read `done` first: a page read after it holds every append.
                let finished = done.load(Ordering::SeqCst);
                let page = store.read_all(after, 100).await.expect("read_all");
                if finished && page.is_empty() {
                    break;
                }
                for e in page {
                    let want = after.map_or(1, |p| p.commit + 1);
                    assert_eq!(e.position.commit, want, "a follower saw position {} right after {want}-1", e.position);
                    after = Some(e.position);
                    seen += 1;
                }
            }
            seen
        });
    }
    let mut writers = JoinSet::new();
    for w in 0..24 {
        let store = if w % 2 == 0 { a.clone() } else { b.clone() };
        writers.spawn(async move {
            let s = stream(&format!("w{w}"));
            let mut r =
                store.append(&s, ExpectedRevision::NoStream, events(1)).await.expect("first").next_expected_revision;
            for round in 0..33 {
                let n = 1 + round % 5;
                r = store
                    .append(&s, ExpectedRevision::Exact(r), events(n))
                    .await
                    .expect("append")
                    .next_expected_revision;
            }
            r + 1
        });
    }
    let mut total = 0;
    while let Some(n) = writers.join_next().await {
        total += n.expect("writer");
    }
    done.store(true, Ordering::SeqCst);
    let log = a.read_all(None, usize::MAX).await.expect("read_all");
    assert_eq!(log.len() as u64, total);
    assert!(log.iter().enumerate().all(|(i, e)| e.position.commit == i as u64 + 1), "positions 1..=N without a gap");
    assert_eq!(b.read_all(None, usize::MAX).await.expect("read_all"), log, "both servers read one log");
    while let Some(seen) = pollers.join_next().await {
        assert_eq!(seen.expect("poller"), total, "each poller saw every position once");
    }
    for mut sub in followers {
        let mut got: Vec<RecordedEvent> = Vec::new();
        while got.len() < log.len() {
            let next = tokio::time::timeout(Duration::from_secs(20), sub.next()).await.expect("in time");
            got.push(next.expect("open").expect("event"));
        }
        assert_eq!(got, log, "each follower gets the whole log, in order, once");
    }
    let key = ChainKey::load(&key, a.chain().algorithm).expect("key");
    assert_eq!(verify(&a, &key).await, total, "one chain over both servers' appends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_and_conflicts_across_servers() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let (a, b) = two_servers(&pg, &keys.path().join("chain.key")).await;
    let s = stream("case");
    let first = events(3);
    let original = a.append(&s, ExpectedRevision::NoStream, first.clone()).await.expect("append");
    // A client that timed out on server a retries on server b.
    let retry = b.append(&s, ExpectedRevision::NoStream, first.clone()).await.expect("retry");
    assert!(retry.already_written);
    assert_eq!((retry.next_expected_revision, retry.position), (original.next_expected_revision, original.position));
    assert_eq!(a.read_stream(&s, 0).await.expect("read").len(), 3, "written once");
    // The same id in another stream, through the other server.
    let r = b.append(&stream("other"), ExpectedRevision::Any, vec![first[1].clone()]).await;
    assert!(matches!(r, Err(StoreError::DuplicateEventId { event_id }) if event_id == first[1].event_id), "{r:?}");

    // 40 commands on one case from the same revision, half through each server: one wins.
    let mut tasks = JoinSet::new();
    for i in 0..40 {
        let (store, s) = (if i % 2 == 0 { a.clone() } else { b.clone() }, s.clone());
        tasks.spawn(async move { store.append(&s, ExpectedRevision::Exact(2), events(1)).await });
    }
    let (mut won, mut lost) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.expect("task") {
            Ok(_) => won += 1,
            Err(StoreError::WrongExpectedRevision { .. }) => lost += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!((won, lost), (1, 39));
    assert_eq!(b.read_stream(&s, 0).await.expect("read").len(), 4);
    // Identical concurrent retries through both servers: written once.
    let again = events(2);
    let (ra, rb) = tokio::join!(
        a.append(&s, ExpectedRevision::Exact(3), again.clone()),
        b.append(&s, ExpectedRevision::Exact(3), again.clone())
    );
    let (ra, rb) = (ra.expect("a"), rb.expect("b"));
    assert_eq!(ra.position, rb.position);
    assert!(ra.already_written != rb.already_written, "exactly one wrote");
    assert_eq!(a.read_stream(&s, 0).await.expect("read").len(), 6);
}

/// A session on the database of `url`, for what the test looks at or does in SQL.
async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

async fn sql(pg: &TestPostgres, statement: &str) {
    client(&pg.url()).await.batch_execute(statement).await.expect(statement);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_at_open_finds_edits_and_truncation() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("chain.key");
    let store = PostgresStore::open(&pg.url(), options(&key)).await.expect("open");
    let s = stream("grant");
    store.append(&s, ExpectedRevision::NoStream, events(5)).await.expect("append");
    store.close().await;

    // An operator with SQL access raises an amount.
    sql(&pg, "UPDATE leye.events SET data = convert_to('{\"n\":9999}', 'UTF8') WHERE position = 3").await;
    let store = PostgresStore::open(&pg.url(), options(&key)).await.expect("open");
    let problem = store.integrity().expect("found").clone();
    assert_eq!(problem.code, IntegrityProblem::CHAIN_BROKEN);
    assert!(problem.detail.contains("EDITED_PAYLOAD at position 3"), "{}", problem.detail);
    assert!(!problem.detail.contains("9999"), "no contents in the finding");
    let r = store.append(&s, ExpectedRevision::Any, events(1)).await;
    assert!(matches!(r, Err(StoreError::Integrity { code: "CHAIN_BROKEN", .. })), "{r:?}");
    assert_eq!(store.read_stream(&s, 0).await.expect("reads go on").len(), 5);
    store.close().await;

    // The tail deleted: the head row still names position 5.
    sql(&pg, "DELETE FROM leye.events WHERE position >= 3").await;
    let store = PostgresStore::open(&pg.url(), options(&key)).await.expect("open");
    let problem = store.integrity().expect("found");
    assert!(problem.detail.contains("TRUNCATED"), "{}", problem.detail);
    store.close().await;

    // A missing key file is not replaced by a new one for an existing chain,
    // and another key is named as such.
    let other = keys.path().join("other.key");
    let store = PostgresStore::open(&pg.url(), options(&other)).await.expect("open");
    assert_eq!(store.integrity().expect("found").code, IntegrityProblem::CHAIN_KEY);
    assert!(!other.exists(), "no key created for an existing chain");
    store.close().await;
    leye_store::keyfile::SecretKey::load_or_create(&other).expect("key");
    let store = PostgresStore::open(&pg.url(), options(&other)).await.expect("open");
    assert_eq!(store.integrity().expect("found").code, IntegrityProblem::CHAIN_KEY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_and_schemas_are_named_without_the_password() {
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("chain.key");
    let e = PostgresStore::open("postgres://leye:s3cret@127.0.0.1:1/x?port=abc", options(&key)).await.unwrap_err();
    assert!(!e.to_string().contains("s3cret"), "{e}");
    let bad = PostgresStoreOptions { schema: "Robert'); DROP".into(), ..options(&key) };
    let e = PostgresStore::open("postgres://leye@127.0.0.1:1/x", bad).await.unwrap_err();
    assert!(e.to_string().contains("schema"), "{e}");
    // Nothing listens on port 1: a connection error, no password shown.
    let e = PostgresStore::open("postgres://leye:s3cret@127.0.0.1:1/x", options(&key)).await.unwrap_err();
    assert!(e.to_string().contains("cannot connect") && !e.to_string().contains("s3cret"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_costs_the_appends_in_flight_not_the_store() {
    let Some(mut pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let store = PostgresStore::open(&pg.url(), options(&keys.path().join("chain.key"))).await.expect("open");
    let s = stream("restart");
    let r = store.append(&s, ExpectedRevision::NoStream, events(2)).await.expect("append");
    pg.restart();
    // Every connection was cut: the writer and the readers reconnect; an
    // append that met the cut connection fails as a backend error, and its
    // retry (same event ids) is answered as if once.
    let retry = events(1);
    let mut answered = None;
    for _ in 0..20 {
        match store.append(&s, ExpectedRevision::Exact(r.next_expected_revision), retry.clone()).await {
            Ok(done) => {
                answered = Some(done);
                break;
            }
            Err(StoreError::Backend(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    let done = answered.expect("appends work again after the restart");
    assert_eq!(done.next_expected_revision, 2);
    let mut read = None;
    for _ in 0..20 {
        if let Ok(events) = store.read_stream(&s, 0).await {
            read = Some(events);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(read.expect("reads work again").len(), 3, "each event once");
    let key = ChainKey::load(&keys.path().join("chain.key"), store.chain().algorithm).expect("key");
    assert_eq!(verify(&store, &key).await, 3);
}

/// Tuples read by sequential scans of `events`, once the statistics count
/// `inserted` events (a session reports its counts when it ends, or when idle
/// for a while).
async fn events_scanned(pg: &TestPostgres, inserted: i64) -> i64 {
    events_read(pg, inserted).await.0
}

/// The events table's statistics once they count `inserted` events: events
/// read by sequential scans, and index scans.
async fn events_read(pg: &TestPostgres, inserted: i64) -> (i64, i64, i64) {
    let client = client(&pg.url()).await;
    for _ in 0..300 {
        // A new snapshot of the statistics for every look.
        client.batch_execute("SELECT pg_stat_clear_snapshot()").await.expect("clear snapshot");
        let row = client
            .query_one(
                "SELECT n_tup_ins, seq_tup_read, idx_scan, seq_scan FROM pg_stat_user_tables \
                 WHERE schemaname = 'leye' AND relname = 'events'",
                &[],
            )
            .await
            .expect("statistics");
        let (ins, read, scans, seq_scans): (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
        if ins >= inserted {
            return (read, scans, seq_scans);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the statistics never counted {inserted} inserted events");
}

/// The writer's look-ups under the head lock stay index look-ups while the
/// log grows from empty. A prepared statement's plan settles over its first
/// executions: on a new store, with `events` in a page, that plan was a
/// sequential scan, kept as the table grew, so every batch read the whole log
/// under the lock (found by `leye-bench-cluster`: 2.9 ms a batch at 16 000
/// events, a third of the throughput).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_do_not_read_the_whole_log_as_it_grows() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let store = PostgresStore::open(&pg.url(), options(&keys.path().join("chain.key"))).await.expect("open");
    // Small batches, as commands make them: the first on a near-empty table,
    // where PostgreSQL settles a prepared statement's plan (after five
    // executions on each writer connection), then 600 more as it grows.
    // `Any` on a stream the writer does not know: decided from the look-ups.
    for _ in 0..616 {
        store.append(&stream("case"), ExpectedRevision::Any, events(3)).await.expect("append");
    }
    // Closed: its sessions end and report their counts.
    store.close().await;
    let scanned = events_scanned(&pg, 616 * 3).await;
    // While the table is a few pages a sequential scan is the cheaper plan and
    // is chosen (about 40 000 events read in all here); a plan fixed on the
    // near-empty table reads about 570 000, growing with the square of the log.
    assert!(scanned < 100_000, "616 appends growing the log to 1 848 events read {scanned} events by sequential scans");
}

/// A writer decides appends to the streams it remembers without the
/// look-ups, and the database corrects whatever that memory no longer knows:
/// another server's appends, a stream created elsewhere, a retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_revision_that_is_stale_is_corrected_by_the_database() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let key_file = keys.path().join("chain.key");
    let (a, b) = two_servers(&pg, &key_file).await;
    let s = stream("case");
    a.append(&s, ExpectedRevision::NoStream, events(1)).await.expect("created on a"); // a remembers 0
    b.append(&s, ExpectedRevision::Exact(0), events(1)).await.expect("appended on b"); // now 1
    // a still remembers 0: its append collides, and is refused with the database's revision.
    let r = a.append(&s, ExpectedRevision::Exact(0), events(1)).await;
    assert!(
        matches!(r, Err(StoreError::WrongExpectedRevision { current: leye_store::CurrentRevision::Current(1), .. })),
        "{r:?}"
    );
    let ok = a.append(&s, ExpectedRevision::Exact(1), events(1)).await.expect("appended on a");
    assert_eq!(ok.next_expected_revision, 2);
    // A stream a never saw, created on b: a's "create" is refused.
    let t = stream("case");
    b.append(&t, ExpectedRevision::NoStream, events(2)).await.expect("created on b");
    let r = a.append(&t, ExpectedRevision::NoStream, events(1)).await;
    assert!(
        matches!(r, Err(StoreError::WrongExpectedRevision { current: leye_store::CurrentRevision::Current(1), .. })),
        "{r:?}"
    );
    // b writes at revision 3; a (remembering 2) retries the same events from
    // revision 2: both of the batch's unique keys collide, and the retry is
    // answered as written, at b's position.
    let retried = events(1);
    let on_b = b.append(&s, ExpectedRevision::Exact(2), retried.clone()).await.expect("b");
    let on_a = a.append(&s, ExpectedRevision::Exact(2), retried).await.expect("retry on a");
    assert!(on_a.already_written);
    assert_eq!((on_a.next_expected_revision, on_a.position), (3, on_b.position));
    // Nothing was written twice, and the chain holds.
    let history = a.read_stream(&s, 0).await.expect("read");
    assert_eq!(history.iter().map(|e| e.revision).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    let key = ChainKey::load(&key_file, a.chain().algorithm).expect("key");
    assert_eq!(verify(&a, &key).await, 6, "one chain over both servers' appends");
}

/// Appends to streams the writer remembers read nothing under the lock: a
/// case's commands, one after another, cost no index scan of the events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_to_remembered_streams_skip_the_look_ups() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let store = PostgresStore::open(&pg.url(), options(&keys.path().join("chain.key"))).await.expect("open");
    let cases: Vec<StreamName> = (0..20).map(|_| stream("case")).collect();
    for s in &cases {
        store.append(s, ExpectedRevision::NoStream, events(1)).await.expect("create");
    }
    for revision in 0..10 {
        for s in &cases {
            store.append(s, ExpectedRevision::Exact(revision), events(1)).await.expect("append");
        }
    }
    store.close().await;
    let (_, scans, _) = events_read(&pg, 20 * 11).await;
    // Decided from the look-ups, each of these 220 appends would scan the
    // events' indexes twice (its event ids, its stream's revision).
    assert!(scans < 20, "220 appends to remembered streams made {scans} index scans of the events");
}

/// A server's followers (projector, publisher, hire linker, policy finder)
/// subscribe to one store: six caught-up subscriptions and thirty commits
/// read the events once or twice a commit between them, not six times.
#[tokio::test]
async fn subscriptions_of_one_server_read_each_new_page_once_between_them() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let store = PostgresStore::open(&pg.url(), options(&keys.path().join("chain.key"))).await.expect("open");
    let mut subscriptions: Vec<_> = (0..6).map(|_| store.subscribe_all(None)).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, index_before, seq_before) = events_read(&pg, 0).await;
    let mut appended = Vec::new();
    for _ in 0..30 {
        let s = stream("case");
        store.append(&s, ExpectedRevision::NoStream, events(1)).await.expect("append");
        appended.push(s);
        tokio::time::sleep(Duration::from_millis(5)).await; // every follower catches up between commits
    }
    for subscription in &mut subscriptions {
        let mut got = Vec::new();
        while got.len() < 30 {
            let next = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await;
            got.push(next.expect("an event within 10 s").expect("open").expect("read").stream);
        }
        assert_eq!(got, appended, "every event once, in commit order");
    }
    let (_, index, seq) = events_read(&pg, 30).await;
    // Every read, whichever plan PostgreSQL chose for the small table.
    let scans = (index - index_before) + (seq - seq_before);
    store.close().await;
    // Each subscription reading for itself: at least one read per commit
    // each, 180. The shared reader reads once or twice a commit (after the
    // local commit's signal, and again on its NOTIFY when that comes more
    // than 2 ms later), plus each subscription's first read.
    assert!(scans <= 90, "six subscriptions and 30 commits made {scans} scans of the events");
}

/// The collation `events.stream` is compared in, in `client`'s database.
async fn stream_collation(client: &tokio_postgres::Client) -> String {
    let row = client
        .query_one(
            "SELECT c.collname::text FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation \
             WHERE a.attrelid = 'leye.events'::regclass AND a.attname = 'stream'",
            &[],
        )
        .await
        .expect("collation");
    row.get(0)
}

/// In a database whose locale is not C, the `(stream, revision)` key is in
/// byte order: new stores are created so, older ones are brought to it at
/// open, and the key goes on refusing a second event at a revision between
/// servers, found by the index with the callers' (default-collated) names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_names_are_keyed_in_byte_order_whatever_the_database_locale() {
    let Some(pg) = TestPostgres::start() else { return };
    sql(&pg, "CREATE DATABASE localised TEMPLATE template0 LC_COLLATE 'C.utf8' LC_CTYPE 'C.utf8'").await;
    let url = pg.url_for("localised");
    let keys = tempfile::tempdir().expect("tempdir");
    let key = keys.path().join("chain.key");
    let open = || PostgresStore::open(&url, options(&key));
    let (a, b) = (open().await.expect("open a"), open().await.expect("open b"));
    let client = client(&url).await;
    assert_eq!(stream_collation(&client).await, "C", "a new store");

    let s = stream("case");
    a.append(&s, ExpectedRevision::NoStream, events(3)).await.expect("append");
    b.append(&s, ExpectedRevision::Exact(2), events(1)).await.expect("b moves the stream on");
    // a remembers revision 2: its optimistic insert meets the unique key.
    let r = a.append(&s, ExpectedRevision::Exact(2), events(1)).await;
    assert!(matches!(r, Err(StoreError::WrongExpectedRevision { .. })), "{r:?}");
    a.close().await;
    b.close().await;

    // A store created before the rule, in the database's collation.
    client
        .batch_execute("ALTER TABLE leye.events ALTER COLUMN stream SET DATA TYPE text COLLATE \"default\"")
        .await
        .expect("the old collation");
    assert_eq!(stream_collation(&client).await, "default");
    let (a, b) = (open().await.expect("open a"), open().await.expect("open b"));
    assert_eq!(stream_collation(&client).await, "C", "brought to byte order at open");
    assert!(a.integrity().is_none(), "{:?}", a.integrity());
    assert_eq!(a.read_stream(&s, 0).await.expect("read").len(), 4, "every event kept");
    b.append(&s, ExpectedRevision::Exact(3), events(1)).await.expect("append after the rebuild");
    let r = a.append(&s, ExpectedRevision::Exact(3), events(1)).await;
    assert!(matches!(r, Err(StoreError::WrongExpectedRevision { .. })), "{r:?}");

    // A name given in the database's collation still finds the key's index.
    client.batch_execute("SET enable_seqscan = off").await.expect("set");
    let plan = client
        .query("EXPLAIN SELECT position FROM leye.events WHERE stream = $1::text", &[&s.as_str()])
        .await
        .expect("explain");
    let plan: Vec<String> = plan.iter().map(|r| r.get(0)).collect();
    assert!(plan.iter().any(|l| l.contains("events_stream_revision_key")), "{plan:#?}");
}

/// The sessions listening for the log's commits, in the test database.
async fn listening(client: &tokio_postgres::Client) -> i64 {
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN leye_events'",
            &[],
        )
        .await
        .expect("pg_stat_activity");
    row.get(0)
}

/// Waits up to 10 s for `listening` to be `want`.
async fn listening_becomes(client: &tokio_postgres::Client, want: i64) -> i64 {
    let mut now = listening(client).await;
    for _ in 0..200 {
        if now == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = listening(client).await;
    }
    now
}

/// A server listens for other servers' commits only while something of it
/// follows the log: PostgreSQL wakes every listening session at every
/// commit. A subscription makes its server listen, and another server's
/// commits then reach it by notification (the poll is 30 s); once the last
/// subscription is gone the session goes too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_listens_for_commits_only_while_something_follows_the_log() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let (a, b) = two_servers(&pg, &keys.path().join("chain.key")).await;
    let c = client(&pg.url()).await;
    a.append(&stream("case"), ExpectedRevision::NoStream, events(2)).await.expect("append");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(listening(&c).await, 0, "two servers that follow nothing listen");

    let mut followed = b.subscribe_all(None);
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), followed.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("read");
    }
    assert_eq!(listening_becomes(&c, 1).await, 1, "the following server listens");
    let s = stream("case");
    a.append(&s, ExpectedRevision::NoStream, events(1)).await.expect("append");
    let got = tokio::time::timeout(Duration::from_secs(10), followed.next()).await;
    let got = got.expect("another server's commit within 10 s (the poll is 30 s)").expect("open").expect("read");
    assert_eq!(got.stream, s);

    drop(followed);
    // The shared reader notices at its next page that nobody follows.
    a.append(&stream("case"), ExpectedRevision::NoStream, events(1)).await.expect("append");
    assert_eq!(listening_becomes(&c, 0).await, 0, "nothing follows: the session is gone");
    a.close().await;
    b.close().await;
}
