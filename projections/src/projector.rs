//! Folds recorded events into the read model.
//!
//! A batch of events and the checkpoint after it are written in ONE SQLite
//! transaction: after a crash the read model and its checkpoint agree, so
//! nothing is counted twice and nothing is skipped. The fold is a pure function
//! of the log: the same events give the same tables, which is what makes a
//! rebuild from position zero equal to the live model.

use std::path::Path;

use chrono::Utc;
use leye_domain::person::{HouseholdMembership, PersonFact, Registration};
use leye_store::{Position, RecordedEvent};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::{
    ProjectionError,
    decoded::{Case, Decoded},
    names,
};

/// The read model's schema, applied on open.
pub const SCHEMA: &str = include_str!("schema.sql");

/// Indexes the fold itself reads (an `UPDATE … WHERE case_id = ?` on a table
/// whose primary key does not start with `case_id`): they exist during a bulk
/// rebuild too; every other `CREATE INDEX` of [`SCHEMA`] serves queries only.
pub const FOLD_INDEXES: [&str; 1] = ["benefit_case"];

/// Page cache of a generation being rebuilt, in KiB (bounds its memory).
pub const FRESH_CACHE_KIB: u32 = 128 * 1024;

/// [`SCHEMA`] without the query-only indexes (one-line `CREATE INDEX`
/// statements not named in [`FOLD_INDEXES`]).
fn schema_without_query_indexes() -> String {
    SCHEMA
        .lines()
        .filter(|line| {
            let Some(rest) = line.trim_start().strip_prefix("CREATE INDEX IF NOT EXISTS ") else { return true };
            FOLD_INDEXES.iter().any(|name| rest.split_whitespace().next() == Some(name))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Owns the read-model database for writing.
#[derive(Debug)]
pub struct Projector {
    conn: Connection,
    /// Record the person cases each batch changes (`changed_case`), for the
    /// query index to reload only those; off while a fresh generation is
    /// rebuilt (its index is loaded whole).
    track_changes: bool,
}

impl Projector {
    /// Opens (creating if needed) the read-model database at `path`.
    pub fn open(path: &Path) -> Result<Self, ProjectionError> {
        let conn = Connection::open(path)?;
        // Another opener (a starting projector, a rebuild) may hold the lock a moment.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        // One transaction: one fsync for the whole schema, not one per
        // statement (a new generation is ready that much sooner).
        conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;"))?;
        Ok(Self { conn, track_changes: true })
    }

    /// Creates a new generation for a rebuild, tuned for one bulk writer.
    ///
    /// Nobody reads this file until [`Self::finish_fresh`] has made it durable
    /// and the caller switches `CURRENT` to it, so it is written without a
    /// journal (`journal_mode=OFF`, `synchronous=OFF`): a crash mid-rebuild
    /// leaves a half-written file no pointer names, which the next rebuild
    /// passes over (it takes a new number) — crash-safe by construction. The
    /// indexes only queries use are created once at the end (a sort instead
    /// of a b-tree insert per row); those the fold itself reads
    /// ([`FOLD_INDEXES`]) exist from the start. The page cache is bounded
    /// ([`FRESH_CACHE_KIB`]), and the sorts that build the indexes spill to
    /// temporary files beyond it (`temp_store` stays the default, files): the
    /// rebuild's memory does not grow with the log.
    pub fn create_fresh(path: &Path) -> Result<Self, ProjectionError> {
        if path.exists() {
            return Err(ProjectionError::Corrupt(format!("new generation {} exists already", path.display())));
        }
        let conn = Connection::open(path)?;
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;
             PRAGMA cache_size=-{FRESH_CACHE_KIB}; PRAGMA foreign_keys=ON;"
        ))?;
        conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{}\nCOMMIT;", schema_without_query_indexes()))?;
        Ok(Self { conn, track_changes: false })
    }

    /// Completes a generation made by [`Self::create_fresh`]: creates the
    /// query indexes, turns the file into
    /// the WAL-mode database the live follower and readers expect, and makes
    /// it durable (fsync) before the caller may publish it.
    pub fn finish_fresh(self) -> Result<(), ProjectionError> {
        self.conn.execute_batch(&format!("BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;"))?;
        self.conn.execute_batch("PRAGMA locking_mode=NORMAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")?;
        let path = self.conn.path().map(std::path::PathBuf::from);
        self.conn.close().map_err(|(_, e)| e)?;
        if let Some(path) = path {
            std::fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| ProjectionError::Corrupt(format!("syncing {}: {e}", path.display())))?;
        }
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
        let fresh = events
            .iter()
            .filter(|e| checkpoint.is_none_or(|c| e.position > c))
            .map(Decoded::decode)
            .collect::<Result<Vec<_>, _>>()?;
        self.apply_decoded(&fresh)
    }

    /// [`Self::apply`] for events decoded already ([`Decoded::decode`]).
    pub fn apply_decoded(&mut self, events: &[Decoded]) -> Result<(), ProjectionError> {
        let checkpoint = self.checkpoint()?;
        let fresh: Vec<&Decoded> = events.iter().filter(|e| checkpoint.is_none_or(|c| e.position > c)).collect();
        let Some(last) = fresh.last() else { return Ok(()) };
        let tx = self.conn.transaction()?;
        for e in &fresh {
            apply_one(&tx, e)?;
        }
        if self.track_changes {
            crate::index::record_changes(&tx, &fresh, checkpoint.map_or(0, |c| c.commit))?;
        }
        tx.prepare_cached(
            "INSERT INTO checkpoint (id, commit_position, prepare_position, events_applied, updated_at)
             VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET commit_position = ?1, prepare_position = ?2,
                events_applied = events_applied + ?3, updated_at = ?4",
        )?
        .execute(params![
            last.position.commit as i64,
            last.position.prepare as i64,
            fresh.len() as i64,
            Utc::now().to_rfc3339()
        ])?;
        tx.commit()?;
        Ok(())
    }
}

