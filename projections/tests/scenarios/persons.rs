//! Persons: long-term unemployment, re-employment, as-of dates, follow-up,
//! matchmaking, subsidies and the eligible list, worked out by hand.

use super::*;

#[test]
fn six_months_or_more_is_long_term_the_day_before_is_not() {
    // 001 § 9 "失业半年以上": 以上 includes the number, so a spell that has lasted exactly
    // 6 months is long-term. Registered 2026-01-15: 6 months are reached on 2026-07-15.
    // A is placed on 2026-07-15 (exactly 6 months): long-term.
    // B is placed on 2026-07-16: long-term.
    // D is placed on 2026-07-14 (the day before): not long-term, and no longer at risk (not open).
    // C registered 2025-08-31: + 6 months = 2026-02-28 (no 31 February: the month's last day);
    //   still open → long-term on 2026-02-28, at risk on 2026-02-27.
    // E registered 2026-02-28: + 6 months = 2026-08-28 (not the month's end): long-term on 08-28, not 08-27.
    let (a, b, c) = (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_A));
    let (dd, e) = (Person::new(4, XQ_A), Person::new(5, XQ_B));
    let mut w = World::default();
    w.register(&a, "2026-01-15").register(&b, "2026-01-15").register(&c, "2025-08-31");
    w.register(&dd, "2026-01-15").register(&e, "2026-02-28");
    w.place(&a, "2026-07-15", PlacementKind::Flexible).place(&b, "2026-07-16", PlacementKind::Flexible);
    w.place(&dd, "2026-07-14", PlacementKind::Flexible);
    let (_dir, rm) = w.project();
    let p = TargetParams::default();
    let status = |on: &str, who: &Person| -> Option<&'static str> {
        rm.long_term(&Jurisdiction::city(), d(on), &p)
            .unwrap()
            .iter()
            .find(|r| r.case_id == who.case())
            .map(|r| r.status)
    };
    let list = rm.long_term(&Jurisdiction::city(), d("2026-08-01"), &p).unwrap();
    let long: Vec<&str> = list.iter().filter(|r| r.status == "long_term").map(|r| r.case_id.as_str()).collect();
    // Ordered by days, longest first: C (open, 335 days), B (182), A (181); never D (180).
    assert_eq!(long, vec![c.case().as_str(), b.case().as_str(), a.case().as_str()]);
    let a_row = list.iter().find(|r| r.case_id == a.case()).unwrap();
    assert_eq!((a_row.days, a_row.long_term_from), (181, d("2026-07-15")));
    assert_eq!(status("2026-08-01", &dd), None, "placed the day before 6 months");
    // E on 2026-08-01 is at risk (5 months reached on 07-28), long-term from 08-28 on.
    assert_eq!(status("2026-08-01", &e), Some("at_risk"));
    assert_eq!(status("2026-08-27", &e), Some("at_risk"));
    assert_eq!(status("2026-08-28", &e), Some("long_term"));
    assert_eq!(list.iter().find(|r| r.case_id == e.case()).unwrap().long_term_from, d("2026-08-28"));

    // C at the month's end: at risk on 02-27, long-term on 02-28.
    assert_eq!(status("2026-02-27", &c), Some("at_risk"), "5 months passed on 2026-01-31");
    assert_eq!(status("2026-02-28", &c), Some("long_term"), "2025-08-31 + 6 months = 2026-02-28");
    // A on the day before its 6 months (open): at risk; on the day (placed that day): long-term.
    assert_eq!(status("2026-07-14", &a), Some("at_risk"));
    assert_eq!(status("2026-07-15", &a), Some("long_term"));
    // The at-risk list never holds a long-term spell, nor the long-term one a spell under 6 months.
    for on in ["2026-06-15", "2026-07-14", "2026-07-15", "2026-08-27", "2026-08-28"] {
        for r in rm.long_term(&Jurisdiction::city(), d(on), &p).unwrap() {
            let reached = d(on).min(r.ended_on.unwrap_or(d(on))) >= r.long_term_from;
            assert_eq!(r.status == "long_term", reached, "{on}: {r:?}");
        }
    }
    // The target counts the same spells as the list.
    let r = report(&rm, "", "2026-01-01", "2026-12-31", "2026-07-15");
    assert_eq!(target(&r, "long_term_unemployed"), (3, None), "C; A (placed that day); B (open, 6 months that day)");
    // Looking back 2 years from 2028-07-16: B's spell ended 2026-07-16, exactly 2 years before, still counts.
    let later = rm.long_term(&Jurisdiction::city(), d("2028-07-16"), &p).unwrap();
    assert!(later.iter().any(|r| r.case_id == b.case()));
    let after_window = rm.long_term(&Jurisdiction::city(), d("2028-07-17"), &p).unwrap();
    assert!(!after_window.iter().any(|r| r.case_id == b.case()));
}

