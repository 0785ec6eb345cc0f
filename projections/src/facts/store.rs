//! Where the index keeps the [`CaseFacts`] of every case: each kind of row
//! in one array of its own (all spells, all placements, all dates, …), in
//! case order, and per case a fixed-size record of where its rows lie
//! ([`Spans`]).
//!
//! Why: a target for the city reads every case. With a boxed slice per
//! field per case (the first design) a case was a 200-byte record plus ten
//! heap blocks, and a walk over 500 000 cases read some 300 MB of scattered
//! memory. Here a walk reads each array front to back (what the hardware
//! prefetches best), a case's record is 48 bytes, and what the lists read of
//! every case (where its spells and contacts lie, its home) is in an array
//! of its own ([`Head`], 20 bytes a case): a list walks 20 bytes a case
//! plus the spells, and for the few spells it holds reads the contacts
//! without first missing the cache on the case's record.
//!
//! Replacing a case (the index's refresh) appends its new rows at the end
//! and leaves the old ones as garbage; once the garbage outweighs the live
//! rows, [`FactStore::set`] copies the live rows out again in case order.

use chrono::NaiveDate;

use super::{CaseFacts, CaseNo, Grant, Membership, PlaceNo, Placement, Recognition, Spell, Training};

/// A run of rows in one of the arrays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    #[inline]
    fn of<T>(self, rows: &[T]) -> &[T] {
        &rows[self.start as usize..(self.start + self.len) as usize]
    }
}

/// What every walk reads of a case: where its spells lie, its home and
/// where its dates lie. The four date lists lie one after the other in
/// [`FactStore::dates`] from `dates`: contacts (`contacts` of them),
/// two-way recommendations, other services, zero-employment signals (their
/// lengths in [`Spans::date_lens`]).
#[derive(Debug, Clone, Copy)]
struct Head {
    spells: Span,
    /// [`NO_HOME`] when the case has no `person` row.
    home: PlaceNo,
    dates: u32,
    contacts: u16,
}

/// [`Head::home`] of a case without a home.
const NO_HOME: PlaceNo = PlaceNo::MAX;

impl Default for Head {
    /// A case without rows.
    fn default() -> Self {
        Self { spells: Span::default(), home: NO_HOME, dates: 0, contacts: 0 }
    }
}

/// Where the rest of one case's rows lie.
#[derive(Debug, Clone, Copy, Default)]
struct Spans {
    placements: Span,
    /// Lengths of the date lists after the contacts (see [`Head`]).
    date_lens: [u16; 3],
    trainings: Span,
    recognitions: Span,
    memberships: Span,
    grants: Span,
}

/// The facts of every case of one numbering (see the module doc).
#[derive(Debug, Default)]
pub struct FactStore {
    cases: Vec<Spans>,
    /// By case, apart from [`Spans`] so that a walk over the spells of
    /// every case reads 20 bytes a case, not 68.
    heads: Vec<Head>,
    spells: Vec<Spell>,
    placements: Vec<Placement>,
    dates: Vec<NaiveDate>,
    trainings: Vec<Training>,
    recognitions: Vec<Recognition>,
    memberships: Vec<Membership>,
    grants: Vec<Grant>,
    /// Rows no case's spans name any more (replaced cases).
    garbage: usize,
}

/// One case's facts, borrowed from a [`FactStore`]: [`CaseFacts`] with
/// slices, each made only when asked for (a definition reads two or three
/// of the eleven).
#[derive(Debug, Clone, Copy)]
pub struct CaseView<'a> {
    store: &'a FactStore,
    spans: &'a Spans,
    head: Head,
}

/// Where a case not held would lie: nowhere.
static NO_SPANS: Spans = Spans {
    placements: Span { start: 0, len: 0 },
    date_lens: [0; 3],
    trainings: Span { start: 0, len: 0 },
    recognitions: Span { start: 0, len: 0 },
    memberships: Span { start: 0, len: 0 },
    grants: Span { start: 0, len: 0 },
};

impl<'a> CaseView<'a> {
    #[inline]
    pub fn home(&self) -> Option<PlaceNo> {
        (self.head.home != NO_HOME).then_some(self.head.home)
    }

