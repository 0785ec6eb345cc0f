//! `leye-bench-sealing`: what the event chain and sealed personal data cost
//! on the command path and on the read model's rebuild, measured in one run
//! against the same work without them (issue 9's goal: ≤ 15 % on commands).
//! See `leye::bench::sealing` for what each variant is and how it is run.
//!
//! ```text
//! cargo build --release -p leye --bin leye-bench-sealing
//! target/release/leye-bench-sealing [--persons 2000,8000] [--tasks 32] [--rounds 2] [--tmp-dir DIR]
//! ```
//!
//! Prints, per size: each variant's command rate (mean over rounds) and
//! latency, its cost against the plain variant, the raw append rate of the
//! same events (the command path's limit), and the rebuild rate beside the
//! raw read rate of the same log (the rebuild's limit). Errors should be 0.

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use leye::bench::{
    sealing::{Run, Variant, raw_append_rate, run, tmp_parent},
    sealing_grpc::{GrpcRun, grpc_run},
};

/// The chain's and sealing's cost on commands and rebuilds, in one run.
#[derive(Debug, Parser)]
#[command(name = "leye-bench-sealing")]
struct Args {
    /// Sizes: persons per fill (four commands each), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [2000u64, 8000])]
    persons: Vec<u64>,
    /// Concurrent tasks issuing commands (and raw appends).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    tasks: u32,
    /// Rounds per size; each round runs every variant once, alternating the order.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: u32,
    /// Parent directory of the temporary stores (default: the system temp dir).
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
    /// Also the three variants through gRPC over TLS (a `leye serve` per
    /// variant in this process, `--tasks` clients), at each size.
    #[arg(long)]
    grpc: bool,
    /// Only these variants (plain, chain, sealed), e.g. to profile one; the
    /// costs need plain.
    #[arg(long, value_delimiter = ',', default_values_t = ["plain".to_string(), "chain".into(), "sealed".into()])]
    variants: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    leye::bench::main(main_async(args))
}

/// The variants `--variants` names, in [`Variant::ALL`]'s order.
fn chosen(args: &Args) -> anyhow::Result<Vec<Variant>> {
    for name in &args.variants {
        anyhow::ensure!(
            ["plain", "chain", "sealed"].contains(&name.as_str()),
            "--variants: {name:?} is not one of plain, chain, sealed"
        );
    }
    let named = |v: Variant| match v {
        Variant::Plain => "plain",
        Variant::Chain => "chain",
        Variant::Sealed => "sealed",
    };
    Ok(Variant::ALL.into_iter().filter(|v| args.variants.iter().any(|n| n == named(*v))).collect())
}

/// Mean of `f` over runs.
fn mean(runs: &[&Run], f: impl Fn(&Run) -> f64) -> f64 {
    runs.iter().map(|r| f(r)).sum::<f64>() / runs.len().max(1) as f64
}

/// More CPU per command than `without`, in %.
fn extra(with: f64, without: f64) -> String {
    if without > 0.0 { format!("{:+.1} %", (with / without - 1.0) * 100.0) } else { "-".into() }
}

fn cost(with: f64, without: f64) -> String {
    if without > 0.0 { format!("{:+.1} %", (1.0 - with / without) * 100.0) } else { "-".into() }
}

