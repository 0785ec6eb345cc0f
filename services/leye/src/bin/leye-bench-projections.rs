//! `leye-bench-projections`: how fast are the read model's rebuild and its
//! queries, on a realistic log?
//!
//! # What it does
//! For each size of `--people` (comma-separated), in a fresh store:
//! 1. **Generates** a synthetic Tianjin population (`leye::generate`): `--people`
//!    persons, two years of lifecycles up to today, from `--seed`. By default
//!    through the generator's **bulk path** (`--path bulk`: the same plans,
//!    deciders, payloads and ids as the command path, each person decided in
//!    memory and appended in one write; `generate/bulk.rs` says exactly how it
//!    differs); `--path command` sends every command through
//!    `PersonCases::execute`. Reports events/s and any rejection.
//! 2. **Raw read**: the whole global log with `read_all` in batches of 2 000
//!    (the batch the rebuild reads): events/s, the ceiling for a rebuild.
//! 3. **Rebuild**: `projections::runner::rebuild` of a fresh read-model
//!    directory from position zero: events/s, the ratio rebuild / raw read of
//!    the same run, and the peak resident memory during the rebuild.
//!    `--rounds N` alternates steps 2 and 3 N times: each rebuild is
//!    compared with the raw read just before it, and the median of the
//!    rounds' ratios is printed (and used in the growth table).
//!    With `--live-fold`, each round also folds the whole log through the
//!    live projector (`Projector::open`, one transaction a batch of 2 000,
//!    as a standby's read model catches up and as the publisher's leader
//!    folds under load): its events/s and CPU µs an event beside the raw
//!    read and the rebuild.
//! 4. **Queries**: every target (`ReadModel::targets`) for the last 12 months,
//!    as of today, for the city, one district (Xiqing) and one community (its
//!    largest), and the city's action lists (long-term, overdue follow-ups,
//!    matchmaker breaches, zero-employment households, a page of eligible
//!    persons): up to `--runs` timed runs each after one warm-up (fewer once
//!    a query has taken 20 s in all, never fewer than 3), p50 / p99 / max.
//!
//! Then it prints the target values of the generated population and, with
//! several sizes, the figures side by side and the growth factor from one
//! size to the next. It stops by itself; each temporary data directory
//! (under `--temp-dir`, else the system's) is removed after its size unless
//! `--data-dir` names one (one size only; it must be new or empty and is left
//! as a data directory `leye serve --data-dir` can open).
//!
//! # How to run
//! ```text
//! cargo build --release -p leye --bins
//! target/release/leye-bench-projections [--people 10000,100000,500000] [--seed 1] [--path bulk|command]
//!                                       [--temp-dir DIR] [--data-dir DIR] [--concurrency 32] [--runs 20]
//!                                       [--rounds 1]
//! target/release/leye-bench-projections --queries-only DIR[,DIR…] [--runs 20]
//! ```

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use chrono::{Datelike, Months, NaiveDate, Utc};
use clap::Parser;
use leye::{
    cases::PersonCases,
    generate::{GenProgress, GeneratorConfig, generate},
    identity::CaseIds,
};
use leye_domain::beijing_date;
use leye_projections::{
    Jurisdiction, Period, Projector, ReadModel, TargetParams,
    read_model::{IndexStats, TargetReport},
    runner::{self, ReadModelDir},
    targets::{ExitReview, LongTerm, Matchmaker, Overdue, SpellList},
};
use leye_store::{EventStore, SqliteStore, SqliteStoreOptions};

/// Events per `read_all` call, as the projector's rebuild reads them.
const READ_BATCH: usize = 2000;
/// The store file and key file inside a data directory, as `leye serve` names them.
const STORE_FILE: &str = leye::config::STORE_FILE;
const KEY_FILE: &str = "pseudonym.key";
/// The district whose queries are timed: Xiqing, where most of the sources come from.
const DISTRICT: &str = "120111";

