//! Personal data through the real parts (issue 9): `leye generate`, `leye
//! serve` with a real `nats-server`, `leye replay`, `leye keys`, `leye
//! migrate encrypt`, and then every file they wrote searched for resident IDs
//! and names in clear.

mod support;

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Duration,
};

use leye::{
    cases::{Person, PersonCases, Target, decode_with},
    config::{STORE_FILE, ServeConfig},
    identity::CaseIds,
};
use leye_domain::person::{PersonFact, RegistrationExit};
use leye_proto::person::v1 as pb;
use leye_store::{EventStore, SqliteStore};
use prost::Message;
use support::*;

fn leye_cmd() -> Command {
    let mut c = Command::new(LEYE);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            c.env_remove(k);
        }
    }
    c.env("LEYE_LOG", "warn");
    c
}

/// Runs `leye ARGS --data-dir DIR`; returns stdout, or panics with stderr.
fn run(dir: &Path, args: &[&str]) -> String {
    let out = leye_cmd().args(args).arg("--data-dir").arg(dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "leye {args:?} failed:\n{err}");
    String::from_utf8(out.stdout).unwrap()
}

/// A token of the development issuer for a city-wide supervisor.
fn supervisor_token(dir: &Path) -> String {
    let (key, _) = leye::trust::dev_issuer(dir).expect("development issuer");
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new("chief-0007", &[leye_auth::Role::Supervisor], &["120000"])
    };
    leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp()).expect("token")
}

/// Every resident ID and name the store holds, opened with the key store
/// (erased ones are not there any more: the caller adds those it knew).
async fn secrets_in(dir: &Path) -> Vec<String> {
    let config = ServeConfig::in_data_dir(dir);
    let personal = config.vault.open().unwrap();
    let store = SqliteStore::open(dir.join(STORE_FILE), Default::default()).await.unwrap();
    let mut secrets = Vec::new();
    for e in store.read_all(None, 1_000_000).await.unwrap() {
        if e.event_type != "person.registered" {
            continue;
        }
        let r = decode_with::<Person>(e, Some(&personal)).unwrap();
        if let PersonFact::Registered(reg) = r.event.fact {
            secrets.extend(reg.resident_id.known().map(|id| id.as_str().to_string()));
            secrets.extend(reg.name.map(|n| n.as_str().to_string()));
        }
    }
    store.close().await;
    secrets.sort();
    secrets.dedup();
    secrets
}

/// Every file under `dirs`, recursively.
fn files(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { todo.push(path) } else { out.push(path) }
        }
    }
    out
}

/// The files (and which secret) that hold any of `secrets` in clear.
fn leaks(dirs: &[&Path], secrets: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for f in files(dirs) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        for s in secrets {
            if bytes.windows(s.len()).any(|w| w == s.as_bytes()) {
                found.push(format!("{}: {s:?}", f.display()));
            }
        }
    }
    found
}

