//! Given / when / then tests of the enterprise decider: every rule, every code,
//! both sides of every threshold.

use std::{collections::BTreeSet, num::NonZeroU32};

use uuid::Uuid;

use super::*;
use crate::{
    Date,
    person::Payee,
    values::{CreditCode, DateRange, DistrictCode, Fen},
};

fn d(s: &str) -> Date {
    crate::values::parse_date(s).unwrap()
}

const TODAY: &str = "2026-11-22";

fn n(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap()
}

fn credit_code() -> CreditCode {
    // 91120111MA05JX0K0 + its check character, computed.
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let body = "91120111MA05JX0K0";
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    CreditCode::parse(&format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)).unwrap()
}

fn registration(insured_employees: u32) -> EnterpriseRegistration {
    EnterpriseRegistration {
        credit_code: credit_code(),
        name: EnterpriseName::parse("天津西青测试制造有限公司").unwrap(),
        district: DistrictCode::parse("120111").unwrap(),
        industry_code: "C3411".into(),
        insured_employees,
        small_micro: false,
        kinds: BTreeSet::from([EnterpriseKind::TechStartUp]),
        check_character_valid: true,
    }
}

fn hire(id: &str) -> Hire {
    Hire { hire_id: id.into(), person_case_id: Uuid::nil(), contract_months: Some(12), started_on: d("2026-03-01") }
}

fn layoff(id: &str, people: u32) -> BatchLayoff {
    BatchLayoff { layoff_id: id.into(), people: n(people) }
}

fn plan(id: &str, notice: &str, planned: &str) -> LayoffPlan {
    LayoffPlan { plan_id: id.into(), people: n(25), planned_layoff_on: d(planned), notice_given_on: d(notice) }
}

fn headcount(month: &str, insured_employees: u32) -> Headcount {
    Headcount { month: d(month), insured_employees }
}

fn grant(id: &str) -> SubsidyGrant {
    SubsidyGrant {
        subsidy_id: id.into(),
        programme: "enterprise-hiring".into(),
        amount: Fen::positive(100_000).unwrap(),
        period: DateRange::new(d("2026-01-01"), d("2026-06-30")).unwrap(),
        payee: Payee::Enterprise(credit_code()),
        policy_clause: "000#9".into(),
    }
}

fn revocation(id: &str) -> SubsidyRevocation {
    SubsidyRevocation { subsidy_id: id.into(), reason: "duplicate claim".into() }
}

// === the fixture: given events, when command, then events or rejection ===

struct Given(EnterpriseCase);

fn given(events: &[(&str, EnterpriseFact)]) -> Given {
    let events: Vec<EnterpriseEvent> =
        events.iter().map(|(on, fact)| EnterpriseEvent { effective_date: d(on), fact: fact.clone() }).collect();
    Given(EnterpriseCase::from_events(&events))
}

impl Given {
    fn when(&self, on: &str, command: EnterpriseCommand) -> Result<Vec<EnterpriseEvent>, EnterpriseRejection> {
        decide(&self.0, DatedEnterpriseCommand { effective_date: d(on), command }, d(TODAY))
    }
}

fn then_fact(result: Result<Vec<EnterpriseEvent>, EnterpriseRejection>, on: &str, fact: EnterpriseFact) {
    assert_eq!(result, Ok(vec![EnterpriseEvent { effective_date: d(on), fact }]));
}

fn then_rejected(result: Result<Vec<EnterpriseEvent>, EnterpriseRejection>, code: EnterpriseRejectionCode) {
    match result {
        Err(r) => assert_eq!(r.code, code, "rejected with {r}"),
        Ok(events) => panic!("expected {code}, got {events:?}"),
    }
}

fn registered(on: &str, insured_employees: u32) -> (&str, EnterpriseFact) {
    (on, EnterpriseFact::Registered(registration(insured_employees)))
}

// === registration and dates ===

#[test]
fn an_enterprise_registers_once() {
    then_fact(
        given(&[]).when("2026-01-05", EnterpriseCommand::Register(registration(50))),
        "2026-01-05",
        EnterpriseFact::Registered(registration(50)),
    );
    then_rejected(
        given(&[registered("2026-01-05", 50)]).when("2026-02-01", EnterpriseCommand::Register(registration(50))),
        EnterpriseRejectionCode::AlreadyRegistered,
    );
}

/// The `check_character_valid` flag states what the GB 32100-2015 check of the
/// credit code gives; a flag contradicting it is refused, naming the field.
/// 91350100M000100Y44 is the standard's example with a wrong check (3 is due).
#[test]
fn the_check_character_flag_agrees_with_the_credit_code() {
    let early = CreditCode::parse_format("91350100M000100Y44").unwrap();
    assert!(!early.check_character_valid());
    let with = |code: CreditCode, valid: bool| {
        EnterpriseCommand::Register(EnterpriseRegistration {
            credit_code: code,
            check_character_valid: valid,
            ..registration(10)
        })
    };
    let claims_valid = given(&[]).when("2026-01-05", with(early.clone(), true));
    assert_eq!(claims_valid.as_ref().unwrap_err().field, Some("registration.check_character_valid"));
    then_rejected(claims_valid, EnterpriseRejectionCode::CheckCharacterMismatch);
    then_rejected(
        given(&[]).when("2026-01-05", with(credit_code(), false)),
        EnterpriseRejectionCode::CheckCharacterMismatch,
    );
    // An early code confirmed by hand is registered, flagged as failing the check.
    assert!(given(&[]).when("2026-01-05", with(early, false)).is_ok());
}

