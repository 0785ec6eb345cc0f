//! Targets and action lists end to end: commands over gRPC, the projector
//! following the log inside `leye serve`, queries over gRPC.

use std::time::Duration;

use leye_e2e::*;
use leye_proto::{analytics::v1 as apb, person::v1 as pb};
use tonic::Code;

async fn analytics(server: &TestServer) -> leye_e2e::TargetsClient {
    server.targets_client().await
}

fn targets_request(jurisdiction: &str, from: String, to: String) -> apb::GetTargetsRequest {
    apb::GetTargetsRequest {
        jurisdiction: jurisdiction.into(),
        period_from: from,
        period_to: to,
        as_of: String::new(),
        min_position: 0,
    }
}

/// Waits until the read model has folded everything up to `position`.
async fn caught_up(a: &mut leye_e2e::TargetsClient, position: u64) {
    for _ in 0..200 {
        let r = a.get_targets(targets_request("", days_ago(1), days_ago(0))).await.unwrap().into_inner();
        if r.checkpoint_position >= position {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the projector did not reach position {position}");
}

fn value(report: &apb::GetTargetsResponse, id: &str) -> (i64, Option<i64>) {
    let t = report.targets.iter().find(|t| t.id == id).unwrap();
    (t.numerator, t.denominator)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_and_action_lists_follow_the_commands() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = analytics(&server).await;

    // A: registered 60 days ago, contacted that day, placed 10 days ago.
    let a_case = c
        .register_unemployment(register_request(&resident_id("19800101", 1), days_ago(60)))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    c.record_contact(pb::RecordContactRequest {
        context: ctx(),
        case_id: a_case.case_id.clone(),
        effective_date: days_ago(60),
        contact: Some(pb::Contact { channel: 1, outcome: 1, note: String::new() }),
    })
    .await
    .unwrap();
    c.record_placement(pb::RecordPlacementRequest {
        context: ctx(),
        case_id: a_case.case_id.clone(),
        effective_date: days_ago(10),
        placement: Some(pb::Placement { kind: pb::PlacementKind::Flexible as i32, ..Default::default() }),
    })
    .await
    .unwrap();
    // B, C, D: registered more than 6 months ago, still open: long-term.
    let mut last_case = String::new();
    for (i, ago) in [(2, 200), (3, 300), (4, 250)] {
        last_case = c
            .register_unemployment(register_request(&resident_id("19750505", i), days_ago(ago)))
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap()
            .case_id;
    }
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: last_case }).await.unwrap().into_inner();
    let head = replay.events.last().unwrap().metadata.as_ref().unwrap().global_position;
    caught_up(&mut a, head).await;

    // Period: the last 90 days. Spells open in it: A, B, C, D; re-employed in it: A.
    let report = a.get_targets(targets_request("120111", days_ago(90), days_ago(0))).await.unwrap().into_inner();
    assert_eq!(value(&report, "reemployment_rate"), (1, Some(4)));
    assert_eq!(value(&report, "long_term_unemployed"), (3, None));
    assert_eq!(report.checkpoint_position, head);
    let heping = a.get_targets(targets_request("120101", days_ago(90), days_ago(0))).await.unwrap().into_inner();
    assert_eq!(value(&heping, "reemployment_rate"), (0, Some(0)));

    // The long-term list, paged two at a time, longest first.
    let list = |token: String| apb::ListActionsRequest {
        list: apb::ActionList::LongTermUnemployed as i32,
        jurisdiction: "120111".into(),
        page_size: 2,
        page_token: token,
        ..Default::default()
    };
    let first = a.list_actions(list(String::new())).await.unwrap().into_inner();
    assert_eq!((first.items.len(), first.total), (2, 3));
    assert_eq!(first.items[0].days, 300);
    assert_eq!(first.items[0].status, "long_term");
    let second = a.list_actions(list(first.next_page_token.clone())).await.unwrap().into_inner();
    assert_eq!(second.items.len(), 1);
    assert!(second.next_page_token.is_empty());
    assert_eq!(second.items[0].days, 200);
    // Filtered by a group nobody has.
    let mut veterans = list(String::new());
    veterans.group = "veteran".into();
    assert_eq!(a.list_actions(veterans).await.unwrap().into_inner().total, 0);
    // Graduates (every test registration lists PERSON_GROUP_GRADUATE).
    let mut graduates = list(String::new());
    graduates.group = "graduate".into();
    assert_eq!(a.list_actions(graduates).await.unwrap().into_inner().total, 3);

    // Bad input names the field.
    let err = a.get_targets(targets_request("99", days_ago(1), days_ago(0))).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(bad_fields(&err).contains(&"jurisdiction".to_string()));
    let err = a.get_targets(targets_request("", days_ago(0), days_ago(5))).await.unwrap_err();
    assert!(bad_fields(&err).contains(&"period_to".to_string()));
    let mut bad_group = list(String::new());
    bad_group.group = "astronauts".into();
    let err = a.list_actions(bad_group).await.unwrap_err();
    assert!(bad_fields(&err).contains(&"group".to_string()));
    let err = a.list_actions(apb::ListActionsRequest::default()).await.unwrap_err();
    assert!(bad_fields(&err).contains(&"list".to_string()));
}
