//! `leye-bench-trust`: what the trust layer costs, and what the limits hold.
//! Prints figures; asserts nothing (the limits are tested, bounded in time, in
//! `services/leye/tests/limits.rs`).
//!
//! # What it measures
//! Against a `leye serve` it starts (plain text on loopback, development token
//! issuer, default limits) on a temporary data directory:
//!
//! (a) **The command path through the guard and the audit trail.**
//! `--clients` concurrent clients on one HTTP/2 connection, each registering a
//! person, then alternating RecordContact and GetCase on the case (a new
//! person every 20 contacts), for `--duration-secs` after `--warmup-secs`.
//! Every request is authenticated, authorised and audited: its record is
//! durable (group-committed) before the answer leaves. In the same run, the
//! two limits of that path: the **audit trail alone** (`AuditLog::record` of
//! records like the server's, from as many tasks, for as long, on the same
//! disk) and a **no-op** over the same transport (the health check, which
//! passes the guard untouched: no authentication, no record).
//!
//! The audit cannot be switched off in the server. Its overhead is derived:
//! each audited request waits for its record after its handler, so at the
//! same concurrency it adds about the audit trail's own latency. With N
//! closed-loop clients, ops/s = N / mean latency, so the command path without
//! the audit would run at about N / (mean command latency − mean audit
//! latency); the overhead is the share `mean audit / mean command`. This
//! understates the cost when the audit trail and the event store compete for
//! the same disk (the audit-alone run has the disk to itself).
//!
//! (b) **The never-read-streams attack.** A case with `--contacts` contacts
//! (a ReplayCase response of tens of KB); then, for each `--sizes` entry C, an
//! attacker opens C HTTP/2 connections (64 KiB windows, no auto-tuning) and
//! on each `--streams` ReplayCase requests whose responses it never reads.
//! While it holds them for `--duration-secs`: the server's RSS (peak, sampled
//! every 50 ms from `/proc/<pid>/status`), and `--probes` well-behaved clients
//! (their own connection) calling GetCase: ops/s, p50, p99, max. Then the
//! attacker disconnects and the RSS 2 s later is printed. A baseline run
//! without attacker comes first; each size's growth over the baseline is
//! printed per held stream, so the growth from one size to the next shows.
//!
//! # How to run
//! ```text
//! cargo build --release -p leye --bin leye --bin leye-bench-trust
//! target/release/leye-bench-trust [--clients 32] [--duration-secs 5] [--warmup-secs 1]
//!                                 [--sizes 10,40] [--streams 100] [--contacts 80]
//!                                 [--probes 4] [--server-log info] [--tmp-dir DIR]
//! ```
//! It starts the `leye` binary found next to itself and stops it with SIGTERM
//! at the end. Temporary stores go to `--tmp-dir` (default: the system temp
//! dir). Errors are counted and the first few printed.

