//! Running projections: the live follower, the rebuild, and the directory that
//! says which database is current.
//!
//! # Generations
//! The read model lives in `<dir>/rm-<n>.sqlite`; the file `<dir>/CURRENT` names
//! the one in use, and is replaced atomically (write, fsync, rename). A rebuild
//! writes a new generation from position zero while queries keep reading the
//! current one, then switches `CURRENT`. The live follower notices the switch
//! and continues on the new generation from its checkpoint; queries opened
//! after the switch read the new one, those already running finish on the old.
//!
//! `<dir>/current.sqlite` is a symbolic link to the current generation,
//! swapped atomically with `CURRENT`: the stable path for BI tools. After a
//! rebuild switches, the older generations are removed ([`ReadModelDir::prune`]).

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use leye_store::{EventStore, Position};
use tokio::sync::watch;

use crate::{ProjectionError, Projector};

/// How many events one transaction folds at most.
const BATCH: usize = 2000;

/// The least time between two folds of the live projector while events keep
/// coming: under command load the events of one pace are folded in one
/// transaction instead of one per group commit (about every 2 ms). Each
/// server folds every event into its own read model, and a fold's cost is
/// mostly its transaction (WAL frames, checkpoints, the index's changed
/// cases), so a longer pace costs less CPU per event: 20 ms saved 11–16 % CPU
/// a command for two and three servers against a fold per group commit, and
/// 250 ms about 11–16 % less again at three servers (docs/PERFORMANCE.md,
/// "The live projector folds at most every 250 ms unless a query waits").
///
/// The pace is never a query's wait: an event after a quiet pace is folded at
/// once, a query waiting for a position past the checkpoint (`min_position`,
/// read your own writes) joins [`Wanted`] and the projector folds at once
/// ([`follow_reporting`]), and a projector a full [`BATCH`] or more behind
/// (catching up, or a load of more than a batch a pace) folds at once. Only what
/// nobody waits for (a dashboard's figures under load) may lag by up to a
/// pace.
pub const PACE: Duration = Duration::from_millis(250);