#[test]
fn every_fact_but_registration_needs_the_case() {
    then_rejected(
        given(&[]).when("2026-01-05", EnterpriseCommand::DesignateKeyEnterprise),
        EnterpriseRejectionCode::CaseNotFound,
    );
    then_rejected(
        given(&[]).when("2026-01-05", EnterpriseCommand::RecordHire(hire("h1"))),
        EnterpriseRejectionCode::CaseNotFound,
    );
}

#[test]
fn the_effective_date_is_not_in_the_future() {
    let r = given(&[]).when("2026-11-23", EnterpriseCommand::Register(registration(50)));
    assert_eq!(r.as_ref().unwrap_err().field, Some("effective_date"));
    then_rejected(r, EnterpriseRejectionCode::EffectiveDateInFuture);
    // Today itself is fine.
    assert!(given(&[]).when(TODAY, EnterpriseCommand::Register(registration(50))).is_ok());
}

#[test]
fn no_fact_before_the_registration() {
    let g = given(&[registered("2026-01-05", 50)]);
    then_rejected(
        g.when("2026-01-04", EnterpriseCommand::ReportBatchLayoff(layoff("l1", 3))),
        EnterpriseRejectionCode::BeforeRegistration,
    );
    assert!(g.when("2026-01-05", EnterpriseCommand::ReportBatchLayoff(layoff("l1", 3))).is_ok());
}

#[test]
fn an_enterprise_name_has_1_to_100_characters() {
    assert!(EnterpriseName::parse("  ").is_err());
    assert!(EnterpriseName::parse(&"企".repeat(101)).is_err());
    assert_eq!(EnterpriseName::parse(&"企".repeat(100)).unwrap().as_str().chars().count(), 100);
    assert_eq!(EnterpriseName::parse(" 天津某公司 ").unwrap().as_str(), "天津某公司");
}

// === headcount ===

#[test]
fn a_headcount_names_the_first_day_of_a_month_once() {
    let g = given(&[registered("2026-01-05", 50)]);
    then_fact(
        g.when("2026-03-10", EnterpriseCommand::ReportHeadcount(headcount("2026-03-01", 60))),
        "2026-03-10",
        EnterpriseFact::HeadcountReported(headcount("2026-03-01", 60)),
    );
    let r = g.when("2026-03-10", EnterpriseCommand::ReportHeadcount(headcount("2026-03-02", 60)));
    assert_eq!(r.as_ref().unwrap_err().field, Some("headcount.month"));
    then_rejected(r, EnterpriseRejectionCode::InvalidMonth);
    // A month that has not begun on the effective date.
    then_rejected(
        g.when("2026-03-10", EnterpriseCommand::ReportHeadcount(headcount("2026-04-01", 60))),
        EnterpriseRejectionCode::InvalidMonth,
    );
    then_rejected(
        given(&[
            registered("2026-01-05", 50),
            ("2026-03-10", EnterpriseFact::HeadcountReported(headcount("2026-03-01", 60))),
        ])
        .when("2026-03-20", EnterpriseCommand::ReportHeadcount(headcount("2026-03-01", 61))),
        EnterpriseRejectionCode::HeadcountExists,
    );
}

#[test]
fn insured_employees_follow_the_latest_headcount() {
    let case = given(&[
        registered("2026-01-05", 50),
        ("2026-02-03", EnterpriseFact::HeadcountReported(headcount("2026-02-01", 70))),
        ("2026-04-03", EnterpriseFact::HeadcountReported(headcount("2026-04-01", 90))),
    ])
    .0;
    let file = case.file().unwrap();
    assert_eq!(file.insured_employees_on(d("2026-01-04")), None);
    assert_eq!(file.insured_employees_on(d("2026-01-31")), Some(50));
    assert_eq!(file.insured_employees_on(d("2026-03-15")), Some(70));
    assert_eq!(file.insured_employees(), 90);
}

// === hires, layoffs, shortages ===

#[test]
fn a_hire_id_is_unique() {
    let g = given(&[registered("2026-01-05", 50)]);
    then_fact(
        g.when("2026-03-02", EnterpriseCommand::RecordHire(hire("h1"))),
        "2026-03-02",
        EnterpriseFact::HireRecorded(hire("h1")),
    );
    then_rejected(
        given(&[registered("2026-01-05", 50), ("2026-03-02", EnterpriseFact::HireRecorded(hire("h1")))])
            .when("2026-03-03", EnterpriseCommand::RecordHire(hire("h1"))),
        EnterpriseRejectionCode::HireExists,
    );
}

