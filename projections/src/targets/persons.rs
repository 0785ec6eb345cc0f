//! The person-case targets and action lists over compact rows
//! ([`crate::facts`]): re-employment, long-term unemployment, follow-up,
//! exit review, matchmaker response, graduates served, full-employment
//! communities. Each function states its definition; `projections/TARGETS.md`
//! has them with numerator and denominator.
//!
//! Every function takes a [`Facts`] (the case facts and which communities
//! are in `J`) and either the spells of `J` as known on the as-of date
//! ([`spells_in`]) or the cases to look at (any superset of the cases with a
//! row in `J`: the rows outside `J` are passed over here). Distinct persons are counted
//! with a bit per case ([`CaseSet`]), never a set of strings.

use std::{borrow::Cow, collections::BTreeMap};

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use super::{Jurisdiction, Matchmaker, MatchmakerRow, Period, SpellList, TargetParams, add_months, sub_years};
use crate::facts::{CaseNo, CaseView, FactStore, Names, PlaceNo, SpellRow, any_in};

/// What the person-case definitions read for one jurisdiction `J`: the facts
/// of every case (indexed by [`CaseNo`]) and which communities lie in `J`.
pub struct Facts<'a> {
    cases: &'a FactStore,
    names: &'a (dyn Names + Sync),
    /// By [`PlaceNo`]: the community lies in `J`.
    in_j: Vec<bool>,
    /// Every community lies in `J` (the city).
    all_in_j: bool,
}

impl std::fmt::Debug for Facts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Facts").field("cases", &self.cases.len()).finish_non_exhaustive()
    }
}

impl<'a> Facts<'a> {
    /// `places` communities are numbered `0..places` in `names`.
    pub fn new(cases: &'a FactStore, names: &'a (dyn Names + Sync), places: usize, j: &Jurisdiction) -> Self {
        let in_j: Vec<bool> = (0..places).map(|p| j.contains(names.community(p as PlaceNo))).collect();
        let all_in_j = in_j.iter().all(|x| *x);
        Self { cases, names, in_j, all_in_j }
    }

    pub fn case(&self, c: CaseNo) -> CaseView<'a> {
        self.cases.case(c)
    }

    /// Communities of the numbering (in `J` or not).
    pub fn places(&self) -> usize {
        self.in_j.len()
    }

    /// The community `p` lies in `J`.
    pub fn place_in_j(&self, p: PlaceNo) -> bool {
        self.in_j.get(p as usize).copied().unwrap_or(false)
    }

    /// The person lived in `J` on `d` ([`CaseView::home_on`]: the
    /// community of the latest registration dated by `d`).
    pub fn lives_in_j(&self, c: CaseNo, d: NaiveDate) -> bool {
        self.case(c).home_on(d).is_some_and(|h| self.place_in_j(h))
    }

    /// Contact dates on or before `a` on which the person lived in `J`
    /// (sorted): a contact is the follow-up of the jurisdiction the person
    /// lived in when it was made, wherever they live later, and never of
    /// the one they move to.
    pub fn contacts(&self, c: CaseNo, a: NaiveDate) -> Cow<'a, [NaiveDate]> {
        self.dated_in_j(c, a, |f| f.contacts())
    }

    /// Two-way recommendation dates on or before `a` on which the person lived in `J`.
    pub fn two_way(&self, c: CaseNo, a: NaiveDate) -> Cow<'a, [NaiveDate]> {
        self.dated_in_j(c, a, |f| f.two_way())
    }

    /// Recommendation and training-enrolment dates on or before `a` on which the person lived in `J`.
    pub fn other_services(&self, c: CaseNo, a: NaiveDate) -> Cow<'a, [NaiveDate]> {
        self.dated_in_j(c, a, |f| f.other_services())
    }

    /// The dates of `dates` on or before `a` on which the person lived in
    /// `J`. Borrowed when every registration (or none) lies in `J`: the
    /// case of nearly everyone, who never moves.
    fn dated_in_j(
        &self,
        c: CaseNo,
        a: NaiveDate,
        dates: impl Fn(CaseView<'a>) -> &'a [NaiveDate],
    ) -> Cow<'a, [NaiveDate]> {
        let case = self.case(c);
        let d = dates(case);
        // Both cuts checked at their end first: as of today no date is after
        // `A`, and none is before the first registration (the decider's
        // rule), so neither search is usually needed.
        let d = if d.last().is_none_or(|x| *x <= a) { d } else { &d[..d.partition_point(|x| *x <= a)] };
        let spells = case.spells();
        let in_j =
            if self.all_in_j { spells.len() } else { spells.iter().filter(|s| self.place_in_j(s.community)).count() };
        if in_j == 0 {
            return Cow::Borrowed(&[]);
        }
        if in_j == spells.len() {
            let first = spells.iter().map(|s| s.registered_on).min().unwrap_or(NaiveDate::MIN);
            if d.first().is_none_or(|x| *x >= first) {
                return Cow::Borrowed(d);
            }
            return Cow::Borrowed(&d[d.partition_point(|x| *x < first)..]);
        }
        Cow::Owned(d.iter().copied().filter(|x| self.lives_in_j(c, *x)).collect())
    }

    /// [`Names::case_key`] of `c`.
    pub fn key_of(&self, c: CaseNo) -> u64 {
        self.names.case_key(c)
    }

    /// The case id of `c`.
    pub fn id_of(&self, c: CaseNo) -> &'a str {
        self.names.case_id(c)
    }

    pub(crate) fn case_id(&self, c: CaseNo) -> String {
        self.names.case_id(c).to_string()
    }

    pub(crate) fn community(&self, p: PlaceNo) -> String {
        self.names.community(p).to_string()
    }
}