#[test]
fn reemployment_rate_with_a_spell_crossing_the_period_and_re_registration() {
    // Period: 2026-Q2 (04-01..06-30).
    // A: registered 2026-02-10 (crosses into Q2), placed 2026-05-05 → in both.
    // B: registered 2026-06-20, still open → denominator only.
    // C: registered 2026-01-05, exited (moved away) 2026-03-31 → ended before Q2: in neither.
    //    Re-registered 2026-04-10, exited "employed" 2026-06-30 (last day) → in both.
    // D: registered 2026-03-01, placed 2026-07-01 (day after the period) → denominator only.
    // E: Heping, registered 2026-04-01, placed 2026-04-02 → in both at city level, not in Xiqing.
    let (a, b, c, dd, e) =
        (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_B), Person::new(4, XQ_B), Person::new(5, HP));
    let mut w = World::default();
    w.register(&a, "2026-02-10").place(&a, "2026-05-05", PlacementKind::Enterprise);
    w.register(&b, "2026-06-20");
    w.register(&c, "2026-01-05").exit(&c, "2026-03-31", ExitReason::MovedAway);
    w.register(&c, "2026-04-10").exit(&c, "2026-06-30", ExitReason::Employed);
    w.register(&dd, "2026-03-01").place(&dd, "2026-07-01", PlacementKind::Flexible);
    w.register(&e, "2026-04-01").place(&e, "2026-04-02", PlacementKind::SelfEmployed);
    let (_dir, rm) = w.project();
    let q2 = report(&rm, "120111", "2026-04-01", "2026-06-30", "2026-12-31");
    assert_eq!(target(&q2, "reemployment_rate"), (2, Some(4)), "Xiqing: A, C of A, B, C, D");
    let city = report(&rm, "", "2026-04-01", "2026-06-30", "2026-12-31");
    assert_eq!(target(&city, "reemployment_rate"), (3, Some(5)));
    let street = report(&rm, "120111002", "2026-04-01", "2026-06-30", "2026-12-31");
    assert_eq!(target(&street, "reemployment_rate"), (1, Some(2)), "street 002: C and D");
    // As of 2026-05-04 (the day before A's placement): A is not yet placed; C's exit not yet known.
    let early = report(&rm, "120111", "2026-04-01", "2026-06-30", "2026-05-04");
    assert_eq!(target(&early, "reemployment_rate"), (0, Some(3)), "A, C, D registered by then; B not yet");
    let on_day = report(&rm, "120111", "2026-04-01", "2026-06-30", "2026-05-05");
    assert_eq!(target(&on_day, "reemployment_rate"), (1, Some(3)));
}

