//! Which goal applies to a target, where and when (domain.md §3).
//!
//! A goal belongs to the jurisdiction whose document sets it (the goals of
//! 001 and 000 are Xiqing's, 120111; those of 003 are the city's) and to the
//! period it was set for. A target is compared with a goal ‒ `goal` text and
//! `met` ‒ only when the report's jurisdiction, period and as-of date match a
//! goal of this catalogue; everywhere else the report carries the bare figure
//! (`goal` empty, `met` absent). The catalogue and its reading of each
//! document are in `projections/TARGETS.md`, "Goals".

use chrono::NaiveDate;

use crate::targets::{Jurisdiction, Period, TargetValue};

/// Where a goal applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Exactly this jurisdiction code ("" is the city).
    Exactly(&'static str),
    /// The district and each of its streets/towns (9 digits), e.g. a rule
    /// "各街镇…" of a district's document; not its communities.
    DistrictAndStreets(&'static str),
}

impl Scope {
    fn covers(self, j: &Jurisdiction) -> bool {
        match self {
            Self::Exactly(code) => j.code() == code,
            Self::DistrictAndStreets(district) => {
                j.code().starts_with(district) && matches!(j.code().len(), 6 | 9) && district.len() == 6
            }
        }
    }
}

/// The periods a goal was set for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// "每年…": a calendar year `[YYYY-01-01, YYYY-12-31]`, for the years
    /// `first..=last`.
    Yearly { first: i32, last: i32 },
    /// A cumulative figure over exactly this period (e.g. "（70）" in 003
    /// 专栏1: 2021–2025), compared only when the report's period is it.
    Exactly { from: (i32, u32, u32), to: (i32, u32, u32) },
    /// A rate the document says must hold throughout its term ("确保…不低于",
    /// "保持在…以上"): any period lying within `[from, to]` (`to` open when
    /// `None`: no end stated).
    Within { from: (i32, u32, u32), to: Option<(i32, u32, u32)> },
    /// A stock on the as-of date (a list that must be empty, a share of the
    /// people in posts on a day): when the as-of date lies within `[from, to]`.
    OnDate { from: (i32, u32, u32), to: Option<(i32, u32, u32)> },
}

fn ymd((y, m, d): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

impl When {
    fn covers(self, period: Period, a: NaiveDate) -> bool {
        let until = |to: Option<(i32, u32, u32)>| to.map_or(NaiveDate::MAX, ymd);
        match self {
            Self::Yearly { first, last } => {
                use chrono::Datelike;
                let y = period.from.year();
                (first..=last).contains(&y) && period.from == ymd((y, 1, 1)) && period.to == ymd((y, 12, 31))
            }
            Self::Exactly { from, to } => period.from == ymd(from) && period.to == ymd(to),
            Self::Within { from, to } => ymd(from) <= period.from && period.to <= until(to),
            Self::OnDate { from, to } => ymd(from) <= a && a <= until(to),
        }
    }
}

/// What meeting a goal means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Test {
    /// The rate (numerator / denominator) is at least this share; not judged
    /// when the denominator is 0.
    ShareAtLeast(f64),
    /// The count (numerator) is at least this.
    AtLeast(i64),
    /// The count is 0.
    Zero,
}

/// One goal of a document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goal {
    /// The target id it applies to (TARGETS.md).
    pub target: &'static str,
    pub scope: Scope,
    pub when: When,
    pub test: Test,
    /// The goal as the document states it, e.g. "≥ 90 %".
    pub text: &'static str,
    /// The clause that sets it.
    pub source: &'static str,
}

