//! An auditor's (and a suspicious operator's) review through the public
//! interfaces only: `leye serve` as a process, gRPC with auditors' tokens of
//! the development issuer, and the CLI (`replay`, `verify`, `backup`,
//! `restore`). Each test names the promise of README.md, docs/API.md or the
//! `.proto` contract it checks.

mod support;

use std::{path::Path, process::Output, time::Duration};

use chrono::{DateTime, NaiveDate, Utc};
use leye::client::Authed;
use leye_proto::{
    audit::v1::{self as apb, audit_service_client::AuditServiceClient},
    common::v1::CommandContext,
    person::v1::{self as pb, person_case_service_client::PersonCaseServiceClient},
};
use support::{LEYE, Leye, authed, resident_id};
use tonic::Code;

const NAME: &str = "审计人";
const XIQING: &str = "120111";
const HEPING: &str = "120101";
const GET_CASE: &str = "leye.person.v1.PersonCaseService/GetCase";

/// A token of the development issuer of `data_dir` for `subject` with `roles` in `jurisdiction`.
fn token_as(data_dir: &Path, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> String {
    let (key, _) = leye::trust::dev_issuer(data_dir).expect("development issuer");
    let roles: Vec<leye_auth::Role> = roles.iter().map(|r| r.parse().expect("a role")).collect();
    let claims = leye_auth::dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        ..leye_auth::dev::DevClaims::new(subject, &roles, jurisdiction)
    };
    leye_auth::dev::issue_token(&key, &claims, Utc::now().timestamp()).expect("token")
}

async fn channel_as(leye: &Leye, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> Authed {
    let token = token_as(&leye.data_dir, subject, roles, jurisdiction);
    authed(leye.addr, &token).await.expect("a channel")
}

async fn person_as(leye: &Leye, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> support::Client {
    PersonCaseServiceClient::new(channel_as(leye, subject, roles, jurisdiction).await)
}

async fn audit_as(leye: &Leye, subject: &str, roles: &[&str], jurisdiction: &[&str]) -> AuditServiceClient<Authed> {
    AuditServiceClient::new(channel_as(leye, subject, roles, jurisdiction).await)
}

fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn days_ago(n: i64) -> String {
    (today() - chrono::Duration::days(n)).to_string()
}

fn ctx() -> Option<CommandContext> {
    Some(CommandContext {
        command_id: uuid::Uuid::new_v4().to_string(),
        office: "120111001".into(),
        ..Default::default()
    })
}

fn reason(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt;
    status.get_details_error_info().map(|i| i.reason)
}

fn registration(n: u32) -> pb::Registration {
    pb::Registration {
        resident_id: resident_id(n),
        name: NAME.into(),
        hukou: Some(pb::Hukou { district_code: XIQING.into(), nature: pb::HukouNature::Urban as i32 }),
        residence: Some(pb::Residence {
            district_code: XIQING.into(),
            street_code: "120111001".into(),
            community_code: "120111001002".into(),
        }),
        education: pb::Education::SeniorSecondary as i32,
        graduation: None,
        household: None,
        groups: vec![],
        personal_data: 0,
    }
}

async fn register(c: &mut support::Client, n: u32, on: String) -> String {
    let r = c
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: on,
            registration: Some(registration(n)),
        })
        .await
        .expect("registered");
    r.into_inner().result.unwrap().case_id
}

async fn contact(c: &mut support::Client, case_id: &str, on: String) {
    c.record_contact(pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: on,
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::InPerson as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: String::new(),
        }),
    })
    .await
    .expect("contact recorded");
}

async fn recommend(c: &mut support::Client, case_id: &str, on: String) {
    c.recommend_job(pb::RecommendJobRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: on,
        recommendation: Some(pb::JobRecommendation { vacancy_id: "V-1".into(), ..Default::default() }),
    })
    .await
    .expect("recommendation recorded");
}

async fn place(c: &mut support::Client, case_id: &str, on: String) {
    c.record_placement(pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: on,
        placement: Some(pb::Placement { kind: pb::PlacementKind::Flexible as i32, ..Default::default() }),
    })
    .await
    .expect("placement recorded");
}

async fn get(c: &mut support::Client, case_id: &str, as_of: Option<pb::get_case_request::AsOf>) -> pb::PersonCase {
    c.get_case(pb::GetCaseRequest { case_id: case_id.into(), as_of }).await.expect("GetCase").into_inner().case.unwrap()
}

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

fn instant(t: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap()).unwrap()
}

async fn all_records(
    a: &mut AuditServiceClient<Authed>,
    filter: apb::ListAuditRecordsRequest,
    page_size: u32,
) -> Vec<apb::AuditRecord> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = a
            .list_audit_records(apb::ListAuditRecordsRequest { page_token: token, page_size, ..filter.clone() })
            .await
            .expect("a page")
            .into_inner();
        all.extend(page.records);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

