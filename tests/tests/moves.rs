//! A person moving between districts: the case follows the new residence, and
//! the move is recorded only by a principal covering both the place the case
//! is at and the place it moves to (README, "Security").

use leye_e2e::{credit_code, ctx, days_ago, reason, register_request, resident_id, spawn};
use leye_proto::person::v1 as pb;

fn heping_residence() -> Option<pb::Residence> {
    Some(pb::Residence {
        district_code: "120101".into(),
        street_code: "120101001".into(),
        community_code: "120101001001".into(),
    })
}

#[tokio::test]
async fn a_move_between_districts_needs_a_principal_covering_both() {
    let server = spawn().await;
    let id = resident_id("19880202", 41);
    let mut xiqing = server.client_as("xq-cw-1", &["caseworker"], &["120111"]).await;
    let case_id = xiqing
        .register_unemployment(register_request(&id, days_ago(60)))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    // A placement ends the spell, and it ends too; the person then moves to Heping and registers again.
    xiqing
        .record_placement(pb::RecordPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(40),
            placement: Some(pb::Placement {
                kind: pb::PlacementKind::Enterprise as i32,
                employer_credit_code: credit_code("91120111MA05M4XK1"),
                contract_months: Some(12),
            }),
        })
        .await
        .unwrap();
    xiqing
        .end_placement(pb::EndPlacementRequest {
            context: ctx(),
            case_id: case_id.clone(),
            effective_date: days_ago(30),
            end: Some(pb::PlacementEnd { reason: pb::PlacementEndReason::Dismissed as i32 }),
        })
        .await
        .unwrap();
    let moved = || {
        let mut r = register_request(&id, days_ago(10));
        r.registration.as_mut().unwrap().residence = heping_residence();
        r
    };
    let before = server.event_count();

    // Xiqing alone cannot push the case out; Heping alone cannot take it.
    let pushed = xiqing.register_unemployment(moved()).await.unwrap_err();
    assert_eq!(reason(&pushed).as_deref(), Some("OUT_OF_JURISDICTION"), "{pushed:?}");
    let mut heping = server.client_as("hp-cw-1", &["caseworker", "auditor"], &["120101"]).await;
    let taken = heping.register_unemployment(moved()).await.unwrap_err();
    assert_eq!(reason(&taken).as_deref(), Some("OUT_OF_JURISDICTION"), "{taken:?}");
    assert_eq!(server.event_count(), before, "denied moves write nothing");

    // A principal covering both districts records it.
    let mut both = server.client_as("transfer-desk-1", &["caseworker"], &["120111", "120101"]).await;
    let registered = both.register_unemployment(moved()).await.unwrap().into_inner().result.unwrap();
    assert_eq!(registered.case_id, case_id, "the same case, now in Heping");

    // Access follows the case: Heping reaches it now, Xiqing no longer does.
    let get = || pb::GetCaseRequest { case_id: case_id.clone(), as_of: None };
    let now = heping.get_case(get()).await.unwrap().into_inner().case.unwrap();
    assert_eq!(now.revision, registered.revision);
    let gone = xiqing.get_case(get()).await.unwrap_err();
    assert_eq!(reason(&gone).as_deref(), Some("OUT_OF_JURISDICTION"));
    // Heping's auditor replays the whole history, the Xiqing part included.
    let history = heping.replay_case(pb::ReplayCaseRequest { case_id: case_id.clone() }).await.unwrap().into_inner();
    assert_eq!(history.events.len() as u64, registered.revision + 1);
    assert_eq!(history.events.last().unwrap().metadata.as_ref().unwrap().actor, "transfer-desk-1");
}
