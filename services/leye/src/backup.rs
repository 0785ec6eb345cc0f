//! `leye backup` and `leye restore`, the data directory's lock, and the modes
//! of what leye creates (files 0600, directories 0700).
//!
//! A backup is a directory: `events.sqlite` (an online, consistent copy taken
//! with SQLite's backup API under one read snapshot while the service runs),
//! its head file `events.sqlite.head`, the chain key `keys/chain.key` and the
//! pseudonym key `pseudonym.key`, the personal-data key store
//! `keys/keys.sqlite` (not the master key that wraps it, kept apart):
//! everything needed to read it back and look
//! cases up again. The read model and the followers' checkpoints are not in
//! it: they are rebuilt from the log. The audit trail is not in it either.
//!
//! `leye serve` holds a shared lock on `<data_dir>/serve.lock` while it runs;
//! `leye restore` takes it exclusively, so it never replaces a store in use.

use std::{
    fs::{self, File, OpenOptions},
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use anyhow::Context;
use leye_store::{
    headfile,
    keyfile::{self, create_private_dir},
    sqlite::{self, VerifyOptions, verify_file},
};
use rustix::fs::FlockOperation;

use crate::{
    config::{STORE_FILE, ServeConfig},
    personal::KEY_STORE_FILE,
};

/// The lock file in the data directory.
pub const LOCK_FILE: &str = "serve.lock";
/// The pseudonym key's name inside a backup.
const PSEUDONYM_KEY: &str = "pseudonym.key";

/// Everything leye creates is for its owner only: files 0600, directories 0700.
pub fn private_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// A lock on the data directory, released when dropped.
#[derive(Debug)]
pub struct DataDirLock(#[allow(dead_code)] File);

fn lock(data_dir: &Path, op: FlockOperation) -> anyhow::Result<Option<DataDirLock>> {
    create_private_dir(data_dir).with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let path = data_dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match rustix::fs::flock(&file, op) {
        Ok(()) => Ok(Some(DataDirLock(file))),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(anyhow::anyhow!("locking {}: {e}", path.display())),
    }
}

/// The lock `leye serve` holds: shared (several servers may share a data
/// directory), refused while a restore runs.
pub fn lock_for_serving(data_dir: &Path) -> anyhow::Result<DataDirLock> {
    lock(data_dir, FlockOperation::NonBlockingLockShared)?.ok_or_else(|| {
        anyhow::anyhow!(
            "{} is being restored (`leye restore` holds {LOCK_FILE}); start again after it",
            data_dir.display()
        )
    })
}

/// The lock of a command that must run with no server on `data_dir`
/// (restore, generate, the source of a store copy): exclusive, refused while
/// a `leye serve` holds it, and no server starts there until it is dropped.
/// `doing` ends the refusal: "stop it before {doing}".
pub fn lock_alone(data_dir: &Path, doing: &str) -> anyhow::Result<DataDirLock> {
    lock(data_dir, FlockOperation::NonBlockingLockExclusive)?.ok_or_else(|| {
        anyhow::anyhow!(
            "a leye server is running on {} (it holds {LOCK_FILE}): stop it before {doing}",
            data_dir.display()
        )
    })
}

/// `leye backup <dest>`: a verified copy of the running store, and the keys.
pub fn backup(config: &ServeConfig, dest: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let store = config.store_file();
    anyhow::ensure!(store.exists(), "no event store at {}", store.display());
    let report = sqlite::backup(&store, &config.chain_key_file(), dest)
        .with_context(|| format!("backing up {} into {}", store.display(), dest.display()))?;
    let mut files = report.files.clone();
    if config.pseudonym_key_file.exists() {
        let copy = dest.join(PSEUDONYM_KEY);
        copy_private(&config.pseudonym_key_file, &copy)?;
        files.push(copy);
    }
    // The personal-data key store, after the event store: every key a
    // backed-up event names was created before that event, so it is there
    // (unless erased meanwhile, which stays erased). The master key is not
    // copied: it is kept apart from the data and its backups.
    if config.vault.key_store.exists() {
        let copy = dest.join(KEY_STORE_FILE);
        if let Some(dir) = copy.parent() {
            create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        leye_store::maintenance::snapshot_file(&config.vault.key_store, &copy)
            .with_context(|| format!("copying {} to {}", config.vault.key_store.display(), copy.display()))?;
        keyfile::sync_dir(&copy).with_context(|| format!("syncing {}", dest.display()))?;
        files.push(copy);
    }
    keyfile::sync_dir(&dest.join(STORE_FILE)).with_context(|| format!("syncing {}", dest.display()))?;
    writeln!(
        out,
        "backup of {}: {} events (last position {}, hash {}), chain verified",
        store.display(),
        report.events,
        report.last_position,
        report.last_hash
    )?;
    for f in &files {
        let size = fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        writeln!(out, "  wrote {} ({size} bytes)", f.display())?;
    }
    writeln!(out, "keep it where only operators can read it: with the keys, whoever holds it can read and rewrite it")?;
    Ok(())
}

/// `leye restore <src>`: puts a backup into the (stopped) data directory.
pub fn restore(config: &ServeConfig, src: &Path, force: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let src_store = src.join(STORE_FILE);
    let src_key = src.join(sqlite::DEFAULT_KEY_FILE);
    anyhow::ensure!(src_store.exists(), "{} holds no {STORE_FILE}: not a backup of leye", src.display());
    let checked = verify_file(&src_store, &src_key, VerifyOptions::default())
        .with_context(|| format!("verifying the backup {}", src.display()))?;
    if let Some(b) = &checked.report.broken {
        anyhow::bail!("the backup {} does not verify: {b}; nothing was restored", src.display());
    }
    let data_dir = &config.data_dir;
    let _lock = lock_alone(data_dir, "restoring into it")?;
    // The audit trail is not in a backup and stays where it is: it records
    // who did what, also before the restore (COMPLIANCE §8.1.4.3 c), and the
    // server goes on appending to it.
    let kept = |name: &str| {
        name == LOCK_FILE
            || name.starts_with("replaced-")
            || name == crate::trust::AUDIT_KEY_FILE
            || name.starts_with(crate::trust::AUDIT_FILE)
    };
    let present: Vec<PathBuf> = fs::read_dir(data_dir)
        .with_context(|| format!("reading {}", data_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| !kept(&n.to_string_lossy())))
        .collect();
    if !present.is_empty() {
        anyhow::ensure!(
            force,
            "{} is not empty ({} entries): restore into an empty data directory, or pass --force to move what is \
             there aside into {}/replaced-<time>/ (the audit trail stays in place)",
            data_dir.display(),
            present.len(),
            data_dir.display()
        );
        let aside = data_dir.join(format!("replaced-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
        create_private_dir(&aside).with_context(|| format!("creating {}", aside.display()))?;
        for p in &present {
            let to = aside.join(p.file_name().unwrap_or_default());
            fs::rename(p, &to).with_context(|| format!("moving {} aside", p.display()))?;
        }
        writeln!(out, "moved {} entries of {} aside into {}", present.len(), data_dir.display(), aside.display())?;
    }
    let store = config.store_file();
    copy_private(&src_store, &store)?;
    copy_private(&headfile::head_path(&src_store), &headfile::head_path(&store))?;
    let key_file = config.chain_key_file();
    if let Some(dir) = key_file.parent() {
        create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    keep_aside(&key_file, &src_key, &stamp, out)?;
    copy_private(&src_key, &key_file)?;
    if src.join(PSEUDONYM_KEY).exists() {
        keep_aside(&config.pseudonym_key_file, &src.join(PSEUDONYM_KEY), &stamp, out)?;
        copy_private(&src.join(PSEUDONYM_KEY), &config.pseudonym_key_file)?;
    }
    let src_keys = src.join(KEY_STORE_FILE);
    if src_keys.exists() {
        let to = &config.vault.key_store;
        if let Some(dir) = to.parent() {
            create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        copy_private(&src_keys, to)?;
        writeln!(out, "restored the personal-data key store; the master key it needs is not in a backup: put it back")?;
    }
    let restored = verify_file(&store, &key_file, VerifyOptions::default())?;
    if let Some(b) = &restored.report.broken {
        anyhow::bail!("the restored store does not verify: {b}");
    }
    writeln!(
        out,
        "restored {} events (last position {}, hash {}) into {}; chain verified. Start `leye serve`: it rebuilds \
         the read model and the followers catch up from the log",
        restored.report.events,
        restored.report.end.seq,
        headfile::hex(&restored.report.end.hash),
        data_dir.display()
    )?;
    Ok(())
}

/// A key file kept outside the data directory (so not moved aside with it)
/// that differs from the backup's is renamed `<file>.replaced-<time>`, never
/// overwritten: the store moved aside may still need it.
fn keep_aside(existing: &Path, from_backup: &Path, stamp: &str, out: &mut impl Write) -> anyhow::Result<()> {
    let Ok(current) = fs::read(existing) else { return Ok(()) };
    if current == fs::read(from_backup).with_context(|| format!("reading {}", from_backup.display()))? {
        return Ok(());
    }
    let mut aside = existing.as_os_str().to_owned();
    aside.push(format!(".replaced-{stamp}"));
    fs::rename(existing, &aside).with_context(|| format!("moving {} aside", existing.display()))?;
    writeln!(out, "kept the previous {} as {}", existing.display(), PathBuf::from(&aside).display())?;
    Ok(())
}

/// Copies `from` to `to` through a temporary file (0600, fsynced, renamed).
fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut tmp = to.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut input = File::open(from).with_context(|| format!("reading {}", from.display()))?;
    let mut output = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    std::io::copy(&mut input, &mut output)
        .with_context(|| format!("copying {} to {}", from.display(), tmp.display()))?;
    output.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
    fs::rename(&tmp, to).with_context(|| format!("renaming {} to {}", tmp.display(), to.display()))?;
    keyfile::sync_dir(to).with_context(|| format!("syncing the directory of {}", to.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_different_key_outside_the_data_directory_is_kept_aside_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (existing, backup) = (dir.path().join("chain.key"), dir.path().join("backup.key"));
        fs::write(&backup, [1u8; 32]).unwrap();
        let mut out = Vec::new();
        keep_aside(&existing, &backup, "T", &mut out).unwrap();
        assert!(out.is_empty(), "nothing there: nothing to keep");
        fs::write(&existing, [1u8; 32]).unwrap();
        keep_aside(&existing, &backup, "T", &mut out).unwrap();
        assert!(existing.exists() && out.is_empty(), "the same key stays in place");
        fs::write(&existing, [2u8; 32]).unwrap();
        keep_aside(&existing, &backup, "T", &mut out).unwrap();
        assert!(!existing.exists());
        assert_eq!(fs::read(dir.path().join("chain.key.replaced-T")).unwrap(), [2u8; 32]);
        assert!(String::from_utf8(out).unwrap().contains("kept the previous"));
    }

    #[test]
    fn a_restore_generate_or_copy_is_refused_while_the_directory_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let _serving = lock_for_serving(dir.path()).unwrap();
        let _second_server = lock_for_serving(dir.path()).unwrap();
        assert!(lock(dir.path(), FlockOperation::NonBlockingLockExclusive).unwrap().is_none());
        let e = lock_alone(dir.path(), "generating into it").unwrap_err().to_string();
        assert!(e.contains("a leye server is running") && e.contains("stop it before generating into it"), "{e}");
        drop((_serving, _second_server));
        let alone = lock_alone(dir.path(), "generating into it").unwrap();
        assert!(lock_for_serving(dir.path()).is_err(), "no server starts while it runs");
        drop(alone);
        lock_for_serving(dir.path()).unwrap();
    }
}
