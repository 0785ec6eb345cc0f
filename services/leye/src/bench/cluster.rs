//! Commands/s of 1, 2 and 3 real `leye serve` processes on one PostgreSQL
//! (`leye-bench-cluster`), beside the raw INSERT rate of the same PostgreSQL
//! in the same run, and the publisher role's fail-over time.
//!
//! - **PostgreSQL**: one of the bench's own (`leye_store::test_postgres`: a
//!   temporary directory, a free loopback port, `fsync` and
//!   `synchronous_commit` on); a fresh database per measured run.
//! - **Servers**: `leye serve --store postgres://…` processes (the `leye`
//!   binary beside the bench), TLS on gRPC (a development CA and server
//!   certificate), one `nats-server` with JetStream for the publisher
//!   ([`super::nats::start`]). The
//!   first server makes the keys; the others get copies of its chain and
//!   master key files and its pseudonym key (the key store is in PostgreSQL).
//! - **Load**: `clients` concurrent clients spread round robin over the
//!   servers (a TLS connection per [`CLIENTS_PER_CONNECTION`] clients of a
//!   server, as front-ends each hold their own), each taking the next fresh
//!   person and sending its four commands (`RegisterUnemployment`,
//!   `RecordContact`, `RecommendJob`, `RecordPlacement`), every one a
//!   durable append (and, per registration, sealed personal data).
//! - **Raw**: connections opened and prepared before the clock starts, each
//!   committing single-row INSERTs (the stored events' mean row size, read
//!   back from the runs; at least [`RAW_MIN_ROWS`] rows in all, so that a
//!   small run's raw rate is not a warm-up's) into a plain table: what this
//!   PostgreSQL commits per second with a WAL flush per commit (it already
//!   flushes concurrent commits together). Each sample measures every count
//!   of [`RAW_CONNECTIONS`] (or `--raw-connections`), whatever the clients:
//!   the best concurrency for PostgreSQL is not the run's (32 connections
//!   beat 128 by 41 % on one machine). Sampled twice for each concurrency,
//!   after the one-server and after the three-server part. A run's share of
//!   raw is against the best raw rate of its size over every sample
//!   (`leye-bench-cluster`): PostgreSQL's limit, not its rate at a
//!   connection count that suits it less or in a moment the shared host's
//!   disk or CPU was slow.
//! - **Published**: after the last answer the bench waits until the leader
//!   has put every event of the run's store on NATS (the stream's message
//!   count), and prints how long after the last answer that was; a run whose
//!   events are not all on NATS within [`PUBLISH_DEADLINE`] is an error. The
//!   CPU below is counted to that point, so it includes the publishing.
//! - **Where it went** ([`Cost`]): each server's `/metrics` before and after
//!   a run (mean request and append time) and CPU seconds from `/proc`, per
//!   command: of the servers, of this process (the clients), of PostgreSQL
//!   (the postmaster and every backend, closed ones included), of
//!   nats-server, and of the whole machine (the rest: the kernel's own work).
//!   PostgreSQL's CPU an event beside its CPU a raw INSERT says what share of
//!   raw the commands would reach if PostgreSQL alone bound them (servers
//!   and clients on machines of their own): on one shared machine everything
//!   competes for the same cores. With several servers, the publisher's
//!   leader's CPU beyond the mean of the others' (which serve as many
//!   commands) is what the roles only it holds cost ([`Cost::leader_extra_cpu`]).
//! - **Fail-over**: three servers; the publisher's leader is killed
//!   (SIGKILL); measured until a standby logs that it leads the publisher
//!   role, and until a command sent to it right then has succeeded.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, atomic::AtomicU64},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use leye_proto::person::v1::person_case_service_client::PersonCaseServiceClient;
use leye_store::test_postgres::TestPostgres;
use tokio::task::JoinSet;
use tokio_postgres::NoTls;

use super::{free_port, histogram, log_tail, pg_sessions::Sessions, sealing_grpc::client};
use crate::client::{Authed, Bearer};

/// Fewest rows of a raw run: 2 000 rows over 64 connections (500 persons)
/// measured 9 000–14 000 INSERT/s where 20 000 rows measured 15 000–20 000,
/// which flattered the small runs' share of raw.
pub const RAW_MIN_ROWS: usize = 20_000;

