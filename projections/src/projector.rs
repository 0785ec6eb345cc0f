//! Folds recorded events into the read model.
//!
//! A batch of events and the checkpoint after it are written in ONE SQLite
//! transaction: after a crash the read model and its checkpoint agree, so
//! nothing is counted twice and nothing is skipped. The fold is a pure function
//! of the log: the same events give the same tables, which is what makes a
//! rebuild from position zero equal to the live model.

use std::{borrow::Cow, path::Path, sync::Arc};

use chrono::{Datelike, Utc};
use leye_domain::{
    Date,
    person::{HouseholdMembership, PersonFact, PersonGroup, Registration},
};
use leye_store::{Position, RecordedEvent};
use rusqlite::{CachedStatement, Connection, OptionalExtension, ToSql, params};

use crate::{
    ProjectionError,
    appended::{self, Appended},
    case_memory::{CaseMemory, Closing, Opens, Place},
    decoded::{Case, Decoded, Meta},
    flusher::Flusher,
    names,
};

/// The read model's schema, applied on open.
pub const SCHEMA: &str = include_str!("schema.sql");

/// How a fresh generation's fold reads its own rows: through the primary keys
/// of the tables that keep one (training, subsidy, eligibility, the
/// enterprise tables), and by rowid ([`CaseMemory`]) for the person-case rows
/// it changes on the busiest events (person, spell, placement, benefit,
/// household membership), whose keys are unique indexes. So no `CREATE
/// [UNIQUE] INDEX` of [`SCHEMA`] is needed before the end of a rebuild.
const INDEX_LINE: [&str; 2] = ["CREATE INDEX IF NOT EXISTS ", "CREATE UNIQUE INDEX IF NOT EXISTS "];

/// Prepared statements a projector's connection keeps: more than the fold
/// has (≈ 40), so none is prepared again (rusqlite keeps 16 by default, and a
/// rebuild prepared some twenty again every batch of 2 000 events).
const STATEMENTS: usize = 64;

/// Page cache of a generation being rebuilt, in KiB (bounds its memory).
/// Measured at 100 000 and 500 000 persons (docs/PERFORMANCE.md, "Eleventh
/// look"): 48 MiB rebuilds as fast as 128 MiB with 80–90 MiB less peak
/// memory, and 384 MiB is slower (its pages are all written at the end).
pub const FRESH_CACHE_KIB: u32 = 48 * 1024;

/// Page cache while a fresh generation's indexes are built, in KiB. SQLite
/// sorts an index's keys in runs of about the page cache's size: runs of
/// 4 MiB stay in the processor's caches and are merged cheaply, where runs
/// of 48 MiB did not (500 000 persons: the indexes in 2.4–3.3 s instead of
/// 4.1–5.2 s; docs/PERFORMANCE.md, "Rebuild, the finish").
const INDEX_CACHE_KIB: u32 = 4 * 1024;

/// The read model's table format, kept in each generation's SQLite
/// `user_version`. Raised by a version of leye that adds a column or changes
/// what one holds: a generation of another format is neither folded into nor
/// read (it would be wrong or fail on a missing column); `leye serve`
/// rebuilds it before serving, and the CLI asks for `leye projections
/// rebuild`. 2: `spell.graduate_group`, `subsidy.community` within the
/// grant's district (generations from before carry 0).
pub const FORMAT: i32 = 2;

/// Refuses a database of another [`FORMAT`]; a new file (no tables yet)
/// passes. Every query opens the read model through this: the common case
/// is one header read (`user_version`), the table look-up only when it
/// differs.
pub(crate) fn check_format(conn: &Connection) -> Result<(), ProjectionError> {
    let found: i32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found == FORMAT {
        return Ok(());
    }
    let tables: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'checkpoint'", [], |r| {
            r.get(0)
        })?;
    if tables == 0 { Ok(()) } else { Err(ProjectionError::OtherFormat { found, wanted: FORMAT }) }
}

