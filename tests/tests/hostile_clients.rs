//! Attacks a hostile client would try, through the public gRPC interface
//! only (a real server over TLS, real tokens). Each test states the rule it
//! holds the service to; `refused_*` tests sweep families of attacks.
//!
//! Places: Xiqing (district 120111, the test helpers' default residence) and
//! Heping (district 120101).

use std::time::Duration;

use chrono::Utc;
use leye::client::Bearer;
use leye_auth::{Role, dev};
use leye_e2e::*;
use leye_proto::{analytics::v1 as apb, enterprise::v1 as epb, person::v1 as pb};
use prost::Message as _;
use tonic::{Code, Status, service::interceptor::InterceptedService};
use uuid::Uuid;

const XIQING: &str = "120111";
const HEPING: &str = "120101";

/// A registration living in Heping (district 120101).
fn heping_registration(id: &str) -> pb::Registration {
    pb::Registration {
        hukou: Some(pb::Hukou { district_code: HEPING.into(), nature: pb::HukouNature::Urban as i32 }),
        residence: Some(pb::Residence {
            district_code: HEPING.into(),
            street_code: "120101001".into(),
            community_code: "120101001001".into(),
        }),
        ..registration(id)
    }
}

fn join(case_id: &str, household: &str, relation: pb::HouseholdRelation) -> pb::JoinHouseholdRequest {
    pb::JoinHouseholdRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(30),
        membership: Some(pb::HouseholdMembership { household_id: household.into(), relation: relation as i32 }),
    }
}

fn contact(case_id: &str) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(0),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: "回访".into(),
        }),
    }
}

async fn placed_events(city: &mut Client, case_id: &str) -> Vec<pb::RecordedPersonEvent> {
    city.replay_case(pb::ReplayCaseRequest { case_id: case_id.into() })
        .await
        .expect("city replay")
        .into_inner()
        .events
        .into_iter()
        .filter(|e| e.metadata.as_ref().is_some_and(|m| m.event_type == "person.placed"))
        .collect()
}