fn contact_with_note(case_id: &str, note: &str) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: Some(leye_proto::common::v1::CommandContext {
            command_id: uuid::Uuid::new_v4().to_string(),
            office: "120111001".into(),
            ..Default::default()
        }),
        case_id: case_id.into(),
        effective_date: chrono::Utc::now().date_naive().pred_opt().unwrap().to_string(),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: note.into(),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_population_leaves_no_resident_id_or_name_in_any_file_and_an_erasure_reaches_nats() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut nats = NatsServer::start(tmp.path()).await;
    let out = leye_cmd().args(["generate", "--people", "120", "--data-dir"]).arg(&data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A stream bounded well below the free disk (NATS refuses a stream it could not hold).
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--nats-max-bytes", "104857600"]).await;
    let mut client = leye.client().await;

    // One more person over gRPC, then erased by a supervisor.
    let resident_id = resident_id(9_001);
    let case_id = run_case(&mut client, 9_001).await[0].case_id.clone();
    // Free text naming a resident ID is refused, naming the field; nothing is written.
    let refused = client.record_contact(contact_with_note(&case_id, &format!("本人 {resident_id} 来电"))).await;
    let status = refused.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("contact.note") && !status.message().contains(&resident_id), "{status:?}");
    let caseworker_erase =
        client.erase_personal_data(erase_request(&case_id)).await.expect_err("a caseworker may not erase");
    assert_eq!(caseworker_erase.code(), tonic::Code::PermissionDenied);
    let mut supervisor = pb::person_case_service_client::PersonCaseServiceClient::new(
        authed(leye.addr, &supervisor_token(&data)).await.unwrap(),
    );
    let erased = supervisor.erase_personal_data(erase_request(&case_id)).await.unwrap().into_inner();
    assert!(!erased.result.unwrap().duplicate);

    // Every event reaches NATS; registrations carry no personal data; the erasure arrives.
    let head = {
        let conn = rusqlite::Connection::open(data.join(STORE_FILE)).unwrap();
        conn.query_row("SELECT max(position) FROM events", [], |r| r.get::<_, i64>(0)).unwrap() as u64
    };
    let js = jetstream(&[nats.url()]).await;
    for _ in 0..600 {
        if stream_messages(&js).await == Some(head) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if stream_messages(&js).await != Some(head) {
        leye.print_publisher_log();
        panic!("{:?} of {head} events on NATS", stream_messages(&js).await);
    }
    let stream = js.get_stream(STREAM).await.unwrap();
    let (mut registered, mut erasures) = (0, Vec::new());
    for seq in 1..=head {
        let m = stream.get_raw_message(seq).await.unwrap();
        let payload_type = m.headers.get("Leye-Payload-Type").map(|v| v.as_str().to_string());
        if payload_type.as_deref() != Some("leye.person.v1.PersonEvent") {
            continue;
        }
        match pb::PersonEvent::decode(m.payload.as_ref()).unwrap().event {
            Some(pb::person_event::Event::Registered(r)) => {
                registered += 1;
                assert_eq!((r.resident_id.as_str(), r.name.as_str()), ("", ""), "{}", m.subject);
                assert_eq!(r.personal_data, pb::PersonalDataState::Withheld as i32);
            }
            Some(pb::person_event::Event::PersonalDataErased(e)) => {
                erasures.push((m.subject.to_string(), e.ground));
                assert_eq!(m.headers.get("Leye-Case-Id").unwrap().as_str(), case_id);
            }
            _ => {}
        }
    }
    assert!(registered > 100, "{registered} registrations published");
    assert_eq!(
        erasures,
        vec![("leye.v1.person.120111.personal_data_erased".to_string(), pb::ErasureGround::ConsentWithdrawn as i32)]
    );
    leye.terminate().await;
    nats.kill().await;

    // `leye replay` shows the erased fields as erased.
    let replay = run(&data, &["replay", &case_id, "--format", "json"]);
    assert!(replay.contains("\"erased\":true") && replay.contains("personal_data_erased"), "{replay}");
    assert!(!replay.contains(&resident_id) && !replay.contains(NAME), "{replay}");

    let mut secrets = secrets_in(&data).await;
    assert!(secrets.len() > 150, "resident IDs and names of the population: {}", secrets.len());
    assert!(!secrets.contains(&resident_id), "the erased person's resident ID cannot be opened any more");
    secrets.push(resident_id.clone());
    let found = leaks(&[&data, &nats.dir], &secrets);
    assert!(found.is_empty(), "personal data in clear:\n{}", found.join("\n"));
    // The search does find what is there: the sealed store opened gives them back.
    assert!(!leaks(&[&data], std::slice::from_ref(&case_id)).is_empty(), "case ids are in the files");
}

