//! Running projections: the live follower and the rebuild.
//!
//! A rebuild writes a new generation (`generations.rs`) from position zero
//! while queries keep reading the current one, then switches `CURRENT`. The
//! live follower notices the switch and continues on the new generation from
//! its checkpoint; queries opened after the switch read the new one, those
//! already running finish on the old. A follower that starts far behind the
//! log rebuilds first ([`rebuild_pays`]).

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use leye_store::{EventStore, Position};
use tokio::sync::watch;

pub use crate::generations::ReadModelDir;
use crate::{ProjectionError, Projector, generations::remove_generation};

/// How many events a rebuild reads and folds in one transaction.
const BATCH: usize = 2000;

/// The most events the live projector gathers into one fold: a pace's worth
/// under the heaviest load measured (about 16 000 events/s on a 2-core
/// machine, docs/PERFORMANCE.md), some 10–25 MiB while gathered. A full
/// batch is folded at once, whatever the pace.
const LIVE_BATCH: usize = 16_384;

/// The least time between two folds of the live projector while events keep
/// coming: under command load the events of one pace are folded in one
/// transaction instead of one per group commit (about every 2 ms). A fold's
/// cost is mostly its transaction (WAL frames, checkpoints, the index's
/// changed cases), and the pages a fold rewrites are shared by more events
/// the more it folds at once, so a longer pace costs less CPU per event: 20
/// ms saved 11–16 % CPU a command for two and three servers against a fold
/// per group commit, 250 ms about 11–16 % less again at three servers, and 1
/// s (with the batch of 2 000 events it replaced, a fold came every 170 ms
/// under load) about 15 % less of the publisher's leader's own CPU
/// (docs/PERFORMANCE.md, "The live projector folds at most every 250 ms
/// unless a query waits" and "A twenty-first machine").
///
/// The pace is never a query's wait: an event after a quiet pace is folded at
/// once, a query waiting for a position past the checkpoint (`min_position`,
/// read your own writes) joins [`Wanted`] and the projector folds at once
/// ([`follow_reporting`]), and a projector that gathers a full
/// [`LIVE_BATCH`] while it waits (catching up, or a load of more than a batch
/// a pace) folds at once. It takes the events from its subscription while it
/// waits, so they come from the tail's memory, not from the store. Only what
/// nobody waits for (a dashboard's figures under load) may lag by up to a
/// pace.
pub const PACE: Duration = Duration::from_secs(1);

/// The fewest events behind the log at which the live projector rebuilds the
/// read model instead of folding them ([`rebuild_pays`]): below it a catch-up
/// takes a second or two, not worth a new generation and its index build.
pub const REBUILD_BEHIND: u64 = 100_000;

/// Whether a read model at `checkpoint` reaches the log's `head` sooner by a
/// rebuild (every event from position zero into a fresh generation) than by
/// the live projector folding the events it lacks: when at least `least`
/// events and at least half of the log are missing (a new server, a standby
/// that slept through most of the log, a restored data directory). A rebuild
/// folds 240 000–360 000 events/s where the live fold gets 50 000–140 000,
/// slower as the read model grows, in CPU 4–6 µs an event against 6–14
/// (docs/PERFORMANCE.md, "The live fold by the read model's size"). With the
/// whole log missing the rebuild is two to five times the quicker; with half
/// missing it folds twice the events: about even on a log of 170 000 events
/// (a little dearer in CPU), twice as quick on one of 1.7 million (and
/// cheaper), the gap widening with the log. Positions count events in the
/// SQL stores; with KurrentDB's byte positions the halves hold roughly.
pub fn rebuild_pays(checkpoint: u64, head: u64, least: u64) -> bool {
    let behind = head.saturating_sub(checkpoint);
    behind >= least && behind.saturating_mul(2) >= head
}

/// What a follow does first ([`catch_up`]).
enum CatchUp {
    /// Fold live from the read model's checkpoint.
    Live,
    /// A rebuild switched `CURRENT` to a new generation: open it.
    Rebuilt,
    /// The server stops.
    Stopped,
}