    /// Where the person lived on `d`: the community of the latest
    /// registration dated on or before `d` (the spell it opened; of two on
    /// one day, the later one). `None` before the first registration: a
    /// registration dated after an as-of date has not happened on it, so
    /// it cannot move the person on that date.
    #[inline]
    pub fn home_on(&self, d: NaiveDate) -> Option<PlaceNo> {
        let mut home: Option<(NaiveDate, PlaceNo)> = None;
        for s in self.spells().iter().filter(|s| s.registered_on <= d) {
            if home.is_none_or(|(on, _)| s.registered_on >= on) {
                home = Some((s.registered_on, s.community));
            }
        }
        home.map(|(_, p)| p)
    }

    #[inline]
    pub fn spells(&self) -> &'a [Spell] {
        self.head.spells.of(&self.store.spells)
    }

    #[inline]
    pub fn placements(&self) -> &'a [Placement] {
        self.spans.placements.of(&self.store.placements)
    }

    #[inline]
    pub fn trainings(&self) -> &'a [Training] {
        self.spans.trainings.of(&self.store.trainings)
    }

    #[inline]
    pub fn recognitions(&self) -> &'a [Recognition] {
        self.spans.recognitions.of(&self.store.recognitions)
    }

    #[inline]
    pub fn memberships(&self) -> &'a [Membership] {
        self.spans.memberships.of(&self.store.memberships)
    }

    #[inline]
    pub fn grants(&self) -> &'a [Grant] {
        self.spans.grants.of(&self.store.grants)
    }

    /// Date list `k` after the contacts: 0 two-way recommendations, 1 other
    /// services, 2 zero-employment signals (see [`Head`]).
    #[inline]
    fn after_contacts(&self, k: usize) -> &'a [NaiveDate] {
        let lens = &self.spans.date_lens;
        let start = (self.head.dates + u32::from(self.head.contacts)) as usize
            + lens[..k].iter().map(|l| *l as usize).sum::<usize>();
        &self.store.dates[start..start + lens[k] as usize]
    }

    /// Contact dates, sorted (read without the case's [`Spans`]).
    #[inline]
    pub fn contacts(&self) -> &'a [NaiveDate] {
        let start = self.head.dates as usize;
        &self.store.dates[start..start + self.head.contacts as usize]
    }

    /// Dates of two-way recommendations, sorted.
    #[inline]
    pub fn two_way(&self) -> &'a [NaiveDate] {
        self.after_contacts(0)
    }

    /// Dates of every recommendation and training enrolment, sorted.
    #[inline]
    pub fn other_services(&self) -> &'a [NaiveDate] {
        self.after_contacts(1)
    }

    /// Zero-employment signals, sorted.
    #[inline]
    pub fn zero_employment_signals(&self) -> &'a [NaiveDate] {
        self.after_contacts(2)
    }

    /// The stretches this case was employed, as known on `a`: `(from,
    /// until)`, `until` exclusive and `None` while still employed on `a`.
    /// Each placement started by `a` (until its end, if dated by `a`), and
    /// each spell closed by an exit with reason `employed` dated by `a`
    /// (until the next registration, if dated by `a`): an exit as employed
    /// is employment, as a placement is (TARGETS.md, "Households").
    pub fn employment(&self, a: NaiveDate) -> impl Iterator<Item = (NaiveDate, Option<NaiveDate>)> + 'a {
        let known = move |end: Option<NaiveDate>| end.filter(|e| *e <= a);
        let placed =
            self.placements().iter().filter(move |p| p.started_on <= a).map(move |p| (p.started_on, known(p.ended_on)));
        let spells = self.spells();
        let exited = spells.iter().enumerate().filter_map(move |(i, s)| {
            let exit = known(s.ended_on).filter(|_| s.exited_employed)?;
            Some((exit, known(spells.get(i + 1).map(|next| next.registered_on))))
        });
        placed.chain(exited)
    }

    /// Every place a row of this case names (home, spells, placements,
    /// trainings, grants: a grant's may be a district, [`Grant::community`]),
    /// sorted, each once: the case belongs to the jurisdictions holding one
    /// of them.
    pub fn places(&self) -> Vec<PlaceNo> {
        let mut places: Vec<PlaceNo> = self
            .home()
            .into_iter()
            .chain(self.spells().iter().map(|s| s.community))
            .chain(self.placements().iter().map(|p| p.community))
            .chain(self.trainings().iter().map(|t| t.community))
            .chain(self.grants().iter().map(|g| g.community))
            .collect();
        places.sort_unstable();
        places.dedup();
        places
    }
}

