//! The action lists over spells (long-term unemployed, overdue follow-ups,
//! exit review, matchmaker breaches): which spells each holds, in what
//! order, and the row it shows of each ([`SpellList`]); the whole list
//! ([`SpellList::all`]) or one page of it ([`SpellList::page`]).
//!
//! A page does not order or name the whole list: its rows are kept as
//! plain numbers while they are chosen (two partial selections, of the
//! first `offset + size` and then of those from `offset`, then a sort of the
//! page's own), and only the page's rows get their case id and community as
//! text. The order is total (every key ends in the case id and spell
//! number), so a page is exactly that slice of the whole list.

use std::cmp::Ordering;

use chrono::{Months, NaiveDate};
use serde::Serialize;

use super::{
    Facts, LongTermCut, Period, Response, TargetParams, add_months, followup_month, response, spells_of,
    split::{over_runs, threads_for},
};
use crate::facts::{CaseNo, CaseSet, SpellRow, any_in, last_by};

/// Part of a list: `size` rows from `offset`, of the rows whose case is in
/// `cases` when given.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub offset: usize,
    pub size: usize,
    pub cases: Option<&'a CaseSet>,
}

impl Window<'_> {
    /// The whole list.
    pub const ALL: Window<'static> = Window { offset: 0, size: usize::MAX, cases: None };
}

/// Rows of a list and how many the whole list (after the case filter) holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage<T> {
    pub rows: Vec<T>,
    pub total: usize,
}

