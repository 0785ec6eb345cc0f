//! The targets the district and city are held to (domain.md §3), computed from
//! the read model for a jurisdiction, a period and an as-of date.
//!
//! Every figure is computed on **effective dates** and only from facts whose
//! effective date is on or before the as-of date `A`: a placement dated after
//! `A` did not happen yet; a spell that ends after `A` is still open on `A`.
//! A period `P = [F, T]` is inclusive; facts in it are counted up to
//! `E = min(T, A)`. Formulas, with numerator and denominator, are in
//! `projections/TARGETS.md`; each function below restates its own.

use std::collections::{BTreeSet, HashMap};

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

/// A jurisdiction: the city, a district, a street/town or a community/village,
/// given by its code (empty for the city). Cases belong to it when their
/// 12-digit community code starts with that code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Jurisdiction(String);

/// The level of a jurisdiction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    City,
    District,
    Street,
    Community,
}

impl Jurisdiction {
    /// `""` (the city), 6 digits (district), 9 (street/town) or 12 (community/village).
    pub fn parse(code: &str) -> Result<Self, String> {
        let code = code.trim();
        if !code.bytes().all(|b| b.is_ascii_digit()) || ![0, 6, 9, 12].contains(&code.len()) {
            return Err("must be empty (the city) or a 6-, 9- or 12-digit division code".into());
        }
        if !code.is_empty() && !code.starts_with("12") {
            return Err("must be a Tianjin code (starting 12)".into());
        }
        Ok(Self(code.to_string()))
    }

    pub fn city() -> Self {
        Self(String::new())
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        match self.0.len() {
            0 => Level::City,
            6 => Level::District,
            9 => Level::Street,
            _ => Level::Community,
        }
    }

    /// Whether a community code lies in this jurisdiction.
    pub fn contains(&self, community: &str) -> bool {
        community.starts_with(&self.0)
    }

    /// The SQL `LIKE` pattern of community codes in this jurisdiction.
    pub fn like(&self) -> String {
        format!("{}%", self.0)
    }
}

pub use crate::params::{Budget, BudgetKind, ContextFigure, TargetParams};

/// An inclusive period of effective dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, String> {
        if from <= to { Ok(Self { from, to }) } else { Err("period: must not end before it starts".into()) }
    }

    pub fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }

    /// The as-of date when none is given, for every query and export alike:
    /// the end of the period, or `today` (Beijing time) if that is earlier.
    pub fn default_as_of(&self, today: NaiveDate) -> NaiveDate {
        self.to.min(today)
    }
}

/// `d` plus `n` calendar months; the 31st of a shorter month is its last day
/// (2026-08-31 + 6 months = 2027-02-28).
pub fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).unwrap_or(NaiveDate::MAX)
}

fn sub_years(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_sub_months(Months::new(12 * n)).unwrap_or(NaiveDate::MIN)
}

mod counts;
mod lists;
mod persons;
mod report;
mod split;
#[cfg(test)]
pub(crate) mod test_names;
pub use counts::*;
pub use lists::*;
pub use persons::*;
pub use report::*;

/// A computed target: the value with its numerator and denominator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetValue {
    /// Stable id, e.g. `reemployment_rate`.
    pub id: &'static str,
    pub title: &'static str,
    pub numerator: i64,
    /// `None` for counts (the value is the numerator).
    pub denominator: Option<i64>,
    /// The rate (0..=1) or the count.
    pub value: f64,
    /// The goal as text, e.g. "≥ 90 %".
    pub goal: &'static str,
    /// Whether the goal is met; `None` when the denominator is 0.
    pub met: Option<bool>,
    /// Source clause.
    pub source: &'static str,
}

