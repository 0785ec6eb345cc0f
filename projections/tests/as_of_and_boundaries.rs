//! The targets against `projections/TARGETS.md` and domain.md §3 at their
//! edges: facts dated after the as-of date, persons moving community, the
//! first and last day of a period, persons counted once, goals only where
//! and when a document sets them. Small hand-computed scenarios; every
//! expected number is worked out in the comment above it from the written
//! definition it cites.

use leye_domain::{enterprise::WelfarePostKind, person::*};
use leye_projections::{Jurisdiction, ReadModel, TargetParams};
use uuid::Uuid;

mod support;
use support::{d, world::*};

// === difficulty persons (001 § 9) ===

#[test]
fn difficulty_a_placement_ended_on_the_first_day_of_the_period_is_not_current_in_it() {
    // TARGETS.md `difficulty_employment_rate`: employed = "a placement current on some
    // day of [F, E]"; "a placement ended on d is over on d" (stock dates: ends exclusive;
    // also facts::Placement::current_on). Period 2026-01-01..2026-03-31, A = 2026-03-31.
    // P1 (Xiqing) recognised 4050 on 2025-10-01, valid 2025-10-01..2026-12-31; placed
    // 2025-10-10, placement ended 2026-01-01 (= F): on F it is over, so it is current on no
    // day of [F, E]. Expected 0 / 1.
    let mut w = World::default();
    w.register(1, XQ_A, "2025-09-01");
    w.recognise(1, XQ_A, "2025-10-01", &[DifficultyCategory::Age4050], "2025-10-01", "2026-12-31");
    w.place(1, XQ_A, "2025-10-10", PlacementKind::Enterprise).end_placement(1, XQ_A, "2026-01-01");
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2026-01-01", "2026-03-31", "2026-03-31");
    assert_eq!(nd(&r, "difficulty_employment_rate"), (0, Some(1)), "placement ended on F is not current on F");
    // Control: ended on 2026-01-02 it was current on 2026-01-01: 1 / 1 (passes today).
}

#[test]
fn difficulty_a_recognition_in_zero_employment_and_another_category_counts_for_the_other() {
    // TARGETS.md: "persons recognised with employment difficulty in a category other than
    // zero-employment household". domain.md §3 "recognised difficulty persons (not
    // zero-employment households)".
    // P1 recognised {zero-employment household, 4050}: recognised in 4050, a category other
    // than zero-employment household → in the denominator; not placed.
    // P2 recognised {zero-employment household} only → not in it.
    // P3 recognised {4050}, placed 2026-02-01 → in both.
    // Period 2026-01-01..2026-06-30, A = 06-30: expected 1 / 2.
    let mut w = World::default();
    for s in 1..=3 {
        w.register(s, XQ_A, "2025-12-01");
    }
    let (zeh, c4050) = (DifficultyCategory::ZeroEmploymentHousehold, DifficultyCategory::Age4050);
    w.recognise(1, XQ_A, "2026-01-05", &[zeh, c4050], "2026-01-05", "2026-12-31");
    w.recognise(2, XQ_A, "2026-01-05", &[zeh], "2026-01-05", "2026-12-31");
    w.recognise(3, XQ_A, "2026-01-05", &[c4050], "2026-01-05", "2026-12-31");
    w.place(3, XQ_A, "2026-02-01", PlacementKind::Enterprise);
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2026-01-01", "2026-06-30", "2026-06-30");
    assert_eq!(nd(&r, "difficulty_employment_rate"), (1, Some(2)));
}

#[test]
fn difficulty_validity_and_placement_boundaries() {
    // Period 2026-01-01..2026-06-30.
    // P1: valid 2025-01-01..2025-12-31 (ends the day before F): not valid in [F, E] → out.
    // P2: recognised 2026-06-30, valid 2026-06-30..2027-06-29, placed 2026-06-30 → in both.
    // P3: valid 2026-01-01..2026-12-31, placed 2026-07-01 (after T) → denominator only.
    // P4: valid 2026-01-01..2026-12-31, placed 2025-06-01, still working → current in [F, E]: both.
    // A = 06-30: 2 / 3. A = 06-29 (E = 06-29): P2 not yet recognised → P3, P4: 1 / 2.
    let mut w = World::default();
    for s in 1..=4 {
        w.register(s, XQ_B, "2024-12-01");
    }
    let c = [DifficultyCategory::OlderWorker];
    w.recognise(1, XQ_B, "2025-01-01", &c, "2025-01-01", "2025-12-31");
    w.recognise(2, XQ_B, "2026-06-30", &c, "2026-06-30", "2027-06-29");
    w.place(2, XQ_B, "2026-06-30", PlacementKind::Flexible);
    w.recognise(3, XQ_B, "2026-01-01", &c, "2026-01-01", "2026-12-31");
    w.place(3, XQ_B, "2026-07-01", PlacementKind::Flexible);
    w.place(4, XQ_B, "2025-06-01", PlacementKind::Flexible);
    w.recognise(4, XQ_B, "2026-01-01", &c, "2026-01-01", "2026-12-31");
    let (_dir, rm) = w.project();
    assert_eq!(
        nd(&report(&rm, "120111", "2026-01-01", "2026-06-30", "2026-06-30"), "difficulty_employment_rate"),
        (2, Some(3))
    );
    assert_eq!(
        nd(&report(&rm, "120111", "2026-01-01", "2026-06-30", "2026-06-29"), "difficulty_employment_rate"),
        (1, Some(2))
    );
}

