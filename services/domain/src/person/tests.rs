//! Given / when / then tests of the person decider: every rule, every code.

use std::collections::BTreeSet;

use super::*;
use crate::subsidy::{ProposalInputs, Reviewer};
use crate::{
    Date,
    rejection::RejectionCode,
    values::{CountyCode, CreditCode, DateRange, Fen, PersonName, Residence, ResidentId},
};

fn d(s: &str) -> Date {
    crate::values::parse_date(s).unwrap()
}

const TODAY: &str = "2026-11-22";

/// A valid ID from its first 17 characters.
fn id(first17: &str) -> ResidentId {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.bytes().zip(W).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    ResidentId::parse(&format!("{first17}{check}"), d(TODAY)).unwrap()
}

/// A man born 1980-06-15 (sequence 003: odd, male).
fn man() -> ResidentId {
    id("12011119800615003")
}

/// A woman born 1988-03-02 (sequence 004: even, female).
fn woman() -> ResidentId {
    id("12011119880302004")
}

fn registration(who: ResidentId) -> Registration {
    Registration {
        resident_id: who.into(),
        name: Some(PersonName::parse("测试").unwrap()),
        hukou: Hukou { county: CountyCode::parse("120111").unwrap(), nature: HukouNature::Urban },
        residence: Residence::parse("120111", "120111001", "120111001002").unwrap(),
        education: Education::SeniorSecondary,
        graduation: None,
        household: None,
        groups: BTreeSet::new(),
    }
}

fn credit_code() -> CreditCode {
    // 91120111MA05JX0K0 + its check character, computed.
    const A: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let body = "91120111MA05JX0K0";
    let sum: u32 = body.bytes().zip(W).map(|(b, w)| A.iter().position(|&a| a == b).unwrap() as u32 * w).sum();
    CreditCode::parse(&format!("{body}{}", A[((31 - sum % 31) % 31) as usize] as char)).unwrap()
}

fn placement() -> Placement {
    Placement { kind: PlacementKind::Enterprise, employer: Some(credit_code()), contract_months: Some(12) }
}

fn training(id: &str) -> TrainingEnrolment {
    TrainingEnrolment {
        training_id: id.into(),
        programme: TrainingProgramme::StartUpMalanhua,
        provider: "职业培训学校".into(),
    }
}

fn grant(id: &str) -> SubsidyGrant {
    SubsidyGrant {
        subsidy_id: id.into(),
        programme: "flexible-employment-social-insurance".into(),
        amount: Fen::positive(120_000).unwrap(),
        period: DateRange::new(d("2026-01-01"), d("2026-06-30")).unwrap(),
        payee: Payee::Person,
        policy_clause: "002#36".into(),
    }
}

fn difficulty(categories: &[DifficultyCategory], from: &str) -> Difficulty {
    Difficulty {
        categories: categories.iter().copied().collect(),
        valid: DateRange::new(d(from), d("2029-12-31")).unwrap(),
    }
}

// === the fixture: given events, when command, then events or rejection ===

struct Given(PersonCase);

fn given(events: &[(&str, PersonFact)]) -> Given {
    let events: Vec<PersonEvent> =
        events.iter().map(|(on, fact)| PersonEvent { effective_date: d(on), fact: fact.clone() }).collect();
    Given(PersonCase::from_events(&events))
}

impl Given {
    fn when(&self, on: &str, command: PersonCommand) -> Result<Vec<PersonEvent>, Rejection> {
        decide(&self.0, DatedCommand { effective_date: d(on), command }, d(TODAY))
    }
}

fn then_fact(result: Result<Vec<PersonEvent>, Rejection>, on: &str, fact: PersonFact) {
    assert_eq!(result, Ok(vec![PersonEvent { effective_date: d(on), fact }]));
}

fn then_rejected(result: Result<Vec<PersonEvent>, Rejection>, code: RejectionCode) {
    match result {
        Err(r) => assert_eq!(r.code, code, "rejected with {r}"),
        Ok(events) => panic!("expected {code}, got {events:?}"),
    }
}

fn registered(on: &str) -> (&str, PersonFact) {
    (on, PersonFact::Registered(registration(man())))
}

// === registration ===

#[test]
fn registering_a_new_person_opens_a_spell() {
    let r = given(&[]).when("2026-01-05", PersonCommand::RegisterUnemployment(registration(man())));
    then_fact(r, "2026-01-05", PersonFact::Registered(registration(man())));
}

