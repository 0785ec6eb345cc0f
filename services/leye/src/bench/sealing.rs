//! What tamper evidence and sealed personal data cost, in one run
//! (`leye-bench-sealing`): the in-process command path and the read model's
//! rebuild over the log it wrote, for three stores side by side:
//!
//! - **plain**: the event chain off (`SqliteStoreOptions::unsealed_for_benchmarks`,
//!   a store that never verifies: for benchmarks only) and personal data in
//!   clear (no key store): what the service would cost without issue 9;
//! - **chain**: the store as `leye serve` opens it (SHA-256 chain, head file),
//!   personal data in clear;
//! - **chain+sealed**: the same store plus a key store and master key of its
//!   own, sealing every registration's resident ID and name: what `leye
//!   serve` runs.
//!
//! Each size (persons) is one fill per variant: `tasks` concurrent tasks take
//! the next person, register it, then record a contact, a job recommendation
//! and a placement on it (`PersonCases::execute`, the same code the gRPC
//! handlers call, four durable appends per person). The rate is commands over
//! the fill's wall time. Then the read model is rebuilt from that log with
//! the projector's public `runner::rebuild`, beside a raw `read_all` of the
//! same log (the rebuild's limit), and the raw append rate of the same events
//! (re-appended, one per append, four per stream, `tasks` tasks, into a
//! fresh unchained store: the command path's limit). Variants alternate
//! within a round and rounds reverse the order, so a drift of the machine
//! falls on every variant; figures are means over the rounds.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use anyhow::Context;
use hdrhistogram::Histogram;
use leye_domain::person::DatedCommand;
use leye_projections::runner::{ReadModelDir, rebuild};
use leye_store::{EventData, EventStore, ExpectedRevision, SqliteStore, SqliteStoreOptions, StreamName};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::histogram;
use crate::{
    access::Access,
    cases::{CommandMeta, PersonCases, Target},
    config::STORE_FILE,
    identity::CaseIds,
    personal::VaultConfig,
};

/// The stores compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    /// No chain, personal data in clear.
    Plain,
    /// The chain, personal data in clear.
    Chain,
    /// The chain and sealed personal data (what `leye serve` runs).
    Sealed,
}

impl Variant {
    pub const ALL: [Self; 3] = [Self::Plain, Self::Chain, Self::Sealed];

    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain (no chain, clear)",
            Self::Chain => "chain only",
            Self::Sealed => "chain + sealed",
        }
    }
}

/// One fill and the rebuild of its log.
#[derive(Debug)]
pub struct Run {
    pub variant: Variant,
    pub persons: u64,
    /// Commands accepted.
    pub commands: u64,
    pub command_secs: f64,
    /// CPU time of this process (every thread: tasks, store writer, key
    /// store) during the fill: less disturbed by other load on the machine
    /// than the rate.
    pub command_cpu_secs: f64,
    /// Command latency, µs.
    pub latency: Histogram<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Events folded by the rebuild, and its time.
    pub rebuilt: u64,
    pub rebuild_secs: f64,
    /// A raw `read_all` of the same log: events and time.
    pub read: u64,
    pub read_secs: f64,
    /// Bytes of the event payloads stored (sealing makes registrations bigger).
    pub payload_bytes: u64,
    /// The stored events (plain variant only), for [`raw_append_rate`].
    pub events: Vec<(StreamName, EventData)>,
}

impl Run {
    pub fn command_rate(&self) -> f64 {
        self.commands as f64 / self.command_secs.max(1e-9)
    }
    /// CPU µs per command.
    pub fn cpu_per_command(&self) -> f64 {
        self.command_cpu_secs * 1e6 / self.commands.max(1) as f64
    }
    pub fn rebuild_rate(&self) -> f64 {
        self.rebuilt as f64 / self.rebuild_secs.max(1e-9)
    }
    pub fn read_rate(&self) -> f64 {
        self.read as f64 / self.read_secs.max(1e-9)
    }
}

/// Fills a fresh store of `variant` with `persons` persons through the
/// command path, then rebuilds a read model from it and reads it raw.
pub async fn run(tmp: &Path, variant: Variant, persons: u64, tasks: usize) -> anyhow::Result<Run> {
    let dir = tempfile::Builder::new().prefix("leye-bench-sealing-").tempdir_in(tmp)?;
    let options = SqliteStoreOptions { unsealed_for_benchmarks: variant == Variant::Plain, ..Default::default() };
    let store = SqliteStore::open(dir.path().join(STORE_FILE), options).await.context("opening the bench store")?;
    let mut cases = PersonCases::new(store.clone(), CaseIds::from_key(rand::random()), Arc::new(chrono::Utc::now));
    if variant == Variant::Sealed {
        let vault = VaultConfig {
            key_store: dir.path().join(crate::personal::KEY_STORE_FILE),
            shared: None,
            master_key_file: dir.path().join(crate::personal::MASTER_KEY_FILE),
            cipher: leye_vault::Cipher::default(),
        };
        cases = cases.with_personal_data(vault.open()?);
    }
    let base: u64 = rand::random::<u32>().into();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let cpu_before = super::process_cpu_secs();
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        set.spawn(fill_task(cases.clone(), base, persons, next.clone()));
    }
    let (mut latency, mut commands, mut errors, mut first_error) = (histogram(), 0, 0, None);
    while let Some(joined) = set.join_next().await {
        let t = joined.context("a bench task failed")?;
        latency.add(&t.latency).map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
        commands += t.commands;
        errors += t.errors;
        first_error = first_error.or(t.first_error);
    }
    let command_secs = started.elapsed().as_secs_f64();
    let command_cpu_secs = super::process_cpu_secs() - cpu_before;
    drop(cases);

    let (read, read_secs, payload_bytes, events) = raw_read(&store, variant == Variant::Plain).await?;
    let rm = ReadModelDir::new(dir.path().join("readmodel"));
    let started = Instant::now();
    let (_, rebuilt) = rebuild(&store, &rm, |_| {}).await.context("rebuilding the read model")?;
    let rebuild_secs = started.elapsed().as_secs_f64();
    store.close().await;
    Ok(Run {
        variant,
        persons,
        commands,
        command_secs,
        command_cpu_secs,
        latency,
        errors,
        first_error,
        rebuilt,
        rebuild_secs,
        read,
        read_secs,
        payload_bytes,
        events,
    })
}

