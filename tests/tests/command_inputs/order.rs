//! What held: facts out of order refused with their code; repeated commands
//! are duplicates or already exist.

use super::*;

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
