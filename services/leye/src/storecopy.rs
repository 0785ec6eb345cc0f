//! `leye store copy`: moves an event log from one store to another (today:
//! into PostgreSQL), positions, times and seals kept.
//!
//! All or nothing: the copy refuses while a server runs on the source (the
//! data directory's `serve.lock`, as `leye restore` does), walks the source's
//! whole chain before the target is even opened, then writes the whole log in
//! ONE PostgreSQL transaction that holds the target's head lock, verifies the
//! chain of what it wrote and commits only if all is well. The target ends
//! either holding the whole log, verified, or as it was.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::backup::{DataDirLock, lock_alone};
use anyhow::Context;
use leye_store::{
    AnyStore, AnyStoreOptions, StoreLocator,
    chain::ChainKey,
    copy::{Walked, copy_walked, source_broken, walk},
};

/// Copies `from` into the new, empty store `to`, both sealed with the chain key
/// in `options.key_file`; prints progress and the outcome (never a password).
pub async fn copy(
    from: &StoreLocator,
    to: &StoreLocator,
    options: &AnyStoreOptions,
    page: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
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
    let result = run(&source, &target, &key, &walked, page, out).await;
    source.close().await;
    target.close().await;
    result
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

async fn run(
    source: &AnyStore,
    target: &AnyStore,
    key: &ChainKey,
    walked: &Walked,
    page: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let AnyStore::Postgres(pg) = target else { anyhow::bail!("the target must be a PostgreSQL store") };
    if let Some(p) = pg.integrity() {
        anyhow::bail!("the target refuses appends ({}: {}); nothing was written to it", p.code, p.detail);
    }
    anyhow::ensure!(
        pg.chain().key_id == key.id() && pg.chain().algorithm == key.algorithm(),
        "the target's chain uses key {} ({}), the source's {} ({}): a copy keeps the seals, so both need the same \
         key and algorithm; nothing was written to the target",
        pg.chain().key_id,
        pg.chain().algorithm,
        key.id(),
        key.algorithm()
    );
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
