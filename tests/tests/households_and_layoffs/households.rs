//! Zero-employment households: the signal, identification, clearing and
//! reopening, moves between households, the household commands' refusals.

use super::*;

/// TARGETS.md "Households": cleared (动态清零) while a member is placed; "when
/// every employed member stops working ... the household is zero-employment
/// again from that day (and must be cleared again); the clearance deadline
/// counts from `since`"; "Days outstanding = A − since; overdue after
/// zero_employment_clearance_days" (30: "a household uncleared longer is
/// overdue").
///
/// By hand: A registers 100 days ago naming H, in the group
/// zero-employment household (signal, identified −100); placed −70; the
/// placement ends −31.
/// - as of −71: zero since −100; as of −50: cleared on −70;
/// - today: zero since −31, 31 days: overdue; as of −1: 30 days, within.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_ending_reopens_the_household_and_the_deadline_counts_from_then() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (case, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h), true).await;
    place(&mut c, &case, 70).await;
    let pos = end_placement(&mut c, &case, 31).await;

    assert_eq!(status(&household(&mut a, &h, days_ago(71), pos).await), zero(100, 100));
    assert_eq!(status(&household(&mut a, &h, days_ago(50), pos).await), cleared(100, 70));
    // The change days themselves: a start counts on its day, an end from its day.
    assert_eq!(status(&household(&mut a, &h, days_ago(70), pos).await), cleared(100, 70));
    assert_eq!(status(&household(&mut a, &h, days_ago(32), pos).await), cleared(100, 70));
    assert_eq!(status(&household(&mut a, &h, days_ago(31), pos).await), zero(100, 31));
    assert_eq!(status(&household(&mut a, &h, days_ago(0), pos).await), zero(100, 31));
    assert_eq!(listed(&mut a, &h, days_ago(50), pos).await, None, "cleared on −50");
    assert_eq!(listed(&mut a, &h, days_ago(0), pos).await, Some((31, "overdue".into(), days_ago(100))));
    assert_eq!(listed(&mut a, &h, days_ago(1), pos).await, Some((30, "within_deadline".into(), days_ago(100))));
    server.stop().await;
}

/// TARGETS.md "Employed member": "a spell closed by an exit with reason
/// `employed` ... is employment from the exit's date (inclusive) until the
/// member's next registration as unemployed (exclusive)"; an exit for another
/// reason (moved away, retired, ...) is not employment.
///
/// By hand: B registers −100 naming H1 in the group (identified −100), exits
/// as employed −60, registers again −20 naming H1 (the membership continues,
/// README "Household membership"). C registers −100 naming H2 in the group,
/// exits "moved away" −60.
/// - H1 as of −40: cleared on −60; today: zero since −20 (identified −100);
/// - H2 today: zero since −100.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_as_employed_clears_until_the_next_registration_and_other_exits_do_not() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let b_id = resident_id("19800101", 11);
    let (b, _) = register_in(&mut c, &b_id, 100, Some(&h1), true).await;
    exit(&mut c, &b, 60, pb::ExitReason::Employed).await;
    reregister(&mut c, &b_id, 20, &h1).await;
    let (cc, _) = register_in(&mut c, &resident_id("19800202", 22), 100, Some(&h2), true).await;
    let pos = exit(&mut c, &cc, 60, pb::ExitReason::MovedAway).await;

    let case = c.get_case(pb::GetCaseRequest { case_id: b.clone(), as_of: None }).await.unwrap().into_inner();
    let current = case.case.unwrap().current_household.expect("still a member");
    assert_eq!(current.joined_on, days_ago(100), "the re-registration continues the membership");

    assert_eq!(status(&household(&mut a, &h1, days_ago(40), pos).await), cleared(100, 60));
    assert_eq!(status(&household(&mut a, &h1, days_ago(0), pos).await), zero(100, 20));
    assert_eq!(listed(&mut a, &h1, days_ago(0), pos).await, Some((20, "within_deadline".into(), days_ago(100))));
    assert_eq!(status(&household(&mut a, &h2, days_ago(0), pos).await), zero(100, 100));
    server.stop().await;
}

/// TARGETS.md "Identified on A": "A member who has left no longer identifies
/// H; a signal from before joining (from another household) does not identify
/// the new one."
///
/// By hand: P registers −100 naming H1, recognised −90 (identified −90). Q
/// registers −100 naming H2 (no signal). P leaves H1 −40 and joins H2 −40;
/// P is recognised again −20.
/// - H1 as of −50: zero since −90; today: not listed (its member with the
///   signal left);
/// - H2 as of −30: not identified (P's −90 signal predates joining);
///   today: identified −20, zero since −20.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_moving_between_households_takes_no_signal_along() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, Some(&h1), false).await;
    recognise(&mut c, &p, 90).await;
    let (q, _) = register_in(&mut c, &resident_id("19820303", 22), 100, Some(&h2), false).await;
    leave(&mut c, &p, 40, &h1).await;
    let pos = join(&mut c, &p, 40, &h2).await;

    assert_eq!(status(&household(&mut a, &h1, days_ago(50), pos).await), zero(90, 90));
    // README "Access": "a household is reached through the places of its
    // members on the date asked": with P gone, H1 has none today, so even a
    // city-wide analyst is refused (documented; see the report).
    let e = a
        .get_household(apb::GetHouseholdRequest { household_id: h1.clone(), as_of: days_ago(0), min_position: pos })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert_eq!(listed(&mut a, &h1, days_ago(0), pos).await, None);

    let h2_then = household(&mut a, &h2, days_ago(30), pos).await;
    assert_eq!(status(&h2_then), not_identified());
    let members: Vec<_> = h2_then.members.iter().map(|m| (m.case_id.clone(), m.joined_on.clone())).collect();
    assert_eq!(members, [(q.clone(), days_ago(100)), (p.clone(), days_ago(40))]);

    let pos = recognise(&mut c, &p, 20).await;
    assert_eq!(status(&household(&mut a, &h2, days_ago(0), pos).await), zero(20, 20));
    assert_eq!(listed(&mut a, &h2, days_ago(0), pos).await, Some((20, "within_deadline".into(), days_ago(20))));
    server.stop().await;
}