/// [`SCHEMA`] without its indexes (one-line statements, [`INDEX_LINE`]).
fn schema_without_indexes() -> String {
    SCHEMA
        .lines()
        .filter(|line| !INDEX_LINE.iter().any(|start| line.trim_start().starts_with(start)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Owns the read-model database for writing.
#[derive(Debug)]
pub struct Projector {
    conn: Connection,
    /// `Some` for a generation made by [`Self::create_fresh`]: the fold
    /// remembers what it wrote instead of reading it back.
    memory: Option<CaseMemory>,
    /// For such a generation: its pages written to disk as the fold goes.
    flusher: Option<Flusher>,
}

impl Projector {
    /// Opens (creating if needed) the read-model database at `path`.
    pub fn open(path: &Path) -> Result<Self, ProjectionError> {
        let conn = Connection::open(path)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        // Another opener (a starting projector, a rebuild) may hold the lock a moment.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // NORMAL: a killed process loses nothing; a power loss may take back
        // the last batches, rows and checkpoint together, and they are folded
        // again from the log. Derived data owes nobody an fsync per batch
        // (every server folds every event; docs/PERFORMANCE.md).
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")?;
        check_format(&conn)?;
        // One transaction: one fsync for the whole schema, not one per
        // statement (a new generation is ready that much sooner).
        conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{SCHEMA}\nPRAGMA user_version = {FORMAT};\nCOMMIT;"))?;
        Ok(Self { conn, memory: None, flusher: None })
    }

    /// Creates a new generation for a rebuild, tuned for one bulk writer.
    ///
    /// Nobody reads this file until [`Self::finish_fresh`] has made it durable
    /// and the caller switches `CURRENT` to it, so it is written without a
    /// journal (`journal_mode=OFF`, `synchronous=OFF`): a crash mid-rebuild
    /// leaves a half-written file no pointer names, which the next rebuild
    /// passes over (it takes a new number) — crash-safe by construction. The
    /// indexes, unique keys included, are created once at the end (a sort
    /// instead of a b-tree insert per row; see [`INDEX_LINE`] for how the
    /// fold does without them). The page cache is bounded
    /// ([`FRESH_CACHE_KIB`]), and the sorts that build the indexes spill to
    /// temporary files beyond it (`temp_store` stays the default, files): the
    /// rebuild's memory does not grow with the log.
    pub fn create_fresh(path: &Path) -> Result<Self, ProjectionError> {
        if path.exists() {
            return Err(ProjectionError::Corrupt(format!("new generation {} exists already", path.display())));
        }
        let conn = Connection::open(path)?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;
             PRAGMA cache_size=-{FRESH_CACHE_KIB}; PRAGMA foreign_keys=ON;"
        ))?;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;\n{}\nPRAGMA user_version = {FORMAT};\nCOMMIT;",
            schema_without_indexes()
        ))?;
        Ok(Self { conn, memory: Some(CaseMemory::default()), flusher: Flusher::start(path) })
    }

    /// Completes a generation made by [`Self::create_fresh`]: creates the
    /// query indexes, turns the file into
    /// the WAL-mode database the live follower and readers expect, and makes
    /// it durable (fsync) before the caller may publish it.
    pub fn finish_fresh(self) -> Result<(), ProjectionError> {
        let started = std::time::Instant::now();
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("COMMIT")?; // the fold's one transaction
        }
        let committed = started.elapsed();
        // The rows are in the file: on to the disk while the indexes are built.
        if let Some(flusher) = &self.flusher {
            flusher.flush_now();
        }
        // The log is read by now: the index sorts may use the other cores.
        let helpers = std::thread::available_parallelism().map_or(0, |n| n.get().saturating_sub(1)).min(4);
        self.conn.execute_batch(&format!("PRAGMA threads = {helpers}; PRAGMA cache_size = -{INDEX_CACHE_KIB};"))?;
        self.conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;"))?;
        let indexed = started.elapsed();
        self.conn.execute_batch("PRAGMA locking_mode=NORMAL; PRAGMA journal_mode=WAL;")?;
        let path = self.conn.path().map(std::path::PathBuf::from);
        drop(self.flusher); // waits for a flush under way
        self.conn.close().map_err(|(_, e)| e)?;
        let closed = started.elapsed();
        if let Some(path) = path {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| ProjectionError::Corrupt(format!("syncing {}: {e}", path.display())))?;
        }
        tracing::debug!(
            commit_s = committed.as_secs_f64(),
            indexes_s = (indexed - committed).as_secs_f64(),
            wal_and_close_s = (closed - indexed).as_secs_f64(),
            sync_s = (started.elapsed() - closed).as_secs_f64(),
            "new generation finished"
        );
        Ok(())
    }

    /// The position of the last event folded in, `None` before the first.
    pub fn checkpoint(&self) -> Result<Option<Position>, ProjectionError> {
        Ok(self
            .conn
            .query_row("SELECT commit_position, prepare_position FROM checkpoint WHERE id = 1", [], |r| {
                Ok(Position { commit: r.get::<_, i64>(0)? as u64, prepare: r.get::<_, i64>(1)? as u64 })
            })
            .optional()?)
    }

    /// Number of events folded in so far.
    pub fn events_applied(&self) -> Result<u64, ProjectionError> {
        Ok(self
            .conn
            .query_row("SELECT events_applied FROM checkpoint WHERE id = 1", [], |r| r.get::<_, i64>(0))
            .optional()?
            .unwrap_or(0) as u64)
    }

    /// Folds `events` (in log order, all after the checkpoint) and moves the
    /// checkpoint, atomically. Events already folded (at or before the
    /// checkpoint) are skipped, so a re-delivered batch changes nothing.
    pub fn apply(&mut self, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let checkpoint = self.checkpoint()?;
        // Sized for the whole batch at once: collected from the filter, the
        // vector grew by doubling, copying the decoded events and faulting in
        // fresh pages each time (a tenth of the live fold's CPU at batches of
        // 16 384 events, docs/PERFORMANCE.md, "A twenty-first machine").
        let mut fresh = Vec::with_capacity(events.len());
        for e in events.iter().filter(|e| checkpoint.is_none_or(|c| e.position > c)) {
            fresh.push(Decoded::decode(e)?);
        }
        self.apply_decoded(&fresh)
    }

    /// [`Self::apply`] for events decoded already ([`Decoded::decode`]).
    ///
    /// The live projector commits each call (rows and checkpoint together).
    /// A fresh generation ([`Self::create_fresh`]) is one transaction from
    /// its first event to [`Self::finish_fresh`]: nobody reads it before, it
    /// has no journal to roll back, and the pages each commit would write
    /// again (index pages touched by every batch) are written once, or when
    /// the bounded page cache spills. An error leaves a fresh generation
    /// unusable (the rebuild removes it).
    pub fn apply_decoded(&mut self, events: &[Decoded]) -> Result<(), ProjectionError> {
        let checkpoint = self.checkpoint()?;
        let fresh: Vec<&Decoded> = events.iter().filter(|e| checkpoint.is_none_or(|c| e.position > c)).collect();
        if fresh.is_empty() {
            return Ok(());
        }
        if self.memory.is_some() {
            if self.conn.is_autocommit() {
                self.conn.execute_batch("BEGIN IMMEDIATE")?;
            }
            return fold_batch(&self.conn, self.memory.as_mut(), &fresh);
        }
        let tx = self.conn.transaction()?;
        fold_batch(&tx, None, &fresh)?;
        // The live model records the person cases each batch changes
        // (`changed_case`), for the query index to reload only those; a fresh
        // generation (above) does not: its index is loaded whole.
        crate::index::record_changes(&tx, &fresh, checkpoint.map_or(0, |c| c.commit))?;
        tx.commit()?;
        Ok(())
    }

    /// Person cases the fold of a fresh generation remembers (0 for the live
    /// projector, which remembers nothing).
    pub fn cases_remembered(&self) -> usize {
        self.memory.as_ref().map_or(0, CaseMemory::cases)
    }
}

