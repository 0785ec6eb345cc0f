//! Zero-employment households: a person counts only while a member.

use super::*;

// === households: membership periods (a person counts only while a member) ===

fn zeh(rm: &ReadModel, j: &str, on: &str) -> Vec<leye_projections::read_model::HouseholdRow> {
    rm.zero_employment_households(&Jurisdiction::parse(j).unwrap(), d(on), &TargetParams::default()).unwrap()
}

fn household(rm: &ReadModel, h: Uuid, on: &str) -> leye_projections::read_model::HouseholdView {
    rm.household(&h.to_string(), d(on)).unwrap().unwrap_or_else(|| panic!("household {h} unknown on {on}"))
}

fn recognised_zero_employment(on: &str) -> PersonFact {
    PersonFact::DifficultyRecognised(Difficulty {
        categories: [DifficultyCategory::ZeroEmploymentHousehold].into_iter().collect(),
        valid: DateRange::new(d(on), d("2027-12-31")).unwrap(),
    })
}

fn joins(h: Uuid) -> PersonFact {
    PersonFact::HouseholdJoined(HouseholdMembership { household_id: h, relation: HouseholdRelation::Spouse })
}

fn leaves(h: Uuid) -> PersonFact {
    PersonFact::HouseholdLeft(HouseholdLeave { household_id: h })
}

#[test]
fn a_member_who_leaves_no_longer_clears_nor_makes_the_household() {
    // Household H: A, B and C register on 2026-02-01 naming H (members from that day).
    // A is recognised "zero-employment household" on 03-01: H identified on 03-01.
    // B is placed on 04-10: H cleared on 04-10.
    // B leaves H on 05-01 (still employed, no longer a member): zero-employment again from 05-01.
    // A leaves H on 06-01: the only member with a signal is gone; C alone has none: H is no
    // longer identified (not outstanding, not cleared either).
    let h = Uuid::from_u128(11);
    let (mut a, mut b, mut c) = (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_B));
    for p in [&mut a, &mut b, &mut c] {
        p.household = Some(h);
    }
    let mut w = World::default();
    w.register(&a, "2026-02-01").register(&b, "2026-02-01").register(&c, "2026-02-01");
    w.record(&a, "2026-03-01", recognised_zero_employment("2026-03-01"));
    w.place(&b, "2026-04-10", PlacementKind::Enterprise);
    w.record(&b, "2026-05-01", leaves(h));
    w.record(&a, "2026-06-01", leaves(h));
    let (_dir, rm) = w.project();

    assert!(rm.household(&h.to_string(), d("2026-01-31")).unwrap().is_none(), "nobody had joined yet");
    // 04-09: outstanding since 03-01, 39 days (> 30: overdue).
    let on = zeh(&rm, "", "2026-04-09");
    assert_eq!(on.len(), 1);
    assert_eq!(
        (on[0].identified_on, on[0].since, on[0].days_outstanding, on[0].overdue),
        (d("2026-03-01"), d("2026-03-01"), 39, true)
    );
    assert_eq!(on[0].communities, vec![XQ_A.to_string(), XQ_B.to_string()]);
    // 04-10: cleared by B's placement.
    assert!(zeh(&rm, "", "2026-04-10").is_empty());
    let v = household(&rm, h, "2026-04-30");
    assert_eq!((v.status.zero_employment, v.status.cleared_on, v.status.since), (false, Some(d("2026-04-10")), None));
    assert_eq!(v.members.iter().filter(|m| m.employed_on_as_of).count(), 1);
    assert!(v.members.iter().all(|m| m.left_on.is_none()), "B's leave on 05-01 is not known on 04-30");
    // 05-01: B has left; H is zero-employment again from 05-01: 0 days, then 30 days on 05-31 (not overdue).
    let again = zeh(&rm, "120111", "2026-05-01");
    assert_eq!(
        (again[0].identified_on, again[0].since, again[0].days_outstanding),
        (d("2026-03-01"), d("2026-05-01"), 0)
    );
    let may31 = zeh(&rm, "120111", "2026-05-31");
    assert_eq!((may31[0].days_outstanding, may31[0].overdue), (30, false));
    assert_eq!(zeh(&rm, "120111", "2026-06-01").len(), 0, "A left on 06-01: no member signals any more");
    let v = household(&rm, h, "2026-05-15");
    let b_row = v.members.iter().find(|m| m.case_id == b.case()).unwrap();
    assert_eq!((b_row.left_on, b_row.member_on_as_of, b_row.employed_on_as_of), (Some(d("2026-05-01")), false, true));
    let v = household(&rm, h, "2026-06-01");
    assert_eq!((v.status.identified_on, v.status.zero_employment, v.status.cleared_on), (None, false, None));
    assert_eq!(v.members.iter().filter(|m| m.member_on_as_of).count(), 1, "only C");
    // The target counts it on 05-31 in Xiqing (A and C live there), not in Heping.
    let r = report(&rm, "120111", "2026-05-01", "2026-05-31", "2026-05-31");
    assert_eq!(target(&r, "zero_employment_households_outstanding"), (1, None));
    assert!(zeh(&rm, "120101", "2026-05-31").is_empty());
}

