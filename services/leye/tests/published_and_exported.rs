//! What leaves the service, case by case, against what the README,
//! ARCHITECTURE and docs/API.md promise: NATS messages (no personal data
//! unless asked for, erasure, republishing), the auditor's replay and as-of
//! states, and the exports a Chinese Excel opens (BOM, CRLF, header, numbers,
//! codes as text, no formulas).
//!
//! Run: `NATS_SERVER=/usr/sbin/nats-server cargo test -p leye --test published_and_exported`

mod support;

use std::{path::Path, time::Duration};

use leye::export::{self, Table};
use leye_proto::person::v1 as pb;
use support::*;

const MINUTE: Duration = Duration::from_secs(60);

// ============================================================================
// Exports
// ============================================================================

#[derive(serde::Serialize)]
struct Row {
    text: String,
    count: i64,
    code: String,
}
const COLUMNS: &[&str] = &["text", "count", "code"];

fn csv_of(t: &Table) -> String {
    let mut out = Vec::new();
    export::write_csv(t, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Splits one CSV line into raw cells (RFC 4180 quoting; enough for these rows).
fn cells(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// CSV injection: a text cell that Excel would read as a formula (leading
/// `=`, `+`, `-`, `@`) must be neutralised in the CSV.
#[test]
fn csv_neutralises_formula_like_text_cells() {
    let formulas = ["=HYPERLINK(\"http://evil.example/\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)", "=1,2"];
    let rows: Vec<Row> = formulas.iter().map(|f| Row { text: (*f).to_string(), count: 1, code: "x".into() }).collect();
    let csv = csv_of(&export::table("t", COLUMNS, &rows).unwrap());
    let body: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(body.len(), formulas.len());
    let mut live = Vec::new();
    for line in body {
        let first = &cells(line)[0];
        if first.starts_with(['=', '+', '-', '@']) {
            live.push(first.clone());
        }
    }
    assert!(live.is_empty(), "cells Excel evaluates as formulas: {live:?}\n{csv:?}");
}

/// Negative and large integers stay integers; codes with leading zeros are
/// text (leading TAB); quotes, commas and newlines are quoted; BOM, CRLF.
#[test]
fn csv_numbers_codes_and_quoting() {
    let rows = [
        Row { text: "a,\"b\"\nc".into(), count: -42, code: "012011100100".into() },
        Row { text: "".into(), count: 9_007_199_254_740_993, code: "000001".into() },
    ];
    let csv = csv_of(&export::table("t", COLUMNS, &rows).unwrap());
    assert_eq!(
        csv,
        "\u{feff}text,count,code\r\n\"a,\"\"b\"\"\nc\",-42,\t012011100100\r\n,9007199254740993,\t000001\r\n"
    );
}

/// xlsx: the header also when empty; codes are text cells, counts number
/// cells, and a formula-like text stays a text cell.
#[test]
fn xlsx_empty_has_header_and_text_stays_text() {
    use calamine::{Data, Reader, Xlsx};
    let open = |bytes: Vec<u8>| -> Vec<Vec<Data>> {
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("t").unwrap();
        range.rows().map(<[Data]>::to_vec).collect()
    };
    let empty = open(export::xlsx(&export::table::<Row>("t", COLUMNS, &[]).unwrap()).unwrap());
    assert_eq!(empty.len(), 1);
    assert_eq!(empty[0], vec![Data::String("text".into()), Data::String("count".into()), Data::String("code".into())]);
    let rows = [Row { text: "=1+1".into(), count: -3, code: "012011100100".into() }];
    let full = open(export::xlsx(&export::table("t", COLUMNS, &rows).unwrap()).unwrap());
    assert_eq!(full[1], vec![Data::String("=1+1".into()), Data::Float(-3.0), Data::String("012011100100".into())]);
}

fn leye_cmd() -> std::process::Command {
    let mut c = std::process::Command::new(LEYE);
    for (k, _) in std::env::vars() {
        if k.starts_with("LEYE_") {
            c.env_remove(k);
        }
    }
    c.env("LEYE_LOG", "warn");
    c
}

const KINDS: [(&str, &str); 9] = [
    ("targets", "id,title,numerator,denominator,value,goal,met,source"),
    ("long-term", "case_id,community,registered_on,ended_on,days,long_term_from,status"),
    ("households", "household_id,identified_on,since,days_outstanding,overdue,communities"),
    ("overdue-follow-up", "case_id,community,registered_on,last_contact_on,missed_month_start"),
    ("matchmaker", "case_id,community,registered_on,same_day_contact,two_way_in_time"),
    ("exit-review", "case_id,community,registered_on,last_contact_on"),
    ("communities", "community,employed,unemployed,rate,full_employment"),
    ("subsidy-totals", "programme,year,district,grants,amount_fen"),
    (
        "eligible",
        "case_id,case_kind,rule_id,rule_valid_from,programme,clause,reasons,amount_fen,found_on,district,community",
    ),
];

/// Every export kind, CSV and xlsx, through `leye projections export` on a
/// community nobody lives in: BOM, the header, CRLF; the xlsx with its header row.
#[test]
fn every_cli_export_kind_when_empty_has_bom_header_and_crlf() {
    use calamine::{Reader, Xlsx};
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let o = leye_cmd().args(["generate", "--people", "20", "--data-dir"]).arg(&d).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut failures = Vec::new();
    for (kind, header) in KINDS {
        for ext in ["csv", "xlsx"] {
            let file = tmp.path().join(format!("{kind}.{ext}"));
            let o = leye_cmd()
                .args(["projections", "export", kind, "--jurisdiction", "120119999999", "--out"])
                .arg(&file)
                .arg("--data-dir")
                .arg(&d)
                .output()
                .unwrap();
            if !o.status.success() {
                failures.push(format!("{kind}.{ext}: {}", String::from_utf8_lossy(&o.stderr)));
                continue;
            }
            if ext == "csv" {
                let bytes = std::fs::read(&file).unwrap();
                let want = format!("\u{feff}{header}\r\n");
                // Targets always has one row per target; the others are empty here.
                let ok = if kind == "targets" { bytes.starts_with(want.as_bytes()) } else { bytes == want.as_bytes() };
                if !ok {
                    failures.push(format!("{kind}.csv: {:?}", String::from_utf8_lossy(&bytes)));
                }
            } else {
                let mut book: Xlsx<_> = calamine::open_workbook(&file).unwrap();
                let range = book.worksheet_range(kind).unwrap();
                let rows: Vec<String> =
                    range.rows().map(|r| r.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")).collect();
                let ok = if kind == "targets" { rows[0] == header } else { rows == vec![header.to_string()] };
                if !ok {
                    failures.push(format!("{kind}.xlsx: {rows:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ============================================================================
// NATS
// ============================================================================

fn supervisor_token(dir: &Path) -> String {
    let (key, _) = leye::trust::dev_issuer(dir).expect("development issuer");
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new("chief-0007", &[leye_auth::Role::Supervisor], &["120000"])
    };
    leye_auth::dev::issue_token(&key, &claims, chrono::Utc::now().timestamp()).expect("token")
}

fn today_bj() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive().to_string()
}

fn erase_request(case_id: &str) -> pb::ErasePersonalDataRequest {
    pb::ErasePersonalDataRequest {
        context: Some(leye_proto::common::v1::CommandContext {
            command_id: uuid::Uuid::new_v4().to_string(),
            office: "120111001".into(),
            ..Default::default()
        }),
        case_id: case_id.into(),
        effective_date: today_bj(),
        erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
    }
}

fn assert_no_personal_data_outside_payload(received: &[Received], person: u32) {
    for r in received {
        let outside: String = r.headers.values().cloned().chain([r.subject.clone()]).collect();
        assert!(!outside.contains(NAME) && !outside.contains(&resident_id(person)), "{}: {outside}", r.subject);
    }
}

/// `nats_personal_data` on; the person is erased before the registration was
/// ever published (NATS not configured yet). What is published afterwards
/// must not carry the resident ID or name, and must say ERASED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_before_publication_with_personal_data_on_publishes_erased_registration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let person = 1;
    let mut leye = Leye::start(&data, None, &["--nats-personal-data", "true"]).await;
    let mut client = leye.client().await;
    let case_id = run_case(&mut client, person).await[0].case_id.clone();
    let mut supervisor = pb::person_case_service_client::PersonCaseServiceClient::new(
        authed(leye.addr, &supervisor_token(&data)).await.unwrap(),
    );
    supervisor.erase_personal_data(erase_request(&case_id)).await.unwrap();
    leye.terminate().await;

    let nats = NatsServer::start(dir.path()).await;
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--nats-personal-data", "true"]).await;
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, 5, MINUTE).await;
    let received = read_all(&js, 5).await;
    assert_no_personal_data_outside_payload(&received, person);
    let types: Vec<&str> = received.iter().map(|r| r.header("Leye-Event-Type")).collect();
    assert_eq!(
        types,
        [
            "person.registered",
            "person.contacted",
            "person.job_recommended",
            "person.placed",
            "person.personal_data_erased"
        ]
    );
    let Some(pb::person_event::Event::Registered(reg)) = &received[0].event.event else { panic!("registration") };
    assert_eq!((reg.resident_id.as_str(), reg.name.as_str()), ("", ""));
    assert_eq!(reg.personal_data, pb::PersonalDataState::Erased as i32);
    leye.terminate().await;
    let log = leye.log_text();
    assert!(!log.contains(NAME) && !log.contains(&resident_id(person)), "personal data in the log");
}

/// `nats_personal_data` on: the registration carries ID and name; the
/// erasure is published; a restart that lost its checkpoint re-publishes
/// nothing new (JetStream de-duplicates by event id) and nothing personal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_on_then_erased_then_restart_without_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let person = 2;
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--nats-personal-data", "true"]).await;
    let mut client = leye.client().await;
    let case_id = run_case(&mut client, person).await[0].case_id.clone();
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, 4, MINUTE).await;
    let mut supervisor = pb::person_case_service_client::PersonCaseServiceClient::new(
        authed(leye.addr, &supervisor_token(&data)).await.unwrap(),
    );
    supervisor.erase_personal_data(erase_request(&case_id)).await.unwrap();
    wait_stream_count(&js, 5, MINUTE).await;
    let received = read_all(&js, 5).await;
    assert_no_personal_data_outside_payload(&received, person);
    let Some(pb::person_event::Event::Registered(reg)) = &received[0].event.event else { panic!("registration") };
    assert_eq!((reg.resident_id.as_str(), reg.name.as_str()), (resident_id(person).as_str(), NAME));
    assert!(matches!(received[4].event.event, Some(pb::person_event::Event::PersonalDataErased(_))));
    leye.terminate().await;

    // Lose the checkpoint: the publisher starts over from the log.
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("publisher-") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--nats-personal-data", "true"]).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(stream_messages(&js).await, Some(5), "a re-publish within the duplicate window is dropped");
    leye.terminate().await;
}

// ============================================================================
// Replay / as-of
// ============================================================================

fn ctx() -> Option<leye_proto::common::v1::CommandContext> {
    Some(leye_proto::common::v1::CommandContext {
        command_id: uuid::Uuid::new_v4().to_string(),
        office: "120111001".into(),
        ..Default::default()
    })
}

fn days_ago(n: i64) -> String {
    ((chrono::Utc::now() + chrono::Duration::hours(8)).date_naive() - chrono::Duration::days(n)).to_string()
}

fn contact(case_id: &str, on: String) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: on,
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: String::new(),
        }),
    }
}

fn get(case_id: &str, as_of: Option<pb::get_case_request::AsOf>) -> pb::GetCaseRequest {
    pb::GetCaseRequest { case_id: case_id.into(), as_of }
}

/// A backdated fact (recorded last, effective earlier), then the three as-of
/// forms, an as-of before the first event, an erased case's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_revision_instant_and_effective_date_with_a_backdated_fact_and_an_erasure() {
    use pb::get_case_request::AsOf;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let mut leye = Leye::start(&data, None, &[]).await;
    let mut c = leye.client().await;
    let mut reg = pb::RegisterUnemploymentRequest {
        context: ctx(),
        effective_date: days_ago(30),
        registration: Some(pb::Registration {
            resident_id: resident_id(7),
            name: NAME.into(),
            hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
            residence: Some(pb::Residence {
                district_code: "120111".into(),
                street_code: "120111001".into(),
                community_code: "120111001002".into(),
            }),
            education: pb::Education::SeniorSecondary as i32,
            ..Default::default()
        }),
    };
    let case_id = c.register_unemployment(reg.clone()).await.unwrap().into_inner().result.unwrap().case_id;
    reg.context = ctx();
    let before_first = chrono::Utc::now() - chrono::Duration::hours(1);
    c.record_contact(contact(&case_id, days_ago(5))).await.unwrap(); // rev 1
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.record_contact(contact(&case_id, days_ago(20))).await.unwrap(); // rev 2, backdated

    let view = |r: tonic::Response<pb::GetCaseResponse>| r.into_inner().case.unwrap();
    // Effective date 10 days ago: only the backdated contact is known as of then.
    let v = view(c.get_case(get(&case_id, Some(AsOf::EffectiveDate(days_ago(10))))).await.unwrap());
    assert_eq!((v.contact_count, v.last_contact_on.as_str()), (1, days_ago(20).as_str()));
    assert_eq!(v.reference_date, days_ago(10));
    // Recorded instant between the two contacts: what the service knew then.
    let ts = prost_types::Timestamp { seconds: between.timestamp(), nanos: 0 };
    let v = view(c.get_case(get(&case_id, Some(AsOf::RecordedAt(ts)))).await.unwrap());
    assert_eq!((v.revision, v.contact_count, v.last_contact_on.as_str()), (1, 1, days_ago(5).as_str()));
    // Revision 2, latest: both contacts, the latest date the later one.
    let v = view(c.get_case(get(&case_id, Some(AsOf::Revision(2)))).await.unwrap());
    assert_eq!((v.revision, v.contact_count, v.last_contact_on.as_str()), (2, 2, days_ago(5).as_str()));
    // Before the first event: no case then (and no personal data in the refusal).
    let ts = prost_types::Timestamp { seconds: before_first.timestamp() - 3600 * 24, nanos: 0 };
    let err = c.get_case(get(&case_id, Some(AsOf::RecordedAt(ts)))).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
    assert!(!err.message().contains(NAME) && !err.message().contains(&resident_id(7)));
    let err = c.get_case(get(&case_id, Some(AsOf::EffectiveDate(days_ago(31))))).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");

    // Replay: every event with its state after it.
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap().into_inner();
    assert_eq!(replay.events.len(), 3);
    let after: Vec<u32> = replay.events.iter().map(|e| e.state_after.as_ref().unwrap().contact_count).collect();
    assert_eq!(after, [0, 1, 2]);

    // Erased: the history is still there, the personal data is not, at any revision.
    let mut supervisor = pb::person_case_service_client::PersonCaseServiceClient::new(
        authed(leye.addr, &supervisor_token(&data)).await.unwrap(),
    );
    supervisor.erase_personal_data(erase_request(&case_id)).await.unwrap();
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap().into_inner();
    assert_eq!(replay.events.len(), 4);
    let text = format!("{replay:?}");
    assert!(!text.contains(NAME) && !text.contains(&resident_id(7)), "erased data in the replay");
    let v = view(c.get_case(get(&case_id, Some(AsOf::Revision(0)))).await.unwrap());
    let r = v.registration.unwrap();
    assert_eq!((r.resident_id.as_str(), r.name.as_str()), ("", ""));
    assert_eq!(r.personal_data, pb::PersonalDataState::Erased as i32);
    leye.terminate().await;
}