#[test]
fn a_second_open_registration_is_refused() {
    let g = given(&[registered("2026-01-05")]);
    then_rejected(
        g.when("2026-02-01", PersonCommand::RegisterUnemployment(registration(man()))),
        RejectionCode::AlreadyRegistered,
    );
}

#[test]
fn re_registration_after_exit_opens_a_new_spell() {
    let g = given(&[
        registered("2025-01-05"),
        ("2025-03-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::MovedAway })),
    ]);
    let r = g.when("2025-09-01", PersonCommand::RegisterUnemployment(registration(man())));
    then_fact(r, "2025-09-01", PersonFact::Registered(registration(man())));
}

#[test]
fn re_registration_dated_before_the_previous_exit_is_refused() {
    let g = given(&[
        registered("2025-01-05"),
        ("2025-03-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::MovedAway })),
    ]);
    then_rejected(
        g.when("2025-02-01", PersonCommand::RegisterUnemployment(registration(man()))),
        RejectionCode::BeforePreviousEnd,
    );
}

#[test]
fn registering_while_placed_is_refused() {
    let g = given(&[registered("2025-01-05"), ("2025-02-01", PersonFact::Placed(placement()))]);
    then_rejected(
        g.when("2025-03-01", PersonCommand::RegisterUnemployment(registration(man()))),
        RejectionCode::CurrentlyPlaced,
    );
}

#[test]
fn registration_after_placement_ended_is_allowed_but_not_before_its_end() {
    let g = given(&[
        registered("2025-01-05"),
        ("2025-02-01", PersonFact::Placed(placement())),
        ("2025-08-31", PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::ContractExpired })),
    ]);
    then_rejected(
        g.when("2025-08-30", PersonCommand::RegisterUnemployment(registration(man()))),
        RejectionCode::BeforePreviousEnd,
    );
    then_fact(
        g.when("2025-08-31", PersonCommand::RegisterUnemployment(registration(man()))),
        "2025-08-31",
        PersonFact::Registered(registration(man())),
    );
}

#[test]
fn under_sixteen_cannot_register_and_sixteenth_birthday_can() {
    let teen = id("12011120100615001"); // born 2010-06-15
    then_rejected(
        given(&[]).when("2026-06-14", PersonCommand::RegisterUnemployment(registration(teen.clone()))),
        RejectionCode::UnderWorkingAge,
    );
    assert!(given(&[]).when("2026-06-15", PersonCommand::RegisterUnemployment(registration(teen))).is_ok());
}

#[test]
fn a_registration_naming_another_person_is_refused() {
    let g = given(&[
        registered("2025-01-05"),
        ("2025-03-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::Other })),
    ]);
    then_rejected(
        g.when("2025-04-01", PersonCommand::RegisterUnemployment(registration(woman()))),
        RejectionCode::ResidentIdMismatch,
    );
}

// === dates ===

#[test]
fn a_future_effective_date_is_refused_naming_the_field() {
    let r = given(&[]).when("2026-11-23", PersonCommand::RegisterUnemployment(registration(man())));
    assert_eq!(r.clone().unwrap_err().field, Some("effective_date"));
    then_rejected(r, RejectionCode::EffectiveDateInFuture);
    // today itself is fine
    assert!(given(&[]).when(TODAY, PersonCommand::RegisterUnemployment(registration(man()))).is_ok());
}

#[test]
fn facts_before_the_registration_are_refused() {
    let g = given(&[registered("2026-01-05")]);
    let contact =
        Contact { channel: ContactChannel::Phone, outcome: ContactOutcome::StillSeeking, note: String::new() };
    then_rejected(
        g.when("2026-01-04", PersonCommand::RecordContact(contact.clone())),
        RejectionCode::BeforeRegistration,
    );
    then_fact(
        g.when("2026-01-05", PersonCommand::RecordContact(contact.clone())),
        "2026-01-05",
        PersonFact::Contacted(contact),
    );
    then_rejected(g.when("2026-01-04", PersonCommand::RecordPlacement(placement())), RejectionCode::BeforeRegistration);
    then_rejected(
        g.when("2026-01-04", PersonCommand::EnrolTraining(training("t1"))),
        RejectionCode::BeforeRegistration,
    );
    then_rejected(
        g.when("2026-01-04", PersonCommand::ProposeSubsidy(proposal("s1", "staff-1"))),
        RejectionCode::BeforeRegistration,
    );
    then_rejected(
        g.when("2026-01-04", PersonCommand::ExitRegistration(RegistrationExit { reason: ExitReason::Other })),
        RejectionCode::BeforeRegistration,
    );
    then_rejected(
        g.when("2026-01-04", PersonCommand::StartBenefit(BenefitStart { months: 12, extended_to_retirement: false })),
        RejectionCode::BeforeRegistration,
    );
    then_rejected(
        g.when(
            "2026-01-04",
            PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::Disabled], "2026-01-04")),
        ),
        RejectionCode::BeforeRegistration,
    );
    then_rejected(
        g.when(
            "2026-01-04",
            PersonCommand::RecommendJob(JobRecommendation { vacancy_id: "v1".into(), enterprise: None, two_way: true }),
        ),
        RejectionCode::BeforeRegistration,
    );
}

