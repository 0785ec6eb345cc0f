//! The target parameters the sources leave to local rule, the budget lines
//! and the context figures (the `[targets]` table of the config file;
//! projections/TARGETS.md, "Parameters" and "Budgets and context figures").

use serde::{Deserialize, Serialize};

use crate::targets::Jurisdiction;

/// Parameters the sources leave to local rule, with their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetParams {
    /// A spell is long-term once it has lasted this many months or more
    /// (001 § 9: "半年以上", 以上 includes the number: 6).
    pub long_term_months: u32,
    /// The long-term list looks back this many years (001 § 9: 2).
    pub lookback_years: u32,
    /// An open spell is "at risk" once it has lasted this many months (local rule; default 5).
    pub at_risk_after_months: u32,
    /// Days a zero-employment household may stay uncleared before it is overdue
    /// (local rule; default 30, "一个月内").
    pub zero_employment_clearance_days: u32,
    /// Day of the calendar month on which a follow-up month begins (1..=28; default 1:
    /// calendar months).
    pub followup_month_start_day: u32,
    /// Registrations with no contact for this many months are listed for
    /// review for exit (动态退出, 000 § 20; local rule; default 3).
    pub exit_review_months: u32,
    /// Days within which a two-way recommendation must follow registration (001 § 14: 3).
    pub recommendation_days: u32,
    /// Days after a batch layoff of 20 or more people within which the
    /// services it calls for count as following it (000 § 3 says "实时预警"
    /// without a number; local rule, default 30: one month).
    pub batch_layoff_service_days: u32,
    /// Annual amounts that grants are held against (budgets, or amounts a
    /// jurisdiction must reach), reported beside the targets.
    pub budget: Vec<Budget>,
    /// Figures from outside the case files (new urban jobs, surveyed
    /// unemployment), reported beside the case-based ones as given.
    pub context: Vec<ContextFigure>,
}

/// An annual amount for a set of programmes in a jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub id: String,
    pub title: String,
    /// Jurisdiction code ("" for the city); reported for that jurisdiction only.
    #[serde(default)]
    pub jurisdiction: String,
    /// The year it is for; absent: every year (one line per calendar year of the period).
    #[serde(default)]
    pub year: Option<i32>,
    /// The first and last years the amount was set for (a plan's term);
    /// absent: no bound. Years of the period outside them get no line.
    #[serde(default)]
    pub first_year: Option<i32>,
    #[serde(default)]
    pub last_year: Option<i32>,
    /// Programme codes whose grants count against it.
    pub programmes: Vec<String>,
    pub amount_fen: i64,
    /// `budget` (granted should stay within it) or `floor` (granted should reach it).
    pub kind: BudgetKind,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetKind {
    Budget,
    Floor,
}

/// A figure reported as given, beside the case-based targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextFigure {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub jurisdiction: String,
    /// The period it refers to, as text (e.g. "2021–2025").
    pub period: String,
    pub value: f64,
    pub unit: String,
    pub source: String,
}

impl Eq for ContextFigure {}

impl Budget {
    /// Whether the amount was set for `year`.
    pub fn covers(&self, year: i32) -> bool {
        self.first_year.is_none_or(|f| f <= year) && self.last_year.is_none_or(|l| year <= l)
    }
}