struct Filled {
    latency: Histogram<u64>,
    commands: u64,
    errors: u64,
    first_error: Option<String>,
}

async fn fill_task(cases: PersonCases<SqliteStore>, base: u64, persons: u64, next: Arc<AtomicU64>) -> Filled {
    let mut out = Filled { latency: histogram(), commands: 0, errors: 0, first_error: None };
    let today = cases.today();
    let on = today.pred_opt().unwrap_or(today);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= persons {
            return out;
        }
        let (id, commands) = match super::personal::person(base + i, today) {
            Ok(p) => p,
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| format!("bench data: {e}"));
                return out;
            }
        };
        let mut target = Target::Person(id);
        for command in commands {
            let meta = CommandMeta {
                command_id: Uuid::new_v4(),
                correlation_id: Uuid::new_v4(),
                causation_id: Uuid::new_v4(),
                actor: "leye-bench".into(),
                office: "bench".into(),
                expected_revision: None,
                access: Access::Service("leye-bench"),
            };
            let started = Instant::now();
            match cases.execute(target.clone(), meta, DatedCommand { effective_date: on, command }).await {
                Ok(outcome) => {
                    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
                    out.latency.saturating_record(us);
                    out.commands += 1;
                    target = Target::Case(outcome.case_id);
                }
                Err(e) => {
                    out.errors += 1;
                    out.first_error.get_or_insert_with(|| e.to_string());
                    break;
                }
            }
        }
    }
}

/// What [`raw_read`] found: events, seconds, payload bytes, and the events when kept.
type ReadBack = (u64, f64, u64, Vec<(StreamName, EventData)>);

/// Reads the whole log in pages as the rebuild does (keeping the events when
/// `keep`, outside the timed part).
async fn raw_read(store: &SqliteStore, keep: bool) -> anyhow::Result<ReadBack> {
    let (mut after, mut events, mut bytes, mut kept, mut secs) = (None, 0u64, 0u64, Vec::new(), 0.0);
    loop {
        let started = Instant::now();
        let page = store.read_all(after, 2000).await?;
        secs += started.elapsed().as_secs_f64();
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        events += page.len() as u64;
        bytes += page.iter().map(|e| e.data.len() as u64).sum::<u64>();
        if keep {
            for e in page {
                let stream = e.stream;
                let data =
                    EventData { event_id: e.event_id, event_type: e.event_type, data: e.data, metadata: e.metadata };
                kept.push((stream, data));
            }
        }
    }
    Ok((events, secs, bytes, kept))
}

/// The command path's limit: `events` (a log's streams, in order) appended again, one event per append with its expected
/// revision, by `tasks` tasks into a fresh unchained store. Returns appends/s.
pub async fn raw_append_rate(tmp: &Path, events: Vec<(StreamName, EventData)>, tasks: usize) -> anyhow::Result<f64> {
    let dir = tempfile::Builder::new().prefix("leye-bench-sealing-raw-").tempdir_in(tmp)?;
    let options = SqliteStoreOptions { unsealed_for_benchmarks: true, ..Default::default() };
    let store = SqliteStore::open(dir.path().join(STORE_FILE), options).await?;
    let mut streams: BTreeMap<String, (StreamName, Vec<EventData>)> = BTreeMap::new();
    for (s, e) in events {
        streams.entry(s.to_string()).or_insert_with(|| (s, Vec::new())).1.push(e);
    }
    let streams: Arc<Vec<(StreamName, Vec<EventData>)>> = Arc::new(streams.into_values().collect());
    let total: usize = streams.iter().map(|(_, e)| e.len()).sum();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let (store, streams, next) = (store.clone(), streams.clone(), next.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((stream, events)) = streams.get(i) else { return Ok::<_, anyhow::Error>(()) };
                for (rev, e) in events.iter().enumerate() {
                    let expected = match rev {
                        0 => ExpectedRevision::NoStream,
                        r => ExpectedRevision::Exact(r as u64 - 1),
                    };
                    // A fresh id: the same id twice would be an idempotent no-op.
                    let e = EventData { event_id: Uuid::new_v4(), ..e.clone() };
                    store.append(stream, expected, vec![e]).await?;
                }
            }
        });
    }
    while let Some(joined) = set.join_next().await {
        joined.context("a raw append task failed")??;
    }
    let secs = started.elapsed().as_secs_f64();
    store.close().await;
    Ok(total as f64 / secs.max(1e-9))
}

/// Where the temporary stores go.
pub fn tmp_parent(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = dir.unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