// ============================================================================
// Personal data in free text and codes (published on NATS), and in refusals
// ============================================================================

/// A resident ID glued to an ASCII letter, in a contact note or a vacancy id:
/// refused at the edge like the bare ID ("Free text … may not hold … a
/// resident ID (18 characters with a valid check character)"); otherwise it is
/// published on NATS with `nats_personal_data` off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_id_followed_by_a_letter_in_a_note_or_code_is_refused_not_published() {
    let rid = resident_id(3);
    resident_id_variants(3, &[format!("本人 {rid}A"), format!("{rid}号A")], Some(format!("{rid}a"))).await;
}

/// The same ID grouped with spaces or split by a hyphen (how people write
/// it): still the person's resident ID, published on NATS with the flag off.
/// (The unit test `values::free_text_refuses_what_is_shaped_like_a_resident_id`
/// accepts "110105194912310 02X" on purpose: a design gap rather than a slip.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_id_grouped_with_spaces_or_hyphen_in_a_note_is_refused_not_published() {
    let rid = resident_id(4);
    let spaced = format!("{} {} {}", &rid[..6], &rid[6..14], &rid[14..]);
    resident_id_variants(4, &[format!("本人 {spaced} 来电"), format!("证件号{}-{}", &rid[..6], &rid[6..])], None).await;
}