// === as-of and persons moving community ===

#[test]
fn a_registration_dated_after_the_as_of_date_does_not_move_the_person_on_it() {
    // TARGETS.md: "Only facts effective on or before A count"; "a person [belongs] to the
    // community of their latest registration". On A = 2026-01-31 the latest registration of
    // P1 and P3 is the Xiqing one of 2026-01-05: their Heping registrations of 2026-05-01
    // have not happened yet.
    // P1: registered XQ_A 2026-01-05 naming household H and listing the group
    //     zero-employment household (H identified 01-05), contacted 2026-01-05, exited
    //     (moved away) 2026-02-15, registered in Heping 2026-05-01.
    // P2: registered XQ_A 2026-01-05, contacted 2026-01-05, still open.
    // P3: registered XQ_A 2026-01-05, recognised 4050 on 01-05 (valid to 2026-12-31), no
    //     contact, exited 02-15, registered in Heping 2026-05-01.
    // Xiqing, period 2026-01-01..2026-01-31, A = 2026-01-31:
    //   matchmaker_same_day_contact_rate = 2/3 (P1, P2 contacted on their registration day);
    //   monthly_followup_rate = 2/3 (January: P1, P2 with a contact, P3 without);
    //   difficulty_employment_rate = 0/1 (P3, lived in Xiqing on A);
    //   zero_employment_households_outstanding = 1 (H, its member P1 lived in Xiqing on A);
    //   community XQ_A on A: 0 employed, 3 unemployed.
    // The city on A: no community of Heping (nobody had registered there).
    let h = Uuid::from_u128(0xabc);
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2026-01-05", &[PersonGroup::ZeroEmploymentHousehold], Some(h));
    w.contact(1, XQ_A, "2026-01-05").exit(1, XQ_A, "2026-02-15", ExitReason::MovedAway);
    w.register(2, XQ_A, "2026-01-05").contact(2, XQ_A, "2026-01-05");
    w.register(3, XQ_A, "2026-01-05");
    w.recognise(3, XQ_A, "2026-01-05", &[DifficultyCategory::Age4050], "2026-01-05", "2026-12-31");
    w.exit(3, XQ_A, "2026-02-15", ExitReason::MovedAway);
    let figures = |rm: &ReadModel| {
        let r = report(rm, "120111", "2026-01-01", "2026-01-31", "2026-01-31");
        let xq: Vec<(String, i64, i64)> = rm
            .communities(&j("120111"), d("2026-01-31"))
            .unwrap()
            .into_iter()
            .map(|c| (c.community, c.employed, c.unemployed))
            .collect();
        let city_has_hp =
            rm.communities(&Jurisdiction::city(), d("2026-01-31")).unwrap().iter().any(|c| c.community == HP);
        (
            nd(&r, "matchmaker_same_day_contact_rate"),
            nd(&r, "monthly_followup_rate"),
            nd(&r, "difficulty_employment_rate"),
            nd(&r, "zero_employment_households_outstanding"),
            xq,
            city_has_hp,
        )
    };
    let want = ((2, Some(3)), (2, Some(3)), (0, Some(1)), (1, None), vec![(XQ_A.to_string(), 0, 3)], false);
    // Before the Heping registrations are recorded, the figures as of 2026-01-31 are these:
    assert_eq!(figures(&w.project().1), want, "before the later facts are recorded");
    // ... and recording facts dated 2026-05-01 must not change them.
    w.register(1, HP, "2026-05-01").register(3, HP, "2026-05-01");
    assert_eq!(figures(&w.project().1), want, "after facts dated 2026-05-01 are recorded");
}

#[test]
fn contacts_made_while_the_person_lived_in_j_count_after_they_move() {
    // TARGETS.md `graduate_service_rate`: served = "a contact, recommendation or training
    // enrolment dated from that spell's registration to E" (no condition on where the person
    // lives later); `matchmaker_same_day_contact_rate`: "registrations dated in [F, E] with a
    // contact dated the registration day"; `monthly_followup_rate`: "person-months with at
    // least one contact dated in the month".
    // G: graduate unemployed after school, registered XQ_A 2026-01-05, contacted that day by
    // Xiqing, exited (moved away) 2026-02-15, registered in Heping 2026-05-01.
    // Xiqing, period 2026-01-01..2026-06-30, A = 06-30 (the Xiqing spell is G's only spell in J):
    //   graduate_service_rate = 1/1; same-day = 1/1; follow-up: months Jan, Feb (spell open
    //   until 02-15), contact in Jan → 1/2.
    let mut w = World::default();
    let g = [PersonGroup::GraduateUnemployedAfterSchool];
    w.register_full(1, XQ_A, "120111", "2026-01-05", &g, None).contact(1, XQ_A, "2026-01-05");
    w.exit(1, XQ_A, "2026-02-15", ExitReason::MovedAway);
    w.register_full(1, HP, "120111", "2026-05-01", &g, None);
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2026-01-01", "2026-06-30", "2026-06-30");
    let got =
        (nd(&r, "graduate_service_rate"), nd(&r, "matchmaker_same_day_contact_rate"), nd(&r, "monthly_followup_rate"));
    assert_eq!(got, ((1, Some(1)), (1, Some(1)), (1, Some(2))), "served, contacted on 01-05 by Xiqing");
}