use std::{
    future::Future,
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::{ExitCode, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow, bail, ensure};
use clap::Parser;
use hdrhistogram::Histogram;
use leye::{
    bench::{Recorder, Window, free_port, log_tail},
    client::{Authed, Bearer},
};
use leye_audit::{AuditLog, AuditOptions, AuditRecord};
use leye_proto::{
    codec::LeyeCodec,
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};
use prost::Message;
use tonic::{
    codegen::http::uri::PathAndQuery,
    service::interceptor::InterceptedService,
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use uuid::Uuid;

const PERSON_SERVICE: &str = "leye.person.v1.PersonCaseService";
const REPLAY_PATH: &str = "/leye.person.v1.PersonCaseService/ReplayCase";
/// Contacts per case before a client registers the next person.
const CONTACTS_PER_CASE: u32 = 20;
/// Request kinds of the command workload.
const KINDS: [&str; 3] = ["record_contact", "get_case", "register_unemployment"];

/// What the trust layer costs and what the limits hold. See the file's documentation.
#[derive(Debug, Parser)]
#[command(name = "leye-bench-trust", version, about)]
struct Args {
    /// Concurrent clients of the command path, and tasks of the audit-alone run.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    clients: u32,
    /// Measured seconds of each workload, and how long the attacker holds its streams.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration_secs: u64,
    /// Warm-up seconds before each measured window (discarded).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup_secs: u64,
    /// Attacker sizes: connections, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10,40")]
    sizes: Vec<u32>,
    /// Never-read streams per attacker connection (the server allows 100 by default: `max_concurrent_streams`).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    streams: u32,
    /// Contacts on the replayed case (its ReplayCase response grows with them).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    contacts: u32,
    /// Well-behaved clients calling GetCase during the attack.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    probes: u32,
    /// Log filter (`LEYE_LOG`) of the server; its log goes to a file.
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Parent directory of the temporary data directories (default: the system temp dir).
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    leye::bench::main(async { run(args).await.map(|()| true) })
}

async fn run(args: Args) -> anyhow::Result<()> {
    for &c in &args.sizes {
        ensure!((1..=1000).contains(&c), "--sizes: each size must be 1 to 1000 connections, not {c}");
    }
    let tmp_parent = args.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&tmp_parent).with_context(|| format!("creating {}", tmp_parent.display()))?;
    let mut server = start_server(&tmp_parent, &args.server_log).await?;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "leye-bench-trust: {} clients, {} s measured after {} s warm-up, {cores} cores; server {} at {} (pid {}), \
         data in {}, default limits {:?}",
        args.clients,
        args.duration_secs,
        args.warmup_secs,
        server.exe.display(),
        server.addr,
        server.pid,
        server.data_dir.display(),
        leye::trust::Limits::default(),
    );
    let result = benchmarks(&args, &server, &tmp_parent).await;
    let tail = server.stop().await;
    if let Err(e) = &tail {
        eprintln!("warning: {e:#}");
    }
    result?;
    if let Ok(tail) = tail {
        if tail.contains(" ERROR ") || tail.contains(" WARN ") {
            println!("\nlast lines of the server's log:\n{tail}");
        }
    }
    Ok(())
}

