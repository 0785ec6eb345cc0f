//! The thread that keeps a head file pointed at the newest committed link,
//! off the committer's path: the event store's writer and the audit trail's
//! each publish their links to one and go on with the next batch.
//!
//! A head write is two `fdatasync`s (about 2 ms on the development machine's
//! disk), more than the commit it follows. On the committer's own thread it
//! would hold back every batch queued behind it; here it overlaps the next
//! commits, and a link superseded while a write is under way is skipped. The
//! head lags the log by the batches committed during one write: the lag a
//! crash between a commit and its head write already allowed, and which every
//! check accepts (a head behind the log's end that chains is no break).
//!
//! Writes start at most once an [`INTERVAL`]: under a stream of commits the
//! thread wrote back to back, about 50 heads a second, and its `fdatasync`s
//! (each a doorbell to the disk, and a journal's work in the kernel) cost
//! about 2 % of a two-core machine for each server (docs/PERFORMANCE.md,
//! "The head file written at most every 100 ms"). So the head lags the
//! newest commit by at most an interval and one write. A write asked for
//! with [`HeadThread::write_now`], and the last one when stopping, do not
//! wait.

use std::{
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread,
    time::{Duration, Instant},
};

use super::{HeadWriter, LINK_LEN, Link};

/// The shortest time from the start of one head write to the start of the
/// next (but for [`HeadThread::write_now`] and the last write at a stop).
pub const INTERVAL: Duration = Duration::from_millis(100);

/// How the owner of a head file tags a link it writes (with its key).
pub type Tag = Box<dyn Fn(&Link) -> [u8; LINK_LEN] + Send>;

/// A head file's writing thread. Published links are written newest first,
/// each once; [`HeadThread::failed`] tells whether the last write failed,
/// [`HeadThread::write_now`] writes and waits, [`HeadThread::stop`] writes
/// the last link published and ends the thread.
#[derive(Debug)]
pub struct HeadThread {
    shared: Arc<Shared>,
    /// Taken when the thread is stopped (or dropped).
    thread: Option<thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// The newest link published.
    published: Option<Link>,
    /// The last link a write was tried for, whatever its outcome: a failed
    /// write is tried again only for a newer link or by `write_now`.
    tried: Option<Link>,
    /// The error of the last write, until one succeeds.
    failed: Option<String>,
    stopped: bool,
}

impl HeadThread {
    /// Starts the thread `name`, writing `file` with `tag`, at most once an
    /// [`INTERVAL`].
    pub fn start(name: &str, file: HeadWriter, tag: Tag) -> std::io::Result<Self> {
        Self::start_paced(name, file, tag, INTERVAL)
    }

