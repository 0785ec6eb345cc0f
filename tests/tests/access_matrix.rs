//! The authorization table, checked over a real TLS socket: every RPC of
//! [`leye::access::RULES`] × every role × a principal inside and one outside
//! the place of the case (or area) the request names. Each answer must be
//! the table's, and a denial must write nothing.
//!
//! Requests travel as raw protobuf bytes (built from the generated types)
//! through one generic client, so the matrix walks the table itself: a new
//! RPC without a request in [`request_for`] fails this test.
//!
//! The places: every case is in Xiqing (district 120111, street 120111001,
//! community 120111001002); the inside principals hold `120111`, the outside
//! ones Heping, `120101`.

use std::fmt::Write as _;

use chrono::{Datelike as _, Utc};
use leye::{
    access::{RULES, Rule, Scope},
    client::{Authed, Bearer},
};
use leye_auth::{Role, dev};
use leye_e2e::{
    CITY, TestServer, credit_code, ctx, date, days_ago, dry_run, enterprise_dry_run, enterprise_proposal, raw::call,
    reason, register_request, resident_id, spawn, today,
};
use leye_proto::{analytics::v1 as apb, audit::v1 as aupb, enterprise::v1 as epb, person::v1 as pb};
use prost::Message;
use tonic::{Code, Status, client::Grpc, service::interceptor::InterceptedService};
use uuid::Uuid;

/// The district every case of the matrix is in (Xiqing).
const INSIDE: &str = "120111";
/// A district none of them is in (Heping).
const OUTSIDE: &str = "120101";
/// A `system` principal must be granted at least one operation: this one
/// names no RPC of the service, so it grants nothing.
const UNRELATED_GRANT: &str = "leye.unrelated.v1.Elsewhere/Nothing";
const ALL_ROLES: [Role; 6] =
    [Role::Caseworker, Role::Supervisor, Role::Analyst, Role::Auditor, Role::Admin, Role::System];
/// A start-up training subsidy of Xiqing (000 § 13), for the person case.
const PERSON_RULE: &str = "xiqing.startup.training-certificate";
/// A Xiqing award to incubators, for the enterprise case.
const ENTERPRISE_RULE: &str = "xiqing.incubator.municipal-demonstration-award";

/// A channel carrying a development token with `operations` (for `system`).
async fn authed(server: &TestServer, subject: &str, roles: &[Role], jurisdiction: &str, operations: &[&str]) -> Authed {
    let claims = dev::DevClaims {
        key_id: Some(leye::trust::DEV_KEY_ID.into()),
        operations: operations.iter().map(|o| (*o).to_string()).collect(),
        ..dev::DevClaims::new(subject, roles, &[jurisdiction])
    };
    let (key, _) = leye::trust::dev_issuer(server.data_dir.path()).expect("development issuer");
    let token = dev::issue_token(&key, &claims, Utc::now().timestamp()).expect("token");
    InterceptedService::new(server.channel().await, Bearer::new(&token).expect("bearer"))
}

// === what the matrix acts on ===

/// The cases the requests name, all in Xiqing.
#[derive(Debug)]
struct Fixture {
    /// A registered person with a start-up training certificate.
    person: String,
    person_resident_id: String,
    /// A person an enterprise hire names (kept apart: the hire linker places them).
    hired: String,
    enterprise: String,
    enterprise_code: String,
    /// A household whose one member is a Xiqing person.
    household: String,
    /// A household the requests join and leave.
    other_household: String,
}