/// The connection counts of every raw sample by default, the best counting.
/// Where the raw rate peaks depends on the machine: at 64 rather than 128
/// (19 257 INSERT/s against 18 428, 2026-12-05), at 32 (19 721 against
/// 16 786 at 64 and 13 959 at 128, 2026-12-07).
pub const RAW_CONNECTIONS: [usize; 4] = [16, 32, 64, 128];

/// Most connections of a raw run: the bench's PostgreSQL allows 200.
pub const RAW_MAX_CONNECTIONS: usize = 160;

/// Clients sharing one TLS connection to a server: below the server's 100
/// concurrent streams a connection (`limits.max_concurrent_streams`), which
/// would otherwise queue a larger load in the client.
pub const CLIENTS_PER_CONNECTION: usize = 64;

/// Most time after a run's last answer for every event to be on NATS.
pub const PUBLISH_DEADLINE: Duration = Duration::from_secs(60);

/// The log line of a server that starts publishing as the role's leader.
const LEADS: &str = "leading the publisher role: publishing";

/// The raw INSERTs of a run: commits/s, and CPU milliseconds a commit of
/// the whole machine and of PostgreSQL alone.
#[derive(Debug, Clone, Copy)]
pub struct RawInserts {
    /// Connections it committed over.
    pub connections: usize,
    pub per_sec: f64,
    pub machine_ms: f64,
    pub postgres_ms: f64,
}

/// One measured run of commands through `servers` servers.
#[derive(Debug)]
pub struct ClusterRun {
    pub servers: usize,
    pub clients: usize,
    pub commands: u64,
    /// Events the run left in the store (read back).
    pub events: u64,
    /// Mean stored row (data + metadata bytes) of those events.
    pub mean_row: f64,
    pub secs: f64,
    /// From the last answer until every event of the store was on NATS.
    pub published_after: Duration,
    pub latency: Histogram<u64>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// What the servers' `/metrics` and `/proc` said over the run.
    pub cost: Cost,
    /// PostgreSQL's CPU seconds over the run by session label (`leye-writer`,
    /// `leye-keys`, …; `pg_sessions.rs`).
    pub postgres_sessions: BTreeMap<String, f64>,
    /// PostgreSQL's statistics of the run's database (servers stopped).
    pub statements: Statements,
    /// With several servers: the first query on a server that never led
    /// (its read model asleep through the run, `crate::folding`).
    pub woken: Option<Woken>,
}

/// A query that woke a sleeping read model, after the run's commands.
#[derive(Debug, Clone, Copy)]
pub struct Woken {
    /// Events the read model had not folded when asked (the log's head
    /// minus its checkpoint).
    pub behind: u64,
    /// Time to the answer (`GetTargets` of the city), which waits for the head.
    pub answered_after: Duration,
    /// The position it answered at, and the head when it was asked.
    pub answered_at: u64,
    pub head: u64,
}

/// What PostgreSQL did for a run (`pg_stat_database`, `pg_stat_user_tables`),
/// in all: transactions (read-only statements are one each), index scans of
/// the events table, rows returned.
#[derive(Debug, Default, Clone, Copy)]
pub struct Statements {
    pub transactions: f64,
    pub event_index_scans: f64,
    pub rows_returned: f64,
}

/// Where a run's time and CPU went: the servers' own figures (their
/// `/metrics`, differences over the run) and CPU seconds from `/proc`.
#[derive(Debug, Default, Clone)]
pub struct Cost {
    /// gRPC requests the servers answered, and their summed time (arrival to
    /// answer, audit record included).
    pub requests: f64,
    pub request_secs: f64,
    /// Appends to the store, and their summed time (durable when done).
    pub appends: f64,
    pub append_secs: f64,
    /// CPU seconds of this bench process (the TLS clients), of PostgreSQL
    /// (every backend, closed ones included), of nats-server, and of the
    /// whole machine (the rest is the kernel's own work); the servers' are
    /// [`Self::node_cpu`] ([`Self::server_cpu`] in all).
    pub client_cpu: f64,
    pub postgres_cpu: f64,
    pub nats_cpu: f64,
    pub machine_cpu: f64,
    /// CPU seconds of each server, in the order started.
    pub node_cpu: Vec<f64>,
    /// The server that led the publisher role (the publisher, the read model
    /// every event is folded into, the finder), when exactly one did through
    /// the run ([`sole_leader`]; set after it).
    pub leader: Option<usize>,
}