#[test]
fn facts_on_a_case_that_does_not_exist_are_refused() {
    then_rejected(
        given(&[]).when("2026-01-05", PersonCommand::RecordPlacement(placement())),
        RejectionCode::CaseNotFound,
    );
}

// === open registration required ===

#[test]
fn facts_that_need_an_open_registration() {
    let g = given(&[
        registered("2026-01-05"),
        ("2026-02-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::EnteredSchool })),
    ]);
    then_rejected(
        g.when("2026-03-01", PersonCommand::ExitRegistration(RegistrationExit { reason: ExitReason::Other })),
        RejectionCode::NotRegistered,
    );
    then_rejected(
        g.when(
            "2026-03-01",
            PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::Disabled], "2026-03-01")),
        ),
        RejectionCode::NotRegistered,
    );
    then_rejected(
        g.when(
            "2026-03-01",
            PersonCommand::RecommendJob(JobRecommendation { vacancy_id: "v".into(), enterprise: None, two_way: false }),
        ),
        RejectionCode::NotRegistered,
    );
    then_rejected(
        g.when("2026-03-01", PersonCommand::StartBenefit(BenefitStart { months: 6, extended_to_retirement: false })),
        RejectionCode::NotRegistered,
    );
}

// === placement ===

#[test]
fn a_placement_closes_the_spell() {
    let g = given(&[registered("2026-01-05"), ("2026-03-01", PersonFact::Placed(placement()))]);
    let file = g.0.file().unwrap();
    assert!(file.open_spell().is_none());
    assert_eq!(file.spells[0].ended, Some((d("2026-03-01"), SpellEnd::Placed)));
    assert_eq!(g.0.status(), Some(CaseStatus::Placed));
}

#[test]
fn placing_someone_already_placed_is_refused() {
    let g = given(&[registered("2026-01-05"), ("2026-03-01", PersonFact::Placed(placement()))]);
    then_rejected(g.when("2026-04-01", PersonCommand::RecordPlacement(placement())), RejectionCode::AlreadyPlaced);
}

#[test]
fn ending_a_placement_that_does_not_exist_is_refused() {
    let g = given(&[registered("2026-01-05")]);
    then_rejected(
        g.when("2026-04-01", PersonCommand::EndPlacement(PlacementEnd { reason: PlacementEndReason::Resigned })),
        RejectionCode::NotPlaced,
    );
}

#[test]
fn a_placement_cannot_end_before_it_started() {
    let g = given(&[registered("2026-01-05"), ("2026-03-01", PersonFact::Placed(placement()))]);
    then_rejected(
        g.when("2026-02-28", PersonCommand::EndPlacement(PlacementEnd { reason: PlacementEndReason::Resigned })),
        RejectionCode::BeforeStart,
    );
    assert!(
        g.when("2026-03-01", PersonCommand::EndPlacement(PlacementEnd { reason: PlacementEndReason::Resigned }))
            .is_ok()
    );
}

#[test]
fn job_to_job_placement_after_the_previous_one_ended() {
    let g = given(&[
        registered("2026-01-05"),
        ("2026-03-01", PersonFact::Placed(placement())),
        ("2026-06-30", PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::ContractExpired })),
    ]);
    then_rejected(g.when("2026-06-29", PersonCommand::RecordPlacement(placement())), RejectionCode::BeforeStart);
    then_fact(
        g.when("2026-07-01", PersonCommand::RecordPlacement(placement())),
        "2026-07-01",
        PersonFact::Placed(placement()),
    );
}

// === training ===