fn append<T: Copy>(to: &mut Vec<T>, rows: &[T]) -> Span {
    let start = u32::try_from(to.len()).expect("fewer than 2^32 rows of one kind");
    to.extend_from_slice(rows);
    Span { start, len: rows.len() as u32 }
}

impl FromIterator<CaseFacts> for FactStore {
    /// Case `i` is the `i`-th of the iterator.
    fn from_iter<I: IntoIterator<Item = CaseFacts>>(iter: I) -> Self {
        let mut store = Self::default();
        for facts in iter {
            store.push(&facts);
        }
        store
    }
}

impl FactStore {
    /// Cases held (numbered `0..len`).
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// The facts of `case`; a case not held has none.
    #[inline]
    pub fn case(&self, case: CaseNo) -> CaseView<'_> {
        let i = case as usize;
        CaseView {
            store: self,
            spans: self.cases.get(i).unwrap_or(&NO_SPANS),
            head: self.heads.get(i).copied().unwrap_or_default(),
        }
    }

    /// Adds the next case (number [`Self::len`]).
    pub fn push(&mut self, facts: &CaseFacts) {
        let (spans, head) = self.append(facts);
        self.cases.push(spans);
        self.heads.push(head);
    }

    /// Replaces the facts of `case`, adding empty cases up to it.
    pub fn set(&mut self, case: CaseNo, facts: &CaseFacts) {
        let case = case as usize;
        if self.cases.len() <= case {
            self.cases.resize_with(case + 1, Spans::default);
            self.heads.resize_with(case + 1, Head::default);
        }
        self.garbage += rows_of(&self.cases[case], &self.heads[case]);
        (self.cases[case], self.heads[case]) = self.append(facts);
        if self.garbage > 4096 && self.garbage > self.live_rows() {
            self.compact();
        }
    }

    fn append(&mut self, f: &CaseFacts) -> (Spans, Head) {
        let dates = self.dates.len() as u32;
        let mut date_lens = [0u16; 4];
        for (i, list) in [&f.contacts, &f.two_way, &f.other_services, &f.zero_employment_signals].iter().enumerate() {
            // More than 65 535 dates of one kind on one case is not a real
            // case; the index keeps the first 65 535 (sorted: the earliest).
            let kept = &list[..list.len().min(u16::MAX as usize)];
            self.dates.extend_from_slice(kept);
            date_lens[i] = kept.len() as u16;
        }
        let [contacts, rest @ ..] = date_lens;
        let spans = Spans {
            placements: append(&mut self.placements, &f.placements),
            date_lens: rest,
            trainings: append(&mut self.trainings, &f.trainings),
            recognitions: append(&mut self.recognitions, &f.recognitions),
            memberships: append(&mut self.memberships, &f.memberships),
            grants: append(&mut self.grants, &f.grants),
        };
        let head = Head { spells: append(&mut self.spells, &f.spells), home: home_of(f.home), dates, contacts };
        (spans, head)
    }

    fn live_rows(&self) -> usize {
        self.spells.len()
            + self.placements.len()
            + self.dates.len()
            + self.trainings.len()
            + self.recognitions.len()
            + self.memberships.len()
            + self.grants.len()
            - self.garbage
    }

    /// Copies the live rows out again, in case order.
    fn compact(&mut self) {
        let old = std::mem::take(self);
        for case in 0..old.cases.len() {
            let v = old.case(case as CaseNo);
            let dates = self.dates.len() as u32;
            let spans = Spans {
                placements: append(&mut self.placements, v.placements()),
                date_lens: old.cases[case].date_lens,
                trainings: append(&mut self.trainings, v.trainings()),
                recognitions: append(&mut self.recognitions, v.recognitions()),
                memberships: append(&mut self.memberships, v.memberships()),
                grants: append(&mut self.grants, v.grants()),
            };
            for d in [v.contacts(), v.two_way(), v.other_services(), v.zero_employment_signals()] {
                self.dates.extend_from_slice(d);
            }
            self.cases.push(spans);
            let spells = append(&mut self.spells, v.spells());
            self.heads.push(Head { spells, home: home_of(v.home()), dates, contacts: old.heads[case].contacts });
        }
    }

    /// Heap memory held, in bytes (capacities).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.cases.capacity() * size_of::<Spans>()
            + self.heads.capacity() * size_of::<Head>()
            + self.spells.capacity() * size_of::<Spell>()
            + self.placements.capacity() * size_of::<Placement>()
            + self.dates.capacity() * size_of::<NaiveDate>()
            + self.trainings.capacity() * size_of::<Training>()
            + self.recognitions.capacity() * size_of::<Recognition>()
            + self.memberships.capacity() * size_of::<Membership>()
            + self.grants.capacity() * size_of::<Grant>()
    }
}

