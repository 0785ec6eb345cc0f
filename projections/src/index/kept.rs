//! The sums of the reports asked lately ([`Sums`] by jurisdiction and
//! [`Ask`]), kept up to date as the index moves on, so that a report asked
//! again (the dashboard's, every few minutes, of the same period as of the
//! same day) is answered from them instead of a walk over every case.
//!
//! # How they stay equal to a walk
//! The sums of a set of cases are the sums of its cases, one by one, and a
//! case's sums depend only on its own facts (and on which communities lie in
//! the jurisdiction). So when the index replaces some cases' facts, each kept
//! report takes away the sums of those cases before the change and adds
//! their sums after it ([`CaseIndex::replace_all`](super::CaseIndex)): a few
//! cases' walk, not the city's. A report whose sums would fall below zero
//! (never expected) is dropped, not trusted; a whole load of the index
//! starts with none kept.
//!
//! A report not asked lately costs one walk, and is kept after it: at most
//! [`KEPT`] of them, the least recently asked dropped first.

use std::sync::Mutex;

use crate::targets::{Ask, Jurisdiction, PersonTotals, Sums};

/// Reports kept at most. The dashboard opens 13 reports of a jurisdiction
/// (the year to date, and each of the last 12 months for its trend): 64
/// hold the city's and a few districts'. Each costs its communities' counts
/// (16 bytes a community) and, at each refresh, a walk over the changed
/// cases before and after (about 0.2 µs a case and report).
pub(super) const KEPT: usize = 64;

/// One kept report: its key and its sums at the index's checkpoint.
#[derive(Debug)]
pub(super) struct Kept {
    pub j: Jurisdiction,
    pub ask: Ask,
    pub sums: Sums,
}

/// The kept reports, least recently asked first.
#[derive(Debug, Default)]
pub(super) struct KeptReports(Mutex<Vec<Kept>>);

impl KeptReports {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Kept>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The report's figures from the sums kept for `j` and `ask`, marked as
    /// asked now.
    pub fn totals(&self, j: &Jurisdiction, ask: &Ask) -> Option<PersonTotals> {
        asked(&mut self.lock(), j, ask).map(|k| k.sums.totals())
    }

    /// Keeps `sums` for `j` and `ask`, unless kept already (two queries of
    /// one checkpoint that walked at the same time made the same sums).
    pub fn keep(&self, j: &Jurisdiction, ask: &Ask, sums: Sums) {
        let mut kept = self.lock();
        if asked(&mut kept, j, ask).is_some() {
            return;
        }
        kept.push(Kept { j: j.clone(), ask: ask.clone(), sums });
        if kept.len() > KEPT {
            kept.remove(0);
        }
    }

    /// Sums are kept for `j` and `ask` (marked as asked now).
    pub fn contains(&self, j: &Jurisdiction, ask: &Ask) -> bool {
        asked(&mut self.lock(), j, ask).is_some()
    }

    /// Every kept report, taken out (to be updated and put back).
    pub fn take(&mut self) -> Vec<Kept> {
        std::mem::take(self.0.get_mut().unwrap_or_else(|e| e.into_inner()))
    }

    /// Puts back what [`Self::take`] took.
    pub fn put(&mut self, kept: Vec<Kept>) {
        *self.0.get_mut().unwrap_or_else(|e| e.into_inner()) = kept;
    }

    /// Reports kept.
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The report kept for `j` and `ask`, moved to the end of `kept` (asked now).
fn asked<'k>(kept: &'k mut Vec<Kept>, j: &Jurisdiction, ask: &Ask) -> Option<&'k Kept> {
    let i = kept.iter().position(|k| k.j == *j && k.ask == *ask)?;
    let k = kept.remove(i);
    kept.push(k);
    kept.last()
}

