//! Every person-case figure of a target report in one walk over the cases
//! of `J`: each case's rows are read once, while they are in the cache,
//! and handed to the per-case form of each definition ([`reemployed`],
//! [`served_case`], [`long_term_status`], [`FollowupMonths::case`],
//! [`response`], [`employment_of`], [`CaseCounts::add`]). The functions
//! over a list of spells or cases (what the oracle test and the lists call)
//! are made of the same per-case forms, so both give the same figures.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{
    CaseCounts, Facts, FollowupMonths, Period, Response, TargetParams, add_grants, employment_of, long_term_status,
    reemployed, response, served_case,
};
use crate::facts::{CaseNo, SpellRow};

/// Grants and fen by (programme, year granted, district), as numbered.
pub type GrantSums = BTreeMap<(u16, i32, u16), (i64, i64)>;

/// The person-case figures of a report (each as its definition returns it).
#[derive(Debug, Default)]
pub struct PersonTotals {
    /// [`super::reemployment`].
    pub reemployment: (usize, usize),
    /// [`super::long_term_counts`]: long-term, at risk.
    pub long_term: (usize, usize),
    /// [`super::served`] and [`super::reemployment`] of the graduates' spells.
    pub graduates_served: (usize, usize),
    pub graduates_employed: (usize, usize),
    /// [`super::followup`].
    pub followup: (usize, usize),
    /// [`super::matchmaker`]: same-day contacts / registrations, in time / due.
    pub same_day: (usize, usize),
    pub two_way: (usize, usize),
    /// [`super::communities`]: at full employment / communities listed.
    pub full_employment: (usize, usize),
    /// [`super::case_counts`].
    pub counts: CaseCounts,
    /// [`super::grant_totals`] over each of the `years` given, in order.
    pub grants_by_year: Vec<GrantSums>,
}

/// [`PersonTotals`] of `cases` (any superset of the cases with a row in `J`,
/// each once) over `period` as of `a`, with the grants of each of `years`.
pub fn person_totals(
    f: &Facts<'_>,
    cases: &[CaseNo],
    period: Period,
    a: NaiveDate,
    p: &TargetParams,
    years: &[Period],
) -> PersonTotals {
    let e = period.to.min(a);
    let mut t = PersonTotals { grants_by_year: vec![GrantSums::new(); years.len()], ..PersonTotals::default() };
    let mut months = FollowupMonths::new(period, e, p.followup_month_start_day);
    // By community: (employed, unemployed) of the persons living there.
    let mut places: Vec<(i64, i64)> = vec![(0, 0); f.places()];
    let mut spells: Vec<SpellRow> = Vec::new();
    let tally = |sum: &mut (usize, usize), answer: Option<bool>| {
        if let Some(counted) = answer {
            sum.0 += usize::from(counted);
            sum.1 += 1;
        }
    };
    for &c in cases {
        let facts = f.case(c);
        // This case's spells registered in `J`, as known on `a` (`spells_in`).
        spells.clear();
        for (no, s) in facts.spells.iter().enumerate() {
            if f.place_in_j(s.community) {
                spells.extend(s.at(c, no, a));
            }
        }
        if !spells.is_empty() {
            tally(&mut t.reemployment, reemployed(f, &spells, period, e));
            if facts.graduate_since.is_some_and(|d| d <= e) {
                tally(&mut t.graduates_served, served_case(f, &spells, period, e));
                tally(&mut t.graduates_employed, reemployed(f, &spells, period, e));
            }
            let (followed, person_months) = months.case(f, &spells);
            t.followup.0 += followed;
            t.followup.1 += person_months;
            for s in &spells {
                match long_term_status(s, a, p) {
                    Some((_, "long_term")) => t.long_term.0 += 1,
                    Some(_) => t.long_term.1 += 1,
                    None => {}
                }
                if period.from <= s.registered_on && s.registered_on <= e {
                    let Response { contacted, is_due, recommended } = response(f, s, a, p.recommendation_days);
                    t.same_day.0 += usize::from(contacted);
                    t.same_day.1 += 1;
                    if is_due {
                        t.two_way.0 += usize::from(recommended);
                        t.two_way.1 += 1;
                    }
                }
            }
        }
        if let Some((home, employed, unemployed)) = employment_of(f, c, a) {
            let counts = &mut places[home as usize];
            counts.0 += i64::from(employed);
            counts.1 += i64::from(unemployed);
        }
        t.counts.add(f, c, period, a);
        for (year, sums) in years.iter().zip(&mut t.grants_by_year) {
            add_grants(f, c, *year, a, sums);
        }
    }
    for (employed, unemployed) in places.into_iter().filter(|(e, u)| e + u > 0) {
        // As `communities` computes the rate.
        let rate = employed as f64 / (employed + unemployed) as f64;
        t.full_employment.0 += usize::from(rate >= 0.9);
        t.full_employment.1 += 1;
    }
    t
}
