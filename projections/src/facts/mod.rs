//! The compact rows the person-case targets read: one [`CaseFacts`] per
//! person case, numbered ([`CaseNo`]) and with its places numbered
//! ([`PlaceNo`]), dates as `NaiveDate` (4 bytes), no strings.
//!
//! The definitions in [`crate::targets`] take these rows, whoever made them:
//! the read model's in-memory index ([`crate::index`]) for queries, and the
//! oracle test from a bare `SELECT` of every row, numbered its own way. The
//! rows hold what is stored, not what is known on a date: the as-of cut is
//! part of the definitions ([`Spell::at`]).

use chrono::NaiveDate;

mod store;
pub use store::{CaseView, FactStore};

/// A person case, by its number in one numbering (an index, an oracle).
pub type CaseNo = u32;
/// A household, by its number in the same numbering.
pub type HouseholdNo = u32;
/// A community/village code, by its number in the same numbering.
pub type PlaceNo = u32;

/// Case ids and community codes of a numbering, for the lists the
/// definitions return (by id and code, ordered by them).
pub trait Names {
    /// The pseudonymous case id of `case`.
    fn case_id(&self, case: CaseNo) -> &str;
    /// The code of `place`: a 12-digit community, or the 6-digit district
    /// a grant counts in when the person lived outside it ([`Grant::community`]).
    fn community(&self, place: PlaceNo) -> &str;
    /// The first 8 bytes of the case id of `case` as a big-endian number:
    /// ordering by it, then by the id, is ordering by the id, mostly
    /// without reading the ids (lists ordered by case id).
    fn case_key(&self, case: CaseNo) -> u64 {
        id_key(self.case_id(case))
    }
}

/// The first 8 bytes of `id` (zero-padded) as a big-endian number.
pub fn id_key(id: &str) -> u64 {
    let mut bytes = [0u8; 8];
    for (b, s) in bytes.iter_mut().zip(id.bytes()) {
        *b = s;
    }
    u64::from_be_bytes(bytes)
}

/// One unemployment spell as stored (`spell` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spell {
    pub registered_on: NaiveDate,
    /// `None` while open (on any date).
    pub ended_on: Option<NaiveDate>,
    /// The end was re-employment: `end_kind = 'placed'` or `exit_reason = 'employed'`.
    pub ended_employed: bool,
    /// The end was an exit with reason `employed` (no placement recorded):
    /// the person is employed from `ended_on` until the next registration
    /// ([`CaseView::employment`]).
    pub exited_employed: bool,
    /// The registration that opened it listed the group
    /// `graduate_unemployed_after_school` (`spell.graduate_group`).
    pub graduate: bool,
    /// The community of the registration that opened it.
    pub community: PlaceNo,
}

/// One placement as stored (`placement` table): what the person-case
/// targets read of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub kind: PlacementKind,
    /// The person's community when it started.
    pub community: PlaceNo,
    /// The person's hukou county (now) is the placement's district.
    pub local: bool,
}

/// The placement kinds targets single out (`placement.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementKind {
    /// `internship` (见习)
    Internship,
    /// `public_welfare_post` (公益性岗位)
    PublicWelfarePost,
    /// `community_service_post` (社区服务型岗位)
    CommunityServicePost,
    /// Any other kind.
    Other,
}

impl PlacementKind {
    /// From the stored name.
    pub fn of(kind: &str) -> Self {
        match kind {
            "internship" => Self::Internship,
            "public_welfare_post" => Self::PublicWelfarePost,
            "community_service_post" => Self::CommunityServicePost,
            _ => Self::Other,
        }
    }
}

/// One training as stored (`training` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Training {
    /// `programme = 'start_up_malanhua'` (马兰花).
    pub start_up: bool,
    pub enrolled_on: NaiveDate,
    pub completed_on: Option<NaiveDate>,
    /// The person's community at enrolment.
    pub community: PlaceNo,
}

/// A recognition of employment difficulty in a category other than
/// zero-employment household (`difficulty` rows with `zero_employment = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recognition {
    pub recognised_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
}

