//! Reads (a few connections with prepared statements), followers, and the
//! `LISTEN` connection that wakes them when any server commits.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::DateTime;
use futures::StreamExt;
use tokio::sync::{Mutex, mpsc, watch};
use tokio_postgres::{AsyncMessage, Client, NoTls, Row, Statement};
use uuid::Uuid;

use super::{NOTIFY_CHANNEL, Target, corrupt, pg, signed, unsigned};
use crate::{
    ChainedEvent, Position, RecordedEvent, StoreError, StreamName,
    chain::Seal,
    headfile::{LINK_LEN, Link},
};

/// How many events a subscription reads per query.
/// How many events a subscription buffers ahead of its reader.
pub(super) const SUBSCRIPTION_BUFFER: usize = 1024;

const COLUMNS: &str = "position, stream, revision, event_id, event_type, data, metadata, recorded_at";
const SEAL_COLUMNS: &str = "chain_prev, chain_hash, chain_mac, chain_check";

/// One read connection and its prepared statements.
struct Reader {
    client: Client,
    read_all: Statement,
    read_chain: Statement,
    read_stream: Statement,
    head: Statement,
    log_head: Statement,
}

impl Reader {
    async fn connect(target: &Target) -> Result<Self, StoreError> {
        let client = target.connect("reader").await?;
        let prepare = |sql: String| {
            let client = &client;
            async move { client.prepare(&sql).await.map_err(pg) }
        };
        let read_all = prepare(format!("SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"));
        let read_chain = prepare(read_chain_sql());
        let read_stream =
            prepare(format!("SELECT {COLUMNS} FROM events WHERE stream = $1 AND revision >= $2 ORDER BY revision"));
        let head = prepare("SELECT max(position) FROM events".into());
        let log_head = prepare("SELECT position, hash, tag FROM log_head WHERE id = 1".into());
        let (read_all, read_chain, read_stream, head, log_head) =
            futures::try_join!(read_all, read_chain, read_stream, head, log_head)?;
        Ok(Self { client, read_all, read_chain, read_stream, head, log_head })
    }
}

/// A fixed set of read connections, opened on first use and replaced when closed.
pub(super) struct Readers {
    target: Target,
    slots: Vec<Mutex<Option<Arc<Reader>>>>,
    next: AtomicUsize,
}

impl Readers {
    pub(super) fn new(target: Target, connections: usize) -> Self {
        Self { target, slots: (0..connections).map(|_| Mutex::new(None)).collect(), next: AtomicUsize::new(0) }
    }

    async fn reader(&self) -> Result<Arc<Reader>, StoreError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let mut slot = self.slots[i].lock().await;
        if let Some(reader) = slot.as_ref().filter(|r| !r.client.is_closed()) {
            return Ok(Arc::clone(reader));
        }
        let reader = Arc::new(Reader::connect(&self.target).await?);
        *slot = Some(Arc::clone(&reader));
        Ok(reader)
    }

    pub(super) async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let r = self.reader().await?;
        let after = after.map_or(0, |p| signed(p.commit));
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = r.client.query(&r.read_all, &[&after, &max]).await.map_err(pg)?;
        rows.iter().map(decode).collect()
    }

    pub(super) async fn read_chain(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> Result<Vec<ChainedEvent>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let r = self.reader().await?;
        let after = after.map_or(0, |p| signed(p.commit));
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = r.client.query(&r.read_chain, &[&after, &max]).await.map_err(pg)?;
        rows.iter().map(decode_chained).collect()
    }

    pub(super) async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let r = self.reader().await?;
        let rows = r.client.query(&r.read_stream, &[&stream.as_str(), &signed(from_revision)]).await.map_err(pg)?;
        rows.iter().map(decode).collect()
    }

    pub(super) async fn head(&self) -> Result<Option<Position>, StoreError> {
        let r = self.reader().await?;
        let row = r.client.query_one(&r.head, &[]).await.map_err(pg)?;
        let max: Option<i64> = row.try_get(0).map_err(pg)?;
        max.map(|p| unsigned(p).map(Position::from_sequence)).transpose()
    }

    /// The head row: its link and its tag (unchecked).
    pub(super) async fn log_head(&self) -> Result<(Link, Vec<u8>), StoreError> {
        let r = self.reader().await?;
        let row = r.client.query_one(&r.log_head, &[]).await.map_err(pg)?;
        let hash: Vec<u8> = row.try_get(1).map_err(pg)?;
        let link = Link {
            seq: unsigned(row.try_get(0).map_err(pg)?)?,
            hash: hash.try_into().map_err(|_| corrupt("log head hash"))?,
        };
        Ok((link, row.try_get(2).map_err(pg)?))
    }
}

