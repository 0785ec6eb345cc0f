//! What the fold of a fresh generation remembers of each person case, so that
//! a rebuild never reads the database it is writing.
//!
//! The fold needs a little of what it wrote before: the person's residence
//! (a training, placement, subsidy or eligibility row carries it), how many
//! spells, placements and household memberships the case has (their numbers
//! count on), and the household the person belongs to now. The live projector
//! asks SQLite for these ([`crate::projector`], `Lookups` with no memory); a
//! generation made by `Projector::create_fresh` starts empty and is written by
//! this fold only, so remembering every answer as it is written gives the same
//! answer without a query. `tests/rebuild.rs` compares the tables of both,
//! row by row, on a long random history.
//!
//! Size: one entry per person case, ≈ 100 bytes (the case id, four counters,
//! a residence index, a household id; residences are interned, there are a
//! few thousand communities), so ≈ 50 MiB for 500 000 persons. It grows with
//! the cases, not with the events.

use std::{collections::HashMap, sync::Arc};

use uuid::Uuid;

/// A residence as the person row holds it: district, street, community.
pub(crate) type Place = (String, String, String);

/// Per-case memory of a fresh generation's fold.
#[derive(Debug, Default)]
pub(crate) struct CaseMemory {
    cases: HashMap<Box<str>, Remembered>,
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
    /// The membership without a `left_on`, if any.
    household: Option<Uuid>,
}

impl CaseMemory {
    fn get(&self, case_id: &str) -> Remembered {
        self.cases.get(case_id).copied().unwrap_or_default()
    }

    fn entry(&mut self, case_id: &str) -> &mut Remembered {
        if !self.cases.contains_key(case_id) {
            self.cases.insert(case_id.into(), Remembered::default());
        }
        self.cases.get_mut(case_id).expect("inserted above")
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
        self.get(case_id).household
    }

    /// A membership row was written, open: its number.
    pub fn join(&mut self, case_id: &str, household: Uuid) -> u32 {
        let e = self.entry(case_id);
        e.memberships += 1;
        e.household = Some(household);
        e.memberships
    }

    /// The open membership of `household` was closed (if that is the open one).
    pub fn leave(&mut self, case_id: &str, household: Uuid) {
        let e = self.entry(case_id);
        if e.household == Some(household) {
            e.household = None;
        }
    }

    /// Person cases remembered.
    pub fn cases(&self) -> usize {
        self.cases.len()
    }
}