/// Everything the person-case targets read of one case, owned: what a
/// numbering builds and hands to its [`FactStore`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFacts {
    /// The community of the latest registration (`person.community`); `None`
    /// when the case has no `person` row.
    pub home: Option<PlaceNo>,
    /// By `spell_no`.
    pub spells: Box<[Spell]>,
    /// By `placement_no`.
    pub placements: Box<[Placement]>,
    /// Contact dates, sorted.
    pub contacts: Box<[NaiveDate]>,
    /// Dates of two-way recommendations, sorted.
    pub two_way: Box<[NaiveDate]>,
    /// Dates of every recommendation and training enrolment, sorted (with
    /// contacts: the services of "served at least once").
    pub other_services: Box<[NaiveDate]>,
    /// By `training_id`.
    pub trainings: Box<[Training]>,
    /// In the order recognised.
    pub recognitions: Box<[Recognition]>,
    /// By `membership_no`.
    pub memberships: Box<[Membership]>,
    /// Zero-employment signals, sorted: recognitions in that category and
    /// registrations listing the group.
    pub zero_employment_signals: Box<[NaiveDate]>,
    /// Grants on the case (`subsidy` table), by `subsidy_id`.
    pub grants: Box<[Grant]>,
}

/// One grant on a person case as stored (`subsidy` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// `programme`, numbered (a label of the numbering).
    pub programme: u16,
    pub amount_fen: i64,
    pub granted_on: NaiveDate,
    pub revoked_on: Option<NaiveDate>,
    /// `district` (the event's: where the grant was recorded), numbered (a
    /// label of the numbering). The grant counts for this district.
    pub district: u16,
    /// Where the grant counts below the district: the person's community
    /// when granted if it lies in `district`, else `district` itself (a
    /// 6-digit code: the grant counts for the district and the city only).
    pub community: PlaceNo,
}

/// One household membership as stored (`household_membership` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub household: HouseholdNo,
    /// Numbered like the places: an index into the numbering's relation names.
    pub relation: u16,
    pub joined_on: NaiveDate,
    /// First day no longer a member; `None` while a member.
    pub left_on: Option<NaiveDate>,
}

/// One spell as known on the as-of date `A`: registered by `A`; an end dated
/// after `A` is not known yet (the spell is open on `A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpellRow {
    pub case: CaseNo,
    /// Its place among the case's spells (0 = `spell_no` 1).
    pub no: u16,
    pub registered_on: NaiveDate,
    /// `None` when open on the as-of date.
    pub ended_on: Option<NaiveDate>,
    /// Ended by re-employment, on or before the as-of date.
    pub ended_employed: bool,
    /// Its registration listed the group `graduate_unemployed_after_school`.
    pub graduate: bool,
    pub community: PlaceNo,
}

impl Spell {
    /// This spell as known on `a` (`None`: registered after `a`). Spell
    /// number `no` (0-based) of `case`.
    pub fn at(&self, case: CaseNo, no: usize, a: NaiveDate) -> Option<SpellRow> {
        if self.registered_on > a {
            return None;
        }
        let ended_on = self.ended_on.filter(|e| *e <= a);
        Some(SpellRow {
            case,
            no: u16::try_from(no).unwrap_or(u16::MAX),
            registered_on: self.registered_on,
            ended_on,
            ended_employed: ended_on.is_some() && self.ended_employed,
            graduate: self.graduate,
            community: self.community,
        })
    }
}

impl Placement {
    /// Current on `d` as known on `a` (`d ≤ a`): started on or before `d`, not
    /// ended on or before `d` (start inclusive, end exclusive).
    pub fn current_on(&self, d: NaiveDate, a: NaiveDate) -> bool {
        self.started_on <= d && self.ended_on.filter(|e| *e <= a).is_none_or(|e| e > d)
    }
}

impl SpellRow {
    /// Open at some time in `[from, to]`: registered by `to`, not ended before
    /// `from`. An empty window (`from > to`, e.g. a period that has not begun
    /// on its as-of date) holds no day, so no spell is open in it.
    pub fn overlaps(&self, from: NaiveDate, to: NaiveDate) -> bool {
        from <= to && self.registered_on <= to && self.ended_on.is_none_or(|e| e >= from)
    }

