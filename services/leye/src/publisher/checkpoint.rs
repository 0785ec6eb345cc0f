//! The publisher's durable checkpoint: the global position up to which
//! JetStream has acknowledged every event.
//!
//! One small JSON file in the data directory, `{"format":1,"commit":N,"prepare":N}`,
//! replaced atomically: write `<file>.tmp`, fsync it, rename it over the file,
//! fsync the directory. A crash leaves either the old or the new checkpoint,
//! never a torn one. A file that does not parse is refused with a message
//! saying what to do; it is never silently replaced by "start over".
//!
//! It is kept apart from the event store on purpose: the store's tables belong
//! to the store adapter, and the checkpoint is the publisher's own state.
//!
//! The eligibility finder ([`crate::finder`]) keeps its own checkpoint in the
//! same kind of file ([`CheckpointFile::for_follower`]).

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use leye_store::Position;
use serde::{Deserialize, Serialize};

/// Version of the file's layout.
const FORMAT: u32 = 1;

/// The checkpoint file of one follower of the log (the publisher of one
/// stream, the eligibility finder).
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    path: PathBuf,
    /// Who owns it, for messages: `publisher`, `policy finder`.
    owner: &'static str,
    /// What happens when the file is moved aside, for the corrupt-file message.
    if_moved_aside: &'static str,
}

const PUBLISHER_IF_MOVED_ASIDE: &str = "the publisher then resumes after the JetStream stream's last message (or \
     from the start of the log if the stream never held one), and JetStream drops re-published duplicates by event id";

/// Why the checkpoint cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{owner} checkpoint {path}: {source}")]
    Io { owner: &'static str, path: PathBuf, source: std::io::Error },
    #[error(
        "{owner} checkpoint {path} is corrupt ({reason}). Nothing was changed. Move the file aside to go on: {if_moved_aside}"
    )]
    Corrupt { owner: &'static str, path: PathBuf, reason: String, if_moved_aside: &'static str },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnDisk {
    format: u32,
    commit: u64,
    prepare: u64,
}

impl CheckpointFile {
    /// The publisher's checkpoint.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::for_follower(path, "publisher", PUBLISHER_IF_MOVED_ASIDE)
    }

    /// The checkpoint of another follower of the log: `owner` names it in
    /// messages, `if_moved_aside` says what moving a corrupt file aside does.
    pub fn for_follower(path: impl Into<PathBuf>, owner: &'static str, if_moved_aside: &'static str) -> Self {
        Self { path: path.into(), owner, if_moved_aside }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored position; `None` when there is no file yet (nothing was
    /// ever acknowledged).
    pub fn load(&self) -> Result<Option<Position>, CheckpointError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CheckpointError::Io { owner: self.owner, path: self.path.clone(), source }),
        };
        let corrupt = |reason: String| CheckpointError::Corrupt {
            owner: self.owner,
            path: self.path.clone(),
            reason,
            if_moved_aside: self.if_moved_aside,
        };
        let on_disk: OnDisk = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if on_disk.format != FORMAT {
            return Err(corrupt(format!("format {} is not {FORMAT}", on_disk.format)));
        }
        Ok(Some(Position { commit: on_disk.commit, prepare: on_disk.prepare }))
    }

    /// Replaces the stored position atomically and durably. Blocking: call it
    /// from `spawn_blocking`.
    pub fn store(&self, position: Position) -> Result<(), CheckpointError> {
        let io = |source| CheckpointError::Io { owner: self.owner, path: self.path.clone(), source };
        let on_disk = OnDisk { format: FORMAT, commit: position.commit, prepare: position.prepare };
        // Three integers: serialisation cannot fail.
        let mut text = serde_json::to_vec(&on_disk).unwrap_or_default();
        text.push(b'\n');
        let mut tmp_name = self.path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        {
            let mut f = fs::File::create(&tmp).map_err(io)?;
            f.write_all(&text).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        fs::rename(&tmp, &self.path).map_err(io)?;
        // The rename is durable only once the directory entry is.
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_file_is_no_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(CheckpointFile::new(dir.path().join("c")).load().unwrap(), None);
    }

    #[test]
    fn stored_position_survives_reopen_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("publisher.checkpoint");
        let file = CheckpointFile::new(&path);
        file.store(Position::from_sequence(7)).unwrap();
        file.store(Position { commit: 1234, prepare: 1230 }).unwrap();
        let reopened = CheckpointFile::new(&path);
        assert_eq!(reopened.load().unwrap(), Some(Position { commit: 1234, prepare: 1230 }));
        // Nothing left over from the atomic replace.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("publisher.checkpoint")]);
    }

    #[test]
    fn a_leftover_temp_file_from_a_crash_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("publisher.checkpoint");
        let file = CheckpointFile::new(&path);
        file.store(Position::from_sequence(5)).unwrap();
        // A crash after writing the temp file, before the rename.
        fs::write(dir.path().join("publisher.checkpoint.tmp"), b"{\"format\":1,\"comm").unwrap();
        assert_eq!(file.load().unwrap(), Some(Position::from_sequence(5)));
        file.store(Position::from_sequence(6)).unwrap();
        assert_eq!(file.load().unwrap(), Some(Position::from_sequence(6)));
    }

    #[test]
    fn a_corrupt_file_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("publisher.checkpoint");
        for bad in [&b""[..], b"{\"format\":1,\"commit\":3", b"garbage", b"{\"format\":9,\"commit\":1,\"prepare\":1}"] {
            fs::write(&path, bad).unwrap();
            let err = CheckpointFile::new(&path).load().unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, CheckpointError::Corrupt { .. }), "{text}");
            assert!(
                text.contains("publisher.checkpoint")
                    && text.contains("corrupt")
                    && text.contains("Move the file aside"),
                "{text}"
            );
        }
    }
}