/// An action list over spells.
pub trait SpellList {
    /// What the list keeps of a spell while ordering (plain numbers and dates).
    type Key: Copy;
    /// What it shows.
    type Row;
    /// The spell's key when the list holds it.
    fn key(&self, f: &Facts<'_>, s: &SpellRow) -> Option<Self::Key>;
    /// The list's order.
    fn order(&self, f: &Facts<'_>, x: &Self::Key, y: &Self::Key) -> Ordering;
    /// The row of a key.
    fn row(&self, f: &Facts<'_>, k: &Self::Key) -> Self::Row;

    /// The whole list of `spells`, ordered.
    fn all(&self, f: &Facts<'_>, spells: impl Iterator<Item = SpellRow>) -> Vec<Self::Row> {
        self.page(f, spells, Window::ALL).rows
    }

    /// The part `w` of the list of `spells`.
    fn page(&self, f: &Facts<'_>, spells: impl Iterator<Item = SpellRow>, w: Window<'_>) -> ListPage<Self::Row> {
        self.page_of_keys(f, self.keys(f, spells, w), w)
    }

    /// The part `w` of the list of the spells of `cases` registered in `J`,
    /// as known on `a` ([`super::spells_of`]); a long walk is split over
    /// threads ([`threads_for`]) and their keys put together.
    fn page_of_cases(&self, f: &Facts<'_>, cases: &[CaseNo], a: NaiveDate, w: Window<'_>) -> ListPage<Self::Row>
    where
        Self: Sync,
        Self::Key: Send,
    {
        let runs = over_runs(threads_for(cases.len()), cases, |run| self.keys(f, spells_of(f, run, a), w));
        self.page_of_keys(f, runs.concat(), w)
    }

    /// The keys of the spells the list holds (of the cases `w` keeps).
    fn keys(&self, f: &Facts<'_>, spells: impl Iterator<Item = SpellRow>, w: Window<'_>) -> Vec<Self::Key> {
        spells.filter(|s| w.cases.is_none_or(|c| c.contains(s.case))).filter_map(|s| self.key(f, &s)).collect()
    }

    /// The part `w` of the list of `keys`, choosing and sorting as the
    /// module says: a last page costs what a first page does.
    fn page_of_keys(&self, f: &Facts<'_>, mut keys: Vec<Self::Key>, w: Window<'_>) -> ListPage<Self::Row> {
        let order = |x: &Self::Key, y: &Self::Key| self.order(f, x, y);
        let total = keys.len();
        let end = w.offset.saturating_add(w.size).min(total);
        let start = w.offset.min(end);
        if end < total && end > 0 {
            keys.select_nth_unstable_by(end - 1, order);
            keys.truncate(end);
        }
        if start > 0 && start < end {
            keys.select_nth_unstable_by(start, order);
        }
        let window = keys.get_mut(start..end).unwrap_or_default();
        window.sort_unstable_by(order);
        let rows = window.iter().map(|k| self.row(f, k)).collect();
        ListPage { rows, total }
    }
}

/// Orders by `first`, then case id (its first 8 bytes as a number, then
/// the whole id), then spell number.
fn then_by_case<T: Ord>(f: &Facts<'_>, first: (T, &SpellRow), second: (T, &SpellRow)) -> Ordering {
    let (x, y) = (first.1, second.1);
    first
        .0
        .cmp(&second.0)
        .then_with(|| f.key_of(x.case).cmp(&f.key_of(y.case)))
        .then_with(|| (f.id_of(x.case), x.no).cmp(&(f.id_of(y.case), y.no)))
}

// === long-term unemployed ===

/// A spell on the long-term or at-risk list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LongTermRow {
    pub case_id: String,
    pub community: String,
    pub registered_on: NaiveDate,
    /// `None` while open on the as-of date.
    pub ended_on: Option<NaiveDate>,
    /// Days from registration to its end, or to the as-of date while open.
    pub days: i64,
    /// `registered_on + long_term_months`: the day the spell has lasted
    /// `long_term_months` (it is long-term from this day on, inclusive).
    pub long_term_from: NaiveDate,
    /// `long_term` or `at_risk`.
    pub status: &'static str,
}

/// No long-term unemployed (001 § 9: "无2年内失业半年以上人员"; 以上 includes
/// the number). A spell is long-term when it has lasted `long_term_months` or
/// more: its end, or `A` while it is open, is on or after `registered_on +
/// long_term_months` (a placement on that day leaves it on the list; on the
/// day before, off). Spells overlapping the `lookback_years` before `A` count.
/// At risk: open on `A`, not long-term, open for at least `at_risk_after_months`.
/// Ordered long-term first, longest first, then by case id.
#[derive(Debug, Clone, Copy)]
pub struct LongTerm<'p> {
    p: &'p TargetParams,
    /// The cut on `A`, made once for every spell.
    cut: LongTermCut,
}

impl<'p> LongTerm<'p> {
    pub fn new(a: NaiveDate, p: &'p TargetParams) -> Self {
        Self { p, cut: LongTermCut::new(a, p) }
    }
}

impl SpellList for LongTerm<'_> {
    type Key = (SpellRow, i64, &'static str);
    type Row = LongTermRow;

    fn key(&self, _: &Facts<'_>, s: &SpellRow) -> Option<Self::Key> {
        self.cut.status(s).map(|(days, status)| (*s, days, status))
    }

    fn order(&self, f: &Facts<'_>, x: &Self::Key, y: &Self::Key) -> Ordering {
        // Long-term (rank 0) before at risk (1), as documented.
        let rank = |status: &str| u8::from(status != "long_term");
        then_by_case(f, ((rank(x.2), std::cmp::Reverse(x.1)), &x.0), ((rank(y.2), std::cmp::Reverse(y.1)), &y.0))
    }

    fn row(&self, f: &Facts<'_>, (s, days, status): &Self::Key) -> LongTermRow {
        LongTermRow {
            case_id: f.case_id(s.case),
            community: f.community(s.community),
            registered_on: s.registered_on,
            ended_on: s.ended_on,
            days: *days,
            long_term_from: add_months(s.registered_on, self.p.long_term_months),
            status,
        }
    }
}

/// [`LongTerm`], whole.
pub fn long_term(f: &Facts<'_>, spells: &[SpellRow], a: NaiveDate, p: &TargetParams) -> Vec<LongTermRow> {
    LongTerm::new(a, p).all(f, spells.iter().copied())
}

// === overdue follow-up ===

/// A person overdue for monthly follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverdueRow {
    pub case_id: String,
    pub community: String,
    pub registered_on: NaiveDate,
    pub last_contact_on: Option<NaiveDate>,
    /// The last complete follow-up month without a contact.
    pub missed_month_start: NaiveDate,
}

/// Overdue on `A`: an open spell on `A` that was open during the last complete
/// follow-up month before `A`, with no contact dated in that month. Ordered by
/// the last contact (none first), then case id.
#[derive(Debug, Clone, Copy)]
pub struct Overdue {
    a: NaiveDate,
    /// The last complete follow-up month before `A`.
    last: (NaiveDate, NaiveDate),
}

