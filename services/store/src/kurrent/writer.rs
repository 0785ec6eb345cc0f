//! The writer task (group commit of queued appends into one KurrentDB append
//! on the log stream, decided again after losing a race to another server)
//! and the listener that wakes followers on other servers' appends.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use chrono::Utc;
use kurrentdb::{StreamPosition, SubscribeToStreamOptions};
use tokio::sync::{mpsc, oneshot, watch};

use super::{
    Log, append_options,
    envelope::{log_state, store_error},
    index::{Ask, plan},
};
use crate::{AppendResult, EventData, ExpectedRevision, StoreError, StreamName};

/// Decisions one batch may lose to other servers' appends before its
/// requests get an error: each loss means another server's batch went in.
const MAX_ATTEMPTS: usize = 64;

/// One `append` call waiting for the writer.
pub(super) struct Request {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<EventData>,
    pub reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

impl Request {
    /// What the request adds to an append: payloads, metadata, and about 200
    /// bytes of envelope and KurrentDB framing per event.
    fn bytes(&self) -> usize {
        self.events
            .iter()
            .map(|e| e.data.len() + 2 * e.metadata.len() + e.event_type.len() + self.stream.as_str().len() + 200)
            .sum()
    }
}

pub(super) struct Writer {
    pub log: Arc<Log>,
    pub wake: Arc<watch::Sender<u64>>,
    pub max_batch: usize,
    pub max_batch_bytes: usize,
}

impl Writer {
    /// Takes a batch (what is queued, up to `max_batch` requests and
    /// `max_batch_bytes`), appends it, and again, until every sender is gone
    /// and the queue is drained.
    pub(super) async fn run(self, mut rx: mpsc::Receiver<Request>) {
        let mut held: Option<Request> = None;
        loop {
            let first = match held.take() {
                Some(request) => request,
                None => match rx.recv().await {
                    Some(request) => request,
                    None => break,
                },
            };
            let mut bytes = first.bytes();
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(request) if bytes + request.bytes() > self.max_batch_bytes => {
                        held = Some(request);
                        break;
                    }
                    Ok(request) => {
                        bytes += request.bytes();
                        batch.push(request);
                    }
                    Err(_) => break,
                }
            }
            let results = match self.commit(&batch).await {
                Ok(results) => results,
                Err(e) => {
                    tracing::warn!(batch = batch.len(), error = %e, "KurrentDB append failed");
                    batch.iter().map(|_| Err(copy(&e))).collect()
                }
            };
            for (request, result) in batch.into_iter().zip(results) {
                let _ = request.reply.send(result);
            }
        }
        tracing::debug!("KurrentDB writer stopped");
    }

    /// Decides the batch against the caught-up index and appends what it
    /// accepts with "the log ends where the index ends"; on losing that race,
    /// catches up and decides again. `Err`: nothing of the batch was written
    /// by this call (or, if the connection failed mid-append, the outcome is
    /// unknown: a retry with the same event ids is answered idempotently).
    async fn commit(&self, batch: &[Request]) -> Result<Vec<Result<AppendResult, StoreError>>, StoreError> {
        let key = self.log.key.clone().ok_or_else(|| StoreError::Backend("the chain key is not available".into()))?;
        let asks: Vec<Ask<'_>> =
            batch.iter().map(|r| Ask { stream: &r.stream, expected: r.expected, events: &r.events }).collect();
        for attempt in 1..=MAX_ATTEMPTS {
            self.log.catch_up().await?;
            let plan = plan(&self.log.index(), &asks, &key, Utc::now().timestamp_micros());
            if plan.events.is_empty() {
                return Ok(plan.results);
            }
            let events: Vec<kurrentdb::EventData> = plan
                .events
                .iter()
                .map(|p| {
                    kurrentdb::EventData::binary(&p.event_type, Bytes::from(p.data.clone()))
                        .id(p.event_id)
                        .metadata(Bytes::from(p.envelope.encode()))
                })
                .collect();
            let options = append_options(self.log.deadline, log_state(plan.base));
            match self.log.client.append_to_stream(self.log.stream.as_str(), &options, events).await {
                Ok(_) => {
                    self.wake.send_modify(|n| *n = n.wrapping_add(1));
                    // The index learns the batch from the log itself, as every
                    // other server does. A failure here changes nothing of
                    // the answers: the batch is durable; the next call retries.
                    if let Err(e) = self.log.catch_up().await {
                        tracing::warn!(error = %e, "reading back the appended batch failed");
                    }
                    return Ok(plan.results);
                }
                Err(kurrentdb::Error::WrongExpectedVersion { .. }) => {
                    tracing::debug!(attempt, "another server appended to the log first: deciding again");
                }
                // A follower refused it (nothing written): the client moves
                // to the leader it names; decide again there.
                Err(kurrentdb::Error::NotLeaderException(_)) => {
                    tracing::debug!(attempt, "the node is no longer the leader: trying the new one");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(store_error(&self.log.shown, "appending to the log", &e)),
            }
        }
        Err(StoreError::Backend(format!(
            "KurrentDB at {}: the log moved under {MAX_ATTEMPTS} attempts in a row (other servers' appends); \
             nothing of this batch was written",
            self.log.shown
        )))
    }
}

/// A copy of an error for every request of a failed batch.
fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Integrity { code, detail } => StoreError::Integrity { code, detail: detail.clone() },
        StoreError::Closed => StoreError::Closed,
        other => StoreError::Backend(match other {
            StoreError::Backend(message) => message.clone(),
            other => other.to_string(),
        }),
    }
}

/// Wakes followers when any server appends: a KurrentDB subscription to the
/// log stream from its end, re-opened after `retry` when it drops. Runs until
/// aborted.
pub(super) async fn listen(log: Arc<Log>, wake: Arc<watch::Sender<u64>>, retry: Duration) {
    loop {
        let options = SubscribeToStreamOptions::default().start_from(StreamPosition::End);
        let mut subscription = log.client.subscribe_to_stream(log.stream.as_str(), &options).await;
        loop {
            match subscription.next().await {
                Ok(_) => wake.send_modify(|n| *n = n.wrapping_add(1)),
                Err(e) => {
                    tracing::debug!(error = %e, "KurrentDB subscription to the log dropped: re-subscribing");
                    break;
                }
            }
        }
        tokio::time::sleep(retry).await;
    }
}
