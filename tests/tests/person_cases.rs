//! Person cases end to end: gRPC over a real socket, a real SQLite file.

use leye_e2e::*;
use leye_proto::{
    common::v1::CommandContext,
    person::v1::{self as pb, get_case_request::AsOf},
};
use tonic::Code;
use uuid::Uuid;

async fn register(client: &mut Client, id: &str, on: String) -> String {
    client
        .register_unemployment(register_request(id, on))
        .await
        .expect("registered")
        .into_inner()
        .result
        .unwrap()
        .case_id
}

#[tokio::test]
async fn a_whole_person_lifecycle() {
    let server = spawn().await;
    let mut c = server.client().await;
    let id = resident_id("19800615", 3);
    let case_id = register(&mut c, &id, days_ago(400)).await;
    let employer = credit_code("91120111MA05JX0K0");

    c.recognise_difficulty(pb::RecogniseDifficultyRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(399),
        difficulty: Some(pb::Difficulty {
            categories: vec![pb::DifficultyCategory::OlderWorker as i32],
            valid_from: days_ago(399),
            valid_to: days_ago(-700),
        }),
    })
    .await
    .unwrap();
    c.record_contact(pb::RecordContactRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(400),
        contact: Some(pb::Contact {
            channel: pb::ContactChannel::InPerson as i32,
            outcome: pb::ContactOutcome::StillSeeking as i32,
            note: String::new(),
        }),
    })
    .await
    .unwrap();
    c.recommend_job(pb::RecommendJobRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(398),
        recommendation: Some(pb::JobRecommendation {
            vacancy_id: "V-2026-0001".into(),
            enterprise_credit_code: employer.clone(),
            two_way: true,
        }),
    })
    .await
    .unwrap();
    c.enrol_training(pb::EnrolTrainingRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(390),
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
        effective_date: days_ago(380),
        completion: Some(pb::TrainingCompletion { training_id: "T1".into(), certificate: "CERT-1".into() }),
    })
    .await
    .unwrap();
    // Xiqing hukou and a start-up training certificate: 500 yuan (000 § 13),
    // proposed by the caseworker, approved by a supervisor.
    let proposed = c
        .propose_subsidy(pb::ProposeSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(379),
            proposal_id: "S1".into(),
            rule_id: "xiqing.startup.training-certificate".into(),
            payee: Some(pb::Payee { payee: Some(pb::payee::Payee::Person(true)) }),
            inputs: None,
        })
        .await
        .unwrap()
        .into_inner();
    let decision = proposed.decision.unwrap();
    assert!(decision.granted);
    assert_eq!(decision.amount_fen, 50_000);
    let mut chief = server.client_as("chief-0007", &["supervisor"], leye_e2e::CITY).await;
    chief
        .approve_subsidy(pb::ApproveSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(379),
            proposal_id: "S1".into(),
        })
        .await
        .unwrap();
    c.record_placement(pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(300),
        placement: Some(pb::Placement {
            kind: pb::PlacementKind::Enterprise as i32,
            employer_credit_code: employer.clone(),
            contract_months: Some(12),
        }),
    })
    .await
    .unwrap();
    c.end_placement(pb::EndPlacementRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(100),
        end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::Dismissed as i32 }),
    })
    .await
    .unwrap();
    chief
        .revoke_subsidy(pb::RevokeSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(99),
            revocation: Some(pb::SubsidyRevocation { subsidy_id: "S1".into(), reason: "paid twice".into() }),
        })
        .await
        .unwrap();
    // A second spell on the same case.
    assert_eq!(register(&mut c, &id, days_ago(90)).await, case_id);
    c.start_benefit(pb::StartBenefitRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(89),
        benefit: Some(pb::BenefitStart { months: 12, extended_to_retirement: false }),
        post_type: String::new(),
    })
    .await
    .unwrap();
    c.end_benefit(pb::EndBenefitRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(10),
        end: Some(pb::BenefitEnd { reason: pb::BenefitEndReason::Other as i32 }),
    })
    .await
    .unwrap();
    c.enrol_training(pb::EnrolTrainingRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(9),
        training: Some(pb::TrainingEnrolment {
            training_id: "T2".into(),
            programme: pb::TrainingProgramme::VocationalSkills as i32,
            provider: "provider".into(),
        }),
    })
    .await
    .unwrap();
    c.drop_training(pb::DropTrainingRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(8),
        drop: Some(pb::TrainingDrop { training_id: "T2".into(), reason: "moved".into() }),
    })
    .await
    .unwrap();
    let last = c
        .exit_registration(pb::ExitRegistrationRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            exit: Some(pb::RegistrationExit { reason: pb::ExitReason::MovedAway as i32 }),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(last.revision, 17, "18 facts (the approval records two), revisions 0..=17");

    let case = c
        .get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    assert_eq!(case.revision, 17);
    assert_eq!(case.status(), pb::CaseStatus::NotRegistered);
    assert_eq!(case.gender(), pb::Gender::Male);
    assert_eq!(case.birth_date, "1980-06-15");
    assert_eq!(case.spells.len(), 2);
    assert_eq!(case.spells[0].end(), pb::SpellEnd::Placed);
    assert_eq!(case.spells[0].ended_on, days_ago(300));
    assert_eq!(case.spells[1].end(), pb::SpellEnd::Exited);
    assert_eq!(case.spells[1].exit_reason(), pb::ExitReason::MovedAway);
    assert_eq!(case.contact_count, 1);
    assert_eq!(case.recommendation_count, 1);
    assert_eq!(case.trainings.len(), 2);
    assert_eq!(case.trainings[0].certificate, "CERT-1");
    assert_eq!(case.trainings[1].dropped_on, days_ago(8));
    assert_eq!(case.placements[0].ended_on, days_ago(100));
    assert_eq!(case.subsidies[0].revoked_on, days_ago(99));
    assert_eq!(case.proposals[0].status(), pb::ProposalStatus::Approved);
    assert_eq!(case.proposals[0].reviewed_by, "chief-0007");
    assert_eq!(case.proposals[0].proposal.as_ref().unwrap().rule_id, "xiqing.startup.training-certificate");
    assert_eq!(case.benefits[0].ended_on, days_ago(10));
    assert!(!case.difficulties[0].special);

    let found =
        c.find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: id }).await.unwrap().into_inner();
    assert_eq!((found.case_id, found.revision), (case_id, 17));
    assert_eq!(server.event_count(), 18);
}