// === re-employment (001 § 9) ===

#[test]
fn reemployment_by_exit_reason_as_of_and_persons_counted_once() {
    // TARGETS.md `reemployment_rate`: persons with a spell open at some time in [F, E];
    // re-employed: a placement started in [max(F, registered_on), E] or the spell closed
    // in it by an exit with reason `employed`. Period 2026-01-01..2026-03-31.
    // P1: registered 2025-12-01, placed 2025-12-20 (spell ended before F) → out.
    // P2: registered 2026-01-01 (= F), exited `employed` 2026-01-01 → both.
    // P3: registered 2025-11-01, exited `no_longer_seeking` 2026-02-01 → denominator only.
    // P4: registered 2026-02-01, exited `entered_school` 2026-02-10, placed 2026-03-01 →
    //     placement in [02-01, E] after a spell open in the period → both.
    // P5: registered 01-05, placed 01-20, registered again 02-01, placed 02-15 → once: both.
    // P6: registered 2026-03-01, placed 2026-04-01 (after T) → denominator only.
    // P7: registered 2026-02-01, placed 2026-03-20.
    // P8: registered 2025-06-01, placed 2025-07-01, placement ended 2025-12-31,
    //     registered again 2026-03-31 (= T), exited `enlisted` 2026-03-31 → denominator only.
    // A = 2026-06-30: denominator P2..P8 = 7; numerator P2, P4, P5, P7 = 4.
    // A = 2026-03-15 (E = 03-15): P8 not registered yet; P7's placement not yet → 6, 3 (P2, P4, P5).
    let mut w = World::default();
    w.register(1, XQ_A, "2025-12-01").place(1, XQ_A, "2025-12-20", PlacementKind::Enterprise);
    w.register(2, XQ_A, "2026-01-01").exit(2, XQ_A, "2026-01-01", ExitReason::Employed);
    w.register(3, XQ_A, "2025-11-01").exit(3, XQ_A, "2026-02-01", ExitReason::NoLongerSeeking);
    w.register(4, XQ_A, "2026-02-01").exit(4, XQ_A, "2026-02-10", ExitReason::EnteredSchool);
    w.place(4, XQ_A, "2026-03-01", PlacementKind::Flexible);
    w.register(5, XQ_B, "2026-01-05").place(5, XQ_B, "2026-01-20", PlacementKind::Flexible);
    w.end_placement(5, XQ_B, "2026-01-25");
    w.register(5, XQ_B, "2026-02-01").place(5, XQ_B, "2026-02-15", PlacementKind::Flexible);
    w.register(6, XQ_B, "2026-03-01").place(6, XQ_B, "2026-04-01", PlacementKind::Flexible);
    w.register(7, XQ_B, "2026-02-01").place(7, XQ_B, "2026-03-20", PlacementKind::SelfEmployed);
    w.register(8, XQ_B, "2025-06-01").place(8, XQ_B, "2025-07-01", PlacementKind::Enterprise);
    w.end_placement(8, XQ_B, "2025-12-31");
    w.register(8, XQ_B, "2026-03-31").exit(8, XQ_B, "2026-03-31", ExitReason::Enlisted);
    let (_dir, rm) = w.project();
    assert_eq!(nd(&report(&rm, "120111", "2026-01-01", "2026-03-31", "2026-06-30"), "reemployment_rate"), (4, Some(7)));
    assert_eq!(nd(&report(&rm, "120111", "2026-01-01", "2026-03-31", "2026-03-15"), "reemployment_rate"), (3, Some(6)));
    // Street 001 (P1..P4): P2, P3, P4 → 2/3; street 002: P5..P8 → P5, P7 of 4.
    assert_eq!(
        nd(&report(&rm, "120111001", "2026-01-01", "2026-03-31", "2026-06-30"), "reemployment_rate"),
        (2, Some(3))
    );
    assert_eq!(
        nd(&report(&rm, "120111002", "2026-01-01", "2026-03-31", "2026-06-30"), "reemployment_rate"),
        (2, Some(4))
    );
    assert_eq!(
        nd(&report(&rm, "120111001001", "2026-01-01", "2026-03-31", "2026-06-30"), "reemployment_rate"),
        (2, Some(3))
    );
}

// === long-term unemployment (001 § 9) ===

