//! What the fold of a fresh generation remembers of each person case, so that
//! a rebuild never reads the database it is writing.
//!
//! The fold needs a little of what it wrote before: the person's residence
//! (a training, placement, subsidy or eligibility row carries it), how many
//! spells, placements and household memberships the case has (their numbers
//! count on), the household the person belongs to now, the groups already
//! listed, and the rowids of the rows it changes later: the person row, the
//! open spell, placement, benefit and membership. A fresh generation has no
//! index on `case_id` while it is folded (the keys are built after the rows,
//! `projector::INDEX_LINE`), so it reaches those rows by rowid. The live projector
//! asks SQLite for these ([`crate::projector`], `Lookups` with no memory); a
//! generation made by `Projector::create_fresh` starts empty and is written by
//! this fold only, so remembering every answer as it is written gives the same
//! answer without a query. `tests/rebuild.rs` compares the tables of both,
//! row by row, on a long random history.
//!
//! Size: one entry per person case, ≈ 140 bytes in the table (the case id as
//! its 128 bits, four counters, a residence index, a household id, five
//! rowids, the groups as bits; residences
//! are interned, there are a few thousand communities), so ≈ 70–140 MiB for
//! 500 000 persons with the table's slack. It grows with the cases, not with
//! the events.
//!
//! Keys: every case id the service makes is a UUID in its canonical text
//! (lowercase, hyphenated); such an id is kept as its 128 bits ([`Key::Uuid`]:
//! no allocation, a cheap hash), any other text as it is ([`Key::Text`]).
//! Only the canonical text parses, so two ids are one key exactly when they
//! are one string.

use std::{collections::HashMap, sync::Arc};

use leye_domain::person::PersonGroup;
use rustc_hash::FxBuildHasher;
use uuid::Uuid;

/// A case id as the memory keys it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// The 128 bits of a canonical UUID text.
    Uuid(u128),
    /// Any other case id.
    Text(Box<str>),
}

impl Key {
    fn of(case_id: &str) -> Self {
        canonical_uuid(case_id).map_or_else(|| Self::Text(case_id.into()), Self::Uuid)
    }
}

/// The bits of `s` if it is a UUID in canonical text, `xxxxxxxx-xxxx-xxxx-
/// xxxx-xxxxxxxxxxxx` in lowercase hex digits; `None` for anything else
/// (upper case included: one number, one text).
fn canonical_uuid(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut n = 0u128;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        n = (n << 4) | u128::from(digit);
    }
    Some(n)
}

/// A residence as the person row holds it: district, street, community.
pub(crate) type Place = (String, String, String);

/// Per-case memory of a fresh generation's fold.
#[derive(Debug, Default)]
pub(crate) struct CaseMemory {
    cases: HashMap<Key, Remembered, FxBuildHasher>,
    places: Vec<Arc<Place>>,
    place_ids: HashMap<Place, u32>,
}

/// What is remembered of one person case.
#[derive(Debug, Clone, Copy, Default)]
struct Remembered {
    /// Index into `places` + 1 of the person row's residence; 0: no person row.
    place: u32,
    spells: u32,
    placements: u32,
    memberships: u32,
    /// The membership without a `left_on`, if any, and its rowid.
    household: Option<(Uuid, i64)>,
    /// Rowid of the person row (0: none yet).
    person: i64,
    /// Groups with a `person_group` row, as bits of `PersonGroup`'s variants.
    groups: u64,
    spell: Open,
    placement: Open,
    benefit: Open,
}

/// The rows of one case that a table holds open (no end date yet): how many,
/// and the rowid of the last one. The service's deciders keep at most one
/// open; a log with more is folded all the same ([`Closing::ByCase`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Open {
    count: u32,
    last: i64,
}

/// How the fold reaches the open rows of a case to close them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closing {
    /// None is open.
    Nothing,
    /// The one open row.
    Row(i64),
    /// More than one is open: by case, as the live projector does.
    ByCase,
}

impl Open {
    pub fn closing(self) -> Closing {
        match self.count {
            0 => Closing::Nothing,
            1 => Closing::Row(self.last),
            _ => Closing::ByCase,
        }
    }
}

/// The tables whose open rows the memory follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opens {
    Spell,
    Placement,
    Benefit,
}

impl Remembered {
    fn open(&mut self, table: Opens) -> &mut Open {
        match table {
            Opens::Spell => &mut self.spell,
            Opens::Placement => &mut self.placement,
            Opens::Benefit => &mut self.benefit,
        }
    }
}

impl CaseMemory {
    fn get(&self, case_id: &str) -> Remembered {
        self.cases.get(&Key::of(case_id)).copied().unwrap_or_default()
    }

    fn entry(&mut self, case_id: &str) -> &mut Remembered {
        self.cases.entry(Key::of(case_id)).or_default()
    }