/// The spells of `cases` registered in `J` by `a`, as known on `a`
/// ([`Spell::at`](crate::facts::Spell::at)), case by case.
pub fn spells_in(f: &Facts<'_>, cases: &[CaseNo], a: NaiveDate) -> Vec<SpellRow> {
    spells_of(f, cases, a).collect()
}

/// [`spells_in`], one by one.
pub fn spells_of<'f>(f: &'f Facts<'_>, cases: &'f [CaseNo], a: NaiveDate) -> impl Iterator<Item = SpellRow> + 'f {
    cases.iter().flat_map(move |&case| {
        f.case(case)
            .spells()
            .iter()
            .enumerate()
            .filter(move |(_, s)| f.place_in_j(s.community))
            .filter_map(move |(no, s)| s.at(case, no, a))
    })
}

// === re-employment ===

/// 登记失业人员就业率 (001 § 9). Denominator: persons with a spell open at some
/// time in `[F, E]`. Numerator: those of them re-employed in `[F, E]` after that
/// spell began: a placement started (anywhere), or the spell closed by an
/// exit for employment.
/// `spells` grouped by case, as [`spells_in`] gives them.
pub fn reemployment(f: &Facts<'_>, spells: &[SpellRow], period: Period, e: NaiveDate) -> (usize, usize) {
    tally(by_case(spells).map(|s| reemployed(f, s, period, e)))
}

/// [`reemployment`] for the spells of one case: `None` when not in the
/// denominator, else whether in the numerator.
pub fn reemployed(f: &Facts<'_>, spells: &[SpellRow], period: Period, e: NaiveDate) -> Option<bool> {
    let mut counted = false;
    for s in spells.iter().filter(|s| s.overlaps(period.from, e)) {
        counted = true;
        let from = period.from.max(s.registered_on);
        let placed = f.case(s.case).placements().iter().any(|p| from <= p.started_on && p.started_on <= e);
        let exited_employed = s.ended_employed().is_some_and(|d| from <= d && d <= e);
        if placed || exited_employed {
            return Some(true);
        }
    }
    counted.then_some(false)
}

/// The spells of each case in turn (`spells` grouped by case).
fn by_case(spells: &[SpellRow]) -> impl Iterator<Item = &[SpellRow]> {
    debug_assert!(spells.is_sorted_by_key(|s| s.case), "spells grouped by case");
    spells.chunk_by(|x, y| x.case == y.case)
}

/// `(numerator, denominator)` of per-person answers (`None`: not in the denominator).
pub(crate) fn tally(answers: impl Iterator<Item = Option<bool>>) -> (usize, usize) {
    let mut out = (0, 0);
    for answer in answers {
        count(&mut out, answer);
    }
    out
}

/// Adds one per-person answer to `(numerator, denominator)`.
pub(crate) fn count(sum: &mut (usize, usize), answer: Option<bool>) {
    if let Some(counted) = answer {
        sum.0 += usize::from(counted);
        sum.1 += 1;
    }
}

