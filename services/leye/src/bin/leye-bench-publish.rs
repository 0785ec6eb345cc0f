//! `leye-bench-publish`: how fast does the publisher move a backlog from the
//! store onto JetStream, and how close is that to what JetStream takes at all?
//!
//! # What it does
//! 1. **Pre-fill**: a fresh `SqliteStore` in a temporary directory gets
//!    `--events` events through the real command path (`PersonCases::execute`,
//!    64 concurrent tasks): per person a registration, a contact, a job
//!    recommendation and a placement, so payloads have the sizes and the mix
//!    the service writes.
//! 2. Starts its own `nats-server -js` on a free loopback port (found like the
//!    tests find it: `NATS_SERVER`, the `PATH`, `/usr/sbin/nats-server`), on a
//!    temporary store directory.
//! 3. **Publisher**: runs leye's publisher (the same code as `leye serve`,
//!    `--in-flight` publishes pending) from position 0 until JetStream has
//!    acknowledged the head: store reads, decoding, protobuf encoding,
//!    publishing, in-order acks, checkpoint writes.
//! 4. **Raw JetStream**: the same messages (subjects, headers, payloads, built
//!    beforehand and held in memory) published with plain async-nats to a
//!    second stream with the same settings, with the same pipelining depth and
//!    in-order ack handling. This is JetStream's own limit on this machine.
//! 5. Prints events/s of both and the ratio publisher / raw.
//!
//! Loopback only; stops by itself (every phase has a deadline); removes its
//! temporary directories.
//!
//! # How to run
//! ```text
//! cargo run --release -p leye --bin leye-bench-publish -- [--events 100000] [--in-flight 256] [--tmp-dir DIR]
//! ```

use std::{
    collections::BTreeSet,
    future::IntoFuture,
    path::PathBuf,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Parser;
use futures::{StreamExt, stream::FuturesOrdered};
use leye::{
    access::Access,
    cases::{CommandMeta, PersonCases, Target},
    identity::CaseIds,
    publisher::{self, PublisherConfig, message, stream::StreamSettings},
};
use leye_domain::{
    beijing_date,
    person::{
        self as domain, ContactChannel, ContactOutcome, DatedCommand, Education, Hukou, HukouNature, PersonCommand,
        PlacementKind,
    },
    values::{CountyCode, PersonName, Residence, ResidentId},
};
use leye_store::{EventStore, SqliteStore};
use tonic_health::server::HealthReporter;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "leye-bench-publish", version, about)]
struct Args {
    /// Events to pre-fill and publish (rounded down to a multiple of 4).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(4..=10_000_000))]
    events: u64,
    /// Publishes awaiting their ack at once, for both runs.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    in_flight: u64,
    /// Parent directory of the temporary store and NATS directories.
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
}

/// Every phase must finish within this.
const DEADLINE: Duration = Duration::from_secs(15 * 60);

