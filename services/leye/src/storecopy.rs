//! `leye store copy`: moves an event log from one store to another (today:
//! into PostgreSQL), positions, times and seals kept, the source's chain checked
//! page by page on the way and the target's walked whole on arrival.

use std::io::Write;

use anyhow::Context;
use leye_store::{AnyStore, AnyStoreOptions, StoreLocator, chain::ChainKey, copy::copy_into_postgres};

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
    if let StoreLocator::Sqlite(path) = from {
        anyhow::ensure!(path.exists(), "--from: no event store at {}", path.display());
    }
    let source = AnyStore::open(from, options).await.with_context(|| format!("opening the source {from}"))?;
    let target = match AnyStore::open(to, options).await.with_context(|| format!("opening the target {to}")) {
        Ok(target) => target,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let result = run(&source, &target, page, out).await;
    source.close().await;
    target.close().await;
    result
}

async fn run(source: &AnyStore, target: &AnyStore, page: usize, out: &mut impl Write) -> anyhow::Result<()> {
    if let Some(p) = source.integrity() {
        anyhow::bail!("the source failed its check at open ({}: {}); run `leye verify` on it first", p.code, p.detail);
    }
    let AnyStore::Postgres(pg) = target else { anyhow::bail!("the target must be a PostgreSQL store") };
    if let Some(p) = pg.integrity() {
        anyhow::bail!("the target refuses appends ({}: {})", p.code, p.detail);
    }
    let key = ChainKey::load(source.key_file(), source.algorithm()).map_err(|e| anyhow::anyhow!("chain key: {e}"))?;
    anyhow::ensure!(
        pg.chain().key_id == key.id() && pg.chain().algorithm == key.algorithm(),
        "the target's chain uses key {} ({}), the source's {} ({}): a copy keeps the seals, so both need the same \
         key and algorithm",
        pg.chain().key_id,
        pg.chain().algorithm,
        key.id(),
        key.algorithm()
    );
    writeln!(out, "copying {} into {}", source.describe(), target.describe())?;
    let started = std::time::Instant::now();
    let mut last_print = std::time::Instant::now();
    let copied = copy_into_postgres(source, pg, &key, page, |n| {
        if last_print.elapsed().as_secs() >= 5 {
            let _ = writeln!(out, "  {n} events copied");
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