/// RULE (README, "What each role may do, where"): person commands are
/// checked against the case's place; "neither district can take a case from
/// the other". A Heping caseworker must not be able to change a Xiqing
/// person's case.
///
/// ATTACK: the Heping caseworker learns the Xiqing person's pseudonymous case
/// id the ordinary way (GetHousehold of a household that has a member in
/// Heping lists every member's case id), registers an enterprise in Heping
/// and records a hire naming the Xiqing person's case. The hire linker
/// (`Access::Service`, no jurisdiction check) then records `person.placed`
/// on the Xiqing case: the spell is closed, Xiqing's targets change, by a
/// principal who is refused `RecordPlacement` on that very case. The
/// enterprise case then also tells the Heping caseworker the outcome on the
/// Xiqing case (`refused_code`, e.g. ALREADY_PLACED).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hire_cannot_place_a_person_outside_the_callers_jurisdiction() {
    let server = spawn().await;
    let mut city = server.client().await;
    let heping_roles = &["caseworker"];
    let mut heping = server.client_as("hp-cw-1", heping_roles, &[HEPING]).await;
    let mut heping_e = server.enterprise_client_as("hp-cw-1", heping_roles, &[HEPING]).await;
    let mut heping_a = server.targets_client_as("hp-cw-1", heping_roles, &[HEPING]).await;

    // A household spanning both districts (legitimate: a family member lives elsewhere).
    let household = Uuid::new_v4().to_string();
    let victim = register_person(&mut city, &resident_id("19900101", 1), days_ago(100)).await;
    city.join_household(join(&victim, &household, pb::HouseholdRelation::Head)).await.expect("join (Xiqing)");
    let own = heping
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(100),
            registration: Some(heping_registration(&resident_id("19920202", 2))),
        })
        .await
        .expect("the Heping caseworker registers a Heping person")
        .into_inner()
        .result
        .unwrap();
    let joined = heping
        .join_household(join(&own.case_id, &household, pb::HouseholdRelation::Child))
        .await
        .expect("join (Heping)")
        .into_inner()
        .result
        .unwrap();

    // The Heping caseworker reads the household (allowed: one member is in Heping).
    let mut members = Vec::new();
    for _ in 0..400 {
        if let Ok(h) = heping_a
            .get_household(apb::GetHouseholdRequest {
                household_id: household.clone(),
                as_of: days_ago(0),
                min_position: joined.global_position,
            })
            .await
        {
            members = h.into_inner().members.into_iter().map(|m| m.case_id).collect();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(members.contains(&victim), "the household view names the Xiqing member's case id: {members:?}");

    // Directly, the Heping caseworker is refused on the Xiqing case.
    let direct = heping
        .record_placement(pb::RecordPlacementRequest {
            context: ctx(),
            case_id: victim.clone(),
            effective_date: days_ago(7),
            placement: Some(pb::Placement { kind: pb::PlacementKind::Flexible as i32, ..Default::default() }),
        })
        .await
        .expect_err("placement on a Xiqing case by a Heping caseworker");
    assert_eq!(direct.code(), Code::PermissionDenied);
    assert_eq!(reason(&direct).as_deref(), Some("OUT_OF_JURISDICTION"));

    // Through a Heping enterprise's hire instead.
    let code = credit_code("91120101MA05JX0K0");
    let enterprise = heping_e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(400),
            registration: Some(epb::EnterpriseRegistration {
                credit_code: code.clone(),
                name: "天津和平测试商贸有限公司".into(),
                district: HEPING.into(),
                industry_code: "F5211".into(),
                insured_employees: 10,
                small_micro: true,
                kinds: vec![],
                check_character_confirmed: false,
            }),
        })
        .await
        .expect("the Heping caseworker registers a Heping enterprise")
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let before = placed_events(&mut city, &victim).await.len();
    let hire = heping_e
        .record_hire(epb::RecordHireRequest {
            context: ctx(),
            case_id: enterprise.clone(),
            effective_date: days_ago(5),
            hire: Some(epb::Hire {
                hire_id: "X1".into(),
                person_case_id: victim.clone(),
                contract_months: 12,
                started_on: days_ago(7),
            }),
        })
        .await;

    // Let the linker settle the hire (if it was accepted).
    let mut refused_code = String::new();
    if hire.is_ok() {
        for _ in 0..400 {
            let case = heping_e
                .get_enterprise(epb::GetEnterpriseRequest { case_id: enterprise.clone(), as_of: None })
                .await
                .expect("own enterprise")
                .into_inner()
                .case
                .unwrap();
            if case.hires.iter().all(|h| h.link != epb::HireLink::Pending as i32) {
                refused_code = case.hires[0].refused_code.clone();
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    let after = placed_events(&mut city, &victim).await;
    let actors: Vec<String> = after.iter().map(|e| e.metadata.as_ref().unwrap().actor.clone()).collect();
    assert_eq!(
        after.len(),
        before,
        "a Heping caseworker changed a Xiqing case through a hire: RecordHire answered {:?}; \
         placements by {actors:?}; refused_code seen by Heping: {refused_code:?}",
        hire.as_ref().map(|_| "OK").map_err(|s| (s.code(), reason(s))),
    );
    // Refused at once, naming the field, and reading as for a case that does not exist.
    let refused = hire.expect_err("the hire is refused");
    assert_eq!(
        (refused.code(), bad_fields(&refused)),
        (Code::InvalidArgument, vec!["hire.person_case_id".to_string()])
    );
    let unknown = heping_e
        .record_hire(epb::RecordHireRequest {
            context: ctx(),
            case_id: enterprise.clone(),
            effective_date: days_ago(5),
            hire: Some(epb::Hire {
                hire_id: "X2".into(),
                person_case_id: Uuid::new_v4().to_string(),
                contract_months: 12,
                started_on: days_ago(7),
            }),
        })
        .await
        .expect_err("a case that does not exist");
    assert_eq!((unknown.code(), unknown.message()), (refused.code(), refused.message()), "the same refusal");
    server.stop().await;
}

/// RULE: no panic on any input from outside; bad input gets INVALID_ARGUMENT
/// naming the field. ATTACK: `ListEligible` with `page_token` =
/// u64::MAX. `check_page` accepts any usize; `read_model::eligible` binds
/// `offset as i64` (-1: SQLite treats a negative OFFSET as 0, so page 1 comes
/// back) and `next_token` computes `offset + shown`, which overflows: a
/// panic in a debug build (the request dies without an answer), a wrapped
/// bogus next token in a release build.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_page_tokens_are_invalid_arguments_not_panics() {
    let server = spawn_with_policy_finder().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let employer = credit_code("91120111MA05JX0K0");
    // Registered 200 days ago, placed with an enterprise 10 days ago, no
    // group: eligible for xiqing.hiring.one-time (see policy_finds_people.rs).
    let case_id = c
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(200),
            registration: Some(pb::Registration {
                groups: vec![],
                graduation: None,
                ..registration(&resident_id("19800101", 11))
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    c.record_placement(pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(10),
        placement: Some(pb::Placement {
            kind: pb::PlacementKind::Enterprise as i32,
            employer_credit_code: employer,
            contract_months: Some(12),
        }),
    })
    .await
    .unwrap();
    let req = |token: &str| apb::ListEligibleRequest {
        jurisdiction: XIQING.into(),
        page_token: token.into(),
        ..Default::default()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(p) = a.list_eligible(req("")).await {
            if p.get_ref().items.iter().any(|i| i.case_id == case_id) {
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "the eligible person is listed within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut failures = Vec::new();
    for token in ["18446744073709551615", "9223372036854775808"] {
        match a.list_eligible(req(token)).await {
            Err(s) if s.code() == Code::InvalidArgument && bad_fields(&s) == ["page_token"] => {}
            Ok(p) if p.get_ref().items.is_empty() && p.get_ref().next_page_token.is_empty() => {}
            Ok(p) => failures.push(format!(
                "page_token {token}: answered page 1 again ({} items, next_page_token {:?})",
                p.get_ref().items.len(),
                p.get_ref().next_page_token
            )),
            Err(s) => failures.push(format!("page_token {token}: {:?} {:?}", s.code(), s.message())),
        }
    }
    // The server is still there.
    a.list_eligible(req("")).await.expect("the server still answers");
    assert!(failures.is_empty(), "out-of-range page tokens:\n{}", failures.join("\n"));
    server.stop().await;
}

/// RULE: a refusal names no person and tells an outsider nothing about a
/// case outside their jurisdiction. ATTACK: a Heping caseworker looks up
/// resident IDs with FindCaseByResidentId, one registered in Xiqing and one
/// never registered: both must read NOT_FOUND, or the answer would tell that
/// the resident is registered (as unemployed) in another district.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_by_resident_id_outside_the_jurisdiction_reads_as_not_found() {
    let server = spawn().await;
    let mut city = server.client().await;
    let registered = resident_id("19900101", 1);
    let never = resident_id("19900101", 3);
    city.register_unemployment(register_request(&registered, days_ago(100))).await.expect("register in Xiqing");
    let mut heping = server.client_as("hp-cw-2", &["caseworker"], &[HEPING]).await;
    let ask = |id: &str| pb::FindCaseByResidentIdRequest { resident_id: id.into() };
    let a = heping.find_case_by_resident_id(ask(&registered)).await.expect_err("outside");
    let b = heping.find_case_by_resident_id(ask(&never)).await.expect_err("never registered");
    for s in [&a, &b] {
        assert!(!s.message().contains(&registered) && !s.message().contains(&never), "no ID in {:?}", s.message());
    }
    assert_eq!(
        (a.code(), reason(&a)),
        (b.code(), reason(&b)),
        "an outsider tells a registered resident ID from an unregistered one"
    );
    server.stop().await;
}

/// Cross-district reads and writes by id, as-of, replay, duplicate command
/// ids, expected revisions: all PERMISSION_DENIED and nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_cross_district_reads_writes_and_replays() {
    let server = spawn().await;
    let mut city = server.client().await;
    let command = Uuid::new_v4();
    let case_id = city
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx_with(command),
            effective_date: days_ago(100),
            registration: Some(registration(&resident_id("19900101", 1))),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    let roles = &["caseworker", "supervisor", "auditor"];
    let mut out = server.client_as("hp-boss", roles, &[HEPING]).await;
    let before = server.event_count();
    let mut failures = Vec::new();
    let mut expect_denied = |what: &str, r: Result<(), Status>| match r {
        Err(s) if s.code() == Code::PermissionDenied => {
            if s.message().contains("19900101") || s.message().contains("王小明") {
                failures.push(format!("{what}: message names the person: {}", s.message()));
            }
        }
        other => failures.push(format!("{what}: {:?}", other.map_err(|s| (s.code(), s.message().to_string())))),
    };
    use pb::get_case_request::AsOf;
    for as_of in [None, Some(AsOf::Revision(0)), Some(AsOf::EffectiveDate(days_ago(50)))] {
        let r = out.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of }).await.map(|_| ());
        expect_denied("GetCase", r);
    }
    let r = out.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.map(|_| ());
    expect_denied("ReplayCase", r);
    let r = out.record_contact(contact(&case_id)).await.map(|_| ());
    expect_denied("RecordContact", r);
    let mut pinned = contact(&case_id);
    pinned.context.as_mut().unwrap().expected_revision = Some(0);
    expect_denied("RecordContact pinned", out.record_contact(pinned).await.map(|_| ()));
    // The registration replayed by the outsider with the original command id.
    let replayed = out
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx_with(command),
            effective_date: days_ago(100),
            registration: Some(registration(&resident_id("19900101", 1))),
        })
        .await
        .map(|_| ());
    expect_denied("RegisterUnemployment replay", replayed);
    // Moving the Xiqing person to Heping (take the case).
    let moved = out
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(1),
            registration: Some(heping_registration(&resident_id("19900101", 1))),
        })
        .await
        .map(|_| ());
    expect_denied("RegisterUnemployment move", moved);
    let erase = out
        .erase_personal_data(pb::ErasePersonalDataRequest {
            context: ctx(),
            case_id: case_id.clone(),
            ..Default::default()
        })
        .await
        .map(|_| ());
    match erase {
        Err(s) if matches!(s.code(), Code::PermissionDenied | Code::InvalidArgument) => {}
        other => failures.push(format!("ErasePersonalData: {:?}", other.map_err(|s| s.code()))),
    }
    assert_eq!(server.event_count(), before, "refused requests wrote events");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.stop().await;
}

