//! A hostile or careless client of every command RPC of
//! `PersonCaseService` and `EnterpriseCaseService`, through the public gRPC
//! interface only (a real server over TLS, real tokens, a real SQLite file).
//!
//! The rules held (the project's guide): "Bad input gets a clear error naming
//! the field and the rule, and changes nothing. No panic on any input from
//! outside. Deny by default: a request no rule allows is refused." With the
//! contract in `proto/` and `docs/API.md`, and the domain rules of
//! `/work/shared/domain.md` (§2 facts, §4 limits).
//!
//! For every refusal a sweep checks: (1) the status and the field or reason
//! it names, (2) that the store did not change (event count), (3) that the
//! server still answers, (4) that the message repeats no resident ID or name.
//!
//! The tests not named `sweep_*` each failed when written (a defect, since
//! fixed); the `sweep_*` tests record what held from the start. Not repeated here
//! (an earlier review): cross-district access, forged context, huge tokens
//! and bodies, undecodable bodies, page tokens.

use chrono::Datelike;
use leye_e2e::*;
use leye_proto::{
    analytics::v1 as apb,
    common::v1::{CommandContext, CommandResult},
    enterprise::v1 as epb,
    person::v1 as pb,
};
use tonic::{Code, Status};
use uuid::Uuid;

/// A city-wide supervisor who is also a caseworker: reaches every person
/// command (approval, rejection, revocation and erasure need "supervisor").
const SUPERVISOR: &str = "chief-0001";
const SUPERVISOR_ROLES: &[&str] = &["caseworker", "supervisor", "auditor"];
/// The name `registration()` gives every person.
const NAME: &str = "王小明";
const ENTERPRISE_BODY: &str = "91120111MA05JX0K0";
const STARTUP_CERTIFICATE: &str = "xiqing.startup.training-certificate";
const FLEXIBLE_GRADUATE: &str = "tianjin.flexible.graduate-social-insurance";

/// Collects every way a refusal falls short of the rules, then fails once.
struct Sweep<'a> {
    server: &'a TestServer,
    before: i64,
    secrets: Vec<String>,
    failures: Vec<String>,
}

impl<'a> Sweep<'a> {
    fn new(server: &'a TestServer, secrets: &[&str]) -> Self {
        let mut secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        secrets.push(NAME.to_string());
        Sweep { server, before: server.event_count(), secrets, failures: Vec::new() }
    }

    /// `r` must be refused with `code`, naming `named` as a BadRequest field
    /// or as the ErrorInfo reason, without writing anything or echoing a
    /// resident ID or name.
    fn refused<T>(&mut self, what: &str, r: Result<T, Status>, code: Code, named: &str) {
        match r {
            Ok(_) => self.failures.push(format!("{what}: accepted")),
            Err(s) => {
                let fields = bad_fields(&s);
                let why = reason(&s);
                if s.code() != code {
                    self.failures.push(format!("{what}: {:?} ({}), expected {code:?}", s.code(), s.message()));
                } else if !fields.iter().any(|f| f == named) && why.as_deref() != Some(named) {
                    self.failures.push(format!(
                        "{what}: names fields {fields:?}, reason {why:?}; expected {named} ({})",
                        s.message()
                    ));
                }
                for secret in &self.secrets {
                    if s.message().contains(secret.as_str()) {
                        self.failures.push(format!("{what}: the message repeats {secret}: {}", s.message()));
                    }
                }
            }
        }
        let now = self.server.event_count();
        if now != self.before {
            self.failures.push(format!("{what}: {} event(s) written", now - self.before));
            self.before = now;
        }
    }

    /// A command meant to succeed: its events become the new baseline.
    fn wrote<T>(&mut self, what: &str, r: Result<T, Status>) {
        if let Err(s) = r {
            self.failures.push(format!("{what}: setup refused: {:?} {}", s.code(), s.message()));
        }
        self.before = self.server.event_count();
    }

    fn finish(self) {
        assert!(self.failures.is_empty(), "{} failure(s):\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

/// Every refusal shape of one command with a case id, an effective date and
/// one fact message: the context, its command id, the case id, the date and
/// the fact missing in turn, each named.
macro_rules! each_missing {
    ($sweep:expr, $client:expr, $method:ident, $case:expr, $fact:literal,
     |$cx:ident, $id:ident, $on:ident, $full:ident| $request:expr) => {{
        let make = |$cx: Option<CommandContext>, $id: String, $on: String, $full: bool| $request;
        let no_command_id = Some(CommandContext { command_id: String::new(), ..ctx().unwrap() });
        let case: &str = &$case;
        for (what, request) in [
            ("context", make(None, case.into(), days_ago(1), true)),
            ("context.command_id", make(no_command_id, case.into(), days_ago(1), true)),
            ("case_id", make(ctx(), String::new(), days_ago(1), true)),
            ("effective_date", make(ctx(), case.into(), String::new(), true)),
            ($fact, make(ctx(), case.into(), days_ago(1), false)),
        ] {
            let r = $client.$method(request).await;
            $sweep.refused(&format!("{} without {what}", stringify!($method)), r, Code::InvalidArgument, what);
        }
    }};
}

fn contact(case_id: &str, on: String) -> pb::RecordContactRequest {
    pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: on,
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::Phone as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: "回访".into(),
        }),
    }
}

fn enrol(case_id: &str, training_id: &str, programme: pb::TrainingProgramme, ago: i64) -> pb::EnrolTrainingRequest {
    pb::EnrolTrainingRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        training: Some(pb::TrainingEnrolment {
            training_id: training_id.into(),
            programme: programme as i32,
            provider: "西青区职业培训学校".into(),
        }),
    }
}

fn place(case_id: &str, kind: pb::PlacementKind, ago: i64) -> pb::RecordPlacementRequest {
    pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        placement: Some(pb::Placement {
            kind: kind as i32,
            employer_credit_code: String::new(),
            contract_months: None,
        }),
    }
}

fn end_placement(case_id: &str, ago: i64) -> pb::EndPlacementRequest {
    pb::EndPlacementRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::ContractExpired as i32 }),
    }
}

fn person_payee() -> Option<pb::Payee> {
    Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) })
}

fn enterprise_registration(code: &str) -> epb::EnterpriseRegistration {
    epb::EnterpriseRegistration {
        credit_code: code.into(),
        name: "天津西青测试制造有限公司".into(),
        district: "120111".into(),
        industry_code: "C3411".into(),
        insured_employees: 300,
        small_micro: false,
        kinds: vec![epb::EnterpriseKind::TechStartUp as i32],
        check_character_confirmed: false,
    }
}

async fn register_enterprise(e: &mut EnterpriseClient, code: &str, ago: i64) -> String {
    e.register_enterprise(epb::RegisterEnterpriseRequest {
        context: ctx(),
        effective_date: days_ago(ago),
        registration: Some(enterprise_registration(code)),
    })
    .await
    .expect("register the enterprise")
    .into_inner()
    .result
    .expect("a command result")
    .case_id
}

async fn still_answers(c: &mut Client, case_id: &str) {
    c.get_case(pb::GetCaseRequest { case_id: case_id.into(), as_of: None })
        .await
        .expect("the server still answers after the sweep");
}

// ===================================================================
// Defects
// ===================================================================

