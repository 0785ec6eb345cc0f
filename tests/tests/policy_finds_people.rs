//! Policy finds people (政策找人), end to end: a real `leye serve` (policy
//! finder on) over a socket and a SQLite file. Commands over gRPC; the finder
//! notes the eligibility on the person's case; the projector folds it; the
//! analysts' `ListEligible` lists it with the clause, and drops it once the
//! programme is granted. The same for an enterprise, from its own case.
//!
//! The rule, from the shipped catalogue (`policies/xiqing.toml`):
//! `xiqing.hiring.one-time`, 000 § 9, Xiqing (120111), in force from
//! 2020-05-18 with no end, one-time fixed 1 000 yuan (100 000 fen) paid to the
//! enterprise: the placement is `enterprise`, and one of: registered
//! unemployed 6 full months or more (以上 includes 6), a migrant worker, a
//! graduate.
//!
//! Worked out by hand:
//! - A lives in Xiqing, no group, registered 200 days ago, placed with an
//!   enterprise 10 days ago: the spell lasted 190 days, more than 6 full months
//!   (at most 184 days) → eligible through the first alternative.
//! - B lives in Xiqing, no group, registered 100 days ago, placed with an
//!   enterprise 10 days ago: 90 days, 2 or 3 full months → not eligible
//!   (not a migrant worker, not a graduate).
//! - No other rule of the catalogue in force in 120111 today holds for either:
//!   the other Xiqing hiring rules need enterprise facts or an earlier grant;
//!   the city-wide rule needs an attestation.

use std::time::Duration;

use leye_e2e::*;
use leye_proto::{
    analytics::v1 as apb,
    person::v1::{self as pb, person_event::Event},
};

const RULE: &str = "xiqing.hiring.one-time";
const PROGRAMME: &str = "xiqing-hiring-one-time";

fn xiqing_person(id: &str) -> pb::Registration {
    pb::Registration { groups: vec![], graduation: None, ..registration(id) }
}

async fn register_and_place(c: &mut Client, id: &str, registered_ago: i64, employer: &str) -> String {
    let case_id = c
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(registered_ago),
            registration: Some(xiqing_person(id)),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    place(c, &case_id, employer).await;
    case_id
}

async fn place(c: &mut Client, case_id: &str, employer: &str) {
    c.record_placement(pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(10),
        placement: Some(pb::Placement {
            kind: pb::PlacementKind::Enterprise as i32,
            employer_credit_code: employer.into(),
            contract_months: Some(12),
        }),
    })
    .await
    .unwrap();
}

fn request(jurisdiction: &str, programme: &str) -> apb::ListEligibleRequest {
    apb::ListEligibleRequest { jurisdiction: jurisdiction.into(), programme: programme.into(), ..Default::default() }
}

