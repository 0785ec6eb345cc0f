//! `leye store copy`: moves an event log from one store to another (today:
//! into PostgreSQL), positions, times and seals kept, and the data
//! directory's personal-data keys with it.
//!
//! All or nothing: the copy refuses while a server runs on the source (the
//! data directory's `serve.lock`, as `leye restore` does), walks the source's
//! whole chain and checks the target (its key, its log empty) before anything
//! is written, then copies the keys, then writes the whole log in ONE
//! PostgreSQL transaction that holds the target's head lock, verifies the
//! chain of what it wrote and commits only if all is well. The target's log
//! ends either whole, verified, or as it was; the keys go first, so that no
//! failure leaves the log there without them (a server started on it would
//! open no copied person's resident ID or name), and keys without the log
//! harm nothing.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::{
    backup::{DataDirLock, lock_alone},
    keys::KeysCopy,
};
use anyhow::Context;
use leye_store::{
    AnyStore, AnyStoreOptions, EventStore, StoreLocator,
    chain::ChainKey,
    copy::{Walked, copy_walked, source_broken, walk},
    postgres::PostgresStore,
};

/// Copies `from` into the new, empty PostgreSQL store `to`, both sealed with
/// the chain key in `options.key_file`, and `keys` (checked already, not
/// written) into its key store before the log; prints progress and the
/// outcome (never a password).
pub async fn copy(
    from: &StoreLocator,
    to: &StoreLocator,
    options: &AnyStoreOptions,
    page: usize,
    keys: Option<KeysCopy>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let copy = prepare(from, to, options, page).await?;
    let Some(keys) = keys else { return copy.run(out).await };
    let key_store = keys.key_store().display().to_string();
    let copied = tokio::task::spawn_blocking(move || keys.run()).await;
    match copied.map_err(anyhow::Error::from).and_then(|r| r) {
        Ok(line) => writeln!(out, "{line}")?,
        Err(e) => {
            copy.close().await;
            return Err(e.context(format!(
                "the personal-data keys of {key_store} were not copied, so neither was the log: nothing of it \
                 was written to the target; run `leye store copy` again once the cause is mended (keys already \
                 there are kept)"
            )));
        }
    }
    copy.run(out).await.context(
        "the log was not copied (the target's log is as it was); the personal-data keys now in its key store \
         harm nothing: run `leye store copy` again (it adds only the keys missing)",
    )
}

/// A copy checked and not yet written: the source walked, the target open,
/// empty and sealed with the same key.
struct Prepared {
    source: AnyStore,
    target: PostgresStore,
    /// The target as messages name it (never a password).
    shown: String,
    key: ChainKey,
    walked: Walked,
    page: usize,
    _lock: Option<DataDirLock>,
}

/// Opens both stores, walks the source's chain and checks the target,
/// writing nothing.
async fn prepare(
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
    let shown = target.describe();
    let AnyStore::Postgres(target) = target else {
        // `to` is a PostgreSQL locator (checked above): it opens as one.
        source.close().await;
        target.close().await;
        anyhow::bail!("the target {shown} is not a PostgreSQL store");
    };
    let prepared = Prepared { source, target, shown, key, walked, page, _lock };
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
    async fn run(self, out: &mut impl Write) -> anyhow::Result<()> {
        let result = write(&self, out).await;
        self.close().await;
        result
    }

    /// Closes both stores, nothing written.
    async fn close(self) {
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
    let target = &p.target;
    if let Some(problem) = target.integrity() {
        anyhow::bail!("the target refuses appends ({}: {}); nothing was written to it", problem.code, problem.detail);
    }
    anyhow::ensure!(
        target.chain().key_id == p.key.id() && target.chain().algorithm == p.key.algorithm(),
        "the target's chain uses key {} ({}), the source's {} ({}): a copy keeps the seals, so both need the same \
         key and algorithm; nothing was written to the target",
        target.chain().key_id,
        target.chain().algorithm,
        p.key.id(),
        p.key.algorithm()
    );
    if let Some(head) = target.head().await.context("reading the target's head")? {
        anyhow::bail!(
            "the target {} already holds events (up to position {}); copy into a new, empty store; nothing was \
             written",
            p.shown,
            head.commit
        );
    }
    Ok(())
}

async fn write(p: &Prepared, out: &mut impl Write) -> anyhow::Result<()> {
    let Prepared { source, target, shown, key, walked, page, .. } = p;
    writeln!(
        out,
        "copying {} into {shown}: the source's chain verifies ({} events); one transaction",
        source.describe(),
        walked.events
    )?;
    let started = std::time::Instant::now();
    let mut last_print = std::time::Instant::now();
    let copied = copy_walked(source, target, key, walked, *page, |n| {
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