async fn fixture(server: &TestServer) -> Fixture {
    let mut c = server.client().await;
    let mut e = server.enterprise_client().await;
    let person_resident_id = resident_id("19900101", 1);
    let person = c
        .register_unemployment(register_request(&person_resident_id, days_ago(200)))
        .await
        .expect("register the person")
        .into_inner()
        .result
        .unwrap()
        .case_id;
    c.enrol_training(pb::EnrolTrainingRequest {
        context: ctx(),
        case_id: person.clone(),
        effective_date: days_ago(150),
        training: Some(pb::TrainingEnrolment {
            training_id: "T1".into(),
            programme: pb::TrainingProgramme::StartUpMalanhua as i32,
            provider: "西青区职业培训学校".into(),
        }),
    })
    .await
    .expect("enrol");
    c.complete_training(pb::CompleteTrainingRequest {
        context: ctx(),
        case_id: person.clone(),
        effective_date: days_ago(120),
        completion: Some(pb::TrainingCompletion { training_id: "T1".into(), certificate: "CERT-1".into() }),
    })
    .await
    .expect("complete");

    let household = Uuid::new_v4().to_string();
    let mut member = register_request(&resident_id("19850505", 3), days_ago(100));
    member.registration.as_mut().expect("registration").household =
        Some(pb::HouseholdMembership { household_id: household.clone(), relation: pb::HouseholdRelation::Head as i32 });
    c.register_unemployment(member).await.expect("register the household member");

    let hired = c
        .register_unemployment(register_request(&resident_id("19920202", 5), days_ago(100)))
        .await
        .expect("register the person to hire")
        .into_inner()
        .result
        .unwrap()
        .case_id;

    let enterprise_code = credit_code("91120111MA05JX0K0");
    let enterprise = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(400),
            registration: Some(enterprise_registration(&enterprise_code)),
        })
        .await
        .expect("register the enterprise")
        .into_inner()
        .result
        .unwrap()
        .case_id;

    // GetHousehold answers from the read model: wait until it has the household.
    let mut a = server.targets_client().await;
    let ready = async {
        for _ in 0..400 {
            let asked =
                apb::GetHouseholdRequest { household_id: household.clone(), as_of: String::new(), min_position: 0 };
            if a.get_household(asked).await.is_ok() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        false
    };
    assert!(ready.await, "the read model did not show the household");
    Fixture {
        person,
        person_resident_id,
        hired,
        enterprise,
        enterprise_code,
        household,
        other_household: Uuid::new_v4().to_string(),
    }
}

fn enterprise_registration(code: &str) -> epb::EnterpriseRegistration {
    epb::EnterpriseRegistration {
        credit_code: code.into(),
        name: "天津西青测试制造有限公司".into(),
        district: INSIDE.into(),
        industry_code: "C3411".into(),
        insured_employees: 50,
        small_micro: false,
        kinds: vec![epb::EnterpriseKind::TechStartUp as i32],
        check_character_confirmed: false,
    }
}