async fn main_async(args: Args) -> anyhow::Result<bool> {
    anyhow::ensure!(args.persons.iter().all(|&p| p > 0), "--persons: every size must be at least 1");
    let tmp = tmp_parent(args.tmp_dir.clone())?;
    let tasks = args.tasks as usize;
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "leye-bench-sealing: {tasks} tasks, {} round(s) per size, {cores} cores, stores in {}",
        args.rounds,
        tmp.display()
    );
    let mut ok = true;
    for &persons in &args.persons {
        let mut runs: Vec<Run> = Vec::new();
        let mut raw = Vec::new();
        for round in 0..args.rounds {
            let mut order = chosen(&args)?;
            if round % 2 == 1 {
                order.reverse();
            }
            for v in order {
                eprintln!("running: {persons} persons, {}, round {} …", v.name(), round + 1);
                let mut r = run(&tmp, v, persons, tasks).await?;
                if v == Variant::Plain {
                    eprintln!("running: raw append of the same events …");
                    raw.push(raw_append_rate(&tmp, std::mem::take(&mut r.events), tasks).await?);
                }
                runs.push(r);
            }
        }
        let raw_append = raw.iter().sum::<f64>() / raw.len().max(1) as f64;
        let of = |v: Variant| runs.iter().filter(|r| r.variant == v).collect::<Vec<_>>();
        let plain = of(Variant::Plain);
        let (plain_cmd, plain_rebuild) = (mean(&plain, Run::command_rate), mean(&plain, Run::rebuild_rate));
        let plain_cpu = mean(&plain, Run::cpu_per_command);
        println!();
        println!(
            "{persons} persons ({} commands per fill); raw append of the same events: {raw_append:.0} events/s",
            persons * 4
        );
        println!(
            "{:<24} {:>10} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9} {:>11} {:>11} {:>8} {:>8} {:>9}",
            "variant",
            "cmds/s",
            "p50 µs",
            "p99 µs",
            "cost",
            "CPU µs/cmd",
            "cost",
            "vs raw",
            "rebuild/s",
            "raw read/s",
            "reb/raw",
            "cost",
            "B/event"
        );
        for v in Variant::ALL {
            let rs = of(v);
            if rs.is_empty() {
                continue;
            }
            let cmd = mean(&rs, Run::command_rate);
            let reb = mean(&rs, Run::rebuild_rate);
            let read = mean(&rs, Run::read_rate);
            let last = rs.last().map(|r| (r.latency.value_at_quantile(0.5), r.latency.value_at_quantile(0.99)));
            let (p50, p99) = last.unwrap_or_default();
            let bytes = mean(&rs, |r| r.payload_bytes as f64 / r.read.max(1) as f64);
            let cpu = mean(&rs, Run::cpu_per_command);
            println!(
                "{:<24} {cmd:>10.0} {p50:>8} {p99:>8} {:>8} {cpu:>10.0} {:>9} {:>9.2} {reb:>11.0} {read:>11.0} {:>8.2} {:>8} {bytes:>9.0}",
                v.name(),
                if v == Variant::Plain { "-".into() } else { cost(cmd, plain_cmd) },
                if v == Variant::Plain { "-".into() } else { extra(cpu, plain_cpu) },
                cmd / raw_append.max(1e-9),
                reb / read.max(1e-9),
                if v == Variant::Plain { "-".into() } else { cost(reb, plain_rebuild) },
            );
            for r in &rs {
                println!(
                    "  round: {:>8.0} cmds/s in {:.2} s, {:.0} CPU µs/cmd, rebuild {:>8.0} ev/s ({} events), errors {}",
                    r.command_rate(),
                    r.command_secs,
                    r.cpu_per_command(),
                    r.rebuild_rate(),
                    r.rebuilt,
                    r.errors
                );
                if let Some(e) = &r.first_error {
                    println!("    first error: {e}");
                    ok = false;
                }
            }
        }
        let sealed = mean(&of(Variant::Sealed), Run::command_rate);
        let chain = mean(&of(Variant::Chain), Run::command_rate);
        println!(
            "cost on commands at {persons} persons: chain {} ; chain + sealed {} (goal ≤ 15 %) ; sealing alone {}",
            cost(chain, plain_cmd),
            cost(sealed, plain_cmd),
            cost(sealed, chain)
        );
        println!(
            "CPU per command at {persons} persons: chain {} ; chain + sealed {} ; sealing alone {}",
            extra(mean(&of(Variant::Chain), Run::cpu_per_command), plain_cpu),
            extra(mean(&of(Variant::Sealed), Run::cpu_per_command), plain_cpu),
            extra(mean(&of(Variant::Sealed), Run::cpu_per_command), mean(&of(Variant::Chain), Run::cpu_per_command)),
        );
        let plain_reb = mean(&of(Variant::Plain), Run::rebuild_rate);
        println!(
            "cost on the rebuild at {persons} persons: chain {} ; chain + sealed {}",
            cost(mean(&of(Variant::Chain), Run::rebuild_rate), plain_reb),
            cost(mean(&of(Variant::Sealed), Run::rebuild_rate), plain_reb),
        );
        if args.grpc {
            ok &= grpc_size(&args, &tmp, persons).await?;
        }
    }
    println!();
    println!(
        "(cost: fewer per second than the plain variant, in %, or more CPU per command; vs raw: command rate / \
         raw append rate; reb/raw: rebuild rate / raw read_all rate of the same log; CPU: this process, all threads)"
    );
    Ok(ok)
}