/// Before following: rebuilds the read model when that is the quicker way to
/// the head ([`rebuild_pays`]). A rebuild that fails, or that cannot start
/// because another holds the lock (an operator's), leaves the follower to
/// fold live as it would have (logged): nothing is lost but time.
async fn catch_up<S: EventStore>(
    store: &S,
    dir: &ReadModelDir,
    checkpoint: u64,
    stop: &watch::Receiver<bool>,
    least: u64,
) -> CatchUp {
    let Ok(Some(head)) = store.head().await.map(|h| h.map(|p| p.commit)) else { return CatchUp::Live };
    if !rebuild_pays(checkpoint, head, least) {
        return CatchUp::Live;
    }
    tracing::info!(
        checkpoint,
        head,
        "the read model is at least half the log behind: rebuilding it, quicker than folding the events one by one"
    );
    match rebuild_until(store, dir, |_| {}, stop.clone()).await {
        Ok(_) => CatchUp::Rebuilt,
        Err(ProjectionError::Stopped) => CatchUp::Stopped,
        Err(e) => {
            tracing::warn!(error = %e, "no rebuild; folding the events live instead");
            CatchUp::Live
        }
    }
}

/// How long the live projector waits before folding what it holds, having
/// last folded at `last`: the rest of its `pace`, or nothing when `hurried`
/// (a query waits past the checkpoint).
fn pause_before_fold(last: Option<Instant>, now: Instant, pace: Duration, hurried: bool) -> Option<Duration> {
    if hurried {
        return None;
    }
    let due = last? + pace;
    (due > now).then(|| due - now)
}

/// What the queries waiting for the read model want of the live projector:
/// to have folded `position`, while their wait lasts (`until`). A want whose
/// wait is over hurries nobody: a query for a position the log never reaches
/// (a mistake, or a hostile client) cannot keep the projector from its pace
/// for longer than the query's own wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    pub position: u64,
    pub until: Option<Instant>,
}

impl Wanted {
    /// Whether a projector at `checkpoint` should fold at once, at `now`.
    pub fn hurries(&self, checkpoint: u64, now: Instant) -> bool {
        self.position > checkpoint && self.until.is_some_and(|until| now < until)
    }

    /// Adds a query waiting for `position` until `until`: a want whose wait
    /// is over is replaced, a live one raised to cover both. Returns whether
    /// anything changed.
    pub fn join(&mut self, position: u64, until: Instant, now: Instant) -> bool {
        let before = *self;
        if self.until.is_none_or(|u| u <= now) {
            *self = Self { position, until: Some(until) };
        } else {
            self.position = self.position.max(position);
            self.until = self.until.max(Some(until));
        }
        *self != before
    }
}

