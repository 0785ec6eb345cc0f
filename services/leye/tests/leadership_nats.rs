//! Leader election through NATS (the roles of a KurrentDB deployment):
//! leases in a JetStream key-value bucket on a real `nats-server` on a free
//! loopback port (`leye::leadership::lease`).
//!
//! - one leader per role at any moment; a released role is taken within an
//!   interval;
//! - a leader that vanished without releasing (killed) is replaced once its
//!   lease expired, never before;
//! - a leader cut off from NATS steps down before its lease could expire,
//!   and leads again once NATS is back.

mod support;

use std::time::{Duration, Instant};

use leye::leadership::lease::{Lease, NatsLeadership};
use support::NatsServer;

const LEASE: Lease = Lease { interval: Duration::from_millis(200) };

fn url(nats: &NatsServer) -> leye::publisher::NatsUrl {
    nats.url().parse().unwrap()
}

/// Waits until `probe` holds, sampling every 10 ms; the time it took.
async fn until(what: &str, within: Duration, probe: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !probe() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// A campaign for `role` that leads already (within 10 s).
async fn leading(nats: &NatsServer, role: &str) -> NatsLeadership {
    let leader = NatsLeadership::campaign(url(nats), 1, role, LEASE);
    until("the first campaign leads", Duration::from_secs(10), || leader.is_leader()).await;
    leader
}

#[tokio::test]
async fn one_leader_per_role_and_a_released_role_is_taken_within_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let a = leading(&nats, "publisher").await;
    let b = NatsLeadership::campaign(url(&nats), 1, "publisher", LEASE);
    let other_role = NatsLeadership::campaign(url(&nats), 1, "hire-linker", LEASE);
    until("another role has its own leader", Duration::from_secs(10), || other_role.is_leader()).await;
    // Two lease lifetimes of renewals: never two leaders of one role.
    let started = Instant::now();
    while started.elapsed() < LEASE.ttl() * 2 {
        assert!(a.is_leader() && !b.is_leader(), "exactly the first leads while it renews");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(a);
    let took = until("the standby leads once the leader released", LEASE.ttl(), || b.is_leader()).await;
    assert!(took <= LEASE.interval * 3, "released, so taken within about an interval: {took:?}");
}

#[tokio::test]
async fn a_killed_leader_is_replaced_once_its_lease_expired_and_never_before() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let a = leading(&nats, "publisher").await;
    let b = NatsLeadership::campaign(url(&nats), 1, "publisher", LEASE);
    tokio::time::sleep(LEASE.interval * 3).await;
    assert!(!b.is_leader());
    let killed = Instant::now();
    a.abandon(); // no release: the lease has to expire
    until("the standby leads", Duration::from_secs(10), || b.is_leader()).await;
    let took = killed.elapsed();
    // The last renewal was stored at most about an interval before the kill
    // and lives `ttl` (a renewal every interval plus its own time: two intervals of margin).
    assert!(took >= LEASE.ttl() - LEASE.interval * 2, "taken before the lease could expire: {took:?}");
    assert!(took <= LEASE.ttl() + LEASE.interval * 3, "taken too late: {took:?}");
    println!("killed leader replaced after {took:?} (lease {:?})", LEASE.ttl());
}

#[tokio::test]
async fn a_leader_cut_off_from_nats_steps_down_before_its_lease_could_expire() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(dir.path()).await;
    let a = leading(&nats, "publisher").await;
    tokio::time::sleep(LEASE.interval * 2).await;
    let cut = Instant::now();
    nats.kill().await;
    until("the leader steps down", LEASE.ttl() * 2, || !a.is_leader()).await;
    let took = cut.elapsed();
    assert!(took < LEASE.ttl() - LEASE.interval, "stepped down only after {took:?}, lease {:?}", LEASE.ttl());
    println!("cut-off leader stepped down after {took:?} (lease {:?})", LEASE.ttl());
    nats.restart().await;
    until("it leads again once NATS is back", Duration::from_secs(20), || a.is_leader()).await;
}
