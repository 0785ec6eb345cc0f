//! Every person-case figure of a target report in one walk over the cases
//! of `J`: each case's rows are read once, while they are in the cache,
//! and handed to the per-case form of each definition ([`reemployed`],
//! [`served_case`], [`LongTermCut::label`], [`FollowupMonths::case`],
//! [`response`], [`employment_of`], [`CaseCounts::add`]). The functions
//! over a list of spells or cases (what the oracle test and the lists call)
//! are made of the same per-case forms, so both give the same figures.
//!
//! A walk adds up [`Sums`], which add and take away case by case: the
//! index keeps the sums of the reports asked lately and moves them on as
//! cases change (`crate::index`, `kept.rs`), so a report asked again needs
//! no walk.

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
#[derive(Debug, Default, Clone, PartialEq, Eq)]
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

/// What a report's walk is asked, besides its jurisdiction: the period, the
/// as-of date, the budget years whose grants it sums, and the rules'
/// parameters. With the jurisdiction, the key of the sums an index keeps
/// for a report asked again (`crate::index`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub period: Period,
    pub a: NaiveDate,
    pub years: Vec<Period>,
    pub params: TargetParams,
}

/// What a walk over some cases adds up: their [`PersonTotals`] (but the
/// communities at full employment) and, by community, the persons living
/// there (employed, unemployed). The sums of two sets of cases add up to
/// the sums of both, and the sums of a case can be taken away again: an
/// index keeps the sums of a report asked again up to date by taking away
/// each changed case's sums before the change and adding them after it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sums {
    totals: PersonTotals,
    places: Vec<(i64, i64)>,
}

/// [`Sums`] of `cases` (any superset of the cases with a row in `J`, each
/// once) for `ask`. A long walk is split into consecutive runs of cases,
/// taken by a few threads ([`threads_for`]), and their sums added;
/// meanwhile this thread does `beside`, the rest of the report that needs
/// no walk ([`over_runs_beside`]).
pub fn person_sums<U>(f: &Facts<'_>, cases: &[CaseNo], ask: &Ask, beside: impl FnOnce() -> U) -> (Sums, U) {
    sums_on(threads_for(cases.len()), f, cases, ask, beside)
}

/// [`person_sums`] on `threads` threads.
fn sums_on<U>(threads: usize, f: &Facts<'_>, cases: &[CaseNo], ask: &Ask, beside: impl FnOnce() -> U) -> (Sums, U) {
    let (parts, other) = over_runs_beside(threads, cases, |run| sums_of(f, run, ask), beside);
    let mut parts = parts.into_iter();
    let mut sums = parts.next().unwrap_or_default();
    for more in parts {
        sums.merge(&more, true);
    }
    (sums, other)
}

impl Sums {
    /// The report's figures: the totals, and the communities at full employment counted.
    pub fn totals(&self) -> PersonTotals {
        let mut t = self.totals.clone();
        for &(employed, unemployed) in self.places.iter().filter(|(e, u)| e + u > 0) {
            // As `communities` computes the rate.
            let rate = employed as f64 / (employed + unemployed) as f64;
            t.full_employment.0 += usize::from(rate >= 0.9);
            t.full_employment.1 += 1;
        }
        t
    }

    /// Adds `more`.
    pub fn add(&mut self, more: &Sums) {
        self.merge(more, true);
    }

    /// Takes `less` away; `false` when they were not part of these sums
    /// (a figure would fall below zero), and these sums are no longer to be
    /// trusted.
    #[must_use]
    pub fn take_away(&mut self, less: &Sums) -> bool {
        self.merge(less, false)
    }

