//! Second review of the targets against domain.md §3–§4 and the seeds: subsidy
//! totals against the 001 § 4 floor, graduates served, zero-employment households
//! cleared, the 300 posts, the 80 % local share, guarantee-loan principal, the
//! re-employment rate at 90 %, batch layoffs, and goals only where a document
//! sets them. Scenarios not covered by `as_of_and_boundaries.rs`; every expected
//! figure is worked out by hand in the comment above it, quoting the clause.

use leye_domain::{
    enterprise::{
        BatchLayoff, EnterpriseFact, GuaranteeLoan, LayoffService, LayoffServiceProvision, LoanBorrower,
        WelfarePostKind,
    },
    person::*,
    values::{DateRange, Fen},
};
use leye_projections::{ReadModel, TargetParams};
use uuid::Uuid;

mod support;
use support::{d, world::*};

/// A grant of `programme` on person case `seq`.
fn grant_of(w: &mut World, seq: u32, community: &str, on: &str, id: &str, programme: &str, fen: i64) {
    w.person(seq, community, on, PersonFact::SubsidyGranted(grant(id, programme, fen, Payee::Person)));
}

fn grant(id: &str, programme: &str, fen: i64, payee: Payee) -> SubsidyGrant {
    SubsidyGrant {
        subsidy_id: id.into(),
        programme: programme.into(),
        amount: Fen::positive(fen).unwrap(),
        period: DateRange::new(d("2024-01-01"), d("2024-12-31")).unwrap(),
        payee,
        policy_clause: "test".into(),
    }
}

/// The granted amount of the budget line `id` for `year`.
fn budget(r: &leye_projections::read_model::TargetReport, id: &str, year: i32) -> Option<i64> {
    r.budgets.iter().find(|b| b.id == id && b.year == year).map(|b| b.granted_fen)
}

// === subsidies against the 001 § 4 floor ===

#[test]
fn startup_subsidy_floor_counts_every_kind_of_start_up_subsidy_granted_in_xiqing() {
    // 001 § 4: "每年发放创业担保贷款不低于5000万元、各类创业补贴不低于5000万元" — every kind
    // (各类) of start-up subsidy. domain.md §4: Xiqing's 000 "builds on the municipal
    // start-up training, start-up and rent subsidies" (000 § 13); those municipal programmes
    // are "in force in every district" (tianjin-startup-one-time 002 #43 / 004 § 14,
    // tianjin-startup-rent 002 #44 / 004 § 15). So a municipal one-time start-up subsidy
    // or rent subsidy granted to a Xiqing founder is one of Xiqing's 各类创业补贴.
    // Year 2024, A = 2024-12-31, Xiqing person S1 (XQ_A):
    //   xiqing-startup-training        50 000 fen (000 § 13)        → counts
    //   tianjin-startup-one-time      300 000 fen (002 #43)         → counts
    //   tianjin-startup-rent          100 000 fen (002 #44)         → counts
    //   xiqing-hiring-one-time        100 000 fen (a hiring subsidy) → not a start-up subsidy
    // Expected budget line xiqing_startup_subsidies 2024: 450 000 fen.
    let mut w = World::default();
    w.register(1, XQ_A, "2024-01-02");
    grant_of(&mut w, 1, XQ_A, "2024-03-01", "s1", "xiqing-startup-training", 50_000);
    grant_of(&mut w, 1, XQ_A, "2024-05-01", "s2", "tianjin-startup-one-time", 300_000);
    grant_of(&mut w, 1, XQ_A, "2024-06-01", "s3", "tianjin-startup-rent", 100_000);
    grant_of(&mut w, 1, XQ_A, "2024-07-01", "s4", "xiqing-hiring-one-time", 100_000);
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(nd(&r, "subsidy_granted_fen"), (550_000, None), "all grants");
    assert_eq!(budget(&r, "xiqing_startup_subsidies", 2024), Some(450_000), "各类创业补贴");
}