/// Asks until `done` holds for the answer (the finder and the projector work
/// in the background), for at most 30 s.
async fn eventually(
    a: &mut leye_e2e::TargetsClient,
    req: apb::ListEligibleRequest,
    what: &str,
    done: impl Fn(&apb::ListEligibleResponse) -> bool,
) -> apb::ListEligibleResponse {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match a.list_eligible(req.clone()).await {
            Ok(page) if done(page.get_ref()) => return page.into_inner(),
            Ok(_) => {}
            Err(s) => assert_eq!(s.code(), tonic::Code::Unavailable, "only 'not built yet' is expected: {s:?}"),
        }
        assert!(std::time::Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eligible_person_is_listed_with_the_clause_until_the_programme_is_granted() {
    let server = spawn_with_policy_finder().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let employer = credit_code("91120111MA05JX0K0");

    // B first, A last: the finder and the projector follow the log in order,
    // so once A is listed, B has been examined too.
    let b = register_and_place(&mut c, &resident_id("19850505", 12), 100, &employer).await;
    let a_case = register_and_place(&mut c, &resident_id("19800101", 11), 200, &employer).await;

    let page =
        eventually(&mut a, request("120111", ""), "A listed", |p| p.items.iter().any(|i| i.case_id == a_case)).await;
    assert_eq!(page.total, 1, "only A: {page:?}");
    assert!(page.items.iter().all(|i| i.case_id != b), "B is not eligible");
    let item = &page.items[0];
    assert_eq!((item.rule_id.as_str(), item.programme.as_str()), (RULE, PROGRAMME));
    assert_eq!((item.clause.as_str(), item.amount_fen), ("000 § 9", Some(100_000)));
    assert_eq!((item.rule_valid_from.as_str(), item.found_on.clone()), ("2020-05-18", days_ago(0)));
    assert_eq!((item.district.as_str(), item.community.as_str()), ("120111", "120111001002"));
    let checks: Vec<&str> = item.reasons.iter().map(|r| r.check.as_str()).collect();
    for check in ["in_force", "placement_kinds", "any_of", "any_of[0].min_months_registered_unemployed", "one_time"] {
        assert!(checks.contains(&check), "{check} missing from {checks:?}");
    }
    assert!(item.reasons.iter().all(|r| r.clause == "000 § 9"), "every reason cites the clause");
    // Pseudonymous: no name, no resident ID anywhere in the answer.
    let text = format!("{page:?}");
    assert!(!text.contains("王小明") && !text.contains("1980010101"), "{text}");

    // Filters: another district, another programme, a community.
    assert_eq!(a.list_eligible(request("120101", "")).await.unwrap().into_inner().total, 0);
    assert_eq!(a.list_eligible(request("", "xiqing-startup-success")).await.unwrap().into_inner().total, 0);
    assert_eq!(a.list_eligible(request("120111001002", PROGRAMME)).await.unwrap().into_inner().total, 1);
    let bad = a.list_eligible(request("12011", "Not A Programme")).await.unwrap_err();
    assert_eq!(bad_fields(&bad), vec!["jurisdiction".to_string(), "programme".to_string()]);

    // The event other systems subscribe to, on A's own stream.
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: a_case.clone() }).await.unwrap().into_inner();
    let noted: Vec<_> = replay
        .events
        .iter()
        .filter(|e| e.metadata.as_ref().unwrap().event_type == "person.eligibility_found")
        .collect();
    assert_eq!(noted.len(), 1, "noted once");
    let meta = noted[0].metadata.as_ref().unwrap();
    assert_eq!((meta.actor.as_str(), meta.office.as_str()), ("leye-policy-finder", "leye"));
    let Some(Event::EligibilityFound(f)) = &noted[0].event.as_ref().unwrap().event else { panic!("{noted:?}") };
    assert_eq!((f.rule_id.as_str(), f.clause.as_str(), f.amount_fen), (RULE, "000 § 9", Some(100_000)));
    // And on the case a caseworker opens.
    let case = c.get_case(pb::GetCaseRequest { case_id: a_case.clone(), as_of: None }).await.unwrap().into_inner();
    let case = case.case.unwrap();
    let noted: Vec<(&str, &str)> = case
        .eligibilities
        .iter()
        .map(|e| (e.finding.as_ref().unwrap().rule_id.as_str(), e.found_on.as_str()))
        .collect();
    assert_eq!(noted, vec![(RULE, days_ago(0).as_str())]);

    // Granted (proposed under the rule, approved by a supervisor): A leaves the list.
    c.propose_subsidy(pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: a_case.clone(),
        effective_date: days_ago(0),
        proposal_id: "P1".into(),
        rule_id: RULE.into(),
        payee: Some(pb::Payee { payee: Some(pb::payee::Payee::EnterpriseCreditCode(employer.clone())) }),
        inputs: None,
    })
    .await
    .unwrap();
    let mut supervisor = server.client_as("staff-0099", &["supervisor"], leye_e2e::CITY).await;
    supervisor
        .approve_subsidy(pb::ApproveSubsidyRequest {
            context: ctx(),
            case_id: a_case.clone(),
            effective_date: days_ago(0),
            proposal_id: "P1".into(),
        })
        .await
        .unwrap();
    let page = eventually(&mut a, request("", ""), "A gone", |p| p.items.iter().all(|i| i.case_id != a_case)).await;
    assert_eq!(page.total, 0, "{page:?}");
    // And nothing else was noted on either case meanwhile.
    for case_id in [&a_case, &b] {
        let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap().into_inner();
        let n = replay
            .events
            .iter()
            .filter(|e| e.metadata.as_ref().unwrap().event_type == "person.eligibility_found")
            .count();
        assert_eq!(n, usize::from(case_id == &a_case), "case {case_id}");
    }
    server.stop().await;
}