/// A request for `operation` that passes field validation, naming the
/// fixture's cases (Xiqing) or the area `120111`. Every row of the table
/// needs one: an operation without it fails the matrix.
fn request_for(operation: &str, f: &Fixture) -> Vec<u8> {
    let case = || f.person.clone();
    let firm = || f.enterprise.clone();
    let now = || days_ago(0);
    let person_payee = || Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) });
    let firm_payee =
        || Some(pb::Payee { payee: Some(pb::payee::Payee::EnterpriseCreditCode(f.enterprise_code.clone())) });
    let person_proposal = || pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: case(),
        effective_date: now(),
        proposal_id: "P1".into(),
        rule_id: PERSON_RULE.into(),
        payee: person_payee(),
        inputs: None,
    };
    let firm_proposal = || pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: firm(),
        effective_date: now(),
        proposal_id: "AWARD-1".into(),
        rule_id: ENTERPRISE_RULE.into(),
        payee: firm_payee(),
        inputs: Some(pb::ProposalInputs {
            amount_fen: 10_000_000,
            attestations: vec!["municipal_demonstration_base".into()],
            ..Default::default()
        }),
    };
    let (period_from, period_to) = (days_ago(30), now());
    let targets = || apb::GetTargetsRequest {
        jurisdiction: INSIDE.into(),
        period_from: period_from.clone(),
        period_to: period_to.clone(),
        as_of: String::new(),
        min_position: 0,
    };
    let subsidy_totals = || apb::ListSubsidyTotalsRequest {
        jurisdiction: INSIDE.into(),
        period_from: period_from.clone(),
        period_to: period_to.clone(),
        as_of: String::new(),
        min_position: 0,
    };
    let communities = || apb::ListCommunitiesRequest {
        jurisdiction: INSIDE.into(),
        period_from: period_from.clone(),
        period_to: period_to.clone(),
        as_of: String::new(),
        min_position: 0,
    };
    let first_of_month = date(today() - chrono::Duration::days(i64::from(today().day()) - 1));

    let (service, method) = operation.split_once('/').expect("package.Service/Method");
    match (service, method) {
        ("leye.person.v1.PersonCaseService", m) => match m {
            "RegisterUnemployment" => register_request(&f.person_resident_id, now()).encode_to_vec(),
            "RecogniseDifficulty" => pb::RecogniseDifficultyRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                difficulty: Some(pb::Difficulty {
                    categories: vec![pb::DifficultyCategory::LongTermUnemployed as i32],
                    valid_from: now(),
                    valid_to: date(today() + chrono::Duration::days(180)),
                }),
            }
            .encode_to_vec(),
            "RecordContact" => pb::RecordContactRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                contact: Some(pb::Contact {
                    channel: pb::ContactChannel::Phone as i32,
                    outcome: pb::ContactOutcome::StillSeeking as i32,
                    note: "回访".into(),
                }),
            }
            .encode_to_vec(),
            "RecommendJob" => pb::RecommendJobRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                recommendation: Some(pb::JobRecommendation {
                    vacancy_id: "V1".into(),
                    enterprise_credit_code: f.enterprise_code.clone(),
                    two_way: false,
                }),
            }
            .encode_to_vec(),
            "EnrolTraining" => pb::EnrolTrainingRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                training: Some(pb::TrainingEnrolment {
                    training_id: "T2".into(),
                    programme: pb::TrainingProgramme::VocationalSkills as i32,
                    provider: "西青区职业培训学校".into(),
                }),
            }
            .encode_to_vec(),
            "CompleteTraining" => pb::CompleteTrainingRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                completion: Some(pb::TrainingCompletion { training_id: "T2".into(), certificate: "CERT-2".into() }),
            }
            .encode_to_vec(),
            "DropTraining" => pb::DropTrainingRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                drop: Some(pb::TrainingDrop { training_id: "T3".into(), reason: "本人放弃".into() }),
            }
            .encode_to_vec(),
            "RecordPlacement" => pb::RecordPlacementRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                placement: Some(pb::Placement { kind: pb::PlacementKind::Flexible as i32, ..Default::default() }),
            }
            .encode_to_vec(),
            "EndPlacement" => pb::EndPlacementRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::Resigned as i32 }),
            }
            .encode_to_vec(),
            "ProposeSubsidy" => person_proposal().encode_to_vec(),
            "EvaluateSubsidy" => dry_run(person_proposal()).encode_to_vec(),
            "ApproveSubsidy" => pb::ApproveSubsidyRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                proposal_id: "P1".into(),
            }
            .encode_to_vec(),
            "RejectSubsidyProposal" => pb::RejectSubsidyProposalRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                proposal_id: "P1".into(),
                reason: "材料不全".into(),
            }
            .encode_to_vec(),
            "RevokeSubsidy" => pb::RevokeSubsidyRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                revocation: Some(pb::SubsidyRevocation { subsidy_id: "S1".into(), reason: "骗取补贴".into() }),
            }
            .encode_to_vec(),
            "StartBenefit" => pb::StartBenefitRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                benefit: Some(pb::BenefitStart { months: 3, extended_to_retirement: false }),
                post_type: String::new(),
            }
            .encode_to_vec(),
            "EndBenefit" => pb::EndBenefitRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                end: Some(pb::BenefitEnd { reason: pb::BenefitEndReason::Exhausted as i32 }),
            }
            .encode_to_vec(),
            "ExitRegistration" => pb::ExitRegistrationRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                exit: Some(pb::RegistrationExit { reason: pb::ExitReason::NoLongerSeeking as i32 }),
            }
            .encode_to_vec(),
            "JoinHousehold" => pb::JoinHouseholdRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                membership: Some(pb::HouseholdMembership {
                    household_id: f.other_household.clone(),
                    relation: pb::HouseholdRelation::Head as i32,
                }),
            }
            .encode_to_vec(),
            "LeaveHousehold" => pb::LeaveHouseholdRequest {
                context: ctx(),
                case_id: case(),
                effective_date: now(),
                leave: Some(pb::HouseholdLeave { household_id: f.other_household.clone() }),
            }
            .encode_to_vec(),
            // The hired person (not the fixture's own): later rows still find the fixture person.
            "ErasePersonalData" => pb::ErasePersonalDataRequest {
                context: ctx(),
                case_id: f.hired.clone(),
                effective_date: now(),
                erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
            }
            .encode_to_vec(),
            "GetCase" => pb::GetCaseRequest { case_id: case(), as_of: None }.encode_to_vec(),
            "FindCaseByResidentId" => {
                pb::FindCaseByResidentIdRequest { resident_id: f.person_resident_id.clone() }.encode_to_vec()
            }
            "ReplayCase" => pb::ReplayCaseRequest { case_id: case() }.encode_to_vec(),
            _ => no_request(operation),
        },
        ("leye.enterprise.v1.EnterpriseCaseService", m) => match m {
            "RegisterEnterprise" => epb::RegisterEnterpriseRequest {
                context: ctx(),
                effective_date: now(),
                registration: Some(enterprise_registration(&f.enterprise_code)),
            }
            .encode_to_vec(),
            "ReportHeadcount" => epb::ReportHeadcountRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                headcount: Some(epb::Headcount { month: first_of_month, insured_employees: 52 }),
            }
            .encode_to_vec(),
            "RecordHire" => epb::RecordHireRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                hire: Some(epb::Hire {
                    hire_id: "H1".into(),
                    person_case_id: f.hired.clone(),
                    contract_months: 12,
                    started_on: days_ago(1),
                }),
            }
            .encode_to_vec(),
            "ReportBatchLayoff" => epb::ReportBatchLayoffRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                layoff: Some(epb::BatchLayoff { layoff_id: "L1".into(), people: 5 }),
            }
            .encode_to_vec(),
            "RecordLayoffService" => epb::RecordLayoffServiceRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                service: Some(epb::LayoffServiceProvided {
                    layoff_id: "L1".into(),
                    service: epb::LayoffService::TrackingVisit as i32,
                }),
            }
            .encode_to_vec(),
            "OfferInternshipPosts" => epb::OfferInternshipPostsRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                offer: Some(epb::InternshipPostsOffered { offer_id: "O1".into(), posts: 3 }),
            }
            .encode_to_vec(),
            "DevelopWelfarePosts" => epb::DevelopWelfarePostsRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                posts: Some(epb::WelfarePostsDeveloped {
                    development_id: "W1".into(),
                    kind: epb::WelfarePostKind::PublicWelfare as i32,
                    posts: 3,
                }),
            }
            .encode_to_vec(),
            "RecordGuaranteeLoan" => epb::RecordGuaranteeLoanRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                loan: Some(epb::GuaranteeLoanGranted {
                    loan_id: "G1".into(),
                    borrower: epb::LoanBorrower::Enterprise as i32,
                    principal_fen: 30_000_000,
                    lender: "天津银行".into(),
                    term_months: 24,
                }),
            }
            .encode_to_vec(),
            "FileLayoffPlan" => epb::FileLayoffPlanRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                plan: Some(epb::LayoffPlan {
                    plan_id: "PLAN-1".into(),
                    people: 25,
                    planned_layoff_on: date(today() + chrono::Duration::days(20)),
                    notice_given_on: date(today() - chrono::Duration::days(10)),
                }),
            }
            .encode_to_vec(),
            "DesignateKeyEnterprise" => {
                epb::DesignateKeyEnterpriseRequest { context: ctx(), case_id: firm(), effective_date: now() }
                    .encode_to_vec()
            }
            "ReportLabourShortage" => epb::ReportLabourShortageRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                shortage: Some(epb::LabourShortage { posts: 5, skills: "焊工".into() }),
            }
            .encode_to_vec(),
            "ProposeSubsidy" => enterprise_proposal(firm_proposal()).encode_to_vec(),
            "EvaluateSubsidy" => enterprise_dry_run(firm_proposal()).encode_to_vec(),
            "ApproveSubsidy" => epb::ApproveSubsidyRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                proposal_id: "AWARD-1".into(),
            }
            .encode_to_vec(),
            "RejectSubsidyProposal" => epb::RejectSubsidyProposalRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                proposal_id: "AWARD-1".into(),
                reason: "材料不全".into(),
            }
            .encode_to_vec(),
            "RevokeSubsidy" => epb::RevokeSubsidyRequest {
                context: ctx(),
                case_id: firm(),
                effective_date: now(),
                revocation: Some(pb::SubsidyRevocation { subsidy_id: "S1".into(), reason: "骗取补贴".into() }),
            }
            .encode_to_vec(),
            "GetEnterprise" => epb::GetEnterpriseRequest { case_id: firm(), as_of: None }.encode_to_vec(),
            "FindEnterpriseByCreditCode" => {
                epb::FindEnterpriseByCreditCodeRequest { credit_code: f.enterprise_code.clone() }.encode_to_vec()
            }
            "ReplayEnterprise" => epb::ReplayEnterpriseRequest { case_id: firm() }.encode_to_vec(),
            _ => no_request(operation),
        },
        ("leye.analytics.v1.TargetsService", m) => match m {
            "GetTargets" => targets().encode_to_vec(),
            "ListSubsidyTotals" => subsidy_totals().encode_to_vec(),
            "ListCommunities" => communities().encode_to_vec(),
            "ListActions" => apb::ListActionsRequest {
                list: apb::ActionList::LongTermUnemployed as i32,
                jurisdiction: INSIDE.into(),
                ..Default::default()
            }
            .encode_to_vec(),
            "GetHousehold" => {
                apb::GetHouseholdRequest { household_id: f.household.clone(), as_of: String::new(), min_position: 0 }
                    .encode_to_vec()
            }
            "ListEligible" => {
                apb::ListEligibleRequest { jurisdiction: INSIDE.into(), ..Default::default() }.encode_to_vec()
            }
            _ => no_request(operation),
        },
        ("leye.audit.v1.AuditService", m) => match m {
            "ListAuditRecords" => {
                aupb::ListAuditRecordsRequest { case_id: case(), ..Default::default() }.encode_to_vec()
            }
            "VerifyAuditTrail" => aupb::VerifyAuditTrailRequest {}.encode_to_vec(),
            _ => no_request(operation),
        },
        _ => no_request(operation),
    }
}

