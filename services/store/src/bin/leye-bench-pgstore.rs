//! Appends/s of the PostgreSQL event store with 1, 2 and 3 store handles
//! (servers) on one database, beside the raw insert rate of the same
//! PostgreSQL measured in the same run, at two concurrencies.
//!
//! ```text
//! cargo run --release -p leye-store --bin leye-bench-pgstore -- [--appends N] [--writers W] [--url postgres://…]
//! ```
//! Without `--url` it starts a PostgreSQL of its own (`test_postgres`), with
//! `fsync` and `synchronous_commit` on.
//!
//! - raw: C connections, each committing single-row INSERTs of the same size
//!   into a plain table (no chain, no checks): what the server commits per
//!   second when every commit waits for its WAL flush (PostgreSQL already
//!   flushes concurrent commits together).
//! - store: the same C callers spread over S `PostgresStore` handles, each
//!   appending one event per call to its own stream (`ExpectedRevision::Exact`),
//!   through group commit under the `log_head` lock, every event sealed.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use leye_store::{
    EventData, EventStore, ExpectedRevision, StreamName,
    postgres::{Leadership, PostgresStore, PostgresStoreOptions},
    test_postgres::TestPostgres,
};
use tokio::task::JoinSet;
use tokio_postgres::NoTls;
use uuid::Uuid;

const PAYLOAD: usize = 400;

fn event() -> EventData {
    EventData {
        event_id: Uuid::new_v4(),
        event_type: "person.training_completed".into(),
        data: vec![b'x'; PAYLOAD],
        metadata: br#"{"correlation_id":"00000000-0000-0000-0000-000000000000"}"#.to_vec(),
    }
}

async fn raw(url: &str, clients: usize, total: usize) -> anyhow::Result<f64> {
    let (setup, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(conn);
    setup
        .batch_execute(
            "DROP TABLE IF EXISTS raw_bench; CREATE TABLE raw_bench (id bigserial PRIMARY KEY, \
             event_id bytea UNIQUE, data bytea, metadata bytea)",
        )
        .await?;
    let per = total / clients;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..clients {
        let url = url.to_owned();
        tasks.spawn(async move {
            let (client, conn) = tokio_postgres::connect(&url, NoTls).await?;
            tokio::spawn(conn);
            client.batch_execute("SET synchronous_commit TO on").await?;
            let insert = client.prepare("INSERT INTO raw_bench (event_id, data, metadata) VALUES ($1, $2, $3)").await?;
            for _ in 0..per {
                let e = event();
                client.execute(&insert, &[&e.event_id.as_bytes().as_slice(), &e.data, &e.metadata]).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok((per * clients) as f64 / started.elapsed().as_secs_f64())
}

async fn store(
    url: &str,
    key: &Path,
    schema: &str,
    (servers, writers): (usize, usize),
    callers: usize,
    total: usize,
) -> anyhow::Result<f64> {
    let mut stores = Vec::new();
    for _ in 0..servers {
        let options = PostgresStoreOptions {
            schema: schema.into(),
            writer_connections: writers,
            ..PostgresStoreOptions::new(key)
        };
        stores.push(PostgresStore::open(url, options).await?);
    }
    let per = total / callers;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for c in 0..callers {
        let store = stores[c % servers].clone();
        tasks.spawn(async move {
            let s = StreamName::parse(format!("person-{}", Uuid::new_v4().simple()))?;
            let mut expected = ExpectedRevision::NoStream;
            for _ in 0..per {
                let r = store.append(&s, expected, vec![event()]).await?;
                expected = ExpectedRevision::Exact(r.next_expected_revision);
            }
            anyhow::Ok(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    let rate = (per * callers) as f64 / started.elapsed().as_secs_f64();
    for s in stores {
        s.close().await;
    }
    Ok(rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let total: usize = arg("--appends").map_or(Ok(6000), |s| s.parse())?;
    let default_writers = PostgresStoreOptions::new("unused").writer_connections;
    let writers: usize = arg("--writers").map_or(Ok(default_writers), |s| s.parse())?;
    let given = arg("--url");
    let own = match given {
        Some(_) => None,
        None => Some(TestPostgres::start().ok_or_else(|| anyhow::anyhow!("no PostgreSQL installed"))?),
    };
    let url = match (&given, &own) {
        (Some(url), _) => url.clone(),
        (None, Some(pg)) => pg.url(),
        (None, None) => anyhow::bail!("no PostgreSQL"),
    };
    let keys = tempfile::tempdir()?;
    let key = keys.path().join("chain.key");
    println!(
        "PostgreSQL event store, appends/s: {total} appends of 1 event ({PAYLOAD} B) per run, each caller its own \
         stream; {writers} writer connection(s) per server; fsync and synchronous_commit on"
    );
    println!(
        "{:>8} {:>11} {:>10} {:>10} {:>10} {:>9}",
        "callers", "raw ins/s", "1 server", "2 servers", "3 servers", "best/raw"
    );
    let mut run = 0;
    for callers in [16usize, 96] {
        let raw_rate = raw(&url, callers, total).await?;
        let mut rates = Vec::new();
        for servers in 1..=3 {
            run += 1;
            rates.push(
                store(&url, &key, &format!("bench{}_{run}", std::process::id()), (servers, writers), callers, total)
                    .await?,
            );
        }
        let best = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "{callers:>8} {raw_rate:>11.0} {:>10.0} {:>10.0} {:>10.0} {:>9.2}",
            rates[0],
            rates[1],
            rates[2],
            best / raw_rate
        );
        println!(
            "{:>8} {:>11} {:>10.2} {:>10.2} {:>10.2}   (of raw)",
            "",
            "",
            rates[0] / raw_rate,
            rates[1] / raw_rate,
            rates[2] / raw_rate
        );
    }
    // Fail-over: three servers campaign for one role; the leader exits; how
    // long until a standby leads.
    println!("fail-over (leader exits, a standby leads), 5 times each:");
    let options =
        PostgresStoreOptions { schema: format!("failover{}", std::process::id()), ..PostgresStoreOptions::new(&key) };
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(PostgresStore::open(&url, options.clone()).await?);
    }
    for interval in [Duration::from_millis(250), Duration::from_secs(1)] {
        let mut times = Vec::new();
        for run in 0..5u32 {
            let mut campaigns: Vec<Option<Leadership>> =
                servers.iter().map(|s| Some(Leadership::campaign(s, "publisher", interval))).collect();
            let leader = loop {
                if let Some(i) = campaigns.iter().position(|c| c.as_ref().is_some_and(Leadership::is_leader)) {
                    break i;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            };
            // The standbys poll in step with the leader's start: drop it at
            // five phases of their interval (0, 1/5, … 4/5 after a poll).
            tokio::time::sleep(interval * 2 + interval * run / 5 + Duration::from_millis(20)).await;
            let started = Instant::now();
            campaigns[leader] = None;
            while !campaigns.iter().flatten().any(Leadership::is_leader) {
                anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "no fail-over within 30 s");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let max = times.iter().copied().fold(0.0, f64::max);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "  interval {:>5} ms: mean {mean:.0} ms, max {max:.0} ms (bound: the interval plus a connection)",
            interval.as_millis()
        );
    }
    Ok(())
}