#[test]
fn as_of_before_and_after_a_placement_moves_the_state() {
    let a = Person::new(1, XQ_A);
    let mut w = World::default();
    w.register(&a, "2026-01-10").place(&a, "2026-03-01", PlacementKind::PublicWelfarePost);
    w.end_placement(&a, "2026-06-30");
    let (_dir, rm) = w.project();
    let j = Jurisdiction::parse("120111").unwrap();
    let before = rm.communities(&j, d("2026-02-28")).unwrap();
    assert_eq!((before[0].employed, before[0].unemployed), (0, 1));
    let after = rm.communities(&j, d("2026-03-01")).unwrap();
    assert_eq!((after[0].employed, after[0].unemployed), (1, 0));
    assert!(after[0].full_employment);
    // The placement ended on 06-30 and no registration followed. On a stock date an end is
    // exclusive (as a start is inclusive): employed on 06-29, no longer on 06-30.
    assert_eq!(rm.communities(&j, d("2026-06-29")).unwrap()[0].employed, 1);
    assert!(rm.communities(&j, d("2026-06-30")).unwrap().is_empty());
    let posts = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-12-31");
    assert_eq!(target(&posts, "welfare_post_placements"), (1, None));
    // The local share is a stock: on 12-31 nobody works in a public-welfare post any more.
    assert_eq!(target(&posts, "public_welfare_local_share"), (0, Some(0)));
    let in_post = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-06-29");
    assert_eq!(target(&in_post, "public_welfare_local_share"), (1, Some(1)), "Xiqing hukou in a Xiqing post");
    let too_early = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-02-28");
    assert_eq!(target(&too_early, "welfare_post_placements"), (0, None));
}

#[test]
fn followup_on_the_last_and_the_first_day_of_a_month() {
    // Period: January and February 2026. Registered 2026-01-05.
    // A is contacted on 01-31 (last day of January) and 02-01 (first day of February): 2 of 2 person-months.
    // B is contacted twice on 01-31 and not in February: 1 of 2.
    // C registered 2026-02-28 (the last day) with no contact: 1 person-month, 0 followed.
    let (a, b, c) = (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_A));
    let mut w = World::default();
    w.register(&a, "2026-01-05").contact(&a, "2026-01-31").contact(&a, "2026-02-01");
    w.register(&b, "2026-01-05").contact(&b, "2026-01-31").contact(&b, "2026-01-31");
    w.register(&c, "2026-02-28");
    let (_dir, rm) = w.project();
    let r = report(&rm, "", "2026-01-01", "2026-02-28", "2026-03-15");
    assert_eq!(target(&r, "monthly_followup_rate"), (3, Some(5)));
    // Overdue on 2026-03-15: the last complete month is February: B and C missed it, A did not.
    let overdue = rm.overdue_followups(&Jurisdiction::city(), d("2026-03-15"), &TargetParams::default()).unwrap();
    let ids: BTreeSet<String> = overdue.iter().map(|r| r.case_id.clone()).collect();
    assert_eq!(ids, [b.case(), c.case()].into_iter().collect());
    // With follow-up months starting on the 26th, 01-31 and 02-01 fall in the same month (01-26..02-25):
    // months overlapping Jan-Feb: 12-26..01-25, 01-26..02-25, 02-26..03-25 (clipped to 02-28).
    // A: (m1: no contact, m2: yes, m3: no) → 1 of 3; B: 1 of 3; C: only m3, no → 0 of 1.
    let p = TargetParams { followup_month_start_day: 26, ..TargetParams::default() };
    let r26 = rm
        .targets(&Jurisdiction::city(), Period::new(d("2026-01-01"), d("2026-02-28")).unwrap(), d("2026-03-15"), &p)
        .unwrap();
    assert_eq!(target(&r26, "monthly_followup_rate"), (2, Some(7)));
}

#[test]
fn a_zero_employment_household_spanning_two_districts() {
    // Household H: member A lives in Xiqing, member B in Heping.
    // A is recognised "zero-employment household" on 2026-03-01; B is placed on 2026-04-10.
    let h = Uuid::from_u128(7);
    let mut a = Person::new(1, XQ_A);
    a.household = Some(h);
    let mut b = Person::new(2, HP);
    b.household = Some(h);
    b.hukou = "120101";
    let mut w = World::default();
    w.register(&a, "2026-02-01").register(&b, "2026-02-01");
    w.record(
        &a,
        "2026-03-01",
        PersonFact::DifficultyRecognised(Difficulty {
            categories: [DifficultyCategory::ZeroEmploymentHousehold].into_iter().collect(),
            valid: DateRange::new(d("2026-03-01"), d("2027-02-28")).unwrap(),
        }),
    );
    w.place(&b, "2026-04-10", PlacementKind::Enterprise);
    let (_dir, rm) = w.project();
    let p = TargetParams::default();
    for j in ["", "120111", "120101", "120101001001"] {
        let on = rm.zero_employment_households(&Jurisdiction::parse(j).unwrap(), d("2026-04-09"), &p).unwrap();
        assert_eq!(on.len(), 1, "outstanding in jurisdiction {j:?} on 04-09");
        assert_eq!(on[0].days_outstanding, 39);
        assert!(on[0].overdue, "39 days > 30");
    }
    assert!(
        rm.zero_employment_households(&Jurisdiction::parse("120102").unwrap(), d("2026-04-09"), &p).unwrap().is_empty()
    );
    let cleared = rm.zero_employment_households(&Jurisdiction::city(), d("2026-04-10"), &p).unwrap();
    assert!(cleared.is_empty(), "cleared by B's placement on 04-10");
    let r = report(&rm, "120111", "2026-01-01", "2026-03-31", "2026-03-31");
    assert_eq!(target(&r, "zero_employment_households_outstanding"), (1, None));
    // The zero-employment recognition is not "other difficulty".
    assert_eq!(target(&r, "difficulty_employment_rate"), (0, Some(0)));
}