#[tokio::test]
async fn replay_returns_exactly_what_was_recorded() {
    let server = spawn().await;
    // The actor recorded is the principal; the context may repeat it in another case.
    let mut c = server.client_as("Staff-7", &["caseworker", "auditor"], leye_e2e::CITY).await;
    let id = resident_id("19900101", 12);
    let reg_command = Uuid::new_v4();
    let correlation = Uuid::new_v4();
    let mut req = register_request(&id, days_ago(30));
    req.context = Some(CommandContext {
        command_id: reg_command.to_string(),
        correlation_id: correlation.to_string(),
        actor: "STAFF-7".into(),
        office: "office-A".into(),
        ..Default::default()
    });
    let registered = c.register_unemployment(req.clone()).await.unwrap().into_inner().result.unwrap();
    let contact = pb::Contact {
        channel: pb::ContactChannel::Phone as i32,
        outcome: pb::ContactOutcome::NotReached as i32,
        note: "no answer".into(),
    };
    c.record_contact(pb::RecordContactRequest {
        context: ctx(),
        case_id: registered.case_id.clone(),
        effective_date: days_ago(29),
        contact: Some(contact.clone()),
    })
    .await
    .unwrap();

    let replay =
        c.replay_case(pb::ReplayCaseRequest { case_id: registered.case_id.clone() }).await.unwrap().into_inner();
    assert_eq!(replay.events.len(), 2);
    let first = &replay.events[0];
    let meta = first.metadata.as_ref().unwrap();
    assert_eq!(meta.event_type, "person.registered");
    assert_eq!(meta.revision, 0);
    assert_eq!(meta.command_id, reg_command.to_string());
    assert_eq!(meta.correlation_id, correlation.to_string());
    assert_eq!(meta.causation_id, reg_command.to_string(), "causation defaults to the command");
    assert_eq!(meta.actor, "staff-7", "the canonical principal id");
    assert_eq!(meta.actor_roles, ["caseworker", "auditor"]);
    assert_eq!(meta.authenticated_by, "bearer:https://auth.dev.leye.invalid");
    assert_eq!(meta.office, "office-A");
    assert_eq!(meta.effective_date, days_ago(30));
    assert_eq!(meta.schema_version, 1);
    assert_eq!(meta.event_id, registered.event_ids[0]);
    assert!(meta.recorded_at.is_some());
    assert_eq!(
        first.event,
        Some(pb::PersonEvent {
            event: Some(pb::person_event::Event::Registered(pb::Registration {
                personal_data: pb::PersonalDataState::Present as i32,
                ..req.registration.unwrap()
            }))
        })
    );
    assert_eq!(first.state_after.as_ref().unwrap().status(), pb::CaseStatus::RegisteredUnemployed);
    let second = &replay.events[1];
    assert_eq!(second.event, Some(pb::PersonEvent { event: Some(pb::person_event::Event::Contacted(contact)) }));
    assert!(second.metadata.as_ref().unwrap().global_position > meta.global_position);
    let current =
        c.get_case(pb::GetCaseRequest { case_id: registered.case_id, as_of: None }).await.unwrap().into_inner();
    assert_eq!(second.state_after.as_ref().unwrap(), current.case.as_ref().unwrap());
}