/// Rows the spans and head of one case name.
fn rows_of(s: &Spans, h: &Head) -> usize {
    (s.placements.len + s.trainings.len + s.recognitions.len + s.memberships.len + s.grants.len + h.spells.len) as usize
        + usize::from(h.contacts)
        + s.date_lens.iter().map(|l| *l as usize).sum::<usize>()
}

/// [`Head::home`] of `home`. A community numbered [`NO_HOME`] would need
/// 2^32 communities: numberings stop long before (`PlaceNo` of a `Vec` index).
fn home_of(home: Option<PlaceNo>) -> PlaceNo {
    home.unwrap_or(NO_HOME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, day).unwrap()
    }

    fn facts(n: u32) -> CaseFacts {
        CaseFacts {
            home: Some(n),
            spells: vec![
                Spell {
                    registered_on: d(n),
                    ended_on: None,
                    ended_employed: false,
                    exited_employed: false,
                    graduate: false,
                    community: n
                };
                n as usize
            ]
            .into(),
            contacts: (1..=n).map(d).collect(),
            two_way: vec![d(n)].into(),
            zero_employment_signals: vec![d(1), d(2)].into(),
            ..CaseFacts::default()
        }
    }

    fn view_eq(v: CaseView<'_>, f: &CaseFacts) {
        assert_eq!(v.home(), f.home);
        assert_eq!(v.spells(), &*f.spells);
        assert_eq!(v.contacts(), &*f.contacts);
        assert_eq!(v.two_way(), &*f.two_way);
        assert_eq!(v.other_services(), &*f.other_services);
        assert_eq!(v.zero_employment_signals(), &*f.zero_employment_signals);
    }

    #[test]
    fn employment_is_placements_and_exits_as_employed_until_the_next_registration() {
        let spell = |registered_on, ended_on, exited_employed| Spell {
            registered_on,
            ended_on,
            ended_employed: exited_employed,
            exited_employed,
            graduate: false,
            community: 0,
        };
        // Exited as employed on the 5th, registered again on the 20th (closed by
        // another exit on the 25th, not as employed), placed on the 28th.
        let f = CaseFacts {
            spells: vec![spell(d(1), Some(d(5)), true), spell(d(20), Some(d(25)), false)].into(),
            placements: vec![Placement {
                started_on: d(28),
                ended_on: Some(d(30)),
                kind: crate::facts::PlacementKind::Other,
                community: 0,
                local: false,
            }]
            .into(),
            ..CaseFacts::default()
        };
        let store: FactStore = [f].into_iter().collect();
        let on = |a| store.case(0).employment(a).collect::<Vec<_>>();
        assert_eq!(on(d(4)), vec![], "the exit is not known before its date");
        assert_eq!(on(d(19)), vec![(d(5), None)], "the next registration is not known yet");
        assert_eq!(on(d(27)), vec![(d(5), Some(d(20)))]);
        assert_eq!(on(d(29)), vec![(d(28), None), (d(5), Some(d(20)))]);
        assert_eq!(on(d(31)), vec![(d(28), Some(d(30))), (d(5), Some(d(20)))]);
    }

    #[test]
    fn each_case_reads_back_its_own_rows_through_replacements_and_compaction() {
        let mut store: FactStore = (1..=5).map(facts).collect();
        for n in 1..=5 {
            view_eq(store.case(n - 1), &facts(n));
        }
        // Replace case 2 many times: garbage grows past the live rows and is compacted.
        for round in 0..3000 {
            store.set(2, &facts(1 + round % 9));
            view_eq(store.case(2), &facts(1 + round % 9));
        }
        assert!(store.garbage <= store.live_rows().max(4096), "compacted");
        for n in [1, 2, 4, 5] {
            view_eq(store.case(n - 1), &facts(n));
        }
        // A case beyond the end is added with empty cases before it.
        store.set(9, &facts(3));
        assert_eq!(store.len(), 10);
        assert!(store.case(7).spells().is_empty() && store.case(7).home().is_none());
        view_eq(store.case(9), &facts(3));
    }
}