fn no_request(operation: &str) -> ! {
    panic!("the access matrix has no request for {operation}: add one to request_for")
}

// === the expectation ===

/// What the table says a principal gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Past the gate: the handler's answer, whatever it is, but no denial.
    Answered,
    /// `PERMISSION_DENIED` with this `ErrorInfo.reason`.
    Denied(&'static str),
    /// `NOT_FOUND`, as for a case that does not exist: a look-up by natural
    /// key outside the caller's jurisdiction must not tell that the case exists.
    Hidden,
}

impl Expect {
    /// Refused: nothing may be written.
    fn refused(self) -> bool {
        !matches!(self, Self::Answered)
    }
}

/// Look-ups by natural key (resident id, credit code).
const LOOKUPS: &[&str] = &[
    "leye.person.v1.PersonCaseService/FindCaseByResidentId",
    "leye.enterprise.v1.EnterpriseCaseService/FindEnterpriseByCreditCode",
];

/// One principal of the matrix.
struct Principal {
    role: Role,
    jurisdiction: &'static str,
    /// For `system`: the operations its token grants.
    grants: &'static [&'static str],
    grpc: Grpc<Authed>,
}

impl Principal {
    fn inside(&self) -> bool {
        self.jurisdiction == INSIDE
    }

    /// The table's answer to this principal for `rule`.
    fn expect(&self, rule: &Rule) -> Expect {
        let by_role = rule.roles.contains(&self.role);
        let by_grant = self.role == Role::System && self.grants.contains(&rule.operation);
        if !(by_role || by_grant) {
            return Expect::Denied("ROLE_MISSING");
        }
        match rule.scope {
            Scope::Service => Expect::Answered,
            Scope::Case | Scope::Area | Scope::Household | Scope::AuditTrail if self.inside() => Expect::Answered,
            Scope::Case if LOOKUPS.contains(&rule.operation) => Expect::Hidden,
            Scope::Case | Scope::Area | Scope::Household | Scope::AuditTrail => Expect::Denied("OUT_OF_JURISDICTION"),
        }
    }