/// Folds `events` (not empty, all after the checkpoint) and moves the
/// checkpoint, inside the caller's transaction.
fn fold_batch(conn: &Connection, memory: Option<&mut CaseMemory>, events: &[&Decoded]) -> Result<(), ProjectionError> {
    // A fresh generation writes its contacts and recommendations many to a
    // statement, after the batch's other rows (`appended`).
    let mut appended = memory.is_some().then(Appended::default);
    let mut fold = Fold { conn, held: Vec::new(), memory };
    for (i, e) in events.iter().enumerate() {
        if appended.as_mut().is_some_and(|a| a.take(i, e)) {
            continue;
        }
        apply_one(&mut fold, e)?;
    }
    if let Some(appended) = &appended {
        appended.write(&mut fold, events)?;
    }
    let Some(last) = events.last() else { return Ok(()) };
    fold.stmt(
        "INSERT INTO checkpoint (id, commit_position, prepare_position, events_applied, updated_at)
         VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET commit_position = ?1, prepare_position = ?2,
            events_applied = events_applied + ?3, updated_at = ?4",
    )?
    .execute(params![
        last.position.commit as i64,
        last.position.prepare as i64,
        events.len() as i64,
        Utc::now().to_rfc3339()
    ])?;
    Ok(())
}

/// An `UPDATE … SET` that closes a case's open rows, in its two forms for
/// [`Fold::close`]: by case (`?1` the case id, the rows with no `ended_on`)
/// and by rowid (`?1` the rowid).
macro_rules! closing {
    ($update_set:literal) => {
        (concat!($update_set, " WHERE case_id = ?1 AND ended_on IS NULL"), concat!($update_set, " WHERE rowid = ?1"))
    };
}