/// A case with a backdated fact: registered D-30 (rev 0), contact D-5
/// (rev 1), a contact recorded late for D-25 (rev 2), a recommendation D-15
/// (rev 3), placed D-2 (rev 4). The case id and its replay.
async fn backdated_case(c: &mut support::Client, n: u32) -> (String, Vec<pb::RecordedPersonEvent>) {
    let case_id = register(c, n, days_ago(30)).await;
    contact(c, &case_id, days_ago(5)).await;
    contact(c, &case_id, days_ago(25)).await;
    recommend(c, &case_id, days_ago(15)).await;
    place(c, &case_id, days_ago(2)).await;
    let replay =
        c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.expect("replay").into_inner().events;
    (case_id, replay)
}

/// README, "The API": `GetCase` answers "the state `as_of` a revision, a
/// recorded instant or an effective date"; person.proto: revision = "state
/// after this revision", recorded_at = "events recorded at or before it",
/// effective_date = "the world as known now, up to this date". Each axis,
/// against the state computed by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_case_as_of_each_axis_matches_the_history_computed_by_hand() {
    use pb::get_case_request::AsOf;
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut c = server.client().await;
    let (case_id, replay) = backdated_case(&mut c, 101).await;
    assert_eq!(replay.len(), 5);
    let registered = pb::CaseStatus::RegisteredUnemployed as i32;

    // By revision.
    let at = get(&mut c, &case_id, Some(AsOf::Revision(1))).await;
    assert_eq!((at.revision, at.contact_count, at.last_contact_on.as_str()), (1, 1, days_ago(5).as_str()));
    let at = get(&mut c, &case_id, Some(AsOf::Revision(2))).await;
    assert_eq!((at.revision, at.contact_count, at.last_contact_on.as_str()), (2, 2, days_ago(5).as_str()));
    assert_eq!(at.status, registered);

    // By recorded instant: each event's own recorded_at gives that revision.
    for (i, e) in replay.iter().enumerate() {
        let t = e.metadata.as_ref().unwrap().recorded_at.unwrap();
        let at = get(&mut c, &case_id, Some(AsOf::RecordedAt(t))).await;
        assert_eq!(at.revision, i as u64, "recorded_at of revision {i}");
        assert_eq!(at, *e.state_after.as_ref().unwrap(), "the same state as the replay's after revision {i}");
    }
    // Before the first event: nothing was known.
    let first = instant(&replay[0].metadata.as_ref().unwrap().recorded_at.unwrap());
    let before = first - chrono::Duration::seconds(1);
    let t = prost_types::Timestamp { seconds: before.timestamp(), nanos: 0 };
    let none = c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: Some(AsOf::RecordedAt(t)) }).await;
    assert_eq!(none.unwrap_err().code(), Code::NotFound);

    // By effective date, as known now (the late contact for D-25 included).
    let at = get(&mut c, &case_id, Some(AsOf::EffectiveDate(days_ago(26)))).await;
    assert_eq!((at.contact_count, at.recommendation_count, at.status), (0, 0, registered));
    assert_eq!(at.reference_date, days_ago(26));
    let at = get(&mut c, &case_id, Some(AsOf::EffectiveDate(days_ago(20)))).await;
    assert_eq!((at.contact_count, at.last_contact_on.as_str(), at.recommendation_count), (1, days_ago(25).as_str(), 0));
    let at = get(&mut c, &case_id, Some(AsOf::EffectiveDate(days_ago(10)))).await;
    assert_eq!((at.contact_count, at.recommendation_count, at.status), (1, 1, registered));
    let at = get(&mut c, &case_id, Some(AsOf::EffectiveDate(days_ago(3)))).await;
    assert_eq!((at.contact_count, at.last_contact_on.as_str(), at.status), (2, days_ago(5).as_str(), registered));
    let at = get(&mut c, &case_id, Some(AsOf::EffectiveDate(days_ago(2)))).await;
    assert_eq!(at.status, pb::CaseStatus::Placed as i32);
    assert_eq!(at, get(&mut c, &case_id, None).await.clone_with_reference(&at.reference_date));
    let none = c
        .get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: Some(AsOf::EffectiveDate(days_ago(31))) })
        .await;
    assert_eq!(none.unwrap_err().code(), Code::NotFound, "nothing was in force before the registration");
}

trait WithReference {
    fn clone_with_reference(&self, date: &str) -> Self;
}

impl WithReference for pb::PersonCase {
    /// The same case with another reference date (age and retirement outlook are computed on it).
    fn clone_with_reference(&self, date: &str) -> Self {
        pb::PersonCase { reference_date: date.into(), ..self.clone() }
    }
}