/// An enterprise from its own case: a small/micro enterprise in Xiqing with
/// 10 insured staff that hires 2 people this year meets
/// `xiqing.loan.small-micro` (000 § 14: small/micro, new hires reaching 20 %
/// of staff, 达到 inclusive; an interest subsidy, so no fixed amount).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eligible_enterprise_is_listed_at_district_level() {
    use leye_proto::enterprise::v1 as epb;
    let server = spawn_with_policy_finder().await;
    let mut c = server.client().await;
    let mut e = server.enterprise_client().await;
    let mut a = server.targets_client().await;
    let code = credit_code("91120111MA05JX0K1");
    let enterprise = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(0),
            registration: Some(epb::EnterpriseRegistration {
                credit_code: code,
                name: "天津西青测试制造有限公司".into(),
                district: "120111".into(),
                industry_code: "C3411".into(),
                insured_employees: 10,
                small_micro: true,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    for (i, birth) in ["19900101", "19910202"].into_iter().enumerate() {
        let person = c
            .register_unemployment(pb::RegisterUnemploymentRequest {
                context: ctx(),
                effective_date: days_ago(0),
                registration: Some(xiqing_person(&resident_id(birth, 21 + i as u32))),
            })
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap()
            .case_id;
        e.record_hire(epb::RecordHireRequest {
            context: ctx(),
            case_id: enterprise.clone(),
            effective_date: days_ago(0),
            hire: Some(epb::Hire {
                hire_id: format!("h{i}"),
                person_case_id: person,
                contract_months: 12,
                started_on: days_ago(0),
            }),
        })
        .await
        .unwrap();
    }
    let page = eventually(&mut a, request("120111", "xiqing-small-micro-loan"), "the enterprise listed", |p| {
        p.items.iter().any(|i| i.case_id == enterprise)
    })
    .await;
    let item = page.items.iter().find(|i| i.case_id == enterprise).unwrap();
    assert_eq!((item.case_kind.as_str(), item.rule_id.as_str()), ("enterprise", "xiqing.loan.small-micro"));
    assert_eq!((item.clause.as_str(), item.amount_fen), ("000 § 14", None));
    assert_eq!((item.district.as_str(), item.community.as_str()), ("120111", "120111"));
    assert!(item.reasons.iter().any(|r| r.check == "new_hires" && r.detail.starts_with("2 new hires")), "{item:?}");
    let case = e
        .get_enterprise(epb::GetEnterpriseRequest { case_id: enterprise.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    let rules: Vec<&str> = case.eligibilities.iter().map(|e| e.finding.as_ref().unwrap().rule_id.as_str()).collect();
    assert_eq!(rules, vec!["xiqing.loan.small-micro"]);
    // An enterprise has no street: a street-level list does not show it.
    let street = a.list_eligible(request("120111001", "xiqing-small-micro-loan")).await.unwrap().into_inner();
    assert!(street.items.iter().all(|i| i.case_id != enterprise));
    server.stop().await;
}

/// A Heping resident hired by a Xiqing enterprise that has a case: the hiring
/// subsidy is paid to the enterprise and claimed under the enterprise's
/// district (as ProposeSubsidy decides it), so Xiqing's 000 § 9 is found for
/// a person living outside Xiqing, and listed where the person lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hiring_subsidy_is_found_under_the_employers_district() {
    use leye_proto::enterprise::v1 as epb;
    let server = spawn_with_policy_finder().await;
    let mut c = server.client().await;
    let mut e = server.enterprise_client().await;
    let mut a = server.targets_client().await;
    let code = credit_code("91120111MA05JX0K2");
    e.register_enterprise(epb::RegisterEnterpriseRequest {
        context: ctx(),
        effective_date: days_ago(300),
        registration: Some(epb::EnterpriseRegistration {
            credit_code: code.clone(),
            name: "天津西青测试制造有限公司".into(),
            district: "120111".into(),
            industry_code: "C3411".into(),
            insured_employees: 50,
            ..Default::default()
        }),
    })
    .await
    .unwrap();
    let mut reg = xiqing_person(&resident_id("19820808", 31));
    let residence = reg.residence.as_mut().unwrap();
    residence.district_code = "120101".into();
    residence.street_code = "120101001".into();
    residence.community_code = "120101001001".into();
    let case_id = c
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: ctx(),
            effective_date: days_ago(200),
            registration: Some(reg),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    place(&mut c, &case_id, &code).await;
    let page = eventually(&mut a, request("120101", PROGRAMME), "listed in Heping", |p| {
        p.items.iter().any(|i| i.case_id == case_id)
    })
    .await;
    assert_eq!(page.items[0].rule_id, RULE);
    assert_eq!(page.items[0].district, "120101", "listed where the person lives");
    server.stop().await;
}