impl Cost {
    fn minus(self, before: Self) -> Self {
        Self {
            requests: self.requests - before.requests,
            request_secs: self.request_secs - before.request_secs,
            appends: self.appends - before.appends,
            append_secs: self.append_secs - before.append_secs,
            client_cpu: self.client_cpu - before.client_cpu,
            postgres_cpu: self.postgres_cpu - before.postgres_cpu,
            nats_cpu: self.nats_cpu - before.nats_cpu,
            machine_cpu: self.machine_cpu - before.machine_cpu,
            node_cpu: self
                .node_cpu
                .iter()
                .zip(before.node_cpu.iter().chain(std::iter::repeat(&0.0)))
                .map(|(a, b)| a - b)
                .collect(),
            leader: self.leader,
        }
    }

    /// CPU seconds of all the servers.
    pub fn server_cpu(&self) -> f64 {
        self.node_cpu.iter().sum()
    }

    /// The leader's CPU seconds beyond the mean of the others' (which serve
    /// as many commands): what the roles only it holds cost over the run.
    /// `None` with one server or no leader known.
    pub fn leader_extra_cpu(&self) -> Option<f64> {
        let leader = *self.node_cpu.get(self.leader?)?;
        let others = self.node_cpu.len().checked_sub(1).filter(|&n| n > 0)?;
        Some(leader - (self.server_cpu() - leader) / others as f64)
    }

    /// Mean milliseconds of a request, of an append.
    pub fn request_ms(&self) -> f64 {
        1000.0 * self.request_secs / self.requests.max(1.0)
    }

    pub fn append_ms(&self) -> f64 {
        1000.0 * self.append_secs / self.appends.max(1.0)
    }

    /// Reads every node's `/metrics` and the CPU counters now.
    async fn now(nodes: &[Node], processes: Processes) -> anyhow::Result<Self> {
        let mut c = Self { client_cpu: super::process_cpu_secs(), ..processes.cpu() };
        for n in nodes {
            let text = scrape(n.metrics).await?;
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                let Some((name, value)) = line.rsplit_once(' ') else { continue };
                let value: f64 = value.parse().unwrap_or(0.0);
                let name = name.split('{').next().unwrap_or(name);
                match name {
                    "leye_grpc_request_duration_seconds_count" => c.requests += value,
                    "leye_grpc_request_duration_seconds_sum" => c.request_secs += value,
                    "leye_store_append_duration_seconds_count" => c.appends += value,
                    "leye_store_append_duration_seconds_sum" => c.append_secs += value,
                    "process_cpu_seconds_total" => c.node_cpu.push(value),
                    _ => {}
                }
            }
        }
        Ok(c)
    }
}

/// [`Statements`] of the database of `url`, once the backends of the stopped
/// servers have left (each reports its counts as it exits).
async fn postgres_statements(c: &tokio_postgres::Client, url: &str) -> anyhow::Result<Statements> {
    let db = url.rsplit('/').next().unwrap_or_default();
    for _ in 0..50 {
        let left: i64 = c.query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", &[&db]).await?.get(0);
        if left <= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = c
        .query_one(
            "SELECT d.xact_commit + d.xact_rollback, d.tup_returned, \
                    (SELECT coalesce(sum(idx_scan), 0)::bigint FROM pg_stat_user_tables WHERE relname = 'events') \
             FROM pg_stat_database d WHERE d.datname = $1",
            &[&db],
        )
        .await?;
    Ok(Statements {
        transactions: row.get::<_, i64>(0) as f64,
        rows_returned: row.get::<_, i64>(1) as f64,
        event_index_scans: row.get::<_, i64>(2) as f64,
    })
}

/// The process ids of the bench's PostgreSQL (its postmaster) and nats-server.
#[derive(Debug, Clone, Copy)]
struct Processes {
    postgres: Option<u32>,
    nats: Option<u32>,
}

impl Processes {
    /// Their CPU seconds so far, and the machine's.
    fn cpu(self) -> Cost {
        let tree = |pid: Option<u32>| pid.map_or(0.0, super::process_tree_cpu_secs);
        Cost {
            postgres_cpu: tree(self.postgres),
            nats_cpu: tree(self.nats),
            machine_cpu: super::machine_busy_secs(),
            ..Cost::default()
        }
    }
}

/// `GET /metrics` of a node (HTTP/1.0: the server closes after the answer).
async fn scrape(addr: SocketAddr) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("metrics of {addr}"))?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await?;
    let mut text = String::new();
    s.read_to_string(&mut text).await?;
    Ok(text)
}