/// The spells of graduates who left school unemployed: those whose own
/// registration listed the group `graduate_unemployed_after_school` (a later
/// registration without it is not a school leaver's: 001 § 8 销号管理).
pub fn graduate_spells(spells: &[SpellRow]) -> Vec<SpellRow> {
    spells.iter().filter(|s| s.graduate).copied().collect()
}

/// Served at least once (001 § 8): of the persons with a spell of `spells`
/// open at some time in `[F, E]`, those with a contact, a recommendation or a
/// training enrolment dated from that spell's registration to `E`, on a day
/// the person lived in `J` ([`Facts::contacts`]).
/// `spells` grouped by case.
pub fn served(f: &Facts<'_>, spells: &[SpellRow], period: Period, e: NaiveDate) -> (usize, usize) {
    tally(by_case(spells).map(|s| served_case(f, s, period, e)))
}

/// [`served`] for the spells of one case.
pub fn served_case(f: &Facts<'_>, spells: &[SpellRow], period: Period, e: NaiveDate) -> Option<bool> {
    let mut counted = false;
    for s in spells.iter().filter(|s| s.overlaps(period.from, e)) {
        counted = true;
        if any_in(&f.contacts(s.case, e), s.registered_on, e)
            || any_in(&f.other_services(s.case, e), s.registered_on, e)
        {
            return Some(true);
        }
    }
    counted.then_some(false)
}

// === long-term unemployment ===

/// How many persons [`long_term`] lists as long-term and as at risk (a
/// person with two long-term spells counts once). `spells` grouped by case.
pub fn long_term_counts(spells: &[SpellRow], a: NaiveDate, p: &TargetParams) -> (usize, usize) {
    let (cut, mut out) = (LongTermCut::new(a, p), (0, 0));
    for case in by_case(spells) {
        let labels: Vec<&str> = case.iter().filter_map(|s| cut.label(s)).collect();
        out.0 += usize::from(labels.contains(&"long_term"));
        out.1 += usize::from(labels.contains(&"at_risk"));
    }
    out
}

/// Where a spell stands on [`long_term`]'s list on one as-of date (its days
/// and `long_term` or `at_risk`), with what does not depend on the spell
/// computed once: a report and the list apply it to every spell.
#[derive(Debug, Clone, Copy)]
pub struct LongTermCut {
    a: NaiveDate,
    /// `A` minus `lookback_years`.
    window_start: NaiveDate,
    long_term_months: u32,
    /// [`latest_reaching`] `A` in `long_term_months`, and in `at_risk_after_months`.
    long_term_by: NaiveDate,
    at_risk_by: NaiveDate,
}

impl LongTermCut {
    pub fn new(a: NaiveDate, p: &TargetParams) -> Self {
        Self {
            a,
            window_start: sub_years(a, p.lookback_years),
            long_term_months: p.long_term_months,
            long_term_by: latest_reaching(a, p.long_term_months),
            at_risk_by: latest_reaching(a, p.at_risk_after_months),
        }
    }

    /// Where spell `s` stands on the list (see [`long_term`]): its days and
    /// [`Self::label`].
    pub fn status(&self, s: &SpellRow) -> Option<(i64, &'static str)> {
        let label = self.label(s)?;
        Some(((s.ended_on.unwrap_or(self.a) - s.registered_on).num_days(), label))
    }

    /// `long_term` or `at_risk` when spell `s` is on the list, without its
    /// days (what a report counts). An open spell's end is `A`, so it is
    /// decided by comparing its registration with the cut's two dates; an
    /// ended one (ended by `A`) cannot reach further than `A` did, and only
    /// one registered by `long_term_by` needs its own end counted.
    pub fn label(&self, s: &SpellRow) -> Option<&'static str> {
        if !s.overlaps(self.window_start, self.a) {
            return None;
        }
        match s.ended_on {
            None if s.registered_on <= self.long_term_by => Some("long_term"),
            None if s.registered_on <= self.at_risk_by => Some("at_risk"),
            Some(end)
                if s.registered_on <= self.long_term_by && reached(s.registered_on, self.long_term_months, end) =>
            {
                Some("long_term")
            }
            _ => None,
        }
    }
}