/// Whether the log's head is at least [`BATCH`] positions past `event`, so
/// that a full batch is waiting (positions count events in the SQL stores; a
/// store whose positions are bytes only folds sooner): then the projector
/// folds at once, whatever its pace. A failed look is "no": the pace is kept,
/// and the subscription reports the store's failure.
async fn far_behind<S: EventStore>(store: &S, event: &leye_store::RecordedEvent) -> bool {
    match store.head().await {
        Ok(Some(head)) => head.commit.saturating_sub(event.position.commit) >= BATCH as u64,
        _ => false,
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

/// The directory of read-model generations.
#[derive(Debug, Clone)]
pub struct ReadModelDir {
    dir: PathBuf,
}

impl ReadModelDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn pointer(&self) -> PathBuf {
        self.dir.join("CURRENT")
    }

    /// The current generation's database. Readers call this: it never
    /// creates anything, and says so when there is no read model yet.
    pub fn current(&self) -> Result<PathBuf, ProjectionError> {
        match std::fs::read_to_string(self.pointer()) {
            Ok(name) => Ok(self.dir.join(name.trim())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ProjectionError::NotReady),
            Err(e) => Err(io(e)),
        }
    }

    /// The current generation, creating the first one (schema included)
    /// before publishing it, so a reader never finds a database without
    /// tables. For the projector.
    pub fn current_or_init(&self) -> Result<PathBuf, ProjectionError> {
        match self.current() {
            Err(ProjectionError::NotReady) => {
                let first = self.next_path()?;
                drop(Projector::open(&first)?);
                self.switch_to(&first)?;
                self.current()
            }
            Ok(path) => {
                // A directory from before the link: give it one.
                if std::fs::symlink_metadata(self.current_link()).is_err() {
                    if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                        self.link_current(name)?;
                    }
                }
                Ok(path)
            }
            other => other,
        }
    }

    /// A fresh path for a new generation.
    /// Takes `<dir>/rebuild.lock` for one rebuild: held until the returned
    /// file is dropped (or the process ends), refused while another rebuild,
    /// in this process or another, holds it. Two rebuilds at once would pick
    /// the same next generation and remove each other's files.
    pub fn lock_rebuild(&self) -> Result<std::fs::File, ProjectionError> {
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let path = self.dir.join("rebuild.lock");
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(file),
            Err(rustix::io::Errno::WOULDBLOCK) => Err(ProjectionError::RebuildUnderWay(path.display().to_string())),
            Err(e) => Err(io(e.into())),
        }
    }

    pub fn next_path(&self) -> Result<PathBuf, ProjectionError> {
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let n = std::fs::read_dir(&self.dir)
            .map_err(io)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_prefix("rm-")?.strip_suffix(".sqlite")?.parse::<u64>().ok()
            })
            .max()
            .map_or(1, |n| n + 1);
        Ok(self.dir.join(format!("rm-{n}.sqlite")))
    }

    /// Makes `db` the current generation, atomically.
    pub fn switch_to(&self, db: &Path) -> Result<(), ProjectionError> {
        let name = db
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| ProjectionError::Corrupt(format!("read-model path {} has no file name", db.display())))?;
        // A temporary name of its own, so concurrent switches never collide.
        let tmp = self.dir.join(format!("CURRENT.{}.{}.tmp", std::process::id(), uuid::Uuid::new_v4()));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(name.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, self.pointer()).map_err(io)?;
        self.link_current(name)?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The stable path for BI tools: `<dir>/current.sqlite`, a symbolic link
    /// to the current generation, replaced atomically (a new link under a
    /// temporary name, renamed over the old one) on every switch. A tool that
    /// opens it reads the generation current at that moment until it closes
    /// (SQLite follows the link, so its WAL is the generation's own).
    pub fn current_link(&self) -> PathBuf {
        self.dir.join("current.sqlite")
    }

    fn link_current(&self, name: &str) -> Result<(), ProjectionError> {
        #[cfg(unix)]
        {
            let tmp = self.dir.join(format!("current.{}.{}.tmp", std::process::id(), uuid::Uuid::new_v4()));
            std::os::unix::fs::symlink(name, &tmp).map_err(io)?;
            std::fs::rename(&tmp, self.current_link()).map_err(io)?;
        }
        #[cfg(not(unix))]
        let _ = name;
        Ok(())
    }

    /// Removes the generations older than the current one (and their WAL and
    /// shared-memory files); a generation newer than `CURRENT` is a rebuild
    /// under way and stays. Readers that still have an old generation open
    /// finish on it (the file lives until they close it); new readers open
    /// the current one. Returns how many generations were removed.
    pub fn prune(&self) -> Result<usize, ProjectionError> {
        let number = |name: &str| name.strip_prefix("rm-")?.strip_suffix(".sqlite")?.parse::<u64>().ok();
        let current = self.current()?;
        let Some(keep) = current.file_name().and_then(|n| n.to_str()).and_then(number) else { return Ok(0) };
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir).map_err(io)?.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            if name.to_str().and_then(number).is_some_and(|n| n < keep) {
                remove_generation(&entry.path());
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn io(e: std::io::Error) -> ProjectionError {
    ProjectionError::Files(e.to_string())
}

/// Removes a generation's files (main file, WAL, shared memory).
fn remove_generation(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
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
    follow_paced(store, dir, stop, reached, wanted, PACE).await
}

/// [`follow_reporting`] at a given pace (the tests' is an hour: what they
/// see folded was hurried).
async fn follow_paced<S: EventStore>(
    store: S,
    dir: ReadModelDir,
    mut stop: watch::Receiver<bool>,
    reached: &watch::Sender<u64>,
    mut wanted: watch::Receiver<Wanted>,
    pace: Duration,
) -> Result<(), ProjectionError> {
    let mut path = dir.current_or_init()?;
    let mut projector = Projector::open(&path)?;
    reached.send_replace(projector.checkpoint()?.map_or(0, |p| p.commit));
    let mut subscription = store.subscribe_all(projector.checkpoint()?);
    tracing::info!(db = %path.display(), checkpoint = projector.checkpoint()?.map_or(0, |p| p.commit), "projector following the log");
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
        let mut pause =
            if batch.is_empty() { None } else { pause_before_fold(last_fold, Instant::now(), pace, hurried) };
        if pause.is_some() && far_behind(&store, &batch[0]).await {
            pause = None;
        }
        if let Some(pause) = pause {
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                () = tokio::time::sleep(pause) => {}
                () = hurried_past(&mut wanted, checkpoint) => {}
            }
        }
        // Take whatever else is already waiting, without blocking.
        while batch.len() < BATCH {
            match tokio::time::timeout(Duration::ZERO, subscription.next()).await {
                Ok(Some(event)) => batch.push(event?),
                _ => break,
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
            reached.send_replace(projector.checkpoint()?.map_or(0, |p| p.commit));
            continue;
        }
        if !batch.is_empty() {
            projector = apply_batch(projector, batch).await?;
            last_fold = Some(Instant::now());
            reached.send_replace(projector.checkpoint()?.map_or(0, |p| p.commit));
        }
    }
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
    mut report: impl FnMut(Progress),
) -> Result<(PathBuf, u64), ProjectionError> {
    use std::sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    };
    let _only_rebuild = dir.lock_rebuild()?;
    let path = dir.next_path()?;
    let total = store.head().await?.map_or(0, |p| p.commit);
    let started = Instant::now();
    // Events folded, and the commit position of the last one.
    let folded = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<crate::Decoded>>(READ_AHEAD);
    let folder = {
        let (path, folded) = (path.clone(), folded.clone());
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
        async fn start(store_first: impl AsyncFnOnce(&leye_store::sqlite::SqliteStore), pace: Duration) -> Self {
            use leye_store::sqlite::{SqliteStore, SqliteStoreOptions};
            let tmp = tempfile::tempdir().unwrap();
            let store =
                SqliteStore::open(tmp.path().join("events.sqlite"), SqliteStoreOptions::default()).await.unwrap();
            store_first(&store).await;
            let dir = ReadModelDir::new(tmp.path().join("rm"));
            let (stop, stopped) = watch::channel(false);
            let reached = watch::Sender::new(0u64);
            let (wanted, wanted_rx) = watch::channel(Wanted::default());
            let task = tokio::spawn({
                let (store, dir, reached) = (store.clone(), dir.clone(), reached.clone());
                async move { follow_paced(store, dir, stopped, &reached, wanted_rx, pace).await }
            });
            Self { store, dir, stop, reached, wanted, task, _tmp: tmp }
        }

        async fn append(&self, first: u128, n: u128) -> u64 {
            let stream = leye_store::StreamName::parse("other-pace").unwrap();
            let events = (first..first + n).map(event).collect();
            self.store.append(&stream, leye_store::ExpectedRevision::Any, events).await.unwrap().position.commit
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
        let live = Live::start(async |_| {}, HOUR).await;
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
    /// without waiting out a pace until it is within a [`BATCH`] of the head:
    /// at a pace of an hour it still gets there (more than two batches, so
    /// it takes several folds).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn catching_up_never_waits_out_the_pace() {
        let n = (2 * BATCH + 100) as u128;
        let live = Live::start(
            async |store| {
                let stream = leye_store::StreamName::parse("other-pace").unwrap();
                let events = (1..=n).map(event).collect();
                store.append(&stream, leye_store::ExpectedRevision::Any, events).await.unwrap();
            },
            HOUR,
        )
        .await;
        let near = (n - BATCH as u128) as u64;
        assert!(live.reaches(near, Duration::from_secs(30)).await, "within a batch of the {n} events' end");
        // The trickle left waits out the pace, unless a query wants it.
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
        let live = Live::start(async |_| {}, PACE).await;
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
    fn readers_never_create_and_never_see_a_database_without_tables() {
        for _ in 0..50 {
            let tmp = tempfile::tempdir().unwrap();
            let dir = ReadModelDir::new(tmp.path().join("rm"));
            assert!(matches!(dir.current(), Err(ProjectionError::NotReady)));
            assert!(!tmp.path().join("rm").exists(), "a reader created nothing");
            std::thread::scope(|s| {
                let reader = s.spawn(|| {
                    for _ in 0..2000 {
                        match dir.current() {
                            Err(ProjectionError::NotReady) => continue,
                            Ok(path) => {
                                let rm = crate::ReadModel::open(&path).unwrap();
                                assert_eq!(rm.checkpoint().unwrap(), 0, "published with its tables");
                                return true;
                            }
                            Err(e) => panic!("reader failed: {e}"),
                        }
                    }
                    false
                });
                let init = dir.current_or_init().unwrap();
                assert_eq!(dir.current().unwrap(), init);
                reader.join().unwrap();
            });
        }
    }

    #[test]
    fn one_rebuild_at_a_time_holds_the_lock_and_frees_it_when_done() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ReadModelDir::new(tmp.path().join("rm"));
        let first = dir.lock_rebuild().unwrap();
        let refused = dir.lock_rebuild().unwrap_err();
        assert!(matches!(refused, ProjectionError::RebuildUnderWay(_)), "{refused:?}");
        assert!(refused.to_string().contains("another rebuild"), "{refused}");
        drop(first);
        dir.lock_rebuild().expect("free again once the first is done");
    }

    #[test]
    fn current_sqlite_follows_every_switch_and_prune_keeps_the_current_and_newer_generations() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ReadModelDir::new(tmp.path().join("rm"));
        let first = dir.current_or_init().unwrap();
        let link = dir.current_link();
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            PathBuf::from("rm-1.sqlite"),
            "relative: the directory may move"
        );
        assert_eq!(std::fs::canonicalize(&link).unwrap(), std::fs::canonicalize(&first).unwrap());
        // A reader through the link sees a read model with its tables.
        assert_eq!(crate::ReadModel::open(&link).unwrap().checkpoint().unwrap(), 0);
        let second = dir.next_path().unwrap();
        drop(Projector::open(&second).unwrap());
        let third = dir.next_path().unwrap(); // a rebuild under way
        drop(Projector::open(&third).unwrap());
        dir.switch_to(&second).unwrap();
        assert_eq!(std::fs::read_link(&link).unwrap(), PathBuf::from("rm-2.sqlite"));
        assert_eq!(dir.prune().unwrap(), 1);
        assert!(!first.exists() && second.exists() && third.exists(), "rm-1 gone; rm-2 current; rm-3 under way");
        let leftovers: Vec<String> = std::fs::read_dir(tmp.path().join("rm"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".tmp") || n.starts_with("rm-1"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