/// The three variants through gRPC over TLS at one size; prints them and their cost.
async fn grpc_size(args: &Args, tmp: &std::path::Path, persons: u64) -> anyhow::Result<bool> {
    let mut runs: Vec<GrpcRun> = Vec::new();
    for round in 0..args.rounds {
        let mut order = chosen(args)?;
        if round % 2 == 1 {
            order.reverse();
        }
        for v in order {
            eprintln!("running: gRPC over TLS, {persons} persons, {}, round {} …", v.name(), round + 1);
            runs.push(grpc_run(tmp, v, persons, args.tasks as usize).await?);
        }
    }
    let rate = |v: Variant| {
        let rs: Vec<&GrpcRun> = runs.iter().filter(|r| r.variant == v).collect();
        rs.iter().map(|r| r.rate()).sum::<f64>() / rs.len().max(1) as f64
    };
    let cpu = |v: Variant| {
        let rs: Vec<&GrpcRun> = runs.iter().filter(|r| r.variant == v).collect();
        rs.iter().map(|r| r.cpu_per_command()).sum::<f64>() / rs.len().max(1) as f64
    };
    let plain = rate(Variant::Plain);
    println!("gRPC over TLS ({} clients, guard and audit trail as in production):", args.tasks);
    println!(
        "{:<24} {:>10} {:>8} {:>8} {:>8} {:>10} {:>8}",
        "variant", "cmds/s", "p50 µs", "p99 µs", "cost", "CPU µs/cmd", "cost"
    );
    let mut ok = true;
    for v in Variant::ALL {
        if !runs.iter().any(|r| r.variant == v) {
            continue;
        }
        let last = runs.iter().rfind(|r| r.variant == v);
        let (p50, p99) = last.map_or((0, 0), |r| (r.latency.value_at_quantile(0.5), r.latency.value_at_quantile(0.99)));
        let c = if v == Variant::Plain { "-".into() } else { cost(rate(v), plain) };
        let x = if v == Variant::Plain { "-".into() } else { extra(cpu(v), cpu(Variant::Plain)) };
        println!("{:<24} {:>10.0} {p50:>8} {p99:>8} {c:>8} {:>10.0} {x:>8}", v.name(), rate(v), cpu(v));
        for r in runs.iter().filter(|r| r.variant == v) {
            println!(
                "  round: {:>8.0} cmds/s in {:.2} s, {:.0} CPU µs/cmd, errors {}",
                r.rate(),
                r.secs,
                r.cpu_per_command(),
                r.errors
            );
            if let Some(e) = &r.first_error {
                println!("    first error: {e}");
                ok = false;
            }
        }
    }
    println!(
        "cost on gRPC commands at {persons} persons: chain {} ; chain + sealed {} (goal ≤ 15 %); CPU per command: chain {} ; chain + sealed {}",
        cost(rate(Variant::Chain), plain),
        cost(rate(Variant::Sealed), plain),
        extra(cpu(Variant::Chain), cpu(Variant::Plain)),
        extra(cpu(Variant::Sealed), cpu(Variant::Plain)),
    );
    Ok(ok)
}
