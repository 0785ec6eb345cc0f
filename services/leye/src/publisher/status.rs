//! How far behind the publisher is, for operators: shared counters and
//! gauges, a sampler that measures the lag every [`SAMPLE_INTERVAL`], and the
//! gRPC health status `leye.Publisher` derived from it.
//!
//! - `lag_events` = store head − acknowledged position. SQLite positions are
//!   gap-free sequence numbers, so this is a count of events. (KurrentDB
//!   commit positions are byte offsets: with that adapter the lag would be
//!   counted by reading the log between the two positions instead.)
//! - `lag_seconds` = now − `recorded_at` of the oldest event not yet
//!   acknowledged; 0 when caught up.
//! - `leye.Publisher` is SERVING while the publisher is connected, its
//!   session is publishing (stream set up) and `lag_seconds` ≤ the configured
//!   maximum; NOT_SERVING otherwise (also when no NATS URL is configured:
//!   events then wait in the store).
//!
//! While it is NOT_SERVING with a NATS URL configured (for more than
//! [`LAG_LOG_AFTER`]), a warning `publisher behind` with `lag_events`,
//! `lag_seconds`, `connected` and `publishing` is logged every [`LAG_LOG_INTERVAL`].

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use chrono::Utc;
use leye_store::{EventStore, Position};
use tokio::sync::watch;
use tonic_health::{ServingStatus, server::HealthReporter};

/// The gRPC health service name under which the publisher reports.
pub const HEALTH_SERVICE: &str = "leye.Publisher";

/// How often the lag is measured (a `max(position)` query and, when behind,
/// one single-row read).
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(500);

/// How often a lagging publisher says so in the log.
pub const LAG_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// How long the publisher must be unhealthy before the first warning (so a
/// start-up or a short burst stays quiet).
pub const LAG_LOG_AFTER: Duration = Duration::from_secs(1);

/// The publisher's state as the outside sees it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PublisherStatus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// A NATS URL is configured: the publisher runs.
    enabled: bool,
    /// The NATS connection is up (set from the client's connection events).
    connected: AtomicBool,
    /// A publishing session is running: the stream is set up and events flow.
    publishing: AtomicBool,
    /// The position up to which JetStream acknowledged every event. The
    /// checkpoint writer follows this channel.
    acked: watch::Sender<Option<Position>>,
    /// The position last written to the checkpoint file.
    persisted: Mutex<Option<Position>>,
    published_total: AtomicU64,
    duplicates_total: AtomicU64,
    /// Publishing sessions ended by an error (NATS down, ack timeout, …).
    failures_total: AtomicU64,
    // Sampled:
    head: AtomicU64,
    lag_events: AtomicU64,
    /// f64 bits.
    lag_seconds: AtomicU64,
    healthy: AtomicBool,
}

/// One reading of every gauge and counter, for the metrics endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub enabled: bool,
    pub connected: bool,
    pub publishing: bool,
    pub healthy: bool,
    pub checkpoint_position: u64,
    pub persisted_position: u64,
    pub head_position: u64,
    pub lag_events: u64,
    pub lag_seconds: f64,
    pub published_total: u64,
    pub duplicates_total: u64,
    pub failures_total: u64,
}

