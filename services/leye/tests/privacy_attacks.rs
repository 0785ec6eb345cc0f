//! A privacy review through the public interfaces: `leye serve` as a process
//! (gRPC with tokens of the development issuer, `/metrics`, the dashboard's
//! JSON API, logs at `trace`), a real `nats-server`, the audit trail, the
//! event store's file and `leye replay`, against the rule "no personal data
//! (names, resident ID numbers) in logs, traces, NATS subjects, error texts or
//! anything an analyst can see", README "Personal data", "Security",
//! "Consuming events", "Auditing a case" and COMPLIANCE.md.
//!
//! Six failed when written and were fixed (each comment quotes the promise):
//! `the_registration_fingerprint_reveals_no_resident_id_or_name_after_erasure`,
//! `a_retried_registration_never_confirms_an_erased_persons_name`,
//! `a_resident_id_in_full_width_digits_or_ideographic_space_groups_is_refused_in_a_note`,
//! `an_unknown_path_never_puts_a_resident_id_into_the_audit_trail_or_the_log`,
//! `an_unknown_rule_id_is_not_repeated_in_the_refusal`,
//! `a_look_up_request_never_prints_its_resident_id_in_debug`. The others
//! held from the start.
//!
//! Run: `NATS_SERVER=/usr/sbin/nats-server cargo test -p leye --test privacy_attacks`

mod support;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use bytes::{BufMut, Bytes, BytesMut};
use leye::{
    cases::{Person, decode_with},
    config::STORE_FILE,
};
use leye_domain::{
    person::{DatedCommand, PersonCommand, PersonFact},
    values::{PersonName, RegisteredId, ResidentId},
};
use leye_proto::{
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};
use leye_store::{EventStore, SqliteStore};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};
use sha2::{Digest, Sha256};
use support::{Client, LEYE, NatsServer, authed, eventually, resident_id};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
};
use tonic_types::StatusExt;
use uuid::Uuid;

/// The name every test registers (and then looks for where it must not be).
const NAME: &str = "钱示例";

// === the service as a process ===

/// `leye serve` on `data`, logging at `level` into a file, killed on drop.
struct Served {
    addr: SocketAddr,
    metrics: SocketAddr,
    dashboard: Option<SocketAddr>,
    _data: PathBuf,
    log: PathBuf,
    child: Child,
}

impl Served {
    async fn start(data: &Path, level: &str, extra: &[&str]) -> Self {
        std::fs::create_dir_all(data).unwrap();
        let n = std::fs::read_dir(data).map(|d| d.count()).unwrap_or(0);
        let log = data.join(format!("leye-{n}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(LEYE);
        for (k, _) in std::env::vars() {
            if k.starts_with("LEYE_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(["--policy-finder", "false"])
            .args(extra)
            .env("LEYE_LOG", level)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("start leye serve");
        let metrics = addr_in_log(&log, "metrics listening", &mut child).await;
        let addr = addr_in_log(&log, "gRPC listening", &mut child).await;
        let dashboard = if extra.contains(&"--dashboard-listen") {
            Some(addr_in_log(&log, "dashboard listening", &mut child).await)
        } else {
            None
        };
        let me = Self { addr, metrics, dashboard, _data: data.to_path_buf(), log, child };
        me.client(&support::token(data)).await;
        me
    }

    async fn client(&self, token: &str) -> Client {
        let addr = self.addr;
        let token = token.to_string();
        let channel = eventually("leye serve answers", Duration::from_secs(30), || {
            let token = token.clone();
            async move { authed(addr, &token).await }
        })
        .await;
        PersonCaseServiceClient::new(channel)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The address logged on the line saying `what`, in text (`addr=…`) or JSON
/// (`"addr":"…"`) format.
async fn addr_in_log(log: &Path, what: &str, child: &mut Child) -> SocketAddr {
    for _ in 0..600 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let found = text.lines().filter(|l| l.contains(what)).find_map(|l| {
            let (_, rest) = l.split_once("addr=").or_else(|| l.split_once("\"addr\":\""))?;
            rest.split(|c: char| c == '"' || c.is_whitespace()).next()?.parse().ok()
        });
        if let Some(addr) = found {
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("leye serve exited ({status}); its log:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no {what} within 60 s in {}", log.display());
}

/// A token of the development issuer for `subject` with `roles` in the city.
fn token_as(data: &Path, subject: &str, roles: &[leye_auth::Role]) -> String {
    let (key, _) = leye::trust::dev_issuer(data).expect("development issuer");
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new(subject, roles, &["120000"])
    };
    leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp()).expect("token")
}

fn supervisor_token(data: &Path) -> String {
    token_as(data, "chief-0007", &[leye_auth::Role::Supervisor])
}

fn analyst_token(data: &Path) -> String {
    token_as(data, "analyst-7", &[leye_auth::Role::Analyst])
}

fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn days_ago(n: i64) -> String {
    (today() - chrono::Duration::days(n)).to_string()
}

fn ctx() -> Option<CommandContext> {
    Some(CommandContext { command_id: Uuid::new_v4().to_string(), office: "120111001".into(), ..Default::default() })
}

fn registration(resident_id: &str, name: &str) -> pb::RegisterUnemploymentRequest {
    pb::RegisterUnemploymentRequest {
        context: ctx(),
        effective_date: days_ago(30),
        registration: Some(pb::Registration {
            resident_id: resident_id.into(),
            name: name.into(),
            hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
            residence: Some(pb::Residence {
                district_code: "120111".into(),
                street_code: "120111001".into(),
                community_code: "120111001002".into(),
            }),
            education: pb::Education::Bachelor as i32,
            graduation: None,
            household: None,
            groups: vec![],
            personal_data: 0,
        }),
    }
}

async fn register(c: &mut Client, resident_id: &str) -> String {
    c.register_unemployment(registration(resident_id, NAME))
        .await
        .expect("registered")
        .into_inner()
        .result
        .expect("a result")
        .case_id
}

fn contact(case_id: &str, note: &str) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(1),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: note.into(),
        }),
    }
}

fn erase(case_id: &str) -> pb::ErasePersonalDataRequest {
    pb::ErasePersonalDataRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(0),
        erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
    }
}