#[test]
fn a_member_exited_as_employed_clears_the_household_until_registering_again() {
    // TARGETS.md "Households": a member whose spell was closed by an exit with reason
    // employed is employed from the exit until their next registration.
    // Household H: F registers on 2026-02-01 naming H and listing the group
    // "zero-employment household": identified on 02-01.
    // F's registration is exited as employed on 03-01: cleared on 03-01 (not known on 02-28).
    // F registers again on 05-01 (naming H): unemployed, zero-employment again from 05-01.
    let h = Uuid::from_u128(13);
    let mut f = Person::new(6, XQ_A);
    f.household = Some(h);
    f.groups = vec![PersonGroup::ZeroEmploymentHousehold];
    let mut w = World::default();
    w.register(&f, "2026-02-01").exit(&f, "2026-03-01", ExitReason::Employed);
    w.register(&f, "2026-05-01");
    let (_dir, rm) = w.project();

    let feb = zeh(&rm, "", "2026-02-28");
    assert_eq!((feb.len(), feb[0].since, feb[0].days_outstanding), (1, d("2026-02-01"), 27));
    assert!(!household(&rm, h, "2026-02-28").members[0].employed_on_as_of, "the exit is dated after 02-28");
    assert!(zeh(&rm, "", "2026-03-01").is_empty());
    let v = household(&rm, h, "2026-04-30");
    assert_eq!((v.status.zero_employment, v.status.cleared_on), (false, Some(d("2026-03-01"))));
    assert!(v.members[0].employed_on_as_of);
    let r = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-04-30");
    assert_eq!(target(&r, "zero_employment_households_outstanding"), (0, None));
    // Registered as unemployed again on 05-01: the household falls back, since 05-01.
    let may = zeh(&rm, "120111", "2026-05-10");
    assert_eq!(
        (may.len(), may[0].identified_on, may[0].since, may[0].days_outstanding),
        (1, d("2026-02-01"), d("2026-05-01"), 9)
    );
    let v = household(&rm, h, "2026-05-10");
    assert_eq!(
        (v.status.zero_employment, v.status.since, v.members[0].employed_on_as_of),
        (true, Some(d("2026-05-01")), false)
    );
}

#[test]
fn a_member_who_joins_after_being_placed_clears_from_the_join_and_the_household_can_fall_back() {
    // Household H: D registers on 2026-01-10 naming H and listing the group "zero-employment
    // household": identified on 01-10.
    // E registers on 01-10 (no household), is placed on 02-01, joins H on 03-01: H is cleared
    // on 03-01, not on 02-01 (E was not a member then).
    // E's placement ends on 05-01: zero-employment again from 05-01.
    // D is placed on 05-20: cleared again on 05-20.
    let h = Uuid::from_u128(12);
    let mut dd = Person::new(4, XQ_A);
    dd.household = Some(h);
    dd.groups = vec![PersonGroup::ZeroEmploymentHousehold];
    let e = Person::new(5, HP);
    let mut w = World::default();
    w.register(&dd, "2026-01-10").register(&e, "2026-01-10");
    w.place(&e, "2026-02-01", PlacementKind::Flexible);
    w.record(&e, "2026-03-01", joins(h));
    w.end_placement(&e, "2026-05-01");
    w.place(&dd, "2026-05-20", PlacementKind::PublicWelfarePost);
    let (_dir, rm) = w.project();

    let feb = zeh(&rm, "", "2026-02-28");
    assert_eq!((feb[0].since, feb[0].days_outstanding, feb[0].overdue), (d("2026-01-10"), 49, true));
    assert_eq!(feb[0].communities, vec![XQ_A.to_string()], "E is not a member yet");
    assert!(zeh(&rm, "", "2026-03-01").is_empty());
    let v = household(&rm, h, "2026-03-01");
    assert_eq!((v.status.identified_on, v.status.cleared_on), (Some(d("2026-01-10")), Some(d("2026-03-01"))));
    // Now E's Heping community counts: the household is outstanding in Heping on 05-01.
    let may = zeh(&rm, "120101", "2026-05-01");
    assert_eq!((may[0].since, may[0].days_outstanding), (d("2026-05-01"), 0));
    assert_eq!(may[0].communities, vec![HP.to_string(), XQ_A.to_string()]);
    let v = household(&rm, h, "2026-05-19");
    assert_eq!((v.status.zero_employment, v.status.since), (true, Some(d("2026-05-01"))));
    assert!(v.members.iter().all(|m| !m.employed_on_as_of));
    let v = household(&rm, h, "2026-05-20");
    assert_eq!((v.status.zero_employment, v.status.cleared_on), (false, Some(d("2026-05-20"))));
}

#[test]
fn a_signal_from_before_joining_does_not_identify_the_new_household() {
    // G registers on 2026-01-05 naming household H1 and listing the zero-employment group;
    // leaves H1 and joins H2 on 02-01. On 03-01: H2 is not identified (G's signal dates from
    // H1); H1 has no member any more and belongs to no jurisdiction.
    let (h1, h2) = (Uuid::from_u128(21), Uuid::from_u128(22));
    let mut g = Person::new(6, XQ_A);
    g.household = Some(h1);
    g.groups = vec![PersonGroup::ZeroEmploymentHousehold];
    let mut w = World::default();
    w.register(&g, "2026-01-05");
    w.record(&g, "2026-02-01", leaves(h1)).record(&g, "2026-02-01", joins(h2));
    let (_dir, rm) = w.project();
    assert_eq!(zeh(&rm, "", "2026-01-31").len(), 1, "H1 outstanding while G is in it");
    assert!(zeh(&rm, "", "2026-03-01").is_empty());
    assert_eq!(household(&rm, h2, "2026-03-01").status.identified_on, None);
    let v1 = household(&rm, h1, "2026-03-01");
    assert_eq!((v1.members.len(), v1.members[0].left_on), (1, Some(d("2026-02-01"))));
    // A recognition while in H2 identifies H2 from its date.
    w.record(&g, "2026-03-10", recognised_zero_employment("2026-03-10"));
    let (_dir2, rm) = w.project();
    let v2 = household(&rm, h2, "2026-03-10");
    assert_eq!((v2.status.identified_on, v2.status.since), (Some(d("2026-03-10")), Some(d("2026-03-10"))));
}