impl TargetValue {
    fn rate(
        id: &'static str,
        title: &'static str,
        numerator: usize,
        denominator: usize,
        goal_share: f64,
        goal: &'static str,
        source: &'static str,
    ) -> Self {
        let value = if denominator == 0 { 0.0 } else { numerator as f64 / denominator as f64 };
        Self {
            id,
            title,
            numerator: numerator as i64,
            denominator: Some(denominator as i64),
            value,
            goal,
            met: (denominator > 0).then_some(value + 1e-12 >= goal_share),
            source,
        }
    }

    fn count(
        id: &'static str,
        title: &'static str,
        n: usize,
        met: bool,
        goal: &'static str,
        source: &'static str,
    ) -> Self {
        Self { id, title, numerator: n as i64, denominator: None, value: n as f64, goal, met: Some(met), source }
    }
}

// === households (零就业家庭) ===

/// One membership of a household, as known on the as-of date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub household_id: String,
    pub case_id: String,
    pub relation: String,
    pub joined_on: NaiveDate,
    /// First day no longer a member; `None` while a member on the as-of date.
    pub left_on: Option<NaiveDate>,
    /// The member's community (latest registration).
    pub community: String,
}

impl MemberRow {
    /// A member on day `d`: joined on or before it, not yet left (a leave is
    /// exclusive, a join inclusive).
    pub fn member_on(&self, d: NaiveDate) -> bool {
        self.joined_on <= d && self.left_on.is_none_or(|l| l > d)
    }
}

/// Where a household stands on the as-of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HouseholdStatus {
    /// The earliest zero-employment signal of a member on `A`, dated within
    /// that member's current membership; `None`: not identified on `A`.
    pub identified_on: Option<NaiveDate>,
    /// Identified and no member employed on `A`.
    pub zero_employment: bool,
    /// When `zero_employment`: the first day of the current stretch without
    /// an employed member, on or after `identified_on`.
    pub since: Option<NaiveDate>,
    /// When identified and not `zero_employment`: the first day of the
    /// current stretch with an employed member, on or after `identified_on`
    /// (动态清零: at least one member placed).
    pub cleared_on: Option<NaiveDate>,
}

/// 零就业家庭 (001 § 9, 003 § 14) for one household on `A`, from its
/// membership periods (`members`, every row of the household known on `A`),
/// the zero-employment signals of its members (a difficulty recognition in
/// category "zero-employment household", or a registration listing that
/// group; dates ≤ `A`) and their employment (`(from, until)` known on `A`,
/// [`CaseView::employment`](crate::facts::CaseView::employment): each
/// placement, and each spell closed by an exit with reason `employed`, from
/// the exit until the next registration). A person counts only while a
/// member: a signal only if dated in the member's membership current on
/// `A`; employment only on days it overlaps a membership. The household has
/// an employed member on day `d` when some member on `d` is employed on `d`
/// (start inclusive, end exclusive). Zero-employment on `A`: identified, and
/// no employed member on `A`. Clearing is dynamic: a household whose
/// employed members all stop working (or leave, or register as unemployed
/// again) is zero-employment again from that day.
pub fn household_status(
    members: &[MemberRow],
    signals: &HashMap<String, Vec<NaiveDate>>,
    employment: &HashMap<String, Vec<(NaiveDate, Option<NaiveDate>)>>,
    a: NaiveDate,
) -> HouseholdStatus {
    let identified_on = members
        .iter()
        .filter(|m| m.member_on(a))
        .flat_map(|m| {
            signals.get(&m.case_id).into_iter().flatten().copied().filter(move |s| m.joined_on <= *s && *s <= a)
        })
        .min();
    let Some(identified_on) = identified_on else {
        return HouseholdStatus { identified_on: None, zero_employment: false, since: None, cleared_on: None };
    };
    // Days with an employed member, from the identification on: [start, end), end None = still on `A`.
    let mut employed: Vec<(NaiveDate, Option<NaiveDate>)> = Vec::new();
    for m in members {
        for (started, ended) in employment.get(&m.case_id).into_iter().flatten().filter(|(s, _)| *s <= a) {
            let start = (*started).max(m.joined_on).max(identified_on);
            let end = match (m.left_on, *ended) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            if end.is_none_or(|e| start < e) {
                employed.push((start, end));
            }
        }
    }
    employed.sort();
    // Merge overlapping or touching stretches.
    let mut merged: Vec<(NaiveDate, Option<NaiveDate>)> = Vec::new();
    for (start, end) in employed {
        match merged.last_mut() {
            Some((_, last_end)) if last_end.is_none_or(|e| start <= e) => {
                *last_end = match (*last_end, end) {
                    (Some(x), Some(y)) => Some(x.max(y)),
                    _ => None,
                };
            }
            _ => merged.push((start, end)),
        }
    }
    match merged.iter().find(|(s, e)| *s <= a && e.is_none_or(|e| e > a)) {
        Some((start, _)) => HouseholdStatus {
            identified_on: Some(identified_on),
            zero_employment: false,
            since: None,
            cleared_on: Some(*start),
        },
        None => {
            let last_end = merged.iter().filter_map(|(_, e)| *e).filter(|e| *e <= a).max();
            HouseholdStatus {
                identified_on: Some(identified_on),
                zero_employment: true,
                since: Some(last_end.map_or(identified_on, |e| e.max(identified_on))),
                cleared_on: None,
            }
        }
    }
}

