//! `leye-bench`: how fast is the command path, and how far is it from its limits?
//!
//! # What it measures
//! Four workloads, one after the other, each with a warm-up (discarded) and then
//! a measured window of the same length:
//!
//! 1. **gRPC commands (leye serve)**: `--clients` concurrent gRPC clients over one
//!    shared HTTP/2 connection (`--connections` to spread them over more) against a
//!    running `leye serve`. Each client loops over fresh persons: register an
//!    unemployment case, then record a contact, recommend a job and record a
//!    placement on it (four commands, each with a fresh command id). Every
//!    command is one durable append on the server.
//! 2. **no-op unary gRPC (health)**: the same clients, on the same connection,
//!    calling `grpc.health.v1.Health/Check`: what the transport alone allows.
//! 3. **raw SQLite append (N tasks)**: in this process, a fresh `SqliteStore`
//!    (default options: WAL, `synchronous=FULL`, the same group-commit writer
//!    thread) and N concurrent tasks appending events of the same sizes as the
//!    server writes (built by the domain's own decider and encoders), one event
//!    per append, four per stream, with the same expected-revision checks. The
//!    writer batches whatever is queued into one transaction: one fsync for many
//!    appends. This is the ceiling for the command path on this disk.
//! 4. **raw SQLite append (1 task)**: the same, one task, so every append is its
//!    own commit and its own fsync.
//!
//! With `--compare-chain`, from the same run: `leye verify`'s walk against a
//! raw `read_all` of the first server's log (events/s), the command workload
//! again against a second server started with the hidden `--bench-unsealed`
//! (its store writes no seals), and the raw append (N tasks) unsealed: what the
//! tamper-evident chain costs.
//!
//! For each: completed operations per second in the measured window, latency
//! p50 / p99 / max (µs, HdrHistogram), commits and events per commit (derived
//! from the store: the store stamps one `recorded_at` per committed batch, so
//! distinct `recorded_at` values in the window are the commits), and the CPU
//! used by the server and by the bench process (in % of one core).
//!
//! # How to run
//! ```text
//! cargo build --release -p leye --bins
//! target/release/leye-bench [--clients 32] [--duration-secs 10] [--warmup-secs 2]
//!                           [--connections 1] [--server 127.0.0.1:50051]
//!                           [--server-log info] [--tmp-dir DIR]
//! ```
//! (or `cargo run --release -p leye --bin leye-bench -- …`, once the `leye`
//! binary has been built in the same profile: `cargo run --bin` builds only the
//! bench, and the bench refuses to start without its server). Without `--server`
//! it starts the `leye` binary found next to itself with
//! `serve --listen 127.0.0.1:<free port> --data-dir <temp dir>`, waits for its
//! health check to answer SERVING, and stops it with SIGTERM at the end. With
//! `--server` it uses that server (loopback only) and writes into its store:
//! resident IDs are drawn from a random block, so repeated runs rarely collide,
//! but a collision shows up as `ALREADY_REGISTERED` / `CURRENTLY_PLACED` errors.
//! Temporary stores go to `--tmp-dir` (default: the system temp dir); put it on
//! the disk you care about, since fsync cost is what group commit amortises.
//!
//! # How to read the ratios
//! - `commands / no-op gRPC`: the share of the transport's rate left once a
//!   command does its real work (read the stream, decide, append durably). Far
//!   below 1 means the server's work, not gRPC, is the bottleneck.
//! - `commands / raw append`: how close the service comes to the store's batched
//!   append rate. Each command also reads its stream and the client and server
//!   share the machine, so 1 is out of reach; a small ratio together with few
//!   events per commit means commands are not sharing commits.
//! - `group-commit gain`: batched appends (N tasks) over one-fsync-per-append
//!   (1 task). Well above 1 means concurrent appends share durable commits.
//!
//! Errors (any non-OK answer) are counted over the whole run and should be 0;
//! the first few are printed.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{ExitCode, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail, ensure};
use chrono::Utc;
use clap::Parser;
use hdrhistogram::Histogram;
use leye::{
    bench::{Recorder, Window, free_port, log_tail, run_clients},
    client::{Authed, Bearer},
};
use leye_domain::{
    Date, beijing_date,
    envelope::EventMetadata,
    person::{
        self as domain, ContactChannel, ContactOutcome, DatedCommand, Education, Hukou, HukouNature, PersonCase,
        PersonCommand, PersonEvent, PlacementKind,
    },
    values::{CountyCode, CreditCode, PersonName, Residence, ResidentId},
};
use leye_proto::{
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};
use leye_store::{EventData, EventStore, ExpectedRevision, SqliteStore, SqliteStoreOptions, StreamName};
use tonic::transport::Endpoint;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use uuid::Uuid;

