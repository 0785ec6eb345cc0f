//! Statutory retirement age, table-tested against the official conversion of
//! the 2024-09-13 decision (国务院关于渐进式延迟法定退休年龄的办法, 附件1-3):
//! the rows at every step boundary, the caps, and the boundaries of
//! "距法定退休年龄不足N年".
//!
//! Arithmetic used in the comments: `idx` = months from the first birth month
//! of the schedule to the person's birth month; `steps = idx / per + 1`
//! (cohort 0 already gets one month), capped at `(max − base) × 12`.

use leye_domain::{Date, values::Gender};
use leye_policy::{
    Catalogue, PostType, RetirementAge, less_than_one_year_to_retirement, retirement_date, within_years_of_retirement,
};

fn d(s: &str) -> Date {
    Date::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn age(birth: &str, gender: Gender, post: PostType) -> RetirementAge {
    let cat = Catalogue::shipped().unwrap();
    cat.current_retirement_law().retirement(d(birth), gender, post).0
}

fn check(rows: &[(&str, u32, u32, &str)], gender: Gender, post: PostType) {
    for (birth, y, m, retires) in rows {
        assert_eq!(age(birth, gender, post), RetirementAge { years: *y, months: *m }, "age for born {birth}");
        assert_eq!(retirement_date(d(birth), gender, post), d(retires), "retirement date for born {birth}");
    }
}

#[test]
fn men_60_to_63_one_month_per_four_birth_months_from_1965_01() {
    check(
        &[
            // before the first cohort: 60
            ("1964-12-15", 60, 0, "2024-12-15"),
            // idx 0 → 0/4+1 = 1 step: 60y1m, retiring 2025-02 (official row 1965-01..04 → 2025-02..05)
            ("1965-01-15", 60, 1, "2025-02-15"),
            // idx 3 → 3/4+1 = 1: still 60y1m
            ("1965-04-15", 60, 1, "2025-05-15"),
            // idx 4 → 4/4+1 = 2: 60y2m (official row 1965-05..08 → 2025-07..10)
            ("1965-05-15", 60, 2, "2025-07-15"),
            // idx 7 → 7/4+1 = 2
            ("1965-08-15", 60, 2, "2025-10-15"),
            // idx 8 → 3: 60y3m
            ("1965-09-15", 60, 3, "2025-12-15"),
            // idx 60 → 60/4+1 = 16 months: 61y4m
            ("1970-01-15", 61, 4, "2031-05-15"),
            // idx 139 → 34+1 = 35: 62y11m
            ("1976-08-15", 62, 11, "2039-07-15"),
            // idx 140 → 35+1 = 36 = (63−60)×12: 63 reached (official last row 1976-09..12 → 2039-09..12)
            ("1976-09-15", 63, 0, "2039-09-15"),
            ("1976-12-15", 63, 0, "2039-12-15"),
            // idx 144 → 37 steps, capped at 36: 63
            ("1977-01-15", 63, 0, "2040-01-15"),
            ("1990-06-15", 63, 0, "2053-06-15"),
        ],
        Gender::Male,
        PostType::Worker,
    );
    // a man's post does not matter
    assert_eq!(age("1965-05-15", Gender::Male, PostType::Cadre), RetirementAge { years: 60, months: 2 });
}

#[test]
fn women_cadres_55_to_58_one_month_per_four_birth_months_from_1970_01() {
    check(
        &[
            ("1969-12-15", 55, 0, "2024-12-15"),
            // idx 0 → 1: 55y1m
            ("1970-01-15", 55, 1, "2025-02-15"),
            // idx 3 → 1
            ("1970-04-15", 55, 1, "2025-05-15"),
            // idx 4 → 2
            ("1970-05-15", 55, 2, "2025-07-15"),
            // idx 139 → 35: 57y11m
            ("1981-08-15", 57, 11, "2039-07-15"),
            // idx 140 → 36: 58
            ("1981-09-15", 58, 0, "2039-09-15"),
            // idx 144 → 37, capped: 58
            ("1982-01-15", 58, 0, "2040-01-15"),
        ],
        Gender::Female,
        PostType::Cadre,
    );
}

#[test]
fn women_workers_50_to_55_one_month_per_two_birth_months_from_1975_01() {
    check(
        &[
            ("1974-12-15", 50, 0, "2024-12-15"),
            // idx 0 → 0/2+1 = 1: 50y1m
            ("1975-01-15", 50, 1, "2025-02-15"),
            // idx 1 → 1/2+1 = 1
            ("1975-02-15", 50, 1, "2025-03-15"),
            // idx 2 → 2/2+1 = 2: 50y2m
            ("1975-03-15", 50, 2, "2025-05-15"),
            // idx 3 → 2
            ("1975-04-15", 50, 2, "2025-06-15"),
            // idx 117 → 58+1 = 59: 54y11m
            ("1984-10-15", 54, 11, "2039-09-15"),
            // idx 118 → 59+1 = 60 = (55−50)×12: 55
            ("1984-11-15", 55, 0, "2039-11-15"),
            ("1984-12-15", 55, 0, "2039-12-15"),
            // idx 120 → 61, capped: 55
            ("1985-01-15", 55, 0, "2040-01-15"),
        ],
        Gender::Female,
        PostType::Worker,
    );
}

#[test]
fn a_birth_on_the_31st_retires_on_the_last_day_of_a_shorter_month() {
    // 1965-01-31 + 60y1m = 2025-02-31 → 2025-02-28
    assert_eq!(retirement_date(d("1965-01-31"), Gender::Male, PostType::Worker), d("2025-02-28"));
}

#[test]
fn the_law_in_force_when_the_age_is_reached_decides() {
    let cat = Catalogue::shipped().unwrap();
    // born 1964-12: turns 60 on 2024-12-15 under the 1978 law, which is then in force
    assert_eq!(cat.retirement(d("1964-12-15"), Gender::Male, PostType::Worker).1, d("2024-12-15"));
    // born 1965-01: would turn 60 in 2025-01, when the 2024 decision is in force: 60y1m
    assert_eq!(cat.retirement(d("1965-01-15"), Gender::Male, PostType::Worker).1, d("2025-02-15"));
    // the 1978 law on its own still says 60 for him (kept for the record)
    let old = cat.retirement_law_on(d("2024-06-01")).unwrap();
    assert_eq!(old.retirement(d("1965-01-15"), Gender::Male, PostType::Worker).1, d("2025-01-15"));
}

#[test]
fn less_than_n_years_is_strict_at_both_ends() {
    // man born 1965-01-15 retires 2025-02-15; five years before: 2020-02-15
    let r = retirement_date(d("1965-01-15"), Gender::Male, PostType::Worker);
    assert_eq!(r, d("2025-02-15"));
    // exactly 5 years to go is not "不足5年"
    assert!(!within_years_of_retirement(r, 5, d("2020-02-15")));
    assert!(within_years_of_retirement(r, 5, d("2020-02-16")));
    assert!(within_years_of_retirement(r, 5, d("2025-02-14")));
    // on the retirement date the age is reached: no longer "before" it
    assert!(!within_years_of_retirement(r, 5, d("2025-02-15")));
    // "不足1年"
    assert!(!less_than_one_year_to_retirement(r, d("2024-02-15")));
    assert!(less_than_one_year_to_retirement(r, d("2024-02-16")));
    assert!(less_than_one_year_to_retirement(r, d("2025-02-14")));
    assert!(!less_than_one_year_to_retirement(r, d("2025-02-15")));
}