#[test]
fn matchmaker_same_day_contact_and_two_way_recommendation_within_three_days() {
    // A: registered 03-02, contacted 03-02, two-way recommendation 03-05 (day 3): both met.
    // B: registered 03-02, contacted 03-03, two-way recommendation 03-06 (day 4): both breached.
    // C: registered 03-30, contacted same day; on 03-31 the 3-day deadline (04-02) has not passed: not yet due.
    let (a, b, c) = (Person::new(1, XQ_A), Person::new(2, XQ_A), Person::new(3, XQ_A));
    let rec =
        |two_way| PersonFact::JobRecommended(JobRecommendation { vacancy_id: "v".into(), enterprise: None, two_way });
    let mut w = World::default();
    w.register(&a, "2026-03-02").contact(&a, "2026-03-02").record(&a, "2026-03-05", rec(true));
    w.register(&b, "2026-03-02").contact(&b, "2026-03-03").record(&b, "2026-03-06", rec(true));
    w.register(&c, "2026-03-30").contact(&c, "2026-03-30");
    let (_dir, rm) = w.project();
    let r = report(&rm, "", "2026-03-01", "2026-03-31", "2026-03-31");
    assert_eq!(target(&r, "matchmaker_same_day_contact_rate"), (2, Some(3)));
    assert_eq!(target(&r, "matchmaker_two_way_rate"), (1, Some(2)));
    let breaches = rm
        .matchmaker_breaches(
            &Jurisdiction::city(),
            Period::new(d("2026-03-01"), d("2026-03-31")).unwrap(),
            d("2026-03-31"),
            &TargetParams::default(),
        )
        .unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0].case_id, b.case());
}