/// One batch's fold: its statements, each prepared once for the whole
/// batch (looked up by the address of its SQL text, not by hashing it), and
/// what the fold reads back of its own rows ([`Fold::place`] and the
/// numbering below): from SQLite for the live projector, from
/// [`CaseMemory`] for a fresh generation.
pub(crate) struct Fold<'t> {
    conn: &'t Connection,
    held: Vec<(usize, usize, CachedStatement<'t>)>,
    memory: Option<&'t mut CaseMemory>,
}

impl<'t> Fold<'t> {
    /// The prepared statement of `sql`, prepared on its first use in this batch.
    pub(crate) fn stmt(&mut self, sql: &'static str) -> Result<&mut CachedStatement<'t>, rusqlite::Error> {
        let key = (sql.as_ptr() as usize, sql.len());
        let i = match self.held.iter().position(|(p, l, _)| (*p, *l) == key) {
            Some(i) => i,
            None => {
                self.held.push((key.0, key.1, self.conn.prepare_cached(sql)?));
                self.held.len() - 1
            }
        };
        Ok(&mut self.held[i].2)
    }

    /// The person row's residence (district, street, community), `None`
    /// when the case has no person row.
    fn place(&mut self, case_id: &str) -> Result<Option<Arc<Place>>, ProjectionError> {
        if let Some(memory) = &self.memory {
            return Ok(memory.place(case_id));
        }
        Ok(self
            .stmt("SELECT district, street, community FROM person WHERE case_id = ?1")?
            .query_row(params![case_id], |r| Ok(Arc::new((r.get(0)?, r.get(1)?, r.get(2)?))))
            .optional()?)
    }

    /// The number of the spell about to be inserted: 1, 2, … per case.
    fn next_spell_no(&mut self, case_id: &str) -> Result<u32, ProjectionError> {
        if let Some(memory) = &mut self.memory {
            return Ok(memory.next_spell(case_id));
        }
        Ok(self.stmt("SELECT count(*) + 1 FROM spell WHERE case_id = ?1")?.query_row(params![case_id], |r| r.get(0))?)
    }

    /// The number of the placement about to be inserted.
    fn next_placement_no(&mut self, case_id: &str) -> Result<u32, ProjectionError> {
        if let Some(memory) = &mut self.memory {
            return Ok(memory.next_placement(case_id));
        }
        Ok(self
            .stmt("SELECT count(*) + 1 FROM placement WHERE case_id = ?1")?
            .query_row(params![case_id], |r| r.get(0))?)
    }

    /// The household of the open membership (no `left_on`), if any.
    fn open_household(&mut self, case_id: &str) -> Result<Option<String>, ProjectionError> {
        if let Some(memory) = &self.memory {
            return Ok(memory.household(case_id).map(|h| h.to_string()));
        }
        Ok(self
            .stmt("SELECT household_id FROM household_membership WHERE case_id = ?1 AND left_on IS NULL")?
            .query_row(params![case_id], |r| r.get(0))
            .optional()?)
    }

    /// The number of the membership about to be inserted.
    fn next_membership_no(&mut self, case_id: &str) -> Result<u32, ProjectionError> {
        if let Some(memory) = &self.memory {
            return Ok(memory.next_membership(case_id));
        }
        Ok(self
            .stmt("SELECT count(*) + 1 FROM household_membership WHERE case_id = ?1")?
            .query_row(params![case_id], |r| r.get(0))?)
    }

    /// A row of `table` was just inserted open: a fresh generation remembers
    /// its rowid.
    fn opened(&mut self, case_id: &str, table: Opens) {
        if let Some(memory) = &mut self.memory {
            memory.opened(case_id, table, self.conn.last_insert_rowid());
        }
    }

    /// Closes the open rows of `case_id` in `table` with the two forms of one
    /// `UPDATE` ([`closing!`]). `by_case` is the live projector's; a fresh
    /// generation runs `by_rowid` on the one open row it remembers, nothing
    /// when none is open, and `by_case` when the log left more than one open
    /// (no decider does; without the index that is a scan, but the same
    /// rows). `rest` are `?2`, … of both.
    fn close(
        &mut self,
        case_id: &str,
        table: Opens,
        (by_case, by_rowid): (&'static str, &'static str),
        rest: &[&dyn ToSql],
    ) -> Result<(), ProjectionError> {
        let closing = self.memory.as_ref().map_or(Closing::ByCase, |m| m.open(case_id, table).closing());
        let (sql, first): (&'static str, &dyn ToSql) = match &closing {
            Closing::Nothing => return Ok(()),
            Closing::Row(rowid) => (by_rowid, rowid),
            Closing::ByCase => (by_case, &case_id),
        };
        let mut values = Vec::with_capacity(1 + rest.len());
        values.push(first);
        values.extend_from_slice(rest);
        self.stmt(sql)?.execute(values.as_slice())?;
        if let Some(memory) = &mut self.memory {
            memory.closed(case_id, table);
        }
        Ok(())
    }
}

/// A date as the tables hold it, `YYYY-MM-DD`: chrono's `to_string`, without
/// its formatting machinery or an allocation for the years every event has.
pub(crate) fn iso(d: Date) -> IsoDate {
    let year = d.year();
    if !(0..=9999).contains(&year) {
        return IsoDate::Other(d.to_string());
    }
    let (y, m, day) = (year as u32, d.month(), d.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    IsoDate::Short([
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(day / 10),
        digit(day),
    ])
}

/// A date's text ([`iso`]), bound to statements as text.
#[derive(Debug, Clone)]
pub(crate) enum IsoDate {
    Short([u8; 10]),
    Other(String),
}

impl IsoDate {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // ASCII digits and dashes: always UTF-8.
            Self::Short(b) => std::str::from_utf8(b).unwrap_or_default(),
            Self::Other(s) => s,
        }
    }
}

