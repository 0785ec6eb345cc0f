//! Households (家庭): joining, leaving, and what a registration naming one does.

use super::*;

fn household(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

fn membership(n: u128, relation: HouseholdRelation) -> HouseholdMembership {
    HouseholdMembership { household_id: household(n), relation }
}

fn registered_in(on: &str, n: u128) -> (&str, PersonFact) {
    let mut reg = registration(man());
    reg.household = Some(membership(n, HouseholdRelation::Head));
    (on, PersonFact::Registered(reg))
}

#[test]
fn a_registration_naming_a_household_joins_it_on_the_registration_date() {
    let g = given(&[registered_in("2026-01-05", 1)]);
    let file = g.0.file().unwrap();
    assert_eq!(
        file.households,
        vec![HouseholdPeriod {
            membership: membership(1, HouseholdRelation::Head),
            joined_on: d("2026-01-05"),
            left_on: None
        }]
    );
    // Re-registering in the same household continues the membership.
    let again = given(&[
        registered_in("2026-01-05", 1),
        ("2026-02-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::Other })),
        registered_in("2026-03-01", 1),
    ]);
    assert_eq!(again.0.file().unwrap().households.len(), 1);
    assert_eq!(again.0.file().unwrap().current_household().unwrap().joined_on, d("2026-01-05"));
}

#[test]
fn joining_needs_a_case_not_an_open_registration() {
    let join = || PersonCommand::JoinHousehold(membership(1, HouseholdRelation::Spouse));
    then_rejected(given(&[]).when("2026-01-05", join()), RejectionCode::CaseNotFound);
    let exited = given(&[
        registered("2026-01-05"),
        ("2026-02-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::Other })),
    ]);
    then_fact(
        exited.when("2026-03-01", join()),
        "2026-03-01",
        PersonFact::HouseholdJoined(membership(1, HouseholdRelation::Spouse)),
    );
    then_rejected(exited.when("2026-01-04", join()), RejectionCode::BeforeRegistration);
}

#[test]
fn joining_while_a_member_of_a_household_is_refused() {
    let g = given(&[registered_in("2026-01-05", 1)]);
    then_rejected(
        g.when("2026-02-01", PersonCommand::JoinHousehold(membership(2, HouseholdRelation::Spouse))),
        RejectionCode::AlreadyInHousehold,
    );
    // Also the same household again: the person is already in it.
    then_rejected(
        g.when("2026-02-01", PersonCommand::JoinHousehold(membership(1, HouseholdRelation::Head))),
        RejectionCode::AlreadyInHousehold,
    );
    // A re-registration naming another household is refused the same way.
    let exited = given(&[
        registered_in("2026-01-05", 1),
        ("2026-02-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::Other })),
    ]);
    let mut reg = registration(man());
    reg.household = Some(membership(2, HouseholdRelation::Head));
    then_rejected(
        exited.when("2026-03-01", PersonCommand::RegisterUnemployment(reg)),
        RejectionCode::AlreadyInHousehold,
    );
}

#[test]
fn leaving_a_household_the_person_is_not_in_is_refused() {
    let leave = |n| PersonCommand::LeaveHousehold(HouseholdLeave { household_id: household(n) });
    then_rejected(given(&[registered("2026-01-05")]).when("2026-02-01", leave(1)), RejectionCode::NotInHousehold);
    let member = given(&[registered_in("2026-01-05", 1)]);
    then_rejected(member.when("2026-02-01", leave(2)), RejectionCode::NotInHousehold);
    then_fact(
        member.when("2026-02-01", leave(1)),
        "2026-02-01",
        PersonFact::HouseholdLeft(HouseholdLeave { household_id: household(1) }),
    );
    let left = given(&[
        registered_in("2026-01-05", 1),
        ("2026-02-01", PersonFact::HouseholdLeft(HouseholdLeave { household_id: household(1) })),
    ]);
    then_rejected(left.when("2026-03-01", leave(1)), RejectionCode::NotInHousehold);
    assert!(left.0.file().unwrap().current_household().is_none());
    assert_eq!(left.0.file().unwrap().households[0].left_on, Some(d("2026-02-01")));
}

#[test]
fn membership_dates_leave_not_before_join_join_not_before_previous_leave() {
    let g = given(&[
        registered("2026-01-05"),
        ("2026-02-01", PersonFact::HouseholdJoined(membership(1, HouseholdRelation::Child))),
    ]);
    let leave = PersonCommand::LeaveHousehold(HouseholdLeave { household_id: household(1) });
    then_rejected(g.when("2026-01-31", leave.clone()), RejectionCode::BeforeStart);
    // Joining and leaving on the same day is a membership of no day at all, but allowed.
    assert!(g.when("2026-02-01", leave.clone()).is_ok());
    let left = given(&[
        registered("2026-01-05"),
        ("2026-02-01", PersonFact::HouseholdJoined(membership(1, HouseholdRelation::Child))),
        ("2026-04-01", PersonFact::HouseholdLeft(HouseholdLeave { household_id: household(1) })),
    ]);
    let join2 = || PersonCommand::JoinHousehold(membership(2, HouseholdRelation::Spouse));
    then_rejected(left.when("2026-03-31", join2()), RejectionCode::BeforePreviousEnd);
    then_fact(
        left.when("2026-04-01", join2()),
        "2026-04-01",
        PersonFact::HouseholdJoined(membership(2, HouseholdRelation::Spouse)),
    );
    // A membership outlives a spell: a leave between two registrations, after
    // the join, is recorded (the proto bounds it by the join only).
    let reregistered = given(&[
        registered_in("2025-01-05", 1),
        ("2025-03-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::Other })),
        registered("2025-06-01"),
    ]);
    then_fact(
        reregistered.when("2025-04-01", leave),
        "2025-04-01",
        PersonFact::HouseholdLeft(HouseholdLeave { household_id: household(1) }),
    );
    // A registration naming a household, dated before the previous membership ended, is refused.
    let mut reg = registration(man());
    reg.household = Some(membership(2, HouseholdRelation::Head));
    let exited_after_leaving = given(&[
        registered_in("2025-01-05", 1),
        ("2025-03-01", PersonFact::RegistrationExited(RegistrationExit { reason: ExitReason::Other })),
        ("2025-05-01", PersonFact::HouseholdLeft(HouseholdLeave { household_id: household(1) })),
    ]);
    then_rejected(
        exited_after_leaving.when("2025-04-01", PersonCommand::RegisterUnemployment(reg.clone())),
        RejectionCode::BeforePreviousEnd,
    );
    let joined = exited_after_leaving.when("2025-05-01", PersonCommand::RegisterUnemployment(reg)).unwrap();
    let mut folded = exited_after_leaving.0.clone();
    folded.apply(&joined[0]);
    let file = folded.file().unwrap();
    assert_eq!(file.households.len(), 2);
    assert_eq!(file.current_household().unwrap().membership.household_id, household(2));
    assert_eq!(file.current_household().unwrap().joined_on, d("2025-05-01"));
}

#[test]
fn household_events_round_trip_through_their_stored_form() {
    for (event_type, fact) in [
        ("person.household_joined", PersonFact::HouseholdJoined(membership(3, HouseholdRelation::Parent))),
        ("person.household_left", PersonFact::HouseholdLeft(HouseholdLeave { household_id: household(3) })),
    ] {
        let e = PersonEvent { effective_date: d("2026-02-01"), fact };
        assert_eq!(e.fact.event_type(), event_type);
        assert_eq!(PersonEvent::decode(event_type, SCHEMA_VERSION, &e.encode()).unwrap(), e);
    }
}