async fn resident_id_variants(person: u32, notes: &[String], vacancy_id: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let mut client = leye.client().await;
    let case_id = run_case(&mut client, person).await[0].case_id.clone();
    let rid = resident_id(person);
    let mut accepted = Vec::new();
    for note in notes {
        let mut req = contact(&case_id, days_ago(1));
        req.contact.as_mut().unwrap().note = note.clone();
        match client.record_contact(req).await {
            Ok(_) => accepted.push(format!("contact.note {note:?}")),
            Err(e) => eprintln!("note refused: {}", e.message()),
        }
    }
    let mut published = 4 + accepted.len();
    if let Some(vacancy_id) = vacancy_id {
        // A second person, registered only (a placed person gets no recommendation).
        let open_case = client
            .register_unemployment(pb::RegisterUnemploymentRequest {
                context: ctx(),
                effective_date: days_ago(3),
                registration: Some(registration_of(person + 100)),
            })
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap()
            .case_id;
        published += 1;
        let job = pb::RecommendJobRequest {
            context: ctx(),
            case_id: open_case,
            effective_date: days_ago(1),
            recommendation: Some(pb::JobRecommendation {
                vacancy_id: vacancy_id.clone(),
                enterprise_credit_code: String::new(),
                two_way: false,
            }),
        };
        match client.recommend_job(job).await {
            Ok(_) => {
                accepted.push(format!("recommendation.vacancy_id {vacancy_id:?}"));
                published += 1;
            }
            Err(e) => eprintln!("vacancy id refused: {}", e.message()),
        }
    }
    // What a subscriber (flag off) then receives.
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, published as u64, MINUTE).await;
    let received = read_all(&js, published).await;
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let leaked: Vec<String> = received
        .iter()
        .filter(|r| digits(&format!("{:?}", r.event)).contains(&rid[..17]))
        .map(|r| format!("{} {:?}", r.subject, r.event))
        .collect();
    leye.terminate().await;
    assert!(
        accepted.is_empty() && leaked.is_empty(),
        "accepted: {accepted:#?}\nresident ID on NATS (nats_personal_data off): {leaked:#?}"
    );
}

