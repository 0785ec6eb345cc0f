//! Erasure of personal data (PIPL art. 47) end to end, over TLS: a generated
//! population, a sample erased by a supervisor, and then every target, list
//! and total as before (also after a rebuild of the read model), the erased
//! persons not found by resident ID, their fields erased in every view, and
//! a re-registration of one of them.

use std::{sync::Arc, time::Duration};

use leye::{
    cases::PersonCases,
    config::{STORE_FILE, ServeConfig},
    identity::CaseIds,
};
use leye_e2e::*;
use leye_projections::runner::ReadModelDir;
use leye_proto::{analytics::v1 as apb, person::v1 as pb};
use leye_store::SqliteStore;
use tonic::Code;

const SUPERVISOR: &[&str] = &["supervisor"];

/// A data directory with a generated population, sealed as `leye serve` seals.
async fn generated(people: usize) -> Arc<tempfile::TempDir> {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let config = ServeConfig::in_data_dir(dir.path());
    let store = SqliteStore::open(dir.path().join(STORE_FILE), Default::default()).await.unwrap();
    let ids = CaseIds::load_or_create(&config.pseudonym_key_file).unwrap();
    let cases = PersonCases::new(store.clone(), ids, Arc::new(chrono::Utc::now))
        .with_personal_data(config.vault.open().unwrap());
    let cfg = leye::generate::GeneratorConfig::new(3, people, cases.today());
    leye::generate::generate(&cases, &cfg, |_| {}).await.unwrap();
    store.close().await;
    dir
}