impl PublisherStatus {
    /// A status starting at the stored checkpoint.
    pub fn new(enabled: bool, checkpoint: Option<Position>) -> Self {
        let (acked, _) = watch::channel(checkpoint);
        Self {
            inner: Arc::new(Inner {
                enabled,
                connected: AtomicBool::new(false),
                publishing: AtomicBool::new(false),
                acked,
                persisted: Mutex::new(checkpoint),
                published_total: AtomicU64::new(0),
                duplicates_total: AtomicU64::new(0),
                failures_total: AtomicU64::new(0),
                head: AtomicU64::new(0),
                lag_events: AtomicU64::new(0),
                lag_seconds: AtomicU64::new(0f64.to_bits()),
                healthy: AtomicBool::new(false),
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.enabled
    }

    pub fn connected(&self) -> bool {
        self.inner.connected.load(Ordering::Relaxed)
    }

    pub(crate) fn set_connected(&self, up: bool) {
        self.inner.connected.store(up, Ordering::Relaxed);
    }

    /// A session is publishing (stream set up, resume point found).
    pub fn publishing(&self) -> bool {
        self.inner.publishing.load(Ordering::Relaxed)
    }

    pub(crate) fn set_publishing(&self, on: bool) {
        self.inner.publishing.store(on, Ordering::Relaxed);
    }

    /// The position up to which JetStream acknowledged every event.
    pub fn acked(&self) -> Option<Position> {
        *self.inner.acked.borrow()
    }

    /// Follows the acknowledged position (the checkpoint writer does).
    pub fn watch_acked(&self) -> watch::Receiver<Option<Position>> {
        self.inner.acked.subscribe()
    }

    /// JetStream acknowledged the event at `position` and all before it.
    pub(crate) fn ack(&self, position: Position, duplicate: bool) {
        self.inner.published_total.fetch_add(1, Ordering::Relaxed);
        if duplicate {
            self.inner.duplicates_total.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.acked.send_replace(Some(position));
    }

    /// Moves the acknowledged position to where the stream says publishing
    /// resumes (forward after a crash, back if JetStream lost messages).
    pub(crate) fn resume_at(&self, position: Option<Position>) {
        self.inner.acked.send_replace(position);
    }

    pub(crate) fn persisted(&self, position: Position) {
        // A poisoned lock only means a panic elsewhere mid-assignment of a Copy value.
        *self.inner.persisted.lock().unwrap_or_else(|p| p.into_inner()) = Some(position);
    }

    pub(crate) fn failed(&self) {
        self.inner.failures_total.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let i = &self.inner;
        let persisted = *i.persisted.lock().unwrap_or_else(|p| p.into_inner());
        Snapshot {
            enabled: i.enabled,
            connected: self.connected(),
            publishing: self.publishing(),
            healthy: i.healthy.load(Ordering::Relaxed),
            checkpoint_position: self.acked().map_or(0, |p| p.commit),
            persisted_position: persisted.map_or(0, |p| p.commit),
            head_position: i.head.load(Ordering::Relaxed),
            lag_events: i.lag_events.load(Ordering::Relaxed),
            lag_seconds: f64::from_bits(i.lag_seconds.load(Ordering::Relaxed)),
            published_total: i.published_total.load(Ordering::Relaxed),
            duplicates_total: i.duplicates_total.load(Ordering::Relaxed),
            failures_total: i.failures_total.load(Ordering::Relaxed),
        }
    }
}

/// Measures the lag every [`SAMPLE_INTERVAL`] until `stop` turns true, and
/// keeps `leye.Publisher` in the health service up to date.
pub async fn sample<S: EventStore>(
    store: S,
    status: PublisherStatus,
    health: HealthReporter,
    max_lag: Duration,
    leader: Option<crate::leadership::Leader>,
    mut stop: watch::Receiver<bool>,
) {
    let mut reported: Option<bool> = None;
    let mut unhealthy_since: Option<tokio::time::Instant> = None;
    let mut last_warning: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = tick.tick() => {}
        }
        let (lag_events, lag_seconds) = match measure(&store, &status).await {
            Ok(lag) => lag,
            Err(e) => {
                tracing::warn!(error = %e, "publisher lag: cannot read the store");
                continue;
            }
        };
        let healthy =
            status.enabled() && status.connected() && status.publishing() && lag_seconds <= max_lag.as_secs_f64();
        status.inner.healthy.store(healthy, Ordering::Relaxed);
        if reported != Some(healthy) {
            let s = if healthy { ServingStatus::Serving } else { ServingStatus::NotServing };
            health.set_service_status(HEALTH_SERVICE, s).await;
            reported = Some(healthy);
        }
        let now = tokio::time::Instant::now();
        if healthy {
            (unhealthy_since, last_warning) = (None, None);
        } else if status.enabled() && leader.as_ref().is_none_or(|l| *l.0.borrow()) {
            // A standby (another server publishes) is NOT_SERVING, without warnings.
            let since = *unhealthy_since.get_or_insert(now);
            let due = last_warning.is_none_or(|t| now - t >= LAG_LOG_INTERVAL);
            if now - since >= LAG_LOG_AFTER && due {
                tracing::warn!(
                    lag_events,
                    lag_seconds,
                    connected = status.connected(),
                    publishing = status.publishing(),
                    "publisher behind"
                );
                last_warning = Some(now);
            }
        }
    }
    health.set_service_status(HEALTH_SERVICE, ServingStatus::NotServing).await;
}

/// (lag in events, lag in seconds), also stored in the status.
async fn measure<S: EventStore>(store: &S, status: &PublisherStatus) -> Result<(u64, f64), leye_store::StoreError> {
    let head = store.head().await?;
    let acked = status.acked();
    let head_seq = head.map_or(0, |p| p.commit);
    let lag_events = head_seq.saturating_sub(acked.map_or(0, |p| p.commit));
    let lag_seconds = if lag_events == 0 {
        0.0
    } else {
        match store.read_all(acked, 1).await?.first() {
            Some(oldest) => (Utc::now() - oldest.recorded_at).num_milliseconds().max(0) as f64 / 1000.0,
            None => 0.0,
        }
    };
    let i = &status.inner;
    i.head.store(head_seq, Ordering::Relaxed);
    i.lag_events.store(lag_events, Ordering::Relaxed);
    i.lag_seconds.store(lag_seconds.to_bits(), Ordering::Relaxed);
    Ok((lag_events, lag_seconds))
}

#[cfg(test)]
mod tests {
    use leye_store::{EventData, ExpectedRevision, SqliteStore, StreamName};

    use super::*;

    #[tokio::test]
    async fn lag_is_head_minus_acknowledged_and_zero_when_caught_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.sqlite"), Default::default()).await.unwrap();
        let stream = StreamName::parse("person-x").unwrap();
        let events = (0..5)
            .map(|_| EventData {
                event_id: uuid::Uuid::new_v4(),
                event_type: "t".into(),
                data: b"{}".to_vec(),
                metadata: b"{}".to_vec(),
            })
            .collect();
        store.append(&stream, ExpectedRevision::Any, events).await.unwrap();
        let status = PublisherStatus::new(true, Some(Position::from_sequence(2)));
        let (events, seconds) = measure(&store, &status).await.unwrap();
        assert_eq!(events, 3);
        assert!(seconds >= 0.0);
        status.ack(Position::from_sequence(5), false);
        assert_eq!(measure(&store, &status).await.unwrap(), (0, 0.0));
        let s = status.snapshot();
        assert_eq!((s.head_position, s.checkpoint_position, s.published_total), (5, 5, 1));
        store.close().await;
    }
}
