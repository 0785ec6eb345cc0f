//! Subsidies end to end: proposed under a rule of the shipped policy catalogue,
//! refused with the clause when the rule says no, approved only by another
//! user with the supervisor role. gRPC over a real socket, a real SQLite file.
//!
//! Scenarios worked out by hand from the seeds:
//! - 000 § 13 (Xiqing): a Xiqing-hukou person with a start-up training
//!   certificate gets 500 yuan once (`xiqing.startup.training-certificate`).
//! - 002 #38 (Binhai): public-welfare posts, "累计安置不超过2次": a third
//!   placement is refused; a second one only once the first subsidy ran its
//!   term (补贴期满), which these placements did not
//!   (`binhai.placement.public-welfare-post`).

use chrono::{Datelike, Duration, NaiveDate};
use leye_e2e::{
    CITY, Client, EnterpriseClient, TestServer, bad_fields, credit_code, ctx, date, days_ago, dry_run,
    enterprise_proposal, reason, register_request, resident_id, spawn, today,
};
use leye_proto::{enterprise::v1 as epb, person::v1 as pb};
use tonic_types::StatusExt;

const STARTUP: &str = "xiqing.startup.training-certificate";
const WELFARE: &str = "binhai.placement.public-welfare-post";

fn person_payee() -> Option<pb::Payee> {
    Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) })
}

fn propose(case_id: &str, proposal_id: &str, rule_id: &str, on: String) -> pb::ProposeSubsidyRequest {
    pb::ProposeSubsidyRequest {
        context: ctx(), // actor staff-0042
        case_id: case_id.into(),
        effective_date: on,
        proposal_id: proposal_id.into(),
        rule_id: rule_id.into(),
        payee: person_payee(),
        inputs: None,
    }
}

/// A person-case client as `actor` with `roles`, city-wide.
async fn as_(server: &TestServer, actor: &str, roles: &[&str]) -> Client {
    server.client_as(actor, roles, CITY).await
}

fn approve(case_id: &str, proposal_id: &str) -> pb::ApproveSubsidyRequest {
    pb::ApproveSubsidyRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(0),
        proposal_id: proposal_id.into(),
    }
}

/// A Xiqing person (registration() has Xiqing hukou and residence) with a
/// start-up training certificate.
async fn trained_person(c: &mut Client, seq: u32) -> String {
    let id = resident_id("19900101", seq);
    let case_id = c
        .register_unemployment(register_request(&id, days_ago(200)))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    c.enrol_training(pb::EnrolTrainingRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(150),
        training: Some(pb::TrainingEnrolment {
            training_id: "T1".into(),
            programme: pb::TrainingProgramme::StartUpMalanhua as i32,
            provider: "西青区职业培训学校".into(),
        }),
    })
    .await
    .unwrap();
    c.complete_training(pb::CompleteTrainingRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(120),
        completion: Some(pb::TrainingCompletion { training_id: "T1".into(), certificate: "CERT-1".into() }),
    })
    .await
    .unwrap();
    case_id
}

