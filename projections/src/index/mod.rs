//! The in-memory index of the person-case rows the targets read, one per
//! read-model generation, shared by every [`ReadModel`](crate::ReadModel)
//! of this process that opens that generation.
//!
//! # What it holds
//! One [`CaseFacts`] per person case (spells, each with the graduate group
//! of its registration; placements, contact and service dates, home
//! community, grants), cases and communities numbered ([`CaseNo`],
//! [`PlaceNo`]), dates as 4-byte `NaiveDate`, and per community the cases
//! with a row naming it (a spell registered there, living there, …), so a
//! community's or a street's query reads only its own cases and
//! the city's reads every case once, in order. A whole load numbers the
//! cases by home community, then case id, so a district's cases are a run
//! of numbers whose rows lie together (`load.rs`). Memory: see
//! [`CaseIndex::heap_bytes`] (about 230 bytes a person on the generated
//! population; `docs/PERFORMANCE.md`).
//!
//! # How it stays equal to the tables
//! - It is built from one read transaction and remembers that snapshot's
//!   checkpoint (commit position).
//! - A query reads the checkpoint in its own snapshot. Equal: the index
//!   answers. Newer: the cases the projector changed since the index's
//!   checkpoint (table `changed_case`, written with each batch by the live
//!   projector) are read again in the query's snapshot, and the index moves
//!   to that checkpoint; too many changes, or a generation without the
//!   table: it is loaded again whole. Older (another query moved the index
//!   past this snapshot): the query starts a newer read transaction first.
//!   So every answer is of one checkpoint, the one the query reports.
//! - A rebuild makes a new generation (a new file): a new index, loaded on
//!   its first query; the old one is dropped once its file is pruned (or
//!   four newer ones are cached).

mod households;
mod kept;
mod load;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use rusqlite::Connection;

use crate::{
    ProjectionError,
    facts::{CaseFacts, CaseNo, CaseSet, FactStore, HouseholdNo, Names, PlaceNo},
    targets::{self, Ask, Facts, Jurisdiction, PersonTotals},
};

/// The person-case rows of one generation at one checkpoint.
#[derive(Debug, Default)]
pub struct CaseIndex {
    /// The commit position of the snapshot the rows are of.
    checkpoint: u64,
    /// The highest rowid of `contact`, and of `recommendation`, read into
    /// the index (0: none): the rows past them are the new ones.
    contact_mark: i64,
    recommendation_mark: i64,
    /// By [`CaseNo`]: the case id.
    case_ids: Vec<String>,
    /// By [`CaseNo`]: [`Names::case_key`] of the case id.
    case_keys: Vec<u64>,
    /// Case ids are the service's own (pseudonymous, not chosen by a
    /// client): a fast hash, looked up once per row when the index loads.
    case_no: rustc_hash::FxHashMap<String, CaseNo>,
    /// By [`PlaceNo`]: the community code.
    places: Vec<String>,
    place_no: HashMap<String, PlaceNo>,
    /// By [`CaseNo`].
    cases: FactStore,
    /// By [`PlaceNo`]: the cases with a row naming it ([`CaseFacts::places`]), sorted.
    cases_at: Vec<Vec<CaseNo>>,
    /// By [`HouseholdNo`]: the household id.
    households: Vec<String>,
    household_no: HashMap<String, HouseholdNo>,
    /// By [`HouseholdNo`]: the cases with a membership of it, sorted.
    members: Vec<Vec<CaseNo>>,
    /// Relation names (`head`, `spouse`, …), numbered as in [`crate::facts::Membership`].
    relations: Vec<String>,
    /// The cases with a zero-employment signal, sorted.
    signal_cases: Vec<CaseNo>,
    /// Programme and district codes of the grants, numbered as in [`crate::facts::Grant`].
    labels: Vec<String>,
    label_no: HashMap<String, u16>,
    /// The sums of the reports asked lately, at this checkpoint.
    kept: kept::KeptReports,
}