fn erase_request(case_id: &str) -> pb::ErasePersonalDataRequest {
    pb::ErasePersonalDataRequest {
        context: Some(leye_proto::common::v1::CommandContext {
            command_id: uuid::Uuid::new_v4().to_string(),
            office: "120111001".into(),
            ..Default::default()
        }),
        case_id: case_id.into(),
        effective_date: (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive().to_string(),
        erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
    }
}

#[test]
fn rotation_keeps_everything_readable_and_a_wrong_or_missing_master_key_stops_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    run(&data, &["generate", "--people", "20"]);
    let case = {
        let conn = rusqlite::Connection::open(data.join(STORE_FILE)).unwrap();
        let stream: String = conn
            .query_row("SELECT stream FROM events WHERE event_type = 'person.registered' LIMIT 1", [], |r| r.get(0))
            .unwrap();
        stream.trim_start_matches("person-").to_string()
    };
    let before = run(&data, &["replay", &case, "--format", "json"]);
    assert!(before.contains("\"resident_id\":\"1"), "opened: {before}");
    let key_file = data.join("keys/master.key");
    let old_key = std::fs::read_to_string(&key_file).unwrap();

    let rotated = run(&data, &["keys", "rotate"]);
    assert!(rotated.contains("data keys re-wrapped"), "{rotated}");
    let new_key = std::fs::read_to_string(&key_file).unwrap();
    assert_ne!(old_key, new_key);
    assert_eq!(run(&data, &["replay", &case, "--format", "json"]), before, "readable as before");
    assert!(run(&data, &["keys", "status"]).contains("live data keys"));

    // The old key, another key, no key: `leye serve` refuses to start, saying why.
    let start = |env: Option<&str>| {
        let mut c = leye_cmd();
        c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(&data);
        if let Some(k) = env {
            c.env("LEYE_MASTER_KEY", k);
        }
        refused_start(c)
    };
    std::fs::write(&key_file, &old_key).unwrap();
    let err = start(None);
    assert!(err.contains("does not open the key store") && err.contains("master.key"), "{err}");
    assert!(!err.contains(old_key.trim()), "the key is never printed");
    let err = start(Some(&"ab".repeat(32)));
    assert!(err.contains("LEYE_MASTER_KEY") && err.contains("does not open"), "{err}");
    std::fs::remove_file(&key_file).unwrap();
    let err = start(None);
    assert!(err.contains("holds no key") && err.contains("restore the master key"), "{err}");
    assert!(!key_file.exists(), "no new key is made over an existing key store");
    // The right key through the environment opens it.
    let out = leye_cmd()
        .args(["replay", &case, "--format", "json", "--data-dir"])
        .arg(&data)
        .env("LEYE_MASTER_KEY", new_key.trim())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), before);
    // A lost key store is not replaced by an empty one: the start is refused.
    std::fs::rename(data.join("keys/keys.sqlite"), tmp.path().join("keys.sqlite.bak")).unwrap();
    let err = start(Some(new_key.trim()));
    assert!(err.contains("keys.sqlite is missing") && err.contains("restore it"), "{err}");
    assert!(!data.join("keys/keys.sqlite").exists());
}

/// The pseudonym key is part of the data (README, "Personal data"): a server
/// started beside a populated store with another key, or with none, would
/// derive another case id for every person and open second cases. It refuses
/// to start, naming the setting, makes no key and prints none. A key store
/// from before the fingerprint was kept: a missing key is still refused (the
/// store holds cases), and the key present is recorded at the next start.
#[test]
fn another_or_no_pseudonym_key_beside_a_populated_store_stops_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    run(&data, &["generate", "--people", "20"]);
    let key_file = data.join("pseudonym.key");
    let ours = std::fs::read_to_string(&key_file).unwrap();
    let start = || {
        let mut cmd = leye_cmd();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(&data);
        refused_start(cmd)
    };
    std::fs::write(&key_file, "ef".repeat(32)).unwrap();
    let err = start();
    assert!(err.contains("is not this deployment's") && err.contains("--pseudonym-key-file"), "{err}");
    assert!(!err.contains(&"ef".repeat(32)) && !err.contains(ours.trim()), "no key printed: {err}");
    std::fs::remove_file(&key_file).unwrap();
    let err = start();
    assert!(err.contains("is missing") && err.contains("holds the fingerprint"), "{err}");
    assert!(!key_file.exists(), "no new key is made");

    // As a key store written before the fingerprint was kept.
    let forget = || {
        let conn = rusqlite::Connection::open(data.join("keys/keys.sqlite")).unwrap();
        assert_eq!(conn.execute("DELETE FROM meta WHERE name = 'pseudonym_check'", []).unwrap(), 1);
    };
    forget();
    let err = start();
    assert!(err.contains("is missing") && err.contains("the event store holds cases"), "{err}");
    assert!(!key_file.exists(), "no new key is made");
    // The key present is recorded: the same people again write nothing new,
    // and another key is refused from then on.
    std::fs::write(&key_file, &ours).unwrap();
    run(&data, &["generate", "--people", "20", "--append"]);
    std::fs::write(&key_file, "ef".repeat(32)).unwrap();
    assert!(start().contains("is not this deployment's"));
}