/// README, "Auditing a case": `leye replay <case-id> --recorded-until T`
/// shows "what the service knew then", each event with "revision, global
/// position, recorded time, effective date, actor, office, command,
/// correlation and causation ids". It must agree with GetCase `recorded_at`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_cli_recorded_until_agrees_with_get_case_recorded_at() {
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut c = server.client().await;
    let (case_id, replay) = backdated_case(&mut c, 102).await;
    let data = dir.path().to_str().unwrap().to_string();
    for (i, e) in replay.iter().enumerate() {
        let m = e.metadata.as_ref().unwrap();
        let t = instant(&m.recorded_at.unwrap()).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        let out = leye(&["replay", &case_id, "--format", "json", "--recorded-until", &t], Path::new(&data)).await;
        assert!(out.status.success(), "{}", text(&out));
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), i + 1, "events recorded until {t}: {}", text(&out));
        let last = lines.last().unwrap();
        assert_eq!(last["revision"], serde_json::json!(m.revision));
        assert_eq!(last["global_position"], serde_json::json!(m.global_position));
        assert_eq!(last["effective_date"].as_str(), Some(m.effective_date.as_str()));
        assert_eq!(last["actor"].as_str(), Some("staff-0042"));
        for key in ["recorded_at", "office", "command_id", "correlation_id", "causation_id", "event_id"] {
            assert!(last[key].as_str().is_some_and(|s| !s.is_empty()), "{key} in {last}");
        }
    }
    // The text form names revision and position of each event and where the case stood.
    let out = leye(&["replay", &case_id], Path::new(&data)).await;
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("5 event(s)") && shown.contains("at revision 4"), "{shown}");
    let m = replay[4].metadata.as_ref().unwrap();
    assert!(shown.contains(&format!("revision 4 · position {}", m.global_position)), "{shown}");
}

/// README, "Personal data": after `ErasePersonalData` "the resident ID and
/// name read as erased everywhere"; person.proto: `personal_data_erased_on`
/// is "the day the personal data was erased … when it was". An as-of before
/// the erasure shows no erasure date but no personal data either; after it,
/// the date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_between_two_as_of_points_reads_erased_on_both_and_is_dated_only_after() {
    use pb::get_case_request::AsOf;
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut c = server.client().await;
    let case_id = register(&mut c, 103, days_ago(20)).await;
    contact(&mut c, &case_id, days_ago(10)).await;
    let mut chief = person_as(&server, "chief-0007", &["supervisor"], &[XIQING]).await;
    chief
        .erase_personal_data(pb::ErasePersonalDataRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(0),
            erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
        })
        .await
        .expect("erased");
    let before = get(&mut c, &case_id, Some(AsOf::Revision(1))).await;
    let after = get(&mut c, &case_id, None).await;
    assert_eq!(before.personal_data_erased_on, "");
    assert_eq!(after.personal_data_erased_on, days_ago(0));
    for (what, case) in [("before", &before), ("after", &after)] {
        let reg = case.registration.as_ref().unwrap();
        assert!(reg.resident_id.is_empty() && reg.name.is_empty(), "{what} the erasure: {reg:?}");
        assert_eq!(reg.personal_data, pb::PersonalDataState::Erased as i32, "{what}");
    }
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap().into_inner();
    let shown = format!("{replay:?}");
    assert!(!shown.contains(NAME) && !shown.contains(&resident_id(103)), "the replay reads erased too");
    let cli = leye(&["replay", &case_id, "--format", "json"], dir.path()).await;
    assert!(cli.status.success(), "{}", text(&cli));
    assert!(!text(&cli).contains(NAME) && !text(&cli).contains(&resident_id(103)), "{}", text(&cli));
}

