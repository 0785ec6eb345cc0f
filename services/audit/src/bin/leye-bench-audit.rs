//! Throughput of the audit trail: records/s with 1 task and with 64 concurrent
//! tasks (group commit), next to raw SQLite inserts of the same rows on the
//! same disk — one fsynced transaction per row, and 512 rows per transaction.
//!
//! `cargo run --release -p leye-audit --bin leye-bench-audit [SIZE…]`
//! (default sizes 10000 and 100000). The two serial runs (1 task, 1 row per
//! commit) wait for one fsync per record, so they write at most
//! `LEYE_BENCH_SERIAL_MAX` records (default 10000) and say so. Files go to a
//! fresh directory under `$TMPDIR`, removed afterwards. Prints figures;
//! asserts nothing.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chrono::Utc;
use leye_audit::{AuditLog, AuditOptions, AuditRecord};
use rusqlite::{Connection, params};
use uuid::Uuid;

const TASKS: usize = 64;

fn record(i: usize) -> AuditRecord {
    AuditRecord {
        time: Utc::now(),
        principal: format!("staff-{:04}", i % 700),
        authn: "bearer:https://idp.tianjin.example".into(),
        peer: format!("10.0.{}.{}:{}", i % 200, i % 250, 40000 + i % 20000),
        operation: "leye.person.v1.PersonCaseService/GetCase".into(),
        case_ids: vec![Uuid::new_v4()],
        outcome: "OK".into(),
        reason: String::new(),
    }
}

fn rate(n: usize, elapsed: Duration) -> String {
    format!("{:>9.0} records/s  ({n} in {:.2} s)", n as f64 / elapsed.as_secs_f64(), elapsed.as_secs_f64())
}

async fn audit_run(dir: &Path, name: &str, n: usize, tasks: usize) -> Result<Duration, Box<dyn std::error::Error>> {
    let log = AuditLog::open(&dir.join(name), &dir.join("audit.key"), AuditOptions::default())?;
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for t in 0..tasks {
        let log = log.clone();
        let share = n / tasks + usize::from(t < n % tasks);
        handles.push(tokio::spawn(async move {
            for i in 0..share {
                log.record(record(t * n + i)).await?;
            }
            Ok::<_, leye_audit::AuditError>(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    let elapsed = started.elapsed();
    let report = log.verify()?;
    if let Some(b) = report.broken {
        eprintln!("  (unexpected: {name} does not verify: {b})");
    }
    log.close().await;
    Ok(elapsed)
}

/// Plain inserts of the same columns, WAL + `synchronous=FULL`, `per_tx` rows per transaction.
fn raw_run(path: &Path, n: usize, per_tx: usize) -> rusqlite::Result<Duration> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE raw (seq INTEGER PRIMARY KEY, time INTEGER, principal TEXT, authn TEXT, peer TEXT, \
         operation TEXT, case_ids BLOB, outcome TEXT, reason TEXT)",
    )?;
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO raw (time, principal, authn, peer, operation, case_ids, outcome, reason) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for i in done..(done + per_tx).min(n) {
                let r = record(i);
                let cases: Vec<u8> = r.case_ids.iter().flat_map(|c| *c.as_bytes()).collect();
                insert.execute(params![
                    r.time.timestamp_micros(),
                    r.principal,
                    r.authn,
                    r.peer,
                    r.operation,
                    cases,
                    r.outcome,
                    r.reason
                ])?;
            }
        }
        tx.commit()?;
        done = (done + per_tx).min(n);
    }
    Ok(started.elapsed())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() { vec![10_000, 100_000] } else { sizes };
    let serial_max: usize = match std::env::var("LEYE_BENCH_SERIAL_MAX") {
        Ok(v) => v.parse()?,
        Err(_) => 10_000,
    };
    let dir: PathBuf = std::env::temp_dir().join(format!("leye-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!("leye-audit benchmark in {} ({} CPUs)", dir.display(), std::thread::available_parallelism()?);
    for n in sizes {
        println!("{n} records:");
        let serial = n.min(serial_max);
        let one = audit_run(&dir, &format!("one-{n}.sqlite"), serial, 1).await?;
        println!("  audit, 1 task             {}", rate(serial, one));
        let many = audit_run(&dir, &format!("many-{n}.sqlite"), n, TASKS).await?;
        println!("  audit, {TASKS} tasks           {}", rate(n, many));
        let raw_each = raw_run(&dir.join(format!("raw1-{n}.sqlite")), serial, 1)?;
        println!("  raw SQLite, 1 row/commit  {}", rate(serial, raw_each));
        let raw_batch = raw_run(&dir.join(format!("raw512-{n}.sqlite")), n, 512)?;
        println!("  raw SQLite, 512 rows/commit {}", rate(n, raw_batch));
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