    fn describe(&self) -> String {
        if self.grants.is_empty() || self.grants == [UNRELATED_GRANT] {
            format!("{} in {}", self.role, self.jurisdiction)
        } else {
            format!("{} in {} granted {:?}", self.role, self.jurisdiction, self.grants)
        }
    }
}

fn outcome(result: &Result<(), Status>) -> String {
    match result {
        Ok(()) => "OK".into(),
        Err(s) => format!("{:?} {} ({})", s.code(), reason(s).unwrap_or_default(), s.message()),
    }
}

/// Whether `result` is what `expect` says; `None` when it is.
fn mismatch(expect: Expect, result: &Result<(), Status>) -> Option<String> {
    match (expect, result) {
        (Expect::Answered, Ok(())) => None,
        (Expect::Answered, Err(s)) => {
            let refused_by_gate = matches!(s.code(), Code::PermissionDenied | Code::Unauthenticated);
            // A request the handler finds malformed never reached the case:
            // the matrix request itself is wrong, and proves nothing.
            let malformed = s.code() == Code::InvalidArgument;
            (refused_by_gate || malformed).then(|| {
                "an answer past the gate (not PERMISSION_DENIED, UNAUTHENTICATED or INVALID_ARGUMENT)".to_string()
            })
        }
        (Expect::Denied(want), Err(s)) if s.code() == Code::PermissionDenied && reason(s).as_deref() == Some(want) => {
            None
        }
        (Expect::Denied(want), _) => Some(format!("PERMISSION_DENIED {want}")),
        (Expect::Hidden, Err(s)) if s.code() == Code::NotFound => None,
        (Expect::Hidden, _) => Some("NOT_FOUND, as a case that does not exist".into()),
    }
}

