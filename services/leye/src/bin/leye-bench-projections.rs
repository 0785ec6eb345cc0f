//! `leye-bench-projections`: how fast are the read model's rebuild and its
//! queries, on a realistic log?
//!
//! # What it does
//! 1. **Generates** a synthetic Tianjin population (`leye::generate`) through
//!    the normal command path into a fresh SQLite store: `--people` persons,
//!    two years of lifecycles up to today, from `--seed`. Reports commands/s
//!    and events/s of the command path, and any rejection.
//! 2. **Raw read**: the whole global log with `read_all` in batches of 2 000
//!    (the batch the projector uses): events/s, the ceiling for a rebuild.
//! 3. **Rebuild**: `projections::runner::rebuild` of a fresh read-model
//!    directory from position zero: events/s, and the ratio rebuild / raw read
//!    (the share of the time spent reading; the rest is folding into SQLite).
//! 4. **Queries**: every target (`ReadModel::targets`) for the last 12 months,
//!    as of today, for the city, one district (Xiqing) and one community (its
//!    largest), and the city's long-term-unemployed list: `--runs` timed runs
//!    each after one warm-up, p50 / p99 / max.
//!
//! Then it prints the target values of the generated population. It stops by
//! itself; the temporary data directory is removed unless `--data-dir` names
//! one (which must be new or empty; it is left as a data directory `leye serve
//! --data-dir` can open).
//!
//! # How to run
//! ```text
//! cargo build --release -p leye --bins
//! target/release/leye-bench-projections [--people 20000] [--seed 1] [--data-dir DIR]
//!                                       [--concurrency 32] [--runs 20]
//! ```

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use chrono::{Months, NaiveDate, Utc};
use clap::Parser;
use leye::{
    cases::PersonCases,
    generate::{GenProgress, GeneratorConfig, generate},
    identity::CaseIds,
};
use leye_domain::beijing_date;
use leye_projections::{
    Jurisdiction, Period, ReadModel, TargetParams,
    read_model::TargetReport,
    runner::{self, ReadModelDir},
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
    /// Persons to generate (≈ 17 events each).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    people: u64,
    /// Seed of the population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Data directory to fill (new or empty); default: a temporary one, removed at the end.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Persons generated at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    concurrency: u64,
    /// Timed runs of each query.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    runs: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let today = beijing_date(Utc::now());
    let (data_dir, _temp) = match &args.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let empty = std::fs::read_dir(dir)?.next().is_none();
            ensure!(empty, "--data-dir {} must be new or empty: the bench needs a fresh store", dir.display());
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new().prefix("leye-bench-projections-").tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let store = SqliteStore::open(data_dir.join(STORE_FILE), SqliteStoreOptions::default())
        .await
        .context("opening the event store")?;
    let ids = CaseIds::load_or_create(&data_dir.join(KEY_FILE))?;
    let cases = PersonCases::new(store.clone(), ids, Arc::new(Utc::now));
    let mut cfg = GeneratorConfig::new(args.seed, usize::try_from(args.people)?, today);
    cfg.concurrency = usize::try_from(args.concurrency)?;

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

    // --- 1. generation through the command path ----------------------------
    let summary = generate(&cases, &cfg, |p: GenProgress| {
        eprint!(
            "\r  generating: {}/{} persons, {} commands, {:.0} commands/s   ",
            p.persons_done,
            p.persons_total,
            p.commands,
            p.commands_per_second()
        );
    })
    .await?;
    eprintln!();
    let secs = summary.elapsed.as_secs_f64();
    println!();
    println!("1. Generation (PersonCases::execute, SQLite, group commit)");
    println!("  persons {:>10}   households {:>9}", summary.persons, summary.households);
    println!(
        "  commands {:>9}   accepted {:>11}   rejected by design {:>4}   rejected otherwise {:>4} {:?}",
        summary.commands, summary.accepted, summary.rejected_by_design, summary.rejected_unexpected, summary.rejections
    );
    println!(
        "  events {:>11}   per person {:>9.1}   in {:.1} s: {:.0} commands/s, {:.0} events/s",
        summary.events,
        summary.events as f64 / summary.persons.max(1) as f64,
        secs,
        summary.commands_per_second(),
        summary.events as f64 / secs.max(1e-9)
    );
    let kinds: Vec<String> = summary.by_command.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  by command: {}", kinds.join(", "));

    // --- 2. raw read of the log ----------------------------------------------
    let started = Instant::now();
    let (mut after, mut events, mut bytes) = (None, 0u64, 0u64);
    loop {
        let batch = store.read_all(after, READ_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.position);
        events += batch.len() as u64;
        bytes += batch.iter().map(|e| (e.data.len() + e.metadata.len()) as u64).sum::<u64>();
    }
    let raw_secs = started.elapsed().as_secs_f64();
    let raw_rate = events as f64 / raw_secs.max(1e-9);
    let store_bytes = file_size(&data_dir.join(STORE_FILE));

    // --- 3. rebuild -------------------------------------------------------------
    let read_models = ReadModelDir::new(data_dir.join("read-model"));
    let started = Instant::now();
    let (db, folded) = runner::rebuild(&store, &read_models, |p| {
        eprint!("\r  rebuilding: {}/{} events, {:.0} events/s   ", p.events, p.total, p.events_per_second);
    })
    .await?;
    eprintln!();
    let rebuild_secs = started.elapsed().as_secs_f64();
    let rebuild_rate = folded as f64 / rebuild_secs.max(1e-9);
    ensure!(folded == events, "the rebuild folded {folded} events, the log holds {events}");

    println!();
    println!("2./3. Reading the log and rebuilding the read model ({events} events)");
    println!("  {:<44} {:>10} {:>12} {:>10}", "", "seconds", "events/s", "vs raw");
    println!("  {:<44} {:>10.2} {:>12.0} {:>10.2}", "raw read_all, batches of 2 000", raw_secs, raw_rate, 1.0);
    println!(
        "  {:<44} {:>10.2} {:>12.0} {:>10.2}",
        "rebuild (read + fold, one txn per batch)",
        rebuild_secs,
        rebuild_rate,
        rebuild_rate / raw_rate.max(1e-9)
    );
    println!(
        "  payload + metadata {:.1} MiB; store file {:.1} MiB; read model {:.1} MiB",
        mib(bytes),
        mib(store_bytes),
        mib(file_size(&db))
    );

    // --- 4. queries ---------------------------------------------------------------
    let runs = usize::try_from(args.runs)?;
    let queried = tokio::task::spawn_blocking(move || queries(&db, today, runs)).await??;
    println!();
    println!(
        "4. Query latency ({runs} runs each after a warm-up; period {} .. {today}, as of {today})",
        queried.period.from
    );
    println!("  {:<52} {:>8} {:>10} {:>10} {:>10}", "query", "rows", "p50 ms", "p99 ms", "max ms");
    for q in &queried.timings {
        println!(
            "  {:<52} {:>8} {:>10.2} {:>10.2} {:>10.2}",
            q.name,
            q.rows,
            ms(percentile(&q.samples, 0.50)),
            ms(percentile(&q.samples, 0.99)),
            ms(percentile(&q.samples, 1.0))
        );
    }

    for report in &queried.reports {
        println!();
        print_report(report);
    }
    store.close().await;
    Ok(())
}