/// Returns once queries want the projector hurried past `checkpoint`; never
/// when no query can ask any more (every sender of `wanted` is gone).
async fn hurried_past(wanted: &mut watch::Receiver<Wanted>, checkpoint: u64) {
    if wanted.wait_for(|w| w.hurries(checkpoint, Instant::now())).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Folds one batch on a blocking thread, handing the projector back.
async fn apply_batch(
    mut projector: Projector,
    batch: Vec<leye_store::RecordedEvent>,
) -> Result<Projector, ProjectionError> {
    tokio::task::spawn_blocking(move || projector.apply(&batch).map(|()| projector))
        .await
        .map_err(|e| ProjectionError::Corrupt(format!("projector thread: {e}")))?
}

/// Follows the log into the current generation until `stop` turns true,
/// switching generation when a rebuild switches `CURRENT`.
pub async fn follow<S: EventStore>(
    store: S,
    dir: ReadModelDir,
    stop: watch::Receiver<bool>,
) -> Result<(), ProjectionError> {
    follow_reporting(store, dir, stop, &watch::Sender::new(0), watch::channel(Wanted::default()).1).await
}

/// [`follow`], sending the checkpoint (commit position) on `reached` each
/// time one is committed, and on opening a generation: what queries waiting
/// for a position (read your own writes) wait on. Such a query first joins
/// `wanted` ([`Wanted::join`]): while it hurries the projector past its
/// checkpoint, the projector folds what it holds at once instead of waiting
/// out its [`PACE`].
pub async fn follow_reporting<S: EventStore>(
    store: S,
    dir: ReadModelDir,
    stop: watch::Receiver<bool>,
    reached: &watch::Sender<u64>,
    wanted: watch::Receiver<Wanted>,
) -> Result<(), ProjectionError> {
    follow_paced(store, dir, stop, reached, wanted, Paced { pace: PACE, batch: LIVE_BATCH }, REBUILD_BEHIND).await
}

/// How the live projector gathers events into a fold: at most one fold a
/// `pace` unless hurried, at most `batch` events in one.
#[derive(Debug, Clone, Copy)]
struct Paced {
    pace: Duration,
    batch: usize,
}

/// [`follow_reporting`] at a given pace and batch (the tests' pace is an
/// hour: what they see folded was hurried or a full batch), rebuilding first
/// when at least `rebuild_behind` events and half the log behind
/// ([`rebuild_pays`]).
async fn follow_paced<S: EventStore>(
    store: S,
    dir: ReadModelDir,
    mut stop: watch::Receiver<bool>,
    reached: &watch::Sender<u64>,
    mut wanted: watch::Receiver<Wanted>,
    paced: Paced,
    rebuild_behind: u64,
) -> Result<(), ProjectionError> {
    let mut path = dir.current_or_init()?;
    let mut projector = Projector::open(&path)?;
    let mut checkpoint = tell_reached(&projector, reached)?;
    match catch_up(&store, &dir, checkpoint, &stop, rebuild_behind).await {
        CatchUp::Live => {}
        CatchUp::Stopped => return Ok(()),
        CatchUp::Rebuilt => {
            path = dir.current_or_init()?;
            projector = Projector::open(&path)?;
            checkpoint = tell_reached(&projector, reached)?;
        }
    }
    let mut subscription = store.subscribe_all(projector.checkpoint()?);
    tracing::info!(db = %path.display(), checkpoint, "projector following the log");
    let mut last_fold = None;
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            _ = stop.changed() => return Ok(()),
            next = subscription.next() => match next {
                None => return Ok(()),
                Some(event) => batch.push(event?),
            },
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let checkpoint = *reached.borrow();
        let hurried = wanted.borrow().hurries(checkpoint, Instant::now());
        let pause =
            if batch.is_empty() { None } else { pause_before_fold(last_fold, Instant::now(), paced.pace, hurried) };
        // Gather the events as they come (from the tail's memory) until the
        // pace runs out (at once when it has), a query hurries, or the batch
        // is full; what is already waiting is taken first. The timer and the
        // hurry are made once a gathering, not once an event.
        let paced_out = tokio::time::sleep_until(tokio::time::Instant::now() + pause.unwrap_or_default());
        let hurry = hurried_past(&mut wanted, checkpoint);
        tokio::pin!(paced_out, hurry);
        let mut ended = false;
        while batch.len() < paced.batch {
            tokio::select! {
                biased;
                next = subscription.next() => match next {
                    None => {
                        ended = true;
                        break;
                    }
                    Some(event) => batch.push(event?),
                },
                _ = stop.changed() => return Ok(()),
                () = &mut hurry => break,
                () = &mut paced_out => break,
            }
        }
        let current = dir.current_or_init()?;
        if current != path {
            tracing::info!(from = %path.display(), to = %current.display(), "read model switched by a rebuild");
            let old = std::mem::replace(&mut path, current);
            projector = Projector::open(&path)?;
            remove_generation(&old);
            // The new generation has its own checkpoint: follow from there.
            subscription = store.subscribe_all(projector.checkpoint()?);
            tell_reached(&projector, reached)?;
            continue;
        }
        if !batch.is_empty() {
            projector = apply_batch(projector, batch).await?;
            last_fold = Some(Instant::now());
            tell_reached(&projector, reached)?;
        }
        if ended {
            return Ok(());
        }
    }
}

/// Tells the queries waiting on `reached` the commit position `projector`
/// has folded (0 before any event), and returns it.
fn tell_reached(projector: &Projector, reached: &watch::Sender<u64>) -> Result<u64, ProjectionError> {
    let checkpoint = projector.checkpoint()?.map_or(0, |p| p.commit);
    reached.send_replace(checkpoint);
    Ok(checkpoint)
}