fn refused_checks(status: &tonic::Status) -> Vec<(String, String)> {
    status
        .get_error_details()
        .precondition_failure()
        .map(|p| p.violations.iter().map(|v| (v.r#type.clone(), v.subject.clone())).collect())
        .unwrap_or_default()
}

async fn case(c: &mut Client, case_id: &str) -> pb::PersonCase {
    c.get_case(pb::GetCaseRequest { case_id: case_id.into(), as_of: None }).await.unwrap().into_inner().case.unwrap()
}

#[tokio::test]
async fn a_grant_over_the_cap_or_a_second_one_time_grant_is_refused_citing_the_clause() {
    let server = spawn().await;
    let mut c = server.client().await;
    let case_id = trained_person(&mut c, 1).await;
    let before = server.event_count();

    // Over the cap: 600 yuan asked, the rule fixes 500.
    let mut over = propose(&case_id, "P1", STARTUP, days_ago(100));
    over.inputs = Some(pb::ProposalInputs { amount_fen: 60_000, ..Default::default() });
    let refused = c.propose_subsidy(over).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert_eq!(reason(&refused).as_deref(), Some("POLICY_REFUSED"));
    let info = refused.get_error_details().error_info().cloned().unwrap();
    assert_eq!(info.metadata["rule_id"], STARTUP);
    assert_eq!(info.metadata["max_amount_fen"], "50000");
    assert!(info.metadata["clauses"].contains("000 § 13"), "{:?}", info.metadata);
    assert!(refused.message().contains("000 § 13"), "{}", refused.message());
    assert!(refused_checks(&refused).iter().all(|(_, clause)| clause.contains("000 § 13")));
    assert_eq!(server.event_count(), before, "a refused proposal records nothing");

    // The dry run says what may be proposed instead.
    let dry = c
        .evaluate_subsidy(dry_run(propose(&case_id, "P1", STARTUP, days_ago(100))))
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap();
    assert!(dry.granted, "{dry:?}");
    assert_eq!(dry.amount_fen, 50_000);
    assert!(dry.checks.iter().all(|k| k.passed && !k.clause.is_empty()));
    assert_eq!(server.event_count(), before, "a dry run records nothing");

    // Within the rule: proposed, then approved by a supervisor.
    let proposed = c.propose_subsidy(propose(&case_id, "P1", STARTUP, days_ago(100))).await.unwrap().into_inner();
    assert_eq!(proposed.decision.as_ref().map(|d| d.amount_fen), Some(50_000));
    assert!(case(&mut c, &case_id).await.subsidies.is_empty(), "a proposal is not a grant");
    as_(&server, "chief-0007", &["supervisor"]).await.approve_subsidy(approve(&case_id, "P1")).await.unwrap();
    let granted = case(&mut c, &case_id).await;
    assert_eq!(granted.subsidies.len(), 1);
    assert_eq!(granted.subsidies[0].grant.as_ref().unwrap().programme, "xiqing-startup-training");

    // A second one-time grant of the programme.
    let second = c.propose_subsidy(propose(&case_id, "P2", STARTUP, days_ago(0))).await.unwrap_err();
    assert_eq!(reason(&second).as_deref(), Some("POLICY_REFUSED"));
    let failed: Vec<String> = refused_checks(&second).into_iter().map(|(check, _)| check).collect();
    assert!(failed.iter().any(|c| c.contains("one_time")), "{failed:?}");
    assert!(second.message().contains("000 § 13"));
    server.stop().await;
}

#[tokio::test]
async fn two_pending_proposals_of_a_one_time_programme_cannot_both_be_approved() {
    let server = spawn().await;
    let mut c = server.client().await;
    let case_id = trained_person(&mut c, 3).await;
    c.propose_subsidy(propose(&case_id, "A", STARTUP, days_ago(100))).await.unwrap();
    c.propose_subsidy(propose(&case_id, "B", STARTUP, days_ago(99))).await.unwrap();
    as_(&server, "chief-0007", &["supervisor"]).await.approve_subsidy(approve(&case_id, "A")).await.unwrap();
    let refused =
        as_(&server, "chief-0007", &["supervisor"]).await.approve_subsidy(approve(&case_id, "B")).await.unwrap_err();
    assert_eq!(reason(&refused).as_deref(), Some("POLICY_REFUSED"));
    assert_eq!(case(&mut c, &case_id).await.subsidies.len(), 1);
    // The second is then rejected, with the reason.
    as_(&server, "chief-0007", &["supervisor"])
        .await
        .reject_subsidy_proposal(pb::RejectSubsidyProposalRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(0),
            proposal_id: "B".into(),
            reason: "已享受过一次性创业培训补贴".into(),
        })
        .await
        .unwrap();
    let after = case(&mut c, &case_id).await;
    assert_eq!(after.proposals[1].status(), pb::ProposalStatus::Rejected);
    assert_eq!(after.proposals[1].rejection_reason, "已享受过一次性创业培训补贴");
    server.stop().await;
}

#[tokio::test]
async fn separation_of_duties_the_proposer_cannot_approve_and_only_supervisors_review() {
    let server = spawn().await;
    let mut c = server.client().await;
    let case_id = trained_person(&mut c, 5).await;
    c.propose_subsidy(propose(&case_id, "P1", STARTUP, days_ago(100))).await.unwrap();
    let before = server.event_count();

    // The proposer (staff-0042), even holding the supervisor role.
    let own =
        as_(&server, "staff-0042", &["supervisor"]).await.approve_subsidy(approve(&case_id, "P1")).await.unwrap_err();
    assert_eq!(reason(&own).as_deref(), Some("SELF_REVIEW"));
    assert_eq!(own.code(), tonic::Code::FailedPrecondition);
    // The proposer under a case variant of their staff id: the same principal.
    let variant =
        as_(&server, "STAFF-0042", &["supervisor"]).await.approve_subsidy(approve(&case_id, "P1")).await.unwrap_err();
    assert_eq!(reason(&variant).as_deref(), Some("SELF_REVIEW"));
    // A supervisor whose request claims to be the proposer: refused, naming the field.
    let mut claimed = approve(&case_id, "P1");
    claimed.context.as_mut().unwrap().actor = "staff-0042".into();
    let claim = as_(&server, "chief-0007", &["supervisor"]).await.approve_subsidy(claimed).await.unwrap_err();
    assert_eq!((claim.code(), reason(&claim).as_deref()), (tonic::Code::PermissionDenied, Some("CONTEXT_MISMATCH")));
    assert!(claim.message().contains("context.actor"), "{}", claim.message());
    // Roles come from the token, not the request: a caseworker listing "supervisor" is refused.
    let mut listed = approve(&case_id, "P1");
    listed.context.as_mut().unwrap().roles = vec!["supervisor".into()];
    let peer = as_(&server, "staff-0043", &["caseworker"]).await.approve_subsidy(listed).await.unwrap_err();
    assert_eq!((peer.code(), reason(&peer).as_deref()), (tonic::Code::PermissionDenied, Some("ROLE_MISSING")));
    // No client can be the policy finder or the hire linker.
    let finder = as_(&server, "leye-policy-finder", &["supervisor"])
        .await
        .approve_subsidy(approve(&case_id, "P1"))
        .await
        .unwrap_err();
    assert_eq!((finder.code(), reason(&finder).as_deref()), (tonic::Code::Unauthenticated, Some("RESERVED_SUBJECT")));
    let reject_own = as_(&server, "staff-0042", &["supervisor"])
        .await
        .reject_subsidy_proposal(pb::RejectSubsidyProposalRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(0),
            proposal_id: "P1".into(),
            reason: "withdrawn".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&reject_own).as_deref(), Some("SELF_REVIEW"));
    let missing =
        as_(&server, "chief-0007", &["supervisor"]).await.approve_subsidy(approve(&case_id, "P9")).await.unwrap_err();
    assert_eq!(reason(&missing).as_deref(), Some("PROPOSAL_NOT_FOUND"));
    assert_eq!(server.event_count(), before, "refused reviews record nothing");

    let ok = as_(&server, "chief-0007", &["supervisor"])
        .await
        .approve_subsidy(approve(&case_id, "P1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.result.as_ref().unwrap().event_ids.len(), 2, "subsidy_approved and subsidy_granted");
    let again =
        as_(&server, "chief-0008", &["supervisor"]).await.approve_subsidy(approve(&case_id, "P1")).await.unwrap_err();
    assert_eq!(reason(&again).as_deref(), Some("PROPOSAL_DECIDED"));

    // The auditor sees who proposed and who approved.
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap().into_inner().events;
    let actor_of = |t: &str| {
        replay
            .iter()
            .find(|e| e.metadata.as_ref().unwrap().event_type == t)
            .unwrap()
            .metadata
            .as_ref()
            .unwrap()
            .actor
            .clone()
    };
    assert_eq!(actor_of("person.subsidy_proposed"), "staff-0042");
    assert_eq!(actor_of("person.subsidy_approved"), "chief-0007");
    assert_eq!(actor_of("person.subsidy_granted"), "chief-0007");

    // Bad input names the fields.
    let bad = as_(&server, "chief-0007", &["supervisor"])
        .await
        .approve_subsidy(pb::ApproveSubsidyRequest {
            context: ctx(),
            case_id: "nope".into(),
            effective_date: "2026-13-01".into(),
            proposal_id: String::new(),
        })
        .await
        .unwrap_err();
    let mut fields = bad_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["case_id", "effective_date", "proposal_id"]);
    server.stop().await;
}

/// First and last day of the calendar month `days` ago.
fn month_of(days: i64) -> (String, String) {
    let d = today() - Duration::days(days);
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap();
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1).unwrap()
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1).unwrap()
    };
    (date(first), date(next - Duration::days(1)))
}