    /// Open on day `d`: registered on or before it and not yet ended (a spell
    /// ending on `d` was open until that day).
    pub fn open_on(&self, d: NaiveDate) -> bool {
        self.registered_on <= d && self.ended_on.is_none_or(|e| e >= d)
    }

    /// The day it ended by re-employment, if it did.
    pub fn ended_employed(&self) -> Option<NaiveDate> {
        if self.ended_employed { self.ended_on } else { None }
    }
}

/// Whether some date of the sorted `dates` lies in `[from, to]`.
pub fn any_in(dates: &[NaiveDate], from: NaiveDate, to: NaiveDate) -> bool {
    let i = dates.partition_point(|d| *d < from);
    dates.get(i).is_some_and(|d| *d <= to)
}

/// The last date of the sorted `dates` on or before `a`.
pub fn last_by(dates: &[NaiveDate], a: NaiveDate) -> Option<NaiveDate> {
    let i = dates.partition_point(|d| *d <= a);
    i.checked_sub(1).map(|i| dates[i])
}

/// A set of case numbers (a bit per case): counts distinct persons without
/// hashing.
#[derive(Debug, Clone, Default)]
pub struct CaseSet {
    words: Vec<u64>,
    len: usize,
}

impl CaseSet {
    /// Adds `case`; true when it was not in the set yet.
    pub fn insert(&mut self, case: CaseNo) -> bool {
        let (word, bit) = ((case / 64) as usize, 1u64 << (case % 64));
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        let new = self.words[word] & bit == 0;
        self.words[word] |= bit;
        self.len += usize::from(new);
        new
    }

    pub fn contains(&self, case: CaseNo) -> bool {
        self.words.get((case / 64) as usize).is_some_and(|w| w & (1u64 << (case % 64)) != 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_spell_ended_after_the_as_of_date_is_open_on_it() {
        let s = Spell {
            registered_on: d("2026-01-10"),
            ended_on: Some(d("2026-03-01")),
            ended_employed: true,
            exited_employed: false,
            graduate: false,
            community: 0,
        };
        assert_eq!(s.at(7, 0, d("2026-01-09")), None);
        let before = s.at(7, 0, d("2026-02-28")).unwrap();
        assert_eq!((before.ended_on, before.ended_employed), (None, false));
        let on = s.at(7, 0, d("2026-03-01")).unwrap();
        assert_eq!((on.ended_on, on.ended_employed()), (Some(d("2026-03-01")), Some(d("2026-03-01"))));
    }

    #[test]
    fn date_lookups_are_inclusive_at_both_ends() {
        let dates = [d("2026-01-01"), d("2026-02-01"), d("2026-03-01")];
        assert!(any_in(&dates, d("2026-02-01"), d("2026-02-01")));
        assert!(!any_in(&dates, d("2026-02-02"), d("2026-02-28")));
        assert_eq!(last_by(&dates, d("2026-02-28")), Some(d("2026-02-01")));
        assert_eq!(last_by(&dates, d("2025-12-31")), None);
    }

    #[test]
    fn id_keys_order_as_the_ids_do_where_they_differ() {
        let ids =
            ["", "a", "a\0", "ab", "abcdefgh", "abcdefgh0", "abcdefgi", "b", "ffffffff-0", "ffffffff-1", "\u{7f}x"];
        for x in ids {
            for y in ids {
                if id_key(x) != id_key(y) {
                    assert_eq!(id_key(x).cmp(&id_key(y)), x.cmp(y), "{x:?} {y:?}");
                }
            }
        }
        assert_eq!(id_key("abcdefgh0"), id_key("abcdefgh1"), "only the first 8 bytes");
    }

    #[test]
    fn a_case_set_counts_each_case_once() {
        let mut s = CaseSet::default();
        assert!(s.insert(3) && s.insert(700) && !s.insert(3));
        assert_eq!(s.len(), 2);
        assert!(s.contains(700) && !s.contains(4) && !s.contains(100_000));
    }
}