/// Every file under `dir` (recursively) holding `secret`, by path.
fn files_holding(dir: &Path, secret: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Everything a refusal carries: its message and its details, as bytes.
fn status_bytes(s: &tonic::Status) -> Vec<u8> {
    let mut b = s.message().as_bytes().to_vec();
    b.extend_from_slice(s.details());
    b
}

/// The resident ID written in full-width digits (as a Chinese input method
/// in full-width mode types it).
fn full_width(id: &str) -> String {
    id.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0xFF10 + (c as u32 - '0' as u32)).unwrap(),
            'X' => 'Ｘ',
            other => other,
        })
        .collect()
}

// === 1. the command fingerprint: a verifier of resident ID and name ===

/// README, "Personal data": the resident ID and name are sealed; "Keep the
/// master key apart from the data and its backups: whoever holds both reads
/// everything; without it nothing personal can be read." and, on erasure,
/// "The resident ID and name read as erased everywhere".
///
/// Every event's metadata keeps `command_fingerprint`, an unkeyed SHA-256 of
/// the case id and the command as decided (`cases.rs::fingerprint`), stored
/// in clear in `events.sqlite`, beside the clear birth date, sex and hukou
/// district. For a registration the command holds the resident ID and the
/// name in clear. The resident ID has only ~500 candidates once the birth
/// date, sex and address code are known (the sequence number), so a reader of
/// the store file alone (no master key, no pseudonym key) confirms or finds
/// the resident ID and name with a name list — also after the erasure
/// destroyed the person's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registration_fingerprint_reveals_no_resident_id_or_name_after_erasure() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(4_321);
    let case_id = register(&mut c, &id).await;
    let mut supervisor = served.client(&supervisor_token(&data)).await;
    supervisor.erase_personal_data(erase(&case_id)).await.expect("erased");
    served.stop().await;

    // What a reader of events.sqlite alone has: no master key, no pseudonym key.
    let store = SqliteStore::open(data.join(STORE_FILE), Default::default()).await.unwrap();
    let events = store.read_all(None, 1000).await.unwrap();
    store.close().await;
    let e = events.into_iter().find(|e| e.event_type == "person.registered").expect("the registration");
    let case = Uuid::parse_str(&case_id).unwrap();
    let recorded = decode_with::<Person>(e, None).expect("decodes without keys");
    let PersonFact::Registered(withheld) = recorded.event.fact.clone() else { panic!("a registration") };
    assert!(withheld.resident_id.known().is_none() && withheld.name.is_none(), "sealed in the file");
    let birth = withheld.resident_id.birth_date();
    let address = withheld.hukou.county.as_str().to_string();
    let fingerprint = recorded.metadata.command_fingerprint.clone();

    // The attack: every sequence number, a list of common names.
    let names: Vec<String> = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "钱", "孙"]
        .iter()
        .flat_map(|s| ["伟", "芳", "娜", "敏", "静", "示例", "磊", "洋"].iter().map(move |g| format!("{s}{g}")))
        .collect();
    let mut found = None;
    'search: for seq in 0..1000u32 {
        let first17 = format!("{address}{}{seq:03}", birth.format("%Y%m%d"));
        let Some(check) = ResidentId::check_character(&first17) else { continue };
        let Ok(candidate) = ResidentId::parse(&format!("{first17}{check}"), today()) else { continue };
        if candidate.gender() != withheld.resident_id.gender() {
            continue;
        }
        for name in &names {
            let mut reg = withheld.clone();
            reg.resident_id = RegisteredId::Known(candidate.clone());
            reg.name = Some(PersonName::parse(name).unwrap());
            let command = DatedCommand {
                effective_date: recorded.metadata.effective_date,
                command: PersonCommand::RegisterUnemployment(reg),
            };
            let mut h = Sha256::new();
            h.update(case.as_bytes());
            h.update(serde_json::to_vec(&command).unwrap());
            let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            if hex == fingerprint {
                found = Some((candidate.as_str().to_string(), name.clone()));
                break 'search;
            }
        }
    }
    assert_eq!(
        found, None,
        "the erased person's resident ID and name were recovered from events.sqlite alone \
         (command_fingerprint = unkeyed SHA-256 over them)"
    );
}

// === 2. free text: a resident ID the rule does not recognise ===