#[test]
fn a_hire_is_settled_once_linked_or_refused() {
    let hired = [registered("2026-01-05", 50), ("2026-03-01", EnterpriseFact::HireRecorded(hire("h1")))];
    let link = |id: &str| HireLink { hire_id: id.into(), placement_event_id: Uuid::from_u128(7) };
    let refuse = |id: &str| HireLinkRefusal {
        hire_id: id.into(),
        reason_code: "ALREADY_PLACED".into(),
        reason: "a placement is already current".into(),
    };
    then_fact(
        given(&hired).when("2026-03-01", EnterpriseCommand::LinkHire(link("h1"))),
        "2026-03-01",
        EnterpriseFact::HireLinked(link("h1")),
    );
    then_fact(
        given(&hired).when("2026-03-01", EnterpriseCommand::RefuseHireLink(refuse("h1"))),
        "2026-03-01",
        EnterpriseFact::HireLinkRefused(refuse("h1")),
    );
    then_rejected(
        given(&hired).when("2026-03-01", EnterpriseCommand::LinkHire(link("h2"))),
        EnterpriseRejectionCode::HireNotFound,
    );
    let linked = [hired[0].clone(), hired[1].clone(), ("2026-03-01", EnterpriseFact::HireLinked(link("h1")))];
    then_rejected(
        given(&linked).when("2026-03-02", EnterpriseCommand::RefuseHireLink(refuse("h1"))),
        EnterpriseRejectionCode::HireLinkSettled,
    );
    let refused = [hired[0].clone(), hired[1].clone(), ("2026-03-01", EnterpriseFact::HireLinkRefused(refuse("h1")))];
    then_rejected(
        given(&refused).when("2026-03-02", EnterpriseCommand::LinkHire(link("h1"))),
        EnterpriseRejectionCode::HireLinkSettled,
    );
    let Given(case) = given(&linked);
    assert!(matches!(case.file().unwrap().hire("h1").unwrap().link, HireLinkState::Linked { .. }));
    let Given(case) = given(&hired);
    assert_eq!(case.file().unwrap().hire("h1").unwrap().link, HireLinkState::Pending);
}

#[test]
fn a_batch_layoff_id_is_unique() {
    let g = given(&[registered("2026-01-05", 50)]);
    then_fact(
        g.when("2026-05-02", EnterpriseCommand::ReportBatchLayoff(layoff("l1", 20))),
        "2026-05-02",
        EnterpriseFact::BatchLayoffReported(layoff("l1", 20)),
    );
    then_rejected(
        given(&[registered("2026-01-05", 50), ("2026-05-02", EnterpriseFact::BatchLayoffReported(layoff("l1", 20)))])
            .when("2026-05-03", EnterpriseCommand::ReportBatchLayoff(layoff("l1", 5))),
        EnterpriseRejectionCode::LayoffExists,
    );
}

#[test]
fn a_batch_layoff_of_zero_people_does_not_parse() {
    let json = r#"{"layoff_id":"l1","people":0}"#;
    assert!(serde_json::from_str::<BatchLayoff>(json).is_err());
}

#[test]
fn layoff_response_thresholds_are_inclusive() {
    // 000 § 3: "20人以上" and "40人以上"; 以上 includes the number.
    assert_eq!(layoff_response(1), LayoffResponse::Monitor);
    assert_eq!(layoff_response(19), LayoffResponse::Monitor);
    assert_eq!(layoff_response(20), LayoffResponse::WarningTrackingProactiveService);
    assert_eq!(layoff_response(39), LayoffResponse::WarningTrackingProactiveService);
    assert_eq!(layoff_response(40), LayoffResponse::SkillsTrainingAndJobFairs);
    assert!(LayoffResponse::SkillsTrainingAndJobFairs > LayoffResponse::WarningTrackingProactiveService);
    let case =
        given(&[registered("2026-01-05", 50), ("2026-05-02", EnterpriseFact::BatchLayoffReported(layoff("l1", 40)))]).0;
    assert_eq!(case.file().unwrap().layoffs[0].response(), LayoffResponse::SkillsTrainingAndJobFairs);
}

#[test]
fn the_layoff_rate_is_laid_off_over_insured_at_the_start() {
    let case = given(&[
        registered("2026-01-05", 200),
        ("2026-02-03", EnterpriseFact::HeadcountReported(headcount("2026-02-01", 250))),
        ("2026-03-02", EnterpriseFact::BatchLayoffReported(layoff("l1", 20))),
        ("2026-04-02", EnterpriseFact::BatchLayoffReported(layoff("l2", 30))),
        ("2026-07-02", EnterpriseFact::BatchLayoffReported(layoff("l3", 99))),
    ])
    .0;
    let file = case.file().unwrap();
    assert_eq!(file.laid_off_between(d("2026-03-01"), d("2026-06-30")), 50);
    assert_eq!(file.layoff_rate(d("2026-03-01"), d("2026-06-30")), Some(0.2));
    assert_eq!(file.layoff_rate(d("2025-12-01"), d("2026-06-30")), None, "before registration");
    assert_eq!(file.layoff_rate(d("2026-06-30"), d("2026-03-01")), None, "empty period");
}

#[test]
fn a_labour_shortage_is_recorded() {
    let shortage = LabourShortage { posts: n(12), skills: "数控车工".into() };
    then_fact(
        given(&[registered("2026-01-05", 50)])
            .when("2026-06-01", EnterpriseCommand::ReportLabourShortage(shortage.clone())),
        "2026-06-01",
        EnterpriseFact::LabourShortageReported(shortage),
    );
}

// === economic layoff plan: 30 days' notice (000 § 3, 002 #13) ===

