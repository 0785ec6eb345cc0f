//! Enterprise cases end to end: gRPC over a real socket, a real SQLite file,
//! the hire linker running inside the server.

use std::time::Duration;

use leye_e2e::{
    EnterpriseClient, bad_fields, credit_code, ctx, date, days_ago, reason, register_request, resident_id, spawn, today,
};
use leye_proto::{
    enterprise::v1::{self as pb, get_enterprise_request::AsOf},
    person::v1 as person_pb,
};

const BODY: &str = "91120111MA05JX0K0";

fn registration(code: &str, insured: u32) -> pb::EnterpriseRegistration {
    pb::EnterpriseRegistration {
        credit_code: code.into(),
        name: "天津西青测试制造有限公司".into(),
        district: "120111".into(),
        industry_code: "C3411".into(),
        insured_employees: insured,
        small_micro: false,
        kinds: vec![pb::EnterpriseKind::TechStartUp as i32],
        check_character_confirmed: false,
    }
}

async fn register(client: &mut EnterpriseClient, reg: pb::EnterpriseRegistration) -> Result<String, tonic::Status> {
    let r = client
        .register_enterprise(pb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(400),
            registration: Some(reg),
        })
        .await?;
    Ok(r.into_inner().result.unwrap().case_id)
}

async fn get(client: &mut EnterpriseClient, case_id: &str) -> pb::EnterpriseCase {
    client
        .get_enterprise(pb::GetEnterpriseRequest { case_id: case_id.into(), as_of: None })
        .await
        .expect("get enterprise")
        .into_inner()
        .case
        .expect("the answer holds the case")
}

/// A code of the right form whose check character is wrong.
fn early_code() -> String {
    let good = credit_code(BODY);
    let wrong = if good.ends_with('0') { '1' } else { '0' };
    format!("{BODY}{wrong}")
}

