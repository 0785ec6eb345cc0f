//! Writes a generation being rebuilt to disk while it is still being
//! written, so that making it durable at the end waits for little.
//!
//! A fresh generation is written without a journal and made durable once,
//! by one `fsync` after its indexes ([`crate::Projector::finish_fresh`]).
//! Its pages reach the operating system all through the fold (the page
//! cache is bounded) but stay dirty there: the kernel writes them back only
//! after 30 s or past its dirty-memory threshold, so that one `fsync` used to
//! write the whole file, hundreds of MiB, while nothing else ran (0.6 s of a
//! 12 s rebuild at 100 000 persons). A [`Flusher`] thread calls `fdatasync`
//! on its own handle of the file every [`EVERY`] and once more when asked
//! (while the indexes are built): the writing overlaps the fold's CPU work,
//! and the last `fsync` only writes what changed since.
//!
//! It changes nothing about durability: the caller still syncs the whole
//! file after closing it, before anything names it. A failed early flush is
//! ignored (the last `fsync` reports the error, if it persists).

use std::{
    fs::File,
    path::Path,
    sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel},
    thread::JoinHandle,
    time::Duration,
};

/// How often the pages written so far are flushed during a rebuild.
const EVERY: Duration = Duration::from_secs(1);

/// The flushing thread of one generation file; stopped (and joined) on drop.
#[derive(Debug)]
pub(crate) struct Flusher {
    now: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts flushing `path` (an existing file). `None` when the file
    /// cannot be opened or no thread started: the generation is then made
    /// durable by the last `fsync` alone, as without a flusher.
    pub(crate) fn start(path: &Path) -> Option<Self> {
        let file = File::open(path).ok()?;
        let (now, asked) = channel();
        let thread = std::thread::Builder::new()
            .name("leye-rebuild-flush".into())
            .spawn(move || flush_until_stopped(&file, &asked))
            .ok()?;
        Some(Self { now: Some(now), thread: Some(thread) })
    }

    /// Flushes once more now, without waiting for it.
    pub(crate) fn flush_now(&self) {
        if let Some(now) = &self.now {
            let _ = now.send(());
        }
    }
}

fn flush_until_stopped(file: &File, asked: &Receiver<()>) {
    loop {
        match asked.recv_timeout(EVERY) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {
                let _ = file.sync_data();
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

impl Drop for Flusher {
    /// Stops the thread and waits for a flush under way to end (so the
    /// caller's last `fsync` does not run beside it).
    fn drop(&mut self) {
        drop(self.now.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flusher_stops_when_dropped_even_while_asked_to_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("generation.sqlite");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        let flusher = Flusher::start(&path).expect("a flusher for an existing file");
        for _ in 0..3 {
            flusher.flush_now();
        }
        drop(flusher); // joins: returns only once the thread has ended
        assert!(Flusher::start(&dir.path().join("missing.sqlite")).is_none(), "no file, no flusher");
    }
}