impl rusqlite::ToSql for IsoDate {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(self.as_str().as_bytes())))
    }
}

/// A domain enum's stored name: [`names::name`] for a unit variant (no
/// allocation), else [`names::of`].
pub(crate) fn name<T: serde::Serialize>(value: &T) -> Cow<'static, str> {
    names::name(value).map_or_else(|| Cow::Owned(names::of(value)), Cow::Borrowed)
}

/// The metadata of a person event the fold reads it of (the decoder reads it
/// for those: `decoded::PERSON_READS_METADATA`).
fn read(metadata: &Option<Meta>) -> Result<&Meta, ProjectionError> {
    metadata
        .as_ref()
        .ok_or_else(|| ProjectionError::Corrupt("a registration's or grant's metadata was not read".into()))
}

/// Folds one event: person cases here, enterprise cases in
/// [`crate::enterprises`]; other streams are not projected.
fn apply_one(f: &mut Fold<'_>, e: &Decoded) -> Result<(), ProjectionError> {
    let (case_id, metadata, event) = match &e.case {
        Case::Enterprise { case_id, metadata, event } => {
            return crate::enterprises::apply_one(f, case_id, metadata, event);
        }
        Case::Person { case_id, metadata, event } => (case_id.as_str(), metadata, event),
        Case::Other => return Ok(()),
    };
    let on = iso(event.effective_date);
    match &event.fact {
        PersonFact::Registered(reg) => registered(f, case_id, on.as_str(), reg, &read(metadata)?.office)?,
        PersonFact::DifficultyRecognised(d) => {
            let categories: Vec<Cow<'static, str>> = d.categories.iter().map(name).collect();
            f.stmt("INSERT INTO difficulty (case_id, recognised_on, valid_from, valid_to, special, zero_employment, categories)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(
                params![
                    case_id,
                    on,
                    iso(d.valid.from),
                    iso(d.valid.to),
                    d.categories.iter().any(|c| c.is_special()),
                    d.categories.contains(&leye_domain::person::DifficultyCategory::ZeroEmploymentHousehold),
                    categories.join(","),
                ],
            )?;
        }
        PersonFact::Contacted(c) => {
            f.stmt(appended::CONTACT)?.execute(params![case_id, on, name(&c.channel), name(&c.outcome)])?;
        }
        PersonFact::JobRecommended(r) => {
            f.stmt(appended::RECOMMENDATION)?.execute(params![case_id, on, r.two_way])?;
        }
        PersonFact::TrainingEnrolled(t) => {
            if let Some(place) = f.place(case_id)? {
                f.stmt(
                    "INSERT INTO training (case_id, training_id, programme, enrolled_on, district, community)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![case_id, t.training_id, name(&t.programme), on, place.0, place.2])?;
            }
        }
        PersonFact::TrainingCompleted(t) => {
            f.stmt("UPDATE training SET completed_on = ?3 WHERE case_id = ?1 AND training_id = ?2")?
                .execute(params![case_id, t.training_id, on])?;
        }
        PersonFact::TrainingDropped(t) => {
            f.stmt("UPDATE training SET dropped_on = ?3 WHERE case_id = ?1 AND training_id = ?2")?.execute(params![
                case_id,
                t.training_id,
                on
            ])?;
        }
        PersonFact::Placed(p) => {
            f.close(
                case_id,
                Opens::Spell,
                closing!("UPDATE spell SET ended_on = ?2, end_kind = 'placed'"),
                params![on],
            )?;
            if let Some(place) = f.place(case_id)? {
                let placement_no = f.next_placement_no(case_id)?;
                f.stmt("INSERT INTO placement (case_id, placement_no, kind, employer, contract_months, started_on, district, community)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?.execute(
                    params![
                        case_id,
                        placement_no,
                        name(&p.kind),
                        p.employer.as_ref().map(|c| c.as_str()),
                        p.contract_months,
                        on,
                        place.0,
                        place.2
                    ],
                )?;
                f.opened(case_id, Opens::Placement);
            }
        }
        PersonFact::PlacementEnded(end) => f.close(
            case_id,
            Opens::Placement,
            closing!("UPDATE placement SET ended_on = ?2, end_reason = ?3"),
            params![on, name(&end.reason)],
        )?,
        PersonFact::SubsidyGranted(g) => {
            let payee = match g.payee {
                leye_domain::person::Payee::Person => "person",
                leye_domain::person::Payee::Enterprise(_) => "enterprise",
                leye_domain::person::Payee::TrainingProvider(_) => "training_provider",
            };
            if let Some(place) = f.place(case_id)? {
                // A grant is the money of the district that granted it (the
                // event's district): it counts there and, below it, for the
                // person's community when that lies in the district; else for
                // the district only, whose code stands in for the community
                // (TARGETS.md, "Grants").
                let district = read(metadata)?.district.as_str();
                let community = if place.2.starts_with(district) { place.2.as_str() } else { district };
                f.stmt(
                    "INSERT INTO subsidy (case_id, subsidy_id, programme, amount_fen, period_from, period_to, payee_kind,
                                          policy_clause, granted_on, district, community)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![
                    case_id,
                    g.subsidy_id,
                    g.programme,
                    g.amount.get(),
                    iso(g.period.from),
                    iso(g.period.to),
                    payee,
                    g.policy_clause,
                    on,
                    district,
                    community,
                ])?;
            }
        }
        // Proposals and their review do not count until a grant: the grant
        // (subsidy_granted, recorded with the approval) is what the tables hold.
        // They are not even decoded (`decoded.rs`).
        PersonFact::SubsidyProposed(_) | PersonFact::SubsidyApproved(_) | PersonFact::SubsidyProposalRejected(_) => {}
        // The read model never held personal data: an erasure changes no row.
        PersonFact::PersonalDataErased(_) => {}
        PersonFact::SubsidyRevoked(r) => {
            f.stmt("UPDATE subsidy SET revoked_on = ?3 WHERE case_id = ?1 AND subsidy_id = ?2")?.execute(params![
                case_id,
                r.subsidy_id,
                on
            ])?;
        }
        PersonFact::BenefitStarted(b) => {
            f.stmt("INSERT INTO benefit (case_id, started_on, months) VALUES (?1, ?2, ?3)")?
                .execute(params![case_id, on, b.months])?;
            f.opened(case_id, Opens::Benefit);
        }
        PersonFact::BenefitEnded(_) => {
            f.close(case_id, Opens::Benefit, closing!("UPDATE benefit SET ended_on = ?2"), params![on])?
        }
        PersonFact::RegistrationExited(x) => f.close(
            case_id,
            Opens::Spell,
            closing!("UPDATE spell SET ended_on = ?2, end_kind = 'exited', exit_reason = ?3"),
            params![on, name(&x.reason)],
        )?,
        PersonFact::HouseholdJoined(m) => joined(f, case_id, on.as_str(), m)?,
        PersonFact::HouseholdLeft(l) => {
            // The fold opens a membership only when none is open (`joined`,
            // `registered`), so a fresh generation's memory knows the one row
            // the live projector's UPDATE finds, if any.
            match f.memory.as_ref().map(|m| m.membership_in(case_id, l.household_id)) {
                None => {
                    f.stmt(
                        "UPDATE household_membership SET left_on = ?3
                         WHERE case_id = ?1 AND household_id = ?2 AND left_on IS NULL",
                    )?
                    .execute(params![case_id, l.household_id.to_string(), on])?;
                }
                Some(Some(rowid)) => {
                    f.stmt("UPDATE household_membership SET left_on = ?2 WHERE rowid = ?1")?
                        .execute(params![rowid, on])?;
                }
                Some(None) => {}
            }
            if let Some(memory) = &mut f.memory {
                memory.leave(case_id, l.household_id);
            }
            current_household(f, case_id)?;
        }
        PersonFact::EligibilityFound(e) => {
            // Plain data with string keys: serialisation cannot fail.
            let reasons = serde_json::to_string(&e.reasons).unwrap_or_default();
            // The decider notes a rule once per case; OR IGNORE keeps a
            // hand-made duplicate in the log from stopping the projector.
            if let Some(place) = f.place(case_id)? {
                f.stmt(
                    "INSERT OR IGNORE INTO eligibility (case_id, case_kind, rule_id, rule_valid_from, programme, clause,
                                                       reasons, amount_fen, found_on, district, street, community)
                     VALUES (?1, 'person', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(params![
                    case_id,
                    e.rule_id,
                    iso(e.rule_valid_from),
                    e.programme,
                    e.clause,
                    reasons,
                    e.amount.map(|a| a.get()),
                    on,
                    place.0,
                    place.1,
                    place.2,
                ])?;
            }
        }
    }
    Ok(())
}

/// The person row's statements, over the same `?1`–`?11`: `insert`,
/// `upsert` (the live projector's, by the key) and `update_by_rowid` (`?12`
/// the rowid), the last two with one list of what a registration changes.
macro_rules! person_row {
    (insert) => {
        "INSERT INTO person (case_id, birth_month, gender, hukou_county, hukou_nature, education, graduation_year,
                             household_id, district, street, community)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    };
    (changed) => {
        " SET hukou_county = ?4, hukou_nature = ?5, education = ?6, graduation_year = ?7, household_id = ?8,
              district = ?9, street = ?10, community = ?11"
    };
    (upsert) => {
        concat!(person_row!(insert), " ON CONFLICT (case_id) DO UPDATE", person_row!(changed))
    };
    (update_by_rowid) => {
        concat!("UPDATE person", person_row!(changed), " WHERE rowid = ?12")
    };
}

