//! One test per defect this review found (each failed when written, since
//! fixed).

use super::*;

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
