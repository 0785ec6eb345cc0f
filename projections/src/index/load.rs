//! Reading the index's rows from a read-model generation: every case at
//! once ([`load_all`]), or the cases the projector changed since a
//! checkpoint ([`reload_changed`]).

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, params};

use super::CaseIndex;
use crate::{
    ProjectionError,
    facts::{CaseFacts, CaseNo, Grant, Membership, Placement, PlacementKind, Recognition, Spell, Training},
    read_model::{day, text},
};

/// The rows of one case while they are read (unsorted).
#[derive(Default)]
struct Rows {
    home: Option<u32>,
    hukou_county: Option<String>,
    spells: Vec<(i64, Spell)>,
    placements: Vec<(i64, Placement)>,
    contacts: Vec<NaiveDate>,
    two_way: Vec<NaiveDate>,
    other_services: Vec<NaiveDate>,
    trainings: Vec<Training>,
    recognitions: Vec<Recognition>,
    memberships: Vec<(i64, Membership)>,
    signals: Vec<NaiveDate>,
    grants: Vec<(String, Grant)>,
}

impl Rows {
    fn into_facts(mut self) -> CaseFacts {
        self.spells.sort_by_key(|s| s.0);
        self.placements.sort_by_key(|p| p.0);
        for dates in [&mut self.contacts, &mut self.two_way, &mut self.other_services] {
            dates.sort_unstable();
        }
        self.trainings.sort_by_key(|t| (t.enrolled_on, t.community));
        self.memberships.sort_by_key(|m| m.0);
        self.signals.sort_unstable();
        self.grants.sort_by(|x, y| x.0.cmp(&y.0));
        self.recognitions.sort_by_key(|r| (r.recognised_on, r.valid_from, r.valid_to));
        CaseFacts {
            home: self.home,
            spells: self.spells.into_iter().map(|s| s.1).collect(),
            placements: self.placements.into_iter().map(|p| p.1).collect(),
            contacts: self.contacts.into(),
            two_way: self.two_way.into(),
            other_services: self.other_services.into(),
            trainings: self.trainings.into(),
            recognitions: self.recognitions.into(),
            memberships: self.memberships.into_iter().map(|m| m.1).collect(),
            zero_employment_signals: self.signals.into(),
            grants: self.grants.into_iter().map(|g| g.1).collect(),
        }
    }
}

fn opt_day(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<NaiveDate>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => day(text(r, i)?).map(Some),
    }
}

/// Whether the spell ended by a placement, and whether by an exit as
/// employed (columns `kind` and `reason`: `end_kind`, `exit_reason`).
fn ended_by(r: &rusqlite::Row<'_>, kind: usize, reason: usize) -> rusqlite::Result<(bool, bool)> {
    Ok((
        r.get_ref(kind)?.as_str_or_null().ok().flatten() == Some("placed"),
        r.get_ref(reason)?.as_str_or_null().ok().flatten() == Some("employed"),
    ))
}

/// The statements that read the rows, each with `{cond}` for "every row" or
/// "the rows of the cases changed since checkpoint ?1".
const PERSON: &str = "SELECT case_id, community, hukou_county FROM person {cond}";
const SPELL: &str = "SELECT case_id, spell_no, registered_on, ended_on, end_kind, exit_reason, community,
                            zero_employment_group, graduate_group FROM spell {cond}";
const PLACEMENT: &str =
    "SELECT case_id, placement_no, started_on, ended_on, kind, community, district FROM placement {cond}";
const TRAINING: &str = "SELECT case_id, enrolled_on, programme, completed_on, community FROM training {cond}";
/// The name `difficulty.categories` lists zero-employment household by.
const ZERO_EMPLOYMENT_CATEGORY: &str = "zero_employment_household";
const DIFFICULTY: &str =
    "SELECT case_id, recognised_on, valid_from, valid_to, zero_employment, categories FROM difficulty {cond}";
const SUBSIDY: &str = "SELECT case_id, subsidy_id, programme, amount_fen, granted_on, revoked_on, district, community FROM subsidy {cond}";
const MEMBERSHIP: &str =
    "SELECT case_id, membership_no, household_id, relation, joined_on, left_on FROM household_membership {cond}";