/// One timed query.
struct Timing {
    name: String,
    rows: usize,
    samples: Vec<Duration>,
}

struct Queried {
    period: Period,
    timings: Vec<Timing>,
    reports: Vec<TargetReport>,
}

/// Times the targets for the city, a district and a community, and the city's
/// long-term list. Runs on a blocking thread (SQLite).
fn queries(db: &Path, today: NaiveDate, runs: usize) -> anyhow::Result<Queried> {
    let model = ReadModel::open(db)?;
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
    for (label, j) in [("city", &city), ("district", &district), ("community", &community)] {
        let (samples, report) = timed(runs, || model.targets(j, period, today, &params))?;
        timings.push(Timing {
            name: format!("targets, {label} {}", if j.code().is_empty() { "(all)" } else { j.code() }),
            rows: report.targets.len(),
            samples,
        });
        reports.push(report);
    }
    let (samples, rows) = timed(runs, || model.long_term(&city, today, &params))?;
    timings.push(Timing { name: "long-term and at-risk list, city".into(), rows: rows.len(), samples });
    Ok(Queried { period, timings, reports })
}

/// Runs `query` once to warm up, then `runs` times, timing each.
fn timed<T, E>(runs: usize, mut query: impl FnMut() -> Result<T, E>) -> Result<(Vec<Duration>, T), E> {
    let mut last = query()?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        last = query()?;
        samples.push(started.elapsed());
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