/// The gRPC service whose health the bench checks (and calls as the no-op).
const PERSON_SERVICE: &str = "leye.person.v1.PersonCaseService";
/// The store file inside a data directory (`leye::config::STORE_FILE`).
const STORE_FILE: &str = leye::config::STORE_FILE;

/// Fixed parts of every registration (Xiqing district, Tianjin).
const HUKOU_DISTRICT: &str = "120111";
const RESIDENCE_DISTRICT: &str = "120111";
const RESIDENCE_STREET: &str = "120111001";
const RESIDENCE_COMMUNITY: &str = "120111001002";
/// Address codes of resident IDs: Tianjin's 16 districts.
const ADDRESS_CODES: [&str; 16] = [
    "120101", "120102", "120103", "120104", "120105", "120106", "120110", "120111", "120112", "120113", "120114",
    "120115", "120116", "120117", "120118", "120119",
];
/// Two-character names, so every registration has the same size.
const NAMES: [&str; 8] = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"];
const CONTACT_NOTE: &str = "电话回访：仍在求职，意向岗位为仓储物流，已推送三条岗位信息。";
/// The first 17 characters of the employer's credit code; the check character is computed.
const EMPLOYER_CODE_BASE: &str = "91120111MA05JX0K0";
const ACTOR: &str = "bench";
const OFFICE: &str = "bench-office";

/// The command kinds, in the order each client sends them for one person.
const KINDS: [&str; 4] = ["register_unemployment", "record_contact", "recommend_job", "record_placement"];