/// RULE (person.proto): CompleteTraining and DropTraining are dated "not
/// before enrolment (BEFORE_START) nor the latest registration
/// (BEFORE_REGISTRATION)"; EndBenefit and RevokeSubsidy "not before the latest
/// registration (BEFORE_REGISTRATION)". The decider's own rule
/// (services/domain/src/person/mod.rs): "Every fact's effective date lies …
/// not before the registration it belongs to, the latest one".
///
/// CASE: a training, a benefit and a grant from a first spell are still open
/// when the person is placed, leaves the job and registers again. Completing
/// or dropping the training, ending the benefit and revoking the grant dated
/// between the two spells are accepted and written: each decider arm checks
/// only its own start (enrolment, benefit start, grant), never the latest
/// registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_facts_dated_before_the_latest_registration_are_refused() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut boss = server.client_as(SUPERVISOR, SUPERVISOR_ROLES, CITY).await;
    let id = resident_id("19900101", 1);
    let case_id = register_person(&mut c, &id, days_ago(200)).await;
    let mut s = Sweep::new(&server, &[&id]);
    use pb::TrainingProgramme::{StartUpMalanhua, VocationalSkills};
    s.wrote("enrol T0", c.enrol_training(enrol(&case_id, "T0", StartUpMalanhua, 195)).await);
    s.wrote(
        "complete T0",
        c.complete_training(pb::CompleteTrainingRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(190),
            completion: Some(pb::TrainingCompletion { training_id: "T0".into(), certificate: "CERT-0".into() }),
        })
        .await,
    );
    s.wrote(
        "propose P1",
        c.propose_subsidy(pb::ProposeSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(185),
            proposal_id: "P1".into(),
            rule_id: STARTUP_CERTIFICATE.into(),
            payee: person_payee(),
            inputs: None,
        })
        .await,
    );
    s.wrote(
        "approve P1",
        boss.approve_subsidy(pb::ApproveSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(180),
            proposal_id: "P1".into(),
        })
        .await,
    );
    s.wrote("enrol T1", c.enrol_training(enrol(&case_id, "T1", VocationalSkills, 175)).await);
    s.wrote("enrol T2", c.enrol_training(enrol(&case_id, "T2", VocationalSkills, 175)).await);
    s.wrote(
        "start benefit",
        c.start_benefit(pb::StartBenefitRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(175),
            benefit: Some(pb::BenefitStart { months: 6, extended_to_retirement: false }),
            post_type: String::new(),
        })
        .await,
    );
    s.wrote("placed", c.record_placement(place(&case_id, pb::PlacementKind::Flexible, 150)).await);
    s.wrote("placement ended", c.end_placement(end_placement(&case_id, 120)).await);
    s.wrote("registered again", c.register_unemployment(register_request(&id, days_ago(100))).await);

    // Dated 110 days ago: after each start, before the latest registration (100 days ago).
    let between = days_ago(110);
    let r = c
        .complete_training(pb::CompleteTrainingRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: between.clone(),
            completion: Some(pb::TrainingCompletion { training_id: "T1".into(), certificate: String::new() }),
        })
        .await;
    s.refused("CompleteTraining between spells", r, Code::FailedPrecondition, "BEFORE_REGISTRATION");
    let r = c
        .drop_training(pb::DropTrainingRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: between.clone(),
            drop: Some(pb::TrainingDrop { training_id: "T2".into(), reason: String::new() }),
        })
        .await;
    s.refused("DropTraining between spells", r, Code::FailedPrecondition, "BEFORE_REGISTRATION");
    let r = c
        .end_benefit(pb::EndBenefitRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: between.clone(),
            end: Some(pb::BenefitEnd { reason: pb::BenefitEndReason::Employed as i32 }),
        })
        .await;
    s.refused("EndBenefit between spells", r, Code::FailedPrecondition, "BEFORE_REGISTRATION");
    let r = boss
        .revoke_subsidy(pb::RevokeSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: between,
            revocation: Some(pb::SubsidyRevocation { subsidy_id: "P1".into(), reason: "复核不符".into() }),
        })
        .await;
    s.refused("RevokeSubsidy between spells", r, Code::FailedPrecondition, "BEFORE_REGISTRATION");
    still_answers(&mut c, &case_id).await;
    s.finish();
    server.stop().await;
}

/// RULE (guide): "Deny by default: a request no rule allows is refused."
/// The rule `tianjin.flexible.graduate-social-insurance` (002 #36, 004 § 11;
/// domain.md §4.2 "Graduates within 2 years: up to 2 years of
/// three-insurance subsidy") pays the insurance of a graduate *in* flexible
/// employment ("对毕业2年内的本市高校毕业生从事个体经营或灵活就业的").
///
/// CASE: a graduate whose flexible work began 30 days ago asks for the 24
/// months of 2020–2021, years before the graduation and the work. The
/// catalogue grants it in full (17 059.20 yuan in 2026) and the proposal is
/// recorded, ready for approval. The evaluator
/// (services/policy/src/evaluate/grant.rs, `period`) checks whole months,
/// overlap, the month limits and retirement, but never that the period lies
/// within the fact it rewards; only rules flagged
/// `period_from_placement_month` tie the period to the placement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subsidy_period_before_the_fact_it_rewards_is_refused() {
    let server = spawn().await;
    let mut c = server.client().await;
    let id = resident_id("20000101", 1);
    let mut reg = register_request(&id, days_ago(200));
    // Graduated (30 June) at least about 1 year and at most 2 years before the work began.
    reg.registration.as_mut().unwrap().graduation.as_mut().unwrap().year =
        (today() - chrono::Duration::days(400)).year();
    let case_id =
        c.register_unemployment(reg).await.expect("register the graduate").into_inner().result.unwrap().case_id;
    c.record_placement(place(&case_id, pb::PlacementKind::Flexible, 30)).await.expect("flexible work");
    let before_the_fact = pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(1),
        proposal_id: "FLEX-2020".into(),
        rule_id: FLEXIBLE_GRADUATE.into(),
        payee: person_payee(),
        inputs: Some(pb::ProposalInputs {
            period_from: "2020-01-01".into(),
            period_to: "2021-12-31".into(),
            ..Default::default()
        }),
    };
    let dry = c.evaluate_subsidy(dry_run(before_the_fact.clone())).await.expect("dry run").into_inner();
    let decision = dry.decision.expect("a decision");
    let mut s = Sweep::new(&server, &[&id]);
    if decision.granted {
        s.failures.push(format!(
            "EvaluateSubsidy grants {} fen for 2020-01..2021-12, before the graduation and the flexible work",
            decision.amount_fen
        ));
    }
    let r = c.propose_subsidy(before_the_fact).await;
    s.refused("ProposeSubsidy for months before the work", r, Code::FailedPrecondition, "POLICY_REFUSED");
    still_answers(&mut c, &case_id).await;
    s.finish();
    server.stop().await;
}