/// Rebuild and query throughput of the read model on a generated population.
#[derive(Debug, Parser)]
#[command(name = "leye-bench-projections", version, about)]
struct Args {
    /// Persons to generate (≈ 17 events each); several sizes, comma-separated,
    /// are measured one after another, each in a fresh store, and compared.
    #[arg(long, value_delimiter = ',', default_value = "20000", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    people: Vec<u64>,
    /// How the population is written: `bulk` (each person decided in memory,
    /// one append per person) or `command` (`PersonCases::execute` per command).
    #[arg(long, value_enum, default_value_t = WritePath::Bulk)]
    path: WritePath,
    /// Seed of the population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Data directory to fill (new or empty; one size only); default: a
    /// temporary one per size, removed after it.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With `--data-dir`: measure the log an earlier run left there, as it is
    /// (no generation; `--people` should name the size it was made with), so
    /// two builds can be compared on the same log.
    #[arg(long, requires = "data_dir")]
    reuse: bool,
    /// Where the temporary data directories go (default: the system's temp dir).
    #[arg(long)]
    temp_dir: Option<PathBuf>,
    /// Persons generated at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,
    /// Raw reads and rebuilds, alternated (the ratio printed is the median).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100))]
    rounds: u64,
    /// Also fold the whole log through the live projector in each round.
    #[arg(long)]
    live_fold: bool,
    /// Timed runs of each query.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    runs: u64,
    /// Only time the queries (step 4), on the read models of data directories
    /// an earlier run left with `--data-dir` (comma-separated, smallest first).
    #[arg(long, value_delimiter = ',')]
    queries_only: Vec<PathBuf>,
}

/// How the population is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum WritePath {
    Bulk,
    Command,
}

fn main() -> ExitCode {
    let args = Args::parse();
    leye::bench::main(async { run(args).await.map(|()| true) })
}

async fn run(args: Args) -> anyhow::Result<()> {
    if !args.queries_only.is_empty() {
        return queries_only(&args);
    }
    ensure!(
        args.data_dir.is_none() || args.people.len() == 1,
        "--data-dir keeps one size's data: give one --people size with it"
    );
    let mut sizes = Vec::new();
    for &people in &args.people {
        sizes.push(run_size(&args, people).await?);
    }
    if sizes.len() > 1 {
        print_growth(&sizes);
    }
    Ok(())
}

/// What one size measured, for the comparison at the end.
struct SizeFigures {
    people: u64,
    events: u64,
    generate_rate: f64,
    raw_rate: f64,
    rebuild_rate: f64,
    /// Median of the rounds' rebuild / raw read.
    ratio: f64,
    rebuild_secs: f64,
    rebuild_peak_rss: Option<u64>,
    /// (name, p50, p99, max) per timed query.
    queries: Vec<(String, Duration, Duration, Duration)>,
}