/// Benchmark of the leye command path against its two limits: the raw SQLite
/// append rate and a no-op gRPC call. See the file's documentation.
#[derive(Debug, Parser)]
#[command(name = "leye-bench", version, about)]
struct Args {
    /// Concurrent gRPC clients, and concurrent tasks of the batched raw-append run.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    clients: u32,
    /// Measured seconds of each workload.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration_secs: u64,
    /// Warm-up seconds before each measured window (discarded).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup_secs: u64,
    /// HTTP/2 connections the gRPC clients share, round robin.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    connections: u32,
    /// Address of an already running `leye serve` (loopback only). Without it, the
    /// bench starts its own server on a temporary data directory.
    #[arg(long)]
    server: Option<SocketAddr>,
    /// Bearer token for an external `--server` (e.g. from `leye dev token`);
    /// a server the bench starts gets one from its development issuer.
    #[arg(long, hide_env_values = true, env = "LEYE_TOKEN")]
    token: Option<String>,
    /// Log filter (`LEYE_LOG`) of the server the bench starts; its log goes to a file.
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Parent directory of the temporary data directories (default: the system temp dir).
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
    /// What the tamper-evident chain costs, in the same run: the gRPC
    /// commands again against a second server whose store writes no seals
    /// (`leye serve --bench-unsealed`), raw appends sealed and unsealed, and
    /// `leye verify`'s walk against a raw read of the first server's log.
    #[arg(long)]
    compare_chain: bool,
    /// Also measure the cost of sealing personal data: the in-process command
    /// path with plain payloads and with sealed ones, alternately, twice each.
    #[arg(long)]
    personal_data: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    leye::bench::main(async { run(args).await.map(|()| true) })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let clients = args.clients as usize;
    let warmup = Duration::from_secs(args.warmup_secs);
    let duration = Duration::from_secs(args.duration_secs);
    let tmp_parent = match &args.tmp_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir(),
    };
    std::fs::create_dir_all(&tmp_parent).with_context(|| format!("creating {}", tmp_parent.display()))?;

    let employer = employer_code()?;
    let today = beijing_date(Utc::now());
    let ids = Arc::new(IdSource::new(rand::random::<u64>()));
    let payloads = Payloads::build(&ids.peek(), today, &employer).context("building the event payloads")?;

    // --- the server ---------------------------------------------------------
    let mut server = match args.server {
        Some(addr) => {
            ensure!(addr.ip().is_loopback(), "--server must be a loopback address, not {addr}");
            wait_ready(addr, None, Duration::from_secs(10)).await?;
            Server::External(addr)
        }
        None => Server::Started(Box::new(start_server(&tmp_parent, &args.server_log, &[]).await?)),
    };
    let addr = server.addr();

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let fs = filesystem_of(&tmp_parent);
    println!(
        "leye-bench: {clients} clients over {} connection(s), {} s measured after {} s warm-up, {cores} cores",
        args.connections,
        duration.as_secs(),
        warmup.as_secs()
    );
    match &server {
        Server::Started(s) => println!(
            "server: {} started by the bench at {addr} (LEYE_LOG={}), data in {} [{fs}]",
            s.exe.display(),
            args.server_log,
            s.data_dir.display()
        ),
        Server::External(_) => println!("server: external at {addr} (its store is not inspected)"),
    }

    // A city-wide caseworker: the requests pass the guard and the audit trail like any client's.
    let token = match (&server, &args.token) {
        (_, Some(t)) => t.clone(),
        (Server::Started(s), None) => bench_token(&s.data_dir)?,
        (Server::External(_), None) => bail!("--token is required with --server (see `leye dev token`)"),
    };
    // One set of channels for both gRPC workloads: the same transport.
    let mut channels = Vec::new();
    for _ in 0..args.connections {
        channels.push(connect(addr, &token).await?);
    }

    let result = grpc_workloads(&args, &channels, &ids, warmup, duration, server.pid()).await;
    drop(channels);
    let stopped = server.stop().await;
    let (commands, health) = result?;
    let server_log_tail = stopped?;

    // What the server stored: sizes, and commits during the measured window.
    let stored = match &server {
        Server::Started(s) => Some(inspect_store(&s.data_dir.join(STORE_FILE), commands.window).await?),
        Server::External(_) => None,
    };
    let commands = Measured { commits: stored.as_ref().map(|s| s.window), ..commands };
    let chain = match (&server, args.compare_chain) {
        (Server::Started(s), true) => Some(compare_chain(&args, s, &ids, &tmp_parent, &payloads).await?),
        (Server::External(_), true) => bail!("--compare-chain needs the server the bench starts (no --server)"),
        _ => None,
    };

    // --- raw SQLite appends ---------------------------------------------------
    eprintln!("running: raw SQLite append, {clients} tasks …");
    let raw_many = raw_appends(&tmp_parent, clients, &payloads, warmup, duration, false).await?;
    eprintln!("running: raw SQLite append, 1 task …");
    let raw_one = raw_appends(&tmp_parent, 1, &payloads, warmup, duration, false).await?;

    // --- report ---------------------------------------------------------------
    println!();
    print_payloads(&payloads, stored.as_ref());
    println!();
    println!("raw store: {} (default SqliteStoreOptions), data in {} [{fs}]", raw_many.pragmas, tmp_parent.display());
    println!();
    let raw_rate = raw_many.rate();
    println!(
        "{:<34} {:>10} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9} {:>8} {:>8}",
        "workload", "ops/s", "p50 µs", "p99 µs", "max µs", "vs raw", "commits", "ev/commit", "srv CPU", "bench CPU"
    );
    commands.print_row("gRPC commands (leye serve)", raw_rate);
    for (i, kind) in KINDS.iter().enumerate() {
        commands.print_kind_row(i, kind);
    }
    health.print_row("no-op unary gRPC (health)", raw_rate);
    raw_many.print_row(&format!("raw SQLite append ({clients} tasks)"), raw_rate);
    raw_one.print_row("raw SQLite append (1 task)", raw_rate);
    if let Some(c) = &chain {
        c.commands.print_row("gRPC commands, chain off", raw_rate);
        c.raw_unsealed.print_row(&format!("raw append unsealed ({clients} tasks)"), raw_rate);
    }
    println!();
    if let Some(c) = &chain {
        println!(
            "chain: commands with / without = {} ({:.0} vs {:.0} ops/s); raw append with / without = {} ; \
             leye verify walk {:.0} events/s vs raw read_all {:.0} events/s = {} ({} events)",
            ratio(commands.rate(), c.commands.rate()),
            commands.rate(),
            c.commands.rate(),
            ratio(raw_rate, c.raw_unsealed.rate()),
            c.verify.verify_per_sec,
            c.verify.read_per_sec,
            ratio(c.verify.verify_per_sec, c.verify.read_per_sec),
            c.verify.events,
        );
    }
    println!(
        "ratios: commands / no-op gRPC = {} ; commands / raw append = {} ; group-commit gain = {}",
        ratio(commands.rate(), health.rate()),
        ratio(commands.rate(), raw_rate),
        ratio(raw_rate, raw_one.rate()),
    );
    let cpu_per_op = |m: &Measured| match m.cpu.server {
        Some(pct) if m.rate() > 0.0 => format!("{:.0} µs", pct / 100.0 / m.rate() * 1e6),
        _ => "-".into(),
    };
    println!("server CPU per operation: command = {} ; no-op gRPC = {}", cpu_per_op(&commands), cpu_per_op(&health));
    println!(
        "(commits and ev/commit: distinct recorded_at stamps of the events recorded in the measured window; \
         CPU in % of one core over the window)"
    );

    if args.personal_data {
        personal_data_cost(&tmp_parent, clients, warmup, duration).await?;
    }

    let mut errors = 0;
    let mut all = vec![
        ("gRPC commands", &commands),
        ("no-op gRPC", &health),
        ("raw append (N tasks)", &raw_many),
        ("raw append (1 task)", &raw_one),
    ];
    if let Some(c) = &chain {
        all.extend([("gRPC commands, chain off", &c.commands), ("raw append unsealed", &c.raw_unsealed)]);
    }
    for (name, m) in all {
        errors += m.rec.errors;
        if m.rec.errors > 0 {
            println!("errors in {name}: {} (first ones below)", m.rec.errors);
            for e in &m.rec.samples {
                println!("  {e}");
            }
        }
    }
    if errors == 0 {
        println!("errors: 0");
    } else if let Some(tail) = server_log_tail {
        println!("last lines of the server's log:\n{tail}");
    }
    Ok(())
}