/// Refusals name the field and the rule, never the value: a wrong resident ID
/// or name is not echoed in the status message or its details.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_do_not_echo_resident_ids_or_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let mut leye = Leye::start(&data, None, &[]).await;
    let mut c = leye.client().await;
    let good = resident_id(11);
    let wrong_check = format!("{}{}", &good[..17], if good.ends_with('0') { '1' } else { '0' });
    let future = "120111209901010011".to_string();
    let long_name = "测试人".repeat(30);
    let cases =
        [(wrong_check.clone(), NAME.to_string()), (future.clone(), NAME.to_string()), (good, long_name.clone())];
    let mut echoed = Vec::new();
    for (rid, name) in cases {
        let req = pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(1),
            registration: Some(pb::Registration {
                resident_id: rid.clone(),
                name: name.clone(),
                hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
                residence: Some(pb::Residence {
                    district_code: "120111".into(),
                    street_code: "120111001".into(),
                    community_code: "120111001002".into(),
                }),
                education: pb::Education::SeniorSecondary as i32,
                ..Default::default()
            }),
        };
        let err = c.register_unemployment(req).await.expect_err("refused");
        let all = format!("{} {}", err.message(), String::from_utf8_lossy(err.details()));
        if all.contains(&rid[..14]) || all.contains(&name) {
            echoed.push(all);
        }
        let err =
            c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: rid.clone() }).await.unwrap_err();
        let all = format!("{} {}", err.message(), String::from_utf8_lossy(err.details()));
        if all.contains(&rid[..14]) {
            echoed.push(all);
        }
    }
    leye.terminate().await;
    let log = leye.log_text();
    assert!(echoed.is_empty(), "personal data in error texts: {echoed:#?}");
    for secret in [&wrong_check[..14], &future[..14], &long_name[..]] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