#[test]
fn long_term_month_ends_leap_years_and_the_at_risk_handover() {
    // TARGETS.md `long_term_unemployed`: end (or A if open) ≥ registered_on + 6 months,
    // month-end clamp; `long_term_at_risk`: open on A, A < reg + 6 months, A ≥ reg + 5 months.
    // L1: registered 2023-08-31, open: + 6 months = 2024-02-29 (leap). As of 2024-02-28:
    //     at risk (5 months: 2024-01-31); 2024-02-29: long-term.
    // L2: registered 2025-08-31, placed 2026-02-28 (= reg + 6 months): long-term.
    // L3: registered 2025-08-31, placed 2026-02-27 (the day before): not long-term.
    // L4: registered 2025-09-30, open: + 5 months = 2026-02-28, + 6 months = 2026-03-30.
    //     2026-02-27: nothing; 02-28: at risk; 03-29: at risk; 03-30: long-term.
    let mut w = World::default();
    w.register(1, XQ_A, "2023-08-31");
    w.register(2, XQ_A, "2025-08-31").place(2, XQ_A, "2026-02-28", PlacementKind::Flexible);
    w.register(3, XQ_A, "2025-08-31").place(3, XQ_A, "2026-02-27", PlacementKind::Flexible);
    w.register(4, XQ_B, "2025-09-30");
    let (_dir, rm) = w.project();
    let p = TargetParams::default();
    let status = |on: &str, seq: u32| -> Vec<&'static str> {
        let id = format!("00000000-0000-0000-0000-{seq:012}");
        rm.long_term(&Jurisdiction::city(), d(on), &p)
            .unwrap()
            .into_iter()
            .filter(|r| r.case_id == id)
            .map(|r| r.status)
            .collect()
    };
    assert_eq!(status("2024-02-28", 1), vec!["at_risk"]);
    assert_eq!(status("2024-02-29", 1), vec!["long_term"]);
    assert_eq!(status("2026-03-01", 2), vec!["long_term"]);
    assert_eq!(status("2026-03-01", 3), Vec::<&str>::new());
    assert_eq!(status("2026-02-27", 4), Vec::<&str>::new());
    assert_eq!(status("2026-02-28", 4), vec!["at_risk"]);
    assert_eq!(status("2026-03-29", 4), vec!["at_risk"]);
    assert_eq!(status("2026-03-30", 4), vec!["long_term"]);
    // As of 2026-03-30 (look-back from 2024-03-30): L1 (open), L2, L4 → 3.
    let r = report(&rm, "", "2026-01-01", "2026-12-31", "2026-03-30");
    assert_eq!(nd(&r, "long_term_unemployed"), (3, None));
    assert_eq!(nd(&r, "long_term_at_risk"), (0, None));
}

#[test]
fn long_term_unemployed_counts_persons_as_the_seed_and_domain_say() {
    // 001 § 9 "无2年内失业半年以上人员" (no *persons* unemployed half a year or more within
    // 2 years); domain.md §3 "persons whose registered unemployment spell has lasted 6 months
    // or more".
    // L5: one person, two spells: 2025-01-02..2025-07-02 (exit `moved_away` on the day the
    // 6 months are reached: long-term) and 2025-08-01, open (long-term from 2026-02-01).
    // As of 2026-03-30: one person → 1, though both spells are on the list.
    let mut w = World::default();
    w.register(5, XQ_B, "2025-01-02").exit(5, XQ_B, "2025-07-02", ExitReason::MovedAway);
    w.register(5, XQ_B, "2025-08-01");
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-03-30");
    assert_eq!(nd(&r, "long_term_unemployed"), (1, None), "one person");
}

// === monthly follow-up (000 § 20) ===

#[test]
fn followup_person_months_at_month_boundaries() {
    // TARGETS.md `monthly_followup_rate`: person-months = follow-up months overlapping
    // [F, E] in which the person had a spell open at some time; followed = a contact dated
    // in the month. Period 2026-01-01..2026-03-31, A = 03-31.
    // P1: registered 01-31 (last day), contact 02-01 only → Jan (open on 01-31, no contact),
    //     Feb (contact), Mar (no contact): 1 / 3.
    // P2: registered 2025-12-15, exited 2026-02-01 (open on 02-01) → Jan, Feb; contact 01-15: 1 / 2.
    // P3: spells 02-02..02-10 and 02-20.., contact 02-25 → Feb once (contact), Mar: 1 / 2.
    // Total 3 / 7.
    // A mid-month period 2026-01-15..2026-02-28 (A = 02-28):
    // P4: registered 2026-01-02, exited 01-10 (before F): no person-month.
    // P5: registered 2025-12-01, open, contact 2026-01-05 (before F, in January) → Jan followed, Feb not.
    // With P1 (Jan no, Feb yes), P2 (Jan yes, Feb no), P3 (Feb yes): 4 / 7.
    let mut w = World::default();
    w.register(1, XQ_A, "2026-01-31").contact(1, XQ_A, "2026-02-01");
    w.register(2, XQ_A, "2025-12-15").contact(2, XQ_A, "2026-01-15").exit(2, XQ_A, "2026-02-01", ExitReason::Other);
    w.register(3, XQ_A, "2026-02-02").exit(3, XQ_A, "2026-02-10", ExitReason::Other);
    w.register(3, XQ_A, "2026-02-20").contact(3, XQ_A, "2026-02-25");
    w.register(4, XQ_A, "2026-01-02").exit(4, XQ_A, "2026-01-10", ExitReason::Other);
    w.register(5, XQ_A, "2025-12-01").contact(5, XQ_A, "2026-01-05");
    let (_dir, rm) = w.project();
    // Q1 also holds P4 (Jan, no contact: 0 / 1) and P5 (Jan yes, Feb no, Mar no: 1 / 3):
    // 3 + 0 + 1 = 4 of 7 + 1 + 3 = 11.
    assert_eq!(
        nd(&report(&rm, "120111", "2026-01-01", "2026-03-31", "2026-03-31"), "monthly_followup_rate"),
        (4, Some(11))
    );
    // A mid-month period (a month counts for a spell open on its days within [F, E]):
    assert_eq!(
        nd(&report(&rm, "120111", "2026-01-15", "2026-02-28", "2026-02-28"), "monthly_followup_rate"),
        (4, Some(7))
    );
}