/// README, "Personal data": "text shaped like a resident ID is refused
/// (`INVALID_ARGUMENT` naming the field) in every command"; "Conventions": free
/// text "may not hold … an 18-character resident ID". A Chinese input method
/// in full-width mode types the digits as U+FF10–U+FF19, and a resident ID
/// is often grouped with the ideographic space U+3000; a zero-width space
/// (U+200B, not a control character) inside it is invisible: all are the
/// same resident ID, and all are accepted into a note that goes to NATS, `GetCase`
/// and replays in clear (free text is neither sealed nor withheld); in
/// `context.office` it reaches the read model analysts open (`spell.office`).
/// `values/text.rs::shaped_like_resident_id` only looks at ASCII digits and
/// joins only ASCII space and hyphen groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_id_in_full_width_digits_or_ideographic_space_groups_is_refused_in_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(77);
    let case_id = register(&mut c, &id).await;

    // The rule holds for the ASCII forms.
    for note in [format!("身份证{id}"), format!("身份证 {} {} {}", &id[..6], &id[6..14], &id[14..])] {
        let s = c.record_contact(contact(&case_id, &note)).await.expect_err("refused");
        assert_eq!(s.code(), tonic::Code::InvalidArgument, "{s:?}");
        assert!(s.message().contains("contact.note") && !holds(&status_bytes(&s), &id[..17]), "{s:?}");
    }
    let mut accepted = Vec::new();
    for note in [
        format!("身份证{}", full_width(&id)),
        format!("身份证 {}\u{3000}{}\u{3000}{}", &id[..6], &id[6..14], &id[14..]),
        // Invisible: reads exactly as the resident ID on a screen.
        format!("身份证{}\u{200B}{}", &id[..9], &id[9..]),
    ] {
        match c.record_contact(contact(&case_id, &note)).await {
            Err(s) if s.code() == tonic::Code::InvalidArgument && s.message().contains("contact.note") => {}
            other => accepted.push(format!("{note:?}: {:?}", other.map(|_| "accepted and recorded"))),
        }
    }
    // The office (free text when the token names none) goes into the read
    // model analysts open (`spell.office`).
    let other = resident_id(78);
    let office = format!("窗口{}", full_width(&other));
    let mut r = registration(&other, NAME);
    r.context.as_mut().unwrap().office = office.clone();
    if c.register_unemployment(r).await.is_ok() {
        let readmodel = data.join("readmodel");
        let mut reached = Vec::new();
        for _ in 0..100 {
            reached = files_holding(&readmodel, &office);
            if !reached.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        accepted.push(format!("context.office {office:?}: accepted; in the analysts' read model: {reached:?}"));
    }
    served.stop().await;
    assert!(accepted.is_empty(), "a resident ID written in another form went into free text:\n{}", accepted.join("\n"));
}

// === 3. the audit trail and the log keep the caller's path ===

/// A unary gRPC call by hand (h2) to any `path`; answers the `grpc-status`.
async fn call_path(addr: SocketAddr, path: &str, token: Option<&str>) -> String {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (send, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(conn);
    let mut send = send.ready().await.unwrap();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let (response, mut body) = send.send_request(request.body(()).unwrap(), false).unwrap();
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(0);
    // The server may answer a path it refuses before the body arrives, and
    // close the stream: then this send fails (`InactiveStreamId`) and the
    // answer below is still what the test reads.
    let _ = body.send_data(Bytes::from(frame), true);
    let response = response.await.expect("a response");
    let (parts, mut body) = response.into_parts();
    if let Some(s) = parts.headers.get("grpc-status") {
        return s.to_str().unwrap_or("?").to_string();
    }
    while let Some(chunk) = body.data().await {
        let _ = chunk;
    }
    let trailers = body.trailers().await.ok().flatten().unwrap_or_default();
    trailers.get("grpc-status").and_then(|v| v.to_str().ok()).unwrap_or("?").to_string()
}

/// README, "The audit trail": "time, principal, how authenticated, peer,
/// operation, case ids, status and denial reason; never a resident ID or a
/// name"; COMPLIANCE §8.1.4.8: "personal data never in logs … or the audit
/// trail". The guard records `operation` as the request's raw path
/// (`grpc/guard.rs`: `path.trim_start_matches('/')`, also for paths no rule
/// knows and for unauthenticated callers) and logs it at `info` in "request
/// refused". Metrics and spans reduce an unknown path to `other` ("so callers
/// cannot mint label values"); the trail and the log do not. Anyone who can
/// reach the port, without a credential, writes a resident ID (or any text)
/// into the tamper-evident trail and the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_never_puts_a_resident_id_into_the_audit_trail_or_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let id = resident_id(901);
    let anonymous = call_path(served.addr, &format!("/leye.person.v1.PersonCaseService/{id}"), None).await;
    assert_eq!(anonymous, (tonic::Code::Unauthenticated as i32).to_string());
    let signed = call_path(served.addr, &format!("/x/{id}"), Some(&support::token(&data))).await;
    assert_eq!(signed, (tonic::Code::PermissionDenied as i32).to_string(), "NO_RULE");
    // The metrics label is reduced to `other`.
    let metrics = http_get(served.metrics, "/metrics", None).await;
    assert!(!metrics.contains(&id), "metrics hold it");
    let log = served.log_text();
    served.stop().await;
    let mut leaks = files_holding(&data, &id);
    leaks.retain(|f| !f.ends_with(".log"));
    if log.contains(&id) {
        leaks.push(format!("the log: {}", log.lines().find(|l| l.contains(&id)).unwrap_or_default()));
    }
    assert!(leaks.is_empty(), "a resident ID sent as a path is kept in:\n{}", leaks.join("\n"));
}