/// Progress of a rebuild.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Events folded so far.
    pub events: u64,
    /// The log's head (commit position) when the rebuild started: with the
    /// SQLite store, the number of events to fold.
    pub total: u64,
    /// Events folded per second since the start.
    pub events_per_second: f64,
    /// Time left at the rate the log's positions have been folded so far.
    pub seconds_left: f64,
}

/// Batches of [`BATCH`] events read ahead of the fold during a rebuild: with
/// the one being folded and [`DECODING`] being decoded, at most ~22 000
/// events are in memory.
const READ_AHEAD: usize = 8;
/// Batches being decoded at once, each on a blocking thread, while the next
/// one is read: reading, decoding and folding overlap.
const DECODING: usize = 2;

/// Replays the whole log into a new generation, then switches to it.
/// `report` is called about once a second (and a progress line is logged
/// every ten), with events folded, events/s and the time left. Returns the
/// new database and the number of events folded.
///
/// Three stages overlap: this task reads the log in batches of [`BATCH`];
/// up to [`DECODING`] batches at a time are decoded ([`crate::Decoded`]) on
/// blocking threads while the next is read; the decoded batches go, in log
/// order, over a bounded channel to one blocking thread that folds each as it
/// comes into a generation made by [`Projector::create_fresh`] (no journal,
/// one transaction, query indexes built at the end, per-case state
/// remembered instead of read back). The generation is made
/// durable before `CURRENT` names it; on any error it is removed and
/// `CURRENT` is untouched.
pub async fn rebuild<S: EventStore>(
    store: &S,
    dir: &ReadModelDir,
    report: impl FnMut(Progress),
) -> Result<(PathBuf, u64), ProjectionError> {
    rebuild_until(store, dir, report, watch::channel(false).1).await
}