#[test]
fn startup_subsidy_floor_by_grant_year_revocations_enterprise_grants_and_places() {
    // TARGETS.md "budget lines": the grants of its programmes dated in that year up to A,
    // not revoked by A; enterprise-case grants of the district count too; the line is
    // reported for exactly the jurisdiction it names (Xiqing), for 2022–2025 (001's term).
    // 001 § 4 "每年发放…": counted by the year the grant is made (发放).
    // Person S1 (XQ_A): xiqing-startup-success 500 000 fen granted 2024-12-31 (a business
    //   started in 2024), revoked 2025-01-05; xiqing-startup-training 50 000 fen granted
    //   2025-01-02 for a certificate of 2024-12 → the 2025 line (granted 2025).
    // Enterprise E1 (Xiqing): xiqing-startup-success 200 000 fen granted 2024-04-01 → 2024.
    // Person H1 (Heping): xiqing-startup-training 50 000 fen 2024-04-01 → not Xiqing's.
    // S1's proposals of 1 000 000 fen (one rejected 2024-05-10, one pending) → not grants.
    // Period 2024-01-01..2025-12-31:
    //   A = 2024-12-31: 2024 line 500 000 + 200 000 = 700 000; 2025 line 0.
    //   A = 2025-12-31: 2024 line 200 000 (revoked 2025-01-05); 2025 line 50 000.
    // Street 120111001: no budget line (the line names Xiqing exactly).
    let mut w = World::default();
    w.register(1, XQ_A, "2024-01-02");
    grant_of(&mut w, 1, XQ_A, "2024-12-31", "s1", "xiqing-startup-success", 500_000);
    w.revoke(1, XQ_A, "2025-01-05", "s1");
    grant_of(&mut w, 1, XQ_A, "2025-01-02", "s2", "xiqing-startup-training", 50_000);
    w.register_enterprise(1, "120111", "2024-01-01");
    let g = grant("e1", "xiqing-startup-success", 200_000, Payee::Enterprise(credit_code("120111", 1)));
    w.enterprise(1, "120111", "2024-04-01", EnterpriseFact::SubsidyGranted(g));
    w.register(2, HP, "2024-01-02");
    grant_of(&mut w, 2, HP, "2024-04-01", "h1", "xiqing-startup-training", 50_000);
    // Proposals: p1 rejected, p2 still pending — neither is a grant (审核不通过 / not approved).
    for (id, on) in [("p1", "2024-05-01"), ("p2", "2024-06-01")] {
        let proposal = leye_domain::subsidy::SubsidyProposal {
            grant: grant(id, "xiqing-startup-success", 1_000_000, Payee::Person),
            rule_id: "xiqing.startup.success".into(),
            rule_valid_from: d("2020-05-18"),
            proposed_by: "t".into(),
            reasons: Vec::new(),
            inputs: Box::default(),
        };
        w.person(1, XQ_A, on, PersonFact::SubsidyProposed(proposal));
    }
    let rejection = leye_domain::subsidy::SubsidyProposalRejection {
        proposal_id: "p1".into(),
        rejected_by: "t".into(),
        reason: "经营不稳定".into(),
    };
    w.person(1, XQ_A, "2024-05-10", PersonFact::SubsidyProposalRejected(rejection));
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2024-01-01", "2025-12-31", "2024-12-31");
    assert_eq!(budget(&r, "xiqing_startup_subsidies", 2024), Some(700_000));
    assert_eq!(budget(&r, "xiqing_startup_subsidies", 2025), Some(0));
    let r = report(&rm, "120111", "2024-01-01", "2025-12-31", "2025-12-31");
    assert_eq!(budget(&r, "xiqing_startup_subsidies", 2024), Some(200_000));
    assert_eq!(budget(&r, "xiqing_startup_subsidies", 2025), Some(50_000));
    assert_eq!(nd(&r, "subsidy_granted_fen"), (250_000, None));
    let street = report(&rm, "120111001", "2024-01-01", "2025-12-31", "2025-12-31");
    assert!(street.budgets.is_empty());
    assert_eq!(nd(&street, "subsidy_granted_fen"), (50_000, None), "person-case grants only");
    let hp = report(&rm, "120101", "2024-01-01", "2024-12-31", "2024-12-31");
    assert!(hp.budgets.is_empty());
    assert_eq!(nd(&hp, "subsidy_granted_fen"), (50_000, None));
    // The floor is set for 001's term (2022–2025): no line for 2026.
    let y2026 = report(&rm, "120111", "2026-01-01", "2026-12-31", "2026-12-31");
    assert!(y2026.budgets.is_empty());
}