impl Names for CaseIndex {
    fn case_id(&self, case: CaseNo) -> &str {
        self.case_ids.get(case as usize).map_or("", String::as_str)
    }

    fn community(&self, place: PlaceNo) -> &str {
        self.places.get(place as usize).map_or("", String::as_str)
    }

    fn case_key(&self, case: CaseNo) -> u64 {
        self.case_keys.get(case as usize).copied().unwrap_or(0)
    }
}

/// A jurisdiction holding more than one in this many of the communities is
/// read by walking every case in order (sequential memory) rather than
/// through the per-community lists.
const SCAN_ALL_SHARE: usize = 8;

impl CaseIndex {
    pub fn cases(&self) -> usize {
        self.cases.len()
    }

    /// What the definitions read for `j`.
    pub fn facts(&self, j: &Jurisdiction) -> Facts<'_> {
        Facts::new(&self.cases, self, self.places.len(), j)
    }

    /// The cases with a row in `J` (each once, in order): every case when
    /// `J` covers much of the city (read in order, sequentially), else the
    /// cases on the lists of `J`'s communities.
    pub fn cases_in(&self, f: &Facts<'_>) -> Vec<CaseNo> {
        let places: Vec<PlaceNo> = (0..self.places.len() as PlaceNo).filter(|p| f.place_in_j(*p)).collect();
        if places.len() * SCAN_ALL_SHARE > self.places.len() {
            return (0..self.cases.len() as CaseNo).collect();
        }
        let mut cases: Vec<CaseNo> = places.iter().flat_map(|p| self.cases_at[*p as usize].iter().copied()).collect();
        cases.sort_unstable();
        cases.dedup();
        cases
    }

    /// The person-case figures of the report `ask` for `J` (`f` is
    /// [`Self::facts`] of `j`): from the sums kept for it, or from a walk
    /// over the cases of `J` ([`targets::person_sums`], this thread doing
    /// `beside` meanwhile), whose sums are kept then (`kept.rs`).
    pub fn person_totals<U>(
        &self,
        f: &Facts<'_>,
        j: &Jurisdiction,
        ask: &Ask,
        beside: impl FnOnce() -> U,
    ) -> (PersonTotals, U) {
        match self.kept.totals(j, ask) {
            Some(totals) => (totals, beside()),
            None => {
                let (sums, other) = targets::person_sums(f, &self.cases_in(f), ask, beside);
                let totals = sums.totals();
                self.kept.keep(j, ask, sums);
                (totals, other)
            }
        }
    }

    /// Makes and keeps the sums of the report `ask` for `J` (`f` is
    /// [`Self::facts`] of `j`) unless they are kept: `true` when it walked.
    pub fn prepare(&self, f: &Facts<'_>, j: &Jurisdiction, ask: &Ask) -> bool {
        if self.kept.contains(j, ask) {
            return false;
        }
        self.kept.keep(j, ask, targets::person_sums(f, &self.cases_in(f), ask, || ()).0);
        true
    }

    /// Reports whose sums are kept.
    pub fn kept_reports(&self) -> usize {
        self.kept.len()
    }

    /// Every case's dates, one line a case (its id first), sorted: what two
    /// indexes of the same snapshot must agree on however they were built
    /// (a whole load, or refreshes; numbers of places differ between them).
    pub fn dates_by_case(&self) -> Vec<String> {
        let mut lines: Vec<String> = (0..self.cases.len())
            .map(|c| {
                let v = self.cases.case(c as CaseNo);
                let spells: Vec<_> =
                    v.spells().iter().map(|s| (s.registered_on, s.ended_on, s.exited_employed, s.graduate)).collect();
                let trainings: Vec<_> = v.trainings().iter().map(|t| (t.enrolled_on, t.completed_on)).collect();
                format!(
                    "{} contacts {:?} two-way {:?} other services {:?} signals {:?} spells {spells:?} trainings {trainings:?}",
                    self.case_ids[c],
                    v.contacts(),
                    v.two_way(),
                    v.other_services(),
                    v.zero_employment_signals(),
                )
            })
            .collect();
        lines.sort_unstable();
        lines
    }

    /// Spells open on `a`, over every case: the cheapest walk over all cases.
    pub fn walk(&self, a: chrono::NaiveDate) -> usize {
        (0..self.cases.len() as CaseNo)
            .map(|c| {
                self.cases
                    .case(c)
                    .spells()
                    .iter()
                    .filter(|s| s.registered_on <= a && s.ended_on.is_none_or(|e| e > a))
                    .count()
            })
            .sum()
    }

    /// Heap memory the index holds, in bytes (capacities, not lengths of use).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let strings = |v: &[String]| v.iter().map(|s| s.capacity() + size_of::<String>() * 2 + 16).sum::<usize>();
        let lists = |v: &[Vec<CaseNo>]| v.iter().map(|l| l.capacity() * 4 + size_of::<Vec<CaseNo>>()).sum::<usize>();
        let facts = self.cases.heap_bytes();
        // The maps hold a second copy of each key, plus their tables.
        strings(&self.case_ids) * 2
            + strings(&self.places) * 2
            + strings(&self.households) * 2
            + lists(&self.cases_at)
            + lists(&self.members)
            + self.signal_cases.capacity() * 4
            + self.case_keys.capacity() * 8
            + facts
    }

    /// The cases of `ids` this index holds, as a set.
    pub fn case_set<'a>(&self, ids: impl Iterator<Item = &'a str>) -> CaseSet {
        let mut set = CaseSet::default();
        for c in ids.filter_map(|id| self.case_no.get(id)) {
            set.insert(*c);
        }
        set
    }

    /// The number of case `id`, numbering it when new.
    fn case(&mut self, id: &str) -> CaseNo {
        if let Some(c) = self.case_no.get(id) {
            return *c;
        }
        let c = self.case_ids.len() as CaseNo;
        self.case_keys.push(crate::facts::id_key(id));
        self.case_ids.push(id.to_string());
        self.case_no.insert(id.to_string(), c);
        c
    }

    /// The number of community `code`, numbering it when new.
    fn place(&mut self, code: &str) -> PlaceNo {
        if let Some(p) = self.place_no.get(code) {
            return *p;
        }
        let p = self.places.len() as PlaceNo;
        self.places.push(code.to_string());
        self.place_no.insert(code.to_string(), p);
        self.cases_at.push(Vec::new());
        p
    }

    /// The number of household `id`, numbering it when new.
    fn household(&mut self, id: &str) -> HouseholdNo {
        if let Some(h) = self.household_no.get(id) {
            return *h;
        }
        let h = self.households.len() as HouseholdNo;
        self.households.push(id.to_string());
        self.household_no.insert(id.to_string(), h);
        self.members.push(Vec::new());
        h
    }

    /// A programme or district code of a grant, by its number.
    pub fn label_of(&self, label: u16) -> &str {
        self.labels.get(label as usize).map_or("", String::as_str)
    }

    /// The number of a programme or district code.
    fn label(&mut self, code: &str) -> u16 {
        if let Some(l) = self.label_no.get(code) {
            return *l;
        }
        let l = self.labels.len() as u16;
        self.labels.push(code.to_string());
        self.label_no.insert(code.to_string(), l);
        l
    }

    /// The number of relation name `name`.
    fn relation(&mut self, name: &str) -> u16 {
        match self.relations.iter().position(|r| r == name) {
            Some(i) => i as u16,
            None => {
                self.relations.push(name.to_string());
                (self.relations.len() - 1) as u16
            }
        }
    }

    /// Puts `case` on the lists its facts name: communities, households, signals.
    fn enlist(&mut self, case: CaseNo) {
        let facts = self.cases.case(case);
        for p in facts.places() {
            insert_sorted(&mut self.cases_at[p as usize], case);
        }
        for m in facts.memberships().iter() {
            insert_sorted(&mut self.members[m.household as usize], case);
        }
        if !facts.zero_employment_signals().is_empty() {
            insert_sorted(&mut self.signal_cases, case);
        }
    }

    /// Takes `case` off the lists its facts name.
    fn delist(&mut self, case: CaseNo) {
        if case as usize >= self.cases.len() {
            return;
        }
        let facts = self.cases.case(case);
        for p in facts.places() {
            remove_sorted(&mut self.cases_at[p as usize], case);
        }
        for m in facts.memberships().iter() {
            remove_sorted(&mut self.members[m.household as usize], case);
        }
        remove_sorted(&mut self.signal_cases, case);
    }

    /// Replaces the facts of each case of `changes` (numbered already, each
    /// once), and keeps the kept reports' sums equal to a walk: each takes
    /// away the changed cases' sums before, and adds them after (`kept.rs`).
    fn replace_all(&mut self, changes: Vec<(CaseNo, CaseFacts)>) {
        let mut kept = self.kept.take();
        let held: Vec<CaseNo> = changes.iter().map(|(c, _)| *c).filter(|c| (*c as usize) < self.cases.len()).collect();
        kept.retain_mut(|k| k.sums.take_away(&targets::sums_of(&self.facts(&k.j), &held, &k.ask)));
        let cases: Vec<CaseNo> = changes.iter().map(|(c, _)| *c).collect();
        for (case, facts) in changes {
            self.replace(case, facts);
        }
        for k in &mut kept {
            k.sums.add(&targets::sums_of(&self.facts(&k.j), &cases, &k.ask));
        }
        self.kept.put(kept);
    }

    /// Replaces the facts of `case` (numbered already).
    fn replace(&mut self, case: CaseNo, facts: CaseFacts) {
        self.delist(case);
        self.cases.set(case, &facts);
        self.enlist(case);
    }
}