async fn run_size(args: &Args, people: u64) -> anyhow::Result<SizeFigures> {
    let today = beijing_date(Utc::now());
    let (data_dir, _temp) = match &args.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let empty = std::fs::read_dir(dir)?.next().is_none();
            if args.reuse {
                ensure!(dir.join(STORE_FILE).exists(), "--reuse: {} holds no event store", dir.display());
            } else {
                ensure!(empty, "--data-dir {} must be new or empty: the bench needs a fresh store", dir.display());
            }
            (dir.clone(), None)
        }
        None => {
            let mut builder = tempfile::Builder::new();
            builder.prefix("leye-bench-projections-");
            let temp = match &args.temp_dir {
                Some(parent) => builder.tempdir_in(parent)?,
                None => builder.tempdir()?,
            };
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let store = SqliteStore::open(data_dir.join(STORE_FILE), SqliteStoreOptions::default())
        .await
        .context("opening the event store")?;
    let ids = CaseIds::load_or_create(&data_dir.join(KEY_FILE))?;
    let cases = PersonCases::new(store.clone(), ids, Arc::new(Utc::now));
    let mut cfg = GeneratorConfig::new(args.seed, usize::try_from(people)?, today);
    cfg.concurrency = usize::try_from(args.concurrency)?;
    cfg.bulk = args.path == WritePath::Bulk;

    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("leye-bench-projections");
    println!(
        "  {} persons, seed {}, window {} .. {}, {} at a time; {cores} cores; data in {} ({})",
        cfg.people,
        cfg.seed,
        cfg.start,
        cfg.end,
        cfg.concurrency,
        data_dir.display(),
        filesystem_of(&data_dir)
    );

    // --- 1. generation ----------------------------------------------------------
    let generate_rate = if args.reuse {
        println!();
        println!("1. Generation: none, the log left in {} by an earlier run is measured", data_dir.display());
        0.0
    } else {
        generation(&cases, &cfg, args.path).await?
    };

    // --- 2./3. raw read of the log, then a rebuild, `rounds` times -------------
    // One raw read and one rebuild are each a few seconds to a minute on a
    // shared machine whose other load moves either by a factor of two: the
    // rounds alternate them and the ratio printed is the median of the
    // rounds' ratios (each rebuild against the raw read just before it).
    let read_models = ReadModelDir::new(data_dir.join("read-model"));
    let mut rounds = Vec::new();
    for _ in 0..args.rounds {
        let raw = raw_read(&store).await?;
        let rebuilt = rebuild(&store, &read_models).await?;
        ensure!(
            rebuilt.events == raw.events,
            "the rebuild folded {} events, the log holds {}",
            rebuilt.events,
            raw.events
        );
        let live = if args.live_fold { Some(live_fold(&store, &data_dir).await?) } else { None };
        if let Some(live) = &live {
            ensure!(
                live.events == raw.events,
                "the live fold folded {} events, the log holds {}",
                live.events,
                raw.events
            );
        }
        rounds.push(Round { raw, rebuilt, live });
    }
    let (events, bytes) = rounds.first().map_or((0, 0), |r| (r.raw.events, r.raw.bytes));
    let store_bytes = file_size(&data_dir.join(STORE_FILE));
    let median = |f: &dyn Fn(&Round) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        // An even number of rounds: the mean of the two middle ones, not the upper.
        let n = v.len();
        if n == 0 { 0.0 } else { (v[(n - 1) / 2] + v[n / 2]) / 2.0 }
    };
    let raw_rate = median(&|r| r.raw.rate());
    let rebuild_rate = median(&|r| r.rebuilt.rate());
    let rebuild_secs = median(&|r| r.rebuilt.secs);
    let ratio = median(&|r| r.rebuilt.rate() / r.raw.rate().max(1e-9));
    // The first rebuild's: a later one starts with what the allocator kept
    // of the earlier rounds (each round's is printed beside its rebuild).
    let rebuild_peak_rss = rounds.first().and_then(|r| r.rebuilt.peak_rss);
    let rss_before = rounds.first().and_then(|r| r.rebuilt.rss_before);
    let db = read_models.current()?;

    println!();
    println!("2./3. Reading the log and rebuilding the read model ({events} events)");
    // CPU time of the whole process (every thread) per event: what the
    // machine's other load cannot change, unlike the seconds.
    let per_event =
        |cpu: Option<f64>| cpu.map_or_else(|| "?".into(), |c| format!("{:.2}", c * 1e6 / events.max(1) as f64));
    println!(
        "  {:<52} {:>10} {:>12} {:>10} {:>12} {:>9}",
        "", "seconds", "events/s", "vs raw", "CPU µs/event", "peak RSS"
    );
    for (i, Round { raw, rebuilt, live }) in rounds.iter().enumerate() {
        let round = if rounds.len() > 1 { format!(" (round {})", i + 1) } else { String::new() };
        println!(
            "  {:<52} {:>10.2} {:>12.0} {:>10.2} {:>12}",
            format!("raw read_all, batches of 2 000{round}"),
            raw.secs,
            raw.rate(),
            1.0,
            per_event(raw.cpu)
        );
        println!(
            "  {:<52} {:>10.2} {:>12.0} {:>10.2} {:>12} {:>9}",
            format!("rebuild (read ∥ decode ∥ fold){round}"),
            rebuilt.secs,
            rebuilt.rate(),
            rebuilt.rate() / raw.rate().max(1e-9),
            per_event(rebuilt.cpu),
            rebuilt.peak_rss.map_or_else(|| "?".to_string(), |b| format!("{:.0} MiB", mib(b)))
        );
        if let Some(live) = live {
            println!(
                "  {:<52} {:>10.2} {:>12.0} {:>10.2} {:>12}",
                format!("live fold (a transaction a batch){round}"),
                live.secs,
                live.rate(),
                live.rate() / raw.rate().max(1e-9),
                per_event(live.cpu)
            );
        }
    }
    if rounds.len() > 1 {
        println!(
            "  median of {} rounds: raw {raw_rate:.0} events/s, rebuild {rebuild_rate:.0} events/s, rebuild / raw {ratio:.2}",
            rounds.len()
        );
    }
    println!(
        "  payload + metadata {:.1} MiB; store file {:.1} MiB; read model {:.1} MiB; peak RSS during the first rebuild {} \
         ({} at its start)",
        mib(bytes),
        mib(store_bytes),
        mib(file_size(&db)),
        rebuild_peak_rss.map_or_else(|| "unknown".to_string(), |b| format!("{:.0} MiB", mib(b))),
        rss_before.map_or_else(|| "unknown".to_string(), |b| format!("{:.0} MiB", mib(b)))
    );

    // --- 4. queries ---------------------------------------------------------------
    let runs = usize::try_from(args.runs)?;
    let queried = tokio::task::spawn_blocking(move || queries(&db, today, runs)).await??;
    println!();
    println!(
        "4. Query latency (up to {runs} runs each after a warm-up, fewer past {} s; period {} .. {today}, as of {today})",
        QUERY_BUDGET.as_secs(),
        queried.period.from
    );
    let figures = print_timings(&queried);

    for report in &queried.reports {
        println!();
        print_report(report);
    }
    println!();
    store.close().await;
    Ok(SizeFigures {
        people,
        events,
        generate_rate,
        raw_rate,
        rebuild_rate,
        ratio,
        rebuild_secs,
        rebuild_peak_rss,
        queries: figures,
    })
}