#[test]
fn training_lifecycle_rules() {
    let g = given(&[registered("2026-01-05"), ("2026-02-01", PersonFact::TrainingEnrolled(training("t1")))]);
    then_rejected(g.when("2026-02-02", PersonCommand::EnrolTraining(training("t1"))), RejectionCode::TrainingExists);
    let complete = |id: &str| TrainingCompletion { training_id: id.into(), certificate: Some("C-1".into()) };
    then_rejected(
        g.when("2026-03-01", PersonCommand::CompleteTraining(complete("t2"))),
        RejectionCode::TrainingNotFound,
    );
    then_rejected(g.when("2026-01-31", PersonCommand::CompleteTraining(complete("t1"))), RejectionCode::BeforeStart);
    then_fact(
        g.when("2026-03-01", PersonCommand::CompleteTraining(complete("t1"))),
        "2026-03-01",
        PersonFact::TrainingCompleted(complete("t1")),
    );
    let done = given(&[
        registered("2026-01-05"),
        ("2026-02-01", PersonFact::TrainingEnrolled(training("t1"))),
        ("2026-03-01", PersonFact::TrainingCompleted(complete("t1"))),
    ]);
    then_rejected(
        done.when("2026-03-02", PersonCommand::CompleteTraining(complete("t1"))),
        RejectionCode::TrainingFinished,
    );
    let drop = TrainingDrop { training_id: "t1".into(), reason: "moved".into() };
    then_rejected(done.when("2026-03-02", PersonCommand::DropTraining(drop.clone())), RejectionCode::TrainingFinished);
    then_fact(
        g.when("2026-02-10", PersonCommand::DropTraining(drop.clone())),
        "2026-02-10",
        PersonFact::TrainingDropped(drop),
    );
}

// === subsidies ===

#[test]
fn subsidy_rules() {
    let g = given(&[registered("2026-01-05"), ("2026-02-01", PersonFact::SubsidyGranted(grant("s1")))]);
    then_rejected(
        g.when("2026-02-02", PersonCommand::ProposeSubsidy(proposal("s1", "staff-1"))),
        RejectionCode::SubsidyExists,
    );
    let revoke = |id: &str| SubsidyRevocation { subsidy_id: id.into(), reason: "duplicate payment".into() };
    then_rejected(g.when("2026-03-01", PersonCommand::RevokeSubsidy(revoke("s2"))), RejectionCode::SubsidyNotFound);
    then_rejected(g.when("2026-01-31", PersonCommand::RevokeSubsidy(revoke("s1"))), RejectionCode::BeforeStart);
    let revoked = given(&[
        registered("2026-01-05"),
        ("2026-02-01", PersonFact::SubsidyGranted(grant("s1"))),
        ("2026-03-01", PersonFact::SubsidyRevoked(revoke("s1"))),
    ]);
    then_rejected(
        revoked.when("2026-03-02", PersonCommand::RevokeSubsidy(revoke("s1"))),
        RejectionCode::SubsidyAlreadyRevoked,
    );
    let rec = revoked.0.file().unwrap().subsidy("s1").unwrap();
    assert_eq!(rec.revoked_on, Some(d("2026-03-01")));
}

fn proposal(id: &str, by: &str) -> SubsidyProposal {
    SubsidyProposal {
        grant: grant(id),
        rule_id: "tianjin.flexible.social-insurance".into(),
        rule_valid_from: d("2020-01-01"),
        proposed_by: by.into(),
        reasons: vec![],
        inputs: ProposalInputs::default().into(),
    }
}

fn reviewer(user: &str, supervisor: bool) -> Reviewer {
    Reviewer { user: user.into(), supervisor }
}