#[test]
fn subsidies_training_interns_graduates_and_exit_review() {
    let mut a = Person::new(1, XQ_A);
    a.groups = vec![PersonGroup::GraduateUnemployedAfterSchool];
    let mut b = Person::new(2, XQ_A);
    b.groups = vec![PersonGroup::GraduateUnemployedAfterSchool];
    let c = Person::new(3, XQ_B);
    let grant = |id: &str, fen: i64| {
        PersonFact::SubsidyGranted(SubsidyGrant {
            subsidy_id: id.into(),
            programme: "start-up-training".into(),
            amount: Fen::positive(fen).unwrap(),
            period: DateRange::new(d("2026-01-01"), d("2026-01-31")).unwrap(),
            payee: Payee::Person,
            policy_clause: "000#13".into(),
        })
    };
    let mut w = World::default();
    // A: graduate, contacted, placed as intern in March.
    w.register(&a, "2026-01-10").contact(&a, "2026-01-12").place(&a, "2026-03-01", PlacementKind::Internship);
    // B: graduate, never served, still open.
    w.register(&b, "2026-01-10");
    // C: start-up training, two grants, one revoked on 2026-05-01.
    w.register(&c, "2025-10-01").record(
        &c,
        "2026-01-15",
        PersonFact::TrainingEnrolled(TrainingEnrolment {
            training_id: "t".into(),
            programme: TrainingProgramme::StartUpMalanhua,
            provider: "p".into(),
        }),
    );
    w.record(&c, "2026-02-01", grant("s1", 50_000)).record(&c, "2026-02-02", grant("s2", 100_000));
    w.record(
        &c,
        "2026-05-01",
        PersonFact::SubsidyRevoked(SubsidyRevocation { subsidy_id: "s2".into(), reason: "r".into() }),
    );
    let (_dir, rm) = w.project();
    let year = |as_of| report(&rm, "120111", "2026-01-01", "2026-12-31", as_of);
    let r = year("2026-04-30");
    assert_eq!(target(&r, "graduate_service_rate"), (1, Some(2)));
    assert_eq!(target(&r, "graduate_employment_rate"), (1, Some(2)));
    assert_eq!(target(&r, "startup_trainees"), (1, None));
    assert_eq!(target(&r, "interns"), (1, None));
    assert_eq!(target(&r, "subsidy_granted_fen"), (150_000, None), "s2 not yet revoked on 04-30");
    assert_eq!(target(&year("2026-05-01"), "subsidy_granted_fen"), (50_000, None));
    // Against a configured annual amount: 150 000 fen granted in 2026 up to 04-30, of 1 000 000.
    let budget = leye_projections::targets::Budget {
        id: "b".into(),
        title: "t".into(),
        jurisdiction: "120111".into(),
        year: None,
        first_year: None,
        last_year: None,
        programmes: vec!["start-up-training".into()],
        amount_fen: 1_000_000,
        kind: leye_projections::targets::BudgetKind::Budget,
        source: "s".into(),
    };
    let p = TargetParams { budget: vec![budget], ..TargetParams::default() };
    let j = Jurisdiction::parse("120111").unwrap();
    let r = rm.targets(&j, Period::new(d("2025-01-01"), d("2026-12-31")).unwrap(), d("2026-04-30"), &p).unwrap();
    let lines: Vec<(i32, i64)> = r.budgets.iter().map(|b| (b.year, b.granted_fen)).collect();
    assert_eq!(lines, vec![(2025, 0), (2026, 150_000)]);
    assert!((r.budgets[1].share - 0.15).abs() < 1e-9);
    // An amount set for 2026 on only: no 2025 line.
    let from_2026 = TargetParams {
        budget: vec![leye_projections::targets::Budget { first_year: Some(2026), ..p.budget[0].clone() }],
        ..TargetParams::default()
    };
    let r =
        rm.targets(&j, Period::new(d("2025-01-01"), d("2026-12-31")).unwrap(), d("2026-04-30"), &from_2026).unwrap();
    assert_eq!(r.budgets.iter().map(|b| b.year).collect::<Vec<_>>(), vec![2026]);
    let city = rm
        .targets(&Jurisdiction::city(), Period::new(d("2026-01-01"), d("2026-12-31")).unwrap(), d("2026-04-30"), &p)
        .unwrap();
    assert!(city.budgets.is_empty(), "a district's budget is reported for that district only");
    // Exit review on 2026-04-30 (3 months: since 2026-01-30): B (registered 01-10, never contacted)
    // and C (registered 2025-10-01, never contacted) are listed; A is placed.
    let review =
        rm.exit_review(&Jurisdiction::parse("120111").unwrap(), d("2026-04-30"), &TargetParams::default()).unwrap();
    let ids: BTreeSet<String> = review.iter().map(|r| r.case_id.clone()).collect();
    assert_eq!(ids, [b.case(), c.case()].into_iter().collect());
}

#[test]
fn reapplying_a_batch_changes_nothing() {
    let a = Person::new(1, XQ_A);
    let mut w = World::default();
    w.register(&a, "2026-01-10").contact(&a, "2026-01-11");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rm.sqlite");
    let mut p = Projector::open(&path).unwrap();
    p.apply(&w.events).unwrap();
    p.apply(&w.events).unwrap();
    p.apply(&w.events[1..]).unwrap();
    assert_eq!(p.events_applied().unwrap(), 2);
    assert_eq!(p.checkpoint().unwrap(), Some(Position::from_sequence(2)));
}