/// The query of one page of the chain: `position > $1`, at most `$2` rows.
pub(super) fn read_chain_sql() -> String {
    format!("SELECT {COLUMNS}, {SEAL_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2")
}

/// One row of the `COLUMNS` then the `SEAL_COLUMNS`.
pub(super) fn decode_chained(row: &Row) -> Result<ChainedEvent, StoreError> {
    let fixed = |i: usize| -> Result<[u8; LINK_LEN], StoreError> {
        let b: Vec<u8> = row.try_get(i).map_err(pg)?;
        b.try_into().map_err(|_| corrupt("seal"))
    };
    let check: Vec<u8> = row.try_get(11).map_err(pg)?;
    let check = check.try_into().map_err(|_| corrupt("seal"))?;
    Ok(ChainedEvent { event: decode(row)?, seal: Seal { prev: fixed(8)?, hash: fixed(9)?, mac: fixed(10)?, check } })
}

/// One row of the `COLUMNS` (first eight columns).
fn decode(row: &Row) -> Result<RecordedEvent, StoreError> {
    let stream: String = row.try_get(1).map_err(pg)?;
    let event_id: Vec<u8> = row.try_get(3).map_err(pg)?;
    let recorded_at: i64 = row.try_get(7).map_err(pg)?;
    Ok(RecordedEvent {
        stream: StreamName::parse(stream).map_err(|_| corrupt("stream name"))?,
        revision: unsigned(row.try_get(2).map_err(pg)?)?,
        position: Position::from_sequence(unsigned(row.try_get(0).map_err(pg)?)?),
        event_id: Uuid::from_slice(&event_id).map_err(|_| corrupt("event id"))?,
        event_type: row.try_get(4).map_err(pg)?,
        data: row.try_get(5).map_err(pg)?,
        metadata: row.try_get(6).map_err(pg)?,
        recorded_at: DateTime::from_timestamp_micros(recorded_at).ok_or_else(|| corrupt("recorded_at"))?,
    })
}

/// Listens on [`NOTIFY_CHANNEL`] while `following` (something on this server
/// follows the log, see [`crate::tail::Tail::following`]) and bumps `wake` on
/// every notification, and after every (re)connection for what may have been
/// missed meanwhile, until aborted. While nothing follows it holds no
/// session: PostgreSQL wakes every listening session of the database at every
/// commit of every server (whatever the channel), and a standby whose read
/// model sleeps has nothing to wake.
pub(super) async fn listen(
    target: Target,
    wake: Arc<watch::Sender<u64>>,
    mut following: watch::Receiver<bool>,
    retry: Duration,
) {
    let mut config = target.config.clone();
    config.application_name("leye-listen");
    loop {
        if following.wait_for(|f| *f).await.is_err() {
            return; // the store's tail is gone
        }
        let mut unfollowed = false;
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (notes_tx, mut notes) = mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = messages.next().await {
                        if let AsyncMessage::Notification(_) = message {
                            if notes_tx.send(()).is_err() {
                                return;
                            }
                        }
                    }
                });
                if client.batch_execute(&format!("LISTEN {NOTIFY_CHANNEL}")).await.is_ok() {
                    wake.send_modify(|n| *n = n.wrapping_add(1));
                    loop {
                        tokio::select! {
                            note = notes.recv() => {
                                if note.is_none() {
                                    break; // the connection is lost
                                }
                                // Coalesce a burst into one wake-up.
                                while notes.try_recv().is_ok() {}
                                wake.send_modify(|n| *n = n.wrapping_add(1));
                            }
                            _ = following.wait_for(|f| !*f) => {
                                unfollowed = true; // the session ends below, its LISTEN with it
                                break;
                            }
                        }
                    }
                }
                driver.abort();
            }
            Err(e) => tracing::debug!(error = %e, "cannot open the LISTEN connection; retrying"),
        }
        if !unfollowed {
            tokio::time::sleep(retry).await;
        }
    }
}