// === 4. error texts and details ===

/// README, "Errors": "Error texts never repeat a resident ID or a name"; the
/// guide: "Bad input gets a clear error naming the field and the rule".
/// `rule_id` accepts digits (`[a-z0-9.-]`), so a resident ID passes its form
/// check; the refusal `UNKNOWN_RULE` then repeats it in `ErrorInfo.metadata`
/// (`grpc/status.rs::rule_not_applicable`, `meta.insert("rule_id", …)`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_rule_id_is_not_repeated_in_the_refusal() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let case_id = register(&mut c, &resident_id(55)).await;
    let id = resident_id(56);
    let proposal = pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(1),
        proposal_id: "P-1".into(),
        rule_id: id.clone(),
        payee: Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) }),
        inputs: None,
    };
    let s = c.propose_subsidy(proposal).await.expect_err("no such rule");
    served.stop().await;
    assert_eq!(s.code(), tonic::Code::InvalidArgument, "{s:?}");
    let fields: Vec<String> = s
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["rule_id"], "names the field");
    assert!(!s.message().contains(&id), "the message: {}", s.message());
    assert!(
        !holds(&status_bytes(&s), &id),
        "the refusal's details repeat the value sent: {:?}",
        s.get_error_details().error_info()
    );
}

/// The refusals a caseworker meets with personal data in the request: none
/// repeats it, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_with_personal_data_in_the_request_name_the_field_without_repeating_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(12);
    let case_id = register(&mut c, &id).await;
    let other = resident_id(13);
    let mut failures = Vec::new();
    let mut check = |what: &str, r: Result<(), tonic::Status>, field: &str| match r {
        Err(s) if s.code() == tonic::Code::InvalidArgument => {
            let b = status_bytes(&s);
            if !s.message().contains(field) {
                failures.push(format!("{what}: does not name {field}: {}", s.message()));
            }
            for secret in [&id[..17], &other[..17], NAME] {
                if holds(&b, secret) {
                    failures.push(format!("{what}: repeats {secret}: {}", s.message()));
                }
            }
        }
        other => failures.push(format!("{what}: {:?}", other.map_err(|s| (s.code(), s.message().to_string())))),
    };
    // A wrong check character; a resident ID in a code; in the office; a
    // name in a field of codes; NUL and control characters; a huge note.
    let wrong = format!("{}{}", &other[..17], if other.ends_with('0') { '1' } else { '0' });
    let r = c.register_unemployment(registration(&wrong, NAME)).await.map(|_| ());
    check("bad check character", r, "registration.resident_id");
    let r = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: wrong.clone() }).await;
    check("find with a bad check character", r.map(|_| ()), "resident_id");
    let mut r = registration(&other, NAME);
    r.registration.as_mut().unwrap().residence.as_mut().unwrap().community_code = other.clone();
    check("an ID as the community", c.register_unemployment(r).await.map(|_| ()), "community_code");
    let mut r = contact(&case_id, "ok");
    r.case_id = other.clone();
    check("an ID as the case id", c.record_contact(r).await.map(|_| ()), "case_id");
    let mut r = contact(&case_id, "ok");
    r.context.as_mut().unwrap().office = format!("窗口{other}");
    check("an ID in the office", c.record_contact(r).await.map(|_| ()), "context.office");
    let r = c
        .recommend_job(pb::RecommendJobRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            recommendation: Some(pb::JobRecommendation {
                vacancy_id: other.clone(),
                enterprise_credit_code: String::new(),
                two_way: false,
            }),
        })
        .await;
    check("an ID as the vacancy id", r.map(|_| ()), "recommendation.vacancy_id");
    let r = c
        .enrol_training(pb::EnrolTrainingRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            training: Some(pb::TrainingEnrolment {
                training_id: NAME.into(),
                programme: pb::TrainingProgramme::VocationalSkills as i32,
                provider: format!("{NAME} {other}"),
            }),
        })
        .await;
    check("a name as the training id, an ID in the provider", r.map(|_| ()), "training");
    let r = c.record_contact(contact(&case_id, &format!("{NAME}\0{NAME}"))).await;
    check("NUL in a note", r.map(|_| ()), "contact.note");
    let r = c.record_contact(contact(&case_id, &format!("{NAME}{}", "长".repeat(5000)))).await;
    check("a long note", r.map(|_| ()), "contact.note");
    let r = c.register_unemployment(registration(&other, &format!("{NAME}\u{202E}"))).await;
    check("bidi control in a name", r.map(|_| ()), "registration.name");
    let r = c.register_unemployment(registration(&other, &"钱".repeat(51))).await;
    check("a name over 50 characters", r.map(|_| ()), "registration.name");
    let r = c.register_unemployment(registration(&other, "")).await;
    check("an empty name", r.map(|_| ()), "registration.name");
    let view = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap().into_inner();
    served.stop().await;
    assert_eq!(view.case.unwrap().revision, 0, "nothing was written on the case");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// === 5. logs at every level, /metrics, NATS, the dashboard ===

/// A GET over plain HTTP/1.0; the whole answer (status line, headers, body).
async fn http_get(addr: SocketAddr, path: &str, token: Option<&str>) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: leye\r\n{auth}\r\n").as_bytes()).await.unwrap();
    let mut body = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut body)).await.expect("answered").unwrap();
    String::from_utf8_lossy(&body).to_string()
}