#[tokio::test]
async fn a_third_public_welfare_placement_is_refused_citing_the_clause() {
    let server = spawn().await;
    let mut c = server.client().await;
    // A Binhai resident with a special difficulty (minimum living allowance household).
    let id = resident_id("19800101", 7);
    let mut reg = register_request(&id, days_ago(900));
    let residence = reg.registration.as_mut().unwrap().residence.as_mut().unwrap();
    residence.district_code = "120116".into();
    residence.street_code = "120116001".into();
    residence.community_code = "120116001001".into();
    let case_id = c.register_unemployment(reg).await.unwrap().into_inner().result.unwrap().case_id;
    c.recognise_difficulty(pb::RecogniseDifficultyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(890),
        difficulty: Some(pb::Difficulty {
            categories: vec![pb::DifficultyCategory::MinimumLivingAllowanceHousehold as i32],
            valid_from: days_ago(890),
            valid_to: date(today() + Duration::days(365)),
        }),
    })
    .await
    .unwrap();
    let employer = credit_code("12120116MB0000001");
    // Two public-welfare placements: from 880 and 600 days ago.
    for (start, end) in [(880, Some(650)), (600, Some(350))] {
        c.record_placement(pb::RecordPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(start),
            placement: Some(pb::Placement {
                kind: pb::PlacementKind::PublicWelfarePost as i32,
                employer_credit_code: employer.clone(),
                contract_months: Some(12),
            }),
        })
        .await
        .unwrap();
        if let Some(end) = end {
            c.end_placement(pb::EndPlacementRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: days_ago(end),
                end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::PostEnded as i32 }),
            })
            .await
            .unwrap();
        }
    }
    let request = |on: i64| {
        let (from, to) = month_of(on + 31);
        let mut r = propose(&case_id, "W", WELFARE, days_ago(on));
        r.payee = Some(pb::Payee { payee: Some(pb::payee::Payee::EnterpriseCreditCode(employer.clone())) });
        r.inputs =
            Some(pb::ProposalInputs { base_fen: 120_000, period_from: from, period_to: to, ..Default::default() });
        r
    };
    // During the second placement: the first placement's subsidy did not run its
    // term (补贴期满仍难以…就业的…可再次安置, issue 10 item 5), so refused citing 002 #38.
    let second = c.evaluate_subsidy(dry_run(request(400))).await.unwrap().into_inner().decision.unwrap();
    assert!(!second.granted, "second placement: {second:#?}");
    assert!(
        second.checks.iter().any(|k| !k.passed && k.check.ends_with("prior_placement_subsidy_expired")),
        "{second:#?}"
    );
    // A third placement in such a post is refused ("累计安置不超过2次", 002 #38), naming
    // the field, and nothing is written.
    let before = server.event_count();
    let third = c
        .record_placement(pb::RecordPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(300),
            placement: Some(pb::Placement {
                kind: pb::PlacementKind::PublicWelfarePost as i32,
                employer_credit_code: employer.clone(),
                contract_months: Some(12),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&third).as_deref(), Some("WELFARE_POST_LIMIT"), "{third:?}");
    assert!(third.message().contains("002 #38"), "{}", third.message());
    assert_eq!(server.event_count(), before);
    server.stop().await;
}