/// A 个体工商户 (credit code 92…) is usually named after its owner. The read
/// model drops enterprise names for that reason (projections/README.md,
/// schema.sql "No name: a sole proprietorship's name may be a person's
/// name"); NATS payloads, with `nats_personal_data` off, should not carry it either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sole_proprietorship_name_is_not_on_nats_with_personal_data_off() {
    use leye_proto::enterprise::v1::{self as epb, enterprise_case_service_client::EnterpriseCaseServiceClient};
    use prost::Message;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let mut leye = Leye::start(&data, Some(&nats.url()), &[]).await;
    let mut e = EnterpriseCaseServiceClient::new(authed(leye.addr, &leye.token()).await.unwrap());
    let code = {
        const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
        let body = "92120111MA05JX0K0";
        let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
        format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)
    };
    let owner_named = format!("西青区{NAME}五金店");
    e.register_enterprise(epb::RegisterEnterpriseRequest {
        context: ctx(),
        effective_date: days_ago(10),
        registration: Some(epb::EnterpriseRegistration {
            credit_code: code,
            name: owner_named.clone(),
            district: "120111".into(),
            industry_code: "F5274".into(),
            insured_employees: 2,
            small_micro: true,
            kinds: vec![],
            check_character_confirmed: false,
        }),
    })
    .await
    .expect("registered");
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, 1, MINUTE).await;
    let stream = js.get_stream(STREAM).await.unwrap();
    let m = stream.get_raw_message(1).await.unwrap();
    let ev = epb::EnterpriseEvent::decode(m.payload.as_ref()).unwrap();
    leye.terminate().await;
    let Some(epb::enterprise_event::Event::Registered(r)) = ev.event else { panic!("not a registration: {ev:?}") };
    assert_eq!(r.name, "", "owner-named 个体工商户 published on {} with nats_personal_data off", m.subject);
}