impl ClusterRun {
    pub fn commands_per_sec(&self) -> f64 {
        self.commands as f64 / self.secs.max(1e-9)
    }

    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.secs.max(1e-9)
    }
}

/// The environment of every run: PostgreSQL, NATS, TLS files, the binary.
#[derive(Debug)]
pub struct Bench {
    pg: TestPostgres,
    nats: tokio::process::Child,
    nats_url: String,
    leye: PathBuf,
    dir: tempfile::TempDir,
    ca: Vec<u8>,
    runs: u32,
    /// `--leadership-interval-ms` of every server; `None`: the default.
    pub leadership_interval_ms: Option<u64>,
    /// `--case-memory` of every server; `None`: the default.
    pub case_memory: Option<usize>,
    /// `--readmodel-idle-secs` of every server; `None`: the default (the
    /// bench asks no query, so only the publisher's leader folds; 0: every
    /// server folds, as when analysts read each).
    pub readmodel_idle_secs: Option<u64>,
}

/// One `leye serve` process.
#[derive(Debug)]
struct Node {
    child: tokio::process::Child,
    addr: SocketAddr,
    /// Its Prometheus endpoint.
    metrics: SocketAddr,
    data: PathBuf,
    log: PathBuf,
    pseudonym: PathBuf,
}

impl Bench {
    /// Starts PostgreSQL and a nats-server under `tmp`, and makes the TLS files.
    pub async fn start(tmp: &Path, leye: PathBuf) -> anyhow::Result<Self> {
        anyhow::ensure!(leye.is_file(), "{} not found: cargo build --release -p leye --bins", leye.display());
        let pg = TestPostgres::start().context("no PostgreSQL installed (apt-get install postgresql)")?;
        let dir = tempfile::Builder::new().prefix("leye-bench-cluster-").tempdir_in(tmp)?;
        let tls = dir.path().join("tls");
        std::fs::create_dir_all(&tls)?;
        let ca = leye_auth::dev::create_ca(&tls, "bench")?;
        leye_auth::dev::issue_server_cert(&ca, &tls, &["localhost".into()])?;
        let ca = std::fs::read(tls.join("bench-ca.pem"))?;
        let super::nats::Server { child: nats, url: nats_url, .. } = super::nats::start(&dir.path().join("nats"))?;
        Ok(Self {
            pg,
            nats,
            nats_url,
            leye,
            dir,
            ca,
            runs: 0,
            leadership_interval_ms: None,
            case_memory: None,
            readmodel_idle_secs: None,
        })
    }

    /// A fresh database for the next run; its URL.
    async fn database(&mut self) -> anyhow::Result<String> {
        self.runs += 1;
        let name = format!("bench_{}", self.runs);
        let (c, conn) = tokio_postgres::connect(&self.pg.url(), NoTls).await?;
        tokio::spawn(conn);
        c.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        Ok(self.pg.url_for(&name))
    }

    fn processes(&self) -> Processes {
        Processes { postgres: self.pg.postmaster_pid(), nats: self.nats.id() }
    }

    /// One raw sample: [`Bench::raw_inserts`] over each count of
    /// `connections` (e.g. [`RAW_CONNECTIONS`]), in that order.
    pub async fn raw_sample(
        &mut self,
        connections: &[usize],
        total: usize,
        row: usize,
    ) -> anyhow::Result<Vec<RawInserts>> {
        let mut rates = Vec::with_capacity(connections.len());
        for &count in connections {
            rates.push(self.raw_inserts(count, total, row).await?);
        }
        Ok(rates)
    }