#[test]
fn followup_counts_a_month_for_a_spell_open_in_its_days_within_the_period() {
    // TARGETS.md `monthly_followup_rate`: a person-month is a follow-up month overlapping
    // [F, E] in which the person had a spell open on a day of the month within [F, E]; a
    // contact on any day of that month by E follows it up.
    // Period 2026-01-15..2026-02-28, A = 02-28.
    // P4: registered 2026-01-02, exited 01-10, no contact: not open on a day of January
    //     within the period → no person-month: 0 / 0.
    // P5: registered 2026-01-05, contacted 01-06 (before F, in January), still open:
    //     January and February are person-months; January followed up → 1 / 2.
    let mut w = World::default();
    w.register(4, XQ_A, "2026-01-02").exit(4, XQ_A, "2026-01-10", ExitReason::Other);
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2026-01-15", "2026-02-28", "2026-02-28");
    assert_eq!(nd(&r, "monthly_followup_rate"), (0, Some(0)));
    w.register(5, XQ_A, "2026-01-05").contact(5, XQ_A, "2026-01-06");
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2026-01-15", "2026-02-28", "2026-02-28");
    assert_eq!(nd(&r, "monthly_followup_rate"), (1, Some(2)));
}

// === matchmaker (001 § 14) ===

#[test]
fn matchmaker_three_day_deadline_on_the_as_of_date() {
    // TARGETS.md `matchmaker_two_way_rate`: registrations dated in [F, E] whose deadline
    // (registered_on + 3 days) is on or before A, with a two-way recommendation dated by
    // the deadline. Period 2026-03-01..2026-03-31.
    // M1: registered 03-29 (deadline 04-01), two-way 04-01 → in time.
    // M2: registered 03-29, two-way 04-02 → late.
    // M3: registered 03-29, a one-way recommendation 03-30 → not two-way.
    // M4: two-way 2026-02-20 (earlier), registered 03-29 → not dated from the registration.
    // All contacted the registration day except M4 (contacted 03-30).
    // A = 03-31: none due → 0 / 0; same-day 3 / 4. A = 04-01: due 4 → M1: 1 / 4. A = 04-30: 1 / 4.
    let mut w = World::default();
    for s in 1..=3 {
        w.register(s, XQ_A, "2026-03-29").contact(s, XQ_A, "2026-03-29");
    }
    w.recommend(1, XQ_A, "2026-04-01", true).recommend(2, XQ_A, "2026-04-02", true).recommend(
        3,
        XQ_A,
        "2026-03-30",
        false,
    );
    w.register(4, XQ_A, "2026-01-10").recommend(4, XQ_A, "2026-02-20", true).exit(
        4,
        XQ_A,
        "2026-03-01",
        ExitReason::Other,
    );
    w.register(4, XQ_A, "2026-03-29").contact(4, XQ_A, "2026-03-30");
    let (_dir, rm) = w.project();
    let r = |a: &str| report(&rm, "120111", "2026-03-01", "2026-03-31", a);
    let early = r("2026-03-31");
    assert_eq!(t(&early, "matchmaker_two_way_rate"), Some((0, Some(0), "", None)), "nothing due (2026: no goal)");
    assert_eq!(nd(&early, "matchmaker_same_day_contact_rate"), (3, Some(4)));
    assert_eq!(nd(&r("2026-04-01"), "matchmaker_two_way_rate"), (1, Some(4)));
    assert_eq!(nd(&r("2026-04-30"), "matchmaker_two_way_rate"), (1, Some(4)));
}

// === full-employment communities (001 § 10) ===