/// The guide's rule at every log level (`LEYE_LOG=trace`, text and JSON):
/// a person's life, a look-up by resident ID, refusals carrying the resident
/// ID, an erasure; then the log, `/metrics`, every NATS message (with
/// `nats_personal_data` off) and the dashboard's JSON hold neither the
/// resident ID nor the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_resident_id_or_name_in_trace_logs_metrics_nats_or_the_dashboard() {
    let tmp = tempfile::tempdir().unwrap();
    let mut leaks = Vec::new();
    for (n, format) in ["text", "json"].iter().enumerate() {
        let nats = NatsServer::start(&tmp.path().join(format!("nats-{format}"))).await;
        let data = tmp.path().join(format!("data-{format}"));
        let url = nats.url();
        let served = Served::start(
            &data,
            "trace",
            &[
                "--log-format",
                format,
                "--nats-url",
                &url,
                "--nats-max-bytes",
                "104857600",
                "--dashboard-listen",
                "127.0.0.1:0",
            ],
        )
        .await;
        let token = support::token(&data);
        let mut c = served.client(&token).await;
        let id = resident_id(300 + n as u32);
        let case_id = register(&mut c, &id).await;
        c.record_contact(contact(&case_id, "来电，仍在求职")).await.unwrap();
        let found = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await;
        assert_eq!(found.unwrap().into_inner().case_id, case_id);
        let _ = c.record_contact(contact(&case_id, &format!("本人{id}"))).await.expect_err("refused");
        let again = c.register_unemployment(registration(&id, NAME)).await.expect_err("already registered");
        assert_eq!(again.code(), tonic::Code::FailedPrecondition, "{again:?}");
        let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap();
        assert!(format!("{:?}", replay.get_ref()).contains("ReplayCaseResponse"));
        let mut analyst = served.client(&analyst_token(&data)).await;
        let denied = analyst.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await;
        assert_eq!(denied.expect_err("analysts read no case").code(), tonic::Code::PermissionDenied);
        let mut supervisor = served.client(&supervisor_token(&data)).await;
        supervisor.erase_personal_data(erase(&case_id)).await.expect("erased");
        let gone = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await;
        assert_eq!(gone.expect_err("erased").code(), tonic::Code::NotFound);

        // The dashboard's JSON, as an analyst.
        let dash = served.dashboard.unwrap();
        let analyst_t = analyst_token(&data);
        let mut pages = String::new();
        for path in [
            format!("/api/v1/targets?jurisdiction=120111&period_from={}&period_to={}", days_ago(60), days_ago(0)),
            "/api/v1/actions?list=exit_review&jurisdiction=120111".to_string(),
            "/api/v1/actions?list=overdue_follow_up&jurisdiction=120111".to_string(),
            "/api/v1/communities?jurisdiction=120111".to_string(),
            format!("/api/v1/households/{id}"),
            format!("/api/v1/targets?jurisdiction={id}&period_from={}&period_to={}", days_ago(60), days_ago(0)),
        ] {
            pages.push_str(&http_get(dash, &path, Some(&analyst_t)).await);
        }
        let metrics = http_get(served.metrics, "/metrics", None).await;

        // Every message on NATS, raw.
        let js = support::jetstream(std::slice::from_ref(&url)).await;
        let mut stream = None;
        for _ in 0..300 {
            if let Ok(mut s) = js.get_stream(support::STREAM).await
                && s.info().await.is_ok_and(|i| i.state.messages >= 3)
            {
                stream = Some(s);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let Some(stream) = stream else {
            let log = served.log_text();
            let publisher: Vec<&str> =
                log.lines().filter(|l| l.contains("publisher") && !l.contains("TRACE")).take(20).collect();
            panic!("no stream with the events on NATS; publisher log:\n{}", publisher.join("\n"));
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        let last = stream.get_info().await.unwrap().state.last_sequence;
        let mut nats_bytes = Vec::new();
        for seq in 1..=last {
            let m = stream.get_raw_message(seq).await.unwrap();
            nats_bytes.extend_from_slice(m.subject.as_bytes());
            for (k, v) in m.headers.iter() {
                nats_bytes.extend_from_slice(k.to_string().as_bytes());
                for v in v {
                    nats_bytes.extend_from_slice(v.as_str().as_bytes());
                }
            }
            nats_bytes.extend_from_slice(&m.payload);
        }
        let log = served.log_text();
        served.stop().await;
        assert!(log.lines().count() > 50, "a trace log: {} lines", log.lines().count());
        for secret in [&id[..], &id[..17], NAME] {
            for (what, text) in
                [("log", log.as_bytes()), ("metrics", metrics.as_bytes()), ("dashboard", pages.as_bytes())]
            {
                if holds(text, secret) {
                    let line = String::from_utf8_lossy(text)
                        .lines()
                        .find(|l| l.contains(secret))
                        .map(|l| l.chars().take(300).collect::<String>())
                        .unwrap_or_default();
                    leaks.push(format!("{format}: {what} holds {secret}: {line}"));
                }
            }
            if holds(&nats_bytes, secret) {
                leaks.push(format!("{format}: NATS holds {secret}"));
            }
        }
        assert!(pages.matches(" 200 OK").count() >= 3, "{pages}");
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

// === 6. erasure, then every way back in time ===

/// README, "Personal data": after `ErasePersonalData` "the resident ID and name
/// read as erased everywhere; `FindCaseByResidentId` answers `NOT_FOUND`".
/// Asked as of a revision, an instant or an effective date before the
/// erasure, over gRPC and with `leye replay --recorded-until`, they stay
/// erased; a retry of the original registration does not bring them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_stays_erased_as_of_any_earlier_time_and_in_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "debug", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(4_000);
    let first = registration(&id, NAME);
    let case_id = c.register_unemployment(first.clone()).await.unwrap().into_inner().result.expect("a result").case_id;
    c.record_contact(contact(&case_id, "ok")).await.unwrap();
    let before = chrono::Utc::now();
    let view = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap().into_inner();
    assert_eq!(view.case.unwrap().registration.unwrap().resident_id, id, "readable before");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut supervisor = served.client(&supervisor_token(&data)).await;
    supervisor.erase_personal_data(erase(&case_id)).await.expect("erased");

    use pb::get_case_request::AsOf;
    let as_ofs = [
        None,
        Some(AsOf::Revision(0)),
        Some(AsOf::Revision(1)),
        Some(AsOf::RecordedAt(prost_types::Timestamp { seconds: before.timestamp(), nanos: 0 })),
        Some(AsOf::EffectiveDate(days_ago(10))),
    ];
    let mut shown = String::new();
    for as_of in as_ofs {
        let v = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: as_of.clone() }).await;
        shown.push_str(&format!("{as_of:?}: {:?}\n", v.map(|v| v.into_inner())));
    }
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap();
    shown.push_str(&format!("{:?}", replay.into_inner()));
    let gone = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await;
    assert_eq!(gone.expect_err("erased").code(), tonic::Code::NotFound);
    // The original registration sent again: a duplicate, nothing read back.
    let retry = c.register_unemployment(first).await.unwrap().into_inner();
    assert!(retry.result.as_ref().unwrap().duplicate, "{retry:?}");
    shown.push_str(&format!("{retry:?}"));
    let log = served.log_text();

    let until = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut cli = std::process::Command::new(LEYE);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            cli.env_remove(k);
        }
    }
    for args in [vec!["--format", "json", "--recorded-until", until.as_str()], vec!["--recorded-until", &until], vec![]]
    {
        let out = cli.args(["replay", &case_id]).args(&args).arg("--data-dir").arg(&data).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        shown.push_str(&String::from_utf8_lossy(&out.stdout));
        cli = std::process::Command::new(LEYE);
    }
    served.stop().await;
    assert!(shown.contains("rased"), "shown as erased: {shown}");
    for secret in [&id[..17], NAME] {
        assert!(!shown.contains(secret), "{secret} read back after the erasure:\n{shown}");
        assert!(!log.contains(secret), "{secret} in the debug log");
    }
}