#[test]
fn eligible_persons_leave_the_list_when_the_programme_is_granted_and_return_when_it_is_revoked() {
    let a = Person::new(1, "120111001001");
    let b = Person::new(2, "120101001001");
    let finding = |rule: &str, programme: &str, amount: Option<i64>| {
        PersonFact::EligibilityFound(EligibilityFinding {
            rule_id: rule.into(),
            rule_valid_from: d("2020-05-18"),
            programme: programme.into(),
            clause: "000 § 9".into(),
            reasons: vec![EligibilityReason {
                check: "placement_kinds".into(),
                detail: "placement is enterprise".into(),
                clause: "000 § 9".into(),
            }],
            amount: amount.map(|f| Fen::positive(f).unwrap()),
        })
    };
    let grant = |id: &str, programme: &str| {
        PersonFact::SubsidyGranted(SubsidyGrant {
            subsidy_id: id.into(),
            programme: programme.into(),
            amount: Fen::positive(100_000).unwrap(),
            period: DateRange::new(d("2026-04-01"), d("2026-04-01")).unwrap(),
            payee: Payee::Enterprise(employer()),
            policy_clause: "000 § 9".into(),
        })
    };
    let mut w = World::default();
    w.register(&a, "2026-01-05")
        .register(&b, "2026-01-06")
        .place(&a, "2026-03-01", PlacementKind::Enterprise)
        .record(&a, "2026-03-02", finding("xiqing.hiring.one-time", "xiqing-hiring-one-time", Some(100_000)))
        .record(&b, "2026-03-03", finding("tianjin.other", "tianjin-other", None))
        // Another programme granted to A: A stays on the list.
        .record(&a, "2026-03-10", grant("S0", "tianjin-other"))
        .record(&a, "2026-04-01", grant("S1", "xiqing-hiring-one-time"))
        .record(
            &a,
            "2026-05-01",
            PersonFact::SubsidyRevoked(SubsidyRevocation { subsidy_id: "S1".into(), reason: "r".into() }),
        );
    let (_dir, rm) = w.project();
    let city = Jurisdiction::parse("").unwrap();
    let listed = |j: &Jurisdiction, programme: Option<&str>, on: &str| -> Vec<(String, String)> {
        let page = rm.eligible(j, programme, d(on), 0, 100).unwrap();
        assert_eq!(page.total, page.rows.len());
        page.rows.into_iter().map(|r| (r.case_id, r.rule_id)).collect()
    };
    let a_row = (a.case(), "xiqing.hiring.one-time".to_string());
    let b_row = (b.case(), "tianjin.other".to_string());
    // Before anything was found: empty; found on 2026-03-02 and 03-03.
    assert_eq!(listed(&city, None, "2026-03-01"), vec![]);
    assert_eq!(listed(&city, None, "2026-03-31"), vec![a_row.clone(), b_row.clone()]);
    // Jurisdiction and programme filters.
    assert_eq!(listed(&Jurisdiction::parse("120111").unwrap(), None, "2026-03-31"), vec![a_row.clone()]);
    assert_eq!(listed(&city, Some("tianjin-other"), "2026-03-31"), vec![b_row.clone()]);
    // Granted on 04-01: A leaves the list that day; revoked on 05-01: A is back.
    assert_eq!(listed(&city, None, "2026-04-01"), vec![b_row.clone()]);
    assert_eq!(listed(&city, None, "2026-05-01"), vec![a_row.clone(), b_row.clone()]);
    // The row carries the clause, the reasons, the amount and the residence.
    let page = rm.eligible(&city, None, d("2026-03-31"), 1, 1).unwrap();
    assert_eq!((page.total, page.rows.len()), (2, 1), "the second page of size 1");
    let row = &rm.eligible(&city, None, d("2026-03-31"), 0, 1).unwrap().rows[0];
    assert_eq!((row.clause.as_str(), row.amount_fen, row.found_on), ("000 § 9", Some(100_000), d("2026-03-02")));
    assert_eq!((row.district.as_str(), row.community.as_str()), ("120111", "120111001001"));
    let reasons: serde_json::Value = serde_json::from_str(&row.reasons).unwrap();
    assert_eq!(reasons[0]["check"], "placement_kinds");
    assert_eq!(reasons[0]["clause"], "000 § 9");
}