/// RULE (guide): "No panic on any input from outside", and an accepted fact
/// must not break the service for everyone else; 001 § 4 counts guarantee
/// loans by the principal lent (domain.md §3 "subsidy and loan totals").
///
/// CASE: RecordGuaranteeLoan takes any positive i64 principal
/// (services/leye/src/grpc/enterprise.rs, `Fen::positive`, no upper bound).
/// Two loans of i64::MAX fen are recorded; the read model's
/// `sum(principal_fen)` (projections/src/read_model/volumes.rs) then
/// overflows, and GetTargets for the whole city and for Xiqing answers
/// UNAVAILABLE "the read model is unavailable" for good: one caseworker's
/// typo takes every district's targets down. Either the principal needs a
/// bound (INVALID_ARGUMENT on loan.principal_fen) or the total must not
/// overflow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guarantee_loan_principals_do_not_take_the_targets_down() {
    let server = spawn().await;
    let mut e = server.enterprise_client().await;
    let mut a = server.targets_client().await;
    let case_id = register_enterprise(&mut e, &credit_code(ENTERPRISE_BODY), 30).await;
    let mut position = 0;
    let mut accepted = 0;
    for loan_id in ["G1", "G2"] {
        let r = e
            .record_guarantee_loan(epb::RecordGuaranteeLoanRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: days_ago(2),
                loan: Some(epb::GuaranteeLoanGranted {
                    loan_id: loan_id.into(),
                    borrower: epb::LoanBorrower::Enterprise as i32,
                    principal_fen: i64::MAX,
                    lender: "天津农商银行".into(),
                    term_months: 12,
                }),
            })
            .await;
        match r {
            Ok(r) => {
                accepted += 1;
                position = r.into_inner().result.unwrap().global_position;
            }
            Err(s) => {
                assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
                assert_eq!(bad_fields(&s), ["loan.principal_fen"]);
            }
        }
    }
    let mut failures = Vec::new();
    for jurisdiction in ["", "120111"] {
        let r = a
            .get_targets(apb::GetTargetsRequest {
                jurisdiction: jurisdiction.into(),
                period_from: days_ago(30),
                period_to: days_ago(0),
                as_of: String::new(),
                min_position: position,
            })
            .await;
        if let Err(s) = r {
            failures.push(format!(
                "GetTargets {jurisdiction:?} after {accepted} loan(s) of i64::MAX fen: {:?} {}",
                s.code(),
                s.message()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.stop().await;
}

/// RULE (common contract, person.proto): "INVALID_ARGUMENT names the field
/// and the rule (google.rpc.BadRequest)". A client maps a violation to the
/// field of the request it sent; FileLayoffPlanRequest's plan is `plan`, and
/// the same RPC's own format errors say `plan.people`, `plan.notice_given_on`.
///
/// CASE: the decider's refusals NOTICE_TOO_SHORT, NOTICE_AFTER_FILING and
/// LAYOFF_BEFORE_FILING name `layoff_plan.notice_given_on` /
/// `layoff_plan.planned_layoff_on` (services/domain/src/enterprise/mod.rs,
/// `Rejection::on_field("layoff_plan.…")`; docs/API.md repeats the wrong
/// path), a field no request has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layoff_plan_refusals_name_the_requests_own_fields() {
    let server = spawn().await;
    let mut e = server.enterprise_client().await;
    let case_id = register_enterprise(&mut e, &credit_code(ENTERPRISE_BODY), 400).await;
    let mut s = Sweep::new(&server, &[]);
    let plan = |filed: i64, layoff: i64, notice: i64| epb::FileLayoffPlanRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(filed),
        plan: Some(epb::LayoffPlan {
            plan_id: "PLAN-1".into(),
            people: 25,
            planned_layoff_on: days_ago(layoff),
            notice_given_on: days_ago(notice),
        }),
    };
    let r = e.file_layoff_plan(plan(10, 0, 5)).await;
    s.refused("notice 5 days before the layoff", r, Code::InvalidArgument, "plan.notice_given_on");
    let r = e.file_layoff_plan(plan(60, 0, 40)).await;
    s.refused("notice after the filing", r, Code::InvalidArgument, "plan.notice_given_on");
    let r = e.file_layoff_plan(plan(10, 20, 60)).await;
    s.refused("layoff before the filing", r, Code::InvalidArgument, "plan.planned_layoff_on");
    s.finish();
    server.stop().await;
}

/// RULE (enterprise.proto, EnterpriseRegistration.kinds): "Distinct kinds;
/// may be empty." The person contract words its groups the same ("Distinct
/// groups; may be empty.") and refuses a group listed twice
/// (`registration.groups[1]: is listed twice`); the guide: "Bad input gets a
/// clear error naming the field and the rule, and changes nothing."
///
/// CASE: a registration listing a kind twice is recorded (the set silently
/// drops the repeat: services/leye/src/grpc/enterprise.rs,
/// `check_registration`, `kinds.insert(k)` without the check the person side
/// has). Low severity, but the two halves of the API disagree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_kinds_listed_twice_are_refused_like_person_groups() {
    let server = spawn().await;
    let mut e = server.enterprise_client().await;
    let mut s = Sweep::new(&server, &[]);
    let tech = epb::EnterpriseKind::TechStartUp as i32;
    let r = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(10),
            registration: Some(epb::EnterpriseRegistration {
                kinds: vec![tech, tech],
                ..enterprise_registration(&credit_code(ENTERPRISE_BODY))
            }),
        })
        .await;
    s.refused("kinds [tech, tech]", r, Code::InvalidArgument, "registration.kinds[1]");
    s.finish();
    server.stop().await;
}

/// A careless client's "no id": the nil UUID as command id would make two
/// such clients' commands one (the second answered with the first's
/// outcome). Refused, naming the field; text with invisible characters too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nil_command_id_and_invisible_characters_are_refused() {
    let server = spawn().await;
    let mut e = server.enterprise_client().await;
    let mut s = Sweep::new(&server, &[]);
    let nil = Some(CommandContext { command_id: uuid::Uuid::nil().to_string(), ..ctx().unwrap() });
    let r = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: nil,
            effective_date: days_ago(10),
            registration: Some(enterprise_registration(&credit_code(ENTERPRISE_BODY))),
        })
        .await;
    s.refused("nil command id", r, Code::InvalidArgument, "context.command_id");
    let r = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(10),
            registration: Some(epb::EnterpriseRegistration {
                name: "天津\u{200B}示例有限公司".into(),
                ..enterprise_registration(&credit_code(ENTERPRISE_BODY))
            }),
        })
        .await;
    s.refused("a zero-width space in the name", r, Code::InvalidArgument, "registration.name");
    s.finish();
    server.stop().await;
}

/// RULE (person.proto, PolicyDecision.amount_fen): "When granted: the
/// amount in fen (0 for an entitlement)." domain.md §4.6: unemployment
/// benefit expiring less than 1 year before retirement "continues to
/// retirement": an entitlement to the benefit, not a sum the proposer names.
/// Guide: "Deny by default: a request no rule allows is refused."
///
/// CASE: `tianjin.benefit.extension-to-retirement` (amount kind "none") is
/// proposed with `inputs.amount_fen = i64::MAX`. The decision grants
/// 9 223 372 036 854 775 807 fen (92 trillion yuan), the supervisor's
/// approval re-evaluates and agrees, and the case records a subsidy_granted
/// of that amount, which every subsidy total then adds up. Cause:
/// services/policy/src/evaluate/grant.rs `amount()` returns early for
/// `AmountRule::None` without an "amount" check, and
/// services/policy/src/evaluate.rs takes `request.amount.or(cap)` as the
/// granted amount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entitlement_does_not_grant_the_amount_the_proposer_names() {
    const EXTENSION: &str = "tianjin.benefit.extension-to-retirement";
    let server = spawn().await;
    let mut c = server.client().await;
    let mut boss = server.client_as(SUPERVISOR, SUPERVISOR_ROLES, CITY).await;
    let proposal = |case_id: &str, amount_fen: i64| pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(1),
        proposal_id: "EXT-1".into(),
        rule_id: EXTENSION.into(),
        payee: person_payee(),
        inputs: Some(pb::ProposalInputs {
            amount_fen,
            attestations: vec!["benefit_exhausted".into()],
            ..Default::default()
        }),
    };
    // A man less than a year from statutory retirement (60 years and some
    // months under the gradual increase): the first birth month that fits.
    let mut found = None;
    for months_back in 0..24u32 {
        let birth = (today() - chrono::Months::new(12 * 60)) - chrono::Months::new(months_back);
        let id = resident_id(&birth.format("%Y%m01").to_string(), 1);
        let mut reg = register_request(&id, days_ago(30));
        reg.registration.as_mut().unwrap().graduation = None;
        let Ok(r) = c.register_unemployment(reg).await else { continue };
        let case_id = r.into_inner().result.unwrap().case_id;
        let dry = c.evaluate_subsidy(dry_run(proposal(&case_id, 0))).await.expect("dry run").into_inner();
        if dry.decision.is_some_and(|d| d.granted) {
            found = Some((id, case_id));
            break;
        }
    }
    let (id, case_id) = found.expect("a man within a year of retirement, registered, with the benefit exhausted");
    let mut s = Sweep::new(&server, &[&id]);
    match c.propose_subsidy(proposal(&case_id, i64::MAX)).await {
        Err(status) => {
            if !matches!(status.code(), Code::InvalidArgument | Code::FailedPrecondition) {
                s.failures.push(format!("refused as {:?}: {}", status.code(), status.message()));
            }
            if server.event_count() != s.before {
                s.failures.push("the refused proposal wrote events".into());
            }
        }
        Ok(r) => {
            s.before = server.event_count();
            let decision = r.into_inner().decision.unwrap_or_default();
            if decision.amount_fen != 0 {
                s.failures.push(format!("ProposeSubsidy decided an entitlement at {} fen", decision.amount_fen));
            }
            let approved = boss
                .approve_subsidy(pb::ApproveSubsidyRequest {
                    context: ctx(),
                    case_id: case_id.clone(),
                    effective_date: days_ago(0),
                    proposal_id: "EXT-1".into(),
                })
                .await;
            s.wrote("approve", approved);
            let case = c
                .get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None })
                .await
                .expect("read the case back")
                .into_inner()
                .case
                .unwrap();
            for grant in case.subsidies.iter().filter_map(|g| g.grant.as_ref()) {
                if grant.amount_fen != 0 {
                    s.failures.push(format!("the case records a grant of {} fen for an entitlement", grant.amount_fen));
                }
            }
        }
    }
    s.finish();
    server.stop().await;
}