impl Default for TargetParams {
    fn default() -> Self {
        Self {
            long_term_months: 6,
            lookback_years: 2,
            at_risk_after_months: 5,
            zero_employment_clearance_days: 30,
            followup_month_start_day: 1,
            exit_review_months: 3,
            recommendation_days: 3,
            batch_layoff_service_days: 30,
            budget: vec![Budget {
                id: "xiqing_startup_subsidies".into(),
                title: "西青区 创业补贴 start-up subsidies granted per year".into(),
                jurisdiction: "120111".into(),
                year: None,
                // 001's term: "每年…不低于5000万元" until 2025.
                first_year: Some(2022),
                last_year: Some(2025),
                // "各类创业补贴" (001 § 4): every kind of start-up subsidy granted
                // in Xiqing, Xiqing's own (000 § 13) and the municipal ones in
                // force there (002 #40, #42–#44; 000 § 13 builds on them). Not the
                // guarantee-loan interest subsidy: 001 § 4 counts loans apart,
                // by principal.
                programmes: [
                    "xiqing-startup-training",
                    "xiqing-startup-success",
                    "tianjin-startup-training",
                    "tianjin-startup-training-success",
                    "tianjin-startup-social-insurance",
                    "tianjin-startup-post-subsidy",
                    "tianjin-startup-one-time",
                    "tianjin-startup-rent",
                ]
                .map(String::from)
                .to_vec(),
                amount_fen: 50_000_000 * 100,
                kind: BudgetKind::Floor,
                source: "001 § 4".into(),
            }],
            context: vec![
                ContextFigure {
                    id: "city_new_urban_jobs_target".into(),
                    title: "城镇新增就业 new urban jobs, target".into(),
                    jurisdiction: String::new(),
                    period: "2021–2025".into(),
                    value: 1_750_000.0,
                    unit: "jobs".into(),
                    source: "003 专栏1".into(),
                },
                ContextFigure {
                    id: "city_surveyed_unemployment_ceiling".into(),
                    title: "城镇调查失业率 surveyed unemployment rate, ceiling".into(),
                    jurisdiction: String::new(),
                    period: "2021–2025".into(),
                    value: 5.5,
                    unit: "%".into(),
                    source: "003 专栏1".into(),
                },
                ContextFigure {
                    id: "xiqing_new_urban_jobs_target".into(),
                    title: "西青区 城镇新增就业 new urban jobs, target".into(),
                    jurisdiction: "120111".into(),
                    period: "2021–2025".into(),
                    value: 120_000.0,
                    unit: "jobs".into(),
                    source: "001 § 二".into(),
                },
            ],
        }
    }
}

impl TargetParams {
    /// Checks the parameters, naming the one at fault.
    pub fn validate(&self) -> Result<(), String> {
        // Every count bounded above too: a date moved by an absurd count would
        // leave the calendar, and no local rule needs more than ten years of anything.
        let ranges: [(&str, u32, std::ops::RangeInclusive<u32>); 7] = [
            ("followup_month_start_day", self.followup_month_start_day, 1..=28),
            ("batch_layoff_service_days", self.batch_layoff_service_days, 1..=366),
            ("long_term_months", self.long_term_months, 1..=120),
            ("lookback_years", self.lookback_years, 1..=10),
            ("exit_review_months", self.exit_review_months, 1..=120),
            ("recommendation_days", self.recommendation_days, 0..=366),
            ("zero_employment_clearance_days", self.zero_employment_clearance_days, 0..=3660),
        ];
        for (name, value, range) in ranges {
            if !range.contains(&value) {
                return Err(format!("{name}: must be {} to {} (got {value})", range.start(), range.end()));
            }
        }
        if self.at_risk_after_months >= self.long_term_months {
            return Err("at_risk_after_months: must be less than long_term_months".into());
        }
        for (i, b) in self.budget.iter().enumerate() {
            if Jurisdiction::parse(&b.jurisdiction).is_err() {
                return Err(format!("budget[{i}].jurisdiction: must be empty or a 6-, 9- or 12-digit Tianjin code"));
            }
            if b.amount_fen <= 0 || b.programmes.is_empty() {
                return Err(format!("budget[{i}]: needs a positive amount_fen and at least one programme"));
            }
        }
        for (i, c) in self.context.iter().enumerate() {
            if Jurisdiction::parse(&c.jurisdiction).is_err() {
                return Err(format!("context[{i}].jurisdiction: must be empty or a 6-, 9- or 12-digit Tianjin code"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_count_out_of_its_range_is_refused_by_name_and_the_edges_are_kept() {
        assert_eq!(TargetParams::default().validate(), Ok(()));
        type Set = fn(&mut TargetParams, u32);
        let counts: [(&str, Set, u32, u32); 5] = [
            ("long_term_months", |p, v| (p.long_term_months, p.at_risk_after_months) = (v, 0), 1, 120),
            ("lookback_years", |p, v| p.lookback_years = v, 1, 10),
            ("exit_review_months", |p, v| p.exit_review_months = v, 1, 120),
            ("recommendation_days", |p, v| p.recommendation_days = v, 0, 366),
            ("zero_employment_clearance_days", |p, v| p.zero_employment_clearance_days = v, 0, 3660),
        ];
        for (name, set, low, high) in counts {
            for ok in [low, high] {
                let mut p = TargetParams::default();
                set(&mut p, ok);
                assert_eq!(p.validate(), Ok(()), "{name} = {ok}");
            }
            for bad in [low.checked_sub(1), Some(high + 1), Some(u32::MAX)].into_iter().flatten() {
                let mut p = TargetParams::default();
                set(&mut p, bad);
                let refused = p.validate().expect_err(name);
                assert!(refused.starts_with(&format!("{name}: must be")), "{name} = {bad}: {refused}");
            }
        }
    }
}