/// README, "Security": auditors may `GetCase`, `FindCaseByResidentId`,
/// `ReplayCase` of "the case" in their jurisdiction, `ListAuditRecords`
/// ("the case filtered on; without one, a city-level jurisdiction"), nothing
/// else; a denial is `PERMISSION_DENIED` with `ROLE_MISSING`,
/// `OUT_OF_JURISDICTION` or `CITY_LEVEL_REQUIRED`; "Nothing is written".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_reads_within_the_role_and_district_and_is_refused_beyond() {
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut c = server.client().await;
    let case_id = register(&mut c, 104, days_ago(20)).await;
    let mut xq = person_as(&server, "audit-xq", &["auditor"], &[XIQING]).await;
    let mut hp = person_as(&server, "audit-hp", &["auditor"], &[HEPING]).await;
    xq.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.expect("reads its district");
    xq.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.expect("replays its district");

    let denied = hp.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap_err();
    assert_eq!((denied.code(), reason(&denied).as_deref()), (Code::PermissionDenied, Some("OUT_OF_JURISDICTION")));
    let denied = hp.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap_err();
    assert_eq!(reason(&denied).as_deref(), Some("OUT_OF_JURISDICTION"));
    let hidden = hp
        .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident_id(104) })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound, "a look-up outside the jurisdiction is NOT_FOUND");

    let write = xq
        .record_contact(pb::RecordContactRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            contact: Some(pb::Contact {
                channel: pb::ContactChannel::InPerson as i32,
                outcome: pb::ContactOutcome::StillSeeking as i32,
                note: String::new(),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!((write.code(), reason(&write).as_deref()), (Code::PermissionDenied, Some("ROLE_MISSING")));
    let erase = xq
        .erase_personal_data(pb::ErasePersonalDataRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(0),
            erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&erase).as_deref(), Some("ROLE_MISSING"));
    let after = get(&mut c, &case_id, None).await;
    assert_eq!(after.revision, 0, "nothing written");

    let mut audit_xq = audit_as(&server, "audit-xq", &["auditor"], &[XIQING]).await;
    let mut audit_hp = audit_as(&server, "audit-hp", &["auditor"], &[HEPING]).await;
    let by_case = apb::ListAuditRecordsRequest { case_id: case_id.clone(), ..Default::default() };
    let mine = all_records(&mut audit_xq, by_case.clone(), 100).await;
    assert!(!mine.is_empty());
    let other = audit_hp.list_audit_records(by_case).await.unwrap_err();
    assert_eq!(reason(&other).as_deref(), Some("OUT_OF_JURISDICTION"));
    let everything = audit_xq.list_audit_records(apb::ListAuditRecordsRequest::default()).await.unwrap_err();
    assert_eq!(reason(&everything).as_deref(), Some("CITY_LEVEL_REQUIRED"));
    let mut cw = audit_as(&server, "cw-1", &["caseworker"], &["120000"]).await;
    let not_auditor = cw.list_audit_records(apb::ListAuditRecordsRequest::default()).await.unwrap_err();
    assert_eq!(reason(&not_auditor).as_deref(), Some("ROLE_MISSING"));

    // The refusals are in the trail: who, what, why; never a resident ID or a name.
    let mut city = audit_as(&server, "audit-city", &["auditor"], &["120000"]).await;
    let hp_records =
        all_records(&mut city, apb::ListAuditRecordsRequest { principal: "audit-hp".into(), ..Default::default() }, 50)
            .await;
    let find = hp_records.iter().find(|r| r.operation.ends_with("/FindCaseByResidentId")).expect("the look-up");
    assert_eq!(
        (find.outcome.as_str(), find.reason.as_str(), find.case_ids.clone()),
        ("NOT_FOUND", "OUT_OF_JURISDICTION", vec![case_id.clone()]),
        "README: a look-up outside the jurisdiction answers NOT_FOUND, the audit record keeps the denial"
    );
    let reasons: Vec<&str> = hp_records.iter().map(|r| r.reason.as_str()).collect();
    assert!(reasons.iter().filter(|r| **r == "OUT_OF_JURISDICTION").count() >= 3, "{hp_records:?}");
    let xq_records =
        all_records(&mut city, apb::ListAuditRecordsRequest { principal: "audit-xq".into(), ..Default::default() }, 50)
            .await;
    assert!(xq_records.iter().any(|r| r.reason == "ROLE_MISSING" && r.operation.ends_with("/RecordContact")));
    assert!(xq_records.iter().any(|r| r.reason == "CITY_LEVEL_REQUIRED"));
    let all = format!("{:?}", all_records(&mut city, apb::ListAuditRecordsRequest::default(), 1000).await);
    assert!(!all.contains(&resident_id(104)) && !all.contains(NAME), "no personal data in the trail");
}

/// audit.proto: "Records by principal, case, operation and time range,
/// oldest first, paged"; "Filters combine with AND"; `from` "at or after",
/// `to` "before"; seq "contiguous from 1"; next_page_token "empty when this
/// is the last page". Pages read while new records arrive neither skip nor
/// repeat a record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_queries_by_case_principal_time_and_pages_hold_while_records_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut c = server.client().await;
    let case_a = register(&mut c, 105, days_ago(20)).await;
    let case_b = register(&mut c, 106, days_ago(20)).await;
    let mut reader = person_as(&server, "reader-1", &["auditor"], &[XIQING]).await;
    for _ in 0..6 {
        reader.get_case(pb::GetCaseRequest { case_id: case_a.clone(), as_of: None }).await.unwrap();
        reader.get_case(pb::GetCaseRequest { case_id: case_b.clone(), as_of: None }).await.unwrap();
    }
    let mut city = audit_as(&server, "audit-city", &["auditor"], &["120000"]).await;
    let combined = apb::ListAuditRecordsRequest {
        principal: "READER-1".into(),
        case_id: case_a.clone(),
        operation: GET_CASE.into(),
        ..Default::default()
    };
    let a = all_records(&mut city, combined.clone(), 4).await;
    assert_eq!(a.len(), 6, "{a:?}");
    assert!(a.iter().all(|r| r.principal == "reader-1" && r.case_ids == [case_a.clone()] && r.outcome == "OK"));
    assert!(a.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");

    // Time range: [from, to) over the records' own times.
    let times: Vec<_> = a.iter().map(|r| r.time.unwrap()).collect();
    let ranged = all_records(
        &mut city,
        apb::ListAuditRecordsRequest { from: Some(times[1]), to: Some(times[4]), ..combined.clone() },
        100,
    )
    .await;
    let want: Vec<u64> = a
        .iter()
        .filter(|r| {
            let t = instant(&r.time.unwrap());
            t >= instant(&times[1]) && t < instant(&times[4])
        })
        .map(|r| r.seq)
        .collect();
    assert_eq!(ranged.iter().map(|r| r.seq).collect::<Vec<_>>(), want);

    // Paging while records arrive: no gap, no repeat.
    let busy = tokio::spawn({
        let mut reader = reader.clone();
        let case_a = case_a.clone();
        async move {
            for _ in 0..40 {
                reader.get_case(pb::GetCaseRequest { case_id: case_a.clone(), as_of: None }).await.unwrap();
            }
        }
    });
    let everything = apb::ListAuditRecordsRequest::default();
    let paged = all_records(&mut city, everything.clone(), 3).await;
    busy.await.unwrap();
    let seqs: Vec<u64> = paged.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "contiguous, no repeat: {seqs:?}");
    assert_eq!(seqs.first(), Some(&1));
    let full: Vec<u64> = all_records(&mut city, everything, 1000).await.iter().map(|r| r.seq).collect();
    assert_eq!(&full[..seqs.len()], &seqs[..], "the pages are a prefix of the trail");

    // A forged or foreign page token is refused, not silently read.
    let bad = city
        .list_audit_records(apb::ListAuditRecordsRequest { page_token: "not-a-token".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let verify = city.verify_audit_trail(apb::VerifyAuditTrailRequest {}).await.unwrap().into_inner();
    assert!(verify.intact && verify.first_seq == 1 && verify.last_seq >= *full.last().unwrap(), "{verify:?}");
}

/// README, "The audit trail": every answered request, denials included, is
/// recorded with "time, principal, how authenticated, peer, operation, case
/// ids, status and denial reason"; "a request refused at the door (…a role
/// without that RPC) is decided before its body is read, so its record names
/// no case: find such attempts by principal, operation or reason". (The
/// review found the README implying case ids on every denial; the body of a
/// request the caller may not make is not decoded, so the README now says so.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_read_for_a_missing_role_is_found_by_principal_operation_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut c = server.client().await;
    let case_id = register(&mut c, 107, days_ago(20)).await;
    let mut analyst = person_as(&server, "analyst-7", &["analyst"], &[XIQING]).await;
    let denied = analyst.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap_err();
    assert_eq!(reason(&denied).as_deref(), Some("ROLE_MISSING"));
    let mut city = audit_as(&server, "audit-city", &["auditor"], &["120000"]).await;
    let by_principal = all_records(
        &mut city,
        apb::ListAuditRecordsRequest { principal: "analyst-7".into(), ..Default::default() },
        50,
    )
    .await;
    assert_eq!(by_principal.len(), 1, "the denial is recorded: {by_principal:?}");
    assert_eq!(by_principal[0].reason, "ROLE_MISSING");
    assert!(by_principal[0].case_ids.is_empty(), "decided before the body is read: {:?}", by_principal[0]);
    let by_reason = all_records(
        &mut city,
        apb::ListAuditRecordsRequest { principal: "analyst-7".into(), ..Default::default() },
        50,
    )
    .await
    .into_iter()
    .filter(|r| r.reason == "ROLE_MISSING" && r.operation.ends_with("GetCase"))
    .count();
    assert_eq!(by_reason, 1, "found by principal, operation and reason");
}

/// The audit record of a command the case's rules refuse keeps the
/// refusal's reason (README, "The audit trail": "status and the reason of a
/// refusal"), not only access denials'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_refused_by_the_case_rules_keeps_its_reason_in_the_trail() {
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut c = server.client().await;
    let case_id = register(&mut c, 108, days_ago(20)).await;
    let refused = c
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(10),
            registration: Some(registration(108)),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&refused).as_deref(), Some("ALREADY_REGISTERED"));
    let mut city = audit_as(&server, "audit-city", &["auditor"], &["120000"]).await;
    let records = all_records(&mut city, apb::ListAuditRecordsRequest { case_id, ..Default::default() }, 50).await;
    let failed: Vec<_> = records.iter().filter(|r| r.outcome == "FAILED_PRECONDITION").collect();
    assert_eq!(failed.len(), 1, "{records:?}");
    assert_eq!(failed[0].reason, "ALREADY_REGISTERED", "why it was refused");
}