// ===================================================================
// What held
// ===================================================================

/// Every person command refuses each missing required field in turn with
/// INVALID_ARGUMENT naming it, writes nothing, echoes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_person_commands_name_each_missing_field() {
    let server = spawn().await;
    let mut c = server.client_as(SUPERVISOR, SUPERVISOR_ROLES, CITY).await;
    let id = resident_id("19900101", 1);
    let case_id = register_person(&mut c, &id, days_ago(100)).await;
    let mut s = Sweep::new(&server, &[&id]);

    // RegisterUnemployment: no case id; the registration's own fields.
    for (what, request) in [
        ("context", pb::RegisterUnemploymentRequest { context: None, ..register_request(&id, days_ago(1)) }),
        ("effective_date", register_request(&id, String::new())),
        ("registration", pb::RegisterUnemploymentRequest { registration: None, ..register_request(&id, days_ago(1)) }),
    ] {
        let r = c.register_unemployment(request).await;
        s.refused(&format!("register without {what}"), r, Code::InvalidArgument, what);
    }
    type Edit = fn(&mut pb::Registration);
    let edits: [(&str, Edit); 5] = [
        ("registration.resident_id", |r| r.resident_id.clear()),
        ("registration.name", |r| r.name.clear()),
        ("registration.hukou", |r| r.hukou = None),
        ("registration.residence", |r| r.residence = None),
        ("registration.education", |r| r.education = 0),
    ];
    for (field, edit) in edits {
        let mut request = register_request(&resident_id("19900101", 3), days_ago(1));
        edit(request.registration.as_mut().unwrap());
        let r = c.register_unemployment(request).await;
        s.refused(&format!("register without {field}"), r, Code::InvalidArgument, field);
    }

    each_missing!(s, c, recognise_difficulty, case_id, "difficulty", |cx, id, on, full| {
        pb::RecogniseDifficultyRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            difficulty: full.then(|| pb::Difficulty {
                categories: vec![pb::DifficultyCategory::Disabled as i32],
                valid_from: days_ago(1),
                valid_to: days_ago(0),
            }),
        }
    });
    each_missing!(s, c, record_contact, case_id, "contact", |cx, id, on, full| pb::RecordContactRequest {
        context: cx,
        case_id: id.clone(),
        effective_date: on.clone(),
        contact: if full { contact(&id, on).contact } else { None },
    });
    each_missing!(s, c, recommend_job, case_id, "recommendation", |cx, id, on, full| pb::RecommendJobRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        recommendation: full.then(|| pb::JobRecommendation {
            vacancy_id: "V-1".into(),
            enterprise_credit_code: String::new(),
            two_way: true,
        }),
    });
    each_missing!(s, c, enrol_training, case_id, "training", |cx, id, on, full| pb::EnrolTrainingRequest {
        context: cx,
        case_id: id.clone(),
        effective_date: on,
        training: if full { enrol(&id, "T-1", pb::TrainingProgramme::VocationalSkills, 1).training } else { None },
    });
    each_missing!(s, c, complete_training, case_id, "completion", |cx, id, on, full| {
        pb::CompleteTrainingRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            completion: full.then(|| pb::TrainingCompletion { training_id: "T-1".into(), certificate: String::new() }),
        }
    });
    each_missing!(s, c, drop_training, case_id, "drop", |cx, id, on, full| pb::DropTrainingRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        drop: full.then(|| pb::TrainingDrop { training_id: "T-1".into(), reason: String::new() }),
    });
    each_missing!(s, c, record_placement, case_id, "placement", |cx, id, on, full| pb::RecordPlacementRequest {
        context: cx,
        case_id: id.clone(),
        effective_date: on,
        placement: if full { place(&id, pb::PlacementKind::Flexible, 1).placement } else { None },
    });
    each_missing!(s, c, end_placement, case_id, "end", |cx, id, on, full| pb::EndPlacementRequest {
        context: cx,
        case_id: id.clone(),
        effective_date: on,
        end: if full { end_placement(&id, 1).end } else { None },
    });
    each_missing!(s, c, revoke_subsidy, case_id, "revocation", |cx, id, on, full| pb::RevokeSubsidyRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        revocation: full.then(|| pb::SubsidyRevocation { subsidy_id: "S-1".into(), reason: "r".into() }),
    });
    each_missing!(s, c, start_benefit, case_id, "benefit", |cx, id, on, full| pb::StartBenefitRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        benefit: full.then_some(pb::BenefitStart { months: 6, extended_to_retirement: false }),
        post_type: String::new(),
    });
    each_missing!(s, c, end_benefit, case_id, "end", |cx, id, on, full| pb::EndBenefitRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        end: full.then_some(pb::BenefitEnd { reason: pb::BenefitEndReason::Employed as i32 }),
    });
    each_missing!(s, c, exit_registration, case_id, "exit", |cx, id, on, full| pb::ExitRegistrationRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        exit: full.then_some(pb::RegistrationExit { reason: pb::ExitReason::NoLongerSeeking as i32 }),
    });
    each_missing!(s, c, join_household, case_id, "membership", |cx, id, on, full| pb::JoinHouseholdRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        membership: full.then(|| pb::HouseholdMembership {
            household_id: Uuid::new_v4().to_string(),
            relation: pb::HouseholdRelation::Head as i32,
        }),
    });
    each_missing!(s, c, leave_household, case_id, "leave", |cx, id, on, full| pb::LeaveHouseholdRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        leave: full.then(|| pb::HouseholdLeave { household_id: Uuid::new_v4().to_string() }),
    });
    each_missing!(s, c, erase_personal_data, case_id, "erasure", |cx, id, on, full| {
        pb::ErasePersonalDataRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            erasure: full.then_some(pb::PersonalDataErasure { ground: pb::ErasureGround::ConsentWithdrawn as i32 }),
        }
    });
    each_missing!(s, c, approve_subsidy, case_id, "proposal_id", |cx, id, on, full| pb::ApproveSubsidyRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        proposal_id: if full { "P-1".into() } else { String::new() },
    });
    each_missing!(s, c, reject_subsidy_proposal, case_id, "reason", |cx, id, on, full| {
        pb::RejectSubsidyProposalRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            proposal_id: "P-1".into(),
            reason: if full { "材料不全".into() } else { String::new() },
        }
    });
    each_missing!(s, c, propose_subsidy, case_id, "payee", |cx, id, on, full| pb::ProposeSubsidyRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        proposal_id: "P-1".into(),
        rule_id: STARTUP_CERTIFICATE.into(),
        payee: if full { person_payee() } else { None },
        inputs: None,
    });
    for field in ["proposal_id", "rule_id"] {
        let request = pb::ProposeSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            proposal_id: if field == "proposal_id" { String::new() } else { "P-1".into() },
            rule_id: if field == "rule_id" { String::new() } else { STARTUP_CERTIFICATE.into() },
            payee: person_payee(),
            inputs: None,
        };
        let r = c.propose_subsidy(request.clone()).await;
        s.refused(&format!("propose without {field}"), r, Code::InvalidArgument, field);
        let r = c.evaluate_subsidy(dry_run(request)).await;
        s.refused(&format!("evaluate without {field}"), r, Code::InvalidArgument, field);
    }
    still_answers(&mut c, &case_id).await;
    s.finish();
    server.stop().await;
}

