//! The publisher: every event of the store's global log onto NATS JetStream,
//! none lost, none doubled, in log order.
//!
//! Only this module (and the demo subscriber, [`crate::consume`]) knows NATS.
//!
//! # Layout
//! - this file: [`start`] (wiring), the publishing loop, the checkpoint writer.
//! - [`message`]: one event → subject, headers, protobuf payload.
//! - [`stream`]: the JetStream stream's settings, created or updated on start,
//!   and where publishing resumes.
//! - [`checkpoint`]: the durable checkpoint file.
//! - [`status`]: lag, counters, the `leye.Publisher` health status.
//!
//! # How it runs
//! ```text
//!  store.subscribe_all(resume) ──► build message ──► publish (≤ max_in_flight pending,
//!        ▲                                           Nats-Msg-Id = event id,
//!        │                                           Nats-Expected-Last-Sequence = n)
//!        │                        acks, awaited in publish order
//!        │                                 │
//!  resume point ◄── stream's last message  ▼
//!  (or checkpoint)                  acknowledged position ──► checkpoint file
//!                                                             (at most every 200 ms, and on stop)
//! ```
//! A *session* connects (once; the client then reconnects by itself),
//! creates or updates the stream, finds the resume point ([`stream::resume_point`]),
//! then pumps: it keeps up to `max_in_flight` publishes pending and takes their
//! acks in order, so the acknowledged position only ever moves over an unbroken
//! run of acknowledged events. Any failure (connection lost, ack timeout, a
//! refused message) ends the session: pending publishes are abandoned, and
//! after a backoff (100 ms doubling to 5 s) a new session starts again from the
//! stream's own last message.
//!
//! # Invariants
//! - An event is acknowledged only after every event before it in the log
//!   was; the checkpoint never passes an unacknowledged event.
//! - The stream holds the log in order without gaps (`Nats-Expected-Last-Sequence`,
//!   see [`stream`]); a re-published event within the duplicate window is
//!   dropped by JetStream (`Nats-Msg-Id`).
//! - The command path never waits for the publisher: it only reads the store.
//! - An event this version cannot decode stops the publisher at that event
//!   (logged, retried with backoff, lag grows); it is never skipped.
//! - Logs carry positions, event ids and types, never payloads.

pub mod checkpoint;
pub mod message;
pub mod status;
pub mod stream;

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};
use tracing::Instrument;

use async_nats::{
    ConnectOptions, Event, ServerAddr,
    jetstream::{self, message::PublishMessage},
};
use futures::{StreamExt, stream::FuturesOrdered};
use leye_store::{EventStore, Position};
use tokio::{sync::watch, task::JoinHandle};
use tonic_health::server::HealthReporter;

use self::{
    checkpoint::CheckpointFile,
    status::PublisherStatus,
    stream::{ResumeFrom, StreamSettings},
};

/// What the publisher runs with. Plain values, filled from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherConfig {
    /// The NATS servers; `None`: the publisher does not run and events wait
    /// in the store.
    pub nats_url: Option<NatsUrl>,
    pub stream: StreamSettings,
    /// Publishes awaiting their ack at once (pipelining depth).
    pub max_in_flight: usize,
    /// How long one ack may take before the session is restarted.
    pub ack_timeout: Duration,
    /// `leye.Publisher` is NOT_SERVING when the oldest unpublished event is older.
    pub max_lag: Duration,
    pub checkpoint_file: PathBuf,
    /// Publish resident ID and name in `registered` payloads (for entitled
    /// subscribers only); off: the pseudonymous case id alone.
    pub personal_data: bool,
    /// Opens the sealed fields when `personal_data` is on (set by the server
    /// once the key store is open).
    pub opener: Option<crate::personal::Opener>,
    /// On a shared store: publish only while this server leads the
    /// `publisher` role (`crate::leadership`); `None`: always.
    pub leader: Option<crate::leadership::Leader>,
}

pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_MAX_LAG: Duration = Duration::from_secs(30);

/// The shortest and the longest wait between two sessions (and between two
/// reconnect attempts of the client).
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// How often, at most, the checkpoint file is rewritten while acks arrive.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

/// How long a stopping publisher still waits for pending acks.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// One or more NATS server URLs, comma-separated (`nats://a:4222,nats://b:4222`).
/// URLs may carry credentials (`nats://user:password@host`): they are never
/// shown; `Debug` and `Display` list hosts and ports only.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct NatsUrl {
    raw: String,
    hosts: String,
}

