//! Every person-case figure of a target report in one walk over the cases
//! of `J`: each case's rows are read once, while they are in the cache,
//! and handed to the per-case form of each definition ([`reemployed`],
//! [`served_case`], [`LongTermCut::label`], [`FollowupMonths::case`],
//! [`response`], [`employment_of`], [`CaseCounts::add`]). The functions
//! over a list of spells or cases (what the oracle test and the lists call)
//! are made of the same per-case forms, so both give the same figures.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{
    CaseCounts, Facts, FollowupMonths, LongTermCut, Period, Response, TargetParams, add_grants, count, employment_of,
    reemployed, served_case,
    split::{over_runs_beside, threads_for},
};
use crate::facts::{CaseNo, SpellRow};

/// Grants and fen by (programme, year granted, district), as numbered.
pub type GrantSums = BTreeMap<(u16, i32, u16), (i64, i64)>;

/// The person-case figures of a report (each as its definition returns it).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PersonTotals {
    /// [`super::reemployment`].
    pub reemployment: (usize, usize),
    /// [`super::long_term_counts`]: persons long-term, at risk.
    pub long_term: (usize, usize),
    /// [`super::served`] and [`super::reemployment`] of the graduates' spells
    /// ([`super::graduate_spells`]).
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
/// A long walk is split into consecutive runs of cases, taken by a few
/// threads ([`threads_for`]), and their sums added; meanwhile this thread
/// does `beside`, the rest of the report that needs no walk
/// ([`over_runs_beside`]).
pub fn person_totals<U>(
    f: &Facts<'_>,
    cases: &[CaseNo],
    period: Period,
    a: NaiveDate,
    p: &TargetParams,
    years: &[Period],
    beside: impl FnOnce() -> U,
) -> (PersonTotals, U) {
    totals_on(threads_for(cases.len()), f, cases, period, a, p, years, beside)
}

/// [`person_totals`] on `threads` threads.
#[allow(clippy::too_many_arguments)]
fn totals_on<U>(
    threads: usize,
    f: &Facts<'_>,
    cases: &[CaseNo],
    period: Period,
    a: NaiveDate,
    p: &TargetParams,
    years: &[Period],
    beside: impl FnOnce() -> U,
) -> (PersonTotals, U) {
    let (parts, other) = over_runs_beside(threads, cases, |run| walk(f, run, period, a, p, years), beside);
    let mut parts = parts.into_iter();
    let (mut t, mut places) = parts.next().unwrap_or_default();
    for (u, more) in parts {
        t.add(u);
        for (sum, (employed, unemployed)) in places.iter_mut().zip(more) {
            sum.0 += employed;
            sum.1 += unemployed;
        }
    }
    for (employed, unemployed) in places.into_iter().filter(|(e, u)| e + u > 0) {
        // As `communities` computes the rate.
        let rate = employed as f64 / (employed + unemployed) as f64;
        t.full_employment.0 += usize::from(rate >= 0.9);
        t.full_employment.1 += 1;
    }
    (t, other)
}

fn add2(sum: &mut (usize, usize), more: (usize, usize)) {
    sum.0 += more.0;
    sum.1 += more.1;
}

/// Adds each of `more`'s grant sums to `sums`.
fn add_grants_of(sums: &mut GrantSums, more: GrantSums) {
    for (key, (n, fen)) in more {
        let t = sums.entry(key).or_default();
        t.0 += n;
        t.1 += fen;
    }
}

impl PersonTotals {
    /// Adds the totals of other cases (before `full_employment` is counted).
    fn add(&mut self, more: PersonTotals) {
        add2(&mut self.reemployment, more.reemployment);
        add2(&mut self.long_term, more.long_term);
        add2(&mut self.graduates_served, more.graduates_served);
        add2(&mut self.graduates_employed, more.graduates_employed);
        add2(&mut self.followup, more.followup);
        add2(&mut self.same_day, more.same_day);
        add2(&mut self.two_way, more.two_way);
        let (c, m) = (&mut self.counts, more.counts);
        add2(&mut c.difficulty, m.difficulty);
        c.start_up_trainees += m.start_up_trainees;
        c.interns += m.interns;
        c.welfare_placed += m.welfare_placed;
        add2(&mut c.public_welfare_local, m.public_welfare_local);
        c.training_person_times += m.training_person_times;
        add_grants_of(&mut c.grants, m.grants);
        for (sums, more) in self.grants_by_year.iter_mut().zip(more.grants_by_year) {
            add_grants_of(sums, more);
        }
    }
}