/// Every enterprise command refuses each missing required field in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_enterprise_commands_name_each_missing_field() {
    let server = spawn().await;
    let mut e = server.enterprise_client_as(SUPERVISOR, SUPERVISOR_ROLES, CITY).await;
    let code = credit_code(ENTERPRISE_BODY);
    let case_id = register_enterprise(&mut e, &code, 400).await;
    let mut s = Sweep::new(&server, &[]);
    let registration = |edit: fn(&mut epb::EnterpriseRegistration)| {
        let mut r = enterprise_registration(&credit_code("91120111MA05JX0K1"));
        edit(&mut r);
        epb::RegisterEnterpriseRequest { context: ctx(), effective_date: days_ago(1), registration: Some(r) }
    };
    type Edit = fn(&mut epb::EnterpriseRegistration);
    let edits: [(&str, Edit); 4] = [
        ("registration.credit_code", |r| r.credit_code.clear()),
        ("registration.name", |r| r.name.clear()),
        ("registration.district", |r| r.district.clear()),
        ("registration.industry_code", |r| r.industry_code.clear()),
    ];
    for (field, edit) in edits {
        let r = e.register_enterprise(registration(edit)).await;
        s.refused(&format!("register without {field}"), r, Code::InvalidArgument, field);
    }
    for (what, request) in [
        ("context", epb::RegisterEnterpriseRequest { context: None, ..registration(|_| {}) }),
        ("effective_date", epb::RegisterEnterpriseRequest { effective_date: String::new(), ..registration(|_| {}) }),
        ("registration", epb::RegisterEnterpriseRequest { registration: None, ..registration(|_| {}) }),
    ] {
        let r = e.register_enterprise(request).await;
        s.refused(&format!("register without {what}"), r, Code::InvalidArgument, what);
    }
    each_missing!(s, e, report_headcount, case_id, "headcount", |cx, id, on, full| epb::ReportHeadcountRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        headcount: full.then(|| epb::Headcount { month: "2026-01-01".into(), insured_employees: 10 }),
    });
    each_missing!(s, e, record_hire, case_id, "hire", |cx, id, on, full| epb::RecordHireRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        hire: full.then(|| epb::Hire {
            hire_id: "H-1".into(),
            person_case_id: String::new(),
            contract_months: 12,
            started_on: days_ago(2),
        }),
    });
    each_missing!(s, e, report_batch_layoff, case_id, "layoff", |cx, id, on, full| {
        epb::ReportBatchLayoffRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            layoff: full.then(|| epb::BatchLayoff { layoff_id: "L-1".into(), people: 25 }),
        }
    });
    each_missing!(s, e, record_layoff_service, case_id, "service", |cx, id, on, full| {
        epb::RecordLayoffServiceRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            service: full.then(|| epb::LayoffServiceProvided {
                layoff_id: "L-1".into(),
                service: epb::LayoffService::TrackingVisit as i32,
            }),
        }
    });
    each_missing!(s, e, offer_internship_posts, case_id, "offer", |cx, id, on, full| {
        epb::OfferInternshipPostsRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            offer: full.then(|| epb::InternshipPostsOffered { offer_id: "O-1".into(), posts: 3 }),
        }
    });
    each_missing!(s, e, develop_welfare_posts, case_id, "posts", |cx, id, on, full| {
        epb::DevelopWelfarePostsRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            posts: full.then(|| epb::WelfarePostsDeveloped {
                development_id: "D-1".into(),
                kind: epb::WelfarePostKind::PublicWelfare as i32,
                posts: 3,
            }),
        }
    });
    each_missing!(s, e, record_guarantee_loan, case_id, "loan", |cx, id, on, full| {
        epb::RecordGuaranteeLoanRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            loan: full.then(|| epb::GuaranteeLoanGranted {
                loan_id: "G-1".into(),
                borrower: epb::LoanBorrower::Enterprise as i32,
                principal_fen: 1_000_000,
                lender: "银行".into(),
                term_months: 12,
            }),
        }
    });
    each_missing!(s, e, file_layoff_plan, case_id, "plan", |cx, id, on, full| epb::FileLayoffPlanRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        plan: full.then(|| epb::LayoffPlan {
            plan_id: "PL-1".into(),
            people: 25,
            planned_layoff_on: days_ago(0),
            notice_given_on: days_ago(40),
        }),
    });
    each_missing!(s, e, report_labour_shortage, case_id, "shortage", |cx, id, on, full| {
        epb::ReportLabourShortageRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            shortage: full.then(|| epb::LabourShortage { posts: 3, skills: "焊工".into() }),
        }
    });
    each_missing!(s, e, revoke_subsidy, case_id, "revocation", |cx, id, on, full| epb::RevokeSubsidyRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        revocation: full.then(|| pb::SubsidyRevocation { subsidy_id: "S-1".into(), reason: "r".into() }),
    });
    each_missing!(s, e, approve_subsidy, case_id, "proposal_id", |cx, id, on, full| epb::ApproveSubsidyRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        proposal_id: if full { "P-1".into() } else { String::new() },
    });
    each_missing!(s, e, reject_subsidy_proposal, case_id, "reason", |cx, id, on, full| {
        epb::RejectSubsidyProposalRequest {
            context: cx,
            case_id: id,
            effective_date: on,
            proposal_id: "P-1".into(),
            reason: if full { "材料不全".into() } else { String::new() },
        }
    });
    each_missing!(s, e, propose_subsidy, case_id, "payee", |cx, id, on, full| epb::ProposeSubsidyRequest {
        context: cx,
        case_id: id,
        effective_date: on,
        proposal_id: "P-1".into(),
        rule_id: "xiqing.hiring.one-time".into(),
        payee: if full {
            Some(pb::Payee { payee: Some(pb::payee::Payee::EnterpriseCreditCode(credit_code(ENTERPRISE_BODY))) })
        } else {
            None
        },
        inputs: None,
    });
    for (what, request) in [
        (
            "context",
            epb::DesignateKeyEnterpriseRequest { context: None, case_id: case_id.clone(), effective_date: days_ago(1) },
        ),
        (
            "case_id",
            epb::DesignateKeyEnterpriseRequest { context: ctx(), case_id: String::new(), effective_date: days_ago(1) },
        ),
        (
            "effective_date",
            epb::DesignateKeyEnterpriseRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: String::new(),
            },
        ),
    ] {
        let r = e.designate_key_enterprise(request).await;
        s.refused(&format!("designate without {what}"), r, Code::InvalidArgument, what);
    }
    e.get_enterprise(epb::GetEnterpriseRequest { case_id: case_id.clone(), as_of: None })
        .await
        .expect("the server still answers");
    s.finish();
    server.stop().await;
}