/// (label, p50, p99, max) of one timed query.
type QueryFigure = (String, Duration, Duration, Duration);

/// The query table of one size (and the index's load time and memory);
/// returns (label, p50, p99, max) per query.
fn print_timings(queried: &Queried) -> Vec<QueryFigure> {
    let ix = &queried.index;
    println!(
        "  person-case index: {} cases, {:.1} MiB ({:.0} bytes a case), loaded whole in {:.2} s on first use",
        ix.cases,
        mib(ix.heap_bytes as u64),
        ix.heap_bytes as f64 / ix.cases.max(1) as f64,
        queried.index_load.as_secs_f64()
    );
    let (walked, took) = queried.prepared;
    println!(
        "  the city's dashboard reports (as the server's warm-keeper prepares them): {walked} walked and kept in {:.2} s",
        took.as_secs_f64()
    );
    println!("  {:<52} {:>8} {:>6} {:>10} {:>10} {:>10}", "query", "rows", "runs", "p50 ms", "p99 ms", "max ms");
    let mut figures = Vec::new();
    for q in &queried.timings {
        let (p50, p99, max) = (percentile(&q.samples, 0.50), percentile(&q.samples, 0.99), percentile(&q.samples, 1.0));
        let n = q.samples.len();
        println!("  {:<52} {:>8} {n:>6} {:>10.2} {:>10.2} {:>10.2}", q.name, q.rows, ms(p50), ms(p99), ms(max));
        figures.push((q.label.clone(), p50, p99, max));
    }
    figures
}

/// `--queries-only`: step 4 on the read models of existing data directories,
/// then the query figures side by side with their growth.
fn queries_only(args: &Args) -> anyhow::Result<()> {
    let today = beijing_date(Utc::now());
    let runs = usize::try_from(args.runs)?;
    let mut sizes: Vec<(String, usize, Vec<QueryFigure>)> = Vec::new();
    for dir in &args.queries_only {
        let db = ReadModelDir::new(dir.join("read-model")).current()?;
        println!("leye-bench-projections --queries-only {}", dir.display());
        let queried = queries(&db, today, runs)?;
        println!(
            "4. Query latency (up to {runs} runs each after a warm-up, fewer past {} s; period {} .. {today}, as of {today})",
            QUERY_BUDGET.as_secs(),
            queried.period.from
        );
        let figures = print_timings(&queried);
        for report in &queried.reports {
            println!();
            print_report(report);
        }
        println!();
        sizes.push((dir.display().to_string(), queried.index.cases, figures));
    }
    if sizes.len() > 1 {
        println!("Query growth (p50/p99 ms; persons in the index)");
        let row = |name: &str, values: Vec<String>| {
            println!("  {:<34} {}", name, values.iter().map(|v| format!("{v:>18}")).collect::<String>());
        };
        row("persons", sizes.iter().map(|s| s.1.to_string()).collect());
        for (i, (name, ..)) in sizes[0].2.iter().enumerate() {
            row(
                name,
                sizes
                    .iter()
                    .map(|s| s.2.get(i).map_or_else(|| "?".into(), |q| format!("{:.1}/{:.1}", ms(q.1), ms(q.2))))
                    .collect(),
            );
        }
    }
    Ok(())
}