fn registered(
    f: &mut Fold<'_>,
    case_id: &str,
    on: &str,
    reg: &Registration,
    office: &str,
) -> Result<(), ProjectionError> {
    let id = &reg.resident_id;
    let birth = id.birth_date();
    let r = &reg.residence;
    // The person row's household is the current membership's: the one open
    // already (a registration naming a household continues it, as the
    // decider folds it), else the one this registration names and joins.
    // Written with the row, not updated after it.
    let open = f.open_household(case_id)?;
    let joins = reg.household.as_ref().filter(|_| open.is_none());
    let household = open.or_else(|| joins.map(|m| m.household_id.to_string()));
    let birth_month = match iso(birth) {
        IsoDate::Short(d) => String::from_utf8_lossy(&d[..7]).into_owned(),
        IsoDate::Other(_) => birth.format("%Y-%m").to_string(),
    };
    let (gender, nature, education) = (name(&id.gender()), name(&reg.hukou.nature), name(&reg.education));
    let row = params![
        case_id,
        birth_month,
        gender,
        reg.hukou.county.as_str(),
        nature,
        education,
        reg.graduation.as_ref().map(|g| g.year),
        household,
        r.district.as_str(),
        r.street,
        r.community,
    ];
    // The live projector upserts by the key; a fresh generation, which has
    // no index yet, inserts the first row and updates it by rowid after.
    match f.memory.as_ref().map(|m| m.person_row(case_id)) {
        None => {
            f.stmt(person_row!(upsert))?.execute(row)?;
        }
        Some(None) => {
            f.stmt(person_row!(insert))?.execute(row)?;
            let rowid = f.conn.last_insert_rowid();
            if let Some(memory) = &mut f.memory {
                memory.set_person_row(case_id, rowid);
            }
        }
        Some(Some(rowid)) => {
            let mut values = row.to_vec();
            values.push(&rowid);
            f.stmt(person_row!(update_by_rowid))?.execute(values.as_slice())?;
        }
    }
    if let Some(memory) = &mut f.memory {
        memory.set_place(case_id, (r.district.as_str().to_string(), r.street.clone(), r.community.clone()));
    }
    for g in &reg.groups {
        // A fresh generation has no key to ignore a repeated group by: its
        // memory does.
        if f.memory.as_mut().is_some_and(|m| !m.add_group(case_id, *g)) {
            continue;
        }
        f.stmt("INSERT OR IGNORE INTO person_group (case_id, grp, since) VALUES (?1, ?2, ?3)")?.execute(params![
            case_id,
            name(g),
            on
        ])?;
    }
    let spell_no = f.next_spell_no(case_id)?;
    f.stmt(
        "INSERT INTO spell (case_id, spell_no, registered_on, district, street, community, office,
                            zero_employment_group, graduate_group)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        case_id,
        spell_no,
        on,
        r.district.as_str(),
        r.street,
        r.community,
        office,
        reg.groups.contains(&PersonGroup::ZeroEmploymentHousehold),
        reg.groups.contains(&PersonGroup::GraduateUnemployedAfterSchool),
    ])?;
    f.opened(case_id, Opens::Spell);
    match joins {
        Some(m) => membership(f, case_id, on, m),
        None => Ok(()),
    }
}