fn head(server: &TestServer) -> u64 {
    let conn = rusqlite::Connection::open(server.store_path()).unwrap();
    conn.query_row("SELECT max(position) FROM events", [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

fn period() -> apb::GetTargetsRequest {
    apb::GetTargetsRequest {
        jurisdiction: String::new(),
        period_from: days_ago(730),
        period_to: days_ago(0),
        as_of: days_ago(0),
        min_position: 0,
    }
}

async fn caught_up(a: &mut TargetsClient, position: u64) {
    for _ in 0..400 {
        if a.get_targets(period()).await.unwrap().into_inner().checkpoint_position >= position {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the projector did not reach position {position}");
}

/// Every target (city and each district), every action list and the
/// subsidy totals, without the read model's checkpoint.
async fn snapshot(a: &mut TargetsClient) -> Vec<String> {
    let mut out = Vec::new();
    for jurisdiction in ["", "120101", "120111", "120116", "120119"] {
        let mut r =
            a.get_targets(apb::GetTargetsRequest { jurisdiction: jurisdiction.into(), ..period() }).await.unwrap();
        r.get_mut().checkpoint_position = 0;
        out.push(format!("{:?}", r.into_inner()));
        let totals = a
            .list_subsidy_totals(apb::ListSubsidyTotalsRequest {
                jurisdiction: jurisdiction.into(),
                period_from: days_ago(730),
                period_to: days_ago(0),
                as_of: days_ago(0),
                min_position: 0,
            })
            .await
            .unwrap();
        // The figures, not the position they were read at (the erasures moved the log on).
        let totals = apb::ListSubsidyTotalsResponse { checkpoint_position: 0, ..totals.into_inner() };
        out.push(format!("{:?}", totals));
    }
    for list in 1..=6 {
        let page = a
            .list_actions(apb::ListActionsRequest {
                list,
                jurisdiction: String::new(),
                as_of: days_ago(0),
                period_from: days_ago(730),
                period_to: days_ago(0),
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        out.push(format!("list {list}: {} items {:?}", page.total, page.items));
    }
    out
}

fn erase(case_id: &str) -> pb::ErasePersonalDataRequest {
    pb::ErasePersonalDataRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(0),
        erasure: Some(pb::PersonalDataErasure { ground: pb::ErasureGround::PurposeAchieved as i32 }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_sample_changes_no_target_list_or_total_and_erases_the_persons_everywhere() {
    let server = spawn_on(generated(150).await).await;
    let mut analyst = server.targets_client().await;
    caught_up(&mut analyst, head(&server)).await;
    let before = snapshot(&mut analyst).await;
    let city = analyst.get_targets(period()).await.unwrap().into_inner();
    assert!(city.targets.iter().filter(|t| t.numerator > 0).count() >= 3, "a population to count: {city:?}");

    // A sample: every 7th person case of the store.
    let sample: Vec<String> = {
        let conn = rusqlite::Connection::open(server.store_path()).unwrap();
        let mut s = conn
            .prepare("SELECT stream FROM events WHERE event_type = 'person.registered' GROUP BY stream ORDER BY min(position)")
            .unwrap();
        let streams: Vec<String> = s.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        streams.iter().step_by(7).map(|s| s.trim_start_matches("person-").to_string()).collect()
    };
    assert!(sample.len() >= 15, "{} persons sampled", sample.len());
    let mut supervisor = server.client_as("chief-0007", SUPERVISOR, CITY).await;
    let mut caseworker = server.client().await;
    let mut known = Vec::new();
    for case in &sample {
        let view = supervisor.get_case(pb::GetCaseRequest { case_id: case.clone(), as_of: None }).await.unwrap();
        let view = view.into_inner().case.expect("the case");
        let reg = view.registration.clone().unwrap();
        assert_eq!(reg.personal_data, pb::PersonalDataState::Present as i32);
        known.push((case.clone(), reg.resident_id, reg.name, view.birth_date, view.gender));
    }
    // Only a supervisor erases; then once.
    let denied = caseworker.erase_personal_data(erase(&sample[0])).await.unwrap_err();
    assert_eq!((denied.code(), reason(&denied).as_deref()), (Code::PermissionDenied, Some("ROLE_MISSING")));
    for case in &sample {
        supervisor.erase_personal_data(erase(case)).await.unwrap();
    }
    let again = supervisor.erase_personal_data(erase(&sample[0])).await.unwrap_err();
    assert_eq!((again.code(), reason(&again).as_deref()), (Code::FailedPrecondition, Some("ALREADY_ERASED")));
    let bad = supervisor
        .erase_personal_data(pb::ErasePersonalDataRequest { erasure: None, ..erase(&sample[1]) })
        .await
        .unwrap_err();
    assert_eq!((bad.code(), bad_fields(&bad)), (Code::InvalidArgument, vec!["erasure".to_string()]));

    caught_up(&mut analyst, head(&server)).await;
    assert_eq!(snapshot(&mut analyst).await, before, "targets, lists and totals unchanged by the erasure");

    for (case, resident_id, name, birth_date, gender) in &known {
        let found = caseworker
            .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident_id.clone() })
            .await
            .unwrap_err();
        assert_eq!(found.code(), Code::NotFound, "an erased person is not found");
        let view = caseworker.get_case(pb::GetCaseRequest { case_id: case.clone(), as_of: None }).await.unwrap();
        let view = view.into_inner().case.expect("the case");
        let reg = view.registration.unwrap();
        assert_eq!((reg.resident_id.as_str(), reg.name.as_str()), ("", ""));
        assert_eq!(reg.personal_data, pb::PersonalDataState::Erased as i32);
        assert_eq!((&view.birth_date, &view.gender), (birth_date, gender), "birth date and sex stay");
        assert_eq!(view.personal_data_erased_on, days_ago(0));
        let replay = caseworker.replay_case(pb::ReplayCaseRequest { case_id: case.clone() }).await.unwrap();
        let shown = format!("{:?}", replay.get_ref());
        assert!(!shown.contains(resident_id.as_str()) && !shown.contains(name.as_str()));
        for e in &replay.get_ref().events {
            if let Some(pb::person_event::Event::Registered(r)) = &e.event.as_ref().unwrap().event {
                assert_eq!((r.resident_id.as_str(), r.personal_data), ("", pb::PersonalDataState::Erased as i32));
            }
        }
        let last = replay.into_inner().events.pop().unwrap();
        assert_eq!(last.metadata.unwrap().event_type, "person.personal_data_erased");
    }

    // The same after a rebuild of the read model from the log.
    let store = SqliteStore::open(server.store_path(), Default::default()).await.unwrap();
    let config = ServeConfig::in_data_dir(server.data_dir.path());
    leye::analyst::rebuild(&store, &ReadModelDir::new(config.readmodel_dir()), &mut std::io::sink()).await.unwrap();
    store.close().await;
    assert_eq!(snapshot(&mut analyst).await, before, "and after `leye projections rebuild`");

    // A re-registration after erasure continues the case with the identity sealed anew.
    let (case, resident_id, ..) = &known[0];
    let exit = caseworker
        .exit_registration(pb::ExitRegistrationRequest {
            context: ctx(),
            case_id: case.clone(),
            effective_date: days_ago(0),
            exit: Some(pb::RegistrationExit { reason: pb::ExitReason::NoLongerSeeking as i32 }),
        })
        .await;
    let _ = exit; // the person may already be placed or exited; either way no registration is open
    let placed = caseworker.get_case(pb::GetCaseRequest { case_id: case.clone(), as_of: None }).await.unwrap();
    if placed.into_inner().case.expect("the case").status == pb::CaseStatus::Placed as i32 {
        caseworker
            .end_placement(pb::EndPlacementRequest {
                context: ctx(),
                case_id: case.clone(),
                effective_date: days_ago(0),
                end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::Resigned as i32 }),
            })
            .await
            .unwrap();
    }
    let again = caseworker.register_unemployment(register_request(resident_id, days_ago(0))).await.unwrap();
    assert_eq!(
        &again.get_ref().result.as_ref().expect("a result").case_id,
        case,
        "the same case: the case id follows from the resident ID"
    );
    let found = caseworker
        .find_case_by_resident_id(pb::FindCaseByResidentIdRequest { resident_id: resident_id.clone() })
        .await
        .unwrap();
    assert_eq!(&found.get_ref().case_id, case);
    let view = caseworker.get_case(pb::GetCaseRequest { case_id: case.clone(), as_of: None }).await.unwrap();
    let view = view.into_inner().case.expect("the case");
    assert_eq!(view.registration.as_ref().unwrap().resident_id, *resident_id);
    assert_eq!(view.personal_data_erased_on, "");
    assert!(view.spells.len() >= 2, "the earlier spells stay on the case");
    let replay = caseworker.replay_case(pb::ReplayCaseRequest { case_id: case.clone() }).await.unwrap().into_inner();
    let states: Vec<i32> = replay
        .events
        .iter()
        .filter_map(|e| match &e.event.as_ref()?.event {
            Some(pb::person_event::Event::Registered(r)) => Some(r.personal_data),
            _ => None,
        })
        .collect();
    let (last, earlier) = states.split_last().unwrap();
    assert_eq!(*last, pb::PersonalDataState::Present as i32, "the new registration is readable");
    assert!(earlier.iter().all(|s| *s == pb::PersonalDataState::Erased as i32), "the erased ones stay erased");
    server.stop().await;
}

#[tokio::test]
async fn free_text_shaped_like_a_resident_id_is_refused_naming_the_field_in_every_command() {
    let server = spawn().await;
    let mut c = server.client().await;
    let id = resident_id("19900101", 1);
    let case = c
        .register_unemployment(register_request(&id, days_ago(30)))
        .await
        .unwrap()
        .into_inner()
        .result
        .expect("a result")
        .case_id;
    let before = server.event_count();
    let with_id = format!("见{id}");
    let recommend = c
        .recommend_job(pb::RecommendJobRequest {
            context: ctx(),
            case_id: case.clone(),
            effective_date: days_ago(1),
            recommendation: Some(pb::JobRecommendation {
                vacancy_id: id.clone(),
                enterprise_credit_code: String::new(),
                two_way: false,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (recommend.code(), bad_fields(&recommend)),
        (Code::InvalidArgument, vec!["recommendation.vacancy_id".to_string()])
    );
    assert!(recommend.message().contains("resident ID") && !recommend.message().contains(&id));
    let training = c
        .enrol_training(pb::EnrolTrainingRequest {
            context: ctx(),
            case_id: case.clone(),
            effective_date: days_ago(1),
            training: Some(pb::TrainingEnrolment {
                training_id: "T-1".into(),
                programme: pb::TrainingProgramme::VocationalSkills as i32,
                provider: with_id.clone(),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&training), vec!["training.provider".to_string()]);
    let mut graduate = register_request(&resident_id("19900101", 3), days_ago(1));
    graduate.registration.as_mut().unwrap().graduation.as_mut().unwrap().school = with_id.clone();
    let school = c.register_unemployment(graduate).await.unwrap_err();
    assert_eq!(bad_fields(&school), vec!["registration.graduation.school".to_string()]);
    // Enterprise commands too.
    let mut e = server.enterprise_client().await;
    let shortage = e
        .report_labour_shortage(leye_proto::enterprise::v1::ReportLabourShortageRequest {
            context: ctx(),
            case_id: uuid::Uuid::new_v4().to_string(),
            effective_date: days_ago(1),
            shortage: Some(leye_proto::enterprise::v1::LabourShortage {
                skills: with_id.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert!(bad_fields(&shortage).contains(&"shortage.skills".to_string()), "{shortage:?}");
    let loan = e
        .record_guarantee_loan(leye_proto::enterprise::v1::RecordGuaranteeLoanRequest {
            context: ctx(),
            case_id: uuid::Uuid::new_v4().to_string(),
            effective_date: days_ago(1),
            loan: Some(leye_proto::enterprise::v1::GuaranteeLoanGranted {
                loan_id: "g1".into(),
                borrower: leye_proto::enterprise::v1::LoanBorrower::Founder as i32,
                principal_fen: 1_000,
                lender: with_id.clone(),
                term_months: 12,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&loan), vec!["loan.lender".to_string()], "{loan:?}");
    assert_eq!(server.event_count(), before, "nothing written");
    server.stop().await;
}
