//! Hand-computed scenarios for the seed-exact targets (issue 13 item 6): goals
//! only where and when a document sets them, safety-net posts counted as
//! posts, the local share as a stock, guarantee loans by principal and
//! subsidised training person-times.

use leye_domain::{
    enterprise::{EnterpriseFact, WelfarePostKind},
    person::*,
    values::Fen,
};

mod support;
use support::{d, world::*};

#[test]
fn a_goal_is_judged_only_for_the_jurisdiction_and_period_its_document_sets() {
    // A (Xiqing, street 001) registered 2024-01-10, placed 2024-03-01.
    // B (Heping) registered 2024-01-10, placed 2024-03-01.
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2024-01-10", &[], None).place(1, XQ_A, "2024-03-01", PlacementKind::Enterprise);
    w.register_full(2, HP, "120101", "2024-01-10", &[], None).place(2, HP, "2024-03-01", PlacementKind::Enterprise);
    let (_dir, rm) = w.project();
    // 001 § 9 (Xiqing; its goals are yearly, 2022–2025): Xiqing 2024 is judged.
    let xq = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&xq, "reemployment_rate"), Some((1, Some(1), "≥ 90 %", Some(true))));
    // Elsewhere the bare figure: the city, Heping, a street of Xiqing, Xiqing after 2025,
    // and a quarter or a half year of Xiqing (not the year the goal is set for).
    for (j, from, to) in [
        ("", "2024-01-01", "2024-12-31"),
        ("120101", "2024-01-01", "2024-12-31"),
        ("120111001", "2024-01-01", "2024-12-31"),
        ("120111", "2026-01-01", "2026-12-31"),
        ("120111", "2024-01-01", "2024-03-31"),
        ("120111", "2024-01-01", "2024-06-30"),
    ] {
        let r = report(&rm, j, from, to, to);
        let (_, _, goal, met) = t(&r, "reemployment_rate").unwrap();
        assert_eq!((goal, met), ("", None), "{j:?} {from}..{to}");
    }
    // Yearly goals: a calendar year of 2022–2025 in Xiqing; not a half year, not 2026.
    assert_eq!(t(&xq, "interns"), Some((0, None, "≥ 1 000 / year", Some(false))));
    assert_eq!(t(&xq, "startup_trainees").unwrap().2, "≥ 2 500 / year");
    let half = report(&rm, "120111", "2024-01-01", "2024-06-30", "2024-06-30");
    assert_eq!(t(&half, "interns"), Some((0, None, "", None)));
    // A stock goal (no long-term unemployed) is judged on an as-of date within the term.
    assert_eq!(t(&xq, "long_term_unemployed"), Some((0, None, "none (0)", Some(true))));
    let after = report(&rm, "120111", "2024-01-01", "2024-12-31", "2026-01-01");
    assert_eq!(t(&after, "long_term_unemployed"), Some((0, None, "", None)));
    // The at-risk list is a watch list: never a goal.
    assert_eq!(t(&xq, "long_term_at_risk").unwrap().2, "");
    // 003 § 14: the city's own clearance goal.
    let city = report(&rm, "", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&city, "zero_employment_households_outstanding"), Some((0, None, "0 (动态清零)", Some(true))));
}

#[test]
fn safety_net_posts_are_counted_as_posts_of_both_kinds_beside_the_persons_placed() {
    // Units: U1 (Xiqing) develops 200 public-welfare posts on 2022-07-01 and 100
    // community-service posts on 2024-05-01; U2 (Xiqing) 5 public-welfare posts on
    // 2026-01-02 (after the term); U3 (Heping) 50 community-service posts on 2024-06-01.
    let mut w = World::default();
    w.register_enterprise(1, "120111", "2022-01-05").register_enterprise(2, "120111", "2022-01-05");
    w.register_enterprise(3, "120101", "2022-01-05");
    w.develop(1, "120111", "2022-07-01", "w1", WelfarePostKind::PublicWelfare, 200);
    w.develop(1, "120111", "2024-05-01", "w2", WelfarePostKind::CommunityService, 100);
    w.develop(2, "120111", "2026-01-02", "w1", WelfarePostKind::PublicWelfare, 5);
    w.develop(3, "120101", "2024-06-01", "w1", WelfarePostKind::CommunityService, 50);
    // Persons: P1 placed in a public-welfare post, P2 in a community-service post, P3 in an
    // enterprise (not a safety-net post), all in Xiqing in 2024; P1 placed again in 2024 counts once.
    let mut w2 = w;
    w2.register_full(1, XQ_A, "120111", "2024-01-02", &[], None).place(
        1,
        XQ_A,
        "2024-02-01",
        PlacementKind::PublicWelfarePost,
    );
    w2.register_full(2, XQ_B, "120111", "2024-01-02", &[], None).place(
        2,
        XQ_B,
        "2024-03-01",
        PlacementKind::CommunityServicePost,
    );
    w2.register_full(3, XQ_B, "120111", "2024-01-02", &[], None).place(
        3,
        XQ_B,
        "2024-03-01",
        PlacementKind::Enterprise,
    );
    let (_dir, rm) = w2.project();
    // 001's goals are yearly (domain.md §3): "300个以上" is a year's task. Xiqing
    // developed 200 posts in 2022 and 100 in 2024 (the persons placed are shown beside).
    let y2022 = report(&rm, "120111", "2022-01-01", "2022-12-31", "2022-12-31");
    assert_eq!(t(&y2022, "welfare_posts_developed"), Some((200, None, "≥ 300 posts / year", Some(false))));
    let y2024 = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&y2024, "welfare_posts_developed"), Some((100, None, "≥ 300 posts / year", Some(false))));
    assert_eq!(t(&y2024, "welfare_post_placements"), Some((2, None, "", None)), "persons, shown beside");
    // As of the day before 2024's development: none yet that year.
    let early = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-04-30");
    assert_eq!(t(&early, "welfare_posts_developed"), Some((0, None, "≥ 300 posts / year", Some(false))));
    // Another period (the whole term): posts, not kinds, summed; no goal. The city: every unit's posts, no goal.
    let term = report(&rm, "120111", "2022-06-21", "2025-12-31", "2025-12-31");
    assert_eq!(t(&term, "welfare_posts_developed"), Some((300, None, "", None)));
    let city = report(&rm, "", "2022-06-21", "2026-12-31", "2026-12-31");
    assert_eq!(t(&city, "welfare_posts_developed"), Some((355, None, "", None)));
    // Units have no street: below a district the posts target is left out.
    assert_eq!(t(&report(&rm, "120111001", "2022-06-21", "2025-12-31", "2025-12-31"), "welfare_posts_developed"), None);
}

