//! Leader election through NATS: a lease per role in a JetStream key-value
//! bucket, for the store that cannot elect (KurrentDB).
//!
//! - **The bucket** `leye_leaders` (stream `KV_leye_leaders`) keeps one value
//!   per key for at most [`Lease::ttl`] after it was written (`max_age`): a
//!   value not renewed disappears by itself. Its copies follow the
//!   publisher's stream (`nats_stream_replicas`). leye creates the bucket's
//!   stream itself, with the settings of a key-value bucket: the client's
//!   own bucket creation first reads the account's JetStream limits in a
//!   shape NATS 2.9 does not answer.
//! - **Acquire.** Every server campaigns: every `interval` it tries
//!   `create(role, <campaign id>)`, which JetStream accepts only when the key
//!   holds no value (never written, deleted, or expired).
//! - **Hold.** The leader renews every `interval` with `update(role, id,
//!   revision)`, accepted only if nobody wrote the key since its own last
//!   write (compare-and-set on the revision). A refused renewal means another
//!   server holds the key: it steps down at once. A renewal that fails
//!   otherwise (NATS unreachable, a timeout) is retried; once
//!   [`Lease::hold`] has passed since the start of the last renewal that
//!   succeeded, it steps down.
//! - **No overlap.** A value expires `ttl` after JetStream stored it, so at
//!   least `ttl` after the request that wrote it began; the leader has
//!   stepped down by `hold + 2 × interval` after that start (a renewal and a
//!   sleep between two checks), which is less than `ttl`. So a standby can
//!   create the key only after the leader stopped, as long as the two
//!   machines' clocks run at the same rate (both are intervals, not dates).
//! - **Release.** A campaign dropped while leading deletes the key (expecting
//!   its revision): a standby takes over within `interval`. A leader killed
//!   without that is replaced once its value expired: within `ttl +
//!   interval` (5 s and 6 s with the server's 1 s interval).

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv, stream};
use tokio::{sync::watch, task::JoinHandle};

use crate::publisher::NatsUrl;

/// The key-value bucket of the leases.
pub const BUCKET: &str = "leye_leaders";

/// The timing of a lease, all derived from the campaign interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub interval: Duration,
}

impl Lease {
    /// How long a value lives unrenewed: 5 intervals.
    pub fn ttl(&self) -> Duration {
        self.interval * 5
    }

    /// How long a leader goes on leading without a successful renewal: 2
    /// intervals (it has stopped by `hold + 2 × interval` < `ttl`).
    pub fn hold(&self) -> Duration {
        self.interval * 2
    }
}

/// One role's campaign through NATS. Dropping it ends the campaign and, if
/// it leads, releases the role.
#[derive(Debug)]
pub struct NatsLeadership {
    state: watch::Receiver<bool>,
    task: Option<JoinHandle<()>>,
    release: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for NatsLeadership {
    fn drop(&mut self) {
        // The task stops leading and deletes the key when told to; if it is
        // gone already, aborting it changes nothing.
        if let Some(release) = self.release.take() {
            if release.send(()).is_ok() {
                return;
            }
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl NatsLeadership {
    /// Starts campaigning for `role` on the NATS servers of `url`.
    pub fn campaign(url: NatsUrl, replicas: usize, role: &str, lease: Lease) -> Self {
        let (tx, state) = watch::channel(false);
        let (release, released) = tokio::sync::oneshot::channel();
        let id = uuid::Uuid::new_v4().to_string();
        let task = tokio::spawn(run(url, replicas, role.to_owned(), id, lease, tx, released));
        Self { state, task: Some(task), release: Some(release) }
    }

    /// Whether this process leads the role now.
    pub fn is_leader(&self) -> bool {
        *self.state.borrow()
    }

    /// A receiver of the leader state (true while leading).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.state.clone()
    }

    /// Stops campaigning WITHOUT releasing the role, as a killed process
    /// would: the lease has to expire. For tests of the fail-over.
    #[doc(hidden)]
    pub fn abandon(mut self) {
        self.release = None;
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The bucket's stream: what `async_nats` makes for a key-value bucket of
/// history 1 and max age `ttl`.
fn bucket_stream(replicas: usize, ttl: Duration) -> stream::Config {
    stream::Config {
        name: format!("KV_{BUCKET}"),
        description: Some("leye: which server leads each role (leases)".into()),
        subjects: vec![format!("$KV.{BUCKET}.>")],
        max_messages_per_subject: 1,
        max_age: ttl,
        duplicate_window: ttl,
        max_bytes: -1,
        max_message_size: -1,
        storage: stream::StorageType::File,
        num_replicas: replicas.max(1),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    }
}

/// Connects and opens the bucket, creating it when missing.
async fn bucket(url: &NatsUrl, replicas: usize, lease: Lease) -> Option<kv::Store> {
    let wait = lease.interval.max(Duration::from_secs(1));
    let client = async_nats::ConnectOptions::new()
        .name("leye-leadership")
        .connection_timeout(wait)
        .request_timeout(Some(wait))
        .connect(url.addrs())
        .await
        .ok()?;
    let js = jetstream::new(client);
    if let Ok(store) = js.get_key_value(BUCKET).await {
        return Some(store);
    }
    if let Err(e) = js.create_stream(bucket_stream(replicas, lease.ttl())).await {
        tracing::warn!(error = %e, "cannot create the leadership bucket on NATS; retrying");
    }
    js.get_key_value(BUCKET).await.ok()
}

async fn run(
    url: NatsUrl,
    replicas: usize,
    role: String,
    id: String,
    lease: Lease,
    state: watch::Sender<bool>,
    mut released: tokio::sync::oneshot::Receiver<()>,
) {
    let interval = lease.interval;
    let mut store: Option<kv::Store> = None;
    // While leading: the key's revision, and when the last successful write began.
    let mut held: Option<(u64, Instant)> = None;
    loop {
        if store.is_none() {
            store = tokio::time::timeout(interval * 2, bucket(&url, replicas, lease)).await.ok().flatten();
        }
        if let Some(kv) = &store {
            let began = Instant::now();
            let value = || bytes::Bytes::from(id.clone());
            match held {
                None => {
                    if let Ok(Ok(revision)) = tokio::time::timeout(interval, kv.create(&role, value())).await {
                        held = Some((revision, began));
                        tracing::info!(role, "leading");
                        state.send_replace(true);
                    }
                }
                Some((revision, _)) => {
                    match tokio::time::timeout(interval, kv.update(&role, value(), revision)).await {
                        Ok(Ok(next)) => held = Some((next, began)),
                        Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                            tracing::warn!(role, "the lease is held by another server: no longer leading");
                            held = None;
                            state.send_replace(false);
                        }
                        // NATS unreachable or slow: retried, within the hold.
                        Ok(Err(_)) | Err(_) => {}
                    }
                }
            }
        }
        if held.is_some_and(|(_, last)| last.elapsed() >= lease.hold()) {
            tracing::warn!(role, "cannot renew the lease on NATS: no longer leading");
            held = None;
            state.send_replace(false);
            store = None; // connect again
        }
        tokio::select! {
            _ = &mut released => break,
            () = tokio::time::sleep(interval) => {}
        }
    }
    // Released: stop leading first, then free the key for a standby.
    state.send_replace(false);
    if let (Some((revision, _)), Some(kv)) = (held, &store) {
        let _ = tokio::time::timeout(interval, kv.delete_expect_revision(&role, Some(revision))).await;
    }
}
