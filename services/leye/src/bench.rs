//! Measuring for the benchmark binaries (`leye-bench`, `leye-bench-trust`):
//! a warm-up and a measured window, latency histograms per operation kind,
//! errors with their first messages, and concurrent clients whose recorders
//! are merged. Prints figures; asserts nothing.

use std::{
    fmt,
    future::Future,
    time::{Duration, Instant},
};

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use tokio::task::JoinSet;

pub mod cluster;
pub mod nats;
pub mod personal;
mod pg_sessions;
pub mod sealing;
pub mod sealing_grpc;

/// A benchmark binary's `main`: runs `run` on a multi-threaded runtime and
/// exits 0 when it returns `Ok(true)`; 1 on `Ok(false)` (the run measured a
/// failure it has printed) or on an error, printed first.
pub fn main(run: impl Future<Output = anyhow::Result<bool>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The warm-up and the measured window of one workload.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Operations started before this are warm-up.
    pub from: Instant,
    /// Clients stop starting operations at this instant; completions after it are not counted.
    pub until: Instant,
    pub from_utc: DateTime<Utc>,
    pub until_utc: DateTime<Utc>,
}

impl Window {
    pub fn starting_now(warmup: Duration, duration: Duration) -> Self {
        let now = Instant::now();
        let now_utc = Utc::now();
        let to_chrono = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        Self {
            from: now + warmup,
            until: now + warmup + duration,
            from_utc: now_utc + to_chrono(warmup),
            until_utc: now_utc + to_chrono(warmup + duration),
        }
    }

    pub fn seconds(&self) -> f64 {
        (self.until - self.from).as_secs_f64()
    }
}

/// Latencies and errors of one client (or, merged, of all).
#[derive(Debug)]
pub struct Recorder {
    pub window: Window,
    /// Every measured operation, µs.
    pub all: Histogram<u64>,
    /// Per operation kind, µs.
    pub kinds: Vec<Histogram<u64>>,
    /// Failed operations over the whole run (warm-up included).
    pub errors: u64,
    /// The first few error messages.
    pub samples: Vec<String>,
}

pub const MAX_ERROR_SAMPLES: usize = 8;

/// Highest latency tracked, µs (one hour); longer ones are recorded as this.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// CPU seconds (user + system) this process used so far, from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s); 0 elsewhere.
pub fn process_cpu_secs() -> f64 {
    pid_cpu_secs("self")
}

/// CPU seconds (user + system) of the process `pid` (`self`: this one).
pub fn pid_cpu_secs(pid: &str) -> f64 {
    proc_stat(pid).map_or(0.0, |(_, own, _)| own as f64 / 100.0)
}

/// (ppid, utime + stime, cutime + cstime) of `/proc/<pid>/stat`, in clock
/// ticks of 1/100 s.
fn proc_stat(pid: &str) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) in parentheses.
    let (_, rest) = text.rsplit_once(')')?;
    let f: Vec<u64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    Some((u32::try_from(*f.get(1)?).ok()?, f.get(11)? + f.get(12)?, f.get(13)? + f.get(14)?))
}

/// CPU seconds of process `pid` and of its children that exited (user +
/// system, waited-for children included) plus those of its living children:
/// a server that forks a process per connection (PostgreSQL) is counted
/// whole, the connections closed since included. 0 when it cannot be read.
pub fn process_tree_cpu_secs(pid: u32) -> f64 {
    let Some((_, own, reaped)) = proc_stat(&pid.to_string()) else {
        return 0.0;
    };
    let children: u64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())).and_then(proc_stat))
        .filter(|(ppid, ..)| *ppid == pid)
        .map(|(_, ticks, _)| ticks)
        .sum();
    (own + reaped + children) as f64 / 100.0
}

/// CPU seconds the whole machine was busy so far (every core: user, nice,
/// system, irq and softirq from `/proc/stat`; idle, I/O wait and time stolen
/// by the hypervisor left out); 0 elsewhere.
pub fn machine_busy_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0.0 };
    let Some(cpu) = stat.lines().find(|l| l.starts_with("cpu ")) else { return 0.0 };
    let f: Vec<u64> = cpu.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    (at(0) + at(1) + at(2) + at(5) + at(6)) as f64 / 100.0
}

/// A loopback port free at the time of the call, never one this process
/// has handed out before: a bare `bind(0)` repeats a port it has just
/// released often enough that a server could be given its neighbour's
/// (`leye_store::test_postgres::free_port`).
pub fn free_port() -> anyhow::Result<u16> {
    leye_store::test_postgres::free_port().map_err(|e| anyhow::anyhow!("finding a free loopback port: {e}"))
}

