//! An operator's and a hostile user's review of the PostgreSQL store, several
//! servers on one store, `--store` and `leye store copy`, through the public
//! interfaces only (the `leye` binary, its gRPC API, its logs and /metrics).
//!
//! Each test says what the README / OPERATIONS / the issue promise. Ten of
//! them failed when written (passwords in --help, config errors and refused
//! values; a copy leaving a partial or mixed log, or running beside a server;
//! verify creating a store; a server that cannot append holding roles;
//! unpinned commands aborted across servers) and were fixed; the others
//! held from the start, but for a copy into a key store of other keys,
//! written with its fix (before it, the events went in, then the keys were
//! refused).
//!
//! PostgreSQL and nats-server are the test's own (free loopback ports), never
//! a server already running on the machine.
//!
//! `credentials.rs`: the store's and NATS's credentials never printed, bad
//! `--store` values; `copy.rs`: `leye store copy`; `servers.rs`: two servers
//! on one store. The helpers they share are here.

#![allow(clippy::unwrap_used)]

#[path = "../support/mod.rs"]
mod support;

mod copy;
mod credentials;
mod servers;

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use leye_proto::{
    common::v1::CommandContext,
    enterprise::v1::{self as epb, enterprise_case_service_client::EnterpriseCaseServiceClient},
    person::v1 as pb,
};
use leye_store::test_postgres::TestPostgres;
use support::{Leye, NAME, NatsServer};
use tonic_types::StatusExt;
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_leye");

/// `leye` with no `LEYE_*` setting of the test's environment.
fn leye() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            c.env_remove(k);
        }
    }
    c.stdin(Stdio::null());
    c
}

/// `leye generate --people N` into `data` (a synthetic population, its keys
/// and read model), which must succeed.
fn generate(data: &Path, people: u32) {
    let out = leye().args(["generate", "--people", &people.to_string(), "--data-dir"]).arg(data).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// A closed loopback port: nothing listens there.
fn closed_port() -> u16 {
    support::free_port()
}

// === shared by the modules: cases and two servers on one PostgreSQL ===

fn yesterday() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8) - chrono::Duration::days(1)).date_naive().to_string()
}

fn ctx(command_id: &str, expected_revision: Option<u64>) -> Option<CommandContext> {
    Some(CommandContext {
        command_id: command_id.into(),
        office: "120111001".into(),
        expected_revision,
        ..Default::default()
    })
}

async fn register(
    client: &mut support::Client,
    person: u32,
) -> Result<leye_proto::common::v1::CommandResult, tonic::Status> {
    register_with(client, person, &Uuid::new_v4().to_string()).await
}

async fn register_with(
    client: &mut support::Client,
    person: u32,
    command_id: &str,
) -> Result<leye_proto::common::v1::CommandResult, tonic::Status> {
    let req = pb::RegisterUnemploymentRequest {
        context: ctx(command_id, None),
        effective_date: yesterday(),
        registration: Some(pb::Registration {
            resident_id: support::resident_id(person),
            name: NAME.into(),
            hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
            residence: Some(pb::Residence {
                district_code: "120111".into(),
                street_code: "120111001".into(),
                community_code: "120111001002".into(),
            }),
            education: pb::Education::Bachelor as i32,
            ..Default::default()
        }),
    };
    client.register_unemployment(req).await.map(|r| r.into_inner().result.unwrap())
}

fn contact(case_id: &str, command_id: &str, expected: Option<u64>, note: &str) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: ctx(command_id, expected),
        case_id: case_id.into(),
        effective_date: yesterday(),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: note.into(),
        }),
    }
}

fn copy_keys(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("keys")).unwrap();
    for f in ["chain.key", "master.key"] {
        std::fs::copy(from.join("keys").join(f), to.join("keys").join(f)).unwrap();
    }
}

/// How many terms `l` has begun as the leader of `role` (its log).
fn role_leaders(l: &Leye, role: &str) -> usize {
    let log = l.log_text();
    if role == "publisher" {
        log.lines().filter(|x| x.contains("leading the publisher role: publishing")).count()
    } else {
        log.lines().filter(|x| x.contains("leading: starting") && x.contains(role)).count()
    }
}

/// Two `leye serve` on the PostgreSQL `url` (keys shared as a deployment
/// does), and the case of person 7 registered on the first.
async fn two_servers(dir: &Path, url: &str, nats: Option<&str>) -> (Leye, Leye, String) {
    let (a_dir, b_dir) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    let a = Leye::start(&a_dir, nats, &["--store", url]).await;
    let case = register(&mut a.client().await, 7).await.unwrap().case_id;
    copy_keys(&a_dir, &b_dir);
    let pseudonym = a_dir.join("pseudonym.key");
    let b = Leye::start(&b_dir, nats, &["--store", url, "--pseudonym-key-file", pseudonym.to_str().unwrap()]).await;
    (a, b, case)
}