/// Malformed values: impossible and out-of-range dates, amounts, enum
/// numbers, ids that are not UUIDs, codes of the wrong form, control and
/// bidirectional characters, over-long text. Each refused naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_malformed_values_are_refused_naming_field_and_rule() {
    let server = spawn().await;
    let mut c = server.client_as(SUPERVISOR, SUPERVISOR_ROLES, CITY).await;
    let mut e = server.enterprise_client().await;
    let id = resident_id("19900101", 1);
    let case_id = register_person(&mut c, &id, days_ago(100)).await;
    let enterprise = register_enterprise(&mut e, &credit_code(ENTERPRISE_BODY), 400).await;
    let mut s = Sweep::new(&server, &[&id]);
    let bad = Code::InvalidArgument;

    for d in ["2024-02-30", "0000-01-01", "2024-13-01", "24-01-01", "2024/01/01", "today"] {
        let r = c.record_contact(contact(&case_id, d.into())).await;
        s.refused(&format!("contact dated {d:?}"), r, bad, "effective_date");
    }
    let r = c.record_contact(contact(&case_id, "9999-12-31".into())).await;
    s.refused("contact dated 9999-12-31", r, bad, "EFFECTIVE_DATE_IN_FUTURE");
    let difficulty = |from: &str, to: &str| pb::RecogniseDifficultyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(1),
        difficulty: Some(pb::Difficulty {
            categories: vec![pb::DifficultyCategory::Disabled as i32],
            valid_from: from.into(),
            valid_to: to.into(),
        }),
    };
    let r = c.recognise_difficulty(difficulty("2025-02-29", "2026-01-01")).await;
    s.refused("valid_from 2025-02-29", r, bad, "difficulty.valid_from");
    let r = c.recognise_difficulty(difficulty("2026-01-01", "2025-01-01")).await;
    s.refused("validity ending before it starts", r, bad, "difficulty.valid_to");
    let r = c
        .recognise_difficulty(pb::RecogniseDifficultyRequest {
            difficulty: Some(pb::Difficulty { categories: vec![], valid_from: days_ago(1), valid_to: days_ago(0) }),
            ..difficulty("", "")
        })
        .await;
    s.refused("no category", r, bad, "difficulty.categories");

    // Enums out of range, negative, and UNSPECIFIED.
    for (value, label) in [(99, "99"), (-1, "-1"), (0, "0")] {
        let mut r = contact(&case_id, days_ago(1));
        r.contact.as_mut().unwrap().outcome = value;
        let r = c.record_contact(r).await;
        s.refused(&format!("contact.outcome {label}"), r, bad, "contact.outcome");
        let mut r = place(&case_id, pb::PlacementKind::Flexible, 1);
        r.placement.as_mut().unwrap().kind = value;
        let r = c.record_placement(r).await;
        s.refused(&format!("placement.kind {label}"), r, bad, "placement.kind");
        let r = c
            .exit_registration(pb::ExitRegistrationRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: days_ago(1),
                exit: Some(pb::RegistrationExit { reason: value }),
            })
            .await;
        s.refused(&format!("exit.reason {label}"), r, bad, "exit.reason");
        let r = e
            .develop_welfare_posts(epb::DevelopWelfarePostsRequest {
                context: ctx(),
                case_id: enterprise.clone(),
                effective_date: days_ago(1),
                posts: Some(epb::WelfarePostsDeveloped { development_id: "D".into(), kind: value, posts: 1 }),
            })
            .await;
        s.refused(&format!("posts.kind {label}"), r, bad, "posts.kind");
    }
    let mut r = register_request(&resident_id("19900101", 3), days_ago(1));
    r.registration.as_mut().unwrap().groups = vec![pb::PersonGroup::Veteran as i32, 999];
    let r = c.register_unemployment(r).await;
    s.refused("groups [veteran, 999]", r, bad, "registration.groups[1]");

    // Ids that are not UUIDs.
    for not_uuid in ["case-1", "12345", "0000000-0000-0000-0000-000000000000", "\u{0}"] {
        let mut r = contact(&case_id, days_ago(1));
        r.case_id = not_uuid.into();
        let r = c.record_contact(r).await;
        s.refused(&format!("case_id {not_uuid:?}"), r, bad, "case_id");
    }
    let mut r = contact(&case_id, days_ago(1));
    r.context.as_mut().unwrap().command_id = "retry-1".into();
    let r = c.record_contact(r).await;
    s.refused("command_id retry-1", r, bad, "context.command_id");
    let mut r = contact(&case_id, days_ago(1));
    r.context.as_mut().unwrap().causation_id = "event-7".into();
    let r = c.record_contact(r).await;
    s.refused("causation_id event-7", r, bad, "context.causation_id");
    let r = c
        .join_household(pb::JoinHouseholdRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            membership: Some(pb::HouseholdMembership {
                household_id: "household-7".into(),
                relation: pb::HouseholdRelation::Head as i32,
            }),
        })
        .await;
    s.refused("household_id household-7", r, bad, "membership.household_id");
    let r = e
        .record_hire(epb::RecordHireRequest {
            context: ctx(),
            case_id: enterprise.clone(),
            effective_date: days_ago(1),
            hire: Some(epb::Hire {
                hire_id: "H-1".into(),
                person_case_id: id.clone(),
                contract_months: 12,
                started_on: days_ago(1),
            }),
        })
        .await;
    s.refused("person_case_id = a resident ID", r, bad, "hire.person_case_id");

    // Codes of the wrong length or letters.
    let valid = credit_code(ENTERPRISE_BODY);
    for code in [&valid[..17], "9112011IMA05JX0K0X", "91120111MA05JX0KOX", "91120111MA05JX0K0１"] {
        let r = c
            .recommend_job(pb::RecommendJobRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: days_ago(1),
                recommendation: Some(pb::JobRecommendation {
                    vacancy_id: "V-1".into(),
                    enterprise_credit_code: code.into(),
                    two_way: false,
                }),
            })
            .await;
        s.refused(&format!("credit code {code:?}"), r, bad, "recommendation.enterprise_credit_code");
    }
    type Edit = fn(&mut pb::Registration);
    let edits: [(&str, &str, Edit); 6] = [
        ("hukou 12011", "registration.hukou.district_code", |r| {
            r.hukou.as_mut().unwrap().district_code = "12011".into()
        }),
        ("hukou 99xxxx", "registration.hukou.district_code", |r| {
            r.hukou.as_mut().unwrap().district_code = "990101".into()
        }),
        ("residence in Beijing", "registration.residence.district_code", |r| {
            r.residence = Some(pb::Residence {
                district_code: "110101".into(),
                street_code: "110101001".into(),
                community_code: "110101001001".into(),
            })
        }),
        ("street of another district", "registration.residence.street_code", |r| {
            r.residence.as_mut().unwrap().street_code = "120101001".into()
        }),
        ("community of 11 digits", "registration.residence.community_code", |r| {
            r.residence.as_mut().unwrap().community_code = "12011100100".into()
        }),
        ("graduation 1949", "registration.graduation.year", |r| r.graduation.as_mut().unwrap().year = 1949),
    ];
    for (what, field, edit) in edits {
        let mut r = register_request(&resident_id("19900101", 3), days_ago(1));
        edit(r.registration.as_mut().unwrap());
        let r = c.register_unemployment(r).await;
        s.refused(what, r, bad, field);
    }
    let mut r = register_request(&resident_id("19900101", 3), days_ago(1));
    r.registration.as_mut().unwrap().resident_id = format!("{}Y", &resident_id("19900101", 3)[..17]);
    let r = c.register_unemployment(r).await;
    s.refused("resident ID ending in Y", r, bad, "registration.resident_id");

    // Amounts.
    for principal in [0, -1, i64::MIN] {
        let r = e
            .record_guarantee_loan(epb::RecordGuaranteeLoanRequest {
                context: ctx(),
                case_id: enterprise.clone(),
                effective_date: days_ago(1),
                loan: Some(epb::GuaranteeLoanGranted {
                    loan_id: "G-1".into(),
                    borrower: epb::LoanBorrower::Founder as i32,
                    principal_fen: principal,
                    lender: "银行".into(),
                    term_months: 12,
                }),
            })
            .await;
        s.refused(&format!("principal {principal}"), r, bad, "loan.principal_fen");
    }
    let proposal = |inputs: pb::ProposalInputs| pb::ProposeSubsidyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(1),
        proposal_id: "P-1".into(),
        rule_id: STARTUP_CERTIFICATE.into(),
        payee: person_payee(),
        inputs: Some(inputs),
    };
    for (field, inputs) in [
        ("inputs.amount_fen", pb::ProposalInputs { amount_fen: -1, ..Default::default() }),
        ("inputs.base_fen", pb::ProposalInputs { base_fen: i64::MIN, ..Default::default() }),
        ("inputs.period_to", pb::ProposalInputs { period_from: "2026-01-01".into(), ..Default::default() }),
        (
            "inputs.period_to",
            pb::ProposalInputs {
                period_from: "2026-06-01".into(),
                period_to: "2026-01-31".into(),
                ..Default::default()
            },
        ),
        (
            "inputs.loan.principal_fen",
            pb::ProposalInputs {
                loan: Some(pb::LoanInput { principal_fen: -5, months: 12, contract_date: days_ago(1) }),
                ..Default::default()
            },
        ),
        ("inputs.post_type", pb::ProposalInputs { post_type: "boss".into(), ..Default::default() }),
        ("inputs.new_hires", pb::ProposalInputs { new_hires: Some(3), ..Default::default() }),
        ("inputs.attestations[0]", pb::ProposalInputs { attestations: vec!["trust me".into()], ..Default::default() }),
    ] {
        let r = c.propose_subsidy(proposal(inputs.clone())).await;
        s.refused(&format!("propose with bad {field}"), r, bad, field);
        let r = c.evaluate_subsidy(dry_run(proposal(inputs))).await;
        s.refused(&format!("evaluate with bad {field}"), r, bad, field);
    }
    let r = c
        .start_benefit(pb::StartBenefitRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            benefit: Some(pb::BenefitStart { months: 25, extended_to_retirement: false }),
            post_type: String::new(),
        })
        .await;
    s.refused("benefit of 25 months", r, bad, "benefit.months");
    let mut r = place(&case_id, pb::PlacementKind::Flexible, 1);
    r.placement.as_mut().unwrap().contract_months = Some(0);
    let r = c.record_placement(r).await;
    s.refused("contract of 0 months", r, bad, "placement.contract_months");

    // Text: control characters, NUL, bidirectional overrides, over-long.
    let texts = [
        ("NUL", "回访\u{0}完成".to_string()),
        ("BEL", "回访\u{7}".to_string()),
        ("ESC", "\u{1b}[31m回访".to_string()),
        ("RLO", "回访\u{202E}txet".to_string()),
        ("LRI", "回访\u{2066}x\u{2069}".to_string()),
        ("501 characters", "访".repeat(501)),
        ("a resident ID", format!("身份证 {id}")),
    ];
    for (what, text) in &texts {
        let mut r = contact(&case_id, days_ago(1));
        r.contact.as_mut().unwrap().note = text.clone();
        let r = c.record_contact(r).await;
        s.refused(&format!("note with {what}"), r, bad, "contact.note");
        let r = c
            .revoke_subsidy(pb::RevokeSubsidyRequest {
                context: ctx(),
                case_id: case_id.clone(),
                effective_date: days_ago(1),
                revocation: Some(pb::SubsidyRevocation { subsidy_id: "S-1".into(), reason: text.clone() }),
            })
            .await;
        s.refused(&format!("revocation reason with {what}"), r, bad, "revocation.reason");
        let r = e
            .report_labour_shortage(epb::ReportLabourShortageRequest {
                context: ctx(),
                case_id: enterprise.clone(),
                effective_date: days_ago(1),
                shortage: Some(epb::LabourShortage { posts: 1, skills: format!("{text}{}", "焊".repeat(500)) }),
            })
            .await;
        s.refused(&format!("skills with {what}, over 500"), r, bad, "shortage.skills");
        let mut r = register_request(&resident_id("19900101", 3), days_ago(1));
        r.registration.as_mut().unwrap().name = format!("王{text}");
        let r = c.register_unemployment(r).await;
        s.refused(&format!("name with {what}"), r, bad, "registration.name");
        let mut r = contact(&case_id, days_ago(1));
        r.context.as_mut().unwrap().office = text.clone();
        let r = c.record_contact(r).await;
        s.refused(&format!("office with {what}"), r, bad, "context.office");
    }
    for training_id in ["T 1", "培训1", "😀", &"T".repeat(65)] {
        let r = c.enrol_training(enrol(&case_id, training_id, pb::TrainingProgramme::VocationalSkills, 1)).await;
        s.refused(&format!("training_id {training_id:.10}"), r, bad, "training.training_id");
    }
    // Emoji and CJK within the limits are text like any other.
    let mut r = contact(&case_id, days_ago(1));
    r.contact.as_mut().unwrap().note = "回访 😀 顺利".into();
    s.wrote("emoji note", c.record_contact(r).await);
    still_answers(&mut c, &case_id).await;
    s.finish();
    server.stop().await;
}