/// README, "Backup" and "Tamper evidence": a backup taken while commands
/// arrive is "one consistent snapshot" whose chain is verified; `restore`
/// "verifies the backup first" and "refuses … a non-empty directory unless
/// `--force`"; `leye verify` on the restored directory finds it intact, and
/// the restored store answers as-of queries as the original did at that point.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_holds_after_a_backup_restore_round_trip_and_as_of_answers_survive() {
    use pb::get_case_request::AsOf;
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let server = Leye::start(&live, None, &[]).await;
    let mut c = server.client().await;
    let (case_id, replay) = backdated_case(&mut c, 109).await;
    let busy = tokio::spawn({
        let mut c = c.clone();
        async move {
            for n in 200..215 {
                register(&mut c, n, days_ago(3)).await;
            }
        }
    });
    let dest = root.path().join("backup");
    let b = leye(&["backup", dest.to_str().unwrap()], &live).await;
    busy.await.unwrap();
    assert!(b.status.success() && text(&b).contains("chain verified"), "{}", text(&b));
    // OPERATIONS.md: "It refuses a destination that already holds a backup."
    let head_before = std::fs::read(dest.join("events.sqlite.head")).unwrap();
    let twice = leye(&["backup", dest.to_str().unwrap()], &live).await;
    assert!(!twice.status.success(), "{}", text(&twice));
    assert_eq!(std::fs::read(dest.join("events.sqlite.head")).unwrap(), head_before, "the first backup is untouched");
    let live_verify = leye(&["verify"], &live).await;
    assert!(live_verify.status.success(), "{}", text(&live_verify));

    // A non-empty directory (one stray file) is refused and left as it was.
    let target = root.path().join("restored");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("notes.txt"), b"evidence").unwrap();
    let refused = leye(&["restore", dest.to_str().unwrap()], &target).await;
    assert!(!refused.status.success() && text(&refused).contains("--force"), "{}", text(&refused));
    assert!(!target.join("events.sqlite").exists(), "nothing restored");
    let forced = leye(&["restore", dest.to_str().unwrap(), "--force"], &target).await;
    assert!(forced.status.success(), "{}", text(&forced));
    let kept: Vec<_> = std::fs::read_dir(&target)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("replaced-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read(kept[0].path().join("notes.txt")).unwrap(), b"evidence", "moved aside, not deleted");
    let v = leye(&["verify"], &target).await;
    assert!(v.status.success() && text(&v).contains("intact"), "{}", text(&v));

    // The restored store answers the as-of questions as the live one.
    std::fs::copy(live.join("keys/master.key"), target.join("keys/master.key")).unwrap();
    let copy = Leye::start(&target, None, &[]).await;
    let mut cc = copy.client().await;
    for (i, e) in replay.iter().enumerate() {
        let t = e.metadata.as_ref().unwrap().recorded_at.unwrap();
        let live_at = get(&mut c, &case_id, Some(AsOf::RecordedAt(t))).await;
        let copy_at = get(&mut cc, &case_id, Some(AsOf::RecordedAt(t))).await;
        assert_eq!(live_at, copy_at, "as recorded at revision {i}");
    }
    // Every key a backed-up event names is in the backup: the registrations
    // recorded while it was taken read with their personal data.
    for n in 200..215 {
        let found = cc.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident_id(n) }).await;
        if let Ok(found) = found {
            let case = get(&mut cc, &found.into_inner().case_id, None).await;
            let reg = case.registration.unwrap();
            assert_eq!(reg.personal_data, pb::PersonalDataState::Present as i32, "person {n}");
            assert_eq!(reg.name, NAME, "person {n}");
        }
    }
    let cli = leye(&["replay", &case_id, "--format", "json"], &target).await;
    assert_eq!(String::from_utf8_lossy(&cli.stdout).lines().count(), replay.len(), "{}", text(&cli));
}