/// Folds one event: person cases here, enterprise cases in
/// [`crate::enterprises`]; other streams are not projected.
fn apply_one(tx: &Transaction<'_>, e: &Decoded) -> Result<(), ProjectionError> {
    let (case_id, metadata, event) = match &e.case {
        Case::Enterprise { case_id, metadata, event } => {
            return crate::enterprises::apply_one(tx, case_id, metadata, event);
        }
        Case::Person { case_id, metadata, event } => (case_id.as_str(), metadata, event),
        Case::Other => return Ok(()),
    };
    let on = event.effective_date.to_string();
    match &event.fact {
        PersonFact::Registered(reg) => registered(tx, case_id, &on, reg, &metadata.office)?,
        PersonFact::DifficultyRecognised(d) => {
            let categories: Vec<String> = d.categories.iter().map(names::of).collect();
            tx.prepare_cached("INSERT INTO difficulty (case_id, recognised_on, valid_from, valid_to, special, zero_employment, categories)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(
                params![
                    case_id,
                    on,
                    d.valid.from.to_string(),
                    d.valid.to.to_string(),
                    d.categories.iter().any(|c| c.is_special()),
                    d.categories.contains(&leye_domain::person::DifficultyCategory::ZeroEmploymentHousehold),
                    categories.join(","),
                ],
            )?;
        }
        PersonFact::Contacted(c) => {
            tx.prepare_cached("INSERT INTO contact (case_id, contacted_on, channel, outcome) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![case_id, on, names::of(&c.channel), names::of(&c.outcome)])?;
        }
        PersonFact::JobRecommended(r) => {
            tx.prepare_cached("INSERT INTO recommendation (case_id, recommended_on, two_way) VALUES (?1, ?2, ?3)")?
                .execute(params![case_id, on, r.two_way])?;
        }
        PersonFact::TrainingEnrolled(t) => {
            tx.prepare_cached(
                "INSERT INTO training (case_id, training_id, programme, enrolled_on, district, community)
                 SELECT ?1, ?2, ?3, ?4, district, community FROM person WHERE case_id = ?1",
            )?
            .execute(params![case_id, t.training_id, names::of(&t.programme), on])?;
        }
        PersonFact::TrainingCompleted(t) => {
            tx.prepare_cached("UPDATE training SET completed_on = ?3 WHERE case_id = ?1 AND training_id = ?2")?
                .execute(params![case_id, t.training_id, on])?;
        }
        PersonFact::TrainingDropped(t) => {
            tx.prepare_cached("UPDATE training SET dropped_on = ?3 WHERE case_id = ?1 AND training_id = ?2")?
                .execute(params![case_id, t.training_id, on])?;
        }
        PersonFact::Placed(p) => {
            tx.prepare_cached(
                "UPDATE spell SET ended_on = ?2, end_kind = 'placed'
                 WHERE case_id = ?1 AND ended_on IS NULL",
            )?
            .execute(params![case_id, on])?;
            tx.prepare_cached("INSERT INTO placement (case_id, placement_no, kind, employer, contract_months, started_on, district, community)
                 SELECT ?1, (SELECT count(*) + 1 FROM placement WHERE case_id = ?1), ?2, ?3, ?4, ?5, district, community
                 FROM person WHERE case_id = ?1")?.execute(
                params![
                    case_id,
                    names::of(&p.kind),
                    p.employer.as_ref().map(|c| c.as_str().to_string()),
                    p.contract_months,
                    on
                ],
            )?;
        }
        PersonFact::PlacementEnded(end) => {
            tx.prepare_cached(
                "UPDATE placement SET ended_on = ?2, end_reason = ?3 WHERE case_id = ?1 AND ended_on IS NULL",
            )?
            .execute(params![case_id, on, names::of(&end.reason)])?;
        }
        PersonFact::SubsidyGranted(g) => {
            let payee = match g.payee {
                leye_domain::person::Payee::Person => "person",
                leye_domain::person::Payee::Enterprise(_) => "enterprise",
                leye_domain::person::Payee::TrainingProvider(_) => "training_provider",
            };
            tx.prepare_cached(
                "INSERT INTO subsidy (case_id, subsidy_id, programme, amount_fen, period_from, period_to, payee_kind,
                                      policy_clause, granted_on, district, community)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, community FROM person WHERE case_id = ?1",
            )?
            .execute(params![
                case_id,
                g.subsidy_id,
                g.programme,
                g.amount.get(),
                g.period.from.to_string(),
                g.period.to.to_string(),
                payee,
                g.policy_clause,
                on,
                metadata.district.as_str(),
            ])?;
        }
        // Proposals and their review do not count until a grant: the grant
        // (subsidy_granted, recorded with the approval) is what the tables hold.
        PersonFact::SubsidyProposed(_) | PersonFact::SubsidyApproved(_) | PersonFact::SubsidyProposalRejected(_) => {}
        // The read model never held personal data: an erasure changes no row.
        PersonFact::PersonalDataErased(_) => {}
        PersonFact::SubsidyRevoked(r) => {
            tx.prepare_cached("UPDATE subsidy SET revoked_on = ?3 WHERE case_id = ?1 AND subsidy_id = ?2")?
                .execute(params![case_id, r.subsidy_id, on])?;
        }
        PersonFact::BenefitStarted(b) => {
            tx.prepare_cached("INSERT INTO benefit (case_id, started_on, months) VALUES (?1, ?2, ?3)")?
                .execute(params![case_id, on, b.months])?;
        }
        PersonFact::BenefitEnded(_) => {
            tx.prepare_cached("UPDATE benefit SET ended_on = ?2 WHERE case_id = ?1 AND ended_on IS NULL")?
                .execute(params![case_id, on])?;
        }
        PersonFact::RegistrationExited(x) => {
            tx.prepare_cached(
                "UPDATE spell SET ended_on = ?2, end_kind = 'exited', exit_reason = ?3
                 WHERE case_id = ?1 AND ended_on IS NULL",
            )?
            .execute(params![case_id, on, names::of(&x.reason)])?;
        }
        PersonFact::HouseholdJoined(m) => joined(tx, case_id, on.as_str(), m)?,
        PersonFact::HouseholdLeft(l) => {
            tx.prepare_cached(
                "UPDATE household_membership SET left_on = ?3
                 WHERE case_id = ?1 AND household_id = ?2 AND left_on IS NULL",
            )?
            .execute(params![case_id, l.household_id.to_string(), on])?;
            current_household(tx, case_id)?;
        }
        PersonFact::EligibilityFound(f) => {
            // Plain data with string keys: serialisation cannot fail.
            let reasons = serde_json::to_string(&f.reasons).unwrap_or_default();
            // The decider notes a rule once per case; OR IGNORE keeps a
            // hand-made duplicate in the log from stopping the projector.
            tx.prepare_cached(
                "INSERT OR IGNORE INTO eligibility (case_id, case_kind, rule_id, rule_valid_from, programme, clause,
                                                   reasons, amount_fen, found_on, district, street, community)
                 SELECT ?1, 'person', ?2, ?3, ?4, ?5, ?6, ?7, ?8, district, street, community FROM person
                 WHERE case_id = ?1",
            )?
            .execute(params![
                case_id,
                f.rule_id,
                f.rule_valid_from.to_string(),
                f.programme,
                f.clause,
                reasons,
                f.amount.map(|a| a.get()),
                on,
            ])?;
        }
    }
    Ok(())
}