#[test]
fn a_layoff_plan_gives_30_days_notice() {
    let g = given(&[registered("2026-01-05", 300)]);
    // 2026-05-01 + 30 days = 2026-05-31.
    then_fact(
        g.when("2026-05-01", EnterpriseCommand::FileLayoffPlan(plan("p1", "2026-05-01", "2026-05-31"))),
        "2026-05-01",
        EnterpriseFact::LayoffPlanFiled(plan("p1", "2026-05-01", "2026-05-31")),
    );
    let r = g.when("2026-05-01", EnterpriseCommand::FileLayoffPlan(plan("p1", "2026-05-01", "2026-05-30")));
    assert_eq!(r.as_ref().unwrap_err().field, Some("plan.notice_given_on"));
    then_rejected(r, EnterpriseRejectionCode::NoticeTooShort);
    // A layoff planned before the notice is no notice at all.
    then_rejected(
        g.when("2026-05-01", EnterpriseCommand::FileLayoffPlan(plan("p1", "2026-05-01", "2026-04-30"))),
        EnterpriseRejectionCode::NoticeTooShort,
    );
}

/// A plan records a notice already given, "提前30日向工会或全体职工说明情况"
/// (000 § 3, 002 #13): a notice dated after the filing is `NOTICE_AFTER_FILING`;
/// and a plan is filed before it is carried out ("对拟进行经济性裁员的企业",
/// 002 #13; facts.rs): a layoff planned before the filing is
/// `LAYOFF_BEFORE_FILING`. The filing day itself is allowed for both.
#[test]
fn a_layoff_plan_is_filed_after_its_notice_and_before_its_layoff() {
    let g = given(&[registered("2026-01-05", 300)]);
    let file = |on: &str, notice: &str, planned: &str| {
        g.when(on, EnterpriseCommand::FileLayoffPlan(plan("p1", notice, planned)))
    };
    // Filed 2026-11-22 with the notice on 2026-12-01 and the layoff 40 days later.
    let r = file("2026-11-22", "2026-12-01", "2027-01-10");
    assert_eq!(r.as_ref().unwrap_err().field, Some("plan.notice_given_on"));
    then_rejected(r, EnterpriseRejectionCode::NoticeAfterFiling);
    then_rejected(file("2026-09-01", "2026-09-02", "2026-10-15"), EnterpriseRejectionCode::NoticeAfterFiling);
    assert!(file("2026-09-01", "2026-09-01", "2026-10-15").is_ok());
    // Filed 2026-11-22 for a layoff on 2026-10-15 (already carried out).
    let r = file("2026-11-22", "2026-09-01", "2026-10-15");
    assert_eq!(r.as_ref().unwrap_err().field, Some("plan.planned_layoff_on"));
    then_rejected(r, EnterpriseRejectionCode::LayoffBeforeFiling);
    then_rejected(file("2026-10-16", "2026-09-01", "2026-10-15"), EnterpriseRejectionCode::LayoffBeforeFiling);
    assert!(file("2026-10-15", "2026-09-01", "2026-10-15").is_ok());
}

#[test]
fn a_layoff_plan_id_is_unique() {
    then_rejected(
        given(&[
            registered("2026-01-05", 300),
            ("2026-05-01", EnterpriseFact::LayoffPlanFiled(plan("p1", "2026-05-01", "2026-06-15"))),
        ])
        .when("2026-05-02", EnterpriseCommand::FileLayoffPlan(plan("p1", "2026-05-02", "2026-07-15"))),
        EnterpriseRejectionCode::LayoffPlanExists,
    );
}

// === key enterprise: more than 200 insured employees (000 § 28 "超 200人") ===

#[test]
fn a_key_enterprise_has_more_than_200_insured_employees() {
    then_fact(
        given(&[registered("2026-01-05", 201)]).when("2026-02-01", EnterpriseCommand::DesignateKeyEnterprise),
        "2026-02-01",
        EnterpriseFact::DesignatedKeyEnterprise,
    );
    then_rejected(
        given(&[registered("2026-01-05", 200)]).when("2026-02-01", EnterpriseCommand::DesignateKeyEnterprise),
        EnterpriseRejectionCode::BelowKeyEnterpriseSize,
    );
}

#[test]
fn key_enterprise_size_is_the_latest_headcount_on_the_date() {
    let g = given(&[
        registered("2026-01-05", 150),
        ("2026-03-02", EnterpriseFact::HeadcountReported(headcount("2026-03-01", 201))),
        ("2026-05-02", EnterpriseFact::HeadcountReported(headcount("2026-05-01", 200))),
    ]);
    then_rejected(
        g.when("2026-02-10", EnterpriseCommand::DesignateKeyEnterprise),
        EnterpriseRejectionCode::BelowKeyEnterpriseSize,
    );
    assert!(g.when("2026-04-10", EnterpriseCommand::DesignateKeyEnterprise).is_ok());
    then_rejected(
        g.when("2026-05-10", EnterpriseCommand::DesignateKeyEnterprise),
        EnterpriseRejectionCode::BelowKeyEnterpriseSize,
    );
}

#[test]
fn a_key_enterprise_is_designated_once() {
    let g = given(&[registered("2026-01-05", 300), ("2026-02-01", EnterpriseFact::DesignatedKeyEnterprise)]);
    assert!(g.0.is_key_enterprise());
    assert!(!given(&[registered("2026-01-05", 300)]).0.is_key_enterprise());
    then_rejected(
        g.when("2026-03-01", EnterpriseCommand::DesignateKeyEnterprise),
        EnterpriseRejectionCode::AlreadyDesignated,
    );
}

// === subsidies ===

