//! Tamper evidence and backups as an operator meets them: `leye serve`,
//! `leye verify`, `leye projections rebuild`, `leye backup` and `leye restore`
//! as processes on real data directories, the database edited with rusqlite
//! (the sqlite3 semantics) by someone without the chain key.
//!
//! - each kind of tampering (payload, metadata, deleted, inserted, swapped
//!   events, truncated tail, an overwritten 4 KiB page) is named by `leye
//!   verify` with its position, exit 1;
//! - a server started on a tampered store still answers queries, reports
//!   `leye.Store` and the command services NOT_SERVING, refuses commands with
//!   UNAVAILABLE and the reason code, and logs the alert at ERROR;
//! - `leye projections rebuild` refuses a broken store unless `--force`;
//! - a backup taken while commands run restores to a store that verifies,
//!   with the same head, and answers the same case state.

mod support;

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Output,
    time::Duration,
};

use leye_proto::person::v1 as pb;
use support::{LEYE, Leye, eventually, run_case};
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_types::StatusExt;

const PERSON_SERVICE: &str = "leye.person.v1.PersonCaseService";

async fn leye(args: &[&str], data_dir: &Path) -> Output {
    let mut cmd = tokio::process::Command::new(LEYE);
    cmd.args(args).arg("--data-dir").arg(data_dir).env("LEYE_LOG", "warn");
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") && k != "LEYE_LOG" {
            cmd.env_remove(k);
        }
    }
    tokio::time::timeout(Duration::from_secs(120), cmd.output()).await.expect("leye answers in time").unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

async fn health(addr: std::net::SocketAddr, service: &str) -> Option<ServingStatus> {
    let channel = Channel::from_shared(format!("http://{addr}")).ok()?.connect().await.ok()?;
    let r = HealthClient::new(channel).check(HealthCheckRequest { service: service.into() }).await.ok()?;
    ServingStatus::try_from(r.into_inner().status).ok()
}

/// A data directory with 5 cases (20 events) written through `leye serve`,
/// stopped cleanly; the case ids.
async fn served(dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let mut server = Leye::start(dir, None, &[]).await;
    let mut client = server.client().await;
    let mut cases = Vec::new();
    for person in 1..=5 {
        cases.push(run_case(&mut client, person).await[0].case_id.clone());
    }
    server.terminate().await;
    cases
}