async fn benchmarks(args: &Args, server: &StartedServer, tmp_parent: &Path) -> anyhow::Result<()> {
    let token = bench_token(&server.data_dir)?;
    let clients = args.clients as usize;
    let warmup = Duration::from_secs(args.warmup_secs);
    let duration = Duration::from_secs(args.duration_secs);
    let persons = Arc::new(std::sync::atomic::AtomicU32::new(rand::random::<u32>() % 1_000_000));

    // --- (a) the command path, the audit trail alone, a no-op ---------------
    let channel = connect(server.addr, &token).await?;
    eprintln!("running: commands through the guard and the audit trail, {clients} clients …");
    let window = Window::starting_now(warmup, duration);
    let commands =
        run_clients(clients, window, KINDS.len(), |_, rec| command_client(channel.clone(), Arc::clone(&persons), rec))
            .await?;
    eprintln!("running: no-op (health), {clients} clients …");
    let window = Window::starting_now(warmup, duration);
    let noop = run_clients(clients, window, 1, |_, rec| health_client(channel.clone(), rec)).await?;
    eprintln!("running: audit trail alone, {clients} tasks …");
    let audit = audit_alone(tmp_parent, clients, warmup, duration).await?;
    drop(channel);

    println!();
    println!("(a) command path: {clients} clients on one connection vs. the audit trail alone and a no-op");
    println!(
        "{:<44} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "workload", "ops/s", "mean µs", "p50 µs", "p99 µs", "max µs", "errors"
    );
    commands.print_row("commands + reads (guard, audit)");
    for (i, k) in KINDS.iter().enumerate() {
        commands.print_kind_row(i, k);
    }
    audit.print_row("audit trail alone (AuditLog::record)");
    noop.print_row("no-op unary gRPC (health, not audited)");
    let (cmd_mean, audit_mean) = (commands.rec.all.mean(), audit.rec.all.mean());
    println!();
    println!(
        "ratios: commands / no-op = {} ; commands / audit alone = {}",
        ratio(commands.rate(), noop.rate()),
        ratio(commands.rate(), audit.rate())
    );
    if cmd_mean > audit_mean && audit_mean > 0.0 {
        let without = clients as f64 / ((cmd_mean - audit_mean) / 1e6);
        println!(
            "audit overhead (derived): mean audit {audit_mean:.0} µs of mean request {cmd_mean:.0} µs = {:.0}% of the \
             latency; without it ≈ {without:.0} ops/s ({clients} clients / (mean request − mean audit)) against \
             {:.0} ops/s measured ({:.2}×)",
            audit_mean / cmd_mean * 100.0,
            commands.rate(),
            commands.rate() / without,
        );
    } else {
        println!("audit overhead (derived): - (the audit trail alone is not faster than a request)");
    }
    for (name, m) in [("commands", &commands), ("no-op", &noop), ("audit alone", &audit)] {
        m.rec.print_errors(name);
    }

    // --- (b) the never-read-streams attack ------------------------------------
    eprintln!("setting up: a case with {} contacts …", args.contacts);
    let case_id = big_case(server.addr, &token, &persons, args.contacts).await?;
    let mut replayer = PersonCaseServiceClient::new(connect(server.addr, &token).await?);
    let response_bytes =
        replayer.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await?.get_ref().encoded_len() + 5;
    drop(replayer);
    let probes = connect(server.addr, &token).await?;
    let mut rows = Vec::new();
    eprintln!("running: baseline (no attacker) …");
    rows.push(attack_run(args, server, &token, &case_id, &probes, 0).await?);
    for &conns in &args.sizes {
        eprintln!("running: attacker with {conns} connections × {} streams …", args.streams);
        rows.push(attack_run(args, server, &token, &case_id, &probes, conns as usize).await?);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    println!();
    println!(
        "(b) never-read ReplayCase streams: response {response_bytes} bytes ({} contacts), {} streams per connection \
         requested, {} probe clients calling GetCase while the streams are held ({} s)",
        args.contacts, args.streams, args.probes, args.duration_secs
    );
    println!(
        "{:<14} {:>6} {:>7} {:>9} {:>9} {:>9} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "attacker",
        "held",
        "refused",
        "setup s",
        "RSS MiB",
        "peak MiB",
        "KiB/stream",
        "after MiB",
        "GetCase/s",
        "p50 µs",
        "p99 µs",
        "max µs",
        "errors"
    );
    for r in &rows {
        r.print();
    }
    println!(
        "(RSS: before the attacker; peak: while it opens and holds its streams; KiB/stream: (peak − RSS) / held; \
         after: 2 s after it disconnected; refused: answered at once without a body, e.g. OVERLOADED)"
    );
    for r in &rows {
        r.probes.rec.print_errors(&format!("probes ({})", r.label));
        for e in &r.attack_errors {
            println!("attacker ({}): {e}", r.label);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// (a) the workloads

/// Registers a person, then alternates RecordContact and GetCase on the case;
/// a new person every [`CONTACTS_PER_CASE`] contacts.
async fn command_client(channel: Authed, persons: Arc<std::sync::atomic::AtomicU32>, mut rec: Recorder) -> Recorder {
    let mut client = PersonCaseServiceClient::new(channel);
    while rec.running() {
        let person = persons.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let case_id = match client.register_unemployment(registration(person)).await {
            Ok(r) => match r.into_inner().result {
                Some(result) => {
                    rec.ok(2, started);
                    result.case_id
                }
                None => {
                    rec.error("register", "answer without a command result");
                    continue;
                }
            },
            Err(s) => {
                rec.error("register", status_text(&s));
                backoff().await;
                continue;
            }
        };
        for i in 0..CONTACTS_PER_CASE {
            if !rec.running() {
                break;
            }
            let started = Instant::now();
            match client.record_contact(contact(&case_id, i)).await {
                Ok(_) => rec.ok(0, started),
                Err(s) => {
                    rec.error("record_contact", status_text(&s));
                    backoff().await;
                    break;
                }
            }
            let started = Instant::now();
            match client.get_case(get_case(&case_id)).await {
                Ok(_) => rec.ok(1, started),
                Err(s) => {
                    rec.error("get_case", status_text(&s));
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
        let started = Instant::now();
        match client.check(HealthCheckRequest { service: PERSON_SERVICE.into() }).await {
            Ok(r) if r.get_ref().status == ServingStatus::Serving as i32 => rec.ok(0, started),
            Ok(r) => {
                rec.error("health", format!("status {}", r.get_ref().status));
                backoff().await;
            }
            Err(s) => {
                rec.error("health", status_text(&s));
                backoff().await;
            }
        }
    }
    rec
}

/// `tasks` tasks appending records like the server's (a RecordContact by a
/// bearer-token principal, one case id) to a fresh audit trail.
async fn audit_alone(
    tmp_parent: &Path,
    tasks: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Measured> {
    let dir = tempfile::Builder::new().prefix("leye-bench-trust-audit-").tempdir_in(tmp_parent)?;
    let log = AuditLog::open(&dir.path().join("audit.sqlite"), &dir.path().join("audit.key"), AuditOptions::default())
        .context("opening the audit trail")?;
    let window = Window::starting_now(warmup, duration);
    let measured = run_clients(tasks, window, 1, |i, mut rec| {
        let log = log.clone();
        async move {
            let peer = format!("127.0.0.1:{}", 40_000 + i);
            while rec.running() {
                let record = AuditRecord {
                    time: chrono::Utc::now(),
                    principal: "staff-0042".into(),
                    authn: format!("bearer:{}", leye_auth::dev::DEV_ISSUER),
                    peer: peer.clone(),
                    operation: format!("{PERSON_SERVICE}/RecordContact"),
                    case_ids: vec![Uuid::new_v4()],
                    outcome: "OK".into(),
                    reason: String::new(),
                };
                let started = Instant::now();
                match log.record(record).await {
                    Ok(_) => rec.ok(0, started),
                    Err(e) => {
                        rec.error("audit", e);
                        backoff().await;
                    }
                }
            }
            rec
        }
    })
    .await;
    log.close().await;
    measured
}

// ---------------------------------------------------------------------------
// (b) the attack

/// The attacker's connections and the responses it holds unread.
struct Attacker {
    _channels: Vec<Authed>,
    _held: Vec<tonic::Response<tonic::Streaming<pb::ReplayCaseResponse>>>,
    held: usize,
    refused: usize,
    errors: Vec<String>,
}

/// Opens `conns` connections one after the other, each with `streams`
/// ReplayCase requests; waits for each response's headers and never reads its
/// body. The connections use 64 KiB windows without auto-tuning, so the
/// server can send at most 64 KiB per connection.
async fn open_attack(addr: SocketAddr, token: &str, case_id: &str, conns: usize, streams: usize) -> Attacker {
    let mut me = Attacker { _channels: Vec::new(), _held: Vec::new(), held: 0, refused: 0, errors: Vec::new() };
    for _ in 0..conns {
        let channel = match attack_channel(addr, token).await {
            Ok(c) => c,
            Err(e) => {
                me.errors.push(format!("connect: {e:#}"));
                continue;
            }
        };
        let grpc = tonic::client::Grpc::new(channel.clone());
        let mut calls = Vec::new();
        for _ in 0..streams {
            let mut grpc = grpc.clone();
            let request = pb::ReplayCaseRequest { case_id: case_id.into() };
            calls.push(async move {
                grpc.ready().await.map_err(|e| tonic::Status::unavailable(e.to_string()))?;
                let codec = LeyeCodec::<pb::ReplayCaseRequest, pb::ReplayCaseResponse>::default();
                grpc.server_streaming(tonic::Request::new(request), PathAndQuery::from_static(REPLAY_PATH), codec).await
            });
        }
        match tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(calls)).await {
            Ok(answers) => {
                for a in answers {
                    match a {
                        Ok(r) => {
                            me.held += 1;
                            me._held.push(r);
                        }
                        Err(s) => {
                            me.refused += 1;
                            if me.errors.len() < 4 {
                                me.errors.push(status_text(&s));
                            }
                        }
                    }
                }
            }
            Err(_) => me.errors.push("response headers not within 60 s".into()),
        }
        me._channels.push(channel);
    }
    me
}

async fn attack_channel(addr: SocketAddr, token: &str) -> anyhow::Result<Authed> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .http2_adaptive_window(false)
        .connect()
        .await?;
    Ok(InterceptedService::new(channel, Bearer::new(token)?))
}

/// One row of the attack table.
struct AttackRow {
    label: String,
    held: usize,
    refused: usize,
    setup: Duration,
    rss_before: u64,
    rss_peak: u64,
    rss_after: u64,
    probes: Measured,
    attack_errors: Vec<String>,
}

impl AttackRow {
    fn print(&self) {
        let per_stream = if self.held > 0 {
            format!("{:.1}", self.rss_peak.saturating_sub(self.rss_before) as f64 / self.held as f64)
        } else {
            "-".into()
        };
        let mib = |k: u64| format!("{:.1}", k as f64 / 1024.0);
        println!(
            "{:<14} {:>6} {:>7} {:>9.1} {:>9} {:>9} {:>12} {:>9} {:>9.1} {:>9} {:>9} {:>9} {:>7}",
            self.label,
            self.held,
            self.refused,
            self.setup.as_secs_f64(),
            mib(self.rss_before),
            mib(self.rss_peak),
            per_stream,
            mib(self.rss_after),
            self.probes.rate(),
            quantile(&self.probes.rec.all, 0.50),
            quantile(&self.probes.rec.all, 0.99),
            max(&self.probes.rec.all),
            self.probes.rec.errors,
        );
    }
}

/// Baseline (`conns` = 0) or one attack size: the attacker opens and holds its
/// streams while the probes call GetCase; RSS sampled throughout.
async fn attack_run(
    args: &Args,
    server: &StartedServer,
    token: &str,
    case_id: &str,
    probes: &Authed,
    conns: usize,
) -> anyhow::Result<AttackRow> {
    let duration = Duration::from_secs(args.duration_secs);
    let pid = server.pid;
    let rss_before = rss_kib(pid).ok_or_else(|| anyhow!("no VmRSS for pid {pid}"))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut peak = rss_kib(pid).unwrap_or(0);
        while !*stopped.borrow() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            peak = peak.max(rss_kib(pid).unwrap_or(0));
        }
        peak
    });
    let started = Instant::now();
    let attacker = open_attack(server.addr, token, case_id, conns, args.streams as usize).await;
    let setup = started.elapsed();
    let window = Window::starting_now(Duration::ZERO, duration);
    let case_id = case_id.to_string();
    let probes = run_clients(args.probes as usize, window, 1, |_, mut rec| {
        let mut client = PersonCaseServiceClient::new(probes.clone());
        let case_id = case_id.clone();
        async move {
            while rec.running() {
                let started = Instant::now();
                match client.get_case(get_case(&case_id)).await {
                    Ok(_) => rec.ok(0, started),
                    Err(s) => {
                        rec.error("get_case", status_text(&s));
                        backoff().await;
                    }
                }
            }
            rec
        }
    })
    .await?;
    let _ = stop.send(true);
    let rss_peak = sampler.await.context("the RSS sampler")?;
    let (held, refused, errors) = (attacker.held, attacker.refused, attacker.errors.clone());
    drop(attacker); // resets the held streams and closes the connections
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_kib(pid).unwrap_or(0);
    let label = if conns == 0 { "baseline".to_string() } else { format!("{conns} × {}", args.streams) };
    Ok(AttackRow { label, held, refused, setup, rss_before, rss_peak, rss_after, probes, attack_errors: errors })
}

/// Registers a person and records `contacts` contacts on the case.
async fn big_case(
    addr: SocketAddr,
    token: &str,
    persons: &std::sync::atomic::AtomicU32,
    contacts: u32,
) -> anyhow::Result<String> {
    let mut client = PersonCaseServiceClient::new(connect(addr, token).await?);
    let person = persons.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let registered = client.register_unemployment(registration(person)).await?.into_inner();
    let case_id = registered.result.context("the registration answered without a command result")?.case_id;
    for i in 0..contacts {
        client.record_contact(contact(&case_id, i)).await.context("recording a contact on the replayed case")?;
    }
    Ok(case_id)
}

/// Resident set size of `pid`, KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}

// ---------------------------------------------------------------------------
// Requests

/// A valid resident ID (ISO 7064 MOD 11-2 check character) for person `n`.
fn resident_id(n: u32) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let birth =
        chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap_or_default() + chrono::Duration::days(i64::from(n % 9000));
    let first17 = format!("120111{}{:03}", birth.format("%Y%m%d"), n / 9000 % 1000);
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    format!("{first17}{}", b"10X98765432"[(sum % 11) as usize] as char)
}

/// Yesterday in Beijing: an effective date every command accepts.
fn yesterday() -> String {
    (leye_domain::beijing_date(chrono::Utc::now()) - chrono::Duration::days(1)).to_string()
}

fn context() -> Option<CommandContext> {
    // No actor: the token's principal acts.
    Some(CommandContext {
        command_id: Uuid::new_v4().to_string(),
        correlation_id: Uuid::new_v4().to_string(),
        office: "120111001".into(),
        ..Default::default()
    })
}

fn registration(person: u32) -> pb::RegisterUnemploymentRequest {
    pb::RegisterUnemploymentRequest {
        context: context(),
        effective_date: yesterday(),
        registration: Some(pb::Registration {
            resident_id: resident_id(person),
            name: "张伟".into(),
            hukou: Some(pb::Hukou { district_code: "130102".into(), nature: pb::HukouNature::Rural as i32 }),
            residence: Some(pb::Residence {
                district_code: "120111".into(),
                street_code: "120111001".into(),
                community_code: "120111001002".into(),
            }),
            education: pb::Education::SeniorSecondary as i32,
            graduation: None,
            household: None,
            groups: vec![pb::PersonGroup::MigrantWorker as i32],
            personal_data: 0,
        }),
    }
}

fn contact(case_id: &str, i: u32) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: context(),
        case_id: case_id.into(),
        effective_date: yesterday(),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: format!("回访 {i}：仍在求职，意向岗位为仓储物流，已推送三条岗位信息，约定下周再联系。"),
        }),
    }
}