    /// The person row's residence, `None` without a person row.
    pub fn place(&self, case_id: &str) -> Option<Arc<Place>> {
        let place = self.get(case_id).place;
        place.checked_sub(1).and_then(|i| self.places.get(i as usize)).cloned()
    }

    /// The person row was written (inserted or updated) with this residence.
    pub fn set_place(&mut self, case_id: &str, place: Place) {
        let id = match self.place_ids.get(&place) {
            Some(&id) => id,
            None => {
                let id = self.places.len() as u32;
                self.places.push(Arc::new(place.clone()));
                self.place_ids.insert(place, id);
                id
            }
        };
        self.entry(case_id).place = id + 1;
    }

    /// Number of the next spell row, counted as written.
    pub fn next_spell(&mut self, case_id: &str) -> u32 {
        let e = self.entry(case_id);
        e.spells += 1;
        e.spells
    }

    /// Number of the next placement row, counted as written.
    pub fn next_placement(&mut self, case_id: &str) -> u32 {
        let e = self.entry(case_id);
        e.placements += 1;
        e.placements
    }

    /// The open membership's household, if any.
    pub fn household(&self, case_id: &str) -> Option<Uuid> {
        self.get(case_id).household.map(|(h, _)| h)
    }

    /// The rowid of the open membership if it is in `household`.
    pub fn membership_in(&self, case_id: &str, household: Uuid) -> Option<i64> {
        self.get(case_id).household.filter(|(h, _)| *h == household).map(|(_, rowid)| rowid)
    }

    /// Number of the membership about to be written, open.
    pub fn next_membership(&self, case_id: &str) -> u32 {
        self.get(case_id).memberships + 1
    }

    /// A membership row was written, open, at `rowid`.
    pub fn join(&mut self, case_id: &str, household: Uuid, rowid: i64) {
        let e = self.entry(case_id);
        e.memberships += 1;
        e.household = Some((household, rowid));
    }

    /// The open membership of `household` was closed (if that is the open one).
    pub fn leave(&mut self, case_id: &str, household: Uuid) {
        let e = self.entry(case_id);
        if e.household.is_some_and(|(h, _)| h == household) {
            e.household = None;
        }
    }

    /// Rowid of the person row, if written.
    pub fn person_row(&self, case_id: &str) -> Option<i64> {
        Some(self.get(case_id).person).filter(|&rowid| rowid != 0)
    }

    /// The person row was inserted at `rowid`.
    pub fn set_person_row(&mut self, case_id: &str, rowid: i64) {
        self.entry(case_id).person = rowid;
    }

    /// Notes that `group` has its row; `false` if it had one already.
    pub fn add_group(&mut self, case_id: &str, group: PersonGroup) -> bool {
        // A fieldless enum: its variant's index.
        let bit = 1u64.checked_shl(group as u32).unwrap_or(0);
        let e = self.entry(case_id);
        let new = e.groups & bit == 0;
        e.groups |= bit;
        // The enum has 21 variants. Were it to pass 64, a repeated group
        // would be written twice and building `person_group_key` would fail
        // the rebuild: loud, never a wrong table.
        new
    }

    /// The open rows of `table` for this case.
    pub fn open(&self, case_id: &str, table: Opens) -> Open {
        *self.get(case_id).open(table)
    }

    /// A row of `table` was inserted open at `rowid`.
    pub fn opened(&mut self, case_id: &str, table: Opens, rowid: i64) {
        let open = self.entry(case_id).open(table);
        open.count += 1;
        open.last = rowid;
    }

    /// Every open row of `table` for this case was closed.
    pub fn closed(&mut self, case_id: &str, table: Opens) {
        *self.entry(case_id).open(table) = Open::default();
    }

    /// Person cases remembered.
    pub fn cases(&self) -> usize {
        self.cases.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_uuid_text_is_kept_as_bits() {
        let id = "00002eb5-bc58-8ddb-b254-24249ae38a15";
        assert_eq!(canonical_uuid(id), Some(Uuid::parse_str(id).unwrap().as_u128()));
        for other in [
            "00002EB5-BC58-8DDB-B254-24249AE38A15",
            "00002eb5bc588ddbb25424249ae38a15",
            "{00002eb5-bc58-8ddb-b254-24249ae38a15}",
            "00002eb5-bc58-8ddb-b254_24249ae38a15",
            "00002eb5-bc58-8ddb-b254-24249ae38a1g",
            "case-1",
            "",
        ] {
            assert_eq!(canonical_uuid(other), None, "{other}");
        }
        // The upper-case text of the same number is another case.
        let mut memory = CaseMemory::default();
        assert_eq!(memory.next_spell(id), 1);
        assert_eq!(memory.next_spell(&id.to_uppercase()), 1);
        assert_eq!(memory.next_spell(id), 2);
        assert_eq!(memory.next_spell("case-1"), 1);
        assert_eq!(memory.cases(), 3);
    }
}