/// TARGETS.md: "A person employed before joining is an employed member from
/// the join"; "Cleared on: the first day of the current stretch with an
/// employed member, on or after identified_on".
///
/// By hand: S registers −120 (no household), placed −110. A registers −100
/// naming H in the group (identified −100). S joins H −100: cleared on −100
/// from the first day; never on the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_household_with_an_employed_member_from_the_start_is_cleared_from_identification() {
    let server = spawn().await;
    let mut c = server.client().await;
    let mut a = server.targets_client().await;
    let h = Uuid::new_v4().to_string();
    let (s, _) = register_in(&mut c, &resident_id("19800101", 11), 120, None, false).await;
    place(&mut c, &s, 110).await;
    register_in(&mut c, &resident_id("19820303", 22), 100, Some(&h), true).await;
    let pos = join(&mut c, &s, 100, &h).await;
    assert_eq!(status(&household(&mut a, &h, days_ago(0), pos).await), cleared(100, 100));
    assert_eq!(listed(&mut a, &h, days_ago(0), pos).await, None);
    let err = a
        .get_household(apb::GetHouseholdRequest { household_id: h.clone(), as_of: days_ago(101), min_position: pos })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "nobody had joined by −101");
    server.stop().await;
}

/// docs/API.md person codes: `ALREADY_IN_HOUSEHOLD`, `NOT_IN_HOUSEHOLD`, "A
/// household join dated before the previous household was left is
/// BEFORE_PREVIOUS_END; a leave dated before the join, BEFORE_START";
/// dates before the registration (`BEFORE_REGISTRATION`) or in the future
/// (`EFFECTIVE_DATE_IN_FUTURE`). Refused commands write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn household_commands_are_refused_as_documented() {
    let server = spawn().await;
    let mut c = server.client().await;
    let (h1, h2) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    let (p, _) = register_in(&mut c, &resident_id("19800101", 11), 100, None, false).await;
    let before = server.event_count();
    let code = |e: tonic::Status| (e.code(), reason(&e));
    let fp = |r: &str| (Code::FailedPrecondition, Some(r.to_string()));

    let e = c.join_household(join_req(&p, days_ago(101), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("BEFORE_REGISTRATION"));
    let e = c.join_household(join_req(&p, days_ago(-1), &h1)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("EFFECTIVE_DATE_IN_FUTURE"));
    let e = c.leave_household(leave_req(&p, days_ago(50), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("NOT_IN_HOUSEHOLD"));
    let e = c.join_household(join_req(&Uuid::new_v4().to_string(), days_ago(5), &h1)).await.unwrap_err();
    assert_eq!((e.code(), reason(&e).as_deref()), (Code::NotFound, Some("CASE_NOT_FOUND")));
    assert_eq!(server.event_count(), before);

    join(&mut c, &p, 90, &h1).await;
    let e = c.join_household(join_req(&p, days_ago(80), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("ALREADY_IN_HOUSEHOLD"), "joining the same household twice");
    let e = c.join_household(join_req(&p, days_ago(80), &h2)).await.unwrap_err();
    assert_eq!(code(e), fp("ALREADY_IN_HOUSEHOLD"));
    let e = c.leave_household(leave_req(&p, days_ago(80), &h2)).await.unwrap_err();
    assert_eq!(code(e), fp("NOT_IN_HOUSEHOLD"), "leaving a household not joined");
    let e = c.leave_household(leave_req(&p, days_ago(91), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("BEFORE_START"));
    let e = c.leave_household(leave_req(&p, days_ago(-1), &h1)).await.unwrap_err();
    assert_eq!(reason(&e).as_deref(), Some("EFFECTIVE_DATE_IN_FUTURE"));
    leave(&mut c, &p, 40, &h1).await;
    let e = c.join_household(join_req(&p, days_ago(41), &h2)).await.unwrap_err();
    assert_eq!(code(e), fp("BEFORE_PREVIOUS_END"));
    let e = c.leave_household(leave_req(&p, days_ago(30), &h1)).await.unwrap_err();
    assert_eq!(code(e), fp("NOT_IN_HOUSEHOLD"), "left already");
    join(&mut c, &p, 40, &h2).await;
    server.stop().await;
}