/// Runs one cell of the matrix; a wrong answer or a write on a denial is noted in `failures`.
async fn check(
    server: &TestServer,
    who: &mut Principal,
    rule: &Rule,
    fixture: &Fixture,
    failures: &mut Vec<String>,
) -> Expect {
    let expect = who.expect(rule);
    let before = server.event_count();
    let result = call(&mut who.grpc, rule.operation, request_for(rule.operation, fixture)).await;
    if let Some(wanted) = mismatch(expect, &result) {
        failures.push(format!("{} as {}: expected {wanted}, got {}", rule.operation, who.describe(), outcome(&result)));
    }
    if expect.refused() {
        let after = server.event_count();
        if after != before {
            failures.push(format!(
                "{} as {}: refused ({expect:?}) yet {} event(s) were written",
                rule.operation,
                who.describe(),
                after - before
            ));
        }
    }
    expect
}

/// Waits until the hire linker has settled every hire of the enterprise (it
/// writes to both cases on its own, which must not be taken for a write on
/// a denial).
async fn hires_settled(server: &TestServer, enterprise: &str) {
    let mut e = server.enterprise_client().await;
    for _ in 0..400 {
        let case = e
            .get_enterprise(epb::GetEnterpriseRequest { case_id: enterprise.into(), as_of: None })
            .await
            .expect("get enterprise")
            .into_inner()
            .case
            .unwrap();
        if case.hires.iter().all(|h| h.link != epb::HireLink::Pending as i32) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the hire linker did not settle the hire");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_every_role_inside_and_outside_its_jurisdiction_as_the_table_says() {
    let server = spawn().await;
    let fixture = fixture(&server).await;

    let mut principals = Vec::new();
    for role in ALL_ROLES {
        for jurisdiction in [INSIDE, OUTSIDE] {
            let grants: &'static [&'static str] = if role == Role::System { &[UNRELATED_GRANT] } else { &[] };
            let place = if jurisdiction == INSIDE { "in" } else { "out" };
            let subject = format!("matrix-{role}-{place}");
            let grpc = Grpc::new(authed(&server, &subject, &[role], jurisdiction, grants).await);
            principals.push(Principal { role, jurisdiction, grants, grpc });
        }
    }

    let mut failures = Vec::new();
    let mut cells = 0;
    let mut denied = 0;
    for rule in RULES {
        // Denials first, then the answers (which may change the cases).
        for pass in [true, false] {
            for who in principals.iter_mut().filter(|p| p.expect(rule).refused() == pass) {
                if check(&server, who, rule, &fixture, &mut failures).await.refused() {
                    denied += 1;
                }
                cells += 1;
            }
        }
        if rule.operation == "leye.enterprise.v1.EnterpriseCaseService/RecordHire" {
            hires_settled(&server, &fixture.enterprise).await;
        }
    }
    assert_eq!(cells, RULES.len() * ALL_ROLES.len() * 2);
    println!("access matrix: {} operations, {cells} cells, {denied} denials", RULES.len());

    let mut report = String::new();
    for f in &failures {
        let _ = writeln!(report, "  {f}");
    }
    assert!(failures.is_empty(), "{} of {cells} cells disagree with the table:\n{report}", failures.len());
    server.stop().await;
}

