//! The metrics of one `leye serve`: one [`prometheus_client`] registry, built
//! in `server.rs` and shared as an `Arc<Metrics>` by the gRPC guard (requests),
//! the command path (commands, store appends) and the followers (positions).
//! Series and their meaning: the table in [`crate::metrics`].
//!
//! Labels never carry personal data or case ids: `method` is a gRPC method
//! known to the access table (anything else is `other`), `code` a gRPC status
//! code name, `command` a command type, `follower` one of four names.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::Histogram,
    },
    registry::Registry,
};

use crate::publisher::status::PublisherStatus;

/// Latency buckets (seconds) for requests and store appends.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: String,
    outcome: String,
    /// The rejection code for `outcome="rejected"`, else empty.
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
}

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// A position read at scrape time (a durable checkpoint), or kept in memory.
type Source = Box<dyn Fn() -> Option<u64> + Send + Sync>;

/// Every series of the service. See the module docs.
pub struct Metrics {
    registry: Registry,
    grpc_requests: Family<RequestLabels, Counter>,
    grpc_duration: Family<MethodLabels, Histogram, fn() -> Histogram>,
    commands: Family<CommandLabels, Counter>,
    append_duration: Histogram,
    readmodel_folding: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// What a command came to, for `leye_commands_total`.
#[derive(Debug, Clone, Copy)]
pub enum CommandOutcome<'a> {
    Accepted,
    Duplicate,
    Rejected(&'a str),
    Conflict,
    Denied,
    /// Anything else (bad input, store failure, …).
    Error,
}

impl Metrics {
    /// A registry with the publisher's series, the followers' positions
    /// (publisher and `followers`), the process and the build.
    pub fn new(publisher: PublisherStatus, followers: Followers) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(PublisherCollector(publisher.clone())));
        registry.register_collector(Box::new(FollowersCollector { publisher, followers }));
        let grpc_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "leye_grpc_requests",
            "gRPC requests answered, by method and status code",
            grpc_requests.clone(),
        );
        let grpc_duration = Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(histogram);
        registry.register(
            "leye_grpc_request_duration_seconds",
            "Time from a request's arrival to its answer (audit record written), by method",
            grpc_duration.clone(),
        );
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register(
            "leye_commands",
            "Commands decided, by command type and outcome (accepted, duplicate, rejected with its code, conflict, denied, error)",
            commands.clone(),
        );
        let append_duration = histogram();
        registry.register(
            "leye_store_append_duration_seconds",
            "Time of one append to the event store (durable when it returns)",
            append_duration.clone(),
        );
        let readmodel_folding = Gauge::default();
        registry.register(
            "leye_readmodel_folding",
            "1 while this server's read model folds the log, 0 while it sleeps (nobody read it for readmodel_idle_secs and the server leads neither the publisher nor the policy finder)",
            readmodel_folding.clone(),
        );
        let build = Family::<VersionLabels, Gauge>::default();
        build.get_or_create(&VersionLabels { version: env!("CARGO_PKG_VERSION").to_string() }).set(1);
        registry.register("leye_build_info", "Always 1; the version of leye running", build);
        registry.register_collector(Box::new(ProcessCollector));
        Self { registry, grpc_requests, grpc_duration, commands, append_duration, readmodel_folding }
    }

    /// One request answered with `code` after `elapsed`.
    pub fn request(&self, method: &str, code: &str, elapsed: Duration) {
        let method = method.to_string();
        self.grpc_requests.get_or_create(&RequestLabels { method: method.clone(), code: code.to_string() }).inc();
        self.grpc_duration.get_or_create(&MethodLabels { method }).observe(elapsed.as_secs_f64());
    }

    /// One command decided.
    pub fn command(&self, command: &str, outcome: CommandOutcome<'_>) {
        let (outcome, code) = match outcome {
            CommandOutcome::Accepted => ("accepted", ""),
            CommandOutcome::Duplicate => ("duplicate", ""),
            CommandOutcome::Rejected(code) => ("rejected", code),
            CommandOutcome::Conflict => ("conflict", ""),
            CommandOutcome::Denied => ("denied", ""),
            CommandOutcome::Error => ("error", ""),
        };
        let labels =
            CommandLabels { command: command.to_string(), outcome: outcome.to_string(), code: code.to_string() };
        self.commands.get_or_create(&labels).inc();
    }

    /// Whether this server's read model folds the log now (`crate::folding`).
    pub fn readmodel_folding(&self, folding: bool) {
        self.readmodel_folding.set(i64::from(folding));
    }

    /// One store append took `elapsed`.
    pub fn append(&self, elapsed: Duration) {
        self.append_duration.observe(elapsed.as_secs_f64());
    }

    /// Every series in the Prometheus text format (0.0.4). Reads checkpoints
    /// and `/proc`: call it off the async threads.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// When the first event after a position was recorded (`None`: no such event