/// The totals of one run of cases, and by community (employed, unemployed)
/// of the persons living there.
fn walk(
    f: &Facts<'_>,
    cases: &[CaseNo],
    period: Period,
    a: NaiveDate,
    p: &TargetParams,
    years: &[Period],
) -> (PersonTotals, Vec<(i64, i64)>) {
    let e = period.to.min(a);
    let mut t = PersonTotals { grants_by_year: vec![GrantSums::new(); years.len()], ..PersonTotals::default() };
    let mut months = FollowupMonths::new(period, e, p.followup_month_start_day);
    let cut = LongTermCut::new(a, p);
    let mut places: Vec<(i64, i64)> = vec![(0, 0); f.places()];
    let (mut spells, mut graduate): (Vec<SpellRow>, Vec<SpellRow>) = (Vec::new(), Vec::new());
    for &c in cases {
        let facts = f.case(c);
        // This case's spells registered in `J`, as known on `a` (`spells_in`).
        spells.clear();
        for (no, s) in facts.spells().iter().enumerate() {
            if f.place_in_j(s.community) {
                spells.extend(s.at(c, no, a));
            }
        }
        if !spells.is_empty() {
            count(&mut t.reemployment, reemployed(f, &spells, period, e));
            // The spells whose own registration listed the graduate group (`graduate_spells`).
            graduate.clear();
            graduate.extend(spells.iter().filter(|s| s.graduate));
            if !graduate.is_empty() {
                count(&mut t.graduates_served, served_case(f, &graduate, period, e));
                count(&mut t.graduates_employed, reemployed(f, &graduate, period, e));
            }
            // Read once for the case: the follow-up months and each registration's
            // response (its two-way recommendations below, when one is in the period).
            let contacts = f.contacts(c, a);
            let (followed, person_months) = months.case(&contacts, &spells);
            t.followup.0 += followed;
            t.followup.1 += person_months;
            // Persons (无…失业半年以上人员): one with two long-term spells in
            // the look-back counts once; the list shows each spell.
            let (mut long, mut at_risk) = (false, false);
            let mut two_way = None;
            for s in &spells {
                match cut.label(s) {
                    Some("long_term") => long = true,
                    Some(_) => at_risk = true,
                    None => {}
                }
                if period.from <= s.registered_on && s.registered_on <= e {
                    let two_way = two_way.get_or_insert_with(|| f.two_way(c, a));
                    Response::of(&contacts, two_way, s, a, p.recommendation_days)
                        .count(&mut t.same_day, &mut t.two_way);
                }
            }
            t.long_term.0 += usize::from(long);
            t.long_term.1 += usize::from(at_risk);
        }
        if let Some((home, employed, unemployed)) = employment_of(f, c, a) {
            let counts = &mut places[home as usize];
            counts.0 += i64::from(employed);
            counts.1 += i64::from(unemployed);
        }
        t.counts.add(f, c, period, a);
        if !facts.grants().is_empty() {
            for (year, sums) in years.iter().zip(&mut t.grants_by_year) {
                add_grants(f, c, *year, a, sums);
            }
        }
    }
    (t, places)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        facts::{CaseFacts, FactStore, Grant, Names, PlaceNo, Placement, PlacementKind, Spell},
        targets::Jurisdiction,
    };

    struct Ids(Vec<String>, Vec<String>);

    impl Names for Ids {
        fn case_id(&self, case: CaseNo) -> &str {
            &self.0[case as usize]
        }

        fn community(&self, place: PlaceNo) -> &str {
            &self.1[place as usize]
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_walk_split_over_threads_adds_up_to_the_walk_on_one() {
        let day = |i: u32| d("2025-01-01") + chrono::Days::new(u64::from(i % 700));
        let store: FactStore = (0..2000u32)
            .map(|i| {
                let place = i % 7;
                CaseFacts {
                    home: Some(place),
                    spells: vec![Spell {
                        registered_on: day(i * 3),
                        ended_on: (i % 3 != 0).then(|| day(i * 3 + 90)),
                        ended_employed: i % 2 == 0,
                        exited_employed: i % 6 == 2,
                        graduate: i % 5 == 0,
                        community: place,
                    }]
                    .into(),
                    placements: vec![Placement {
                        started_on: day(i * 3 + 90),
                        ended_on: None,
                        kind: if i % 4 == 0 { PlacementKind::PublicWelfarePost } else { PlacementKind::Other },
                        community: place,
                        local: i % 8 == 0,
                    }]
                    .into(),
                    contacts: (0..4).map(|k| day(i * 3 + k * 31)).collect(),
                    grants: vec![Grant {
                        programme: 0,
                        amount_fen: i64::from(i),
                        granted_on: day(i * 7),
                        revoked_on: None,
                        district: 0,
                        community: place,
                    }]
                    .into(),
                    ..CaseFacts::default()
                }
            })
            .collect();
        let ids =
            Ids((0..2000).map(|i| format!("c{i}")).collect(), (0..7).map(|p| format!("12011100100{p}")).collect());
        let f = Facts::new(&store, &ids, 7, &Jurisdiction::city());
        let cases: Vec<CaseNo> = (0..2000).collect();
        let period = Period::new(d("2025-06-01"), d("2026-05-31")).unwrap();
        let years = [Period::new(d("2025-01-01"), d("2025-12-31")).unwrap()];
        let p = TargetParams::default();
        let one = totals_on(1, &f, &cases, period, d("2026-03-15"), &p, &years, || ()).0;
        assert!(one.reemployment.1 > 100 && one.followup.1 > 100 && one.full_employment.1 == 7, "{one:?}");
        for threads in [2, 3, 4] {
            let (many, ()) = totals_on(threads, &f, &cases, period, d("2026-03-15"), &p, &years, || ());
            assert_eq!(many, one, "{threads} threads");
        }
    }
}