#[test]
fn a_proposal_is_granted_only_by_another_user_who_is_a_supervisor() {
    let proposed = [registered("2026-01-05"), ("2026-02-01", PersonFact::SubsidyProposed(proposal("s1", "staff-1")))];
    let g = given(&proposed);
    let approve = |user: &str, supervisor: bool| {
        PersonCommand::ApproveSubsidy(ApproveProposal {
            proposal_id: "s1".into(),
            reviewer: reviewer(user, supervisor),
        })
    };
    let reject = |user: &str, supervisor: bool| {
        PersonCommand::RejectSubsidyProposal(RejectProposal {
            proposal_id: "s1".into(),
            reviewer: reviewer(user, supervisor),
            reason: "contract not yet six months old".into(),
        })
    };
    // Separation of duties: not the proposer, even a supervisor one; only supervisors.
    then_rejected(g.when("2026-02-02", approve("staff-1", true)), RejectionCode::SelfReview);
    then_rejected(g.when("2026-02-02", reject("staff-1", true)), RejectionCode::SelfReview);
    then_rejected(g.when("2026-02-02", approve("staff-2", false)), RejectionCode::NotSupervisor);
    then_rejected(g.when("2026-02-02", reject("staff-2", false)), RejectionCode::NotSupervisor);
    then_rejected(g.when("2026-01-31", approve("chief-1", true)), RejectionCode::BeforeStart);
    let missing = PersonCommand::ApproveSubsidy(ApproveProposal {
        proposal_id: "s9".into(),
        reviewer: reviewer("chief-1", true),
    });
    then_rejected(g.when("2026-02-02", missing), RejectionCode::ProposalNotFound);
    // A proposal is not a grant: nothing counts until approval.
    assert!(g.0.file().unwrap().subsidies.is_empty());

    let approval = SubsidyApproval { proposal_id: "s1".into(), approved_by: "chief-1".into() };
    assert_eq!(
        g.when("2026-02-02", approve("chief-1", true)),
        Ok(vec![
            PersonEvent { effective_date: d("2026-02-02"), fact: PersonFact::SubsidyApproved(approval.clone()) },
            PersonEvent { effective_date: d("2026-02-02"), fact: PersonFact::SubsidyGranted(grant("s1")) },
        ])
    );
    let mut approved = proposed.to_vec();
    approved.push(("2026-02-02", PersonFact::SubsidyApproved(approval)));
    approved.push(("2026-02-02", PersonFact::SubsidyGranted(grant("s1"))));
    let g = given(&approved);
    then_rejected(g.when("2026-02-03", reject("chief-2", true)), RejectionCode::ProposalDecided);
    assert_eq!(g.0.file().unwrap().subsidy("s1").unwrap().granted_on, d("2026-02-02"));

    let rejection = SubsidyProposalRejection {
        proposal_id: "s1".into(),
        rejected_by: "chief-1".into(),
        reason: "contract not yet six months old".into(),
    };
    then_fact(g_reject(&proposed), "2026-02-02", PersonFact::SubsidyProposalRejected(rejection.clone()));
    let mut rejected = proposed.to_vec();
    rejected.push(("2026-02-02", PersonFact::SubsidyProposalRejected(rejection)));
    let g = given(&rejected);
    then_rejected(g.when("2026-02-03", approve("chief-2", true)), RejectionCode::ProposalDecided);
    assert!(g.0.file().unwrap().subsidies.is_empty(), "a rejected proposal grants nothing");
}

fn g_reject(proposed: &[(&str, PersonFact)]) -> Result<Vec<PersonEvent>, Rejection> {
    given(proposed).when(
        "2026-02-02",
        PersonCommand::RejectSubsidyProposal(RejectProposal {
            proposal_id: "s1".into(),
            reviewer: reviewer("chief-1", true),
            reason: "contract not yet six months old".into(),
        }),
    )
}

// === eligibility (政策找人) ===

fn finding(rule_id: &str) -> EligibilityFinding {
    EligibilityFinding {
        rule_id: rule_id.into(),
        rule_valid_from: d("2020-05-18"),
        programme: "xiqing-hiring-one-time".into(),
        clause: "000 § 9".into(),
        reasons: vec![EligibilityReason {
            check: "placement_kinds".into(),
            detail: "placement is enterprise".into(),
            clause: "000 § 9".into(),
        }],
        amount: Some(Fen::positive(100_000).unwrap()),
    }
}