/// The append-only tables, with `{cond}` for "every row" or "the rows past
/// rowid ?1": never read by case (they have no index by case; see [`reload_changed`]).
const CONTACT: &str = "SELECT case_id, contacted_on, rowid FROM contact {cond}";
const RECOMMENDATION: &str = "SELECT case_id, recommended_on, two_way, rowid FROM recommendation {cond}";

/// Which rows a statement reads.
#[derive(Clone, Copy)]
enum Which {
    All,
    /// The rows of the cases noted in `changed_case` at or after a checkpoint.
    ChangedSince(i64),
    /// The rows past a rowid (the append-only tables).
    After(i64),
}

fn sql(template: &str, which: Which) -> String {
    let cond = match which {
        Which::All => "",
        Which::ChangedSince(_) => "WHERE case_id IN (SELECT case_id FROM changed_case WHERE after_position >= ?1)",
        Which::After(_) => "WHERE rowid > ?1",
    };
    template.replace("{cond}", cond)
}

/// Reads every row `template` selects (`which`) into `rows`, numbering the
/// cases in `ix`.
fn read(
    conn: &Connection,
    ix: &mut CaseIndex,
    rows: &mut HashMap<CaseNo, Rows>,
    which: Which,
    template: &str,
    mut put: impl FnMut(&mut CaseIndex, &mut Rows, &rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> Result<(), ProjectionError> {
    let mut stmt = conn.prepare_cached(&sql(template, which))?;
    let mut result = match which {
        Which::All => stmt.query([])?,
        Which::After(rowid) | Which::ChangedSince(rowid) => stmt.query(params![rowid])?,
    };
    // Rows of one case mostly come together: look the case up once per run.
    let mut last: Option<(String, CaseNo)> = None;
    while let Some(r) = result.next()? {
        let id = text(r, 0)?;
        let case = match &last {
            Some((l, c)) if l == id => *c,
            _ => {
                let c = ix.case(id);
                last = Some((id.to_string(), c));
                c
            }
        };
        put(ix, rows.entry(case).or_default(), r)?;
    }
    Ok(())
}

/// Reads the contacts and recommendations of every case (`after: None`) or
/// those past the rowids the index holds, and moves those marks.
fn read_appended(
    conn: &Connection,
    ix: &mut CaseIndex,
    rows: &mut HashMap<CaseNo, Rows>,
    after: bool,
) -> Result<(), ProjectionError> {
    let which = |mark: i64| if after { Which::After(mark) } else { Which::All };
    let (mut mark, contacts) = (ix.contact_mark, which(ix.contact_mark));
    read(conn, ix, rows, contacts, CONTACT, |_, c, r| {
        c.contacts.push(day(text(r, 1)?)?);
        mark = mark.max(r.get(2)?);
        Ok(())
    })?;
    ix.contact_mark = mark;
    let (mut mark, recommendations) = (ix.recommendation_mark, which(ix.recommendation_mark));
    read(conn, ix, rows, recommendations, RECOMMENDATION, |_, c, r| {
        let on = day(text(r, 1)?)?;
        c.other_services.push(on);
        if r.get::<_, bool>(2)? {
            c.two_way.push(on);
        }
        mark = mark.max(r.get(3)?);
        Ok(())
    })?;
    ix.recommendation_mark = mark;
    Ok(())
}

/// Reads the rows of every case or of the changed ones (`which`), but for
/// the append-only tables ([`read_appended`]), into `rows`.
fn read_rows(
    conn: &Connection,
    ix: &mut CaseIndex,
    rows: &mut HashMap<CaseNo, Rows>,
    which: Which,
) -> Result<(), ProjectionError> {
    // Persons first: a placement's `local` compares with the hukou county.
    read(conn, ix, rows, which, PERSON, |ix, c, r| {
        c.home = Some(ix.place(text(r, 1)?));
        c.hukou_county = Some(text(r, 2)?.to_string());
        Ok(())
    })?;
    read(conn, ix, rows, which, SPELL, |ix, c, r| {
        let (placed, exited_employed) = ended_by(r, 4, 5)?;
        let spell = Spell {
            registered_on: day(text(r, 2)?)?,
            ended_on: opt_day(r, 3)?,
            ended_employed: placed || exited_employed,
            exited_employed,
            graduate: r.get(8)?,
            community: ix.place(text(r, 6)?),
        };
        c.spells.push((r.get(1)?, spell));
        if r.get::<_, bool>(7)? {
            c.signals.push(spell.registered_on);
        }
        Ok(())
    })?;
    read(conn, ix, rows, which, PLACEMENT, |ix, c, r| {
        let placement = Placement {
            started_on: day(text(r, 2)?)?,
            ended_on: opt_day(r, 3)?,
            kind: PlacementKind::of(text(r, 4)?),
            community: ix.place(text(r, 5)?),
            local: c.hukou_county.as_deref() == Some(text(r, 6)?),
        };
        c.placements.push((r.get(1)?, placement));
        Ok(())
    })?;
    read(conn, ix, rows, which, TRAINING, |ix, c, r| {
        let enrolled_on = day(text(r, 1)?)?;
        c.other_services.push(enrolled_on);
        c.trainings.push(Training {
            start_up: text(r, 2)? == "start_up_malanhua",
            enrolled_on,
            completed_on: opt_day(r, 3)?,
            community: ix.place(text(r, 4)?),
        });
        Ok(())
    })?;
    read(conn, ix, rows, which, DIFFICULTY, |_, c, r| {
        let recognised_on = day(text(r, 1)?)?;
        if r.get::<_, bool>(4)? {
            c.signals.push(recognised_on);
        }
        // A recognition listing zero-employment household and another
        // category is a signal of the household AND a difficulty person of
        // the other category (001 § 9 counts the two apart).
        if text(r, 5)?.split(',').any(|k| k != ZERO_EMPLOYMENT_CATEGORY) {
            c.recognitions.push(Recognition {
                recognised_on,
                valid_from: day(text(r, 2)?)?,
                valid_to: day(text(r, 3)?)?,
            });
        }
        Ok(())
    })?;
    read(conn, ix, rows, which, SUBSIDY, |ix, c, r| {
        let grant = Grant {
            programme: ix.label(text(r, 2)?),
            amount_fen: r.get(3)?,
            granted_on: day(text(r, 4)?)?,
            revoked_on: opt_day(r, 5)?,
            district: ix.label(text(r, 6)?),
            community: ix.place(text(r, 7)?),
        };
        c.grants.push((text(r, 1)?.to_string(), grant));
        Ok(())
    })?;
    read(conn, ix, rows, which, MEMBERSHIP, |ix, c, r| {
        let membership = Membership {
            household: ix.household(text(r, 2)?),
            relation: ix.relation(text(r, 3)?),
            joined_on: day(text(r, 4)?)?,
            left_on: opt_day(r, 5)?,
        };
        c.memberships.push((r.get(1)?, membership));
        Ok(())
    })?;
    Ok(())
}

/// The commit position the connection's snapshot has folded up to.
pub(super) fn checkpoint(conn: &Connection) -> Result<u64, ProjectionError> {
    let c: Option<i64> =
        conn.query_row("SELECT commit_position FROM checkpoint WHERE id = 1", [], |r| r.get(0)).optional()?;
    Ok(c.unwrap_or(0) as u64)
}

/// Every case of the generation, in the connection's snapshot.
pub(super) fn load_all(conn: &Connection) -> Result<CaseIndex, ProjectionError> {
    let mut ix = CaseIndex { checkpoint: checkpoint(conn)?, ..CaseIndex::default() };
    // Numbered by home community, then case id: the cases of a community,
    // a street or a district are a run of numbers, so their rows lie
    // together and a query for one reads them front to back, as the city's
    // does (community codes nest: district, street, community). Lists order
    // by case id whatever the numbers; cases numbered later (a refresh)
    // follow at the end.
    let mut ids: Vec<(String, String)> = conn
        .prepare("SELECT community, case_id FROM person")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    for (_, id) in &ids {
        ix.case(id);
    }
    let mut rows = HashMap::default();
    read_rows(conn, &mut ix, &mut rows, Which::All)?;
    read_appended(conn, &mut ix, &mut rows, false)?;
    // In case order: each case's rows lie next to the next case's (see `FactStore`).
    for case in 0..ix.case_ids.len() as CaseNo {
        let facts = rows.remove(&case).map(Rows::into_facts).unwrap_or_default();
        ix.cases.push(&facts);
    }
    for case in 0..ix.cases.len() {
        ix.enlist(case as CaseNo);
    }
    Ok(ix)
}

/// Brings `ix` to the connection's snapshot by reloading the cases the
/// projector changed since `ix`'s checkpoint (`changed_case`). `Ok(false)`
/// when it cannot (a generation without that table, or so many changes
/// that loading everything again is cheaper): the caller reloads it all.
///
/// A changed case's rows are read again by case, but for the append-only
/// tables (`contact`, `recommendation`: never updated nor deleted, so every
/// new row has a rowid above all the rows before it): the index keeps the
/// highest rowid of each it has read, reads the rows past it (of every case
/// at once), and adds them to the dates the case had. A case's
/// recommendation dates are its `other_services` less its trainings'
/// enrolment dates (the two sources of that list). So those tables need no
/// index by case, which a rebuild would have to sort at the end.
pub(super) fn reload_changed(conn: &Connection, ix: &mut CaseIndex, to: u64) -> Result<bool, ProjectionError> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'changed_case')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(false);
    }
    let changed: Vec<String> = conn
        .prepare_cached("SELECT case_id FROM changed_case WHERE after_position >= ?1")?
        .query_map(params![ix.checkpoint as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if changed.len() > ix.cases.len() / 4 + 1000 {
        return Ok(false);
    }
    // The new contacts and recommendations, of whichever cases.
    let mut rows: HashMap<CaseNo, Rows> = HashMap::default();
    read_appended(conn, ix, &mut rows, true)?;
    // One a case: `case_id` is `changed_case`'s key.
    let mut cases: Vec<CaseNo> = changed.iter().map(|id| ix.case(id)).collect();
    cases.sort_unstable();
    // Every new contact or recommendation was folded in a batch that noted
    // its case: anything else is not the live projector's, so load it all again.
    if rows.keys().any(|case| cases.binary_search(case).is_err()) {
        return Ok(false);
    }
    // The changed cases' rows, a statement a table for all of them (not
    // seven a case): the same rows, in this read transaction's snapshot.
    read_rows(conn, ix, &mut rows, Which::ChangedSince(ix.checkpoint as i64))?;
    let mut changes = Vec::with_capacity(cases.len());
    for case in cases {
        let mut case_rows = rows.remove(&case).unwrap_or_default();
        if (case as usize) < ix.cases.len() {
            let held = ix.cases.case(case);
            let Some(recommended) =
                minus(held.other_services(), held.trainings().iter().map(|t| t.enrolled_on).collect())
            else {
                return Ok(false); // not the two sources: never expected; load it all again
            };
            case_rows.contacts.extend_from_slice(held.contacts());
            case_rows.two_way.extend_from_slice(held.two_way());
            case_rows.other_services.extend(recommended);
        }
        changes.push((case, case_rows.into_facts()));
    }
    ix.replace_all(changes);
    ix.checkpoint = to;
    Ok(true)
}

/// `all` (sorted) less one occurrence of each date of `some`; `None` when
/// `some` holds a date `all` does not (as often).
fn minus(all: &[NaiveDate], mut some: Vec<NaiveDate>) -> Option<Vec<NaiveDate>> {
    some.sort_unstable();
    let mut left = Vec::with_capacity(all.len().saturating_sub(some.len()));
    let mut take = some.into_iter().peekable();
    for &d in all {
        if take.peek() == Some(&d) {
            take.next();
        } else {
            left.push(d);
        }
    }
    take.peek().is_none().then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_takes_one_occurrence_of_each() {
        let d = |n: u32| NaiveDate::from_ymd_opt(2026, 1, n).unwrap();
        assert_eq!(minus(&[d(1), d(2), d(2), d(5)], vec![d(2), d(5)]), Some(vec![d(1), d(2)]));
        assert_eq!(minus(&[d(1), d(2)], vec![]), Some(vec![d(1), d(2)]));
        assert_eq!(minus(&[d(1), d(2)], vec![d(2), d(2)]), None, "as often as it holds it");
        assert_eq!(minus(&[d(1)], vec![d(3)]), None);
    }
}