/// The latest start from which `months` calendar months have passed on
/// `d`: `reached(from, months, d)` exactly when `from` is on or before it
/// ([`add_months`] never decreases as its start grows, so the starts that
/// reach `d` are all those up to some day). `d − months` reaches `d`; the
/// end-of-month clamp lets up to three later starts reach it too (the 29th
/// to the 31st of a month before a February).
pub(crate) fn latest_reaching(d: NaiveDate, months: u32) -> NaiveDate {
    let mut from = d.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN);
    while let Some(next) = from.succ_opt().filter(|n| *n <= d && add_months(*n, months) <= d) {
        from = next;
    }
    from
}

/// `d >= add_months(from, months)`, deciding by the day count alone when it
/// can: `months` calendar months are at least `28 × months − 3` days and at
/// most `31 × months + 3` (a month is 28 to 31 days; the end-of-month
/// clamp takes off at most 3), so only a day count between those bounds
/// needs the calendar.
pub(crate) fn reached(from: NaiveDate, months: u32, d: NaiveDate) -> bool {
    let (days, m) = ((d - from).num_days(), i64::from(months));
    if days < 28 * m - 3 {
        false
    } else if days > 31 * m + 3 {
        true
    } else {
        d >= add_months(from, months)
    }
}

// === follow-up ===

/// The follow-up month containing `d`, given the day months start on.
pub fn followup_month(d: NaiveDate, start_day: u32) -> (NaiveDate, NaiveDate) {
    let this_start = NaiveDate::from_ymd_opt(d.year(), d.month(), start_day).unwrap_or(d);
    let start =
        if d >= this_start { this_start } else { this_start.checked_sub_months(Months::new(1)).unwrap_or(this_start) };
    let end = add_months(start, 1).pred_opt().unwrap_or(start);
    (start, end)
}

/// Monthly follow-up (000 § 20). Person-months: for each follow-up month that
/// overlaps `[F, E]`, each person with a spell open on at least one day of it
/// (the month clipped to `[F, E]`). Followed up: at least one contact dated in
/// that month, by `E`. Rate = followed-up person-months / person-months.
/// `spells` grouped by case.
pub fn followup(f: &Facts<'_>, spells: &[SpellRow], period: Period, e: NaiveDate, start_day: u32) -> (usize, usize) {
    let mut months = FollowupMonths::new(period, e, start_day);
    let mut out = (0, 0);
    for s in by_case(spells) {
        let contacts = s.first().map_or(Cow::Borrowed(&[][..]), |s| f.contacts(s.case, e));
        let (followed, person_months) = months.case(&contacts, s);
        out.0 += followed;
        out.1 += person_months;
    }
    out
}

/// The follow-up months of [`followup`] and which of them a case was counted in.
#[derive(Debug)]
pub struct FollowupMonths {
    /// From the month holding F, while they start by E: start, end clipped to E.
    months: Vec<(NaiveDate, NaiveDate)>,
    /// By month: the last case counted in it, plus one (0: none yet).
    counted: Vec<u32>,
    from: NaiveDate,
}

impl FollowupMonths {
    pub fn new(period: Period, e: NaiveDate, start_day: u32) -> Self {
        let mut months = Vec::new();
        let (mut m_start, mut m_end) = followup_month(period.from, start_day);
        while m_start <= e {
            months.push((m_start, m_end));
            m_start = add_months(m_start, 1);
            m_end = add_months(m_start, 1).pred_opt().unwrap_or(m_start);
        }
        let counted = vec![0; months.len()];
        let months = months.into_iter().map(|(s, end)| (s, end.min(e))).collect();
        Self { months, counted, from: period.from }
    }

    /// `(followed up, person-months)` of one case, from its spells and its
    /// contacts ([`Facts::contacts`] by `E` or later: the months end by `E`).
    pub fn case(&mut self, contacts: &[NaiveDate], spells: &[SpellRow]) -> (usize, usize) {
        let (mut followed, mut person_months) = (0, 0);
        // A month two spells of the case are open in counts once: marked with
        // the case. A case of one spell (nearly every case) needs no mark.
        let marked = spells.len() > 1;
        for s in spells {
            let mark = s.case.wrapping_add(1);
            // The months ascend: the first contact on or after a month's
            // start only moves forward (one pass over the contacts, not a
            // search a month).
            let mut next = 0;
            for k in self.run(s) {
                if marked {
                    if self.counted[k] == mark {
                        continue;
                    }
                    self.counted[k] = mark;
                }
                let (m_start, m_end) = self.months[k];
                person_months += 1;
                while contacts.get(next).is_some_and(|d| *d < m_start) {
                    next += 1;
                }
                followed += usize::from(contacts.get(next).is_some_and(|d| *d <= m_end));
            }
        }
        (followed, person_months)
    }