fn registration_of(n: u32) -> pb::Registration {
    pb::Registration {
        resident_id: resident_id(n),
        name: NAME.into(),
        hukou: Some(pb::Hukou { district_code: "120111".into(), nature: pb::HukouNature::Urban as i32 }),
        residence: Some(pb::Residence {
            district_code: "120111".into(),
            street_code: "120111001".into(),
            community_code: "120111001002".into(),
        }),
        education: pb::Education::SeniorSecondary as i32,
        ..Default::default()
    }
}

/// Erased, then the same person registers again (the case id is the same:
/// derived from the resident ID). With `nats_personal_data` on, the new
/// registration is published with its resident ID and name; GetCase shows
/// them; the replay shows the first registration erased, the second present.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_again_after_an_erasure_publishes_and_shows_the_new_registration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let nats = NatsServer::start(dir.path()).await;
    let mut leye = Leye::start(&data, Some(&nats.url()), &["--nats-personal-data", "true"]).await;
    let mut c = leye.client().await;
    let n = 21;
    let register = |on: String| pb::RegisterUnemploymentRequest {
        context: ctx(),
        effective_date: on,
        registration: Some(registration_of(n)),
    };
    let case_id = c.register_unemployment(register(days_ago(20))).await.unwrap().into_inner().result.unwrap().case_id;
    c.exit_registration(pb::ExitRegistrationRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(10),
        exit: Some(pb::RegistrationExit { reason: pb::ExitReason::MovedAway as i32 }),
    })
    .await
    .unwrap();
    let mut supervisor = pb::person_case_service_client::PersonCaseServiceClient::new(
        authed(leye.addr, &supervisor_token(&data)).await.unwrap(),
    );
    supervisor.erase_personal_data(erase_request(&case_id)).await.unwrap();
    let again = c.register_unemployment(register(days_ago(0))).await.expect("registers again").into_inner();
    assert_eq!(again.result.unwrap().case_id, case_id, "same person, same case");

    let v = c.get_case(get(&case_id, None)).await.unwrap().into_inner().case.unwrap();
    let r = v.registration.unwrap();
    assert_eq!(
        (r.resident_id.as_str(), r.name.as_str(), r.personal_data),
        (resident_id(n).as_str(), NAME, pb::PersonalDataState::Present as i32),
        "GetCase after the new registration"
    );
    let js = jetstream(&[nats.url()]).await;
    wait_stream_count(&js, 4, MINUTE).await;
    let received = read_all(&js, 4).await;
    let regs: Vec<(String, String, i32)> = received
        .iter()
        .filter_map(|m| match &m.event.event {
            Some(pb::person_event::Event::Registered(r)) => {
                Some((r.resident_id.clone(), r.name.clone(), r.personal_data))
            }
            _ => None,
        })
        .collect();
    leye.terminate().await;
    assert_eq!(regs.len(), 2);
    assert_eq!(regs[1], (resident_id(n), NAME.to_string(), pb::PersonalDataState::Present as i32), "{regs:?}");
}