#[cfg(test)]
mod tests {
    use chrono::{Days, NaiveDate};
    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::super::CaseIndex;
    use crate::{
        facts::{CaseFacts, Grant, PlaceNo, Placement, PlacementKind, Recognition, Spell, Training},
        targets::{Ask, Jurisdiction, Period, TargetParams},
    };

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Days::new(n)
    }

    /// A case of one to three spells in the communities `places`, with
    /// placements, contacts, services, trainings, a recognition and grants
    /// at random: every kind of row a report's walk reads.
    fn case(rng: &mut StdRng, places: &[PlaceNo]) -> CaseFacts {
        let mut at = rng.random_range(0..700u64);
        let pick = |rng: &mut StdRng| places[rng.random_range(0..places.len())];
        let spells: Vec<Spell> = (0..rng.random_range(1..4))
            .map(|_| {
                let registered_on = day(at);
                at += rng.random_range(20..300);
                let ended = rng.random_bool(0.7);
                let s = Spell {
                    registered_on,
                    ended_on: ended.then(|| day(at)),
                    ended_employed: ended && rng.random_bool(0.6),
                    exited_employed: ended && rng.random_bool(0.2),
                    graduate: rng.random_bool(0.2),
                    community: pick(rng),
                };
                at += rng.random_range(1..60);
                s
            })
            .collect();
        let first = spells[0].registered_on;
        let dates = |rng: &mut StdRng, n: usize| -> Box<[NaiveDate]> {
            let mut d: Vec<NaiveDate> =
                (0..rng.random_range(0..n)).map(|_| first + Days::new(rng.random_range(0..500))).collect();
            d.sort_unstable();
            d.into()
        };
        let kinds = [
            PlacementKind::Internship,
            PlacementKind::PublicWelfarePost,
            PlacementKind::CommunityServicePost,
            PlacementKind::Other,
        ];
        CaseFacts {
            home: Some(spells.last().map_or(places[0], |s| s.community)),
            spells: spells.into(),
            placements: (0..rng.random_range(0..3))
                .map(|_| {
                    let started_on = first + Days::new(rng.random_range(0..500));
                    Placement {
                        started_on,
                        ended_on: rng.random_bool(0.4).then(|| started_on + Days::new(rng.random_range(1..200))),
                        kind: kinds[rng.random_range(0..4)],
                        community: pick(rng),
                        local: rng.random_bool(0.5),
                    }
                })
                .collect(),
            contacts: dates(rng, 12),
            two_way: dates(rng, 4),
            other_services: dates(rng, 4),
            trainings: (0..rng.random_range(0..2))
                .map(|_| Training {
                    start_up: rng.random_bool(0.5),
                    enrolled_on: first + Days::new(rng.random_range(0..400)),
                    completed_on: None,
                    community: pick(rng),
                })
                .collect(),
            recognitions: (0..rng.random_range(0..2))
                .map(|_| Recognition {
                    recognised_on: first,
                    valid_from: first,
                    valid_to: first + Days::new(rng.random_range(30..700)),
                })
                .collect(),
            grants: (0..rng.random_range(0..3))
                .map(|_| {
                    let granted_on = first + Days::new(rng.random_range(0..500));
                    Grant {
                        programme: rng.random_range(0..2),
                        amount_fen: rng.random_range(1..500_000),
                        granted_on,
                        revoked_on: rng.random_bool(0.2).then(|| granted_on + Days::new(rng.random_range(1..100))),
                        district: 0,
                        community: pick(rng),
                    }
                })
                .collect(),
            ..CaseFacts::default()
        }
    }

    /// The reports asked: the city, a district, a street, a community, over
    /// a year and a month, as of two dates.
    fn asked() -> Vec<(Jurisdiction, Ask)> {
        let mut asked = Vec::new();
        for code in ["", "120111", "120111001", "120111001002"] {
            for (from, to, a) in [(300, 664, 500), (450, 480, 470), (0, 900, 900)] {
                let period = Period::new(day(from), day(to)).unwrap();
                let ask = Ask {
                    period,
                    a: day(a),
                    years: vec![Period::new(day(366), day(730)).unwrap()],
                    params: TargetParams::default(),
                };
                asked.push((Jurisdiction::parse(code).unwrap(), ask));
            }
        }
        asked
    }

    /// What a walk of the index as it is now gives for each report asked.
    fn walked(ix: &CaseIndex, asked: &[(Jurisdiction, Ask)]) -> Vec<crate::targets::PersonTotals> {
        asked
            .iter()
            .map(|(j, ask)| {
                let f = ix.facts(j);
                crate::targets::person_sums(&f, &ix.cases_in(&f), ask, || ()).0.totals()
            })
            .collect()
    }

    #[test]
    fn kept_reports_equal_a_walk_through_changes_new_cases_and_new_communities() {
        let mut rng = StdRng::seed_from_u64(20261205);
        let mut ix = CaseIndex::default();
        let codes = ["120111001001", "120111001002", "120111002001", "120112001001", "120112003004"];
        let mut places: Vec<PlaceNo> = codes.iter().map(|c| ix.place(c)).collect();
        let first: Vec<_> = (0..600)
            .map(|i| {
                let c = ix.case(&format!("p{i:04}"));
                (c, case(&mut rng, &places))
            })
            .collect();
        ix.replace_all(first);
        let asked = asked();
        // Ask each report once: walked, and kept.
        for (j, ask) in &asked {
            let f = ix.facts(j);
            ix.person_totals(&f, j, ask, || ());
        }
        assert_eq!(ix.kept_reports(), asked.len());
        for round in 0..12 {
            if round == 4 {
                // A community first seen in this round, in the district asked.
                places.push(ix.place("120111001009"));
            }
            // Some cases change; some are new; one case changes to no rows in J.
            let mut changes = Vec::new();
            for c in 0..ix.cases() as u32 {
                if rng.random_bool(0.05) {
                    changes.push((c, case(&mut rng, &places)));
                }
            }
            for i in 0..rng.random_range(0..20) {
                let c = ix.case(&format!("q{round:02}{i:02}"));
                changes.push((c, case(&mut rng, &places)));
            }
            if round == 7 {
                changes.push((0, CaseFacts::default()));
            }
            changes.sort_by_key(|(c, _)| *c);
            changes.dedup_by_key(|(c, _)| *c);
            ix.replace_all(changes);
            let want = walked(&ix, &asked);
            for ((j, ask), want) in asked.iter().zip(&want) {
                let f = ix.facts(j);
                let (kept, ()) = ix.person_totals(&f, j, ask, || ());
                assert_eq!(&kept, want, "round {round}, {j:?}, {:?}", ask.period);
            }
            assert_eq!(ix.kept_reports(), asked.len(), "every report kept, none walked again");
        }
        // Not a test of zeros: the figures are of many cases.
        let city = &walked(&ix, &asked)[0];
        assert!(city.reemployment.1 > 100 && city.followup.1 > 100 && city.counts.grants.len() > 1, "{city:?}");
    }
}
