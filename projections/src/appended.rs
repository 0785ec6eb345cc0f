//! Contacts and recommendations of a fresh generation, written many rows to
//! one statement.
//!
//! Three quarters of the rows a rebuild writes are contacts and job
//! recommendations (the generated city: 855 482 and 467 435 of 1.9 M rows at
//! 100 000 persons). They are appended, never updated and never read back by
//! the fold, so the fold of a generation made by
//! [`crate::Projector::create_fresh`] only notes which events of a batch
//! carry one ([`Appended::take`]) and, after the batch's other rows, inserts
//! them [`ROWS`] to a statement ([`Appended::write`]). One execution per row
//! paid the statement's fixed work (binding, opening the table's cursor and
//! seeking its last row, halting, resetting) once per row; now once per
//! [`ROWS`].
//!
//! The rows are inserted in log order, table by table, so each table holds
//! the rows, and the rowids, that one `INSERT` per event gives: the live
//! projector's (it still inserts one row per event, in the transaction of
//! its batch). `tests/rebuild.rs` compares the two row by row.

use std::sync::LazyLock;

use leye_domain::person::PersonFact;

use crate::{
    ProjectionError,
    decoded::{Case, Decoded},
    projector::{Fold, IsoDate, iso, name},
};

/// Rows inserted by one statement.
pub(crate) const ROWS: usize = 50;

/// The one-row statements: the live projector's, and a batch's last rows.
pub(crate) const CONTACT: &str =
    "INSERT INTO contact (case_id, contacted_on, channel, outcome) VALUES (?1, ?2, ?3, ?4)";
pub(crate) const RECOMMENDATION: &str =
    "INSERT INTO recommendation (case_id, recommended_on, two_way) VALUES (?1, ?2, ?3)";

/// `INSERT … VALUES (…), (…), …` of [`ROWS`] rows of `columns` parameters each.
fn many(head: &str, columns: usize) -> String {
    let row = |r: usize| {
        format!("({})", (1..=columns).map(|c| format!("?{}", r * columns + c)).collect::<Vec<_>>().join(", "))
    };
    format!("{head} VALUES {}", (0..ROWS).map(row).collect::<Vec<_>>().join(", "))
}

static CONTACTS: LazyLock<String> =
    LazyLock::new(|| many("INSERT INTO contact (case_id, contacted_on, channel, outcome)", 4));
static RECOMMENDATIONS: LazyLock<String> =
    LazyLock::new(|| many("INSERT INTO recommendation (case_id, recommended_on, two_way)", 3));

/// The events of a batch whose rows wait to be written, by index in the batch.
#[derive(Debug, Default)]
pub(crate) struct Appended {
    contacts: Vec<usize>,
    recommendations: Vec<usize>,
}

/// A contact's row: case id, date, channel, outcome.
fn contact(e: &Decoded) -> Option<(&str, IsoDate, std::borrow::Cow<'static, str>, std::borrow::Cow<'static, str>)> {
    match &e.case {
        Case::Person { case_id, event, .. } => match &event.fact {
            PersonFact::Contacted(c) => {
                Some((case_id.as_str(), iso(event.effective_date), name(&c.channel), name(&c.outcome)))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A recommendation's row: case id, date, two-way.
fn recommendation(e: &Decoded) -> Option<(&str, IsoDate, bool)> {
    match &e.case {
        Case::Person { case_id, event, .. } => match &event.fact {
            PersonFact::JobRecommended(r) => Some((case_id.as_str(), iso(event.effective_date), r.two_way)),
            _ => None,
        },
        _ => None,
    }
}

/// An index [`Appended::take`] did not note (a bug, not bad input): an
/// error rather than a row left with another row's values.
fn not_noted() -> ProjectionError {
    ProjectionError::Corrupt("a noted contact or recommendation is not in its batch".into())
}

impl Appended {
    /// Notes event `i` of the batch if it is a contact or a recommendation
    /// (true: its row waits for [`Self::write`]; false: fold it as usual).
    pub(crate) fn take(&mut self, i: usize, e: &Decoded) -> bool {
        let Case::Person { event, .. } = &e.case else { return false };
        match event.fact {
            PersonFact::Contacted(_) => self.contacts.push(i),
            PersonFact::JobRecommended(_) => self.recommendations.push(i),
            _ => return false,
        }
        true
    }

    /// Inserts the rows noted, in log order: [`ROWS`] to a statement, the
    /// last ones of the batch one by one.
    pub(crate) fn write(&self, f: &mut Fold<'_>, events: &[&Decoded]) -> Result<(), ProjectionError> {
        let row = |i: usize| events.get(i).copied();
        let mut full = self.contacts.chunks_exact(ROWS);
        if full.len() > 0 {
            let stmt = f.stmt(CONTACTS.as_str())?;
            for chunk in full.by_ref() {
                for (r, &i) in chunk.iter().enumerate() {
                    let (case_id, on, channel, outcome) = row(i).and_then(contact).ok_or_else(not_noted)?;
                    stmt.raw_bind_parameter(r * 4 + 1, case_id)?;
                    stmt.raw_bind_parameter(r * 4 + 2, on)?;
                    stmt.raw_bind_parameter(r * 4 + 3, channel)?;
                    stmt.raw_bind_parameter(r * 4 + 4, outcome)?;
                }
                stmt.raw_execute()?;
            }
        }
        for &i in full.remainder() {
            if let Some((case_id, on, channel, outcome)) = row(i).and_then(contact) {
                f.stmt(CONTACT)?.execute(rusqlite::params![case_id, on, channel, outcome])?;
            }
        }
        let mut full = self.recommendations.chunks_exact(ROWS);
        if full.len() > 0 {
            let stmt = f.stmt(RECOMMENDATIONS.as_str())?;
            for chunk in full.by_ref() {
                for (r, &i) in chunk.iter().enumerate() {
                    let (case_id, on, two_way) = row(i).and_then(recommendation).ok_or_else(not_noted)?;
                    stmt.raw_bind_parameter(r * 3 + 1, case_id)?;
                    stmt.raw_bind_parameter(r * 3 + 2, on)?;
                    stmt.raw_bind_parameter(r * 3 + 3, two_way)?;
                }
                stmt.raw_execute()?;
            }
        }
        for &i in full.remainder() {
            if let Some((case_id, on, two_way)) = row(i).and_then(recommendation) {
                f.stmt(RECOMMENDATION)?.execute(rusqlite::params![case_id, on, two_way])?;
            }
        }
        Ok(())
    }
}