    /// Adds `other` (`plus`) or takes it away; `false` when a figure would
    /// fall below zero.
    fn merge(&mut self, other: &Sums, plus: bool) -> bool {
        let mut ok = true;
        let mut n = |x: &mut usize, d: usize| {
            if plus {
                *x += d;
            } else {
                match x.checked_sub(d) {
                    Some(v) => *x = v,
                    None => ok = false,
                }
            }
        };
        let (t, m) = (&mut self.totals, &other.totals);
        for (x, d) in [
            (&mut t.reemployment, m.reemployment),
            (&mut t.long_term, m.long_term),
            (&mut t.graduates_served, m.graduates_served),
            (&mut t.graduates_employed, m.graduates_employed),
            (&mut t.followup, m.followup),
            (&mut t.same_day, m.same_day),
            (&mut t.two_way, m.two_way),
            (&mut t.counts.difficulty, m.counts.difficulty),
            (&mut t.counts.public_welfare_local, m.counts.public_welfare_local),
        ] {
            n(&mut x.0, d.0);
            n(&mut x.1, d.1);
        }
        let (c, mc) = (&mut t.counts, &m.counts);
        for (x, d) in [
            (&mut c.start_up_trainees, mc.start_up_trainees),
            (&mut c.interns, mc.interns),
            (&mut c.welfare_placed, mc.welfare_placed),
            (&mut c.training_person_times, mc.training_person_times),
        ] {
            n(x, d);
        }
        ok &= merge_grants(&mut c.grants, &mc.grants, plus);
        if t.grants_by_year.len() < m.grants_by_year.len() {
            t.grants_by_year.resize_with(m.grants_by_year.len(), GrantSums::new);
        }
        for (sums, more) in t.grants_by_year.iter_mut().zip(&m.grants_by_year) {
            ok &= merge_grants(sums, more, plus);
        }
        // Communities numbered since these sums were made hold nobody yet.
        if self.places.len() < other.places.len() {
            self.places.resize(other.places.len(), (0, 0));
        }
        let sign = if plus { 1 } else { -1 };
        for (sum, (employed, unemployed)) in self.places.iter_mut().zip(&other.places) {
            sum.0 += sign * employed;
            sum.1 += sign * unemployed;
            ok &= sum.0 >= 0 && sum.1 >= 0;
        }
        ok
    }
}

/// Adds `more`'s grant sums to `sums` (`plus`) or takes them away, dropping
/// a sum of no grant (a walk makes none); `false` when a count would fall
/// below zero.
fn merge_grants(sums: &mut GrantSums, more: &GrantSums, plus: bool) -> bool {
    let sign = if plus { 1 } else { -1 };
    let mut ok = true;
    for (key, (n, fen)) in more {
        let t = sums.entry(*key).or_default();
        t.0 += sign * n;
        t.1 += sign * fen;
        ok &= t.0 >= 0;
        if t.0 == 0 {
            ok &= t.1 == 0;
            sums.remove(key);
        }
    }
    ok
}

/// [`Sums`] of `cases` for `ask`, on this thread: one run of a walk, or
/// what a few changed cases add.
pub fn sums_of(f: &Facts<'_>, cases: &[CaseNo], ask: &Ask) -> Sums {
    let Ask { period, a, years, params: p } = ask;
    let (period, a) = (*period, *a);
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
    Sums { totals: t, places }
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

    /// 2 000 cases in 7 communities, one spell, placement, grant each.
    fn population() -> (FactStore, Ids) {
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
        (store, ids)
    }

    fn ask() -> Ask {
        Ask {
            period: Period::new(d("2025-06-01"), d("2026-05-31")).unwrap(),
            a: d("2026-03-15"),
            years: vec![Period::new(d("2025-01-01"), d("2025-12-31")).unwrap()],
            params: TargetParams::default(),
        }
    }

    #[test]
    fn a_walk_split_over_threads_adds_up_to_the_walk_on_one() {
        let (store, ids) = population();
        let f = Facts::new(&store, &ids, 7, &Jurisdiction::city());
        let cases: Vec<CaseNo> = (0..2000).collect();
        let one = sums_on(1, &f, &cases, &ask(), || ()).0.totals();
        assert!(one.reemployment.1 > 100 && one.followup.1 > 100 && one.full_employment.1 == 7, "{one:?}");
        for threads in [2, 3, 4] {
            let (many, ()) = sums_on(threads, &f, &cases, &ask(), || ());
            assert_eq!(many.totals(), one, "{threads} threads");
        }
    }

    #[test]
    fn the_sums_of_all_cases_less_those_of_some_are_the_sums_of_the_rest() {
        let (store, ids) = population();
        for j in [Jurisdiction::city(), Jurisdiction::parse("120111001003").unwrap()] {
            let f = Facts::new(&store, &ids, 7, &j);
            let all: Vec<CaseNo> = (0..2000).collect();
            let (some, rest): (Vec<CaseNo>, Vec<CaseNo>) = all.iter().partition(|c| **c % 5 == 1 || **c > 1900);
            let mut sums = sums_of(&f, &all, &ask());
            assert!(sums.take_away(&sums_of(&f, &some, &ask())), "{j:?}");
            let want = sums_of(&f, &rest, &ask());
            assert_eq!(sums.totals(), want.totals(), "{j:?}");
            assert_eq!(sums, want, "no grant sum of nothing is left behind");
            sums.add(&sums_of(&f, &some, &ask()));
            assert_eq!(sums.totals(), sums_of(&f, &all, &ask()).totals(), "{j:?}");
            // Taken away twice: caught, not wrapped around.
            let mut rest_only = sums_of(&f, &rest, &ask());
            assert!(!rest_only.take_away(&sums_of(&f, &all, &ask())), "{j:?}");
        }
    }
}