fn tamper(dir: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(dir.join("events.sqlite")).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Overwrites the 4 KiB page in the middle of the (checkpointed) database file.
fn overwrite_page(dir: &Path) {
    let path = dir.join("events.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    drop(conn);
    let mut bytes = std::fs::read(&path).unwrap();
    let pages = bytes.len() / 4096;
    assert!(pages >= 4, "{pages} pages");
    bytes[(pages / 2) * 4096..(pages / 2 + 1) * 4096].fill(0xa5);
    std::fs::write(&path, bytes).unwrap();
}

/// A name, what it does to a data directory, what `leye verify` must say.
type Tampering<'a> = (&'a str, &'a dyn Fn(&Path), &'a str);

/// An edit that still decodes (JSON allows the leading space), so a forced
/// rebuild can go on over it.
const PAYLOAD: &str = "UPDATE events SET data = CAST(' ' || CAST(data AS TEXT) AS BLOB) WHERE position = 5";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_each_break_and_a_server_on_a_broken_store_reads_but_refuses_commands() {
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    let cases = served(&clean).await;
    let ok = leye(&["verify"], &clean).await;
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("event store intact: 20 events (positions 1..=20)"), "{}", text(&ok));
    assert!(text(&ok).contains("events/s"), "{}", text(&ok));

    let cases_of_tampering: [Tampering; 7] = [
        ("payload", &|d| tamper(d, PAYLOAD), "BROKEN at position 5: EDITED_PAYLOAD"),
        (
            "metadata",
            &|d| {
                tamper(
                    d,
                    "UPDATE events SET metadata = CAST(replace(CAST(metadata AS TEXT), 'staff-0042', 'staff-0043') \
                     AS BLOB) WHERE position = 6",
                )
            },
            "BROKEN at position 6: EDITED_METADATA",
        ),
        ("deleted", &|d| tamper(d, "DELETE FROM events WHERE position = 2"), "BROKEN at position 2: DELETED"),
        (
            "inserted",
            &|d| {
                tamper(
                    d,
                    "INSERT INTO events (stream, revision, event_id, event_type, data, metadata, recorded_at, \
                     chain_prev, chain_hash, chain_mac, chain_check) SELECT stream, revision + 1, randomblob(16), \
                     event_type, data, metadata, recorded_at, chain_hash, randomblob(32), randomblob(32), chain_check \
                     FROM events WHERE position = 20",
                )
            },
            "BROKEN at position 21: INSERTED",
        ),
        (
            "swapped",
            &|d| {
                tamper(
                    d,
                    "UPDATE events SET position = -1 WHERE position = 9; UPDATE events SET position = 9 WHERE \
                     position = 10; UPDATE events SET position = 10 WHERE position = -1;",
                )
            },
            "BROKEN at position 9: REORDERED",
        ),
        ("truncated", &|d| tamper(d, "DELETE FROM events WHERE position > 17"), "BROKEN at position 18: TRUNCATED"),
        ("page", &overwrite_page, "BROKEN at position"),
    ];
    for (name, apply, want) in cases_of_tampering {
        let dir = root.path().join(name);
        support::copy_dir(&clean, &dir);
        apply(&dir);
        let o = leye(&["verify"], &dir).await;
        assert_eq!(o.status.code(), Some(1), "{name}: {}", text(&o));
        assert!(text(&o).contains(want), "{name}: want {want:?} in\n{}", text(&o));
        assert!(!text(&o).contains(support::NAME), "{name}: no personal data in\n{}", text(&o));
    }

    // A server on tampered stores: reads answer, commands are refused, health says so.
    for (name, code) in [("payload", "CHAIN_BROKEN"), ("truncated", "CHAIN_BROKEN"), ("page", "")] {
        let dir = root.path().join(name);
        let mut server = Leye::start(&dir, None, &[]).await;
        let want = Some(ServingStatus::NotServing);
        eventually(&format!("{name}: leye.Store NOT_SERVING"), Duration::from_secs(20), || async {
            (health(server.addr, "leye.Store").await == want).then_some(())
        })
        .await;
        assert_eq!(health(server.addr, PERSON_SERVICE).await, want, "{name}");
        assert_eq!(health(server.addr, "leye.analytics.v1.TargetsService").await, Some(ServingStatus::Serving));
        let mut client = server.client().await;
        if name != "page" {
            let got = client.get_case(pb::GetCaseRequest { case_id: cases[4].clone(), as_of: None }).await;
            assert!(got.is_ok(), "{name}: queries still answer: {got:?}");
        }
        let refused = tokio::time::timeout(Duration::from_secs(30), async {
            let mut c = client.clone();
            run_case_refused(&mut c).await
        })
        .await
        .expect("answered");
        assert_eq!(refused.code(), tonic::Code::Unavailable, "{name}: {refused:?}");
        let reason = refused.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default();
        if code.is_empty() {
            assert!(["CHAIN_BROKEN", "STORE_CORRUPT"].contains(&reason.as_str()), "{name}: {reason}");
        } else {
            assert_eq!(reason, code, "{name}");
        }
        let log = server.log_text();
        assert!(
            log.lines().any(|l| l.contains("ERROR") && l.contains("STORE INTEGRITY ALERT")),
            "{name}: the alert is logged at ERROR:\n{log}"
        );
        assert!(!log.contains(support::NAME), "{name}: no personal data in the log");
        server.terminate().await;
        // The server's start did not paper over the break.
        assert_eq!(leye(&["verify"], &dir).await.status.code(), Some(1), "{name}");
    }

    // The read model is not rebuilt from a broken log unless forced.
    let dir = root.path().join("payload");
    let refused = leye(&["projections", "rebuild"], &dir).await;
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(text(&refused).contains("EDITED_PAYLOAD") && text(&refused).contains("--force"), "{}", text(&refused));
    let forced = leye(&["projections", "rebuild", "--force"], &dir).await;
    assert!(forced.status.success(), "{}", text(&forced));
    let fine = leye(&["projections", "rebuild"], &clean).await;
    assert!(fine.status.success(), "{}", text(&fine));
}

