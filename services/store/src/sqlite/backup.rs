//! An online, consistent copy of the store: the SQLite backup API copies one
//! read snapshot (WAL readers never block the writer), then the copy's chain is
//! verified against the live head file and sealed with a head of its own.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::{Connection, OpenFlags};

use super::{db, seal};
use crate::{
    StoreError,
    chain::ChainKey,
    headfile::{self, HeadState},
    keyfile,
};

/// What [`backup`] wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The copy of the store, its head file and its chain key.
    pub files: Vec<PathBuf>,
    /// Events in the copy (all verified).
    pub events: u64,
    /// The copy's last position and hash (hex).
    pub last_position: u64,
    pub last_hash: String,
}

/// Copies the store at `store` (chain key `key_file`) to `dest/<file name>`,
/// `dest/<file name>.head` and `dest/keys/chain.key`, all 0600 in 0700
/// directories, while other processes may append. The live head file is read
/// before the snapshot, so the copy must hold what it names; the whole copy is
/// verified before its own head is written. `dest` must not hold a store yet.
pub fn backup(store: &Path, key_file: &Path, dest: &Path) -> Result<BackupReport, StoreError> {
    let io = |what: &Path, e: std::io::Error| StoreError::Backend(format!("{}: {e}", what.display()));
    let name = store.file_name().ok_or_else(|| StoreError::Backend("the store path has no file name".into()))?;
    let copy = dest.join(name);
    if copy.exists() {
        return Err(StoreError::Backend(format!("{} already exists: back up into a new directory", copy.display())));
    }
    keyfile::create_private_dir(dest).map_err(|e| io(dest, e))?;
    let dest_key = dest.join(super::DEFAULT_KEY_FILE);
    let key_dir = dest_key.parent().unwrap_or(dest);
    keyfile::create_private_dir(key_dir).map_err(|e| io(key_dir, e))?;

    // The live head before the snapshot: the snapshot holds at least what it names.
    let live_head = headfile::head_path(store);
    let head_copy = headfile::head_path(&copy);
    match fs::copy(&live_head, &head_copy) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&live_head, e)),
    }
    keyfile::restrict(&head_copy, 0o600).map_err(|e| io(&head_copy, e))?;
    fs::copy(key_file, &dest_key).map_err(|e| io(key_file, e))?;
    keyfile::restrict(&dest_key, 0o600).map_err(|e| io(&dest_key, e))?;

    {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let src = Connection::open_with_flags(store, flags).map_err(db)?;
        src.busy_timeout(Duration::from_secs(5)).map_err(db)?;
        let mut dst = Connection::open(&copy).map_err(db)?;
        keyfile::restrict(&copy, 0o600).map_err(|e| io(&copy, e))?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst).map_err(db)?;
        // One step copies every page under one read snapshot: with smaller
        // steps a busy writer would restart the copy again and again.
        let mut tries = 0;
        loop {
            match backup.step(-1).map_err(db)? {
                rusqlite::backup::StepResult::Done => break,
                // Another connection holds a lock for a moment: try again.
                _ if tries < 100 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => return Err(StoreError::Backend("the backup could not take a read snapshot in 2 s".into())),
            }
        }
    }
    let copy_file = fs::File::open(&copy).map_err(|e| io(&copy, e))?;
    copy_file.sync_all().map_err(|e| io(&copy, e))?;

    let verified = seal::verify_file(&copy, &dest_key, seal::VerifyOptions::default())?;
    if let Some(b) = &verified.report.broken {
        return Err(StoreError::Integrity {
            code: crate::IntegrityProblem::CHAIN_BROKEN,
            detail: format!("the copy: {b}"),
        });
    }
    // The copy's own head: its last event, now verified.
    let key = ChainKey::load(&dest_key, verified.report.algorithm).map_err(|e| StoreError::Backend(e.to_string()))?;
    let end = verified.report.end;
    headfile::create(&head_copy, seal::HEAD_FORMAT, &end, &key.head_tag(&end)).map_err(|e| io(&head_copy, e))?;
    debug_assert!(matches!(seal::read_head(&copy, &key), Ok(HeadState::Valid(_))));
    keyfile::sync_dir(&copy).map_err(|e| io(dest, e))?;
    Ok(BackupReport {
        files: vec![copy, head_copy, dest_key],
        events: verified.report.events,
        last_position: end.seq,
        last_hash: headfile::hex(&end.hash),
    })
}