#[test]
fn a_xiqing_start_up_grant_counts_for_xiqing_after_the_founder_moves_away() {
    // 001 § 4 "每年发放…各类创业补贴不低于5000万元" is a floor on what Xiqing disburses;
    // domain.md §3 "granted amounts by programme, jurisdiction, year, against annual
    // budgets" and §4 "each [policy] has an issuing jurisdiction". 000 § 13: Xiqing pays
    // 5 000 yuan when a business licence follows the training within 6 months.
    // F1 registers in Xiqing (XQ_A) 2024-01-02, starts a business in Xiqing 2024-02-01
    // (placement start_up), which ends 2024-09-01; F1 moves and registers in Heping
    // 2024-10-01. On 2024-11-01 Xiqing's office (event district 120111) grants F1
    // xiqing-startup-success 500 000 fen for the 2024-02 licence.
    // Expected, year 2024, A = 2024-12-31: Xiqing's budget line 500 000 and Xiqing's
    // subsidy_granted_fen 500 000; Heping's subsidy_granted_fen 0 (Heping paid nothing).
    let mut w = World::default();
    w.register(1, XQ_A, "2024-01-02").place(1, XQ_A, "2024-02-01", PlacementKind::StartUp);
    w.end_placement(1, XQ_A, "2024-09-01");
    w.register_full(1, HP, "120111", "2024-10-01", &[], None);
    // Recorded by Xiqing's office: `person` takes the event's district from this code.
    grant_of(&mut w, 1, XQ_A, "2024-11-01", "s1", "xiqing-startup-success", 500_000);
    let (_dir, rm) = w.project();
    let xq = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-12-31");
    let hp = report(&rm, "120101", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(
        (
            budget(&xq, "xiqing_startup_subsidies", 2024),
            nd(&xq, "subsidy_granted_fen").0,
            nd(&hp, "subsidy_granted_fen").0
        ),
        (Some(500_000), 500_000, 0)
    );
}

// === guarantee loans (001 § 4) ===

#[test]
fn guarantee_loans_are_principal_lent_in_the_year_not_interest_subsidies() {
    // 001 § 4 "每年发放创业担保贷款不低于5000万元"; domain.md §3 "guarantee loans counted by
    // the principal lent (a loan is a fact of its own), not by the interest subsidy on it".
    // 不低于 includes the number (domain.md §4).
    // Year 2024, A = 2024-12-31.
    // E1 (Xiqing): loan 3 000 000 000 fen (30 M yuan) 2024-02-01 to the enterprise.
    // E2 (Xiqing): loan 2 000 000 000 fen 2024-12-31 to its founder (borrower founder).
    //   Xiqing principal = 5 000 000 000 fen = 50 M yuan: the floor is met (≥).
    // E2: another loan 100 000 fen on 2025-01-01 → not 2024.
    // E3 (Heping): loan 700 000 fen 2024-06-01 → Heping's and the city's, not Xiqing's.
    // Person P1 (XQ_A): interest subsidy xiqing-guarantee-loan 90 000 fen on 2024-03-01 → a
    //   grant (subsidy_granted_fen), never principal.
    // Xiqing: principal 5 000 000 000, goal met; subsidy_granted_fen 90 000.
    // City: 5 000 700 000, bare. Heping: 700 000, bare. Street: absent.
    // As of 2024-12-30 (same period): 3 000 000 000, not met.
    let mut w = World::default();
    for (seq, district) in [(1, "120111"), (2, "120111"), (3, "120101")] {
        w.register_enterprise(seq, district, "2024-01-01");
    }
    w.lend(1, "120111", "2024-02-01", "l1", 3_000_000_000);
    let founder = GuaranteeLoan {
        loan_id: "l2".into(),
        borrower: LoanBorrower::Founder,
        principal: Fen::positive(2_000_000_000).unwrap(),
        lender: "天津银行".into(),
        term_months: 36,
    };
    w.enterprise(2, "120111", "2024-12-31", EnterpriseFact::GuaranteeLoanGranted(founder));
    w.lend(2, "120111", "2025-01-01", "l3", 100_000);
    w.lend(3, "120101", "2024-06-01", "l4", 700_000);
    w.register(1, XQ_A, "2024-01-02");
    grant_of(&mut w, 1, XQ_A, "2024-03-01", "i1", "xiqing-guarantee-loan", 90_000);
    let (_dir, rm) = w.project();
    let y = |jc: &str, a: &str| report(&rm, jc, "2024-01-01", "2024-12-31", a);
    let xq = y("120111", "2024-12-31");
    assert_eq!(
        t(&xq, "guarantee_loans_principal_fen"),
        Some((5_000_000_000, None, "≥ 50 000 000 yuan / year", Some(true)))
    );
    assert_eq!(nd(&xq, "subsidy_granted_fen"), (90_000, None));
    assert_eq!(t(&y("", "2024-12-31"), "guarantee_loans_principal_fen"), Some((5_000_700_000, None, "", None)));
    assert_eq!(t(&y("120101", "2024-12-31"), "guarantee_loans_principal_fen"), Some((700_000, None, "", None)));
    assert!(t(&y("120111001", "2024-12-31"), "guarantee_loans_principal_fen").is_none());
    assert_eq!(
        t(&y("120111", "2024-12-30"), "guarantee_loans_principal_fen").map(|v| (v.0, v.3)),
        Some((3_000_000_000, Some(false)))
    );
}

// === the 300 posts (001 § 9) ===

#[test]
fn three_hundred_posts_of_both_kinds_by_xiqing_units_in_the_year() {
    // 001 § 9 "开发300个以上公益性岗位和社区服务岗位": posts (not persons), both kinds;
    // 以上 includes 300. Goal yearly for Xiqing (domain.md §3).
    // Year 2024, A = 2024-12-31.
    // U1 (Xiqing street office): 200 public-welfare posts 2024-02-01.
    // U2 (Xiqing community organisation): 100 community-service posts 2024-11-01.
    // U2: 40 public-welfare posts 2023-12-31 → 2023, not 2024.
    // U3 (Heping): 500 public-welfare posts 2024-05-01 → not Xiqing's.
    // Persons placed: X1 placed in a public-welfare post 2024-03-01 (one person, not a post).
    // Xiqing 2024: 300 posts, met (≥ 300). Heping 2024: 500, bare. City: 800, bare.
    // Xiqing 2023: 40 posts, met false (a calendar year of 2022–2025).
    let mut w = World::default();
    for (seq, district) in [(1, "120111"), (2, "120111"), (3, "120101")] {
        w.register_enterprise(seq, district, "2023-01-01");
    }
    w.develop(1, "120111", "2024-02-01", "a", WelfarePostKind::PublicWelfare, 200);
    w.develop(2, "120111", "2024-11-01", "b", WelfarePostKind::CommunityService, 100);
    w.develop(2, "120111", "2023-12-31", "c", WelfarePostKind::PublicWelfare, 40);
    w.develop(3, "120101", "2024-05-01", "d", WelfarePostKind::PublicWelfare, 500);
    w.register(1, XQ_A, "2024-01-02").place(1, XQ_A, "2024-03-01", PlacementKind::PublicWelfarePost);
    let (_dir, rm) = w.project();
    let y = |jc: &str| report(&rm, jc, "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&y("120111"), "welfare_posts_developed"), Some((300, None, "≥ 300 posts / year", Some(true))));
    assert_eq!(t(&y("120101"), "welfare_posts_developed"), Some((500, None, "", None)));
    assert_eq!(t(&y(""), "welfare_posts_developed"), Some((800, None, "", None)));
    let y2023 = report(&rm, "120111", "2023-01-01", "2023-12-31", "2023-12-31");
    assert_eq!(t(&y2023, "welfare_posts_developed"), Some((40, None, "≥ 300 posts / year", Some(false))));
}

// === the 80 % local share (000 § 12) ===

#[test]
fn local_share_is_a_stock_of_public_welfare_staff_by_street_with_eighty_percent_inclusive() {
    // 000 § 12 "各街镇公益性岗位安置本区户籍人员不低于职工总数的80%": of the staff working in
    // each street's/town's public-welfare posts, at least 80 % (不低于: 80 % included) with
    // Xiqing (本区) hukou. A stock on A, not the placements of the period.
    // A = 2024-06-30, period 2024-06-01..2024-06-30 (a month: the stock does not depend on it).
    // Street 001 (XQ_A / XQ_A2):
    //   S1 hukou Xiqing, public-welfare since 2023-03-01, still working   → staff, local
    //   S2 hukou Heping (120101), public-welfare since 2024-01-10         → staff, not local
    //   S3 hukou Xiqing, community-service post since 2024-02-01          → not public-welfare
    //   S4 hukou Xiqing, public-welfare 2023-05-01, ended 2024-06-30 (= A) → not staff on A
    //   S5 hukou Hedong (120102, Tianjin but not 本区), public-welfare 2024-06-15 → staff, not local
    //   Street 001: 1 / 3, not met.
    // Street 002 (XQ_B): S6..S10 public-welfare since 2024-01-15; S6..S9 hukou Xiqing, S10
    //   hukou Heping: 4 / 5 = 80 %, met.
    // Xiqing: 5 / 8, not met. A community (XQ_A2: S2, S5): 0 / 2, bare. Heping: 0 / 0.
    let mut w = World::default();
    let pw = PlacementKind::PublicWelfarePost;
    w.register_full(1, XQ_A, "120111", "2023-01-02", &[], None).place(1, XQ_A, "2023-03-01", pw);
    w.register_full(2, XQ_A2, "120101", "2024-01-02", &[], None).place(2, XQ_A2, "2024-01-10", pw);
    w.register_full(3, XQ_A, "120111", "2024-01-02", &[], None);
    w.place(3, XQ_A, "2024-02-01", PlacementKind::CommunityServicePost);
    w.register_full(4, XQ_A, "120111", "2023-04-02", &[], None).place(4, XQ_A, "2023-05-01", pw);
    w.end_placement(4, XQ_A, "2024-06-30");
    w.register_full(5, XQ_A2, "120102", "2024-06-01", &[], None).place(5, XQ_A2, "2024-06-15", pw);
    for s in 6..=10 {
        let hukou = if s == 10 { "120101" } else { "120111" };
        w.register_full(s, XQ_B, hukou, "2024-01-02", &[], None).place(s, XQ_B, "2024-01-15", pw);
    }
    let (_dir, rm) = w.project();
    let m = |jc: &str| report(&rm, jc, "2024-06-01", "2024-06-30", "2024-06-30");
    assert_eq!(t(&m("120111001"), "public_welfare_local_share"), Some((1, Some(3), "≥ 80 % of staff", Some(false))));
    assert_eq!(t(&m("120111002"), "public_welfare_local_share"), Some((4, Some(5), "≥ 80 % of staff", Some(true))));
    assert_eq!(t(&m("120111"), "public_welfare_local_share"), Some((5, Some(8), "≥ 80 % of staff", Some(false))));
    assert_eq!(t(&m(XQ_A2), "public_welfare_local_share"), Some((0, Some(2), "", None)));
    assert_eq!(nd(&m("120101"), "public_welfare_local_share"), (0, Some(0)));
    // A day earlier S4 was still working (its end is dated 06-30): street 001 on 06-29 has
    // S1, S2, S4, S5 → 2 / 4.
    let r = report(&rm, "120111001", "2024-06-01", "2024-06-30", "2024-06-29");
    assert_eq!(nd(&r, "public_welfare_local_share"), (2, Some(4)));
}

// === zero-employment households (001 § 9, 003 § 14) ===

fn outstanding(rm: &ReadModel, jc: &str, a: &str) -> Vec<(chrono::NaiveDate, chrono::NaiveDate, i64)> {
    rm.zero_employment_households(&j(jc), d(a), &TargetParams::default())
        .unwrap()
        .into_iter()
        .map(|h| (h.identified_on, h.since, h.days_outstanding))
        .collect()
}

#[test]
fn a_household_cleared_by_a_placement_that_ends_is_zero_employment_again() {
    // domain.md §2.3: a zero-employment household "must be identified, helped and cleared: at
    // least one member placed" ("动态清零", 001 § 9, 003 § 14): dynamic — while a member is
    // placed the household is cleared; when that placement ends, nobody in it works and it
    // is zero-employment again (TARGETS.md "Households": since = the day the last employed
    // member stopped working).
    // H: A1 registers 2024-03-01 naming H with the group zero-employment household
    //    (identified 03-01); B1 registers 2024-03-10 naming H (no group).
    //    B1 placed 2024-04-01, placement ended 2024-05-01.
    // As of 2024-03-15: outstanding, since 03-01, 14 days.
    // As of 2024-04-01: cleared → none. As of 2024-04-30: none.
    // As of 2024-05-15: outstanding again, since 05-01, 14 days; identified still 03-01.
    // Target at Xiqing, 2024, A = 05-15: 1.
    let h = Uuid::from_u128(0xA1);
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2024-03-01", &[PersonGroup::ZeroEmploymentHousehold], Some(h));
    w.register_full(2, XQ_A, "120111", "2024-03-10", &[], Some(h));
    w.place(2, XQ_A, "2024-04-01", PlacementKind::Enterprise).end_placement(2, XQ_A, "2024-05-01");
    let (_dir, rm) = w.project();
    assert_eq!(outstanding(&rm, "120111", "2024-03-15"), vec![(d("2024-03-01"), d("2024-03-01"), 14)]);
    assert_eq!(outstanding(&rm, "120111", "2024-04-01"), vec![]);
    assert_eq!(outstanding(&rm, "120111", "2024-04-30"), vec![]);
    assert_eq!(outstanding(&rm, "120111", "2024-05-15"), vec![(d("2024-03-01"), d("2024-05-01"), 14)]);
    let r = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-05-15");
    assert_eq!(nd(&r, "zero_employment_households_outstanding"), (1, None));
}

#[test]
fn household_members_moving_in_and_out() {
    // TARGETS.md "Households": a person counts for H only while a member; a member placed
    // before joining is an employed member from the join; a member who leaves stops being
    // one on the day they leave. domain.md §2.3: zero-employment = every member of working
    // age with wish to work is unemployed; cleared = at least one member placed.
    // H2: C1 registers 2024-02-01 naming H2, recognised zero-employment household 2024-02-05
    //     (identified 02-05). D1 (registered 2024-01-02 in no household, placed 2024-01-20,
    //     still working) joins H2 on 2024-04-01 → cleared from 04-01 (an employed member).
    //     D1 leaves H2 on 2024-06-01 → zero-employment again from 06-01.
    // As of 03-31: outstanding since 02-05 (55 days). 04-01: none. 06-10: since 06-01, 9 days.
    // H3: E1 registers 2024-02-01 naming H3 with the group; E1 leaves H3 on 2024-03-01;
    //     F1 (a member from 2024-02-01, no signal, unemployed) stays. After E1 left nobody
    //     left in H3 carries a signal: not identified → not outstanding from 03-01.
    let (h2, h3) = (Uuid::from_u128(0xB2), Uuid::from_u128(0xB3));
    let member = |h| HouseholdMembership { household_id: h, relation: HouseholdRelation::Other };
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2024-02-01", &[], Some(h2));
    w.recognise(1, XQ_A, "2024-02-05", &[DifficultyCategory::ZeroEmploymentHousehold], "2024-02-05", "2025-02-04");
    w.register(2, XQ_A, "2024-01-02").place(2, XQ_A, "2024-01-20", PlacementKind::Enterprise);
    w.person(2, XQ_A, "2024-04-01", PersonFact::HouseholdJoined(member(h2)));
    w.person(2, XQ_A, "2024-06-01", PersonFact::HouseholdLeft(HouseholdLeave { household_id: h2 }));
    w.register_full(3, XQ_B, "120111", "2024-02-01", &[PersonGroup::ZeroEmploymentHousehold], Some(h3));
    w.register_full(4, XQ_B, "120111", "2024-02-01", &[], Some(h3));
    w.person(3, XQ_B, "2024-03-01", PersonFact::HouseholdLeft(HouseholdLeave { household_id: h3 }));
    let (_dir, rm) = w.project();
    assert_eq!(outstanding(&rm, "120111001", "2024-03-31"), vec![(d("2024-02-05"), d("2024-02-05"), 55)]);
    assert_eq!(outstanding(&rm, "120111001", "2024-04-01"), vec![]);
    assert_eq!(outstanding(&rm, "120111001", "2024-06-10"), vec![(d("2024-02-05"), d("2024-06-01"), 9)]);
    assert_eq!(outstanding(&rm, "120111002", "2024-02-29").len(), 1);
    assert_eq!(outstanding(&rm, "120111002", "2024-03-01"), vec![]);
}

#[test]
fn a_member_whose_registration_closed_as_employed_clears_the_household() {
    // domain.md §2.3: zero-employment = "every member of working age with labour capacity
    // and wish to work is unemployed"; cleared = "at least one member placed" (001 § 9,
    // 003 § 14 "确保零就业家庭动态清零"). domain.md §2.1: a registration exits with reason
    // "employed"; TARGETS.md counts such an exit as re-employment ("the spell closed in it
    // by an exit with reason `employed`").
    // H4: K1 registers 2024-02-01 naming H4 with the group zero-employment household (the
    // only member); K1's registration is exited on 2024-03-01 with reason employed (K1
    // found work; no placement fact recorded).
    // As of 2024-02-15: outstanding (since 02-01). As of 2024-03-15: K1 is employed, so not
    // every member is unemployed: cleared → none outstanding. Expected [] on 03-15.
    let h = Uuid::from_u128(0xD4);
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2024-02-01", &[PersonGroup::ZeroEmploymentHousehold], Some(h));
    w.exit(1, XQ_A, "2024-03-01", ExitReason::Employed);
    let (_dir, rm) = w.project();
    assert_eq!(outstanding(&rm, "120111", "2024-02-15").len(), 1);
    let r = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-03-15");
    assert_eq!(nd(&r, "reemployment_rate"), (1, Some(1)), "re-employed by the exit");
    assert_eq!(outstanding(&rm, "120111", "2024-03-15"), vec![], "a member employed: cleared");
}

// === graduates who left school unemployed (001 § 8) ===

fn register_graduate(w: &mut World, seq: u32, community: &str, on: &str) {
    w.register_full(seq, community, "120111", on, &[PersonGroup::GraduateUnemployedAfterSchool], None);
}

#[test]
fn graduates_served_by_any_service_in_their_spell() {
    // 001 § 8 "对离校未就业高校毕业生开展实名帮扶…实现离校未就业高校毕业生服务率100%、就业率95%以上";
    // TARGETS.md: served = a contact, recommendation or training enrolment from the spell's
    // registration to E. Year 2025, A = 2025-12-31, Xiqing.
    // G1 registered 2025-07-01 (group), recommended a job 2025-07-03 → served; placed 08-01.
    // G2 registered 2025-07-01 (group), enrolled in vocational training 2025-09-01 → served.
    // G3 registered 2025-07-01 (group), nothing → not served.
    // N1 registered 2025-07-01 without the group, contacted → not a graduate: outside both.
    // Service 2 / 3 (goal 100 %, not met); employment 1 / 3 (goal ≥ 95 %, not met).
    let mut w = World::default();
    register_graduate(&mut w, 1, XQ_A, "2025-07-01");
    w.recommend(1, XQ_A, "2025-07-03", false).place(1, XQ_A, "2025-08-01", PlacementKind::Enterprise);
    register_graduate(&mut w, 2, XQ_A, "2025-07-01");
    w.enrol(2, XQ_A, "2025-09-01", "t", TrainingProgramme::VocationalSkills);
    register_graduate(&mut w, 3, XQ_B, "2025-07-01");
    w.register(4, XQ_A, "2025-07-01").contact(4, XQ_A, "2025-07-01");
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2025-01-01", "2025-12-31", "2025-12-31");
    assert_eq!(t(&r, "graduate_service_rate"), Some((2, Some(3), "100 %", Some(false))));
    assert_eq!(t(&r, "graduate_employment_rate"), Some((1, Some(3), "≥ 95 %", Some(false))));
    let hp = report(&rm, "120101", "2025-01-01", "2025-12-31", "2025-12-31");
    assert_eq!(nd(&hp, "graduate_service_rate"), (0, Some(0)));
}

#[test]
fn a_graduate_placed_after_school_is_not_a_school_leaver_without_a_job_when_registering_again() {
    // 001 § 8: "对离校未就业高校毕业生开展实名帮扶，建立工作台账，实行销号管理" — a graduate who
    // left school without a job is on the ledger until placed, then struck off (销号).
    // domain.md §2.1: groups are carried by the registration ("registered unemployed …
    // carries … groups"); §2.4 "离校未就业高校毕业生 (graduates who left school without a job)".
    // G1 registered 2022-07-01 listing the group, placed 2022-08-01 (struck off); the job
    // ends 2024-12-31; G1 registers again on 2025-03-01 WITHOUT the group (no longer a school
    // leaver without a job: G1 left school and worked for two years). Not served, not placed.
    // Year 2025: G1's spell is not a graduate's → graduate rates 0 / 0; the re-employment
    // rate counts G1 (0 / 1).
    let mut w = World::default();
    register_graduate(&mut w, 1, XQ_A, "2022-07-01");
    w.place(1, XQ_A, "2022-08-01", PlacementKind::Enterprise).end_placement(1, XQ_A, "2024-12-31");
    w.register(1, XQ_A, "2025-03-01");
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2025-01-01", "2025-12-31", "2025-12-31");
    assert_eq!(nd(&r, "reemployment_rate"), (0, Some(1)));
    assert_eq!(nd(&r, "graduate_service_rate"), (0, Some(0)), "the 2025 registration lists no graduate group");
    assert_eq!(nd(&r, "graduate_employment_rate"), (0, Some(0)));
}

// === re-employment rate (001 § 9) ===

#[test]
fn reemployment_rate_ninety_percent_inclusive_and_spells_outside_the_period() {
    // 001 § 9 "确保登记失业人员就业率不低于90%": 不低于 includes 90 %. domain.md §3: persons
    // with an unemployment spell open at any time in the period; share placed within it.
    // Year 2024, A = 2024-12-31, Xiqing.
    // R1..R9 registered 2024-02-01, placed 2024-03-01 (kinds: enterprise, flexible,
    //   self-employed, start-up, public-welfare, community-service, internship, enterprise,
    //   flexible) → 9 re-employed.
    // R10 registered 2024-12-31, placed 2025-01-02 → in the denominator, not placed in 2024.
    // R11 registered 2023-05-01, placed 2023-06-01 → spell closed before 2024: not counted.
    // R12 registered 2025-01-01 → after T: not counted.
    // 9 / 10 = 90 %: met. Heping: 0 / 0 bare. A Xiqing street: bare (a district's goal).
    let kinds = [
        PlacementKind::Enterprise,
        PlacementKind::Flexible,
        PlacementKind::SelfEmployed,
        PlacementKind::StartUp,
        PlacementKind::PublicWelfarePost,
        PlacementKind::CommunityServicePost,
        PlacementKind::Internship,
        PlacementKind::Enterprise,
        PlacementKind::Flexible,
    ];
    let mut w = World::default();
    for (i, k) in kinds.into_iter().enumerate() {
        let s = i as u32 + 1;
        w.register(s, XQ_A, "2024-02-01").place(s, XQ_A, "2024-03-01", k);
    }
    w.register(10, XQ_B, "2024-12-31").place(10, XQ_B, "2025-01-02", PlacementKind::Enterprise);
    w.register(11, XQ_B, "2023-05-01").place(11, XQ_B, "2023-06-01", PlacementKind::Enterprise);
    w.register(12, XQ_B, "2025-01-01");
    let (_dir, rm) = w.project();
    let r = report(&rm, "120111", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&r, "reemployment_rate"), Some((9, Some(10), "≥ 90 %", Some(true))));
    let street = report(&rm, "120111001", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&street, "reemployment_rate"), Some((9, Some(9), "", None)));
    let city = report(&rm, "", "2024-01-01", "2024-12-31", "2024-12-31");
    assert_eq!(t(&city, "reemployment_rate"), Some((9, Some(10), "", None)));
}