    /// Single-row INSERT commits of `row` bytes over `clients` connections,
    /// opened and prepared before the clock starts: commits/s, and the CPU
    /// (whole machine, PostgreSQL's own) of the commits.
    pub async fn raw_inserts(&mut self, clients: usize, total: usize, row: usize) -> anyhow::Result<RawInserts> {
        let clients = clients.clamp(1, RAW_MAX_CONNECTIONS);
        let url = self.database().await?;
        let (setup, conn) = tokio_postgres::connect(&url, NoTls).await?;
        tokio::spawn(conn);
        setup
            .batch_execute(
                "CREATE TABLE raw_bench (id bigserial PRIMARY KEY, event_id bytea UNIQUE, stream text, data bytea)",
            )
            .await?;
        let per = total / clients.max(1);
        let mut connections = Vec::new();
        for _ in 0..clients {
            let (client, conn) = tokio_postgres::connect(&url, NoTls).await?;
            tokio::spawn(conn);
            client.batch_execute("SET synchronous_commit TO on").await?;
            let insert = client.prepare("INSERT INTO raw_bench (event_id, stream, data) VALUES ($1, $2, $3)").await?;
            connections.push((client, insert));
        }
        let before = self.processes().cpu();
        let started = Instant::now();
        let mut tasks = JoinSet::new();
        for (client, insert) in connections {
            tasks.spawn(async move {
                for _ in 0..per {
                    let id = uuid::Uuid::new_v4();
                    let stream = format!("person-{}", id.simple());
                    client.execute(&insert, &[&id.as_bytes().as_slice(), &stream, &vec![b'x'; row]]).await?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(r) = tasks.join_next().await {
            r??;
        }
        let secs = started.elapsed().as_secs_f64();
        let cost = self.processes().cpu().minus(before);
        let done = (per * clients) as f64;
        let ms = |cpu: f64| 1000.0 * cpu / done.max(1.0);
        Ok(RawInserts {
            connections: clients,
            per_sec: done / secs,
            machine_ms: ms(cost.machine_cpu),
            postgres_ms: ms(cost.postgres_cpu),
        })
    }

    /// `persons` × 4 commands from `clients` clients over `servers` servers.
    pub async fn commands(&mut self, servers: usize, clients: usize, persons: u64) -> anyhow::Result<ClusterRun> {
        let url = self.database().await?;
        let js = self.new_stream().await?;
        let nodes = self.start_nodes(&url, servers).await?;
        // Connections interleaved by server, so that client i goes to server
        // i % servers whatever their number.
        let per_server = clients.div_ceil(nodes.len().max(1)).div_ceil(CLIENTS_PER_CONNECTION).max(1);
        let mut channels = Vec::new();
        for _ in 0..per_server {
            for n in &nodes {
                channels.push(self.authed(n).await?);
            }
        }
        // The readiness probes' events are not the run's.
        let (c, conn) = tokio_postgres::connect(&url, NoTls).await?;
        tokio::spawn(conn);
        let before: i64 = c.query_one("SELECT count(*) FROM leye.events", &[]).await?.get(0);
        let base = super::personal::run_base(persons);
        let next = Arc::new(AtomicU64::new(0));
        let cost_before = Cost::now(&nodes, self.processes()).await?;
        let sessions_before = Sessions::now(&c).await?;
        let started = Instant::now();
        let mut set = JoinSet::new();
        for i in 0..clients {
            let c = PersonCaseServiceClient::new(channels[i % channels.len()].clone());
            set.spawn(client(c, base, persons, next.clone()));
        }
        let (mut latency, mut commands, mut errors, mut first_error) = (histogram(), 0, 0, None);
        while let Some(joined) = set.join_next().await {
            let (h, n, e, first) = joined.context("a client task failed")?;
            latency.add(&h).map_err(|e| anyhow::anyhow!("merging histograms: {e:?}"))?;
            commands += n;
            errors += e;
            first_error = first_error.or(first);
        }
        let secs = started.elapsed().as_secs_f64();
        let answered = Instant::now();
        let row = c
            .query_one(
                "SELECT count(*), coalesce(avg(length(data) + length(metadata)), 0)::float8 FROM leye.events",
                &[],
            )
            .await?;
        let (stored, mean_row): (i64, f64) = (row.get(0), row.get(1));
        let events = stored - before;
        loop {
            let published = on_nats(&js).await;
            if published >= u64::try_from(stored).unwrap_or(0) {
                break;
            }
            if answered.elapsed() > PUBLISH_DEADLINE {
                bail!(
                    "{published} of the store's {stored} events were on NATS {} s after the last answer (see the \
                     servers' logs under {})",
                    PUBLISH_DEADLINE.as_secs(),
                    self.dir.path().display()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let published_after = answered.elapsed();
        let cost =
            Cost { leader: sole_leader(&nodes), ..Cost::now(&nodes, self.processes()).await?.minus(cost_before) };
        let postgres_sessions = Sessions::now(&c).await?.since(&sessions_before);
        let woken = match nodes.iter().find(|n| leads(n) == 0) {
            Some(standby) if nodes.len() > 1 => Some(self.wake(standby, &c).await?),
            _ => None,
        };
        for n in nodes {
            stop(n).await;
        }
        let statements = postgres_statements(&c, &url).await?;
        Ok(ClusterRun {
            servers,
            clients,
            commands,
            events: events as u64,
            mean_row,
            secs,
            published_after,
            latency,
            errors,
            first_error,
            cost,
            postgres_sessions,
            statements,
            woken,
        })
    }

    /// Times the first query on `standby`, whose read model slept through
    /// the run: it waits until the read model has folded the log's head.
    async fn wake(&self, standby: &Node, c: &tokio_postgres::Client) -> anyhow::Result<Woken> {
        use leye_proto::analytics::v1::{GetTargetsRequest, targets_service_client::TargetsServiceClient};
        const PROJECTOR: &str = "leye_follower_position{follower=\"projector\"} ";
        let metrics = scrape(standby.metrics).await?;
        let folded: u64 =
            metrics.lines().find_map(|l| l.strip_prefix(PROJECTOR)?.trim().parse::<f64>().ok()).map_or(0, |p| p as u64);
        let head: i64 = c.query_one("SELECT coalesce(max(position), 0) FROM leye.events", &[]).await?.get(0);
        let head = u64::try_from(head).unwrap_or(0);
        let mut targets = TargetsServiceClient::new(self.authed_as(standby, leye_auth::Role::Analyst).await?);
        let today = leye_domain::beijing_date(chrono::Utc::now());
        let request = GetTargetsRequest {
            jurisdiction: String::new(),
            period_from: format!("{}-01-01", today.format("%Y")),
            period_to: today.to_string(),
            as_of: String::new(),
            min_position: 0,
        };
        let asked = Instant::now();
        let answer = targets.get_targets(request).await.context("the standby's first query")?.into_inner();
        Ok(Woken {
            behind: head.saturating_sub(folded),
            answered_after: asked.elapsed(),
            answered_at: answer.checkpoint_position,
            head,
        })
    }

    /// Removes the publisher's stream: a new store a run needs a new stream
    /// (the publisher rightly refuses one filled from another store).
    async fn new_stream(&self) -> anyhow::Result<async_nats::jetstream::Context> {
        let nats = async_nats::connect(&self.nats_url).await.context("connecting to the bench's NATS")?;
        let js = async_nats::jetstream::new(nats);
        let _ = js.delete_stream(crate::publisher::stream::DEFAULT_STREAM).await;
        Ok(js)
    }

    /// Fail-over of the publisher role among three servers, `rounds` times:
    /// (ms until a standby leads, ms until a command on it succeeded).
    pub async fn failover(&mut self, rounds: u32) -> anyhow::Result<Vec<(f64, f64)>> {
        let url = self.database().await?;
        self.new_stream().await?;
        let mut nodes: Vec<Option<Node>> = self.start_nodes(&url, 3).await?.into_iter().map(Some).collect();
        let mut times = Vec::new();
        for _ in 0..rounds {
            let leader = loop {
                let leading: Vec<usize> =
                    (0..nodes.len()).filter(|&i| nodes[i].as_ref().is_some_and(|n| leads(n) > 0)).collect();
                let last = leading.iter().copied().max_by_key(|&i| nodes[i].as_ref().map_or(0, last_lead_at));
                if let Some(i) = last {
                    break i;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            // A registered case on a standby to send the command to once it leads.
            let before: Vec<usize> = nodes.iter().map(|n| n.as_ref().map_or(0, leads)).collect();
            let mut standbys = Vec::new();
            for (i, n) in nodes.iter().enumerate() {
                if let (Some(n), true) = (n, i != leader) {
                    let authed =
                        self.authed(n).await.with_context(|| format!("its log ends:\n{}", log_tail(&n.log)))?;
                    standbys.push((i, PersonCaseServiceClient::new(authed)));
                }
            }
            let dead = nodes[leader].take().context("the leader runs")?;
            let started = Instant::now();
            let mut killed = dead.child;
            killed.kill().await?;
            let led_at = loop {
                if started.elapsed() > Duration::from_secs(60) {
                    bail!("no standby took the publisher role within 60 s");
                }
                if let Some(&(i, _)) =
                    standbys.iter().find(|(i, _)| nodes[*i].as_ref().is_some_and(|n| leads(n) > before[*i]))
                {
                    break (i, started.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            };
            let Some((_, c)) = standbys.iter_mut().find(|(i, _)| *i == led_at.0) else { bail!("no standby") };
            let (_, n, _, first) =
                client(c.clone(), super::personal::probe_person(), 1, Arc::new(AtomicU64::new(0))).await;
            anyhow::ensure!(n >= 1, "the command after the fail-over failed: {first:?}");
            let served = started.elapsed();
            times.push((led_at.1.as_secs_f64() * 1000.0, served.as_secs_f64() * 1000.0));
            // The killed server comes back (as a standby) for the next round.
            nodes[leader] = Some(self.spawn_node(&dead.data, &url, Some(&dead.pseudonym)).await?);
        }
        for n in nodes.into_iter().flatten() {
            stop(n).await;
        }
        Ok(times)
    }

    async fn start_nodes(&self, url: &str, n: usize) -> anyhow::Result<Vec<Node>> {
        let run = self.dir.path().join(format!("run-{}", self.runs));
        let first = self.spawn_node(&run.join("leye-1"), url, None).await?;
        // Answered: the first server has made the chain and master keys.
        let mut nodes = vec![first];
        for i in 2..=n {
            let data = run.join(format!("leye-{i}"));
            std::fs::create_dir_all(data.join("keys"))?;
            for f in ["chain.key", "master.key"] {
                std::fs::copy(nodes[0].data.join("keys").join(f), data.join("keys").join(f))?;
            }
            let pseudonym = nodes[0].data.join("pseudonym.key");
            nodes.push(self.spawn_node(&data, url, Some(&pseudonym)).await?);
        }
        Ok(nodes)
    }

    async fn spawn_node(&self, data: &Path, url: &str, pseudonym: Option<&Path>) -> anyhow::Result<Node> {
        std::fs::create_dir_all(data)?;
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let n = std::fs::read_dir(data)?.count();
        let log = data.join(format!("leye-{n}.log"));
        let tls = self.dir.path().join("tls");
        let pseudonym = pseudonym.map_or_else(|| data.join("pseudonym.key"), Path::to_path_buf);
        let mut cmd = tokio::process::Command::new(&self.leye);
        cmd.args(["serve", "--listen", &addr.to_string(), "--data-dir"])
            .arg(data)
            .args(["--store", url, "--nats-url", &self.nats_url, "--policy-finder", "false"])
            .args(["--metrics-listen", &metrics.to_string()])
            .arg("--tls-cert")
            .arg(tls.join("server.pem"))
            .arg("--tls-key")
            .arg(tls.join("server.key.pem"))
            .arg("--pseudonym-key-file")
            .arg(&pseudonym)
            .env("LEYE_LOG", "info");
        if let Some(ms) = self.leadership_interval_ms {
            cmd.args(["--leadership-interval-ms", &ms.to_string()]);
        }
        if let Some(cases) = self.case_memory {
            cmd.args(["--case-memory", &cases.to_string()]);
        }
        if let Some(secs) = self.readmodel_idle_secs {
            cmd.args(["--readmodel-idle-secs", &secs.to_string()]);
        }
        for (k, _) in std::env::vars() {
            if k.starts_with("LEYE_") && k != "LEYE_LOG" {
                cmd.env_remove(k);
            }
        }
        let file = std::fs::File::create(&log)?;
        cmd.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file).kill_on_drop(true);
        let child = cmd.spawn().with_context(|| format!("starting {}", self.leye.display()))?;
        let mut node = Node { child, addr, metrics, data: data.to_path_buf(), log, pseudonym };
        match self.answers(&node).await {
            Ok(()) => Ok(node),
            // The run's directory goes with the error: what the server said
            // goes into it.
            Err(e) => {
                let exited = node.child.try_wait().ok().flatten().map_or("runs".into(), |s| s.to_string());
                Err(e.context(format!("server {} ({exited}); its log ends:\n{}", node.addr, log_tail(&node.log))))
            }
        }
    }

    /// Whether `node` answers a command within a minute (its listener is
    /// bound before the store opens).
    async fn answers(&self, node: &Node) -> anyhow::Result<()> {
        let c = PersonCaseServiceClient::new(self.authed(node).await?);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, n, _, first) =
                client(c.clone(), super::personal::probe_person(), 1, Arc::new(AtomicU64::new(0))).await;
            if n > 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("it did not answer a command: {first:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A TLS channel to `node` with a caseworker's token of its development issuer.
    async fn authed(&self, node: &Node) -> anyhow::Result<Authed> {
        self.authed_as(node, leye_auth::Role::Caseworker).await
    }

    async fn authed_as(&self, node: &Node, role: leye_auth::Role) -> anyhow::Result<Authed> {
        let (key, _) = crate::trust::dev_issuer(&node.data)?;
        let claims = leye_auth::dev::DevClaims {
            key_id: Some(crate::trust::DEV_KEY_ID.into()),
            ..leye_auth::dev::DevClaims::new("bench", &[role], &["120000"])
        };
        let token = leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp())?;
        let host = format!("localhost:{}", node.addr.port());
        let deadline = Instant::now() + Duration::from_secs(30);
        let channel = loop {
            match crate::client::channel(&host, Some((&self.ca, "localhost"))).await {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => return Err(e.context(format!("connecting to {host}"))),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        Ok(tonic::service::interceptor::InterceptedService::new(channel, Bearer::new(&token)?))
    }

    /// Stops NATS (PostgreSQL stops when dropped).
    pub async fn stop(mut self) {
        let _ = self.nats.kill().await;
    }
}

/// Messages in the publisher's stream (0 while it does not exist).
async fn on_nats(js: &async_nats::jetstream::Context) -> u64 {
    match js.get_stream(crate::publisher::stream::DEFAULT_STREAM).await {
        Ok(mut stream) => stream.info().await.map_or(0, |i| i.state.messages),
        Err(_) => 0,
    }
}

/// How many times `node`'s current log says it took the publisher role.
fn leads(node: &Node) -> usize {
    std::fs::read_to_string(&node.log).map_or(0, |t| t.matches(LEADS).count())
}

/// The one server whose log says it led the publisher role; `None` when
/// none or several did (a leadership that moved splits the roles' CPU).
fn sole_leader(nodes: &[Node]) -> Option<usize> {
    let mut led = (0..nodes.len()).filter(|&i| leads(&nodes[i]) > 0);
    match (led.next(), led.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Where in its log `node` last took the role (to pick the current leader).
fn last_lead_at(node: &Node) -> usize {
    std::fs::read_to_string(&node.log).ok().and_then(|t| t.rfind(LEADS)).unwrap_or(0)
}

async fn stop(mut node: Node) {
    if let Some(pid) = node.child.id() {
        let _ = tokio::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
    }
    if tokio::time::timeout(Duration::from_secs(20), node.child.wait()).await.is_err() {
        let _ = node.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::Cost;

    #[test]
    fn the_leaders_extra_cpu_is_its_own_beyond_the_mean_of_the_others() {
        let three = Cost { node_cpu: vec![1.0, 3.0, 1.0], leader: Some(1), ..Cost::default() };
        assert_eq!(three.leader_extra_cpu(), Some(2.0));
        let later = Cost { node_cpu: vec![2.0, 5.0, 2.0], leader: Some(1), ..Cost::default() };
        assert_eq!(later.minus(three.clone()).leader_extra_cpu(), Some(1.0), "over the run only: 2 against 1");
        let one = Cost { node_cpu: vec![2.0], leader: Some(0), ..Cost::default() };
        assert_eq!(one.leader_extra_cpu(), None, "no other server to compare with");
        assert_eq!(Cost { leader: None, ..three }.leader_extra_cpu(), None, "no leader known");
    }
}
