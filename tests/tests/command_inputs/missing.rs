//! What held: every person and enterprise command refuses each missing
//! required field in turn.

use super::*;

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