/// README, "Backup", the documented sequence: `systemctl stop leye` then
/// the README's own `leye restore /backups/… --data-dir /var/lib/leye …`
/// line, run with its flags, answers "restored … events … chain verified".
/// (It once lacked the `--force` that the directory of a stopped service,
/// never empty, needs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_restore_example_into_the_stopped_services_directory_succeeds() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let mut server = Leye::start(&live, None, &[]).await;
    let mut c = server.client().await;
    register(&mut c, 110, days_ago(3)).await;
    let dest = root.path().join("backup");
    let b = leye(&["backup", dest.to_str().unwrap()], &live).await;
    assert!(b.status.success(), "{}", text(&b));
    server.terminate().await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let line = readme.lines().find(|l| l.starts_with("leye restore ")).expect("the README shows a restore");
    let flags: Vec<&str> = line
        .split('#')
        .next()
        .unwrap()
        .split_whitespace()
        .skip(3) // leye restore <backup>
        .filter(|w| *w != "--data-dir" && !w.starts_with('/'))
        .collect();
    let mut args = vec!["restore", dest.to_str().unwrap()];
    args.extend(flags);
    let r = leye(&args, &live).await;
    assert!(r.status.success() && text(&r).contains("chain verified"), "the README's example {line:?}: {}", text(&r));
}