fn main() -> ExitCode {
    let args = Args::parse();
    leye::bench::main(async { run(args).await.map(|()| true) })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let tmp = match &args.tmp_dir {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .context("temporary directory")?;
    let cases = args.events / 4;
    let in_flight = usize::try_from(args.in_flight)?;
    println!("leye-bench-publish: {} events ({cases} persons × 4), {in_flight} publishes in flight", cases * 4);
    println!("temporary directory: {}", tmp.path().display());

    // 1. Pre-fill.
    let store = SqliteStore::open(&tmp.path().join("events.sqlite"), Default::default()).await?;
    let started = Instant::now();
    tokio::time::timeout(DEADLINE, prefill(store.clone(), cases)).await.context("pre-fill deadline")??;
    let head = store.head().await?.context("the store is empty after the pre-fill")?;
    let prefill_secs = started.elapsed().as_secs_f64();
    println!(
        "pre-fill: {} events through the command path in {prefill_secs:.1} s ({:.0} events/s)",
        head.commit,
        head.commit as f64 / prefill_secs
    );

    // 2. nats-server.
    let leye::bench::nats::Server { child: mut nats, url, bin } = leye::bench::nats::start(&tmp.path().join("nats"))?;
    let client = connect(&url).await?;
    println!(
        "nats-server {} ({}) on {url}, file storage in the temporary directory",
        client.server_info().version,
        bin.display()
    );

    // 3. The publisher, from position 0 to the head.
    let config = PublisherConfig {
        nats_url: Some(url.parse().map_err(|e: String| anyhow::anyhow!(e))?),
        stream: StreamSettings::default(),
        max_in_flight: in_flight,
        ack_timeout: Duration::from_secs(10),
        max_lag: Duration::from_secs(30),
        checkpoint_file: tmp.path().join("publisher.checkpoint"),
        personal_data: false,
        opener: None,
        leader: None,
    };
    let started = Instant::now();
    let (handle, status) = publisher::start(store.clone(), config, HealthReporter::new())?;
    let waited = tokio::time::timeout(DEADLINE, async {
        while status.acked() != Some(head) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let publisher_secs = started.elapsed().as_secs_f64();
    handle.stop().await;
    waited.context("the publisher did not reach the head in time")?;
    let snapshot = status.snapshot();
    let publisher_rate = head.commit as f64 / publisher_secs;
    println!(
        "publisher: {} events store → JetStream in {publisher_secs:.2} s = {publisher_rate:.0} events/s \
         ({} publishing sessions failed)",
        head.commit, snapshot.failures_total
    );

    // 4. Raw async-nats with the same messages.
    let messages = build_all(&store, head.commit).await?;
    let bytes: usize = messages.iter().map(|m| m.payload.len()).sum();
    // "Name: value\r\n" per header.
    let header_bytes: usize = messages
        .iter()
        .flat_map(|m| {
            m.headers.iter().map(|(k, v)| v.iter().map(|v| k.to_string().len() + v.as_str().len() + 4).sum::<usize>())
        })
        .sum();
    let js = async_nats::jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(10))
        .max_ack_inflight(in_flight)
        .build(client.clone());
    let mut raw_config = publisher::stream::config(&StreamSettings { name: "BENCH_RAW".into(), ..Default::default() });
    raw_config.subjects = vec!["bench.>".into()];
    js.create_stream(raw_config).await.context("creating the raw stream")?;
    let started = Instant::now();
    tokio::time::timeout(DEADLINE, raw_publish(&js, messages, in_flight)).await.context("raw publish deadline")??;
    let raw_secs = started.elapsed().as_secs_f64();
    let raw_rate = head.commit as f64 / raw_secs;
    println!(
        "raw async-nats JetStream publish: {} messages (same subjects, headers and payloads, {in_flight} in flight) \
         in {raw_secs:.2} s = {raw_rate:.0} messages/s",
        head.commit
    );
    println!(
        "message size: payload {:.0} B, headers {:.0} B on average",
        bytes as f64 / head.commit as f64,
        header_bytes as f64 / head.commit as f64
    );
    println!("ratio publisher / raw: {:.2}", publisher_rate / raw_rate);

    drop(js);
    let _ = client.drain().await;
    let _ = nats.kill().await;
    store.close().await;
    Ok(())
}

/// `cases` persons, four commands each, through `PersonCases::execute`.
async fn prefill(store: SqliteStore, cases: u64) -> anyhow::Result<()> {
    let people = PersonCases::new(store, CaseIds::from_key(rand::random()), Arc::new(chrono::Utc::now));
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (people, next) = (people.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= cases {
                    return Ok::<_, anyhow::Error>(());
                }
                person(&people, n).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// One person's four commands.
async fn person(people: &PersonCases<SqliteStore>, n: u64) -> anyhow::Result<()> {
    let today = people.today();
    let resident_id = ResidentId::parse(&resident_id(n), today).map_err(|e| anyhow::anyhow!("{e}"))?;
    const DISTRICTS: [&str; 4] = ["120101", "120111", "120116", "120119"];
    let d = DISTRICTS[(n % 4) as usize];
    let registration = domain::Registration {
        resident_id: resident_id.clone().into(),
        name: Some(PersonName::parse("测试人").map_err(|e| anyhow::anyhow!("{e}"))?),
        hukou: Hukou {
            county: CountyCode::parse("130102").map_err(|e| anyhow::anyhow!("{e}"))?,
            nature: HukouNature::Rural,
        },
        residence: Residence::parse(d, &format!("{d}001"), &format!("{d}001002"))
            .map_err(|(_, e)| anyhow::anyhow!("{e}"))?,
        education: Education::SeniorSecondary,
        graduation: None,
        household: None,
        groups: BTreeSet::new(),
    };
    let commands = [
        PersonCommand::RegisterUnemployment(registration),
        PersonCommand::RecordContact(domain::Contact {
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::StillSeeking,
            note: "电话回访，仍在求职".into(),
        }),
        PersonCommand::RecommendJob(domain::JobRecommendation {
            vacancy_id: format!("V-{n:08}"),
            enterprise: None,
            two_way: true,
        }),
        PersonCommand::RecordPlacement(domain::Placement {
            kind: PlacementKind::Flexible,
            employer: None,
            contract_months: Some(12),
        }),
    ];
    let target = Target::Person(resident_id);
    let mut case_id = None;
    for command in commands {
        let id = Uuid::new_v4();
        let meta = CommandMeta {
            command_id: id,
            correlation_id: id,
            causation_id: id,
            actor: "bench".into(),
            office: format!("{d}001"),
            expected_revision: None,
            access: Access::Service("leye-bench"),
        };
        let target = case_id.map_or_else(|| target.clone(), Target::Case);
        let outcome = people
            .execute(target, meta, DatedCommand { effective_date: beijing_date(chrono::Utc::now()), command })
            .await
            .map_err(|e| anyhow::anyhow!("person {n}: {e}"))?;
        case_id = Some(outcome.case_id);
    }
    Ok(())
}

/// A valid resident ID for person `n` (born 1960–1999).
fn resident_id(n: u64) -> String {
    let days = i64::try_from(n % 14_000).unwrap_or(0);
    let birth = chrono::NaiveDate::from_ymd_opt(1960, 1, 1).unwrap_or_default() + chrono::Duration::days(days);
    let first17 = format!("120111{}{:03}", birth.format("%Y%m%d"), n / 14_000 % 1000);
    // 17 digits by construction.
    let check = leye_domain::values::ResidentId::check_character(&first17).unwrap_or('?');
    format!("{first17}{check}")
}

/// Every event of the store as the publisher would send it, with `bench.` in
/// front of the subject.
async fn build_all(store: &SqliteStore, head: u64) -> anyhow::Result<Vec<message::OutboundEvent>> {
    let mut out = Vec::with_capacity(usize::try_from(head)?);
    let mut after = None;
    loop {
        let page = store.read_all(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        for e in page {
            let mut m = message::build(e, None)?;
            m.subject = format!("bench.{}", m.subject);
            out.push(m);
        }
    }
    Ok(out)
}

/// Publishes every message with `in_flight` acks pending, taken in order.
async fn raw_publish(
    js: &async_nats::jetstream::Context,
    messages: Vec<message::OutboundEvent>,
    in_flight: usize,
) -> anyhow::Result<()> {
    let mut pending = FuturesOrdered::new();
    for m in messages {
        if pending.len() >= in_flight {
            if let Some(ack) = pending.next().await {
                let _: async_nats::jetstream::publish::PublishAck = ack?;
            }
        }
        let ack = js.publish_with_headers(m.subject, m.headers, m.payload).await?;
        pending.push_back(ack.into_future());
    }
    while let Some(ack) = pending.next().await {
        ack?;
    }
    Ok(())
}

async fn connect(url: &str) -> anyhow::Result<async_nats::Client> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match async_nats::ConnectOptions::new().connection_timeout(Duration::from_secs(2)).connect(url).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(anyhow::anyhow!("nats-server did not come up: {e}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
