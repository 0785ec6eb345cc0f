//! Leader election through PostgreSQL advisory locks: one leader per role at a
//! time among several servers (store handles), and a standby takes over within
//! the configured interval when the leader goes, whether it exits or its
//! session is killed on the server.

use std::time::{Duration, Instant};

use leye_store::{
    postgres::{Leadership, PostgresStore, PostgresStoreOptions},
    test_postgres::TestPostgres,
};

const INTERVAL: Duration = Duration::from_millis(200);

async fn wait_until(what: &str, bound: Duration, cond: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < bound, "{what} not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leader_per_role_and_a_standby_takes_over() {
    let Some(pg) = TestPostgres::start() else { return };
    let keys = tempfile::tempdir().expect("tempdir");
    let options = PostgresStoreOptions::new(keys.path().join("chain.key"));
    let servers = [
        PostgresStore::open(&pg.url(), options.clone()).await.expect("open"),
        PostgresStore::open(&pg.url(), options.clone()).await.expect("open"),
        PostgresStore::open(&pg.url(), options).await.expect("open"),
    ];
    let mut publishers: Vec<Option<Leadership>> =
        servers.iter().map(|s| Some(Leadership::campaign(s, "publisher", INTERVAL))).collect();
    let finders: Vec<Leadership> = servers.iter().map(|s| Leadership::campaign(s, "finder", INTERVAL)).collect();
    let leaders = |ls: &[Option<Leadership>]| ls.iter().flatten().filter(|l| l.is_leader()).count();
    wait_until("a publisher leader", Duration::from_secs(10), || leaders(&publishers) == 1).await;
    wait_until("a finder leader", Duration::from_secs(10), || finders.iter().filter(|l| l.is_leader()).count() == 1)
        .await;
    // Steady: still exactly one after several intervals.
    for _ in 0..20 {
        tokio::time::sleep(INTERVAL / 2).await;
        assert_eq!(leaders(&publishers), 1, "exactly one publisher");
    }

    // The leader exits: a standby takes over within the interval (plus slack).
    let first = publishers.iter().position(|l| l.as_ref().is_some_and(Leadership::is_leader)).expect("leader");
    publishers[first] = None;
    let took = wait_until("a new publisher leader", INTERVAL * 10, || leaders(&publishers) == 1).await;
    println!("fail-over after the leader exited: {took:?} (interval {INTERVAL:?})");

    // The new leader's session is killed on the server (a crashed connection):
    // it steps down and the last standby takes over.
    let second = publishers.iter().position(|l| l.as_ref().is_some_and(Leadership::is_leader)).expect("leader");
    let (client, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let killed = client
        .query_one(
            "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'leye-leader' \
             AND ((l.classid::bigint << 32) | l.objid::bigint) = ($1::bigint)",
            &[&leye_store::postgres::lock_key("leye", "publisher")],
        )
        .await
        .expect("terminate");
    assert_eq!(killed.get::<_, i64>(0), 1, "one session holds the publisher lock");
    let took = wait_until("the killed leader steps down", INTERVAL * 10, || {
        !publishers[second].as_ref().is_some_and(Leadership::is_leader)
    })
    .await;
    println!("the killed leader stepped down after {took:?}");
    wait_until("a leader again", INTERVAL * 15, || leaders(&publishers) == 1).await;
    // The finder's leader was never disturbed by the publisher's changes.
    assert_eq!(finders.iter().filter(|l| l.is_leader()).count(), 1);
}