#[test]
fn full_employment_stock_date_boundaries_and_ninety_percent() {
    // TARGETS.md `full_employment_communities`: per community, employed = placement current
    // on A (placed on A: employed; ended on A: over), unemployed = spell open on A and not
    // ending on A; ≥ 90 % is full employment; communities with anyone known.
    // A = 2026-06-30.
    // XQ_A: 9 placed (2026-01-10, one of them on A itself), 1 open spell → 9/10 = 90 % → full.
    // XQ_B: Q1 placed on A (employed); Q2 registered on A (unemployed); Q3 exited on A (not
    //       unemployed, not employed: not known); Q4 placement ended on A → 1/2 → not full.
    // XQ_A2: Q5 exited 2026-06-01 (nobody known): no community.
    // Xiqing: 1 / 2.
    let mut w = World::default();
    for s in 1..=8 {
        w.register(s, XQ_A, "2026-01-02").place(s, XQ_A, "2026-01-10", PlacementKind::Enterprise);
    }
    w.register(9, XQ_A, "2026-01-02").place(9, XQ_A, "2026-06-30", PlacementKind::Enterprise);
    w.register(10, XQ_A, "2026-01-02");
    w.register(11, XQ_B, "2026-01-02").place(11, XQ_B, "2026-06-30", PlacementKind::Enterprise);
    w.register(12, XQ_B, "2026-06-30");
    w.register(13, XQ_B, "2026-01-02").exit(13, XQ_B, "2026-06-30", ExitReason::MovedAway);
    w.register(14, XQ_B, "2026-01-02").place(14, XQ_B, "2026-02-01", PlacementKind::Enterprise);
    w.end_placement(14, XQ_B, "2026-06-30");
    w.register(15, XQ_A2, "2026-01-02").exit(15, XQ_A2, "2026-06-01", ExitReason::MovedAway);
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2026-01-01", "2026-06-30", "2026-06-30");
    assert_eq!(nd(&r, "full_employment_communities"), (1, Some(2)));
    let rows: Vec<(String, i64, i64, bool)> = rm
        .communities(&j("120111"), d("2026-06-30"))
        .unwrap()
        .into_iter()
        .map(|c| (c.community, c.employed, c.unemployed, c.full_employment))
        .collect();
    assert_eq!(rows, vec![(XQ_A.into(), 9, 1, true), (XQ_B.into(), 1, 1, false)]);
    // A community: 1 / 1; a street without anyone known on A... street 001 holds XQ_A only: 1/1.
    assert_eq!(
        nd(&report(&rm, "120111001001", "2026-01-01", "2026-06-30", "2026-06-30"), "full_employment_communities"),
        (1, Some(1))
    );
    assert_eq!(
        nd(&report(&rm, "120111002", "2026-01-01", "2026-06-30", "2026-06-30"), "full_employment_communities"),
        (0, Some(1))
    );
}

// === trainings (003 专栏1, 001 § 7) ===

#[test]
fn training_person_times_dropped_repeated_community_at_enrolment_and_trainees_once() {
    // TARGETS.md `subsidised_training_person_times`: trainings of persons of J (community at
    // enrolment) completed in [F, E], one per training, every programme; dropped: none;
    // trained twice: twice. `startup_trainees`: distinct persons enrolled in 马兰花 in [F, E].
    // Year 2024, A = 2024-12-31.
    // T1 (XQ_A): vocational a 01-10..03-01, vocational b 04-01..06-01 → 2; 马兰花 c enrolled
    //     07-01, dropped 07-15 → 0 person-times, but enrolled: a start-up trainee.
    // T2 (XQ_B): online d enrolled 2023-12-01, completed 2024-01-05 → 1; IYB e enrolled
    //     2024-12-01, completed 2025-01-10 → 0 (after T); 马兰花 f 02-01..03-01 and 马兰花 g
    //     05-01..06-01 → 2 person-times, 1 trainee.
    // T3 (XQ_A, enrolled there 2024-02-01 in vocational h), exited moved away 2024-03-01,
    //     registered in Heping 2024-04-01, completed h 2024-05-01 → counts in Xiqing
    //     (community at enrolment), not in Heping.
    // Xiqing: person-times 2 + 1 + 2 + 1 = 6; start-up trainees T1, T2 = 2.
    // Street 001: T1 2 + T3 1 = 3; Heping: 0. As of 2024-05-31: a, d, f, h → 4.
    let mut w = World::default();
    use TrainingProgramme::*;
    w.register(1, XQ_A, "2023-12-01");
    w.enrol(1, XQ_A, "2024-01-10", "a", VocationalSkills).complete(1, XQ_A, "2024-03-01", "a");
    w.enrol(1, XQ_A, "2024-04-01", "b", VocationalSkills).complete(1, XQ_A, "2024-06-01", "b");
    w.enrol(1, XQ_A, "2024-07-01", "c", StartUpMalanhua).drop_training(1, XQ_A, "2024-07-15", "c");
    w.register(2, XQ_B, "2023-11-01");
    w.enrol(2, XQ_B, "2023-12-01", "d", OnlineVocational).complete(2, XQ_B, "2024-01-05", "d");
    w.enrol(2, XQ_B, "2024-12-01", "e", ImproveYourBusiness).complete(2, XQ_B, "2025-01-10", "e");
    w.enrol(2, XQ_B, "2024-02-01", "f", StartUpMalanhua).complete(2, XQ_B, "2024-03-01", "f");
    w.enrol(2, XQ_B, "2024-05-01", "g", StartUpMalanhua).complete(2, XQ_B, "2024-06-01", "g");
    w.register(3, XQ_A, "2024-01-15").enrol(3, XQ_A, "2024-02-01", "h", VocationalSkills);
    w.exit(3, XQ_A, "2024-03-01", ExitReason::MovedAway);
    w.register(3, HP, "2024-04-01").complete(3, HP, "2024-05-01", "h");
    let (_dir, rm) = w.project();
    let y = |jc: &str, a: &str| report(&rm, jc, "2024-01-01", "2024-12-31", a);
    let xq = y("120111", "2024-12-31");
    assert_eq!(nd(&xq, "subsidised_training_person_times"), (6, None));
    assert_eq!(nd(&xq, "startup_trainees"), (2, None));
    assert_eq!(nd(&y("120111001", "2024-12-31"), "subsidised_training_person_times"), (3, None));
    assert_eq!(nd(&y("120101", "2024-12-31"), "subsidised_training_person_times"), (0, None));
    assert_eq!(nd(&y("120111", "2024-05-31"), "subsidised_training_person_times"), (4, None));
    // The yearly 马兰花 goal is Xiqing's for a calendar year of 2022–2025.
    assert_eq!(t(&xq, "startup_trainees"), Some((2, None, "≥ 2 500 / year", Some(false))));
    assert_eq!(t(&y("120111001", "2024-12-31"), "startup_trainees").unwrap().2, "");
}