// === batch layoffs (批量退工减员, 000 § 3) ===

/// One batch layoff as known on the as-of date, with the services given
/// after it dated on or before that date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoffRow {
    pub case_id: String,
    pub layoff_id: String,
    pub people: u32,
    pub reported_on: NaiveDate,
    pub district: String,
    /// `(service, provided_on)`, e.g. `("job_fair", 2026-05-10)`.
    pub services: Vec<(String, NaiveDate)>,
}

/// The services a layoff of 40 or more calls for: "技能培训、专场招聘" (000 § 3).
pub const TRAINING_AND_JOB_FAIR: [&str; 2] = ["skills_training", "job_fair"];

/// Stands for "a service of any kind" in [`UnservedLayoffRow::missing`].
pub const ANY_SERVICE: &str = "any_service";

impl LayoffRow {
    /// The last day a service counts as following the layoff in time:
    /// `reported_on + days`.
    pub fn deadline(&self, days: u32) -> NaiveDate {
        self.reported_on + chrono::Days::new(u64::from(days))
    }

    /// The response the size calls for (20 and 40 inclusive, "以上").
    pub fn response(&self) -> leye_domain::enterprise::LayoffResponse {
        leye_domain::enterprise::layoff_response(self.people)
    }

    /// Services dated from the layoff to `until` (inclusive).
    fn given_by(&self, until: NaiveDate) -> impl Iterator<Item = &str> {
        self.services.iter().filter(move |(_, on)| self.reported_on <= *on && *on <= until).map(|(s, _)| s.as_str())
    }

    /// What the size calls for and was not given by `until`: for 20 to 39
    /// people [`ANY_SERVICE`] when nothing was given; for 40 or more, those of
    /// skills training and a job fair not given. Empty under 20 people.
    pub fn missing_by(&self, until: NaiveDate) -> Vec<&'static str> {
        use leye_domain::enterprise::LayoffResponse as R;
        match self.response() {
            R::Monitor => vec![],
            R::WarningTrackingProactiveService => {
                if self.given_by(until).next().is_some() {
                    vec![]
                } else {
                    vec![ANY_SERVICE]
                }
            }
            R::SkillsTrainingAndJobFairs => {
                let given: BTreeSet<&str> = self.given_by(until).collect();
                TRAINING_AND_JOB_FAIR.into_iter().filter(|s| !given.contains(s)).collect()
            }
        }
    }
}