/// The in-process command path, plain and sealed, alternately (twice each, so
/// drift of the machine falls on both); prints each run and the ratio.
async fn personal_data_cost(tmp: &Path, tasks: usize, warmup: Duration, duration: Duration) -> anyhow::Result<()> {
    use leye::bench::personal::command_path;
    let mut rates = [Vec::new(), Vec::new()];
    println!();
    println!("{:<34} {:>10} {:>9} {:>9} {:>7}", "command path (in process)", "ops/s", "p50 µs", "p99 µs", "errors");
    for round in 0..2 {
        for (i, sealed) in [false, true].into_iter().enumerate() {
            eprintln!("running: command path, {} …", if sealed { "sealed" } else { "plain" });
            let rec = command_path(tmp, sealed, tasks, Window::starting_now(warmup, duration)).await?;
            let rate = rec.all.len() as f64 / rec.window.seconds();
            let name =
                format!("{} (run {})", if sealed { "personal data sealed" } else { "plain payloads" }, round + 1);
            println!(
                "{name:<34} {rate:>10.0} {:>9} {:>9} {:>7}",
                quantile(&rec.all, 0.5),
                quantile(&rec.all, 0.99),
                rec.errors
            );
            rec.print_errors(&name);
            rates[i].push(rate);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (plain, sealed) = (mean(&rates[0]), mean(&rates[1]));
    println!(
        "sealing cost on commands: sealed / plain = {} ({:.1} % fewer commands/s)",
        ratio(sealed, plain),
        (1.0 - sealed / plain) * 100.0
    );
    Ok(())
}

/// Runs the two gRPC workloads on the same channels.
async fn grpc_workloads(
    args: &Args,
    channels: &[Authed],
    ids: &Arc<IdSource>,
    warmup: Duration,
    duration: Duration,
    server_pid: Option<u32>,
) -> anyhow::Result<(Measured, Measured)> {
    let clients = args.clients as usize;
    eprintln!("running: gRPC commands, {clients} clients …");
    let window = Window::starting_now(warmup, duration);
    let cpu = CpuMonitor::spawn(window, server_pid);
    let rec = run_clients(clients, window, KINDS.len(), |i, rec| {
        command_client(channels[i % channels.len()].clone(), Arc::clone(ids), rec)
    })
    .await?;
    let commands = Measured { rec, window, cpu: cpu.await.unwrap_or_default(), commits: None, pragmas: String::new() };

    eprintln!("running: no-op unary gRPC (health), {clients} clients …");
    let window = Window::starting_now(warmup, duration);
    let cpu = CpuMonitor::spawn(window, server_pid);
    let rec =
        run_clients(clients, window, 1, |i, rec| health_client(channels[i % channels.len()].clone(), rec)).await?;
    let health = Measured { rec, window, cpu: cpu.await.unwrap_or_default(), commits: None, pragmas: String::new() };
    Ok((commands, health))
}

// ---------------------------------------------------------------------------
// Measuring

/// Commits and events recorded in a measured window.
#[derive(Debug, Clone, Copy, Default)]
struct Commits {
    events: u64,
    commits: u64,
}

/// CPU used during a window, in % of one core.
#[derive(Debug, Clone, Copy, Default)]
struct CpuUse {
    server: Option<f64>,
    bench: Option<f64>,
}

/// One workload's figures.
#[derive(Debug)]
struct Measured {
    rec: Recorder,
    window: Window,
    cpu: CpuUse,
    commits: Option<Commits>,
    /// The store's PRAGMAs (raw runs only).
    pragmas: String,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.rec.all.len() as f64 / self.window.seconds()
    }

    fn print_row(&self, name: &str, raw_rate: f64) {
        let (commits, per_commit) = match self.commits {
            Some(c) if c.commits > 0 => (c.commits.to_string(), format!("{:.1}", c.events as f64 / c.commits as f64)),
            Some(c) => (c.commits.to_string(), "-".into()),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<34} {:>10.1} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9} {:>8} {:>8}",
            name,
            self.rate(),
            quantile(&self.rec.all, 0.50),
            quantile(&self.rec.all, 0.99),
            max(&self.rec.all),
            ratio(self.rate(), raw_rate),
            commits,
            per_commit,
            percent(self.cpu.server),
            percent(self.cpu.bench),
        );
    }

    fn print_kind_row(&self, kind: usize, name: &str) {
        let Some(h) = self.rec.kinds.get(kind) else { return };
        println!(
            "{:<34} {:>10.1} {:>9} {:>9} {:>9}",
            format!("  · {name}"),
            h.len() as f64 / self.window.seconds(),
            quantile(h, 0.50),
            quantile(h, 0.99),
            max(h),
        );
    }
}