// === safety-net posts (001 § 9) ===

#[test]
fn welfare_placements_are_distinct_persons_of_both_kinds_at_every_level() {
    // TARGETS.md `welfare_post_placements`: distinct persons of J with a placement of kind
    // public-welfare or community-service started in [F, E] (community at its start).
    // `welfare_posts_developed`: posts of both kinds, city and district only.
    // Year 2024, A = 2024-12-31.
    // W1 (XQ_A): public-welfare 02-01, ended 03-01, public-welfare again 04-01 → 1 person.
    // W2 (XQ_B): community-service 06-01 → 1. W3 (XQ_A): internship → 0.
    // W4 (XQ_A): public-welfare 2023-12-01 (before F), still working → 0 (not started in the period).
    // U1 (Xiqing unit): 10 public-welfare posts 2024-03-01, 5 community-service 2024-12-31 → 15.
    let mut w = World::default();
    w.register(1, XQ_A, "2024-01-02").place(1, XQ_A, "2024-02-01", PlacementKind::PublicWelfarePost);
    w.end_placement(1, XQ_A, "2024-03-01").place(1, XQ_A, "2024-04-01", PlacementKind::PublicWelfarePost);
    w.register(2, XQ_B, "2024-01-02").place(2, XQ_B, "2024-06-01", PlacementKind::CommunityServicePost);
    w.register(3, XQ_A, "2024-01-02").place(3, XQ_A, "2024-06-01", PlacementKind::Internship);
    w.register(4, XQ_A, "2023-11-02").place(4, XQ_A, "2023-12-01", PlacementKind::PublicWelfarePost);
    w.register_enterprise(1, "120111", "2024-01-01");
    w.develop(1, "120111", "2024-03-01", "d1", WelfarePostKind::PublicWelfare, 10);
    w.develop(1, "120111", "2024-12-31", "d2", WelfarePostKind::CommunityService, 5);
    let (_dir, rm) = w.project();
    let y = |jc: &str, a: &str| report(&rm, jc, "2024-01-01", "2024-12-31", a);
    let xq = y("120111", "2024-12-31");
    assert_eq!(nd(&xq, "welfare_post_placements"), (2, None));
    assert_eq!(nd(&xq, "welfare_posts_developed"), (15, None));
    assert_eq!(nd(&y("120111", "2024-12-30"), "welfare_posts_developed"), (10, None));
    assert_eq!(nd(&y("120111001", "2024-12-31"), "welfare_post_placements"), (1, None));
    assert!(t(&y("120111001", "2024-12-31"), "welfare_posts_developed").is_none(), "left out below district");
    assert_eq!(nd(&y("", "2024-12-31"), "interns"), (1, None));
}

// === subsidies (001 § 4) ===

#[test]
fn grants_dated_by_e_not_revoked_by_a() {
    // TARGETS.md `subsidy_granted_fen`: grants dated in [F, E], not revoked on or before A.
    // Period 2026-01-01..2026-06-30.
    // g1 100 granted 01-10, revoked 07-01 (after A = 06-30) → counts.
    // g2 200 granted 01-10, revoked 06-30 (= A) → does not.
    // g3 400 granted 06-30 → counts; g4 800 granted 07-01 → after T.
    // A = 06-30: 100 + 400 = 500. A = 06-29: 100 + 200 = 300 (g2 not yet revoked, g3 not yet granted).
    let mut w = World::default();
    w.register(1, XQ_A, "2026-01-02");
    w.grant(1, XQ_A, "2026-01-10", "g1", 100).grant(1, XQ_A, "2026-01-10", "g2", 200);
    w.grant(1, XQ_A, "2026-06-30", "g3", 400).grant(1, XQ_A, "2026-07-01", "g4", 800);
    w.revoke(1, XQ_A, "2026-06-30", "g2").revoke(1, XQ_A, "2026-07-01", "g1");
    let (_dir, rm) = w.project();
    assert_eq!(
        nd(&report(&rm, "120111", "2026-01-01", "2026-06-30", "2026-06-30"), "subsidy_granted_fen"),
        (500, None)
    );
    assert_eq!(
        nd(&report(&rm, "120111", "2026-01-01", "2026-06-30", "2026-06-29"), "subsidy_granted_fen"),
        (300, None)
    );
    assert_eq!(
        nd(&report(&rm, "120111", "2026-01-01", "2026-06-30", "2026-12-31"), "subsidy_granted_fen"),
        (400, None)
    );
}