/// Whether service followed batch layoffs in time (000 § 3). Over layoffs
/// reported in `[F, E]`, with services dated from the layoff to its deadline
/// (`reported_on + days`) and on or before `A` (rows hold only those):
/// - `20`: of layoffs of 20 or more people, those with at least one service of
///   any kind in time / all of them;
/// - `40`: of layoffs of 40 or more people, those with both skills training and
///   a job fair in time / all of them.
///
/// A layoff whose deadline is still ahead counts in the denominator: the
/// target asks that every one be served, and the action list says which are
/// still within their deadline.
pub fn batch_layoffs_followed(
    layoffs: &[LayoffRow],
    period: Period,
    e: NaiveDate,
    days: u32,
) -> ((usize, usize), (usize, usize)) {
    let (mut n20, mut d20, mut n40, mut d40) = (0, 0, 0, 0);
    for l in layoffs.iter().filter(|l| period.from <= l.reported_on && l.reported_on <= e) {
        use leye_domain::enterprise::LayoffResponse as R;
        let response = l.response();
        if response == R::Monitor {
            continue;
        }
        let deadline = l.deadline(days);
        d20 += 1;
        n20 += usize::from(l.given_by(deadline).next().is_some());
        if response == R::SkillsTrainingAndJobFairs {
            d40 += 1;
            let given: BTreeSet<&str> = l.given_by(deadline).collect();
            n40 += usize::from(TRAINING_AND_JOB_FAIR.iter().all(|s| given.contains(s)));
        }
    }
    ((n20, d20), (n40, d40))
}

/// A batch layoff still lacking a service its size calls for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnservedLayoffRow {
    pub case_id: String,
    pub layoff_id: String,
    pub people: u32,
    pub reported_on: NaiveDate,
    pub district: String,
    /// `reported_on + batch_layoff_service_days`.
    pub deadline: NaiveDate,
    /// Not given by `A`: [`ANY_SERVICE`] (20 to 39 people), or `skills_training`
    /// and/or `job_fair` (40 or more).
    pub missing: Vec<&'static str>,
    /// `A` is after the deadline.
    pub overdue: bool,
}

/// The batch layoffs of 20 or more people reported in `[F, min(T, A)]` that on
/// `A` still lack a service their size calls for (any service from 20 people;
/// skills training and a job fair from 40), services dated on or before `A`
/// counting even when late. Overdue ones first, then by report date.
pub fn unserved_layoffs(layoffs: &[LayoffRow], period: Period, a: NaiveDate, days: u32) -> Vec<UnservedLayoffRow> {
    let e = period.to.min(a);
    let mut rows: Vec<UnservedLayoffRow> = layoffs
        .iter()
        .filter(|l| period.from <= l.reported_on && l.reported_on <= e)
        .filter_map(|l| {
            let missing = l.missing_by(a);
            let deadline = l.deadline(days);
            (!missing.is_empty()).then(|| UnservedLayoffRow {
                case_id: l.case_id.clone(),
                layoff_id: l.layoff_id.clone(),
                people: l.people,
                reported_on: l.reported_on,
                district: l.district.clone(),
                deadline,
                missing,
                overdue: a > deadline,
            })
        })
        .collect();
    rows.sort_by(|x, y| {
        (!x.overdue, x.reported_on, &x.case_id, &x.layoff_id).cmp(&(
            !y.overdue,
            y.reported_on,
            &y.case_id,
            &y.layoff_id,
        ))
    });
    rows
}

pub(crate) fn rate_of(
    id: &'static str,
    title: &'static str,
    (n, d): (usize, usize),
    goal_share: f64,
    goal: &'static str,
    source: &'static str,
) -> TargetValue {
    TargetValue::rate(id, title, n, d, goal_share, goal, source)
}

pub(crate) fn count_of(
    id: &'static str,
    title: &'static str,
    n: usize,
    met: bool,
    goal: &'static str,
    source: &'static str,
) -> TargetValue {
    TargetValue::count(id, title, n, met, goal, source)
}