fn insert_sorted(list: &mut Vec<CaseNo>, case: CaseNo) {
    if let Err(i) = list.binary_search(&case) {
        list.insert(i, case);
    }
}

fn remove_sorted(list: &mut Vec<CaseNo>, case: CaseNo) {
    if let Ok(i) = list.binary_search(&case) {
        list.remove(i);
    }
}

// === the index shared by the readers of one generation ===

/// The index of one generation, loaded on first use.
#[derive(Debug, Default)]
pub struct SharedIndex {
    index: RwLock<Option<CaseIndex>>,
    /// Times it was loaded whole, and moved on by reloading changed cases.
    loads: AtomicU64,
    refreshes: AtomicU64,
}

/// What a generation's index holds and how it was kept up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IndexStats {
    /// The checkpoint (commit position) it is at.
    pub checkpoint: u64,
    /// Person cases in it.
    pub cases: usize,
    /// Its heap memory, bytes.
    pub heap_bytes: usize,
    /// Reports whose sums it keeps up to date (`kept.rs`).
    pub kept_reports: usize,
    /// Times it was loaded whole (first use, too many changes).
    pub loads: u64,
    /// Times it moved to a newer checkpoint by reloading the changed cases only.
    pub refreshes: u64,
}

/// Which file a generation is: its path and its identity on disk (a path
/// could name a new file later).
type FileKey = (PathBuf, u64, u64);

