//! An analyst's and a BI-tool integrator's review of the public interfaces:
//! `leye projections export …` and `rebuild`, the gRPC analytics API, the
//! stable path to the current read model (`readmodel/current.sqlite`) and
//! read-your-writes positions, against what README.md, docs/API.md,
//! projections/README.md, projections/TARGETS.md and the proto promise.
//!
//! Four of these failed when written and were fixed:
//! `a_period_not_begun_on_its_as_of_date_counts_no_flow`,
//! `cli_export_refuses_the_dates_grpc_refuses`,
//! `read_your_writes_keeps_waiting_across_a_rebuild_while_serving`,
//! `two_rebuilds_at_once_leave_one_generation_named_by_current`; the others
//! held from the start.
//!
//! `bi_path.rs`: the stable path for BI tools and rebuilds; `exports.rs`:
//! exports against gRPC; `dates.rs`: one as-of default, dates at their edges;
//! `reads.rs`: read your own writes, generations. The helpers they share are
//! here.
//!
//! Run: `NATS_SERVER=/usr/sbin/nats-server cargo test -p leye --test analyst_surfaces`

#[path = "../support/mod.rs"]
mod support;

mod bi_path;
mod dates;
mod exports;
mod reads;

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
    time::{Duration, Instant},
};

use chrono::{Datelike, NaiveDate};
use leye_proto::{
    analytics::v1::{self as apb, targets_service_client::TargetsServiceClient},
    common::v1::CommandContext,
    enterprise::v1::{self as epb, enterprise_case_service_client::EnterpriseCaseServiceClient},
    person::v1 as pb,
};
use support::*;
use tonic::Code;
use tonic_types::StatusExt;

const DISTRICT: &str = "120111";

fn today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// `leye <args> --data-dir <d>`, without the caller's `LEYE_*` environment.
fn cli(args: &[&str], d: &Path) -> std::process::Output {
    let mut c = std::process::Command::new(LEYE);
    c.args(args).arg("--data-dir").arg(d);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            c.env_remove(k);
        }
    }
    c.env("LEYE_LOG", "warn").stdin(std::process::Stdio::null()).output().expect("run leye")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn generate(d: &Path, people: u32) {
    let o = cli(&["generate", "--people", &people.to_string(), "--seed", "5"], d);
    assert!(o.status.success(), "leye generate: {}", stderr(&o));
}

/// One generated population shared by the tests that only read it (exports).
fn population() -> &'static Path {
    static POPULATION: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &POPULATION
        .get_or_init(|| {
            let t = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
            let d = t.path().join("d");
            generate(&d, 150);
            (t, d)
        })
        .1
}

fn readmodel(d: &Path) -> PathBuf {
    d.join(leye::config::READMODEL_DIR)
}

fn current_name(d: &Path) -> String {
    std::fs::read_to_string(readmodel(d).join("CURRENT")).unwrap().trim().to_string()
}

fn generations(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(readmodel(d))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("rm-"))
        .map(|n| n.trim_end_matches("-wal").trim_end_matches("-shm").to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// What a BI tool does: open the stable path read-only (as projections/README.md
/// shows with `sqlite3 -readonly "file:…/current.sqlite?mode=ro"`) and read the checkpoint.
fn bi_checkpoint(d: &Path) -> Result<u64, String> {
    let link = readmodel(d).join("current.sqlite");
    let uri = format!("file:{}?mode=ro", link.display());
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let conn = rusqlite::Connection::open_with_flags(&uri, flags).map_err(|e| format!("open {uri}: {e}"))?;
    conn.query_row("SELECT commit_position FROM checkpoint", [], |r| r.get::<_, i64>(0))
        .map(|p| p as u64)
        .map_err(|e| format!("read the checkpoint through {uri}: {e}"))
}

fn store_head(d: &Path) -> u64 {
    let conn = rusqlite::Connection::open_with_flags(
        d.join(leye::config::STORE_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.query_row("SELECT COALESCE(MAX(position), 0) FROM events", [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

fn targets_request(j: &str, from: NaiveDate, to: NaiveDate, as_of: Option<NaiveDate>) -> apb::GetTargetsRequest {
    apb::GetTargetsRequest {
        jurisdiction: j.into(),
        period_from: from.to_string(),
        period_to: to.to_string(),
        as_of: as_of.map(|a| a.to_string()).unwrap_or_default(),
        min_position: 0,
    }
}

/// Fields a refusal names: BadRequest's field violations, else the message.
fn named_fields(e: &tonic::Status) -> String {
    match e.get_details_bad_request() {
        Some(b) => {
            b.field_violations.iter().map(|v| format!("{}: {}", v.field, v.description)).collect::<Vec<_>>().join("; ")
        }
        None => e.message().to_string(),
    }
}

/// A request with the call's own deadline, when given.
fn timed<T>(m: T, deadline: Option<Duration>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(m);
    if let Some(d) = deadline {
        r.set_timeout(d);
    }
    r
}

fn ctx() -> Option<CommandContext> {
    Some(CommandContext {
        command_id: uuid::Uuid::new_v4().to_string(),
        office: "120111001".into(),
        ..Default::default()
    })
}

/// Splits one CSV line (RFC 4180, no line breaks inside cells).
fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cells.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            (c, _) => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

fn header_of(kind: &str) -> &'static str {
    match kind {
        "targets" => "id,title,numerator,denominator,value,goal,met,source",
        "long-term" => "case_id,community,registered_on,ended_on,days,long_term_from,status",
        "households" => "household_id,identified_on,since,days_outstanding,overdue,communities",
        "overdue-follow-up" => "case_id,community,registered_on,last_contact_on,missed_month_start",
        "matchmaker" => "case_id,community,registered_on,same_day_contact,two_way_in_time",
        "exit-review" => "case_id,community,registered_on,last_contact_on",
        "communities" => "community,employed,unemployed,rate,full_employment",
        "subsidy-totals" => "programme,year,district,grants,amount_fen",
        _ => {
            "case_id,case_kind,rule_id,rule_valid_from,programme,clause,reasons,amount_fen,found_on,district,community"
        }
    }
}

const KINDS: [&str; 9] = [
    "targets",
    "long-term",
    "households",
    "overdue-follow-up",
    "matchmaker",
    "exit-review",
    "communities",
    "subsidy-totals",
    "eligible",
];