fn quantile(h: &Histogram<u64>, q: f64) -> String {
    if h.is_empty() { "-".into() } else { h.value_at_quantile(q).to_string() }
}

fn max(h: &Histogram<u64>) -> String {
    if h.is_empty() { "-".into() } else { h.max().to_string() }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() { format!("{:.2}", a / b) } else { "-".into() }
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "-".into(), |p| format!("{p:.0}%"))
}

/// Samples the CPU time of the server process and of this process at the start
/// and the end of a window (Linux `/proc`; `None` elsewhere).
struct CpuMonitor;

impl CpuMonitor {
    fn spawn(window: Window, server_pid: Option<u32>) -> tokio::task::JoinHandle<CpuUse> {
        tokio::spawn(async move {
            tokio::time::sleep_until(window.from.into()).await;
            let server0 = server_pid.and_then(cpu_seconds);
            let bench0 = cpu_seconds(std::process::id());
            tokio::time::sleep_until(window.until.into()).await;
            let secs = window.seconds();
            let used = |before: Option<f64>, after: Option<f64>| Some((after? - before?) / secs * 100.0);
            CpuUse {
                server: used(server0, server_pid.and_then(cpu_seconds)),
                bench: used(bench0, cpu_seconds(std::process::id())),
            }
        })
    }
}