impl NatsUrl {
    /// The parsed server addresses, credentials included.
    pub(crate) fn addrs(&self) -> Vec<ServerAddr> {
        // Parsed once in `from_str`: these parse again.
        self.raw.split(',').filter_map(|u| u.trim().parse().ok()).collect()
    }
}

impl FromStr for NatsUrl {
    type Err = String;
    fn from_str(raw: &str) -> Result<Self, String> {
        let mut hosts = Vec::new();
        for (i, part) in raw.split(',').enumerate() {
            // The parser's message may repeat the URL (and a password): not used.
            let addr: ServerAddr =
                part.trim().parse().map_err(|_| format!("NATS URL number {} is not a valid URL", i + 1))?;
            hosts.push(format!("{}:{}", addr.host(), addr.port()));
        }
        Ok(Self { raw: raw.to_string(), hosts: hosts.join(",") })
    }
}

impl TryFrom<String> for NatsUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl fmt::Display for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hosts)
    }
}

impl fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NatsUrl({})", self.hosts)
    }
}

/// The running publisher and its lag sampler.
#[derive(Debug)]
pub struct PublisherHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl PublisherHandle {
    /// Stops publishing: pending acks get up to [`STOP_GRACE`], then the
    /// checkpoint is written. Call before closing the store.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "publisher task ended abnormally");
            }
        }
    }
}

/// Loads the checkpoint (a corrupt one is an error: the service does not
/// start), then starts the lag sampler and, when a NATS URL is configured,
/// the publisher. `leye.Publisher` is reported on `health`.
pub fn start<S: EventStore>(
    store: S,
    config: PublisherConfig,
    health: HealthReporter,
) -> Result<(PublisherHandle, PublisherStatus), checkpoint::CheckpointError> {
    let file = CheckpointFile::new(&config.checkpoint_file);
    let checkpoint = file.load()?;
    let status = PublisherStatus::new(config.nats_url.is_some(), checkpoint);
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(
        status::sample(store.clone(), status.clone(), health, config.max_lag, config.leader.clone(), stop_rx.clone())
            .in_current_span(),
    )];
    match &config.nats_url {
        Some(url) => {
            tracing::info!(nats = %url, stream = %config.stream.name, checkpoint = checkpoint.map_or(0, |p| p.commit), "publisher starting");
            let publisher = Publisher { store, config, status: status.clone(), client: None, progressed: false };
            tasks.push(tokio::spawn(publisher.run(file, stop_rx).in_current_span()));
        }
        None => tracing::info!(
            checkpoint = checkpoint.map_or(0, |p| p.commit),
            "no NATS URL configured: the publisher is off; events are kept in the store and published once one is"
        ),
    }
    Ok((PublisherHandle { stop, tasks }, status))
}

