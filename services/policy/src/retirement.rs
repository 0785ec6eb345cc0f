//! Statutory retirement age (法定退休年龄), from dated data.
//!
//! Since 2025-01-01 the age rises gradually by birth month
//! (全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定, 2024-09-13):
//! men 60 → 63, one month more for every 4 months of birth from January 1965;
//! women in cadre posts 55 → 58, one month per 4 months from January 1970;
//! women workers 50 → 55, one month per 2 months from January 1975. The
//! parameters of that rule live in `policies/parameters.toml`
//! (`[[retirement_age]]`); this module only computes.
//!
//! # Counting
//! - The cohort of a birth month is `months since the first birth month /
//!   birth_months_per_step`; cohort 0 (e.g. men born 1965-01..1965-04) already
//!   gets the first step: 60 years 1 month.
//! - The delay never exceeds `max_years − base_years`: men born 1976-09..12
//!   reach 63 (36 steps), and from 1977-01 on the cap holds.
//! - The retirement date is the birth date plus the age in months; a birth on
//!   the 31st lands on the last day of a shorter month (chrono's clamping).
//!   The official table lists the retirement month; the day is ours.
//! - "距法定退休年龄不足N年" (less than N years to go) holds on `date` when
//!   `retirement − N years < date < retirement`: exactly N years before is not
//!   "不足" (less than); on or after the retirement date the person has reached
//!   it and is no longer "before" it.
//! - Which law: the one in force on the day the age is reached. The 2024
//!   decision is built so that its first cohorts reach the old age from
//!   2025-01 on (men born 1965-01 turn 60 in 2025-01), so everyone who retired
//!   before 2025 keeps the 1978 age and nobody falls between the two laws.

use chrono::Datelike;
use leye_domain::{Date, values::Gender};

use crate::{
    catalogue::default_catalogue,
    dates::{YearMonth, add_months, sub_months},
    model::{PostType, RetirementLaw, RetirementSchedule},
};

/// A statutory retirement age in years and months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RetirementAge {
    pub years: u32,
    pub months: u32,
}

impl RetirementAge {
    pub fn total_months(self) -> u32 {
        self.years * 12 + self.months
    }
}

impl std::fmt::Display for RetirementAge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}y{}m", self.years, self.months)
    }
}

impl RetirementSchedule {
    /// The statutory age for a person born in `birth`.
    pub fn age_for(&self, birth: YearMonth) -> RetirementAge {
        let base = self.base_years * 12;
        let total = match (self.from_birth_month, self.birth_months_per_step, self.months_per_step, self.max_years) {
            (Some(first), Some(per), Some(step), Some(max)) if per > 0 => {
                let since = first.months_until(birth);
                if since < 0 {
                    base
                } else {
                    // cohort 0 gets the first step
                    let steps = since as u32 / per + 1;
                    let cap = max.saturating_sub(self.base_years) * 12;
                    base + (steps * step).min(cap)
                }
            }
            _ => base,
        };
        RetirementAge { years: total / 12, months: total % 12 }
    }
}

impl RetirementLaw {
    /// The schedule that applies to a person.
    pub fn schedule(&self, gender: Gender, post: PostType) -> &RetirementSchedule {
        match (gender, post) {
            (Gender::Male, _) => &self.male,
            (Gender::Female, PostType::Cadre) => &self.female_cadre,
            (Gender::Female, PostType::Worker) => &self.female_worker,
        }
    }

    /// Statutory age and the date it is reached.
    pub fn retirement(&self, birth_date: Date, gender: Gender, post: PostType) -> (RetirementAge, Date) {
        let age = self.schedule(gender, post).age_for(YearMonth::of(birth_date));
        (age, add_months(birth_date, age.total_months()))
    }
}

/// The statutory retirement date from the shipped catalogue's laws: the law in
/// force on the day the age is reached decides ([`crate::Catalogue::retirement`]).
/// For men `post` is irrelevant.
pub fn retirement_date(birth_date: Date, gender: Gender, post: PostType) -> Date {
    default_catalogue().retirement(birth_date, gender, post).1
}

/// "距法定退休年龄不足 N 年": `retirement − N years < date < retirement`.
pub fn within_years_of_retirement(retirement: Date, years: u32, date: Date) -> bool {
    sub_months(retirement, years * 12) < date && date < retirement
}

/// "距法定退休年龄不足1年".
pub fn less_than_one_year_to_retirement(retirement: Date, date: Date) -> bool {
    within_years_of_retirement(retirement, 1, date)
}

/// The last day of the month in which `retirement` falls: periodic subsidies
/// extended "至退休" run through that month.
pub fn retirement_month_end(retirement: Date) -> Date {
    crate::dates::month_end(retirement)
}

/// Full years from the birth date to `date` (周岁).
pub fn age_in_years(birth_date: Date, date: Date) -> u32 {
    leye_domain::values::full_years_between(birth_date, date)
}

/// For messages: the month a date falls in.
pub(crate) fn month_of(date: Date) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}