/// User + system CPU seconds of a process, from `/proc/<pid>/stat` (USER_HZ = 100).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its ')' are plain.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the full line (utime, stime) are 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

#[path = "leye-bench/persons.rs"]
mod persons;
use persons::*;

#[path = "leye-bench/payloads.rs"]
mod payloads;
use payloads::*;

/// Registers persons and updates their cases until the window ends.
async fn command_client(channel: Authed, ids: Arc<IdSource>, mut rec: Recorder) -> Recorder {
    let employer = match employer_code() {
        Ok(code) => code,
        Err(e) => {
            rec.error("setup", e);
            return rec;
        }
    };
    let mut client = PersonCaseServiceClient::new(channel);
    while rec.running() {
        let person = ids.next_person();
        let date = beijing_date(Utc::now()).format("%Y-%m-%d").to_string();

        let request = person.register(&date);
        let started = Instant::now();
        let case_id = match client.register_unemployment(request).await {
            Ok(response) => match response.into_inner().result {
                Some(result) => {
                    rec.ok(0, started);
                    result.case_id
                }
                None => {
                    rec.error(KINDS[0], "answer without a command result");
                    continue;
                }
            },
            Err(status) => {
                rec.error(KINDS[0], status_text(&status));
                backoff().await;
                continue;
            }
        };

        for (kind, name) in KINDS.iter().enumerate().skip(1) {
            if !rec.running() {
                break;
            }
            let result = match kind {
                1 => {
                    let request = Person::contact(&case_id, &date);
                    let started = Instant::now();
                    client.record_contact(request).await.map(|_| started)
                }
                2 => {
                    let request = person.recommend(&case_id, &date, &employer);
                    let started = Instant::now();
                    client.recommend_job(request).await.map(|_| started)
                }
                _ => {
                    let request = Person::place(&case_id, &date, &employer);
                    let started = Instant::now();
                    client.record_placement(request).await.map(|_| started)
                }
            };
            match result {
                Ok(started) => rec.ok(kind, started),
                Err(status) => {
                    rec.error(name, status_text(&status));
                    backoff().await;
                    break;
                }
            }
        }
    }
    rec
}

/// Calls the health check until the window ends.
async fn health_client(channel: Authed, mut rec: Recorder) -> Recorder {
    let mut client = HealthClient::new(channel);
    while rec.running() {
        let request = HealthCheckRequest { service: PERSON_SERVICE.into() };
        let started = Instant::now();
        match client.check(request).await {
            Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => rec.ok(0, started),
            Ok(r) => {
                rec.error("health", format!("status {}", r.get_ref().status));
                backoff().await;
            }
            Err(status) => {
                rec.error("health", status_text(&status));
                backoff().await;
            }
        }
    }
    rec
}