const XIQING: &str = "120111";
/// 001 (Xiqing, "乐业西青"): issued 2022-06-21, targets to 2025.
const XQ_001_FROM: (i32, u32, u32) = (2022, 6, 21);
const XQ_001_TO: Option<(i32, u32, u32)> = Some((2025, 12, 31));
/// 001's goals are yearly (domain.md §3: "the goals of 001 are Xiqing's, and
/// yearly"): the rates ("确保…不低于", "保持在…以上"), the counts ("每年…")
/// and the 300 posts are compared for a calendar year of its term, 2022
/// (issued 2022-06-21) to 2025 ("到2025年"); any other period shows the bare
/// figure. Its stocks (the lists that must be empty) are judged on an
/// as-of date within the term.
const XQ_001_YEARS: When = When::Yearly { first: 2022, last: 2025 };
/// 000 (Xiqing, stabilising employment): issued 2020-05-18, no end stated.
const XQ_000_FROM: (i32, u32, u32) = (2020, 5, 18);
/// 003 (the city's 14th five-year plan implementation): 2021–2025, issued 2022-05-05.
const CITY_003_FROM: (i32, u32, u32) = (2022, 5, 5);
const CITY_003_TO: Option<(i32, u32, u32)> = Some((2025, 12, 31));

/// Every goal the service knows, by document.
pub const GOALS: &[Goal] = &[
    // === 001 (Xiqing) ===
    Goal {
        target: "reemployment_rate",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::ShareAtLeast(0.9),
        text: "≥ 90 %",
        source: "001 § 9",
    },
    Goal {
        target: "long_term_unemployed",
        scope: Scope::Exactly(XIQING),
        when: When::OnDate { from: XQ_001_FROM, to: XQ_001_TO },
        test: Test::Zero,
        text: "none (0)",
        source: "001 § 9",
    },
    Goal {
        target: "zero_employment_households_outstanding",
        scope: Scope::Exactly(XIQING),
        when: When::OnDate { from: XQ_001_FROM, to: XQ_001_TO },
        test: Test::Zero,
        text: "0 (动态清零)",
        source: "001 § 9",
    },
    Goal {
        target: "difficulty_employment_rate",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::ShareAtLeast(0.9),
        text: "≥ 90 %",
        source: "001 § 9",
    },
    Goal {
        target: "graduate_service_rate",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::ShareAtLeast(1.0),
        text: "100 %",
        source: "001 § 8",
    },
    Goal {
        target: "graduate_employment_rate",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::ShareAtLeast(0.95),
        text: "≥ 95 %",
        source: "001 § 8",
    },
    Goal {
        target: "matchmaker_same_day_contact_rate",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::ShareAtLeast(1.0),
        text: "100 %",
        source: "001 § 14",
    },
    Goal {
        target: "matchmaker_two_way_rate",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::ShareAtLeast(1.0),
        text: "100 %",
        source: "001 § 14",
    },
    // "到2025年，全区所有社区和行政村均达到…标准": on a day of 2025.
    Goal {
        target: "full_employment_communities",
        scope: Scope::Exactly(XIQING),
        when: When::OnDate { from: (2025, 1, 1), to: Some((2025, 12, 31)) },
        test: Test::ShareAtLeast(1.0),
        text: "every community by 2025",
        source: "001 § 10",
    },
    // "开发300个以上公益性岗位和社区服务岗位": a year's task, as every goal of 001 (domain.md §3).
    Goal {
        target: "welfare_posts_developed",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::AtLeast(300),
        text: "≥ 300 posts / year",
        source: "001 § 9",
    },
    Goal {
        target: "startup_trainees",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::AtLeast(2500),
        text: "≥ 2 500 / year",
        source: "001 § 7",
    },
    Goal {
        target: "internship_posts",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::AtLeast(2000),
        text: "≥ 2 000 / year",
        source: "001 § 8",
    },
    Goal {
        target: "interns",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::AtLeast(1000),
        text: "≥ 1 000 / year",
        source: "001 § 8",
    },
    // "每年发放创业担保贷款不低于5000万元": 50 M yuan = 5 000 000 000 fen.
    Goal {
        target: "guarantee_loans_principal_fen",
        scope: Scope::Exactly(XIQING),
        when: XQ_001_YEARS,
        test: Test::AtLeast(5_000_000_000),
        text: "≥ 50 000 000 yuan / year",
        source: "001 § 4",
    },
    // === 000 (Xiqing) ===
    Goal {
        target: "monthly_followup_rate",
        scope: Scope::Exactly(XIQING),
        when: When::Within { from: XQ_000_FROM, to: None },
        test: Test::ShareAtLeast(1.0),
        text: "100 %",
        source: "000 § 20",
    },
    // "各街镇公益性岗位安置本区户籍人员不低于职工总数的80%": each street/town, a stock.
    Goal {
        target: "public_welfare_local_share",
        scope: Scope::DistrictAndStreets(XIQING),
        when: When::OnDate { from: XQ_000_FROM, to: None },
        test: Test::ShareAtLeast(0.8),
        text: "≥ 80 % of staff",
        source: "000 § 12",
    },
    Goal {
        target: "batch_layoffs_20_followed",
        scope: Scope::Exactly(XIQING),
        when: When::Within { from: XQ_000_FROM, to: None },
        test: Test::ShareAtLeast(1.0),
        text: "every one",
        source: "000 § 3",
    },
    Goal {
        target: "batch_layoffs_40_followed",
        scope: Scope::Exactly(XIQING),
        when: When::Within { from: XQ_000_FROM, to: None },
        test: Test::ShareAtLeast(1.0),
        text: "every one",
        source: "000 § 3",
    },
    // === 003 (the city) ===
    Goal {
        target: "zero_employment_households_outstanding",
        scope: Scope::Exactly(""),
        when: When::OnDate { from: CITY_003_FROM, to: CITY_003_TO },
        test: Test::Zero,
        text: "0 (动态清零)",
        source: "003 § 14",
    },
    // 专栏1 "开展补贴性职业技能培训（万人次）…（70）": 5-year cumulative, 2021–2025.
    Goal {
        target: "subsidised_training_person_times",
        scope: Scope::Exactly(""),
        when: When::Exactly { from: (2021, 1, 1), to: (2025, 12, 31) },
        test: Test::AtLeast(700_000),
        text: "about 700 000 person-times, 2021–2025",
        source: "003 专栏1",
    },
];