/// README, "The audit trail": "Every answered request … is recorded";
/// "Records are kept `audit_retention_days` (≥ 183 …)"; COMPLIANCE.md
/// §8.1.4.3 c): "audit records protected from deletion … pruned only after"
/// retention; audit.proto: "an edit or a deletion is found by
/// VerifyAuditTrail". After `leye restore --force` (the only way the docs
/// give to restore into the service's own directory) and a restart, the
/// auditors' trail starts again at seq 1: yesterday's records are gone from
/// `ListAuditRecords` and `VerifyAuditTrail` reports an intact trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restore_the_audit_trail_still_holds_the_records_from_before() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let mut server = Leye::start(&live, None, &[]).await;
    let mut c = server.client().await;
    let case_id = register(&mut c, 111, days_ago(3)).await;
    let mut reader = person_as(&server, "reader-2", &["auditor"], &[XIQING]).await;
    for _ in 0..3 {
        reader.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None }).await.unwrap();
    }
    let mut city = audit_as(&server, "audit-city", &["auditor"], &["120000"]).await;
    let by_reader = apb::ListAuditRecordsRequest { principal: "reader-2".into(), ..Default::default() };
    let before = all_records(&mut city, by_reader.clone(), 100).await;
    assert_eq!(before.len(), 3);
    let verified = city.verify_audit_trail(apb::VerifyAuditTrailRequest {}).await.unwrap().into_inner();
    let dest = root.path().join("backup");
    let b = leye(&["backup", dest.to_str().unwrap()], &live).await;
    assert!(b.status.success(), "{}", text(&b));
    server.terminate().await;

    let r = leye(&["restore", dest.to_str().unwrap(), "--force"], &live).await;
    assert!(r.status.success(), "{}", text(&r));
    let master = std::fs::read_dir(&live)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().starts_with("replaced-"))
        .map(|e| e.path().join("keys/master.key"))
        .unwrap();
    std::fs::copy(master, live.join("keys/master.key")).unwrap();
    let server = Leye::start(&live, None, &[]).await;
    let mut city = audit_as(&server, "audit-city", &["auditor"], &["120000"]).await;
    let after = all_records(&mut city, by_reader, 100).await;
    let check = city.verify_audit_trail(apb::VerifyAuditTrailRequest {}).await.unwrap().into_inner();
    assert!(
        check.last_seq > verified.last_seq || !check.intact,
        "the trail after the restore either continues the old one or says it is broken: before {verified:?}, after \
         {check:?}"
    );
    assert_eq!(
        after.iter().map(|r| (r.seq, r.time)).collect::<Vec<_>>(),
        before.iter().map(|r| (r.seq, r.time)).collect::<Vec<_>>(),
        "the records of before the restore are still in the trail"
    );
}

/// README, "Personal data": "Registering again after erasure continues the
/// same case (its id is derived from the resident ID) under a new data key;
/// the erased registrations stay erased." An auditor asking for the case as
/// of a revision before the erasure, as of now, and replaying it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_erasure_and_a_new_registration_each_as_of_reads_what_it_should() {
    use pb::get_case_request::AsOf;
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut c = server.client().await;
    let case_id = register(&mut c, 112, days_ago(20)).await;
    c.exit_registration(pb::ExitRegistrationRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(10),
        exit: Some(pb::RegistrationExit { reason: pb::ExitReason::MovedAway as i32 }),
    })
    .await
    .expect("exited");
    let mut chief = person_as(&server, "chief-0007", &["supervisor"], &[XIQING]).await;
    chief
        .erase_personal_data(pb::ErasePersonalDataRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(5),
            erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
        })
        .await
        .expect("erased");
    let again = register(&mut c, 112, days_ago(1)).await;
    assert_eq!(again, case_id, "the same case continues");
    let old = get(&mut c, &case_id, Some(AsOf::Revision(0))).await;
    let erased = get(&mut c, &case_id, Some(AsOf::Revision(2))).await;
    let now = get(&mut c, &case_id, None).await;
    assert_eq!(old.registration.as_ref().unwrap().personal_data, pb::PersonalDataState::Erased as i32, "{old:?}");
    assert_eq!(erased.personal_data_erased_on, days_ago(5));
    assert_eq!(now.personal_data_erased_on, "", "somebody registered since");
    let reg = now.registration.as_ref().unwrap();
    assert_eq!((reg.resident_id.as_str(), reg.name.as_str()), (resident_id(112).as_str(), NAME));
    let by_date = get(&mut c, &case_id, Some(AsOf::EffectiveDate(days_ago(15)))).await;
    assert_eq!(by_date.registration.unwrap().personal_data, pb::PersonalDataState::Erased as i32);
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap().into_inner();
    assert_eq!(replay.events.len(), 4);
    let found = c
        .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident_id(112) })
        .await
        .expect("found again after the new registration")
        .into_inner();
    assert_eq!(found.case_id, case_id);
}

/// A valid unified social credit code (GB 32100-2015) from a 17-character body.
fn credit_code(body: &str) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)
}