#[test]
fn eligibility_is_noted_once_per_rule_and_kept_in_the_file() {
    let g = given(&[registered("2026-01-05")]);
    then_fact(
        g.when("2026-03-01", PersonCommand::NoteEligibility(finding("xiqing.hiring.one-time"))),
        "2026-03-01",
        PersonFact::EligibilityFound(finding("xiqing.hiring.one-time")),
    );
    then_rejected(
        g.when("2026-01-04", PersonCommand::NoteEligibility(finding("xiqing.hiring.one-time"))),
        RejectionCode::BeforeRegistration,
    );
    let noted = given(&[
        registered("2026-01-05"),
        ("2026-03-01", PersonFact::EligibilityFound(finding("xiqing.hiring.one-time"))),
    ]);
    // The same rule again, even under a later version or on a later day, is refused.
    let mut later_version = finding("xiqing.hiring.one-time");
    later_version.rule_valid_from = d("2026-01-01");
    then_rejected(
        noted.when("2026-04-01", PersonCommand::NoteEligibility(later_version)),
        RejectionCode::EligibilityAlreadyNoted,
    );
    // Another rule is noted.
    assert!(noted.when("2026-04-01", PersonCommand::NoteEligibility(finding("xiqing.startup.success"))).is_ok());
    let file = noted.0.file().unwrap();
    let rec = file.eligibility("xiqing.hiring.one-time").unwrap();
    assert_eq!((rec.found_on, rec.finding.amount.map(|a| a.get())), (d("2026-03-01"), Some(100_000)));
    assert!(file.eligibility("xiqing.startup.success").is_none());
    // A case that does not exist cannot be noted.
    then_rejected(
        given(&[]).when("2026-03-01", PersonCommand::NoteEligibility(finding("xiqing.hiring.one-time"))),
        RejectionCode::CaseNotFound,
    );
    // The stored form round-trips.
    let e = PersonEvent {
        effective_date: d("2026-03-01"),
        fact: PersonFact::EligibilityFound(finding("xiqing.hiring.one-time")),
    };
    assert_eq!(PersonEvent::decode("person.eligibility_found", SCHEMA_VERSION, &e.encode()).unwrap(), e);
}

// === benefit ===

#[test]
fn benefit_rules() {
    let start = BenefitStart { months: 12, extended_to_retirement: false };
    let end = BenefitEnd { reason: BenefitEndReason::Employed };
    let g = given(&[registered("2026-01-05")]);
    then_rejected(g.when("2026-02-01", PersonCommand::EndBenefit(end.clone())), RejectionCode::BenefitNotRunning);
    let running = given(&[registered("2026-01-05"), ("2026-02-01", PersonFact::BenefitStarted(start.clone()))]);
    then_rejected(running.when("2026-02-02", PersonCommand::StartBenefit(start)), RejectionCode::BenefitRunning);
    then_rejected(running.when("2026-01-31", PersonCommand::EndBenefit(end.clone())), RejectionCode::BeforeStart);
    then_fact(
        running.when("2026-05-01", PersonCommand::EndBenefit(end.clone())),
        "2026-05-01",
        PersonFact::BenefitEnded(end),
    );
}

// === difficulty ===

#[test]
fn age_categories_are_checked_against_the_resident_id() {
    // The man turns 45 on 2025-06-15 and 50 on 2030-06-15.
    let g = given(&[registered("2025-01-05")]);
    let older = |from: &str| PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::OlderWorker], from));
    then_rejected(g.when("2025-06-14", older("2025-06-14")), RejectionCode::CategoryAgeMismatch);
    assert!(g.when("2025-06-15", older("2025-06-15")).is_ok());
    then_rejected(
        g.when(
            "2026-01-10",
            PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::Age4050], "2026-01-10")),
        ),
        RejectionCode::CategoryAgeMismatch,
    );
    // The woman is 38 in 2026: old enough for "older worker" (35+), not for 4050 (40+).
    let w = given(&[("2026-01-05", PersonFact::Registered(registration(woman())))]);
    assert!(
        w.when(
            "2026-01-10",
            PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::OlderWorker], "2026-01-10"))
        )
        .is_ok()
    );
    then_rejected(
        w.when(
            "2026-01-10",
            PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::Age4050], "2026-01-10")),
        ),
        RejectionCode::CategoryAgeMismatch,
    );
}