#[test]
fn the_local_share_is_of_the_staff_in_public_welfare_posts_on_the_as_of_date() {
    // Street 120111001 of Xiqing:
    // P1, Xiqing hukou, public-welfare post from 2024-01-01 (still there).
    // P2, Heping hukou, public-welfare post from 2024-02-01, ended 2024-06-30.
    // P3, Heping hukou, community-service post from 2024-01-01 (not a public-welfare post).
    // P4, Xiqing hukou, public-welfare post from 2024-07-01.
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2023-12-01", &[], None).place(
        1,
        XQ_A,
        "2024-01-01",
        PlacementKind::PublicWelfarePost,
    );
    w.register_full(2, XQ_A, "120101", "2023-12-01", &[], None).place(
        2,
        XQ_A,
        "2024-02-01",
        PlacementKind::PublicWelfarePost,
    );
    w.person(2, XQ_A, "2024-06-30", PersonFact::PlacementEnded(PlacementEnd { reason: PlacementEndReason::Resigned }));
    w.register_full(3, XQ_A, "120101", "2023-12-01", &[], None).place(
        3,
        XQ_A,
        "2024-01-01",
        PlacementKind::CommunityServicePost,
    );
    w.register_full(4, XQ_A, "120111", "2023-12-01", &[], None).place(
        4,
        XQ_A,
        "2024-07-01",
        PlacementKind::PublicWelfarePost,
    );
    let (_dir, rm) = w.project();
    let share =
        |j: &str, as_of: &str| t(&report(&rm, j, "2024-01-01", "2024-12-31", as_of), "public_welfare_local_share");
    // 2024-03-01: P1 and P2 in posts, one local: 1/2, below 80 %.
    assert_eq!(share("120111001", "2024-03-01"), Some((1, Some(2), "≥ 80 % of staff", Some(false))));
    // 2024-06-30: P2's post ended that day (an end is exclusive on a stock date): 1/1.
    assert_eq!(share("120111001", "2024-06-30"), Some((1, Some(1), "≥ 80 % of staff", Some(true))));
    // 2024-07-01: P1 and P4, both local: 2/2. New placements in the year (3) are not the measure.
    assert_eq!(share("120111001", "2024-07-01"), Some((2, Some(2), "≥ 80 % of staff", Some(true))));
    assert_eq!(share("120111", "2024-03-01"), Some((1, Some(2), "≥ 80 % of staff", Some(false))), "the district");
    // A community is not a street/town; Heping is not Xiqing: the bare figure.
    assert_eq!(share("120111001001", "2024-03-01"), Some((1, Some(2), "", None)));
    assert_eq!(share("120101", "2024-03-01"), Some((0, Some(0), "", None)));
    // Nobody in a post yet: nothing to judge.
    assert_eq!(share("120111001", "2023-12-31"), Some((0, Some(0), "≥ 80 % of staff", None)));
}