    /// The months spell `s` is open on a day of, each clipped to `[F, E]`.
    /// Registered by a month's end holds from some month on, and not ended
    /// before its (clipped) start up to some month: a contiguous run, found
    /// by two searches. (Only the first month can start, clipped, after its
    /// end, when `E < F`, and it is then the only month.)
    fn run(&self, s: &SpellRow) -> std::ops::Range<usize> {
        let first = self.months.partition_point(|(_, m_end)| s.registered_on > *m_end);
        let open =
            self.months[first..].partition_point(|(m_start, m_end)| s.overlaps((*m_start).max(self.from), *m_end));
        first..first + open
    }
}

// === matchmaker (就业红娘) ===

/// Matchmaker response (001 § 14) for registrations dated in `[F, E]`:
/// same-day contact (a contact dated the registration day) and a two-way
/// recommendation within `recommendation_days` (dated no later than
/// registration + that many days). A registration counts in the two-way
/// denominator only once its deadline is on or before `A`. The breaches are
/// ordered by case id, then registration.
pub fn matchmaker(
    f: &Facts<'_>,
    spells: &[SpellRow],
    period: Period,
    a: NaiveDate,
    days: u32,
) -> (Vec<MatchmakerRow>, (usize, usize), (usize, usize)) {
    let e = period.to.min(a);
    let (mut same_day, mut in_time) = ((0, 0), (0, 0));
    for s in spells.iter().filter(|s| period.from <= s.registered_on && s.registered_on <= e) {
        response(f, s, a, days).count(&mut same_day, &mut in_time);
    }
    let rows = Matchmaker { period, a, days }.all(f, spells.iter().copied());
    (rows, same_day, in_time)
}

/// How the matchmaker answered one registration (see [`matchmaker`]).
#[derive(Debug, Clone, Copy)]
pub struct Response {
    /// A contact dated the registration day.
    pub contacted: bool,
    /// The recommendation deadline is on or before `A`.
    pub is_due: bool,
    /// A two-way recommendation by the deadline (and by `A`).
    pub recommended: bool,
}

impl Response {
    /// [`response`] given the case's contacts and two-way recommendations
    /// ([`Facts::contacts`], [`Facts::two_way`] by `A`).
    pub fn of(contacts: &[NaiveDate], two_way: &[NaiveDate], s: &SpellRow, a: NaiveDate, days: u32) -> Self {
        let contacted = contacts.binary_search(&s.registered_on).is_ok();
        let deadline = s.registered_on + chrono::Days::new(u64::from(days));
        let recommended = any_in(two_way, s.registered_on, deadline.min(a));
        Self { contacted, is_due: deadline <= a, recommended }
    }

    /// Counts this registration into the two rates: same-day contacts /
    /// registrations, and recommendations in time / due.
    pub fn count(self, same_day: &mut (usize, usize), in_time: &mut (usize, usize)) {
        same_day.0 += usize::from(self.contacted);
        same_day.1 += 1;
        if self.is_due {
            in_time.0 += usize::from(self.recommended);
            in_time.1 += 1;
        }
    }
}

/// [`matchmaker`]'s answer for the registration opening spell `s`.
pub fn response(f: &Facts<'_>, s: &SpellRow, a: NaiveDate, days: u32) -> Response {
    Response::of(&f.contacts(s.case, a), &f.two_way(s.case, a), s, a, days)
}

// === full-employment communities ===

/// [`communities`] for one case: its home community in `J`, employed,
/// unemployed; `None` when it counts nowhere.
pub fn employment_of(f: &Facts<'_>, c: CaseNo, a: NaiveDate) -> Option<(PlaceNo, bool, bool)> {
    let facts = f.case(c);
    let home = facts.home_on(a).filter(|h| f.place_in_j(*h))?;
    // A spell as known on `A` ([`Spell::at`](crate::facts::Spell::at)) still open on it.
    let unemployed = facts.spells().iter().any(|s| s.registered_on <= a && s.ended_on.is_none_or(|e| e > a));
    let employed = facts.placements().iter().any(|p| p.current_on(a, a));
    (unemployed || employed).then_some((home, employed, unemployed))
}