/// Why a publishing session ended. Texts carry no payloads.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("connecting to NATS: {0}")]
    Connect(String),
    #[error(transparent)]
    Stream(#[from] stream::StreamError),
    #[error("reading the store: {0}")]
    Store(#[from] leye_store::StoreError),
    #[error(transparent)]
    Build(#[from] message::BuildError),
    #[error("publishing the event at position {position}: {reason}")]
    Publish { position: Position, reason: String },
    #[error("JetStream did not acknowledge the event at position {position}: {reason}")]
    Ack { position: Position, reason: String },
}

/// How a session ended without error.
enum Ended {
    Stopped,
    StoreClosed,
}

struct Publisher<S> {
    store: S,
    config: PublisherConfig,
    status: PublisherStatus,
    /// Connected once; async-nats reconnects it by itself afterwards.
    client: Option<(async_nats::Client, jetstream::Context)>,
    /// The current session got at least one ack: the backoff starts over.
    progressed: bool,
}

impl<S: EventStore> Publisher<S> {
    async fn run(mut self, file: CheckpointFile, mut stop: watch::Receiver<bool>) {
        let (writer_done, writer_done_rx) = watch::channel(false);
        let writer = tokio::spawn(keep_checkpoint(file, self.status.clone(), writer_done_rx).in_current_span());
        let mut failures: u32 = 0;
        loop {
            self.progressed = false;
            // A standby waits to lead; a leader's session ends when it no longer does.
            let mut session_stop = match self.config.leader.clone() {
                None => stop.clone(),
                Some(crate::leadership::Leader(mut leader)) => {
                    match crate::leadership::term(&mut leader, &mut stop).await {
                        Some(term) => {
                            tracing::info!("leading the publisher role: publishing");
                            term
                        }
                        None => break,
                    }
                }
            };
            match self.session(&mut session_stop).await {
                Ok(Ended::Stopped) if !*stop.borrow() => {
                    tracing::info!("no longer leading the publisher role: standing by");
                    continue;
                }
                Ok(Ended::Stopped) => break,
                Ok(Ended::StoreClosed) => {
                    tracing::info!("store closed: publisher stops");
                    break;
                }
                Err(e) => {
                    self.status.failed();
                    failures = if self.progressed { 1 } else { failures.saturating_add(1) };
                    let wait = backoff(failures);
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "publisher session ended");
                    tokio::select! {
                        () = stopped(&mut stop) => break,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        if let Some((client, _)) = self.client.take() {
            // Best effort: nothing is pending any more that matters.
            let _ = tokio::time::timeout(Duration::from_secs(1), client.drain()).await;
        }
        writer_done.send_replace(true);
        if let Err(e) = writer.await {
            tracing::error!(error = %e, "checkpoint writer ended abnormally");
        }
        tracing::info!(acknowledged = self.status.acked().map_or(0, |p| p.commit), "publisher stopped");
    }

    /// The NATS client and JetStream context, connecting on first use.
    async fn context(&mut self) -> Result<jetstream::Context, SessionError> {
        if let Some((_, ctx)) = &self.client {
            return Ok(ctx.clone());
        }
        let url = self.config.nats_url.as_ref().ok_or_else(|| SessionError::Connect("no NATS URL".into()))?;
        let status = self.status.clone();
        let client = ConnectOptions::new()
            .name("leye-publisher")
            .connection_timeout(Duration::from_secs(3))
            .request_timeout(Some(self.config.ack_timeout))
            .max_reconnects(None)
            .reconnect_delay_callback(|attempts| backoff(u32::try_from(attempts).unwrap_or(u32::MAX)))
            .event_callback(move |event| {
                let status = status.clone();
                async move {
                    match event {
                        Event::Connected => {
                            status.set_connected(true);
                            tracing::info!("NATS connected");
                        }
                        Event::Disconnected => {
                            status.set_connected(false);
                            tracing::warn!("NATS disconnected; reconnecting");
                        }
                        other => tracing::info!(event = %other, "NATS"),
                    }
                }
            })
            .connect(url.addrs())
            .await
            .map_err(|e| SessionError::Connect(e.kind().to_string()))?;
        self.status.set_connected(true);
        let ctx = jetstream::ContextBuilder::new()
            .timeout(self.config.ack_timeout)
            .ack_timeout(self.config.ack_timeout)
            .max_ack_inflight(self.config.max_in_flight.max(1))
            .build(client.clone());
        self.client = Some((client, ctx.clone()));
        Ok(ctx)
    }

    /// One session: set up, then pump until stopped or failed.
    async fn session(&mut self, stop: &mut watch::Receiver<bool>) -> Result<Ended, SessionError> {
        let setup = async {
            let ctx = self.context().await?;
            let stream = stream::ensure(&ctx, &self.config.stream).await?;
            let head = self.store.head().await?;
            let resume = stream::resume_point(&stream, self.status.acked(), head).await?;
            Ok::<_, SessionError>((ctx, resume))
        };
        let (ctx, resume) = tokio::select! {
            () = stopped(stop) => return Ok(Ended::Stopped),
            r = setup => r?,
        };
        let acked = self.status.acked();
        if resume.after != acked {
            let at = |p: Option<Position>| p.map_or(0, |p| p.commit);
            match resume.from {
                ResumeFrom::StreamLastMessage if resume.after > acked => tracing::info!(
                    stream_position = at(resume.after),
                    checkpoint = at(acked),
                    "the stream is ahead of the checkpoint (acknowledged before a stop): resuming after its last message"
                ),
                ResumeFrom::StreamLastMessage => tracing::warn!(
                    stream_position = at(resume.after),
                    checkpoint = at(acked),
                    "the stream ends before the checkpoint: JetStream lost acknowledged messages; re-publishing them"
                ),
                ResumeFrom::EmptyStream => tracing::warn!(
                    checkpoint = at(acked),
                    "the stream is new or was recreated: publishing the whole log"
                ),
                ResumeFrom::Checkpoint => {}
            }
            self.status.resume_at(resume.after);
        }
        tracing::info!(
            after = resume.after.map_or(0, |p| p.commit),
            stream_sequence = resume.last_sequence,
            from = ?resume.from,
            "publishing"
        );
        self.status.set_publishing(true);
        let ended = self.pump(&ctx, resume, stop).await;
        self.status.set_publishing(false);
        ended
    }

    /// Publishes from the resume point, up to `max_in_flight` acks pending,
    /// taking acks in order.
    async fn pump(
        &mut self,
        ctx: &jetstream::Context,
        resume: stream::Resume,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Ended, SessionError> {
        type Pending = futures::future::BoxFuture<'static, (Position, Result<jetstream::publish::PublishAck, String>)>;
        let mut events = self.store.subscribe_all(resume.after);
        let mut expected_last = resume.last_sequence;
        let mut pending: FuturesOrdered<Pending> = FuturesOrdered::new();
        let max_in_flight = self.config.max_in_flight.max(1);
        loop {
            tokio::select! {
                biased;
                () = stopped(stop) => {
                    self.drain(pending).await;
                    return Ok(Ended::Stopped);
                }
                Some((position, ack)) = pending.next(), if !pending.is_empty() => {
                    let ack = ack.map_err(|reason| SessionError::Ack { position, reason })?;
                    self.status.ack(position, ack.duplicate);
                    self.progressed = true;
                }
                next = events.next(), if pending.len() < max_in_flight => {
                    let Some(next) = next else {
                        self.drain(pending).await;
                        return Ok(Ended::StoreClosed);
                    };
                    let opener = self.config.opener.as_ref().filter(|_| self.config.personal_data);
                    let out = message::build(next?, opener.map(|o| o.0.as_ref()))?;
                    let position = out.position;
                    let publish = PublishMessage::build()
                        .payload(out.payload)
                        .headers(out.headers)
                        .expected_last_sequence(expected_last);
                    let ack = ctx
                        .send_publish(out.subject, publish)
                        .await
                        .map_err(|e| SessionError::Publish { position, reason: e.to_string() })?;
                    expected_last += 1;
                    pending.push_back(Box::pin(async move { (position, ack.await.map_err(|e| e.to_string())) }));
                }
            }
        }
    }

    /// Takes the acks still pending, in order, for up to [`STOP_GRACE`].
    async fn drain(
        &self,
        mut pending: FuturesOrdered<impl Future<Output = (Position, Result<jetstream::publish::PublishAck, String>)>>,
    ) {
        let n = pending.len();
        let taken = tokio::time::timeout(STOP_GRACE, async {
            while let Some((position, ack)) = pending.next().await {
                match ack {
                    Ok(ack) => self.status.ack(position, ack.duplicate),
                    Err(_) => break,
                }
            }
        })
        .await;
        if taken.is_err() {
            tracing::warn!(pending = n, "stopping with acks still pending; they are re-published on the next start");
        }
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Writes the acknowledged position to the checkpoint file at most every
/// [`CHECKPOINT_INTERVAL`] while it moves, and once more when `done`.
async fn keep_checkpoint(file: CheckpointFile, status: PublisherStatus, mut done: watch::Receiver<bool>) {
    let mut acked = status.watch_acked();
    let mut written = *acked.borrow_and_update();
    loop {
        let finished = tokio::select! {
            () = stopped(&mut done) => true,
            changed = acked.changed() => changed.is_err(),
        };
        let now = *acked.borrow_and_update();
        if now != written {
            if let Some(p) = now {
                if write_checkpoint(&file, &status, p).await {
                    written = now;
                }
            }
        }
        if finished {
            break;
        }
        tokio::select! {
            () = stopped(&mut done) => {}
            () = tokio::time::sleep(CHECKPOINT_INTERVAL) => {}
        }
    }
    let last = *acked.borrow();
    if let (Some(p), true) = (last, last != written) {
        write_checkpoint(&file, &status, p).await;
    }
}

async fn write_checkpoint(file: &CheckpointFile, status: &PublisherStatus, p: Position) -> bool {
    let f = file.clone();
    match tokio::task::spawn_blocking(move || f.store(p)).await {
        Ok(Ok(())) => {
            status.persisted(p);
            true
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot write the publisher checkpoint; a restart may re-publish more");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "checkpoint write task failed");
            false
        }
    }
}

/// 100 ms, 200 ms, 400 ms, … capped at 5 s, for the `attempt`-th failure in a row.
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(10);
    (BACKOFF_MIN * factor).min(BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_100ms_to_5s() {
        let waits: Vec<u64> = (1..=9).map(|a| backoff(a).as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        assert_eq!(backoff(0), BACKOFF_MIN);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    #[test]
    fn nats_urls_never_show_credentials() {
        let url: NatsUrl = "nats://leye:s3cret@10.0.0.1:4222, nats://10.0.0.2:4223".parse().unwrap();
        assert_eq!(url.to_string(), "10.0.0.1:4222,10.0.0.2:4223");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.addrs().len(), 2);
        let err = "nats://user:s3cret@[::1".parse::<NatsUrl>().unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