/// Generations whose index this process keeps, least recently opened first.
static REGISTRY: Mutex<Vec<(FileKey, Arc<SharedIndex>)>> = Mutex::new(Vec::new());
/// Indexes kept at most: a server has the current generation and, for a
/// moment after a rebuild, the one before; an index whose file is gone
/// (a pruned generation) is dropped at the next open.
const KEPT: usize = 4;

fn file_key(path: &Path) -> FileKey {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    #[cfg(unix)]
    let id = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&path).map(|m| (m.dev(), m.ino())).unwrap_or((0, 0))
    };
    #[cfg(not(unix))]
    let id = (0, 0);
    (path, id.0, id.1)
}

impl SharedIndex {
    /// The shared index of the generation at `path`.
    pub fn of(path: &Path) -> Arc<Self> {
        let key = file_key(path);
        let mut registry = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        registry.retain(|(k, _)| k.0.exists());
        let shared = match registry.iter().position(|(k, _)| *k == key) {
            Some(i) => registry.remove(i).1,
            None => Arc::new(Self::default()),
        };
        registry.push((key, shared.clone()));
        if registry.len() > KEPT {
            registry.remove(0);
        }
        shared
    }

    /// [`IndexStats`] of the index at the checkpoint of `conn`'s read transaction.
    pub fn stats(&self, conn: &Connection) -> Result<IndexStats, ProjectionError> {
        let (checkpoint, cases, heap_bytes, kept_reports) =
            self.with(conn, |ix| Ok((ix.checkpoint, ix.cases(), ix.heap_bytes(), ix.kept_reports())))?;
        Ok(IndexStats {
            checkpoint,
            cases,
            heap_bytes,
            kept_reports,
            loads: self.loads.load(Ordering::Relaxed),
            refreshes: self.refreshes.load(Ordering::Relaxed),
        })
    }