/// The last 20 lines of a server's log (leye's logs hold no personal data),
/// for an error about that server.
pub fn log_tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("(log unreadable: {e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

pub fn histogram() -> Histogram<u64> {
    // Fixed bounds (so recording never resizes and every histogram merges into
    // every other), 3 significant figures: valid arguments, creation cannot fail.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("1 µs to 1 h at 3 significant figures is valid")
}

impl Recorder {
    pub fn new(window: Window, kinds: usize) -> Self {
        Self { window, all: histogram(), kinds: (0..kinds).map(|_| histogram()).collect(), errors: 0, samples: vec![] }
    }

    /// Whether the client should start another operation.
    pub fn running(&self) -> bool {
        Instant::now() < self.window.until
    }

    /// An operation of `kind` started at `started` succeeded just now.
    pub fn ok(&mut self, kind: usize, started: Instant) {
        let done = Instant::now();
        if started < self.window.from || done > self.window.until {
            return; // warm-up, or finished after the window
        }
        let us = u64::try_from(done.duration_since(started).as_micros()).unwrap_or(u64::MAX).max(1);
        self.all.saturating_record(us);
        if let Some(h) = self.kinds.get_mut(kind) {
            h.saturating_record(us);
        }
    }

    pub fn error(&mut self, what: &str, error: impl fmt::Display) {
        self.errors += 1;
        if self.samples.len() < MAX_ERROR_SAMPLES {
            self.samples.push(format!("{what}: {error}"));
        }
    }

    /// Prints the error count and the first messages, if any.
    pub fn print_errors(&self, name: &str) {
        if self.errors > 0 {
            println!("errors in {name}: {} (first ones below)", self.errors);
            for e in &self.samples {
                println!("  {e}");
            }
        }
    }

    pub fn merge(&mut self, other: Recorder) -> anyhow::Result<()> {
        self.all.add(&other.all).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
        for (mine, theirs) in self.kinds.iter_mut().zip(&other.kinds) {
            mine.add(theirs).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
        }
        self.errors += other.errors;
        for s in other.samples {
            if self.samples.len() < MAX_ERROR_SAMPLES {
                self.samples.push(s);
            }
        }
        Ok(())
    }
}

/// Runs `n` clients, each made by `client(index, recorder)`, and merges their recorders.
pub async fn run_clients<F, Fut>(n: usize, window: Window, kinds: usize, client: F) -> anyhow::Result<Recorder>
where
    F: Fn(usize, Recorder) -> Fut,
    Fut: Future<Output = Recorder> + Send + 'static,
{
    let mut set = JoinSet::new();
    for i in 0..n {
        set.spawn(client(i, Recorder::new(window, kinds)));
    }
    let mut total = Recorder::new(window, kinds);
    while let Some(joined) = set.join_next().await {
        total.merge(joined.context("a client task failed")?)?;
    }
    Ok(total)
}

/// `leye verify`'s walk against a raw read of the same log: events and
/// events/s of each (the walk without `quick_check`).
#[derive(Debug, Clone, Copy)]
pub struct VerifyVsRead {
    pub events: u64,
    pub verify_per_sec: f64,
    pub read_per_sec: f64,
}

/// Measures [`VerifyVsRead`] on the closed store at `store` with its chain key.
pub async fn verify_vs_read(store: &std::path::Path, key_file: &std::path::Path) -> anyhow::Result<VerifyVsRead> {
    use leye_store::EventStore;
    let (s, k) = (store.to_path_buf(), key_file.to_path_buf());
    let verified = tokio::task::spawn_blocking(move || {
        leye_store::sqlite::verify_file(&s, &k, leye_store::sqlite::VerifyOptions { quick_check: false })
    })
    .await??;
    anyhow::ensure!(verified.report.is_intact(), "the store does not verify: {:?}", verified.report.broken);
    let opened = leye_store::SqliteStore::open(store, Default::default()).await?;
    let started = std::time::Instant::now();
    let (mut after, mut read) = (None, 0u64);
    loop {
        let page = opened.read_all(after, 2000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        read += page.len() as u64;
    }
    let read_secs = started.elapsed().as_secs_f64();
    opened.close().await;
    let events = verified.report.events;
    anyhow::ensure!(read == events, "read {read} events, verified {events}");
    Ok(VerifyVsRead {
        events,
        verify_per_sec: events as f64 / verified.walk.as_secs_f64().max(1e-9),
        read_per_sec: read as f64 / read_secs.max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    /// A child's CPU is counted while it runs and after it has exited and
    /// been waited for (as PostgreSQL's closed connections are).
    #[test]
    fn a_process_tree_counts_its_children_living_and_exited() {
        let me = std::process::id();
        let before = super::process_tree_cpu_secs(me);
        let burn = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done";
        let status = std::process::Command::new("sh").args(["-c", burn]).status().expect("sh runs");
        assert!(status.success());
        let after = super::process_tree_cpu_secs(me);
        // The loop takes a few hundred ms of CPU on any machine; the bound is
        // far below it, and this process's own work only adds to `after`.
        assert!(after - before >= 0.05, "{before} -> {after}");
        assert_eq!(super::process_tree_cpu_secs(u32::MAX), 0.0);
    }
}