// === batch layoffs (000 § 3) ===

#[test]
fn batch_layoffs_twenty_and_forty_inclusive_and_only_xiqing_judged() {
    // 000 § 3 "对20人以上批量退工减员企业实时预警、动态跟踪、主动服务…对40人以上批量退工减员企业
    // 提供技能培训、专场招聘等公共就业服务"; 以上 includes the number. Deadline 30 days
    // (TARGETS.md local rule). Year 2024, A = 2024-12-31.
    // E1 (Xiqing): 19 people 2024-03-01 → neither target.
    // E1: 20 people 2024-04-01, tracking visit 2024-05-01 (day 30) → 20-target followed.
    // E2 (Xiqing): 40 people 2024-06-01, job fair 06-10 only → 20: followed; 40: not.
    // E2: 45 people 2024-08-01, skills training 08-05, job fair 08-31 (day 30) → both.
    // E3 (Heping): 50 people 2024-05-01, nothing → Heping's, bare.
    // Xiqing: 20-target 3 / 3 met; 40-target 1 / 2 not met. Heping: 0 / 1 and 0 / 1 bare.
    let mut w = World::default();
    let layoff = |id: &str, people: u32| {
        EnterpriseFact::BatchLayoffReported(BatchLayoff {
            layoff_id: id.into(),
            people: std::num::NonZeroU32::new(people).unwrap(),
        })
    };
    let serve = |id: &str, service| {
        EnterpriseFact::LayoffServiceProvided(LayoffServiceProvision { layoff_id: id.into(), service })
    };
    for (seq, district) in [(1, "120111"), (2, "120111"), (3, "120101")] {
        w.register_enterprise(seq, district, "2023-01-01");
    }
    w.enterprise(1, "120111", "2024-03-01", layoff("a", 19));
    w.enterprise(1, "120111", "2024-04-01", layoff("b", 20));
    w.enterprise(1, "120111", "2024-05-01", serve("b", LayoffService::TrackingVisit));
    w.enterprise(2, "120111", "2024-06-01", layoff("c", 40));
    w.enterprise(2, "120111", "2024-06-10", serve("c", LayoffService::JobFair));
    w.enterprise(2, "120111", "2024-08-01", layoff("d", 45));
    w.enterprise(2, "120111", "2024-08-05", serve("d", LayoffService::SkillsTraining));
    w.enterprise(2, "120111", "2024-08-31", serve("d", LayoffService::JobFair));
    w.enterprise(3, "120101", "2024-05-01", layoff("e", 50));
    let (_dir, rm) = w.project();
    let y = |jc: &str| report(&rm, jc, "2024-01-01", "2024-12-31", "2024-12-31");
    let xq = y("120111");
    assert_eq!(t(&xq, "batch_layoffs_20_followed"), Some((3, Some(3), "every one", Some(true))));
    assert_eq!(t(&xq, "batch_layoffs_40_followed"), Some((1, Some(2), "every one", Some(false))));
    let hp = y("120101");
    assert_eq!(t(&hp, "batch_layoffs_20_followed"), Some((0, Some(1), "", None)));
    assert_eq!(t(&hp, "batch_layoffs_40_followed"), Some((0, Some(1), "", None)));
    assert!(t(&y("120111001"), "batch_layoffs_20_followed").is_none());
}