/// 002 #36 / 004 § 11 "其他女年满40周岁、男年满50周岁的就业困难人员" describe the
/// person as recognised: the age is judged on the earlier of the recognition
/// date and valid_from, so a validity moved forward to a later birthday
/// cannot carry an age the person does not yet have.
#[test]
fn age_categories_are_judged_on_the_earlier_of_the_recognition_and_valid_from() {
    // The woman (born 1988-03-02) is 38 on 2026-06-01 and turns 40 on 2028-03-02.
    let w = given(&[("2026-01-05", PersonFact::Registered(registration(woman())))]);
    let deferred = w.when(
        "2026-06-01",
        PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::Age4050], "2028-03-02")),
    );
    let rejection = deferred.clone().unwrap_err();
    assert_eq!(rejection.field, Some("difficulty.categories"));
    assert!(rejection.message.contains("38 on the recognition date"), "{rejection}");
    then_rejected(deferred, RejectionCode::CategoryAgeMismatch);
    // Backdated validity: judged on valid_from. The man turns 45 on 2025-06-15.
    let g = given(&[registered("2025-01-05")]);
    let older = |from: &str| PersonCommand::RecogniseDifficulty(difficulty(&[DifficultyCategory::OlderWorker], from));
    then_rejected(g.when("2025-07-01", older("2025-06-14")), RejectionCode::CategoryAgeMismatch);
    assert!(g.when("2025-07-01", older("2025-06-15")).is_ok());
    // A deferred start is not refused as such: of age on the recognition date, valid from later.
    assert!(g.when("2025-06-15", older("2025-08-01")).is_ok());
    then_rejected(g.when("2025-06-14", older("2025-08-01")), RejectionCode::CategoryAgeMismatch);
}

#[test]
fn special_difficulty_follows_from_the_categories() {
    let g = given(&[
        registered("2026-01-05"),
        (
            "2026-01-10",
            PersonFact::DifficultyRecognised(difficulty(&[DifficultyCategory::SingleParentHousehold], "2026-01-10")),
        ),
    ]);
    assert!(g.0.file().unwrap().difficulties[0].special());
}

// === life bounds (death, public-welfare posts, retirement): tests/bounds.rs ===
mod bounds;

// === households (家庭): tests/households.rs ===
mod households;

// === the whole life ===

#[test]
fn a_whole_lifecycle_folds_to_the_expected_state() {
    let events = [
        registered("2025-01-05"),
        (
            "2025-01-05",
            PersonFact::Contacted(Contact {
                channel: ContactChannel::InPerson,
                outcome: ContactOutcome::StillSeeking,
                note: String::new(),
            }),
        ),
        (
            "2025-01-07",
            PersonFact::JobRecommended(JobRecommendation {
                vacancy_id: "v1".into(),
                enterprise: Some(credit_code()),
                two_way: true,
            }),
        ),
        ("2025-02-01", PersonFact::TrainingEnrolled(training("t1"))),
        (
            "2025-03-01",
            PersonFact::TrainingCompleted(TrainingCompletion { training_id: "t1".into(), certificate: None }),
        ),
        ("2025-03-10", PersonFact::Placed(placement())),
        ("2025-09-10", PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::Dismissed })),
        registered("2025-09-15"),
        ("2025-10-01", PersonFact::BenefitStarted(BenefitStart { months: 6, extended_to_retirement: false })),
        ("2026-02-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::NoLongerSeeking })),
    ];
    let g = given(&events);
    let file = g.0.file().unwrap();
    assert_eq!(file.spells.len(), 2);
    assert_eq!(file.spells[1].ended, Some((d("2026-02-01"), SpellEnd::Exited(ExitReason::NoLongerSeeking))));
    assert_eq!(file.contact_count, 1);
    assert_eq!(file.recommendation_count, 1);
    assert_eq!(file.trainings[0].finished_on(), Some(d("2025-03-01")));
    assert_eq!(file.placements[0].ended_on, Some(d("2025-09-10")));
    assert!(file.running_benefit().is_some());
    assert_eq!(g.0.status(), Some(CaseStatus::NotRegistered));
}

#[test]
fn events_round_trip_through_their_stored_form() {
    let e = PersonEvent { effective_date: d("2026-01-05"), fact: PersonFact::Registered(registration(man())) };
    let back = PersonEvent::decode("person.registered", SCHEMA_VERSION, &e.encode()).unwrap();
    assert_eq!(back, e);
    assert!(PersonEvent::decode("person.placed", SCHEMA_VERSION, &e.encode()).is_err());
    assert!(PersonEvent::decode("person.registered", 99, &e.encode()).is_err());
}

#[test]
fn every_rejection_code_is_exercised_above() {
    // A reminder that each code has a test; the strings are the public contract.
    let names: BTreeSet<&str> = RejectionCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), RejectionCode::ALL.len(), "codes are distinct");
    let source =
        [include_str!("tests.rs"), include_str!("tests/households.rs"), include_str!("tests/bounds.rs")].concat();
    for code in RejectionCode::ALL {
        let variant = format!("RejectionCode::{code:?}");
        assert!(source.contains(&variant), "{variant} has no given/when/then test");
    }
}