#[test]
fn a_subsidy_is_granted_once_and_revoked_once() {
    let proposal = |by: &str| SubsidyProposal {
        grant: grant("s1"),
        rule_id: "xiqing.enterprise.x".into(),
        rule_valid_from: d("2020-05-18"),
        proposed_by: by.into(),
        reasons: vec![],
        inputs: Default::default(),
    };
    let reviewer = |user: &str, supervisor: bool| crate::subsidy::Reviewer { user: user.into(), supervisor };
    let approve = |user: &str, supervisor: bool| {
        EnterpriseCommand::ApproveSubsidy(ApproveProposal {
            proposal_id: "s1".into(),
            reviewer: reviewer(user, supervisor),
        })
    };
    let g = given(&[registered("2026-01-05", 50)]);
    then_fact(
        g.when("2026-03-01", EnterpriseCommand::ProposeSubsidy(proposal("staff-1"))),
        "2026-03-01",
        EnterpriseFact::SubsidyProposed(proposal("staff-1")),
    );
    let proposed = [registered("2026-01-05", 50), ("2026-03-01", EnterpriseFact::SubsidyProposed(proposal("staff-1")))];
    let p = given(&proposed);
    then_rejected(p.when("2026-03-01", approve("staff-1", true)), EnterpriseRejectionCode::SelfReview);
    then_rejected(p.when("2026-03-01", approve("staff-2", false)), EnterpriseRejectionCode::NotSupervisor);
    let other = EnterpriseCommand::RejectSubsidyProposal(RejectProposal {
        proposal_id: "s2".into(),
        reviewer: reviewer("chief-1", true),
        reason: "no such".into(),
    });
    then_rejected(p.when("2026-03-01", other), EnterpriseRejectionCode::ProposalNotFound);
    let approval = SubsidyApproval { proposal_id: "s1".into(), approved_by: "chief-1".into() };
    assert_eq!(
        p.when("2026-03-01", approve("chief-1", true)),
        Ok(vec![
            EnterpriseEvent {
                effective_date: d("2026-03-01"),
                fact: EnterpriseFact::SubsidyApproved(approval.clone())
            },
            EnterpriseEvent { effective_date: d("2026-03-01"), fact: EnterpriseFact::SubsidyGranted(grant("s1")) },
        ])
    );
    let granted = given(&[
        proposed[0].clone(),
        proposed[1].clone(),
        ("2026-03-01", EnterpriseFact::SubsidyApproved(approval)),
        ("2026-03-01", EnterpriseFact::SubsidyGranted(grant("s1"))),
    ]);
    then_rejected(granted.when("2026-03-02", approve("chief-2", true)), EnterpriseRejectionCode::ProposalDecided);
    then_rejected(
        granted.when("2026-03-02", EnterpriseCommand::ProposeSubsidy(proposal("staff-1"))),
        EnterpriseRejectionCode::SubsidyExists,
    );
    then_fact(
        granted.when("2026-04-01", EnterpriseCommand::RevokeSubsidy(revocation("s1"))),
        "2026-04-01",
        EnterpriseFact::SubsidyRevoked(revocation("s1")),
    );
    then_rejected(
        granted.when("2026-04-01", EnterpriseCommand::RevokeSubsidy(revocation("s2"))),
        EnterpriseRejectionCode::SubsidyNotFound,
    );
    then_rejected(
        granted.when("2026-02-28", EnterpriseCommand::RevokeSubsidy(revocation("s1"))),
        EnterpriseRejectionCode::BeforeStart,
    );
    let revoked = given(&[
        registered("2026-01-05", 50),
        ("2026-03-01", EnterpriseFact::SubsidyGranted(grant("s1"))),
        ("2026-04-01", EnterpriseFact::SubsidyRevoked(revocation("s1"))),
    ]);
    assert_eq!(revoked.0.file().unwrap().subsidies[0].revoked_on, Some(d("2026-04-01")));
    then_rejected(
        revoked.when("2026-05-01", EnterpriseCommand::RevokeSubsidy(revocation("s1"))),
        EnterpriseRejectionCode::SubsidyAlreadyRevoked,
    );
}

// === after a batch layoff (000 § 3), internship posts (001 § 8) ===

fn service(layoff_id: &str, service: LayoffService) -> LayoffServiceProvision {
    LayoffServiceProvision { layoff_id: layoff_id.into(), service }
}

fn offer(id: &str, posts: u32) -> InternshipOffer {
    InternshipOffer { offer_id: id.into(), posts: n(posts) }
}

#[test]
fn a_layoff_service_follows_a_layoff_of_the_case() {
    let g =
        given(&[registered("2026-01-05", 300), ("2026-05-02", EnterpriseFact::BatchLayoffReported(layoff("l1", 45)))]);
    // On the layoff's own date, and again later: each service is recorded.
    for (on, s) in [("2026-05-02", LayoffService::TrackingVisit), ("2026-06-01", LayoffService::JobFair)] {
        then_fact(
            g.when(on, EnterpriseCommand::RecordLayoffService(service("l1", s))),
            on,
            EnterpriseFact::LayoffServiceProvided(service("l1", s)),
        );
    }
    then_rejected(
        g.when("2026-05-03", EnterpriseCommand::RecordLayoffService(service("l2", LayoffService::SkillsTraining))),
        EnterpriseRejectionCode::LayoffNotFound,
    );
    // The day before the layoff: nothing to follow yet.
    then_rejected(
        g.when("2026-05-01", EnterpriseCommand::RecordLayoffService(service("l1", LayoffService::TrackingVisit))),
        EnterpriseRejectionCode::BeforeStart,
    );
}