#[tokio::test]
async fn state_as_of_revision_recorded_time_and_effective_date() {
    let server = spawn().await;
    let mut c = server.client().await;
    let case_id = register(&mut c, &resident_id("19850505", 21), days_ago(200)).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    c.record_placement(pb::RecordPlacementRequest {
        context: ctx(),
        case_id: case_id.clone(),
        effective_date: days_ago(50),
        placement: Some(pb::Placement { kind: pb::PlacementKind::Flexible as i32, ..Default::default() }),
    })
    .await
    .unwrap();

    let get = |as_of| pb::GetCaseRequest { case_id: case_id.clone(), as_of: Some(as_of) };
    let at_rev0 = c.get_case(get(AsOf::Revision(0))).await.unwrap().into_inner().case.unwrap();
    assert_eq!((at_rev0.revision, at_rev0.status()), (0, pb::CaseStatus::RegisteredUnemployed));

    let ts = prost_types::Timestamp { seconds: between.timestamp(), nanos: between.timestamp_subsec_nanos() as i32 };
    let known_then = c.get_case(get(AsOf::RecordedAt(ts))).await.unwrap().into_inner().case.unwrap();
    assert_eq!((known_then.revision, known_then.status()), (0, pb::CaseStatus::RegisteredUnemployed));

    let day_before = c.get_case(get(AsOf::EffectiveDate(days_ago(51)))).await.unwrap().into_inner().case.unwrap();
    assert_eq!(day_before.status(), pb::CaseStatus::RegisteredUnemployed);
    assert_eq!(day_before.reference_date, days_ago(51));
    let day_of = c.get_case(get(AsOf::EffectiveDate(days_ago(50)))).await.unwrap().into_inner().case.unwrap();
    assert_eq!((day_of.revision, day_of.status()), (1, pb::CaseStatus::Placed));

    let before_case = c.get_case(get(AsOf::EffectiveDate(days_ago(201)))).await.unwrap_err();
    assert_eq!(before_case.code(), Code::NotFound);
    let long_ago = prost_types::Timestamp { seconds: 0, nanos: 0 };
    assert_eq!(c.get_case(get(AsOf::RecordedAt(long_ago))).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_changes_nothing() {
    let server = spawn().await;
    let mut c = server.client().await;
    let good = resident_id("19800615", 3);
    let mut check_char = good.clone();
    let last = if check_char.ends_with('0') { "1" } else { "0" };
    check_char.replace_range(17.., last);

    let cases: Vec<(&str, pb::RegisterUnemploymentRequest, &str)> = vec![
        ("malformed ID", register_request("12011119800615", days_ago(1)), "registration.resident_id"),
        ("wrong check character", register_request(&check_char, days_ago(1)), "registration.resident_id"),
        (
            "unknown enum value",
            {
                let mut r = register_request(&good, days_ago(1));
                r.registration.as_mut().unwrap().education = 99;
                r
            },
            "registration.education",
        ),
        (
            "missing field",
            {
                let mut r = register_request(&good, days_ago(1));
                r.registration.as_mut().unwrap().residence = None;
                r
            },
            "registration.residence",
        ),
        (
            "missing context",
            {
                let mut r = register_request(&good, days_ago(1));
                r.context = None;
                r
            },
            "context",
        ),
        ("future date", register_request(&good, days_ago(-1)), "effective_date"),
        ("unreal date", register_request(&good, "2026-02-30".into()), "effective_date"),
        (
            "oversized field",
            {
                let mut r = register_request(&good, days_ago(1));
                r.registration.as_mut().unwrap().name = "名".repeat(51);
                r
            },
            "registration.name",
        ),
        (
            "a name that displays reversed",
            {
                let mut r = register_request(&good, days_ago(1));
                r.registration.as_mut().unwrap().name = "钱\u{202E}示例".into();
                r
            },
            "registration.name",
        ),
        (
            "street outside district",
            {
                let mut r = register_request(&good, days_ago(1));
                r.registration.as_mut().unwrap().residence.as_mut().unwrap().street_code = "120110001".into();
                r
            },
            "registration.residence.street_code",
        ),
    ];
    // The size cap applies to the bytes received: over 64 KiB the transport
    // refuses the message unread (OUT_OF_RANGE).
    let mut oversized = register_request(&good, days_ago(1));
    oversized.registration.as_mut().unwrap().graduation.as_mut().unwrap().school = "x".repeat(100_000);
    let err = c.register_unemployment(oversized).await.expect_err("oversized");
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert!(err.message().contains("65536"), "{}", err.message());
    for (what, request, field) in cases {
        let err = c.register_unemployment(request).await.expect_err(what);
        assert_eq!(err.code(), Code::InvalidArgument, "{what}: {err:?}");
        assert!(bad_fields(&err).iter().any(|f| f == field), "{what}: fields {:?}", bad_fields(&err));
        assert!(err.message().contains(field), "{what}: message {}", err.message());
        assert!(!err.message().contains(&good[..14]), "{what}: the message repeats the resident ID");
    }
    // Every violation at once.
    let mut r = register_request("bad", "yesterday".into());
    r.registration.as_mut().unwrap().hukou = None;
    let err = c.register_unemployment(r).await.unwrap_err();
    let fields = bad_fields(&err);
    for f in ["registration.resident_id", "effective_date", "registration.hukou"] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
    // A message over the transport limit never reaches the service.
    let mut huge = register_request(&good, days_ago(1));
    huge.registration.as_mut().unwrap().name = "x".repeat(5 * 1024 * 1024);
    assert_eq!(c.register_unemployment(huge).await.unwrap_err().code(), Code::OutOfRange);

    // Commands on a case: a bad case id, a bad enum, a bad amount.
    let case_id = register(&mut c, &good, days_ago(10)).await;
    let count = server.event_count();
    let err = c
        .record_placement(pb::RecordPlacementRequest {
            context: ctx(),
            case_id: "not-a-uuid".into(),
            effective_date: days_ago(1),
            placement: Some(pb::Placement { kind: 42, ..Default::default() }),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["case_id".to_string(), "placement.kind".to_string()]);
    let err = c
        .record_placement(pb::RecordPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            placement: Some(pb::Placement { kind: pb::PlacementKind::Enterprise as i32, ..Default::default() }),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["placement.employer_credit_code".to_string()]);
    let err = c
        .propose_subsidy(pb::ProposeSubsidyRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            proposal_id: "S".into(),
            rule_id: "Bad Rule".into(),
            payee: None,
            inputs: Some(pb::ProposalInputs {
                amount_fen: -5,
                period_from: days_ago(1),
                period_to: days_ago(2),
                attestations: vec!["no_such_attestation".into()],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    let fields = bad_fields(&err);
    for f in ["rule_id", "inputs.amount_fen", "inputs.period_to", "payee", "inputs.attestations[0]"] {
        assert!(fields.iter().any(|x| x == f), "{f} missing from {fields:?}");
    }
    let err = c
        .record_contact(pb::RecordContactRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(-3),
            contact: Some(pb::Contact { channel: 1, outcome: 1, note: String::new() }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(reason(&err).as_deref(), Some("EFFECTIVE_DATE_IN_FUTURE"));
    assert_eq!(server.event_count(), count, "nothing was written");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_rules_of_the_case_answer_failed_precondition_with_a_code() {
    let server = spawn().await;
    let mut c = server.client().await;
    let case_id = register(&mut c, &resident_id("19800615", 5), days_ago(10)).await;
    let err = c
        .end_placement(pb::EndPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            end: Some(pb::PlacementEnd { reason: 1 }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err).as_deref(), Some("NOT_PLACED"));
    let err = c
        .record_contact(pb::RecordContactRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(11),
            contact: Some(pb::Contact { channel: 1, outcome: 1, note: String::new() }),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&err).as_deref(), Some("BEFORE_REGISTRATION"));
    let err = c
        .record_contact(pb::RecordContactRequest {
            context: ctx(),
            case_id: Uuid::new_v4().to_string(),
            effective_date: days_ago(1),
            contact: Some(pb::Contact { channel: 1, outcome: 1, note: String::new() }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(reason(&err).as_deref(), Some("CASE_NOT_FOUND"));
    let err = c
        .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident_id("19700101", 7) })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn concurrent_duplicate_registrations_yield_one_case() {
    let server = spawn().await;
    let id = resident_id("19950310", 8);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut c = server.client().await;
        let req = register_request(&id, days_ago(3));
        tasks.push(tokio::spawn(async move { c.register_unemployment(req).await }));
    }
    let mut won = Vec::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => won.push(r.into_inner()),
            Err(e) => {
                assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
                assert_eq!(reason(&e).as_deref(), Some("ALREADY_REGISTERED"));
                refused += 1;
            }
        }
    }
    assert_eq!(won.len(), 1, "exactly one registration wins");
    assert_eq!(refused, 15);
    assert_eq!(server.event_count(), 1);
}

#[tokio::test]
async fn a_retried_command_yields_one_set_of_events_even_after_a_restart() {
    let server = spawn().await;
    let mut c = server.client().await;
    let id = resident_id("19881111", 10);
    let command_id = Uuid::new_v4();
    let mut req = register_request(&id, days_ago(5));
    req.context = ctx_with(command_id);
    let first = c.register_unemployment(req.clone()).await.unwrap().into_inner().result.unwrap();
    assert!(!first.duplicate);
    // Retries, sequential and concurrent.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut c = server.client().await;
        let req = req.clone();
        tasks.push(tokio::spawn(async move { c.register_unemployment(req).await }));
    }
    for t in tasks {
        let again = t.await.unwrap().unwrap().into_inner().result.unwrap();
        assert_eq!(
            (again.case_id.as_str(), again.revision, &again.event_ids),
            (first.case_id.as_str(), 0, &first.event_ids)
        );
        assert!(again.duplicate);
    }
    assert_eq!(server.event_count(), 1);

    // The same command id with another content is refused.
    let mut other = req.clone();
    other.effective_date = days_ago(6);
    let err = c.register_unemployment(other).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err).as_deref(), Some("COMMAND_ID_REUSED"));

    let data = server.stop().await;
    let server = spawn_on(data).await;
    let mut c = server.client().await;
    let after_restart = c.register_unemployment(req).await.unwrap().into_inner().result.unwrap();
    assert!(after_restart.duplicate);
    assert_eq!(after_restart.event_ids, first.event_ids);
    assert_eq!(server.event_count(), 1);
}

#[tokio::test]
async fn conflicting_commands_exactly_one_wins() {
    let server = spawn().await;
    let mut c = server.client().await;
    let case_id = register(&mut c, &resident_id("19790202", 11), days_ago(20)).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let mut c = server.client().await;
        let req = pb::RecordPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(10 - i),
            placement: Some(pb::Placement { kind: pb::PlacementKind::Flexible as i32, ..Default::default() }),
        };
        tasks.push(tokio::spawn(async move { c.record_placement(req).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(reason(&e).as_deref(), Some("ALREADY_PLACED"), "{e:?}"),
        }
    }
    assert_eq!(ok, 1);

    // A client pinning a stale revision gets ABORTED with the current revision.
    let mut context = ctx().unwrap();
    context.expected_revision = Some(0);
    let err = c
        .end_placement(pb::EndPlacementRequest {
            context: Some(context),
            case_id: case_id.clone(),
            effective_date: days_ago(1),
            end: Some(pb::PlacementEnd { reason: 1 }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    assert_eq!(reason(&err).as_deref(), Some("REVISION_CONFLICT"));
    use tonic_types::StatusExt;
    assert_eq!(
        err.get_error_details().error_info().unwrap().metadata.get("current_revision").map(String::as_str),
        Some("1")
    );
    // Pinning the right revision succeeds.
    let mut context = ctx().unwrap();
    context.expected_revision = Some(1);
    let ended = c
        .end_placement(pb::EndPlacementRequest {
            context: Some(context),
            case_id,
            effective_date: days_ago(1),
            end: Some(pb::PlacementEnd { reason: 1 }),
        })
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(ended.revision, 2);
    assert_eq!(server.event_count(), 3);
}

#[tokio::test]
async fn graceful_shutdown_loses_no_acknowledged_command() {
    let server = spawn().await;
    let mut tasks = Vec::new();
    for i in 0..64u32 {
        let mut c = server.client().await;
        tasks.push(tokio::spawn(async move {
            let req = register_request(&resident_id("19900101", 100 + i), days_ago(1));
            c.register_unemployment(req).await.map(|r| r.into_inner().result.unwrap().case_id)
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let data = server.stop().await;
    let mut acknowledged = Vec::new();
    for t in tasks {
        if let Ok(Ok(case_id)) = t.await {
            acknowledged.push(case_id);
        }
    }
    let server = spawn_on(data).await;
    let mut c = server.client().await;
    for case_id in &acknowledged {
        c.get_case(pb::GetCaseRequest { case_id: case_id.clone(), as_of: None })
            .await
            .expect("acknowledged case is kept");
    }
    assert_eq!(server.event_count(), acknowledged.len() as i64);
}

#[tokio::test]
async fn health_and_reflection_answer() {
    let server = spawn().await;
    // Health answers without credentials; reflection needs a principal.
    let channel = server.channel().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest { service: "leye.person.v1.PersonCaseService".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status(), tonic_health::pb::health_check_response::ServingStatus::Serving);

    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let request = || ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let anonymous = ServerReflectionClient::new(channel).server_reflection_info(tokio_stream_once(request())).await;
    assert_eq!(anonymous.unwrap_err().code(), tonic::Code::Unauthenticated, "reflection needs a principal by default");
    let mut reflection = ServerReflectionClient::new(server.authed("analyst-1", &["analyst"], &["120101"]).await);
    let request = request();
    let mut responses = reflection.server_reflection_info(tokio_stream_once(request)).await.unwrap().into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("no service list")
    };
    assert!(list.service.iter().any(|s| s.name == "leye.person.v1.PersonCaseService"));

    // v1alpha too (older grpcurl speaks only it), resolving health and the
    // google.rpc error details by symbol.
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest as AlphaRequest, server_reflection_client::ServerReflectionClient as AlphaClient,
        server_reflection_request::MessageRequest as AlphaMessage,
        server_reflection_response::MessageResponse as AlphaResponse,
    };
    let mut alpha = AlphaClient::new(server.authed("analyst-1", &["analyst"], &["120101"]).await);
    for symbol in
        ["leye.audit.v1.AuditService", "grpc.health.v1.Health", "google.rpc.BadRequest", "google.rpc.ErrorInfo"]
    {
        let request = AlphaRequest {
            host: String::new(),
            message_request: Some(AlphaMessage::FileContainingSymbol(symbol.into())),
        };
        let mut responses = alpha.server_reflection_info(tokio_stream_once(request)).await.unwrap().into_inner();
        let response = responses.message().await.unwrap().unwrap();
        assert!(
            matches!(response.message_response, Some(AlphaResponse::FileDescriptorResponse(_))),
            "{symbol} resolves: {:?}",
            response.message_response
        );
    }
}

fn tokio_stream_once<T: Send + 'static>(item: T) -> impl tonic::codegen::tokio_stream::Stream<Item = T> {
    tonic::codegen::tokio_stream::iter(vec![item])
}