/// A `system` principal is allowed exactly the operations its token grants,
/// wherever the table's roles stand, and still only inside its jurisdiction.
#[tokio::test]
async fn a_system_principal_is_allowed_exactly_its_granted_operations() {
    const RECORD_CONTACT: &str = "leye.person.v1.PersonCaseService/RecordContact";
    const GRANTED: &[&str] = &[RECORD_CONTACT];
    let server = spawn().await;
    let fixture = fixture(&server).await;
    let mut failures = Vec::new();
    for jurisdiction in [INSIDE, OUTSIDE] {
        let subject = format!("sys-hr-sync-{jurisdiction}");
        let grpc = Grpc::new(authed(&server, &subject, &[Role::System], jurisdiction, GRANTED).await);
        let mut system = Principal { role: Role::System, jurisdiction, grants: GRANTED, grpc };
        for rule in RULES {
            check(&server, &mut system, rule, &fixture, &mut failures).await;
        }
    }
    assert!(failures.is_empty(), "the system principal's answers disagree with the table:\n{}", failures.join("\n"));
    server.stop().await;
}

/// Without credentials every RPC but health is refused before anything is
/// read or written; health answers anyone. A path the table does not list is
/// refused to an authenticated caller too (deny by default).
#[tokio::test]
async fn an_anonymous_caller_reaches_nothing_but_health() {
    let server = spawn().await;
    let fixture = fixture(&server).await;
    let channel = server.channel().await;

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
        .await
        .expect("health answers without credentials")
        .into_inner();
    assert_eq!(status.status(), tonic_health::pb::health_check_response::ServingStatus::Serving);

    let mut anonymous = Grpc::new(channel);
    let mut failures = Vec::new();
    for rule in RULES {
        let before = server.event_count();
        let result = call(&mut anonymous, rule.operation, request_for(rule.operation, &fixture)).await;
        let refused = matches!(&result, Err(s) if s.code() == Code::Unauthenticated
            && reason(s).as_deref() == Some("CREDENTIALS_MISSING"));
        if !refused {
            failures.push(format!(
                "{} without credentials: expected UNAUTHENTICATED CREDENTIALS_MISSING, got {}",
                rule.operation,
                outcome(&result)
            ));
        }
        if server.event_count() != before {
            failures.push(format!("{} without credentials wrote events", rule.operation));
        }
    }
    assert!(failures.is_empty(), "anonymous calls:\n{}", failures.join("\n"));

    // A path with no row: refused even to a principal holding every role.
    let every_role: Vec<&str> = ["caseworker", "supervisor", "analyst", "auditor", "admin"].to_vec();
    let mut everyone = Grpc::new(server.authed("matrix-all-roles", &every_role, CITY).await);
    let unlisted = call(&mut everyone, "leye.person.v1.PersonCaseService/NoteEligibility", Vec::new()).await;
    let no_rule = matches!(&unlisted, Err(s) if s.code() == Code::PermissionDenied
        && reason(s).as_deref() == Some("NO_RULE"));
    assert!(no_rule, "an operation missing from the table is refused: got {}", outcome(&unlisted));
    server.stop().await;
}