/// `leye replay CASE` (README, "auditors replay any case's full history"):
/// an enterprise case too; and `--recorded-until` before the case's first
/// event gives the same (empty) history in text and JSON, not an error in one.
#[test]
fn cli_replay_enterprise_case_and_recorded_until_before_the_first_event() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    let o = leye_cmd().args(["generate", "--people", "60", "--data-dir"]).arg(&d).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let conn = rusqlite::Connection::open(d.join(leye::config::STORE_FILE)).unwrap();
    let stream = |prefix: &str| -> String {
        conn.query_row(
            "SELECT stream FROM events WHERE stream LIKE ?1 ORDER BY position LIMIT 1",
            [format!("{prefix}-%")],
            |r| r.get(0),
        )
        .unwrap()
    };
    let person = stream("person").trim_start_matches("person-").to_string();
    let enterprise = stream("enterprise").trim_start_matches("enterprise-").to_string();
    let replay = |args: &[&str]| {
        let o = leye_cmd().arg("replay").args(args).arg("--data-dir").arg(&d).output().unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let mut problems = Vec::new();
    let (ok, out, err) = replay(&[&person]);
    assert!(ok && out.contains("event(s)"), "person replay: {out}{err}");
    let (ok, out, err) = replay(&[&enterprise]);
    if !ok || !out.contains("enterprise.registered") {
        problems.push(format!("enterprise case {enterprise}: ok={ok} stdout={out:?} stderr={err:?}"));
    }
    let before = "2000-01-01T00:00:00Z";
    let text = replay(&[&person, "--recorded-until", before]);
    let json = replay(&[&person, "--recorded-until", before, "--format", "json"]);
    if text.0 != json.0 {
        problems.push(format!(
            "--recorded-until {before}: text ok={} ({:?}), json ok={} ({:?})",
            text.0, text.2, json.0, json.2
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The same bypass into what analysts open: a training id (a client code)
/// holding a resident ID glued to a letter is accepted and lands in the read
/// model (`training.training_id`), "a plain SQLite file analysts may open".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_id_glued_to_a_letter_as_training_id_reaches_the_read_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("leye");
    std::fs::create_dir_all(&data).unwrap();
    let mut leye = Leye::start(&data, None, &[]).await;
    let mut c = leye.client().await;
    let n = 31;
    let rid = resident_id(n);
    let case_id = c
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(3),
            registration: Some(registration_of(n)),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let enrol = c
        .enrol_training(pb::EnrolTrainingRequest {
            context: ctx(),
            case_id,
            effective_date: days_ago(1),
            training: Some(pb::TrainingEnrolment {
                training_id: format!("{rid}T"),
                programme: pb::TrainingProgramme::VocationalSkills as i32,
                provider: "西青职业培训学校".into(),
            }),
        })
        .await;
    let readmodel = data.join("readmodel");
    let found = {
        let mut found = false;
        for _ in 0..100 {
            let mut files = vec![readmodel.clone()];
            while let Some(p) = files.pop() {
                if p.is_dir() {
                    files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                } else if let Ok(bytes) = std::fs::read(&p) {
                    if bytes.windows(17).any(|w| w == &rid.as_bytes()[..17]) {
                        eprintln!("resident ID digits in {}", p.display());
                        found = true;
                    }
                }
            }
            if found || enrol.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        found
    };
    // Where it is: the training table, as an analyst reads it.
    for e in std::fs::read_dir(&readmodel).unwrap() {
        let p = e.unwrap().path();
        if let Ok(conn) = rusqlite::Connection::open_with_flags(&p, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) {
            if let Ok(id) = conn.query_row("SELECT training_id FROM training", [], |r| r.get::<_, String>(0)) {
                eprintln!("{}: training.training_id = {id}", p.display());
            }
        }
    }
    leye.terminate().await;
    assert!(
        enrol.is_err() && !found,
        "training id accepted: {}; resident ID in the read model: {found}",
        enrol.is_ok()
    );
}