#[tokio::test]
async fn an_enterprise_subsidy_is_proposed_and_approved_on_the_enterprise_case() {
    let server = spawn().await;
    let mut e: EnterpriseClient = server.enterprise_client().await;
    let registered = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(400),
            registration: Some(epb::EnterpriseRegistration {
                credit_code: credit_code("52120111MJ0000001"),
                name: "西青区创业孵化基地".into(),
                district: "120111".into(),
                industry_code: "M7590".into(),
                insured_employees: 12,
                kinds: vec![epb::EnterpriseKind::Incubator as i32],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    let rule = "xiqing.incubator.municipal-demonstration-award";
    let request = |attested: bool, amount_fen: i64| pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: registered.case_id.clone(),
        effective_date: days_ago(10),
        proposal_id: "AWARD-1".into(),
        rule_id: rule.into(),
        payee: Some(pb::Payee {
            payee: Some(pb::payee::Payee::EnterpriseCreditCode(credit_code("52120111MJ0000001"))),
        }),
        inputs: Some(pb::ProposalInputs {
            amount_fen,
            attestations: if attested { vec!["municipal_demonstration_base".into()] } else { vec![] },
            ..Default::default()
        }),
    };
    // Without the recognition attested, refused; over 500 000 yuan, refused.
    let unattested = e.propose_subsidy(enterprise_proposal(request(false, 10_000_000))).await.unwrap_err();
    assert_eq!(reason(&unattested).as_deref(), Some("POLICY_REFUSED"));
    let over = e.propose_subsidy(enterprise_proposal(request(true, 50_000_001))).await.unwrap_err();
    assert_eq!(reason(&over).as_deref(), Some("POLICY_REFUSED"));
    e.propose_subsidy(enterprise_proposal(request(true, 50_000_000))).await.expect("within the cap");
    let mut chief = server.enterprise_client_as("chief-0007", &["supervisor"], CITY).await;
    chief
        .approve_subsidy(epb::ApproveSubsidyRequest {
            context: ctx(),
            case_id: registered.case_id.clone(),
            effective_date: days_ago(5),
            proposal_id: "AWARD-1".into(),
        })
        .await
        .unwrap();
    let case = e
        .get_enterprise(epb::GetEnterpriseRequest { case_id: registered.case_id.clone(), as_of: None })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    assert_eq!(case.subsidies.len(), 1);
    assert_eq!(case.subsidies[0].grant.as_ref().unwrap().amount_fen, 50_000_000);
    assert_eq!(case.proposals[0].status(), pb::ProposalStatus::Approved);
    server.stop().await;
}

/// GetCase shows the statutory retirement age and date under the gradual
/// increase in force since 2025-01-01 (国务院关于渐进式延迟法定退休年龄的办法,
/// 附件1-3), worked out by hand:
/// - a man born 1965-05-15: one month per four birth months from 1965-01,
///   idx 4 → 2 months: 60y2m, retiring 2025-07-15;
/// - a woman born 1984-10-15: worker post, one month per two birth months
///   from 1975-01, idx 117 → 59 months: 54y11m, retiring 2039-09-15; cadre
///   post, one month per four from 1970-01, idx 177 → 45, capped at 36: 58,
///   retiring 2042-10-15.
///
/// "不足5年 / 不足1年" is strict: exactly five years to go is not within.
#[tokio::test]
async fn the_case_shows_statutory_retirement_and_the_years_to_it() {
    let server = spawn().await;
    let mut c = server.client().await;
    let register = |id: String, on: String| {
        let mut r = register_request(&id, on);
        r.registration.as_mut().unwrap().graduation = None;
        r.registration.as_mut().unwrap().groups = vec![];
        r
    };
    // Registered before he reaches retirement age (a registration past it is refused).
    let man = c.register_unemployment(register(resident_id("19650515", 11), "2025-01-02".into())).await.unwrap();
    let man = man.into_inner().result.unwrap().case_id;
    let woman = c.register_unemployment(register(resident_id("19841015", 12), days_ago(10))).await.unwrap();
    let woman = woman.into_inner().result.unwrap().case_id;
    let on = |case_id: &str, date: &str| pb::GetCaseRequest {
        case_id: case_id.into(),
        as_of: Some(pb::get_case_request::AsOf::EffectiveDate(date.into())),
    };
    let outlook = |answer: pb::GetCaseResponse| {
        answer
            .case
            .expect("the answer holds the case")
            .retirement
            .iter()
            .map(|r| {
                let age = (r.age_years, r.age_months);
                (r.post_type.clone(), age, r.retirement_date.clone(), r.within_5_years, r.within_1_year)
            })
            .collect::<Vec<_>>()
    };
    let s = |x: &str| x.to_string();

    // The day before he reaches 60y2m: within one year; on the day: reached.
    let before = c.get_case(on(&man, "2025-07-14")).await;
    let before = before.unwrap_or_else(|e| panic!("{e:?}")).into_inner();
    assert_eq!(outlook(before), [(s(""), (60, 2), s("2025-07-15"), true, true)]);
    let reached = c.get_case(on(&man, "2025-07-15")).await.unwrap().into_inner();
    assert_eq!(outlook(reached), [(s(""), (60, 2), s("2025-07-15"), false, false)]);

    // Her worker-post date is 2039-09-15: five years before is 2034-09-15, not "不足5年".
    let exactly_five = c.get_case(on(&woman, "2034-09-15")).await.unwrap().into_inner();
    assert_eq!(
        outlook(exactly_five),
        [(s("worker"), (54, 11), s("2039-09-15"), false, false), (s("cadre"), (58, 0), s("2042-10-15"), false, false)]
    );
    let a_day_later = c.get_case(on(&woman, "2034-09-16")).await.unwrap().into_inner().case.unwrap();
    let flags: Vec<(bool, bool)> = a_day_later.retirement.iter().map(|r| (r.within_5_years, r.within_1_year)).collect();
    assert_eq!(flags, [(true, false), (false, false)]);
    server.stop().await;
}

/// 000 § 9 (Xiqing): an enterprise hiring a person registered unemployed for
/// six months or more gets 1 000 yuan once. The rule is Xiqing's, and so is
/// the enterprise: it applies to a hire of a Heping resident, because a
/// subsidy paid to an enterprise is claimed under the enterprise's district.
#[tokio::test]
async fn a_hiring_subsidy_follows_the_enterprise_district_not_the_residence() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut e: EnterpriseClient = server.enterprise_client().await;
    let xiqing_firm = credit_code("91120111MA0000009");
    e.register_enterprise(epb::RegisterEnterpriseRequest {
        context: ctx(),
        effective_date: days_ago(400),
        registration: Some(epb::EnterpriseRegistration {
            credit_code: xiqing_firm.clone(),
            name: "西青测试制造有限公司".into(),
            district: "120111".into(),
            industry_code: "C3411".into(),
            insured_employees: 40,
            ..Default::default()
        }),
    })
    .await
    .unwrap();
    // A Heping resident, registered 200 days ago, placed with the firm 10 days ago.
    let mut reg = register_request(&resident_id("19880303", 21), days_ago(200));
    let r = reg.registration.as_mut().unwrap();
    r.graduation = None;
    r.groups = vec![];
    let residence = r.residence.as_mut().unwrap();
    residence.district_code = "120101".into();
    residence.street_code = "120101001".into();
    residence.community_code = "120101001001".into();
    let case_id = c.register_unemployment(reg).await.unwrap().into_inner().result.unwrap().case_id;
    let place = |employer: &str| pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(10),
        placement: Some(pb::Placement {
            kind: pb::PlacementKind::Enterprise as i32,
            employer_credit_code: employer.into(),
            contract_months: Some(12),
        }),
    };
    c.record_placement(place(&xiqing_firm)).await.unwrap();
    let claim = |payee: &str| {
        let mut r = propose(&case_id, "H1", "xiqing.hiring.one-time", days_ago(5));
        r.payee = Some(pb::Payee { payee: Some(pb::payee::Payee::EnterpriseCreditCode(payee.into())) });
        r
    };
    let decision = c.evaluate_subsidy(dry_run(claim(&xiqing_firm))).await.unwrap().into_inner().decision.unwrap();
    assert!(decision.granted, "{decision:#?}");
    assert_eq!(decision.amount_fen, 100_000);
    assert!(decision.checks.iter().any(|k| k.clause.contains("000 § 9")));
    // Paid to an enterprise leye knows nothing of: the residence (Heping)
    // decides, where Xiqing's rule does not apply.
    let elsewhere = c
        .evaluate_subsidy(dry_run(claim(&credit_code("91120101MA0000007"))))
        .await
        .unwrap()
        .into_inner()
        .decision
        .unwrap();
    assert!(!elsewhere.granted);
    server.stop().await;
}