// === households (001 § 9, 003 § 14) ===

#[test]
fn a_household_counts_once_at_each_level_its_members_live_in() {
    // TARGETS.md `zero_employment_households_outstanding`: "A household belongs to every
    // jurisdiction one of its members on A lives in (counted once at each level)".
    // H: K1 (XQ_A) and K2 (XQ_B) register 2026-02-01 naming H; K1 lists the group
    // zero-employment household → identified 02-01. Nobody placed.
    // A = 2026-03-01: Xiqing 1, city 1, street 001 1, street 002 1, Heping 0.
    // K2 is placed 2026-03-10 (XQ_B): cleared → 0 everywhere as of 03-10.
    let h = Uuid::from_u128(0x1234);
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2026-02-01", &[PersonGroup::ZeroEmploymentHousehold], Some(h));
    w.register_full(2, XQ_B, "120111", "2026-02-01", &[], Some(h));
    w.place(2, XQ_B, "2026-03-10", PlacementKind::Enterprise);
    let (_dir, rm) = w.project();
    for (jc, n) in [("", 1), ("120111", 1), ("120111001", 1), ("120111002", 1), ("120111002003", 1), ("120101", 0)] {
        let r = report(&rm, jc, "2026-01-01", "2026-12-31", "2026-03-01");
        assert_eq!(nd(&r, "zero_employment_households_outstanding"), (n, None), "{jc:?}");
    }
    let r = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-03-10");
    assert_eq!(nd(&r, "zero_employment_households_outstanding"), (0, None));
    let rows = rm.zero_employment_households(&j("120111"), d("2026-03-01"), &TargetParams::default()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].identified_on, rows[0].since, rows[0].days_outstanding),
        (d("2026-02-01"), d("2026-02-01"), 28)
    );
}

// === goals and denominators of 0 ===

#[test]
fn rates_with_denominator_zero_are_zero_and_unjudged_goals_only_in_xiqing() {
    // TARGETS.md: "a rate with denominator 0 is reported as 0 with `met` unknown"; goals only
    // for the jurisdiction and period a document sets them.
    // Nothing recorded but one enterprise: Xiqing, 2024 (within 001's term, a calendar year).
    let mut w = World::default();
    w.register_enterprise(1, "120111", "2024-01-01");
    let (_dir, rm) = w.project();
    let xq = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-12-31");
    for id in [
        "reemployment_rate",
        "difficulty_employment_rate",
        "graduate_service_rate",
        "graduate_employment_rate",
        "monthly_followup_rate",
        "matchmaker_same_day_contact_rate",
        "matchmaker_two_way_rate",
        "full_employment_communities",
        "public_welfare_local_share",
        "batch_layoffs_20_followed",
        "batch_layoffs_40_followed",
    ] {
        let v = xq.targets.iter().find(|t| t.id == id).unwrap();
        assert_eq!((v.numerator, v.denominator, v.value, v.met), (0, Some(0), 0.0, None), "{id}");
        // full-employment communities: 001 § 10's goal is for an as-of date in 2025 only.
        assert_eq!(v.goal.is_empty(), id == "full_employment_communities", "{id}: Xiqing, 2024 carries its goal");
    }
    // Counts with goals are judged: 0 long-term unemployed meets "0"; 0 interns misses 1 000.
    assert_eq!(t(&xq, "long_term_unemployed"), Some((0, None, "none (0)", Some(true))));
    assert_eq!(t(&xq, "internship_posts").unwrap().3, Some(false));
    // Another district, the same year: every target bare.
    let hp = report(&rm, "120101", "2024-01-01", "2024-12-31", "2024-12-31");
    assert!(hp.targets.iter().all(|t| t.goal.is_empty() && t.met.is_none()), "{:?}", hp.targets);
    // A Xiqing community: bare too (the local share's goal is for streets/towns, not communities).
    let c = report(&rm, "120111001001", "2024-01-01", "2024-12-31", "2024-12-31");
    assert!(c.targets.iter().all(|t| t.goal.is_empty() && t.met.is_none()), "{:?}", c.targets);
    // Xiqing, a half year: 001's goals are yearly, so its rates are bare; 000's follow-up
    // goal (from 2020-05-18, no end, any period) still applies.
    let half = report(&rm, "120111", "2024-01-01", "2024-06-30", "2024-06-30");
    assert_eq!(t(&half, "reemployment_rate").unwrap().2, "");
    assert_eq!(t(&half, "monthly_followup_rate").unwrap().2, "100 %");
    // Yearly goals: a calendar year of 2022–2025 only.
    let y2026 = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-12-31");
    assert_eq!(t(&y2026, "guarantee_loans_principal_fen").unwrap().2, "");
    let y2025 = report(&rm, "120111", "2025-01-01", "2025-12-31", "2025-12-31");
    assert_eq!(t(&y2025, "guarantee_loans_principal_fen"), Some((0, None, "≥ 50 000 000 yuan / year", Some(false))));
}