/// or the store cannot say). Blocking: called at scrape time, off the async
/// threads.
type Clock = Box<dyn Fn(u64) -> Option<DateTime<Utc>> + Send + Sync>;

/// The followers besides the publisher, each with where its position comes
/// from, and the log's clock for their lag in seconds.
#[derive(Default)]
pub struct Followers {
    sources: Vec<(&'static str, Source)>,
    clock: Option<Clock>,
}

impl std::fmt::Debug for Followers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.sources.iter().map(|(n, _)| n)).finish()
    }
}

impl Followers {
    /// A follower whose position `read` gives at scrape time (`None`: unknown).
    pub fn read(mut self, name: &'static str, read: impl Fn() -> Option<u64> + Send + Sync + 'static) -> Self {
        self.sources.push((name, Box::new(read)));
        self
    }

    /// How to find when the oldest event a follower has not handled was
    /// recorded: `recorded_after(p)` is the `recorded_at` of the first event
    /// after position `p`. Without it no `leye_follower_lag_seconds` is given
    /// for these followers.
    pub fn clock(mut self, recorded_after: impl Fn(u64) -> Option<DateTime<Utc>> + Send + Sync + 'static) -> Self {
        self.clock = Some(Box::new(recorded_after));
        self
    }

    /// Age of the oldest event after `position`; 0 when caught up with `head`.
    fn lag_seconds(&self, position: u64, head: u64) -> Option<f64> {
        if position >= head {
            return Some(0.0);
        }
        let recorded = (self.clock.as_ref()?)(position)?;
        Some((Utc::now() - recorded).num_milliseconds().max(0) as f64 / 1000.0)
    }

    /// A follower that reports its position as it moves: set the returned cell.
    pub fn kept(self, name: &'static str) -> (Self, Position) {
        let cell = Position::default();
        let reader = cell.clone();
        (self.read(name, move || reader.get()), cell)
    }
}

/// A follower's position kept in memory (0 until it first moves).
#[derive(Debug, Clone, Default)]
pub struct Position(Arc<Mutex<Option<u64>>>);

impl Position {
    pub fn set(&self, position: u64) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(position);
    }
    fn get(&self) -> Option<u64> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn gauge<V>(e: &mut DescriptorEncoder, name: &str, help: &str, value: V) -> Result<(), std::fmt::Error>
where
    ConstGauge<V>: EncodeMetric,
{
    let g = ConstGauge::new(value);
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

fn counter<V>(e: &mut DescriptorEncoder, name: &str, help: &str, value: V) -> Result<(), std::fmt::Error>
where
    ConstCounter<V>: EncodeMetric,
{
    let c = ConstCounter::new(value);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

/// A position or count as a gauge value (positions stay far below 2^63).
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The publisher's series, as they were before this registry (same names).
#[derive(Debug)]
struct PublisherCollector(PublisherStatus);

impl Collector for PublisherCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.snapshot();
        let flag = |b: bool| i64::from(b);
        let e = &mut e;
        gauge(e, "leye_store_head_position", "Global position of the last event in the store.", int(s.head_position))?;
        gauge(e, "leye_publisher_enabled", "1 when a NATS URL is configured.", flag(s.enabled))?;
        gauge(e, "leye_publisher_connected", "1 while the NATS connection is up.", flag(s.connected))?;
        gauge(e, "leye_publisher_publishing", "1 while a publishing session runs.", flag(s.publishing))?;
        gauge(e, "leye_publisher_healthy", "1 when leye.Publisher reports SERVING.", flag(s.healthy))?;
        let acked = "Global position up to which JetStream acknowledged every event.";
        gauge(e, "leye_publisher_checkpoint_position", acked, int(s.checkpoint_position))?;
        let persisted = "Checkpoint position as last written to the checkpoint file.";
        gauge(e, "leye_publisher_checkpoint_persisted_position", persisted, int(s.persisted_position))?;
        let lag = "Events in the store not yet acknowledged by JetStream.";
        gauge(e, "leye_publisher_lag_events", lag, int(s.lag_events))?;
        let age = "Age of the oldest event not yet acknowledged by JetStream; 0 when caught up.";
        gauge(e, "leye_publisher_lag_seconds", age, s.lag_seconds)?;
        let published = "Publishes acknowledged by JetStream since start.";
        counter(e, "leye_publisher_published", published, s.published_total)?;
        let duplicates = "Publishes JetStream reported as duplicates.";
        counter(e, "leye_publisher_duplicates", duplicates, s.duplicates_total)?;
        counter(e, "leye_publisher_failures", "Publishing sessions ended by an error.", s.failures_total)
    }
}