    fn start_paced(name: &str, file: HeadWriter, tag: Tag, interval: Duration) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let thread = thread::Builder::new().name(name.into()).spawn({
            let shared = Arc::clone(&shared);
            move || run(&shared, &file, &tag, interval)
        })?;
        Ok(Self { shared, thread: Some(thread) })
    }

    /// Asks for the head file to point at `link`, without waiting.
    pub fn publish(&self, link: Link) {
        lock(&self.shared.state).published = Some(link);
        self.shared.changed.notify_all();
    }

    /// Whether the last write failed (and none succeeded since).
    pub fn failed(&self) -> bool {
        lock(&self.shared.state).failed.is_some()
    }

    /// Points the head file at `link` (again, if it was the last link tried)
    /// and waits for the outcome. Only the thread that publishes may call it.
    pub fn write_now(&self, link: Link) -> Result<(), String> {
        let mut state = lock(&self.shared.state);
        state.published = Some(link);
        state.tried = None;
        self.shared.changed.notify_all();
        while state.tried != Some(link) {
            if state.stopped {
                return Err("the head file's thread has stopped".into());
            }
            state = self.shared.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.failed.clone().map_or(Ok(()), Err)
    }

    /// Writes the last link published (unless it was tried already), then
    /// ends the thread. Dropping the handle does the same.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for HeadThread {
    fn drop(&mut self) {
        lock(&self.shared.state).stopped = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, file: &HeadWriter, tag: &Tag, interval: Duration) {
    // When the next write may start.
    let mut next = Instant::now();
    loop {
        let link = {
            let mut state = lock(&shared.state);
            loop {
                match state.published {
                    Some(link) if state.tried != Some(link) => {
                        // `write_now` clears `tried`: it does not wait.
                        let now = Instant::now();
                        if now >= next || state.tried.is_none() || state.stopped {
                            break link;
                        }
                        state =
                            shared.changed.wait_timeout(state, next - now).unwrap_or_else(PoisonError::into_inner).0;
                    }
                    _ if state.stopped => return,
                    _ => state = shared.changed.wait(state).unwrap_or_else(PoisonError::into_inner),
                }
            }
        };
        next = Instant::now() + interval;
        let written = file.write(&link, &tag(&link));
        if let Err(e) = &written {
            tracing::error!(error = %e, position = link.seq, file = %file.path.display(), "cannot write a head file");
        }
        let mut state = lock(&shared.state);
        state.tried = Some(link);
        state.failed = written.err().map(|e| e.to_string());
        drop(state);
        shared.changed.notify_all();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::headfile::{HeadFormat, HeadState, read};

    const F: HeadFormat = HeadFormat { magic: "test-head v1", field: "hash" };

    fn link(seq: u64) -> Link {
        Link { seq, hash: [seq as u8; LINK_LEN] }
    }

    fn head_of(path: &std::path::Path) -> HeadState {
        read(path, F, |l, tag| tag == [l.seq as u8; LINK_LEN]).unwrap()
    }

    fn started(path: &std::path::Path) -> HeadThread {
        let file = HeadWriter::open(path, F, &link(0), &[0; LINK_LEN]).unwrap();
        HeadThread::start("test-head", file, Box::new(|l: &Link| [l.seq as u8; LINK_LEN])).unwrap()
    }

    #[test]
    fn the_newest_link_published_is_written_and_stop_writes_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.head");
        let heads = started(&path);
        for seq in 1..=50 {
            heads.publish(link(seq));
        }
        heads.write_now(link(51)).unwrap();
        assert_eq!(head_of(&path), HeadState::Valid(link(51)));
        heads.publish(link(52));
        heads.stop();
        assert_eq!(head_of(&path), HeadState::Valid(link(52)), "stop writes the last link published");
    }

    #[test]
    fn a_write_waits_for_its_interval_unless_asked_for_now_or_stopping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.head");
        let file = HeadWriter::open(&path, F, &link(0), &[0; LINK_LEN]).unwrap();
        let tag = Box::new(|l: &Link| [l.seq as u8; LINK_LEN]);
        let heads = HeadThread::start_paced("test-head", file, tag, Duration::from_secs(3600)).unwrap();
        heads.publish(link(1));
        let deadline = Instant::now() + Duration::from_secs(10);
        while head_of(&path) != HeadState::Valid(link(1)) {
            assert!(Instant::now() < deadline, "the first link is written at once");
            std::thread::sleep(Duration::from_millis(1));
        }
        heads.publish(link(2));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(head_of(&path), HeadState::Valid(link(1)), "a link within the interval waits");
        heads.write_now(link(3)).unwrap();
        assert_eq!(head_of(&path), HeadState::Valid(link(3)), "write_now does not wait");
        heads.publish(link(4));
        heads.stop();
        assert_eq!(head_of(&path), HeadState::Valid(link(4)), "stop writes the last link at once");
    }

    #[test]
    fn a_failed_write_is_reported_until_a_write_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.head");
        let heads = started(&path);
        heads.write_now(link(1)).unwrap();
        assert!(!heads.failed());
        // A directory in the file's place: the write cannot open it.
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        heads.publish(link(2));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !heads.failed() {
            assert!(std::time::Instant::now() < deadline, "the failure is reported");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(heads.write_now(link(2)).is_err(), "still failing");
        fs::remove_dir(&path).unwrap();
        fs::write(&path, vec![b'\n'; crate::headfile::HEAD_LEN]).unwrap();
        heads.write_now(link(2)).unwrap();
        assert!(!heads.failed());
        assert_eq!(head_of(&path), HeadState::Valid(link(2)));
        heads.stop();
    }
}
