//! What the fold of a fresh generation remembers of each person case, so that
//! a rebuild never reads the database it is writing.
//!
//! The fold needs a little of what it wrote before: the person's residence
//! (a training, placement, subsidy or eligibility row carries it), how many
//! spells, placements and household memberships the case has (their numbers
//! count on), and the household the person belongs to now. The live projector
//! asks SQLite for these ([`crate::projector`], `Fold` with no memory); a
//! generation made by `Projector::create_fresh` starts empty and is written by
//! this fold only, so remembering every answer as it is written gives the same
//! answer without a query. `tests/rebuild.rs` compares the tables of both,
//! row by row, on a long random history.
//!
//! It also remembers **where the rows the fold updates lie** (their rowids):
//! the person row, the open spells, placements, benefits and membership, a
//! training or subsidy by its id, and which groups a case has listed. A
//! fresh generation has no key indexes while it is folded (they are sorted
//! once at the end, `Projector::finish_fresh`): an insert appends to its
//! table instead of going into a b-tree keyed by case-id text at a random
//! place, and an update finds its row by rowid.
//!
//! Size: one entry per person case, ≈ 150 bytes in the table (the case id as
//! its 128 bits, four counters, a residence index, a household id, rowids,
//! three short lists of open rows; residences are interned, there are a few
//! thousand communities), plus ≈ 60 bytes per training or subsidy: ≈ 100–150
//! MiB for 500 000 persons with the tables' slack. It grows with the cases,
//! not with the events.
//!
//! Keys: every case id the service makes is a UUID in its canonical text
//! (lowercase, hyphenated); such an id is kept as its 128 bits ([`Key::Uuid`]:
//! no allocation, a cheap hash), any other text as it is ([`Key::Text`]).
//! Only the canonical text parses, so two ids are one key exactly when they
//! are one string.

use std::{collections::HashMap, sync::Arc};

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
    /// Rowid of a training or subsidy row by (case, which, its id).
    by_id: HashMap<(Key, Identified, Box<str>), i64, FxBuildHasher>,
    /// Group names, each numbered by its bit in [`Remembered::groups`].
    group_bits: HashMap<Box<str>, u32>,
    /// Groups listed beyond the 64 that have a bit (none in the domain today).
    more_groups: std::collections::HashSet<(Key, Box<str>), FxBuildHasher>,
}

/// Rows found by their own id within a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Identified {
    Training,
    Subsidy,
}

/// Rows of a case that an update closes: every row of the case whose end
/// is NULL (`… WHERE case_id = ? AND ended_on IS NULL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Open {
    Spells,
    Placements,
    Benefits,
}

/// What is remembered of one person case.
#[derive(Debug, Default)]
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
    /// Groups in `person_group` (bits of [`CaseMemory::group_bits`]).
    groups: u64,
    /// Rowids of the rows without an end, by [`Open`].
    open: [Vec<i64>; 3],
}

impl Open {
    fn slot(self) -> usize {
        match self {
            Self::Spells => 0,
            Self::Placements => 1,
            Self::Benefits => 2,
        }
    }
}

impl CaseMemory {
    fn get(&self, case_id: &str) -> Option<&Remembered> {
        self.cases.get(&Key::of(case_id))
    }

    fn entry(&mut self, case_id: &str) -> &mut Remembered {
        self.cases.entry(Key::of(case_id)).or_default()
    }

    /// The person row's residence, `None` without a person row.
    pub fn place(&self, case_id: &str) -> Option<Arc<Place>> {
        let place = self.get(case_id)?.place;
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
        self.get(case_id)?.household.map(|(h, _)| h)
    }

    /// The number of the membership about to be written, open, in `household`.
    pub fn next_membership(&mut self, case_id: &str) -> u32 {
        self.get(case_id).map_or(0, |e| e.memberships) + 1
    }

    /// A membership row was written, open, at `rowid`.
    pub fn joined(&mut self, case_id: &str, household: Uuid, rowid: i64) {
        let e = self.entry(case_id);
        e.memberships += 1;
        e.household = Some((household, rowid));
    }

    /// Closes the open membership if it is of `household`: its rowid.
    pub fn leave(&mut self, case_id: &str, household: Uuid) -> Option<i64> {
        let e = self.entry(case_id);
        let (open, rowid) = e.household?;
        (open == household).then(|| {
            e.household = None;
            rowid
        })
    }

    /// Rowid of the person row, if written.
    pub fn person(&self, case_id: &str) -> Option<i64> {
        self.get(case_id).map(|e| e.person).filter(|&r| r != 0)
    }

    /// The person row was inserted at `rowid`.
    pub fn set_person(&mut self, case_id: &str, rowid: i64) {
        self.entry(case_id).person = rowid;
    }

    /// Whether `grp` is new for the case (true: now noted), as
    /// `INSERT OR IGNORE` on `(case_id, grp)` decides.
    pub fn add_group(&mut self, case_id: &str, grp: &str) -> bool {
        let next = self.group_bits.len() as u32;
        let bit = match self.group_bits.get(grp) {
            Some(&bit) => bit,
            None if next < 64 => {
                self.group_bits.insert(grp.into(), next);
                next
            }
            None => return self.more_groups.insert((Key::of(case_id), grp.into())),
        };
        let e = self.entry(case_id);
        let new = e.groups & (1 << bit) == 0;
        e.groups |= 1 << bit;
        new
    }

    /// A row without an end was inserted at `rowid`.
    pub fn opened(&mut self, case_id: &str, which: Open, rowid: i64) {
        self.entry(case_id).open[which.slot()].push(rowid);
    }

    /// The rows without an end, which the caller is about to end.
    pub fn close(&mut self, case_id: &str, which: Open) -> Vec<i64> {
        self.cases.get_mut(&Key::of(case_id)).map(|e| std::mem::take(&mut e.open[which.slot()])).unwrap_or_default()
    }

    /// A training or subsidy row was inserted at `rowid`; false if the case
    /// has one with that id already (its key would be violated).
    pub fn identified(&mut self, case_id: &str, which: Identified, id: &str, rowid: i64) -> bool {
        self.by_id.insert((Key::of(case_id), which, id.into()), rowid).is_none()
    }

    /// Rowid of the case's training or subsidy `id`.
    pub fn find(&self, case_id: &str, which: Identified, id: &str) -> Option<i64> {
        self.by_id.get(&(Key::of(case_id), which, Box::<str>::from(id))).copied()
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