/// docs/API.md: `GetEnterprise` "with the same `as_of` choices",
/// `ReplayEnterprise`; README, "Security": auditors read "the case" in their
/// jurisdiction, an enterprise is "known by district only, so a street- or
/// community-level principal reaches no enterprise"; `ListAuditRecords` by
/// case needs the case in the caller's jurisdiction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_case_as_of_and_its_audit_records_follow_the_same_rules() {
    use chrono::Datelike;
    use leye_proto::enterprise::v1::{
        self as epb, enterprise_case_service_client::EnterpriseCaseServiceClient, get_enterprise_request::AsOf,
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Leye::start(dir.path(), None, &[]).await;
    let mut e = EnterpriseCaseServiceClient::new(channel_as(&server, "staff-0042", &["caseworker"], &["120000"]).await);
    let back = today() - chrono::Duration::days(60);
    let month = NaiveDate::from_ymd_opt(back.year(), back.month(), 1).unwrap();
    let case_id = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(120),
            registration: Some(epb::EnterpriseRegistration {
                credit_code: credit_code("91120111MA05ADXT7"),
                name: "天津西青审计测试有限公司".into(),
                district: XIQING.into(),
                industry_code: "C3411".into(),
                insured_employees: 50,
                small_micro: false,
                kinds: vec![epb::EnterpriseKind::TechStartUp as i32],
                check_character_confirmed: false,
            }),
        })
        .await
        .expect("registered")
        .into_inner()
        .result
        .unwrap()
        .case_id;
    e.report_headcount(epb::ReportHeadcountRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: (month + chrono::Duration::days(4)).to_string(),
        headcount: Some(epb::Headcount { month: month.to_string(), insured_employees: 80 }),
    })
    .await
    .expect("headcount");

    let mut auditor = EnterpriseCaseServiceClient::new(channel_as(&server, "audit-xq", &["auditor"], &[XIQING]).await);
    let at = |as_of| epb::GetEnterpriseRequest { case_id: case_id.clone(), as_of: Some(as_of) };
    let before = auditor.get_enterprise(at(AsOf::EffectiveDate(month.to_string()))).await.unwrap().into_inner();
    let before = before.case.unwrap();
    assert_eq!((before.revision, before.headcounts.len()), (0, 0));
    let rev1 = auditor.get_enterprise(at(AsOf::Revision(1))).await.unwrap().into_inner().case.unwrap();
    assert_eq!((rev1.revision, rev1.headcounts.len()), (1, 1));
    let replay = auditor
        .replay_enterprise(epb::ReplayEnterpriseRequest { case_id: case_id.clone() })
        .await
        .expect("an auditor replays an enterprise of its district")
        .into_inner();
    assert_eq!(replay.events.len(), 2);

    let mut street =
        EnterpriseCaseServiceClient::new(channel_as(&server, "audit-street", &["auditor"], &["120111001"]).await);
    let denied = street.get_enterprise(at(AsOf::Revision(0))).await.unwrap_err();
    assert_eq!(reason(&denied).as_deref(), Some("OUT_OF_JURISDICTION"));
    let mut audit_xq = audit_as(&server, "audit-xq", &["auditor"], &[XIQING]).await;
    let by_case = apb::ListAuditRecordsRequest { case_id: case_id.clone(), ..Default::default() };
    let records = all_records(&mut audit_xq, by_case.clone(), 100).await;
    assert!(records.iter().any(|r| r.principal == "audit-street" && r.reason == "OUT_OF_JURISDICTION"), "{records:?}");
    let mut audit_street = audit_as(&server, "audit-street", &["auditor"], &["120111001"]).await;
    let refused = audit_street.list_audit_records(by_case.clone()).await.unwrap_err();
    assert_eq!(reason(&refused).as_deref(), Some("OUT_OF_JURISDICTION"));
    let mut audit_hp = audit_as(&server, "audit-hp", &["auditor"], &[HEPING]).await;
    let refused = audit_hp.list_audit_records(by_case).await.unwrap_err();
    assert_eq!(reason(&refused).as_deref(), Some("OUT_OF_JURISDICTION"));
}

/// docs/OPERATIONS.md, "When the store fails its check": "compare with the
/// last backup (`leye verify` on it, `leye replay` of the cases around the
/// position)". Both read a backup directory as it is written by `leye backup`
/// (which never holds the master key: README, "Backup"; the operator names
/// it with `--master-key-file`, and without it `replay` says so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_replay_read_a_backup_directory_as_the_alert_procedure_says() {
    let root = tempfile::tempdir().unwrap();
    let live = root.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let server = Leye::start(&live, None, &[]).await;
    let mut c = server.client().await;
    let (case_id, replay) = backdated_case(&mut c, 113).await;
    let dest = root.path().join("backup");
    let b = leye(&["backup", dest.to_str().unwrap()], &live).await;
    assert!(b.status.success(), "{}", text(&b));
    let v = leye(&["verify"], &dest).await;
    assert!(v.status.success() && text(&v).contains("intact"), "leye verify on the backup: {}", text(&v));
    // The master key is kept apart from the backup: the operator names it.
    let master = live.join("keys/master.key");
    let r = leye(&["replay", &case_id, "--format", "json", "--master-key-file", master.to_str().unwrap()], &dest).await;
    assert!(r.status.success(), "leye replay on the backup: {}", text(&r));
    assert_eq!(String::from_utf8_lossy(&r.stdout).lines().count(), replay.len(), "{}", text(&r));
}