/// Step 1: generates the population, prints what was written; events/s.
async fn generation(cases: &PersonCases<SqliteStore>, cfg: &GeneratorConfig, path: WritePath) -> anyhow::Result<f64> {
    let summary = generate(cases, cfg, |p: GenProgress| {
        eprint!(
            "\r  generating: {}/{} persons, {} commands, {:.0} commands/s, {:.0} events/s   ",
            p.persons_done,
            p.persons_total,
            p.commands,
            p.commands_per_second(),
            p.events as f64 / p.elapsed.as_secs_f64().max(1e-9)
        );
    })
    .await?;
    eprintln!();
    let secs = summary.elapsed.as_secs_f64();
    println!();
    match path {
        WritePath::Bulk => println!(
            "1. Generation, bulk path (same plans, deciders and payloads as the command path; each person decided in \
             memory, one append per person; enterprises through the command path)"
        ),
        WritePath::Command => println!("1. Generation (PersonCases::execute, SQLite, group commit)"),
    }
    println!("  persons {:>10}   households {:>9}", summary.persons, summary.households);
    println!(
        "  commands {:>9}   accepted {:>11}   rejected by design {:>4}   rejected otherwise {:>4} {:?}",
        summary.commands, summary.accepted, summary.rejected_by_design, summary.rejected_unexpected, summary.rejections
    );
    let generate_rate = summary.events as f64 / secs.max(1e-9);
    println!(
        "  events {:>11}   per person {:>9.1}   in {:.1} s: {:.0} commands/s, {:.0} events/s",
        summary.events,
        summary.events as f64 / summary.persons.max(1) as f64,
        secs,
        summary.commands_per_second(),
        generate_rate
    );
    let kinds: Vec<String> = summary.by_command.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  by command: {}", kinds.join(", "));
    Ok(generate_rate)
}

/// The sizes side by side, and the growth from one size to the next.
fn print_growth(sizes: &[SizeFigures]) {
    println!("Growth from one size to the next (ratio of the figures; p99 for queries)");
    let head: Vec<String> = sizes.iter().map(|s| format!("{} persons", s.people)).collect();
    println!("  {:<34} {}", "", head.iter().map(|h| format!("{h:>18}")).collect::<String>());
    let row = |name: &str, values: Vec<String>| {
        println!("  {:<34} {}", name, values.iter().map(|v| format!("{v:>18}")).collect::<String>());
    };
    row("events", sizes.iter().map(|s| s.events.to_string()).collect());
    row("generate events/s", sizes.iter().map(|s| format!("{:.0}", s.generate_rate)).collect());
    row("raw read events/s", sizes.iter().map(|s| format!("{:.0}", s.raw_rate)).collect());
    row("rebuild events/s", sizes.iter().map(|s| format!("{:.0}", s.rebuild_rate)).collect());
    row("rebuild / raw read", sizes.iter().map(|s| format!("{:.2}", s.ratio)).collect());
    row("rebuild seconds", sizes.iter().map(|s| format!("{:.1}", s.rebuild_secs)).collect());
    row(
        "rebuild peak RSS MiB",
        sizes.iter().map(|s| s.rebuild_peak_rss.map_or_else(|| "?".into(), |b| format!("{:.0}", mib(b)))).collect(),
    );
    for (i, (name, ..)) in sizes[0].queries.iter().enumerate() {
        row(
            &format!("{name} p50/p99 ms"),
            sizes
                .iter()
                .map(|s| s.queries.get(i).map_or_else(|| "?".into(), |q| format!("{:.1}/{:.1}", ms(q.1), ms(q.2))))
                .collect(),
        );
    }
    println!();
    for pair in sizes.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let ratio = |x: f64, y: f64| y / x.max(1e-12);
        let mut parts = vec![
            format!("events ×{:.1}", ratio(a.events as f64, b.events as f64)),
            format!("rebuild events/s ×{:.2}", ratio(a.rebuild_rate, b.rebuild_rate)),
            format!("rebuild/raw {:.2} → {:.2}", a.ratio, b.ratio),
        ];
        for (qa, qb) in a.queries.iter().zip(&b.queries) {
            parts.push(format!("{} p99 ×{:.2}", qa.0, ratio(ms(qa.2), ms(qb.2))));
        }
        println!("  {} → {} persons: {}", a.people, b.people, parts.join(", "));
    }
}