/// Bad input: dates out of range, unknown enum values, resident IDs in free
/// text, overlong names, reused command ids: INVALID_ARGUMENT (or
/// ALREADY_EXISTS) naming the field, never echoing the person, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_bad_input_without_echo() {
    let server = spawn().await;
    let mut c = server.client().await;
    let id = resident_id("19900101", 1);
    let case_id = register_person(&mut c, &id, days_ago(100)).await;
    let before = server.event_count();
    let mut failures = Vec::new();
    let mut check = |what: &str, r: Result<(), Status>, field: &str, secret: &str| match r {
        Err(s) if s.code() == Code::InvalidArgument => {
            if !bad_fields(&s).iter().any(|f| f == field) {
                failures.push(format!("{what}: fields {:?}, expected {field}", bad_fields(&s)));
            }
            if !secret.is_empty() && s.message().contains(secret) {
                failures.push(format!("{what}: the message echoes the input: {}", s.message()));
            }
        }
        other => failures.push(format!("{what}: {:?}", other.map_err(|s| (s.code(), s.message().to_string())))),
    };
    for d in ["0000-00-00", "99999-01-01", "1899-12-31", "2024-02-30", "2024-1-1", "+2024-01-01", ""] {
        let mut r = contact(&case_id);
        r.effective_date = d.into();
        check(&format!("date {d:?}"), c.record_contact(r).await.map(|_| ()), "effective_date", "");
    }
    let mut bad_enum = register_request(&resident_id("19900101", 5), days_ago(10));
    bad_enum.registration.as_mut().unwrap().education = 999;
    check("education 999", c.register_unemployment(bad_enum).await.map(|_| ()), "registration.education", "");
    let mut negative_enum = contact(&case_id);
    negative_enum.contact.as_mut().unwrap().channel = -1;
    check("channel -1", c.record_contact(negative_enum).await.map(|_| ()), "contact.channel", "");
    // A wrong check character: the ID must not come back.
    let wrong = format!("{}0", &id[..17]);
    let wrong = if wrong == id { format!("{}1", &id[..17]) } else { wrong };
    check(
        "bad check char",
        c.register_unemployment(register_request(&wrong, days_ago(10))).await.map(|_| ()),
        "registration.resident_id",
        &wrong[..17],
    );
    // A resident ID in a note.
    let mut note = contact(&case_id);
    note.contact.as_mut().unwrap().note = format!("身份证{id}");
    check("ID in note", c.record_contact(note).await.map(|_| ()), "contact.note", &id);
    // An overlong name with a marker.
    let mut long = register_request(&resident_id("19900101", 7), days_ago(10));
    long.registration.as_mut().unwrap().name = format!("张{}", "三".repeat(300));
    check("long name", c.register_unemployment(long).await.map(|_| ()), "registration.name", "三三三三");
    // Bidi override in the office.
    let mut bidi = contact(&case_id);
    bidi.context.as_mut().unwrap().office = "office\u{202E}x".into();
    check("bidi office", c.record_contact(bidi).await.map(|_| ()), "context.office", "");
    // Command id reused with a different body.
    let cmd = Uuid::new_v4();
    let mut first = contact(&case_id);
    first.context = ctx_with(cmd);
    c.record_contact(first).await.expect("first contact");
    let mut second = contact(&case_id);
    second.context = ctx_with(cmd);
    second.contact.as_mut().unwrap().note = "another".into();
    match c.record_contact(second).await {
        Err(s) if s.code() == Code::AlreadyExists => {}
        other => failures.push(format!("reused command id: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }
    // Pinned to a stale revision.
    let mut stale = contact(&case_id);
    stale.context.as_mut().unwrap().expected_revision = Some(0);
    match c.record_contact(stale).await {
        Err(s) if s.code() == Code::Aborted => {}
        other => failures.push(format!("stale revision: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }
    assert_eq!(server.event_count(), before + 1, "only the first contact is written");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.stop().await;
}

/// Role and principal attacks: analyst on case reads, system principal
/// outside its operations, claims naming no or foreign jurisdiction, a
/// context naming another actor, a huge bearer token; the server stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_role_principal_and_token_attacks() {
    let server = spawn().await;
    let mut city = server.client().await;
    let case_id = register_person(&mut city, &resident_id("19900101", 1), days_ago(100)).await;
    let before = server.event_count();
    let mut failures = Vec::new();
    let get = |id: &str| pb::GetCaseRequest { case_id: id.into(), as_of: None };

    let mut analyst = server.client_as("an-1", &["analyst"], CITY).await;
    match analyst.get_case(get(&case_id)).await {
        Err(s) if s.code() == Code::PermissionDenied && reason(&s).as_deref() == Some("ROLE_MISSING") => {}
        other => failures.push(format!("analyst GetCase: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }
    match analyst
        .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident_id("19900101", 1) })
        .await
    {
        Err(s) if s.code() == Code::PermissionDenied => {}
        other => failures.push(format!("analyst Find: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }

    let key = leye::trust::dev_issuer(server.data_dir.path()).expect("issuer").0;
    let token_of = |claims: dev::DevClaims| dev::issue_token(&key, &claims, Utc::now().timestamp()).expect("token");
    let client_of = |token: String| {
        let server = &server;
        async move {
            PersonCaseServiceClientT::new(InterceptedService::new(
                server.channel().await,
                Bearer::new(&token).expect("bearer"),
            ))
        }
    };
    // A system principal granted only GetCase tries a command.
    let system = dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        operations: vec!["leye.person.v1.PersonCaseService/GetCase".into()],
        ..dev::DevClaims::new("sys-hr", &[Role::System], CITY)
    };
    let mut sys = client_of(token_of(system)).await;
    sys.get_case(get(&case_id)).await.expect("the granted operation");
    match sys.record_contact(contact(&case_id)).await {
        Err(s) if s.code() == Code::PermissionDenied => {}
        other => failures.push(format!("system beyond grant: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }
    // Claims with no, foreign or malformed jurisdictions.
    for j in [vec![], vec!["110101"], vec!["12"], vec!["120111 "], vec!["1201110"], vec!["120000x"]] {
        let claims = dev::DevClaims {
            key_id: Some(leye::trust::DEV_KEY_ID.into()),
            ..dev::DevClaims::new("cw-j", &[Role::Caseworker], &j)
        };
        let mut c = client_of(token_of(claims)).await;
        match c.get_case(get(&case_id)).await {
            Err(s) if matches!(s.code(), Code::Unauthenticated | Code::PermissionDenied) => {}
            other => failures.push(format!("jurisdiction {j:?}: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
        }
        match c.record_contact(contact(&case_id)).await {
            Err(s) if matches!(s.code(), Code::Unauthenticated | Code::PermissionDenied) => {}
            other => failures.push(format!("jurisdiction {j:?} write: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
        }
    }
    // The context naming another actor.
    let mut spoof = contact(&case_id);
    spoof.context.as_mut().unwrap().actor = "chief-0007".into();
    match city.record_contact(spoof).await {
        Err(s) if s.code() == Code::PermissionDenied && reason(&s).as_deref() == Some("CONTEXT_MISMATCH") => {}
        other => failures.push(format!("context.actor: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }
    let mut spoof = contact(&case_id);
    spoof.context.as_mut().unwrap().roles = vec!["supervisor".into()];
    match city.record_contact(spoof).await {
        Err(s) if s.code() == Code::PermissionDenied => {}
        other => failures.push(format!("context.roles: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }
    // A 60 KB bearer token.
    let huge = format!("eyJhbGciOiJFZERTQSJ9.{}.AAAA", "A".repeat(60_000));
    if let Ok(b) = Bearer::new(&huge) {
        let mut c = PersonCaseServiceClientT::new(InterceptedService::new(server.channel().await, b));
        if c.get_case(get(&case_id)).await.is_ok() {
            failures.push("a huge garbage token was accepted".into());
        }
    }
    // The server still answers.
    city.get_case(get(&case_id)).await.expect("the server still answers");
    assert_eq!(server.event_count(), before, "refused requests wrote events");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.stop().await;
}

type PersonCaseServiceClientT<T> = pb::person_case_service_client::PersonCaseServiceClient<T>;

/// Oversized request (over 64 KiB) and analytics area attacks: OUT_OF_RANGE,
/// OUT_OF_JURISDICTION, INVALID_ARGUMENT; household of another district.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_oversize_and_area_attacks() {
    let server = spawn().await;
    let mut city = server.client().await;
    let household = Uuid::new_v4().to_string();
    let case_id = register_person(&mut city, &resident_id("19900101", 1), days_ago(100)).await;
    let joined = city
        .join_household(join(&case_id, &household, pb::HouseholdRelation::Head))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    let mut failures = Vec::new();
    let before = server.event_count();
    let mut big = contact(&case_id);
    big.contact.as_mut().unwrap().note = "x".repeat(70_000);
    assert!(big.encoded_len() > 65_536);
    match city.record_contact(big).await {
        Err(s) if s.code() == Code::OutOfRange => {}
        other => failures.push(format!("oversize: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }
    let mut a = server.targets_client_as("an-hp", &["analyst"], &[HEPING]).await;
    for j in ["120111", "", "120000", "120111001", "1201", "120101\u{0}", "120101' OR 1=1 --"] {
        let r = a
            .list_actions(apb::ListActionsRequest {
                list: apb::ActionList::LongTermUnemployed as i32,
                jurisdiction: j.into(),
                ..Default::default()
            })
            .await;
        match r {
            Err(s) if matches!(s.code(), Code::PermissionDenied | Code::InvalidArgument) => {}
            other => failures.push(format!("ListActions {j:?}: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
        }
    }
    for token in ["-1", "abc", "1e3", " 1"] {
        let r = a
            .list_actions(apb::ListActionsRequest {
                list: apb::ActionList::LongTermUnemployed as i32,
                jurisdiction: HEPING.into(),
                page_token: token.into(),
                ..Default::default()
            })
            .await;
        match r {
            Err(s) if s.code() == Code::InvalidArgument => {}
            other => failures.push(format!("page_token {token:?}: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
        }
    }
    // A Xiqing household read from Heping, once the read model holds it.
    let mut own = server.targets_client().await;
    for _ in 0..400 {
        let r = own
            .get_household(apb::GetHouseholdRequest {
                household_id: household.clone(),
                as_of: days_ago(0),
                min_position: joined.global_position,
            })
            .await;
        if r.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    match a
        .get_household(apb::GetHouseholdRequest {
            household_id: household.clone(),
            as_of: String::new(),
            min_position: 0,
        })
        .await
    {
        Err(s) if s.code() == Code::PermissionDenied => {}
        other => failures.push(format!("foreign household: {:?}", other.map(|_| ()).map_err(|s| s.code()))),
    }
    assert_eq!(server.event_count(), before);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.stop().await;
}

/// RULE: bad input gets INVALID_ARGUMENT naming the field and the rule.
/// ATTACK: a string field holding invalid UTF-8, and a message nested past
/// prost's recursion limit, sent as raw protobuf bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_undecodable_requests_are_invalid_argument() {
    let server = spawn().await;
    let mut grpc = tonic::client::Grpc::new(server.authed(DEFAULT_SUBJECT, DEFAULT_ROLES, CITY).await);
    let before = server.event_count();
    let mut failures = Vec::new();
    // GetCaseRequest.case_id (field 1, string) = 0xff 0xfe.
    let bad_utf8 = vec![0x0a, 0x02, 0xff, 0xfe];
    // RecordContactRequest.context (field 1, message) with invalid UTF-8 in command_id (field 1).
    let nested_bad = vec![0x0a, 0x04, 0x0a, 0x02, 0xc3, 0x28];
    for (what, op, body) in [
        ("invalid UTF-8 in case_id", "leye.person.v1.PersonCaseService/GetCase", bad_utf8),
        ("invalid UTF-8 in context.command_id", "leye.person.v1.PersonCaseService/RecordContact", nested_bad),
        ("truncated message", "leye.person.v1.PersonCaseService/GetCase", vec![0x0a, 0x10, b'a']),
    ] {
        match raw::call(&mut grpc, op, body).await {
            Err(s) if s.code() == Code::InvalidArgument => {}
            other => failures.push(format!(
                "{what}: {:?}",
                other.map_err(|s| (s.code(), s.message().chars().take(160).collect::<String>()))
            )),
        }
    }
    // The server still answers.
    raw::call(&mut grpc, "leye.person.v1.PersonCaseService/GetCase", pb::GetCaseRequest::default().encode_to_vec())
        .await
        .expect_err("an empty case id is refused");
    assert_eq!(server.event_count(), before);
    assert!(failures.is_empty(), "undecodable requests:\n{}", failures.join("\n"));
    server.stop().await;
}

/// RULE: GetHousehold is reached through the places of its members on the
/// date asked. ATTACK:
/// a Heping person joins a Xiqing household and leaves it at once; long after,
/// the Heping caseworker still reads the household's current members (Xiqing
/// case ids, employment) through the former member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_is_not_reachable_through_a_former_member() {
    let server = spawn().await;
    let mut city = server.client().await;
    let household = Uuid::new_v4().to_string();
    let victim = register_person(&mut city, &resident_id("19900101", 1), days_ago(100)).await;
    city.join_household(join(&victim, &household, pb::HouseholdRelation::Head)).await.unwrap();
    let own = city
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(100),
            registration: Some(heping_registration(&resident_id("19920202", 2))),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    city.join_household(join(&own, &household, pb::HouseholdRelation::Child)).await.unwrap();
    let left = city
        .leave_household(pb::LeaveHouseholdRequest {
            context: ctx(),
            case_id: own.clone(),
            effective_date: days_ago(29),
            leave: Some(pb::HouseholdLeave { household_id: household.clone() }),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    let mut a = server.targets_client_as("hp-cw-3", &["caseworker"], &[HEPING]).await;
    let mut answer = None;
    for _ in 0..400 {
        match a
            .get_household(apb::GetHouseholdRequest {
                household_id: household.clone(),
                as_of: days_ago(0),
                min_position: left.global_position,
            })
            .await
        {
            Ok(h) => {
                answer = Some(Ok(h.into_inner()));
                break;
            }
            Err(s) if s.code() == Code::Unavailable || s.code() == Code::NotFound => {}
            Err(s) => {
                answer = Some(Err((s.code(), reason(&s))));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    match answer.expect("an answer") {
        Err((code, _)) => assert_eq!(code, Code::PermissionDenied),
        Ok(h) => panic!(
            "a Heping caseworker reads a Xiqing household today through a member who left 29 days ago: members {:?}",
            h.members.iter().map(|m| (m.case_id.clone(), m.member, m.employed)).collect::<Vec<_>>()
        ),
    }
    server.stop().await;
}