/// After an error, so a failing server does not make a client spin.
async fn backoff() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

fn status_text(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

async fn connect(addr: SocketAddr, token: &str) -> anyhow::Result<Authed> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    Ok(tonic::service::interceptor::InterceptedService::new(channel, Bearer::new(token)?))
}

/// A token of the development issuer of the server's data directory.
fn bench_token(data_dir: &Path) -> anyhow::Result<String> {
    let (key, _) = leye::trust::dev_issuer(data_dir)?;
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new(ACTOR, &[leye_auth::Role::Caseworker], &["120000"])
    };
    Ok(leye_auth::dev::issue_token(&key, &claims, Utc::now().timestamp())?)
}

/// Whether the server's health check answers SERVING for the person service
/// (health needs no credentials).
async fn serving(addr: SocketAddr) -> anyhow::Result<bool> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect().await?;
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: PERSON_SERVICE.into() }).await?;
    Ok(response.get_ref().status == ServingStatus::Serving as i32)
}

#[path = "leye-bench/server.rs"]
mod server;
use server::*;

// ---------------------------------------------------------------------------
// Reading a store back

/// Sizes of one event type in a store.
#[derive(Debug, Default)]
struct Sizes {
    count: u64,
    data: u64,
    metadata: u64,
}

/// What a store holds: sizes per event type, and commits in a window.
#[derive(Debug)]
struct Stored {
    sizes: BTreeMap<String, Sizes>,
    window: Commits,
}

/// Opens a stopped server's store and reads every event.
async fn inspect_store(path: &Path, window: Window) -> anyhow::Result<Stored> {
    let store = SqliteStore::open(path, SqliteStoreOptions::default())
        .await
        .with_context(|| format!("opening the server's store {}", path.display()))?;
    let stored = scan(&store, window).await;
    store.close().await;
    stored
}

/// Reads the whole log: sizes per event type, and the events and distinct
/// `recorded_at` stamps (one per committed batch) within `window`.
async fn scan(store: &SqliteStore, window: Window) -> anyhow::Result<Stored> {
    let mut sizes: BTreeMap<String, Sizes> = BTreeMap::new();
    let mut stamps = HashSet::new();
    let mut events = 0;
    let mut after = None;
    loop {
        let page = store.read_all(after, 10_000).await.context("reading the store back")?;
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        for e in &page {
            let s = sizes.entry(e.event_type.clone()).or_default();
            s.count += 1;
            s.data += e.data.len() as u64;
            s.metadata += e.metadata.len() as u64;
            if e.recorded_at >= window.from_utc && e.recorded_at < window.until_utc {
                events += 1;
                stamps.insert(e.recorded_at);
            }
        }
    }
    Ok(Stored { sizes, window: Commits { events, commits: stamps.len() as u64 } })
}

// ---------------------------------------------------------------------------
// Raw appends

/// `tasks` concurrent tasks appending the person payloads to a fresh store.
async fn raw_appends(
    tmp_parent: &Path,
    tasks: usize,
    payloads: &Payloads,
    warmup: Duration,
    duration: Duration,
    unsealed: bool,
) -> anyhow::Result<Measured> {
    let dir = tempfile::Builder::new().prefix("leye-bench-raw-").tempdir_in(tmp_parent)?;
    let options = SqliteStoreOptions { unsealed_for_benchmarks: unsealed, ..Default::default() };
    let store =
        SqliteStore::open(dir.path().join(STORE_FILE), options).await.context("opening the raw-append store")?;
    let p = store.pragmas();
    let pragmas = format!(
        "journal_mode={} synchronous={}{}",
        p.journal_mode,
        p.synchronous,
        if p.synchronous == 2 { " (FULL)" } else { "" }
    );
    let events = Arc::new(payloads.events.clone());
    let window = Window::starting_now(warmup, duration);
    let cpu = CpuMonitor::spawn(window, None);
    let rec =
        run_clients(tasks, window, events.len(), |_, rec| raw_task(store.clone(), Arc::clone(&events), rec)).await;
    let cpu = cpu.await.unwrap_or_default();
    let scanned = scan(&store, window).await;
    store.close().await;
    Ok(Measured { rec: rec?, window, cpu, commits: Some(scanned?.window), pragmas })
}