/// [`rebuild`], given up with [`ProjectionError::Stopped`] (its generation
/// removed, `CURRENT` untouched) once `stop` turns true: looked at before
/// each batch is read.
async fn rebuild_until<S: EventStore>(
    store: &S,
    dir: &ReadModelDir,
    mut report: impl FnMut(Progress),
    stop: watch::Receiver<bool>,
) -> Result<(PathBuf, u64), ProjectionError> {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
    };
    let _only_rebuild = dir.lock_rebuild()?;
    let path = dir.next_path()?;
    let total = store.head().await?.map_or(0, |p| p.commit);
    let started = Instant::now();
    // Events folded, and the commit position of the last one.
    let folded = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    // Set when the reading failed or was stopped: the folder then skips the
    // query indexes of a generation that is about to be removed.
    let abandoned = Arc::new(AtomicBool::new(false));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<crate::Decoded>>(READ_AHEAD);
    let folder = {
        let (path, folded, abandoned) = (path.clone(), folded.clone(), abandoned.clone());
        tokio::task::spawn_blocking(move || -> Result<u64, ProjectionError> {
            let mut projector = Projector::create_fresh(&path)?;
            let mut events = 0u64;
            // Freeing a folded batch (a few small strings per event) took an
            // eighth of the folding thread's time: another thread does it.
            let (free, folded_batches) = std::sync::mpsc::sync_channel::<Vec<crate::Decoded>>(2);
            std::thread::Builder::new()
                .name("leye-rebuild-free".into())
                .spawn(move || folded_batches.into_iter().for_each(drop))
                .map_err(|e| ProjectionError::Corrupt(format!("rebuild thread: {e}")))?;
            while let Some(batch) = rx.blocking_recv() {
                projector.apply_decoded(&batch)?;
                events += batch.len() as u64;
                folded.0.store(events, Relaxed);
                if let Some(last) = batch.last() {
                    folded.1.store(last.position.commit, Relaxed);
                }
                let _ = free.send(batch); // dropped here if that thread is gone
            }
            if abandoned.load(Relaxed) {
                return Ok(events);
            }
            tracing::debug!(cases = projector.cases_remembered(), "rebuild folded; building the query indexes");
            projector.finish_fresh()?;
            Ok(events)
        })
    };
    let progress = |finished: bool| {
        let events = folded.0.load(Relaxed);
        let at = if finished { total } else { folded.1.load(Relaxed) };
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let positions_per_second = at as f64 / secs;
        let left = if at >= total { 0.0 } else { (total - at) as f64 / positions_per_second.max(1e-9) };
        Progress { events, total, events_per_second: events as f64 / secs, seconds_left: left }
    };
    let read = async {
        let (mut last_report, mut last_log) = (Instant::now(), Instant::now());
        let mut after: Option<Position> = None;
        let mut decoding = std::collections::VecDeque::new();
        let mut exhausted = false;
        loop {
            if *stop.borrow() {
                return Err(ProjectionError::Stopped);
            }
            // Read the next batch while the earlier ones decode.
            if !exhausted {
                let batch = store.read_all(after, BATCH).await?;
                match batch.last() {
                    None => exhausted = true,
                    Some(last) => {
                        after = Some(last.position);
                        decoding.push_back(tokio::task::spawn_blocking(move || {
                            batch.iter().map(crate::Decoded::decode).collect::<Result<Vec<_>, _>>()
                        }));
                    }
                }
            }
            if decoding.len() < DECODING && !exhausted {
                continue;
            }
            let Some(oldest) = decoding.pop_front() else { return Ok::<_, ProjectionError>(()) };
            let decoded = oldest.await.map_err(|e| ProjectionError::Corrupt(format!("rebuild decoder: {e}")))??;
            if tx.send(decoded).await.is_err() {
                return Ok(()); // the folder stopped: its error is the one to report
            }
            if last_report.elapsed() >= Duration::from_secs(1) {
                last_report = Instant::now();
                let p = progress(false);
                report(p);
                if last_log.elapsed() >= Duration::from_secs(10) {
                    last_log = Instant::now();
                    tracing::info!(
                        events = p.events,
                        total = p.total,
                        events_per_second = p.events_per_second.round(),
                        seconds_left = p.seconds_left.round(),
                        "rebuilding the read model"
                    );
                }
            }
        }
    };
    let read = read.await;
    if read.is_err() {
        abandoned.store(true, Relaxed);
    }
    drop(tx);
    let folded_events = folder.await.map_err(|e| ProjectionError::Corrupt(format!("rebuild thread: {e}")));
    let events = match (read, folded_events) {
        (Ok(()), Ok(Ok(events))) => events,
        (Err(e), _) | (Ok(()), Ok(Err(e)) | Err(e)) => {
            remove_generation(&path);
            return Err(e);
        }
    };
    dir.switch_to(&path)?;
    dir.prune()?;
    let p = progress(true);
    tracing::info!(events, events_per_second = p.events_per_second.round(), db = %path.display(), "read model rebuilt");
    report(p);
    Ok((path, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projector_folds_at_once_after_a_quiet_pace_and_waits_out_a_busy_one_unless_hurried() {
        let now = Instant::now();
        let pause = |last, at| pause_before_fold(last, at, PACE, false);
        assert_eq!(pause(None, now), None, "the first fold");
        assert_eq!(pause(Some(now), now), Some(PACE), "just folded");
        assert_eq!(pause(Some(now), now + PACE / 4), Some(PACE - PACE / 4));
        assert_eq!(pause(Some(now), now + PACE), None);
        assert_eq!(pause(Some(now), now + PACE * 3), None, "quiet: at once");
        assert_eq!(pause_before_fold(Some(now), now, PACE, true), None, "hurried: at once");
    }

    fn event(i: u128) -> leye_store::EventData {
        leye_store::EventData {
            event_id: uuid::Uuid::from_u128(i),
            event_type: "other.noted".into(),
            data: b"{}".to_vec(),
            metadata: b"{}".to_vec(),
        }
    }

    /// Events `first..first + n` appended at once; the last one's position.
    async fn append(store: &leye_store::sqlite::SqliteStore, first: u128, n: u128) -> u64 {
        let stream = leye_store::StreamName::parse("other-pace").unwrap();
        let events = (first..first + n).map(event).collect();
        store.append(&stream, leye_store::ExpectedRevision::Any, events).await.unwrap().position.commit
    }

    /// A real SQLite store, a read-model directory, and a live projector
    /// following it at `pace`, with its `reached` and `wanted` channels.
    struct Live {
        store: leye_store::sqlite::SqliteStore,
        dir: ReadModelDir,
        stop: watch::Sender<bool>,
        reached: watch::Sender<u64>,
        wanted: watch::Sender<Wanted>,
        task: tokio::task::JoinHandle<Result<(), ProjectionError>>,
        _tmp: tempfile::TempDir,
    }

    impl Live {
        async fn start(store_first: impl AsyncFnOnce(&leye_store::sqlite::SqliteStore), paced: Paced) -> Self {
            use leye_store::sqlite::{SqliteStore, SqliteStoreOptions};
            let tmp = tempfile::tempdir().unwrap();
            let store =
                SqliteStore::open(tmp.path().join("events.sqlite"), SqliteStoreOptions::default()).await.unwrap();
            store_first(&store).await;
            let dir = ReadModelDir::new(tmp.path().join("rm"));
            Self::follow(store, dir, tmp, paced, REBUILD_BEHIND)
        }

        fn follow(
            store: leye_store::sqlite::SqliteStore,
            dir: ReadModelDir,
            tmp: tempfile::TempDir,
            paced: Paced,
            rebuild_behind: u64,
        ) -> Self {
            let (stop, stopped) = watch::channel(false);
            let reached = watch::Sender::new(0u64);
            let (wanted, wanted_rx) = watch::channel(Wanted::default());
            let task = tokio::spawn({
                let (store, dir, reached) = (store.clone(), dir.clone(), reached.clone());
                async move { follow_paced(store, dir, stopped, &reached, wanted_rx, paced, rebuild_behind).await }
            });
            Self { store, dir, stop, reached, wanted, task, _tmp: tmp }
        }

        /// Stops the projector, handing back what another follow needs.
        async fn halt(self) -> (leye_store::sqlite::SqliteStore, ReadModelDir, tempfile::TempDir) {
            self.stop.send_replace(true);
            self.task.await.unwrap().unwrap();
            (self.store, self.dir, self._tmp)
        }

        /// The directory holding the generations.
        fn folder(&self) -> std::path::PathBuf {
            self.dir.current().unwrap().parent().unwrap().to_owned()
        }

        /// The current generation's file name.
        fn generation(&self) -> String {
            self.dir.current().unwrap().file_name().unwrap().to_string_lossy().into_owned()
        }

        async fn append(&self, first: u128, n: u128) -> u64 {
            append(&self.store, first, n).await
        }

        /// A query waiting for `position` for `wait`.
        fn want(&self, position: u64, wait: Duration) {
            let now = Instant::now();
            self.wanted.send_if_modified(|w| w.join(position, now + wait, now));
        }

        async fn reaches(&self, position: u64, within: Duration) -> bool {
            let mut at = self.reached.subscribe();
            tokio::time::timeout(within, at.wait_for(|p| *p >= position)).await.is_ok()
        }

        async fn stop(self) {
            self.stop.send_replace(true);
            self.task.await.unwrap().unwrap();
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    /// The live projector's own batch at `pace`.
    fn paced(pace: Duration) -> Paced {
        Paced { pace, batch: LIVE_BATCH }
    }

    #[test]
    fn a_want_hurries_only_past_the_checkpoint_and_while_its_wait_lasts() {
        let now = Instant::now();
        let mut w = Wanted::default();
        assert!(!w.hurries(0, now), "nobody waits");
        assert!(w.join(10, now + Duration::from_secs(5), now));
        assert!(w.hurries(9, now) && !w.hurries(10, now), "past the checkpoint only");
        assert!(!w.hurries(9, now + Duration::from_secs(5)), "the wait is over");
        assert!(w.join(7, now + Duration::from_secs(8), now), "a second waiter extends the wait");
        assert_eq!(
            w,
            Wanted { position: 10, until: Some(now + Duration::from_secs(8)) },
            "and keeps the higher position"
        );
        assert!(!w.join(3, now + Duration::from_secs(1), now), "covered already");
        // A want for a position never reached expires; the next replaces it.
        let later = now + Duration::from_secs(9);
        assert!(w.join(4, later + Duration::from_secs(5), later));
        assert_eq!(w, Wanted { position: 4, until: Some(later + Duration::from_secs(5)) });
    }

    /// At a pace of an hour, an event after a fold waits: until a query
    /// raises `wanted` to its position, and then it is folded at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_waiting_for_a_position_is_not_kept_waiting_by_the_pace() {
        let live = Live::start(async |_| {}, paced(HOUR)).await;
        let first = live.append(1, 1).await;
        assert!(live.reaches(first, Duration::from_secs(10)).await, "the first event: folded at once");
        let second = live.append(2, 1).await;
        assert!(!live.reaches(second, Duration::from_millis(300)).await, "within the pace, nobody waiting: not yet");
        let second_wait = Duration::from_secs(2);
        let second_wait_over = Instant::now() + second_wait;
        live.want(second, second_wait);
        assert!(live.reaches(second, Duration::from_secs(10)).await, "a query waits for it: folded at once");
        // Past what is wanted again, the pace holds.
        let third = live.append(3, 1).await;
        assert!(!live.reaches(third, Duration::from_millis(300)).await, "wanted is behind again: the pace holds");
        // A query for a position the log never reaches hurries the projector
        // only while it waits: then the pace holds again.
        tokio::time::sleep_until(second_wait_over.into()).await;
        live.want(1_000_000, Duration::from_millis(200));
        assert!(live.reaches(third, Duration::from_secs(10)).await, "hurried while the query waits");
        tokio::time::sleep(Duration::from_millis(250)).await;
        let fourth = live.append(4, 1).await;
        assert!(!live.reaches(fourth, Duration::from_millis(300)).await, "its wait is over: the pace holds");
        live.stop().await;
    }

    /// A projector behind the log (a restart, a rebuild's switch) folds
    /// without waiting out a pace until it is within a batch of the head: at
    /// a pace of an hour and batches of 100 events it still gets there (more
    /// than two batches, so it takes several folds), each fold a full batch
    /// gathered while the pace runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn catching_up_never_waits_out_the_pace() {
        const SMALL: usize = 100;
        let n = (2 * SMALL + 50) as u128;
        let live = Live::start(
            async |store| {
                let stream = leye_store::StreamName::parse("other-pace").unwrap();
                let events = (1..=n).map(event).collect();
                store.append(&stream, leye_store::ExpectedRevision::Any, events).await.unwrap();
            },
            Paced { pace: HOUR, batch: SMALL },
        )
        .await;
        let near = (n - SMALL as u128) as u64;
        assert!(live.reaches(near, Duration::from_secs(30)).await, "within a batch of the {n} events' end");
        // The trickle left waits out the pace, unless a query wants it.
        assert!(!live.reaches(n as u64, Duration::from_millis(300)).await, "the rest waits out the pace");
        live.want(n as u64, Duration::from_secs(60));
        assert!(live.reaches(n as u64, Duration::from_secs(30)).await, "all {n} events folded");
        let rm = crate::ReadModel::open(&live.dir.current().unwrap()).unwrap();
        assert_eq!(rm.checkpoint().unwrap(), n as u64);
        live.stop().await;
    }

    /// Events committed one by one, about every millisecond, to a real SQLite
    /// store: the live projector folds them in a few transactions (one per
    /// pace at most), not one each, and misses none.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_a_stream_of_commits_the_live_projector_folds_once_a_pace_and_misses_nothing() {
        let live = Live::start(async |_| {}, paced(PACE)).await;
        let mut folds = live.reached.subscribe();
        let counter = tokio::spawn(async move {
            let mut seen = Vec::new();
            while folds.changed().await.is_ok() {
                seen.push(*folds.borrow_and_update());
            }
            seen
        });
        let started = Instant::now();
        let mut last = 0;
        for i in 1..=200 {
            last = live.append(i, 1).await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let elapsed = started.elapsed();
        assert!(live.reaches(last, Duration::from_secs(10)).await);
        assert_eq!(
            crate::ReadModel::open(&live.dir.current().unwrap()).unwrap().checkpoint().unwrap(),
            last,
            "every event folded"
        );
        live.stop().await;
        let seen = counter.await.unwrap();
        let most = elapsed.as_millis() / PACE.as_millis() + 3;
        assert!(
            seen.len() as u128 <= most,
            "{} folds for 200 commits over {elapsed:?} (at most {most}: one a pace): {seen:?}",
            seen.len()
        );
    }

    #[test]
    fn a_rebuild_pays_from_the_least_events_and_half_the_log_behind() {
        assert!(rebuild_pays(0, 100, 100), "a new read model, the least behind");
        assert!(!rebuild_pays(0, 99, 100), "fewer than the least");
        assert!(rebuild_pays(50, 100, 10) && rebuild_pays(50, 101, 10), "half the log, rounded up");
        assert!(!rebuild_pays(51, 101, 10), "less than half");
        assert!(!rebuild_pays(100, 100, 0) && !rebuild_pays(120, 100, 0), "caught up, or past a head read earlier");
    }

    /// A read model far behind the log is rebuilt, not folded live: from
    /// nothing, and after a stop that the log outgrew by more than half;
    /// less than half behind, it folds live. Either way every event is
    /// folded, and events after the rebuild are folded live.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_projector_more_than_half_the_log_behind_rebuilds_and_then_follows_live() {
        let live = Live::start(async |_| {}, paced(PACE)).await;
        let (store, dir, tmp) = live.halt().await;
        let live = Live::follow(store, dir, tmp, paced(PACE), 300);
        let head = live.append(1, 400).await;
        assert!(live.reaches(head, Duration::from_secs(30)).await, "folded live from the first event");
        assert_eq!(live.generation(), "rm-1.sqlite", "never behind: no rebuild");
        // Stopped; 200 events more: a third of the log behind, folded live.
        let (store, dir, tmp) = live.halt().await;
        let head = append(&store, 401, 200).await;
        let live = Live::follow(store, dir, tmp, paced(PACE), 100);
        assert!(live.reaches(head, Duration::from_secs(30)).await);
        assert_eq!(live.generation(), "rm-1.sqlite", "a third of the log behind: folded live");
        // Stopped; 700 more: more than half the log behind, rebuilt.
        let (store, dir, tmp) = live.halt().await;
        let head = append(&store, 601, 700).await;
        let live = Live::follow(store, dir, tmp, paced(PACE), 100);
        assert!(live.reaches(head, Duration::from_secs(30)).await);
        assert_eq!(live.generation(), "rm-2.sqlite", "more than half behind: a new generation");
        let rm = crate::ReadModel::open(&live.dir.current().unwrap()).unwrap();
        assert_eq!(rm.checkpoint().unwrap(), head, "every event, in the rebuilt generation");
        assert!(!live.folder().join("rm-1.sqlite").exists(), "the old generation pruned");
        let next = live.append(1301, 3).await;
        assert!(live.reaches(next, Duration::from_secs(30)).await, "then followed live");
        assert_eq!(live.generation(), "rm-2.sqlite");
        live.stop().await;
    }

    /// A rebuild stopped before it finishes leaves no generation behind and
    /// `CURRENT` as it was.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_rebuild_leaves_nothing_behind() {
        let live = Live::start(async |_| {}, paced(PACE)).await;
        let head = live.append(1, 50).await;
        assert!(live.reaches(head, Duration::from_secs(30)).await);
        let (_stop, stopped) = watch::channel(true);
        let r = rebuild_until(&live.store, &live.dir, |_| {}, stopped).await;
        assert!(matches!(r, Err(ProjectionError::Stopped)), "{r:?}");
        assert_eq!(live.generation(), "rm-1.sqlite");
        let files: Vec<String> = std::fs::read_dir(live.folder())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("rm-") && !n.starts_with("rm-1."))
            .collect();
        assert!(files.is_empty(), "{files:?}");
        live.stop().await;
    }
}