#[test]
fn guarantee_loans_count_by_principal_lent_against_50_million_yuan_a_year() {
    // U1 (Xiqing): 300 000 yuan on 2024-03-01, 49 700 000 yuan on 2024-12-31: 50 M yuan in 2024.
    // U1: 1 yuan on 2025-01-01 (next year). U3 (Heping): 1 M yuan on 2024-06-01.
    // U1 also gets an interest subsidy grant of 5 000 yuan: a grant, not principal.
    let mut w = World::default();
    w.register_enterprise(1, "120111", "2023-01-05").register_enterprise(3, "120101", "2023-01-05");
    w.lend(1, "120111", "2024-03-01", "g1", 30_000_000).lend(1, "120111", "2024-12-31", "g2", 4_970_000_000);
    w.lend(1, "120111", "2025-01-01", "g3", 100).lend(3, "120101", "2024-06-01", "g1", 100_000_000);
    let grant = SubsidyGrant {
        subsidy_id: "i1".into(),
        programme: "xiqing-small-micro-loan".into(),
        amount: Fen::positive(500_000).unwrap(),
        period: leye_domain::values::DateRange::new(d("2024-03-01"), d("2024-12-31")).unwrap(),
        payee: Payee::Enterprise(credit_code("120111", 1)),
        policy_clause: "000 § 14".into(),
    };
    w.enterprise(1, "120111", "2024-04-01", EnterpriseFact::SubsidyGranted(grant));
    let (_dir, rm) = w.project();
    let goal = "≥ 50 000 000 yuan / year";
    let xq = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&xq, "guarantee_loans_principal_fen"), Some((5_000_000_000, None, goal, Some(true))), "exactly 50 M");
    assert_eq!(t(&xq, "subsidy_granted_fen").unwrap().0, 500_000, "the interest subsidy is a grant");
    let day_before = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-12-30");
    assert_eq!(t(&day_before, "guarantee_loans_principal_fen"), Some((30_000_000, None, goal, Some(false))));
    let y2025 = report(&rm, "120111", "2025-01-01", "2025-12-31", "2025-12-31");
    assert_eq!(t(&y2025, "guarantee_loans_principal_fen"), Some((100, None, goal, Some(false))));
    let city = report(&rm, "", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&city, "guarantee_loans_principal_fen"), Some((5_100_000_000, None, "", None)));
    let heping = report(&rm, "120101", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&heping, "guarantee_loans_principal_fen"), Some((100_000_000, None, "", None)));
    assert_eq!(
        t(&report(&rm, "120111001", "2024-01-01", "2024-12-31", "2024-12-31"), "guarantee_loans_principal_fen"),
        None
    );
}

#[test]
fn subsidised_training_person_times_are_trainings_completed_in_the_period() {
    let enrol = |id: &str, programme| {
        PersonFact::TrainingEnrolled(TrainingEnrolment { training_id: id.into(), programme, provider: "p".into() })
    };
    let complete =
        |id: &str| PersonFact::TrainingCompleted(TrainingCompletion { training_id: id.into(), certificate: None });
    // P1 (Xiqing): vocational t1 2021-03-01..2021-06-01, start-up t2 2025-11-01..2025-12-31: 2 person-times.
    // P2 (Heping): t1 enrolled 2023-01-01, dropped 2023-02-01: none; t2 completed 2026-01-05: after 2025.
    // P3 (Xiqing): t1 completed 2020-12-31: before 2021.
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2020-06-01", &[], None);
    w.person(1, XQ_A, "2021-03-01", enrol("t1", TrainingProgramme::VocationalSkills)).person(
        1,
        XQ_A,
        "2021-06-01",
        complete("t1"),
    );
    w.person(1, XQ_A, "2025-11-01", enrol("t2", TrainingProgramme::StartUpMalanhua)).person(
        1,
        XQ_A,
        "2025-12-31",
        complete("t2"),
    );
    w.register_full(2, HP, "120101", "2020-06-01", &[], None);
    w.person(2, HP, "2023-01-01", enrol("t1", TrainingProgramme::OnlineVocational)).person(
        2,
        HP,
        "2023-02-01",
        PersonFact::TrainingDropped(TrainingDrop { training_id: "t1".into(), reason: "r".into() }),
    );
    w.person(2, HP, "2025-12-01", enrol("t2", TrainingProgramme::ImproveYourBusiness)).person(
        2,
        HP,
        "2026-01-05",
        complete("t2"),
    );
    w.register_full(3, XQ_B, "120111", "2020-06-01", &[], None);
    w.person(3, XQ_B, "2020-11-01", enrol("t1", TrainingProgramme::VocationalSkills)).person(
        3,
        XQ_B,
        "2020-12-31",
        complete("t1"),
    );
    let (_dir, rm) = w.project();
    let goal = "about 700 000 person-times, 2021–2025";
    let city = report(&rm, "", "2021-01-01", "2025-12-31", "2025-12-31");
    assert_eq!(t(&city, "subsidised_training_person_times"), Some((2, None, goal, Some(false))));
    let city_later = report(&rm, "", "2021-01-01", "2026-12-31", "2026-12-31");
    assert_eq!(t(&city_later, "subsidised_training_person_times"), Some((3, None, "", None)), "not 003's period");
    let xq = report(&rm, "120111", "2021-01-01", "2025-12-31", "2025-12-31");
    assert_eq!(t(&xq, "subsidised_training_person_times"), Some((2, None, "", None)), "a district: the bare figure");
    let before = report(&rm, "", "2021-01-01", "2025-12-31", "2025-12-30");
    assert_eq!(t(&before, "subsidised_training_person_times").unwrap().0, 1, "t2 completes on 12-31");
}
