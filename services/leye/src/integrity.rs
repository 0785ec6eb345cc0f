//! Tamper evidence of the event store, for operators: `leye verify`, the
//! check `leye serve` runs at start (its outcome on the health service), and
//! the guard of `leye projections rebuild`.
//!
//! The chain itself lives in `leye-store` (`chain.rs`, the SQLite adapter's
//! `seal.rs`); this module only runs it and says what it found.

use std::{io::Write, time::Instant};

use anyhow::Context;
use leye_store::{
    IntegrityProblem,
    sqlite::{VerifyOptions, verify_file},
};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::config::ServeConfig;

/// The health service name under which `leye serve` reports the store's
/// integrity (SERVING when the check at start passed).
pub const HEALTH_SERVICE: &str = "leye.Store";

/// The stable log message of an integrity alert: alert on it.
pub const ALERT: &str = "STORE INTEGRITY ALERT";

/// `leye verify`: walks the whole log, prints the counts and throughput when
/// clean or the first break, and returns whether the store is intact.
pub fn verify(config: &ServeConfig, quick_check: bool, out: &mut impl Write) -> anyhow::Result<bool> {
    let path = match &config.store {
        leye_store::StoreLocator::Sqlite(path) => path.clone(),
        _ => config.store_file(),
    };
    anyhow::ensure!(path.exists(), "no event store at {}", path.display());
    let started = Instant::now();
    let key_file = config.chain_key_file();
    let verified = verify_file(&path, &key_file, VerifyOptions { quick_check })
        .with_context(|| format!("verifying {}", path.display()))?;
    let total = started.elapsed().as_secs_f64();
    let r = &verified.report;
    let walk = verified.walk.as_secs_f64();
    match &r.broken {
        None => {
            writeln!(
                out,
                "event store intact: {} events (positions 1..={}), last hash {}, head file at position {}",
                r.events,
                r.end.seq,
                leye_store::headfile::hex(&r.end.hash),
                r.head.map_or(0, |h| h.seq),
            )?;
            writeln!(
                out,
                "chain {} with key {}; walk {:.3} s ({:.0} events/s), quick_check {}, total {total:.3} s",
                r.algorithm,
                r.key_id,
                walk,
                r.events as f64 / walk.max(1e-9),
                if quick_check {
                    format!("ok in {:.3} s", verified.quick_check.as_secs_f64())
                } else {
                    "skipped".into()
                },
            )?;
        }
        Some(b) => {
            writeln!(out, "event store BROKEN at position {}: {} ({})", b.position, b.kind, b.detail)?;
            writeln!(out, "{} events verified before it; chain {} with key {}", r.events, r.algorithm, r.key_id)?;
        }
    }
    if let Some(m) = r.migrated_through {
        writeln!(out, "events 1..={m} were sealed as found by the one-way migration to schema 2")?;
    }
    Ok(r.is_intact())
}

/// `leye verify` of any store: a SQLite file as [`verify`] does; a shared
/// store (PostgreSQL) by walking its whole chain through the port (one page
/// at a time) and checking it ends on the head row.
pub async fn verify_any(config: &ServeConfig, quick_check: bool, out: &mut impl Write) -> anyhow::Result<bool> {
    if !config.store.is_shared() {
        return verify(config, quick_check, out);
    }
    // A check creates nothing: no schema, no chain record, no key.
    let store = leye_store::AnyStore::open_existing(&config.store, &config.any_store_options(false))
        .await
        .with_context(|| format!("opening {}", config.store))?;
    if let Some(p) = store.integrity().filter(|p| p.code == IntegrityProblem::CHAIN_KEY) {
        let refused = format!("cannot verify {}: {} ({}); nothing was created", store.describe(), p.detail, p.code);
        store.close().await;
        anyhow::bail!(refused);
    }
    let key = match leye_store::chain::ChainKey::load(store.key_file(), store.algorithm()) {
        Ok(key) => key,
        Err(e) => {
            store.close().await;
            anyhow::bail!("chain key: {e}");
        }
    };
    let started = Instant::now();
    let walked = leye_store::copy::walk(&store, &key, 2000).await;
    let where_ = store.describe();
    store.close().await;
    let walked = walked?;
    let secs = started.elapsed().as_secs_f64();
    match &walked.broken {
        None => writeln!(
            out,
            "event store intact: {} events (positions 1..={}), last hash {}, head row at position {}; \
             {where_}, chain {} with key {}; walk {secs:.3} s ({:.0} events/s)",
            walked.events,
            walked.end.seq,
            leye_store::headfile::hex(&walked.end.hash),
            walked.head.map_or(0, |h| h.seq),
            key.algorithm(),
            key.id(),
            walked.events as f64 / secs.max(1e-9),
        )?,
        Some(b) => writeln!(
            out,
            "event store BROKEN at position {}: {} ({}); {} events verified before it; {where_}",
            b.position, b.kind, b.detail, walked.events
        )?,
    }
    Ok(walked.broken.is_none())
}

/// [`require_intact`] for any store.
pub async fn require_intact_any(config: &ServeConfig, force: bool, err: &mut impl Write) -> anyhow::Result<()> {
    // The walk takes a while on a large log (≈ 200 000 events/s): say so first.
    writeln!(err, "verifying the event store's chain first…")?;
    if !config.store.is_shared() {
        return require_intact(config, force, err);
    }
    let mut report = Vec::new();
    if verify_any(config, false, &mut report).await? {
        err.write_all(&report)?;
        return Ok(());
    }
    let report = String::from_utf8_lossy(&report);
    if force {
        tracing::error!(alert = ALERT, "--force: going on over a broken event store");
        writeln!(err, "{report}--force given: going on anyway")?;
        return Ok(());
    }
    anyhow::bail!("{}the event store does not verify; investigate (`leye verify`), or pass --force", report)
}

/// Refuses to go on over a broken store unless `force`: for commands that
/// trust the whole log (`leye projections rebuild`).
pub fn require_intact(config: &ServeConfig, force: bool, err: &mut impl Write) -> anyhow::Result<()> {
    let mut report = Vec::new();
    let intact = verify(config, false, &mut report)?;
    if intact {
        err.write_all(&report)?;
        return Ok(());
    }
    let report = String::from_utf8_lossy(&report);
    if force {
        tracing::error!(alert = ALERT, "--force: going on over a broken event store");
        writeln!(err, "{report}--force given: going on anyway")?;
        return Ok(());
    }
    anyhow::bail!("{}the event store does not verify; investigate (`leye verify`), or pass --force", report)
}

/// Reports the store's check at start on the health service: `leye.Store`
/// SERVING or NOT_SERVING, and the alert in the log.
pub async fn report(problem: Option<&IntegrityProblem>, health: &HealthReporter) {
    match problem {
        None => health.set_service_status(HEALTH_SERVICE, ServingStatus::Serving).await,
        Some(p) => {
            tracing::error!(
                code = p.code,
                detail = %p.detail,
                "{ALERT}: the event store failed its check at start; commands are refused (UNAVAILABLE {}), \
                 queries still answer; run `leye verify`",
                p.code
            );
            health.set_service_status(HEALTH_SERVICE, ServingStatus::NotServing).await;
        }
    }
}
