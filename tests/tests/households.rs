//! Households (家庭) end to end: members join and leave over gRPC, the person
//! decider enforces one household at a time, and `GetHousehold` answers from
//! the read model (a household is a projection over its members' cases).

use std::time::Duration;

use leye_e2e::*;
use leye_proto::{analytics::v1 as apb, person::v1 as pb};
use tonic::Code;
use uuid::Uuid;

fn join(case_id: &str, on: String, household: &str, relation: pb::HouseholdRelation) -> pb::JoinHouseholdRequest {
    pb::JoinHouseholdRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: on,
        membership: Some(pb::HouseholdMembership { household_id: household.into(), relation: relation as i32 }),
    }
}

fn leave(case_id: &str, on: String, household: &str) -> pb::LeaveHouseholdRequest {
    pb::LeaveHouseholdRequest {
        context: ctx(),
        case_id: case_id.into(),
        effective_date: on,
        leave: Some(pb::HouseholdLeave { household_id: household.into() }),
    }
}

fn get(household: &str, as_of: String) -> apb::GetHouseholdRequest {
    apb::GetHouseholdRequest { household_id: household.into(), as_of, min_position: 0 }
}

/// Waits until the read model has folded everything up to `position`.
async fn caught_up(a: &mut leye_e2e::TargetsClient, household: &str, position: u64) {
    for _ in 0..200 {
        if let Ok(h) = a.get_household(get(household, days_ago(0))).await {
            if h.into_inner().checkpoint_position >= position {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the projector did not reach position {position}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_join_and_leave_and_the_household_is_zero_employment_then_cleared_then_again() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();

    // A registers 100 days ago naming the household (a member from that day) and is
    // recognised "zero-employment household" 90 days ago: the household is identified.
    let a_id = resident_id("19700101", 11);
    let mut reg = register_request(&a_id, days_ago(100));
    reg.registration.as_mut().unwrap().household =
        Some(pb::HouseholdMembership { household_id: h.clone(), relation: pb::HouseholdRelation::Head as i32 });
    let a_case = c.register_unemployment(reg).await.unwrap().into_inner().result.unwrap().case_id;
    c.recognise_difficulty(pb::RecogniseDifficultyRequest {
        context: ctx(),
        case_id: a_case.clone(),
        effective_date: days_ago(90),
        difficulty: Some(pb::Difficulty {
            categories: vec![pb::DifficultyCategory::ZeroEmploymentHousehold as i32],
            valid_from: days_ago(90),
            valid_to: days_ago(0),
        }),
    })
    .await
    .unwrap();

    // B registers 100 days ago without a household, is placed 80 days ago, joins 50 days ago.
    let b_id = resident_id("19720202", 12);
    let b_case = c
        .register_unemployment(register_request(&b_id, days_ago(100)))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .case_id;
    c.record_placement(pb::RecordPlacementRequest {
        context: ctx(),
        case_id: b_case.clone(),
        effective_date: days_ago(80),
        placement: Some(pb::Placement { kind: pb::PlacementKind::Flexible as i32, ..Default::default() }),
    })
    .await
    .unwrap();
    // The join over gRPC; GetCase shows the current household.
    let joined = c.join_household(join(&b_case, days_ago(50), &h, pb::HouseholdRelation::Spouse)).await.unwrap();
    assert!(!joined.into_inner().result.unwrap().duplicate);
    let case = c
        .get_case(pb::GetCaseRequest { case_id: b_case.clone(), as_of: None })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    let current = case.current_household.expect("B is a member");
    assert_eq!(current.membership.as_ref().unwrap().household_id, h);
    assert_eq!((current.joined_on.as_str(), current.left_on.as_str()), (days_ago(50).as_str(), ""));

    // The rules, with their codes.
    let err = c
        .join_household(join(&b_case, days_ago(40), &Uuid::new_v4().to_string(), pb::HouseholdRelation::Head))
        .await
        .unwrap_err();
    assert_eq!((err.code(), reason(&err).as_deref()), (Code::FailedPrecondition, Some("ALREADY_IN_HOUSEHOLD")));
    let err = c.leave_household(leave(&a_case, days_ago(40), &Uuid::new_v4().to_string())).await.unwrap_err();
    assert_eq!((err.code(), reason(&err).as_deref()), (Code::FailedPrecondition, Some("NOT_IN_HOUSEHOLD")));
    let err = c.leave_household(leave(&b_case, days_ago(51), &h)).await.unwrap_err();
    assert_eq!((err.code(), reason(&err).as_deref()), (Code::FailedPrecondition, Some("BEFORE_START")));
    // Bad input names the fields and writes nothing.
    let events_before = server.event_count();
    let mut bad = join(&b_case, days_ago(40), "not-a-uuid", pb::HouseholdRelation::Unspecified);
    bad.effective_date = "2026-02-30".into();
    let err = c.join_household(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields = bad_fields(&err);
    for field in ["membership.household_id", "membership.relation", "effective_date"] {
        assert!(fields.contains(&field.to_string()), "{field} in {fields:?}");
    }
    let err = c
        .leave_household(pb::LeaveHouseholdRequest { leave: None, ..leave(&b_case, days_ago(1), &h) })
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["leave".to_string()]);
    assert_eq!(server.event_count(), events_before);

    // B leaves 20 days ago.
    c.leave_household(leave(&b_case, days_ago(20), &h)).await.unwrap();
    let replay = c.replay_case(pb::ReplayCaseRequest { case_id: b_case.clone() }).await.unwrap().into_inner();
    let last = replay.events.last().unwrap();
    assert_eq!(last.metadata.as_ref().unwrap().event_type, "person.household_left");
    assert!(matches!(
        &last.event.as_ref().unwrap().event,
        Some(pb::person_event::Event::HouseholdLeft(l)) if l.household_id == h
    ));
    assert!(last.state_after.as_ref().unwrap().current_household.is_none());
    caught_up(&mut a, &h, last.metadata.as_ref().unwrap().global_position).await;

    // 60 days ago: A alone (B not yet joined); zero-employment since A's recognition.
    let before = a.get_household(get(&h, days_ago(60))).await.unwrap().into_inner();
    assert_eq!(before.members.len(), 1);
    assert_eq!((before.members[0].case_id.as_str(), before.members[0].relation.as_str()), (a_case.as_str(), "head"));
    assert!(before.zero_employment);
    assert_eq!(before.identified_on, days_ago(90));
    assert_eq!(before.zero_employment_since, days_ago(90));
    // 30 days ago: B (placed before joining) is a member: cleared from the join.
    let cleared = a.get_household(get(&h, days_ago(30))).await.unwrap().into_inner();
    assert!(!cleared.zero_employment);
    assert_eq!(cleared.cleared_on, days_ago(50));
    let b_then = cleared.members.iter().find(|m| m.case_id == b_case).unwrap();
    assert_eq!((b_then.member, b_then.employed, b_then.left_on.as_str()), (true, true, ""));
    // Today: B has left (still employed, no longer a member): zero-employment again since the leave.
    let now = a.get_household(get(&h, String::new())).await.unwrap().into_inner();
    assert!(now.zero_employment);
    assert_eq!((now.zero_employment_since.as_str(), now.cleared_on.as_str()), (days_ago(20).as_str(), ""));
    let b_now = now.members.iter().find(|m| m.case_id == b_case).unwrap();
    assert_eq!((b_now.member, b_now.employed, b_now.left_on.clone()), (false, true, days_ago(20)));
    // Pseudonymous only: no resident ID, no name.
    let shown = format!("{now:?}");
    assert!(!shown.contains(&a_id) && !shown.contains(&b_id) && !shown.contains("王小明"));
    // The action list agrees: outstanding 20 days.
    let list = a
        .list_actions(apb::ListActionsRequest {
            list: apb::ActionList::ZeroEmploymentHouseholds as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let row = list.items.iter().find(|i| i.household_id == h).expect("listed");
    assert_eq!((row.days, row.reference_date.as_str()), (20, days_ago(90).as_str()));

    // Bad input and an unknown household.
    let err = a.get_household(get("nope", "2026-13-01".into())).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&err), vec!["household_id".to_string(), "as_of".to_string()]);
    let err = a.get_household(get(&Uuid::new_v4().to_string(), String::new())).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = a.get_household(get(&h, days_ago(101))).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "nobody had joined 101 days ago");
}