impl Overdue {
    pub fn new(a: NaiveDate, start_day: u32) -> Self {
        let (current_start, _) = followup_month(a, start_day);
        Self { a, last: followup_month(current_start.pred_opt().unwrap_or(current_start), start_day) }
    }
}

impl SpellList for Overdue {
    type Key = (Option<NaiveDate>, SpellRow);
    type Row = OverdueRow;

    fn key(&self, f: &Facts<'_>, s: &SpellRow) -> Option<Self::Key> {
        let (a, (last_start, last_end)) = (self.a, self.last);
        if !(s.open_on(a) && s.ended_on.is_none() && s.overlaps(last_start, last_end)) {
            return None;
        }
        let dates = f.contacts(s.case, a);
        (!any_in(&dates, last_start, last_end)).then(|| (last_by(&dates, a), *s))
    }

    fn order(&self, f: &Facts<'_>, x: &Self::Key, y: &Self::Key) -> Ordering {
        then_by_case(f, (x.0, &x.1), (y.0, &y.1))
    }

    fn row(&self, f: &Facts<'_>, (last, s): &Self::Key) -> OverdueRow {
        OverdueRow {
            case_id: f.case_id(s.case),
            community: f.community(s.community),
            registered_on: s.registered_on,
            last_contact_on: *last,
            missed_month_start: self.last.0,
        }
    }
}

/// [`Overdue`], whole.
pub fn overdue_followups(f: &Facts<'_>, spells: &[SpellRow], a: NaiveDate, start_day: u32) -> Vec<OverdueRow> {
    Overdue::new(a, start_day).all(f, spells.iter().copied())
}

// === exit review ===

/// A registration without contact for `exit_review_months`: to consider for exit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExitReviewRow {
    pub case_id: String,
    pub community: String,
    pub registered_on: NaiveDate,
    pub last_contact_on: Option<NaiveDate>,
}

/// Open on `A`, and neither a contact nor the registration itself within the
/// last `exit_review_months` before `A`. Ordered by the last contact (none
/// first), then case id.
#[derive(Debug, Clone, Copy)]
pub struct ExitReview {
    a: NaiveDate,
    /// `A` minus `exit_review_months`.
    since: NaiveDate,
}

impl ExitReview {
    pub fn new(a: NaiveDate, months: u32) -> Self {
        Self { a, since: a.checked_sub_months(Months::new(months)).unwrap_or(NaiveDate::MIN) }
    }
}

impl SpellList for ExitReview {
    type Key = (Option<NaiveDate>, SpellRow);
    type Row = ExitReviewRow;

    fn key(&self, f: &Facts<'_>, s: &SpellRow) -> Option<Self::Key> {
        if !(s.ended_on.is_none() && s.registered_on <= self.a) {
            return None;
        }
        let last = last_by(&f.contacts(s.case, self.a), self.a);
        let latest = last.unwrap_or(s.registered_on).max(s.registered_on);
        (latest < self.since).then_some((last, *s))
    }

    fn order(&self, f: &Facts<'_>, x: &Self::Key, y: &Self::Key) -> Ordering {
        then_by_case(f, (x.0, &x.1), (y.0, &y.1))
    }

    fn row(&self, f: &Facts<'_>, (last, s): &Self::Key) -> ExitReviewRow {
        ExitReviewRow {
            case_id: f.case_id(s.case),
            community: f.community(s.community),
            registered_on: s.registered_on,
            last_contact_on: *last,
        }
    }
}

/// [`ExitReview`], whole.
pub fn exit_review(f: &Facts<'_>, spells: &[SpellRow], a: NaiveDate, months: u32) -> Vec<ExitReviewRow> {
    ExitReview::new(a, months).all(f, spells.iter().copied())
}

// === matchmaker breaches ===

/// A registration the matchmaker did not answer in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchmakerRow {
    pub case_id: String,
    pub community: String,
    pub registered_on: NaiveDate,
    pub same_day_contact: bool,
    pub two_way_in_time: bool,
}

/// The registrations dated in `[F, E]` without a same-day contact, or due
/// and without a two-way recommendation in time ([`super::matchmaker`]),
/// ordered by case id, then registration.
#[derive(Debug, Clone, Copy)]
pub struct Matchmaker {
    pub period: Period,
    pub a: NaiveDate,
    /// `recommendation_days`.
    pub days: u32,
}