fn get_case(case_id: &str) -> pb::GetCaseRequest {
    pb::GetCaseRequest { case_id: case_id.into(), as_of: None }
}

fn status_text(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// After an error, so a failing server does not make a client spin.
async fn backoff() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

// ---------------------------------------------------------------------------
// Measuring

/// Runs `n` clients (see [`leye::bench::run_clients`]) and keeps their window.
async fn run_clients<F, Fut>(n: usize, window: Window, kinds: usize, client: F) -> anyhow::Result<Measured>
where
    F: Fn(usize, Recorder) -> Fut,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    let rec = leye::bench::run_clients(n, window, kinds, client).await?;
    Ok(Measured { rec, window })
}

/// One workload's figures.
#[derive(Debug)]
struct Measured {
    rec: Recorder,
    window: Window,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.rec.all.len() as f64 / self.window.seconds()
    }

    fn print_row(&self, name: &str) {
        println!(
            "{:<44} {:>10.1} {:>9.0} {:>9} {:>9} {:>9} {:>7}",
            name,
            self.rate(),
            self.rec.all.mean(),
            quantile(&self.rec.all, 0.50),
            quantile(&self.rec.all, 0.99),
            max(&self.rec.all),
            self.rec.errors,
        );
    }

    fn print_kind_row(&self, kind: usize, name: &str) {
        let Some(h) = self.rec.kinds.get(kind) else { return };
        println!(
            "{:<44} {:>10.1} {:>9.0} {:>9} {:>9} {:>9}",
            format!("  · {name}"),
            h.len() as f64 / self.window.seconds(),
            h.mean(),
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

// ---------------------------------------------------------------------------
// The server

struct StartedServer {
    child: tokio::process::Child,
    pid: u32,
    exe: PathBuf,
    addr: SocketAddr,
    /// Holds the data directory and the log; removed when dropped.
    _dir: tempfile::TempDir,
    data_dir: PathBuf,
    log: PathBuf,
}

impl StartedServer {
    /// SIGTERM, then wait; returns the tail of the log.
    async fn stop(&mut self) -> anyhow::Result<String> {
        let _ = tokio::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .stdin(Stdio::null())
            .status()
            .await
            .context("running kill -TERM")?;
        match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(status) => {
                let status = status.context("waiting for leye serve")?;
                if !status.success() {
                    eprintln!("warning: leye serve exited with {status}");
                }
            }
            Err(_) => {
                self.child.kill().await.context("killing leye serve")?;
                bail!("leye serve did not stop within 20 s of SIGTERM; killed. Log:\n{}", log_tail(&self.log));
            }
        }
        Ok(log_tail(&self.log))
    }
}

/// Starts `leye serve` from next to this executable on a free loopback port and
/// a fresh data directory, and waits until it answers its health check.
async fn start_server(tmp_parent: &Path, log_filter: &str) -> anyhow::Result<StartedServer> {
    let exe = std::env::current_exe().context("locating the bench executable")?.with_file_name("leye");
    ensure!(exe.is_file(), "{} not found: build it first (cargo build --release -p leye --bin leye)", exe.display());
    let dir = tempfile::Builder::new().prefix("leye-bench-trust-server-").tempdir_in(tmp_parent)?;
    let data_dir = dir.path().join("data");
    let log = dir.path().join("leye-serve.log");
    let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let metrics = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
    let mut command = tokio::process::Command::new(&exe);
    command
        .arg("serve")
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--metrics-listen")
        .arg(metrics.to_string())
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--policy-finder", "false"])
        .env("LEYE_LOG", log_filter)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") && k != "LEYE_LOG" {
            command.env_remove(k);
        }
    }
    let mut child = command.spawn().with_context(|| format!("starting {}", exe.display()))?;
    let pid = child.id().ok_or_else(|| anyhow!("leye serve exited at once"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("leye serve exited early ({status}); log:\n{}", log_tail(&log));
        }
        if let Ok(Ok(true)) = tokio::time::timeout(Duration::from_secs(2), serving(addr)).await {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill().await;
            bail!("leye serve did not answer SERVING within 30 s; log:\n{}", log_tail(&log));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(StartedServer { child, pid, exe, addr, _dir: dir, data_dir, log })
}

async fn serving(addr: SocketAddr) -> anyhow::Result<bool> {
    let channel: Channel = Endpoint::from_shared(format!("http://{addr}"))?.connect().await?;
    let r = HealthClient::new(channel).check(HealthCheckRequest { service: PERSON_SERVICE.into() }).await?;
    Ok(r.get_ref().status == ServingStatus::Serving as i32)
}

/// A token of the server's development issuer: a city-wide caseworker who may
/// also replay (auditor).
fn bench_token(data_dir: &Path) -> anyhow::Result<String> {
    let (key, _) = leye::trust::dev_issuer(data_dir)?;
    let roles = [leye_auth::Role::Caseworker, leye_auth::Role::Auditor];
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new("staff-0042", &roles, &["120000"])
    };
    Ok(leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp())?)
}

async fn connect(addr: SocketAddr, token: &str) -> anyhow::Result<Authed> {
    let channel = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    Ok(InterceptedService::new(channel, Bearer::new(token)?))
}