fn registered(
    tx: &Transaction<'_>,
    case_id: &str,
    on: &str,
    reg: &Registration,
    office: &str,
) -> Result<(), ProjectionError> {
    let id = &reg.resident_id;
    let birth = id.birth_date();
    let r = &reg.residence;
    tx.prepare_cached(
        "INSERT INTO person (case_id, birth_month, gender, hukou_county, hukou_nature, education, graduation_year,
                             household_id, district, street, community)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (case_id) DO UPDATE SET hukou_county = ?4, hukou_nature = ?5, education = ?6,
             graduation_year = ?7, household_id = ?8, district = ?9, street = ?10, community = ?11",
    )?
    .execute(params![
        case_id,
        birth.format("%Y-%m").to_string(),
        names::of(&id.gender()),
        reg.hukou.county.as_str(),
        names::of(&reg.hukou.nature),
        names::of(&reg.education),
        reg.graduation.as_ref().map(|g| g.year),
        reg.household.as_ref().map(|h| h.household_id.to_string()),
        r.district.as_str(),
        r.street,
        r.community,
    ])?;
    for g in &reg.groups {
        tx.prepare_cached("INSERT OR IGNORE INTO person_group (case_id, grp, since) VALUES (?1, ?2, ?3)")?
            .execute(params![case_id, names::of(g), on])?;
    }
    tx.prepare_cached(
        "INSERT INTO spell (case_id, spell_no, registered_on, district, street, community, office,
                            zero_employment_group)
         VALUES (?1, (SELECT count(*) + 1 FROM spell WHERE case_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        case_id,
        on,
        r.district.as_str(),
        r.street,
        r.community,
        office,
        reg.groups.contains(&leye_domain::person::PersonGroup::ZeroEmploymentHousehold),
    ])?;
    // A registration naming a household joins it (or continues the membership),
    // exactly as the person decider folds it.
    match &reg.household {
        Some(m) => joined(tx, case_id, on, m),
        None => current_household(tx, case_id),
    }
}

/// A membership starts, unless one is current (then it continues, as in the
/// decider's fold).
fn joined(tx: &Transaction<'_>, case_id: &str, on: &str, m: &HouseholdMembership) -> Result<(), ProjectionError> {
    tx.prepare_cached(
        "INSERT INTO household_membership (household_id, case_id, membership_no, relation, joined_on)
         SELECT ?1, ?2, (SELECT count(*) + 1 FROM household_membership WHERE case_id = ?2), ?3, ?4
         WHERE NOT EXISTS (SELECT 1 FROM household_membership WHERE case_id = ?2 AND left_on IS NULL)",
    )?
    .execute(params![m.household_id.to_string(), case_id, names::of(&m.relation), on])?;
    current_household(tx, case_id)
}

/// `person.household_id` follows the current membership.
fn current_household(tx: &Transaction<'_>, case_id: &str) -> Result<(), ProjectionError> {
    tx.prepare_cached(
        "UPDATE person SET household_id =
             (SELECT household_id FROM household_membership WHERE case_id = ?1 AND left_on IS NULL)
         WHERE case_id = ?1",
    )?
    .execute(params![case_id])?;
    Ok(())
}