impl SpellList for Matchmaker {
    type Key = (SpellRow, bool, bool);
    type Row = MatchmakerRow;

    fn key(&self, f: &Facts<'_>, s: &SpellRow) -> Option<Self::Key> {
        let e = self.period.to.min(self.a);
        if !(self.period.from <= s.registered_on && s.registered_on <= e) {
            return None;
        }
        let Response { contacted, is_due, recommended } = response(f, s, self.a, self.days);
        (!contacted || (is_due && !recommended)).then_some((*s, contacted, recommended))
    }

    fn order(&self, f: &Facts<'_>, x: &Self::Key, y: &Self::Key) -> Ordering {
        then_by_case(f, ((), &x.0), ((), &y.0))
    }

    fn row(&self, f: &Facts<'_>, (s, contacted, recommended): &Self::Key) -> MatchmakerRow {
        MatchmakerRow {
            case_id: f.case_id(s.case),
            community: f.community(s.community),
            registered_on: s.registered_on,
            same_day_contact: *contacted,
            two_way_in_time: *recommended,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        facts::{CaseFacts, CaseNo, FactStore, Names, Spell},
        targets::{Jurisdiction, spells_in, test_names::Ids},
    };

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// 300 persons registered on days spread over two years, a third of
    /// them ended; numbered out of case-id order (as after a refresh).
    fn population() -> (FactStore, Ids) {
        let ids = Ids((0..300).map(|i| format!("case-{:03}", (i * 7) % 300)).collect());
        let store = (0..300u32)
            .map(|i| {
                let registered_on = d("2025-01-01") + chrono::Days::new(u64::from(i * 2 % 600));
                let ended_on = (i % 3 == 0).then(|| registered_on + chrono::Days::new(200));
                CaseFacts {
                    home: Some(0),
                    spells: vec![Spell {
                        registered_on,
                        ended_on,
                        ended_employed: false,
                        exited_employed: false,
                        graduate: false,
                        community: 0,
                    }]
                    .into(),
                    ..CaseFacts::default()
                }
            })
            .collect();
        (store, ids)
    }

    #[test]
    fn every_page_is_that_slice_of_the_whole_list_and_long_term_comes_first() {
        let (store, ids) = population();
        let f = Facts::new(&store, &ids, 1, &Jurisdiction::city());
        let all_cases: Vec<CaseNo> = (0..300).collect();
        let a = d("2026-09-30");
        let p = TargetParams::default();
        let spells = spells_in(&f, &all_cases, a);
        let list = LongTerm::new(a, &p);
        let whole = list.all(&f, spells.iter().copied());
        assert!(whole.len() > 150, "{}", whole.len());
        let first_at_risk = whole.iter().position(|r| r.status == "at_risk").unwrap_or(whole.len());
        assert!(whole[..first_at_risk].iter().all(|r| r.status == "long_term"));
        assert!(whole[first_at_risk..].iter().all(|r| r.status == "at_risk"));
        // Every offset (first, middle and last pages, past the end) and
        // sizes from none to more than the whole.
        for size in [0, 1, 7, 100, whole.len() + 1] {
            for offset in (0..whole.len() + 3).chain([whole.len() + 5, usize::MAX]) {
                let w = Window { offset, size, cases: None };
                let page = list.page(&f, spells.iter().copied(), w);
                assert_eq!(page.total, whole.len());
                let end = offset.saturating_add(size).min(whole.len());
                assert_eq!(page.rows, whole[offset.min(end)..end], "offset {offset} size {size}");
            }
        }
        // A case filter keeps only its cases, before paging.
        let mut keep = CaseSet::default();
        for c in (0..300).step_by(4) {
            keep.insert(c);
        }
        let kept: Vec<LongTermRow> = whole
            .iter()
            .filter(|r| (0..300).step_by(4).any(|c: CaseNo| ids.case_id(c) == r.case_id))
            .cloned()
            .collect();
        let page = list.page(&f, spells.iter().copied(), Window { offset: 2, size: 5, cases: Some(&keep) });
        assert_eq!((page.total, page.rows), (kept.len(), kept[2..7].to_vec()));
    }
}