/// README, "What each role may do": an analyst reads no case, no replay, no
/// look-up by resident ID and no audit record; an auditor replays but
/// neither writes nor erases; a caseworker does not erase (deny by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_read_no_more_than_the_table_allows() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(8_080);
    let case_id = register(&mut c, &id).await;
    let mut analyst = served.client(&analyst_token(&data)).await;
    let mut codes = Vec::new();
    codes.push((
        "analyst GetCase",
        analyst.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.map(|_| ()),
    ));
    codes.push((
        "analyst ReplayCase",
        analyst.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.map(|_| ()),
    ));
    codes.push((
        "analyst FindCaseByResidentId",
        analyst.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await.map(|_| ()),
    ));
    let auditor = token_as(&data, "audit-1", &[leye_auth::Role::Auditor]);
    let mut auditor = served.client(&auditor).await;
    codes.push(("auditor RecordContact", auditor.record_contact(contact(&case_id, "x")).await.map(|_| ())));
    codes.push(("auditor ErasePersonalData", auditor.erase_personal_data(erase(&case_id)).await.map(|_| ())));
    codes.push(("caseworker ErasePersonalData", c.erase_personal_data(erase(&case_id)).await.map(|_| ())));
    let channel = authed(served.addr, &analyst_token(&data)).await.unwrap();
    let mut audit = leye_proto::audit::v1::audit_service_client::AuditServiceClient::new(channel);
    codes.push((
        "analyst ListAuditRecords",
        audit.list_audit_records(leye_proto::audit::v1::ListAuditRecordsRequest::default()).await.map(|_| ()),
    ));
    served.stop().await;
    let allowed: Vec<String> = codes
        .into_iter()
        .filter(|(_, r)| !matches!(r, Err(s) if s.code() == tonic::Code::PermissionDenied))
        .map(|(what, r)| format!("{what}: {:?}", r.map_err(|s| s.code())))
        .collect();
    assert!(allowed.is_empty(), "allowed beyond the table:\n{}", allowed.join("\n"));
}

// === 7. Debug of the contract's messages ===