    /// Runs `f` on the index at the checkpoint of `conn`'s read transaction
    /// (which the caller has begun and nothing has read in yet): loads or
    /// refreshes the index first, or, when the index is ahead of that
    /// snapshot, begins a newer one.
    pub fn with<T>(
        &self,
        conn: &Connection,
        f: impl FnOnce(&CaseIndex) -> Result<T, ProjectionError>,
    ) -> Result<T, ProjectionError> {
        loop {
            let at = load::checkpoint(conn)?;
            {
                let guard = self.index.read().unwrap_or_else(|e| e.into_inner());
                match guard.as_ref() {
                    Some(ix) if ix.checkpoint == at => return f(ix),
                    Some(ix) if ix.checkpoint > at => {
                        // Our snapshot is older than the index: read a newer one.
                        drop(guard);
                        conn.execute_batch("COMMIT; BEGIN DEFERRED")?;
                        continue;
                    }
                    _ => {}
                }
            }
            let mut guard = self.index.write().unwrap_or_else(|e| {
                // A refresh that panicked may have left it half done: load it again.
                let mut g = e.into_inner();
                *g = None;
                g
            });
            let refreshed = match guard.as_mut() {
                Some(ix) if ix.checkpoint >= at => true,
                Some(ix) => {
                    let moved = load::reload_changed(conn, ix, at)?;
                    if moved {
                        self.refreshes.fetch_add(1, Ordering::Relaxed);
                    }
                    moved
                }
                None => false,
            };
            if !refreshed {
                *guard = Some(load::load_all(conn)?);
                self.loads.fetch_add(1, Ordering::Relaxed);
            }
            // Loop: read it under a read lock (another writer may move it on).
        }
    }
}

/// Notes, in the batch's transaction, the person cases `events` change, with
/// `after` (the checkpoint before the batch): an index at checkpoint `C`
/// reloads the cases noted with `after ≥ C`. One row per case, the latest batch's.
pub(crate) fn record_changes(
    tx: &rusqlite::Transaction<'_>,
    events: &[&crate::Decoded],
    after: u64,
) -> Result<(), ProjectionError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO changed_case (case_id, after_position) VALUES (?1, ?2)
         ON CONFLICT (case_id) DO UPDATE SET after_position = ?2",
    )?;
    // A case's commands interleave with other cases' in the log: one row
    // per case of the batch, however many of its events the batch holds.
    let mut noted = rustc_hash::FxHashSet::default();
    for e in events {
        if let crate::decoded::Case::Person { case_id, .. } = &e.case {
            if noted.insert(case_id.as_str()) {
                stmt.execute(rusqlite::params![case_id, after as i64])?;
            }
        }
    }
    Ok(())
}
