//! `leye store copy`: moves an event log from one store to another (today:
//! into PostgreSQL), positions, times and seals kept.
//!
//! All or nothing: the copy refuses while a server runs on the source (the
//! data directory's `serve.lock`, as `leye restore` does), walks the source's
//! whole chain and checks the target (its key, its log empty) before anything
//! is written ([`prepare`]), then writes the whole log in ONE PostgreSQL
//! transaction that holds the target's head lock, verifies the chain of what
//! it wrote and commits only if all is well ([`Prepared::run`]). The target
//! ends either holding the whole log, verified, or as it was. The
//! personal-data keys go between the two (`main.rs`): a log is never in the
//! target without them.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::backup::{DataDirLock, lock_alone};
use anyhow::Context;
use leye_store::{
    AnyStore, AnyStoreOptions, EventStore, StoreLocator,
    chain::ChainKey,
    copy::{Walked, copy_walked, source_broken, walk},
};

/// A copy checked and not yet written: the source walked, the target open,
/// empty and sealed with the same key. [`Prepared::run`] writes it,
/// [`Prepared::close`] gives it up.
#[derive(Debug)]
pub struct Prepared {
    source: AnyStore,
    target: AnyStore,
    key: ChainKey,
    walked: Walked,
    page: usize,
    _lock: Option<DataDirLock>,
}

/// Opens `from` and the new, empty store `to`, both sealed with the chain key
/// in `options.key_file`, walks the source's chain and checks the target,
/// writing nothing (never a password in an error).
pub async fn prepare(
    from: &StoreLocator,
    to: &StoreLocator,
    options: &AnyStoreOptions,
    page: usize,
) -> anyhow::Result<Prepared> {
    anyhow::ensure!(
        matches!(to, StoreLocator::Postgres(_)),
        "--to: the target must be a PostgreSQL store (postgres://…), not {to}; a SQLite store is copied with \
         `leye backup`"
    );
    // A server on the source would go on taking commands the copy never sees.
    let _lock = match from {
        StoreLocator::Sqlite(path) => {
            anyhow::ensure!(path.is_file(), "--from: no event store at {}", path.display());
            Some(lock_source(path)?)
        }
        _ => None,
    };
    let source = AnyStore::open_existing(from, options).await.with_context(|| format!("opening the source {from}"))?;
    let checked = check_source(&source, page).await;
    let (key, walked) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let target = match AnyStore::open(to, options).await.with_context(|| format!("opening the target {to}")) {
        Ok(target) => target,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let prepared = Prepared { source, target, key, walked, page, _lock };
    match check_target(&prepared).await {
        Ok(()) => Ok(prepared),
        Err(e) => {
            prepared.close().await;
            Err(e)
        }
    }
}

impl Prepared {
    /// Writes the log in one transaction, verified before it commits; prints
    /// progress and the outcome. Closes both stores.
    pub async fn run(self, out: &mut impl Write) -> anyhow::Result<()> {
        let result = write(&self, out).await;
        self.close().await;
        result
    }

    /// Closes both stores, nothing written.
    pub async fn close(self) {
        self.source.close().await;
        self.target.close().await;
    }
}

/// The source's check at open and a walk of its whole chain, before anything
/// is written anywhere.
async fn check_source(source: &AnyStore, page: usize) -> anyhow::Result<(ChainKey, Walked)> {
    if let Some(p) = source.integrity() {
        anyhow::bail!(
            "the source failed its check at open ({}: {}); run `leye verify` on it first; nothing was written to \
             the target",
            p.code,
            p.detail
        );
    }
    let key = ChainKey::load(source.key_file(), source.algorithm())
        .map_err(|e| anyhow::anyhow!("the source's chain key: {e}"))?;
    let walked = walk(source, &key, page).await.context("walking the source's chain")?;
    if let Some(b) = &walked.broken {
        return Err(source_broken(b).into());
    }
    Ok((key, walked))
}

/// The target's check before anything is written: it accepts appends, is
/// sealed with the source's key and algorithm, and holds no events (checked
/// again under the head lock when the log is written).
async fn check_target(p: &Prepared) -> anyhow::Result<()> {
    let AnyStore::Postgres(pg) = &p.target else { anyhow::bail!("the target must be a PostgreSQL store") };
    if let Some(problem) = pg.integrity() {
        anyhow::bail!("the target refuses appends ({}: {}); nothing was written to it", problem.code, problem.detail);
    }
    anyhow::ensure!(
        pg.chain().key_id == p.key.id() && pg.chain().algorithm == p.key.algorithm(),
        "the target's chain uses key {} ({}), the source's {} ({}): a copy keeps the seals, so both need the same \
         key and algorithm; nothing was written to the target",
        pg.chain().key_id,
        pg.chain().algorithm,
        p.key.id(),
        p.key.algorithm()
    );
    if let Some(head) = pg.head().await.context("reading the target's head")? {
        anyhow::bail!(
            "the target {} already holds events (up to position {}); copy into a new, empty store; nothing was \
             written",
            p.target.describe(),
            head.commit
        );
    }
    Ok(())
}

async fn write(p: &Prepared, out: &mut impl Write) -> anyhow::Result<()> {
    let (source, walked, key, page) = (&p.source, &p.walked, &p.key, p.page);
    let AnyStore::Postgres(pg) = &p.target else { anyhow::bail!("the target must be a PostgreSQL store") };
    let target = &p.target;
    writeln!(
        out,
        "copying {} into {}: the source's chain verifies ({} events); one transaction",
        source.describe(),
        target.describe(),
        walked.events
    )?;
    let started = std::time::Instant::now();
    let mut last_print = std::time::Instant::now();
    let copied = copy_walked(source, pg, key, walked, page, |n| {
        if last_print.elapsed().as_secs() >= 5 {
            let _ = writeln!(out, "  {n} events written (not committed yet)");
            last_print = std::time::Instant::now();
        }
    })
    .await?;
    writeln!(
        out,
        "copied {} events in {:.1} s; the copy's chain verifies and ends on the source's last link \
         (position {}, hash {})",
        copied.events,
        started.elapsed().as_secs_f64(),
        copied.end.seq,
        leye_store::headfile::hex(&copied.end.hash)
    )?;
    Ok(())
}

/// Takes the source's data directory lock (`serve.lock` beside the SQLite
/// file) exclusively for the whole copy, as `leye restore` does: refused while
/// a `leye serve` holds it, and no server starts there until the copy ends.
fn lock_source(store: &Path) -> anyhow::Result<DataDirLock> {
    let dir = match store.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    lock_alone(
        &dir,
        "copying its store (the commands it takes meanwhile would be missing from the copy); nothing was copied",
    )
}