#[test]
fn layoff_services_fold_into_their_layoff() {
    let case = given(&[
        registered("2026-01-05", 300),
        ("2026-05-02", EnterpriseFact::BatchLayoffReported(layoff("l1", 45))),
        ("2026-05-03", EnterpriseFact::BatchLayoffReported(layoff("l2", 20))),
        ("2026-05-10", EnterpriseFact::LayoffServiceProvided(service("l1", LayoffService::SkillsTraining))),
        ("2026-05-20", EnterpriseFact::LayoffServiceProvided(service("l1", LayoffService::SkillsTraining))),
        // A service of a layoff not on the case (never decided) changes nothing.
        ("2026-05-21", EnterpriseFact::LayoffServiceProvided(service("l9", LayoffService::JobFair))),
    ])
    .0;
    let file = case.file().unwrap();
    let l1 = file.layoff("l1").unwrap();
    assert_eq!(
        l1.services,
        vec![
            LayoffServiceRecord { service: LayoffService::SkillsTraining, provided_on: d("2026-05-10") },
            LayoffServiceRecord { service: LayoffService::SkillsTraining, provided_on: d("2026-05-20") },
        ]
    );
    assert!(file.layoff("l2").unwrap().services.is_empty());
}

#[test]
fn internship_posts_are_offered_under_unique_ids() {
    let g = given(&[registered("2026-01-05", 50)]);
    then_fact(
        g.when("2026-03-01", EnterpriseCommand::OfferInternshipPosts(offer("o1", 12))),
        "2026-03-01",
        EnterpriseFact::InternshipPostsOffered(offer("o1", 12)),
    );
    let offered = given(&[
        registered("2026-01-05", 50),
        ("2026-03-01", EnterpriseFact::InternshipPostsOffered(offer("o1", 12))),
        ("2026-07-01", EnterpriseFact::InternshipPostsOffered(offer("o2", 3))),
    ]);
    then_rejected(
        offered.when("2026-08-01", EnterpriseCommand::OfferInternshipPosts(offer("o1", 5))),
        EnterpriseRejectionCode::InternshipOfferExists,
    );
    let file = offered.0.file().unwrap().clone();
    assert_eq!(file.internship_posts_between(d("2026-01-01"), d("2026-12-31")), 15);
    assert_eq!(file.internship_posts_between(d("2026-03-02"), d("2026-07-01")), 3);
    assert!(serde_json::from_str::<InternshipOffer>(r#"{"offer_id":"o","posts":0}"#).is_err(), "posts ≥ 1");
}

fn posts(id: &str, kind: WelfarePostKind, n_posts: u32) -> WelfarePostsDevelopment {
    WelfarePostsDevelopment { development_id: id.into(), kind, posts: n(n_posts) }
}

fn loan(id: &str, principal: i64, term_months: u32) -> GuaranteeLoan {
    GuaranteeLoan {
        loan_id: id.into(),
        borrower: LoanBorrower::Enterprise,
        principal: crate::values::Fen::positive(principal).unwrap(),
        lender: "天津农商银行".into(),
        term_months,
    }
}

#[test]
fn welfare_posts_developed_are_recorded_under_unique_ids() {
    let g = given(&[registered("2026-01-05", 50)]);
    then_fact(
        g.when("2026-03-01", EnterpriseCommand::DevelopWelfarePosts(posts("w1", WelfarePostKind::PublicWelfare, 30))),
        "2026-03-01",
        EnterpriseFact::WelfarePostsDeveloped(posts("w1", WelfarePostKind::PublicWelfare, 30)),
    );
    let developed = given(&[
        registered("2026-01-05", 50),
        ("2026-03-01", EnterpriseFact::WelfarePostsDeveloped(posts("w1", WelfarePostKind::PublicWelfare, 30))),
    ]);
    then_rejected(
        developed.when(
            "2026-04-01",
            EnterpriseCommand::DevelopWelfarePosts(posts("w1", WelfarePostKind::CommunityService, 5)),
        ),
        EnterpriseRejectionCode::PostsDevelopmentExists,
    );
    assert!(
        serde_json::from_str::<WelfarePostsDevelopment>(r#"{"development_id":"w","kind":"public_welfare","posts":0}"#)
            .is_err(),
        "posts ≥ 1"
    );
}

#[test]
fn a_guarantee_loan_has_a_unique_id_and_a_term_of_1_to_60_months() {
    let g = given(&[registered("2026-01-05", 50)]);
    then_fact(
        g.when("2026-03-01", EnterpriseCommand::RecordGuaranteeLoan(loan("g1", 30_000_000, 24))),
        "2026-03-01",
        EnterpriseFact::GuaranteeLoanGranted(loan("g1", 30_000_000, 24)),
    );
    for term in [1, 60] {
        assert!(g.when("2026-03-01", EnterpriseCommand::RecordGuaranteeLoan(loan("g1", 1, term))).is_ok(), "{term}");
    }
    for term in [0, 61] {
        let err = g.when("2026-03-01", EnterpriseCommand::RecordGuaranteeLoan(loan("g1", 1, term))).unwrap_err();
        assert_eq!((err.code, err.field), (EnterpriseRejectionCode::InvalidLoanTerm, Some("loan.term_months")));
    }
    let lent = given(&[
        registered("2026-01-05", 50),
        ("2026-03-01", EnterpriseFact::GuaranteeLoanGranted(loan("g1", 30_000_000, 24))),
    ]);
    then_rejected(
        lent.when("2026-05-01", EnterpriseCommand::RecordGuaranteeLoan(loan("g1", 10_000_000, 12))),
        EnterpriseRejectionCode::LoanExists,
    );
    then_rejected(
        given(&[]).when("2026-03-01", EnterpriseCommand::RecordGuaranteeLoan(loan("g1", 1, 12))),
        EnterpriseRejectionCode::CaseNotFound,
    );
    assert!(
        serde_json::from_str::<GuaranteeLoan>(
            r#"{"loan_id":"g","borrower":"founder","principal":0,"lender":"b","term_months":12}"#
        )
        .is_err(),
        "principal > 0"
    );
}

// === events ===

// === cross-checks from the review of the deciders (hand-computed cases) ===

/// 000 § 3 "对 20人以上…实时预警、动态跟踪、主动服务…对 40人以上…提供技能培训、专场招聘":
/// 以上 includes N. The recorded layoff carries the same response as its size.
#[test]
fn a_recorded_batch_layoff_carries_the_response_of_its_size() {
    assert_eq!(layoff_response(19), LayoffResponse::Monitor);
    assert_eq!(layoff_response(20), LayoffResponse::WarningTrackingProactiveService);
    assert_eq!(layoff_response(39), LayoffResponse::WarningTrackingProactiveService);
    assert_eq!(layoff_response(40), LayoffResponse::SkillsTrainingAndJobFairs);
    assert_eq!(layoff_response(u32::MAX), LayoffResponse::SkillsTrainingAndJobFairs);
    let Given(case) =
        given(&[registered("2026-01-05", 300), ("2026-02-01", EnterpriseFact::BatchLayoffReported(layoff("L", 40)))]);
    assert_eq!(case.file().unwrap().layoff("L").unwrap().response(), LayoffResponse::SkillsTrainingAndJobFairs);
}

/// 000 § 28 "对超 200人重点企业进行用工监测": 超 excludes 200, also when the size
/// comes from the latest headcount on the date (201 in October, 200 in November).
#[test]
fn a_key_enterprise_has_201_insured_employees_by_the_headcount_on_the_date() {
    let designate = || EnterpriseCommand::DesignateKeyEnterprise;
    then_rejected(
        given(&[registered("2026-01-05", 200)]).when(TODAY, designate()),
        EnterpriseRejectionCode::BelowKeyEnterpriseSize,
    );
    assert!(given(&[registered("2026-01-05", 201)]).when(TODAY, designate()).is_ok());
    let g = given(&[
        registered("2026-01-05", 150),
        ("2026-10-01", EnterpriseFact::HeadcountReported(headcount("2026-10-01", 201))),
        ("2026-11-01", EnterpriseFact::HeadcountReported(headcount("2026-11-01", 200))),
    ]);
    assert!(g.when("2026-10-31", designate()).is_ok());
    then_rejected(g.when("2026-11-01", designate()), EnterpriseRejectionCode::BelowKeyEnterpriseSize);
}

/// "提前30日" counted in days across February 2026 (28 days): 2026-01-30 →
/// 2026-03-01 is 30 days (accepted), → 2026-02-28 is 29 (refused).
#[test]
fn layoff_notice_days_are_counted_across_february() {
    let g = given(&[registered("2026-01-05", 300)]);
    let file =
        |planned: &str| g.when("2026-01-30", EnterpriseCommand::FileLayoffPlan(plan("p1", "2026-01-30", planned)));
    assert!(file("2026-03-01").is_ok());
    then_rejected(file("2026-02-28"), EnterpriseRejectionCode::NoticeTooShort);
}

/// Today is allowed and tomorrow refused naming the field; a headcount for a
/// month not yet begun (December, on 2026-11-22) is refused.
#[test]
fn enterprise_facts_dated_today_are_recorded_and_tomorrow_refused() {
    let g = given(&[registered("2026-01-05", 300)]);
    let r = g.when("2026-11-23", EnterpriseCommand::ReportBatchLayoff(layoff("L", 20)));
    assert_eq!(r.as_ref().unwrap_err().field, Some("effective_date"));
    then_rejected(r, EnterpriseRejectionCode::EffectiveDateInFuture);
    assert!(g.when(TODAY, EnterpriseCommand::ReportBatchLayoff(layoff("L", 20))).is_ok());
    then_rejected(
        g.when(TODAY, EnterpriseCommand::ReportHeadcount(headcount("2026-12-01", 1))),
        EnterpriseRejectionCode::InvalidMonth,
    );
}

fn one_of_each() -> Vec<EnterpriseEvent> {
    [
        EnterpriseFact::Registered(registration(300)),
        EnterpriseFact::HeadcountReported(headcount("2026-02-01", 310)),
        EnterpriseFact::HireRecorded(hire("h1")),
        EnterpriseFact::BatchLayoffReported(layoff("l1", 21)),
        EnterpriseFact::LayoffServiceProvided(service("l1", LayoffService::TrackingVisit)),
        EnterpriseFact::InternshipPostsOffered(offer("o1", 4)),
        EnterpriseFact::WelfarePostsDeveloped(posts("w1", WelfarePostKind::CommunityService, 2)),
        EnterpriseFact::GuaranteeLoanGranted(loan("g1", 50_000_000, 36)),
        EnterpriseFact::LayoffPlanFiled(plan("p1", "2026-02-01", "2026-03-15")),
        EnterpriseFact::DesignatedKeyEnterprise,
        EnterpriseFact::LabourShortageReported(LabourShortage { posts: n(3), skills: "焊工".into() }),
        EnterpriseFact::SubsidyGranted(grant("s1")),
        EnterpriseFact::SubsidyRevoked(revocation("s1")),
    ]
    .into_iter()
    .map(|fact| EnterpriseEvent { effective_date: d("2026-02-03"), fact })
    .collect()
}

#[test]
fn every_event_survives_encode_and_decode() {
    let events = one_of_each();
    let types: BTreeSet<&str> = events.iter().map(|e| e.fact.event_type()).collect();
    assert_eq!(types.len(), events.len(), "event types are distinct");
    for e in events {
        let t = e.fact.event_type();
        assert!(t.starts_with("enterprise."), "{t}");
        assert_eq!(EnterpriseEvent::decode(t, SCHEMA_VERSION, &e.encode()).unwrap(), e);
    }
}

#[test]
fn decode_refuses_unknown_versions_and_mismatched_types() {
    let e = EnterpriseEvent { effective_date: d("2026-02-03"), fact: EnterpriseFact::DesignatedKeyEnterprise };
    let data = e.encode();
    assert!(EnterpriseEvent::decode("enterprise.designated_key_enterprise", 2, &data).is_err());
    let err = EnterpriseEvent::decode("enterprise.registered", SCHEMA_VERSION, &data).unwrap_err().to_string();
    assert!(err.contains("payload is a enterprise.designated_key_enterprise"), "{err}");
    assert!(EnterpriseEvent::decode("enterprise.registered", SCHEMA_VERSION, b"{}").is_err());
}

#[test]
fn folding_one_of_each_builds_the_file() {
    let case = EnterpriseCase::from_events(&one_of_each());
    let file = case.file().unwrap();
    assert_eq!(file.registered_on, d("2026-02-03"));
    assert_eq!(file.insured_employees(), 310);
    assert_eq!((file.hires.len(), file.layoffs.len(), file.layoff_plans.len(), file.shortages.len()), (1, 1, 1, 1));
    assert_eq!((file.layoffs[0].services.len(), file.internship_offers.len()), (1, 1));
    assert!(case.is_key_enterprise());
    // A second registration event (never decided) changes nothing.
    let again = evolve(
        case.clone(),
        &EnterpriseEvent { effective_date: d("2026-03-01"), fact: EnterpriseFact::Registered(registration(5)) },
    );
    assert_eq!(again, case);
}

// === eligibility (政策找人) ===

#[test]
fn eligibility_is_noted_once_per_rule_and_kept_in_the_file() {
    let finding = |rule: &str| crate::person::EligibilityFinding {
        rule_id: rule.into(),
        rule_valid_from: d("2020-05-18"),
        programme: "xiqing-small-micro-loan".into(),
        clause: "000 § 14".into(),
        reasons: vec![crate::person::EligibilityReason {
            check: "enterprise_kinds_any".into(),
            detail: "kinds small_micro".into(),
            clause: "000 § 14".into(),
        }],
        amount: None,
    };
    let g = given(&[registered("2026-01-05", 10)]);
    then_fact(
        g.when("2026-03-01", EnterpriseCommand::NoteEligibility(finding("xiqing.loan.small-micro"))),
        "2026-03-01",
        EnterpriseFact::EligibilityFound(finding("xiqing.loan.small-micro")),
    );
    then_rejected(
        g.when("2026-01-04", EnterpriseCommand::NoteEligibility(finding("xiqing.loan.small-micro"))),
        EnterpriseRejectionCode::BeforeRegistration,
    );
    let noted = given(&[
        registered("2026-01-05", 10),
        ("2026-03-01", EnterpriseFact::EligibilityFound(finding("xiqing.loan.small-micro"))),
    ]);
    then_rejected(
        noted.when("2026-04-01", EnterpriseCommand::NoteEligibility(finding("xiqing.loan.small-micro"))),
        EnterpriseRejectionCode::EligibilityAlreadyNoted,
    );
    assert!(noted.when("2026-04-01", EnterpriseCommand::NoteEligibility(finding("binhai.stability.refund"))).is_ok());
    let file = noted.0.file().unwrap();
    assert_eq!(file.eligibility("xiqing.loan.small-micro").unwrap().found_on, d("2026-03-01"));
    assert!(file.eligibility("binhai.stability.refund").is_none());
    then_rejected(
        given(&[]).when("2026-03-01", EnterpriseCommand::NoteEligibility(finding("xiqing.loan.small-micro"))),
        EnterpriseRejectionCode::CaseNotFound,
    );
}

#[test]
fn every_rejection_code_is_exercised_above() {
    // A reminder that each code has a test; the strings are the public contract.
    let names: BTreeSet<&str> = EnterpriseRejectionCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), EnterpriseRejectionCode::ALL.len(), "codes are distinct");
    assert!(names.iter().all(|s| s.chars().all(|c| c.is_ascii_uppercase() || c == '_')));
    let source = include_str!("tests.rs");
    for code in EnterpriseRejectionCode::ALL {
        let variant = format!("EnterpriseRejectionCode::{code:?}");
        assert!(source.contains(&variant), "{variant} has no given/when/then test");
    }
}