/// A membership starts, unless one is current (then it continues, as in the
/// decider's fold).
fn joined(f: &mut Fold<'_>, case_id: &str, on: &str, m: &HouseholdMembership) -> Result<(), ProjectionError> {
    if f.open_household(case_id)?.is_none() {
        membership(f, case_id, on, m)?;
    }
    current_household(f, case_id)
}

/// Inserts a new membership, open, of `case_id` in `m`'s household.
fn membership(f: &mut Fold<'_>, case_id: &str, on: &str, m: &HouseholdMembership) -> Result<(), ProjectionError> {
    let membership_no = f.next_membership_no(case_id)?;
    f.stmt(
        "INSERT INTO household_membership (household_id, case_id, membership_no, relation, joined_on)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![m.household_id.to_string(), case_id, membership_no, name(&m.relation), on])?;
    if let Some(memory) = &mut f.memory {
        memory.join(case_id, m.household_id, f.conn.last_insert_rowid());
    }
    Ok(())
}

/// `person.household_id` follows the current membership.
fn current_household(f: &mut Fold<'_>, case_id: &str) -> Result<(), ProjectionError> {
    let household = f.open_household(case_id)?;
    match f.memory.as_ref().map(|m| m.person_row(case_id)) {
        None => {
            f.stmt("UPDATE person SET household_id = ?2 WHERE case_id = ?1")?.execute(params![case_id, household])?
        }
        Some(Some(rowid)) => {
            f.stmt("UPDATE person SET household_id = ?2 WHERE rowid = ?1")?.execute(params![rowid, household])?
        }
        Some(None) => 0,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    #[test]
    fn iso_dates_are_chronos() {
        let mut d = chrono::NaiveDate::from_ymd_opt(1899, 12, 25).unwrap();
        while d.year() < 2101 {
            assert_eq!(super::iso(d).as_str(), d.to_string());
            d = d.succ_opt().unwrap();
        }
        let d = chrono::NaiveDate::from_ymd_opt(1987, 4, 30).unwrap();
        assert_eq!(&super::iso(d).as_str()[..7], d.format("%Y-%m").to_string(), "the birth month is its first 7 bytes");
        for d in [chrono::NaiveDate::MIN, chrono::NaiveDate::MAX, chrono::NaiveDate::from_ymd_opt(7, 1, 2).unwrap()] {
            assert_eq!(super::iso(d).as_str(), d.to_string());
        }
    }
}