/// ARCHITECTURE.md, `leye-proto`: "redacting `Debug` for messages with
/// personal data"; `proto/src/lib.rs`: "Messages holding personal data
/// (resident ID, name) have a redacting `Debug`, so logging a request with
/// `{:?}` never prints them." Only `Registration` has one
/// (`proto/build.rs`: `skip_debug(["leye.person.v1.Registration"])`):
/// `FindCaseByResidentIdRequest` holds nothing but a resident ID and prints
/// it. Latent: no code path of the server logs it today.
#[test]
fn a_look_up_request_never_prints_its_resident_id_in_debug() {
    let id = resident_id(5);
    let registration = registration(&id, NAME);
    let shown = format!("{registration:?}");
    assert!(!shown.contains(&id) && !shown.contains(NAME), "the registration is redacted: {shown}");
    let find = pb::FindCaseByResidentIdRequest { resident_id: id.clone() };
    let shown = format!("{find:?}");
    assert!(!shown.contains(&id), "Debug of FindCaseByResidentIdRequest: {shown}");
}

/// The same through the public gRPC API, by a caseworker: README, "Personal
/// data": after an erasure "the resident ID and name read as erased
/// everywhere". The registration's command id is known (the client that sent
/// it, `Leye-Command-Id` on NATS, `ReplayCase`); every other field of the
/// registration reads in clear in `GetCase`. Sending the registration again
/// with that command id and a guessed name answers `duplicate: true` when the
/// name is right and `ALREADY_EXISTS` (`COMMAND_ID_REUSED`) when it is wrong,
/// writing nothing either way: an oracle that confirms an erased person's
/// name, one guess a call (`cases/memory.rs`, `Commands::earlier_outcome`, compares the
/// fingerprint of the retried command with the stored one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_registration_never_confirms_an_erased_persons_name() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(6_006);
    let original = registration(&id, NAME);
    let case_id = c.register_unemployment(original.clone()).await.unwrap().into_inner().result.unwrap().case_id;
    let mut supervisor = served.client(&supervisor_token(&data)).await;
    supervisor.erase_personal_data(erase(&case_id)).await.expect("erased");

    let guess = |name: &str| {
        let mut r = original.clone();
        r.registration.as_mut().unwrap().name = name.into();
        r
    };
    let mut answers = Vec::new();
    for name in ["王伟", "李娜", NAME] {
        let answer = match c.register_unemployment(guess(name)).await {
            Ok(r) => format!("OK duplicate={}", r.into_inner().result.unwrap().duplicate),
            Err(s) => format!("{:?}", s.code()),
        };
        answers.push((name, answer));
    }
    served.stop().await;
    let distinct: std::collections::BTreeSet<&String> = answers.iter().map(|(_, a)| a).collect();
    assert_eq!(distinct.len(), 1, "the answers tell the erased person's name apart: {answers:?}");
}

// === 8. no panic on any input: extreme numbers in every rule's dry run ===

/// Every rule id of the built-in catalogue (`policies/*.toml`).
fn catalogue_rule_ids() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut ids = Vec::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap_or_default();
        for line in text.lines() {
            if let Some(v) = line.trim().strip_prefix("id = \"") {
                ids.push(v.trim_end_matches('"').to_string());
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// The guide: "No panic on any input from outside". `EvaluateSubsidy` (a dry
/// run, nothing written) with the largest numbers the contract allows, for
/// every rule of the catalogue: each answer is a decision or a refusal
/// naming the rule, never `INTERNAL`/`UNKNOWN` or a dropped call, and the
/// server keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_numbers_in_every_rules_dry_run_get_an_answer_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut served = Served::start(&data, "info", &[]).await;
    let mut c = served.client(&support::token(&data)).await;
    let case_id = register(&mut c, &resident_id(31)).await;
    let rules = catalogue_rule_ids();
    assert!(rules.len() > 40, "{rules:?}");
    let (mut bad, mut answers) = (Vec::new(), std::collections::BTreeMap::<String, u32>::new());
    for rule in &rules {
        for (amount, months, units) in [(i64::MAX, u32::MAX, u32::MAX), (1, 1, 1)] {
            let inputs = pb::ProposalInputs {
                amount_fen: amount,
                period_from: "1900-01-01".into(),
                period_to: days_ago(1),
                units,
                base_fen: amount,
                loan: Some(pb::LoanInput { principal_fen: amount, months, contract_date: "1900-01-01".into() }),
                post_type: "worker".into(),
                person_insured_months: Some(months),
                business: Some(pb::BusinessInput {
                    registered_on: "1900-01-01".into(),
                    employees: months,
                    district: "120111".into(),
                }),
                attestations: vec![],
                enterprise_insured_months: None,
                new_hires: None,
                new_hires_local_hukou: None,
            };
            let r = c
                .evaluate_subsidy(pb::EvaluateSubsidyRequest {
                    case_id: case_id.clone(),
                    effective_date: days_ago(1),
                    proposal_id: "P-X".into(),
                    rule_id: rule.clone(),
                    payee: Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) }),
                    inputs: Some(inputs),
                })
                .await;
            *answers.entry(format!("{:?}", r.as_ref().map(|_| ()).map_err(|s| s.code()))).or_default() += 1;
            if let Err(s) = r {
                use tonic::Code::*;
                if matches!(s.code(), Internal | Unknown | Unavailable | Cancelled) {
                    bad.push(format!("{rule} amount {amount}: {:?} {}", s.code(), s.message()));
                    c = served.client(&support::token(&data)).await;
                }
            }
        }
    }
    let alive = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await;
    let panics: Vec<String> = served.log_text().lines().filter(|l| l.contains("panicked")).map(String::from).collect();
    let _ = served.child.kill().await;
    assert!(alive.is_ok(), "the server answers afterwards: {alive:?}");
    assert!(answers.get("Ok(())").is_some_and(|&n| n > 10), "evaluated, not refused at the door: {answers:?}");
    assert!(bad.is_empty() && panics.is_empty(), "{}\n{}", bad.join("\n"), panics.join("\n"));
}