#[tokio::test]
async fn credit_codes_failing_the_check_need_confirmation_and_say_so() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let refused = register(&mut c, registration(&early_code(), 10)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(bad_fields(&refused), ["registration.credit_code"]);
    assert!(refused.message().contains("check_character_confirmed"), "{}", refused.message());
    assert_eq!(server.event_count(), 0, "a refused registration writes nothing");

    let mut confirmed = registration(&early_code(), 10);
    confirmed.check_character_confirmed = true;
    let id = register(&mut c, confirmed).await.expect("confirmed early code");
    let case = get(&mut c, &id).await;
    assert!(!case.check_character_valid);
    assert!(case.registration.unwrap().check_character_confirmed);
    let found = c
        .find_enterprise_by_credit_code(pb::FindEnterpriseByCreditCodeRequest { credit_code: early_code() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.case_id, id);

    // A valid code needs no confirmation and is recorded as valid; registering twice is refused.
    let id = register(&mut c, registration(&credit_code(BODY), 10)).await.unwrap();
    assert!(get(&mut c, &id).await.check_character_valid);
    let again = register(&mut c, registration(&credit_code(BODY), 10)).await.unwrap_err();
    assert_eq!(reason(&again).as_deref(), Some("ALREADY_REGISTERED"));

    // Bad input names every field at fault.
    let mut bad = registration("91120111", 10);
    bad.district = "110105".into();
    bad.industry_code = "C-34".into();
    bad.kinds = vec![99];
    let refused = register(&mut c, bad).await.unwrap_err();
    let mut fields = bad_fields(&refused);
    fields.sort();
    assert_eq!(
        fields,
        ["registration.credit_code", "registration.district", "registration.industry_code", "registration.kinds[0]"]
    );
    server.stop().await;
}

#[tokio::test]
async fn layoffs_plans_and_key_enterprise_thresholds() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let id = register(&mut c, registration(&credit_code(BODY), 200)).await.unwrap();

    for (n, people) in [(1, 19u32), (2, 20), (3, 39), (4, 40)] {
        c.report_batch_layoff(pb::ReportBatchLayoffRequest {
            context: ctx(),
            case_id: id.clone(),
            effective_date: days_ago(10),
            layoff: Some(pb::BatchLayoff { layoff_id: format!("l{n}"), people }),
        })
        .await
        .expect("layoff");
    }
    let case = get(&mut c, &id).await;
    let responses: Vec<i32> = case.layoffs.iter().map(|l| l.response).collect();
    use pb::LayoffResponse as R;
    assert_eq!(
        responses,
        [R::RecordOnly, R::WarningAndTracking, R::WarningAndTracking, R::TrainingAndJobFairs].map(|r| r as i32)
    );

    let plan = |id: &str, notice_days: i64| pb::FileLayoffPlanRequest {
        context: ctx(),
        case_id: id.into(),
        effective_date: days_ago(0),
        plan: Some(pb::LayoffPlan {
            plan_id: format!("p{notice_days}"),
            people: 25,
            planned_layoff_on: date(today() + chrono::Duration::days(20)),
            notice_given_on: date(today() + chrono::Duration::days(20 - notice_days)),
        }),
    };
    let short = c.file_layoff_plan(plan(&id, 29)).await.unwrap_err();
    assert_eq!(reason(&short).as_deref(), Some("NOTICE_TOO_SHORT"));
    assert_eq!(bad_fields(&short), ["plan.notice_given_on"]);
    c.file_layoff_plan(plan(&id, 30)).await.expect("30 days' notice is enough");

    let designate =
        pb::DesignateKeyEnterpriseRequest { context: ctx(), case_id: id.clone(), effective_date: days_ago(0) };
    let small = c.designate_key_enterprise(designate.clone()).await.unwrap_err();
    assert_eq!(reason(&small).as_deref(), Some("BELOW_KEY_ENTERPRISE_SIZE"));
    let month = date(today() - chrono::Duration::days(i64::from(chrono::Datelike::day(&today())) - 1));
    c.report_headcount(pb::ReportHeadcountRequest {
        context: ctx(),
        case_id: id.clone(),
        effective_date: days_ago(0),
        headcount: Some(pb::Headcount { month, insured_employees: 201 }),
    })
    .await
    .expect("headcount");
    c.designate_key_enterprise(pb::DesignateKeyEnterpriseRequest { context: ctx(), ..designate })
        .await
        .expect("201 employees make a key enterprise");
    let case = get(&mut c, &id).await;
    assert_eq!(case.insured_employees, 201);
    assert_eq!(case.designated_key_on, days_ago(0));

    let replay =
        c.replay_enterprise(pb::ReplayEnterpriseRequest { case_id: id.clone() }).await.unwrap().into_inner().events;
    let types: Vec<&str> = replay.iter().map(|e| e.metadata.as_ref().unwrap().event_type.as_str()).collect();
    assert_eq!(types[0], "enterprise.registered");
    assert_eq!(types.last(), Some(&"enterprise.designated_key_enterprise"));
    assert_eq!(replay.len(), 1 + 4 + 1 + 1 + 1);
    let as_of_registration = c
        .get_enterprise(pb::GetEnterpriseRequest { case_id: id, as_of: Some(AsOf::Revision(0)) })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    assert!(as_of_registration.layoffs.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_hire_shows_on_both_cases_or_says_why_not() {
    let server = spawn().await;
    let mut people = server.client().await;
    let mut c = server.enterprise_client().await;
    let code = credit_code(BODY);
    let enterprise = register(&mut c, registration(&code, 50)).await.unwrap();
    let person = |n: u32| resident_id("19900101", n);
    let mut case_of = Vec::new();
    for n in [1, 3] {
        let r = people.register_unemployment(register_request(&person(n), days_ago(100))).await.unwrap();
        case_of.push(r.into_inner().result.unwrap().case_id);
    }
    // The second person is already placed elsewhere.
    people
        .record_placement(person_pb::RecordPlacementRequest {
            context: ctx(),
            case_id: case_of[1].clone(),
            effective_date: days_ago(50),
            placement: Some(person_pb::Placement {
                kind: person_pb::PlacementKind::Flexible as i32,
                ..Default::default()
            }),
        })
        .await
        .unwrap();

    let hire = |hire_id: &str, person_case_id: &str| pb::RecordHireRequest {
        context: ctx(),
        case_id: enterprise.clone(),
        effective_date: days_ago(5),
        hire: Some(pb::Hire {
            hire_id: hire_id.into(),
            person_case_id: person_case_id.into(),
            contract_months: 12,
            started_on: days_ago(7),
        }),
    };
    c.record_hire(hire("h1", &case_of[0])).await.expect("hire 1");
    c.record_hire(hire("h2", &case_of[1])).await.expect("hire 2");
    let unknown = c.record_hire(hire("h3", &uuid::Uuid::new_v4().to_string())).await.unwrap_err();
    assert_eq!(bad_fields(&unknown), ["hire.person_case_id"]);

    let mut settled = None;
    for _ in 0..200 {
        let case = get(&mut c, &enterprise).await;
        if case.hires.iter().all(|h| h.link != pb::HireLink::Pending as i32) {
            settled = Some(case);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let case = settled.expect("the linker settles both hires");
    assert_eq!(case.hires[0].link, pb::HireLink::Linked as i32);
    assert_eq!(case.hires[1].link, pb::HireLink::Refused as i32);
    assert_eq!(case.hires[1].refused_code, "ALREADY_PLACED");

    // The first person's case shows the placement, with the employer and the
    // contract of the hire, caused by the hire event.
    let replay = people
        .replay_case(person_pb::ReplayCaseRequest { case_id: case_of[0].clone() })
        .await
        .unwrap()
        .into_inner()
        .events;
    let placed: Vec<_> = replay.iter().filter(|e| e.metadata.as_ref().unwrap().event_type == "person.placed").collect();
    assert_eq!(placed.len(), 1);
    let meta = placed[0].metadata.as_ref().unwrap();
    assert_eq!(meta.actor, "leye-hire-linker");
    assert_eq!(meta.effective_date, days_ago(7));
    let Some(person_pb::person_event::Event::Placed(p)) = placed[0].event.as_ref().unwrap().event.clone() else {
        panic!("not a placement")
    };
    assert_eq!(p.employer_credit_code, code);
    assert_eq!(p.contract_months, Some(12));
    let enterprise_replay =
        c.replay_enterprise(pb::ReplayEnterpriseRequest { case_id: enterprise.clone() }).await.unwrap().into_inner();
    let hire_event = enterprise_replay
        .events
        .iter()
        .find(|e| e.metadata.as_ref().unwrap().event_type == "enterprise.hire_recorded")
        .unwrap();
    assert_eq!(meta.causation_id, hire_event.metadata.as_ref().unwrap().event_id);
    let linked = enterprise_replay
        .events
        .iter()
        .find_map(|e| match e.event.as_ref().unwrap().event.as_ref() {
            Some(pb::enterprise_event::Event::HireLinked(l)) => Some(l.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(linked.placement_event_id, meta.event_id);

    // Restarting the server (the linker reads its log again) links nothing twice.
    // (The policy finder may note eligibilities meanwhile: not counted here.)
    let linker_events = |types: Vec<String>| -> Vec<String> {
        types.into_iter().filter(|t| t.contains("placed") || t.contains("hire")).collect()
    };
    let before = linker_events(server.event_types());
    let dir = server.stop().await;
    let _ = std::fs::remove_file(dir.path().join(leye::linker::CHECKPOINT_FILE));
    let server = leye_e2e::spawn_on(dir).await;
    let _ = server.client().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(linker_events(server.event_types()), before);
    server.stop().await;
}