/// Facts out of order: ending what never started, completing a training
/// never enrolled, exiting twice, facts before the registration or in the
/// future, a fact on a case that does not exist. Each refused with its
/// stable code, nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_facts_out_of_order_are_refused_with_their_code() {
    let server = spawn().await;
    let mut c = server.client_as(SUPERVISOR, SUPERVISOR_ROLES, CITY).await;
    let mut e = server.enterprise_client().await;
    let id = resident_id("19900101", 1);
    let case_id = register_person(&mut c, &id, days_ago(100)).await;
    let mut s = Sweep::new(&server, &[&id]);
    let pre = Code::FailedPrecondition;

    let r = c.record_contact(contact(&case_id, days_ago(101))).await;
    s.refused("contact the day before the registration", r, pre, "BEFORE_REGISTRATION");
    let r = c.record_contact(contact(&case_id, date(today() + chrono::Duration::days(1)))).await;
    s.refused("contact tomorrow", r, Code::InvalidArgument, "EFFECTIVE_DATE_IN_FUTURE");
    let r = c
        .complete_training(pb::CompleteTrainingRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            completion: Some(pb::TrainingCompletion { training_id: "NEVER".into(), certificate: String::new() }),
        })
        .await;
    s.refused("complete a training never enrolled", r, pre, "TRAINING_NOT_FOUND");
    let r = c.end_placement(end_placement(&case_id, 1)).await;
    s.refused("end a placement never started", r, pre, "NOT_PLACED");
    let r = c
        .end_benefit(pb::EndBenefitRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            end: Some(pb::BenefitEnd { reason: pb::BenefitEndReason::Exhausted as i32 }),
        })
        .await;
    s.refused("end a benefit never started", r, pre, "BENEFIT_NOT_RUNNING");
    let r = c
        .revoke_subsidy(pb::RevokeSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            revocation: Some(pb::SubsidyRevocation { subsidy_id: "NEVER".into(), reason: "r".into() }),
        })
        .await;
    s.refused("revoke a subsidy never granted", r, pre, "SUBSIDY_NOT_FOUND");
    let r = c
        .approve_subsidy(pb::ApproveSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            proposal_id: "NEVER".into(),
        })
        .await;
    s.refused("approve a proposal never made", r, pre, "PROPOSAL_NOT_FOUND");
    let r = c
        .leave_household(pb::LeaveHouseholdRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            leave: Some(pb::HouseholdLeave { household_id: Uuid::new_v4().to_string() }),
        })
        .await;
    s.refused("leave a household never joined", r, pre, "NOT_IN_HOUSEHOLD");
    let r = c.record_placement(place(&Uuid::new_v4().to_string(), pb::PlacementKind::Flexible, 1)).await;
    s.refused("place someone never registered", r, Code::NotFound, "CASE_NOT_FOUND");
    let r = c.register_unemployment(register_request(&id, days_ago(1))).await;
    s.refused("register twice", r, pre, "ALREADY_REGISTERED");

    s.wrote("enrol T1", c.enrol_training(enrol(&case_id, "T1", pb::TrainingProgramme::VocationalSkills, 50)).await);
    let r = c.enrol_training(enrol(&case_id, "T1", pb::TrainingProgramme::VocationalSkills, 40)).await;
    s.refused("enrol T1 again", r, pre, "TRAINING_EXISTS");
    let r = c
        .complete_training(pb::CompleteTrainingRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(60),
            completion: Some(pb::TrainingCompletion { training_id: "T1".into(), certificate: String::new() }),
        })
        .await;
    s.refused("complete before enrolment", r, pre, "BEFORE_START");
    let exit = |ago: i64| pb::ExitRegistrationRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(ago),
        exit: Some(pb::RegistrationExit { reason: pb::ExitReason::NoLongerSeeking as i32 }),
    };
    s.wrote("exit", c.exit_registration(exit(20)).await);
    let r = c.exit_registration(exit(10)).await;
    s.refused("exit twice", r, pre, "NOT_REGISTERED");
    let r = c
        .recommend_job(pb::RecommendJobRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            recommendation: Some(pb::JobRecommendation {
                vacancy_id: "V-1".into(),
                enterprise_credit_code: String::new(),
                two_way: true,
            }),
        })
        .await;
    s.refused("recommend after the exit", r, pre, "NOT_REGISTERED");

    let enterprise = register_enterprise(&mut e, &credit_code(ENTERPRISE_BODY), 100).await;
    s.wrote("register the enterprise", Ok::<(), Status>(()));
    let r = e
        .report_labour_shortage(epb::ReportLabourShortageRequest {
            context: ctx(),
            case_id: enterprise.clone(),
            effective_date: days_ago(101),
            shortage: Some(epb::LabourShortage { posts: 1, skills: "焊工".into() }),
        })
        .await;
    s.refused("shortage before the registration", r, pre, "BEFORE_REGISTRATION");
    let r = e
        .record_layoff_service(epb::RecordLayoffServiceRequest {
            context: ctx(),
            case_id: enterprise.clone(),
            effective_date: days_ago(1),
            service: Some(epb::LayoffServiceProvided {
                layoff_id: "NEVER".into(),
                service: epb::LayoffService::JobFair as i32,
            }),
        })
        .await;
    s.refused("serve a layoff never reported", r, pre, "LAYOFF_NOT_FOUND");
    let headcount = |month: &str| epb::ReportHeadcountRequest {
        context: ctx(),
        case_id: enterprise.clone(),
        effective_date: days_ago(1),
        headcount: Some(epb::Headcount { month: month.into(), insured_employees: 210 }),
    };
    let r = e.report_headcount(headcount(&date(today()))).await;
    if today().day() != 1 {
        s.refused("headcount month not a 1st", r, Code::InvalidArgument, "headcount.month");
    }
    let r = e.report_headcount(headcount("9999-12-01")).await;
    s.refused("headcount month not begun", r, Code::InvalidArgument, "headcount.month");
    let last_month = date((today().with_day(1).unwrap() - chrono::Duration::days(1)).with_day(1).unwrap());
    s.wrote("headcount", e.report_headcount(headcount(&last_month)).await);
    let r = e.report_headcount(headcount(&last_month)).await;
    s.refused("headcount twice", r, pre, "HEADCOUNT_EXISTS");
    let designate = || epb::DesignateKeyEnterpriseRequest {
        context: ctx(),
        case_id: enterprise.clone(),
        effective_date: days_ago(1),
    };
    s.wrote("designate", e.designate_key_enterprise(designate()).await);
    let r = e.designate_key_enterprise(designate()).await;
    s.refused("designate twice", r, pre, "ALREADY_DESIGNATED");
    still_answers(&mut c, &case_id).await;
    s.finish();
    server.stop().await;
}