/// One community's employment figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommunityRow {
    pub community: String,
    pub employed: i64,
    pub unemployed: i64,
    pub rate: f64,
    pub full_employment: bool,
}

/// 充分就业社区 (001 § 10), on `A`, per community of the person's latest
/// registration dated by `A` (the persons of `cases` living in `J` on `A`): those able
/// and willing to work known to the service are the persons with a spell open
/// on `A` (unemployed) or a placement current on `A` (employed); rate =
/// employed / (employed + unemployed); full employment at ≥ 90 %. Ordered by
/// community code.
pub fn communities(f: &Facts<'_>, cases: &[CaseNo], a: NaiveDate) -> Vec<CommunityRow> {
    let mut by_place: BTreeMap<PlaceNo, (i64, i64)> = BTreeMap::new();
    for &c in cases {
        if let Some((home, employed, unemployed)) = employment_of(f, c, a) {
            let counts = by_place.entry(home).or_default();
            counts.0 += i64::from(employed);
            counts.1 += i64::from(unemployed);
        }
    }
    let mut rows: Vec<CommunityRow> = by_place
        .into_iter()
        .map(|(p, (e, u))| {
            let rate = if e + u == 0 { 0.0 } else { e as f64 / (e + u) as f64 };
            CommunityRow { community: f.community(p), employed: e, unemployed: u, rate, full_employment: rate >= 0.9 }
        })
        .collect();
    rows.sort_by(|x, y| x.community.cmp(&y.community));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_reaches_a_day_exactly_when_it_is_on_or_before_the_latest_that_does() {
        let first = NaiveDate::from_ymd_opt(2023, 11, 1).unwrap();
        for d in (0..500).map(|i| first + chrono::Days::new(i)) {
            for months in [0, 1, 3, 5, 6, 12] {
                let latest = latest_reaching(d, months);
                for from in (0..500).map(|i| d - chrono::Days::new(i)) {
                    assert_eq!(from <= latest, reached(from, months, d), "{from} + {months} months by {d}");
                }
            }
        }
    }

    /// A case's dated services as the definitions read them: on or before
    /// `A` and from the first registration on, whichever side of each cut
    /// the dates lie (the cuts are checked at their ends before searching).
    #[test]
    fn dated_services_are_cut_at_a_and_at_the_first_registration() {
        use rand::{Rng, SeedableRng};

        use crate::{
            facts::{CaseFacts, Spell},
            targets::{Jurisdiction, test_names::Ids},
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261204);
        let day0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let day = |n: u64| day0 + chrono::Days::new(n);
        let facts: Vec<CaseFacts> = (0..300)
            .map(|_| {
                let first = rng.random_range(100..500u64);
                let spell = |at: u64| Spell {
                    registered_on: day(at),
                    ended_on: None,
                    ended_employed: false,
                    exited_employed: false,
                    graduate: false,
                    community: 0,
                };
                // Some dates before the first registration (an older log's),
                // some after any `A` below, some cases with none.
                let mut dates: Vec<NaiveDate> =
                    (0..rng.random_range(0..12)).map(|_| day(rng.random_range(first - 100..first + 400))).collect();
                dates.sort();
                let spells = vec![spell(first + 50), spell(first)]; // the earliest is not the first listed
                CaseFacts { home: Some(0), spells: spells.into(), contacts: dates.into(), ..CaseFacts::default() }
            })
            .collect();
        let store: FactStore = facts.iter().cloned().collect();
        let ids = Ids((0..300).map(|i| format!("c{i}")).collect());
        let city = Facts::new(&store, &ids, 1, &Jurisdiction::city());
        let elsewhere = Facts::new(&store, &ids, 1, &Jurisdiction::parse("120101").unwrap());
        for (c, case) in facts.iter().enumerate() {
            let first = case.spells.iter().map(|s| s.registered_on).min().unwrap();
            for a in [day(0), first, day(450), day(2000)] {
                let want: Vec<NaiveDate> = case.contacts.iter().copied().filter(|d| first <= *d && *d <= a).collect();
                assert_eq!(city.contacts(c as CaseNo, a).as_ref(), want.as_slice(), "case {c} as of {a}");
                assert!(elsewhere.contacts(c as CaseNo, a).is_empty(), "case {c} lives in no community of 120101");
            }
        }
    }

    /// Monthly follow-up as 000 § 20 reads, month by month and case by
    /// case, against [`FollowupMonths::case`] (which walks month runs per
    /// spell), on random histories: several spells a case, given in
    /// order and reversed, months starting on the 1st, 15th, 29th and 31st,
    /// and a period not begun on its as-of date (`E < F`).
    #[test]
    fn followup_months_equal_the_definition_read_month_by_month() {
        use rand::{Rng, SeedableRng};

        use crate::{
            facts::{CaseFacts, Spell},
            targets::{Jurisdiction, test_names::Ids},
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261202);
        let day0 = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let day = |n: u64| day0 + chrono::Days::new(n);
        let store: FactStore = (0..600)
            .map(|_| {
                let mut at = rng.random_range(0..500u64);
                let first = at;
                let spells: Vec<Spell> = (0..rng.random_range(1..4))
                    .map(|_| {
                        let registered_on = day(at);
                        at += rng.random_range(0..200);
                        let ended_on = rng.random_bool(0.7).then(|| day(at));
                        at += rng.random_range(1..60);
                        Spell {
                            registered_on,
                            ended_on,
                            ended_employed: false,
                            exited_employed: false,
                            graduate: false,
                            community: 0,
                        }
                    })
                    .collect();
                // Dated from the first registration on, as the decider takes them.
                let mut contacts: Vec<NaiveDate> =
                    (0..rng.random_range(0..30)).map(|_| day(rng.random_range(first..900))).collect();
                contacts.sort();
                CaseFacts { home: Some(0), spells: spells.into(), contacts: contacts.into(), ..CaseFacts::default() }
            })
            .collect();
        let ids = Ids((0..600).map(|i| format!("c{i}")).collect());
        let f = Facts::new(&store, &ids, 1, &Jurisdiction::city());
        for (start_day, from, to, a) in
            [(1, 100, 465, 700), (15, 30, 400, 250), (29, 0, 800, 800), (31, 200, 260, 900), (1, 290, 400, 280)]
        {
            let period = Period::new(day(from), day(to)).unwrap();
            let (a, e) = (day(a), day(to).min(day(a)));
            // Each marks the months it counted a case in: one for each order.
            let mut months = FollowupMonths::new(period, e, start_day);
            let mut reversed = FollowupMonths::new(period, e, start_day);
            for c in 0..600u32 {
                let mut spells: Vec<SpellRow> =
                    f.case(c).spells().iter().enumerate().filter_map(|(no, s)| s.at(c, no, a)).collect();
                // The definition: each follow-up month overlapping [F, E].
                let (mut want_followed, mut want_months) = (0, 0);
                let (mut m_start, _) = followup_month(period.from, start_day);
                while m_start <= e {
                    let m_end = add_months(m_start, 1).pred_opt().unwrap().min(e);
                    let open = spells.iter().any(|s| s.overlaps(m_start.max(period.from), m_end));
                    if open {
                        want_months += 1;
                        let contacted = f.case(c).contacts().iter().any(|d| m_start <= *d && *d <= m_end);
                        want_followed += usize::from(contacted);
                    }
                    m_start = add_months(m_start, 1);
                }
                let want = (want_followed, want_months);
                // Contacts by `E`, as `followup` reads them, and by `A`, as a report does.
                assert_eq!(months.case(&f.contacts(c, e), &spells), want, "case {c}, months from day {start_day}");
                spells.reverse();
                let by_a = f.contacts(c, a);
                assert_eq!(reversed.case(&by_a, &spells), want, "case {c} reversed, months from day {start_day}");
            }
        }
    }

    #[test]
    fn reached_is_the_calendar_comparison_on_every_day_around_every_start() {
        let first = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        for start in (0..800).map(|i| first + chrono::Days::new(i)) {
            for months in [0, 1, 2, 3, 6, 12, 24] {
                let at = add_months(start, months);
                for offset in -130i64..130 {
                    let d = at + chrono::TimeDelta::days(offset);
                    assert_eq!(reached(start, months, d), d >= at, "{start} + {months} months vs {d}");
                }
            }
        }
    }
}