/// One round of step 2./3.: a raw read, a rebuild and, with `--live-fold`,
/// the live projector's fold, one after another.
struct Round {
    raw: Pass,
    rebuilt: Pass,
    live: Option<Pass>,
}

/// One timed pass over the log: a raw read, a rebuild or a live fold.
struct Pass {
    events: u64,
    /// Payload and metadata bytes read (raw read only).
    bytes: u64,
    secs: f64,
    /// CPU seconds of the whole process during the pass.
    cpu: Option<f64>,
    /// Peak and starting RSS (rebuild only).
    peak_rss: Option<u64>,
    rss_before: Option<u64>,
}

impl Pass {
    fn rate(&self) -> f64 {
        self.events as f64 / self.secs.max(1e-9)
    }
}

/// The raw limit: the whole log read through the store's `read_all`, in
/// batches of [`READ_BATCH`], nothing done with the events.
async fn raw_read(store: &SqliteStore) -> anyhow::Result<Pass> {
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let (mut after, mut events, mut bytes) = (None, 0u64, 0u64);
    loop {
        let batch = store.read_all(after, READ_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.position);
        events += batch.len() as u64;
        bytes += batch.iter().map(|e| (e.data.len() + e.metadata.len()) as u64).sum::<u64>();
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_started).map(|(b, a)| b - a);
    Ok(Pass { events, bytes, secs, cpu, peak_rss: None, rss_before: None })
}

/// A rebuild of the read model from position zero into a new generation.
async fn rebuild(store: &SqliteStore, read_models: &ReadModelDir) -> anyhow::Result<Pass> {
    let peak_reset = reset_peak_rss();
    // What the process holds already (the generation's leftovers): the
    // rebuild's own memory is the peak above this.
    let rss_before = rss("VmRSS:");
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let (_, events) = runner::rebuild(store, read_models, |p| {
        eprint!(
            "\r  rebuilding: {}/{} events, {:.0} events/s, about {:.0} s left   ",
            p.events, p.total, p.events_per_second, p.seconds_left
        );
    })
    .await?;
    eprintln!();
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_started).map(|(b, a)| b - a);
    let peak_rss = peak_reset.then(|| rss("VmHWM:")).flatten();
    Ok(Pass { events, bytes: 0, secs, cpu, peak_rss, rss_before })
}

/// The whole log folded from position zero by the live projector, one
/// transaction a batch of [`READ_BATCH`] read by `read_all`, into a read
/// model in a directory of its own, removed with it afterwards: the rate at
/// which a server's read model that slept catches up, and what the
/// publisher's leader spends an event on its fold.
async fn live_fold(store: &SqliteStore, data_dir: &Path) -> anyhow::Result<Pass> {
    let dir = tempfile::Builder::new().prefix("live-fold-").tempdir_in(data_dir)?;
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let mut projector = Projector::open(&dir.path().join("read-model.sqlite"))?;
    let (mut after, mut events) = (None, 0u64);
    loop {
        let batch = store.read_all(after, READ_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.position);
        events += batch.len() as u64;
        projector = tokio::task::spawn_blocking(move || projector.apply(&batch).map(|()| projector)).await??;
    }
    drop(projector);
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu_started).map(|(b, a)| b - a);
    Ok(Pass { events, bytes: 0, secs, cpu, peak_rss: None, rss_before: None })
}

/// Resets the process's peak resident set (Linux: `/proc/self/clear_refs`,
/// value 5), so the next `VmHWM` ([`rss`]) is the rebuild's peak. False when the
/// system does not allow it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time (user + system, every thread) of this process so far, in
/// seconds ([`leye::bench::process_cpu_secs`]); `None` where it cannot be read.
fn cpu_seconds() -> Option<f64> {
    Some(leye::bench::process_cpu_secs()).filter(|s| *s > 0.0)
}

