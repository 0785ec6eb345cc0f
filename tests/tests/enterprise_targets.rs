//! The enterprise-based targets end to end: batch layoffs and the services
//! after them, internship posts, recorded over gRPC on a real socket and a real
//! SQLite file, folded by the projector inside `leye serve`, read back through
//! GetTargets and ListActions.

use std::time::Duration;

use leye_e2e::{EnterpriseClient, TestServer, bad_fields, credit_code, ctx, days_ago, reason, spawn};
use leye_proto::{
    analytics::v1 as apb,
    enterprise::v1::{self as pb, LayoffService},
};
use tonic::Code;

async fn analytics(server: &TestServer) -> leye_e2e::TargetsClient {
    server.targets_client().await
}

fn targets_request(jurisdiction: &str) -> apb::GetTargetsRequest {
    apb::GetTargetsRequest {
        jurisdiction: jurisdiction.into(),
        period_from: days_ago(120),
        period_to: days_ago(0),
        as_of: String::new(),
        min_position: 0,
    }
}

fn value(report: &apb::GetTargetsResponse, id: &str) -> (i64, Option<i64>) {
    let t = report.targets.iter().find(|t| t.id == id).unwrap_or_else(|| panic!("no target {id}"));
    (t.numerator, t.denominator)
}

async fn layoff(c: &mut EnterpriseClient, case_id: &str, ago: i64, id: &str, people: u32) {
    c.report_batch_layoff(pb::ReportBatchLayoffRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        layoff: Some(pb::BatchLayoff { layoff_id: id.into(), people }),
    })
    .await
    .expect("report batch layoff");
}

fn service_request(case_id: &str, ago: i64, id: &str, service: LayoffService) -> pb::RecordLayoffServiceRequest {
    pb::RecordLayoffServiceRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        service: Some(pb::LayoffServiceProvided { layoff_id: id.into(), service: service as i32 }),
    }
}