// === 9. OTLP spans ===

/// An OTLP/gRPC receiver keeping every export request.
struct Collector(tokio::sync::mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// docs/OPERATIONS.md: "Spans carry no personal data, principal or case id".
/// A look-up by resident ID, a note refused for holding one, a call to a
/// path made of a resident ID: the exported spans hold none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_spans_hold_no_resident_id_name_principal_or_case_id() {
    let port = support::free_port();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Collector(tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let endpoint = format!("http://127.0.0.1:{port}");
    let served = Served::start(&data, "info", &["--otlp-endpoint", &endpoint]).await;
    let mut c = served.client(&support::token(&data)).await;
    let id = resident_id(2_024);
    let case_id = register(&mut c, &id).await;
    let found = c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id.clone() }).await;
    assert_eq!(found.unwrap().into_inner().case_id, case_id);
    let _ = c.record_contact(contact(&case_id, &format!("本人{id}"))).await.expect_err("refused");
    call_path(served.addr, &format!("/leye.person.v1.PersonCaseService/{id}"), Some(&support::token(&data))).await;
    let mut spans = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while spans.len() < 4 {
        let Ok(Some(export)) = tokio::time::timeout_at(deadline, rx.recv()).await else { break };
        for r in export.resource_spans {
            for s in r.scope_spans {
                spans.extend(s.spans);
            }
        }
    }
    served.stop().await;
    assert!(spans.len() >= 4, "spans exported: {spans:?}");
    let everything = format!("{spans:?}");
    for secret in [&id[..17], NAME, &case_id, "staff-0042"] {
        assert!(!everything.contains(secret), "{secret} in the exported spans: {everything}");
    }
    assert!(spans.iter().any(|s| s.name == "other"), "an unknown path is `other`");
}

// === 10. NATS payloads, a sole proprietorship, `leye consume` ===

/// A valid unified social credit code (GB 32100-2015) from a 17-character body.
fn credit_code(body: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)
}

/// README, "Consuming events": a `registered` payload carries neither resident
/// ID nor name "unless the deployment sets `nats_personal_data = true`", and
/// (table of settings) neither does a sole proprietorship's name; `leye
/// consume` "prints each event with personal data masked". With the setting
/// off the raw messages hold none of them; with it on they do (the
/// deployment's choice), and `leye consume` still prints none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_withholds_names_unless_asked_and_consume_masks_them() {
    let tmp = tempfile::tempdir().unwrap();
    let owner = "孙个体";
    let shop = format!("{owner}便利店");
    for (n, on) in [false, true].into_iter().enumerate() {
        let nats = NatsServer::start(&tmp.path().join(format!("nats-{n}"))).await;
        let url = nats.url();
        let data = tmp.path().join(format!("data-{n}"));
        let personal = if on { "true" } else { "false" };
        let served = Served::start(
            &data,
            "info",
            &["--nats-url", &url, "--nats-max-bytes", "104857600", "--nats-personal-data", personal],
        )
        .await;
        let token = support::token(&data);
        let mut c = served.client(&token).await;
        let id = resident_id(700 + n as u32);
        let case_id = register(&mut c, &id).await;
        c.record_contact(contact(&case_id, "来电")).await.unwrap();
        let channel = authed(served.addr, &token).await.unwrap();
        let mut e =
            leye_proto::enterprise::v1::enterprise_case_service_client::EnterpriseCaseServiceClient::new(channel);
        let code = credit_code(&format!("92120111MA05JX0K{n}"));
        e.register_enterprise(leye_proto::enterprise::v1::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(3),
            registration: Some(leye_proto::enterprise::v1::EnterpriseRegistration {
                credit_code: code,
                name: shop.clone(),
                district: "120111".into(),
                industry_code: "F52".into(),
                insured_employees: 1,
                small_micro: true,
                kinds: vec![],
                check_character_confirmed: false,
            }),
        })
        .await
        .expect("a sole proprietorship registered");

        let js = support::jetstream(std::slice::from_ref(&url)).await;
        let mut raw = Vec::new();
        for _ in 0..300 {
            if let Ok(mut s) = js.get_stream(support::STREAM).await
                && s.info().await.is_ok_and(|i| i.state.messages >= 3)
            {
                for seq in 1..=3 {
                    raw.extend_from_slice(&s.get_raw_message(seq).await.unwrap().payload);
                }
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!raw.is_empty(), "three messages on NATS");
        for secret in [&id[..], NAME, owner] {
            assert_eq!(holds(&raw, secret), on, "{secret} on NATS with nats_personal_data = {on}");
        }
        let out = std::process::Command::new(LEYE)
            .args(["consume", "--nats-url", &url, "--durable", "review", "--subject", "leye.v1.>", "--max-events", "3"])
            .env_remove("LEYE_LOG")
            .output()
            .unwrap();
        served.stop().await;
        let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && printed.matches("seq=").count() == 3, "{printed}");
        for secret in [&id[..17], NAME, owner] {
            assert!(!printed.contains(secret), "leye consume prints {secret}: {printed}");
        }
    }
}