/// Repeated commands: the same command id with the same body is a duplicate
/// (nothing written, also for registrations, benefits and exits whose rules
/// would now refuse the fact); the same id with another body, on another
/// case, another RPC or the other service is ALREADY_EXISTS; the same body
/// under a new id meets the case's uniqueness rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_repeated_commands_are_duplicates_or_already_exist() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut e = server.enterprise_client().await;
    let id = resident_id("19900101", 1);
    let register = register_request(&id, days_ago(100));
    let first = c.register_unemployment(register.clone()).await.expect("register").into_inner().result.unwrap();
    let case_id = first.case_id.clone();
    let other = register_person(&mut c, &resident_id("19900101", 3), days_ago(100)).await;
    let mut s = Sweep::new(&server, &[&id]);
    let duplicate = |s: &mut Sweep, what: &str, r: Result<Option<CommandResult>, Status>| {
        match r {
            Ok(Some(result)) if result.duplicate => {}
            Ok(other) => s.failures.push(format!("{what}: not a duplicate: {other:?}")),
            Err(status) => s.failures.push(format!("{what}: {:?} {}", status.code(), status.message())),
        }
        let now = s.server.event_count();
        if now != s.before {
            s.failures.push(format!("{what}: {} event(s) written", now - s.before));
            s.before = now;
        }
    };
    let r = c.register_unemployment(register.clone()).await.map(|r| r.into_inner().result);
    duplicate(&mut s, "registration retried", r);

    let mut pinned = contact(&case_id, days_ago(1));
    pinned.context.as_mut().unwrap().expected_revision = Some(first.revision);
    s.wrote("contact pinned to the revision", c.record_contact(pinned.clone()).await);
    let r = c.record_contact(pinned.clone()).await.map(|r| r.into_inner().result);
    duplicate(&mut s, "pinned contact retried after the case moved on", r);

    let benefit = pb::StartBenefitRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(50),
        benefit: Some(pb::BenefitStart { months: 6, extended_to_retirement: false }),
        post_type: String::new(),
    };
    s.wrote("benefit", c.start_benefit(benefit.clone()).await);
    let r = c.start_benefit(benefit.clone()).await.map(|r| r.into_inner().result);
    duplicate(&mut s, "benefit retried", r);
    let r = c.start_benefit(pb::StartBenefitRequest { context: ctx(), ..benefit.clone() }).await;
    s.refused("benefit under a new id", r, Code::FailedPrecondition, "BENEFIT_RUNNING");
    let r = c
        .start_benefit(pb::StartBenefitRequest {
            benefit: Some(pb::BenefitStart { months: 7, extended_to_retirement: false }),
            ..benefit.clone()
        })
        .await;
    s.refused("benefit id reused with 7 months", r, Code::AlreadyExists, "COMMAND_ID_REUSED");

    let exit = pb::ExitRegistrationRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(10),
        exit: Some(pb::RegistrationExit { reason: pb::ExitReason::EnteredSchool as i32 }),
    };
    s.wrote("exit", c.exit_registration(exit.clone()).await);
    let r = c.exit_registration(exit.clone()).await.map(|r| r.into_inner().result);
    duplicate(&mut s, "exit retried", r);
    let r = c.exit_registration(pb::ExitRegistrationRequest { context: ctx(), ..exit.clone() }).await;
    s.refused("exit under a new id", r, Code::FailedPrecondition, "NOT_REGISTERED");

    // The contact's command id, without its expected revision (a stale or
    // absent case is ABORTED before the id is compared: unclear which wins).
    let reused = pinned.context.clone().map(|c| CommandContext { expected_revision: None, ..c });
    let r =
        c.record_contact(pb::RecordContactRequest { context: reused.clone(), ..contact(&other, days_ago(1)) }).await;
    s.refused("contact id reused on another case", r, Code::AlreadyExists, "COMMAND_ID_REUSED");
    let r = c
        .enrol_training(pb::EnrolTrainingRequest {
            context: reused.clone(),
            ..enrol(&case_id, "T9", pb::TrainingProgramme::VocationalSkills, 1)
        })
        .await;
    s.refused("contact id reused for a training", r, Code::AlreadyExists, "COMMAND_ID_REUSED");
    let r = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: reused,
            effective_date: days_ago(1),
            registration: Some(enterprise_registration(&credit_code(ENTERPRISE_BODY))),
        })
        .await;
    s.refused("contact id reused on the enterprise service", r, Code::AlreadyExists, "COMMAND_ID_REUSED");
    let r = c
        .register_unemployment(pb::RegisterUnemploymentRequest {
            context: register.context.clone(),
            ..register_request(&resident_id("19900101", 5), days_ago(100))
        })
        .await;
    s.refused("registration id reused for another person", r, Code::AlreadyExists, "COMMAND_ID_REUSED");

    let enterprise = register_enterprise(&mut e, &credit_code(ENTERPRISE_BODY), 100).await;
    s.wrote("register the enterprise", Ok::<(), Status>(()));
    let offer = epb::OfferInternshipPostsRequest {
        context: ctx(),
        case_id: enterprise.clone(),
        effective_date: days_ago(1),
        offer: Some(epb::InternshipPostsOffered { offer_id: "O-1".into(), posts: 5 }),
    };
    s.wrote("offer", e.offer_internship_posts(offer.clone()).await);
    let r = e.offer_internship_posts(offer.clone()).await.map(|r| r.into_inner().result);
    duplicate(&mut s, "offer retried", r);
    let r = e.offer_internship_posts(epb::OfferInternshipPostsRequest { context: ctx(), ..offer }).await;
    s.refused("offer under a new id", r, Code::FailedPrecondition, "INTERNSHIP_OFFER_EXISTS");
    let r = e
        .register_enterprise(epb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(1),
            registration: Some(enterprise_registration(&credit_code(ENTERPRISE_BODY).to_lowercase())),
        })
        .await;
    s.refused("the enterprise again, lower case", r, Code::FailedPrecondition, "ALREADY_REGISTERED");
    still_answers(&mut c, &case_id).await;
    s.finish();
    server.stop().await;
}