fn offer_request(case_id: &str, ago: i64, id: &str, posts: u32) -> pb::OfferInternshipPostsRequest {
    pb::OfferInternshipPostsRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: days_ago(ago),
        offer: Some(pb::InternshipPostsOffered { offer_id: id.into(), posts }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_layoffs_services_and_internship_posts_reach_the_targets() {
    let server = spawn().await;
    let mut c = server.enterprise_client().await;
    let mut a = analytics(&server).await;
    let case_id = c
        .register_enterprise(pb::RegisterEnterpriseRequest {
            context: ctx(),
            effective_date: days_ago(400),
            registration: Some(pb::EnterpriseRegistration {
                credit_code: credit_code("91120111MA05JX0K0"),
                name: "天津西青测试制造有限公司".into(),
                district: "120111".into(),
                industry_code: "C3411".into(),
                insured_employees: 800,
                small_micro: false,
                kinds: vec![],
                check_character_confirmed: false,
            }),
        })
        .await
        .expect("register")
        .into_inner()
        .result
        .unwrap()
        .case_id;

    // The deadline is 30 days (the default batch_layoff_service_days).
    // big (45): a job fair 5 days after, training 40 days after (late).
    layoff(&mut c, &case_id, 100, "big", 45).await;
    c.record_layoff_service(service_request(&case_id, 95, "big", LayoffService::JobFair)).await.unwrap();
    c.record_layoff_service(service_request(&case_id, 60, "big", LayoffService::SkillsTraining)).await.unwrap();
    // mid (25): a tracking visit 20 days after.
    layoff(&mut c, &case_id, 90, "mid", 25).await;
    c.record_layoff_service(service_request(&case_id, 70, "mid", LayoffService::TrackingVisit)).await.unwrap();
    // small (19): owed nothing.
    layoff(&mut c, &case_id, 80, "small", 19).await;
    // late (50): a visit only; training and a job fair missing, past the deadline.
    layoff(&mut c, &case_id, 40, "late", 50).await;
    c.record_layoff_service(service_request(&case_id, 35, "late", LayoffService::TrackingVisit)).await.unwrap();
    // new (22): nothing yet, within the deadline.
    layoff(&mut c, &case_id, 5, "new", 22).await;
    // Internship posts: 15 and 5.
    c.offer_internship_posts(offer_request(&case_id, 50, "o1", 15)).await.unwrap();
    c.offer_internship_posts(offer_request(&case_id, 10, "o2", 5)).await.unwrap();

    // The rules, with their codes; nothing recorded.
    let before = server.event_count();
    let err = c.record_layoff_service(service_request(&case_id, 3, "nope", LayoffService::JobFair)).await.unwrap_err();
    assert_eq!((err.code(), reason(&err).as_deref()), (Code::FailedPrecondition, Some("LAYOFF_NOT_FOUND")));
    let err = c.record_layoff_service(service_request(&case_id, 6, "new", LayoffService::JobFair)).await.unwrap_err();
    assert_eq!(reason(&err).as_deref(), Some("BEFORE_START"), "the day before the layoff");
    let err =
        c.record_layoff_service(service_request(&case_id, 3, "new", LayoffService::Unspecified)).await.unwrap_err();
    assert_eq!((err.code(), bad_fields(&err)), (Code::InvalidArgument, vec!["service.service".to_string()]));
    let err = c.offer_internship_posts(offer_request(&case_id, 3, "o1", 4)).await.unwrap_err();
    assert_eq!(reason(&err).as_deref(), Some("INTERNSHIP_OFFER_EXISTS"));
    let err = c.offer_internship_posts(offer_request(&case_id, 3, "o3", 0)).await.unwrap_err();
    assert_eq!(bad_fields(&err), ["offer.posts"]);
    assert_eq!(server.event_count(), before, "refused commands write nothing");

    // The case shows the services per layoff and the offers.
    let case = c
        .get_enterprise(pb::GetEnterpriseRequest { case_id: case_id.clone(), as_of: None })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    let big = case.layoffs.iter().find(|l| l.layoff.as_ref().unwrap().layoff_id == "big").unwrap();
    let services: Vec<(i32, String)> = big.services.iter().map(|s| (s.service, s.provided_on.clone())).collect();
    assert_eq!(
        services,
        vec![(LayoffService::JobFair as i32, days_ago(95)), (LayoffService::SkillsTraining as i32, days_ago(60))]
    );
    let posts: Vec<u32> = case.internship_offers.iter().map(|o| o.offer.as_ref().unwrap().posts).collect();
    assert_eq!(posts, [15, 5]);

    // Wait for the projector to reach the last event.
    let replay = c.replay_enterprise(pb::ReplayEnterpriseRequest { case_id: case_id.clone() }).await.unwrap();
    let replay = replay.into_inner();
    let last = replay.events.last().unwrap();
    assert!(matches!(last.event.as_ref().unwrap().event, Some(pb::enterprise_event::Event::InternshipPostsOffered(_))));
    let head = last.metadata.as_ref().unwrap().global_position;
    let mut report = None;
    for _ in 0..200 {
        // UNAVAILABLE until the projector has created the read model.
        match a.get_targets(targets_request("120111")).await {
            Ok(r) if r.get_ref().checkpoint_position >= head => {
                report = Some(r.into_inner());
                break;
            }
            Ok(_) => {}
            Err(e) => assert_eq!(e.code(), Code::Unavailable, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let report = report.expect("the projector caught up");
    assert_eq!(report.checkpoint_position, head);

    // ≥ 20: big, mid, late, new; a service within 30 days: big, mid, late.
    assert_eq!(value(&report, "batch_layoffs_20_followed"), (3, Some(4)));
    // ≥ 40: big (training late), late (neither): none followed.
    assert_eq!(value(&report, "batch_layoffs_40_followed"), (0, Some(2)));
    assert_eq!(value(&report, "internship_posts"), (20, None));
    assert_eq!(value(&report, "interns"), (0, None));
    let city = a.get_targets(targets_request("")).await.unwrap().into_inner();
    assert_eq!(value(&city, "batch_layoffs_20_followed"), (3, Some(4)));
    let street = a.get_targets(targets_request("120111001")).await.unwrap().into_inner();
    assert!(!street.targets.iter().any(|t| t.id == "internship_posts"), "no enterprise figures below a district");

    // The action list: overdue first.
    let list = |jurisdiction: &str| apb::ListActionsRequest {
        list: apb::ActionList::UnservedBatchLayoffs as i32,
        jurisdiction: jurisdiction.into(),
        ..Default::default()
    };
    let page = a.list_actions(list("120111")).await.unwrap().into_inner();
    assert_eq!(page.total, 2);
    let rows: Vec<(&str, u32, &str, Vec<String>, i64)> = page
        .items
        .iter()
        .map(|i| (i.layoff_id.as_str(), i.people, i.status.as_str(), i.missing_services.clone(), i.days))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("late", 50, "overdue", vec!["skills_training".to_string(), "job_fair".to_string()], 40),
            ("new", 22, "within_deadline", vec!["any_service".to_string()], 5),
        ]
    );
    let late = &page.items[0];
    assert_eq!((late.case_id.as_str(), late.reported_on.clone()), (case_id.as_str(), days_ago(40)));
    assert_eq!((late.reference_date.clone(), late.communities.clone()), (days_ago(10), vec!["120111".to_string()]));
    // As of before the late layoff's visit and the new layoff: only `late`, within its deadline then.
    let mut earlier = list("120111");
    earlier.as_of = days_ago(38);
    let page = a.list_actions(earlier).await.unwrap().into_inner();
    let rows: Vec<(&str, &str)> = page.items.iter().map(|i| (i.layoff_id.as_str(), i.status.as_str())).collect();
    assert_eq!(rows, [("late", "within_deadline")]);
    assert_eq!(page.items[0].missing_services, ["skills_training", "job_fair"]);
    assert_eq!(a.list_actions(list("120111001")).await.unwrap().into_inner().total, 0);
    assert_eq!(a.list_actions(list("120101")).await.unwrap().into_inner().total, 0, "Heping has no layoffs");
}
