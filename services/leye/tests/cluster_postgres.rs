//! Two `leye serve` processes on one PostgreSQL of the test's own and one
//! nats-server of its own: commands to both, the publisher's leader killed
//! (SIGKILL) under command load, and afterwards every acknowledged command's
//! events are in the store once and on NATS once, per case in order.
//!
//! The two servers share the chain, pseudonym and personal-data keys (and the
//! key store: `keys/` is one directory), as a deployment must.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use leye_store::test_postgres::TestPostgres;
use support::{Leye, NatsServer, assert_each_once_in_case_order, jetstream, read_all, run_clients, wait_stream_count};

fn leads_publisher(l: &Leye) -> bool {
    l.log_text().contains("leading the publisher role: publishing")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_one_store_every_event_once_across_a_publisher_leader_kill() {
    let Some(pg) = TestPostgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats")).await;
    let url = pg.url();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let mut a = Leye::start(&a_dir, Some(&nats.url()), &["--store", &url]).await;
    // A case on A first: A has created the keys (and the key store) before B opens them.
    let mut sent = run_clients(a.addr, a.token(), 1, 1, 1000).await;
    // B shares A's keys: the key directory, and the pseudonym key.
    std::fs::create_dir_all(&b_dir).unwrap();
    std::os::unix::fs::symlink(a_dir.join("keys"), b_dir.join("keys")).unwrap();
    let pseudonym = a_dir.join("pseudonym.key");
    let pseudonym = pseudonym.to_str().unwrap();
    let mut b = Leye::start(&b_dir, Some(&nats.url()), &["--store", &url, "--pseudonym-key-file", pseudonym]).await;

    let (from_a, from_b) =
        tokio::join!(run_clients(a.addr, a.token(), 2, 3, 0), run_clients(b.addr, b.token(), 2, 3, 100));
    sent.extend(from_a);
    sent.extend(from_b);
    support::eventually("one publisher leader", Duration::from_secs(30), || {
        let (a, b) = (leads_publisher(&a), leads_publisher(&b));
        async move { (a != b).then_some(()) }
    })
    .await;
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, sent.len() as u64, Duration::from_secs(60)).await;

    // Kill the leader while the other server takes more commands.
    let (leader, survivor) = if leads_publisher(&a) { (&mut a, &mut b) } else { (&mut b, &mut a) };
    let more = tokio::spawn(run_clients(survivor.addr, survivor.token(), 2, 4, 200));
    tokio::time::sleep(Duration::from_millis(300)).await;
    leader.kill9().await;
    sent.extend(more.await.unwrap());
    support::eventually("the survivor leads the publisher", Duration::from_secs(30), || {
        let leads = leads_publisher(survivor);
        async move { leads.then_some(()) }
    })
    .await;
    wait_stream_count(&js, sent.len() as u64, Duration::from_secs(60)).await;
    let received = read_all(&js, sent.len()).await;
    assert_each_once_in_case_order(&received, &sent);

    // The store holds every acknowledged event once.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let row = client.query_one("SELECT count(*), count(DISTINCT event_id) FROM leye.events", &[]).await.unwrap();
    let (events, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((events, distinct), (sent.len() as i64, sent.len() as i64), "each event once in the store");
    // Nothing more arrives on NATS afterwards (no late double from the killed leader).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(support::stream_messages(&js).await, Some(sent.len() as u64));
}