/// The goal for `target` in `j`, over `period`, as of `a`, if any.
pub fn goal_for(target: &str, j: &Jurisdiction, period: Period, a: NaiveDate) -> Option<&'static Goal> {
    GOALS.iter().find(|g| g.target == target && g.scope.covers(j) && g.when.covers(period, a))
}

/// Sets `goal` and `met` of each target from the catalogue: the goal's text
/// and whether it is met where a goal applies; an empty goal and no `met`
/// elsewhere (the bare figure).
pub fn apply(j: &Jurisdiction, period: Period, a: NaiveDate, targets: &mut [TargetValue]) {
    for t in targets {
        match goal_for(t.id, j, period, a) {
            None => {
                t.goal = "";
                t.met = None;
            }
            Some(g) => {
                t.goal = g.text;
                t.met = match g.test {
                    Test::ShareAtLeast(share) => match t.denominator {
                        Some(d) if d > 0 => Some(t.numerator as f64 / d as f64 + 1e-12 >= share),
                        _ => None,
                    },
                    Test::AtLeast(n) => Some(t.numerator >= n),
                    Test::Zero => Some(t.numerator == 0),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn p(from: &str, to: &str) -> Period {
        Period::new(d(from), d(to)).unwrap()
    }

    fn j(code: &str) -> Jurisdiction {
        Jurisdiction::parse(code).unwrap()
    }

    #[test]
    fn yearly_goals_apply_to_a_calendar_year_of_xiqing_only() {
        let y = p("2024-01-01", "2024-12-31");
        assert!(goal_for("startup_trainees", &j("120111"), y, d("2024-12-31")).is_some());
        assert!(goal_for("startup_trainees", &j("120101"), y, d("2024-12-31")).is_none(), "Heping");
        assert!(goal_for("startup_trainees", &j(""), y, d("2024-12-31")).is_none(), "the city");
        assert!(goal_for("startup_trainees", &j("120111001"), y, d("2024-12-31")).is_none(), "a street");
        assert!(goal_for("startup_trainees", &j("120111"), p("2024-01-01", "2024-06-30"), d("2024-06-30")).is_none());
        assert!(goal_for("startup_trainees", &j("120111"), p("2024-01-02", "2025-01-01"), d("2025-01-01")).is_none());
        assert!(goal_for("startup_trainees", &j("120111"), p("2026-01-01", "2026-12-31"), d("2026-12-31")).is_none());
        assert!(goal_for("startup_trainees", &j("120111"), p("2021-01-01", "2021-12-31"), d("2021-12-31")).is_none());
    }

    #[test]
    fn rates_of_001_apply_to_a_calendar_year_of_its_term_and_stocks_on_a_date_within_it() {
        let q = p("2023-04-01", "2023-06-30");
        assert!(goal_for("reemployment_rate", &j("120111"), p("2023-01-01", "2023-12-31"), d("2023-12-31")).is_some());
        assert!(goal_for("reemployment_rate", &j("120111"), p("2022-01-01", "2022-12-31"), d("2022-12-31")).is_some());
        assert!(goal_for("reemployment_rate", &j("120111"), q, d("2023-06-30")).is_none(), "a quarter");
        assert!(goal_for("reemployment_rate", &j("120111"), p("2025-07-01", "2026-01-01"), d("2026-01-01")).is_none());
        assert!(
            goal_for("welfare_posts_developed", &j("120111"), p("2024-01-01", "2024-12-31"), d("2024-12-31")).is_some()
        );
        assert!(
            goal_for("welfare_posts_developed", &j("120111"), p("2022-06-21", "2025-12-31"), d("2025-12-31")).is_none()
        );
        // 000's rates hold from its issue on, for any period.
        assert!(goal_for("monthly_followup_rate", &j("120111"), q, d("2023-06-30")).is_some());
        assert!(goal_for("long_term_unemployed", &j("120111"), q, d("2025-12-31")).is_some());
        assert!(goal_for("long_term_unemployed", &j("120111"), q, d("2026-01-01")).is_none());
        // 000 § 12: Xiqing and each of its streets/towns, not a community, not another district.
        for code in ["120111", "120111001"] {
            assert!(goal_for("public_welfare_local_share", &j(code), q, d("2030-01-01")).is_some(), "{code}");
        }
        for code in ["120111001001", "120101", "120101001", ""] {
            assert!(goal_for("public_welfare_local_share", &j(code), q, d("2030-01-01")).is_none(), "{code}");
        }
        // 003: the city's clearance goal; 700 000 person-times over exactly 2021–2025.
        assert!(goal_for("zero_employment_households_outstanding", &j(""), q, d("2023-06-30")).is_some());
        let five = p("2021-01-01", "2025-12-31");
        assert!(goal_for("subsidised_training_person_times", &j(""), five, d("2025-12-31")).is_some());
        assert!(goal_for("subsidised_training_person_times", &j("120111"), five, d("2025-12-31")).is_none());
        assert!(goal_for("subsidised_training_person_times", &j(""), q, d("2023-06-30")).is_none());
    }

    fn value(id: &'static str, numerator: i64, denominator: Option<i64>) -> TargetValue {
        TargetValue { id, title: "", numerator, denominator, value: 0.0, goal: "stale", met: Some(true), source: "" }
    }

    #[test]
    fn apply_judges_where_a_goal_applies_and_clears_goal_and_met_elsewhere() {
        let y = p("2024-01-01", "2024-12-31");
        let mut t = [
            value("reemployment_rate", 9, Some(10)),
            value("difficulty_employment_rate", 0, Some(0)),
            value("interns", 999, None),
            value("long_term_unemployed", 1, None),
            value("guarantee_loans_principal_fen", 5_000_000_000, None),
            value("long_term_at_risk", 3, None),
        ];
        apply(&j("120111"), y, d("2024-12-31"), &mut t);
        let got: Vec<(&str, Option<bool>)> = t.iter().map(|t| (t.goal, t.met)).collect();
        assert_eq!(
            got,
            vec![
                ("≥ 90 %", Some(true)),
                ("≥ 90 %", None),
                ("≥ 1 000 / year", Some(false)),
                ("none (0)", Some(false)),
                ("≥ 50 000 000 yuan / year", Some(true)),
                ("", None),
            ]
        );
        let mut t = [value("reemployment_rate", 9, Some(10))];
        apply(&j("120101"), y, d("2024-12-31"), &mut t);
        assert_eq!((t[0].goal, t[0].met), ("", None), "Heping: the bare figure");
    }
}