#[test]
fn a_corrupt_payload_error_never_quotes_the_stored_value() {
    let e = PersonEvent { effective_date: d("2026-01-05"), fact: PersonFact::Registered(registration(man())) };
    let mut json = String::from_utf8(e.encode()).unwrap();
    // Break the resident ID's check character: the value fails to parse.
    let id = man().as_str().to_string();
    let broken = format!("{}0", &id[..17]);
    let broken = if broken == id { format!("{}1", &id[..17]) } else { broken };
    json = json.replace(&id, &broken);
    let err = PersonEvent::decode("person.registered", SCHEMA_VERSION, json.as_bytes()).unwrap_err().to_string();
    assert!(!err.contains(&broken[..14]), "{err}");
    assert!(err.contains("line 1"), "{err}");
}

// === personal data erasure (PIPL art. 47) ===

fn erased(on: &str) -> (&str, PersonFact) {
    (on, PersonFact::PersonalDataErased(PersonalDataErasure { ground: ErasureGround::ConsentWithdrawn }))
}

#[test]
fn erasure_keeps_birth_date_and_sex_and_is_recorded_once() {
    let g = given(&[registered("2025-01-05"), erased("2025-06-01")]);
    let file = g.0.file().unwrap();
    assert_eq!(file.personal_data_erased, Some(d("2025-06-01")));
    assert!(file.registration.resident_id.known().is_none() && file.registration.name.is_none());
    assert!(file.registration.resident_id.is_erased());
    assert_eq!(file.registration.resident_id.birth_date(), man().birth_date());
    assert_eq!(file.registration.resident_id.gender(), man().gender());
    let again = PersonCommand::ErasePersonalData(PersonalDataErasure { ground: ErasureGround::Other });
    then_rejected(g.when("2025-06-02", again.clone()), RejectionCode::AlreadyErased);
    then_rejected(given(&[]).when("2025-06-02", again), RejectionCode::CaseNotFound);
}

#[test]
fn the_same_person_may_register_again_after_erasure_and_be_erased_again() {
    let g = given(&[
        registered("2025-01-05"),
        ("2025-03-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::Other })),
        erased("2025-06-01"),
    ]);
    then_rejected(
        g.when("2025-07-01", PersonCommand::RegisterUnemployment(registration(woman()))),
        RejectionCode::ResidentIdMismatch,
    );
    let events = g.when("2025-07-01", PersonCommand::RegisterUnemployment(registration(man()))).unwrap();
    let mut case = g.0.clone();
    events.iter().for_each(|e| case.apply(e));
    let file = case.file().unwrap();
    assert_eq!(file.registration.resident_id.known(), Some(&man()));
    assert_eq!(file.personal_data_erased, None);
    assert_eq!(file.spells.len(), 2, "the earlier spell stays, pseudonymous");
    let erase = PersonCommand::ErasePersonalData(PersonalDataErasure { ground: ErasureGround::PurposeAchieved });
    assert!(Given(case).when("2025-08-01", erase).is_ok());
}

#[test]
fn a_registration_without_the_resident_id_is_refused() {
    let mut reg = registration(woman());
    reg.resident_id = reg.resident_id.withheld(false);
    then_rejected(
        given(&[]).when("2025-01-05", PersonCommand::RegisterUnemployment(reg)),
        RejectionCode::PersonalDataMissing,
    );
}

#[test]
fn a_stored_registration_without_its_personal_fields_decodes_as_withheld() {
    let e = PersonEvent { effective_date: d("2025-01-05"), fact: PersonFact::Registered(registration(woman())) };
    let mut json: serde_json::Value = serde_json::from_slice(&e.encode()).unwrap();
    assert_eq!(json["resident_id"], woman().as_str(), "the plain form is unchanged");
    json["resident_id"] = serde_json::json!({"birth_date": "1988-03-02", "gender": "female"});
    json["name"] = serde_json::Value::Null;
    json["sealed"] = serde_json::json!({"alg": "aes-256-gcm"});
    let back = PersonEvent::decode("person.registered", SCHEMA_VERSION, json.to_string().as_bytes()).unwrap();
    let PersonFact::Registered(reg) = back.fact else { panic!() };
    assert!(reg.resident_id.known().is_none());
    assert!(!reg.resident_id.is_erased());
    assert_eq!(reg.name, None);
    assert_eq!(reg.resident_id.age_on(d("2028-03-02")), 40);
}