/// 000 § 24 (and 002 #65, 004 § 27): benefit that expires less than one year
/// before the statutory retirement age continues to it. Fixed past dates,
/// worked out by hand from the conversion table:
/// - a man born 1965-09-15 reaches 60y3m on 2025-12-15: on 2025-11-01 he has
///   less than one year to go → the extension is allowed;
/// - a man born 1966-12-15 reaches 60y6m on 2027-06-15: on 2025-11-01 more
///   than a year → refused, citing the clauses;
/// - without a previous benefit ended exhausted → refused.
#[tokio::test]
async fn benefit_continues_to_retirement_only_within_a_year_of_it() {
    let server = spawn().await;
    let mut c = server.client().await;
    async fn person(c: &mut Client, birth: &str, seq: u32, exhaust: bool) -> String {
        let mut reg = register_request(&resident_id(birth, seq), "2025-01-01".into());
        reg.registration.as_mut().unwrap().graduation = None;
        reg.registration.as_mut().unwrap().groups = vec![];
        let case_id = c.register_unemployment(reg).await.unwrap().into_inner().result.unwrap().case_id;
        if exhaust {
            c.start_benefit(pb::StartBenefitRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: "2025-01-10".into(),
                benefit: Some(pb::BenefitStart { months: 9, extended_to_retirement: false }),
                post_type: String::new(),
            })
            .await
            .unwrap();
            c.end_benefit(pb::EndBenefitRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: "2025-10-31".into(),
                end: Some(pb::BenefitEnd { reason: pb::BenefitEndReason::Exhausted as i32 }),
            })
            .await
            .unwrap();
        }
        case_id
    }
    let extend = |case_id: &str| pb::StartBenefitRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: "2025-11-01".into(),
        benefit: Some(pb::BenefitStart { months: 1, extended_to_retirement: true }),
        post_type: String::new(),
    };
    let near = person(&mut c, "19650915", 31, true).await;
    c.start_benefit(extend(&near)).await.expect("less than a year to retirement");

    let far = person(&mut c, "19661215", 33, true).await;
    let refused = c.start_benefit(extend(&far)).await.unwrap_err();
    assert_eq!(reason(&refused).as_deref(), Some("POLICY_REFUSED"));
    assert!(refused.message().contains("000 § 24"), "{}", refused.message());
    let failed: Vec<String> = refused_checks(&refused).into_iter().map(|(check, _)| check).collect();
    assert_eq!(failed, ["within_years_of_retirement"]);

    let not_exhausted = person(&mut c, "19650915", 35, false).await;
    let refused = c.start_benefit(extend(&not_exhausted)).await.unwrap_err();
    let failed: Vec<String> = refused_checks(&refused).into_iter().map(|(check, _)| check).collect();
    assert!(failed.iter().any(|c| c.contains("attested")), "{failed:?}");
    server.stop().await;
}