/// Appends one person's events at a time, each in its own append, until the window ends.
async fn raw_task(store: SqliteStore, events: Arc<Vec<Payload>>, mut rec: Recorder) -> Recorder {
    while rec.running() {
        let stream = match StreamName::parse(format!("person-{}", Uuid::new_v4())) {
            Ok(s) => s,
            Err(e) => {
                rec.error("stream name", e);
                return rec;
            }
        };
        for (revision, p) in (0u64..).zip(events.iter()) {
            if !rec.running() {
                break;
            }
            let expected = match revision {
                0 => ExpectedRevision::NoStream,
                r => ExpectedRevision::Exact(r - 1),
            };
            let event = EventData {
                event_id: Uuid::new_v4(),
                event_type: p.event_type.clone(),
                data: p.data.clone(),
                metadata: p.metadata.clone(),
            };
            let started = Instant::now();
            match store.append(&stream, expected, vec![event]).await {
                Ok(_) => rec.ok(revision as usize, started),
                Err(e) => {
                    rec.error("append", e);
                    backoff().await;
                    break;
                }
            }
        }
    }
    rec
}

// ---------------------------------------------------------------------------
// Environment

/// The filesystem type and device holding `path`, from `/proc/mounts`.
fn filesystem_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (device, mount, fstype) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(mount).then(|| (mount.len(), format!("{fstype} on {device}")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "filesystem unknown".into(), |(_, fs)| fs)
}

/// The figures of `--compare-chain`.
struct ChainCost {
    /// The gRPC commands against a server writing no seals.
    commands: Measured,
    raw_unsealed: Measured,
    verify: leye::bench::VerifyVsRead,
}

/// `--compare-chain`: `leye verify` against a raw read of the (stopped) first
/// server's log, then the same command workload against a second server
/// started with `--bench-unsealed`, then raw appends without seals.
async fn compare_chain(
    args: &Args,
    first: &StartedServer,
    ids: &Arc<IdSource>,
    tmp_parent: &Path,
    payloads: &Payloads,
) -> anyhow::Result<ChainCost> {
    eprintln!("running: leye verify vs raw read of the first server's log …");
    let verify = leye::bench::verify_vs_read(
        &first.data_dir.join(STORE_FILE),
        &first.data_dir.join(leye_store::sqlite::DEFAULT_KEY_FILE),
    )
    .await?;
    let (warmup, duration) = (Duration::from_secs(args.warmup_secs), Duration::from_secs(args.duration_secs));
    let mut server =
        Server::Started(Box::new(start_server(tmp_parent, &args.server_log, &["--bench-unsealed"]).await?));
    let token = match &server {
        Server::Started(s) => bench_token(&s.data_dir)?,
        Server::External(_) => bail!("the unsealed server is started by the bench"),
    };
    let mut channels = Vec::new();
    for _ in 0..args.connections {
        channels.push(connect(server.addr(), &token).await?);
    }
    eprintln!("running: the same gRPC commands, chain off …");
    let result = grpc_workloads(args, &channels, ids, warmup, duration, server.pid()).await;
    drop(channels);
    server.stop().await?;
    let (commands, _health) = result?;
    eprintln!("running: raw SQLite append unsealed, {} tasks …", args.clients);
    let raw_unsealed = raw_appends(tmp_parent, args.clients as usize, payloads, warmup, duration, true).await?;
    Ok(ChainCost { commands, raw_unsealed, verify })
}