// === goals only where and when a document sets them ===

#[test]
fn goals_follow_the_document_that_sets_them() {
    // domain.md §3: "A goal belongs to the jurisdiction whose document sets it (the goals of
    // 001 are Xiqing's, and yearly): compare a figure with a goal only there and for a
    // matching period, and show the bare figure elsewhere."
    // 003 § 14 "确保零就业家庭动态清零" is the city's; 001 § 9 the same for Xiqing. A Xiqing
    // street has no document of its own: bare. Binhai (002) and Heping (004) set no
    // zero-employment goal: bare.
    // One outstanding household in XQ_A (identified 2024-02-01), A = 2024-03-01, year 2024:
    //   city: 1, goal "0", not met; Xiqing: 1, not met; street 120111001: 1, bare;
    //   Binhai 120116: 0, bare; Heping: 0, bare.
    // 003 专栏1 "开展补贴性职业技能培训（万人次）…（70）" is the city's cumulative 2021–2025
    // figure: one completed training in 2024 → city over 2021–2025: 1, goal present, not
    // met; Xiqing over 2021–2025: 1, bare; city over 2024: 1, bare.
    let h = Uuid::from_u128(0xC1);
    let mut w = World::default();
    w.register_full(1, XQ_A, "120111", "2024-02-01", &[PersonGroup::ZeroEmploymentHousehold], Some(h));
    w.enrol(1, XQ_A, "2024-02-02", "t", TrainingProgramme::VocationalSkills).complete(1, XQ_A, "2024-02-20", "t");
    let (_dir, rm) = w.project();
    let z = |jc: &str| {
        let r = report(&rm, jc, "2024-01-01", "2024-12-31", "2024-03-01");
        t(&r, "zero_employment_households_outstanding").map(|v| (v.0, v.2.is_empty(), v.3))
    };
    assert_eq!(z(""), Some((1, false, Some(false))));
    assert_eq!(z("120111"), Some((1, false, Some(false))));
    assert_eq!(z("120111001"), Some((1, true, None)));
    assert_eq!(z("120116"), Some((0, true, None)));
    assert_eq!(z("120101"), Some((0, true, None)));
    let p = |jc: &str, from: &str, to: &str| {
        let r = report(&rm, jc, from, to, "2025-12-31");
        t(&r, "subsidised_training_person_times").map(|v| (v.0, v.2.is_empty(), v.3))
    };
    assert_eq!(p("", "2021-01-01", "2025-12-31"), Some((1, false, Some(false))));
    assert_eq!(p("120111", "2021-01-01", "2025-12-31"), Some((1, true, None)));
    assert_eq!(p("", "2024-01-01", "2024-12-31"), Some((1, true, None)));
}