/// position, event id, stream, recorded_at, metadata
type Row = (i64, Vec<u8>, String, i64, Vec<u8>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_seals_a_store_written_in_clear_and_keeps_positions_and_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A store as the release before sealing wrote it: the plain codec.
    let store = SqliteStore::open(data.join(STORE_FILE), Default::default()).await.unwrap();
    let ids = CaseIds::load_or_create(&data.join("pseudonym.key")).unwrap();
    let cases = PersonCases::new(store.clone(), ids, Arc::new(chrono::Utc::now));
    let mut people = Vec::new();
    for n in 0..5 {
        let id = resident_id(500 + n);
        let id = leye_domain::values::ResidentId::parse(&id, cases.today()).unwrap();
        let reg = leye_domain::person::Registration {
            resident_id: id.clone().into(),
            name: Some(leye_domain::values::PersonName::parse(&format!("{NAME}{n}")).unwrap()),
            hukou: leye_domain::person::Hukou {
                county: leye_domain::values::CountyCode::parse("120111").unwrap(),
                nature: leye_domain::person::HukouNature::Urban,
            },
            residence: leye_domain::values::Residence::parse("120111", "120111001", "120111001002").unwrap(),
            education: leye_domain::person::Education::Bachelor,
            graduation: None,
            household: None,
            groups: Default::default(),
        };
        let on = cases.today().pred_opt().unwrap();
        let meta = || leye::cases::CommandMeta {
            command_id: uuid::Uuid::new_v4(),
            correlation_id: uuid::Uuid::new_v4(),
            causation_id: uuid::Uuid::new_v4(),
            actor: "staff-0042".into(),
            office: "120111001".into(),
            expected_revision: None,
            access: leye::access::Access::Service("leye-test"),
        };
        let command = |c| leye_domain::person::DatedCommand { effective_date: on, command: c };
        let outcome = cases
            .execute(
                Target::Person(id.clone()),
                meta(),
                command(leye_domain::person::PersonCommand::RegisterUnemployment(reg)),
            )
            .await
            .unwrap();
        let exit = leye_domain::person::PersonCommand::ExitRegistration(RegistrationExit {
            reason: leye_domain::person::ExitReason::Other,
        });
        cases.execute(Target::Case(outcome.case_id), meta(), command(exit)).await.unwrap();
        people.push((id.as_str().to_string(), format!("{NAME}{n}"), outcome.case_id));
    }
    store.close().await;
    let secrets: Vec<String> = people.iter().flat_map(|(id, name, _)| [id.clone(), name.clone()]).collect();
    let rows = |path: &Path| -> Vec<Row> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut s = conn
            .prepare("SELECT position, event_id, stream, recorded_at, metadata FROM events ORDER BY position")
            .unwrap();
        s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let before = rows(&data.join(STORE_FILE));
    assert_eq!(leaks(&[&data], &secrets).len(), secrets.len(), "the old release stored them in clear");

    let out = run(&data, &["migrate", "encrypt"]);
    assert!(out.starts_with("5 registrations sealed"), "{out}");
    let found = leaks(&[&data], &secrets);
    assert!(found.is_empty(), "personal data in clear after the migration:\n{}", found.join("\n"));
    assert_eq!(rows(&data.join(STORE_FILE)), before, "positions, ids, streams, times and metadata unchanged");
    assert!(run(&data, &["migrate", "encrypt"]).starts_with("0 registrations sealed"), "idempotent");
    // The store was under the hash chain: the rewrite re-sealed the whole log,
    // so it verifies (exit 0) and says from where the chain vouches.
    let verified = run(&data, &["verify"]);
    assert!(verified.contains("sealed as found by the one-way migration"), "{verified}");

    // Readable as before, through the sealed form.
    for (id, name, case) in &people {
        let replay = run(&data, &["replay", &case.to_string(), "--format", "json"]);
        assert!(replay.contains(id) && replay.contains(name), "{replay}");
    }
}
