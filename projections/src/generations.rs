//! The directory of read-model generations: `<dir>/rm-<n>.sqlite`, the file
//! `<dir>/CURRENT` naming the one in use (replaced atomically: write, fsync,
//! rename), the `current.sqlite` link beside it, the lock that lets one
//! rebuild at a time write a new generation, and the pruning of the old ones
//! once a rebuild has switched (`runner` does the folding).

use std::path::{Path, PathBuf};

use crate::{ProjectionError, Projector};

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

    /// A fresh path for a new generation: one past the highest numbered.
    pub fn next_path(&self) -> Result<PathBuf, ProjectionError> {
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let n = std::fs::read_dir(&self.dir)
            .map_err(io)?
            .filter_map(|e| generation_number(e.ok()?.file_name().to_str()?))
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
        let current = self.current()?;
        let Some(keep) = current.file_name().and_then(|n| n.to_str()).and_then(generation_number) else {
            return Ok(0);
        };
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir).map_err(io)?.filter_map(|e| e.ok()) {
            let name = entry.file_name();
            if name.to_str().and_then(generation_number).is_some_and(|n| n < keep) {
                remove_generation(&entry.path());
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The number of a generation's database file, `rm-<n>.sqlite`; `None` for
/// any other file (its WAL and shared memory included).
fn generation_number(name: &str) -> Option<u64> {
    name.strip_prefix("rm-")?.strip_suffix(".sqlite")?.parse().ok()
}

fn io(e: std::io::Error) -> ProjectionError {
    ProjectionError::Files(e.to_string())
}

/// Removes a generation's files (main file, WAL, shared memory).
pub(crate) fn remove_generation(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