/// `leye_follower_position` and `leye_follower_lag_events` of every follower.
struct FollowersCollector {
    publisher: PublisherStatus,
    followers: Followers,
}

impl std::fmt::Debug for FollowersCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowersCollector").field("followers", &self.followers).finish_non_exhaustive()
    }
}

impl Collector for FollowersCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.publisher.snapshot();
        let mut rows = vec![("publisher", s.checkpoint_position)];
        for (name, read) in &self.followers.sources {
            if let Some(position) = read() {
                rows.push((name, position));
            }
        }
        let help = "Global position up to which the follower has handled the log.";
        let mut positions =
            e.encode_descriptor("leye_follower_position", help, None, Gauge::<i64>::default().metric_type())?;
        for (name, position) in &rows {
            let labels = [("follower", *name)];
            ConstGauge::new(int(*position)).encode(positions.encode_family(&labels)?)?;
        }
        let help =
            "Events in the store the follower has not handled yet (store head − position; head sampled every 0.5 s).";
        let mut lags =
            e.encode_descriptor("leye_follower_lag_events", help, None, Gauge::<i64>::default().metric_type())?;
        for (name, position) in &rows {
            let labels = [("follower", *name)];
            ConstGauge::new(int(s.head_position.saturating_sub(*position))).encode(lags.encode_family(&labels)?)?;
        }
        let help = "Age of the oldest event the follower has not handled yet; 0 when caught up.";
        let mut ages =
            e.encode_descriptor("leye_follower_lag_seconds", help, None, Gauge::<i64>::default().metric_type())?;
        for (name, position) in &rows {
            let age = if *name == "publisher" {
                Some(s.lag_seconds)
            } else {
                self.followers.lag_seconds(*position, s.head_position)
            };
            if let Some(age) = age {
                ConstGauge::new(age).encode(ages.encode_family(&[("follower", *name)])?)?;
            }
        }
        Ok(())
    }
}

/// `process_*` from `/proc/self` (Linux; nothing elsewhere).
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(p) = process::read() else { return Ok(()) };
        let e = &mut e;
        counter(e, "process_cpu_seconds", "Total user and system CPU time spent in seconds.", p.cpu_seconds)?;
        gauge(e, "process_resident_memory_bytes", "Resident memory size in bytes.", p.resident_bytes)?;
        gauge(e, "process_open_fds", "Number of open file descriptors.", p.open_fds)?;
        gauge(e, "process_max_fds", "Maximum number of open file descriptors.", p.max_fds)?;
        gauge(e, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", p.start_time)
    }
}

mod process {
    /// Clock ticks per second of `/proc/*/stat` (USER_HZ, 100 on every Linux ABI leye targets).
    const TICKS: f64 = 100.0;

    pub struct Process {
        pub cpu_seconds: f64,
        pub resident_bytes: f64,
        pub open_fds: f64,
        pub max_fds: f64,
        pub start_time: f64,
    }

    pub fn read() -> Option<Process> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces), from field 3 on.
        let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        let cpu_seconds = (field(14)? + field(15)?) / TICKS;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let rss_kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim();
        let resident_bytes = rss_kb.parse::<f64>().ok()? * 1024.0;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as f64;
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let max_fds = limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))
            .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(f64::INFINITY);
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let btime = boot.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse::<f64>().ok()?;
        let start_time = btime + field(22)? / TICKS;
        Some(Process { cpu_seconds, resident_bytes, open_fds, max_fds, start_time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_followers_lag_in_seconds_is_the_age_of_the_first_event_it_has_not_handled() {
        let recorded = Utc::now() - chrono::Duration::seconds(90);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = asked.clone();
        let followers = Followers::default().clock(move |after| {
            seen.lock().unwrap().push(after);
            Some(recorded)
        });
        let lag = followers.lag_seconds(4, 10).unwrap();
        assert!((90.0..95.0).contains(&lag), "{lag}");
        assert_eq!(*asked.lock().unwrap(), vec![4], "asked for the event after the follower's position");
        assert_eq!(followers.lag_seconds(10, 10), Some(0.0), "caught up: 0 without asking the store");
        assert_eq!(asked.lock().unwrap().len(), 1);
        assert_eq!(Followers::default().lag_seconds(4, 10), None, "no clock: no figure rather than a wrong one");
    }
}