/// A registration on a broken store: its refusal.
async fn run_case_refused(client: &mut support::Client) -> tonic::Status {
    let request = pb::RegisterUnemploymentRequest {
        context: Some(leye_proto::common::v1::CommandContext {
            command_id: uuid::Uuid::new_v4().to_string(),
            office: "120111001".into(),
            ..Default::default()
        }),
        effective_date: chrono::Utc::now().date_naive().pred_opt().unwrap().to_string(),
        registration: Some(pb::Registration {
            resident_id: support::resident_id(900),
            name: support::NAME.into(),
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
    client.register_unemployment(request).await.expect_err("refused on a broken store")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_commands_run_restores_to_the_same_head_and_cases() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let mut server = Leye::start(&live, None, &[]).await;
    let mut client = server.client().await;
    let before: Vec<String> = [run_case(&mut client, 1).await, run_case(&mut client, 2).await]
        .iter()
        .map(|sent| sent[0].case_id.clone())
        .collect();
    let busy = tokio::spawn({
        let mut client = client.clone();
        async move {
            for person in 10..30 {
                run_case(&mut client, person).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dest = root.path().join("backup");
    let b = leye(&["backup", dest.to_str().unwrap()], &live).await;
    assert!(b.status.success(), "{}", text(&b));
    assert!(text(&b).contains("chain verified") && text(&b).contains("keys/chain.key"), "{}", text(&b));
    busy.await.unwrap();
    let mut states = Vec::new();
    for case in &before {
        states.push(
            client.get_case(pb::GetCaseRequest { case_id: case.clone(), as_of: None }).await.unwrap().into_inner(),
        );
    }
    let head_line = text(&b);
    let hash = head_line.split("hash ").nth(1).and_then(|s| s.split(')').next()).unwrap().to_string();

    // Restore into a new data directory; then verify it and serve it.
    let restored = root.path().join("restored");
    let r = leye(&["restore", dest.to_str().unwrap()], &restored).await;
    assert!(r.status.success(), "{}", text(&r));
    let v = leye(&["verify"], &restored).await;
    assert!(v.status.success(), "{}", text(&v));
    assert!(text(&v).contains(&format!("last hash {hash}")), "same head as the backup: {hash}\n{}", text(&v));
    for (path, want) in [
        (restored.clone(), 0o700),
        (restored.join("keys"), 0o700),
        (restored.join("events.sqlite"), 0o600),
        (restored.join("events.sqlite.head"), 0o600),
        (restored.join("keys/chain.key"), 0o600),
        (restored.join("pseudonym.key"), 0o600),
        (live.join("events.sqlite"), 0o600),
        (live.join("audit.sqlite"), 0o600),
        (live.join("readmodel"), 0o700),
    ] {
        assert_eq!(mode(&path), want, "{}", path.display());
    }
    // The personal-data key store travels with the backup, its master key
    // never does: the operator puts it back from where it is kept apart.
    assert!(dest.join("keys/keys.sqlite").exists() && text(&b).contains("keys/keys.sqlite"), "{}", text(&b));
    assert!(!dest.join("keys/master.key").exists(), "the master key is not in a backup");
    assert_eq!(mode(&restored.join("keys/keys.sqlite")), 0o600);
    std::fs::copy(live.join("keys/master.key"), restored.join("keys/master.key")).unwrap();
    let again = leye(&["restore", dest.to_str().unwrap()], &restored).await;
    assert!(!again.status.success() && text(&again).contains("--force"), "{}", text(&again));
    let mut copy = Leye::start(&restored, None, &[]).await;
    eventually("leye.Store SERVING on the restored store", Duration::from_secs(20), || async {
        (health(copy.addr, "leye.Store").await == Some(ServingStatus::Serving)).then_some(())
    })
    .await;
    let busy = leye(&["restore", dest.to_str().unwrap(), "--force"], &restored).await;
    assert!(!busy.status.success() && text(&busy).contains("server is running"), "{}", text(&busy));
    let mut copy_client = copy.client().await;
    for (case, state) in before.iter().zip(&states) {
        let got = copy_client.get_case(pb::GetCaseRequest { case_id: case.clone(), as_of: None }).await.unwrap();
        assert_eq!(&got.into_inner(), state, "the restored store answers the same for case {case}");
    }
    assert_eq!(health(copy.addr, "leye.Store").await, Some(ServingStatus::Serving));
    run_case(&mut copy_client, 99).await;
    copy.terminate().await;
    server.terminate().await;
    let forced = leye(&["restore", dest.to_str().unwrap(), "--force"], &restored).await;
    assert!(forced.status.success(), "{}", text(&forced));
    let aside: Vec<PathBuf> = std::fs::read_dir(&restored)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "the replaced store is kept aside");
    assert!(leye(&["verify"], &restored).await.status.success());
}