/// A memory figure of this process from `/proc/self/status`, in bytes:
/// `VmHWM:` the peak resident set since the last reset, `VmRSS:` the current.
fn rss(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// One timed query.
struct Timing {
    /// Short name for the comparison across sizes.
    label: String,
    name: String,
    rows: usize,
    samples: Vec<Duration>,
}

struct Queried {
    period: Period,
    /// The person-case index after its first load, and how long that took.
    index: IndexStats,
    index_load: Duration,
    /// The city's dashboard reports walked and kept after the load, and the time it took.
    prepared: (usize, Duration),
    timings: Vec<Timing>,
    reports: Vec<TargetReport>,
}

/// Times the targets for the city, a district and a community, and the city's
/// long-term list. Runs on a blocking thread (SQLite).
fn queries(db: &Path, today: NaiveDate, runs: usize) -> anyhow::Result<Queried> {
    let model = ReadModel::open(db)?;
    let started = Instant::now();
    let index = model.index_stats()?;
    let index_load = started.elapsed();
    let started = Instant::now();
    let walked = leye::analytics::prepare_city_dashboard(&model, today, &TargetParams::default())?;
    let prepared = (walked, started.elapsed());
    let params = TargetParams::default();
    let from = today.checked_sub_months(Months::new(12)).context("date out of range")?;
    let period = Period::new(from, today).map_err(anyhow::Error::msg)?;
    let city = Jurisdiction::city();
    let district = Jurisdiction::parse(DISTRICT).map_err(anyhow::Error::msg)?;
    // The district's community with the most persons known to the service.
    let largest = model
        .communities(&district, today)?
        .into_iter()
        .max_by_key(|c| (c.employed + c.unemployed, std::cmp::Reverse(c.community.clone())))
        .map(|c| c.community)
        .context("the district has no community with persons")?;
    let community = Jurisdiction::parse(&largest).map_err(anyhow::Error::msg)?;

    let mut timings = Vec::new();
    let mut reports = Vec::new();
    // The raw limit: one walk over every case of the index (each case's
    // spells), the least any city-wide figure costs in this design.
    let (samples, open) = timed(runs, || model.index_walk(today))?;
    timings.push(Timing {
        label: "raw walk".into(),
        name: "raw limit: one walk over every case's spells".into(),
        rows: open,
        samples,
    });
    for (label, j) in [("city", &city), ("district", &district), ("community", &community)] {
        let (samples, report) = timed(runs, || model.targets(j, period, today, &params))?;
        timings.push(Timing {
            label: format!("targets {label}"),
            name: format!("targets, {label} {}", if j.code().is_empty() { "(all)" } else { j.code() }),
            rows: report.targets.len(),
            samples,
        });
        reports.push(report);
    }
    // The city's report asked for the first time (a new as-of date each
    // run): no kept sums, a walk over every case (whose sums are kept then).
    let mut back = 0;
    let (samples, report) = timed(runs, || {
        back += 1;
        model.targets(&city, period, today - chrono::Days::new(back), &params)
    })?;
    timings.push(Timing {
        label: "targets city first".into(),
        name: "targets, city (all), first ask of its as-of date (a walk)".into(),
        rows: report.targets.len(),
        samples,
    });
    // Action lists of persons: the API asks the read model for one page (of
    // 100, as the dashboard shows them); the first and the last page of
    // each, for the city, the largest. The last page orders the whole list.
    let month = Period::new(today.with_day(1).unwrap_or(today), today).map_err(anyhow::Error::msg)?;
    let mut list = |label: &str, name: &str, f: &mut dyn FnMut() -> anyhow::Result<usize>| -> anyhow::Result<()> {
        let (samples, rows) = timed(runs, &mut *f)?;
        timings.push(Timing { label: label.into(), name: name.into(), rows, samples });
        Ok(())
    };
    type Timer<'t> = dyn FnMut(&str, &str, &mut dyn FnMut() -> anyhow::Result<usize>) -> anyhow::Result<()> + 't;
    fn pages<L: SpellList + Sync>(
        list: &mut Timer<'_>,
        model: &ReadModel,
        (label, name): (&str, &str),
        l: &L,
        (city, today): (&Jurisdiction, NaiveDate),
    ) -> anyhow::Result<()>
    where
        L::Key: Send,
    {
        const PAGE: usize = 100;
        let total = model.list_page(l, city, today, None, 0, PAGE)?.total;
        let last = total.saturating_sub(PAGE);
        list(&format!("{label} p1"), &format!("list: {name}, city, first page of {PAGE} (of {total})"), &mut || {
            Ok(model.list_page(l, city, today, None, 0, PAGE)?.rows.len())
        })?;
        list(&format!("{label} last"), &format!("list: {name}, city, last page (from {last})"), &mut || {
            Ok(model.list_page(l, city, today, None, last, PAGE)?.rows.len())
        })
    }
    let at = (&city, today);
    pages(&mut list, &model, ("list long-term", "long-term and at-risk"), &LongTerm::new(today, &params), at)?;
    let overdue = Overdue::new(today, params.followup_month_start_day);
    pages(&mut list, &model, ("list overdue", "overdue follow-ups"), &overdue, at)?;
    let exit = ExitReview::new(today, params.exit_review_months);
    pages(&mut list, &model, ("list exit review", "exit review"), &exit, at)?;
    let breaches = Matchmaker { period: month, a: today, days: params.recommendation_days };
    pages(&mut list, &model, ("list matchmaker", "matchmaker breaches this month"), &breaches, at)?;
    list("list long-term all", "list: long-term and at-risk, city, whole (an export)", &mut || {
        Ok(model.long_term(&city, today, &params)?.len())
    })?;
    list("list households", "list: zero-employment households, city", &mut || {
        Ok(model.zero_employment_households(&city, today, &params)?.len())
    })?;
    list("list eligible", "list: eligible, first page of 100, city", &mut || {
        Ok(model.eligible(&city, None, today, 0, 100)?.rows.len())
    })?;
    Ok(Queried { period, index, index_load, prepared, timings, reports })
}

/// Time one query may take in all before its runs stop early (at least
/// [`MIN_RUNS`] are made): city queries on a large population are slow.
const QUERY_BUDGET: Duration = Duration::from_secs(20);
const MIN_RUNS: usize = 3;

/// Runs `query` once to warm up, then `runs` times (fewer when they exceed
/// [`QUERY_BUDGET`], never fewer than [`MIN_RUNS`]), timing each.
fn timed<T, E>(runs: usize, mut query: impl FnMut() -> Result<T, E>) -> Result<(Vec<Duration>, T), E> {
    let mut last = query()?;
    let mut samples = Vec::with_capacity(runs);
    let budget = Instant::now();
    for _ in 0..runs {
        let started = Instant::now();
        last = query()?;
        samples.push(started.elapsed());
        if samples.len() >= MIN_RUNS && budget.elapsed() > QUERY_BUDGET {
            break;
        }
    }
    Ok((samples, last))
}

/// Nearest-rank percentile.
fn percentile(samples: &[Duration], q: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn print_report(r: &TargetReport) {
    let name = if r.jurisdiction.is_empty() { "city (all of Tianjin)" } else { r.jurisdiction.as_str() };
    println!("Targets for {name}, {} .. {}, as of {}", r.period_from, r.period_to, r.as_of);
    println!("  {:<40} {:>12} {:>10} {:>12}  {:<16} met", "target", "numerator", "denom.", "value", "goal");
    for t in &r.targets {
        let value = match t.denominator {
            Some(_) => format!("{:.1} %", t.value * 100.0),
            None if t.id.ends_with("_fen") => format!("{:.0} yuan", t.value / 100.0),
            None => format!("{:.0}", t.value),
        };
        let denominator = t.denominator.map_or_else(|| "-".to_string(), |d| d.to_string());
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "no",
            None => "n/a",
        };
        println!("  {:<40} {:>12} {:>10} {:>12}  {:<16} {met}", t.id, t.numerator, denominator, value, t.goal);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// A SQLite database's size with its WAL.
fn file_size(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    [path, wal.as_path()].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

/// The filesystem type holding `path` (from /proc/mounts), for context: fsync cost depends on it.
fn filesystem_of(path: &Path) -> String {
    let Ok(path) = path.canonicalize() else { return "unknown filesystem".into() };
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else { return "unknown filesystem".into() };
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, mount, fs) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(mount).then(|| (mount.len(), fs.to_string()))
        })
        .max()
        .map_or_else(|| "unknown filesystem".into(), |(_, fs)| fs)
}
